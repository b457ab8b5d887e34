/*
 * do_registry.c - DigitalOcean Container Registry.  DOCR is one registry per
 * account, so every app's registry node shares it: ensure reuses the
 * account's registry (refusing one whose name differs from settings
 * `registry`), or creates it (name: settings `registry`, else the project's
 * name; tier: settings `registry_tier`, default "basic").  Repositories are
 * implicit in DOCR (created by the first push): an app's repository is
 * "<registry>/<project>-<env>-<app>", READY once the registry exists.
 *
 * Ownership: DOCR has no tags, so the driver keeps two kinds of marker
 * files in host->state_dir: "docr-created-<name>" (written before the
 * create request, so a lost answer still counts) and "docr-user-<app>" per
 * app that uses it.  destroy deletes the registry only when this
 * environment created it, no app of it still uses it, and no repository of
 * another project or environment is in it; otherwise it leaves it.
 */
#include "do.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DO_DOCR_HOST "registry.digitalocean.com"

static char *do_marker(do_prov *p, const char *kind, const char *name)
{
    char *slug = do_slug(name, '-');
    char *path =
        p->state_dir ? hoist_kit_xasprintf("%s/docr-%s-%s", p->state_dir, kind, slug) : NULL;
    free(slug);
    return path;
}

static void do_marker_set(do_prov *p, const char *kind, const char *name, int on)
{
    char *path = do_marker(p, kind, name);
    if (!path)
        return;
    if (on) {
        int fd = open(path, O_WRONLY | O_CREAT, 0600);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    } else {
        unlink(path);
    }
    free(path);
}

static int do_marker_has(do_prov *p, const char *kind, const char *name)
{
    char *path = do_marker(p, kind, name);
    int ok = path && access(path, F_OK) == 0;
    free(path);
    return ok;
}

/* Count "docr-user-*" markers: apps of this environment still using the registry. */
static int do_users_left(do_prov *p)
{
    DIR *d = p->state_dir ? opendir(p->state_dir) : NULL;
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += !strncmp(e->d_name, "docr-user-", 10);
    closedir(d);
    return n;
}

/* DOCR stores data in a few regions only: the nearest to the environment's. */
static const char *do_docr_region(do_prov *p, const char *region)
{
    static const char *const map[][2] = {
        {"nyc", "nyc3"}, {"tor", "nyc3"}, {"atl", "nyc3"}, {"sfo", "sfo3"}, {"ams", "ams3"},
        {"lon", "ams3"}, {"fra", "fra1"}, {"sgp", "sgp1"}, {"blr", "sgp1"}, {"syd", "sgp1"},
    };
    if (p->registry_region)
        return p->registry_region;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strncmp(region, map[i][0], 3))
            return map[i][1];
    return "nyc3";
}

static char *do_repo_name(const hoist_resource *r)
{
    const char *app = json_string_value(json_object_get(r->spec, "app"));
    return do_name(r, app ? app : r->name, DO_NAME_MAX_REPOSITORY);
}

static json_t *do_registry_outputs(const hoist_resource *r, json_t *reg)
{
    char *repo = do_repo_name(r);
    const char *name = json_string_value(json_object_get(reg, "name"));
    char *path = hoist_kit_xasprintf("%s/%s", name ? name : "", repo);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:O,s:O}", "id", name ? name : "", "name",
                          name ? name : "", "endpoint", "https://" DO_DOCR_HOST, "repository",
                          path, "region", json_object_get(reg, "region") ?: json_null(), "tier",
                          json_object_get(json_object_get(json_object_get(reg, "subscription"),
                                                          "tier"),
                                          "slug")
                              ?: json_null());
    free(repo);
    free(path);
    return o;
}

/* GET /v2/registry: *reg (new ref) or NULL when the account has none. */
static hoist_status do_registry_get(do_prov *p, hoist_ctx *ctx, json_t **reg)
{
    json_t *j = NULL;
    hoist_status st = do_req(p, ctx, "GET", "/v2/registry", NULL, 0, DO_Q404, NULL, &j);
    *reg = NULL;
    if (st == HOIST_OK)
        *reg = json_incref(json_object_get(j, "registry"));
    json_decref(j);
    return st == HOIST_E_NOTFOUND ? HOIST_OK : st;
}

/* The account's registry, created if missing.  Called with p->mu held. */
static hoist_status do_registry_obtain(do_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                       json_t **reg)
{
    json_t *body = NULL, *j = NULL;
    char *name = NULL;
    hoist_status st = do_registry_get(p, ctx, reg);
    if (st != HOIST_OK || *reg)
        goto cleanup;
    name = p->registry ? hoist_kit_xstrdup(p->registry) : do_slug(r->project, '-');
    if (strlen(name) > 63)
        name[63] = '\0';
    body = json_pack("{s:s,s:s,s:s}", "name", name, "subscription_tier_slug", p->registry_tier,
                     "region", do_docr_region(p, do_region(p, r)));
    do_marker_set(p, "created", name, 1);
    p->host->log(ctx, HOIST_LOG_INFO, "creating container registry %s (%s)", name,
                 p->registry_tier);
    /* One registry per account: a repeated POST is refused, never doubled. */
    st = do_req(p, ctx, "POST", "/v2/registry", body, HOIST_HTTP_IDEMPOTENT, DO_Q409 | DO_Q422,
                NULL, &j);
    if (st == HOIST_OK) {
        *reg = json_incref(json_object_get(j, "registry"));
    } else if (st == HOIST_E_CONFLICT || st == HOIST_E_INVALID) {
        hoist_status st2 = do_registry_get(p, ctx, reg);
        st = st2 != HOIST_OK ? st2 : *reg ? HOIST_OK : do_report(p, ctx, st, "POST /v2/registry", j);
    }
cleanup:
    json_decref(body);
    json_decref(j);
    free(name);
    return st;
}

static hoist_status do_registry_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_result *out)
{
    do_prov *p = vp;
    json_t *reg = NULL, *cl = NULL;
    pthread_mutex_lock(&p->mu);
    hoist_status st = do_registry_obtain(p, ctx, r, &reg);
    if (st == HOIST_OK)
        do_marker_set(p, "user", r->name, 1);
    pthread_mutex_unlock(&p->mu);
    if (st != HOIST_OK)
        goto cleanup;
    const char *name = json_string_value(json_object_get(reg, "name"));
    if (p->registry && name && strcmp(name, p->registry) != 0) {
        st = p->host->fail(ctx, HOIST_E_CONFLICT,
                           "settings registry is \"%s\" but this DigitalOcean account's registry "
                           "is \"%s\" (DOCR allows one per account): set `registry: %s` or remove "
                           "the setting",
                           p->registry, name, name);
        goto cleanup;
    }
    /* Let the cluster's nodes pull, whichever of cluster and registry came first. */
    st = do_cluster_lookup(p, ctx, r, &cl);
    const char *cst = json_string_value(json_object_get(json_object_get(cl, "status"), "state"));
    if (st == HOIST_OK && cl && !(cst && !strcmp(cst, "deleting")))
        st = do_cluster_attach_registry(p, ctx, cl);
    if (st == HOIST_OK)
        out->outputs = do_registry_outputs(r, reg);
cleanup:
    json_decref(reg);
    json_decref(cl);
    return st;
}

static hoist_status do_registry_observe(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    json_t *reg = NULL;
    hoist_status st = do_registry_get(vp, ctx, &reg);
    if (st == HOIST_OK && !reg)
        return HOIST_E_NOTFOUND;
    if (st == HOIST_OK)
        out->outputs = do_registry_outputs(r, reg);
    json_decref(reg);
    return st;
}

/* 1 if the registry holds a repository outside "<project>-<env>-". */
static hoist_status do_foreign_repos(do_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                     const char *name, int *foreign)
{
    json_t *repos = NULL, *v;
    size_t i;
    char *prefix = do_name(r, "", DO_NAME_MAX_REPOSITORY);
    char *path = hoist_kit_xasprintf("/v2/registry/%s/repositoriesV2", name);
    *foreign = 0;
    hoist_status st = do_list_all(p, ctx, path, "repositories", &repos);
    json_array_foreach(repos, i, v) {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && strncmp(n, prefix, strlen(prefix)) != 0)
            *foreign = 1;
    }
    json_decref(repos);
    free(path);
    free(prefix);
    return st;
}

static hoist_status do_registry_destroy(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    do_prov *p = vp;
    json_t *reg = NULL;
    int foreign = 0;
    (void)out;
    pthread_mutex_lock(&p->mu);
    do_marker_set(p, "user", r->name, 0);
    hoist_status st = do_registry_get(p, ctx, &reg);
    if (st != HOIST_OK || !reg)
        goto cleanup;
    const char *name = json_string_value(json_object_get(reg, "name"));
    if (!name || !do_marker_has(p, "created", name) || do_users_left(p) > 0)
        goto cleanup; /* not ours, or still used by another app of this environment */
    st = do_foreign_repos(p, ctx, r, name, &foreign);
    if (st != HOIST_OK)
        goto cleanup;
    if (foreign) {
        p->host->log(ctx, HOIST_LOG_INFO,
                     "keeping container registry %s: it holds repositories of other projects "
                     "or environments", name);
        goto cleanup;
    }
    p->host->log(ctx, HOIST_LOG_INFO, "deleting container registry %s", name);
    st = do_req(p, ctx, "DELETE", "/v2/registry", NULL, 0, DO_Q404, NULL, NULL);
    if (st == HOIST_E_NOTFOUND)
        st = HOIST_OK;
    if (st == HOIST_OK)
        do_marker_set(p, "created", name, 0);
cleanup:
    if (st != HOIST_OK)
        do_marker_set(p, "user", r->name, 1); /* not done: still counts as a user */
    pthread_mutex_unlock(&p->mu);
    json_decref(reg);
    return st;
}

static hoist_status do_registry_credentials(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                            hoist_registry_credentials *out)
{
    do_prov *p = vp;
    json_t *reg = NULL, *j = NULL;
    char *pair = NULL;
    hoist_status st = do_registry_get(p, ctx, &reg);
    if (st == HOIST_OK && !reg)
        st = p->host->fail(ctx, HOIST_E_NOTFOUND,
                           "this DigitalOcean account has no container registry: deploy first");
    if (st != HOIST_OK)
        goto cleanup;
    char *path = hoist_kit_xasprintf(
        "/v2/registry/docker-credentials?read_write=true&expiry_seconds=%ld", p->registry_ttl);
    int64_t asked = (int64_t)time(NULL);
    st = do_req(p, ctx, "GET", path, NULL, 0, 0, NULL, &j);
    free(path);
    if (st != HOIST_OK)
        goto cleanup;
    /* {"auths": {"registry.digitalocean.com": {"auth": base64("user:password")}}} */
    const char *host = NULL;
    json_t *v = NULL;
    json_object_foreach(json_object_get(j, "auths"), host, v) break;
    const char *b64 = json_string_value(json_object_get(v, "auth"));
    p->host->secret(ctx, b64);
    char *colon = NULL;
    if (b64 && (pair = p->host->base64_decode(b64, NULL)))
        colon = strchr(pair, ':');
    if (!host || !colon) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL,
                           "docker-credentials: no auths entry with a base64 user:password");
        goto cleanup;
    }
    *colon = '\0';
    p->host->secret(ctx, colon + 1);
    char *repo = do_repo_name(r);
    /* DO names a bare host (its docker config key); the core reads a bare
       host as docker does: https, plain http only for a loopback registry. */
    out->endpoint = hoist_kit_xstrdup(host);
    out->repository =
        hoist_kit_xasprintf("%s/%s", json_string_value(json_object_get(reg, "name")), repo);
    out->username = hoist_kit_xstrdup(pair);
    out->password = hoist_kit_xstrdup(colon + 1);
    out->expires_at = asked + p->registry_ttl;
    free(repo);
cleanup:
    if (pair) {
        memset(pair, 0, strlen(pair));
        free(pair);
    }
    json_decref(reg);
    json_decref(j);
    return st;
}

const hoist_registry_ops do_registry_ops = {
    .struct_size = sizeof do_registry_ops,
    .ensure = do_registry_ensure,
    .observe = do_registry_observe,
    .destroy = do_registry_destroy,
    .credentials = do_registry_credentials,
};
