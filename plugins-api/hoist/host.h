/*
 * hoist/host.h - services the core lends to drivers.
 *
 * The table is append-only (see the versioning rule in hoist/provider.h):
 * a driver checks host->struct_size (or HOIST_HOST_HAS()) before using a
 * member added after the ABI minor it was built for.  Drivers never link
 * libcurl or OpenSSL themselves: transport and signing arrive here, so that
 * retries, tracing, TLS policy and secret redaction are right once.
 *
 * Every function takes the hoist_ctx the driver was handed (init's for
 * driver-wide work, the operation's inside an operation).  All functions are
 * thread-safe.
 */
#ifndef HOIST_HOST_H
#define HOIST_HOST_H

#include <stdarg.h>
#include <hoist/provider.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Log levels for host->log.  Since: ABI 1.0 */
enum { HOIST_LOG_ERROR = 0, HOIST_LOG_WARN = 1, HOIST_LOG_INFO = 2, HOIST_LOG_DEBUG = 3 };

#if defined(__GNUC__)
#define HOIST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HOIST_PRINTF(a, b)
#endif

typedef struct hoist_host {
    size_t struct_size;
    unsigned abi_major;
    unsigned abi_minor;

    /**
     * log - a line for the user, prefixed by the core with the driver's name
     * and the resource.  Registered secrets are masked.  Never pass a secret.
     * Since: ABI 1.0
     */
    void (*log)(hoist_ctx *ctx, int level, const char *fmt, ...) HOIST_PRINTF(3, 4);

    /**
     * fail - report why an operation failed, once, where it happens.  The
     * first report of a call wins; later ones are dropped, so a caller never
     * overwrites its callee's detail.  Returns @status, so drivers write
     * `return host->fail(ctx, HOIST_E_AUTH, "token rejected: %s", msg);`.
     * Since: ABI 1.0
     */
    hoist_status (*fail)(hoist_ctx *ctx, hoist_status status, const char *fmt, ...)
        HOIST_PRINTF(3, 4);

    /**
     * secret - register a value the process must never print (a password, a
     * token, a key).  Every later log line, trace and error is masked.  Values
     * shorter than 4 bytes are ignored.  Since: ABI 1.0
     */
    void (*secret)(hoist_ctx *ctx, const char *value);

    /** cancelled - non-zero once the run is being stopped (signal, deadline).  Since: ABI 1.0 */
    int (*cancelled)(hoist_ctx *ctx);

    /**
     * state_dir - a directory private to this project, environment and driver
     * where the driver may keep files (created on first call, mode 0700).
     * Borrowed string, valid for the driver's lifetime.  Since: ABI 1.0
     */
    const char *(*state_dir)(hoist_ctx *ctx);

    /**
     * random_secret - fill @buf (of @len bytes, NUL included) with a random
     * password of [A-Za-z0-9], registered as a secret.  Returns HOIST_OK or
     * HOIST_E_INTERNAL.  Since: ABI 1.0
     */
    hoist_status (*random_secret)(hoist_ctx *ctx, char *buf, size_t len);
} hoist_host;

/** True if @host is new enough to carry @member. */
#define HOIST_HOST_HAS(host, member)                                                          \
    ((host)->struct_size >= offsetof(hoist_host, member) + sizeof((host)->member) &&       \
     (host)->member != NULL)

#ifdef __cplusplus
}
#endif
#endif /* HOIST_HOST_H */
