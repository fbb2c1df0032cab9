/* secretbox.c: the key file and sealing. */
#include "secretbox.h"
#include "util/nc_error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_STATIC_ASSERT(NC_MARKET_KEY_BYTES == crypto_secretbox_KEYBYTES);

static int
nc_market_key_create(const char *path, GError **err)
{
    unsigned char key[NC_MARKET_KEY_BYTES];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;   /* made by a concurrent start: read it */
        nc_error_set(err, NC_ERR_INTERNAL, "cannot create %s: %s", path, g_strerror(errno));
        return -1;
    }
    randombytes_buf(key, sizeof(key));
    ssize_t n = write(fd, key, sizeof(key));
    sodium_memzero(key, sizeof(key));
    if (n != (ssize_t)sizeof(key) || fsync(fd) != 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot write %s: %s", path, g_strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

int
nc_market_key_load(const char *state_dir, unsigned char *ret_key, GError **err)
{
    g_autofree char *path = g_build_filename(state_dir, "market.key", NULL);
    if (nc_market_key_create(path, err) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot open %s: %s", path, g_strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
        st.st_size != NC_MARKET_KEY_BYTES) {
        close(fd);
        nc_error_set(err, NC_ERR_INTERNAL,
                     "%s must be a %d-byte file readable only by its owner (chmod 600)", path,
                     NC_MARKET_KEY_BYTES);
        return -1;
    }
    ssize_t n = read(fd, ret_key, NC_MARKET_KEY_BYTES);
    close(fd);
    if (n != NC_MARKET_KEY_BYTES) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot read %s", path);
        return -1;
    }
    return 0;
}

char *
nc_market_seal(const unsigned char *key, const char *plain)
{
    size_t plen = strlen(plain);
    size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
    g_autofree unsigned char *buf = g_malloc(blen);
    randombytes_buf(buf, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(buf + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, plen,
                          buf, key);
    size_t olen = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL);
    char *out = g_malloc(olen);
    sodium_bin2base64(out, olen, buf, blen, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

char *
nc_market_unseal(const unsigned char *key, const char *sealed, GError **err)
{
    size_t slen = strlen(sealed);
    g_autofree unsigned char *buf = g_malloc(slen + 1);
    size_t blen = 0;
    if (sodium_base642bin(buf, slen + 1, sealed, slen, NULL, &blen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        nc_error_set(err, NC_ERR_INTERNAL, "a sealed secret is damaged");
        return NULL;
    }
    size_t plen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *plain = g_malloc(plen + 1);
    if (crypto_secretbox_open_easy((unsigned char *)plain, buf + crypto_secretbox_NONCEBYTES,
                                   blen - crypto_secretbox_NONCEBYTES, buf, key) != 0) {
        g_free(plain);
        nc_error_set(err, NC_ERR_INTERNAL,
                     "a sealed secret does not open with this market.key (was the key "
                     "replaced?)");
        return NULL;
    }
    plain[plen] = '\0';
    return plain;
}

void
nc_market_secret_free(char *secret)
{
    if (!secret)
        return;
    sodium_memzero(secret, strlen(secret));
    g_free(secret);
}
