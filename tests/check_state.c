/* check_state.c - state file backend: atomic writes, refusal, lock, sealing. */
#include "state.h"
#include "log.h"
#include "testutil.h"

#include <sys/stat.h>
#include <sys/wait.h>

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static hoist_state *open_state(const char *dir, char **err)
{
    return hoist_state_open(hoist_state_file_backend(dir, "dev"), "shop", "dev", "null", err);
}

START_TEST(roundtrip_mode_and_serial)
{
    unsetenv("HOIST_STATE_KEY");
    unsetenv("HOIST_STATE_KEY_FILE");
    char *dir = tu_tmpdir(), *err = NULL;
    hoist_state *st = open_state(dir, &err);
    ck_assert_ptr_nonnull(st);
    json_t *spec = json_pack("{s:s}", "version", "15");
    json_t *outs = json_pack("{s:s}", "id", "db-1");
    ck_assert_int_eq(hoist_state_put(st, "database", "main", HOIST_RS_READY, "h1", spec, outs,
                                     NULL, &err), HOIST_OK);
    char *lineage = strdup(hoist_state_lineage(st));
    hoist_state_free(st);
    char path[4200];
    snprintf(path, sizeof path, "%s/dev.json", dir);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    st = open_state(dir, &err);
    ck_assert_ptr_nonnull(st);
    ck_assert_str_eq(hoist_state_lineage(st), lineage);
    ck_assert_int_eq(hoist_state_serial(st), 1);
    json_t *rec = hoist_state_get(st, "database", "main");
    ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "ready");
    ck_assert(json_equal(json_object_get(rec, "spec"), spec));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "outputs"), "id")), "db-1");
    json_decref(rec);
    ck_assert_int_eq(hoist_state_forget(st, "database", "main", &err), HOIST_OK);
    ck_assert_ptr_null(hoist_state_get(st, "database", "main"));
    hoist_state_free(st);
    json_decref(spec);
    json_decref(outs);
    free(lineage);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A corrupt or newer document is refused and left byte-identical. */
static void refuse(const char *text, const char *needle)
{
    char *dir = tu_tmpdir(), *err = NULL;
    char *path = tu_write(dir, "dev.json", text);
    hoist_state *st = open_state(dir, &err);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err, needle));
    char *after = slurp(path);
    ck_assert_str_eq(after, text);
    free(after);
    free(err);
    free(path);
    tu_rmrf(dir);
    free(dir);
}

START_TEST(refuses_corrupt)
{
    refuse("{\"format\":1, \"resources\": {", "corrupt");
}
END_TEST

START_TEST(refuses_future)
{
    refuse("{\"format\":99,\"lineage\":\"x\",\"serial\":3,\"resources\":{}}", "newer hoist");
}
END_TEST

START_TEST(refuses_other_env)
{
    refuse("{\"format\":1,\"project\":\"shop\",\"env\":\"prod\",\"resources\":{}}", "belongs to");
}
END_TEST

START_TEST(sealed_secrets)
{
    char *dir = tu_tmpdir(), *err = NULL;
    setenv("HOIST_STATE_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    hoist_state *st = open_state(dir, &err);
    ck_assert_ptr_nonnull(st);
    json_t *sec = json_pack("{s:s}", "password", "hunter2-very-secret");
    ck_assert_int_eq(hoist_state_put(st, "database", "main", HOIST_RS_READY, "h", NULL, NULL, sec,
                                     &err), HOIST_OK);
    hoist_state_free(st);
    char path[4200];
    snprintf(path, sizeof path, "%s/dev.json", dir);
    char *text = slurp(path);
    ck_assert_ptr_null(strstr(text, "hunter2"));
    ck_assert_ptr_nonnull(strstr(text, "secrets_sealed"));
    st = open_state(dir, &err);
    ck_assert_ptr_nonnull(st);
    json_t *rec = hoist_state_get(st, "database", "main");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "secrets"), "password")),
                     "hunter2-very-secret");
    json_decref(rec);
    hoist_state_free(st);
    /* Wrong key: refused, file untouched. */
    setenv("HOIST_STATE_KEY", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 1);
    ck_assert_ptr_null(open_state(dir, &err));
    ck_assert_ptr_nonnull(strstr(err, "unseal"));
    free(err);
    err = NULL;
    /* No key at all: refused with the variable to set. */
    unsetenv("HOIST_STATE_KEY");
    ck_assert_ptr_null(open_state(dir, &err));
    ck_assert_ptr_nonnull(strstr(err, "HOIST_STATE_KEY"));
    free(err);
    char *after = slurp(path);
    ck_assert_str_eq(after, text);
    free(after);
    free(text);
    json_decref(sec);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(key_formats)
{
    unsigned char k1[32], k2[32];
    char *err = NULL;
    setenv("HOIST_STATE_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
    ck_assert_int_eq(hoist_state_key_from_env(k1, &err), 1);
    /* The same 32 bytes in base64. */
    setenv("HOIST_STATE_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1);
    ck_assert_int_eq(hoist_state_key_from_env(k2, &err), 1);
    ck_assert_int_eq(memcmp(k1, k2, 32), 0);
    setenv("HOIST_STATE_KEY", "short", 1);
    ck_assert_int_eq(hoist_state_key_from_env(k2, &err), -1);
    free(err);
    unsetenv("HOIST_STATE_KEY");
    char *s = hoist_state_seal(k1, "{\"a\":\"b\"}");
    ck_assert_ptr_nonnull(s);
    err = NULL;
    char *p = hoist_state_unseal(k1, s, &err);
    ck_assert_str_eq(p, "{\"a\":\"b\"}");
    s[strlen(s) - 3] ^= 1; /* tamper */
    ck_assert_ptr_null(hoist_state_unseal(k1, s, &err));
    free(err);
    free(p);
    free(s);
}
END_TEST

START_TEST(readonly_refuses_writes)
{
    char *dir = tu_tmpdir(), *err = NULL;
    hoist_state *st = open_state(dir, &err);
    hoist_state_set_readonly(st, 1);
    ck_assert_int_ne(hoist_state_put(st, "app", "a", HOIST_RS_READY, "h", NULL, NULL, NULL, &err),
                     HOIST_OK);
    free(err);
    hoist_state_free(st);
    char path[4200];
    snprintf(path, sizeof path, "%s/dev.json", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(lock_names_holder_and_waits)
{
    char *dir = tu_tmpdir(), *err = NULL;
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        hoist_state *st = open_state(dir, &err);
        if (!st || hoist_state_lock(st, "deploy", 0, &err) != HOIST_OK)
            _exit(3);
        if (write(pfd[1], "x", 1) != 1)
            _exit(4);
        usleep(600 * 1000);
        hoist_state_free(st);
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(pfd[0], &c, 1), 1);
    hoist_state *st = open_state(dir, &err);
    ck_assert_int_eq(hoist_state_lock(st, "destroy", 0, &err), HOIST_E_CONFLICT);
    char want[64];
    snprintf(want, sizeof want, "locked by pid %d on host", (int)pid);
    ck_assert_msg(strstr(err, want) && strstr(err, "operation deploy"), "got: %s", err);
    free(err);
    err = NULL;
    /* With a timeout, wait until the holder leaves. */
    ck_assert_int_eq(hoist_state_lock(st, "destroy", 5, &err), HOIST_OK);
    hoist_state_free(st);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, roundtrip_mode_and_serial);
    tcase_add_test(tc, refuses_corrupt);
    tcase_add_test(tc, refuses_future);
    tcase_add_test(tc, refuses_other_env);
    tcase_add_test(tc, sealed_secrets);
    tcase_add_test(tc, key_formats);
    tcase_add_test(tc, readonly_refuses_writes);
    tcase_add_test(tc, lock_names_holder_and_waits);
    suite_add_tcase(s, tc);
    return tu_main(s);
}
