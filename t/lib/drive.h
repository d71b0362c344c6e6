/* drive.h: runs herd's HTTP/1.1 engine from memory, for unit tests and fuzzing.
 */
#ifndef HERD_DRIVE_H
#define HERD_DRIVE_H

#include <stddef.h>

#include "config.h"
#include "http1.h"
#include "response.h"
#include "worker.h"

/*
 * One engine on a worker of its own, fed from memory the way conn.c feeds
 * it from a socket: input goes where herd_http1_input_space says, then
 * herd_http1_run; a flush appends the worker's output to out. Everything
 * the engine says is recorded, so two runs of the same bytes can be
 * compared byte for byte: out holds the responses (rendered with a fixed
 * Date), trace one line per answered or refused request with its method,
 * version, target, header fields and body.
 */
struct drive {
    struct herd_config *cfg;
    struct herd_worker w;
    struct herd_http1 h;
    struct herd_buf out;
    struct herd_buf trace;
    struct herd_buf body; /* of the current request */
    unsigned again_mask;  /* flush n says "would block" when bit n%32 */
    unsigned nflush;
    int last_status; /* of the last request or refusal, else 0 */
};

/*
 * Load yaml (a herd.yaml text) and prepare d with a scratch input buffer
 * of scratch bytes. 0, or -1 with the reason on stderr.
 */
int drive_init(struct drive *d, const char *yaml, size_t scratch);

void drive_free(struct drive *d);

/* Start a fresh connection on d->h, with empty records. */
void drive_begin(struct drive *d);

/*
 * Feed p[0..len) to d->h as one read (or several, when the input space is
 * smaller) and run the engine after each, as conn.c does. Stops once the
 * connection is closing. Returns the engine's state.
 */
enum herd_http1_state drive_feed(struct drive *d, const char *p, size_t len);

/*
 * Run a fresh connection on in[0..len): fed in pieces that end at each of
 * cuts[0..ncuts) (ascending offsets) and at len, then, when timeout is
 * set, a deadline passes. Stops feeding once the connection is closing.
 * d->out, d->trace and d->last_status hold the result; returns the final
 * herd_http1_state.
 */
enum herd_http1_state drive_run(struct drive *d, const char *in, size_t len,
                                const size_t *cuts, size_t ncuts, int timeout);

#endif
