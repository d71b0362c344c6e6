/* pubsub_ring.c: pub/sub channels: names, message history, table, codec. */
#include "pubsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "util.h"

_Static_assert(HERD_PUBSUB_MAX_WIRE <= HERD_CHANNEL_MAX_PAYLOAD,
               "a pub/sub message must fit a channel frame");
_Static_assert(HERD_PUBSUB_MAX_CHANNEL <= UINT16_MAX, "channel_len is u16");

int
herd_pubsub_channel_valid(const char *name, size_t len)
{
    size_t i;
    char c;

    if (name == NULL || len == 0 || len > HERD_PUBSUB_MAX_CHANNEL)
        return 0;
    for (i = 0; i < len; i++) {
        c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* ---- ring -----------------------------------------------------------------
 */

int
herd_ring_init(struct herd_ring *r, size_t capacity, size_t max_bytes)
{
    memset(r, 0, sizeof(*r));
    if (capacity > 0 && max_bytes > 0) {
        r->slots = calloc(capacity, sizeof(*r->slots));
        if (r->slots == NULL)
            return HERD_ERR;
        r->capacity = capacity;
    }
    r->max_bytes = max_bytes;
    return HERD_OK;
}

/* Free the oldest kept message and remember its seq as dropped. */
static void
drop_oldest(struct herd_ring *r)
{
    struct herd_ring_msg *m = &r->slots[r->head];

    r->dropped_to = m->seq;
    r->bytes -= m->len;
    free(m->data);
    m->data = NULL;
    r->head = (r->head + 1) % r->capacity;
    r->count--;
}

/* The copy is made before anything is dropped, so that running out of
   memory leaves the ring as it was. */
int
herd_ring_push(struct herd_ring *r, uint64_t seq, const char *data, size_t len)
{
    struct herd_ring_msg *m;
    char *copy = NULL;

    if (seq <= r->last_seq || (data == NULL && len > 0))
        return HERD_ERR;
    if (r->capacity == 0 || len > r->max_bytes) {
        /* Not kept: everything older goes too, since a replay could not
           skip over the hole anyway. */
        while (r->count > 0)
            drop_oldest(r);
        r->last_seq = r->dropped_to = seq;
        return HERD_OK;
    }
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL)
            return HERD_ERR;
        memcpy(copy, data, len);
    }
    while (r->count > 0 &&
           (r->count == r->capacity || r->bytes > r->max_bytes - len))
        drop_oldest(r);
    m = &r->slots[(r->head + r->count) % r->capacity];
    m->seq = seq;
    m->data = copy;
    m->len = len;
    r->count++;
    r->bytes += len;
    r->last_seq = seq;
    return HERD_OK;
}

int
herd_ring_gap(const struct herd_ring *r, uint64_t last_id)
{
    if (last_id == 0)
        return 0;
    return r->dropped_to > last_id || last_id > r->last_seq;
}

int
herd_ring_since(const struct herd_ring *r, uint64_t last_id, herd_ring_cb cb,
                void *arg)
{
    const struct herd_ring_msg *m;
    size_t i;

    for (i = 0; i < r->count; i++) {
        m = &r->slots[(r->head + i) % r->capacity];
        if (m->seq > last_id && cb(arg, m->seq, m->data, m->len) != 0)
            return HERD_ERR;
    }
    return herd_ring_gap(r, last_id) ? HERD_AGAIN : HERD_OK;
}

void
herd_ring_free(struct herd_ring *r)
{
    if (r == NULL)
        return;
    while (r->count > 0)
        drop_oldest(r);
    free(r->slots);
    memset(r, 0, sizeof(*r));
}

/* ---- hash: SipHash-2-4 (Aumasson and Bernstein), 64-bit output ------------
 */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                               \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = ROTL(v1, 13);                                                     \
        v1 ^= v0;                                                              \
        v0 = ROTL(v0, 32);                                                     \
        v2 += v3;                                                              \
        v3 = ROTL(v3, 16);                                                     \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = ROTL(v3, 21);                                                     \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = ROTL(v1, 17);                                                     \
        v1 ^= v2;                                                              \
        v2 = ROTL(v2, 32);                                                     \
    } while (0)

static uint64_t
siphash(const uint64_t key[2], const char *p, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
    uint64_t v3 = 0x7465646279746573ULL ^ key[1];
    uint64_t m, b = (uint64_t)len << 56;
    size_t i, j;

    for (i = 0; i + 8 <= len; i += 8) {
        m = 0;
        for (j = 0; j < 8; j++)
            m |= (uint64_t)(uint8_t)p[i + j] << (8 * j);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (j = 0; i + j < len; j++)
        b |= (uint64_t)(uint8_t)p[i + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- table -------------------------------------------------------------- */

/* Most channels a table takes: its slots (twice as many, a power of two)
   must be countable in size_t without overflow. */
#define MAX_CHANNELS ((size_t)1 << 24)

int
herd_pubsub_table_init(struct herd_pubsub_table *t, size_t max_channels,
                       size_t ring_capacity, size_t ring_max_bytes,
                       uint64_t seed, char *err, size_t errlen)
{
    size_t n = 2;

    memset(t, 0, sizeof(*t));
    if (max_channels == 0 || max_channels > MAX_CHANNELS)
        return herd_errf(err, errlen, "max_channels must be 1 to %zu",
                         MAX_CHANNELS);
    while (n < 2 * max_channels)
        n *= 2;
    t->slots = calloc(n, sizeof(*t->slots));
    if (t->slots == NULL)
        return herd_errf(err, errlen, "out of memory");
    t->mask = n - 1;
    t->max_channels = max_channels;
    t->ring_capacity = ring_capacity;
    t->ring_max_bytes = ring_max_bytes;
    t->key[0] = seed;
    t->key[1] = seed ^ 0x9e3779b97f4a7c15ULL;
    return HERD_OK;
}

/*
 * The slot holding name, or the empty slot where it would go. The table
 * is never more than half full, so the probe always ends.
 */
static size_t
find_slot(const struct herd_pubsub_table *t, const char *name, size_t len,
          uint64_t hash)
{
    const struct herd_pubsub_channel *ch;
    size_t i = (size_t)hash & t->mask;

    while ((ch = t->slots[i]) != NULL) {
        if (ch->hash == hash && ch->name_len == len &&
            memcmp(ch->name, name, len) == 0)
            break;
        i = (i + 1) & t->mask;
    }
    return i;
}

struct herd_pubsub_channel *
herd_pubsub_lookup(const struct herd_pubsub_table *t, const char *name,
                   size_t len)
{
    uint64_t hash;

    if (!herd_pubsub_channel_valid(name, len))
        return NULL;
    hash = siphash(t->key, name, len);
    return t->slots[find_slot(t, name, len, hash)];
}

struct herd_pubsub_channel *
herd_pubsub_create(struct herd_pubsub_table *t, const char *name, size_t len,
                   char *err, size_t errlen)
{
    struct herd_pubsub_channel *ch;
    uint64_t hash;
    size_t i;

    if (!herd_pubsub_channel_valid(name, len)) {
        herd_errf(err, errlen, "invalid channel name");
        return NULL;
    }
    hash = siphash(t->key, name, len);
    i = find_slot(t, name, len, hash);
    if (t->slots[i] != NULL)
        return t->slots[i];
    if (t->count >= t->max_channels) {
        herd_errf(err, errlen, "too many channels (at most %zu)",
                  t->max_channels);
        return NULL;
    }
    ch = calloc(1, sizeof(*ch) + len + 1);
    if (ch == NULL || herd_ring_init(&ch->ring, t->ring_capacity,
                                     t->ring_max_bytes) != HERD_OK) {
        free(ch);
        herd_errf(err, errlen, "out of memory");
        return NULL;
    }
    ch->hash = hash;
    ch->next_seq = 1;
    ch->name_len = len;
    memcpy(ch->name, name, len);
    ch->name[len] = '\0';
    ch->next = t->first;
    if (t->first != NULL)
        t->first->prev = ch;
    t->first = ch;
    t->slots[i] = ch;
    t->count++;
    return ch;
}

/*
 * Linear probing without tombstones: after emptying slot i, walk the rest
 * of the cluster and move back every entry whose home slot does not lie
 * cyclically in (i, j], so that each stays reachable from its home.
 */
void
herd_pubsub_remove(struct herd_pubsub_table *t, struct herd_pubsub_channel *ch)
{
    struct herd_pubsub_channel *e;
    size_t i, j, home;

    i = find_slot(t, ch->name, ch->name_len, ch->hash);
    if (t->slots[i] != ch)
        return;
    t->slots[i] = NULL;
    for (j = (i + 1) & t->mask; (e = t->slots[j]) != NULL;
         j = (j + 1) & t->mask) {
        home = (size_t)e->hash & t->mask;
        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->slots[i] = e;
            t->slots[j] = NULL;
            i = j;
        }
    }
    if (ch->prev != NULL)
        ch->prev->next = ch->next;
    else
        t->first = ch->next;
    if (ch->next != NULL)
        ch->next->prev = ch->prev;
    t->count--;
    herd_ring_free(&ch->ring);
    free(ch);
}

int
herd_pubsub_publish(struct herd_pubsub_channel *ch, const char *data,
                    size_t len, uint64_t *seq)
{
    if (len > HERD_PUBSUB_MAX_DATA ||
        herd_ring_push(&ch->ring, ch->next_seq, data, len) != HERD_OK)
        return HERD_ERR;
    *seq = ch->next_seq++;
    return HERD_OK;
}

void
herd_pubsub_table_free(struct herd_pubsub_table *t)
{
    struct herd_pubsub_channel *ch, *next;

    if (t == NULL)
        return;
    for (ch = t->first; ch != NULL; ch = next) {
        next = ch->next;
        herd_ring_free(&ch->ring);
        free(ch);
    }
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* ---- wire -----------------------------------------------------------------
 */

static char *
put_le(char *p, uint64_t v, int n)
{
    int i;

    for (i = 0; i < n; i++)
        p[i] = (char)((v >> (8 * i)) & 0xff);
    return p + n;
}

static uint64_t
get_le(const char *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = n - 1; i >= 0; i--)
        v = (v << 8) | (uint8_t)p[i];
    return v;
}

/* What a kind carries: a seq (and whether it may be 0), a token, data;
   HERD_ERR for unknown kinds. */
struct kind_shape {
    int seq, seq_zero_ok, token, data;
};

static int
kind_fields(uint8_t kind, struct kind_shape *k)
{
    memset(k, 0, sizeof(*k));
    switch (kind) {
    case HERD_PUBSUB_PUBLISH:
        k->token = k->data = 1;
        return HERD_OK;
    case HERD_PUBSUB_DELIVER:
        k->seq = k->data = 1;
        return HERD_OK;
    case HERD_PUBSUB_SUBSCRIBE:
    case HERD_PUBSUB_UNSUBSCRIBE:
        return HERD_OK;
    case HERD_PUBSUB_REPLAY:
    case HERD_PUBSUB_REPLAY_END:
        k->seq = k->seq_zero_ok = k->token = 1;
        return HERD_OK;
    case HERD_PUBSUB_REPLAYED:
        k->seq = k->token = k->data = 1;
        return HERD_OK;
    case HERD_PUBSUB_PUBLISHED:
        k->seq = k->seq_zero_ok = k->token = k->data = 1;
        return HERD_OK;
    case HERD_PUBSUB_REPLAY_MISSED:
        k->token = 1;
        return HERD_OK;
    default:
        return HERD_ERR;
    }
}

size_t
herd_pubsub_encode(const struct herd_pubsub_msg *m, char *buf, size_t cap)
{
    struct kind_shape k;
    size_t need;
    char *p = buf;

    if (kind_fields(m->kind, &k) != HERD_OK ||
        !herd_pubsub_channel_valid(m->channel, m->channel_len))
        return 0;
    need = 1 + 2 + (size_t)m->channel_len;
    if (k.seq) {
        if (m->seq == 0 && !k.seq_zero_ok)
            return 0;
        need += 8;
    }
    if (k.token)
        need += 8;
    if (k.data) {
        if (m->len > HERD_PUBSUB_MAX_DATA || (m->data == NULL && m->len > 0))
            return 0;
        need += 4 + (size_t)m->len;
    }
    if (cap < need)
        return 0;
    *p++ = (char)m->kind;
    p = put_le(p, m->channel_len, 2);
    memcpy(p, m->channel, m->channel_len);
    p += m->channel_len;
    if (k.seq)
        p = put_le(p, m->seq, 8);
    if (k.token)
        p = put_le(p, m->token, 8);
    if (k.data) {
        p = put_le(p, m->len, 4);
        if (m->len > 0)
            memcpy(p, m->data, m->len);
        p += m->len;
    }
    return (size_t)(p - buf);
}

/* Every length is checked against what is left before it is used, so no
   sum can overflow and no read goes past buf[len). */
int
herd_pubsub_decode(const char *buf, size_t len, struct herd_pubsub_msg *m)
{
    struct herd_pubsub_msg d;
    struct kind_shape k;
    const char *p = buf, *end = buf + len;

    memset(&d, 0, sizeof(d));
    if (len < 3)
        return HERD_ERR;
    d.kind = (uint8_t)*p++;
    if (kind_fields(d.kind, &k) != HERD_OK)
        return HERD_ERR;
    d.channel_len = (uint16_t)get_le(p, 2);
    p += 2;
    if ((size_t)(end - p) < d.channel_len)
        return HERD_ERR;
    d.channel = p;
    p += d.channel_len;
    if (!herd_pubsub_channel_valid(d.channel, d.channel_len))
        return HERD_ERR;
    if (k.seq) {
        if (end - p < 8)
            return HERD_ERR;
        d.seq = get_le(p, 8);
        p += 8;
        if (d.seq == 0 && !k.seq_zero_ok)
            return HERD_ERR;
    }
    if (k.token) {
        if (end - p < 8)
            return HERD_ERR;
        d.token = get_le(p, 8);
        p += 8;
    }
    if (k.data) {
        if (end - p < 4)
            return HERD_ERR;
        d.len = (uint32_t)get_le(p, 4);
        p += 4;
        if (d.len > HERD_PUBSUB_MAX_DATA || (size_t)(end - p) < d.len)
            return HERD_ERR;
        d.data = p;
        p += d.len;
    }
    if (p != end)
        return HERD_ERR;
    *m = d;
    return HERD_OK;
}
