/* metrics.c: /health and /metrics: the scoreboard as JSON and Prometheus. */
#include "metrics.h"
#include "access.h"
#include "util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const uint64_t herd_metrics_bounds_us[HERD_DURATION_BUCKETS - 1] = {
    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 1000000, 2500000, 10000000};

static const char *const state_names[] = {"empty", "starting", "ready",
                                          "draining"};

size_t
herd_metrics_bucket(uint64_t us)
{
    size_t i;

    for (i = 0; i < HERD_DURATION_BUCKETS - 1; i++)
        if (us <= herd_metrics_bounds_us[i])
            return i;
    return HERD_DURATION_BUCKETS - 1;
}

/* printf onto out. */
static int HERD_PRINTF(2, 3) put(struct herd_buf *out, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (herd_buf_reserve(out, 256) != HERD_OK)
        return HERD_ERR;
    va_start(ap, fmt);
    n = vsnprintf(out->data + out->len, out->cap - out->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return HERD_ERR;
    if ((size_t)n >= out->cap - out->len) {
        if (herd_buf_reserve(out, (size_t)n + 1) != HERD_OK)
            return HERD_ERR;
        va_start(ap, fmt);
        vsnprintf(out->data + out->len, out->cap - out->len, fmt, ap);
        va_end(ap);
    }
    out->len += (size_t)n;
    return HERD_OK;
}

static uint64_t
age(uint64_t now_ms, uint64_t then_ms)
{
    return then_ms != 0 && now_ms > then_ms ? now_ms - then_ms : 0;
}

static const char *
state_name(uint32_t state)
{
    return state < HERD_ARRAY_LEN(state_names) ? state_names[state] : "empty";
}

int
herd_metrics_health(struct herd_buf *out, const struct herd_server_score *ss,
                    const struct herd_score *slots, uint32_t min_ready,
                    uint64_t now_ms, int *ok)
{
    uint32_t i, ready = 0, need = min_ready ? min_ready : ss->nslots;
    int rc;

    for (i = 0; i < ss->nslots; i++)
        ready += slots[i].state == HERD_SLOT_READY;
    *ok = ss->nslots > 0 && ready >= need;
    rc =
        put(out,
            "{\"status\":\"%s\",\"ready\":%" PRIu32 ",\"min_ready\":%" PRIu32
            ",\"workers\":%" PRIu32 ",\"master_pid\":%" PRIu32
            ",\"generation\":%" PRIu32 ",\"reloads\":%" PRIu64
            ",\"uptime_ms\":%" PRIu64 ",\"slots\":[",
            *ok ? "ok" : "unavailable", ready, need, ss->nslots, ss->master_pid,
            ss->generation, ss->reloads, age(now_ms, ss->started_ms));
    for (i = 0; rc == HERD_OK && i < ss->nslots; i++) {
        const struct herd_score *s = &slots[i];
        int live = s->state != HERD_SLOT_EMPTY;

        rc = put(out,
                 "%s{\"slot\":%" PRIu32 ",\"pid\":%" PRIu32
                 ",\"generation\":%" PRIu32 ",\"state\":\"%s\""
                 ",\"uptime_ms\":%" PRIu64 ",\"requests\":%" PRIu64
                 ",\"active_connections\":%" PRIu32
                 ",\"heartbeat_age_ms\":%" PRIu64 ",\"rss_bytes\":%" PRIu64
                 ",\"loop_lag_us\":%" PRIu64 ",\"restarts\":%" PRIu32
                 ",\"last_exit\":%" PRId32,
                 i ? "," : "", i, live ? s->health.pid : 0,
                 live ? s->health.generation : 0, state_name(s->state),
                 live ? age(now_ms, s->started_ms) : 0,
                 live ? s->health.requests : 0,
                 live ? s->health.active_connections : 0,
                 live ? age(now_ms, s->last_heartbeat_ms) : 0,
                 live ? s->health.rss_bytes : 0,
                 live ? s->health.loop_lag_us : 0, s->restarts, s->last_exit);
        /* The module route the last crash interrupted, if any. */
        if (rc == HERD_OK)
            rc = herd_json_field(out, "last_crash_route", s->route,
                                 strnlen(s->route, sizeof(s->route)));
        if (rc == HERD_OK)
            rc = put(out, "}");
    }
    if (rc == HERD_OK)
        rc = put(out, "]}\n");
    return rc;
}

/* "# HELP" and "# TYPE" lines of a family. */
static int
family(struct herd_buf *out, const char *name, const char *type,
       const char *help)
{
    return put(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
static int
single(struct herd_buf *out, const char *name, const char *type,
       const char *help, uint64_t value)
{
    int rc = family(out, name, type, help);

    return rc == HERD_OK ? put(out, "%s %" PRIu64 "\n", name, value) : rc;
}

/* A label value: backslash, double quote and newline escaped (0.0.4). */
static int
put_label(struct herd_buf *out, const char *s, size_t len)
{
    size_t i;
    int rc = HERD_OK;

    for (i = 0; rc == HERD_OK && i < len; i++) {
        if (s[i] == '\\' || s[i] == '"')
            rc = put(out, "\\%c", s[i]);
        else if (s[i] == '\n')
            rc = put(out, "\\n");
        else
            rc = herd_buf_append(out, &s[i], 1);
    }
    return rc;
}

/* herd_route_requests_total: one series per route pattern and class. */
static int
put_routes(struct herd_buf *out, const struct herd_route_score *routes,
           uint32_t nroutes)
{
    uint32_t i, c;
    int rc;

    rc = family(out, "herd_route_requests_total", "counter",
                "Requests answered, by route pattern and status class.");
    for (i = 0; rc == HERD_OK && i < nroutes; i++) {
        const struct herd_route_score *r = &routes[i];

        if (r->route[0] == '\0')
            continue;
        for (c = 1; rc == HERD_OK && c <= 5; c++) {
            rc = put(out, "herd_route_requests_total{route=\"");
            if (rc == HERD_OK)
                rc = put_label(out, r->route,
                               strnlen(r->route, sizeof(r->route)));
            if (rc == HERD_OK)
                rc = put(out, "\",class=\"%" PRIu32 "xx\"} %" PRIu64 "\n", c,
                         r->status[c]);
        }
    }
    return rc;
}

int
herd_metrics_prometheus(struct herd_buf *out,
                        const struct herd_server_score *ss,
                        const struct herd_score *slots,
                        const struct herd_route_score *routes, uint64_t now_ms)
{
    const struct herd_totals *t = &ss->totals;
    uint64_t cum = 0, conns = 0, subs = 0;
    uint32_t i, nstate[HERD_ARRAY_LEN(state_names)] = {0};
    int rc;

    for (i = 0; i < ss->nslots; i++) {
        if (slots[i].state != HERD_SLOT_EMPTY) {
            conns += slots[i].health.active_connections;
            subs += slots[i].health.subscribers;
        }
        if (slots[i].state < HERD_ARRAY_LEN(state_names))
            nstate[slots[i].state]++;
    }
    rc = family(out, "herd_requests_total", "counter",
                "Requests answered, by status class.");
    for (i = 1; rc == HERD_OK && i <= 5; i++)
        rc = put(out,
                 "herd_requests_total{class=\"%" PRIu32 "xx\"} %" PRIu64 "\n",
                 i, t->status[i]);
    if (rc == HERD_OK)
        rc = put_routes(out, routes,
                        ss->nroutes < HERD_MAX_ROUTE_METRICS
                            ? ss->nroutes
                            : HERD_MAX_ROUTE_METRICS);
    if (rc == HERD_OK)
        rc = family(out, "herd_request_duration_seconds", "histogram",
                    "From the first byte of a request to its answer.");
    for (i = 0; rc == HERD_OK && i < HERD_DURATION_BUCKETS - 1; i++) {
        cum += t->duration[i];
        rc =
            put(out,
                "herd_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                (double)herd_metrics_bounds_us[i] / 1e6, cum);
    }
    cum += t->duration[HERD_DURATION_BUCKETS - 1];
    if (rc == HERD_OK)
        rc = put(out,
                 "herd_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64
                 "\nherd_request_duration_seconds_sum %.6f\n"
                 "herd_request_duration_seconds_count %" PRIu64 "\n",
                 cum, (double)t->duration_sum_us / 1e6, cum);
    if (rc == HERD_OK)
        rc = single(out, "herd_received_bytes_total", "counter",
                    "Bytes read from clients.", t->bytes_in);
    if (rc == HERD_OK)
        rc = single(out, "herd_sent_bytes_total", "counter",
                    "Bytes written to clients.", t->bytes_out);
    if (rc == HERD_OK)
        rc = single(out, "herd_static_cache_hits_total", "counter",
                    "Static answers from the memory cache.", t->cache_hits);
    if (rc == HERD_OK)
        rc = single(out, "herd_static_cache_misses_total", "counter",
                    "Static requests on a cached route that opened the file.",
                    t->cache_misses);
    if (rc == HERD_OK)
        rc = single(out, "herd_active_connections", "gauge",
                    "Open client connections of the serving workers.", conns);
    if (rc == HERD_OK)
        rc = family(out, "herd_workers", "gauge", "Worker slots by state.");
    for (i = 0; rc == HERD_OK && i < HERD_ARRAY_LEN(state_names); i++)
        rc = put(out, "herd_workers{state=\"%s\"} %" PRIu32 "\n",
                 state_names[i], nstate[i]);
    if (rc == HERD_OK)
        rc = single(out, "herd_worker_restarts_total", "counter",
                    "Workers started into a slot after its first.",
                    ss->restarts);
    if (rc == HERD_OK)
        rc = single(out, "herd_reloads_total", "counter",
                    "Successful configuration reloads.", ss->reloads);
    if (rc == HERD_OK)
        rc = family(out, "herd_heartbeat_age_seconds", "gauge",
                    "Time since each slot's worker last reported.");
    for (i = 0; rc == HERD_OK && i < ss->nslots; i++)
        if (slots[i].state != HERD_SLOT_EMPTY)
            rc = put(out,
                     "herd_heartbeat_age_seconds{slot=\"%" PRIu32 "\"} %.3f\n",
                     i, (double)age(now_ms, slots[i].last_heartbeat_ms) / 1e3);
    if (rc == HERD_OK)
        rc = single(out, "herd_pubsub_subscribers", "gauge",
                    "SSE and WebSocket clients of the serving workers.", subs);
    if (rc == HERD_OK)
        rc = single(out, "herd_pubsub_dropped_total", "counter",
                    "Subscribers dropped for falling max_pending behind.",
                    t->dropped);
    if (rc == HERD_OK)
        rc = single(out, "herd_pubsub_published_total", "counter",
                    "Messages published (through the master).",
                    ss->pubsub_published);
    if (rc == HERD_OK)
        rc = single(out, "herd_pubsub_channels", "gauge",
                    "Channels the master keeps.", ss->pubsub_channels);
    if (rc == HERD_OK)
        rc = single(out, "herd_pubsub_overflows_total", "counter",
                    "Messages a worker's full queue could not take.",
                    ss->pubsub_overflows);
    if (rc == HERD_OK && ss->pubsub_redis_up >= 0)
        rc = single(out, "herd_pubsub_redis_up", "gauge",
                    "Whether the master's Redis connections are up.",
                    (uint64_t)ss->pubsub_redis_up);
    if (rc == HERD_OK && ss->pubsub_redis_up >= 0)
        rc = single(out, "herd_pubsub_redis_errors_total", "counter",
                    "Publishes Redis could not take (down, or refused).",
                    ss->pubsub_redis_errors);
    if (rc == HERD_OK)
        rc = family(out, "herd_uptime_seconds", "gauge",
                    "Time since the master started.");
    if (rc == HERD_OK)
        rc = put(out, "herd_uptime_seconds %.3f\n",
                 (double)age(now_ms, ss->started_ms) / 1e3);
    return rc;
}

int
herd_metrics_answer(const struct herd_scoreboard *sb,
                    const struct herd_route_conf *rc, struct herd_buf *out,
                    time_t now, enum herd_conn_header conn, int head_only,
                    int *status)
{
    /* Per process and reused: a worker answers one request at a time. */
    static struct herd_score slots[HERD_MAX_SLOTS];
    static struct herd_route_score routes[HERD_MAX_ROUTE_METRICS];
    static struct herd_buf body;
    struct herd_server_score ss;
    const char *type, *date;
    size_t i, date_len;
    uint64_t now_ms = herd_mono_ms();
    int ok = 0, r;

    body.len = 0;
    if (sb == NULL) {
        memset(&ss, 0, sizeof(ss));
    } else {
        herd_scoreboard_read_server(sb, &ss);
        if (ss.nslots > HERD_MAX_SLOTS)
            ss.nslots = HERD_MAX_SLOTS;
        for (i = 0; i < ss.nslots; i++)
            herd_scoreboard_read(sb, i, &slots[i]);
        if (ss.nroutes > HERD_MAX_ROUTE_METRICS)
            ss.nroutes = HERD_MAX_ROUTE_METRICS;
        if (rc->handler == HERD_HANDLER_METRICS)
            for (i = 0; i < ss.nroutes; i++)
                herd_scoreboard_read_route(sb, i, &routes[i]);
    }
    if (rc->handler == HERD_HANDLER_HEALTH) {
        type = "application/json";
        r = herd_metrics_health(&body, &ss, slots, rc->u.health.min_ready,
                                now_ms, &ok);
        *status = ok ? 200 : 503;
    } else {
        type = "text/plain; version=0.0.4; charset=utf-8";
        r = herd_metrics_prometheus(&body, &ss, slots, routes, now_ms);
        *status = sb != NULL ? 200 : 503;
    }
    if (r != HERD_OK)
        return HERD_ERR;
    date = herd_date_header(now, &date_len);
    if (put(out,
            "HTTP/1.1 %d %s\r\nServer: herd\r\n%.*sContent-Type: %s\r\n"
            "Cache-Control: no-store\r\nContent-Length: %zu\r\n%s\r\n",
            *status, herd_status_reason(*status), (int)date_len, date, type,
            body.len,
            conn == HERD_CONN_CLOSE       ? "Connection: close\r\n"
            : conn == HERD_CONN_KEEPALIVE ? "Connection: keep-alive\r\n"
                                          : "") != HERD_OK)
        return HERD_ERR;
    if (!head_only)
        return herd_buf_append(out, body.data, body.len);
    return HERD_OK;
}
