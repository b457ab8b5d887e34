/*
 * null.c - the in-tree test driver (not installed).
 *
 * Its "cloud" is a directory: one JSON file per object, written atomically,
 * so several hoist processes (and a process killed at any instant) see one
 * consistent cloud.  Every creation is appended to creates.log, which the
 * crash tests read to prove nothing was created twice.
 *
 * Settings (environment keys in hoist.yml):
 *   dir:        the cloud directory (default: host->state_dir())
 *   latency_ms: delay of every call (default 0), cut short by cancellation
 *   latency:    { "<kind>/<name>": ms } per-resource delay (overrides latency_ms)
 *   polls:      how many ensure calls answer PENDING before READY (default 0)
 *   fail:       { "<kind>/<name>": "quota"|"invalid"|"auth"|"transient" }
 *   offer:      [ "network", "cluster", "registry", "database", "app" ] which
 *               ops tables to offer (default: all), to model other clouds
 *   registry:   { endpoint, username, password } a real registry whose
 *               credentials the registry op hands out (repository
 *               "<project>/<app>"), so image pushes can be tested
 *   cluster_credentials: { endpoint, token, ca_pem } what the cluster's
 *               credentials op hands out (default: an unreachable endpoint),
 *               e.g. a hoist-sim cluster's Kubernetes API for the kube executor
 *
 * Files in the cloud directory besides the objects:
 *   creates.log  "<kind>/<name> <id>" per creation (the id tells a real second
 *                creation from a repeated log line after a crash)
 *   calls.log    one line per mutating call (ensure, destroy, pause), so tests
 *                can prove that plan and status mutate nothing
 */
#include <hoist/host.h>
#include <hoist/kit.h>
#include <hoist/provider.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct null_prov {
    const hoist_host *host;
    char *dir;
    long latency_ms;
    long polls;
    json_t *fail;
    json_t *latency;
    json_t *registry;
    json_t *kube; /* cluster_credentials */
    hoist_provider_ops ops; /* per instance: `offer:` chooses the tables */
} null_prov;

static void null_sleep_for(null_prov *p, hoist_ctx *ctx, long left);

static void null_sleep(null_prov *p, hoist_ctx *ctx)
{
    null_sleep_for(p, ctx, p->latency_ms);
}

/* Per-resource latency when configured, else the global one. */
static void null_sleep_res(null_prov *p, hoist_ctx *ctx, const char *kind, const char *name)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", kind, name);
    json_t *v = json_object_get(p->latency, key);
    null_sleep_for(p, ctx, v ? (long)json_integer_value(v) : p->latency_ms);
}

static void null_sleep_for(null_prov *p, hoist_ctx *ctx, long left)
{
    while (left > 0 && !p->host->cancelled(ctx)) {
        long step = left < 10 ? left : 10;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        left -= step;
    }
}

static char *null_path(null_prov *p, const char *kind, const char *name, const char *ext)
{
    return hoist_kit_xasprintf("%s/%s-%s%s", p->dir, kind, name, ext);
}

static hoist_status null_injected(null_prov *p, hoist_ctx *ctx, const char *kind, const char *name)
{
    if (!p->fail)
        return HOIST_OK;
    char key[512];
    snprintf(key, sizeof key, "%s/%s", kind, name);
    const char *how = json_string_value(json_object_get(p->fail, key));
    if (!how)
        return HOIST_OK;
    if (strcmp(how, "quota") == 0)
        return p->host->fail(ctx, HOIST_E_QUOTA, "%s: quota exceeded (injected)", key);
    if (strcmp(how, "auth") == 0)
        return p->host->fail(ctx, HOIST_E_AUTH, "%s: permission denied (injected)", key);
    if (strcmp(how, "transient") == 0)
        return p->host->fail(ctx, HOIST_E_TRANSIENT, "%s: try again (injected)", key);
    return p->host->fail(ctx, HOIST_E_INVALID, "%s: invalid parameter (injected)", key);
}

/* Write @obj to @path atomically (temp, fsync, rename). */
static int null_write(const char *path, json_t *obj)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    size_t len = s ? strlen(s) : 0;
    int ok = s && write(fd, s, len) == (ssize_t)len && fsync(fd) == 0;
    free(s);
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Append one line to @dir/@file (O_APPEND: concurrent writers do not interleave). */
static void null_append(null_prov *p, const char *file, const char *fmt, const char *a,
                        const char *b, const char *c)
{
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/%s", p->dir, file);
    int n = snprintf(line, sizeof line, fmt, a, b, c);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)n) < 0)
        n = 0;
    close(fd);
}

static hoist_status null_ensure_kind(const char *kind, void *vp, hoist_ctx *ctx,
                                     const hoist_resource *r, hoist_result *out)
{
    null_prov *p = vp;
    null_append(p, "calls.log", "ensure %s/%s%s\n", kind, r->name, "");
    null_sleep_res(p, ctx, kind, r->name);
    if (p->host->cancelled(ctx))
        return p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled");
    hoist_status st = null_injected(p, ctx, kind, r->name);
    if (st != HOIST_OK)
        return st;
    char *path = null_path(p, kind, r->name, ".json");
    if (!path)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    json_t *obj = json_load_file(path, 0, NULL);
    if (!obj) {
        /* Not there: create it.  The object is written before it is logged;
         * "logged" records that the log line exists, so a crash between the
         * two is repaired by the next ensure without a second creation. */
        char id[64];
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(id, sizeof id, "%s-%ld%09ld-%ld", kind, (long)now.tv_sec, now.tv_nsec,
                 (long)getpid());
        obj = json_pack("{s:s,s:s,s:O,s:I,s:b}", "id", id, "name", r->name, "spec", r->spec,
                        "polls", (json_int_t)p->polls, "logged", 0);
        if (null_write(path, obj) != 0) {
            json_decref(obj);
            free(path);
            return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write the cloud directory %s: %s",
                                 p->dir, hoist_kit_strerror(errno));
        }
    } else if (!json_equal(json_object_get(obj, "spec"), r->spec)) {
        json_object_set(obj, "spec", r->spec);
        null_write(path, obj);
    }
    if (!json_is_true(json_object_get(obj, "logged"))) {
        null_append(p, "creates.log", "%s/%s %s\n", kind, r->name,
                    json_string_value(json_object_get(obj, "id")));
        json_object_set_new(obj, "logged", json_true());
        null_write(path, obj);
    }
    if (json_is_true(json_object_get(obj, "paused"))) {
        json_object_del(obj, "paused"); /* ensure resumes */
        null_write(path, obj);
    }
    json_int_t polls = json_integer_value(json_object_get(obj, "polls"));
    if (polls > 0) {
        json_object_set_new(obj, "polls", json_integer(polls - 1));
        null_write(path, obj);
        st = HOIST_PENDING;
        out->poll_ms = 10;
#if HOIST_ABI_MINOR >= 3
        /* From the stack, to prove the core copies (ABI 1.3). */
        char line[64];
        snprintf(line, sizeof line, "creating (%lld more polls)", (long long)polls - 1);
        p->host->progress(ctx, "%s", line);
#else
        out->status_text = "creating"; /* built against an older SDK (tests/abi) */
#endif
    }
    out->outputs = json_pack("{s:O,s:s}", "id", json_object_get(obj, "id"), "kind", kind);
    if (strcmp(kind, "app") == 0 && json_is_true(json_object_get(r->spec, "public")))
        json_object_set_new(out->outputs, "url", json_sprintf("http://127.0.0.1/%s", r->name));
    if (strcmp(kind, "database") == 0)
        out->secrets = json_pack("{s:s}", "password", "null-password-not-secret");
    json_decref(obj);
    free(path);
    return st;
}

static hoist_status null_observe_kind(const char *kind, void *vp, hoist_ctx *ctx,
                                      const hoist_resource *r, hoist_result *out)
{
    null_prov *p = vp;
    null_sleep(p, ctx);
    char *path = null_path(p, kind, r->name, ".json");
    json_t *obj = path ? json_load_file(path, 0, NULL) : NULL;
    free(path);
    if (!obj)
        return HOIST_E_NOTFOUND;
    out->outputs = json_pack("{s:O,s:s}", "id", json_object_get(obj, "id"), "kind", kind);
    hoist_status st = json_integer_value(json_object_get(obj, "polls")) > 0 ? HOIST_PENDING : HOIST_OK;
    json_decref(obj);
    return st;
}

static hoist_status null_destroy_kind(const char *kind, void *vp, hoist_ctx *ctx,
                                      const hoist_resource *r, hoist_result *out)
{
    (void)out;
    null_prov *p = vp;
    null_append(p, "calls.log", "destroy %s/%s%s\n", kind, r->name, "");
    null_sleep_res(p, ctx, kind, r->name);
    if (p->host->cancelled(ctx))
        return p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled");
    char *path = null_path(p, kind, r->name, ".json");
    if (!path)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    int rc = unlink(path);
    int e = errno;
    free(path);
    if (rc != 0 && e != ENOENT)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot delete: %s", hoist_kit_strerror(e));
    return HOIST_OK;
}

#define NULL_KIND_OPS(kind)                                                                   \
    static hoist_status null_##kind##_ensure(void *p, hoist_ctx *c, const hoist_resource *r,  \
                                             hoist_result *o)                                 \
    {                                                                                         \
        return null_ensure_kind(#kind, p, c, r, o);                                           \
    }                                                                                         \
    static hoist_status null_##kind##_observe(void *p, hoist_ctx *c, const hoist_resource *r, \
                                              hoist_result *o)                                \
    {                                                                                         \
        return null_observe_kind(#kind, p, c, r, o);                                          \
    }                                                                                         \
    static hoist_status null_##kind##_destroy(void *p, hoist_ctx *c, const hoist_resource *r, \
                                              hoist_result *o)                                \
    {                                                                                         \
        return null_destroy_kind(#kind, p, c, r, o);                                          \
    }

NULL_KIND_OPS(network)
NULL_KIND_OPS(cluster)
NULL_KIND_OPS(registry)
NULL_KIND_OPS(database)
NULL_KIND_OPS(app)

static hoist_status null_pause_kind(const char *kind, void *vp, hoist_ctx *ctx,
                                    const hoist_resource *r)
{
    null_prov *p = vp;
    null_append(p, "calls.log", "pause %s/%s%s\n", kind, r->name, "");
    null_sleep(p, ctx);
    char *path = null_path(p, kind, r->name, ".json");
    json_t *obj = path ? json_load_file(path, 0, NULL) : NULL;
    hoist_status st = HOIST_OK;
    if (!obj)
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "%s/%s does not exist", kind, r->name);
    else {
        json_object_set_new(obj, "paused", json_true());
        null_write(path, obj);
    }
    json_decref(obj);
    free(path);
    return st;
}

static hoist_status null_database_pause(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    (void)out;
    return null_pause_kind("database", vp, ctx, r);
}

static hoist_status null_app_pause(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                   hoist_result *out)
{
    (void)out;
    return null_pause_kind("app", vp, ctx, r);
}

/* logs: the app's recorded spec, env names only (values may be secrets). */
static hoist_status null_app_logs(void *vp, hoist_ctx *ctx, const hoist_resource *r, int fd,
                                  int follow)
{
    null_prov *p = vp;
    char line[1024];
    int n = snprintf(line, sizeof line, "null: app %s is running\n", r->name);
    if (write(fd, line, (size_t)n) < 0)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write logs");
    while (follow && !p->host->cancelled(ctx)) {
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    return HOIST_OK;
}

static hoist_status null_cluster_credentials(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                             hoist_cluster_credentials *out)
{
    null_prov *p = vp;
    (void)r;
    const char *ep = json_string_value(json_object_get(p->kube, "endpoint"));
    const char *tok = json_string_value(json_object_get(p->kube, "token"));
    const char *ca = json_string_value(json_object_get(p->kube, "ca_pem"));
    out->endpoint = hoist_kit_xstrdup(ep ? ep : "https://127.0.0.1:1");
    out->token = hoist_kit_xstrdup(tok ? tok : "null-cluster-token");
    out->ca_pem = hoist_kit_xstrdup(ca);
    if (!out->endpoint || !out->token)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    return HOIST_OK;
}

/* A copy of the string member @key of @obj, or NULL. */
static char *null_dup(json_t *obj, const char *key)
{
    return hoist_kit_xstrdup(json_string_value(json_object_get(obj, key)));
}

static hoist_status null_registry_credentials(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                              hoist_registry_credentials *out)
{
    null_prov *p = vp;
    /* Without `registry:` the credentials name nothing reachable, like the
     * cluster's: enough for the ABI's shape, not for a push. */
    if (!json_string_value(json_object_get(p->registry, "endpoint"))) {
        out->endpoint = hoist_kit_xstrdup("http://127.0.0.1:1");
        out->username = hoist_kit_xstrdup("null");
        out->password = hoist_kit_xstrdup("null-registry-password");
    } else {
        out->endpoint = null_dup(p->registry, "endpoint");
        out->username = null_dup(p->registry, "username");
        out->password = null_dup(p->registry, "password");
    }
    out->repository = hoist_kit_xasprintf("%s/%s", r->project, r->name);
    if (out->password)
        p->host->secret(ctx, out->password);
    return out->repository && out->endpoint ? HOIST_OK : HOIST_E_INTERNAL;
}

static hoist_status null_db_connection(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_db_connection *out)
{
    (void)vp;
    (void)ctx;
    out->host = hoist_kit_xstrdup("127.0.0.1");
    out->port = 5432;
    out->user = hoist_kit_xstrdup(r->name);
    out->password = hoist_kit_xstrdup("null-password-not-secret");
    out->database = hoist_kit_xstrdup(r->name);
    return HOIST_OK;
}

static const hoist_network_ops null_network = {
    .struct_size = sizeof null_network,
    .ensure = null_network_ensure, .observe = null_network_observe, .destroy = null_network_destroy,
};
static const hoist_cluster_ops null_cluster = {
    .struct_size = sizeof null_cluster,
    .ensure = null_cluster_ensure, .observe = null_cluster_observe, .destroy = null_cluster_destroy,
    .credentials = null_cluster_credentials,
};
static const hoist_registry_ops null_registry = {
    .struct_size = sizeof null_registry,
    .ensure = null_registry_ensure, .observe = null_registry_observe,
    .destroy = null_registry_destroy, .credentials = null_registry_credentials,
};
static const hoist_database_ops null_database = {
    .struct_size = sizeof null_database,
    .ensure = null_database_ensure, .observe = null_database_observe,
    .destroy = null_database_destroy, .pause = null_database_pause, .connection = null_db_connection,
};
static const hoist_app_ops null_app = {
    .struct_size = sizeof null_app,
    .ensure = null_app_ensure, .observe = null_app_observe, .destroy = null_app_destroy,
    .pause = null_app_pause, .logs = null_app_logs,
};

static int null_offers(json_t *offer, const char *kind)
{
    if (!json_is_array(offer))
        return 1;
    size_t i;
    json_t *v;
    json_array_foreach(offer, i, v) if (json_is_string(v) && strcmp(json_string_value(v), kind) == 0) return 1;
    return 0;
}

static hoist_status null_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings,
                              void **prov, const hoist_provider_ops **ops)
{
    null_prov *p = calloc(1, sizeof *p);
    if (!p)
        return host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    p->host = host;
    const char *dir = json_string_value(json_object_get(settings, "dir"));
    if (!dir)
        dir = host->state_dir(ctx);
    if (!dir) {
        free(p);
        return host->fail(ctx, HOIST_E_INVALID, "no cloud directory: set `dir:` in the environment");
    }
    p->dir = hoist_kit_xstrdup(dir);
    mkdir(p->dir, 0700);
    p->latency_ms = (long)json_integer_value(json_object_get(settings, "latency_ms"));
    p->polls = (long)json_integer_value(json_object_get(settings, "polls"));
    p->fail = json_incref(json_object_get(settings, "fail"));
    p->latency = json_incref(json_object_get(settings, "latency"));
    p->registry = json_incref(json_object_get(settings, "registry"));
    p->kube = json_incref(json_object_get(settings, "cluster_credentials"));
    json_t *offer = json_object_get(settings, "offer");
    p->ops = (hoist_provider_ops){
        .struct_size = sizeof p->ops,
        .network = null_offers(offer, "network") ? &null_network : NULL,
        .cluster = null_offers(offer, "cluster") ? &null_cluster : NULL,
        .registry = null_offers(offer, "registry") ? &null_registry : NULL,
        .database = null_offers(offer, "database") ? &null_database : NULL,
        .app = null_offers(offer, "app") ? &null_app : NULL,
    };
    *prov = p;
    *ops = &p->ops;
    return HOIST_OK;
}

static void null_fini(void *vp)
{
    null_prov *p = vp;
    if (!p)
        return;
    json_decref(p->fail);
    json_decref(p->latency);
    json_decref(p->registry);
    json_decref(p->kube);
    free(p->dir);
    free(p);
}

#if HOIST_ABI_MINOR >= 3
/* Settings schema (ABI 1.3): the keys above, for `hoist validate`. */
static const hoist_setting null_settings[] = {
    {.name = "dir", .type = HOIST_SETTING_STRING, .doc = "the cloud directory (default: host->state_dir())"},
    {.name = "latency_ms", .type = HOIST_SETTING_INT, .doc = "delay of every call in ms"},
    {.name = "latency", .type = HOIST_SETTING_MAP, .doc = "{\"kind/name\": ms} per-resource delay"},
    {.name = "polls", .type = HOIST_SETTING_INT, .doc = "ensure calls answering PENDING before READY"},
    {.name = "fail", .type = HOIST_SETTING_MAP, .doc = "{\"kind/name\": quota|invalid|auth|transient} injected failures"},
    {.name = "offer", .type = HOIST_SETTING_LIST, .doc = "which ops tables to offer (default: all)"},
    {.name = "registry", .type = HOIST_SETTING_MAP, .doc = "{endpoint, username, password} handed out by the registry op"},
    {.name = "cluster_credentials", .type = HOIST_SETTING_MAP, .doc = "{endpoint, token, ca_pem} handed out by the cluster op"},
    {.name = NULL},
};

#define NULL_SETTINGS .settings = null_settings,
#else
#define NULL_SETTINGS /* built against an older SDK (tests/abi): no schema */
#endif

HOIST_PROVIDER_DEFINE(null, .version = "1.0.0", .license = "MIT",
                      .description = "test driver: a cloud in a directory",
                      .caps = HOIST_CAP_LOCAL_RUNTIME | HOIST_CAP_PAUSE_DATABASE |
                              HOIST_CAP_DB_POSTGRESQL | HOIST_CAP_DB_MYSQL | HOIST_CAP_DB_REDIS |
                              HOIST_CAP_DB_MONGODB,
                      NULL_SETTINGS
                      .init = null_init,
                      .fini = null_fini)
