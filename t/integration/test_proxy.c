/* test_proxy.c: client address, PROXY protocol and request ids over sockets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/*
 * The worker logs every request at debug level as
 * "METHOD TARGET STATUS client ADDRESS id ID": each test requests its own
 * path and looks for its line. herd listens on 127.0.0.1, so the peer of
 * every test connection is 127.0.0.1.
 */

static struct hh_server srv;

static void
start(const char *yaml, int workers)
{
    cr_assert_eq(hh_start(&srv, yaml, workers), 0, "herd did not start");
}

static void
stop(void)
{
    cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
}

/* Send raw on a new connection, read one response into *r. */
static void
request(const char *raw, struct hh_response *r)
{
    cr_assert_eq(hh_request(&srv, raw, r), 0, "no response to %s", raw);
}

/* Assert the log shows a request for path served to client. */
static void
expect_client(const char *path, int status, const char *client)
{
    char want[256];

    snprintf(want, sizeof(want), "GET %s %d client %s id ", path, status,
             client);
    cr_expect_eq(hh_wait_log(&srv, want, 1, 3000), 0, "no log line \"%s\"",
                 want);
}

/* ---- a peer that is not trusted ---- */

static void
start_untrusted(void)
{
    start("workers: 1\n"
          "proxy: { trusted: [10.0.0.0/8] }\n"
          "routes:\n"
          "  - { path: /, respond: { body: \"hi\" } }\n",
          1);
}

TestSuite(untrusted, .init = start_untrusted, .fini = stop, .timeout = 30);

Test(untrusted, spoofed_forwarded_for_is_ignored)
{
    struct hh_response r;

    request("GET /spoof HTTP/1.1\r\nHost: x\r\n"
            "X-Forwarded-For: 203.0.113.66\r\n\r\n",
            &r);
    cr_expect_eq(r.status, 404);
    hh_response_free(&r);
    expect_client("/spoof", 404, "127.0.0.1");
    cr_expect_eq(hh_log_count(&srv, "client 203.0.113.66"), 0);
}

Test(untrusted, request_id_is_not_believed)
{
    struct hh_response r;
    char v[128];

    request("GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: forged-id\r\n\r\n", &r);
    cr_expect_eq(r.status, 200);
    cr_assert_not_null(hh_header(&r, "X-Request-Id", v, sizeof(v)));
    cr_expect_str_neq(v, "forged-id");
    cr_expect_eq(strlen(v), 36, "generated id \"%s\"", v);
    hh_response_free(&r);
}

/* ---- the same, with nothing logging requests ---- */

/* Without the access log or debug lines, herd works out only the request
   id: a trusted peer's id must still be taken, an untrusted one's not. */
static struct hh_server q;

/* Stopped even when an assertion ended the test. */
static void
stop_q(void)
{
    if (q.pid > 0)
        hh_stop(&q);
}

Test(quiet, request_id_taken_from_trusted_peers_only, .fini = stop_q)
{
    struct hh_response r;
    char v[160];

    cr_assert_eq(hh_start_log(&q,
                              "workers: 1\n"
                              "proxy: { trusted: [127.0.0.0/8] }\n"
                              "routes:\n"
                              "  - { path: /, respond: { body: \"hi\" } }\n",
                              1, "level: info"),
                 0);
    cr_assert_eq(hh_request(&q,
                            "GET / HTTP/1.1\r\nHost: x\r\n"
                            "User-Agent: t\r\nX-Request-Id: \r\n"
                            "X-Request-Id: trace-7\r\n"
                            "X-Request-Id: trace-8\r\n\r\n",
                            &r),
                 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hh_header(&r, "X-Request-Id", v, sizeof(v)), "trace-7");
    hh_response_free(&r);
    cr_expect_eq(hh_log_count(&q, " id trace-7"), 0, "a request was logged");
    cr_expect_eq(hh_stop(&q), 0);

    cr_assert_eq(hh_start_log(&q,
                              "workers: 1\n"
                              "proxy: { trusted: [10.0.0.0/8] }\n"
                              "routes:\n"
                              "  - { path: /, respond: { body: \"hi\" } }\n",
                              1, "level: info"),
                 0);
    cr_assert_eq(hh_request(&q,
                            "GET / HTTP/1.1\r\nHost: x\r\n"
                            "X-Request-Id: forged-id\r\n\r\n",
                            &r),
                 0);
    cr_expect_str_neq(hh_header(&r, "X-Request-Id", v, sizeof(v)), "forged-id");
    cr_expect_eq(strlen(v), 36, "generated id \"%s\"", v);
    hh_response_free(&r);
    cr_expect_eq(hh_stop(&q), 0);
}

/* ---- a trusted proxy in front ---- */

static void
start_trusted(void)
{
    start("workers: 2\n"
          "proxy: { trusted: [127.0.0.0/8, 10.0.0.0/8] }\n"
          "routes:\n"
          "  - { path: /, respond: { body: \"hi\" } }\n",
          2);
}

TestSuite(trusted, .init = start_trusted, .fini = stop, .timeout = 60);

Test(trusted, chain_picks_right_most_untrusted_hop)
{
    struct hh_response r;

    request("GET /chain HTTP/1.1\r\nHost: x\r\n"
            "X-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n"
            "X-Forwarded-For: 10.0.0.2\r\n\r\n",
            &r);
    cr_expect_eq(r.status, 404);
    hh_response_free(&r);
    expect_client("/chain", 404, "203.0.113.9");
}

Test(trusted, ipv6_hop)
{
    struct hh_response r;

    request("GET /v6 HTTP/1.1\r\nHost: x\r\n"
            "X-Forwarded-For: [2001:db8::7]:4711, 10.9.9.9\r\n\r\n",
            &r);
    hh_response_free(&r);
    expect_client("/v6", 404, "2001:db8::7");
}

Test(trusted, forwarded_header_is_not_the_configured_one)
{
    struct hh_response r;

    /* client_header defaults to X-Forwarded-For: Forwarded passes by. */
    request("GET /fwd HTTP/1.1\r\nHost: x\r\n"
            "Forwarded: for=192.0.2.60\r\n\r\n",
            &r);
    hh_response_free(&r);
    expect_client("/fwd", 404, "127.0.0.1");
}

Test(trusted, request_id_round_trip)
{
    struct hh_response r;
    char v[160];

    request("GET / HTTP/1.1\r\nHost: x\r\n"
            "X-Request-Id: trace-42/a:b@c\r\n\r\n",
            &r);
    cr_expect_str_eq(hh_header(&r, "X-Request-Id", v, sizeof(v)),
                     "trace-42/a:b@c");
    hh_response_free(&r);
    cr_expect_eq(hh_wait_log(&srv, "id trace-42/a:b@c", 1, 3000), 0);
}

Test(trusted, insane_request_id_is_replaced)
{
    struct hh_response r;
    char v[160];

    request("GET / HTTP/1.1\r\nHost: x\r\n"
            "X-Request-Id: has space\r\n\r\n",
            &r);
    cr_assert_not_null(hh_header(&r, "X-Request-Id", v, sizeof(v)));
    cr_expect_eq(strlen(v), 36, "generated id \"%s\"", v);
    hh_response_free(&r);
}

Test(trusted, errors_carry_a_request_id)
{
    struct hh_response r;
    char v[160];

    request("GET / HTTP/1.1\r\n\r\n", &r); /* no Host */
    cr_expect_eq(r.status, 400);
    cr_assert_not_null(hh_header(&r, "X-Request-Id", v, sizeof(v)));
    cr_expect_eq(strlen(v), 36);
    hh_response_free(&r);
}

static int
cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

Test(trusted, generated_ids_are_unique_across_workers)
{
    enum { N = 300 };
    static char ids[N][48];
    struct hh_response r;
    int i, fd;

    /* New connections spread over both workers' sockets; keep-alive on
       some of them too. */
    for (i = 0; i < N; i++) {
        fd = hh_connect(&srv);
        cr_assert_geq(fd, 0);
        cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0);
        cr_assert_not_null(hh_header(&r, "X-Request-Id", ids[i], 48));
        cr_assert_eq(strlen(ids[i]), 36);
        hh_response_free(&r);
        close(fd);
    }
    qsort(ids, N, sizeof(ids[0]), cmp_ids);
    for (i = 1; i < N; i++)
        cr_assert_str_neq(ids[i - 1], ids[i], "id repeated");
    /* Both workers answered (each logs its own slot). */
    cr_expect_gt(hh_log_count(&srv, "worker 0 "), 0);
    cr_expect_gt(hh_log_count(&srv, "worker 1 "), 0);
}

/* ---- RFC 7239 Forwarded ---- */

static void
start_forwarded(void)
{
    start("workers: 1\n"
          "proxy: { trusted: [127.0.0.1], client_header: forwarded }\n"
          "routes:\n"
          "  - { path: /, respond: { body: \"hi\" } }\n",
          1);
}

TestSuite(forwarded, .init = start_forwarded, .fini = stop, .timeout = 30);

Test(forwarded, for_parameter_names_the_client)
{
    struct hh_response r;

    request("GET /f HTTP/1.1\r\nHost: x\r\n"
            "X-Forwarded-For: 192.0.2.99\r\n"
            "Forwarded: for=192.0.2.43;proto=https, for=\"[2001:db8::9]\"\r\n"
            "\r\n",
            &r);
    hh_response_free(&r);
    expect_client("/f", 404, "2001:db8::9");
}

/* ---- PROXY protocol ---- */

static void
start_pp(void)
{
    start("workers: 1\n"
          "listen: [{ address: \"127.0.0.1:0\", proxy_protocol: true }]\n"
          "limits: { header_timeout: 1s }\n"
          "proxy: { trusted: [10.0.0.0/8] }\n"
          "routes:\n"
          "  - { path: /, respond: { body: \"hi\" } }\n",
          1);
}

TestSuite(pp, .init = start_pp, .fini = stop, .timeout = 30);

Test(pp, v1_source_becomes_the_client)
{
    struct hh_response r;

    request("PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n"
            "GET /v1 HTTP/1.1\r\nHost: x\r\n\r\n",
            &r);
    cr_expect_eq(r.status, 404);
    hh_response_free(&r);
    expect_client("/v1", 404, "192.0.2.7");
}

Test(pp, v1_trusted_source_then_forwarded_for)
{
    struct hh_response r;

    request("PROXY TCP4 10.1.1.1 127.0.0.1 5555 80\r\n"
            "GET /v1xff HTTP/1.1\r\nHost: x\r\n"
            "X-Forwarded-For: 198.51.100.20\r\n\r\n",
            &r);
    hh_response_free(&r);
    expect_client("/v1xff", 404, "198.51.100.20");
}

static const char v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* A v2 header for TCP over IPv4 from src (4 bytes) into buf: 28 bytes. */
static size_t
v2_tcp4(char *buf, const unsigned char src[4])
{
    static const unsigned char dst[4] = {127, 0, 0, 1};

    memcpy(buf, v2_sig, 12);
    buf[12] = 0x21; /* version 2, PROXY */
    buf[13] = 0x11; /* AF_INET, STREAM */
    buf[14] = 0;
    buf[15] = 12;
    memcpy(buf + 16, src, 4);
    memcpy(buf + 20, dst, 4);
    buf[24] = 0x30; /* source port 12345 */
    buf[25] = 0x39;
    buf[26] = 0;
    buf[27] = 80;
    return 28;
}

Test(pp, v2_tcp4_source_becomes_the_client)
{
    static const unsigned char src[4] = {198, 51, 100, 77};
    static const char req[] = "GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n";
    struct hh_response r;
    char buf[128];
    size_t n = v2_tcp4(buf, src);
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    memcpy(buf + n, req, sizeof(req) - 1);
    /* The header alone first, then the request. */
    cr_assert_eq(hh_send(fd, buf, 10), 0);
    usleep(50000);
    cr_assert_eq(hh_send(fd, buf + 10, n - 10 + sizeof(req) - 1), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 404);
    hh_response_free(&r);
    close(fd);
    expect_client("/v2", 404, "198.51.100.77");
}

Test(pp, v2_local_keeps_the_peer)
{
    static const char req[] = "GET /local HTTP/1.1\r\nHost: x\r\n\r\n";
    struct hh_response r;
    char buf[128];
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    memcpy(buf, v2_sig, 12);
    buf[12] = 0x20; /* version 2, LOCAL */
    buf[13] = 0x00;
    buf[14] = 0;
    buf[15] = 0;
    memcpy(buf + 16, req, sizeof(req) - 1);
    cr_assert_eq(hh_send(fd, buf, 16 + sizeof(req) - 1), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    hh_response_free(&r);
    close(fd);
    expect_client("/local", 404, "127.0.0.1");
}

Test(pp, missing_header_is_refused)
{
    char buf[256];
    int fd = hh_connect(&srv), closed = 0;

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0), 0);
    cr_expect_eq(hh_read_until_close(fd, buf, sizeof(buf), 3000, &closed), 0,
                 "herd answered a connection without a PROXY header");
    cr_expect(closed);
    close(fd);
    cr_expect_eq(hh_wait_log(&srv, "PROXY header refused", 1, 3000), 0);
}

Test(pp, silent_connection_times_out)
{
    char buf[64];
    int fd = hh_connect(&srv), closed = 0;

    cr_assert_geq(fd, 0);
    cr_expect_eq(hh_read_until_close(fd, buf, sizeof(buf), 4000, &closed), 0);
    cr_expect(closed, "not closed after header_timeout");
    close(fd);
    cr_expect_eq(hh_wait_log(&srv, "no PROXY header within", 1, 3000), 0);
}

Test(pp, header_then_silence_times_out)
{
    char buf[64];
    int fd = hh_connect(&srv), closed = 0;

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "PROXY TCP4 192.0.2.8 127.0.0.1 5555 80\r\n", 0),
                 0);
    /* header_timeout (1 s) runs from accept, not from the PROXY header:
       the connection closes with no answer since no request began. */
    cr_expect_eq(hh_read_until_close(fd, buf, sizeof(buf), 4000, &closed), 0);
    cr_expect(closed, "not closed after header_timeout");
    close(fd);
}
