/*
 * hoist-local-run - the process supervisor of hoist's local provider.
 *
 * usage: hoist-local-run --dir DIR --log FILE -- COMMAND [ARG...]
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
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int usage(void)
{
    fprintf(stderr, "usage: hoist-local-run --dir DIR --log FILE -- COMMAND [ARG...]\n"
                    "Supervises COMMAND for hoist's local provider (restart with backoff,\n"
                    "pid files in DIR, output appended to FILE).\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *log = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            run_dir = argv[++i];
        else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
            log = argv[++i];
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else
            return usage();
    }
    if (!run_dir || !log || i >= argc)
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
