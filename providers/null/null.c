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
 *   polls:      how many ensure calls answer PENDING before READY (default 0)
 *   fail:       { "<kind>/<name>": "quota"|"invalid"|"auth"|"transient" }
 */
#include <hoist/host.h>
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
} null_prov;

static void null_sleep(null_prov *p, hoist_ctx *ctx)
{
    long left = p->latency_ms;
    while (left > 0 && !p->host->cancelled(ctx)) {
        long step = left < 10 ? left : 10;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        left -= step;
    }
}

static char *null_path(null_prov *p, const char *kind, const char *name, const char *ext)
{
    size_t n = strlen(p->dir) + strlen(kind) + strlen(name) + strlen(ext) + 4;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s-%s%s", p->dir, kind, name, ext);
    return s;
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

static hoist_status null_ensure_kind(const char *kind, void *vp, hoist_ctx *ctx,
                                     const hoist_resource *r, hoist_result *out)
{
    null_prov *p = vp;
    null_sleep(p, ctx);
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
        /* Not there: create it.  creates.log is the cloud's audit trail. */
        /* The name keeps ids unique among objects made in the same second. */
        char id[320];
        snprintf(id, sizeof id, "%s-%s-%ld-%ld", kind, r->name, (long)time(NULL), (long)getpid());
        obj = json_pack("{s:s,s:s,s:O,s:I}", "id", id, "name", r->name, "spec", r->spec, "polls",
                        (json_int_t)p->polls);
        if (null_write(path, obj) != 0) {
            json_decref(obj);
            free(path);
            return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write the cloud directory %s: %s",
                                 p->dir, strerror(errno));
        }
        char *log = null_path(p, "creates", "log", "");
        FILE *fp = log ? fopen(log, "a") : NULL;
        if (fp) {
            fprintf(fp, "%s/%s\n", kind, r->name);
            fclose(fp);
        }
        free(log);
    } else if (!json_equal(json_object_get(obj, "spec"), r->spec)) {
        json_object_set(obj, "spec", r->spec);
        null_write(path, obj);
    }
    json_int_t polls = json_integer_value(json_object_get(obj, "polls"));
    if (polls > 0) {
        json_object_set_new(obj, "polls", json_integer(polls - 1));
        null_write(path, obj);
        st = HOIST_PENDING;
        out->poll_ms = 10;
        out->status_text = "creating";
    }
    out->outputs = json_pack("{s:O,s:s}", "id", json_object_get(obj, "id"), "kind", kind);
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
    null_sleep(p, ctx);
    char *path = null_path(p, kind, r->name, ".json");
    if (!path)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    int rc = unlink(path);
    int e = errno;
    free(path);
    if (rc != 0 && e != ENOENT)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot delete: %s", strerror(e));
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

static hoist_status null_pause(void *vp, hoist_ctx *ctx, const hoist_resource *r, hoist_result *out)
{
    (void)r;
    (void)out;
    null_sleep(vp, ctx);
    return HOIST_OK;
}

static hoist_status null_cluster_credentials(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                             hoist_cluster_credentials *out)
{
    (void)vp;
    (void)ctx;
    (void)r;
    out->endpoint = strdup("https://127.0.0.1:1");
    out->token = strdup("null-cluster-token");
    return out->endpoint && out->token ? HOIST_OK : HOIST_E_INTERNAL;
}

static hoist_status null_db_connection(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_db_connection *out)
{
    (void)vp;
    (void)ctx;
    out->host = strdup("127.0.0.1");
    out->port = 5432;
    out->user = strdup(r->name);
    out->password = strdup("null-password-not-secret");
    out->database = strdup(r->name);
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
    .destroy = null_registry_destroy,
};
static const hoist_database_ops null_database = {
    .struct_size = sizeof null_database,
    .ensure = null_database_ensure, .observe = null_database_observe,
    .destroy = null_database_destroy, .pause = null_pause, .connection = null_db_connection,
};
static const hoist_app_ops null_app = {
    .struct_size = sizeof null_app,
    .ensure = null_app_ensure, .observe = null_app_observe, .destroy = null_app_destroy,
    .pause = null_pause,
};
static const hoist_provider_ops null_ops = {
    .struct_size = sizeof null_ops,
    .network = &null_network,
    .cluster = &null_cluster,
    .registry = &null_registry,
    .database = &null_database,
    .app = &null_app,
};

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
    p->dir = strdup(dir);
    mkdir(p->dir, 0700);
    p->latency_ms = (long)json_integer_value(json_object_get(settings, "latency_ms"));
    p->polls = (long)json_integer_value(json_object_get(settings, "polls"));
    p->fail = json_incref(json_object_get(settings, "fail"));
    *prov = p;
    *ops = &null_ops;
    return HOIST_OK;
}

static void null_fini(void *vp)
{
    null_prov *p = vp;
    if (!p)
        return;
    json_decref(p->fail);
    free(p->dir);
    free(p);
}

HOIST_PROVIDER_DEFINE(null, .version = "1.0.0", .license = "MIT",
                      .description = "test driver: a cloud in a directory",
                      .caps = HOIST_CAP_LOCAL_RUNTIME | HOIST_CAP_PAUSE_DATABASE |
                              HOIST_CAP_DB_POSTGRESQL | HOIST_CAP_DB_MYSQL | HOIST_CAP_DB_REDIS |
                              HOIST_CAP_DB_MONGODB,
                      .init = null_init,
                      .fini = null_fini)
