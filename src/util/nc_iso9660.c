/* nc_iso9660.c: small ISO 9660 images with Joliet names (ECMA-119 and the
 * Joliet specification).
 *
 * Layout, in 2048-byte sectors:
 *
 *   0 .. 15      system area, zero
 *   16           primary volume descriptor
 *   17           Joliet supplementary volume descriptor
 *   18           volume descriptor set terminator
 *   19, 20       primary path table, L (little-endian) and M (big-endian)
 *   21, 22       Joliet path table, L and M
 *   23 ...       primary root directory, then the Joliet root directory
 *   ...          file data, each file from a sector boundary
 *
 * Both directory trees point at the same file data.  Only the non-zero
 * sectors are written; the system area and the tails of sectors are holes
 * that read as zeros.
 */
#include "nc_iso9660.h"
#include "nc_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ISO_SECTOR 2048u
#define ISO_DIRREC_FIXED 33u            /* a directory record without its name */
#define ISO_PATH_TABLE_SIZE 10u         /* one record: the root */

enum {
    ISO_PVD_SECTOR = 16,
    ISO_SVD_SECTOR = 17,
    ISO_TERM_SECTOR = 18,
    ISO_PT_L_SECTOR = 19,
    ISO_PT_M_SECTOR = 20,
    ISO_JPT_L_SECTOR = 21,
    ISO_JPT_M_SECTOR = 22,
    ISO_DIR_SECTOR = 23,
};

enum {
    ISO_VD_PRIMARY = 1,
    ISO_VD_SUPPLEMENTARY = 2,
    ISO_VD_TERMINATOR = 255,
};

enum {
    ISO_FLAG_FILE = 0x00,
    ISO_FLAG_DIRECTORY = 0x02,
};

/* One file as both trees name it, and where its data lies. */
typedef struct {
    const NcIsoFile *file;
    char base[9];                       /* level 1 name, upper-case */
    char ext[4];                        /* level 1 extension */
    unsigned char pid[16];              /* "BASE.EXT;1" */
    size_t pid_len;
    unsigned char jid[2 * NC_ISO9660_MAX_NAME_LEN];  /* UCS-2BE name */
    size_t jid_len;
    uint32_t extent;
} IsoEntry;

/* What the volume descriptors and directories of one image share. */
typedef struct {
    const char *volume_id;
    IsoEntry *entries;
    size_t n;
    IsoEntry **primary_order;           /* entries sorted by ISO 9660 rules */
    IsoEntry **joliet_order;            /* entries sorted by UCS-2 name */
    uint32_t pdir_sector, pdir_sectors;
    uint32_t jdir_sector, jdir_sectors;
    uint32_t total_sectors;
    unsigned char dir_date[7];          /* directory record form */
    char vd_date[17];                   /* volume descriptor form */
} IsoImage;

static void
put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void
put_be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
    put_le16(p, (uint16_t)v);
    put_le16(p + 2, (uint16_t)(v >> 16));
}

static void
put_be32(unsigned char *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

/* ECMA-119 7.2.3 and 7.3.3: little-endian, then big-endian. */
static void
put_both16(unsigned char *p, uint16_t v)
{
    put_le16(p, v);
    put_be16(p + 2, v);
}

static void
put_both32(unsigned char *p, uint32_t v)
{
    put_le32(p, v);
    put_be32(p + 4, v);
}

/* Fills a text field of @size bytes with @s padded with spaces, in ASCII
 * for the primary descriptor or UCS-2BE for Joliet. */
static void
put_text(unsigned char *p, size_t size, const char *s, bool joliet)
{
    size_t len = s ? strlen(s) : 0;

    if (!joliet) {
        memset(p, ' ', size);
        if (len > 0)
            memcpy(p, s, MIN(len, size));
        return;
    }
    for (size_t i = 0; i + 1 < size; i += 2) {
        p[i] = 0;
        p[i + 1] = i / 2 < len ? (unsigned char)s[i / 2] : ' ';
    }
}

static uint32_t
sectors_for(size_t bytes)
{
    return (uint32_t)((bytes + ISO_SECTOR - 1) / ISO_SECTOR);
}

static bool
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static int
iso_check_args(const char *path, const char *volume_id, const NcIsoFile *files,
               size_t nfiles, GError **err)
{
    if (!path || !*path) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "image path is empty");
        return -1;
    }
    size_t vlen = volume_id ? strlen(volume_id) : 0;
    if (vlen == 0 || vlen > NC_ISO9660_MAX_VOLUME_ID_LEN) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "volume id must be 1 to %d bytes long", NC_ISO9660_MAX_VOLUME_ID_LEN);
        return -1;
    }
    for (const char *c = volume_id; *c; c++) {
        if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-') {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "volume id may hold only letters, digits, '_' and '-'");
            return -1;
        }
    }
    if (nfiles > NC_ISO9660_MAX_FILES || (nfiles > 0 && !files)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "an image holds at most %d files", NC_ISO9660_MAX_FILES);
        return -1;
    }
    for (size_t i = 0; i < nfiles; i++) {
        const char *name = files[i].name;
        size_t len = name ? strlen(name) : 0;
        if (len == 0 || len > NC_ISO9660_MAX_NAME_LEN) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "file names must be 1 to %d bytes long", NC_ISO9660_MAX_NAME_LEN);
            return -1;
        }
        for (const char *c = name; *c; c++) {
            if (!is_name_char(*c)) {
                nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                             "file name '%s' may hold only a-z, 0-9, '.', '_' and '-'",
                             name);
                return -1;
            }
        }
        /* readers drop trailing dots from Joliet names (Linux does) */
        if (name[len - 1] == '.') {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "file name '%s' may not end with '.'", name);
            return -1;
        }
        if (files[i].len > NC_ISO9660_MAX_FILE_SIZE) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "file '%s' is larger than 1 MiB", name);
            return -1;
        }
        if (files[i].len > 0 && !files[i].data) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "file '%s' has no data", name);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(files[j].name, name) == 0) {
                nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                             "file name '%s' is given twice", name);
                return -1;
            }
        }
    }
    return 0;
}

static char
level1_char(char c)
{
    if (c >= 'a' && c <= 'z')
        return (char)(c - 'a' + 'A');
    if (c >= '0' && c <= '9')
        return c;
    return '_';
}

/* Maps @e's name to an ISO level 1 "BASE.EXT" (8.3 d-characters) unlike
 * the names of @done entries before it, as genisoimage does: "meta-data"
 * becomes "META_DAT.", a clash "USER_000." and so on. */
static void
iso_name_level1(IsoEntry *e, const IsoEntry *done, size_t ndone)
{
    const char *name = e->file->name;
    const char *dot = strrchr(name, '.');
    size_t base_len = dot ? (size_t)(dot - name) : strlen(name);
    size_t i;

    for (i = 0; i < base_len && i < 8; i++)
        e->base[i] = level1_char(name[i]);
    e->base[i] = '\0';
    if (i == 0)
        g_strlcpy(e->base, "_", sizeof(e->base));
    i = 0;
    if (dot) {
        for (; dot[1 + i] && i < 3; i++)
            e->ext[i] = level1_char(dot[1 + i]);
    }
    e->ext[i] = '\0';

    size_t keep = MIN(strlen(e->base), 5);
    for (unsigned serial = 0;; serial++) {
        bool clash = false;
        for (size_t j = 0; j < ndone && !clash; j++)
            clash = strcmp(done[j].base, e->base) == 0 && strcmp(done[j].ext, e->ext) == 0;
        if (!clash)
            break;
        /* at most 16 names: three digits always find a free one */
        g_assert(serial < 1000);
        snprintf(e->base + keep, sizeof(e->base) - keep, "%03u", serial);
    }
    int n = snprintf((char *)e->pid, sizeof(e->pid), "%s.%s;1", e->base, e->ext);
    g_assert(n > 0 && (size_t)n < sizeof(e->pid));
    e->pid_len = (size_t)n;
}

static void
iso_name_joliet(IsoEntry *e)
{
    const char *name = e->file->name;

    e->jid_len = 0;
    for (const char *c = name; *c; c++) {
        e->jid[e->jid_len++] = 0;
        e->jid[e->jid_len++] = (unsigned char)*c;
    }
}

/* ECMA-119 9.3: by name, then extension; a shorter name, padded with
 * spaces, sorts first, and every d-character sorts after a space. */
static int
cmp_primary(const void *a, const void *b)
{
    const IsoEntry *x = *(IsoEntry *const *)a;
    const IsoEntry *y = *(IsoEntry *const *)b;
    int c = strcmp(x->base, y->base);
    return c ? c : strcmp(x->ext, y->ext);
}

/* Joliet names compare by UCS-2 code; ours are ASCII. */
static int
cmp_joliet(const void *a, const void *b)
{
    const IsoEntry *x = *(IsoEntry *const *)a;
    const IsoEntry *y = *(IsoEntry *const *)b;
    return strcmp(x->file->name, y->file->name);
}

/* Writes one directory record at @p (if not NULL); returns its length. */
static size_t
iso_put_dirrec(unsigned char *p, uint32_t extent, uint32_t size, uint8_t flags,
               const unsigned char *id, size_t id_len, const unsigned char date[7])
{
    /* the record length is even: a pad byte follows an even-length name */
    size_t len = ISO_DIRREC_FIXED + id_len + (id_len % 2 == 0 ? 1 : 0);

    if (!p)
        return len;
    memset(p, 0, len);
    p[0] = (unsigned char)len;
    p[1] = 0;                           /* extended attribute record length */
    put_both32(p + 2, extent);
    put_both32(p + 10, size);
    memcpy(p + 18, date, 7);
    p[25] = flags;
    p[26] = 0;                          /* file unit size: not interleaved */
    p[27] = 0;                          /* interleave gap */
    put_both16(p + 28, 1);              /* volume sequence number */
    p[32] = (unsigned char)id_len;
    memcpy(p + 33, id, id_len);
    return len;
}

/* Lays out the root directory of one tree: ".", "..", then @order.  With
 * @out NULL only measures.  Records never cross a sector boundary.
 * Returns the number of sectors used. */
static uint32_t
iso_put_dir(const IsoImage *img, bool joliet, uint32_t self_sector,
            uint32_t self_sectors, unsigned char *out)
{
    static const unsigned char dot[1] = { 0x00 };
    static const unsigned char dotdot[1] = { 0x01 };
    IsoEntry *const *order = joliet ? img->joliet_order : img->primary_order;
    uint32_t self_size = self_sectors * ISO_SECTOR;
    size_t pos = 0;

    pos += iso_put_dirrec(out ? out + pos : NULL, self_sector, self_size,
                          ISO_FLAG_DIRECTORY, dot, 1, img->dir_date);
    /* the root is its own parent */
    pos += iso_put_dirrec(out ? out + pos : NULL, self_sector, self_size,
                          ISO_FLAG_DIRECTORY, dotdot, 1, img->dir_date);
    for (size_t i = 0; i < img->n; i++) {
        const IsoEntry *e = order[i];
        const unsigned char *id = joliet ? e->jid : e->pid;
        size_t id_len = joliet ? e->jid_len : e->pid_len;
        size_t len = iso_put_dirrec(NULL, 0, 0, 0, id, id_len, img->dir_date);
        if (pos / ISO_SECTOR != (pos + len - 1) / ISO_SECTOR)
            pos = (pos / ISO_SECTOR + 1) * ISO_SECTOR;
        iso_put_dirrec(out ? out + pos : NULL, e->extent, (uint32_t)e->file->len,
                       ISO_FLAG_FILE, id, id_len, img->dir_date);
        pos += len;
    }
    return sectors_for(pos);
}

static void
iso_put_path_table(unsigned char *p, uint32_t root_sector, bool big_endian)
{
    p[0] = 1;                           /* length of directory identifier */
    p[1] = 0;                           /* extended attribute record length */
    if (big_endian) {
        put_be32(p + 2, root_sector);
        put_be16(p + 6, 1);             /* parent directory number */
    } else {
        put_le32(p + 2, root_sector);
        put_le16(p + 6, 1);
    }
    p[8] = 0;                           /* the root's identifier */
    p[9] = 0;                           /* pad to an even length */
}

/* ECMA-119 8.4 (primary) and 8.5 (supplementary, here Joliet). */
static void
iso_put_volume_descriptor(unsigned char *p, const IsoImage *img, bool joliet)
{
    static const unsigned char dot[1] = { 0x00 };

    p[0] = joliet ? ISO_VD_SUPPLEMENTARY : ISO_VD_PRIMARY;
    memcpy(p + 1, "CD001", 5);
    p[6] = 1;                           /* descriptor version */
    p[7] = 0;                           /* volume flags */
    put_text(p + 8, 32, "LINUX", joliet);               /* system identifier */
    put_text(p + 40, 32, img->volume_id, joliet);
    put_both32(p + 80, img->total_sectors);             /* volume space size */
    if (joliet)
        memcpy(p + 88, "%/E", 3);                       /* UCS-2 level 3 */
    put_both16(p + 120, 1);                             /* volume set size */
    put_both16(p + 124, 1);                             /* volume sequence number */
    put_both16(p + 128, ISO_SECTOR);                    /* logical block size */
    put_both32(p + 132, ISO_PATH_TABLE_SIZE);
    put_le32(p + 140, joliet ? ISO_JPT_L_SECTOR : ISO_PT_L_SECTOR);
    put_le32(p + 144, 0);                               /* no optional L table */
    put_be32(p + 148, joliet ? ISO_JPT_M_SECTOR : ISO_PT_M_SECTOR);
    put_be32(p + 152, 0);                               /* no optional M table */
    uint32_t root = joliet ? img->jdir_sector : img->pdir_sector;
    uint32_t root_sectors = joliet ? img->jdir_sectors : img->pdir_sectors;
    iso_put_dirrec(p + 156, root, root_sectors * ISO_SECTOR, ISO_FLAG_DIRECTORY,
                   dot, 1, img->dir_date);
    put_text(p + 190, 128, NULL, joliet);               /* volume set */
    put_text(p + 318, 128, NULL, joliet);               /* publisher */
    put_text(p + 446, 128, NULL, joliet);               /* data preparer */
    put_text(p + 574, 128, "NESTCLOUD", joliet);        /* application */
    put_text(p + 702, 37, NULL, joliet);                /* copyright file */
    put_text(p + 739, 37, NULL, joliet);                /* abstract file */
    put_text(p + 776, 37, NULL, joliet);                /* bibliographic file */
    memcpy(p + 813, img->vd_date, 17);                  /* creation */
    memcpy(p + 830, img->vd_date, 17);                  /* modification */
    memcpy(p + 847, "0000000000000000", 16);            /* expiration: none */
    p[863] = 0;
    memcpy(p + 864, img->vd_date, 17);                  /* effective */
    p[881] = 1;                                         /* file structure version */
}

static void
iso_set_dates(IsoImage *img)
{
    time_t now = time(NULL);
    struct tm tm;
    char buf[80];

    gmtime_r(&now, &tm);
    img->dir_date[0] = (unsigned char)(tm.tm_year);     /* since 1900 */
    img->dir_date[1] = (unsigned char)(tm.tm_mon + 1);
    img->dir_date[2] = (unsigned char)tm.tm_mday;
    img->dir_date[3] = (unsigned char)tm.tm_hour;
    img->dir_date[4] = (unsigned char)tm.tm_min;
    img->dir_date[5] = (unsigned char)tm.tm_sec;
    img->dir_date[6] = 0;                               /* offset from GMT */
    snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02d00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(img->vd_date, buf, 16);
    img->vd_date[16] = 0;                               /* offset from GMT */
}

/* Writes all of @buf at @offset, retrying short writes and EINTR. */
static int
iso_pwrite_all(int fd, const void *buf, size_t len, off_t offset)
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

/* Names, sorts and places everything; fills @img. */
static void
iso_plan(IsoImage *img, const NcIsoFile *files)
{
    for (size_t i = 0; i < img->n; i++) {
        IsoEntry *e = &img->entries[i];
        e->file = &files[i];
        iso_name_level1(e, img->entries, i);
        iso_name_joliet(e);
        img->primary_order[i] = e;
        img->joliet_order[i] = e;
    }
    if (img->n > 0) {
        qsort(img->primary_order, img->n, sizeof(*img->primary_order), cmp_primary);
        qsort(img->joliet_order, img->n, sizeof(*img->joliet_order), cmp_joliet);
    }
    iso_set_dates(img);

    /* directory sizes do not depend on extents, so measure first */
    img->pdir_sector = ISO_DIR_SECTOR;
    img->pdir_sectors = iso_put_dir(img, false, 0, 0, NULL);
    img->jdir_sector = img->pdir_sector + img->pdir_sectors;
    img->jdir_sectors = iso_put_dir(img, true, 0, 0, NULL);
    uint32_t next = img->jdir_sector + img->jdir_sectors;
    bool empty_at_end = false;
    for (size_t i = 0; i < img->n; i++) {
        IsoEntry *e = img->primary_order[i];
        /* an empty file owns no sector; as with genisoimage it points
         * where the next file's data begins */
        e->extent = next;
        next += sectors_for(e->file->len);
        empty_at_end = e->file->len == 0;
    }
    /* ... which must still be a sector of the volume */
    img->total_sectors = next + (empty_at_end ? 1 : 0);
}

/* Writes the planned image into the open, empty @fd. */
static int
iso_write_image(int fd, const IsoImage *img)
{
    uint32_t meta_sectors = img->jdir_sector + img->jdir_sectors - ISO_PVD_SECTOR;
    g_autofree unsigned char *meta = g_malloc0((size_t)meta_sectors * ISO_SECTOR);
#define AT(sector) (meta + (size_t)((sector) - ISO_PVD_SECTOR) * ISO_SECTOR)

    iso_put_volume_descriptor(AT(ISO_PVD_SECTOR), img, false);
    iso_put_volume_descriptor(AT(ISO_SVD_SECTOR), img, true);
    unsigned char *term = AT(ISO_TERM_SECTOR);
    term[0] = ISO_VD_TERMINATOR;
    memcpy(term + 1, "CD001", 5);
    term[6] = 1;
    iso_put_path_table(AT(ISO_PT_L_SECTOR), img->pdir_sector, false);
    iso_put_path_table(AT(ISO_PT_M_SECTOR), img->pdir_sector, true);
    iso_put_path_table(AT(ISO_JPT_L_SECTOR), img->jdir_sector, false);
    iso_put_path_table(AT(ISO_JPT_M_SECTOR), img->jdir_sector, true);
    iso_put_dir(img, false, img->pdir_sector, img->pdir_sectors, AT(img->pdir_sector));
    iso_put_dir(img, true, img->jdir_sector, img->jdir_sectors, AT(img->jdir_sector));
#undef AT

    if (ftruncate(fd, (off_t)img->total_sectors * ISO_SECTOR) < 0 ||
        iso_pwrite_all(fd, meta, (size_t)meta_sectors * ISO_SECTOR,
                       (off_t)ISO_PVD_SECTOR * ISO_SECTOR) < 0)
        return -1;
    for (size_t i = 0; i < img->n; i++) {
        const IsoEntry *e = &img->entries[i];
        if (e->file->len > 0 &&
            iso_pwrite_all(fd, e->file->data, e->file->len,
                           (off_t)e->extent * ISO_SECTOR) < 0)
            return -1;
    }
    return 0;
}

int
nc_iso9660_write(const char *path, const char *volume_id, const NcIsoFile *files,
                 size_t nfiles, GError **err)
{
    if (iso_check_args(path, volume_id, files, nfiles, err) < 0)
        return -1;

    g_autofree IsoEntry *entries = g_new0(IsoEntry, MAX(nfiles, 1));
    g_autofree IsoEntry **primary_order = g_new0(IsoEntry *, MAX(nfiles, 1));
    g_autofree IsoEntry **joliet_order = g_new0(IsoEntry *, MAX(nfiles, 1));
    IsoImage img = {
        .volume_id = volume_id,
        .entries = entries,
        .n = nfiles,
        .primary_order = primary_order,
        .joliet_order = joliet_order,
    };
    iso_plan(&img, files);

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        nc_error_set(err, e == EEXIST ? NC_ERR_CONFLICT : NC_ERR_INTERNAL,
                     "cannot create %s: %s", path, g_strerror(e));
        return -1;
    }
    int rc = iso_write_image(fd, &img);
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
