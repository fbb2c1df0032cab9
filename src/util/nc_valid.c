/* nc_valid.c: names, sizes, ids and free text. */
#include "nc_valid.h"
#include "nc_error.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

static bool
nc_name_char(char c, bool edge)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    return !edge && c == '-';
}

int
nc_name_check(const char *what, const char *name, GError **err)
{
    if (!name || !*name) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "%s name is required", what);
        return -1;
    }
    size_t len = strlen(name);
    if (len > NC_NAME_MAX) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "%s name is %zu characters long; at most %d are allowed",
                     what, len, NC_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!nc_name_char(name[i], i == 0 || i == len - 1)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "%s name may only hold lowercase letters, digits and "
                         "inner hyphens (^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$)",
                         what);
            return -1;
        }
    }
    return 0;
}

int
nc_size_parse(const char *text, unsigned default_unit_shift,
              uint64_t *ret_bytes, GError **err)
{
    if (!text || !*text) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "size is empty");
        return -1;
    }
    const char *p = text;
    uint64_t whole = 0;
    uint64_t frac = 0, frac_div = 1;
    bool digits = false;

    while (*p >= '0' && *p <= '9') {
        if (whole > (UINT64_MAX - 9) / 10)
            goto too_big;
        whole = whole * 10 + (uint64_t)(*p - '0');
        digits = true;
        p++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (frac_div < 1000000) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                frac_div *= 10;
            }
            digits = true;
            p++;
        }
    }
    if (!digits)
        goto invalid;

    unsigned shift = default_unit_shift;
    if (*p) {
        switch (g_ascii_toupper(*p)) {
        case 'B': shift = 0; break;
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: goto invalid;
        }
        p++;
        if (shift > 0) {
            if (*p == 'i' || *p == 'I')
                p++;
            if (*p == 'b' || *p == 'B')
                p++;
        }
        if (*p)
            goto invalid;
    }
    if (shift >= 64 || whole > (UINT64_MAX >> shift))
        goto too_big;
    uint64_t bytes = whole << shift;
    uint64_t part = (frac << shift) / frac_div;
    if (bytes > UINT64_MAX - part)
        goto too_big;
    *ret_bytes = bytes + part;
    return 0;

invalid:
    nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                 "'%.32s' is not a size; use a number with an optional unit "
                 "K, M, G or T (binary), such as 512M or 10G", text);
    return -1;
too_big:
    nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "size '%.32s' is too large", text);
    return -1;
}

char *
nc_size_format_mib(uint64_t mib)
{
    if (mib >= 1024 * 1024 && mib % (1024 * 1024) == 0)
        return g_strdup_printf("%" G_GUINT64_FORMAT "T", mib / (1024 * 1024));
    if (mib >= 1024 && mib % 1024 == 0)
        return g_strdup_printf("%" G_GUINT64_FORMAT "G", mib / 1024);
    if (mib >= 1024)
        return g_strdup_printf("%.1fG", (double)mib / 1024.0);
    return g_strdup_printf("%" G_GUINT64_FORMAT "M", mib);
}

bool
nc_uuid_is_valid(const char *text)
{
    if (!text || strlen(text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* Random bytes for ids come from the kernel 4 KiB at a time: one
 * getrandom() per 256 ids instead of one per id (a batch create makes two
 * ids per VM).  Each thread that makes ids has its own pool, on the heap
 * (a worker of a thousand simulated hosts runs two thousand threads that
 * never do); a forked child drops the pool it inherited, so parent and
 * child never hand out the same bytes. */
typedef struct {
    size_t left;
    unsigned char bytes[4096];
} NcUuidPool;

static GPrivate nc_uuid_pool = G_PRIVATE_INIT(g_free);
static pthread_once_t nc_uuid_once = PTHREAD_ONCE_INIT;

static void
nc_uuid_after_fork(void)
{
    NcUuidPool *pool = g_private_get(&nc_uuid_pool);
    if (pool)
        pool->left = 0;
}

static void
nc_uuid_init(void)
{
    pthread_atfork(NULL, NULL, nc_uuid_after_fork);
}

static int
nc_uuid_random_bytes(uuid_t u)
{
    pthread_once(&nc_uuid_once, nc_uuid_init);
    NcUuidPool *pool = g_private_get(&nc_uuid_pool);
    if (!pool) {
        pool = g_new0(NcUuidPool, 1);
        g_private_set(&nc_uuid_pool, pool);
    }
    if (pool->left < sizeof(uuid_t)) {
        size_t got = 0;
        while (got < sizeof pool->bytes) {
            ssize_t n = getrandom(pool->bytes + got, sizeof pool->bytes - got, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return -1;
            got += (size_t)n;
        }
        pool->left = sizeof pool->bytes;
    }
    unsigned char *at = pool->bytes + sizeof pool->bytes - pool->left;
    memcpy(u, at, sizeof(uuid_t));
    /* bytes handed out are not kept */
    memset(at, 0, sizeof(uuid_t));
    pool->left -= sizeof(uuid_t);
    return 0;
}

const char *
nc_uuid_short(const char *id)
{
    if (id && strlen(id) == 36 && id[14] == '7')
        return id + 28;
    return id ? id : "";
}

char *
nc_uuid_new(void)
{
    uuid_t u;
    char buf[37];

    if (nc_uuid_random_bytes(u) < 0)
        uuid_generate_random(u);
    /* version 7, variant 1 (RFC 9562): the first 48 bits are the Unix time
     * in milliseconds, the other 74 random.  Ids made one after another
     * sort together, so the store's primary-key indexes take new rows at
     * their end, not on a random page each (with 100,000 VMs, a request
     * of 100 wrote some 200 scattered index pages) */
    uint64_t ms = (uint64_t)(g_get_real_time() / 1000);
    for (int i = 5; i >= 0; i--) {
        u[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    u[6] = (u[6] & 0x0f) | 0x70;
    u[8] = (u[8] & 0x3f) | 0x80;
    uuid_unparse_lower(u, buf);
    return g_strdup(buf);
}

int
nc_text_check(const char *what, const char *text, size_t max_len,
              bool allow_newlines, GError **err)
{
    if (!text)
        return 0;
    size_t len = strlen(text);
    if (len > max_len) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "%s is %zu bytes long; at most %zu are allowed",
                     what, len, max_len);
        return -1;
    }
    if (!g_utf8_validate(text, (gssize)len, NULL)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "%s is not valid UTF-8", what);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f) {
            if (allow_newlines && (c == '\n' || c == '\t' || c == '\r'))
                continue;
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "%s holds a control character", what);
            return -1;
        }
    }
    return 0;
}

int
nc_ssh_key_check(const char *key, GError **err)
{
    static const char *const types[] = {
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    };
    if (nc_text_check("SSH key", key, 16384, false, err) < 0)
        return -1;
    const char *sp = strchr(key, ' ');
    bool known = false;
    for (size_t i = 0; sp && i < G_N_ELEMENTS(types); i++) {
        if ((size_t)(sp - key) == strlen(types[i]) &&
            strncmp(key, types[i], strlen(types[i])) == 0)
            known = true;
    }
    if (!known) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "SSH key must start with a key type such as ssh-ed25519 "
                     "followed by a space");
        return -1;
    }
    const char *b = sp + 1;
    size_t n = 0;
    while (b[n] && (g_ascii_isalnum(b[n]) || b[n] == '+' || b[n] == '/' || b[n] == '='))
        n++;
    if (n < 16 || (b[n] && b[n] != ' ')) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "SSH key body must be base64 after the key type");
        return -1;
    }
    return 0;
}
