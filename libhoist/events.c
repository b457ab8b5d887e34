/* events.c - progress for people (TTY, plain lines) and machines (JSON lines). */
#include "events.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct ev_line {
    char *resource;
    char *text;
} ev_line;

struct hoist_events {
    pthread_mutex_t mu;
    FILE *fp;
    hoist_ev_mode mode;
    int verbose, color;
    unsigned long count;
    ev_line *lines; /* TTY view: one per resource, in first-seen order */
    size_t n_lines;
    size_t drawn;   /* lines currently on screen below the cursor's home */
};

/* The TTY view redraws every line; past this many it falls back to plain lines. */
#define TTY_MAX_LINES 60

hoist_ev_mode hoist_events_mode_for(FILE *fp, int json)
{
    if (json)
        return HOIST_EV_JSON;
    /* The live view moves the cursor: never where colour is off (NO_COLOR, TERM=dumb). */
    return hoist_use_color(fp) ? HOIST_EV_TTY : HOIST_EV_TEXT;
}

hoist_events *hoist_events_new(FILE *fp, hoist_ev_mode mode, int verbose)
{
    hoist_events *ev = hoist_xcalloc(1, sizeof *ev);
    pthread_mutex_init(&ev->mu, NULL);
    ev->fp = fp;
    ev->mode = mode;
    ev->verbose = verbose;
    ev->color = mode == HOIST_EV_TTY && hoist_use_color(fp);
    return ev;
}

static void stamp(char *buf, size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t l = strftime(buf, n, "%H:%M:%S", &tm);
    snprintf(buf + l, n - l, ".%03ld", (long)(tv.tv_usec / 1000));
}

static const char *status_color(const char *status)
{
    if (!status)
        return "";
    if (strcmp(status, "ready") == 0 || strcmp(status, "destroyed") == 0 ||
        strcmp(status, "unchanged") == 0 || strcmp(status, "paused") == 0)
        return "\033[32m";
    if (strcmp(status, "failed") == 0)
        return "\033[31m";
    if (strcmp(status, "skipped") == 0 || strcmp(status, "interrupted") == 0)
        return "\033[33m";
    return "\033[36m";
}

/* Erase the view and print it again below any log lines.  Caller holds mu. */
static void tty_redraw(hoist_events *ev)
{
    if (ev->drawn)
        fprintf(ev->fp, "\033[%zuA", ev->drawn);
    for (size_t i = 0; i < ev->n_lines; i++)
        fprintf(ev->fp, "\033[2K%s\n", ev->lines[i].text);
    ev->drawn = ev->n_lines;
    fflush(ev->fp);
}

static void tty_clear(hoist_events *ev)
{
    if (ev->drawn) {
        fprintf(ev->fp, "\033[%zuA", ev->drawn);
        for (size_t i = 0; i < ev->drawn; i++)
            fputs("\033[2K\n", ev->fp);
        fprintf(ev->fp, "\033[%zuA", ev->drawn);
        ev->drawn = 0;
    }
}

void hoist_events_emit(hoist_events *ev, const char *resource, const char *phase,
                       const char *status, long long duration_ms, int detail, const char *fmt, ...)
{
    if (!ev || (detail && !ev->verbose))
        return;
    char *raw = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        raw = hoist_xvasprintf(fmt, ap);
        va_end(ap);
    }
    char *msg = raw ? hoist_redact(raw) : NULL;
    free(raw);
    char ts[32];
    stamp(ts, sizeof ts);
    pthread_mutex_lock(&ev->mu);
    ev->count++;
    if (ev->mode == HOIST_EV_JSON) {
        json_t *j = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "time", ts, "resource", resource,
                              "phase", phase, "status", status, "message", msg);
        if (duration_ms >= 0)
            json_object_set_new(j, "duration_ms", json_integer(duration_ms));
        char *s = json_dumps(j, JSON_COMPACT);
        fprintf(ev->fp, "%s\n", s);
        free(s);
        json_decref(j);
    } else {
        char dur[32] = "";
        if (duration_ms >= 0)
            snprintf(dur, sizeof dur, " (%.1fs)", (double)duration_ms / 1000.0);
        int tty = ev->mode == HOIST_EV_TTY && resource && ev->n_lines < TTY_MAX_LINES;
        if (tty) {
            size_t i;
            for (i = 0; i < ev->n_lines; i++)
                if (strcmp(ev->lines[i].resource, resource) == 0)
                    break;
            if (i == ev->n_lines) {
                ev->lines = hoist_xrealloc(ev->lines, (i + 1) * sizeof *ev->lines);
                ev->lines[i].resource = hoist_xstrdup(resource);
                ev->lines[i].text = NULL;
                ev->n_lines++;
            }
            free(ev->lines[i].text);
            ev->lines[i].text = hoist_xasprintf(
                "  %-28s %s%-12s%s %s%s%s%s", resource, ev->color ? status_color(status) : "",
                status ? status : "", ev->color ? "\033[0m" : "", phase ? phase : "", dur,
                msg ? ": " : "", msg ? msg : "");
            tty_redraw(ev);
        } else {
            if (ev->mode == HOIST_EV_TTY)
                tty_clear(ev);
            /* Driver and core log lines read as "TIME  local: database main: text"
             * (with "warning: " or "error: " in front when not plain info). */
            int is_log = phase && strcmp(phase, "log") == 0;
            const char *parts[3] = {resource, is_log ? NULL : phase,
                                    is_log && status && strcmp(status, "info") == 0 ? NULL : status};
            hoist_buf line = {0};
            hoist_buf_printf(&line, "%s %s", ts, is_log ? " " : "");
            int any = 0;
            for (size_t k = 0; k < 3; k++)
                if (parts[k]) {
                    hoist_buf_printf(&line, "%s%s", any ? " " : "", parts[k]);
                    any = 1;
                }
            hoist_buf_printf(&line, "%s%s%s", dur, msg && any ? ": " : "", msg ? msg : "");
            fprintf(ev->fp, "%s\n", line.s);
            hoist_buf_free(&line);
            if (ev->mode == HOIST_EV_TTY)
                tty_redraw(ev);
            fflush(ev->fp);
        }
    }
    pthread_mutex_unlock(&ev->mu);
    free(msg);
}

static void events_sink(int level, const char *prefix, const char *msg, void *arg)
{
    static const char *const names[] = {"error", "warning", "info", "debug", "trace"};
    hoist_events_emit(arg, NULL, "log", names[level < 0 ? 0 : level > 4 ? 4 : level], -1,
                      level >= HOIST_LOG_DEBUG_, "%s%s%s", prefix ? prefix : "", prefix ? ": " : "",
                      msg);
}

void hoist_events_capture_logs(hoist_events *ev)
{
    hoist_log_set_sink(ev ? events_sink : NULL, ev);
}

unsigned long hoist_events_count(hoist_events *ev)
{
    pthread_mutex_lock(&ev->mu);
    unsigned long n = ev->count;
    pthread_mutex_unlock(&ev->mu);
    return n;
}

void hoist_events_free(hoist_events *ev)
{
    if (!ev)
        return;
    hoist_log_set_sink(NULL, NULL);
    for (size_t i = 0; i < ev->n_lines; i++) {
        free(ev->lines[i].resource);
        free(ev->lines[i].text);
    }
    free(ev->lines);
    fflush(ev->fp);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}
