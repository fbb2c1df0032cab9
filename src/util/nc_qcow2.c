/* nc_qcow2.c: empty qcow2 overlays, written in-process.
 *
 * The image is laid out as `qemu-img create` lays it out:
 *
 *   cluster 0        header, header extensions, backing file name
 *   cluster 1        refcount table (one entry: the refcount block)
 *   cluster 2        refcount block (refcount 1 for clusters 0 .. 2+L1)
 *   cluster 3 ...    L1 table, all zero: nothing allocated, all reads go
 *                    to the backing file
 *
 * Every field is big-endian (docs/interop/qcow2.txt in QEMU).  Only the
 * non-zero bytes are written; the rest of the file is a hole that reads as
 * zeros, which is what an empty table is.
 */
#include "nc_qcow2.h"
#include "nc_error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QCOW2_MAGIC UINT32_C(0x514649fb)        /* "QFI\xfb" */
#define QCOW2_VERSION 3
#define QCOW2_CLUSTER_BITS 16
#define QCOW2_CLUSTER_SIZE (UINT64_C(1) << QCOW2_CLUSTER_BITS)
#define QCOW2_REFCOUNT_ORDER 4                  /* 16-bit refcounts */
/* v3 header through compression_type (104), padded to a multiple of 8 */
#define QCOW2_HEADER_LEN 112
#define QCOW2_EXT_END UINT32_C(0x00000000)
#define QCOW2_EXT_BACKING_FORMAT UINT32_C(0xe2792aca)

/* What one L1 entry maps: an L2 table of cluster_size / 8 entries. */
#define QCOW2_L1_ENTRY_SPAN (QCOW2_CLUSTER_SIZE * (QCOW2_CLUSTER_SIZE / 8))

/* Fixed cluster numbers of the layout above. */
enum {
    QCOW2_HEADER_CLUSTER = 0,
    QCOW2_REFTABLE_CLUSTER = 1,
    QCOW2_REFBLOCK_CLUSTER = 2,
    QCOW2_L1_CLUSTER = 3,
};

/* Room for the header, the backing-format extension ("qcow2" padded to 8),
 * the end marker and the longest backing name. */
#define QCOW2_HEADER_AREA \
    (QCOW2_HEADER_LEN + 8 + 8 + 8 + NC_QCOW2_MAX_BACKING_LEN)

static void
put_be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void
put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* Writes all of @buf at @offset, retrying short writes and EINTR. */
static int
qcow2_pwrite_all(int fd, const void *buf, size_t len, off_t offset)
{
    const unsigned char *p = buf;

    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        offset += n;
    }
    return 0;
}

static int
qcow2_check_args(const char *path, const char *backing_path,
                 const char *backing_format, uint64_t size_bytes, GError **err)
{
    if (!path || !*path) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "overlay path is empty");
        return -1;
    }
    if (size_bytes == 0 || size_bytes % 512 != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "disk size %" G_GUINT64_FORMAT " is not a non-zero multiple "
                     "of 512 bytes", size_bytes);
        return -1;
    }
    if (size_bytes > NC_QCOW2_MAX_SIZE) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "disk size %" G_GUINT64_FORMAT " is larger than 64 TiB",
                     size_bytes);
        return -1;
    }
    if (!backing_path || backing_path[0] != '/') {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "backing file of an overlay must be an absolute path");
        return -1;
    }
    if (strlen(backing_path) > NC_QCOW2_MAX_BACKING_LEN) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "backing file name is longer than %d bytes",
                     NC_QCOW2_MAX_BACKING_LEN);
        return -1;
    }
    if (!backing_format ||
        (strcmp(backing_format, "qcow2") != 0 && strcmp(backing_format, "raw") != 0)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "backing file format '%s' is not qcow2 or raw",
                     backing_format ? backing_format : "(none)");
        return -1;
    }
    return 0;
}

/* Fills @hdr (QCOW2_HEADER_AREA zeroed bytes) with the header, its
 * extensions and the backing name; returns the number of bytes used. */
static size_t
qcow2_format_header(unsigned char *hdr, const char *backing_path,
                    const char *backing_format, uint64_t size_bytes,
                    uint32_t l1_size)
{
    size_t fmt_len = strlen(backing_format);
    size_t name_len = strlen(backing_path);
    size_t pos = QCOW2_HEADER_LEN;

    /* header extensions: backing file format, then the end marker */
    put_be32(hdr + pos, QCOW2_EXT_BACKING_FORMAT);
    put_be32(hdr + pos + 4, (uint32_t)fmt_len);
    memcpy(hdr + pos + 8, backing_format, fmt_len);
    pos += 8 + ((fmt_len + 7) & ~(size_t)7);
    put_be32(hdr + pos, QCOW2_EXT_END);
    put_be32(hdr + pos + 4, 0);
    pos += 8;

    size_t name_off = pos;
    memcpy(hdr + name_off, backing_path, name_len);
    pos += name_len;

    put_be32(hdr + 0, QCOW2_MAGIC);
    put_be32(hdr + 4, QCOW2_VERSION);
    put_be64(hdr + 8, name_off);                       /* backing_file_offset */
    put_be32(hdr + 16, (uint32_t)name_len);            /* backing_file_size */
    put_be32(hdr + 20, QCOW2_CLUSTER_BITS);
    put_be64(hdr + 24, size_bytes);
    put_be32(hdr + 32, 0);                             /* crypt_method: none */
    put_be32(hdr + 36, l1_size);
    put_be64(hdr + 40, QCOW2_L1_CLUSTER * QCOW2_CLUSTER_SIZE);
    put_be64(hdr + 48, QCOW2_REFTABLE_CLUSTER * QCOW2_CLUSTER_SIZE);
    put_be32(hdr + 56, 1);                             /* refcount_table_clusters */
    put_be32(hdr + 60, 0);                             /* nb_snapshots */
    put_be64(hdr + 64, 0);                             /* snapshots_offset */
    put_be64(hdr + 72, 0);                             /* incompatible_features */
    put_be64(hdr + 80, 0);                             /* compatible: no lazy refcounts */
    put_be64(hdr + 88, 0);                             /* autoclear_features */
    put_be32(hdr + 96, QCOW2_REFCOUNT_ORDER);
    put_be32(hdr + 100, QCOW2_HEADER_LEN);
    /* byte 104 compression_type 0 (zlib) and the padding stay zero */
    return pos;
}

/* Writes the metadata into the open, empty @fd. */
static int
qcow2_write_image(int fd, const char *backing_path, const char *backing_format,
                  uint64_t size_bytes)
{
    uint64_t l1_size = (size_bytes + QCOW2_L1_ENTRY_SPAN - 1) / QCOW2_L1_ENTRY_SPAN;
    uint64_t l1_clusters = (l1_size * 8 + QCOW2_CLUSTER_SIZE - 1) / QCOW2_CLUSTER_SIZE;
    uint64_t nclusters = QCOW2_L1_CLUSTER + l1_clusters;
    /* 64 TiB needs 131072 L1 entries, 16 clusters: 19 in all, far below
     * the 32768 clusters one 16-bit refcount block covers. */
    G_STATIC_ASSERT((NC_QCOW2_MAX_SIZE / QCOW2_L1_ENTRY_SPAN) * 8 / QCOW2_CLUSTER_SIZE
                    + QCOW2_L1_CLUSTER <= 32);
    g_autofree unsigned char *hdr = g_malloc0(QCOW2_HEADER_AREA);
    unsigned char reftable[8];
    unsigned char refblock[2 * 32];

    g_assert(nclusters <= G_N_ELEMENTS(refblock) / 2);
    size_t hdr_len = qcow2_format_header(hdr, backing_path, backing_format,
                                         size_bytes, (uint32_t)l1_size);
    put_be64(reftable, QCOW2_REFBLOCK_CLUSTER * QCOW2_CLUSTER_SIZE);
    for (uint64_t i = 0; i < nclusters; i++)
        put_be16(refblock + 2 * i, 1);

    if (ftruncate(fd, (off_t)(nclusters * QCOW2_CLUSTER_SIZE)) < 0 ||
        qcow2_pwrite_all(fd, hdr, hdr_len,
                         (off_t)(QCOW2_HEADER_CLUSTER * QCOW2_CLUSTER_SIZE)) < 0 ||
        qcow2_pwrite_all(fd, reftable, sizeof(reftable),
                         (off_t)(QCOW2_REFTABLE_CLUSTER * QCOW2_CLUSTER_SIZE)) < 0 ||
        qcow2_pwrite_all(fd, refblock, (size_t)(2 * nclusters),
                         (off_t)(QCOW2_REFBLOCK_CLUSTER * QCOW2_CLUSTER_SIZE)) < 0)
        return -1;
    return 0;
}

int
nc_qcow2_create_overlay(const char *path, const char *backing_path,
                        const char *backing_format, uint64_t size_bytes,
                        GError **err)
{
    if (qcow2_check_args(path, backing_path, backing_format, size_bytes, err) < 0)
        return -1;

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        nc_error_set(err, e == EEXIST ? NC_ERR_CONFLICT : NC_ERR_INTERNAL,
                     "cannot create %s: %s", path, g_strerror(e));
        return -1;
    }
    int rc = qcow2_write_image(fd, backing_path, backing_format, size_bytes);
    int e = errno;
    /* on Linux the descriptor is gone even when close() says EINTR */
    if (close(fd) < 0 && errno != EINTR && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc < 0) {
        unlink(path);
        nc_error_set(err, NC_ERR_INTERNAL, "cannot write %s: %s", path, g_strerror(e));
        return -1;
    }
    return 0;
}
