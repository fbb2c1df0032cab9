/* accounts.h: users, log-in sessions, API tokens, provider data.
 *
 * Passwords are hashed with argon2id (nc_secret.h); at most
 * NC_MARKET_HASHING_MAX hashes run at once, so a burst of log-ins cannot
 * take the machine's memory.  A session is a random cookie value of which
 * only a hash is stored, with its own CSRF token (the synchronizer
 * pattern: the page reads it from /market/v1/me and sends it back in
 * X-CSRF-Token on every state-changing request).  API tokens ("ncm_...")
 * are for scripts; they are shown once and stored hashed.
 *
 * Every user is a consumer.  A provider is a user who has given company
 * name, tax number, IBAN (mod-97 checked) and postal address.
 */
#pragma once

#include "market_priv.h"

/**
 * nc_market_user_register:
 * @body: {"email", "password", "name"}
 * @ret_cookie: (out) (transfer full): the new session's cookie value
 * @err: NC_ERR_INVALID_ARGUMENT, NC_ERR_CONFLICT (address taken),
 *   NC_ERR_RATE_LIMITED (too many hashes at once)
 *
 * Creates the user and logs it in.
 *
 * Returns: (transfer full): {"user": ..., "csrf_token"}, or NULL.
 */
json_t *nc_market_user_register(NcMarket *m, json_t *body, char **ret_cookie, GError **err);

/**
 * nc_market_session_create:
 * @body: {"email", "password"}
 * @ret_cookie: (out) (transfer full): the session's cookie value
 * @err: NC_ERR_UNAUTHENTICATED (the same message for an unknown address and
 *   a wrong password), NC_ERR_RATE_LIMITED
 *
 * Returns: (transfer full): {"user": ..., "csrf_token"}, or NULL.
 */
json_t *nc_market_session_create(NcMarket *m, json_t *body, char **ret_cookie, GError **err);

/* Ends the caller's session (cookie) or, with a token, does nothing. */
int nc_market_session_delete(NcMarket *m, const NcMarketCaller *caller, GError **err);

/**
 * nc_market_authenticate:
 * @cookie: (nullable): the session cookie's value
 * @bearer: (nullable): an API token
 * @err: NC_ERR_UNAUTHENTICATED when a bearer token is given and not valid
 *
 * A bearer token wins over the cookie.  An unknown or expired cookie is
 * not an error: the caller is anonymous (NULL, no error).
 *
 * Returns: (transfer full) (nullable): the caller.
 */
NcMarketCaller *nc_market_authenticate(NcMarket *m, const char *cookie, const char *bearer,
                                       GError **err);

/* GET /market/v1/me: the caller's account; the CSRF token when the caller
 * came with a session. */
json_t *nc_market_me(NcMarket *m, const NcMarketCaller *caller, GError **err);

/**
 * nc_market_provider_become:
 * @body: {"company", "tax_number", "iban", "address"}; for a provider
 *   already, any subset updates the profile
 *
 * Returns: (transfer full): the account as nc_market_me() gives it.
 */
json_t *nc_market_provider_become(NcMarket *m, const NcMarketCaller *caller, json_t *body,
                                  GError **err);

/* A provider's public profile: company, address, since, counts.  Never the
 * tax number or the IBAN.  NC_ERR_NOT_FOUND for users who are no provider. */
json_t *nc_market_provider_public(NcMarket *m, const char *id, GError **err);

/* API tokens of the caller. */
json_t *nc_market_token_create(NcMarket *m, const NcMarketCaller *caller, json_t *body,
                               GError **err);
json_t *nc_market_token_list(NcMarket *m, const NcMarketCaller *caller, GError **err);
int nc_market_token_delete(NcMarket *m, const NcMarketCaller *caller, const char *id,
                           GError **err);

/* Removes expired sessions (the ticker calls it now and then). */
void nc_market_sessions_expire(NcMarket *m);
