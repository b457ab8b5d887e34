/*
 * local_database.c - real database servers on the loopback address.
 *
 * Each database lives in <state>/db/<name>/: meta.json (engine, port, user),
 * password (0600, generated once), data/ (the server's data directory).  The
 * server's own pid file is the source of truth for "is it running", so a
 * crash at any point is resumed by the next ensure: initialisation that did
 * not finish is detected (marker file missing) and redone from scratch.
 *
 * Passwords never appear on a command line: PostgreSQL and MariaDB get them
 * inside SQL on the client's stdin, Redis in its 0600 configuration file.
 *
 * As root, PostgreSQL (which refuses root) and MariaDB run as their Debian
 * system users (`postgres`, `mysql`).  Such a server could not reach a data
 * directory inside the project (under /root, a 0700 home ...), and hoist
 * must not open the user's directories for it, so its files live in a
 * directory hoist owns instead: <server root>/<project>-<env>-<hash>/
 * (db/<name>/ and logs/db-<name>.log), <server root> being /var/lib/hoist
 * or $HOIST_LOCAL_SERVER_ROOT; destroy removes them again.
 */
#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct local_db local_db;

/* What differs between engines.  All return a status reported via host->fail. */
typedef struct local_engine {
    const char *name;        /* "postgresql" */
    const char *apt;         /* the package that provides the server */
    const char *sys_user;    /* system user to run as when we are root, or NULL */
    const char *default_user;
    hoist_status (*find)(local_prov *p, hoist_ctx *ctx, local_db *db);
    pid_t (*running)(local_db *db);
    int (*initialised)(local_db *db);
    hoist_status (*init)(local_prov *p, hoist_ctx *ctx, local_db *db);
    hoist_status (*start)(local_prov *p, hoist_ctx *ctx, local_db *db);
    hoist_status (*provision)(local_prov *p, hoist_ctx *ctx, local_db *db);
    hoist_status (*stop)(local_prov *p, hoist_ctx *ctx, local_db *db);
} local_engine;

struct local_db {
    const local_engine *eng;
    const char *name;
    char *dir;       /* <state>/db/<name> */
    char *data;      /* dir/data */
    char *log;       /* <state>/logs/db-<name>.log */
    char *bindir;    /* where the server's programs are */
    char *version;   /* PostgreSQL major version in use, or NULL */
    char *portkey;   /* "db/<name>" */
    char password[33];
    int port;
    int drop;        /* run the server as uid/gid */
    uid_t uid;
    gid_t gid;
    char *os_user;   /* name of the user the server runs as */
    char *spec_version; /* `version:` from hoist.yml, or NULL */
    char *srv_root;  /* the hoist-owned directory of the env's servers (drop), or NULL */
};

static void local_db_free(local_db *db)
{
    free(db->dir);
    free(db->data);
    free(db->log);
    free(db->bindir);
    free(db->version);
    free(db->portkey);
    free(db->os_user);
    free(db->spec_version);
    free(db->srv_root);
    memset(db->password, 0, sizeof db->password);
}

static char *local_db_bin(local_db *db, const char *prog)
{
    return hoist_kit_xasprintf("%s/%s", db->bindir, prog);
}

/* Run @argv as the server's user; report failure with the tail of its output. */
static hoist_status local_db_exec(local_prov *p, hoist_ctx *ctx, local_db *db,
                                  const char *const *argv, const char *input, long timeout_ms)
{
    local_spawn s = {.argv = argv, .input = input, .out_fd = -1, .drop = db->drop,
                     .uid = db->uid, .gid = db->gid, .timeout_ms = timeout_ms};
    char *out = NULL;
    int rc = local_run(p, ctx, &s, &out, NULL);
    hoist_status st = HOIST_OK;
    if (rc != 0) {
        char *cmd = local_argv_str(argv);
        if (p->host->cancelled(ctx))
            st = p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled while running %s", cmd);
        else {
            /* The server's own words are usually the useful part. */
            char *slog = local_read_file(db->log, NULL);
            st = p->host->fail(ctx, HOIST_E_INTERNAL,
                               "`%s` failed (%s %d): %s\nlast lines of the server log %s:\n%s",
                               cmd, rc < 0 ? "errno" : "exit status", rc < 0 ? errno : rc,
                               local_tail_lines(out, 6), db->log, local_tail_lines(slog, 4));
            free(slog);
        }
        free(cmd);
    }
    free(out);
    return st;
}

static hoist_status local_db_missing(local_prov *p, hoist_ctx *ctx, local_db *db, const char *what)
{
    return p->host->fail(ctx, HOIST_E_INVALID,
                         "%s server programs not found (%s): install them with "
                         "`apt-get install -y %s`",
                         db->eng->name, what, db->eng->apt);
}

/* Give @path to the server's user (when we run it as another user). */
static int local_db_chown(local_db *db, const char *path)
{
    return db->drop ? chown(path, db->uid, db->gid) : 0;
}

/* Where servers run as another user keep their files (see the top). */
static const char *local_db_server_base(void)
{
    const char *b = getenv("HOIST_LOCAL_SERVER_ROOT");
    return b && *b ? b : LOCAL_SERVER_ROOT;
}

/*
 * The environment's directory under the server base (new string):
 * "<project>-<env>-<hash of the state directory>", so two checkouts of one
 * project never share a server.
 */
static char *local_db_server_root(local_prov *p, const hoist_resource *r)
{
    char *name = hoist_kit_xasprintf("%.20s-%.20s", r->project ? r->project : "project",
                                 r->env ? r->env : "env");
    for (char *c = name; *c; c++)
        if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') && !(*c >= '0' && *c <= '9') &&
            *c != '-' && *c != '_')
            *c = '_';
    uint64_t h = hoist_kit_fnv1a(HOIST_KIT_FNV64_INIT, p->dir, strlen(p->dir));
    char *root = hoist_kit_xasprintf("%s/%s-%08lx", local_db_server_base(), name,
                                 (unsigned long)(h & 0xffffffffUL));
    free(name);
    return root;
}

/*
 * mkdir -p @path where each directory it creates from the server base down
 * is root's, mode 0711: the server's user may pass, not list.  Only
 * hoist's own directories are made or changed.  0, or -1 with errno.
 */
static int local_db_mkdir_passable(const char *path)
{
    char *s = hoist_kit_xstrdup(path);
    int rc = 0;
    for (char *q = s + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (mkdir(s, 0711) == 0) {
                if (chmod(s, 0711) != 0) { /* past the umask */
                    rc = -1;
                    break;
                }
            } else if (errno != EEXIST) {
                rc = -1;
                break;
            }
            *q = c;
            if (c == '\0')
                break;
        }
    }
    int e = errno;
    free(s);
    errno = e;
    return rc;
}

/* The live server named by pid file @file in the data dir, or 0. */
static pid_t local_db_pid(local_db *db, const char *file, const char *needle)
{
    char *pidfile = hoist_kit_xasprintf("%s/%s", db->data, file);
    pid_t pid = local_pidfile_alive(pidfile, needle);
    free(pidfile);
    return pid;
}

/* 1 if @file exists in the data dir (the engines' "initialised" markers). */
static int local_db_has(local_db *db, const char *file)
{
    char *path = hoist_kit_xasprintf("%s/%s", db->data, file);
    int ok = access(path, F_OK) == 0;
    free(path);
    return ok;
}

/* ---- PostgreSQL ---------------------------------------------------------- */

/* Newest /usr/lib/postgresql/<N>/bin, or the directory of initdb on PATH. */
static char *local_pg_newest(char **version)
{
    DIR *d = opendir("/usr/lib/postgresql");
    long best = -1;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            char *end;
            long v = strtol(e->d_name, &end, 10);
            if (*end || v <= 0)
                continue;
            char *init = hoist_kit_xasprintf("/usr/lib/postgresql/%ld/bin/initdb", v);
            if (access(init, X_OK) == 0 && v > best)
                best = v;
            free(init);
        }
        closedir(d);
    }
    if (best > 0) {
        *version = hoist_kit_xasprintf("%ld", best);
        return hoist_kit_xasprintf("/usr/lib/postgresql/%ld/bin", best);
    }
    char *init = local_which("initdb");
    if (!init)
        return NULL;
    char buf[4096];
    char *real = realpath(init, buf);
    char *dir = hoist_kit_xstrdup(real ? real : init);
    free(init);
    *strrchr(dir, '/') = '\0';
    *version = NULL;
    return dir;
}

static hoist_status local_pg_find(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    /* An existing cluster must be run by its own major version. */
    char *pgv_path = hoist_kit_xasprintf("%s/PG_VERSION", db->data);
    char *pgv = local_read_file(pgv_path, NULL);
    free(pgv_path);
    const char *want = db->spec_version;
    if (pgv) {
        pgv[strcspn(pgv, "\n")] = '\0';
        want = pgv;
    }
    char *wanted_bin = NULL;
    if (want) {
        wanted_bin = hoist_kit_xasprintf("/usr/lib/postgresql/%s/bin", want);
        char *init = hoist_kit_xasprintf("%s/initdb", wanted_bin);
        int ok = access(init, X_OK) == 0;
        free(init);
        if (ok) {
            db->bindir = wanted_bin;
            db->version = hoist_kit_xstrdup(want);
            wanted_bin = NULL;
        }
    }
    if (!db->bindir) {
        db->bindir = local_pg_newest(&db->version);
        if (want && db->bindir)
            p->host->log(ctx, HOIST_LOG_WARN, "PostgreSQL %s is not installed here; using %s",
                         want, db->version ? db->version : db->bindir);
    }
    hoist_status st = HOIST_OK;
    char *initdb = db->bindir ? local_db_bin(db, "initdb") : NULL;
    char *pg_ctl = db->bindir ? local_db_bin(db, "pg_ctl") : NULL;
    if (!db->bindir || access(initdb, X_OK) != 0 || access(pg_ctl, X_OK) != 0)
        st = local_db_missing(p, ctx, db, "initdb, pg_ctl");
    else if (pgv && (!db->version || strcmp(db->version, pgv) != 0))
        st = p->host->fail(ctx, HOIST_E_CONFLICT,
                           "%s was created by PostgreSQL %s but only %s is installed: install "
                           "`postgresql-%s`, or destroy the database to start afresh",
                           db->data, pgv, db->version ? db->version : "another version", pgv);
    free(initdb);
    free(pg_ctl);
    free(wanted_bin);
    free(pgv);
    return st;
}

static pid_t local_pg_running(local_db *db)
{
    return local_db_pid(db, "postmaster.pid", "postgres");
}

/* hoist.conf is written right after initdb succeeded: it marks a complete init. */
static int local_pg_initialised(local_db *db)
{
    return local_db_has(db, "hoist.conf");
}

static hoist_status local_pg_write_conf(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    char *conf = hoist_kit_xasprintf("%s/hoist.conf", db->data);
    char *text = hoist_kit_xasprintf("# written by hoist's local driver on every start\n"
                                     "listen_addresses = '%s'\n"
                                     "port = %d\n"
                                     "unix_socket_directories = '%s'\n"
                                     "unix_socket_permissions = 0700\n",
                                     LOCAL_ADDR, db->port, db->data);
    hoist_status st = HOIST_OK;
    if (local_write_file(conf, text, strlen(text), 0600) != 0 || local_db_chown(db, conf) != 0)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", conf,
                           hoist_kit_strerror(errno));
    free(conf);
    free(text);
    return st;
}

static hoist_status local_pg_init(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    hoist_status st = HOIST_OK;
    char *initdb = local_db_bin(db, "initdb");
    char *pgconf = hoist_kit_xasprintf("%s/postgresql.conf", db->data);
    /* The unix socket lives in the data directory; sun_path holds 107 bytes. */
    if (strlen(db->data) + sizeof "/.s.PGSQL.65535" > 107) {
        st = p->host->fail(ctx, HOIST_E_INVALID,
                           "the data directory path %s is too long for PostgreSQL's unix "
                           "socket (limit ~90 characters): move the project to a shorter path",
                           db->data);
        goto cleanup;
    }
    /* A half-made cluster (crash during initdb) is thrown away and redone. */
    if (local_rmrf(db->data) != 0 || mkdir(db->data, 0700) != 0 ||
        local_db_chown(db, db->data) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot prepare %s: %s", db->data,
                           hoist_kit_strerror(errno));
        goto cleanup;
    }
    /* The superuser has no password: it can log in only through the unix
     * socket in the 0700 data directory (trust), never over TCP. */
    const char *argv[] = {initdb, "-D", db->data, "-U", "postgres", "-A", "scram-sha-256",
                          "--auth-local=trust", "-E", "UTF8", "--no-locale", NULL};
    st = local_db_exec(p, ctx, db, argv, NULL, 120000);
    if (st != HOIST_OK)
        goto cleanup;
    FILE *fp = fopen(pgconf, "a");
    if (!fp || fputs("\ninclude_if_exists = 'hoist.conf'\n", fp) < 0 || fclose(fp) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot append to %s: %s", pgconf,
                           hoist_kit_strerror(errno));
        goto cleanup;
    }
    st = local_pg_write_conf(p, ctx, db);
cleanup:
    free(initdb);
    free(pgconf);
    return st;
}

static hoist_status local_pg_start(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    /* After a crash of the postmaster its workers linger for a moment and
     * hold the shared memory, so a new server would refuse to start. */
    for (int i = 0; i < 50 && local_kill_cwd(db->data) > 0; i++) {
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    /* Its pid and socket lock files may name a zombie that init has not
     * reaped yet, which PostgreSQL takes for a live server.  No process is in
     * the data directory any more (above), so they are stale. */
    if (local_pg_running(db) == 0) {
        DIR *d = opendir(db->data);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, "postmaster.pid") != 0 && strncmp(e->d_name, ".s.PGSQL.", 9) != 0)
                continue;
            char *f = hoist_kit_xasprintf("%s/%s", db->data, e->d_name);
            if (unlink(f) == 0)
                p->host->log(ctx, HOIST_LOG_DEBUG, "removed the stale %s", f);
            free(f);
        }
        if (d)
            closedir(d);
    }
    hoist_status st = local_pg_write_conf(p, ctx, db);
    if (st != HOIST_OK)
        return st;
    char *pg_ctl = local_db_bin(db, "pg_ctl");
    const char *argv[] = {pg_ctl, "-D", db->data, "-l", db->log, "-w", "-t", "60", "start", NULL};
    st = local_db_exec(p, ctx, db, argv, NULL, 90000);
    free(pg_ctl);
    return st;
}

static hoist_status local_pg_provision(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    char *psql = local_db_bin(db, "psql");
    if (access(psql, X_OK) != 0) {
        free(psql);
        psql = local_which("psql");
        if (!psql)
            return local_db_missing(p, ctx, db, "psql");
    }
    char port[16];
    snprintf(port, sizeof port, "%d", db->port);
    /* Idempotent: the role and database are created once, the password is
     * (re)set every time so the file stays the source of truth. */
    char *sql = hoist_kit_xasprintf(
        "SELECT 'CREATE ROLE \"%1$s\" LOGIN' WHERE NOT EXISTS "
        "(SELECT 1 FROM pg_roles WHERE rolname = '%1$s')\\gexec\n"
        "ALTER ROLE \"%1$s\" WITH LOGIN PASSWORD '%2$s';\n"
        "SELECT 'CREATE DATABASE \"%1$s\" OWNER \"%1$s\"' WHERE NOT EXISTS "
        "(SELECT 1 FROM pg_database WHERE datname = '%1$s')\\gexec\n",
        db->name, db->password);
    const char *argv[] = {psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", db->data, "-p", port,
                          "-U", "postgres", "-d", "postgres", NULL};
    hoist_status st = local_db_exec(p, ctx, db, argv, sql, 60000);
    memset(sql, 0, strlen(sql));
    free(sql);
    free(psql);
    return st;
}

static hoist_status local_pg_stop(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    char *pg_ctl = local_db_bin(db, "pg_ctl");
    const char *argv[] = {pg_ctl, "-D", db->data, "-m", "fast", "-w", "-t", "60", "stop", NULL};
    hoist_status st = local_db_exec(p, ctx, db, argv, NULL, 90000);
    free(pg_ctl);
    return st;
}

/* ---- Redis --------------------------------------------------------------- */

static hoist_status local_redis_find(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    char *bin = local_which("redis-server");
    if (!bin)
        return local_db_missing(p, ctx, db, "redis-server");
    *strrchr(bin, '/') = '\0';
    db->bindir = bin;
    return HOIST_OK;
}

static pid_t local_redis_running(local_db *db)
{
    return local_db_pid(db, "redis.pid", "redis-server");
}

static int local_redis_initialised(local_db *db)
{
    struct stat st;
    return stat(db->data, &st) == 0 && S_ISDIR(st.st_mode);
}

static hoist_status local_redis_init(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    if (local_mkdirs(db->data, 0700) != 0)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot create %s: %s", db->data,
                             hoist_kit_strerror(errno));
    return HOIST_OK;
}

/* AUTH then PING: 1 when the server answers +PONG with our password. */
static int local_redis_ping(local_db *db)
{
    char *req = hoist_kit_xasprintf("AUTH %s\r\nPING\r\n", db->password);
    char *reply = NULL;
    int ok = local_tcp_exchange(db->port, req, "PONG", 1000, &reply) == 0 && reply &&
             strstr(reply, "+OK") && strstr(reply, "+PONG");
    memset(req, 0, strlen(req));
    free(req);
    free(reply);
    return ok;
}

static hoist_status local_redis_start(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    char *conf = hoist_kit_xasprintf("%s/redis.conf", db->dir);
    /* The password is in this 0600 file, never on redis-server's command line. */
    char *text = hoist_kit_xasprintf("# written by hoist's local driver on every start\n"
                                     "bind %s\nport %d\nprotected-mode yes\n"
                                     "requirepass %s\nsave \"\"\nappendonly no\n"
                                     "dir %s\npidfile %s/redis.pid\nlogfile %s\n"
                                     "daemonize yes\n",
                                     LOCAL_ADDR, db->port, db->password, db->data, db->data,
                                     db->log);
    hoist_status st = HOIST_OK;
    int rc = local_write_file(conf, text, strlen(text), 0600);
    memset(text, 0, strlen(text));
    free(text);
    if (rc != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", conf,
                           hoist_kit_strerror(errno));
        goto cleanup;
    }
    char *bin = local_db_bin(db, "redis-server");
    const char *argv[] = {bin, conf, NULL};
    st = local_db_exec(p, ctx, db, argv, NULL, 30000);
    free(bin);
    if (st != HOIST_OK)
        goto cleanup;
    for (int i = 0; i < 300 && !local_redis_ping(db); i++) {
        if (p->host->cancelled(ctx)) {
            st = p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled while Redis starts");
            goto cleanup;
        }
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    if (!local_redis_ping(db))
        st = p->host->fail(ctx, HOIST_E_TRANSIENT,
                           "Redis did not answer on %s:%d within 30 s: see %s", LOCAL_ADDR,
                           db->port, db->log);
cleanup:
    free(conf);
    return st;
}

static hoist_status local_redis_provision(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    (void)p;
    (void)ctx;
    (void)db;
    return HOIST_OK; /* requirepass is the whole setup */
}

/* Stop a server by its pid: SIGTERM, then SIGKILL after @grace_ms. */
static hoist_status local_db_kill(local_prov *p, hoist_ctx *ctx, local_db *db, pid_t pid,
                                  long grace_ms)
{
    if (pid <= 0)
        return HOIST_OK;
    kill(pid, SIGTERM);
    if (local_wait_gone(pid, grace_ms))
        return HOIST_OK;
    p->host->log(ctx, HOIST_LOG_WARN, "%s server (pid %ld) ignored SIGTERM for %ld ms; killing it",
                 db->eng->name, (long)pid, grace_ms);
    kill(pid, SIGKILL);
    if (local_wait_gone(pid, 5000))
        return HOIST_OK;
    return p->host->fail(ctx, HOIST_E_TRANSIENT, "%s server pid %ld does not stop", db->eng->name,
                         (long)pid);
}

static hoist_status local_redis_stop(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    return local_db_kill(p, ctx, db, local_redis_running(db), 10000);
}

/* ---- MariaDB (engine "mysql") ------------------------------------------- */

static char *local_first_prog(const char *const *names)
{
    for (; *names; names++) {
        char *b = local_which(*names);
        if (!b && **names != '/') {
            /* Debian installs the daemon in sbin, which a user's PATH may lack. */
            char *sb = hoist_kit_xasprintf("/usr/sbin/%s", *names);
            if (access(sb, X_OK) == 0)
                return sb;
            free(sb);
        }
        if (b)
            return b;
    }
    return NULL;
}

static hoist_status local_my_find(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    static const char *const installers[] = {"mariadb-install-db", "mysql_install_db", NULL};
    char *inst = local_first_prog(installers);
    if (!inst)
        return local_db_missing(p, ctx, db, "mariadb-install-db, mariadbd");
    free(inst);
    static const char *const daemons[] = {"mariadbd", "mysqld", NULL};
    char *d = local_first_prog(daemons);
    if (!d)
        return local_db_missing(p, ctx, db, "mariadbd");
    *strrchr(d, '/') = '\0';
    db->bindir = d;
    return HOIST_OK;
}

static pid_t local_my_running(local_db *db)
{
    pid_t pid = local_db_pid(db, "mysqld.pid", "mysqld");
    return pid ? pid : local_db_pid(db, "mysqld.pid", "mariadbd");
}

static int local_my_initialised(local_db *db)
{
    return local_db_has(db, "hoist-initialised");
}

static hoist_status local_my_init(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    static const char *const installers[] = {"mariadb-install-db", "mysql_install_db", NULL};
    char *inst = local_first_prog(installers);
    char *datadir = hoist_kit_xasprintf("--datadir=%s", db->data);
    char *marker = hoist_kit_xasprintf("%s/hoist-initialised", db->data);
    hoist_status st = HOIST_OK;
    if (local_rmrf(db->data) != 0 || mkdir(db->data, 0700) != 0 ||
        local_db_chown(db, db->data) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot prepare %s: %s", db->data,
                           hoist_kit_strerror(errno));
        goto cleanup;
    }
    /* The administrator logs in through the unix socket as the OS user that
     * runs the server (unix_socket authentication): no admin password. */
    char *a_user = hoist_kit_xasprintf("--user=%s", db->os_user);
    char *a_sock_user = hoist_kit_xasprintf("--auth-root-socket-user=%s", db->os_user);
    const char *argv[] = {inst, "--no-defaults", datadir, a_user,
                          "--auth-root-authentication-method=socket", a_sock_user,
                          "--skip-test-db", NULL};
    st = local_db_exec(p, ctx, db, argv, NULL, 180000);
    free(a_user);
    free(a_sock_user);
    if (st == HOIST_OK && local_write_file(marker, "", 0, 0600) != 0)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", marker,
                           hoist_kit_strerror(errno));
cleanup:
    free(inst);
    free(datadir);
    free(marker);
    return st;
}

static hoist_status local_my_start(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    char *daemon = hoist_kit_xasprintf("%s/%s", db->bindir, "mariadbd");
    if (access(daemon, X_OK) != 0) {
        free(daemon);
        daemon = hoist_kit_xasprintf("%s/%s", db->bindir, "mysqld");
    }
    char *a_data = hoist_kit_xasprintf("--datadir=%s", db->data);
    char *a_port = hoist_kit_xasprintf("--port=%d", db->port);
    char *a_sock = hoist_kit_xasprintf("--socket=%s/mysqld.sock", db->data);
    char *a_pid = hoist_kit_xasprintf("--pid-file=%s/mysqld.pid", db->data);
    char *a_log = hoist_kit_xasprintf("--log-error=%s", db->log);
    const char *argv[] = {daemon, "--no-defaults", a_data, a_port, "--bind-address=" LOCAL_ADDR,
                          a_sock, a_pid, a_log, "--skip-name-resolve", NULL};
    local_spawn s = {.argv = argv, .out_fd = -1, .drop = db->drop, .uid = db->uid, .gid = db->gid,
                     .detach = 1};
    hoist_status st = HOIST_OK;
    if (local_run(p, ctx, &s, NULL, NULL) != 0) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot start %s: %s", daemon,
                           hoist_kit_strerror(errno));
        goto cleanup;
    }
    char *sock = hoist_kit_xasprintf("%s/mysqld.sock", db->data);
    int up = 0;
    for (int i = 0; i < 600 && !up && !p->host->cancelled(ctx); i++) {
        up = local_my_running(db) && access(sock, F_OK) == 0 && local_port_open(db->port, 200);
        if (!up) {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    free(sock);
    if (!up)
        st = p->host->fail(ctx, HOIST_E_TRANSIENT,
                           "MariaDB did not start on %s:%d within 60 s: see %s", LOCAL_ADDR,
                           db->port, db->log);
cleanup:
    free(daemon);
    free(a_data);
    free(a_port);
    free(a_sock);
    free(a_pid);
    free(a_log);
    return st;
}

static hoist_status local_my_provision(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    static const char *const clients[] = {"mariadb", "mysql", NULL};
    char *client = local_first_prog(clients);
    if (!client)
        return local_db_missing(p, ctx, db, "mariadb client");
    char *a_sock = hoist_kit_xasprintf("--socket=%s/mysqld.sock", db->data);
    char *a_user = hoist_kit_xasprintf("--user=%s", db->os_user);
    char *sql = hoist_kit_xasprintf(
        "CREATE DATABASE IF NOT EXISTS `%1$s`;\n"
        "CREATE USER IF NOT EXISTS '%1$s'@'127.0.0.1' IDENTIFIED BY '%2$s';\n"
        "ALTER USER '%1$s'@'127.0.0.1' IDENTIFIED BY '%2$s';\n"
        "GRANT ALL PRIVILEGES ON `%1$s`.* TO '%1$s'@'127.0.0.1';\n",
        db->name, db->password);
    const char *argv[] = {client, "--no-defaults", a_sock, a_user, NULL};
    hoist_status st = local_db_exec(p, ctx, db, argv, sql, 60000);
    memset(sql, 0, strlen(sql));
    free(sql);
    free(a_sock);
    free(a_user);
    free(client);
    return st;
}

static hoist_status local_my_stop(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    return local_db_kill(p, ctx, db, local_my_running(db), 60000);
}

static const local_engine local_engines[] = {
    {.name = "postgresql", .apt = "postgresql", .sys_user = "postgres", .default_user = NULL,
     .find = local_pg_find, .running = local_pg_running, .initialised = local_pg_initialised,
     .init = local_pg_init, .start = local_pg_start, .provision = local_pg_provision,
     .stop = local_pg_stop},
    {.name = "redis", .apt = "redis-server", .sys_user = NULL, .default_user = "default",
     .find = local_redis_find, .running = local_redis_running,
     .initialised = local_redis_initialised, .init = local_redis_init, .start = local_redis_start,
     .provision = local_redis_provision, .stop = local_redis_stop},
    {.name = "mysql", .apt = "mariadb-server", .sys_user = "mysql", .default_user = NULL,
     .find = local_my_find, .running = local_my_running, .initialised = local_my_initialised,
     .init = local_my_init, .start = local_my_start, .provision = local_my_provision,
     .stop = local_my_stop},
};

static const local_engine *local_engine_get(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "postgres") == 0)
        name = "postgresql";
    if (strcmp(name, "mariadb") == 0)
        name = "mysql";
    for (size_t i = 0; i < sizeof local_engines / sizeof local_engines[0]; i++)
        if (strcmp(local_engines[i].name, name) == 0)
            return &local_engines[i];
    return NULL;
}

/*
 * Fill @db for resource @r: names, paths, engine, server user.  The engine
 * comes from the spec, or from meta.json when the spec lacks it (destroy of
 * a database removed from hoist.yml).  Does not touch the disk.
 */
static hoist_status local_db_setup(local_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                   local_db *db)
{
    memset(db, 0, sizeof *db);
    db->name = r->name;
    if (!local_name_ok(r->name))
        return p->host->fail(ctx, HOIST_E_INVALID,
                             "database name '%s': use letters, digits, '_' or '-' (max 63)",
                             r->name);
    db->dir = local_path(p, "db/%s", r->name);
    db->data = hoist_kit_xasprintf("%s/data", db->dir);
    db->log = local_path(p, "logs/db-%s.log", r->name);
    db->portkey = hoist_kit_xasprintf("db/%s", r->name);
    char *srv_root = geteuid() == 0 ? local_db_server_root(p, r) : NULL;
    char *srv_dir = srv_root ? hoist_kit_xasprintf("%s/db/%s", srv_root, r->name) : NULL;
    const char *engine = json_string_value(json_object_get(r->spec, "engine"));
    json_t *meta = NULL;
    for (int k = 0; k < 2 && !engine; k++) {
        if (k == 1 && !srv_dir)
            break;
        char *mp = hoist_kit_xasprintf("%s/meta.json", k ? srv_dir : db->dir);
        json_decref(meta);
        meta = json_load_file(mp, 0, NULL);
        free(mp);
        engine = json_string_value(json_object_get(meta, "engine"));
    }
    db->eng = local_engine_get(engine ? engine : "postgresql");
    json_t *v = json_object_get(r->spec, "version");
    if (json_is_string(v))
        db->spec_version = hoist_kit_xstrdup(json_string_value(v));
    else if (json_is_integer(v))
        db->spec_version = hoist_kit_xasprintf("%lld", (long long)json_integer_value(v));
    if (!db->eng) {
        free(srv_root);
        free(srv_dir);
        p->host->fail(ctx, HOIST_E_UNSUPPORTED,
                      "database engine '%s' is not offered by the local provider "
                      "(postgresql, mysql, redis)",
                      engine);
        json_decref(meta); /* @engine may point into it */
        return HOIST_E_UNSUPPORTED;
    }
    json_decref(meta);
    /* The _r forms: databases are prepared by parallel workers, and
     * getpwnam/getpwuid return one static record shared by all threads. */
    struct passwd pwd, *pw = NULL;
    char pwbuf[4096];
    if (geteuid() == 0 && db->eng->sys_user) {
        getpwnam_r(db->eng->sys_user, &pwd, pwbuf, sizeof pwbuf, &pw); /* pw NULL if none */
        if (!pw) {
            free(srv_root);
            free(srv_dir);
            return p->host->fail(ctx, HOIST_E_INVALID,
                                 "%s refuses to run as root and the `%s` user does not exist: "
                                 "`apt-get install -y %s` creates it",
                                 db->eng->name, db->eng->sys_user, db->eng->apt);
        }
        db->drop = 1;
        db->uid = pw->pw_uid;
        db->gid = pw->pw_gid;
        db->os_user = hoist_kit_xstrdup(pw->pw_name);
        struct stat sb;
        char *legacy = hoist_kit_xasprintf("%s/PG_VERSION", db->data);
        char *legacy2 = hoist_kit_xasprintf("%s/mysql", db->data);
        /* A server set up by an older hoist inside the project keeps its
           data where it is (destroy and deploy again to move it). */
        if (stat(legacy, &sb) != 0 && stat(legacy2, &sb) != 0) {
            free(db->dir);
            free(db->data);
            free(db->log);
            db->dir = srv_dir;
            db->data = hoist_kit_xasprintf("%s/data", db->dir);
            db->log = hoist_kit_xasprintf("%s/logs/db-%s.log", srv_root, r->name);
            db->srv_root = srv_root;
            srv_dir = srv_root = NULL;
        }
        free(legacy);
        free(legacy2);
    } else {
        getpwuid_r(geteuid(), &pwd, pwbuf, sizeof pwbuf, &pw);
        db->os_user = hoist_kit_xstrdup(pw ? pw->pw_name : "root");
    }
    free(srv_root);
    free(srv_dir);
    return HOIST_OK;
}

/* Load the password file, or generate and store one.  Registers it as a secret. */
static hoist_status local_db_password(local_prov *p, hoist_ctx *ctx, local_db *db, int create)
{
    char *path = hoist_kit_xasprintf("%s/password", db->dir);
    char *pw = local_read_file(path, NULL);
    hoist_status st = HOIST_OK;
    if (pw && strlen(pw) >= 16 && strlen(pw) < sizeof db->password) {
        snprintf(db->password, sizeof db->password, "%s", pw);
        p->host->secret(ctx, db->password);
    } else if (!create) {
        st = HOIST_E_NOTFOUND;
    } else {
        st = p->host->random_secret(ctx, db->password, 25);
        if (st == HOIST_OK && local_write_file(path, db->password, strlen(db->password), 0600) != 0)
            st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", path,
                               hoist_kit_strerror(errno));
    }
    if (pw)
        memset(pw, 0, strlen(pw));
    free(pw);
    free(path);
    return st;
}

static const char *local_db_user(local_db *db)
{
    return db->eng->default_user ? db->eng->default_user : db->name;
}

static void local_db_result(local_db *db, pid_t pid, const char *state, hoist_result *out)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s}", "id",
                          db->portkey, "engine", db->eng->name, "host", LOCAL_ADDR, "port",
                          db->port, "user", local_db_user(db), "database",
                          strcmp(db->eng->name, "redis") == 0 ? "0" : db->name, "data_dir",
                          db->data, "log", db->log, "state", state);
    if (pid > 0)
        json_object_set_new(o, "pid", json_integer(pid));
    if (db->version)
        json_object_set_new(o, "version", json_string(db->version));
    out->outputs = o;
    if (db->password[0])
        out->secrets = json_pack("{s:s}", "password", db->password);
}

static hoist_status local_db_write_meta(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    char *path = hoist_kit_xasprintf("%s/meta.json", db->dir);
    json_t *m = json_pack("{s:s,s:i,s:s}", "engine", db->eng->name, "port", db->port, "user",
                          local_db_user(db));
    hoist_status st = HOIST_OK;
    if (local_write_json(path, m) != 0)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", path,
                           hoist_kit_strerror(errno));
    json_decref(m);
    free(path);
    return st;
}

static hoist_status local_db_prepare_dirs(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    char *logs = db->srv_root ? hoist_kit_xasprintf("%s/logs", db->srv_root) : local_path(p, "logs");
    hoist_status st = HOIST_OK;
    int made = db->srv_root ? local_db_mkdir_passable(db->dir) == 0 &&
                                  local_db_mkdir_passable(logs) == 0
                            : local_mkdirs(db->dir, 0700) == 0 && local_mkdirs(logs, 0700) == 0;
    if (!made) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL,
                           "cannot create %s: %s%s", db->dir, hoist_kit_strerror(errno),
                           db->srv_root ? " (set HOIST_LOCAL_SERVER_ROOT to a directory the "
                                          "server's user can reach)" : "");
        goto cleanup;
    }
    if (db->drop) {
        if (db->srv_root)
            p->host->log(ctx, HOIST_LOG_DEBUG, "%s runs as %s with its files in %s",
                         db->eng->name, db->os_user, db->dir);
        /* The server's log file must be writable by the server's user. */
        int fd = open(db->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 || fchown(fd, db->uid, db->gid) != 0) {
            st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot prepare %s: %s", db->log,
                               hoist_kit_strerror(errno));
        }
        if (fd >= 0)
            close(fd);
    }
cleanup:
    free(logs);
    return st;
}

static hoist_status local_database_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                          hoist_result *out)
{
    local_prov *p = vp;
    local_db db;
    hoist_status st = local_db_setup(p, ctx, r, &db);
    if (st == HOIST_OK)
        st = local_db_prepare_dirs(p, ctx, &db);
    if (st == HOIST_OK)
        st = local_db_password(p, ctx, &db, 1);
    if (st == HOIST_OK)
        st = db.eng->find(p, ctx, &db);
    if (st != HOIST_OK)
        goto cleanup;
    pid_t pid = db.eng->running(&db);
    /* A running server keeps its port; a stopped one gets its recorded port
     * back if still free, or a new one. */
    st = local_port_get(p, ctx, db.portkey, pid > 0, &db.port);
    if (st != HOIST_OK)
        goto cleanup;
    if (pid <= 0) {
        if (!db.eng->initialised(&db)) {
            p->host->log(ctx, HOIST_LOG_INFO, "initialising %s in %s", db.eng->name, db.data);
            st = db.eng->init(p, ctx, &db);
            if (st != HOIST_OK)
                goto cleanup;
        }
        p->host->log(ctx, HOIST_LOG_INFO, "starting %s on %s:%d", db.eng->name, LOCAL_ADDR,
                     db.port);
        st = db.eng->start(p, ctx, &db);
        if (st != HOIST_OK)
            goto cleanup;
        pid = db.eng->running(&db);
    }
    st = db.eng->provision(p, ctx, &db);
    if (st == HOIST_OK)
        st = local_db_write_meta(p, ctx, &db);
    if (st == HOIST_OK)
        local_db_result(&db, pid, "running", out);
cleanup:
    local_db_free(&db);
    return st;
}

static hoist_status local_database_observe(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                           hoist_result *out)
{
    local_prov *p = vp;
    local_db db;
    hoist_status st = local_db_setup(p, ctx, r, &db);
    if (st != HOIST_OK)
        goto cleanup;
    if (!db.eng->initialised(&db)) {
        st = HOIST_E_NOTFOUND;
        goto cleanup;
    }
    db.port = local_port_peek(p, db.portkey);
    pid_t pid = db.eng->running(&db);
    local_db_password(p, ctx, &db, 0);
    local_db_result(&db, pid, pid > 0 ? "running" : "stopped", out);
    if (pid <= 0) {
        st = HOIST_PENDING;
        p->host->progress(ctx, "stopped");
    }
cleanup:
    local_db_free(&db);
    return st;
}

/* Stop the server if it runs: the engine's own way, then signals. */
static hoist_status local_db_stop_if_running(local_prov *p, hoist_ctx *ctx, local_db *db)
{
    if (db->eng->running(db) <= 0)
        return HOIST_OK;
    if (db->eng->find(p, ctx, db) != HOIST_OK || db->eng->stop(p, ctx, db) != HOIST_OK)
        p->host->log(ctx, HOIST_LOG_WARN, "%s did not stop cleanly; sending signals",
                     db->eng->name);
    return local_db_kill(p, ctx, db, db->eng->running(db), 30000);
}

static hoist_status local_database_pause(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                         hoist_result *out)
{
    local_prov *p = vp;
    local_db db;
    hoist_status st = local_db_setup(p, ctx, r, &db);
    if (st == HOIST_OK)
        st = local_db_stop_if_running(p, ctx, &db);
    if (st == HOIST_OK && db.eng->initialised(&db)) {
        db.port = local_port_peek(p, db.portkey);
        local_db_password(p, ctx, &db, 0);
        local_db_result(&db, 0, "stopped", out);
    }
    local_db_free(&db);
    return st;
}

static hoist_status local_database_destroy(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                           hoist_result *out)
{
    (void)out;
    local_prov *p = vp;
    local_db db;
    hoist_status st = local_db_setup(p, ctx, r, &db);
    if (st == HOIST_OK)
        st = local_db_stop_if_running(p, ctx, &db);
    /* Nothing may keep running from a directory about to disappear. */
    if (st == HOIST_OK)
        local_kill_cwd(db.dir);
    if (st == HOIST_OK && local_rmrf(db.dir) != 0)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot remove %s: %s", db.dir,
                           hoist_kit_strerror(errno));
    if (st == HOIST_OK) {
        unlink(db.log);
        local_port_release(p, db.portkey);
        if (db.srv_root) {
            /* hoist's own directories, when no other database uses them */
            char *d = hoist_kit_xasprintf("%s/db", db.srv_root), *l = hoist_kit_xasprintf("%s/logs",
                                                                                 db.srv_root);
            rmdir(d);
            rmdir(l);
            rmdir(db.srv_root);
            /* The base (LOCAL_SERVER_ROOT) stays: removing it would race with
               another environment's deploy creating its directory inside. */
            free(d);
            free(l);
        }
    }
    local_db_free(&db);
    return st;
}

static hoist_status local_database_connection(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                              hoist_db_connection *out)
{
    local_prov *p = vp;
    local_db db;
    hoist_status st = local_db_setup(p, ctx, r, &db);
    if (st != HOIST_OK)
        goto cleanup;
    db.port = local_port_peek(p, db.portkey);
    if (db.port <= 0 || local_db_password(p, ctx, &db, 0) != HOIST_OK) {
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "database %s has not been created yet", r->name);
        goto cleanup;
    }
    out->host = hoist_kit_xstrdup(LOCAL_ADDR);
    out->port = db.port;
    out->user = hoist_kit_xstrdup(local_db_user(&db));
    out->password = hoist_kit_xstrdup(db.password);
    out->database = hoist_kit_xstrdup(strcmp(db.eng->name, "redis") == 0 ? "0" : db.name);
    out->tls = 0;
cleanup:
    local_db_free(&db);
    return st;
}

const hoist_database_ops local_database_ops = {
    .struct_size = sizeof local_database_ops,
    .ensure = local_database_ensure,
    .observe = local_database_observe,
    .destroy = local_database_destroy,
    .pause = local_database_pause,
    .connection = local_database_connection,
};
