/* nc_valid.h: validation of the small things users type: names, sizes, ids.
 *
 * Everything a user sends passes through one of these before it is stored or
 * used; each check says in its error what was wrong and what is allowed.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define NC_NAME_MAX 63

/**
 * nc_name_check:
 * @what: what the name names ("VM", "image"), for the message
 * @name: the candidate, may be NULL
 * @err: set to NC_ERR_INVALID_ARGUMENT on failure
 *
 * Checks @name against ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$.
 *
 * Returns: 0 when valid, -1 otherwise.
 */
int nc_name_check(const char *what, const char *name, GError **err);

/**
 * nc_size_parse:
 * @text: "512", "512M", "512MiB", "1G", "1.5G", "2T" (case-insensitive)
 * @default_unit_shift: the binary shift for a number without unit
 *   (20 for MiB, 30 for GiB)
 * @ret_bytes: the size in bytes, set only on success
 * @err: NC_ERR_INVALID_ARGUMENT on failure
 *
 * Parses a human size with binary units (K, M, G, T, with optional "i" and
 * "B").  Rejects negatives, empty strings, garbage and overflow.
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_size_parse(const char *text, unsigned default_unit_shift,
                  uint64_t *ret_bytes, GError **err);

/**
 * nc_size_format:
 * @mib: a size in MiB
 *
 * Returns: a short human form ("512M", "1.5G"); the caller frees it.
 */
char *nc_size_format_mib(uint64_t mib);

/**
 * nc_uuid_is_valid:
 * @text: candidate string
 *
 * Returns: true when @text is a canonical lowercase 36-character UUID.
 */
bool nc_uuid_is_valid(const char *text);

/**
 * nc_uuid_short:
 * @id: a canonical UUID
 *
 * Eight hex digits of @id that tell it apart from others, for names
 * (domains, pools, disk serials): the first eight of a random (version 4)
 * id, as names were made before ids began with the time; the last eight of
 * a version 7 id, whose first eight change once a minute.
 *
 * Returns: a pointer into @id (8 characters; not terminated there).
 */
const char *nc_uuid_short(const char *id);

/**
 * nc_uuid_new:
 *
 * Returns: a new version 7 UUID (the time, then random bits) in canonical
 * lowercase form; the caller frees it.
 */
char *nc_uuid_new(void);

/**
 * nc_text_check:
 * @what: field name for the message
 * @text: the value, may be NULL
 * @max_len: maximum length in bytes
 * @allow_newlines: whether \n and \t are allowed
 * @err: NC_ERR_INVALID_ARGUMENT or NC_ERR_TOO_LARGE on failure
 *
 * Checks that @text is valid UTF-8, has no NUL or other control characters
 * (except newlines and tabs when allowed) and fits @max_len.
 *
 * Returns: 0 when acceptable, -1 otherwise.
 */
int nc_text_check(const char *what, const char *text, size_t max_len,
                  bool allow_newlines, GError **err);

/**
 * nc_ssh_key_check:
 * @key: one OpenSSH public key line
 * @err: NC_ERR_INVALID_ARGUMENT when it does not look like one
 *
 * Accepts "TYPE BASE64 [comment]" for the usual key types, on one line.
 *
 * Returns: 0 when acceptable, -1 otherwise.
 */
int nc_ssh_key_check(const char *key, GError **err);
