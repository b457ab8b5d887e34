/*
 * fuzz_registry.c - the registry client's parsers: WWW-Authenticate
 * challenges (hoist_www_authenticate_parse) and image references
 * (hoist_image_ref_parse), plus the base URL derived from a host.
 * The first byte selects the parser so each gets its own corpus seeds.
 */
#include "fuzz.h"

#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = fuzz_cstr(data + 1, size - 1);
    if (data[0] & 1) {
        char *scheme = NULL;
        json_t *params = NULL;
        if (hoist_www_authenticate_parse(s, &scheme, &params) == 0) {
            /* What the token fetch reads next. */
            (void)json_string_value(json_object_get(params, "realm"));
            (void)json_string_value(json_object_get(params, "scope"));
        }
        free(scheme);
        json_decref(params);
    } else {
        hoist_image_ref r;
        char *err = NULL;
        if (hoist_image_ref_parse(s, &r, &err) == 0) {
            (void)hoist_image_ref_reference(&r);
            free(hoist_registry_base_url(r.registry));
            hoist_image_ref_free(&r);
        }
        free(err);
        free(hoist_registry_base_url(s));
    }
    free(s);
    return 0;
}
