/* test_metrics.c: unit tests for the /health JSON and /metrics text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "jsonv.h"
#include "metrics.h"
#include "promcheck.h"

static struct herd_server_score ss;
static struct herd_score slots[3];
static struct herd_route_score routes[3];

static void
setup(void)
{
    uint32_t i;

    memset(&ss, 0, sizeof(ss));
    memset(slots, 0, sizeof(slots));
    ss.master_pid = 100;
    ss.generation = 2;
    ss.nslots = 3;
    ss.reloads = 1;
    ss.started_ms = 1000;
    ss.restarts = 4;
    ss.totals.requests = 10;
    ss.totals.status[2] = 7;
    ss.totals.status[4] = 3;
    ss.totals.bytes_in = 500;
    ss.totals.bytes_out = 900;
    ss.totals.cache_hits = 41;
    ss.totals.cache_misses = 3;
    ss.totals.duration[0] = 6;
    ss.totals.duration[3] = 3;
    ss.totals.duration[HERD_DURATION_BUCKETS - 1] = 1;
    ss.totals.duration_sum_us = 12000500;
    for (i = 0; i < 3; i++) {
        slots[i].state = HERD_SLOT_READY;
        slots[i].health.pid = 200 + i;
        slots[i].health.generation = 2;
        slots[i].health.requests = i;
        slots[i].health.active_connections = 2;
        slots[i].started_ms = 2000;
        slots[i].last_heartbeat_ms = 4500;
    }
    slots[2].state = HERD_SLOT_STARTING;
    memset(routes, 0, sizeof(routes));
    ss.nroutes = 3;
    snprintf(routes[0].route, sizeof(routes[0].route), "/users/:id");
    routes[0].status[2] = 5;
    routes[0].status[5] = 1;
    snprintf(routes[2].route, sizeof(routes[2].route), "/q\"x\\y");
    routes[2].status[4] = 2;
}

TestSuite(metrics, .init = setup);

/* Whether b holds s. */
static int
has(const struct herd_buf *b, const char *s)
{
    return memmem(b->data, b->len, s, strlen(s)) != NULL;
}

Test(metrics, buckets)
{
    cr_expect_eq(herd_metrics_bucket(0), 0);
    cr_expect_eq(herd_metrics_bucket(1000), 0);
    cr_expect_eq(herd_metrics_bucket(1001), 1);
    cr_expect_eq(herd_metrics_bucket(10000000), HERD_DURATION_BUCKETS - 2);
    cr_expect_eq(herd_metrics_bucket(10000001), HERD_DURATION_BUCKETS - 1);
}

Test(metrics, health_json)
{
    struct herd_buf b = {0};
    int ok = -1;

    cr_assert_eq(herd_metrics_health(&b, &ss, slots, 0, 5000, &ok), HERD_OK);
    cr_expect_eq(ok, 0, "2 of 3 ready is not all");
    cr_assert_eq(jv_object(b.data, b.len), 0, "%.*s", (int)b.len, b.data);
    cr_expect(has(&b, "\"status\":\"unavailable\",\"ready\":2,"
                      "\"min_ready\":3,\"workers\":3"),
              "%.*s", (int)b.len, b.data);
    cr_expect(has(&b, "{\"slot\":1,\"pid\":201,\"generation\":2,"
                      "\"state\":\"ready\",\"uptime_ms\":3000,\"requests\":1,"
                      "\"active_connections\":2,\"heartbeat_age_ms\":500,"),
              "%.*s", (int)b.len, b.data);
    cr_expect(has(&b, "\"state\":\"starting\""));
    b.len = 0;
    cr_assert_eq(herd_metrics_health(&b, &ss, slots, 2, 5000, &ok), HERD_OK);
    cr_expect_eq(ok, 1, "2 ready meets min_ready 2");
    herd_buf_free(&b);
}

Test(metrics, health_says_which_route_a_crash_interrupted)
{
    struct herd_buf b = {0};
    int ok = -1;

    slots[1].last_exit = -11;
    snprintf(slots[1].route, sizeof(slots[1].route), "%s",
             "/crash (t\"m.so:crash)");
    cr_assert_eq(herd_metrics_health(&b, &ss, slots, 0, 5000, &ok), HERD_OK);
    cr_assert_eq(jv_object(b.data, b.len), 0, "%.*s", (int)b.len, b.data);
    cr_expect(has(&b, "\"last_exit\":-11,\"last_crash_route\":"
                      "\"/crash (t\\\"m.so:crash)\"}"),
              "%.*s", (int)b.len, b.data);
    cr_expect(has(&b, "\"last_exit\":0,\"last_crash_route\":\"\"}"), "%.*s",
              (int)b.len, b.data);
    herd_buf_free(&b);
}

Test(metrics, health_without_workers_is_not_ok)
{
    struct herd_buf b = {0};
    int ok = -1;

    ss.nslots = 0;
    cr_assert_eq(herd_metrics_health(&b, &ss, slots, 0, 5000, &ok), HERD_OK);
    cr_expect_eq(ok, 0);
    cr_expect_eq(jv_object(b.data, b.len), 0);
    herd_buf_free(&b);
}

Test(metrics, prometheus_is_valid_and_says_the_totals)
{
    struct herd_buf b = {0};
    char err[256] = "", *s;

    cr_assert_eq(herd_metrics_prometheus(&b, &ss, slots, routes, 5000),
                 HERD_OK);
    cr_assert_eq(herd_buf_append(&b, "", 1), HERD_OK);
    s = b.data;
    cr_assert_eq(pc_check(s, b.len - 1, err, sizeof(err)), 0, "%s\n%s", err, s);
    cr_expect_eq(pc_value(s, "herd_requests_total{class=\"2xx\"}"), 7);
    cr_expect_eq(pc_value(s, "herd_requests_total{class=\"4xx\"}"), 3);
    cr_expect_eq(pc_value(s, "herd_request_duration_seconds_bucket{le="
                             "\"0.001\"}"),
                 6);
    cr_expect_eq(pc_value(s, "herd_request_duration_seconds_bucket{le="
                             "\"0.01\"}"),
                 9);
    cr_expect_eq(pc_value(s, "herd_request_duration_seconds_count"), 10);
    cr_expect_eq(pc_value(s, "herd_request_duration_seconds_sum"), 12.0005);
    cr_expect_eq(pc_value(s, "herd_sent_bytes_total"), 900);
    cr_expect_eq(pc_value(s, "herd_static_cache_hits_total"), 41);
    cr_expect_eq(pc_value(s, "herd_static_cache_misses_total"), 3);
    cr_expect_eq(pc_value(s, "herd_active_connections"), 6);
    cr_expect_eq(pc_value(s, "herd_workers{state=\"ready\"}"), 2);
    cr_expect_eq(pc_value(s, "herd_worker_restarts_total"), 4);
    cr_expect_eq(pc_value(s, "herd_reloads_total"), 1);
    cr_expect_eq(pc_value(s, "herd_heartbeat_age_seconds{slot=\"0\"}"), 0.5);
    cr_expect_eq(pc_value(s, "herd_route_requests_total{route=\"/users/:id\","
                             "class=\"2xx\"}"),
                 5);
    cr_expect_eq(pc_value(s, "herd_route_requests_total{route=\"/users/:id\","
                             "class=\"5xx\"}"),
                 1);
    /* Label values are escaped as 0.0.4 says. */
    cr_expect_eq(pc_value(s, "herd_route_requests_total{route=\"/q\\\"x\\\\"
                             "y\",class=\"4xx\"}"),
                 2);
    /* An unused id has no series. */
    cr_expect(strstr(s, "route=\"\"") == NULL, "%s", s);
    herd_buf_free(&b);
}

static int
bad(const char *text)
{
    char err[256];

    return pc_check(text, strlen(text), err, sizeof(err)) != 0;
}

Test(metrics, checker_is_strict)
{
    cr_expect(!bad("# TYPE a counter\na 1\nb{x=\"y\"} 2.5e3\n"));
    cr_expect(bad("a 1"), "no final LF");
    cr_expect(bad("a 1\r\n"), "CR");
    cr_expect(bad("1a 1\n"), "name");
    cr_expect(bad("a{x=y} 1\n"), "unquoted label");
    cr_expect(bad("a{x=\"\\q\"} 1\n"), "escape");
    cr_expect(bad("a one\n"), "value");
    cr_expect(bad("a 1\na 2\n"), "series twice");
    cr_expect(bad("a 1\nb 1\na{x=\"1\"} 1\n"), "family apart");
    cr_expect(bad("a 1\n# TYPE a gauge\n"), "TYPE after samples");
    cr_expect(bad("# TYPE a counter\n# TYPE a counter\na 1\n"), "TYPE twice");
    cr_expect(bad("# TYPE a counte\na 1\n"), "type");
    cr_expect(bad("# TYPE a counter\na -1\n"), "negative counter");
    cr_expect(bad("# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                  "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"),
              "not cumulative");
    cr_expect(bad("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\n"
                  "h_count 1\n"),
              "+Inf differs from count");
    cr_expect(bad("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"),
              "no sum");
}
