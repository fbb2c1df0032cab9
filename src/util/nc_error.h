/* nc_error.h: the one list of error codes, and how errors are recorded.
 *
 * Every layer reports failure through a GError in the NC_ERROR domain whose
 * code comes from NcErrorCode.  The code alone decides the HTTP status and
 * the API's "code" string, so a library layer never thinks about HTTP and the
 * API layer never guesses.  Errors are recorded where they happen with
 * nc_error_set(), which also keeps the source location for debugging.
 */
#pragma once

#include <glib.h>

#define NC_ERROR (nc_error_quark())

typedef enum {
    NC_ERR_INTERNAL = 0,      /* 500 internal: a bug or an unexpected failure */
    NC_ERR_INVALID_ARGUMENT,  /* 400 invalid_argument */
    NC_ERR_UNAUTHENTICATED,   /* 401 unauthenticated */
    NC_ERR_FORBIDDEN,         /* 403 forbidden */
    NC_ERR_QUOTA_EXCEEDED,    /* 403 quota_exceeded */
    NC_ERR_NOT_FOUND,         /* 404 not_found */
    NC_ERR_METHOD_NOT_ALLOWED,/* 405 method_not_allowed */
    NC_ERR_CONFLICT,          /* 409 conflict: state or name clash */
    NC_ERR_TOO_LARGE,         /* 413 payload_too_large */
    NC_ERR_UNPROCESSABLE,     /* 422 unprocessable: well-formed, cannot be met */
    NC_ERR_NO_CAPACITY,       /* 422 insufficient_capacity */
    NC_ERR_RATE_LIMITED,      /* 429 rate_limited */
    NC_ERR_UNAVAILABLE,       /* 503 unavailable: try again later */
    NC_ERR_UNSUPPORTED,       /* 422 unsupported: not offered by this backend */
    NC_ERR_HYPERVISOR,        /* 500 hypervisor_error: libvirt said no */
    NC_ERR_MAX
} NcErrorCode;

GQuark nc_error_quark(void);

/**
 * nc_error_http_status:
 * @code: an error code
 *
 * Returns: the HTTP status that answers an error of @code.
 */
unsigned nc_error_http_status(NcErrorCode code);

/**
 * nc_error_code_name:
 * @code: an error code
 *
 * Returns: the stable string the API puts in "error.code" (static, never freed).
 */
const char *nc_error_code_name(NcErrorCode code);

/**
 * nc_error_code_from_name:
 * @name: a string from an API error body
 *
 * Returns: the code whose name is @name, or NC_ERR_INTERNAL when unknown.
 */
NcErrorCode nc_error_code_from_name(const char *name);

/**
 * nc_error_code:
 * @err: an error, or NULL
 *
 * Returns: the NcErrorCode of @err, NC_ERR_INTERNAL for an error of another
 * domain or for NULL.
 */
NcErrorCode nc_error_code(const GError *err);

void nc__error_set(GError **err, NcErrorCode code, const char *file, int line,
                   const char *fmt, ...) G_GNUC_PRINTF(5, 6);

/**
 * nc_error_set:
 * @err: where to store the error (may be NULL to ignore it)
 * @code: one of NcErrorCode
 * @...: printf-style message, a full sentence a user can act on
 *
 * Records an error with the caller's source location.  Does nothing if
 * *@err is already set, so the first (deepest) cause wins.
 */
#define nc_error_set(err, code, ...) \
    nc__error_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)

/**
 * nc_error_prefix:
 * @err: a set error (may be NULL)
 * @fmt: printf-style text put before the message
 *
 * Adds context to an error on its way up, keeping its code.
 */
void nc_error_prefix(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Where the most recent error of this thread was recorded ("file:line"),
 * for debug logs.  Static per-thread storage, valid until the next error. */
const char *nc_error_last_location(void);
