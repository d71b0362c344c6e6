/* test_module.c: C modules in the real herd: API, deferral, crashes, deploy. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
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

/* How long any awaited log line or state may take. */
#define WAIT_MS 10000

static struct hh_server srv;
/* A temp dir of the test's own (modules it builds, YAML for herd -t),
   removed by stop(). */
static char work[64];

static const char *
env(const char *name)
{
    const char *v = getenv(name);

    cr_assert(v != NULL && *v != '\0', "%s is not set (run under make check)",
              name);
    return v;
}

/* $HERD_BUILDDIR/rel into buf. */
static const char *
built(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", env("HERD_BUILDDIR"), rel);
    return buf;
}

static void
make_work(void)
{
    snprintf(work, sizeof(work), "/tmp/herd-mod-XXXXXX");
    cr_assert_not_null(mkdtemp(work), "mkdtemp: %s", strerror(errno));
}

static void
stop(void)
{
    char cmd[128];

    if (srv.pid > 0)
        cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
    if (work[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
        cr_expect_eq(system(cmd), 0);
        work[0] = '\0';
    }
}

/* Routes of the standard server on testmod.so: path, handler, more keys
   of the module mapping, more keys of the route. */
static const struct {
    const char *path, *handler, *extra, *route_extra;
} routes[] = {
    {"/files/*", "t_echo", "", ""},
    {"/headers", "t_headers", "", ""},
    {"/status", "t_status", "", ""},
    {"/defer", "t_defer", "", ", methods: [GET, POST]"},
    {"/never", "t_never", ", timeout: 300ms", ""},
    {"/forever", "t_never", "", ""},
    {"/late", "t_late", ", timeout: 200ms", ""},
    {"/stream", "t_stream", "", ""},
    {"/slowstream", "t_stream", ", timeout: 200ms", ""},
    {"/flood", "t_flood", "", ""},
    {"/ref", "t_ref", "", ""},
    {"/nothing", "t_nothing", "", ""},
    {"/crash", "t_crash", "", ""},
    {"/version", "t_version", "", ""},
    {"/cancelresp", "t_cancel_responds", ", timeout: 200ms", ""},
    {"/cancelresp2", "t_cancel_responds", "", ""},
    {"/abandon", "t_abandon", ", timeout: 200ms", ""},
    {"/sub", "t_sub", "", ""},
    {"/count1", "t_count", "", ""},
    {"/count2", "t_count", "", ""},
    {"/pub", "t_pub", "", ""},
};

/* More keys for the log mapping start_std writes ("" for none). */
static const char *std_log_keys = "";

/*
 * Start herd with workers workers on every testmod handler, hello.so on
 * /hello, a plain respond on / and a 4k body limit. extra: more
 * top-level keys ("" for none).
 */
static void
start_std(int workers, const char *extra)
{
    char tm[512], hello[512], yaml[8192];
    size_t used, i;

    built(tm, sizeof(tm), "t/modules/testmod.so");
    built(hello, sizeof(hello), "examples/hello/hello.so");
    used = (size_t)snprintf(
        yaml, sizeof(yaml),
        "workers: %d\n"
        "%s%s%s"
        "routes:\n"
        "  - { path: /, respond: { body: ok } }\n"
        "  - { path: /health, health: {} }\n"
        "  - { path: /hello, module: { file: %s, handler: hello } }\n"
        "  - path: /echo/:id\n"
        "    methods: [GET, POST, PUT]\n"
        "    module:\n"
        "      file: %s\n"
        "      handler: t_echo\n"
        "      config: { greeting: \"hi there\", number: 8, flag: true,\n"
        "                empty: \"\", db: data/x.db }\n",
        workers,
        strstr(extra, "worker:") ? "" : "worker: { shutdown_timeout: 2s }\n",
        strstr(extra, "limits:") ? "" : "limits: { max_body_size: 4k }\n",
        extra, hello, tm);
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        used += (size_t)snprintf(
            yaml + used, sizeof(yaml) - used,
            "  - { path: %s, module: { file: %s, handler: %s%s }%s }\n",
            routes[i].path, tm, routes[i].handler, routes[i].extra,
            routes[i].route_extra);
        cr_assert_lt(used, sizeof(yaml));
    }
    cr_assert_eq(hh_start_log(&srv, yaml, workers, std_log_keys), 0,
                 "herd did not start");
}

static char *log_text(void);
static void build_testmod(int version, const char *out);

/* Wait for text in the log (count times); on failure show the log. */
static void
wait_log(const char *text, int count)
{
    char *log;

    if (hh_wait_log(&srv, text, count, WAIT_MS) == 0)
        return;
    log = log_text();
    fprintf(stderr, "---- %s ----\n%s---- end ----\n", srv.log, log);
    free(log);
    cr_assert_fail("\"%s\" (x%d) not in the log within %d ms", text, count,
                   WAIT_MS);
}

/* The error log's text, malloc'd (free it), "" when unreadable. */
static char *
log_text(void)
{
    FILE *f = fopen(srv.log, "r");
    char *text = calloc(1, 1);
    size_t len = 0, n;
    char chunk[4096];

    cr_assert_not_null(text);
    if (f == NULL)
        return text;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        text = realloc(text, len + n + 1);
        cr_assert_not_null(text);
        memcpy(text + len, chunk, n);
        len += n;
        text[len] = '\0';
    }
    fclose(f);
    return text;
}

/* The rest of the first log line holding text, copied into buf ("" when
   there is none). */
static const char *
log_line(const char *text, char *buf, size_t len)
{
    char *log = log_text(), *p = strstr(log, text), *nl;

    buf[0] = '\0';
    if (p != NULL) {
        nl = strchr(p, '\n');
        snprintf(buf, len, "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
    }
    free(log);
    return buf;
}

/* Whether one line of the error log holds all of a, b and c. */
static int
log_has_line(const char *a, const char *b, const char *c)
{
    char *log = log_text(), *line, *save = NULL;
    int found = 0;

    for (line = strtok_r(log, "\n", &save); line != NULL && !found;
         line = strtok_r(NULL, "\n", &save))
        found = strstr(line, a) && strstr(line, b) && strstr(line, c);
    free(log);
    return found;
}

/* Send raw on a new connection and read one response into r. */
static void
request(const char *raw, struct hh_response *r)
{
    memset(r, 0, sizeof(*r));
    cr_assert_eq(hh_request(&srv, raw, r), 0, "no response to: %s", raw);
}

/* GET target HTTP/1.1 on a new connection. */
static void
get(const char *target, struct hh_response *r)
{
    char raw[2048];

    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    request(raw, r);
}

/* The value of header name in r, "" when absent (or "or" for hdr_or);
   four calls may be used at once. */
static const char *
hdr_or(const struct hh_response *r, const char *name, const char * or)
{
    static char bufs[4][512];
    static int next;
    char *buf = bufs[next++ % 4];

    return hh_header(r, name, buf, sizeof(bufs[0])) ? buf : or ;
}

static const char *
hdr(const struct hh_response *r, const char *name)
{
    return hdr_or(r, name, "");
}

/* The value of the body line "key=value" copied into buf; NULL when the
   body has no such line. */
static const char *
field(const char *body, const char *key, char *buf, size_t len)
{
    size_t klen = strlen(key);
    const char *p = body, *nl;

    while (p != NULL && *p != '\0') {
        nl = strchr(p, '\n');
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            p += klen + 1;
            snprintf(buf, len, "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
            return buf;
        }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

#define expect_field(body, key, want)                                          \
    do {                                                                       \
        char got_[1024];                                                       \
        const char *g_ = field((body), (key), got_, sizeof(got_));             \
        cr_expect(g_ != NULL && strcmp(g_, (want)) == 0,                       \
                  "%s: expected \"%s\", got \"%s\"", (key), (want),            \
                  g_ ? g_ : "(no line)");                                      \
    } while (0)

/* Times of the monotonic clock in ms, to check a deferral waited. */
static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Close fd with a reset (RST) instead of a FIN: SO_LINGER 0, as a client
   killed or closing with unread data does. */
static void
reset_close(int fd)
{
    struct linger l = {1, 0};

    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
    close(fd);
}

/* The CPU time (ticks) pid has used, from /proc/PID/stat. */
static long
cpu_ticks(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the name may hold spaces */
    if (p == NULL || sscanf(p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                            "%*u %lu %lu",
                            &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

/* What t_stream sends for n chunks of size bytes (malloc'd). */
static char *
stream_body(unsigned long n, unsigned long size)
{
    char *b = malloc(n * size + 1);
    unsigned long i, j;

    cr_assert_not_null(b);
    for (i = 0; i < n; i++)
        for (j = 0; j < size; j++)
            b[i * size + j] = (char)('a' + (i + j) % 26);
    b[n * size] = '\0';
    return b;
}

TestSuite(module, .fini = stop, .timeout = 40);

/* ---- hello.so ---- */

Test(module, hello_answers_json)
{
    struct hh_response r, h;
    char id[128];
    int fd;

    start_std(1, "");
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hdr(&r, "Content-Type"), "application/json");
    cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
    cr_expect_str_eq(hdr(&r, "Content-Length"), "28");
    cr_expect_not_null(hh_header(&r, "X-Request-Id", id, sizeof(id)));
    cr_expect_not_null(hh_header(&r, "Date", id, sizeof(id)));
    cr_expect_not_null(hh_header(&r, "Server", id, sizeof(id)));
    hh_response_free(&r);

    /* HEAD: same head, no body; a body would break the next response. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &h, 1), 0);
    cr_expect_eq(h.status, 200);
    cr_expect_str_eq(hdr(&h, "Content-Length"), "28");
    cr_expect_str_eq(hdr(&h, "Content-Type"), "application/json");
    hh_response_free(&h);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200, "the HEAD response carried a body");
    cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
    hh_response_free(&r);
    close(fd);
}

/* ---- the request accessors ---- */

Test(module, echo_decodes_path_param_query_headers)
{
    struct hh_response r;
    char id[128];

    start_std(1, "");
    request("GET /echo/caf%C3%A9?q=a+b%25c%00d&e&x=1&q=second HTTP/1.1\r\n"
            "Host: x\r\n"
            "X-Test: one\r\n"
            "x-test:   two  \r\n"
            "Accept: */*\r\n"
            "\r\n",
            &r);
    cr_assert_eq(r.status, 200, "body: %s", r.body);
    expect_field(r.body, "method", "GET");
    expect_field(r.body, "head", "0");
    expect_field(r.body, "path", "/echo/caf\\xc3\\xa9");
    expect_field(r.body, "param_id", "caf\\xc3\\xa9");
    expect_field(r.body, "param_star", "(null)");
    expect_field(r.body, "param_none", "(null)");
    /* '+' is a space, %25 a '%', %00 a NUL byte counted in the length;
       the first q wins. */
    expect_field(r.body, "q", "a b%c\\x00d");
    expect_field(r.body, "q_len", "7");
    expect_field(r.body, "e", "");
    expect_field(r.body, "qs", "q=a+b%25c%00d&e&x=1&q=second");
    expect_field(r.body, "x_test", "one, two");
    expect_field(r.body, "x_missing", "(null)");
    expect_field(r.body, "body_len", "0");
    expect_field(r.body, "body", "");
    expect_field(r.body, "body_nul", "1");
    expect_field(r.body, "client", "127.0.0.1");
    cr_assert_not_null(hh_header(&r, "X-Request-Id", id, sizeof(id)));
    expect_field(r.body, "reqid", id);
    expect_field(r.body, "greeting", "hi there");
    expect_field(r.body, "nokey", "(null)");
    expect_field(r.body, "route", "/echo/:id");
    /* Set by herd_module_init in the master, inherited by the worker. */
    expect_field(r.body, "data", "init /echo/:id base=null");
    expect_field(r.body, "base", "set");
    cr_expect_str_eq(hdr(&r, "Content-Type"), "text/plain; charset=utf-8");
    hh_response_free(&r);
}

Test(module, echo_query_edge_cases_and_wildcard)
{
    struct hh_response r;

    start_std(1, "");
    get("/files/a/b%20c.txt?q=%zz", &r);
    cr_assert_eq(r.status, 200, "body: %s", r.body);
    expect_field(r.body, "path", "/files/a/b c.txt");
    expect_field(r.body, "param_star", "a/b c.txt");
    expect_field(r.body, "param_id", "(null)");
    expect_field(r.body, "q", "(null)"); /* badly encoded */
    expect_field(r.body, "route", "/files/*");
    expect_field(r.body, "greeting", "(null)"); /* no module.config */
    expect_field(r.body, "data", "init /files/* base=null");
    hh_response_free(&r);

    get("/echo/1?q=", &r);
    expect_field(r.body, "q", "");
    expect_field(r.body, "q_len", "0");
    expect_field(r.body, "e", "(null)");
    expect_field(r.body, "qs", "q=");
    hh_response_free(&r);

    get("/echo/1", &r);
    expect_field(r.body, "q", "(null)");
    expect_field(r.body, "qs", "");
    hh_response_free(&r);

    /* %2F and %25 stay encoded in the path, so that an encoded / is
       never a separator. */
    get("/files/a%2Fb%25c%41", &r);
    expect_field(r.body, "path", "/files/a%2Fb%25cA");
    expect_field(r.body, "param_star", "a%2Fb%25cA");
    hh_response_free(&r);

    get("/echo/1?x=1&q=%41%2b%2B", &r);
    expect_field(r.body, "q", "A++");
    hh_response_free(&r);

    /* Names match whole: "qq" is not "q". */
    get("/echo/1?qq=1&q=2", &r);
    expect_field(r.body, "q", "2");
    hh_response_free(&r);

    /* A header present with an empty value is "", not NULL. */
    request("GET /echo/1 HTTP/1.1\r\nHost: x\r\nX-Test:\r\n\r\n", &r);
    expect_field(r.body, "x_test", "");
    hh_response_free(&r);
    request("GET /echo/1 HTTP/1.1\r\nHost: x\r\nX-Test: \t \r\n\r\n", &r);
    expect_field(r.body, "x_test", "");
    hh_response_free(&r);
}

Test(module, client_and_request_id_follow_proxy_trust)
{
    struct hh_response r;

    start_std(1, "proxy: { trusted: [127.0.0.1] }\n");
    request("GET /echo/1 HTTP/1.1\r\nHost: x\r\n"
            "X-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n"
            "X-Request-Id: my-id-123\r\n\r\n",
            &r);
    expect_field(r.body, "client", "203.0.113.9");
    expect_field(r.body, "reqid", "my-id-123");
    cr_expect_str_eq(hdr(&r, "X-Request-Id"), "my-id-123");
    hh_response_free(&r);
    request("GET /echo/1 HTTP/1.1\r\nHost: x\r\n"
            "X-Forwarded-For: 2001:db8::1\r\n\r\n",
            &r);
    expect_field(r.body, "client", "2001:db8::1");
    hh_response_free(&r);
}

Test(module, untrusted_peer_cannot_set_client_or_request_id)
{
    struct hh_response r;
    char id[200];

    start_std(1, "");
    request("GET /echo/1 HTTP/1.1\r\nHost: x\r\n"
            "X-Forwarded-For: 203.0.113.9\r\n"
            "X-Request-Id: my-id-123\r\n\r\n",
            &r);
    expect_field(r.body, "client", "127.0.0.1");
    cr_assert_not_null(field(r.body, "reqid", id, sizeof(id)));
    cr_expect_str_neq(id, "my-id-123");
    cr_expect_str_eq(hdr(&r, "X-Request-Id"), id);
    hh_response_free(&r);
}

Test(module, unix_socket_client_is_unix)
{
    struct sockaddr_un sun;
    struct hh_response r;
    char extra[300];
    int fd;

    make_work();
    snprintf(extra, sizeof(extra),
             "listen: [\"127.0.0.1:0\", \"unix:%s/h.sock\"]\n", work);
    start_std(1, extra);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/h.sock", work);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
                 "connect %s: %s", sun.sun_path, strerror(errno));
    cr_assert_eq(hh_send(fd, "GET /echo/1 HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    expect_field(r.body, "client", "unix:");
    hh_response_free(&r);
    close(fd);
}

Test(module, config_values_are_strings_as_written)
{
    static const char *const kv[][2] = {
        {"number", "8"},     {"flag", "true"},         {"empty", ""},
        {"db", "data/x.db"}, {"greeting", "hi there"},
    };
    struct hh_response r;
    char target[64];
    size_t i;

    start_std(1, "");
    for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        snprintf(target, sizeof(target), "/echo/1?cfgkey=%s", kv[i][0]);
        get(target, &r);
        expect_field(r.body, "cfgval", kv[i][1]);
        hh_response_free(&r);
    }
    get("/echo/1?cfgkey=missing", &r);
    expect_field(r.body, "cfgval", "(null)");
    hh_response_free(&r);
}

Test(module, routes_naming_one_file_share_its_globals)
{
    static const char *const seq[][2] = {
        {"/count1", "1\n"}, {"/count2", "2\n"}, {"/count1", "3\n"}};
    struct hh_response r;
    size_t i;

    start_std(1, "");
    for (i = 0; i < 3; i++) {
        get(seq[i][0], &r);
        cr_expect_str_eq(r.body, seq[i][1], "%s", seq[i][0]);
        hh_response_free(&r);
    }
    /* A reload loads a fresh copy: the count starts again. */
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 1 worker(s)", 1);
    {
        long deadline = now_ms() + WAIT_MS;
        int ok = 0;

        /* Until generation 2 answers (the old worker may still). */
        while (!ok && now_ms() < deadline) {
            get("/count2", &r);
            ok = strcmp(r.body, "1\n") == 0;
            hh_response_free(&r);
            if (!ok)
                sleep_ms(10);
        }
        cr_expect(ok, "generation 2 kept generation 1's count");
    }
}

Test(module, two_copies_of_a_module_stay_apart)
{
    struct hh_response r;
    char a[256], b[256], yaml[2048];

    make_work();
    snprintf(a, sizeof(a), "%s/a.so", work);
    snprintf(b, sizeof(b), "%s/b.so", work);
    build_testmod(1, a);
    build_testmod(2, b);
    snprintf(yaml, sizeof(yaml),
             "workers: 1\n"
             "routes:\n"
             "  - { path: /a, module: { file: %s, handler: t_version } }\n"
             "  - { path: /b, module: { file: %s, handler: t_version } }\n"
             "  - { path: /a/:id, module: { file: %s, handler: t_echo } }\n"
             "  - { path: /b/:id, module: { file: %s, handler: t_echo } }\n",
             a, b, a, b);
    cr_assert_eq(hh_start(&srv, yaml, 1), 0, "herd did not start");
    get("/a", &r);
    cr_expect_str_eq(r.body, "v1\n");
    hh_response_free(&r);
    get("/b", &r);
    cr_expect_str_eq(r.body, "v2\n");
    hh_response_free(&r);
    get("/a/1", &r);
    expect_field(r.body, "data", "init /a/:id base=null");
    hh_response_free(&r);
    get("/b/1", &r);
    expect_field(r.body, "data", "init /b/:id base=null");
    hh_response_free(&r);
}

Test(module, absolute_form_target)
{
    struct hh_response r;

    start_std(1, "");
    request("GET http://example.com/echo/9?q=abs&x=%41 HTTP/1.1\r\n"
            "Host: example.com\r\n\r\n",
            &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(r.body, "path", "/echo/9");
    expect_field(r.body, "param_id", "9");
    expect_field(r.body, "q", "abs");
    expect_field(r.body, "qs", "q=abs&x=%41");
    hh_response_free(&r);
}

Test(module, odd_handler_returns)
{
    struct hh_response r;
    char *want;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         /* responded, then HERD_DEFER: the answer stands */
                         "GET /status?s=201&n=2&defer=1 HTTP/1.1\r\nHost: x\r\n"
                         "\r\n"
                         /* an unknown return value, no response: 500 */
                         "GET /nothing?rc=7 HTTP/1.1\r\nHost: x\r\n\r\n"
                         /* a stream left open by HERD_DONE: herd ends it */
                         "GET /stream?n=2&sync=5&noend=1 HTTP/1.1\r\n"
                         "Host: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 201);
    cr_expect_str_eq(r.body, "xx");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 500);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    want = stream_body(2, 10);
    cr_expect_str_eq(r.body, want);
    free(want);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
    hh_response_free(&r);
    close(fd);
    /* Logged, naming the handler. */
    wait_log("t_nothing", 1);
}

Test(module, head_reaches_handler_as_get)
{
    struct hh_response r, g;
    char cl[32], gcl[32];

    start_std(1, "");
    request("HEAD /echo/5 HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hdr(&r, "X-Method"), "GET");
    cr_expect_str_eq(hdr(&r, "X-Head"), "1");
    cr_expect_eq(r.body_len, 0);
    cr_expect_not_null(hh_header(&r, "Content-Length", cl, sizeof(cl)));
    request("GET /echo/5 HTTP/1.1\r\nHost: x\r\n\r\n", &g);
    cr_expect_str_eq(hdr(&g, "X-Head"), "0");
    cr_expect_not_null(hh_header(&g, "Content-Length", gcl, sizeof(gcl)));
    /* Same handler output but for "head=1": same length. */
    cr_expect_str_eq(cl, gcl);
    hh_response_free(&r);
    hh_response_free(&g);
}

Test(module, request_bodies_content_length_and_chunked)
{
    static const char nul_body[] = "POST /echo/1 HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Length: 3\r\n\r\na\0b";
    struct hh_response r;
    int fd;

    start_std(1, "");
    request("POST /echo/1 HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 11\r\n\r\nhello=world",
            &r);
    cr_assert_eq(r.status, 200, "body: %s", r.body);
    expect_field(r.body, "method", "POST");
    expect_field(r.body, "body_len", "11");
    expect_field(r.body, "body", "hello=world");
    expect_field(r.body, "body_nul", "1");
    hh_response_free(&r);

    request("PUT /echo/2 HTTP/1.1\r\nHost: x\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
            &r);
    cr_assert_eq(r.status, 200, "body: %s", r.body);
    expect_field(r.body, "method", "PUT");
    expect_field(r.body, "body_len", "11");
    expect_field(r.body, "body", "hello world");
    hh_response_free(&r);

    /* A NUL byte in the body is data. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, nul_body, sizeof(nul_body) - 1), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    expect_field(r.body, "body_len", "3");
    expect_field(r.body, "body", "a\\x00b");
    hh_response_free(&r);
    close(fd);
}

Test(module, body_at_limit_passes_over_limit_is_413)
{
    struct hh_response r;
    char *raw, want[32];
    size_t head;
    int fd;

    start_std(1, "");
    /* Exactly limits.max_body_size (4k): accepted, every byte there. */
    raw = malloc(8192);
    cr_assert_not_null(raw);
    head = (size_t)sprintf(
        raw,
        "POST /echo/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n");
    memset(raw + head, 'z', 4096);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, raw, head + 4096), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    expect_field(r.body, "body_len", "4096");
    /* FNV-1a of 4096 'z' bytes, as t_echo computes it. */
    {
        unsigned long h = 2166136261UL;
        int i;

        for (i = 0; i < 4096; i++)
            h = ((h ^ 'z') * 16777619UL) & 0xffffffffUL;
        snprintf(want, sizeof(want), "%08lx", h);
    }
    expect_field(r.body, "body_hash", want);
    hh_response_free(&r);
    close(fd);
    free(raw);

    /* One byte over, by Content-Length: 413 before any body is sent. */
    request("POST /echo/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4097\r\n\r\n",
            &r);
    cr_expect_eq(r.status, 413);
    hh_response_free(&r);

    /* With Expect: 100-continue, the 413 comes instead of the 100. */
    request("POST /echo/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
            "Expect: 100-continue\r\n\r\n",
            &r);
    cr_expect_eq(r.status, 413);
    hh_response_free(&r);

    /* Chunked: 413 as the chunk size arrives. */
    request("POST /echo/1 HTTP/1.1\r\nHost: x\r\n"
            "Transfer-Encoding: chunked\r\n\r\n1001\r\n",
            &r);
    cr_expect_eq(r.status, 413);
    hh_response_free(&r);

    /* Chunked in pieces that add up to more than the limit. */
    raw = malloc(8192);
    cr_assert_not_null(raw);
    head = (size_t)sprintf(raw, "POST /echo/1 HTTP/1.1\r\nHost: x\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n800\r\n");
    memset(raw + head, 'y', 0x800);
    head += 0x800;
    head += (size_t)sprintf(raw + head, "\r\n800\r\n");
    memset(raw + head, 'y', 0x800);
    head += 0x800;
    head += (size_t)sprintf(raw + head, "\r\n1\r\n");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, raw, head), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 413);
    hh_response_free(&r);
    close(fd);
    free(raw);
    /* The worker still serves. */
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

/* ---- the response ---- */

Test(module, response_header_refuses_bad_and_reserved_names)
{
    static const char *want[] = {
        "good: 0",
        "good2: 0",
        "ctype: 0",
        "space_name: -1 EINVAL",
        "colon_name: -1 EINVAL",
        "empty_name: -1 EINVAL",
        "crlf_value: -1 EINVAL",
        "lf_value: -1 EINVAL",
        "cr_value: -1 EINVAL",
        "crlf_name: -1 EINVAL",
        "content_length: -1 EINVAL",
        "content_length_lc: -1 EINVAL",
        "transfer_encoding: -1 EINVAL",
        "connection: -1 EINVAL",
        "date: -1 EINVAL",
        "server: -1 EINVAL",
        "request_id: -1 EINVAL",
        "empty_value: 0",
        "tab_value: 0",
        "utf8_value: 0",
        "paren_name: -1 EINVAL",
        "nonascii_name: -1 EINVAL",
        "null_req: -1 EINVAL",
        "null_req_respond: -1 EINVAL",
        "null_body_len5: -1 EINVAL",
    };
    struct hh_response r;
    char line[64];
    size_t i;

    start_std(1, "");
    get("/headers", &r);
    cr_assert_eq(r.status, 200);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(line, sizeof(line), "%s\n", want[i]);
        cr_expect(strstr(r.body, line) != NULL, "expected \"%s\" in:\n%s",
                  want[i], r.body);
    }
    cr_expect(strstr(r.head, "\r\nX-Good: yes\r\n") != NULL, "head:\n%s",
              r.head);
    cr_expect(strstr(r.head, "\r\nX-Good: again\r\n") != NULL, "head:\n%s",
              r.head);
    cr_expect(strstr(r.head, "\r\nX-Empty:") != NULL, "head:\n%s", r.head);
    cr_expect(strstr(r.head, "\r\nX-Tab: a\tb\r\n") != NULL, "head:\n%s",
              r.head);
    cr_expect(strstr(r.head, "\r\nX-Utf8: caf\xc3\xa9\r\n") != NULL,
              "head:\n%s", r.head);
    cr_expect_str_eq(hdr(&r, "Content-Type"), "application/x-test");
    cr_expect(strstr(r.head, "Set-Cookie") == NULL &&
                  strstr(r.head, "evil") == NULL,
              "a header was injected:\n%s", r.head);
    cr_expect(strstr(r.head, "Connection: close") == NULL, "head:\n%s", r.head);
    cr_expect(strstr(r.head, "Transfer-Encoding") == NULL, "head:\n%s", r.head);
    cr_expect_str_neq(hdr_or(&r, "X-Request-Id", "x"), "x");
    cr_expect_str_neq(hdr_or(&r, "Date", "x"), "x");
    cr_expect_str_neq(hdr_or(&r, "Server", "x"), "x");
    snprintf(line, sizeof(line), "%zu", r.body_len);
    cr_expect_str_eq(hdr(&r, "Content-Length"), line);
    /* Exactly one Content-Length. */
    {
        const char *p = strstr(r.head, "Content-Length:");

        cr_expect(p != NULL && strstr(p + 1, "Content-Length:") == NULL &&
                      strstr(r.head, "content-length") == NULL,
                  "head:\n%s", r.head);
    }
    hh_response_free(&r);
}

Test(module, respond_status_rules)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    get("/status?s=204&n=1", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "refused EINVAL\n", "204 with a body");
    hh_response_free(&r);
    get("/status?s=304&n=2", &r);
    cr_expect_str_eq(r.body, "refused EINVAL\n", "304 with a body");
    hh_response_free(&r);
    get("/status?s=199", &r);
    cr_expect_str_eq(r.body, "refused EINVAL\n", "status 199");
    hh_response_free(&r);
    get("/status?s=600", &r);
    cr_expect_str_eq(r.body, "refused EINVAL\n", "status 600");
    hh_response_free(&r);

    get("/status?s=404&n=3", &r);
    cr_expect_eq(r.status, 404);
    cr_expect_str_eq(r.body, "xxx");
    cr_expect_str_eq(hdr(&r, "Content-Type"), "text/plain; charset=utf-8");
    hh_response_free(&r);
    get("/status?s=599", &r);
    cr_expect_eq(r.status, 599);
    hh_response_free(&r);

    /* 204 and 304 on a keep-alive connection: no body, no framing that
       would swallow the next response. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /status?s=204 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /status?s=304 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 204);
    cr_expect(strstr(r.head, "Content-Length") == NULL &&
                  strstr(r.head, "Transfer-Encoding") == NULL,
              "204 head:\n%s", r.head);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 304);
    cr_expect(strstr(r.head, "Transfer-Encoding") == NULL, "304 head:\n%s",
              r.head);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
    hh_response_free(&r);
    close(fd);
}

Test(module, respond_ref_sends_large_body_and_releases)
{
    struct hh_response r;
    size_t i, bad = 0;

    start_std(1, "");
    get("/ref", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 1024 * 1024);
    cr_expect_str_eq(hdr(&r, "Content-Length"), "1048576");
    cr_expect_str_eq(hdr(&r, "Content-Type"), "application/octet-stream");
    for (i = 0; i < r.body_len; i++)
        if (r.body[i] != (char)((i * 7 + i / 251) & 0xff) && bad++ == 0)
            cr_log_error("first wrong byte at %zu", i);
    cr_expect_eq(bad, 0, "%zu bytes differ", bad);
    hh_response_free(&r);
    wait_log("testmod: ref released", 1);

    /* HEAD: no body sent, the memory is released all the same. */
    request("HEAD /ref HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hdr(&r, "Content-Length"), "1048576");
    hh_response_free(&r);
    wait_log("testmod: ref released", 2);

    /* An empty body. */
    get("/ref?size=0", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 0);
    hh_response_free(&r);
    wait_log("testmod: ref released", 3);

    /* A refused call (a body with 204) releases the memory too. */
    get("/ref?size=10&s=204", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "refused EINVAL\n");
    hh_response_free(&r);
    wait_log("testmod: ref released", 4);
}

Test(module, disconnect_during_respond_ref_releases_body)
{
    struct hh_response r;
    char buf[4096];
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    /* 32 MiB: far more than the socket buffers hold. */
    cr_assert_eq(
        hh_send(fd, "GET /ref?size=33554432 HTTP/1.1\r\nHost: x\r\n\r\n", 0),
        0);
    cr_assert_gt(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    wait_log("testmod: ref released", 1);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
}

Test(module, handler_that_does_not_respond_gets_500)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    get("/nothing", &r);
    cr_expect_eq(r.status, 500);
    hh_response_free(&r);
    /* Logged, naming the handler. */
    wait_log("t_nothing", 1);
    /* The connection and the worker go on. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 500);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    close(fd);
}

/* ---- deferred responses ---- */

Test(module, deferred_response_from_timer)
{
    struct hh_response r;
    long t0 = now_ms(), took;

    start_std(1, "");
    t0 = now_ms();
    get("/defer?ms=150&tag=a", &r);
    took = now_ms() - t0;
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "deferred a\n");
    cr_expect_geq(took, 140, "answered after %ld ms, before the timer", took);
    cr_expect_str_neq(hdr(&r, "Date"), "");
    cr_expect_str_neq(hdr(&r, "X-Request-Id"), "");
    cr_expect_str_eq(hdr(&r, "Content-Length"), "11");
    cr_expect_str_eq(hdr(&r, "Content-Type"), "text/plain; charset=utf-8");
    hh_response_free(&r);
    cr_expect_eq(hh_log_count(&srv, "testmod: cancelled"), 0);
}

Test(module, pipelined_requests_wait_for_deferred_one)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd,
                "GET /defer?ms=300&tag=first HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /defer?ms=0&tag=second HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /defer?ms=50&tag=fourth HTTP/1.1\r\nHost: x\r\n"
                "\r\n",
                0),
        0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "deferred first\n");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "deferred second\n");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "deferred fourth\n");
    hh_response_free(&r);
    close(fd);
}

Test(module, client_disconnect_cancels_deferred_request)
{
    struct hh_response r;
    char line[256], id[64];
    pid_t w0;
    int fd;

    start_std(1, "");
    w0 = hh_worker_pid(&srv, 0, 1);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd, "GET /defer?ms=30000&tag=x HTTP/1.1\r\nHost: x\r\n\r\n", 0),
        0);
    wait_log("testmod: deferred defer ", 1);
    log_line("testmod: deferred defer ", line, sizeof(line));
    cr_assert_eq(sscanf(line, "testmod: deferred defer %63s", id), 1);
    close(fd);
    snprintf(line, sizeof(line), "testmod: cancelled defer %s", id);
    wait_log(line, 1);
    /* The same worker serves on. */
    get("/defer?ms=10&tag=after", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "deferred after\n");
    hh_response_free(&r);
    cr_expect_eq(hh_worker_pid(&srv, 0, 1), w0);
    cr_expect(hh_alive(w0));
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
}

Test(module, module_timeout_cancels_and_answers_504)
{
    struct hh_response r;
    long t0, took;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    t0 = now_ms();
    cr_assert_eq(hh_send(fd,
                         "GET /never HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    took = now_ms() - t0;
    cr_expect_eq(r.status, 504);
    cr_expect_geq(took, 290, "504 after %ld ms, timeout is 300ms", took);
    wait_log("testmod: cancelled never ", 1);
    /* A warning names the route and the module. */
    cr_expect(log_has_line("[warn]", "/never", "testmod.so"),
              "no warning naming /never and testmod.so");
    /* The 504 carries the id the module saw. */
    {
        char line[256], want[200];

        log_line("testmod: cancelled never ", line, sizeof(line));
        snprintf(want, sizeof(want), "testmod: cancelled never %s",
                 hdr(&r, "X-Request-Id"));
        cr_expect_str_eq(line, want);
    }
    hh_response_free(&r);
    /* The pipelined request behind it is served (unless herd closed the
       connection after the 504, which it may). */
    if (hh_read_response(fd, &r, 0) == 0) {
        cr_expect_eq(r.status, 200);
        hh_response_free(&r);
    }
    close(fd);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

/* herd's own 504 and 500 to a HEAD carry no body either. */
Test(module, herd_errors_to_head_have_no_body)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "HEAD /never HTTP/1.1\r\nHost: x\r\n\r\n"
                         "HEAD /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 504);
    hh_response_free(&r);
    if (hh_read_response(fd, &r, 1) == 0) { /* unless 504 closed it */
        cr_expect_eq(r.status, 500, "a body followed the 504");
        hh_response_free(&r);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0);
        cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n",
                         "a body followed the 500");
        hh_response_free(&r);
    }
    close(fd);
}

Test(module, late_answer_after_timeout_fails_with_enotconn)
{
    struct hh_response r;

    start_std(1, "");
    get("/late?ms=700", &r);
    cr_expect_eq(r.status, 504);
    hh_response_free(&r);
    wait_log("testmod: late respond ", 1);
    cr_expect_eq(hh_log_count(&srv, "testmod: late respond rc=-1 "
                                    "errno=ENOTCONN"),
                 1);
    get("/late?ms=10", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "late\n");
    hh_response_free(&r);
    wait_log("testmod: late respond rc=0", 1);
}

Test(module, graceful_stop_cancels_deferred_and_runs_exit_hooks)
{
    int fd, st;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    wait_log("testmod: deferred never ", 1);
    cr_assert_eq(kill(srv.pid, SIGTERM), 0);
    /* shutdown_timeout is 2s: then the request is cancelled. */
    wait_log("testmod: cancelled never ", 1);
    wait_log("testmod: worker exit /echo/:id", 1);
    wait_log("testmod: worker exit /version", 1);
    cr_expect_eq(hh_wait_exit(&srv, WAIT_MS, &st), 0);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    close(fd);
}

Test(module, deferred_request_keeps_its_data_while_pipelined_input_moves)
{
    static const char first[] = "POST /defer?ms=200&tag=one&echo=1&q=first "
                                "HTTP/1.1\r\nHost: x\r\nX-Test: a\r\n"
                                "Content-Length: 8\r\n\r\nbody-one";
    static const char second[] = "POST /defer?ms=0&tag=two&echo=1&q=second "
                                 "HTTP/1.1\r\nHost: x\r\nX-Test: b\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n"
                                 "3\r\ntwo\r\n0\r\n\r\n";
    struct hh_response r;
    char *raw, line[64];
    size_t used = 0;
    int fd, i;

    start_std(1, "");
    /* The deferred requests, then 40 more with heads large enough to
       refill any input buffer several times while the first waits. */
    raw = malloc(64 * 1024);
    cr_assert_not_null(raw);
    used += (size_t)sprintf(raw + used, "%s%s", first, second);
    for (i = 0; i < 40; i++) {
        used += (size_t)sprintf(raw + used,
                                "GET /echo/%d?q=n%d HTTP/1.1\r\nHost: x\r\n"
                                "X-Test: ",
                                i, i);
        memset(raw + used, 'a' + i % 26, 1000);
        used += 1000;
        used += (size_t)sprintf(raw + used, "\r\n\r\n");
    }
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, raw, used), 0);
    free(raw);

    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect(strncmp(r.body, "deferred one\n", 13) == 0, "%s", r.body);
    expect_field(r.body, "method", "POST");
    expect_field(r.body, "path", "/defer");
    expect_field(r.body, "q", "first");
    expect_field(r.body, "qs", "ms=200&tag=one&echo=1&q=first");
    expect_field(r.body, "x_test", "a");
    expect_field(r.body, "body", "body-one");
    expect_field(r.body, "route", "/defer");
    expect_field(r.body, "reqid", hdr(&r, "X-Request-Id"));
    hh_response_free(&r);

    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect(strncmp(r.body, "deferred two\n", 13) == 0, "%s", r.body);
    expect_field(r.body, "q", "second");
    expect_field(r.body, "x_test", "b");
    expect_field(r.body, "body", "two");
    hh_response_free(&r);

    for (i = 0; i < 40; i++) {
        char want[16];

        cr_assert_eq(hh_read_response(fd, &r, 0), 0, "response %d", i);
        snprintf(want, sizeof(want), "%d", i);
        expect_field(r.body, "param_id", want);
        snprintf(want, sizeof(want), "n%d", i);
        expect_field(r.body, "q", want);
        cr_expect(field(r.body, "x_test", line, sizeof(line)) != NULL &&
                      line[0] == 'a' + i % 26,
                  "response %d", i);
        hh_response_free(&r);
    }
    close(fd);
}

Test(module, deferred_requests_do_not_block_each_other)
{
    struct hh_response r;
    char raw[128], want[32];
    int fds[8], i;
    long t0, took;

    start_std(1, "");
    t0 = now_ms();
    for (i = 0; i < 8; i++) {
        fds[i] = hh_connect(&srv);
        cr_assert_geq(fds[i], 0);
        snprintf(raw, sizeof(raw),
                 "GET /defer?ms=400&tag=c%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        cr_assert_eq(hh_send(fds[i], raw, 0), 0);
    }
    for (i = 0; i < 8; i++) {
        cr_assert_eq(hh_read_response(fds[i], &r, 0), 0, "connection %d", i);
        snprintf(want, sizeof(want), "deferred c%d\n", i);
        cr_expect_str_eq(r.body, want);
        hh_response_free(&r);
        close(fds[i]);
    }
    took = now_ms() - t0;
    /* One after the other would take 3.2 s. */
    cr_expect_lt(took, 2500, "8 deferred requests of 400 ms took %ld ms", took);
}

Test(module, deferred_head_and_http10)
{
    struct hh_response r;
    char v[32];
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "HEAD /defer?ms=50&tag=h HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /defer?ms=10&tag=g HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hdr(&r, "Content-Length"), "11");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "deferred g\n", "a body followed the HEAD");
    hh_response_free(&r);
    close(fd);

    /* HTTP/1.0 without keep-alive: answered, then closed. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET /defer?ms=50&tag=old HTTP/1.0\r\n\r\n", 0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "deferred old\n");
    cr_expect_not_null(hh_header(&r, "Content-Length", v, sizeof(v)));
    cr_expect(hh_closed(fd, 2000), "HTTP/1.0 connection left open");
    hh_response_free(&r);
    close(fd);

    /* HTTP/1.0 keep-alive: answered later, the connection goes on. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /defer?ms=50&tag=ka HTTP/1.0\r\n"
                         "Connection: keep-alive\r\n\r\n"
                         "GET /hello HTTP/1.0\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "deferred ka\n");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "keep-alive not kept");
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    close(fd);
}

Test(module, disconnect_with_pipelined_requests_behind_deferred_one)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /defer?ms=30000&tag=x HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /defer?ms=10&tag=y HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    wait_log("testmod: deferred defer ", 1);
    close(fd);
    wait_log("testmod: cancelled defer ", 1);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    /* The requests behind the cancelled one never ran. */
    cr_expect_eq(hh_log_count(&srv, "testmod: deferred defer "), 1);
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
}

Test(module, expect_100_continue_on_module_route)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "POST /echo/1 HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "no 100 Continue");
    cr_expect_eq(r.status, 100);
    hh_response_free(&r);
    cr_assert_eq(hh_send(fd, "hello", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    expect_field(r.body, "body", "hello");
    hh_response_free(&r);
    close(fd);
}

Test(module, body_arriving_in_pieces_is_whole)
{
    struct hh_response r;
    char raw[4096];
    size_t head;
    int fd, i;

    start_std(1, "");
    head = (size_t)sprintf(raw, "POST /echo/1 HTTP/1.1\r\nHost: x\r\n"
                                "Content-Length: 3000\r\n\r\n");
    for (i = 0; i < 3000; i++)
        raw[head + (size_t)i] = (char)('0' + i % 10);
    raw[head + 3000] = '\0';
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send_paced(fd, raw, head + 3000, 400, 15), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    expect_field(r.body, "body_len", "3000");
    {
        char want[300];

        memcpy(want, raw + head, 256);
        want[256] = '\0';
        expect_field(r.body, "body", want);
    }
    hh_response_free(&r);
    close(fd);
}

Test(module, deferred_response_honours_connection_close)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /defer?ms=50&tag=bye HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "deferred bye\n");
    cr_expect_str_eq(hdr(&r, "Connection"), "close");
    cr_expect(hh_closed(fd, 2000));
    hh_response_free(&r);
    close(fd);
}

Test(module, recycling_waits_for_deferred_request)
{
    struct hh_response r;
    pid_t w0;

    start_std(1, "worker: { shutdown_timeout: 5s, max_requests: 1 }\n");
    w0 = hh_worker_pid(&srv, 0, 1);
    get("/defer?ms=300&tag=last", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "deferred last\n");
    hh_response_free(&r);
    cr_expect_eq(hh_log_count(&srv, "testmod: cancelled"), 0);
    cr_expect_eq(hh_wait_gone(w0, WAIT_MS), 0);
    wait_log("serving (slot 0,", 2);
}

Test(module, large_deferred_response_and_pipelined_follower)
{
    struct hh_response r;
    size_t i, bad = 0;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /defer?ms=50&big=3000000 HTTP/1.1\r\nHost: x\r\n"
                         "\r\nGET /defer?ms=10&tag=next HTTP/1.1\r\nHost: x\r\n"
                         "\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_assert_eq(r.body_len, 3000000);
    for (i = 0; i < r.body_len; i++)
        if (r.body[i] != (char)((i * 7 + i / 251) & 0xff))
            bad++;
    cr_expect_eq(bad, 0, "%zu bytes differ", bad);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "deferred next\n");
    hh_response_free(&r);
    close(fd);
}

Test(module, connection_timers_spare_deferred_and_streamed_responses)
{
    struct hh_response r;
    char *want;
    int fd;

    start_std(1, "limits: { max_body_size: 4k, header_timeout: 300ms, "
                 "body_timeout: 300ms, send_timeout: 300ms, "
                 "keepalive_timeout: 300ms }\n");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    /* The module takes 1 s: no connection timer may end that. */
    cr_assert_eq(hh_send(fd,
                         "GET /defer?ms=1000&tag=slow HTTP/1.1\r\nHost: x\r\n"
                         "\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "cut while deferred");
    cr_expect_str_eq(r.body, "deferred slow\n");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    close(fd);

    /* A stream that pauses longer than send_timeout with nothing left
       to send is not a stalled client. */
    want = stream_body(3, 10);
    get("/stream?n=3&sync=1&gap=700", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);
    free(want);
}

/*
 * A cancel callback that calls herd_respond: on a disconnect herd says
 * ENOTCONN; on module.timeout it must too, and answer 504 itself.
 *
 * KNOWN HERD BUG (main at 86e2049, src/request.c): herd_request_expire()
 * marks req dropped but not cancelled before calling the callback, so
 * herd_respond() there succeeds (rc 0) and frees req, and expire then
 * answers 504 on the freed request: the worker dies of SIGSEGV. This
 * test fails until that is fixed; it asserts the correct behaviour.
 */
Test(module, respond_from_cancel_callback_is_refused)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET /cancelresp2 HTTP/1.1\r\nHost: x\r\n\r\n", 0),
                 0);
    wait_log("testmod: deferred cancel_responds ", 1);
    close(fd);
    wait_log("testmod: cancel respond ", 1);
    cr_expect_eq(hh_log_count(&srv, "testmod: cancel respond rc=-1 "
                                    "errno=ENOTCONN"),
                 1, "disconnect: herd_respond in the cancel callback");

    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /cancelresp HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 504);
    hh_response_free(&r);
    wait_log("testmod: cancel respond ", 2);
    cr_expect_eq(hh_log_count(&srv, "testmod: cancel respond rc=-1 "
                                    "errno=ENOTCONN"),
                 2, "timeout: herd_respond in the cancel callback");
    /* Exactly one response for the request, then the next one. */
    if (hh_read_response(fd, &r, 0) == 0) {
        cr_expect_eq(r.status, 200, "a second response for one request?");
        cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
        hh_response_free(&r);
    }
    close(fd);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
}

/* Poll path (up to WAIT_MS) until it holds text; its content then, in
   a malloc'd string (free it). */
static char *
wait_file_text(const char *path, const char *text)
{
    long deadline = now_ms() + WAIT_MS;
    char *got = NULL;

    for (;;) {
        FILE *f = fopen(path, "r");
        size_t len = 0, n;
        char chunk[4096];

        free(got);
        got = calloc(1, 1);
        cr_assert_not_null(got);
        if (f != NULL) {
            while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
                got = realloc(got, len + n + 1);
                cr_assert_not_null(got);
                memcpy(got + len, chunk, n);
                len += n;
                got[len] = '\0';
            }
            fclose(f);
        }
        if (strstr(got, text) != NULL || now_ms() > deadline)
            return got;
        sleep_ms(20);
    }
}

Test(module, access_log_records_module_outcomes)
{
    struct hh_response r;
    char keys[300], path[256], *log, line[256];
    int fd;

    make_work();
    snprintf(path, sizeof(path), "%s/access.log", work);
    snprintf(keys, sizeof(keys), "access: %s", path);
    std_log_keys = keys;
    start_std(1, "");
    get("/defer?ms=10&tag=a", &r);
    hh_response_free(&r);
    get("/never", &r);
    hh_response_free(&r);
    get("/nothing", &r);
    hh_response_free(&r);
    get("/ref", &r);
    hh_response_free(&r);
    get("/stream?n=3&size=10", &r);
    hh_response_free(&r);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd, "GET /defer?ms=30000&tag=gone HTTP/1.1\r\nHost: x\r\n\r\n",
                0),
        0);
    wait_log("testmod: deferred defer ", 2);
    close(fd);
    wait_log("testmod: cancelled defer ", 1);
    log = wait_file_text(path, "tag=gone HTTP/1.1\" ");
    cr_expect(strstr(log, "\"GET /defer?ms=10&tag=a HTTP/1.1\" 200 ") != NULL,
              "%s", log);
    cr_expect(strstr(log, "\"GET /never HTTP/1.1\" 504 ") != NULL, "%s", log);
    cr_expect(strstr(log, "\"GET /nothing HTTP/1.1\" 500 ") != NULL, "%s", log);
    cr_expect(strstr(log, "\"GET /stream?n=3&size=10 HTTP/1.1\" 200 ") != NULL,
              "%s", log);
    cr_expect(strstr(log, "\"GET /defer?ms=30000&tag=gone HTTP/1.1\" 499 ") !=
                  NULL,
              "%s", log);
    {
        const char *p = strstr(log, "\"GET /ref HTTP/1.1\" 200 ");
        unsigned long bytes = 0;

        cr_expect(p != NULL, "%s", log);
        if (p != NULL) {
            sscanf(p + strlen("\"GET /ref HTTP/1.1\" 200 "), "%lu", &bytes);
            snprintf(line, sizeof(line), "%.80s", p);
            cr_expect_geq(bytes, 1048576, "%s", line);
        }
    }
    free(log);
}

Test(module, abandoned_request_is_freed_by_exit)
{
    struct hh_response r;
    char want[128];
    pid_t w0;

    start_std(1, "");
    w0 = hh_worker_pid(&srv, 0, 1);
    get("/abandon", &r);
    cr_expect_eq(r.status, 504);
    hh_response_free(&r);
    /* The module never finishes it: herd frees it when the worker ends
       (a sanitizer build would exit non-zero on the leak). */
    cr_assert_eq(kill(srv.pid, SIGTERM), 0);
    snprintf(want, sizeof(want), "worker 0 (pid %d) exited with status 0",
             (int)w0);
    wait_log(want, 1);
}

/* ---- streams ---- */

Test(module, stream_is_chunked_for_http11)
{
    struct hh_response r;
    char *want, v[64];
    int fd;

    start_std(1, "");
    want = stream_body(6, 100);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /stream?n=6&sync=2&size=100 HTTP/1.1\r\n"
                         "Host: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hdr(&r, "Transfer-Encoding"), "chunked");
    cr_expect_null(hh_header(&r, "Content-Length", v, sizeof(v)));
    cr_expect_str_eq(hdr(&r, "Content-Type"), "text/x-stream");
    cr_expect_eq(r.body_len, 600);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);
    /* The connection is reusable after the last chunk. */
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    close(fd);
    free(want);

    /* All from the handler, none from timers. */
    want = stream_body(3, 7);
    get("/stream?n=3&sync=9&size=7", &r);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);
    free(want);
    /* A stream of no bytes. */
    get("/stream?n=0", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 0);
    hh_response_free(&r);

    /* Writes of no bytes are no-ops, not a last chunk. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /stream?n=3&size=0&sync=1 HTTP/1.1\r\n"
                         "Host: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 0);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
    hh_response_free(&r);
    close(fd);
}

Test(module, stream_is_close_delimited_for_http10)
{
    struct hh_response r;
    char *want, v[64];
    int fd;

    start_std(1, "");
    want = stream_body(5, 50);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd, "GET /stream?n=5&sync=1&size=50 HTTP/1.0\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_null(hh_header(&r, "Transfer-Encoding", v, sizeof(v)),
                   "head:\n%s", r.head);
    cr_expect_null(hh_header(&r, "Content-Length", v, sizeof(v)), "head:\n%s",
                   r.head);
    cr_expect_eq(r.body_len, 250);
    cr_expect_str_eq(r.body, want);
    cr_expect(hh_closed(fd, 2000), "connection left open after the stream");
    hh_response_free(&r);
    close(fd);
    free(want);
}

Test(module, stream_head_sends_no_body)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "HEAD /stream?n=4&sync=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200, "a body followed the HEAD stream");
    cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
    hh_response_free(&r);
    close(fd);
}

Test(module, stream_refuses_calls_after_begin)
{
    struct hh_response r;
    char *want;

    start_std(1, "");
    want = stream_body(2, 10);
    get("/stream?n=2&sync=1&check=1", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, want);
    cr_expect_null(strstr(r.head, "X-Late"), "head:\n%s", r.head);
    hh_response_free(&r);
    free(want);
    wait_log("testmod: stream prechecks ", 1);
    cr_expect_eq(hh_log_count(&srv, "testmod: stream prechecks write=-1 "
                                    "EINVAL end=-1 EINVAL begin204=-1 "
                                    "EINVAL"),
                 1);
    wait_log("testmod: stream checks ", 1);
    cr_expect_eq(hh_log_count(&srv, "testmod: stream checks header=-1 "
                                    "EALREADY begin=-1 EALREADY "
                                    "respond=-1 EALREADY"),
                 1);
}

Test(module, stream_outlives_module_timeout)
{
    struct hh_response r;
    char *want;

    start_std(1, "");
    /* 8 chunks 60 ms apart: well past the route's 200ms timeout. */
    want = stream_body(8, 20);
    get("/slowstream?n=8&sync=1&size=20&gap=60", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);
    free(want);
    cr_expect_eq(hh_log_count(&srv, "testmod: cancelled"), 0);
}

Test(module, stream_client_disconnect_cancels)
{
    struct hh_response r;
    char buf[64];
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /stream?n=100000&sync=1&gap=20 HTTP/1.1\r\n"
                         "Host: x\r\n\r\n",
                         0),
                 0);
    /* Some of the stream arrived: it is under way. */
    cr_assert_gt(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    wait_log("testmod: cancelled stream ", 1);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
}

Test(module, stream_write_says_enobufs_to_slow_client)
{
    struct hh_response r;
    char line[256], why[32];
    size_t total = 0, i, bad = 0;
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    /* Not reading yet: the module must hit the limit. */
    wait_log("testmod: flood stopped after ", 1);
    log_line("testmod: flood stopped after ", line, sizeof(line));
    cr_assert_eq(sscanf(line, "testmod: flood stopped after %zu bytes: %31s",
                        &total, why),
                 2, "line: %s", line);
    cr_expect_str_eq(why, "ENOBUFS");
    cr_expect_geq(total, 1024 * 1024, "ENOBUFS after only %zu bytes", total);
    cr_expect_lt(total, 64UL * 1024 * 1024);
    /* Everything accepted is delivered. */
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, total);
    for (i = 0; i < r.body_len; i++)
        if (r.body[i] != 'f')
            bad++;
    cr_expect_eq(bad, 0);
    hh_response_free(&r);
    close(fd);
}

Test(module, stream_without_cancel_callback_learns_enotconn)
{
    char buf[64];
    int fd;

    start_std(1, "");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /stream?n=100000&sync=1&gap=20&nocancel=1 "
                         "HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_gt(read(fd, buf, sizeof(buf)), 0);
    close(fd);
    /* The next write fails, and ending the stream frees it. */
    wait_log("testmod: stream write: ENOTCONN", 1);
    wait_log("testmod: stream end rc=-1 errno=ENOTCONN", 1);
    cr_expect_eq(hh_log_count(&srv, "testmod: cancelled"), 0);
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
}

Test(module, http10_keep_alive_stream_still_closes)
{
    struct hh_response r;
    char *want;
    int fd;

    start_std(1, "");
    want = stream_body(3, 30);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /stream?n=3&sync=1&size=30 HTTP/1.0\r\n"
                         "Connection: keep-alive\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect(strstr(r.head, "keep-alive") == NULL &&
                  strstr(r.head, "Keep-Alive") == NULL,
              "a close-delimited body cannot keep the connection:\n%s", r.head);
    cr_expect_str_eq(r.body, want);
    cr_expect(hh_closed(fd, 2000));
    hh_response_free(&r);
    close(fd);
    free(want);
}

Test(module, stream_begun_late_from_timer)
{
    struct hh_response r;
    char *want;

    start_std(1, "");
    /* Begins at 100 ms, inside the 200ms timeout, ends at ~340 ms. */
    want = stream_body(5, 10);
    get("/slowstream?late=100&n=5&gap=60", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hdr(&r, "Transfer-Encoding"), "chunked");
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);
    free(want);
    cr_expect_eq(hh_log_count(&srv, "testmod: cancelled"), 0);
    /* Would begin at 400 ms: too late, 504. */
    get("/slowstream?late=400&n=2", &r);
    cr_expect_eq(r.status, 504);
    hh_response_free(&r);
    wait_log("testmod: cancelled stream ", 1);
}

/* Streams written from another request's handler: publish/subscribe. */
Test(module, streams_written_from_other_requests)
{
    struct hh_response r;
    char buf[512];
    int fd[4], i;

    start_std(1, "");
    for (i = 0; i < 4; i++) {
        fd[i] = hh_connect(&srv);
        cr_assert_geq(fd[i], 0);
        cr_assert_eq(hh_send(fd[i], "GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", 0),
                     0);
        wait_log("testmod: subscribed ", i + 1);
    }
    /* One leaves before anything is published (having read the head:
       its close is a FIN, not a reset, which the next test is about). */
    cr_assert_gt(read(fd[3], buf, sizeof(buf)), 0);
    close(fd[3]);
    wait_log("testmod: unsubscribed ", 1);
    get("/pub?msg=hello", &r);
    cr_expect_str_eq(r.body, "published 3 failed 0\n");
    hh_response_free(&r);
    get("/pub?msg=world&end=1", &r);
    cr_expect_str_eq(r.body, "published 3 failed 0\n");
    hh_response_free(&r);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(hh_read_response(fd[i], &r, 0), 0, "subscriber %d", i);
        cr_expect_eq(r.status, 200);
        cr_expect_str_eq(r.body, "hello\nworld\n", "subscriber %d", i);
        hh_response_free(&r);
        /* Its connection goes on. */
        cr_assert_eq(
            hh_send(fd[i], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
        cr_assert_eq(hh_read_response(fd[i], &r, 0), 0);
        cr_expect_eq(r.status, 200);
        hh_response_free(&r);
        close(fd[i]);
    }
    get("/pub?msg=nobody", &r);
    cr_expect_str_eq(r.body, "published 0 failed 0\n");
    hh_response_free(&r);
}

/*
 * A client that resets its connection (RST: killed, or closed with unread
 * bytes) while its request is deferred or streaming is gone as surely as
 * one that closes it: the request is cancelled, and the worker does not
 * spin on the error.
 *
 * KNOWN HERD BUG (main at e25abf5, src/conn.c): while deferred, herd
 * watches the socket with EV_CLOSED only; on a reset epoll reports
 * EPOLLERR|EPOLLHUP, which libevent turns into EV_READ|EV_WRITE, not
 * EV_CLOSED: nothing handles it, so the worker busy-loops in epoll_wait
 * (level-triggered) and the request is never cancelled (a stream: until
 * something writes to it; not started: until module.timeout). This test
 * fails until that is fixed; it asserts the correct behaviour.
 */
Test(module, reset_by_client_cancels_stream)
{
    struct hh_response r;
    pid_t w0;
    long t0, t1;
    int fd;

    start_std(1, "");
    w0 = hh_worker_pid(&srv, 0, 1);
    /* A stream begun, waiting for a publisher. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    wait_log("testmod: subscribed ", 1);
    reset_close(fd);
    /* Not a wait for a condition but a measurement: a busy loop would
       use most of these 500 ms (~50 ticks). */
    t0 = cpu_ticks(w0);
    sleep_ms(500);
    t1 = cpu_ticks(w0);
    cr_expect_lt(t1 - t0, 25,
                 "the worker spun: %ld ticks in 500 ms after the "
                 "reset",
                 t1 - t0);
    wait_log("testmod: unsubscribed ", 1);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

Test(module, reset_by_client_cancels_deferred_request)
{
    struct hh_response r;
    int fd;

    start_std(1, "");
    /* A deferred request not yet answered. */
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    wait_log("testmod: deferred never ", 1);
    reset_close(fd);
    wait_log("testmod: cancelled never ", 1);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

/* One churn client: n requests of random kinds, each on a new connection,
   abandoned at a random moment or read to the end. Exits 0, or 1 when a
   request it read to the end went wrong. */
static void
churn_client(unsigned seed, int n)
{
    static const char *const targets[] = {
        "/defer?ms=%u&tag=c",   "/stream?n=20&gap=%u&sync=1",
        "/never?x=%u",          "/ref?size=%u000",
        "/late?ms=%u",          "/echo/%u?q=x",
        "/stream?n=%u&sync=50", "/defer?ms=%u&big=300000",
    };
    char target[128], raw[256];
    struct hh_response r;
    int i, fd, kind;

    for (i = 0; i < n; i++) {
        kind = (int)(rand_r(&seed) % 8);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(target, sizeof(target), targets[kind],
                 1 + (unsigned)rand_r(&seed) % 40);
#pragma GCC diagnostic pop
        snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
                 target);
        fd = hh_connect(&srv);
        if (fd < 0 || hh_send(fd, raw, 0) != 0)
            _exit(1);
        if (rand_r(&seed) % 2) {
            /* Leave at once, a little later, or with a reset. */
            sleep_ms((int)(rand_r(&seed) % 30));
            if (rand_r(&seed) % 3 == 0) {
                struct linger l = {1, 0};

                setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
            }
            close(fd);
            continue;
        }
        memset(&r, 0, sizeof(r));
        if (hh_read_response(fd, &r, 0) != 0 ||
            (r.status != 200 && r.status != 504)) {
            fprintf(stderr, "churn: %s: status %d\n", target, r.status);
            _exit(1);
        }
        hh_response_free(&r);
        close(fd);
    }
    _exit(0);
}

/* Clients coming and going at random moments of deferred requests,
   streams and lent bodies: the worker must neither crash nor leak
   (a sanitizer build checks the latter at its exit). */
Test(module, churn_of_deferred_and_streamed_requests, .timeout = 90)
{
    struct hh_response r;
    pid_t w0, kids[4];
    int i, st, bad = 0;

    start_std(1, "");
    w0 = hh_worker_pid(&srv, 0, 1);
    for (i = 0; i < 4; i++) {
        kids[i] = fork();
        cr_assert_geq(kids[i], 0);
        if (kids[i] == 0)
            churn_client(1234u + (unsigned)i, 60);
    }
    for (i = 0; i < 4; i++) {
        cr_assert_eq(waitpid(kids[i], &st, 0), kids[i]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    cr_expect_eq(bad, 0, "%d churn clients saw a wrong answer", bad);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    cr_expect_eq(hh_worker_pid(&srv, 0, 1), w0, "the worker was replaced");
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
    /* A graceful stop cancels what is left; the worker exits 0. */
    {
        char want[128];

        cr_assert_eq(kill(srv.pid, SIGTERM), 0);
        snprintf(want, sizeof(want), "worker 0 (pid %d) exited with status 0",
                 (int)w0);
        wait_log(want, 1);
    }
}

/* The same churn across two reloads: old workers drain deferred requests
   and streams while new ones take over. */
Test(module, churn_across_reloads, .timeout = 90)
{
    struct hh_response r;
    pid_t kids[4];
    int i, st, bad = 0;

    start_std(2, "");
    for (i = 0; i < 4; i++) {
        kids[i] = fork();
        cr_assert_geq(kids[i], 0);
        if (kids[i] == 0)
            churn_client(777u + (unsigned)i, 60);
    }
    wait_log("testmod: deferred ", 5);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 2 worker(s)", 1);
    wait_log("testmod: deferred ",
             hh_log_count(&srv, "testmod: deferred ") + 5);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 3 serving with 2 worker(s)", 1);
    for (i = 0; i < 4; i++) {
        cr_assert_eq(waitpid(kids[i], &st, 0), kids[i]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    cr_expect_eq(bad, 0, "%d churn clients saw a wrong answer", bad);
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
    cr_expect_eq(hh_log_count(&srv, "reload failed"), 0);
    cr_expect_eq(hh_wait_children(srv.pid, 2, WAIT_MS), 0);
}

/* ---- crashes ---- */

/* Connections c[0], c[1] to two different workers (pids p[0], p[1]),
   found by asking t_echo for its pid on new connections. */
static void
connect_each_worker(int c[2], pid_t p[2])
{
    struct hh_response r;
    char pid[32];
    int fd, i, got = 0;

    for (i = 0; i < 200 && got < 2; i++) {
        fd = hh_connect(&srv);
        cr_assert_geq(fd, 0);
        cr_assert_eq(hh_send(fd, "GET /echo/1 HTTP/1.1\r\nHost: x\r\n\r\n", 0),
                     0);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0);
        cr_assert_not_null(field(r.body, "pid", pid, sizeof(pid)));
        hh_response_free(&r);
        if (got == 0 || atoi(pid) != p[0]) {
            c[got] = fd;
            p[got++] = atoi(pid);
        } else {
            close(fd);
        }
    }
    cr_assert_eq(got, 2, "200 connections all went to one worker");
}

Test(module, crash_kills_only_its_worker_which_is_respawned)
{
    struct hh_response r;
    char line[512], want[128];
    int c[2], i, slot = -1, other;
    pid_t p[2], w0, w1, dead;

    start_std(2, "");
    w0 = hh_worker_pid(&srv, 0, 1);
    w1 = hh_worker_pid(&srv, 1, 1);
    connect_each_worker(c, p);
    cr_assert((p[0] == w0 && p[1] == w1) || (p[0] == w1 && p[1] == w0));
    /* A request under way on the other worker while this one crashes. */
    cr_assert_eq(hh_send(c[1],
                         "GET /defer?ms=500&tag=other HTTP/1.1\r\nHost: x\r\n"
                         "\r\n",
                         0),
                 0);
    wait_log("testmod: deferred defer ", 1);
    cr_assert_eq(hh_send(c[0], "GET /crash HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_expect_neq(hh_read_response(c[0], &r, 0), 0,
                  "a response came from the crashed worker");
    hh_response_free(&r);
    close(c[0]);
    wait_log("while running route /crash", 1);
    dead = p[0];
    slot = dead == w0 ? 0 : 1;
    other = 1 - slot;
    snprintf(want, sizeof(want), "worker %d (pid %d) killed by signal 11 (",
             slot, (int)dead);
    log_line(want, line, sizeof(line));
    cr_expect_neq(line[0], '\0', "no \"%s\" in the log", want);
    cr_expect(strstr(line, "while running route /crash") != NULL, "%s", line);
    cr_expect(strstr(line, "t_crash") != NULL, "%s", line);
    cr_expect(strstr(line, "testmod.so") != NULL, "%s", line);

    /* The other worker answers its deferred request and goes on. */
    cr_assert_eq(hh_read_response(c[1], &r, 0), 0);
    cr_expect_str_eq(r.body, "deferred other\n");
    hh_response_free(&r);
    cr_assert_eq(hh_send(c[1], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(c[1], &r, 0), 0);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    close(c[1]);

    /* Respawned in its slot; the other untouched. */
    wait_log("serving (slot", 3);
    cr_expect_eq(hh_wait_gone(dead, WAIT_MS), 0);
    cr_expect_eq(hh_wait_children(srv.pid, 2, WAIT_MS), 0);
    cr_expect_neq(hh_worker_pid(&srv, slot, 1), dead);
    cr_expect(hh_alive(hh_worker_pid(&srv, slot, 1)));
    cr_expect_eq(hh_worker_pid(&srv, other, 1), p[1]);
    for (i = 0; i < 20; i++) {
        get("/echo/1", &r);
        cr_expect_eq(r.status, 200, "request %d after the respawn", i);
        hh_response_free(&r);
    }
    /* /health names the route the slot's last crash interrupted. */
    get("/health", &r);
    snprintf(want, sizeof(want), "\"slot\":%d,", slot);
    {
        const char *o = strstr(r.body, want);

        cr_expect(o != NULL &&
                      strstr(o, "\"last_exit\":-11,"
                                "\"last_crash_route\":\"/crash") != NULL,
                  "health: %s", r.body);
    }
    hh_response_free(&r);
    /* A crash is not a graceful exit. */
    cr_expect_eq(hh_log_count(&srv, "testmod: worker exit"), 0);
    /* The new worker ran its init hook. */
    wait_log("testmod: worker init /crash", 3);
}

Test(module, crash_after_handler_returned_names_no_route)
{
    struct hh_response r;
    char want[128], line[512];
    pid_t w0;

    start_std(1, "");
    w0 = hh_worker_pid(&srv, 0, 1);
    get("/echo/1", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    /* Not in a handler now: the route must not be blamed. (SIGABRT:
       sanitizers catch SIGSEGV and exit instead.) */
    cr_assert_eq(kill(w0, SIGABRT), 0);
    snprintf(want, sizeof(want), "worker 0 (pid %d) killed by signal 6",
             (int)w0);
    wait_log(want, 1);
    log_line(want, line, sizeof(line));
    cr_expect(strstr(line, "while running") == NULL, "stale route: %s", line);
    wait_log("serving (slot 0,", 2);
    get("/health", &r);
    cr_expect(strstr(r.body, "\"last_exit\":-6,\"last_crash_route\":\"\"") !=
                  NULL,
              "health: %s", r.body);
    hh_response_free(&r);
}

/* ---- configuration errors (herd -t) ---- */

/* Run herd -t on text (written to work/herd.yaml): exit status, output
   in out. */
static int
check_conf(const char *text, char *out, size_t len, char *path, size_t pathlen)
{
    char *argv[] = {"herd", "-t", "-c", path, NULL};

    if (work[0] == '\0')
        make_work();
    snprintf(path, pathlen, "%s/herd.yaml", work);
    cr_assert_eq(hh_write_file(path, text), 0);
    return hh_run(argv, out, len);
}

/* Expect out to begin with "path:line:" followed by a column and
   ": key: ". */
static void
expect_error_at(const char *out, const char *path, int line, const char *key)
{
    char prefix[512];
    int col = 0, n = 0;

    snprintf(prefix, sizeof(prefix), "%s:%d:", path, line);
    cr_expect(strncmp(out, prefix, strlen(prefix)) == 0,
              "expected \"%s\" first, got: %s", prefix, out);
    if (strncmp(out, prefix, strlen(prefix)) == 0) {
        cr_expect_eq(sscanf(out + strlen(prefix), "%d: %n", &col, &n), 1);
        cr_expect_gt(col, 0);
        cr_expect(strncmp(out + strlen(prefix) + n, key, strlen(key)) == 0,
                  "expected key \"%s\" in: %s", key, out);
    }
}

Test(module, check_accepts_good_module_routes)
{
    char text[2048], out[4096], path[256], tm[512], want[512];

    built(tm, sizeof(tm), "t/modules/testmod.so");
    snprintf(text, sizeof(text),
             "routes:\n"
             "  - path: /a\n"
             "    module:\n"
             "      file: %s\n"
             "      handler: t_echo\n"
             "      timeout: 5s\n"
             "      config: { greeting: hi, n: 3, flag: true }\n",
             tm);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 0,
                 "%s", out);
    snprintf(want, sizeof(want), "%s: configuration ok\n", path);
    cr_expect_str_eq(out, want);
}

Test(module, check_names_missing_module_file)
{
    char out[4096], path[256];

    cr_expect_eq(check_conf("routes:\n"
                            "  - path: /a\n"
                            "    module:\n"
                            "      file: /nonexistent/nope.so\n"
                            "      handler: t_echo\n",
                            out, sizeof(out), path, sizeof(path)),
                 1, "%s", out);
    expect_error_at(out, path, 4, "routes[0].module.file: ");
    cr_expect(strstr(out, "/nonexistent/nope.so") != NULL, "got: %s", out);
    cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s",
                 out);
}

Test(module, check_names_missing_handler_symbol)
{
    char text[2048], out[4096], path[256], tm[512];

    built(tm, sizeof(tm), "t/modules/testmod.so");
    snprintf(text, sizeof(text),
             "workers: 1\n"
             "routes:\n"
             "  - { path: /ok, module: { file: %s, handler: t_echo } }\n"
             "  - path: /a\n"
             "    module:\n"
             "      file: %s\n"
             "      handler: no_such_handler\n",
             tm, tm);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    expect_error_at(out, path, 7, "routes[1].module.handler: ");
    cr_expect(strstr(out, "no_such_handler") != NULL, "got: %s", out);
}

/*
 * herd_module(3): "a handler that the file does not define" is a
 * configuration error. dlsym() on the module's handle also searches the
 * libraries it depends on, so a libc function must not pass for one.
 *
 * KNOWN HERD BUG (main at b3dfcfb, src/module.c herd_module_load): the
 * handler is looked up with dlsym(handle, name), which finds "puts" in
 * libc, a dependency of the module: herd -t says "configuration ok" and
 * each request would call puts(req) (or free(req), abort()...). This test
 * fails until that is fixed (dladdr() can tell which object defines the
 * symbol); it asserts the documented behaviour.
 */
Test(module, check_refuses_handler_the_module_does_not_define)
{
    char text[2048], out[4096], path[256], tm[512];

    built(tm, sizeof(tm), "t/modules/testmod.so");
    snprintf(text, sizeof(text),
             "routes:\n"
             "  - path: /a\n"
             "    module:\n"
             "      file: %s\n"
             "      handler: puts\n",
             tm);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    expect_error_at(out, path, 5, "routes[0].module.handler: ");
}

Test(module, check_refuses_file_that_is_not_a_shared_object)
{
    char text[1024], out[4096], path[256], so[256];

    make_work();
    snprintf(so, sizeof(so), "%s/text.so", work);
    cr_assert_eq(hh_write_file(so, "this is not an ELF file\n"), 0);
    snprintf(text, sizeof(text),
             "routes:\n"
             "  - path: /a\n"
             "    module: { file: %s, handler: t_echo }\n",
             so);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    expect_error_at(out, path, 3, "routes[0].module.file: ");
    cr_expect(strstr(out, so) != NULL, "got: %s", out);
    /* Something said about the file after "routes[0].module.file: ". */
    cr_expect_gt(strlen(out), strlen(path) + 40, "got: %s", out);
}

Test(module, check_shows_init_refusal_with_route_position)
{
    char text[2048], out[4096], path[256], tm[512], want[300];

    built(tm, sizeof(tm), "t/modules/testmod.so");
    snprintf(text, sizeof(text),
             "routes:\n"
             "  - { path: /ok, module: { file: %s, handler: t_echo } }\n"
             "  - path: /no\n"
             "    module:\n"
             "      file: %s\n"
             "      handler: t_echo\n"
             "      config: { refuse: \"not today\" }\n",
             tm, tm);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    snprintf(want, sizeof(want), "%s:", path);
    cr_expect(strncmp(out, want, strlen(want)) == 0, "got: %s", out);
    cr_expect(strstr(out, "routes[1]") != NULL, "no route named: %s", out);
    cr_expect(strstr(out, "refused: not today") != NULL, "got: %s", out);
    {
        int line = 0;

        cr_expect_eq(sscanf(out + strlen(want), "%d:", &line), 1, "got: %s",
                     out);
        cr_expect(line >= 3 && line <= 7, "line %d is not route 1's", line);
    }
}

Test(module, check_refuses_directory_and_empty_file)
{
    char text[1024], out[4096], path[256], empty[256];

    make_work();
    snprintf(text, sizeof(text),
             "routes:\n"
             "  - path: /a\n"
             "    module: { file: %s, handler: t_echo }\n",
             work);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    expect_error_at(out, path, 3, "routes[0].module.file: ");

    snprintf(empty, sizeof(empty), "%s/empty.so", work);
    cr_assert_eq(hh_write_file(empty, ""), 0);
    snprintf(text, sizeof(text),
             "routes:\n"
             "  - path: /a\n"
             "    module: { file: %s, handler: t_echo }\n",
             empty);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    expect_error_at(out, path, 3, "routes[0].module.file: ");
    cr_expect(strstr(out, empty) != NULL, "got: %s", out);
}

Test(module, check_survives_long_and_odd_refusals)
{
    char text[8192], out[8192], path[256], tm[512], big[3001];

    built(tm, sizeof(tm), "t/modules/testmod.so");
    memset(big, 'r', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(text, sizeof(text),
             "routes:\n"
             "  - path: /a\n"
             "    module:\n"
             "      file: %s\n"
             "      handler: t_echo\n"
             "      config: { refuse: \"%%s%%n%%s %s\" }\n",
             tm, big);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    cr_expect(strstr(out, "refused: %s%n%s rrrr") != NULL, "got: %.300s", out);
    cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line");
}

/* A module that calls a herd function outside herd.h: herd exports only
   herd.h's, so the module cannot load (RTLD_NOW says so at load). */
Test(module, check_refuses_module_using_herd_internals)
{
    static const char src[] =
        "#include <herd.h>\n"
        "int herd_buf_append(void *b, const void *d, unsigned long n);\n"
        "int bad(struct herd_request *req);\n"
        "int bad(struct herd_request *req)\n"
        "{\n"
        "    herd_buf_append(0, 0, 0);\n"
        "    return herd_respond(req, 200, 0, 0) ? 0 : 0;\n"
        "}\n";
    char c[256], so[256], cmd[1024], text[1024], out[4096], path[256];

    make_work();
    snprintf(c, sizeof(c), "%s/bad.c", work);
    snprintf(so, sizeof(so), "%s/bad.so", work);
    cr_assert_eq(hh_write_file(c, src), 0);
    snprintf(cmd, sizeof(cmd), "%s -shared -fPIC -I'%s/src' -o '%s' '%s'",
             env("HERD_CC"), env("HERD_SRCDIR"), so, c);
    cr_assert_eq(system(cmd), 0, "failed: %s", cmd);
    snprintf(text, sizeof(text),
             "routes:\n"
             "  - path: /a\n"
             "    module: { file: %s, handler: bad }\n",
             so);
    cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    expect_error_at(out, path, 3, "routes[0].module.file: ");
    cr_expect(strstr(out, "herd_buf_append") != NULL, "got: %s", out);
}

Test(module, check_rejects_bad_module_keys)
{
    static const struct {
        const char *module, *key;
    } bad[] = {
        {"{ file: %s }", "routes[0].module"},
        {"{ handler: t_echo }", "routes[0].module"},
        {"{ file: %s, handler: t_echo, timeout: forever }",
         "routes[0].module.timeout"},
        {"{ file: %s, handler: t_echo, hanlder: x }", "routes[0].module"},
        {"{ file: %s, handler: t_echo, config: { a: [1, 2] } }",
         "routes[0].module.config"},
        {"{ file: %s, handler: t_echo, config: [a] }",
         "routes[0].module.config"},
    };
    char text[2048], mod[1024], out[4096], path[256], tm[512];
    size_t i;

    built(tm, sizeof(tm), "t/modules/testmod.so");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(mod, sizeof(mod), bad[i].module, tm);
#pragma GCC diagnostic pop
        snprintf(text, sizeof(text),
                 "routes:\n"
                 "  - path: /a\n"
                 "    module: %s\n",
                 mod);
        cr_expect_eq(check_conf(text, out, sizeof(out), path, sizeof(path)), 1,
                     "accepted: %s", mod);
        cr_expect(strstr(out, bad[i].key) != NULL, "%s: expected %s in: %s",
                  mod, bad[i].key, out);
    }
}

/* ---- hooks ---- */

Test(module, worker_hooks_run_in_each_worker)
{
    int st;

    start_std(2, "");
    /* Run before serving, with the master's data, on the event base. */
    wait_log("testmod: worker init /echo/:id data=init /echo/:id base=null "
             "base=set",
             2);
    wait_log("testmod: worker init /version data=init /version base=null "
             "base=set",
             2);
    cr_expect_eq(hh_log_count(&srv, "testmod: worker exit"), 0);
    cr_assert_eq(kill(srv.pid, SIGTERM), 0);
    wait_log("testmod: worker exit /echo/:id", 2);
    wait_log("testmod: worker exit /crash", 2);
    cr_expect_eq(hh_wait_exit(&srv, WAIT_MS, &st), 0);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}

Test(module, worker_init_runs_as_the_configured_user)
{
    struct passwd *pw = getpwnam("nobody");
    struct hh_response r;
    char want[128];

    if (geteuid() != 0 || pw == NULL)
        cr_skip_test("needs root and a \"nobody\" user");
    start_std(1, "user: nobody\n");
    snprintf(want, sizeof(want), "base=set uid=%d", (int)pw->pw_uid);
    wait_log(want, 1);
    cr_expect_eq(hh_log_count(&srv, "uid=0"), 0, "a hook ran as root");
    get("/echo/1", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

/* Start herd on yaml without waiting for workers to serve (hh_start
   would), logging to srv.log. */
static void
launch(const char *yaml)
{
    const char *bin = env("HERD_BIN");
    char text[4096];

    memset(&srv, 0, sizeof(srv));
    snprintf(srv.dir, sizeof(srv.dir), "/tmp/herd-test-XXXXXX");
    cr_assert_not_null(mkdtemp(srv.dir));
    snprintf(srv.conf, sizeof(srv.conf), "%s/herd.yaml", srv.dir);
    snprintf(srv.log, sizeof(srv.log), "%s/error.log", srv.dir);
    snprintf(text, sizeof(text),
             "listen: [\"127.0.0.1:0\"]\n"
             "log: { level: debug, error: %s }\n%s",
             srv.log, yaml);
    cr_assert_eq(hh_write_file(srv.conf, text), 0);
    srv.pid = fork();
    cr_assert_geq(srv.pid, 0);
    if (srv.pid == 0) {
        int null = open("/dev/null", O_RDWR);

        dup2(null, STDIN_FILENO);
        execl(bin, "herd", "-c", srv.conf, (char *)NULL);
        _exit(127);
    }
}

Test(module, worker_init_failure_is_not_respawned)
{
    char yaml[2048], tm[512];
    int st;

    built(tm, sizeof(tm), "t/modules/testmod.so");
    snprintf(yaml, sizeof(yaml),
             "workers: 1\n"
             "routes:\n"
             "  - path: /a\n"
             "    module:\n"
             "      file: %s\n"
             "      handler: t_echo\n"
             "      config: { worker_refuse: \"db down\" }\n",
             tm);
    launch(yaml);
    wait_log("testmod: worker refusing /a", 1);
    wait_log("worker refused: db down", 1);
    wait_log("exited with status 78", 1);
    cr_expect_eq(hh_log_count(&srv, "serving (slot"), 0);
    cr_expect_eq(hh_log_count(&srv, "testmod: worker exit"), 0);
    /* Not respawned: the master either waits for a reload with no worker
       or gives up. */
    if (hh_alive(srv.pid))
        cr_expect_eq(hh_wait_children(srv.pid, 0, WAIT_MS), 0);
    cr_expect_eq(hh_log_count(&srv, "testmod: worker refusing"), 1);
    if (waitpid(srv.pid, &st, WNOHANG) == srv.pid) {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", srv.dir);
        cr_expect_eq(system(cmd), 0);
    } else {
        hh_stop(&srv); /* its exit status is not what this test checks */
    }
    srv.pid = 0;
}

/* ---- hot deploy ---- */

/* Compile testmod.c (version 1, 2 or 3) to out; libevent's headers may
   be outside the default include path. */
static void
build_testmod(int version, const char *out)
{
    char cmd[2048];
    int rc;

    snprintf(cmd, sizeof(cmd),
             "%s -shared -fPIC -I'%s/src' "
             "$(pkg-config --cflags libevent 2>/dev/null) "
             "-DTESTMOD_VERSION=%d -o '%s' '%s/t/modules/testmod.c'",
             env("HERD_CC"), env("HERD_SRCDIR"), version, out,
             env("HERD_SRCDIR"));
    rc = system(cmd);
    cr_assert_eq(rc, 0, "failed (%d): %s", rc, cmd);
}

/* GET /version until it says want (a generation switch in progress), up
   to WAIT_MS; each answer must be 200. */
static void
wait_version(const char *want)
{
    struct hh_response r;
    long deadline = now_ms() + WAIT_MS;
    int ok = 0;

    while (!ok && now_ms() < deadline) {
        get("/version", &r);
        cr_expect_eq(r.status, 200, "during the switch: %d", r.status);
        ok = strcmp(r.body, want) == 0;
        hh_response_free(&r);
        if (!ok)
            sleep_ms(10);
    }
    cr_assert(ok, "/version never said %s", want);
}

/* The YAML of the deploy tests: 2 workers on so; echo_config: the
   module.config of the /echo route ("{}" for none). */
static void
deploy_yaml(char *buf, size_t len, const char *so, const char *echo_config)
{
    snprintf(buf, len,
             "workers: 2\n"
             "worker: { heartbeat: 100ms, shutdown_timeout: 2s }\n"
             "routes:\n"
             "  - { path: /version, module: { file: %s, handler: t_version } "
             "}\n"
             "  - path: /echo/:id\n"
             "    module: { file: %s, handler: t_echo, config: %s }\n"
             "  - { path: /defer, module: { file: %s, handler: t_defer } }\n",
             so, so, echo_config, so);
}

static void
start_deploy(const char *so)
{
    char yaml[2048];

    deploy_yaml(yaml, sizeof(yaml), so, "{}");
    cr_assert_eq(hh_start(&srv, yaml, 2), 0, "herd did not start");
}

/* Rewrite the running server's file (same listen and log as hh_start
   gave it) and send SIGHUP. */
static void
redeploy(const char *so, const char *echo_config)
{
    char yaml[2048], text[3072];

    deploy_yaml(yaml, sizeof(yaml), so, echo_config);
    snprintf(text, sizeof(text),
             "listen: [\"127.0.0.1:0\"]\n"
             "log: { level: debug, error: %s }\n%s",
             srv.log, yaml);
    cr_assert_eq(hh_write_file(srv.conf, text), 0);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
}

Test(module, hot_deploy_by_rename_and_hup)
{
    struct hh_response r;
    char so[256], next[256];
    pid_t old[2];

    make_work();
    snprintf(so, sizeof(so), "%s/app.so", work);
    snprintf(next, sizeof(next), "%s/app.so.new", work);
    build_testmod(1, so);
    start_deploy(so);
    old[0] = hh_worker_pid(&srv, 0, 1);
    old[1] = hh_worker_pid(&srv, 1, 1);
    get("/version", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "v1\n");
    hh_response_free(&r);

    build_testmod(2, next);
    cr_assert_eq(rename(next, so), 0, "rename: %s", strerror(errno));
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 2 worker(s)", 1);
    wait_version("v2\n");
    cr_expect_eq(hh_wait_gone(old[0], WAIT_MS), 0);
    cr_expect_eq(hh_wait_gone(old[1], WAIT_MS), 0);
    cr_expect_eq(hh_wait_children(srv.pid, 2, WAIT_MS), 0);
    /* Every new worker runs v2. */
    {
        int i;

        for (i = 0; i < 20; i++) {
            get("/version", &r);
            cr_expect_str_eq(r.body, "v2\n", "request %d", i);
            hh_response_free(&r);
        }
    }
    /* The old generation stopped gracefully: its exit hooks ran. */
    wait_log("testmod: worker exit /version", 2);
    cr_expect_eq(hh_log_count(&srv, "reload failed"), 0);
}

Test(module, overwriting_loaded_module_in_place_is_harmless)
{
    struct hh_response r;
    char so[256], v2[256], cmd[600];
    pid_t w0, w1;
    int i;

    make_work();
    snprintf(so, sizeof(so), "%s/app.so", work);
    snprintf(v2, sizeof(v2), "%s/v2.so", work);
    build_testmod(1, so);
    build_testmod(2, v2);
    start_deploy(so);
    w0 = hh_worker_pid(&srv, 0, 1);
    w1 = hh_worker_pid(&srv, 1, 1);
    /* cp writes into the same inode: a mapped file would change under
       the workers, herd's private copy does not. */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", v2, so);
    cr_assert_eq(system(cmd), 0);
    for (i = 0; i < 30; i++) {
        get(i % 2 ? "/version" : "/echo/3?q=x", &r);
        cr_expect_eq(r.status, 200, "request %d", i);
        if (i % 2)
            cr_expect_str_eq(r.body, "v1\n", "request %d", i);
        hh_response_free(&r);
    }
    cr_expect(hh_alive(w0) && hh_alive(w1), "a worker died");
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 2 worker(s)", 1);
    wait_version("v2\n");
}

Test(module, reload_with_broken_module_keeps_generation)
{
    struct hh_response r;
    char so[256], next[256], want[512];
    pid_t w0;

    make_work();
    snprintf(so, sizeof(so), "%s/app.so", work);
    snprintf(next, sizeof(next), "%s/app.so.new", work);
    build_testmod(1, so);
    start_deploy(so);
    w0 = hh_worker_pid(&srv, 0, 1);
    cr_assert_eq(hh_write_file(next, "not a shared object\n"), 0);
    cr_assert_eq(rename(next, so), 0);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    snprintf(want, sizeof(want), "reload failed: %s:", srv.conf);
    wait_log(want, 1);
    wait_log("routes[0].module.file: ", 1);
    wait_log("; generation 1 keeps serving", 1);
    get("/version", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "v1\n");
    hh_response_free(&r);
    cr_expect_eq(hh_worker_pid(&srv, 0, 1), w0);
    cr_expect(hh_alive(w0));
    cr_expect_eq(hh_log_count(&srv, "reloaded: generation 2"), 0);

    /* Fixed: the next reload deploys it. */
    build_testmod(2, next);
    cr_assert_eq(rename(next, so), 0);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 2 worker(s)", 1);
    wait_version("v2\n");
}

Test(module, relative_module_file_is_from_working_directory)
{
    struct hh_response r;
    char so[256], next[256];

    make_work();
    snprintf(so, sizeof(so), "%s/app.so", work);
    snprintf(next, sizeof(next), "%s/app.so.new", work);
    build_testmod(1, so);
    /* herd inherits this process's working directory. */
    cr_assert_eq(chdir(work), 0);
    start_deploy("./app.so");
    get("/version", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "v1\n");
    hh_response_free(&r);
    /* A reload resolves it from the same directory. */
    build_testmod(2, next);
    cr_assert_eq(rename(next, so), 0);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 2 worker(s)", 1);
    wait_version("v2\n");
}

Test(module, reload_lets_old_generation_finish_deferred_request)
{
    struct hh_response r;
    char so[256], next[256];
    pid_t old;
    int fd;

    make_work();
    snprintf(so, sizeof(so), "%s/app.so", work);
    snprintf(next, sizeof(next), "%s/app.so.new", work);
    build_testmod(1, so);
    start_deploy(so);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd, "GET /defer?ms=1200&tag=old HTTP/1.1\r\nHost: x\r\n\r\n",
                0),
        0);
    wait_log("testmod: deferred defer ", 1);
    old = hh_worker_pid(&srv, 0, 1);
    build_testmod(2, next);
    cr_assert_eq(rename(next, so), 0);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reloaded: generation 2 serving with 2 worker(s)", 1);
    /* The draining worker still answers what it deferred. */
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "deferred old\n");
    hh_response_free(&r);
    close(fd);
    cr_expect_eq(hh_log_count(&srv, "testmod: cancelled"), 0);
    wait_version("v2\n");
    cr_expect_eq(hh_wait_gone(old, WAIT_MS), 0);
}

Test(module, reload_refused_by_module_keeps_generation)
{
    struct hh_response r;
    char so[256], next[256];
    pid_t w[2];

    make_work();
    snprintf(so, sizeof(so), "%s/app.so", work);
    snprintf(next, sizeof(next), "%s/app.so.new", work);
    build_testmod(1, so);
    start_deploy(so);
    w[0] = hh_worker_pid(&srv, 0, 1);
    w[1] = hh_worker_pid(&srv, 1, 1);

    /* The new file lacks the handler. */
    build_testmod(3, next);
    cr_assert_eq(rename(next, so), 0);
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    wait_log("reload failed", 1);
    cr_expect_eq(hh_log_count(&srv, "routes[0].module.handler: "), 1);
    cr_expect_eq(hh_log_count(&srv, "t_version"), 1);

    /* herd_module_init refuses. */
    build_testmod(2, next);
    cr_assert_eq(rename(next, so), 0);
    redeploy(so, "{ refuse: \"maintenance\" }");
    wait_log("reload failed", 2);
    cr_expect_eq(hh_log_count(&srv, "refused: maintenance"), 1);

    /* herd_module_worker_init refuses in the new workers. */
    redeploy(so, "{ worker_refuse: \"no db\" }");
    wait_log("reload failed", 3);
    wait_log("worker refused: no db", 1);

    /* All along, generation 1 serves v1. */
    get("/version", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "v1\n");
    hh_response_free(&r);
    cr_expect_eq(hh_worker_pid(&srv, 0, 1), w[0]);
    cr_expect_eq(hh_worker_pid(&srv, 1, 1), w[1]);
    cr_expect(hh_alive(w[0]) && hh_alive(w[1]));

    /* And a good reload still works after all that (once the workers of
       the failed one are gone: see the next test for why). */
    cr_expect_eq(hh_wait_children(srv.pid, 2, WAIT_MS), 0);
    redeploy(so, "{ greeting: back }");
    wait_log("serving with 2 worker(s)", 1);
    wait_version("v2\n");
    get("/echo/1", &r);
    expect_field(r.body, "greeting", "back");
    hh_response_free(&r);
}

Test(module, recycled_worker_runs_exit_hook)
{
    struct hh_response r;
    pid_t w0;
    int i;

    start_std(1, "worker: { shutdown_timeout: 2s, max_requests: 3 }\n");
    w0 = hh_worker_pid(&srv, 0, 1);
    for (i = 0; i < 3; i++) {
        get("/echo/1", &r);
        cr_expect_eq(r.status, 200);
        hh_response_free(&r);
    }
    wait_log("testmod: worker exit /echo/:id", 1);
    cr_expect_eq(hh_wait_gone(w0, WAIT_MS), 0);
    wait_log("testmod: worker init /echo/:id", 2);
    wait_log("serving (slot 0,", 2);
    get("/echo/1", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

/*
 * A reload queued (SIGHUP) while one is in progress starts as soon as
 * that one fails; the workers of the failed one, killed but not yet
 * reaped, must not be taken for the new generation's (both are
 * "generation 2") and make it fail too.
 *
 * KNOWN HERD BUG (main at 86e2049, src/master.c): abort_reload() starts
 * the queued reload with the same pending_gen before the killed workers
 * are reaped; reap() then sees them as new workers that "exited before
 * [they were] ready" and aborts the good reload. This test fails until
 * that is fixed; it asserts the correct behaviour.
 */
Test(module, reload_queued_behind_failing_reload_succeeds)
{
    struct hh_response r;
    char so[256];

    make_work();
    snprintf(so, sizeof(so), "%s/app.so", work);
    build_testmod(1, so);
    start_deploy(so);
    redeploy(so, "{ worker_refuse: \"no db\", worker_init_delay_ms: 500 }");
    /* The new workers are in their slow init: queue the next reload. */
    wait_log("testmod: worker init /version", 4);
    redeploy(so, "{ greeting: fixed }");
    wait_log("reload failed: a new worker exited before it was ready", 1);
    wait_log("reloaded: generation 2 serving with 2 worker(s)", 1);
    cr_expect_eq(hh_log_count(&srv, "reload failed"), 1);
    /* Until the first generation's workers have left, one of them may
       still take a connection from its slot's socket (CI saw it): ask
       once they have. */
    wait_log("exiting after", 2);
    get("/echo/1", &r);
    expect_field(r.body, "greeting", "fixed");
    hh_response_free(&r);
}

/* ---- building a module ---- */

Test(module, pkg_config_builds_hello)
{
    struct hh_response r;
    char cmd[2048], cflags[1024], so[256], yaml[1024];
    FILE *p;
    size_t n;
    int rc;

    make_work();
    snprintf(cmd, sizeof(cmd),
             "PKG_CONFIG_PATH='%s' pkg-config --cflags herd 2>&1",
             env("HERD_BUILDDIR"));
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = fread(cflags, 1, sizeof(cflags) - 1, p);
    cflags[n] = '\0';
    rc = pclose(p);
    cr_assert_eq(rc, 0, "pkg-config failed: %s", cflags);
    cflags[strcspn(cflags, "\n")] = '\0';
    cr_expect(strstr(cflags, "-I") != NULL, "cflags: %s", cflags);

    snprintf(so, sizeof(so), "%s/hello.so", work);
    snprintf(cmd, sizeof(cmd),
             "%s -shared -fPIC %s -Wall -Wextra -Werror -o '%s' "
             "'%s/examples/hello/hello.c'",
             env("HERD_CC"), cflags, so, env("HERD_SRCDIR"));
    rc = system(cmd);
    cr_assert_eq(rc, 0, "failed: %s", cmd);

    snprintf(yaml, sizeof(yaml),
             "workers: 1\n"
             "routes:\n"
             "  - { path: /hello, module: { file: %s, handler: hello } }\n",
             so);
    cr_assert_eq(hh_start(&srv, yaml, 1), 0, "herd did not start");
    get("/hello", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "{\"message\":\"Hello, World!\"}\n");
    hh_response_free(&r);
}
