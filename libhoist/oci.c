/* oci.c - image assembly, local OCI layout cache and push (see oci.h). */
#include "autoconfig.h"
#include "oci.h"
#include "host.h"
#include "log.h"
#include "registry.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define IO_CHUNK 65536
#define GZIP_LEVEL 6 /* fixed: the digest depends on it */

/* ---- small helpers ---- */

static void hex32(const unsigned char h[32], char *out /* 72 */)
{
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", h[i]);
}

static char *digest_of(const void *p, size_t n)
{
    char hex[65];
    hoist_sha256_hex(p, n, hex);
    return hoist_xasprintf("sha256:%s", hex);
}

static char *blob_path(const char *cache, const char *digest)
{
    return hoist_xasprintf("%s/blobs/sha256/%s", cache, digest + 7);
}

/* Write @len bytes to @path atomically (temp + rename). 0 or -1 (errno). */
static int write_atomic(const char *path, const void *p, size_t len)
{
    char *tmp = hoist_tmp_name(path, "tmp");
    FILE *fp = fopen(tmp, "wb");
    int rc = -1;
    if (fp && fwrite(p, 1, len, fp) == len && fflush(fp) == 0 && fsync(fileno(fp)) == 0) {
        rc = fclose(fp);
        fp = NULL;
        if (rc == 0)
            rc = rename(tmp, path);
    }
    if (fp)
        fclose(fp);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Store @p in the cache under its digest (no-op when present). */
static hoist_status store_blob(hoist_ctx *ctx, const char *cache, const char *digest,
                               const void *p, size_t len)
{
    char *path = blob_path(cache, digest);
    hoist_status st = HOIST_OK;
    if (access(path, F_OK) != 0 && write_atomic(path, p, len) != 0)
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", path,
                            hoist_strerror(errno));
    free(path);
    return st;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    hoist_buf b = {0};
    char tmp[IO_CHUNK];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        hoist_buf_add(&b, tmp, n);
    fclose(fp);
    if (len)
        *len = b.len;
    return hoist_buf_steal(&b);
}

static long long source_date_epoch(void)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    char *end;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    return s && *s && !*end && v >= 0 ? v : 0;
}

/* ---- ignore patterns ---- */

void hoist_ignore_add(hoist_ignore *ig, const char *pattern)
{
    const char *p = pattern;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    if (!n || p[0] == '#')
        return;
    int neg = p[0] == '!';
    hoist_buf b = {0};
    if (neg)
        hoist_buf_add(&b, "!", 1);
    const char *q = p + neg;
    size_t qn = n - neg;
    /* Clean like Docker: drop leading "/" and "./", trailing "/". */
    while (qn && (q[0] == '/' || (q[0] == '.' && qn > 1 && q[1] == '/'))) {
        size_t skip = q[0] == '/' ? 1 : 2;
        q += skip;
        qn -= skip;
    }
    while (qn && q[qn - 1] == '/')
        qn--;
    if (!qn) {
        hoist_buf_free(&b);
        return;
    }
    hoist_buf_add(&b, q, qn);
    ig->pats = hoist_xrealloc(ig->pats, (ig->n + 1) * sizeof *ig->pats);
    ig->pats[ig->n++] = hoist_buf_steal(&b);
    ig->negations += neg;
}

static void ignore_load_file(hoist_ignore *ig, const char *path)
{
    char *text = read_file(path, NULL);
    if (!text)
        return;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        hoist_ignore_add(ig, line);
    free(text);
}

void hoist_ignore_load(hoist_ignore *ig, const char *dir, json_t *extra)
{
    static const char *const files[] = {".dockerignore", ".hoistignore"};
    for (size_t i = 0; i < 2; i++) {
        char *p = hoist_xasprintf("%s/%s", dir, files[i]);
        ignore_load_file(ig, p);
        free(p);
    }
    size_t i;
    json_t *v;
    json_array_foreach(extra, i, v)
        if (json_is_string(v))
            hoist_ignore_add(ig, json_string_value(v));
}

void hoist_ignore_free(hoist_ignore *ig)
{
    for (size_t i = 0; i < ig->n; i++)
        free(ig->pats[i]);
    free(ig->pats);
    memset(ig, 0, sizeof *ig);
}

/* Match path segments @s[0..ns) against pattern segments @p[0..np); "**"
   matches any number of segments.  A pattern that matches a prefix of the
   path (an ancestor directory) matches the path too, as in Docker. */
static int seg_match(char **p, size_t np, char **s, size_t ns)
{
    if (np == 0)
        return 1; /* the pattern matched an ancestor (or the path itself) */
    if (!strcmp(p[0], "**")) {
        for (size_t k = 0; k <= ns; k++)
            if (seg_match(p + 1, np - 1, s + k, ns - k))
                return 1;
        return 0;
    }
    if (ns == 0 || fnmatch(p[0], s[0], 0) != 0)
        return 0;
    return seg_match(p + 1, np - 1, s + 1, ns - 1);
}

static size_t split_segments(char *s, char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, "/", &save); t && n < max; t = strtok_r(NULL, "/", &save))
        out[n++] = t;
    return n;
}

int hoist_ignore_match(const hoist_ignore *ig, const char *rel)
{
    int excluded = 0;
    char *path = hoist_xstrdup(rel);
    char *ps[256];
    size_t ns = split_segments(path, ps, 256);
    for (size_t i = 0; i < ig->n; i++) {
        const char *pat = ig->pats[i];
        int neg = pat[0] == '!';
        char *copy = hoist_xstrdup(pat + neg);
        char *pp[256];
        size_t np = split_segments(copy, pp, 256);
        if (np && seg_match(pp, np, ps, ns))
            excluded = !neg;
        free(copy);
    }
    free(path);
    return excluded;
}

/* ---- the source tree ---- */

typedef struct src_entry {
    char *rel;       /* "src/a.js" */
    struct stat st;
    char *link;      /* symlink target or NULL */
} src_entry;

typedef struct src_tree {
    src_entry *v;
    size_t n, cap;
} src_tree;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Depth-first walk with names sorted in each directory (byte order), so the
   tar's entry order never depends on the file system. */
static hoist_status walk(hoist_ctx *ctx, const char *root, const char *rel,
                         const hoist_ignore *ig, src_tree *t)
{
    char *dir = *rel ? hoist_xasprintf("%s/%s", root, rel) : hoist_xstrdup(root);
    DIR *d = opendir(dir);
    hoist_status st = HOIST_OK;
    char **names = NULL;
    size_t nn = 0;
    if (!d) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "cannot read directory %s: %s", dir,
                            hoist_strerror(errno));
        goto cleanup;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        /* The image cache lives here when the app is the project directory. */
        if (!*rel && !strcmp(e->d_name, ".hoist"))
            continue;
        names = hoist_xrealloc(names, (nn + 1) * sizeof *names);
        names[nn++] = hoist_xstrdup(e->d_name);
    }
    closedir(d);
    hoist_sort(names, nn, sizeof *names, cmp_names);
    for (size_t i = 0; i < nn && st == HOIST_OK; i++) {
        char *r = *rel ? hoist_xasprintf("%s/%s", rel, names[i]) : hoist_xstrdup(names[i]);
        char *full = hoist_xasprintf("%s/%s", root, r);
        struct stat sb;
        int excluded = hoist_ignore_match(ig, r);
        if (lstat(full, &sb) != 0) {
            st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "cannot stat %s: %s", full,
                                hoist_strerror(errno));
        } else if (S_ISDIR(sb.st_mode) && (!excluded || ig->negations)) {
            if (!excluded) {
                if (t->n == t->cap)
                    t->v = hoist_xrealloc(t->v, (t->cap = t->cap ? 2 * t->cap : 64) * sizeof *t->v);
                t->v[t->n++] = (src_entry){.rel = hoist_xstrdup(r), .st = sb};
            }
            st = walk(ctx, root, r, ig, t);
        } else if (!excluded && (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode))) {
            char *link = NULL;
            if (S_ISLNK(sb.st_mode)) {
                link = hoist_xmalloc((size_t)sb.st_size + 1);
                ssize_t k = readlink(full, link, (size_t)sb.st_size + 1);
                link[k < 0 ? 0 : (k > sb.st_size ? sb.st_size : k)] = '\0';
            }
            if (t->n == t->cap)
                t->v = hoist_xrealloc(t->v, (t->cap = t->cap ? 2 * t->cap : 64) * sizeof *t->v);
            t->v[t->n++] = (src_entry){.rel = hoist_xstrdup(r), .st = sb, .link = link};
        } /* sockets, fifos and devices have no place in an image */
        free(full);
        free(r);
    }
cleanup:
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    free(dir);
    return st;
}

static void tree_free(src_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].rel);
        free(t->v[i].link);
    }
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* A cheap fingerprint of the tree (names, modes, sizes, mtimes, inodes):
   when it is unchanged the layer is reused without reading any file. */
static char *tree_fingerprint(const src_tree *t, const char *extra)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, extra, strlen(extra) + 1);
    for (size_t i = 0; i < t->n; i++) {
        const src_entry *e = &t->v[i];
        char line[256];
        int n = snprintf(line, sizeof line, "%o %lld %lld.%09ld %llu %llu\n",
                         (unsigned)e->st.st_mode, (long long)e->st.st_size,
                         (long long)e->st.st_mtim.tv_sec, e->st.st_mtim.tv_nsec,
                         (unsigned long long)e->st.st_ino, (unsigned long long)e->st.st_dev);
        EVP_DigestUpdate(md, e->rel, strlen(e->rel) + 1);
        EVP_DigestUpdate(md, line, (size_t)n);
        if (e->link)
            EVP_DigestUpdate(md, e->link, strlen(e->link) + 1);
    }
    unsigned char h[32];
    EVP_DigestFinal_ex(md, h, NULL);
    EVP_MD_CTX_free(md);
    char out[72];
    hex32(h, out);
    return hoist_xstrdup(out);
}

/* ---- the layer: tar -> sha256 (diff_id) -> gzip -> sha256 (digest) -> file ---- */

typedef struct layer_sink {
    EVP_MD_CTX *tar_md, *gz_md;
    z_stream z;
    FILE *out;
    long long size;
    int failed;
    unsigned char buf[IO_CHUNK];
} layer_sink;

static int sink_deflate(layer_sink *s, int flush)
{
    int zr;
    do {
        s->z.next_out = s->buf;
        s->z.avail_out = sizeof s->buf;
        zr = deflate(&s->z, flush);
        if (zr == Z_STREAM_ERROR)
            return -1;
        size_t have = sizeof s->buf - s->z.avail_out;
        if (have && fwrite(s->buf, 1, have, s->out) != have)
            return -1;
        EVP_DigestUpdate(s->gz_md, s->buf, have);
        s->size += (long long)have;
    } while (s->z.avail_out == 0);
    return flush == Z_FINISH && zr != Z_STREAM_END ? -1 : 0;
}

static la_ssize_t sink_write(struct archive *a, void *arg, const void *p, size_t n)
{
    (void)a;
    layer_sink *s = arg;
    EVP_DigestUpdate(s->tar_md, p, n);
    s->z.next_in = (Bytef *)(uintptr_t)p;
    s->z.avail_in = (uInt)n;
    if (sink_deflate(s, Z_NO_FLUSH) != 0) {
        s->failed = 1;
        return -1;
    }
    return (la_ssize_t)n;
}

static hoist_status add_entry(hoist_ctx *ctx, struct archive *a, const char *root,
                              const char *name, const src_entry *e, long long mtime,
                              char *iobuf)
{
    struct archive_entry *ae = archive_entry_new();
    hoist_status st = HOIST_OK;
    int fd = -1;
    archive_entry_set_pathname(ae, name);
    archive_entry_set_mtime(ae, (time_t)mtime, 0);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    archive_entry_set_perm(ae, e ? e->st.st_mode & 07777 : 0755);
    if (!e || S_ISDIR(e->st.st_mode)) {
        archive_entry_set_filetype(ae, AE_IFDIR);
    } else if (e->link) {
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e->link);
    } else {
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, e->st.st_size);
        char *full = hoist_xasprintf("%s/%s", root, e->rel);
        fd = open(full, O_RDONLY);
        if (fd < 0)
            st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "cannot read %s: %s", full,
                                hoist_strerror(errno));
        free(full);
        if (st != HOIST_OK)
            goto cleanup;
    }
    /* ARCHIVE_WARN is not a failure: a name that is not valid in the
       locale's charset (hoist never sets one, so anything past ASCII, like
       "café.txt" or a stray 0xff byte) cannot be translated to UTF-8, and
       libarchive then writes its bytes as they are under a pax
       "hdrcharset=BINARY" record - exactly what a Linux container wants. */
    int ar = archive_write_header(a, ae);
    if (ar == ARCHIVE_WARN) {
        hoist_log(HOIST_LOG_DEBUG_, "image", "tar entry %s: %s (written with its bytes as they are)",
                  name, archive_error_string(a));
    } else if (ar != ARCHIVE_OK) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "tar entry %s: %s", name,
                            archive_error_string(a));
        goto cleanup;
    }
    if (fd >= 0) {
        long long left = e->st.st_size;
        ssize_t n;
        while (left > 0 && (n = read(fd, iobuf, IO_CHUNK)) > 0) {
            if (n > left)
                n = (ssize_t)left; /* the file grew: keep the size announced */
            if (archive_write_data(a, iobuf, (size_t)n) != n) {
                st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "tar entry %s: %s", name,
                                    archive_error_string(a));
                goto cleanup;
            }
            left -= n;
        }
        if (left > 0)
            st = hoist_ctx_fail(ctx, HOIST_E_CONFLICT,
                                "%s/%s changed while the image was being built (it shrank); "
                                "build again", root, e->rel);
    }
cleanup:
    if (fd >= 0)
        close(fd);
    archive_entry_free(ae);
    return st;
}

static hoist_status layer_from_tree(hoist_ctx *ctx, const char *dir, const char *prefix,
                                    const src_tree *t, long long mtime, const char *out_path,
                                    char diff_id[72], char digest[72], long long *size)
{
    hoist_status st = HOIST_OK;
    layer_sink *s = hoist_xcalloc(1, sizeof *s);
    struct archive *a = archive_write_new();
    char *iobuf = hoist_xmalloc(IO_CHUNK);
    int z_ok = 0, opened = 0;
    s->tar_md = EVP_MD_CTX_new();
    s->gz_md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s->tar_md, EVP_sha256(), NULL);
    EVP_DigestInit_ex(s->gz_md, EVP_sha256(), NULL);
    /* windowBits 16+15: a gzip wrapper whose header zlib writes with mtime 0,
       no name and a fixed OS byte, so the bytes depend only on the input. */
    if (deflateInit2(&s->z, GZIP_LEVEL, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "zlib initialisation failed");
        goto cleanup;
    }
    z_ok = 1;
    if (!(s->out = fopen(out_path, "wb"))) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", out_path,
                            hoist_strerror(errno));
        goto cleanup;
    }
    /* pax_restricted: plain ustar headers unless a name or size needs pax. */
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_none(a);
    if (archive_write_open(a, s, NULL, sink_write, NULL) != ARCHIVE_OK) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "tar: %s", archive_error_string(a));
        goto cleanup;
    }
    opened = 1;
    /* The prefix's own directories first ("app/"), then the tree. */
    if (*prefix) {
        char *p = hoist_xstrdup(prefix);
        for (char *c = p;; c++) {
            if (*c == '/' || !*c) {
                char save = *c;
                *c = '\0';
                st = add_entry(ctx, a, dir, p, NULL, mtime, iobuf);
                *c = save;
                if (!save || st != HOIST_OK)
                    break;
            }
        }
        free(p);
    }
    for (size_t i = 0; i < t->n && st == HOIST_OK; i++) {
        char *name = *prefix ? hoist_xasprintf("%s/%s", prefix, t->v[i].rel)
                             : hoist_xstrdup(t->v[i].rel);
        st = add_entry(ctx, a, dir, name, &t->v[i], mtime, iobuf);
        free(name);
        if (st == HOIST_OK && hoist_ctx_cancelled(ctx))
            st = hoist_ctx_fail(ctx, HOIST_E_CANCELLED, "image build cancelled");
    }
    if (st != HOIST_OK)
        goto cleanup;
    opened = 0;
    if (archive_write_close(a) != ARCHIVE_OK || s->failed || sink_deflate(s, Z_FINISH) != 0 ||
        fflush(s->out) != 0) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "writing the layer %s failed: %s", out_path,
                            s->failed ? hoist_strerror(errno) : archive_error_string(a));
        goto cleanup;
    }
    unsigned char h[32];
    EVP_DigestFinal_ex(s->tar_md, h, NULL);
    hex32(h, diff_id);
    EVP_DigestFinal_ex(s->gz_md, h, NULL);
    hex32(h, digest);
    *size = s->size;
cleanup:
    if (opened)
        archive_write_close(a);
    archive_write_free(a);
    if (z_ok)
        deflateEnd(&s->z);
    if (s->out && fclose(s->out) != 0 && st == HOIST_OK)
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", out_path,
                            hoist_strerror(errno));
    EVP_MD_CTX_free(s->tar_md);
    EVP_MD_CTX_free(s->gz_md);
    free(s);
    free(iobuf);
    return st;
}

hoist_status hoist_layer_write(hoist_ctx *ctx, const char *dir, const char *prefix,
                               const hoist_ignore *ig, long long mtime, const char *out_path,
                               char diff_id[72], char digest[72], long long *size)
{
    src_tree t = {0};
    hoist_status st = walk(ctx, dir, "", ig, &t);
    if (st == HOIST_OK)
        st = layer_from_tree(ctx, dir, prefix, &t, mtime, out_path, diff_id, digest, size);
    tree_free(&t);
    return st;
}

/* ---- the cache: an OCI image layout ---- */

static hoist_status cache_init(hoist_ctx *ctx, const char *cache)
{
    char *blobs = hoist_xasprintf("%s/blobs/sha256", cache);
    char *apps = hoist_xasprintf("%s/apps", cache);
    char *layout = hoist_xasprintf("%s/oci-layout", cache);
    hoist_status st = HOIST_OK;
    static const char lj[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    if (hoist_mkdirs(blobs, 0755) != 0 || hoist_mkdirs(apps, 0755) != 0 ||
        (access(layout, F_OK) != 0 && write_atomic(layout, lj, sizeof lj - 1) != 0))
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot create the image cache %s: %s", cache,
                            hoist_strerror(errno));
    free(blobs);
    free(apps);
    free(layout);
    return st;
}

/* Run @fn on the JSON file @name of the cache under an exclusive lock, then
   write it back atomically when @fn returns 1. */
static hoist_status cache_update(hoist_ctx *ctx, const char *cache, const char *name,
                                 int (*fn)(json_t *doc, void *arg), void *arg)
{
    char *lockp = hoist_xasprintf("%s/lock", cache);
    char *path = hoist_xasprintf("%s/%s", cache, name);
    hoist_status st = HOIST_OK;
    int fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot lock %s: %s", lockp,
                            hoist_strerror(errno));
        goto cleanup;
    }
    json_t *doc = json_load_file(path, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    if (fn(doc, arg)) {
        char *s = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
        if (write_atomic(path, s, strlen(s)) != 0)
            st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", path,
                                hoist_strerror(errno));
        free(s);
    }
    json_decref(doc);
cleanup:
    if (fd >= 0)
        close(fd);
    free(lockp);
    free(path);
    return st;
}

typedef struct index_arg {
    const char *ref_name, *digest, *media_type;
    size_t size;
} index_arg;

static int index_put(json_t *doc, void *p)
{
    index_arg *a = p;
    json_object_set_new(doc, "schemaVersion", json_integer(2));
    json_object_set_new(doc, "mediaType", json_string(HOIST_MT_OCI_INDEX));
    json_t *m = json_object_get(doc, "manifests");
    if (!json_is_array(m)) {
        m = json_array();
        json_object_set_new(doc, "manifests", m);
    }
    size_t i;
    json_t *v;
    json_array_foreach(m, i, v) {
        const char *rn = json_string_value(
            json_object_get(json_object_get(v, "annotations"), "org.opencontainers.image.ref.name"));
        if (rn && !strcmp(rn, a->ref_name)) {
            json_array_remove(m, i);
            break;
        }
    }
    json_array_append_new(m, json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", a->media_type,
                                       "digest", a->digest, "size", (json_int_t)a->size,
                                       "annotations", "org.opencontainers.image.ref.name",
                                       a->ref_name));
    return 1;
}

/* ---- platforms and base images ---- */

static const char *host_arch(void)
{
    struct utsname u;
    static __thread char arch[sizeof u.machine]; /* per thread: builds run in parallel */
    if (uname(&u) != 0)
        return "amd64";
    const char *m = u.machine;
    snprintf(arch, sizeof arch, "%s",
             !strcmp(m, "x86_64") ? "amd64" : !strcmp(m, "aarch64") ? "arm64"
             : !strncmp(m, "armv7", 5) ? "arm" : !strcmp(m, "i686") ? "386" : m);
    return arch;
}

/* Docker layer media types are byte-identical to their OCI equivalents. */
static const char *oci_layer_type(const char *mt)
{
    if (!mt || !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar.gzip"))
        return HOIST_MT_OCI_LAYER_GZIP;
    if (!strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar"))
        return "application/vnd.oci.image.layer.v1.tar";
    return mt;
}

typedef struct base_image {
    json_t *config;   /* the base's config JSON (new) or NULL for scratch */
    json_t *layers;   /* descriptors (new array) */
    char *resolved;   /* host/repo@digest */
    char *digest;     /* manifest digest */
    char *host, *repository;
} base_image;

static void base_free(base_image *b)
{
    json_decref(b->config);
    json_decref(b->layers);
    free(b->resolved);
    free(b->digest);
    free(b->host);
    free(b->repository);
}

static hoist_registry *registry_for(const char *host, const hoist_registry_credentials *dest)
{
    char *dh = NULL;
    if (dest && dest->endpoint) {
        const char *s = strstr(dest->endpoint, "://");
        s = s ? s + 3 : dest->endpoint;
        dh = hoist_xstrndup(s, strcspn(s, "/"));
    }
    hoist_registry *r;
    if (dh && !strcmp(dh, host)) {
        r = hoist_registry_new(dest->endpoint, dest->username, dest->password);
    } else {
        char *u = NULL, *p = NULL;
        hoist_docker_config_auth(host, &u, &p);
        r = hoist_registry_new(host, u, p);
        free(u);
        free(p);
    }
    free(dh);
    return r;
}

/* Pull @ref's manifest, config and layers into the cache. */
static hoist_status base_pull(hoist_ctx *ctx, const char *cache, const char *app,
                              const char *refstr, const hoist_image_opts *o, base_image *b)
{
    hoist_image_ref ref;
    char *err = NULL, *body = NULL, *mt = NULL, *dg = NULL, *cfgbody = NULL;
    size_t len = 0, cfglen = 0;
    json_t *man = NULL;
    hoist_registry *reg = NULL;
    hoist_status st = HOIST_OK;
    if (hoist_image_ref_parse(refstr, &ref, &err) != 0) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "app %s: build.base: %s", app, err);
        free(err);
        return st;
    }
    reg = registry_for(ref.registry, o->registry);
    hoist_ctx sub;
    hoist_ctx_init(&sub, NULL, NULL);
    sub.cancel = ctx->cancel;
    sub.deadline_ms = ctx->deadline_ms;
    st = hoist_registry_get_manifest(reg, &sub, ref.repository, hoist_image_ref_reference(&ref),
                                     &body, &len, &mt, &dg);
    if (st == HOIST_OK && (!strcmp(mt, HOIST_MT_OCI_INDEX) || !strcmp(mt, HOIST_MT_DOCKER_LIST))) {
        /* A multi-platform image: take linux on this machine's architecture. */
        json_t *idx = json_loadb(body, len, 0, NULL);
        const char *arch = host_arch(), *pick = NULL;
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(idx, "manifests"), i, m) {
            json_t *pl = json_object_get(m, "platform");
            const char *os = json_string_value(json_object_get(pl, "os"));
            const char *ar = json_string_value(json_object_get(pl, "architecture"));
            if (os && ar && !strcmp(os, "linux") && !strcmp(ar, arch)) {
                pick = json_string_value(json_object_get(m, "digest"));
                break;
            }
        }
        char *pickd = hoist_xstrdup(pick);
        json_decref(idx);
        free(body);
        free(mt);
        free(dg);
        body = mt = dg = NULL;
        if (!pickd)
            st = hoist_ctx_fail(&sub, HOIST_E_NOTFOUND, "it has no linux/%s image", arch);
        else
            st = hoist_registry_get_manifest(reg, &sub, ref.repository, pickd, &body, &len, &mt,
                                             &dg);
        free(pickd);
    }
    if (st == HOIST_OK) {
        store_blob(&sub, cache, dg, body, len);
        man = json_loadb(body, len, 0, NULL);
        json_t *cd = json_object_get(man, "config");
        const char *cdig = json_string_value(json_object_get(cd, "digest"));
        json_int_t csize = json_integer_value(json_object_get(cd, "size"));
        if (!cdig || !json_is_array(json_object_get(man, "layers"))) {
            st = hoist_ctx_fail(&sub, HOIST_E_INVALID, "its manifest (%s) is not an image "
                                "manifest (schema 1 images are not supported)", mt);
        } else {
            char *cp = blob_path(cache, cdig);
            if (access(cp, F_OK) != 0)
                st = hoist_registry_fetch_blob(reg, &sub, ref.repository, cdig, csize, cp);
            if (st == HOIST_OK && !(cfgbody = read_file(cp, &cfglen)))
                st = hoist_ctx_fail(&sub, HOIST_E_INTERNAL, "cannot read %s", cp);
            free(cp);
        }
    }
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(man, "layers"), i, l) {
        if (st != HOIST_OK)
            break;
        const char *ld = json_string_value(json_object_get(l, "digest"));
        char *lp = ld ? blob_path(cache, ld) : NULL;
        if (!ld)
            st = hoist_ctx_fail(&sub, HOIST_E_INVALID, "a layer has no digest");
        else if (access(lp, F_OK) != 0)
            st = hoist_registry_fetch_blob(reg, &sub, ref.repository, ld,
                                           json_integer_value(json_object_get(l, "size")), lp);
        free(lp);
    }
    if (st != HOIST_OK) {
        hoist_ctx_fail(ctx, st, "app %s: cannot use base image %s: %s", app, refstr,
                       hoist_ctx_error(&sub) ? hoist_ctx_error(&sub) : "failed");
        goto cleanup;
    }
    b->config = json_loadb(cfgbody, cfglen, 0, NULL);
    if (!json_is_object(b->config)) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "app %s: base image %s: its config is not "
                            "JSON", app, refstr);
        goto cleanup;
    }
    b->layers = json_array();
    json_array_foreach(json_object_get(man, "layers"), i, l) {
        json_t *c = json_deep_copy(l);
        json_object_set_new(c, "mediaType",
                            json_string(oci_layer_type(json_string_value(
                                json_object_get(l, "mediaType")))));
        json_array_append_new(b->layers, c);
    }
    b->digest = hoist_xstrdup(dg);
    b->resolved = hoist_xasprintf("%s/%s@%s", ref.registry, ref.repository, dg);
    b->host = hoist_xstrdup(ref.registry);
    b->repository = hoist_xstrdup(ref.repository);
cleanup:
    hoist_ctx_cleanup(&sub);
    hoist_registry_free(reg);
    hoist_image_ref_free(&ref);
    json_decref(man);
    free(body);
    free(mt);
    free(dg);
    free(cfgbody);
    return st;
}

/* ---- image config ---- */

/* Set NAME=value in the Env array @env (replacing an existing NAME). */
static void env_set(json_t *env, const char *name, const char *value)
{
    size_t nl = strlen(name), i;
    json_t *v;
    char *kv = hoist_xasprintf("%s=%s", name, value);
    json_array_foreach(env, i, v) {
        const char *s = json_string_value(v);
        if (s && !strncmp(s, name, nl) && s[nl] == '=') {
            json_array_set_new(env, i, json_string(kv));
            free(kv);
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
    free(kv);
}

/* @diff_ids: the layers hoist adds, in order, NULL-terminated; @what: one
   history line for each. */
static json_t *image_config(const hoist_config *cfg, const hoist_app_cfg *app,
                            const base_image *b, const char *workdir,
                            const char *const *diff_ids, const char *const *what,
                            long long created)
{
    json_t *c = b->config ? json_deep_copy(b->config)
                          : json_pack("{s:s, s:s, s:{}, s:{s:s, s:[]}}", "architecture",
                                      host_arch(), "os", "linux", "config", "rootfs", "type",
                                      "layers", "diff_ids");
    char *when = hoist_utc_iso(created);
    json_object_set_new(c, "created", json_string(when));
    json_t *cc = json_object_get(c, "config");
    if (!json_is_object(cc)) {
        cc = json_object();
        json_object_set_new(c, "config", cc);
    }
    json_object_set_new(cc, "WorkingDir", json_string(workdir));
    /* How the app starts, as on every runtime; without one the base image's
       Cmd/Entrypoint stay. */
    json_t *cmd = hoist_app_start_command(app);
    if (cmd) {
        json_object_set_new(cc, "Cmd", cmd);
        /* A base Entrypoint (node's is docker-entrypoint.sh, which execs
           its arguments) still wraps it, as `docker run IMAGE CMD` would. */
    }
    json_t *env = json_object_get(cc, "Env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(cc, "Env", env);
    }
    const char *k;
    json_t *v;
    json_object_foreach(app->env, k, v) {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        /* A value holding a registered secret (expanded from ${VAR}) must not
           be baked into an image anyone with pull access can read: it is
           injected at deploy time instead. */
        char *red = hoist_redact(s);
        if (!strcmp(red, s))
            env_set(env, k, s);
        free(red);
    }
    if (app->port > 0) {
        char port[16], exposed[24];
        snprintf(port, sizeof port, "%d", app->port);
        snprintf(exposed, sizeof exposed, "%d/tcp", app->port);
        env_set(env, "PORT", port);
        json_t *ep = json_object_get(cc, "ExposedPorts");
        if (!json_is_object(ep)) {
            ep = json_object();
            json_object_set_new(cc, "ExposedPorts", ep);
        }
        json_object_set_new(ep, exposed, json_object());
    }
    json_t *labels = json_object_get(cc, "Labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(cc, "Labels", labels);
    }
    json_object_set_new(labels, "dev.hoist.project", json_string(cfg->project));
    json_object_set_new(labels, "dev.hoist.app", json_string(app->name));
    json_t *rootfs = json_object_get(c, "rootfs");
    if (!json_is_object(rootfs)) {
        rootfs = json_pack("{s:s, s:[]}", "type", "layers", "diff_ids");
        json_object_set_new(c, "rootfs", rootfs);
    }
    json_t *ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_array(ids)) {
        ids = json_array();
        json_object_set_new(rootfs, "diff_ids", ids);
    }
    json_t *hist = json_object_get(c, "history");
    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(c, "history", hist);
    }
    for (size_t i = 0; diff_ids[i]; i++) {
        json_array_append_new(ids, json_string(diff_ids[i]));
        char *by = hoist_xasprintf("hoist build (native): %s %s", what[i], workdir);
        json_array_append_new(hist, json_pack("{s:s, s:s}", "created", when, "created_by", by));
        free(by);
    }
    free(when);
    return c;
}

/* ---- external builders ---- */

/* Run @argv with stdout sent to stderr (stdout is for results); exit code or -1. */
static int run_argv(char *const argv[], int quiet)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = quiet ? open("/dev/null", O_WRONLY) : 2;
        dup2(fd, 1);
        if (quiet)
            dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* 1 if @tool can build now: docker and podman must answer `info` (a
   binary without a running engine is not enough); buildah needs no daemon. */
static int engine_usable(const char *tool)
{
    char *argv[] = {(char *)tool, (char *)(strcmp(tool, "buildah") ? "info" : "version"), NULL};
    return run_argv(argv, 1) == 0;
}

/* Import the image of an OCI layout @dir (its first manifest) into the cache. */
static hoist_status import_layout(hoist_ctx *ctx, const char *cache, const char *dir,
                                  char **digest, char **media_type)
{
    char *ip = hoist_xasprintf("%s/index.json", dir);
    json_t *idx = json_load_file(ip, 0, NULL);
    json_t *m = json_array_get(json_object_get(idx, "manifests"), 0);
    const char *d = json_string_value(json_object_get(m, "digest"));
    hoist_status st = HOIST_OK;
    json_t *man = NULL;
    if (!d) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "%s has no image", ip);
        goto cleanup;
    }
    char *mp = blob_path(dir, d);
    size_t len;
    char *body = read_file(mp, &len);
    free(mp);
    man = body ? json_loadb(body, len, 0, NULL) : NULL;
    char *check = body ? digest_of(body, len) : NULL;
    if (!man || strcmp(check, d) != 0)
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "%s: manifest %s is missing or corrupt", dir, d);
    else
        st = store_blob(ctx, cache, d, body, len);
    free(check);
    free(body);
    json_t *descs = json_array();
    json_array_append(descs, json_object_get(man, "config"));
    json_array_extend(descs, json_object_get(man, "layers"));
    size_t i;
    json_t *v;
    json_array_foreach(descs, i, v) {
        const char *bd = json_string_value(json_object_get(v, "digest"));
        if (st != HOIST_OK || !bd)
            break;
        char *from = blob_path(dir, bd), *to = blob_path(cache, bd);
        if (access(to, F_OK) != 0 && link(from, to) != 0) {
            /* Different file systems: copy through memory-bounded chunks. */
            FILE *in = fopen(from, "rb");
            char *tmp = hoist_tmp_name(to, "tmp");
            FILE *out = in ? fopen(tmp, "wb") : NULL;
            char buf[IO_CHUNK];
            size_t n;
            int ok = in && out;
            while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
                ok = fwrite(buf, 1, n, out) == n;
            if (in)
                fclose(in);
            if (out && fclose(out) != 0)
                ok = 0;
            if (!ok || rename(tmp, to) != 0) {
                unlink(tmp);
                st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot copy blob %s: %s", from,
                                    hoist_strerror(errno));
            }
            free(tmp);
        }
        free(from);
        free(to);
    }
    json_decref(descs);
    if (st == HOIST_OK) {
        *digest = hoist_xstrdup(d);
        const char *mt = json_string_value(json_object_get(man, "mediaType"));
        *media_type = hoist_xstrdup(mt ? mt : HOIST_MT_OCI_MANIFEST);
    }
cleanup:
    json_decref(man);
    json_decref(idx);
    free(ip);
    return st;
}

static hoist_status build_external(hoist_ctx *ctx, const hoist_app_cfg *app, const char *tool,
                                   const char *dockerfile, const char *cache, hoist_image *out)
{
    char *tmpdir = hoist_xasprintf("%s/tmp-%s-XXXXXX", cache, app->name);
    char *tag = hoist_xasprintf("hoist-build/%s:latest", app->name);
    hoist_status st = HOIST_OK;
    if (!mkdtemp(tmpdir)) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot create %s: %s", tmpdir,
                            hoist_strerror(errno));
        goto cleanup;
    }
    char *layout = hoist_xasprintf("oci:%s/layout:latest", tmpdir);
    char *archive = hoist_xasprintf("%s/image.tar", tmpdir);
    int rc;
    if (!strcmp(tool, "docker")) {
        char *b[] = {"docker", "build", "-q", "-f", (char *)dockerfile, "-t", tag, app->path, NULL};
        char *s[] = {"docker", "save", "-o", archive, tag, NULL};
        rc = run_argv(b, 0);
        if (rc == 0)
            rc = run_argv(s, 0);
        if (rc == 0) { /* docker 25+ saves an OCI layout inside the archive */
            char *dir = hoist_xasprintf("%s/layout", tmpdir);
            char *x[] = {"tar", "-xf", archive, "-C", dir, NULL};
            rc = hoist_mkdirs(dir, 0755) == 0 ? run_argv(x, 0) : -1;
            free(dir);
        }
    } else {
        char *b[] = {(char *)tool, strcmp(tool, "buildah") ? "build" : "bud", "-q", "-f",
                     (char *)dockerfile, "-t", tag, app->path, NULL};
        char *p[] = {(char *)tool, "push", tag, layout, NULL};
        rc = run_argv(b, 0);
        if (rc == 0)
            rc = run_argv(p, 0);
    }
    free(layout);
    free(archive);
    if (rc != 0) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "app %s: `%s build` of %s failed (exit %d); "
                            "its output is above", app->name, tool, dockerfile, rc);
        goto cleanup;
    }
    char *dir = hoist_xasprintf("%s/layout", tmpdir);
    st = import_layout(ctx, cache, dir, &out->manifest_digest, &out->media_type);
    free(dir);
cleanup:
    if (access(tmpdir, F_OK) == 0) {
        char *rm[] = {"rm", "-rf", tmpdir, NULL};
        run_argv(rm, 1);
    }
    free(tmpdir);
    free(tag);
    return st;
}

/* ---- build ---- */

static char *cache_dir_for(const hoist_config *cfg, const hoist_image_opts *o)
{
    if (o && o->cache_dir)
        return hoist_xstrdup(o->cache_dir);
    return hoist_xasprintf("%s/.hoist/images", cfg->dir ? cfg->dir : ".");
}

static const char *choose_builder(const hoist_app_cfg *app, const char *dockerfile)
{
    const char *b = json_string_value(json_object_get(app->build, "builder"));
    if (b && strcmp(b, "auto") != 0)
        return b;
    if (access(dockerfile, R_OK) != 0)
        return "native";
    static const char *const tools[] = {"docker", "podman", "buildah"};
    for (size_t i = 0; i < 3; i++)
        if (engine_usable(tools[i]))
            return tools[i];
    return "native";
}

/* ---- the build step ---- */

/* Copy @t (entries of @root, parents before children) into @dst. */
static hoist_status copy_tree(hoist_ctx *ctx, const char *root, const src_tree *t,
                              const char *dst)
{
    hoist_status st = HOIST_OK;
    char *buf = hoist_xmalloc(IO_CHUNK);
    for (size_t i = 0; i < t->n && st == HOIST_OK; i++) {
        const src_entry *e = &t->v[i];
        char *from = hoist_xasprintf("%s/%s", root, e->rel);
        char *to = hoist_xasprintf("%s/%s", dst, e->rel);
        mode_t mode = e->st.st_mode & 07777;
        int ok = 1;
        if (S_ISDIR(e->st.st_mode)) {
            ok = mkdir(to, 0700) == 0 && chmod(to, mode | 0700) == 0;
        } else if (e->link) {
            ok = symlink(e->link, to) == 0;
        } else {
            int in = open(from, O_RDONLY | O_CLOEXEC);
            int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            ssize_t n;
            ok = out >= 0;
            while (ok && (n = read(in, buf, IO_CHUNK)) != 0)
                ok = n > 0 && write(out, buf, (size_t)n) == n;
            if (out >= 0 && (fchmod(out, mode) != 0 || close(out) != 0))
                ok = 0;
            if (in >= 0)
                close(in);
        }
        if (!ok)
            st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot copy %s to %s: %s", from, to,
                                hoist_strerror(errno));
        free(from);
        free(to);
    }
    free(buf);
    return st;
}

/* The last @max lines of @text (a pointer into it). */
static const char *last_lines(const char *text, int max)
{
    const char *p = text + strlen(text);
    while (p > text && p[-1] == '\n')
        p--;
    for (int n = 0; p > text; p--)
        if (p[-1] == '\n' && ++n == max)
            break;
    return p;
}

static char *argv_text(json_t *argv)
{
    hoist_buf b = {0};
    size_t i;
    json_t *v;
    json_array_foreach(argv, i, v)
        hoist_buf_printf(&b, "%s%s", i ? " " : "", json_string_value(v));
    return hoist_buf_steal(&b);
}

/* Run @argv in @dir with its output in @log; its exit status,
   256+signal, or -1 when it could not be started or was cancelled. */
static int run_step(hoist_ctx *ctx, json_t *argv, const char *dir, int log)
{
    size_t n = json_array_size(argv);
    char **v = hoist_xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (char *)json_string_value(json_array_get(argv, i));
    /* The environment the local provider's build step gets: enough for npm,
       never the cloud credentials hoist itself was given. */
    static const char *const keep[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL",
                                       "TZ", "TMPDIR", "npm_config_cache", "NPM_CONFIG_CACHE",
                                       "npm_config_registry", NULL};
    char *envp[sizeof keep / sizeof *keep + 1];
    size_t ne = 0;
    for (const char *const *k = keep; *k; k++)
        if (getenv(*k))
            envp[ne++] = hoist_xasprintf("%s=%s", *k, getenv(*k));
    if (!getenv("PATH"))
        envp[ne++] = hoist_xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
    envp[ne] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        setpgid(0, 0); /* one group: cancelling stops npm and its children */
        if (null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
            chdir(dir) != 0)
            _exit(126);
        execvpe(v[0], v, envp);
        dprintf(2, "hoist: cannot run %s: %s\n", v[0], hoist_strerror(errno));
        _exit(127);
    }
    free(v);
    for (size_t i = 0; i < ne; i++)
        free(envp[i]);
    if (pid < 0)
        return -1;
    int status = 0, cancelled = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (!cancelled && hoist_ctx_cancelled(ctx)) {
            kill(-pid, SIGTERM);
            cancelled = 1;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (cancelled)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
}

/*
 * Run @app's build step @step on this host in a fresh copy (@t, the
 * filtered source tree) under @cache; the copy with the step's results is
 * left in *@built (owned; the caller removes it).  Output goes to
 * <project>/.hoist/logs/<app>-image-build.log; a failure names the command,
 * its exit status and the output's last lines.
 */
static hoist_status build_step(hoist_ctx *ctx, const hoist_config *cfg, const hoist_app_cfg *app,
                               json_t *step, const src_tree *t, const char *cache, char **built)
{
    char *logdir = hoist_xasprintf("%s/.hoist/logs", cfg->dir ? cfg->dir : ".");
    char *logp = hoist_xasprintf("%s/%s-image-build.log", logdir, app->name);
    char *dir = hoist_xasprintf("%s/tmp-build-%s-XXXXXX", cache, app->name);
    char *shown = argv_text(step);
    hoist_status st = HOIST_OK;
    int fd = -1;
    if (hoist_mkdirs(logdir, 0700) != 0 ||
        (fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "app %s: cannot write %s: %s", app->name,
                            logp, hoist_strerror(errno));
        goto cleanup;
    }
    if (!mkdtemp(dir)) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "app %s: cannot create %s: %s", app->name, dir,
                            hoist_strerror(errno));
        free(dir);
        dir = NULL;
        goto cleanup;
    }
    if ((st = copy_tree(ctx, app->path, t, dir)) != HOIST_OK)
        goto cleanup;
    hoist_log(HOIST_LOG_INFO_, app->name, "build step: %s (output in %s)", shown, logp);
    int rc = run_step(ctx, step, dir, fd);
    if (rc != 0) {
        char *text = read_file(logp, NULL);
        st = hoist_ctx_fail(ctx, hoist_ctx_cancelled(ctx) ? HOIST_E_CANCELLED : HOIST_E_INVALID,
                            "app %s: build step `%s` failed (%s %d) in a copy of %s; last "
                            "lines of its output:\n%s\n(full output: %s)",
                            app->name, shown, rc >= 256 ? "killed by signal" : "exit status",
                            rc >= 256 ? rc - 256 : rc, app->path,
                            text ? last_lines(text, 10) : "", logp);
        free(text);
    }
cleanup:
    if (fd >= 0)
        close(fd);
    if (st == HOIST_OK) {
        *built = dir;
        dir = NULL;
    } else if (dir) {
        char *rm[] = {"rm", "-rf", dir, NULL};
        run_argv(rm, 1);
    }
    free(dir);
    free(shown);
    free(logp);
    free(logdir);
    return st;
}

/* One layer in the cache. */
typedef struct layer_rec {
    char digest[72], diff_id[72];
    long long size;
} layer_rec;

/* Tar @t (files under @root) below @prefix into the cache as a blob. */
static hoist_status store_layer(hoist_ctx *ctx, const char *cache, const char *tag,
                                const char *root, const char *prefix, const src_tree *t,
                                long long epoch, layer_rec *l)
{
    /* Unique per call: images build in parallel over one cache, and two apps'
       dependency layers share a tag (and may share a digest). */
    static atomic_uint seq;
    char *tmp = hoist_xasprintf("%s/blobs/sha256/layer-%s.tmp.%ld.%u", cache, tag, (long)getpid(),
                                atomic_fetch_add(&seq, 1u));
    hoist_status st =
        layer_from_tree(ctx, root, prefix, t, epoch, tmp, l->diff_id, l->digest, &l->size);
    if (st == HOIST_OK) {
        char *final = blob_path(cache, l->digest);
        if (rename(tmp, final) != 0)
            st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot store %s: %s", final,
                                hoist_strerror(errno));
        free(final);
    }
    unlink(tmp);
    free(tmp);
    return st;
}

/* @l from a record {layer, diff_id, layer_size} whose blob is in the cache: 1, else 0. */
static int layer_recorded(const char *cache, json_t *r, layer_rec *l)
{
    const char *d = json_string_value(json_object_get(r, "layer"));
    const char *i = json_string_value(json_object_get(r, "diff_id"));
    if (!d || !i || strlen(d) != 71 || strlen(i) != 71)
        return 0;
    char *p = blob_path(cache, d);
    int ok = access(p, R_OK) == 0;
    free(p);
    if (ok) {
        snprintf(l->digest, sizeof l->digest, "%s", d);
        snprintf(l->diff_id, sizeof l->diff_id, "%s", i);
        l->size = json_integer_value(json_object_get(r, "layer_size"));
    }
    return ok;
}

static json_t *layer_record(const layer_rec *l)
{
    return json_pack("{s:s, s:s, s:I}", "layer", l->digest, "diff_id", l->diff_id, "layer_size",
                     (json_int_t)l->size);
}

/* Move the entries of @t under a top-level node_modules/ into @deps (order kept). */
static void split_deps(src_tree *t, src_tree *deps)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        const src_entry *e = &t->v[i];
        if (strcmp(e->rel, "node_modules") == 0 || strncmp(e->rel, "node_modules/", 13) == 0) {
            if (deps->n == deps->cap)
                deps->v = hoist_xrealloc(deps->v, (deps->cap = deps->cap ? 2 * deps->cap : 64) *
                                                      sizeof *deps->v);
            deps->v[deps->n++] = *e;
        } else {
            t->v[k++] = *e;
        }
    }
    t->n = k;
}

/*
 * The dependency layer's key (new string): the lockfile's bytes and the step
 * that installs from it, so a source change reuses the layer as it is.  NULL
 * without a lockfile: the layer is then made again (same bytes, same digest).
 */
static char *deps_key(const hoist_app_cfg *app, json_t *step, const char *workdir,
                      long long epoch)
{
    static const char *const locks[] = {"package-lock.json", "npm-shrinkwrap.json", "yarn.lock",
                                        "pnpm-lock.yaml", NULL};
    for (const char *const *l = locks; *l; l++) {
        char *path = hoist_xasprintf("%s/%s", app->path, *l);
        size_t len = 0;
        char *text = read_file(path, &len);
        free(path);
        if (!text)
            continue;
        char *sj = json_dumps(step, JSON_COMPACT);
        hoist_buf b = {0};
        hoist_buf_printf(&b, "deps-v1\n%s\n%lld\n%s\n%s\n", workdir, epoch, sj, *l);
        hoist_buf_add(&b, text, len);
        char hex[65];
        hoist_sha256_hex(b.s, b.len, hex);
        hoist_buf_free(&b);
        free(sj);
        free(text);
        return hoist_xstrdup(hex);
    }
    return NULL;
}

typedef struct app_arg {
    const char *app;
    json_t *rec;
} app_arg;

static hoist_status native_build(hoist_ctx *ctx, const hoist_config *cfg,
                                 const hoist_app_cfg *app, const hoist_image_opts *o,
                                 const char *cache, hoist_image *out)
{
    base_image b = {0};
    hoist_ignore ig = {0};
    src_tree t = {0};
    hoist_status st = HOIST_OK;
    json_t *rec = NULL, *conf = NULL, *man = NULL;
    char *fp = NULL, *recp = NULL, *confs = NULL, *mans = NULL;
    char *confd = NULL, *inputs = NULL, *built = NULL, *dkey = NULL;
    json_t *step = NULL;
    const char *workdir = o && o->workdir ? o->workdir : "/app";
    long long epoch = source_date_epoch();
    layer_rec al = {0}, dl = {0}; /* the app's layer; its dependencies' (node_modules) */
    int has_deps = 0;
    src_tree deps = {0};

    const char *base = json_string_value(json_object_get(app->build, "base"));
    if (base && strcmp(base, "scratch") != 0 &&
        (st = base_pull(ctx, cache, app->name, base, o, &b)) != HOIST_OK)
        goto cleanup;

    hoist_ignore_load(&ig, app->path, json_object_get(app->build, "ignore"));
    step = hoist_app_build_step(app);
    if (step) {
        /* The step makes these itself; stale ones from the host must not
           leak in.  Added last, so no '!' pattern re-includes them. */
        hoist_ignore_add(&ig, "**/node_modules");
        hoist_ignore_add(&ig, "**/.git");
    }
    if ((st = walk(ctx, app->path, "", &ig, &t)) != HOIST_OK)
        goto cleanup;
    hoist_buf extra = {0};
    hoist_buf_printf(&extra, "v1 %s %lld", workdir, epoch);
    for (size_t i = 0; i < ig.n; i++)
        hoist_buf_printf(&extra, "\n%s", ig.pats[i]);
    if (step) {
        /* The cache key: the source (above) and the step that builds it. */
        char *sj = json_dumps(step, JSON_COMPACT);
        hoist_buf_printf(&extra, "\nbuild-step %s", sj);
        free(sj);
    }
    fp = tree_fingerprint(&t, extra.s);
    hoist_buf_free(&extra);

    /* The layers: reused when the tree's fingerprint is unchanged. */
    recp = hoist_xasprintf("%s/apps/%s.json", cache, app->name);
    rec = json_load_file(recp, 0, NULL);
    const char *rfp = json_string_value(json_object_get(rec, "fingerprint"));
    json_t *rdeps = json_object_get(rec, "deps");
    if (!(o && o->force) && rfp && !strcmp(rfp, fp) && layer_recorded(cache, rec, &al) &&
        (!rdeps || (has_deps = layer_recorded(cache, rdeps, &dl))))
        out->cached = 1;
    if (!out->cached) {
        has_deps = 0;
        const char *root = app->path;
        if (step) {
            /* Layer the step's result: the copy as it left it, all of it
               (node_modules included; the ignore patterns applied to the copy). */
            hoist_ignore none = {0};
            if ((st = build_step(ctx, cfg, app, step, &t, cache, &built)) != HOIST_OK)
                goto cleanup;
            tree_free(&t);
            if ((st = walk(ctx, built, "", &none, &t)) != HOIST_OK)
                goto cleanup;
            root = built;
        }
        /* Dependencies get a layer of their own, below the source's: a
           one-line change then uploads only the small layer. */
        split_deps(&t, &deps);
        if (deps.n) {
            has_deps = 1;
            dkey = step ? deps_key(app, step, workdir, epoch) : NULL;
            const char *rkey = json_string_value(json_object_get(rdeps, "key"));
            if (dkey && rkey && !strcmp(dkey, rkey) && !(o && o->force) &&
                layer_recorded(cache, rdeps, &dl))
                hoist_log(HOIST_LOG_DEBUG_, app->name, "dependency layer unchanged (lockfile)");
            else if ((st = store_layer(ctx, cache, "deps", root, workdir + 1, &deps, epoch,
                                       &dl)) != HOIST_OK)
                goto cleanup;
        }
        if ((st = store_layer(ctx, cache, app->name, root, workdir + 1, &t, epoch, &al)) !=
            HOIST_OK)
            goto cleanup;
        json_t *nrec = layer_record(&al);
        json_object_set_new(nrec, "fingerprint", json_string(fp));
        if (has_deps) {
            json_t *d = layer_record(&dl);
            if (dkey)
                json_object_set_new(d, "key", json_string(dkey));
            json_object_set_new(nrec, "deps", d);
        }
        char *s = json_dumps(nrec, JSON_INDENT(1) | JSON_SORT_KEYS);
        if (write_atomic(recp, s, strlen(s)) != 0)
            hoist_log(HOIST_LOG_WARN_, app->name, "cannot record the layer in %s: %s", recp,
                      hoist_strerror(errno));
        free(s);
        json_decref(nrec);
    }

    /* Config and manifest: cheap, always regenerated, deterministic. */
    char *copy = hoist_xasprintf("COPY %s", app->name);
    const char *ids[3] = {has_deps ? dl.diff_id : al.diff_id, has_deps ? al.diff_id : NULL, NULL};
    const char *what[3] = {has_deps ? "dependencies (node_modules)" : copy, copy, NULL};
    conf = image_config(cfg, app, &b, workdir, ids, what, epoch);
    free(copy);
    confs = json_dumps(conf, JSON_COMPACT | JSON_SORT_KEYS);
    confd = digest_of(confs, strlen(confs));
    if ((st = store_blob(ctx, cache, confd, confs, strlen(confs))) != HOIST_OK)
        goto cleanup;
    json_t *layers = b.layers ? json_deep_copy(b.layers) : json_array();
    for (int k = has_deps ? 0 : 1; k < 2; k++) {
        const layer_rec *l = k ? &al : &dl;
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType",
                                                HOIST_MT_OCI_LAYER_GZIP, "digest", l->digest,
                                                "size", (json_int_t)l->size));
    }
    man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                    HOIST_MT_OCI_MANIFEST, "config", "mediaType", HOIST_MT_OCI_CONFIG, "digest",
                    confd, "size", (json_int_t)strlen(confs), "layers", layers);
    mans = json_dumps(man, JSON_COMPACT | JSON_SORT_KEYS);
    out->manifest_digest = digest_of(mans, strlen(mans));
    out->media_type = hoist_xstrdup(HOIST_MT_OCI_MANIFEST);
    if ((st = store_blob(ctx, cache, out->manifest_digest, mans, strlen(mans))) != HOIST_OK)
        goto cleanup;
    if (b.resolved) {
        out->base = hoist_xstrdup(b.resolved);
        out->base_host = hoist_xstrdup(b.host);
        out->base_repository = hoist_xstrdup(b.repository);
    }
cleanup:
    tree_free(&deps);
    free(dkey);
    if (built) {
        char *rm[] = {"rm", "-rf", built, NULL};
        run_argv(rm, 1);
    }
    free(built);
    json_decref(step);
    free(inputs);
    free(confs);
    free(confd);
    free(mans);
    free(fp);
    free(recp);
    json_decref(rec);
    json_decref(conf);
    json_decref(man);
    tree_free(&t);
    hoist_ignore_free(&ig);
    base_free(&b);
    return st;
}

hoist_status hoist_image_build(hoist_ctx *ctx, const hoist_config *cfg, const hoist_app_cfg *app,
                               const hoist_image_opts *o, hoist_image *out)
{
    memset(out, 0, sizeof *out);
    out->app = hoist_xstrdup(app->name);
    if (app->image) {
        out->builder = hoist_xstrdup("prebuilt");
        out->prebuilt = hoist_xstrdup(app->image);
        return HOIST_OK;
    }
    hoist_status st;
    char *cache = cache_dir_for(cfg, o);
    const char *df = json_string_value(json_object_get(app->build, "dockerfile"));
    char *dockerfile = df ? (df[0] == '/' ? hoist_xstrdup(df)
                                          : hoist_xasprintf("%s/%s", app->path, df))
                          : hoist_xasprintf("%s/Dockerfile", app->path);
    out->cache_dir = hoist_xstrdup(cache);
    if ((st = cache_init(ctx, cache)) != HOIST_OK)
        goto cleanup;
    const char *builder = choose_builder(app, dockerfile);
    out->builder = hoist_xstrdup(builder);
    if (strcmp(builder, "native") != 0) {
        if (access(dockerfile, R_OK) != 0) {
            st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "app %s: builder %s needs a Dockerfile; "
                                "%s does not exist (set build.dockerfile, or builder: native)",
                                app->name, builder, dockerfile);
            goto cleanup;
        }
        if (!engine_usable(builder)) {
            st = hoist_ctx_fail(ctx, HOIST_E_INVALID,
                                "app %s: builder %s is not usable: `%s %s` failed (is the "
                                "engine installed and running?); use builder: native to build "
                                "without a daemon", app->name, builder, builder,
                                strcmp(builder, "buildah") ? "info" : "version");
            goto cleanup;
        }
        st = build_external(ctx, app, builder, dockerfile, cache, out);
    } else {
        st = native_build(ctx, cfg, app, o, cache, out);
    }
    if (st != HOIST_OK)
        goto cleanup;
    /* The tag names the inputs: the image's digest is a function of the
       base digest, the source tree and the settings, and so is this. */
    char *inputs = hoist_xasprintf("hoist-image-v1\n%s\n%s\n%s", out->manifest_digest,
                                   out->base ? out->base : "scratch", out->builder);
    char hex[65];
    hoist_sha256_hex(inputs, strlen(inputs), hex);
    free(inputs);
    out->tag = hoist_xasprintf("h%.24s", hex);
    char *refname = hoist_xasprintf("%s-%s", app->name, out->tag);
    char *mp = blob_path(cache, out->manifest_digest);
    struct stat sb;
    index_arg ia = {.ref_name = refname, .digest = out->manifest_digest,
                    .media_type = out->media_type,
                    .size = stat(mp, &sb) == 0 ? (size_t)sb.st_size : 0};
    st = cache_update(ctx, cache, "index.json", index_put, &ia);
    free(mp);
    free(refname);
cleanup:
    free(cache);
    free(dockerfile);
    return st;
}

void hoist_image_clear(hoist_image *img)
{
    free(img->app);
    free(img->builder);
    free(img->prebuilt);
    free(img->tag);
    free(img->manifest_digest);
    free(img->media_type);
    free(img->base);
    free(img->base_host);
    free(img->base_repository);
    free(img->cache_dir);
    memset(img, 0, sizeof *img);
}

/* ---- push ---- */

typedef struct pushed_arg {
    const char *host, *repo;
    json_t *digests; /* array of strings */
    json_t *known;   /* out: {digest: repo} for this host (new reference) */
} pushed_arg;

/* pushed.json: {host: {digest: repository}} - where hoist left each blob,
   so another repository of the same registry can mount instead of upload. */
static int pushed_read(json_t *doc, void *p)
{
    pushed_arg *a = p;
    a->known = json_deep_copy(json_object_get(doc, a->host));
    return 0;
}

static int pushed_record(json_t *doc, void *p)
{
    pushed_arg *a = p;
    json_t *h = json_object_get(doc, a->host);
    if (!json_is_object(h)) {
        h = json_object();
        json_object_set_new(doc, a->host, h);
    }
    size_t i;
    json_t *v;
    json_array_foreach(a->digests, i, v)
        json_object_set_new(h, json_string_value(v), json_string(a->repo));
    return 1;
}

hoist_status hoist_image_push(hoist_ctx *ctx, const hoist_image *img, const hoist_image_opts *o,
                              const hoist_registry_credentials *dest, hoist_image_pushed *out)
{
    (void)o;
    memset(out, 0, sizeof *out);
    if (img->prebuilt) {
        out->reference = hoist_xstrdup(img->prebuilt);
        out->digest_reference = hoist_xstrdup(img->prebuilt);
        return HOIST_OK;
    }
    hoist_status st = HOIST_OK;
    hoist_registry *reg = NULL;
    char *have = NULL, *body = NULL;
    json_t *man = NULL, *descs = NULL;
    pushed_arg pa = {0};
    if (!dest || !dest->endpoint || !dest->repository) {
        return hoist_ctx_fail(ctx, HOIST_E_INVALID, "app %s: no registry to push to (endpoint "
                              "and repository are required)", img->app);
    }
    reg = hoist_registry_new(dest->endpoint, dest->username, dest->password);
    const char *host = hoist_registry_host(reg);
    out->reference = hoist_xasprintf("%s/%s:%s", host, dest->repository, img->tag);
    out->digest_reference = hoist_xasprintf("%s/%s@%s", host, dest->repository,
                                            img->manifest_digest);
    /* One HEAD answers the common case: this exact image is already there. */
    st = hoist_registry_head_manifest(reg, ctx, dest->repository, img->tag, &have);
    if (st != HOIST_OK)
        goto cleanup;
    if (have && !strcmp(have, img->manifest_digest)) {
        out->manifest_existed = 1;
        goto cleanup;
    }
    char *mp = blob_path(img->cache_dir, img->manifest_digest);
    size_t len;
    body = read_file(mp, &len);
    free(mp);
    man = body ? json_loadb(body, len, 0, NULL) : NULL;
    if (!man) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "app %s: manifest %s is missing from the "
                            "cache %s; build again", img->app, img->manifest_digest,
                            img->cache_dir);
        goto cleanup;
    }
    descs = json_array();
    json_array_append(descs, json_object_get(man, "config"));
    json_array_extend(descs, json_object_get(man, "layers"));
    pa.host = host;
    pa.repo = dest->repository;
    pa.digests = json_array();
    if ((st = cache_update(ctx, img->cache_dir, "pushed.json", pushed_read, &pa)) != HOIST_OK)
        goto cleanup;
    size_t i;
    json_t *d;
    json_array_foreach(descs, i, d) {
        const char *dg = json_string_value(json_object_get(d, "digest"));
        long long size = json_integer_value(json_object_get(d, "size"));
        char *bp = blob_path(img->cache_dir, dg);
        const char *from = json_string_value(json_object_get(pa.known, dg));
        if (!from && img->base_host && !strcmp(img->base_host, host))
            from = img->base_repository;
        const char *how = NULL;
        st = hoist_registry_push_blob(reg, ctx, dest->repository, dg, size, bp, from, &how);
        free(bp);
        if (st != HOIST_OK)
            goto cleanup;
        out->uploaded += !strcmp(how, "uploaded");
        out->mounted += !strcmp(how, "mounted");
        out->existing += !strcmp(how, "exists");
        json_array_append_new(pa.digests, json_string(dg));
        hoist_log(HOIST_LOG_DEBUG_, img->app, "blob %s: %s", dg, how);
    }
    st = hoist_registry_put_manifest(reg, ctx, dest->repository, img->tag, img->media_type, body,
                                     len);
    if (st == HOIST_OK)
        st = cache_update(ctx, img->cache_dir, "pushed.json", pushed_record, &pa);
cleanup:
    json_decref(pa.digests);
    json_decref(pa.known);
    json_decref(descs);
    json_decref(man);
    free(body);
    free(have);
    hoist_registry_free(reg);
    return st;
}

void hoist_image_pushed_clear(hoist_image_pushed *p)
{
    free(p->reference);
    free(p->digest_reference);
    memset(p, 0, sizeof *p);
}
