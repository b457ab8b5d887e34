#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t secret_mu = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t n_secrets, cap_secrets;
static int log_level = HOIST_LOG_INFO_;
static hoist_log_sink log_sink;
static void *log_sink_arg;

void hoist_secret_add(const char *value)
{
    if (!value || strlen(value) < 4)
        return;
    pthread_mutex_lock(&secret_mu);
    for (size_t i = 0; i < n_secrets; i++) {
        if (strcmp(secrets[i], value) == 0) {
            pthread_mutex_unlock(&secret_mu);
            return;
        }
    }
    if (n_secrets == cap_secrets) {
        cap_secrets = cap_secrets ? cap_secrets * 2 : 16;
        secrets = hoist_xrealloc(secrets, cap_secrets * sizeof *secrets);
    }
    /* Longest first, so a secret that contains another is masked whole. */
    size_t len = strlen(value), i = n_secrets;
    while (i > 0 && strlen(secrets[i - 1]) < len) {
        secrets[i] = secrets[i - 1];
        i--;
    }
    secrets[i] = hoist_xstrdup(value);
    n_secrets++;
    pthread_mutex_unlock(&secret_mu);
}

size_t hoist_secret_count(void)
{
    pthread_mutex_lock(&secret_mu);
    size_t n = n_secrets;
    pthread_mutex_unlock(&secret_mu);
    return n;
}

void hoist_secret_reset(void)
{
    pthread_mutex_lock(&secret_mu);
    for (size_t i = 0; i < n_secrets; i++)
        free(secrets[i]);
    free(secrets);
    secrets = NULL;
    n_secrets = cap_secrets = 0;
    pthread_mutex_unlock(&secret_mu);
}

char *hoist_redact(const char *s)
{
    if (!s)
        return NULL;
    hoist_buf out = {0};
    pthread_mutex_lock(&secret_mu);
    const char *p = s;
    while (*p) {
        size_t hit = 0;
        for (size_t i = 0; i < n_secrets; i++) {
            size_t l = strlen(secrets[i]);
            if (strncmp(p, secrets[i], l) == 0) {
                hit = l;
                break;
            }
        }
        if (hit) {
            hoist_buf_puts(&out, "***");
            p += hit;
        } else {
            hoist_buf_add(&out, p, 1);
            p++;
        }
    }
    pthread_mutex_unlock(&secret_mu);
    return hoist_buf_steal(&out);
}

void hoist_log_set_level(int level)
{
    log_level = level;
}

int hoist_log_level(void)
{
    return log_level;
}

void hoist_log_set_sink(hoist_log_sink sink, void *arg)
{
    log_sink = sink;
    log_sink_arg = arg;
}

int hoist_use_color(FILE *fp)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return 0;
    /* A dumb terminal (Emacs shell, some CI consoles) prints escapes literally. */
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        return 0;
    return isatty(fileno(fp));
}

void hoist_vlog(int level, const char *prefix, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    char *raw = hoist_xvasprintf(fmt, ap);
    char *msg = hoist_redact(raw);
    free(raw);
    if (log_sink) {
        log_sink(level, prefix, msg, log_sink_arg);
    } else {
        static const char *names[] = {"error: ", "warning: ", "", "", ""};
        int color = hoist_use_color(stderr);
        const char *on = "", *off = "";
        if (color && level == HOIST_LOG_ERROR_)
            on = "\033[31m", off = "\033[0m";
        else if (color && level == HOIST_LOG_WARN_)
            on = "\033[33m", off = "\033[0m";
        fprintf(stderr, "hoist: %s%s%s%s%s%s\n", prefix ? prefix : "", prefix ? ": " : "", on,
                names[level < 0 ? 0 : level > 4 ? 4 : level], off, msg);
    }
    free(msg);
}

void hoist_log(int level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hoist_vlog(level, prefix, fmt, ap);
    va_end(ap);
}
