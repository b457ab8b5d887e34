/*
 * fuzz_sigv4.c - SigV4 canonicalisation: hoist_sigv4_sign with a fuzzed
 * method, URL (path and query), header lines, body and flags, in header and
 * presign mode; then the EKS token over a fuzzed cluster name and STS URL.
 * Input: 2 control bytes, then fields separated by '\n':
 * method, url, header..., and the body after an empty line.
 */
#include "fuzz.h"

#include "sigv4.h"
#include "util.h"

#define MAX_HEADERS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned flags = data[0] & 0x0f;
    long expires = (data[1] & 1) ? (long)(data[1] >> 1) * 60 + 1 : 0;
    char *s = fuzz_cstr(data + 2, size - 2);
    char *f[3];
    fuzz_split(s, '\n', f, 3); /* method, url, rest */
    const char *headers[MAX_HEADERS + 1] = {0};
    size_t nh = 0;
    const char *body = "";
    char *p = f[2];
    while (*p && nh < MAX_HEADERS) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (!*p) { /* empty line: the rest is the body */
            body = nl ? nl + 1 : "";
            break;
        }
        headers[nh++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    hoist_sigv4_spec spec = {.struct_size = sizeof spec, .service = (data[1] & 2) ? "s3" : "ec2",
                             .region = "eu-west-3", .access_key_id = "AKIDEXAMPLE",
                             .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                             .session_token = (data[1] & 4) ? "token" : NULL, .flags = flags};
    hoist_sigv4_input in = {.method = f[0], .url = f[1], .headers = headers, .body = body,
                            .body_len = strlen(body), .when = 1440938160, .expires = expires};
    hoist_sigv4_output out = {0};
    char *err = NULL;
    if (hoist_sigv4_sign(&spec, &in, &out, &err) == 0)
        hoist_sigv4_output_free(&out);
    free(err);
    err = NULL;
    char *tok = hoist_eks_token(&spec, f[0], (data[1] & 8) ? f[1] : NULL, 1440938160, &err);
    free(tok);
    free(err);
    hoist_buf b = {0};
    hoist_uri_encode(&b, f[1], strlen(f[1]), data[1] & 16);
    hoist_buf_free(&b);
    free(s);
    return 0;
}
