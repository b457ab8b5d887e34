/*
 * testhttpd.h - a scripted libmicrohttpd server on 127.0.0.1 (ephemeral
 * port) for the transport tests and the reuse benchmark.  Each request
 * consumes the next step of the script (the last step repeats): a status,
 * an optional header, a body, a delay, or closing the connection without
 * an answer.  Header-only, static.
 */
#ifndef HOIST_TESTHTTPD_H
#define HOIST_TESTHTTPD_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct th_step {
    int status;
    const char *hname, *hval; /* one extra response header, or NULL */
    const char *body;
    int delay_ms;
    int close; /* drop the connection without answering */
} th_step;

typedef struct th_server {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    th_step steps[16];
    int n_steps;
    int hits;
    atomic_int stopping; /* set by th_stop, read by the connection threads */
    char last_method[16];
    char last_auth[1024];
    char last_date[64];
    char last_ctype[256]; /* the Content-Type received, "(none)" without one */
    char last_body[4096];
} th_server;

typedef struct th_conn {
    char body[4096];
    size_t len;
} th_conn;

static void th_script(th_server *s, const th_step *steps, int n)
{
    pthread_mutex_lock(&s->mu);
    memcpy(s->steps, steps, (size_t)n * sizeof *steps);
    s->n_steps = n;
    s->hits = 0;
    pthread_mutex_unlock(&s->mu);
}

static int th_hits(th_server *s)
{
    pthread_mutex_lock(&s->mu);
    int h = s->hits;
    pthread_mutex_unlock(&s->mu);
    return h;
}

static void th_copy_header(struct MHD_Connection *c, const char *name, char *dst, size_t n)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(dst, n, "%s", v ? v : "");
}

static enum MHD_Result th_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    th_server *s = cls;
    th_conn *tc = *con_cls;
    if (!tc) {
        tc = calloc(1, sizeof *tc);
        *con_cls = tc;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        if (tc->len + n >= sizeof tc->body)
            n = sizeof tc->body - tc->len - 1;
        memcpy(tc->body + tc->len, upload, n);
        tc->len += n;
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    int i = s->hits++;
    th_step st = s->steps[i < s->n_steps ? i : s->n_steps - 1];
    snprintf(s->last_method, sizeof s->last_method, "%s", method);
    th_copy_header(c, "Authorization", s->last_auth, sizeof s->last_auth);
    th_copy_header(c, "X-Amz-Date", s->last_date, sizeof s->last_date);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    snprintf(s->last_ctype, sizeof s->last_ctype, "%s", ct ? ct : "(none)");
    memcpy(s->last_body, tc->body, tc->len + 1);
    pthread_mutex_unlock(&s->mu);
    for (int w = 0; w < st.delay_ms && !s->stopping; w += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (st.close)
        return MHD_NO;
    const char *body = st.body ? st.body : "";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (st.hname)
        MHD_add_response_header(r, st.hname, st.hval);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)(st.status ? st.status : 200), r);
    MHD_destroy_response(r);
    return ret;
}

static void th_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

/* Start on 127.0.0.1; TLS when @cert_pem and @key_pem are given.  0 or -1. */
static int th_start(th_server *s, const char *cert_pem, const char *key_pem)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->steps[0].status = 200;
    s->n_steps = 1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (cert_pem) {
        flags |= MHD_USE_TLS;
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, th_handler, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_NOTIFY_COMPLETED, th_completed, s,
                                MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_MEM_CERT,
                                cert_pem, MHD_OPTION_END);
    } else {
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, th_handler, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_NOTIFY_COMPLETED, th_completed, s, MHD_OPTION_END);
    }
    if (!s->d)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return s->port ? 0 : -1;
}

static void th_stop(th_server *s)
{
    s->stopping = 1;
    if (s->d)
        MHD_stop_daemon(s->d);
    s->d = NULL;
    pthread_mutex_destroy(&s->mu);
}

#endif
