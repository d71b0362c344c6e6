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
#include "util.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#include <hiredis/adapters/libevent.h>
#pragma GCC diagnostic pop

/* Reconnecting to Redis: the wait doubles from the first to the last. */
#define REDIS_RETRY_FIRST_MS 100
#define REDIS_RETRY_MAX_MS   5000

/* A publish's id, when Redis took it: known only when it comes back. */
#define SEQ_UNKNOWN UINT64_MAX

struct redis_link;

static void redis_subscribe(struct redis_link *k,
                            const struct herd_pubsub_channel *ch, int on);
static void redis_publish(struct herd_relay *r, struct herd_relay_peer *p,
                          const struct herd_pubsub_msg *m);
static struct redis_link *redis_new(struct herd_relay *r,
                                    const struct herd_config *cfg, char *err,
                                    size_t errlen);
static void redis_free(struct redis_link *k);

/* The workers listening on one channel (the channel's user data). */
struct listeners {
    struct herd_relay_peer **peers;
    size_t n, cap;
};

struct herd_relay {
    struct event_base *base;
    struct herd_pubsub_table table;
    struct redis_link *redis;      /* pubsub.backend redis; else NULL */
    struct herd_relay_peer *peers; /* attached, for Redis's late answers */
    uint64_t next_peer_id;
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
    if (cfg->pubsub.backend == HERD_PUBSUB_REDIS) {
        err[0] = '\0';
        r->redis = redis_new(r, cfg, err, errlen);
        if (r->redis == NULL) {
            herd_pubsub_table_free(&r->table);
            free(r);
            return NULL;
        }
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
    redis_free(r->redis);
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
    p->id = ++r->next_peer_id;
    p->next = r->peers;
    if (r->peers != NULL)
        r->peers->prev = p;
    r->peers = p;
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
    if (ch->subscribers > 0 && --ch->subscribers == 0)
        redis_subscribe(p->relay->redis, ch, 0);
}

void
herd_relay_detach(struct herd_relay_peer *p)
{
    if (p->relay == NULL)
        return;
    while (p->nsubs > 0)
        unlisten(p, p->subs[p->nsubs - 1]);
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        p->relay->peers = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
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

/* The table is full: forget the oldest channel that nobody listens on
   and that keeps no message (what a subscriber who left leaves behind;
   channels with a history count against pubsub.max_channels). 1 when
   one was forgotten. */
static int
evict_idle(struct herd_relay *r)
{
    struct herd_pubsub_channel *ch, *oldest = NULL;

    for (ch = r->table.first; ch != NULL; ch = ch->next)
        if (ch->subscribers == 0 && ch->ring.count == 0)
            oldest = ch; /* the list is newest first */
    if (oldest == NULL)
        return 0;
    listeners_free(oldest);
    herd_pubsub_remove(&r->table, oldest);
    return 1;
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
    if (ch == NULL && evict_idle(r))
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
    if (ch->subscribers++ == 0)
        redis_subscribe(p->relay->redis, ch, 1);
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

/* Give a message its id, keep it in the channel's history and send it
   to every listening worker. NULL, or why it could not be done. */
static const char *
fan_out(struct herd_relay *r, const char *name, size_t nlen, const char *data,
        size_t len, uint64_t *seq)
{
    struct herd_pubsub_msg m, out;
    struct herd_pubsub_channel *ch;
    struct listeners *l;
    size_t i, n;

    memset(&m, 0, sizeof(m));
    m.channel = name;
    m.channel_len = (uint16_t)nlen;
    ch = channel_get(r, &m);
    if (ch == NULL)
        return "too many channels (pubsub.max_channels)";
    if (herd_pubsub_publish(ch, data, len, seq) != HERD_OK)
        return "out of memory";
    r->published++;
    memset(&out, 0, sizeof(out));
    out.kind = HERD_PUBSUB_DELIVER;
    out.channel = name;
    out.channel_len = (uint16_t)nlen;
    out.seq = *seq;
    out.data = data;
    out.len = (uint32_t)len;
    n = herd_pubsub_encode(&out, r->out, sizeof(r->out));
    l = ch->user;
    for (i = 0; n > 0 && l != NULL && i < l->n; i++)
        peer_send(l->peers[i], n);
    return NULL;
}

/* Answer a PUBLISH that asked (token): its id, or why it failed. */
static void
published(struct herd_relay_peer *p, const char *name, size_t nlen,
          uint64_t token, uint64_t seq, const char *why)
{
    struct herd_pubsub_msg out;

    if (token == 0 || p == NULL)
        return;
    memset(&out, 0, sizeof(out));
    out.kind = HERD_PUBSUB_PUBLISHED;
    out.channel = name;
    out.channel_len = (uint16_t)nlen;
    out.seq = why == NULL ? seq : 0;
    out.token = token;
    out.data = why;
    out.len = why != NULL ? (uint32_t)strlen(why) : 0;
    send_msg(p, &out);
}

/* ---- Redis (pubsub.backend: redis) ---- */

struct redis_link {
    struct herd_relay *r;
    char host[256];
    int port; /* 0: host is a unix socket path */
    char prefix[64];
    size_t prefix_len;
    redisAsyncContext *pub; /* PUBLISH */
    redisAsyncContext *sub; /* SUBSCRIBE: a connection in subscribe mode */
    int pub_up, sub_up;
    struct event *retry;
    uint64_t backoff_ms;
    uint64_t errors;
    int down_logged;
    int closing;
};

/* A PUBLISH waiting for Redis's reply. */
struct redis_pending {
    uint64_t peer_id;
    uint64_t token;
    size_t nlen;
    char name[HERD_PUBSUB_MAX_CHANNEL];
};

static struct herd_relay_peer *
peer_by_id(struct herd_relay *r, uint64_t id)
{
    struct herd_relay_peer *p;

    for (p = r->peers; p != NULL; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

static void redis_connect(struct redis_link *k);

static void
redis_retry_later(struct redis_link *k)
{
    struct timeval tv;

    if (k->closing || evtimer_pending(k->retry, NULL))
        return;
    k->backoff_ms = k->backoff_ms == 0 ? REDIS_RETRY_FIRST_MS
                    : k->backoff_ms * 2 > REDIS_RETRY_MAX_MS
                        ? REDIS_RETRY_MAX_MS
                        : k->backoff_ms * 2;
    tv = herd_ms_tv(k->backoff_ms);
    evtimer_add(k->retry, &tv);
}

static void
redis_down(struct redis_link *k, const char *why)
{
    if (!k->down_logged && !k->closing)
        herd_log_error("pubsub: redis %s%s%d: %s; publishes are refused "
                       "until it is back",
                       k->host, k->port ? ":" : "", k->port, why);
    k->down_logged = 1;
    redis_retry_later(k);
}

/* A message from a channel this master subscribed to at Redis. */
static void
on_redis_message(redisAsyncContext *ac, void *reply, void *arg)
{
    struct redis_link *k = ac->data;
    redisReply *rr = reply, *ch, *data;
    uint64_t seq;
    const char *why;

    (void)arg;
    if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || rr->elements != 3)
        return;
    if (rr->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(rr->element[0]->str, "message") != 0)
        return; /* subscribe and unsubscribe confirmations */
    ch = rr->element[1];
    data = rr->element[2];
    if (ch->type != REDIS_REPLY_STRING || data->type != REDIS_REPLY_STRING ||
        ch->len <= k->prefix_len ||
        memcmp(ch->str, k->prefix, k->prefix_len) != 0 ||
        !herd_pubsub_channel_valid(ch->str + k->prefix_len,
                                   ch->len - k->prefix_len) ||
        data->len > HERD_PUBSUB_MAX_DATA)
        return;
    why = fan_out(k->r, ch->str + k->prefix_len, ch->len - k->prefix_len,
                  data->str, data->len, &seq);
    if (why != NULL)
        herd_log_warn("pubsub: a message from redis on %.*s: %s",
                      (int)(ch->len - k->prefix_len), ch->str + k->prefix_len,
                      why);
}

static void
redis_subscribe(struct redis_link *k, const struct herd_pubsub_channel *ch,
                int on)
{
    if (k == NULL || !k->sub_up)
        return; /* (re)subscribed when the connection comes up */
    if (on)
        redisAsyncCommand(k->sub, on_redis_message, NULL, "SUBSCRIBE %b%b",
                          k->prefix, k->prefix_len, ch->name, ch->name_len);
    else
        redisAsyncCommand(k->sub, NULL, NULL, "UNSUBSCRIBE %b%b", k->prefix,
                          k->prefix_len, ch->name, ch->name_len);
}

static void
on_redis_connect(const redisAsyncContext *ac, int status)
{
    struct redis_link *k = ac->data;
    struct herd_pubsub_channel *ch;

    if (status != REDIS_OK) {
        if (ac == k->pub)
            k->pub = NULL;
        else
            k->sub = NULL;
        redis_down(k, ac->errstr);
        return;
    }
    if (ac == k->pub)
        k->pub_up = 1;
    else
        k->sub_up = 1;
    if (ac == k->sub)
        for (ch = k->r->table.first; ch != NULL; ch = ch->next)
            if (ch->subscribers > 0)
                redis_subscribe(k, ch, 1);
    if (k->pub_up && k->sub_up) {
        herd_log_info("pubsub: connected to redis %s%s%d", k->host,
                      k->port ? ":" : "", k->port);
        k->down_logged = 0;
        k->backoff_ms = 0;
    }
}

static void
on_redis_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_link *k = ac->data;

    if (ac == k->pub) {
        k->pub = NULL;
        k->pub_up = 0;
    } else {
        k->sub = NULL;
        k->sub_up = 0;
    }
    if (!k->closing)
        redis_down(k, status == REDIS_OK ? "disconnected" : ac->errstr);
}

static redisAsyncContext *
redis_open(struct redis_link *k)
{
    redisAsyncContext *ac = k->port ? redisAsyncConnect(k->host, k->port)
                                    : redisAsyncConnectUnix(k->host);

    if (ac == NULL)
        return NULL;
    if (ac->err) {
        redis_down(k, ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = k;
    if (redisLibeventAttach(ac, k->r->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_redis_connect);
    redisAsyncSetDisconnectCallback(ac, on_redis_disconnect);
    return ac;
}

static void
redis_connect(struct redis_link *k)
{
    if (k->pub == NULL)
        k->pub = redis_open(k);
    if (k->sub == NULL)
        k->sub = redis_open(k);
    if (k->pub == NULL || k->sub == NULL)
        redis_retry_later(k);
}

static void
on_redis_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redis_connect(arg);
}

/* "host:port", "[v6]:port" or "/unix/path". */
static int
redis_address(struct redis_link *k, const char *a, char *err, size_t errlen)
{
    const char *colon = strrchr(a, ':');
    char *end;
    long port;
    size_t hlen;

    if (a[0] == '/') {
        if (strlen(a) >= sizeof(k->host))
            return herd_errf(err, errlen, "pubsub.address: path too long");
        snprintf(k->host, sizeof(k->host), "%s", a);
        k->port = 0;
        return HERD_OK;
    }
    if (colon == NULL || colon == a)
        return herd_errf(err, errlen, "pubsub.address: \"%s\" is not host:port",
                         a);
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535)
        return herd_errf(err, errlen, "pubsub.address: bad port in \"%s\"", a);
    hlen = (size_t)(colon - a);
    if (a[0] == '[' && hlen >= 2 && a[hlen - 1] == ']') {
        a++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof(k->host))
        return herd_errf(err, errlen, "pubsub.address: bad host in \"%s\"", a);
    memcpy(k->host, a, hlen);
    k->host[hlen] = '\0';
    k->port = (int)port;
    return HERD_OK;
}

static struct redis_link *
redis_new(struct herd_relay *r, const struct herd_config *cfg, char *err,
          size_t errlen)
{
    struct redis_link *k = calloc(1, sizeof(*k));

    if (k == NULL) {
        herd_errf(err, errlen, "out of memory");
        return NULL;
    }
    k->r = r;
    if (redis_address(k, cfg->pubsub.address, err, errlen) != HERD_OK ||
        strlen(cfg->pubsub.prefix) >= sizeof(k->prefix)) {
        if (err[0] == '\0')
            herd_errf(err, errlen, "pubsub.prefix: too long");
        free(k);
        return NULL;
    }
    snprintf(k->prefix, sizeof(k->prefix), "%s", cfg->pubsub.prefix);
    k->prefix_len = strlen(k->prefix);
    k->retry = evtimer_new(r->base, on_redis_retry, k);
    if (k->retry == NULL) {
        free(k);
        herd_errf(err, errlen, "out of memory");
        return NULL;
    }
    redis_connect(k);
    return k;
}

static void
redis_free(struct redis_link *k)
{
    if (k == NULL)
        return;
    k->closing = 1;
    if (k->pub != NULL)
        redisAsyncFree(k->pub);
    if (k->sub != NULL)
        redisAsyncFree(k->sub);
    event_free(k->retry);
    free(k);
}

static void
on_redis_published(redisAsyncContext *ac, void *reply, void *arg)
{
    struct redis_link *k = ac->data;
    struct redis_pending *rp = arg;
    redisReply *rr = reply;
    const char *why = NULL;

    if (rr == NULL)
        why = "redis went away before it answered";
    else if (rr->type == REDIS_REPLY_ERROR)
        why = "redis refused the message";
    if (why != NULL) {
        k->errors++;
        herd_log_error("pubsub: publish on %.*s: %s%s%s", (int)rp->nlen,
                       rp->name, why, rr != NULL ? ": " : "",
                       rr != NULL ? rr->str : "");
    }
    if (!k->closing)
        published(peer_by_id(k->r, rp->peer_id), rp->name, rp->nlen, rp->token,
                  SEQ_UNKNOWN, why);
    free(rp);
}

static void
redis_publish(struct herd_relay *r, struct herd_relay_peer *p,
              const struct herd_pubsub_msg *m)
{
    struct redis_link *k = r->redis;
    struct redis_pending *rp;

    if (!k->pub_up) {
        k->errors++;
        herd_log_error("pubsub: publish on %.*s refused: redis is not "
                       "connected",
                       (int)m->channel_len, m->channel);
        published(p, m->channel, m->channel_len, m->token, 0,
                  "redis is not connected");
        return;
    }
    rp = calloc(1, sizeof(*rp));
    if (rp == NULL) {
        published(p, m->channel, m->channel_len, m->token, 0, "out of memory");
        return;
    }
    rp->peer_id = p->id;
    rp->token = m->token;
    rp->nlen = m->channel_len;
    memcpy(rp->name, m->channel, m->channel_len);
    if (redisAsyncCommand(k->pub, on_redis_published, rp, "PUBLISH %b%b %b",
                          k->prefix, k->prefix_len, m->channel,
                          (size_t)m->channel_len, m->data,
                          (size_t)m->len) != REDIS_OK) {
        free(rp);
        k->errors++;
        published(p, m->channel, m->channel_len, m->token, 0,
                  "redis is not connected");
    }
}

static void
publish(struct herd_relay_peer *p, const struct herd_pubsub_msg *m)
{
    struct herd_relay *r = p->relay;
    const char *why;
    uint64_t seq = 0;

    if (r->redis != NULL) {
        redis_publish(r, p, m);
        return;
    }
    why = fan_out(r, m->channel, m->channel_len, m->data, m->len, &seq);
    published(p, m->channel, m->channel_len, m->token, seq, why);
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
    struct herd_pubsub_msg out;

    memset(&out, 0, sizeof(out));
    out.channel = m->channel;
    out.channel_len = m->channel_len;
    out.token = m->token;
    /* A gap (or an id this channel never had: from before a restart, or
       made up) is said first, then what is kept, then where it ends. */
    if (ch != NULL ? herd_ring_gap(&ch->ring, m->seq) : m->seq > 0) {
        out.kind = HERD_PUBSUB_REPLAY_MISSED;
        send_msg(p, &out);
    }
    if (ch != NULL)
        herd_ring_since(&ch->ring, m->seq, replay_one, &rp);
    out.kind = HERD_PUBSUB_REPLAY_END;
    out.seq = ch != NULL ? ch->ring.last_seq : 0; /* the newest id */
    send_msg(p, &out);
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
    s->redis_up = -1;
    if (r->redis != NULL) {
        s->redis_errors = r->redis->errors;
        s->redis_up = r->redis->pub_up && r->redis->sub_up;
    }
}
