/* test_ws.c: WebSocket handshake, frames, UTF-8, and the frame reader. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

/* The masking key of RFC 6455 5.7's examples. */
static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/*
 * Append to out a client frame: first byte b0 (FIN, RSV, opcode), the
 * payload masked with rfc_mask, its length in the shortest encoding, or
 * in 64 bits when long64. Returns the frame's length.
 */
static size_t
frame_ex(uint8_t *out, uint8_t b0, const void *payload, size_t len, int long64)
{
    const uint8_t *p = payload;
    size_t n = 0, i;

    out[n++] = b0;
    if (len <= 125 && !long64) {
        out[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff && !long64) {
        out[n++] = 0x80 | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 0x80 | 127;
        for (i = 0; i < 8; i++)
            out[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(out + n, rfc_mask, 4);
    n += 4;
    for (i = 0; i < len; i++)
        out[n + i] = p[i] ^ rfc_mask[i & 3];
    return n + len;
}

static size_t
frame(uint8_t *out, uint8_t b0, const void *payload, size_t len)
{
    return frame_ex(out, b0, payload, len, 0);
}

/* A frame whose payload is a C string. */
static size_t
frame_s(uint8_t *out, uint8_t b0, const char *s)
{
    return frame(out, b0, s, strlen(s));
}

#define FIN 0x80

/* ---- running the reader ---- */

#define MAX_EVENTS 32

/* Everything a run of the reader produced. */
struct outcome {
    int n;                  /* events */
    int opcode[MAX_EVENTS]; /* each event's */
    uint16_t code[MAX_EVENTS];
    size_t len[MAX_EVENTS];
    uint8_t *data[MAX_EVENTS]; /* copies, freed by outcome_free */
    uint16_t error;            /* close code of the error, or 0 */
    size_t at;                 /* bytes consumed in all */
};

static void
outcome_free(struct outcome *o)
{
    int i;

    for (i = 0; i < o->n; i++)
        free(o->data[i]);
    o->n = 0;
}

/*
 * Feed in[0..len) to a fresh reader with this max_message: pieces of step
 * bytes (0: all at once), or when split is non-zero, in[0..split) then
 * the rest. Every call is checked against the contract.
 */
static struct outcome
run(const uint8_t *in, size_t len, size_t step, size_t split, size_t max)
{
    struct herd_ws_reader r;
    struct herd_ws_event ev;
    struct outcome o;
    size_t off = 0, end, used;
    int rc;

    memset(&o, 0, sizeof(o));
    herd_ws_reader_init(&r, max);
    while (off < len && o.error == 0) {
        if (split != 0)
            end = off < split ? split : len;
        else
            end = step == 0 || len - off < step ? len : off + step;
        while (off < end) {
            used = (size_t)-1;
            rc = herd_ws_read(&r, in + off, end - off, &used, &ev);
            cr_assert_leq(used, end - off);
            off += used;
            if (rc == HERD_ERR) {
                cr_assert_neq(ev.close_code, 0);
                cr_assert_not_null(ev.error);
                o.error = ev.close_code;
                /* The reader stays dead. */
                rc = herd_ws_read(&r, in + off, end - off, &used, &ev);
                cr_assert_eq(rc, HERD_ERR);
                cr_assert_eq(ev.close_code, o.error);
                break;
            }
            if (rc == HERD_AGAIN) {
                cr_assert_eq(off, end, "HERD_AGAIN left bytes unused");
                break;
            }
            cr_assert_eq(rc, HERD_OK);
            cr_assert_lt(o.n, MAX_EVENTS);
            cr_assert((ev.len == 0) == (ev.data == NULL));
            o.opcode[o.n] = ev.opcode;
            o.code[o.n] = ev.close_code;
            o.len[o.n] = ev.len;
            o.data[o.n] = malloc(ev.len + 1);
            cr_assert_not_null(o.data[o.n]);
            if (ev.len > 0)
                memcpy(o.data[o.n], ev.data, ev.len);
            o.data[o.n][ev.len] = '\0';
            o.n++;
        }
    }
    o.at = off;
    herd_ws_reader_free(&r);
    return o;
}

static void
expect_same(const struct outcome *a, const struct outcome *b, const char *how,
            size_t k)
{
    int i;

    cr_assert_eq(a->n, b->n, "%s %zu: %d events, want %d", how, k, a->n, b->n);
    cr_assert_eq(a->error, b->error, "%s %zu: error %u, want %u", how, k,
                 a->error, b->error);
    cr_assert_eq(a->at, b->at, "%s %zu: at %zu, want %zu", how, k, a->at,
                 b->at);
    for (i = 0; i < a->n; i++) {
        cr_assert_eq(a->opcode[i], b->opcode[i], "%s %zu: event %d", how, k, i);
        cr_assert_eq(a->code[i], b->code[i], "%s %zu: event %d", how, k, i);
        cr_assert_eq(a->len[i], b->len[i], "%s %zu: event %d", how, k, i);
        cr_assert(memcmp(a->data[i], b->data[i], a->len[i]) == 0,
                  "%s %zu: event %d data", how, k, i);
    }
}

/*
 * The outcome of in[0..len), checked to be the same fed all at once, in
 * pieces of every size up to limit (0: len), and split in two at every
 * point (but only within limit bytes of either end).
 */
static struct outcome
run_all_limit(const uint8_t *in, size_t len, size_t max, size_t limit)
{
    struct outcome whole = run(in, len, 0, 0, max), o;
    size_t k;

    if (limit == 0 || limit > len)
        limit = len;
    for (k = 1; k <= limit; k++) {
        o = run(in, len, k, 0, max);
        expect_same(&o, &whole, "pieces of", k);
        outcome_free(&o);
    }
    for (k = 1; k < len; k++) {
        if (k > limit && k < len - limit)
            continue; /* a long payload: only splits near its ends */
        o = run(in, len, 0, k, max);
        expect_same(&o, &whole, "split at", k);
        outcome_free(&o);
    }
    return whole;
}

static struct outcome
run_all(const uint8_t *in, size_t len, size_t max)
{
    return run_all_limit(in, len, max, 0);
}

/* Expect in[0..len) refused with code, after exactly at bytes. */
static void
expect_error(const uint8_t *in, size_t len, size_t max, uint16_t code,
             size_t at)
{
    struct outcome o = run_all(in, len, max);

    cr_expect_eq(o.error, code, "error %u, want %u", o.error, code);
    cr_expect_eq(o.at, at, "refused after %zu bytes, want %zu", o.at, at);
    outcome_free(&o);
}

/* ---- handshake ---- */

static void
expect_accept(const char *key, const char *want)
{
    char out[HERD_WS_ACCEPT_LEN + 1];

    memset(out, 'x', sizeof(out));
    cr_assert_eq(herd_ws_accept_key(key, strlen(key), out), HERD_OK, "%s", key);
    cr_expect_str_eq(out, want, "for %s", key);
}

static void
expect_bad_key_n(const char *key, size_t len)
{
    char out[HERD_WS_ACCEPT_LEN + 1] = "untouched";

    cr_expect_eq(herd_ws_accept_key(key, len, out), HERD_ERR, "\"%s\" accepted",
                 key);
    cr_expect_str_eq(out, "untouched");
}

static void
expect_bad_key(const char *key)
{
    expect_bad_key_n(key, strlen(key));
}

Test(ws, accept_key)
{
    /* RFC 6455 1.3, and the example most tutorials use. */
    expect_accept("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect_accept("x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    /* Only the first len bytes count. */
    {
        char out[HERD_WS_ACCEPT_LEN + 1];

        cr_assert_eq(
            herd_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==junk", 24, out),
            HERD_OK);
        cr_expect_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}

Test(ws, accept_key_refuses_malformed_keys)
{
    expect_bad_key("");
    expect_bad_key("dGhlIHNhbXBsZSBub25jZQ=");         /* 23 */
    expect_bad_key("dGhlIHNhbXBsZSBub25jZQ===");       /* 25 */
    expect_bad_key("dGhlIHNhbXBsZSBub25jZQ");          /* no padding */
    expect_bad_key("dGhlIHNhbXBsZSBub25jZQAA");        /* 18 bytes */
    expect_bad_key("dGhlIHNhbXBsZSBub25jZ===");        /* 15 bytes and junk */
    expect_bad_key("dGhlIHNhbXBsZSBub25j*Q==");        /* not base64 */
    expect_bad_key("dGhlIHNhbXBs ZSBub25jZQ=");        /* whitespace inside */
    expect_bad_key("dGhlIHNhbXBsZSBub25jZQ== ");       /* untrimmed */
    expect_bad_key_n("dGhlIHNhbXBsZSBub25jZQ\0=", 24); /* a NUL */
    /* Non-zero bits after the 128th: not how any encoder writes 16
       bytes, and nettle refuses them. */
    expect_bad_key("AAAAAAAAAAAAAAAAAAAAAB==");
    cr_expect_eq(herd_ws_accept_key(NULL, 0, (char[29]){0}), HERD_ERR);
}

/* ---- frames the server sends ---- */

static void
expect_header(int opcode, int fin, uint64_t len, const uint8_t *want,
              size_t want_len)
{
    uint8_t out[HERD_WS_HEADER_MAX];
    size_t n = herd_ws_frame_header(out, opcode, fin, len);

    cr_assert_eq(n, want_len, "length %llu: header of %zu bytes",
                 (unsigned long long)len, n);
    cr_expect(memcmp(out, want, n) == 0, "length %llu",
              (unsigned long long)len);
}

Test(ws, frame_header)
{
    /* RFC 6455 5.7: unmasked "Hello", its two fragments, 256 bytes and
       64 KiB of binary. */
    expect_header(HERD_WS_TEXT, 1, 5, (const uint8_t[]){0x81, 0x05}, 2);
    expect_header(HERD_WS_TEXT, 0, 3, (const uint8_t[]){0x01, 0x03}, 2);
    expect_header(HERD_WS_CONT, 1, 2, (const uint8_t[]){0x80, 0x02}, 2);
    expect_header(HERD_WS_PING, 1, 5, (const uint8_t[]){0x89, 0x05}, 2);
    expect_header(HERD_WS_BINARY, 1, 256,
                  (const uint8_t[]){0x82, 0x7e, 0x01, 0x00}, 4);
    expect_header(HERD_WS_BINARY, 1, 65536,
                  (const uint8_t[]){0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, 10);
    /* The boundaries of each encoding. */
    expect_header(HERD_WS_BINARY, 1, 0, (const uint8_t[]){0x82, 0x00}, 2);
    expect_header(HERD_WS_BINARY, 1, 125, (const uint8_t[]){0x82, 0x7d}, 2);
    expect_header(HERD_WS_BINARY, 1, 126,
                  (const uint8_t[]){0x82, 0x7e, 0x00, 0x7e}, 4);
    expect_header(HERD_WS_BINARY, 1, 65535,
                  (const uint8_t[]){0x82, 0x7e, 0xff, 0xff}, 4);
    expect_header(HERD_WS_CLOSE, 1, 0x0102030405060708ULL,
                  (const uint8_t[]){0x88, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8}, 10);
}

Test(ws, close_payload)
{
    uint8_t out[HERD_WS_CONTROL_MAX];
    char reason[300];
    size_t n;

    n = herd_ws_close_payload(out, 1000, "bye");
    cr_assert_eq(n, 5);
    cr_expect(memcmp(out,
                     "\x03\xe8"
                     "bye",
                     5) == 0);
    n = herd_ws_close_payload(out, 1009, NULL);
    cr_assert_eq(n, 2);
    cr_expect(out[0] == 0x03 && out[1] == 0xf1);
    cr_expect_eq(herd_ws_close_payload(out, 0, "ignored"), 0);
    cr_expect_eq(herd_ws_close_payload(out, 1005, "ignored"), 0);

    /* Long reasons are cut to fit... */
    memset(reason, 'a', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    n = herd_ws_close_payload(out, 1001, reason);
    cr_expect_eq(n, HERD_WS_CONTROL_MAX);
    /* ...at a character boundary: 2 + 121 + the 2 bytes of "é" is 125,
       but 2 + 122 leaves one byte, less than the 2 "é" needs. */
    memset(reason, 'a', sizeof(reason) - 1);
    memcpy(reason + 121, "\xc3\xa9", 2);
    n = herd_ws_close_payload(out, 1001, reason);
    cr_expect_eq(n, 125);
    cr_expect(herd_utf8_valid(out + 2, n - 2));
    memcpy(reason + 121, "a\xc3\xa9", 3);
    n = herd_ws_close_payload(out, 1001, reason);
    cr_expect_eq(n, 124);
    cr_expect(herd_utf8_valid(out + 2, n - 2));
    memcpy(reason + 120, "\xf0\x9f\x98\x80", 4); /* U+1F600 at 122..125 */
    n = herd_ws_close_payload(out, 1001, reason);
    cr_expect_eq(n, 122);
    cr_expect(herd_utf8_valid(out + 2, n - 2));
}

/* ---- UTF-8 ---- */

struct utf8_case {
    const char *s;
    size_t len;
    int valid;  /* complete and valid */
    size_t bad; /* when invalid: offset of the refused byte, or len when
                   the text only ends inside a character */
};

#define U(lit, valid, bad)                                                     \
    {                                                                          \
        lit, sizeof(lit) - 1, valid, bad                                       \
    }

static const struct utf8_case utf8_cases[] = {
    U("", 1, 0),
    U("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
      1, 0),
    U("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1, 0), /* κόσμε */
    /* first and last of each length (Markus Kuhn's test, Autobahn 6.x) */
    U("\x00", 1, 0),
    U("\x7f", 1, 0),
    U("\xc2\x80", 1, 0),
    U("\xdf\xbf", 1, 0),
    U("\xe0\xa0\x80", 1, 0),
    U("\xef\xbf\xbf", 1, 0),
    U("\xf0\x90\x80\x80", 1, 0),
    U("\xf4\x8f\xbf\xbf", 1, 0),
    /* around the surrogates */
    U("\xed\x9f\xbf", 1, 0),
    U("\xee\x80\x80", 1, 0),
    U("\xef\xbf\xbe", 1, 0), /* U+FFFE: a noncharacter, but valid */
    /* surrogates, paired or not */
    U("\xed\xa0\x80", 0, 1),
    U("\xed\xbf\xbf", 0, 1),
    U("\xed\xa0\x80\xed\xb0\x80", 0, 1),
    U("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
      "edited",
      0, 12),
    /* above U+10FFFF */
    U("\xf4\x90\x80\x80", 0, 1),
    U("\xf5\x80\x80\x80", 0, 0),
    U("\xf7\xbf\xbf\xbf", 0, 0),
    U("\xf8\x88\x80\x80\x80", 0, 0),
    U("\xfc\x84\x80\x80\x80\x80", 0, 0),
    U("\xfe", 0, 0),
    U("\xff", 0, 0),
    /* overlong forms */
    U("\xc0\xaf", 0, 0),
    U("\xc1\xbf", 0, 0),
    U("\xe0\x80\xaf", 0, 1),
    U("\xe0\x9f\xbf", 0, 1),
    U("\xf0\x80\x80\xaf", 0, 1),
    U("\xf0\x8f\xbf\xbf", 0, 1),
    /* stray continuation bytes, and leads without their continuation */
    U("\x80", 0, 0),
    U("\xbf", 0, 0),
    U("a\x80\x80", 0, 1),
    U("\xc2\x41", 0, 1),
    U("\xe2\x82\x41", 0, 2),
    U("\xf0\x9f\x98\x41", 0, 3),
    U("\xc2\xc2\x80", 0, 1),
    /* valid so far, but the text ends inside a character */
    U("\xc2", 0, 1),
    U("\xe2\x82", 0, 2),
    U("\xf0\x9f\x98", 0, 3),
    U("Hello\xf4", 0, 6),
};

Test(ws, utf8_whole_and_byte_by_byte)
{
    size_t i, k, used;
    struct herd_utf8 u;
    int rc;

    for (i = 0; i < HERD_ARRAY_LEN(utf8_cases); i++) {
        const struct utf8_case *c = &utf8_cases[i];
        const uint8_t *p = (const uint8_t *)c->s;

        cr_expect_eq(herd_utf8_valid(p, c->len), c->valid, "case %zu", i);
        herd_utf8_init(&u);
        rc = herd_utf8_feed(&u, p, c->len, &used);
        if (c->valid || c->bad == c->len) {
            cr_expect_eq(rc, HERD_OK, "case %zu", i);
            cr_expect_eq(used, c->len, "case %zu", i);
            cr_expect_eq(herd_utf8_complete(&u), c->valid, "case %zu", i);
        } else {
            cr_expect_eq(rc, HERD_ERR, "case %zu", i);
            cr_expect_eq(used, c->bad, "case %zu: bad at %zu", i, used);
            cr_expect_not(herd_utf8_complete(&u));
            /* sticky */
            cr_expect_eq(herd_utf8_feed(&u, (const uint8_t *)"a", 1, NULL),
                         HERD_ERR);
        }
        /* The same verdict on the same byte, fed one byte at a time. */
        herd_utf8_init(&u);
        for (k = 0; k < c->len; k++)
            if (herd_utf8_feed(&u, p + k, 1, NULL) != HERD_OK)
                break;
        if (c->valid || c->bad == c->len)
            cr_expect_eq(k, c->len, "case %zu", i);
        else
            cr_expect_eq(k, c->bad, "case %zu: byte-wise bad at %zu", i, k);
        cr_expect_eq(herd_utf8_complete(&u), c->valid, "case %zu", i);
    }
}

/* Every code point, encoded, is valid; every surrogate is not. */
Test(ws, utf8_every_code_point)
{
    uint8_t b[4];
    uint32_t cp;
    size_t n;

    for (cp = 0; cp <= 0x10ffff; cp++) {
        if (cp < 0x80) {
            b[0] = (uint8_t)cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (uint8_t)(0xc0 | cp >> 6);
            b[1] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (uint8_t)(0xe0 | cp >> 12);
            b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            b[2] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 3;
        } else {
            b[0] = (uint8_t)(0xf0 | cp >> 18);
            b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
            b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            b[3] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 4;
        }
        if (herd_utf8_valid(b, n) != !(cp >= 0xd800 && cp <= 0xdfff))
            cr_assert_fail("U+%04X", (unsigned)cp);
    }
}

/* ---- the reader: RFC 6455 5.7's examples ---- */

static void
expect_event(const struct outcome *o, int i, int opcode, const void *data,
             size_t len)
{
    cr_assert_gt(o->n, i, "no event %d", i);
    cr_expect_eq(o->opcode[i], opcode, "event %d: opcode %d, want %d", i,
                 o->opcode[i], opcode);
    cr_assert_eq(o->len[i], len, "event %d: %zu bytes, want %zu", i, o->len[i],
                 len);
    cr_expect(memcmp(o->data[i], data, len) == 0, "event %d data", i);
}

Test(ws, rfc_single_masked_text)
{
    static const uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct outcome o = run_all(in, sizeof(in), 1024);

    cr_assert_eq(o.error, 0);
    cr_assert_eq(o.n, 1);
    expect_event(&o, 0, HERD_WS_TEXT, "Hello", 5);
    cr_expect_eq(o.at, sizeof(in));
    outcome_free(&o);
}

Test(ws, rfc_fragmented_text)
{
    uint8_t in[64];
    size_t n = frame_s(in, HERD_WS_TEXT, "Hel");
    struct outcome o;

    n += frame_s(in + n, FIN | HERD_WS_CONT, "lo");
    o = run_all(in, n, 1024);
    cr_assert_eq(o.error, 0);
    cr_assert_eq(o.n, 1);
    expect_event(&o, 0, HERD_WS_TEXT, "Hello", 5);
    outcome_free(&o);
}

Test(ws, rfc_ping_and_masked_pong)
{
    uint8_t in[64];
    size_t n = frame_s(in, FIN | HERD_WS_PING, "Hello");
    /* RFC 6455 5.7's masked pong, as it is written there. */
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct outcome o;

    memcpy(in + n, pong, sizeof(pong));
    n += sizeof(pong);
    o = run_all(in, n, 0); /* control frames ignore max_message */
    cr_assert_eq(o.error, 0);
    cr_assert_eq(o.n, 2);
    expect_event(&o, 0, HERD_WS_PING, "Hello", 5);
    expect_event(&o, 1, HERD_WS_PONG, "Hello", 5);
    outcome_free(&o);
}

Test(ws, rfc_binary_16_and_64_bit_lengths)
{
    static uint8_t payload[65536], in[65536 + 14];
    struct outcome o;
    size_t i, n;

    for (i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    n = frame(in, FIN | HERD_WS_BINARY, payload, 256);
    cr_assert(in[1] == (0x80 | 126) && in[2] == 0x01 && in[3] == 0x00);
    o = run_all(in, n, 256);
    cr_assert_eq(o.error, 0);
    expect_event(&o, 0, HERD_WS_BINARY, payload, 256);
    outcome_free(&o);

    n = frame(in, FIN | HERD_WS_BINARY, payload, sizeof(payload));
    cr_assert(in[1] == (0x80 | 127) && in[7] == 0x01 && in[8] == 0);
    o = run_all_limit(in, n, sizeof(payload), 64);
    cr_assert_eq(o.error, 0);
    cr_assert_eq(o.n, 1);
    expect_event(&o, 0, HERD_WS_BINARY, payload, sizeof(payload));
    outcome_free(&o);

    /* Non-minimal length encodings are allowed (RFC 6455 5.2 says the
       minimal number of bytes MUST be used, but gives no error for it). */
    n = frame_ex(in, FIN | HERD_WS_BINARY, payload, 5, 1);
    cr_assert_eq(n, 2 + 8 + 4 + 5);
    o = run_all(in, n, 5);
    cr_assert_eq(o.error, 0);
    expect_event(&o, 0, HERD_WS_BINARY, payload, 5);
    outcome_free(&o);
}

/* ---- the reader: sequences, at every split point ---- */

Test(ws, ping_inside_fragmented_text)
{
    uint8_t in[256];
    size_t n = 0;
    struct outcome o;

    n += frame_s(in + n, HERD_WS_TEXT, "Hel");
    n += frame_s(in + n, FIN | HERD_WS_PING, "p1");
    n += frame_s(in + n, HERD_WS_CONT, "");
    n += frame_s(in + n, FIN | HERD_WS_PONG, "");
    n += frame_s(in + n, FIN | HERD_WS_PING, "p2");
    n += frame_s(in + n, FIN | HERD_WS_CONT, "lo \xe2\x82\xac");
    n += frame(in + n, FIN | HERD_WS_BINARY, "\x00\xff", 2);
    n += frame_s(in + n, FIN | HERD_WS_TEXT, "");
    n += frame_s(in + n, FIN | HERD_WS_CLOSE,
                 "\x03\xe8"
                 "done");
    o = run_all(in, n, 1024);
    cr_assert_eq(o.error, 0);
    cr_assert_eq(o.n, 7);
    expect_event(&o, 0, HERD_WS_PING, "p1", 2);
    expect_event(&o, 1, HERD_WS_PONG, "", 0);
    expect_event(&o, 2, HERD_WS_PING, "p2", 2);
    expect_event(&o, 3, HERD_WS_TEXT, "Hello \xe2\x82\xac", 9);
    expect_event(&o, 4, HERD_WS_BINARY, "\x00\xff", 2);
    expect_event(&o, 5, HERD_WS_TEXT, "", 0);
    expect_event(&o, 6, HERD_WS_CLOSE, "done", 4);
    cr_expect_eq(o.code[6], 1000);
    cr_expect_eq(o.at, n);
    outcome_free(&o);
}

Test(ws, character_split_across_fragments)
{
    uint8_t in[128];
    size_t n = 0;
    struct outcome o;

    /* U+1F600 in three fragments, the middle one empty. */
    n += frame_s(in + n, HERD_WS_TEXT, "a\xf0\x9f");
    n += frame_s(in + n, HERD_WS_CONT, "");
    n += frame_s(in + n, FIN | HERD_WS_CONT, "\x98\x80z");
    o = run_all(in, n, 1024);
    cr_assert_eq(o.error, 0);
    expect_event(&o, 0, HERD_WS_TEXT, "a\xf0\x9f\x98\x80z", 6);
    outcome_free(&o);
}

Test(ws, event_data_stays_valid_until_the_next_call)
{
    uint8_t in[256];
    size_t n = 0, used;
    struct herd_ws_reader r;
    struct herd_ws_event ev, ev2;

    n += frame_s(in + n, FIN | HERD_WS_TEXT, "first");
    n += frame_s(in + n, FIN | HERD_WS_PING, "ping");
    herd_ws_reader_init(&r, 64);
    cr_assert_eq(herd_ws_read(&r, in, n, &used, &ev), HERD_OK);
    cr_assert_eq(used, 11);
    cr_assert_eq(herd_ws_read(&r, in + used, n - used, &used, &ev2), HERD_OK);
    /* A control frame does not disturb the message buffer. */
    cr_expect(ev.len == 5 && memcmp(ev.data, "first", 5) == 0);
    cr_expect(ev2.len == 4 && memcmp(ev2.data, "ping", 4) == 0);
    cr_assert_eq(herd_ws_read(&r, in, 0, &used, &ev), HERD_AGAIN);
    cr_expect_eq(used, 0);
    herd_ws_reader_free(&r);
    herd_ws_reader_free(&r);
    herd_ws_reader_free(NULL);
}

Test(ws, large_message_then_small)
{
    static uint8_t payload[200000], in[200000 + 64];
    struct herd_ws_reader r;
    struct herd_ws_event ev;
    size_t i, n, off, used;

    for (i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i % 251);
    n = frame(in, HERD_WS_BINARY, payload, 100000);
    n += frame(in + n, FIN | HERD_WS_CONT, payload + 100000, 100000);
    n += frame(in + n, FIN | HERD_WS_BINARY, "small", 5);
    herd_ws_reader_init(&r, sizeof(payload));
    /* In reads of 1000 bytes, as from a socket. */
    for (off = 0; off < n; off += used) {
        size_t piece = n - off < 1000 ? n - off : 1000;
        int rc = herd_ws_read(&r, in + off, piece, &used, &ev);

        cr_assert_neq(rc, HERD_ERR, "%s", ev.error);
        if (rc == HERD_OK && ev.len == sizeof(payload))
            cr_assert(memcmp(ev.data, payload, sizeof(payload)) == 0);
        else if (rc == HERD_OK)
            cr_assert(ev.len == 5 && memcmp(ev.data, "small", 5) == 0);
    }
    cr_expect_leq(r.cap, sizeof(payload));
    herd_ws_reader_free(&r);
}

/* ---- the reader: protocol errors ---- */

Test(ws, unmasked_frames)
{
    static const uint8_t in[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};

    expect_error(in, sizeof(in), 1024, 1002, 2);
}

Test(ws, rsv_bits)
{
    uint8_t in[32];
    size_t n;

    n = frame_s(in, FIN | 0x40 | HERD_WS_TEXT, "x");
    expect_error(in, n, 1024, 1002, 1);
    n = frame_s(in, FIN | 0x20 | HERD_WS_BINARY, "x");
    expect_error(in, n, 1024, 1002, 1);
    n = frame_s(in, FIN | 0x10 | HERD_WS_PING, "x");
    expect_error(in, n, 1024, 1002, 1);
    /* After a good frame: the verdict falls on the bad one's first byte. */
    n = frame_s(in, FIN | HERD_WS_TEXT, "ok");
    n += frame_s(in + n, FIN | 0x70 | HERD_WS_TEXT, "x");
    expect_error(in, n, 1024, 1002, 9);
}

Test(ws, unknown_opcodes)
{
    static const uint8_t ops[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
    uint8_t in[32];
    size_t i, n;

    for (i = 0; i < sizeof(ops); i++) {
        n = frame_s(in, (uint8_t)(FIN | ops[i]), "x");
        expect_error(in, n, 1024, 1002, 1);
        n = frame_s(in, ops[i], "");
        expect_error(in, n, 1024, 1002, 1);
    }
}

Test(ws, control_frames_fragmented_or_too_long)
{
    uint8_t in[300], big[126];
    struct outcome o;
    size_t n;

    memset(big, 'x', sizeof(big));
    n = frame_s(in, HERD_WS_PING, "x");
    expect_error(in, n, 1024, 1002, 1);
    n = frame_s(in, HERD_WS_CLOSE, "");
    expect_error(in, n, 1024, 1002, 1);
    n = frame(in, FIN | HERD_WS_PING, big, 126);
    expect_error(in, n, 1024, 1002, 2);
    n = frame(in, FIN | HERD_WS_PONG, big, 125);
    o = run(in, n, 0, 0, 0);
    cr_expect_eq(o.n, 1);
    outcome_free(&o);
    /* A 64-bit length for a control frame, even a small one. */
    n = frame_ex(in, FIN | HERD_WS_PONG, big, 1, 1);
    expect_error(in, n, 1024, 1002, 2);
    /* A 126-byte close. */
    n = frame(in, FIN | HERD_WS_CLOSE, big, 126);
    expect_error(in, n, 1024, 1002, 2);
}

Test(ws, continuation_rules)
{
    uint8_t in[64];
    size_t n;

    n = frame_s(in, FIN | HERD_WS_CONT, "x");
    expect_error(in, n, 1024, 1002, 1);
    n = frame_s(in, HERD_WS_CONT, "x");
    expect_error(in, n, 1024, 1002, 1);
    /* A whole message ends it: a continuation after it is refused. */
    n = frame_s(in, FIN | HERD_WS_TEXT, "a");
    n += frame_s(in + n, FIN | HERD_WS_CONT, "b");
    expect_error(in, n, 1024, 1002, 8);
    /* A new data frame inside a fragmented message. */
    n = frame_s(in, HERD_WS_TEXT, "a");
    n += frame_s(in + n, FIN | HERD_WS_TEXT, "b");
    expect_error(in, n, 1024, 1002, 8);
    n = frame_s(in, HERD_WS_BINARY, "a");
    n += frame_s(in + n, FIN | HERD_WS_PING, "");
    n += frame_s(in + n, HERD_WS_BINARY, "b");
    expect_error(in, n, 1024, 1002, 14);
}

Test(ws, length_with_top_bit)
{
    static const uint8_t in[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x05,
                                 1,    2,    3,    4, 1, 2, 3, 4, 5};

    expect_error(in, sizeof(in), SIZE_MAX, 1002, 14);
}

Test(ws, message_too_big_from_the_header)
{
    static const uint8_t huge[] = {0x82, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 1,    2,    3,    4};
    uint8_t in[512], payload[200];
    size_t n;
    struct outcome o;

    memset(payload, 'a', sizeof(payload));
    /* 2^40 bytes announced, none sent: refused on the header. */
    expect_error(huge, sizeof(huge), 1 << 20, 1009, 14);
    /* One byte over, in one frame... */
    n = frame(in, FIN | HERD_WS_TEXT, payload, 101);
    expect_error(in, n, 100, 1009, 6);
    expect_error(in, 6, 100, 1009, 6);
    /* ...or over fragments, refused on the header of the one that
       would cross the limit. */
    n = frame(in, HERD_WS_TEXT, payload, 60);
    n += frame(in + n, FIN | HERD_WS_PING, payload, 10);
    n += frame(in + n, FIN | HERD_WS_CONT, payload, 41);
    expect_error(in, n, 100, 1009, 66 + 16 + 6);
    /* Exactly the limit is fine; so is an empty message with a limit of
       0, and control frames do not count. */
    n = frame(in, HERD_WS_TEXT, payload, 60);
    n += frame(in + n, FIN | HERD_WS_CONT, payload, 40);
    o = run_all(in, n, 100);
    cr_expect_eq(o.error, 0);
    expect_event(&o, 0, HERD_WS_TEXT, payload, 100);
    outcome_free(&o);
    n = frame(in, FIN | HERD_WS_BINARY, payload, 0);
    n += frame(in + n, FIN | HERD_WS_PING, payload, 125);
    o = run_all(in, n, 0);
    cr_expect_eq(o.error, 0);
    cr_expect_eq(o.n, 2);
    outcome_free(&o);
    n = frame(in, FIN | HERD_WS_BINARY, payload, 1);
    expect_error(in, n, 0, 1009, 6);
}

Test(ws, invalid_utf8_in_text)
{
    uint8_t in[128];
    struct outcome o;
    size_t n;

    /* Refused on the bad byte, with the message unfinished: this frame
       is not final, and its payload is not all there. */
    n = frame_s(in, HERD_WS_TEXT,
                "ab\xff"
                "cdef");
    expect_error(in, 6 + 3, 1024, 1007, 9);
    expect_error(in, n, 1024, 1007, 9);
    /* In a later fragment, after a ping. */
    n = frame_s(in, HERD_WS_TEXT, "\xce\xba\xe1\xbd\xb9");
    n += frame_s(in + n, FIN | HERD_WS_PING, "");
    n += frame_s(in + n, FIN | HERD_WS_CONT, "\xcf\x83\xed\xa0\x80");
    expect_error(in, n, 1024, 1007, 11 + 6 + 6 + 4);
    /* 0xF4 0x90: above U+10FFFF. */
    n = frame_s(in, FIN | HERD_WS_TEXT, "\xf4\x90\x80\x80");
    expect_error(in, n, 1024, 1007, 8);
    /* Overlong. */
    n = frame_s(in, FIN | HERD_WS_TEXT, "\xc0\xaf");
    expect_error(in, n, 1024, 1007, 7);
    /* Valid so far, but the message ends inside a character. */
    n = frame_s(in, FIN | HERD_WS_TEXT, "\xe2\x82");
    expect_error(in, n, 1024, 1007, n);
    n = frame_s(in, HERD_WS_TEXT, "ok\xf0\x9f");
    n += frame_s(in + n, FIN | HERD_WS_CONT, "\x98");
    expect_error(in, n, 1024, 1007, n);
    /* Binary messages are not checked. */
    n = frame_s(in, FIN | HERD_WS_BINARY, "\xff\xc0\xaf\xed\xa0\x80");
    o = run(in, n, 0, 0, 1024);
    cr_expect_eq(o.error, 0);
    cr_expect_eq(o.n, 1);
    outcome_free(&o);
}

static void
expect_close(const char *payload, size_t len, uint16_t code, uint16_t want)
{
    uint8_t in[256];
    size_t n = frame(in, FIN | HERD_WS_CLOSE, payload, len);
    struct outcome o = run_all(in, n, 0);

    if (want == 0) {
        cr_expect_eq(o.error, 0, "close %u refused with %u", code, o.error);
        cr_assert_eq(o.n, 1);
        cr_expect_eq(o.opcode[0], HERD_WS_CLOSE);
        cr_expect_eq(o.code[0], code);
        cr_expect_eq(o.len[0], len > 2 ? len - 2 : 0);
        cr_expect(memcmp(o.data[0], payload + 2, o.len[0]) == 0);
    } else {
        cr_expect_eq(o.error, want, "close %u: error %u, want %u", code,
                     o.error, want);
        cr_expect_eq(o.at, n);
    }
    outcome_free(&o);
}

static void
expect_close_code(unsigned code, int valid)
{
    char p[2] = {(char)(code >> 8), (char)code};

    expect_close(p, 2, (uint16_t)code, valid ? 0 : 1002);
}

Test(ws, close_payloads)
{
    static const unsigned good[] = {1000, 1001, 1002, 1003, 1007, 1008,
                                    1009, 1010, 1011, 1012, 1013, 1014,
                                    3000, 3999, 4000, 4999};
    static const unsigned bad[] = {0,    1,    999,  1004, 1005, 1006, 1015,
                                   1016, 1100, 2000, 2999, 5000, 5001, 65535};
    size_t i;

    expect_close("", 0, 1005, 0); /* no code */
    expect_close("\x03", 1, 0, 1002);
    for (i = 0; i < HERD_ARRAY_LEN(good); i++)
        expect_close_code(good[i], 1);
    for (i = 0; i < HERD_ARRAY_LEN(bad); i++)
        expect_close_code(bad[i], 0);
    expect_close("\x03\xe8Hello-\xc2\xb5@\xc3\x9f", 13, 1000, 0);
    expect_close("\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed"
                 "\xa0\x80",
                 16, 1000, 1002);
    expect_close("\x03\xe8\xe2\x82", 4, 1000, 1002);
}

Test(ws, errors_are_sticky)
{
    static const uint8_t in[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    struct herd_ws_reader r;
    struct herd_ws_event ev;
    size_t used;
    uint8_t good[16];
    size_t n = frame_s(good, FIN | HERD_WS_TEXT, "x");

    herd_ws_reader_init(&r, 64);
    cr_assert_eq(herd_ws_read(&r, in, sizeof(in), &used, &ev), HERD_ERR);
    cr_expect_eq(ev.close_code, 1002);
    cr_expect_str_eq(ev.error, "unmasked client frame");
    cr_assert_eq(herd_ws_read(&r, good, n, &used, &ev), HERD_ERR);
    cr_expect_eq(used, 0);
    cr_expect_eq(ev.close_code, 1002);
    herd_ws_reader_free(&r);
}

/* ---- random input never crashes ---- */

/* xorshift64*: the same sequence everywhere, so failures reproduce. */
static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* What the random inputs came to, to check they reach every verdict. */
static unsigned fuzz_events, fuzz_1002, fuzz_1007, fuzz_1009;

/* Feed in[0..len) in random pieces; check the contract holds. */
static void
feed_randomly(const uint8_t *in, size_t len, size_t max, uint64_t *seed)
{
    struct herd_ws_reader r;
    struct herd_ws_event ev;
    size_t off = 0, piece, used;
    int rc;

    herd_ws_reader_init(&r, max);
    while (off < len) {
        piece = 1 + (size_t)(rnd(seed) % (len - off));
        rc = herd_ws_read(&r, in + off, piece, &used, &ev);
        cr_assert_leq(used, piece);
        if (rc == HERD_ERR) {
            if (ev.close_code == 1002)
                fuzz_1002++;
            else if (ev.close_code == 1007)
                fuzz_1007++;
            else if (ev.close_code == 1009)
                fuzz_1009++;
            else
                cr_assert_fail("close code %u", ev.close_code);
            break;
        }
        off += used;
        if (rc == HERD_AGAIN) {
            cr_assert_eq(used, piece);
            continue;
        }
        cr_assert_eq(rc, HERD_OK);
        fuzz_events++;
        switch (ev.opcode) {
        case HERD_WS_TEXT:
            cr_assert(herd_utf8_valid(ev.data, ev.len));
            /* fall through */
        case HERD_WS_BINARY:
            cr_assert_leq(ev.len, max);
            break;
        case HERD_WS_CLOSE:
            cr_assert_leq(ev.len, 123);
            break;
        case HERD_WS_PING:
        case HERD_WS_PONG:
            cr_assert_leq(ev.len, 125);
            break;
        default:
            cr_assert_fail("opcode %d", ev.opcode);
        }
        if (ev.len > 0) /* touch every byte, for the sanitizers */
            cr_assert_neq(memchr(ev.data, ev.data[ev.len - 1], ev.len), NULL);
    }
    herd_ws_reader_free(&r);
}

Test(ws, random_bytes)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint8_t in[512];
    size_t len, i;
    int round;

    for (round = 0; round < 5000; round++) {
        len = (size_t)(rnd(&seed) % sizeof(in));
        for (i = 0; i < len; i++)
            in[i] = (uint8_t)rnd(&seed);
        /* Set the mask bit often, or nearly every input stops at once. */
        if (len > 1 && rnd(&seed) % 4 != 0)
            in[1] |= 0x80;
        feed_randomly(in, len, (size_t)(rnd(&seed) % 300), &seed);
    }
    cr_expect_gt(fuzz_1002, 1000, "%u protocol errors", fuzz_1002);
}

/* Mostly well-formed frame sequences with a few bytes flipped. */
Test(ws, random_frames_mutated)
{
    static const uint8_t ops[] = {HERD_WS_CONT,  HERD_WS_TEXT, HERD_WS_BINARY,
                                  HERD_WS_CLOSE, HERD_WS_PING, HERD_WS_PONG};
    uint64_t seed = 42;
    uint8_t in[4096], payload[300];
    size_t n, plen, i;
    int round, frames, f, flips;

    for (round = 0; round < 3000; round++) {
        n = 0;
        frames = 1 + (int)(rnd(&seed) % 8);
        for (f = 0; f < frames; f++) {
            uint8_t op = ops[rnd(&seed) % sizeof(ops)];
            uint8_t b0 = (uint8_t)(op | (rnd(&seed) % 3 ? FIN : 0));

            plen = (size_t)(rnd(&seed) % ((op & 8) ? 126 : 300));
            for (i = 0; i < plen; i++) /* mostly ASCII, some UTF-8 */
                payload[i] =
                    (uint8_t)(rnd(&seed) % 8 ? 'a' + i % 26 : rnd(&seed));
            n += frame_ex(in + n, b0, payload, plen, rnd(&seed) % 16 == 0);
        }
        flips = (int)(rnd(&seed) % 4);
        while (flips-- > 0)
            in[rnd(&seed) % n] ^= (uint8_t)(1u << (rnd(&seed) % 8));
        feed_randomly(in, n, (size_t)(rnd(&seed) % 1000), &seed);
    }
    cr_expect_gt(fuzz_events, 1000, "%u events", fuzz_events);
    cr_expect_gt(fuzz_1002, 100, "%u protocol errors", fuzz_1002);
    cr_expect_gt(fuzz_1007, 10, "%u UTF-8 errors", fuzz_1007);
    cr_expect_gt(fuzz_1009, 10, "%u size errors", fuzz_1009);
}
