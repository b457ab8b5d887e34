/*
 * hoist/host.h - services the core lends to drivers.
 *
 * The table is append-only (see the versioning rule in hoist/provider.h):
 * a driver checks host->struct_size (or HOIST_HOST_HAS()) before using a
 * member added after the ABI minor it was built for.  Drivers never link
 * libcurl or OpenSSL themselves: transport and signing arrive here, so that
 * retries, tracing, TLS policy and secret redaction are right once.
 *
 * Every function takes the hoist_ctx the driver was handed (init's for
 * driver-wide work, the operation's inside an operation).  All functions are
 * thread-safe.
 */
#ifndef HOIST_HOST_H
#define HOIST_HOST_H

#include <stdarg.h>
#include <hoist/provider.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Log levels for host->log.  Since: ABI 1.0 */
enum { HOIST_LOG_ERROR = 0, HOIST_LOG_WARN = 1, HOIST_LOG_INFO = 2, HOIST_LOG_DEBUG = 3 };

/** HOIST_PRINTF - printf-style format checking of host functions.  Since: ABI 1.0 */
#if defined(__GNUC__)
#define HOIST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HOIST_PRINTF(a, b)
#endif

/**
 * hoist_sigv4_spec - how to sign a request with AWS Signature Version 4.
 * Drivers fill it and hand it to host->http (or host->sigv4_presign,
 * host->eks_token); the core computes every HMAC, so drivers never hold a
 * signing key.  Strings are borrowed for the call.
 * @service, @region: the credential scope ("ec2", "eu-west-3").
 * @access_key_id, @secret_access_key: required; @session_token: or NULL.
 * @flags: HOIST_SIGV4_* below.
 * Since: ABI 1.1
 */
typedef struct hoist_sigv4_spec {
    size_t struct_size;
    const char *service;
    const char *region;
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
    unsigned flags;
} hoist_sigv4_spec;

/** Flags of hoist_sigv4_spec.  Since: ABI 1.1 */
enum {
    /* S3's variant: the path is signed as sent (no normalisation, no second
       encoding) and x-amz-content-sha256 is added. */
    HOIST_SIGV4_S3 = 1u << 0,
    /* Sign "UNSIGNED-PAYLOAD" instead of the body's SHA-256. */
    HOIST_SIGV4_UNSIGNED_PAYLOAD = 1u << 1,
    /* Add and sign x-amz-content-sha256 (implied by HOIST_SIGV4_S3). */
    HOIST_SIGV4_CONTENT_SHA256 = 1u << 2,
    /* Do not remove dot segments and repeated slashes from the path. */
    HOIST_SIGV4_NO_NORMALIZE = 1u << 3,
    /* Leave the session token out of the signature (added after signing). */
    HOIST_SIGV4_OMIT_TOKEN = 1u << 4
};

/** Flags of hoist_http_request.  Since: ABI 1.1 */
enum {
    /* Safe to retry although the method is POST or PATCH (the request
       carries an idempotency token). */
    HOIST_HTTP_IDEMPOTENT = 1u << 0,
    /* Never retry, whatever the method and the answer. */
    HOIST_HTTP_NO_RETRY = 1u << 1,
    /* Allow http:// to a loopback address (127.0.0.0/8, ::1, localhost).
       Set it only for an endpoint the user configured explicitly. */
    HOIST_HTTP_ALLOW_PLAIN_LOOPBACK = 1u << 2
};

/**
 * hoist_http_request - one HTTP exchange for host->http.  Zero what you do
 * not set (designated initialisers); every pointer is borrowed for the call.
 * @method:   "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD".
 * @url:      absolute https:// URL (http:// only to loopback, see flags),
 *            already percent-encoded.
 * @headers:  NULL-terminated "Name: value" strings, or NULL.
 * @body, @body_len: the request body, or NULL/0.
 * @flags:    HOIST_HTTP_* bits.
 * @operation: a name for the counters and traces ("ec2:CreateVpc",
 *            "GET /v2/vpcs/{id}"); NULL = method and path.
 * @ca_file, @ca_pem: trust this PEM bundle (a path, or the text) instead of
 *            the system's; verification is never turned off.
 * @connect_timeout_ms, @timeout_ms: per attempt; 0 = 10 s and 120 s.
 * @max_attempts: 0 = 5.
 * @sigv4:    sign every attempt with SigV4, or NULL.
 * Since: ABI 1.1
 */
typedef struct hoist_http_request {
    size_t struct_size;
    const char *method;
    const char *url;
    const char *const *headers;
    const void *body;
    size_t body_len;
    unsigned flags;
    const char *operation;
    const char *ca_file;
    const char *ca_pem;
    long connect_timeout_ms;
    long timeout_ms;
    int max_attempts;
    const hoist_sigv4_spec *sigv4;
} hoist_http_request;

/**
 * hoist_http_response - filled by host->http; free with
 * host->http_response_free.  @body is NUL-terminated (never NULL after a
 * successful call).  @attempts counts every try, the last included.
 * @internal belongs to the core.  Since: ABI 1.1
 */
typedef struct hoist_http_response {
    size_t struct_size;
    long status;
    char *body;
    size_t body_len;
    int attempts;
    void *internal;
} hoist_http_response;

/** An XML document and element from host->xml_parse.  Opaque.  Since: ABI 1.1 */
typedef struct hoist_xml_doc hoist_xml_doc;
typedef struct hoist_xml_node hoist_xml_node;

/**
 * hoist_host - the table lent to init() and valid until fini() returns.
 * @struct_size: sizeof(hoist_host) as the core compiled it.
 * @abi_major, @abi_minor: the core's HOIST_ABI_MAJOR/MINOR.
 * Since: ABI 1.0 (members as marked)
 */
typedef struct hoist_host {
    size_t struct_size;
    unsigned abi_major;
    unsigned abi_minor;

    /**
     * log - a line for the user, prefixed by the core with the driver's name
     * and the resource.  Registered secrets are masked.  Never pass a secret.
     * Since: ABI 1.0
     */
    void (*log)(hoist_ctx *ctx, int level, const char *fmt, ...) HOIST_PRINTF(3, 4);

    /**
     * fail - report why an operation failed, once, where it happens.  The
     * first report of a call wins; later ones are dropped, so a caller never
     * overwrites its callee's detail.  Returns @status, so drivers write
     * `return host->fail(ctx, HOIST_E_AUTH, "token rejected: %s", msg);`.
     * Since: ABI 1.0
     */
    hoist_status (*fail)(hoist_ctx *ctx, hoist_status status, const char *fmt, ...)
        HOIST_PRINTF(3, 4);

    /**
     * secret - register a value the process must never print (a password, a
     * token, a key).  Every later log line, trace and error is masked.  Values
     * shorter than 4 bytes are ignored.  Since: ABI 1.0
     */
    void (*secret)(hoist_ctx *ctx, const char *value);

    /** cancelled - non-zero once the run is being stopped (signal, deadline).  Since: ABI 1.0 */
    int (*cancelled)(hoist_ctx *ctx);

    /**
     * state_dir - a directory private to this project, environment and driver
     * where the driver may keep files (created on first call, mode 0700).
     * `hoist destroy` removes it once the environment records nothing.
     * Borrowed string, valid for the driver's lifetime.  Since: ABI 1.0
     */
    const char *(*state_dir)(hoist_ctx *ctx);

    /**
     * random_secret - fill @buf (of @len bytes, NUL included) with a random
     * password of [A-Za-z0-9], registered as a secret.  Returns HOIST_OK or
     * HOIST_E_INTERNAL.  Since: ABI 1.0
     */
    hoist_status (*random_secret)(hoist_ctx *ctx, char *buf, size_t len);

    /**
     * http - perform @req with the core's policy: TLS always verified,
     * connection reuse, retries with backoff for transient failures
     * (connection errors, timeouts, 429, 5xx, throttling codes; POST/PATCH
     * only with HOIST_HTTP_IDEMPOTENT), cancellation, tracing with secrets
     * masked, counters.  Returns HOIST_OK when an answer arrived (any status:
     * read @resp->status), otherwise an error reported through fail()
     * (HOIST_E_TRANSIENT, HOIST_E_INVALID for a refused URL or bad CA,
     * HOIST_E_CANCELLED).  On success free @resp with http_response_free.
     * Since: ABI 1.1
     */
    hoist_status (*http)(hoist_ctx *ctx, const hoist_http_request *req,
                         hoist_http_response *resp);

    /** http_response_free - release what http put in @resp.  Since: ABI 1.1 */
    void (*http_response_free)(hoist_http_response *resp);

    /**
     * http_header - value of response header @name (case-insensitive; the
     * last one if repeated), or NULL.  Borrowed from @resp.  Since: ABI 1.1
     */
    const char *(*http_header)(const hoist_http_response *resp, const char *name);

    /**
     * http_error - turn a failed answer (status >= 300) into a status and
     * one fail() report naming @what, the HTTP status and the service's
     * error code and message (AWS XML and JSON error shapes, and
     * DigitalOcean/Scaleway JSON).  Returns HOIST_E_AUTH, HOIST_E_QUOTA,
     * HOIST_E_TRANSIENT, HOIST_E_INVALID, HOIST_E_NOTFOUND, HOIST_E_CONFLICT
     * or HOIST_E_INTERNAL.  Since: ABI 1.1
     */
    hoist_status (*http_error)(hoist_ctx *ctx, const hoist_http_response *resp, const char *what);

    /**
     * sigv4_presign - a presigned URL (query signing) for @method @url valid
     * @expires seconds; *@out is malloc(3)'d.  Since: ABI 1.1
     */
    hoist_status (*sigv4_presign)(hoist_ctx *ctx, const hoist_sigv4_spec *spec, const char *method,
                                  const char *url, long expires, char **out);

    /**
     * eks_token - a bearer token for EKS cluster @cluster (what
     * `aws eks get-token` prints), from a presigned STS GetCallerIdentity.
     * @sts_endpoint: NULL for https://sts.REGION.amazonaws.com, or an
     * override.  *@out is malloc(3)'d and registered as a secret.  The
     * token is valid about 15 minutes.  Since: ABI 1.1
     */
    hoist_status (*eks_token)(hoist_ctx *ctx, const hoist_sigv4_spec *spec, const char *cluster,
                              const char *sts_endpoint, char **out);

    /**
     * credentials - the cloud credentials for @cloud ("aws", "digitalocean",
     * "scaleway") from hoist.yml @settings (may be NULL), the environment and
     * the cloud's own files.  *@out: a new JSON object (see creds.h in the
     * core for its keys: aws: access_key_id, secret_access_key,
     * session_token, region, endpoints{service: url}; digitalocean: token,
     * api_url; scaleway: access_key, secret_key, project_id, region, zone,
     * api_url), every secret registered.  HOIST_E_AUTH with one message
     * listing every place looked when incomplete.  Since: ABI 1.1
     */
    hoist_status (*credentials)(hoist_ctx *ctx, const char *cloud, json_t *settings, json_t **out);

    /**
     * XML (for AWS Query answers).  xml_parse: a document or NULL (fail()
     * reported).  Paths are element names separated by '/', namespaces
     * ignored, relative to @from ("vpcSet/item").  xml_first: the first
     * element at @path (NULL @path = @from's first child element);
     * xml_next: the next sibling element with the same name; xml_text: the
     * text of the element at @path (NULL = @from itself), malloc(3)'d, or
     * NULL if absent.  Nodes are borrowed from the document.
     * Since: ABI 1.1
     */
    hoist_xml_doc *(*xml_parse)(hoist_ctx *ctx, const char *buf, size_t len);
    const hoist_xml_node *(*xml_root)(const hoist_xml_doc *doc);
    const hoist_xml_node *(*xml_first)(const hoist_xml_node *from, const char *path);
    const hoist_xml_node *(*xml_next)(const hoist_xml_node *node);
    char *(*xml_text)(const hoist_xml_node *from, const char *path);
    void (*xml_free)(hoist_xml_doc *doc);

    /**
     * base64_encode - standard base64 (with padding) of @len bytes at @p, as
     * a new NUL-terminated string (free with free(3)).  Since: ABI 1.2
     */
    char *(*base64_encode)(const void *p, size_t len);

    /**
     * base64_decode - decode standard base64 @s, skipping white space (as in
     * PEM or kubeconfig data).  Returns a new NUL-terminated buffer (free
     * with free(3)) and its byte count in *@len (may be NULL), or NULL if @s
     * is not valid base64.  Since: ABI 1.2
     */
    char *(*base64_decode)(const char *s, size_t *len);

    /**
     * progress - the status line of the running operation ("creating",
     * "waiting for 2 of 3 nodes"), shown by `hoist -v` and in JSON events
     * while the call answers HOIST_PENDING.  The core copies the formatted
     * text (masked, one line, at most 200 bytes), so @fmt and its arguments
     * may live on the stack or in an answer freed before the call returns.
     * The last call of an operation wins; it replaces the deprecated
     * hoist_result.status_text.  Check HOIST_HOST_HAS(host, progress) when
     * the driver may run under a 1.2 core.  Since: ABI 1.3
     */
    void (*progress)(hoist_ctx *ctx, const char *fmt, ...) HOIST_PRINTF(2, 3);
} hoist_host;

/** True if @host is new enough to carry @member.  Since: ABI 1.0 */
#define HOIST_HOST_HAS(host, member)                                                          \
    ((host)->struct_size >= offsetof(hoist_host, member) + sizeof((host)->member) &&       \
     (host)->member != NULL)

#ifdef __cplusplus
}
#endif
#endif /* HOIST_HOST_H */
