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

#endif
