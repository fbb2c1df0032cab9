/* nc_json.h: strict reading of JSON request bodies (jansson).
 *
 * Requests are objects; unknown fields are refused (a typo must not be
 * silently ignored), each field has one type and explicit bounds.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_decref)

/**
 * nc_json_parse_object:
 * @buf: the body, not necessarily NUL-terminated
 * @len: its length
 * @err: NC_ERR_INVALID_ARGUMENT with the parser's position on failure
 *
 * Parses @buf as one JSON object, refusing duplicate keys.
 *
 * Returns: (transfer full): the object, or NULL.
 */
json_t *nc_json_parse_object(const char *buf, size_t len, GError **err);

/**
 * nc_json_check_keys:
 * @obj: a JSON object
 * @what: what the object describes, for the message
 * @allowed: NULL-terminated list of accepted keys
 * @err: NC_ERR_INVALID_ARGUMENT naming the first unknown key
 *
 * Returns: 0 when every key is allowed, -1 otherwise.
 */
int nc_json_check_keys(json_t *obj, const char *what,
                       const char *const *allowed, GError **err);

/* Each getter leaves *ret untouched when the key is absent and not required.
 * All return 0 on success (present or legitimately absent), -1 with
 * NC_ERR_INVALID_ARGUMENT otherwise.  "null" counts as absent. */
int nc_json_get_string(json_t *obj, const char *key, bool required,
                       size_t max_len, const char **ret, GError **err);
int nc_json_get_int(json_t *obj, const char *key, bool required,
                    int64_t min, int64_t max, int64_t *ret, GError **err);
int nc_json_get_bool(json_t *obj, const char *key, bool required,
                     bool *ret, GError **err);

/* Returns: true when @key is present and not null. */
bool nc_json_has(json_t *obj, const char *key);

/* Shorthand readers for trusted JSON (our own store and bus): missing or
 * mistyped values read as the fallback. */
const char *nc_json_str(json_t *obj, const char *key);
int64_t nc_json_int(json_t *obj, const char *key, int64_t fallback);

/**
 * nc_json_dumps:
 * @v: any JSON value
 *
 * The same text as json_dumps(@v, JSON_COMPACT | JSON_ENCODE_ANY), made
 * faster (nc_json_dump.c).
 *
 * Returns: (transfer full): compact text, g_free()d by the caller; NULL
 * for a NULL @v, a string that is not UTF-8, or a value nested deeper
 * than 2048 levels.
 */
char *nc_json_dumps(const json_t *v);

/* Builds a string value, or JSON null for NULL. */
json_t *nc_json_string_or_null(const char *s);
