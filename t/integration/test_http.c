/* test_http.c: real herd over sockets: routing, keep-alive, errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const hello_yaml =
    "workers: 1\n"
    "routes:\n"
    "  - path: /\n"
    "    respond: { status: 200, body: \"Hello World!\\n\",\n"
    "               headers: { Content-Type: text/plain } }\n"
    "  - path: /a\n"
    "    respond: { body: \"A\" }\n"
    "  - path: /b\n"
    "    respond: { body: \"BB\" }\n"
    "  - path: /items\n"
    "    methods: [POST, PUT]\n"
    "    respond: { status: 201, body: \"created\" }\n";

static struct hh_server srv;

static void
start_hello(void)
{
    cr_assert_eq(hh_start(&srv, hello_yaml, 1), 0, "herd did not start");
}

static void
stop(void)
{
    cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
}

TestSuite(http, .init = start_hello, .fini = stop, .timeout = 30);

Test(http, get_root)
{
    struct hh_response r;
    char v[128];

    cr_assert_eq(hh_request(&srv, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "Hello World!\n");
    cr_expect_str_eq(hh_header(&r, "Content-Length", v, sizeof(v)), "13");
    cr_expect_str_eq(hh_header(&r, "Content-Type", v, sizeof(v)), "text/plain");
    cr_expect_str_eq(hh_header(&r, "Server", v, sizeof(v)), "herd");
    cr_expect_not_null(hh_header(&r, "Date", v, sizeof(v)));
    cr_expect(strstr(v, " GMT") != NULL, "Date is not an HTTP date: %s", v);
    cr_expect_null(hh_header(&r, "Connection", v, sizeof(v)));
    hh_response_free(&r);
}

Test(http, head_has_length_but_no_body)
{
    struct hh_response r;
    char v[64];
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    /* HEAD then GET on one connection: a body after HEAD would corrupt
       the second response. */
    cr_assert_eq(hh_send(fd,
                         "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hh_header(&r, "Content-Length", v, sizeof(v)), "13");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "A");
    hh_response_free(&r);
    close(fd);
}

Test(http, not_found)
{
    struct hh_response r;

    cr_assert_eq(hh_request(&srv, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", &r),
                 0);
    cr_expect_eq(r.status, 404);
    cr_expect_str_eq(r.body, "404 Not Found\n");
    hh_response_free(&r);
}

Test(http, method_not_allowed_with_allow)
{
    struct hh_response r;
    char v[128];

    cr_assert_eq(
        hh_request(&srv, "DELETE /items HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    cr_expect_eq(r.status, 405);
    cr_expect_str_eq(hh_header(&r, "Allow", v, sizeof(v)), "POST, PUT");
    hh_response_free(&r);
}

Test(http, keepalive_100_requests_one_connection)
{
    struct hh_response r;
    int fd = hh_connect(&srv), i;

    cr_assert_geq(fd, 0);
    for (i = 0; i < 100; i++) {
        cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0,
                     "send %d failed: connection closed early", i);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0, "response %d missing", i);
        cr_assert_eq(r.status, 200);
        cr_assert_str_eq(r.body, "Hello World!\n");
        hh_response_free(&r);
    }
    cr_expect_not(hh_closed(fd, 50), "connection closed after 100 requests");
    close(fd);
}

Test(http, pipelined_three_in_one_write_in_order)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "BB");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 404);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "A");
    hh_response_free(&r);
    close(fd);
}

Test(http, chunked_post_body_is_consumed)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    /* If the chunked body were not read as the body, its bytes would be
       parsed as a request and the GET after it would not be answered. */
    cr_assert_eq(hh_send(fd,
                         "POST /items HTTP/1.1\r\nHost: x\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\n",
                         0),
                 0);
    usleep(20000); /* a body split over two reads */
    cr_assert_eq(hh_send(fd,
                         "6\r\n world\r\n0\r\n\r\n"
                         "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 201);
    cr_expect_str_eq(r.body, "created");
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "A");
    hh_response_free(&r);
    close(fd);
}

Test(http, content_length_body_is_consumed)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         "PUT /items HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 22\r\n\r\n"
                         "GET /nope HTTP/1.1\r\n\r\n"
                         "GET /b HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 201);
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200, "body bytes were parsed as a request");
    cr_expect_str_eq(r.body, "BB");
    hh_response_free(&r);
    close(fd);
}

Test(http, malformed_request_400_and_closed)
{
    struct hh_response r;
    char v[64];
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET / HTTP/1.1 x\r\nHost: x\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 400);
    cr_expect_str_eq(hh_header(&r, "Connection", v, sizeof(v)), "close");
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000), "connection left open after a 400");
    close(fd);
}

Test(http, space_in_header_name_400)
{
    struct hh_response r;

    /* http-parser (non-strict build) accepts it; a proxy may not. */
    cr_assert_eq(hh_request(&srv, "GET / HTTP/1.1\r\nHo st: x\r\n\r\n", &r), 0);
    cr_expect_eq(r.status, 400);
    hh_response_free(&r);
}

Test(http, garbage_request_line_400)
{
    struct hh_response r;

    cr_assert_eq(
        hh_request(&srv, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n", &r), 0);
    cr_expect_eq(r.status, 400);
    hh_response_free(&r);
}

Test(http, http10_closes_unless_keepalive)
{
    struct hh_response r;
    char v[64];
    int fd;

    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET / HTTP/1.0\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hh_header(&r, "Connection", v, sizeof(v)), "close");
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);

    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(
        hh_send(fd, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(hh_header(&r, "Connection", v, sizeof(v)), "keep-alive");
    hh_response_free(&r);
    cr_assert_eq(
        hh_send(fd, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "A");
    hh_response_free(&r);
    close(fd);
}

Test(http, connection_close_honoured)
{
    struct hh_response r;
    char v[64];
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    /* The request after "Connection: close" must not be answered. */
    cr_assert_eq(hh_send(fd,
                         "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         "\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_str_eq(r.body, "A");
    cr_expect_str_eq(hh_header(&r, "Connection", v, sizeof(v)), "close");
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000), "second request was answered");
    close(fd);
}

Test(http, http2_version_505)
{
    struct hh_response r;

    cr_assert_eq(hh_request(&srv, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", &r), 0);
    cr_expect_eq(r.status, 505);
    hh_response_free(&r);
}

Test(http, pipelined_1000_in_one_write)
{
    static char buf[1000 * 32];
    struct hh_response r;
    size_t len = 0;
    int fd = hh_connect(&srv), i;

    cr_assert_geq(fd, 0);
    for (i = 0; i < 1000; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n",
                                i % 2 ? "a" : "b");
    cr_assert_eq(hh_send(fd, buf, len), 0);
    for (i = 0; i < 1000; i++) {
        cr_assert_eq(hh_read_response(fd, &r, 0), 0, "response %d missing", i);
        cr_assert_str_eq(r.body, i % 2 ? "A" : "BB", "response %d out of order",
                         i);
        hh_response_free(&r);
    }
    close(fd);
}

/* ---- limits: each test starts its own server ---- */

static void
start_limits(void)
{
    cr_assert_eq(hh_start(&srv,
                          "workers: 1\n"
                          "limits: { header_timeout: 300ms, "
                          "keepalive_timeout: 300ms, max_header_size: 1k, "
                          "max_body_size: 16, keepalive_requests: 3 }\n"
                          "routes:\n"
                          "  - { path: /, methods: [GET, POST], "
                          "respond: { body: ok } }\n",
                          1),
                 0);
}

TestSuite(limits, .init = start_limits, .fini = stop, .timeout = 30);

Test(limits, header_timeout_408_and_close)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost:", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "no response to a stall");
    cr_expect_eq(r.status, 408);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

Test(limits, idle_keepalive_closed_after_timeout)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    hh_response_free(&r);
    cr_expect_not(hh_closed(fd, 100), "closed before keepalive_timeout");
    cr_expect(hh_closed(fd, 3000), "not closed after keepalive_timeout");
    close(fd);
}

/* The keep-alive wait starts again with each request (herd extends the
   timer it armed after the first rather than moving it every time). */
static struct hh_server own;

/* A test's own server, stopped even when an assertion ended the test. */
static void
stop_own(void)
{
    if (own.pid > 0)
        hh_stop(&own);
}

Test(keepalive, wait_restarts_with_each_request, .timeout = 30,
     .fini = stop_own)
{
    struct hh_server *s = &own;
    struct hh_response r;
    int fd, i;

    cr_assert_eq(hh_start(s,
                          "workers: 1\n"
                          "limits: { keepalive_timeout: 1s }\n"
                          "routes:\n"
                          "  - { path: /, respond: { body: ok } }\n",
                          1),
                 0);
    fd = hh_connect(s);
    cr_assert_geq(fd, 0);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0,
                     "request %d", i);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0, "request %d", i);
        cr_expect_eq(r.status, 200);
        hh_response_free(&r);
        /* 600 ms idle each time: 1.2 s and more since the first answer. */
        cr_assert_not(hh_closed(fd, 600), "closed %d ms into a 1 s wait", 600);
    }
    cr_expect(hh_closed(fd, 3000), "not closed after keepalive_timeout");
    close(fd);
    cr_expect_eq(hh_stop(s), 0);
}

Test(limits, keepalive_requests_closes_after_limit)
{
    struct hh_response r;
    char v[64];
    int fd = hh_connect(&srv), i;

    cr_assert_geq(fd, 0);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0);
        if (i < 2)
            cr_expect_null(hh_header(&r, "Connection", v, sizeof(v)));
        else
            cr_expect_str_eq(hh_header(&r, "Connection", v, sizeof(v)),
                             "close");
        hh_response_free(&r);
    }
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

Test(limits, header_too_large_431)
{
    struct hh_response r;
    char req[4096];

    snprintf(req, sizeof(req),
             "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %02000d\r\n\r\n", 0);
    cr_assert_eq(hh_request(&srv, req, &r), 0);
    cr_expect_eq(r.status, 431);
    hh_response_free(&r);
}

Test(limits, body_over_max_413_from_content_length)
{
    struct hh_response r;

    cr_assert_eq(hh_request(&srv,
                            "POST / HTTP/1.1\r\nHost: x\r\n"
                            "Content-Length: 17\r\n\r\n",
                            &r),
                 0);
    cr_expect_eq(r.status, 413);
    hh_response_free(&r);
}

Test(limits, chunked_body_over_max_413)
{
    struct hh_response r;

    cr_assert_eq(hh_request(&srv,
                            "POST / HTTP/1.1\r\nHost: x\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n"
                            "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
                            &r),
                 0);
    cr_expect_eq(r.status, 413);
    hh_response_free(&r);
}

/* ---- several workers ---- */

Test(workers, two_workers_both_serve, .timeout = 60)
{
    struct hh_response r;
    int i;

    cr_assert_eq(hh_start(&srv,
                          "workers: 2\n"
                          "routes:\n  - { path: /, respond: { body: hi } }\n",
                          2),
                 0);
    /* SO_REUSEPORT spreads connections by hash: over 64 connections both
       slots are all but certain to be chosen. Each logs what it serves. */
    for (i = 0; i < 64; i++) {
        cr_assert_eq(
            hh_request(&srv,
                       "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                       &r),
            0);
        cr_assert_eq(r.status, 200);
        hh_response_free(&r);
    }
    cr_expect_eq(hh_wait_log(&srv, "] worker 0 ", 1, 2000), 0);
    cr_expect_gt(hh_log_count(&srv, "GET / 200"), 63);
    cr_expect_eq(hh_wait_log(&srv, "serving (slot 1,", 1, 100), 0);
    {
        /* Both slots answered requests, not just started. */
        FILE *f = fopen(srv.log, "r");
        char line[512];
        int seen[2] = {0, 0};
        cr_assert_not_null(f);
        while (fgets(line, sizeof(line), f))
            if (strstr(line, "GET / 200")) {
                if (strstr(line, "] worker 0 "))
                    seen[0]++;
                if (strstr(line, "] worker 1 "))
                    seen[1]++;
            }
        fclose(f);
        cr_expect_gt(seen[0], 0, "worker 0 served nothing");
        cr_expect_gt(seen[1], 0, "worker 1 served nothing");
    }
    cr_expect_eq(hh_stop(&srv), 0);
}
