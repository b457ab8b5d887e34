/* driver.c - the one door into a driver's operations: look up, guard, call, validate. */
#include "driver.h"
#include "host.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const op_names[] = {"ensure", "observe", "destroy", "pause",
                                       "credentials", "connection", "logs"};
_Static_assert(sizeof op_names / sizeof op_names[0] == HOIST_OP_COUNT_,
               "one name per hoist_op");

const char *hoist_op_name(hoist_op op)
{
    return (unsigned)op < HOIST_OP_COUNT_ ? op_names[op] : "unknown";
}

/* ---------------------------------------------------------------- lookup */

/* Every member a driver may offer; lookup() fills the one asked for. */
typedef struct entry {
    hoist_op_fn res;
    hoist_status (*cluster_creds)(void *, hoist_ctx *, const hoist_resource *,
                                  hoist_cluster_credentials *);
    hoist_status (*registry_creds)(void *, hoist_ctx *, const hoist_resource *,
                                   hoist_registry_credentials *);
    hoist_status (*connection)(void *, hoist_ctx *, const hoist_resource *, hoist_db_connection *);
    hoist_status (*logs)(void *, hoist_ctx *, const hoist_resource *, int, int);
} entry;

/* The three members every kind's table starts with. */
#define COMMON(t, op)                                                                          \
    ((op) == HOIST_OP_ENSURE ? (t)->ensure : (op) == HOIST_OP_OBSERVE ? (t)->observe         \
     : (op) == HOIST_OP_DESTROY ? (t)->destroy : NULL)

/* The only place that reads a driver's ops table (besides the loader, which stores it). */
static entry lookup(const hoist_driver *drv, hoist_kind kind, hoist_op op)
{
    entry e = {0};
    const hoist_provider_ops *o = drv ? drv->ops : NULL;
    if (!o)
        return e;
    switch (kind) {
    case HOIST_KIND_NETWORK:
        if (o->network)
            e.res = COMMON(o->network, op);
        break;
    case HOIST_KIND_CLUSTER:
        if (o->cluster) {
            e.res = COMMON(o->cluster, op);
            if (op == HOIST_OP_CREDENTIALS)
                e.cluster_creds = o->cluster->credentials;
        }
        break;
    case HOIST_KIND_REGISTRY:
        if (o->registry) {
            e.res = COMMON(o->registry, op);
            if (op == HOIST_OP_CREDENTIALS)
                e.registry_creds = o->registry->credentials;
        }
        break;
    case HOIST_KIND_DATABASE:
        if (o->database) {
            e.res = op == HOIST_OP_PAUSE ? o->database->pause : COMMON(o->database, op);
            if (op == HOIST_OP_CONNECTION)
                e.connection = o->database->connection;
        }
        break;
    case HOIST_KIND_APP:
        if (o->app) {
            e.res = op == HOIST_OP_PAUSE ? o->app->pause : COMMON(o->app, op);
            if (op == HOIST_OP_LOGS)
                e.logs = o->app->logs;
        }
        break;
    default: /* images are the core's own */
        break;
    }
    return e;
}
#undef COMMON

int hoist_driver_offers_kind(const hoist_driver *drv, hoist_kind kind)
{
    const hoist_provider_ops *o = drv ? drv->ops : NULL;
    if (!o)
        return 0;
    switch (kind) {
    case HOIST_KIND_NETWORK: return o->network != NULL;
    case HOIST_KIND_CLUSTER: return o->cluster != NULL;
    case HOIST_KIND_REGISTRY: return o->registry != NULL;
    case HOIST_KIND_DATABASE: return o->database != NULL;
    case HOIST_KIND_APP: return o->app != NULL;
    default: return 0;
    }
}

int hoist_driver_offers(const hoist_driver *drv, hoist_kind kind, hoist_op op)
{
    entry e = lookup(drv, kind, op);
    return e.res || e.cluster_creds || e.registry_creds || e.connection || e.logs;
}

/* ---------------------------------------------------------------- one call */

/* What every wrapper shares: the resource's key for messages and the guard. */
typedef struct call {
    hoist_driver *drv;
    hoist_kind kind;
    hoist_op op;
    hoist_ctx *ctx;
    char key[256]; /* "database/main" (truncated if absurdly long) */
    hoist_guard g;
} call;

/* Start a call: HOIST_OK with the guard entered, or HOIST_E_UNSUPPORTED reported. */
static hoist_status call_begin(call *c, hoist_driver *drv, hoist_kind kind, hoist_op op,
                               hoist_ctx *ctx, const hoist_resource *r, int offered)
{
    c->drv = drv;
    c->kind = kind;
    c->op = op;
    c->ctx = ctx;
    snprintf(c->key, sizeof c->key, "%s/%s", hoist_kind_name(kind), r && r->name ? r->name : "?");
    if (!offered)
        return hoist_ctx_fail(ctx, HOIST_E_UNSUPPORTED, "provider '%s' does not support %s on %s",
                              drv ? drv->name : "?", hoist_op_name(op), hoist_kind_name(kind));
    hoist_guard_enter(&c->g, drv->name, hoist_op_name(op), c->key);
    return HOIST_OK;
}

static int status_known(hoist_status st)
{
    return st >= HOIST_E_CANCELLED && st <= HOIST_PENDING;
}

/*
 * End a call that returned @st, with @why the problem found in its answer
 * (or NULL).  A status outside hoist_status is itself malformed.  A
 * malformed success is overruled (any stale detail is not the reason); a
 * failure keeps the driver's own message when it gave one.
 */
static hoist_status call_end(call *c, hoist_status st, const char *why)
{
    hoist_guard_leave(&c->g);
    char num[64];
    if (!status_known(st)) {
        snprintf(num, sizeof num, "status %d is not a hoist_status", (int)st);
        why = num;
        st = HOIST_OK; /* overruled like a malformed success */
    }
    if (!why)
        return st;
    if (st < 0 && hoist_ctx_error(c->ctx))
        return st;
    if (st >= 0) {
        free(c->ctx->err);
        c->ctx->err = NULL;
    }
    return hoist_ctx_fail(c->ctx, HOIST_E_INTERNAL, "provider '%s' returned malformed data "
                          "from %s of %s: %s", c->drv->name, hoist_op_name(c->op), c->key, why);
}

/* A string handed back in a credentials or connection struct. */
typedef struct answer_field {
    const char *name;
    const char *value;
    enum { OPTIONAL, REQUIRED, NONEMPTY } need;
} answer_field;

/* NULL, or "FIELD: REASON" for the first bad one in @buf. */
static const char *fields_problem(const answer_field *f, size_t n, char *buf, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        const char *why = hoist_driver_string_problem(f[i].value, f[i].need != OPTIONAL);
        if (!why && f[i].need == NONEMPTY && !*f[i].value)
            why = "empty";
        if (why) {
            snprintf(buf, cap, "%s: %s", f[i].name, why);
            return buf;
        }
    }
    return NULL;
}

hoist_status hoist_driver_call(hoist_driver *drv, hoist_kind kind, hoist_op op, hoist_ctx *ctx,
                               const hoist_resource *r, hoist_result *out)
{
    hoist_op_fn fn = op <= HOIST_OP_PAUSE ? lookup(drv, kind, op).res : NULL;
    call c;
    hoist_status st = call_begin(&c, drv, kind, op, ctx, r, fn != NULL);
    if (st != HOIST_OK)
        return st;
    st = fn(drv->prov, ctx, r, out);
    /* Malformed answers never reach the state file or dependents. */
    char *why = hoist_driver_json_problem(out->outputs, "outputs", 0);
    if (!why)
        why = hoist_driver_json_problem(out->secrets, "secrets", 1);
    int rejected = why || !status_known(st);
    st = call_end(&c, st, why);
    if (rejected) {
        json_decref(out->outputs);
        json_decref(out->secrets);
        out->outputs = out->secrets = NULL;
    }
    free(why);
    return st;
}

/*
 * The ops that fill a struct (credentials, connection): @out is the
 * struct of @kind's op.  Calls, checks its strings, and clears it unless
 * the answer is HOIST_OK and well-formed.
 */
static hoist_status struct_call(hoist_driver *drv, hoist_kind kind, hoist_op op, hoist_ctx *ctx,
                                const hoist_resource *r, void *out)
{
    entry e = lookup(drv, kind, op);
    call c;
    hoist_status st = call_begin(&c, drv, kind, op, ctx, r,
                                 e.cluster_creds || e.registry_creds || e.connection);
    if (st != HOIST_OK)
        return st;
    hoist_cluster_credentials *cc = out;
    hoist_registry_credentials *rc = out;
    hoist_db_connection *dc = out;
    answer_field f[4];
    size_t n = 0;
    int port_ok = 1;
    if (e.cluster_creds) {
        st = e.cluster_creds(drv->prov, ctx, r, cc);
        f[n++] = (answer_field){"endpoint", cc->endpoint, NONEMPTY};
        f[n++] = (answer_field){"ca_pem", cc->ca_pem, OPTIONAL};
        f[n++] = (answer_field){"token", cc->token, OPTIONAL};
    } else if (e.registry_creds) {
        st = e.registry_creds(drv->prov, ctx, r, rc);
        f[n++] = (answer_field){"endpoint", rc->endpoint, NONEMPTY};
        f[n++] = (answer_field){"repository", rc->repository, NONEMPTY};
        f[n++] = (answer_field){"username", rc->username, OPTIONAL};
        f[n++] = (answer_field){"password", rc->password, OPTIONAL};
    } else {
        /* The strings become URLs and environment variables. */
        st = e.connection(drv->prov, ctx, r, dc);
        f[n++] = (answer_field){"host", dc->host, REQUIRED};
        f[n++] = (answer_field){"user", dc->user, REQUIRED};
        f[n++] = (answer_field){"database", dc->database, REQUIRED};
        f[n++] = (answer_field){"password", dc->password, OPTIONAL};
        port_ok = dc->port > 0 && dc->port <= 65535;
    }
    char buf[128];
    const char *why = st == HOIST_OK ? fields_problem(f, n, buf, sizeof buf) : NULL;
    if (st == HOIST_OK && !why && !port_ok)
        why = "port: not in 1..65535";
    st = call_end(&c, st, why);
    if (st != HOIST_OK && e.cluster_creds)
        hoist_cluster_credentials_clear(cc);
    else if (st != HOIST_OK && e.registry_creds)
        hoist_registry_credentials_clear(rc);
    else if (st != HOIST_OK)
        hoist_db_connection_clear(dc);
    return st;
}

hoist_status hoist_driver_cluster_credentials(hoist_driver *drv, hoist_ctx *ctx,
                                              const hoist_resource *r,
                                              hoist_cluster_credentials *out)
{
    return struct_call(drv, HOIST_KIND_CLUSTER, HOIST_OP_CREDENTIALS, ctx, r, out);
}

hoist_status hoist_driver_registry_credentials(hoist_driver *drv, hoist_ctx *ctx,
                                               const hoist_resource *r,
                                               hoist_registry_credentials *out)
{
    return struct_call(drv, HOIST_KIND_REGISTRY, HOIST_OP_CREDENTIALS, ctx, r, out);
}

hoist_status hoist_driver_db_connection(hoist_driver *drv, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_db_connection *out)
{
    return struct_call(drv, HOIST_KIND_DATABASE, HOIST_OP_CONNECTION, ctx, r, out);
}

hoist_status hoist_driver_app_logs(hoist_driver *drv, hoist_ctx *ctx, const hoist_resource *r,
                                   int fd, int follow)
{
    entry e = lookup(drv, HOIST_KIND_APP, HOIST_OP_LOGS);
    call c;
    hoist_status st = call_begin(&c, drv, HOIST_KIND_APP, HOIST_OP_LOGS, ctx, r, e.logs != NULL);
    if (st != HOIST_OK)
        return st;
    st = e.logs(drv->prov, ctx, r, fd, follow);
    return call_end(&c, st, NULL);
}

/* ---------------------------------------------------------------- answers */

const char *hoist_driver_string_problem(const char *s, int required)
{
    if (!s)
        return required ? "missing (NULL)" : NULL;
    size_t len = strnlen(s, HOIST_DRIVER_STRING_MAX + 1);
    if (len > HOIST_DRIVER_STRING_MAX)
        return "longer than 1 MiB";
    if (!hoist_utf8_valid(s, len))
        return "not valid UTF-8";
    return NULL;
}

static char *json_problem(const json_t *j, hoist_buf *path, int depth, int flat)
{
    const char *why = NULL;
    if (depth > 32)
        why = "nested more than 32 levels deep";
    else if (json_is_string(j)) {
        /* Strings may hold NUL bytes (json_stringn): check the whole length. */
        size_t len = json_string_length(j);
        why = len > HOIST_DRIVER_STRING_MAX ? "longer than 1 MiB"
              : !hoist_utf8_valid(json_string_value(j), len) ? "not valid UTF-8"
              : memchr(json_string_value(j), 0, len) ? "contains a NUL byte" : NULL;
    } else if (flat && depth > 0) {
        why = "not a string";
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        size_t at = path->len;
        json_object_foreach((json_t *)j, k, v) {
            const char *kp = hoist_driver_string_problem(k, 1);
            hoist_buf_printf(path, ".%s", kp ? "<key>" : k);
            if (kp)
                return hoist_xasprintf("%s: key %s", path->s, kp);
            char *r = json_problem(v, path, depth + 1, flat);
            if (r)
                return r;
            path->len = at;
            path->s[at] = '\0';
        }
    } else if (json_is_array(j)) {
        size_t i, at = path->len;
        json_t *v;
        json_array_foreach(j, i, v) {
            hoist_buf_printf(path, "[%zu]", i);
            char *r = json_problem(v, path, depth + 1, flat);
            if (r)
                return r;
            path->len = at;
            path->s[at] = '\0';
        }
    }
    return why ? hoist_xasprintf("%s: %s", path->s, why) : NULL;
}

char *hoist_driver_json_problem(const json_t *j, const char *field, int flat_strings)
{
    if (!j)
        return NULL;
    if (!json_is_object(j))
        return hoist_xasprintf("%s: not a JSON object", field);
    hoist_buf path = {0};
    hoist_buf_puts(&path, field);
    char *r = json_problem(j, &path, 0, flat_strings);
    hoist_buf_free(&path);
    return r;
}

/* ------------------------------------------------------------ crash reports */

/* initial-exec: the handler must not call __tls_get_addr (not async-signal-safe). */
static __thread hoist_guard *cur_guard __attribute__((tls_model("initial-exec")));

void hoist_guard_enter(hoist_guard *g, const char *driver, const char *op, const char *what)
{
    g->driver = driver;
    g->op = op;
    g->what = what;
    g->prev = cur_guard;
    cur_guard = g;
}

void hoist_guard_leave(hoist_guard *g)
{
    cur_guard = g->prev;
}

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define N_CRASH_SIGNALS (sizeof crash_signals / sizeof crash_signals[0])
static struct sigaction crash_prev[N_CRASH_SIGNALS];

/* Async-signal-safe pieces of the message. */
static void put_str(char *buf, size_t *n, size_t cap, const char *s)
{
    while (s && *s && *n + 1 < cap)
        buf[(*n)++] = *s++;
}

static void put_int(char *buf, size_t *n, size_t cap, int v)
{
    char d[12];
    int k = 0;
    do
        d[k++] = (char)('0' + v % 10);
    while ((v /= 10) > 0 && k < 11);
    while (k > 0 && *n + 1 < cap)
        buf[(*n)++] = d[--k];
}

static void on_crash(int sig)
{
    hoist_guard *g = cur_guard;
    size_t i = 0;
    while (i < N_CRASH_SIGNALS && crash_signals[i] != sig)
        i++;
    if (!g || i == N_CRASH_SIGNALS) {
        /* Not a driver's fault: give the signal back to whoever had it
         * (returning re-executes the faulting instruction; abort() raises
         * again once its handler returns). */
        if (i < N_CRASH_SIGNALS)
            sigaction(sig, &crash_prev[i], NULL);
        return;
    }
    static const char *const names[] = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"};
    char buf[512];
    size_t n = 0;
    put_str(buf, &n, sizeof buf, "\nhoist: provider '");
    put_str(buf, &n, sizeof buf, g->driver);
    put_str(buf, &n, sizeof buf, "' crashed (signal ");
    put_int(buf, &n, sizeof buf, sig);
    put_str(buf, &n, sizeof buf, ", ");
    put_str(buf, &n, sizeof buf, names[i]);
    put_str(buf, &n, sizeof buf, ") during ");
    put_str(buf, &n, sizeof buf, g->op);
    if (g->what) {
        put_str(buf, &n, sizeof buf, " of ");
        put_str(buf, &n, sizeof buf, g->what);
    }
    put_str(buf, &n, sizeof buf, "; state saved up to the last completed step\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
    _exit(1);
}

void hoist_guard_report_abandoned(void)
{
    hoist_guard *g = cur_guard;
    if (!g)
        return;
    char buf[512];
    size_t n = 0;
    put_str(buf, &n, sizeof buf, "hoist: provider '");
    put_str(buf, &n, sizeof buf, g->driver);
    put_str(buf, &n, sizeof buf, "' had not returned from ");
    put_str(buf, &n, sizeof buf, g->op);
    if (g->what) {
        put_str(buf, &n, sizeof buf, " of ");
        put_str(buf, &n, sizeof buf, g->what);
    }
    put_str(buf, &n, sizeof buf, " and ignored the interrupt; leaving it\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
}

void hoist_crash_report_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sigemptyset(&sa.sa_mask);
    /* SA_NODEFER: a second fault inside the handler still ends the process. */
    sa.sa_flags = SA_NODEFER;
    for (size_t i = 0; i < N_CRASH_SIGNALS; i++)
        sigaction(crash_signals[i], &sa, &crash_prev[i]);
}
