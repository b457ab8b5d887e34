/*
 * hoist-local-run - the process supervisor of hoist's local provider.
 *
 * usage: hoist-local-run --dir DIR --log FILE -- COMMAND [ARG...]
 *        hoist-local-run --proxy PORT --dir DIR --log FILE
 *
 * Runs COMMAND (found in PATH) in its own process group with stdout and
 * stderr appended to FILE, and restarts it when it exits, waiting 1 s, 2 s,
 * 4 s... up to 30 s between attempts (back to 1 s after a run of 30 s or
 * more).  The supervisor itself lives in its own session (setsid), so it
 * survives the terminal and the hoist command that started it.
 *
 * Files in DIR: runner.pid (this process, written first), app.pid (the
 * current child), restarts (how many times the child was restarted).
 * On SIGTERM, SIGINT or SIGHUP: SIGTERM to the child's process group, SIGKILL
 * after 10 s, remove the pid files, exit 0.
 *
 * The environment is passed to COMMAND unchanged: the driver prepares it
 * (so secrets never appear on a command line).
 *
 * With --proxy, it is instead the stable front of one application: it listens
 * on 127.0.0.1:PORT and relays each TCP connection to one of the instance
 * ports listed in DIR/backends (see "The proxy" below).
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 1000L
#define BACKOFF_MAX_MS 30000L
#define STABLE_MS 30000L
#define STOP_GRACE_MS 10000L

static const char *run_dir;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    int e = errno; /* for a %m in @fmt: time and stdio below may change it */
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    fprintf(stderr, "[hoist-local-run %s] ", ts);
    va_list ap;
    va_start(ap, fmt);
    errno = e;
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Write "<value>\n" to DIR/name atomically. */
static void put_file(const char *name, long value)
{
    char path[4096], tmp[4200], text[32];
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(text, sizeof text, "%ld\n", value);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0)
        say("cannot write %s: %m", path);
}

static void drop_file(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    unlink(path);
}

/* Reap every exited child; returns 1 if @pid was among them (status in *st). */
static int reap(pid_t pid, int *st)
{
    int found = 0, s;
    pid_t w;
    while ((w = waitpid(-1, &s, WNOHANG)) > 0)
        if (w == pid) {
            found = 1;
            *st = s;
        }
    return found;
}

/*
 * Wait up to @ms for a signal of @set.  Returns the signal, or 0 on timeout.
 * SIGCHLD is returned too, so callers can reap.
 */
static int wait_signal(const sigset_t *set, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    int sig = sigtimedwait(set, NULL, &ts);
    return sig > 0 ? sig : 0;
}

/* Stop the child's whole process group: TERM, then KILL after the grace. */
static void stop_group(pid_t pgid, const sigset_t *set, int *reaped)
{
    int st;
    kill(-pgid, SIGTERM);
    long long end = now_ms() + STOP_GRACE_MS;
    while (!*reaped || kill(-pgid, 0) == 0) {
        if (!*reaped && reap(pgid, &st))
            *reaped = 1;
        if (*reaped && kill(-pgid, 0) != 0)
            break;
        long left = (long)(end - now_ms());
        if (left <= 0) {
            say("process group %ld ignored SIGTERM for %ld s: SIGKILL", (long)pgid,
                STOP_GRACE_MS / 1000);
            kill(-pgid, SIGKILL);
            if (!*reaped) {
                waitpid(pgid, &st, 0);
                *reaped = 1;
            }
            break;
        }
        wait_signal(set, left < 100 ? left : 100);
    }
}

/* The name of a signal an app commonly dies of (strsignal(3) may use a
 * static buffer, so the tree does not call it); NULL for the others. */
static const char *signal_name(int sig)
{
    static const struct { int sig; const char *name; } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
        {SIGSEGV, "SIGSEGV"}, {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
        {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}, {SIGXCPU, "SIGXCPU"}, {SIGSYS, "SIGSYS"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    return NULL;
}

static void describe(int st, char *buf, size_t n)
{
    const char *name = WIFSIGNALED(st) ? signal_name(WTERMSIG(st)) : NULL;
    if (WIFEXITED(st))
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "was killed by signal %d%s%s%s", WTERMSIG(st), name ? " (" : "",
                 name ? name : "", name ? ")" : "");
    else
        snprintf(buf, n, "stopped (status %d)", st);
}

/* ---- The proxy ------------------------------------------------------------
 *
 * Why a relay and not SO_REUSEPORT hand-over: with SO_REUSEPORT every
 * instance would have to open its listening socket with that option (Node's
 * http server does not by default), the kernel would spread connections over
 * a new instance before hoist has seen it healthy, and a socket closing with
 * connections still queued on it drops them.  A relay owned by hoist needs
 * nothing from the app: new instances are health-checked on their own ports,
 * the relay moves new connections to them in one step (SIGHUP), and the old
 * instances are stopped only once no connection to them is left (drained).
 *
 * DIR/backends: "gen N" then one instance port per line.  On SIGHUP (and at
 * start) it is read again; new connections go round-robin to its ports, and a
 * port that refuses the connection is skipped for the next.  Once no open
 * connection uses a port outside the list, DIR/drained gets N, which is what
 * the driver waits for before stopping the instances it took out.
 * Connections are relayed byte for byte (TCP), so any protocol on top works.
 */
#define PROXY_MAX_BACKENDS 64
#define PROXY_MAX_CONNS 1000
#define PROXY_BUF 16384

typedef struct pconn {
    int cfd, bfd;     /* client and backend sockets, -1 when closed */
    int port;         /* the backend port in use */
    int tries;        /* backends tried for this connection */
    int connecting;   /* connect() to the backend in progress */
    int c_eof, b_eof; /* read side saw EOF */
    int c_done, b_done; /* write side shut down */
    size_t c2b_len, b2c_len;
    char c2b[PROXY_BUF], b2c[PROXY_BUF];
} pconn;

static int backends[PROXY_MAX_BACKENDS];
static int n_backends;
static long backends_gen = -1;
static unsigned next_backend;

/* Read DIR/backends; keeps the old list when the file cannot be read. */
static void proxy_load(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/backends", run_dir);
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno != ENOENT)
            say("cannot read %s: %m", path);
        return;
    }
    long gen = -1;
    int n = 0, port;
    if (fscanf(f, "gen %ld", &gen) != 1)
        gen = -1;
    while (n < PROXY_MAX_BACKENDS && fscanf(f, "%d", &port) == 1)
        if (port > 0 && port < 65536)
            backends[n++] = port;
    fclose(f);
    n_backends = n;
    backends_gen = gen;
    say("backends (generation %ld): %d port%s", gen, n, n == 1 ? "" : "s");
}

static int proxy_listed(int port)
{
    for (int k = 0; k < n_backends; k++)
        if (backends[k] == port)
            return 1;
    return 0;
}

static void pconn_close(pconn *c)
{
    if (c->cfd >= 0)
        close(c->cfd);
    if (c->bfd >= 0)
        close(c->bfd);
    c->cfd = c->bfd = -1;
}

/* Start connecting @c to the next backend; 0, or -1 when none is left. */
static int proxy_connect(pconn *c)
{
    while (c->tries < n_backends) {
        int port = backends[next_backend++ % (unsigned)n_backends];
        c->tries++;
        if (c->bfd >= 0)
            close(c->bfd);
        c->bfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->bfd < 0)
            return -1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->port = port;
        if (connect(c->bfd, (struct sockaddr *)&a, sizeof a) == 0) {
            c->connecting = 0;
            return 0;
        }
        if (errno == EINPROGRESS) {
            c->connecting = 1;
            return 0;
        }
    }
    return -1;
}

/* Read what @fd has into @buf (up to PROXY_BUF); *eof at its end.  0, or -1 on error. */
static int proxy_fill(int fd, char *buf, size_t *len, int *eof, short rev)
{
    if (*eof || *len >= PROXY_BUF || !(rev & (POLLIN | POLLHUP | POLLERR)))
        return 0;
    ssize_t k = read(fd, buf + *len, PROXY_BUF - *len);
    if (k > 0)
        *len += (size_t)k;
    else if (k == 0)
        *eof = 1;
    else if (errno != EAGAIN && errno != EINTR)
        return -1;
    return 0;
}

/* Write what @buf holds to @fd as far as it takes it.  0, or -1 on error. */
static int proxy_drain(int fd, char *buf, size_t *len, short rev)
{
    if (!*len || !(rev & POLLOUT))
        return 0;
    ssize_t k = send(fd, buf, *len, MSG_NOSIGNAL);
    if (k > 0) {
        memmove(buf, buf + k, *len - (size_t)k);
        *len -= (size_t)k;
    } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
        return -1;
    }
    return 0;
}

/* Move bytes for @c after poll; returns 0 to keep it, -1 to close it. */
static int proxy_step(pconn *c, short crev, short brev)
{
    if (c->connecting && (brev & (POLLOUT | POLLERR | POLLHUP))) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) /* refused: that instance is down; nothing was sent yet */
            return proxy_connect(c);
        c->connecting = 0;
        brev = 0;
    }
    if ((crev & POLLERR) || (!c->connecting && (brev & POLLERR)))
        return -1; /* a reset: nothing more can pass */
    if (proxy_fill(c->cfd, c->c2b, &c->c2b_len, &c->c_eof, crev) != 0)
        return -1;
    if (c->connecting)
        return 0;
    if (proxy_drain(c->bfd, c->c2b, &c->c2b_len, brev) != 0 ||
        proxy_fill(c->bfd, c->b2c, &c->b2c_len, &c->b_eof, brev) != 0 ||
        proxy_drain(c->cfd, c->b2c, &c->b2c_len, crev) != 0)
        return -1;
    /* Pass each side's end of stream on once its bytes are through. */
    if (c->c_eof && !c->c2b_len && !c->b_done) {
        shutdown(c->bfd, SHUT_WR);
        c->b_done = 1;
    }
    if (c->b_eof && !c->b2c_len && !c->c_done) {
        shutdown(c->cfd, SHUT_WR);
        c->c_done = 1;
    }
    return c->b_done && c->c_done ? -1 : 0;
}

static int proxy_main(int port, const sigset_t *set)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 256) != 0) {
        say("cannot listen on 127.0.0.1:%d: %m", port);
        return 1;
    }
    int sfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        say("signalfd: %m");
        return 1;
    }
    put_file("runner.pid", (long)getpid());
    say("relaying 127.0.0.1:%d to the instances in %s/backends", port, run_dir);
    proxy_load();
    static pconn *conns[PROXY_MAX_CONNS];
    static struct pollfd pfd[2 + 2 * PROXY_MAX_CONNS];
    int nconn = 0;
    long drained = -2;
    for (;;) {
        /* Drained: no connection left on a port the last list took out. */
        if (backends_gen != drained) {
            int old = 0;
            for (int k = 0; k < nconn; k++)
                if (!proxy_listed(conns[k]->port))
                    old++;
            if (!old) {
                drained = backends_gen;
                put_file("drained", drained);
            }
        }
        int np = 0;
        pfd[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        pfd[np++] = (struct pollfd){.fd = nconn < PROXY_MAX_CONNS ? lfd : -1, .events = POLLIN};
        for (int k = 0; k < nconn; k++) {
            pconn *c = conns[k];
            short ce = 0, be = 0;
            if (!c->c_eof && c->c2b_len < PROXY_BUF)
                ce |= POLLIN;
            if (c->b2c_len)
                ce |= POLLOUT;
            if (c->connecting || c->c2b_len)
                be |= POLLOUT;
            if (!c->connecting && !c->b_eof && c->b2c_len < PROXY_BUF)
                be |= POLLIN;
            pfd[np++] = (struct pollfd){.fd = c->cfd, .events = ce};
            pfd[np++] = (struct pollfd){.fd = c->bfd, .events = be};
        }
        if (poll(pfd, (nfds_t)np, 1000) < 0 && errno != EINTR) {
            say("poll: %m");
            return 1;
        }
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGHUP) {
                    proxy_load();
                } else if (si.ssi_signo != SIGCHLD) {
                    say("signal %u: closing 127.0.0.1:%d", si.ssi_signo, port);
                    drop_file("runner.pid");
                    return 0;
                }
            }
        }
        /* Connections first (their pollfd slots follow), then new ones. */
        for (int k = 0; k < nconn;) {
            pconn *c = conns[k];
            if (proxy_step(c, pfd[2 + 2 * k].revents, pfd[3 + 2 * k].revents) != 0) {
                pconn_close(c);
                free(c);
                conns[k] = conns[--nconn];
                /* Keep slots in step with the moved connection. */
                pfd[2 + 2 * k] = pfd[2 + 2 * nconn];
                pfd[3 + 2 * k] = pfd[3 + 2 * nconn];
                continue;
            }
            k++;
        }
        if (pfd[1].revents & POLLIN) {
            while (nconn < PROXY_MAX_CONNS) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                    break;
                pconn *c = calloc(1, sizeof *c);
                if (!c) {
                    close(cfd);
                    break;
                }
                c->cfd = cfd;
                c->bfd = -1;
                if (proxy_connect(c) != 0) {
                    /* No instance to take it: refuse rather than hang. */
                    pconn_close(c);
                    free(c);
                    continue;
                }
                conns[nconn++] = c;
            }
        }
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: hoist-local-run --dir DIR --log FILE -- COMMAND [ARG...]\n"
                    "       hoist-local-run --proxy PORT --dir DIR --log FILE\n"
                    "Supervises COMMAND for hoist's local provider (restart with backoff,\n"
                    "pid files in DIR, output appended to FILE), or relays connections on\n"
                    "127.0.0.1:PORT to the instance ports listed in DIR/backends.\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *log = NULL;
    int proxy_port = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--proxy") == 0 && i + 1 < argc)
            proxy_port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            run_dir = argv[++i];
        else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
            log = argv[++i];
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else
            return usage();
    }
    if (!run_dir || !log || (proxy_port <= 0 && i >= argc) ||
        (proxy_port > 0 && (i < argc || proxy_port > 65535)))
        return usage();
    char **cmd = argv + i;

    /* Own session: a Ctrl-C in the terminal that ran hoist must not reach us. */
    setsid();
    int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (lfd < 0) {
        fprintf(stderr, "hoist-local-run: cannot open %s: %m\n", log);
        return 1;
    }
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0);
    dup2(lfd, 1);
    dup2(lfd, 2);
    if (nul > 2)
        close(nul);
    close(lfd);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    if (proxy_port > 0)
        return proxy_main(proxy_port, &set);
    put_file("runner.pid", (long)getpid());

    long backoff = BACKOFF_MIN_MS;
    long restarts = 0;
    for (;;) {
        long long started = now_ms();
        pid_t pid = fork();
        if (pid < 0) {
            say("fork failed: %m");
        } else if (pid == 0) {
            setpgid(0, 0);
            sigprocmask(SIG_SETMASK, &old, NULL);
            execvp(cmd[0], cmd);
            say("cannot run %s: %m", cmd[0]);
            _exit(127);
        }
        int st = 0, reaped = 0;
        if (pid > 0) {
            setpgid(pid, pid); /* also here: whichever of the two runs first */
            put_file("app.pid", (long)pid);
            say("started %s (pid %ld)", cmd[0], (long)pid);
            while (!reaped) {
                int sig = wait_signal(&set, 1000);
                if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
                    say("signal %d: stopping pid %ld and its process group", sig, (long)pid);
                    stop_group(pid, &set, &reaped);
                    drop_file("app.pid");
                    drop_file("runner.pid");
                    return 0;
                }
                reaped = reap(pid, &st);
            }
            /* The leader is gone; its group (npm's node, a shell's job) goes too. */
            if (kill(-pid, 0) == 0)
                kill(-pid, SIGKILL);
            drop_file("app.pid");
            char how[96];
            describe(st, how, sizeof how);
            long ran = (long)(now_ms() - started);
            if (ran >= STABLE_MS)
                backoff = BACKOFF_MIN_MS;
            say("pid %ld %s after %ld ms; restarting in %ld ms", (long)pid, how, ran, backoff);
        }
        put_file("restarts", ++restarts);
        long long until = now_ms() + backoff;
        for (long left = backoff; left > 0; left = (long)(until - now_ms())) {
            int sig = wait_signal(&set, left);
            if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
                say("signal %d while waiting to restart: exiting", sig);
                drop_file("runner.pid");
                return 0;
            }
            int dummy;
            reap(-1, &dummy);
        }
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
}
