/* test_framing.c: request syntax and framing checks, at any split point. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "framing.h"

#define MAX_HEAD   256
#define MAX_FIELDS 4
#define MAX_BODY   64

/* What a scan of a whole input came to. */
struct outcome {
    int heads, ends; /* events seen */
    int error;       /* status, or 0 */
    size_t at;       /* offset of the refused byte, or bytes scanned */
};

/*
 * Scan in[0..len) in pieces of step bytes (0: all at once). After each
 * head the body is framed as kind with length cl, as the engine would.
 */
static struct outcome
scan(const char *in, size_t len, size_t step, enum herd_body_kind kind,
     uint64_t cl)
{
    struct herd_framing f;
    struct outcome o = {0, 0, 0, 0};
    size_t off = 0, used, piece;
    enum herd_framing_event ev;

    herd_framing_init(&f, MAX_HEAD, MAX_FIELDS, MAX_BODY);
    while (off < len) {
        piece = step == 0 || len - off < step ? len - off : step;
        ev = herd_framing_scan(&f, in + off, piece, &used);
        off += used;
        if (ev == HERD_FRAMING_ERROR) {
            o.error = f.status;
            break;
        }
        if (ev == HERD_FRAMING_HEAD) {
            o.heads++;
            herd_framing_body(&f, kind, cl);
            if (kind == HERD_BODY_NONE || (kind == HERD_BODY_LENGTH && !cl))
                o.ends++;
        } else if (ev == HERD_FRAMING_END) {
            o.ends++;
        }
    }
    o.at = off;
    return o;
}

/* The outcome, checked to be the same at every piece size. */
static struct outcome
scan_all(const char *in, size_t len, enum herd_body_kind kind, uint64_t cl)
{
    struct outcome whole = scan(in, len, 0, kind, cl), o;
    size_t step;

    for (step = 1; step <= len; step++) {
        o = scan(in, len, step, kind, cl);
        cr_assert(o.heads == whole.heads && o.ends == whole.ends &&
                      o.error == whole.error && o.at == whole.at,
                  "pieces of %zu differ from the whole for \"%s\"", step, in);
    }
    return whole;
}

/* Literals may hold NUL bytes: their length comes from sizeof. */
#define expect_error(lit, status, at)                                          \
    expect_error_n(lit, sizeof(lit) - 1, status, at)
#define expect_chunked(lit, status, at)                                        \
    expect_chunked_n(lit, sizeof(lit) - 1, status, at)

static void
expect_error_n(const char *in, size_t len, int status, size_t at)
{
    struct outcome o = scan_all(in, len, HERD_BODY_NONE, 0);

    cr_expect_eq(o.error, status, "\"%s\": status %d, want %d", in, o.error,
                 status);
    cr_expect_eq(o.at, at, "\"%s\": refused at %zu, want %zu", in, o.at, at);
}

static void
expect_ok(const char *in, int requests)
{
    struct outcome o = scan_all(in, strlen(in), HERD_BODY_NONE, 0);

    cr_expect_eq(o.error, 0, "\"%s\": refused with %d at %zu", in, o.error,
                 o.at);
    cr_expect_eq(o.ends, requests, "\"%s\": %d requests, want %d", in, o.ends,
                 requests);
}

Test(framing, valid_heads)
{
    expect_ok("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    expect_ok("GET / HTTP/1.0\r\n\r\n", 1);
    expect_ok("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    expect_ok("GET /a?b=%20 HTTP/1.1\r\nX:\r\nY: \t v \xff\r\n\r\n", 1);
    expect_ok("GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n"
              "GET / HTTP/1.9\r\nHost: a\r\n\r\n",
              2);
}

Test(framing, started_only_inside_a_request)
{
    struct herd_framing f;
    size_t used;

    herd_framing_init(&f, MAX_HEAD, MAX_FIELDS, MAX_BODY);
    cr_expect_not(herd_framing_started(&f));
    cr_expect_eq(herd_framing_scan(&f, "GE", 2, &used), HERD_FRAMING_MORE);
    cr_expect(herd_framing_started(&f));
    cr_expect_eq(herd_framing_scan(&f, "T / HTTP/1.1\r\n\r\nX", 17, &used),
                 HERD_FRAMING_HEAD);
    cr_expect_eq(used, 16);
    herd_framing_body(&f, HERD_BODY_NONE, 0);
    cr_expect_not(herd_framing_started(&f));
}

Test(framing, request_line)
{
    expect_error("GET  / HTTP/1.1\r\n\r\n", 400, 4);
    expect_error("GET / HTTP/1.1 \r\n\r\n", 400, 14);
    expect_error("GET /a\tb HTTP/1.1\r\n\r\n", 400, 6);
    expect_error("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400, 5);
    expect_error("GET /\0 HTTP/1.1\r\n\r\n", 400, 5);
    expect_error("GET /\r\n\r\n", 400, 5);          /* HTTP/0.9 */
    expect_error("GET / HXYZ/1.1\r\n\r\n", 400, 7); /* not "HTTP/" */
    expect_error("GET / http/1.1\r\n\r\n", 400, 6);
    expect_error("GET / HTTP/1.10\r\n\r\n", 400, 14);
    expect_error("GET / HTTP/2.0\r\n\r\n", 505, 11);
    expect_error("GET / HTTP/0.9\r\n\r\n", 505, 11);
    expect_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, 11);
    expect_error(" GET / HTTP/1.1\r\n\r\n", 400, 0);
    expect_error("\x16\x03\x01\x02\x00", 400, 0); /* TLS ClientHello */
    expect_error("GET\r\n", 400, 3);
}

Test(framing, line_endings_and_controls)
{
    expect_error("GET / HTTP/1.1\nHost: x\n\n", 400, 14);
    expect_error("GET / HTTP/1.1\r\nHost: x\n\r\n", 400, 23);
    expect_error("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, 24);
    expect_error("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 400, 20);
    expect_error("GET / HTTP/1.1\r\nX: a\x01"
                 "b\r\n\r\n",
                 400, 20);
    expect_error("GET / HTTP/1.1\r\nX: a\x7f"
                 "b\r\n\r\n",
                 400, 20);
    expect_error("GET / HTTP/1.1\r\n\rX", 400, 17);
    expect_error("\r\rGET / HTTP/1.1\r\n\r\n", 400, 1);
}

Test(framing, field_names_and_folding)
{
    expect_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, 20);
    expect_error("GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400, 18);
    expect_error("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400, 20);
    expect_error("GET / HTTP/1.1\r\n: x\r\n\r\n", 400, 16);
    expect_error("GET / HTTP/1.1\r\nFoo\r\n\r\n", 400, 19);
    expect_error("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400, 22);
    expect_error("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400, 22);
    expect_error("GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400, 16);
}

Test(framing, head_size_and_field_count)
{
    char big[MAX_HEAD + 64];
    size_t n;

    /* Exactly MAX_HEAD bytes pass; one more is 431 at that byte. */
    n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: %0*d\r\n\r\n",
                         MAX_HEAD - 23, 0);
    cr_assert_eq(n, MAX_HEAD);
    expect_ok(big, 1);
    n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: %0*d\r\n\r\n",
                         MAX_HEAD - 22, 0);
    expect_error_n(big, strlen(big), 431, MAX_HEAD);
    /* Overflowing inside the request line is 414. */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    big[sizeof(big) - 1] = '\0';
    expect_error_n(big, strlen(big), 414, MAX_HEAD);
    /* Leading empty lines count too. */
    memset(big, 0, sizeof(big));
    for (n = 0; n + 2 < sizeof(big); n += 2)
        memcpy(big + n, "\r\n", 2);
    expect_error_n(big, strlen(big), 431, MAX_HEAD);
    expect_ok("GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\n\r\n", 1);
    expect_error("GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\n\r\n",
                 431, 36);
}

Test(framing, content_length_body_then_pipelined)
{
    const char *in = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
                     "GET /x HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    struct outcome o = scan_all(in, strlen(in), HERD_BODY_LENGTH, 5);

    /* The body "GET /" is skipped unread: the next request line starts
       at "x HTTP/1.1", which has no version. */
    cr_expect_eq(o.error, 400);
    cr_expect_eq(o.at, 38 + 5 + 10);
    in = "POST / HTTP/1.1\r\n\r\nhelloPOST / HTTP/1.1\r\n\r\nworld";
    o = scan_all(in, strlen(in), HERD_BODY_LENGTH, 5);
    cr_expect_eq(o.error, 0);
    cr_expect_eq(o.heads, 2);
    cr_expect_eq(o.ends, 2);
}

static void
expect_chunked_n(const char *body, size_t len, int status, size_t at)
{
    static char in[2048];
    struct outcome o;

    cr_assert(19 + len <= sizeof(in));
    memcpy(in, "POST / HTTP/1.1\r\n\r\n", 19);
    memcpy(in + 19, body, len);
    o = scan_all(in, 19 + len, HERD_BODY_CHUNKED, 0);

    cr_expect_eq(o.error, status, "\"%s\": status %d, want %d", body, o.error,
                 status);
    if (status != 0)
        cr_expect_eq(o.at, 19 + at, "\"%s\": refused at %zu, want %zu", body,
                     o.at - 19, at);
    else
        cr_expect_eq(o.ends, 1, "\"%s\": not complete", body);
}

Test(framing, chunked_bodies)
{
    expect_chunked("5\r\nhello\r\n0\r\n\r\n", 0, 0);
    expect_chunked("5;a=b;c=\"d e\"\r\nhello\r\n0\r\nX: y\r\n\r\n", 0, 0);
    expect_chunked("00000000000000000005\r\nhello\r\n0\r\n\r\n", 0, 0);
    expect_chunked("A\r\n0123456789\r\n0\r\n\r\n", 0, 0);
    expect_chunked("5 \r\nhello\r\n0\r\n\r\n", 400, 1);
    expect_chunked(" 5\r\nhello\r\n0\r\n\r\n", 400, 0);
    expect_chunked("-5\r\nhello\r\n0\r\n\r\n", 400, 0);
    expect_chunked("0x5\r\nhello\r\n0\r\n\r\n", 400, 1);
    expect_chunked("\r\nhello\r\n0\r\n\r\n", 400, 0);
    expect_chunked("5;a\nb\r\nhello\r\n0\r\n\r\n", 400, 3);
    expect_chunked("5;a\0b\r\nhello\r\n0\r\n\r\n", 400, 3);
    expect_chunked("5\rXhello\r\n0\r\n\r\n", 400, 2);
    expect_chunked("5\nhello\r\n0\r\n\r\n", 400, 1);
    expect_chunked("5\r\nhelloXX0\r\n\r\n", 400, 8);
    expect_chunked("5\r\nhello\rX0\r\n\r\n", 400, 9);
    expect_chunked("5\r\nhello\n0\r\n\r\n", 400, 8);
    expect_chunked("1ffffffffffffffff\r\nhello", 400, 16);
    expect_chunked("ffffffffffffffff\r\nhello", 413, 16);
    expect_chunked("41\r\n", 413, 2);
    expect_chunked("20\r\n0123456789abcdef0123456789abcdef\r\n"
                   "21\r\n",
                   413, 38 + 2);
    expect_chunked("0\r\nX: a\r\n b\r\n\r\n", 400, 9);
    expect_chunked("0\r\nX : a\r\n\r\n", 400, 4);
    expect_chunked("0\r\nX: a\n\r\n", 400, 7);
    expect_chunked("0\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\n\r\n", 431, 23);
}

Test(framing, chunk_line_length_capped)
{
    static char body[HERD_CHUNK_LINE_MAX + 64];
    size_t n;

    memset(body, 'a', sizeof(body) - 1);
    memcpy(body, "1;", 2);
    /* The line may be HERD_CHUNK_LINE_MAX bytes with its CRLF. */
    n = HERD_CHUNK_LINE_MAX - 2;
    memcpy(body + n, "\r\nx\r\n0\r\n\r\n", 11);
    expect_chunked_n(body, strlen(body), 0, 0);
    memset(body, 'a', sizeof(body) - 1);
    memcpy(body, "1;", 2);
    expect_chunked_n(body, strlen(body), 400, HERD_CHUNK_LINE_MAX);
}

Test(framing, body_bytes_counted)
{
    struct herd_framing f;
    const char *in = "POST / HTTP/1.1\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    size_t used;

    herd_framing_init(&f, MAX_HEAD, MAX_FIELDS, MAX_BODY);
    cr_assert_eq(herd_framing_scan(&f, in, strlen(in), &used),
                 HERD_FRAMING_HEAD);
    herd_framing_body(&f, HERD_BODY_CHUNKED, 0);
    cr_assert_eq(herd_framing_scan(&f, in + used, 6, &used), HERD_FRAMING_MORE);
    cr_expect_eq(f.body_wire, 6);
}

Test(framing, content_length_values)
{
    uint64_t n = 7;

    cr_expect_eq(herd_framing_content_length("0", 1, &n), HERD_OK);
    cr_expect_eq(n, 0);
    cr_expect_eq(herd_framing_content_length("0012", 4, &n), HERD_OK);
    cr_expect_eq(n, 12);
    cr_expect_eq(herd_framing_content_length("18446744073709551615", 20, &n),
                 HERD_OK);
    cr_expect_eq(n, UINT64_MAX);
    cr_expect_eq(herd_framing_content_length("18446744073709551616", 20, &n),
                 HERD_ERR);
    cr_expect_eq(herd_framing_content_length("", 0, &n), HERD_ERR);
    cr_expect_eq(herd_framing_content_length("+5", 2, &n), HERD_ERR);
    cr_expect_eq(herd_framing_content_length("-5", 2, &n), HERD_ERR);
    cr_expect_eq(herd_framing_content_length("5, 5", 4, &n), HERD_ERR);
    cr_expect_eq(herd_framing_content_length("5 5", 3, &n), HERD_ERR);
    cr_expect_eq(herd_framing_content_length("0x5", 3, &n), HERD_ERR);
}

static int
te(const char *v)
{
    return herd_framing_transfer_encoding(v, strlen(v));
}

Test(framing, transfer_encoding_values)
{
    cr_expect_eq(te("chunked"), 0);
    cr_expect_eq(te("Chunked"), 0);
    cr_expect_eq(te("CHUNKED"), 0);
    cr_expect_eq(te("gzip, chunked"), 501);
    cr_expect_eq(te("gzip,chunked"), 501);
    cr_expect_eq(te("identity, chunked"), 501);
    cr_expect_eq(te("chunked, gzip"), 400);
    cr_expect_eq(te("chunked, chunked"), 400);
    cr_expect_eq(te("gzip"), 400);
    cr_expect_eq(te(""), 400);
    cr_expect_eq(te(", chunked"), 400);
    cr_expect_eq(te("chunked,"), 400);
    cr_expect_eq(te("chunked;a=b"), 400);
    cr_expect_eq(te("xchunked"), 400);
}

static int
host(const char *v)
{
    return herd_framing_host_valid(v, strlen(v));
}

Test(framing, host_values)
{
    cr_expect(host(""));
    cr_expect(host("example.com"));
    cr_expect(host("example.com:8080"));
    cr_expect(host("127.0.0.1:1"));
    cr_expect(host("[::1]"));
    cr_expect(host("[::1]:65535"));
    cr_expect(host("[::ffff:1.2.3.4]:80"));
    cr_expect(host("a-b_c~d%41"));
    cr_expect_not(host("a/b"));
    cr_expect_not(host("a?b"));
    cr_expect_not(host("a#b"));
    cr_expect_not(host("user@a"));
    cr_expect_not(host("a b"));
    cr_expect_not(host("a:"));
    cr_expect_not(host("a:x"));
    cr_expect_not(host("a:65536"));
    cr_expect_not(host("a:000080"));
    cr_expect_not(host("a:80:80"));
    cr_expect_not(host(":80"));
    cr_expect_not(host("[::1"));
    cr_expect_not(host("[]"));
    cr_expect_not(host("[::1]x"));
    cr_expect_not(host("[g::1]"));
    cr_expect_not(host("a%4"));
    cr_expect_not(host("a%zz"));
}

Test(framing, tokens_and_trim)
{
    const char *p = " \t chunked \t";
    size_t len = strlen(p);

    p = herd_framing_trim(p, &len);
    cr_expect_eq(len, 7);
    cr_expect(herd_framing_token_eq(p, len, "chunked"));
    cr_expect(herd_framing_token_eq("100-Continue", 12, "100-continue"));
    cr_expect_not(herd_framing_token_eq("100-continu", 11, "100-continue"));
    cr_expect_not(herd_framing_token_eq("100-continuee", 13, "100-continue"));
    len = 3;
    herd_framing_trim("   ", &len);
    cr_expect_eq(len, 0);
}

Test(helpers, token_and_field_value)
{
    cr_expect(herd_framing_token_valid("X-Custom_1.~", 12));
    cr_expect(!herd_framing_token_valid("", 0));
    cr_expect(!herd_framing_token_valid("a b", 3));
    cr_expect(!herd_framing_token_valid("a:b", 3));
    cr_expect(!herd_framing_token_valid("caf\xc3\xa9", 5));
    cr_expect_null(herd_framing_value_invalid("text/html; q=\"1\"\t", 17));
    cr_expect_null(herd_framing_value_invalid("\xc3\xa9", 2));
    {
        const char v[] = "a\r\nX-Evil: 1";

        cr_expect_eq(herd_framing_value_invalid(v, sizeof(v) - 1), v + 1);
    }
    cr_expect_not_null(herd_framing_value_invalid("a\x7f", 2));
    cr_expect_not_null(herd_framing_value_invalid("a\0b", 3));
}
