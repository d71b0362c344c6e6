/* test_websocket.c: the websocket handler of the real herd, raw and by ws. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The RFC 6455 (1.3) example: this key must get this accept value. */
#define KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* /ws/:room for the most tests; /calm/:room without the 1 s keepalive
   for clients that must not be closed as idle; /events/:room publishes to
   the same channels by POST. */
#define ROUTES                                                                 \
    "worker: { heartbeat: 100ms }\n"                                           \
    "routes:\n"                                                                \
    "  - { path: /metrics, metrics: {} }\n"                                    \
    "  - path: /ws/:room\n"                                                    \
    "    websocket: { channel: \":room\", max_message_size: 1k,\n"             \
    "                 keepalive: 1s }\n"                                       \
    "  - path: /calm/:room\n"                                                  \
    "    websocket: { channel: \":room\", keepalive: 1h,\n"                    \
    "                 max_pending: 64k }\n"                                    \
    "  - path: /id/:room\n"                                                    \
    "    websocket: { channel: \":room\", ids: true, keepalive: 1h }\n"        \
    "  - path: /ro/:room\n"                                                    \
    "    websocket: { channel: \":room\", publish: false }\n"                  \
    "  - path: /events/:room\n"                                                \
    "    methods: [GET, POST]\n"                                               \
    "    events: { channel: \":room\", publish_from: [127.0.0.0/8] }\n"

static struct hh_server srv;

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
start_n(int workers)
{
    char yaml[2048];

    snprintf(yaml, sizeof(yaml), "workers: %d\n%s", workers, ROUTES);
    cr_assert_eq(hh_start(&srv, yaml, workers), 0, "herd did not start");
}

static void
start(void)
{
    start_n(1);
}

static void
stop(void)
{
    if (srv.pid > 0)
        cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
}

TestSuite(websocket, .init = start, .fini = stop, .timeout = 60);

/* ---- a small client: handshake, masked frames out, frames in ---- */

/* Read exactly len bytes within the deadline (now_ms() clock). 0, or -1
   on EOF, error or timeout. */
static int
read_exact(int fd, void *buf, size_t len, long deadline)
{
    uint8_t *p = buf;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t n;
    long left;

    while (len > 0) {
        left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return -1;
        n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read a response head byte by byte (nothing read past it: frames may
   follow) into head; 0 or -1. */
static int
read_head(int fd, char *head, size_t cap)
{
    long deadline = now_ms() + 5000;
    size_t len = 0;

    while (len + 1 < cap) {
        if (read_exact(fd, head + len, 1, deadline) != 0)
            return -1;
        len++;
        head[len] = '\0';
        if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
            return 0;
    }
    return -1;
}

/* The value of header name in head, copied into buf, or NULL. */
static const char *
head_header(const char *head, const char *name, char *buf, size_t cap)
{
    size_t nlen = strlen(name), n;
    const char *p = strstr(head, "\r\n"), *v, *end;

    while (p != NULL && p[2] != '\r') {
        p += 2;
        end = strstr(p, "\r\n");
        if (end == NULL)
            break;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            for (v = p + nlen + 1; *v == ' ' || *v == '\t'; v++)
                ;
            n = (size_t)(end - v);
            if (n >= cap)
                n = cap - 1;
            memcpy(buf, v, n);
            buf[n] = '\0';
            return buf;
        }
        p = end;
    }
    return NULL;
}

/* Open a WebSocket to path with the RFC's example key; asserts the 101
   and its Sec-WebSocket-Accept. Returns the descriptor. */
static int
ws_open_at(const struct hh_server *s, const char *path)
{
    char req[512], head[4096], v[128];
    int fd = hh_connect(s);

    cr_assert_geq(fd, 0, "cannot connect");
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n",
             path);
    cr_assert_eq(hh_send(fd, req, 0), 0);
    cr_assert_eq(read_head(fd, head, sizeof(head)), 0, "no 101 for %s", path);
    cr_assert_eq(strncmp(head, "HTTP/1.1 101 ", 13), 0, "not a 101: %s", head);
    cr_assert_not_null(head_header(head, "Sec-WebSocket-Accept", v, sizeof(v)),
                       "no Sec-WebSocket-Accept: %s", head);
    cr_expect_str_eq(v, ACCEPT);
    cr_assert_not_null(head_header(head, "Upgrade", v, sizeof(v)));
    cr_expect_eq(strcasecmp(v, "websocket"), 0, "Upgrade: %s", v);
    return fd;
}

static int
ws_open(const char *path)
{
    return ws_open_at(&srv, path);
}

/* Send one frame: b0 is the first byte (FIN, opcode), masked unless
   unmasked is set. 0 or -1 (the server may have closed already). */
static int
ws_frame(int fd, uint8_t b0, const void *data, size_t len, int unmasked)
{
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t *f = malloc(len + 14);
    size_t n = 0, i;
    int rc;

    cr_assert_not_null(f);
    f[n++] = b0;
    if (len < 126) {
        f[n++] = (uint8_t)((unmasked ? 0 : 0x80) | len);
    } else if (len < 65536) {
        f[n++] = (uint8_t)((unmasked ? 0 : 0x80) | 126);
        f[n++] = (uint8_t)(len >> 8);
        f[n++] = (uint8_t)len;
    } else {
        f[n++] = (uint8_t)((unmasked ? 0 : 0x80) | 127);
        for (i = 0; i < 8; i++)
            f[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    if (!unmasked) {
        memcpy(f + n, mask, 4);
        n += 4;
    }
    for (i = 0; i < len; i++)
        f[n + i] = ((const uint8_t *)data)[i] ^ (unmasked ? 0 : mask[i % 4]);
    rc = hh_send(fd, (const char *)f, n + len);
    free(f);
    return rc;
}

static void
ws_text(int fd, const char *text)
{
    cr_assert_eq(ws_frame(fd, 0x81, text, strlen(text), 0), 0);
}

/* A frame from the server. */
struct frame {
    int fin, opcode;
    uint8_t *data; /* malloc'd, NUL-terminated */
    size_t len;
};

/* Read one frame within timeout_ms. 0, or -1 on EOF or timeout. Asserts
   what the server must never send: masked frames, RSV bits. */
static int
ws_recv_frame(int fd, struct frame *f, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    uint8_t h[8];
    uint64_t len;
    int i;

    f->data = NULL;
    if (read_exact(fd, h, 2, deadline) != 0)
        return -1;
    cr_assert_eq(h[0] & 0x70, 0, "RSV bits set: %#x", h[0]);
    cr_assert_eq(h[1] & 0x80, 0, "the server masked a frame");
    f->fin = h[0] >> 7;
    f->opcode = h[0] & 0x0f;
    len = h[1] & 0x7f;
    if (len == 126) {
        if (read_exact(fd, h, 2, deadline) != 0)
            return -1;
        len = (uint64_t)h[0] << 8 | h[1];
    } else if (len == 127) {
        if (read_exact(fd, h, 8, deadline) != 0)
            return -1;
        for (len = 0, i = 0; i < 8; i++)
            len = len << 8 | h[i];
    }
    cr_assert_lt(len, 1u << 24, "frame of %llu bytes", (unsigned long long)len);
    f->len = (size_t)len;
    f->data = malloc(f->len + 1);
    cr_assert_not_null(f->data);
    f->data[f->len] = '\0';
    if (read_exact(fd, f->data, f->len, deadline) != 0) {
        free(f->data);
        f->data = NULL;
        return -1;
    }
    return 0;
}

/* The next frame that is not a ping (pings are answered with a pong, as
   a browser does), or -1. */
static int
ws_recv(int fd, struct frame *f, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;

    for (;;) {
        if (ws_recv_frame(fd, f, (int)(deadline - now_ms())) != 0)
            return -1;
        if (f->opcode != 0x9)
            return 0;
        ws_frame(fd, 0x8a, f->data, f->len, 0);
        free(f->data);
    }
}

/* Expect a text message with this text. */
static void
expect_text(int fd, const char *text)
{
    struct frame f;

    cr_assert_eq(ws_recv(fd, &f, 5000), 0, "no message (wanted \"%.40s\")",
                 text);
    cr_expect_eq(f.opcode, 0x1, "opcode %d, not text", f.opcode);
    cr_expect(f.fin);
    cr_expect_eq(f.len, strlen(text), "%zu bytes, not %zu", f.len,
                 strlen(text));
    cr_expect_eq(
        memcmp(f.data, text, f.len < strlen(text) ? f.len : strlen(text)), 0,
        "got \"%.60s\", wanted \"%.60s\"", f.data, text);
    free(f.data);
}

/* Expect a close frame with code (then the TCP close). */
static void
expect_close(int fd, int code)
{
    struct frame f;
    int got;

    for (;;) {
        cr_assert_eq(ws_recv(fd, &f, 5000), 0, "no close frame (wanted %d)",
                     code);
        if (f.opcode != 0x1 && f.opcode != 0xa)
            break;
        free(f.data); /* messages or pongs sent before the close */
    }
    cr_assert_eq(f.opcode, 0x8, "opcode %d, not close", f.opcode);
    cr_assert_geq(f.len, 2, "a close frame without a code");
    got = f.data[0] << 8 | f.data[1];
    cr_expect_eq(got, code, "closed with %d, not %d (reason \"%s\")", got, code,
                 f.data + 2);
    free(f.data);
    cr_expect(hh_closed(fd, 5000), "the TCP connection stayed open");
}

/* Nothing arrives on fd for ms milliseconds (pings aside). */
static void
expect_silence(int fd, int ms)
{
    struct frame f;
    long deadline = now_ms() + ms;
    int left;

    while ((left = (int)(deadline - now_ms())) > 0) {
        if (ws_recv(fd, &f, left) != 0)
            return;
        cr_expect_fail("unexpected frame: opcode %d \"%.60s\"", f.opcode,
                       f.data);
        free(f.data);
        return;
    }
}

/* POST body to /events/room: 202 once the master has it. */
static void
publish(const char *room, const char *body)
{
    size_t len = strlen(body);
    char *raw = malloc(len + 256);
    struct hh_response r;

    cr_assert_not_null(raw);
    snprintf(raw, len + 256,
             "POST /events/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             room, len, body);
    cr_assert_eq(hh_request(&srv, raw, &r), 0, "no answer to the POST");
    cr_expect_eq(r.status, 202, "POST: %d %s", r.status, r.body);
    hh_response_free(&r);
    free(raw);
}

/* ---- the opening handshake ---- */

static void
refused(const char *raw, int status, const char *header, const char *value)
{
    struct hh_response r;
    char v[128];

    cr_assert_eq(hh_request(&srv, raw, &r), 0, "no answer");
    cr_expect_eq(r.status, status, "status %d, not %d for:\n%s", r.status,
                 status, raw);
    if (header != NULL) {
        cr_expect_not_null(hh_header(&r, header, v, sizeof(v)), "no %s: %s",
                           header, r.head);
        cr_expect_str_eq(hh_header(&r, header, v, sizeof(v)) ? v : "", value);
    }
    hh_response_free(&r);
}

Test(websocket, handshake_accept)
{
    int fd = ws_open("/ws/a");

    close(fd);
}

Test(websocket, handshake_refusals)
{
    refused("GET /ws/a HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: " KEY "\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n",
            426, "Upgrade", "websocket");
    refused("GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
            "Sec-WebSocket-Version: 8\r\n\r\n",
            426, "Sec-WebSocket-Version", "13");
    refused("GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: not-a-key\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n",
            400, NULL, NULL);
    refused("GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n",
            400, NULL, NULL);
    refused("GET /ws/a HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n",
            400, NULL, NULL);
}

/* ---- messages ---- */

Test(websocket, echo_to_room)
{
    int a = ws_open("/ws/r1"), b = ws_open("/ws/r1"), other = ws_open("/ws/r2");

    /* One client's messages keep their order; the sender gets its own. */
    ws_text(a, "first");
    ws_text(a, "second");
    expect_text(a, "first");
    expect_text(a, "second");
    expect_text(b, "first");
    expect_text(b, "second");
    ws_text(b, "third");
    expect_text(a, "third");
    expect_text(b, "third");

    publish("r1", "from a POST");
    expect_text(a, "from a POST");
    expect_text(b, "from a POST");

    expect_silence(other, 300);
    close(a);
    close(b);
    close(other);
}

/* Its own suite: two workers, started by the test. */
TestSuite(websocket_workers, .fini = stop, .timeout = 60);

Test(websocket_workers, cross_worker)
{
    char access[128], keys[200], *log = NULL, *p;
    int fds[32], n = 0, i, seen0 = 0, seen1 = 0, round;
    FILE *f;
    long deadline;

    snprintf(access, sizeof(access), "/tmp/herd-ws-access-%d.log",
             (int)getpid());
    snprintf(keys, sizeof(keys), "access: %s", access);
    unlink(access);
    cr_assert_eq(hh_start_log(&srv, "workers: 2\n" ROUTES, 2, keys), 0,
                 "herd did not start");
    /* Connections go to the workers by a hash of their ports: open them
       8 at a time until the access log shows a 101 from each slot. */
    for (round = 0; round < 4 && !(seen0 && seen1); round++) {
        for (i = 0; i < 8; i++)
            fds[n++] = ws_open("/calm/x");
        deadline = now_ms() + 5000;
        for (;;) {
            int c101 = 0;

            free(log);
            log = NULL;
            f = fopen(access, "r");
            if (f != NULL) {
                size_t cap = 0;
                ssize_t got = getdelim(&log, &cap, '\0', f);

                fclose(f);
                if (got < 0) {
                    free(log);
                    log = NULL;
                }
            }
            seen0 = seen1 = 0;
            for (p = log; p != NULL && (p = strstr(p, "\" 101 ")) != NULL;
                 p++) {
                char *eol = strchr(p, '\n');

                c101++;
                if (eol != NULL && eol - p > 7) {
                    if (strncmp(eol - 7, " slot=0", 7) == 0)
                        seen0 = 1;
                    if (strncmp(eol - 7, " slot=1", 7) == 0)
                        seen1 = 1;
                }
            }
            if (c101 >= n || now_ms() > deadline)
                break;
            usleep(20000); /* polling the access log, flushed every 100 ms */
        }
        cr_assert_eq(seen0 + seen1 > 0, 1, "no 101 in the access log:\n%s",
                     log ? log : "(none)");
    }
    free(log);
    cr_assert(seen0 && seen1, "one worker took all %d clients", n);

    /* The master forwards to a worker once that worker has subscribed:
       publish probes until every client has one, then the message. */
    for (i = 0; i < n; i++) {
        struct frame fr;
        int got = 0, tries;

        for (tries = 0; !got && tries < 50; tries++) {
            if (tries % 5 == 0)
                publish("x", "probe");
            if (ws_recv(fds[i], &fr, 100) == 0) {
                got = fr.opcode == 0x1;
                free(fr.data);
            }
        }
        cr_assert(got, "client %d never got a probe", i);
    }
    publish("x", "to everyone");
    /* And what one client sends reaches every client, in its order. */
    for (i = 0; i < 20; i++) {
        char m[16];

        snprintf(m, sizeof(m), "m%d", i);
        ws_text(fds[n - 1], m);
    }
    for (i = 0; i < n; i++) {
        struct frame fr;
        char want[16];
        int k;

        do {
            cr_assert_eq(ws_recv(fds[i], &fr, 5000), 0, "client %d: nothing",
                         i);
            if (strcmp((char *)fr.data, "probe") != 0)
                break;
            free(fr.data);
        } while (1);
        cr_expect_str_eq((char *)fr.data, "to everyone", "client %d", i);
        free(fr.data);
        for (k = 0; k < 20; k++) {
            snprintf(want, sizeof(want), "m%d", k);
            cr_assert_eq(ws_recv(fds[i], &fr, 5000), 0, "client %d: no %s", i,
                         want);
            cr_expect_str_eq((char *)fr.data, want, "client %d", i);
            free(fr.data);
        }
    }
    for (i = 0; i < n; i++)
        close(fds[i]);
    unlink(access);
}

/* ---- control frames and keepalive ---- */

Test(websocket, ping_pong)
{
    int fd = ws_open("/ws/p");
    struct frame f;

    cr_assert_eq(ws_frame(fd, 0x89, "are you there", 13, 0), 0);
    cr_assert_eq(ws_recv_frame(fd, &f, 5000), 0, "no pong");
    if (f.opcode == 0x9) { /* the server's own ping came first */
        free(f.data);
        cr_assert_eq(ws_recv_frame(fd, &f, 5000), 0, "no pong");
    }
    cr_expect_eq(f.opcode, 0xa, "opcode %d, not pong", f.opcode);
    cr_expect_eq(f.len, 13);
    cr_expect_eq(memcmp(f.data, "are you there", 13), 0, "pong \"%s\"", f.data);
    free(f.data);
    close(fd);
}

Test(websocket, keepalive)
{
    int live = ws_open("/ws/k"), mute = ws_open("/ws/k"), pings = 0;
    long t0 = now_ms(), mute_closed = -1, t;
    struct frame f;

    /* live answers every ping; mute never sends a frame. Watch both for
       4.5 s (mute's close is due after 2 to 3 s with keepalive 1s). */
    while ((t = now_ms() - t0) < 4500) {
        struct pollfd p[2] = {
            {.fd = live, .events = POLLIN},
            {.fd = mute_closed < 0 ? mute : -1, .events = POLLIN}};

        if (poll(p, 2, (int)(4500 - t)) <= 0)
            break;
        if (p[0].revents) {
            cr_assert_eq(ws_recv_frame(live, &f, 1000), 0,
                         "the answering client was closed after %ld ms",
                         now_ms() - t0);
            if (f.opcode == 0x9) {
                pings++;
                cr_assert_eq(ws_frame(live, 0x8a, f.data, f.len, 0), 0);
            }
            free(f.data);
        }
        if (p[1].revents) {
            if (ws_recv_frame(mute, &f, 1000) != 0)
                mute_closed = now_ms() - t0;
            else
                free(f.data); /* its pings */
        }
    }
    cr_expect_geq(pings, 3, "%d pings in 4.5 s with keepalive 1s", pings);
    cr_expect_geq(mute_closed, 0, "a silent client was never closed");
    cr_expect_geq(mute_closed, 1900, "closed after %ld ms only", mute_closed);
    /* live still works. */
    ws_text(live, "still here");
    expect_text(live, "still here");
    close(live);
    close(mute);
}

Test(websocket, close_handshake)
{
    int fd = ws_open("/ws/c");

    cr_assert_eq(ws_frame(fd, 0x88,
                          "\x03\xe8"
                          "bye",
                          5, 0),
                 0);
    expect_close(fd, 1000);
    close(fd);
}

/* ---- protocol errors ---- */

Test(websocket, oversize_message)
{
    int fd = ws_open("/ws/e");
    char big[2000];

    memset(big, 'x', sizeof(big));
    ws_frame(fd, 0x81, big, sizeof(big), 0);
    expect_close(fd, 1009);
    close(fd);
}

Test(websocket, bad_utf8)
{
    int fd = ws_open("/ws/e");

    ws_frame(fd, 0x81, "ok \xc3\x28 no", 9, 0);
    expect_close(fd, 1007);
    close(fd);
}

Test(websocket, unmasked_frame)
{
    int fd = ws_open("/ws/e");

    ws_frame(fd, 0x81, "plain", 5, 1);
    expect_close(fd, 1002);
    close(fd);
}

Test(websocket, binary_message)
{
    int fd = ws_open("/ws/e");

    ws_frame(fd, 0x82, "\x00\x01\x02", 3, 0);
    expect_close(fd, 1003);
    close(fd);
}

Test(websocket, fragmented_message)
{
    int fd = ws_open("/ws/f"), peer = ws_open("/ws/f");
    struct frame f;

    cr_assert_eq(ws_frame(fd, 0x01, "one, ", 5, 0), 0);
    cr_assert_eq(ws_frame(fd, 0x00, "two, ", 5, 0), 0);
    cr_assert_eq(ws_frame(fd, 0x89, "mid", 3, 0), 0);
    cr_assert_eq(ws_frame(fd, 0x80, "three", 5, 0), 0);
    /* The pong for the ping between the fragments comes first. */
    do {
        cr_assert_eq(ws_recv_frame(fd, &f, 5000), 0, "no pong");
        if (f.opcode != 0xa)
            free(f.data);
    } while (f.opcode == 0x9);
    cr_expect_eq(f.opcode, 0xa, "opcode %d, not pong", f.opcode);
    cr_expect_str_eq((char *)f.data, "mid");
    free(f.data);
    expect_text(fd, "one, two, three");
    expect_text(peer, "one, two, three");
    close(fd);
    close(peer);
}

/* ---- flow control ---- */

static void pubsub_metrics(long *subs, long *dropped);

Test(websocket, slow_client_dropped)
{
    int small = 1024, slow, quick, i, closed = 0;
    char *msg = malloc(32 * 1024 + 1);
    struct frame f;

    cr_assert_not_null(msg);
    /* A tiny receive window, set before the handshake, and never read. */
    slow = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(slow, 0);
    setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    {
        struct sockaddr_in sa = {.sin_family = AF_INET};

        sa.sin_port = htons((uint16_t)srv.port);
        sa.sin_addr.s_addr = htonl(0x7f000001);
        cr_assert_eq(connect(slow, (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    {
        char head[2048];
        const char *req =
            "GET /calm/s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n";

        cr_assert_eq(hh_send(slow, req, 0), 0);
        cr_assert_eq(read_head(slow, head, sizeof(head)), 0);
        cr_assert_eq(strncmp(head, "HTTP/1.1 101 ", 13), 0, "%s", head);
    }
    quick = ws_open("/calm/s");

    for (i = 0; i < 32 * 1024; i++)
        msg[i] = (char)('a' + i % 26);
    msg[32 * 1024] = '\0';
    /* 64k of max_pending and a socket that takes little: a few dozen
       32k messages leave slow far behind. */
    for (i = 0; i < 100 && hh_log_count(&srv, "dropping a subscriber") == 0;
         i++) {
        publish("s", msg);
        /* quick keeps up. */
        cr_assert_eq(ws_recv(quick, &f, 5000), 0, "quick got nothing");
        cr_expect_eq(f.len, 32 * 1024);
        free(f.data);
    }
    cr_assert_eq(hh_wait_log(&srv, "dropping a subscriber", 1, 5000), 0,
                 "the slow client was never dropped");
    {
        char buf[4096];

        /* Read what it has (shortly, then EOF or reset). */
        hh_read_until_close(slow, buf, sizeof(buf), 5000, &closed);
        cr_expect(closed, "the slow client's connection stayed open");
    }
    publish("s", "after the drop");
    expect_text(quick, "after the drop");
    {
        long subs, dropped = 0, deadline = now_ms() + 5000;

        /* The drop is counted (the heartbeat brings it in 100 ms). */
        do {
            pubsub_metrics(&subs, &dropped);
        } while (dropped < 1 && now_ms() < deadline && usleep(20000) == 0);
        cr_expect_eq(dropped, 1, "herd_pubsub_dropped_total %ld", dropped);
    }
    close(slow);
    close(quick);
    free(msg);
}

/* ---- reload ---- */

Test(websocket, reload_going_away)
{
    int fd = ws_open("/calm/h"), again;
    pid_t old = hh_worker_pid(&srv, 0, 0);
    long t0;

    cr_assert_gt(old, 0);
    /* Subscribed: a message arrives before the reload. */
    publish("h", "before");
    expect_text(fd, "before");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    expect_close(fd, 1001);
    close(fd);
    cr_expect_eq(hh_wait_gone(old, 5000), 0,
                 "the old worker stayed after its client left");
    for (t0 = now_ms(); hh_worker_pid(&srv, 0, 2) <= 0; usleep(10000))
        cr_assert_lt(now_ms() - t0, 10000, "no worker of generation 2");
    cr_expect_neq(hh_worker_pid(&srv, 0, 2), old);
    again = ws_open("/calm/h");
    publish("h", "after");
    expect_text(again, "after");
    close(again);
}

/* ---- a real client: ws for node ---- */

Test(websocket, node_ws_client)
{
    const char *srcdir = getenv("HERD_SRCDIR");
    char script[512], mod[512], port[16], out[8192];
    int pipefd[2], status = 0;
    size_t len = 0;
    ssize_t n;
    pid_t pid;
    long deadline;
    struct stat st;

    if (srcdir == NULL)
        srcdir = ".";
    snprintf(script, sizeof(script), "%s/t/ws/client.js", srcdir);
    snprintf(mod, sizeof(mod), "%s/t/ws/node_modules/ws/package.json", srcdir);
    if (stat(mod, &st) != 0) {
        stop(); /* a skipped test's .fini does not run */
        cr_skip_test("the ws package is not installed: run "
                     "`npm ci --prefix t/ws` to run this test");
        return;
    }
    snprintf(port, sizeof(port), "%d", srv.port);
    cr_assert_eq(pipe(pipefd), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execlp("node", "node", script, port, (char *)NULL);
        perror("exec node");
        _exit(127);
    }
    close(pipefd[1]);
    deadline = now_ms() + 30000;
    for (;;) {
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        long left = deadline - now_ms();

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        n = read(pipefd[0], out + len, sizeof(out) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof(out) - 1)
            break;
    }
    out[len] = '\0';
    close(pipefd[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "node t/ws/client.js failed (status %#x):\n%s", status, out);
}

/* ---- more of the protocol ---- */

Test(websocket, handshake_tokens)
{
    /* Header names and the tokens are case-insensitive; Connection is a
       list. */
    int fd = hh_connect(&srv);
    char head[4096], v[128];

    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd,
                "GET /ws/t HTTP/1.1\r\nHost: x\r\nupgrade: WebSocket\r\n"
                "connection: keep-alive, Upgrade\r\n"
                "sec-websocket-key: " KEY "\r\n"
                "sec-websocket-version: 13\r\n\r\n",
                0),
        0);
    cr_assert_eq(read_head(fd, head, sizeof(head)), 0);
    cr_assert_eq(strncmp(head, "HTTP/1.1 101 ", 13), 0, "%s", head);
    cr_expect_str_eq(
        head_header(head, "Sec-WebSocket-Accept", v, sizeof(v)) ? v : "",
        ACCEPT);
    ws_text(fd, "tokens");
    expect_text(fd, "tokens");
    close(fd);
}

Test(websocket, frames_with_the_handshake)
{
    /* A client may send its first frames right after the request, in the
       same segment. */
    int fd = hh_connect(&srv);
    char head[4096];
    static const char req[] =
        "GET /ws/w HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
        /* masked "early" with the key 00 00 00 00 */
        "\x81\x85\x00\x00\x00\x00"
        "early";

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, req, sizeof(req) - 1), 0);
    cr_assert_eq(read_head(fd, head, sizeof(head)), 0);
    cr_assert_eq(strncmp(head, "HTTP/1.1 101 ", 13), 0, "%s", head);
    expect_text(fd, "early");
    close(fd);
}

Test(websocket, message_split_across_segments)
{
    static const uint8_t mask[4] = {1, 2, 3, 4};
    int fd = ws_open("/ws/s");
    uint8_t f[8 + 300];
    char text[301];
    size_t i;

    for (i = 0; i < 300; i++)
        text[i] = (char)('A' + i % 26);
    text[300] = '\0';
    /* A 300-byte text frame (16-bit length) sent 7 bytes at a time. */
    f[0] = 0x81;
    f[1] = 0x80 | 126;
    f[2] = 300 >> 8;
    f[3] = 300 & 0xff;
    memcpy(f + 4, mask, 4);
    for (i = 0; i < 300; i++)
        f[8 + i] = (uint8_t)(text[i] ^ mask[i % 4]);
    cr_assert_eq(hh_send_paced(fd, (const char *)f, sizeof(f), 7, 2), 0);
    expect_text(fd, text);
    close(fd);
}

Test(websocket, size_limit_boundary)
{
    int fd = ws_open("/ws/b");
    char msg[1025];

    /* Exactly max_message_size (1k) is fine, one byte more is not. */
    memset(msg, 'm', 1024);
    msg[1024] = '\0';
    ws_text(fd, msg);
    expect_text(fd, msg);
    cr_assert_eq(ws_frame(fd, 0x01, msg, 1000, 0), 0);
    cr_assert_eq(ws_frame(fd, 0x80, msg, 25, 0), 0);
    expect_close(fd, 1009);
    close(fd);
}

Test(websocket, length_encodings)
{
    /* Messages published by POST, in the 7-bit, 16-bit lengths and at the
       largest a channel carries (60k). */
    static const size_t sizes[] = {1, 125, 126, 65535 - 4096};
    int fd = ws_open("/calm/l");
    char *msg = malloc(61440 + 1);
    size_t i;

    cr_assert_not_null(msg);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i] < 61440 ? sizes[i] : 61440;

        memset(msg, (int)('a' + i), n);
        msg[n] = '\0';
        publish("l", msg);
        expect_text(fd, msg);
    }
    free(msg);
    close(fd);
}

Test(websocket, utf8_across_fragments)
{
    int fd = ws_open("/ws/u");

    /* "é" (c3 a9) split between two fragments, then a bad sequence in the
       first fragment of the next message: 1007 without waiting for FIN. */
    cr_assert_eq(ws_frame(fd, 0x01, "caf\xc3", 4, 0), 0);
    cr_assert_eq(ws_frame(fd, 0x80, "\xa9!", 2, 0), 0);
    expect_text(fd, "caf\xc3\xa9!");
    cr_assert_eq(ws_frame(fd, 0x01, "\xed\xa0\x80", 3, 0), 0); /* U+D800 */
    expect_close(fd, 1007);
    close(fd);
}

Test(websocket, protocol_errors)
{
    struct {
        uint8_t b0;
        const char *data;
        size_t len;
        const char *what;
    } cases[] = {
        {0x80, "x", 1, "a continuation with no message open"},
        {0xc1, "x", 1, "RSV1 set"},
        {0x83, "x", 1, "reserved opcode 3"},
        {0x8b, "x", 1, "reserved opcode 0xb"},
        {0x09, "x", 1, "a fragmented ping"},
        {0x88, "\x03", 1, "a close payload of 1 byte"},
        {0x88, "\x03\xed", 2, "close code 1005"},
        {0x88, "\x03\xe7", 2, "close code 999"},
    };
    size_t i;
    int fd;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_log_info("%s", cases[i].what);
        fd = ws_open("/ws/e");
        cr_assert_eq(ws_frame(fd, cases[i].b0, cases[i].data, cases[i].len, 0),
                     0);
        expect_close(fd, 1002);
        close(fd);
    }
    /* A ping of 126 bytes: over the control frame limit. */
    {
        char big[126];

        memset(big, 'p', sizeof(big));
        fd = ws_open("/ws/e");
        cr_assert_eq(ws_frame(fd, 0x89, big, sizeof(big), 0), 0);
        expect_close(fd, 1002);
        close(fd);
    }
    /* A new message while a fragmented one is open. */
    fd = ws_open("/ws/e");
    cr_assert_eq(ws_frame(fd, 0x01, "one", 3, 0), 0);
    cr_assert_eq(ws_frame(fd, 0x81, "two", 3, 0), 0);
    expect_close(fd, 1002);
    close(fd);
}

Test(websocket, close_without_code)
{
    int fd = ws_open("/ws/c");
    struct frame f;

    /* An empty close is echoed empty (1005 is never sent). */
    cr_assert_eq(ws_frame(fd, 0x88, "", 0, 0), 0);
    cr_assert_eq(ws_recv(fd, &f, 5000), 0, "no close frame");
    cr_expect_eq(f.opcode, 0x8);
    cr_expect_eq(f.len, 0, "close payload of %zu bytes", f.len);
    free(f.data);
    cr_expect(hh_closed(fd, 5000));
    close(fd);
}

Test(websocket, nothing_after_close)
{
    int fd = ws_open("/ws/n"), peer = ws_open("/ws/n");

    /* What follows a close frame is not read: "ghost" is never
       published. */
    cr_assert_eq(ws_frame(fd, 0x88, "\x0f\xa0", 2, 0), 0); /* 4000 */
    ws_frame(fd, 0x81, "ghost", 5, 0);
    expect_close(fd, 4000);
    ws_text(peer, "real");
    expect_text(peer, "real");
    close(fd);
    close(peer);
}

Test(websocket, binary_from_publisher)
{
    int fd = ws_open("/calm/bin");
    struct frame f;

    /* A published message that is not UTF-8 goes out as binary. */
    publish("bin", "\xff\xfe raw");
    cr_assert_eq(ws_recv(fd, &f, 5000), 0);
    cr_expect_eq(f.opcode, 0x2, "opcode %d, not binary", f.opcode);
    cr_expect_eq(f.len, 6);
    cr_expect_eq(memcmp(f.data, "\xff\xfe raw", 6), 0);
    free(f.data);
    close(fd);
}

Test(websocket, events_subscriber_gets_ws_messages)
{
    int sse = hh_connect(&srv), fd;
    char buf[4096] = "";
    size_t len = 0;
    ssize_t n;
    long deadline;

    cr_assert_geq(sse, 0);
    cr_assert_eq(hh_send(sse,
                         "GET /events/mix HTTP/1.1\r\nHost: x\r\n"
                         "Accept: text/event-stream\r\n\r\n",
                         0),
                 0);
    /* The stream is open once its head is in. */
    deadline = now_ms() + 5000;
    while (strstr(buf, "\r\n\r\n") == NULL) {
        cr_assert_eq(read_exact(sse, buf + len, 1, deadline), 0, "no SSE head");
        buf[++len] = '\0';
    }
    cr_assert_eq(strncmp(buf, "HTTP/1.1 200 ", 13), 0, "%s", buf);
    fd = ws_open("/ws/mix");
    ws_text(fd, "from a websocket");
    expect_text(fd, "from a websocket");
    len = 0;
    buf[0] = '\0';
    deadline = now_ms() + 5000;
    while (strstr(buf, "data: from a websocket\n") == NULL) {
        struct pollfd p = {.fd = sse, .events = POLLIN};

        cr_assert_gt(poll(&p, 1, (int)(deadline - now_ms())), 0,
                     "the SSE client got nothing: %s", buf);
        n = read(sse, buf + len, sizeof(buf) - 1 - len);
        cr_assert_gt(n, 0, "the SSE stream ended: %s", buf);
        len += (size_t)n;
        buf[len] = '\0';
    }
    close(fd);
    close(sse);
}

Test(websocket, graceful_stop_going_away)
{
    int fd = ws_open("/calm/g"), status;
    long t0;

    /* SIGTERM: the client gets 1001 and herd does not wait for it. */
    publish("g", "hello");
    expect_text(fd, "hello");
    cr_assert_eq(kill(srv.pid, SIGTERM), 0);
    t0 = now_ms();
    expect_close(fd, 1001);
    close(fd);
    cr_assert_eq(hh_wait_exit(&srv, 10000, &status), 0, "herd did not exit");
    cr_expect_lt(now_ms() - t0, 5000, "the stop took %ld ms", now_ms() - t0);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
              status);
}

Test(websocket, upgrade_after_requests)
{
    /* A refused handshake, then a good one with a frame, all in one
       segment on one connection: each request in turn. */
    int fd = hh_connect(&srv);
    char head[4096];
    static const char req[] =
        "GET /ws/p2 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /ws/p2 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
        "\x81\x89\x00\x00\x00\x00"
        "pipelined";
    static const char body[] = "WebSocket handshake refused\n";
    char got[sizeof(body)];

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, req, sizeof(req) - 1), 0);
    cr_assert_eq(read_head(fd, head, sizeof(head)), 0);
    cr_assert_eq(strncmp(head, "HTTP/1.1 426 ", 13), 0, "%s", head);
    /* The refusal's body (its Content-Length), then the 101. */
    cr_assert_eq(read_exact(fd, got, sizeof(body) - 1, now_ms() + 5000), 0);
    cr_assert_eq(read_head(fd, head, sizeof(head)), 0);
    cr_assert_eq(strncmp(head, "HTTP/1.1 101 ", 13), 0, "%s", head);
    expect_text(fd, "pipelined");
    close(fd);
}

Test(websocket, reload_many_going_away)
{
    /* Several clients on several channels (and an SSE stream on one of
       them) on the old worker: every WebSocket gets 1001, the worker
       goes. */
    int fds[6], i, sse = hh_connect(&srv), closed = 0;
    pid_t old = hh_worker_pid(&srv, 0, 0);
    char buf[4096] = "";
    size_t len = 0;
    long deadline = now_ms() + 5000;

    cr_assert_geq(sse, 0);
    cr_assert_eq(hh_send(sse,
                         "GET /events/m0 HTTP/1.1\r\nHost: x\r\n"
                         "Accept: text/event-stream\r\n\r\n",
                         0),
                 0);
    while (strstr(buf, "\r\n\r\n") == NULL) {
        cr_assert_eq(read_exact(sse, buf + len, 1, deadline), 0, "no SSE head");
        buf[++len] = '\0';
    }
    for (i = 0; i < 6; i++) {
        char path[32];

        snprintf(path, sizeof(path), "/calm/m%d", i % 3);
        fds[i] = ws_open(path);
    }
    publish("m2", "ready");
    expect_text(fds[2], "ready");
    expect_text(fds[5], "ready");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    for (i = 0; i < 6; i++) {
        cr_log_info("client %d", i);
        expect_close(fds[i], 1001);
        close(fds[i]);
    }
    hh_read_until_close(sse, buf, sizeof(buf), 5000, &closed);
    cr_expect(closed, "the SSE stream stayed open");
    close(sse);
    cr_expect_eq(hh_wait_gone(old, 5000), 0, "the old worker stayed");
}

Test(websocket, publish_off)
{
    /* publish: false: the client's messages go nowhere, but it still
       gets the channel's and stays connected. */
    int ro = ws_open("/ro/q"), peer = ws_open("/ws/q");

    ws_text(ro, "not published");
    ws_text(peer, "published");
    expect_text(peer, "published");
    expect_text(ro, "published");
    publish("q", "by POST");
    expect_text(ro, "by POST");
    expect_text(peer, "by POST");
    close(ro);
    close(peer);
}

/* ---- HTTP limits do not apply after the handshake ---- */

TestSuite(websocket_limits, .fini = stop, .timeout = 60);

Test(websocket_limits, http_timers_off)
{
    int fd;

    cr_assert_eq(hh_start(&srv,
                          "workers: 1\n"
                          "limits: { keepalive_timeout: 1s, header_timeout: "
                          "1s,\n"
                          "          keepalive_requests: 1 }\n" ROUTES,
                          1),
                 0, "herd did not start");
    /* The upgrade was the last request keepalive_requests allows, and
       the connection then stays quiet past the keep-alive and header
       timeouts: it is a WebSocket now, kept by its own keepalive (1h). */
    fd = ws_open("/calm/i");
    cr_expect_eq(hh_closed(fd, 2500), 0, "closed by an HTTP timer");
    publish("i", "still subscribed");
    expect_text(fd, "still subscribed");
    close(fd);
}

/* VmRSS of pid in kB, or -1. */
static long
rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

Test(websocket, ping_flood_bounded)
{
    /* A client that sends pings and never reads the pongs must not make
       herd buffer without bound: it stops reading, drops the client or
       answers only some pings (RFC 6455 5.5.3); its output stays near
       max_pending (64k), not the 40 MB of pongs asked for. */
    enum { FRAME = 6 + 125, BATCH = 500, TOTAL = 40 * 1024 * 1024 };
    static uint8_t chunk[FRAME * BATCH];
    int fd = ws_open("/calm/pf"), i, gone = 0;
    pid_t worker = hh_worker_pid(&srv, 0, 0);
    long before, after, stuck_since = -1;
    size_t sent = 0, off = 0;
    struct frame f;

    cr_assert_gt(worker, 0);
    /* The server is up and reading: one ping, one pong. */
    cr_assert_eq(ws_frame(fd, 0x89, "x", 1, 0), 0);
    cr_assert_eq(ws_recv_frame(fd, &f, 5000), 0);
    free(f.data);
    before = rss_kb(worker);
    for (i = 0; i < BATCH; i++) {
        uint8_t *p = chunk + i * FRAME;

        p[0] = 0x89;
        p[1] = 0x80 | 125;
        memset(p + 2, 0, 4); /* mask 0 */
        memset(p + 6, 'p', 125);
    }
    while (sent < TOTAL) {
        ssize_t n = send(fd, chunk + off, sizeof(chunk) - off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n > 0) {
            sent += (size_t)n;
            off = (off + (size_t)n) % sizeof(chunk);
            stuck_since = -1;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            gone = 1; /* herd dropped the client */
            break;
        }
        if (stuck_since < 0)
            stuck_since = now_ms();
        else if (now_ms() - stuck_since > 2000)
            break; /* herd stopped reading: backpressure */
        {
            struct pollfd p = {.fd = fd, .events = POLLOUT};

            poll(&p, 1, 100);
        }
    }
    after = rss_kb(worker);
    cr_log_info("sent %zu bytes of pings; worker VmRSS %ld -> %ld kB%s", sent,
                before, after, gone ? "; dropped" : "");
    if (!gone)
        cr_expect_lt(after - before, 16 * 1024,
                     "%zu bytes of pings unread grew the worker by %ld kB",
                     sent, after - before);
    close(fd);
}

/* herd_pubsub_subscribers and herd_pubsub_dropped_total from /metrics. */
static void
pubsub_metrics(long *subs, long *dropped)
{
    struct hh_response r;
    const char *p;

    cr_assert_eq(
        hh_request(&srv, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    cr_assert_eq(r.status, 200);
    p = strstr(r.body, "\nherd_pubsub_subscribers ");
    cr_assert_not_null(p, "no herd_pubsub_subscribers:\n%s", r.body);
    *subs = strtol(p + 25, NULL, 10);
    p = strstr(r.body, "\nherd_pubsub_dropped_total ");
    cr_assert_not_null(p, "no herd_pubsub_dropped_total:\n%s", r.body);
    *dropped = strtol(p + 27, NULL, 10);
    hh_response_free(&r);
}

/* Poll /metrics (heartbeat 100 ms) until there are want subscribers. */
static void
wait_subscribers(long want)
{
    long subs = -1, dropped, deadline = now_ms() + 10000;

    while (now_ms() < deadline) {
        pubsub_metrics(&subs, &dropped);
        if (subs == want)
            return;
        usleep(20000);
    }
    cr_assert_fail("herd_pubsub_subscribers is %ld, not %ld", subs, want);
}

Test(websocket, subscribers_counted)
{
    /* Every way a WebSocket ends takes it off the channel. */
    int fds[5], i;
    long subs, dropped;

    for (i = 0; i < 5; i++)
        fds[i] = ws_open("/ws/z");
    wait_subscribers(5);
    cr_assert_eq(ws_frame(fds[0], 0x88, "\x03\xe8", 2, 0), 0);
    expect_close(fds[0], 1000);
    ws_frame(fds[1], 0x81, "plain", 5, 1);
    expect_close(fds[1], 1002);
    ws_frame(fds[2], 0x82, "b", 1, 0);
    expect_close(fds[2], 1003);
    close(fds[3]); /* gone without a close frame */
    wait_subscribers(1);
    /* The last one never sends: closed by the keepalive. */
    {
        char buf[1024];
        int closed = 0;

        hh_read_until_close(fds[4], buf, sizeof(buf), 5000, &closed);
        cr_expect(closed, "the silent client stayed");
    }
    wait_subscribers(0);
    pubsub_metrics(&subs, &dropped);
    cr_expect_eq(dropped, 0, "%ld dropped", dropped);
    for (i = 0; i < 5; i++)
        if (i != 3)
            close(fds[i]);
}

Test(websocket, odd_messages)
{
    /* An empty text message and an unsolicited pong are fine. */
    int a = ws_open("/ws/o"), b = ws_open("/ws/o");
    struct frame f;

    cr_assert_eq(ws_frame(a, 0x8a, "unasked", 7, 0), 0);
    cr_assert_eq(ws_frame(a, 0x81, "", 0, 0), 0);
    cr_assert_eq(ws_recv(b, &f, 5000), 0, "no empty message");
    cr_expect_eq(f.opcode, 0x1, "opcode %d (\"%s\")", f.opcode,
                 f.len > 2 ? (char *)f.data + 2 : "");
    cr_expect_eq(f.len, 0);
    free(f.data);
    ws_text(a, "end");
    expect_text(b, "end");
    close(a);
    close(b);
}

Test(websocket, nul_in_text)
{
    /* U+0000 is valid UTF-8 and WebSocket carries it, but channels do
       not (SSE cannot): herd may deliver the message, or refuse it with
       a code that says it is not acceptable (1003, 1007, 1008). Not
       1013 (try again later): the same message would fail again. */
    int a = ws_open("/ws/o"), b = ws_open("/ws/o");
    struct frame f;

    cr_assert_eq(ws_frame(a, 0x81, "a\0b", 3, 0), 0);
    cr_assert_eq(ws_recv(a, &f, 5000), 0, "no answer to a NUL");
    if (f.opcode == 0x8) {
        int code = f.len >= 2 ? f.data[0] << 8 | f.data[1] : 1005;

        cr_expect(code == 1003 || code == 1007 || code == 1008,
                  "a text message with a NUL closed with %d (\"%s\")", code,
                  f.len > 2 ? (char *)f.data + 2 : "");
    } else {
        cr_expect_eq(f.opcode, 0x1);
        cr_expect_eq(f.len, 3);
        free(f.data);
        cr_assert_eq(ws_recv(b, &f, 5000), 0, "b did not get it");
        cr_expect_eq(f.len, 3);
        cr_expect_eq(memcmp(f.data, "a\0b", 3), 0);
    }
    free(f.data);
    close(a);
    close(b);
}

Test(websocket, huge_lengths)
{
    /* Decided on the header alone: no payload need follow. */
    static const uint8_t top_bit[] = {0x81, 0xff, 0x80, 0, 0, 0, 0,
                                      0,    0,    1,    1, 2, 3, 4};
    static const uint8_t terabyte[] = {0x81, 0xff, 0, 0, 0x01, 0, 0,
                                       0,    0,    0, 1, 2,    3, 4};
    int fd = ws_open("/ws/e");

    cr_assert_eq(hh_send(fd, (const char *)top_bit, sizeof(top_bit)), 0);
    expect_close(fd, 1002);
    close(fd);
    fd = ws_open("/ws/e");
    cr_assert_eq(hh_send(fd, (const char *)terabyte, sizeof(terabyte)), 0);
    expect_close(fd, 1009);
    close(fd);
}

Test(websocket, key_with_whitespace)
{
    int fd = hh_connect(&srv);
    char head[4096], v[128];

    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd,
                "GET /ws/k2 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                "Sec-WebSocket-Key: \t " KEY " \t\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n",
                0),
        0);
    cr_assert_eq(read_head(fd, head, sizeof(head)), 0);
    cr_assert_eq(strncmp(head, "HTTP/1.1 101 ", 13), 0, "%s", head);
    cr_expect_str_eq(
        head_header(head, "Sec-WebSocket-Accept", v, sizeof(v)) ? v : "",
        ACCEPT);
    close(fd);
}

Test(websocket_limits, too_many_channels)
{
    /* Past pubsub.max_channels a client cannot join: it gets a close
       (1011 or 1013: try again later), the others go on, and herd says
       nothing on stderr (libevent complains of an event deleted that was
       never set up). */
    char errpath[128], *err = NULL;
    int saved = dup(2), tmp, fds[3], i;
    struct frame f;
    FILE *fp;
    size_t cap = 0;

    snprintf(errpath, sizeof(errpath), "/tmp/herd-ws-stderr-%d", (int)getpid());
    tmp = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(tmp, 0);
    dup2(tmp, 2); /* herd inherits it */
    i = hh_start(&srv, "workers: 1\npubsub: { max_channels: 2 }\n" ROUTES, 1);
    dup2(saved, 2);
    close(saved);
    close(tmp);
    cr_assert_eq(i, 0, "herd did not start");
    fds[0] = ws_open("/calm/c0");
    fds[1] = ws_open("/calm/c1");
    fds[2] = ws_open("/calm/c2");
    cr_assert_eq(ws_recv(fds[2], &f, 5000), 0, "no close for c2");
    cr_assert_eq(f.opcode, 0x8, "opcode %d, not close", f.opcode);
    cr_assert_geq(f.len, 2);
    i = f.data[0] << 8 | f.data[1];
    cr_expect(i == 1011 || i == 1013, "closed with %d", i);
    free(f.data);
    cr_expect(hh_closed(fds[2], 5000));
    ws_text(fds[1], "c1 lives");
    expect_text(fds[1], "c1 lives");
    for (i = 0; i < 3; i++)
        close(fds[i]);
    cr_expect_eq(hh_stop(&srv), 0);
    fp = fopen(errpath, "r");
    cr_assert_not_null(fp);
    if (getdelim(&err, &cap, '\0', fp) < 0) {
        free(err);
        err = NULL;
    }
    fclose(fp);
    unlink(errpath);
    cr_expect(err == NULL || strstr(err, "event_del") == NULL,
              "herd's stderr:\n%s", err);
    free(err);
}

Test(websocket, http_after_websockets)
{
    /* Connections that were WebSockets go back to the worker's pool:
       plain HTTP and new WebSockets on them work as before. */
    struct hh_response r;
    int i, fd;

    for (i = 0; i < 4; i++) {
        fd = ws_open("/ws/pool");
        if (i % 2 == 0) {
            cr_assert_eq(ws_frame(fd, 0x88, "\x03\xe8", 2, 0), 0);
            expect_close(fd, 1000);
        } else {
            ws_frame(fd, 0x81, "plain", 5, 1);
            expect_close(fd, 1002);
        }
        close(fd);
    }
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(hh_send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0),
                     0);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0, "request %d", i);
        cr_expect_eq(r.status, 200);
        hh_response_free(&r);
    }
    close(fd);
    fd = ws_open("/ws/pool");
    ws_text(fd, "again");
    expect_text(fd, "again");
    close(fd);
}

/* ---- ids: true ---- */

/* Expect {"id":"N","data":"<json>"} with this (escaped) data; returns N. */
static unsigned long long
expect_envelope(int fd, const char *json)
{
    struct frame f;
    unsigned long long id = 0;
    int used = 0;
    char want[512];

    cr_assert_eq(ws_recv(fd, &f, 5000), 0, "no message (wanted %s)", json);
    cr_assert_eq(f.opcode, 0x1, "opcode %d, not text", f.opcode);
    cr_assert_eq(sscanf((char *)f.data, "{\"id\":\"%llu\",%n", &id, &used), 1,
                 "not an envelope: %s", f.data);
    snprintf(want, sizeof(want), "\"data\":\"%s\"}", json);
    cr_expect_str_eq((char *)f.data + used, want, "message %s", f.data);
    free(f.data);
    return id;
}

Test(websocket, ids_envelope)
{
    int fd = ws_open("/id/env");
    unsigned long long a, b, c;

    publish("env", "plain");
    publish("env", "say \"hi\"\\ \xc3\xa9\n");
    publish("env", "\xff\x01");
    a = expect_envelope(fd, "plain");
    b = expect_envelope(fd, "say \\\"hi\\\"\\\\ \xc3\xa9\\u000a");
    c = expect_envelope(fd, "\\u00ff\\u0001");
    cr_expect(a < b && b < c, "ids %llu %llu %llu", a, b, c);
    close(fd);
}

Test(websocket, ids_replay_after_reload)
{
    /* A client closed with 1001 by a reload comes back with the last id
       it got and misses nothing published meanwhile. */
    int fd = ws_open("/id/rr");
    unsigned long long last;
    char path[64];

    publish("rr", "one");
    last = expect_envelope(fd, "one");
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    expect_close(fd, 1001);
    close(fd);
    publish("rr", "two");
    publish("rr", "three");
    snprintf(path, sizeof(path), "/id/rr?last_event_id=%llu", last);
    fd = ws_open(path);
    cr_expect_gt(expect_envelope(fd, "two"), last);
    expect_envelope(fd, "three");
    publish("rr", "four");
    expect_envelope(fd, "four");
    close(fd);
}

Test(websocket, ids_bad_last_event_id)
{
    refused("GET /id/b?last_event_id=12x HTTP/1.1\r\nHost: x\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
            400, NULL, NULL);
}

Test(websocket_limits, ids_missed)
{
    /* With a history of 2, a client back after 4 messages hears that some
       are gone, then gets the 2 kept. */
    int fd;
    unsigned long long last;
    struct frame f;
    char path[64];

    cr_assert_eq(
        hh_start(&srv, "workers: 1\npubsub: { history: 2 }\n" ROUTES, 1), 0,
        "herd did not start");
    fd = ws_open("/id/h");
    publish("h", "zero");
    last = expect_envelope(fd, "zero");
    close(fd);
    publish("h", "a");
    publish("h", "b");
    publish("h", "c");
    publish("h", "d");
    snprintf(path, sizeof(path), "/id/h?last_event_id=%llu", last);
    fd = ws_open(path);
    cr_assert_eq(ws_recv(fd, &f, 5000), 0, "nothing on return");
    cr_expect_str_eq((char *)f.data, "{\"missed\":true}");
    free(f.data);
    expect_envelope(fd, "c");
    expect_envelope(fd, "d");
    close(fd);
}

Test(websocket, ids_made_up_last_event_id)
{
    /* An id above anything the channel sent does not mute the client
       (that some may be missed is a fair warning: herd cannot tell). */
    int fd = ws_open("/id/mu?last_event_id=999999999999999999");
    struct frame f;

    publish("mu", "heard");
    cr_assert_eq(ws_recv(fd, &f, 5000), 0, "the client was muted");
    if (strcmp((char *)f.data, "{\"missed\":true}") == 0) {
        free(f.data);
        cr_assert_eq(ws_recv(fd, &f, 5000), 0, "the client was muted");
    }
    cr_expect_neq(strstr((char *)f.data, "\"data\":\"heard\"}"), NULL, "%s",
                  f.data);
    free(f.data);
    close(fd);
}
