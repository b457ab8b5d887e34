/*
 * driver.h - the one door into a driver's operations.
 *
 * A driver is code hoist did not write, running in hoist's process.  Every
 * call from the core into a driver's ops table goes through the wrappers
 * below (tests/driver_door.sh fails the build's tests if any other file
 * dereferences an ops table).  Each wrapper:
 *
 *   - reports HOIST_E_UNSUPPORTED, naming the driver, the operation and the
 *     kind, when the driver lacks the operation;
 *   - runs the call under the crash guard, so a fault inside the driver is
 *     reported as "provider 'x' crashed ... during OP of KIND/NAME";
 *   - leaves cancellation and the deadline where they are today: in @ctx
 *     (ctx->cancel, ctx->deadline_ms), which the driver polls through
 *     host->cancelled(), while the run abandons a call that overruns;
 *   - validates what the driver handed back (a known status; outputs and
 *     secrets that are JSON objects of bounded, valid UTF-8 strings;
 *     credential and connection strings present, NUL-terminated within
 *     1 MiB, valid UTF-8; ports in range).  A malformed answer becomes one
 *     error, "provider 'x' returned malformed data from OP of KIND/NAME:
 *     FIELD: REASON", and nothing of it reaches the caller.
 *
 * Operations are selected by enum, never by name.
 */
#ifndef HOIST_DRIVER_H
#define HOIST_DRIVER_H

#include "graph.h"
#include "loader.h"

/* The operations a driver can offer; which kinds offer which is in driver.c. */
typedef enum hoist_op {
    HOIST_OP_ENSURE,
    HOIST_OP_OBSERVE,
    HOIST_OP_DESTROY,
    HOIST_OP_PAUSE,       /* database, app */
    HOIST_OP_CREDENTIALS, /* cluster, registry */
    HOIST_OP_CONNECTION,  /* database */
    HOIST_OP_LOGS,        /* app */
    HOIST_OP_COUNT_
} hoist_op;

/* "ensure", "credentials"...: a static string ("unknown" out of range). */
const char *hoist_op_name(hoist_op op);

/*
 * hoist_driver_offers_kind - 1 if @drv (initialised) has an ops table for
 * @kind, else 0 (also for a NULL @drv or the core-only "image" kind).
 * hoist_driver_offers - 1 if @drv offers @op on @kind.  Thread-safe.
 */
int hoist_driver_offers_kind(const hoist_driver *drv, hoist_kind kind);
int hoist_driver_offers(const hoist_driver *drv, hoist_kind kind, hoist_op op);

/*
 * hoist_driver_call - ensure, observe, destroy or pause (@op) the resource
 * @r of @kind.  @out is zeroed by the caller with struct_size set.  Returns
 * the driver's status, HOIST_E_UNSUPPORTED, or HOIST_E_INTERNAL for a
 * malformed answer (then out->outputs and out->secrets are NULL); the
 * detail is in @ctx.  Thread-safe as the driver's ops are.
 */
hoist_status hoist_driver_call(hoist_driver *drv, hoist_kind kind, hoist_op op, hoist_ctx *ctx,
                               const hoist_resource *r, hoist_result *out);

/*
 * hoist_driver_cluster_credentials, hoist_driver_registry_credentials,
 * hoist_driver_db_connection - the credentials op of @r's cluster or
 * registry, the connection op of its database.  @out must be zeroed with
 * struct_size set; on HOIST_OK it holds validated strings (endpoint, and for
 * a registry the repository, non-empty; a connection's host, user and
 * database present and its port in 1..65535), which the caller frees with
 * the matching hoist_*_clear().  On an error @out is cleared and @ctx holds
 * the detail.  Thread-safe as the driver's ops are.
 */
hoist_status hoist_driver_cluster_credentials(hoist_driver *drv, hoist_ctx *ctx,
                                              const hoist_resource *r,
                                              hoist_cluster_credentials *out);
hoist_status hoist_driver_registry_credentials(hoist_driver *drv, hoist_ctx *ctx,
                                               const hoist_resource *r,
                                               hoist_registry_credentials *out);
hoist_status hoist_driver_db_connection(hoist_driver *drv, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_db_connection *out);

/*
 * hoist_driver_app_logs - the app's logs op: write @r's recent output to
 * @fd (@follow: until ctx is cancelled).  Status and detail as above.
 */
hoist_status hoist_driver_app_logs(hoist_driver *drv, hoist_ctx *ctx, const hoist_resource *r,
                                   int fd, int follow);

/*
 * Checks on what a driver hands back: its answers go into the state file,
 * the events and the apps' environment.  HOIST_DRIVER_STRING_MAX bounds one
 * string (a runaway driver must not fill the state file or memory).
 *
 * hoist_driver_string_problem - NULL if @s is acceptable, else a static
 * reason ("missing (NULL)", "not valid UTF-8", "longer than 1 MiB").
 * @required: a NULL @s is a problem.  Thread-safe.
 */
#define HOIST_DRIVER_STRING_MAX (1024 * 1024)
const char *hoist_driver_string_problem(const char *s, int required);
/*
 * hoist_driver_json_problem - NULL if @j (a result's outputs or secrets,
 * named @field) is NULL or an object whose keys and strings pass
 * hoist_driver_string_problem (and, with @flat_strings, whose values are
 * all strings); else a new string naming the member and the reason
 * ("outputs.id: not valid UTF-8").  Thread-safe.
 */
char *hoist_driver_json_problem(const json_t *j, const char *field, int flat_strings);

/*
 * Crash containment.  When a driver faults, the user must learn which
 * driver did it and during what, not see a bare "Segmentation fault".
 * Every call into a driver (the wrappers above, and the loader's init and
 * fini) is bracketed by hoist_guard_enter/leave, which keep a thread-local
 * record (the fault is delivered to the faulting thread, so its handler
 * reads the right record).
 *
 * hoist_guard_enter - note that this thread now runs @op ("init",
 * "ensure", ...) of driver @driver on resource @what ("network/net", or
 * NULL).  The strings are borrowed and must outlive the matching leave; @g
 * is caller storage (usually on the stack).  Calls nest.  Thread-safe.
 */
typedef struct hoist_guard {
    const char *driver, *op, *what;
    struct hoist_guard *prev;
} hoist_guard;
void hoist_guard_enter(hoist_guard *g, const char *driver, const char *op, const char *what);
/* hoist_guard_leave - end the call entered with @g (restores the outer one). */
void hoist_guard_leave(hoist_guard *g);
/*
 * hoist_crash_report_install - catch SIGSEGV, SIGBUS, SIGILL, SIGFPE and
 * SIGABRT: inside a guarded driver call, print "hoist: provider 'x' crashed
 * (signal N, SIGSEGV) during ensure of network/net; state saved up to the
 * last completed step" and _exit(1) (every state write is an atomic rename,
 * so the file on disk is whole).  Outside a driver call the previous
 * disposition is restored and the signal proceeds as before (a core dump, or
 * a sanitizer's report).  Call once, early, from the program's main thread.
 */
void hoist_crash_report_install(void);
/*
 * hoist_guard_report_abandoned - when this thread is inside a driver call,
 * write "hoist: provider 'x' had not returned from OP of WHAT and ignored
 * the interrupt; leaving it" to stderr; else nothing.  For a signal handler
 * about to leave the process (e.g. on a second interrupt): a driver deaf to
 * cancellation is named, not silently abandoned.  Async-signal-safe.
 */
void hoist_guard_report_abandoned(void);

#endif
