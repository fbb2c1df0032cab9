/* nc_qcow2.h: empty qcow2 overlays, written in-process.
 *
 * A VM's root disk is a copy-on-write overlay on its image.  Making it with
 * `qemu-img create` costs a process spawn on every launch; the overlay is
 * only a few clusters of constant metadata, so we write it ourselves.  The
 * result is what `qemu-img create -f qcow2 -F FMT -b BACKING PATH SIZE`
 * makes: qcow2 version 3, 64 KiB clusters, 16-bit refcounts, no
 * compression, encryption or lazy refcounts, with the backing file's format
 * recorded in a header extension so QEMU never probes it.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

/* The largest virtual size we make: 64 TiB. */
#define NC_QCOW2_MAX_SIZE (UINT64_C(64) << 40)

/* The longest backing file name qcow2 allows, in bytes. */
#define NC_QCOW2_MAX_BACKING_LEN 1023

/**
 * nc_qcow2_create_overlay:
 * @path: the new image; must not exist yet
 * @backing_path: the backing image, an absolute path of 1 to 1023 bytes,
 *   stored as given (it is neither opened nor checked to exist)
 * @backing_format: format of @backing_path, "qcow2" or "raw"
 * @size_bytes: virtual size, a non-zero multiple of 512 up to 64 TiB
 * @err: NC_ERR_INVALID_ARGUMENT for a refused argument, NC_ERR_CONFLICT when
 *   @path exists, NC_ERR_INTERNAL when writing fails
 *
 * Creates @path (mode 0644 before umask) as an empty qcow2 image whose every
 * cluster reads through to @backing_path.  The file is not fsynced; a caller
 * that needs it durable syncs it or the directory it renames it into.  On
 * failure nothing is left at @path.
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_qcow2_create_overlay(const char *path, const char *backing_path,
                            const char *backing_format, uint64_t size_bytes,
                            GError **err);
