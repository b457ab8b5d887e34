/*
 * local.h - internals of the `local` driver (not installed, not exported).
 *
 * The local driver runs everything on this machine: a loopback "network"
 * (an address and a port range per environment), real database servers in
 * private data directories, and applications as supervised processes.  All
 * of its files live under host->state_dir() (.hoist/local/<env>/):
 *
 *   network.json          the environment's address and port range
 *   ports.json            which resource holds which port (stable across runs)
 *   lock                  flock(2) guard for the two files above
 *   db/<name>/            one database: meta, password (0600), data/
 *   apps/<name>/          one application: rel-<hash>/ copies, inst-<i>/ pids
 *   logs/                 db-<name>.log, <app>.log, <app>-build.log
 *
 * Every function here reports its failure once through host->fail().
 */
#ifndef HOIST_LOCAL_H
#define HOIST_LOCAL_H

/* vasprintf, pipe2, O_CLOEXEC helpers: the driver targets GNU/Linux. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <hoist/host.h>
#include <hoist/provider.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LOCAL_ADDR "127.0.0.1"
#define LOCAL_PORT_COUNT 100

typedef struct local_prov {
    const hoist_host *host;
    char *dir;             /* host->state_dir(), owned */
    char *runner;          /* path of hoist-local-run, owned */
    pthread_mutex_t lock;  /* guards network.json and ports.json in this process */
} local_prov;

/* ---- local_util.c --------------------------------------------------------- */

/* Allocation that aborts on failure (a driver cannot link libhoist). */
void *local_xmalloc(size_t n);
char *local_xstrdup(const char *s); /* NULL -> NULL */
char *local_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* strerror(3) that is thread-safe: the text is in a per-thread buffer, valid
   until this thread's next call.  Never NULL. */
const char *local_strerror(int err);

/* A small growable string, always NUL-terminated. */
typedef struct local_buf {
    char *s;
    size_t len, cap;
} local_buf;
void local_buf_add(local_buf *b, const void *p, size_t n);
void local_buf_printf(local_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* mkdir -p with @mode for created components: 0, or -1 with errno. */
int local_mkdirs(const char *path, mode_t mode);
/* rm -rf without following symlinks: 0, or -1 with errno. */
int local_rmrf(const char *path);
/* Copy directory @src to @dst (created), skipping names in @skip (NULL-terminated). */
int local_copytree(const char *src, const char *dst, const char *const *skip);
/* Read a whole file (NUL-terminated, new string) or NULL with errno. */
char *local_read_file(const char *path, size_t *len);
/* Write @len bytes to @path atomically (temp, fsync, rename) with @mode. */
int local_write_file(const char *path, const void *data, size_t len, mode_t mode);
/* json_dump @obj into @path atomically (mode 0600). */
int local_write_json(const char *path, json_t *obj);

/* FNV-1a 64-bit over @data, continuing from @h (start with LOCAL_FNV_INIT). */
#define LOCAL_FNV_INIT 0xcbf29ce484222325ULL
uint64_t local_fnv(uint64_t h, const void *data, size_t len);
/* Content digest of a source tree (paths, modes, bytes), skipping @skip. */
int local_tree_digest(const char *dir, const char *const *skip, uint64_t *out);

/* Pid in @path if that process is alive and its command line contains
 * @needle (guards against pid reuse); else 0. */
pid_t local_pidfile_alive(const char *path, const char *needle);
/* 1 if pid is alive and /proc/pid/cmdline contains @needle. */
int local_pid_matches(pid_t pid, const char *needle);
/* Wait up to @ms for @pid to disappear; 1 when gone. */
int local_wait_gone(pid_t pid, long ms);
/* Kill every process whose environment holds @var=@value (SIGKILL), return count. */
int local_kill_tagged(const char *var, const char *value);

/* Kill every process whose working directory is in @dir (SIGKILL), return
 * count.  Finds a crashed server's orphaned workers (PostgreSQL's run in the
 * data directory). */
int local_kill_cwd(const char *dir);

/* 1 if 127.0.0.1:@port can be bound (nobody listens there). */
int local_port_free(int port);
/* 1 if something accepts TCP connections on 127.0.0.1:@port. */
int local_port_open(int port, int timeout_ms);
/* Connect to 127.0.0.1:@port, send @request, read until @until appears, EOF
 * or @timeout_ms; *reply gets what was read (new string).  0, or -1 when the
 * connection failed. */
int local_tcp_exchange(int port, const char *request, const char *until, int timeout_ms,
                       char **reply);
/*
 * Minimal HTTP/1.0 GET http://127.0.0.1:@port@path over a socket: returns the
 * status code, 0 when nothing answered, -1 on a malformed reply.  Bounded by
 * @timeout_ms.  Enough for a readiness probe; not a general HTTP client.
 */
int local_http_get_status(int port, const char *path, int timeout_ms, char *body, size_t bodylen);

/* Find an executable: absolute path if @name has a '/', else $PATH.  New string or NULL. */
char *local_which(const char *name);

/* ---- process spawning ----------------------------------------------------- */

typedef struct local_spawn {
    const char *const *argv;  /* argv[0] is a path or found in PATH */
    const char *const *envp;  /* NULL: inherit */
    const char *cwd;          /* NULL: inherit (or "/" when dropping to @uid) */
    const char *input;        /* written to stdin, then closed; NULL: /dev/null */
    int out_fd;               /* >= 0: stdout+stderr go there instead of being captured */
    uid_t uid;                /* run as this user when @drop */
    gid_t gid;
    int drop;
    int detach;               /* double-fork and do not wait (daemons) */
    long timeout_ms;          /* 0: 10 minutes */
} local_spawn;

/*
 * Run a command in its own session.  Returns its exit status (0..255),
 * 128+signal, or -1 if it could not be started (errno set).  *output (if not
 * NULL) receives the last 8 KiB of stdout+stderr (new string).  With @detach,
 * returns 0 once the grandchild was started, *pid_out its pid.  The run is cut
 * (process group killed) after timeout_ms or when host->cancelled().
 */
int local_run(local_prov *p, hoist_ctx *ctx, const local_spawn *s, char **output, pid_t *pid_out);
/* A human rendering of argv for messages ("pg_ctl -D /x start"). */
char *local_argv_str(const char *const *argv);
/* Last @n lines of @s (borrowed pointer into it). */
const char *local_tail_lines(const char *s, int n);

/* ---- ports (local_network.c) ---------------------------------------------- */

/* The environment's port range, creating it if needed: 0 or error status. */
hoist_status local_net_range(local_prov *p, hoist_ctx *ctx, int *base, int *count);
/*
 * The port held by @key ("db/main", "app/api/0").  Returns the recorded port
 * when it is still ours (@in_use_by_us: the caller knows its own server holds
 * it) or free; otherwise assigns a free one from the range and records it.
 */
hoist_status local_port_get(local_prov *p, hoist_ctx *ctx, const char *key, int in_use_by_us,
                            int *port);
/* The recorded port of @key, or 0 (never assigns). */
int local_port_peek(local_prov *p, const char *key);
/* Forget every key starting with @prefix. */
void local_port_release(local_prov *p, const char *prefix);

/* ---- ops tables --------------------------------------------------------------- */

extern const hoist_network_ops local_network_ops;
extern const hoist_database_ops local_database_ops;
extern const hoist_app_ops local_app_ops;

/* Path helpers: new strings under the state dir. */
char *local_path(local_prov *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Names go into paths and SQL identifiers: [A-Za-z0-9_-], 1..63 chars. */
int local_name_ok(const char *name);

#endif
