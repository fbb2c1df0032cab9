/* nc_fs.h: files and paths inside the directories we own.
 *
 * User input never becomes a path directly.  A user-given relative path is
 * accepted only through nc_fs_resolve_within(), which refuses absolute
 * paths, "..", empty or hidden components and symlinks that leave the base.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

/**
 * nc_fs_resolve_within:
 * @base: a directory we own (absolute)
 * @rel: the user's relative path, such as "debian/bookworm.qcow2"
 * @ret_path: the resolved absolute path inside @base; caller frees
 * @err: NC_ERR_INVALID_ARGUMENT or NC_ERR_NOT_FOUND
 *
 * The file must exist and, after resolving symlinks, lie inside @base.
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_fs_resolve_within(const char *base, const char *rel, char **ret_path,
                         GError **err);

/**
 * nc_fs_is_within:
 * @base: a directory (absolute, need not be canonical)
 * @path: an absolute path that exists
 *
 * Returns: true when @path, symlinks resolved, is @base or below it.
 */
bool nc_fs_is_within(const char *base, const char *path);

/**
 * nc_fs_mkdir_p:
 * @path: directory to create with its parents
 * @mode: permission bits for new directories
 * @err: NC_ERR_INTERNAL on failure
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_fs_mkdir_p(const char *path, int mode, GError **err);

/**
 * nc_fs_write_atomic:
 * @path: destination
 * @data: bytes to write
 * @len: their number
 * @mode: permission bits of the new file
 * @err: NC_ERR_INTERNAL on failure
 *
 * Writes a temporary file beside @path, fsyncs it and renames it over @path.
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_fs_write_atomic(const char *path, const char *data, size_t len,
                       int mode, GError **err);

/* nc_fs_write_atomic() without the fsync, for a file that only mirrors
 * state kept elsewhere: readers still never see it half written, but a
 * crash may leave the old content (or none).  A thousand simulated hosts
 * rewrite their domain lists every few seconds; syncing each was a
 * twentieth of their CPU. */
int nc_fs_write_mirror(const char *path, const char *data, size_t len,
                       int mode, GError **err);

/**
 * nc_fs_remove:
 * @path: file to remove; a missing file is not an error
 * @err: NC_ERR_INTERNAL on failure
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_fs_remove(const char *path, GError **err);

/**
 * nc_fs_copy:
 * @src: existing file
 * @dst: new file (replaced atomically)
 * @err: NC_ERR_INTERNAL on failure
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_fs_copy(const char *src, const char *dst, GError **err);
