/*
 * aws_calls.c - per-call cost of hoist's AWS transport: N EC2 CreateVpc
 * calls, then N DescribeVpcs (one VPC id each), signed with SigV4 by
 * libhoist and sent through hoist_http (one reused connection), each answer
 * parsed as XML the way the aws driver does.  The same requests the AWS CLI
 * sends for `aws ec2 create-vpc` / `aws ec2 describe-vpcs --vpc-ids`;
 * bench/aws_cli.sh runs both against hoist-sim and prints the ratio.
 *
 *   aws_calls ENDPOINT [N]     (credentials from AWS_ACCESS_KEY_ID /
 *                               AWS_SECRET_ACCESS_KEY; region eu-west-3)
 * Prints "create N S" and "describe N S" (seconds) on success; exit 1 on
 * the first failed call.
 */
#include "host.h"
#include "http.h"
#include "util.h"
#include "xmlutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One signed EC2 Query call; *@text gets the element at @path of the answer. */
static int ec2(hoist_ctx *ctx, const char *endpoint, const hoist_sigv4_spec *sig,
               const char *body, const char *path, char **text)
{
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL};
    hoist_http_request req = {.struct_size = sizeof req, .method = "POST", .url = endpoint,
                              .headers = headers, .body = body, .body_len = strlen(body),
                              .flags = HOIST_HTTP_ALLOW_PLAIN_LOOPBACK | HOIST_HTTP_NO_RETRY,
                              .sigv4 = sig};
    hoist_http_response resp = {.struct_size = sizeof resp};
    char *err = NULL;
    int rc = 1;
    *text = NULL;
    if (hoist_http(ctx, &req, &resp) != HOIST_OK) {
        fprintf(stderr, "aws_calls: %s\n", hoist_ctx_error(ctx));
        return 1;
    }
    hoist_xml_doc *doc = resp.status == 200 ? hoist_xml_parse(resp.body, resp.body_len, &err) : NULL;
    if (doc)
        *text = hoist_xml_text(hoist_xml_root(doc), path);
    if (*text)
        rc = 0;
    else
        fprintf(stderr, "aws_calls: HTTP %ld, no %s in the answer%s%s\n", resp.status, path,
                err ? ": " : "", err ? err : "");
    hoist_xml_free(doc);
    hoist_http_response_free(&resp);
    free(err);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: aws_calls ENDPOINT [N]\n");
        return 2;
    }
    const char *endpoint = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 50;
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    if (!ak || !sk || n < 1) {
        fprintf(stderr, "aws_calls: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; N >= 1\n");
        return 2;
    }
    hoist_sigv4_spec sig = {.struct_size = sizeof sig, .service = "ec2", .region = "eu-west-3",
                            .access_key_id = ak, .secret_access_key = sk};
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, "bench");
    char **ids = hoist_xcalloc((size_t)n, sizeof *ids);
    int rc = 1, i;
    double t0 = now_s();
    for (i = 0; i < n; i++) {
        char *body = hoist_xasprintf("Action=CreateVpc&Version=2016-11-15&CidrBlock=10.%d.0.0%%2F16",
                                     i % 256);
        int bad = ec2(&ctx, endpoint, &sig, body, "vpc/vpcId", &ids[i]);
        free(body);
        if (bad)
            goto cleanup;
    }
    double t1 = now_s();
    for (i = 0; i < n; i++) {
        char *body = hoist_xasprintf("Action=DescribeVpcs&Version=2016-11-15&VpcId.1=%s", ids[i]);
        char *got = NULL;
        int bad = ec2(&ctx, endpoint, &sig, body, "vpcSet/item/vpcId", &got);
        if (!bad && strcmp(got, ids[i]) != 0) {
            fprintf(stderr, "aws_calls: described %s, asked for %s\n", got, ids[i]);
            bad = 1;
        }
        free(got);
        free(body);
        if (bad)
            goto cleanup;
    }
    double t2 = now_s();
    printf("create %d %.4f\ndescribe %d %.4f\n", n, t1 - t0, n, t2 - t1);
    rc = 0;
cleanup:
    for (i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    hoist_ctx_cleanup(&ctx);
    return rc;
}
