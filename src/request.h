/* request.h: module requests: herd.h's struct herd_request, engine side. */
#ifndef HERD_REQUEST_H
#define HERD_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common.h"
#include "herd.h"
#include "response.h"

struct herd_http1;
struct herd_handler;
struct herd_match;
struct herd_exchange;
struct herd_request;
struct herd_ident;
struct herd_route_conf;

/* Bodies at least this long that a module hands over by reference go
   out from its memory; shorter ones are copied. */
#define HERD_REF_MIN (16 * 1024)

/* One request for a module route, as answer() found it. */
struct herd_request_args {
    struct herd_http1 *h;          /* the engine, its head still in the input */
    const struct herd_handler *hd; /* its fn, mc and timeout_ms run it */
    const struct herd_match *m;    /* parameters: slices of path */
    const char *path;              /* decoded, NUL-terminated */
    size_t plen;
    const char *query; /* raw, a slice of the head; NULL when none */
    size_t qlen;
    time_t now;
    enum herd_conn_header ch; /* what the response says of the connection */
    int head_only;
};

/*
 * Run the route's handler on a request whose body the engine kept (it is
 * moved into the request). Returns HERD_OK when the request was answered
 * into the worker's output, with its status in *status and *x describing
 * it for the request hook (valid until the next call); HERD_AGAIN when the
 * handler deferred it (h->req and h->deferred are set, nothing was
 * rendered, and the request hook will be called when it finishes);
 * HERD_ERR when out of memory.
 */
int herd_request_run(const struct herd_request_args *a, int *status,
                     const struct herd_exchange **x);

/*
 * The connection of a deferred request is closing: the request is logged
 * (499 when nothing was sent yet) and cancelled (herd_request_on_cancel).
 */
void herd_request_cancel(struct herd_request *req);

/* ms until module.timeout cancels a deferred request; 0: no limit (its
   response started). */
uint64_t herd_request_wait_ms(const struct herd_request *req);

/* module.timeout passed: cancel the request and answer 504. */
void herd_request_expire(struct herd_request *req);

/* Drop req's connection now (a subscriber too slow for its stream): req
   is cancelled through it. Nothing when it is already cancelled. */
void herd_request_abort(struct herd_request *req);

/* Bytes of req's response waiting for its client. */
size_t herd_request_pending(const struct herd_request *req);

/* For herd's own handlers: who sent req, and the route it came in on. */
const struct herd_ident *herd_request_ident(const struct herd_request *req);
const struct herd_route_conf *
herd_request_route(const struct herd_request *req);

/* The worker ends: free what modules never finished. */
void herd_request_shutdown(void);

#endif
