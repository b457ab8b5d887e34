/*
 * scw_drive.c - drives a provider driver through the real loader the way
 * the pipeline does (libhoist/run.c), until `hoist deploy` can: ensure
 * until READY honouring PENDING and poll_ms, E_TRANSIENT retried with
 * backoff, recorded = the previous call's outputs plus "secrets", needs =
 * {kind: {name: outputs}} of the resources needed.  State is a JSON file
 * written after every call, so a run resumes where the last one stopped.
 *
 *   scw_drive PROVIDER STATE.json deploy|status|destroy
 * Settings: $SCW_DRIVE_SETTINGS (a JSON object, the environment's settings).
 * Resources: network; cluster (needs network); registry "api"; database
 * "main" (postgresql 15, small; needs network).  Exit 0 when every
 * resource converged (deploy, destroy) or observed READY (status).
 * Prints one line per resource: "RESULT kind/name STATUS [detail]".
 */
#include "host.h"
#include "loader.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct res {
    const char *kind, *name;
    const char *need; /* kind/name of the one resource needed, or NULL */
} res;

static const res resources[] = {
    {"network", "network", NULL},
    {"cluster", "cluster", "network/network"},
    {"registry", "api", NULL},
    {"database", "main", "network/network"},
};
#define NRES (sizeof resources / sizeof *resources)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static json_t *spec_of(const res *r, json_t *settings)
{
    const char *region = json_string_value(json_object_get(settings, "region"));
    json_t *s;
    if (!strcmp(r->kind, "network") || !strcmp(r->kind, "cluster")) {
        json_t *sub = json_object_get(settings, r->kind);
        s = json_is_object(sub) ? json_deep_copy(sub) : json_object();
        if (region)
            json_object_set_new(s, "region", json_string(region));
    } else if (!strcmp(r->kind, "registry")) {
        s = json_pack("{s:s}", "app", r->name);
    } else {
        s = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "name", r->name, "engine", "postgresql",
                      "version", "15", "mode", "managed", "size", "small", "storage", 10);
    }
    return s;
}

#define PICK(t, op)                                                                           \
    ((t) ? (!strcmp(op, "ensure") ? (t)->ensure : !strcmp(op, "observe") ? (t)->observe        \
                                                                           : (t)->destroy)      \
         : NULL)

static hoist_op_fn op_of(const hoist_provider_ops *ops, const char *kind, const char *op)
{
    if (!strcmp(kind, "network"))
        return PICK(ops->network, op);
    if (!strcmp(kind, "cluster"))
        return PICK(ops->cluster, op);
    if (!strcmp(kind, "registry"))
        return PICK(ops->registry, op);
    return PICK(ops->database, op);
}

static int save(const char *path, json_t *state)
{
    char *tmp = hoist_xasprintf("%s.tmp", path);
    int rc = json_dump_file(state, tmp, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (rc == 0)
        rc = rename(tmp, path);
    free(tmp);
    return rc;
}

/* One resource to its end: returns the final status. */
static hoist_status run_one(hoist_driver *drv, const char *project, const char *env,
                            const res *rs, const char *op, json_t *settings, json_t *state,
                            const char *path, long deadline_ms)
{
    char key[128];
    snprintf(key, sizeof key, "%s/%s", rs->kind, rs->name);
    hoist_op_fn fn = op_of(drv->ops, rs->kind, op);
    json_t *spec = spec_of(rs, settings);
    hoist_status st = HOIST_E_UNSUPPORTED;
    int transient = 0;
    long long start = hoist_now_ms();
    for (int calls = 0; fn; calls++) {
        json_t *needs = json_object();
        if (rs->need && strcmp(op, "destroy") != 0) {
            char kind[64];
            const char *slash = strchr(rs->need, '/');
            snprintf(kind, sizeof kind, "%.*s", (int)(slash - rs->need), rs->need);
            json_t *o = json_deep_copy(json_object_get(state, rs->need));
            json_object_del(o, "secrets");
            json_object_set_new(needs, kind, json_pack("{s:o}", slash + 1, o ? o : json_object()));
        }
        hoist_resource r = {.struct_size = sizeof r, .project = project, .env = env,
                            .name = rs->name, .spec = spec, .needs = needs,
                            .recorded = json_object_get(state, key)};
        hoist_result out = {.struct_size = sizeof out};
        hoist_ctx ctx;
        char *what = hoist_xasprintf("%s %s", rs->kind, rs->name);
        hoist_ctx_init(&ctx, drv, what);
        free(what);
        st = fn(drv->prov, &ctx, &r, &out);
        if (st >= 0 && strcmp(op, "observe") != 0) {
            json_t *rec = out.outputs ? json_deep_copy(out.outputs) : json_object();
            json_t *sec = out.secrets ? json_incref(out.secrets)
                                      : json_incref(json_object_get(r.recorded, "secrets"));
            if (sec)
                json_object_set_new(rec, "secrets", sec);
            if (!strcmp(op, "destroy") && st == HOIST_OK)
                json_object_del(state, key);
            else
                json_object_set_new(state, key, rec), rec = NULL;
            json_decref(rec);
            if (save(path, state) != 0) {
                fprintf(stderr, "scw_drive: cannot write %s\n", path);
                st = HOIST_E_INTERNAL;
            }
        }
        json_decref(out.outputs);
        json_decref(out.secrets);
        json_decref(needs);
        const char *err = hoist_ctx_error(&ctx);
        if (st == HOIST_E_TRANSIENT)
            fprintf(stderr, "scw_drive: %s %s: transient: %s\n", op, key, err ? err : "");
        else if (st < 0)
            printf("RESULT %s %s %s\n", key, hoist_status_name(st), err ? err : "");
        hoist_ctx_cleanup(&ctx);
        if (!strcmp(op, "observe") || (st < 0 && st != HOIST_E_TRANSIENT) || st == HOIST_OK)
            break;
        if (hoist_now_ms() - start > deadline_ms) {
            printf("RESULT %s TIMEOUT after %d calls\n", key, calls + 1);
            st = HOIST_E_TRANSIENT;
            break;
        }
        if (st == HOIST_PENDING)
            sleep_ms(out.poll_ms ? out.poll_ms : 200);
        else
            sleep_ms(20L << (transient < 4 ? transient++ : 4));
    }
    if (st >= 0)
        printf("RESULT %s %s\n", key, hoist_status_name(st));
    json_decref(spec);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: scw_drive PROVIDER STATE.json deploy|status|destroy\n");
        return 2;
    }
    const char *provider = argv[1], *path = argv[2], *cmd = argv[3];
    const char *sj = getenv("SCW_DRIVE_SETTINGS");
    json_t *settings = json_loads(sj ? sj : "{}", 0, NULL);
    json_t *state = json_load_file(path, 0, NULL);
    hoist_loader *l = hoist_loader_new(NULL);
    hoist_driver *drv = NULL;
    char *err = NULL;
    int rc = 0;
    if (!state)
        state = json_object();
    if (!json_is_object(settings)) {
        fprintf(stderr, "scw_drive: SCW_DRIVE_SETTINGS is not a JSON object\n");
        rc = 2;
        goto cleanup;
    }
    if (hoist_loader_open(l, provider, &drv, &err) != HOIST_OK ||
        hoist_driver_init(drv, settings, NULL, &err) != HOIST_OK) {
        fprintf(stderr, "scw_drive: %s\n", err);
        rc = 2;
        goto cleanup;
    }
    const char *op = !strcmp(cmd, "deploy") ? "ensure" : !strcmp(cmd, "status") ? "observe"
                                                                                : "destroy";
    for (size_t k = 0; k < NRES; k++) {
        /* destroy walks the graph backwards */
        const res *rs = &resources[strcmp(op, "destroy") ? k : NRES - 1 - k];
        hoist_status st = run_one(drv, "shop", "staging", rs, op, settings, state, path, 120000);
        if (st != HOIST_OK)
            rc = 1;
        if (st < 0 && strcmp(op, "observe") != 0)
            break;
    }
    if (rc == 0 && !strcmp(op, "ensure")) {
        /* the credentials the image and kube steps would ask for */
        hoist_ctx ctx;
        hoist_ctx_init(&ctx, drv, "credentials");
        hoist_resource r = {.struct_size = sizeof r, .project = "shop", .env = "staging",
                            .name = "cluster", .needs = json_object()};
        r.spec = spec_of(&resources[1], settings);
        r.recorded = json_object_get(state, "cluster/cluster");
        hoist_cluster_credentials cc = {.struct_size = sizeof cc};
        hoist_status st = drv->ops->cluster->credentials(drv->prov, &ctx, &r, &cc);
        printf("CLUSTER %s endpoint=%s ca=%s token=%s\n", hoist_status_name(st),
               cc.endpoint ? cc.endpoint : "-", cc.ca_pem ? "pem" : "none",
               cc.token && *cc.token ? "set" : "none");
        free(cc.endpoint);
        free(cc.ca_pem);
        free(cc.token);
        json_decref(r.spec);
        r.name = "api";
        r.spec = spec_of(&resources[2], settings);
        r.recorded = json_object_get(state, "registry/api");
        hoist_registry_credentials rc2 = {.struct_size = sizeof rc2};
        st = drv->ops->registry->credentials(drv->prov, &ctx, &r, &rc2);
        printf("REGISTRY %s endpoint=%s repository=%s username=%s password=%s\n",
               hoist_status_name(st), rc2.endpoint ? rc2.endpoint : "-",
               rc2.repository ? rc2.repository : "-", rc2.username ? rc2.username : "-",
               rc2.password && *rc2.password ? "set" : "none");
        free(rc2.endpoint);
        free(rc2.repository);
        free(rc2.username);
        free(rc2.password);
        json_decref(r.spec);
        r.name = "main";
        r.spec = spec_of(&resources[3], settings);
        r.recorded = json_object_get(state, "database/main");
        hoist_db_connection dc = {.struct_size = sizeof dc};
        st = drv->ops->database->connection(drv->prov, &ctx, &r, &dc);
        printf("DATABASE %s host=%s port=%d user=%s database=%s tls=%d password=%s\n",
               hoist_status_name(st), dc.host ? dc.host : "-", dc.port, dc.user ? dc.user : "-",
               dc.database ? dc.database : "-", dc.tls, dc.password && *dc.password ? "set" : "none");
        free(dc.host);
        free(dc.user);
        free(dc.password);
        free(dc.database);
        json_decref(r.spec);
        json_decref(r.needs);
        if (hoist_ctx_error(&ctx))
            printf("CREDENTIALS-ERROR %s\n", hoist_ctx_error(&ctx));
        hoist_ctx_cleanup(&ctx);
    }
cleanup:
    hoist_driver_free(drv);
    hoist_loader_free(l);
    json_decref(settings);
    json_decref(state);
    free(err);
    return rc;
}
