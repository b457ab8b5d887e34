/*
 * events.h - one stream of progress events (resource, phase, status,
 * duration, message) rendered for people or machines:
 *   HOIST_EV_TTY:  a live view, one line per resource updated in place,
 *                  in colour (never with NO_COLOR or TERM=dumb);
 *   HOIST_EV_TEXT: plain timestamped lines (logs, CI);
 *   HOIST_EV_JSON: one JSON object per line.
 * Every message is redacted (hoist_redact) before it is written.
 * All functions are thread-safe.
 */
#ifndef HOIST_EVENTS_H
#define HOIST_EVENTS_H

#include <stdio.h>

typedef enum { HOIST_EV_TEXT, HOIST_EV_TTY, HOIST_EV_JSON } hoist_ev_mode;

typedef struct hoist_events hoist_events;

/* A new stream writing to @fp (borrowed).  @verbose > 0 also shows polls and retries. */
hoist_events *hoist_events_new(FILE *fp, hoist_ev_mode mode, int verbose);
/*
 * The mode a CLI should use for @fp: JSON if @json, TTY if escape sequences
 * may be written to @fp (hoist_use_color: a terminal, no NO_COLOR, TERM not
 * dumb), else TEXT.
 */
hoist_ev_mode hoist_events_mode_for(FILE *fp, int json);

/*
 * hoist_events_emit - one event.  @resource ("database/main") may be NULL
 * for run-wide events; @phase ("ensure", "destroy", "poll"...); @status
 * ("started", "pending", "ready", "failed", "skipped", "retry"...);
 * @duration_ms < 0 when not meaningful; @detail: 1 for events shown only with -v.
 */
void hoist_events_emit(hoist_events *ev, const char *resource, const char *phase,
                       const char *status, long long duration_ms, int detail, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Route hoist_log() lines (driver logs included) into this stream; NULL restores stderr. */
void hoist_events_capture_logs(hoist_events *ev);

/* Number of events emitted (tests). */
unsigned long hoist_events_count(hoist_events *ev);

/* Finish the live view and free.  NULL-safe.  Restores the default log sink. */
void hoist_events_free(hoist_events *ev);

#endif
