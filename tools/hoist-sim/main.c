/*
 * main.c - hoist-sim: command line, start-up and shutdown.
 */
#include "autoconfig.h"

#include "sim.h"
#include "util.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fputs("Usage: hoist-sim [OPTION]...\n"
          "A local simulator of the DigitalOcean and Scaleway APIs for testing hoist.\n"
          "\n"
          "  --host ADDR              listen address (default 127.0.0.1)\n"
          "  --port N                 listen port (default 4566; 0 picks a free one)\n"
          "  --do-token TOKEN         DigitalOcean bearer token (default hoist-sim-do-token)\n"
          "  --scw-credentials AK:SK  Scaleway access key and secret key\n"
          "                           (default SCWSIMULATOR00000000:hoist-sim-scw-secret)\n"
          "  --aws-credentials AK:SK  AWS access key and secret SigV4 signatures are checked\n"
          "                           with (default AKIDHOISTSIM:hoist-sim-secret)\n"
          "  --delay K=DUR,...        status delays: cluster, pool, database, instance,\n"
          "                           namespace, registry, vpc, private_network, rollout\n"
          "                           (Kubernetes pods becoming ready) (e.g. 2s, 150ms)\n"
          "  --faults K=V,...         error, throttle, reset, lost (probabilities), latency\n"
          "                           (duration); prefix a cloud to scope: do.error=0.3\n"
          "  --seed N                 fault seed (default 1)\n"
          "  --state-dir DIR          keep resources in DIR/hoist-sim-state.json across runs\n"
          "  -h, --help               show this help\n"
          "\n"
          "Prints 'hoist-sim: listening on http://HOST:PORT' when ready.  APIs: /v2/\n"
          "(DigitalOcean), /vpc/v2/ /k8s/v1/ /registry/v1/ /rdb/v1/ (Scaleway), /kube/\n"
          "(cluster endpoints), /_sim/ (admin).  See hoist-sim(1).\n",
          fp);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},     {"port", required_argument, NULL, 'p'},
        {"do-token", required_argument, NULL, 'd'}, {"scw-credentials", required_argument, NULL, 's'},
        {"delay", required_argument, NULL, 'D'},    {"faults", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 'S'},     {"state-dir", required_argument, NULL, 't'},
        {"aws-credentials", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1";
    long port = 4566;
    char *err = NULL, *end;
    int c, rc = 1;
    sigset_t set;

    sim_cfg.do_token = hoist_xstrdup("hoist-sim-do-token");
    sim_cfg.scw_access = hoist_xstrdup("SCWSIMULATOR00000000");
    sim_cfg.scw_secret = hoist_xstrdup("hoist-sim-scw-secret");
    /* modules first: --state-dir needs their resource kinds */
    sim_admin_register();
    sim_do_register();
    sim_scw_register();
    sim_kube_register();
    sim_aws_register();

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = strtol(optarg, &end, 10);
            if (*end || port < 0 || port > 65535) {
                fprintf(stderr, "hoist-sim: --port %s: expected 0..65535\n", optarg);
                goto cleanup;
            }
            break;
        case 'd':
            free(sim_cfg.do_token);
            sim_cfg.do_token = hoist_xstrdup(optarg);
            break;
        case 's': {
            const char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg || !colon[1]) {
                fputs("hoist-sim: --scw-credentials: expected ACCESS_KEY:SECRET_KEY\n", stderr);
                goto cleanup;
            }
            free(sim_cfg.scw_access);
            free(sim_cfg.scw_secret);
            sim_cfg.scw_access = hoist_xstrndup(optarg, (size_t)(colon - optarg));
            sim_cfg.scw_secret = hoist_xstrdup(colon + 1);
            break;
        }
        case 'a': {
            const char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg || !colon[1]) {
                fputs("hoist-sim: --aws-credentials: expected ACCESS_KEY_ID:SECRET_ACCESS_KEY\n",
                      stderr);
                goto cleanup;
            }
            free(sim_cfg.aws_access);
            free(sim_cfg.aws_secret);
            sim_cfg.aws_access = hoist_xstrndup(optarg, (size_t)(colon - optarg));
            sim_cfg.aws_secret = hoist_xstrdup(colon + 1);
            break;
        }
        case 'D':
            if (sim_delays_parse(optarg, &err) != 0)
                goto bad;
            break;
        case 'f':
            if (sim_faults_parse(optarg, &err) != 0)
                goto bad;
            break;
        case 'S':
            sim_faults_seed(strtoull(optarg, &end, 10));
            if (*end) {
                fprintf(stderr, "hoist-sim: --seed %s: expected an integer\n", optarg);
                goto cleanup;
            }
            break;
        case 't':
            sim_cfg.state_dir = hoist_xstrdup(optarg);
            if (hoist_mkdirs(optarg, 0700) != 0) {
                fprintf(stderr, "hoist-sim: --state-dir %s: cannot create it\n", optarg);
                goto cleanup;
            }
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto cleanup;
        default:
            usage(stderr);
            goto cleanup;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hoist-sim: unexpected argument '%s' (see --help)\n", argv[optind]);
        goto cleanup;
    }
    if (sim_store_load(&err) != 0)
        goto bad;

    /* block the stop signals before the server threads start, then wait for one */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (sim_serve(host, (unsigned)port, &err) != 0)
        goto bad;
    sim_cfg.base_url = hoist_xasprintf("http://%s:%u", host, sim_port());
    printf("hoist-sim: listening on %s\n", sim_cfg.base_url);
    fflush(stdout);
    sigwait(&set, &c);
    sim_stop();
    rc = 0;
    goto cleanup;
bad:
    fprintf(stderr, "hoist-sim: %s\n", err);
cleanup:
    free(err);
    return rc;
}
