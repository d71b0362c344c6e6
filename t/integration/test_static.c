/* test_static.c: real herd over sockets: static files, redirects, OPTIONS. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

#define BIG_SIZE (1024 * 1024)
/* Large enough that the socket buffers cannot hold it all. */
#define HUGE_SIZE (256L * 1024 * 1024)

static struct hh_server srv;
static char tree[256]; /* the temp dir: www/ is the root, secret beside it */

static void
put(const char *rel, const char *text, size_t len)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", tree, rel);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static void
dir(const char *rel)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", tree, rel);
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

/* The tree every test sees; big.bin holds a byte pattern. */
static void
build_tree(void)
{
    char path[512], target[512], *big;
    size_t i;

    strcpy(tree, "/tmp/herd-static-XXXXXX");
    cr_assert_not_null(mkdtemp(tree));
    dir("www");
    dir("www/sub");
    dir("www/empty");
    dir("www/.git");
    put("secret", "top secret\n", 11);
    put("www/hello.txt", "Hello, world\n", 13);
    put("www/hello.txt.gz", "GZIPBYTES", 9);
    put("www/sub/index.html", "<p>index</p>\n", 13);
    put("www/.env", "PASSWORD=x\n", 11);
    put("www/.git/config", "[core]\n", 7);
    put("www/empty.txt", "", 0);
    put("www/style.css", "p{}\n", 4);
    put("www/pct%file", "percent\n", 8);
    big = malloc(BIG_SIZE);
    cr_assert_not_null(big);
    for (i = 0; i < BIG_SIZE; i++)
        big[i] = (char)((i * 7 + i / 251) & 0xff);
    put("www/big.bin", big, BIG_SIZE);
    free(big);
    snprintf(path, sizeof(path), "%s/www/fifo", tree);
    cr_assert_eq(mkfifo(path, 0644), 0);
    snprintf(path, sizeof(path), "%s/www/out", tree);
    snprintf(target, sizeof(target), "%s/secret", tree);
    cr_assert_eq(symlink(target, path), 0);
    snprintf(path, sizeof(path), "%s/www/up", tree);
    cr_assert_eq(symlink("../secret", path), 0);
}

static void
start(void)
{
    char yaml[2048];

    build_tree();
    snprintf(yaml, sizeof(yaml),
             "workers: 1\n"
             "limits: { send_timeout: 5s }\n"
             "routes:\n"
             "  - path: /static/*\n"
             "    static: { root: %s/www, cache_control: \"max-age=60\" }\n"
             "  - path: /gz/*\n"
             "    static: { root: %s/www, gzip_static: true }\n"
             "  - path: /dot/*\n"
             "    static: { root: %s/www, dotfiles: allow }\n"
             "  - path: /users/:id\n"
             "    redirect: { to: \"https://example.com/u/:id\", "
             "status: 308 }\n"
             "  - path: /old/*\n"
             "    redirect: { to: \"/new/*\" }\n"
             "  - path: /a/b\n"
             "    respond: { body: \"ab\" }\n"
             "  - path: /opt\n"
             "    methods: [OPTIONS]\n"
             "    respond: { status: 200, body: \"mine\" }\n",
             tree, tree, tree);
    cr_assert_eq(hh_start(&srv, yaml, 1), 0, "herd did not start");
}

static void
stop(void)
{
    char cmd[300];

    cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(static_files, .init = start, .fini = stop, .timeout = 60);

/* GET target (a raw request target) and return the response. */
static void
get(const char *target, const char *extra, struct hh_response *r)
{
    char req[1024];

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", target,
             extra ? extra : "");
    cr_assert_eq(hh_request(&srv, req, r), 0, "no response to %s", target);
}

static int
status_of(const char *target)
{
    struct hh_response r;
    int status;

    get(target, NULL, &r);
    status = r.status;
    cr_expect(r.body == NULL || strstr(r.body, "secret") == NULL,
              "%s leaked the secret", target);
    hh_response_free(&r);
    return status;
}

Test(static_files, serves_a_file_with_its_headers)
{
    struct hh_response r;
    char v[128];

    get("/static/hello.txt", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "Hello, world\n");
    cr_expect_str_eq(hh_header(&r, "Content-Length", v, sizeof(v)), "13");
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "text/plain; charset=utf-8");
    cr_expect_str_eq(hh_header(&r, "Accept-Ranges", v, sizeof(v)), "bytes");
    cr_expect_str_eq(hh_header(&r, "Cache-Control", v, sizeof(v)),
                     "max-age=60");
    cr_expect_not_null(hh_header(&r, "ETag", v, sizeof(v)));
    cr_expect_not_null(hh_header(&r, "Last-Modified", v, sizeof(v)));
    cr_expect_null(hh_header(&r, "Vary", v, sizeof(v)));
    hh_response_free(&r);
    get("/static/style.css", NULL, &r);
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "text/css; charset=utf-8");
    hh_response_free(&r);
    get("/static/empty.txt", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 0);
    hh_response_free(&r);
    /* "%25" is a '%' of a name. */
    get("/static/pct%25file", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "percent\n");
    hh_response_free(&r);
}

Test(static_files, traversal_never_escapes_the_root)
{
    static const char *const targets[] = {
        "/static/../secret",
        "/static/%2e%2e/secret",
        "/static/%2E%2e/secret",
        "/static/..%2fsecret",
        "/static/..%2Fsecret",
        "/static/sub/../../secret",
        "/static/./hello.txt",
        "/static/%2e/hello.txt",
        "/static/out",
        "/static/up",
        "//etc/passwd",
        "/static//etc/passwd",
        "/static/%2Fetc/passwd",
        "/static/sub%2F..%2F..%2Fsecret",
        "/static/%252e%252e/secret",
        "/static/hello.txt%00",
        "/static/%zz",
        "/static/%",
    };
    size_t i;
    int st;

    for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        st = status_of(targets[i]);
        cr_expect(st == 400 || st == 404, "%s: %d", targets[i], st);
    }
    /* Absolute-form targets are routed by their path too. */
    st = status_of("http://x/static/../secret");
    cr_expect(st == 400 || st == 404, "absolute-form: %d", st);
}

Test(static_files, dotfiles_are_hidden_unless_allowed)
{
    cr_expect_eq(status_of("/static/.env"), 404);
    cr_expect_eq(status_of("/static/.git/config"), 404);
    cr_expect_eq(status_of("/static/%2eenv"), 404);
    cr_expect_eq(status_of("/dot/.env"), 200);
    cr_expect_eq(status_of("/dot/.git/config"), 200);
}

Test(static_files, fifo_is_404_at_once)
{
    struct timeval a, b;
    long ms;

    gettimeofday(&a, NULL);
    cr_expect_eq(status_of("/static/fifo"), 404);
    gettimeofday(&b, NULL);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_usec - a.tv_usec) / 1000;
    cr_expect_lt(ms, 1000, "took %ld ms", ms);
    /* The worker is not stuck. */
    cr_expect_eq(status_of("/static/hello.txt"), 200);
}

Test(static_files, conditional_requests_get_304)
{
    struct hh_response r;
    char etag[128], lm[128], extra[300];

    get("/static/hello.txt", NULL, &r);
    cr_assert_not_null(hh_header(&r, "ETag", etag, sizeof(etag)));
    cr_assert_not_null(hh_header(&r, "Last-Modified", lm, sizeof(lm)));
    hh_response_free(&r);

    snprintf(extra, sizeof(extra), "If-None-Match: %s\r\n", etag);
    get("/static/hello.txt", extra, &r);
    cr_expect_eq(r.status, 304);
    cr_expect_eq(r.body_len, 0);
    hh_response_free(&r);

    snprintf(extra, sizeof(extra), "If-None-Match: \"other\"\r\n");
    get("/static/hello.txt", extra, &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);

    snprintf(extra, sizeof(extra), "If-Modified-Since: %s\r\n", lm);
    get("/static/hello.txt", extra, &r);
    cr_expect_eq(r.status, 304);
    hh_response_free(&r);

    get("/static/hello.txt",
        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", &r);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

Test(static_files, ranges)
{
    struct hh_response r;
    char v[128];

    get("/static/hello.txt", "Range: bytes=2-5\r\n", &r);
    cr_expect_eq(r.status, 206);
    cr_expect_str_eq(r.body, "llo,");
    cr_expect_str_eq(hh_header(&r, "Content-Range", v, sizeof(v)),
                     "bytes 2-5/13");
    hh_response_free(&r);

    get("/static/hello.txt", "Range: bytes=-3\r\n", &r);
    cr_expect_eq(r.status, 206);
    cr_expect_str_eq(r.body, "ld\n");
    cr_expect_str_eq(hh_header(&r, "Content-Range", v, sizeof(v)),
                     "bytes 10-12/13");
    hh_response_free(&r);

    get("/static/hello.txt", "Range: bytes=7-\r\n", &r);
    cr_expect_eq(r.status, 206);
    cr_expect_str_eq(r.body, "world\n");
    hh_response_free(&r);

    get("/static/hello.txt", "Range: bytes=13-\r\n", &r);
    cr_expect_eq(r.status, 416);
    cr_expect_str_eq(hh_header(&r, "Content-Range", v, sizeof(v)),
                     "bytes */13");
    hh_response_free(&r);

    /* More than one range: the whole file. */
    get("/static/hello.txt", "Range: bytes=0-1,3-4\r\n", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "Hello, world\n");
    hh_response_free(&r);

    /* If-Range with another validator: the whole file. */
    get("/static/hello.txt", "Range: bytes=0-1\r\nIf-Range: \"nope\"\r\n", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 13);
    hh_response_free(&r);

    /* A range of the 1 MiB file, checked byte for byte. */
    get("/static/big.bin", "Range: bytes=1000000-1000009\r\n", &r);
    cr_expect_eq(r.status, 206);
    cr_assert_eq(r.body_len, 10);
    for (size_t i = 0; i < 10; i++) {
        size_t at = 1000000 + i;
        cr_expect_eq((unsigned char)r.body[i], (at * 7 + at / 251) & 0xff);
    }
    hh_response_free(&r);
}

Test(static_files, head_has_length_and_no_body)
{
    struct hh_response r;
    char v[64];
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "HEAD /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hh_header(&r, "Content-Length", v, sizeof(v)), "1048576");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "Hello, world\n");
    hh_response_free(&r);
    close(fd);
}

Test(static_files, gzip_static)
{
    struct hh_response r;
    char v[64];

    get("/gz/hello.txt", "Accept-Encoding: gzip, br\r\n", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "GZIPBYTES");
    cr_expect_str_eq(hh_header(&r, "Content-Encoding", v, sizeof(v)), "gzip");
    cr_expect_str_eq(hh_header(&r, "Vary", v, sizeof(v)), "Accept-Encoding");
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "text/plain; charset=utf-8");
    hh_response_free(&r);

    get("/gz/hello.txt", "Accept-Encoding: gzip;q=0\r\n", &r);
    cr_expect_str_eq(r.body, "Hello, world\n");
    cr_expect_null(hh_header(&r, "Content-Encoding", v, sizeof(v)));
    cr_expect_str_eq(hh_header(&r, "Vary", v, sizeof(v)), "Accept-Encoding");
    hh_response_free(&r);

    /* Without gzip_static the .gz beside it is never chosen. */
    get("/static/hello.txt", "Accept-Encoding: gzip\r\n", &r);
    cr_expect_str_eq(r.body, "Hello, world\n");
    hh_response_free(&r);
}

Test(static_files, index_and_directory_redirect)
{
    struct hh_response r;
    char v[128];

    get("/static/sub/", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "<p>index</p>\n");
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)),
                     "text/html; charset=utf-8");
    hh_response_free(&r);

    get("/static/sub?x=1", NULL, &r);
    cr_expect_eq(r.status, 301);
    cr_expect_str_eq(hh_header(&r, "Location", v, sizeof(v)),
                     "/static/sub/?x=1");
    hh_response_free(&r);

    cr_expect_eq(status_of("/static/empty/"), 404);
    cr_expect_eq(status_of("/static/empty"), 404);
    cr_expect_eq(status_of("/static/missing"), 404);
}

Test(static_files, other_methods_405_and_options_204)
{
    struct hh_response r;
    char v[128];

    cr_assert_eq(hh_request(&srv,
                            "POST /static/hello.txt HTTP/1.1\r\nHost: x\r\n"
                            "Content-Length: 0\r\n\r\n",
                            &r),
                 0);
    cr_expect_eq(r.status, 405);
    cr_expect_str_eq(hh_header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
    hh_response_free(&r);

    cr_assert_eq(hh_request(&srv,
                            "OPTIONS /static/hello.txt HTTP/1.1\r\n"
                            "Host: x\r\n\r\n",
                            &r),
                 0);
    cr_expect_eq(r.status, 204);
    cr_expect_str_eq(hh_header(&r, "Allow", v, sizeof(v)),
                     "GET, HEAD, OPTIONS");
    cr_expect_null(hh_header(&r, "Content-Length", v, sizeof(v)));
    hh_response_free(&r);

    cr_assert_eq(hh_request(&srv, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &r),
                 0);
    cr_expect_eq(r.status, 204);
    cr_expect_str_eq(hh_header(&r, "Allow", v, sizeof(v)),
                     "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    hh_response_free(&r);

    /* A route that claims OPTIONS answers it itself. */
    cr_assert_eq(
        hh_request(&srv, "OPTIONS /opt HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "mine");
    hh_response_free(&r);
}

Test(static_files, one_mebibyte_byte_exact)
{
    struct hh_response r;
    size_t i;

    get("/static/big.bin", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_assert_eq(r.body_len, BIG_SIZE);
    for (i = 0; i < BIG_SIZE; i++) {
        if ((unsigned char)r.body[i] != ((i * 7 + i / 251) & 0xff))
            break;
    }
    cr_expect_eq(i, BIG_SIZE, "first difference at byte %zu", i);
    hh_response_free(&r);
}

Test(static_files, pipelined_files_in_order)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /a/b HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /static/sub/ HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.body_len, BIG_SIZE);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "Hello, world\n");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "ab");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "<p>index</p>\n");
    hh_response_free(&r);
    close(fd);
}

Test(static_files, file_truncated_while_sent_ends_short)
{
    char path[512], buf[65536];
    long total, cl;
    ssize_t n;
    int fd, ffd;
    char *p;

    snprintf(path, sizeof(path), "%s/www/huge.bin", tree);
    ffd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(ffd, 0);
    cr_assert_eq(ftruncate(ffd, HUGE_SIZE), 0);

    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd, "GET /static/huge.bin HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    p = strstr(buf, "Content-Length: ");
    cr_assert_not_null(p);
    cl = strtol(p + 16, NULL, 10);
    cr_expect_eq(cl, HUGE_SIZE);
    /* Not reading, the client lets the socket buffers fill, so the worker
       waits for EV_WRITE: cut the file under it, then read on. */
    usleep(200 * 1000);
    cr_assert_eq(ftruncate(ffd, 4096), 0);
    close(ffd);
    total = n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        total += n;
    cr_expect_eq(n, 0, "recv: %s", strerror(errno));
    cr_expect_lt(total, HUGE_SIZE, "the connection was not cut short");
    close(fd);
    cr_expect_eq(hh_wait_log(&srv, "file shrank", 1, 5000), 0);
    cr_expect_eq(status_of("/static/hello.txt"), 200);
    unlink(path);
}

Test(static_files, reader_that_stops_hits_the_send_timeout)
{
    char path[512], buf[4096];
    int fd, ffd;

    snprintf(path, sizeof(path), "%s/www/stall.bin", tree);
    ffd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(ffd, 0);
    cr_assert_eq(ftruncate(ffd, HUGE_SIZE), 0);
    close(ffd);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd, "GET /static/stall.bin HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 0);
    /* send_timeout is 5s in this suite. */
    cr_expect_eq(hh_wait_log(&srv, "send timeout on fd", 1, 10000), 0);
    cr_expect_eq(status_of("/static/hello.txt"), 200);
    close(fd);
    unlink(path);
}

Test(static_files, client_gone_mid_file)
{
    char buf[1024];
    int i, fd;

    for (i = 0; i < 5; i++) {
        fd = hh_connect(&srv);
        cr_assert_geq(fd, 0);
        cr_assert_eq(
            hh_send(fd, "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n", 0),
            0);
        cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 0);
        close(fd);
    }
    cr_expect_eq(status_of("/static/hello.txt"), 200);
}

/* ---- redirect ---- */

Test(static_files, redirect_substitutes_parameters)
{
    struct hh_response r;
    char v[256];

    get("/users/42?tab=a%20b", NULL, &r);
    cr_expect_eq(r.status, 308);
    cr_expect_str_eq(hh_header(&r, "Location", v, sizeof(v)),
                     "https://example.com/u/42?tab=a%20b");
    cr_expect_gt(r.body_len, 0);
    hh_response_free(&r);

    /* A parameter cannot add a segment or a query. */
    get("/users/a%2Fb%3Fc", NULL, &r);
    cr_expect_eq(r.status, 308);
    cr_expect_str_eq(hh_header(&r, "Location", v, sizeof(v)),
                     "https://example.com/u/a%2Fb%3Fc");
    hh_response_free(&r);

    /* Default status 302; the wildcard keeps its slashes. */
    get("/old/x/y.html", NULL, &r);
    cr_expect_eq(r.status, 302);
    cr_expect_str_eq(hh_header(&r, "Location", v, sizeof(v)), "/new/x/y.html");
    hh_response_free(&r);

    cr_assert_eq(
        hh_request(&srv, "HEAD /users/1 HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    cr_expect_eq(r.status, 308);
    hh_response_free(&r);
}

Test(static_files, routing_uses_the_decoded_path)
{
    cr_expect_eq(status_of("/a/b"), 200);
    cr_expect_eq(status_of("/%61/b"), 200);
    cr_expect_eq(status_of("/a%2Fb"), 404); /* %2F never splits */
    cr_expect_eq(status_of("/a/b?q=1"), 200);
    cr_expect_eq(status_of("/a/%zz"), 400);
    cr_expect_eq(status_of("/a/./b"), 400);
    cr_expect_eq(status_of("/a/%00"), 400);
}
