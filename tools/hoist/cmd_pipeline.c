/*
 * cmd_pipeline.c - plan, deploy, destroy, status, pause, graph, logs: the
 * commands that act on one environment through the pipeline
 * (graph -> plan -> run, with state and events).
 */
#include "cli.h"
#include "driver.h"
#include "events.h"
#include "graph.h"
#include "host.h"
#include "log.h"
#include "plan.h"
#include "run.h"
#include "state.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

hoist_flag stop_flag;
static const char *stop_msg; /* said on the first signal; NULL: nothing */

static void on_signal(int sig)
{
    (void)sig;
    /* First signal: finish what is in flight and save.  Second: leave now;
     * the state on disk is consistent because every write is a rename.
     * One atomic exchange: lock-free, so safe here, and read by the workers. */
    if (atomic_exchange(&stop_flag, 1)) {
        hoist_guard_report_abandoned();
        _exit(EXIT_INTERRUPTED);
    }
    if (stop_msg) {
        ssize_t w = write(STDERR_FILENO, stop_msg, strlen(stop_msg));
        (void)w;
    }
}

void install_signals(const char *msg)
{
    stop_msg = msg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_pipe_close(pipe_env *pe)
{
    hoist_state_free(pe->st);
    hoist_graph_free(pe->g);
    hoist_driver_free(pe->drv);
    hoist_config_free(pe->cfg);
    hoist_loader_free(pe->l);
    memset(pe, 0, sizeof *pe);
}

/*
 * Load hoist.yml, the environment, its driver (initialised with its state
 * dir), the graph and the state; lock the state for @operation unless NULL.
 * Returns EXIT_DONE or the exit code to leave with (message printed).
 */
int cli_pipe_open(cli_opts *o, pipe_env *pe, const char *operation)
{
    char *err = NULL;
    int rc = EXIT_USAGE;
    memset(pe, 0, sizeof *pe);
    pe->l = hoist_loader_new(o->provider_dir);
    pe->cfg = cli_load_config(o, pe->l);
    if (!pe->cfg)
        goto fail;
    pe->env = cli_env(o, pe->cfg);
    if (!pe->env)
        goto fail;
    cli_kube_register(pe->env);
    if (hoist_loader_open(pe->l, pe->env->provider, &pe->drv, &err) != HOIST_OK) {
        fprintf(stderr, "hoist: %s\n", err);
        goto fail;
    }
    char *sdir = hoist_xasprintf("%s/.hoist/%s/%s", pe->cfg->dir, pe->env->provider, pe->env->name);
    hoist_status s = hoist_driver_init(pe->drv, pe->env->settings, sdir, &err);
    free(sdir);
    if (s != HOIST_OK) {
        fprintf(stderr, "hoist: %s\n", err);
        rc = EXIT_FAILED;
        goto fail;
    }
    pe->g = hoist_graph_build(pe->cfg, pe->env, pe->drv, &err);
    if (!pe->g) {
        fprintf(stderr, "hoist: %s\n", err);
        goto fail;
    }
    hoist_state_backend *sb = hoist_state_backend_for(pe->cfg, pe->env, NULL, &err);
    pe->st = sb ? hoist_state_open(sb, pe->cfg->project, pe->env->name, pe->env->provider, &err)
                : NULL;
    if (!pe->st) {
        fprintf(stderr, "hoist: %s\n", err);
        rc = EXIT_FAILED;
        goto fail;
    }
    if (operation) {
        if (hoist_state_lock(pe->st, operation, o->lock_timeout, &err) != HOIST_OK) {
            fprintf(stderr, "hoist: %s\n", err);
            rc = EXIT_FAILED;
            goto fail;
        }
        /* a shared backend that loses its lock mid-run stops the run */
        if (sb->set_cancel)
            sb->set_cancel(sb, &stop_flag);
    } else {
        hoist_state_set_readonly(pe->st, 1);
    }
    pe->er = (hoist_env_run){.cfg = pe->cfg, .env = pe->env, .g = pe->g, .st = pe->st,
                             .drv = pe->drv, .cancel = &stop_flag};
    return EXIT_DONE;
fail:
    free(err);
    cli_pipe_close(pe);
    return rc;
}

static int is_json(cli_opts *o)
{
    return strcmp(o->output, "json") == 0;
}

int cmd_plan(cli_opts *o)
{
    pipe_env pe;
    int rc = cli_pipe_open(o, &pe, NULL);
    if (rc != EXIT_DONE)
        return rc;
    char *err = NULL;
    hoist_plan *p = hoist_plan_build(&pe.er, HOIST_PLAN_DEPLOY, 1, o->parallelism, &err);
    if (!p) {
        fprintf(stderr, "hoist plan: %s\n", err);
        free(err);
        cli_pipe_close(&pe);
        return EXIT_FAILED;
    }
    hoist_plan_print(p, stdout, is_json(o), hoist_use_color(stdout));
    hoist_plan_free(p);
    cli_pipe_close(&pe);
    return EXIT_DONE;
}

/* Ask before changing anything.  Returns EXIT_DONE to go on. */
static int confirm(cli_opts *o, const char *what, const char *env, int type_name)
{
    if (o->yes)
        return EXIT_DONE;
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr, "hoist %s: not asking for confirmation because stdin is not a terminal; "
                        "pass --yes to %s environment '%s'\n", what, what, env);
        return EXIT_USAGE;
    }
    char line[256];
    if (type_name)
        printf("Type the environment name ('%s') to %s it: ", env, what);
    else
        printf("Apply these changes to '%s'? [y/N] ", env);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        line[0] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    int ok = type_name ? strcmp(line, env) == 0
                       : (strcmp(line, "y") == 0 || strcmp(line, "yes") == 0);
    if (!ok) {
        fprintf(stderr, "hoist %s: cancelled; nothing was changed\n", what);
        return EXIT_FAILED;
    }
    return EXIT_DONE;
}

static void print_summary(cli_opts *o, const char *verb, const hoist_run_summary *s, long long ms)
{
    if (is_json(o)) {
        printf("{\"summary\":{\"operation\":\"%s\",\"created\":%zu,\"changed\":%zu,"
               "\"unchanged\":%zu,\"destroyed\":%zu,\"paused\":%zu,\"failed\":%zu,"
               "\"skipped\":%zu,\"interrupted\":%zu,\"duration_ms\":%lld}}\n",
               verb, s->created, s->changed, s->unchanged, s->destroyed, s->paused, s->failed,
               s->skipped, s->interrupted, ms);
        return;
    }
    printf("%s: %zu created, %zu changed, %zu unchanged, %zu destroyed, %zu paused, %zu failed, "
           "%zu skipped", verb, s->created, s->changed, s->unchanged, s->destroyed, s->paused,
           s->failed, s->skipped);
    if (s->stopped)
        printf(", %zu interrupted (run again to resume)", s->interrupted);
    printf(" in %.1fs.\n", (double)ms / 1000.0);
}

static int timeouts(pipe_env *pe, hoist_run_opts *ro)
{
    char *err = NULL;
    if (hoist_run_timeouts(pe->env->settings, ro->timeout_ms, &err) != 0) {
        fprintf(stderr, "hoist: environment '%s': %s\n", pe->env->name, err);
        free(err);
        return -1;
    }
    /* HOIST_STOP_GRACE_MS lets tests bound how long in-flight calls may run on. */
    const char *g = getenv("HOIST_STOP_GRACE_MS");
    if (g && *g)
        ro->stop_grace_ms = atoll(g);
    return 0;
}

/* rm -rf @path without following symbolic links; best effort. */
static void rm_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *sub = hoist_xasprintf("%s/%s", path, e->d_name);
            rm_tree(sub);
            free(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* 1 when directory @dir holds a state document ("*.json"). */
static int has_state_files(const char *dir)
{
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        found = n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
    }
    if (d)
        closedir(d);
    return found;
}

/*
 * After a destroy that left nothing recorded, remove what the environment
 * made under .hoist/: its state file and lock (file backend), the driver's
 * directory .hoist/PROVIDER/ENV, and, once no environment is recorded in
 * .hoist/state, the image cache and the build logs; then the directories
 * left empty.  A kubeconfig written by `hoist kubeconfig` and any file of
 * the user's stay.
 */
static void tidy_destroyed(pipe_env *pe)
{
    char **keys = hoist_state_keys(pe->st);
    int left = keys[0] != NULL;
    hoist_strv_free(keys);
    if (left)
        return;
    char *err = NULL;
    int removed = hoist_state_remove_if_empty(pe->st, &err);
    if (removed < 0) {
        fprintf(stderr, "hoist destroy: %s\n", err);
        free(err);
        return;
    }
    const char *dir = pe->cfg->dir;
    char *drv = hoist_xasprintf("%s/.hoist/%s/%s", dir, pe->env->provider, pe->env->name);
    char *prov = hoist_xasprintf("%s/.hoist/%s", dir, pe->env->provider);
    char *state = hoist_xasprintf("%s/.hoist/state", dir);
    char *top = hoist_xasprintf("%s/.hoist", dir);
    rm_tree(drv);
    rmdir(prov);
    /* with a shared (S3) state other environments may still use the images */
    if (removed == 1 && !has_state_files(state)) {
        char *images = hoist_xasprintf("%s/images", top), *logs = hoist_xasprintf("%s/logs", top);
        rm_tree(images);
        rm_tree(logs);
        free(images);
        free(logs);
        rmdir(state);
    }
    rmdir(top);
    free(drv);
    free(prov);
    free(state);
    free(top);
}

/* Plan, confirm, run: shared by deploy, destroy and pause. */
static int run_mode(cli_opts *o, hoist_plan_mode mode, const char *verb)
{
    pipe_env pe;
    int rc = cli_pipe_open(o, &pe, verb);
    if (rc != EXIT_DONE)
        return rc;
    char *err = NULL;
    hoist_plan *p = NULL;
    hoist_events *ev = NULL;
    if (mode == HOIST_PLAN_DESTROY && pe.env->protected_ && !o->force) {
        fprintf(stderr, "hoist destroy: environment '%s' is protected (protected: true in %s); "
                        "pass --force to destroy it anyway\n", pe.env->name, o->file);
        rc = EXIT_USAGE;
        goto done;
    }
    hoist_run_opts ro = {.parallelism = o->parallelism, .stop = &stop_flag};
    if (timeouts(&pe, &ro) != 0) {
        rc = EXIT_USAGE;
        goto done;
    }
    install_signals("\nhoist: interrupted: finishing the calls in flight and saving state "
                    "(interrupt again to quit at once)\n");
    p = hoist_plan_build(&pe.er, mode, mode == HOIST_PLAN_DEPLOY, o->parallelism, &err);
    if (!p) {
        fprintf(stderr, "hoist %s: %s\n", verb, err);
        rc = EXIT_FAILED;
        goto done;
    }
    if (!is_json(o))
        hoist_plan_print(p, stdout, 0, hoist_use_color(stdout));
    if (!hoist_plan_has_changes(p)) {
        if (mode == HOIST_PLAN_DEPLOY)
            hoist_run_record_observed(&pe.er, p); /* e.g. a pid that changed */
        size_t recorded = 0;
        for (size_t i = 0; i < p->n; i++)
            recorded += p->items[i].recorded_status != NULL;
        if (!is_json(o) && mode == HOIST_PLAN_DESTROY && !recorded)
            printf("Nothing to destroy: environment '%s' has no resources recorded in %s.\n",
                   pe.env->name, hoist_state_where(pe.st));
        else if (!is_json(o))
            printf("Nothing to do: environment '%s' is up to date.\n", pe.env->name);
        else
            printf("{\"summary\":{\"operation\":\"%s\",\"unchanged\":%zu}}\n", verb, p->n);
        goto done;
    }
    rc = confirm(o, verb, pe.env->name, mode == HOIST_PLAN_DESTROY);
    if (rc != EXIT_DONE)
        goto done;
    ev = hoist_events_new(stdout, hoist_events_mode_for(stdout, is_json(o)), o->verbose);
    ro.ev = ev;
    hoist_events_capture_logs(ev);
    long long t0 = hoist_now_ms();
    hoist_run_summary sum;
    int r = hoist_run(&pe.er, p, &ro, &sum);
    hoist_events_free(ev);
    ev = NULL;
    print_summary(o, verb, &sum, hoist_now_ms() - t0);
    rc = r == 130 ? EXIT_INTERRUPTED : r ? EXIT_FAILED : EXIT_DONE;
    hoist_state_backend *sb = hoist_state_backend_of(pe.st);
    if (sb->lost && sb->lost(sb)) {
        fprintf(stderr, "hoist %s: failed: this run lost its lock on environment '%s' (%s)\n",
                verb, pe.env->name, hoist_state_where(pe.st));
        rc = EXIT_FAILED;
    }
    if (sum.abandoned) {
        /* Threads are still inside the driver: unloading it or freeing what
         * they use would crash them.  State is already on disk (every step
         * is an atomic write), so leave now without cleaning up. */
        fprintf(stderr, "hoist %s: %zu driver call%s did not return within the deadline; state "
                "is saved; exiting without waiting for %s\n", verb, sum.abandoned,
                sum.abandoned == 1 ? "" : "s", sum.abandoned == 1 ? "it" : "them");
        fflush(NULL);
        _exit(EXIT_FAILED);
    }
    if (mode == HOIST_PLAN_DEPLOY && !is_json(o)) {
        for (size_t i = 0; i < pe.g->n; i++) {
            const hoist_node *n = &pe.g->nodes[i];
            if (n->kind != HOIST_KIND_APP || !n->app || !n->app->public_)
                continue;
            json_t *rec = hoist_state_get(pe.st, "app", n->name);
            const char *url = json_string_value(json_object_get(json_object_get(rec, "outputs"), "url"));
            const char *status = json_string_value(json_object_get(rec, "status"));
            /* An app this run did not make ready gets no URL, as if all was well. */
            if (url && status && strcmp(status, "ready") == 0)
                printf("  %s: %s\n", n->name, url);
            else if (url)
                printf("  %s: not updated by this deploy\n", n->name);
            json_decref(rec);
        }
    }
done:
    if (p && mode == HOIST_PLAN_DESTROY && rc == EXIT_DONE)
        tidy_destroyed(&pe);
    hoist_events_free(ev);
    free(err);
    hoist_plan_free(p);
    cli_pipe_close(&pe);
    return rc;
}

int cmd_deploy(cli_opts *o)
{
    return run_mode(o, HOIST_PLAN_DEPLOY, "deploy");
}

int cmd_destroy(cli_opts *o)
{
    return run_mode(o, HOIST_PLAN_DESTROY, "destroy");
}

int cmd_pause(cli_opts *o)
{
    return run_mode(o, HOIST_PLAN_PAUSE, "pause");
}

/* What people look for in an observed resource (observe's live outputs). */
static const char *const live_keys[] = {"url", "port", "pid", NULL};

/* The live outputs of @obs worth showing, as a new object (may be empty). */
static json_t *live_outputs(json_t *obs)
{
    json_t *o = json_object();
    for (const char *const *k = live_keys; *k; k++) {
        json_t *v = json_object_get(obs, *k);
        if (json_is_string(v) || json_is_integer(v))
            json_object_set(o, *k, v);
    }
    return o;
}

/* "    url http://127.0.0.1:20001/  port 20001  pid 4242" under the row. */
static void print_live(json_t *obs)
{
    json_t *o = live_outputs(obs), *v;
    const char *k;
    if (json_object_size(o)) {
        printf("   ");
        for (const char *const *key = live_keys; *key; key++) {
            if (!(v = json_object_get(o, *key)))
                continue;
            k = *key;
            if (json_is_string(v)) {
                char *r = hoist_redact(json_string_value(v));
                printf(" %s %s", k, r);
                free(r);
            } else
                printf(" %s %lld", k, (long long)json_integer_value(v));
        }
        putchar('\n');
    }
    json_decref(o);
}

int cmd_status(cli_opts *o)
{
    pipe_env pe;
    int rc = cli_pipe_open(o, &pe, NULL);
    if (rc != EXIT_DONE)
        return rc;
    char *err = NULL;
    hoist_plan *p = hoist_plan_build(&pe.er, HOIST_PLAN_DEPLOY, 1, o->parallelism, &err);
    if (!p) {
        fprintf(stderr, "hoist status: %s\n", err);
        free(err);
        cli_pipe_close(&pe);
        return EXIT_FAILED;
    }
    json_t *arr = json_array();
    size_t drift = 0;
    if (!is_json(o))
        printf("%-30s %-17s %-10s %s\n", "RESOURCE", "RECORDED", "OBSERVED", "DRIFT");
    for (size_t i = 0; i < p->n; i++) {
        hoist_plan_item *it = &p->items[i];
        const char *verdict;
        if (!it->recorded_status)
            verdict = "not deployed";
        else if (it->observed && strcmp(it->observed, "missing") == 0)
            verdict = "missing";
        else if (it->node < 0)
            verdict = "not in hoist.yml";
        else if (it->changed && json_array_size(it->changed))
            verdict = "changed";
        else if (strcmp(it->recorded_status, "paused") == 0)
            verdict = "paused";
        else if (strcmp(it->recorded_status, "ready") != 0 ||
                 (it->observed && strcmp(it->observed, "ready") != 0))
            verdict = "not ready";
        else
            verdict = "in sync";
        drift += strcmp(verdict, "in sync") != 0 && strcmp(verdict, "paused") != 0;
        if (is_json(o)) {
            json_t *row = json_pack("{s:s,s:s?,s:s?,s:s,s:o}", "resource", it->key,
                                    "recorded", it->recorded_status, "observed",
                                    it->observed, "drift", verdict, "changed",
                                    it->changed ? json_incref(it->changed) : json_array());
            json_object_update_new(row, live_outputs(it->observed_outputs)); /* url, port, pid */
            json_array_append_new(arr, row);
        } else {
            char *obs = hoist_redact(it->observed ? it->observed : "-");
            printf("%-30s %-17s %-10s %s", it->key, it->recorded_status ? it->recorded_status : "-",
                   obs, verdict);
            if (it->changed && json_array_size(it->changed) && it->recorded_status) {
                char *c = hoist_plan_changed_text(it->changed);
                printf(": %s", c);
                free(c);
            }
            putchar('\n');
            free(obs);
            print_live(it->observed_outputs);
        }
    }
    if (is_json(o)) {
        json_t *doc = json_pack("{s:o,s:I}", "resources", arr, "drift", (json_int_t)drift);
        char *s = json_dumps(doc, JSON_INDENT(2));
        json_decref(doc); /* it owns arr */
        printf("%s\n", s);
        free(s);
    } else {
        json_decref(arr);
        printf("%zu resource%s drifted from hoist.yml or the recorded state.\n", drift,
               drift == 1 ? "" : "s");
    }
    hoist_plan_free(p);
    cli_pipe_close(&pe);
    return drift ? EXIT_FAILED : EXIT_DONE;
}

static int have_program(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char *copy = hoist_xstrdup(path);
    int found = 0;
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char *f = hoist_xasprintf("%s/%s", d, name);
        found = access(f, X_OK) == 0;
        free(f);
    }
    free(copy);
    return found;
}

int cmd_graph(cli_opts *o)
{
    const char *fmt = o->format ? o->format : "dot";
    if (strcmp(fmt, "dot") != 0 && strcmp(fmt, "svg") != 0 && strcmp(fmt, "png") != 0) {
        fprintf(stderr, "hoist graph: --format takes dot, svg or png, not '%s'\n", fmt);
        return EXIT_USAGE;
    }
    if (strcmp(fmt, "dot") != 0 && !have_program("dot")) {
        fprintf(stderr, "hoist graph: --format %s needs Graphviz's `dot` in PATH (e.g. apt-get "
                        "install graphviz); without it, use the DOT output: hoist graph -f %s "
                        "-e ENV > graph.dot\n", fmt, o->file);
        return EXIT_FAILED;
    }
    pipe_env pe;
    int rc = cli_pipe_open(o, &pe, NULL);
    if (rc != EXIT_DONE)
        return rc;
    FILE *fp = stdout;
    if (strcmp(fmt, "dot") != 0) {
        char *cmd = hoist_xasprintf("dot -T%s", fmt);
        fp = popen(cmd, "w");
        free(cmd);
    }
    hoist_graph_dot(pe.g, NULL, fp ? fp : stdout);
    if (fp && fp != stdout && pclose(fp) != 0)
        rc = EXIT_FAILED;
    cli_pipe_close(&pe);
    return rc;
}

int cmd_logs(cli_opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "hoist logs: name one application: hoist logs -f FILE -e ENV APP [--follow]\n");
        return EXIT_USAGE;
    }
    pipe_env pe;
    int rc = cli_pipe_open(o, &pe, NULL);
    if (rc != EXIT_DONE)
        return rc;
    const char *app = o->args[0];
    long ni = hoist_graph_find(pe.g, HOIST_KIND_APP, app);
    json_t *rec = NULL, *recorded = NULL, *needs = NULL;
    if (ni < 0) {
        fprintf(stderr, "hoist logs: %s defines no application '%s'\n", o->file, app);
        rc = EXIT_USAGE;
        goto done;
    }
    if (!hoist_driver_offers_kind(pe.drv, HOIST_KIND_APP)) {
        /* Apps run on Kubernetes: read their pods' logs through the API. */
        rc = cli_kube_logs(o, &pe, app);
        goto done;
    }
    if (!hoist_driver_offers(pe.drv, HOIST_KIND_APP, HOIST_OP_LOGS)) {
        fprintf(stderr, "hoist logs: provider '%s' does not serve application logs\n",
                pe.env->provider);
        rc = EXIT_FAILED;
        goto done;
    }
    rec = hoist_state_get(pe.st, "app", app);
    if (!rec) {
        fprintf(stderr, "hoist logs: application '%s' is not deployed in '%s'; run hoist deploy\n",
                app, pe.env->name);
        rc = EXIT_FAILED;
        goto done;
    }
    /* Ctrl-C just ends --follow: there are no calls in flight to finish. */
    install_signals(NULL);
    recorded = hoist_recorded_view(rec);
    needs = hoist_needs_from_state(&pe.er, &pe.g->nodes[ni]);
    hoist_resource r = {.struct_size = sizeof r, .project = pe.cfg->project, .env = pe.env->name,
                        .name = app, .spec = pe.g->nodes[ni].spec, .needs = needs,
                        .recorded = recorded};
    hoist_ctx ctx;
    char *what = hoist_xasprintf("app %s", app);
    hoist_ctx_init(&ctx, pe.drv, what);
    free(what);
    ctx.cancel = &stop_flag;
    fflush(stdout);
    hoist_status s = hoist_driver_app_logs(pe.drv, &ctx, &r, STDOUT_FILENO, o->follow);
    if (s != HOIST_OK && !(s == HOIST_E_CANCELLED && stop_flag)) {
        fprintf(stderr, "hoist logs: %s\n", hoist_ctx_error(&ctx) ? hoist_ctx_error(&ctx) : hoist_status_name(s));
        rc = EXIT_FAILED;
    }
    hoist_ctx_cleanup(&ctx);
done:
    json_decref(needs);
    json_decref(recorded);
    json_decref(rec);
    cli_pipe_close(&pe);
    return rc;
}

/* `hoist help CMD` texts, referenced by main.c's command table. */
const char cli_help_plan[] =
     "usage: hoist plan [-f FILE] -e ENV [-o json] [--parallelism N]\n\n"
     "Compares hoist.yml with the recorded state (.hoist/state/ENV.json) and with\n"
     "the cloud (each recorded resource is observed), and prints per resource\n"
     "what deploy would do: + create, ~ update (with the changed fields),\n"
     "-/+ replace, - destroy (in state but no longer in hoist.yml), ! cannot run\n"
     "with this version of hoist.  Ends with a summary line.  Writes nothing and\n"
     "takes no lock.  -o json prints one JSON document ({resources, summary}).\n"
     "A resource that cannot be observed shows `error: ...`.  Exit 0, 1 when\n"
     "the driver cannot start, 2 for usage or hoist.yml errors.\n";

const char cli_help_deploy[] =
     "usage: hoist deploy [-f FILE] -e ENV [--yes] [--parallelism N] [--lock-timeout S]\n"
     "                    [-o json] [-v]\n\n"
     "Shows the plan, asks for confirmation (--yes skips it; without a terminal\n"
     "--yes is required), then runs it: every resource whose needs are ready runs\n"
     "at once, up to --parallelism (default 8).  Resources that are still being\n"
     "created are polled with backoff until ready or until their deadline\n"
     "(environment setting timeouts: {cluster: 2700, database: 3600, app: 600},\n"
     "in seconds).  A failure stops only what depends on it.  State is saved after\n"
     "every step, so an interrupted deploy resumes where it stopped.\n"
     "Ctrl-C: start nothing new, let calls in flight finish, save, exit 130;\n"
     "a second Ctrl-C exits at once.  Apps get their databases as\n"
     "HOIST_DATABASE_<NAME>_{HOST,PORT,USER,PASSWORD,NAME,URL} (and DATABASE_URL\n"
     "when they use exactly one), and PORT.  Public apps' URLs are printed at\n"
     "the end.  -o json prints one JSON object per event, then a summary.\n"
     "Exit: 0 done, 1 something failed or the answer was no, 2 usage (or no\n"
     "terminal and no --yes), 130 interrupted.\n";

const char cli_help_destroy[] =
     "usage: hoist destroy [-f FILE] -e ENV [--yes] [--force] [--lock-timeout S]\n\n"
     "Deletes what the state records, in reverse dependency order (apps first,\n"
     "the network last).  A resource is forgotten only once the provider confirms\n"
     "it is gone.  Asks you to type the environment name (--yes skips it;\n"
     "without a terminal --yes is required).  Environments marked\n"
     "`protected: true` need --force as well (exit 2 without it).  When nothing\n"
     "is left, also removes what the environment made under .hoist/ (state file\n"
     "and lock, .hoist/PROVIDER/ENV; the image cache and build logs once no\n"
     "environment is recorded in .hoist/state); files of yours stay.\n"
     "Ctrl-C and exit codes as for deploy.\n";

const char cli_help_status[] =
     "usage: hoist status [-f FILE] -e ENV [-o json]\n\n"
     "Observes each recorded resource in the cloud and compares it with the state\n"
     "and hoist.yml: missing, changed, not ready, not deployed, not in hoist.yml,\n"
     "paused, in sync; under a resource its live url, port and pid where it has\n"
     "them.  Takes no lock.  -o json prints {resources, drift}.\n"
     "Exit 0 when everything is in sync or paused, 1 when something drifted.\n";

const char cli_help_pause[] =
     "usage: hoist pause [-f FILE] -e ENV [--yes] [--lock-timeout S]\n\n"
     "Scales apps to zero and stops databases where the provider can\n"
     "(capability pause-database); data is kept.  Asks like deploy.  A later\n"
     "hoist deploy resumes them.\n";

const char cli_help_graph[] =
     "usage: hoist graph [-f FILE] -e ENV [--format dot|svg|png]\n\n"
     "Prints the resource graph in DOT (an edge from each resource to what\n"
     "depends on it); svg and png need Graphviz's `dot` in PATH.\n"
     "Example: hoist graph -e dev --format svg > dev.svg\n";

const char cli_help_logs[] =
     "usage: hoist logs [-f FILE] -e ENV APP [--follow]\n\n"
     "Prints the output of APP: its log files for a local-runtime provider,\n"
     "else its pods' logs through the cluster's Kubernetes API ([pod] prefix\n"
     "when there are several).  --follow keeps printing until Ctrl-C.\n";
