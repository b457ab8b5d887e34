/*
 * hostile.c - provider modules that misbehave on purpose, to prove the core
 * contains them (tests/check_hostile.sh).  One source, one real module per
 * variant (tests/reliab.mk), each otherwise a well-formed 1.x driver with a
 * network, managed databases and local apps:
 *
 *   hostile_crash      setting crash_in: init | ensure | connection |
 *                      registry-credentials | cluster-credentials | logs
 *                      -> SIGSEGV there (ensure: only databases crash,
 *                      after the network is up)
 *   hostile_malformed  setting malformed: outputs-array | huge | bad-utf8 |
 *                      secrets-number (the network's ensure result),
 *                      null-host | port-zero (a database connection),
 *                      empty-repository (registry credentials),
 *                      endpoint-bad-utf8 (cluster credentials) or
 *                      logs-status (logs returns a status that is not one)
 *   hostile_hang       databases named "slow*" never return from ensure and
 *                      ignore cancellation; with setting hang_in: connection
 *                      | registry-credentials | cluster-credentials | logs,
 *                      that call never returns instead; everything else
 *                      succeeds
 *
 * Setting runtime: kube drops the app ops and offers a cluster and a
 * registry instead, so apps run through the core's image and kube
 * executors (which ask for the registry and cluster credentials).
 */
#include <hoist/host.h>
#include <hoist/provider.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef HOSTILE_NAME
#error "compile with -DHOSTILE_NAME=<module name>"
#endif
#define HOSTILE_DEFINE(n, ...) HOIST_PROVIDER_DEFINE(n, __VA_ARGS__)

typedef struct hostile {
    char mode[32];
    char hang_in[32];
} hostile;

/* A real fault in driver code: a store to a page mapped without access (not
 * NULL, so a sanitizer's null check does not report it first). */
static void hostile_segv(void)
{
    volatile int *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page != MAP_FAILED)
        *page = 1;
    raise(SIGSEGV); /* no page to fault on: the same signal all the same */
}

static int hostile_mode(const hostile *h, const char *m)
{
    return strcmp(h->mode, m) == 0;
}

/* Crash or hang in @where ("connection", "logs"...) when told to. */
static void hostile_misbehave(const hostile *h, const char *where)
{
    if (hostile_mode(h, where))
        hostile_segv();
#ifdef HOSTILE_HANG
    if (strcmp(h->hang_in, where) == 0)
        for (;;) /* deaf to cancellation and deadlines */
            sleep(3600);
#endif
}

static hoist_status hostile_network_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                           hoist_result *out)
{
    hostile *h = vp;
    (void)ctx;
    (void)r;
    if (hostile_mode(h, "outputs-array")) {
        out->outputs = json_pack("[s,i]", "id", 1);
    } else if (hostile_mode(h, "huge")) {
        size_t n = 8u << 20; /* 8 MiB, over the core's 1 MiB bound */
        char *big = malloc(n);
        if (!big)
            return HOIST_E_INTERNAL;
        memset(big, 'x', n);
        out->outputs = json_object();
        json_object_set_new(out->outputs, "id", json_stringn(big, n));
        free(big);
    } else if (hostile_mode(h, "bad-utf8")) {
        out->outputs = json_object();
        json_object_set_new(out->outputs, "id", json_string("net-1"));
        json_object_set_new(out->outputs, "name", json_stringn_nocheck("\xff\xfe\xc0\x80", 4));
    } else if (hostile_mode(h, "secrets-number")) {
        out->outputs = json_pack("{s:s}", "id", "net-1");
        out->secrets = json_pack("{s:i}", "token", 42);
    } else {
        out->outputs = json_pack("{s:s}", "id", "net-1");
    }
    return HOIST_OK;
}

static hoist_status hostile_gone(void *vp, hoist_ctx *ctx, const hoist_resource *r, hoist_result *out)
{
    (void)vp, (void)ctx, (void)r, (void)out;
    return HOIST_OK;
}

static hoist_status hostile_observe(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                    hoist_result *out)
{
    (void)vp, (void)ctx, (void)out;
    return r->recorded ? HOIST_OK : HOIST_E_NOTFOUND;
}

static hoist_status hostile_db_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                      hoist_result *out)
{
    hostile *h = vp;
    (void)ctx;
    if (hostile_mode(h, "ensure"))
        hostile_segv();
#ifdef HOSTILE_HANG
    if (strncmp(r->name, "slow", 4) == 0)
        for (;;) /* deliberately deaf to hoist_ctx cancellation and deadlines */
            sleep(3600);
#endif
    out->outputs = json_pack("{s:s}", "id", r->name);
    out->secrets = json_pack("{s:s}", "password", "hostile-db-password");
    return HOIST_OK;
}

static hoist_status hostile_db_connection(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                          hoist_db_connection *out)
{
    hostile *h = vp;
    (void)ctx;
    hostile_misbehave(h, "connection");
    out->host = hostile_mode(h, "null-host") ? NULL : strdup("127.0.0.1");
    out->port = hostile_mode(h, "port-zero") ? 0 : 5432;
    out->user = strdup("app");
    out->password = strdup("hostile-db-password");
    out->database = strdup(r->name);
    return HOIST_OK;
}

static hoist_status hostile_app_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_result *out)
{
    (void)vp, (void)ctx;
    out->outputs = json_pack("{s:s}", "id", r->name);
    return HOIST_OK;
}

static hoist_status hostile_app_logs(void *vp, hoist_ctx *ctx, const hoist_resource *r, int fd,
                                     int follow)
{
    hostile *h = vp;
    (void)ctx, (void)follow;
    /* First a line, so a test knows the call (and hoist's signal handling) began. */
    char line[128];
    int n = snprintf(line, sizeof line, "hostile log line of %s\n", r->name);
    if (write(fd, line, (size_t)n) != n)
        return HOIST_E_INTERNAL;
    hostile_misbehave(h, "logs");
    return hostile_mode(h, "logs-status") ? (hoist_status)42 : HOIST_OK;
}

static hoist_status hostile_cluster_credentials(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                                hoist_cluster_credentials *out)
{
    hostile *h = vp;
    (void)ctx, (void)r;
    hostile_misbehave(h, "cluster-credentials");
    /* Nothing listens there: a well-behaved answer fails later, at the API. */
    out->endpoint = strdup(hostile_mode(h, "endpoint-bad-utf8") ? "https://\xff\xfe:1"
                                                                 : "https://127.0.0.1:1");
    out->token = strdup("hostile-cluster-token");
    return HOIST_OK;
}

static hoist_status hostile_registry_credentials(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                                 hoist_registry_credentials *out)
{
    hostile *h = vp;
    (void)ctx;
    hostile_misbehave(h, "registry-credentials");
    out->endpoint = strdup("http://127.0.0.1:1");
    out->repository = strdup(hostile_mode(h, "empty-repository") ? "" : r->name);
    out->username = strdup("hostile");
    out->password = strdup("hostile-registry-password");
    return HOIST_OK;
}

static const hoist_network_ops hostile_network = {
    .struct_size = sizeof hostile_network,
    .ensure = hostile_network_ensure,
    .observe = hostile_observe,
    .destroy = hostile_gone,
};

static const hoist_database_ops hostile_database = {
    .struct_size = sizeof hostile_database,
    .ensure = hostile_db_ensure,
    .observe = hostile_observe,
    .destroy = hostile_gone,
    .connection = hostile_db_connection,
};

static const hoist_app_ops hostile_app = {
    .struct_size = sizeof hostile_app,
    .ensure = hostile_app_ensure,
    .observe = hostile_observe,
    .destroy = hostile_gone,
    .logs = hostile_app_logs,
};

static const hoist_provider_ops hostile_ops = {
    .struct_size = sizeof hostile_ops,
    .network = &hostile_network,
    .database = &hostile_database,
    .app = &hostile_app,
};

/* runtime: kube.  Ensure answers with the resource's name as its id. */
static const hoist_cluster_ops hostile_cluster = {
    .struct_size = sizeof hostile_cluster,
    .ensure = hostile_app_ensure,
    .observe = hostile_observe,
    .destroy = hostile_gone,
    .credentials = hostile_cluster_credentials,
};

static const hoist_registry_ops hostile_registry = {
    .struct_size = sizeof hostile_registry,
    .ensure = hostile_app_ensure,
    .observe = hostile_observe,
    .destroy = hostile_gone,
    .credentials = hostile_registry_credentials,
};

static const hoist_provider_ops hostile_kube_ops = {
    .struct_size = sizeof hostile_kube_ops,
    .network = &hostile_network,
    .cluster = &hostile_cluster,
    .registry = &hostile_registry,
    .database = &hostile_database,
};

static hoist_status hostile_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings,
                                 void **prov, const hoist_provider_ops **ops)
{
    (void)host;
    (void)ctx;
    const char *mode = json_string_value(json_object_get(settings, "crash_in"));
    if (!mode)
        mode = json_string_value(json_object_get(settings, "malformed"));
    if (mode && strcmp(mode, "init") == 0)
        hostile_segv();
    hostile *h = calloc(1, sizeof *h);
    if (!h)
        return HOIST_E_INTERNAL;
    if (mode)
        strncpy(h->mode, mode, sizeof h->mode - 1);
    const char *hang_in = json_string_value(json_object_get(settings, "hang_in"));
    if (hang_in)
        strncpy(h->hang_in, hang_in, sizeof h->hang_in - 1);
    const char *runtime = json_string_value(json_object_get(settings, "runtime"));
    *prov = h;
    *ops = runtime && strcmp(runtime, "kube") == 0 ? &hostile_kube_ops : &hostile_ops;
    return HOIST_OK;
}

static void hostile_fini(void *prov)
{
    free(prov);
}

HOSTILE_DEFINE(HOSTILE_NAME, .version = "0.0.1", .license = "MIT",
               .description = "test driver that misbehaves on purpose",
               .caps = HOIST_CAP_LOCAL_RUNTIME | HOIST_CAP_DB_POSTGRESQL,
               .init = hostile_init, .fini = hostile_fini);
