/*
 * fake.c - crafted provider modules for tests/check_loader.c.
 *
 * One source, one module per variant: tests/loader.mk compiles it with
 * -DFAKE_NAME=<module name> and one FAKE_* switch that breaks exactly one
 * rule of the ABI, so each refusal of the loader is proved by a real shared
 * object.  Without a switch it is a small, correct driver (fake_good).
 *
 * fake_good honours one setting, "marker": a file that init and fini append
 * a line to, so the tests can see that the host table and state directory
 * arrived and that fini ran exactly once.
 */
#include <hoist/host.h>
#include <hoist/provider.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FAKE_NAME
#error "compile with -DFAKE_NAME=<module name>"
#endif

/* Expand FAKE_NAME before pasting/stringising it. */
#define FAKE_CAT_(a, b) a##b
#define FAKE_CAT(a, b) FAKE_CAT_(a, b)
#define FAKE_STR_(a) #a
#define FAKE_STR(a) FAKE_STR_(a)
#define FAKE_DEFINE(n, ...) HOIST_PROVIDER_DEFINE(n, __VA_ARGS__)

typedef struct fake_prov {
    char *marker;
} fake_prov;

static void fake_mark(const char *marker, const char *what, const char *detail)
{
    FILE *fp = marker ? fopen(marker, "a") : NULL;
    if (fp) {
        fprintf(fp, "%s %s\n", what, detail ? detail : "-");
        fclose(fp);
    }
}

static hoist_status fake_network_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    (void)vp;
    (void)ctx;
    out->outputs = json_pack("{s:s}", "id", r->name);
    return HOIST_OK;
}

static const hoist_network_ops fake_network = {
    .struct_size = sizeof fake_network,
    .ensure = fake_network_ensure,
};

/* unused attributes: some variants deliberately leave these out. */
#define FAKE_MAYBE_UNUSED __attribute__((unused))

static const hoist_provider_ops fake_ops FAKE_MAYBE_UNUSED = {
    .struct_size = sizeof fake_ops,
    .network = &fake_network,
};

FAKE_MAYBE_UNUSED static hoist_status fake_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings,
                              void **prov, const hoist_provider_ops **ops)
{
    if (host->abi_major != HOIST_ABI_MAJOR || host->struct_size < sizeof(hoist_host))
        return host->fail(ctx, HOIST_E_INTERNAL, "unexpected host table");
#if defined(FAKE_INIT_FAILS)
    (void)settings;
    (void)prov;
    (void)ops;
    return host->fail(ctx, HOIST_E_AUTH, "no API token: set FAKE_TOKEN to the account's token");
#elif defined(FAKE_INIT_SILENT)
    (void)settings;
    (void)prov;
    (void)ops;
    return HOIST_E_QUOTA;
#else
    fake_prov *p = calloc(1, sizeof *p);
    if (!p)
        return host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    const char *m = json_string_value(json_object_get(settings, "marker"));
    p->marker = m ? strdup(m) : NULL;
    fake_mark(p->marker, "init", host->state_dir(ctx));
    *prov = p;
#if defined(FAKE_NO_OPS)
    (void)ops;
#else
    *ops = &fake_ops;
#endif
    return HOIST_OK;
#endif
}

static void fake_fini(void *vp)
{
    fake_prov *p = vp;
    if (!p)
        return;
    fake_mark(p->marker, "fini", NULL);
    free(p->marker);
    free(p);
}

#if defined(FAKE_NO_ENTRY)
/*
 * The entry of a module whose file was renamed after it was built: it
 * exports an entry, but under another driver's prefix, so libltdl finds
 * neither <file name>_LTX_hoist_provider_entry nor hoist_provider_entry.
 */
FAKE_DEFINE(fake_renamed, .version = "0.0.1", .license = "MIT", .init = fake_init,
            .fini = fake_fini)
#elif defined(FAKE_ABI_MAJOR) || defined(FAKE_ABI_MINOR) || defined(FAKE_DESC_NAME)
/*
 * Written by hand: overriding a member set by HOIST_PROVIDER_DEFINE would
 * trip -Woverride-init.  This is exactly what the macro expands to.
 */
#ifndef FAKE_ABI_MAJOR
#define FAKE_ABI_MAJOR HOIST_ABI_MAJOR
#endif
#ifndef FAKE_ABI_MINOR
#define FAKE_ABI_MINOR HOIST_ABI_MINOR
#endif
#ifndef FAKE_DESC_NAME
#define FAKE_DESC_NAME FAKE_STR(FAKE_NAME)
#endif
HOIST_EXPORT const hoist_provider_descriptor *FAKE_CAT(FAKE_NAME, _LTX_hoist_provider_entry)(void);
const hoist_provider_descriptor *FAKE_CAT(FAKE_NAME, _LTX_hoist_provider_entry)(void)
{
    static const hoist_provider_descriptor d = {
        .abi_major = FAKE_ABI_MAJOR, .abi_minor = FAKE_ABI_MINOR, .struct_size = sizeof d,
        .name = FAKE_DESC_NAME,      .version = "0.0.1",          .license = "MIT",
        .init = fake_init,           .fini = fake_fini,
    };
    return &d;
}
#else
#if defined(FAKE_NO_VERSION)
#define FAKE_VERSION NULL
#else
#define FAKE_VERSION "0.0.1"
#endif
#if defined(FAKE_NO_LICENSE)
#define FAKE_LICENSE NULL
#else
#define FAKE_LICENSE "MIT"
#endif
#if defined(FAKE_NO_INIT)
#define FAKE_INIT NULL
#else
#define FAKE_INIT fake_init
#endif
FAKE_DEFINE(FAKE_NAME, .version = FAKE_VERSION, .license = FAKE_LICENSE,
            .description = "crafted test module", .caps = HOIST_CAP_AUTOSCALE | HOIST_CAP_DB_REDIS,
            .init = FAKE_INIT, .fini = fake_fini)
#endif
