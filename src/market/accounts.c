/* accounts.c: users, sessions, tokens, provider data. */
#include "accounts.h"
#include "market_valid.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_secret.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <string.h>

typedef struct {
    int count;
    int64_t since_ms;
} NcLoginFailures;

#define NC_LOGIN_WINDOW_MS (15 * 60 * 1000)

void
nc_market_caller_free(NcMarketCaller *c)
{
    if (!c)
        return;
    g_free(c->user_id);
    g_free(c->email);
    g_free(c->name);
    g_free(c->session_hash);
    if (c->csrf)
        memset(c->csrf, 0, strlen(c->csrf));
    g_free(c->csrf);
    g_free(c);
}

/* Holds one of the NC_MARKET_HASHING_MAX argon2id slots. */
static int
nc_market_hash_enter(NcMarket *m, GError **err)
{
    if (g_atomic_int_add(&m->hashing, 1) >= NC_MARKET_HASHING_MAX) {
        g_atomic_int_add(&m->hashing, -1);
        nc_error_set(err, NC_ERR_RATE_LIMITED,
                     "too many log-ins at this moment; try again in a second");
        return -1;
    }
    return 0;
}

static void
nc_market_hash_leave(NcMarket *m)
{
    g_atomic_int_add(&m->hashing, -1);
}

static json_t *
nc_market_user_json(NcRows *r)
{
    /* columns: id, email, name, created_at, provider_since, company, tax, iban, address */
    bool provider = !nc_rows_is_null(r, 4);
    json_t *u = json_pack("{s:s, s:s, s:s, s:o, s:b}", "id", nc_rows_text(r, 0),
                          "email", nc_rows_text(r, 1), "name", nc_rows_text(r, 2),
                          "created_at", nc_market_time_json(nc_rows_int(r, 3)),
                          "provider", provider);
    if (provider) {
        g_autofree char *masked = nc_market_iban_mask(nc_rows_text(r, 7));
        json_object_set_new(u, "provider_profile",
                            json_pack("{s:s, s:s, s:s, s:s, s:o}",
                                      "company", nc_rows_text(r, 5),
                                      "tax_number", nc_rows_text(r, 6),
                                      "iban", masked,
                                      "address", nc_rows_text(r, 8),
                                      "since", nc_market_time_json(nc_rows_int(r, 4))));
    }
    return u;
}

#define NC_USER_COLS "id, email, name, created_at, provider_since, company, tax_number, iban, address"

static json_t *
nc_market_user_get(NcMarket *m, const char *id, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT " NC_USER_COLS " FROM users WHERE id = $1",
                                         NC_TEXT(id), NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_first(r, err, "no such user"))
        return NULL;
    return nc_market_user_json(r);
}

/* Makes a session for @user_id; returns the cookie value and the CSRF token. */
static int
nc_market_session_new(NcMarket *m, const char *user_id, char **ret_cookie, char **ret_csrf,
                      GError **err)
{
    int64_t now = nc_now_ms();
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, m->store, err) < 0)
        return -1;
    /* the oldest sessions of a user go when it has too many */
    if (nc_store_exec(m->store, err,
                      "DELETE FROM sessions WHERE user_id = $1 AND created_at <= (SELECT created_at"
                      " FROM sessions WHERE user_id = $1 ORDER BY created_at DESC"
                      " LIMIT 1 OFFSET $2)",
                      NC_TEXT(user_id), NC_INT(NC_MARKET_SESSIONS_PER_USER - 1), NC_END) < 0)
        return -1;
    g_autofree char *cookie = nc_secret_token_new();
    g_autofree char *hash = nc_secret_token_hash(cookie);
    g_autofree char *csrf = nc_secret_token_new();
    if (nc_store_exec(m->store, err,
                      "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at)"
                      " VALUES ($1,$2,$3,$4,$5)",
                      NC_TEXT(hash), NC_TEXT(user_id), NC_TEXT(csrf), NC_INT(now),
                      NC_INT(now + (int64_t)m->cfg.session_ttl_s * 1000), NC_END) < 0)
        return -1;
    if (nc_store_txn_commit(&txn, err) < 0)
        return -1;
    *ret_cookie = g_steal_pointer(&cookie);
    *ret_csrf = g_steal_pointer(&csrf);
    return 0;
}

static json_t *
nc_market_login_answer(NcMarket *m, const char *user_id, char **ret_cookie, GError **err)
{
    g_autofree char *cookie = NULL;
    g_autofree char *csrf = NULL;
    if (nc_market_session_new(m, user_id, &cookie, &csrf, err) < 0)
        return NULL;
    json_t *user = nc_market_user_get(m, user_id, err);
    if (!user)
        return NULL;
    *ret_cookie = g_steal_pointer(&cookie);
    return json_pack("{s:o, s:s}", "user", user, "csrf_token", csrf);
}

static int
nc_market_password_check(const char *password, GError **err)
{
    if (!password) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field 'password' is required");
        return -1;
    }
    size_t len = strlen(password);
    if (len < NC_MARKET_PASSWORD_MIN || len > NC_MARKET_PASSWORD_MAX) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "the password must have %d to %d characters", NC_MARKET_PASSWORD_MIN,
                     NC_MARKET_PASSWORD_MAX);
        return -1;
    }
    return nc_text_check("password", password, NC_MARKET_PASSWORD_MAX, false, err);
}

json_t *
nc_market_user_register(NcMarket *m, json_t *body, char **ret_cookie, GError **err)
{
    static const char *const keys[] = { "email", "password", "name", NULL };
    const char *email_in = NULL, *password = NULL, *name = NULL;
    if (nc_json_check_keys(body, "a registration", keys, err) < 0 ||
        nc_json_get_string(body, "email", true, 254, &email_in, err) < 0 ||
        nc_json_get_string(body, "password", true, NC_MARKET_PASSWORD_MAX, &password, err) < 0 ||
        nc_json_get_string(body, "name", true, NC_MARKET_NAME_MAX, &name, err) < 0)
        return NULL;
    g_autofree char *email = nc_market_email_normalize(email_in, err);
    if (!email || nc_market_password_check(password, err) < 0 ||
        nc_market_text_check("name", name, 1, NC_MARKET_NAME_MAX, false, err) < 0)
        return NULL;
    int64_t users = nc_market_count(m->store, err, "SELECT COUNT(*) FROM users", NC_END);
    if (users < 0)
        return NULL;
    if (users >= NC_MARKET_USERS_MAX) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "the market has reached its %d accounts",
                     NC_MARKET_USERS_MAX);
        return NULL;
    }
    if (nc_market_hash_enter(m, err) < 0)
        return NULL;
    g_autofree char *hash = nc_secret_password_hash(password);
    nc_market_hash_leave(m);
    if (!hash) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "not enough memory to hash the password");
        return NULL;
    }
    g_autofree char *id = nc_uuid_new();
    if (nc_store_exec(m->store, err,
                      "INSERT INTO users (id, email, name, password, created_at)"
                      " VALUES ($1,$2,$3,$4,$5)",
                      NC_TEXT(id), NC_TEXT(email), NC_TEXT(name), NC_TEXT(hash),
                      NC_INT(nc_now_ms()), NC_END) < 0) {
        if (nc_error_code(*err) == NC_ERR_CONFLICT) {
            g_clear_error(err);
            nc_error_set(err, NC_ERR_CONFLICT, "an account with this e-mail address exists; "
                         "log in instead");
        }
        return NULL;
    }
    return nc_market_login_answer(m, id, ret_cookie, err);
}

/* Returns: true when @email may try again; counts nothing. */
static bool
nc_market_login_allowed(NcMarket *m, const char *email)
{
    g_mutex_lock(&m->login_lock);
    NcLoginFailures *f = g_hash_table_lookup(m->login_failures, email);
    bool ok = !f || f->count < NC_MARKET_LOGIN_FAILURES ||
              nc_now_ms() - f->since_ms > NC_LOGIN_WINDOW_MS;
    g_mutex_unlock(&m->login_lock);
    return ok;
}

static void
nc_market_login_failed(NcMarket *m, const char *email, bool failed)
{
    g_mutex_lock(&m->login_lock);
    if (!failed) {
        g_hash_table_remove(m->login_failures, email);
    } else {
        NcLoginFailures *f = g_hash_table_lookup(m->login_failures, email);
        int64_t now = nc_now_ms();
        if (g_hash_table_size(m->login_failures) > 100000)
            g_hash_table_remove_all(m->login_failures);
        if (!f) {
            f = g_new0(NcLoginFailures, 1);
            g_hash_table_insert(m->login_failures, g_strdup(email), f);
        }
        if (now - f->since_ms > NC_LOGIN_WINDOW_MS) {
            f->count = 0;
            f->since_ms = now;
        }
        f->count++;
    }
    g_mutex_unlock(&m->login_lock);
}

/* A hash to verify against when the address is unknown, so that the answer
 * takes as long as for a known one. */
static const char *
nc_market_dummy_hash(void)
{
    static gsize once;
    static char *hash;
    if (g_once_init_enter(&once)) {
        g_autofree char *pw = nc_secret_token_new();
        hash = nc_secret_password_hash(pw);
        g_once_init_leave(&once, 1);
    }
    return hash;
}

json_t *
nc_market_session_create(NcMarket *m, json_t *body, char **ret_cookie, GError **err)
{
    static const char *const keys[] = { "email", "password", NULL };
    const char *email_in = NULL, *password = NULL;
    if (nc_json_check_keys(body, "a log-in", keys, err) < 0 ||
        nc_json_get_string(body, "email", true, 254, &email_in, err) < 0 ||
        nc_json_get_string(body, "password", true, NC_MARKET_PASSWORD_MAX, &password, err) < 0)
        return NULL;
    g_autofree char *email = g_ascii_strdown(email_in, -1);
    if (!nc_market_login_allowed(m, email)) {
        nc_error_set(err, NC_ERR_RATE_LIMITED,
                     "too many failed log-ins for this address; wait 15 minutes");
        return NULL;
    }
    g_autofree char *id = NULL;
    g_autofree char *hash = NULL;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT id, password FROM users WHERE email = $1",
                                             NC_TEXT(email), NC_END);
        if (!r)
            return NULL;
        if (nc_rows_next(r, err)) {
            id = nc_rows_dup(r, 0);
            hash = nc_rows_dup(r, 1);
        } else if (*err) {
            return NULL;
        }
    }
    if (nc_market_hash_enter(m, err) < 0)
        return NULL;
    bool ok = nc_secret_password_verify(hash ? hash : nc_market_dummy_hash(), password) && id;
    nc_market_hash_leave(m);
    nc_market_login_failed(m, email, !ok);
    if (!ok) {
        nc_error_set(err, NC_ERR_UNAUTHENTICATED, "the e-mail address or the password is wrong");
        return NULL;
    }
    return nc_market_login_answer(m, id, ret_cookie, err);
}

int
nc_market_session_delete(NcMarket *m, const NcMarketCaller *caller, GError **err)
{
    if (!caller->session_hash)
        return 0;
    return nc_store_exec(m->store, err, "DELETE FROM sessions WHERE hash = $1",
                         NC_TEXT(caller->session_hash), NC_END) < 0 ? -1 : 0;
}

NcMarketCaller *
nc_market_authenticate(NcMarket *m, const char *cookie, const char *bearer, GError **err)
{
    int64_t now = nc_now_ms();
    if (bearer) {
        g_autofree char *hash = nc_secret_token_hash(bearer);
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT u.id, u.email, u.name, u.provider_since,"
                                             " t.id, t.last_used_at FROM tokens t JOIN users u"
                                             " ON u.id = t.user_id WHERE t.hash = $1",
                                             NC_TEXT(hash), NC_END);
        if (!r)
            return NULL;
        GError *local = NULL;
        if (!nc_rows_next(r, &local)) {
            if (local)
                g_propagate_error(err, local);
            else
                nc_error_set(err, NC_ERR_UNAUTHENTICATED, "the API token is not valid");
            return NULL;
        }
        NcMarketCaller *c = g_new0(NcMarketCaller, 1);
        c->user_id = nc_rows_dup(r, 0);
        c->email = nc_rows_dup(r, 1);
        c->name = nc_rows_dup(r, 2);
        c->provider = !nc_rows_is_null(r, 3);
        g_autofree char *tok_id = nc_rows_dup(r, 4);
        int64_t used = nc_rows_int(r, 5);
        g_clear_pointer(&r, nc_rows_free);
        if (now - used > 60000)
            nc_store_exec(m->store, NULL, "UPDATE tokens SET last_used_at = $1 WHERE id = $2",
                          NC_INT(now), NC_TEXT(tok_id), NC_END);
        return c;
    }
    if (!cookie || strlen(cookie) > 128)
        return NULL;
    g_autofree char *hash = nc_secret_token_hash(cookie);
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT u.id, u.email, u.name, u.provider_since, s.csrf"
                                         " FROM sessions s JOIN users u ON u.id = s.user_id"
                                         " WHERE s.hash = $1 AND s.expires_at > $2",
                                         NC_TEXT(hash), NC_INT(now), NC_END);
    if (!r || !nc_rows_next(r, err))
        return NULL;
    NcMarketCaller *c = g_new0(NcMarketCaller, 1);
    c->user_id = nc_rows_dup(r, 0);
    c->email = nc_rows_dup(r, 1);
    c->name = nc_rows_dup(r, 2);
    c->provider = !nc_rows_is_null(r, 3);
    c->session = true;
    c->session_hash = g_steal_pointer(&hash);
    c->csrf = nc_rows_dup(r, 4);
    return c;
}

json_t *
nc_market_me(NcMarket *m, const NcMarketCaller *caller, GError **err)
{
    json_t *u = nc_market_user_get(m, caller->user_id, err);
    if (!u)
        return NULL;
    json_t *out = json_pack("{s:o, s:s}", "user", u, "auth", caller->session ? "session" : "token");
    if (caller->session)
        json_object_set_new(out, "csrf_token", json_string(caller->csrf));
    return out;
}

json_t *
nc_market_provider_become(NcMarket *m, const NcMarketCaller *caller, json_t *body, GError **err)
{
    static const char *const keys[] = { "company", "tax_number", "iban", "address", NULL };
    const char *company = NULL, *tax = NULL, *iban_in = NULL, *address = NULL;
    bool update = caller->provider;
    if (nc_json_check_keys(body, "provider data", keys, err) < 0 ||
        nc_json_get_string(body, "company", !update, NC_MARKET_COMPANY_MAX, &company, err) < 0 ||
        nc_json_get_string(body, "tax_number", !update, 32, &tax, err) < 0 ||
        nc_json_get_string(body, "iban", !update, 64, &iban_in, err) < 0 ||
        nc_json_get_string(body, "address", !update, NC_MARKET_ADDRESS_MAX, &address, err) < 0)
        return NULL;
    if (company && nc_market_text_check("company", company, 2, NC_MARKET_COMPANY_MAX, false,
                                        err) < 0)
        return NULL;
    if (tax && nc_market_tax_number_check(tax, err) < 0)
        return NULL;
    if (address && nc_market_text_check("address", address, 5, NC_MARKET_ADDRESS_MAX, true,
                                        err) < 0)
        return NULL;
    g_autofree char *iban = NULL;
    if (iban_in && !(iban = nc_market_iban_normalize(iban_in, err)))
        return NULL;
    if (nc_store_exec(m->store, err,
                      "UPDATE users SET company = COALESCE($2, company),"
                      " tax_number = COALESCE($3, tax_number), iban = COALESCE($4, iban),"
                      " address = COALESCE($5, address),"
                      " provider_since = COALESCE(provider_since, $6) WHERE id = $1",
                      NC_TEXT(caller->user_id), NC_TEXT(company), NC_TEXT(tax), NC_TEXT(iban),
                      NC_TEXT(address), NC_INT(nc_now_ms()), NC_END) < 0)
        return NULL;
    NcMarketCaller now_provider = *caller;
    now_provider.provider = true;
    return nc_market_me(m, &now_provider, err);
}

json_t *
nc_market_provider_public(NcMarket *m, const char *id, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT u.id, u.company, u.address, u.provider_since,"
                                         " (SELECT COUNT(*) FROM offers o WHERE o.provider = u.id"
                                         "  AND o.state = 'active'),"
                                         " (SELECT COUNT(*) FROM backends b WHERE b.provider = u.id"
                                         "  AND b.removed_at IS NULL)"
                                         " FROM users u WHERE u.id = $1"
                                         " AND u.provider_since IS NOT NULL",
                                         NC_TEXT(id), NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_first(r, err, "no such provider"))
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I}", "id", nc_rows_text(r, 0),
                     "company", nc_rows_text(r, 1), "address", nc_rows_text(r, 2),
                     "since", nc_market_time_json(nc_rows_int(r, 3)),
                     "offers", (json_int_t)nc_rows_int(r, 4),
                     "backends", (json_int_t)nc_rows_int(r, 5));
}

json_t *
nc_market_token_create(NcMarket *m, const NcMarketCaller *caller, json_t *body, GError **err)
{
    static const char *const keys[] = { "name", NULL };
    const char *name = NULL;
    if (nc_json_check_keys(body, "a token", keys, err) < 0 ||
        nc_json_get_string(body, "name", true, NC_MARKET_NAME_MAX, &name, err) < 0 ||
        nc_market_text_check("name", name, 1, NC_MARKET_NAME_MAX, false, err) < 0)
        return NULL;
    int64_t n = nc_market_count(m->store, err, "SELECT COUNT(*) FROM tokens WHERE user_id = $1",
                                NC_TEXT(caller->user_id), NC_END);
    if (n < 0)
        return NULL;
    if (n >= NC_MARKET_TOKENS_PER_USER) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "an account has at most %d API tokens; "
                     "delete one first", NC_MARKET_TOKENS_PER_USER);
        return NULL;
    }
    g_autofree char *raw = nc_secret_token_new();
    g_autofree char *token = g_strconcat("ncm_", raw + 3, NULL);
    g_autofree char *hash = nc_secret_token_hash(token);
    g_autofree char *id = nc_uuid_new();
    int64_t now = nc_now_ms();
    if (nc_store_exec(m->store, err,
                      "INSERT INTO tokens (id, hash, user_id, name, created_at)"
                      " VALUES ($1,$2,$3,$4,$5)",
                      NC_TEXT(id), NC_TEXT(hash), NC_TEXT(caller->user_id), NC_TEXT(name),
                      NC_INT(now), NC_END) < 0)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:o}", "id", id, "name", name, "token", token,
                     "created_at", nc_market_time_json(now));
}

json_t *
nc_market_token_list(NcMarket *m, const NcMarketCaller *caller, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT id, name, created_at, last_used_at FROM tokens"
                                         " WHERE user_id = $1 ORDER BY created_at",
                                         NC_TEXT(caller->user_id), NC_END);
    if (!r)
        return NULL;
    json_t *list = json_array();
    while (nc_rows_next(r, err))
        json_array_append_new(list, json_pack("{s:s, s:s, s:o, s:o}", "id", nc_rows_text(r, 0),
                                              "name", nc_rows_text(r, 1),
                                              "created_at", nc_market_time_json(nc_rows_int(r, 2)),
                                              "last_used_at",
                                              nc_market_time_json(nc_rows_int(r, 3))));
    if (*err) {
        json_decref(list);
        return NULL;
    }
    return json_pack("{s:o}", "tokens", list);
}

int
nc_market_token_delete(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    int64_t n = nc_store_exec(m->store, err, "DELETE FROM tokens WHERE id = $1 AND user_id = $2",
                              NC_TEXT(id), NC_TEXT(caller->user_id), NC_END);
    return nc_store_found(n, err, "no such token");
}

void
nc_market_sessions_expire(NcMarket *m)
{
    nc_store_exec(m->store, NULL, "DELETE FROM sessions WHERE expires_at <= $1",
                  NC_INT(nc_now_ms()), NC_END);
}
