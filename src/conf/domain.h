/* domain.h: a VM spec as libvirt domain XML.
 *
 * The XML carries the VM's UUID, its name, its resources and a reference to
 * its image, as the paper describes, plus nestcloud's own metadata, which
 * lets a worker tell its domains from anybody else's.  Every value that came
 * from a user is escaped (nc_xml_printf); paths are ours.
 */
#pragma once

#include "vm_conf.h"

#include <stdbool.h>

#define NC_XMLNS "https://nestcloud.dev/xmlns/domain/1"
#define NC_DOMAIN_PREFIX "nc-"
#define NC_DOMAIN_SPARE_PORTS 8   /* = NC_LIMIT_VOLUMES_PER_VM */

/* What the host adds to a spec to make a domain. */
typedef struct {
    const char *cloud_id;      /* this cloud's id, stored in the metadata */
    const char *host;          /* the host's name */
    const char *domain_type;   /* "kvm" or "qemu" (TCG) */
    const char *disk_path;     /* root disk overlay (qcow2) */
    const char *seed_path;     /* NoCloud seed ISO, or NULL */
    const char *console_path;  /* serial console log */
    const char *kernel;        /* direct kernel boot, or NULL for BIOS boot */
    const char *initrd;
    const char *cmdline;
    const char *network;       /* libvirt network for "default" NICs, or NULL
                                * to fall back to user-mode networking */
    bool bare;                 /* identity and shape only: no CPU model, no
                                * devices (simulated hosts) */
} NcDomainEnv;

/**
 * nc_domain_name:
 * @spec: a VM spec with id and name
 *
 * Returns: the libvirt domain name, "nc-NAME-ID8" (caller frees).  Unique
 * per libvirt daemon even when two projects use one name.
 */
char *nc_domain_name(const NcVmSpec *spec);

/**
 * nc_domain_xml_format:
 * @spec: the VM
 * @env: host-side paths and choices
 *
 * Returns: the domain XML (caller frees).
 */
char *nc_domain_xml_format(const NcVmSpec *spec, const NcDomainEnv *env);

/**
 * nc_domain_dimm_xml:
 * @size_mib: memory to plug
 *
 * Returns: a <memory model='dimm'> device for NUMA node 0 (caller frees).
 */
char *nc_domain_dimm_xml(int64_t size_mib);
