/* sigv4.c - AWS Signature Version 4 (see sigv4.h for the facts relied on). */
#include "sigv4.h"
#include "util.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALGO "AWS4-HMAC-SHA256"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

static int unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

void hoist_uri_encode(hoist_buf *b, const char *s, size_t len, int keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/'))
            hoist_buf_add(b, &s[i], 1);
        else
            hoist_buf_printf(b, "%%%02X", c);
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode @len bytes of @s; invalid escapes stay literal. */
static char *pct_decode(const char *s, size_t len, size_t *outlen)
{
    char *o = hoist_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            o[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            o[n++] = s[i];
        }
    }
    o[n] = '\0';
    *outlen = n;
    return o;
}

/* Strict re-encoding of a query component given as sent. */
static char *query_component(const char *s, size_t len)
{
    size_t dl;
    char *d = pct_decode(s, len, &dl);
    hoist_buf b = {0};
    hoist_uri_encode(&b, d, dl, 0);
    free(d);
    return hoist_buf_steal(&b);
}

/* RFC 3986 5.2.4 dot-segment removal, plus collapsing empty segments, the
   way AWS services canonicalise non-S3 paths. */
static char *normalize_path(const char *path)
{
    size_t len = strlen(path);
    if (len == 0)
        return hoist_xstrdup("/");
    const char **seg = hoist_xcalloc(len + 1, sizeof *seg);
    size_t *seglen = hoist_xcalloc(len + 1, sizeof *seglen);
    size_t n = 0;
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0 || (l == 1 && p[0] == '.')) {
            /* skip */
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (n)
                n--;
        } else {
            seg[n] = p;
            seglen[n++] = l;
        }
        p += l;
        if (*p == '/')
            p++;
    }
    hoist_buf b = {0};
    if (path[0] == '/')
        hoist_buf_puts(&b, "/");
    for (size_t i = 0; i < n; i++) {
        if (i)
            hoist_buf_puts(&b, "/");
        hoist_buf_add(&b, seg[i], seglen[i]);
    }
    if (path[len - 1] == '/' && n)
        hoist_buf_puts(&b, "/");
    free(seg);
    free(seglen);
    return hoist_buf_steal(&b);
}

typedef struct kv {
    char *k, *v;
    size_t order;
} kv;

typedef struct kvs {
    kv *v;
    size_t n, cap;
} kvs;

static void kvs_add(kvs *l, char *k, char *v)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = hoist_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].k = k;
    l->v[l->n].v = v;
    l->v[l->n].order = l->n;
    l->n++;
}

static void kvs_free(kvs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].k);
        free(l->v[i].v);
    }
    free(l->v);
}

static int kv_cmp_query(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* Headers: by name, keeping the given order of repeated names. */
static int kv_cmp_header(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Lowercase, whitespace runs collapsed to one space, trimmed. */
static char *trimall(const char *s, size_t len)
{
    hoist_buf b = {0};
    int pending = 0;
    for (size_t i = 0; i < len; i++) {
        if (isspace((unsigned char)s[i])) {
            pending = b.len > 0;
        } else {
            if (pending)
                hoist_buf_puts(&b, " ");
            pending = 0;
            hoist_buf_add(&b, &s[i], 1);
        }
    }
    return hoist_buf_steal(&b);
}

static char *lower(const char *s, size_t len)
{
    char *o = hoist_xstrndup(s, len);
    for (char *p = o; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return o;
}

typedef struct url_parts {
    char *scheme, *host, *path, *query; /* host includes a non-default port */
} url_parts;

static void url_parts_free(url_parts *u)
{
    free(u->scheme);
    free(u->host);
    free(u->path);
    free(u->query);
}

static int split_url(const char *url, url_parts *u)
{
    memset(u, 0, sizeof *u);
    const char *sep = strstr(url, "://");
    if (!sep)
        return -1;
    u->scheme = lower(url, (size_t)(sep - url));
    const char *h = sep + 3;
    size_t hl = strcspn(h, "/?#");
    if (hl == 0)
        return -1;
    const char *at = memchr(h, '@', hl);
    if (at) { /* userinfo is never part of Host */
        hl -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    char *host = lower(h, hl);
    /* Drop the scheme's default port, as HTTP clients do in Host. */
    char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
    if (colon) {
        char *port = colon + (host[0] == '[' ? 2 : 1);
        if ((strcmp(u->scheme, "https") == 0 && strcmp(port, "443") == 0) ||
            (strcmp(u->scheme, "http") == 0 && strcmp(port, "80") == 0))
            *(host[0] == '[' ? colon + 1 : colon) = '\0';
    }
    u->host = host;
    const char *p = h + hl;
    size_t pl = strcspn(p, "?#");
    u->path = hoist_xstrndup(p, pl);
    p += pl;
    if (*p == '?') {
        p++;
        u->query = hoist_xstrndup(p, strcspn(p, "#"));
    } else {
        u->query = hoist_xstrdup("");
    }
    return 0;
}

static void parse_query(kvs *q, const char *query)
{
    const char *p = query;
    while (*p) {
        size_t l = strcspn(p, "&");
        if (l) {
            const char *eq = memchr(p, '=', l);
            size_t kl = eq ? (size_t)(eq - p) : l;
            char *k = query_component(p, kl);
            char *v = eq ? query_component(eq + 1, l - kl - 1) : hoist_xstrdup("");
            kvs_add(q, k, v);
        }
        p += l;
        if (*p == '&')
            p++;
    }
}

static void add_query(kvs *q, const char *k, const char *v)
{
    hoist_buf b = {0};
    hoist_uri_encode(&b, v, strlen(v), 0);
    kvs_add(q, hoist_xstrdup(k), hoist_buf_steal(&b));
}

int hoist_sigv4_sign(const hoist_sigv4_spec *spec, const hoist_sigv4_input *in,
                     hoist_sigv4_output *out, char **err)
{
    int rc = -1;
    url_parts u;
    kvs hdr = {0}, qry = {0}, extra = {0};
    hoist_buf b = {0};
    char *canon_query = NULL, *signed_hdrs = NULL;
    memset(out, 0, sizeof *out);
    *err = NULL;

    if (split_url(in->url, &u) != 0) {
        *err = hoist_xasprintf("SigV4: cannot parse URL %s", in->url);
        goto cleanup;
    }
    if (!spec || !spec->access_key_id || !spec->secret_access_key || !spec->region ||
        !spec->service) {
        *err = hoist_xstrdup("SigV4: access key, secret key, region and service are required");
        goto cleanup;
    }
    int presign = in->expires > 0;
    int s3 = (spec->flags & HOIST_SIGV4_S3) != 0;
    int sign_token = spec->session_token && *spec->session_token &&
                     !(spec->flags & HOIST_SIGV4_OMIT_TOKEN);
    int content_hdr = !presign && (s3 || (spec->flags & HOIST_SIGV4_CONTENT_SHA256));

    time_t when = in->when ? in->when : time(NULL);
    struct tm tm;
    gmtime_r(&when, &tm);
    char amzdate[17], date[9];
    strftime(amzdate, sizeof amzdate, "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, sizeof date, "%Y%m%d", &tm);
    char *scope = hoist_xasprintf("%s/%s/%s/aws4_request", date, spec->region, spec->service);

    char payload[65];
    if (spec->flags & HOIST_SIGV4_UNSIGNED_PAYLOAD)
        strcpy(payload, "UNSIGNED-PAYLOAD");
    else
        hoist_sha256_hex(in->body ? in->body : "", in->body ? in->body_len : 0, payload);

    /* Headers to sign: the caller's, minus those we set ourselves or that
       proxies rewrite, plus Host. */
    int have_host = 0;
    for (const char *const *h = in->headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        if (!colon)
            continue;
        char *name = trimall(*h, (size_t)(colon - *h));
        char *lname = lower(name, strlen(name));
        free(name);
        if (!strcmp(lname, "authorization") || !strcmp(lname, "user-agent") ||
            !strcmp(lname, "expect") || !strcmp(lname, "x-amz-date") ||
            (sign_token && !strcmp(lname, "x-amz-security-token")) ||
            (content_hdr && !strcmp(lname, "x-amz-content-sha256"))) {
            free(lname);
            continue;
        }
        if (!strcmp(lname, "host"))
            have_host = 1;
        kvs_add(&hdr, lname, trimall(colon + 1, strlen(colon + 1)));
    }
    if (!have_host)
        kvs_add(&hdr, hoist_xstrdup("host"), hoist_xstrdup(u.host));
    if (!presign) {
        kvs_add(&hdr, hoist_xstrdup("x-amz-date"), hoist_xstrdup(amzdate));
        kvs_add(&extra, hoist_xstrdup("X-Amz-Date"), hoist_xstrdup(amzdate));
        if (sign_token)
            kvs_add(&hdr, hoist_xstrdup("x-amz-security-token"),
                    hoist_xstrdup(spec->session_token));
        if (spec->session_token && *spec->session_token)
            kvs_add(&extra, hoist_xstrdup("X-Amz-Security-Token"),
                    hoist_xstrdup(spec->session_token));
        if (content_hdr) {
            kvs_add(&hdr, hoist_xstrdup("x-amz-content-sha256"), hoist_xstrdup(payload));
            kvs_add(&extra, hoist_xstrdup("x-amz-content-sha256"), hoist_xstrdup(payload));
        }
    }
    hoist_sort(hdr.v, hdr.n, sizeof *hdr.v, kv_cmp_header);
    hoist_buf canon_hdrs = {0}, sh = {0};
    for (size_t i = 0; i < hdr.n; i++) {
        if (i && !strcmp(hdr.v[i].k, hdr.v[i - 1].k)) {
            hoist_buf_printf(&canon_hdrs, ",%s", hdr.v[i].v);
            continue;
        }
        if (i)
            hoist_buf_puts(&canon_hdrs, "\n");
        hoist_buf_printf(&canon_hdrs, "%s:%s", hdr.v[i].k, hdr.v[i].v);
        hoist_buf_printf(&sh, "%s%s", sh.len ? ";" : "", hdr.v[i].k);
    }
    signed_hdrs = hoist_buf_steal(&sh);

    /* Query: the URL's, plus the signing parameters when presigning. */
    parse_query(&qry, u.query);
    hoist_buf added = {0}; /* the signing parameters as appended to the URL */
    if (presign) {
        char *cred = hoist_xasprintf("%s/%s", spec->access_key_id, scope);
        char *exp = hoist_xasprintf("%ld", in->expires);
        const char *names[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                               "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Security-Token"};
        const char *vals[] = {ALGO, cred, amzdate, exp, signed_hdrs,
                              sign_token ? spec->session_token : NULL};
        for (size_t i = 0; i < 6; i++) {
            if (!vals[i])
                continue;
            add_query(&qry, names[i], vals[i]);
            hoist_buf_printf(&added, "%s%s=%s", added.len ? "&" : "", names[i],
                             qry.v[qry.n - 1].v);
        }
        free(cred);
        free(exp);
    }
    hoist_sort(qry.v, qry.n, sizeof *qry.v, kv_cmp_query);
    hoist_buf cq = {0};
    for (size_t i = 0; i < qry.n; i++)
        hoist_buf_printf(&cq, "%s%s=%s", i ? "&" : "", qry.v[i].k, qry.v[i].v);
    canon_query = hoist_buf_steal(&cq);

    /* Path: S3 signs it as sent; other services normalise then encode the
       (already encoded) path once more. */
    char *canon_uri;
    if (s3) {
        canon_uri = hoist_xstrdup(*u.path ? u.path : "/");
    } else {
        char *np = (spec->flags & HOIST_SIGV4_NO_NORMALIZE)
                       ? hoist_xstrdup(*u.path ? u.path : "/")
                       : normalize_path(u.path);
        hoist_buf pb = {0};
        hoist_uri_encode(&pb, np, strlen(np), 1);
        free(np);
        canon_uri = hoist_buf_steal(&pb);
    }

    hoist_buf_printf(&b, "%s\n%s\n%s\n%s\n\n%s\n%s", in->method, canon_uri, canon_query,
                     canon_hdrs.s ? canon_hdrs.s : "", signed_hdrs, payload);
    free(canon_uri);
    hoist_buf_free(&canon_hdrs);
    out->canonical_request = hoist_buf_steal(&b);

    char creq_hash[65];
    hoist_sha256_hex(out->canonical_request, strlen(out->canonical_request), creq_hash);
    out->string_to_sign = hoist_xasprintf(ALGO "\n%s\n%s\n%s", amzdate, scope, creq_hash);

    /* The signing key never leaves this function. */
    unsigned char k[32];
    char *k0 = hoist_xasprintf("AWS4%s", spec->secret_access_key);
    hmac(k0, strlen(k0), date, k);
    OPENSSL_cleanse(k0, strlen(k0));
    free(k0);
    hmac(k, 32, spec->region, k);
    hmac(k, 32, spec->service, k);
    hmac(k, 32, "aws4_request", k);
    unsigned char sig[32];
    hmac(k, 32, out->string_to_sign, sig);
    OPENSSL_cleanse(k, sizeof k);
    out->signature = hoist_xmalloc(65);
    for (int i = 0; i < 32; i++)
        sprintf(out->signature + 2 * i, "%02x", sig[i]);

    if (presign) {
        const char *frag = strchr(in->url, '#');
        size_t base = frag ? (size_t)(frag - in->url) : strlen(in->url);
        out->url = hoist_xasprintf("%.*s%s%s&X-Amz-Signature=%s", (int)base, in->url,
                                   *u.query ? "&" : (in->url[base - 1] == '?' ? "" : "?"),
                                   added.s, out->signature);
    } else {
        out->url = hoist_xstrdup(in->url);
        out->authorization =
            hoist_xasprintf(ALGO " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                            spec->access_key_id, scope, signed_hdrs, out->signature);
        out->add_headers = hoist_xcalloc(extra.n + 2, sizeof(char *));
        for (size_t i = 0; i < extra.n; i++)
            out->add_headers[i] = hoist_xasprintf("%s: %s", extra.v[i].k, extra.v[i].v);
        out->add_headers[extra.n] = hoist_xasprintf("Authorization: %s", out->authorization);
    }
    hoist_buf_free(&added);
    free(scope);
    rc = 0;

cleanup:
    url_parts_free(&u);
    kvs_free(&hdr);
    kvs_free(&qry);
    kvs_free(&extra);
    hoist_buf_free(&b);
    free(canon_query);
    free(signed_hdrs);
    if (rc != 0)
        hoist_sigv4_output_free(out);
    return rc;
}

void hoist_sigv4_output_free(hoist_sigv4_output *out)
{
    free(out->canonical_request);
    free(out->string_to_sign);
    if (out->signature)
        OPENSSL_cleanse(out->signature, strlen(out->signature));
    free(out->signature);
    free(out->authorization);
    for (char **h = out->add_headers; h && *h; h++)
        free(*h);
    free(out->add_headers);
    free(out->url);
    memset(out, 0, sizeof *out);
}

char *hoist_eks_token(const hoist_sigv4_spec *spec, const char *cluster, const char *sts_url,
                      time_t when, char **err)
{
    /* aws-iam-authenticator's format: the cluster name travels in the signed
       header x-k8s-aws-id, the URL expires in 60 s, and the token is
       "k8s-aws-v1." + unpadded base64url of the presigned URL. */
    char *base = sts_url ? hoist_xstrdup(sts_url)
                         : hoist_xasprintf("https://sts.%s.amazonaws.com/", spec->region);
    size_t bl = strlen(base);
    char *url = hoist_xasprintf("%s%sAction=GetCallerIdentity&Version=2011-06-15", base,
                                bl && base[bl - 1] == '/' ? "?" : "/?");
    free(base);
    char *hdr = hoist_xasprintf("x-k8s-aws-id: %s", cluster);
    const char *headers[] = {hdr, NULL};
    hoist_sigv4_spec s = *spec;
    s.service = "sts";
    s.flags &= ~(unsigned)HOIST_SIGV4_UNSIGNED_PAYLOAD;
    hoist_sigv4_input in = {.method = "GET", .url = url, .headers = headers, .when = when,
                            .expires = 60};
    hoist_sigv4_output out;
    char *token = NULL;
    if (hoist_sigv4_sign(&s, &in, &out, err) == 0) {
        size_t n = strlen(out.url);
        unsigned char *b64 = hoist_xmalloc(4 * ((n + 2) / 3) + 1);
        int m = EVP_EncodeBlock(b64, (const unsigned char *)out.url, (int)n);
        while (m > 0 && b64[m - 1] == '=')
            m--;
        for (int i = 0; i < m; i++)
            b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
        token = hoist_xasprintf("k8s-aws-v1.%.*s", m, (char *)b64);
        free(b64);
        hoist_sigv4_output_free(&out);
    }
    free(url);
    free(hdr);
    return token;
}
