/*
 * idle.c: idle keep-alive connections for scripts/bench: open N
 * connections, make one request on each and read its whole answer, then
 * hold them all open, idle, until stdin closes.
 *
 * Usage: idle HOST PORT N
 *   Prints "ready N" once every connection had its answer (then the
 *   caller measures the server), or "failed K ..." and exits 1 when K
 *   connections could not be made or answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct idle_conn {
    int fd;
    size_t got;     /* bytes of the answer read */
    size_t want;    /* head + Content-Length, once the head is in */
    char head[512]; /* the start of the answer */
};

/* Whether c's answer is complete (Content-Length framing). */
static int
answered(struct idle_conn *c)
{
    char *end, *cl;

    if (c->want == 0) {
        end =
            memmem(c->head, c->got < sizeof(c->head) ? c->got : sizeof(c->head),
                   "\r\n\r\n", 4);
        if (end == NULL)
            return 0;
        cl = memmem(c->head, (size_t)(end - c->head), "Content-Length: ", 16);
        c->want = (size_t)(end + 4 - c->head) +
                  (cl != NULL ? strtoul(cl + 16, NULL, 10) : 0);
    }
    return c->got >= c->want;
}

int
main(int argc, char **argv)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
    struct sockaddr_in sa;
    struct epoll_event ev, evs[512];
    struct idle_conn *cs;
    char buf[4096];
    int n, i, ep, done = 0, failed = 0, k;

    if (argc != 4 || (n = atoi(argv[3])) <= 0) {
        fprintf(stderr, "usage: idle HOST PORT N\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
        return 2;
    cs = calloc((size_t)n, sizeof(*cs));
    ep = epoll_create1(0);
    if (cs == NULL || ep < 0)
        return 1;
    for (i = 0; i < n; i++) {
        cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (cs[i].fd < 0 ||
            connect(cs[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            write(cs[i].fd, req, sizeof(req) - 1) !=
                (ssize_t)(sizeof(req) - 1)) {
            fprintf(stderr, "idle: connection %d: %s\n", i, strerror(errno));
            failed++;
            if (cs[i].fd >= 0)
                close(cs[i].fd);
            cs[i].fd = -1;
            continue;
        }
        ev.events = EPOLLIN;
        ev.data.ptr = &cs[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    while (done + failed < n) {
        k = epoll_wait(ep, evs, 512, 10000);
        if (k <= 0)
            break; /* 10 s without progress */
        for (i = 0; i < k; i++) {
            struct idle_conn *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, buf, sizeof(buf));

            if (r <= 0) {
                failed++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            if (c->got < sizeof(c->head))
                memcpy(c->head + c->got, buf,
                       (size_t)r < sizeof(c->head) - c->got
                           ? (size_t)r
                           : sizeof(c->head) - c->got);
            c->got += (size_t)r;
            if (answered(c)) {
                done++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
    }
    if (done < n) {
        printf("failed %d of %d\n", n - done, n);
        return 1;
    }
    printf("ready %d\n", n);
    fflush(stdout);
    /* Hold them until told. */
    while (read(0, buf, sizeof(buf)) > 0)
        ;
    return 0;
}
