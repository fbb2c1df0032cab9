/* nc_secret.c: tokens and passwords. */
#include "nc_secret.h"

#include <sodium.h>
#include <string.h>

int
nc_secret_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

char *
nc_secret_token_new(void)
{
    unsigned char raw[32];
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return g_strconcat("nc_", b64, NULL);
}

char *
nc_secret_token_hash(const char *token)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1];

    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    return g_strdup(hex);
}

bool
nc_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return sodium_memcmp(a, b, la) == 0;
}

char *
nc_secret_password_hash(const char *password)
{
    char out[crypto_pwhash_STRBYTES];

    if (crypto_pwhash_str(out, password, strlen(password),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return NULL;
    return g_strdup(out);
}

bool
nc_secret_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void
nc_secret_random(void *buf, size_t len)
{
    randombytes_buf(buf, len);
}
