/*
 * testutil.h - helpers shared by the Check suites (header-only, static).
 */
#ifndef HOIST_TESTUTIL_H
#define HOIST_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* 1 in a ThreadSanitizer build (scripts/test.sh's TSan pass): everything but
 * sleeps runs 5-15 times slower there, so wall-clock bounds mean nothing. */
#if defined(__SANITIZE_THREAD__)
#define TU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TU_TSAN 1
#endif
#endif
#ifndef TU_TSAN
#define TU_TSAN 0
#endif

/* A fresh private directory under $TMPDIR; caller frees. */
static inline char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *t = malloc(4096);
    snprintf(t, 4096, "%s/hoist-test-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

/* Write @text to @dir/@name; returns the new path (caller frees). */
static inline char *tu_write(const char *dir, const char *name, const char *text)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    return p;
}

/* rm -rf @dir (test cleanup only). */
static inline void tu_rmrf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

/*
 * Run @cmd with sh -c, capture stdout+stderr into a new string (*out), and
 * return the exit status (or 128+signal).
 */
static inline int tu_run(const char *cmd, char **out)
{
    FILE *fp = popen(cmd, "r");
    ck_assert_ptr_nonnull(fp);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
        len += n;
        if (cap - len < 1024)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    int st = pclose(fp);
    if (out)
        *out = buf;
    else
        free(buf);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Directory of the test specs, or NULL (tests then skip with a message). */
static inline const char *tu_specs_dir(void)
{
    const char *d = getenv("HOIST_SPECS_DIR");
    if (d && access(d, R_OK) == 0)
        return d;
    return NULL;
}

/* Run a suite in the TAP-friendly way every test binary uses. */
static inline int tu_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
