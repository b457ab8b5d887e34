/* local_util.c - files, processes, ports and probes for the local driver. */
#include "local.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *local_path(local_prov *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *rel = hoist_kit_xvasprintf(NULL, fmt, ap);
    va_end(ap);
    char *s = hoist_kit_xasprintf("%s/%s", p->dir, rel);
    free(rel);
    return s;
}

int local_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int local_mkdirs(const char *path, mode_t mode)
{
    char *s = hoist_kit_xstrdup(path);
    int rc = 0;
    for (char *q = s + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (mkdir(s, mode) != 0 && errno != EEXIST) {
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

int local_rmrf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *sub = hoist_kit_xasprintf("%s/%s", path, e->d_name);
        if (local_rmrf(sub) != 0)
            rc = -1;
        free(sub);
    }
    closedir(d);
    if (rc == 0 && rmdir(path) != 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

static int local_skipped(const char *name, const char *const *skip)
{
    for (; skip && *skip; skip++)
        if (strcmp(name, *skip) == 0)
            return 1;
    return 0;
}

/* Sorted entry names of @dir (NULL-terminated, caller frees each and the array). */
static char **local_sorted_entries(const char *dir)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0)
        return NULL;
    char **v = hoist_kit_xmalloc(((size_t)n + 1) * sizeof *v);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0)
            v[k++] = hoist_kit_xstrdup(list[i]->d_name);
        free(list[i]);
    }
    free(list);
    v[k] = NULL;
    return v;
}

static void local_strv_free(char **v)
{
    for (char **q = v; q && *q; q++)
        free(*q);
    free(v);
}

static int local_copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    if (n < 0)
        rc = -1;
    close(in);
    if (close(out) != 0)
        rc = -1;
    return rc;
}

int local_copytree(const char *src, const char *dst, const char *const *skip)
{
    struct stat st;
    if (stat(src, &st) != 0)
        return -1;
    if (mkdir(dst, (st.st_mode & 07777) | 0700) != 0 && errno != EEXIST)
        return -1;
    char **names = local_sorted_entries(src);
    if (!names)
        return -1;
    int rc = 0;
    for (char **n = names; *n && rc == 0; n++) {
        if (local_skipped(*n, skip))
            continue;
        char *s = hoist_kit_xasprintf("%s/%s", src, *n);
        char *d = hoist_kit_xasprintf("%s/%s", dst, *n);
        struct stat es;
        if (lstat(s, &es) != 0)
            rc = -1;
        else if (S_ISDIR(es.st_mode))
            rc = local_copytree(s, d, skip);
        else if (S_ISREG(es.st_mode))
            rc = local_copy_file(s, d, es.st_mode);
        else if (S_ISLNK(es.st_mode)) {
            char target[4096];
            ssize_t k = readlink(s, target, sizeof target - 1);
            if (k < 0)
                rc = -1;
            else {
                target[k] = '\0';
                rc = symlink(target, d);
            }
        }
        /* Sockets, fifos and devices are not part of an application's source. */
        free(s);
        free(d);
    }
    local_strv_free(names);
    return rc;
}

char *local_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    hoist_kit_buf b = {0};
    char tmp[8192];
    ssize_t n;
    hoist_kit_buf_add(&b, "", 0);
    while ((n = read(fd, tmp, sizeof tmp)) > 0)
        hoist_kit_buf_add(&b, tmp, (size_t)n);
    int e = errno;
    close(fd);
    if (n < 0) {
        free(b.s);
        errno = e;
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.s;
}

int local_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = hoist_kit_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int rc = -1;
    if (fd < 0)
        goto cleanup;
    if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        goto cleanup;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(tmp);
    return rc;
}

int local_write_json(const char *path, json_t *obj)
{
    char *s = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!s)
        return -1;
    int rc = local_write_file(path, s, strlen(s), 0600);
    free(s);
    return rc;
}

static int local_digest_rec(const char *dir, const char *rel, const char *const *skip,
                            uint64_t *h)
{
    char **names = local_sorted_entries(dir);
    if (!names)
        return -1;
    int rc = 0;
    for (char **n = names; *n && rc == 0; n++) {
        if (local_skipped(*n, skip))
            continue;
        char *path = hoist_kit_xasprintf("%s/%s", dir, *n);
        char *r = hoist_kit_xasprintf("%s/%s", rel, *n);
        struct stat st;
        if (lstat(path, &st) != 0) {
            rc = -1;
        } else {
            /* Path and mode go in with a separator so renames change the digest. */
            *h = hoist_kit_fnv1a(*h, r, strlen(r) + 1);
            unsigned m = (unsigned)st.st_mode;
            *h = hoist_kit_fnv1a(*h, &m, sizeof m);
            if (S_ISDIR(st.st_mode)) {
                rc = local_digest_rec(path, r, skip, h);
            } else if (S_ISREG(st.st_mode)) {
                size_t len = 0;
                char *data = local_read_file(path, &len);
                if (!data)
                    rc = -1;
                else
                    *h = hoist_kit_fnv1a(*h, data, len);
                free(data);
            } else if (S_ISLNK(st.st_mode)) {
                char t[4096];
                ssize_t k = readlink(path, t, sizeof t);
                if (k > 0)
                    *h = hoist_kit_fnv1a(*h, t, (size_t)k);
            }
        }
        free(path);
        free(r);
    }
    local_strv_free(names);
    return rc;
}

int local_tree_digest(const char *dir, const char *const *skip, uint64_t *out)
{
    uint64_t h = HOIST_KIT_FNV64_INIT;
    int rc = local_digest_rec(dir, "", skip, &h);
    *out = h;
    return rc;
}

/* /proc/<pid>/<what> with NULs turned into spaces, or NULL. */
static char *local_proc_text(pid_t pid, const char *what, size_t *len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, what);
    size_t n = 0;
    char *s = local_read_file(path, &n);
    if (s && len)
        *len = n;
    return s;
}

int local_pid_matches(pid_t pid, const char *needle)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
        return 0;
    /* A zombie is not alive for our purposes. */
    char *st = local_proc_text(pid, "stat", NULL);
    const char *rp = st ? strrchr(st, ')') : NULL;
    int zombie = rp && rp[1] == ' ' && rp[2] == 'Z';
    free(st);
    if (zombie || !st)
        return 0;
    if (!needle)
        return 1;
    size_t n = 0;
    char *cmd = local_proc_text(pid, "cmdline", &n);
    if (!cmd)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    int ok = strstr(cmd, needle) != NULL;
    free(cmd);
    return ok;
}

pid_t local_pidfile_alive(const char *path, const char *needle)
{
    char *s = local_read_file(path, NULL);
    if (!s)
        return 0;
    long pid = strtol(s, NULL, 10);
    free(s);
    return local_pid_matches((pid_t)pid, needle) ? (pid_t)pid : 0;
}

static void local_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int local_wait_gone(pid_t pid, long ms)
{
    for (long t = 0; t <= ms; t += 50) {
        /* Reap it if it happens to be our child. */
        waitpid(pid, NULL, WNOHANG);
        if (!local_pid_matches(pid, NULL))
            return 1;
        local_sleep_ms(50);
    }
    return 0;
}

/* SIGKILL every process (but us and init) for which @match says yes; count. */
static int local_kill_matching(int (*match)(pid_t pid, const void *arg), const void *arg)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == (long)getpid())
            continue;
        if (match((pid_t)pid, arg) && kill((pid_t)pid, SIGKILL) == 0)
            count++;
    }
    closedir(d);
    return count;
}

static int local_match_env(pid_t pid, const void *arg)
{
    const char *tag = arg;
    size_t tlen = strlen(tag), n = 0;
    char *env = local_proc_text(pid, "environ", &n);
    int hit = 0;
    for (size_t i = 0; env && i < n && !hit;) {
        size_t l = strlen(env + i);
        hit = l == tlen && memcmp(env + i, tag, tlen) == 0;
        i += l + 1;
    }
    free(env);
    return hit;
}

int local_kill_tagged(const char *var, const char *value)
{
    char *tag = hoist_kit_xasprintf("%s=%s", var, value);
    int count = local_kill_matching(local_match_env, tag);
    free(tag);
    return count;
}

static int local_match_cwd(pid_t pid, const void *arg)
{
    const char *dir = arg;
    char link[64], cwd[4096];
    snprintf(link, sizeof link, "/proc/%ld/cwd", (long)pid);
    ssize_t k = readlink(link, cwd, sizeof cwd - 1);
    if (k <= 0)
        return 0;
    cwd[k] = '\0';
    size_t n = strlen(dir);
    return strncmp(cwd, dir, n) == 0 && (cwd[n] == '\0' || cwd[n] == '/');
}

int local_kill_cwd(const char *dir)
{
    char buf[4096];
    const char *real = realpath(dir, buf);
    return local_kill_matching(local_match_cwd, real ? real : dir);
}

int local_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, LOCAL_ADDR, &a.sin_addr);
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    /* A server bound to 0.0.0.0 with SO_REUSEADDR may still let us bind the
     * loopback address; a connect test catches it. */
    return ok && !local_port_open(port, 200);
}

/* Connect to 127.0.0.1:port within @timeout_ms: the fd, or -1. */
static int local_connect(int port, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, LOCAL_ADDR, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (errno != EINPROGRESS)
            goto fail;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t len = sizeof err;
        if (poll(&pf, 1, timeout_ms) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

int local_port_open(int port, int timeout_ms)
{
    int fd = local_connect(port, timeout_ms);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

int local_tcp_exchange(int port, const char *request, const char *until, int timeout_ms,
                       char **reply)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long deadline = now.tv_sec * 1000LL + now.tv_nsec / 1000000 + timeout_ms;
    *reply = NULL;
    int fd = local_connect(port, timeout_ms);
    if (fd < 0)
        return -1;
    size_t n = strlen(request);
    if (send(fd, request, n, MSG_NOSIGNAL) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    hoist_kit_buf b = {0};
    hoist_kit_buf_add(&b, "", 0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = deadline - (now.tv_sec * 1000LL + now.tv_nsec / 1000000);
        if (left <= 0)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, (int)left) != 1)
            break;
        char tmp[4096];
        ssize_t k = recv(fd, tmp, sizeof tmp, 0);
        if (k <= 0)
            break;
        if (b.len < 65536)
            hoist_kit_buf_add(&b, tmp, (size_t)k);
        if (until && strstr(b.s, until))
            break;
    }
    close(fd);
    *reply = b.s;
    return 0;
}

int local_http_get_status(int port, const char *path, int timeout_ms, char *body, size_t bodylen)
{
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nUser-Agent: hoist-local\r\n"
                     "Connection: close\r\n\r\n",
                     path && *path ? path : "/", port);
    char *reply = NULL;
    if (n < 0 || (size_t)n >= sizeof req || local_tcp_exchange(port, req, NULL, timeout_ms, &reply) != 0)
        return 0;
    int code = 0, major, minor;
    if (!*reply)
        code = 0;
    else if (sscanf(reply, "HTTP/%d.%d %d", &major, &minor, &code) != 3)
        code = -1;
    if (body && bodylen) {
        const char *sep = strstr(reply, "\r\n\r\n");
        snprintf(body, bodylen, "%s", sep ? sep + 4 : "");
    }
    free(reply);
    return code;
}

char *local_which(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? hoist_kit_xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    while (*path) {
        const char *c = strchr(path, ':');
        size_t len = c ? (size_t)(c - path) : strlen(path);
        char *cand = hoist_kit_xasprintf("%.*s/%s", (int)len, path, name);
        if (len && access(cand, X_OK) == 0)
            return cand;
        free(cand);
        if (!c)
            break;
        path = c + 1;
    }
    return NULL;
}

char *local_argv_str(const char *const *argv)
{
    hoist_kit_buf b = {0};
    hoist_kit_buf_add(&b, "", 0);
    for (size_t i = 0; argv[i]; i++)
        hoist_kit_buf_printf(&b, "%s%s", i ? " " : "", argv[i]);
    return b.s;
}

const char *local_tail_lines(const char *s, int n)
{
    if (!s)
        return "";
    const char *q = s + strlen(s);
    while (q > s && (q[-1] == '\n' || q[-1] == ' '))
        q--;
    while (q > s) {
        if (q[-1] == '\n' && --n <= 0)
            break;
        q--;
    }
    return q;
}

/* The child side of local_run: never returns. */
static void local_child(const local_spawn *s, int in_fd, int out_fd)
{
    setsid();
    /* Signals blocked or ignored by the core must not leak into servers. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    int devnull = open("/dev/null", O_RDWR);
    dup2(in_fd >= 0 ? in_fd : devnull, 0);
    dup2(out_fd >= 0 ? out_fd : devnull, 1);
    dup2(out_fd >= 0 ? out_fd : devnull, 2);
    /* Only 0-2 cross into the program: servers keep every fd they inherit. */
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    if (s->drop) {
        if (setgroups(0, NULL) != 0 || setgid(s->gid) != 0 || setuid(s->uid) != 0) {
            dprintf(2, "hoist: cannot switch to uid %ld: %s\n", (long)s->uid,
                    hoist_kit_strerror(errno));
            _exit(126);
        }
    }
    const char *cwd = s->cwd ? s->cwd : (s->drop ? "/" : NULL);
    if (cwd && chdir(cwd) != 0) {
        dprintf(2, "hoist: cannot enter %s: %s\n", cwd, hoist_kit_strerror(errno));
        _exit(126);
    }
    extern char **environ;
    char *const *env = s->envp ? (char *const *)s->envp : environ;
    const char *prog = s->argv[0];
    char *found = strchr(prog, '/') ? NULL : local_which(prog);
    execve(found ? found : prog, (char *const *)s->argv, env);
    dprintf(2, "hoist: cannot run %s: %s\n", prog, hoist_kit_strerror(errno));
    _exit(127);
}

int local_run(local_prov *p, hoist_ctx *ctx, const local_spawn *s, char **output, pid_t *pid_out)
{
    int inp[2] = {-1, -1}, outp[2] = {-1, -1}, pidp[2] = {-1, -1};
    int rc = -1;
    hoist_kit_buf cap = {0};
    if ((s->input && pipe2(inp, O_CLOEXEC) != 0) ||
        (s->out_fd < 0 && !s->detach && pipe2(outp, O_CLOEXEC) != 0) ||
        (s->detach && pipe2(pidp, O_CLOEXEC) != 0))
        goto cleanup;
    int child_out = s->out_fd >= 0 ? s->out_fd : outp[1];
    pid_t pid = fork();
    if (pid < 0)
        goto cleanup;
    if (pid == 0) {
        if (s->detach) {
            /* Double fork: the daemon is re-parented to init, never our zombie. */
            pid_t g = fork();
            if (g != 0) {
                if (g > 0 && write(pidp[1], &g, sizeof g) != sizeof g)
                    _exit(1);
                _exit(g > 0 ? 0 : 1);
            }
        }
        local_child(s, inp[0], child_out);
    }
    if (inp[0] >= 0) {
        close(inp[0]);
        inp[0] = -1;
        /* Inputs are small (SQL, a few lines): one write fits the pipe. */
        size_t len = strlen(s->input);
        signal(SIGPIPE, SIG_IGN);
        if (write(inp[1], s->input, len) != (ssize_t)len)
            p->host->log(ctx, HOIST_LOG_DEBUG, "short write to the child's stdin");
        close(inp[1]);
        inp[1] = -1;
    }
    if (s->detach) {
        close(pidp[1]);
        pidp[1] = -1;
        pid_t g = 0;
        ssize_t k = read(pidp[0], &g, sizeof g);
        int st;
        waitpid(pid, &st, 0);
        if (k != sizeof g || g <= 0)
            goto cleanup;
        if (pid_out)
            *pid_out = g;
        rc = 0;
        goto cleanup;
    }
    if (outp[1] >= 0) {
        close(outp[1]);
        outp[1] = -1;
    }
    long limit = s->timeout_ms > 0 ? s->timeout_ms : 600000;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = 0, done = 0, killed = 0;
    for (;;) {
        if (outp[0] >= 0) {
            struct pollfd pf = {.fd = outp[0], .events = POLLIN};
            if (poll(&pf, 1, 100) == 1) {
                char tmp[4096];
                ssize_t k = read(outp[0], tmp, sizeof tmp);
                if (k > 0) {
                    hoist_kit_buf_add(&cap, tmp, (size_t)k);
                    if (cap.len > 16384) { /* keep the tail only */
                        memmove(cap.s, cap.s + cap.len - 8192, 8192);
                        cap.len = 8192;
                        cap.s[cap.len] = '\0';
                    }
                } else {
                    close(outp[0]);
                    outp[0] = -1;
                }
            }
        } else if (!done) {
            local_sleep_ms(20);
        }
        if (!done && waitpid(pid, &status, WNOHANG) == pid)
            done = 1;
        if (done && outp[0] < 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (!done && !killed && (el > limit || p->host->cancelled(ctx))) {
            kill(-pid, SIGKILL);
            killed = 1;
        }
        if (done && killed)
            break; /* a grandchild may hold the pipe: do not wait for it */
    }
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (killed)
        hoist_kit_buf_printf(&cap, "\n(stopped by hoist after %ld ms%s)\n", limit,
                             p->host->cancelled(ctx) ? ": cancelled" : "");
cleanup:
    for (int i = 0; i < 2; i++) {
        if (inp[i] >= 0)
            close(inp[i]);
        if (outp[i] >= 0)
            close(outp[i]);
        if (pidp[i] >= 0)
            close(pidp[i]);
    }
    if (output)
        *output = cap.s ? cap.s : hoist_kit_xstrdup("");
    else
        free(cap.s);
    return rc;
}
