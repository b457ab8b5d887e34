/*
 * http.h - the one HTTP client of hoist (libcurl), used by the core and lent
 * to drivers through the host table (hoist/host.h: http, http_header,
 * http_response_free, http_error).
 *
 * Policy, in one place:
 *  - TLS is always verified; a request may name its own CA bundle.  Plain
 *    http:// is allowed only to loopback (127.0.0.0/8, ::1, localhost) and
 *    only with HOIST_HTTP_ALLOW_PLAIN_LOOPBACK; anything else is refused
 *    before any connection.  Redirects are not followed.
 *  - One curl handle per thread keeps connections (HTTP/2 when offered) and
 *    TLS sessions alive between requests.
 *  - Retries like the AWS SDKs' standard mode: connection errors, timeouts,
 *    429/500/502/503/504 and throttling codes, exponential backoff with full
 *    jitter, Retry-After and DigitalOcean's ratelimit-reset honoured,
 *    attempts and total time bounded.  POST and PATCH are retried only with
 *    HOIST_HTTP_IDEMPOTENT (a refused connection excepted: nothing was sent).
 *  - At TRACE level every attempt is logged with credentials masked.
 *  - Per-operation counters for tests and benchmarks.
 * All functions are thread-safe.
 */
#ifndef HOIST_HTTP_H
#define HOIST_HTTP_H

#include <hoist/host.h>
#include <jansson.h>

/*
 * hoist_http - perform @req (see hoist_http_request in hoist/host.h).
 * @ctx: for cancellation and error reports (fail() on it); may not be NULL.
 * Returns HOIST_OK when an answer arrived, whatever its status (then free
 * @resp with hoist_http_response_free), or an error already reported in
 * @ctx: HOIST_E_INVALID (URL refused, bad CA, TLS verification failed),
 * HOIST_E_TRANSIENT (network failure after retries), HOIST_E_CANCELLED.
 */
hoist_status hoist_http(hoist_ctx *ctx, const hoist_http_request *req, hoist_http_response *resp);
/* Free what hoist_http stored in @resp (safe on a zeroed response). */
void hoist_http_response_free(hoist_http_response *resp);
/* Last value of header @name (case-insensitive), borrowed from @resp, or NULL. */
const char *hoist_http_header(const hoist_http_response *resp, const char *name);
/*
 * hoist_http_error - report a failed answer once in @ctx ("@what: HTTP 404
 * InvalidVpcID.NotFound: The vpc ID 'x' does not exist") and return its
 * status: the service's error code mapped by hoist_error_code_status(), or
 * by HTTP status when the body has no code (401/403 AUTH, 404 NOTFOUND, 409
 * CONFLICT, 400/422 INVALID, 429/5xx TRANSIENT).
 */
hoist_status hoist_http_error(hoist_ctx *ctx, const hoist_http_response *resp, const char *what);

/*
 * Retry policy (process-wide).  Defaults: base 100 ms, cap 20 000 ms, total
 * 120 000 ms, jitter on.  Tests shorten them; @jitter 0 makes every delay
 * its ceiling.  Any argument < 0 keeps the current value.
 */
void hoist_http_set_backoff(long base_ms, long cap_ms, long total_ms, int jitter);
/* Connection reuse on (default) or off (a new connection per request; for benchmarks). */
void hoist_http_set_reuse(int reuse);

/*
 * Counters: a new JSON object keyed "METHOD host operation", each value
 * {"operation", "method", "host", "count", "attempts", "mutating", "total_ms"}.
 */
json_t *hoist_http_counters_json(void);
void hoist_http_counters_reset(void);

/*
 * hoist_mask_secrets - a copy of @s (of @len bytes; may be binary, then
 * shown as "[N bytes]") with values of secret-looking JSON fields, XML
 * elements and form parameters (password, secret, token, ...) replaced by
 * "***", truncated to @max bytes.  Registered secrets are masked later by
 * hoist_log.  Exposed for tests.
 */
char *hoist_mask_secrets(const char *s, size_t len, size_t max);

/* Host-table forms (hoist/host.h: sigv4_presign, eks_token, xml_parse):
   the same work, with errors reported in @ctx. */
hoist_status hoist_sigv4_presign_ctx(hoist_ctx *ctx, const hoist_sigv4_spec *spec,
                                     const char *method, const char *url, long expires,
                                     char **out);
hoist_status hoist_eks_token_ctx(hoist_ctx *ctx, const hoist_sigv4_spec *spec,
                                 const char *cluster, const char *sts_endpoint, char **out);
hoist_xml_doc *hoist_xml_parse_ctx(hoist_ctx *ctx, const char *buf, size_t len);

#endif
