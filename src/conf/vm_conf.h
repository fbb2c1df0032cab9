/* vm_conf.h: the definition of a VM, from request JSON to spec and back.
 *
 * A spec is what a user asked for, validated; the store keeps it, commands
 * carry it to the worker, and domain.h turns it into libvirt XML.
 *
 * VM states (the API's "state"), and who moves them:
 *
 *   pending --claim--> scheduled --worker picks up--> building --started--> running
 *     (nc_vm_service_create)      (op "building")        (op "succeeded")     |  ^
 *                                                                    stop    v  | start
 *                                       error <--- any failure ---     stopped
 *   any --delete--> deleting --worker removed it--> (gone)
 *   running|stopped|building --host silent (reconciler)--> unknown
 *   unknown --host reports the domain (heartbeat)--> running|stopped
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
    NC_VM_PENDING = 0,
    NC_VM_SCHEDULED,
    NC_VM_BUILDING,
    NC_VM_RUNNING,
    NC_VM_STOPPED,
    NC_VM_ERROR,
    NC_VM_DELETING,
    NC_VM_UNKNOWN,      /* its host is down: nobody can say */
    NC_VM_STATE_MAX
} NcVmState;

const char *nc_vm_state_name(NcVmState s);
/* Returns: the state named @name, or NC_VM_STATE_MAX when unknown. */
NcVmState nc_vm_state_from_name(const char *name);

typedef struct {
    char *network;   /* "default" (the cloud's NAT network) or "user" */
    char *mac;       /* "52:54:00:xx:xx:xx", assigned at creation */
} NcNic;

typedef struct {
    char *id;              /* UUID, also the libvirt domain UUID */
    char *name;            /* user's name, unique per project */
    char *project;
    int vcpus;
    int max_vcpus;
    int64_t memory_mib;
    int64_t max_memory_mib;
    int cpu_priority;      /* 0..10, 5 is the default */
    int64_t disk_gib;      /* 0 until resolved from the image */
    char *image;           /* image id once resolved; name or id as given */
    char *hostname;
    GPtrArray *ssh_keys;   /* char *, one OpenSSH public key each */
    char *user_data;       /* verbatim, may be NULL */
    char *group;           /* anti-affinity group: no two on one host, or NULL */
    int64_t expires_at;    /* ms since the epoch when it is deleted; 0: never */
    char *snapshot;        /* launched from this snapshot (id), or NULL */
    char *base_file;       /* its root disk's backing file in the image pool when
                            * that is not the image's own (a snapshot) */
    GPtrArray *nics;       /* NcNic * */
} NcVmSpec;

NcVmSpec *nc_vm_spec_new(void);
void nc_vm_spec_free(NcVmSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcVmSpec, nc_vm_spec_free)

NcNic *nc_nic_new(const char *network, const char *mac);
void nc_nic_free(NcNic *nic);

/**
 * nc_vm_spec_from_request:
 * @req: the body of POST /v1/vms
 * @ret_spec: (transfer full): the validated spec; id and project unset
 * @err: NC_ERR_INVALID_ARGUMENT naming the offending field
 *
 * Reads and validates a create request: known fields only, each within
 * its limit (limits.h), max_vcpus >= vcpus, max_memory_mib >= memory_mib.
 * Fields left out get their defaults here, except disk_gib, which depends
 * on the image (0 until nc_vm_spec_resolve_disk()).
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_vm_spec_from_request(json_t *req, NcVmSpec **ret_spec, GError **err);

/* The resize a PATCH asks for; a field is -1 when not given. */
typedef struct {
    int vcpus;
    int64_t memory_mib;
    int cpu_priority;
} NcVmResize;

/**
 * nc_vm_resize_from_request:
 * @req: the body of PATCH /v1/vms/{id}
 * @ret: the requested changes
 * @err: NC_ERR_INVALID_ARGUMENT on bad fields or an empty request
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_vm_resize_from_request(json_t *req, NcVmResize *ret, GError **err);

/**
 * nc_vm_resize_check:
 * @spec: the VM as it is
 * @rz: the change asked for
 * @err: NC_ERR_INVALID_ARGUMENT when it passes a maximum
 *
 * Returns: 0 when @rz fits the VM's maxima, -1 otherwise.
 */
int nc_vm_resize_check(const NcVmSpec *spec, const NcVmResize *rz, GError **err);

/* Serialises a spec for the store and for commands (every field). */
json_t *nc_vm_spec_to_json(const NcVmSpec *spec);

/**
 * nc_vm_spec_from_json:
 * @obj: JSON made by nc_vm_spec_to_json()
 * @err: NC_ERR_INTERNAL when it is damaged
 *
 * Returns: (transfer full): the spec, or NULL.
 */
NcVmSpec *nc_vm_spec_from_json(json_t *obj, GError **err);

/* A VM as the central node knows it: the spec plus where it stands. */
typedef struct {
    NcVmSpec *spec;
    NcVmState state;
    char *desired;         /* "running", "stopped" or "deleted" */
    char *host;            /* host id, NULL before placement */
    char *host_name;       /* filled by readers that join hosts */
    char *placement;       /* why the scheduler chose the host */
    char *error;           /* the last failure, for users */
    char *op;              /* the operation in flight, or NULL */
    json_t *addresses;     /* ["10.0.0.5", ...] */
    int64_t created_at;    /* ms since the epoch */
    int64_t updated_at;
} NcVm;

NcVm *nc_vm_new(void);
void nc_vm_free(NcVm *vm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcVm, nc_vm_free)

/* Returns: the API's JSON for @vm (image_name may be NULL). */
json_t *nc_vm_to_api_json(const NcVm *vm, const char *image_name);

/* Returns: cgroup CPU shares for a priority: 1024 * 2^(priority - 5). */
unsigned nc_vm_priority_shares(int priority);

/* Returns: a new locally administered MAC "52:54:00:xx:xx:xx" (caller frees). */
char *nc_mac_new(void);
