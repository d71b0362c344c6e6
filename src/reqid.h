/* reqid.h: request ids: check one from a proxy, or make one unique. */
#ifndef HERD_REQID_H
#define HERD_REQID_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Length of a generated id; the caller's buffer holds one more, the NUL. */
#define HERD_REQID_LEN 36
/* The longest X-Request-Id taken from a trusted proxy. */
#define HERD_REQID_MAX 128

/*
 * A generator, one per worker process. A generated id is 180 bits in 36
 * characters of base32 (digits and lower-case letters without i, l, o,
 * u), most significant first:
 *
 *   64 bits  master nonce    random, once per start of the master
 *   16 bits  slot            the worker's slot (modulo 65536)
 *   32 bits  generation      the worker's generation (reload count)
 *   22 bits  pid             the worker's process id (Linux pids fit)
 *   46 bits  counter         per process, from a random start
 *
 * Two workers alive at once differ in pid (and usually slot or
 * generation), and workers of one master run under one nonce, so no
 * coordination is needed: ids stay unique across workers, respawns and
 * reloads. A respawn into the same slot and generation that happens to
 * get a pid used there before starts its counter at a fresh random
 * point, so even then a repeat needs two 46-bit ranges to overlap.
 * Private fields.
 */
struct herd_reqid {
    char prefix[HERD_REQID_LEN + 1]; /* the fixed leading characters */
    uint64_t high;                   /* fixed bits above the counter */
    uint64_t counter;                /* next value, below 2^46 */
};

/*
 * A random 64-bit value for the master to draw once at start and hand to
 * every worker. From getrandom(2); should that fail, from the clock, the
 * pid and stack addresses, which still differ between two starts.
 */
uint64_t herd_reqid_nonce(void);

/*
 * Prepare *g in a worker process, after fork (it reads the pid and draws
 * the counter's random start). Cannot fail; allocates nothing.
 */
void herd_reqid_init(struct herd_reqid *g, uint64_t master_nonce, uint32_t slot,
                     uint32_t generation);

/*
 * Write the next id and a NUL into out, which holds HERD_REQID_LEN + 1
 * bytes. Returns HERD_REQID_LEN. No system call, no allocation.
 */
size_t herd_reqid_next(struct herd_reqid *g, char *out);

/*
 * 1 when s[0..len) is acceptable as an X-Request-Id from a trusted proxy:
 * 1 to HERD_REQID_MAX bytes of A-Z a-z 0-9 . _ ~ : / + = @ -, which keeps
 * logs and response headers safe. Else 0.
 */
int herd_reqid_valid(const char *s, size_t len);

#endif
