/*
 * check_kit.c - hoist/kit.h, the drivers' header-only helpers: allocation,
 * the growable buffer, FNV-1a against the published test vectors, and
 * hoist_kit_name: names that fit are exactly what the drivers produced
 * before the kit, long names stay within the limit and never collide.
 */
#include <hoist/kit.h>

#include <errno.h>
#include <pthread.h>

#include "testutil.h"

/* The case from issue 24: a 40-character project and this environment made
   DigitalOcean's 63-character cut give `orders` and `billing` one name. */
#define LONG_PROJECT "northwind-traders-inventory-platform-v2x"
#define LONG_ENV "production-eu-west-2a"

static void name_is(char *got, const char *want)
{
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_alloc)
{
    char *s = hoist_kit_xstrdup("abc");
    ck_assert_str_eq(s, "abc");
    free(s);
    ck_assert_ptr_null(hoist_kit_xstrdup(NULL));
    free(hoist_kit_xmalloc(0)); /* a valid pointer, not NULL */
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s = hoist_kit_xasprintf("%s|%d|%s", big, 42, "end");
    ck_assert_uint_eq(strlen(s), sizeof big - 1 + 7);
    ck_assert_str_eq(s + sizeof big - 1, "|42|end");
    free(s);
}
END_TEST

START_TEST(test_buf)
{
    hoist_kit_buf b = {0};
    hoist_kit_buf_add(&b, "", 0);
    ck_assert_str_eq(b.s, ""); /* NUL-terminated once anything was added */
    for (int i = 0; i < 1000; i++)
        hoist_kit_buf_printf(&b, "%d,", i % 10);
    ck_assert_uint_eq(b.len, 2000);
    ck_assert_uint_eq(strlen(b.s), 2000);
    ck_assert(strncmp(b.s, "0,1,2,", 6) == 0);
    hoist_kit_buf_add(&b, "a\0b", 3); /* binary data keeps its NUL */
    ck_assert_uint_eq(b.len, 2003);
    ck_assert_int_eq(memcmp(b.s + 2000, "a\0b", 4), 0);
    hoist_kit_buf_puts(&b, "!");
    ck_assert_str_eq(b.s + 2002, "b!");
    ck_assert_uint_ge(b.cap, b.len + 1);
    free(b.s);
}
END_TEST

/* Each thread gets its own text: the point of the helper. */
static void *strerror_in_thread(void *arg)
{
    (void)arg;
    return (void *)hoist_kit_strerror(EACCES);
}

START_TEST(test_strerror)
{
    const char *mine = hoist_kit_strerror(ENOENT);
    ck_assert_str_eq(mine, "No such file or directory");
    pthread_t t;
    void *theirs = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, strerror_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &theirs), 0);
    ck_assert_str_eq((const char *)theirs, "Permission denied");
    ck_assert_str_eq(mine, "No such file or directory"); /* not overwritten */
    ck_assert_ptr_nonnull(hoist_kit_strerror(-12345));
}
END_TEST

START_TEST(test_fnv)
{
    /* Published FNV-1a vectors (Fowler, Noll, Vo). */
    ck_assert_uint_eq(hoist_kit_fnv1a(HOIST_KIT_FNV64_INIT, "", 0), 0xcbf29ce484222325ULL);
    ck_assert_uint_eq(hoist_kit_fnv1a(HOIST_KIT_FNV64_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
    ck_assert_uint_eq(hoist_kit_fnv1a(HOIST_KIT_FNV64_INIT, "foobar", 6), 0x85944171f73967e8ULL);
    /* Fed piece by piece, the same digest. */
    uint64_t h = hoist_kit_fnv1a(HOIST_KIT_FNV64_INIT, "foo", 3);
    ck_assert_uint_eq(hoist_kit_fnv1a(h, "bar", 3), 0x85944171f73967e8ULL);
    char hex[9];
    hoist_kit_hash8("", hex);
    ck_assert_str_eq(hex, "811c9dc5");
    hoist_kit_hash8("a", hex);
    ck_assert_str_eq(hex, "e40c292c");
    hoist_kit_hash8("foobar", hex);
    ck_assert_str_eq(hex, "bf9cf968");
}
END_TEST

/* Names that fit: what aws_name, do_name and scw_name gave before the kit
   (existing deployments are found by these names). */
START_TEST(test_name_fits_unchanged)
{
    /* aws_name(project "Shop_1", env "prod.eu", "db") */
    name_is(hoist_kit_name(63, 0, "Shop_1", "prod.eu", "db", NULL), "shop-1-prod-eu-db");
    /* aws_name without a suffix */
    name_is(hoist_kit_name(100, 0, "shop", "staging", NULL), "shop-staging");
    /* do_name: trailing dashes dropped; an empty part adds nothing */
    name_is(hoist_kit_name(63, HOIST_KIT_NAME_NO_END_DASH, "Shop_1", "staging", "db_", NULL),
            "shop-1-staging-db");
    name_is(hoist_kit_name(200, HOIST_KIT_NAME_NO_END_DASH, "shop", "staging", "", NULL),
            "shop-staging");
    /* scw_name */
    name_is(hoist_kit_name(54, 0, "hoist", "shop", "staging", "api-1a2b3c4d", NULL),
            "hoist-shop-staging-api-1a2b3c4d");
    name_is(hoist_kit_name(255, 0, "hoist", LONG_PROJECT, LONG_ENV, "orders", NULL),
            "hoist-" LONG_PROJECT "-" LONG_ENV "-orders");
    /* exactly at the limit: kept whole */
    name_is(hoist_kit_name(12, 0, "shop", "staging", NULL), "shop-staging");
    name_is(hoist_kit_name(63, 0, NULL), "");
}
END_TEST

/* Scaleway already hashed on truncation: its long names must not move. */
START_TEST(test_name_scaleway_long_unchanged)
{
    name_is(hoist_kit_name(63, 0, "hoist", LONG_PROJECT, LONG_ENV, NULL),
            "hoist-northwind-traders-inventory-platform-v2x-product-f835ad95");
}
END_TEST

START_TEST(test_name_long_distinct)
{
    unsigned f = HOIST_KIT_NAME_NO_END_DASH;
    char *a = hoist_kit_name(63, f, LONG_PROJECT, LONG_ENV, "orders", NULL);
    char *b = hoist_kit_name(63, f, LONG_PROJECT, LONG_ENV, "billing", NULL);
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strlen(a), 63);
    ck_assert_uint_eq(strlen(b), 63);
    /* a readable prefix, then '-' and 8 hex digits */
    ck_assert(strncmp(a, LONG_PROJECT "-" LONG_ENV, 53) == 0);
    ck_assert_int_eq(a[54], '-');
    ck_assert_uint_eq(strspn(a + 55, "0123456789abcdef"), 8);
    /* deterministic */
    char *a2 = hoist_kit_name(63, f, LONG_PROJECT, LONG_ENV, "orders", NULL);
    ck_assert_str_eq(a, a2);
    free(a);
    free(a2);
    free(b);

    /* Many names differing only past the cut: no two alike, none too long.
       (Counted, then asserted once: each ck_assert is a message to Check.) */
    enum { N = 500 };
    char *seen[N];
    int too_long = 0, alike = 0;
    for (int i = 0; i < N; i++) {
        char tail[32];
        snprintf(tail, sizeof tail, "db%d", i);
        seen[i] = hoist_kit_name(40, f, LONG_PROJECT, LONG_ENV, tail, NULL);
        too_long += strlen(seen[i]) > 40;
        for (int j = 0; j < i; j++)
            alike += strcmp(seen[i], seen[j]) == 0;
    }
    ck_assert_int_eq(too_long, 0);
    ck_assert_int_eq(alike, 0);
    for (int i = 0; i < N; i++)
        free(seen[i]);
}
END_TEST

/* RDS identifiers: at most 63, no "--", no trailing '-', even when cut. */
START_TEST(test_name_rds_rules)
{
    unsigned f = HOIST_KIT_NAME_NO_END_DASH | HOIST_KIT_NAME_NO_DOUBLE_DASH;
    name_is(hoist_kit_name(63, f, "shop", "prod", "main", NULL), "shop-prod-main");
    name_is(hoist_kit_name(63, f, "a--b", "x_", NULL), "a-b-x");
    /* the cut lands right after a '-': it is not doubled before the hash */
    char *s = hoist_kit_name(20, f, "abcdefghij", "k", "lmnopqrstuvwxyz", NULL);
    ck_assert_uint_le(strlen(s), 20);
    ck_assert_ptr_null(strstr(s, "--"));
    ck_assert(strncmp(s, "abcdefghij-", 11) == 0);
    ck_assert_int_ne(s[strlen(s) - 1], '-');
    free(s);
    /* without the flags the same cut keeps Scaleway's shape */
    s = hoist_kit_name(20, 0, "abcdefghij", "k", "lmnopqrstuvwxyz", NULL);
    ck_assert(strncmp(s + 10, "--", 2) == 0);
    free(s);
}
END_TEST

START_TEST(test_name_tiny_limit)
{
    name_is(hoist_kit_name(5, 0, "abcdef", "ghi", NULL), "abcde");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kit");
    TCase *tc = tcase_create("kit");
    tcase_add_test(tc, test_alloc);
    tcase_add_test(tc, test_buf);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_fnv);
    tcase_add_test(tc, test_name_fits_unchanged);
    tcase_add_test(tc, test_name_scaleway_long_unchanged);
    tcase_add_test(tc, test_name_long_distinct);
    tcase_add_test(tc, test_name_rds_rules);
    tcase_add_test(tc, test_name_tiny_limit);
    suite_add_tcase(s, tc);
    return tu_main(s);
}
