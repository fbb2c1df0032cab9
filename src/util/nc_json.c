/* nc_json.c: strict JSON request reading. */
#include "nc_json.h"
#include "nc_error.h"

#include <string.h>

json_t *
nc_json_parse_object(const char *buf, size_t len, GError **err)
{
    json_error_t jerr;

    if (len == 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "request body is empty; a JSON object is expected");
        return NULL;
    }
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "malformed JSON at line %d column %d: %s",
                     jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "request body must be a JSON object");
        return NULL;
    }
    return v;
}

int
nc_json_check_keys(json_t *obj, const char *what, const char *const *allowed,
                   GError **err)
{
    const char *key;
    json_t *val;

    json_object_foreach(obj, key, val) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(*a, key) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            g_autofree char *list = g_strjoinv(", ", (char **)allowed);
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "unknown field '%.64s' in %s; known fields: %s",
                         key, what, list);
            return -1;
        }
    }
    return 0;
}

static json_t *
nc_json_field(json_t *obj, const char *key, bool required, GError **err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field '%s' is required", key);
        return NULL;
    }
    return v;
}

int
nc_json_get_string(json_t *obj, const char *key, bool required, size_t max_len,
                   const char **ret, GError **err)
{
    json_t *v = nc_json_field(obj, key, required, err);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_string(v)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field '%s' must be a string", key);
        return -1;
    }
    size_t len = json_string_length(v);
    if (len > max_len) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "field '%s' is %zu bytes long; at most %zu are allowed",
                     key, len, max_len);
        return -1;
    }
    if (strlen(json_string_value(v)) != len) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field '%s' holds a NUL character", key);
        return -1;
    }
    *ret = json_string_value(v);
    return 0;
}

int
nc_json_get_int(json_t *obj, const char *key, bool required, int64_t min,
                int64_t max, int64_t *ret, GError **err)
{
    json_t *v = nc_json_field(obj, key, required, err);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_integer(v)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field '%s' must be an integer", key);
        return -1;
    }
    json_int_t i = json_integer_value(v);
    if (i < min || i > max) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "field '%s' is %" JSON_INTEGER_FORMAT "; it must be between %"
                     G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                     key, i, min, max);
        return -1;
    }
    *ret = i;
    return 0;
}

int
nc_json_get_bool(json_t *obj, const char *key, bool required, bool *ret,
                 GError **err)
{
    json_t *v = nc_json_field(obj, key, required, err);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_boolean(v)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field '%s' must be true or false", key);
        return -1;
    }
    *ret = json_is_true(v);
    return 0;
}

bool
nc_json_has(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v);
}

const char *
nc_json_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int64_t
nc_json_int(json_t *obj, const char *key, int64_t fallback)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

json_t *
nc_json_string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}
