/*
 * check_example.c - unit tests of the example driver with hoist's mock
 * host (libhoist-providertest): no hoist process, no loader.  The driver's
 * sources are linked in; its entry symbol gives the descriptor.
 */
#include <check.h>
#include <hoist/providertest.h>
#include <stdlib.h>

#include "../tmpl.h"

const hoist_provider_descriptor *example_LTX_hoist_provider_entry(void);

START_TEST(database_lifecycle)
{
    hpt_host *h = hpt_host_new();
    hoist_ctx *ctx = hpt_ctx_new(h);
    json_t *settings = json_pack("{s:i}", "pending_polls", 2);
    void *prov;
    const hoist_provider_ops *ops;
    const hoist_provider_descriptor *d = example_LTX_hoist_provider_entry();
    hoist_status st = d->init(hpt_host_table(h), ctx, settings, &prov, &ops);
    hpt_assert_status(st, HOIST_OK, ctx);

    json_t *spec = json_pack("{s:s}", "engine", "postgresql"), *needs = json_object();
    hoist_resource r = {.struct_size = sizeof r, .project = "shop", .env = "dev", .name = "main",
                        .spec = spec, .needs = needs};
    hoist_result out;
    /* PENDING twice, then READY: the poll count comes from pending_polls. */
    st = hpt_converge(h, ops->database->ensure, prov, &r, &out, 10, NULL);
    ck_assert_int_eq(st, HOIST_OK);
    const char *pw = json_string_value(json_object_get(out.secrets, "password"));
    ck_assert_ptr_nonnull(pw);
    ck_assert(hpt_is_secret(h, pw));
    ck_assert_ptr_null(json_object_get(out.outputs, "password"));
    hpt_result_clear(&out);

    /* An engine the cloud does not offer is refused with a detail. */
    json_object_set_new(spec, "engine", json_string("oracle"));
    hoist_ctx *c2 = hpt_ctx_new(h);
    hoist_result o2 = {.struct_size = sizeof o2};
    st = ops->database->ensure(prov, c2, &r, &o2);
    hpt_assert_status(st, HOIST_E_UNSUPPORTED, c2);
    ck_assert_ptr_nonnull(hpt_ctx_error(c2));
    hpt_ctx_free(c2);

    json_object_set_new(spec, "engine", json_string("postgresql"));
    st = hpt_converge(h, ops->database->destroy, prov, &r, &out, 10, NULL);
    ck_assert_int_eq(st, HOIST_OK);
    hpt_result_clear(&out);

    d->fini(prov);
    json_decref(spec);
    json_decref(needs);
    json_decref(settings);
    hpt_ctx_free(ctx);
    hpt_host_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("example");
    TCase *t = tcase_create("example");
    tcase_add_test(t, database_lifecycle);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
