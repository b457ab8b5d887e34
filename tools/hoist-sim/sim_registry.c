/*
 * sim_registry.c - the container registry behind every cloud's registry
 * answers, and the per-run scratch directory.
 *
 * By default hoist-sim runs a real registry: Debian's docker-registry 2.8 as
 * a child process on a free 127.0.0.1 port, plain HTTP, htpasswd (bcrypt)
 * users made at start-up:
 *   hoist-sim  random password: DigitalOcean's docker-credentials and the
 *              simulator's own catalog reads;
 *   AWS        random password: ECR's GetAuthorizationToken ("AWS:<pw>");
 *   nologin    the Scaleway secret key (Scaleway's login rule).
 * Storage lives in <state-dir>/registry (kept) or a temporary directory
 * (removed on exit).  --registry URL uses an external registry instead, with
 * one login for every cloud.
 *
 * Threading: everything but sim_registry_repositories runs in the main
 * thread before serving or after it stopped; sim_registry_repositories is
 * called by handlers under the store lock and only reads.
 */
#include "autoconfig.h"

#include "sim.h"
#include "util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { REG_PAGE = 1000 }; /* catalog page size: docker-registry 2.8 refuses more (400) */

static struct {
    int disabled;
    char *url;          /* "http://127.0.0.1:PORT" */
    char *host;         /* "127.0.0.1:PORT" */
    char *user, *pass;  /* the generic login; external: the given one */
    char *aws_pass;     /* own registry: the AWS user's password; NULL for external */
    char *dir;          /* own registry: config, htpasswd, log and storage */
    pid_t pid;
} reg;

static char *sim_run_dir;
static int sim_run_dir_temp;

/* ------------------------------------------------------------------ scratch directory */

const char *sim_rundir(char **err)
{
    if (sim_run_dir)
        return sim_run_dir;
    if (sim_cfg.state_dir)
        return sim_run_dir = hoist_xstrdup(sim_cfg.state_dir);
    const char *tmp = getenv("TMPDIR");
    char *tmpl = hoist_xasprintf("%s/hoist-sim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        *err = hoist_xasprintf("cannot create a temporary directory %s: %s (set TMPDIR)", tmpl,
                               hoist_strerror(errno));
        free(tmpl);
        return NULL;
    }
    sim_run_dir_temp = 1;
    return sim_run_dir = tmpl;
}

static int sim_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void sim_rundir_cleanup(void)
{
    if (sim_run_dir && sim_run_dir_temp)
        nftw(sim_run_dir, sim_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(sim_run_dir);
    sim_run_dir = NULL;
    sim_run_dir_temp = 0;
}

/* ------------------------------------------------------------------ configuration */

void sim_registry_disable(void)
{
    reg.disabled = 1;
}

int sim_registry_use(const char *url, char **err)
{
    const char *h = strstr(url, "://");
    if (h && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        *err = hoist_xasprintf("--registry %s: expected http://HOST:PORT or https://HOST", url);
        return -1;
    }
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/");
    if (n == 0) {
        *err = hoist_xasprintf("--registry %s: no host", url);
        return -1;
    }
    free(reg.host);
    free(reg.url);
    reg.host = hoist_xstrndup(h, n);
    reg.url = strstr(url, "://") ? hoist_xasprintf("%.*s", (int)(h - url + n), url)
                                 : hoist_xasprintf("http://%s", reg.host);
    return 0;
}

int sim_registry_credentials(const char *userpass, char **err)
{
    const char *colon = strchr(userpass, ':');
    if (!colon || colon == userpass || !colon[1]) {
        *err = hoist_xstrdup("--registry-credentials: expected USER:PASSWORD");
        return -1;
    }
    free(reg.user);
    free(reg.pass);
    reg.user = hoist_xstrndup(userpass, (size_t)(colon - userpass));
    reg.pass = hoist_xstrdup(colon + 1);
    return 0;
}

const char *sim_registry_host(void)
{
    return reg.disabled ? NULL : reg.host;
}

const char *sim_registry_url(void)
{
    return reg.disabled ? NULL : reg.url;
}

char *sim_registry_auth_b64(const char *cloud)
{
    const char *user, *pass;
    if (!sim_registry_host())
        return NULL;
    sim_registry_login(cloud, &user, &pass);
    char *pair = hoist_xasprintf("%s:%s", user, pass), *b64 = sim_base64(pair, strlen(pair));
    free(pair);
    return b64;
}

void sim_registry_login(const char *cloud, const char **user, const char **pass)
{
    if (strcmp(cloud, "scw") == 0) {
        *user = "nologin";
        *pass = sim_cfg.scw_secret;
    } else if (strcmp(cloud, "aws") == 0 && reg.aws_pass) {
        *user = "AWS";
        *pass = reg.aws_pass;
    } else {
        *user = reg.user;
        *pass = reg.pass;
    }
}

/* ------------------------------------------------------------------ the child registry */

/* 20 random bytes as hex (owned): a password that needs no quoting anywhere. */
static char *reg_random(void)
{
    unsigned char b[20];
    char *s = hoist_xmalloc(2 * sizeof b + 1);
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        abort(); /* the kernel's generator does not fail for 20 bytes */
    for (size_t i = 0; i < sizeof b; i++)
        sprintf(s + 2 * i, "%02x", b[i]);
    return s;
}

/* Full path of @prog on PATH (owned), or NULL. */
static char *reg_which(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy = hoist_xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin"), *save;
    char *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = hoist_xasprintf("%s/%s", d, prog);
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

/* In a forked child: undo what the parent set up for itself (blocked stop signals, ignored SIGPIPE). */
static void reg_child_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
}

/* Add @user with @pass to the htpasswd file @file (bcrypt); the password goes on stdin, not argv. */
static int reg_htpasswd(const char *htpasswd, const char *file, const char *log, int create,
                        const char *user, const char *pass, char **err)
{
    int fds[2], status = 0;
    if (pipe(fds) != 0) {
        *err = hoist_xasprintf("pipe: %s", hoist_strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        reg_child_signals();
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        /* its chatter ("Adding password for user") and errors go to the registry's log */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        if (create)
            execl(htpasswd, "htpasswd", "-B", "-i", "-c", file, user, (char *)NULL);
        else
            execl(htpasswd, "htpasswd", "-B", "-i", file, user, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    if (pid > 0) {
        ssize_t n = write(fds[1], pass, strlen(pass));
        (void)n; /* a short write shows up as htpasswd's failure below */
    }
    close(fds[1]);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        *err = hoist_xasprintf("%s could not add user %s to %s (exit status %d; see %s)", htpasswd,
                               user, file, WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
        return -1;
    }
    return 0;
}

/* A port free on 127.0.0.1 right now (0 on failure). */
static unsigned reg_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    unsigned port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* YAML single-quoted scalar of @s (owned). */
static char *reg_yaml_quote(const char *s)
{
    hoist_buf b = {0};
    hoist_buf_puts(&b, "'");
    for (; *s; s++)
        hoist_buf_puts(&b, *s == '\'' ? "''" : (char[]){*s, 0});
    hoist_buf_puts(&b, "'");
    return hoist_buf_steal(&b);
}

static int reg_write_config(const char *file, unsigned port, char **err)
{
    char *storage = hoist_xasprintf("%s/storage", reg.dir), *pw = hoist_xasprintf("%s/htpasswd", reg.dir);
    char *qs = reg_yaml_quote(storage), *qp = reg_yaml_quote(pw), *secret = reg_random();
    FILE *fp = fopen(file, "w");
    int rc = -1;
    if (!fp) {
        *err = hoist_xasprintf("cannot write %s: %s", file, hoist_strerror(errno));
        goto cleanup;
    }
    fprintf(fp,
            "version: 0.1\n"
            "log: {level: info, accesslog: {disabled: false}}\n"
            "storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\n"
            "http: {addr: '127.0.0.1:%u', secret: %s}\n"
            "auth: {htpasswd: {realm: hoist-sim, path: %s}}\n",
            qs, port, secret, qp);
    rc = fclose(fp) == 0 ? 0 : -1;
    if (rc != 0)
        *err = hoist_xasprintf("cannot write %s: %s", file, hoist_strerror(errno));
cleanup:
    free(storage);
    free(pw);
    free(qs);
    free(qp);
    free(secret);
    return rc;
}

static size_t reg_sink(char *p, size_t size, size_t n, void *ud)
{
    hoist_buf_add(ud, p, size * n);
    return size * n;
}

static size_t reg_header(char *p, size_t size, size_t n, void *ud)
{
    static const char name[] = "docker-content-digest:";
    char **digest = ud;
    if (size * n > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0 && !*digest) {
        const char *v = p + sizeof name - 1;
        size_t len = size * n - (sizeof name - 1);
        while (len && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        *digest = hoist_xstrndup(v, len);
    }
    return size * n;
}

/*
 * GET @path of the registry as @user (NULL: anonymous); the body into @out
 * (may be NULL), Docker-Content-Digest into @digest (may be NULL, owned).
 * Returns the HTTP status, or 0 when the registry cannot be reached.
 */
static long reg_get(const char *path, const char *user, const char *pass, const char *accept,
                    hoist_buf *out, char **digest)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    hoist_buf junk = {0};
    char *url = hoist_xasprintf("%s%s", reg.url, path), *dg = NULL;
    long status = 0;
    if (!c)
        abort(); /* only fails on out of memory */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reg_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &junk);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, reg_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &dg);
    if (user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
    }
    if (accept) {
        char *a = hoist_xasprintf("Accept: %s", accept);
        h = curl_slist_append(h, a);
        free(a);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (digest)
        *digest = dg;
    else
        free(dg);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    hoist_buf_free(&junk);
    free(url);
    return status;
}

/* Tail of the registry's log for an error message (owned). */
static char *reg_log_tail(const char *log)
{
    char buf[600] = "";
    FILE *fp = fopen(log, "r");
    if (fp) {
        if (fseek(fp, 0, SEEK_END) == 0) {
            long end = ftell(fp);
            fseek(fp, end > (long)sizeof buf - 1 ? end - (long)sizeof buf + 1 : 0, SEEK_SET);
        }
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        buf[n] = '\0';
        fclose(fp);
    }
    return hoist_xstrdup(buf);
}

/*
 * Start docker-registry on @port and wait until it answers.  1 when it runs,
 * 0 when it exited early (perhaps the port was taken meanwhile: try another),
 * -1 on an error worth reporting.
 */
static int reg_spawn(const char *bin, const char *config, const char *log, unsigned port,
                     char **err)
{
    pid_t pid = fork();
    if (pid < 0) {
        *err = hoist_xasprintf("fork: %s", hoist_strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* die with hoist-sim even when it is killed without a chance to clean up */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        reg_child_signals();
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600), null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, "docker-registry", "serve", config, (char *)NULL);
        _exit(127);
    }
    reg.pid = pid;
    for (int i = 0; i < 200; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            reg.pid = 0;
            return 0;
        }
        /* 401 without credentials and 200 with them: it is our registry and the login works */
        if (reg_get("/v2/", NULL, NULL, NULL, NULL, NULL) == 401) {
            if (reg_get("/v2/", reg.user, reg.pass, NULL, NULL, NULL) == 200)
                return 1;
            *err = hoist_xasprintf("docker-registry on %s rejects the generated credentials (see %s)",
                                   reg.host, log);
            return -1;
        }
        usleep(25000);
    }
    *err = hoist_xasprintf("docker-registry did not answer on %s within 5 s (see %s)", reg.host, log);
    return -1;
}

static int reg_start_own(char **err)
{
    char *bin = reg_which("docker-registry"), *htpasswd = reg_which("htpasswd");
    char *file = NULL, *config = NULL, *log = NULL;
    const char *run;
    int rc = -1;
    if (!bin || !htpasswd) {
        *err = hoist_xasprintf(
            "%s is not installed: hoist-sim runs a real registry for the clouds' registry APIs "
            "(apt-get install docker-registry apache2-utils), or pass --registry URL "
            "--registry-credentials USER:PASS, or --no-registry",
            !bin ? "docker-registry" : "htpasswd (apache2-utils)");
        goto cleanup;
    }
    if (!(run = sim_rundir(err)))
        goto cleanup;
    reg.dir = hoist_xasprintf("%s/registry", run);
    file = hoist_xasprintf("%s/htpasswd", reg.dir);
    config = hoist_xasprintf("%s/config.yml", reg.dir);
    log = hoist_xasprintf("%s/registry.log", reg.dir);
    if (hoist_mkdirs(reg.dir, 0700) != 0) {
        *err = hoist_xasprintf("cannot create %s", reg.dir);
        goto cleanup;
    }
    reg.user = hoist_xstrdup("hoist-sim");
    reg.pass = reg_random();
    reg.aws_pass = reg_random();
    if (reg_htpasswd(htpasswd, file, log, 1, reg.user, reg.pass, err) != 0 ||
        reg_htpasswd(htpasswd, file, log, 0, "AWS", reg.aws_pass, err) != 0 ||
        reg_htpasswd(htpasswd, file, log, 0, "nologin", sim_cfg.scw_secret, err) != 0)
        goto cleanup;
    for (int attempt = 0; attempt < 3 && rc != 1; attempt++) {
        unsigned port = reg_free_port();
        if (!port) {
            *err = hoist_xasprintf("no free port on 127.0.0.1 for the registry: %s",
                                   hoist_strerror(errno));
            goto cleanup;
        }
        free(reg.host);
        free(reg.url);
        reg.host = hoist_xasprintf("127.0.0.1:%u", port);
        reg.url = hoist_xasprintf("http://%s", reg.host);
        if (reg_write_config(config, port, err) != 0 ||
            (rc = reg_spawn(bin, config, log, port, err)) < 0)
            goto cleanup;
    }
    if (rc != 1) {
        char *tail = reg_log_tail(log);
        *err = hoist_xasprintf("docker-registry exited at start-up (%s); its log ends:\n%s", log, tail);
        free(tail);
        rc = -1;
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(bin);
    free(htpasswd);
    free(file);
    free(config);
    free(log);
    return rc;
}

int sim_registry_start(char **err)
{
    if (reg.disabled)
        return 0;
    if (reg.url && !reg.user) {
        *err = hoist_xstrdup("--registry needs --registry-credentials USER:PASS");
        return -1;
    }
    if (!reg.url && reg.user) {
        *err = hoist_xstrdup("--registry-credentials needs --registry URL");
        return -1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return reg.url ? 0 : reg_start_own(err);
}

void sim_registry_stop(void)
{
    if (reg.pid > 0) {
        int status;
        kill(reg.pid, SIGTERM);
        for (int i = 0; i < 100 && waitpid(reg.pid, &status, WNOHANG) != reg.pid; i++) {
            usleep(50000);
            if (i == 99) { /* 5 s: it ignored SIGTERM */
                kill(reg.pid, SIGKILL);
                waitpid(reg.pid, &status, 0);
            }
        }
        reg.pid = 0;
    }
}

/* ------------------------------------------------------------------ reading the registry */

/* Modification time of a tag's link in our own storage (ms), or 0 when unknown. */
static long long reg_tag_mtime(const char *repo, const char *tag)
{
    struct stat st;
    long long ms = 0;
    if (!reg.dir)
        return 0;
    char *p = hoist_xasprintf("%s/storage/docker/registry/v2/repositories/%s/_manifests/tags/%s/"
                              "current/link", reg.dir, repo, tag);
    if (stat(p, &st) == 0)
        ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    free(p);
    return ms;
}

/* Append descriptor @d ({digest, size}) to @blobs in DigitalOcean's blob shape. */
static void reg_blob_add(json_t *blobs, json_int_t *total, json_t *d)
{
    if (!json_is_object(d))
        return;
    *total += json_integer_value(json_object_get(d, "size"));
    json_array_append_new(blobs, json_pack("{s:O,s:O}", "digest", json_object_get(d, "digest"),
                                           "compressed_size_bytes", json_object_get(d, "size")));
}

/* {tag, digest, blobs [{digest, size}], size, updated_ms} for one tag, or NULL. */
static json_t *reg_tag_info(const char *repo, const char *tag)
{
    static const char accept[] =
        "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
        "application/vnd.docker.distribution.manifest.v2+json, "
        "application/vnd.docker.distribution.manifest.list.v2+json";
    hoist_buf body = {0};
    char *digest = NULL, *path = hoist_xasprintf("/v2/%s/manifests/%s", repo, tag);
    json_t *out = NULL, *m = NULL;
    if (reg_get(path, reg.user, reg.pass, accept, &body, &digest) == 200 && digest &&
        (m = json_loadb(body.s ? body.s : "", body.len, 0, NULL))) {
        json_t *blobs = json_array(), *v;
        json_int_t total = 0;
        size_t i;
        /* an image's config and layers, or an index's manifests: what the tag pulls in */
        reg_blob_add(blobs, &total, json_object_get(m, "config"));
        json_array_foreach(json_object_get(m, json_object_get(m, "layers") ? "layers" : "manifests"),
                           i, v)
            reg_blob_add(blobs, &total, v);
        out = json_pack("{s:s,s:s,s:o,s:I,s:I}", "tag", tag, "digest", digest, "blobs", blobs,
                        "size", total, "updated_ms",
                        (json_int_t)reg_tag_mtime(repo, tag));
    }
    json_decref(m);
    hoist_buf_free(&body);
    free(digest);
    free(path);
    return out;
}

/* All repository names in the registry's catalog (new reference), or NULL with *err set. */
static json_t *reg_catalog(char **err)
{
    json_t *all = json_array();
    char *path = hoist_xasprintf("/v2/_catalog?n=%d", REG_PAGE);
    for (;;) {
        hoist_buf body = {0};
        json_t *page = NULL, *names;
        long st = reg_get(path, reg.user, reg.pass, NULL, &body, NULL);
        if (st == 200)
            page = json_loadb(body.s ? body.s : "", body.len, 0, NULL);
        hoist_buf_free(&body);
        names = json_object_get(page, "repositories");
        if (!json_is_array(names)) {
            *err = hoist_xasprintf("the registry at %s answered %ld to GET %s", reg.url, st, path);
            json_decref(page);
            json_decref(all);
            all = NULL;
            break;
        }
        json_array_extend(all, names);
        size_t n = json_array_size(names);
        const char *last = json_string_value(json_array_get(names, n ? n - 1 : 0));
        free(path);
        /* a full page: there may be more after its last name */
        path = n == REG_PAGE && last ? hoist_xasprintf("/v2/_catalog?n=%d&last=%s", REG_PAGE, last)
                                     : NULL;
        json_decref(page);
        if (!path)
            break;
    }
    free(path);
    return all;
}

json_t *sim_registry_repositories(const char *prefix, char **err)
{
    json_t *cat, *out, *v;
    size_t i, plen = prefix ? strlen(prefix) : 0;
    if (!sim_registry_url()) {
        *err = hoist_xstrdup("hoist-sim runs without a registry (--no-registry)");
        return NULL;
    }
    if (!(cat = reg_catalog(err)))
        return NULL;
    out = json_array();
    json_array_foreach(cat, i, v) {
        const char *name = json_string_value(v);
        if (!name || strncmp(name, prefix ? prefix : "", plen) != 0)
            continue;
        hoist_buf tb = {0};
        char *path = hoist_xasprintf("/v2/%s/tags/list", name);
        json_t *tl = NULL, *tags = json_array(), *t;
        size_t k;
        if (reg_get(path, reg.user, reg.pass, NULL, &tb, NULL) == 200)
            tl = json_loadb(tb.s ? tb.s : "", tb.len, 0, NULL);
        json_array_foreach(json_object_get(tl, "tags"), k, t) {
            json_t *info = json_string_value(t) ? reg_tag_info(name, json_string_value(t)) : NULL;
            if (info)
                json_array_append_new(tags, info);
        }
        json_array_append_new(out, json_pack("{s:s,s:o}", "name", name, "tags", tags));
        json_decref(tl);
        hoist_buf_free(&tb);
        free(path);
    }
    json_decref(cat);
    return out;
}

/* ------------------------------------------------------------------ DigitalOcean's view */

/* 1 when tag @a is newer than @b (unknown times keep the registry's order: later wins). */
static int reg_newer(json_t *a, json_t *b)
{
    return json_integer_value(json_object_get(a, "updated_ms")) >=
           json_integer_value(json_object_get(b, "updated_ms"));
}

json_t *sim_registry_do_repositories(const char *registry, char **err)
{
    char *prefix = hoist_xasprintf("%s/", registry);
    json_t *repos = sim_registry_repositories(prefix, err), *out = NULL, *r;
    size_t i;
    if (!repos)
        goto cleanup;
    out = json_array();
    json_array_foreach(repos, i, r) {
        json_t *tags = json_object_get(r, "tags"), *t, *latest = NULL, *digests = json_object();
        size_t k;
        json_array_foreach(tags, k, t) {
            json_object_set_new(digests, json_string_value(json_object_get(t, "digest")),
                                json_true());
            if (!latest || reg_newer(t, latest))
                latest = t;
        }
        json_t *repo = json_pack("{s:s,s:s,s:I,s:I}", "registry_name", registry, "name",
                                 json_string_value(json_object_get(r, "name")) + strlen(prefix),
                                 "tag_count", (json_int_t)json_array_size(tags), "manifest_count",
                                 (json_int_t)json_object_size(digests));
        if (latest) {
            json_t *same = json_array();
            const char *d = json_string_value(json_object_get(latest, "digest"));
            long long ms = json_integer_value(json_object_get(latest, "updated_ms"));
            char ts[32];
            json_array_foreach(tags, k, t)
                if (strcmp(json_string_value(json_object_get(t, "digest")), d) == 0)
                    json_array_append(same, json_object_get(t, "tag"));
            json_t *m = json_pack("{s:s,s:O,s:s,s:O,s:o,s:O}", "registry_name", registry,
                                  "repository", json_object_get(repo, "name"), "digest", d,
                                  "compressed_size_bytes", json_object_get(latest, "size"),
                                  "tags", same, "blobs", json_object_get(latest, "blobs"));
            if (ms) /* only our own registry's storage tells when a tag moved */
                json_object_set_new(m, "updated_at", json_string(sim_rfc3339(ms, ts)));
            json_object_set_new(repo, "latest_manifest", m);
        }
        json_array_append_new(out, repo);
        json_decref(digests);
    }
cleanup:
    json_decref(repos);
    free(prefix);
    return out;
}
