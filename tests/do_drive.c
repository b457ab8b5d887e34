/*
 * do_drive.c - drives the DigitalOcean driver through the real loader the
 * way the pipeline does (libhoist/run.c on branch pipeline), until `hoist
 * deploy` can: ensure each node once its needs are READY, calling again
 * after poll_ms while PENDING and after a short backoff on E_TRANSIENT;
 * recorded = the outputs (and "secrets") of the previous call; needs =
 * {kind: {name: outputs}} of the needed nodes.  destroy walks the graph
 * backwards.  State is a JSON file so separate runs resume like hoist does.
 *
 *   do_drive [--project P] [--env E] [--settings JSON] [--state FILE]
 *            [--state-dir DIR] [--databases NAME,...] deploy|status|destroy|creds
 *
 * Graph: network; cluster (needs network); registry api and worker;
 * databases (default: main; each needs network; creds uses the first).  Prints one line per call result and,
 * for creds, a JSON summary (secrets reduced to their length).
 */
#include "host.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct node {
    const char *kind, *name;
    const char *needs[2]; /* keys "kind/name" */
    json_t *spec;
    int done;
    long long next_at;
    int transient;
} node;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(long long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static hoist_op_fn op_of(hoist_driver *d, const char *kind, const char *op)
{
    const hoist_provider_ops *o = d->ops;
#define PICK(tbl)                                                                                 \
    (!strcmp(op, "ensure") ? (tbl)->ensure : !strcmp(op, "observe") ? (tbl)->observe : (tbl)->destroy)
    if (!strcmp(kind, "network"))
        return PICK(o->network);
    if (!strcmp(kind, "cluster"))
        return PICK(o->cluster);
    if (!strcmp(kind, "registry"))
        return PICK(o->registry);
    return PICK(o->database);
#undef PICK
}

static char *key_of(const node *n)
{
    return hoist_xasprintf("%s/%s", n->kind, n->name);
}

static json_t *recorded_of(json_t *state, const node *n)
{
    char *k = key_of(n);
    json_t *e = json_object_get(state, k);
    free(k);
    if (!e)
        return NULL;
    json_t *r = json_deep_copy(json_object_get(e, "outputs"));
    if (!r)
        r = json_object();
    if (json_object_get(e, "secrets"))
        json_object_set(r, "secrets", json_object_get(e, "secrets"));
    return r;
}

static json_t *needs_of(json_t *state, const node *n)
{
    json_t *needs = json_object();
    for (int i = 0; i < 2 && n->needs[i]; i++) {
        char *kind = hoist_xstrdup(n->needs[i]), *slash = strchr(kind, '/');
        *slash = '\0';
        json_t *by = json_object_get(needs, kind);
        if (!by)
            json_object_set_new(needs, kind, by = json_object());
        json_t *o = json_object_get(json_object_get(state, n->needs[i]), "outputs");
        json_object_set_new(by, slash + 1, o ? json_deep_copy(o) : json_object());
        free(kind);
    }
    return needs;
}

static hoist_status call(hoist_driver *d, const char *project, const char *env, json_t *state,
                         node *n, const char *op, hoist_result *out, char **err, char **phase)
{
    hoist_ctx ctx;
    char *what = hoist_xasprintf("%s %s", n->kind, n->name);
    hoist_ctx_init(&ctx, d, what);
    free(what);
    json_t *rec = recorded_of(state, n), *needs = needs_of(state, n);
    hoist_resource r = {.struct_size = sizeof r, .project = project, .env = env, .name = n->name,
                        .spec = n->spec, .needs = needs, .recorded = rec};
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    hoist_status st = op_of(d, n->kind, op)(d->prov, &ctx, &r, out);
    *err = hoist_ctx_error(&ctx) ? hoist_xstrdup(hoist_ctx_error(&ctx)) : NULL;
    /* The status line as the core shows it (host->progress, copied). */
    const char *ph = hoist_ctx_progress(&ctx, out->status_text);
    if (phase)
        *phase = ph ? hoist_xstrdup(ph) : NULL;
    hoist_ctx_cleanup(&ctx);
    json_decref(rec);
    json_decref(needs);
    return st;
}

static void save(const char *path, json_t *state)
{
    char *tmp = hoist_xasprintf("%s.tmp", path);
    if (json_dump_file(state, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) != 0 || rename(tmp, path) != 0)
        fprintf(stderr, "do_drive: cannot write %s\n", path);
    free(tmp);
}

/* 1 if node @i may run now: deploy after its needs, destroy after what needs it. */
static int ready_to_run(node *g, size_t n, size_t i, int destroy)
{
    char *k = key_of(&g[i]);
    int ok = 1;
    for (size_t j = 0; j < n; j++) {
        char *kj = key_of(&g[j]);
        for (int x = 0; x < 2; x++) {
            /* deploy: my needs are done; destroy: whatever needs me is gone */
            if (!destroy && g[i].needs[x] && !strcmp(g[i].needs[x], kj) && !g[j].done)
                ok = 0;
            if (destroy && g[j].needs[x] && !strcmp(g[j].needs[x], k) && !g[j].done)
                ok = 0;
        }
        free(kj);
    }
    free(k);
    return ok;
}

static int run(hoist_driver *d, const char *project, const char *env, json_t *state,
               const char *state_path, node *g, size_t n, const char *op)
{
    int destroy = !strcmp(op, "destroy"), failed = 0;
    long long deadline = now_ms() + 240000;
    size_t left = n;
    while (left > 0 && !failed) {
        if (now_ms() > deadline) {
            printf("TIMEOUT with %zu node(s) not done\n", left);
            return 1;
        }
        int ran = 0;
        long long soonest = now_ms() + 1000;
        for (size_t i = 0; i < n; i++) {
            node *x = &g[i];
            if (x->done || !ready_to_run(g, n, i, destroy))
                continue;
            if (x->next_at > now_ms()) {
                if (x->next_at < soonest)
                    soonest = x->next_at;
                continue;
            }
            hoist_result out;
            char *err = NULL, *phase = NULL, *k = key_of(x);
            hoist_status st = call(d, project, env, state, x, op, &out, &err, &phase);
            ran = 1;
            printf("%s %s: %s%s%s%s%s\n", op, k, hoist_status_name(st),
                   st == HOIST_PENDING && phase ? " - " : "", st == HOIST_PENDING && phase ? phase : "",
                   err ? ": " : "", err ? err : "");
            free(phase);
            if (destroy && st == HOIST_OK) {
                json_object_del(state, k);
            } else if (st == HOIST_OK || st == HOIST_PENDING) {
                json_t *e = json_object_get(state, k);
                if (!e)
                    json_object_set_new(state, k, e = json_object());
                if (out.outputs)
                    json_object_set(e, "outputs", out.outputs);
                if (out.secrets)
                    json_object_set(e, "secrets", out.secrets);
            }
            save(state_path, state);
            if (st == HOIST_OK) {
                x->done = 1;
                left--;
            } else if (st == HOIST_PENDING) {
                long long w = out.poll_ms ? out.poll_ms : 200;
                x->next_at = now_ms() + (w > 2000 ? 2000 : w);
            } else if (st == HOIST_E_TRANSIENT && ++x->transient < 60) {
                x->next_at = now_ms() + 50;
            } else {
                failed = 1;
            }
            json_decref(out.outputs);
            json_decref(out.secrets);
            free(err);
            free(k);
        }
        if (!ran && left > 0) {
            long long w = soonest - now_ms();
            nap(w > 0 ? w : 10);
        }
    }
    return failed;
}

static int status(hoist_driver *d, const char *project, const char *env, json_t *state, node *g,
                  size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        hoist_result out;
        char *err = NULL, *k = key_of(&g[i]);
        hoist_status st;
        int tries = 0;
        do {
            free(err);
            st = call(d, project, env, state, &g[i], "observe", &out, &err, NULL);
            if (st == HOIST_E_TRANSIENT)
                json_decref(out.outputs);
        } while (st == HOIST_E_TRANSIENT && ++tries < 60);
        char *o = out.outputs ? json_dumps(out.outputs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        printf("observe %s: %s%s%s %s\n", k, hoist_status_name(st), err ? ": " : "",
               err ? err : "", o ? o : "");
        bad |= st != HOIST_OK;
        free(o);
        json_decref(out.outputs);
        json_decref(out.secrets);
        free(err);
        free(k);
    }
    return bad;
}

/* Secrets leave this program only as their length. */
static int creds(hoist_driver *d, const char *project, const char *env, json_t *state, node *g)
{
    hoist_ctx ctx;
    hoist_cluster_credentials kc = {.struct_size = sizeof kc};
    hoist_registry_credentials rc = {.struct_size = sizeof rc};
    hoist_db_connection dc = {.struct_size = sizeof dc};
    hoist_status s1, s2, s3;
    json_t *recs[3], *needs = json_object();
    node *pick[3] = {&g[1], &g[2], &g[4]};
    hoist_resource r[3];
    for (int i = 0; i < 3; i++) {
        recs[i] = recorded_of(state, pick[i]);
        r[i] = (hoist_resource){.struct_size = sizeof r[i], .project = project, .env = env,
                                .name = pick[i]->name, .spec = pick[i]->spec, .needs = needs,
                                .recorded = recs[i]};
    }
    /* Each retried on E_TRANSIENT, as the executors that use them would. */
#define RETRY(var, expr)                                                                          \
    for (int t_ = 0; t_ < 60; t_++) {                                                             \
        hoist_ctx_cleanup(&ctx);                                                                  \
        hoist_ctx_init(&ctx, d, "credentials");                                                   \
        if ((var = (expr)) != HOIST_E_TRANSIENT)                                                  \
            break;                                                                                \
    }
    hoist_ctx_init(&ctx, d, "credentials");
    RETRY(s1, d->ops->cluster->credentials(d->prov, &ctx, &r[0], &kc));
    RETRY(s2, d->ops->registry->credentials(d->prov, &ctx, &r[1], &rc));
    RETRY(s3, d->ops->database->connection(d->prov, &ctx, &r[2], &dc));
#undef RETRY
    json_t *o = json_pack(
        "{s:{s:s,s:s?,s:s?,s:i,s:b,s:I},s:{s:s,s:s?,s:s?,s:s?,s:i,s:I},"
        "s:{s:s,s:s?,s:i,s:s?,s:s?,s:i,s:b}}",
        "cluster", "status", hoist_status_name(s1), "endpoint", kc.endpoint, "ca_pem", kc.ca_pem,
        "token_len", kc.token ? (int)strlen(kc.token) : 0, "has_token", kc.token != NULL,
        "expires_at", (json_int_t)kc.expires_at, "registry", "status", hoist_status_name(s2),
        "endpoint", rc.endpoint, "repository", rc.repository, "username", rc.username,
        "password_len", rc.password ? (int)strlen(rc.password) : 0, "expires_at",
        (json_int_t)rc.expires_at, "database", "status", hoist_status_name(s3), "host", dc.host,
        "port", dc.port, "user", dc.user, "database", dc.database, "password_len",
        dc.password ? (int)strlen(dc.password) : 0, "tls", dc.tls);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    printf("%s\n", s);
    if (hoist_ctx_error(&ctx))
        printf("error: %s\n", hoist_ctx_error(&ctx));
    free(s);
    json_decref(o);
    free(kc.endpoint), free(kc.ca_pem), free(kc.token);
    free(rc.endpoint), free(rc.repository), free(rc.username), free(rc.password);
    free(dc.host), free(dc.user), free(dc.password), free(dc.database);
    for (int i = 0; i < 3; i++)
        json_decref(recs[i]);
    json_decref(needs);
    hoist_ctx_cleanup(&ctx);
    return s1 != HOIST_OK || s2 != HOIST_OK || s3 != HOIST_OK;
}

int main(int argc, char **argv)
{
    const char *project = "shop", *env = "staging", *settings_s = "{}", *state_path = NULL;
    const char *state_dir = NULL, *cmd = NULL, *databases = "main";
    /* The transport's retries are logged at debug level: tests grep them. */
    if (getenv("HOIST_TEST_DEBUG"))
        hoist_log_set_level(HOIST_LOG_DEBUG_);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--project") && i + 1 < argc)
            project = argv[++i];
        else if (!strcmp(argv[i], "--env") && i + 1 < argc)
            env = argv[++i];
        else if (!strcmp(argv[i], "--settings") && i + 1 < argc)
            settings_s = argv[++i];
        else if (!strcmp(argv[i], "--state") && i + 1 < argc)
            state_path = argv[++i];
        else if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
            state_dir = argv[++i];
        else if (!strcmp(argv[i], "--databases") && i + 1 < argc)
            databases = argv[++i];
        else
            cmd = argv[i];
    }
    if (!cmd || !state_path) {
        fprintf(stderr, "usage: do_drive --state FILE [--settings JSON] [--state-dir DIR] "
                        "[--project P] [--env E] [--databases NAME,...] "
                        "deploy|status|destroy|creds\n");
        return 2;
    }
    /* The core's retry budget, shortened so that a 5xx whose ratelimit-reset
       is a minute away comes back as E_TRANSIENT and is retried here by the
       caller, as the pipeline does, instead of sleeping for it. */
    hoist_http_set_backoff(50, 1000, 4000, 1);
    json_t *settings = json_loads(settings_s, 0, NULL);
    json_t *state = json_load_file(state_path, 0, NULL);
    if (!state)
        state = json_object();
    if (!settings) {
        fprintf(stderr, "do_drive: --settings is not JSON\n");
        return 2;
    }
    const char *region = json_string_value(json_object_get(settings, "region"));
    node g[] = {
        {"network", "network", {NULL, NULL}, json_pack("{s:s}", "region", region ? region : "nyc3"), 0, 0, 0},
        {"cluster", "cluster", {"network/network", NULL},
         json_pack("{s:s,s:s,s:{s:s,s:i,s:i}}", "region", region ? region : "nyc3", "version", "1.32",
                   "nodes", "type", "s-2vcpu-4gb", "min", 1, "max", 3),
         0, 0, 0},
        {"registry", "api", {NULL, NULL}, json_pack("{s:s}", "app", "api"), 0, 0, 0},
        {"registry", "worker", {NULL, NULL}, json_pack("{s:s}", "app", "worker"), 0, 0, 0},
        {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0},
    };
    /* One database node per --databases name (at most 8). */
    char *dbnames = hoist_xstrdup(databases), *save = NULL;
    size_t n = 4;
    for (char *db = strtok_r(dbnames, ",", &save); db && n < sizeof g / sizeof g[0];
         db = strtok_r(NULL, ",", &save))
        g[n++] = (node){"database", db, {"network/network", NULL},
                        json_pack("{s:s,s:s,s:s,s:s,s:s}", "engine", "postgresql", "version", "16",
                                  "size", "small", "mode", "managed", "region",
                                  region ? region : "nyc3"),
                        0, 0, 0};
    hoist_loader *l = hoist_loader_new(NULL);
    hoist_driver *d = NULL;
    char *err = NULL;
    int rc = 1;
    if (hoist_loader_open(l, "digitalocean", &d, &err) != HOIST_OK ||
        hoist_driver_init(d, settings, state_dir, &err) != HOIST_OK) {
        printf("load: %s\n", err);
        goto cleanup;
    }
    if (!strcmp(cmd, "deploy") || !strcmp(cmd, "destroy"))
        rc = run(d, project, env, state, state_path, g, n, !strcmp(cmd, "deploy") ? "ensure" : "destroy");
    else if (!strcmp(cmd, "status"))
        rc = status(d, project, env, state, g, n);
    else if (!strcmp(cmd, "creds"))
        rc = creds(d, project, env, state, g);
    else
        fprintf(stderr, "do_drive: unknown command %s\n", cmd);
cleanup:
    free(err);
    hoist_driver_free(d);
    hoist_loader_free(l);
    for (size_t i = 0; i < n; i++)
        json_decref(g[i].spec);
    free(dbnames);
    json_decref(settings);
    json_decref(state);
    return rc;
}
