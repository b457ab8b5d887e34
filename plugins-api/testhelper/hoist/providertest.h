/*
 * hoist/providertest.h - unit-test helpers for provider drivers
 * (libhoist-providertest, pkg-config hoist-providertest).
 *
 * A mock host table that records what a driver does through it (the first
 * fail() of each call, the secrets it registers), per-call contexts that
 * can be cancelled, and a loop that converges an operation through PENDING.
 * It needs no running hoist: link your driver's sources into a test program
 * and call its entry, init and operations directly.  Include <check.h>
 * first to get the hpt_assert_status() macro.  Since: hoist 0.1 (ABI 1.0).
 */
#ifndef HOIST_PROVIDERTEST_H
#define HOIST_PROVIDERTEST_H

#include <hoist/host.h>
#include <hoist/provider.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hpt_host hpt_host;

/* A new mock host with a fresh private state directory (removed by
 * hpt_host_free).  Aborts if the directory cannot be made.  Thread-safe
 * once created: drivers may call its table from several threads. */
hpt_host *hpt_host_new(void);
void hpt_host_free(hpt_host *h);

/* The table to pass to init (borrowed, valid until hpt_host_free).  It
 * fills the ABI 1.0 members and progress (1.3); the others are NULL, so
 * drivers take their HOIST_HOST_HAS() fallbacks. */
const hoist_host *hpt_host_table(hpt_host *h);
/* The directory host->state_dir() returns (borrowed). */
const char *hpt_state_dir(hpt_host *h);

/* A context for one call (or for init); free with hpt_ctx_free. */
hoist_ctx *hpt_ctx_new(hpt_host *h);
void hpt_ctx_free(hoist_ctx *ctx);
/* The first fail() reported in @ctx (borrowed) and its status; NULL/HOIST_OK if none. */
const char *hpt_ctx_error(const hoist_ctx *ctx);
hoist_status hpt_ctx_status(const hoist_ctx *ctx);
/* The last line given to host->progress in @ctx (borrowed), or NULL. */
const char *hpt_ctx_progress(const hoist_ctx *ctx);
/* From now on host->cancelled(@ctx) is true. */
void hpt_ctx_cancel(hoist_ctx *ctx);

/* 1 if @value was registered through host->secret or random_secret. */
int hpt_is_secret(hpt_host *h, const char *value);

/* "HOIST_E_NOTFOUND" and so on (static string). */
const char *hpt_status_name(hoist_status st);

/*
 * Call @fn (an ensure or destroy) until it stops answering PENDING or
 * @max_polls calls were made, passing each answer's outputs (plus its
 * secrets under "secrets") back as r->recorded, as the core does.  Waits
 * poll_ms between calls, at most 1 s.  On return @out holds the last answer
 * (free its outputs/secrets with hpt_result_clear) and *@err, if non-NULL,
 * a malloc'd copy of the last fail() detail or NULL.
 */
hoist_status hpt_converge(hpt_host *h, hoist_op_fn fn, void *prov, const hoist_resource *r,
                          hoist_result *out, int max_polls, char **err);
void hpt_result_clear(hoist_result *out);

#ifdef ck_assert_msg
/* Assert @got == @want and show both names and @ctx's detail otherwise. */
#define hpt_assert_status(got, want, ctx)                                                      \
    ck_assert_msg((got) == (want), "status %s, expected %s (%s)", hpt_status_name(got),        \
                  hpt_status_name(want), hpt_ctx_error(ctx) ? hpt_ctx_error(ctx) : "no detail")
#endif

#ifdef __cplusplus
}
#endif
#endif
