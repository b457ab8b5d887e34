/* srcdigest.c - streaming SHA-256 digest of an app directory. */
#include "srcdigest.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ignore_set {
    char **pat;
    size_t n;
} ignore_set;

static void ignore_load(ignore_set *ig, const char *dir)
{
    static const char *const files[] = {".hoistignore", ".dockerignore"};
    for (size_t f = 0; f < 2; f++) {
        char *path = hoist_xasprintf("%s/%s", dir, files[f]);
        FILE *fp = fopen(path, "r");
        free(path);
        if (!fp)
            continue;
        char line[1024];
        while (fgets(line, sizeof line, fp)) {
            char *s = line;
            s[strcspn(s, "\r\n")] = '\0';
            while (*s == ' ' || *s == '\t')
                s++;
            size_t n = strlen(s);
            while (n && (s[n - 1] == ' ' || s[n - 1] == '/'))
                s[--n] = '\0';
            /* Negations ("!keep") would need ordered evaluation; we keep it
             * simple and only honour exclusions, which errs on the side of
             * hashing more (a spurious redeploy, never a missed one). */
            if (!*s || *s == '#' || *s == '!')
                continue;
            while (*s == '/')
                s++;
            ig->pat = hoist_xrealloc(ig->pat, (ig->n + 1) * sizeof *ig->pat);
            ig->pat[ig->n++] = hoist_xstrdup(s);
        }
        fclose(fp);
        return; /* .hoistignore wins over .dockerignore */
    }
}

static int ignored(const ignore_set *ig, const char *rel, const char *base)
{
    if (strcmp(base, ".git") == 0 || strcmp(base, ".hoist") == 0 ||
        strcmp(base, "node_modules") == 0)
        return 1;
    for (size_t i = 0; i < ig->n; i++) {
        if (fnmatch(ig->pat[i], rel, FNM_PATHNAME) == 0 || fnmatch(ig->pat[i], base, 0) == 0)
            return 1;
        /* "**" style patterns: match anywhere. */
        if (strncmp(ig->pat[i], "**/", 3) == 0 && fnmatch(ig->pat[i] + 3, base, 0) == 0)
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hash @rel (relative to @root) and, for directories, recurse in sorted order. */
static int walk(EVP_MD_CTX *md, const ignore_set *ig, const char *root, const char *rel,
                char **err)
{
    char *path = *rel ? hoist_xasprintf("%s/%s", root, rel) : hoist_xstrdup(root);
    int rc = -1;
    DIR *d = opendir(path);
    char **names = NULL;
    size_t n = 0;
    if (!d) {
        *err = hoist_xasprintf("cannot read the app directory %s: %s", path, hoist_strerror(errno));
        goto cleanup;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        names = hoist_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = hoist_xstrdup(e->d_name);
    }
    closedir(d);
    hoist_sort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *crel = *rel ? hoist_xasprintf("%s/%s", rel, names[i]) : hoist_xstrdup(names[i]);
        char *cpath = hoist_xasprintf("%s/%s", root, crel);
        struct stat sb;
        int ok = 0;
        if (ignored(ig, crel, names[i]) || lstat(cpath, &sb) != 0) {
            ok = 1; /* ignored, or vanished while walking */
        } else if (S_ISDIR(sb.st_mode)) {
            ok = walk(md, ig, root, crel, err) == 0;
        } else if (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)) {
            char hdr[64];
            /* Path and mode are framed with NULs so "a"+"bc" != "ab"+"c". */
            EVP_DigestUpdate(md, crel, strlen(crel) + 1);
            int hl = snprintf(hdr, sizeof hdr, "%o", (unsigned)sb.st_mode);
            EVP_DigestUpdate(md, hdr, (size_t)hl + 1);
            if (S_ISLNK(sb.st_mode)) {
                char target[4096];
                ssize_t tl = readlink(cpath, target, sizeof target);
                if (tl >= 0)
                    EVP_DigestUpdate(md, target, (size_t)tl);
                ok = tl >= 0;
            } else {
                int fd = open(cpath, O_RDONLY);
                if (fd >= 0) {
                    char buf[65536];
                    ssize_t r;
                    unsigned long long total = 0;
                    while ((r = read(fd, buf, sizeof buf)) > 0) {
                        EVP_DigestUpdate(md, buf, (size_t)r);
                        total += (unsigned long long)r;
                    }
                    close(fd);
                    /* The length ends each file's frame. */
                    hl = snprintf(hdr, sizeof hdr, "%llu", total);
                    EVP_DigestUpdate(md, hdr, (size_t)hl + 1);
                    ok = r == 0;
                }
            }
            if (!ok)
                *err = hoist_xasprintf("cannot read %s: %s", cpath, hoist_strerror(errno));
        } else {
            ok = 1; /* sockets, fifos: not part of a build context */
        }
        free(cpath);
        free(crel);
        if (!ok)
            goto cleanup;
    }
    rc = 0;
cleanup:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(path);
    return rc;
}

char *hoist_source_digest(const char *dir, char **err)
{
    ignore_set ig = {0};
    ignore_load(&ig, dir);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *out = NULL;
    if (!md)
        abort();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    if (walk(md, &ig, dir, "", err) == 0) {
        unsigned char h[32];
        unsigned len = 0;
        EVP_DigestFinal_ex(md, h, &len);
        out = hoist_xmalloc(7 + 64 + 1);
        strcpy(out, "sha256:");
        for (int i = 0; i < 32; i++)
            snprintf(out + 7 + 2 * i, 3, "%02x", h[i]);
    }
    EVP_MD_CTX_free(md);
    for (size_t i = 0; i < ig.n; i++)
        free(ig.pat[i]);
    free(ig.pat);
    return out;
}
