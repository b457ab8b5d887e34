/*
 * scw_registry.c - a private Container Registry namespace (Registry API v1)
 * per application; the app's repository inside it is implicit (created by
 * the first push).
 *
 * Why one namespace per app and not one per project: the core's graph has a
 * registry node per application, and destroying one (an app removed from
 * hoist.yml) must not delete its siblings' images.  Namespace names are
 * unique across all Scaleway accounts in a region, so the name carries a
 * hash of the project id: hoist-<project>-<env>-<app>-<hash8>.
 * Namespaces take no tags; they are found by that name within the project.
 * Outputs: id, name, endpoint (rg.<region>.scw.cloud/<namespace>),
 * repository (<endpoint>/<app>), region.
 * Login: username "nologin", password the API secret key (Scaleway's rule).
 */
#include "scw_api.h"

#include <stdlib.h>
#include <string.h>

static char *scw_ns_name(scw_prov *p, const hoist_resource *r)
{
    char hex[9], *suffix, *name;
    hoist_kit_hash8(p->project_id, hex);
    suffix = hoist_kit_xasprintf("%s-%s", r->name, hex);
    name = scw_name(r, suffix, SCW_NAME_MAX_NAMESPACE);
    free(suffix);
    return name;
}

static hoist_status scw_ns_locate(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                  char **base, json_t **ns)
{
    char *name = scw_ns_name(p, r);
    *base = hoist_kit_xasprintf("/registry/v1/regions/%s/namespaces", scw_region(p, r));
    hoist_status st =
        scw_locate(p, ctx, r->recorded, "id", *base, "namespaces", name, NULL, NULL, ns);
    free(name);
    return st;
}

static void scw_ns_outputs(scw_prov *p, const hoist_resource *r, json_t *ns, hoist_result *out)
{
    const char *ep = scw_str(ns, "endpoint");
    out->outputs = json_pack("{s:s,s:s,s:s?,s:s}", "id", scw_str(ns, "id"), "name",
                             scw_str(ns, "name"), "endpoint", ep, "region", scw_region(p, r));
    if (ep)
        json_object_set_new(out->outputs, "repository", json_sprintf("%s/%s", ep, r->name));
}

/* OK when ready, PENDING while it settles, CONFLICT when it is stuck. */
static hoist_status scw_ns_status(scw_prov *p, hoist_ctx *ctx, json_t *ns, hoist_result *out)
{
    const char *s = scw_str(ns, "status");
    if (s && !strcmp(s, "ready"))
        return HOIST_OK;
    if (!s || !strcmp(s, "deleting") || !strcmp(s, "unknown"))
        return scw_pending(p, ctx, out, s ? "waiting for a previous namespace to go" : "provisioning");
    return p->host->fail(ctx, HOIST_E_CONFLICT, "registry namespace %s is %s: %s",
                         scw_str(ns, "name"), s,
                         scw_str(ns, "status_message") ? scw_str(ns, "status_message") : "");
}

static hoist_status scw_ns_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                  hoist_result *out)
{
    scw_prov *p = prov;
    json_t *ns = NULL, *body = NULL;
    char *base = NULL, *name = scw_ns_name(p, r);
    hoist_status st = scw_ns_locate(p, ctx, r, &base, &ns);
    if (st != HOIST_OK)
        goto cleanup;
    if (!ns) {
        body = json_pack("{s:s,s:s+++++,s:s,s:b}", "name", name, "description", "hoist ",
                         r->project, "/", r->env, " app ", r->name, "project_id", p->project_id,
                         "is_public", 0);
        st = scw_call(p, ctx, "POST", base, body, 0, &ns);
        if (st == HOIST_E_CONFLICT)
            p->host->log(ctx, HOIST_LOG_ERROR,
                         "registry namespace names are unique across Scaleway: if %s is not in "
                         "project %s, rename the project or the app",
                         name, p->project_id);
        if (st != HOIST_OK)
            goto cleanup;
        p->host->log(ctx, HOIST_LOG_INFO, "created registry namespace %s", name);
    }
    scw_ns_outputs(p, r, ns, out);
    st = scw_ns_status(p, ctx, ns, out);
cleanup:
    json_decref(ns);
    json_decref(body);
    free(base);
    free(name);
    return st;
}

static hoist_status scw_ns_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                   hoist_result *out)
{
    scw_prov *p = prov;
    json_t *ns = NULL;
    char *base = NULL;
    hoist_status st = scw_ns_locate(p, ctx, r, &base, &ns);
    if (st == HOIST_OK && !ns)
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "no registry namespace for app %s", r->name);
    else if (st == HOIST_OK) {
        scw_ns_outputs(p, r, ns, out);
        st = scw_ns_status(p, ctx, ns, out);
    }
    json_decref(ns);
    free(base);
    return st;
}

static hoist_status scw_ns_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                   hoist_result *out)
{
    scw_prov *p = prov;
    json_t *ns = NULL;
    char *base = NULL, *path = NULL;
    hoist_status st = scw_ns_locate(p, ctx, r, &base, &ns);
    if (st == HOIST_OK && ns) {
        path = hoist_kit_xasprintf("%s/%s", base, scw_str(ns, "id"));
        st = scw_delete(p, ctx, path, ns, out, "deleting the registry namespace");
    }
    json_decref(ns);
    free(base);
    free(path);
    return st;
}

static hoist_status scw_ns_credentials(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_registry_credentials *out)
{
    scw_prov *p = prov;
    json_t *ns = NULL;
    char *base = NULL;
    hoist_status st = scw_ns_locate(p, ctx, r, &base, &ns);
    const char *ep = scw_str(ns, "endpoint");
    if (st == HOIST_OK && !ep)
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "no registry namespace for app %s", r->name);
    if (st == HOIST_OK) {
        /* endpoint "rg.fr-par.scw.cloud/<namespace>": the host, then the
           path.  The host stays bare (Scaleway names no scheme): the core
           reads it as docker does, https, plain http only for loopback. */
        const char *slash = strchr(ep, '/');
        size_t hl = slash ? (size_t)(slash - ep) : strlen(ep);
        out->endpoint = hoist_kit_xasprintf("%.*s", (int)hl, ep);
        out->repository = hoist_kit_xasprintf("%s/%s", slash ? slash + 1 : scw_str(ns, "name"),
                                              r->name);
        out->username = hoist_kit_xstrdup("nologin");
        out->password = hoist_kit_xstrdup(p->secret_key);
        out->expires_at = 0;
    }
    json_decref(ns);
    free(base);
    return st;
}

const hoist_registry_ops scw_registry_ops = {
    .struct_size = sizeof scw_registry_ops,
    .ensure = scw_ns_ensure,
    .observe = scw_ns_observe,
    .destroy = scw_ns_destroy,
    .credentials = scw_ns_credentials,
};
