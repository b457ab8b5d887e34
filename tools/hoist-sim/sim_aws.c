/*
 * sim_aws.c - the AWS cloud of hoist-sim: routing, SigV4 verification, and
 * replies and errors in each service's protocol.  The services live in
 * sim_aws_ec2.c (EC2), sim_aws_query.c (IAM, STS, RDS) and sim_aws_json.c
 * (EKS, ECR).
 *
 * Routing: every AWS Query and JSON 1.1 service POSTs to "/", so paths cannot
 * tell them apart.  The cloud's claim hook (sim.h) takes any request signed
 * with SigV4 (or carrying X-Amz-Target, or aimed at "/") and routes it by a
 * key: "<service>:<Action>" for Query and JSON 1.1, "<service>:<path>" for
 * REST-JSON, where <service> is the signing name of the credential scope (or
 * X-Amz-Target's prefix).  /_sim/calls therefore lists "POST ec2:CreateVpc".
 */
#include "autoconfig.h"

#include "sim_aws.h"
#include "sigv4.h"
#include "util.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------------ services */

static const char *aws_member_item(const char *list)
{
    (void)list;
    return "item";
}

static const char *aws_member_member(const char *list)
{
    (void)list;
    return "member";
}

/* RDS names list members after their shape (the model's locationName). */
static const char *aws_member_rds(const char *list)
{
    static const char *const map[][2] = {
        {"DBSubnetGroups", "DBSubnetGroup"}, {"Subnets", "Subnet"},
        {"TagList", "Tag"},                  {"DBInstances", "DBInstance"},
        {"VpcSecurityGroups", "VpcSecurityGroupMembership"},
        {"DBParameterGroups", "DBParameterGroup"},
        {"DBSecurityGroups", "DBSecurityGroup"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], list) == 0)
            return map[i][1];
    return "member";
}

const aws_svc aws_ec2 = {"ec2", AWS_EC2, "http://ec2.amazonaws.com/doc/2016-11-15/", NULL,
                         aws_member_item};
const aws_svc aws_iam = {"iam", AWS_QUERY, "https://iam.amazonaws.com/doc/2010-05-08/", NULL,
                         aws_member_member};
const aws_svc aws_sts = {"sts", AWS_QUERY, "https://sts.amazonaws.com/doc/2011-06-15/", NULL,
                         aws_member_member};
const aws_svc aws_rds = {"rds", AWS_QUERY, "http://rds.amazonaws.com/doc/2014-10-31/", NULL,
                         aws_member_rds};
const aws_svc aws_eks = {"eks", AWS_REST_JSON, NULL, NULL, NULL};
const aws_svc aws_ecr = {"ecr", AWS_JSON, NULL, "AmazonEC2ContainerRegistry_V20150921", NULL};

static const aws_svc *const aws_svcs[] = {&aws_ec2, &aws_iam, &aws_sts, &aws_rds, &aws_eks,
                                          &aws_ecr};

/* ------------------------------------------------------------------ credential scope */

/* Credential=AK/DATE/REGION/SERVICE/aws4_request, split in place. */
typedef struct aws_cred {
    char *buf;
    const char *ak, *date, *region, *service;
} aws_cred;

/* Copy the value of "@name=" in @s up to ',' or blank; NULL if absent. */
static char *aws_auth_field(const char *s, const char *name)
{
    const char *p = strstr(s, name);
    if (!p)
        return NULL;
    p += strlen(name);
    return hoist_xstrndup(p, strcspn(p, ", "));
}

static int aws_cred_parse(const sim_req *rq, aws_cred *c)
{
    const char *az = sim_header_in(rq, "Authorization");
    memset(c, 0, sizeof *c);
    if (az && strncmp(az, "AWS4-HMAC-SHA256 ", 17) == 0)
        c->buf = aws_auth_field(az, "Credential=");
    if (!c->buf)
        return -1;
    char *f[5] = {0}, *save = NULL;
    int n = 0;
    for (char *t = strtok_r(c->buf, "/", &save); t && n < 5; t = strtok_r(NULL, "/", &save))
        f[n++] = t;
    if (n != 5 || strcmp(f[4], "aws4_request") != 0) {
        free(c->buf);
        c->buf = NULL;
        return -1;
    }
    c->ak = f[0];
    c->date = f[1];
    c->region = f[2];
    c->service = f[3];
    return 0;
}

const aws_svc *aws_svc_of(const sim_req *rq)
{
    aws_cred c;
    const aws_svc *s = NULL;
    if (aws_cred_parse(rq, &c) == 0) {
        for (size_t i = 0; i < sizeof aws_svcs / sizeof aws_svcs[0] && !s; i++)
            if (strcmp(aws_svcs[i]->name, c.service) == 0)
                s = aws_svcs[i];
        free(c.buf);
        return s;
    }
    const char *t = sim_header_in(rq, "X-Amz-Target");
    for (size_t i = 0; t && i < sizeof aws_svcs / sizeof aws_svcs[0]; i++)
        if (aws_svcs[i]->target && strncmp(t, aws_svcs[i]->target, strlen(aws_svcs[i]->target)) == 0)
            return aws_svcs[i];
    return NULL;
}

const char *aws_region(const sim_req *rq)
{
    static __thread char region[64]; /* one per connection thread */
    aws_cred c;
    snprintf(region, sizeof region, "us-east-1");
    if (aws_cred_parse(rq, &c) == 0) {
        snprintf(region, sizeof region, "%s", c.region);
        free(c.buf);
    }
    return region;
}

/* ------------------------------------------------------------------ parameters */

static enum MHD_Result aws_arg_it(void *cls, enum MHD_ValueKind kind, const char *k,
                                  const char *v)
{
    (void)kind;
    json_object_set_new(cls, k, json_string(v ? v : ""));
    return MHD_YES;
}

static int aws_hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* application/x-www-form-urlencoded component: '+' is a blank, %XX a byte. */
static char *aws_form_decode(const char *s, size_t len)
{
    char *o = hoist_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+')
            o[n++] = ' ';
        else if (s[i] == '%' && i + 2 < len && aws_hexval(s[i + 1]) >= 0 && aws_hexval(s[i + 2]) >= 0) {
            o[n++] = (char)(aws_hexval(s[i + 1]) * 16 + aws_hexval(s[i + 2]));
            i += 2;
        } else
            o[n++] = s[i];
    }
    o[n] = '\0';
    return o;
}

static void aws_form_parse(json_t *o, const char *s, size_t len)
{
    const char *end = s + len;
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        size_t l = amp ? (size_t)(amp - s) : (size_t)(end - s);
        const char *eq = memchr(s, '=', l);
        if (l) {
            char *k = aws_form_decode(s, eq ? (size_t)(eq - s) : l);
            char *v = eq ? aws_form_decode(eq + 1, l - (size_t)(eq - s) - 1) : hoist_xstrdup("");
            json_object_set_new(o, k, json_string(v));
            free(k);
            free(v);
        }
        s += l + (amp ? 1 : 0);
    }
}

const char *aws_p(const sim_req *rq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *k = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    const char *v = json_string_value(json_object_get(rq->json, k));
    free(k);
    return v;
}

json_t *aws_plist(const sim_req *rq, const char *prefix)
{
    json_t *a = json_array();
    const char *v;
    for (int i = 1; (v = aws_p(rq, "%s.%d", prefix, i)); i++)
        json_array_append_new(a, json_string(v));
    return a;
}

/* ------------------------------------------------------------------ XML */

void aws_xml_esc(hoist_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': hoist_buf_puts(b, "&lt;"); break;
        case '>': hoist_buf_puts(b, "&gt;"); break;
        case '&': hoist_buf_puts(b, "&amp;"); break;
        case '"': hoist_buf_puts(b, "&quot;"); break;
        default: hoist_buf_add(b, s, 1);
        }
    }
}

/* <name>v</name>; arrays hold <member(name)> elements; null is left out. */
static void aws_xml(hoist_buf *b, const char *name, json_t *v, const char *(*member)(const char *))
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_null(v))
        return;
    hoist_buf_printf(b, "<%s>", name);
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
            aws_xml(b, k, x, member);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            aws_xml(b, member(name), x, member);
    } else if (json_is_string(v)) {
        aws_xml_esc(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        hoist_buf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        hoist_buf_printf(b, "%.17g", json_real_value(v));
    } else {
        hoist_buf_puts(b, json_is_true(v) ? "true" : "false");
    }
    hoist_buf_printf(b, "</%s>", name);
}

static char *aws_reqid(sim_resp *rs)
{
    char *id = sim_uuid();
    sim_reply_header(rs, "x-amzn-RequestId", "%s", id);
    return id;
}

void aws_reply(sim_req *rq, sim_resp *rs, json_t *result)
{
    const aws_svc *s = aws_svc_of(rq);
    const char *action = aws_p(rq, "Action"), *k;
    char *id = aws_reqid(rs);
    hoist_buf b = {0};
    json_t *x;
    hoist_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse xmlns=\"%s\">",
                     action, s->xmlns);
    if (s->proto == AWS_EC2) {
        hoist_buf_printf(&b, "<requestId>%s</requestId>", id);
        json_object_foreach(result, k, x)
            aws_xml(&b, k, x, s->member);
    } else {
        if (json_object_size(result)) {
            hoist_buf_printf(&b, "<%sResult>", action);
            json_object_foreach(result, k, x)
                aws_xml(&b, k, x, s->member);
            hoist_buf_printf(&b, "</%sResult>", action);
        }
        hoist_buf_printf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>", id);
    }
    hoist_buf_printf(&b, "</%sResponse>", action);
    sim_reply_text(rs, 200, "text/xml;charset=UTF-8", b.s);
    hoist_buf_free(&b);
    json_decref(result);
    free(id);
}

/* ------------------------------------------------------------------ errors */

static void aws_fail_v(sim_req *rq, sim_resp *rs, int status, const char *code, const char *msg)
{
    const aws_svc *s = aws_svc_of(rq);
    aws_proto proto = s ? s->proto : AWS_QUERY;
    char *id = aws_reqid(rs);
    hoist_buf b = {0};
    if (proto == AWS_EC2) {
        hoist_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors>"
                             "<Error><Code>%s</Code><Message>", code);
        aws_xml_esc(&b, msg);
        hoist_buf_printf(&b, "</Message></Error></Errors><RequestID>%s</RequestID></Response>", id);
        sim_reply_text(rs, status, "text/xml;charset=UTF-8", b.s);
    } else if (proto == AWS_QUERY) {
        hoist_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse");
        if (s)
            hoist_buf_printf(&b, " xmlns=\"%s\"", s->xmlns);
        hoist_buf_printf(&b, "><Error><Type>%s</Type><Code>%s</Code><Message>",
                         status >= 500 ? "Receiver" : "Sender", code);
        aws_xml_esc(&b, msg);
        hoist_buf_printf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", id);
        sim_reply_text(rs, status, "text/xml;charset=UTF-8", b.s);
    } else {
        json_t *j = proto == AWS_JSON ? json_pack("{s:s,s:s}", "__type", code, "message", msg)
                                      : json_pack("{s:s}", "message", msg);
        sim_reply_json(rs, status, j);
        rs->ctype = proto == AWS_JSON ? "application/x-amz-json-1.1" : "application/json";
        sim_reply_header(rs, "x-amzn-ErrorType", "%s", code);
    }
    hoist_buf_free(&b);
    free(id);
}

void aws_fail(sim_req *rq, sim_resp *rs, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    aws_fail_v(rq, rs, status, code, msg);
    free(msg);
}

const char *aws_need(sim_req *rq, sim_resp *rs, const char *name)
{
    const aws_svc *s = aws_svc_of(rq);
    const char *v = s->proto == AWS_EC2 || s->proto == AWS_QUERY
                        ? aws_p(rq, "%s", name)
                        : json_string_value(json_object_get(rq->json, name));
    if (v && *v)
        return v;
    if (s == &aws_iam || s == &aws_sts)
        aws_fail(rq, rs, 400, "ValidationError",
                 "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
                 "Member must not be null", name);
    else if (s->proto == AWS_EC2 || s->proto == AWS_QUERY)
        aws_fail(rq, rs, 400, "MissingParameter", "The request must contain the parameter %s",
                 name);
    else
        aws_fail(rq, rs, 400, "InvalidParameterException", "%s is required", name);
    return NULL;
}

/* The framework's cloud-neutral kinds, as each protocol names them. */
static void aws_error(sim_req *rq, sim_resp *rs, int status, const char *kind,
                      const char *resource, const char *message)
{
    const aws_svc *s = aws_svc_of(rq);
    aws_proto proto = s ? s->proto : AWS_QUERY;
    int json = proto == AWS_JSON || proto == AWS_REST_JSON;
    const char *code = "InternalFailure";
    (void)resource;
    if (strcmp(kind, "throttled") == 0) {
        /* EC2 throttles with 503 RequestLimitExceeded, the others with 400 */
        code = proto == AWS_EC2 ? "RequestLimitExceeded" : json ? "ThrottlingException"
                                                                : "Throttling";
        status = proto == AWS_EC2 ? 503 : proto == AWS_REST_JSON ? 429 : 400;
        message = "Rate exceeded";
    } else if (strcmp(kind, "server_error") == 0) {
        code = proto == AWS_EC2 ? "InternalError" : json ? "ServerException" : "InternalFailure";
    } else if (strcmp(kind, "unavailable") == 0) {
        code = proto == AWS_EC2 ? "Unavailable" : json ? "ServiceUnavailableException"
                                                       : "ServiceUnavailable";
    } else if (strcmp(kind, "not_found") == 0 || strcmp(kind, "method_not_allowed") == 0) {
        /* no route: an operation this simulator does not know */
        code = json ? "UnknownOperationException" : "InvalidAction";
        status = proto == AWS_REST_JSON ? 404 : 400;
        message = s ? "The action or operation requested is not supported by hoist-sim"
                    : "hoist-sim does not simulate the service of this request's credential scope";
    } else if (strcmp(kind, "quota") == 0 || strcmp(kind, "invalid") == 0) {
        /* each service's own code for a limit reached or a refused value */
        static const char *const codes[][3] = {
            {"ec2", "ResourceLimitExceeded", "InvalidParameterValue"},
            {"rds", "InstanceQuotaExceeded", "InvalidParameterValue"},
            {"iam", "LimitExceeded", "ValidationError"},
            {"eks", "ResourceLimitExceededException", "InvalidParameterException"},
            {"ecr", "LimitExceededException", "InvalidParameterException"},
        };
        int quota = strcmp(kind, "quota") == 0;
        code = quota ? "LimitExceeded" : "InvalidParameterValue";
        for (size_t i = 0; s && i < sizeof codes / sizeof codes[0]; i++)
            if (strcmp(codes[i][0], s->name) == 0)
                code = codes[i][quota ? 1 : 2];
        status = 400;
    } else if (strcmp(kind, "bad_request") == 0) {
        code = json ? "SerializationException" : "MalformedQueryString";
        status = 400;
    }
    aws_fail_v(rq, rs, status, code, message);
}

/* ------------------------------------------------------------------ SigV4 */

/* "http://HOST/path?query" as the client signed it, from MHD's decoded parts. */
static enum MHD_Result aws_query_it(void *cls, enum MHD_ValueKind kind, const char *k,
                                    const char *v)
{
    hoist_buf *b = cls;
    (void)kind;
    hoist_buf_puts(b, b->s[b->len - 1] == '?' ? "" : "&");
    hoist_uri_encode(b, k, strlen(k), 0);
    hoist_buf_puts(b, "=");
    if (v)
        hoist_uri_encode(b, v, strlen(v), 0);
    return MHD_YES;
}

/*
 * Recompute the signature of @rq with the simulator's secret and compare.
 * 1 when it matches; 0 with *@why set (static text) when it does not.
 */
static int aws_sig_ok(sim_req *rq, const aws_cred *c, const char *az, const char **why)
{
    char *sh = aws_auth_field(az, "SignedHeaders="), *sig = aws_auth_field(az, "Signature=");
    const char *date = sim_header_in(rq, "X-Amz-Date"), *host = sim_header_in(rq, "Host");
    const char *sha = sim_header_in(rq, "X-Amz-Content-Sha256");
    char **hdrs = NULL, *err = NULL, *save = NULL;
    hoist_buf url = {0};
    hoist_sigv4_output out = {0};
    size_t n = 0;
    int ok = 0;
    struct tm tm = {0};
    const char *end = date ? strptime(date, "%Y%m%dT%H%M%SZ", &tm) : NULL;

    *why = "The request signature we calculated does not match the signature you provided. "
           "Check your AWS Secret Access Key and signing method. Consult the service "
           "documentation for details.";
    if (!sh || !sig || !host || !end || *end) {
        *why = "Authorization header requires 'SignedHeaders', 'Signature' and an X-Amz-Date "
               "header (hoist-sim accepts header signing only).";
        goto cleanup;
    }
    time_t when = timegm(&tm), now = time(NULL);
    if (when < now - 900 || when > now + 900) {
        *why = "Signature expired: the X-Amz-Date is more than 15 minutes away from the "
               "simulator's clock.";
        goto cleanup;
    }
    /* the headers the client signed, with the values we received (X-Amz-Date
       comes from @when: hoist_sigv4_sign adds it itself) */
    hdrs = hoist_xcalloc(strlen(sh) + 2, sizeof *hdrs);
    char *names = hoist_xstrdup(sh);
    for (char *t = strtok_r(names, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
        const char *v = sim_header_in(rq, t);
        if (strcasecmp(t, "x-amz-date") == 0)
            continue;
        hdrs[n++] = hoist_xasprintf("%s: %s", t, v ? v : "");
    }
    free(names);
    hoist_buf_printf(&url, "http://%s", host);
    hoist_uri_encode(&url, rq->path, strlen(rq->path), 1);
    hoist_buf_puts(&url, "?");
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, aws_query_it, &url);
    hoist_sigv4_spec spec = {
        .struct_size = sizeof spec, .service = c->service, .region = c->region,
        .access_key_id = c->ak, .secret_access_key = sim_cfg.aws_secret,
        .flags = (sha && strcmp(sha, "UNSIGNED-PAYLOAD") == 0 ? HOIST_SIGV4_UNSIGNED_PAYLOAD : 0) |
                 (strcmp(c->service, "s3") == 0 ? HOIST_SIGV4_S3 : 0),
    };
    hoist_sigv4_input in = {.method = rq->method, .url = url.s, .headers = (const char *const *)hdrs,
                            .body = rq->body, .body_len = rq->body_len, .when = when};
    if (hoist_sigv4_sign(&spec, &in, &out, &err) != 0)
        goto cleanup;
    char *mine = aws_auth_field(out.authorization, "SignedHeaders=");
    ok = strcmp(mine, sh) == 0 && strcmp(out.signature, sig) == 0;
    free(mine);

cleanup:
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        free(hdrs[i]);
    free(hdrs);
    free(err);
    free(sh);
    free(sig);
    hoist_buf_free(&url);
    hoist_sigv4_output_free(&out);
    return ok;
}

static int aws_auth(sim_req *rq, sim_resp *rs)
{
    const aws_svc *s = aws_svc_of(rq);
    aws_proto proto = s ? s->proto : AWS_QUERY;
    int json = proto == AWS_JSON || proto == AWS_REST_JSON;
    const char *az = sim_header_in(rq, "Authorization"), *why;
    aws_cred c;
    int ok = 0;
    if (aws_cred_parse(rq, &c) != 0) {
        aws_fail(rq, rs, proto == AWS_EC2 ? 401 : 403,
                 json ? "MissingAuthenticationTokenException" : "MissingAuthenticationToken",
                 "Request is missing Authentication Token");
        return 0;
    }
    if (strcmp(c.ak, sim_cfg.aws_access) != 0) {
        if (proto == AWS_EC2)
            aws_fail(rq, rs, 401, "AuthFailure",
                     "AWS was not able to validate the provided access credentials");
        else
            aws_fail(rq, rs, proto == AWS_JSON ? 400 : 403,
                     json ? "UnrecognizedClientException" : "InvalidClientTokenId",
                     "The security token included in the request is invalid.");
    } else if (!aws_sig_ok(rq, &c, az, &why)) {
        aws_fail(rq, rs, proto == AWS_JSON ? 400 : 403,
                 json ? "InvalidSignatureException" : "SignatureDoesNotMatch", "%s", why);
    } else {
        ok = 1;
    }
    free(c.buf);
    return ok;
}

/* ------------------------------------------------------------------ EKS tokens */

int aws_eks_token_ok(const char *cluster, const char *token)
{
    static const char pre[] = "k8s-aws-v1.";
    char *b64 = NULL, *url = NULL, *hdr = NULL, *err = NULL, *cred = NULL;
    json_t *q = json_object();
    hoist_buf again = {0};
    hoist_sigv4_output out = {0};
    int ok = 0;
    if (strncmp(token, pre, sizeof pre - 1) != 0)
        goto cleanup;
    /* unpadded base64url -> padded base64 */
    const char *t = token + sizeof pre - 1;
    size_t n = strlen(t), ulen = 0;
    b64 = hoist_xmalloc(n + 4);
    for (size_t i = 0; i < n; i++)
        b64[i] = t[i] == '-' ? '+' : t[i] == '_' ? '/' : t[i];
    memcpy(b64 + n, "===", (4 - n % 4) % 4);
    b64[n + (4 - n % 4) % 4] = '\0';
    char *qm = n && (url = hoist_base64_decode(b64, &ulen)) ? strchr(url, '?') : NULL;
    if (!qm || strlen(url) != ulen)
        goto cleanup;
    *qm = '\0';
    aws_form_parse(q, qm + 1, strlen(qm + 1));
#define Q(k) json_string_value(json_object_get(q, k))
    const char *date = Q("X-Amz-Date"), *sh = Q("X-Amz-SignedHeaders");
    struct tm tm = {0};
    const char *end = date ? strptime(date, "%Y%m%dT%H%M%SZ", &tm) : NULL;
    if (!Q("Action") || strcmp(Q("Action"), "GetCallerIdentity") != 0 || !Q("X-Amz-Credential") ||
        !end || *end || !sh || !strstr(sh, "x-k8s-aws-id"))
        goto cleanup;
    /* Credential = AK/DATE/REGION/sts/aws4_request, AK the configured one */
    cred = hoist_xstrdup(Q("X-Amz-Credential"));
    char *f[5] = {0}, *save = NULL;
    int nf = 0;
    for (char *p = strtok_r(cred, "/", &save); p && nf < 5; p = strtok_r(NULL, "/", &save))
        f[nf++] = p;
    if (nf != 5 || strcmp(f[0], sim_cfg.aws_access) != 0 || strcmp(f[3], "sts") != 0)
        goto cleanup;
    /* EKS admits a token for 15 minutes whatever X-Amz-Expires says */
    time_t when = timegm(&tm), now = time(NULL);
    if (when < now - 900 || when > now + 60)
        goto cleanup;
    hoist_sigv4_spec spec = {.struct_size = sizeof spec, .service = "sts", .region = f[2],
                             .access_key_id = f[0], .secret_access_key = sim_cfg.aws_secret,
                             .session_token = Q("X-Amz-Security-Token")};
    long expires = Q("X-Amz-Expires") ? atol(Q("X-Amz-Expires")) : 0;
    /* Sign the same request again with the simulator's secret: the URL
       without the signing parameters (presigning adds them back; the
       canonical query is sorted, so any client's order works), the cluster
       name in x-k8s-aws-id. */
    hoist_buf_puts(&again, url);
    const char *k, *sep = "?";
    json_t *v;
    json_object_foreach(q, k, v) {
        if (strncmp(k, "X-Amz-", 6) == 0)
            continue;
        hoist_buf_puts(&again, sep);
        sep = "&";
        hoist_uri_encode(&again, k, strlen(k), 0);
        hoist_buf_puts(&again, "=");
        hoist_uri_encode(&again, json_string_value(v), strlen(json_string_value(v)), 0);
    }
    hdr = hoist_xasprintf("x-k8s-aws-id: %s", cluster);
    const char *headers[] = {hdr, NULL};
    hoist_sigv4_input in = {.method = "GET", .url = again.s, .headers = headers, .when = when,
                            .expires = expires};
    /* the signature covers the signed-header list, so equal signatures
       also mean the client signed exactly host and x-k8s-aws-id */
    ok = expires > 0 && hoist_sigv4_sign(&spec, &in, &out, &err) == 0 &&
         strcmp(out.signature, Q("X-Amz-Signature") ? Q("X-Amz-Signature") : "") == 0;
#undef Q
cleanup:
    json_decref(q);
    free(b64);
    free(url);
    free(hdr);
    free(err);
    free(cred);
    hoist_buf_free(&again);
    hoist_sigv4_output_free(&out);
    return ok;
}

int aws_sigv4_check(sim_req *rq, const char **why)
{
    aws_cred c;
    int rc = 1;
    *why = NULL;
    if (aws_cred_parse(rq, &c) != 0)
        return 0;
    if (strcmp(c.ak, sim_cfg.aws_access) != 0)
        rc = -1;
    else if (!aws_sig_ok(rq, &c, sim_header_in(rq, "Authorization"), why))
        rc = -2;
    free(c.buf);
    return rc;
}

/* ------------------------------------------------------------------ routing */

static char *aws_claim(sim_req *rq)
{
    const char *az = sim_header_in(rq, "Authorization");
    const char *target = sim_header_in(rq, "X-Amz-Target");
    if (!(az && strncmp(az, "AWS4-", 5) == 0) && !target && strcmp(rq->path, "/") != 0)
        return NULL;
    const aws_svc *s = aws_svc_of(rq);
    if (s && s->proto == AWS_REST_JSON)
        return hoist_xasprintf("%s:%s", s->name, rq->path);
    if (s && s->proto == AWS_JSON) {
        const char *dot = target ? strchr(target, '.') : NULL;
        return hoist_xasprintf("%s:%s", s->name, dot ? dot + 1 : "");
    }
    /* Query: the parameters of the query string and of a form body */
    json_t *p = json_object();
    const char *ct = sim_header_in(rq, "Content-Type");
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, aws_arg_it, p);
    if (rq->body_len && ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        aws_form_parse(p, rq->body, rq->body_len);
    rq->json = p;
    const char *action = json_string_value(json_object_get(p, "Action"));
    return hoist_xasprintf("%s:%s", s ? s->name : "?", action ? action : "");
}

static const sim_cloud aws_cloud = {
    .name = "aws", .prefixes = {NULL}, .auth = aws_auth, .error = aws_error, .faults = 1,
    .claim = aws_claim,
};

void aws_op(const aws_svc *s, const char *action, sim_handler h, int mutating)
{
    char *key = hoist_xasprintf("%s:%s", s->name, action);
    sim_route(&aws_cloud, "POST", key, h, mutating);
    if (s->proto == AWS_EC2 || s->proto == AWS_QUERY)
        sim_route(&aws_cloud, "GET", key, h, mutating);
    free(key);
}

void aws_rest(const aws_svc *s, const char *method, const char *path, sim_handler h,
              int mutating)
{
    char *key = hoist_xasprintf("%s:%s", s->name, path);
    sim_route(&aws_cloud, method, key, h, mutating);
    free(key);
}

/* ------------------------------------------------------------------ small helpers */

json_t *aws_tag_strings(json_t *set)
{
    json_t *a = json_array(), *t;
    size_t i;
    json_array_foreach(set, i, t) {
        json_t *k = json_object_get(t, "Key"), *v = json_object_get(t, "Value");
        if (!k) {
            k = json_object_get(t, "key");
            v = json_object_get(t, "value");
        }
        if (json_is_string(k)) {
            char *s = hoist_xasprintf("%s=%s", json_string_value(k),
                                      json_is_string(v) ? json_string_value(v) : "");
            json_array_append_new(a, json_string(s));
            free(s);
        }
    }
    return a;
}

char *aws_ec2_id(const char *prefix)
{
    char *u = sim_uuid(), hex[18];
    size_t n = 0;
    for (const char *p = u; *p && n < 17; p++)
        if (*p != '-')
            hex[n++] = *p;
    hex[n] = '\0';
    free(u);
    return hoist_xasprintf("%s-%s", prefix, hex);
}

char *aws_now_iso(void)
{
    char ts[32];
    long long ms = sim_wall_ms();
    sim_rfc3339(ms, ts);
    ts[strlen(ts) - 1] = '\0'; /* drop the Z to add milliseconds */
    return hoist_xasprintf("%s.%03lldZ", ts, ms % 1000);
}

void sim_aws_register(void)
{
    if (!sim_cfg.aws_access)
        sim_cfg.aws_access = hoist_xstrdup("AKIDHOISTSIM");
    if (!sim_cfg.aws_secret)
        sim_cfg.aws_secret = hoist_xstrdup("hoist-sim-secret");
    sim_cloud_add(&aws_cloud);
    sim_aws_ec2_register();
    sim_aws_query_register();
    sim_aws_json_register();
}
