/* test_observe.c: /health and /metrics of the real herd, across workers. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "jsonv.h"
#include "promcheck.h"

static struct hh_server srv;

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The workers log "serving" before the master has their READY: wait
   until the scoreboard shows both ready. */
static void
wait_healthy(void)
{
    struct hh_response r;
    int waited, status = 0;

    for (waited = 0; waited < 10000 && status != 200; waited += 20) {
        cr_assert_eq(
            hh_request(&srv, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
        status = r.status;
        hh_response_free(&r);
        if (status != 200)
            sleep_ms(20);
    }
    cr_assert_eq(status, 200, "never healthy");
}

static void
start(void)
{
    cr_assert_eq(hh_start(&srv,
                          "workers: 2\n"
                          "worker: { heartbeat: 100ms }\n"
                          "routes:\n"
                          "  - { path: /, respond: { body: \"hi\" } }\n"
                          "  - { path: /health, health: {} }\n"
                          "  - { path: /ready3, health: { min_ready: 3 } }\n"
                          "  - { path: /metrics, metrics: {} }\n"
                          "  - { path: /items/:id, respond: { body: i } }\n"
                          "  - path: /items/:id\n"
                          "    methods: [POST]\n"
                          "    respond: { status: 201 }\n",
                          2),
                 0, "herd did not start");
    wait_healthy();
}

static void
stop(void)
{
    cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
}

TestSuite(observe, .init = start, .fini = stop, .timeout = 60);

static void
get(const char *path, struct hh_response *r)
{
    char raw[256];

    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    cr_assert_eq(hh_request(&srv, raw, r), 0, "no answer for %s", path);
}

/* GET /metrics, check its format, return the 2xx count. */
static double
metrics_2xx(void)
{
    struct hh_response r;
    char err[256] = "", v[128];
    double n;

    get("/metrics", &r);
    cr_assert_eq(r.status, 200);
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "text/plain; version=0.0.4; charset=utf-8");
    cr_assert_eq(pc_check(r.body, r.body_len, err, sizeof(err)), 0, "%s\n%s",
                 err, r.body);
    n = pc_value(r.body, "herd_requests_total{class=\"2xx\"}");
    hh_response_free(&r);
    return n;
}

Test(observe, health_is_json_of_every_slot)
{
    struct hh_response r;
    char v[64];

    get("/health", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "application/json");
    cr_assert_eq(jv_object(r.body, r.body_len), 0, "%s", r.body);
    cr_expect(strstr(r.body, "\"status\":\"ok\",\"ready\":2,") != NULL, "%s",
              r.body);
    cr_expect(strstr(r.body, "{\"slot\":0,\"pid\":") != NULL, "%s", r.body);
    cr_expect(strstr(r.body, "{\"slot\":1,\"pid\":") != NULL, "%s", r.body);
    hh_response_free(&r);
}

Test(observe, too_few_ready_is_503)
{
    struct hh_response r;

    get("/ready3", &r);
    cr_expect_eq(r.status, 503);
    cr_expect(strstr(r.body, "\"status\":\"unavailable\"") != NULL, "%s",
              r.body);
    hh_response_free(&r);
}

Test(observe, head_has_no_body)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "hi");
    hh_response_free(&r);
    close(fd);
}

Test(observe, metrics_sum_over_workers)
{
    struct hh_response r;
    double n = 0;
    int i, waited;

    for (i = 0; i < 100; i++) {
        get("/", &r);
        hh_response_free(&r);
    }
    /* Both workers served some (SO_REUSEPORT spreads new connections)
       and whichever answers /metrics counts all of them. */
    for (waited = 0; waited < 3000; waited += 50) {
        n = metrics_2xx();
        if (n >= 100)
            break;
        sleep_ms(50);
    }
    cr_expect_geq(n, 100, "2xx count %g", n);
    get("/health", &r);
    cr_expect(strstr(r.body, "\"requests\":0,") == NULL,
              "a worker served nothing: %s", r.body);
    hh_response_free(&r);
}

Test(observe, counters_never_go_backwards_when_a_worker_exits)
{
    struct hh_response r;
    double before, n, last;
    int i, pid;

    for (i = 0; i < 60; i++) {
        get("/", &r);
        hh_response_free(&r);
    }
    sleep_ms(300); /* a few heartbeats */
    before = metrics_2xx();
    cr_assert_geq(before, 60);
    pid = hh_slot_pid(&srv, 0);
    cr_assert_gt(pid, 0);
    kill(pid, SIGTERM);
    cr_assert_eq(hh_wait_log(&srv, "serving (slot 0", 2, 10000), 0,
                 "slot 0 was not respawned");
    last = before;
    for (i = 0; i < 40; i++) {
        n = metrics_2xx();
        cr_expect_geq(n, last, "went backwards: %g after %g", n, last);
        last = n;
        sleep_ms(25);
    }
    get("/metrics", &r);
    cr_expect_geq(pc_value(r.body, "herd_worker_restarts_total"), 1, "%s",
                  r.body);
    hh_response_free(&r);
}

/* One series of herd_route_requests_total, from a fresh /metrics. */
static double
route_count(const char *route, const char *cls)
{
    struct hh_response r;
    char err[256] = "", key[256];
    double n;

    get("/metrics", &r);
    cr_assert_eq(pc_check(r.body, r.body_len, err, sizeof(err)), 0, "%s\n%s",
                 err, r.body);
    snprintf(key, sizeof(key),
             "herd_route_requests_total{route=\"%s\",class=\"%s\"}", route,
             cls);
    n = pc_value(r.body, key);
    hh_response_free(&r);
    return n;
}

/* Wait (up to 5 s) until route's class count reaches want; its value. */
static double
route_reaches(const char *route, const char *cls, double want)
{
    double n = 0;
    int waited;

    for (waited = 0; waited < 5000; waited += 50) {
        n = route_count(route, cls);
        if (n >= want)
            break;
        sleep_ms(50);
    }
    return n;
}

Test(observe, metrics_by_route_sum_over_workers_and_survive_exits)
{
    struct hh_response r;
    char raw[256];
    double before;
    int i, pid;

    for (i = 0; i < 40; i++) {
        snprintf(raw, sizeof(raw), "GET /items/%d HTTP/1.1\r\nHost: x\r\n\r\n",
                 i);
        cr_assert_eq(hh_request(&srv, raw, &r), 0);
        hh_response_free(&r);
    }
    for (i = 0; i < 10; i++) {
        cr_assert_eq(hh_request(&srv,
                                "POST /items/1 HTTP/1.1\r\nHost: x\r\n"
                                "Content-Length: 0\r\n\r\n",
                                &r),
                     0);
        cr_expect_eq(r.status, 201);
        hh_response_free(&r);
        get("/nothing-here", &r);
        hh_response_free(&r);
    }
    /* The two /items/:id routes (GET and POST) share one series; the 404s
       of no route are in herd_requests_total only. */
    cr_expect_eq(route_reaches("/items/:id", "2xx", 50), 50);
    cr_expect_eq(route_count("/items/:id", "4xx"), 0);
    cr_expect_eq(route_count("/", "2xx"), 0);
    cr_expect_geq(route_count("/metrics", "2xx"), 1);

    /* A worker that exits takes none of its counts along. */
    before = route_count("/items/:id", "2xx");
    pid = hh_slot_pid(&srv, 1);
    cr_assert_gt(pid, 0);
    kill(pid, SIGTERM);
    cr_assert_eq(hh_wait_log(&srv, "serving (slot 1", 2, 10000), 0);
    for (i = 0; i < 20; i++) {
        cr_expect_geq(route_count("/items/:id", "2xx"), before);
        sleep_ms(25);
    }

    /* Nor does a reload: the route keeps its series. */
    kill(srv.pid, SIGHUP);
    cr_assert_eq(hh_wait_log(&srv, "reloaded: generation 2", 1, 10000), 0);
    get("/items/x", &r);
    hh_response_free(&r);
    cr_expect_eq(route_reaches("/items/:id", "2xx", before + 1), before + 1);
}

/* ---- the static memory cache, seen through /metrics ---- */

static double
metric_of(struct hh_server *s, const char *name)
{
    struct hh_response r;
    char err[256] = "";
    double n;

    cr_assert_eq(hh_request(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r),
                 0);
    cr_assert_eq(pc_check(r.body, r.body_len, err, sizeof(err)), 0, "%s\n%s",
                 err, r.body);
    n = pc_value(r.body, name);
    hh_response_free(&r);
    return n;
}

/* GET /f/x.txt and check the body is want. */
static void
expect_file(struct hh_server *s, const char *want)
{
    struct hh_response r;

    cr_assert_eq(hh_request(s, "GET /f/x.txt HTTP/1.1\r\nHost: x\r\n\r\n", &r),
                 0);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, strlen(want));
    cr_expect(r.body_len == strlen(want) &&
                  memcmp(r.body, want, r.body_len) == 0,
              "body %.*s, want %s", (int)r.body_len, r.body, want);
    hh_response_free(&r);
}

/* A file is answered from memory once its times have settled (2 s), and
   an edit is seen at once: the hit and miss counts say which way each
   answer went, summed over the worker's reports. */
static struct hh_server own;

/* Stopped even when an assertion ended the test. */
static void
stop_own(void)
{
    if (own.pid > 0)
        hh_stop(&own);
}

Test(cache, hits_counted_and_an_edit_seen_at_once, .timeout = 60,
     .fini = stop_own)
{
    struct hh_server *s = &own;
    char dir[] = "/tmp/herd-cache-XXXXXX", file[64], yaml[512];
    double hits = 0, misses;
    int waited;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/x.txt", dir);
    cr_assert_eq(hh_write_file(file, "version one\n"), 0);
    snprintf(yaml, sizeof(yaml),
             "workers: 1\n"
             "worker: { heartbeat: 100ms }\n"
             "routes:\n"
             "  - { path: /metrics, metrics: {} }\n"
             "  - { path: /f/*, static: { root: %s } }\n",
             dir);
    cr_assert_eq(hh_start(s, yaml, 1), 0);
    /* Kept only once the file has been quiet for 2 s: ask until a hit
       shows (the worker reports with each 100 ms heartbeat). */
    for (waited = 0; waited < 10000 && hits < 1; waited += 100) {
        expect_file(s, "version one\n");
        sleep_ms(100);
        hits = metric_of(s, "herd_static_cache_hits_total");
    }
    cr_assert_geq(hits, 1, "no answer from memory in 10 s");
    misses = metric_of(s, "herd_static_cache_misses_total");
    cr_expect_geq(misses, 1, "the first answer opened the file");

    /* Same length, new bytes: answered from the disk at once. */
    cr_assert_eq(hh_write_file(file, "version two\n"), 0);
    expect_file(s, "version two\n");
    for (waited = 0; waited < 5000; waited += 100) {
        if (metric_of(s, "herd_static_cache_misses_total") > misses)
            break;
        sleep_ms(100);
    }
    cr_expect_gt(metric_of(s, "herd_static_cache_misses_total"), misses);
    cr_expect_eq(hh_stop(s), 0);
    unlink(file);
    rmdir(dir);
}
