/* test_proxies.c: herd behind the real nginx and HAProxy, using conf/'s
   samples. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/*
 * Clients connect from 127.0.0.2, an address no proxy uses for itself,
 * so that finding it in herd's access log shows the client's address
 * went through the proxy. Each test skips when its proxy is not
 * installed (CI installs both).
 */

static struct hh_server herd_a, herd_b;
static pid_t proxy_pid;
static char dir[64];

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The path of a Debian tool into out, or NULL when it is not installed. */
static const char *
find_tool(const char *name, char *out, size_t len)
{
    static const char *const dirs[] = {"/usr/sbin", "/usr/bin",
                                       "/usr/local/sbin"};
    size_t i;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(out, len, "%s/%s", dirs[i], name);
        if (access(out, X_OK) == 0)
            return out;
    }
    return NULL;
}

/* A TCP port that was free a moment ago. */
static int
free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    cr_assert_geq(fd, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

/* The text of file path (malloc'd), or NULL. */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL)
        return NULL;
    buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Copy the sample conf/name to path with each from[i] replaced by to[i]
   (each must occur). */
static void
sample(const char *name, const char *path, const char *const *from,
       const char *const *to, int n)
{
    const char *srcdir = getenv("HERD_SRCDIR");
    char src[512], *text, *out, *hit;
    int i;

    snprintf(src, sizeof(src), "%s/conf/%s", srcdir ? srcdir : ".", name);
    text = slurp(src);
    cr_assert_not_null(text, "cannot read %s", src);
    for (i = 0; i < n; i++) {
        hit = strstr(text, from[i]);
        cr_assert_not_null(hit, "%s has no \"%s\"", name, from[i]);
        out = malloc(strlen(text) + strlen(to[i]) + 1);
        cr_assert_not_null(out);
        memcpy(out, text, (size_t)(hit - text));
        strcpy(out + (hit - text), to[i]);
        strcat(out, hit + strlen(from[i]));
        free(text);
        text = out;
    }
    cr_assert_eq(hh_write_file(path, text), 0);
    free(text);
}

/* Start argv[0] with output into log. */
static pid_t
spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void
stop_pid(pid_t pid)
{
    int i, st;

    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (i = 0; i < 500; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

/* Connect to 127.0.0.1:port from 127.0.0.2; -1 on failure. */
static int
connect_from_2(int port)
{
    struct sockaddr_in src, dst;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = inet_addr("127.0.0.2");
    dst = src;
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.sin_port = htons((uint16_t)port);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request from 127.0.0.2 through the proxy on port. 0 or -1. */
static int
request_2(int port, const char *raw, struct hh_response *r)
{
    int fd = connect_from_2(port), rc;

    if (fd < 0)
        return -1;
    rc = hh_send(fd, raw, 0) == 0 ? hh_read_response(fd, r, 0) : -1;
    close(fd);
    return rc;
}

/* Wait until the proxy on port answers 200 with body (NULL: any). */
static int
wait_body(int port, const char *body, int timeout_ms)
{
    struct hh_response r;
    int waited, ok;

    for (waited = 0; waited < timeout_ms; waited += 50) {
        if (request_2(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 0) {
            ok = r.status == 200 && (body == NULL || strcmp(r.body, body) == 0);
            hh_response_free(&r);
            if (ok)
                return 0;
        }
        sleep_ms(50);
    }
    return -1;
}

/* 1 when a line of herd's access log at path starts with prefix. */
static int
log_has_line(const char *path, const char *prefix)
{
    char *text = slurp(path), *p;
    int found = 0;

    for (p = text; p != NULL && *p && !found; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        found = strncmp(p, prefix, strlen(prefix)) == 0;
    }
    free(text);
    return found;
}

static int
wait_log_line(const char *path, const char *prefix, int timeout_ms)
{
    int waited;

    for (waited = 0; waited < timeout_ms; waited += 20) {
        if (log_has_line(path, prefix))
            return 0;
        sleep_ms(20);
    }
    return -1;
}

static void
make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/herd-proxies-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    /* nginx's workers run as nobody when the test runs as root. */
    chmod(dir, 0755);
}

static void
teardown(void)
{
    char cmd[128];

    stop_pid(proxy_pid);
    proxy_pid = 0;
    if (herd_a.pid > 0)
        hh_stop(&herd_a);
    if (herd_b.pid > 0)
        hh_stop(&herd_b);
    if (dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
        dir[0] = '\0';
    }
}

/* ---- nginx over a unix socket ---- */

static int nginx_port;
static char access_a[160];

static void
start_nginx(void)
{
    char tool[64], yaml[1024], keys[256], conf[160], inc[160], sock[160],
        listen[64], up[200], text[1024], err[160];
    const char *from[2], *to[2];

    if (find_tool("nginx", tool, sizeof(tool)) == NULL)
        cr_skip_test("nginx is not installed");
    make_dir();
    snprintf(sock, sizeof(sock), "%s/herd.sock", dir);
    snprintf(access_a, sizeof(access_a), "%s/access.log", dir);
    snprintf(yaml, sizeof(yaml),
             "listen:\n"
             "  - 127.0.0.1:0\n"
             "  - { address: \"unix:%s\", mode: \"0666\" }\n"
             "workers: 1\n"
             "proxy: { trusted: [unix] }\n"
             "routes:\n"
             "  - { path: /, respond: { body: \"hi\" } }\n",
             sock);
    snprintf(keys, sizeof(keys), "access: %s", access_a);
    cr_assert_eq(hh_start_log(&herd_a, yaml, 1, keys), 0);

    nginx_port = free_port();
    snprintf(inc, sizeof(inc), "%s/herd.conf", dir);
    snprintf(listen, sizeof(listen), "listen 127.0.0.1:%d;", nginx_port);
    snprintf(up, sizeof(up), "server unix:%s;", sock);
    from[0] = "listen 80;";
    to[0] = listen;
    from[1] = "server unix:/run/herd/herd.sock;";
    to[1] = up;
    sample("nginx-herd.conf", inc, from, to, 2);
    snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
    snprintf(err, sizeof(err), "%s/nginx.err", dir);
    snprintf(text, sizeof(text),
             "daemon off;\npid %s/nginx.pid;\nerror_log %s;\n"
             "events {}\nhttp {\n  access_log off;\n"
             "  client_body_temp_path %s/t1;\n  proxy_temp_path %s/t2;\n"
             "  fastcgi_temp_path %s/t3;\n  uwsgi_temp_path %s/t4;\n"
             "  scgi_temp_path %s/t5;\n  include %s;\n}\n",
             dir, err, dir, dir, dir, dir, dir, inc);
    cr_assert_eq(hh_write_file(conf, text), 0);
    {
        char *argv[] = {tool, "-p", dir, "-c", conf, "-e", err, NULL};
        proxy_pid = spawn(argv, err);
    }
    cr_assert_eq(wait_body(nginx_port, "hi", 10000), 0,
                 "nginx did not pass a request to herd");
}

TestSuite(nginx, .fini = teardown, .timeout = 60);

Test(nginx, client_address_is_the_real_clients)
{
    struct hh_response r;

    start_nginx();
    /* A spoofed X-Forwarded-For: nginx appends the address it saw, and
       herd takes the right-most untrusted hop. */
    cr_assert_eq(request_2(nginx_port,
                           "GET /who HTTP/1.1\r\nHost: x\r\n"
                           "X-Forwarded-For: 6.6.6.6\r\n\r\n",
                           &r),
                 0);
    cr_expect_eq(r.status, 404);
    hh_response_free(&r);
    cr_expect_eq(wait_log_line(access_a, "127.0.0.2 - - ", 3000), 0,
                 "the access log does not show 127.0.0.2");
    cr_expect(!log_has_line(access_a, "6.6.6.6 "), "spoofed address believed");
}

Test(nginx, request_id_round_trip)
{
    struct hh_response r;
    char id[160], want[200], *text;
    size_t i;

    start_nginx();
    cr_assert_eq(request_2(nginx_port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r),
                 0);
    cr_assert_not_null(hh_header(&r, "X-Request-Id", id, sizeof(id)));
    hh_response_free(&r);
    /* nginx's $request_id: 32 hex digits, believed from a trusted peer. */
    cr_expect_eq(strlen(id), 32, "%s", id);
    for (i = 0; i < strlen(id); i++)
        cr_expect(strchr("0123456789abcdef", id[i]) != NULL, "%s", id);
    snprintf(want, sizeof(want), " id=%s ", id);
    for (i = 0; i < 100; i++) {
        text = slurp(access_a);
        if (text != NULL && strstr(text, want) != NULL) {
            free(text);
            break;
        }
        free(text);
        sleep_ms(30);
    }
    cr_expect_lt(i, 100, "id %s not in the access log", id);
}

/* ---- HAProxy with PROXY v2 and two herd instances ---- */

static int haproxy_port;

static void
herd_yaml(char *buf, size_t len, const char *body, int min_ready)
{
    snprintf(buf, len,
             "listen: [{ address: \"127.0.0.1:0\", proxy_protocol: true }]\n"
             "workers: 1\n"
             "routes:\n"
             "  - { path: /, respond: { body: \"%s\" } }\n"
             "  - { path: /health, health: { min_ready: %d } }\n",
             body, min_ready);
}

static void
start_haproxy(void)
{
    char tool[64], yaml[512], keys[256], cfg[160], log[160], bind[64], a[64],
        b[64];
    const char *from[4], *to[4];

    if (find_tool("haproxy", tool, sizeof(tool)) == NULL)
        cr_skip_test("haproxy is not installed");
    make_dir();
    snprintf(access_a, sizeof(access_a), "%s/access.log", dir);
    snprintf(keys, sizeof(keys), "access: %s", access_a);
    herd_yaml(yaml, sizeof(yaml), "A", 0);
    cr_assert_eq(hh_start_log(&herd_a, yaml, 1, keys), 0);
    herd_yaml(yaml, sizeof(yaml), "B", 0);
    cr_assert_eq(hh_start(&herd_b, yaml, 1), 0);

    haproxy_port = free_port();
    snprintf(bind, sizeof(bind), "bind 127.0.0.1:%d", haproxy_port);
    snprintf(a, sizeof(a), "127.0.0.1:%d\n", herd_a.port);
    snprintf(b, sizeof(b), "127.0.0.1:%d\n", herd_b.port);
    from[0] = "bind :80";
    to[0] = bind;
    from[1] = "127.0.0.1:8081\n";
    to[1] = a;
    from[2] = "127.0.0.1:8082\n";
    to[2] = b;
    from[3] = "inter 1s";
    to[3] = "inter 200ms";
    snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", dir);
    sample("haproxy-herd.cfg", cfg, from, to, 4);
    snprintf(log, sizeof(log), "%s/haproxy.log", dir);
    {
        char *argv[] = {tool, "-db", "-f", cfg, NULL};
        proxy_pid = spawn(argv, log);
    }
    cr_assert_eq(wait_body(haproxy_port, "A", 10000), 0, "A never answered");
    cr_assert_eq(wait_body(haproxy_port, "B", 10000), 0, "B never answered");
}

TestSuite(haproxy, .fini = teardown, .timeout = 60);

Test(haproxy, proxy_v2_carries_the_client)
{
    start_haproxy();
    cr_assert_eq(wait_body(haproxy_port, "A", 5000), 0);
    cr_expect_eq(wait_log_line(access_a, "127.0.0.2 - - ", 3000), 0,
                 "herd A's access log does not show 127.0.0.2");
}

Test(haproxy, connection_without_header_is_refused)
{
    char buf[64];
    int fd, closed = 0;

    start_haproxy();
    fd = hh_connect(&herd_a);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_expect_eq(hh_read_until_close(fd, buf, sizeof(buf), 3000, &closed), 0);
    cr_expect(closed);
    close(fd);
}

Test(haproxy, unhealthy_instance_is_taken_out)
{
    struct hh_response r;
    char yaml[512], text[2048];
    int i, in_a_row = 0;

    start_haproxy();
    /* A now wants 2 ready workers of its 1: /health turns 503. */
    herd_yaml(yaml, sizeof(yaml), "A", 2);
    snprintf(text, sizeof(text),
             "log: { level: debug, error: %s, access: %s }\n%s", herd_a.log,
             access_a, yaml);
    cr_assert_eq(hh_write_file(herd_a.conf, text), 0);
    kill(herd_a.pid, SIGHUP);
    cr_assert_eq(hh_wait_log(&herd_a, "reloaded", 1, 10000), 0);
    for (i = 0; i < 200 && in_a_row < 10; i++) {
        if (request_2(haproxy_port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r) ==
            0) {
            in_a_row = strcmp(r.body, "B") == 0 ? in_a_row + 1 : 0;
            hh_response_free(&r);
        }
        sleep_ms(50);
    }
    cr_expect_eq(in_a_row, 10, "HAProxy still routes to A");
}

/* ---- the systemd unit ---- */

/* The unit configure wrote: Type=notify when herd has sd_notify. */
static char *
built_unit(void)
{
    const char *builddir = getenv("HERD_BUILDDIR");
    char path[512];

    snprintf(path, sizeof(path), "%s/conf/herd.service",
             builddir ? builddir : ".");
    return slurp(path);
}

Test(samples, systemd_unit_reloads_with_hup)
{
    char *text = built_unit();

    cr_assert_not_null(text, "cannot read conf/herd.service in the build");
    cr_expect(strstr(text, "\nType=notify\n") != NULL ||
              strstr(text, "\nType=simple\n") != NULL);
    cr_expect(strstr(text, "\nExecReload=/bin/kill -HUP $MAINPID\n") != NULL);
    cr_expect(strstr(text, "\nKillSignal=SIGTERM\n") != NULL);
    cr_expect(strstr(text, "\nExecStart=/usr/local/sbin/herd -c ") != NULL);
    free(text);
}

/* Read one datagram sent to the notify socket fd within timeout_ms. */
static int
notify_read(int fd, char *buf, size_t cap, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ssize_t n;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    n = recv(fd, buf, cap - 1, 0);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Type=notify: the master says READY=1 once every worker serves,
   RELOADING=1 then READY=1 around a reload, STOPPING=1 on stop. */
Test(samples, systemd_notify_ready_reloading_stopping, .timeout = 30)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct hh_server s;
    char *unit = built_unit(), msg[512], sock[64];
    int fd, status;

    cr_assert_not_null(unit);
    if (strstr(unit, "\nType=notify\n") == NULL) {
        free(unit);
        cr_skip_test("herd was built without libsystemd (Type=simple)");
    }
    free(unit);
    snprintf(sock, sizeof(sock), "/tmp/herd-notify-%d.sock", (int)getpid());
    unlink(sock);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    cr_assert(fd >= 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    setenv("NOTIFY_SOCKET", sock, 1);

    cr_assert_eq(hh_start(&s, "routes:\n  - { path: /, respond: {} }\n", 2), 0);
    cr_assert_eq(notify_read(fd, msg, sizeof(msg), 10000), 0,
                 "no READY=1 after start");
    cr_expect(strncmp(msg, "READY=1\n", 8) == 0, "got: %s", msg);
    cr_expect(strstr(msg, "STATUS=generation 1 serving with 2 worker(s)") !=
                  NULL,
              "got: %s", msg);
    /* Both workers were ready before READY=1 was sent. */
    cr_expect_eq(hh_log_count(&s, "serving (slot"), 2);

    kill(s.pid, SIGHUP);
    cr_assert_eq(notify_read(fd, msg, sizeof(msg), 10000), 0);
    cr_expect(strncmp(msg, "RELOADING=1", 11) == 0, "got: %s", msg);
    cr_assert_eq(notify_read(fd, msg, sizeof(msg), 10000), 0);
    cr_expect(strstr(msg, "READY=1\nSTATUS=generation 2 serving") == msg,
              "got: %s", msg);

    kill(s.pid, SIGTERM);
    cr_assert_eq(notify_read(fd, msg, sizeof(msg), 10000), 0);
    cr_expect(strncmp(msg, "STOPPING=1", 10) == 0, "got: %s", msg);
    cr_expect_eq(hh_wait_exit(&s, 10000, &status), 0);
    close(fd);
    unlink(sock);
}
