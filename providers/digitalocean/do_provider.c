/*
 * do_provider.c - the DigitalOcean driver's descriptor, settings and ops
 * tables.  Settings (the environment's keys in hoist.yml):
 *   region           default region slug (default nyc3)
 *   token, endpoint, api_url   see the credentials lookup (DIGITALOCEAN_TOKEN,
 *                    DIGITALOCEAN_API_URL); plain http only to a loopback override
 *   ip_range         the VPC's CIDR (default: a free /20 in 10.100-199.x derived
 *                    from project and environment)
 *   registry         the DOCR registry name (default: the account's, or the project's)
 *   registry_tier    starter, basic or professional (default basic)
 *   registry_region  DOCR region (default: the nearest to region)
 *   registry_credentials_ttl   docker-credentials lifetime in s (default 3600)
 *   kube_credentials_ttl       cluster token lifetime in s (default 86400)
 *   database_nodes   nodes per database cluster (default 1)
 *   poll_ms          how often to poll while DigitalOcean converges (default 10000)
 */
#include "do.h"

#include <stdlib.h>
#include <string.h>

static const hoist_provider_ops do_ops = {
    .struct_size = sizeof do_ops,
    .network = &do_network_ops,
    .cluster = &do_cluster_ops,
    .registry = &do_registry_ops,
    .database = &do_database_ops,
};

static const char *do_setting(json_t *settings, const char *key)
{
    const char *s = json_string_value(json_object_get(settings, key));
    return s && *s ? s : NULL;
}

/* An integer setting in [lo, hi] (default @def); -1 when present and invalid. */
static long do_int_setting(json_t *settings, const char *key, long def, long lo, long hi)
{
    json_t *v = json_object_get(settings, key);
    if (!v)
        return def;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    return (long)json_integer_value(v);
}

static void do_fini(void *vp)
{
    do_prov *p = vp;
    if (!p)
        return;
    free(p->api);
    free(p->auth);
    free(p->region);
    free(p->ip_range);
    free(p->registry);
    free(p->registry_tier);
    free(p->registry_region);
    free(p->state_dir);
    free(p->kube_id);
    free(p->kube.endpoint);
    free(p->kube.ca_pem);
    free(p->kube.token);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static hoist_status do_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings, void **prov,
                            const hoist_provider_ops **ops)
{
    json_t *creds = NULL;
    hoist_status st;
    if (!HOIST_HOST_HAS(host, credentials) || !HOIST_HOST_HAS(host, http_error))
        return host->fail(ctx, HOIST_E_UNSUPPORTED,
                          "this hoist is too old for the DigitalOcean driver (host ABI 1.1 needed)");
    do_prov *p = calloc(1, sizeof *p);
    if (!p)
        return host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    p->host = host;
    pthread_mutex_init(&p->mu, NULL);
    st = host->credentials(ctx, "digitalocean", settings, &creds);
    if (st != HOIST_OK)
        goto cleanup;
    const char *api = json_string_value(json_object_get(creds, "api_url"));
    const char *token = json_string_value(json_object_get(creds, "token"));
    p->api = hoist_kit_xstrdup(api ? api : "");
    for (size_t n = strlen(p->api); n > 0 && p->api[n - 1] == '/'; n--)
        p->api[n - 1] = '\0';
    p->auth = hoist_kit_xasprintf("Authorization: Bearer %s", token);
    host->secret(ctx, p->auth);
    /* Plain http only for an endpoint the user set, and the core still
       limits it to loopback addresses. */
    if (strcmp(p->api, "https://api.digitalocean.com") != 0)
        p->http_flags |= HOIST_HTTP_ALLOW_PLAIN_LOOPBACK;
    p->region = hoist_kit_xstrdup(do_setting(settings, "region") ?: "nyc3");
    p->ip_range = hoist_kit_xstrdup(do_setting(settings, "ip_range")); /* NULL stays NULL */
    p->registry = hoist_kit_xstrdup(do_setting(settings, "registry"));
    p->registry_tier = hoist_kit_xstrdup(do_setting(settings, "registry_tier") ?: "basic");
    p->registry_region = do_setting(settings, "registry_region")
                             ? hoist_kit_xstrdup(do_setting(settings, "registry_region"))
                             : NULL;
    p->registry_ttl = do_int_setting(settings, "registry_credentials_ttl", 3600, 60, 31536000);
    p->kube_ttl = do_int_setting(settings, "kube_credentials_ttl", 86400, 600, 604800);
    p->db_nodes = do_int_setting(settings, "database_nodes", 1, 1, 3);
    long poll = do_int_setting(settings, "poll_ms", 10000, 1, 600000);
    if (p->registry_ttl < 0 || p->kube_ttl < 0 || p->db_nodes < 0 || poll < 0) {
        st = host->fail(ctx, HOIST_E_INVALID,
                        "settings: registry_credentials_ttl (60..31536000 s), "
                        "kube_credentials_ttl (600..604800 s), database_nodes (1..3) and poll_ms "
                        "(1..600000) must be integers in range");
        goto cleanup;
    }
    p->poll_ms = (unsigned)poll;
    if (p->registry) {
        for (const char *c = p->registry; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-') ||
                strlen(p->registry) > 63) {
                st = host->fail(ctx, HOIST_E_INVALID,
                                "settings registry \"%s\": DOCR names are 1-63 characters of "
                                "a-z, 0-9 and '-'",
                                p->registry);
                goto cleanup;
            }
    }
    static const char *const tiers[] = {"starter", "basic", "professional", NULL};
    const char *const *t = tiers;
    while (*t && strcmp(*t, p->registry_tier) != 0)
        t++;
    if (!*t) {
        st = host->fail(ctx, HOIST_E_INVALID,
                        "settings registry_tier \"%s\": use starter, basic or professional",
                        p->registry_tier);
        goto cleanup;
    }
    const char *sd = host->state_dir(ctx);
    p->state_dir = sd ? hoist_kit_xstrdup(sd) : NULL;
    *prov = p;
    *ops = &do_ops;
    p = NULL;
cleanup:
    json_decref(creds);
    do_fini(p);
    return st;
}

/* The environment keys this driver reads (ABI 1.3 settings schema; hoist.yml(5)). */
static const hoist_setting do_settings[] = {
    {.name = "token", .type = HOIST_SETTING_STRING, .doc = "API token (else DIGITALOCEAN_TOKEN)"},
    {.name = "endpoint", .type = HOIST_SETTING_STRING, .doc = "API base URL (else DIGITALOCEAN_API_URL)"},
    {.name = "api_url", .type = HOIST_SETTING_STRING, .doc = "the same as endpoint"},
    {.name = "ip_range", .type = HOIST_SETTING_STRING, .doc = "the VPC block (default: a free /20 in 10.100.0.0-10.199.255.255)"},
    {.name = "network.ip_range", .type = HOIST_SETTING_STRING, .doc = "the same as ip_range"},
    {.name = "registry", .type = HOIST_SETTING_STRING, .doc = "the registry name (default: the account's, else the project)"},
    {.name = "registry_tier", .type = HOIST_SETTING_STRING, .doc = "starter, basic (default) or professional"},
    {.name = "registry_region", .type = HOIST_SETTING_STRING, .doc = "where the registry is created (default: nearest)"},
    {.name = "registry_credentials_ttl", .type = HOIST_SETTING_INT, .doc = "registry login lifetime, 60..31536000 s"},
    {.name = "kube_credentials_ttl", .type = HOIST_SETTING_INT, .doc = "cluster credential lifetime, 600..604800 s"},
    {.name = "database_nodes", .type = HOIST_SETTING_INT, .doc = "nodes per database cluster, 1..3"},
    {.name = "poll_ms", .type = HOIST_SETTING_INT, .doc = "polling interval, 1..600000 ms (default 10000)"},
    {.name = NULL},
};

HOIST_PROVIDER_DEFINE(digitalocean, .version = "1.0.0", .license = "MIT",
                      .description = "DigitalOcean: VPC, DOKS, Container Registry, managed databases",
                      .caps = HOIST_CAP_AUTOSCALE | HOIST_CAP_PRIVATE_DB | HOIST_CAP_DB_POSTGRESQL |
                              HOIST_CAP_DB_MYSQL | HOIST_CAP_DB_REDIS | HOIST_CAP_DB_MONGODB,
                      .settings = do_settings, .init = do_init, .fini = do_fini)
