/*
 * util.h - small helpers shared by the core: growable strings, checked
 * allocation, path joins.  Allocation failure aborts: a deployment engine
 * that runs out of memory cannot recover meaningfully, and every caller
 * checking NULL would hide the real error paths.
 */
#ifndef HOIST_UTIL_H
#define HOIST_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

void *hoist_xmalloc(size_t n);
void *hoist_xcalloc(size_t n, size_t m);
void *hoist_xrealloc(void *p, size_t n);
char *hoist_xstrdup(const char *s);        /* NULL -> NULL */
char *hoist_xstrndup(const char *s, size_t n);
char *hoist_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *hoist_xvasprintf(const char *fmt, va_list ap);

/* A growable, always NUL-terminated byte string. */
typedef struct hoist_buf {
    char *s;
    size_t len, cap;
} hoist_buf;

void hoist_buf_add(hoist_buf *b, const void *p, size_t n);
void hoist_buf_puts(hoist_buf *b, const char *s);
void hoist_buf_printf(hoist_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hoist_buf_vprintf(hoist_buf *b, const char *fmt, va_list ap);
char *hoist_buf_steal(hoist_buf *b);  /* returns the string ("" if empty); b is reset */
void hoist_buf_free(hoist_buf *b);

/* qsort(3) that accepts an empty array: qsort's base must not be NULL even
 * when @n is 0, and an empty growable array's base often is. */
void hoist_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* Edit distance, for "did you mean" suggestions. */
size_t hoist_levenshtein(const char *a, const char *b);

/*
 * "Did you mean": offer each candidate with hoist_suggest_try; s->best is
 * then the nearest one within edit distance 2 of @word (NULL if none).
 * Borrows @word and the candidates.
 */
typedef struct hoist_suggest {
    const char *word, *best;
    size_t dist;
} hoist_suggest;
void hoist_suggest_init(hoist_suggest *s, const char *word);
void hoist_suggest_try(hoist_suggest *s, const char *candidate);

/* Lower-case hex SHA-256 of @p into @hex (65 bytes, NUL-terminated). */
void hoist_sha256_hex(const void *p, size_t len, char hex[65]);

/*
 * Base64 (standard alphabet, with padding) via OpenSSL.  encode: a new
 * NUL-terminated string.  decode: skips ASCII white space (PEM and
 * kubeconfig data wrap lines), returns a new NUL-terminated buffer with the
 * byte count in *len (may be NULL), or NULL if @s is not base64.
 */
char *hoist_base64_encode(const void *p, size_t len);
char *hoist_base64_decode(const char *s, size_t *len);

/*
 * A stop or cancel flag: set by one thread (or the CLI's signal handler),
 * read by workers in other threads.  volatile orders nothing between
 * threads and sig_atomic_t is only defined for one thread; a lock-free
 * atomic int is both thread-safe and one a signal handler may store to
 * (C11 7.14.1.1).
 */
typedef atomic_int hoist_flag;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "hoist_flag is set from a signal handler: "
                                          "it needs a lock-free atomic int");

/* Monotonic milliseconds, and wall-clock Unix seconds. */
long long hoist_now_ms(void);

/* @t as UTC "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339), a malloc'd string.
   Thread-safe (gmtime_r; gmtime(3) shares one struct between threads). */
char *hoist_utc_iso(long long t);

/* The message for errno value @err, like strerror(3) but thread-safe: the
   text lives in a per-thread buffer, valid until this thread's next call
   (so never two calls in one argument list).  Never NULL. */
const char *hoist_strerror(int err);

/* A temporary name next to @path, unique within the machine: "@path.@tag.
   <pid>.<n>", n counting calls in this process, so two threads writing the
   same final file (parallel builds sharing a blob) never share a temporary.
   Returns a malloc'd string.  Thread-safe. */
char *hoist_tmp_name(const char *path, const char *tag);

/* mkdir -p with @mode for the created components; 0 or -1 (errno). */
int hoist_mkdirs(const char *path, unsigned mode);

/* 1 if @len bytes at @s are well-formed UTF-8 (no overlongs, surrogates or
   code points above U+10FFFF), else 0.  Thread-safe. */
int hoist_utf8_valid(const char *s, size_t len);

#endif
