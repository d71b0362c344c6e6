/* main.c: the herd command line: check a config, or run the master on it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "access.h"
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
            "Usage: herd [-c FILE] [-t] [-s SIGNAL] [-V] [-h]\n"
            "\n"
            "  -c FILE    configuration file (default: %s)\n"
            "  -t         check the configuration file and exit\n"
            "  -s SIGNAL  check the file, then signal the herd whose pid is\n"
            "             in its pid_file: reload (HUP), stop (TERM),\n"
            "             quit (QUIT) or reopen (USR1)\n"
            "  -V         print the version and exit\n"
            "  -h         print this help and exit\n"
            "\n"
            "Signals to the master: HUP reload, TERM graceful stop, INT/QUIT\n"
            "fast stop, USR1 reopen logs, TTIN/TTOU one worker more/fewer.\n"
            "See herd(8) and herd.yaml(5).\n",
            DEFAULT_CONFIG);
}

static const struct {
    const char *name;
    int sig;
} signals[] = {
    {"reload", SIGHUP},
    {"stop", SIGTERM},
    {"quit", SIGQUIT},
    {"reopen", SIGUSR1},
};

/* herd -s: signal the running master named by cfg's pid_file. */
static int
send_signal(const struct herd_config *cfg, const char *file, int sig,
            const char *name)
{
    char buf[32];
    ssize_t n;
    long pid;
    char *end;
    int fd;

    if (cfg->pid_file == NULL) {
        fprintf(stderr,
                "herd: -s %s: %s sets no pid_file, so the running "
                "herd cannot be found\n",
                name, file);
        return 1;
    }
    fd = open(cfg->pid_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "herd: -s %s: cannot open %s (%s): is herd running?\n",
                name, cfg->pid_file, strerror(errno));
        return 1;
    }
    /* The running master holds an exclusive lock on its pid file: if we
       can lock it, the file is stale (a master killed with -9) and its pid
       may belong to an unrelated process by now. */
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        fprintf(stderr, "herd: -s %s: %s is stale: no herd holds it\n", name,
                cfg->pid_file);
        close(fd);
        return 1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    pid = strtol(buf, &end, 10);
    if (pid <= 1 || (*end != '\n' && *end != '\0')) {
        fprintf(stderr, "herd: -s %s: %s does not hold a pid\n", name,
                cfg->pid_file);
        return 1;
    }
    if (kill((pid_t)pid, sig) < 0) {
        fprintf(stderr, "herd: -s %s: kill(%ld) failed (%s)\n", name, pid,
                strerror(errno));
        return 1;
    }
    printf("herd: sent SIG%s to pid %ld\n", sigabbrev_np(sig), pid);
    return 0;
}

/* herd -t: whether the log file spec names can be opened for appending. */
static int
test_log(const char *file, const char *key, const char *spec)
{
    struct herd_access_log l;
    char err[HERD_ERR_LEN];

    if (herd_access_open(&l, spec, HERD_ACCESS_COMBINED, err, sizeof(err)) !=
        HERD_OK) {
        fprintf(stderr, "%s: %s: %s\n", file, key, err);
        return -1;
    }
    herd_access_close(&l);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *file = DEFAULT_CONFIG, *sname = NULL;
    struct herd_config *cfg = NULL;
    char err[HERD_CONFIG_ERR_LEN];
    int opt, test = 0, sig = 0, rc;
    size_t i;

    while ((opt = getopt(argc, argv, "c:ts:Vh")) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 's':
            sname = optarg;
            for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
                if (strcmp(optarg, signals[i].name) == 0)
                    sig = signals[i].sig;
            if (sig == 0) {
                fprintf(stderr,
                        "herd: -s: unknown signal \"%s\" (use reload, "
                        "stop, quit or reopen)\n",
                        optarg);
                return 2;
            }
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
    if (sig != 0) {
        /* The file is checked first, so a bad reload is seen here, at the
           prompt, not only in the server's log. */
        rc = send_signal(cfg, file, sig, sname);
        herd_config_free(cfg);
        return rc;
    }
    if (test) {
        /* Never bind: a probe socket joining the SO_REUSEPORT group of a
           running server would take (and reset) its queued connections.
           The log files are opened (and created) as the server would. */
        if (test_log(file, "log.error", cfg->log.error) != 0 ||
            test_log(file, "log.access", cfg->log.access) != 0) {
            herd_config_free(cfg);
            return 1;
        }
        printf("%s: configuration ok\n", file);
        herd_config_free(cfg);
        return 0;
    }
    return herd_master_run(cfg, file);
}
