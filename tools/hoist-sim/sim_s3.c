/*
 * sim_s3.c - Amazon S3 in hoist-sim: path-style buckets and objects, enough
 * for hoist's state backend and for the AWS CLI's `s3 cp` / `s3api`:
 * CreateBucket, HeadBucket, DeleteBucket, ListObjectsV2 (prefix, delimiter,
 * max-keys), PutObject (If-None-Match: *, If-Match), GetObject, HeadObject
 * (ETag, Last-Modified, x-amz-meta-*), DeleteObject (If-Match).
 *
 * Requests are claimed by the SigV4 credential scope (service "s3"), so the
 * module must be registered before the AWS cloud, whose claim takes every
 * other signed request.  Signatures are verified with S3's variant
 * (aws_sigv4_check), x-amz-content-sha256 is required and checked against
 * the body unless it is UNSIGNED-PAYLOAD.  Errors are S3's <Error> document.
 *
 * Objects are resources of type "s3_object" (id "bucket/key", parent the
 * bucket) whose body shows the metadata; the bytes are kept base64-encoded
 * in the private part.  Objects holding NUL bytes are refused (the
 * framework answers with C strings).
 */
#include "autoconfig.h"

#include "sim.h"
#include "sim_aws.h"
#include "util.h"

#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const sim_kind s3_bucket_kind = {.cloud = "aws", .type = "s3_bucket"};
static const sim_kind s3_object_kind = {.cloud = "aws", .type = "s3_object"};

/* ------------------------------------------------------------------ XML answers */

static void s3_error_doc(sim_req *rq, sim_resp *rs, int status, const char *code, const char *msg)
{
    hoist_buf b = {0};
    char *id = sim_uuid();
    const char *bucket = sim_param(rq, "bucket"), *key = sim_param(rq, "key");
    hoist_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                         "<Message>", code);
    aws_xml_esc(&b, msg);
    hoist_buf_puts(&b, "</Message>");
    if (bucket && *bucket) {
        hoist_buf_puts(&b, "<BucketName>");
        aws_xml_esc(&b, bucket);
        hoist_buf_puts(&b, "</BucketName>");
    }
    if (key && *key) {
        hoist_buf_puts(&b, "<Key>");
        aws_xml_esc(&b, key);
        hoist_buf_puts(&b, "</Key>");
    }
    hoist_buf_printf(&b, "<RequestId>%s</RequestId><HostId>hoist-sim</HostId></Error>", id);
    sim_reply_text(rs, status, "application/xml", b.s);
    sim_reply_header(rs, "x-amz-request-id", "%s", id);
    hoist_buf_free(&b);
    free(id);
}

static void s3_fail(sim_req *rq, sim_resp *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void s3_fail(sim_req *rq, sim_resp *rs, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    s3_error_doc(rq, rs, status, code, msg);
    free(msg);
}

/* The framework's cloud-neutral kinds, as S3 names them. */
static void s3_error(sim_req *rq, sim_resp *rs, int status, const char *kind,
                     const char *resource, const char *message)
{
    (void)resource;
    if (strcmp(kind, "throttled") == 0)
        s3_error_doc(rq, rs, 503, "SlowDown", "Please reduce your request rate.");
    else if (strcmp(kind, "server_error") == 0)
        s3_error_doc(rq, rs, 500, "InternalError", message);
    else if (strcmp(kind, "unavailable") == 0)
        s3_error_doc(rq, rs, 503, "ServiceUnavailable", message);
    else if (strcmp(kind, "method_not_allowed") == 0)
        s3_error_doc(rq, rs, 405, "MethodNotAllowed",
                     "The specified method is not allowed against this resource.");
    else if (strcmp(kind, "not_found") == 0)
        s3_error_doc(rq, rs, 501, "NotImplemented",
                     "hoist-sim does not implement this S3 operation");
    else
        s3_error_doc(rq, rs, status, "InvalidRequest", message);
}

/* ------------------------------------------------------------------ auth and routing */

static int s3_auth(sim_req *rq, sim_resp *rs)
{
    const char *why;
    int rc = aws_sigv4_check(rq, &why);
    if (rc == 0) {
        s3_fail(rq, rs, 403, "AccessDenied", "Anonymous access is not allowed by hoist-sim");
        return 0;
    }
    if (rc == -1) {
        s3_fail(rq, rs, 403, "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.");
        return 0;
    }
    if (rc == -2) {
        s3_fail(rq, rs, 403, "SignatureDoesNotMatch", "%s", why);
        return 0;
    }
    const char *sha = sim_header_in(rq, "x-amz-content-sha256");
    if (!sha) {
        s3_fail(rq, rs, 400, "InvalidRequest",
                "Missing required header for this request: x-amz-content-sha256");
        return 0;
    }
    if (strncmp(sha, "STREAMING-", 10) == 0) {
        s3_fail(rq, rs, 501, "NotImplemented",
                "hoist-sim does not accept aws-chunked uploads (%s)", sha);
        return 0;
    }
    if (strcmp(sha, "UNSIGNED-PAYLOAD") != 0) {
        char hex[65];
        hoist_sha256_hex(rq->body, rq->body_len, hex);
        if (strcmp(hex, sha) != 0) {
            s3_fail(rq, rs, 400, "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was "
                    "computed.");
            return 0;
        }
    }
    return 1;
}

/* Claim requests whose credential scope names the "s3" service. */
static char *s3_claim(sim_req *rq)
{
    const char *az = sim_header_in(rq, "Authorization");
    const char *cred = az && strncmp(az, "AWS4-HMAC-SHA256 ", 17) == 0 ? strstr(az, "Credential=")
                                                                      : NULL;
    const char *end = cred ? cred + strcspn(cred, ", ") : NULL;
    if (!cred || end - cred < 16 || strncmp(end - 16, "/s3/aws4_request", 16) != 0)
        return NULL;
    /* bodies are opaque bytes, never JSON: keep the framework from parsing them */
    rq->json = json_object();
    return hoist_xasprintf("s3:%s", rq->path);
}

static const sim_cloud s3_cloud = {
    .name = "s3", .prefixes = {NULL}, .auth = s3_auth, .error = s3_error, .faults = 1,
    .claim = s3_claim,
};

/* ------------------------------------------------------------------ helpers */

static char *s3_http_date(long long ms)
{
    char buf[64];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return hoist_xstrdup(buf);
}

static char *s3_iso(long long ms)
{
    char ts[32];
    sim_rfc3339(ms, ts);
    ts[strlen(ts) - 1] = '\0';
    return hoist_xasprintf("%s.%03lldZ", ts, ms % 1000);
}

static sim_res *s3_bucket(sim_req *rq, sim_resp *rs)
{
    const char *name = sim_param(rq, "bucket");
    sim_res *b = sim_res_get(&s3_bucket_kind, name);
    if (!b)
        s3_fail(rq, rs, 404, "NoSuchBucket", "The specified bucket does not exist");
    return b;
}

static sim_res *s3_object(const char *bucket, const char *key)
{
    char *id = hoist_xasprintf("%s/%s", bucket, key);
    sim_res *o = sim_res_get(&s3_object_kind, id);
    free(id);
    return o;
}

/*
 * If-Match / If-None-Match against @o (NULL: absent).  Returns 1 to go on,
 * 0 when @rs was filled (412, or 404 for If-Match on a missing object).
 */
static int s3_preconditions(sim_req *rq, sim_resp *rs, sim_res *o)
{
    const char *im = sim_header_in(rq, "If-Match"), *inm = sim_header_in(rq, "If-None-Match");
    const char *etag = o ? json_string_value(json_object_get(o->body, "ETag")) : NULL;
    if (im && !o) {
        s3_fail(rq, rs, 404, "NoSuchKey", "The specified key does not exist.");
        return 0;
    }
    if (im && strcmp(im, "*") != 0 && strcmp(im, etag) != 0) {
        s3_fail(rq, rs, 412, "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold");
        return 0;
    }
    if (inm && o && (strcmp(inm, "*") == 0 || strcmp(inm, etag) == 0)) {
        s3_fail(rq, rs, 412, "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold");
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ buckets */

static void s3_bucket_put(sim_req *rq, sim_resp *rs)
{
    const char *name = sim_param(rq, "bucket");
    size_t n = strlen(name);
    if (n < 3 || n > 63 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n) {
        s3_fail(rq, rs, 400, "InvalidBucketName", "The specified bucket is not valid.");
        return;
    }
    if (sim_res_get(&s3_bucket_kind, name)) {
        s3_fail(rq, rs, 409, "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already "
                "own it.");
        return;
    }
    char *now = s3_iso(sim_wall_ms());
    sim_res_new(&s3_bucket_kind, name, name, aws_region(rq), NULL,
                json_pack("{s:s,s:s,s:s}", "Name", name, "CreationDate", now, "Region",
                          aws_region(rq)), NULL);
    free(now);
    sim_reply_header(rs, "Location", "/%s", name);
    sim_reply_text(rs, 200, "application/xml", "");
}

static void s3_bucket_head(sim_req *rq, sim_resp *rs)
{
    if (s3_bucket(rq, rs)) {
        sim_reply_header(rs, "x-amz-bucket-region", "%s", aws_region(rq));
        sim_reply_text(rs, 200, "application/xml", "");
    }
}

static void s3_bucket_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *b = s3_bucket(rq, rs);
    if (!b)
        return;
    if (sim_res_first(&s3_object_kind, b->id)) {
        s3_fail(rq, rs, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
        return;
    }
    sim_res_delete(b);
    rs->status = 204;
}

static void s3_list_entry(hoist_buf *x, sim_res *o)
{
    hoist_buf_puts(x, "<Contents><Key>");
    aws_xml_esc(x, o->name);
    hoist_buf_puts(x, "</Key><LastModified>");
    hoist_buf_puts(x, json_string_value(json_object_get(o->body, "LastModified")));
    hoist_buf_puts(x, "</LastModified><ETag>");
    aws_xml_esc(x, json_string_value(json_object_get(o->body, "ETag")));
    hoist_buf_printf(x, "</ETag><Size>%lld</Size><StorageClass>STANDARD</StorageClass></Contents>",
                     (long long)json_integer_value(json_object_get(o->body, "Size")));
}

static int s3_key_cmp(const void *a, const void *b)
{
    return strcmp((*(sim_res *const *)a)->name, (*(sim_res *const *)b)->name);
}

/* ListObjectsV2: keys in UTF-8 binary order, after start-after / continuation-token. */
static void s3_bucket_list(sim_req *rq, sim_resp *rs)
{
    sim_res *b = s3_bucket(rq, rs);
    if (!b)
        return;
    const char *lt = sim_query(rq, "list-type");
    if (!lt || strcmp(lt, "2") != 0) {
        s3_fail(rq, rs, 501, "NotImplemented", "hoist-sim implements ListObjectsV2 only "
                                               "(list-type=2)");
        return;
    }
    const char *prefix = sim_query(rq, "prefix") ?: "", *delim = sim_query(rq, "delimiter");
    const char *after = sim_query(rq, "continuation-token") ?: sim_query(rq, "start-after");
    const char *mk = sim_query(rq, "max-keys");
    long max = mk ? strtol(mk, NULL, 10) : 1000;
    if (max < 0 || max > 1000)
        max = 1000;
    size_t n = 0, cap = 16;
    sim_res **v = hoist_xcalloc(cap, sizeof *v);
    for (sim_res *o = sim_res_first(&s3_object_kind, b->id); o;
         o = sim_res_next(o, &s3_object_kind, b->id)) {
        if (strncmp(o->name, prefix, strlen(prefix)) != 0 || (after && strcmp(o->name, after) <= 0))
            continue;
        if (n == cap)
            v = hoist_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = o;
    }
    hoist_sort(v, n, sizeof *v, s3_key_cmp);
    hoist_buf x = {0}, cps = {0};
    json_t *seen = json_object();
    long count = 0;
    size_t i = 0;
    for (; i < n && count < max; i++) {
        const char *rest = v[i]->name + strlen(prefix);
        const char *d = delim && *delim ? strstr(rest, delim) : NULL;
        if (d) {
            char *cp = hoist_xstrndup(v[i]->name, (size_t)(d - v[i]->name) + strlen(delim));
            if (!json_object_get(seen, cp)) {
                json_object_set_new(seen, cp, json_true());
                hoist_buf_puts(&cps, "<CommonPrefixes><Prefix>");
                aws_xml_esc(&cps, cp);
                hoist_buf_puts(&cps, "</Prefix></CommonPrefixes>");
                count++;
            }
            free(cp);
            continue;
        }
        s3_list_entry(&x, v[i]);
        count++;
    }
    hoist_buf doc = {0};
    hoist_buf_printf(&doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
                           "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>");
    aws_xml_esc(&doc, b->id);
    hoist_buf_puts(&doc, "</Name><Prefix>");
    aws_xml_esc(&doc, prefix);
    hoist_buf_printf(&doc, "</Prefix><KeyCount>%ld</KeyCount><MaxKeys>%ld</MaxKeys>", count, max);
    if (delim) {
        hoist_buf_puts(&doc, "<Delimiter>");
        aws_xml_esc(&doc, delim);
        hoist_buf_puts(&doc, "</Delimiter>");
    }
    hoist_buf_printf(&doc, "<IsTruncated>%s</IsTruncated>", i < n ? "true" : "false");
    if (i < n) {
        /* the token is the last key returned: the next page starts after it */
        hoist_buf_puts(&doc, "<NextContinuationToken>");
        aws_xml_esc(&doc, v[i - 1]->name);
        hoist_buf_puts(&doc, "</NextContinuationToken>");
    }
    hoist_buf_printf(&doc, "%s%s</ListBucketResult>", x.s ? x.s : "", cps.s ? cps.s : "");
    sim_reply_text(rs, 200, "application/xml", doc.s);
    hoist_buf_free(&doc);
    hoist_buf_free(&x);
    hoist_buf_free(&cps);
    json_decref(seen);
    free(v);
}

/* ------------------------------------------------------------------ objects */

static void s3_object_headers(sim_resp *rs, sim_res *o)
{
    const char *k;
    json_t *v;
    sim_reply_header(rs, "ETag", "%s", json_string_value(json_object_get(o->body, "ETag")));
    sim_reply_header(rs, "Last-Modified", "%s",
                     json_string_value(json_object_get(o->priv, "http_date")));
    sim_reply_header(rs, "Accept-Ranges", "bytes");
    json_object_foreach(json_object_get(o->body, "Metadata"), k, v) {
        char *name = hoist_xasprintf("x-amz-meta-%s", k);
        sim_reply_header(rs, name, "%s", json_string_value(v));
        free(name);
    }
}

static enum MHD_Result s3_meta_it(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    if (strncasecmp(k, "x-amz-meta-", 11) == 0 && json_object_size(cls) < 4) {
        char *name = hoist_xstrdup(k + 11);
        for (char *p = name; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        json_object_set_new(cls, name, json_string(v ? v : ""));
        free(name);
    }
    return MHD_YES;
}

static void s3_object_put(sim_req *rq, sim_resp *rs)
{
    sim_res *b = s3_bucket(rq, rs);
    if (!b)
        return;
    const char *key = sim_param(rq, "key");
    if (sim_header_in(rq, "x-amz-copy-source")) {
        s3_fail(rq, rs, 501, "NotImplemented", "hoist-sim does not implement CopyObject");
        return;
    }
    if (memchr(rq->body, '\0', rq->body_len)) {
        s3_fail(rq, rs, 501, "NotImplemented", "hoist-sim stores objects without NUL bytes only");
        return;
    }
    sim_res *o = s3_object(b->id, key);
    if (!s3_preconditions(rq, rs, o))
        return;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(rq->body, rq->body_len, md, &mdlen, EVP_md5(), NULL);
    hoist_buf etag = {0};
    hoist_buf_puts(&etag, "\"");
    for (unsigned i = 0; i < mdlen; i++)
        hoist_buf_printf(&etag, "%02x", md[i]);
    hoist_buf_puts(&etag, "\"");
    long long now = sim_wall_ms();
    char *iso = s3_iso(now), *date = s3_http_date(now), *data = sim_base64(rq->body, rq->body_len);
    json_t *meta = json_object();
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, s3_meta_it, meta);
    const char *ct = sim_header_in(rq, "Content-Type");
    json_t *body = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "Bucket", b->id, "Key", key, "ETag",
                             etag.s, "Size", (json_int_t)rq->body_len, "LastModified", iso,
                             "ContentType", ct ? ct : "binary/octet-stream", "Metadata", meta);
    if (!o) {
        char *id = hoist_xasprintf("%s/%s", b->id, key);
        o = sim_res_new(&s3_object_kind, id, key, b->region, b->id, body, NULL);
        free(id);
    } else {
        json_decref(o->body);
        o->body = body;
    }
    json_object_set_new(o->priv, "data", json_string(data));
    json_object_set_new(o->priv, "http_date", json_string(date));
    sim_reply_header(rs, "ETag", "%s", etag.s);
    sim_reply_text(rs, 200, "application/xml", "");
    hoist_buf_free(&etag);
    free(iso);
    free(date);
    free(data);
}

/* GetObject and HeadObject (the framework sends no body for HEAD but keeps its length). */
static void s3_object_get(sim_req *rq, sim_resp *rs)
{
    sim_res *b = s3_bucket(rq, rs);
    if (!b)
        return;
    sim_res *o = s3_object(b->id, sim_param(rq, "key"));
    if (!o) {
        s3_fail(rq, rs, 404, "NoSuchKey", "The specified key does not exist.");
        return;
    }
    if (!s3_preconditions(rq, rs, o))
        return;
    const char *data = json_string_value(json_object_get(o->priv, "data"));
    size_t cap = strlen(data) / 4 * 3 + 4;
    unsigned char *raw = hoist_xmalloc(cap + 1);
    /* EVP_DecodeBlock counts padding as bytes: the recorded size is the truth */
    if (EVP_DecodeBlock(raw, (const unsigned char *)data, (int)strlen(data)) < 0)
        raw[0] = '\0';
    raw[json_integer_value(json_object_get(o->body, "Size"))] = '\0';
    sim_reply_text(rs, 200, NULL, (const char *)raw);
    /* copied, unlike rs->ctype: the object may be replaced before the answer is sent */
    sim_reply_header(rs, "Content-Type", "%s",
                     json_string_value(json_object_get(o->body, "ContentType")));
    s3_object_headers(rs, o);
    free(raw);
}

static void s3_object_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *b = s3_bucket(rq, rs);
    if (!b)
        return;
    sim_res *o = s3_object(b->id, sim_param(rq, "key"));
    if (sim_header_in(rq, "If-Match") && !s3_preconditions(rq, rs, o))
        return;
    if (o)
        sim_res_delete(o);
    rs->status = 204;
}

/* "/bucket/" (an empty key) is the bucket itself. */
#define S3_BUCKET_OR_OBJECT(name, bucket_fn, object_fn)                                            \
    static void name(sim_req *rq, sim_resp *rs)                                                    \
    {                                                                                              \
        const char *key = sim_param(rq, "key");                                                    \
        if (key && *key)                                                                           \
            object_fn(rq, rs);                                                                     \
        else                                                                                       \
            bucket_fn(rq, rs);                                                                     \
    }
S3_BUCKET_OR_OBJECT(s3_put, s3_bucket_put, s3_object_put)
S3_BUCKET_OR_OBJECT(s3_get, s3_bucket_list, s3_object_get)
S3_BUCKET_OR_OBJECT(s3_head, s3_bucket_head, s3_object_get)
S3_BUCKET_OR_OBJECT(s3_delete, s3_bucket_delete, s3_object_delete)

void sim_s3_register(void)
{
    static const struct {
        const char *method;
        sim_handler h;
        int mutating;
    } ops[] = {{"PUT", s3_put, 1}, {"GET", s3_get, 0}, {"HEAD", s3_head, 0},
               {"DELETE", s3_delete, 1}};
    sim_cloud_add(&s3_cloud);
    sim_kind_add(&s3_bucket_kind);
    sim_kind_add(&s3_object_kind);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        sim_route(&s3_cloud, ops[i].method, "s3:/{bucket}/{key*}", ops[i].h, ops[i].mutating);
        sim_route(&s3_cloud, ops[i].method, "s3:/{bucket}", ops[i].h, ops[i].mutating);
    }
}
