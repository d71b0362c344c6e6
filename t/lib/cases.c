/* cases.c: the hardening rules as exact bytes, with the verdict for each. */
#include "cases.h"

#include <stdio.h>
#include <stdlib.h>

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

size_t
hh_repeat(char *buf, size_t cap, const char *head, const char *unit, int n,
          const char *tail)
{
    size_t len = 0;
    int i;

    len += (size_t)snprintf(buf + len, cap - len, "%s", head);
    for (i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s", unit);
    if (len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "%s", tail);
    if (len >= cap)
        abort(); /* the caller's buffer is too small */
    return len;
}

static size_t
gen_big_head(char *buf, size_t cap)
{
    return hh_repeat(buf, cap, HH_GET "X-Big: ", "a", 1100, "\r\n\r\n");
}

static size_t
gen_long_target(char *buf, size_t cap)
{
    return hh_repeat(buf, cap, "GET /", "a", 1100,
                     " HTTP/1.1\r\nHost: x\r\n\r\n");
}

static size_t
gen_100_headers(char *buf, size_t cap)
{
    return hh_repeat(buf, cap, "GET / HTTP/1.1\r\n", "a:b\r\n", 99,
                     "Host: x\r\n\r\n");
}

static size_t
gen_101_headers(char *buf, size_t cap)
{
    return hh_repeat(buf, cap, "GET / HTTP/1.1\r\n", "a:b\r\n", 100,
                     "Host: x\r\n\r\n");
}

static size_t
gen_10000_headers(char *buf, size_t cap)
{
    return hh_repeat(buf, cap, HH_GET, "a:b\r\n", 10000, "\r\n");
}

static size_t
gen_long_chunk_ext(char *buf, size_t cap)
{
    return hh_repeat(buf, cap, HH_CHUNKED "1;", "e", 600, "\r\nx\r\n0\r\n\r\n");
}

static size_t
gen_many_leading_crlf(char *buf, size_t cap)
{
    return hh_repeat(buf, cap, "", "\r\n", 600, HH_GET "\r\n");
}

const struct hh_case hh_cases[] = {
    /* accepted: answered, and the connection stays open */
    OK("plain", HH_GET "\r\n"),
    OK("leading_empty_lines", "\r\n\r\n" HH_GET "\r\n"),
    OK("http10_without_host",
       "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    OK("http11_minor_9", "GET / HTTP/1.9\r\nHost: x\r\n\r\n"),
    OK("obs_text_in_value", HH_GET "X: caf\xc3\xa9\r\n\r\n"),
    OK("tab_in_value", HH_GET "X: a\tb\r\n\r\n"),
    OK("empty_value", HH_GET "X:\r\n\r\n"),
    OK("absolute_form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"),
    OK("host_ipv6_and_port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
    OK("content_length_0", HH_POST "Content-Length: 0\r\n\r\n"),
    OK("content_length_leading_zeros",
       HH_POST "Content-Length: 005\r\n\r\nhello"),
    OK("chunked_ext_and_trailer",
       HH_CHUNKED "5;name=val\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
    OK("chunked_upper_case",
       HH_POST "Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n"),
    OK("trailers_not_merged",
       HH_CHUNKED "0\r\nHost: evil\r\nContent-Length: 5\r\n\r\n"),
    GEN("100_headers", gen_100_headers, 200, 0),

    /* limits */
    GEN("head_too_large", gen_big_head, 431, 1),
    GEN("target_too_long", gen_long_target, 414, 1),
    GEN("101_headers", gen_101_headers, 431, 1),
    GEN("10000_headers", gen_10000_headers, 431, 1),
    GEN("600_leading_empty_lines", gen_many_leading_crlf, 431, 1),
    NO("content_length_over_max", HH_POST "Content-Length: 65\r\n\r\n", 413),
    NO("content_length_huge",
       HH_POST "Content-Length: 99999999999999999\r\n\r\n", 413),
    NO("chunked_over_max",
       HH_CHUNKED "40\r\n0123456789abcdef0123456789abcdef"
                  "0123456789abcdef0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n",
       413),
    NO("chunk_size_huge", HH_CHUNKED "ffffffffffff\r\n", 413),

    /* Content-Length */
    NO("te_and_cl",
       HH_POST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"
               "\r\n0\r\n\r\n",
       400),
    NO("cl_and_te",
       HH_POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"
               "\r\n0\r\n\r\n",
       400),
    NO("cl_differ",
       HH_POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    NO("cl_repeated",
       HH_POST "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    NO("cl_list", HH_POST "Content-Length: 5, 5\r\n\r\nhello", 400),
    NO("cl_plus", HH_POST "Content-Length: +5\r\n\r\nhello", 400),
    NO("cl_minus", HH_POST "Content-Length: -5\r\n\r\nhello", 400),
    NO("cl_letters", HH_POST "Content-Length: 5a\r\n\r\nhello", 400),
    NO("cl_hex", HH_POST "Content-Length: 0x5\r\n\r\nhello", 400),
    NO("cl_inner_space", HH_POST "Content-Length: 5 5\r\n\r\nhello", 400),
    NO("cl_empty", HH_POST "Content-Length:\r\n\r\n", 400),
    NO("cl_overflow", HH_POST "Content-Length: 99999999999999999999\r\n\r\n",
       400),

    /* Transfer-Encoding */
    NO("te_gzip_chunked",
       HH_POST "Transfer-Encoding: gzip, chunked\r\n\r\n"
               "0\r\n\r\n",
       501),
    NO("te_chunked_gzip",
       HH_POST "Transfer-Encoding: chunked, gzip\r\n\r\n"
               "0\r\n\r\n",
       400),
    NO("te_gzip", HH_POST "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400),
    NO("te_unknown", HH_POST "Transfer-Encoding: foo\r\n\r\n0\r\n\r\n", 400),
    NO("te_empty", HH_POST "Transfer-Encoding:\r\n\r\n0\r\n\r\n", 400),
    NO("te_chunked_twice",
       HH_POST "Transfer-Encoding: chunked, chunked\r\n\r\n"
               "0\r\n\r\n",
       400),
    NO("te_leading_comma",
       HH_POST "Transfer-Encoding: , chunked\r\n\r\n"
               "0\r\n\r\n",
       400),
    NO("te_two_lines_chunked",
       HH_POST "Transfer-Encoding: chunked\r\n"
               "Transfer-Encoding: chunked\r\n\r\n"
               "0\r\n\r\n",
       400),
    NO("te_two_lines_other_first",
       HH_POST "Transfer-Encoding: eee\r\n"
               "Transfer-Encoding: chunked\r\n\r\n"
               "0\r\n\r\n",
       400),
    NO("te_in_http10",
       "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400),
    NO("te_chunked_tab",
       HH_POST "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", 400),

    /* chunked framing */
    NO("chunk_size_letters", HH_CHUNKED "zz\r\n", 400),
    NO("chunk_size_negative", HH_CHUNKED "-5\r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_size_overflow", HH_CHUNKED "1ffffffffffffffff\r\nhello\r\n", 400),
    NO("chunk_size_then_space", HH_CHUNKED "5 \r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_size_0x", HH_CHUNKED "0x5\r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_ext_lf", HH_CHUNKED "5;a\nb\r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_ext_nul", HH_CHUNKED "5;a\0b\r\nhello\r\n0\r\n\r\n", 400),
    NO("chunk_ext_control",
       HH_CHUNKED "5;a\x01"
                  "b\r\nhello\r\n0\r\n\r\n",
       400),
    GEN("chunk_ext_too_long", gen_long_chunk_ext, 400, 1),
    NO("chunk_data_not_crlf", HH_CHUNKED "5\r\nhelloXX0\r\n\r\n", 400),
    NO("chunk_size_bare_cr", HH_CHUNKED "5\rXhello\r\n0\r\n\r\n", 400),
    NO("chunk_size_bare_lf", HH_CHUNKED "5\nhello\r\n0\r\n\r\n", 400),
    NO("trailer_obs_fold", HH_CHUNKED "0\r\nX: a\r\n b\r\n\r\n", 400),
    NO("trailer_bare_lf", HH_CHUNKED "0\r\nX: a\n\r\n", 400),

    /* field lines */
    NO("space_before_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    NO("tab_before_colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400),
    NO("space_in_name", "GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400),
    NO("empty_name", HH_GET ": x\r\n\r\n", 400),
    NO("no_colon", HH_GET "Foo\r\n\r\n", 400),
    NO("obs_fold", HH_GET "X: a\r\n b\r\n\r\n", 400),
    NO("obs_fold_tab", HH_GET "X: a\r\n\tb\r\n\r\n", 400),
    NO("space_before_first_field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400),
    NO("nul_in_value", HH_GET "X: a\0b\r\n\r\n", 400),
    NO("control_in_value",
       HH_GET "X: a\x01"
              "b\r\n\r\n",
       400),
    NO("del_in_value",
       HH_GET "X: a\x7f"
              "b\r\n\r\n",
       400),
    NO("bare_cr_in_value", HH_GET "X: a\rb\r\n\r\n", 400),
    NO("bare_cr_line_end", HH_GET "X: a\rY: b\r\n\r\n", 400),
    NO("bare_lf_everywhere", "GET / HTTP/1.1\nHost: x\n\n", 400),
    NO("bare_lf_one_line", HH_GET "X: a\n\r\n", 400),
    NO("bare_lf_end_of_head", HH_GET "\n", 400),

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
    NO("host_twice", HH_GET "Host: y\r\n\r\n", 400),
    NO("host_twice_http10", "GET / HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n",
       400),
    NO("host_with_path", "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", 400),
    NO("host_with_userinfo", "GET / HTTP/1.1\r\nHost: u@x\r\n\r\n", 400),
    NO("host_port_letters", "GET / HTTP/1.1\r\nHost: x:ab\r\n\r\n", 400),
    NO("host_port_too_big", "GET / HTTP/1.1\r\nHost: x:65536\r\n\r\n", 400),
    NO("host_port_empty", "GET / HTTP/1.1\r\nHost: x:\r\n\r\n", 400),
    NO("host_with_space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),

    /* Expect, CONNECT */
    NO("expect_other",
       HH_POST "Expect: bananas\r\nContent-Length: 5\r\n\r\nhello", 417),
    NO("connect",
       "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"
       "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
       501),
};

const size_t hh_ncases = sizeof(hh_cases) / sizeof(hh_cases[0]);

const char *
hh_case_bytes(const struct hh_case *c, char *buf, size_t cap, size_t *len)
{
    if (c->gen == NULL) {
        *len = c->len;
        return c->bytes;
    }
    *len = c->gen(buf, cap);
    return buf;
}
