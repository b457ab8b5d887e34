/*
 * check_local.c - the local driver, loaded through the real loader, against
 * real servers: PostgreSQL, Redis, MariaDB (each skipped only when its server
 * programs are not installed) and a real Node.js app under hoist-local-run.
 */
#include "host.h"
#include "loader.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

static char *g_state;  /* the driver's state dir for this test */
static char *g_tmp;
static char *g_srv;    /* HOIST_LOCAL_SERVER_ROOT: as root, where servers keep their files */
static hoist_loader *g_loader;
static hoist_driver *g_drv;

static void setup(void)
{
    g_tmp = tu_tmpdir();
    /* Not /var/lib/hoist: a test that fails half-way must leave nothing
       there, and teardown finds its servers by this path. */
    g_srv = tu_tmpdir();
    ck_assert_int_eq(chmod(g_srv, 0711), 0);
    setenv("HOIST_LOCAL_SERVER_ROOT", g_srv, 1);
    g_state = malloc(4096);
    snprintf(g_state, 4096, "%s/.hoist/local/dev", g_tmp);
    g_loader = hoist_loader_new(NULL);
    char *err = NULL;
    ck_assert_msg(hoist_loader_open(g_loader, "local", &g_drv, &err) == HOIST_OK, "open: %s", err);
    json_t *settings = json_object();
    ck_assert_msg(hoist_driver_init(g_drv, settings, g_state, &err) == HOIST_OK, "init: %s", err);
    json_decref(settings);
}

static void kill_leftovers(const char *needle);

static void teardown(void)
{
    /* A failed test must not leave servers behind. */
    kill_leftovers(g_state);
    kill_leftovers(g_srv);
    hoist_driver_free(g_drv);
    hoist_loader_free(g_loader);
    tu_rmrf(g_tmp);
    free(g_tmp);
    tu_rmrf(g_srv);
    free(g_srv);
    unsetenv("HOIST_LOCAL_SERVER_ROOT");
    free(g_state);
}

typedef hoist_status (*op_fn)(void *, hoist_ctx *, const hoist_resource *, hoist_result *);

/* Call @op on resource @name with @spec; returns the status, *outputs (new ref). */
static hoist_status call(op_fn op, const char *name, json_t *spec, json_t **outputs,
                         json_t **secrets)
{
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, g_drv, name);
    json_t *needs = json_object();
    hoist_resource r = {.struct_size = sizeof r, .project = "t", .env = "dev", .name = name,
                        .spec = spec, .needs = needs};
    hoist_result out = {.struct_size = sizeof out};
    hoist_status st = op(g_drv->prov, &ctx, &r, &out);
    if (st < 0)
        fprintf(stderr, "# %s: %s (%s)\n", name, hoist_status_name(st),
                hoist_ctx_error(&ctx) ? hoist_ctx_error(&ctx) : "no detail");
    if (outputs)
        *outputs = out.outputs;
    else
        json_decref(out.outputs);
    if (secrets)
        *secrets = out.secrets;
    else
        json_decref(out.secrets);
    json_decref(needs);
    hoist_ctx_cleanup(&ctx);
    return st;
}

/* Call until not PENDING (at most @tries times, 1 s apart). */
static hoist_status call_ready(op_fn op, const char *name, json_t *spec, json_t **outputs)
{
    hoist_status st = HOIST_PENDING;
    for (int i = 0; i < 60 && st == HOIST_PENDING; i++) {
        if (i)
            sleep(1);
        if (outputs && *outputs)
            json_decref(*outputs);
        st = call(op, name, spec, outputs, NULL);
    }
    return st;
}

static long out_int(json_t *o, const char *k)
{
    return (long)json_integer_value(json_object_get(o, k));
}

static int port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Alive and not a zombie (init may take a moment to reap a daemon). */
static int alive(long pid)
{
    if (pid <= 0 || kill((pid_t)pid, 0) != 0)
        return 0;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return !(rp && rp[1] == ' ' && rp[2] == 'Z');
}

/*
 * Scan /proc: count processes whose @what ("cmdline" or "environ") mentions
 * @needle, sending SIGKILL to each when @kill_them.
 */
static int proc_scan(const char *needle, const char *what, int kill_them)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid == getpid())
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/%s", pid, what);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        static char buf[65536];
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        for (size_t i = 0; i < n; i++)
            if (buf[i] == '\0')
                buf[i] = '\n';
        buf[n] = '\0';
        if (strstr(buf, needle) && alive(pid)) {
            found++;
            if (kill_them)
                kill((pid_t)pid, SIGKILL);
        }
    }
    closedir(d);
    return found;
}

static int any_process_mentions(const char *needle, const char *what)
{
    return proc_scan(needle, what, 0) > 0;
}

static void kill_leftovers(const char *needle)
{
    proc_scan(needle, "cmdline", 1);
    proc_scan(needle, "environ", 1);
}

static int have_pg(void)
{
    glob_t g;
    int ok = glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0;
    globfree(&g);
    return ok || tu_run("command -v initdb >/dev/null", NULL) == 0;
}

#define SKIP_UNLESS(cond, why)                                                             \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            printf("# SKIP %s\n", why);                                                   \
            fflush(stdout);                                                                \
            return;                                                                        \
        }                                                                                  \
    } while (0)

START_TEST(network_is_stable)
{
    const hoist_network_ops *n = g_drv->ops->network;
    json_t *spec = json_object(), *o1 = NULL, *o2 = NULL;
    ck_assert_int_eq(call(n->observe, "network", spec, NULL, NULL), HOIST_E_NOTFOUND);
    ck_assert_int_eq(call(n->ensure, "network", spec, &o1, NULL), HOIST_OK);
    ck_assert_int_eq(call(n->ensure, "network", spec, &o2, NULL), HOIST_OK);
    long base = out_int(o1, "port_base");
    ck_assert_int_ge(base, 20000);
    ck_assert_int_le(base + out_int(o1, "port_count"), 60000);
    ck_assert_int_eq(base, out_int(o2, "port_base"));
    ck_assert_str_eq(json_string_value(json_object_get(o1, "address")), "127.0.0.1");
    ck_assert_int_eq(call(n->destroy, "network", spec, NULL, NULL), HOIST_OK);
    ck_assert_int_eq(call(n->observe, "network", spec, NULL, NULL), HOIST_E_NOTFOUND);
    ck_assert_int_eq(call(n->destroy, "network", spec, NULL, NULL), HOIST_OK);
    json_decref(o1);
    json_decref(o2);
    json_decref(spec);
}
END_TEST

/* "path mode\n" for @dir and each directory above it (new string). */
static char *ancestor_modes(const char *dir)
{
    char *s = strdup(dir), *out = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&out, &n);
    for (;;) {
        struct stat st;
        if (stat(s, &st) == 0)
            fprintf(m, "%s %o\n", s, (unsigned)(st.st_mode & 07777));
        char *slash = strrchr(s, '/');
        if (!slash || slash == s)
            break;
        *slash = '\0';
    }
    fclose(m);
    free(s);
    return out;
}

START_TEST(postgresql_lifecycle)
{
    SKIP_UNLESS(have_pg(), "PostgreSQL not installed (apt-get install -y postgresql)");
    const hoist_database_ops *db = g_drv->ops->database;
    json_t *spec = json_pack("{s:s,s:s}", "engine", "postgresql", "version", "15");
    json_t *o = NULL, *sec = NULL, *o2 = NULL;
    /* As root the server runs as `postgres`; the project's directories (g_tmp
       is 0700) keep their modes: hoist once made each of them o+x. */
    char *modes = ancestor_modes(g_tmp);
    ck_assert_int_eq(call(db->ensure, "main", spec, &o, &sec), HOIST_OK);
    long pid = out_int(o, "pid"), port = out_int(o, "port");
    ck_assert(alive(pid));
    char *modes2 = ancestor_modes(g_tmp);
    ck_assert_str_eq(modes2, modes);
    free(modes2);
    const char *data_dir = json_string_value(json_object_get(o, "data_dir"));
    if (geteuid() == 0)
        ck_assert_msg(strncmp(data_dir, g_tmp, strlen(g_tmp)) != 0 &&
                          strncmp(data_dir, g_srv, strlen(g_srv)) == 0,
                      "as root the data is outside the project, under the server root: %s",
                      data_dir);
    ck_assert_int_gt(port, 0);
    const char *pw = json_string_value(json_object_get(sec, "password"));
    ck_assert_ptr_nonnull(pw);
    ck_assert_int_ge(strlen(pw), 16);
    /* The password is in no process's command line. */
    ck_assert(!any_process_mentions(pw, "cmdline"));
    char *outs = json_dumps(o, 0);
    ck_assert_ptr_null(strstr(outs, pw));
    free(outs);

    hoist_ctx ctx;
    hoist_ctx_init(&ctx, g_drv, "main");
    hoist_resource r = {.struct_size = sizeof r, .project = "t", .env = "dev", .name = "main",
                        .spec = spec, .needs = json_object()};
    hoist_db_connection c = {.struct_size = sizeof c};
    ck_assert_int_eq(db->connection(g_drv->prov, &ctx, &r, &c), HOIST_OK);
    ck_assert_str_eq(c.host, "127.0.0.1");
    ck_assert_int_eq(c.port, port);
    ck_assert_str_eq(c.user, "main");
    ck_assert_str_eq(c.database, "main");
    ck_assert_str_eq(c.password, pw);
    json_decref(r.needs);
    hoist_ctx_cleanup(&ctx);

    /* A real login over TCP with that password; a wrong one is refused. */
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "PGPASSWORD='%s' psql -X -h 127.0.0.1 -p %ld -U main -d main -tAc "
             "'CREATE TABLE IF NOT EXISTS t(x int); INSERT INTO t VALUES (7); SELECT sum(x) FROM t' 2>&1",
             pw, port);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "7") != NULL, "psql said: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "PGPASSWORD=wrong psql -X -h 127.0.0.1 -p %ld -U main -d main -tAc 'SELECT 1' 2>&1",
             port);
    ck_assert_int_ne(tu_run(cmd, NULL), 0);

    /* ensure again: nothing restarts. */
    ck_assert_int_eq(call(db->ensure, "main", spec, &o2, NULL), HOIST_OK);
    ck_assert_int_eq(out_int(o2, "pid"), pid);
    json_decref(o2);

    /* pause stops the server; observe says stopped; ensure resumes with the data. */
    ck_assert_int_eq(call(db->pause, "main", spec, NULL, NULL), HOIST_OK);
    ck_assert(!alive(pid));
    ck_assert_int_eq(call(db->observe, "main", spec, NULL, NULL), HOIST_PENDING);
    ck_assert_int_eq(call(db->ensure, "main", spec, &o2, NULL), HOIST_OK);
    long pid2 = out_int(o2, "pid");
    ck_assert(alive(pid2));
    ck_assert_int_eq(out_int(o2, "port"), port);
    json_decref(o2);

    /* A crash of the server (kill -9) is repaired by the next ensure. */
    kill((pid_t)pid2, SIGKILL);
    for (int i = 0; i < 50 && alive(pid2); i++)
        usleep(100000);
    ck_assert_int_eq(call(db->ensure, "main", spec, &o2, NULL), HOIST_OK);
    ck_assert(alive(out_int(o2, "pid")));
    json_decref(o2);
    snprintf(cmd, sizeof cmd,
             "PGPASSWORD='%s' psql -X -h 127.0.0.1 -p %ld -U main -d main -tAc 'SELECT sum(x) FROM t'",
             pw, port);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "7") != NULL, "data lost across pause/crash: %s", out);
    free(out);
    ck_assert_int_eq(call(db->observe, "main", spec, NULL, NULL), HOIST_OK);

    /* destroy: server gone, data gone, port free; again is fine. */
    char *dir = strdup(json_string_value(json_object_get(o, "data_dir")));
    ck_assert_int_eq(call(db->destroy, "main", spec, NULL, NULL), HOIST_OK);
    struct stat st;
    ck_assert_int_ne(stat(dir, &st), 0);
    modes2 = ancestor_modes(g_tmp);
    ck_assert_str_eq(modes2, modes);
    free(modes2);
    free(modes);
    if (geteuid() == 0) {
        /* the environment's directory under the server root is gone too */
        char *env_root = strdup(dir);
        for (int k = 0; k < 3; k++)
            *strrchr(env_root, '/') = '\0'; /* drop /db/main/data */
        ck_assert_msg(stat(env_root, &st) != 0, "%s is left after destroy", env_root);
        free(env_root);
    }
    ck_assert(port_free((int)port));
    ck_assert_int_eq(call(db->observe, "main", spec, NULL, NULL), HOIST_E_NOTFOUND);
    ck_assert_int_eq(call(db->destroy, "main", spec, NULL, NULL), HOIST_OK);
    free(dir);
    free(c.host);
    free(c.user);
    free(c.password);
    free(c.database);
    json_decref(o);
    json_decref(sec);
    json_decref(spec);
}
END_TEST

START_TEST(postgresql_half_initialised_is_redone)
{
    SKIP_UNLESS(have_pg(), "PostgreSQL not installed (apt-get install -y postgresql)");
    /* A crash in the middle of initdb leaves a data dir without the marker.
       The data directory is wherever the driver keeps it (as root, outside
       the project): learn it from a first ensure, then stop and break it. */
    const hoist_database_ops *db = g_drv->ops->database;
    json_t *spec = json_pack("{s:s}", "engine", "postgresql"), *o = NULL;
    ck_assert_int_eq(call(db->ensure, "half", spec, &o, NULL), HOIST_OK);
    ck_assert_int_eq(call(db->pause, "half", spec, NULL, NULL), HOIST_OK);
    char cmd[2600];
    const char *path = json_string_value(json_object_get(o, "data_dir"));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/* && echo junk > '%s/PG_VERSION.partial'", path, path);
    ck_assert_int_eq(system(cmd), 0);
    json_decref(o);
    o = NULL;
    ck_assert_int_eq(call(db->ensure, "half", spec, &o, NULL), HOIST_OK);
    ck_assert(alive(out_int(o, "pid")));
    ck_assert_int_eq(call(db->destroy, "half", spec, NULL, NULL), HOIST_OK);
    json_decref(o);
    json_decref(spec);
}
END_TEST

START_TEST(redis_lifecycle)
{
    SKIP_UNLESS(tu_run("command -v redis-server >/dev/null", NULL) == 0,
                "redis-server not installed (apt-get install -y redis-server)");
    const hoist_database_ops *db = g_drv->ops->database;
    json_t *spec = json_pack("{s:s}", "engine", "redis"), *o = NULL, *sec = NULL, *o2 = NULL;
    ck_assert_int_eq(call(db->ensure, "cache", spec, &o, &sec), HOIST_OK);
    long pid = out_int(o, "pid"), port = out_int(o, "port");
    const char *pw = json_string_value(json_object_get(sec, "password"));
    ck_assert(alive(pid));
    ck_assert(!any_process_mentions(pw, "cmdline"));
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "REDISCLI_AUTH='%s' redis-cli -h 127.0.0.1 -p %ld SET k v 2>&1", pw,
             port);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "OK") != NULL, "redis said: %s", out);
    free(out);
    /* Without the password: refused. */
    snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %ld GET k 2>&1", port);
    tu_run(cmd, &out);
    ck_assert_msg(strstr(out, "NOAUTH") != NULL, "redis without auth said: %s", out);
    free(out);
    ck_assert_int_eq(call(db->ensure, "cache", spec, &o2, NULL), HOIST_OK);
    ck_assert_int_eq(out_int(o2, "pid"), pid);
    json_decref(o2);
    ck_assert_int_eq(call(db->pause, "cache", spec, NULL, NULL), HOIST_OK);
    ck_assert(!alive(pid));
    ck_assert_int_eq(call(db->ensure, "cache", spec, &o2, NULL), HOIST_OK);
    ck_assert(alive(out_int(o2, "pid")));
    json_decref(o2);
    ck_assert_int_eq(call(db->destroy, "cache", spec, NULL, NULL), HOIST_OK);
    ck_assert(port_free((int)port));
    json_decref(o);
    json_decref(sec);
    json_decref(spec);
}
END_TEST

START_TEST(missing_server_names_the_package)
{
    /* With an empty PATH no redis-server can be found. */
    char *old = strdup(getenv("PATH"));
    setenv("PATH", g_tmp, 1);
    const hoist_database_ops *db = g_drv->ops->database;
    json_t *spec = json_pack("{s:s}", "engine", "redis");
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, g_drv, "cache");
    hoist_resource r = {.struct_size = sizeof r, .project = "t", .env = "dev", .name = "cache",
                        .spec = spec, .needs = json_object()};
    hoist_result out = {.struct_size = sizeof out};
    ck_assert_int_eq(db->ensure(g_drv->prov, &ctx, &r, &out), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "apt-get install -y redis-server"));
    setenv("PATH", old, 1);
    /* An engine the driver does not run is refused clearly. */
    json_object_set_new(spec, "engine", json_string("mongodb"));
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, g_drv, "docs");
    ck_assert_int_eq(db->ensure(g_drv->prov, &ctx, &r, &out), HOIST_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "mongodb"));
    hoist_ctx_cleanup(&ctx);
    json_decref(r.needs);
    json_decref(spec);
    free(old);
}
END_TEST

START_TEST(mariadb_lifecycle)
{
    SKIP_UNLESS(tu_run("command -v mariadb-install-db >/dev/null && "
                       "(command -v mariadbd || test -x /usr/sbin/mariadbd) >/dev/null",
                       NULL) == 0,
                "MariaDB not installed (apt-get install -y mariadb-server)");
    const hoist_database_ops *db = g_drv->ops->database;
    json_t *spec = json_pack("{s:s}", "engine", "mysql"), *o = NULL, *sec = NULL, *o2 = NULL;
    ck_assert_int_eq(call(db->ensure, "shop", spec, &o, &sec), HOIST_OK);
    long pid = out_int(o, "pid"), port = out_int(o, "port");
    const char *pw = json_string_value(json_object_get(sec, "password"));
    ck_assert(alive(pid));
    ck_assert(!any_process_mentions(pw, "cmdline"));
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "MYSQL_PWD='%s' mariadb --no-defaults -h 127.0.0.1 -P %ld -u shop shop -N -e "
             "'CREATE TABLE IF NOT EXISTS t(x int); INSERT INTO t VALUES (5); SELECT sum(x) FROM t' 2>&1",
             pw, port);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "5") != NULL, "mariadb said: %s", out);
    free(out);
    ck_assert_int_eq(call(db->ensure, "shop", spec, &o2, NULL), HOIST_OK);
    ck_assert_int_eq(out_int(o2, "pid"), pid);
    json_decref(o2);
    ck_assert_int_eq(call(db->destroy, "shop", spec, NULL, NULL), HOIST_OK);
    ck_assert(!alive(pid));
    ck_assert(port_free((int)port));
    json_decref(o);
    json_decref(sec);
    json_decref(spec);
}
END_TEST

static const char app_js[] =
    "const http = require('http');\n"
    "http.createServer((req, res) => {\n"
    "  if (req.url === '/health') { res.writeHead(200); res.end('ok'); return; }\n"
    "  res.writeHead(200, {'Content-Type': 'application/json'});\n"
    "  res.end(JSON.stringify({pid: process.pid, greeting: process.env.GREETING}));\n"
    "}).listen(process.env.PORT, '127.0.0.1');\n"
    "console.log('listening on ' + process.env.PORT);\n";

/* GET @url with curl; body in a new string, or NULL. */
static char *get(const char *url)
{
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "curl -sf --max-time 5 '%s'", url);
    if (tu_run(cmd, &out) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* Poll observe until the app is healthy with a pid different from @not_pid. */
static long wait_new_pid(const hoist_app_ops *app, json_t *spec, long not_pid)
{
    for (int i = 0; i < 100; i++) {
        json_t *o = NULL;
        hoist_status st = call(app->observe, "web", spec, &o, NULL);
        long pid = out_int(o, "pid");
        json_decref(o);
        if (st == HOIST_OK && pid > 0 && pid != not_pid)
            return pid;
        usleep(200000);
    }
    return 0;
}

START_TEST(app_lifecycle)
{
    SKIP_UNLESS(tu_run("command -v node >/dev/null && command -v npm >/dev/null", NULL) == 0,
                "node/npm not installed (apt-get install -y nodejs npm)");
    char src[1024];
    snprintf(src, sizeof src, "%s/web", g_tmp);
    ck_assert_int_eq(mkdir(src, 0700), 0);
    free(tu_write(src, "server.js", app_js));
    free(tu_write(src, "package.json",
                  "{\"name\":\"web\",\"version\":\"1.0.0\",\"private\":true,"
                  "\"scripts\":{\"start\":\"node server.js\"}}\n"));
    const hoist_app_ops *app = g_drv->ops->app;
    /* The build step and start command as the core resolves them from
       package.json (hoist_app_build_step / hoist_app_start_command). */
    json_t *spec = json_pack("{s:s,s:i,s:s,s:{s:s},s:{s:i},s:{s:[s,s,s,s]},s:[s,s]}", "path",
                             src, "port", 3000, "healthcheck", "/health", "env", "GREETING",
                             "hello", "instances", "min", 1, "build", "command", "npm",
                             "install", "--no-audit", "--no-fund", "command", "npm", "start");
    json_t *o = NULL;
    ck_assert_int_eq(call(app->observe, "web", spec, NULL, NULL), HOIST_E_NOTFOUND);
    ck_assert_int_eq(call_ready(app->ensure, "web", spec, &o), HOIST_OK);
    const char *url = json_string_value(json_object_get(o, "url"));
    ck_assert_ptr_nonnull(url);
    long port = out_int(o, "port"), pid = out_int(o, "pid");
    ck_assert(alive(pid));
    /* HOST tells the app to bind to the loopback address only */
    char envcmd[128], *envs = NULL;
    snprintf(envcmd, sizeof envcmd, "tr '\\0' '\\n' < /proc/%ld/environ", pid);
    ck_assert_int_eq(tu_run(envcmd, &envs), 0);
    ck_assert_msg(strstr(envs, "\nHOST=127.0.0.1\n") || !strncmp(envs, "HOST=127.0.0.1\n", 15),
                  "HOST=127.0.0.1 not in the app's environment:\n%s", envs);
    free(envs);
    char *body = get(url);
    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(strstr(body, "\"greeting\":\"hello\""));
    free(body);
    /* The build ran in a copy, not in the source directory. */
    char lock[1200];
    snprintf(lock, sizeof lock, "%s/package-lock.json", src);
    ck_assert_int_ne(access(lock, F_OK), 0);

    /* kill -9 the app: the runner restarts it. */
    ck_assert_int_eq(kill((pid_t)pid, SIGKILL), 0);
    long pid2 = wait_new_pid(app, spec, pid);
    ck_assert_msg(pid2 > 0, "the app was not restarted after kill -9");
    body = get(url);
    ck_assert_ptr_nonnull(body);
    free(body);

    /* Unchanged spec: no restart. */
    json_t *o2 = NULL;
    ck_assert_int_eq(call_ready(app->ensure, "web", spec, &o2), HOIST_OK);
    ck_assert_int_eq(out_int(o2, "pid"), pid2);
    ck_assert_str_eq(json_string_value(json_object_get(o2, "url")), url);
    json_decref(o2);

    /* Changed env: restarted, and the new value is seen. */
    json_object_set_new(json_object_get(spec, "env"), "GREETING", json_string("bye"));
    o2 = NULL;
    ck_assert_int_eq(call_ready(app->ensure, "web", spec, &o2), HOIST_OK);
    long pid3 = out_int(o2, "pid");
    ck_assert_int_ne(pid3, pid2);
    ck_assert(!alive(pid2));
    body = get(json_string_value(json_object_get(o2, "url")));
    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(strstr(body, "\"greeting\":\"bye\""));
    free(body);
    json_decref(o2);

    /* Changed source: restarted too. */
    free(tu_write(src, "extra.txt", "x\n"));
    o2 = NULL;
    ck_assert_int_eq(call_ready(app->ensure, "web", spec, &o2), HOIST_OK);
    long pid4 = out_int(o2, "pid");
    ck_assert_int_ne(pid4, pid3);
    json_decref(o2);

    /* logs: the runner's and the app's lines. */
    char logf[1200];
    snprintf(logf, sizeof logf, "%s/logs.out", g_tmp);
    FILE *lf = fopen(logf, "w+");
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, g_drv, "web");
    hoist_resource r = {.struct_size = sizeof r, .project = "t", .env = "dev", .name = "web",
                        .spec = spec, .needs = json_object()};
    ck_assert_int_eq(app->logs(g_drv->prov, &ctx, &r, fileno(lf), 0), HOIST_OK);
    hoist_ctx_cleanup(&ctx);
    json_decref(r.needs);
    fclose(lf);
    char *text = NULL;
    char cat[1300];
    snprintf(cat, sizeof cat, "cat '%s'", logf);
    tu_run(cat, &text);
    ck_assert_ptr_nonnull(strstr(text, "listening on"));
    ck_assert_ptr_nonnull(strstr(text, "was killed by signal 9"));
    free(text);

    /* pause stops it; ensure brings it back without a rebuild. */
    ck_assert_int_eq(call(app->pause, "web", spec, NULL, NULL), HOIST_OK);
    ck_assert(!alive(pid4));
    ck_assert_int_eq(call(app->observe, "web", spec, NULL, NULL), HOIST_PENDING);
    o2 = NULL;
    ck_assert_int_eq(call_ready(app->ensure, "web", spec, &o2), HOIST_OK);
    ck_assert(alive(out_int(o2, "pid")));
    json_decref(o2);

    /* destroy: no process of this environment left, port free, files gone. */
    ck_assert_int_eq(call(app->destroy, "web", spec, NULL, NULL), HOIST_OK);
    ck_assert(!any_process_mentions(g_state, "environ"));
    ck_assert(!any_process_mentions(g_state, "cmdline"));
    ck_assert(port_free((int)port));
    char appdir[1200];
    snprintf(appdir, sizeof appdir, "%s/apps/web", g_state);
    ck_assert_int_ne(access(appdir, F_OK), 0);
    ck_assert_int_eq(call(app->observe, "web", spec, NULL, NULL), HOIST_E_NOTFOUND);
    ck_assert_int_eq(call(app->destroy, "web", spec, NULL, NULL), HOIST_OK);
    json_decref(o);
    json_decref(spec);
}
END_TEST

START_TEST(app_build_failure_is_reported)
{
    SKIP_UNLESS(tu_run("command -v node >/dev/null", NULL) == 0, "node not installed");
    char src[1024];
    snprintf(src, sizeof src, "%s/bad", g_tmp);
    ck_assert_int_eq(mkdir(src, 0700), 0);
    free(tu_write(src, "server.js", app_js));
    const hoist_app_ops *app = g_drv->ops->app;
    json_t *spec = json_pack("{s:s,s:i,s:{s:[s,s,s]},s:[s,s]}", "path", src, "port", 3000,
                             "build", "command", "sh", "-c", "echo build-broke-here; exit 3",
                             "command", "node", "server.js");
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, g_drv, "bad");
    hoist_resource r = {.struct_size = sizeof r, .project = "t", .env = "dev", .name = "bad",
                        .spec = spec, .needs = json_object()};
    hoist_result out = {.struct_size = sizeof out};
    ck_assert_int_eq(app->ensure(g_drv->prov, &ctx, &r, &out), HOIST_E_INVALID);
    const char *err = hoist_ctx_error(&ctx);
    ck_assert_ptr_nonnull(strstr(err, "build-broke-here"));
    ck_assert_ptr_nonnull(strstr(err, "exited with 3"));
    hoist_ctx_cleanup(&ctx);
    ck_assert_int_eq(call(app->destroy, "bad", spec, NULL, NULL), HOIST_OK);
    json_decref(r.needs);
    json_decref(spec);
}
END_TEST

static Suite *local_suite(void)
{
    Suite *s = suite_create("local");
    TCase *tc = tcase_create("local");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, network_is_stable);
    tcase_add_test(tc, postgresql_lifecycle);
    tcase_add_test(tc, postgresql_half_initialised_is_redone);
    tcase_add_test(tc, redis_lifecycle);
    tcase_add_test(tc, missing_server_names_the_package);
    tcase_add_test(tc, mariadb_lifecycle);
    tcase_add_test(tc, app_lifecycle);
    tcase_add_test(tc, app_build_failure_is_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(local_suite());
}
