/*
 * aws_provider.c - the `aws` driver: descriptor, ops table, init/fini.
 *
 * Network (VPC), cluster (EKS), registry (ECR) and managed databases (RDS
 * PostgreSQL and MySQL) on Amazon Web Services.  Credentials, region and
 * endpoint overrides come from host->credentials (hoist.yml settings, then
 * AWS_* variables, then ~/.aws), so the driver never reads a credential
 * file itself.  Settings it reads itself: registry.keep_images, poll_ms (how
 * often to poll while AWS converges; default: each operation's own pace,
 * 2 to 5 s; a simulator wants a few ms); network.nat is checked here.
 */
#include "aws.h"

#include <stdlib.h>
#include <string.h>

static const hoist_provider_ops aws_ops = {
    .struct_size = sizeof aws_ops,
    .network = &aws_network_ops,
    .cluster = &aws_cluster_ops,
    .registry = &aws_registry_ops,
    .database = &aws_database_ops,
    .app = NULL, /* apps run on the EKS cluster */
};

static void aws_fini(void *vp)
{
    aws_prov *p = vp;
    if (!p)
        return;
    free(p->ak);
    free(p->sk);
    free(p->token);
    free(p->region);
    free(p->endpoint_url);
    json_decref(p->endpoints);
    free(p->tok_cluster);
    free(p->tok_value);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static hoist_status aws_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings,
                             void **prov, const hoist_provider_ops **ops)
{
    json_t *cred = NULL;
    if (host->abi_minor < 1 || !HOIST_HOST_HAS(host, xml_free))
        return host->fail(ctx, HOIST_E_UNSUPPORTED,
                          "the aws driver needs host ABI 1.1 (HTTP, SigV4, XML); this hoist "
                          "offers %u.%u", host->abi_major, host->abi_minor);
    hoist_status st = host->credentials(ctx, "aws", settings, &cred);
    if (st != HOIST_OK)
        return st;
    json_t *reg = json_object_get(settings, "registry");
    json_t *keep = json_object_get(reg, "keep_images");
    if (keep && (!json_is_integer(keep) || json_integer_value(keep) < 1 ||
                 json_integer_value(keep) > 1000)) {
        json_decref(cred);
        return host->fail(ctx, HOIST_E_INVALID,
                          "registry.keep_images must be a whole number from 1 to 1000");
    }
    json_t *poll = json_object_get(settings, "poll_ms");
    if (poll && (!json_is_integer(poll) || json_integer_value(poll) < 1 ||
                 json_integer_value(poll) > 600000)) {
        json_decref(cred);
        return host->fail(ctx, HOIST_E_INVALID,
                          "poll_ms must be a whole number of milliseconds from 1 to 600000");
    }
    const char *nat = json_string_value(json_object_get(json_object_get(settings, "network"), "nat"));
    if (json_object_get(json_object_get(settings, "network"), "nat") &&
        (!nat || (strcmp(nat, "single") != 0 && strcmp(nat, "per_az") != 0))) {
        json_decref(cred);
        return host->fail(ctx, HOIST_E_INVALID,
                          "network.nat must be single (one NAT gateway for both zones, the "
                          "default) or per_az (one per availability zone)");
    }
    aws_prov *p = hoist_kit_xmalloc(sizeof *p);
    memset(p, 0, sizeof *p);
    p->host = host;
    p->ak = hoist_kit_xstrdup(json_string_value(json_object_get(cred, "access_key_id")));
    p->sk = hoist_kit_xstrdup(json_string_value(json_object_get(cred, "secret_access_key")));
    p->token = hoist_kit_xstrdup(json_string_value(json_object_get(cred, "session_token")));
    p->region = hoist_kit_xstrdup(json_string_value(json_object_get(cred, "region")));
    p->endpoint_url = hoist_kit_xstrdup(json_string_value(json_object_get(cred, "endpoint_url")));
    p->endpoints = json_deep_copy(json_object_get(cred, "endpoints"));
    if (!p->endpoints)
        p->endpoints = json_object();
    p->keep_images = keep ? (int)json_integer_value(keep) : AWS_DEFAULT_KEEP_IMAGES;
    p->poll_ms = poll ? (unsigned)json_integer_value(poll) : 0;
    pthread_mutex_init(&p->lock, NULL);
    json_decref(cred);
    *prov = p;
    *ops = &aws_ops;
    return HOIST_OK;
}

/* The environment keys this driver reads (ABI 1.3 settings schema; hoist.yml(5)). */
static const hoist_setting aws_settings[] = {
    {.name = "access_key_id", .type = HOIST_SETTING_STRING, .doc = "access key id (else AWS_ACCESS_KEY_ID, then the profile)"},
    {.name = "secret_access_key", .type = HOIST_SETTING_STRING, .doc = "secret access key, with access_key_id"},
    {.name = "session_token", .type = HOIST_SETTING_STRING, .doc = "session token of temporary credentials"},
    {.name = "profile", .type = HOIST_SETTING_STRING, .doc = "profile in ~/.aws/credentials and ~/.aws/config"},
    {.name = "endpoint", .type = HOIST_SETTING_STRING, .doc = "one URL for every AWS service (e.g. a simulator)"},
    {.name = "endpoints", .type = HOIST_SETTING_MAP, .doc = "service -> URL (ec2, iam, sts, rds, eks, ecr); wins over endpoint"},
    {.name = "registry", .type = HOIST_SETTING_MAP, .doc = "ECR settings"},
    {.name = "registry.keep_images", .type = HOIST_SETTING_INT, .doc = "images each repository keeps, 1..1000 (default 30)"},
    {.name = "poll_ms", .type = HOIST_SETTING_INT, .doc = "polling interval while AWS works, 1..600000 ms"},
    {.name = "network.cidr", .type = HOIST_SETTING_STRING, .doc = "the VPC block, a /16 (default 10.0.0.0/16)"},
    {.name = "network.nat", .type = HOIST_SETTING_STRING, .doc = "NAT gateways for the private subnets: single (default) or per_az"},
    {.name = NULL},
};

HOIST_PROVIDER_DEFINE(aws, .version = "1.0.0", .license = "MIT",
                      .description = "Amazon Web Services: VPC, EKS, ECR, RDS (PostgreSQL, MySQL)",
                      .caps = HOIST_CAP_PAUSE_DATABASE | HOIST_CAP_AUTOSCALE |
                              HOIST_CAP_PRIVATE_DB | HOIST_CAP_DB_POSTGRESQL | HOIST_CAP_DB_MYSQL,
                      .settings = aws_settings, .init = aws_init, .fini = aws_fini)
