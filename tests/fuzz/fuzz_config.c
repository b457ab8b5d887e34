/* fuzz_config.c - hoist.yml: parse, validate and report (hoist_config_parse). */
#include "fuzz.h"

#include "config.h"

#include <stdio.h>

static int fuzz_exists(const char *env, const char *provider, void *arg)
{
    (void)env;
    (void)arg;
    /* Both answers matter: "not installed" has its own diagnostics. */
    return provider && provider[0] != 'x';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_parse("fuzz.yml", (const char *)data, size, fuzz_exists, NULL, &d);
    if (sink)
        hoist_diags_print(&d, sink);
    if (cfg) {
        for (size_t i = 0; i < cfg->n_envs; i++)
            (void)hoist_config_env(cfg, cfg->envs[i].name);
        for (size_t i = 0; i < cfg->n_dbs; i++)
            (void)hoist_config_db(cfg, cfg->dbs[i].name);
    }
    hoist_config_free(cfg);
    hoist_diags_free(&d);
    return 0;
}
