/*
 * host.h (core-internal) - the host-services table and the per-call
 * context handed to drivers.
 */
#ifndef HOIST_CORE_HOST_H
#define HOIST_CORE_HOST_H

#include <hoist/host.h>

#include "util.h"

struct hoist_driver;

struct hoist_ctx {
    struct hoist_driver *drv;
    char *prefix;              /* "aws" or "aws: database main" */
    hoist_status err_status;   /* first fail() wins */
    char *err;                 /* its message (redacted at print time) */
    hoist_flag *cancel;        /* shared by a run; may be NULL */
    long long deadline_ms;     /* monotonic; 0 = none */
    char *progress;            /* host->progress's last line (ABI 1.3), or NULL */
};

/* The table lent to every driver. */
const hoist_host *hoist_host_table(void);

/* Set up @ctx for @drv; @what ("database main") may be NULL. */
void hoist_ctx_init(hoist_ctx *ctx, struct hoist_driver *drv, const char *what);
void hoist_ctx_cleanup(hoist_ctx *ctx);
/* Non-zero once @ctx's run is cancelled or past its deadline (thread-safe). */
int hoist_ctx_cancelled(hoist_ctx *ctx);
/* The first error reported in @ctx, or NULL. */
const char *hoist_ctx_error(const hoist_ctx *ctx);
/*
 * The call's status line: what the driver last gave host->progress, else
 * @status_text (hoist_result's, deprecated in ABI 1.3 but still honoured),
 * else NULL.  Borrowed from @ctx or the driver.
 */
const char *hoist_ctx_progress(const hoist_ctx *ctx, const char *status_text);
/* Report an error from the core side (same first-wins rule). */
hoist_status hoist_ctx_fail(hoist_ctx *ctx, hoist_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
