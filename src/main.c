/* main.c: the herd command line: check a config, or run the master on it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "master.h"

#ifndef HERD_SYSCONFDIR
#define HERD_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG HERD_SYSCONFDIR "/herd.yaml"

static void
usage(FILE *f)
{
    fprintf(f,
            "Usage: herd [-c FILE] [-t] [-V] [-h]\n"
            "\n"
            "  -c FILE  configuration file (default: %s)\n"
            "  -t       check the configuration file and exit\n"
            "  -V       print the version and exit\n"
            "  -h       print this help and exit\n"
            "\n"
            "Signals to the master: TERM graceful stop, INT/QUIT fast stop.\n"
            "See herd(8) and herd.yaml(5).\n",
            DEFAULT_CONFIG);
}

int
main(int argc, char **argv)
{
    const char *file = DEFAULT_CONFIG;
    struct herd_config *cfg = NULL;
    char err[HERD_CONFIG_ERR_LEN];
    int opt, test = 0;

    while ((opt = getopt(argc, argv, "c:tVh")) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'V':
            printf("herd %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "herd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (herd_config_load(file, &cfg, err, sizeof(err)) != HERD_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (test) {
        /* Never bind: a probe socket joining the SO_REUSEPORT group of a
           running server would take (and reset) its queued connections. */
        printf("%s: configuration ok\n", file);
        herd_config_free(cfg);
        return 0;
    }
    return herd_master_run(cfg);
}
