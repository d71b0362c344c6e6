/* fuzz_http1.c: libFuzzer harness: herd's HTTP/1.1 engine at chosen splits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drive.h"

/*
 * An input is a stream of bytes a client could send on one connection,
 * after a 9-byte prefix the fuzzer mutates too: a flag byte and 8 bytes
 * that seed where the stream is cut into reads. The stream goes through
 * the real engine (framing.c, http-parser, http1.c, routing, responses)
 * in one piece, cut at the chosen points (with the output "blocking" now
 * and then when the flags say so), and byte by byte when it is short.
 * Every run must give the same responses and the same record of requests
 * and refusals; any difference, a crash, a leak or undefined behaviour
 * fails the run. http1.c aborts, in this build, if framing.c and
 * http-parser ever disagree on where a request ends.
 */

#define PREFIX   9
#define MAX_CUTS 64
#define BYTEWISE 512 /* streams up to this long also go byte by byte */

static const char yaml[] =
    "workers: 1\n"
    "limits: { max_header_size: 1k, max_body_size: 4k, "
    "keepalive_requests: 0 }\n"
    "routes:\n"
    "  - { path: /, methods: [GET, POST, PUT], respond: { body: ok } }\n"
    "  - { path: /a/:id, methods: [GET, DELETE], respond: { status: 204 } }\n"
    "  - { path: /s/*, respond: { status: 201, body: star } }\n";

static struct drive d;
static struct herd_buf want_out, want_trace;
static size_t cuts[BYTEWISE > MAX_CUTS ? BYTEWISE : MAX_CUTS];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* A small scratch buffer moves input to the connection's own buffer
       often, where slices must survive the move. */
    if (drive_init(&d, yaml, 64) != 0)
        abort();
    return 0;
}

static uint64_t
next(uint64_t *s)
{
    /* xorshift64: any seed but 0 */
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

static void
check(enum herd_http1_state want, enum herd_http1_state got, const char *how)
{
    /* memcmp with a NULL buffer is undefined even for 0 bytes. */
    if (got == want && d.out.len == want_out.len &&
        (d.out.len == 0 || memcmp(d.out.data, want_out.data, d.out.len) == 0) &&
        d.trace.len == want_trace.len &&
        (d.trace.len == 0 ||
         memcmp(d.trace.data, want_trace.data, d.trace.len) == 0))
        return;
    fprintf(stderr,
            "split invariance broken (%s): state %d vs %d\n"
            "---- whole ----\n%.*s\n---- %s ----\n%.*s\n",
            how, (int)want, (int)got, (int)want_trace.len, want_trace.data, how,
            (int)d.trace.len, d.trace.data);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum herd_http1_state want, got;
    const char *in = (const char *)data + PREFIX;
    size_t len, ncuts, i;
    uint64_t seed = 0;
    unsigned flags;

    if (size < PREFIX)
        return 0;
    flags = data[0];
    memcpy(&seed, data + 1, 8);
    seed |= 1;
    len = size - PREFIX;

    d.again_mask = 0;
    want = drive_run(&d, in, len, NULL, 0, 1);
    want_out.len = want_trace.len = 0;
    if (herd_buf_append(&want_out, d.out.data, d.out.len) != HERD_OK ||
        herd_buf_append(&want_trace, d.trace.data, d.trace.len) != HERD_OK)
        abort();

    /* Cut where the seed says; block output where the flags say. */
    ncuts = len > 1 ? 1 + (flags & (MAX_CUTS - 1)) : 0;
    for (i = 0; i < ncuts; i++)
        cuts[i] = 1 + (size_t)(next(&seed) % (len - 1));
    qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
    d.again_mask = flags & 0x80 ? (uint32_t)next(&seed) : 0;
    got = drive_run(&d, in, len, cuts, ncuts, 1);
    check(want, got, "cut");

    if (len <= BYTEWISE && len > 1) {
        for (i = 0; i + 1 < len; i++)
            cuts[i] = i + 1;
        d.again_mask = 0;
        got = drive_run(&d, in, len, cuts, len - 1, 1);
        check(want, got, "byte by byte");
    }
    return 0;
}
