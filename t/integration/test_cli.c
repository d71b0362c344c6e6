/* test_cli.c: the herd command line: -t, -V, -h, bad options, bad files. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char dir[64];
static char path[128];

static void
make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/herd-cli-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/herd.yaml", dir);
}

static void
remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

TestSuite(cli, .init = make_dir, .fini = remove_dir, .timeout = 20);

Test(cli, check_good_file)
{
    char out[4096], expect[256];
    char *argv[] = {"herd", "-t", "-c", path, NULL};

    cr_assert_eq(hh_write_file(path,
                               "workers: 2\n"
                               "routes:\n"
                               "  - { path: /, respond: { body: hi } }\n"),
                 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 0);
    snprintf(expect, sizeof(expect), "%s: configuration ok\n", path);
    cr_expect_str_eq(out, expect);
}

Test(cli, check_bad_file_names_line_and_column)
{
    char out[4096], expect[256];
    char *argv[] = {"herd", "-t", "-c", path, NULL};

    cr_assert_eq(hh_write_file(path, "workers: 2\n"
                                     "wokers: 3\n"),
                 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1);
    snprintf(expect, sizeof(expect),
             "%s:2:1: unknown key \"wokers\" (did you mean \"workers\"?)\n",
             path);
    cr_expect_str_eq(out, expect);
}

Test(cli, check_opens_the_log_files)
{
    char out[4096], expect[512], yaml[512], logfile[160];
    char *argv[] = {"herd", "-t", "-c", path, NULL};

    cr_assert_eq(hh_write_file(path, "log:\n"
                                     "  access: /nonexistent/dir/a.log\n"),
                 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1);
    snprintf(expect, sizeof(expect),
             "%s: log.access: open(\"/nonexistent/dir/a.log\") failed (2: "
             "No such file or directory)\n",
             path);
    cr_expect_str_eq(out, expect);

    cr_assert_eq(hh_write_file(path, "log:\n"
                                     "  error: /nonexistent/dir/e.log\n"),
                 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1);
    cr_expect(strstr(out, "log.error: open(\"/nonexistent/dir/e.log\")") !=
                  NULL,
              "got: %s", out);

    /* A writable path is created, as the server would. */
    snprintf(logfile, sizeof(logfile), "%s/access.log", dir);
    snprintf(yaml, sizeof(yaml), "log:\n  access: %s\n", logfile);
    cr_assert_eq(hh_write_file(path, yaml), 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 0, "got: %s", out);
    cr_expect_eq(access(logfile, F_OK), 0);
    unlink(logfile);
}

Test(cli, check_missing_file)
{
    char out[4096];
    char *argv[] = {"herd", "-t", "-c", "/nonexistent/herd.yaml", NULL};

    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1);
    cr_expect(strstr(out, "/nonexistent/herd.yaml") != NULL, "got: %s", out);
    cr_expect(strstr(out, "No such file") != NULL, "got: %s", out);
}

Test(cli, check_never_binds)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    char out[4096], yaml[256];
    char *argv[] = {"herd", "-t", "-c", path, NULL};
    int fd;

    /* Hold a port without SO_REUSEPORT: any bind to it would fail, so -t
       succeeding proves it did not try. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    cr_assert_eq(listen(fd, 1), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    snprintf(yaml, sizeof(yaml),
             "listen: 127.0.0.1:%u\nroutes:\n"
             "  - { path: /, respond: { body: hi } }\n",
             (unsigned)ntohs(sin.sin_port));
    cr_assert_eq(hh_write_file(path, yaml), 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 0, "output: %s", out);
    close(fd);
}

Test(cli, run_fails_clearly_when_port_taken)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    char out[4096], yaml[256];
    char *argv[] = {"herd", "-c", path, NULL};
    int fd;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    cr_assert_eq(listen(fd, 1), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    snprintf(yaml, sizeof(yaml),
             "listen: 127.0.0.1:%u\nroutes:\n"
             "  - { path: /, respond: { body: hi } }\n",
             (unsigned)ntohs(sin.sin_port));
    cr_assert_eq(hh_write_file(path, yaml), 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1, "output: %s", out);
    cr_expect(strstr(out, "bind() failed") != NULL, "got: %s", out);
    cr_expect(strstr(out, "Address already in use") != NULL, "got: %s", out);
    close(fd);
}

Test(cli, version)
{
    char out[256];
    char *argv[] = {"herd", "-V", NULL};

    cr_expect_eq(hh_run(argv, out, sizeof(out)), 0);
    cr_expect(strncmp(out, "herd ", 5) == 0, "got: %s", out);
}

Test(cli, help)
{
    char out[4096];
    char *argv[] = {"herd", "-h", NULL};

    cr_expect_eq(hh_run(argv, out, sizeof(out)), 0);
    cr_expect(strstr(out, "Usage: herd [-c FILE] [-t] [-s SIGNAL] [-V] [-h]") !=
                  NULL,
              "got: %s", out);
}

Test(cli, bad_option)
{
    char out[4096];
    char *argv[] = {"herd", "-x", NULL};

    cr_expect_eq(hh_run(argv, out, sizeof(out)), 2);
    cr_expect(strstr(out, "Usage:") != NULL, "got: %s", out);
}

Test(cli, unix_listener_serves, .timeout = 30)
{
    struct hh_server s;
    char yaml[512], sock[128];

    snprintf(sock, sizeof(sock), "%s/h.sock", dir);
    snprintf(yaml, sizeof(yaml),
             "listen: [\"127.0.0.1:0\", { address: \"unix:%s\", mode: "
             "\"0600\" }]\n"
             "workers: 2\n"
             "routes:\n  - { path: /, respond: { body: unix } }\n",
             sock);
    cr_assert_eq(hh_start(&s, yaml, 2), 0);
    {
        char cmd[256], out[256] = "";
        FILE *p;
        snprintf(cmd, sizeof(cmd),
                 "curl -s --max-time 5 --unix-socket %s http://x/", sock);
        p = popen(cmd, "r");
        cr_assert_not_null(p);
        if (fgets(out, sizeof(out), p) == NULL)
            out[0] = '\0';
        pclose(p);
        cr_expect_str_eq(out, "unix");
    }
    cr_expect_eq(hh_stop(&s), 0);
    cr_expect_neq(access(sock, F_OK), 0, "socket file left behind");
}

Test(cli, log_write_failure_never_blocks, .timeout = 30)
{
    char yaml[512], sock[128], cmd[256], out[64];
    int i, st, ok = 0;
    pid_t pid;
    FILE *p;

    /* Every log write fails (ENOSPC) at debug level, where each request
       logs a line: herd must serve and stop as usual regardless. */
    snprintf(sock, sizeof(sock), "%s/full.sock", dir);
    snprintf(yaml, sizeof(yaml),
             "listen: \"unix:%s\"\nworkers: 2\n"
             "log: { error: /dev/full, level: debug }\n"
             "routes:\n  - { path: /, respond: { body: ok } }\n",
             sock);
    cr_assert_eq(hh_write_file(path, yaml), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        execl(getenv("HERD_BIN") ? getenv("HERD_BIN") : "src/herd", "herd",
              "-c", path, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 500 && access(sock, F_OK) != 0; i++)
        usleep(10000);
    cr_assert_eq(access(sock, F_OK), 0, "herd did not bind %s", sock);
    snprintf(cmd, sizeof(cmd),
             "curl -s --max-time 5 --unix-socket %s http://x/", sock);
    for (i = 0; i < 20; i++) {
        p = popen(cmd, "r");
        cr_assert_not_null(p);
        if (fgets(out, sizeof(out), p) != NULL && strcmp(out, "ok") == 0)
            ok++;
        pclose(p);
    }
    cr_expect_eq(ok, 20, "%d of 20 requests answered", ok);
    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
}
