/* nc_secret.h: tokens and passwords (libsodium).
 *
 * API tokens are 32 random bytes, shown once as "nc_" + base64url.  Only a
 * keyed hash of a token is stored; lookups compare hashes in constant time.
 * Passwords are hashed with argon2id.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* Initialises libsodium; returns 0, or -1 when no randomness is available. */
int nc_secret_init(void);

/* Returns: a new random token "nc_..." (caller frees). */
char *nc_secret_token_new(void);

/* Returns: the hex SHA-256 of @token, as stored (caller frees). */
char *nc_secret_token_hash(const char *token);

/* Returns: true when the two NUL-terminated strings are equal, in time that
 * depends only on their lengths. */
bool nc_secret_equal(const char *a, const char *b);

/* Returns: an argon2id hash string of @password (caller frees), or NULL when
 * memory is short. */
char *nc_secret_password_hash(const char *password);

/* Returns: true when @password matches @hash from nc_secret_password_hash(). */
bool nc_secret_password_verify(const char *hash, const char *password);

/* Fills @buf with @len random bytes. */
void nc_secret_random(void *buf, size_t len);
