/* loader.c - find, vet and load provider modules (libltdl). */
#include "loader.h"
#include "driver.h"
#include "host.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <ltdl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HOIST_PROVIDERDIR
#define HOIST_PROVIDERDIR "/usr/local/lib/hoist/providers"
#endif

/* The smallest descriptor a 1.x driver can have: everything up to fini. */
#define DESC_MIN_SIZE (offsetof(hoist_provider_descriptor, fini) + sizeof(hoist_fini_fn))

struct hoist_loader {
    char **dirs; /* NULL-terminated */
    size_t n;
};

static void add_dir(hoist_loader *l, const char *d, size_t len)
{
    if (len == 0)
        return;
    l->dirs = hoist_xrealloc(l->dirs, (l->n + 2) * sizeof *l->dirs);
    l->dirs[l->n++] = hoist_xstrndup(d, len);
    l->dirs[l->n] = NULL;
}

hoist_loader *hoist_loader_new(const char *provider_dir)
{
    static int ltdl_ready;
    if (!ltdl_ready) {
        lt_dlinit();
        ltdl_ready = 1;
    }
    hoist_loader *l = hoist_xcalloc(1, sizeof *l);
    l->dirs = hoist_xcalloc(1, sizeof *l->dirs);
    if (provider_dir)
        add_dir(l, provider_dir, strlen(provider_dir));
    const char *env = getenv("HOIST_PROVIDER_PATH");
    while (env && *env) {
        const char *c = strchr(env, ':');
        size_t len = c ? (size_t)(c - env) : strlen(env);
        add_dir(l, env, len);
        env = c ? c + 1 : NULL;
    }
    add_dir(l, HOIST_PROVIDERDIR, strlen(HOIST_PROVIDERDIR));
    return l;
}

void hoist_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void hoist_loader_free(hoist_loader *l)
{
    if (!l)
        return;
    hoist_strv_free(l->dirs);
    free(l);
}

const char *const *hoist_loader_dirs(const hoist_loader *l)
{
    return (const char *const *)l->dirs;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The module file for @name in @dir: "<name>.la" first (libtool), then ".so". */
static char *find_in(const char *dir, const char *name)
{
    static const char *exts[] = {".la", ".so"};
    for (size_t i = 0; i < 2; i++) {
        char *p = hoist_xasprintf("%s/%s%s", dir, name, exts[i]);
        if (is_file(p))
            return p;
        free(p);
    }
    return NULL;
}

static int valid_name(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return 1;
}

int hoist_loader_exists(hoist_loader *l, const char *name)
{
    if (!valid_name(name))
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        char *p = find_in(l->dirs[i], name);
        if (p) {
            free(p);
            return 1;
        }
    }
    return 0;
}

/*
 * Refuse a path that someone other than its owner can write, or whose owner
 * is neither root nor us: whoever can replace the module runs code with the
 * user's cloud credentials.
 */
static char *unsafe_reason(const char *path, int is_dir)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return hoist_xasprintf("cannot stat %s: %s", path, hoist_strerror(errno));
    const char *what = is_dir ? "directory" : "file";
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        /* A sticky, root-owned directory such as /tmp is still unsafe for modules. */
        return hoist_xasprintf("refusing to load from %s %s: it is writable by %s; "
                               "fix with: chmod go-w '%s'",
                               what, path, (st.st_mode & S_IWOTH) ? "anyone" : "its group", path);
    }
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return hoist_xasprintf("refusing to load from %s %s: it belongs to uid %u, not to you or "
                               "root; fix with: chown %u '%s'",
                               what, path, (unsigned)st.st_uid, (unsigned)geteuid(), path);
    return NULL;
}

/* The value of `key='value'` in a .la line, or NULL. */
static char *la_value(const char *line, const char *key)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0 || line[k] != '=')
        return NULL;
    const char *v = line + k + 1;
    size_t len = strcspn(v, "\n");
    if (len >= 2 && v[0] == '\'' && v[len - 1] == '\'')
        return hoist_xstrndup(v + 1, len - 2);
    return hoist_xstrndup(v, len);
}

/*
 * The object libltdl will open for the libtool module @la_path, so that it
 * is the one vetted: libdir/dlname for an installed module (libltdl tries it
 * first, wherever libdir points), .libs/dlname for an uninstalled one, then
 * dlname next to the .la.  NULL if none exists (loading then fails anyway).
 */
static char *la_object(const char *la_path)
{
    FILE *fp = fopen(la_path, "r");
    if (!fp)
        return NULL;
    char line[4096], *dlname = NULL, *libdir = NULL, *v;
    int installed = 0;
    while (fgets(line, sizeof line, fp)) {
        if ((v = la_value(line, "dlname"))) {
            free(dlname);
            dlname = v;
        } else if ((v = la_value(line, "libdir"))) {
            free(libdir);
            libdir = v;
        } else if ((v = la_value(line, "installed"))) {
            installed = strcmp(v, "yes") == 0;
            free(v);
        }
    }
    fclose(fp);
    char *obj = NULL;
    if (dlname && *dlname) {
        char *dcopy = hoist_xstrdup(la_path);
        char *dir = dirname(dcopy);
        char *cand[3] = {
            installed && libdir && *libdir ? hoist_xasprintf("%s/%s", libdir, dlname) : NULL,
            !installed ? hoist_xasprintf("%s/.libs/%s", dir, dlname) : NULL,
            hoist_xasprintf("%s/%s", dir, dlname),
        };
        for (size_t i = 0; i < 3; i++) {
            if (!obj && cand[i] && is_file(cand[i]))
                obj = cand[i];
            else
                free(cand[i]);
        }
        free(dcopy);
    }
    free(dlname);
    free(libdir);
    return obj;
}

/*
 * Vet the file at @path and the directory it is in; through a symlink, also
 * the real file's directory (whoever can write there can replace the target).
 */
static char *vet_file(const char *path)
{
    char *dcopy = hoist_xstrdup(path);
    char *why = unsafe_reason(dirname(dcopy), 1);
    free(dcopy);
    char *real = why ? NULL : realpath(path, NULL);
    if (!why && !real)
        why = hoist_xasprintf("cannot resolve %s: %s", path, hoist_strerror(errno));
    if (!why) {
        char *rcopy = hoist_xstrdup(real);
        why = unsafe_reason(dirname(rcopy), 1);
        free(rcopy);
    }
    if (!why)
        why = unsafe_reason(real ? real : path, 0);
    free(real);
    return why;
}

static char *vet(const char *path)
{
    char *why = vet_file(path);
    if (!why && strlen(path) > 3 && strcmp(path + strlen(path) - 3, ".la") == 0) {
        char *obj = la_object(path);
        if (obj)
            why = vet_file(obj);
        free(obj);
    }
    return why;
}

hoist_status hoist_loader_open(hoist_loader *l, const char *name, hoist_driver **out, char **err)
{
    *out = NULL;
    *err = NULL;
    if (!valid_name(name)) {
        *err = hoist_xasprintf("provider '%s': invalid name (letters, digits and '_' only)", name);
        return HOIST_E_INVALID;
    }
    char *path = NULL;
    for (size_t i = 0; i < l->n && !path; i++)
        path = find_in(l->dirs[i], name);
    if (!path) {
        hoist_buf b = {0};
        hoist_buf_printf(&b, "provider '%s' not found; looked for %s.la and %s.so in:", name, name,
                         name);
        for (size_t i = 0; i < l->n; i++)
            hoist_buf_printf(&b, "\n  %s", l->dirs[i]);
        hoist_buf_puts(&b, "\n(add a directory with --provider-dir or HOIST_PROVIDER_PATH)");
        *err = hoist_buf_steal(&b);
        return HOIST_E_NOTFOUND;
    }
    char *why = vet(path);
    if (why) {
        *err = why;
        free(path);
        return HOIST_E_AUTH;
    }
    lt_dlhandle h = lt_dlopen(path);
    if (!h) {
        const char *e = lt_dlerror();
        *err = hoist_xasprintf("%s: not a loadable shared object (%s)", path, e ? e : "unknown error");
        free(path);
        return HOIST_E_INVALID;
    }
    hoist_entry_fn entry = (hoist_entry_fn)(uintptr_t)lt_dlsym(h, "hoist_provider_entry");
    if (!entry) {
        *err = hoist_xasprintf("%s: no entry symbol (expected %s_LTX_hoist_provider_entry, "
                               "written by HOIST_PROVIDER_DEFINE(%s, ...))",
                               path, name, name);
        goto refuse;
    }
    const hoist_provider_descriptor *d = entry();
    if (!d) {
        *err = hoist_xasprintf("%s: the entry returned no descriptor", path);
        goto refuse;
    }
    if (d->abi_major != HOIST_ABI_MAJOR) {
        *err = hoist_xasprintf("%s: built for provider ABI %u.%u, but this hoist speaks %d.%d "
                               "(the major version must match); rebuild the driver against "
                               "this hoist's SDK",
                               path, d->abi_major, d->abi_minor, HOIST_ABI_MAJOR, HOIST_ABI_MINOR);
        goto refuse;
    }
    if (d->abi_minor > HOIST_ABI_MINOR) {
        *err = hoist_xasprintf("%s: built for provider ABI %u.%u, newer than this hoist's %d.%d; "
                               "upgrade hoist or rebuild the driver against this SDK",
                               path, d->abi_major, d->abi_minor, HOIST_ABI_MAJOR, HOIST_ABI_MINOR);
        goto refuse;
    }
    if (d->struct_size < DESC_MIN_SIZE) {
        *err = hoist_xasprintf("%s: descriptor too small (%zu bytes, ABI %d.0 needs %zu)", path,
                               d->struct_size, HOIST_ABI_MAJOR, (size_t)DESC_MIN_SIZE);
        goto refuse;
    }
    const char *missing = !d->name      ? "name"
                          : !d->version ? "version"
                          : !d->license ? "license"
                          : !d->init    ? "init"
                                        : NULL;
    if (missing) {
        *err = hoist_xasprintf("%s: descriptor has no '%s' (required)", path, missing);
        goto refuse;
    }
    if (strcmp(d->name, name) != 0) {
        *err = hoist_xasprintf("%s: the driver calls itself '%s' but its file is named '%s'; "
                               "a driver's name must equal its file name",
                               path, d->name, name);
        goto refuse;
    }
    hoist_driver *drv = hoist_xcalloc(1, sizeof *drv);
    drv->name = hoist_xstrdup(name);
    drv->path = path;
    drv->handle = h;
    drv->desc = d;
    *out = drv;
    return HOIST_OK;
refuse:
    lt_dlclose(h);
    free(path);
    return HOIST_E_INVALID;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **hoist_loader_list(hoist_loader *l)
{
    char **v = hoist_xcalloc(1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        DIR *d = opendir(l->dirs[i]);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len < 4)
                continue;
            const char *ext = e->d_name + len - 3;
            if (strcmp(ext, ".la") != 0 && strcmp(ext, ".so") != 0)
                continue;
            char *base = hoist_xstrndup(e->d_name, len - 3);
            int dup = !valid_name(base);
            for (size_t j = 0; j < n && !dup; j++)
                dup = strcmp(v[j], base) == 0;
            if (dup) {
                free(base);
                continue;
            }
            v = hoist_xrealloc(v, (n + 2) * sizeof *v);
            v[n++] = base;
            v[n] = NULL;
        }
        closedir(d);
    }
    hoist_sort(v, n, sizeof *v, cmp_str);
    return v;
}

hoist_status hoist_driver_init(hoist_driver *d, json_t *settings, const char *state_dir,
                               char **err)
{
    *err = NULL;
    free(d->state_dir);
    d->state_dir = hoist_xstrdup(state_dir);
    d->ctx = hoist_xcalloc(1, sizeof *d->ctx);
    hoist_ctx_init(d->ctx, d, NULL);
    json_t *empty = settings ? NULL : json_object();
    void *prov = NULL;
    const hoist_provider_ops *ops = NULL;
    hoist_guard g;
    hoist_guard_enter(&g, d->name, "init", NULL);
    hoist_status st = d->desc->init(hoist_host_table(), d->ctx, settings ? settings : empty, &prov, &ops);
    hoist_guard_leave(&g);
    json_decref(empty);
    if (st == HOIST_OK && !ops) {
        st = hoist_ctx_fail(d->ctx, HOIST_E_INTERNAL, "init returned no operations table");
        if (d->desc->fini)
            d->desc->fini(prov);
    }
    if (st != HOIST_OK) {
        const char *m = hoist_ctx_error(d->ctx);
        *err = hoist_xasprintf("provider '%s' (%s) failed to initialise: %s", d->name, d->path,
                               m ? m : hoist_status_name(st < 0 ? st : HOIST_E_INTERNAL));
        return st < 0 ? st : HOIST_E_INTERNAL;
    }
    d->prov = prov;
    d->ops = ops;
    return HOIST_OK;
}

const hoist_setting *hoist_descriptor_settings(const hoist_provider_descriptor *desc)
{
    if (!desc || desc->abi_minor < 3 ||
        desc->struct_size < offsetof(hoist_provider_descriptor, settings) + sizeof desc->settings)
        return NULL;
    return desc->settings;
}

void hoist_driver_free(hoist_driver *d)
{
    if (!d)
        return;
    if (d->ops && d->desc->fini) {
        hoist_guard g;
        hoist_guard_enter(&g, d->name, "fini", NULL);
        d->desc->fini(d->prov);
        hoist_guard_leave(&g);
    }
    if (d->ctx) {
        hoist_ctx_cleanup(d->ctx);
        free(d->ctx);
    }
    if (d->handle)
        lt_dlclose((lt_dlhandle)d->handle);
    free(d->name);
    free(d->path);
    free(d->state_dir);
    free(d);
}

const char *hoist_status_name(hoist_status s)
{
    switch (s) {
    case HOIST_OK: return "ok";
    case HOIST_PENDING: return "pending";
    case HOIST_E_NOTFOUND: return "not found";
    case HOIST_E_AUTH: return "authentication or permission error";
    case HOIST_E_INVALID: return "invalid request";
    case HOIST_E_CONFLICT: return "conflict";
    case HOIST_E_QUOTA: return "quota exceeded";
    case HOIST_E_TRANSIENT: return "temporary failure";
    case HOIST_E_UNSUPPORTED: return "unsupported operation";
    case HOIST_E_INTERNAL: return "internal error";
    case HOIST_E_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

char *hoist_caps_string(unsigned caps)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {HOIST_CAP_PAUSE_DATABASE, "pause-database"}, {HOIST_CAP_AUTOSCALE, "autoscale"},
        {HOIST_CAP_PRIVATE_DB, "private-db"},         {HOIST_CAP_LOCAL_RUNTIME, "local-runtime"},
        {HOIST_CAP_DB_POSTGRESQL, "postgresql"},      {HOIST_CAP_DB_MYSQL, "mysql"},
        {HOIST_CAP_DB_REDIS, "redis"},                {HOIST_CAP_DB_MONGODB, "mongodb"},
    };
    hoist_buf b = {0};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (caps & names[i].bit)
            hoist_buf_printf(&b, "%s%s", b.len ? "," : "", names[i].name);
    return hoist_buf_steal(&b);
}

void hoist_cluster_credentials_clear(hoist_cluster_credentials *c)
{
    if (!c)
        return;
    size_t sz = c->struct_size;
    free(c->endpoint);
    free(c->ca_pem);
    free(c->token);
    memset(c, 0, sizeof *c);
    c->struct_size = sz;
}

void hoist_registry_credentials_clear(hoist_registry_credentials *c)
{
    if (!c)
        return;
    size_t sz = c->struct_size;
    free(c->endpoint);
    free(c->repository);
    free(c->username);
    free(c->password);
    memset(c, 0, sizeof *c);
    c->struct_size = sz;
}

void hoist_db_connection_clear(hoist_db_connection *c)
{
    if (!c)
        return;
    size_t sz = c->struct_size;
    free(c->host);
    free(c->user);
    free(c->password);
    free(c->database);
    memset(c, 0, sizeof *c);
    c->struct_size = sz;
}
