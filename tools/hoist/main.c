/* main.c - the hoist command line: option parsing and dispatch. */
#include "autoconfig.h"
#include "cli.h"
#include "driver.h"
#include "imagexec.h"
#include "loader.h"
#include "util.h"
#include "log.h"

#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static const cli_command commands[] = {
    {"validate", cmd_validate, "check hoist.yml and report every problem with file:line:column",
     "usage: hoist validate [-f FILE] [-e ENV] [-o json]\n\n"
     "Parses FILE (default ./hoist.yml), checks every field, and reports all\n"
     "problems at once as FILE:LINE:COLUMN: message.  Also checks that each\n"
     "environment's provider is installed and that every key of the\n"
     "environment is hoist's or one its driver declares, with \"did you mean\"\n"
     "(only ENV's driver with -e; -v notes drivers that declare none).\n"
     "Contacts nothing.  -o json prints one document on stdout: {file, valid,\n"
     "errors: [{file, line, column, message}], and project and counts when\n"
     "valid}.  Exit 0 if valid, 2 otherwise.\n"},
    {"build", cmd_build, "build application images (and push them with --push)",
     "usage: hoist build [-f FILE] [-e ENV] [--push --registry URL] [--force] [-o json] [APP...]\n\n"
     "Builds the image of each application (or of the APPs named) into the\n"
     "local OCI layout .hoist/images next to FILE, and prints one line per app:\n"
     "name, reference, manifest digest, and whether it was built or cached.\n"
     "An app with `image:` is deployed as is and not built.  build.builder\n"
     "chooses the builder: native (hoist assembles the image itself, no daemon),\n"
     "docker, podman, buildah, or auto (an engine when the app has a Dockerfile\n"
     "and the engine answers, else native).  Builds are reproducible: same\n"
     "inputs, same digest (SOURCE_DATE_EPOCH sets the file times, default 0).\n\n"
     "  --push           push each image; only missing blobs are sent\n"
     "  --registry URL   the registry and namespace to push to, e.g.\n"
     "                   https://registry.example.com/team (repository\n"
     "                   NAMESPACE/APP, default PROJECT/APP); credentials from\n"
     "                   $DOCKER_CONFIG/config.json or ~/.docker/config.json.\n"
     "                   Plain http:// only to a loopback registry.\n"
     "  --force          rebuild the application layer even when unchanged\n"
     "  -e ENV           only check that ENV exists (deploy builds and pushes\n"
     "                   to the environment's registry by itself)\n\n"
     "Exit 0 all built, 1 a build or push failed, 2 usage (unknown APP,\n"
     "--push without --registry).\n"},
    {"providers", cmd_providers, "list the provider drivers hoist can load",
     "usage: hoist providers [--provider-dir DIR] [-o json]\n"
     "       hoist providers info NAME\n\n"
     "Lists every driver found in the search path with its version, ABI,\n"
     "capabilities and file.  A driver that cannot be loaded is listed with the\n"
     "reason.  Search path: --provider-dir, then $HOIST_PROVIDER_PATH\n"
     "(colon-separated), then " HOIST_PROVIDERDIR ".\n"
     "`info NAME` loads one driver and prints its descriptor, the hoist.yml\n"
     "settings it declares (type and meaning), and its operations\n"
     "(or, when it cannot start without settings, why).  Exit 1 when a\n"
     "driver is refused or not found.\n"},
    {"plan", cmd_plan, "show what deploy would change, and why (writes nothing)", cli_help_plan},
    {"deploy", cmd_deploy, "create or update everything an environment needs", cli_help_deploy},
    {"destroy", cmd_destroy, "delete every resource of an environment", cli_help_destroy},
    {"status", cmd_status, "observe every resource and report drift", cli_help_status},
    {"pause", cmd_pause, "stop apps and databases without losing data", cli_help_pause},
    {"graph", cmd_graph, "print the resource graph (Graphviz DOT, svg, png)", cli_help_graph},
    {"logs", cmd_logs, "show an application's output", cli_help_logs},
    {"kubeconfig", cmd_kubeconfig, "write a kubeconfig for the environment's cluster",
     cli_help_kubeconfig},
    {"state", cmd_state, "show the history of, roll back or migrate an environment's state", cli_help_state},
    {"force-unlock", cmd_force_unlock, "break a stale lock on shared state",
     cli_help_force_unlock},
};

static const size_t n_commands = sizeof commands / sizeof commands[0];

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: hoist [--version] [--help] COMMAND [OPTIONS]\n\n"
            "hoist turns hoist.yml (applications, databases, environments) into real\n"
            "infrastructure on the cloud named for each environment, and deploys the\n"
            "applications onto it.\n\n"
            "Commands:\n");
    for (size_t i = 0; i < n_commands; i++)
        fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].synopsis);
    fprintf(fp,
            "  %-12s %s\n\n"
            "Common options:\n"
            "  -f, --file FILE        the project file, or a directory holding hoist.yml\n"
            "                         (default: hoist.yml here or in the nearest parent)\n"
            "  -e, --env ENV          the environment (dev, staging, production...)\n"
            "      --provider-dir DIR look for drivers in DIR first\n"
            "  -o, --output FORMAT    text (default) or json\n"
            "  -v, --verbose          more detail (debug lines, retries, polls)\n"
            "      --trace            log every HTTP exchange, secrets redacted (HOIST_TRACE=1)\n"
            "  -y, --yes              do not ask for confirmation\n\n"
            "Exit status: 0 done, 1 failed, 2 usage or configuration error,\n"
            "130 interrupted.  No colour or cursor movement when NO_COLOR is set,\n"
            "TERM is dumb, or the output is not a terminal.\n\n"
            "Start with: hoist plan -e dev, then hoist deploy -e dev (see hoist help deploy)\n",
            "help", "show help for a command");
}

/*
 * The project file: -f FILE, or FILE/hoist.yml when FILE is a directory;
 * without -f, hoist.yml in the current directory or the nearest parent that
 * has one (as git finds its repository).  Returns a new string, or NULL to
 * keep @file as given (errors then name it).
 */
static char *find_project_file(const char *file, int given)
{
    struct stat st;
    if (given)
        return stat(file, &st) == 0 && S_ISDIR(st.st_mode)
                   ? hoist_xasprintf("%s/hoist.yml", file) : NULL;
    char *dir = getcwd(NULL, 0);
    char *found = NULL;
    while (dir && !found) {
        char *cand = hoist_xasprintf("%s/hoist.yml", strcmp(dir, "/") == 0 ? "" : dir);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode))
            found = cand;
        else
            free(cand);
        char *slash = strrchr(dir, '/');
        if (found || !slash || strcmp(dir, "/") == 0)
            break;
        slash[slash == dir ? 1 : 0] = '\0';
    }
    free(dir);
    return found;
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    fprintf(stderr, "hoist: unknown command '%s'", name);
    hoist_suggest s;
    hoist_suggest_init(&s, name);
    for (size_t i = 0; i < n_commands; i++)
        hoist_suggest_try(&s, commands[i].name);
    if (s.best)
        fprintf(stderr, "; did you mean '%s'?", s.best);
    fprintf(stderr, "\nRun 'hoist --help' for the list of commands.\n");
    return EXIT_USAGE;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 1) {
        usage(stdout);
        return EXIT_DONE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs("usage: hoist help [COMMAND]\n\nWithout COMMAND, the same as hoist --help; with "
              "one, its help page\n(the same as hoist COMMAND --help).\n", stdout);
        return EXIT_DONE;
    }
    const cli_command *c = find_command(argv[0]);
    if (!c)
        return unknown_command(argv[0]);
    fputs(c->help, stdout);
    return EXIT_DONE;
}

enum { OPT_PROVIDER_DIR = 256, OPT_TRACE, OPT_PARALLELISM, OPT_LOCK_TIMEOUT, OPT_FORCE, OPT_FOLLOW,
       OPT_PUSH, OPT_FORMAT, OPT_REGISTRY, OPT_TO };

int main(int argc, char **argv)
{
#ifdef M_ARENA_MAX
    /* glibc gives each thread that allocates its own heap arena and keeps
     * what it freed there: with 8 pipeline workers each parsing large API
     * answers, peak RSS grew with the worker count (destroy of 200 apps on
     * hoist-sim: 72 MiB; 22 MiB with two arenas).  The workers wait on the
     * network, so sharing arenas costs nothing measurable. */
    mallopt(M_ARENA_MAX, 2);
#endif
    /* The pipeline's executors beyond the driver's own operations. */
    hoist_image_executor_register();
    /* A driver that crashes is named, not a bare "Segmentation fault". */
    hoist_crash_report_install();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("hoist %s (provider ABI %d.%d)\n", PACKAGE_VERSION, HOIST_ABI_MAJOR, HOIST_ABI_MINOR);
        return EXIT_DONE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return EXIT_DONE;
    }
    if (strcmp(cmd, "help") == 0)
        return cmd_help(argc - 2, argv + 2);
    const cli_command *c = find_command(cmd);
    if (!c)
        return unknown_command(cmd);

    cli_opts o = {.file = "hoist.yml", .output = "text", .parallelism = 8, .lock_timeout = 0};
    int file_given = 0;
    const char *tr = getenv("HOIST_TRACE");
    o.trace = tr && strcmp(tr, "1") == 0;
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},
        {"env", required_argument, NULL, 'e'},
        {"output", required_argument, NULL, 'o'},
        {"verbose", no_argument, NULL, 'v'},
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {"provider-dir", required_argument, NULL, OPT_PROVIDER_DIR},
        {"trace", no_argument, NULL, OPT_TRACE},
        {"parallelism", required_argument, NULL, OPT_PARALLELISM},
        {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
        {"force", no_argument, NULL, OPT_FORCE},
        {"follow", no_argument, NULL, OPT_FOLLOW},
        {"push", no_argument, NULL, OPT_PUSH},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"registry", required_argument, NULL, OPT_REGISTRY},
        {"to", required_argument, NULL, OPT_TO},
        {NULL, 0, NULL, 0},
    };
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "f:e:o:vyh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f': o.file = optarg; file_given = 1; break;
        case 'e': o.env = optarg; break;
        case 'o':
            /* kubeconfig's -o is a path. */
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0 &&
                c->run != cmd_kubeconfig) {
                fprintf(stderr, "hoist %s: --output takes 'text' or 'json', not '%s'\n", cmd, optarg);
                return EXIT_USAGE;
            }
            o.output = optarg;
            break;
        case 'v': o.verbose++; break;
        case 'y': o.yes = 1; break;
        case 'h': fputs(c->help, stdout); return EXIT_DONE;
        case OPT_PROVIDER_DIR: o.provider_dir = optarg; break;
        case OPT_TRACE: o.trace = 1; break;
        case OPT_PARALLELISM: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 256) {
                fprintf(stderr, "hoist %s: --parallelism takes a number from 1 to 256, not '%s'\n",
                        cmd, optarg);
                return EXIT_USAGE;
            }
            o.parallelism = (int)v;
            break;
        }
        case OPT_LOCK_TIMEOUT: {
            char *end;
            double v = strtod(optarg, &end);
            if (*end || v < 0) {
                fprintf(stderr, "hoist %s: --lock-timeout takes seconds (e.g. 30), not '%s'\n", cmd,
                        optarg);
                return EXIT_USAGE;
            }
            o.lock_timeout = v;
            break;
        }
        case OPT_FORCE: o.force = 1; break;
        case OPT_FOLLOW: o.follow = 1; break;
        case OPT_PUSH: o.push = 1; break;
        case OPT_FORMAT: o.format = optarg; break;
        case OPT_REGISTRY: o.registry = optarg; break;
        case OPT_TO: o.to = optarg; break;
        default:
            /* getopt named the option; suggest the long one it resembles. */
            if (optind > 1 && strncmp(argv[optind - 1], "--", 2) == 0) {
                char *word = hoist_xstrndup(argv[optind - 1] + 2,
                                            strcspn(argv[optind - 1] + 2, "="));
                hoist_suggest s;
                hoist_suggest_init(&s, word);
                for (const struct option *lo = longopts; lo->name; lo++)
                    hoist_suggest_try(&s, lo->name);
                if (s.best && strcmp(s.best, word) != 0)
                    fprintf(stderr, "hoist %s: did you mean '--%s'?\n", cmd, s.best);
                free(word);
            }
            fprintf(stderr, "Run 'hoist help %s' for its options.\n", cmd);
            return EXIT_USAGE;
        }
    }
    /* --force is parsed for every command; only these act on it. */
    if (o.force && c->run != cmd_build && c->run != cmd_destroy && c->run != cmd_state &&
        c->run != cmd_force_unlock) {
        fprintf(stderr, "hoist %s: --force does nothing here; it applies to build, destroy, "
                        "state migrate and force-unlock (see hoist help %s)\n", cmd, cmd);
        return EXIT_USAGE;
    }
    o.args = argv + optind;
    o.nargs = argc - optind;
    char *project_file = find_project_file(o.file, file_given);
    if (project_file)
        o.file = project_file;
    hoist_log_set_level(o.trace ? HOIST_LOG_TRACE_ : o.verbose ? HOIST_LOG_DEBUG_ : HOIST_LOG_INFO_);
    int rc = c->run(&o);
    free(project_file);
    return rc;
}
