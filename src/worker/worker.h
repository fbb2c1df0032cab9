/* worker.h: the satellite worker of one host.
 *
 * It consumes its host's command topic, acts through the hypervisor driver
 * and reports back on the central topic.  Commands of one VM run in order
 * (one lane per VM, chosen by hashing its id); different VMs run in
 * parallel.  A command is acknowledged only after its result is published,
 * so a crash at any point means redelivery, and every handler is idempotent.
 *
 * Messages it sends (JSON on NC_TOPIC_CENTRAL; several of them, from all
 * the workers of a process, may travel as one {"type": "batch", "reports":
 * [...]}, see reporter.h):
 *   {"type": "heartbeat", "host": {...}, "domains": [...], "time": ms}
 *    (a domain: {"id", "state", "vcpus"?, "memory_mib"?, "addresses"?}, the
 *    sizes left out when unknown and the addresses when there are none;
 *    "time": when the lists were taken; "domains" left out by a host whose
 *    domains change only through it while its list is as last sent, but
 *    sent at least every 6th beat)
 *   {"type": "op.started", "op": id, "vm": id, "host": id}  (only for a
 *    command not done 200 ms after its lane began it, or whose batch is not
 *    done by then; its result says the rest)
 *   {"type": "op.result", "op": id, "vm": id, "kind": k, "ok": bool,
 *    "error": {"code", "message"}, "state": s, "host": id}
 *   {"type": "vm.state", "vm": id, "state": s, "host": id}
 *
 * Commands it takes (JSON on "host.<id>"):
 *   {"op": id|null, "kind": "vm.create"|"vm.define"|"vm.start"|"vm.stop"|
 *    "vm.force-stop"|"vm.reboot"|"vm.delete"|"vm.resize", "vm": spec, "image": image,
 *    "args": {...}}
 *   {"kind": "batch", "commands": [command, ...]}: several at once, as the
 *    central node's relay sends what waits for one host; acknowledged once
 *    all are done, their results reported in one batch
 */
#pragma once

#include "bus/bus.h"
#include "hv/hv.h"
#include "worker/reporter.h"

typedef struct NcWorker NcWorker;

typedef struct {
    const char *host_id;
    const char *host_name;
    int lanes;                 /* parallel command lanes, >= 1 */
    int heartbeat_ms;
    /* when set, every heartbeat also writes the domains it reports to this
     * file (JSON, replaced atomically): how tests see a simulated host's
     * in-process libvirt state from outside */
    const char *domains_file;
    const char *port_bind_addr;  /* where port forwards listen; NULL: 0.0.0.0 */
    /* shared by the workers of one process (not owned; stop it before
     * stopping them); NULL: the worker has its own */
    NcReporter *reporter;
    /* its heartbeats come from the process's pulse (nc_worker_pulse_start),
     * not from a thread of its own (it still sends one when it starts) */
    bool pulsed;
} NcWorkerConfig;

/**
 * nc_worker_start:
 * @cfg: configuration (copied)
 * @bus: the bus (not owned; must outlive the worker)
 * @hv: the hypervisor (owned by the worker from now on)
 * @err: set on failure
 *
 * Declares the host's topic, sends a first heartbeat and starts the
 * dispatcher, lanes and heartbeat threads.
 *
 * Returns: (transfer full): the running worker, or NULL.
 */
NcWorker *nc_worker_start(const NcWorkerConfig *cfg, NcBus *bus, NcHv *hv, GError **err);

/* Tells the worker's threads to stop, without waiting for them: a process
 * of many (simulated) workers calls it on all before nc_worker_stop(), so
 * that their receive timeouts run out together, not one after another. */
void nc_worker_request_stop(NcWorker *w);

/* Stops the threads (the command in progress finishes first) and frees. */
void nc_worker_stop(NcWorker *w);

/* Returns: the worker's hypervisor (not transferred). */
NcHv *nc_worker_hv(NcWorker *w);

/* One heartbeat thread for the many workers of a process (simulated
 * hosts): every interval it sends all their heartbeats together, in as
 * few messages as the reporter's size cap allows.  A thousand hosts with
 * threads of their own sent 200 lone messages a second, and the broker
 * spent more CPU on them than on the commands.  A real host's worker,
 * alone in its process, keeps its own thread. */
typedef struct NcWorkerPulse NcWorkerPulse;

/**
 * nc_worker_pulse_start:
 * @workers: (element-type NcWorker): workers started with .pulsed; neither
 *           the array nor the workers are owned, and both must outlive the
 *           pulse
 * @reporter: where the heartbeats go (not owned; stop it before the pulse,
 *            so that a beat to a broker that is gone ends at once)
 * @interval_ms: between beats; the first beat is at once
 *
 * Returns: (transfer full): the running pulse.
 */
NcWorkerPulse *nc_worker_pulse_start(GPtrArray *workers, NcReporter *reporter, int interval_ms);

/* Stops the pulse (a beat in progress ends at the next heartbeat) and
 * frees it; NULL is allowed. */
void nc_worker_pulse_stop(NcWorkerPulse *p);
