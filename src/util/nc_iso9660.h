/* nc_iso9660.h: small ISO 9660 images with Joliet names, written in-process.
 *
 * A VM's NoCloud seed is a CD image labelled "cidata" holding "meta-data",
 * "user-data" and perhaps "network-config" in its root directory.  Making
 * it with genisoimage costs a process spawn on every launch; the image is a
 * few sectors of metadata followed by the files, so we write it ourselves.
 *
 * The image carries a primary volume descriptor with ISO level 1 (8.3,
 * upper-case) names and a Joliet supplementary descriptor (UCS-2 level 3)
 * with the real names, which Linux, blkid and cloud-init use.  There are no
 * Rock Ridge extensions: the files are read-only data without owners or
 * modes that matter.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

/* Limits on what one image may hold. */
#define NC_ISO9660_MAX_FILES 16
#define NC_ISO9660_MAX_NAME_LEN 64
#define NC_ISO9660_MAX_FILE_SIZE ((size_t)1024 * 1024)
#define NC_ISO9660_MAX_VOLUME_ID_LEN 16

/* One file of the image's root directory. */
typedef struct {
    const char *name;   /* 1 to 64 bytes of [a-z0-9._-], not ending in '.' */
    const char *data;   /* its content (may be NULL when len is 0) */
    size_t len;         /* up to 1 MiB */
} NcIsoFile;

/**
 * nc_iso9660_write:
 * @path: the new image; must not exist yet
 * @volume_id: the volume label, 1 to 16 bytes of [A-Za-z0-9_-], stored as
 *   given in both descriptors (as genisoimage -volid does), so blkid reports
 *   it unchanged, e.g. "cidata"
 * @files: the files of the root directory, with distinct names
 * @nfiles: their number, at most 16
 * @err: NC_ERR_INVALID_ARGUMENT for a refused argument, NC_ERR_CONFLICT when
 *   @path exists, NC_ERR_INTERNAL when writing fails
 *
 * Creates @path (mode 0644 before umask) as an ISO 9660 image with a Joliet
 * directory tree.  The data of @files is copied; the caller keeps ownership.
 * The file is not fsynced.  On failure nothing is left at @path.
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_iso9660_write(const char *path, const char *volume_id,
                     const NcIsoFile *files, size_t nfiles, GError **err);
