/* providertest.c - libhoist-providertest (see hoist/providertest.h). */
#define _GNU_SOURCE 1 /* vasprintf */
#include <hoist/providertest.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct hpt_host {
    char dir[4096];
    pthread_mutex_t lock; /* guards secrets */
    char **secrets;
    size_t n_secrets;
};

struct hoist_ctx {
    hpt_host *h;
    hoist_status status;
    char *err;
    char *progress; /* host->progress's last line */
    volatile int cancelled;
};

static void hpt_vlog(hoist_ctx *ctx, int level, const char *fmt, ...)
{
    (void)ctx;
    if (!getenv("HPT_VERBOSE"))
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "driver log (%d): ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static hoist_status hpt_fail(hoist_ctx *ctx, hoist_status st, const char *fmt, ...)
{
    if (ctx->err) /* the first report of a call wins */
        return st;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&ctx->err, fmt, ap) < 0)
        ctx->err = NULL;
    va_end(ap);
    ctx->status = st;
    return st;
}

static void hpt_secret(hoist_ctx *ctx, const char *value)
{
    if (!value || strlen(value) < 4)
        return;
    hpt_host *h = ctx->h;
    pthread_mutex_lock(&h->lock);
    char **v = realloc(h->secrets, (h->n_secrets + 1) * sizeof *v);
    if (v) {
        h->secrets = v;
        h->secrets[h->n_secrets] = strdup(value);
        if (h->secrets[h->n_secrets])
            h->n_secrets++;
    }
    pthread_mutex_unlock(&h->lock);
}

static int hpt_cancelled(hoist_ctx *ctx)
{
    return ctx->cancelled;
}

static const char *hpt_state(hoist_ctx *ctx)
{
    return ctx->h->dir;
}

static void hpt_progress(hoist_ctx *ctx, const char *fmt, ...)
{
    /* Copied, as the core does: the driver may pass a buffer it frees next. */
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) < 0)
        line = NULL;
    va_end(ap);
    free(ctx->progress);
    ctx->progress = line;
}

static hoist_status hpt_random_secret(hoist_ctx *ctx, char *buf, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    if (len < 2)
        return hpt_fail(ctx, HOIST_E_INTERNAL, "random_secret: buffer too small");
    FILE *fp = fopen("/dev/urandom", "rb");
    if (!fp)
        return hpt_fail(ctx, HOIST_E_INTERNAL, "random_secret: no /dev/urandom");
    for (size_t i = 0; i + 1 < len; i++)
        buf[i] = abc[(unsigned char)fgetc(fp) % 62];
    buf[len - 1] = '\0';
    fclose(fp);
    hpt_secret(ctx, buf);
    return HOIST_OK;
}

static const hoist_host hpt_table = {
    .struct_size = sizeof(hoist_host),
    .abi_major = HOIST_ABI_MAJOR,
    .abi_minor = HOIST_ABI_MINOR,
    .log = hpt_vlog,
    .fail = hpt_fail,
    .secret = hpt_secret,
    .cancelled = hpt_cancelled,
    .state_dir = hpt_state,
    .random_secret = hpt_random_secret,
    .progress = hpt_progress,
};

hpt_host *hpt_host_new(void)
{
    hpt_host *h = calloc(1, sizeof *h);
    const char *t = getenv("TMPDIR");
    if (!h)
        abort();
    snprintf(h->dir, sizeof h->dir, "%s/hpt-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(h->dir)) {
        perror("hpt_host_new: mkdtemp");
        abort();
    }
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

static int hpt_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

void hpt_host_free(hpt_host *h)
{
    if (!h)
        return;
    nftw(h->dir, hpt_rm, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < h->n_secrets; i++)
        free(h->secrets[i]);
    free(h->secrets);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

const hoist_host *hpt_host_table(hpt_host *h)
{
    (void)h;
    return &hpt_table;
}

const char *hpt_state_dir(hpt_host *h)
{
    return h->dir;
}

hoist_ctx *hpt_ctx_new(hpt_host *h)
{
    hoist_ctx *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->h = h;
    return c;
}

void hpt_ctx_free(hoist_ctx *ctx)
{
    if (ctx) {
        free(ctx->err);
        free(ctx->progress);
    }
    free(ctx);
}

const char *hpt_ctx_error(const hoist_ctx *ctx)
{
    return ctx->err;
}

const char *hpt_ctx_progress(const hoist_ctx *ctx)
{
    return ctx->progress;
}

hoist_status hpt_ctx_status(const hoist_ctx *ctx)
{
    return ctx->err ? ctx->status : HOIST_OK;
}

void hpt_ctx_cancel(hoist_ctx *ctx)
{
    ctx->cancelled = 1;
}

int hpt_is_secret(hpt_host *h, const char *value)
{
    int found = 0;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; value && i < h->n_secrets && !found; i++)
        found = strcmp(h->secrets[i], value) == 0;
    pthread_mutex_unlock(&h->lock);
    return found;
}

const char *hpt_status_name(hoist_status st)
{
    static const char *names[] = {"HOIST_E_CANCELLED", "HOIST_E_INTERNAL", "HOIST_E_UNSUPPORTED",
                                  "HOIST_E_TRANSIENT", "HOIST_E_QUOTA",    "HOIST_E_CONFLICT",
                                  "HOIST_E_INVALID",   "HOIST_E_AUTH",     "HOIST_E_NOTFOUND",
                                  "HOIST_OK",          "HOIST_PENDING"};
    if (st < HOIST_E_CANCELLED || st > HOIST_PENDING)
        return "(unknown status)";
    return names[st - HOIST_E_CANCELLED];
}

void hpt_result_clear(hoist_result *out)
{
    json_decref(out->outputs);
    json_decref(out->secrets);
    *out = (hoist_result){.struct_size = sizeof *out};
}

hoist_status hpt_converge(hpt_host *h, hoist_op_fn fn, void *prov, const hoist_resource *r,
                          hoist_result *out, int max_polls, char **err)
{
    hoist_resource cur = *r;
    json_t *rec = json_incref(r->recorded);
    hoist_status st = HOIST_E_INTERNAL;
    *out = (hoist_result){.struct_size = sizeof *out};
    for (int i = 0; i < max_polls; i++) {
        hpt_result_clear(out);
        hoist_ctx *ctx = hpt_ctx_new(h);
        cur.recorded = rec;
        st = fn(prov, ctx, &cur, out);
        if (err) {
            free(*err);
            *err = ctx->err ? strdup(ctx->err) : NULL;
        }
        hpt_ctx_free(ctx);
        if (st != HOIST_PENDING)
            break;
        if (out->outputs) {
            json_decref(rec);
            rec = json_deep_copy(out->outputs);
            if (out->secrets)
                json_object_set(rec, "secrets", out->secrets);
        }
        unsigned ms = out->poll_ms ? out->poll_ms : 10;
        struct timespec ts = {0, (long)(ms > 1000 ? 1000 : ms) * 1000000L};
        nanosleep(&ts, NULL);
    }
    json_decref(rec);
    return st;
}
