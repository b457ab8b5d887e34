/*
 * run.c - the parallel plan executor.
 *
 * Scheduling is a shared table guarded by one mutex: each item is WAIT
 * (needs not done), READY (may run at next_at), RUNNING, or terminal (DONE,
 * FAILED, SKIPPED).  Workers pick READY items whose next_at has come; a
 * PENDING answer puts the item back as READY with a later next_at instead of
 * sleeping in the worker, so a slow cluster never holds a worker while
 * others could run.  One driver call is one step; state is written after
 * every step, so killing the process at any instant loses at most the
 * answer of the call in flight, which the next run repeats (drivers find
 * their objects by name, so the repeat creates nothing twice).
 */
#include "run.h"
#include "host.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { R_WAIT, R_READY, R_RUNNING, R_DONE, R_FAILED, R_SKIPPED };

/* One worker thread.  Abandoned: its call overran the deadline and grace;
 * the thread is left behind (a thread in foreign code cannot be killed
 * safely) and must touch nothing but this slot and its own item when, if
 * ever, the call returns. */
typedef struct wslot {
    struct run *R;
    pthread_t th;
    int abandoned;
    struct wslot *next;
} wslot;

typedef struct rt {
    int state;
    size_t *waits, n_waits, n_waits_done;
    size_t *deps, n_deps;
    long long next_at, started, deadline;
    int calls, polls, retries;
    int phase;            /* replace: 0 = destroying the old one, 1 = creating */
    json_t *outputs;      /* once DONE: what dependents receive */
    json_t *exec_spec;    /* the spec handed to the executor (apps: with env) */
    char *msg;
    struct wslot *by;     /* the worker running it (RUNNING only) */
    int abandoned;        /* its call was given up (see wslot) */
} rt;

typedef struct run {
    hoist_env_run *er;
    hoist_plan *p;
    const hoist_run_opts *o;
    rt *r;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t left;          /* items not yet terminal */
    int alive;            /* worker threads still looping */
    int stopping;
    hoist_flag cancel;    /* cancels calls in flight (after the grace period) */
    hoist_run_summary *sum;
    long long timeout_ms[HOIST_KIND_COUNT_];
    hoist_run_opts opts;  /* with defaults applied; R->o points here */
    wslot *slots;         /* every worker started, newest first */
    size_t abandoned;     /* calls given up */
} run;

int hoist_run_timeouts(json_t *settings, long long t[HOIST_KIND_COUNT_], char **err)
{
    for (int k = 0; k < HOIST_KIND_COUNT_; k++)
        t[k] = 20 * 60 * 1000LL;
    t[HOIST_KIND_CLUSTER] = 45 * 60 * 1000LL;
    t[HOIST_KIND_DATABASE] = 60 * 60 * 1000LL;
    t[HOIST_KIND_APP] = 10 * 60 * 1000LL;
    json_t *to = json_object_get(settings, "timeouts");
    const char *k;
    json_t *v;
    json_object_foreach(to, k, v) {
        int ki = hoist_kind_parse(k);
        /* YAML scalars may arrive as strings ("0.5"): accept numeric text. */
        double secs = -1;
        if (json_is_number(v))
            secs = json_number_value(v);
        else if (json_is_string(v)) {
            char *end;
            secs = strtod(json_string_value(v), &end);
            if (*end || end == json_string_value(v))
                secs = -1;
        }
        if (ki < 0 || secs <= 0) {
            *err = hoist_xasprintf("timeouts.%s: expected a kind (network, cluster, registry, "
                                   "image, database, app) with a positive number of seconds", k);
            return -1;
        }
        t[ki] = (long long)(secs * 1000);
    }
    return 0;
}

static void add_idx(size_t **v, size_t *n, size_t x)
{
    *v = hoist_xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = x;
}

static int is_destroy(const hoist_plan_item *it)
{
    return it->action == HOIST_ACT_DESTROY;
}

/* Destroys run in reverse dependency order.  The kind enum is a topological
 * order of the graph (network < cluster < registry < image < database < app),
 * so for records without a graph node a higher kind goes first. */
static void build_waits(run *R)
{
    hoist_plan *p = R->p;
    hoist_graph *g = R->er->g;
    long *node_item = hoist_xcalloc(g->n + 1, sizeof *node_item);
    for (size_t i = 0; i < g->n; i++)
        node_item[i] = -1;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].node >= 0)
            node_item[p->items[i].node] = (long)i;
    for (size_t i = 0; i < p->n; i++) {
        hoist_plan_item *it = &p->items[i];
        if (p->mode == HOIST_PLAN_PAUSE)
            continue;
        if (!is_destroy(it)) {
            const hoist_node *n = &g->nodes[it->node];
            for (size_t k = 0; k < n->n_needs; k++)
                if (node_item[n->needs[k]] >= 0)
                    add_idx(&R->r[i].waits, &R->r[i].n_waits, (size_t)node_item[n->needs[k]]);
            continue;
        }
        for (size_t j = 0; j < p->n; j++) {
            hoist_plan_item *o = &p->items[j];
            if (j == i || !is_destroy(o))
                continue;
            int after;
            if (it->node >= 0 && o->node >= 0) {
                /* both known: wait for what needs us */
                const hoist_node *n = &g->nodes[it->node];
                after = 0;
                for (size_t k = 0; k < n->n_needed_by; k++)
                    after |= n->needed_by[k] == (size_t)o->node;
            } else {
                after = o->kind > it->kind;
            }
            if (after)
                add_idx(&R->r[i].waits, &R->r[i].n_waits, j);
        }
    }
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < R->r[i].n_waits; k++)
            add_idx(&R->r[R->r[i].waits[k]].deps, &R->r[R->r[i].waits[k]].n_deps, i);
    free(node_item);
}

static void emit(run *R, size_t i, const char *phase, const char *status, long long dur, int detail,
                 const char *msg)
{
    if (R->o->ev)
        hoist_events_emit(R->o->ev, R->p->items[i].key, phase, status, dur, detail,
                          msg ? "%s" : NULL, msg);
}

/* Caller holds mu.  Mark @i terminal and release or skip its dependents. */
static void finish(run *R, size_t i, int state, char *msg)
{
    rt *t = &R->r[i];
    t->state = state;
    free(t->msg);
    t->msg = msg;
    R->left--;
    const hoist_plan_item *it = &R->p->items[i];
    long long dur = t->started ? hoist_now_ms() - t->started : -1;
    if (state == R_DONE) {
        switch (it->action) {
        case HOIST_ACT_NOOP: R->sum->unchanged++; break;
        case HOIST_ACT_CREATE: R->sum->created++; break;
        case HOIST_ACT_DESTROY: R->sum->destroyed++; break;
        case HOIST_ACT_PAUSE: R->sum->paused++; break;
        default: R->sum->changed++; break;
        }
        if (it->action != HOIST_ACT_NOOP)
            emit(R, i, hoist_action_name(it->action),
                 it->action == HOIST_ACT_DESTROY ? "destroyed"
                 : it->action == HOIST_ACT_PAUSE ? "paused" : "ready", dur, 0, NULL);
    } else if (state == R_FAILED) {
        R->sum->failed++;
        emit(R, i, hoist_action_name(it->action), "failed", dur, 0, msg);
    } else {
        R->sum->skipped++;
        emit(R, i, hoist_action_name(it->action), "skipped", -1, 0, msg);
    }
    for (size_t k = 0; k < t->n_deps; k++) {
        size_t d = t->deps[k];
        if (R->r[d].state != R_WAIT)
            continue;
        if (state == R_DONE) {
            if (++R->r[d].n_waits_done == R->r[d].n_waits)
                R->r[d].state = R_READY;
        } else {
            finish(R, d, R_SKIPPED,
                   hoist_xasprintf("needs %s, which %s", it->key,
                                   state == R_FAILED ? "failed" : "was skipped"));
        }
    }
}

static json_t *needs_json(run *R, size_t i)
{
    json_t *needs = json_object();
    rt *t = &R->r[i];
    pthread_mutex_lock(&R->mu);
    for (size_t k = 0; k < t->n_waits; k++) {
        const hoist_plan_item *d = &R->p->items[t->waits[k]];
        if (is_destroy(d))
            continue;
        json_t *byk = json_object_get(needs, hoist_kind_name(d->kind));
        if (!byk) {
            byk = json_object();
            json_object_set_new(needs, hoist_kind_name(d->kind), byk);
        }
        json_t *o = R->r[t->waits[k]].outputs;
        json_object_set_new(byk, d->name, o ? json_deep_copy(o) : json_object());
    }
    pthread_mutex_unlock(&R->mu);
    return needs;
}

static void register_secrets(json_t *sec)
{
    const char *k;
    json_t *v;
    json_object_foreach(sec, k, v) if (json_is_string(v)) hoist_secret_add(json_string_value(v));
}

static void rehash(hoist_plan_item *it)
{
    free(it->spec_hash);
    it->spec_hash = hoist_json_sha256(it->spec);
}

/* The build step and start command an app runs, resolved by the core so
 * that every runtime agrees (drivers cannot link libhoist): written into
 * the executor's spec as build.command and command when the app does not
 * set them.  Like source_dir, not part of the hashed spec: they follow
 * from the source, whose digest already is. */
static void exec_spec_defaults(json_t *spec, const hoist_app_cfg *app)
{
    json_t *build = json_object_get(spec, "build");
    json_t *step = json_object_get(build, "command") ? NULL : hoist_app_build_step(app);
    if (step) {
        if (!json_is_object(build)) {
            build = json_object();
            json_object_set_new(spec, "build", build);
        }
        json_object_set_new(build, "command", step);
    }
    json_t *cmd = json_object_get(spec, "command") ? NULL : hoist_app_start_command(app);
    if (cmd)
        json_object_set_new(spec, "command", cmd);
}

/*
 * One driver call for item @i (mu not held).  Returns the call's status;
 * *outputs gets what dependents should see once it is OK; *poll_ms the hint.
 * Errors are described in *msg.
 */
static hoist_status step(run *R, size_t i, json_t **outputs, unsigned *poll_ms, char **msg)
{
    hoist_env_run *er = R->er;
    hoist_plan_item *it = &R->p->items[i];
    rt *t = &R->r[i];
    const hoist_node *n = it->node >= 0 ? &er->g->nodes[it->node] : NULL;
    const char *kind = hoist_kind_name(it->kind);
    const hoist_executor *ex = hoist_executor_find(n ? n->executor : "provider");
    hoist_node tmp = {.kind = it->kind, .name = it->name, .key = it->key, .executor = "provider"};
    char *err = NULL;
    hoist_status st = HOIST_OK;
    json_t *rec = hoist_state_get(er->st, kind, it->name);
    json_t *recorded = hoist_recorded_view(rec);
    json_t *needs = needs_json(R, i);
    hoist_result out = {.struct_size = sizeof out};
    hoist_ctx ctx;
    char *what = hoist_xasprintf("%s %s", kind, it->name);
    hoist_ctx_init(&ctx, er->drv, what);
    free(what);
    ctx.cancel = &R->cancel;
    ctx.deadline_ms = t->deadline;
    if (!ex) {
        *msg = hoist_xstrdup(hoist_executor_missing_reason(n ? n->executor : "provider", it->kind));
        st = HOIST_E_UNSUPPORTED;
        goto cleanup;
    }
    if (!t->exec_spec) {
        json_t *s = n ? n->spec : json_object_get(rec, "spec");
        t->exec_spec = s ? json_deep_copy(s) : json_object();
        /* The absolute source directory goes to the executor only, not into
         * the hashed spec: moving the project must not redeploy every app. */
        if (n && n->kind == HOIST_KIND_APP && n->app && n->app->path) {
            json_object_set_new(t->exec_spec, "source_dir", json_string(n->app->path));
            exec_spec_defaults(t->exec_spec, n->app);
        }
    }
    hoist_resource r = {.struct_size = sizeof r, .project = er->cfg->project, .env = er->env->name,
                        .name = it->name, .spec = t->exec_spec, .needs = needs,
                        .recorded = recorded};
    hoist_exec_fn fn;
    const char *op;
    if (it->action == HOIST_ACT_DESTROY || (it->action == HOIST_ACT_REPLACE && t->phase == 0)) {
        if (t->calls == 0 && rec &&
            hoist_state_set_status(er->st, kind, it->name, HOIST_RS_DESTROY_REQUESTED, &err) != HOIST_OK)
            goto state_error;
        fn = ex->destroy;
        op = "destroy";
    } else if (it->action == HOIST_ACT_PAUSE) {
        fn = ex->pause;
        op = "pause";
    } else {
        if (t->calls == 0 || (it->action == HOIST_ACT_REPLACE && t->phase == 1 && !t->polls)) {
            if (it->kind == HOIST_KIND_APP && n) {
                /* Inject the database connections now that they are ready. */
                json_t *env = hoist_app_env(er, n, &err);
                if (!env) {
                    *msg = err;
                    err = NULL;
                    st = HOIST_E_INVALID;
                    goto cleanup;
                }
                char *h = hoist_json_sha256(env);
                json_object_set_new(it->spec, "env_sha256", json_string(h));
                free(h);
                json_object_set_new(t->exec_spec, "env", env);
                rehash(it);
            }
            const char *rs = json_string_value(json_object_get(rec, "status"));
            int exists = rs && (strcmp(rs, "ready") == 0 || strcmp(rs, "pending") == 0 ||
                                strcmp(rs, "paused") == 0) && it->action != HOIST_ACT_REPLACE;
            /* Recorded before the call: a crash between call and answer makes
             * the next run ensure again, which finds instead of creating. */
            if (hoist_state_put(er->st, kind, it->name,
                                exists ? HOIST_RS_PENDING : HOIST_RS_CREATE_REQUESTED, it->spec_hash,
                                it->spec, NULL, NULL, &err) != HOIST_OK)
                goto state_error;
        }
        fn = ex->ensure;
        op = "ensure";
    }
    if (!fn) {
        *msg = hoist_xasprintf("%s is not supported for %s", op, it->key);
        st = HOIST_E_UNSUPPORTED;
        goto cleanup;
    }
    t->calls++;
    st = fn(ex->self, er->drv, &ctx, n ? n : &tmp, &r, &out);
    register_secrets(out.secrets);
    pthread_mutex_lock(&R->mu);
    int gone = t->abandoned;
    pthread_mutex_unlock(&R->mu);
    if (gone) { /* the run has moved on and recorded its verdict: record nothing */
        st = HOIST_E_CANCELLED;
        goto cleanup;
    }
    *poll_ms = out.poll_ms;
    if (st < 0) {
        /* An app's driver tells its failure in full (release, health probe,
         * the app's output); a status name in front ("invalid request")
         * would mislabel the app's own crash as hoist's request. */
        if (it->kind == HOIST_KIND_APP && hoist_ctx_error(&ctx) && st != HOIST_E_CANCELLED)
            *msg = hoist_xstrdup(hoist_ctx_error(&ctx));
        else
            *msg = hoist_xasprintf("%s: %s", hoist_status_name(st),
                                   hoist_ctx_error(&ctx) ? hoist_ctx_error(&ctx)
                                                         : "no detail given");
        goto cleanup;
    }
    if (strcmp(op, "destroy") == 0) {
        if (st == HOIST_OK && it->action == HOIST_ACT_REPLACE) {
            t->phase = 1;
            t->calls = 0;
            if (hoist_state_put(er->st, kind, it->name, HOIST_RS_CREATE_REQUESTED, it->spec_hash,
                                it->spec, json_object(), json_object(), &err) != HOIST_OK)
                goto state_error;
            st = HOIST_PENDING; /* come back at once for the create */
            *poll_ms = 1;
        } else if (st == HOIST_OK &&
                   hoist_state_forget(er->st, kind, it->name, &err) != HOIST_OK) {
            goto state_error;
        }
    } else if (strcmp(op, "pause") == 0) {
        if (st == HOIST_OK &&
            hoist_state_set_status(er->st, kind, it->name, HOIST_RS_PAUSED, &err) != HOIST_OK)
            goto state_error;
    } else {
        if (hoist_state_put(er->st, kind, it->name, st == HOIST_OK ? HOIST_RS_READY : HOIST_RS_PENDING,
                            it->spec_hash, it->spec, out.outputs, out.secrets, &err) != HOIST_OK)
            goto state_error;
        if (st == HOIST_OK)
            *outputs = out.outputs ? json_deep_copy(out.outputs) : json_object();
    }
    const char *progress = hoist_ctx_progress(&ctx, out.status_text);
    if (st == HOIST_PENDING && progress && R->o->ev)
        emit(R, i, op, progress, -1, 1, NULL);
    goto cleanup;
state_error:
    *msg = hoist_xasprintf("cannot record state: %s", err);
    st = HOIST_E_INTERNAL;
cleanup:
    free(err);
    json_decref(out.outputs);
    json_decref(out.secrets);
    hoist_ctx_cleanup(&ctx);
    json_decref(needs);
    json_decref(recorded);
    json_decref(rec);
    return st;
}

static long long backoff(unsigned base, int k, unsigned max)
{
    long long d = base ? base : 1;
    for (int j = 0; j < k && d < max; j++)
        d *= 2;
    return d > max && base <= max ? max : d;
}

/* Next poll of a PENDING item that gave a hint: never sooner than the hint,
 * and otherwise a tenth of how long the item has been waiting, so the poll
 * that sees it ready comes at most ~10% after it got ready.  (Doubling the
 * hint instead overshoots by up to the whole wait: a 32 s rollout polled at
 * 0.5, 1.5, 3.5 ... 31.5 s was seen at 63.5 s.)  Capped at @max. */
static long long poll_delay(unsigned hint, long long waited, unsigned max)
{
    if (hint <= 1) /* the core's "come back at once" (a replace's create) */
        return hint;
    long long d = waited / 10;
    if (d < hint)
        d = hint;
    return d > max && hint <= max ? max : d;
}

static void *worker(void *vp)
{
    wslot *self = vp;
    run *R = self->R;
    pthread_mutex_lock(&R->mu);
    for (;;) {
        if (R->left == 0 || R->stopping)
            break;
        long long now = hoist_now_ms(), soonest = -1;
        long pick = -1;
        for (size_t i = 0; i < R->p->n; i++) {
            rt *t = &R->r[i];
            if (t->state != R_READY)
                continue;
            if (t->next_at <= now) {
                pick = (long)i;
                break;
            }
            if (soonest < 0 || t->next_at < soonest)
                soonest = t->next_at;
        }
        if (pick < 0) {
            long long wait = soonest < 0 ? 200 : soonest - now;
            if (wait > 200)
                wait = 200;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)(wait % 1000) * 1000000L;
            ts.tv_sec += wait / 1000 + ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&R->cv, &R->mu, &ts);
            continue;
        }
        rt *t = &R->r[pick];
        hoist_plan_item *it = &R->p->items[pick];
        t->state = R_RUNNING;
        if (!t->started) {
            t->started = now;
            t->deadline = now + R->timeout_ms[it->kind];
            emit(R, (size_t)pick, hoist_action_name(it->action), "started", -1, 0, it->reason);
        }
        t->by = self; /* under mu: the supervisor reads it to abandon a hung call */
        pthread_mutex_unlock(&R->mu);
        json_t *outputs = NULL;
        unsigned poll_ms = 0;
        char *msg = NULL;
        hoist_status st = step(R, (size_t)pick, &outputs, &poll_ms, &msg);
        pthread_mutex_lock(&R->mu);
        t->by = NULL;
        if (self->abandoned) { /* already counted out by the supervisor */
            pthread_mutex_unlock(&R->mu);
            json_decref(outputs);
            free(msg);
            return NULL;
        }
        now = hoist_now_ms();
        if (st == HOIST_OK) {
            t->outputs = outputs;
            finish(R, (size_t)pick, R_DONE, NULL);
            free(msg);
        } else if (R->cancel && (st == HOIST_E_CANCELLED || st == HOIST_PENDING)) {
            t->state = R_READY; /* interrupted: recorded as it is, resumed next run */
            free(msg);
        } else if (st == HOIST_PENDING || st == HOIST_E_TRANSIENT ||
                   (st == HOIST_E_CANCELLED && now < t->deadline)) {
            if (now >= t->deadline) {
                finish(R, (size_t)pick, R_FAILED,
                       hoist_xasprintf("timed out after %lld s (raise timeouts.%s in the "
                                       "environment)%s%s",
                                       R->timeout_ms[it->kind] / 1000, hoist_kind_name(it->kind),
                                       msg ? ": " : "", msg ? msg : ""));
                free(msg);
            } else {
                int k = st == HOIST_PENDING ? t->polls++ : t->retries++;
                long long d = st == HOIST_PENDING && poll_ms
                                  ? poll_delay(poll_ms, now - t->started, R->o->poll_max_ms)
                                  : backoff(R->o->retry_base_ms, k, R->o->poll_max_ms);
                t->next_at = now + d;
                t->state = R_READY;
                if (st != HOIST_PENDING)
                    emit(R, (size_t)pick, hoist_action_name(it->action), "retry", -1, 1, msg);
                else
                    emit(R, (size_t)pick, hoist_action_name(it->action), "pending", -1, 1, NULL);
                free(msg);
            }
        } else {
            finish(R, (size_t)pick, R_FAILED, msg ? msg : hoist_xstrdup(hoist_status_name(st)));
        }
        pthread_cond_broadcast(&R->cv);
    }
    R->alive--;
    pthread_cond_broadcast(&R->cv);
    pthread_mutex_unlock(&R->mu);
    return NULL;
}

/* Caller holds mu.  Start one more worker; 0 if the thread could not start. */
static int spawn_worker(run *R)
{
    wslot *w = hoist_xcalloc(1, sizeof *w);
    w->R = R;
    if (pthread_create(&w->th, NULL, worker, w) != 0) {
        free(w);
        return 0;
    }
    w->next = R->slots;
    R->slots = w;
    R->alive++;
    return 1;
}

/* How long past its deadline a call may stay in the driver before the run
 * gives it up: a tenth of the kind's deadline, between 1 s and 60 s (time
 * for a cooperative driver to notice hoist_ctx_cancelled and return). */
static long long hang_grace_ms(long long timeout_ms)
{
    long long g = timeout_ms / 10;
    return g < 1000 ? 1000 : g > 60000 ? 60000 : g;
}

/* Caller holds mu.  Give up calls that overran deadline + grace: the item
 * fails (its dependents are skipped), its thread is left behind, and a
 * replacement worker keeps the pool at strength. */
static void abandon_hung(run *R)
{
    long long now = hoist_now_ms();
    for (size_t i = 0; i < R->p->n; i++) {
        rt *t = &R->r[i];
        const hoist_plan_item *it = &R->p->items[i];
        long long grace = hang_grace_ms(R->timeout_ms[it->kind]);
        if (t->state != R_RUNNING || t->abandoned || !t->by || now < t->deadline + grace)
            continue;
        t->abandoned = 1;
        t->by->abandoned = 1;
        pthread_detach(t->by->th);
        t->by = NULL;
        R->alive--;
        R->abandoned++;
        finish(R, i, R_FAILED,
               hoist_xasprintf("provider '%s' did not return within the deadline (%lld s, then "
                               "%lld s of grace; raise timeouts.%s in the environment if it is "
                               "only slow): the call was abandoned",
                               R->er->drv ? R->er->drv->name : "?",
                               R->timeout_ms[it->kind] / 1000, grace / 1000,
                               hoist_kind_name(it->kind)));
        if (R->left > 0 && !R->stopping)
            spawn_worker(R);
    }
}

void hoist_run_record_observed(hoist_env_run *er, const hoist_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        const hoist_plan_item *it = &p->items[i];
        if (it->action != HOIST_ACT_NOOP || it->kind != HOIST_KIND_APP || !it->observed ||
            strcmp(it->observed, "ready") != 0 || !json_is_object(it->observed_outputs))
            continue;
        json_t *rec = hoist_state_get(er->st, hoist_kind_name(it->kind), it->name);
        json_t *outs = json_object_get(rec, "outputs");
        json_t *now = outs ? json_deep_copy(outs) : json_object();
        json_object_update(now, it->observed_outputs);
        if (rec && !json_equal(now, outs)) {
            char *err = NULL;
            if (hoist_state_put(er->st, hoist_kind_name(it->kind), it->name, HOIST_RS_READY,
                                json_string_value(json_object_get(rec, "spec_hash")),
                                json_object_get(rec, "spec"), now, NULL, &err) != HOIST_OK)
                hoist_log(HOIST_LOG_WARN_, it->key, "cannot record its current outputs: %s",
                          err ? err : "?");
            free(err);
        }
        json_decref(now);
        json_decref(rec);
    }
}

int hoist_run(hoist_env_run *er, hoist_plan *p, const hoist_run_opts *o, hoist_run_summary *sum)
{
    hoist_run_record_observed(er, p);
    /* On the heap: a thread left in a hung driver call may still read it
     * after this function returns, so then it is deliberately not freed. */
    run *R = hoist_xcalloc(1, sizeof *R);
    *R = (run){.er = er, .p = p, .sum = sum, .left = p->n, .opts = *o};
    memset(sum, 0, sizeof *sum);
    if (!R->opts.retry_base_ms)
        R->opts.retry_base_ms = 1000;
    if (!R->opts.poll_max_ms)
        R->opts.poll_max_ms = 30000;
    if (!R->opts.stop_grace_ms)
        R->opts.stop_grace_ms = 30000;
    R->o = &R->opts;
    char *terr = NULL;
    for (int k = 0; k < HOIST_KIND_COUNT_; k++)
        R->timeout_ms[k] = o->timeout_ms[k];
    long long dflt[HOIST_KIND_COUNT_];
    hoist_run_timeouts(NULL, dflt, &terr);
    for (int k = 0; k < HOIST_KIND_COUNT_; k++)
        if (R->timeout_ms[k] <= 0)
            R->timeout_ms[k] = dflt[k];
    pthread_mutex_init(&R->mu, NULL);
    pthread_cond_init(&R->cv, NULL);
    R->r = hoist_xcalloc(p->n + 1, sizeof *R->r);
    build_waits(R);
    pthread_mutex_lock(&R->mu);
    for (size_t i = 0; i < p->n; i++) {
        hoist_plan_item *it = &p->items[i];
        rt *t = &R->r[i];
        /* R_READY here: released by an earlier no-op's finish(), not run yet. */
        if (t->state != R_WAIT && t->state != R_READY)
            continue; /* already skipped by an earlier failure */
        if (it->action == HOIST_ACT_NOOP) {
            json_t *rec = hoist_state_get(er->st, hoist_kind_name(it->kind), it->name);
            json_t *outs = json_object_get(rec, "outputs");
            t->outputs = outs ? json_deep_copy(outs) : json_object();
            json_decref(rec);
            t->n_waits_done = t->n_waits;
            finish(R, i, R_DONE, NULL);
        } else if (it->action == HOIST_ACT_UNAVAILABLE) {
            finish(R, i, R_FAILED, hoist_xstrdup(it->reason));
        }
    }
    /* Count what is already done among each item's waits. */
    for (size_t i = 0; i < p->n; i++) {
        rt *t = &R->r[i];
        if (t->state != R_WAIT)
            continue;
        t->n_waits_done = 0;
        for (size_t k = 0; k < t->n_waits; k++)
            t->n_waits_done += R->r[t->waits[k]].state == R_DONE;
        if (t->n_waits_done == t->n_waits)
            t->state = R_READY;
    }
    int nw = o->parallelism < 1 ? 1 : o->parallelism;
    int started = 0;
    for (int i = 0; i < nw; i++)
        started += spawn_worker(R);
    pthread_mutex_unlock(&R->mu);
    if (!started) {
        wslot self = {.R = R};
        R->alive = 1;
        worker(&self);
    }
    /* Supervise: turn a stop request into "start nothing new", then, after
     * the grace period, into cancelling the calls still in flight; give up
     * calls that never return. */
    long long stop_at = 0;
    pthread_mutex_lock(&R->mu);
    while (R->alive > 0) {
        if (o->stop && *o->stop && !R->stopping) {
            R->stopping = 1;
            stop_at = hoist_now_ms();
            pthread_cond_broadcast(&R->cv);
        }
        if (R->stopping && !R->cancel && hoist_now_ms() - stop_at > R->o->stop_grace_ms)
            R->cancel = 1;
        abandon_hung(R);
        if (R->alive <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&R->cv, &R->mu, &ts);
    }
    pthread_mutex_unlock(&R->mu);
    for (wslot *w = R->slots; w; w = w->next)
        if (!w->abandoned)
            pthread_join(w->th, NULL);
    sum->interrupted = R->left;
    sum->stopped = R->stopping && R->left > 0;
    if (R->stopping && !sum->stopped)
        sum->stopped = 1; /* interrupted even if the last items happened to finish */
    sum->abandoned = R->abandoned;
    for (size_t i = 0; i < p->n; i++)
        if (R->r[i].state == R_READY || R->r[i].state == R_WAIT)
            emit(R, i, hoist_action_name(p->items[i].action), "interrupted", -1, 0,
                 "not finished; the next run resumes it");
    free(terr);
    int rc = sum->stopped ? 130 : sum->failed || sum->skipped ? 1 : 0;
    if (R->abandoned)
        return rc; /* R, its items and the abandoned slots stay for the threads left behind */
    for (size_t i = 0; i < p->n; i++) {
        free(R->r[i].waits);
        free(R->r[i].deps);
        free(R->r[i].msg);
        json_decref(R->r[i].outputs);
        json_decref(R->r[i].exec_spec);
    }
    for (wslot *w = R->slots, *nx; w; w = nx) {
        nx = w->next;
        free(w);
    }
    free(R->r);
    pthread_cond_destroy(&R->cv);
    pthread_mutex_destroy(&R->mu);
    free(R);
    return rc;
}
