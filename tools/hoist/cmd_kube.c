/*
 * cmd_kube.c - the Kubernetes side of the command line: registering the
 * kube executor, `hoist kubeconfig`, and `hoist logs` for apps that run on
 * the cluster (pods' /log subresource through the API).
 */
#include "cli.h"
#include "driver.h"
#include "host.h"
#include "kube.h"
#include "log.h"
#include "util.h"
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cli_kube_register(const hoist_env_cfg *env)
{
    /* One environment per process: the executor lives until exit. */
    static hoist_executor *ex;
    if (ex)
        return;
    ex = hoist_kube_executor_new(env->settings);
    hoist_executor_register(ex);
}

/* A client for @pe's recorded cluster, or NULL with a message printed. */
static hoist_kube *cluster_client(pipe_env *pe, const char *cmd)
{
    json_t *rec = hoist_state_get(pe->st, "cluster", "cluster");
    const char *status = json_string_value(json_object_get(rec, "status"));
    hoist_kube *k = NULL;
    char *err = NULL;
    if (!hoist_driver_offers_kind(pe->drv, HOIST_KIND_CLUSTER)) {
        fprintf(stderr, "hoist %s: environment '%s' uses provider '%s', which has no Kubernetes "
                        "cluster: its applications run as processes on this machine (see hoist "
                        "status -e %s and hoist logs -e %s APP)\n", cmd, pe->env->name,
                pe->env->provider, pe->env->name, pe->env->name);
    } else if (!rec || !status || strcmp(status, "ready") != 0) {
        fprintf(stderr, "hoist %s: environment '%s' has no ready cluster; run hoist deploy -e %s\n",
                cmd, pe->env->name, pe->env->name);
    } else if (!(k = hoist_kube_for_cluster(pe->drv, pe->cfg->project, pe->env->name,
                                            json_object_get(rec, "outputs"), &err))) {
        fprintf(stderr, "hoist %s: %s\n", cmd, err);
    }
    free(err);
    json_decref(rec);
    return k;
}

static void ctx_report(hoist_ctx *ctx, const char *cmd, hoist_status st)
{
    char *m = hoist_redact(hoist_ctx_error(ctx) ? hoist_ctx_error(ctx) : hoist_status_name(st));
    fprintf(stderr, "hoist %s: %s\n", cmd, m);
    free(m);
}

/* Per pod: how many bytes of its log were printed (logs only grow until a restart). */
typedef struct seen {
    char *pod;
    size_t printed;
} seen;

static seen *seen_get(seen **v, size_t *n, const char *pod)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i].pod, pod) == 0)
            return &(*v)[i];
    *v = hoist_xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[*n] = (seen){hoist_xstrdup(pod), 0};
    return &(*v)[(*n)++];
}

/* Write @len bytes of @s, each line prefixed by "[pod] " when @prefix. */
static int write_lines(const char *s, size_t len, const char *pod, int prefix)
{
    while (len > 0) {
        const char *nl = memchr(s, '\n', len);
        size_t n = nl ? (size_t)(nl - s) + 1 : len;
        if ((prefix && printf("[%s] ", pod) < 0) || fwrite(s, 1, n, stdout) != n)
            return -1;
        if (!nl && putchar('\n') == EOF)
            return -1;
        s += n;
        len -= n;
    }
    return fflush(stdout);
}

int cli_kube_logs(cli_opts *o, pipe_env *pe, const char *app)
{
    hoist_kube *k = cluster_client(pe, "logs");
    if (!k)
        return EXIT_FAILED;
    char *ns = hoist_workload_namespace(pe->cfg->project, pe->env->name);
    char *sel = hoist_workload_selector(ns, app, 0);
    char *pods_path = hoist_kube_path("v1", "Pod", ns, NULL);
    hoist_ctx ctx;
    char *what = hoist_xasprintf("app %s", app);
    hoist_ctx_init(&ctx, pe->drv, what);
    free(what);
    ctx.cancel = &stop_flag;
    install_signals(NULL); /* Ctrl-C ends --follow quietly */
    seen *sv = NULL;
    size_t nseen = 0;
    int rc = EXIT_DONE, first = 1;
    hoist_status st = HOIST_OK;
    do {
        if (!first) {
            /* --follow polls: the API's streaming follow would need a long-lived read. */
            for (int i = 0; i < 20 && !stop_flag; i++)
                nanosleep(&(struct timespec){0, 100000000L}, NULL);
            if (stop_flag)
                break;
        }
        json_t *pods = NULL;
        st = hoist_kube_list(k, &ctx, pods_path, sel, &pods);
        if (st != HOIST_OK)
            break;
        if (first && json_array_size(pods) == 0) {
            fprintf(stderr, "hoist logs: no pods of app '%s' in namespace %s%s\n", app, ns,
                    o->follow ? "; waiting for some" : " (paused, or not deployed?)");
            if (!o->follow) {
                json_decref(pods);
                rc = EXIT_FAILED;
                break;
            }
        }
        size_t i;
        json_t *p;
        json_array_foreach(pods, i, p) {
            const char *pod = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
            if (!pod)
                continue;
            char *lp = hoist_kube_path("v1", "Pod", ns, pod);
            char *path = hoist_xasprintf("%s/log?container=%s", lp, app);
            char *text = NULL;
            free(lp);
            st = hoist_kube_get_text(k, &ctx, path, &text);
            free(path);
            if (st != HOIST_OK) {
                /* A pod still being created has no log yet: not worth stopping for. */
                if (o->follow) {
                    hoist_ctx_cleanup(&ctx);
                    hoist_ctx_init(&ctx, pe->drv, app);
                    ctx.cancel = &stop_flag;
                    st = HOIST_OK;
                }
                continue;
            }
            seen *sn = seen_get(&sv, &nseen, pod);
            size_t len = strlen(text);
            if (len < sn->printed)
                sn->printed = 0; /* the container restarted: a new log */
            if (write_lines(text + sn->printed, len - sn->printed, pod, json_array_size(pods) > 1) != 0)
                stop_flag = 1; /* stdout closed (e.g. | head) */
            sn->printed = len;
            free(text);
        }
        json_decref(pods);
        first = 0;
    } while (o->follow && !stop_flag && st == HOIST_OK);
    if (st != HOIST_OK && !stop_flag) {
        ctx_report(&ctx, "logs", st);
        rc = EXIT_FAILED;
    }
    for (size_t i = 0; i < nseen; i++)
        free(sv[i].pod);
    free(sv);
    hoist_ctx_cleanup(&ctx);
    free(pods_path);
    free(sel);
    free(ns);
    hoist_kube_free(k);
    return rc;
}

/* Write @text to @path with mode 0600 (also when it already existed). */
static int write_private(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    int ok = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len;
    int e = errno;
    if (close(fd) != 0 && ok)
        return -1;
    errno = e;
    return ok ? 0 : -1;
}

int cmd_kubeconfig(cli_opts *o)
{
    const char *out_path = strcmp(o->output, "text") == 0 ? NULL : o->output;
    if (o->nargs != 0) {
        fprintf(stderr, "hoist kubeconfig: unexpected argument '%s'\n", o->args[0]);
        return EXIT_USAGE;
    }
    pipe_env pe;
    int rc = cli_pipe_open(o, &pe, NULL);
    if (rc != EXIT_DONE)
        return rc;
    hoist_kube *k = cluster_client(&pe, "kubeconfig");
    char *path = NULL, *ns = NULL, *text = NULL;
    hoist_cluster_credentials c = {.struct_size = sizeof c};
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, pe.drv, "cluster");
    if (!k) {
        rc = EXIT_FAILED;
        goto done;
    }
    hoist_status st = hoist_kube_credentials(k, &ctx, &c);
    if (st != HOIST_OK) {
        ctx_report(&ctx, "kubeconfig", st);
        rc = EXIT_FAILED;
        goto done;
    }
    ns = hoist_workload_namespace(pe.cfg->project, pe.env->name);
    char *user = hoist_xasprintf("hoist-%s", ns);
    json_t *cluster = json_pack("{s:s}", "server", c.endpoint);
    if (c.ca_pem) {
        char *ca = hoist_base64_encode(c.ca_pem, strlen(c.ca_pem));
        json_object_set_new(cluster, "certificate-authority-data", json_string(ca));
        free(ca);
    }
    /* JSON is YAML: kubectl reads this like any kubeconfig. */
    json_t *cfg = json_pack(
        "{s:s,s:s,s:[{s:s,s:o}],s:[{s:s,s:{s:s?}}],s:[{s:s,s:{s:s,s:s,s:s}}],s:s,s:{}}",
        "apiVersion", "v1", "kind", "Config", "clusters", "name", ns, "cluster", cluster, "users",
        "name", user, "user", "token", c.token, "contexts", "name", ns, "context", "cluster", ns,
        "user", user, "namespace", ns, "current-context", ns, "preferences");
    free(user);
    text = json_dumps(cfg, JSON_INDENT(2));
    json_decref(cfg);
    path = out_path ? hoist_xstrdup(out_path)
                    : hoist_xasprintf("%s/.hoist/%s.kubeconfig", pe.cfg->dir, pe.env->name);
    if (strcmp(path, "-") == 0) {
        fputs(text, stdout);
        putchar('\n');
    } else {
        char *dir = hoist_xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            hoist_mkdirs(dir, 0700);
        }
        free(dir);
        if (write_private(path, text) != 0) {
            fprintf(stderr, "hoist kubeconfig: cannot write %s: %s\n", path, hoist_strerror(errno));
            rc = EXIT_FAILED;
            goto done;
        }
        printf("Wrote %s (context %s).  Use: kubectl --kubeconfig %s get pods\n", path, ns, path);
    }
    fprintf(stderr, "hoist kubeconfig: warning: this file contains the cluster's bearer token; "
                    "keep it private (mode 0600) and do not commit it%s\n",
            c.expires_at ? "; the token expires, run this command again then" : "");
done:
    hoist_kube_credentials_clear(&c);
    hoist_ctx_cleanup(&ctx);
    free(text);
    free(path);
    free(ns);
    hoist_kube_free(k);
    cli_pipe_close(&pe);
    return rc;
}

const char cli_help_kubeconfig[] =
    "usage: hoist kubeconfig [-f FILE] -e ENV [-o PATH]\n\n"
    "Writes a kubeconfig for the environment's cluster, with its namespace\n"
    "(<project>-<env>) as the default, so kubectl can look at what hoist\n"
    "deployed.  PATH defaults to .hoist/ENV.kubeconfig next to hoist.yml; `-o -`\n"
    "prints it.  The file holds a bearer token: it is written with mode 0600.\n";
