/* worker.h: a worker process: event loop, listeners, routes, conns. */
#ifndef HERD_WORKER_H
#define HERD_WORKER_H

#include <stdint.h>
#include <sys/time.h>

#include "common.h"
#include "config.h"
#include "listener.h"
#include "response.h"
#include "router.h"

struct event_base;
struct event;
struct herd_conn;

/* What a route does, built once per config from its herd_route_conf. */
struct herd_handler {
    enum herd_handler_kind kind;
    const struct herd_route_conf *conf;
    struct herd_fixed_response fixed; /* respond */
};

/* Routes ready to serve: the router's data pointers are the handlers. */
struct herd_routes {
    struct herd_router *router;
    struct herd_handler *handlers;
    size_t nhandlers;
};

/*
 * Build the router and handlers for cfg. HERD_OK, or HERD_ERR with the
 * reason in err. cfg must outlive routes.
 */
int herd_routes_build(struct herd_routes *routes, const struct herd_config *cfg,
                      char *err, size_t errlen);

/* Release routes. Accepts a zeroed struct. */
void herd_routes_free(struct herd_routes *routes);

/* One listening socket of this worker's slot. */
struct herd_acceptor {
    struct herd_worker *w;
    struct event *ev;
    int tcp;
};

struct herd_worker {
    int slot;
    const struct herd_config *cfg;
    struct event_base *base;
    struct herd_routes routes;

    struct herd_listener *listeners; /* the master's, this slot's fds open */
    size_t nlisteners;
    struct herd_acceptor *acceptors; /* one per listener */
    struct event *accept_retry;      /* after EMFILE/ENFILE */
    struct event *sig_term, *sig_int, *sig_quit, *sig_pipe;
    struct event *drain_timer;
    int accepting;
    int draining;
    int accept_failing; /* EMFILE and the like: logged once per episode */

    /* Connections: every live one on a list, freed ones for reuse. */
    struct herd_conn *conns;
    struct herd_conn *free_conns;
    uint32_t nconns;
    uint32_t nfree;

    /* Shared scratch: reads land here and responses are rendered here,
       so an idle connection holds no buffers of its own. */
    char *in;
    size_t in_cap;
    struct herd_buf out;

    /* libevent common timeouts: O(1) re-arming for identical durations. */
    const struct timeval *tv_header;
    const struct timeval *tv_body;
    const struct timeval *tv_keepalive;
    const struct timeval *tv_send;

    uint64_t requests;
};

/*
 * Run a worker for slot in the current (freshly forked) process: builds
 * its own event_base, serves until told to stop, and returns the process
 * exit status. listeners are the master's; the caller has already closed
 * every socket that does not belong to slot.
 */
int herd_worker_run(const struct herd_config *cfg,
                    struct herd_listener *listeners, size_t nlisteners,
                    int slot);

/* Stop accepting (connection cap reached) or resume. */
void herd_worker_accept_pause(struct herd_worker *w);
void herd_worker_accept_resume(struct herd_worker *w);

/* A connection closed: resume accepting, finish a drain when idle. */
void herd_worker_conn_closed(struct herd_worker *w);

#endif
