/* worker.c: a worker process: accepts on its slot's sockets and serves HTTP. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "conn.h"
#include "events.h"
#include "filecache.h"
#include "log.h"
#include "metrics.h"
#include "module.h"
#include "request.h"
#include "scoreboard.h"
#include "util.h"

/* How long a POST to an events route waits for the master's answer. */
#define EVENTS_PUBLISH_TIMEOUT_MS 10000
/* Scratch read buffer shared by all connections of a worker. */
#define SCRATCH_IN (64 * 1024)
/* Connections accepted per readiness event, so one busy listener does
   not starve the connections already open. */
#define ACCEPT_BATCH 64
/* How long accepting pauses after the process ran out of descriptors. */
#define ACCEPT_RETRY_MS 500

int
herd_routes_build(struct herd_routes *routes, const struct herd_config *cfg,
                  char *err, size_t errlen)
{
    char why[HERD_ERR_LEN];
    size_t i;

    memset(routes, 0, sizeof(*routes));
    routes->router = herd_router_new();
    routes->handlers =
        calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof(*routes->handlers));
    if (routes->router == NULL || routes->handlers == NULL) {
        snprintf(err, errlen, "out of memory building routes");
        goto fail;
    }
    for (i = 0; i < cfg->nroutes; i++) {
        const struct herd_route_conf *rc = &cfg->routes[i];
        struct herd_handler *h = &routes->handlers[i];

        h->kind = rc->handler;
        h->conf = rc;
        h->rootfd = -1;
        routes->nhandlers++;
        if (rc->handler == HERD_HANDLER_RESPOND &&
            herd_fixed_response_init(&h->fixed, &rc->u.respond) != HERD_OK) {
            snprintf(err, errlen, "out of memory building routes");
            goto fail;
        }
        if (rc->handler == HERD_HANDLER_MODULE) {
            const struct herd_module_config *mc = &rc->u.module;
            size_t n =
                strlen(rc->path) + strlen(mc->file) + strlen(mc->handler) + 8;

            routes->has_body_routes = 1;
            h->mc = (struct herd_module_config *)mc;
            *(void **)&h->fn = mc->fn;
            h->timeout_ms = mc->timeout_ms;
            h->running = malloc(n);
            if (h->running == NULL) {
                snprintf(err, errlen, "out of memory building routes");
                goto fail;
            }
            snprintf(h->running, n, "%s (%s:%s)", rc->path, mc->file,
                     mc->handler);
        }
        if (rc->handler == HERD_HANDLER_EVENTS) {
            routes->has_body_routes = 1; /* a POST's body is the message */
            h->fn = herd_events_handle;
            h->timeout_ms = EVENTS_PUBLISH_TIMEOUT_MS;
        }
        if (rc->handler == HERD_HANDLER_STATIC) {
            /* Once per worker: every file is opened beneath this fd. */
            h->rootfd =
                open(rc->u.static_.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (h->rootfd < 0) {
                snprintf(err, errlen,
                         "%s:%d:%d: routes[%zu].static.root: "
                         "open(\"%s\") failed (%d: %s)",
                         cfg->file, rc->line, rc->col, i, rc->u.static_.root,
                         errno, strerror(errno));
                goto fail;
            }
            if (rc->u.static_.cache.size > 0) {
                h->cache = malloc(sizeof(*h->cache));
                if (h->cache == NULL) {
                    snprintf(err, errlen, "out of memory building routes");
                    goto fail;
                }
                herd_filecache_init(h->cache,
                                    (size_t)rc->u.static_.cache.max_file,
                                    (size_t)rc->u.static_.cache.size);
            }
        }
        if (herd_router_add(routes->router, rc->path, rc->methods, h, NULL, why,
                            sizeof(why)) != HERD_OK) {
            snprintf(err, errlen, "%s:%d:%d: routes[%zu].path: %s", cfg->file,
                     rc->line, rc->col, i, why);
            goto fail;
        }
    }
    return HERD_OK;
fail:
    herd_routes_free(routes);
    return HERD_ERR;
}

void
herd_routes_free(struct herd_routes *routes)
{
    size_t i;

    if (routes == NULL)
        return;
    for (i = 0; i < routes->nhandlers; i++) {
        herd_fixed_response_free(&routes->handlers[i].fixed);
        if (routes->handlers[i].rootfd >= 0)
            close(routes->handlers[i].rootfd);
        if (routes->handlers[i].cache != NULL) {
            herd_filecache_free(routes->handlers[i].cache);
            free(routes->handlers[i].cache);
        }
        free(routes->handlers[i].running);
    }
    free(routes->handlers);
    herd_router_free(routes->router);
    memset(routes, 0, sizeof(*routes));
}

/* ---- accepting ---- */

/* Whether the configuration asks for PROXY headers on listener l. */
static int
listener_proxy_protocol(const struct herd_config *cfg,
                        const struct herd_listener *l)
{
    char key[sizeof(l->key)];
    size_t i;

    for (i = 0; i < cfg->nlisten; i++) {
        herd_listener_key(&cfg->listen[i], key, sizeof(key));
        if (strcmp(key, l->key) == 0)
            return cfg->listen[i].proxy_protocol;
    }
    return 0;
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct herd_acceptor *a = arg;
    struct herd_worker *w = a->w;
    struct sockaddr_storage sa;
    socklen_t salen;
    int i, cfd;

    (void)what;
    for (i = 0; i < ACCEPT_BATCH && w->accepting; i++) {
        salen = sizeof(sa);
        cfd = accept4(fd, (struct sockaddr *)&sa, &salen,
                      SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                /* Spinning on a full descriptor table would burn the CPU:
                   stop accepting and try again shortly. */
                struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
                if (!w->accept_failing)
                    herd_log_error("accept4() failed (%d: %s), pausing "
                                   "accept for %d ms at a time",
                                   errno, strerror(errno), ACCEPT_RETRY_MS);
                w->accept_failing = 1;
                herd_worker_accept_pause(w);
                evtimer_add(w->accept_retry, &tv);
            }
            return; /* EAGAIN: the queue is empty */
        }
        w->accept_failing = 0;
        herd_conn_accept(w, cfd, a, (struct sockaddr *)&sa, salen);
        if (w->nconns >= w->cfg->limits.max_connections) {
            herd_worker_accept_pause(w);
            return;
        }
    }
}

static void
on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    struct herd_worker *w = arg;

    (void)fd;
    (void)what;
    if (!w->draining && w->nconns < w->cfg->limits.max_connections)
        herd_worker_accept_resume(w);
}

void
herd_worker_accept_pause(struct herd_worker *w)
{
    size_t i;

    if (!w->accepting)
        return;
    for (i = 0; i < w->nlisteners; i++)
        event_del(w->acceptors[i].ev);
    w->accepting = 0;
}

void
herd_worker_accept_resume(struct herd_worker *w)
{
    size_t i;

    if (w->accepting || w->draining)
        return;
    for (i = 0; i < w->nlisteners; i++)
        event_add(w->acceptors[i].ev, NULL);
    w->accepting = 1;
}

void
herd_worker_running(struct herd_worker *w, const struct herd_handler *hd)
{
    herd_activity_set(w->activity, (size_t)w->slot, w->pid,
                      hd != NULL ? hd->running : NULL);
}

void
herd_worker_conn_closed(struct herd_worker *w)
{
    if (w->draining) {
        if (w->nconns == 0)
            event_base_loopbreak(w->base);
        return;
    }
    if (!w->accepting && w->nconns < w->cfg->limits.max_connections &&
        !evtimer_pending(w->accept_retry, NULL))
        herd_worker_accept_resume(w);
}

/* ---- counters and reports ---- */

static uint64_t
rss_bytes(void)
{
    unsigned long size, resident;
    FILE *f = fopen("/proc/self/statm", "r");
    int n;

    if (f == NULL)
        return 0;
    n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static void
fill_health(const struct herd_worker *w, struct herd_health *h)
{
    size_t i;

    memset(h, 0, sizeof(*h));
    h->pid = (uint32_t)getpid();
    h->slot = (uint32_t)w->slot;
    h->generation = w->generation;
    h->active_connections = w->nconns;
    h->requests = w->requests;
    memcpy(h->status, w->status, sizeof(h->status));
    h->bytes_in = w->bytes_in;
    h->bytes_out = w->bytes_out;
    h->rss_bytes = rss_bytes();
    h->loop_lag_us = w->loop_lag_us;
    h->uptime_ms = herd_mono_ms() - w->started_ms;
    memcpy(h->duration, w->duration, sizeof(h->duration));
    h->duration_sum_us = w->duration_sum_us;
    herd_events_stats(&h->subscribers, &h->dropped);
    for (i = 0; i < w->routes.nhandlers; i++)
        if (w->routes.handlers[i].cache != NULL) {
            h->cache_hits += w->routes.handlers[i].cache->hits;
            h->cache_misses += w->routes.handlers[i].cache->misses;
        }
}

/* Send the route counts that changed since the last report (before a
   heartbeat, so the master has them when the worker's last one comes). */
static void
report_routes(struct herd_worker *w)
{
    static struct herd_route_count c[HERD_MAX_ROUTE_METRICS];
    static char payload[4 + HERD_MAX_ROUTE_METRICS * HERD_ROUTE_COUNT_WIRE_LEN];
    size_t id, n = 0, len;

    if (!w->routes_dirty)
        return;
    for (id = 0; id < HERD_MAX_ROUTE_METRICS; id++) {
        if (!w->route_dirty[id])
            continue;
        c[n].id = (uint32_t)id;
        memcpy(c[n].status, w->route_status[id], sizeof(c[n].status));
        n++;
    }
    len = herd_route_counts_encode(c, n, payload, sizeof(payload));
    if (len == 0 ||
        herd_channel_send(w->chan, HERD_MSG_ROUTES, payload, len) != HERD_OK)
        return; /* still dirty: the next report sends them */
    memset(w->route_dirty, 0, sizeof(w->route_dirty));
    w->routes_dirty = 0;
}

/* Send a message carrying this worker's health; never blocks. */
static void
report(struct herd_worker *w, uint8_t type)
{
    struct herd_health h;
    char payload[HERD_HEALTH_WIRE_LEN];

    if (w->chan < 0)
        return;
    if (type == HERD_MSG_HEALTH)
        report_routes(w);
    fill_health(w, &h);
    herd_health_encode(&h, payload);
    /* HERD_AGAIN: the master is not reading (stopped); the next
       heartbeat tells it the same, so dropping this one is fine. */
    herd_channel_send(w->chan, type, payload, sizeof(payload));
}

static int
retiring(const struct herd_worker *w)
{
    return w->max_requests > 0 && w->requests >= w->max_requests;
}

void
herd_worker_duration(struct herd_worker *w, uint64_t us)
{
    w->duration[herd_metrics_bucket(us)]++;
    w->duration_sum_us += us;
}

void
herd_worker_request_done(struct herd_worker *w, int route, int status)
{
    w->requests++;
    if (status >= 100 && status < 600) {
        w->status[status / 100]++;
        if (route >= 0 && route < HERD_MAX_ROUTE_METRICS) {
            w->route_status[route][status / 100]++;
            w->route_dirty[route] = 1;
            w->routes_dirty = 1;
        }
    }
    /* Ask for a replacement once; heartbeats repeat it until STOP. */
    if (HERD_UNLIKELY(w->max_requests > 0 && w->requests == w->max_requests)) {
        herd_log_info("served %llu requests: asking to be replaced",
                      (unsigned long long)w->requests);
        report(w, HERD_MSG_RETIRE);
    }
}

static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct herd_worker *w = arg;
    const struct herd_config *cfg = w->cfg;
    struct timeval now, lag, hb;

    (void)fd;
    (void)what;
    /* Lag: how much later than due this timer ran. A blocked loop shows
       here before the master's timeout fires. */
    event_base_gettimeofday_cached(w->base, &now);
    if (timercmp(&now, &w->heartbeat_due, >)) {
        timersub(&now, &w->heartbeat_due, &lag);
        w->loop_lag_us = (uint64_t)lag.tv_sec * 1000000 + (uint64_t)lag.tv_usec;
    } else {
        w->loop_lag_us = 0;
    }
    hb = herd_ms_tv(cfg->worker.heartbeat_ms);
    timeradd(&now, &hb, &w->heartbeat_due);
    report(w, retiring(w) && !w->draining ? HERD_MSG_RETIRE : HERD_MSG_HEALTH);
}

/* ---- stopping ---- */

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct herd_worker *w = arg;

    (void)fd;
    (void)what;
    herd_log_warn("shutdown timeout: closing %u connection(s)",
                  (unsigned)w->nconns);
    event_base_loopbreak(w->base);
}

/* Take what is already in the accept queues, then close this worker's
   listening sockets: for a slot that is going away, that close is the
   last one, and the kernel stops queueing connections on it. */
static void
close_listeners(struct herd_worker *w)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    size_t i;
    int cfd, fd;

    for (i = 0; i < w->nlisteners; i++) {
        struct herd_acceptor *a = &w->acceptors[i];
        if (a->ev == NULL)
            continue;
        fd = event_get_fd(a->ev);
        for (;;) {
            salen = sizeof(sa);
            cfd = accept4(fd, (struct sockaddr *)&sa, &salen,
                          SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (cfd < 0)
                break;
            herd_conn_accept(w, cfd, a, (struct sockaddr *)&sa, salen);
        }
        event_free(a->ev);
        a->ev = NULL;
        close(fd);
    }
}

void
herd_worker_drain(struct herd_worker *w, const char *why)
{
    struct timeval tv = herd_ms_tv(w->cfg->worker.shutdown_timeout_ms);

    if (w->draining)
        return;
    herd_log_info("%s: draining %u connection(s)", why, (unsigned)w->nconns);
    herd_worker_accept_pause(w);
    w->draining = 1;
    evtimer_del(w->accept_retry);
    close_listeners(w);
    herd_events_drain();
    herd_conn_drain_all(w);
    if (w->nconns == 0) {
        event_base_loopbreak(w->base);
        return;
    }
    evtimer_add(w->drain_timer, &tv);
}

static void
on_chan(evutil_socket_t fd, short what, void *arg)
{
    struct herd_worker *w = arg;
    static char buf[HERD_CHANNEL_MAX_FRAME];
    char err[HERD_ERR_LEN];
    struct herd_msg msg;
    int rc;

    (void)what;
    while ((rc = herd_channel_recv(fd, buf, sizeof(buf), &msg, err,
                                   sizeof(err))) == HERD_OK) {
        if (msg.type == HERD_MSG_STOP)
            herd_worker_drain(w, "stop requested by the master");
        else if (msg.type == HERD_MSG_DELIVER)
            herd_events_input(msg.payload, msg.len);
        else
            herd_log_warn("channel: unexpected message type %u",
                          (unsigned)msg.type);
    }
    if (rc == HERD_ERR) {
        /* The master is gone (or talks nonsense): no one would replace
           or supervise this worker, so finish what is open and leave. */
        if (strcmp(err, "closed") == 0)
            herd_log_warn("the master is gone: stopping");
        else
            herd_log_error("channel: %s: stopping", err);
        event_free(w->chan_ev);
        w->chan_ev = NULL;
        close(w->chan);
        w->chan = -1;
        herd_worker_drain(w, "master channel closed");
    }
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct herd_worker *w = arg;
    char err[HERD_ERR_LEN];

    (void)what;
    switch (sig) {
    case SIGPIPE:
        return;
    case SIGUSR1:
        if (herd_log_reopen(err, sizeof(err)) != HERD_OK)
            herd_log_error("reopening the error log: %s", err);
        if (herd_access_reopen(&w->access, err, sizeof(err)) != HERD_OK)
            herd_log_error("reopening the access log: %s", err);
        return;
    case SIGTERM:
        herd_worker_drain(w, "SIGTERM");
        return;
    default: /* SIGINT, SIGQUIT: fast stop */
        event_base_loopbreak(w->base);
    }
}

/* ---- access log ---- */

/* Write the buffered access log lines; say so once when they start
   being lost (disk full), and again only after a write worked. */
static void
access_flush(struct herd_worker *w)
{
    int failed = herd_access_flush(&w->access) != HERD_OK;

    if (failed && !w->access_failing)
        herd_log_warn("access log: write failed, dropping lines (%d: %s)",
                      errno, strerror(errno));
    w->access_failing = failed;
}

static void
on_access_timer(evutil_socket_t fd, short what, void *arg)
{
    struct herd_worker *w = arg;

    (void)fd;
    (void)what;
    access_flush(w);
}

void
herd_worker_access(struct herd_worker *w, const struct herd_access_entry *e)
{
    struct timeval tv = {0, HERD_ACCESS_FLUSH_MS * 1000};

    if (!herd_access_on(&w->access))
        return;
    if (herd_access_add(&w->access, e))
        access_flush(w);
    else if (!evtimer_pending(w->access_timer, NULL))
        evtimer_add(w->access_timer, &tv);
}

/* ---- life cycle ---- */

static struct event *
add_signal(struct herd_worker *w, int sig)
{
    struct event *ev = evsignal_new(w->base, sig, on_signal, w);

    if (ev != NULL && event_add(ev, NULL) != 0) {
        event_free(ev);
        return NULL;
    }
    return ev;
}

static const struct timeval *
common_timeout(struct herd_worker *w, uint64_t ms)
{
    struct timeval tv = herd_ms_tv(ms);

    return event_base_init_common_timeout(w->base, &tv);
}

static int
worker_init(struct herd_worker *w, const struct herd_worker_args *a)
{
    const struct herd_config *cfg = a->cfg;
    char err[HERD_CONFIG_ERR_LEN];
    struct timeval hb;
    size_t i;

    memset(w, 0, sizeof(*w));
    w->access.fd = -1;
    w->slot = a->slot;
    w->generation = a->generation;
    w->cfg = cfg;
    w->scoreboard = a->scoreboard;
    w->activity = a->activity;
    w->pid = (uint32_t)getpid();
    w->listeners = a->listeners;
    w->nlisteners = a->nlisteners;
    w->chan = a->chan;
    w->max_requests = a->max_requests;
    w->started_ms = herd_mono_ms();
    herd_reqid_init(&w->reqid, a->reqid_nonce, (uint32_t)a->slot,
                    a->generation);
    w->base = event_base_new();
    if (w->base == NULL) {
        herd_log_error("event_base_new() failed");
        return HERD_ERR;
    }
    if (herd_routes_build(&w->routes, cfg, err, sizeof(err)) != HERD_OK) {
        herd_log_error("%s", err);
        return HERD_ERR;
    }
    herd_conn_global_init(cfg->limits.max_header_size);
    w->in_cap = SCRATCH_IN;
    w->in = malloc(w->in_cap);
    w->acceptors =
        calloc(a->nlisteners ? a->nlisteners : 1, sizeof(*w->acceptors));
    if (w->in == NULL || w->acceptors == NULL ||
        herd_buf_reserve(&w->out, 64 * 1024) != HERD_OK) {
        herd_log_error("out of memory starting the worker");
        return HERD_ERR;
    }
    for (i = 0; i < a->nlisteners; i++) {
        struct herd_acceptor *ac = &w->acceptors[i];
        ac->w = w;
        ac->tcp = a->listeners[i].kind == HERD_LISTEN_TCP;
        ac->proxy_protocol = listener_proxy_protocol(cfg, &a->listeners[i]);
        ac->ev = event_new(w->base, herd_listener_fd(&a->listeners[i], a->slot),
                           EV_READ | EV_PERSIST, on_accept, ac);
        if (ac->ev == NULL)
            return HERD_ERR;
    }
    w->accept_retry = evtimer_new(w->base, on_accept_retry, w);
    w->drain_timer = evtimer_new(w->base, on_drain_timeout, w);
    w->access_timer = evtimer_new(w->base, on_access_timer, w);
    if (herd_access_open(&w->access, cfg->log.access, cfg->log.format, err,
                         sizeof(err)) != HERD_OK)
        herd_log_error("access log: %s: no access log", err);
    w->heartbeat = event_new(w->base, -1, EV_PERSIST, on_heartbeat, w);
    w->sig_term = add_signal(w, SIGTERM);
    w->sig_int = add_signal(w, SIGINT);
    w->sig_quit = add_signal(w, SIGQUIT);
    w->sig_pipe = add_signal(w, SIGPIPE);
    w->sig_usr1 = add_signal(w, SIGUSR1);
    if (w->accept_retry == NULL || w->drain_timer == NULL ||
        w->access_timer == NULL || w->heartbeat == NULL ||
        w->sig_term == NULL || w->sig_int == NULL || w->sig_quit == NULL ||
        w->sig_pipe == NULL || w->sig_usr1 == NULL)
        return HERD_ERR;
    if (w->chan >= 0) {
        w->chan_ev =
            event_new(w->base, w->chan, EV_READ | EV_PERSIST, on_chan, w);
        if (w->chan_ev == NULL || event_add(w->chan_ev, NULL) != 0)
            return HERD_ERR;
    }
    w->tv_header = common_timeout(w, cfg->limits.header_timeout_ms);
    w->tv_body = common_timeout(w, cfg->limits.body_timeout_ms);
    w->tv_keepalive = common_timeout(w, cfg->limits.keepalive_timeout_ms);
    w->tv_send = common_timeout(w, cfg->limits.send_timeout_ms);
    if (w->tv_header == NULL || w->tv_body == NULL || w->tv_keepalive == NULL ||
        w->tv_send == NULL)
        return HERD_ERR;
    hb = herd_ms_tv(cfg->worker.heartbeat_ms);
    event_base_gettimeofday_cached(w->base, &w->heartbeat_due);
    timeradd(&w->heartbeat_due, &hb, &w->heartbeat_due);
    if (event_add(w->heartbeat, &hb) != 0)
        return HERD_ERR;
    herd_worker_accept_resume(w);
    return HERD_OK;
}

static void
free_event(struct event *ev)
{
    if (ev != NULL)
        event_free(ev);
}

static void
worker_free(struct herd_worker *w)
{
    size_t i;

    herd_conn_close_all(w);
    herd_conn_pool_free(w);
    for (i = 0; w->acceptors != NULL && i < w->nlisteners; i++)
        free_event(w->acceptors[i].ev);
    free(w->acceptors);
    free_event(w->accept_retry);
    free_event(w->drain_timer);
    herd_access_close(&w->access);
    free_event(w->access_timer);
    free_event(w->heartbeat);
    free_event(w->chan_ev);
    free_event(w->sig_term);
    free_event(w->sig_int);
    free_event(w->sig_quit);
    free_event(w->sig_pipe);
    free_event(w->sig_usr1);
    if (w->chan >= 0)
        close(w->chan);
    herd_routes_free(&w->routes);
    free(w->in);
    herd_buf_free(&w->out);
    herd_buf_free(&w->path);
    if (w->base)
        event_base_free(w->base);
}

int
herd_worker_run(const struct herd_worker_args *args)
{
    struct herd_worker w;
    char role[32], err[HERD_CONFIG_ERR_LEN];
    int status = 0;

    snprintf(role, sizeof(role), "worker %d", args->slot);
    herd_log_set_role(role);
    if (worker_init(&w, args) != HERD_OK) {
        status = HERD_EXIT_FATAL;
        goto done;
    }
    if (herd_events_init(&w, err, sizeof(err)) != HERD_OK) {
        herd_log_error("pub/sub: %s: cannot serve", err);
        status = HERD_EXIT_FATAL;
        goto done;
    }
    if (herd_module_worker_start(w.cfg, w.base, err, sizeof(err)) != HERD_OK) {
        herd_log_error("%s: cannot serve", err);
        status = HERD_EXIT_FATAL;
        goto done;
    }
    herd_log_info("serving (slot %d, generation %u)", args->slot,
                  (unsigned)args->generation);
    report(&w, HERD_MSG_READY);
    event_base_dispatch(w.base);
    /* Deferred requests are cancelled before their modules stop. */
    herd_conn_close_all(&w);
    herd_module_worker_stop(w.cfg);
    herd_request_shutdown();
    herd_events_free();
    /* The last counters, so that the server's totals lose nothing. */
    report(&w, HERD_MSG_HEALTH);
    herd_log_info("exiting after %llu request(s)",
                  (unsigned long long)w.requests);
done:
    worker_free(&w);
    return status;
}
