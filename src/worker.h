/* worker.h: a worker process: event loop, listeners, routes, conns. */
#ifndef HERD_WORKER_H
#define HERD_WORKER_H

#include <stdint.h>
#include <sys/time.h>

#include "access.h"
#include "channel.h"
#include "common.h"
#include "config.h"
#include "http1.h" /* struct herd_slice, HERD_MAX_HEADERS */
#include "listener.h"
#include "reqid.h"
#include "response.h"
#include "router.h"

struct event_base;
struct event;
struct herd_conn;
struct conn_io;
struct herd_filecache;
struct herd_scoreboard;
struct herd_activity;

/* Exit status of a worker that cannot run its configuration (a user it
   cannot become, a failing module): the master does not respawn it until
   the configuration is reloaded. Same value as sysexits' EX_CONFIG. */
#define HERD_EXIT_FATAL 78

/* How long an idle keep-alive connection may stay open once its worker
   drains: a request arriving meanwhile is answered with Connection:
   close, so a client sending on it never meets a closed socket. */
#define HERD_DRAIN_IDLE_GRACE_MS 1000

/* What the master hands a new worker. */
struct herd_worker_args {
    const struct herd_config *cfg;
    struct herd_listener *listeners; /* this worker's: other slots closed */
    size_t nlisteners;
    int slot;
    uint32_t generation;
    int chan;              /* the worker's end of its channel; -1: none */
    uint64_t max_requests; /* retire after this many (jitter applied); 0 */
    const struct herd_scoreboard *scoreboard; /* may be NULL */
    struct herd_activity *activity;           /* may be NULL */
    uint64_t reqid_nonce; /* the master's herd_reqid_nonce() */
};

/* What a route does, built once per config from its herd_route_conf. */
struct herd_handler {
    enum herd_handler_kind kind;
    const struct herd_route_conf *conf;
    struct herd_fixed_response fixed; /* respond */
    int rootfd;                       /* static: the root, O_PATH; else -1 */
    struct herd_filecache *cache;     /* static: small files; NULL if off */
    char *running; /* module: "ROUTE (FILE:SYMBOL)", for crash reports */
    /* module and events: a handler function on the request machinery
       (request.h), its module's configuration (NULL for herd's own) and
       how long a deferred request may wait for its answer to start. */
    herd_handler_fn *fn;
    struct herd_module_config *mc;
    uint64_t timeout_ms;
};

/* Routes ready to serve: the router's data pointers are the handlers. */
struct herd_routes {
    struct herd_router *router;
    struct herd_handler *handlers;
    size_t nhandlers;
    int has_body_routes; /* some route is a module's or an events route:
                            keep request bodies */
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
    int proxy_protocol; /* connections start with a PROXY header */
};

struct herd_worker {
    int slot;
    uint32_t generation;
    const struct herd_config *cfg;
    const struct herd_scoreboard *scoreboard;
    struct herd_activity *activity;
    uint32_t pid;
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

    /* The channel to the master, heartbeats and retirement. */
    int chan;
    struct event *chan_ev;
    struct event *heartbeat;
    struct event *sig_usr1;
    struct timeval heartbeat_due;
    uint64_t loop_lag_us;
    uint64_t max_requests;
    uint64_t started_ms;

    /* Connections: every live one on a list, freed ones for reuse. */
    struct herd_conn *conns;
    struct herd_conn *free_conns;
    uint32_t nconns;
    uint32_t nfree;
    /* What connections hold only while busy (conn.c), kept for reuse. */
    struct conn_io *free_io;
    uint32_t nfree_io;

    /* Shared scratch: reads land here and responses are rendered here,
       so an idle connection holds no buffers of its own. */
    char *in;
    size_t in_cap;
    struct herd_buf out;
    struct herd_buf path; /* the decoded path of the current request */
    /* The field lines of the head being parsed (http1.h says when). */
    struct herd_slice hdr_name[HERD_MAX_HEADERS];
    struct herd_slice hdr_value[HERD_MAX_HEADERS];

    /* libevent common timeouts: O(1) re-arming for identical durations. */
    const struct timeval *tv_header;
    const struct timeval *tv_body;
    const struct timeval *tv_keepalive;
    const struct timeval *tv_send;

    struct herd_reqid reqid; /* generates X-Request-Id */
    struct herd_access_log access;
    struct event *access_timer; /* flushes the access log */
    int access_failing;         /* its last write failed (logged once) */

    /* Counters reported in every heartbeat. */
    uint64_t requests;
    uint64_t status[6]; /* by class: [2] counts 2xx */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t duration[HERD_DURATION_BUCKETS]; /* requests by duration */
    uint64_t duration_sum_us;
    /* Requests by route metrics id and status class, reported when
       they changed. */
    uint64_t route_status[HERD_MAX_ROUTE_METRICS][6];
    uint8_t route_dirty[HERD_MAX_ROUTE_METRICS];
    int routes_dirty;
};

/*
 * Run a worker in the current (freshly forked) process: builds its own
 * event_base, reports READY and then HEALTH every worker.heartbeat on its
 * channel, serves until told to stop (STOP, SIGTERM, the channel's EOF),
 * drains, and returns the process exit status.
 */
int herd_worker_run(const struct herd_worker_args *args);

/* Start a graceful stop: stop accepting (after taking what is already
   queued), drain connections, exit when none is left. Idempotent. */
void herd_worker_drain(struct herd_worker *w, const char *why);

/* Stop accepting (connection cap reached) or resume. */
void herd_worker_accept_pause(struct herd_worker *w);
void herd_worker_accept_resume(struct herd_worker *w);

/* Count a request answered with status, on the route whose metrics id is
   route (-1: none, or no route matched); sends RETIRE when the worker
   reached its max_requests. */
void herd_worker_request_done(struct herd_worker *w, int route, int status);

/* Log a request in the access log (buffered; flushed within
   HERD_ACCESS_FLUSH_MS). Nothing when the access log is off. */
void herd_worker_access(struct herd_worker *w,
                        const struct herd_access_entry *e);

/* Count a request's duration (first byte to answer) in the histogram. */
void herd_worker_duration(struct herd_worker *w, uint64_t us);

/* A module handler of hd starts running (hd NULL: it returned): noted in
   the slot's activity record, which the master reads if the worker dies
   meanwhile. */
void herd_worker_running(struct herd_worker *w, const struct herd_handler *hd);

/* A connection closed: resume accepting, finish a drain when idle. */
void herd_worker_conn_closed(struct herd_worker *w);

#endif
