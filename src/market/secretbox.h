/* secretbox.h: backend tokens at rest (libsodium crypto_secretbox).
 *
 * The key is 32 random bytes in STATE_DIR/market.key, mode 0600, made on
 * first start.  A sealed value is base64(nonce || MAC || ciphertext) with a
 * fresh random nonce each time.  A stolen database alone reveals no token.
 */
#pragma once

#include <glib.h>

#define NC_MARKET_KEY_BYTES 32

/**
 * nc_market_key_load:
 * @state_dir: where market.key lives (created when missing)
 * @ret_key: the key, NC_MARKET_KEY_BYTES long
 * @err: NC_ERR_INTERNAL when the file cannot be made or read, is not 32
 *   bytes, or is readable by others than its owner
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_market_key_load(const char *state_dir, unsigned char *ret_key, GError **err);

/* Returns: (transfer full): @plain sealed with @key. */
char *nc_market_seal(const unsigned char *key, const char *plain);

/**
 * nc_market_unseal:
 * @key: the key
 * @sealed: from nc_market_seal()
 * @err: NC_ERR_INTERNAL when it was not sealed with @key or was altered
 *
 * Returns: (transfer full): the plain text, or NULL.  Wipe it with
 * nc_market_secret_free() after use.
 */
char *nc_market_unseal(const unsigned char *key, const char *sealed, GError **err);

/* Zeroes and frees a secret string; accepts NULL. */
void nc_market_secret_free(char *secret);
