/* nc_error.c: the error code table. */
#include "nc_error.h"

#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK(nc-error-quark, nc_error)

static const struct {
    unsigned status;
    const char *name;
} nc_error_table[NC_ERR_MAX] = {
    [NC_ERR_INTERNAL] = { 500, "internal" },
    [NC_ERR_INVALID_ARGUMENT] = { 400, "invalid_argument" },
    [NC_ERR_UNAUTHENTICATED] = { 401, "unauthenticated" },
    [NC_ERR_FORBIDDEN] = { 403, "forbidden" },
    [NC_ERR_QUOTA_EXCEEDED] = { 403, "quota_exceeded" },
    [NC_ERR_NOT_FOUND] = { 404, "not_found" },
    [NC_ERR_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed" },
    [NC_ERR_CONFLICT] = { 409, "conflict" },
    [NC_ERR_TOO_LARGE] = { 413, "payload_too_large" },
    [NC_ERR_UNPROCESSABLE] = { 422, "unprocessable" },
    [NC_ERR_NO_CAPACITY] = { 422, "insufficient_capacity" },
    [NC_ERR_RATE_LIMITED] = { 429, "rate_limited" },
    [NC_ERR_UNAVAILABLE] = { 503, "unavailable" },
    [NC_ERR_UNSUPPORTED] = { 422, "unsupported" },
    [NC_ERR_HYPERVISOR] = { 500, "hypervisor_error" },
};

static _Thread_local char nc_error_location[128];

unsigned
nc_error_http_status(NcErrorCode code)
{
    if ((unsigned)code >= NC_ERR_MAX)
        return 500;
    return nc_error_table[code].status;
}

const char *
nc_error_code_name(NcErrorCode code)
{
    if ((unsigned)code >= NC_ERR_MAX)
        return "internal";
    return nc_error_table[code].name;
}

NcErrorCode
nc_error_code_from_name(const char *name)
{
    if (!name)
        return NC_ERR_INTERNAL;
    for (int i = 0; i < NC_ERR_MAX; i++) {
        if (strcmp(nc_error_table[i].name, name) == 0)
            return (NcErrorCode)i;
    }
    return NC_ERR_INTERNAL;
}

NcErrorCode
nc_error_code(const GError *err)
{
    if (!err || err->domain != NC_ERROR || err->code < 0 || err->code >= NC_ERR_MAX)
        return NC_ERR_INTERNAL;
    return (NcErrorCode)err->code;
}

void
nc__error_set(GError **err, NcErrorCode code, const char *file, int line,
              const char *fmt, ...)
{
    va_list ap;

    if (!err || *err)
        return;
    const char *base = strrchr(file, '/');
    snprintf(nc_error_location, sizeof(nc_error_location), "%s:%d",
             base ? base + 1 : file, line);
    va_start(ap, fmt);
    *err = g_error_new_valist(NC_ERROR, code, fmt, ap);
    va_end(ap);
}

void
nc_error_prefix(GError **err, const char *fmt, ...)
{
    va_list ap;

    if (!err || !*err)
        return;
    va_start(ap, fmt);
    g_autofree char *prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_prefix_error(err, "%s", prefix);
}

const char *
nc_error_last_location(void)
{
    return nc_error_location;
}
