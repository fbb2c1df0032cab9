/* nc_fs.c: files and paths inside the directories we own. */
#include "nc_fs.h"
#include "nc_error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
nc_fs_is_within(const char *base, const char *path)
{
    g_autofree char *rbase = realpath(base, NULL);
    g_autofree char *rpath = realpath(path, NULL);

    if (!rbase || !rpath)
        return false;
    size_t n = strlen(rbase);
    if (strncmp(rbase, rpath, n) != 0)
        return false;
    return rpath[n] == '\0' || rpath[n] == '/' || (n == 1 && rbase[0] == '/');
}

int
nc_fs_resolve_within(const char *base, const char *rel, char **ret_path,
                     GError **err)
{
    if (!rel || !*rel) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "path is empty");
        return -1;
    }
    if (strlen(rel) > 255) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "path is longer than 255 bytes");
        return -1;
    }
    if (rel[0] == '/') {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "path must be relative to the pool, not absolute");
        return -1;
    }
    g_auto(GStrv) parts = g_strsplit(rel, "/", -1);
    for (char **p = parts; *p; p++) {
        if (!**p || (*p)[0] == '.') {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "path may not hold empty, '.', '..' or hidden components");
            return -1;
        }
        for (const char *c = *p; *c; c++) {
            if (!(g_ascii_isalnum(*c) || *c == '-' || *c == '_' || *c == '.')) {
                nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                             "path components may hold only letters, digits, "
                             "'-', '_' and '.'");
                return -1;
            }
        }
    }
    g_autofree char *full = g_build_filename(base, rel, NULL);
    if (access(full, F_OK) < 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no file '%s' in the pool", rel);
        return -1;
    }
    if (!nc_fs_is_within(base, full)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "path '%s' leads outside the pool", rel);
        return -1;
    }
    *ret_path = realpath(full, NULL);
    return *ret_path ? 0 : -1;
}

int
nc_fs_mkdir_p(const char *path, int mode, GError **err)
{
    if (g_mkdir_with_parents(path, mode) < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot create directory %s: %s",
                     path, g_strerror(errno));
        return -1;
    }
    return 0;
}

static int
nc_fs_replace_file(const char *path, const char *data, size_t len, int mode, bool sync,
                   GError **err)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot write %s: %s", tmp, g_strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            nc_error_set(err, NC_ERR_INTERNAL, "cannot write %s: %s", tmp, g_strerror(e));
            return -1;
        }
        done += (size_t)n;
    }
    if ((sync && fsync(fd) < 0) || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        nc_error_set(err, NC_ERR_INTERNAL, "cannot write %s: %s", path, g_strerror(e));
        return -1;
    }
    return 0;
}

int
nc_fs_write_atomic(const char *path, const char *data, size_t len, int mode,
                   GError **err)
{
    return nc_fs_replace_file(path, data, len, mode, true, err);
}

int
nc_fs_write_mirror(const char *path, const char *data, size_t len, int mode,
                   GError **err)
{
    return nc_fs_replace_file(path, data, len, mode, false, err);
}

int
nc_fs_remove(const char *path, GError **err)
{
    if (unlink(path) < 0 && errno != ENOENT) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot remove %s: %s", path, g_strerror(errno));
        return -1;
    }
    return 0;
}

int
nc_fs_copy(const char *src, const char *dst, GError **err)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp.%d", dst, (int)getpid());
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot read %s: %s", src, g_strerror(errno));
        return -1;
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        nc_error_set(err, NC_ERR_INTERNAL, "cannot write %s: %s", tmp, g_strerror(e));
        return -1;
    }
    g_autofree char *buf = g_malloc(65536);
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, 65536)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -1;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc < 0)
            break;
    }
    int e = errno;
    close(in);
    if (rc == 0 && (fsync(out) < 0 || close(out) < 0 || rename(tmp, dst) < 0)) {
        e = errno;
        rc = -1;
    } else if (rc < 0) {
        close(out);
    }
    if (rc < 0) {
        unlink(tmp);
        nc_error_set(err, NC_ERR_INTERNAL, "cannot copy %s to %s: %s", src, dst, g_strerror(e));
    }
    return rc;
}
