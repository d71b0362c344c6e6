/* conn.c: HTTP/1.1 connections on http-parser: read, parse, route, respond. */

/*
 * Who enforces what:
 *  - http-parser: request-line and header syntax, methods, chunked framing,
 *    Content-Length digits and overflow, Content-Length together with
 *    Transfer-Encoding, and the head size (http_parser_set_max_header_size
 *    is process-global, so it is set once per worker at start).
 *  - this file: header names made of tchar only (the non-strict parser
 *    accepts spaces in them), HTTP major version (505), the header count
 *    (431), the body size (413 from Content-Length before the body is
 *    read, and mid-stream for chunked bodies), trailers kept out of the
 *    request headers, the header/body/keep-alive deadlines (the header
 *    deadline is absolute: it is armed by the first byte of a request and
 *    not restarted by later bytes), keep-alive limits, pipelining order,
 *    and closing after errors.
 *
 * Buffers: a read lands in the worker's scratch buffer and every response
 * produced from it is rendered into the worker's output buffer and written
 * with one write(2). Only what is left over (a partial request, output the
 * socket would not take) is copied into buffers the connection owns, so an
 * idle keep-alive connection holds no buffer. Request slices are offsets
 * from the start of the request, so moving the leftover keeps them valid.
 */
#include "conn.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "response.h"
#include "router.h"
#include "worker.h"

/* Stop parsing pipelined requests when this much output is waiting. */
#define OUT_HIGH_WATER (256 * 1024)
/* Smallest free space a read is offered in a connection's own buffer. */
#define READ_MIN 4096
/* Keep at most this many freed connection objects for reuse. */
#define POOL_MAX 4096
/* After an error, read and discard for this long before closing, so the
   error response is not destroyed by a reset (lingering close). */
#define LINGER_MS 2000

struct slice {
    uint32_t off; /* from the start of the request */
    uint32_t len;
};

enum timer_kind { T_NONE, T_HEADER, T_BODY, T_KEEPALIVE, T_WRITE, T_LINGER };

struct request {
    struct slice url;
    struct slice name[HERD_MAX_HEADERS];
    struct slice value[HERD_MAX_HEADERS];
    uint32_t nheaders;
    uint32_t head_end; /* end of the last slice: what the head needs kept */
    unsigned last_was_value : 1;
    unsigned in_body : 1; /* head complete, body (or trailers) follows */
    unsigned started : 1; /* at least one byte of this request parsed */
};

struct herd_conn {
    struct herd_conn *next, *prev;
    struct herd_worker *w;
    int fd;
    struct event ev_read;
    struct event ev_write;
    struct event timer;
    enum timer_kind timer_kind;

    http_parser parser;

    /* Input being parsed: the worker's scratch or buf.data. */
    char *base;
    size_t len;
    size_t msg_start;    /* where the current request begins in base */
    size_t parse_off;    /* how far the parser got in base */
    struct herd_buf buf; /* own input: leftover between reads */

    struct request req;
    struct herd_buf body;
    int error_status; /* set by a callback that refuses the request */

    struct herd_buf out; /* own output: what the socket did not take */
    size_t out_off;

    uint32_t nrequests;
    struct timeval idle_since; /* when it last became idle (for draining) */
    unsigned close_after : 1;  /* close once the output is written */
    unsigned linger : 1;       /* ... and discard input briefly first */
    unsigned lingering : 1;
    unsigned closed : 1;
};

static http_parser_settings settings;

static void conn_run(struct herd_conn *c);
static void conn_close(struct herd_conn *c);

/* ---- parser callbacks: record slices, never act on the connection ---- */

static uint32_t
slice_off(const struct herd_conn *c, const char *at)
{
    return (uint32_t)(at - (c->base + c->msg_start));
}

static void
slice_extend(struct herd_conn *c, struct slice *s, const char *at, size_t len)
{
    if (s->len == 0)
        s->off = slice_off(c, at);
    s->len += (uint32_t)len;
    if (s->off + s->len > c->req.head_end)
        c->req.head_end = s->off + s->len;
}

static int
on_message_begin(http_parser *p)
{
    struct herd_conn *c = p->data;

    c->req.started = 1;
    return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
    struct herd_conn *c = p->data;

    slice_extend(c, &c->req.url, at, len);
    return 0;
}

/* RFC 9110 tchar: what a header name may be made of. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
    ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
    struct herd_conn *c = p->data;
    struct request *r = &c->req;
    size_t i;

    /* The non-strict http-parser lets spaces into names ("Ho st:",
       "Host :"): a proxy would read those differently, so refuse. */
    for (i = 0; i < len; i++)
        if (!tchar[(unsigned char)at[i]]) {
            c->error_status = 400;
            return -1;
        }
    if (r->in_body) /* trailers are never merged into the headers */
        return 0;
    if (r->nheaders == 0 || r->last_was_value) {
        if (r->nheaders == HERD_MAX_HEADERS) {
            c->error_status = 431;
            return -1;
        }
        r->nheaders++;
        r->name[r->nheaders - 1] = (struct slice){0, 0};
        r->value[r->nheaders - 1] = (struct slice){0, 0};
        r->last_was_value = 0;
    }
    slice_extend(c, &r->name[r->nheaders - 1], at, len);
    return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
    struct herd_conn *c = p->data;
    struct request *r = &c->req;

    if (r->in_body || r->nheaders == 0)
        return 0;
    r->last_was_value = 1;
    slice_extend(c, &r->value[r->nheaders - 1], at, len);
    return 0;
}

static int
on_headers_complete(http_parser *p)
{
    struct herd_conn *c = p->data;
    uint64_t max_body = c->w->cfg->limits.max_body_size;

    c->req.in_body = 1;
    if (p->http_major != 1) {
        c->error_status = 505;
        return -1;
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > max_body) {
        c->error_status = 413;
        return -1;
    }
    return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
    struct herd_conn *c = p->data;

    if (c->body.len + len > c->w->cfg->limits.max_body_size) {
        c->error_status = 413;
        return -1;
    }
    if (herd_buf_append(&c->body, at, len) != HERD_OK) {
        c->error_status = 500;
        return -1;
    }
    return 0;
}

static int
on_message_complete(http_parser *p)
{
    /* Hand the request to conn_process outside the parser. */
    http_parser_pause(p, 1);
    return 0;
}

void
herd_conn_global_init(uint64_t max_header_size)
{
    http_parser_set_max_header_size((uint32_t)max_header_size);
    memset(&settings, 0, sizeof(settings));
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
}

/* ---- requests ---- */

static unsigned
method_bit(unsigned method)
{
    switch (method) {
    case HTTP_GET:
        return HERD_M_GET;
    case HTTP_HEAD:
        return HERD_M_HEAD;
    case HTTP_POST:
        return HERD_M_POST;
    case HTTP_PUT:
        return HERD_M_PUT;
    case HTTP_PATCH:
        return HERD_M_PATCH;
    case HTTP_DELETE:
        return HERD_M_DELETE;
    case HTTP_OPTIONS:
        return HERD_M_OPTIONS;
    default:
        return 0;
    }
}

static void
request_reset(struct herd_conn *c)
{
    c->req.url = (struct slice){0, 0};
    c->req.nheaders = 0;
    c->req.head_end = 0;
    c->req.last_was_value = 0;
    c->req.in_body = 0;
    c->req.started = 0;
    c->body.len = 0;
    c->error_status = 0;
}

/* The path of the request target: origin-form up to '?', or the path of
   an absolute-form target. Returns HERD_ERR when there is none. */
static int
request_path(const char *url, size_t len, const char **path, size_t *plen)
{
    struct http_parser_url u;
    size_t i;

    if (len > 0 && url[0] == '/') {
        for (i = 0; i < len && url[i] != '?' && url[i] != '#'; i++)
            ;
        *path = url;
        *plen = i;
        return HERD_OK;
    }
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH)))
        return HERD_ERR;
    *path = url + u.field_data[UF_PATH].off;
    *plen = u.field_data[UF_PATH].len;
    return HERD_OK;
}

static enum herd_conn_header
conn_header_for(struct herd_conn *c, int keepalive)
{
    if (!keepalive)
        return HERD_CONN_CLOSE;
    return c->parser.http_minor == 0 ? HERD_CONN_KEEPALIVE : HERD_CONN_NONE;
}

static time_t
conn_now(const struct herd_conn *c)
{
    struct timeval tv;

    event_base_gettimeofday_cached(c->w->base, &tv);
    return tv.tv_sec;
}

/* Answer an error and close once it is written. */
static void
conn_error(struct herd_conn *c, int status)
{
    struct herd_worker *w = c->w;

    if (herd_error_response_write(&w->out, status, conn_now(c), HERD_CONN_CLOSE,
                                  NULL, 0) != HERD_OK)
        herd_log_error("out of memory rendering a %d response", status);
    c->close_after = 1;
    c->linger = 1;
    herd_worker_request_done(w, status);
    herd_log_debug("error %d on fd %d", status, c->fd);
}

/* Route and answer one complete request into the worker's output. */
static void
conn_handle(struct herd_conn *c)
{
    struct herd_worker *w = c->w;
    const struct herd_config *cfg = w->cfg;
    const char *base = c->base + c->msg_start;
    const char *path;
    size_t plen;
    struct herd_match m;
    enum herd_route_result rr;
    enum herd_conn_header ch;
    int keepalive, head_only, status, rc;
    char allow[96];

    c->nrequests++;
    keepalive = http_should_keep_alive(&c->parser) && !w->draining &&
                !c->parser.upgrade && cfg->limits.keepalive_timeout_ms > 0 &&
                (cfg->limits.keepalive_requests == 0 ||
                 c->nrequests < cfg->limits.keepalive_requests);
    ch = conn_header_for(c, keepalive);
    if (!keepalive)
        c->close_after = 1;
    head_only = c->parser.method == HTTP_HEAD;

    if (request_path(base + c->req.url.off, c->req.url.len, &path, &plen) !=
        HERD_OK) {
        status = 400;
        rc = herd_error_response_write(&w->out, status, conn_now(c),
                                       HERD_CONN_CLOSE, NULL, head_only);
        c->close_after = 1;
        goto done;
    }
    rr = herd_router_match(w->routes.router, path, plen,
                           method_bit(c->parser.method), &m);
    if (rr == HERD_ROUTE_FOUND) {
        const struct herd_handler *h = m.data;
        status = h->conf->u.respond.status;
        rc = herd_fixed_response_write(&h->fixed, &w->out, conn_now(c), ch,
                                       head_only);
    } else if (rr == HERD_ROUTE_METHOD_NOT_ALLOWED) {
        status = 405;
        herd_allow_header_value(m.allow, allow, sizeof(allow));
        rc = herd_error_response_write(&w->out, status, conn_now(c), ch, allow,
                                       head_only);
    } else {
        status = 404;
        rc = herd_error_response_write(&w->out, status, conn_now(c), ch, NULL,
                                       head_only);
    }
done:
    if (rc != HERD_OK) {
        herd_log_error("out of memory rendering a response");
        c->close_after = 1;
    }
    herd_worker_request_done(w, status);
    herd_log_debug("%s %.*s %d", http_method_str(c->parser.method),
                   (int)c->req.url.len, base + c->req.url.off, status);
}

static int
parser_error_status(struct herd_conn *c)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

    if (c->error_status)
        return c->error_status;
    if (e == HPE_HEADER_OVERFLOW)
        return 431;
    return 400;
}

/*
 * Parse what is in base[parse_off..len) and answer every complete request
 * into the worker's output, in order. Stops at an error, at a request
 * after which the connection closes, or when enough output is waiting.
 */
static void
conn_process(struct herd_conn *c)
{
    struct herd_worker *w = c->w;
    enum http_errno e;
    size_t n;

    while (c->parse_off < c->len && !c->close_after &&
           w->out.len < OUT_HIGH_WATER) {
        n = http_parser_execute(&c->parser, &settings, c->base + c->parse_off,
                                c->len - c->parse_off);
        c->parse_off += n;
        e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED) {
            conn_handle(c);
            http_parser_pause(&c->parser, 0);
            request_reset(c);
            c->msg_start = c->parse_off;
            if (c->parser.upgrade) /* never parse what follows an upgrade */
                c->close_after = 1;
            continue;
        }
        if (e != HPE_OK) {
            conn_error(c, parser_error_status(c));
            return;
        }
        /* The parser took everything: wait for more bytes. */
        break;
    }
}

/* ---- input and output buffers ---- */

/*
 * Keep what the next read needs: the head of a request still in progress
 * (its body bytes already went to c->body) and any bytes not parsed yet.
 * Moves them into c->buf, so the worker's scratch is free again.
 */
static int
conn_save_input(struct herd_conn *c)
{
    size_t head, rest, total;
    char *dst;

    if (c->close_after) {
        head = rest = 0;
    } else if (c->req.in_body) {
        head = c->req.head_end;
        rest = c->len - c->parse_off;
    } else {
        head = c->parse_off - c->msg_start;
        rest = c->len - c->parse_off;
    }
    total = head + rest;
    if (total == 0) {
        herd_buf_free(&c->buf); /* idle connections hold no buffer */
        goto done;
    }
    if (c->base == c->buf.data) {
        /* Moving down within one buffer: each move goes to a lower or
           equal address, so memmove in this order is safe. */
        memmove(c->buf.data, c->base + c->msg_start, head);
        memmove(c->buf.data + head, c->base + c->parse_off, rest);
    } else {
        c->buf.len = 0;
        if (herd_buf_reserve(&c->buf, total + READ_MIN) != HERD_OK)
            return HERD_ERR;
        dst = c->buf.data;
        memcpy(dst, c->base + c->msg_start, head);
        memcpy(dst + head, c->base + c->parse_off, rest);
    }
    c->buf.len = total;
done:
    c->msg_start = 0;
    c->parse_off = head;
    c->base = c->buf.data;
    c->len = c->buf.len;
    return HERD_OK;
}

/*
 * Write the worker's output for c; what the socket does not take moves to
 * c->out and the connection waits for writability. Returns HERD_OK when
 * everything was written, HERD_AGAIN when some waits, HERD_ERR when the
 * peer is gone.
 */
static int
conn_flush(struct herd_conn *c)
{
    struct herd_worker *w = c->w;
    ssize_t n;

    if (w->out.len == 0)
        return HERD_OK;
    do {
        n = write(c->fd, w->out.data, w->out.len);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        w->bytes_out += (uint64_t)n;
    if (n == (ssize_t)w->out.len) {
        w->out.len = 0;
        return HERD_OK;
    }
    if (n < 0 && errno != EAGAIN) {
        w->out.len = 0;
        return HERD_ERR;
    }
    if (n < 0)
        n = 0;
    c->out.len = 0;
    c->out_off = 0;
    if (herd_buf_append(&c->out, w->out.data + n, w->out.len - (size_t)n) !=
        HERD_OK) {
        w->out.len = 0;
        return HERD_ERR;
    }
    w->out.len = 0;
    return HERD_AGAIN;
}

/* ---- timers and events ---- */

static void
conn_timer(struct herd_conn *c, enum timer_kind kind)
{
    const struct herd_worker *w = c->w;
    const struct timeval *tv;
    struct timeval linger = {LINGER_MS / 1000, (LINGER_MS % 1000) * 1000};

    if (kind == c->timer_kind && kind == T_HEADER)
        return; /* the header deadline is absolute */
    switch (kind) {
    case T_HEADER:
        tv = w->tv_header;
        break;
    case T_BODY:
    case T_WRITE:
        tv = w->tv_body;
        break;
    case T_KEEPALIVE:
        tv = w->tv_keepalive;
        break;
    case T_LINGER:
        tv = &linger;
        break;
    default:
        event_del(&c->timer);
        c->timer_kind = T_NONE;
        return;
    }
    c->timer_kind = kind;
    event_add(&c->timer, tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct herd_conn *c = arg;

    (void)fd;
    (void)what;
    c->timer_kind = T_NONE;
    if (c->lingering || c->out.len > c->out_off) {
        conn_close(c);
        return;
    }
    if (c->req.started || c->buf.len > 0) {
        /* A request was under way: say why before closing. */
        c->base = c->buf.data;
        c->len = c->buf.len;
        conn_error(c, 408);
        c->req.in_body = 0;
        conn_run(c);
        return;
    }
    conn_close(c);
}

/* Start a lingering close: no more responses, discard input briefly. */
static void
conn_linger(struct herd_conn *c)
{
    c->lingering = 1;
    shutdown(c->fd, SHUT_WR);
    event_del(&c->ev_write);
    event_add(&c->ev_read, NULL);
    conn_timer(c, T_LINGER);
}

/*
 * An idle connection of a draining worker: close it once it has been idle
 * for HERD_DRAIN_IDLE_GRACE_MS. Until then a request on it is answered
 * (with Connection: close): closing a connection the instant the client
 * may be sending on it is how reloads reset keep-alive clients.
 */
static void
conn_drain_idle(struct herd_conn *c)
{
    struct timeval now, idle,
        grace = {HERD_DRAIN_IDLE_GRACE_MS / 1000,
                 (HERD_DRAIN_IDLE_GRACE_MS % 1000) * 1000};

    event_base_gettimeofday_cached(c->w->base, &now);
    timersub(&now, &c->idle_since, &idle);
    if (!timercmp(&idle, &grace, <)) {
        conn_close(c);
        return;
    }
    timersub(&grace, &idle, &grace);
    c->timer_kind = T_KEEPALIVE;
    event_add(&c->timer, &grace);
}

/* After input was handled: decide what the connection waits for next. */
static void
conn_settle(struct herd_conn *c, int flushed)
{
    if (flushed == HERD_ERR) {
        conn_close(c);
        return;
    }
    if (flushed == HERD_AGAIN) {
        event_del(&c->ev_read);
        event_add(&c->ev_write, NULL);
        conn_timer(c, T_WRITE);
        return;
    }
    if (c->close_after) {
        if (c->linger)
            conn_linger(c); /* unread request bytes: avoid a reset */
        else
            conn_close(c);
        return;
    }
    if (c->req.in_body) {
        conn_timer(c, T_BODY);
    } else if (c->buf.len > 0) {
        conn_timer(c, T_HEADER);
    } else {
        event_base_gettimeofday_cached(c->w->base, &c->idle_since);
        if (c->w->draining)
            conn_drain_idle(c);
        else
            conn_timer(c, T_KEEPALIVE);
    }
}

/* Parse, answer and write until the input is used up or output blocks. */
static void
conn_run(struct herd_conn *c)
{
    int flushed;

    for (;;) {
        conn_process(c);
        flushed = conn_flush(c);
        if (flushed != HERD_OK || c->close_after || c->parse_off >= c->len)
            break;
        /* Stopped at the output high-water mark with input left. */
    }
    /* Closing with request bytes not read: linger so they cause no reset
       that would destroy the response on its way. */
    if (c->close_after && (c->parse_off < c->len || c->req.started))
        c->linger = 1;
    if (flushed != HERD_ERR && conn_save_input(c) != HERD_OK) {
        herd_log_error("out of memory keeping input of fd %d", c->fd);
        flushed = HERD_ERR;
    }
    conn_settle(c, flushed);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    struct herd_conn *c = arg;
    struct herd_worker *w = c->w;
    char *dst;
    size_t room;
    ssize_t n;

    (void)what;
    if (c->lingering) {
        char sink[4096];
        do {
            n = read(fd, sink, sizeof(sink));
        } while (n > 0);
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            conn_close(c);
        return;
    }
    if (c->buf.len == 0) {
        dst = w->in;
        room = w->in_cap;
    } else {
        if (herd_buf_reserve(&c->buf, READ_MIN) != HERD_OK) {
            conn_close(c);
            return;
        }
        dst = c->buf.data + c->buf.len;
        room = c->buf.cap - c->buf.len;
    }
    do {
        n = read(fd, dst, room);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN)
            conn_close(c);
        return;
    }
    if (n == 0) {
        /* The client is done sending: nothing more can complete. */
        conn_close(c);
        return;
    }
    w->bytes_in += (uint64_t)n;
    if (c->buf.len == 0) {
        c->base = w->in;
        c->len = (size_t)n;
        c->msg_start = c->parse_off = 0;
    } else {
        c->buf.len += (size_t)n;
        c->base = c->buf.data;
        c->len = c->buf.len;
    }
    conn_run(c);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
    struct herd_conn *c = arg;
    ssize_t n;

    (void)what;
    do {
        n = write(fd, c->out.data + c->out_off, c->out.len - c->out_off);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN)
            conn_close(c);
        return;
    }
    c->out_off += (size_t)n;
    c->w->bytes_out += (uint64_t)n;
    if (c->out_off < c->out.len) {
        conn_timer(c, T_WRITE);
        return;
    }
    /* Drained: give the buffer back and go on with buffered input. */
    herd_buf_free(&c->out);
    c->out_off = 0;
    event_del(&c->ev_write);
    if (c->close_after) {
        conn_settle(c, HERD_OK);
        return;
    }
    event_add(&c->ev_read, NULL);
    c->base = c->buf.data;
    c->len = c->buf.len;
    conn_run(c);
}

/* ---- life cycle ---- */

static void
conn_close(struct herd_conn *c)
{
    struct herd_worker *w = c->w;

    if (c->closed)
        return;
    c->closed = 1;
    event_del(&c->ev_read);
    event_del(&c->ev_write);
    event_del(&c->timer);
    close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    herd_buf_free(&c->buf);
    herd_buf_free(&c->out);
    herd_buf_free(&c->body);
    if (w->nfree < POOL_MAX) {
        c->next = w->free_conns;
        w->free_conns = c;
        w->nfree++;
    } else {
        free(c);
    }
    herd_worker_conn_closed(w);
}

void
herd_conn_accept(struct herd_worker *w, int fd, int tcp)
{
    struct herd_conn *c;
    int on = 1;

    if (w->free_conns != NULL) {
        c = w->free_conns;
        w->free_conns = c->next;
        w->nfree--;
    } else {
        c = malloc(sizeof(*c));
        if (c == NULL) {
            herd_log_error("out of memory accepting a connection");
            close(fd);
            return;
        }
    }
    memset(c, 0, sizeof(*c));
    c->w = w;
    c->fd = fd;
    if (tcp)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    event_assign(&c->ev_read, w->base, fd, EV_READ | EV_PERSIST, on_read, c);
    event_assign(&c->ev_write, w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    evtimer_assign(&c->timer, w->base, on_timer, c);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    event_base_gettimeofday_cached(w->base, &c->idle_since);
    event_add(&c->ev_read, NULL);
    /* Until the first request arrives, the header deadline applies. */
    conn_timer(c, T_HEADER);
}

static int
conn_idle(const struct herd_conn *c)
{
    return !c->req.started && c->buf.len == 0 && c->out.len == c->out_off &&
           !c->lingering;
}

void
herd_conn_drain_all(struct herd_worker *w)
{
    struct herd_conn *c, *next;

    for (c = w->conns; c != NULL; c = next) {
        next = c->next;
        if (conn_idle(c))
            conn_drain_idle(c);
    }
}

void
herd_conn_close_all(struct herd_worker *w)
{
    while (w->conns != NULL)
        conn_close(w->conns);
}

void
herd_conn_pool_free(struct herd_worker *w)
{
    struct herd_conn *c;

    while ((c = w->free_conns) != NULL) {
        w->free_conns = c->next;
        free(c);
    }
    w->nfree = 0;
}
