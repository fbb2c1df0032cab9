/* nc_json_dump.c: compact JSON text of our own values, fast.
 *
 * jansson's json_dumps() checks every object and array it enters for a
 * reference loop: it formats the container's address with snprintf() and
 * keeps it in a hash table for the way down.  For the small, flat objects
 * the central node writes by the hundred thousand (a VM's spec, its
 * command, every event) that bookkeeping was most of the cost: JSON
 * encoding took a sixth of the central node's CPU in the C1M run.
 *
 * This writer produces the same bytes as
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) (tests/unit/test_json.c
 * compares the two on generated values), in one pass into one buffer.  A
 * loop cannot be built by our code, and is caught anyway by the depth
 * limit, as is anything deeper than jansson's parser would read.  Reals
 * are rare here and are left to jansson, whose formatting they keep.
 */
#include "nc_json.h"

#include <string.h>

/* the depth jansson's parser accepts (JSON_PARSER_MAX_DEPTH) */
#define NC_JSON_DUMP_MAX_DEPTH 2048

/* Returns: the length of the valid UTF-8 sequence at @s (at most @len
 * bytes, @s[0] >= 0x80), or 0 when it is not one: overlong forms,
 * surrogates and code points past U+10FFFF are refused, as jansson does. */
static size_t
nc_utf8_sequence(const unsigned char *s, size_t len)
{
    size_t n;
    uint32_t cp;

    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static bool
nc_json_put_string(GString *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0;   /* start of the bytes not yet copied */

    g_string_append_c(out, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t n = nc_utf8_sequence(s + i, len - i);
            if (n == 0)
                return false;
            i += n;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        g_string_append_len(out, str + run, (gssize)(i - run));
        switch (c) {
        case '"':  g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:   g_string_append_printf(out, "\\u%04X", c); break;
        }
        run = ++i;
    }
    g_string_append_len(out, str + run, (gssize)(len - run));
    g_string_append_c(out, '"');
    return true;
}

/* printf's "%lld", without printf */
static void
nc_json_put_integer(GString *out, json_int_t n)
{
    char buf[24];
    char *p = buf + sizeof(buf);
    /* in unsigned arithmetic, so that INT64_MIN negates */
    uint64_t u = n < 0 ? -(uint64_t)n : (uint64_t)n;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (n < 0)
        *--p = '-';
    g_string_append_len(out, p, buf + sizeof(buf) - p);
}

static bool
nc_json_put(GString *out, const json_t *v, int depth)
{
    if (depth > NC_JSON_DUMP_MAX_DEPTH)
        return false;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        bool first = true;
        g_string_append_c(out, '{');
        json_object_foreach((json_t *)v, key, item) {
            if (!first)
                g_string_append_c(out, ',');
            first = false;
            if (!nc_json_put_string(out, key, strlen(key)))
                return false;
            g_string_append_c(out, ':');
            if (!nc_json_put(out, item, depth + 1))
                return false;
        }
        g_string_append_c(out, '}');
        return true;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        g_string_append_c(out, '[');
        json_array_foreach((json_t *)v, i, item) {
            if (i > 0)
                g_string_append_c(out, ',');
            if (!nc_json_put(out, item, depth + 1))
                return false;
        }
        g_string_append_c(out, ']');
        return true;
    }
    case JSON_STRING:
        return nc_json_put_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        nc_json_put_integer(out, json_integer_value(v));
        return true;
    case JSON_REAL: {
        g_autofree char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return false;
        g_string_append(out, text);
        return true;
    }
    case JSON_TRUE:
        g_string_append(out, "true");
        return true;
    case JSON_FALSE:
        g_string_append(out, "false");
        return true;
    case JSON_NULL:
        g_string_append(out, "null");
        return true;
    }
    return false;
}

char *
nc_json_dumps(const json_t *v)
{
    if (!v)
        return NULL;
    g_autoptr(GString) out = g_string_sized_new(256);
    if (!nc_json_put(out, v, 0))
        return NULL;
    return g_string_free(g_steal_pointer(&out), FALSE);
}
