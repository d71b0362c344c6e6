/* relay.c: the master's side of pub/sub: channels, history, subscribers. */

/*
 * Workers talk to the relay through their channel to the master: a
 * HERD_MSG_PUBLISH frame carries any pub/sub message from a worker, a
 * HERD_MSG_DELIVER frame any message to one (pubsub.h has the kinds). A
 * worker subscribes to a channel once, however many of its clients
 * listen on it, so a publish costs one message per listening worker. What
 * a worker's socket does not take waits in its queue (bounded): messages
 * are never dropped silently, and one that cannot be queued is logged and
 * counted.
 */
#include "relay.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

#include "log.h"
#include "pubsub.h"

/* The workers listening on one channel (the channel's user data). */
struct listeners {
    struct herd_relay_peer **peers;
    size_t n, cap;
};

struct herd_relay {
    struct event_base *base;
    struct herd_pubsub_table table;
    uint64_t published;
    uint64_t overflows;
    char out[HERD_PUBSUB_MAX_WIRE]; /* one encoded message */
};

struct herd_relay *
herd_relay_new(struct event_base *base, const struct herd_config *cfg,
               char *err, size_t errlen)
{
    struct herd_relay *r = calloc(1, sizeof(*r));
    uint64_t seed = 0;

    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->base = base;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint64_t)(uintptr_t)r ^ (uint64_t)time(NULL);
    if (herd_pubsub_table_init(&r->table, cfg->pubsub.max_channels,
                               cfg->pubsub.history, cfg->pubsub.history_size,
                               seed, err, errlen) != HERD_OK) {
        free(r);
        return NULL;
    }
    return r;
}

static void
listeners_free(struct herd_pubsub_channel *ch)
{
    struct listeners *l = ch->user;

    if (l != NULL) {
        free(l->peers);
        free(l);
        ch->user = NULL;
    }
}

void
herd_relay_free(struct herd_relay *r)
{
    struct herd_pubsub_channel *ch;

    if (r == NULL)
        return;
    for (ch = r->table.first; ch != NULL; ch = ch->next)
        listeners_free(ch);
    herd_pubsub_table_free(&r->table);
    free(r);
}

/* ---- sending ---- */

static void on_peer_writable(evutil_socket_t fd, short what, void *arg);

/* Send (or queue) the message in r->out, n bytes, to p. */
static void
peer_send(struct herd_relay_peer *p, size_t n)
{
    struct herd_relay *r = p->relay;

    if (p->fd < 0)
        return;
    if (herd_chanq_send(&p->q, p->fd, HERD_MSG_DELIVER, r->out, n) != HERD_OK) {
        r->overflows++;
        if (!p->overflowed)
            herd_log_error("pubsub: a worker's queue is full (%zu bytes "
                           "waiting): messages to it are dropped",
                           p->q.len - p->q.off);
        p->overflowed = 1;
        return;
    }
    if (herd_chanq_pending(&p->q) && p->ev_write != NULL)
        event_add(p->ev_write, NULL);
}

static void
on_peer_writable(evutil_socket_t fd, short what, void *arg)
{
    struct herd_relay_peer *p = arg;
    int rc;

    (void)fd;
    (void)what;
    rc = herd_chanq_flush(&p->q, p->fd);
    if (rc == HERD_AGAIN)
        return;
    event_del(p->ev_write);
    if (rc == HERD_OK)
        p->overflowed = 0;
}

/* Encode m into r->out and send it to p. */
static void
send_msg(struct herd_relay_peer *p, const struct herd_pubsub_msg *m)
{
    size_t n = herd_pubsub_encode(m, p->relay->out, sizeof(p->relay->out));

    if (n == 0) {
        herd_log_error("pubsub: cannot encode a message of kind %u",
                       (unsigned)m->kind);
        return;
    }
    peer_send(p, n);
}

/* ---- peers ---- */

int
herd_relay_attach(struct herd_relay *r, struct herd_relay_peer *p, int fd)
{
    memset(p, 0, sizeof(*p));
    p->relay = r;
    p->fd = fd;
    p->ev_write =
        event_new(r->base, fd, EV_WRITE | EV_PERSIST, on_peer_writable, p);
    return p->ev_write != NULL ? HERD_OK : HERD_ERR;
}

static void
unlisten(struct herd_relay_peer *p, struct herd_pubsub_channel *ch)
{
    struct listeners *l = ch->user;
    size_t i;

    for (i = 0; l != NULL && i < l->n; i++) {
        if (l->peers[i] == p) {
            l->peers[i] = l->peers[--l->n];
            break;
        }
    }
    for (i = 0; i < p->nsubs; i++) {
        if (p->subs[i] == ch) {
            p->subs[i] = p->subs[--p->nsubs];
            break;
        }
    }
    if (ch->subscribers > 0)
        ch->subscribers--;
}

void
herd_relay_detach(struct herd_relay_peer *p)
{
    if (p->relay == NULL)
        return;
    while (p->nsubs > 0)
        unlisten(p, p->subs[p->nsubs - 1]);
    free(p->subs);
    if (p->ev_write != NULL)
        event_free(p->ev_write);
    herd_chanq_free(&p->q);
    memset(p, 0, sizeof(*p));
    p->fd = -1;
}

/* Grow an array of pointers by one slot. */
static int
grow(void *arrp, size_t n, size_t *cap)
{
    void **arr = *(void ***)arrp, **na;
    size_t ncap;

    if (n < *cap)
        return HERD_OK;
    ncap = *cap ? *cap * 2 : 4;
    na = realloc(arr, ncap * sizeof(*na));
    if (na == NULL)
        return HERD_ERR;
    *(void ***)arrp = na;
    *cap = ncap;
    return HERD_OK;
}

static struct herd_pubsub_channel *
channel_get(struct herd_relay *r, const struct herd_pubsub_msg *m)
{
    struct herd_pubsub_channel *ch;
    char err[HERD_ERR_LEN];
    struct timeval tv;

    ch = herd_pubsub_lookup(&r->table, m->channel, m->channel_len);
    if (ch != NULL)
        return ch;
    ch = herd_pubsub_create(&r->table, m->channel, m->channel_len, err,
                            sizeof(err));
    if (ch == NULL) {
        herd_log_warn("pubsub: channel %.*s: %s", (int)m->channel_len,
                      m->channel, err);
        return NULL;
    }
    /* Ids keep growing across restarts: a client's Last-Event-ID from an
       earlier master never looks newer than what this one sends. */
    gettimeofday(&tv, NULL);
    ch->next_seq = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
    return ch;
}

static void
subscribe(struct herd_relay_peer *p, const struct herd_pubsub_msg *m)
{
    struct herd_pubsub_channel *ch = channel_get(p->relay, m);
    struct listeners *l;
    size_t i;

    if (ch == NULL)
        return;
    for (i = 0; i < p->nsubs; i++)
        if (p->subs[i] == ch)
            return; /* already */
    l = ch->user;
    if (l == NULL && (l = ch->user = calloc(1, sizeof(*l))) == NULL)
        goto oom;
    if (grow(&l->peers, l->n, &l->cap) != HERD_OK ||
        grow(&p->subs, p->nsubs, &p->subcap) != HERD_OK)
        goto oom;
    l->peers[l->n++] = p;
    p->subs[p->nsubs++] = ch;
    ch->subscribers++;
    return;
oom:
    herd_log_error("pubsub: out of memory subscribing to %.*s",
                   (int)m->channel_len, m->channel);
}

static void
unsubscribe(struct herd_relay_peer *p, const struct herd_pubsub_msg *m)
{
    struct herd_pubsub_channel *ch =
        herd_pubsub_lookup(&p->relay->table, m->channel, m->channel_len);

    if (ch != NULL)
        unlisten(p, ch);
}

static void
publish(struct herd_relay_peer *p, const struct herd_pubsub_msg *m)
{
    struct herd_relay *r = p->relay;
    struct herd_pubsub_channel *ch = channel_get(r, m);
    struct herd_pubsub_msg out;
    struct listeners *l;
    const char *why = NULL;
    uint64_t seq = 0;
    size_t i, n;

    if (ch == NULL)
        why = "too many channels (pubsub.max_channels)";
    else if (herd_pubsub_publish(ch, m->data, m->len, &seq) != HERD_OK)
        why = "out of memory";
    if (why == NULL) {
        r->published++;
        memset(&out, 0, sizeof(out));
        out.kind = HERD_PUBSUB_DELIVER;
        out.channel = m->channel;
        out.channel_len = m->channel_len;
        out.seq = seq;
        out.data = m->data;
        out.len = m->len;
        n = herd_pubsub_encode(&out, r->out, sizeof(r->out));
        l = ch->user;
        for (i = 0; n > 0 && l != NULL && i < l->n; i++)
            peer_send(l->peers[i], n);
    }
    if (m->token == 0)
        return;
    memset(&out, 0, sizeof(out));
    out.kind = HERD_PUBSUB_PUBLISHED;
    out.channel = m->channel;
    out.channel_len = m->channel_len;
    out.seq = seq;
    out.token = m->token;
    out.data = why;
    out.len = why != NULL ? (uint32_t)strlen(why) : 0;
    send_msg(p, &out);
}

struct replay {
    struct herd_relay_peer *p;
    const struct herd_pubsub_msg *m;
};

static int
replay_one(void *arg, uint64_t seq, const char *data, size_t len)
{
    struct replay *rp = arg;
    struct herd_pubsub_msg out;

    memset(&out, 0, sizeof(out));
    out.kind = HERD_PUBSUB_REPLAYED;
    out.channel = rp->m->channel;
    out.channel_len = rp->m->channel_len;
    out.seq = seq;
    out.token = rp->m->token;
    out.data = data;
    out.len = (uint32_t)len;
    send_msg(rp->p, &out);
    return 0;
}

static void
replay(struct herd_relay_peer *p, const struct herd_pubsub_msg *m)
{
    struct herd_pubsub_channel *ch =
        herd_pubsub_lookup(&p->relay->table, m->channel, m->channel_len);
    struct replay rp = {p, m};
    struct herd_pubsub_msg end;
    int missed = 0;

    if (ch != NULL)
        missed =
            herd_ring_since(&ch->ring, m->seq, replay_one, &rp) == HERD_AGAIN;
    else
        missed = m->seq > 0; /* a history this master never had */
    memset(&end, 0, sizeof(end));
    end.kind = HERD_PUBSUB_REPLAY_END;
    end.channel = m->channel;
    end.channel_len = m->channel_len;
    end.seq = missed ? 1 : 0;
    end.token = m->token;
    send_msg(p, &end);
}

void
herd_relay_input(struct herd_relay_peer *p, const char *payload, size_t len)
{
    struct herd_pubsub_msg m;

    if (p->relay == NULL)
        return;
    if (herd_pubsub_decode(payload, len, &m) != HERD_OK) {
        herd_log_warn("pubsub: malformed message from a worker (%zu bytes)",
                      len);
        return;
    }
    switch (m.kind) {
    case HERD_PUBSUB_PUBLISH:
        publish(p, &m);
        break;
    case HERD_PUBSUB_SUBSCRIBE:
        subscribe(p, &m);
        break;
    case HERD_PUBSUB_UNSUBSCRIBE:
        unsubscribe(p, &m);
        break;
    case HERD_PUBSUB_REPLAY:
        replay(p, &m);
        break;
    default:
        herd_log_warn("pubsub: a worker sent a message of kind %u",
                      (unsigned)m.kind);
        break;
    }
}

void
herd_relay_stats(const struct herd_relay *r, struct herd_relay_stats *s)
{
    memset(s, 0, sizeof(*s));
    if (r == NULL)
        return;
    s->channels = r->table.count;
    s->published = r->published;
    s->overflows = r->overflows;
}
