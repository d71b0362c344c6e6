/* test_sse.c: Server-Sent Events rendering, read back by a spec parser. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

/* What the client dispatches: the WHATWG "interpret an event stream". */
struct event {
    char type[64];
    char id[32];
    char *data; /* malloc'd, NUL-terminated; may hold CR-free bytes */
    size_t len;
};

struct stream {
    struct event ev[8];
    int n;
    long retry; /* -1: none */
    int comments;
};

static void
stream_free(struct stream *s)
{
    int i;

    for (i = 0; i < s->n; i++)
        free(s->ev[i].data);
}

/*
 * Parse p[0..len) as a whole stream, as the spec's event-stream
 * interpretation does: lines end at CRLF, LF or CR; "data" appends the
 * value and LF; an empty line dispatches when data is not empty, minus
 * the last LF. A line must be complete: the stream ends with a break.
 */
static void
parse(const char *p, size_t len, struct stream *s)
{
    char *data = malloc(len + 1), type[64] = "", id[32] = "";
    size_t dlen = 0, i = 0, start, end, colon, v;

    cr_assert_not_null(data);
    memset(s, 0, sizeof(*s));
    s->retry = -1;
    while (i < len) {
        start = i;
        while (i < len && p[i] != '\r' && p[i] != '\n')
            i++;
        cr_assert_lt(i, len, "unterminated line at %zu", start);
        end = i;
        if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
            i++;
        i++;
        if (end == start) {
            if (dlen > 0) {
                cr_assert_lt(s->n, 8);
                s->ev[s->n].data = malloc(dlen);
                cr_assert_not_null(s->ev[s->n].data);
                memcpy(s->ev[s->n].data, data, dlen - 1);
                s->ev[s->n].data[dlen - 1] = '\0';
                s->ev[s->n].len = dlen - 1;
                strcpy(s->ev[s->n].type, type[0] ? type : "message");
                strcpy(s->ev[s->n].id, id);
                s->n++;
            }
            dlen = 0;
            type[0] = '\0';
            continue;
        }
        if (p[start] == ':') {
            s->comments++;
            continue;
        }
        for (colon = start; colon < end && p[colon] != ':'; colon++)
            ;
        v = colon < end ? colon + 1 : end;
        if (v < end && p[v] == ' ')
            v++;
#define FIELD(name)                                                            \
    (colon - start == strlen(name) &&                                          \
     memcmp(p + start, name, colon - start) == 0)
        if (FIELD("data")) {
            memcpy(data + dlen, p + v, end - v);
            dlen += end - v;
            data[dlen++] = '\n';
        } else if (FIELD("event")) {
            cr_assert_lt(end - v, sizeof(type));
            memcpy(type, p + v, end - v);
            type[end - v] = '\0';
        } else if (FIELD("id")) {
            cr_assert_lt(end - v, sizeof(id));
            memcpy(id, p + v, end - v);
            id[end - v] = '\0';
        } else if (FIELD("retry")) {
            s->retry = strtol(p + v, NULL, 10);
        } else {
            cr_assert_fail("unknown field %.*s", (int)(colon - start),
                           p + start);
        }
#undef FIELD
    }
    free(data);
}

/* Render one event and expect exactly want. */
static void
renders(uint64_t id, const char *event, const char *data, size_t len,
        const char *want)
{
    struct herd_buf b = {0};

    cr_assert_eq(herd_sse_event(&b, id, event, data, len), HERD_OK);
    cr_assert_eq(b.len, strlen(want), "got %zu bytes: %.*s", b.len, (int)b.len,
                 b.data);
    cr_assert_eq(memcmp(b.data, want, b.len), 0, "got: %.*s", (int)b.len,
                 b.data);
    herd_buf_free(&b);
}

#define RENDERS(id, ev, lit, want) renders(id, ev, lit, sizeof(lit) - 1, want)

Test(sse, plain_event)
{
    RENDERS(7, NULL, "hello", "id: 7\ndata: hello\n\n");
    RENDERS(7, "", "hello", "id: 7\ndata: hello\n\n");
    RENDERS(18446744073709551615ULL, "tick", "x",
            "id: 18446744073709551615\nevent: tick\ndata: x\n\n");
}

Test(sse, id_zero_leaves_the_id_out)
{
    RENDERS(0, NULL, "x", "data: x\n\n");
    RENDERS(0, "missed", "", "event: missed\ndata: \n\n");
}

Test(sse, empty_data_is_one_empty_line)
{
    RENDERS(1, NULL, "", "id: 1\ndata: \n\n");
    renders(1, NULL, NULL, 0, "id: 1\ndata: \n\n");
}

Test(sse, line_breaks)
{
    RENDERS(1, NULL, "\n", "id: 1\ndata: \ndata: \n\n");
    RENDERS(1, NULL, "\r\n\r\n", "id: 1\ndata: \ndata: \ndata: \n\n");
    RENDERS(1, NULL, "\r", "id: 1\ndata: \ndata: \n\n");
    RENDERS(1, NULL, "\r\r", "id: 1\ndata: \ndata: \ndata: \n\n");
    RENDERS(1, NULL, "\n\r", "id: 1\ndata: \ndata: \ndata: \n\n");
    RENDERS(1, NULL, "a\nb", "id: 1\ndata: a\ndata: b\n\n");
    RENDERS(1, NULL, "a\r\nb", "id: 1\ndata: a\ndata: b\n\n");
    RENDERS(1, NULL, "a\rb", "id: 1\ndata: a\ndata: b\n\n");
    RENDERS(1, NULL, "a\n", "id: 1\ndata: a\ndata: \n\n");
    RENDERS(1, NULL, "\na", "id: 1\ndata: \ndata: a\n\n");
    RENDERS(1, NULL, "a\r", "id: 1\ndata: a\ndata: \n\n");
}

Test(sse, leading_spaces_and_colons_survive)
{
    RENDERS(1, NULL, " a", "id: 1\ndata:  a\n\n");
    RENDERS(1, NULL, ":x\n: y", "id: 1\ndata: :x\ndata: : y\n\n");
}

Test(sse, appends_to_what_is_there)
{
    const char *want = "abcid: 2\ndata: d\n\n: ka\n\n";
    struct herd_buf b = {0};

    cr_assert_eq(herd_buf_append(&b, "abc", 3), HERD_OK);
    cr_assert_eq(herd_sse_event(&b, 2, NULL, "d", 1), HERD_OK);
    cr_assert_eq(herd_sse_comment(&b, "ka"), HERD_OK);
    cr_assert_eq(b.len, strlen(want));
    cr_assert_eq(memcmp(b.data, want, b.len), 0);
    herd_buf_free(&b);
}

Test(sse, refusals_leave_the_buffer_alone)
{
    struct herd_buf b = {0};

    cr_assert_eq(herd_buf_append(&b, "keep", 4), HERD_OK);
    cr_assert_eq(herd_sse_event(&b, 1, NULL, "a\0b", 3), HERD_ERR);
    cr_assert_eq(herd_sse_event(&b, 1, NULL, "\0", 1), HERD_ERR);
    cr_assert_eq(herd_sse_event(&b, 1, "a\nb", "x", 1), HERD_ERR);
    cr_assert_eq(herd_sse_event(&b, 1, "a\r", "x", 1), HERD_ERR);
    cr_assert_eq(herd_sse_event(&b, 1, NULL, NULL, 1), HERD_ERR);
    cr_assert_eq(herd_sse_comment(&b, "a\nb"), HERD_ERR);
    cr_assert_eq(herd_sse_comment(&b, "\r"), HERD_ERR);
    cr_assert_eq(b.len, 4);
    cr_assert_eq(memcmp(b.data, "keep", 4), 0);
    herd_buf_free(&b);
}

Test(sse, comment_and_retry)
{
    struct herd_buf b = {0};
    struct stream s;

    cr_assert_eq(herd_sse_comment(&b, NULL), HERD_OK);
    cr_assert_eq(herd_sse_comment(&b, ""), HERD_OK);
    cr_assert_eq(herd_sse_comment(&b, "keep-alive"), HERD_OK);
    cr_assert_eq(herd_sse_retry(&b, 0), HERD_OK);
    cr_assert_eq(herd_sse_retry(&b, 4294967295U), HERD_OK);
    cr_assert_eq(b.len, 3 + 3 + 14 + 10 + 19);
    cr_assert_eq(memcmp(b.data,
                        ":\n\n:\n\n: keep-alive\n\nretry: 0\n\n"
                        "retry: 4294967295\n\n",
                        b.len),
                 0);
    parse(b.data, b.len, &s);
    cr_assert_eq(s.n, 0, "comments and retry dispatch nothing");
    cr_assert_eq(s.comments, 3);
    cr_assert_eq(s.retry, 4294967295L);
    herd_buf_free(&b);
}

Test(sse, long_data)
{
    size_t len = 1 << 20, i;
    char *data = malloc(len);
    struct herd_buf b = {0};
    struct stream s;

    cr_assert_not_null(data);
    for (i = 0; i < len; i++)
        data[i] = i % 1000 == 999 ? '\n' : (char)('a' + i % 26);
    cr_assert_eq(herd_sse_event(&b, 42, "big", data, len), HERD_OK);
    cr_assert_leq(b.len, len + 7 * (len / 1000 + 1) + 32);
    parse(b.data, b.len, &s);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.ev[0].len, len);
    cr_assert_eq(memcmp(s.ev[0].data, data, len), 0);
    cr_assert_str_eq(s.ev[0].id, "42");
    cr_assert_str_eq(s.ev[0].type, "big");
    stream_free(&s);
    herd_buf_free(&b);
    free(data);
}

/* data with every CRLF and lone CR turned into LF: what the client sees. */
static size_t
normalise(const char *in, size_t len, char *out)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '\r') {
            out[n++] = '\n';
            if (i + 1 < len && in[i + 1] == '\n')
                i++;
        } else {
            out[n++] = in[i];
        }
    }
    return n;
}

/*
 * Random payloads of random bytes (no NUL; line breaks made common), three
 * events in a stream, parsed back: each event's data is the payload with
 * its line breaks as LF; payloads without CR come back byte for byte.
 */
Test(sse, random_payloads_round_trip)
{
    static const char breaks[] = "\r\n";
    char data[3][600], want[600], type[16];
    size_t len[3], wlen, i;
    struct herd_buf b = {0};
    struct stream s;
    int round, k, with_cr;

    srand(8);
    for (round = 0; round < 3000; round++) {
        b.len = 0;
        with_cr = round % 2;
        for (k = 0; k < 3; k++) {
            len[k] = (size_t)rand() % sizeof(data[k]);
            for (i = 0; i < len[k]; i++) {
                do
                    data[k][i] = rand() % 4 == 0 ? breaks[rand() % 2]
                                                 : (char)(rand() % 256);
                while (data[k][i] == '\0' || (!with_cr && data[k][i] == '\r'));
            }
            snprintf(type, sizeof(type), "t%d", k);
            cr_assert_eq(herd_sse_event(&b, (uint64_t)round * 3 + k + 1,
                                        k == 1 ? NULL : type, data[k], len[k]),
                         HERD_OK);
        }
        parse(b.data, b.len, &s);
        cr_assert_eq(s.n, 3, "round %d", round);
        for (k = 0; k < 3; k++) {
            wlen = normalise(data[k], len[k], want);
            if (!with_cr)
                cr_assert_eq(wlen, len[k]);
            cr_assert_eq(s.ev[k].len, wlen, "round %d event %d", round, k);
            cr_assert_eq(memcmp(s.ev[k].data, want, wlen), 0,
                         "round %d event %d", round, k);
            cr_assert_eq(strtoull(s.ev[k].id, NULL, 10),
                         (uint64_t)round * 3 + k + 1);
            snprintf(type, sizeof(type), "t%d", k);
            cr_assert_str_eq(s.ev[k].type, k == 1 ? "message" : type);
        }
        stream_free(&s);
    }
    herd_buf_free(&b);
}

static void
id_ok(const char *v, uint64_t want)
{
    uint64_t id = 12345;

    cr_assert_eq(herd_sse_parse_last_event_id(v, strlen(v), &id), HERD_OK, "%s",
                 v);
    cr_assert_eq(id, want, "%s", v);
}

static void
id_bad(const char *v, size_t len)
{
    uint64_t id = 12345;

    cr_assert_eq(herd_sse_parse_last_event_id(v, len, &id), HERD_ERR, "%.*s",
                 (int)len, v);
    cr_assert_eq(id, 12345, "changed on failure");
}

#define ID_BAD(lit) id_bad(lit, sizeof(lit) - 1)

Test(sse, last_event_id)
{
    id_ok("0", 0);
    id_ok("1", 1);
    id_ok("1234567890", 1234567890);
    id_ok("18446744073709551615", UINT64_MAX);
    ID_BAD("");
    ID_BAD("18446744073709551616");
    ID_BAD("99999999999999999999");
    ID_BAD("100000000000000000000");
    ID_BAD("01");
    ID_BAD("00");
    ID_BAD("+1");
    ID_BAD("-1");
    ID_BAD(" 1");
    ID_BAD("1 ");
    ID_BAD("1a");
    ID_BAD("0x10");
    ID_BAD("1\0");
    ID_BAD("1.5");
    id_bad(NULL, 0);
}
