/* market_valid.c: money, IBANs, e-mail addresses, URLs, company data. */
#include "market_valid.h"
#include "util/nc_error.h"
#include "util/nc_valid.h"

#include <math.h>
#include <string.h>

int
nc_market_price_parse(const char *what, json_t *v, bool allow_zero, int64_t *ret_micros,
                      GError **err)
{
    int64_t micros = 0;

    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > NC_MARKET_PRICE_MAX / NC_MARKET_MICROS)
            goto range;
        micros = (int64_t)i * NC_MARKET_MICROS;
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d < 0 || d > (double)NC_MARKET_PRICE_MAX / NC_MARKET_MICROS)
            goto range;
        micros = llround(d * NC_MARKET_MICROS);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        const char *p = s;
        int64_t whole = 0, frac = 0;
        int ndec = 0;
        if (!g_ascii_isdigit(*p))
            goto malformed;
        for (; g_ascii_isdigit(*p); p++) {
            whole = whole * 10 + (*p - '0');
            if (whole > NC_MARKET_PRICE_MAX / NC_MARKET_MICROS)
                goto range;
        }
        if (*p == '.') {
            p++;
            if (!g_ascii_isdigit(*p))
                goto malformed;
            for (; g_ascii_isdigit(*p); p++) {
                if (++ndec > 6) {
                    nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                                 "%s has more than 6 decimals; prices are exact to a "
                                 "millionth", what);
                    return -1;
                }
                frac = frac * 10 + (*p - '0');
            }
        }
        if (*p)
            goto malformed;
        for (int i = ndec; i < 6; i++)
            frac *= 10;
        micros = whole * NC_MARKET_MICROS + frac;
    } else {
        goto malformed;
    }
    if (micros > NC_MARKET_PRICE_MAX)
        goto range;
    if (micros == 0 && !allow_zero) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "%s must be above 0", what);
        return -1;
    }
    *ret_micros = micros;
    return 0;

malformed:
    nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                 "%s must be a number such as 0.05 or a decimal string such as \"0.05\"", what);
    return -1;
range:
    nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                 "%s must be between %s and %lld per slot-hour", what,
                 allow_zero ? "0" : "0.000001", NC_MARKET_PRICE_MAX / NC_MARKET_MICROS);
    return -1;
}

json_t *
nc_market_price_json(int64_t micros)
{
    if (micros % NC_MARKET_MICROS == 0)
        return json_integer(micros / NC_MARKET_MICROS);
    return json_real((double)micros / NC_MARKET_MICROS);
}

int64_t
nc_market_cost(int64_t price_micros, int64_t units, int64_t seconds)
{
    if (price_micros <= 0 || units <= 0 || seconds <= 0)
        return 0;
    /* price x units fits in 128 bits for any int64 pair; x seconds may
     * not, and a cost past INT64_MAX is capped there */
    __int128 num;
    if (__builtin_mul_overflow((__int128)price_micros * units, (__int128)seconds, &num) ||
        num / 3600 >= INT64_MAX)
        return INT64_MAX;
    return (int64_t)((num + 1800) / 3600);
}

/* Lengths of IBANs by country (SWIFT IBAN registry). */
static const struct {
    char cc[3];
    int len;
} nc_iban_lengths[] = {
    { "AD", 24 }, { "AE", 23 }, { "AL", 28 }, { "AT", 20 }, { "AZ", 28 }, { "BA", 20 },
    { "BE", 16 }, { "BG", 22 }, { "BH", 22 }, { "BR", 29 }, { "BY", 28 }, { "CH", 21 },
    { "CR", 22 }, { "CY", 28 }, { "CZ", 24 }, { "DE", 22 }, { "DK", 18 }, { "DO", 28 },
    { "EE", 20 }, { "EG", 29 }, { "ES", 24 }, { "FI", 18 }, { "FO", 18 }, { "FR", 27 },
    { "GB", 22 }, { "GE", 22 }, { "GI", 23 }, { "GL", 18 }, { "GR", 27 }, { "GT", 28 },
    { "HR", 21 }, { "HU", 28 }, { "IE", 22 }, { "IL", 23 }, { "IQ", 23 }, { "IS", 26 },
    { "IT", 27 }, { "JO", 30 }, { "KW", 30 }, { "KZ", 20 }, { "LB", 28 }, { "LC", 32 },
    { "LI", 21 }, { "LT", 20 }, { "LU", 20 }, { "LV", 21 }, { "MC", 27 }, { "MD", 24 },
    { "ME", 22 }, { "MK", 19 }, { "MR", 27 }, { "MT", 31 }, { "MU", 30 }, { "NL", 18 },
    { "NO", 15 }, { "PK", 24 }, { "PL", 28 }, { "PS", 29 }, { "PT", 25 }, { "QA", 29 },
    { "RO", 24 }, { "RS", 22 }, { "SA", 24 }, { "SC", 31 }, { "SE", 24 }, { "SI", 19 },
    { "SK", 24 }, { "SM", 27 }, { "ST", 25 }, { "SV", 28 }, { "TL", 23 }, { "TN", 24 },
    { "TR", 26 }, { "UA", 29 }, { "VA", 22 }, { "VG", 24 }, { "XK", 20 },
};

char *
nc_market_iban_normalize(const char *text, GError **err)
{
    if (!text) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "an IBAN is required");
        return NULL;
    }
    GString *s = g_string_new(NULL);
    for (const char *p = text; *p; p++) {
        if (*p == ' ')
            continue;
        if (!g_ascii_isalnum(*p) || s->len >= 34) {
            g_string_free(s, TRUE);
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "an IBAN has at most 34 letters and digits (spaces are ignored)");
            return NULL;
        }
        g_string_append_c(s, g_ascii_toupper(*p));
    }
    g_autofree char *iban = g_string_free(s, FALSE);
    size_t len = strlen(iban);
    if (len < 15 || !g_ascii_isalpha(iban[0]) || !g_ascii_isalpha(iban[1]) ||
        !g_ascii_isdigit(iban[2]) || !g_ascii_isdigit(iban[3])) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "an IBAN starts with a country code and two check digits, such as "
                     "DE89 3704 0044 0532 0130 00");
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(nc_iban_lengths); i++) {
        if (strncmp(iban, nc_iban_lengths[i].cc, 2) == 0 && (int)len != nc_iban_lengths[i].len) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "an IBAN of %.2s has %d characters, not %zu", iban,
                         nc_iban_lengths[i].len, len);
            return NULL;
        }
    }
    /* ISO 7064 mod 97-10 over BBAN + country + check digits, letters as 10..35 */
    unsigned rem = 0;
    for (size_t k = 0; k < len; k++) {
        char c = iban[(k + 4) % len];
        if (g_ascii_isdigit(c))
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
    }
    if (rem != 1) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "the IBAN's check digits do not match (mod-97 check failed); "
                     "please check it for a typo");
        return NULL;
    }
    return g_steal_pointer(&iban);
}

char *
nc_market_iban_mask(const char *iban)
{
    size_t len = iban ? strlen(iban) : 0;
    if (len < 8)
        return g_strdup("****");
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < len; i++) {
        if (i && i % 4 == 0)
            g_string_append_c(s, ' ');
        g_string_append_c(s, (i < 4 || i >= len - 4) ? iban[i] : '*');
    }
    return g_string_free(s, FALSE);
}

char *
nc_market_email_normalize(const char *text, GError **err)
{
    if (nc_market_text_check("e-mail address", text, 3, 254, false, err) < 0)
        return NULL;
    g_autofree char *e = g_ascii_strdown(text, -1);
    const char *at = strchr(e, '@');
    bool ok = at && at != e && strchr(at + 1, '@') == NULL;
    const char *dot = ok ? strrchr(at + 1, '.') : NULL;
    ok = ok && dot && dot > at + 1 && dot[1] && strlen(at + 1) <= 253;
    for (const char *p = e; ok && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || strchr("<>()[]\\,;:\"'`", c))
            ok = false;
    }
    for (const char *p = at ? at + 1 : e; ok && *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
            ok = false;
    }
    if (!ok || strstr(e, "..")) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "the e-mail address must look like name@example.org");
        return NULL;
    }
    return g_steal_pointer(&e);
}

static bool
nc_market_host_ok(const char *host)
{
    size_t len = strlen(host);
    if (len == 0 || len > 253)
        return false;
    if (host[0] == '[') {
        if (host[len - 1] != ']' || len < 4)
            return false;
        for (size_t i = 1; i < len - 1; i++)
            if (!g_ascii_isxdigit(host[i]) && host[i] != ':' && host[i] != '.')
                return false;
        return true;
    }
    if (host[0] == '-' || host[0] == '.' || host[len - 1] == '-')
        return false;
    for (const char *p = host; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
            return false;
    return strstr(host, "..") == NULL;
}

/* Checks "HOST[:PORT]" after the scheme, with an optional trailing slash. */
static bool
nc_market_authority_ok(const char *rest)
{
    g_autofree char *authority = g_strdup(rest);
    size_t alen = strlen(authority);
    if (alen && authority[alen - 1] == '/')
        authority[--alen] = '\0';
    if (strpbrk(authority, "/?#@ \\%"))
        return false;
    char *colon = strrchr(authority, ':');
    if (colon && (authority[0] != '[' || colon > strchr(authority, ']'))) {
        char *end = NULL;
        guint64 port = g_ascii_strtoull(colon + 1, &end, 10);
        if (!colon[1] || *end || port == 0 || port > 65535)
            return false;
        *colon = '\0';
    }
    return nc_market_host_ok(authority);
}

char *
nc_market_url_normalize(const char *text, GError **err)
{
    if (nc_market_text_check("url", text, 10, 256, false, err) < 0)
        return NULL;
    const char *rest = NULL;
    if (g_str_has_prefix(text, "http://"))
        rest = text + 7;
    else if (g_str_has_prefix(text, "https://"))
        rest = text + 8;
    if (!rest || !nc_market_authority_ok(rest)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "url must be a nestcloud API base URL such as http://203.0.113.7:7400 "
                     "(http or https, a host and an optional port, nothing else)");
        return NULL;
    }
    g_autofree char *out = g_strndup(text, strlen(text) - (text[strlen(text) - 1] == '/'));
    return g_ascii_strdown(out, -1);
}

int
nc_market_tax_number_check(const char *text, GError **err)
{
    if (nc_market_text_check("tax_number", text, 2, 32, false, err) < 0)
        return -1;
    for (const char *p = text; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr(" ./-", *p)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "tax_number may hold only letters, digits, spaces and . / -");
            return -1;
        }
    }
    return 0;
}

int
nc_market_text_check(const char *what, const char *text, size_t min_len, size_t max_len,
                     bool allow_newlines, GError **err)
{
    if (!text) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "%s is required", what);
        return -1;
    }
    if (nc_text_check(what, text, max_len, allow_newlines, err) < 0)
        return -1;
    g_autofree char *trimmed = g_strstrip(g_strdup(text));
    if (strlen(trimmed) < min_len) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "%s must have at least %zu characters",
                     what, min_len);
        return -1;
    }
    return 0;
}
