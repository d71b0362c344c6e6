/* metrics.h: /health and /metrics: the scoreboard as JSON and Prometheus. */
#ifndef HERD_METRICS_H
#define HERD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "channel.h"
#include "common.h"
#include "config.h"
#include "response.h"
#include "scoreboard.h"

/* Upper bounds (µs) of the request duration buckets but the last. */
extern const uint64_t herd_metrics_bounds_us[HERD_DURATION_BUCKETS - 1];

/* The duration bucket of a request that took us microseconds. */
size_t herd_metrics_bucket(uint64_t us);

/*
 * Append the health JSON of ss and slots[0..ss->nslots) (a consistent
 * read of the scoreboard) to out, as of now_ms (CLOCK_MONOTONIC ms): the
 * overall status and one object per slot. *ok is 1 when at least
 * min_ready slots (0: all of them) are ready. Pure; HERD_OK, or HERD_ERR
 * when out of memory.
 */
int herd_metrics_health(struct herd_buf *out,
                        const struct herd_server_score *ss,
                        const struct herd_score *slots, uint32_t min_ready,
                        uint64_t now_ms, int *ok);

/*
 * Append Prometheus text exposition 0.0.4 for the server to out: the
 * counters from ss->totals (summed by the master over every worker,
 * exited ones included) and from routes[0..ss->nroutes) (by route
 * pattern, summed the same way), gauges from the slots. Pure; HERD_OK,
 * or HERD_ERR when out of memory.
 */
int herd_metrics_prometheus(struct herd_buf *out,
                            const struct herd_server_score *ss,
                            const struct herd_score *slots,
                            const struct herd_route_score *routes,
                            uint64_t now_ms);

/*
 * Answer a health or metrics route rc from the scoreboard sb (NULL: none,
 * then 503) into out: a whole response, Connection per conn, no body
 * when head_only. *status gets the status. HERD_OK, or HERD_ERR when out
 * of memory.
 */
int herd_metrics_answer(const struct herd_scoreboard *sb,
                        const struct herd_route_conf *rc, struct herd_buf *out,
                        time_t now, enum herd_conn_header conn, int head_only,
                        int *status);

#endif
