/* test_redis.c: two herd instances sharing a real redis-server (pubsub.backend:
 * redis). */
#include <arpa/inet.h>
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

static pid_t redis_pid = -1;
static int redis_port;

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int
free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int
port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return rc == 0;
}

/* Start redis-server on a free port (or on redis_port when it is set). */
static int
redis_start(void)
{
    char port[16];
    int waited;

    if (redis_port == 0)
        redis_port = free_port();
    snprintf(port, sizeof(port), "%d", redis_port);
    redis_pid = fork();
    if (redis_pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--save", "", "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    for (waited = 0; waited < 5000; waited += 20) {
        if (port_open(redis_port))
            return 0;
        if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid) {
            redis_pid = -1;
            return -1;
        }
        sleep_ms(20);
    }
    return -1;
}

static void
redis_stop(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
    }
    redis_pid = -1;
}

static int
have_redis(void)
{
    return system("command -v redis-server >/dev/null 2>&1") == 0;
}

static char yaml[1024];

static const char *
instance_yaml(void)
{
    snprintf(yaml, sizeof(yaml),
             "pubsub: { backend: redis, address: \"127.0.0.1:%d\", "
             "prefix: \"t%d:\" }\n"
             "routes:\n"
             "  - path: /events/:room\n"
             "    methods: [GET, POST]\n"
             "    events: { channel: \":room\", publish_from: "
             "[127.0.0.0/8] }\n",
             redis_port, (int)getpid());
    return yaml;
}

/* Open an SSE subscription on s; returns the fd, the head read. */
static int
subscribe(const struct hh_server *s, const char *room)
{
    char req[256], buf[1024];
    size_t len = 0;
    ssize_t n;
    int fd = hh_connect(s);

    cr_assert(fd >= 0);
    snprintf(req, sizeof(req), "GET /events/%s HTTP/1.1\r\nHost: x\r\n\r\n",
             room);
    cr_assert_eq(hh_send(fd, req, strlen(req)), 0);
    /* The head and the retry: line come at once. */
    while (len < sizeof(buf) - 1 &&
           (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "retry: ") != NULL)
            break;
    }
    cr_assert(strstr(buf, "HTTP/1.1 200") == buf, "got: %s", buf);
    return fd;
}

/* Read from fd until it holds text (or timeout_ms): 1 when found. */
static int
wait_text(int fd, const char *text, int timeout_ms)
{
    static char buf[65536];
    static size_t len;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int waited = 0;
    ssize_t n;

    len = 0;
    while (waited < timeout_ms) {
        if (poll(&p, 1, 50) == 1) {
            n = read(fd, buf + len, sizeof(buf) - 1 - len);
            if (n <= 0)
                return 0;
            len += (size_t)n;
            buf[len] = '\0';
            if (strstr(buf, text) != NULL)
                return 1;
        } else {
            waited += 50;
        }
    }
    return 0;
}

static int
post(const struct hh_server *s, const char *room, const char *body,
     struct hh_response *r)
{
    char req[512];

    snprintf(req, sizeof(req),
             "POST /events/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
             "\r\n%s",
             room, strlen(body), body);
    return hh_request(s, req, r);
}

/* Both instances are up and their masters connected to Redis. */
static void
start_two(struct hh_server *a, struct hh_server *b)
{
    cr_assert_eq(hh_start(a, instance_yaml(), 1), 0);
    cr_assert_eq(hh_start(b, instance_yaml(), 1), 0);
    cr_assert_eq(hh_wait_log(a, "connected to redis", 1, 10000), 0);
    cr_assert_eq(hh_wait_log(b, "connected to redis", 1, 10000), 0);
}

Test(redis, two_instances_deliver_each_others_messages, .timeout = 60)
{
    struct hh_server a, b;
    struct hh_response r;
    int fa, fb, waited;

    if (!have_redis())
        cr_skip_test("redis-server not found: install the Debian package "
                     "redis-server");
    cr_assert_eq(redis_start(), 0, "redis-server did not start");
    start_two(&a, &b);
    fa = subscribe(&a, "room1");
    fb = subscribe(&b, "room1");
    /* The subscriptions reach Redis through each master: retry the first
       publish until A's subscriber sees one from B. */
    for (waited = 0; waited < 5000; waited += 200) {
        cr_assert_eq(post(&b, "room1", "from-b", &r), 0);
        cr_assert_eq(r.status, 202, "%s", r.head);
        cr_expect(strstr(r.body, "\"id\":null") != NULL, "%s", r.body);
        hh_response_free(&r);
        if (wait_text(fa, "data: from-b", 200))
            break;
    }
    cr_assert_lt(waited, 5000, "A never got B's message");
    cr_expect(wait_text(fb, "data: from-b", 2000), "B's own subscriber");
    cr_assert_eq(post(&a, "room1", "from-a", &r), 0);
    cr_expect_eq(r.status, 202);
    hh_response_free(&r);
    cr_expect(wait_text(fb, "data: from-a", 3000), "B never got A's message");
    cr_expect(wait_text(fa, "data: from-a", 3000));
    close(fa);
    close(fb);
    cr_expect_eq(hh_stop(&a), 0);
    cr_expect_eq(hh_stop(&b), 0);
    redis_stop();
}

Test(redis, down_means_refused_never_silently_lost_and_back_means_back,
     .timeout = 60)
{
    struct hh_server a, b;
    struct hh_response r;
    int fa, waited, status = 0;

    if (!have_redis())
        cr_skip_test("redis-server not found: install the Debian package "
                     "redis-server");
    cr_assert_eq(redis_start(), 0, "redis-server did not start");
    start_two(&a, &b);
    fa = subscribe(&a, "room2");
    redis_stop();
    cr_assert_eq(hh_wait_log(&b, "publishes are refused", 1, 10000), 0);
    /* While Redis is down a publish is refused, and says why. */
    cr_assert_eq(post(&b, "room2", "lost?", &r), 0);
    cr_expect_eq(r.status, 503, "%s", r.head);
    cr_expect(strstr(r.body, "redis is not connected") != NULL, "%s", r.body);
    hh_response_free(&r);
    cr_expect(hh_wait_log(&b, "refused: redis is not connected", 1, 5000) == 0);
    /* Back on the same port: both masters reconnect (back-off) and A
       subscribes again. */
    cr_assert_eq(redis_start(), 0);
    cr_assert_eq(hh_wait_log(&a, "connected to redis", 2, 15000), 0);
    cr_assert_eq(hh_wait_log(&b, "connected to redis", 2, 15000), 0);
    for (waited = 0; waited < 5000; waited += 200) {
        cr_assert_eq(post(&b, "room2", "after", &r), 0);
        status = r.status;
        hh_response_free(&r);
        if (status == 202 && wait_text(fa, "data: after", 200))
            break;
    }
    cr_expect_lt(waited, 5000, "no delivery after Redis came back (last %d)",
                 status);
    close(fa);
    cr_expect_eq(hh_stop(&a), 0);
    cr_expect_eq(hh_stop(&b), 0);
    redis_stop();
}
