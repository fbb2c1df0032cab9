/* nc_time.c: clocks and RFC 3339 timestamps. */
#include "nc_time.h"
#include "nc_error.h"

#include <time.h>

int64_t
nc_now_us(void)
{
    return g_get_real_time();
}

int64_t
nc_now_ms(void)
{
    return g_get_real_time() / 1000;
}

int64_t
nc_mono_us(void)
{
    return g_get_monotonic_time();
}

char *
nc_time_format(int64_t unix_ms)
{
    time_t secs = (time_t)(unix_ms / 1000);
    int ms = (int)(unix_ms % 1000);
    struct tm tm;
    char buf[40];

    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    gmtime_r(&secs, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    return g_strdup_printf("%s.%03dZ", buf, ms);
}

int
nc_time_parse(const char *text, int64_t *ret_unix_ms, GError **err)
{
    if (!text || strlen(text) < 20 || strlen(text) > 40 || text[10] != 'T') {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "'%.40s' is not an RFC 3339 time such as 2026-12-01T08:00:00Z",
                     text ? text : "");
        return -1;
    }
    g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(text, NULL);
    if (!dt) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "'%.40s' is not an RFC 3339 time with a zone, such as "
                     "2026-12-01T08:00:00Z", text);
        return -1;
    }
    *ret_unix_ms = g_date_time_to_unix(dt) * 1000 +
                   g_date_time_get_microsecond(dt) / 1000;
    return 0;
}
