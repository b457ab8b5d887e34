/* host.c - the services lent to drivers (see plugins-api/hoist/host.h). */
#include "host.h"
#include "creds.h"
#include "http.h"
#include "xmlutil.h"
#include "loader.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hoist_ctx_init(hoist_ctx *ctx, struct hoist_driver *drv, const char *what)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->drv = drv;
    const char *name = drv && drv->name ? drv->name : "hoist";
    ctx->prefix = what ? hoist_xasprintf("%s: %s", name, what) : hoist_xstrdup(name);
}

void hoist_ctx_cleanup(hoist_ctx *ctx)
{
    free(ctx->prefix);
    free(ctx->err);
    free(ctx->progress);
    ctx->prefix = ctx->err = ctx->progress = NULL;
}

const char *hoist_ctx_error(const hoist_ctx *ctx)
{
    return ctx->err;
}

/*
 * The first detail wins (the root cause, not the cleanup's trouble), except
 * that a transient one gives way to a later permanent one: a driver that
 * retried past a 503 and then met a quota error must report the quota, not
 * the 503 it recovered from (found by tests/fault_storm.sh).
 */
static hoist_status ctx_vfail(hoist_ctx *ctx, hoist_status st, const char *fmt, va_list ap)
{
    if (ctx->err && ctx->err_status == HOIST_E_TRANSIENT && st != HOIST_E_TRANSIENT &&
        st != HOIST_PENDING && st != HOIST_OK) {
        free(ctx->err);
        ctx->err = NULL;
    }
    if (!ctx->err) {
        ctx->err = hoist_xvasprintf(fmt, ap);
        ctx->err_status = st;
    }
    return st;
}

hoist_status hoist_ctx_fail(hoist_ctx *ctx, hoist_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx_vfail(ctx, st, fmt, ap);
    va_end(ap);
    return st;
}

static void host_log(hoist_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hoist_vlog(level, ctx ? ctx->prefix : NULL, fmt, ap);
    va_end(ap);
}

static hoist_status host_fail(hoist_ctx *ctx, hoist_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx_vfail(ctx, st, fmt, ap);
    va_end(ap);
    return st;
}

/* A status line longer than this is cut: it is one line of a terminal. */
#define PROGRESS_MAX 200

static void host_progress(hoist_ctx *ctx, const char *fmt, ...)
{
    if (!ctx || !fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *raw = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    /* Masked now: events print the status as given. */
    char *line = hoist_redact(raw);
    free(raw);
    size_t n = strlen(line);
    if (n > PROGRESS_MAX) {
        n = PROGRESS_MAX;
        while (n > 0 && ((unsigned char)line[n] & 0xC0) == 0x80)
            n--; /* not inside a UTF-8 sequence */
        line[n] = '\0';
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = ' '; /* one line, no terminal controls from a cloud's answer */
    free(ctx->progress);
    ctx->progress = line;
}

const char *hoist_ctx_progress(const hoist_ctx *ctx, const char *status_text)
{
    return ctx->progress ? ctx->progress : status_text;
}

static void host_secret(hoist_ctx *ctx, const char *value)
{
    (void)ctx;
    hoist_secret_add(value);
}

int hoist_ctx_cancelled(hoist_ctx *ctx)
{
    if (!ctx)
        return 0;
    if (ctx->cancel && *ctx->cancel)
        return 1;
    return ctx->deadline_ms && hoist_now_ms() > ctx->deadline_ms;
}

static const char *host_state_dir(hoist_ctx *ctx)
{
    if (!ctx->drv || !ctx->drv->state_dir)
        return NULL;
    if (hoist_mkdirs(ctx->drv->state_dir, 0700) != 0) {
        hoist_log(HOIST_LOG_WARN_, ctx->prefix, "cannot create %s: %s", ctx->drv->state_dir,
                  hoist_strerror(errno));
        return NULL;
    }
    return ctx->drv->state_dir;
}

static hoist_status host_random_secret(hoist_ctx *ctx, char *buf, size_t len)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    if (len < 2)
        return host_fail(ctx, HOIST_E_INTERNAL, "random_secret: buffer too small");
    unsigned char raw[256];
    size_t n = len - 1;
    for (size_t i = 0; i < n; i++) {
        /* Rejection sampling keeps the 62 symbols uniform. */
        unsigned char c;
        do {
            if (RAND_bytes(raw, 1) != 1)
                return host_fail(ctx, HOIST_E_INTERNAL, "random_secret: no entropy");
            c = raw[0];
        } while (c >= 248);
        buf[i] = alphabet[c % 62];
    }
    buf[n] = '\0';
    hoist_secret_add(buf);
    return HOIST_OK;
}

static const hoist_host host_table = {
    .struct_size = sizeof(hoist_host),
    .abi_major = HOIST_ABI_MAJOR,
    .abi_minor = HOIST_ABI_MINOR,
    .log = host_log,
    .fail = host_fail,
    .secret = host_secret,
    .cancelled = hoist_ctx_cancelled,
    .state_dir = host_state_dir,
    .random_secret = host_random_secret,
    .http = hoist_http,
    .http_response_free = hoist_http_response_free,
    .http_header = hoist_http_header,
    .http_error = hoist_http_error,
    .sigv4_presign = hoist_sigv4_presign_ctx,
    .eks_token = hoist_eks_token_ctx,
    .credentials = hoist_credentials,
    .xml_parse = hoist_xml_parse_ctx,
    .xml_root = hoist_xml_root,
    .xml_first = hoist_xml_first,
    .xml_next = hoist_xml_next,
    .xml_text = hoist_xml_text,
    .xml_free = hoist_xml_free,
    .base64_encode = hoist_base64_encode,
    .base64_decode = hoist_base64_decode,
    .progress = host_progress,
};

const hoist_host *hoist_host_table(void)
{
    return &host_table;
}
