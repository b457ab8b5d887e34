/*
 * check_sigv4.c - SigV4 against AWS's own vectors, read at run time from
 * $HOIST_SPECS_DIR/aws/sigv4 (aws4_testsuite and aws-c-auth-v4).
 */
#include "sigv4.h"
#include "testutil.h"
#include "util.h"

#include <dirent.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#define AK "AKIDEXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_20150830 1440938160 /* 2015-08-30T12:36:00Z */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    hoist_buf b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        hoist_buf_add(&b, tmp, n);
    fclose(fp);
    return hoist_buf_steal(&b);
}

/* A raw request (.req / request.txt) split into what hoist_sigv4_sign takes. */
typedef struct raw_req {
    char *method, *url, *body;
    char **headers;
    size_t n_headers;
} raw_req;

static void raw_free(raw_req *r)
{
    free(r->method);
    free(r->url);
    free(r->body);
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->headers[i]);
    free(r->headers);
}

static int parse_raw(const char *text, raw_req *r)
{
    memset(r, 0, sizeof *r);
    const char *eol = strchr(text, '\n');
    size_t l = eol ? (size_t)(eol - text) : strlen(text);
    char *line = hoist_xstrndup(text, l);
    char *sp = strchr(line, ' ');
    char *http = strstr(line, " HTTP/");
    if (!sp || !http) {
        free(line);
        return -1;
    }
    r->method = hoist_xstrndup(line, (size_t)(sp - line));
    r->url = hoist_xasprintf("https://example.amazonaws.com%.*s", (int)(http - sp - 1), sp + 1);
    free(line);
    r->headers = hoist_xcalloc(64, sizeof(char *));
    const char *p = eol ? eol + 1 : text + l;
    while (*p && *p != '\n') {
        const char *e = strchr(p, '\n');
        size_t ll = e ? (size_t)(e - p) : strlen(p);
        if ((*p == ' ' || *p == '\t') && r->n_headers) {
            /* A folded line continues the previous header. */
            char *prev = r->headers[r->n_headers - 1];
            r->headers[r->n_headers - 1] = hoist_xasprintf("%s %.*s", prev, (int)ll, p);
            free(prev);
        } else if (r->n_headers < 63) {
            r->headers[r->n_headers++] = hoist_xstrndup(p, ll);
        }
        p += ll;
        if (*p == '\n')
            p++;
    }
    r->body = hoist_xstrdup(*p == '\n' ? p + 1 : "");
    return 0;
}

static char *creq_token(const char *creq)
{
    const char *t = strstr(creq, "\nx-amz-security-token:");
    if (!t)
        return NULL;
    t += strlen("\nx-amz-security-token:");
    return hoist_xstrndup(t, strcspn(t, "\n"));
}

static int check_eq(hoist_buf *errs, const char *name, const char *what, const char *want,
                    const char *got)
{
    if (want && got && strcmp(want, got) == 0)
        return 0;
    hoist_buf_printf(errs, "%s: %s differs\n--- want\n%s\n--- got\n%s\n", name, what,
                     want ? want : "(missing)", got ? got : "(none)");
    return 1;
}

START_TEST(test_get_vanilla)
{
    const char *h[] = {"Host:example.amazonaws.com", NULL};
    hoist_sigv4_spec spec = {sizeof spec, "service", "us-east-1", AK, SK, NULL, 0};
    hoist_sigv4_input in = {.method = "GET", .url = "https://example.amazonaws.com/",
                            .headers = h, .when = T_20150830};
    hoist_sigv4_output out;
    char *err;
    ck_assert_int_eq(hoist_sigv4_sign(&spec, &in, &out, &err), 0);
    ck_assert_str_eq(out.signature,
                     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    ck_assert_str_eq(out.authorization,
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                     "aws4_request, SignedHeaders=host;x-amz-date, "
                     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    ck_assert_str_eq(out.add_headers[0], "X-Amz-Date: 20150830T123600Z");
    hoist_sigv4_output_free(&out);
}
END_TEST

/* Every case directory under @dir (recursively: normalize-path/ nests). */
static void collect_cases(const char *dir, const char *marker, char ***list, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = hoist_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *m = marker ? hoist_xasprintf("%s/%s", p, marker)
                             : hoist_xasprintf("%s/%s.req", p, e->d_name);
            if (access(m, R_OK) == 0) {
                *list = hoist_xrealloc(*list, (*n + 1) * sizeof **list);
                (*list)[(*n)++] = hoist_xstrdup(p);
            }
            free(m);
            collect_cases(p, marker, list, n);
        }
        free(p);
    }
    closedir(d);
}

START_TEST(test_aws4_testsuite)
{
    const char *specs = tu_specs_dir();
    ck_assert_ptr_nonnull(specs);
    char *root = hoist_xasprintf("%s/aws/sigv4/aws4_testsuite", specs);
    char **cases = NULL;
    size_t n = 0, failed = 0;
    collect_cases(root, NULL, &cases, &n);
    ck_assert_msg(n >= 30, "found only %zu cases under %s", n, root);
    hoist_buf errs = {0};
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(cases[i], '/') + 1;
        char *pre = hoist_xasprintf("%s/%s", cases[i], base);
        char *fr = hoist_xasprintf("%s.req", pre), *fc = hoist_xasprintf("%s.creq", pre),
             *fs = hoist_xasprintf("%s.sts", pre), *fa = hoist_xasprintf("%s.authz", pre);
        char *req = slurp(fr), *creq = slurp(fc), *sts = slurp(fs), *authz = slurp(fa);
        raw_req r;
        ck_assert_int_eq(parse_raw(req, &r), 0);
        char *token = creq_token(creq);
        hoist_sigv4_spec spec = {sizeof spec, "service", "us-east-1", AK, SK, token, 0};
        r.headers[r.n_headers] = NULL;
        hoist_sigv4_input in = {.method = r.method, .url = r.url,
                                .headers = (const char *const *)r.headers,
                                .body = r.body, .body_len = strlen(r.body), .when = T_20150830};
        hoist_sigv4_output out;
        char *err = NULL;
        if (hoist_sigv4_sign(&spec, &in, &out, &err) != 0) {
            hoist_buf_printf(&errs, "%s: %s\n", base, err);
            failed++;
        } else {
            int f = check_eq(&errs, base, "canonical request", creq, out.canonical_request);
            f |= check_eq(&errs, base, "string to sign", sts, out.string_to_sign);
            f |= check_eq(&errs, base, "Authorization", authz, out.authorization);
            failed += f;
            hoist_sigv4_output_free(&out);
        }
        free(err);
        raw_free(&r);
        free(token);
        free(req), free(creq), free(sts), free(authz);
        free(pre), free(fr), free(fc), free(fs), free(fa);
        free(cases[i]);
    }
    printf("# aws4_testsuite: %zu cases, %zu failed, none skipped\n", n, failed);
    ck_assert_msg(failed == 0, "%s", errs.s);
    hoist_buf_free(&errs);
    free(cases);
    free(root);
}
END_TEST

/* One aws-c-auth-v4 case in mode @mode ("header" or "query"). */
static int crt_case(const char *dir, const char *mode, hoist_buf *errs)
{
    const char *base = strrchr(dir, '/') + 1;
    char *path = hoist_xasprintf("%s/context.json", dir);
    json_error_t jerr;
    json_t *ctx = json_load_file(path, 0, &jerr);
    free(path);
    ck_assert_ptr_nonnull(ctx);
    json_t *cr = json_object_get(ctx, "credentials");
    unsigned flags = 0;
    if (json_is_false(json_object_get(ctx, "normalize")))
        flags |= HOIST_SIGV4_NO_NORMALIZE;
    if (json_is_true(json_object_get(ctx, "sign_body")))
        flags |= HOIST_SIGV4_CONTENT_SHA256;
    if (json_is_true(json_object_get(ctx, "omit_session_token")))
        flags |= HOIST_SIGV4_OMIT_TOKEN;
    hoist_sigv4_spec spec = {sizeof spec,
                             json_string_value(json_object_get(ctx, "service")),
                             json_string_value(json_object_get(ctx, "region")),
                             json_string_value(json_object_get(cr, "access_key_id")),
                             json_string_value(json_object_get(cr, "secret_access_key")),
                             json_string_value(json_object_get(cr, "token")),
                             flags};
    ck_assert_str_eq(json_string_value(json_object_get(ctx, "timestamp")),
                     "2015-08-30T12:36:00Z");
    path = hoist_xasprintf("%s/request.txt", dir);
    char *req = slurp(path);
    free(path);
    raw_req r;
    ck_assert_int_eq(parse_raw(req, &r), 0);
    r.headers[r.n_headers] = NULL;
    int query = strcmp(mode, "query") == 0;
    hoist_sigv4_input in = {.method = r.method, .url = r.url,
                            .headers = (const char *const *)r.headers, .body = r.body,
                            .body_len = strlen(r.body), .when = T_20150830,
                            .expires = query ? (long)json_integer_value(json_object_get(
                                                   ctx, "expiration_in_seconds"))
                                             : 0};
    hoist_sigv4_output out;
    char *err = NULL;
    int f = 0;
    if (hoist_sigv4_sign(&spec, &in, &out, &err) != 0) {
        hoist_buf_printf(errs, "%s/%s: %s\n", base, mode, err);
        f = 1;
    } else {
        const char *files[] = {"canonical-request", "string-to-sign", "signature"};
        const char *got[] = {out.canonical_request, out.string_to_sign, out.signature};
        for (int i = 0; i < 3; i++) {
            char *fp = hoist_xasprintf("%s/%s-%s.txt", dir, mode, files[i]);
            char *want = slurp(fp);
            char *label = hoist_xasprintf("%s (%s)", base, mode);
            f |= check_eq(errs, label, files[i], want, got[i]);
            free(label);
            free(want);
            free(fp);
        }
        if (query && !strstr(out.url, out.signature))
            f |= check_eq(errs, base, "presigned URL", "X-Amz-Signature in URL", out.url);
        hoist_sigv4_output_free(&out);
    }
    free(err);
    raw_free(&r);
    free(req);
    json_decref(ctx);
    return f;
}

START_TEST(test_aws_c_auth)
{
    const char *specs = tu_specs_dir();
    ck_assert_ptr_nonnull(specs);
    char *root = hoist_xasprintf("%s/aws/sigv4/aws-c-auth-v4", specs);
    char **cases = NULL;
    size_t n = 0, failed = 0;
    collect_cases(root, "context.json", &cases, &n);
    ck_assert_msg(n >= 35, "found only %zu cases under %s", n, root);
    hoist_buf errs = {0};
    for (size_t i = 0; i < n; i++) {
        failed += crt_case(cases[i], "header", &errs);
        failed += crt_case(cases[i], "query", &errs);
        free(cases[i]);
    }
    printf("# aws-c-auth-v4: %zu cases x header/query, %zu failed, none skipped\n", n, failed);
    ck_assert_msg(failed == 0, "%s", errs.s);
    hoist_buf_free(&errs);
    free(cases);
    free(root);
}
END_TEST

START_TEST(test_s3_and_token)
{
    /* S3: the path is signed as sent (encoded once), x-amz-content-sha256
       is signed, and a session token is signed as a header. */
    hoist_sigv4_spec spec = {sizeof spec, "s3", "eu-west-3", AK, SK, "TOKENVALUE1234",
                             HOIST_SIGV4_S3 | HOIST_SIGV4_UNSIGNED_PAYLOAD};
    hoist_sigv4_input in = {.method = "PUT",
                            .url = "https://b.s3.amazonaws.com/a%20b/../c//d?x=1",
                            .body = "data", .body_len = 4, .when = T_20150830};
    hoist_sigv4_output out;
    char *err;
    ck_assert_int_eq(hoist_sigv4_sign(&spec, &in, &out, &err), 0);
    ck_assert_str_eq(out.canonical_request,
                     "PUT\n/a%20b/../c//d\nx=1\nhost:b.s3.amazonaws.com\n"
                     "x-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20150830T123600Z\n"
                     "x-amz-security-token:TOKENVALUE1234\n\n"
                     "host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"
                     "UNSIGNED-PAYLOAD");
    hoist_sigv4_output_free(&out);
    /* Not S3: normalised and encoded a second time. */
    spec.flags = 0;
    spec.service = "ec2";
    ck_assert_int_eq(hoist_sigv4_sign(&spec, &in, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out.canonical_request, "PUT\n/c/d\n"));
    hoist_sigv4_output_free(&out);
    in.url = "https://h.example/a%20b";
    ck_assert_int_eq(hoist_sigv4_sign(&spec, &in, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out.canonical_request, "PUT\n/a%2520b\n"));
    hoist_sigv4_output_free(&out);
}
END_TEST

START_TEST(test_eks_token)
{
    hoist_sigv4_spec spec = {sizeof spec, "sts", "us-east-1", AK, SK, NULL, 0};
    char *err = NULL;
    char *tok = hoist_eks_token(&spec, "my-cluster", NULL, T_20150830, &err);
    ck_assert_ptr_nonnull(tok);
    ck_assert_int_eq(strncmp(tok, "k8s-aws-v1.", 11), 0);
    ck_assert_ptr_null(strchr(tok, '='));
    ck_assert_ptr_null(strchr(tok, '+'));
    ck_assert_ptr_null(strchr(tok, '/'));
    /* Decode and check what the URL says. */
    hoist_buf b = {0};
    hoist_buf_puts(&b, tok + 11);
    for (size_t i = 0; i < b.len; i++)
        b.s[i] = b.s[i] == '-' ? '+' : b.s[i] == '_' ? '/' : b.s[i];
    while (b.len % 4)
        hoist_buf_puts(&b, "=");
    unsigned char *url = hoist_xcalloc(1, b.len);
    ck_assert_int_gt(EVP_DecodeBlock(url, (unsigned char *)b.s, (int)b.len), 0);
    const char *u = (const char *)url;
    ck_assert_int_eq(strncmp(u, "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity"
                                "&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&", 107), 0);
    ck_assert_ptr_nonnull(strstr(u, "&X-Amz-Expires=60&"));
    ck_assert_ptr_nonnull(strstr(u, "&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&"));
    ck_assert_ptr_nonnull(strstr(u, "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts"));
    ck_assert_ptr_nonnull(strstr(u, "&X-Amz-Signature="));
    free(url);
    hoist_buf_free(&b);
    free(tok);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("sigv4");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_get_vanilla);
    /* The vector suites run only where the specs are; say so otherwise. */
    if (tu_specs_dir()) {
        tcase_add_test(tc, test_aws4_testsuite);
        tcase_add_test(tc, test_aws_c_auth);
    } else {
        printf("# SKIP AWS SigV4 vector suites: HOIST_SPECS_DIR (%s) absent\n",
               getenv("HOIST_SPECS_DIR") ? getenv("HOIST_SPECS_DIR") : "unset");
        fflush(stdout);
    }
    tcase_add_test(tc, test_s3_and_token);
    tcase_add_test(tc, test_eks_token);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(suite());
}
