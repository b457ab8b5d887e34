/*
 * fuzz_errors.c - the HTTP error mapping drivers rely on: a fuzzed status
 * and body (DigitalOcean {"id","message"}, Scaleway {"type","message"},
 * AWS JSON {"__type","message"}, XML) through hoist_service_error,
 * hoist_http_error (the one report a driver makes of a failed answer) and
 * the trace masking of bodies (hoist_mask_secrets).
 * Input: 2 bytes of HTTP status (big-endian, modulo 600), then the body.
 */
#include "fuzz.h"

#include "host.h"
#include "http.h"
#include "xmlutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    long status = ((long)data[0] << 8 | data[1]) % 600;
    char *body = fuzz_cstr(data + 2, size - 2);
    hoist_http_response resp = {.struct_size = sizeof resp, .status = status, .body = body,
                                .body_len = size - 2, .attempts = 1};
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, "fuzz");
    (void)hoist_http_error(&ctx, &resp, "GET /v2/droplets");
    (void)hoist_ctx_error(&ctx);
    hoist_ctx_cleanup(&ctx);
    char *code = NULL, *msg = NULL;
    (void)hoist_service_error(body, size - 2, &code, &msg);
    (void)hoist_error_code_status(code ? code : body);
    free(code);
    free(msg);
    free(hoist_mask_secrets(body, size - 2, 4096));
    free(body);
    return 0;
}
