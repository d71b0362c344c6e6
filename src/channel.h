/* channel.h: framed messages between the master and a worker (socketpair). */
#ifndef HERD_CHANNEL_H
#define HERD_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define HERD_CHANNEL_VERSION 1
/* Bytes in a frame header: version, type, flags (2), payload length (4). */
#define HERD_CHANNEL_HEADER 8
/* Largest payload a frame may carry. */
#define HERD_CHANNEL_MAX_PAYLOAD (64 * 1024)
#define HERD_CHANNEL_MAX_FRAME   (HERD_CHANNEL_HEADER + HERD_CHANNEL_MAX_PAYLOAD)

enum herd_msg_type {
    HERD_MSG_READY = 1,   /* worker -> master: serving; payload: health */
    HERD_MSG_HEALTH = 2,  /* worker -> master: heartbeat; payload: health */
    HERD_MSG_STOP = 3,    /* master -> worker: drain and exit; no payload */
    HERD_MSG_RETIRE = 4,  /* worker -> master: max_requests reached; health */
    HERD_MSG_PUBLISH = 5, /* worker -> master: pub/sub (later) */
    HERD_MSG_DELIVER = 6, /* master -> worker: pub/sub (later) */
    HERD_MSG_ROUTES = 7,  /* worker -> master: requests by route; counts */
};

/* A decoded frame; payload points into the buffer that was decoded. */
struct herd_msg {
    uint8_t type;
    uint16_t flags;
    const char *payload;
    uint32_t len;
};

/* Routes /metrics breaks requests down by (distinct route patterns of
   every configuration the master loaded); more share no series. */
#define HERD_MAX_ROUTE_METRICS 256

/* One route's requests by status class, as a worker counted them since it
   started: id is the route's metrics id (herd_route_conf.metrics_id). */
struct herd_route_count {
    uint32_t id;
    uint64_t status[6]; /* [2] = 2xx ... */
};

#define HERD_ROUTE_COUNT_WIRE_LEN (4 + 8 * 6)

/*
 * ROUTES payload: a little-endian u32 count, then that many records (u32
 * id, six u64 counts). Encode writes at most cap bytes and returns the
 * length, or 0 when they do not fit. Decode checks the length exactly and
 * every id against HERD_MAX_ROUTE_METRICS: HERD_OK with *n records in
 * out (room for cap), or HERD_ERR.
 */
size_t herd_route_counts_encode(const struct herd_route_count *c, size_t n,
                                char *buf, size_t cap);
int herd_route_counts_decode(const char *buf, size_t len,
                             struct herd_route_count *out, size_t cap,
                             size_t *n);

/* Request duration histogram buckets: HERD_DURATION_BUCKETS - 1 upper
   bounds (metrics.h has them) and one for everything longer. */
#define HERD_DURATION_BUCKETS 12

/* What a worker reports, in READY, HEALTH and RETIRE. */
struct herd_health {
    uint32_t pid;
    uint32_t slot;
    uint32_t generation;
    uint32_t active_connections;
    uint64_t requests;  /* served since start */
    uint64_t status[6]; /* requests by status class: [2] = 2xx ... */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t rss_bytes;
    uint64_t loop_lag_us; /* how late the last heartbeat timer fired */
    uint64_t uptime_ms;
    uint64_t duration[HERD_DURATION_BUCKETS]; /* requests per bucket */
    uint64_t duration_sum_us;
    uint64_t subscribers;  /* SSE and WebSocket clients now */
    uint64_t dropped;      /* subscribers dropped for falling behind */
    uint64_t cache_hits;   /* static answers from the memory cache */
    uint64_t cache_misses; /* static answers a cache had to open */
};

/* Encoded size of a struct herd_health payload. */
#define HERD_HEALTH_WIRE_LEN (4 * 4 + 8 * (12 + HERD_DURATION_BUCKETS + 5))

/*
 * Encode a frame of type with payload[0..len) into buf[0..cap). Returns
 * the frame length, or 0 when type is 0, len exceeds
 * HERD_CHANNEL_MAX_PAYLOAD or the frame does not fit cap.
 */
size_t herd_channel_encode(uint8_t type, const void *payload, size_t len,
                           char *buf, size_t cap);

/*
 * Decode one frame: exactly buf[0..n) (a SOCK_SEQPACKET datagram). Returns
 * HERD_OK and fills *msg, or HERD_ERR with the reason in err: truncated
 * header or payload, oversized length, unknown version, type 0, trailing
 * bytes. Other unknown types are the caller's to judge.
 */
int herd_channel_decode(const char *buf, size_t n, struct herd_msg *msg,
                        char *err, size_t errlen);

/* Encode h (little-endian, fixed layout) into buf, which has at least
   HERD_HEALTH_WIRE_LEN bytes. Returns HERD_HEALTH_WIRE_LEN. */
size_t herd_health_encode(const struct herd_health *h, char *buf);

/* Decode a health payload. HERD_ERR when len is not the wire length. */
int herd_health_decode(const char *buf, size_t len, struct herd_health *h);

/* A non-blocking, close-on-exec SOCK_SEQPACKET pair; fds[0] for the
   master, fds[1] for the worker. HERD_OK, or HERD_ERR with err. */
int herd_channel_pair(int fds[2], char *err, size_t errlen);

/*
 * Send one frame without blocking. Returns HERD_OK, HERD_AGAIN when the
 * peer is not reading (the frame is dropped: heartbeats never block), or
 * HERD_ERR when the peer is gone, type is 0 or the payload is too large.
 */
int herd_channel_send(int fd, uint8_t type, const void *payload, size_t len);

/*
 * Receive one frame into buf (at least HERD_CHANNEL_MAX_FRAME bytes) and
 * decode it into *msg. Returns HERD_OK, HERD_AGAIN when nothing waits,
 * or HERD_ERR with err set ("closed" on EOF, else the reason).
 */
int herd_channel_recv(int fd, char *buf, size_t cap, struct herd_msg *msg,
                      char *err, size_t errlen);

/*
 * Messages that must not be dropped when the peer is slow (pub/sub): a
 * queue of frames behind the socket. Zeroed: empty.
 */
struct herd_chanq {
    char *data; /* records: u8 type, u32 length, payload */
    size_t len, off, cap;
    size_t max; /* bytes it may hold; 0: HERD_CHANQ_DEFAULT_MAX */
};

#define HERD_CHANQ_DEFAULT_MAX (64u * 1024 * 1024)

/*
 * Send a message now when nothing waits and the socket takes it, else
 * queue it behind the others. HERD_OK (sent or queued: call
 * herd_chanq_flush once fd is writable while herd_chanq_pending says so),
 * or HERD_ERR (the queue is full or memory ran out, or the peer is gone;
 * the message is not sent).
 */
int herd_chanq_send(struct herd_chanq *q, int fd, uint8_t type,
                    const void *payload, size_t len);

/* Send what waits, in order: HERD_OK when all went, HERD_AGAIN when some
   still waits, HERD_ERR when the peer is gone. */
int herd_chanq_flush(struct herd_chanq *q, int fd);

/* Whether messages wait in q. */
int herd_chanq_pending(const struct herd_chanq *q);

void herd_chanq_free(struct herd_chanq *q);

#endif
