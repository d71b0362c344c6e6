/* request.c: module requests: herd.h's request and response functions. */

/*
 * A module request lives in two modes. While its handler runs, it is
 * "attached": its head, path and parameters are read where the engine has
 * them (the input, the worker's decoded path) and a response is rendered
 * straight into the worker's output, in order with the other responses of
 * the same read. When the handler returns HERD_DEFER the request is
 * "detached": everything it may still be asked for is copied into memory
 * of its own, and what a module later renders goes through the engine's
 * push hook, which queues it on the connection. A request whose
 * connection closes first is cancelled (herd.h says how) and never
 * answered into freed memory: its h is NULL from then on.
 */
#include "request.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "framing.h"
#include "herd.h"
#include "http1.h"
#include "ident.h"
#include "log.h"
#include "router.h"
#include "uri.h"
#include "util.h"
#include "worker.h"

/* Strings handed to the module: blocks that never move once handed out. */
struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
};

#define ARENA_BLOCK 1024

struct herd_request {
    struct herd_request *znext, *zprev; /* on the zombie list, once there */
    struct herd_http1 *h;               /* NULL once cancelled */
    struct herd_worker *w;
    const struct herd_handler *hd;
    struct herd_module_config *mc; /* NULL for herd's own handlers */
    herd_handler_fn *fn;
    uint64_t timeout_ms; /* a deferred request's limit */
    const char *what;    /* the route (and module) for messages */

    /* The head: the engine's input while attached, own copies after. */
    const char *head;
    const struct herd_slice *names, *values;
    size_t nheaders;
    struct herd_slice target, query; /* within head */
    int has_query;
    const char *path; /* decoded, NUL-terminated */
    size_t plen;
    struct {
        const char *name; /* the router's: lives as long as the worker */
        size_t name_len;
        size_t off, len; /* of the value, within path */
    } params[HERD_MAX_PARAMS];
    size_t nparams;
    struct herd_buf body; /* moved from the engine */
    struct herd_ident ident;
    int version;
    int head_only;
    int is_head_method;
    const char *method;
    enum herd_conn_header ch;
    time_t now; /* of the run that started it */
    char *own_head, *own_path;
    struct herd_slice *own_slices;

    /* The response. */
    struct herd_buf fields; /* header lines the module added */
    int has_type;
    int status;
    uint64_t bytes;
    uint64_t deferred_ms; /* when it was deferred (CLOCK_MONOTONIC) */
    void (*cancel_cb)(struct herd_request *, void *);
    void *cancel_arg;
    struct arena_block *arena;

    unsigned attached : 1;  /* its handler is running */
    unsigned deferred : 1;  /* detached, waiting for the module */
    unsigned started : 1;   /* the head went out (a stream) */
    unsigned finished : 1;  /* the module finished it */
    unsigned cancelled : 1; /* its connection is gone */
    unsigned chunked : 1;   /* the stream is chunked */
    unsigned dropped : 1;   /* the module was told to forget it */
    unsigned zombie : 1;    /* cancelled, waiting for the module's call */
};

/* Cancelled requests a module still holds (no cancel callback): freed by
   the module's late call, or when the worker ends. */
static struct herd_request *zombies;

/* The exchange of the last request answered while attached. */
static struct herd_exchange sync_x;
static struct herd_ident sync_ident;
/* Rendering room for a detached request's output (single thread). */
static struct herd_buf detached_out;

/* ---- memory ---- */

static char *
arena_alloc(struct herd_request *req, size_t n)
{
    struct arena_block *b = req->arena;
    size_t cap;
    char *p;

    if (b == NULL || b->cap - b->used < n) {
        cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->next = req->arena;
        b->used = 0;
        b->cap = cap;
        req->arena = b;
    }
    p = b->data + b->used;
    b->used += n;
    return p;
}

static char *
arena_strndup(struct herd_request *req, const char *s, size_t n)
{
    char *p = arena_alloc(req, n + 1);

    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void
request_free(struct herd_request *req)
{
    struct arena_block *b, *next;

    if (req->zombie) {
        if (req->zprev != NULL)
            req->zprev->znext = req->znext;
        else
            zombies = req->znext;
        if (req->znext != NULL)
            req->znext->zprev = req->zprev;
    }
    for (b = req->arena; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    herd_buf_free(&req->body);
    herd_buf_free(&req->fields);
    free(req->own_head);
    free(req->own_path);
    free(req->own_slices);
    free(req);
}

/* Without a callback the module still holds req: its finishing call
   frees it (request_late), or the worker's end does. */
static void
request_zombie(struct herd_request *req)
{
    req->zombie = 1;
    req->zprev = NULL;
    req->znext = zombies;
    if (zombies != NULL)
        zombies->zprev = req;
    zombies = req;
}

/* ---- the engine's side ---- */

/* The time for Date: the run's while attached, the loop's after. */
static time_t
request_now(const struct herd_request *req)
{
    struct timeval tv;

    if (req->attached)
        return req->now;
    event_base_gettimeofday_cached(req->w->base, &tv);
    return tv.tv_sec;
}

/* Copy what the engine holds for the request into memory of its own. */
static int
request_detach(struct herd_request *req)
{
    size_t hlen = req->h->head_end, n = req->nheaders;
    const char *old = req->head;

    req->own_head = malloc(hlen + 1);
    req->own_path = malloc(req->plen + 1);
    req->own_slices = malloc((n ? 2 * n : 1) * sizeof(*req->own_slices));
    if (req->own_head == NULL || req->own_path == NULL ||
        req->own_slices == NULL)
        return HERD_ERR;
    memcpy(req->own_head, old, hlen);
    req->own_head[hlen] = '\0';
    memcpy(req->own_path, req->path, req->plen + 1);
    memcpy(req->own_slices, req->names, n * sizeof(*req->own_slices));
    memcpy(req->own_slices + n, req->values, n * sizeof(*req->own_slices));
    if (req->ident.ua != NULL)
        req->ident.ua = req->own_head + (req->ident.ua - old);
    if (req->ident.referer != NULL)
        req->ident.referer = req->own_head + (req->ident.referer - old);
    req->head = req->own_head;
    req->path = req->own_path;
    req->names = req->own_slices;
    req->values = req->own_slices + n;
    return HERD_OK;
}

static void
exchange_fill(const struct herd_request *req, struct herd_exchange *x,
              const struct herd_ident *id)
{
    x->method = req->is_head_method ? "HEAD" : req->method;
    x->target = req->head + req->target.off;
    x->target_len = req->target.len;
    x->version = req->version;
    x->ident = id;
    x->bytes = req->bytes;
    x->route = req->hd->conf->metrics_id;
}

/*
 * Hand rendered bytes to the connection: appended to the worker's output
 * while attached, pushed onto the connection once detached.
 */
static int
request_emit(struct herd_request *req, struct herd_buf *out)
{
    int rc = HERD_OK;

    if (!req->attached && out->len > 0)
        rc = req->h->hooks->push(req->h->arg, out->data, out->len);
    if (!req->attached)
        out->len = 0;
    return rc == HERD_ERR ? HERD_ERR : HERD_OK;
}

/* Where a response is rendered: the worker's output while attached. */
static struct herd_buf *
request_out(struct herd_request *req)
{
    if (req->attached)
        return &req->w->out;
    detached_out.len = 0;
    return &detached_out;
}

/* A detached request finished (or was answered by herd): log it and let
   the connection go on. */
static void
request_done_detached(struct herd_request *req)
{
    struct herd_http1 *h = req->h;
    struct herd_exchange x;

    exchange_fill(req, &x, &req->ident);
    h->req = NULL;
    h->deferred = 0;
    req->h = NULL;
    h->hooks->request(h->arg, h, &x, req->status);
    /* Nothing more to push: the connection resumes once its output is
       out. An empty push makes sure it looks. */
    if (h->hooks->push(h->arg, NULL, 0) == HERD_ERR)
        herd_log_error("out of memory finishing a deferred request");
}

/* The common end of every finishing call. */
static void
request_finished(struct herd_request *req)
{
    req->finished = 1;
    if (req->attached)
        return; /* herd_request_run takes it from here */
    request_done_detached(req);
    request_free(req);
}

/* Checks shared by every call that writes to the response. */
static int
request_writable(struct herd_request *req)
{
    if (req == NULL) {
        errno = EINVAL;
        return HERD_ERR;
    }
    if (req->cancelled) {
        errno = ENOTCONN;
        return HERD_ERR;
    }
    if (req->finished) {
        errno = EALREADY;
        return HERD_ERR;
    }
    return HERD_OK;
}

/* A finishing call on a cancelled request: free it, say ENOTCONN. */
static int
request_late(struct herd_request *req)
{
    if (req != NULL && req->cancelled && !req->dropped)
        request_free(req);
    errno = ENOTCONN;
    return -1;
}

/* The head of a module's response, up to and including the blank line. */
static int
head_write(struct herd_request *req, struct herd_buf *out, int status,
           time_t now, const char *framing)
{
    if (herd_response_start(out, status, now) != HERD_OK ||
        herd_buf_append(out, "X-Request-Id: ", 14) != HERD_OK ||
        herd_buf_append(out, req->ident.id, req->ident.idlen) != HERD_OK ||
        herd_buf_append(out, "\r\n", 2) != HERD_OK ||
        herd_buf_append(out, req->fields.data, req->fields.len) != HERD_OK)
        return HERD_ERR;
    if (!req->has_type && framing != NULL &&
        herd_buf_append(out, "Content-Type: text/plain; charset=utf-8\r\n",
                        41) != HERD_OK)
        return HERD_ERR;
    if (framing != NULL &&
        herd_buf_append(out, framing, strlen(framing)) != HERD_OK)
        return HERD_ERR;
    return herd_response_end(out, req->ch);
}

static int
status_valid(int status)
{
    return status >= 200 && status <= 599;
}

static int
status_has_body(int status)
{
    return status != 204 && status != 304;
}

/*
 * Render a whole response: head and (unless HEAD) body. When ref is set
 * and the body is long, the body is handed to the connection by
 * reference instead of copied.
 */
static int
respond(struct herd_request *req, int status, const void *body, size_t len,
        void (*release)(void *), void *rarg, int ref)
{
    struct herd_buf *out;
    struct herd_http1 *h = req->h;
    char framing[64];
    size_t start;
    int by_ref, send_body;

    if (!status_valid(status) || (len > 0 && body == NULL) ||
        (!status_has_body(status) && len > 0)) {
        errno = EINVAL;
        goto refused;
    }
    out = request_out(req);
    start = out->len;
    send_body = status_has_body(status) && !req->head_only && len > 0;
    if (status_has_body(status))
        snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", len);
    by_ref = ref && send_body && len >= HERD_REF_MIN && h->hooks->ref != NULL;
    if (head_write(req, out, status, request_now(req),
                   status_has_body(status) ? framing : NULL) != HERD_OK ||
        (send_body && !by_ref && herd_buf_append(out, body, len) != HERD_OK)) {
        out->len = start;
        errno = ENOMEM;
        goto refused;
    }
    req->bytes += out->len - start + (by_ref ? len : 0);
    req->status = status;
    if (request_emit(req, out) != HERD_OK) {
        errno = ENOMEM;
        goto refused;
    }
    if (by_ref) {
        /* Sent after what is queued; the engine answers nothing more
           until it is. The hook owns release from here. */
        h->hooks->ref(h->arg, body, len, release, rarg);
        h->file_pending = 1;
    } else if (release != NULL) {
        release(rarg);
    }
    request_finished(req);
    return 0;
refused:
    if (release != NULL)
        release(rarg);
    return -1;
}

/* herd answers for the module (500, 504): an error response. */
static void
respond_error(struct herd_request *req, int status)
{
    struct herd_buf *out = request_out(req);
    size_t start = out->len;

    if (herd_error_response_write(out, status, request_now(req), req->ch, NULL,
                                  req->head_only) != HERD_OK ||
        herd_ident_add_header(out, start, req->ident.id, req->ident.idlen) !=
            HERD_OK) {
        out->len = start;
        herd_log_error("out of memory answering %d", status);
    }
    req->bytes += out->len - start;
    req->status = status;
    request_emit(req, out);
}

int
herd_request_run(const struct herd_request_args *a, int *status,
                 const struct herd_exchange **x)
{
    struct herd_http1 *h = a->h;
    struct herd_worker *w = h->w;
    const char *head;
    herd_handler_fn *fn;
    struct herd_request *req;
    size_t i;
    int rc;

    req = calloc(1, sizeof(*req));
    if (req == NULL)
        return HERD_ERR;
    req->h = h;
    req->w = w;
    req->hd = a->hd;
    req->mc = a->hd->mc;
    req->fn = a->hd->fn;
    req->timeout_ms = a->hd->timeout_ms;
    req->what = a->hd->running != NULL ? a->hd->running : a->hd->conf->path;
    head = h->base + h->msg_start;
    req->head = head;
    req->names = h->name;
    req->values = h->value;
    req->nheaders = h->nheaders;
    req->target = h->url;
    if (a->query != NULL) {
        req->has_query = 1;
        req->query.off = (uint32_t)(a->query - head);
        req->query.len = (uint32_t)a->qlen;
    }
    req->path = a->path;
    req->plen = a->plen;
    req->nparams = a->m->nparams;
    for (i = 0; i < a->m->nparams; i++) {
        req->params[i].name = a->m->params[i].name;
        req->params[i].name_len = a->m->params[i].name_len;
        req->params[i].off = (size_t)(a->m->params[i].value - a->path);
        req->params[i].len = a->m->params[i].value_len;
    }
    req->body = h->body; /* the engine's body is the request's now */
    memset(&h->body, 0, sizeof(h->body));
    req->version = herd_http1_version(h);
    req->is_head_method = a->head_only;
    req->head_only = a->head_only;
    req->method = a->head_only ? "GET" : herd_http1_method(h);
    req->ch = a->ch;
    req->now = a->now;
    if (h->hooks->identify != NULL) {
        h->hooks->identify(h->arg, h, &req->ident);
    } else {
        snprintf(req->ident.client.text, sizeof(req->ident.client.text),
                 "unknown");
        req->ident.idlen = 1;
        req->ident.id[0] = '-';
    }
    req->attached = 1;

    fn = req->fn;
    herd_worker_running(w, a->hd);
    rc = fn(req);
    herd_worker_running(w, NULL);
    req->attached = 0;

    if (!req->finished && rc == HERD_DEFER && h->hooks->push == NULL) {
        herd_log_error("route %s deferred a request where herd cannot wait "
                       "for it: 500",
                       req->what);
        if (req->cancel_cb != NULL)
            req->cancel_cb(req, req->cancel_arg);
        req->cancel_cb = NULL;
        rc = -1;
        req->attached = 1;
        respond_error(req, 500);
        req->attached = 0;
        req->finished = 1;
    }
    if (!req->finished && rc == HERD_DEFER) {
        if (request_detach(req) != HERD_OK) {
            herd_log_error("out of memory deferring a request of %s",
                           req->what);
            if (req->cancel_cb != NULL)
                req->cancel_cb(req, req->cancel_arg);
            request_free(req);
            return HERD_ERR;
        }
        req->deferred = 1;
        req->deferred_ms = herd_mono_ms();
        h->req = req;
        h->deferred = 1;
        return HERD_AGAIN;
    }
    if (!req->finished && req->started) {
        /* Returned HERD_DONE in the middle of a stream: end it. */
        req->attached = 1;
        herd_stream_end(req);
        req->attached = 0;
    } else if (!req->finished) {
        herd_log_error("route %s returned %s without a response: 500",
                       req->what,
                       rc == HERD_DONE ? "HERD_DONE" : "an unknown value");
        req->attached = 1;
        respond_error(req, 500);
        req->attached = 0;
    }
    *status = req->status;
    sync_ident = req->ident;
    exchange_fill(req, &sync_x, &sync_ident);
    /* The exchange's target points into the head, which stays in the
       engine's input until the request hook ran. */
    *x = &sync_x;
    request_free(req);
    return HERD_OK;
}

void
herd_request_cancel(struct herd_request *req)
{
    struct herd_http1 *h = req->h;
    struct herd_exchange x;

    if (h != NULL) {
        /* Logged as nginx does: 499 when the client left first. */
        if (!req->started)
            req->status = 499;
        exchange_fill(req, &x, &req->ident);
        h->req = NULL;
        h->deferred = 0;
        h->hooks->request(h->arg, h, &x, req->status);
    }
    req->h = NULL;
    req->cancelled = 1;
    if (req->cancel_cb != NULL) {
        void (*cb)(struct herd_request *, void *) = req->cancel_cb;

        req->cancel_cb = NULL;
        req->dropped = 1;
        cb(req, req->cancel_arg);
        request_free(req);
    } else {
        request_zombie(req);
    }
}

size_t
herd_request_pending(const struct herd_request *req)
{
    if (req->attached)
        return req->w->out.len;
    if (req->h != NULL && req->h->hooks->pending != NULL)
        return req->h->hooks->pending(req->h->arg);
    return 0;
}

const struct herd_ident *
herd_request_ident(const struct herd_request *req)
{
    return &req->ident;
}

const struct herd_route_conf *
herd_request_route(const struct herd_request *req)
{
    return req->hd->conf;
}

void
herd_request_abort(struct herd_request *req)
{
    if (req->h != NULL && req->h->hooks->abort != NULL)
        req->h->hooks->abort(req->h->arg);
}

void
herd_request_shutdown(void)
{
    while (zombies != NULL)
        request_free(zombies);
    herd_buf_free(&detached_out);
}

uint64_t
herd_request_wait_ms(const struct herd_request *req)
{
    uint64_t now = herd_mono_ms(), end;

    if (req->started)
        return 0;
    end = req->deferred_ms + req->timeout_ms;
    return end > now ? end - now : 1;
}

void
herd_request_expire(struct herd_request *req)
{
    struct herd_http1 *h = req->h;
    void (*cb)(struct herd_request *, void *) = req->cancel_cb;

    herd_log_warn("route %s did not answer within %llu ms: 504", req->what,
                  (unsigned long long)req->timeout_ms);
    req->cancel_cb = NULL;
    /* From here the module's calls fail with ENOTCONN (in its callback
       too), and herd answers for it. */
    req->cancelled = 1;
    if (cb != NULL) {
        req->dropped = 1;
        cb(req, req->cancel_arg);
    }
    respond_error(req, 504);
    request_done_detached(req);
    (void)h;
    if (req->dropped) {
        request_free(req);
        return;
    }
    request_zombie(req); /* the module's late answer frees it */
}

/* ---- herd.h: the request ---- */

struct herd_module_config *
herd_request_config(struct herd_request *req)
{
    return req != NULL ? req->mc : NULL;
}

const char *
herd_request_method(struct herd_request *req)
{
    return req->method;
}

int
herd_request_is_head(struct herd_request *req)
{
    return req->is_head_method;
}

const char *
herd_request_path(struct herd_request *req)
{
    return req->path;
}

const char *
herd_request_param(struct herd_request *req, const char *name)
{
    size_t i, n;

    if (name == NULL)
        return NULL;
    n = strlen(name);
    for (i = 0; i < req->nparams; i++) {
        if (req->params[i].name_len == n &&
            memcmp(req->params[i].name, name, n) == 0)
            return arena_strndup(req, req->path + req->params[i].off,
                                 req->params[i].len);
    }
    return NULL;
}

const char *
herd_request_query(struct herd_request *req, const char *name, size_t *len)
{
    char *val;
    size_t n;

    if (len != NULL)
        *len = 0;
    if (name == NULL || !req->has_query)
        return NULL;
    /* Decoded, a value is never longer than the whole query. */
    val = arena_alloc(req, (size_t)req->query.len + 1);
    if (val == NULL ||
        herd_uri_query_bytes(req->head + req->query.off, req->query.len, name,
                             val, (size_t)req->query.len + 1, &n) != HERD_OK)
        return NULL;
    if (len != NULL)
        *len = n;
    return val;
}

const char *
herd_request_query_string(struct herd_request *req)
{
    if (!req->has_query)
        return "";
    return arena_strndup(req, req->head + req->query.off, req->query.len);
}

/* Whether field names a[0..alen) and b[0..blen) are the same (any case). */
static int
name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

const char *
herd_request_header(struct herd_request *req, const char *name)
{
    const char *v, *first = NULL;
    size_t i, n, vlen, first_len = 0, total = 0, count = 0, o;
    char *out;

    if (name == NULL)
        return NULL;
    n = strlen(name);
    for (i = 0; i < req->nheaders; i++) {
        if (!name_eq(req->head + req->names[i].off, req->names[i].len, name, n))
            continue;
        vlen = req->values[i].len;
        v = herd_framing_trim(req->head + req->values[i].off, &vlen);
        if (count++ == 0) {
            first = v;
            first_len = vlen;
        }
        total += vlen + 2;
    }
    if (count == 0)
        return NULL;
    if (count == 1)
        return arena_strndup(req, first, first_len);
    out = arena_alloc(req, total + 1);
    if (out == NULL)
        return NULL;
    for (i = 0, o = 0; i < req->nheaders; i++) {
        if (!name_eq(req->head + req->names[i].off, req->names[i].len, name, n))
            continue;
        vlen = req->values[i].len;
        v = herd_framing_trim(req->head + req->values[i].off, &vlen);
        if (o > 0) {
            memcpy(out + o, ", ", 2);
            o += 2;
        }
        memcpy(out + o, v, vlen);
        o += vlen;
    }
    out[o] = '\0';
    return out;
}

const void *
herd_request_body(struct herd_request *req, size_t *len)
{
    if (len != NULL)
        *len = req->body.len;
    if (req->body.len == 0)
        return "";
    /* The engine keeps a byte of room after the body for this. */
    req->body.data[req->body.len] = '\0';
    return req->body.data;
}

const char *
herd_request_client(struct herd_request *req)
{
    return req->ident.client.text;
}

const char *
herd_request_id(struct herd_request *req)
{
    return req->ident.id;
}

/* ---- herd.h: the response ---- */

int
herd_response_header(struct herd_request *req, const char *name,
                     const char *value)
{
    size_t n, vlen;

    if (request_writable(req) != HERD_OK)
        return -1;
    if (req->started) {
        errno = EALREADY;
        return -1;
    }
    if (name == NULL || value == NULL) {
        errno = EINVAL;
        return -1;
    }
    n = strlen(name);
    vlen = strlen(value);
    /* As a route's headers: a token, no control byte but HTAB in the
       value (so no CR or LF), none of the fields herd writes itself. */
    if (!herd_framing_token_valid(name, n) ||
        herd_framing_value_invalid(value, vlen) != NULL ||
        herd_response_managed_field(name, n)) {
        errno = EINVAL;
        return -1;
    }
    if (herd_buf_append(&req->fields, name, n) != HERD_OK ||
        herd_buf_append(&req->fields, ": ", 2) != HERD_OK ||
        herd_buf_append(&req->fields, value, vlen) != HERD_OK ||
        herd_buf_append(&req->fields, "\r\n", 2) != HERD_OK) {
        errno = ENOMEM;
        return -1;
    }
    if (name_eq(name, n, "content-type", 12))
        req->has_type = 1;
    return 0;
}

/* Whether a whole response may finish req now: HERD_OK, or -1 with
   errno set (a cancelled request is freed: request_late). */
static int
respond_allowed(struct herd_request *req)
{
    if (req != NULL && req->cancelled)
        return request_late(req);
    if (request_writable(req) != HERD_OK)
        return -1;
    if (req->started) {
        errno = EALREADY;
        return -1;
    }
    return HERD_OK;
}

int
herd_respond(struct herd_request *req, int status, const void *body, size_t len)
{
    if (respond_allowed(req) != HERD_OK)
        return -1;
    return respond(req, status, body, len, NULL, NULL, 0);
}

int
herd_respond_ref(struct herd_request *req, int status, const void *body,
                 size_t len, void (*release)(void *arg), void *arg)
{
    if (respond_allowed(req) != HERD_OK) {
        if (release != NULL)
            release(arg); /* herd.h: released when the call fails too */
        return -1;
    }
    return respond(req, status, body, len, release, arg, 1);
}

int
herd_respond_json(struct herd_request *req, int status, const char *json)
{
    if (respond_allowed(req) != HERD_OK)
        return -1;
    if (json == NULL || !status_valid(status) ||
        (!status_has_body(status) && json[0] != '\0')) {
        errno = EINVAL; /* refused before anything is added to req */
        return -1;
    }
    if (!req->has_type &&
        herd_response_header(req, "Content-Type", "application/json") != 0)
        return -1;
    return respond(req, status, json, strlen(json), NULL, NULL, 0);
}

int
herd_stream_begin(struct herd_request *req, int status)
{
    struct herd_buf *out;
    size_t start;
    const char *framing;

    if (request_writable(req) != HERD_OK)
        return -1;
    if (req->started) {
        errno = EALREADY;
        return -1;
    }
    if (!status_valid(status) || !status_has_body(status)) {
        errno = EINVAL;
        return -1;
    }
    if (req->version >= 11) {
        req->chunked = 1;
        framing = "Transfer-Encoding: chunked\r\n";
    } else {
        /* HTTP/1.0 has no chunks: the end of the body is the close. */
        req->ch = HERD_CONN_CLOSE;
        req->h->close_after = 1;
        framing = "";
    }
    out = request_out(req);
    start = out->len;
    if (head_write(req, out, status, request_now(req), framing) != HERD_OK) {
        out->len = start;
        errno = ENOMEM;
        return -1;
    }
    req->bytes += out->len - start;
    req->status = status;
    req->started = 1;
    if (request_emit(req, out) != HERD_OK) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int
herd_stream_write(struct herd_request *req, const void *data, size_t len)
{
    struct herd_buf *out;
    char line[32];
    size_t start;
    int n;

    if (request_writable(req) != HERD_OK)
        return -1;
    if (!req->started || (len > 0 && data == NULL)) {
        errno = EINVAL;
        return -1;
    }
    if (len == 0 || req->head_only)
        return 0;
    if (req->attached
            ? req->w->out.len > HERD_STREAM_MAX_PENDING
            : req->h->hooks->push(req->h->arg, NULL, 0) == HERD_AGAIN) {
        errno = ENOBUFS;
        return -1;
    }
    out = request_out(req);
    start = out->len;
    n = snprintf(line, sizeof(line), "%zx\r\n", len);
    if ((req->chunked && herd_buf_append(out, line, (size_t)n) != HERD_OK) ||
        herd_buf_append(out, data, len) != HERD_OK ||
        (req->chunked && herd_buf_append(out, "\r\n", 2) != HERD_OK)) {
        out->len = start;
        errno = ENOMEM;
        return -1;
    }
    req->bytes += out->len - start;
    if (request_emit(req, out) != HERD_OK) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int
herd_stream_end(struct herd_request *req)
{
    struct herd_buf *out;
    size_t start;

    if (req != NULL && req->cancelled)
        return request_late(req);
    if (request_writable(req) != HERD_OK)
        return -1;
    if (!req->started) {
        errno = EINVAL;
        return -1;
    }
    out = request_out(req);
    start = out->len;
    if (req->chunked && !req->head_only &&
        herd_buf_append(out, "0\r\n\r\n", 5) != HERD_OK) {
        out->len = start;
        errno = ENOMEM;
        return -1;
    }
    req->bytes += out->len - start;
    if (request_emit(req, out) != HERD_OK) {
        errno = ENOMEM;
        return -1;
    }
    request_finished(req);
    return 0;
}

void
herd_request_on_cancel(struct herd_request *req,
                       void (*cb)(struct herd_request *req, void *arg),
                       void *arg)
{
    if (req == NULL)
        return;
    req->cancel_cb = cb;
    req->cancel_arg = arg;
}
