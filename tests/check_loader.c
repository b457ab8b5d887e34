/*
 * check_loader.c - the provider loader against real, crafted modules
 * (tests/fake/, one ABI rule broken per module), hostile files and
 * directories, the search path, and the in-tree null driver.
 */
#include "host.h"
#include "loader.h"
#include "log.h"
#include "testutil.h"

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/stat.h>

static const char *builddir(void)
{
    const char *b = getenv("HOIST_BUILDDIR");
    return b && *b ? b : HOIST_BUILDDIR;
}

/*
 * A new string "<moddir>/<rel>": the copies of the built modules that make
 * check puts in directories only their owner can write (tests/tests.mk).
 */
static char *mod_path(const char *rel)
{
    const char *m = getenv("HOIST_MODDIR");
    char *p = malloc(4096);
    if (m && *m)
        snprintf(p, 4096, "%s/%s", m, rel);
    else
        snprintf(p, 4096, "%s/tests/modules/%s", builddir(), rel);
    return p;
}

static char *join(const char *a, const char *b)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", a, b);
    return p;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return strdup("");
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void copy_file(const char *src, const char *dst, mode_t mode)
{
    FILE *in = fopen(src, "rb");
    ck_assert_msg(in != NULL, "cannot open %s: %s (is make check building tests/fake?)", src,
                  strerror(errno));
    FILE *out = fopen(dst, "wb");
    ck_assert_ptr_nonnull(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    ck_assert_int_eq(chmod(dst, mode), 0);
}

/* Make @dir (mode @mode, chmod'ed so the umask does not interfere). */
static char *make_dir(const char *parent, const char *name, mode_t mode)
{
    char *d = join(parent, name);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    ck_assert_int_eq(chmod(d, mode), 0);
    return d;
}

/* Copy the good module's shared object into @dir as fake_good.so. */
static char *put_good_so(const char *dir, mode_t mode)
{
    char *src = mod_path("tests/fake/.libs/fake_good.so");
    char *dst = join(dir, "fake_good.so");
    copy_file(src, dst, mode);
    free(src);
    return dst;
}

/* Assert that @hay contains every NULL-terminated string after it. */
static void assert_has(const char *hay, ...)
{
    va_list ap;
    va_start(ap, hay);
    const char *needle;
    while ((needle = va_arg(ap, const char *)))
        ck_assert_msg(hay && strstr(hay, needle), "expected \"%s\" in: %s", needle,
                      hay ? hay : "(null)");
    va_end(ap);
}

/* Open @name from @dir alone and expect a refusal; returns the message. */
static char *refuse_from(const char *dir, const char *name, hoist_status want)
{
    unsetenv("HOIST_PROVIDER_PATH");
    hoist_loader *l = hoist_loader_new(dir);
    hoist_driver *d = (hoist_driver *)1;
    char *err = NULL;
    hoist_status st = hoist_loader_open(l, name, &d, &err);
    ck_assert_msg(st == want, "%s: status %d (%s), want %d; message: %s", name, st,
                  hoist_status_name(st), want, err ? err : "(none)");
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(err);
    hoist_loader_free(l);
    return err;
}

/* Open @name from the crafted modules' directory; must succeed. */
static hoist_driver *open_fake(const char *name)
{
    char *dir = mod_path("tests/fake");
    unsetenv("HOIST_PROVIDER_PATH");
    hoist_loader *l = hoist_loader_new(dir);
    hoist_driver *d = NULL;
    char *err = NULL;
    hoist_status st = hoist_loader_open(l, name, &d, &err);
    ck_assert_msg(st == HOIST_OK, "%s: %s", name, err ? err : "(no message)");
    ck_assert_ptr_null(err);
    hoist_loader_free(l);
    free(dir);
    return d;
}

START_TEST(test_good_module)
{
    char *tmp = tu_tmpdir();
    hoist_driver *d = open_fake("fake_good");
    ck_assert_str_eq(d->name, "fake_good");
    ck_assert_str_eq(d->desc->name, "fake_good");
    ck_assert_str_eq(d->desc->version, "0.0.1");
    ck_assert_str_eq(d->desc->license, "MIT");
    ck_assert_uint_eq(d->desc->abi_major, HOIST_ABI_MAJOR);
    ck_assert_uint_eq(d->desc->struct_size, sizeof(hoist_provider_descriptor));
    char *want_path = mod_path("tests/fake/fake_good.la");
    ck_assert_str_eq(d->path, want_path);
    char *caps = hoist_caps_string(d->desc->caps);
    ck_assert_str_eq(caps, "autoscale,redis");
    free(caps);
    ck_assert_ptr_null(d->ops);

    char *marker = join(tmp, "marker");
    char *state = join(tmp, "state");
    json_t *settings = json_pack("{s:s}", "marker", marker);
    char *err = NULL;
    ck_assert_int_eq(hoist_driver_init(d, settings, state, &err), HOIST_OK);
    ck_assert_ptr_null(err);
    json_decref(settings);
    ck_assert_ptr_nonnull(d->ops);
    ck_assert_ptr_nonnull(d->ops->network);
    ck_assert_ptr_null(d->ops->cluster);

    /* host->state_dir created the directory private to the driver. */
    struct stat st;
    ck_assert_int_eq(stat(state, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);

    hoist_ctx ctx;
    hoist_ctx_init(&ctx, d, "network net1");
    json_t *spec = json_object(), *needs = json_object();
    hoist_resource r = {.struct_size = sizeof r, .project = "p", .env = "dev", .name = "net1",
                        .spec = spec, .needs = needs};
    hoist_result out = {.struct_size = sizeof out};
    ck_assert_int_eq(d->ops->network->ensure(d->prov, &ctx, &r, &out), HOIST_OK);
    ck_assert_str_eq(json_string_value(json_object_get(out.outputs, "id")), "net1");
    json_decref(out.outputs);
    hoist_ctx_cleanup(&ctx);
    json_decref(spec);
    json_decref(needs);

    hoist_driver_free(d);
    /* init saw the state dir; fini ran exactly once, at free. */
    char *log = slurp(marker);
    char *want = malloc(8192);
    snprintf(want, 8192, "init %s\nfini -\n", state);
    ck_assert_str_eq(log, want);
    free(want);
    free(log);
    free(marker);
    free(state);
    free(want_path);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

/* One crafted module per broken descriptor rule, with what the message must say. */
static const struct refusal {
    const char *name;
    const char *why1, *why2;
} refusals[] = {
    {"fake_major", NULL /* computed: built for provider ABI <major+1>.<minor> */,
     "the major version must match"},
    {"fake_minor", "newer than", "upgrade hoist or rebuild"},
    {"fake_noentry", "no entry symbol", "fake_noentry_LTX_hoist_provider_entry"},
    {"fake_misnamed", "calls itself 'impostor'", "file is named 'fake_misnamed'"},
    {"fake_noversion", "has no 'version'", "(required)"},
    {"fake_nolicense", "has no 'license'", "(required)"},
    {"fake_noinit", "has no 'init'", "(required)"},
};

START_TEST(test_descriptor_refused)
{
    const struct refusal *t = &refusals[_i];
    char *dir = mod_path("tests/fake");
    char *err = refuse_from(dir, t->name, HOIST_E_INVALID);
    char file[4200], abi[64];
    snprintf(file, sizeof file, "%s/%s.la", dir, t->name);
    if (strcmp(t->name, "fake_major") == 0)
        snprintf(abi, sizeof abi, "built for provider ABI %d.%d", HOIST_ABI_MAJOR + 1,
                 HOIST_ABI_MINOR);
    else if (strcmp(t->name, "fake_minor") == 0)
        snprintf(abi, sizeof abi, "built for provider ABI %d.%d", HOIST_ABI_MAJOR,
                 HOIST_ABI_MINOR + 1);
    else
        snprintf(abi, sizeof abi, "%s", t->why1);
    /* The message names the file first, then the reason. */
    ck_assert_msg(strncmp(err, file, strlen(file)) == 0, "message does not start with %s: %s",
                  file, err);
    assert_has(err, abi, t->why2, NULL);
    if (t->why1)
        assert_has(err, t->why1, NULL);
    free(err);
    free(dir);
}
END_TEST

/* The major+1 module's message is literally the one users will search for. */
START_TEST(test_major_message_text)
{
    char *dir = mod_path("tests/fake");
    char *err = refuse_from(dir, "fake_major", HOIST_E_INVALID);
    char want[128];
    snprintf(want, sizeof want, "built for provider ABI %d.%d, but this hoist speaks %d.%d",
             HOIST_ABI_MAJOR + 1, HOIST_ABI_MINOR, HOIST_ABI_MAJOR, HOIST_ABI_MINOR);
    assert_has(err, want, NULL);
    free(err);
    free(dir);
}
END_TEST

static const struct init_failure {
    const char *name;
    hoist_status status;
    const char *why;
    int fini_runs; /* the driver allocated a context that the loader must release */
} init_failures[] = {
    {"fake_initfail", HOIST_E_AUTH, "no API token: set FAKE_TOKEN to the account's token", 0},
    {"fake_initsilent", HOIST_E_QUOTA, "failed to initialise: quota exceeded", 0},
    {"fake_noops", HOIST_E_INTERNAL, "init returned no operations table", 1},
};

START_TEST(test_init_refused)
{
    const struct init_failure *t = &init_failures[_i];
    char *tmp = tu_tmpdir();
    char *marker = join(tmp, "marker");
    hoist_driver *d = open_fake(t->name);
    json_t *settings = json_pack("{s:s}", "marker", marker);
    char *err = NULL;
    hoist_status st = hoist_driver_init(d, settings, tmp, &err);
    json_decref(settings);
    ck_assert_int_eq(st, t->status);
    ck_assert_ptr_null(d->ops);
    char who[256];
    snprintf(who, sizeof who, "provider '%s' (", t->name);
    assert_has(err, who, d->path, "failed to initialise: ", t->why, NULL);
    free(err);
    hoist_driver_free(d);
    char *log = slurp(marker);
    char *fini = strstr(log, "fini");
    if (t->fini_runs) {
        ck_assert_msg(fini && !strstr(fini + 1, "fini"), "fini must run exactly once: %s", log);
    } else {
        ck_assert_msg(!fini, "fini must not run after a failed init: %s", log);
    }
    free(log);
    free(marker);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_not_found_lists_dirs)
{
    char *tmp = tu_tmpdir();
    char *b = make_dir(tmp, "b", 0755), *c = make_dir(tmp, "c", 0755);
    char env[8300];
    snprintf(env, sizeof env, "%s::%s:", b, c);
    setenv("HOIST_PROVIDER_PATH", env, 1);
    hoist_loader *l = hoist_loader_new(tmp);
    hoist_driver *d = NULL;
    char *err = NULL;
    ck_assert_int_eq(hoist_loader_open(l, "nope", &d, &err), HOIST_E_NOTFOUND);
    ck_assert_ptr_null(d);
    char l1[4200], l2[4200], l3[4200], l4[4200];
    snprintf(l1, sizeof l1, "\n  %s\n", tmp);
    snprintf(l2, sizeof l2, "\n  %s\n", b);
    snprintf(l3, sizeof l3, "\n  %s\n", c);
    snprintf(l4, sizeof l4, "\n  %s\n", HOIST_PROVIDERDIR);
    assert_has(err, "provider 'nope' not found", "nope.la", "nope.so", l1, l2, l3, l4,
               "--provider-dir", "HOIST_PROVIDER_PATH", NULL);
    /* In search order. */
    ck_assert(strstr(err, l1) < strstr(err, l2));
    ck_assert(strstr(err, l2) < strstr(err, l3));
    ck_assert(strstr(err, l3) < strstr(err, l4));
    free(err);
    ck_assert_int_eq(hoist_loader_exists(l, "nope"), 0);
    hoist_loader_free(l);
    free(b);
    free(c);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_invalid_name)
{
    char *dir = mod_path("tests/fake");
    const char *bad[] = {"../fake/fake_good", "fake_good.la", "", "a b", "x/y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = refuse_from(dir, bad[i], HOIST_E_INVALID);
        assert_has(err, "invalid name", NULL);
        free(err);
    }
    free(dir);
}
END_TEST

START_TEST(test_text_file_refused)
{
    char *tmp = tu_tmpdir();
    char *p = tu_write(tmp, "x.so", "this is not an ELF object\n");
    ck_assert_int_eq(chmod(p, 0644), 0);
    char *err = refuse_from(tmp, "x", HOIST_E_INVALID);
    assert_has(err, p, "not a loadable shared object", NULL);
    free(err);
    free(p);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

/* The copy loads when its permissions are right: the refusals below are about permissions only. */
START_TEST(test_safe_copy_loads)
{
    char *tmp = tu_tmpdir();
    char *dir = make_dir(tmp, "ok", 0755);
    char *so = put_good_so(dir, 0755);
    unsetenv("HOIST_PROVIDER_PATH");
    hoist_loader *l = hoist_loader_new(dir);
    hoist_driver *d = NULL;
    char *err = NULL;
    ck_assert_msg(hoist_loader_open(l, "fake_good", &d, &err) == HOIST_OK, "%s", err);
    ck_assert_str_eq(d->path, so);
    hoist_driver_free(d);
    hoist_loader_free(l);
    free(so);
    free(dir);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

/*
 * Copy the good module into a directory of mode @dir_mode as a file of mode
 * @file_mode; expect a refusal that names the culprit (@file_is_culprit:
 * the file, else the directory), says @why and gives the chmod fix.
 */
static void expect_mode_refusal(mode_t dir_mode, mode_t file_mode, int file_is_culprit,
                                const char *why)
{
    char *tmp = tu_tmpdir();
    char *dir = make_dir(tmp, "mod", dir_mode);
    char *so = put_good_so(dir, file_mode);
    char *err = refuse_from(dir, "fake_good", HOIST_E_AUTH);
    const char *culprit = file_is_culprit ? so : dir;
    char fix[4200];
    snprintf(fix, sizeof fix, "chmod go-w '%s'", culprit);
    assert_has(err, culprit, file_is_culprit ? "from file" : "from directory", why, fix, NULL);
    free(err);
    free(so);
    free(dir);
    tu_rmrf(tmp);
    free(tmp);
}

START_TEST(test_world_writable_dir_refused)
{
    expect_mode_refusal(0777, 0755, 0, "writable by anyone");
    /* Sticky (like /tmp) is not enough: the module must not live where others write. */
    expect_mode_refusal(01777, 0755, 0, "writable by anyone");
    expect_mode_refusal(0775, 0755, 0, "writable by its group");
}
END_TEST

START_TEST(test_group_writable_file_refused)
{
    expect_mode_refusal(0755, 0775, 1, "writable by its group");
    expect_mode_refusal(0755, 0757, 1, "writable by anyone");
}
END_TEST

/* An uninstalled libtool module: the object in .libs/ is vetted too. */
START_TEST(test_la_object_dir_vetted)
{
    char *tmp = tu_tmpdir();
    char *dir = make_dir(tmp, "mod", 0755);
    char *libs = make_dir(dir, ".libs", 0775);
    char *src = mod_path("tests/fake/fake_good.la");
    char *la = join(dir, "fake_good.la");
    copy_file(src, la, 0644);
    char *so = put_good_so(libs, 0755);
    char *err = refuse_from(dir, "fake_good", HOIST_E_AUTH);
    assert_has(err, libs, "writable by its group", NULL);
    free(err);
    /* Fixed as the message says, it loads. */
    ck_assert_int_eq(chmod(libs, 0755), 0);
    hoist_loader *l = hoist_loader_new(dir);
    hoist_driver *d = NULL;
    ck_assert_msg(hoist_loader_open(l, "fake_good", &d, &err) == HOIST_OK, "%s", err);
    hoist_driver_free(d);
    hoist_loader_free(l);
    free(so);
    free(la);
    free(src);
    free(libs);
    free(dir);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

/*
 * An installed .la names its object by libdir, and libltdl opens that one
 * first: the loader must vet that object, not one next to the .la.
 */
START_TEST(test_installed_la_libdir_vetted)
{
    char *tmp = tu_tmpdir();
    char *safe = make_dir(tmp, "safe", 0755);
    char *unsafe = make_dir(tmp, "unsafe", 0777);
    char *so = put_good_so(unsafe, 0755);
    char la_text[8192];
    snprintf(la_text, sizeof la_text,
             "# fake_good.la - a libtool library file\n"
             "dlname='fake_good.so'\nlibrary_names='fake_good.so'\nold_library=''\n"
             "dependency_libs=''\ninstalled=yes\nshouldnotlink=yes\nlibdir='%s'\n",
             unsafe);
    char *la = tu_write(safe, "fake_good.la", la_text);
    ck_assert_int_eq(chmod(la, 0644), 0);
    char *err = refuse_from(safe, "fake_good", HOIST_E_AUTH);
    assert_has(err, unsafe, "writable by anyone", NULL);
    free(err);
    free(la);
    free(so);
    free(safe);
    free(unsafe);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

/* A symlink from a safe directory into an unsafe one is judged by its target. */
START_TEST(test_symlink_target_vetted)
{
    char *tmp = tu_tmpdir();
    char *safe = make_dir(tmp, "safe", 0755);
    char *unsafe = make_dir(tmp, "unsafe", 0775);
    char *so = put_good_so(unsafe, 0755);
    char *link = join(safe, "fake_good.so");
    ck_assert_int_eq(symlink(so, link), 0);
    char *err = refuse_from(safe, "fake_good", HOIST_E_AUTH);
    assert_has(err, unsafe, "writable by its group", NULL);
    free(err);
    free(link);
    free(so);
    free(safe);
    free(unsafe);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_foreign_owner_refused)
{
    if (geteuid() != 0) {
        fprintf(stderr, "# skipped: chown to another uid needs root\n");
        return;
    }
    char *tmp = tu_tmpdir();
    char *dir = make_dir(tmp, "owned", 0755);
    char *so = put_good_so(dir, 0755);
    ck_assert_int_eq(chown(so, 65534, (gid_t)-1), 0);
    char *err = refuse_from(dir, "fake_good", HOIST_E_AUTH);
    assert_has(err, so, "belongs to uid 65534", "chown 0 ", NULL);
    free(err);
    /* The directory's owner counts as well. */
    ck_assert_int_eq(chown(so, 0, (gid_t)-1), 0);
    ck_assert_int_eq(chown(dir, 65534, (gid_t)-1), 0);
    err = refuse_from(dir, "fake_good", HOIST_E_AUTH);
    assert_has(err, dir, "directory", "belongs to uid 65534", NULL);
    free(err);
    free(so);
    free(dir);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_search_order)
{
    char *tmp = tu_tmpdir();
    char *a = make_dir(tmp, "a", 0755), *b = make_dir(tmp, "b", 0755);
    char *sa = put_good_so(a, 0755), *sb = put_good_so(b, 0755);
    setenv("HOIST_PROVIDER_PATH", b, 1);

    hoist_loader *l = hoist_loader_new(a);
    const char *const *dirs = hoist_loader_dirs(l);
    ck_assert_str_eq(dirs[0], a);
    ck_assert_str_eq(dirs[1], b);
    ck_assert_str_eq(dirs[2], HOIST_PROVIDERDIR);
    ck_assert_ptr_null(dirs[3]);
    hoist_driver *d = NULL;
    char *err = NULL;
    ck_assert_int_eq(hoist_loader_open(l, "fake_good", &d, &err), HOIST_OK);
    ck_assert_str_eq(d->path, sa); /* --provider-dir first */
    hoist_driver_free(d);
    hoist_loader_free(l);

    l = hoist_loader_new(NULL);
    ck_assert_int_eq(hoist_loader_open(l, "fake_good", &d, &err), HOIST_OK);
    ck_assert_str_eq(d->path, sb); /* then HOIST_PROVIDER_PATH, before the default */
    hoist_driver_free(d);
    dirs = hoist_loader_dirs(l);
    ck_assert_str_eq(dirs[0], b);
    ck_assert_str_eq(dirs[1], HOIST_PROVIDERDIR);
    hoist_loader_free(l);

    /* .la wins over .so in the same directory. */
    char *src = mod_path("tests/fake/fake_good.la");
    char *la = join(a, "fake_good.la");
    copy_file(src, la, 0644);
    char *libs = make_dir(a, ".libs", 0755);
    free(put_good_so(libs, 0755));
    l = hoist_loader_new(a);
    ck_assert_int_eq(hoist_loader_open(l, "fake_good", &d, &err), HOIST_OK);
    ck_assert_str_eq(d->path, la);
    hoist_driver_free(d);
    hoist_loader_free(l);

    free(libs);
    free(la);
    free(src);
    free(sa);
    free(sb);
    free(a);
    free(b);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_list_dedups)
{
    char *tmp = tu_tmpdir();
    char *a = make_dir(tmp, "a", 0755), *b = make_dir(tmp, "b", 0755);
    free(put_good_so(a, 0755));
    free(put_good_so(b, 0755));
    const char *files[][2] = {{"a", "zeta.so"},      {"a", "bad-name.so"}, {"a", "readme.txt"},
                              {"a", "ab.la"},        {"b", "alpha.so"},    {"b", "ab.so"},
                              {"b", ".so"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        free(tu_write(strcmp(files[i][0], "a") == 0 ? a : b, files[i][1], "x\n"));
    setenv("HOIST_PROVIDER_PATH", b, 1);
    hoist_loader *l = hoist_loader_new(a);
    char **names = hoist_loader_list(l);
    const char *want[] = {"ab", "alpha", "fake_good", "zeta"};
    int seen[4] = {0};
    for (char **n = names; *n; n++) {
        if (n != names)
            ck_assert_msg(strcmp(n[-1], *n) < 0, "not sorted or duplicated: %s, %s", n[-1], *n);
        ck_assert_msg(strcmp(*n, "bad-name") != 0 && strcmp(*n, "readme") != 0 && **n,
                      "listed an invalid name: '%s'", *n);
        for (size_t i = 0; i < 4; i++)
            seen[i] += strcmp(*n, want[i]) == 0;
    }
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(seen[i] == 1, "%s listed %d times", want[i], seen[i]);
    hoist_strv_free(names);
    ck_assert_int_eq(hoist_loader_exists(l, "fake_good"), 1);
    ck_assert_int_eq(hoist_loader_exists(l, "alpha"), 1);
    ck_assert_int_eq(hoist_loader_exists(l, "bad-name"), 0);
    ck_assert_int_eq(hoist_loader_exists(l, "readme"), 0);
    hoist_loader_free(l);
    free(a);
    free(b);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

/* The null driver, found through HOIST_PROVIDER_PATH as make check sets it. */
static hoist_driver *open_null(json_t *settings, const char *state, char **err)
{
    if (!getenv("HOIST_PROVIDER_PATH")) {
        char *p = mod_path("providers/null");
        setenv("HOIST_PROVIDER_PATH", p, 1);
        free(p);
    }
    hoist_loader *l = hoist_loader_new(NULL);
    hoist_driver *d = NULL;
    *err = NULL;
    ck_assert_msg(hoist_loader_open(l, "null", &d, err) == HOIST_OK, "%s", *err);
    hoist_loader_free(l);
    hoist_status st = hoist_driver_init(d, settings, state, err);
    ck_assert_msg(st == HOIST_OK && !*err, "null init: %s", *err ? *err : hoist_status_name(st));
    return d;
}

/* Run one operation of @d on @kind/@name; *id gets outputs.id (new string or NULL). */
static hoist_status null_call(hoist_driver *d, const char *kind, const char *op, const char *name,
                              char **id, char **msg)
{
    const hoist_op_fn *fns = NULL;
    if (strcmp(kind, "network") == 0)
        fns = &d->ops->network->ensure;
    else if (strcmp(kind, "database") == 0)
        fns = &d->ops->database->ensure;
    ck_assert_ptr_nonnull(fns);
    /* ensure, observe, destroy are the first three members of every kind's table. */
    hoist_op_fn fn = strcmp(op, "ensure") == 0 ? fns[0] : strcmp(op, "observe") == 0 ? fns[1] : fns[2];
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, d, name);
    json_t *spec = json_pack("{s:s}", "size", "small"), *needs = json_object();
    hoist_resource r = {.struct_size = sizeof r, .project = "p", .env = "dev", .name = name,
                        .spec = spec, .needs = needs};
    hoist_result out = {.struct_size = sizeof out};
    hoist_status st = fn(d->prov, &ctx, &r, &out);
    if (id)
        *id = out.outputs ? strdup(json_string_value(json_object_get(out.outputs, "id"))) : NULL;
    if (msg)
        *msg = hoist_ctx_error(&ctx) ? strdup(hoist_ctx_error(&ctx)) : NULL;
    if (st == HOIST_PENDING && fns[0] == fn) {
        /* The null driver gives a poll hint and a phase with every pending
         * ensure, through host->progress (ABI 1.3) from a buffer on its
         * stack, long gone now: the core kept a copy. */
        ck_assert_uint_gt(out.poll_ms, 0);
        ck_assert_ptr_null(out.status_text);
        assert_has(hoist_ctx_progress(&ctx, out.status_text), "creating (", " more polls)", NULL);
    }
    json_decref(out.outputs);
    json_decref(out.secrets);
    json_decref(spec);
    json_decref(needs);
    hoist_ctx_cleanup(&ctx);
    return st;
}

START_TEST(test_null_driver_ops)
{
    char *tmp = tu_tmpdir();
    char *state = join(tmp, "state");
    char *err;
    hoist_driver *d = open_null(NULL, state, &err);
    ck_assert_str_eq(d->desc->name, "null");
    ck_assert(d->desc->caps & HOIST_CAP_LOCAL_RUNTIME);

    char *id1, *id2, *id3;
    ck_assert_int_eq(null_call(d, "network", "observe", "net1", NULL, NULL), HOIST_E_NOTFOUND);
    ck_assert_int_eq(null_call(d, "network", "ensure", "net1", &id1, NULL), HOIST_OK);
    ck_assert_int_eq(null_call(d, "network", "ensure", "net1", &id2, NULL), HOIST_OK);
    ck_assert_ptr_nonnull(id1);
    ck_assert_str_eq(id1, id2); /* the second ensure found the first object */
    /* One creation line, "<kind>/<name> <id>", carrying the id ensure returned. */
    char *creates = join(state, "creates.log");
    char *log = slurp(creates);
    char want[512];
    snprintf(want, sizeof want, "network/net1 %s\n", id1);
    ck_assert_str_eq(log, want);
    free(log);
    ck_assert_int_eq(null_call(d, "network", "observe", "net1", &id3, NULL), HOIST_OK);
    ck_assert_str_eq(id3, id1);
    ck_assert_int_eq(null_call(d, "network", "destroy", "net1", NULL, NULL), HOIST_OK);
    ck_assert_int_eq(null_call(d, "network", "destroy", "net1", NULL, NULL), HOIST_OK);
    ck_assert_int_eq(null_call(d, "network", "observe", "net1", NULL, NULL), HOIST_E_NOTFOUND);
    free(id1);
    free(id2);
    free(id3);
    free(creates);
    hoist_driver_free(d);
    free(state);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_null_driver_pending_and_failures)
{
    char *tmp = tu_tmpdir();
    json_t *settings = json_pack("{s:s,s:i,s:{s:s}}", "dir", tmp, "polls", 2, "fail",
                                 "database/main", "quota");
    char *err;
    hoist_driver *d = open_null(settings, NULL, &err);
    json_decref(settings);
    ck_assert_int_eq(null_call(d, "network", "ensure", "n", NULL, NULL), HOIST_PENDING);
    ck_assert_int_eq(null_call(d, "network", "observe", "n", NULL, NULL), HOIST_PENDING);
    ck_assert_int_eq(null_call(d, "network", "ensure", "n", NULL, NULL), HOIST_PENDING);
    ck_assert_int_eq(null_call(d, "network", "ensure", "n", NULL, NULL), HOIST_OK);
    ck_assert_int_eq(null_call(d, "network", "observe", "n", NULL, NULL), HOIST_OK);
    char *msg;
    ck_assert_int_eq(null_call(d, "database", "ensure", "main", NULL, &msg), HOIST_E_QUOTA);
    assert_has(msg, "database/main: quota exceeded", NULL);
    free(msg);
    hoist_driver_free(d);

    /* Without a state directory or `dir:` the driver refuses with its own message. */
    hoist_loader *l = hoist_loader_new(NULL);
    ck_assert_int_eq(hoist_loader_open(l, "null", &d, &err), HOIST_OK);
    ck_assert_int_eq(hoist_driver_init(d, NULL, NULL, &err), HOIST_E_INVALID);
    assert_has(err, "provider 'null'", "no cloud directory: set `dir:`", NULL);
    free(err);
    hoist_driver_free(d);
    hoist_loader_free(l);
    tu_rmrf(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_names)
{
    hoist_status all[] = {HOIST_OK,         HOIST_PENDING,     HOIST_E_NOTFOUND,
                          HOIST_E_AUTH,     HOIST_E_INVALID,   HOIST_E_CONFLICT,
                          HOIST_E_QUOTA,    HOIST_E_TRANSIENT, HOIST_E_UNSUPPORTED,
                          HOIST_E_INTERNAL, HOIST_E_CANCELLED};
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_ne(hoist_status_name(all[i]), "unknown status");
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(hoist_status_name(all[i]), hoist_status_name(all[j]));
    }
    ck_assert_str_eq(hoist_status_name((hoist_status)42), "unknown status");
    char *s = hoist_caps_string(0);
    ck_assert_str_eq(s, "");
    free(s);
    s = hoist_caps_string(~0u);
    ck_assert_str_eq(s, "pause-database,autoscale,private-db,local-runtime,postgresql,mysql,"
                        "redis,mongodb");
    free(s);
}
END_TEST

/*
 * ABI 1.3's descriptor member is read only from a driver that declares 1.3
 * and whose descriptor is big enough: a 1.2 driver's descriptor ends before
 * it, so whatever follows in its memory (here a poisoned pointer) is never
 * taken for a schema.
 */
START_TEST(test_descriptor_settings_by_minor)
{
    static const hoist_setting schema[] = {{.name = "poll_ms", .type = HOIST_SETTING_INT},
                                           {.name = NULL}};
    hoist_provider_descriptor d = {.abi_major = 1, .abi_minor = 3, .struct_size = sizeof d,
                                   .name = "x", .settings = schema};
    ck_assert_ptr_eq(hoist_descriptor_settings(&d), schema);
    /* A 1.2 driver: its struct_size stops at fini; the bytes after are not its. */
    d.abi_minor = 2;
    d.struct_size = offsetof(hoist_provider_descriptor, settings);
    d.settings = (const hoist_setting *)(uintptr_t)0x1;
    ck_assert_ptr_null(hoist_descriptor_settings(&d));
    /* Claims 1.3 but is too small (a malformed driver): still not read. */
    d.abi_minor = 3;
    ck_assert_ptr_null(hoist_descriptor_settings(&d));
    /* The right size but an older minor: not read either. */
    d.abi_minor = 2;
    d.struct_size = sizeof d;
    ck_assert_ptr_null(hoist_descriptor_settings(&d));
    ck_assert_ptr_null(hoist_descriptor_settings(NULL));
}
END_TEST

/* host->progress copies, masks secrets, keeps one line and bounds it. */
START_TEST(test_host_progress_copies)
{
    const hoist_host *h = hoist_host_table();
    ck_assert_uint_eq(h->abi_minor, 3);
    ck_assert(HOIST_HOST_HAS(h, progress));
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, "database main");
    ck_assert_ptr_null(hoist_ctx_progress(&ctx, NULL));
    ck_assert_str_eq(hoist_ctx_progress(&ctx, "static"), "static"); /* a 1.2 driver's */
    char *word = strdup("creating");
    h->progress(&ctx, "%s", word);
    memset(word, 'X', strlen(word)); /* the driver frees or reuses its buffer */
    free(word);
    ck_assert_str_eq(hoist_ctx_progress(&ctx, "ignored"), "creating");
    hoist_secret_add("hunter2-progress-secret");
    h->progress(&ctx, "token hunter2-progress-secret\nline\x1b[2K two");
    ck_assert_str_eq(hoist_ctx_progress(&ctx, NULL), "token *** line [2K two");
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[199] = '\xc3'; /* a two-byte UTF-8 character across the cut */
    big[200] = '\xa9';
    h->progress(&ctx, "%s", big);
    ck_assert_uint_eq(strlen(hoist_ctx_progress(&ctx, NULL)), 199);
    hoist_ctx_cleanup(&ctx);
    hoist_secret_reset();
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *t = tcase_create("fake");
    tcase_add_test(t, test_good_module);
    tcase_add_loop_test(t, test_descriptor_refused, 0, sizeof refusals / sizeof refusals[0]);
    tcase_add_test(t, test_major_message_text);
    tcase_add_loop_test(t, test_init_refused, 0, sizeof init_failures / sizeof init_failures[0]);
    suite_add_tcase(s, t);
    t = tcase_create("files");
    tcase_add_test(t, test_not_found_lists_dirs);
    tcase_add_test(t, test_invalid_name);
    tcase_add_test(t, test_text_file_refused);
    tcase_add_test(t, test_safe_copy_loads);
    tcase_add_test(t, test_world_writable_dir_refused);
    tcase_add_test(t, test_group_writable_file_refused);
    tcase_add_test(t, test_la_object_dir_vetted);
    tcase_add_test(t, test_installed_la_libdir_vetted);
    tcase_add_test(t, test_symlink_target_vetted);
    tcase_add_test(t, test_foreign_owner_refused);
    tcase_add_test(t, test_search_order);
    tcase_add_test(t, test_list_dedups);
    suite_add_tcase(s, t);
    t = tcase_create("null");
    tcase_add_test(t, test_null_driver_ops);
    tcase_add_test(t, test_null_driver_pending_and_failures);
    tcase_add_test(t, test_names);
    tcase_add_test(t, test_descriptor_settings_by_minor);
    tcase_add_test(t, test_host_progress_copies);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    /* Files made by the tests get exactly the modes the tests chmod. */
    umask(022);
    return tu_main(loader_suite());
}
