#include "util.h"

#include <hoist/kit.h>

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
    fputs("hoist: out of memory\n", stderr);
    abort();
}

void *hoist_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *hoist_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}

void *hoist_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *hoist_xstrdup(const char *s)
{
    return s ? hoist_xstrndup(s, strlen(s)) : NULL;
}

char *hoist_xstrndup(const char *s, size_t n)
{
    char *p = hoist_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *hoist_xvasprintf(const char *fmt, va_list ap)
{
    hoist_buf b = {0};
    hoist_buf_vprintf(&b, fmt, ap);
    return hoist_buf_steal(&b);
}

char *hoist_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

static void buf_reserve(hoist_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->s = hoist_xrealloc(b->s, cap);
    b->cap = cap;
}

void hoist_buf_add(hoist_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void hoist_buf_puts(hoist_buf *b, const char *s)
{
    hoist_buf_add(b, s, strlen(s));
}

void hoist_buf_vprintf(hoist_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void hoist_buf_printf(hoist_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hoist_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *hoist_buf_steal(hoist_buf *b)
{
    char *s = b->s ? b->s : hoist_xstrdup("");
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void hoist_buf_free(hoist_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

size_t hoist_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = hoist_xmalloc((lb + 1) * sizeof *row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = prev + cost;
            if (row[j] + 1 < v)
                v = row[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            prev = cur;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

void hoist_suggest_init(hoist_suggest *s, const char *word)
{
    *s = (hoist_suggest){.word = word, .dist = 3};
}

void hoist_suggest_try(hoist_suggest *s, const char *candidate)
{
    size_t d = hoist_levenshtein(s->word, candidate);
    if (d < s->dist) {
        s->dist = d;
        s->best = candidate;
    }
}

long long hoist_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *hoist_utc_iso(long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char b[32];
    if (!gmtime_r(&tt, &tm) || !strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return hoist_xstrdup("1970-01-01T00:00:00Z"); /* out of range: never in practice */
    return hoist_xstrdup(b);
}

const char *hoist_strerror(int err)
{
    return hoist_kit_strerror(err); /* the drivers' one, header-only */
}

int hoist_mkdirs(const char *path, unsigned mode)
{
    char *p = hoist_xstrdup(path);
    int rc = 0;
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, mode) != 0 && errno != EEXIST) {
                rc = -1;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    int saved = errno;
    free(p);
    errno = saved;
    return rc;
}

void hoist_sha256_hex(const void *p, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(p, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    hex[64] = '\0';
}

void hoist_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

int hoist_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80)
            continue;
        int more;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0)
            more = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            more = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            more = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (end - p < more)
            return 0;
        while (more--) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (*p++ & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}

char *hoist_tmp_name(const char *path, const char *tag)
{
    static unsigned long counter;
    unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    return hoist_xasprintf("%s.%s.%ld.%lu", path, tag, (long)getpid(), n);
}

char *hoist_base64_encode(const void *p, size_t len)
{
    char *out = hoist_xmalloc(4 * ((len + 2) / 3) + 1);
    int n = len ? EVP_EncodeBlock((unsigned char *)out, p, (int)len) : 0;
    out[n] = '\0';
    return out;
}

char *hoist_base64_decode(const char *s, size_t *len)
{
    size_t n = 0, cap = strlen(s);
    char *clean = hoist_xmalloc(cap + 1);
    for (const char *c = s; *c; c++)
        if (!isspace((unsigned char)*c))
            clean[n++] = *c;
    clean[n] = '\0';
    char *out = NULL;
    if (n % 4 == 0) {
        out = hoist_xmalloc(n / 4 * 3 + 1);
        int m = n ? EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean, (int)n) : 0;
        if (m < 0) {
            free(out);
            out = NULL;
        } else {
            /* EVP_DecodeBlock counts the padding as data bytes. */
            for (size_t i = n; i > 0 && clean[i - 1] == '='; i--)
                m--;
            out[m] = '\0';
            if (len)
                *len = (size_t)m;
        }
    }
    free(clean);
    return out;
}
