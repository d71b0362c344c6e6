/* test_supervision.c: the master: respawn, hung workers, signals, reload. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* How long any awaited log line or state may take. */
#define WAIT_MS 10000

static struct hh_server srv;
/* More keys for the worker: mapping, such as ", max_requests: 20". */
static const char *worker_extra = "";

/*
 * The YAML of a server with workers workers answering body on "/", plus
 * extra (top-level keys, may be ""). hh_start adds listen and log. Short
 * heartbeats keep hung-worker kills and reloads well under a second;
 * timeout leaves room for a loaded CI machine (and sanitizers).
 */
static void
conf_text(char *buf, size_t len, int workers, const char *body,
          const char *extra)
{
    snprintf(
        buf, len,
        "workers: %d\n"
        "worker: { heartbeat: 100ms, timeout: 1s, shutdown_timeout: 2s%s }\n"
        "%s"
        "routes:\n"
        "  - { path: /, respond: { body: \"%s\" } }\n",
        workers, worker_extra, extra, body);
}

static void
start(int workers, const char *body, const char *extra)
{
    char yaml[1024];

    conf_text(yaml, sizeof(yaml), workers, body, extra);
    cr_assert_eq(hh_start(&srv, yaml, workers), 0, "herd did not start");
}

/* Rewrite the running server's file (same listen and log as hh_start
   gave it), ready for a SIGHUP. */
static void
rewrite(int workers, const char *body, const char *extra)
{
    char yaml[1024], text[1536];

    conf_text(yaml, sizeof(yaml), workers, body, extra);
    snprintf(text, sizeof(text),
             "listen: [\"127.0.0.1:0\"]\n"
             "log: { level: debug, error: %s }\n%s",
             srv.log, yaml);
    cr_assert_eq(hh_write_file(srv.conf, text), 0);
}

/* A pid_file in a directory of its own (hh_start's dir is made later). */
static char pid_dir[64], pid_path[128], pid_extra[200];

static void
make_pid_dir(void)
{
    snprintf(pid_dir, sizeof(pid_dir), "/tmp/herd-pid-XXXXXX");
    cr_assert_not_null(mkdtemp(pid_dir));
    snprintf(pid_path, sizeof(pid_path), "%s/herd.pid", pid_dir);
    snprintf(pid_extra, sizeof(pid_extra), "pid_file: %s\n", pid_path);
}

static void
remove_pid_dir(void)
{
    unlink(pid_path);
    rmdir(pid_dir);
}

static void
stop(void)
{
    if (srv.pid > 0)
        cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
    if (pid_dir[0] != '\0')
        remove_pid_dir();
}

/* GET / on a new connection: the status, the body copied into body. */
static int
get(char *body, size_t len)
{
    struct hh_response r;
    int status;

    memset(&r, 0, sizeof(r)); /* hh_request may fail before filling it */
    if (hh_request(&srv, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r) != 0) {
        hh_response_free(&r);
        return -1;
    }
    status = r.status;
    if (body != NULL)
        snprintf(body, len, "%s", r.body);
    hh_response_free(&r);
    return status;
}

/* Poll until GET / answers 200 with body (the new generation serves). */
static int
wait_body(const char *body, int timeout_ms)
{
    struct timespec ts = {0, 10 * 1000000L};
    char got[256];
    int i;

    for (i = 0; i < timeout_ms / 10; i++) {
        if (get(got, sizeof(got)) == 200 && strcmp(got, body) == 0)
            return 0;
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void
wait_log(const char *text, int count)
{
    cr_assert_eq(hh_wait_log(&srv, text, count, WAIT_MS), 0,
                 "\"%s\" (x%d) not in the log within %d ms", text, count,
                 WAIT_MS);
}

static void
expect_load_clean(struct hh_load *l)
{
    struct hh_load_result r;

    cr_assert_eq(hh_load_stop(l, &r), 0, "a load client did not report");
    cr_log_info("load: %ld ok, %ld failed, %ld keep-alive reconnects", r.ok,
                r.failed, r.reconnects);
    cr_expect_gt(r.ok, 0, "the load made no request");
    cr_expect_eq(r.failed, 0, "%ld of %ld requests failed; first: %s", r.failed,
                 r.ok + r.failed, r.first_error);
}

TestSuite(supervision, .fini = stop, .timeout = 40);

Test(supervision, kill9_worker_is_replaced_in_its_slot)
{
    char line[128];
    pid_t w0, w1, n0;
    int i;

    start(2, "v1", "");
    w0 = hh_worker_pid(&srv, 0, 1);
    w1 = hh_worker_pid(&srv, 1, 1);
    cr_assert(w0 > 0 && w1 > 0);
    cr_assert_eq(get(NULL, 0), 200);
    cr_assert_eq(kill(w0, SIGKILL), 0);
    /* Slot 0's socket outlives its worker: what the kernel queues there
       meanwhile is served by the replacement, nothing is refused. */
    for (i = 0; i < 20; i++)
        cr_assert_eq(get(NULL, 0), 200, "request %d after the kill", i);
    snprintf(line, sizeof(line),
             "worker 0 (pid %d) killed by signal 9 (Killed); not sent by "
             "herd: possibly killed for memory",
             (int)w0);
    wait_log(line, 1);
    wait_log("serving (slot 0,", 2);
    n0 = hh_worker_pid(&srv, 0, 1);
    cr_expect_neq(n0, w0);
    cr_expect(hh_alive(n0), "the new worker 0 (pid %d) is not running",
              (int)n0);
    cr_expect_eq(hh_worker_pid(&srv, 1, 1), w1, "worker 1 was replaced too");
    cr_expect(hh_alive(w1), "worker 1 (pid %d) is gone", (int)w1);
    cr_expect_eq(hh_wait_children(srv.pid, 2, WAIT_MS), 0);
    for (i = 0; i < 20; i++)
        cr_assert_eq(get(NULL, 0), 200, "request %d after respawn", i);
}

Test(supervision, stopped_worker_is_killed_after_timeout)
{
    char line[128];
    pid_t w0, w1;

    start(2, "v1", "");
    w0 = hh_worker_pid(&srv, 0, 1);
    w1 = hh_worker_pid(&srv, 1, 1);
    cr_assert_eq(kill(w0, SIGSTOP), 0);
    snprintf(line, sizeof(line), "worker 0 (pid %d) silent for ", (int)w0);
    wait_log(line, 1);
    cr_expect_eq(hh_log_count(&srv, "(worker.timeout 1000 ms): hung, "
                                    "killing it"),
                 1);
    /* Killed by herd: no OOM suspicion. */
    snprintf(line, sizeof(line), "worker 0 (pid %d) killed by signal 9",
             (int)w0);
    wait_log(line, 1);
    cr_expect_eq(hh_log_count(&srv, "possibly killed for memory"), 0);
    wait_log("serving (slot 0,", 2);
    cr_expect_eq(hh_wait_gone(w0, WAIT_MS), 0);
    cr_expect_neq(hh_worker_pid(&srv, 0, 1), w0);
    cr_expect_eq(hh_worker_pid(&srv, 1, 1), w1);
    cr_expect_eq(hh_wait_children(srv.pid, 2, WAIT_MS), 0);
    cr_expect_eq(get(NULL, 0), 200);
}

Test(supervision, reload_under_load_fails_no_request)
{
    struct hh_load load;
    char body[64];
    pid_t old[2];
    int i;

    start(2, "v1", "");
    old[0] = hh_worker_pid(&srv, 0, 1);
    old[1] = hh_worker_pid(&srv, 1, 1);
    cr_assert_eq(get(body, sizeof(body)), 200);
    cr_assert_str_eq(body, "v1");
    cr_assert_eq(hh_load_start(&load, &srv, 3, 3), 0);
    rewrite(2, "v2", "");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 2 worker(s)", 1);
    /* Old workers drain while the clients keep going. */
    for (i = 0; i < 2; i++)
        cr_expect_eq(hh_wait_gone(old[i], WAIT_MS), 0,
                     "old worker %d (pid %d) still running", i, (int)old[i]);
    cr_expect_eq(wait_body("v2", WAIT_MS), 0, "generation 2 not serving v2");
    expect_load_clean(&load);
    cr_expect_eq(hh_wait_children(srv.pid, 2, WAIT_MS), 0);
    cr_expect(hh_worker_pid(&srv, 0, 2) > 0 && hh_worker_pid(&srv, 1, 2) > 0);
    cr_expect_eq(hh_log_count(&srv, "reload failed"), 0);
}

Test(supervision, bad_yaml_on_hup_keeps_generation)
{
    char want[512], body[64];
    pid_t w0, w1, kids[4];
    const char *at;
    int n, line, col;

    start(2, "v1", "");
    w0 = hh_worker_pid(&srv, 0, 1);
    w1 = hh_worker_pid(&srv, 1, 1);
    /* An unclosed flow mapping: a YAML syntax error, not a bad value. */
    cr_assert_eq(hh_write_file(srv.conf,
                               "workers: 2\n"
                               "routes:\n"
                               "  - { path: /, respond: { body: x }\n"),
                 0);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    snprintf(want, sizeof(want), "reload failed: %s:", srv.conf);
    wait_log(want, 1);
    wait_log("; generation 1 keeps serving", 1);
    /* file:line:col: reason */
    {
        FILE *f = fopen(srv.log, "r");
        char buf[8192];
        size_t len;

        cr_assert_not_null(f);
        len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        at = strstr(buf, want);
        cr_assert_not_null(at);
        cr_expect_eq(
            sscanf(at + strlen(want), "%d:%d: syntax error", &line, &col), 2,
            "no line:col: reason in: %.200s", at);
        cr_expect_eq(line, 4);
    }
    cr_expect_eq(hh_log_count(&srv, "started worker"), 2,
                 "workers were started for a bad file");
    n = hh_children(srv.pid, kids, 4, NULL);
    cr_expect_eq(n, 2);
    cr_expect(hh_alive(w0) && hh_alive(w1));
    cr_expect_eq(get(body, sizeof(body)), 200);
    cr_expect_str_eq(body, "v1");
    cr_expect_eq(hh_worker_pid(&srv, 0, 0), w0);
    cr_expect_eq(hh_worker_pid(&srv, 1, 0), w1);
}

Test(supervision, signal_option_checks_the_file_first)
{
    char out[4096], want[512];
    char *argv[] = {"herd", "-s", "reload", "-c", srv.conf, NULL};

    make_pid_dir();
    start(2, "v1", pid_extra);
    cr_assert_eq(hh_write_file(srv.conf, "workers: 2\nwokers: 3\n"), 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1);
    snprintf(want, sizeof(want), "%s:2:1: unknown key \"wokers\"", srv.conf);
    cr_expect(strstr(out, want) != NULL, "no %s in: %s", want, out);
    cr_expect(strstr(out, "sent SIG") == NULL, "signalled: %s", out);

    rewrite(2, "v2", pid_extra);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "sent SIGHUP to pid %d", (int)srv.pid);
    cr_expect(strstr(out, want) != NULL, "no %s in: %s", want, out);
    wait_log("reloaded: generation 2 serving", 1);
    cr_expect_eq(wait_body("v2", WAIT_MS), 0);
    /* The bad file never reached the master: one reload, and it worked. */
    cr_expect_eq(hh_log_count(&srv, "reloading "), 1);
    cr_expect_eq(hh_log_count(&srv, "reload failed"), 0);
}

Test(supervision, signal_option_needs_a_pid_file)
{
    char dir[64], path[128], out[4096];
    char *argv[] = {"herd", "-s", "reload", "-c", path, NULL};

    snprintf(dir, sizeof(dir), "/tmp/herd-sig-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/herd.yaml", dir);
    cr_assert_eq(hh_write_file(path, "workers: 1\n"
                                     "routes:\n"
                                     "  - { path: /, respond: { body: x } }\n"),
                 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1);
    cr_expect(strstr(out, "sets no pid_file") != NULL, "got: %s", out);
    unlink(path);
    rmdir(dir);
}

Test(supervision, kill9_master_takes_workers_down)
{
    pid_t kids[8];
    int n, i, st;

    start(2, "v1", "");
    n = hh_children(srv.pid, kids, 8, NULL);
    cr_assert_eq(n, 2);
    cr_assert_eq(kill(srv.pid, SIGKILL), 0);
    cr_assert_eq(hh_wait_exit(&srv, WAIT_MS, &st), 0);
    cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    for (i = 0; i < n; i++)
        cr_expect_eq(hh_wait_gone(kids[i], 5000), 0,
                     "worker pid %d outlived the master by 5 s", (int)kids[i]);
}

Test(supervision, stopped_master_workers_keep_serving)
{
    struct timespec ts = {0, 50 * 1000000L};
    pid_t w0, w1;
    int i;

    start(2, "v1", "");
    w0 = hh_worker_pid(&srv, 0, 1);
    w1 = hh_worker_pid(&srv, 1, 1);
    cr_assert_eq(kill(srv.pid, SIGSTOP), 0);
    /* Past worker.timeout (1 s) with the master stopped: heartbeats that
       cannot be read must not block the workers. Requests pace it. */
    for (i = 0; i < 30; i++) {
        cr_assert_eq(get(NULL, 0), 200, "request %d, master stopped", i);
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(kill(srv.pid, SIGCONT), 0);
    for (i = 0; i < 20; i++)
        cr_assert_eq(get(NULL, 0), 200, "request %d, master resumed", i);
    /* The backlog of heartbeats counts: nobody was declared hung. */
    cr_expect_eq(hh_log_count(&srv, "hung, killing it"), 0);
    cr_expect(hh_alive(w0) && hh_alive(w1));
    cr_expect_eq(hh_children(srv.pid, NULL, 0, NULL), 2);
}

Test(supervision, sigterm_lets_an_open_request_finish)
{
    struct hh_response r;
    char v[64];
    int fd;

    start(1, "v1", "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    /* Make sure the worker has accepted it before the stop. */
    cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    hh_response_free(&r);
    cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n", 0), 0);
    cr_assert_eq(kill(srv.pid, SIGTERM), 0);
    wait_log("graceful stop: stopping 1 worker(s)", 1);
    wait_log("stop requested by the master: draining 1 connection(s)", 1);
    cr_assert_eq(hh_send(fd, "\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "no response while draining");
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "v1");
    cr_expect_not_null(hh_header(&r, "Connection", v, sizeof(v)));
    cr_expect_str_eq(v, "close");
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 2000), "not closed after Connection: close");
    close(fd);
    /* hh_stop's own SIGTERM is one more of the same: still exit 0. */
}

Test(supervision, ttin_ttou_change_the_worker_count)
{
    char line[128];
    pid_t w2;

    start(2, "v1", "");
    cr_assert_eq(kill(srv.pid, SIGTTIN), 0);
    wait_log("SIGTTIN: 3 worker(s)", 1);
    wait_log("serving (slot 2,", 1);
    cr_expect_eq(hh_wait_children(srv.pid, 3, WAIT_MS), 0);
    w2 = hh_worker_pid(&srv, 2, 1);
    cr_assert(w2 > 0);
    cr_expect_eq(get(NULL, 0), 200);
    cr_assert_eq(kill(srv.pid, SIGTTOU), 0);
    wait_log("SIGTTOU: 2 worker(s)", 1);
    snprintf(line, sizeof(line), "worker 2 (pid %d) exited with status 0",
             (int)w2);
    wait_log(line, 1);
    cr_expect_eq(hh_wait_children(srv.pid, 2, WAIT_MS), 0);
    cr_expect_eq(hh_log_count(&srv, "serving (slot 2,"), 1,
                 "slot 2 was respawned");
    cr_expect_eq(get(NULL, 0), 200);
}

Test(supervision, max_requests_replaces_the_worker)
{
    pid_t first, now;
    int i;

    worker_extra = ", max_requests: 20";
    start(1, "v1", "");
    first = hh_worker_pid(&srv, 0, 1);
    for (i = 0; i < 50; i++)
        cr_assert_eq(get(NULL, 0), 200, "request %d", i);
    wait_log("served 20 requests: asking to be replaced", 1);
    wait_log("served 20 requests: replacing it", 1);
    wait_log("serving (slot 0,", 2);
    now = hh_worker_pid(&srv, 0, 1);
    cr_expect_neq(now, first);
    cr_expect_eq(hh_wait_gone(first, WAIT_MS), 0);
    cr_expect_eq(hh_wait_children(srv.pid, 1, WAIT_MS), 0);
    for (i = 0; i < 10; i++)
        cr_assert_eq(get(NULL, 0), 200, "request %d after", i);
    cr_expect_eq(hh_log_count(&srv, "possibly killed"), 0);
}

Test(supervision, pid_file_is_locked_written_and_removed)
{
    char dir2[64], conf2[128], yaml[512], out[4096], want[256], buf[32];
    char *argv[] = {"herd", "-c", conf2, NULL};
    struct stat st;
    FILE *f;

    make_pid_dir();
    start(1, "v1", pid_extra);
    f = fopen(pid_path, "r");
    cr_assert_not_null(f, "no pid_file %s", pid_path);
    cr_assert_not_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    cr_expect_eq(atoi(buf), (int)srv.pid);

    snprintf(dir2, sizeof(dir2), "/tmp/herd-pid2-XXXXXX");
    cr_assert_not_null(mkdtemp(dir2));
    snprintf(conf2, sizeof(conf2), "%s/herd.yaml", dir2);
    snprintf(yaml, sizeof(yaml),
             "listen: [\"127.0.0.1:0\"]\n"
             "log: { error: stderr }\n"
             "workers: 1\n"
             "pid_file: %s\n"
             "routes:\n"
             "  - { path: /, respond: { body: two } }\n",
             pid_path);
    cr_assert_eq(hh_write_file(conf2, yaml), 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1);
    snprintf(want, sizeof(want),
             "pid_file %s is locked by pid %d: another herd is running",
             pid_path, (int)srv.pid);
    cr_expect(strstr(out, want) != NULL, "no \"%s\" in: %s", want, out);
    unlink(conf2);
    rmdir(dir2);

    /* The first one is untouched. */
    cr_expect_eq(get(NULL, 0), 200);
    f = fopen(pid_path, "r");
    cr_assert_not_null(f, "the second herd removed the pid_file");
    cr_assert_not_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    cr_expect_eq(atoi(buf), (int)srv.pid);

    cr_expect_eq(hh_stop(&srv), 0);
    cr_expect_eq(stat(pid_path, &st), -1, "pid_file left after stop");
    cr_expect_eq(errno, ENOENT);
}

Test(supervision, worker_count_changes_under_load)
{
    struct hh_load load;

    start(2, "v1", "");
    cr_assert_eq(hh_load_start(&load, &srv, 3, 3), 0);
    rewrite(3, "v3", "");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 3 worker(s)", 1);
    cr_expect_eq(hh_wait_children(srv.pid, 3, WAIT_MS), 0);
    rewrite(1, "v1", "");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 3 serving with 1 worker(s)", 1);
    cr_expect_eq(hh_wait_children(srv.pid, 1, WAIT_MS), 0);
    expect_load_clean(&load);
    cr_expect_eq(wait_body("v1", WAIT_MS), 0);
    cr_expect(hh_worker_pid(&srv, 0, 3) > 0);
}

Test(supervision, usr1_reopens_the_error_log)
{
    struct timespec ts = {0, 10 * 1000000L};
    struct hh_server renamed;
    char line[128];
    size_t len;
    pid_t w0;
    int i;

    start(1, "v1", "");
    w0 = hh_worker_pid(&srv, 0, 1);
    renamed = srv;
    len = strlen(srv.log);
    cr_assert_lt(len + 3, sizeof(renamed.log));
    memcpy(renamed.log + len, ".1", 3);
    cr_assert_eq(rename(srv.log, renamed.log), 0);
    cr_assert_eq(kill(srv.pid, SIGUSR1), 0);
    /* The reopen creates the file; until then a HUP could be handled
       first (libevent runs pending signals in numeric order). */
    for (i = 0; i < WAIT_MS / 10 && access(srv.log, F_OK) != 0; i++)
        nanosleep(&ts, NULL);
    cr_assert_eq(access(srv.log, F_OK), 0, "no new log after SIGUSR1");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloading ", 1);
    wait_log("reloaded: generation 2", 1);
    /* The old worker reopened too: its drain line is in the new file. */
    snprintf(line, sizeof(line),
             "worker 0 %d: stop requested by the master: draining", (int)w0);
    wait_log(line, 1);
    /* The master says so in the new file, and nothing after the reopen
       went to the renamed one. */
    cr_expect_eq(hh_log_count(&srv, "SIGUSR1: reopened the error log"), 1);
    cr_expect_eq(hh_log_count(&renamed, "SIGUSR1"), 0);
    cr_expect_eq(hh_log_count(&renamed, "reloading "), 0);
    cr_expect_eq(hh_log_count(&renamed, "draining"), 0);
}

Test(supervision, hup_burst_is_coalesced)
{
    /* 0.3 ms apart: faster than a reload (fork, READY), so most HUPs
       arrive while one is in progress; slower than the master takes one
       from the kernel, so they do not merge there. */
    struct timespec gap = {0, 300000L}, ts = {0, 10 * 1000000L};
    pid_t kids[16];
    unsigned gen, last = 0;
    int i, n, most = 0, z, ok;
    char text[64];

    start(2, "v1", "");
    for (i = 0; i < 20; i++) {
        cr_assert_eq(kill(srv.pid, SIGHUP), 0);
        nanosleep(&gap, NULL);
        if (i % 4 == 3) {
            n = hh_children(srv.pid, NULL, 0, &z);
            if (n + z > most)
                most = n + z;
        }
    }
    /* Settled: every reload that started has finished. */
    for (i = 0; i < WAIT_MS / 10; i++) {
        n = hh_children(srv.pid, NULL, 0, &z);
        if (n + z > most)
            most = n + z;
        /* At least one HUP taken (a slow master, e.g. under valgrind,
           may not have read any yet), and every reload finished. */
        if (hh_log_count(&srv, "reloading ") > 0 &&
            hh_log_count(&srv, "reloading ") ==
                hh_log_count(&srv, "reloaded: generation") &&
            n == 2 && z == 0)
            break;
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(hh_log_count(&srv, "reloading "),
                 hh_log_count(&srv, "reloaded: generation"),
                 "reloads did not settle");
    cr_log_info("HUP burst: %d reload(s), at most %d worker processes",
                hh_log_count(&srv, "reloading "), most);
    cr_expect_leq(most, 2 * 2 + 3, "%d processes at once", most);
    cr_expect_eq(hh_log_count(&srv, "reload failed"), 0);
    for (gen = 2; gen < 100; gen++) {
        snprintf(text, sizeof(text), "reloaded: generation %u ", gen);
        if (hh_log_count(&srv, text) > 0)
            last = gen;
    }
    cr_assert_geq(last, 2, "no reload happened");
    n = hh_children(srv.pid, kids, 16, &z);
    cr_expect_eq(n, 2);
    cr_expect_eq(z, 0, "%d zombie(s)", z);
    for (i = 0, ok = 0; i < n; i++)
        if (hh_worker_generation(&srv, kids[i]) == last)
            ok++;
    cr_expect_eq(ok, 2, "%d of %d workers of generation %u", ok, n, last);
    cr_expect_eq(get(NULL, 0), 200);
}

Test(supervision, hup_burst_with_idle_clients_stays_bounded)
{
    /* Idle keep-alive connections keep a draining generation alive for
       the drain grace; reloads must then wait rather than stack up one
       generation per HUP. */
    struct timespec gap = {0, 10 * 1000000L};
    struct hh_response r;
    int fds[40], nfd = 0, i, n, z, most = 0;

    start(2, "v1", "");
    for (i = 0; i < 20; i++) {
        cr_assert_eq(kill(srv.pid, SIGHUP), 0);
        for (n = 0; n < 2 && nfd < 40; n++) {
            int fd = hh_connect(&srv);
            if (fd < 0)
                continue;
            if (hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0) == 0 &&
                hh_read_response(fd, &r, 0) == 0)
                fds[nfd++] = fd; /* left open and idle */
            else
                close(fd);
            hh_response_free(&r);
        }
        n = hh_children(srv.pid, NULL, 0, &z);
        if (n + z > most)
            most = n + z;
        nanosleep(&gap, NULL);
    }
    /* Current, one draining and one starting generation at most. */
    for (i = 0; i < WAIT_MS / 10; i++) {
        n = hh_children(srv.pid, NULL, 0, &z);
        if (n + z > most)
            most = n + z;
        if (n == 2 && z == 0 && hh_log_count(&srv, "reloading ") > 0 &&
            hh_log_count(&srv, "reloading ") ==
                hh_log_count(&srv, "reloaded: generation"))
            break;
        nanosleep(&gap, NULL);
    }
    cr_log_info("HUP burst with %d idle clients: %d reload(s), at most %d "
                "worker processes",
                nfd, hh_log_count(&srv, "reloading "), most);
    cr_expect_leq(most, 3 * 2 + 1, "%d worker processes at once", most);
    cr_expect_eq(n, 2, "%d workers after the burst settled", n);
    cr_expect_eq(hh_log_count(&srv, "reload failed"), 0);
    cr_expect_eq(get(NULL, 0), 200);
    for (i = 0; i < nfd; i++)
        close(fds[i]);
}

Test(supervision, signal_option_refuses_a_stale_pid_file, .init = make_pid_dir)
{
    char out[2048], expect[256], conf[160], cmd[600];
    char *argv[] = {"herd", "-s", "stop", "-c", conf, NULL};
    int st;

    start(1, "v1", pid_extra);
    /* The server's own dir goes with it: keep its file for -s. */
    snprintf(conf, sizeof(conf), "%s/herd.yaml", pid_dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", srv.conf, conf);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(access(pid_path, F_OK), 0, "no pid file");
    /* kill -9: the file stays, but nobody holds its lock any more. */
    cr_assert_eq(kill(srv.pid, SIGKILL), 0);
    cr_assert_eq(hh_wait_exit(&srv, WAIT_MS, &st), 0);
    srv.pid = 0;
    cr_assert_eq(access(pid_path, F_OK), 0, "pid file vanished");
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1, "output: %s", out);
    snprintf(expect, sizeof(expect),
             "herd: -s stop: %s is stale: no herd holds it\n", pid_path);
    cr_expect_str_eq(out, expect);
    unlink(conf);
}

/* The real uid of pid, from /proc, or -1. */
static long
proc_uid(pid_t pid)
{
    char path[64], line[256];
    long uid = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "Uid: %ld", &uid) == 1)
            break;
    fclose(f);
    return uid;
}

Test(supervision, workers_run_as_user_master_keeps_root)
{
    struct passwd *pw = getpwnam("nobody");
    pid_t kids[8];
    int n, z, i;

    if (geteuid() != 0 || pw == NULL)
        cr_skip_test("needs root and a \"nobody\" user");
    start(2, "v1", "user: nobody\n");
    n = hh_children(srv.pid, kids, 8, &z);
    cr_assert_eq(n, 2);
    for (i = 0; i < n; i++)
        cr_expect_eq(proc_uid(kids[i]), (long)pw->pw_uid,
                     "worker %d runs as uid %ld", (int)kids[i],
                     proc_uid(kids[i]));
    cr_expect_eq(proc_uid(srv.pid), 0, "the master dropped root");
    cr_expect_eq(get(NULL, 0), 200);
    /* logrotate: the workers, no longer root, must reopen the new file
       the master created. */
    {
        char old[400];
        int k;
        snprintf(old, sizeof(old), "%s.1", srv.log);
        /* The log's directory must let the user in, as in real life. */
        cr_assert_eq(chmod(srv.dir, 0711), 0);
        cr_assert_eq(rename(srv.log, old), 0);
        cr_assert_eq(kill(srv.pid, SIGUSR1), 0);
        wait_log("SIGUSR1: reopened", 1);
        for (k = 0; k < 200 && hh_log_count(&srv, "GET / 200") < 1; k++)
            get(NULL, 0);
        cr_expect_geq(hh_log_count(&srv, "GET / 200"), 1,
                      "the workers do not write to the reopened log");
        cr_expect_eq(hh_log_count(&srv, "reopening the error log"), 0);
        unlink(old);
    }
    /* A reload (which binds as the master) still works. */
    rewrite(2, "v2", "user: nobody\n");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    cr_expect_eq(wait_body("v2", WAIT_MS), 0);
}
