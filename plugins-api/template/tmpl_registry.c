/*
 * tmpl_registry.c - container registries, one repository per application.
 *
 * Shows: registry credentials (endpoint with scheme, repository path, a
 * login whose password is a secret) and how to keep outputs public.
 */
#include "tmpl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void tmpl_registry_describe(tmpl_prov *p, hoist_ctx *ctx, json_t *obj, hoist_result *out)
{
    p->host->secret(ctx, json_string_value(json_object_get(obj, "password")));
    out->outputs = json_pack("{s:O,s:O}", "id", json_object_get(obj, "id"), "repository",
                             json_object_get(obj, "repository"));
}

static hoist_status tmpl_registry_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                         hoist_result *out)
{
    tmpl_prov *p = prov;
    char password[25];
    if (p->host->random_secret(ctx, password, sizeof password) != HOIST_OK)
        return HOIST_E_INTERNAL;
    char *repo = hoist_kit_xasprintf("%s/%s/%s", r->project, r->env, r->name);
    json_t *attrs = json_pack("{s:s,s:s}", "repository", repo, "password", password);
    hoist_status st = tmpl_ensure(p, ctx, "registry", r, attrs, tmpl_registry_describe, out);
    json_decref(attrs);
    free(repo);
    return st;
}

static hoist_status tmpl_registry_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                          hoist_result *out)
{
    return tmpl_observe(prov, ctx, "registry", r, tmpl_registry_describe, out);
}

static hoist_status tmpl_registry_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                          hoist_result *out)
{
    return tmpl_destroy(prov, ctx, "registry", r, out);
}

static hoist_status tmpl_registry_credentials(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                              hoist_registry_credentials *out)
{
    tmpl_prov *p = prov;
    json_t *obj = NULL;
    hoist_status st = tmpl_ready_object(p, ctx, "registry", r, &obj);
    if (st != HOIST_OK)
        return st;
    const char *password = json_string_value(json_object_get(obj, "password"));
    p->host->secret(ctx, password); /* before it can reach any log line */
    out->endpoint = hoist_kit_xstrdup("https://127.0.0.1:5000");
    out->repository = hoist_kit_xstrdup(json_string_value(json_object_get(obj, "repository")));
    out->username = hoist_kit_xstrdup("hoist");
    out->password = hoist_kit_xstrdup(password ? password : "");
    if (!out->repository)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "registry %s has no repository", r->name);
    json_decref(obj);
    return st;
}

const hoist_registry_ops tmpl_registry_ops = {
    .struct_size = sizeof tmpl_registry_ops,
    .ensure = tmpl_registry_ensure,
    .observe = tmpl_registry_observe,
    .destroy = tmpl_registry_destroy,
    .credentials = tmpl_registry_credentials,
};
