/* nc_time.h: clocks and RFC 3339 timestamps (always UTC). */
#pragma once

#include <glib.h>
#include <stdint.h>

/* Microseconds since the Unix epoch (wall clock). */
int64_t nc_now_us(void);

/* Milliseconds since the Unix epoch (wall clock). */
int64_t nc_now_ms(void);

/* Microseconds from a monotonic clock, for intervals and timeouts. */
int64_t nc_mono_us(void);

/**
 * nc_time_format:
 * @unix_ms: milliseconds since the epoch
 *
 * Returns: "2026-11-25T18:10:30.123Z"; the caller frees it.
 */
char *nc_time_format(int64_t unix_ms);

/**
 * nc_time_parse:
 * @text: an RFC 3339 timestamp; it must say "Z" or an explicit offset
 * @ret_unix_ms: the instant in milliseconds since the epoch
 * @err: NC_ERR_INVALID_ARGUMENT when @text is not RFC 3339
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_time_parse(const char *text, int64_t *ret_unix_ms, GError **err);
