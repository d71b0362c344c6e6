/* test_hardening.c: malformed and hostile HTTP/1.1 against the real herd. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/*
 * Each rule gets its exact bytes, the status herd must answer with, and
 * whether the connection must then be closed (every refusal closes it;
 * what is accepted keeps it open for the next request). After every test
 * the worker that served it must still be the one serving: no crash, no
 * respawn.
 */

#define LIMITS                                                                 \
    "limits: { header_timeout: 1s, body_timeout: 1s, body_min_rate: 100, "     \
    "send_timeout: 1s, keepalive_timeout: 5s, max_header_size: 1k, "           \
    "max_body_size: 64 }\n"

static const char *const base_yaml =
    "workers: 1\n" LIMITS "routes:\n"
    "  - { path: /, methods: [GET, POST, PUT], respond: { body: ok } }\n";

static struct hh_server srv;
static int worker_pid;

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
start_yaml(const char *yaml)
{
    cr_assert_eq(hh_start(&srv, yaml, 1), 0);
    worker_pid = hh_worker_pid(&srv, 0);
    cr_assert_gt(worker_pid, 0);
}

static void
start(void)
{
    start_yaml(base_yaml);
}

/* The worker that started the test still serves, and nothing died. */
static void
same_worker_serves(void)
{
    struct hh_response r;

    cr_expect_eq(hh_worker_pid(&srv, 0), worker_pid, "the worker was replaced");
    cr_expect_eq(hh_log_count(&srv, "killed by signal"), 0);
    cr_expect_eq(hh_log_count(&srv, "exited with status"), 0);
    cr_expect_eq(hh_request(&srv, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0,
                 "the worker no longer answers");
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}

static void
stop(void)
{
    if (srv.pid > 0) {
        same_worker_serves();
        cr_expect_eq(hh_stop(&srv), 0);
    }
}

/* ---- the rules, one case each ---- */

struct hcase {
    const char *name;
    const char *bytes; /* NULL: built by gen */
    size_t len;
    int status;
    int closes;
    size_t (*gen)(char *buf, size_t cap);
};

#define OK(name, lit)                                                          \
    {                                                                          \
        name, lit, sizeof(lit) - 1, 200, 0, NULL                               \
    }
#define NO(name, lit, status)                                                  \
    {                                                                          \
        name, lit, sizeof(lit) - 1, status, 1, NULL                            \
    }
#define GEN(name, fn, status, closes)                                          \
    {                                                                          \
        name, NULL, 0, status, closes, fn                                      \
    }

#define GET1 "GET / HTTP/1.1\r\nHost: x\r\n"
#define POST "POST / HTTP/1.1\r\nHost: x\r\n"
#define CHNK POST "Transfer-Encoding: chunked\r\n\r\n"

static size_t
repeat(char *buf, size_t cap, const char *head, const char *unit, int n,
       const char *tail)
{
    size_t len = 0;
    int i;

    len += (size_t)snprintf(buf + len, cap - len, "%s", head);
    for (i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s", unit);
    len += (size_t)snprintf(buf + len, cap - len, "%s", tail);
    cr_assert_lt(len, cap);
    return len;
}

static size_t
gen_big_head(char *buf, size_t cap)
{
    return repeat(buf, cap, GET1 "X-Big: ", "a", 1100, "\r\n\r\n");
}

static size_t
gen_long_target(char *buf, size_t cap)
{
    return repeat(buf, cap, "GET /", "a", 1100, " HTTP/1.1\r\nHost: x\r\n\r\n");
}

static size_t
gen_100_headers(char *buf, size_t cap)
{
    return repeat(buf, cap, "GET / HTTP/1.1\r\n", "a:b\r\n", 99,
                  "Host: x\r\n\r\n");
}

static size_t
gen_101_headers(char *buf, size_t cap)
{
    return repeat(buf, cap, "GET / HTTP/1.1\r\n", "a:b\r\n", 100,
                  "Host: x\r\n\r\n");
}

static size_t
gen_10000_headers(char *buf, size_t cap)
{
    return repeat(buf, cap, GET1, "a:b\r\n", 10000, "\r\n");
}

static size_t
gen_long_chunk_ext(char *buf, size_t cap)
{
    return repeat(buf, cap, CHNK "1;", "e", 600, "\r\nx\r\n0\r\n\r\n");
}

static size_t
gen_many_leading_crlf(char *buf, size_t cap)
{
    return repeat(buf, cap, "", "\r\n", 600, GET1 "\r\n");
}

static const struct hcase cases[] = {
    /* accepted: answered, and the connection stays open */
    OK("plain", GET1 "\r\n"),
    OK("leading_empty_lines", "\r\n\r\n" GET1 "\r\n"),
    OK("http10_without_host",
       "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    OK("http11_minor_9", "GET / HTTP/1.9\r\nHost: x\r\n\r\n"),
    OK("obs_text_in_value", GET1 "X: caf\xc3\xa9\r\n\r\n"),
    OK("tab_in_value", GET1 "X: a\tb\r\n\r\n"),
    OK("empty_value", GET1 "X:\r\n\r\n"),
    OK("absolute_form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"),
    OK("host_ipv6_and_port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
    OK("content_length_0", POST "Content-Length: 0\r\n\r\n"),
    OK("content_length_leading_zeros", POST "Content-Length: 005\r\n\r\nhello"),
    OK("chunked_ext_and_trailer",
       CHNK "5;name=val\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
    OK("chunked_upper_case",
       POST "Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n"),
    OK("trailers_not_merged",
       CHNK "0\r\nHost: evil\r\nContent-Length: 5\r\n\r\n"),
    GEN("100_headers", gen_100_headers, 200, 0),

    /* limits */
    GEN("head_too_large", gen_big_head, 431, 1),
    GEN("target_too_long", gen_long_target, 414, 1),
    GEN("101_headers", gen_101_headers, 431, 1),
    GEN("10000_headers", gen_10000_headers, 431, 1),
    GEN("600_leading_empty_lines", gen_many_leading_crlf, 431, 1),
    NO("content_length_over_max", POST "Content-Length: 65\r\n\r\n", 413),
    NO("content_length_huge", POST "Content-Length: 99999999999999999\r\n\r\n",
       413),
    NO("chunked_over_max",
       CHNK "40\r\n0123456789abcdef0123456789abcdef"
            "0123456789abcdef0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n",
       413),
    NO("chunk_size_huge", CHNK "ffffffffffff\r\n", 413),

    /* Content-Length */
    NO("te_and_cl",
       POST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"
            "\r\n0\r\n\r\n",
       400),
    NO("cl_and_te",
       POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"
            "\r\n0\r\n\r\n",
       400),
    NO("cl_differ", POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
       400),
    NO("cl_repeated",
       POST "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    NO("cl_list", POST "Content-Length: 5, 5\r\n\r\nhello", 400),
    NO("cl_plus", POST "Content-Length: +5\r\n\r\nhello", 400),
    NO("cl_minus", POST "Content-Length: -5\r\n\r\nhello", 400),
    NO("cl_letters", POST "Content-Length: 5a\r\n\r\nhello", 400),
    NO("cl_hex", POST "Content-Length: 0x5\r\n\r\nhello", 400),
    NO("cl_inner_space", POST "Content-Length: 5 5\r\n\r\nhello", 400),
    NO("cl_empty", POST "Content-Length:\r\n\r\n", 400),
    NO("cl_overflow", POST "Content-Length: 99999999999999999999\r\n\r\n", 400),

    /* Transfer-Encoding */
    NO("te_gzip_chunked",
       POST "Transfer-Encoding: gzip, chunked\r\n\r\n"
            "0\r\n\r\n",
       501),
    NO("te_chunked_gzip",
       POST "Transfer-Encoding: chunked, gzip\r\n\r\n"
            "0\r\n\r\n",
       400),
    NO("te_gzip", POST "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400),
    NO("te_unknown", POST "Transfer-Encoding: foo\r\n\r\n0\r\n\r\n", 400),
    NO("te_empty", POST "Transfer-Encoding:\r\n\r\n0\r\n\r\n", 400),
    NO("te_chunked_twice",
       POST "Transfer-Encoding: chunked, chunked\r\n\r\n"
            "0\r\n\r\n",
       400),
    NO("te_leading_comma",
       POST "Transfer-Encoding: , chunked\r\n\r\n"
            "0\r\n\r\n",
       400),
    NO("te_two_lines_chunked",
       POST "Transfer-Encoding: chunked\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            "0\r\n\r\n",
       400),
    NO("te_two_lines_other_first",
       POST "Transfer-Encoding: eee\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            "0\r\n\r\n",
       400),
    NO("te_in_http10",
       "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400),
    NO("te_chunked_tab", POST "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n",
       400),

    /* chunked framing */
    NO("chunk_size_letters", CHNK "zz\r\n", 400),
    NO("chunk_size_negative", CHNK "-5\r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_size_overflow", CHNK "1ffffffffffffffff\r\nhello\r\n", 400),
    NO("chunk_size_then_space", CHNK "5 \r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_size_0x", CHNK "0x5\r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_ext_lf", CHNK "5;a\nb\r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_ext_nul", CHNK "5;a\0b\r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_ext_control",
       CHNK "5;a\x01"
            "b\r\nhello\r\n0\r\n\r\n",
       400),
    GEN("chunk_ext_too_long", gen_long_chunk_ext, 400, 1),
    NO("chunk_data_not_crlf", CHNK "5\r\nhelloXX0\r\n\r\n", 400),
    NO("chunk_size_bare_cr", CHNK "5\rXhello\r\n0\r\n\r\n", 400),
    NO("chunk_size_bare_lf", CHNK "5\nhello\r\n0\r\n\r\n", 400),
    NO("trailer_obs_fold", CHNK "0\r\nX: a\r\n b\r\n\r\n", 400),
    NO("trailer_bare_lf", CHNK "0\r\nX: a\n\r\n", 400),

    /* field lines */
    NO("space_before_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    NO("tab_before_colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400),
    NO("space_in_name", "GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400),
    NO("empty_name", GET1 ": x\r\n\r\n", 400),
    NO("no_colon", GET1 "Foo\r\n\r\n", 400),
    NO("obs_fold", GET1 "X: a\r\n b\r\n\r\n", 400),
    NO("obs_fold_tab", GET1 "X: a\r\n\tb\r\n\r\n", 400),
    NO("space_before_first_field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400),
    NO("nul_in_value", GET1 "X: a\0b\r\n\r\n", 400),
    NO("control_in_value",
       GET1 "X: a\x01"
            "b\r\n\r\n",
       400),
    NO("del_in_value",
       GET1 "X: a\x7f"
            "b\r\n\r\n",
       400),
    NO("bare_cr_in_value", GET1 "X: a\rb\r\n\r\n", 400),
    NO("bare_cr_line_end", GET1 "X: a\rY: b\r\n\r\n", 400),
    NO("bare_lf_everywhere", "GET / HTTP/1.1\nHost: x\n\n", 400),
    NO("bare_lf_one_line", GET1 "X: a\n\r\n", 400),
    NO("bare_lf_end_of_head", GET1 "\n", 400),

    /* request line */
    NO("nul_in_target", "GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    NO("tab_in_target", "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    NO("high_byte_in_target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    NO("space_in_target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    NO("double_space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    NO("trailing_space", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
    NO("leading_space", " GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    NO("http09_line", "GET /\r\n\r\n", 400),
    NO("version_1_10", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400),
    NO("version_lower_case", "GET / http/1.1\r\nHost: x\r\n\r\n", 400),
    NO("version_not_http", "GET / HXYZ/1.1\r\nHost: x\r\n\r\n", 400),
    NO("version_2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    NO("version_3", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    NO("version_0_9", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505),
    NO("unknown_method", "FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    NO("http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    NO("tls_client_hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),

    /* Host */
    NO("host_missing", "GET / HTTP/1.1\r\n\r\n", 400),
    NO("host_twice", GET1 "Host: y\r\n\r\n", 400),
    NO("host_twice_http10", "GET / HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n",
       400),
    NO("host_with_path", "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", 400),
    NO("host_with_userinfo", "GET / HTTP/1.1\r\nHost: u@x\r\n\r\n", 400),
    NO("host_port_letters", "GET / HTTP/1.1\r\nHost: x:ab\r\n\r\n", 400),
    NO("host_port_too_big", "GET / HTTP/1.1\r\nHost: x:65536\r\n\r\n", 400),
    NO("host_port_empty", "GET / HTTP/1.1\r\nHost: x:\r\n\r\n", 400),
    NO("host_with_space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),

    /* Expect, CONNECT */
    NO("expect_other", POST "Expect: bananas\r\nContent-Length: 5\r\n\r\nhello",
       417),
    NO("connect",
       "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"
       "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
       501),
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* The bytes of case c, generated into buf when need be. */
static const char *
case_bytes(const struct hcase *c, char *buf, size_t cap, size_t *len)
{
    if (c->gen == NULL) {
        *len = c->len;
        return c->bytes;
    }
    *len = c->gen(buf, cap);
    return buf;
}

/*
 * Send case c on a new connection (in npieces pieces, 1 ms apart, or byte
 * by byte when npieces is -1; 0: in one write) and check the status and
 * whether the connection is then closed, or still serves.
 */
static void
run_case(const struct hcase *c, int npieces)
{
    static char buf[64 * 1024];
    struct hh_response r;
    const char *bytes;
    size_t len;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    bytes = case_bytes(c, buf, sizeof(buf), &len);
    if (npieces == 0)
        cr_assert_eq(hh_send(fd, bytes, len), 0, "%s: send failed", c->name);
    else /* herd may close before the last piece: no check */
        hh_send_paced(fd, bytes, len,
                      npieces < 0 ? 1 : len / (size_t)npieces + 1, 1);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "%s: no response", c->name);
    cr_expect_eq(r.status, c->status, "%s: status %d, want %d", c->name,
                 r.status, c->status);
    hh_response_free(&r);
    if (c->closes) {
        cr_expect(hh_closed(fd, 3000), "%s: connection left open", c->name);
    } else {
        cr_assert_eq(hh_send(fd, GET1 "\r\n", 0), 0);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0,
                     "%s: no answer to the next request", c->name);
        cr_expect_eq(r.status, 200, "%s: next request got %d", c->name,
                     r.status);
        hh_response_free(&r);
    }
    close(fd);
}

TestSuite(rules, .init = start, .fini = stop, .timeout = 30);

ParameterizedTestParameters(rules, each)
{
    static int index[NCASES];
    int i;

    for (i = 0; i < NCASES; i++)
        index[i] = i;
    return cr_make_param_array(int, index, (size_t)NCASES);
}

ParameterizedTest(int *i, rules, each)
{
    run_case(&cases[*i], 0);
}

/* Every case against one server, once in one write and once in pieces
   (byte by byte for short ones; herd's header deadline is 1 s): the same
   verdicts, and the same worker still serving at the end. */
Test(rules, all_on_one_server_at_any_split, .timeout = 120)
{
    static const int pieces[] = {3, 17, -1};
    int i;

    for (i = 0; i < NCASES; i++) {
        run_case(&cases[i], 0);
        run_case(&cases[i], cases[i].len > 300 || cases[i].gen != NULL
                                ? pieces[i % 2]
                                : pieces[i % 3]);
    }
}

/* ---- rules that need a conversation ---- */

Test(rules, expect_100_continue)
{
    struct hh_response r;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd,
                         POST "Expect: 100-continue\r\n"
                              "Content-Length: 5\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "no interim response");
    cr_expect_eq(r.status, 100);
    hh_response_free(&r);
    cr_assert_eq(hh_send(fd, "hello", 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "ok");
    hh_response_free(&r);
    /* Over the limit: 413 at once, no 100, and closed. */
    close(fd);
    fd = hh_connect(&srv);
    cr_assert_eq(hh_send(fd,
                         POST "Expect: 100-continue\r\n"
                              "Content-Length: 65\r\n\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 413);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

/* After CONNECT or an upgrade nothing more is parsed as a request. */
Test(rules, nothing_parsed_after_connect_or_upgrade)
{
    static char rest[4096];
    struct hh_response r;
    char v[64];
    int fd, closed;

    fd = hh_connect(&srv);
    cr_assert_eq(
        hh_send(fd, "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n" GET1 "\r\n",
                0),
        0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 501);
    hh_response_free(&r);
    cr_expect_eq(hh_read_until_close(fd, rest, sizeof(rest), 3000, &closed), 0,
                 "bytes after CONNECT were answered");
    cr_expect(closed);
    close(fd);

    fd = hh_connect(&srv);
    cr_assert_eq(hh_send(fd,
                         GET1 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "\r\n" GET1 "\r\n",
                         0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hh_header(&r, "Connection", v, sizeof(v)), "close");
    hh_response_free(&r);
    cr_expect_eq(hh_read_until_close(fd, rest, sizeof(rest), 3000, &closed), 0,
                 "bytes after an upgrade were answered");
    cr_expect(closed);
    close(fd);
}

/* A body sent to a route that ignores it is read, never parsed (CL.0). */
Test(rules, ignored_body_is_drained)
{
    const char *smuggled = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    char req[256];
    struct hh_response r;
    int fd = hh_connect(&srv), i;

    cr_assert_geq(fd, 0);
    snprintf(req, sizeof(req),
             "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s" GET1
             "\r\n",
             strlen(smuggled), smuggled);
    cr_assert_eq(hh_send(fd, req, 0), 0);
    for (i = 0; i < 2; i++) {
        cr_assert_eq(hh_read_response(fd, &r, 0), 0);
        cr_expect_eq(r.status, 200, "response %d: %d (the body was parsed)", i,
                     r.status);
        hh_response_free(&r);
    }
    close(fd);
}

/* 1000 requests with and without bodies, in one write, answered in order. */
Test(rules, pipelined_1000_mixed_in_one_write)
{
    static char buf[1000 * 96];
    static const char *const kinds[] = {
        GET1 "\r\n",
        POST "Content-Length: 3\r\n\r\nabc",
        CHNK "3\r\nabc\r\n0\r\n\r\n",
        "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    struct hh_response r;
    size_t len = 0;
    int fd = hh_connect(&srv), i;

    cr_assert_geq(fd, 0);
    for (i = 0; i < 1000; i++)
        len +=
            (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", kinds[i % 4]);
    cr_assert_eq(hh_send(fd, buf, len), 0);
    for (i = 0; i < 1000; i++) {
        cr_assert_eq(hh_read_response(fd, &r, 0), 0, "response %d missing", i);
        cr_assert_eq(r.status, i % 4 == 3 ? 404 : 200,
                     "response %d out of order", i);
        hh_response_free(&r);
    }
    close(fd);
}

/* ---- deadlines ---- */

/* Wait for a response while sending one byte per gap_ms; returns the time
   from the first byte to the response, in ms. */
static long
trickle(int fd, const char *bytes, size_t len, int gap_ms,
        struct hh_response *r)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    long t0 = now_ms();
    size_t i;

    for (i = 0; i < len; i++) {
        if (hh_send(fd, bytes + i, 1) != 0 || poll(&pfd, 1, gap_ms) > 0)
            break; /* herd answered (or closed) */
    }
    cr_assert_eq(hh_read_response(fd, r, 0), 0, "no response to a trickle");
    return now_ms() - t0;
}

Test(rules, slowloris_cut_at_header_timeout)
{
    static char head[2048];
    struct hh_response r;
    long ms;
    size_t len;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    /* Far longer than header_timeout at one byte per 200 ms. */
    len = repeat(head, sizeof(head), GET1, "X: y\r\n", 30, "\r\n");
    ms = trickle(fd, head, len, 200, &r);
    cr_expect_eq(r.status, 408);
    cr_expect(ms >= 900 && ms < 2500, "cut off after %ld ms, not ~1000", ms);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

Test(rules, slow_body_cut_by_min_rate)
{
    static char body[64];
    struct hh_response r;
    long ms;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, POST "Content-Length: 60\r\n\r\n", 0), 0);
    /* 5 bytes a second: each read well inside body_timeout, but the
       body would take 12 s; body_min_rate (100/s) cuts it near 1 s. */
    memset(body, 'b', sizeof(body));
    ms = trickle(fd, body, 60, 200, &r);
    cr_expect_eq(r.status, 408);
    cr_expect(ms >= 900 && ms < 3000, "cut off after %ld ms", ms);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

Test(rules, body_silence_cut_at_body_timeout)
{
    struct hh_response r;
    long t0;
    int fd = hh_connect(&srv);

    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, POST "Content-Length: 10\r\n\r\nabc", 0), 0);
    t0 = now_ms();
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(r.status, 408);
    cr_expect(now_ms() - t0 < 2500);
    hh_response_free(&r);
    cr_expect(hh_closed(fd, 3000));
    close(fd);
}

/* ---- clients that stop reading or reset ---- */

static char *
big_yaml(void)
{
    static char yaml[300 * 1024];
    size_t len;

    len = (size_t)snprintf(yaml, sizeof(yaml),
                           "workers: 1\n" LIMITS "routes:\n"
                           "  - { path: /, respond: { body: ok } }\n"
                           "  - path: /big\n    respond: { body: \"");
    memset(yaml + len, 'z', 200 * 1024);
    len += 200 * 1024;
    snprintf(yaml + len, sizeof(yaml) - len, "\" }\n");
    return yaml;
}

static void
start_big(void)
{
    start_yaml(big_yaml());
}

TestSuite(stalls, .init = start_big, .fini = stop, .timeout = 60);

static void
pipeline_big(int fd, int n)
{
    static char buf[64 * 64];
    size_t len = 0;
    int i;

    for (i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(hh_send(fd, buf, len), 0);
}

Test(stalls, client_that_stops_reading_cut_at_send_timeout)
{
    static char sink[64 * 200 * 1024];
    int fd = hh_connect(&srv), closed;
    size_t got;

    cr_assert_geq(fd, 0);
    pipeline_big(fd, 64);
    cr_assert_eq(hh_wait_log(&srv, "send timeout on fd", 1, 10000), 0,
                 "a client that stopped reading was not cut off");
    got = hh_read_until_close(fd, sink, sizeof(sink), 5000, &closed);
    cr_expect(closed, "not closed after send_timeout");
    cr_expect_lt(got, (size_t)64 * 200 * 1024, "all responses went out");
    close(fd);
}

Test(stalls, client_reset_mid_response)
{
    struct linger lg = {1, 0};
    char some[1000];
    int fd, i;

    for (i = 0; i < 20; i++) {
        fd = hh_connect(&srv);
        cr_assert_geq(fd, 0);
        pipeline_big(fd, 20);
        cr_assert_gt(recv(fd, some, sizeof(some), 0), 0);
        /* Close with a reset while herd is still writing. */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
    }
    /* stop() checks that the same worker still serves. */
}

/* ---- connection caps ---- */

static void
start_capped(void)
{
    start_yaml("workers: 1\n"
               "limits: { max_connections: 2 }\n"
               "routes:\n  - { path: /, respond: { body: ok } }\n");
}

TestSuite(caps, .fini = stop, .timeout = 60);

Test(caps, max_connections_pauses_and_resumes_accept, .init = start_capped)
{
    struct hh_response r;
    int a, b, c;

    a = hh_connect(&srv);
    b = hh_connect(&srv);
    cr_assert(a >= 0 && b >= 0);
    cr_assert_eq(hh_send(a, GET1 "\r\n", 0), 0);
    cr_assert_eq(hh_read_response(a, &r, 0), 0);
    hh_response_free(&r);
    cr_assert_eq(hh_send(b, GET1 "\r\n", 0), 0);
    cr_assert_eq(hh_read_response(b, &r, 0), 0);
    hh_response_free(&r);
    /* A third connection waits in the accept queue, unanswered ... */
    c = hh_connect(&srv);
    cr_assert_geq(c, 0);
    cr_assert_eq(hh_send(c, GET1 "\r\n", 0), 0);
    {
        struct pollfd pfd = {c, POLLIN, 0};
        cr_expect_eq(poll(&pfd, 1, 500), 0, "served above max_connections");
    }
    /* ... until one of the two closes. */
    close(a);
    cr_assert_eq(hh_read_response(c, &r, 0), 0, "accepting did not resume");
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
    close(b);
    close(c);
}

static void
start_few_fds(void)
{
    cr_assert_eq(hh_start_limited(&srv,
                                  "workers: 1\n"
                                  "routes:\n"
                                  "  - { path: /, respond: { body: ok } }\n",
                                  1, 32),
                 0);
    worker_pid = hh_worker_pid(&srv, 0);
    cr_assert_gt(worker_pid, 0);
}

/* CPU time (user + system) of pid so far, in clock ticks. */
static long
cpu_ticks(int pid)
{
    char path[64], line[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    p = strrchr(line, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

Test(caps, out_of_descriptors_does_not_spin, .init = start_few_fds)
{
    struct hh_response r;
    int fds[48], i, n = 0;
    long t0, ticks;

    /* Idle connections until the worker runs out of descriptors. */
    for (i = 0; i < 48; i++)
        if ((fds[i] = hh_connect(&srv)) >= 0)
            n++;
    cr_assert_eq(hh_wait_log(&srv, "pausing accept", 1, 5000), 0,
                 "never ran out of descriptors");
    t0 = cpu_ticks(worker_pid);
    {
        /* Let the accept retries run for a second. */
        struct pollfd none = {-1, 0, 0};
        poll(&none, 1, 1000);
    }
    ticks = cpu_ticks(worker_pid) - t0;
    cr_expect_lt(ticks, 20, "the worker spun: %ld ticks in 1 s", ticks);
    cr_expect_eq(hh_log_count(&srv, "pausing accept"), 1, "logged repeatedly");
    for (i = 0; i < 48; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    cr_expect_gt(n, 0);
    /* Descriptors come back: accepting resumes. */
    cr_expect_eq(hh_request(&srv, GET1 "\r\n", &r), 0);
    cr_expect_eq(r.status, 200);
    hh_response_free(&r);
}
