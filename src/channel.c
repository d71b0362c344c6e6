/* channel.c: frame codec and non-blocking socketpair I/O master <-> worker. */
#include "channel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* struct herd_health holds 4 u32, then requests, status[], 5 more u64,
   duration[] and its sum, the two pub/sub counts and the two static
   cache counts. If a field is added, the sizeof check fails until the
   codec follows. */
#define HEALTH_U64S                                                            \
    (1 + HERD_ARRAY_LEN(((struct herd_health *)0)->status) + 5 +               \
     HERD_DURATION_BUCKETS + 1 + 2 + 2)
_Static_assert(sizeof(struct herd_health) == 4 * 4 + 8 * HEALTH_U64S,
               "struct herd_health changed: update the health codec");
_Static_assert(HERD_HEALTH_WIRE_LEN == 4 * 4 + 8 * HEALTH_U64S,
               "HERD_HEALTH_WIRE_LEN does not match struct herd_health");

/* Little-endian helpers; put_ and take_ return p past the field. */
static char *
put_u16(char *p, uint16_t v)
{
    p[0] = (char)(v & 0xff);
    p[1] = (char)(v >> 8);
    return p + 2;
}

static char *
put_u32(char *p, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++)
        p[i] = (char)((v >> (8 * i)) & 0xff);
    return p + 4;
}

static char *
put_u64(char *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (char)((v >> (8 * i)) & 0xff);
    return p + 8;
}

static uint16_t
get_u16(const char *p)
{
    return (uint16_t)((uint8_t)p[0] | (uint16_t)((uint8_t)p[1] << 8));
}

static uint32_t
get_u32(const char *p)
{
    uint32_t v = 0;
    int i;

    for (i = 3; i >= 0; i--)
        v = (v << 8) | (uint8_t)p[i];
    return v;
}

static uint64_t
get_u64(const char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | (uint8_t)p[i];
    return v;
}

static const char *
take_u32(const char *p, uint32_t *v)
{
    *v = get_u32(p);
    return p + 4;
}

static const char *
take_u64(const char *p, uint64_t *v)
{
    *v = get_u64(p);
    return p + 8;
}

/* Write the 8-byte header; the caller has checked type and len. */
static void
put_header(char *buf, uint8_t type, uint16_t flags, uint32_t len)
{
    buf[0] = (char)HERD_CHANNEL_VERSION;
    buf[1] = (char)type;
    put_u32(put_u16(buf + 2, flags), len);
}

size_t
herd_channel_encode(uint8_t type, const void *payload, size_t len, char *buf,
                    size_t cap)
{
    if (type == 0 || len > HERD_CHANNEL_MAX_PAYLOAD ||
        (payload == NULL && len > 0) || cap < HERD_CHANNEL_HEADER ||
        cap - HERD_CHANNEL_HEADER < len)
        return 0;
    put_header(buf, type, 0, (uint32_t)len);
    if (len > 0)
        memcpy(buf + HERD_CHANNEL_HEADER, payload, len);
    return HERD_CHANNEL_HEADER + len;
}

int
herd_channel_decode(const char *buf, size_t n, struct herd_msg *msg, char *err,
                    size_t errlen)
{
    uint32_t len;

    if (n < HERD_CHANNEL_HEADER) {
        snprintf(err, errlen, "truncated header (%zu of %d bytes)", n,
                 HERD_CHANNEL_HEADER);
        return HERD_ERR;
    }
    if ((uint8_t)buf[0] != HERD_CHANNEL_VERSION) {
        snprintf(err, errlen, "unknown version %u", (unsigned)(uint8_t)buf[0]);
        return HERD_ERR;
    }
    if (buf[1] == 0) {
        snprintf(err, errlen, "invalid type 0");
        return HERD_ERR;
    }
    len = get_u32(buf + 4);
    if (len > HERD_CHANNEL_MAX_PAYLOAD) {
        snprintf(err, errlen, "payload of %lu bytes exceeds %d",
                 (unsigned long)len, HERD_CHANNEL_MAX_PAYLOAD);
        return HERD_ERR;
    }
    if (n - HERD_CHANNEL_HEADER < len) {
        snprintf(err, errlen, "truncated payload (%zu of %lu bytes)",
                 n - HERD_CHANNEL_HEADER, (unsigned long)len);
        return HERD_ERR;
    }
    if (n - HERD_CHANNEL_HEADER > len) {
        snprintf(err, errlen, "%zu trailing bytes",
                 n - HERD_CHANNEL_HEADER - len);
        return HERD_ERR;
    }
    msg->type = (uint8_t)buf[1];
    msg->flags = get_u16(buf + 2);
    msg->payload = buf + HERD_CHANNEL_HEADER;
    msg->len = len;
    return HERD_OK;
}

size_t
herd_health_encode(const struct herd_health *h, char *buf)
{
    char *p = buf;
    size_t i;

    p = put_u32(p, h->pid);
    p = put_u32(p, h->slot);
    p = put_u32(p, h->generation);
    p = put_u32(p, h->active_connections);
    p = put_u64(p, h->requests);
    for (i = 0; i < HERD_ARRAY_LEN(h->status); i++)
        p = put_u64(p, h->status[i]);
    p = put_u64(p, h->bytes_in);
    p = put_u64(p, h->bytes_out);
    p = put_u64(p, h->rss_bytes);
    p = put_u64(p, h->loop_lag_us);
    p = put_u64(p, h->uptime_ms);
    for (i = 0; i < HERD_ARRAY_LEN(h->duration); i++)
        p = put_u64(p, h->duration[i]);
    p = put_u64(p, h->duration_sum_us);
    p = put_u64(p, h->subscribers);
    p = put_u64(p, h->dropped);
    p = put_u64(p, h->cache_hits);
    p = put_u64(p, h->cache_misses);
    return (size_t)(p - buf);
}

int
herd_health_decode(const char *buf, size_t len, struct herd_health *h)
{
    const char *p = buf;
    size_t i;

    if (len != HERD_HEALTH_WIRE_LEN)
        return HERD_ERR;
    p = take_u32(p, &h->pid);
    p = take_u32(p, &h->slot);
    p = take_u32(p, &h->generation);
    p = take_u32(p, &h->active_connections);
    p = take_u64(p, &h->requests);
    for (i = 0; i < HERD_ARRAY_LEN(h->status); i++)
        p = take_u64(p, &h->status[i]);
    p = take_u64(p, &h->bytes_in);
    p = take_u64(p, &h->bytes_out);
    p = take_u64(p, &h->rss_bytes);
    p = take_u64(p, &h->loop_lag_us);
    p = take_u64(p, &h->uptime_ms);
    for (i = 0; i < HERD_ARRAY_LEN(h->duration); i++)
        p = take_u64(p, &h->duration[i]);
    p = take_u64(p, &h->duration_sum_us);
    p = take_u64(p, &h->subscribers);
    p = take_u64(p, &h->dropped);
    p = take_u64(p, &h->cache_hits);
    take_u64(p, &h->cache_misses);
    return HERD_OK;
}

size_t
herd_route_counts_encode(const struct herd_route_count *c, size_t n, char *buf,
                         size_t cap)
{
    char *p = buf;
    size_t i, j;

    if (n > HERD_MAX_ROUTE_METRICS || cap < 4 + n * HERD_ROUTE_COUNT_WIRE_LEN)
        return 0;
    p = put_u32(p, (uint32_t)n);
    for (i = 0; i < n; i++) {
        p = put_u32(p, c[i].id);
        for (j = 0; j < 6; j++)
            p = put_u64(p, c[i].status[j]);
    }
    return (size_t)(p - buf);
}

int
herd_route_counts_decode(const char *buf, size_t len,
                         struct herd_route_count *out, size_t cap, size_t *n)
{
    const char *p = buf;
    uint32_t count;
    size_t i, j;

    *n = 0;
    if (len < 4)
        return HERD_ERR;
    p = take_u32(p, &count);
    if (count > cap || count > HERD_MAX_ROUTE_METRICS ||
        len != 4 + (size_t)count * HERD_ROUTE_COUNT_WIRE_LEN)
        return HERD_ERR;
    for (i = 0; i < count; i++) {
        p = take_u32(p, &out[i].id);
        if (out[i].id >= HERD_MAX_ROUTE_METRICS)
            return HERD_ERR;
        for (j = 0; j < 6; j++)
            p = take_u64(p, &out[i].status[j]);
    }
    *n = count;
    return HERD_OK;
}

int
herd_channel_pair(int fds[2], char *err, size_t errlen)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   fds) < 0) {
        snprintf(err, errlen, "socketpair() failed (%d: %s)", errno,
                 strerror(errno));
        return HERD_ERR;
    }
    return HERD_OK;
}

/*
 * The header goes in its own iovec so the payload (up to 64 KiB) is neither
 * copied nor put on the stack; SOCK_SEQPACKET still sends both as one record.
 */
int
herd_channel_send(int fd, uint8_t type, const void *payload, size_t len)
{
    char header[HERD_CHANNEL_HEADER];
    struct iovec iov[2];
    struct msghdr mh;
    ssize_t n;

    if (type == 0 || len > HERD_CHANNEL_MAX_PAYLOAD ||
        (payload == NULL && len > 0))
        return HERD_ERR;
    put_header(header, type, 0, (uint32_t)len);
    iov[0].iov_base = header;
    iov[0].iov_len = sizeof(header);
    iov[1].iov_base = (void *)payload;
    iov[1].iov_len = len;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = len > 0 ? 2 : 1;
    do
        n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS
                   ? HERD_AGAIN
                   : HERD_ERR;
    return HERD_OK;
}

/*
 * MSG_TRUNC makes recvmsg() return the datagram's real length, and the rest
 * of a datagram larger than cap is discarded by the kernel, so an oversized
 * frame costs the caller one error, never a desynchronised stream. Our
 * frames are never empty, so a 0-byte read can only be the peer's close.
 */
int
herd_channel_recv(int fd, char *buf, size_t cap, struct herd_msg *msg,
                  char *err, size_t errlen)
{
    struct iovec iov;
    struct msghdr mh;
    ssize_t n;

    iov.iov_base = buf;
    iov.iov_len = cap;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    do
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return HERD_AGAIN;
        snprintf(err, errlen, "recvmsg() failed (%d: %s)", errno,
                 strerror(errno));
        return HERD_ERR;
    }
    if (n == 0) {
        snprintf(err, errlen, "closed");
        return HERD_ERR;
    }
    if ((size_t)n > cap || (mh.msg_flags & MSG_TRUNC)) {
        snprintf(err, errlen, "oversized frame");
        return HERD_ERR;
    }
    return herd_channel_decode(buf, (size_t)n, msg, err, errlen);
}

/* ---- a queue for messages that must not be dropped ---- */

int
herd_chanq_pending(const struct herd_chanq *q)
{
    return q->off < q->len;
}

int
herd_chanq_flush(struct herd_chanq *q, int fd)
{
    uint32_t n;
    int rc;

    while (q->off < q->len) {
        memcpy(&n, q->data + q->off + 1, 4);
        rc = herd_channel_send(fd, (uint8_t)q->data[q->off],
                               q->data + q->off + 5, n);
        if (rc != HERD_OK)
            return rc;
        q->off += 5 + (size_t)n;
    }
    q->off = q->len = 0;
    return HERD_OK;
}

int
herd_chanq_send(struct herd_chanq *q, int fd, uint8_t type, const void *payload,
                size_t len)
{
    size_t max = q->max ? q->max : HERD_CHANQ_DEFAULT_MAX, need, cap;
    uint32_t n = (uint32_t)len;
    char *p;
    int rc;

    if (len > HERD_CHANNEL_MAX_PAYLOAD)
        return HERD_ERR;
    if (!herd_chanq_pending(q)) {
        rc = herd_channel_send(fd, type, payload, len);
        if (rc != HERD_AGAIN)
            return rc;
    }
    if (q->off > 0 && q->off == q->len)
        q->off = q->len = 0;
    need = 5 + len;
    if (q->len - q->off + need > max)
        return HERD_ERR;
    if (q->len + need > q->cap) {
        if (q->off > 0) { /* move what waits to the front first */
            memmove(q->data, q->data + q->off, q->len - q->off);
            q->len -= q->off;
            q->off = 0;
        }
        for (cap = q->cap ? q->cap : 4096; cap < q->len + need; cap *= 2)
            ;
        if (cap > q->cap) {
            p = realloc(q->data, cap);
            if (p == NULL)
                return HERD_ERR;
            q->data = p;
            q->cap = cap;
        }
    }
    q->data[q->len] = (char)type;
    memcpy(q->data + q->len + 1, &n, 4);
    if (len > 0)
        memcpy(q->data + q->len + 5, payload, len);
    q->len += need;
    return HERD_OK;
}

void
herd_chanq_free(struct herd_chanq *q)
{
    free(q->data);
    memset(q, 0, sizeof(*q));
}
