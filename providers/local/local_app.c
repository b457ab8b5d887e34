/*
 * local_app.c - applications as supervised local processes.
 *
 * <state>/apps/<name>/ holds:
 *   rel-<buildhash>/       a copy of the source, built (npm ci, build.command)
 *   rel-<buildhash>.built  written once the build succeeded
 *   inst-<id>/             one instance (see "instances" below)
 *   serving.json           which instances serve, from which release
 *   proxy/                 the stable port's relay (hoist-local-run --proxy)
 * Logs: <state>/logs/<name>.log (id 0), <name>.<id>.log, <name>-proxy.log,
 * <name>-build.log.
 *
 * The build hash covers the source tree and build settings; the run hash
 * adds the spec (env included, instance count left out).  ensure keeps a
 * serving instance whose run hash is the wanted one and that answers, so an
 * unchanged deploy never restarts a healthy app; anything else is replaced
 * by new instances that serve only once healthy.  An env-only change
 * replaces without rebuilding.
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
    return file ? hoist_kit_xasprintf("%s/inst-%d/%s", a->dir, i, file)
                : hoist_kit_xasprintf("%s/inst-%d", a->dir, i);
}

static char *local_app_log(local_prov *p, const char *name, int i)
{
    return i == 0 ? local_path(p, "logs/%s.log", name) : local_path(p, "logs/%s.%d.log", name, i);
}

static char *local_port_key(const char *name, int i)
{
    return hoist_kit_xasprintf("app/%s/%d", name, i);
}

/*
 * The project directory: the core puts the state dir at
 * <project>/.hoist/local/<env>, so relative app paths resolve from there.
 */
static char *local_project_dir(local_prov *p)
{
    char *d = hoist_kit_xstrdup(p->dir);
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
    return hoist_kit_xstrdup(getcwd(cwd, sizeof cwd) ? cwd : ".");
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
        return hoist_kit_xstrdup(s);
    char *proj = local_project_dir(p);
    char *full = hoist_kit_xasprintf("%s/%s", proj, s);
    free(proj);
    char buf[4096];
    char *real = realpath(full, buf);
    char *out = hoist_kit_xstrdup(real ? real : full);
    free(full);
    return out;
}

static char *local_hex(uint64_t h)
{
    return hoist_kit_xasprintf("%016" PRIx64, h);
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
                             r->name, a->src, hoist_kit_strerror(errno));
    char *bspec = json_dumps(json_object_get(r->spec, "build"), JSON_COMPACT | JSON_SORT_KEYS |
                                                                    JSON_ENCODE_ANY);
    uint64_t bh = hoist_kit_fnv1a(tree, bspec ? bspec : "", bspec ? strlen(bspec) : 0);
    free(bspec);
    /* The instance count is left out: scaling starts or stops instances
     * and leaves the others running. */
    json_t *run = json_copy(r->spec);
    json_object_del(run, "instances");
    char *all = json_dumps(run, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(run);
    uint64_t rh = hoist_kit_fnv1a(bh, all ? all : "", all ? strlen(all) : 0);
    if (all)
        memset(all, 0, strlen(all)); /* the spec carries database passwords */
    free(all);
    a->build_hash = local_hex(bh);
    a->run_hash = local_hex(rh);
    a->rel = hoist_kit_xasprintf("%s/rel-%s", a->dir, a->build_hash);
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
    char *entry = hoist_kit_xasprintf("%s=%s", k, val);
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
    const char **v = hoist_kit_xmalloc((json_array_size(arr) + 1) * sizeof *v);
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
    char *marker = hoist_kit_xasprintf("%s.built", a->rel);
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
                           hoist_kit_strerror(errno));
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
                               hoist_kit_strerror(errno));
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
                           hoist_kit_strerror(errno));
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

/*
 * Instances are numbered (inst-<id>); apps/<name>/serving.json says which of
 * them serve, and from which release: {"release": 6, "last": 7,
 * "instances": [0, 1]}.  A new release starts new instances next to the
 * serving ones, and only once all of them answer their health check does the
 * proxy move to them (local_proxy_switch); the old ones are stopped after
 * their connections drained.  So a release that fails leaves the serving one
 * untouched, and scaling starts or stops only the instances that differ.
 * Each instance directory also holds: hash (the run hash), release, started
 * (epoch seconds), logoff (its log's size when it started) and probe.json
 * (attempts, consecutive 4xx answers, last outcome).
 */
#define LOCAL_MAX_INST 64
#define LOCAL_DRAIN_MS 30000L
#define LOCAL_4XX_RUN 3 /* this many 4xx answers in a row fail a release */

typedef struct local_serving {
    long release; /* the release the serving instances run; 0: none yet */
    long last;    /* highest release number given out */
    int ids[LOCAL_MAX_INST];
    int n;
} local_serving;

static void local_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int local_has(const int *ids, int n, int id)
{
    for (int k = 0; k < n; k++)
        if (ids[k] == id)
            return 1;
    return 0;
}

static long local_inst_get(local_app *a, int id, const char *file)
{
    char *f = local_inst_path(a, id, file);
    char *s = local_read_file(f, NULL);
    long v = s ? atol(s) : 0;
    free(s);
    free(f);
    return v;
}

static int local_inst_put(local_app *a, int id, const char *file, long v)
{
    char *f = local_inst_path(a, id, file);
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", v);
    int rc = local_write_file(f, text, (size_t)n, 0600);
    free(f);
    return rc;
}

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

static int local_inst_port(local_prov *p, local_app *a, int id)
{
    char *key = local_port_key(a->name, id);
    int port = local_port_peek(p, key);
    free(key);
    return port;
}

/* 1 if instance @id has the wanted run hash (alive or not). */
static int local_inst_same_hash(local_app *a, int id)
{
    char *hf = local_inst_path(a, id, "hash");
    char *h = local_read_file(hf, NULL);
    int same = h && a->run_hash && strcmp(h, a->run_hash) == 0;
    free(h);
    free(hf);
    return same;
}

/* 1 if instance @id runs the wanted hash under a live runner. */
static int local_inst_current(local_app *a, int id)
{
    return local_inst_runner(a, id) && local_inst_same_hash(a, id);
}

/* Instance directories that exist, as ids in ascending order; returns count. */
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
    for (int k = 1; k < n; k++)
        for (int j = k; j > 0 && idx[j - 1] > idx[j]; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return n;
}

static void local_serving_load(local_app *a, local_serving *sv)
{
    memset(sv, 0, sizeof *sv);
    char *f = hoist_kit_xasprintf("%s/serving.json", a->dir);
    json_t *j = json_load_file(f, 0, NULL);
    free(f);
    if (!j) {
        /* A tree from before releases: its instances are release 1. */
        sv->n = local_inst_list(a, sv->ids, LOCAL_MAX_INST);
        sv->release = sv->last = sv->n ? 1 : 0;
        return;
    }
    sv->release = (long)json_integer_value(json_object_get(j, "release"));
    sv->last = (long)json_integer_value(json_object_get(j, "last"));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(j, "instances"), i, x)
    {
        if (sv->n < LOCAL_MAX_INST && json_is_integer(x))
            sv->ids[sv->n++] = (int)json_integer_value(x);
    }
    json_decref(j);
}

static hoist_status local_serving_save(local_prov *p, hoist_ctx *ctx, local_app *a,
                                       const local_serving *sv)
{
    json_t *ids = json_array();
    for (int k = 0; k < sv->n; k++)
        json_array_append_new(ids, json_integer(sv->ids[k]));
    json_t *j = json_pack("{s:I,s:I,s:o}", "release", (json_int_t)sv->release, "last",
                          (json_int_t)sv->last, "instances", ids);
    char *f = hoist_kit_xasprintf("%s/serving.json", a->dir);
    hoist_status st = HOIST_OK;
    if (local_mkdirs(a->dir, 0700) != 0 || local_write_json(f, j) != 0)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", f, hoist_kit_strerror(errno));
    free(f);
    json_decref(j);
    return st;
}

/* Stop instance directory @idir: runner (which stops the app's process
 * group), then anything still tagged with the instance. */
static hoist_status local_inst_stop_dir(local_prov *p, hoist_ctx *ctx, const char *idir)
{
    char *pf = hoist_kit_xasprintf("%s/runner.pid", idir);
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
    for (int round = 0; round < 20 && local_kill_tagged(LOCAL_TAG, idir) > 0; round++)
        local_sleep_ms(50);
    char *ap = hoist_kit_xasprintf("%s/app.pid", idir);
    unlink(pf);
    unlink(ap);
    free(pf);
    free(ap);
    return HOIST_OK;
}

/* Stop instance @id and forget it: directory and port (its log stays). */
static void local_inst_remove(local_prov *p, hoist_ctx *ctx, local_app *a, int id)
{
    char *idir = local_inst_path(a, id, NULL);
    char *key = local_port_key(a->name, id);
    local_inst_stop_dir(p, ctx, idir);
    local_rmrf(idir);
    local_port_release(p, key);
    free(idir);
    free(key);
}

/* Start hoist-local-run with @argv (its own arguments, then the command)
 * and the environment @env; wait for @pidfile (the runner writes it first
 * thing) so that a crash of hoist right now still leaves a findable process. */
static hoist_status local_runner_spawn(local_prov *p, hoist_ctx *ctx, const char *const *argv,
                                       local_env *env, const char *cwd, const char *idir,
                                       const char *log)
{
    if (!p->runner || access(p->runner, X_OK) != 0)
        return p->host->fail(ctx, HOIST_E_INTERNAL,
                             "the process supervisor %s is missing: reinstall hoist, or point "
                             "HOIST_LOCAL_RUNNER at hoist-local-run",
                             p->runner ? p->runner : LOCAL_RUNNER_NAME);
    local_env_set(env, LOCAL_TAG, idir);
    local_spawn s = {.argv = argv, .envp = (const char *const *)env->v, .cwd = cwd,
                     .out_fd = -1, .detach = 1};
    if (local_run(p, ctx, &s, NULL, NULL) != 0)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot start %s: %s", p->runner,
                             hoist_kit_strerror(errno));
    char *pf = hoist_kit_xasprintf("%s/runner.pid", idir);
    pid_t pid = 0;
    for (int t = 0; t < 100 && !(pid = local_pidfile_alive(pf, LOCAL_RUNNER_NAME)); t++)
        local_sleep_ms(20);
    free(pf);
    if (pid)
        return HOIST_OK;
    char *text = local_read_file(log, NULL);
    hoist_status st = p->host->fail(ctx, HOIST_E_INTERNAL, "%s did not start (see %s):\n%s",
                                    p->runner, log, local_tail_lines(text, 5));
    free(text);
    return st;
}

static hoist_status local_inst_start(local_prov *p, hoist_ctx *ctx, local_app *a, int id,
                                     long release, int port, json_t *cmd)
{
    char *idir = local_inst_path(a, id, NULL);
    char *hf = local_inst_path(a, id, "hash");
    char *log = local_app_log(p, a->name, id);
    char *logs = local_path(p, "logs");
    local_env env = {0};
    const char **argv = NULL;
    hoist_status st = HOIST_OK;
    struct stat lst;
    if (local_mkdirs(idir, 0700) != 0 || local_mkdirs(logs, 0700) != 0 ||
        local_write_file(hf, a->run_hash, strlen(a->run_hash), 0600) != 0 ||
        local_inst_put(a, id, "release", release) != 0 ||
        local_inst_put(a, id, "started", (long)time(NULL)) != 0 ||
        /* Crash reports read this instance's part of the log only. */
        local_inst_put(a, id, "logoff", stat(log, &lst) == 0 ? (long)lst.st_size : 0) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot prepare %s: %s", idir, hoist_kit_strerror(errno));
        goto cleanup;
    }
    local_env_base(&env);
    /* Loopback only, like the databases: an app that binds to $HOST is not
       reachable from other machines.  The app's env: in hoist.yml may override it. */
    local_env_set(&env, "HOST", LOCAL_ADDR);
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
    size_t nc = json_array_size(cmd);
    argv = hoist_kit_xmalloc((nc + 7) * sizeof *argv);
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
    st = local_runner_spawn(p, ctx, argv, &env, a->rel, idir, log);
cleanup:
    local_env_free(&env);
    free(argv);
    free(idir);
    free(hf);
    free(log);
    free(logs);
    return st;
}

/* ---- the proxy: one stable port per listening app ------------------------------ */

static char *local_proxy_dir(local_app *a)
{
    return hoist_kit_xasprintf("%s/proxy", a->dir);
}

static char *local_proxy_key(local_app *a)
{
    return hoist_kit_xasprintf("app/%s", a->name);
}

static pid_t local_proxy_pid(local_app *a)
{
    char *pf = hoist_kit_xasprintf("%s/proxy/runner.pid", a->dir);
    pid_t pid = local_pidfile_alive(pf, LOCAL_RUNNER_NAME);
    free(pf);
    return pid;
}

/* The app's stable port, served by `hoist-local-run --proxy` (started if it
 * is not running); *port gets it. */
static hoist_status local_proxy_ensure(local_prov *p, hoist_ctx *ctx, local_app *a, int *port)
{
    char *pdir = local_proxy_dir(a);
    char *key = local_proxy_key(a);
    char *log = local_path(p, "logs/%s-proxy.log", a->name);
    char *logs = local_path(p, "logs");
    local_env env = {0};
    pid_t pid = local_proxy_pid(a);
    int recorded = local_port_peek(p, key);
    hoist_status st = local_port_get(p, ctx, key, pid > 0, port);
    if (st != HOIST_OK || (pid > 0 && *port == recorded))
        goto cleanup;
    if (pid > 0)
        local_inst_stop_dir(p, ctx, pdir);
    if (local_mkdirs(pdir, 0700) != 0 || local_mkdirs(logs, 0700) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot create %s: %s", pdir, hoist_kit_strerror(errno));
        goto cleanup;
    }
    char ps[16];
    snprintf(ps, sizeof ps, "%d", *port);
    const char *argv[] = {p->runner, "--proxy", ps, "--dir", pdir, "--log", log, NULL};
    local_env_base(&env);
    p->host->log(ctx, HOIST_LOG_INFO, "%s listens on %s:%d (instances behind it)", a->name,
                 LOCAL_ADDR, *port);
    st = local_runner_spawn(p, ctx, argv, &env, "/", pdir, log);
cleanup:
    local_env_free(&env);
    free(pdir);
    free(key);
    free(log);
    free(logs);
    return st;
}

/*
 * Point the proxy at @ports and wait until no connection to an instance
 * outside them is left (or LOCAL_DRAIN_MS passed: long-lived keep-alive
 * connections are then cut).  The caller stops the old instances after.
 */
static hoist_status local_proxy_switch(local_prov *p, hoist_ctx *ctx, local_app *a,
                                       const int *ports, int n)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long gen = (long)now.tv_sec * 1000L + now.tv_nsec / 1000000L;
    hoist_kit_buf b = {0};
    hoist_kit_buf_printf(&b, "gen %ld\n", gen);
    for (int k = 0; k < n; k++)
        hoist_kit_buf_printf(&b, "%d\n", ports[k]);
    char *f = hoist_kit_xasprintf("%s/proxy/backends", a->dir);
    char *df = hoist_kit_xasprintf("%s/proxy/drained", a->dir);
    hoist_status st = HOIST_OK;
    if (local_write_file(f, b.s, b.len, 0600) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", f, hoist_kit_strerror(errno));
        goto cleanup;
    }
    pid_t pid = local_proxy_pid(a);
    if (pid <= 0 || kill(pid, SIGHUP) != 0) {
        char *log = local_path(p, "logs/%s-proxy.log", a->name);
        st = p->host->fail(ctx, HOIST_E_INTERNAL,
                           "the proxy of %s stopped (see %s); run hoist deploy again to restart it",
                           a->name, log);
        free(log);
        goto cleanup;
    }
    for (long waited = 0;; waited += 20) {
        char *d = local_read_file(df, NULL);
        long got = d ? atol(d) : 0;
        free(d);
        if (got == gen)
            break;
        if (waited >= LOCAL_DRAIN_MS || p->host->cancelled(ctx)) {
            p->host->log(ctx, HOIST_LOG_WARN,
                         "%s: connections to the old instances still open after %ld s; "
                         "stopping them anyway",
                         a->name, waited / 1000);
            break;
        }
        local_sleep_ms(20);
    }
cleanup:
    free(b.s);
    free(f);
    free(df);
    return st;
}

/* ---- health --------------------------------------------------------------------- */

typedef enum {
    LOCAL_PROBE_OK,     /* ready */
    LOCAL_PROBE_WAIT,   /* not yet: starting, or an answer that may change */
    LOCAL_PROBE_4XX,    /* the health check answered 4xx */
    LOCAL_PROBE_EXITED, /* the process exited: it crashed or could not start */
} local_probe_rc;

/* One readiness probe of instance @id; @what gets the outcome in words. */
static local_probe_rc local_inst_probe(local_prov *p, local_app *a, int id, char *what, size_t n)
{
    snprintf(what, n, "ready");
    if (!local_inst_runner(a, id)) {
        snprintf(what, n, "its supervisor stopped");
        return LOCAL_PROBE_EXITED;
    }
    int restarts = (int)local_inst_get(a, id, "restarts");
    if (!local_inst_app(a, id)) {
        if (!restarts) {
            what[0] = '\0'; /* not started yet: nothing was probed */
            return LOCAL_PROBE_WAIT;
        }
        snprintf(what, n, "the process exited (restarted %d time%s)", restarts,
                 restarts == 1 ? "" : "s");
        return LOCAL_PROBE_EXITED;
    }
    int port = local_inst_port(p, a, id);
    if (!a->has_port || port <= 0)
        return LOCAL_PROBE_OK;
    int code = 0;
    if (a->health) {
        code = local_http_get_status(port, a->health, 2000, NULL, 0);
        if (code >= 200 && code < 300)
            return LOCAL_PROBE_OK;
        if (code > 0)
            snprintf(what, n, "GET %s -> %d", a->health, code);
        else if (code < 0)
            snprintf(what, n, "GET %s -> not an HTTP answer", a->health);
        else
            snprintf(what, n, "GET %s -> %s", a->health,
                     local_port_open(port, 200) ? "no answer in 2 s" : "connection refused");
        if (code >= 400 && code < 500)
            return LOCAL_PROBE_4XX;
    } else {
        if (local_port_open(port, 500))
            return LOCAL_PROBE_OK;
        snprintf(what, n, "connect to port %d -> connection refused", port);
    }
    /* Refused by a process that has exited at least once: it crashed. */
    if (code <= 0 && local_inst_get(a, id, "restarts") > 0)
        return LOCAL_PROBE_EXITED;
    return LOCAL_PROBE_WAIT;
}

/*
 * Probe instance @id once and keep count in its probe.json.  Each failed
 * probe is logged: at info level when its outcome differs from the previous
 * one (or every 10th attempt), else at debug level (shown with -v), so a
 * slow start does not flood the screen.  Returns the outcome; *attempt and
 * *run4xx get the counters.
 */
static local_probe_rc local_inst_check(local_prov *p, hoist_ctx *ctx, local_app *a, int id,
                                       char *what, size_t n, int *attempt)
{
    local_probe_rc rc = local_inst_probe(p, a, id, what, n);
    if (!what[0]) {
        *attempt = 0;
        return rc;
    }
    char *f = local_inst_path(a, id, "probe.json");
    json_t *j = json_load_file(f, 0, NULL);
    if (!j)
        j = json_object();
    int att = (int)json_integer_value(json_object_get(j, "attempts")) + 1;
    int r4 = rc == LOCAL_PROBE_4XX ? (int)json_integer_value(json_object_get(j, "run4xx")) + 1 : 0;
    const char *last = json_string_value(json_object_get(j, "last"));
    if (rc != LOCAL_PROBE_OK) {
        int level = !last || strcmp(last, what) != 0 || att % 10 == 0 ? HOIST_LOG_INFO
                                                                        : HOIST_LOG_DEBUG;
        p->host->log(ctx, level, "%s r%ld instance %d: %s (attempt %d)", a->name,
                     local_inst_get(a, id, "release"), id, what, att);
    }
    json_object_set_new(j, "attempts", json_integer(att));
    json_object_set_new(j, "run4xx", json_integer(r4));
    json_object_set_new(j, "last", json_string(what));
    local_write_json(f, j);
    json_decref(j);
    free(f);
    *attempt = att;
    if (rc == LOCAL_PROBE_4XX && r4 < LOCAL_4XX_RUN)
        return LOCAL_PROBE_WAIT;
    return rc;
}

/* 1 when instance @id answers its health check now (no bookkeeping). */
static int local_inst_healthy(local_prov *p, local_app *a, int id)
{
    char what[160];
    return local_inst_probe(p, a, id, what, sizeof what) == LOCAL_PROBE_OK;
}

/* Replace every occurrence of @from in @s by @to (new string). */
static char *local_replace(const char *s, const char *from, const char *to)
{
    hoist_kit_buf b = {0};
    hoist_kit_buf_add(&b, "", 0);
    size_t fl = strlen(from);
    const char *q;
    while (fl && (q = strstr(s, from))) {
        hoist_kit_buf_add(&b, s, (size_t)(q - s));
        hoist_kit_buf_add(&b, to, strlen(to));
        s = q + fl;
    }
    hoist_kit_buf_add(&b, s, strlen(s));
    return b.s;
}

/* A line that reports an error: the first one is where a crash report starts. */
static int local_error_line(const char *l, size_t n)
{
    static const char *const marks[] = {"Error", "error:", "ERR!", "Cannot find", "cannot run",
                                        "Traceback", "panic", "exited with status",
                                        "killed by signal", NULL};
    for (const char *const *m = marks; *m; m++) {
        size_t ml = strlen(*m);
        for (size_t i = 0; i + ml <= n; i++)
            if (memcmp(l + i, *m, ml) == 0)
                return 1;
    }
    return 0;
}

/*
 * What instance @id wrote since it started, cut to the lines around the
 * FIRST error (a stack's tail alone hides the cause: Node prints the
 * file:line and the SyntaxError before the frames), then the last lines if
 * they come much later.  Paths into the release copy are shown as the
 * user's source paths.  New string.
 */
static char *local_crash_excerpt(local_prov *p, local_app *a, int id)
{
    enum { BEFORE = 5, AFTER = 10, TAIL = 4, MAXL = 4000 };
    char *log = local_app_log(p, a->name, id);
    char *text = local_read_file(log, NULL);
    const char *s = text ? text : "";
    long off = local_inst_get(a, id, "logoff");
    if (off > 0 && (size_t)off <= strlen(s))
        s += off;
    const char *start[MAXL];
    size_t len[MAXL];
    int n = 0, first = -1;
    for (const char *q = s; *q && n < MAXL;) {
        const char *e = strchr(q, '\n');
        size_t l = e ? (size_t)(e - q) : strlen(q);
        start[n] = q;
        len[n] = l;
        if (first < 0 && local_error_line(q, l))
            first = n;
        n++;
        q += l + (e ? 1 : 0);
    }
    hoist_kit_buf b = {0};
    hoist_kit_buf_add(&b, "", 0);
    int from = first < 0 ? (n > AFTER ? n - AFTER : 0) : (first > BEFORE ? first - BEFORE : 0);
    int to = first < 0 ? n : (first + AFTER < n ? first + AFTER : n);
    for (int k = from; k < to; k++)
        hoist_kit_buf_printf(&b, "  %.*s\n", (int)len[k], start[k]);
    if (to < n) {
        int tail = n - TAIL > to ? n - TAIL : to;
        if (tail > to)
            hoist_kit_buf_printf(&b, "  ...\n");
        for (int k = tail; k < n; k++)
            hoist_kit_buf_printf(&b, "  %.*s\n", (int)len[k], start[k]);
    }
    if (!n)
        hoist_kit_buf_printf(&b, "  (no output)\n");
    char *relslash = hoist_kit_xasprintf("%s/", a->rel);
    char *srcslash = hoist_kit_xasprintf("%s/", a->src);
    char *out = local_replace(b.s, relslash, srcslash);
    char *full = hoist_kit_xasprintf("%s's output (%s) around its first error:\n%s", a->name, log, out);
    free(relslash);
    free(srcslash);
    free(out);
    free(b.s);
    free(text);
    free(log);
    return full;
}

static void local_app_result(local_prov *p, local_app *a, const local_serving *sv,
                             const char *state, hoist_result *out)
{
    json_t *urls = json_array(), *pids = json_array(), *ports = json_array();
    for (int k = 0; k < sv->n; k++) {
        int port = local_inst_port(p, a, sv->ids[k]);
        if (port > 0) {
            json_array_append_new(ports, json_integer(port));
            if (a->has_port)
                json_array_append_new(urls, json_sprintf("http://%s:%d/", LOCAL_ADDR, port));
        }
        pid_t pid = local_inst_app(a, sv->ids[k]);
        if (pid > 0)
            json_array_append_new(pids, json_integer(pid));
    }
    char *log = local_app_log(p, a->name, sv->n ? sv->ids[0] : 0);
    json_t *o = json_pack("{s:s+,s:s,s:s,s:i,s:o,s:o,s:o}", "id", "app/", a->name, "state",
                          state, "log", log, "instances", sv->n, "instance_urls", urls, "pids",
                          pids, "instance_ports", ports);
    char *key = local_proxy_key(a);
    int port = a->has_port ? local_port_peek(p, key) : 0;
    free(key);
    if (port > 0) {
        /* The stable address: the proxy in front of the instances. */
        json_object_set_new(o, "port", json_integer(port));
        json_object_set_new(o, "url", json_sprintf("http://%s:%d/", LOCAL_ADDR, port));
        json_object_set_new(o, "urls", json_pack("[O]", json_object_get(o, "url")));
        json_object_set_new(o, "ports", json_pack("[i]", port));
    }
    if (json_array_size(pids))
        json_object_set(o, "pid", json_array_get(pids, 0));
    if (sv->release > 0)
        json_object_set_new(o, "release", json_integer(sv->release));
    if (a->rel)
        json_object_set_new(o, "release_dir", json_string(a->rel));
    pid_t runner = sv->n ? local_inst_runner(a, sv->ids[0]) : 0;
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
    char *keep = hoist_kit_xasprintf("rel-%s", a->build_hash);
    char *keep_marker = hoist_kit_xasprintf("rel-%s.built", a->build_hash);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "rel-", 4) != 0 || strcmp(e->d_name, keep) == 0 ||
            strcmp(e->d_name, keep_marker) == 0)
            continue;
        char *path = hoist_kit_xasprintf("%s/%s", a->dir, e->d_name);
        local_rmrf(path);
        free(path);
    }
    closedir(d);
    free(keep);
    free(keep_marker);
}

/*
 * The new instances @fresh of release @rel failed (@id said @what): stop
 * them, leave the serving ones as they are, and say so with the failed
 * instance's output around its first error.
 */
static hoist_status local_release_failed(local_prov *p, hoist_ctx *ctx, local_app *a,
                                         const local_serving *sv, long rel, const int *fresh,
                                         int nfresh, int id, const char *what, int attempt)
{
    char *excerpt = local_crash_excerpt(p, a, id);
    for (int k = 0; k < nfresh; k++)
        local_inst_remove(p, ctx, a, fresh[k]);
    /* Serving means alive and accepting connections: the old release is not
     * judged by a healthcheck path that may be the very thing changed. */
    int healthy = 0;
    for (int k = 0; k < sv->n; k++) {
        int port = local_inst_port(p, a, sv->ids[k]);
        healthy += local_inst_app(a, sv->ids[k]) > 0 &&
                   (!a->has_port || (port > 0 && local_port_open(port, 500)));
    }
    char *serving = !sv->n ? hoist_kit_xstrdup("nothing was serving")
                    : sv->release == rel ? hoist_kit_xstrdup("nothing healthy is serving")
                    : healthy ? hoist_kit_xasprintf("r%ld still serving", sv->release)
                              : hoist_kit_xasprintf("r%ld is not healthy either", sv->release);
    hoist_status st = p->host->fail(
        ctx, HOIST_E_INVALID, "release r%ld failed its healthcheck; %s\ninstance %d: %s (attempt %d)\n%s",
        rel, serving, id, what, attempt, excerpt);
    free(serving);
    free(excerpt);
    return st;
}

/*
 * Bring the app to its spec without a gap in service:
 *  1. keep the serving instances that run the wanted hash and answer now;
 *     one that does not (crash-looping, stuck in the runner's backoff) is
 *     replaced, with the current environment;
 *  2. start what is missing (a new release, or more instances) next to them;
 *  3. probe the new ones (returning HOIST_PENDING between rounds, so a stop
 *     request is seen at once; the next call resumes from the files);
 *  4. once all answer, move the proxy to them, wait for the drain, stop the
 *     instances taken out.  A failure stops only the new ones.
 */
static hoist_status local_app_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                     hoist_result *out)
{
    local_prov *p = vp;
    local_app a;
    json_t *cmd = NULL;
    local_serving sv;
    int proxy_port = 0;
    int all[LOCAL_MAX_INST], keep[LOCAL_MAX_INST], fresh[LOCAL_MAX_INST];
    int nkeep = 0, nfresh = 0;
    hoist_status st = local_app_setup(p, ctx, r, &a, 1);
    if (st != HOIST_OK)
        goto cleanup;
    if (a.has_port && (st = local_proxy_ensure(p, ctx, &a, &proxy_port)) != HOIST_OK)
        goto cleanup;
    local_serving_load(&a, &sv);
    int nall = local_inst_list(&a, all, LOCAL_MAX_INST);
    int same_release = 0;
    for (int k = 0; k < sv.n; k++) {
        int id = sv.ids[k];
        if (local_inst_same_hash(&a, id))
            same_release = 1;
        if (nkeep >= a.instances || !local_inst_current(&a, id))
            continue;
        if (local_inst_healthy(p, &a, id)) {
            keep[nkeep++] = id;
            continue;
        }
        char what[160];
        local_inst_probe(p, &a, id, what, sizeof what);
        p->host->log(ctx, HOIST_LOG_INFO,
                     "%s r%ld instance %d is not ready (%s): starting a new one with the "
                     "current environment",
                     a.name, sv.release, id, what);
    }
    /* New instances of this hash from an earlier call are resumed; any
     * other instance outside the serving set is a leftover. */
    long rel = same_release ? sv.release : 0;
    for (int k = 0; k < nall; k++) {
        int id = all[k];
        if (local_has(sv.ids, sv.n, id))
            continue;
        long r_id = local_inst_get(&a, id, "release");
        if (nkeep + nfresh < a.instances && local_inst_current(&a, id) && (!rel || r_id == rel)) {
            rel = r_id;
            fresh[nfresh++] = id;
        } else {
            local_inst_remove(p, ctx, &a, id);
        }
    }
    if (!rel) {
        rel = ++sv.last;
        if ((st = local_serving_save(p, ctx, &a, &sv)) != HOIST_OK)
            goto cleanup;
    }
    int need = a.instances - nkeep - nfresh;
    if (need > 0) {
        if ((st = local_app_build(p, ctx, &a)) != HOIST_OK ||
            (st = local_app_command(p, ctx, &a, &cmd)) != HOIST_OK)
            goto cleanup;
    }
    for (int id = 0; need > 0 && id < LOCAL_MAX_INST; id++) {
        if (local_has(sv.ids, sv.n, id) || local_has(fresh, nfresh, id))
            continue;
        int port = 0;
        char *key = local_port_key(a.name, id);
        if (a.has_port)
            st = local_port_get(p, ctx, key, 0, &port);
        free(key);
        if (st == HOIST_OK) {
            p->host->log(ctx, HOIST_LOG_INFO, "starting %s r%ld instance %d on %s:%d", a.name,
                         rel, id, LOCAL_ADDR, port);
            st = local_inst_start(p, ctx, &a, id, rel, port, cmd);
        }
        fresh[nfresh++] = id;
        need--;
        if (st != HOIST_OK) { /* the serving instances stay as they are */
            for (int k = 0; k < nfresh; k++)
                local_inst_remove(p, ctx, &a, fresh[k]);
            goto cleanup;
        }
    }
    /* Probe the new instances for about a second, then let the core call
     * again: that keeps Ctrl-C prompt. */
    long wait_s = 60;
    json_t *hw = json_object_get(r->spec, "healthcheck_timeout");
    if (json_is_integer(hw) && json_integer_value(hw) > 0)
        wait_s = (long)json_integer_value(hw);
    for (int round = 0; nfresh > 0; round++) {
        int ready = 0;
        for (int k = 0; k < nfresh; k++) {
            char what[160];
            int attempt = 0;
            local_probe_rc pr = local_inst_check(p, ctx, &a, fresh[k], what, sizeof what, &attempt);
            if (pr == LOCAL_PROBE_OK) {
                ready++;
                continue;
            }
            long age = (long)time(NULL) - local_inst_get(&a, fresh[k], "started");
            if (pr == LOCAL_PROBE_WAIT && age > wait_s) {
                char *w = hoist_kit_xasprintf("%s; not ready after %ld s (healthcheck_timeout)", what,
                                          wait_s);
                snprintf(what, sizeof what, "%s", w);
                free(w);
                pr = LOCAL_PROBE_EXITED;
            }
            if (pr != LOCAL_PROBE_WAIT) {
                st = local_release_failed(p, ctx, &a, &sv, rel, fresh, nfresh, fresh[k], what,
                                          attempt);
                goto cleanup;
            }
        }
        if (ready == nfresh)
            break;
        if (p->host->cancelled(ctx)) {
            st = p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled while %s r%ld starts", a.name,
                               rel);
            goto cleanup;
        }
        if (round >= 4) {
            local_app_result(p, &a, &sv, "starting", out);
            out->poll_ms = 250;
            p->host->progress(ctx, "starting r%ld: %d of %d new instances healthy", rel, ready, nfresh);
            st = HOIST_PENDING;
            goto cleanup;
        }
        local_sleep_ms(250);
    }
    /* Everything wanted answers: switch. */
    local_serving next = sv;
    next.n = 0;
    next.release = rel;
    for (int k = 0; k < nkeep; k++)
        next.ids[next.n++] = keep[k];
    for (int k = 0; k < nfresh; k++)
        next.ids[next.n++] = fresh[k];
    int changed = next.n != sv.n || next.release != sv.release;
    for (int k = 0; k < next.n && !changed; k++)
        changed = !local_has(sv.ids, sv.n, next.ids[k]);
    if (a.has_port) {
        int ports[LOCAL_MAX_INST];
        for (int k = 0; k < next.n; k++)
            ports[k] = local_inst_port(p, &a, next.ids[k]);
        if ((st = local_proxy_switch(p, ctx, &a, ports, next.n)) != HOIST_OK)
            goto cleanup;
    }
    if ((st = local_serving_save(p, ctx, &a, &next)) != HOIST_OK)
        goto cleanup;
    for (int k = 0; k < sv.n; k++)
        if (!local_has(next.ids, next.n, sv.ids[k]))
            local_inst_remove(p, ctx, &a, sv.ids[k]);
    if (changed) {
        if (sv.release && sv.release != rel)
            p->host->log(ctx, HOIST_LOG_INFO, "%s: r%ld serving (r%ld stopped)", a.name, rel,
                         sv.release);
        local_app_prune(&a);
    }
    local_app_result(p, &a, &next, "running", out);
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
    local_serving sv;
    hoist_status st = local_app_setup(p, ctx, r, &a, 0);
    if (st != HOIST_OK)
        goto cleanup;
    struct stat sb;
    if (stat(a.dir, &sb) != 0) {
        st = HOIST_E_NOTFOUND;
        goto cleanup;
    }
    local_serving_load(&a, &sv);
    int running = 0, healthy = 0;
    for (int k = 0; k < sv.n; k++) {
        if (local_inst_runner(&a, sv.ids[k]))
            running++;
        if (local_inst_healthy(p, &a, sv.ids[k]))
            healthy++;
    }
    int ok = healthy == a.instances && sv.n == a.instances &&
             (!a.has_port || local_proxy_pid(&a) > 0);
    const char *state = ok ? "running" : running ? "starting" : "stopped";
    local_app_result(p, &a, &sv, state, out);
    if (!ok) {
        st = HOIST_PENDING;
        p->host->progress(ctx, "%s: %d of %d instances healthy", running ? "starting" : "stopped",
                          healthy, a.instances);
    }
cleanup:
    local_app_free(&a);
    return st;
}

/* Stop every instance and the proxy (directories kept). */
static hoist_status local_app_stop_all(local_prov *p, hoist_ctx *ctx, local_app *a)
{
    int idx[LOCAL_MAX_INST];
    int n = local_inst_list(a, idx, LOCAL_MAX_INST);
    for (int k = 0; k < n; k++) {
        char *idir = local_inst_path(a, idx[k], NULL);
        local_inst_stop_dir(p, ctx, idir);
        free(idir);
    }
    char *pdir = local_proxy_dir(a);
    local_inst_stop_dir(p, ctx, pdir);
    free(pdir);
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
    if (st == HOIST_OK) {
        local_serving sv;
        local_serving_load(&a, &sv);
        local_app_result(p, &a, &sv, "paused", out);
    }
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
    local_app_stop_all(p, ctx, &a);
    if (local_rmrf(a.dir) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot remove %s: %s", a.dir,
                           hoist_kit_strerror(errno));
        goto cleanup;
    }
    /* Logs of every id an instance had (ids alternate between releases). */
    for (int k = 0; k < LOCAL_MAX_INST; k++) {
        char *log = local_app_log(p, a.name, k);
        unlink(log);
        free(log);
    }
    char *blog = local_path(p, "logs/%s-build.log", a.name);
    char *plog = local_path(p, "logs/%s-proxy.log", a.name);
    unlink(blog);
    unlink(plog);
    free(blog);
    free(plog);
    char *key = local_proxy_key(&a);
    local_port_release(p, key);
    free(key);
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
    /* Every instance id's log: ids alternate between releases, and an old
     * release's output explains what the new one changed. */
    off_t offs[LOCAL_MAX_INST] = {0};
    int first = 1;
    do {
        off_t total = 0;
        for (int i = 0; i < LOCAL_MAX_INST; i++) {
            char *log = local_app_log(p, a.name, i);
            if (local_copy_from(log, &offs[i], fd) != 0) {
                st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot copy %s: %s", log,
                                   hoist_kit_strerror(errno));
                free(log);
                goto cleanup;
            }
            total += offs[i];
            free(log);
        }
        if (first && !follow && total == 0) {
            char *log = local_app_log(p, a.name, 0);
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
