/* test_http1.c: the HTTP/1.1 engine from memory: verdicts at every split. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "drive.h"

static struct drive d;

static void
setup(void)
{
    /* A small scratch buffer, so that input often moves to the
       connection's own buffer between reads. */
    cr_assert_eq(drive_init(&d, HH_CASES_YAML, 16), 0);
}

static void
teardown(void)
{
    drive_free(&d);
}

TestSuite(http1, .init = setup, .fini = teardown, .timeout = 60);

/* What a whole run produced, to compare other runs with. */
struct record {
    struct herd_buf out, trace;
    enum herd_http1_state state;
    int status;
};

static void
record(struct record *r, enum herd_http1_state st)
{
    r->out.len = r->trace.len = 0;
    cr_assert_eq(herd_buf_append(&r->out, d.out.data, d.out.len), HERD_OK);
    cr_assert_eq(herd_buf_append(&r->trace, d.trace.data, d.trace.len),
                 HERD_OK);
    r->state = st;
    r->status = d.last_status;
}

static void
same(const struct record *r, enum herd_http1_state st, const char *name,
     const char *how)
{
    cr_assert(st == r->state && d.out.len == r->out.len &&
                  memcmp(d.out.data, r->out.data, d.out.len) == 0 &&
                  d.trace.len == r->trace.len &&
                  memcmp(d.trace.data, r->trace.data, d.trace.len) == 0,
              "%s: %s differs from one piece:\n%.*s\n---- vs ----\n%.*s", name,
              how, (int)d.trace.len, d.trace.data, (int)r->trace.len,
              r->trace.data);
}

/*
 * Run in[0..len) whole, then cut at every offset, then byte by byte, then
 * with the output "blocking" every other flush: each run must give the
 * same responses and the same record of requests. Returns the verdict.
 */
static int
every_split(const char *name, const char *in, size_t len, struct record *r)
{
    static size_t cuts[64 * 1024];
    enum herd_http1_state st;
    size_t i;

    st = drive_run(&d, in, len, NULL, 0, 1);
    record(r, st);
    for (i = 1; i < len; i++) {
        st = drive_run(&d, in, len, &i, 1, 1);
        same(r, st, name, "one cut");
    }
    cr_assert_leq(len, sizeof(cuts) / sizeof(cuts[0]));
    for (i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    st = drive_run(&d, in, len, cuts, len ? len - 1 : 0, 1);
    same(r, st, name, "byte by byte");
    d.again_mask = 0x55555555u;
    st = drive_run(&d, in, len, cuts, len ? len - 1 : 0, 1);
    same(r, st, name, "byte by byte, output blocking");
    st = drive_run(&d, in, len, NULL, 0, 1);
    same(r, st, name, "output blocking");
    d.again_mask = 0;
    return r->status;
}

Test(http1, every_case_same_verdict_at_every_split)
{
    static char buf[64 * 1024];
    struct record r = {{0}, {0}, HERD_HTTP1_IDLE, 0};
    const char *in;
    size_t i, len;

    for (i = 0; i < hh_ncases; i++) {
        const struct hh_case *c = &hh_cases[i];

        in = hh_case_bytes(c, buf, sizeof(buf), &len);
        cr_expect_eq(every_split(c->name, in, len, &r), c->status,
                     "%s: status %d, want %d", c->name, r.status, c->status);
        cr_expect_eq(r.state == HERD_HTTP1_CLOSING, c->closes,
                     "%s: closing is %d", c->name,
                     r.state == HERD_HTTP1_CLOSING);
    }
    herd_buf_free(&r.out);
    herd_buf_free(&r.trace);
}

/* b's bytes NUL-terminated, for substring checks. */
static const char *
text(struct herd_buf *b)
{
    cr_assert_eq(herd_buf_append(b, "", 1), HERD_OK);
    b->len--;
    return b->data;
}

Test(http1, pipelined_in_order_with_bodies)
{
    const char in[] =
        HH_GET "\r\n" HH_POST "Content-Length: 3\r\n\r\nabc" HH_CHUNKED
               "2\r\nde\r\n1;x=y\r\nf\r\n0\r\nT: 1\r\n\r\n"
               "GET /none HTTP/1.1\r\nHost: x\r\n\r\n";
    struct record r = {{0}, {0}, HERD_HTTP1_IDLE, 0};

    cr_expect_eq(every_split("pipelined", in, sizeof(in) - 1, &r), 404);
    cr_expect_eq(r.state, HERD_HTTP1_IDLE);
    cr_expect(strstr(text(&r.trace), "REQ GET 11 /\nH Host: x\nB 0 \nS 200\n"
                                     "REQ POST 11 /\n") != NULL,
              "%s", text(&r.trace));
    cr_expect(strstr(text(&r.trace), "B 3 abc\nS 200\n") != NULL);
    /* Chunk data is the body; the trailer is not a header field. */
    cr_expect(strstr(text(&r.trace), "H Transfer-Encoding: chunked\nB 3 def\n"
                                     "S 200\nREQ GET 11 /none\n") != NULL,
              "%s", text(&r.trace));
    cr_expect(strstr(text(&r.trace), "H T:") == NULL, "a trailer was merged");
    herd_buf_free(&r.out);
    herd_buf_free(&r.trace);
}

Test(http1, interim_100_continue_before_the_answer)
{
    const char in[] = HH_POST "Expect: 100-continue\r\nContent-Length: 2\r\n"
                              "\r\nhi";
    struct record r = {{0}, {0}, HERD_HTTP1_IDLE, 0};
    const char *out, *cont, *ok;

    cr_expect_eq(every_split("expect", in, sizeof(in) - 1, &r), 200);
    out = text(&r.out);
    cont = strstr(out, "HTTP/1.1 100 Continue\r\n\r\n");
    ok = strstr(out, "HTTP/1.1 200 OK\r\n");
    cr_expect(cont == out && ok != NULL, "%s", out);
    /* No body framed: nothing to continue. */
    drive_run(&d, HH_GET "Expect: 100-continue\r\n\r\n",
              sizeof(HH_GET "Expect: 100-continue\r\n\r\n") - 1, NULL, 0, 0);
    cr_expect(strstr(text(&d.out), "100 Continue") == NULL);
    herd_buf_free(&r.out);
    herd_buf_free(&r.trace);
}

Test(http1, timeout_answers_408_only_mid_request)
{
    cr_expect_eq(drive_run(&d, "GET / HT", 8, NULL, 0, 1), HERD_HTTP1_CLOSING);
    cr_expect_eq(d.last_status, 408);
    cr_expect_eq(drive_run(&d, HH_POST "Content-Length: 5\r\n\r\nab",
                           sizeof(HH_POST "Content-Length: 5\r\n\r\nab") - 1,
                           NULL, 0, 1),
                 HERD_HTTP1_CLOSING);
    cr_expect_eq(d.last_status, 408);
    /* Between requests a deadline is not an error: just close. */
    cr_expect_eq(
        drive_run(&d, HH_GET "\r\n", sizeof(HH_GET "\r\n") - 1, NULL, 0, 1),
        HERD_HTTP1_IDLE);
    cr_expect_eq(d.last_status, 200);
    cr_expect_eq(drive_run(&d, "", 0, NULL, 0, 1), HERD_HTTP1_IDLE);
    cr_expect_eq(d.last_status, 0);
}

Test(http1, states_for_the_timers)
{
    drive_begin(&d);
    cr_expect_eq(herd_http1_state(&d.h), HERD_HTTP1_IDLE);
    cr_expect_not(herd_http1_holds_input(&d.h));
    cr_expect_eq(drive_feed(&d, "POST / HTTP/1.1\r\nHost: x\r\n", 26),
                 HERD_HTTP1_HEAD);
    cr_expect_eq(drive_feed(&d, "Content-Length: 4\r\n\r\nab", 23),
                 HERD_HTTP1_BODY);
    cr_expect_eq(herd_http1_body_bytes(&d.h), 2);
    /* Only the head is kept while the body arrives. */
    cr_expect(herd_http1_holds_input(&d.h));
    cr_expect_eq(drive_feed(&d, "cdGE", 4), HERD_HTTP1_HEAD);
    cr_expect_eq(d.last_status, 200);
    cr_expect_eq(drive_feed(&d, "T / HTTP/1.1\r\nHost: x\r\n\r\n", 25),
                 HERD_HTTP1_IDLE);
    cr_expect_not(herd_http1_holds_input(&d.h), "an idle connection kept a "
                                                "buffer");
    herd_http1_free(&d.h);
}
