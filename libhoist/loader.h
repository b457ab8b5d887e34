/*
 * loader.h - find, vet and load provider modules with libltdl.
 *
 * Search order: --provider-dir, then $HOIST_PROVIDER_PATH (colon-separated),
 * then $(pkglibdir)/providers.  A module is "<name>.la" (an uninstalled or
 * installed libtool module) or "<name>.so".  Before anything is loaded the
 * file and its directory are checked: code that anyone else can replace must
 * not run with the user's cloud credentials.
 */
#ifndef HOIST_LOADER_H
#define HOIST_LOADER_H

#include <hoist/host.h>
#include <hoist/provider.h>

typedef struct hoist_loader hoist_loader;

typedef struct hoist_driver {
    char *name;
    char *path;                            /* the file that was opened */
    void *handle;                          /* lt_dlhandle */
    const hoist_provider_descriptor *desc; /* borrowed from the module */
    void *prov;                            /* after hoist_driver_init */
    const hoist_provider_ops *ops;         /* after hoist_driver_init */
    hoist_ctx *ctx;                        /* the driver's lifetime context */
    char *state_dir;                       /* base directory for host->state_dir */
} hoist_driver;

/* @provider_dir: from --provider-dir, or NULL.  Never fails. */
hoist_loader *hoist_loader_new(const char *provider_dir);
void hoist_loader_free(hoist_loader *l);

/* The directories searched, in order (borrowed, NULL-terminated). */
const char *const *hoist_loader_dirs(const hoist_loader *l);

/*
 * Find @name, vet the file and its directory, dlopen it and check its
 * descriptor.  On success *out is a loaded (not initialised) driver.  On
 * failure returns an error status and sets *err to one message that names
 * the file and the reason (caller frees).
 */
hoist_status hoist_loader_open(hoist_loader *l, const char *name, hoist_driver **out, char **err);

/* 1 if @name resolves to a file in the search path (not loaded). */
int hoist_loader_exists(hoist_loader *l, const char *name);

/* Names of every module file in the search path, first occurrence wins;
 * NULL-terminated, free with hoist_strv_free. */
char **hoist_loader_list(hoist_loader *l);
void hoist_strv_free(char **v);

/*
 * Call the driver's init with @settings (borrowed) and the directory it may
 * keep files in (@state_dir, may be NULL).  On failure *err gets the driver's
 * own message, or a generic one if it gave none.
 */
hoist_status hoist_driver_init(hoist_driver *d, json_t *settings, const char *state_dir,
                               char **err);

/*
 * The settings schema @desc declares (NULL-name-terminated, borrowed from
 * the module), or NULL when it declares none.  Read only from a driver whose
 * abi_minor is at least 3 and whose descriptor is large enough to hold the
 * member: an older driver's descriptor ends before it.
 */
const hoist_setting *hoist_descriptor_settings(const hoist_provider_descriptor *desc);

/* fini (if initialised) and unload.  NULL-safe. */
void hoist_driver_free(hoist_driver *d);

/*
 * Free the strings a driver's credentials/connection op filled (malloc'd by
 * the driver, per provider.h) and zero them; struct_size is kept.  NULL-safe.
 */
void hoist_cluster_credentials_clear(hoist_cluster_credentials *c);
void hoist_registry_credentials_clear(hoist_registry_credentials *c);
void hoist_db_connection_clear(hoist_db_connection *c);

/* Human names of the status codes and capability bits. */
const char *hoist_status_name(hoist_status s);
/* Writes "pause-database,autoscale,..." into a new string. */
char *hoist_caps_string(unsigned caps);

/*
 * Crash containment.  A driver is code hoist did not write, running in
 * hoist's process: when it faults, the user must learn which driver did it
 * and during what, not see a bare "Segmentation fault".  Every call into a
 * driver is bracketed by hoist_guard_enter/leave, which keep a thread-local
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
#endif
