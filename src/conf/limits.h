/* limits.h: every limit a user meets, in one place.
 *
 * The API documents these numbers (docs/API.md); changing one is a
 * contract change.
 */
#pragma once

/* HTTP */
#define NC_LIMIT_BODY_BYTES (64 * 1024)          /* JSON request body */
#define NC_LIMIT_UPLOAD_BYTES (64ULL << 30)      /* image upload */
#define NC_LIMIT_CONNECTIONS 512                 /* concurrent HTTP connections */
#define NC_LIMIT_SSE_CLIENTS 64                  /* concurrent /v1/events streams */
#define NC_LIMIT_LIST_PAGE 1000                  /* items per list response */

/* VM shape */
#define NC_LIMIT_VCPUS 256
#define NC_LIMIT_MEMORY_MIB_MIN 64
#define NC_LIMIT_MEMORY_MIB (4 * 1024 * 1024)    /* 4 TiB */
#define NC_LIMIT_DISK_GIB 65536
#define NC_LIMIT_CPU_PRIORITY 10
#define NC_LIMIT_NICS 8
#define NC_LIMIT_SSH_KEYS 32
#define NC_LIMIT_USER_DATA_BYTES (32 * 1024)
#define NC_LIMIT_MEMORY_SLOTS 16                 /* DIMM slots for live growth */
#define NC_LIMIT_STOP_TIMEOUT_S 600
#define NC_LIMIT_REASON_BYTES 256                /* why a host is disabled */

/* Defaults */
#define NC_DEFAULT_VCPUS 1
#define NC_DEFAULT_MEMORY_MIB 512
#define NC_DEFAULT_CPU_PRIORITY 5
#define NC_DEFAULT_MAX_VCPUS 8                   /* headroom for live growth */
#define NC_DEFAULT_MAX_MEMORY_FACTOR 4
#define NC_DEFAULT_MAX_MEMORY_CAP_MIB (64 * 1024)
#define NC_DEFAULT_STOP_TIMEOUT_S 60

/* Per project */
#define NC_LIMIT_VMS_PER_PROJECT 10000     /* default; serve --max-vms-per-project */
#define NC_LIMIT_VMS_PER_PROJECT_MAX 10000000
/* VMs made by one create request ("count") */
#define NC_LIMIT_VMS_PER_REQUEST 1000
#define NC_LIMIT_IMAGES_PER_PROJECT 1000

/* Hotplugged memory grows in blocks of this size (Linux hot-adds memory in
 * 128 MiB sections on x86); the balloon trims the rest. */
#define NC_MEMORY_BLOCK_MIB 128
