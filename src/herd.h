/*
 * herd.h: the API of herd modules, handlers written in C that herd loads
 * with dlopen(3) and calls in its worker processes. herd_module(3) has
 * the same text with examples.
 *
 * Build a module with
 *
 *     cc -shared -fPIC $(pkg-config --cflags herd) -o hello.so hello.c
 *
 * and route to it in herd.yaml:
 *
 *     routes:
 *       - path: /hello
 *         module: { file: ./hello.so, handler: hello }
 *
 * Rules that hold for every function here:
 *
 *  - Everything runs on the worker's one thread, the one that runs its
 *    event loop: handlers, hooks, and the libevent callbacks a module
 *    registers on herd_event_base(). Nothing here is thread-safe; do not
 *    call into herd from threads of your own.
 *  - Functions returning int return 0 on success and -1 on failure with
 *    errno set: EINVAL (a bad argument, named in each function's text),
 *    EALREADY (the response was already started or finished), ENOTCONN
 *    (the request was cancelled: the client went away), ENOBUFS (a stream
 *    is too far ahead of its client), ENOMEM.
 *  - Strings returned for a request are NUL-terminated, owned by the
 *    request and valid until the request is finished or cancelled.
 *  - A request is finished by exactly one successful call of
 *    herd_respond(), herd_respond_ref(), herd_respond_json() or
 *    herd_stream_end(); after it, the request pointer must not be used
 *    again. A finishing call that fails with EINVAL, EALREADY or ENOMEM
 *    changes nothing: the request still waits for an answer. One that
 *    fails with ENOTCONN has freed the request (see
 *    herd_request_on_cancel()).
 */
#ifndef HERD_H
#define HERD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API: a module compiled against one herd runs in
   any herd with the same HERD_API_VERSION. */
#define HERD_API_VERSION 1

struct event_base;
struct herd_request;
struct herd_module_config;

/* ==== handlers ========================================================= */

/* What a handler returns. */
#define HERD_DONE 0  /* finished with req: it responded (if it did not, */
                     /* herd answers 500 and logs why) */
#define HERD_DEFER 1 /* it finishes req later, from an event callback */

/*
 * A request handler: the function named by the route's module.handler.
 * It is called once per request, after the whole request (its body
 * included) has arrived. It answers with one of the finishing functions
 * and returns HERD_DONE, or keeps req and returns HERD_DEFER; a deferred
 * request holds its connection (later pipelined requests wait their turn)
 * until it is finished, until the client goes away, or until the route's
 * module.timeout passes without a response started (herd then answers
 * 504). Either way herd_request_on_cancel() tells the module.
 */
typedef int herd_handler_fn(struct herd_request *req);

/*
 * Optional hooks, found by these names in the module. Each is called once
 * per route that uses the module, with that route's configuration.
 *
 * herd_module_init: in the master when the configuration is loaded (at
 * start, on reload and by `herd -t`), before any worker starts. Return 0,
 * or -1 after herd_config_error() to refuse the configuration: the
 * message is shown with the route's file:line:col. Data set here with
 * herd_config_set_data() is inherited by every worker.
 *
 * herd_module_worker_init: in each worker once it has started (after it
 * took the configured user), before it serves. Open per-worker resources
 * (database connections) here. Return -1 (after herd_config_error()) and
 * the worker exits as unable to run this configuration; the master does
 * not respawn it until the next reload.
 *
 * herd_module_worker_exit: in each worker when it stops gracefully (after
 * its last connection closed or was cancelled). Not called when a worker
 * crashes or is killed.
 */
int herd_module_init(struct herd_module_config *cfg);
int herd_module_worker_init(struct herd_module_config *cfg);
void herd_module_worker_exit(struct herd_module_config *cfg);

/* ==== module configuration ============================================= */

/*
 * The value of key in the route's module.config mapping, as written in
 * the YAML file (a scalar: "8", "true" and "data/x.db" are all strings
 * here), or NULL when the mapping has no such key.
 */
const char *herd_config_get(const struct herd_module_config *cfg,
                            const char *key);

/* The route's path pattern, e.g. "/todos/:id". */
const char *herd_config_route(const struct herd_module_config *cfg);

/* Say why herd_module_init or herd_module_worker_init fails (printf
   format); the last call wins. */
void herd_config_error(struct herd_module_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Data of the module's own for this route (a database handle...), NULL
   until set. Per process: each worker has its own copy of the pointer. */
void herd_config_set_data(struct herd_module_config *cfg, void *data);
void *herd_config_data(const struct herd_module_config *cfg);

/* The configuration of the route req came in on. */
struct herd_module_config *herd_request_config(struct herd_request *req);

/* ==== the request ====================================================== */

/* "GET", "POST", ... ("GET" for HEAD too: herd drops the body itself). */
const char *herd_request_method(struct herd_request *req);

/* Whether the request is a HEAD: the handler may skip building a body. */
int herd_request_is_head(struct herd_request *req);

/* The path, percent-decoded as routes are matched, without the query:
   "/todos/7" ("%2F" and "%25" stay encoded, so that a decoded "/" never
   splits a segment). */
const char *herd_request_path(struct herd_request *req);

/* The route parameter called name (":id" in the pattern is "id", a
   trailing "*" is "*"), percent-decoded; NULL when the route has none of
   that name. */
const char *herd_request_param(struct herd_request *req, const char *name);

/*
 * The first query parameter called name, decoded as a form would encode
 * it ("+" is a space, %XX a byte); "" for "?name" or "?name=", NULL when
 * absent or badly encoded. When len is not NULL it receives the value's
 * length (a value may hold a NUL byte, from %00).
 */
const char *herd_request_query(struct herd_request *req, const char *name,
                               size_t *len);

/* The whole query, as sent (not decoded), without the "?"; "" when none. */
const char *herd_request_query_string(struct herd_request *req);

/* The value of the header called name (any case), trimmed; lines that
   repeat a name are joined with ", ". NULL when absent. */
const char *herd_request_header(struct herd_request *req, const char *name);

/* The body (chunked bodies decoded), *len bytes, NUL-terminated for
   convenience; "" with *len 0 when there is none. At most
   limits.max_body_size: a larger request never reaches the handler. */
const void *herd_request_body(struct herd_request *req, size_t *len);

/* The client's address as text ("192.0.2.7", "2001:db8::1", "unix:" for
   a unix-socket peer), after proxy.trusted's rules. */
const char *herd_request_client(struct herd_request *req);

/* The request id: the X-Request-Id herd sends back and logs. */
const char *herd_request_id(struct herd_request *req);

/* ==== the response ===================================================== */

/*
 * Add a header line to the response (before it starts). name must be an
 * HTTP token and value must hold no control character but tab (EINVAL
 * otherwise: no CR or LF can split the response). herd owns the framing and
 * says Content-Length, Transfer-Encoding, Connection, Date, Server and
 * X-Request-Id itself: naming one of those is EINVAL. Without a
 * Content-Type, a response with a body says "text/plain; charset=utf-8".
 */
int herd_response_header(struct herd_request *req, const char *name,
                         const char *value);

/*
 * Finish req with status (200..599) and a copy of body[0..len) (body may
 * be NULL when len is 0). 204 and 304 send no body and len must be 0
 * (EINVAL). A request cancelled while the module had no cancel callback
 * is finished this way too: the call then fails with ENOTCONN and frees
 * it.
 */
int herd_respond(struct herd_request *req, int status, const void *body,
                 size_t len);

/*
 * Like herd_respond(), but the body is sent from the caller's memory
 * without a copy: herd calls release(arg) once it no longer needs it (it
 * was sent, or the connection closed, or this call failed), which may be
 * before this call returns (bodies under 16 KiB are copied). release may
 * be NULL for memory that outlives the worker.
 */
int herd_respond_ref(struct herd_request *req, int status, const void *body,
                     size_t len, void (*release)(void *arg), void *arg);

/* herd_respond() with "Content-Type: application/json" (unless the
   module set a Content-Type) and the NUL-terminated text as the body,
   sent as it is. */
int herd_respond_json(struct herd_request *req, int status, const char *json);

/*
 * Start a streamed response: status and the headers added so far go out
 * now, the body follows in herd_stream_write() calls, chunked for
 * HTTP/1.1 clients and delimited by closing the connection for HTTP/1.0
 * ones. status must allow a body (not 204 or 304: EINVAL). Once a stream
 * has started, module.timeout no longer applies: a stream may stay open
 * as long as the client reads it.
 */
int herd_stream_begin(struct herd_request *req, int status);

/*
 * Send len bytes of the stream (a no-op for len 0 and for HEAD; EINVAL
 * before herd_stream_begin()). Fails
 * with ENOBUFS when more than HERD_STREAM_MAX_PENDING bytes already wait
 * for a client that reads slower than the module writes: retry later,
 * or end the stream.
 */
int herd_stream_write(struct herd_request *req, const void *data, size_t len);

/* Most bytes a stream may have waiting for its client. */
#define HERD_STREAM_MAX_PENDING (1024 * 1024)

/* Finish a streamed response. */
int herd_stream_end(struct herd_request *req);

/* ==== deferred requests ================================================ */

/* The worker's event loop, for timers and non-blocking clients of the
   module's own; NULL in the master (in herd_module_init). */
struct event_base *herd_event_base(void);

/*
 * Call cb(req, arg) if req ends before the module finished it: the client
 * closed the connection, module.timeout passed, or the worker stops (a
 * graceful stop waits worker.shutdown_timeout for deferred requests).
 * After cb returns, req is gone: drop every pointer to it (stop the timer
 * that would have answered it). Without a callback, a cancelled request
 * waits for the module's finishing call, which then fails with ENOTCONN
 * and frees it, so answering late is always safe.
 */
void herd_request_on_cancel(struct herd_request *req,
                            void (*cb)(struct herd_request *req, void *arg),
                            void *arg);

/* ==== pub/sub ========================================================== */

/*
 * Publish data[0..len) on channel (1 to 200 of A-Z a-z 0-9 . _ : -):
 * every subscriber of every worker gets it (events routes as a
 * Server-Sent Event, websocket routes as a message), in the order the
 * master received the publishes, and it joins the channel's history for
 * Last-Event-ID replays. Returns 0 once the message is on its way to
 * the master, -1 with EINVAL (bad channel name, NUL bytes in data),
 * EMSGSIZE (more than 60 KiB), ENOBUFS (too much is waiting for the
 * master already: retry later) or ENOTCONN (no master: herd_module_init
 * runs in the master itself).
 */
int herd_publish(const char *channel, const void *data, size_t len);

/* ==== logging ========================================================== */

/* Levels of the error log, as log.level names them. */
enum herd_log_level {
    HERD_LOG_ERROR = 0,
    HERD_LOG_WARN,
    HERD_LOG_INFO,
    HERD_LOG_DEBUG,
};

/* Write a line to herd's error log at level, with the worker's prefix;
   nothing when log.level is below it. */
void herd_log(enum herd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
