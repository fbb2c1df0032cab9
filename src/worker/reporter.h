/* reporter.h: what workers tell the central node, sent in shared batches.
 *
 * Every report of a worker (results, heartbeats, domain state changes)
 * goes to the central topic.  A process that runs many workers (simulated
 * hosts) shares one reporter: reports handed to it while a send is in
 * flight leave together in the next one, as one message
 *   {"type": "batch", "reports": [report, ...]}
 * so the broker carries one message, not one per report (group commit).
 * A lone report goes as itself.
 */
#pragma once

#include "bus/bus.h"

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

/* reports sent in one message, at most, and its size (the bus takes 1 MiB;
 * a report bigger than this alone goes alone) */
#define NC_REPORTER_MAX_BATCH 512
#define NC_REPORTER_MAX_BYTES (512 * 1024)

typedef struct NcReporter NcReporter;

/* Returns: (transfer full): a reporter sending on @bus (not owned). */
NcReporter *nc_reporter_new(NcBus *bus);

/* Makes sends give up instead of retrying (the process is stopping). */
void nc_reporter_stop(NcReporter *r);

void nc_reporter_free(NcReporter *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcReporter, nc_reporter_free)

/**
 * nc_reporter_send:
 * @r: the reporter
 * @report: (transfer full): a JSON object with a "type"
 * @must: a command's result, whose acknowledgement waits for it: tried
 *        until the bus holds it (backoff up to 5 s) or the reporter stops.
 *        Otherwise (state, heartbeat: the next heartbeat recovers it)
 *        tried for about 5 s.
 *
 * Returns once the bus holds the report: 0, or -1 when it could not go
 * (a message over the bus's size limit is not tried again).
 */
int nc_reporter_send(NcReporter *r, json_t *report, bool must);

/* A report that goes only if it is not withdrawn first. */
typedef struct NcReporterLater NcReporterLater;

/**
 * nc_reporter_send_later:
 * @r: the reporter
 * @report: (transfer full): a JSON object with a "type"
 * @delay_ms: how long it waits for nc_reporter_withdraw()
 *
 * Queues @report to be sent (as nc_reporter_send() with @must false) once
 * @delay_ms have passed, unless it is withdrawn before.  Reports that fall
 * due together leave in one message.  A command's start report is news
 * only when its result is not right behind it: a simulated create is done
 * in a millisecond, and a start report for each was a third of what the
 * central node applied.  A report already on its way when withdrawn still
 * arrives; the central node ignores a start after its command's result.
 *
 * Returns: (transfer full): the handle, for nc_reporter_withdraw() (once,
 * before the reporter is freed; reports still queued then are dropped).
 */
NcReporterLater *nc_reporter_send_later(NcReporter *r, json_t *report, int delay_ms);

/* Withdraws @l (NULL is allowed) unless it was sent already, and frees the
 * handle. */
void nc_reporter_withdraw(NcReporter *r, NcReporterLater *l);
