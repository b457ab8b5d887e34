/*
 * replay.c - a plain main for the fuzz targets, so `make check` runs every
 * seed and every reproduced crash through each target with the normal
 * compiler (and under ASan/UBSan in the sanitizer pass) without clang.
 *
 * Usage: fuzz_<target> [FILE|DIR]...  With no argument it replays
 * $HOIST_SRCDIR/tests/fuzz/corpus/<FUZZ_TARGET>/.  Prints TAP, one line per
 * input; an input that crashes the target ends the run (the harness then
 * reports the crash, naming the last input announced on stderr).
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_TARGET
#error "compile with -DFUZZ_TARGET=\"name\""
#endif

static int n_run, n_bad;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        printf("not ok %d - %s: cannot open\n", ++n_run, path);
        n_bad++;
        return;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    if (!buf)
        abort();
    fprintf(stderr, "replaying %s (%zu bytes)\n", path, len);
    /* An exact-size copy, so a read past the end is caught by ASan. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact)
        abort();
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    printf("ok %d - %s\n", ++n_run, path);
}

static void replay_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        printf("not ok %d - %s: missing\n", ++n_run, path);
        n_bad++;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        replay_file(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        printf("not ok %d - %s: cannot read\n", ++n_run, path);
        n_bad++;
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(l);
        if (!names || !names[n])
            abort();
        snprintf(names[n++], l, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str); /* stable TAP order */
    for (size_t i = 0; i < n; i++) {
        replay_path(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            replay_path(argv[i]);
    } else {
        const char *src = getenv("HOIST_SRCDIR");
        if (!src) {
            fprintf(stderr, "HOIST_SRCDIR is not set: run through make check, or name inputs\n");
            return 2;
        }
        /* Relative names keep the TAP lines short and the same everywhere. */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus", src);
        if (chdir(dir) != 0) {
            fprintf(stderr, "cannot enter %s\n", dir);
            return 2;
        }
        replay_path(FUZZ_TARGET);
    }
    if (n_run == 0)
        printf("not ok 1 - no input replayed\n"), n_run = 1, n_bad = 1;
    printf("1..%d\n", n_run);
    return n_bad ? 1 : 0;
}
