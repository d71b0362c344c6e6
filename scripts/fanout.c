/*
 * fanout.c: pub/sub load for scripts/bench: N Server-Sent Events
 * subscribers on one channel, one publisher POSTing at a steady rate, and
 * for every delivery the time from the POST's send to its arrival.
 *
 * Usage: fanout HOST PORT PATH SUBSCRIBERS MESSAGES RATE
 *   PATH is an events route whose channel the POSTs go to (publish_from
 *   must allow this host). Prints one line of key=value figures:
 *   subscribers, messages, delivered, lost, seconds, deliveries_per_s,
 *   p50_us, p99_us, max_us. Exit status 1 on setup errors or when a
 *   delivery is lost.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct sub {
    int fd;
    char buf[8192];
    size_t len;
    int head_done;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
dial(const char *host, int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
    ssize_t w;

    while (n > 0) {
        w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Latencies of every delivery, in ns. */
static uint64_t *lat;
static size_t nlat, caplat;

static void
record(uint64_t ns)
{
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof(*lat));
        if (lat == NULL) {
            perror("fanout: realloc");
            exit(1);
        }
    }
    lat[nlat++] = ns;
}

/* Consume whole "data: T" lines of s's stream (chunk lines and comments
   in between are skipped: only data lines are read). */
static void
drain(struct sub *s)
{
    char *p = s->buf, *end = s->buf + s->len, *nl;
    uint64_t t, now = now_ns();

    if (!s->head_done) {
        char *h = memmem(p, s->len, "\r\n\r\n", 4);

        if (h == NULL)
            return;
        s->head_done = 1;
        p = h + 4;
    }
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        if (nl - p > 6 && memcmp(p, "data: ", 6) == 0) {
            t = strtoull(p + 6, NULL, 10);
            if (t > 0 && t <= now)
                record(now - t);
        }
        p = nl + 1;
    }
    memmove(s->buf, p, (size_t)(end - p));
    s->len = (size_t)(end - p);
}

int
main(int argc, char **argv)
{
    const char *host, *path;
    int port, nsubs, nmsgs, rate, ep, pub, i, n, sent = 0, acked = 0;
    struct epoll_event e, evs[256];
    struct sub *subs;
    char req[512], body[32], pubbuf[65536];
    uint64_t start, next, interval, t0 = 0, last = 0, want;
    size_t publen = 0;

    if (argc != 7) {
        fprintf(stderr, "usage: fanout HOST PORT PATH SUBSCRIBERS MESSAGES "
                        "RATE\n");
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    path = argv[3];
    nsubs = atoi(argv[4]);
    nmsgs = atoi(argv[5]);
    rate = atoi(argv[6]);
    if (port <= 0 || nsubs <= 0 || nmsgs <= 0 || rate <= 0)
        return 2;
    subs = calloc((size_t)nsubs, sizeof(*subs));
    ep = epoll_create1(0);
    if (subs == NULL || ep < 0)
        return 1;
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path,
             host);
    for (i = 0; i < nsubs; i++) {
        subs[i].fd = dial(host, port);
        if (subs[i].fd < 0 || write_all(subs[i].fd, req, strlen(req)) != 0) {
            fprintf(stderr, "fanout: subscriber %d: %s\n", i, strerror(errno));
            return 1;
        }
        e.events = EPOLLIN;
        e.data.ptr = &subs[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &e);
    }
    pub = dial(host, port);
    if (pub < 0) {
        fprintf(stderr, "fanout: publisher: %s\n", strerror(errno));
        return 1;
    }
    e.events = EPOLLIN;
    e.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, pub, &e);
    /* Let every subscription reach the master before the first publish. */
    start = now_ns();
    while (now_ns() - start < 500000000u) {
        n = epoll_wait(ep, evs, 256, 50);
        for (i = 0; i < n; i++) {
            struct sub *s = evs[i].data.ptr;
            ssize_t r;

            if (s == NULL)
                continue;
            r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
            if (r > 0) {
                s->len += (size_t)r;
                drain(s);
            }
        }
    }
    want = (uint64_t)nsubs * (uint64_t)nmsgs;
    interval = 1000000000u / (uint64_t)rate;
    next = now_ns();
    for (;;) {
        uint64_t now = now_ns();
        int timeout;

        if (sent < nmsgs && now >= next) {
            n = snprintf(body, sizeof(body), "%llu", (unsigned long long)now);
            n = snprintf(req, sizeof(req),
                         "POST %s HTTP/1.1\r\nHost: %s\r\n"
                         "Content-Length: %d\r\n\r\n%s",
                         path, host, n, body);
            if (write_all(pub, req, (size_t)n) != 0) {
                perror("fanout: publish");
                return 1;
            }
            if (sent++ == 0)
                t0 = now;
            next += interval;
            continue;
        }
        if (nlat >= want && acked >= nmsgs)
            break;
        if (sent == nmsgs && last != 0 && now - last > 2000000000u)
            break; /* nothing for 2 s: the rest is lost */
        timeout = sent < nmsgs ? (int)((next - now) / 1000000u) : 100;
        n = epoll_wait(ep, evs, 256, timeout);
        for (i = 0; i < n; i++) {
            struct sub *s = evs[i].data.ptr;
            ssize_t r;

            if (s == NULL) {
                r = read(pub, pubbuf + publen, sizeof(pubbuf) - publen);
                if (r <= 0) {
                    /* keepalive_requests reached: a new connection. */
                    epoll_ctl(ep, EPOLL_CTL_DEL, pub, NULL);
                    close(pub);
                    publen = 0;
                    pub = dial(host, port);
                    if (pub < 0) {
                        perror("fanout: publisher");
                        return 1;
                    }
                    e.events = EPOLLIN;
                    e.data.ptr = NULL;
                    epoll_ctl(ep, EPOLL_CTL_ADD, pub, &e);
                    continue;
                }
                publen += (size_t)r;
                /* Count answers; keep a partial one. */
                {
                    char *p = pubbuf, *end = pubbuf + publen, *q;

                    while ((q = memmem(p, (size_t)(end - p), "HTTP/1.1 ", 9)) !=
                               NULL &&
                           memmem(q, (size_t)(end - q), "\r\n\r\n", 4)) {
                        char *h = memmem(q, (size_t)(end - q), "\r\n\r\n", 4);
                        char *cl =
                            memmem(q, (size_t)(h - q), "Content-Length: ", 16);
                        size_t blen = cl ? strtoul(cl + 16, NULL, 10) : 0;

                        if ((size_t)(end - (h + 4)) < blen)
                            break;
                        if (memcmp(q + 9, "202", 3) != 0)
                            fprintf(stderr, "fanout: publish answered %.3s\n",
                                    q + 9);
                        acked++;
                        p = h + 4 + blen;
                    }
                    memmove(pubbuf, p, (size_t)(end - p));
                    publen = (size_t)(end - p);
                }
                continue;
            }
            r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
            if (r <= 0) {
                fprintf(stderr, "fanout: a subscriber was closed\n");
                epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
                continue;
            }
            s->len += (size_t)r;
            drain(s);
            last = now_ns();
        }
    }
    qsort(lat, nlat, sizeof(*lat), cmp_u64);
    {
        double secs = (double)(last - t0) / 1e9;

        printf("subscribers=%d messages=%d delivered=%zu lost=%llu "
               "seconds=%.3f deliveries_per_s=%.0f p50_us=%.0f p99_us=%.0f "
               "max_us=%.0f\n",
               nsubs, nmsgs, nlat, (unsigned long long)(want - nlat), secs,
               secs > 0 ? (double)nlat / secs : 0,
               nlat ? (double)lat[nlat / 2] / 1e3 : 0,
               nlat ? (double)lat[(nlat * 99) / 100] / 1e3 : 0,
               nlat ? (double)lat[nlat - 1] / 1e3 : 0);
    }
    return nlat == want ? 0 : 1;
}
