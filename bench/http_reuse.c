/*
 * http_reuse - requests per second through hoist_http on loopback, with
 * connection reuse (the default) and with a new connection per request.
 * Usage: bench/http_reuse [N]   (N requests per mode, default 2000)
 * Not part of make check.
 */
#include "host.h"
#include "http.h"
#include "log.h"
#include "util.h"
#include "../tests/testhttpd.h"

static double run(th_server *s, int n, int reuse)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/bench", s->port);
    hoist_http_set_reuse(reuse);
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, "bench");
    hoist_http_request r = {.struct_size = sizeof r, .method = "GET", .url = url,
                            .flags = HOIST_HTTP_ALLOW_PLAIN_LOOPBACK, .operation = "bench"};
    long long t0 = hoist_now_ms();
    for (int i = 0; i < n; i++) {
        hoist_http_response resp;
        if (hoist_http(&ctx, &r, &resp) != HOIST_OK || resp.status != 200) {
            fprintf(stderr, "http_reuse: request %d failed: %s\n", i,
                    hoist_ctx_error(&ctx) ? hoist_ctx_error(&ctx) : "bad status");
            exit(1);
        }
        hoist_http_response_free(&resp);
    }
    long long ms = hoist_now_ms() - t0;
    hoist_ctx_cleanup(&ctx);
    return n * 1000.0 / (double)(ms ? ms : 1);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    th_server s;
    th_step ok = {.status = 200, .body = "{\"ok\":true}"};
    if (th_start(&s, NULL, NULL) != 0) {
        fprintf(stderr, "http_reuse: cannot start the loopback server\n");
        return 1;
    }
    th_script(&s, &ok, 1);
    run(&s, 50, 1); /* warm-up */
    double fresh = run(&s, n, 0);
    double reused = run(&s, n, 1);
    int hits = th_hits(&s);
    th_stop(&s);
    if (hits != 2 * n + 50) { /* every request reached the server once */
        fprintf(stderr, "http_reuse: server saw %d requests, expected %d\n", hits, 2 * n + 50);
        return 1;
    }
    printf("requests: %d per mode, loopback HTTP/1.1\n", n);
    printf("new connection per request: %.0f req/s\n", fresh);
    printf("connection reuse:           %.0f req/s\n", reused);
    printf("ratio (reuse / new):        %.2fx\n", reused / fresh);
    return 0;
}
