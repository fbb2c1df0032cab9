/* event_store.h: the event log behind /v1/events.
 *
 * Every state change appends an event in the same transaction, so what a
 * client streams is exactly what the store holds.  Sequence numbers grow;
 * a client resumes with Last-Event-ID.
 */
#pragma once

#include "store.h"

#include <jansson.h>

typedef struct {
    int64_t seq;
    int64_t time;          /* ms since the epoch */
    char *project;         /* NULL: visible to admins only */
    char *type;            /* "vm.state", "operation", "host.state", ... */
    char *object_kind;
    char *object_id;
    json_t *data;
} NcEvent;

void nc_event_free(NcEvent *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcEvent, nc_event_free)

/* Appends an event; steals @data.  Returns 0 or -1.  (Its sequence number
 * is not returned: RETURNING costs SQLite a temporary table per row, and
 * this is the store's most frequent INSERT.) */
int nc_store_event_append(NcStore *st, const char *project, const char *type,
                              const char *object_kind, const char *object_id,
                              json_t *data, GError **err);

/* Returns: (element-type NcEvent): events after @after_seq visible to
 * @project (NULL: all), oldest first, at most @limit. */
GPtrArray *nc_store_event_list(NcStore *st, const char *project, int64_t after_seq,
                               int limit, GError **err);

/* Returns: the newest sequence number (0 when empty), or -1. */
int64_t nc_store_event_last(NcStore *st, GError **err);

/* Keeps the newest @keep events.  Returns the number deleted or -1. */
int64_t nc_store_event_prune(NcStore *st, int64_t keep, GError **err);
