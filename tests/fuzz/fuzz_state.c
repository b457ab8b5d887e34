/*
 * fuzz_state.c - the state loader: a fuzzed document read through an
 * in-memory backend (hoist_state_open's parse and checks), then every
 * record read back (unsealing secrets) and one record written and forgotten
 * (serialisation of whatever was accepted).  The first input byte chooses
 * whether a sealing key is configured, so both the plain and the sealed
 * paths are reached.
 */
#include "fuzz.h"

#include "loader.h"
#include "state.h"
#include "util.h"

typedef struct mem_backend {
    char *text; /* the document (input, then whatever save stored) */
} mem_backend;

static hoist_status mem_load(hoist_state_backend *b, char **text, char **err)
{
    mem_backend *m = b->data;
    (void)err;
    *text = m->text ? hoist_xstrdup(m->text) : NULL;
    return HOIST_OK;
}

static hoist_status mem_save(hoist_state_backend *b, const char *text, char **err)
{
    mem_backend *m = b->data;
    (void)err;
    free(m->text);
    m->text = hoist_xstrdup(text);
    return HOIST_OK;
}

static hoist_status mem_lock(hoist_state_backend *b, const char *op, double t, char **err)
{
    (void)b, (void)op, (void)t, (void)err;
    return HOIST_OK;
}

static void mem_unlock(hoist_state_backend *b)
{
    (void)b;
}

static void mem_free(hoist_state_backend *b)
{
    mem_backend *m = b->data;
    free(m->text);
    free(m);
    free(b);
}

static const char *mem_describe(hoist_state_backend *b)
{
    (void)b;
    return "fuzz.json";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        setenv("HOIST_STATE_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
    else
        unsetenv("HOIST_STATE_KEY");
    mem_backend *m = hoist_xcalloc(1, sizeof *m);
    m->text = fuzz_cstr(data + 1, size - 1);
    hoist_state_backend *b = hoist_xcalloc(1, sizeof *b);
    *b = (hoist_state_backend){.load = mem_load, .save = mem_save, .lock = mem_lock,
                               .unlock = mem_unlock, .free = mem_free,
                               .describe = mem_describe, .data = m};
    char *err = NULL;
    hoist_state *st = hoist_state_open(b, "shop", "dev", "null", &err);
    free(err);
    err = NULL;
    if (!st)
        return 0;
    (void)hoist_state_lock(st, "fuzz", 0, &err);
    free(err);
    err = NULL;
    char **keys = hoist_state_keys(st);
    for (char **k = keys; k && *k; k++) {
        char *slash = strchr(*k, '/');
        if (!slash)
            continue;
        *slash = '\0';
        json_t *rec = hoist_state_get(st, *k, slash + 1);
        json_decref(rec);
    }
    hoist_strv_free(keys);
    json_t *sec = json_pack("{s:s}", "password", "fuzz-secret");
    if (hoist_state_put(st, "database", "main", HOIST_RS_READY, "h", NULL, NULL, sec, &err) == HOIST_OK)
        (void)hoist_state_forget(st, "database", "main", &err);
    free(err);
    json_decref(sec);
    (void)hoist_state_serial(st);
    (void)hoist_state_lineage(st);
    hoist_state_free(st);
    return 0;
}
