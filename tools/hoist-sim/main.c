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
          "A local simulator of the AWS, DigitalOcean, Scaleway and Kubernetes APIs for testing hoist.\n"
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
          "                           (Kubernetes pods becoming ready), nat (AWS NAT\n"
          "                           gateways) (e.g. 2s, 150ms)\n"
          "  --faults K=V,...         error, throttle, reset, lost (probabilities), latency\n"
          "                           (duration); prefix a cloud to scope: do.error=0.3\n"
          "  --seed N                 fault seed (default 1)\n"
          "  --state-dir DIR          keep resources in DIR/hoist-sim-state.json across runs\n"
          "  --registry URL           registry the clouds' registry APIs point at (default:\n"
          "                           start docker-registry on a free 127.0.0.1 port)\n"
          "  --registry-credentials USER:PASS  its login (required with --registry)\n"
          "  --no-registry            run no registry\n"
          "  --tls                    serve HTTPS with a CA made at start-up\n"
          "  --ca-out FILE            write that CA's PEM to FILE (default\n"
          "                           <state-dir or temp dir>/hoist-sim-ca.pem)\n"
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
        {"registry", required_argument, NULL, 'R'}, {"registry-credentials", required_argument, NULL, 'C'},
        {"no-registry", no_argument, NULL, 'N'},    {"tls", no_argument, NULL, 'T'},
        {"ca-out", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1", *ca_out = NULL;
    int tls = 0;
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
    sim_s3_register(); /* before AWS: its claim takes every other signed request */
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
        case 'R':
            if (sim_registry_use(optarg, &err) != 0)
                goto bad;
            break;
        case 'C':
            if (sim_registry_credentials(optarg, &err) != 0)
                goto bad;
            break;
        case 'N':
            sim_registry_disable();
            break;
        case 'T':
            tls = 1;
            break;
        case 'O':
            ca_out = optarg;
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

    /*
     * Block the stop signals before the registry child and the server
     * threads start, then wait for one: a stop always runs the clean-up.
     */
    signal(SIGINT, SIG_DFL); /* a shell script's background job starts with SIGINT ignored */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!tls && ca_out) {
        err = hoist_xstrdup("--ca-out needs --tls");
        goto bad;
    }
    if ((tls && sim_tls_setup(host, ca_out, &err) != 0) || sim_registry_start(&err) != 0 ||
        sim_serve(host, (unsigned)port, &err) != 0)
        goto bad;
    sim_cfg.base_url = hoist_xasprintf("%s://%s:%u", tls ? "https" : "http", host, sim_port());
    if (sim_registry_url())
        printf("hoist-sim: registry at %s\n", sim_registry_url());
    printf("hoist-sim: listening on %s\n", sim_cfg.base_url);
    fflush(stdout);
    sigwait(&set, &c);
    sim_stop();
    rc = 0;
    goto cleanup;
bad:
    fprintf(stderr, "hoist-sim: %s\n", err);
cleanup:
    sim_registry_stop();
    sim_rundir_cleanup();
    free(err);
    return rc;
}
