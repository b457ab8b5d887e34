/*
 * check_creds.c - credential lookup for AWS, DigitalOcean and Scaleway from
 * hoist.yml settings, environment variables and the clouds' own files
 * (all in a private $HOME).  Each test runs in its own process (Check's
 * fork mode), so environment changes do not leak between tests.
 */
#include "creds.h"
#include "host.h"
#include "log.h"
#include "testutil.h"
#include "util.h"

static char *home;
static hoist_ctx ctx;

static void setup(void)
{
    static const char *vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL", "DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN",
        "DIGITALOCEAN_API_URL", "SCW_ACCESS_KEY", "SCW_SECRET_KEY", "SCW_DEFAULT_PROJECT_ID",
        "SCW_DEFAULT_REGION", "SCW_DEFAULT_ZONE", "SCW_API_URL", "SCW_CONFIG_PATH",
        "SCW_PROFILE", NULL};
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    /* Per-service endpoint variables too, whatever they are. */
    extern char **environ;
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++) {
            if (!strncmp(*e, "AWS_ENDPOINT_URL_", 17)) {
                char *n = hoist_xstrndup(*e, strcspn(*e, "="));
                unsetenv(n);
                free(n);
                again = 1;
                break;
            }
        }
    }
    home = tu_tmpdir();
    setenv("HOME", home, 1);
    hoist_ctx_init(&ctx, NULL, "test");
    hoist_secret_reset();
}

static void teardown(void)
{
    hoist_ctx_cleanup(&ctx);
    tu_rmrf(home);
    free(home);
}

static const char *s(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void write_home(const char *rel, const char *text)
{
    char *dir = hoist_xasprintf("%s/%.*s", home, (int)(strrchr(rel, '/') - rel), rel);
    ck_assert_int_eq(hoist_mkdirs(dir, 0700), 0);
    free(tu_write(home, rel, text));
    free(dir);
}

START_TEST(test_aws_env)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret-key", 1);
    setenv("AWS_SESSION_TOKEN", "env-session-token", 1);
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    json_t *o;
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key_id"), "AKIAENV");
    ck_assert_str_eq(s(o, "secret_access_key"), "env-secret-key");
    ck_assert_str_eq(s(o, "session_token"), "env-session-token");
    ck_assert_str_eq(s(o, "region"), "eu-west-1");
    ck_assert_str_eq(s(o, "source"), "environment");
    json_decref(o);
    /* AWS_REGION beats AWS_DEFAULT_REGION; hoist.yml beats both. */
    setenv("AWS_REGION", "eu-west-2", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "region"), "eu-west-2");
    json_decref(o);
    json_t *set = json_pack("{s:s}", "region", "eu-west-3");
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", set, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "region"), "eu-west-3");
    json_decref(o);
    json_decref(set);
    /* Secrets are registered: the log can never show them. */
    char *r = hoist_redact("k=env-secret-key t=env-session-token");
    ck_assert_str_eq(r, "k=*** t=***");
    free(r);
}
END_TEST

START_TEST(test_aws_profiles)
{
    write_home(".aws/credentials", "[default]\naws_access_key_id = AKIADEF\n"
                                   "aws_secret_access_key = def-secret\n\n"
                                   "# comment\n[dev]\naws_access_key_id=AKIADEV\n"
                                   "aws_secret_access_key=dev-secret\n"
                                   "aws_session_token = dev-token\n");
    write_home(".aws/config", "[default]\nregion = us-east-1\n"
                              "[profile dev]\nregion = eu-west-3\n"
                              "s3 =\n  region = ignored\n"
                              "[profile cfgonly]\nregion = ap-south-1\n"
                              "aws_access_key_id = AKIACFG\naws_secret_access_key = cfg-secret\n");
    json_t *o;
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key_id"), "AKIADEF");
    ck_assert_str_eq(s(o, "region"), "us-east-1");
    json_decref(o);
    setenv("AWS_PROFILE", "dev", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key_id"), "AKIADEV");
    ck_assert_str_eq(s(o, "session_token"), "dev-token");
    ck_assert_str_eq(s(o, "region"), "eu-west-3");
    ck_assert_str_eq(s(o, "profile"), "dev");
    ck_assert_ptr_nonnull(strstr(s(o, "source"), "profile dev in "));
    json_decref(o);
    /* hoist.yml's profile wins over AWS_PROFILE; keys may live in config. */
    json_t *set = json_pack("{s:s}", "profile", "cfgonly");
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", set, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key_id"), "AKIACFG");
    ck_assert_str_eq(s(o, "region"), "ap-south-1");
    json_decref(o);
    json_decref(set);
    /* Environment keys beat the profile. */
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key_id"), "AKIAENV");
    json_decref(o);
    /* Files named by the environment. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    char *c = tu_write(home, "other-creds", "[dev]\naws_access_key_id=AKIAOTHER\n"
                                            "aws_secret_access_key=other-secret\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", c, 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key_id"), "AKIAOTHER");
    json_decref(o);
    free(c);
    char *r = hoist_redact("other-secret dev-token");
    ck_assert_str_eq(r, "*** ***");
    free(r);
}
END_TEST

START_TEST(test_aws_missing)
{
    json_t *o;
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_E_AUTH);
    ck_assert_ptr_null(o);
    const char *e = hoist_ctx_error(&ctx);
    /* One message, every place looked. */
    ck_assert_ptr_nonnull(strstr(e, "no AWS credentials found"));
    ck_assert_ptr_nonnull(strstr(e, "hoist.yml"));
    ck_assert_ptr_nonnull(strstr(e, "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"));
    char *p = hoist_xasprintf("%s/.aws/credentials [default] (no such file)", home);
    ck_assert_ptr_nonnull(strstr(e, p));
    free(p);
    p = hoist_xasprintf("%s/.aws/config [default] (no such file)", home);
    ck_assert_ptr_nonnull(strstr(e, p));
    free(p);
    /* Partial credentials are named. */
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, NULL, "test");
    setenv("AWS_ACCESS_KEY_ID", "AKIAONLY", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_E_AUTH);
    ck_assert_ptr_nonnull(
        strstr(hoist_ctx_error(&ctx), "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"));
    /* An unknown profile is named. */
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, NULL, "test");
    setenv("AWS_PROFILE", "nope", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "aws profile 'nope' not found"));
    /* Keys but no region. */
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, NULL, "test");
    unsetenv("AWS_PROFILE");
    setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", NULL, &o), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "no AWS region"));
}
END_TEST

START_TEST(test_aws_endpoints)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
    setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:5000", 1);
    setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "http://127.0.0.1:5001", 1);
    json_t *set = json_pack("{s:{s:s, s:s}}", "endpoints", "sts", "http://127.0.0.1:6000", "ec2",
                            "http://127.0.0.1:6001");
    json_t *o;
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", set, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "endpoint_url"), "http://127.0.0.1:4566");
    json_t *eps = json_object_get(o, "endpoints");
    ck_assert_str_eq(s(eps, "ec2"), "http://127.0.0.1:6001"); /* hoist.yml wins */
    ck_assert_str_eq(s(eps, "sts"), "http://127.0.0.1:6000");
    ck_assert_str_eq(s(eps, "elastic-load-balancing-v2"), "http://127.0.0.1:5001");
    json_decref(o);
    json_decref(set);
    /* hoist.yml keys beat the environment. */
    set = json_pack("{s:s, s:s, s:s}", "access_key_id", "AKIAYML", "secret_access_key",
                    "yml-secret", "endpoint", "https://sim.local");
    ck_assert_int_eq(hoist_credentials(&ctx, "aws", set, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key_id"), "AKIAYML");
    ck_assert_str_eq(s(o, "source"), "hoist.yml");
    ck_assert_str_eq(s(o, "endpoint_url"), "https://sim.local");
    json_decref(o);
    json_decref(set);
}
END_TEST

START_TEST(test_digitalocean)
{
    json_t *o;
    ck_assert_int_eq(hoist_credentials(&ctx, "digitalocean", NULL, &o), HOIST_E_AUTH);
    const char *e = hoist_ctx_error(&ctx);
    ck_assert_ptr_nonnull(strstr(e, "DIGITALOCEAN_TOKEN"));
    ck_assert_ptr_nonnull(strstr(e, "DIGITALOCEAN_ACCESS_TOKEN"));
    ck_assert_ptr_nonnull(strstr(e, "hoist.yml"));
    setenv("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_access", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "digitalocean", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "token"), "dop_v1_access");
    ck_assert_str_eq(s(o, "api_url"), "https://api.digitalocean.com");
    json_decref(o);
    setenv("DIGITALOCEAN_TOKEN", "dop_v1_token", 1);
    setenv("DIGITALOCEAN_API_URL", "http://127.0.0.1:4010", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "digitalocean", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "token"), "dop_v1_token");
    ck_assert_str_eq(s(o, "api_url"), "http://127.0.0.1:4010");
    json_decref(o);
    char *r = hoist_redact("dop_v1_token dop_v1_access");
    ck_assert_str_eq(r, "*** ***");
    free(r);
}
END_TEST

START_TEST(test_scaleway)
{
    write_home(".config/scw/config.yaml",
               "access_key: SCWTOPLEVEL\nsecret_key: top-secret-uuid\n"
               "default_project_id: proj-top\ndefault_zone: nl-ams-2\n"
               "active_profile: work\n"
               "profiles:\n  work:\n    access_key: SCWWORK\n    secret_key: work-secret-uuid\n"
               "  other:\n    default_project_id: proj-other\n    default_region: pl-waw\n"
               "    api_url: http://127.0.0.1:4011\n");
    json_t *o;
    ck_assert_int_eq(hoist_credentials(&ctx, "scaleway", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key"), "SCWWORK");       /* active profile */
    ck_assert_str_eq(s(o, "secret_key"), "work-secret-uuid");
    ck_assert_str_eq(s(o, "project_id"), "proj-top");      /* top level fills the gaps */
    ck_assert_str_eq(s(o, "zone"), "nl-ams-2");
    ck_assert_str_eq(s(o, "region"), "nl-ams");            /* from the zone */
    ck_assert_str_eq(s(o, "api_url"), "https://api.scaleway.com");
    json_decref(o);
    setenv("SCW_PROFILE", "other", 1);
    setenv("SCW_SECRET_KEY", "env-secret-uuid", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "scaleway", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "access_key"), "SCWTOPLEVEL");
    ck_assert_str_eq(s(o, "secret_key"), "env-secret-uuid");
    ck_assert_str_eq(s(o, "project_id"), "proj-other");
    ck_assert_str_eq(s(o, "region"), "pl-waw");
    ck_assert_str_eq(s(o, "zone"), "nl-ams-2");
    ck_assert_str_eq(s(o, "api_url"), "http://127.0.0.1:4011");
    json_decref(o);
    char *r = hoist_redact("env-secret-uuid");
    ck_assert_str_eq(r, "***");
    free(r);
    /* Unknown profile, then an incomplete set. */
    setenv("SCW_PROFILE", "ghost", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "scaleway", NULL, &o), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "'ghost'"));
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, NULL, "test");
    unsetenv("SCW_PROFILE");
    char *p = hoist_xasprintf("%s/none.yaml", home);
    setenv("SCW_CONFIG_PATH", p, 1);
    setenv("SCW_ACCESS_KEY", "SCWX", 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "scaleway", NULL, &o), HOIST_E_AUTH);
    const char *e = hoist_ctx_error(&ctx);
    ck_assert_ptr_nonnull(strstr(e, "missing project_id (SCW_DEFAULT_PROJECT_ID)"));
    ck_assert_ptr_null(strstr(e, "missing secret_key"));
    ck_assert_ptr_nonnull(strstr(e, p));
    free(p);
    /* Malformed YAML is reported with its place. */
    hoist_ctx_cleanup(&ctx);
    hoist_ctx_init(&ctx, NULL, "test");
    p = tu_write(home, "bad.yaml", "a: [1, 2\nb: c\n");
    setenv("SCW_CONFIG_PATH", p, 1);
    ck_assert_int_eq(hoist_credentials(&ctx, "scaleway", NULL, &o), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "invalid YAML"));
    free(p);
}
END_TEST

START_TEST(test_host_table)
{
    const hoist_host *h = hoist_host_table();
    ck_assert_int_eq(h->abi_minor, HOIST_ABI_MINOR);
    ck_assert(HOIST_HOST_HAS(h, credentials));
    ck_assert(HOIST_HOST_HAS(h, http));
    ck_assert(HOIST_HOST_HAS(h, xml_free));
    setenv("DIGITALOCEAN_TOKEN", "dop_v1_host", 1);
    json_t *o;
    ck_assert_int_eq(h->credentials(&ctx, "digitalocean", NULL, &o), HOIST_OK);
    ck_assert_str_eq(s(o, "token"), "dop_v1_host");
    json_decref(o);
    ck_assert_int_eq(h->credentials(&ctx, "azure", NULL, &o), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "'azure'"));
    /* The EKS token through the host is registered as a secret. */
    hoist_sigv4_spec spec = {sizeof spec, "sts", "us-east-1", "AKID", "secret-key-1", NULL, 0};
    char *tok;
    ck_assert_int_eq(h->eks_token(&ctx, &spec, "c1", NULL, &tok), HOIST_OK);
    char *r = hoist_redact(tok);
    ck_assert_str_eq(r, "***");
    free(r);
    free(tok);
    char *u;
    ck_assert_int_eq(h->sigv4_presign(&ctx, &spec, "GET", "https://b.example/k?a=1", 300, &u),
                     HOIST_OK);
    ck_assert_ptr_nonnull(strstr(u, "https://b.example/k?a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
    ck_assert_ptr_nonnull(strstr(u, "X-Amz-Expires=300"));
    free(u);
}
END_TEST

static Suite *suite(void)
{
    Suite *su = suite_create("creds");
    TCase *tc = tcase_create("creds");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_aws_env);
    tcase_add_test(tc, test_aws_profiles);
    tcase_add_test(tc, test_aws_missing);
    tcase_add_test(tc, test_aws_endpoints);
    tcase_add_test(tc, test_digitalocean);
    tcase_add_test(tc, test_scaleway);
    tcase_add_test(tc, test_host_table);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    return tu_main(suite());
}
