/* pubsub.h: pub/sub channels: names, message history, table, wire codec. */
#ifndef HERD_PUBSUB_H
#define HERD_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/*
 * Pure building blocks for cross-worker pub/sub: the master keeps a table
 * of channels, each with the recent history of its messages, and workers
 * and master exchange the messages below over their channel. Nothing here
 * does I/O or logs.
 *
 * Sequence ids are per channel, from 1 up and strictly increasing; they
 * are the SSE event ids, so 0 means "none".
 */

/* A channel name: 1 to HERD_PUBSUB_MAX_CHANNEL bytes of A-Z a-z 0-9 and
   . _ : - (safe in URLs, logs and SSE fields without escaping). */
#define HERD_PUBSUB_MAX_CHANNEL 200

/* Largest message: with the wire header it fits a channel frame's 64 KiB
   payload (pubsub_ring.c checks). */
#define HERD_PUBSUB_MAX_DATA (60 * 1024)

/* 1 when name[0..len) is a valid channel name, else 0. */
int herd_pubsub_channel_valid(const char *name, size_t len);

/* ---- history of one channel ------------------------------------------ */

/* One kept message; data is owned by the ring (NULL when len is 0). */
struct herd_ring_msg {
    uint64_t seq;
    char *data;
    size_t len;
};

/*
 * The last messages of one channel: at most capacity of them and at most
 * max_bytes of data in all; the oldest go first. Fields are read-only for
 * the caller.
 */
struct herd_ring {
    struct herd_ring_msg *slots; /* capacity of them */
    size_t capacity;
    size_t max_bytes;
    size_t head;         /* slot of the oldest kept message */
    size_t count;        /* messages kept */
    size_t bytes;        /* data bytes kept */
    uint64_t last_seq;   /* newest seq pushed (kept or not), or 0 */
    uint64_t dropped_to; /* newest seq no longer kept, or 0 */
};

/*
 * Make r an empty ring that keeps up to capacity messages and max_bytes
 * of data (either 0: keep nothing, only count seqs). HERD_OK, or HERD_ERR
 * when out of memory (r is then empty and herd_ring_free is harmless).
 */
int herd_ring_init(struct herd_ring *r, size_t capacity, size_t max_bytes);

/*
 * Add a copy of data[0..len) (data may be NULL when len is 0) as message
 * seq, dropping the oldest messages until it fits both bounds. A message
 * larger than max_bytes is not kept at all (it counts as dropped: replays
 * past it report the gap). Returns HERD_OK, or HERD_ERR with r unchanged
 * when seq is not above every seq pushed before (so never 0) or when out
 * of memory.
 */
int herd_ring_push(struct herd_ring *r, uint64_t seq, const char *data,
                   size_t len);

/* Callback of herd_ring_since: 0 to go on, anything else stops. data
   points into the ring: copy what must outlive the call. */
typedef int (*herd_ring_cb)(void *arg, uint64_t seq, const char *data,
                            size_t len);

/*
 * 1 when a client that saw last_id has missed messages the ring no longer
 * keeps: one after last_id was dropped, or last_id is beyond every seq the
 * ring has seen (an id from an earlier incarnation of the channel). 0
 * otherwise, and always for last_id 0.
 */
int herd_ring_gap(const struct herd_ring *r, uint64_t last_id);

/*
 * Replay: call cb for every kept message with seq > last_id, oldest first
 * (last_id 0: every kept message). Returns HERD_OK when that was all the
 * client missed, HERD_AGAIN when herd_ring_gap(r, last_id) (what was kept
 * is still replayed; the caller tells the client it missed some), or
 * HERD_ERR when cb stopped the replay. cb must not change r.
 */
int herd_ring_since(const struct herd_ring *r, uint64_t last_id,
                    herd_ring_cb cb, void *arg);

/* Release the messages and slots; r is then an empty ring of capacity 0.
   Accepts NULL. */
void herd_ring_free(struct herd_ring *r);

/* ---- channel table ----------------------------------------------------- */

/*
 * One channel, owned by the table. The caller reads name, ring and
 * next_seq, and owns subscribers and user (the table never reads them):
 * e.g. a count of subscribed workers and a bitmask of which.
 */
struct herd_pubsub_channel {
    struct herd_pubsub_channel *prev, *next; /* the table's list */
    uint64_t hash;
    uint64_t next_seq; /* seq of the next message published; from 1 */
    struct herd_ring ring;
    unsigned subscribers;
    void *user;
    size_t name_len;
    char name[]; /* NUL-terminated */
};

/*
 * Channels by name: an open-addressing hash table (linear probing, twice
 * as many slots as max_channels, keyed SipHash so that clients cannot pick
 * colliding names), plus a list of every channel for iteration:
 *
 *     for (ch = t->first; ch != NULL; ch = next) {
 *         next = ch->next;
 *         ... herd_pubsub_remove(t, ch) is fine here ...
 *     }
 *
 * Channel pointers stay valid until their channel is removed.
 */
struct herd_pubsub_table {
    struct herd_pubsub_channel **slots;
    size_t mask; /* slots - 1; a power of two */
    size_t count;
    size_t max_channels;
    size_t ring_capacity;
    size_t ring_max_bytes;
    uint64_t key[2];
    struct herd_pubsub_channel *first;
};

/*
 * Make t an empty table for at most max_channels (>= 1) channels, each
 * keeping ring_capacity messages and ring_max_bytes of data. seed keys the
 * hash: pass random bits (getrandom) in the daemon. HERD_OK, or HERD_ERR
 * with err when max_channels is 0 or too large or out of memory.
 */
int herd_pubsub_table_init(struct herd_pubsub_table *t, size_t max_channels,
                           size_t ring_capacity, size_t ring_max_bytes,
                           uint64_t seed, char *err, size_t errlen);

/* The channel named name[0..len), or NULL when there is none. */
struct herd_pubsub_channel *
herd_pubsub_lookup(const struct herd_pubsub_table *t, const char *name,
                   size_t len);

/*
 * The channel named name[0..len), created (next_seq 1, empty ring,
 * subscribers 0, user NULL) when there is none. Returns it, or NULL with
 * err when the name is invalid, the table holds max_channels already, or
 * out of memory.
 */
struct herd_pubsub_channel *herd_pubsub_create(struct herd_pubsub_table *t,
                                               const char *name, size_t len,
                                               char *err, size_t errlen);

/* Remove ch from t and free it with its history; the caller released
   ch->user first. */
void herd_pubsub_remove(struct herd_pubsub_table *t,
                        struct herd_pubsub_channel *ch);

/*
 * Keep a copy of data[0..len) in ch's history under the next seq, which
 * goes to *seq. HERD_OK, or HERD_ERR when len exceeds HERD_PUBSUB_MAX_DATA
 * or out of memory (no seq is used up then).
 */
int herd_pubsub_publish(struct herd_pubsub_channel *ch, const char *data,
                        size_t len, uint64_t *seq);

/* Free every channel and the table (the users are the caller's: release
   them first). Accepts NULL. */
void herd_pubsub_table_free(struct herd_pubsub_table *t);

/* ---- wire messages --------------------------------------------------------
 */

/*
 * What workers and the master tell each other about pub/sub. The kind is
 * in the payload, so one channel frame type can carry them all.
 */
enum herd_pubsub_kind {
    HERD_PUBSUB_PUBLISH = 1,       /* worker -> master: channel, token, data
                                      (token 0: no PUBLISHED wanted) */
    HERD_PUBSUB_DELIVER = 2,       /* master -> worker: channel, seq, data */
    HERD_PUBSUB_SUBSCRIBE = 3,     /* worker -> master: channel */
    HERD_PUBSUB_UNSUBSCRIBE = 4,   /* worker -> master: channel */
    HERD_PUBSUB_REPLAY = 5,        /* worker -> master: channel, seq (the
                                      last id the client has; 0 from the
                                      oldest kept), token */
    HERD_PUBSUB_REPLAYED = 6,      /* master -> worker: channel, seq, token,
                                      data: one message of a replay */
    HERD_PUBSUB_REPLAY_END = 7,    /* master -> worker: channel, seq (1 when
                                      messages were missed, else 0), token */
    HERD_PUBSUB_PUBLISHED = 8,     /* master -> worker: channel, seq (the
                                      message's; 0 when it was refused),
                                      token, data (why it was refused) */
    HERD_PUBSUB_REPLAY_MISSED = 9, /* master -> worker: channel, token:
                                      before the replay, some messages
                                      after the client's id are gone (or
                                      its id was never this channel's) */
};

/* A message; decoded pointers point into the decoded buffer. seq is used
   by DELIVER only, data and len by PUBLISH and DELIVER only. */
struct herd_pubsub_msg {
    uint8_t kind;
    const char *channel;
    uint16_t channel_len;
    uint64_t seq;
    uint64_t token; /* the asker's: REPLAY*, PUBLISH, PUBLISHED */
    const char *data;
    uint32_t len;
};

/* Largest encoded message: kind, channel length and name, seq, data
   length and data. */
#define HERD_PUBSUB_MAX_WIRE                                                   \
    (1 + 2 + HERD_PUBSUB_MAX_CHANNEL + 8 + 8 + 4 + HERD_PUBSUB_MAX_DATA)

/*
 * Encode m into buf[0..cap), little-endian: u8 kind, u16 channel length,
 * the name; then for DELIVER u64 seq; then for PUBLISH and DELIVER u32
 * data length and the data. Returns the length, or 0 when the kind is
 * unknown, the channel name is invalid, a DELIVER has seq 0, len exceeds
 * HERD_PUBSUB_MAX_DATA (or data is NULL with len > 0), or cap is too small.
 */
size_t herd_pubsub_encode(const struct herd_pubsub_msg *m, char *buf,
                          size_t cap);

/*
 * Decode exactly buf[0..len) into *m (fields a kind does not use are 0 and
 * NULL). HERD_OK, or HERD_ERR when anything is off: unknown kind, invalid
 * channel name, seq 0, data over HERD_PUBSUB_MAX_DATA, truncation,
 * trailing bytes.
 */
int herd_pubsub_decode(const char *buf, size_t len, struct herd_pubsub_msg *m);

#endif
