/* test_events.c: Server-Sent Events and publishing, across real workers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct hh_server srv;

/* The usual events route: /events/:room, publishing from loopback. */
#define EVENTS_ROUTE                                                           \
    "  - path: /events/:room\n"                                                \
    "    methods: [GET, HEAD, POST]\n"                                         \
    "    events: { channel: \":room\", publish_from: [127.0.0.0/8], "          \
    "keepalive: 1s }\n"

/* ---- a reader of one chunked event stream ---- */

struct sse {
    int fd;
    int status;
    char head[8192];
    char raw[65536]; /* received, not yet decoded */
    size_t rawlen;
    char *data; /* the decoded body so far, NUL-terminated */
    size_t len, cap;
    size_t chunk_left; /* of the chunk being decoded */
    int in_chunk;
    int ended;  /* the terminating chunk (and its CRLF) arrived */
    int closed; /* EOF or reset */
};

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sse_append(struct sse *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->data = realloc(s->data, s->cap);
        cr_assert_not_null(s->data);
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
}

/* Decode what complete pieces of chunked framing raw holds. 0, or -1 on
   a framing error. */
static int
sse_decode(struct sse *s)
{
    size_t off = 0;

    while (!s->ended && off < s->rawlen) {
        if (s->in_chunk) {
            size_t n = s->rawlen - off;

            if (s->chunk_left > 0) {
                if (n > s->chunk_left)
                    n = s->chunk_left;
                sse_append(s, s->raw + off, n);
                off += n;
                s->chunk_left -= n;
                continue;
            }
            if (n < 2)
                break;
            if (memcmp(s->raw + off, "\r\n", 2) != 0)
                return -1;
            off += 2;
            s->in_chunk = 0;
        } else {
            char *eol = memchr(s->raw + off, '\n', s->rawlen - off);
            unsigned long size;
            char *end;

            if (eol == NULL)
                break;
            size = strtoul(s->raw + off, &end, 16);
            if (end == s->raw + off || *end != '\r' || end + 1 != eol)
                return -1;
            if (size == 0) {
                /* No trailers: the last chunk ends with an empty line. */
                size_t rest = s->rawlen - (size_t)(eol + 1 - s->raw);

                if (rest < 2)
                    break;
                if (memcmp(eol + 1, "\r\n", 2) != 0)
                    return -1;
                off = (size_t)(eol + 3 - s->raw);
                s->ended = 1;
                break;
            }
            off = (size_t)(eol + 1 - s->raw);
            s->chunk_left = size;
            s->in_chunk = 1;
        }
    }
    memmove(s->raw, s->raw + off, s->rawlen - off);
    s->rawlen -= off;
    return 0;
}

/* Read what arrives within timeout_ms (at least one recv when there is
   something). 1 when bytes came, 0 on timeout, -1 on EOF or error. */
static int
sse_fill(struct sse *s, int timeout_ms)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    ssize_t n;

    if (s->closed)
        return -1;
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    n = recv(s->fd, s->raw + s->rawlen, sizeof(s->raw) - s->rawlen,
             MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        s->closed = 1;
        return -1;
    }
    s->rawlen += (size_t)n;
    cr_assert_eq(sse_decode(s), 0, "bad chunked framing");
    return 1;
}

/* Wait until the decoded body holds text (count times, from offset
   from). 0, or -1 when timeout_ms pass or the stream ends first. */
static int
sse_wait_n(struct sse *s, const char *text, int count, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;

    for (;;) {
        const char *p = s->data != NULL ? s->data : "";
        int found = 0;

        while ((p = strstr(p, text)) != NULL && found < count) {
            found++;
            p += strlen(text);
        }
        if (found >= count)
            return 0;
        if (s->ended || now_ms() >= deadline)
            return -1;
        if (sse_fill(s, (int)(deadline - now_ms())) < 0)
            return -1;
    }
}

static int
sse_wait(struct sse *s, const char *text, int timeout_ms)
{
    return sse_wait_n(s, text, 1, timeout_ms);
}

/* Read whatever is already there, without waiting. */
static void
sse_drain(struct sse *s)
{
    while (sse_fill(s, 0) > 0)
        ;
}

/* Send a GET for path with extra header lines on fd and read the head. */
static void
sse_open_fd(struct sse *s, int fd, const char *path, const char *extra)
{
    char req[1024], *end;
    ssize_t n;

    memset(s, 0, sizeof(*s));
    s->fd = fd;
    cr_assert_geq(fd, 0, "cannot connect");
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path,
             extra != NULL ? extra : "");
    cr_assert_eq(hh_send(fd, req, 0), 0);
    /* The head, then any body bytes that came with it. */
    for (;;) {
        n = recv(fd, s->raw + s->rawlen, sizeof(s->raw) - s->rawlen, 0);
        cr_assert_gt(n, 0, "no response head for %s", path);
        s->rawlen += (size_t)n;
        s->raw[s->rawlen] = '\0';
        if ((end = strstr(s->raw, "\r\n\r\n")) != NULL)
            break;
    }
    end += 4;
    cr_assert_lt((size_t)(end - s->raw), sizeof(s->head));
    memcpy(s->head, s->raw, (size_t)(end - s->raw));
    s->head[end - s->raw] = '\0';
    cr_assert_eq(sscanf(s->head, "HTTP/1.1 %d", &s->status), 1, "%s", s->head);
    s->rawlen -= (size_t)(end - s->raw);
    memmove(s->raw, end, s->rawlen);
    sse_append(s, "", 0);
    if (strcasestr(s->head, "\r\nTransfer-Encoding: chunked\r\n") != NULL)
        cr_assert_eq(sse_decode(s), 0, "bad chunked framing");
}

static void
sse_open(struct sse *s, const char *path, const char *extra)
{
    sse_open_fd(s, hh_connect(&srv), path, extra);
}

/* Open a subscription and check that it is one: 200, text/event-stream,
   chunked, and the retry: hint first. */
static void
subscribe(struct sse *s, const char *path, const char *extra)
{
    sse_open(s, path, extra);
    cr_assert_eq(s->status, 200, "%s", s->head);
    cr_assert(strcasestr(s->head, "\r\nContent-Type: text/event-stream\r\n") !=
                  NULL,
              "%s", s->head);
    cr_assert(strcasestr(s->head, "\r\nTransfer-Encoding: chunked\r\n") != NULL,
              "%s", s->head);
    cr_assert_eq(sse_wait(s, "retry: 2000\n\n", 5000), 0, "no retry: in %s",
                 s->data);
    cr_assert_eq(strncmp(s->data, "retry: 2000\n\n", 13), 0,
                 "retry: is not first: %s", s->data);
}

static void
sse_close(struct sse *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->data);
    s->data = NULL;
}

/* ---- publishing ---- */

/* POST body (len bytes) to path of server sv on a new connection; the
   response in r. */
static void
post_on(const struct hh_server *sv, const char *path, const char *body,
        size_t len, struct hh_response *r)
{
    char head[512];
    int fd = hh_connect(sv);

    cr_assert_geq(fd, 0, "cannot connect");
    snprintf(head, sizeof(head),
             "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             path, len);
    cr_assert_eq(hh_send(fd, head, 0), 0);
    if (len > 0)
        cr_assert_eq(hh_send(fd, body, len), 0);
    cr_assert_eq(hh_read_response(fd, r, 0), 0, "no answer to POST %s", path);
    close(fd);
}

static void
post(const char *path, const char *body, size_t len, struct hh_response *r)
{
    post_on(&srv, path, body, len, r);
}

/* POST a message; it must be accepted (202, {"id":"N"}). Returns N. */
static unsigned long long
publish(const char *path, const char *body)
{
    struct hh_response r;
    unsigned long long id = 0;
    const char *p;

    post(path, body, strlen(body), &r);
    cr_assert_eq(r.status, 202, "POST %s: %d %s", path, r.status, r.body);
    p = strstr(r.body, "{\"id\":\"");
    cr_assert_not_null(p, "%s", r.body);
    cr_assert_eq(sscanf(p, "{\"id\":\"%llu\"}", &id), 1, "%s", r.body);
    cr_assert_gt(id, 0);
    hh_response_free(&r);
    return id;
}

/* The event publish() returns the id of, as the stream carries it. */
static void
event_text(char *buf, size_t len, unsigned long long id, const char *data)
{
    snprintf(buf, len, "id: %llu\ndata: %s\n\n", id, data);
}

static int
count_of(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* ---- one worker, the usual route ---- */

static void
start1(void)
{
    cr_assert_eq(hh_start(&srv, "workers: 1\nroutes:\n" EVENTS_ROUTE, 1), 0,
                 "herd did not start");
}

static void
stop(void)
{
    cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
}

TestSuite(events, .init = start1, .fini = stop, .timeout = 60);

Test(events, subscribe_then_receive_a_post)
{
    struct sse s;
    struct hh_response r;
    char want[256], v[128];
    unsigned long long id;

    subscribe(&s, "/events/room1", NULL);
    cr_expect(strcasestr(s.head, "\r\nCache-Control: no-cache\r\n") != NULL,
              "%s", s.head);
    cr_expect(strcasestr(s.head, "\r\nX-Accel-Buffering: no\r\n") != NULL, "%s",
              s.head);
    post("/events/room1", "hello", 5, &r);
    cr_assert_eq(r.status, 202, "%d %s", r.status, r.body);
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "application/json");
    cr_assert_eq(sscanf(r.body, "{\"id\":\"%llu\"}", &id), 1, "%s", r.body);
    hh_response_free(&r);
    event_text(want, sizeof(want), id, "hello");
    cr_assert_eq(sse_wait(&s, want, 5000), 0, "wanted %s, got %s", want,
                 s.data);
    cr_expect_eq(strcmp(s.data + 13, want), 0, "extra bytes: %s", s.data);
    sse_close(&s);
}

Test(events, other_rooms_do_not_hear_it)
{
    struct sse a, b;
    unsigned long long id1, id2;
    char want[256];

    subscribe(&a, "/events/a", NULL);
    subscribe(&b, "/events/b", NULL);
    id1 = publish("/events/a", "for-a");
    id2 = publish("/events/b", "for-b");
    event_text(want, sizeof(want), id2, "for-b");
    cr_assert_eq(sse_wait(&b, want, 5000), 0, "%s", b.data);
    event_text(want, sizeof(want), id1, "for-a");
    cr_assert_eq(sse_wait(&a, want, 5000), 0, "%s", a.data);
    cr_expect_null(strstr(a.data, "for-b"), "%s", a.data);
    cr_expect_null(strstr(b.data, "for-a"), "%s", b.data);
    sse_close(&a);
    sse_close(&b);
}

Test(events, ids_grow)
{
    unsigned long long a = publish("/events/grow", "1");
    unsigned long long b = publish("/events/grow", "2");

    cr_expect_gt(b, a);
}

Test(events, multi_line_data_is_one_data_line_each)
{
    struct sse s;
    char want[256];
    unsigned long long id;

    subscribe(&s, "/events/ml", NULL);
    id = publish("/events/ml", "a\nb");
    snprintf(want, sizeof(want), "id: %llu\ndata: a\ndata: b\n\n", id);
    cr_assert_eq(sse_wait(&s, want, 5000), 0, "wanted %s, got %s", want,
                 s.data);
    sse_close(&s);
}

Test(events, cr_and_crlf_break_lines_and_empty_is_one_empty_line)
{
    struct sse s;
    char want[256];
    unsigned long long a, b;

    subscribe(&s, "/events/crlf", NULL);
    a = publish("/events/crlf", "a\r\nb\rc");
    b = publish("/events/crlf", "");
    snprintf(want, sizeof(want),
             "id: %llu\ndata: a\ndata: b\ndata: c\n\nid: %llu\ndata: \n\n", a,
             b);
    cr_assert_eq(sse_wait(&s, want, 5000), 0, "wanted %s, got %s", want,
                 s.data);
    sse_close(&s);
}

Test(events, chunked_post_is_published_decoded)
{
    struct sse s;
    struct hh_response r;
    int fd;

    subscribe(&s, "/events/chunked", NULL);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "POST /events/chunked HTTP/1.1\r\nHost: x\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n"
                         "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 202, "%d %s", r.status, r.body);
    hh_response_free(&r);
    close(fd);
    cr_assert_eq(sse_wait(&s, "\ndata: abcde\n\n", 5000), 0, "%s", s.data);
    sse_close(&s);
}

Test(events, nul_in_body_is_400)
{
    struct hh_response r;

    post("/events/nul", "a\0b", 3, &r);
    cr_expect_eq(r.status, 400, "%d %s", r.status, r.body);
    cr_expect_not_null(strstr(r.body, "NUL"), "%s", r.body);
    hh_response_free(&r);
}

Test(events, body_over_61440_is_413)
{
    struct hh_response r;
    char *body = malloc(61441);

    cr_assert_not_null(body);
    memset(body, 'x', 61441);
    post("/events/big", body, 61440, &r);
    cr_expect_eq(r.status, 202, "61440 bytes: %d %s", r.status, r.body);
    hh_response_free(&r);
    post("/events/big", body, 61441, &r);
    cr_expect_eq(r.status, 413, "61441 bytes: %d %s", r.status, r.body);
    hh_response_free(&r);
    free(body);
}

Test(events, invalid_channel_parameter_is_400_json)
{
    struct hh_response r;
    char v[128];

    cr_assert_eq(
        hh_request(&srv, "GET /events/bad%20name HTTP/1.1\r\nHost: x\r\n\r\n",
                   &r),
        0);
    cr_expect_eq(r.status, 400, "%d %s", r.status, r.body);
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "application/json");
    cr_expect_not_null(strstr(r.body, "\"error\""), "%s", r.body);
    hh_response_free(&r);
    post("/events/bad%20name", "x", 1, &r);
    cr_expect_eq(r.status, 400, "POST: %d %s", r.status, r.body);
    hh_response_free(&r);
}

Test(events, head_is_200_event_stream_without_body)
{
    struct hh_response r;
    char v[128];
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "HEAD /events/h HTTP/1.1\r\nHost: x\r\n\r\n", 0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 200, "%s", r.head);
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "text/event-stream");
    hh_response_free(&r);
    /* Nothing follows the head: the connection takes the next request. */
    cr_assert_eq(
        hh_send(fd, "GET /events/bad%20x HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 400, "after HEAD: %s", r.head);
    hh_response_free(&r);
    close(fd);
}

Test(events, keepalive_comment_within_the_interval)
{
    struct sse s;
    long t0;

    subscribe(&s, "/events/ka", NULL);
    t0 = now_ms();
    cr_assert_eq(sse_wait(&s, ": keepalive\n\n", 2500), 0,
                 "no keepalive in 2.5 s: %s", s.data);
    cr_expect_geq(now_ms() - t0, 500, "keepalive came too soon");
    sse_close(&s);
}

Test(events, last_event_id_replays_what_was_missed)
{
    struct sse s;
    unsigned long long id[6];
    char want[256], extra[128];
    const char *p3, *p4, *p5, *p6;
    int i;

    for (i = 0; i < 5; i++) {
        char body[16];

        snprintf(body, sizeof(body), "m%d", i + 1);
        id[i] = publish("/events/replay", body);
    }
    snprintf(extra, sizeof(extra), "Last-Event-ID: %llu\r\n", id[1]);
    subscribe(&s, "/events/replay", extra);
    event_text(want, sizeof(want), id[4], "m5");
    cr_assert_eq(sse_wait(&s, want, 5000), 0, "%s", s.data);
    id[5] = publish("/events/replay", "m6");
    event_text(want, sizeof(want), id[5], "m6");
    cr_assert_eq(sse_wait(&s, want, 5000), 0, "%s", s.data);
    cr_expect_null(strstr(s.data, "data: m1\n"), "%s", s.data);
    cr_expect_null(strstr(s.data, "data: m2\n"), "%s", s.data);
    cr_expect_null(strstr(s.data, "no longer kept"), "%s", s.data);
    p3 = strstr(s.data, "data: m3\n");
    p4 = strstr(s.data, "data: m4\n");
    p5 = strstr(s.data, "data: m5\n");
    p6 = strstr(s.data, "data: m6\n");
    cr_assert(p3 != NULL && p4 != NULL && p5 != NULL && p6 != NULL, "%s",
              s.data);
    cr_expect(p3 < p4 && p4 < p5 && p5 < p6, "out of order: %s", s.data);
    for (i = 2; i < 6; i++) {
        snprintf(want, sizeof(want), "id: %llu\n", id[i]);
        cr_expect_eq(count_of(s.data, want), 1, "id %llu: %s", id[i], s.data);
    }
    sse_close(&s);
}

#define RACE_N 60 /* under pubsub.history's default 100: all replayable */

/* Messages published while a replay is under way come once each, in
   order, after the replayed ones. */
Test(events, replay_racing_live_messages_loses_and_repeats_nothing)
{
    struct sse s;
    char extra[128], want[32];
    unsigned long long id0;
    const char *p;
    pid_t pid;
    int i, st;

    id0 = publish("/events/race", "m0");
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        for (i = 1; i <= RACE_N; i++) {
            char raw[256];
            struct hh_response r;

            snprintf(raw, sizeof(raw),
                     "POST /events/race HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: %d\r\n\r\nm%d",
                     i < 10 ? 2 : 3, i);
            if (hh_request(&srv, raw, &r) != 0 || r.status != 202)
                _exit(1);
            hh_response_free(&r);
        }
        _exit(0);
    }
    snprintf(extra, sizeof(extra), "Last-Event-ID: %llu\r\n", id0);
    subscribe(&s, "/events/race", extra);
    snprintf(want, sizeof(want), "\ndata: m%d\n\n", RACE_N);
    cr_expect_eq(sse_wait(&s, want, 10000), 0, "%s", s.data);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a publish failed");
    /* m1 .. m60, each once, in order, nothing else. */
    p = s.data;
    for (i = 1; i <= RACE_N; i++) {
        snprintf(want, sizeof(want), "\ndata: m%d\n\n", i);
        p = strstr(p, want);
        cr_assert_not_null(p, "m%d missing or out of order: %s", i, s.data);
        cr_expect_eq(count_of(s.data, want), 1, "m%d repeated: %s", i, s.data);
    }
    cr_expect_eq(count_of(s.data, "id: "), RACE_N, "%s", s.data);
    cr_expect_null(strstr(s.data, "no longer kept"), "%s", s.data);
    sse_close(&s);
}

Test(events, last_event_id_as_query_parameter)
{
    struct sse s;
    unsigned long long a, b;
    char path[128], want[256];

    a = publish("/events/q", "qa");
    b = publish("/events/q", "qb");
    snprintf(path, sizeof(path), "/events/q?lastEventId=%llu", a);
    subscribe(&s, path, NULL);
    event_text(want, sizeof(want), b, "qb");
    cr_assert_eq(sse_wait(&s, want, 5000), 0, "%s", s.data);
    cr_expect_null(strstr(s.data, "data: qa\n"), "%s", s.data);
    sse_close(&s);
}

/* An id from the future (no such id was sent) must not silence the
   stream: refused, or the next message arrives. */
Test(events, an_id_never_sent_does_not_mute_the_stream)
{
    struct sse s;
    unsigned long long id;
    char want[256];

    sse_open(&s, "/events/future", "Last-Event-ID: 99999999999999999\r\n");
    if (s.status == 400) {
        sse_close(&s);
        return;
    }
    cr_assert_eq(s.status, 200, "%s", s.head);
    cr_assert_eq(sse_wait(&s, "retry: 2000\n\n", 5000), 0, "%s", s.data);
    id = publish("/events/future", "now");
    event_text(want, sizeof(want), id, "now");
    cr_expect_eq(sse_wait(&s, want, 3000), 0,
                 "Last-Event-ID 99999999999999999 mutes the stream: %s",
                 s.data);
    sse_close(&s);
}

Test(events, invalid_last_event_id_is_400)
{
    struct hh_response r;
    static const char *const bad[] = {"abc", "-1", "1x", ""};
    char raw[256];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(raw, sizeof(raw),
                 "GET /events/x HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %s\r\n"
                 "\r\n",
                 bad[i]);
        cr_assert_eq(hh_request(&srv, raw, &r), 0, "%s", bad[i]);
        cr_expect_eq(r.status, 400, "Last-Event-ID \"%s\": %d %s", bad[i],
                     r.status, r.body);
        hh_response_free(&r);
    }
}

Test(events, other_methods_are_405)
{
    struct hh_response r;

    /* PUT is not among the route's methods. */
    cr_assert_eq(hh_request(&srv,
                            "PUT /events/x HTTP/1.1\r\nHost: x\r\n"
                            "Content-Length: 0\r\n\r\n",
                            &r),
                 0);
    cr_expect_eq(r.status, 405, "%d", r.status);
    hh_response_free(&r);
}

/* ---- publish_from ---- */

static void
start_closed(void)
{
    cr_assert_eq(hh_start(&srv,
                          "workers: 1\nroutes:\n"
                          "  - path: /events/:room\n"
                          "    methods: [GET, POST]\n"
                          "    events: { channel: \":room\", "
                          "publish_from: [10.0.0.0/8] }\n"
                          "  - path: /open\n"
                          "    methods: [GET, POST]\n"
                          "    events: { channel: fixed }\n",
                          1),
                 0, "herd did not start");
}

TestSuite(publish_from, .init = start_closed, .fini = stop, .timeout = 60);

Test(publish_from, other_addresses_get_403)
{
    struct hh_response r;
    struct sse s;

    subscribe(&s, "/events/r", NULL); /* subscribing is for anyone */
    post("/events/r", "x", 1, &r);
    cr_expect_eq(r.status, 403, "%d %s", r.status, r.body);
    cr_expect_not_null(strstr(r.body, "publish_from"), "%s", r.body);
    hh_response_free(&r);
    sse_close(&s);
}

Test(publish_from, without_it_nobody_publishes)
{
    struct hh_response r;

    post("/open", "x", 1, &r);
    cr_expect_eq(r.status, 403, "%d %s", r.status, r.body);
    hh_response_free(&r);
}

/* ---- a short history ---- */

static void
start_short(void)
{
    cr_assert_eq(
        hh_start(&srv,
                 "workers: 1\npubsub: { history: 2 }\nroutes:\n" EVENTS_ROUTE,
                 1),
        0, "herd did not start");
}

TestSuite(history, .init = start_short, .fini = stop, .timeout = 60);

Test(history, a_gap_is_announced_before_the_replay)
{
    struct sse s;
    unsigned long long id[5];
    char want[256], extra[128];
    const char *gap, *p4, *p5;
    int i;

    for (i = 0; i < 5; i++) {
        char body[16];

        snprintf(body, sizeof(body), "m%d", i + 1);
        id[i] = publish("/events/short", body);
    }
    /* After the 2nd: the 3rd is gone, the 4th and 5th are kept. */
    snprintf(extra, sizeof(extra), "Last-Event-ID: %llu\r\n", id[1]);
    subscribe(&s, "/events/short", extra);
    event_text(want, sizeof(want), id[4], "m5");
    cr_assert_eq(sse_wait(&s, want, 5000), 0, "%s", s.data);
    gap = strstr(s.data, ": some messages are no longer kept\n\n");
    p4 = strstr(s.data, "data: m4\n");
    p5 = strstr(s.data, "data: m5\n");
    cr_assert_not_null(gap, "%s", s.data);
    cr_assert(p4 != NULL && p5 != NULL, "%s", s.data);
    cr_expect(gap < p4 && p4 < p5, "%s", s.data);
    cr_expect_null(strstr(s.data, "data: m3\n"), "%s", s.data);
    sse_close(&s);
}

Test(history, no_gap_when_nothing_is_missing)
{
    struct sse s;
    unsigned long long a;
    char extra[128];

    publish("/events/nogap", "x");
    a = publish("/events/nogap", "y");
    snprintf(extra, sizeof(extra), "Last-Event-ID: %llu\r\n", a);
    subscribe(&s, "/events/nogap", extra);
    /* A keepalive after the replay ended: nothing came before it. */
    cr_assert_eq(sse_wait(&s, ": keepalive\n\n", 5000), 0, "%s", s.data);
    cr_expect_str_eq(s.data, "retry: 2000\n\n: keepalive\n\n");
    sse_close(&s);
}

/* ---- two workers ---- */

static void
start2(void)
{
    cr_assert_eq(hh_start(&srv, "workers: 2\nroutes:\n" EVENTS_ROUTE, 2), 0,
                 "herd did not start");
}

TestSuite(workers, .init = start2, .fini = stop, .timeout = 60);

#define MAX_SUBS 48

/* The part of an X-Request-Id that names the worker (see reqid.c): the
   first 26 characters. */
static int
worker_of(const struct sse *s, char *buf, size_t len)
{
    const char *p = strcasestr(s->head, "\r\nX-Request-Id: ");

    if (p == NULL || len < 27)
        return -1;
    p += strlen("\r\nX-Request-Id: ");
    memcpy(buf, p, 26);
    buf[26] = '\0';
    return 0;
}

Test(workers, every_subscriber_of_every_worker_gets_it)
{
    static struct sse s[MAX_SUBS];
    char first[32], w[32], want[256];
    int n, i, other = 0;
    unsigned long long id;

    /* Subscribe until both workers hold subscribers (at least 8). */
    for (n = 0; n < MAX_SUBS && (n < 8 || !other); n++) {
        subscribe(&s[n], "/events/fan", NULL);
        cr_assert_eq(worker_of(&s[n], w, sizeof(w)), 0, "no X-Request-Id: %s",
                     s[n].head);
        if (n == 0)
            strcpy(first, w);
        else if (strcmp(w, first) != 0)
            other = 1;
    }
    cr_assert(other, "%d subscribers, all on one worker", n);
    id = publish("/events/fan", "to all");
    event_text(want, sizeof(want), id, "to all");
    for (i = 0; i < n; i++) {
        cr_expect_eq(sse_wait(&s[i], want, 5000), 0, "subscriber %d: %s", i,
                     s[i].data);
        cr_expect_eq(count_of(s[i].data, "data: "), 1, "subscriber %d: %s", i,
                     s[i].data);
    }
    for (i = 0; i < n; i++)
        sse_close(&s[i]);
}

/* ---- slow subscribers ---- */

static void
start_slow(void)
{
    cr_assert_eq(hh_start(&srv,
                          "workers: 1\nroutes:\n"
                          "  - path: /events/:room\n"
                          "    methods: [GET, POST]\n"
                          "    events: { channel: \":room\", "
                          "publish_from: [127.0.0.0/8], max_pending: 1k }\n",
                          1),
                 0, "herd did not start");
}

TestSuite(slow, .init = start_slow, .fini = stop, .timeout = 120);

#define SLOW_MSG 8192
#define SLOW_MAX 2000
#define SLOW_MIN 200

Test(slow, a_subscriber_that_does_not_read_is_dropped)
{
    struct sse slow, fast;
    char *msg = malloc(SLOW_MSG + 1), want[64];
    int fd, rcvbuf = 1024, i, sent = 0;
    unsigned long long last = 0;

    cr_assert_not_null(msg);
    memset(msg, 'x', SLOW_MSG);
    msg[SLOW_MSG] = '\0';
    fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
                 0);
    {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)srv.port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

        cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    }
    sse_open_fd(&slow, fd, "/events/slow", NULL);
    cr_assert_eq(slow.status, 200, "%s", slow.head);
    subscribe(&fast, "/events/slow", NULL);
    /* Publish until herd gives up on the slow one (and a few more). */
    for (i = 0;
         i < SLOW_MAX &&
         (i < SLOW_MIN || hh_log_count(&srv, "dropping a subscriber") == 0);
         i++) {
        last = publish("/events/slow", msg);
        sent++;
        sse_drain(&fast); /* the fast one keeps up */
    }
    cr_assert_eq(hh_wait_log(&srv, "dropping a subscriber", 1, 5000), 0,
                 "no subscriber dropped after %d messages", sent);
    /* The slow one's connection is closed (after what was queued). */
    {
        int closed = 0;
        static char sink[1 << 20];

        hh_read_until_close(fd, sink, sizeof(sink), 5000, &closed);
        cr_expect(closed, "the slow subscriber is still connected");
    }
    snprintf(want, sizeof(want), "id: %llu\n", last);
    cr_assert_eq(sse_wait(&fast, want, 10000), 0,
                 "the fast one missed the last message (closed %d, %d "
                 "dropped, %d sent, %d got)",
                 fast.closed, hh_log_count(&srv, "dropping a subscriber"), sent,
                 count_of(fast.data, "\ndata: x"));
    cr_expect_eq(count_of(fast.data, "\ndata: x"), sent,
                 "the fast one got %d of %d", count_of(fast.data, "\ndata: x"),
                 sent);
    sse_close(&fast);
    sse_close(&slow);
    free(msg);
}

/* ---- reloads ---- */

TestSuite(reload, .init = start1, .fini = stop, .timeout = 60);

Test(reload, streams_end_and_resume_without_loss)
{
    struct sse s, again;
    unsigned long long a, b, c, d;
    char want[256], extra[128];

    subscribe(&s, "/events/rl", NULL);
    a = publish("/events/rl", "before");
    event_text(want, sizeof(want), a, "before");
    cr_assert_eq(sse_wait(&s, want, 5000), 0, "%s", s.data);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    /* The old worker drains: the stream ends with the last chunk. */
    while (!s.ended && sse_fill(&s, 10000) > 0)
        ;
    cr_assert(s.ended, "the stream did not end cleanly: closed %d, %s",
              s.closed, s.data);
    cr_assert_eq(hh_wait_log(&srv, "generation 2", 1, 10000), 0,
                 "no new generation");
    b = publish("/events/rl", "during-1");
    c = publish("/events/rl", "during-2");
    snprintf(extra, sizeof(extra), "Last-Event-ID: %llu\r\n", a);
    subscribe(&again, "/events/rl", extra);
    d = publish("/events/rl", "after");
    event_text(want, sizeof(want), d, "after");
    cr_assert_eq(sse_wait(&again, want, 5000), 0, "%s", again.data);
    event_text(want, sizeof(want), b, "during-1");
    cr_expect_eq(count_of(again.data, want), 1, "%s", again.data);
    event_text(want, sizeof(want), c, "during-2");
    cr_expect_eq(count_of(again.data, want), 1, "%s", again.data);
    cr_expect_eq(count_of(again.data, "id: "), 3, "%s", again.data);
    cr_expect_null(strstr(again.data, "before"), "%s", again.data);
    cr_expect(strstr(again.data, "during-1") < strstr(again.data, "during-2") &&
                  strstr(again.data, "during-2") < strstr(again.data, "after"),
              "%s", again.data);
    sse_close(&s);
    sse_close(&again);
}

/* ---- herd_publish from a module ---- */

/* The build directory: $HERD_BUILDDIR, else the current directory. */
static const char *
builddir(void)
{
    const char *dir = getenv("HERD_BUILDDIR");

    return dir != NULL && dir[0] != '\0' ? dir : ".";
}

static void
start_module(void)
{
    char yaml[2048];

    snprintf(yaml, sizeof(yaml),
             "workers: 2\nroutes:\n" EVENTS_ROUTE "  - path: /pub\n"
             "    methods: [POST]\n"
             "    module: { file: %s/t/modules/pubmod.so, handler: pub }\n",
             builddir());
    cr_assert_eq(hh_start(&srv, yaml, 2), 0, "herd did not start");
}

TestSuite(module, .init = start_module, .fini = stop, .timeout = 60);

Test(module, herd_publish_reaches_subscribers)
{
    struct sse s;
    struct hh_response r;

    subscribe(&s, "/events/fromc", NULL);
    post("/pub?ch=fromc", "from a module", 13, &r);
    cr_assert_eq(r.status, 204, "%d %s", r.status, r.body);
    hh_response_free(&r);
    cr_assert_eq(sse_wait(&s, "\ndata: from a module\n\n", 5000), 0, "%s",
                 s.data);
    cr_expect(strstr(s.data, "retry: 2000\n\nid: ") == s.data, "%s", s.data);
    sse_close(&s);
}

Test(module, herd_publish_refuses_bad_input)
{
    struct hh_response r;
    char *big = malloc(61441);

    post("/pub?ch=bad%20name", "x", 1, &r);
    cr_expect_eq(r.status, 400, "%d %s", r.status, r.body);
    cr_expect_not_null(strstr(r.body, "EINVAL"), "%s", r.body);
    hh_response_free(&r);
    post("/pub?ch=ok", "a\0b", 3, &r);
    cr_expect_eq(r.status, 400, "%d %s", r.status, r.body);
    cr_expect_not_null(strstr(r.body, "EINVAL"), "%s", r.body);
    hh_response_free(&r);
    cr_assert_not_null(big);
    memset(big, 'y', 61441);
    post("/pub?ch=ok", big, 61441, &r);
    cr_expect_eq(r.status, 400, "%d %s", r.status, r.body);
    cr_expect_not_null(strstr(r.body, "EMSGSIZE"), "%s", r.body);
    hh_response_free(&r);
    free(big);
}

/* ---- HTTP/1.0 subscribers ---- */

Test(events, http10_stream_is_not_chunked)
{
    unsigned long long id;
    char want[256];
    int fd = hh_connect(&srv);
    char *end;
    ssize_t n;
    size_t got = 0;
    static char buf[8192];

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET /events/old HTTP/1.0\r\nHost: x\r\n\r\n", 0),
                 0);
    /* Read until the retry: hint is in. */
    while ((end = strstr(buf, "retry: 2000\n\n")) == NULL) {
        n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        cr_assert_gt(n, 0, "%s", buf);
        got += (size_t)n;
        buf[got] = '\0';
    }
    cr_assert(strncmp(buf, "HTTP/1.", 7) == 0 && strstr(buf, " 200 ") != NULL,
              "%s", buf);
    cr_expect_null(strcasestr(buf, "Transfer-Encoding"), "%s", buf);
    cr_expect_not_null(strstr(buf, "\r\n\r\nretry: 2000\n\n"), "%s", buf);
    id = publish("/events/old", "plain");
    event_text(want, sizeof(want), id, "plain");
    while (strstr(buf, want) == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        cr_assert_gt(poll(&p, 1, 5000), 0, "no event: %s", buf);
        n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        cr_assert_gt(n, 0, "%s", buf);
        got += (size_t)n;
        buf[got] = '\0';
    }
    close(fd);
}

/* ---- configuration checks (herd -t) ---- */

TestSuite(config, .timeout = 20);

static void
check_config(const char *yaml, const char *want)
{
    char dir[] = "/tmp/herd-events-XXXXXX", path[64], out[4096];
    char *argv[] = {"herd", "-t", "-c", path, NULL};

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/herd.yaml", dir);
    cr_assert_eq(hh_write_file(path, yaml), 0);
    cr_expect_eq(hh_run(argv, out, sizeof(out)), 1, "accepted: %s", yaml);
    cr_expect_not_null(strstr(out, want), "wanted \"%s\", got: %s", want, out);
    unlink(path);
    rmdir(dir);
}

Test(config, events_parameter_must_be_the_routes)
{
    check_config("routes:\n"
                 "  - path: /events/:room\n"
                 "    events: { channel: \":rooom\" }\n",
                 "routes[0].events.channel: the route's path has no "
                 "parameter :rooom");
}

Test(config, events_methods_are_get_and_post)
{
    check_config("routes:\n"
                 "  - path: /events/:room\n"
                 "    methods: [GET, PUT]\n"
                 "    events: { channel: \":room\" }\n",
                 "routes[0].methods: an events route answers GET");
}

Test(config, events_channel_is_required_and_checked)
{
    check_config("routes:\n"
                 "  - path: /e\n"
                 "    events: { keepalive: 5s }\n",
                 "channel");
    check_config("routes:\n"
                 "  - path: /e\n"
                 "    events: { channel: \"a b\" }\n",
                 "routes[0].events.channel: invalid channel a b");
}

Test(config, events_bounds)
{
    check_config("routes:\n"
                 "  - path: /e\n"
                 "    events: { channel: e, max_pending: 512 }\n",
                 "routes[0].events.max_pending");
    check_config("routes:\n"
                 "  - path: /e\n"
                 "    events: { channel: e, keepalive: 500ms }\n",
                 "routes[0].events.keepalive");
    check_config("pubsub: { history: 100001 }\n", "pubsub.history");
    check_config("pubsub: { max_channels: 0 }\n", "pubsub.max_channels");
    check_config("pubsub: { backend: memcached }\n", "pubsub.backend");
}

Test(config, websocket_keys)
{
    check_config("routes:\n"
                 "  - path: /ws\n"
                 "    websocket: { channel: w, max_message_size: 124 }\n",
                 "routes[0].websocket.max_message_size");
    check_config("routes:\n"
                 "  - path: /ws\n"
                 "    methods: [GET, POST]\n"
                 "    websocket: { channel: w }\n",
                 "a websocket route answers GET only");
    check_config("routes:\n"
                 "  - path: /ws\n"
                 "    websocket: { channel: w, publish_from: [127.0.0.1] }\n",
                 "publish_from");
}

/* ---- pubsub.max_channels ---- */

static void
start_one_channel(void)
{
    cr_assert_eq(hh_start(&srv,
                          "workers: 1\npubsub: { max_channels: 1 }\n"
                          "routes:\n" EVENTS_ROUTE,
                          1),
                 0, "herd did not start");
}

TestSuite(channels, .init = start_one_channel, .fini = stop, .timeout = 60);

Test(channels, past_max_channels_publishing_is_503)
{
    struct hh_response r;

    publish("/events/first", "x");
    post("/events/second", "y", 1, &r);
    cr_expect_eq(r.status, 503, "%d %s", r.status, r.body);
    cr_expect_not_null(strstr(r.body, "max_channels"), "%s", r.body);
    hh_response_free(&r);
}

Test(channels, past_max_channels_a_stream_ends_at_once)
{
    struct sse a, b;

    subscribe(&a, "/events/one", NULL);
    sse_open(&b, "/events/two", NULL);
    cr_expect_eq(b.status, 200, "%s", b.head);
    while (!b.ended && sse_fill(&b, 5000) > 0)
        ;
    cr_expect(b.ended, "the second channel's stream goes on: %s", b.data);
    sse_close(&a);
    sse_close(&b);
}

/* Subscribing needs no permission: channels that nobody listens to and
   that keep no message must not use up pubsub.max_channels for good. */
Test(channels, channels_nobody_uses_are_forgotten)
{
    struct sse a;
    struct hh_response r;
    long deadline;
    int status = 0;

    subscribe(&a, "/events/gone", NULL);
    sse_close(&a);
    /* Until the worker has told the master that nobody listens. */
    deadline = now_ms() + 5000;
    while (status != 202 && now_ms() < deadline) {
        post("/events/next", "x", 1, &r);
        status = r.status;
        hh_response_free(&r);
        if (status != 202)
            poll(NULL, 0, 50);
    }
    cr_expect_eq(status, 202,
                 "a channel subscribed once and left holds its slot: %d",
                 status);
}

/* ---- pubsub.backend: redis, with no Redis to reach ---- */

static void
start_no_redis(void)
{
    /* Port 1 on loopback: connections are refused. */
    cr_assert_eq(hh_start(&srv,
                          "workers: 1\n"
                          "pubsub: { backend: redis, address: "
                          "\"127.0.0.1:1\" }\n"
                          "routes:\n" EVENTS_ROUTE,
                          1),
                 0, "herd did not start");
}

TestSuite(redis_down, .init = start_no_redis, .fini = stop, .timeout = 60);

Test(redis_down, a_post_is_refused_not_lost)
{
    struct hh_response r;

    post("/events/r", "x", 1, &r);
    cr_expect_eq(r.status, 503, "%d %s", r.status, r.body);
    cr_expect_not_null(strstr(r.body, "redis"), "%s", r.body);
    hh_response_free(&r);
}

Test(config, redis_address_is_checked)
{
    check_config("pubsub: { backend: redis, address: localhost }\n",
                 "pubsub.address");
}

/* ---- pubsub.backend: redis, two herds sharing a Redis server ---- */

static struct hh_server srv2;
static pid_t redis_pid;
static int redis_port;

/* A free loopback port (the kernel's pick, released again). */
static int
free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* 0 once something accepts connections on 127.0.0.1:port. */
static int
wait_listening(int port, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;

    while (now_ms() < deadline) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
        close(fd);
        if (rc == 0)
            return 0;
        poll(NULL, 0, 20);
    }
    return -1;
}

static void
start_redis_pair(void)
{
    char yaml[1024], port[16];

    if (access("/usr/bin/redis-server", X_OK) != 0)
        return; /* the tests skip */
    redis_port = free_port();
    cr_assert_gt(redis_port, 0);
    snprintf(port, sizeof(port), "%d", redis_port);
    redis_pid = fork();
    cr_assert_geq(redis_pid, 0);
    if (redis_pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(null, 1);
        dup2(null, 2);
        execl("/usr/bin/redis-server", "redis-server", "--port", port, "--bind",
              "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel",
              "warning", (char *)NULL);
        _exit(127);
    }
    cr_assert_eq(wait_listening(redis_port, 5000), 0, "no redis-server");
    snprintf(yaml, sizeof(yaml),
             "workers: 1\n"
             "pubsub: { backend: redis, address: \"127.0.0.1:%d\", "
             "prefix: \"t%d:\" }\n"
             "routes:\n" EVENTS_ROUTE,
             redis_port, (int)getpid());
    cr_assert_eq(hh_start(&srv, yaml, 1), 0, "herd A did not start");
    cr_assert_eq(hh_start(&srv2, yaml, 1), 0, "herd B did not start");
}

static void
stop_redis_pair(void)
{
    if (srv.pid > 0)
        cr_expect_eq(hh_stop(&srv), 0, "herd A did not exit 0 on SIGTERM");
    if (srv2.pid > 0)
        cr_expect_eq(hh_stop(&srv2), 0, "herd B did not exit 0 on SIGTERM");
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
}

TestSuite(redis, .init = start_redis_pair, .fini = stop_redis_pair,
          .timeout = 60);

Test(redis, a_post_on_one_herd_reaches_the_other)
{
    struct sse a, b;
    struct hh_response r;
    long deadline;
    int got = 0;

    if (redis_pid == 0)
        cr_skip_test("redis-server is not installed");
    subscribe(&a, "/events/both", NULL);
    sse_open_fd(&b, hh_connect(&srv2), "/events/both", NULL);
    cr_assert_eq(b.status, 200, "%s", b.head);
    /* The herds subscribe at Redis in the background: publish until the
       message reaches the other one (each try is a new message). */
    deadline = now_ms() + 10000;
    while (!got && now_ms() < deadline) {
        post_on(&srv2, "/events/both", "across", 6, &r);
        /* 503 until herd B has connected to Redis. */
        cr_assert(r.status == 202 || r.status == 503, "%d %s", r.status,
                  r.body);
        if (r.status == 202)
            cr_expect_str_eq(r.body, "{\"id\":null}\n");
        hh_response_free(&r);
        got = sse_wait(&a, "\ndata: across\n\n", 200) == 0;
    }
    cr_assert(got, "herd A never got herd B's message: %s", a.data);
    cr_assert_eq(sse_wait(&b, "\ndata: across\n\n", 5000), 0,
                 "herd B's own subscriber: %s", b.data);
    cr_expect(strstr(a.data, "retry: 2000\n\nid: ") == a.data, "%s", a.data);
    sse_close(&a);
    sse_close(&b);
}
