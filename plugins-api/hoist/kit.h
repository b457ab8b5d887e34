/*
 * hoist/kit.h - small helpers every driver needs, header-only.
 *
 * Everything here is `static inline` and uses only the C library, so a
 * driver that includes it still links nothing of hoist's (drivers must not
 * link libhoist) and exports nothing new (-fvisibility=hidden keeps the
 * entry symbol the module's only export).  It is not part of the ABI: the
 * code is compiled into each driver, so changing it never changes a loaded
 * driver's behaviour until that driver is rebuilt.
 *
 *   allocation    hoist_kit_xmalloc, _xrealloc, _xstrdup, _xasprintf,
 *                 _xvasprintf: abort() when memory runs out, as the core
 *                 does (a driver cannot recover from it either)
 *   buffer        hoist_kit_buf: a growable NUL-terminated string
 *   errors        hoist_kit_strerror: strerror(3) that threads may share
 *   hash          hoist_kit_fnv1a (FNV-1a 64), hoist_kit_hash8 (FNV-1a 32
 *                 as 8 hex digits): stable across runs, machines and
 *                 versions, for names and tokens (not for secrecy)
 *   names         hoist_kit_name: a cloud resource name within the cloud's
 *                 length limit and alphabet; too long names end with a hash
 *                 of the whole so two long names never collide
 *
 * All functions are thread-safe (they touch only their arguments).
 * Since: hoist 0.1.0 (SDK for ABI 1.2)
 */
#ifndef HOIST_KIT_H
#define HOIST_KIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HOIST_KIT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define HOIST_KIT_SENTINEL __attribute__((sentinel))
#else
#define HOIST_KIT_PRINTF(a, b)
#define HOIST_KIT_SENTINEL
#endif

/* ---- allocation ---------------------------------------------------------- */

/** malloc(@n) (at least 1 byte) that aborts instead of returning NULL.
 * The caller frees.  Since: hoist 0.1.0 */
static inline void *hoist_kit_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/** realloc(@p, @n) (at least 1 byte) that aborts instead of failing.
 * Since: hoist 0.1.0 */
static inline void *hoist_kit_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

/** A copy of @s (the caller frees), or NULL when @s is NULL.  Since: hoist 0.1.0 */
static inline char *hoist_kit_xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    return (char *)memcpy(hoist_kit_xmalloc(n), s, n);
}

/** vasprintf that aborts on failure; *@len (if not NULL) gets the length.
 * The caller frees.  Since: hoist 0.1.0 */
static inline char *hoist_kit_xvasprintf(size_t *len, const char *fmt, va_list ap)
    HOIST_KIT_PRINTF(2, 0);
static inline char *hoist_kit_xvasprintf(size_t *len, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    if (n < 0)
        abort();
    char *s = (char *)hoist_kit_xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    if (len)
        *len = (size_t)n;
    return s;
}

/** asprintf that aborts on failure.  The caller frees.  Since: hoist 0.1.0 */
static inline char *hoist_kit_xasprintf(const char *fmt, ...) HOIST_KIT_PRINTF(1, 2);
static inline char *hoist_kit_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = hoist_kit_xvasprintf(NULL, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- buffer -------------------------------------------------------------- */

/**
 * hoist_kit_buf - a growable string, NUL-terminated once anything was added.
 * Start from `hoist_kit_buf b = {0};`; @s is then NULL until the first add.
 * The caller owns @s (free() it, or hand it on).  Since: hoist 0.1.0
 */
typedef struct hoist_kit_buf {
    char *s;
    size_t len, cap;
} hoist_kit_buf;

/** Append @n bytes of @p (which may hold NULs).  Since: hoist 0.1.0 */
static inline void hoist_kit_buf_add(hoist_kit_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = (char *)hoist_kit_xrealloc(b->s, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/** Append the string @s.  Since: hoist 0.1.0 */
static inline void hoist_kit_buf_puts(hoist_kit_buf *b, const char *s)
{
    hoist_kit_buf_add(b, s, strlen(s));
}

/** Append printf-formatted text.  Since: hoist 0.1.0 */
static inline void hoist_kit_buf_printf(hoist_kit_buf *b, const char *fmt, ...)
    HOIST_KIT_PRINTF(2, 3);
static inline void hoist_kit_buf_printf(hoist_kit_buf *b, const char *fmt, ...)
{
    va_list ap;
    size_t n;
    va_start(ap, fmt);
    char *s = hoist_kit_xvasprintf(&n, fmt, ap);
    va_end(ap);
    hoist_kit_buf_add(b, s, n);
    free(s);
}

/* ---- errors -------------------------------------------------------------- */

#ifndef __cplusplus
/** strerror(3) is not thread-safe, and the core calls drivers from several
 * threads.  strerror_r is XSI (returns 0, fills @buf) or GNU (returns the
 * text, maybe not in @buf) depending on feature macros: _Generic reads
 * either.  The text lives in a per-thread buffer, valid until this thread's
 * next call; never NULL.  C only (C11).  Since: hoist 0.1.0 */
static inline const char *hoist_kit_strerror(int err)
{
    static _Thread_local char buf[128];
    __auto_type r = strerror_r(err, buf, sizeof buf);
    return _Generic(r, char *: r, default: r == 0 ? buf : "unknown error");
}
#endif

/* ---- hash ---------------------------------------------------------------- */

/* FNV-1a's offset bases; start a hoist_kit_fnv1a chain with the first. */
#define HOIST_KIT_FNV64_INIT 0xcbf29ce484222325ULL
#define HOIST_KIT_FNV32_INIT 0x811c9dc5ULL

/* The one FNV-1a loop.  The 32-bit variant is the low 32 bits of the same
   loop run with the 32-bit prime: products mod 2^64 agree with products
   mod 2^32 on the low 32 bits. */
static inline uint64_t hoist_kit_fnv1a_run_(uint64_t h, uint64_t prime, const void *data,
                                            size_t len)
{
    const unsigned char *c = (const unsigned char *)data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ c[i]) * prime;
    return h;
}

/** FNV-1a 64 of @len bytes at @data, continuing from @h (HOIST_KIT_FNV64_INIT
 * to start), so a digest can be fed piece by piece.  Since: hoist 0.1.0 */
static inline uint64_t hoist_kit_fnv1a(uint64_t h, const void *data, size_t len)
{
    return hoist_kit_fnv1a_run_(h, 0x100000001b3ULL, data, len);
}

/** FNV-1a 32 of the string @s as 8 lower-case hex digits into @hex[9] (the
 * short hash hoist_kit_name appends).  Since: hoist 0.1.0 */
static inline void hoist_kit_hash8(const char *s, char hex[9])
{
    uint64_t h = hoist_kit_fnv1a_run_(HOIST_KIT_FNV32_INIT, 0x01000193ULL, s, strlen(s));
    snprintf(hex, 9, "%08lx", (unsigned long)(h & 0xffffffffUL));
}

/* ---- names --------------------------------------------------------------- */

/* Flags of hoist_kit_name, for clouds that restrict more than the alphabet. */
enum {
    /* Never end with '-' (DigitalOcean, RDS). */
    HOIST_KIT_NAME_NO_END_DASH = 1u << 0,
    /* Never two '-' in a row: runs become one (RDS identifiers). */
    HOIST_KIT_NAME_NO_DOUBLE_DASH = 1u << 1,
};

/**
 * hoist_kit_name - a deterministic cloud resource name: the non-empty
 * @part strings (a NULL part ends the list, so an optional part goes last)
 * joined by '-', upper case lowered, every character outside [a-z0-9-]
 * turned into '-', then @flags applied.
 *
 * When that is longer than @max, the name keeps its first @max - 9
 * characters and ends with '-' and hoist_kit_hash8() of the whole name, so
 * two long names that share a prefix still get different names (a plain cut
 * would make the second resource adopt the first).  With
 * HOIST_KIT_NAME_NO_END_DASH, dashes at the end of the kept prefix are
 * dropped first.  A name that fits is never changed by this: drivers find
 * what they created by name, so the same inputs must always give the same
 * name.  A @max below 10 leaves no room for the hash: the name is cut.
 *
 * Returns a malloc'd string (the caller frees); aborts when memory runs out.
 * Since: hoist 0.1.0
 */
static inline char *hoist_kit_name(size_t max, unsigned flags, const char *part, ...)
    HOIST_KIT_SENTINEL;
static inline char *hoist_kit_name(size_t max, unsigned flags, const char *part, ...)
{
    hoist_kit_buf b = {0};
    va_list ap;
    va_start(ap, part);
    for (const char *p = part; p; p = va_arg(ap, const char *)) {
        if (!*p)
            continue;
        if (b.len)
            hoist_kit_buf_add(&b, "-", 1);
        hoist_kit_buf_puts(&b, p);
    }
    va_end(ap);
    hoist_kit_buf_add(&b, "", 0); /* "" rather than NULL when every part was empty */
    size_t n = 0;
    for (size_t i = 0; i < b.len; i++) {
        char c = b.s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            c = '-';
        if (c == '-' && (flags & HOIST_KIT_NAME_NO_DOUBLE_DASH) && n > 0 && b.s[n - 1] == '-')
            continue;
        b.s[n++] = c;
    }
    /* n > 1: a name that is nothing but dashes keeps one rather than none */
    while ((flags & HOIST_KIT_NAME_NO_END_DASH) && n > 1 && b.s[n - 1] == '-')
        n--;
    b.s[n] = '\0';
    if (n <= max)
        return b.s;
    if (max < 10) {
        b.s[max] = '\0';
        return b.s;
    }
    char hex[9];
    hoist_kit_hash8(b.s, hex);
    n = max - 9;
    while ((flags & HOIST_KIT_NAME_NO_END_DASH) && n > 1 && b.s[n - 1] == '-')
        n--;
    b.s[n] = '-';
    memcpy(b.s + n + 1, hex, 9);
    return b.s;
}

#ifdef __cplusplus
}
#endif

#endif
