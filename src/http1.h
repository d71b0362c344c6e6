/* http1.h: the HTTP/1.1 engine of a connection: bytes in, answers out. */
#ifndef HERD_HTTP1_H
#define HERD_HTTP1_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common.h"
#include "framing.h"
#include "response.h"

struct herd_worker;
struct herd_http1;
struct herd_ident;
struct herd_request;
struct herd_route_conf;

/*
 * A finished request as a module request reports it: the request hook
 * gets this instead of reading the head, which a deferred request no
 * longer has in the engine's input.
 */
struct herd_exchange {
    const char *method;
    const char *target; /* as sent, not NUL-terminated */
    size_t target_len;
    int version;                    /* 10 or 11 */
    const struct herd_ident *ident; /* resolved when the request began */
    uint64_t bytes;                 /* response bytes, head included */
    int route;                      /* its route's metrics id */
};

/* Most field lines a request head may carry (more: 431). */
#define HERD_MAX_HEADERS 100

/*
 * The engine does no I/O: input lands where herd_http1_input_space says,
 * and answers are rendered into the worker's output buffer (w->out), which
 * the owner writes out when asked through these hooks. conn.c drives it
 * from a socket; the fuzzer and the unit tests drive it from memory.
 */
struct herd_http1_hooks {
    /* Write w->out and empty it: HERD_OK when all of it went, HERD_AGAIN
       when some has to wait (the engine stops until run again), HERD_ERR
       when the peer is gone. */
    int (*flush)(void *arg);
    /* A complete request was answered with status. x NULL: the response
       starts at w->out.data + h->resp_start and the request is the one
       whose head h holds. x not NULL (a module's request): x describes it
       and its response, which already carries its X-Request-Id. */
    void (*request)(void *arg, const struct herd_http1 *h,
                    const struct herd_exchange *x, int status);
    /* A request was refused with status (400, 408, 413, ...). */
    void (*error)(void *arg, const struct herd_http1 *h, int status);
    /* Body bytes of the current request, in order; may be NULL. */
    void (*body)(void *arg, const char *data, size_t len);
    /* Send len bytes of the open file fd from off after what w->out
       holds now; the hook owns fd from then on, whatever it returns
       (HERD_OK, or HERD_ERR when it cannot). The next flush returns
       HERD_OK only once the whole range is sent; until then the engine
       answers no further request. NULL: the owner cannot send files, and
       a static route answers 500. */
    int (*file)(void *arg, int fd, off_t off, off_t len);
    /* Like file, for len bytes of memory at p: release(rarg) once they
       are sent or the connection closes (release may be NULL). NULL: the
       owner cannot, and the bytes are copied into the output instead. */
    int (*ref)(void *arg, const void *p, size_t len, void (*release)(void *),
               void *rarg);
    /* Who sent the current request (a module asks before it runs). */
    void (*identify)(void *arg, const struct herd_http1 *h,
                     struct herd_ident *id);
    /* A deferred request produced len bytes of its response (len may be
       0), outside any run of the engine: queue them after what is waiting
       and send them when the socket takes them; then, once h is no longer
       deferred, go on with the requests that waited. HERD_OK; HERD_AGAIN
       when more than HERD_STREAM_MAX_PENDING bytes are waiting (they were
       still queued); HERD_ERR when out of memory (the connection is
       lost). */
    int (*push)(void *arg, const char *data, size_t len);
    /* A websocket route accepted the handshake for channel[0..len) (its
       101 answer is being rendered): the connection leaves HTTP once that
       answer is out, and the input after the request is the client's
       first frames (what h->buf holds). HERD_OK, or HERD_ERR (out of
       memory: 500 instead). NULL: no WebSocket here (501). */
    int (*upgrade)(void *arg, const struct herd_route_conf *route,
                   const char *channel, size_t len, int replay,
                   uint64_t last_id);
    /* Bytes of output waiting for the peer (a deferred request's). */
    size_t (*pending)(void *arg);
    /* Drop the connection now, whatever it was doing (a subscriber too
       slow for its stream). The engine is freed through it. */
    void (*abort)(void *arg);
};

/* What a connection is doing, for the owner's timers. */
enum herd_http1_state {
    HERD_HTTP1_IDLE,     /* between requests: no byte of the next one yet */
    HERD_HTTP1_HEAD,     /* a request head is arriving */
    HERD_HTTP1_BODY,     /* the head is complete, the body is arriving */
    HERD_HTTP1_CLOSING,  /* no more requests: close once the output is out */
    HERD_HTTP1_DEFERRED, /* a module answers later: wait for it */
};

/* A field of the request head: offsets from the start of the request. */
struct herd_slice {
    uint32_t off;
    uint32_t len;
};

/* Per connection; the fields are private to http1.c. */
struct herd_http1 {
    struct herd_worker *w;
    const struct herd_http1_hooks *hooks;
    void *arg;

    http_parser parser;
    struct herd_framing framing;

    /* Input being parsed: the worker's scratch or buf.data. */
    char *base;
    size_t len;
    size_t msg_start;         /* where the current request begins in base */
    size_t parse_off;         /* how far parsing got in base */
    struct herd_buf buf;      /* own input: what is left between reads */
    struct herd_buf body;     /* a module request's body, kept whole */
    struct herd_request *req; /* the deferred module request, or NULL */

    /* The current request. Its field lines' slices are the worker's
       (HERD_MAX_HEADERS of each, shared by its connections) while a run
       parses them, and the connection's own only while a head or body
       is still arriving between runs: an idle connection holds none. */
    struct herd_slice url;
    struct herd_slice *name;
    struct herd_slice *value;
    uint32_t nheaders;
    uint32_t head_end; /* end of the last slice: what the head needs kept */
    int error_status;  /* set by a callback that refuses the request */

    size_t resp_start;  /* where the last answer begins in w->out: the
                           hooks may add header lines to it */
    uint32_t nrequests; /* answered on this connection */
    int route;          /* metrics id of the last answer's route, or -1 */
    unsigned last_was_value : 1;
    unsigned in_body : 1; /* head complete, body (or trailers) follows */
    unsigned expect_continue : 1;
    unsigned close_after : 1;  /* close once the output is written */
    unsigned linger : 1;       /* ... and discard input briefly first */
    unsigned oom : 1;          /* the last run failed for want of memory */
    unsigned file_pending : 1; /* a file is queued: answer nothing more */
    unsigned keep_body : 1;    /* the route is a module's: keep the body */
    unsigned deferred : 1;     /* req answers later: answer nothing more */
    unsigned switched : 1;     /* switched to WebSocket: no more HTTP */
    unsigned own_slices : 1;   /* name and value are malloc'd */
};

/*
 * Prepare the process-wide parser settings (http-parser's header size
 * limit is global to the process): call once per process, before any
 * engine runs, with the configured limits.max_header_size.
 */
void herd_http1_global_init(uint64_t max_header_size);

/* Start h on a new connection of w. hooks and arg must outlive h. */
void herd_http1_init(struct herd_http1 *h, struct herd_worker *w,
                     const struct herd_http1_hooks *hooks, void *arg);

/* Release what h owns. h may be zeroed. */
void herd_http1_free(struct herd_http1 *h);

/*
 * Where the next input should be written, with room for *room bytes: the
 * worker's scratch when h keeps nothing, else h's own buffer. NULL when
 * out of memory.
 */
char *herd_http1_input_space(struct herd_http1 *h, size_t *room);

/* n bytes were written where herd_http1_input_space said. */
void herd_http1_input_done(struct herd_http1 *h, size_t n);

/*
 * Parse the input and answer every complete request, in order, into
 * w->out, flushing through the hooks whenever enough output waits and at
 * the end; then keep what the next input needs in h's own buffer, so the
 * worker's scratch is free again. Returns the last flush's result:
 * HERD_OK, HERD_AGAIN (output waits: run again once it is written) or
 * HERD_ERR (peer gone, or out of memory: h->oom).
 */
int herd_http1_run(struct herd_http1 *h, time_t now);

/*
 * A deadline passed. When a request was under way, render 408 into w->out
 * and mark the connection closing; returns 1 then, else 0 (nothing to
 * say: just close).
 */
int herd_http1_timeout(struct herd_http1 *h, time_t now);

enum herd_http1_state herd_http1_state(const struct herd_http1 *h);

/*
 * A deferred request's limit: how many ms from now until module.timeout
 * passes, or 0 when none applies (its response has started). The owner
 * arms a timer and calls herd_http1_defer_expired when it fires.
 */
uint64_t herd_http1_defer_wait_ms(const struct herd_http1 *h);

/* module.timeout passed for the deferred request: it is cancelled and
   answered 504 (through the push hook). */
void herd_http1_defer_expired(struct herd_http1 *h);

/* Body bytes (chunk framing included) received for the current request. */
uint64_t herd_http1_body_bytes(const struct herd_http1 *h);

/* Whether h holds input or output of its own (an idle one holds none). */
int herd_http1_holds_input(const struct herd_http1 *h);

/* ---- the current request, for the hooks ---- */

/* "GET" etc.; what the parser saw so far for a refused request. */
const char *herd_http1_method(const struct herd_http1 *h);

/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
int herd_http1_version(const struct herd_http1 *h);

/* The request target (not NUL-terminated); *len 0 when none was read. */
const char *herd_http1_target(const struct herd_http1 *h, size_t *len);

/* The number of field lines of the head (trailers are never among them). */
size_t herd_http1_nheaders(const struct herd_http1 *h);

/* Field line i: its name and value, slices of the input. */
void herd_http1_header(const struct herd_http1 *h, size_t i, const char **name,
                       size_t *nlen, const char **value, size_t *vlen);

#endif
