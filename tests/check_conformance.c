/*
 * check_conformance.c - hoist-conformance passes a correct driver and fails
 * each deliberately broken one (tests/broken/) on exactly the checks its
 * flaw breaks, with a message that says what is wrong.
 */
#include "testutil.h"

static char *tool;   /* the hoist-conformance binary */
static char *broken; /* the directory of the broken drivers */

/* Run the tool on @args; *out gets its output; returns the exit status. */
static int conf_run(const char *args, char **out)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", tool, args);
    return tu_run(cmd, out);
}

/* The names of the FAIL lines in @out, sorted, comma-separated (caller frees). */
static char *conf_failures(const char *out)
{
    char *names[256];
    size_t n = 0;
    for (const char *p = out; p && *p && n < 256;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 5 && strncmp(p, "FAIL ", 5) == 0) {
            const char *colon = memchr(p, ':', len);
            ck_assert_ptr_nonnull(colon);
            names[n++] = strndup(p + 5, (size_t)(colon - p - 5));
        }
        p = eol ? eol + 1 : p + len;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    char *s = calloc(1, 8192);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, ",");
        strncat(s, names[i], 8192 - strlen(s) - 2);
        free(names[i]);
    }
    return s;
}

/* Run the broken driver @name; assert exit 1, exactly @fails, and @msg. */
static void expect_broken(const char *name, const char *fails, const char *msg)
{
    char args[4096], *out;
    snprintf(args, sizeof args, "--provider-dir '%s' %s", broken, name);
    int rc = conf_run(args, &out);
    char *got = conf_failures(out);
    ck_assert_msg(rc == 1, "%s: exit %d, expected 1\n%s", name, rc, out);
    ck_assert_msg(strcmp(got, fails) == 0, "%s: failed checks\n  %s\nexpected\n  %s\n%s", name, got,
                  fails, out);
    ck_assert_msg(strstr(out, msg) != NULL, "%s: no \"%s\" in\n%s", name, msg, out);
    free(got);
    free(out);
}

START_TEST(null_driver_passes)
{
    char args[4096], *out;
    snprintf(args, sizeof args, "'%s/providers/null/null.la'", getenv("HOIST_MODDIR"));
    int rc = conf_run(args, &out);
    ck_assert_msg(rc == 0, "exit %d\n%s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "PASS network.ensure.idempotent: same id"));
    ck_assert_ptr_nonnull(strstr(out, "PASS database.connection: "));
    ck_assert_ptr_nonnull(strstr(out, "PASS parallel.ensure: 20 resources"));
    ck_assert_ptr_nonnull(strstr(out, "PASS cancel.ensure: "));
    ck_assert_ptr_nonnull(strstr(out, "PASS app.observe.gone: NOTFOUND"));
    ck_assert_ptr_nonnull(strstr(out, "PASS descriptor.settings: 8 keys: dir, latency_ms, "));
    /* null has no conformance_fail hook: skipped with the reason, not passed. */
    ck_assert_ptr_nonnull(strstr(out, "SKIP database.errors.injected: the driver ignores"));
    ck_assert_ptr_nonnull(strstr(out, ", 0 failed, "));
    free(out);
}
END_TEST

START_TEST(null_driver_pending_from_yaml_settings)
{
    char *dir = tu_tmpdir();
    char *yml = tu_write(dir, "s.yml", "polls: 2   # two PENDING answers per object\n");
    char args[8192], *out;
    snprintf(args, sizeof args, "--settings '%s' '%s/providers/null/null.la'", yml,
             getenv("HOIST_MODDIR"));
    int rc = conf_run(args, &out);
    ck_assert_msg(rc == 0, "exit %d\n%s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "PASS cluster.ensure: READY after 2 polls"));
    free(out);
    /* Settings that are not a mapping are a usage error. */
    free(yml);
    yml = tu_write(dir, "bad.json", "[1, 2]");
    snprintf(args, sizeof args, "--settings '%s' null", yml);
    rc = conf_run(args, &out);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(out, "settings must be a mapping"));
    free(out);
    free(yml);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(control_passes)
{
    char args[4096], *out;
    snprintf(args, sizeof args, "--provider-dir '%s' broken_control", broken);
    int rc = conf_run(args, &out);
    ck_assert_msg(rc == 0, "exit %d\n%s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "SKIP registry.credentials: registry not offered"));
    free(out);
}
END_TEST

START_TEST(duplicate_ensure_fails)
{
    expect_broken("broken_dupensure",
                  "cluster.ensure.find_before_create,cluster.ensure.idempotent,"
                  "database.ensure.find_before_create,database.ensure.idempotent,"
                  "network.ensure.find_before_create,network.ensure.idempotent",
                  "FAIL network.ensure.idempotent: a second object: the first ensure returned id "
                  "\"network-1\", this one \"network-2\"");
}
END_TEST

START_TEST(observe_gone_ok_fails)
{
    expect_broken("broken_goneok",
                  "cluster.observe.gone,cluster.observe.unknown,database.observe.gone,"
                  "database.observe.unknown,network.observe.gone,network.observe.unknown",
                  "FAIL network.observe.gone: observe after destroy returned HOIST_OK; an object that "
                  "is gone is HOIST_E_NOTFOUND");
}
END_TEST

START_TEST(observe_gone_internal_fails)
{
    expect_broken("broken_goneinternal",
                  "cluster.observe.gone,cluster.observe.unknown,database.observe.gone,"
                  "database.observe.unknown,network.observe.gone,network.observe.unknown",
                  "FAIL database.observe.gone: observe after destroy returned HOIST_E_INTERNAL (lookup of "
                  "main failed); an object that is gone is HOIST_E_NOTFOUND");
}
END_TEST

START_TEST(empty_endpoint_fails)
{
    expect_broken("broken_noendpoint", "cluster.credentials",
                  "FAIL cluster.credentials: endpoint is empty: it must be https://HOST[:PORT]");
}
END_TEST

START_TEST(missing_password_fails)
{
    expect_broken("broken_nopassword", "database.connection",
                  "FAIL database.connection: password is missing: applications need host, port, "
                  "user, password and database");
}
END_TEST

/* ABI 1.3: a malformed settings schema is reported, naming the entry. */
START_TEST(bad_settings_fails)
{
    expect_broken("broken_badsettings", "descriptor.settings",
                  "FAIL descriptor.settings: entry 2: 'dir' is declared twice");
}
END_TEST

START_TEST(unknown_driver_and_usage)
{
    char args[4096], *out;
    snprintf(args, sizeof args, "--provider-dir '%s' no_such_driver", broken);
    int rc = conf_run(args, &out);
    ck_assert_int_eq(rc, 1);
    ck_assert_ptr_nonnull(strstr(out, "FAIL load: provider 'no_such_driver' not found"));
    free(out);
    rc = conf_run("", &out);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(out, "usage: hoist-conformance DRIVER"));
    free(out);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("conformance");
    TCase *t = tcase_create("conformance");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, null_driver_passes);
    tcase_add_test(t, null_driver_pending_from_yaml_settings);
    tcase_add_test(t, control_passes);
    tcase_add_test(t, duplicate_ensure_fails);
    tcase_add_test(t, observe_gone_ok_fails);
    tcase_add_test(t, observe_gone_internal_fails);
    tcase_add_test(t, empty_endpoint_fails);
    tcase_add_test(t, missing_password_fails);
    tcase_add_test(t, bad_settings_fails);
    tcase_add_test(t, unknown_driver_and_usage);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    const char *b = getenv("HOIST_BUILDDIR"), *m = getenv("HOIST_MODDIR");
    if (!b || !m) {
        fprintf(stderr, "run through make check (HOIST_BUILDDIR and HOIST_MODDIR are set there)\n");
        return 77;
    }
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/tools/hoist-conformance/hoist-conformance", b);
    tool = strdup(buf);
    snprintf(buf, sizeof buf, "%s/tests/broken", m);
    broken = strdup(buf);
    int rc = tu_main(suite());
    free(tool);
    free(broken);
    return rc;
}
