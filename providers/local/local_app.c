/*
 * local_app.c - applications as supervised local processes.
 *
 * <state>/apps/<name>/ holds:
 *   rel-<buildhash>/       a copy of the source, built (npm ci, build.command)
 *   rel-<buildhash>.built  written once the build succeeded
 *   inst-<i>/              one instance: hash (what it runs), runner.pid,
 *                          app.pid, restarts (written by hoist-local-run)
 * Logs: <state>/logs/<name>.log (instance 0), <name>.<i>.log, <name>-build.log.
 *
 * The build hash covers the source tree and build settings; the run hash
 * adds the whole spec (env included).  ensure compares the run hash stored
 * in inst-<i>/hash with the wanted one: equal and alive means "leave it
 * alone", so an unchanged deploy never restarts a healthy app.  An env-only
 * change restarts without rebuilding.
 *
 * Every process of an instance carries HOIST_LOCAL_INSTANCE=<inst dir> in
 * its environment, so destroy can find stragglers even when the runner was
 * killed: nothing of an environment is left behind.
 */
#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_RUNNER_NAME "hoist-local-run"
#define LOCAL_TAG "HOIST_LOCAL_INSTANCE"

/* Names never copied into a release nor hashed: installed or generated. */
static const char *const local_skip[] = {"node_modules", ".git", ".hoist", NULL};

typedef struct local_app {
    const char *name;
    char *dir;        /* <state>/apps/<name> */
    char *src;        /* the source directory (absolute) */
    char *build_hash; /* 16 hex digits */
    char *run_hash;
    char *rel;        /* dir/rel-<build_hash> */
    int instances;
    const char *health; /* healthcheck path or NULL */
    int has_port;     /* the app listens (spec port set) */
    json_t *spec;     /* borrowed */
} local_app;

static void local_app_free(local_app *a)
{
    free(a->dir);
    free(a->src);
    free(a->build_hash);
    free(a->run_hash);
    free(a->rel);
}

static char *local_inst_path(local_app *a, int i, const char *file)
{
    return file ? local_xasprintf("%s/inst-%d/%s", a->dir, i, file)
                : local_xasprintf("%s/inst-%d", a->dir, i);
}

static char *local_app_log(local_prov *p, const char *name, int i)
{
    return i == 0 ? local_path(p, "logs/%s.log", name) : local_path(p, "logs/%s.%d.log", name, i);
}

static char *local_port_key(const char *name, int i)
{
    return local_xasprintf("app/%s/%d", name, i);
}

/*
 * The project directory: the core puts the state dir at
 * <project>/.hoist/local/<env>, so relative app paths resolve from there.
 */
static char *local_project_dir(local_prov *p)
{
    char *d = local_xstrdup(p->dir);
    for (int up = 0; up < 3; up++) {
        char *s = strrchr(d, '/');
        if (!s || s == d)
            break;
        *s = '\0';
        if (up == 2 && strcmp(s + 1, ".hoist") == 0)
            return d;
    }
    free(d);
    char cwd[4096];
    return local_xstrdup(getcwd(cwd, sizeof cwd) ? cwd : ".");
}

/* The app's source directory: spec "source_dir" (absolute, if the core sets
 * it), else "path", relative to the project directory. */
static char *local_app_source(local_prov *p, json_t *spec)
{
    const char *s = json_string_value(json_object_get(spec, "source_dir"));
    if (!s)
        s = json_string_value(json_object_get(spec, "path"));
    if (!s)
        return NULL;
    if (s[0] == '/')
        return local_xstrdup(s);
    char *proj = local_project_dir(p);
    char *full = local_xasprintf("%s/%s", proj, s);
    free(proj);
    char buf[4096];
    char *real = realpath(full, buf);
    char *out = local_xstrdup(real ? real : full);
    free(full);
    return out;
}

static char *local_hex(uint64_t h)
{
    return local_xasprintf("%016" PRIx64, h);
}

/* Fill @a from @r; hashes the source tree.  No process is touched. */
static hoist_status local_app_setup(local_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                    local_app *a, int need_source)
{
    memset(a, 0, sizeof *a);
    a->name = r->name;
    a->spec = r->spec;
    if (!local_name_ok(r->name))
        return p->host->fail(ctx, HOIST_E_INVALID,
                             "application name '%s': use letters, digits, '_' or '-' (max 63)",
                             r->name);
    a->dir = local_path(p, "apps/%s", r->name);
    json_t *inst = json_object_get(r->spec, "instances");
    json_int_t n = json_is_integer(inst) ? json_integer_value(inst)
                                         : json_integer_value(json_object_get(inst, "min"));
    /* Nothing scales locally: min instances run, and always at least one. */
    a->instances = n < 1 ? 1 : n > 20 ? 20 : (int)n;
    a->health = json_string_value(json_object_get(r->spec, "healthcheck"));
    a->has_port = json_integer_value(json_object_get(r->spec, "port")) > 0 || a->health;
    if (!need_source)
        return HOIST_OK;
    if (json_object_get(r->spec, "image") && !json_object_get(r->spec, "path"))
        return p->host->fail(ctx, HOIST_E_UNSUPPORTED,
                             "application %s uses a prebuilt image: the local provider runs "
                             "source directories (`path:`) only",
                             r->name);
    a->src = local_app_source(p, r->spec);
    struct stat st;
    if (!a->src || stat(a->src, &st) != 0 || !S_ISDIR(st.st_mode))
        return p->host->fail(ctx, HOIST_E_INVALID, "source directory of application %s not found: %s",
                             r->name, a->src ? a->src : "(no `path:`)");
    uint64_t tree;
    if (local_tree_digest(a->src, local_skip, &tree) != 0)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot read the source of %s (%s): %s",
                             r->name, a->src, local_strerror(errno));
    char *bspec = json_dumps(json_object_get(r->spec, "build"), JSON_COMPACT | JSON_SORT_KEYS |
                                                                    JSON_ENCODE_ANY);
    uint64_t bh = local_fnv(tree, bspec ? bspec : "", bspec ? strlen(bspec) : 0);
    free(bspec);
    char *all = json_dumps(r->spec, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t rh = local_fnv(bh, all ? all : "", all ? strlen(all) : 0);
    if (all)
        memset(all, 0, strlen(all)); /* the spec carries database passwords */
    free(all);
    a->build_hash = local_hex(bh);
    a->run_hash = local_hex(rh);
    a->rel = local_xasprintf("%s/rel-%s", a->dir, a->build_hash);
    return HOIST_OK;
}

/* ---- environment ----------------------------------------------------------- */

typedef struct local_env {
    char **v;
    size_t n;
} local_env;

static void local_env_set(local_env *e, const char *k, const char *val)
{
    size_t kl = strlen(k);
    char *entry = local_xasprintf("%s=%s", k, val);
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->v[i], k, kl) == 0 && e->v[i][kl] == '=') {
            free(e->v[i]);
            e->v[i] = entry;
            return;
        }
    char **v = realloc(e->v, (e->n + 2) * sizeof *v);
    if (!v)
        abort();
    e->v = v;
    e->v[e->n++] = entry;
    e->v[e->n] = NULL;
}

static void local_env_free(local_env *e)
{
    for (size_t i = 0; i < e->n; i++) {
        memset(e->v[i], 0, strlen(e->v[i]));
        free(e->v[i]);
    }
    free(e->v);
}

/*
 * The base environment of builds and apps: only what programs need to run
 * (PATH, HOME, locale...), never the operator's cloud credentials.
 */
static void local_env_base(local_env *e)
{
    static const char *const keep[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL",
                                       "TZ", "TMPDIR", "npm_config_cache", "NPM_CONFIG_CACHE",
                                       "npm_config_registry", NULL};
    for (const char *const *k = keep; *k; k++) {
        const char *v = getenv(*k);
        if (v)
            local_env_set(e, *k, v);
    }
    if (!getenv("PATH"))
        local_env_set(e, "PATH", "/usr/local/bin:/usr/bin:/bin");
}

/* ---- build ------------------------------------------------------------------ */

/* argv from a JSON array of strings (new, NULL-terminated; strings borrowed). */
static const char **local_argv_json(json_t *arr)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return NULL;
    const char **v = local_xmalloc((json_array_size(arr) + 1) * sizeof *v);
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (!json_is_string(x)) {
            free(v);
            return NULL;
        }
        v[i] = json_string_value(x);
    }
    v[json_array_size(arr)] = NULL;
    return v;
}

static hoist_status local_app_build(local_prov *p, hoist_ctx *ctx, local_app *a)
{
    char *marker = local_xasprintf("%s.built", a->rel);
    char *blog = local_path(p, "logs/%s-build.log", a->name);
    local_env env = {0};
    const char **argv = NULL;
    int fd = -1;
    hoist_status st = HOIST_OK;
    if (access(marker, F_OK) == 0)
        goto cleanup; /* built by an earlier run */
    p->host->log(ctx, HOIST_LOG_INFO, "copying %s to %s", a->src, a->rel);
    if (local_rmrf(a->rel) != 0 || local_mkdirs(a->dir, 0700) != 0 ||
        local_copytree(a->src, a->rel, local_skip) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot copy %s to %s: %s", a->src, a->rel,
                           local_strerror(errno));
        goto cleanup;
    }
    /* The core resolves the build step (build.command, else npm ci / npm
       install by the files present) into the spec: no step here means none. */
    json_t *bcmd = json_object_get(json_object_get(a->spec, "build"), "command");
    const char *const *cmd = NULL;
    if (bcmd) {
        argv = local_argv_json(bcmd);
        if (!argv) {
            st = p->host->fail(ctx, HOIST_E_INVALID,
                               "build.command of %s must be a list of strings (argv)", a->name);
            goto cleanup;
        }
        cmd = argv;
    }
    if (cmd) {
        char *logs = local_path(p, "logs");
        local_mkdirs(logs, 0700);
        free(logs);
        fd = open(blog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", blog,
                               local_strerror(errno));
            goto cleanup;
        }
        char *shown = local_argv_str(cmd);
        p->host->log(ctx, HOIST_LOG_INFO, "building: %s (output in %s)", shown, blog);
        local_env_base(&env);
        local_spawn s = {.argv = cmd, .envp = (const char *const *)env.v, .cwd = a->rel,
                         .out_fd = fd, .timeout_ms = 15 * 60 * 1000};
        int rc = local_run(p, ctx, &s, NULL, NULL);
        if (rc != 0) {
            char *text = local_read_file(blog, NULL);
            st = p->host->fail(ctx, p->host->cancelled(ctx) ? HOIST_E_CANCELLED : HOIST_E_INVALID,
                               "build of %s failed: `%s` exited with %d in %s:\n%s\n(full "
                               "output: %s)",
                               a->name, shown, rc, a->rel, local_tail_lines(text, 10), blog);
            free(text);
        }
        free(shown);
        if (st != HOIST_OK)
            goto cleanup;
    }
    if (local_write_file(marker, a->build_hash, strlen(a->build_hash), 0600) != 0)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", marker,
                           local_strerror(errno));
cleanup:
    if (fd >= 0)
        close(fd);
    local_env_free(&env);
    free(argv);
    free(marker);
    free(blog);
    return st;
}

/* The start command: spec "command" (argv).  The core fills it in from the
 * app's package.json (`npm start`, else `node <main>`) when hoist.yml does
 * not say, so both runtimes start an app the same way. */
static hoist_status local_app_command(local_prov *p, hoist_ctx *ctx, local_app *a, json_t **out)
{
    json_t *cmd = json_object_get(a->spec, "command");
    if (!cmd)
        return p->host->fail(ctx, HOIST_E_INVALID,
                             "cannot tell how to start %s: add a \"start\" script (or a "
                             "\"main\" file) to its package.json, or give the app a "
                             "`command:` (argv list) in hoist.yml",
                             a->name);
    const char **v = local_argv_json(cmd);
    free(v);
    if (!v)
        return p->host->fail(ctx, HOIST_E_INVALID,
                             "command of %s must be a list of strings (argv)", a->name);
    *out = json_incref(cmd);
    return HOIST_OK;
}

/* ---- instances ---------------------------------------------------------------- */

static pid_t local_inst_runner(local_app *a, int i)
{
    char *pf = local_inst_path(a, i, "runner.pid");
    pid_t pid = local_pidfile_alive(pf, LOCAL_RUNNER_NAME);
    free(pf);
    return pid;
}

static pid_t local_inst_app(local_app *a, int i)
{
    char *pf = local_inst_path(a, i, "app.pid");
    pid_t pid = local_pidfile_alive(pf, NULL);
    free(pf);
    return pid;
}

static int local_inst_restarts(local_app *a, int i)
{
    char *f = local_inst_path(a, i, "restarts");
    char *s = local_read_file(f, NULL);
    int n = s ? atoi(s) : 0;
    free(s);
    free(f);
    return n;
}

/* 1 if instance @i runs the wanted hash under a live runner. */
static int local_inst_current(local_app *a, int i)
{
    if (!local_inst_runner(a, i))
        return 0;
    char *hf = local_inst_path(a, i, "hash");
    char *h = local_read_file(hf, NULL);
    int same = h && a->run_hash && strcmp(h, a->run_hash) == 0;
    free(h);
    free(hf);
    return same;
}

/* Stop instance directory @idir: runner (which stops the app's process
 * group), then anything still tagged with the instance. */
static hoist_status local_inst_stop_dir(local_prov *p, hoist_ctx *ctx, const char *idir)
{
    char *pf = local_xasprintf("%s/runner.pid", idir);
    pid_t pid = local_pidfile_alive(pf, LOCAL_RUNNER_NAME);
    if (pid > 0) {
        kill(pid, SIGTERM);
        if (!local_wait_gone(pid, 15000)) {
            p->host->log(ctx, HOIST_LOG_WARN, "runner %ld ignored SIGTERM; killing its group",
                         (long)pid);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            local_wait_gone(pid, 5000);
        }
    }
    /* Stragglers: an app that survived a killed runner, or its children. */
    for (int round = 0; round < 20 && local_kill_tagged(LOCAL_TAG, idir) > 0; round++) {
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
    }
    char *ap = local_xasprintf("%s/app.pid", idir);
    unlink(pf);
    unlink(ap);
    free(pf);
    free(ap);
    return HOIST_OK;
}

static hoist_status local_inst_start(local_prov *p, hoist_ctx *ctx, local_app *a, int i, int port,
                                     json_t *cmd)
{
    char *idir = local_inst_path(a, i, NULL);
    char *hf = local_inst_path(a, i, "hash");
    char *rf = local_inst_path(a, i, "restarts");
    char *log = local_app_log(p, a->name, i);
    char *logs = local_path(p, "logs");
    local_env env = {0};
    const char **argv = NULL;
    hoist_status st = HOIST_OK;
    if (!p->runner || access(p->runner, X_OK) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL,
                           "the process supervisor %s is missing: reinstall hoist, or point "
                           "HOIST_LOCAL_RUNNER at hoist-local-run",
                           p->runner ? p->runner : LOCAL_RUNNER_NAME);
        goto cleanup;
    }
    if (local_mkdirs(idir, 0700) != 0 || local_mkdirs(logs, 0700) != 0 ||
        local_write_file(hf, a->run_hash, strlen(a->run_hash), 0600) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot prepare %s: %s", idir,
                           local_strerror(errno));
        goto cleanup;
    }
    unlink(rf);
    local_env_base(&env);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(a->spec, "env"), k, v)
    {
        if (json_is_string(v))
            local_env_set(&env, k, json_string_value(v));
    }
    if (port > 0) {
        char ps[16];
        snprintf(ps, sizeof ps, "%d", port);
        local_env_set(&env, "PORT", ps);
    }
    local_env_set(&env, LOCAL_TAG, idir);
    size_t nc = json_array_size(cmd);
    argv = local_xmalloc((nc + 7) * sizeof *argv);
    size_t n = 0;
    argv[n++] = p->runner;
    argv[n++] = "--dir";
    argv[n++] = idir;
    argv[n++] = "--log";
    argv[n++] = log;
    argv[n++] = "--";
    for (size_t j = 0; j < nc; j++)
        argv[n++] = json_string_value(json_array_get(cmd, j));
    argv[n] = NULL;
    local_spawn s = {.argv = argv, .envp = (const char *const *)env.v, .cwd = a->rel,
                     .out_fd = -1, .detach = 1};
    if (local_run(p, ctx, &s, NULL, NULL) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot start %s: %s", p->runner,
                           local_strerror(errno));
        goto cleanup;
    }
    /* The runner writes its pid file first thing; wait for it so that a
     * crash of hoist right now still leaves a findable instance. */
    for (int t = 0; t < 100 && !local_inst_runner(a, i); t++) {
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    if (!local_inst_runner(a, i))
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "%s did not start for %s: see %s", p->runner,
                           a->name, log);
cleanup:
    local_env_free(&env);
    free(argv);
    free(idir);
    free(hf);
    free(rf);
    free(log);
    free(logs);
    return st;
}

/* 1 when instance @i answers its health check. */
static int local_inst_healthy(local_prov *p, local_app *a, int i)
{
    char *key = local_port_key(a->name, i);
    int port = local_port_peek(p, key);
    free(key);
    if (!local_inst_app(a, i))
        return 0;
    if (!a->has_port || port <= 0)
        return 1;
    if (a->health) {
        int code = local_http_get_status(port, a->health, 2000, NULL, 0);
        return code >= 200 && code < 300;
    }
    return local_port_open(port, 500);
}

/* Instance directories that exist (any number), as indexes; returns count. */
static int local_inst_list(local_app *a, int *idx, int max)
{
    DIR *d = opendir(a->dir);
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        int i;
        char rest;
        if (sscanf(e->d_name, "inst-%d%c", &i, &rest) == 1 && i >= 0)
            idx[n++] = i;
    }
    closedir(d);
    return n;
}

static void local_app_result(local_prov *p, local_app *a, const char *state, hoist_result *out)
{
    json_t *urls = json_array(), *pids = json_array(), *ports = json_array();
    for (int i = 0; i < a->instances; i++) {
        char *key = local_port_key(a->name, i);
        int port = local_port_peek(p, key);
        free(key);
        if (port > 0) {
            json_array_append_new(ports, json_integer(port));
            if (a->has_port)
                json_array_append_new(urls, json_sprintf("http://%s:%d/", LOCAL_ADDR, port));
        }
        pid_t pid = local_inst_app(a, i);
        if (pid > 0)
            json_array_append_new(pids, json_integer(pid));
    }
    char *log = local_app_log(p, a->name, 0);
    json_t *o = json_pack("{s:s+,s:s,s:s,s:i,s:o,s:o,s:o}", "id", "app/", a->name, "state",
                          state, "log", log, "instances", a->instances, "urls", urls, "pids", pids,
                          "ports", ports);
    if (json_array_size(urls))
        json_object_set(o, "url", json_array_get(urls, 0));
    if (json_array_size(pids))
        json_object_set(o, "pid", json_array_get(pids, 0));
    if (json_array_size(ports))
        json_object_set(o, "port", json_array_get(ports, 0));
    if (a->rel)
        json_object_set_new(o, "release_dir", json_string(a->rel));
    pid_t runner = local_inst_runner(a, 0);
    if (runner > 0)
        json_object_set_new(o, "runner_pid", json_integer(runner));
    free(log);
    out->outputs = o;
}

/* Remove releases other than the current one (after a successful switch). */
static void local_app_prune(local_app *a)
{
    DIR *d = opendir(a->dir);
    if (!d)
        return;
    struct dirent *e;
    char *keep = local_xasprintf("rel-%s", a->build_hash);
    char *keep_marker = local_xasprintf("rel-%s.built", a->build_hash);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "rel-", 4) != 0 || strcmp(e->d_name, keep) == 0 ||
            strcmp(e->d_name, keep_marker) == 0)
            continue;
        char *path = local_xasprintf("%s/%s", a->dir, e->d_name);
        local_rmrf(path);
        free(path);
    }
    closedir(d);
    free(keep);
    free(keep_marker);
}

/*
 * Wait until every instance is healthy.  HOIST_OK; HOIST_PENDING after the
 * wait (the core polls again); an error when an instance keeps crashing.
 */
static hoist_status local_app_wait(local_prov *p, hoist_ctx *ctx, local_app *a, long wait_ms,
                                   hoist_result *out)
{
    long long t0 = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
    for (;;) {
        int ok = 1;
        for (int i = 0; i < a->instances; i++) {
            if (!local_inst_runner(a, i)) {
                char *log = local_app_log(p, a->name, i);
                hoist_status st = p->host->fail(ctx, HOIST_E_INTERNAL,
                                                "the supervisor of %s (instance %d) stopped: see %s",
                                                a->name, i, log);
                free(log);
                return st;
            }
            if (local_inst_healthy(p, a, i))
                continue;
            ok = 0;
            if (local_inst_restarts(a, i) >= 3) {
                char *log = local_app_log(p, a->name, i);
                char *text = local_read_file(log, NULL);
                hoist_status st = p->host->fail(
                    ctx, HOIST_E_INVALID,
                    "%s keeps crashing (restarted %d times, still retrying with backoff); "
                    "last lines of %s:\n%s",
                    a->name, local_inst_restarts(a, i), log, local_tail_lines(text, 10));
                free(text);
                free(log);
                return st;
            }
        }
        if (ok)
            return HOIST_OK;
        if (p->host->cancelled(ctx))
            return p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled while %s starts", a->name);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - t0 > wait_ms) {
            out->poll_ms = 2000;
            out->status_text = "starting";
            return HOIST_PENDING;
        }
        struct timespec nap = {0, 200000000L};
        nanosleep(&nap, NULL);
    }
}

static hoist_status local_app_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                     hoist_result *out)
{
    local_prov *p = vp;
    local_app a;
    json_t *cmd = NULL;
    hoist_status st = local_app_setup(p, ctx, r, &a, 1);
    if (st != HOIST_OK)
        goto cleanup;
    int changed = 0;
    for (int i = 0; i < a.instances; i++)
        if (!local_inst_current(&a, i))
            changed = 1;
    if (changed) {
        st = local_app_build(p, ctx, &a);
        if (st == HOIST_OK)
            st = local_app_command(p, ctx, &a, &cmd);
        for (int i = 0; st == HOIST_OK && i < a.instances; i++) {
            if (local_inst_current(&a, i))
                continue;
            char *idir = local_inst_path(&a, i, NULL);
            local_inst_stop_dir(p, ctx, idir);
            free(idir);
            int port = 0;
            char *key = local_port_key(a.name, i);
            if (a.has_port)
                st = local_port_get(p, ctx, key, 0, &port);
            free(key);
            if (st == HOIST_OK) {
                p->host->log(ctx, HOIST_LOG_INFO, "starting %s instance %d on %s:%d", a.name, i,
                             LOCAL_ADDR, port);
                st = local_inst_start(p, ctx, &a, i, port, cmd);
            }
        }
    }
    /* Instances beyond the wanted count (instances.min went down). */
    int idx[64];
    int n = local_inst_list(&a, idx, 64);
    for (int k = 0; st == HOIST_OK && k < n; k++) {
        if (idx[k] < a.instances)
            continue;
        char *idir = local_inst_path(&a, idx[k], NULL);
        char *key = local_port_key(a.name, idx[k]);
        local_inst_stop_dir(p, ctx, idir);
        local_rmrf(idir);
        local_port_release(p, key);
        free(idir);
        free(key);
    }
    if (st != HOIST_OK)
        goto cleanup;
    long wait_ms = 60000;
    json_t *hw = json_object_get(r->spec, "healthcheck_timeout");
    if (json_is_integer(hw))
        wait_ms = (long)json_integer_value(hw) * 1000;
    st = local_app_wait(p, ctx, &a, wait_ms, out);
    if (st == HOIST_OK && changed)
        local_app_prune(&a);
    if (st >= 0)
        local_app_result(p, &a, st == HOIST_OK ? "running" : "starting", out);
cleanup:
    json_decref(cmd);
    local_app_free(&a);
    return st;
}

static hoist_status local_app_observe(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                      hoist_result *out)
{
    local_prov *p = vp;
    local_app a;
    hoist_status st = local_app_setup(p, ctx, r, &a, 0);
    if (st != HOIST_OK)
        goto cleanup;
    struct stat sb;
    if (stat(a.dir, &sb) != 0) {
        st = HOIST_E_NOTFOUND;
        goto cleanup;
    }
    int running = 0, healthy = 0;
    for (int i = 0; i < a.instances; i++) {
        if (local_inst_runner(&a, i))
            running++;
        if (local_inst_healthy(p, &a, i))
            healthy++;
    }
    const char *state = healthy == a.instances ? "running" : running ? "starting" : "stopped";
    local_app_result(p, &a, state, out);
    if (healthy != a.instances) {
        st = HOIST_PENDING;
        out->status_text = running ? "starting" : "stopped";
    }
cleanup:
    local_app_free(&a);
    return st;
}

static hoist_status local_app_stop_all(local_prov *p, hoist_ctx *ctx, local_app *a)
{
    int idx[64];
    int n = local_inst_list(a, idx, 64);
    for (int k = 0; k < n; k++) {
        char *idir = local_inst_path(a, idx[k], NULL);
        local_inst_stop_dir(p, ctx, idir);
        free(idir);
    }
    return HOIST_OK;
}

static hoist_status local_app_pause(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                    hoist_result *out)
{
    local_prov *p = vp;
    local_app a;
    hoist_status st = local_app_setup(p, ctx, r, &a, 0);
    if (st == HOIST_OK)
        st = local_app_stop_all(p, ctx, &a);
    if (st == HOIST_OK)
        local_app_result(p, &a, "paused", out);
    local_app_free(&a);
    return st;
}

static hoist_status local_app_destroy(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                      hoist_result *out)
{
    (void)out;
    local_prov *p = vp;
    local_app a;
    hoist_status st = local_app_setup(p, ctx, r, &a, 0);
    if (st != HOIST_OK)
        goto cleanup;
    int idx[64];
    int n = local_inst_list(&a, idx, 64);
    local_app_stop_all(p, ctx, &a);
    if (local_rmrf(a.dir) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot remove %s: %s", a.dir,
                           local_strerror(errno));
        goto cleanup;
    }
    for (int k = 0; k < n; k++) {
        char *log = local_app_log(p, a.name, idx[k]);
        unlink(log);
        free(log);
    }
    char *blog = local_path(p, "logs/%s-build.log", a.name);
    unlink(blog);
    free(blog);
    char *prefix = local_xasprintf("app/%s/", a.name);
    local_port_release(p, prefix);
    free(prefix);
cleanup:
    local_app_free(&a);
    return st;
}

/* Copy what is new in @path since *@off to @fd. */
static int local_copy_from(const char *path, off_t *off, int fd)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno == ENOENT ? 0 : -1;
    struct stat st;
    if (fstat(in, &st) == 0 && st.st_size < *off)
        *off = 0; /* truncated: start over */
    lseek(in, *off, SEEK_SET);
    char buf[8192];
    ssize_t k;
    int rc = 0;
    while ((k = read(in, buf, sizeof buf)) > 0) {
        if (write(fd, buf, (size_t)k) != k) {
            rc = -1;
            break;
        }
        *off += k;
    }
    close(in);
    return rc;
}

static hoist_status local_app_logs(void *vp, hoist_ctx *ctx, const hoist_resource *r, int fd,
                                   int follow)
{
    local_prov *p = vp;
    local_app a;
    hoist_status st = local_app_setup(p, ctx, r, &a, 0);
    if (st != HOIST_OK)
        goto cleanup;
    int n = a.instances;
    off_t offs[20] = {0};
    int first = 1;
    do {
        for (int i = 0; i < n; i++) {
            char *log = local_app_log(p, a.name, i);
            if (local_copy_from(log, &offs[i], fd) != 0) {
                st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot copy %s: %s", log,
                                   local_strerror(errno));
                free(log);
                goto cleanup;
            }
            if (first && !follow && offs[i] == 0 && i == 0)
                p->host->log(ctx, HOIST_LOG_INFO, "no output yet in %s", log);
            free(log);
        }
        first = 0;
        if (follow) {
            struct timespec nap = {0, 200000000L};
            nanosleep(&nap, NULL);
        }
    } while (follow && !p->host->cancelled(ctx));
cleanup:
    local_app_free(&a);
    return st;
}

const hoist_app_ops local_app_ops = {
    .struct_size = sizeof local_app_ops,
    .ensure = local_app_ensure,
    .observe = local_app_observe,
    .destroy = local_app_destroy,
    .pause = local_app_pause,
    .logs = local_app_logs,
};
