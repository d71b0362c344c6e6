/* test_channel.c: unit tests for the channel frame codec and socket I/O. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"

static const uint8_t known_types[] = {
    HERD_MSG_READY,  HERD_MSG_HEALTH,  HERD_MSG_STOP,
    HERD_MSG_RETIRE, HERD_MSG_PUBLISH, HERD_MSG_DELIVER,
};

/* Encode then decode; the frame must come back as it went in. */
static void
round_trip(uint8_t type, const void *payload, size_t len)
{
    static char buf[HERD_CHANNEL_MAX_FRAME];
    char err[HERD_ERR_LEN] = "";
    struct herd_msg msg;
    size_t n;

    n = herd_channel_encode(type, payload, len, buf, sizeof(buf));
    cr_assert_eq(n, HERD_CHANNEL_HEADER + len, "type %u len %zu: encoded %zu",
                 type, len, n);
    cr_assert_eq((uint8_t)buf[0], HERD_CHANNEL_VERSION);
    cr_assert_eq((uint8_t)buf[1], type);
    cr_assert_eq(herd_channel_decode(buf, n, &msg, err, sizeof(err)), HERD_OK,
                 "type %u len %zu: %s", type, len, err);
    cr_assert_eq(msg.type, type);
    cr_assert_eq(msg.flags, 0);
    cr_assert_eq(msg.len, len);
    cr_assert_eq(msg.payload, buf + HERD_CHANNEL_HEADER,
                 "payload does not point into the decoded buffer");
    if (len > 0)
        cr_assert_eq(memcmp(msg.payload, payload, len), 0);
}

/* Decode buf[0..n); it must fail with exactly expected. */
static void
decode_fails(const char *buf, size_t n, const char *expected)
{
    char err[HERD_ERR_LEN] = "";
    struct herd_msg msg;

    cr_assert_eq(herd_channel_decode(buf, n, &msg, err, sizeof(err)), HERD_ERR,
                 "accepted, expected: %s", expected);
    cr_assert_str_eq(err, expected);
}

/* A raw header, for frames the encoder would never produce. */
static void
header(char *buf, uint8_t version, uint8_t type, uint16_t flags, uint32_t len)
{
    buf[0] = (char)version;
    buf[1] = (char)type;
    buf[2] = (char)(flags & 0xff);
    buf[3] = (char)(flags >> 8);
    buf[4] = (char)(len & 0xff);
    buf[5] = (char)((len >> 8) & 0xff);
    buf[6] = (char)((len >> 16) & 0xff);
    buf[7] = (char)(len >> 24);
}

/* A health record whose every byte differs from its neighbours'. */
static void
distinct_health(struct herd_health *h)
{
    size_t i;

    memset(h, 0, sizeof(*h));
    h->pid = 0x01020304;
    h->slot = 0x05060708;
    h->generation = 0x090a0b0c;
    h->active_connections = 0x0d0e0f10;
    h->requests = 0x1112131415161718ULL;
    for (i = 0; i < HERD_ARRAY_LEN(h->status); i++)
        h->status[i] = 0x2122232425262728ULL + i * 0x0101010101010101ULL;
    h->bytes_in = 0x3132333435363738ULL;
    h->bytes_out = 0x4142434445464748ULL;
    h->rss_bytes = 0x5152535455565758ULL;
    h->loop_lag_us = 0x6162636465666768ULL;
    h->uptime_ms = 0xf1f2f3f4f5f6f7f8ULL;
    for (i = 0; i < HERD_DURATION_BUCKETS; i++)
        h->duration[i] = 0x3132333435363738ULL + i;
    h->duration_sum_us = 0x4142434445464748ULL;
    h->subscribers = 0x7172737475767778ULL;
    h->dropped = 0x8182838485868788ULL;
    h->cache_hits = 0x9192939495969798ULL;
    h->cache_misses = 0xa1a2a3a4a5a6a7a8ULL;
}

Test(channel, round_trip_every_type_without_payload)
{
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(known_types); i++)
        round_trip(known_types[i], NULL, 0);
}

Test(channel, round_trip_every_type_with_payload)
{
    char payload[300];
    size_t i, j;

    for (i = 0; i < HERD_ARRAY_LEN(known_types); i++) {
        for (j = 0; j < sizeof(payload); j++)
            payload[j] = (char)(j * 7 + i);
        round_trip(known_types[i], payload, sizeof(payload));
        round_trip(known_types[i], "x", 1);
    }
}

Test(channel, unknown_types_are_left_to_the_caller)
{
    round_trip(7, NULL, 0);
    round_trip(255, "abc", 3);
}

Test(channel, maximum_payload)
{
    static char payload[HERD_CHANNEL_MAX_PAYLOAD];
    size_t i;

    for (i = 0; i < sizeof(payload); i++)
        payload[i] = (char)(i % 251);
    round_trip(HERD_MSG_PUBLISH, payload, sizeof(payload));
}

Test(channel, header_layout_is_little_endian)
{
    char buf[HERD_CHANNEL_HEADER + 300], payload[300];
    char err[HERD_ERR_LEN] = "";
    struct herd_msg msg;

    memset(payload, 'p', sizeof(payload));
    cr_assert_eq(herd_channel_encode(HERD_MSG_HEALTH, payload, sizeof(payload),
                                     buf, sizeof(buf)),
                 sizeof(buf));
    cr_assert_eq(memcmp(buf, "\x01\x02\x00\x00\x2c\x01\x00\x00", 8), 0);

    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_STOP, 0xbeef, 0);
    cr_assert_eq(memcmp(buf, "\x01\x03\xef\xbe\x00\x00\x00\x00", 8), 0);
    cr_assert_eq(herd_channel_decode(buf, 8, &msg, err, sizeof(err)), HERD_OK,
                 "%s", err);
    cr_assert_eq(msg.flags, 0xbeef);
    cr_assert_eq(msg.type, HERD_MSG_STOP);
}

Test(channel, encode_refuses)
{
    static char buf[HERD_CHANNEL_MAX_FRAME + 16];
    char small[HERD_CHANNEL_HEADER + 4];

    cr_assert_eq(herd_channel_encode(HERD_MSG_PUBLISH, buf,
                                     HERD_CHANNEL_MAX_PAYLOAD + 1, buf,
                                     sizeof(buf)),
                 0, "payload over the maximum");
    cr_assert_eq(
        herd_channel_encode(HERD_MSG_PUBLISH, "12345", 5, small, sizeof(small)),
        0, "frame larger than cap");
    cr_assert_eq(
        herd_channel_encode(HERD_MSG_PUBLISH, "1234", 4, small, sizeof(small)),
        sizeof(small), "frame exactly cap");
    cr_assert_eq(herd_channel_encode(HERD_MSG_STOP, NULL, 0, small, 7), 0,
                 "cap smaller than a header");
    cr_assert_eq(herd_channel_encode(0, NULL, 0, small, sizeof(small)), 0,
                 "type 0");
    cr_assert_eq(
        herd_channel_encode(HERD_MSG_PUBLISH, NULL, 3, small, sizeof(small)), 0,
        "NULL payload with a length");
}

Test(channel, truncated_header_at_every_length)
{
    char buf[HERD_CHANNEL_HEADER], expected[64];
    size_t n;

    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_STOP, 0, 0);
    for (n = 0; n < HERD_CHANNEL_HEADER; n++) {
        snprintf(expected, sizeof(expected),
                 "truncated header (%zu of 8 bytes)", n);
        decode_fails(buf, n, expected);
    }
}

Test(channel, truncated_payload)
{
    char buf[HERD_CHANNEL_HEADER + 20];

    memset(buf, 'x', sizeof(buf));
    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_PUBLISH, 0, 20);
    decode_fails(buf, HERD_CHANNEL_HEADER + 10,
                 "truncated payload (10 of 20 bytes)");
    decode_fails(buf, HERD_CHANNEL_HEADER, "truncated payload (0 of 20 bytes)");
    decode_fails(buf, HERD_CHANNEL_HEADER + 19,
                 "truncated payload (19 of 20 bytes)");
}

Test(channel, oversized_length)
{
    char buf[HERD_CHANNEL_HEADER];

    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_PUBLISH, 0, 70000);
    decode_fails(buf, sizeof(buf), "payload of 70000 bytes exceeds 65536");
    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_PUBLISH, 0, 65537);
    decode_fails(buf, sizeof(buf), "payload of 65537 bytes exceeds 65536");
    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_PUBLISH, 0, UINT32_MAX);
    decode_fails(buf, sizeof(buf), "payload of 4294967295 bytes exceeds 65536");
    /* The maximum itself is a length, not an error: only the bytes lack. */
    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_PUBLISH, 0, 65536);
    decode_fails(buf, sizeof(buf), "truncated payload (0 of 65536 bytes)");
}

Test(channel, unknown_version)
{
    char buf[HERD_CHANNEL_HEADER];

    header(buf, 7, HERD_MSG_STOP, 0, 0);
    decode_fails(buf, sizeof(buf), "unknown version 7");
    header(buf, 0, HERD_MSG_STOP, 0, 0);
    decode_fails(buf, sizeof(buf), "unknown version 0");
    header(buf, 255, HERD_MSG_STOP, 0, 0);
    decode_fails(buf, sizeof(buf), "unknown version 255");
}

Test(channel, trailing_bytes)
{
    char buf[HERD_CHANNEL_HEADER + 8];

    memset(buf, 'x', sizeof(buf));
    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_STOP, 0, 0);
    decode_fails(buf, HERD_CHANNEL_HEADER + 3, "3 trailing bytes");
    header(buf, HERD_CHANNEL_VERSION, HERD_MSG_PUBLISH, 0, 5);
    decode_fails(buf, HERD_CHANNEL_HEADER + 8, "3 trailing bytes");
}

Test(channel, type_zero)
{
    char buf[HERD_CHANNEL_HEADER];

    header(buf, HERD_CHANNEL_VERSION, 0, 0, 0);
    decode_fails(buf, sizeof(buf), "invalid type 0");
}

Test(health, wire_length)
{
    cr_assert_eq(HERD_HEALTH_WIRE_LEN, 248);
}

Test(health, round_trip_every_field)
{
    struct herd_health in, out;
    char buf[HERD_HEALTH_WIRE_LEN + 1];

    distinct_health(&in);
    memset(&out, 0xa5, sizeof(out));
    buf[HERD_HEALTH_WIRE_LEN] = '!';
    cr_assert_eq(herd_health_encode(&in, buf), HERD_HEALTH_WIRE_LEN);
    cr_assert_eq(buf[HERD_HEALTH_WIRE_LEN], '!', "wrote past the wire length");
    cr_assert_eq(herd_health_decode(buf, HERD_HEALTH_WIRE_LEN, &out), HERD_OK);
    cr_assert_eq(memcmp(&in, &out, sizeof(in)), 0);
}

Test(health, layout_in_struct_order)
{
    struct herd_health h;
    char buf[HERD_HEALTH_WIRE_LEN];

    distinct_health(&h);
    herd_health_encode(&h, buf);
    cr_assert_eq(memcmp(buf, "\x04\x03\x02\x01", 4), 0, "pid");
    cr_assert_eq(memcmp(buf + 12, "\x10\x0f\x0e\x0d", 4), 0, "active");
    cr_assert_eq(memcmp(buf + 16, "\x18\x17\x16\x15\x14\x13\x12\x11", 8), 0,
                 "requests");
    cr_assert_eq(memcmp(buf + 24, "\x28\x27\x26\x25\x24\x23\x22\x21", 8), 0,
                 "status[0]");
    cr_assert_eq(memcmp(buf + 64, "\x2d\x2c\x2b\x2a\x29\x28\x27\x26", 8), 0,
                 "status[5]");
    cr_assert_eq(memcmp(buf + 104, "\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1", 8), 0,
                 "uptime_ms");
    cr_assert_eq(memcmp(buf + 216, "\x78\x77\x76\x75\x74\x73\x72\x71", 8), 0,
                 "subscribers");
    cr_assert_eq(memcmp(buf + 224, "\x88\x87\x86\x85\x84\x83\x82\x81", 8), 0,
                 "dropped");
    cr_assert_eq(memcmp(buf + 232, "\x98\x97\x96\x95\x94\x93\x92\x91", 8), 0,
                 "cache_hits");
    cr_assert_eq(memcmp(buf + 240, "\xa8\xa7\xa6\xa5\xa4\xa3\xa2\xa1", 8), 0,
                 "cache_misses");
}

Test(health, wrong_length_rejected)
{
    struct herd_health in, out, before;
    char buf[HERD_HEALTH_WIRE_LEN + 1];

    distinct_health(&in);
    herd_health_encode(&in, buf);
    memset(&out, 0x5a, sizeof(out));
    before = out;
    cr_assert_eq(herd_health_decode(buf, HERD_HEALTH_WIRE_LEN - 1, &out),
                 HERD_ERR);
    cr_assert_eq(herd_health_decode(buf, HERD_HEALTH_WIRE_LEN + 1, &out),
                 HERD_ERR);
    cr_assert_eq(herd_health_decode(buf, 0, &out), HERD_ERR);
    cr_assert_eq(memcmp(&out, &before, sizeof(out)), 0, "*h changed");
}

Test(health, inside_a_frame)
{
    static char frame[HERD_CHANNEL_MAX_FRAME];
    char err[HERD_ERR_LEN] = "", payload[HERD_HEALTH_WIRE_LEN];
    struct herd_health in, out;
    struct herd_msg msg;
    size_t n;

    distinct_health(&in);
    herd_health_encode(&in, payload);
    n = herd_channel_encode(HERD_MSG_READY, payload, sizeof(payload), frame,
                            sizeof(frame));
    cr_assert_eq(herd_channel_decode(frame, n, &msg, err, sizeof(err)), HERD_OK,
                 "%s", err);
    cr_assert_eq(herd_health_decode(msg.payload, msg.len, &out), HERD_OK);
    cr_assert_eq(memcmp(&in, &out, sizeof(in)), 0);
}

/* Socket tests: fds[0] is the master's end, fds[1] the worker's. */
static int fds[2] = {-1, -1};
static char rbuf[HERD_CHANNEL_MAX_FRAME];

static void
open_pair(void)
{
    char err[HERD_ERR_LEN] = "";

    cr_assert_eq(herd_channel_pair(fds, err, sizeof(err)), HERD_OK, "%s", err);
}

static void
close_pair(void)
{
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    fds[0] = fds[1] = -1;
}

/* Receive one frame on fd; it must be type with payload[0..len). */
static void
recv_is(int fd, uint8_t type, const void *payload, size_t len)
{
    char err[HERD_ERR_LEN] = "";
    struct herd_msg msg;

    cr_assert_eq(
        herd_channel_recv(fd, rbuf, sizeof(rbuf), &msg, err, sizeof(err)),
        HERD_OK, "%s", err);
    cr_assert_eq(msg.type, type);
    cr_assert_eq(msg.len, len);
    if (len > 0)
        cr_assert_eq(memcmp(msg.payload, payload, len), 0);
}

/* Receive on fd; it must fail with HERD_ERR and exactly expected. */
static void
recv_fails(int fd, size_t cap, const char *expected)
{
    char err[HERD_ERR_LEN] = "";
    struct herd_msg msg;

    cr_assert_eq(herd_channel_recv(fd, rbuf, cap, &msg, err, sizeof(err)),
                 HERD_ERR, "expected: %s", expected);
    cr_assert_str_eq(err, expected);
}

TestSuite(socket, .init = open_pair, .fini = close_pair, .timeout = 10);

Test(socket, pair_is_nonblocking_cloexec_seqpacket)
{
    int i, type;
    socklen_t len = sizeof(type);

    for (i = 0; i < 2; i++) {
        cr_assert(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
        cr_assert(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
        cr_assert_eq(getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &len), 0);
        cr_assert_eq(type, SOCK_SEQPACKET);
    }
}

Test(socket, send_recv_round_trip)
{
    static char big[HERD_CHANNEL_MAX_PAYLOAD];
    char health[HERD_HEALTH_WIRE_LEN];
    struct herd_health h;
    size_t i;

    distinct_health(&h);
    herd_health_encode(&h, health);
    for (i = 0; i < sizeof(big); i++)
        big[i] = (char)(i % 253);

    cr_assert_eq(
        herd_channel_send(fds[1], HERD_MSG_READY, health, sizeof(health)),
        HERD_OK);
    cr_assert_eq(herd_channel_send(fds[0], HERD_MSG_STOP, NULL, 0), HERD_OK);
    cr_assert_eq(herd_channel_send(fds[1], HERD_MSG_PUBLISH, big, sizeof(big)),
                 HERD_OK);
    cr_assert_eq(
        herd_channel_send(fds[1], HERD_MSG_HEALTH, health, sizeof(health)),
        HERD_OK);

    recv_is(fds[0], HERD_MSG_READY, health, sizeof(health));
    recv_is(fds[0], HERD_MSG_PUBLISH, big, sizeof(big));
    recv_is(fds[0], HERD_MSG_HEALTH, health, sizeof(health));
    recv_is(fds[1], HERD_MSG_STOP, NULL, 0);
}

Test(socket, recv_on_empty_is_again)
{
    char err[HERD_ERR_LEN] = "";
    struct herd_msg msg;

    cr_assert_eq(
        herd_channel_recv(fds[0], rbuf, sizeof(rbuf), &msg, err, sizeof(err)),
        HERD_AGAIN);
}

Test(socket, send_refuses_bad_frames)
{
    static char big[HERD_CHANNEL_MAX_PAYLOAD + 1];
    char err[HERD_ERR_LEN] = "";
    struct herd_msg msg;

    cr_assert_eq(herd_channel_send(fds[1], HERD_MSG_PUBLISH, big, sizeof(big)),
                 HERD_ERR);
    cr_assert_eq(herd_channel_send(fds[1], 0, NULL, 0), HERD_ERR);
    cr_assert_eq(
        herd_channel_recv(fds[0], rbuf, sizeof(rbuf), &msg, err, sizeof(err)),
        HERD_AGAIN, "a refused frame was sent");
}

Test(socket, full_peer_buffer_is_again)
{
    char payload[1024];
    uint32_t sent = 0, got;
    int rc = HERD_OK;

    /* The bound only stops a broken send from looping; the kernel's
       buffers fill after a few hundred frames. */
    while (sent < 100000) {
        memset(payload, 'a', sizeof(payload));
        memcpy(payload, &sent, sizeof(sent));
        rc = herd_channel_send(fds[1], HERD_MSG_HEALTH, payload,
                               sizeof(payload));
        if (rc != HERD_OK)
            break;
        sent++;
    }
    cr_assert_eq(rc, HERD_AGAIN, "send returned %d after %u frames", rc, sent);
    cr_assert_gt(sent, 0);

    /* The dropped frame left no trace; reading one frees room for one. */
    for (got = 0; got < sent; got++) {
        memset(payload, 'a', sizeof(payload));
        memcpy(payload, &got, sizeof(got));
        recv_is(fds[0], HERD_MSG_HEALTH, payload, sizeof(payload));
        if (got == 0)
            cr_assert_eq(herd_channel_send(fds[1], HERD_MSG_STOP, NULL, 0),
                         HERD_OK, "no room after a frame was read");
    }
    recv_is(fds[0], HERD_MSG_STOP, NULL, 0);
}

Test(socket, recv_after_peer_closed)
{
    cr_assert_eq(herd_channel_send(fds[1], HERD_MSG_RETIRE, "r", 1), HERD_OK);
    close(fds[1]);
    fds[1] = -1;
    /* Frames sent before the close still arrive, then EOF. */
    recv_is(fds[0], HERD_MSG_RETIRE, "r", 1);
    recv_fails(fds[0], sizeof(rbuf), "closed");
    recv_fails(fds[0], sizeof(rbuf), "closed");
}

Test(socket, send_after_peer_closed)
{
    close(fds[0]);
    fds[0] = -1;
    /* MSG_NOSIGNAL: an EPIPE, not a SIGPIPE that would kill the test. */
    cr_assert_eq(herd_channel_send(fds[1], HERD_MSG_HEALTH, "h", 1), HERD_ERR);
    cr_assert_eq(herd_channel_send(fds[1], HERD_MSG_STOP, NULL, 0), HERD_ERR);
}

Test(socket, oversized_frame)
{
    static char raw[HERD_CHANNEL_MAX_FRAME + 1];
    char payload[100];

    memset(raw, 'z', sizeof(raw));
    header(raw, HERD_CHANNEL_VERSION, HERD_MSG_PUBLISH, 0,
           HERD_CHANNEL_MAX_PAYLOAD + 1);
    cr_assert_eq(send(fds[1], raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
    cr_assert_eq(herd_channel_send(fds[1], HERD_MSG_STOP, NULL, 0), HERD_OK);
    recv_fails(fds[0], sizeof(rbuf), "oversized frame");
    /* The oversized datagram is gone whole: the next frame is intact. */
    recv_is(fds[0], HERD_MSG_STOP, NULL, 0);

    /* A frame larger than a caller's smaller buffer is oversized too. */
    memset(payload, 'q', sizeof(payload));
    cr_assert_eq(
        herd_channel_send(fds[1], HERD_MSG_PUBLISH, payload, sizeof(payload)),
        HERD_OK);
    recv_fails(fds[0], HERD_CHANNEL_HEADER + sizeof(payload) - 1,
               "oversized frame");
    cr_assert_eq(
        herd_channel_send(fds[1], HERD_MSG_PUBLISH, payload, sizeof(payload)),
        HERD_OK);
    recv_is(fds[0], HERD_MSG_PUBLISH, payload, sizeof(payload));
}

Test(socket, malformed_datagram)
{
    char raw[HERD_CHANNEL_HEADER + 3];

    memset(raw, 0, sizeof(raw));
    header(raw, HERD_CHANNEL_VERSION, HERD_MSG_STOP, 0, 0);
    cr_assert_eq(send(fds[1], raw, 5, 0), 5);
    recv_fails(fds[0], sizeof(rbuf), "truncated header (5 of 8 bytes)");
    cr_assert_eq(send(fds[1], raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
    recv_fails(fds[0], sizeof(rbuf), "3 trailing bytes");
    header(raw, 7, HERD_MSG_STOP, 0, 0);
    cr_assert_eq(send(fds[1], raw, HERD_CHANNEL_HEADER, 0),
                 HERD_CHANNEL_HEADER);
    recv_fails(fds[0], sizeof(rbuf), "unknown version 7");
}

Test(channel, route_counts_round_trip_and_refuse_bad_input)
{
    struct herd_route_count in[3], out[3];
    char buf[4 + 3 * HERD_ROUTE_COUNT_WIRE_LEN];
    size_t len, n, i, j;

    memset(in, 0, sizeof(in));
    for (i = 0; i < 3; i++) {
        in[i].id = (uint32_t)(i * 100);
        for (j = 0; j < 6; j++)
            in[i].status[j] = (uint64_t)i << 40 | j;
    }
    len = herd_route_counts_encode(in, 3, buf, sizeof(buf));
    cr_assert_eq(len, sizeof(buf));
    cr_assert_eq(herd_route_counts_decode(buf, len, out, 3, &n), HERD_OK);
    cr_assert_eq(n, 3);
    for (i = 0; i < 3; i++) {
        cr_expect_eq(out[i].id, in[i].id);
        for (j = 0; j < 6; j++)
            cr_expect_eq(out[i].status[j], in[i].status[j]);
    }
    /* Too little room to encode. */
    cr_expect_eq(herd_route_counts_encode(in, 3, buf, sizeof(buf) - 1), 0);
    /* Truncated, trailing bytes, more than the caller has room for. */
    cr_expect_eq(herd_route_counts_decode(buf, len - 1, out, 3, &n), HERD_ERR);
    cr_expect_eq(herd_route_counts_decode(buf, 3, out, 3, &n), HERD_ERR);
    cr_expect_eq(herd_route_counts_decode(buf, len, out, 2, &n), HERD_ERR);
    /* An id past the last route metric. */
    in[1].id = HERD_MAX_ROUTE_METRICS;
    len = herd_route_counts_encode(in, 3, buf, sizeof(buf));
    cr_expect_eq(herd_route_counts_decode(buf, len, out, 3, &n), HERD_ERR);
    cr_expect_eq(n, 0);
}

/* A queue behind a socket the peer does not read: nothing is dropped,
   order is kept, the bound holds. */
Test(channel, queue_keeps_order_when_the_peer_is_slow)
{
    struct herd_chanq q = {0};
    static char buf[HERD_CHANNEL_MAX_FRAME];
    char payload[1000], err[HERD_ERR_LEN];
    struct herd_msg msg;
    int qfds[2], i, sent = 0, got = 0, rc;

    cr_assert_eq(herd_channel_pair(qfds, err, sizeof(err)), HERD_OK);
    q.max = 4 * 1024 * 1024;
    memset(payload, 'x', sizeof(payload));
    /* Far more than the socket buffer holds. */
    for (i = 0; i < 2000; i++) {
        memcpy(payload, &i, sizeof(i));
        cr_assert_eq(herd_chanq_send(&q, qfds[0], HERD_MSG_DELIVER, payload,
                                     sizeof(payload)),
                     HERD_OK);
        sent++;
    }
    cr_assert(herd_chanq_pending(&q), "the socket took it all?");
    while (got < sent) {
        while ((rc = herd_channel_recv(qfds[1], buf, sizeof(buf), &msg, err,
                                       sizeof(err))) == HERD_OK) {
            int seq;

            cr_assert_eq(msg.len, sizeof(payload));
            memcpy(&seq, msg.payload, sizeof(seq));
            cr_assert_eq(seq, got, "out of order: %d for %d", seq, got);
            got++;
        }
        cr_assert_eq(rc, HERD_AGAIN);
        rc = herd_chanq_flush(&q, qfds[0]);
        cr_assert(rc == HERD_OK || rc == HERD_AGAIN);
    }
    cr_expect(!herd_chanq_pending(&q));
    /* Full: refused, not silently dropped. */
    q.max = 2048;
    for (i = 0;
         i < 5000 && herd_chanq_send(&q, qfds[0], HERD_MSG_DELIVER, payload,
                                     sizeof(payload)) == HERD_OK;
         i++)
        ;
    cr_expect_lt(i, 5000, "the bound never held");
    herd_chanq_free(&q);
    close(qfds[0]);
    close(qfds[1]);
}
