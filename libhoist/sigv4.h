/*
 * sigv4.h - AWS Signature Version 4 (header signing, presigned URLs, S3's
 * variant, the EKS token).  Pure computation with OpenSSL: no I/O, no global
 * state, so every function is thread-safe.
 *
 * Facts relied on (AWS "Signature Version 4 signing process" documentation):
 * canonical request = method, canonical URI, canonical query, canonical
 * headers, signed header list, payload hash, joined by '\n'; the signing key
 * is HMAC chained over "AWS4"+secret, date, region, service, "aws4_request";
 * presigned URLs carry X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders
 * (and X-Amz-Security-Token) in the signed query and append X-Amz-Signature.
 */
#ifndef HOIST_SIGV4_H
#define HOIST_SIGV4_H

#include <hoist/host.h>
#include <time.h>

/* One request to sign.  Borrowed pointers. */
typedef struct hoist_sigv4_input {
    const char *method;
    const char *url;               /* scheme://host[:port]/path?query, as sent */
    const char *const *headers;    /* NULL-terminated "Name: value", or NULL */
    const void *body;
    size_t body_len;
    time_t when;                   /* signing time (Unix seconds); 0 = now */
    long expires;                  /* > 0: presign (query signing) for that many seconds */
} hoist_sigv4_input;

/* The result; every member malloc'd, freed by hoist_sigv4_output_free. */
typedef struct hoist_sigv4_output {
    char *canonical_request;
    char *string_to_sign;
    char *signature;        /* lowercase hex */
    char *authorization;    /* header mode: the Authorization value; NULL when presigning */
    char **add_headers;     /* NULL-terminated "Name: value" lines the request must carry
                               (X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256,
                               Authorization); header mode only */
    char *url;              /* presign: @url plus the signing query; else a copy of @url */
} hoist_sigv4_output;

/*
 * hoist_sigv4_sign - sign @in with @spec.  Returns 0, or -1 with *@err set
 * (malloc'd, no secret in it) when the URL or the spec is unusable.
 */
int hoist_sigv4_sign(const hoist_sigv4_spec *spec, const hoist_sigv4_input *in,
                     hoist_sigv4_output *out, char **err);
void hoist_sigv4_output_free(hoist_sigv4_output *out);

/*
 * hoist_eks_token - "k8s-aws-v1." + base64url (no padding) of a presigned
 * (60 s) STS GetCallerIdentity URL with the signed header x-k8s-aws-id:
 * @cluster.  @sts_url: NULL for https://sts.REGION.amazonaws.com/.  @when:
 * 0 = now.  Returns a malloc'd token, or NULL with *@err.
 */
char *hoist_eks_token(const hoist_sigv4_spec *spec, const char *cluster, const char *sts_url,
                      time_t when, char **err);

/* RFC 3986 percent-encoding of @len bytes (unreserved kept; '/' kept if
   @keep_slash), appended to @b.  Exposed for drivers' URL building. */
struct hoist_buf;
void hoist_uri_encode(struct hoist_buf *b, const char *s, size_t len, int keep_slash);


#endif
