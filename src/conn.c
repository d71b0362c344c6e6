/* conn.c: HTTP/1.1 connections: socket I/O, deadlines and closing. */

/*
 * Who enforces what (RFC 9112 unless noted):
 *  - http-parser 2.9.4, as Debian builds it (without HTTP_PARSER_STRICT):
 *    alone, method names (an unknown one: 400), the URL's structure,
 *    Content-Length digits (no sign, list, space or overflow) and a
 *    repeated Content-Length; together with the layers below, which
 *    decide first, Content-Length with Transfer-Encoding, a last coding
 *    other than chunked, chunk-size digits, and CR, NUL and control bytes
 *    in field lines. Its head-size limit sits above herd's, so herd's
 *    decides (it is global to the process: set once per worker at start).
 *  - framing.c, byte by byte in lock step with the parser: the request
 *    line is exactly "method SP target SP HTTP/d.d CRLF" (no HTTP/0.9
 *    line, no second or trailing space, no tab, control or byte above
 *    0x7e in the target, "HTTP/" spelled out: the parser takes any four
 *    letters); major version 1, else 505; CRLF line endings only (bare LF
 *    and bare CR: 400); field names of tchar up to the colon (no
 *    whitespace before it); no obs-fold and no whitespace before the
 *    first field line; no NUL, other control byte or DEL in the head; the
 *    head size (414 when the request line alone overflows, else 431) and
 *    the field-line count (431); chunk-size lines (hex digits only, no
 *    space after them, at most 64 bits; extensions without LF or control
 *    bytes, the line at most HERD_CHUNK_LINE_MAX bytes); CRLF after chunk
 *    data (the parser takes any two bytes there); the sum of chunk sizes
 *    (413 mid-stream, never allocating from the number); trailer field
 *    lines, under the same rules as the head.
 *  - http1.c, once a head is complete: Transfer-Encoding with
 *    Content-Length, repeated Transfer-Encoding lines (CVE-2020-8287),
 *    Transfer-Encoding in HTTP/1.0, codings other than a final chunked
 *    (501, "gzip, chunked" included); Content-Length over max_body_size
 *    (413 before any of the body is read); Host (exactly one in HTTP/1.1,
 *    at most one in 1.0; no path, userinfo or bad port); Expect (an
 *    interim 100 Continue then the answer; 417 for other expectations);
 *    CONNECT (501); trailers never merged into the request headers;
 *    bodies read to their end, even when the route ignores them, so they
 *    are never parsed as requests; keep-alive, pipelining order, and
 *    nothing parsed after an upgrade.
 *  - this file: the deadlines (header_timeout is absolute from the first
 *    byte of a request, later bytes do not extend it; body_timeout of
 *    silence, or a body slower than body_min_rate; send_timeout for a
 *    client that stops reading; keepalive_timeout when idle); closing
 *    after every refused request, with a lingering close so that the
 *    error response is not destroyed by a reset.
 *  - worker.c: max_connections (accepting pauses at the cap and resumes
 *    below it) and EMFILE/ENFILE (accepting pauses and retries on a timer,
 *    logged once, no busy loop).
 *
 * Buffers: a read lands in the worker's scratch buffer and every response
 * produced from it is rendered into the worker's output buffer and written
 * with one send(2). Only what is left over (a partial request, output the
 * socket would not take) is copied into buffers the connection owns, so an
 * idle keep-alive connection holds no buffer.
 *
 * Files (the static handler): the engine renders the head into the output
 * and hands over an open file and a range through the file hook; it is
 * sent with sendfile(2) once the memory before it is out, so a body is
 * never read into memory. Until the range is sent no further pipelined
 * request is answered (responses keep their order); a file that ends
 * early (truncated meanwhile) closes the connection short of its
 * Content-Length, and the send timeout covers the file as it covers
 * buffered output. The file is closed when sent or with the connection.
 */
#include "conn.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "http1.h"
#include "ident.h"
#include "pubsub.h"
#include "log.h"
#include "response.h"
#include "worker.h"
#include "util.h"
#include "ws.h"

/* Keep at most this many freed connection objects for reuse. */
#define POOL_MAX 4096
/* And this many of what busy connections hold (struct conn_io). */
#define IO_POOL_MAX 256
/* While a request is deferred, input pipelined behind it is kept up to
   this much; then reading pauses until the request is answered. */
#define DEFER_INPUT_MAX (256 * 1024)
/* After an error, read and discard for this long before closing, so the
   error response is not destroyed by a reset (lingering close). */
#define LINGER_MS 2000

enum timer_kind {
    T_NONE,
    T_HEADER,
    T_BODY,
    T_KEEPALIVE,
    T_DRAIN, /* an idle connection of a draining worker: its grace */
    T_WRITE,
    T_LINGER,
    T_DEFER, /* module.timeout of a deferred request */
};

/*
 * What a connection needs only while it has something to do: a request
 * arriving or being answered, output waiting, a PROXY header to read, a
 * WebSocket. A connection that is idle between requests (or has yet to
 * receive its first byte) gives it back to the worker, so that thousands
 * of idle keep-alive connections cost only struct herd_conn each.
 */
struct conn_io {
    struct herd_http1 h; /* first, then out: conn_io_take clears after h */
    struct herd_buf out; /* own output: what the socket did not take */
    size_t out_off;
    struct event ev_write; /* set up on first use: most never wait */

    /* A file range queued after the output (static): sent with
       sendfile(2) once out is drained; file_fd -1 when none. */
    int file_fd;
    off_t file_off, file_end;

    /* Or memory a module lent (herd_respond_ref), sent the same way;
       ref NULL when none. */
    const char *ref;
    size_t ref_off, ref_len;
    void (*ref_release)(void *);
    void *ref_arg;

    struct herd_buf pp; /* PROXY header bytes read so far */

    uint64_t body_start_ms; /* when the current request's body began */
    uint64_t req_start_us;  /* when the current request's first byte came */
    unsigned writing : 1;   /* ev_write is set up */

    struct conn_io *next_free; /* in the worker's pool */
};

/* A peer address: IPv4 or IPv6 (of a unix socket, the family only). */
union conn_addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct herd_conn {
    struct herd_conn *next, *prev;
    struct herd_worker *w;
    int fd;
    enum timer_kind timer_kind;
    struct event ev_read;
    struct event timer;
    uint32_t timer_request; /* the request the deadline was armed for */
    uint32_t nrequests;     /* answered, while io is given back */

    struct conn_io *io; /* NULL while idle */
    struct conn_ws *ws; /* after a WebSocket handshake: no more HTTP */

    uint64_t idle_since_ms; /* when it last became idle (or was accepted) */

    union conn_addr peer; /* PROXY header's source, or accept's */
    socklen_t peerlen;

    unsigned pp_pending : 1; /* the PROXY header has yet to arrive */
    unsigned lingering : 1;
    unsigned closed : 1;
    unsigned sent : 1;      /* something was sent: Nagle could delay more */
    unsigned nodelay : 1;   /* TCP_NODELAY is set */
    unsigned in_accept : 1; /* herd_conn_accept frees it if closed */
};

static void conn_close(struct herd_conn *c);
static void conn_nagle(struct herd_conn *c);
static int conn_idle(const struct herd_conn *c);
static void conn_set_peer(struct herd_conn *c, const struct sockaddr *sa,
                          socklen_t len);
static void on_read(evutil_socket_t fd, short what, void *arg);

/* A WebSocket client: a channel subscriber that may publish. */
struct conn_ws {
    struct herd_ws_reader reader;
    const struct herd_channel_conf *cc;
    struct herd_events_sub *sub;
    struct event ping;
    uint64_t seen_ms; /* when the client last sent a frame */
    char channel[HERD_PUBSUB_MAX_CHANNEL + 1];
    size_t channel_len;
    uint64_t last_id; /* ids: replay after it, when replay */
    int replay;
    unsigned started : 1;    /* the 101 answer is out: frames flow */
    unsigned pinging : 1;    /* ping is set up */
    unsigned close_sent : 1; /* no frame after it; close once sent */
};

static void ws_free(struct herd_conn *c);
static void ws_start(struct herd_conn *c);
static void ws_read(struct herd_conn *c);
static void ws_settle(struct herd_conn *c);
static int hook_upgrade(void *arg, const struct herd_route_conf *route,
                        const char *channel, size_t len, int replay,
                        uint64_t last_id);

static time_t
conn_now(const struct herd_conn *c)
{
    struct timeval tv;

    event_base_gettimeofday_cached(c->w->base, &tv);
    return tv.tv_sec;
}

static void
conn_file_close(struct herd_conn *c)
{
    if (c->io == NULL)
        return;
    if (c->io->file_fd >= 0)
        close(c->io->file_fd);
    c->io->file_fd = -1;
    if (c->io->ref != NULL && c->io->ref_release != NULL)
        c->io->ref_release(c->io->ref_arg);
    c->io->ref = NULL;
    c->io->ref_release = NULL;
}

/* Whether a file range or lent memory waits after the output. */
static int
conn_has_tail(const struct herd_conn *c)
{
    return c->io->file_fd >= 0 || c->io->ref != NULL;
}

/* Send what is left of lent memory: as conn_sendfile. */
static int
conn_send_ref(struct herd_conn *c)
{
    ssize_t n;

    conn_nagle(c);
    while (c->io->ref_off < c->io->ref_len) {
        n = send(c->fd, c->io->ref + c->io->ref_off,
                 c->io->ref_len - c->io->ref_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->io->ref_off += (size_t)n;
            c->w->bytes_out += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return HERD_AGAIN;
        conn_file_close(c);
        return HERD_ERR;
    }
    conn_file_close(c);
    return HERD_OK;
}

/*
 * Send what is left of the queued file range. Returns HERD_OK once all of
 * it went (the file is closed), HERD_AGAIN when the socket is full,
 * HERD_ERR when the peer is gone or the file ended early (truncated while
 * being sent: the response cannot be completed, so the connection must
 * close short of its Content-Length).
 */
static int
conn_sendfile(struct herd_conn *c)
{
    ssize_t n;
    off_t left;

    conn_nagle(c);
    while (c->io->file_off < c->io->file_end) {
        left = c->io->file_end - c->io->file_off;
        /* One call moves at most about 2 GiB anyway. */
        n = sendfile(c->fd, c->io->file_fd, &c->io->file_off,
                     left > (1 << 30) ? (size_t)1 << 30 : (size_t)left);
        if (n > 0) {
            c->w->bytes_out += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return HERD_AGAIN;
        if (n == 0)
            herd_log_warn("file shrank while being sent on fd %d: %lld "
                          "bytes short, closing",
                          c->fd, (long long)left);
        else if (errno != EPIPE && errno != ECONNRESET)
            herd_log_error("sendfile() failed on fd %d (%d: %s)", c->fd, errno,
                           strerror(errno));
        conn_file_close(c);
        return HERD_ERR;
    }
    conn_file_close(c);
    return HERD_OK;
}

/*
 * Write the worker's output for c, then the queued file range if any;
 * what the socket does not take moves to c->out and the connection waits
 * for writability. Returns HERD_OK when everything was written,
 * HERD_AGAIN when some waits, HERD_ERR when the peer is gone.
 */
/* Send the tail (file or lent memory) once the output before it is out. */
static int
conn_send_tail(struct herd_conn *c)
{
    if (c->io->file_fd >= 0)
        return conn_sendfile(c);
    if (c->io->ref != NULL)
        return conn_send_ref(c);
    return HERD_OK;
}

static int
conn_flush(struct herd_conn *c)
{
    struct herd_worker *w = c->w;
    ssize_t n;
    int more = conn_has_tail(c) ? MSG_MORE : 0;

    if (w->out.len == 0)
        return conn_send_tail(c);
    conn_nagle(c);
    do {
        /* MSG_MORE: a file follows, let the head share its packets. */
        n = send(c->fd, w->out.data, w->out.len, MSG_NOSIGNAL | more);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        w->bytes_out += (uint64_t)n;
    if (n == (ssize_t)w->out.len) {
        w->out.len = 0;
        return conn_send_tail(c);
    }
    if (n < 0 && errno != EAGAIN) {
        w->out.len = 0;
        return HERD_ERR;
    }
    if (n < 0)
        n = 0;
    c->io->out.len = 0;
    c->io->out_off = 0;
    if (herd_buf_append(&c->io->out, w->out.data + n, w->out.len - (size_t)n) !=
        HERD_OK) {
        w->out.len = 0;
        return HERD_ERR;
    }
    w->out.len = 0;
    return HERD_AGAIN;
}

/* ---- engine hooks ---- */

static int
hook_flush(void *arg)
{
    return conn_flush(arg);
}

static void
hook_identify(void *arg, const struct herd_http1 *h, struct herd_ident *id)
{
    struct herd_conn *c = arg;

    herd_ident_resolve(id, c->w->cfg, (const struct sockaddr *)&c->peer,
                       c->peerlen, h, &c->w->reqid, 0);
}

/*
 * Identify a request (h NULL: refused, its head is not to be read), add
 * its id to the response and log it. x not NULL: a module's request,
 * already identified, its id already in its response.
 */
static void
conn_ident(struct herd_conn *c, const struct herd_http1 *h,
           const struct herd_exchange *x, int status)
{
    struct herd_worker *w = c->w;
    struct herd_access_entry e;
    struct herd_ident own;
    const struct herd_ident *id = &own;
    uint64_t now = herd_mono_us();
    int logged = herd_access_on(&w->access) || herd_log_enabled(HERD_LOG_DEBUG);

    memset(&e, 0, sizeof(e));
    if (x != NULL) {
        id = x->ident;
        e.method = x->method;
        e.target = x->target;
        e.target_len = x->target_len;
    } else {
        /* The client's address and the fields only the logs show are
           worked out only when a log will show them. */
        herd_ident_resolve(&own, w->cfg, (const struct sockaddr *)&c->peer,
                           c->peerlen, h, &w->reqid, !logged);
        if (herd_ident_add_header(&w->out, c->io->h.resp_start, own.id,
                                  own.idlen) != HERD_OK)
            herd_log_error("cannot add X-Request-Id on fd %d", c->fd);
        e.method = herd_http1_method(&c->io->h);
        e.target = herd_http1_target(&c->io->h, &e.target_len);
        if (h == NULL && e.target_len == 0)
            e.method = ""; /* refused before a request line was read */
    }
    e.client = id->client.text;
    e.id = id->id;
    e.idlen = id->idlen;
    e.status = status;
    if (herd_log_enabled(HERD_LOG_DEBUG))
        herd_log_debug("%s %.*s %d client %s id %s", e.method,
                       (int)e.target_len, e.target, status, e.client, e.id);
    e.duration_us = now - c->io->req_start_us;
    herd_worker_duration(w, e.duration_us);
    if (herd_access_on(&w->access)) {
        event_base_gettimeofday_cached(w->base, &e.when);
        if (x != NULL)
            e.version = x->version;
        else
            e.version = h != NULL ? herd_http1_version(h) : 0;
        e.scheme = id->client.scheme == HERD_SCHEME_HTTPS ? "https" : "http";
        /* The head and body rendered, plus a file queued for sendfile. */
        if (x != NULL)
            e.bytes = x->bytes;
        else
            e.bytes = w->out.len - c->io->h.resp_start +
                      (c->io->file_fd >= 0
                           ? (uint64_t)(c->io->file_end - c->io->file_off)
                           : 0);
        e.ua = id->ua;
        e.ua_len = id->ua_len;
        e.referer = id->referer;
        e.referer_len = id->referer_len;
        e.slot = w->slot;
        herd_worker_access(w, &e);
    }
    c->io->req_start_us = now; /* a pipelined request is already here */
}

static void
hook_request(void *arg, const struct herd_http1 *h,
             const struct herd_exchange *x, int status)
{
    struct herd_conn *c = arg;

    herd_worker_request_done(c->w, x != NULL ? x->route : h->route, status);
    conn_ident(c, h, x, status);
}

static void
hook_error(void *arg, const struct herd_http1 *h, int status)
{
    struct herd_conn *c = arg;

    (void)h;
    herd_worker_request_done(c->w, -1, status);
    herd_log_debug("error %d on fd %d", status, c->fd);
    conn_ident(c, NULL, NULL, status);
}

static int
hook_file(void *arg, int fd, off_t off, off_t len)
{
    struct herd_conn *c = arg;

    conn_file_close(c); /* never two: the engine waits for each */
    c->io->file_fd = fd;
    c->io->file_off = off;
    c->io->file_end = off + len;
    return HERD_OK;
}

static int
hook_ref(void *arg, const void *p, size_t len, void (*release)(void *),
         void *rarg)
{
    struct herd_conn *c = arg;

    conn_file_close(c); /* never two: the engine waits for each */
    c->io->ref = p;
    c->io->ref_off = 0;
    c->io->ref_len = len;
    c->io->ref_release = release;
    c->io->ref_arg = rarg;
    return HERD_OK;
}

static int hook_push(void *arg, const char *data, size_t len);
static void hook_abort(void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void conn_want_write(struct herd_conn *c);
static void conn_write_stop(struct herd_conn *c);
static size_t hook_pending(void *arg);

static const struct herd_http1_hooks conn_hooks = {
    .flush = hook_flush,
    .request = hook_request,
    .error = hook_error,
    .body = NULL,
    .file = hook_file,
    .ref = hook_ref,
    .identify = hook_identify,
    .push = hook_push,
    .upgrade = hook_upgrade,
    .abort = hook_abort,
    .pending = hook_pending,
};

/* ---- what busy connections hold ---- */

/* Requests answered on c, whether or not it holds its io. */
static uint32_t
conn_nrequests(const struct herd_conn *c)
{
    return c->io != NULL ? c->io->h.nrequests : c->nrequests;
}

/* Give c what a busy connection needs. HERD_ERR when out of memory. */
static int
conn_io_take(struct herd_conn *c)
{
    struct herd_worker *w = c->w;
    struct conn_io *io = w->free_io;

    if (io != NULL) {
        w->free_io = io->next_free;
        w->nfree_io--;
    } else {
        io = malloc(sizeof(*io));
        if (io == NULL)
            return HERD_ERR;
    }
    /* h first: herd_http1_init clears it, the rest is cleared here. */
    memset(&io->out, 0, sizeof(*io) - offsetof(struct conn_io, out));
    herd_http1_init(&io->h, w, &conn_hooks, c);
    io->h.nrequests = c->nrequests;
    io->file_fd = -1;
    c->io = io;
    return HERD_OK;
}

/* Wait until the client can take more output. */
static void
conn_want_write(struct herd_conn *c)
{
    struct conn_io *io = c->io;

    if (!io->writing) {
        event_assign(&io->ev_write, c->w->base, c->fd, EV_WRITE | EV_PERSIST,
                     on_write, c);
        io->writing = 1;
    }
    event_add(&io->ev_write, NULL);
}

static void
conn_write_stop(struct herd_conn *c)
{
    if (c->io != NULL && c->io->writing)
        event_del(&c->io->ev_write);
}

/* Take io back from c (idle, or closing): it keeps no buffer. */
static void
conn_io_give_back(struct herd_conn *c)
{
    struct herd_worker *w = c->w;
    struct conn_io *io = c->io;

    if (io == NULL)
        return;
    c->nrequests = io->h.nrequests;
    if (io->writing)
        event_del(&io->ev_write);
    conn_file_close(c);
    herd_http1_free(&io->h);
    herd_buf_free(&io->out);
    herd_buf_free(&io->pp);
    c->io = NULL;
    if (w->nfree_io < IO_POOL_MAX) {
        io->next_free = w->free_io;
        w->free_io = io;
        w->nfree_io++;
    } else {
        free(io);
    }
}

/*
 * Before a send: Nagle's algorithm delays a segment only while an earlier
 * one is unacknowledged, so the first send on a connection goes at once
 * as it is, and TCP_NODELAY is set only before a second one: a connection
 * answered once and closed is spared the system call.
 */
static void
conn_nagle(struct herd_conn *c)
{
    int on = 1;

    if (c->nodelay)
        return;
    if (c->sent) {
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        c->nodelay = 1;
        return;
    }
    c->sent = 1;
}

/* ---- timers ---- */

/*
 * The body deadline: body_timeout after the last read, and no later than
 * body_timeout after the body began plus the time body_min_rate allows for
 * what has arrived, so a body trickled just fast enough to dodge the idle
 * deadline is still cut off. It varies, so it is a plain timer rather than
 * a common timeout: re-arming it costs O(log n), only on reads of a body.
 */
static void
body_deadline(const struct herd_conn *c, struct timeval *tv)
{
    const struct herd_config *cfg = c->w->cfg;
    uint64_t now = herd_mono_ms(), idle, rate, wait;

    idle = now + cfg->limits.body_timeout_ms;
    rate = c->io->body_start_ms + cfg->limits.body_timeout_ms +
           herd_http1_body_bytes(&c->io->h) * 1000 / cfg->limits.body_min_rate;
    wait = rate < idle ? rate : idle;
    wait = wait > now ? wait - now : 0;
    *tv = herd_ms_tv(wait);
}

static void
conn_timer(struct herd_conn *c, enum timer_kind kind)
{
    const struct herd_worker *w = c->w;
    const struct timeval *tv;
    struct timeval linger = {LINGER_MS / 1000, (LINGER_MS % 1000) * 1000};
    struct timeval body;
    int fresh = kind != c->timer_kind || c->timer_request != conn_nrequests(c);

    switch (kind) {
    case T_HEADER:
        if (!fresh)
            return; /* the header deadline is absolute */
        tv = w->tv_header;
        break;
    case T_BODY:
        if (w->cfg->limits.body_min_rate == 0) {
            tv = w->tv_body; /* idle deadline only: a common timeout */
            break;
        }
        if (fresh)
            c->io->body_start_ms = herd_mono_ms();
        body_deadline(c, &body);
        tv = &body;
        break;
    case T_WRITE:
        tv = w->tv_send;
        break;
    case T_KEEPALIVE:
        /* Asked for after every request: while it is armed, only its
           start moves (idle_since_ms, set by conn_settle) and on_timer
           waits the rest, rather than the timer moving each time. */
        if (c->timer_kind == T_KEEPALIVE)
            return;
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
    c->timer_request = conn_nrequests(c);
    event_add(&c->timer, tv);
}

/* Start a lingering close: no more responses, discard input briefly. */
static void
conn_linger(struct herd_conn *c)
{
    c->lingering = 1;
    shutdown(c->fd, SHUT_WR);
    conn_write_stop(c);
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
    uint64_t idle = herd_mono_ms() - c->idle_since_ms, left;
    struct timeval grace;

    if (idle >= HERD_DRAIN_IDLE_GRACE_MS) {
        conn_close(c);
        return;
    }
    left = HERD_DRAIN_IDLE_GRACE_MS - idle;
    grace = herd_ms_tv(left);
    c->timer_kind = T_DRAIN;
    c->timer_request = conn_nrequests(c);
    event_add(&c->timer, &grace);
}

/*
 * A module answers later: keep reading, so that the peer closing or
 * resetting the connection is seen at once (and the request cancelled);
 * what it pipelines meanwhile is kept for later, up to DEFER_INPUT_MAX,
 * then reading pauses. Arm module.timeout until the response starts.
 */
static void
conn_defer_wait(struct herd_conn *c)
{
    uint64_t ms = herd_http1_defer_wait_ms(&c->io->h);
    struct timeval tv;

    if (c->io->h.buf.len > DEFER_INPUT_MAX)
        event_del(&c->ev_read);
    else
        event_add(&c->ev_read, NULL);
    if (ms == 0) {
        conn_timer(c, T_NONE);
        return;
    }
    tv = herd_ms_tv(ms);
    c->timer_kind = T_DEFER;
    c->timer_request = conn_nrequests(c);
    event_add(&c->timer, &tv);
}

/* Read from the client, if not already: a connection answered by its
   first read, right after accept, is not in the event loop yet. */
static void
conn_want_read(struct herd_conn *c)
{
    if (!event_pending(&c->ev_read, EV_READ, NULL))
        event_add(&c->ev_read, NULL);
}

/* After input or a timeout was handled: decide what to wait for next. */
static void
conn_settle(struct herd_conn *c, int flushed)
{
    if (flushed == HERD_ERR) {
        if (c->io->h.oom)
            herd_log_error("out of memory serving fd %d", c->fd);
        conn_close(c);
        return;
    }
    if (flushed == HERD_AGAIN) {
        event_del(&c->ev_read);
        conn_want_write(c);
        conn_timer(c, T_WRITE);
        return;
    }
    switch (herd_http1_state(&c->io->h)) {
    case HERD_HTTP1_DEFERRED:
        conn_defer_wait(c);
        break;
    case HERD_HTTP1_CLOSING:
        if (c->io->h.linger)
            conn_linger(c); /* unread request bytes: avoid a reset */
        else
            conn_close(c);
        break;
    case HERD_HTTP1_BODY:
        conn_want_read(c);
        conn_timer(c, T_BODY);
        break;
    case HERD_HTTP1_HEAD:
        conn_want_read(c);
        conn_timer(c, T_HEADER);
        break;
    default:
        conn_want_read(c);
        if (conn_idle(c))
            conn_io_give_back(c);
        c->idle_since_ms = herd_mono_ms();
        if (c->w->draining)
            conn_drain_idle(c);
        else
            conn_timer(c, T_KEEPALIVE);
        break;
    }
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct herd_conn *c = arg;
    enum timer_kind kind = c->timer_kind;

    (void)fd;
    (void)what;
    if (kind == T_KEEPALIVE) {
        uint64_t idle = herd_mono_ms() - c->idle_since_ms,
                 limit = c->w->cfg->limits.keepalive_timeout_ms;

        if (idle < limit) {
            /* Requests came since it was armed: wait the rest. */
            struct timeval tv = herd_ms_tv(limit - idle);

            event_add(&c->timer, &tv);
            return;
        }
    }
    c->timer_kind = T_NONE;
    if (kind == T_DEFER) {
        /* The module did not start its answer in time: 504, pushed. */
        herd_http1_defer_expired(&c->io->h);
        return;
    }
    if (c->io == NULL) {
        conn_close(c); /* idle, or not a byte since accept */
        return;
    }
    if (c->pp_pending) {
        herd_log_warn("no PROXY header within header_timeout on fd %d", c->fd);
        conn_close(c);
        return;
    }
    if (c->lingering) {
        conn_close(c);
        return;
    }
    if (c->io->out.len > c->io->out_off || conn_has_tail(c)) {
        herd_log_debug("send timeout on fd %d", c->fd);
        conn_close(c);
        return;
    }
    if (herd_http1_timeout(&c->io->h, conn_now(c))) {
        /* A request was under way: say why before closing. */
        conn_settle(c, conn_flush(c));
        return;
    }
    conn_close(c);
}

/* ---- events ---- */

static void
conn_run(struct herd_conn *c)
{
    int rc = herd_http1_run(&c->io->h, conn_now(c));

    if (c->ws != NULL && c->io->h.switched && rc != HERD_ERR) {
        ws_start(c);
        return;
    }
    conn_settle(c, rc);
}

/*
 * Read the PROXY header that starts the connection; once complete, its
 * source (when it carries one) becomes the peer and the bytes after it
 * are the first HTTP input.
 */
static void
conn_proxy_read(struct herd_conn *c)
{
    struct herd_proxy_header hdr;
    size_t used, n, room;
    char err[HERD_ERR_LEN], *dst;
    int rc;

    rc =
        herd_ident_proxy_read(c->fd, &c->io->pp, &hdr, &used, err, sizeof(err));
    if (rc == HERD_AGAIN)
        return;
    if (rc != HERD_OK) {
        herd_log_warn("PROXY header refused on fd %d: %s", c->fd, err);
        conn_close(c);
        return;
    }
    c->pp_pending = 0;
    if (hdr.family != AF_UNSPEC) {
        conn_set_peer(c, (const struct sockaddr *)&hdr.src, hdr.srclen);
    }
    if (used == c->io->pp.len) {
        /* Nothing after the header yet: header_timeout, armed at accept,
           still runs, so a client cannot idle in between for free. */
        herd_buf_free(&c->io->pp);
        return;
    }
    while (used < c->io->pp.len) {
        dst = herd_http1_input_space(&c->io->h, &room);
        if (dst == NULL) {
            herd_log_error("out of memory reading fd %d", c->fd);
            conn_close(c);
            return;
        }
        n = c->io->pp.len - used < room ? c->io->pp.len - used : room;
        memcpy(dst, c->io->pp.data + used, n);
        herd_http1_input_done(&c->io->h, n);
        used += n;
    }
    herd_buf_free(&c->io->pp);
    c->io->req_start_us = herd_mono_us();
    conn_run(c);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    struct herd_conn *c = arg;
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
    if (c->pp_pending) {
        conn_proxy_read(c);
        return;
    }
    if (c->ws != NULL) {
        ws_read(c);
        return;
    }
    if (c->io == NULL && conn_io_take(c) != HERD_OK) {
        herd_log_error("out of memory reading fd %d", c->fd);
        conn_close(c);
        return;
    }
    if (herd_http1_state(&c->io->h) == HERD_HTTP1_IDLE &&
        !herd_http1_holds_input(&c->io->h))
        c->io->req_start_us = herd_mono_us();
    dst = herd_http1_input_space(&c->io->h, &room);
    if (dst == NULL) {
        herd_log_error("out of memory reading fd %d", c->fd);
        conn_close(c);
        return;
    }
    do {
        n = read(fd, dst, room);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN)
            conn_close(c);
        else if (conn_idle(c))
            conn_io_give_back(c); /* nothing came after all */
        return;
    }
    if (n == 0) {
        /* The client is done sending: nothing more can complete. */
        conn_close(c);
        return;
    }
    c->w->bytes_in += (uint64_t)n;
    herd_http1_input_done(&c->io->h, (size_t)n);
    conn_run(c);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
    struct herd_conn *c = arg;
    ssize_t n;
    int rc;

    (void)what;
    if (c->io->out_off < c->io->out.len) {
        conn_nagle(c);
        do {
            n = send(fd, c->io->out.data + c->io->out_off,
                     c->io->out.len - c->io->out_off,
                     MSG_NOSIGNAL | (conn_has_tail(c) ? MSG_MORE : 0));
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (errno != EAGAIN)
                conn_close(c);
            return;
        }
        c->io->out_off += (size_t)n;
        c->w->bytes_out += (uint64_t)n;
        if (c->io->out_off < c->io->out.len) {
            conn_timer(c, T_WRITE);
            return;
        }
        herd_buf_free(&c->io->out);
        c->io->out_off = 0;
    }
    if (conn_has_tail(c)) {
        rc = conn_send_tail(c);
        if (rc == HERD_ERR) {
            conn_close(c);
            return;
        }
        if (rc == HERD_AGAIN) {
            conn_timer(c, T_WRITE);
            return;
        }
    }
    /* Drained: go on with buffered input. */
    conn_write_stop(c);
    if (c->ws != NULL && c->ws->started) {
        ws_settle(c);
        return;
    }
    if (herd_http1_state(&c->io->h) == HERD_HTTP1_CLOSING) {
        conn_settle(c, HERD_OK);
        return;
    }
    event_add(&c->ev_read, NULL);
    conn_run(c);
}

/*
 * A deferred request's output, from outside any run: queue it after what
 * waits and let on_write send it; on_write goes on with the pipelined
 * requests once the request is finished.
 */
static int
hook_push(void *arg, const char *data, size_t len)
{
    struct herd_conn *c = arg;

    ssize_t n = 0;

    if (c->closed)
        return HERD_ERR;
    /* Nothing waits before it: straight to the socket, so that only what
       the client does not take counts as pending. */
    if (len > 0 && c->io->out_off == c->io->out.len && !conn_has_tail(c)) {
        conn_nagle(c);
        do {
            n = send(c->fd, data, len, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            n = 0; /* EAGAIN, or an error on_write will meet */
        c->w->bytes_out += (uint64_t)n;
        data += n;
        len -= (size_t)n;
        if (len == 0 && n > 0)
            return HERD_OK;
    }
    if (len > 0) {
        if (c->io->out_off > 0 && c->io->out_off == c->io->out.len) {
            c->io->out.len = 0;
            c->io->out_off = 0;
        }
        if (herd_buf_append(&c->io->out, data, len) != HERD_OK) {
            herd_log_error("out of memory queueing a response on fd %d", c->fd);
            return HERD_ERR;
        }
    }
    /* Writable now, most likely: on_write runs on the next loop turn. */
    conn_want_write(c);
    if (c->io->out.len - c->io->out_off > HERD_STREAM_MAX_PENDING)
        return HERD_AGAIN;
    return HERD_OK;
}

static size_t
hook_pending(void *arg)
{
    const struct herd_conn *c = arg;

    return c->io->out.len - c->io->out_off;
}

static void
hook_abort(void *arg)
{
    conn_close(arg);
}

/* ---- WebSocket ---- */

/* Queue a frame (the output is sent by on_write). HERD_OK, or HERD_ERR
   when out of memory. */
static int
ws_send(struct herd_conn *c, int opcode, const void *data, size_t len)
{
    uint8_t head[HERD_WS_HEADER_MAX];
    size_t n = herd_ws_frame_header(head, opcode, 1, len);

    if (c->ws->close_sent)
        return HERD_OK; /* nothing after a close */
    if (c->io->out_off > 0 && c->io->out_off == c->io->out.len)
        c->io->out.len = c->io->out_off = 0;
    if (herd_buf_append(&c->io->out, head, n) != HERD_OK ||
        herd_buf_append(&c->io->out, data, len) != HERD_OK)
        return HERD_ERR;
    if (opcode == HERD_WS_CLOSE)
        c->ws->close_sent = 1;
    conn_want_write(c);
    return HERD_OK;
}

/* Start the closing handshake: 0, or -1 when c had to close at once. */
static int
ws_close_with(struct herd_conn *c, uint16_t code, const char *reason)
{
    uint8_t payload[HERD_WS_CONTROL_MAX];
    size_t n = herd_ws_close_payload(payload, code, reason);

    /* No more messages: leave the channel now. */
    herd_events_leave(c->ws->sub);
    c->ws->sub = NULL;
    if (ws_send(c, HERD_WS_CLOSE, payload, n) != HERD_OK) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* ---- as a channel subscriber ---- */

/* ids: {"id":"N","data":"..."}, the data as a JSON string (UTF-8 kept,
   quotes, backslashes and control bytes escaped; the bytes of a message
   that is not UTF-8 as \u00XX). */
static int
ws_envelope(struct herd_buf *b, uint64_t seq, const char *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int utf8 = herd_utf8_valid((const uint8_t *)data, len);
    char head[64], esc[2];
    size_t i;
    int n;

    b->len = 0;
    n = snprintf(head, sizeof(head), "{\"id\":\"%llu\",\"data\":\"",
                 (unsigned long long)seq);
    if (herd_buf_append(b, head, (size_t)n) != HERD_OK)
        return HERD_ERR;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];
        int rc;

        if (ch == '"' || ch == '\\') {
            rc = herd_buf_append(b, "\\", 1);
            if (rc == HERD_OK)
                rc = herd_buf_append(b, &data[i], 1);
        } else if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !utf8)) {
            esc[0] = hex[ch >> 4];
            esc[1] = hex[ch & 15];
            rc = herd_buf_append(b, "\\u00", 4);
            if (rc == HERD_OK)
                rc = herd_buf_append(b, esc, 2);
        } else {
            rc = herd_buf_append(b, &data[i], 1);
        }
        if (rc != HERD_OK)
            return HERD_ERR;
    }
    return herd_buf_append(b, "\"}", 2);
}

static int
ws_message(void *target, uint64_t seq, const char *data, size_t len)
{
    struct herd_conn *c = target;
    static struct herd_buf env;

    if (c->ws->cc->ids) {
        if (ws_envelope(&env, seq, data, len) != HERD_OK ||
            ws_send(c, HERD_WS_TEXT, env.data, env.len) != HERD_OK)
            return HERD_AGAIN;
        return c->io->out.len - c->io->out_off > c->ws->cc->max_pending
                   ? HERD_AGAIN
                   : HERD_OK;
    }
    if (ws_send(c,
                herd_utf8_valid((const uint8_t *)data, len) ? HERD_WS_TEXT
                                                            : HERD_WS_BINARY,
                data, len) != HERD_OK)
        return HERD_AGAIN;
    return c->io->out.len - c->io->out_off > c->ws->cc->max_pending ? HERD_AGAIN
                                                                    : HERD_OK;
}

/* ids: some messages after last_event_id are no longer kept. */
static int
ws_notice(void *target)
{
    static const char missed[] = "{\"missed\":true}";

    if (ws_send(target, HERD_WS_TEXT, missed, sizeof(missed) - 1) != HERD_OK)
        return HERD_AGAIN;
    return HERD_OK;
}

static void
ws_drop(void *target)
{
    conn_close(target);
}

static void
ws_drain(void *target)
{
    struct herd_conn *c = target;

    if (ws_close_with(c, HERD_WS_CLOSE_GOING_AWAY, "server restarting") == 0)
        ws_settle(c);
}

static const struct herd_events_sink ws_sink = {
    ws_message,
    ws_notice,
    ws_drop,
    ws_drain,
};

/* ---- the connection ---- */

static void
on_ws_ping(evutil_socket_t fd, short what, void *arg)
{
    struct herd_conn *c = arg;
    uint64_t quiet = herd_mono_ms() - c->ws->seen_ms;

    (void)fd;
    (void)what;
    if (quiet > 2 * c->ws->cc->keepalive_ms) {
        herd_log_debug("websocket: no frame for %llu ms on fd %d: closing",
                       (unsigned long long)quiet, c->fd);
        conn_close(c);
        return;
    }
    if (ws_send(c, HERD_WS_PING, NULL, 0) != HERD_OK)
        conn_close(c);
}

static int
hook_upgrade(void *arg, const struct herd_route_conf *route,
             const char *channel, size_t len, int replay, uint64_t last_id)
{
    struct herd_conn *c = arg;
    struct conn_ws *ws = calloc(1, sizeof(*ws));

    if (ws == NULL)
        return HERD_ERR;
    ws->cc = &route->u.channel;
    memcpy(ws->channel, channel, len);
    ws->channel_len = len;
    ws->replay = replay;
    ws->last_id = last_id;
    herd_ws_reader_init(&ws->reader, ws->cc->max_message_size);
    c->ws = ws;
    return HERD_OK;
}

static void
ws_free(struct herd_conn *c)
{
    if (c->ws == NULL)
        return;
    herd_events_leave(c->ws->sub);
    if (c->ws->pinging)
        event_del(&c->ws->ping);
    herd_ws_reader_free(&c->ws->reader);
    free(c->ws);
    c->ws = NULL;
}

/* What to wait for: writability while output waits, else the client. */
static void
ws_settle(struct herd_conn *c)
{
    if (c->io->out.len > c->io->out_off) {
        conn_want_write(c);
        conn_timer(c, T_WRITE);
        return;
    }
    if (c->ws->close_sent) {
        conn_close(c); /* the closing handshake is done (or given up) */
        return;
    }
    conn_timer(c, T_NONE);
    event_add(&c->ev_read, NULL);
}

/* Handle the frames in data[0..len); 0, or -1 when c was closed. */
static int
ws_input(struct herd_conn *c, const uint8_t *data, size_t len)
{
    struct conn_ws *ws = c->ws;
    struct herd_ws_event e;
    size_t used;
    int rc;

    ws->seen_ms = herd_mono_ms();
    while (len > 0 && !ws->close_sent) {
        rc = herd_ws_read(&ws->reader, data, len, &used, &e);
        data += used;
        len -= used;
        if (rc == HERD_AGAIN)
            break;
        if (rc == HERD_ERR) {
            herd_log_debug("websocket: %s on fd %d: closing with %u",
                           e.error != NULL ? e.error : "error", c->fd,
                           (unsigned)e.close_code);
            return ws_close_with(c, e.close_code, e.error);
        }
        switch (e.opcode) {
        case HERD_WS_TEXT:
            if (!ws->cc->publish)
                break;
            if (herd_publish_channel(ws->channel, ws->channel_len, e.data,
                                     e.len) == HERD_OK)
                break;
            /* A NUL byte no SSE client could get: refused for good; a
               full queue to the master: worth another try later. */
            if (ws_close_with(c, errno == EINVAL ? HERD_WS_CLOSE_POLICY : 1013,
                              errno == EINVAL ? "NUL bytes are not published"
                                              : "try again later") != 0)
                return -1;
            break;
        case HERD_WS_BINARY:
            if (ws_close_with(c, HERD_WS_CLOSE_UNSUPPORTED,
                              "binary messages are not published") != 0)
                return -1;
            break;
        case HERD_WS_PING:
            /* A client pinging faster than it reads gets no more pongs
               than max_pending holds (RFC 6455 5.5.3 allows answering
               the latest only). */
            if (c->io->out.len - c->io->out_off > ws->cc->max_pending)
                break;
            if (ws_send(c, HERD_WS_PONG, e.data, e.len) != HERD_OK) {
                conn_close(c);
                return -1;
            }
            break;
        case HERD_WS_CLOSE:
            /* Echo the client's code; then the TCP close. */
            if (ws_close_with(c, e.close_code, NULL) != 0)
                return -1;
            break;
        default: /* PONG */
            break;
        }
    }
    return 0;
}

/* The 101 answer went out with the last run: frames from now on. */
static void
ws_start(struct herd_conn *c)
{
    struct conn_ws *ws = c->ws;
    struct timeval tv;

    ws->started = 1;
    ws->seen_ms = herd_mono_ms();
    ws->sub = herd_events_join(ws->channel, ws->channel_len, &ws_sink, c,
                               ws->replay, ws->last_id, ws->cc->max_pending);
    if (ws->sub == NULL) {
        if (ws_close_with(c, HERD_WS_CLOSE_INTERNAL,
                          "cannot join the channel") != 0)
            return;
    } else {
        event_assign(&ws->ping, c->w->base, -1, EV_PERSIST, on_ws_ping, c);
        ws->pinging = 1;
        tv = herd_ms_tv(ws->cc->keepalive_ms);
        event_add(&ws->ping, &tv);
    }
    /* Frames that came with the handshake. */
    if (c->io->h.buf.len > 0 &&
        ws_input(c, (const uint8_t *)c->io->h.buf.data, c->io->h.buf.len) != 0)
        return;
    herd_buf_free(&c->io->h.buf);
    c->io->h.len = c->io->h.parse_off = c->io->h.msg_start = 0;
    ws_settle(c);
}

static void
ws_read(struct herd_conn *c)
{
    ssize_t n;

    do {
        n = read(c->fd, c->w->in, c->w->in_cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN)
            conn_close(c);
        return;
    }
    if (n == 0) {
        conn_close(c); /* gone without a closing handshake */
        return;
    }
    c->w->bytes_in += (uint64_t)n;
    if (c->ws->close_sent)
        return; /* waiting for our close to go out */
    if (ws_input(c, (const uint8_t *)c->w->in, (size_t)n) == 0)
        ws_settle(c);
}

/* ---- life cycle ---- */

/* Keep c's memory for the next connection, or free it. */
static void
conn_free(struct herd_worker *w, struct herd_conn *c)
{
    if (w->nfree < POOL_MAX) {
        c->next = w->free_conns;
        w->free_conns = c;
        w->nfree++;
    } else {
        free(c);
    }
}

static void
conn_close(struct herd_conn *c)
{
    struct herd_worker *w = c->w;

    if (c->closed)
        return;
    c->closed = 1;
    event_del(&c->ev_read);
    conn_write_stop(c);
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
    ws_free(c);
    conn_io_give_back(c); /* closes a queued file, releases lent memory */
    if (!c->in_accept)
        conn_free(w, c); /* else herd_conn_accept does, once back */
    herd_worker_conn_closed(w);
}

/* Keep the peer's address: IPv4 or IPv6 as is, of others the family. */
static void
conn_set_peer(struct herd_conn *c, const struct sockaddr *sa, socklen_t len)
{
    c->peerlen = 0;
    if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
        return;
    if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
        len <= (socklen_t)sizeof(c->peer)) {
        memcpy(&c->peer, sa, len);
        c->peerlen = len;
    } else if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
        c->peer.sa.sa_family = sa->sa_family;
        c->peerlen = (socklen_t)sizeof(sa_family_t);
    }
}

void
herd_conn_accept(struct herd_worker *w, int fd, const struct herd_acceptor *a,
                 const struct sockaddr *peer, socklen_t peerlen)
{
    struct herd_conn *c;

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
    conn_set_peer(c, peer, peerlen);
    c->pp_pending = a->proxy_protocol ? 1 : 0;
    c->nodelay = a->tcp ? 0 : 1; /* nothing to set on a unix socket */
    event_assign(&c->ev_read, w->base, fd, EV_READ | EV_PERSIST, on_read, c);
    evtimer_assign(&c->timer, w->base, on_timer, c);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    c->idle_since_ms = herd_mono_ms();
    if (c->pp_pending) {
        if (conn_io_take(c) != HERD_OK) {
            herd_log_error("out of memory accepting a connection");
            conn_close(c);
            return;
        }
    } else {
        /* Clients send their request as soon as they are connected, so
           it is often here already: read it now. Answered, the connection
           costs no trip through epoll; closed by the answer, it was never
           registered with epoll at all. */
        c->in_accept = 1;
        on_read(fd, EV_READ, c);
        c->in_accept = 0;
        if (c->closed) {
            conn_free(w, c);
            return;
        }
        if (c->io != NULL || conn_nrequests(c) > 0)
            return; /* input came: its run set what to wait for */
    }
    event_add(&c->ev_read, NULL);
    /* Until the first request arrives, the header deadline applies. */
    conn_timer(c, T_HEADER);
}

static int
conn_idle(const struct herd_conn *c)
{
    if (c->io == NULL)
        return 1;
    return c->ws == NULL && herd_http1_state(&c->io->h) == HERD_HTTP1_IDLE &&
           !herd_http1_holds_input(&c->io->h) &&
           c->io->out.len == c->io->out_off && !conn_has_tail(c) &&
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
    struct conn_io *io;

    while ((c = w->free_conns) != NULL) {
        w->free_conns = c->next;
        free(c);
    }
    w->nfree = 0;
    while ((io = w->free_io) != NULL) {
        w->free_io = io->next_free;
        free(io);
    }
    w->nfree_io = 0;
}

void
herd_conn_global_init(uint64_t max_header_size)
{
    herd_http1_global_init(max_header_size);
}
