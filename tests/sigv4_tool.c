/*
 * sigv4_tool - sign requests given as JSON lines on stdin and print, one
 * JSON line each, hoist's canonical request, string to sign, signature and
 * URL (tests/sigv4_botocore.py compares them with botocore).
 * Input keys: method, url, headers [[name, value]...], body_hex, ak, sk,
 * token, service, region, time (Unix seconds), s3 (bool), expires (presign),
 * eks_cluster (then only {"token"} is printed).
 */
#include "sigv4.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *unhex(const char *h, size_t *len)
{
    size_t n = h ? strlen(h) / 2 : 0;
    char *b = hoist_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (char)v;
    }
    *len = n;
    return b;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_error_t jerr;
        json_t *in = json_loads(line, 0, &jerr);
        if (!in) {
            fprintf(stderr, "sigv4_tool: bad JSON: %s\n", jerr.text);
            return 2;
        }
        hoist_sigv4_spec spec = {sizeof spec, str(in, "service"), str(in, "region"),
                                 str(in, "ak"), str(in, "sk"), str(in, "token"),
                                 json_is_true(json_object_get(in, "s3")) ? HOIST_SIGV4_S3 : 0};
        time_t when = (time_t)json_integer_value(json_object_get(in, "time"));
        json_t *out;
        char *err = NULL;
        if (str(in, "eks_cluster")) {
            char *tok = hoist_eks_token(&spec, str(in, "eks_cluster"), NULL, when, &err);
            out = tok ? json_pack("{s:s}", "token", tok) : json_pack("{s:s}", "error", err);
            free(tok);
        } else {
            json_t *hs = json_object_get(in, "headers");
            size_t n = json_array_size(hs);
            char **h = hoist_xcalloc(n + 1, sizeof *h);
            for (size_t i = 0; i < n; i++)
                h[i] = hoist_xasprintf("%s:%s", json_string_value(json_array_get(json_array_get(hs, i), 0)),
                                       json_string_value(json_array_get(json_array_get(hs, i), 1)));
            size_t blen;
            char *body = unhex(str(in, "body_hex"), &blen);
            hoist_sigv4_input req = {.method = str(in, "method"), .url = str(in, "url"),
                                     .headers = (const char *const *)h, .body = body,
                                     .body_len = blen, .when = when,
                                     .expires = (long)json_integer_value(json_object_get(in, "expires"))};
            hoist_sigv4_output o;
            if (hoist_sigv4_sign(&spec, &req, &o, &err) == 0) {
                out = json_pack("{s:s, s:s, s:s, s:s}", "creq", o.canonical_request, "sts",
                                o.string_to_sign, "sig", o.signature, "url", o.url);
                hoist_sigv4_output_free(&o);
            } else {
                out = json_pack("{s:s}", "error", err);
                rc = 1;
            }
            for (size_t i = 0; i < n; i++)
                free(h[i]);
            free(h);
            free(body);
        }
        free(err);
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(out);
        json_decref(in);
    }
    free(line);
    return rc;
}
