/*
 * local_network.c - the environment's "network": the loopback address and a
 * range of LOCAL_PORT_COUNT ports that were free when first chosen.  The
 * range is written to network.json and reused on every run, so URLs stay
 * stable.  ports.json records which resource holds which port.
 *
 * Both files are shared by every resource of the environment and possibly by
 * several hoist processes, so they are guarded by a mutex (threads of one
 * run) and flock(2) on <state>/lock (separate runs).
 */
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_PORT_MIN 20000
#define LOCAL_PORT_MAX 60000

static int local_lock(local_prov *p)
{
    pthread_mutex_lock(&p->lock);
    char *path = local_path(p, "lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd >= 0)
        while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
            ;
    return fd;
}

static void local_unlock(local_prov *p, int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
    pthread_mutex_unlock(&p->lock);
}

static int local_range_free(int base)
{
    /* Every port of the range is probed: a range someone else partly uses
     * would give resources ports that fail later. */
    for (int i = 0; i < LOCAL_PORT_COUNT; i++)
        if (!local_port_free(base + i))
            return 0;
    return 1;
}

/* Read network.json: 1 with base/count, 0 if absent or malformed. */
static int local_net_read(local_prov *p, int *base, int *count)
{
    char *path = local_path(p, "network.json");
    json_t *net = json_load_file(path, 0, NULL);
    free(path);
    int b = (int)json_integer_value(json_object_get(net, "port_base"));
    int c = (int)json_integer_value(json_object_get(net, "port_count"));
    json_decref(net);
    if (b < 1024 || c <= 0 || b + c > 65536)
        return 0;
    *base = b;
    *count = c;
    return 1;
}

/* Caller holds the lock. */
static hoist_status local_net_range_locked(local_prov *p, hoist_ctx *ctx, int *base, int *count)
{
    if (local_net_read(p, base, count))
        return HOIST_OK;
    /* Start from a pseudo-random slot so parallel environments rarely race
     * for the same range; then walk all slots. */
    int slots = (LOCAL_PORT_MAX - LOCAL_PORT_MIN) / LOCAL_PORT_COUNT;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^
                    (unsigned)hoist_kit_fnv1a(HOIST_KIT_FNV64_INIT, p->dir, strlen(p->dir));
    int start = (int)(seed % (unsigned)slots);
    for (int i = 0; i < slots; i++) {
        int b = LOCAL_PORT_MIN + ((start + i) % slots) * LOCAL_PORT_COUNT;
        if (!local_range_free(b))
            continue;
        json_t *net = json_pack("{s:s,s:i,s:i}", "address", LOCAL_ADDR, "port_base", b,
                                "port_count", LOCAL_PORT_COUNT);
        char *path = local_path(p, "network.json");
        int rc = local_write_json(path, net);
        int e = errno;
        json_decref(net);
        if (rc != 0) {
            hoist_status st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", path,
                                            hoist_kit_strerror(e));
            free(path);
            return st;
        }
        free(path);
        *base = b;
        *count = LOCAL_PORT_COUNT;
        return HOIST_OK;
    }
    return p->host->fail(ctx, HOIST_E_QUOTA,
                         "no range of %d free ports between %d and %d on %s: stop some servers",
                         LOCAL_PORT_COUNT, LOCAL_PORT_MIN, LOCAL_PORT_MAX, LOCAL_ADDR);
}

hoist_status local_net_range(local_prov *p, hoist_ctx *ctx, int *base, int *count)
{
    int fd = local_lock(p);
    hoist_status st = local_net_range_locked(p, ctx, base, count);
    local_unlock(p, fd);
    return st;
}

static json_t *local_ports_load(local_prov *p)
{
    char *path = local_path(p, "ports.json");
    json_t *ports = json_load_file(path, 0, NULL);
    free(path);
    if (!json_is_object(ports)) {
        json_decref(ports);
        ports = json_object();
    }
    return ports;
}

static int local_ports_save(local_prov *p, json_t *ports)
{
    char *path = local_path(p, "ports.json");
    int rc = local_write_json(path, ports);
    free(path);
    return rc;
}

hoist_status local_port_get(local_prov *p, hoist_ctx *ctx, const char *key, int in_use_by_us,
                            int *port)
{
    int fd = local_lock(p);
    int base = 0, count = 0;
    json_t *ports = NULL;
    hoist_status st = local_net_range_locked(p, ctx, &base, &count);
    if (st != HOIST_OK)
        goto cleanup;
    ports = local_ports_load(p);
    int have = (int)json_integer_value(json_object_get(ports, key));
    if (have > 0 && (in_use_by_us || local_port_free(have))) {
        *port = have;
        goto cleanup;
    }
    if (have > 0)
        p->host->log(ctx, HOIST_LOG_WARN, "port %d is now used by another program; moving %s",
                     have, key);
    for (int i = 0; i < count; i++) {
        int cand = base + i;
        int taken = 0;
        const char *k;
        json_t *v;
        json_object_foreach(ports, k, v) if (json_integer_value(v) == cand) taken = 1;
        if (taken || !local_port_free(cand))
            continue;
        json_object_set_new(ports, key, json_integer(cand));
        if (local_ports_save(p, ports) != 0) {
            st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot write %s/ports.json: %s", p->dir,
                               hoist_kit_strerror(errno));
            goto cleanup;
        }
        *port = cand;
        goto cleanup;
    }
    st = p->host->fail(ctx, HOIST_E_QUOTA,
                       "all %d ports of this environment (%d-%d) are taken: destroy unused "
                       "resources, or delete %s/network.json to choose a new range",
                       count, base, base + count - 1, p->dir);
cleanup:
    json_decref(ports);
    local_unlock(p, fd);
    return st;
}

int local_port_peek(local_prov *p, const char *key)
{
    int fd = local_lock(p);
    json_t *ports = local_ports_load(p);
    int port = (int)json_integer_value(json_object_get(ports, key));
    json_decref(ports);
    local_unlock(p, fd);
    return port;
}

void local_port_release(local_prov *p, const char *key)
{
    int fd = local_lock(p);
    json_t *ports = local_ports_load(p);
    const char *k;
    json_t *v;
    void *tmp;
    size_t n = strlen(key);
    int changed = 0;
    json_object_foreach_safe(ports, tmp, k, v)
    {
        (void)v;
        /* "app/api/1" must not take "app/api/10" with it. */
        if (strncmp(k, key, n) == 0 && (k[n] == '\0' || k[n] == '/')) {
            json_object_del(ports, k);
            changed = 1;
        }
    }
    if (changed)
        local_ports_save(p, ports);
    json_decref(ports);
    local_unlock(p, fd);
}

static json_t *local_net_outputs(local_prov *p, const hoist_resource *r, int base, int count)
{
    return json_pack("{s:s,s:s,s:i,s:i,s:s}", "id", r->env, "address", LOCAL_ADDR, "port_base",
                     base, "port_count", count, "state_dir", p->dir);
}

static hoist_status local_network_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                         hoist_result *out)
{
    local_prov *p = vp;
    int base = 0, count = 0;
    hoist_status st = local_net_range(p, ctx, &base, &count);
    if (st != HOIST_OK)
        return st;
    out->outputs = local_net_outputs(p, r, base, count);
    return HOIST_OK;
}

static hoist_status local_network_observe(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                          hoist_result *out)
{
    (void)ctx;
    local_prov *p = vp;
    int base = 0, count = 0;
    int fd = local_lock(p);
    int have = local_net_read(p, &base, &count);
    local_unlock(p, fd);
    if (!have)
        return HOIST_E_NOTFOUND;
    out->outputs = local_net_outputs(p, r, base, count);
    return HOIST_OK;
}

static hoist_status local_network_destroy(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                          hoist_result *out)
{
    (void)r;
    (void)out;
    local_prov *p = vp;
    int fd = local_lock(p);
    char *net = local_path(p, "network.json");
    char *ports = local_path(p, "ports.json");
    hoist_status st = HOIST_OK;
    /* The core destroys the network last; ports still held mean a resource
     * was left behind, which keeps the range reserved for it. */
    json_t *held = local_ports_load(p);
    if (json_object_size(held) > 0)
        p->host->log(ctx, HOIST_LOG_WARN,
                     "%zu port(s) still recorded in %s; keeping the range for them",
                     json_object_size(held), ports);
    else if ((unlink(net) != 0 && errno != ENOENT) || (unlink(ports) != 0 && errno != ENOENT))
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot remove %s: %s", net,
                           hoist_kit_strerror(errno));
    else {
        /* The environment is empty: its directories go too (only if empty). */
        static const char *const subdirs[] = {"apps", "db", "logs"};
        for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
            char *d = local_path(p, "%s", subdirs[i]);
            rmdir(d);
            free(d);
        }
    }
    json_decref(held);
    free(net);
    free(ports);
    local_unlock(p, fd);
    return st;
}

const hoist_network_ops local_network_ops = {
    .struct_size = sizeof local_network_ops,
    .ensure = local_network_ensure,
    .observe = local_network_observe,
    .destroy = local_network_destroy,
};
