/* http.c - libcurl transport with hoist's policy (see http.h). */
#include "autoconfig.h"
#include "http.h"
#include "host.h"
#include "log.h"
#include "sigv4.h"
#include "util.h"
#include "xmlutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define TRACE_MAX 2048

/* ---- policy knobs ---- */

static pthread_mutex_t policy_mu = PTHREAD_MUTEX_INITIALIZER;
static long backoff_base_ms = 100, backoff_cap_ms = 20000, total_budget_ms = 120000;
static int backoff_jitter = 1, reuse_connections = 1;

void hoist_http_set_backoff(long base_ms, long cap_ms, long total_ms, int jitter)
{
    pthread_mutex_lock(&policy_mu);
    if (base_ms >= 0)
        backoff_base_ms = base_ms;
    if (cap_ms >= 0)
        backoff_cap_ms = cap_ms;
    if (total_ms >= 0)
        total_budget_ms = total_ms;
    if (jitter >= 0)
        backoff_jitter = jitter;
    pthread_mutex_unlock(&policy_mu);
}

void hoist_http_set_reuse(int reuse)
{
    pthread_mutex_lock(&policy_mu);
    reuse_connections = reuse;
    pthread_mutex_unlock(&policy_mu);
}

/* ---- one curl handle per thread ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_key_t curl_key;

static void handle_free(void *h)
{
    curl_easy_cleanup(h);
}

static void curl_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&curl_key, handle_free);
}

static CURL *thread_handle(void)
{
    pthread_once(&curl_once, curl_setup);
    CURL *h = pthread_getspecific(curl_key);
    if (!h) {
        h = curl_easy_init();
        if (!h)
            abort(); /* only on OOM, like hoist_xmalloc */
        pthread_setspecific(curl_key, h);
    }
    return h;
}

/* ---- counters ---- */

typedef struct counter {
    char *key, *op, *method, *host;
    long count, attempts;
    long long total_ms;
} counter;

static pthread_mutex_t counters_mu = PTHREAD_MUTEX_INITIALIZER;
static counter *counters;
static size_t n_counters;

static int is_mutating(const char *method)
{
    return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}

static void count(const char *op, const char *method, const char *host, int attempts,
                  long long ms)
{
    char *key = hoist_xasprintf("%s %s %s", method, host, op);
    pthread_mutex_lock(&counters_mu);
    size_t i;
    for (i = 0; i < n_counters; i++)
        if (!strcmp(counters[i].key, key))
            break;
    if (i == n_counters) {
        counters = hoist_xrealloc(counters, (n_counters + 1) * sizeof *counters);
        counters[i] = (counter){key, hoist_xstrdup(op), hoist_xstrdup(method),
                                hoist_xstrdup(host), 0, 0, 0};
        n_counters++;
        key = NULL;
    }
    counters[i].count++;
    counters[i].attempts += attempts;
    counters[i].total_ms += ms;
    pthread_mutex_unlock(&counters_mu);
    free(key);
}

json_t *hoist_http_counters_json(void)
{
    json_t *o = json_object();
    pthread_mutex_lock(&counters_mu);
    for (size_t i = 0; i < n_counters; i++) {
        counter *c = &counters[i];
        json_object_set_new(o, c->key,
                            json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:I}", "operation", c->op,
                                      "method", c->method, "host", c->host, "count",
                                      (json_int_t)c->count, "attempts",
                                      (json_int_t)c->attempts, "mutating",
                                      is_mutating(c->method), "total_ms",
                                      (json_int_t)c->total_ms));
    }
    pthread_mutex_unlock(&counters_mu);
    return o;
}

void hoist_http_counters_reset(void)
{
    pthread_mutex_lock(&counters_mu);
    for (size_t i = 0; i < n_counters; i++) {
        free(counters[i].key);
        free(counters[i].op);
        free(counters[i].method);
        free(counters[i].host);
    }
    free(counters);
    counters = NULL;
    n_counters = 0;
    pthread_mutex_unlock(&counters_mu);
}

/* ---- masking for traces ---- */

static int sensitive_name(const char *name, size_t len)
{
    static const char *const words[] = {"password", "passwd", "secret", "token",
                                        "private_key", "privatekey", "apikey", "api_key",
                                        "authorization", "signature", NULL};
    char *l = hoist_xstrndup(name, len);
    for (char *p = l; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* Docker's config and DigitalOcean's docker-credentials: "auth" is
       base64("user:password") (found by tests/secrets_clouds.sh) */
    int hit = strcmp(l, "auth") == 0;
    for (int i = 0; words[i] && !hit; i++)
        hit = strstr(l, words[i]) != NULL;
    free(l);
    return hit;
}

static int looks_binary(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t'))
            return 1;
    }
    return 0;
}

/*
 * Mask the password of every URL's user information ("scheme://user:PASS@"),
 * wherever the URL sits: a connection string such as DigitalOcean's
 * database "uri" carries a password whose field name says nothing (found by
 * tests/secrets_clouds.sh).  Works on @b in place.
 */
static void mask_userinfo(hoist_buf *b)
{
    hoist_buf out = {0};
    size_t i = 0;
    while (i < b->len) {
        const char *sep = i + 3 <= b->len ? strstr(b->s + i, "://") : NULL;
        if (!sep)
            break;
        size_t a = (size_t)(sep - b->s) + 3, e = a, colon = 0, at = 0;
        /* the authority ends at a path, a quote, a backslash or a blank */
        while (e < b->len && b->s[e] != '/' && b->s[e] != '"' && b->s[e] != '\\' &&
               b->s[e] != '<' && !isspace((unsigned char)b->s[e])) {
            if (b->s[e] == ':' && !colon && !at)
                colon = e;
            if (b->s[e] == '@')
                at = e;
            e++;
        }
        if (colon && at > colon) {
            hoist_buf_add(&out, b->s + i, colon + 1 - i);
            hoist_buf_puts(&out, "***");
            i = at;
        } else {
            hoist_buf_add(&out, b->s + i, e - i);
            i = e;
        }
    }
    if (!out.s)
        return;
    hoist_buf_add(&out, b->s + i, b->len - i);
    hoist_buf_free(b);
    *b = out;
}

char *hoist_mask_secrets(const char *s, size_t len, size_t max)
{
    hoist_buf b = {0};
    if (!s || !len)
        return hoist_xstrdup("");
    if (looks_binary(s, len)) {
        hoist_buf_printf(&b, "[%zu bytes of binary data]", len);
        return hoist_buf_steal(&b);
    }
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            /* JSON: "name" : "value" */
            size_t e = i + 1;
            while (e < len && s[e] != '"')
                e += s[e] == '\\' ? 2 : 1;
            if (e >= len)
                break;
            size_t j = e + 1;
            while (j < len && isspace((unsigned char)s[j]))
                j++;
            if (j < len && s[j] == ':') {
                j++;
                while (j < len && isspace((unsigned char)s[j]))
                    j++;
                if (j < len && s[j] == '"' && sensitive_name(s + i + 1, e - i - 1)) {
                    size_t v = j + 1;
                    while (v < len && s[v] != '"')
                        v += s[v] == '\\' ? 2 : 1;
                    hoist_buf_add(&b, s + i, j + 1 - i);
                    hoist_buf_puts(&b, "***\"");
                    i = v + 1;
                    continue;
                }
            }
            hoist_buf_add(&b, s + i, e + 1 - i);
            i = e + 1;
        } else if (c == '<') {
            /* XML: <Name>value</ */
            size_t e = i + 1;
            while (e < len && s[e] != '>' && s[e] != '<' && !isspace((unsigned char)s[e]))
                e++;
            if (e < len && s[e] == '>' && e > i + 1 && s[i + 1] != '/' &&
                sensitive_name(s + i + 1, e - i - 1)) {
                size_t v = e + 1;
                while (v < len && s[v] != '<')
                    v++;
                hoist_buf_add(&b, s + i, e + 1 - i);
                hoist_buf_puts(&b, "***");
                i = v;
                continue;
            }
            hoist_buf_add(&b, s + i, 1);
            i++;
        } else if (i == 0 || s[i - 1] == '&' || s[i - 1] == '?') {
            /* Form or query: name=value& */
            size_t e = i;
            while (e < len && s[e] != '=' && s[e] != '&' && !isspace((unsigned char)s[e]) &&
                   s[e] != '"' && s[e] != '<')
                e++;
            if (e < len && s[e] == '=' && e > i && sensitive_name(s + i, e - i)) {
                size_t v = e + 1;
                while (v < len && s[v] != '&' && !isspace((unsigned char)s[v]))
                    v++;
                hoist_buf_add(&b, s + i, e + 1 - i);
                hoist_buf_puts(&b, "***");
                i = v;
                continue;
            }
            hoist_buf_add(&b, s + i, e > i ? e - i : 1);
            i = e > i ? e : i + 1;
        } else {
            hoist_buf_add(&b, s + i, 1);
            i++;
        }
    }
    if (b.s)
        mask_userinfo(&b);
    if (b.len > max) {
        size_t total = b.len;
        b.s[max] = '\0';
        b.len = max;
        hoist_buf_printf(&b, "... [%zu bytes in all]", total);
    }
    return hoist_buf_steal(&b);
}

static int masked_header(const char *line)
{
    static const char *const names[] = {"authorization:", "proxy-authorization:",
                                        "x-auth-token:", "x-amz-security-token:", "cookie:",
                                        "set-cookie:", "x-registry-auth:", NULL};
    for (int i = 0; names[i]; i++)
        if (!strncasecmp(line, names[i], strlen(names[i])))
            return 1;
    return 0;
}

static void trace_headers(hoist_buf *t, const char *dir, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[i];
        if (masked_header(l))
            hoist_buf_printf(t, "\n%s %.*s: ***", dir, (int)strcspn(l, ":"), l);
        else
            hoist_buf_printf(t, "\n%s %s", dir, l);
    }
}

/* ---- URL policy ---- */

static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcasecmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    char h[64];
    size_t l = strlen(host);
    if (host[0] == '[' && l < sizeof h && host[l - 1] == ']') {
        memcpy(h, host + 1, l - 2);
        h[l - 2] = '\0';
        host = h;
    }
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Check @url against the TLS policy; returns its host (malloc'd) or NULL
   after reporting in @ctx. */
static char *check_url(hoist_ctx *ctx, const char *url, unsigned flags)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *ret = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        hoist_ctx_fail(ctx, HOIST_E_INVALID, "invalid URL '%s'", url);
        goto cleanup;
    }
    if (!strcasecmp(scheme, "https")) {
        ret = hoist_xstrdup(host);
    } else if (strcasecmp(scheme, "http")) {
        hoist_ctx_fail(ctx, HOIST_E_INVALID, "refusing %s: scheme '%s' is not https", url,
                       scheme);
    } else if (!is_loopback(host)) {
        hoist_ctx_fail(ctx, HOIST_E_INVALID,
                       "refusing plain http to %s: unencrypted HTTP is allowed only to a "
                       "loopback address (127.0.0.0/8, ::1, localhost); use https://",
                       host);
    } else if (!(flags & HOIST_HTTP_ALLOW_PLAIN_LOOPBACK)) {
        hoist_ctx_fail(ctx, HOIST_E_INVALID,
                       "refusing plain http to %s: unencrypted HTTP is allowed only for an "
                       "endpoint configured explicitly (an endpoint override); use https://",
                       host);
    } else {
        ret = hoist_xstrdup(host);
    }
cleanup:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ret;
}

/* ---- one attempt ---- */

typedef struct resp_priv {
    char **lines; /* "name: value" of the final answer, one string each */
    size_t n;
} resp_priv;

typedef struct xfer {
    hoist_ctx *ctx;
    hoist_buf body;
    hoist_buf headers;
    int cancelled;
} xfer;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    xfer *x = arg;
    hoist_buf_add(&x->body, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = sz * n;
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) { /* a new answer (after 100, or a retry) */
        x->headers.len = 0;
        if (x->headers.s)
            x->headers.s[0] = '\0';
        return len;
    }
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    if (len) {
        hoist_buf_add(&x->headers, p, len);
        hoist_buf_puts(&x->headers, "\n");
    }
    return sz * n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    xfer *x = arg;
    if (hoist_ctx_cancelled(x->ctx)) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}

static const char *header_in(const char *block, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *found = NULL;
    for (const char *p = block; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            found = v;
            *vlen = (size_t)(p + l - v);
        }
        p = e ? e + 1 : NULL;
    }
    return found;
}

const char *hoist_http_header(const hoist_http_response *resp, const char *name)
{
    resp_priv *rp = resp ? resp->internal : NULL;
    size_t vlen;
    const char *found = NULL;
    for (size_t i = 0; rp && i < rp->n; i++) {
        const char *v = header_in(rp->lines[i], name, &vlen);
        if (v)
            found = v; /* the last one wins */
    }
    return found;
}

void hoist_http_response_free(hoist_http_response *resp)
{
    if (!resp)
        return;
    resp_priv *rp = resp->internal;
    if (rp) {
        for (size_t i = 0; i < rp->n; i++)
            free(rp->lines[i]);
        free(rp->lines);
        free(rp);
    }
    free(resp->body);
    resp->body = NULL;
    resp->internal = NULL;
    resp->body_len = 0;
}

static int retryable_status(long st)
{
    return st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

static int throttled(const char *body, size_t len)
{
    char *code = NULL, *msg = NULL;
    int t = 0;
    if (hoist_service_error(body, len, &code, &msg))
        t = hoist_error_code_status(code) == HOIST_E_TRANSIENT;
    free(code);
    free(msg);
    return t;
}

/* Server-requested wait in ms (Retry-After: seconds or HTTP date;
   ratelimit-reset: Unix time), or -1. */
/*
 * How long the server asked us to wait: Retry-After (seconds or a date), or
 * DigitalOcean's ratelimit-reset (Unix time of the window's end) - but that
 * one only when the window is really spent (a 429, or ratelimit-remaining
 * 0): DigitalOcean sends it on every answer, and a 5xx in a fresh window
 * must not wait for the whole window.
 */
static long long server_wait_ms(const char *headers, long status)
{
    size_t vl;
    const char *v = header_in(headers, "Retry-After", &vl);
    long long w = -1;
    if (v) {
        char *s = hoist_xstrndup(v, vl);
        char *end;
        long long secs = strtoll(s, &end, 10);
        if (end != s && (*end == '\0' || isspace((unsigned char)*end)))
            w = secs * 1000;
        else {
            time_t t = curl_getdate(s, NULL);
            if (t > 0)
                w = ((long long)t - time(NULL)) * 1000;
        }
        free(s);
    }
    v = header_in(headers, "ratelimit-reset", &vl);
    size_t rl;
    const char *rem = header_in(headers, "ratelimit-remaining", &rl);
    int spent = status == 429 || (rem && strtoll(rem, NULL, 10) <= 0);
    if (v && w < 0 && spent) {
        long long t = strtoll(v, NULL, 10);
        if (t > 0)
            w = (t - (long long)time(NULL)) * 1000;
    }
    return w < 0 ? -1 : w;
}

static long long jitter(long long ceiling)
{
    uint64_t r = 0;
    if (ceiling <= 0)
        return 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        r = (uint64_t)hoist_now_ms() * 2654435761u;
    return (long long)(r % (uint64_t)(ceiling + 1));
}

/* Sleep @ms in slices, returning early (1) if cancelled. */
static int nap(hoist_ctx *ctx, long long ms)
{
    long long end = hoist_now_ms() + ms;
    for (;;) {
        if (hoist_ctx_cancelled(ctx))
            return 1;
        long long left = end - hoist_now_ms();
        if (left <= 0)
            return 0;
        struct timespec ts = {0, (left > 50 ? 50 : left) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Whether @h (NULL-terminated, may be NULL) sets a Content-Type. */
static int has_content_type(const char *const *h)
{
    for (; h && *h; h++)
        if (strncasecmp(*h, "Content-Type:", 13) == 0)
            return 1;
    return 0;
}

static struct curl_slist *build_headers(const hoist_http_request *req, char **extra,
                                        hoist_buf *trace)
{
    struct curl_slist *l = NULL;
    size_t n = 0;
    for (const char *const *h = req->headers; h && *h; h++, n++)
        l = curl_slist_append(l, *h);
    if (trace)
        trace_headers(trace, ">", req->headers ? (const char *const *)req->headers : NULL, n);
    size_t m = 0;
    for (char **h = extra; h && *h; h++, m++)
        l = curl_slist_append(l, *h);
    if (trace && m)
        trace_headers(trace, ">", (const char *const *)extra, m);
    /* No "Expect: 100-continue" round trip. */
    l = curl_slist_append(l, "Expect:");
    /* Every method but GET and HEAD goes out through CURLOPT_POSTFIELDS, for
       which libcurl claims "application/x-www-form-urlencoded" unless told
       otherwise: a bodiless DELETE or a blob-mount POST would carry it, and a
       body the caller typed would be mislabelled.  "Content-Type:" drops it. */
    const char *method = req->method ? req->method : "GET";
    if (strcmp(method, "HEAD") != 0 && !(strcmp(method, "GET") == 0 && !req->body_len) &&
        !has_content_type(req->headers) && !has_content_type((const char *const *)extra))
        l = curl_slist_append(l, "Content-Type:");
    return l;
}

static void setup_handle(CURL *h, const hoist_http_request *req, const char *url, xfer *x,
                         char *errbuf, int reuse)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hoist/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 120000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (!reuse) {
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }
    if (req->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
    if (req->ca_pem) {
        struct curl_blob blob = {(void *)req->ca_pem, strlen(req->ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    const char *m = req->method ? req->method : "GET";
    if (!strcmp(m, "GET") && !req->body_len) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(m, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
}

static int tls_error(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CONNECT_ERROR ||
           rc == CURLE_SSL_INVALIDCERTSTATUS || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

static int retryable_curl(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
           rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM ||
           rc == CURLE_COULDNT_RESOLVE_HOST;
}

hoist_status hoist_http(hoist_ctx *ctx, const hoist_http_request *req, hoist_http_response *resp)
{
    hoist_status st = HOIST_E_INTERNAL;
    char *host = NULL, *op = NULL;
    const char *method = req->method ? req->method : "GET";
    long long started = hoist_now_ms();
    int attempt = 0;
    xfer x = {.ctx = ctx};
    memset(resp, 0, sizeof *resp);
    resp->struct_size = sizeof *resp;

    if (!(host = check_url(ctx, req->url, req->flags)))
        return HOIST_E_INVALID;
    if (req->operation) {
        op = hoist_xstrdup(req->operation);
    } else {
        const char *path = strstr(req->url, "://");
        path = path ? path + 3 + strcspn(path + 3, "/") : "/";
        op = hoist_xasprintf("%s %.*s", method, (int)strcspn(path, "?"), *path ? path : "/");
    }

    pthread_mutex_lock(&policy_mu);
    long base = backoff_base_ms, cap = backoff_cap_ms, budget = total_budget_ms;
    int use_jitter = backoff_jitter, reuse = reuse_connections;
    pthread_mutex_unlock(&policy_mu);
    int max_attempts = req->max_attempts > 0 ? req->max_attempts : 5;
    if (req->flags & HOIST_HTTP_NO_RETRY)
        max_attempts = 1;
    int may_retry_sent = !is_mutating(method) || !strcmp(method, "PUT") ||
                         !strcmp(method, "DELETE") || (req->flags & HOIST_HTTP_IDEMPOTENT);
    CURL *h = thread_handle();
    char errbuf[CURL_ERROR_SIZE];

    for (;;) {
        attempt++;
        hoist_sigv4_output sig = {0};
        struct curl_slist *hl = NULL;
        int tracing = hoist_log_level() >= HOIST_LOG_TRACE_;
        hoist_buf trace = {0};
        x.body.len = x.headers.len = 0;
        if (x.body.s)
            x.body.s[0] = '\0';
        if (x.headers.s)
            x.headers.s[0] = '\0';
        errbuf[0] = '\0';

        if (req->sigv4) { /* sign every attempt: the date must be fresh */
            char *err = NULL;
            hoist_sigv4_input in = {.method = method, .url = req->url, .headers = req->headers,
                                    .body = req->body, .body_len = req->body_len};
            if (hoist_sigv4_sign(req->sigv4, &in, &sig, &err) != 0) {
                st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "%s", err);
                free(err);
                break;
            }
        }
        if (tracing) {
            char *u = hoist_mask_secrets(req->url, strlen(req->url), TRACE_MAX);
            hoist_buf_printf(&trace, "%s %s (attempt %d)", method, u, attempt);
            free(u);
        }
        hl = build_headers(req, sig.add_headers, tracing ? &trace : NULL);
        if (tracing && req->body_len) {
            char *b = hoist_mask_secrets(req->body, req->body_len, TRACE_MAX);
            hoist_buf_printf(&trace, "\n> %s", b);
            free(b);
        }
        if (tracing)
            hoist_log(HOIST_LOG_TRACE_, "http", "%s", trace.s);
        hoist_buf_free(&trace);

        curl_easy_reset(h); /* keeps the connection, DNS and TLS session caches */
        /* libcurl silently re-sends a request once when a reused connection
         * turns out dead before any answer byte - including a POST the
         * server already acted on (an "answer lost" fault).  A request that
         * must not be repeated therefore gets a connection of its own. */
        setup_handle(h, req, req->url, &x, errbuf,
                     reuse && may_retry_sent && !(req->flags & HOIST_HTTP_NO_RETRY));
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        long long t0 = hoist_now_ms();
        CURLcode rc = curl_easy_perform(h);
        long long dt = hoist_now_ms() - t0;
        curl_slist_free_all(hl);
        hoist_sigv4_output_free(&sig);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);

        if (tracing) {
            hoist_buf_printf(&trace, "%s %s -> ", method, host);
            if (rc == CURLE_OK)
                hoist_buf_printf(&trace, "HTTP %ld in %lld ms (attempt %d)", status, dt, attempt);
            else
                hoist_buf_printf(&trace, "%s in %lld ms (attempt %d)",
                                 *errbuf ? errbuf : curl_easy_strerror(rc), dt, attempt);
            /* Split the stored header block into lines for masking. */
            char *copy = hoist_xstrdup(x.headers.s ? x.headers.s : "");
            char *save = NULL; /* strtok_r: requests trace from many threads at once */
            for (char *line = strtok_r(copy, "\n", &save); line;
                 line = strtok_r(NULL, "\n", &save)) {
                const char *one[] = {line};
                trace_headers(&trace, "<", one, 1);
            }
            free(copy);
            if (x.body.len) {
                char *b = hoist_mask_secrets(x.body.s, x.body.len, TRACE_MAX);
                hoist_buf_printf(&trace, "\n< %s", b);
                free(b);
            }
            hoist_log(HOIST_LOG_TRACE_, "http", "%s", trace.s);
            hoist_buf_free(&trace);
        }

        /* Decide: done, fail, or retry (and why). */
        char reason[160];
        int retry = 0;
        if (rc == CURLE_ABORTED_BY_CALLBACK && x.cancelled) {
            st = hoist_ctx_fail(ctx, HOIST_E_CANCELLED, "%s %s: cancelled", method, host);
            break;
        } else if (rc != CURLE_OK && tls_error(rc)) {
            st = hoist_ctx_fail(ctx, HOIST_E_INVALID,
                                "TLS verification of %s failed: %s. If %s uses a private "
                                "certificate authority, configure its PEM bundle (ca_file) "
                                "for this endpoint",
                                host, *errbuf ? errbuf : curl_easy_strerror(rc), host);
            break;
        } else if (rc != CURLE_OK) {
            snprintf(reason, sizeof reason, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
            /* A refused connection sent nothing, so any method may retry. */
            retry = retryable_curl(rc) && (may_retry_sent || rc == CURLE_COULDNT_CONNECT);
            if (!retry || attempt >= max_attempts) {
                st = hoist_ctx_fail(ctx, HOIST_E_TRANSIENT, "%s %s failed after %d attempt%s: %s",
                                    method, host, attempt, attempt > 1 ? "s" : "", reason);
                break;
            }
        } else {
            retry = may_retry_sent && (retryable_status(status) ||
                                       (status >= 400 && throttled(x.body.s, x.body.len)));
            snprintf(reason, sizeof reason, "HTTP %ld", status);
            if (!retry || attempt >= max_attempts) {
                resp->status = status;
                resp->body_len = x.body.len;
                resp->body = hoist_buf_steal(&x.body);
                st = HOIST_OK;
                break;
            }
        }

        /* Backoff: full jitter under an exponential ceiling, but never
           shorter than what the server asked for. */
        long long ceiling = base;
        for (int i = 1; i < attempt && ceiling < cap; i++)
            ceiling *= 2;
        if (ceiling > cap)
            ceiling = cap;
        long long delay = use_jitter ? jitter(ceiling) : ceiling;
        long long asked = rc == CURLE_OK ? server_wait_ms(x.headers.s, status) : -1;
        if (asked > delay)
            delay = asked;
        long long elapsed = hoist_now_ms() - started;
        if (elapsed + delay > budget) {
            st = hoist_ctx_fail(ctx, HOIST_E_TRANSIENT,
                                "%s %s: giving up after %d attempts in %lld ms (last: %s; "
                                "next wait %lld ms exceeds the %ld ms budget)",
                                method, host, attempt, elapsed, reason, delay, budget);
            break;
        }
        hoist_log(HOIST_LOG_DEBUG_, "http",
                  "%s: retry %d/%d after %s in %lld ms (backoff ceiling %lld ms%s)", op,
                  attempt + 1, max_attempts, reason, delay, ceiling,
                  asked >= 0 ? ", server asked" : "");
        if (nap(ctx, delay)) {
            st = hoist_ctx_fail(ctx, HOIST_E_CANCELLED, "%s %s: cancelled", method, host);
            break;
        }
    }
    resp->attempts = attempt;
    if (st == HOIST_OK) {
        resp_priv *rp = hoist_xcalloc(1, sizeof *rp);
        for (const char *p = x.headers.s; p && *p;) {
            size_t l = strcspn(p, "\n");
            rp->lines = hoist_xrealloc(rp->lines, (rp->n + 1) * sizeof *rp->lines);
            rp->lines[rp->n++] = hoist_xstrndup(p, l);
            p += l + (p[l] == '\n');
        }
        resp->internal = rp;
    }
    count(op, method, host, attempt, hoist_now_ms() - started);
    hoist_buf_free(&x.body);
    hoist_buf_free(&x.headers);
    free(host);
    free(op);
    return st;
}

hoist_status hoist_http_error(hoist_ctx *ctx, const hoist_http_response *resp, const char *what)
{
    char *code = NULL, *msg = NULL;
    hoist_status st;
    hoist_service_error(resp->body, resp->body_len, &code, &msg);
    st = hoist_error_code_status(code);
    if (st == HOIST_E_INTERNAL) {
        long s = resp->status;
        st = s == 401 || s == 403                 ? HOIST_E_AUTH
             : s == 404 || s == 410               ? HOIST_E_NOTFOUND
             : s == 409                           ? HOIST_E_CONFLICT
             : s == 400 || s == 422               ? HOIST_E_INVALID
             : s == 429 || (s >= 500 && s <= 599) ? HOIST_E_TRANSIENT
                                                  : HOIST_E_INTERNAL;
    }
    char *snippet = NULL;
    if (!code && !msg)
        snippet = hoist_mask_secrets(resp->body, resp->body_len, 200);
    hoist_ctx_fail(ctx, st, "%s: HTTP %ld%s%s%s%s", what, resp->status, code ? " " : "",
                   code ? code : "", msg || snippet ? ": " : "",
                   msg ? msg : snippet ? snippet : "");
    free(code);
    free(msg);
    free(snippet);
    return st;
}

hoist_status hoist_sigv4_presign_ctx(hoist_ctx *ctx, const hoist_sigv4_spec *spec,
                                     const char *method, const char *url, long expires,
                                     char **out)
{
    hoist_sigv4_input in = {.method = method, .url = url, .expires = expires > 0 ? expires : 900};
    hoist_sigv4_output o;
    char *err = NULL;
    *out = NULL;
    if (hoist_sigv4_sign(spec, &in, &o, &err) != 0) {
        hoist_ctx_fail(ctx, HOIST_E_INVALID, "%s", err);
        free(err);
        return HOIST_E_INVALID;
    }
    *out = o.url;
    o.url = NULL;
    hoist_sigv4_output_free(&o);
    return HOIST_OK;
}

hoist_status hoist_eks_token_ctx(hoist_ctx *ctx, const hoist_sigv4_spec *spec,
                                 const char *cluster, const char *sts_endpoint, char **out)
{
    char *err = NULL;
    *out = hoist_eks_token(spec, cluster, sts_endpoint, 0, &err);
    if (!*out) {
        hoist_ctx_fail(ctx, HOIST_E_INVALID, "EKS token for %s: %s", cluster, err);
        free(err);
        return HOIST_E_INVALID;
    }
    hoist_secret_add(*out);
    return HOIST_OK;
}

hoist_xml_doc *hoist_xml_parse_ctx(hoist_ctx *ctx, const char *buf, size_t len)
{
    char *err = NULL;
    hoist_xml_doc *d = hoist_xml_parse(buf, len, &err);
    if (!d) {
        hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "unexpected answer: %s", err);
        free(err);
    }
    return d;
}
