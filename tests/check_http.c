/*
 * check_http.c - the transport against a scripted libmicrohttpd server on
 * 127.0.0.1: retries and backoff, Retry-After, idempotency, timeouts,
 * cancellation, TLS with a CA made at run time, the plain-http policy,
 * trace redaction, counters, SigV4 on the wire, XML and error mapping.
 */
#include "host.h"
#include "http.h"
#include "log.h"
#include "testhttpd.h"
#include "testutil.h"
#include "util.h"
#include "xmlutil.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static th_server srv;
static hoist_ctx ctx;
static char url[128];

/* ---- captured log ---- */
static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static hoist_buf captured;

static void cap_sink(int level, const char *prefix, const char *msg, void *arg)
{
    pthread_mutex_lock(&cap_mu);
    hoist_buf_printf(&captured, "[%d] %s: %s\n", level, prefix ? prefix : "", msg);
    pthread_mutex_unlock(&cap_mu);
}

static void setup(void)
{
    ck_assert_int_eq(th_start(&srv, NULL, NULL), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/things", srv.port);
    hoist_ctx_init(&ctx, NULL, "test");
    hoist_http_set_backoff(10, 200, 20000, 1);
    hoist_http_counters_reset();
    hoist_buf_free(&captured);
    hoist_log_set_sink(cap_sink, NULL);
    hoist_log_set_level(HOIST_LOG_DEBUG_);
}

static void teardown(void)
{
    hoist_ctx_cleanup(&ctx);
    th_stop(&srv);
    hoist_log_set_sink(NULL, NULL);
}

static hoist_http_request get_req(void)
{
    hoist_http_request r = {.struct_size = sizeof r, .method = "GET", .url = url,
                            .flags = HOIST_HTTP_ALLOW_PLAIN_LOOPBACK, .operation = "test:Get"};
    return r;
}

START_TEST(test_retry_5xx_then_ok)
{
    th_step s[] = {{.status = 503}, {.status = 502}, {.status = 500}, {.status = 200, .body = "ok"}};
    th_script(&srv, s, 4);
    hoist_http_request r = get_req();
    hoist_http_response resp;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "ok");
    ck_assert_int_eq(resp.attempts, 4);
    ck_assert_int_eq(th_hits(&srv), 4);
    hoist_http_response_free(&resp);
    /* Every retry is logged at DEBUG with attempt, reason and delay. */
    ck_assert_ptr_nonnull(strstr(captured.s, "retry 2/5 after HTTP 503 in "));
    ck_assert_ptr_nonnull(strstr(captured.s, "retry 4/5 after HTTP 500 in "));
    /* Attempts are bounded: five 503s give up and hand back the last answer. */
    th_step bad[] = {{.status = 503}};
    th_script(&srv, bad, 1);
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 503);
    ck_assert_int_eq(resp.attempts, 5);
    ck_assert_int_eq(th_hits(&srv), 5);
    hoist_http_response_free(&resp);
    json_t *c = hoist_http_counters_json();
    char *key = hoist_xasprintf("GET 127.0.0.1 test:Get");
    json_t *e = json_object_get(c, key);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "attempts")), 9);
    ck_assert(json_is_false(json_object_get(e, "mutating")));
    free(key);
    json_decref(c);
}
END_TEST

/* Parse "in N ms (backoff ceiling M ms" from the captured retry lines. */
static int delays(long long *d, long long *ceil, int max)
{
    int n = 0;
    for (const char *p = captured.s; p && n < max && (p = strstr(p, " in ")); p++) {
        long long a, b;
        if (sscanf(p, " in %lld ms (backoff ceiling %lld ms", &a, &b) == 2) {
            d[n] = a;
            ceil[n++] = b;
        }
    }
    return n;
}

START_TEST(test_backoff_bounded_growing)
{
    th_step s[] = {{.status = 503}, {.status = 503}, {.status = 503}, {.status = 503},
                   {.status = 503}, {.status = 200}};
    th_script(&srv, s, 6);
    hoist_http_request r = get_req();
    r.max_attempts = 6;
    hoist_http_response resp;
    /* Without jitter each delay is its ceiling: 40, 80, 160, 200 (cap), 200. */
    hoist_http_set_backoff(40, 200, 20000, 0);
    long long t0 = hoist_now_ms();
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    long long el = hoist_now_ms() - t0;
    ck_assert_int_eq(resp.status, 200);
    hoist_http_response_free(&resp);
    long long d[8], c[8];
    ck_assert_int_eq(delays(d, c, 8), 5);
    long long want[] = {40, 80, 160, 200, 200};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(d[i], want[i]);
    ck_assert_int_ge(el, 680);
    /* With full jitter every delay stays within its growing, capped ceiling. */
    hoist_buf_free(&captured);
    hoist_http_set_backoff(40, 200, 20000, 1);
    th_script(&srv, s, 6);
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    hoist_http_response_free(&resp);
    ck_assert_int_eq(delays(d, c, 8), 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(c[i], want[i]);
        ck_assert_int_le(d[i], c[i]);
        ck_assert_int_ge(d[i], 0);
    }
    /* The total-time budget stops retrying early. */
    hoist_http_set_backoff(400, 400, 300, 0);
    th_script(&srv, s, 6);
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_E_TRANSIENT);
    ck_assert_int_eq(th_hits(&srv), 1);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "budget"));
}
END_TEST

START_TEST(test_retry_after)
{
    th_step s[] = {{.status = 429, .hname = "Retry-After", .hval = "1"}, {.status = 200}};
    th_script(&srv, s, 2);
    hoist_http_request r = get_req();
    hoist_http_response resp;
    long long t0 = hoist_now_ms();
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_ge(hoist_now_ms() - t0, 1000);
    ck_assert_int_eq(resp.attempts, 2);
    hoist_http_response_free(&resp);
    /* DigitalOcean: ratelimit-reset is a Unix time. */
    char reset[32];
    snprintf(reset, sizeof reset, "%lld", (long long)time(NULL) + 2);
    th_step s2[] = {{.status = 429, .hname = "ratelimit-reset", .hval = reset}, {.status = 200}};
    th_script(&srv, s2, 2);
    t0 = hoist_now_ms();
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_ge(hoist_now_ms() - t0, 1000);
    ck_assert_int_eq(resp.attempts, 2);
    ck_assert_ptr_nonnull(strstr(captured.s, "server asked"));
    hoist_http_response_free(&resp);
    /* ...but a 5xx in a window that is not spent waits only the backoff. */
    snprintf(reset, sizeof reset, "%lld", (long long)time(NULL) + 60);
    th_step s3[] = {{.status = 503, .hname = "ratelimit-reset", .hval = reset}, {.status = 200}};
    th_script(&srv, s3, 2);
    t0 = hoist_now_ms();
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_lt(hoist_now_ms() - t0, 30000);
    ck_assert_int_eq(resp.attempts, 2);
    hoist_http_response_free(&resp);
}
END_TEST

/*
 * An "answer lost" on a reused connection: the server acts on the POST and
 * drops the connection.  libcurl would silently re-send it on a fresh
 * connection; a create without an idempotency token must reach the server
 * exactly once and fail visibly instead.
 */
START_TEST(test_post_not_resent_on_reused_connection)
{
    th_step s[] = {{.status = 200, .body = "warm"}, {.close = 1}, {.status = 201}};
    th_script(&srv, s, 3);
    hoist_http_request g = get_req();
    hoist_http_response resp;
    ck_assert_int_eq(hoist_http(&ctx, &g, &resp), HOIST_OK); /* leaves a connection to reuse */
    hoist_http_response_free(&resp);
    hoist_http_request r = get_req();
    r.method = "POST";
    r.body = "{\"create\":1}";
    r.body_len = strlen(r.body);
    ck_assert_int_ne(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(th_hits(&srv), 2);
}
END_TEST

START_TEST(test_post_idempotency)
{
    th_step s[] = {{.status = 503}, {.status = 201}};
    th_script(&srv, s, 2);
    hoist_http_request r = get_req();
    r.method = "POST";
    r.body = "{\"a\":1}";
    r.body_len = 7;
    hoist_http_response resp;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 503);
    ck_assert_int_eq(resp.attempts, 1);
    ck_assert_int_eq(th_hits(&srv), 1);
    ck_assert_str_eq(srv.last_body, "{\"a\":1}");
    hoist_http_response_free(&resp);
    th_script(&srv, s, 2);
    r.flags |= HOIST_HTTP_IDEMPOTENT;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 201);
    ck_assert_int_eq(resp.attempts, 2);
    hoist_http_response_free(&resp);
    /* NO_RETRY wins even for GET. */
    th_script(&srv, s, 2);
    hoist_http_request g = get_req();
    g.flags |= HOIST_HTTP_NO_RETRY;
    ck_assert_int_eq(hoist_http(&ctx, &g, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 503);
    ck_assert_int_eq(th_hits(&srv), 1);
    hoist_http_response_free(&resp);
    json_t *c = hoist_http_counters_json();
    ck_assert(json_is_true(json_object_get(json_object_get(c, "POST 127.0.0.1 test:Get"),
                                           "mutating")));
    json_decref(c);
}
END_TEST

START_TEST(test_throttling_body_and_reset)
{
    /* The drop comes first: on a reused connection curl itself resends once. */
    th_step s[] = {{.close = 1},
                   {.status = 400,
                    .body = "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                            "<Message>slow down</Message></Error></Errors></Response>"},
                   {.status = 200}};
    th_script(&srv, s, 3);
    hoist_http_request r = get_req();
    hoist_http_response resp;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_int_eq(resp.attempts, 3);
    ck_assert_int_eq(th_hits(&srv), 3);
    ck_assert_ptr_nonnull(strstr(captured.s, "after HTTP 400"));
    hoist_http_response_free(&resp);
    /* A plain 400 is final, and http_error maps its code. */
    th_step v[] = {{.status = 400,
                    .body = "<Response><Errors><Error><Code>InvalidParameterValue</Code>"
                            "<Message>bad cidr</Message></Error></Errors></Response>"}};
    th_script(&srv, v, 1);
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.attempts, 1);
    ck_assert_int_eq(hoist_http_error(&ctx, &resp, "CreateVpc"), HOIST_E_INVALID);
    ck_assert_str_eq(hoist_ctx_error(&ctx), "CreateVpc: HTTP 400 InvalidParameterValue: bad cidr");
    hoist_http_response_free(&resp);
}
END_TEST

START_TEST(test_timeout)
{
    th_step s[] = {{.status = 200, .delay_ms = 3000}};
    th_script(&srv, s, 1);
    hoist_http_request r = get_req();
    r.timeout_ms = 300;
    r.max_attempts = 2;
    hoist_http_response resp;
    long long t0 = hoist_now_ms();
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_E_TRANSIENT);
    long long el = hoist_now_ms() - t0;
    ck_assert_int_ge(el, 600);
    ck_assert_int_lt(el, 2500);
    ck_assert_int_eq(th_hits(&srv), 2);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "2 attempts"));
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "timed out"));
}
END_TEST

static hoist_flag cancel_flag;

static void *canceller(void *arg)
{
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    cancel_flag = 1;
    return NULL;
}

START_TEST(test_cancel)
{
    th_step s[] = {{.status = 200, .delay_ms = 5000}};
    th_script(&srv, s, 1);
    cancel_flag = 0;
    ctx.cancel = &cancel_flag;
    pthread_t t;
    pthread_create(&t, NULL, canceller, NULL);
    hoist_http_request r = get_req();
    hoist_http_response resp;
    long long t0 = hoist_now_ms();
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_E_CANCELLED);
    ck_assert_int_lt(hoist_now_ms() - t0, 1500);
    pthread_join(t, NULL);
    /* Also while waiting between retries. */
    th_step w[] = {{.status = 503, .hname = "Retry-After", .hval = "5"}};
    th_script(&srv, w, 1);
    cancel_flag = 0;
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, NULL, "test");
    ctx.cancel = &cancel_flag;
    pthread_create(&t, NULL, canceller, NULL);
    t0 = hoist_now_ms();
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_E_CANCELLED);
    ck_assert_int_lt(hoist_now_ms() - t0, 1500);
    pthread_join(t, NULL);
}
END_TEST

START_TEST(test_plain_http_policy)
{
    hoist_http_request r = get_req();
    hoist_http_response resp;
    /* Non-loopback: refused before any connection (192.0.2.1 is TEST-NET-1). */
    r.url = "http://192.0.2.1/v2/account";
    long long t0 = hoist_now_ms();
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_E_INVALID);
    ck_assert_int_lt(hoist_now_ms() - t0, 50);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "192.0.2.1"));
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "loopback"));
    json_t *c = hoist_http_counters_json();
    ck_assert_int_eq(json_object_size(c), 0); /* nothing was attempted */
    json_decref(c);
    /* Loopback, but not explicitly configured: refused, server never hit. */
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, NULL, "test");
    r.url = url;
    r.flags = 0;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "configured explicitly"));
    ck_assert_int_eq(th_hits(&srv), 0);
    /* Other schemes are refused too. */
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, NULL, "test");
    r.url = "ftp://127.0.0.1/x";
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_E_INVALID);
    /* localhost and [::1] count as loopback. */
    r.flags = HOIST_HTTP_ALLOW_PLAIN_LOOPBACK;
    char u2[128];
    snprintf(u2, sizeof u2, "http://localhost:%d/", srv.port);
    r.url = u2;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 200);
    hoist_http_response_free(&resp);
}
END_TEST

/* A self-signed certificate for 127.0.0.1, made now. */
static void make_cert(char **cert_pem, char **key_pem)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(k);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"hoist test CA",
                               -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    const char *exts[][2] = {{"subjectAltName", "IP:127.0.0.1,DNS:localhost"},
                             {"basicConstraints", "critical,CA:TRUE"},
                             {"keyUsage", "critical,digitalSignature,keyCertSign"}};
    for (int i = 0; i < 3; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
        ck_assert_ptr_nonnull(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long l = BIO_get_mem_data(b, &p);
    *cert_pem = hoist_xstrndup(p, (size_t)l);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    l = BIO_get_mem_data(b, &p);
    *key_pem = hoist_xstrndup(p, (size_t)l);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
}

START_TEST(test_tls_custom_ca)
{
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        printf("# SKIP libmicrohttpd built without TLS\n");
        return;
    }
    char *cert, *key;
    make_cert(&cert, &key);
    th_server tls;
    ck_assert_int_eq(th_start(&tls, cert, key), 0);
    char u[128];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/secure", tls.port);
    hoist_http_request r = {.struct_size = sizeof r, .method = "GET", .url = u};
    hoist_http_response resp;
    /* Not configured: refused, with host, reason and the hint. */
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_E_INVALID);
    const char *e = hoist_ctx_error(&ctx);
    ck_assert_ptr_nonnull(strstr(e, "TLS verification of 127.0.0.1 failed"));
    ck_assert_ptr_nonnull(strstr(e, "certificate"));
    ck_assert_ptr_nonnull(strstr(e, "ca_file"));
    ck_assert_int_eq(th_hits(&tls), 0);
    /* Configured as PEM text. */
    r.ca_pem = cert;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 200);
    hoist_http_response_free(&resp);
    /* Configured as a file. */
    char *dir = tu_tmpdir();
    char *f = tu_write(dir, "ca.pem", cert);
    r.ca_pem = NULL;
    r.ca_file = f;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.status, 200);
    hoist_http_response_free(&resp);
    ck_assert_int_eq(th_hits(&tls), 2);
    th_stop(&tls);
    tu_rmrf(dir);
    free(dir);
    free(f);
    free(cert);
    free(key);
}
END_TEST

START_TEST(test_trace_redaction)
{
    const char *secrets[] = {"hdr-secret-1", "tok-secret-2", "cookie-secret-3", "pw-secret-4",
                             "resp-secret-5", "cookie-secret-6", "xml-secret-7",
                             "sigv4-secret-key-8", "session-token-9", "registered-secret-10",
                             "form-secret-11", "do-token-12"};
    hoist_secret_reset();
    hoist_secret_add("registered-secret-10");
    hoist_log_set_level(HOIST_LOG_TRACE_);
    th_step s[] = {{.status = 503, .hname = "Set-Cookie", .hval = "sess=cookie-secret-6",
                    .body = "{\"token\": \"resp-secret-5\", \"id\": 7}"},
                   {.status = 200,
                    .body = "<R><Credentials><SecretAccessKey>xml-secret-7</SecretAccessKey>"
                            "<SessionToken>session-token-9</SessionToken></Credentials>"
                            "<Note>registered-secret-10</Note></R>"}};
    th_script(&srv, s, 2);
    const char *h[] = {"Authorization: Bearer hdr-secret-1", "X-Auth-Token: tok-secret-2",
                       "Cookie: c=cookie-secret-3", "Content-Type: application/json", NULL};
    hoist_http_request r = get_req();
    r.method = "PUT";
    r.headers = h;
    r.body = "{\"name\": \"db\", \"password\": \"pw-secret-4\"}";
    r.body_len = strlen(r.body);
    hoist_http_response resp;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_int_eq(resp.attempts, 2);
    hoist_http_response_free(&resp);
    /* SigV4 with a session token, and a form body as AWS Query sends it. */
    hoist_sigv4_spec sig = {sizeof sig, "ec2", "us-east-1", "AKIDTEST", "sigv4-secret-key-8",
                            "session-token-9", 0};
    hoist_http_request q = get_req();
    q.method = "POST";
    q.url = url;
    q.body = "Action=CreateUser&Password=form-secret-11&Version=1";
    q.body_len = strlen(q.body);
    q.sigv4 = &sig;
    char u2[160];
    snprintf(u2, sizeof u2, "%s?token=do-token-12&x=1", url);
    ck_assert_int_eq(hoist_http(&ctx, &q, &resp), HOIST_OK);
    hoist_http_response_free(&resp);
    q.url = u2;
    q.sigv4 = NULL;
    ck_assert_int_eq(hoist_http(&ctx, &q, &resp), HOIST_OK);
    hoist_http_response_free(&resp);
    hoist_log_set_level(HOIST_LOG_DEBUG_);
    /* The trace happened, with field names kept and values masked... */
    ck_assert_ptr_nonnull(strstr(captured.s, "HTTP 503"));
    ck_assert_ptr_nonnull(strstr(captured.s, "\"password\": \"***\""));
    ck_assert_ptr_nonnull(strstr(captured.s, "Authorization: ***"));
    ck_assert_ptr_nonnull(strstr(captured.s, "X-Amz-Date: "));
    ck_assert_ptr_nonnull(strstr(captured.s, "Action=CreateUser"));
    /* ...and no secret anywhere. */
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        ck_assert_msg(!strstr(captured.s, secrets[i]), "secret %s leaked in:\n%s", secrets[i],
                      captured.s);
    hoist_secret_reset();
}
END_TEST

START_TEST(test_sigv4_on_the_wire)
{
    hoist_sigv4_spec sig = {sizeof sig, "ec2", "eu-west-3", "AKIDWIRE", "wire-secret-key", NULL,
                            0};
    hoist_http_request r = get_req();
    r.sigv4 = &sig;
    hoist_http_response resp;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    hoist_http_response_free(&resp);
    ck_assert_int_eq(strncmp(srv.last_auth, "AWS4-HMAC-SHA256 Credential=AKIDWIRE/", 37), 0);
    ck_assert_ptr_nonnull(strstr(srv.last_auth, "/eu-west-3/ec2/aws4_request, SignedHeaders=host;"
                                                "x-amz-date, Signature="));
    ck_assert_int_eq(strlen(srv.last_date), 16);
}
END_TEST

/* @method with @body (may be NULL) and @ctype (a "Content-Type: .." line or
   NULL): the Content-Type the server received. */
static const char *sent_ctype(const char *method, const char *body, const char *ctype)
{
    const char *hdrs[] = {ctype, NULL};
    hoist_http_request r = get_req();
    r.method = method;
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.headers = ctype ? hdrs : NULL;
    r.flags |= HOIST_HTTP_IDEMPOTENT;
    hoist_http_response resp;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    hoist_http_response_free(&resp);
    return srv.last_ctype;
}

/* libcurl labels every POSTFIELDS request as a form unless told otherwise:
   only what the caller says goes out (S3 objects, blob mounts, DELETEs). */
START_TEST(test_content_type_as_given)
{
    ck_assert_str_eq(sent_ctype("DELETE", NULL, NULL), "(none)");
    ck_assert_str_eq(sent_ctype("POST", NULL, NULL), "(none)");
    ck_assert_str_eq(sent_ctype("POST", "{}", NULL), "(none)");
    ck_assert_str_eq(sent_ctype("PUT", "{\"a\":1}", "Content-Type: application/json"),
                     "application/json");
    ck_assert_str_eq(sent_ctype("POST", "Action=X", "content-type: application/x-www-form-"
                                                    "urlencoded; charset=utf-8"),
                     "application/x-www-form-urlencoded; charset=utf-8");
    ck_assert_str_eq(sent_ctype("GET", NULL, NULL), "(none)");
}
END_TEST

START_TEST(test_headers_accessor)
{
    th_step s[] = {{.status = 201, .hname = "X-Request-Id", .hval = "abc-123", .body = "{}"}};
    th_script(&srv, s, 1);
    hoist_http_request r = get_req();
    hoist_http_response resp;
    ck_assert_int_eq(hoist_http(&ctx, &r, &resp), HOIST_OK);
    ck_assert_str_eq(hoist_http_header(&resp, "x-request-id"), "abc-123");
    ck_assert_str_eq(hoist_http_header(&resp, "X-REQUEST-ID"), "abc-123");
    ck_assert_ptr_null(hoist_http_header(&resp, "X-Missing"));
    ck_assert_int_eq(resp.body_len, 2);
    hoist_http_response_free(&resp);
}
END_TEST

START_TEST(test_xml_helpers)
{
    const char *doc = "<?xml version=\"1.0\"?>\n<DescribeVpcsResponse "
                      "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r1</requestId>"
                      "<vpcSet><item><vpcId>vpc-1</vpcId></item><item><vpcId>vpc-2</vpcId>"
                      "</item></vpcSet></DescribeVpcsResponse>";
    char *err = NULL;
    hoist_xml_doc *d = hoist_xml_parse(doc, strlen(doc), &err);
    ck_assert_ptr_nonnull(d);
    const hoist_xml_node *root = hoist_xml_root(d);
    ck_assert_str_eq(hoist_xml_name(root), "DescribeVpcsResponse");
    char *t = hoist_xml_text(root, "requestId");
    ck_assert_str_eq(t, "r1");
    free(t);
    int n = 0;
    for (const hoist_xml_node *i = hoist_xml_first(root, "vpcSet/item"); i; i = hoist_xml_next(i)) {
        t = hoist_xml_text(i, "vpcId");
        ck_assert_str_eq(t, n ? "vpc-2" : "vpc-1");
        free(t);
        n++;
    }
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_null(hoist_xml_text(root, "vpcSet/nothing"));
    hoist_xml_free(d);
    ck_assert_ptr_null(hoist_xml_parse("<a><b></a>", 10, &err));
    ck_assert_ptr_nonnull(strstr(err, "malformed XML"));
    free(err);
    /* External entities are never fetched or expanded. */
    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY e SYSTEM "
                      "\"file:///etc/passwd\">]><r>&e;</r>";
    d = hoist_xml_parse(xxe, strlen(xxe), &err);
    if (d) {
        t = hoist_xml_text(hoist_xml_root(d), NULL);
        ck_assert_ptr_null(strstr(t, "root:"));
        free(t);
        hoist_xml_free(d);
    } else {
        free(err);
    }
}
END_TEST

START_TEST(test_error_mapping)
{
    struct {
        const char *code;
        hoist_status st;
    } m[] = {{"AuthFailure", HOIST_E_AUTH},
             {"UnrecognizedClientException", HOIST_E_AUTH},
             {"SignatureDoesNotMatch", HOIST_E_AUTH},
             {"InvalidClientTokenId", HOIST_E_AUTH},
             {"ExpiredToken", HOIST_E_AUTH},
             {"VpcLimitExceeded", HOIST_E_QUOTA},
             {"AddressLimitExceeded", HOIST_E_QUOTA},
             {"ServiceQuotaExceeded", HOIST_E_QUOTA},
             {"RequestLimitExceeded", HOIST_E_TRANSIENT},
             {"Throttling", HOIST_E_TRANSIENT},
             {"ThrottlingException", HOIST_E_TRANSIENT},
             {"InvalidParameterValue", HOIST_E_INVALID},
             {"InvalidParameterCombination", HOIST_E_INVALID},
             {"ValidationError", HOIST_E_INVALID},
             {"MissingParameter", HOIST_E_INVALID},
             {"InvalidVpcID.NotFound", HOIST_E_NOTFOUND},
             {"DBInstanceNotFound", HOIST_E_NOTFOUND},
             {"NoSuchEntity", HOIST_E_NOTFOUND},
             {"ResourceNotFoundException", HOIST_E_NOTFOUND},
             {"EntityAlreadyExists", HOIST_E_CONFLICT},
             {"DBInstanceAlreadyExists", HOIST_E_CONFLICT},
             {"ResourceInUse", HOIST_E_CONFLICT},
             {"SomethingNew", HOIST_E_INTERNAL}};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        ck_assert_msg(hoist_error_code_status(m[i].code) == m[i].st, "%s -> %d", m[i].code,
                      hoist_error_code_status(m[i].code));
    /* The three error shapes. */
    const char *bodies[][3] = {
        {"<Response><Errors><Error><Code>AuthFailure</Code><Message>no</Message></Error>"
         "</Errors><RequestID>x</RequestID></Response>", "AuthFailure", "no"},
        {"<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender"
         "</Type><Code>NoSuchEntity</Code><Message>gone</Message></Error></ErrorResponse>",
         "NoSuchEntity", "gone"},
        {"{\"__type\":\"com.amazonaws.eks#ResourceNotFoundException\",\"message\":\"nope\"}",
         "ResourceNotFoundException", "nope"},
        {"{\"id\":\"not_found\",\"message\":\"The resource you were accessing could not be "
         "found.\"}", "not_found", "The resource you were accessing could not be found."}};
    for (size_t i = 0; i < 4; i++) {
        char *code, *msg;
        ck_assert_int_eq(hoist_service_error(bodies[i][0], strlen(bodies[i][0]), &code, &msg), 1);
        ck_assert_str_eq(code, bodies[i][1]);
        ck_assert_str_eq(msg, bodies[i][2]);
        free(code);
        free(msg);
    }
    /* No code in the body: the HTTP status decides. */
    hoist_http_response resp = {.status = 404, .body = "<html/>", .body_len = 7};
    ck_assert_int_eq(hoist_http_error(&ctx, &resp, "GET /v2/vpcs/1"), HOIST_E_NOTFOUND);
}
END_TEST

START_TEST(test_mask_secrets)
{
    const char *j = "{\"api_token\":\"a\\\"b\",\"n\":\"v\"}";
    char *m = hoist_mask_secrets(j, strlen(j), 2048);
    ck_assert_str_eq(m, "{\"api_token\":\"***\",\"n\":\"v\"}");
    free(m);
    m = hoist_mask_secrets("A=1&DbPassword=x%20y&B=2", 24, 2048);
    ck_assert_str_eq(m, "A=1&DbPassword=***&B=2");
    free(m);
    m = hoist_mask_secrets("<a><MasterUserPassword>p</MasterUserPassword></a>", 49, 2048);
    ck_assert_str_eq(m, "<a><MasterUserPassword>***</MasterUserPassword></a>");
    free(m);
    /* a password inside a connection URL, whatever the field's name */
    j = "{\"uri\":\"postgresql://doadmin:pw123@db.example:25060/d?ssl=1\",\"u\":\"https://h/x@y\"}";
    m = hoist_mask_secrets(j, strlen(j), 2048);
    ck_assert_str_eq(m, "{\"uri\":\"postgresql://doadmin:***@db.example:25060/d?ssl=1\","
                        "\"u\":\"https://h/x@y\"}");
    free(m);
    j = "{\"auths\":{\"r.example\":{\"auth\":\"dXNlcjpwdw==\"}}}";
    m = hoist_mask_secrets(j, strlen(j), 2048);
    ck_assert_str_eq(m, "{\"auths\":{\"r.example\":{\"auth\":\"***\"}}}");
    free(m);
    m = hoist_mask_secrets("see redis://:s3cret@cache:6379 and http://host:80/", 50, 2048);
    ck_assert_str_eq(m, "see redis://:***@cache:6379 and http://host:80/");
    free(m);
    m = hoist_mask_secrets("\x01\x02zz", 4, 2048);
    ck_assert_str_eq(m, "[4 bytes of binary data]");
    free(m);
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    m = hoist_mask_secrets(big, strlen(big), 2048);
    ck_assert_ptr_nonnull(strstr(m, "... [4999 bytes in all]"));
    ck_assert_int_lt(strlen(m), 2100);
    free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 20);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_retry_5xx_then_ok);
    tcase_add_test(tc, test_backoff_bounded_growing);
    tcase_add_test(tc, test_retry_after);
    tcase_add_test(tc, test_post_idempotency);
    tcase_add_test(tc, test_post_not_resent_on_reused_connection);
    tcase_add_test(tc, test_throttling_body_and_reset);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_plain_http_policy);
    tcase_add_test(tc, test_tls_custom_ca);
    tcase_add_test(tc, test_trace_redaction);
    tcase_add_test(tc, test_sigv4_on_the_wire);
    tcase_add_test(tc, test_headers_accessor);
    tcase_add_test(tc, test_content_type_as_given);
    tcase_add_test(tc, test_xml_helpers);
    tcase_add_test(tc, test_error_mapping);
    tcase_add_test(tc, test_mask_secrets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(suite());
}
