/*
 * scw_provider.c - the Scaleway driver's descriptor, init/fini and ops table.
 *
 * Settings read from the environment in hoist.yml (see hoist.yml(5)):
 *   region      fr-par | nl-ams | pl-waw (else SCW_DEFAULT_REGION, profile, fr-par)
 *   zone        fr-par-1 ... (else SCW_DEFAULT_ZONE, profile, <region>-1)
 *   project_id  else SCW_DEFAULT_PROJECT_ID or the profile's default_project_id
 *   access_key, secret_key, profile  (credentials; prefer the environment)
 *   endpoint    API base URL (else SCW_API_URL); http:// only to loopback
 *   poll_ms     PENDING poll hint in milliseconds (default 5000)
 * Credentials are resolved by the core (host->credentials, "scaleway").
 */
#include "scw_api.h"

#include <stdlib.h>
#include <string.h>

#define SCW_DEFAULT_API "https://api.scaleway.com"

static void scw_fini(void *prov)
{
    scw_prov *p = prov;
    if (!p)
        return;
    free(p->api_url);
    free(p->secret_key);
    free(p->project_id);
    free(p->region);
    free(p->zone);
    free(p);
}

static const hoist_provider_ops scw_ops = {
    .struct_size = sizeof scw_ops,
    .network = &scw_network_ops,
    .cluster = &scw_cluster_ops,
    .registry = &scw_registry_ops,
    .database = &scw_database_ops,
};

static hoist_status scw_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings,
                             void **prov, const hoist_provider_ops **ops)
{
    static const char *const regions[] = {"fr-par", "nl-ams", "pl-waw", NULL};
    json_t *creds = NULL;
    scw_prov *p = NULL;
    hoist_status st;
    if (!HOIST_HOST_HAS(host, credentials) || !HOIST_HOST_HAS(host, http))
        return host->fail(ctx, HOIST_E_UNSUPPORTED,
                          "this hoist is too old for the Scaleway driver (host ABI 1.1 needed)");
    st = host->credentials(ctx, "scaleway", settings, &creds);
    if (st != HOIST_OK)
        goto cleanup;
    p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->host = host;
    p->api_url = hoist_kit_xstrdup(scw_str(creds, "api_url"));
    size_t n = strlen(p->api_url);
    while (n && p->api_url[n - 1] == '/')
        p->api_url[--n] = '\0';
    p->secret_key = hoist_kit_xstrdup(scw_str(creds, "secret_key"));
    p->project_id = hoist_kit_xstrdup(scw_str(creds, "project_id"));
    p->region = hoist_kit_xstrdup(scw_str(creds, "region"));
    p->zone = hoist_kit_xstrdup(scw_str(creds, "zone"));
    /* Plain http only for an endpoint the user set explicitly (the core still
       refuses it unless the host is a loopback address). */
    if (strcmp(p->api_url, SCW_DEFAULT_API) != 0)
        p->http_flags |= HOIST_HTTP_ALLOW_PLAIN_LOOPBACK;
    json_t *pm = json_object_get(settings, "poll_ms");
    p->poll_ms = json_is_integer(pm) && json_integer_value(pm) >= 0
                     ? (unsigned)json_integer_value(pm)
                     : 5000;
    const char *const *r = regions;
    while (*r && strcmp(*r, p->region) != 0)
        r++;
    if (!*r) {
        st = host->fail(ctx, HOIST_E_INVALID,
                        "region '%s' is not a Scaleway region; use fr-par, nl-ams or pl-waw",
                        p->region);
        goto cleanup;
    }
    if (strncmp(p->zone, p->region, strlen(p->region)) != 0) {
        st = host->fail(ctx, HOIST_E_INVALID,
                        "zone '%s' is not in region '%s'; use %s-1, %s-2... or leave zone unset",
                        p->zone, p->region, p->region, p->region);
        goto cleanup;
    }
    *prov = p;
    *ops = &scw_ops;
    p = NULL;
cleanup:
    scw_fini(p);
    json_decref(creds);
    return st;
}

/* The environment keys this driver reads (ABI 1.3 settings schema; hoist.yml(5)). */
static const hoist_setting scw_settings[] = {
    {.name = "access_key", .type = HOIST_SETTING_STRING, .doc = "access key (else SCW_ACCESS_KEY, then the profile)"},
    {.name = "secret_key", .type = HOIST_SETTING_STRING, .doc = "secret key (else SCW_SECRET_KEY, then the profile)"},
    {.name = "project_id", .type = HOIST_SETTING_STRING, .doc = "project id (else SCW_DEFAULT_PROJECT_ID, then the profile)"},
    {.name = "zone", .type = HOIST_SETTING_STRING, .doc = "a zone of the region, e.g. fr-par-2"},
    {.name = "profile", .type = HOIST_SETTING_STRING, .doc = "profile in ~/.config/scw/config.yaml"},
    {.name = "endpoint", .type = HOIST_SETTING_STRING, .doc = "API base URL (else SCW_API_URL, then the profile)"},
    {.name = "poll_ms", .type = HOIST_SETTING_INT, .doc = "polling hint in ms (default 5000)"},
    {.name = "network.subnet", .type = HOIST_SETTING_STRING, .doc = "the private network block (default: Scaleway's choice)"},
    {.name = NULL},
};

HOIST_PROVIDER_DEFINE(scaleway, .version = "0.1.0", .license = "MIT",
                      .description = "Scaleway: VPC, Kapsule, Container Registry, Managed Databases",
                      .caps = HOIST_CAP_AUTOSCALE | HOIST_CAP_PRIVATE_DB | HOIST_CAP_DB_POSTGRESQL |
                              HOIST_CAP_DB_MYSQL,
                      .settings = scw_settings, .init = scw_init, .fini = scw_fini)
