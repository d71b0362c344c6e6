/* test_hardening.c: malformed and hostile HTTP/1.1 against the real herd. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"
#include "harness.h"

/*
 * Each rule gets its exact bytes, the status herd must answer with, and
 * whether the connection must then be closed (every refusal closes it;
 * what is accepted keeps it open for the next request). After every test
 * the worker that served it must still be the one serving: no crash, no
 * respawn.
 */

static struct hh_server srv;
static int worker_pid;

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
start_yaml(const char *yaml)
{
    cr_assert_eq(hh_start(&srv, yaml, 1), 0);
    worker_pid = hh_slot_pid(&srv, 0);
    cr_assert_gt(worker_pid, 0);
}

static void
start(void)
{
    start_yaml(HH_CASES_YAML);
}

/* The worker that started the test still serves, and nothing died. */
static void
same_worker_serves(void)
{
    struct hh_response r;

    cr_expect_eq(hh_slot_pid(&srv, 0), worker_pid, "the worker was replaced");
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
    cr_expect_eq(hh_log_count(&srv, "exited with status"), 0);
    cr_expect_eq(hh_request(&srv, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0,
                 "the worker no longer answers");
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

static void
stop(void)
{
    if (srv.pid > 0) {
        same_worker_serves();
        cr_expect_eq(hh_stop(&srv), 0);
    }
}

/*
 * Send case c on a new connection (in npieces pieces, 1 ms apart, or byte
 * by byte when npieces is -1; 0: in one write) and check the status and
 * whether the connection is then closed, or still serves.
 */
static void
run_case(const struct hh_case *c, int npieces)
{
    static char buf[64 * 1024];
    struct hh_response r;
    const char *bytes;
    size_t len;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    bytes = hh_case_bytes(c, buf, sizeof(buf), &len);
    if (npieces == 0)
        cr_assert_eq(hh_send(fd, bytes, len), 0, "%s: send failed", c->name);
    else /* herd may close before the last piece: no check */
        hh_send_paced(fd, bytes, len,
                      npieces < 0 ? 1 : len / (size_t)npieces + 1, 1);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "%s: no response", c->name);
    cr_expect_eq(r.status, c->status, "%s: status %d, want %d", c->name,
                 r.status, c->status);
    hh_response_free(&r);
    if (c->closes) {
        cr_expect(hh_closed(fd, 3000), "%s: connection left open", c->name);
    } else {
        cr_assert_eq(hh_send(fd, HH_GET "\r\n", 0), 0);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0,
                     "%s: no answer to the next request", c->name);
        cr_expect_eq(r.status, 200, "%s: next request got %d", c->name,
                     r.status);
        hh_response_free(&r);
    }
    close(fd);
}

TestSuite(rules, .init = start, .fini = stop, .timeout = 30);

ParameterizedTestParameters(rules, each)
{
    static int index[256];
    size_t i;

    cr_assert_leq(hh_ncases, sizeof(index) / sizeof(index[0]));
    for (i = 0; i < hh_ncases; i++)
        index[i] = (int)i;
    return cr_make_param_array(int, index, hh_ncases);
}

ParameterizedTest(int *i, rules, each)
{
    run_case(&hh_cases[*i], 0);
}

/* Every case against one server, once in one write and once in pieces
   (byte by byte for short ones; herd's header deadline is 1 s): the same
   verdicts, and the same worker still serving at the end. */
Test(rules, all_on_one_server_at_any_split, .timeout = 120)
{
    static const int pieces[] = {3, 17, -1};
    int i;

    for (i = 0; i < (int)hh_ncases; i++) {
        run_case(&hh_cases[i], 0);
        run_case(&hh_cases[i], hh_cases[i].len > 300 || hh_cases[i].gen != NULL
                                   ? pieces[i % 2]
                                   : pieces[i % 3]);
    }
}

/* ---- rules that need a conversation ---- */

Test(rules, expect_100_continue)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         HH_POST "Expect: 100-continue\r\n"
                                 "Content-Length: 5\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "no interim response");
    cr_expect_eq(r.status, 100);
    hh_response_free(&r);
    cr_assert_eq(hh_send(fd, "hello", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "ok");
    hh_response_free(&r);
    /* Over the limit: 413 at once, no 100, and closed. */
    close(fd);
    fd = hh_connect(&srv);
    cr_assert_eq(hh_send(fd,
                         HH_POST "Expect: 100-continue\r\n"
                                 "Content-Length: 65\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 413);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

/* After CONNECT or an upgrade nothing more is parsed as a request. */
Test(rules, nothing_parsed_after_connect_or_upgrade)
{
    static char rest[4096];
    struct hh_response r;
    char v[64];
    int fd, closed;

    fd = hh_connect(&srv);
    cr_assert_eq(hh_send(fd,
                         "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n" HH_GET
                         "\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 501);
    hh_response_free(&r);
    cr_expect_eq(hh_read_until_close(fd, rest, sizeof(rest), 3000, &closed), 0,
                 "bytes after CONNECT were answered");
    cr_expect(closed);
    close(fd);

    fd = hh_connect(&srv);
    cr_assert_eq(hh_send(fd,
                         HH_GET "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                "\r\n" HH_GET "\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hh_header(&r, "Connection", v, sizeof(v)), "close");
    hh_response_free(&r);
    cr_expect_eq(hh_read_until_close(fd, rest, sizeof(rest), 3000, &closed), 0,
                 "bytes after an upgrade were answered");
    cr_expect(closed);
    close(fd);
}

/* A body sent to a route that ignores it is read, never parsed (CL.0). */
Test(rules, ignored_body_is_drained)
{
    const char *smuggled = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    char req[256];
    struct hh_response r;
    int fd = hh_connect(&srv), i;

    cr_assert_geq(fd, 0);
    snprintf(req, sizeof(req),
             "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s" HH_GET
             "\r\n",
             strlen(smuggled), smuggled);
    cr_assert_eq(hh_send(fd, req, 0), 0);
    for (i = 0; i < 2; i++) {
        cr_assert_eq(hh_read_response(fd, &r, 0), 0);
        cr_expect_eq(r.status, 200, "response %d: %d (the body was parsed)", i,
                     r.status);
        hh_response_free(&r);
    }
    close(fd);
}

/* 1000 requests with and without bodies, in one write, answered in order. */
Test(rules, pipelined_1000_mixed_in_one_write)
{
    static char buf[1000 * 96];
    static const char *const kinds[] = {
        HH_GET "\r\n",
        HH_POST "Content-Length: 3\r\n\r\nabc",
        HH_CHUNKED "3\r\nabc\r\n0\r\n\r\n",
        "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    struct hh_response r;
    size_t len = 0;
    int fd = hh_connect(&srv), i;

    cr_assert_geq(fd, 0);
    for (i = 0; i < 1000; i++)
        len +=
            (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", kinds[i % 4]);
    cr_assert_eq(hh_send(fd, buf, len), 0);
    for (i = 0; i < 1000; i++) {
        cr_assert_eq(hh_read_response(fd, &r, 0), 0, "response %d missing", i);
        cr_assert_eq(r.status, i % 4 == 3 ? 404 : 200,
                     "response %d out of order", i);
        hh_response_free(&r);
    }
    close(fd);
}

/* ---- deadlines ---- */

/* Wait for a response while sending one byte per gap_ms; returns the time
   from the first byte to the response, in ms. */
static long
trickle(int fd, const char *bytes, size_t len, int gap_ms,
        struct hh_response *r)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    long t0 = now_ms();
    size_t i;

    for (i = 0; i < len; i++) {
        if (hh_send(fd, bytes + i, 1) != 0 || poll(&pfd, 1, gap_ms) > 0)
            break; /* herd answered (or closed) */
    }
    cr_assert_eq(hh_read_response(fd, r, 0), 0, "no response to a trickle");
    return now_ms() - t0;
}

Test(rules, slowloris_cut_at_header_timeout)
{
    static char head[2048];
    struct hh_response r;
    long ms;
    size_t len;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    /* Far longer than header_timeout at one byte per 200 ms. */
    len = hh_repeat(head, sizeof(head), HH_GET, "X: y\r\n", 30, "\r\n");
    ms = trickle(fd, head, len, 200, &r);
    cr_expect_eq(r.status, 408);
    cr_expect(ms >= 900 && ms < 2500, "cut off after %ld ms, not ~1000", ms);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

Test(rules, slow_body_cut_by_min_rate)
{
    static char body[64];
    struct hh_response r;
    long ms;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, HH_POST "Content-Length: 60\r\n\r\n", 0), 0);
    /* 5 bytes a second: each read well inside body_timeout, but the
       body would take 12 s; body_min_rate (100/s) cuts it near 1 s. */
    memset(body, 'b', sizeof(body));
    ms = trickle(fd, body, 60, 200, &r);
    cr_expect_eq(r.status, 408);
    cr_expect(ms >= 900 && ms < 3000, "cut off after %ld ms", ms);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

Test(rules, body_silence_cut_at_body_timeout)
{
    struct hh_response r;
    long t0;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, HH_POST "Content-Length: 10\r\n\r\nabc", 0), 0);
    t0 = now_ms();
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 408);
    cr_expect(now_ms() - t0 < 2500);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

/* ---- clients that stop reading or reset ---- */

static char *
big_yaml(void)
{
    static char yaml[300 * 1024];
    size_t len;

    len = (size_t)snprintf(yaml, sizeof(yaml),
                           "workers: 1\n" HH_CASES_LIMITS "routes:\n"
                           "  - { path: /, respond: { body: ok } }\n"
                           "  - path: /big\n    respond: { body: \"");
    memset(yaml + len, 'z', 200 * 1024);
    len += 200 * 1024;
    snprintf(yaml + len, sizeof(yaml) - len, "\" }\n");
    return yaml;
}

static void
start_big(void)
{
    start_yaml(big_yaml());
}

TestSuite(stalls, .init = start_big, .fini = stop, .timeout = 60);

static void
pipeline_big(int fd, int n)
{
    static char buf[64 * 64];
    size_t len = 0;
    int i;

    for (i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(hh_send(fd, buf, len), 0);
}

Test(stalls, client_that_stops_reading_cut_at_send_timeout)
{
    static char sink[64 * 200 * 1024];
    int fd = hh_connect(&srv), closed;
    size_t got;

    cr_assert_geq(fd, 0);
    pipeline_big(fd, 64);
    cr_assert_eq(hh_wait_log(&srv, "send timeout on fd", 1, 10000), 0,
                 "a client that stopped reading was not cut off");
    got = hh_read_until_close(fd, sink, sizeof(sink), 5000, &closed);
    cr_expect(closed, "not closed after send_timeout");
    cr_expect_lt(got, (size_t)64 * 200 * 1024, "all responses went out");
    close(fd);
}

Test(stalls, client_reset_mid_response)
{
    struct linger lg = {1, 0};
    char some[1000];
    int fd, i;

    for (i = 0; i < 20; i++) {
        fd = hh_connect(&srv);
        cr_assert_geq(fd, 0);
        pipeline_big(fd, 20);
        cr_assert_gt(recv(fd, some, sizeof(some), 0), 0);
        /* Close with a reset while herd is still writing. */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
    }
    /* stop() checks that the same worker still serves. */
}

/* ---- connection caps ---- */

static void
start_capped(void)
{
    start_yaml("workers: 1\n"
               "limits: { max_connections: 2 }\n"
               "routes:\n  - { path: /, respond: { body: ok } }\n");
}

TestSuite(caps, .fini = stop, .timeout = 60);

Test(caps, max_connections_pauses_and_resumes_accept, .init = start_capped)
{
    struct hh_response r;
    int a, b, c;

    a = hh_connect(&srv);
    b = hh_connect(&srv);
    cr_assert(a >= 0 && b >= 0);
    cr_assert_eq(hh_send(a, HH_GET "\r\n", 0), 0);
    cr_assert_eq(hh_read_response(a, &r, 0), 0);
    hh_response_free(&r);
    cr_assert_eq(hh_send(b, HH_GET "\r\n", 0), 0);
    cr_assert_eq(hh_read_response(b, &r, 0), 0);
    hh_response_free(&r);
    /* A third connection waits in the accept queue, unanswered ... */
    c = hh_connect(&srv);
    cr_assert_geq(c, 0);
    cr_assert_eq(hh_send(c, HH_GET "\r\n", 0), 0);
    {
        struct pollfd pfd = {c, POLLIN, 0};
        cr_expect_eq(poll(&pfd, 1, 500), 0, "served above max_connections");
    }
    /* ... until one of the two closes. */
    close(a);
    cr_assert_eq(hh_read_response(c, &r, 0), 0, "accepting did not resume");
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    close(b);
    close(c);
}

static void
start_few_fds(void)
{
    cr_assert_eq(hh_start_limited(&srv,
                                  "workers: 1\n"
                                  "routes:\n"
                                  "  - { path: /, respond: { body: ok } }\n",
                                  1, 32),
                 0);
    worker_pid = hh_slot_pid(&srv, 0);
    cr_assert_gt(worker_pid, 0);
}

/* CPU time (user + system) of pid so far, in clock ticks. */
static long
cpu_ticks(int pid)
{
    char path[64], line[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    p = strrchr(line, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

Test(caps, out_of_descriptors_does_not_spin, .init = start_few_fds)
{
    struct hh_response r;
    int fds[48], i, n = 0;
    long t0, ticks;

    /* Idle connections until the worker runs out of descriptors. */
    for (i = 0; i < 48; i++)
        if ((fds[i] = hh_connect(&srv)) >= 0)
            n++;
    cr_assert_eq(hh_wait_log(&srv, "pausing accept", 1, 5000), 0,
                 "never ran out of descriptors");
    t0 = cpu_ticks(worker_pid);
    {
        /* Let the accept retries run for a second. */
        struct pollfd none = {-1, 0, 0};
        poll(&none, 1, 1000);
    }
    ticks = cpu_ticks(worker_pid) - t0;
    cr_expect_lt(ticks, 20, "the worker spun: %ld ticks in 1 s", ticks);
    cr_expect_eq(hh_log_count(&srv, "pausing accept"), 1, "logged repeatedly");
    for (i = 0; i < 48; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    cr_expect_gt(n, 0);
    /* Descriptors come back: accepting resumes, once the worker has seen
       the 48 closes and its next retry fires (slow under valgrind). */
    for (i = 0, r.status = 0; i < 20 && r.status != 200; i++) {
        memset(&r, 0, sizeof(r));
        if (hh_request(&srv, HH_GET "\r\n", &r) != 0)
            r.status = 0;
        hh_response_free(&r);
    }
    cr_expect_eq(r.status, 200, "accepting did not resume");
}
