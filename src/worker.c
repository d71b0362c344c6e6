/* worker.c: a worker process: accepts on its slot's sockets and serves HTTP. */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"

/* Scratch read buffer shared by all connections of a worker. */
#define SCRATCH_IN (64 * 1024)
/* Connections accepted per readiness event, so one busy listener does
   not starve the connections already open. */
#define ACCEPT_BATCH 64
/* How long accepting pauses after the process ran out of descriptors. */
#define ACCEPT_RETRY_MS 500
/* A graceful stop kills the worker's own connections after this long. */
#define SHUTDOWN_TIMEOUT_S 30

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
        routes->nhandlers++;
        if (herd_fixed_response_init(&h->fixed, &rc->u.respond) != HERD_OK) {
            snprintf(err, errlen, "out of memory building routes");
            goto fail;
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
    for (i = 0; i < routes->nhandlers; i++)
        herd_fixed_response_free(&routes->handlers[i].fixed);
    free(routes->handlers);
    herd_router_free(routes->router);
    memset(routes, 0, sizeof(*routes));
}

/* ---- accepting ---- */

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct herd_acceptor *a = arg;
    struct herd_worker *w = a->w;
    int i, cfd;

    (void)what;
    for (i = 0; i < ACCEPT_BATCH && w->accepting; i++) {
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
        herd_conn_accept(w, cfd, a->tcp);
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

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct herd_worker *w = arg;
    struct timeval tv = {SHUTDOWN_TIMEOUT_S, 0};

    (void)what;
    if (sig == SIGPIPE)
        return;
    if (sig == SIGTERM) {
        if (w->draining)
            return;
        herd_log_info("graceful stop: draining %u connection(s)",
                      (unsigned)w->nconns);
        herd_worker_accept_pause(w);
        w->draining = 1;
        herd_conn_drain_all(w);
        if (w->nconns == 0) {
            event_base_loopbreak(w->base);
            return;
        }
        evtimer_add(w->drain_timer, &tv);
        return;
    }
    /* SIGINT, SIGQUIT: fast stop */
    event_base_loopbreak(w->base);
}

/* ---- life cycle ---- */

static int
worker_init(struct herd_worker *w, const struct herd_config *cfg,
            struct herd_listener *listeners, size_t nlisteners, int slot)
{
    char err[HERD_CONFIG_ERR_LEN];
    struct timeval tv;
    size_t i;

    memset(w, 0, sizeof(*w));
    w->slot = slot;
    w->cfg = cfg;
    w->listeners = listeners;
    w->nlisteners = nlisteners;
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
    w->acceptors = calloc(nlisteners ? nlisteners : 1, sizeof(*w->acceptors));
    if (w->in == NULL || w->acceptors == NULL ||
        herd_buf_reserve(&w->out, 64 * 1024) != HERD_OK) {
        herd_log_error("out of memory starting the worker");
        return HERD_ERR;
    }
    for (i = 0; i < nlisteners; i++) {
        struct herd_acceptor *a = &w->acceptors[i];
        a->w = w;
        a->tcp = listeners[i].kind == HERD_LISTEN_TCP;
        a->ev = event_new(w->base, herd_listener_fd(&listeners[i], slot),
                          EV_READ | EV_PERSIST, on_accept, a);
        if (a->ev == NULL)
            return HERD_ERR;
    }
    w->accept_retry = evtimer_new(w->base, on_accept_retry, w);
    w->drain_timer = evtimer_new(w->base, on_drain_timeout, w);
    w->sig_term = evsignal_new(w->base, SIGTERM, on_signal, w);
    w->sig_int = evsignal_new(w->base, SIGINT, on_signal, w);
    w->sig_quit = evsignal_new(w->base, SIGQUIT, on_signal, w);
    w->sig_pipe = evsignal_new(w->base, SIGPIPE, on_signal, w);
    if (w->accept_retry == NULL || w->drain_timer == NULL ||
        w->sig_term == NULL || w->sig_int == NULL || w->sig_quit == NULL ||
        w->sig_pipe == NULL)
        return HERD_ERR;
    event_add(w->sig_term, NULL);
    event_add(w->sig_int, NULL);
    event_add(w->sig_quit, NULL);
    event_add(w->sig_pipe, NULL);

    tv.tv_sec = (time_t)(cfg->limits.header_timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)(cfg->limits.header_timeout_ms % 1000) * 1000;
    w->tv_header = event_base_init_common_timeout(w->base, &tv);
    tv.tv_sec = (time_t)(cfg->limits.body_timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)(cfg->limits.body_timeout_ms % 1000) * 1000;
    w->tv_body = event_base_init_common_timeout(w->base, &tv);
    tv.tv_sec = (time_t)(cfg->limits.keepalive_timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)(cfg->limits.keepalive_timeout_ms % 1000) * 1000;
    w->tv_keepalive = event_base_init_common_timeout(w->base, &tv);
    tv.tv_sec = (time_t)(cfg->limits.send_timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)(cfg->limits.send_timeout_ms % 1000) * 1000;
    w->tv_send = event_base_init_common_timeout(w->base, &tv);
    if (w->tv_header == NULL || w->tv_body == NULL || w->tv_keepalive == NULL ||
        w->tv_send == NULL)
        return HERD_ERR;
    herd_worker_accept_resume(w);
    return HERD_OK;
}

static void
worker_free(struct herd_worker *w)
{
    size_t i;

    herd_conn_close_all(w);
    herd_conn_pool_free(w);
    for (i = 0; w->acceptors != NULL && i < w->nlisteners; i++)
        if (w->acceptors[i].ev != NULL)
            event_free(w->acceptors[i].ev);
    free(w->acceptors);
    if (w->accept_retry)
        event_free(w->accept_retry);
    if (w->drain_timer)
        event_free(w->drain_timer);
    if (w->sig_term)
        event_free(w->sig_term);
    if (w->sig_int)
        event_free(w->sig_int);
    if (w->sig_quit)
        event_free(w->sig_quit);
    if (w->sig_pipe)
        event_free(w->sig_pipe);
    herd_routes_free(&w->routes);
    free(w->in);
    herd_buf_free(&w->out);
    if (w->base)
        event_base_free(w->base);
}

int
herd_worker_run(const struct herd_config *cfg, struct herd_listener *listeners,
                size_t nlisteners, int slot)
{
    struct herd_worker w;
    char role[32];
    int status = 0;

    snprintf(role, sizeof(role), "worker %d", slot);
    herd_log_set_role(role);
    if (worker_init(&w, cfg, listeners, nlisteners, slot) != HERD_OK) {
        status = 1;
        goto done;
    }
    herd_log_info("serving (slot %d)", slot);
    event_base_dispatch(w.base);
    herd_log_info("exiting after %llu request(s)",
                  (unsigned long long)w.requests);
done:
    worker_free(&w);
    return status;
}
