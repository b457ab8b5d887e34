/* plan.c - what would change, and why; env injection for apps. */
#include "plan.h"
#include "driver.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {"no-op", "create", "update", "replace",
                                           "destroy", "pause", "unavailable"};

const char *hoist_action_name(hoist_action a)
{
    return (unsigned)a <= HOIST_ACT_UNAVAILABLE ? action_names[a] : "?";
}

/* ---------------------------------------------------------------- helpers */

typedef struct pf_job {
    size_t n, next;
    pthread_mutex_t mu;
    void (*fn)(size_t, void *);
    void *arg;
} pf_job;

static void *pf_worker(void *vp)
{
    pf_job *j = vp;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n)
            return NULL;
        j->fn(i, j->arg);
    }
}

void hoist_parallel_for(size_t n, int parallelism, void (*fn)(size_t i, void *arg), void *arg)
{
    pf_job j = {.n = n, .fn = fn, .arg = arg};
    pthread_mutex_init(&j.mu, NULL);
    size_t nt = parallelism < 1 ? 1 : (size_t)parallelism;
    if (nt > n)
        nt = n;
    pthread_t *t = hoist_xcalloc(nt ? nt : 1, sizeof *t);
    size_t started = 0;
    for (size_t i = 0; i < nt; i++)
        if (pthread_create(&t[i], NULL, pf_worker, &j) == 0)
            started++;
        else
            break;
    if (!started)
        pf_worker(&j); /* no threads available: do it here */
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    pthread_mutex_destroy(&j.mu);
}

static void diff_rec(const json_t *a, const json_t *b, const char *prefix, json_t *out)
{
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            char *p = *prefix ? hoist_xasprintf("%s.%s", prefix, k) : hoist_xstrdup(k);
            diff_rec(v, json_object_get(b, k), p, out);
            free(p);
        }
        json_object_foreach((json_t *)b, k, v) {
            if (!json_object_get(a, k)) {
                char *p = *prefix ? hoist_xasprintf("%s.%s", prefix, k) : hoist_xstrdup(k);
                json_array_append_new(out, json_string(p));
                free(p);
            }
        }
        return;
    }
    if (!json_equal((json_t *)a, (json_t *)b))
        json_array_append_new(out, json_string(*prefix ? prefix : "(whole spec)"));
}

json_t *hoist_json_diff_paths(const json_t *old, const json_t *new_)
{
    json_t *out = json_array();
    diff_rec(old, new_, "", out);
    return out;
}

char *hoist_url_escape(const char *s)
{
    hoist_buf b = {0};
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            hoist_buf_add(&b, s, 1);
        else
            hoist_buf_printf(&b, "%%%02X", c);
    }
    return hoist_buf_steal(&b);
}

json_t *hoist_recorded_view(const json_t *rec)
{
    if (!rec)
        return NULL;
    json_t *o = json_object_get(rec, "outputs");
    json_t *v = json_is_object(o) ? json_deep_copy(o) : json_object();
    json_t *s = json_object_get(rec, "secrets");
    if (json_is_object(s))
        json_object_set(v, "secrets", s);
    return v;
}

json_t *hoist_needs_from_state(hoist_env_run *er, const hoist_node *n)
{
    json_t *needs = json_object();
    for (size_t i = 0; i < n->n_needs; i++) {
        const hoist_node *d = &er->g->nodes[n->needs[i]];
        json_t *rec = hoist_state_get(er->st, hoist_kind_name(d->kind), d->name);
        json_t *byk = json_object_get(needs, hoist_kind_name(d->kind));
        if (!byk) {
            byk = json_object();
            json_object_set_new(needs, hoist_kind_name(d->kind), byk);
        }
        json_t *o = json_object_get(rec, "outputs");
        json_object_set_new(byk, d->name, o ? json_deep_copy(o) : json_object());
        json_decref(rec);
    }
    return needs;
}

static const char *db_scheme(const char *engine)
{
    if (engine && strcmp(engine, "mysql") == 0)
        return "mysql";
    if (engine && strcmp(engine, "redis") == 0)
        return "redis";
    if (engine && strcmp(engine, "mongodb") == 0)
        return "mongodb";
    return "postgresql";
}

json_t *hoist_app_env(hoist_env_run *er, const hoist_node *n, char **err)
{
    const hoist_app_cfg *app = n->app;
    json_t *env = app && json_is_object(app->env) ? json_deep_copy(app->env) : json_object();
    size_t ndb = 0;
    for (char **d = app ? app->databases : NULL; d && *d; d++)
        ndb++;
    for (size_t i = 0; i < ndb; i++) {
        const char *dbname = app->databases[i];
        long di = hoist_graph_find(er->g, HOIST_KIND_DATABASE, dbname);
        json_t *rec = hoist_state_get(er->st, "database", dbname);
        const char *status = json_string_value(json_object_get(rec, "status"));
        if (di < 0 || !rec || !status || strcmp(status, "ready") != 0) {
            *err = hoist_xasprintf("database '%s' is not ready yet", dbname);
            json_decref(rec);
            json_decref(env);
            return NULL;
        }
        const hoist_node *dn = &er->g->nodes[di];
        json_t *recorded = hoist_recorded_view(rec);
        const char *engine = json_string_value(json_object_get(dn->spec, "engine"));
        hoist_db_connection c = {.struct_size = sizeof c};
        hoist_status st = HOIST_OK;
        if (strcmp(dn->executor, "provider") == 0 &&
            hoist_driver_offers(er->drv, HOIST_KIND_DATABASE, HOIST_OP_CONNECTION)) {
            json_t *needs = hoist_needs_from_state(er, dn);
            hoist_resource r = {.struct_size = sizeof r, .project = er->cfg->project,
                                .env = er->env->name, .name = dbname, .spec = dn->spec,
                                .needs = needs, .recorded = recorded};
            hoist_ctx ctx;
            char *what = hoist_xasprintf("database %s", dbname);
            hoist_ctx_init(&ctx, er->drv, what);
            free(what);
            ctx.cancel = er->cancel;
            /* The door validates the answer: the strings become URLs and
             * environment variables. */
            st = hoist_driver_db_connection(er->drv, &ctx, &r, &c);
            if (st != HOIST_OK)
                *err = hoist_xasprintf("database '%s': cannot get its connection: %s", dbname,
                                       hoist_ctx_error(&ctx) ? hoist_ctx_error(&ctx)
                                                             : hoist_status_name(st));
            hoist_ctx_cleanup(&ctx);
            json_decref(needs);
        } else {
            /* Container databases publish their connection as outputs. */
            json_t *sec = json_object_get(recorded, "secrets");
            c.host = strdup(json_string_value(json_object_get(recorded, "host")) ?: "");
            c.port = (int)json_integer_value(json_object_get(recorded, "port"));
            c.user = strdup(json_string_value(json_object_get(recorded, "user")) ?: "");
            c.database = strdup(json_string_value(json_object_get(recorded, "database")) ?: dbname);
            c.password = strdup(json_string_value(json_object_get(sec, "password")) ?: "");
        }
        json_decref(recorded);
        json_decref(rec);
        if (st == HOIST_OK) {
            char *up = hoist_xstrdup(dbname);
            for (char *p = up; *p; p++)
                *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
            char *eu = hoist_url_escape(c.user), *ep = hoist_url_escape(c.password),
                 *ed = hoist_url_escape(c.database);
            const char *scheme = db_scheme(engine);
            char *url = hoist_xasprintf("%s://%s%s%s@%s:%d/%s", scheme, eu, c.password ? ":" : "",
                                        c.password ? ep : "", c.host ? c.host : "", c.port, ed);
            if (c.password)
                hoist_secret_add(c.password);
            hoist_secret_add(url);
#define SETVAR(suffix, value)                                                                  \
    do {                                                                                       \
        char *k_ = hoist_xasprintf("HOIST_DATABASE_%s_%s", up, suffix);                       \
        json_object_set_new(env, k_, json_string(value));                                      \
        free(k_);                                                                              \
    } while (0)
            char port[16];
            snprintf(port, sizeof port, "%d", c.port);
            SETVAR("HOST", c.host ? c.host : "");
            SETVAR("PORT", port);
            SETVAR("USER", c.user ? c.user : "");
            SETVAR("PASSWORD", c.password ? c.password : "");
            SETVAR("NAME", c.database ? c.database : "");
            SETVAR("URL", url);
#undef SETVAR
            if (ndb == 1)
                json_object_set_new(env, "DATABASE_URL", json_string(url));
            free(url);
            free(eu);
            free(ep);
            free(ed);
            free(up);
        }
        hoist_db_connection_clear(&c);
        if (st != HOIST_OK) {
            json_decref(env);
            return NULL;
        }
    }
    return env;
}

/* ---------------------------------------------------------------- building */

static void item_init(hoist_plan_item *it, const char *kind, const char *name, long node)
{
    memset(it, 0, sizeof *it);
    it->key = hoist_xasprintf("%s/%s", kind, name);
    it->kind = (hoist_kind)hoist_kind_parse(kind);
    it->name = hoist_xstrdup(name);
    it->node = node;
}

static void set_reason(hoist_plan_item *it, hoist_action a, char *reason)
{
    it->action = a;
    free(it->reason);
    it->reason = reason;
}

/* Keys whose change cannot be applied in place (the cloud cannot convert). */
static int needs_replace(hoist_kind kind, json_t *changed)
{
    static const char *const db[] = {"engine", "mode", NULL};
    static const char *const where[] = {"region", NULL};
    const char *const *keys = kind == HOIST_KIND_DATABASE ? db
                              : kind == HOIST_KIND_NETWORK || kind == HOIST_KIND_CLUSTER ? where
                                                                                          : NULL;
    size_t i;
    json_t *v;
    json_array_foreach(changed, i, v) {
        for (const char *const *k = keys; k && *k; k++)
            if (strcmp(json_string_value(v), *k) == 0)
                return 1;
    }
    return 0;
}

/* What a user calls a spec path that hoist records under an internal name. */
static const char *path_label(const char *path)
{
    if (strcmp(path, "env_sha256") == 0)
        return "environment variables";
    if (strcmp(path, "source_digest") == 0)
        return "source files";
    return path;
}

char *hoist_plan_changed_text(const json_t *changed)
{
    hoist_buf b = {0};
    size_t i;
    json_t *v;
    json_array_foreach(changed, i, v) {
        if (i)
            hoist_buf_puts(&b, ", ");
        if (i == 6) {
            hoist_buf_printf(&b, "and %zu more", json_array_size(changed) - 6);
            break;
        }
        hoist_buf_puts(&b, path_label(json_string_value(v)));
    }
    return hoist_buf_steal(&b);
}

/* Desired spec to record for node @n (apps: + env_sha256 if computable). */
static json_t *desired_spec(hoist_env_run *er, const hoist_node *n, int *env_unknown)
{
    json_t *spec = json_deep_copy(n->spec);
    *env_unknown = 0;
    if (n->kind != HOIST_KIND_APP)
        return spec;
    char *err = NULL;
    json_t *env = hoist_app_env(er, n, &err);
    if (env) {
        char *h = hoist_json_sha256(env);
        json_object_set_new(spec, "env_sha256", json_string(h));
        free(h);
        json_decref(env);
    } else {
        *env_unknown = 1; /* a database is not ready: decided at run time */
        free(err);
    }
    return spec;
}

static void finish_hash(hoist_plan_item *it)
{
    it->spec_hash = hoist_json_sha256(it->spec);
}

static void plan_deploy_node(hoist_env_run *er, hoist_plan_item *it, const hoist_node *n)
{
    json_t *rec = hoist_state_get(er->st, hoist_kind_name(n->kind), n->name);
    int env_unknown;
    it->spec = desired_spec(er, n, &env_unknown);
    const char *status = json_string_value(json_object_get(rec, "status"));
    it->recorded_status = hoist_xstrdup(status);
    const char *why = NULL;
    if (env_unknown && rec && json_object_get(json_object_get(rec, "spec"), "env_sha256"))
        json_object_set(it->spec, "env_sha256",
                        json_object_get(json_object_get(rec, "spec"), "env_sha256"));
    finish_hash(it);
    if (!hoist_node_runnable(n, er->drv, &why)) {
        set_reason(it, HOIST_ACT_UNAVAILABLE, hoist_xstrdup(why));
    } else if (!rec) {
        set_reason(it, HOIST_ACT_CREATE, hoist_xstrdup("not deployed yet"));
    } else if (strcmp(status, "create-requested") == 0) {
        set_reason(it, HOIST_ACT_CREATE,
                   hoist_xstrdup("an earlier run was interrupted while creating it"));
    } else if (strcmp(status, "destroy-requested") == 0) {
        set_reason(it, HOIST_ACT_CREATE,
                   hoist_xstrdup("an interrupted destroy left it half-deleted; it is in hoist.yml"));
    } else {
        it->changed = hoist_json_diff_paths(json_object_get(rec, "spec"), it->spec);
        char *keys = hoist_plan_changed_text(it->changed);
        if (json_array_size(it->changed) && needs_replace(n->kind, it->changed))
            set_reason(it, HOIST_ACT_REPLACE,
                       hoist_xasprintf("changed: %s (cannot change in place)", keys));
        else if (json_array_size(it->changed))
            set_reason(it, HOIST_ACT_UPDATE, hoist_xasprintf("changed: %s", keys));
        else if (strcmp(status, "pending") == 0)
            set_reason(it, HOIST_ACT_UPDATE, hoist_xstrdup("was not ready at the last run"));
        else if (strcmp(status, "paused") == 0)
            set_reason(it, HOIST_ACT_UPDATE, hoist_xstrdup("paused: deploy resumes it"));
        else
            set_reason(it, HOIST_ACT_NOOP, hoist_xstrdup("up to date"));
        free(keys);
    }
    json_decref(rec);
}

typedef struct obs_job {
    hoist_env_run *er;
    hoist_plan *p;
} obs_job;

static void observe_one(size_t i, void *arg)
{
    obs_job *j = arg;
    hoist_plan_item *it = &j->p->items[i];
    if (!it->recorded_status || it->action == HOIST_ACT_UNAVAILABLE)
        return;
    const hoist_node *n = it->node >= 0 ? &j->er->g->nodes[it->node] : NULL;
    const hoist_executor *ex = hoist_executor_find(n ? n->executor : "provider");
    if (!ex || (!n && !hoist_driver_offers(j->er->drv, it->kind, HOIST_OP_OBSERVE)))
        return;
    json_t *rec = hoist_state_get(j->er->st, hoist_kind_name(it->kind), it->name);
    json_t *recorded = hoist_recorded_view(rec);
    json_t *needs = n ? hoist_needs_from_state(j->er, n) : json_object();
    json_t *spec = n ? json_incref(n->spec) : json_incref(json_object_get(rec, "spec"));
    if (!spec)
        spec = json_object();
    hoist_resource r = {.struct_size = sizeof r, .project = j->er->cfg->project,
                        .env = j->er->env->name, .name = it->name, .spec = spec,
                        .needs = needs, .recorded = recorded};
    hoist_result out = {.struct_size = sizeof out};
    hoist_ctx ctx;
    char *what = hoist_xasprintf("%s %s", hoist_kind_name(it->kind), it->name);
    hoist_ctx_init(&ctx, j->er->drv, what);
    free(what);
    ctx.cancel = j->er->cancel;
    hoist_node tmp = {.kind = it->kind, .name = it->name, .key = it->key, .executor = "provider",
                      .spec = spec};
    hoist_status st = ex->observe(ex->self, j->er->drv, &ctx, n ? n : &tmp, &r, &out);
    if (st == HOIST_OK)
        it->observed = hoist_xstrdup("ready");
    else if (st == HOIST_PENDING)
        it->observed = hoist_xstrdup("pending");
    else if (st == HOIST_E_NOTFOUND)
        it->observed = hoist_xstrdup("missing");
    else
        it->observed = hoist_xasprintf("error: %s", hoist_ctx_error(&ctx) ? hoist_ctx_error(&ctx)
                                                                          : hoist_status_name(st));
    hoist_ctx_cleanup(&ctx);
    if (st == HOIST_OK || st == HOIST_PENDING)
        it->observed_outputs = out.outputs; /* never secrets: those are out.secrets */
    else
        json_decref(out.outputs);
    json_decref(out.secrets);
    json_decref(spec);
    json_decref(needs);
    json_decref(recorded);
    json_decref(rec);
}

static int cmp_items(const void *a, const void *b)
{
    const hoist_plan_item *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->name, y->name);
}

hoist_plan *hoist_plan_build(hoist_env_run *er, hoist_plan_mode mode, int observe, int parallelism,
                             char **err)
{
    (void)err;
    hoist_plan *p = hoist_xcalloc(1, sizeof *p);
    p->mode = mode;
    char **keys = hoist_state_keys(er->st);
    size_t nkeys = 0;
    while (keys[nkeys])
        nkeys++;
    p->items = hoist_xcalloc(er->g->n + nkeys + 1, sizeof *p->items);
    /* Graph nodes first (deploy), then records the graph does not know. */
    if (mode == HOIST_PLAN_DEPLOY)
        for (size_t i = 0; i < er->g->n; i++) {
            const hoist_node *n = &er->g->nodes[i];
            hoist_plan_item *it = &p->items[p->n++];
            item_init(it, hoist_kind_name(n->kind), n->name, (long)i);
            plan_deploy_node(er, it, n);
        }
    for (size_t k = 0; k < nkeys; k++) {
        json_t *rec = NULL;
        char *slash = strchr(keys[k], '/');
        if (!slash)
            continue;
        *slash = '\0';
        const char *kind = keys[k], *name = slash + 1;
        int ki = hoist_kind_parse(kind);
        long node = ki < 0 ? -1 : hoist_graph_find(er->g, (hoist_kind)ki, name);
        if (ki < 0 || (mode == HOIST_PLAN_DEPLOY && node >= 0))
            continue;
        rec = hoist_state_get(er->st, kind, name);
        hoist_plan_item *it = &p->items[p->n++];
        item_init(it, kind, name, node);
        it->recorded_status = hoist_xstrdup(json_string_value(json_object_get(rec, "status")));
        it->spec = json_incref(json_object_get(rec, "spec"));
        it->spec_hash = hoist_xstrdup(json_string_value(json_object_get(rec, "spec_hash")));
        if (mode == HOIST_PLAN_DEPLOY) {
            set_reason(it, HOIST_ACT_DESTROY, hoist_xstrdup("no longer in hoist.yml"));
        } else if (mode == HOIST_PLAN_DESTROY) {
            set_reason(it, HOIST_ACT_DESTROY, hoist_xasprintf("destroying environment '%s'",
                                                              er->env->name));
        } else if (ki == HOIST_KIND_APP || ki == HOIST_KIND_DATABASE) {
            const hoist_node *n = node >= 0 ? &er->g->nodes[node] : NULL;
            const hoist_executor *ex = n ? hoist_executor_find(n->executor) : NULL;
            int can = ex && (strcmp(ex->name, "provider") != 0
                                 ? ex->pause != NULL
                                 : hoist_driver_offers(er->drv, (hoist_kind)ki, HOIST_OP_PAUSE));
            const char *status = it->recorded_status ? it->recorded_status : "";
            if (strcmp(status, "paused") == 0)
                set_reason(it, HOIST_ACT_NOOP, hoist_xstrdup("already paused"));
            else if (!can)
                set_reason(it, HOIST_ACT_NOOP,
                           hoist_xstrdup(n ? "this provider cannot pause it" : "not in hoist.yml"));
            else
                set_reason(it, HOIST_ACT_PAUSE, hoist_xstrdup("pause requested"));
        } else {
            set_reason(it, HOIST_ACT_NOOP, hoist_xstrdup("only apps and databases pause"));
        }
        json_decref(rec);
    }
    hoist_strv_free(keys);

    if (observe && er->drv) {
        obs_job j = {er, p};
        hoist_parallel_for(p->n, parallelism, observe_one, &j);
        for (size_t i = 0; i < p->n; i++) {
            hoist_plan_item *it = &p->items[i];
            if (mode != HOIST_PLAN_DEPLOY || !it->observed || it->node < 0)
                continue;
            if (strcmp(it->observed, "missing") == 0 &&
                (it->action == HOIST_ACT_NOOP || it->action == HOIST_ACT_UPDATE))
                set_reason(it, HOIST_ACT_CREATE,
                           hoist_xstrdup("recorded, but missing in the cloud (drift)"));
            else if (strcmp(it->observed, "pending") == 0 && it->action == HOIST_ACT_NOOP)
                set_reason(it, HOIST_ACT_UPDATE, hoist_xstrdup("not ready in the cloud"));
        }
    }
    /* An app whose database is (re)created gets a new connection: update it. */
    if (mode == HOIST_PLAN_DEPLOY)
        for (size_t i = 0; i < p->n; i++) {
            hoist_plan_item *it = &p->items[i];
            if (it->kind != HOIST_KIND_APP || it->action != HOIST_ACT_NOOP || it->node < 0)
                continue;
            const hoist_node *n = &er->g->nodes[it->node];
            for (size_t k = 0; k < n->n_needs; k++) {
                const hoist_plan_item *d = &p->items[n->needs[k]];
                if (d->action == HOIST_ACT_CREATE || d->action == HOIST_ACT_REPLACE) {
                    set_reason(it, HOIST_ACT_UPDATE,
                               hoist_xasprintf("%s is (re)created, so its connection changes",
                                               d->key));
                    break;
                }
            }
        }
    /* Graph items keep graph order (indices match nodes); orphans sorted. */
    size_t first_orphan = mode == HOIST_PLAN_DEPLOY ? er->g->n : 0;
    hoist_sort(p->items + first_orphan, p->n - first_orphan, sizeof *p->items, cmp_items);
    return p;
}

void hoist_plan_free(hoist_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        hoist_plan_item *it = &p->items[i];
        free(it->key);
        free(it->name);
        free(it->reason);
        json_decref(it->changed);
        json_decref(it->spec);
        free(it->spec_hash);
        free(it->observed);
        json_decref(it->observed_outputs);
        free(it->recorded_status);
    }
    free(p->items);
    free(p);
}

void hoist_plan_counts(const hoist_plan *p, size_t counts[HOIST_ACT_UNAVAILABLE + 1])
{
    memset(counts, 0, sizeof(size_t) * (HOIST_ACT_UNAVAILABLE + 1));
    for (size_t i = 0; i < p->n; i++)
        counts[p->items[i].action]++;
}

int hoist_plan_has_changes(const hoist_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].action != HOIST_ACT_NOOP)
            return 1;
    return 0;
}

void hoist_plan_print(const hoist_plan *p, FILE *fp, int json, int color)
{
    size_t c[HOIST_ACT_UNAVAILABLE + 1];
    hoist_plan_counts(p, c);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < p->n; i++) {
            const hoist_plan_item *it = &p->items[i];
            json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "resource", it->key, "kind",
                                  hoist_kind_name(it->kind), "name", it->name, "action",
                                  hoist_action_name(it->action), "reason", it->reason);
            if (it->changed)
                json_object_set(o, "changed", it->changed);
            if (it->observed)
                json_object_set_new(o, "observed", json_string(it->observed));
            if (it->recorded_status)
                json_object_set_new(o, "recorded", json_string(it->recorded_status));
            json_array_append_new(arr, o);
        }
        json_t *doc = json_pack("{s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "resources", arr, "summary",
                                "create", (json_int_t)c[HOIST_ACT_CREATE], "update",
                                (json_int_t)c[HOIST_ACT_UPDATE], "replace",
                                (json_int_t)c[HOIST_ACT_REPLACE], "destroy",
                                (json_int_t)c[HOIST_ACT_DESTROY], "pause",
                                (json_int_t)c[HOIST_ACT_PAUSE], "unchanged",
                                (json_int_t)c[HOIST_ACT_NOOP], "unavailable",
                                (json_int_t)c[HOIST_ACT_UNAVAILABLE]);
        char *s = json_dumps(doc, JSON_INDENT(2));
        char *r = hoist_redact(s);
        fprintf(fp, "%s\n", r);
        free(r);
        free(s);
        json_decref(doc);
        return;
    }
    static const struct {
        hoist_action a;
        const char *sym, *col, *title;
    } groups[] = {
        {HOIST_ACT_CREATE, "+", "\033[32m", "to create"},
        {HOIST_ACT_UPDATE, "~", "\033[33m", "to update"},
        {HOIST_ACT_REPLACE, "-/+", "\033[35m", "to replace"},
        {HOIST_ACT_DESTROY, "-", "\033[31m", "to destroy"},
        {HOIST_ACT_PAUSE, "=", "\033[36m", "to pause"},
        {HOIST_ACT_UNAVAILABLE, "!", "\033[31m", "cannot run yet"},
    };
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        if (!c[groups[g].a])
            continue;
        fprintf(fp, "%s (%zu):\n", groups[g].title, c[groups[g].a]);
        for (size_t i = 0; i < p->n; i++) {
            const hoist_plan_item *it = &p->items[i];
            if (it->action != groups[g].a)
                continue;
            char *r = hoist_redact(it->reason ? it->reason : "");
            fprintf(fp, "  %s%-3s%s %-30s %s\n", color ? groups[g].col : "", groups[g].sym,
                    color ? "\033[0m" : "", it->key, r);
            free(r);
        }
    }
    fprintf(fp, "Plan: %zu to create, %zu to update, %zu to destroy", c[HOIST_ACT_CREATE],
            c[HOIST_ACT_UPDATE], c[HOIST_ACT_DESTROY]);
    if (c[HOIST_ACT_REPLACE])
        fprintf(fp, ", %zu to replace", c[HOIST_ACT_REPLACE]);
    if (c[HOIST_ACT_PAUSE])
        fprintf(fp, ", %zu to pause", c[HOIST_ACT_PAUSE]);
    fprintf(fp, ", %zu unchanged.\n", c[HOIST_ACT_NOOP]);
    if (c[HOIST_ACT_UNAVAILABLE])
        fprintf(fp, "%zu resource(s) cannot be deployed by this version of hoist (marked !).\n",
                c[HOIST_ACT_UNAVAILABLE]);
}
