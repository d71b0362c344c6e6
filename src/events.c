/* events.c: a worker's side of pub/sub, and the events (SSE) handler. */

/*
 * A subscriber is a deferred request with a stream (request.c): the
 * response head goes out at once and every message of its channel is
 * written to it as a Server-Sent Event. The worker subscribes to a
 * channel at the master once, when its first client does, and
 * unsubscribes when the last one leaves; the master sends it each
 * message once, and it writes the message to every local subscriber.
 *
 * A client that comes back with Last-Event-ID gets what it missed first:
 * the worker asks the master for the channel's history after that id
 * (REPLAY) and holds the live messages arriving meanwhile, then writes
 * the history and the held messages, each id once and in order. A
 * subscriber whose unsent output passes the route's max_pending is
 * dropped (its connection closed) and counted, so a slow client costs
 * bounded memory.
 */
#include "events.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "cidr.h"
#include "ident.h"
#include "log.h"
#include "pubsub.h"
#include "request.h"
#include "sse.h"
#include "util.h"
#include "worker.h"

struct wchan;

struct herd_events_sub {
    struct herd_events_sub *next, *prev; /* on its channel */
    struct wchan *wc;
    const struct herd_events_sink *sink;
    void *target;
    size_t max_pending;
    uint64_t last_seq;    /* the newest id written */
    uint64_t token;       /* of its replay */
    struct herd_buf held; /* while replaying: u64 seq, u32 len, data */
    unsigned replaying : 1;
};

/* A channel some local client listens on (the table entry's user). */
struct wchan {
    struct herd_pubsub_channel *ch;
    struct herd_events_sub *subs;
    size_t nsubs;
};

/* An SSE client: a deferred request with a stream. */
struct sse_client {
    struct herd_events_sub *sub;
    struct herd_request *req;
    const struct herd_channel_conf *cc;
    struct event keepalive;
};

/* A POST waiting for the master to say its message's id. */
struct pending {
    struct pending *next, *prev;
    struct herd_request *req;
    uint64_t token;
};

static struct {
    struct herd_worker *w;
    struct herd_pubsub_table chans;
    int chans_ready;
    struct herd_chanq q; /* to the master */
    struct event *ev_write;
    struct pending *pending;
    uint64_t next_token;
    uint64_t nsubs;
    uint64_t dropped;
    struct herd_buf scratch;
    struct herd_buf event; /* the last message's SSE event */
    uint64_t event_seq;    /* whose */
    char wire[HERD_PUBSUB_MAX_WIRE];
} ev;

/* ---- to the master ---- */

static void
on_master_writable(evutil_socket_t fd, short what, void *arg)
{
    int rc;

    (void)fd;
    (void)what;
    (void)arg;
    rc = herd_chanq_flush(&ev.q, ev.w->chan);
    if (rc != HERD_AGAIN)
        event_del(ev.ev_write);
}

/* Send m to the master (queued behind what waits). HERD_OK or HERD_ERR
   (errno ENOTCONN without a master, ENOBUFS when the queue is full). */
static int
to_master(const struct herd_pubsub_msg *m)
{
    size_t n;

    if (ev.w == NULL || ev.w->chan < 0) {
        errno = ENOTCONN;
        return HERD_ERR;
    }
    n = herd_pubsub_encode(m, ev.wire, sizeof(ev.wire));
    if (n == 0) {
        errno = EINVAL;
        return HERD_ERR;
    }
    if (herd_chanq_send(&ev.q, ev.w->chan, HERD_MSG_PUBLISH, ev.wire, n) !=
        HERD_OK) {
        errno = ENOBUFS;
        return HERD_ERR;
    }
    if (herd_chanq_pending(&ev.q))
        event_add(ev.ev_write, NULL);
    return HERD_OK;
}

static int
to_master_channel(uint8_t kind, const struct herd_pubsub_channel *ch,
                  uint64_t seq, uint64_t token)
{
    struct herd_pubsub_msg m;

    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.channel = ch->name;
    m.channel_len = (uint16_t)ch->name_len;
    m.seq = seq;
    m.token = token;
    return to_master(&m);
}

/* ---- life cycle ---- */

int
herd_events_init(struct herd_worker *w, char *err, size_t errlen)
{
    memset(&ev, 0, sizeof(ev));
    ev.w = w;
    ev.next_token = 1;
    /* A local table: no history (the master keeps it). */
    if (herd_pubsub_table_init(&ev.chans, w->cfg->pubsub.max_channels, 0, 0,
                               (uint64_t)(uintptr_t)w ^ w->started_ms, err,
                               errlen) != HERD_OK)
        return HERD_ERR;
    ev.chans_ready = 1;
    if (w->chan >= 0) {
        ev.ev_write = event_new(w->base, w->chan, EV_WRITE | EV_PERSIST,
                                on_master_writable, NULL);
        if (ev.ev_write == NULL)
            return herd_errf(err, errlen, "out of memory");
    }
    return HERD_OK;
}

void
herd_events_free(void)
{
    struct herd_pubsub_channel *ch;

    if (ev.chans_ready) {
        for (ch = ev.chans.first; ch != NULL; ch = ch->next) {
            free(ch->user);
            ch->user = NULL;
        }
        herd_pubsub_table_free(&ev.chans);
    }
    if (ev.ev_write != NULL)
        event_free(ev.ev_write);
    herd_chanq_free(&ev.q);
    herd_buf_free(&ev.scratch);
    herd_buf_free(&ev.event);
    memset(&ev, 0, sizeof(ev));
}

void
herd_events_stats(uint64_t *subscribers, uint64_t *dropped)
{
    *subscribers = ev.nsubs;
    *dropped = ev.dropped;
}

/* ---- subscribers ---- */

static struct wchan *
wchan_get(const char *name, size_t len)
{
    struct herd_pubsub_channel *ch;
    struct wchan *wc;
    char err[HERD_ERR_LEN];

    ch = herd_pubsub_lookup(&ev.chans, name, len);
    if (ch != NULL)
        return ch->user;
    ch = herd_pubsub_create(&ev.chans, name, len, err, sizeof(err));
    if (ch == NULL) {
        herd_log_warn("events: channel %.*s: %s", (int)len, name, err);
        return NULL;
    }
    wc = calloc(1, sizeof(*wc));
    if (wc == NULL ||
        to_master_channel(HERD_PUBSUB_SUBSCRIBE, ch, 0, 0) != HERD_OK) {
        free(wc);
        herd_pubsub_remove(&ev.chans, ch);
        return NULL;
    }
    wc->ch = ch;
    ch->user = wc;
    return wc;
}

struct herd_events_sub *
herd_events_join(const char *channel, size_t len,
                 const struct herd_events_sink *sink, void *target, int replay,
                 uint64_t last_id, size_t max_pending)
{
    struct herd_events_sub *s = calloc(1, sizeof(*s));
    struct wchan *wc = s != NULL ? wchan_get(channel, len) : NULL;

    if (wc == NULL) {
        free(s);
        return NULL;
    }
    s->sink = sink;
    s->target = target;
    s->max_pending = max_pending;
    s->wc = wc;
    s->next = wc->subs;
    if (wc->subs != NULL)
        wc->subs->prev = s;
    wc->subs = s;
    wc->nsubs++;
    ev.nsubs++;
    if (replay) {
        /* What it missed first; live messages wait meanwhile. */
        s->replaying = 1;
        s->last_seq = last_id;
        s->token = ev.next_token++;
        if (to_master_channel(HERD_PUBSUB_REPLAY, wc->ch, last_id, s->token) !=
            HERD_OK)
            s->replaying = 0;
    }
    return s;
}

void
herd_events_leave(struct herd_events_sub *s)
{
    struct wchan *wc;

    if (s == NULL)
        return;
    wc = s->wc;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        wc->subs = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    ev.nsubs--;
    herd_buf_free(&s->held);
    free(s);
    if (--wc->nsubs > 0)
        return;
    /* The last local listener left: the master need not send it more. */
    to_master_channel(HERD_PUBSUB_UNSUBSCRIBE, wc->ch, 0, 0);
    wc->ch->user = NULL;
    herd_pubsub_remove(&ev.chans, wc->ch);
    free(wc);
}

/* s fell too far behind: its client is closed (and leaves). */
static void
sub_drop(struct herd_events_sub *s)
{
    ev.dropped++;
    herd_log_info("events: dropping a subscriber of %.*s that fell too far "
                  "behind",
                  (int)s->wc->ch->name_len, s->wc->ch->name);
    s->sink->drop(s->target);
}

/* Message seq to s, once (ids only grow). HERD_OK, or HERD_ERR when s is
   gone. */
static int
sub_message(struct herd_events_sub *s, uint64_t seq, const char *data,
            size_t len)
{
    int rc;

    if (seq <= s->last_seq)
        return HERD_OK;
    s->last_seq = seq;
    rc = s->sink->message(s->target, seq, data, len);
    if (rc == HERD_AGAIN) {
        sub_drop(s);
        return HERD_ERR;
    }
    return rc;
}

/* ---- SSE clients ---- */

static void
sse_free(struct sse_client *c)
{
    herd_events_leave(c->sub);
    event_del(&c->keepalive);
    free(c);
}

/* The client went away (or herd dropped it): forget it. */
static void
on_sse_cancel(struct herd_request *req, void *arg)
{
    (void)req;
    sse_free(arg);
}

/* Write bytes to the stream: HERD_OK, or HERD_AGAIN when the client is too
   far behind (or the stream failed): drop it. */
static int
sse_write(struct sse_client *c, const char *data, size_t len)
{
    if (herd_stream_write(c->req, data, len) == 0 &&
        herd_request_pending(c->req) <= c->cc->max_pending)
        return HERD_OK;
    return HERD_AGAIN;
}

static int
sse_message(void *target, uint64_t seq, const char *data, size_t len)
{
    struct sse_client *c = target;

    /* One message goes to every subscriber of the worker: render its
       event once. */
    if (ev.event_seq != seq || ev.event.len == 0) {
        ev.event.len = 0;
        ev.event_seq = 0;
        if (herd_sse_event(&ev.event, seq, NULL, data, len) != HERD_OK)
            return HERD_OK; /* NUL bytes: no event can carry them */
        ev.event_seq = seq;
    }
    return sse_write(c, ev.event.data, ev.event.len);
}

static int
sse_notice(void *target)
{
    static const char gap[] = ": some messages are no longer kept\n\n";

    return sse_write(target, gap, sizeof(gap) - 1);
}

static void
sse_drop(void *target)
{
    struct sse_client *c = target;

    herd_request_abort(c->req); /* cancels it: c is freed */
}

static void
sse_drain(void *target)
{
    struct sse_client *c = target;
    struct herd_request *req = c->req;

    herd_request_on_cancel(req, NULL, NULL);
    sse_free(c);
    herd_stream_end(req);
}

static const struct herd_events_sink sse_sink = {
    sse_message,
    sse_notice,
    sse_drop,
    sse_drain,
};

static void
on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    struct sse_client *c = arg;
    static const char line[] = ": keepalive\n\n";

    (void)fd;
    (void)what;
    if (sse_write(c, line, sizeof(line) - 1) != HERD_OK)
        sub_drop(c->sub);
}

/* The channel a request names: the route's, or its parameter's value. */
static const char *
request_channel(struct herd_request *req, const struct herd_channel_conf *cc)
{
    if (cc->channel[0] == ':')
        return herd_request_param(req, cc->channel + 1);
    return cc->channel;
}

/* GET: a stream of the channel's events from now (or from Last-Event-ID). */
static int
subscribe(struct herd_request *req, const struct herd_channel_conf *cc,
          const char *name)
{
    const char *last = herd_request_header(req, "Last-Event-ID");
    uint64_t last_id = 0;
    struct timeval tv;
    struct sse_client *c;

    if (last == NULL)
        last = herd_request_query(req, "lastEventId", NULL);
    if (last != NULL &&
        herd_sse_parse_last_event_id(last, strlen(last), &last_id) != HERD_OK) {
        herd_respond_json(req, 400,
                          "{\"error\":\"Last-Event-ID is not an id this "
                          "server sent\"}\n");
        return HERD_DONE;
    }
    if (herd_response_header(req, "Content-Type", "text/event-stream") != 0 ||
        herd_response_header(req, "Cache-Control", "no-cache") != 0 ||
        herd_response_header(req, "X-Accel-Buffering", "no") != 0 ||
        herd_stream_begin(req, 200) != 0)
        return HERD_DONE;
    if (herd_request_is_head(req)) {
        herd_stream_end(req);
        return HERD_DONE;
    }
    ev.scratch.len = 0;
    herd_sse_retry(&ev.scratch, (uint32_t)cc->retry_ms);
    herd_stream_write(req, ev.scratch.data, ev.scratch.len);
    c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->sub = herd_events_join(name, strlen(name), &sse_sink, c,
                                  last != NULL, last_id, cc->max_pending);
    if (c == NULL || c->sub == NULL) {
        free(c);
        herd_stream_end(req);
        return HERD_DONE;
    }
    c->req = req;
    c->cc = cc;
    event_assign(&c->keepalive, ev.w->base, -1, EV_PERSIST, on_keepalive, c);
    tv = herd_ms_tv(cc->keepalive_ms);
    event_add(&c->keepalive, &tv);
    herd_request_on_cancel(req, on_sse_cancel, c);
    return HERD_DEFER;
}

/* ---- publishing ---- */

static void
pending_unlink(struct pending *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        ev.pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
}

static void
on_pending_cancel(struct herd_request *req, void *arg)
{
    (void)req;
    pending_unlink(arg);
    free(arg);
}

/* Send a publish to the master; token 0: no answer wanted. */
static int
publish(const char *name, size_t nlen, const void *data, size_t len,
        uint64_t token)
{
    struct herd_pubsub_msg m;

    if (!herd_pubsub_channel_valid(name, nlen) ||
        (len > 0 && memchr(data, '\0', len) != NULL)) {
        errno = EINVAL;
        return HERD_ERR;
    }
    if (len > HERD_PUBSUB_MAX_DATA) {
        errno = EMSGSIZE;
        return HERD_ERR;
    }
    memset(&m, 0, sizeof(m));
    m.kind = HERD_PUBSUB_PUBLISH;
    m.channel = name;
    m.channel_len = (uint16_t)nlen;
    m.token = token;
    m.data = data;
    m.len = (uint32_t)len;
    return to_master(&m);
}

int
herd_publish_channel(const char *channel, size_t clen, const void *data,
                     size_t len)
{
    return publish(channel, clen, data, len, 0);
}

int
herd_publish(const char *channel, const void *data, size_t len)
{
    if (channel == NULL || (data == NULL && len > 0)) {
        errno = EINVAL;
        return -1;
    }
    return publish(channel, strlen(channel), data, len, 0) == HERD_OK ? 0 : -1;
}

/* POST: the body is the message; 202 with its id once the master has it. */
static int
post(struct herd_request *req, const struct herd_channel_conf *cc,
     const char *name)
{
    const struct herd_ident *id = herd_request_ident(req);
    struct pending *p;
    const void *body;
    size_t len;

    if (!herd_cidr_match_list(cc->publish_from, cc->npublish_from,
                              (const struct sockaddr *)&id->client.addr)) {
        herd_respond_json(req, 403,
                          "{\"error\":\"publishing is not allowed from "
                          "this address (events.publish_from)\"}\n");
        return HERD_DONE;
    }
    body = herd_request_body(req, &len);
    if (len > HERD_PUBSUB_MAX_DATA) {
        herd_respond_json(req, 413,
                          "{\"error\":\"a message is at most 61440 "
                          "bytes\"}\n");
        return HERD_DONE;
    }
    if (memchr(body, '\0', len) != NULL) {
        herd_respond_json(req, 400,
                          "{\"error\":\"a message cannot hold NUL "
                          "bytes\"}\n");
        return HERD_DONE;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        herd_respond_json(req, 503, "{\"error\":\"out of memory\"}\n");
        return HERD_DONE;
    }
    p->req = req;
    p->token = ev.next_token++;
    if (publish(name, strlen(name), body, len, p->token) != HERD_OK) {
        free(p);
        herd_respond_json(req, 503,
                          "{\"error\":\"the master is not taking messages "
                          "now\"}\n");
        return HERD_DONE;
    }
    p->next = ev.pending;
    if (ev.pending != NULL)
        ev.pending->prev = p;
    ev.pending = p;
    herd_request_on_cancel(req, on_pending_cancel, p);
    return HERD_DEFER;
}

int
herd_events_handle(struct herd_request *req)
{
    const struct herd_channel_conf *cc = &herd_request_route(req)->u.channel;
    const char *name = request_channel(req, cc);

    if (name == NULL || !herd_pubsub_channel_valid(name, strlen(name))) {
        herd_respond_json(req, 400,
                          "{\"error\":\"invalid channel name (1 to 200 of "
                          "A-Z a-z 0-9 . _ : -)\"}\n");
        return HERD_DONE;
    }
    if (strcmp(herd_request_method(req), "POST") == 0)
        return post(req, cc, name);
    return subscribe(req, cc, name);
}

/* ---- from the master ---- */

static void
deliver(const struct herd_pubsub_msg *m)
{
    struct herd_pubsub_channel *ch =
        herd_pubsub_lookup(&ev.chans, m->channel, m->channel_len);
    struct wchan *wc = ch != NULL ? ch->user : NULL;
    struct herd_events_sub *s, *next;
    uint32_t n = m->len;

    if (wc == NULL)
        return; /* unsubscribed meanwhile */
    for (s = wc->subs; s != NULL; s = next) {
        /* s may leave (dropped); when it was the last, wc goes too, and
           next is NULL then. */
        next = s->next;
        if (!s->replaying) {
            sub_message(s, m->seq, m->data, m->len);
            continue;
        }
        if (herd_buf_append(&s->held, &m->seq, 8) != HERD_OK ||
            herd_buf_append(&s->held, &n, 4) != HERD_OK ||
            herd_buf_append(&s->held, m->data, m->len) != HERD_OK ||
            s->held.len > s->max_pending)
            sub_drop(s);
    }
}

static struct herd_events_sub *
replaying_sub(const struct herd_pubsub_msg *m)
{
    struct herd_pubsub_channel *ch =
        herd_pubsub_lookup(&ev.chans, m->channel, m->channel_len);
    struct wchan *wc = ch != NULL ? ch->user : NULL;
    struct herd_events_sub *s;

    for (s = wc != NULL ? wc->subs : NULL; s != NULL; s = s->next)
        if (s->replaying && s->token == m->token)
            return s;
    return NULL;
}

/* The history said some messages are gone: tell the client first. */
static void
replay_missed(struct herd_events_sub *s)
{
    int rc = s->sink->notice(s->target);

    if (rc == HERD_AGAIN)
        sub_drop(s);
}

/* The replay is over (newest: the channel's newest id): what was held
   meanwhile follows. */
static void
replay_end(struct herd_events_sub *s, uint64_t newest)
{
    struct herd_buf held = s->held;
    size_t off = 0;
    uint64_t seq;
    uint32_t n;

    s->replaying = 0;
    memset(&s->held, 0, sizeof(s->held));
    /* An id above anything the channel sent (a made-up one, or from
       another master's clock) would mute the stream: go on from now. */
    if (s->last_seq > newest)
        s->last_seq = newest;
    while (off + 12 <= held.len) {
        memcpy(&seq, held.data + off, 8);
        memcpy(&n, held.data + off + 8, 4);
        if (sub_message(s, seq, held.data + off + 12, n) != HERD_OK)
            goto done; /* dropped: s is gone */
        off += 12 + n;
    }
done:
    herd_buf_free(&held);
}

static void
published(const struct herd_pubsub_msg *m)
{
    struct pending *p;
    char body[256];

    for (p = ev.pending; p != NULL && p->token != m->token; p = p->next)
        ;
    if (p == NULL)
        return; /* its client left */
    pending_unlink(p);
    if (m->seq == UINT64_MAX) /* Redis took it: its id comes later */
        snprintf(body, sizeof(body), "{\"id\":null}\n");
    else if (m->seq != 0)
        snprintf(body, sizeof(body), "{\"id\":\"%llu\"}\n",
                 (unsigned long long)m->seq);
    else
        snprintf(body, sizeof(body), "{\"error\":\"%.*s\"}\n", (int)m->len,
                 m->data);
    herd_respond_json(p->req, m->seq != 0 ? 202 : 503, body);
    free(p);
}

void
herd_events_input(const char *payload, size_t len)
{
    struct herd_pubsub_msg m;
    struct herd_events_sub *s;

    if (herd_pubsub_decode(payload, len, &m) != HERD_OK) {
        herd_log_warn("events: malformed message from the master");
        return;
    }
    switch (m.kind) {
    case HERD_PUBSUB_DELIVER:
        deliver(&m);
        break;
    case HERD_PUBSUB_REPLAYED:
        if ((s = replaying_sub(&m)) != NULL)
            sub_message(s, m.seq, m.data, m.len);
        break;
    case HERD_PUBSUB_REPLAY_MISSED:
        if ((s = replaying_sub(&m)) != NULL)
            replay_missed(s);
        break;
    case HERD_PUBSUB_REPLAY_END:
        if ((s = replaying_sub(&m)) != NULL)
            replay_end(s, m.seq);
        break;
    case HERD_PUBSUB_PUBLISHED:
        published(&m);
        break;
    default:
        herd_log_warn("events: the master sent a message of kind %u",
                      (unsigned)m.kind);
        break;
    }
}

void
herd_events_drain(void)
{
    struct herd_pubsub_channel *ch, *chnext;
    struct wchan *wc;

    if (!ev.chans_ready)
        return;
    /* Each subscription ends: SSE streams (whose clients got a retry:
       hint and reconnect with Last-Event-ID), WebSocket clients with
       1001. A client leaves its channel as it ends; the channel goes
       with its last one. */
    for (ch = ev.chans.first; ch != NULL; ch = chnext) {
        chnext = ch->next;
        wc = ch->user;
        while (wc != NULL && wc->subs != NULL) {
            int last = wc->nsubs == 1;

            wc->subs->sink->drain(wc->subs->target);
            if (last)
                break;
        }
    }
}
