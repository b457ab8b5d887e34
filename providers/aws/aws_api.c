/*
 * aws_api.c - the driver's plumbing: memory and strings, names and
 * idempotency tokens, endpoints, the three wire protocols (Query with XML
 * answers; JSON 1.1; REST-JSON) and AWS error decoding.  Every call goes
 * through host->http with SigV4 signing, so retries, tracing, redaction and
 * the TLS policy are the core's.
 */
#include "aws.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ strings */

void aws_buf_urlenc(hoist_kit_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            hoist_kit_buf_add(b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            hoist_kit_buf_add(b, e, 3);
        }
    }
}

/* ------------------------------------------------------------------ names */

/* Each kind's limit and rules, from the AWS API references (botocore models
   where they state them): see aws_name_kind in aws.h. */
static const struct {
    size_t max;
    unsigned flags;
} aws_name_rules[] = {
    [AWS_NAME_TAG] = {255, 0},
    /* no dash left before the hash: "...-eu-65bf6c60", not "...-eu--65bf6c60" */
    [AWS_NAME_IAM_ROLE] = {64, HOIST_KIT_NAME_NO_END_DASH},
    [AWS_NAME_EKS_CLUSTER] = {100, 0},
    [AWS_NAME_EKS_NODEGROUP] = {63, HOIST_KIT_NAME_NO_END_DASH},
    [AWS_NAME_RDS] = {63, HOIST_KIT_NAME_NO_END_DASH | HOIST_KIT_NAME_NO_DOUBLE_DASH},
};

char *aws_name(const hoist_resource *r, aws_name_kind kind, const char *suffix)
{
    return hoist_kit_name(aws_name_rules[kind].max, aws_name_rules[kind].flags, r->project, r->env,
                          suffix, (char *)NULL);
}

char *aws_token(const hoist_resource *r, const char *what)
{
    char *key = hoist_kit_xasprintf("%s\n%s\n%s\n%s", r->project, r->env, r->name, what);
    size_t n = strlen(key);
    /* two chained FNV-1a 64: 128 bits, as EC2 ClientTokens have always been */
    uint64_t a = hoist_kit_fnv1a(HOIST_KIT_FNV64_INIT, key, n);
    uint64_t b = hoist_kit_fnv1a(a ^ 0x9e3779b97f4a7c15ULL, key, n);
    free(key);
    return hoist_kit_xasprintf("hoist-%016llx%016llx", (unsigned long long)a,
                               (unsigned long long)b);
}

/* ------------------------------------------------------------------ endpoints */

char *aws_endpoint(const aws_prov *p, const char *svc, int *override)
{
    const char *u = json_string_value(json_object_get(p->endpoints, svc));
    if (!u)
        u = p->endpoint_url;
    *override = u != NULL;
    if (u) {
        char *s = hoist_kit_xstrdup(u);
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == '/')
            s[--n] = '\0';
        return s;
    }
    if (strcmp(svc, "iam") == 0)
        return hoist_kit_xstrdup("https://iam.amazonaws.com");
    if (strcmp(svc, "ecr") == 0)
        return hoist_kit_xasprintf("https://api.ecr.%s.amazonaws.com", p->region);
    return hoist_kit_xasprintf("https://%s.%s.amazonaws.com", svc, p->region);
}

void aws_sigv4(const aws_prov *p, const char *svc, hoist_sigv4_spec *s)
{
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    s->service = svc;
    /* IAM is a global service signed in us-east-1. */
    s->region = strcmp(svc, "iam") == 0 ? "us-east-1" : p->region;
    s->access_key_id = p->ak;
    s->secret_access_key = p->sk;
    s->session_token = p->token;
}

/* ------------------------------------------------------------------ Query parameters */

void aws_param(aws_params *q, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = hoist_kit_xvasprintf(NULL, fmt, ap);
    va_end(ap);
    if (!q->kv)
        q->kv = json_array();
    json_array_append_new(q->kv, json_pack("[s,s]", name, v));
    free(v);
}

void aws_params_free(aws_params *q)
{
    json_decref(q->kv);
    q->kv = NULL;
}

char *aws_query_body(const char *action, const char *version, const aws_params *q)
{
    hoist_kit_buf b = {0};
    size_t i;
    json_t *kv;
    hoist_kit_buf_puts(&b, "Action=");
    aws_buf_urlenc(&b, action);
    hoist_kit_buf_puts(&b, "&Version=");
    aws_buf_urlenc(&b, version);
    json_array_foreach(q ? q->kv : NULL, i, kv) {
        hoist_kit_buf_puts(&b, "&");
        aws_buf_urlenc(&b, json_string_value(json_array_get(kv, 0)));
        hoist_kit_buf_puts(&b, "=");
        aws_buf_urlenc(&b, json_string_value(json_array_get(kv, 1)));
    }
    return b.s;
}

int aws_param_tags(aws_params *q, const char *prefix, int first, const hoist_resource *r,
                   const char *name)
{
    const char *kv[][2] = {{"hoist:project", r->project}, {"hoist:env", r->env},
                           {"hoist:resource", r->name}, {"Name", name}};
    int n = first;
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (!kv[i][1])
            continue;
        char *k = hoist_kit_xasprintf("%s.%d.Key", prefix, n);
        char *v = hoist_kit_xasprintf("%s.%d.Value", prefix, n);
        aws_param(q, k, "%s", kv[i][0]);
        aws_param(q, v, "%s", kv[i][1]);
        free(k);
        free(v);
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ errors */

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

hoist_status aws_code_status(const char *code, long http)
{
    static const char *const auth[] = {
        "AuthFailure", "UnrecognizedClientException", "SignatureDoesNotMatch",
        "InvalidSignatureException", "InvalidClientTokenId", "ExpiredToken",
        "ExpiredTokenException", "AccessDenied", "AccessDeniedException",
        "UnauthorizedOperation", "MissingAuthenticationToken",
        "MissingAuthenticationTokenException", "IncompleteSignature", NULL};
    static const char *const transient[] = {
        "Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestThrottled",
        "RequestThrottledException", "TooManyRequestsException", "InternalError",
        "InternalFailure", "ServerException", "ServiceUnavailable",
        "ServiceUnavailableException", "Unavailable", "PriorRequestNotComplete", NULL};
    static const char *const conflict[] = {
        "DependencyViolation", "ResourceInUseException", "DeleteConflict",
        "InvalidDBInstanceState", "InvalidDBInstanceStateFault", "IncorrectState",
        "InvalidDBSubnetGroupStateFault", "Resource.AlreadyAssociated", "EntityAlreadyExists",
        "RouteAlreadyExists", "IdempotentParameterMismatch", NULL};
    for (int i = 0; auth[i]; i++)
        if (strcmp(code, auth[i]) == 0)
            return HOIST_E_AUTH;
    for (int i = 0; transient[i]; i++)
        if (strcmp(code, transient[i]) == 0)
            return HOIST_E_TRANSIENT;
    if (strncmp(code, "Throttl", 7) == 0)
        return HOIST_E_TRANSIENT;
    if (ends_with(code, "LimitExceeded") || ends_with(code, "LimitExceededException") ||
        ends_with(code, "QuotaExceeded") || ends_with(code, "QuotaExceededFault") ||
        strcmp(code, "InstanceQuotaExceeded") == 0)
        return HOIST_E_QUOTA;
    for (int i = 0; conflict[i]; i++)
        if (strcmp(code, conflict[i]) == 0)
            return HOIST_E_CONFLICT;
    if (strstr(code, "AlreadyExists") || strstr(code, ".Duplicate"))
        return HOIST_E_CONFLICT;
    if (strstr(code, "NotFound") || strncmp(code, "NoSuch", 6) == 0 ||
        strcmp(code, "ResourceNotFoundException") == 0)
        return HOIST_E_NOTFOUND;
    if (strncmp(code, "InvalidParameter", 16) == 0 || strncmp(code, "Invalid", 7) == 0 ||
        strcmp(code, "ValidationError") == 0 || strcmp(code, "ValidationException") == 0 ||
        strcmp(code, "MissingParameter") == 0 || strncmp(code, "Malformed", 9) == 0 ||
        strcmp(code, "InvalidRequestException") == 0 || strcmp(code, "SerializationException") == 0)
        return HOIST_E_INVALID;
    if (http >= 500 || http == 429)
        return HOIST_E_TRANSIENT;
    if (http == 401 || http == 403)
        return HOIST_E_AUTH;
    return HOIST_E_INTERNAL;
}

int aws_error_code(const hoist_host *h, hoist_ctx *ctx, const char *body, size_t len,
                   const char *type_header, char *code, size_t codesz, char **msg)
{
    char *c = NULL;
    *msg = NULL;
    code[0] = '\0';
    size_t skip = strspn(body, " \t\r\n");
    if (body[skip] == '<') {
        /* Query: <Response><Errors><Error> (EC2) or <ErrorResponse><Error>. */
        hoist_xml_doc *d = h->xml_parse(ctx, body, len);
        const hoist_xml_node *root = d ? h->xml_root(d) : NULL, *e = NULL;
        if (root) {
            e = h->xml_first(root, "Errors/Error");
            if (!e)
                e = h->xml_first(root, "Error");
        }
        if (e) {
            c = h->xml_text(e, "Code");
            *msg = h->xml_text(e, "Message");
        }
        if (d)
            h->xml_free(d);
    } else {
        json_t *j = json_loadb(body, len, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "__type"));
        const char *m = json_string_value(json_object_get(j, "message"));
        if (!m)
            m = json_string_value(json_object_get(j, "Message"));
        if (!t)
            t = json_string_value(json_object_get(j, "code"));
        if (!t)
            t = type_header;
        if (t) {
            /* "aws.protocoltests#FooError" and "FooError:http://..." both mean FooError */
            const char *hash = strrchr(t, '#');
            if (hash)
                t = hash + 1;
            c = hoist_kit_xstrdup(t);
            c[strcspn(c, ":")] = '\0';
        }
        *msg = hoist_kit_xstrdup(m);
        json_decref(j);
    }
    if (c)
        snprintf(code, codesz, "%s", c);
    free(c);
    return code[0] != '\0';
}

/* ------------------------------------------------------------------ calls */

void aws_call_clear(const aws_prov *p, aws_call *c)
{
    if (c->xml)
        p->host->xml_free(c->xml);
    json_decref(c->json);
    c->xml = NULL;
    c->json = NULL;
}

static int is_quiet(const aws_call *c)
{
    for (const char *const *q = c->quiet; q && *q; q++)
        if (strcmp(*q, c->code) == 0)
            return 1;
    return 0;
}

/*
 * Send one signed request and read the answer: XML (@xml) or JSON.  A
 * non-2xx answer is decoded into c->code and reported (unless quiet).
 */
static hoist_status aws_send(aws_prov *p, hoist_ctx *ctx, const char *svc, const char *method,
                             const char *path, const char *const *headers, const char *body,
                             const char *opname, int xml, aws_call *c)
{
    const hoist_host *h = p->host;
    int override = 0;
    char *base = aws_endpoint(p, svc, &override), *url = hoist_kit_xasprintf("%s%s", base, path);
    char *op = hoist_kit_xasprintf("%s:%s", svc, opname);
    hoist_sigv4_spec sig;
    hoist_http_response resp = {.struct_size = sizeof resp};
    hoist_status st;
    int got = 0;
    aws_sigv4(p, svc, &sig);
    hoist_http_request req = {
        .struct_size = sizeof req, .method = method, .url = url, .headers = headers,
        .body = body, .body_len = body ? strlen(body) : 0,
        .flags = (c->idempotent ? HOIST_HTTP_IDEMPOTENT : HOIST_HTTP_NO_RETRY) |
                 (override ? HOIST_HTTP_ALLOW_PLAIN_LOOPBACK : 0),
        .operation = op, .sigv4 = &sig,
    };
    /* Writes without an idempotency token are never retried by the
       transport: a lost answer surfaces as E_TRANSIENT and the next ensure
       looks for the object (by tag or name) before creating it again. */
    c->code[0] = '\0';
    st = h->http(ctx, &req, &resp);
    if (st != HOIST_OK)
        goto cleanup;
    got = 1;
    c->http = resp.status;
    if (resp.status >= 200 && resp.status < 300) {
        if (xml) {
            if (!(c->xml = h->xml_parse(ctx, resp.body, resp.body_len)))
                st = HOIST_E_INTERNAL; /* reported by xml_parse */
        } else if (resp.body_len) {
            json_error_t je;
            if (!(c->json = json_loadb(resp.body, resp.body_len, 0, &je)))
                st = h->fail(ctx, HOIST_E_INTERNAL, "%s: the answer is not JSON: %s", op, je.text);
        } else {
            c->json = json_object();
        }
        goto cleanup;
    }
    char *msg = NULL;
    aws_error_code(h, ctx, resp.body, resp.body_len, h->http_header(&resp, "x-amzn-ErrorType"),
                   c->code, sizeof c->code, &msg);
    st = aws_code_status(c->code, resp.status);
    if (!is_quiet(c)) {
        const char *hint = st == HOIST_E_AUTH
                               ? " (check the AWS credentials: AWS_ACCESS_KEY_ID/"
                                 "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the hoist.yml settings)"
                               : "";
        h->fail(ctx, st, "%s failed: HTTP %ld %s: %s%s", op, resp.status,
                c->code[0] ? c->code : "(no error code)", msg ? msg : "(no message)", hint);
    }
    free(msg);
cleanup:
    if (got)
        h->http_response_free(&resp);
    free(base);
    free(url);
    free(op);
    return st;
}

hoist_status aws_query(aws_prov *p, hoist_ctx *ctx, const char *svc, const char *action,
                       const aws_params *q, aws_call *c)
{
    const char *version = strcmp(svc, "ec2") == 0   ? AWS_EC2_VERSION
                          : strcmp(svc, "iam") == 0 ? AWS_IAM_VERSION
                          : strcmp(svc, "rds") == 0 ? AWS_RDS_VERSION
                                                    : AWS_STS_VERSION;
    static const char *const hdrs[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL};
    char *body = aws_query_body(action, version, q);
    hoist_status st = aws_send(p, ctx, svc, "POST", "/", hdrs, body, action, 1, c);
    free(body);
    return st;
}

hoist_status aws_json(aws_prov *p, hoist_ctx *ctx, const char *svc, const char *target_prefix,
                      const char *op, json_t *body, aws_call *c)
{
    char *target = hoist_kit_xasprintf("X-Amz-Target: %s.%s", target_prefix, op);
    const char *hdrs[] = {"Content-Type: application/x-amz-json-1.1", target, NULL};
    char *text = json_dumps(body, JSON_COMPACT);
    hoist_status st = aws_send(p, ctx, svc, "POST", "/", hdrs, text, op, 0, c);
    free(text);
    free(target);
    return st;
}

hoist_status aws_rest(aws_prov *p, hoist_ctx *ctx, const char *svc, const char *method,
                      const char *path, json_t *body, aws_call *c)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *opname = hoist_kit_xasprintf("%s %s", method, path);
    hoist_status st = aws_send(p, ctx, svc, method, path, body ? hdrs : NULL, text, opname, 0, c);
    free(opname);
    free(text);
    return st;
}

/* ------------------------------------------------------------------ reading answers */

char *aws_xtext(const aws_prov *p, const hoist_xml_node *from, const char *path)
{
    return from ? p->host->xml_text(from, path) : NULL;
}

int aws_xis(const aws_prov *p, const hoist_xml_node *from, const char *path, const char *want)
{
    char *t = aws_xtext(p, from, path);
    int eq = t && strcmp(t, want) == 0;
    free(t);
    return eq;
}

char *aws_ec2_tag(const aws_prov *p, const hoist_xml_node *from, const char *key)
{
    for (const hoist_xml_node *t = p->host->xml_first(from, "tagSet/item"); t;
         t = p->host->xml_next(t))
        if (aws_xis(p, t, "key", key))
            return aws_xtext(p, t, "value");
    return NULL;
}

const char *aws_jstr(json_t *j, const char *path)
{
    char *copy = hoist_kit_xstrdup(path), *save = NULL;
    for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
        j = json_object_get(j, k);
    free(copy);
    return json_string_value(j);
}

const char *aws_spec_str(const hoist_resource *r, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(r->spec, key));
    return v && *v ? v : def;
}

json_t *aws_need(const hoist_resource *r, const char *kind, const char *name)
{
    json_t *byk = json_object_get(r->needs, kind);
    if (name)
        return json_object_get(byk, name);
    const char *k;
    json_t *v;
    json_object_foreach(byk, k, v)
        return v;
    return NULL;
}
