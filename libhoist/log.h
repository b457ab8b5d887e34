/*
 * log.h - the one place where text leaves the process for people, and the
 * redaction registry that guarantees no registered secret ever does.
 */
#ifndef HOIST_LOG_H
#define HOIST_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum { HOIST_LOG_ERROR_ = 0, HOIST_LOG_WARN_ = 1, HOIST_LOG_INFO_ = 2, HOIST_LOG_DEBUG_ = 3,
       HOIST_LOG_TRACE_ = 4 };

/* Register a secret (copied); values shorter than 4 bytes are ignored.  Thread-safe. */
void hoist_secret_add(const char *value);
/* Number of registered secrets (tests). */
size_t hoist_secret_count(void);
/* Forget every secret (tests and fuzzers). */
void hoist_secret_reset(void);
/* A new string with every registered secret replaced by "***". */
char *hoist_redact(const char *s);

/* Verbosity: messages above it are dropped.  Default INFO; -v DEBUG; --trace TRACE. */
void hoist_log_set_level(int level);
int hoist_log_level(void);

/*
 * Where log lines go.  Default: stderr, "hoist: " + @prefix + ": " + message.
 * The events module installs its own sink for TTY and JSON output.
 */
typedef void (*hoist_log_sink)(int level, const char *prefix, const char *msg, void *arg);
void hoist_log_set_sink(hoist_log_sink sink, void *arg);

/* Log a line (redacted).  @prefix may be NULL (e.g. "aws" or "aws: network"). */
void hoist_log(int level, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hoist_vlog(int level, const char *prefix, const char *fmt, va_list ap);

/*
 * True when terminal escape sequences (colour, cursor movement) may be
 * written to @fp: a TTY, NO_COLOR unset or empty, and TERM not "dumb".
 */
int hoist_use_color(FILE *fp);

#endif
