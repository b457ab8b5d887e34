/*
 * hoist-conformance - check a provider driver against the ABI contract.
 *
 * The driver is loaded through the real loader and initialised with the
 * real host table, and every operation gets a real hoist_ctx, exactly as
 * `hoist deploy` would call it.  Each check prints one line:
 *   PASS|FAIL|SKIP <check>: <why>
 * and the exit status is 0 when nothing failed, 1 otherwise, 2 for usage.
 * Check names are stable: tests and CI scripts may match them.
 */
#include "autoconfig.h"
#include "conformance.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "util.h"
#include <hoist/providertest.h>

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { V_PASS, V_FAIL, V_SKIP };
enum { K_NETWORK, K_CLUSTER, K_REGISTRY, K_DATABASE, K_APP, K_COUNT };

/* Operations get this long to answer a cancelled or expired context. */
#define PROMPT_MS 2000
/* Resources per kind ensured at once by the thread-safety check. */
#define PAR_PER_KIND 4

typedef struct hc_kind {
    const char *kind;
    const char *name;  /* the resource name used by the main sequence */
    size_t min_size;   /* struct_size of the ABI 1.0 table */
    size_t table_size; /* what the driver declared */
    hoist_op_fn ensure, observe, destroy;
    json_t *spec;
    json_t *recorded; /* outputs (+ "secrets") of the READY ensure, or NULL */
    char *id;
} hc_kind;

typedef struct hc {
    hoist_loader *loader;
    const char *name;
    hoist_driver *drv;
    json_t *settings;
    char *state_dir;
    long long timeout_ms;
    int npass, nfail, nskip;
    json_t *needs; /* {"kind": {"name": outputs}} of the READY resources */
    hc_kind k[K_COUNT];
} hc;

/* What one operation call produced. */
typedef struct hc_call {
    hoist_status st;
    json_t *outputs; /* owned */
    json_t *secrets; /* owned */
    unsigned poll_ms;
    char *err;       /* the driver's fail() detail, owned, or NULL */
    long long ms;
    int polls;
    int timed_out;
    const char *shape; /* a violation of the result's shape, or NULL */
} hc_call;

static void hc_call_clear(hc_call *x)
{
    json_decref(x->outputs);
    json_decref(x->secrets);
    free(x->err);
    memset(x, 0, sizeof *x);
}

static const char *verdicts[] = {"PASS", "FAIL", "SKIP"};

/* The status as the headers and hoist-provider(7) spell it (shared with
 * libhoist-providertest, which driver authors' unit tests use). */
#define hc_code(st) hpt_status_name(st)

/* One report line.  The message may quote the driver, so it is redacted. */
static void hc_report(hc *c, int v, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void hc_report(hc *c, int v, const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    char *safe = hoist_redact(msg);
    printf("%s %s: %s\n", verdicts[v], check, safe);
    fflush(stdout);
    free(safe);
    free(msg);
    if (v == V_PASS)
        c->npass++;
    else if (v == V_FAIL)
        c->nfail++;
    else
        c->nskip++;
}

/* "QUOTA (detail)" or "QUOTA (no detail reported through host->fail())". */
static char *hc_outcome(const hc_call *x)
{
    if (x->st >= 0)
        return hoist_xstrdup(hc_code(x->st));
    return hoist_xasprintf("%s (%s)", hc_code(x->st),
                           x->err ? x->err : "no detail reported through host->fail()");
}

static const char *hc_id(const json_t *outputs)
{
    const char *id = json_string_value(json_object_get(outputs, "id"));
    return id && *id ? id : NULL;
}

/* The core records what an operation returned and hands it back as
 * r->recorded: the outputs, with the secrets under "secrets". */
static json_t *hc_recorded(const hc_call *x)
{
    if (!x->outputs)
        return NULL;
    json_t *rec = json_deep_copy(x->outputs);
    if (x->secrets)
        json_object_set(rec, "secrets", x->secrets);
    return rec;
}

/* Call @fn once with a fresh context, as the core does. */
static void hc_call_op(hc *c, hoist_driver *drv, hoist_op_fn fn, const char *what,
                       const hoist_resource *r, hoist_flag *cancel, long long deadline_ms,
                       hc_call *out)
{
    (void)c;
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, drv, what);
    ctx.cancel = cancel;
    ctx.deadline_ms = deadline_ms;
    hoist_result res = {.struct_size = sizeof res};
    long long t0 = hoist_now_ms();
    out->st = fn(drv->prov, &ctx, r, &res);
    out->ms = hoist_now_ms() - t0;
    out->outputs = res.outputs;
    out->secrets = res.secrets;
    out->poll_ms = res.poll_ms;
    out->shape = NULL;
    if (res.outputs && !json_is_object(res.outputs))
        out->shape = "out->outputs is not a JSON object";
    else if (res.secrets && !json_is_object(res.secrets))
        out->shape = "out->secrets is not a JSON object";
    /* The core registers returned secrets before anything is printed. */
    const char *k;
    json_t *v;
    json_object_foreach(json_is_object(res.secrets) ? res.secrets : NULL, k, v)
        if (json_is_string(v))
            hoist_secret_add(json_string_value(v));
    free(out->err);
    out->err = hoist_xstrdup(hoist_ctx_error(&ctx));
    hoist_ctx_cleanup(&ctx);
}

static void hc_sleep_ms(long long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * Call @fn until it stops answering PENDING or @c->timeout_ms passes,
 * feeding each answer back as r->recorded and honouring the poll hint.
 */
static void hc_converge(hc *c, hoist_driver *drv, hoist_op_fn fn, const char *what,
                        const hoist_resource *tmpl, json_t *recorded, hc_call *out)
{
    memset(out, 0, sizeof *out);
    json_t *rec = json_incref(recorded);
    long long end = hoist_now_ms() + c->timeout_ms;
    for (int polls = 0;; polls++) {
        hoist_resource r = *tmpl;
        r.recorded = rec;
        hc_call_clear(out);
        hc_call_op(c, drv, fn, what, &r, NULL, 0, out);
        out->polls = polls;
        if (out->st != HOIST_PENDING || out->shape)
            break;
        long long now = hoist_now_ms();
        if (now >= end) {
            out->timed_out = 1;
            break;
        }
        if (out->outputs) {
            json_decref(rec);
            rec = hc_recorded(out);
        }
        long long wait = out->poll_ms ? out->poll_ms : 100;
        if (wait > 2000)
            wait = 2000;
        if (wait > end - now)
            wait = end - now;
        hc_sleep_ms(wait);
    }
    json_decref(rec);
}

static void hc_resource(hc *c, hc_kind *k, const char *name, hoist_resource *r)
{
    *r = (hoist_resource){.struct_size = sizeof *r,
                          .project = "conformance",
                          .env = "test",
                          .name = name,
                          .spec = k->spec,
                          .needs = c->needs,
                          .recorded = NULL};
}

/* Describe why a converge did not end READY (or gone), or NULL if it did. */
static char *hc_not_done(const hc_call *x, const char *op)
{
    if (x->shape)
        return hoist_xasprintf("%s: %s", op, x->shape);
    if (x->timed_out)
        return hoist_xasprintf("%s still PENDING after %d polls; it must converge (raise --timeout "
                               "if the cloud is slow)",
                               op, x->polls);
    if (x->st == HOIST_OK)
        return NULL;
    char *o = hc_outcome(x);
    char *m = hoist_xasprintf("%s returned %s after %d polls", op, o, x->polls);
    free(o);
    return m;
}

/* ---- descriptor and tables -------------------------------------------- */

static int hc_semver(const char *v)
{
    int parts = 0;
    const char *p = v;
    while (parts < 3) {
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
        parts++;
        if (parts < 3 && *p++ != '.')
            return 0;
    }
    return *p == '\0' || *p == '-' || *p == '+';
}

static void hc_check_descriptor(hc *c)
{
    const hoist_provider_descriptor *d = c->drv->desc;
    hc_report(c, V_PASS, "load", "%s loaded (ABI %u.%u, host %d.%d)", c->drv->path, d->abi_major,
              d->abi_minor, HOIST_ABI_MAJOR, HOIST_ABI_MINOR);
    if (hc_semver(d->version))
        hc_report(c, V_PASS, "descriptor.version", "\"%s\"", d->version);
    else
        hc_report(c, V_FAIL, "descriptor.version",
                  "\"%s\" is not a semantic version MAJOR.MINOR.PATCH", d->version);
    if (*d->license && !strchr(d->license, '\n'))
        hc_report(c, V_PASS, "descriptor.license", "\"%s\"", d->license);
    else
        hc_report(c, V_FAIL, "descriptor.license", "empty; use an SPDX identifier such as \"MIT\"");
    if (d->description && *d->description)
        hc_report(c, V_PASS, "descriptor.description", "\"%s\"", d->description);
    else
        hc_report(c, V_SKIP, "descriptor.description", "none (optional, shown by hoist providers)");
    const unsigned known = HOIST_CAP_PAUSE_DATABASE | HOIST_CAP_AUTOSCALE | HOIST_CAP_PRIVATE_DB |
                           HOIST_CAP_LOCAL_RUNTIME | HOIST_CAP_DB_POSTGRESQL | HOIST_CAP_DB_MYSQL |
                           HOIST_CAP_DB_REDIS | HOIST_CAP_DB_MONGODB;
    if (d->caps & ~known)
        hc_report(c, V_FAIL, "descriptor.caps", "unknown capability bits 0x%x",
                  d->caps & ~known);
    else {
        char *caps = hoist_caps_string(d->caps);
        hc_report(c, V_PASS, "descriptor.caps", "%s", *caps ? caps : "(none)");
        free(caps);
    }
}

/* Entries beyond this mean a missing terminator, not a schema. */
#define SETTINGS_MAX 512

/* Why settings entry @s (index @i) is malformed, or NULL; @why is scratch. */
static const char *hc_setting_problem(const hoist_setting *all, size_t i, char *why, size_t size)
{
    const hoist_setting *s = &all[i];
    const char *n = s->name;
    if (!*n)
        return "an empty name";
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.')) {
            snprintf(why, size, "'%s': names are made of a-z, 0-9, '_' and '.'", n);
            return why;
        }
    if (n[0] == '.' || n[strlen(n) - 1] == '.' || strstr(n, "..")) {
        snprintf(why, size, "'%s': a dotted name needs a key on each side of every '.'", n);
        return why;
    }
    if (s->type > HOIST_SETTING_LIST) {
        snprintf(why, size, "'%s': type %u is not a HOIST_SETTING_* value", n, s->type);
        return why;
    }
    if (!s->doc || !*s->doc || strchr(s->doc, '\n')) {
        snprintf(why, size, "'%s': doc must be one non-empty line", n);
        return why;
    }
    for (size_t j = 0; j < i; j++)
        if (!strcmp(all[j].name, n)) {
            snprintf(why, size, "'%s' is declared twice", n);
            return why;
        }
    return NULL;
}

/* The settings schema (ABI 1.3): present, terminated and well formed. */
static void hc_check_settings(hc *c)
{
    const hoist_provider_descriptor *d = c->drv->desc;
    const hoist_setting *s = hoist_descriptor_settings(d);
    if (!s) {
        if (d->abi_minor < 3)
            hc_report(c, V_SKIP, "descriptor.settings",
                      "built against ABI %u.%u (no settings schema before 1.3): hoist does not "
                      "check this driver's keys in hoist.yml", d->abi_major, d->abi_minor);
        else
            hc_report(c, V_SKIP, "descriptor.settings",
                      "none declared: hoist does not check this driver's keys in hoist.yml; "
                      "declare them (.settings) so a misspelt key is reported");
        return;
    }
    char why[256];
    hoist_buf names = {0};
    size_t i;
    for (i = 0; i < SETTINGS_MAX && s[i].name; i++) {
        const char *bad = hc_setting_problem(s, i, why, sizeof why);
        if (bad) {
            hc_report(c, V_FAIL, "descriptor.settings", "entry %zu: %s", i, bad);
            hoist_buf_free(&names);
            return;
        }
        hoist_buf_printf(&names, "%s%s", i ? ", " : "", s[i].name);
    }
    if (i == SETTINGS_MAX)
        hc_report(c, V_FAIL, "descriptor.settings",
                  "no terminating {.name = NULL} entry within %d entries", SETTINGS_MAX);
    else
        hc_report(c, V_PASS, "descriptor.settings", "%zu key%s%s%s", i, i == 1 ? "" : "s",
                  i ? ": " : " (it reads no settings)", i ? names.s : "");
    hoist_buf_free(&names);
}

/* Fill k[] from the ops table; report each table's shape. */
static void hc_check_tables(hc *c)
{
    const hoist_provider_ops *ops = c->drv->ops;
    static const char *kinds[K_COUNT] = {"network", "cluster", "registry", "database", "app"};
    static const char *names[K_COUNT] = {"network", "cluster", "web", "main", "web"};
    const void *tables[K_COUNT] = {NULL};
    size_t min_ops = offsetof(hoist_provider_ops, app) + sizeof ops->app;
    if (ops->struct_size < min_ops) {
        hc_report(c, V_FAIL, "ops", "ops->struct_size is %zu, ABI 1.0 needs %zu (set it to "
                  "sizeof the table)", ops->struct_size, min_ops);
        return;
    }
    tables[K_NETWORK] = ops->network;
    tables[K_CLUSTER] = ops->cluster;
    tables[K_REGISTRY] = ops->registry;
    tables[K_DATABASE] = ops->database;
    tables[K_APP] = ops->app;
    c->k[K_NETWORK].min_size = sizeof(hoist_network_ops);
    c->k[K_CLUSTER].min_size = sizeof(hoist_cluster_ops);
    c->k[K_REGISTRY].min_size = sizeof(hoist_registry_ops);
    c->k[K_DATABASE].min_size = sizeof(hoist_database_ops);
    c->k[K_APP].min_size = sizeof(hoist_app_ops);
    hoist_buf offered = {0};
    int bad = 0;
    for (int i = 0; i < K_COUNT; i++) {
        hc_kind *k = &c->k[i];
        k->kind = kinds[i];
        k->name = names[i];
        if (!tables[i])
            continue;
        /* Every sub-table starts with struct_size, ensure, observe, destroy. */
        const hoist_network_ops *t = tables[i];
        k->table_size = t->struct_size;
        if (k->table_size < k->min_size) {
            hc_report(c, V_FAIL, "ops", "%s table: struct_size %zu, ABI 1.0 needs %zu", k->kind,
                      k->table_size, k->min_size);
            bad = 1;
            continue;
        }
        if (!t->ensure || !t->observe || !t->destroy) {
            hc_report(c, V_FAIL, "ops", "%s table lacks %s; ensure, observe and destroy are "
                      "required for every kind offered", k->kind,
                      !t->ensure ? "ensure" : !t->observe ? "observe" : "destroy");
            bad = 1;
            continue;
        }
        k->ensure = t->ensure;
        k->observe = t->observe;
        k->destroy = t->destroy;
        hoist_buf_printf(&offered, "%s%s", offered.len ? ", " : "", k->kind);
    }
    if (!offered.len && !bad)
        hc_report(c, V_FAIL, "ops", "the driver offers no kind of resource");
    else if (!bad)
        hc_report(c, V_PASS, "ops", "offers %s", offered.s);
    hoist_buf_free(&offered);

    const hoist_provider_descriptor *d = c->drv->desc;
    const unsigned dbcaps = HOIST_CAP_DB_POSTGRESQL | HOIST_CAP_DB_MYSQL | HOIST_CAP_DB_REDIS |
                            HOIST_CAP_DB_MONGODB;
    const char *why = NULL;
    if ((d->caps & HOIST_CAP_PAUSE_DATABASE) && !(ops->database && ops->database->pause))
        why = "caps has pause-database but database->pause is NULL";
    else if ((d->caps & HOIST_CAP_LOCAL_RUNTIME) && !ops->app)
        why = "caps has local-runtime but there is no app table";
    else if (ops->database && !(d->caps & dbcaps))
        why = "a database table is offered but caps names no engine (HOIST_CAP_DB_*)";
    else if (!ops->database && (d->caps & dbcaps))
        why = "caps names database engines but there is no database table";
    if (why)
        hc_report(c, V_FAIL, "descriptor.caps.consistent", "%s", why);
    else
        hc_report(c, V_PASS, "descriptor.caps.consistent", "caps agree with the operations offered");
}

static void hc_specs(hc *c)
{
    unsigned caps = c->drv->desc->caps;
    const char *engine = (caps & HOIST_CAP_DB_POSTGRESQL) ? "postgresql"
                         : (caps & HOIST_CAP_DB_MYSQL)    ? "mysql"
                         : (caps & HOIST_CAP_DB_REDIS)    ? "redis"
                                                          : "mongodb";
    c->k[K_NETWORK].spec = json_object();
    c->k[K_CLUSTER].spec = json_pack("{s:s,s:{s:s,s:i,s:i}}", "version", "1.30", "nodes", "type",
                                     "small", "min", 1, "max", 2);
    c->k[K_REGISTRY].spec = json_pack("{s:s}", "app", "web");
    c->k[K_DATABASE].spec = json_pack("{s:s,s:s,s:s,s:s}", "name", "main", "engine", engine,
                                      "mode", "managed", "size", "small");
    c->k[K_APP].spec = json_pack("{s:s,s:s,s:i,s:{s:i,s:i},s:{}}", "name", "web", "image",
                                 "registry.invalid/web:1", "port", 8080, "instances", "min", 1,
                                 "max", 1, "env");
}

/* ---- the main sequence ------------------------------------------------ */

static char *hc_check(const char *kind, const char *what)
{
    return hoist_xasprintf("%s.%s", kind, what);
}

static void hc_ensure_kind(hc *c, hc_kind *k)
{
    hoist_resource r;
    hc_resource(c, k, k->name, &r);
    char *ck = hc_check(k->kind, "ensure");
    hc_call x;
    hc_converge(c, c->drv, k->ensure, k->kind, &r, NULL, &x);
    char *why = hc_not_done(&x, "ensure");
    if (!why && !hc_id(x.outputs))
        why = hoist_xstrdup("ensure returned OK but its outputs have no non-empty string \"id\" "
                            "(the cloud's identifier)");
    if (why) {
        hc_report(c, V_FAIL, ck, "%s", why);
        free(why);
        free(ck);
        hc_call_clear(&x);
        return;
    }
    hc_report(c, V_PASS, ck, "READY after %d polls, id \"%s\"", x.polls, hc_id(x.outputs));
    free(ck);
    k->id = hoist_xstrdup(hc_id(x.outputs));
    k->recorded = hc_recorded(&x);

    ck = hc_check(k->kind, "outputs.public");
    char *dump = json_dumps(x.outputs, JSON_COMPACT | JSON_SORT_KEYS);
    char *red = hoist_redact(dump);
    if (strcmp(dump, red) != 0)
        hc_report(c, V_FAIL, ck, "outputs carry a registered secret; outputs are printed by hoist "
                  "status, so passwords and tokens belong in out->secrets");
    else
        hc_report(c, V_PASS, ck, "outputs carry no secret");
    free(red);
    free(dump);
    free(ck);
    hc_call_clear(&x);

    /* Record it so later kinds see it in r->needs, as in a deployment. */
    json_t *byname = json_object_get(c->needs, k->kind);
    if (!byname) {
        byname = json_object();
        json_object_set_new(c->needs, k->kind, byname);
    }
    json_object_set(byname, k->name, k->recorded);

    struct {
        const char *check;
        json_t *recorded;
        const char *why;
    } again[2] = {
        {"ensure.idempotent", k->recorded,
         "ensure repeated with the recorded outputs must converge on the same object"},
        {"ensure.find_before_create", NULL,
         "ensure repeated without recorded outputs (as after a crash before hoist saved them) "
         "must find the object by name or ownership tags before creating one"},
    };
    for (int i = 0; i < 2; i++) {
        ck = hc_check(k->kind, again[i].check);
        hc_converge(c, c->drv, k->ensure, k->kind, &r, again[i].recorded, &x);
        why = hc_not_done(&x, "the second ensure");
        const char *id2 = hc_id(x.outputs);
        if (why)
            hc_report(c, V_FAIL, ck, "%s", why);
        else if (!id2 || strcmp(id2, k->id) != 0)
            hc_report(c, V_FAIL, ck, "a second object: the first ensure returned id \"%s\", this "
                      "one \"%s\"; %s", k->id, id2 ? id2 : "(none)", again[i].why);
        else
            hc_report(c, V_PASS, ck, "same id \"%s\"", k->id);
        free(why);
        free(ck);
        hc_call_clear(&x);
    }

    ck = hc_check(k->kind, "observe");
    r.recorded = k->recorded;
    hc_call_op(c, c->drv, k->observe, k->kind, &r, NULL, 0, &x);
    const char *oid = hc_id(x.outputs);
    if (x.shape)
        hc_report(c, V_FAIL, ck, "observe: %s", x.shape);
    else if (x.st != HOIST_OK) {
        char *o = hc_outcome(&x);
        hc_report(c, V_FAIL, ck, "observe of the READY object returned %s, expected OK", o);
        free(o);
    } else if (!oid || strcmp(oid, k->id) != 0)
        hc_report(c, V_FAIL, ck, "observe returned id \"%s\", ensure \"%s\"", oid ? oid : "(none)",
                  k->id);
    else
        hc_report(c, V_PASS, ck, "OK, same id");
    free(ck);
    hc_call_clear(&x);
}

/* A URL the core may use: https://, or http:// to this machine only. */
static int hc_endpoint_ok(const char *e)
{
    if (!e || !*e)
        return 0;
    if (strncmp(e, "https://", 8) == 0)
        return e[8] != '\0';
    return strncmp(e, "http://127.", 11) == 0 || strncmp(e, "http://localhost", 16) == 0 ||
           strncmp(e, "http://[::1]", 12) == 0;
}

static int hc_empty(const char *s)
{
    return !s || !*s;
}

static int hc_is_secret(const char *s)
{
    char *red = hoist_redact(s);
    int masked = strcmp(red, s) != 0;
    free(red);
    return masked;
}

/* Prepare a context and resource for a credentials/connection call. */
typedef struct hc_side {
    hoist_ctx ctx;
    hoist_resource r;
    char *check;
} hc_side;

static int hc_side_begin(hc *c, hc_kind *k, int has_fn, const char *what, hc_side *s)
{
    s->check = hc_check(k->kind, what);
    if (!k->ensure || !k->recorded) {
        hc_report(c, V_SKIP, s->check, k->ensure ? "no READY %s to ask" : "%s not offered",
                  k->kind);
        free(s->check);
        return 0;
    }
    if (!has_fn) {
        hc_report(c, V_SKIP, s->check, "%s->%s is NULL (unsupported)", k->kind, what);
        free(s->check);
        return 0;
    }
    hoist_ctx_init(&s->ctx, c->drv, k->kind);
    hc_resource(c, k, k->name, &s->r);
    s->r.recorded = k->recorded;
    return 1;
}

static void hc_side_end(hc_side *s)
{
    hoist_ctx_cleanup(&s->ctx);
    free(s->check);
}

static void hc_side_error(hc *c, hc_side *s, hoist_status st)
{
    const char *e = hoist_ctx_error(&s->ctx);
    hc_report(c, V_FAIL, s->check, "returned %s (%s) for a READY object", hc_code(st),
              e ? e : "no detail reported through host->fail()");
}

static void hc_check_credentials(hc *c)
{
    const hoist_provider_ops *ops = c->drv->ops;
    hc_side s;
    if (hc_side_begin(c, &c->k[K_CLUSTER], ops->cluster && ops->cluster->credentials,
                      "credentials", &s)) {
        hoist_cluster_credentials cr = {.struct_size = sizeof cr};
        hoist_status st = ops->cluster->credentials(c->drv->prov, &s.ctx, &s.r, &cr);
        if (cr.token)
            hoist_secret_add(cr.token); /* as the core does, before any report */
        if (st != HOIST_OK)
            hc_side_error(c, &s, st);
        else if (!hc_endpoint_ok(cr.endpoint))
            hc_report(c, V_FAIL, s.check, "endpoint %s%s%s: it must be https://HOST[:PORT] (or "
                      "http:// to 127.0.0.1 for a local cluster)", hc_empty(cr.endpoint) ? "is empty" : "\"",
                      hc_empty(cr.endpoint) ? "" : cr.endpoint, hc_empty(cr.endpoint) ? "" : "\" is not usable");
        else if (hc_empty(cr.token))
            hc_report(c, V_FAIL, s.check, "token is empty: the core needs a bearer token");
        else
            hc_report(c, V_PASS, s.check, "endpoint %s, token set%s", cr.endpoint,
                      cr.ca_pem ? ", CA bundle" : "");
        free(cr.endpoint);
        free(cr.ca_pem);
        free(cr.token);
        hc_side_end(&s);
    }
    if (hc_side_begin(c, &c->k[K_REGISTRY], ops->registry && ops->registry->credentials,
                      "credentials", &s)) {
        hoist_registry_credentials cr = {.struct_size = sizeof cr};
        hoist_status st = ops->registry->credentials(c->drv->prov, &s.ctx, &s.r, &cr);
        if (st != HOIST_OK)
            hc_side_error(c, &s, st);
        else if (!hc_endpoint_ok(cr.endpoint))
            hc_report(c, V_FAIL, s.check, "endpoint \"%s\" is not https://HOST[:PORT] (or http:// "
                      "to 127.0.0.1)", cr.endpoint ? cr.endpoint : "");
        else if (hc_empty(cr.repository))
            hc_report(c, V_FAIL, s.check, "repository is empty: the path to push to is required");
        else if (!hc_empty(cr.password) && !hc_is_secret(cr.password))
            hc_report(c, V_FAIL, s.check, "the password is not registered as a secret (call "
                      "host->secret() or return it in out->secrets)");
        else
            hc_report(c, V_PASS, s.check, "endpoint %s, repository %s%s", cr.endpoint,
                      cr.repository, cr.password ? ", login" : ", anonymous");
        free(cr.endpoint);
        free(cr.repository);
        free(cr.username);
        free(cr.password);
        hc_side_end(&s);
    }
    if (hc_side_begin(c, &c->k[K_DATABASE], ops->database && ops->database->connection,
                      "connection", &s)) {
        hoist_db_connection cn = {.struct_size = sizeof cn};
        hoist_status st = ops->database->connection(c->drv->prov, &s.ctx, &s.r, &cn);
        const char *missing = hc_empty(cn.host) ? "host" : hc_empty(cn.user) ? "user"
                              : hc_empty(cn.password) ? "password"
                              : hc_empty(cn.database) ? "database" : NULL;
        if (st != HOIST_OK)
            hc_side_error(c, &s, st);
        else if (missing)
            hc_report(c, V_FAIL, s.check, "%s is missing: applications need host, port, user, "
                      "password and database", missing);
        else if (cn.port < 1 || cn.port > 65535)
            hc_report(c, V_FAIL, s.check, "port %d is not 1..65535", cn.port);
        else if (!hc_is_secret(cn.password))
            hc_report(c, V_FAIL, s.check, "the password is not registered as a secret (call "
                      "host->secret() or return it in out->secrets from ensure)");
        else
            hc_report(c, V_PASS, s.check, "%s@%s:%d/%s, password registered as a secret%s",
                      cn.user, cn.host, cn.port, cn.database, cn.tls ? ", TLS" : "");
        free(cn.host);
        free(cn.user);
        free(cn.password);
        free(cn.database);
        hc_side_end(&s);
    }
}

/* observe @r once and require HOIST_E_NOTFOUND; @fail has one %s: the outcome. */
static void hc_expect_notfound(hc *c, hc_kind *k, const hoist_resource *r, const char *what,
                               const char *pass, const char *fail)
{
    hc_call x = {0};
    char *ck = hc_check(k->kind, what);
    hc_call_op(c, c->drv, k->observe, k->kind, r, NULL, 0, &x);
    if (x.st == HOIST_E_NOTFOUND)
        hc_report(c, V_PASS, ck, "%s", pass);
    else {
        char *o = hc_outcome(&x);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        hc_report(c, V_FAIL, ck, fail, o);
#pragma GCC diagnostic pop
        free(o);
    }
    free(ck);
    hc_call_clear(&x);
}

static void hc_destroy_kind(hc *c, hc_kind *k)
{
    hoist_resource r;
    hc_resource(c, k, k->name, &r);
    char *ck = hc_check(k->kind, "destroy");
    hc_call x;
    hc_converge(c, c->drv, k->destroy, k->kind, &r, k->recorded, &x);
    char *why = hc_not_done(&x, "destroy");
    if (why)
        hc_report(c, V_FAIL, ck, "%s", why);
    else
        hc_report(c, V_PASS, ck, "gone after %d polls", x.polls);
    free(why);
    free(ck);
    hc_call_clear(&x);

    ck = hc_check(k->kind, "destroy.again");
    hc_converge(c, c->drv, k->destroy, k->kind, &r, k->recorded, &x);
    why = hc_not_done(&x, "a second destroy");
    if (why)
        hc_report(c, V_FAIL, ck, "%s; destroying what is already gone must succeed", why);
    else
        hc_report(c, V_PASS, ck, "OK");
    free(why);
    free(ck);
    hc_call_clear(&x);

    r.recorded = k->recorded;
    hc_expect_notfound(c, k, &r, "observe.gone", "NOTFOUND", "observe after destroy returned %s; "
                       "an object that is gone is HOIST_E_NOTFOUND");
}

/* ---- error mapping ---------------------------------------------------- */

static void hc_check_unknown(hc *c, hc_kind *k)
{
    hoist_resource r;
    char name[64];
    snprintf(name, sizeof name, "hc-unknown-%s", k->kind);
    hc_resource(c, k, name, &r);
    json_t *rec = json_pack("{s:s}", "id", "hoist-conformance-no-such-object");
    r.recorded = rec;
    hc_expect_notfound(c, k, &r, "observe.unknown", "NOTFOUND for a recorded id that does not exist",
                       "observe with a recorded id that does not exist returned %s; expected "
                       "HOIST_E_NOTFOUND (verify the recorded id still exists)");
    hc_call x = {0};
    char *ck = hc_check(k->kind, "destroy.unknown");
    hc_converge(c, c->drv, k->destroy, k->kind, &r, rec, &x);
    char *why = hc_not_done(&x, "destroy");
    if (why)
        hc_report(c, V_FAIL, ck, "%s for a recorded id that does not exist; \"was never there\" "
                  "is success", why);
    else
        hc_report(c, V_PASS, ck, "OK for a recorded id that does not exist");
    free(why);
    free(ck);
    hc_call_clear(&x);
    json_decref(rec);
}

/* The failure each kind is asked to simulate through `conformance_fail`. */
static const struct {
    const char *word;
    hoist_status st;
} hc_injected[K_COUNT] = {
    {"auth", HOIST_E_AUTH},         {"quota", HOIST_E_QUOTA},
    {"invalid", HOIST_E_INVALID},   {"transient", HOIST_E_TRANSIENT},
    {"conflict", HOIST_E_CONFLICT},
};

/*
 * The optional conformance hook: a driver that honours the setting
 *   conformance_fail: { "<kind>/<name>": "auth|quota|invalid|transient|conflict" }
 * makes that resource's ensure fail with that status and a detail.  A second
 * instance of the driver gets the hook, so the first keeps its own state.
 */
static void hc_check_injected(hc *c)
{
    hoist_driver *d2 = NULL;
    char *err = NULL;
    json_t *s2 = json_deep_copy(c->settings);
    json_t *inj = json_object();
    for (int i = 0; i < K_COUNT; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s/hc-fail", c->k[i].kind);
        json_object_set_new(inj, key, json_string(hc_injected[i].word));
    }
    json_object_set_new(s2, "conformance_fail", inj);
    if (hoist_loader_open(c->loader, c->name, &d2, &err) != HOIST_OK ||
        hoist_driver_init(d2, s2, c->state_dir, &err) != HOIST_OK) {
        hc_report(c, V_FAIL, "errors.injected", "a second instance with conformance_fail set "
                  "could not start: %s", err);
        free(err);
        hoist_driver_free(d2);
        json_decref(s2);
        return;
    }
    for (int i = 0; i < K_COUNT; i++) {
        hc_kind *k = &c->k[i];
        if (!k->ensure)
            continue;
        /* Resolve the second instance's own table for this kind. */
        const hoist_provider_ops *o2 = d2->ops;
        const void *tables[K_COUNT] = {o2->network, o2->cluster, o2->registry, o2->database, o2->app};
        const hoist_network_ops *t = tables[i];
        if (!t)
            continue;
        hoist_resource r;
        hc_resource(c, k, "hc-fail", &r);
        hc_call x = {0};
        char *ck = hc_check(k->kind, "errors.injected");
        hc_call_op(c, d2, t->ensure, k->kind, &r, NULL, 0, &x);
        if (x.st == hc_injected[i].st && x.err)
            hc_report(c, V_PASS, ck, "%s (%s)", hc_code(x.st), x.err);
        else if (x.st == hc_injected[i].st)
            hc_report(c, V_FAIL, ck, "returned %s but reported no detail through host->fail()",
                      hc_code(x.st));
        else if (x.st >= 0) {
            hc_report(c, V_SKIP, ck, "the driver ignores the optional conformance_fail hook "
                      "(see hoist-provider(7))");
            hc_call_clear(&x);
            hc_converge(c, d2, t->destroy, k->kind, &r, NULL, &x);
        } else {
            char *o = hc_outcome(&x);
            hc_report(c, V_FAIL, ck, "conformance_fail asked for '%s' (%s) but ensure returned %s",
                      hc_injected[i].word, hc_code(hc_injected[i].st), o);
            free(o);
        }
        free(ck);
        hc_call_clear(&x);
    }
    hoist_driver_free(d2);
    json_decref(s2);
}

/* ensure with a context that is already cancelled (or past its deadline). */
static void hc_check_prompt(hc *c, const char *check, int use_deadline)
{
    hc_kind *k = NULL;
    for (int i = 0; i < K_COUNT && !k; i++)
        if (c->k[i].ensure)
            k = &c->k[i];
    if (!k)
        return;
    hoist_resource r;
    hc_resource(c, k, use_deadline ? "hc-deadline" : "hc-cancel", &r);
    hoist_flag cancel = !use_deadline;
    hc_call x = {0};
    hc_call_op(c, c->drv, k->ensure, k->kind, &r, &cancel, use_deadline ? hoist_now_ms() - 1 : 0, &x);
    const char *cause = use_deadline ? "a context past its deadline" : "a cancelled context";
    if (x.ms > PROMPT_MS)
        hc_report(c, V_FAIL, check, "%s ensure with %s took %lld ms (limit %d): check "
                  "host->cancelled() in every wait", k->kind, cause, x.ms, PROMPT_MS);
    else if (x.st == HOIST_E_CANCELLED || x.st == HOIST_PENDING)
        hc_report(c, V_PASS, check, "%s ensure with %s returned %s in %lld ms", k->kind, cause,
                  hc_code(x.st), x.ms);
    else {
        char *o = hc_outcome(&x);
        hc_report(c, V_FAIL, check, "%s ensure with %s returned %s; expected CANCELLED or PENDING "
                  "(check host->cancelled() before starting work)", k->kind, cause, o);
        free(o);
    }
    hc_call_clear(&x);
    hc_converge(c, c->drv, k->destroy, k->kind, &r, NULL, &x);
    char *why = hc_not_done(&x, "destroy");
    if (why) {
        char *ck = hoist_xasprintf("%s.cleanup", check);
        hc_report(c, V_FAIL, ck, "%s", why);
        free(ck);
    }
    free(why);
    hc_call_clear(&x);
}

/* ---- thread safety ---------------------------------------------------- */

typedef struct hc_job {
    hc *c;
    hc_kind *k;
    char name[32];
    pthread_barrier_t *start;
    char *id;
    char *error; /* first problem, or NULL */
} hc_job;

static void *hc_job_run(void *arg)
{
    hc_job *j = arg;
    hoist_resource r;
    hc_resource(j->c, j->k, j->name, &r);
    hc_call x = {0};
    pthread_barrier_wait(j->start);
    hc_converge(j->c, j->c->drv, j->k->ensure, j->k->kind, &r, NULL, &x);
    char *why = hc_not_done(&x, "ensure");
    json_t *rec = why ? NULL : hc_recorded(&x);
    if (!why && !hc_id(x.outputs))
        why = hoist_xstrdup("ensure gave no id");
    if (!why)
        j->id = hoist_xstrdup(hc_id(x.outputs));
    hc_call_clear(&x);
    if (!why) {
        r.recorded = rec;
        hc_call_op(j->c, j->c->drv, j->k->observe, j->k->kind, &r, NULL, 0, &x);
        if (x.st != HOIST_OK || !hc_id(x.outputs) || strcmp(hc_id(x.outputs), j->id) != 0)
            why = hoist_xasprintf("observe returned %s with id \"%s\", ensure id \"%s\"",
                                  hc_code(x.st), hc_id(x.outputs) ? hc_id(x.outputs) : "",
                                  j->id);
        hc_call_clear(&x);
    }
    r.recorded = NULL;
    hc_converge(j->c, j->c->drv, j->k->destroy, j->k->kind, &r, rec, &x);
    if (!why)
        why = hc_not_done(&x, "destroy");
    hc_call_clear(&x);
    json_decref(rec);
    j->error = why;
    return NULL;
}

static void hc_check_parallel(hc *c)
{
    hc_job jobs[K_COUNT * PAR_PER_KIND];
    pthread_t th[K_COUNT * PAR_PER_KIND];
    size_t n = 0;
    for (int i = 0; i < K_COUNT; i++)
        for (int p = 0; c->k[i].ensure && p < PAR_PER_KIND; p++) {
            jobs[n] = (hc_job){.c = c, .k = &c->k[i]};
            snprintf(jobs[n].name, sizeof jobs[n].name, "hc-par%d", p);
            n++;
        }
    if (!n)
        return;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    size_t started = 0;
    for (size_t i = 0; i < n; i++) {
        jobs[i].start = &start;
        if (pthread_create(&th[i], NULL, hc_job_run, &jobs[i]) != 0) {
            fprintf(stderr, "hoist-conformance: cannot start thread %zu\n", i);
            abort(); /* the barrier would wait forever */
        }
        started++;
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    char *problem = NULL;
    for (size_t i = 0; i < n && !problem; i++) {
        if (jobs[i].error)
            problem = hoist_xasprintf("%s %s: %s", jobs[i].k->kind, jobs[i].name, jobs[i].error);
        for (size_t j = 0; j < i && !problem; j++)
            if (jobs[i].k == jobs[j].k && jobs[i].id && jobs[j].id &&
                strcmp(jobs[i].id, jobs[j].id) == 0)
                problem = hoist_xasprintf("%s %s and %s got the same id \"%s\"", jobs[i].k->kind,
                                          jobs[j].name, jobs[i].name, jobs[i].id);
    }
    if (problem)
        hc_report(c, V_FAIL, "parallel.ensure", "%s (operations run from %zu threads at once; "
                  "protect shared driver state with a mutex)", problem, n);
    else
        hc_report(c, V_PASS, "parallel.ensure", "%zu resources ensured, observed and destroyed "
                  "from %zu threads at once", n, n);
    free(problem);
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].id);
        free(jobs[i].error);
    }
}

/* ---- main ------------------------------------------------------------- */

static int hc_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void usage(FILE *fp)
{
    fputs("usage: hoist-conformance DRIVER [--settings FILE] [--provider-dir DIR]\n"
          "                         [--timeout SECONDS] [-v]\n\n"
          "Loads DRIVER (a name found in the provider search path, or a path to\n"
          "NAME.la / NAME.so) through hoist's loader and checks it against the\n"
          "provider ABI contract: descriptor, ensure/observe/destroy for every kind\n"
          "offered (READY, idempotent, find-before-create, NOTFOUND after destroy,\n"
          "destroy twice), error mapping, credentials and connection shapes, secrets,\n"
          "thread safety, cancellation and deadlines.  One line per check:\n"
          "PASS, FAIL or SKIP with the reason.\n\n"
          "  --settings FILE     the environment settings for init (JSON, or YAML\n"
          "                      like an environment of hoist.yml); default {}\n"
          "  --provider-dir DIR  look for DRIVER in DIR first\n"
          "  --timeout SECONDS   how long a PENDING resource may take (default 60)\n"
          "  -v                  show the driver's log lines\n\n"
          "Exit status: 0 every check passed or was skipped, 1 a check failed,\n"
          "2 usage error.  See hoist-provider(7).\n",
          fp);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"settings", required_argument, NULL, 's'},
        {"provider-dir", required_argument, NULL, 'd'},
        {"timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *settings_path = NULL, *provider_dir = NULL;
    double timeout_s = 60;
    int verbose = 0, ch;
    while ((ch = getopt_long(argc, argv, "s:d:t:vh", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 's': settings_path = optarg; break;
        case 'd': provider_dir = optarg; break;
        case 't':
            timeout_s = strtod(optarg, &end);
            if (*end || timeout_s <= 0) {
                fprintf(stderr, "hoist-conformance: --timeout takes seconds, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    hoist_log_set_level(verbose ? HOIST_LOG_DEBUG_ : HOIST_LOG_ERROR_);

    hc c = {.timeout_ms = (long long)(timeout_s * 1000)};
    char *err = NULL;
    c.settings = settings_path ? hc_settings_load(settings_path, &err) : json_object();
    if (!c.settings) {
        fprintf(stderr, "hoist-conformance: %s\n", err);
        free(err);
        return 2;
    }
    /* A path names its directory and module: build/providers/null/null.la. */
    const char *arg = argv[optind];
    char *dir = NULL, *name = hoist_xstrdup(arg);
    const char *slash = strrchr(arg, '/');
    if (slash) {
        dir = hoist_xstrndup(arg, (size_t)(slash - arg));
        free(name);
        name = hoist_xstrdup(slash + 1);
        char *dot = strrchr(name, '.');
        if (dot && (strcmp(dot, ".la") == 0 || strcmp(dot, ".so") == 0))
            *dot = '\0';
    }
    c.name = name;
    c.loader = hoist_loader_new(dir ? dir : provider_dir);
    c.needs = json_object();
    const char *tmpdir = getenv("TMPDIR");
    c.state_dir = hoist_xasprintf("%s/hoist-conformance-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int rc = 1, have_dir = mkdtemp(c.state_dir) != NULL;
    if (!have_dir) {
        fprintf(stderr, "hoist-conformance: cannot create %s: %s\n", c.state_dir,
                hoist_strerror(errno));
        goto cleanup;
    }
    printf("hoist-conformance: driver '%s'\n", name);
    if (hoist_loader_open(c.loader, name, &c.drv, &err) != HOIST_OK) {
        hc_report(&c, V_FAIL, "load", "%s", err);
        goto summary;
    }
    hc_check_descriptor(&c);
    hc_check_settings(&c);
    if (hoist_driver_init(c.drv, c.settings, c.state_dir, &err) != HOIST_OK) {
        hc_report(&c, V_FAIL, "init", "%s", err);
        goto summary;
    }
    hc_report(&c, V_PASS, "init", "initialised with %s", settings_path ? settings_path : "{}");
    hc_check_tables(&c);
    hc_specs(&c);
    for (int i = 0; i < K_COUNT; i++)
        if (c.k[i].ensure)
            hc_ensure_kind(&c, &c.k[i]);
    hc_check_credentials(&c);
    hc_check_parallel(&c);
    for (int i = 0; i < K_COUNT; i++)
        if (c.k[i].ensure)
            hc_check_unknown(&c, &c.k[i]);
    hc_check_injected(&c);
    hc_check_prompt(&c, "cancel.ensure", 0);
    hc_check_prompt(&c, "deadline.ensure", 1);
    for (int i = K_COUNT - 1; i >= 0; i--)
        if (c.k[i].ensure && c.k[i].recorded)
            hc_destroy_kind(&c, &c.k[i]);
summary:
    printf("summary: %d passed, %d failed, %d skipped\n", c.npass, c.nfail, c.nskip);
    rc = c.nfail ? 1 : 0;
cleanup:
    hoist_driver_free(c.drv);
    for (int i = 0; i < K_COUNT; i++) {
        json_decref(c.k[i].spec);
        json_decref(c.k[i].recorded);
        free(c.k[i].id);
    }
    if (have_dir)
        nftw(c.state_dir, hc_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(c.state_dir);
    free(err);
    json_decref(c.needs);
    json_decref(c.settings);
    hoist_loader_free(c.loader);
    free(dir);
    free(name);
    return rc;
}
