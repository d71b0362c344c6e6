/* reqid.c: request ids: check one from a proxy, or make one unique. */
#include "reqid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define COUNTER_BITS 46
#define COUNTER_MASK ((UINT64_C(1) << COUNTER_BITS) - 1)
#define PID_BITS     22
#define PID_MASK     ((UINT64_C(1) << PID_BITS) - 1)

/*
 * The last 10 characters (50 bits) change with the counter: 4 low bits
 * of the pid, then the 46-bit counter. The 26 before them (130 bits:
 * nonce, slot, generation, the pid's upper 18 bits) are fixed.
 */
#define TAIL_CHARS 10
#define HEAD_CHARS (HERD_REQID_LEN - TAIL_CHARS)
#define TAIL_HIGH  4 /* bits of the pid in the tail */

/* Crockford's base32 alphabet, lower case: no i, l, o, u. */
static const char alphabet[32] = "0123456789abcdefghjkmnpqrstvwxyz";

/* splitmix64's finaliser: spreads the bits of a weak seed. */
static uint64_t
mix(uint64_t z)
{
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* 64 random bits; getrandom(2), else a mix of what differs per call. */
static uint64_t
random64(void)
{
    uint64_t v = 0;
    struct timespec ts = {0, 0};
    ssize_t n;
    int local;

    do {
        n = getrandom(&v, sizeof(v), GRND_NONBLOCK);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(v))
        return v;
    clock_gettime(CLOCK_REALTIME, &ts);
    v = mix((uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec);
    v = mix(v ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&local);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return mix(v ^ (uint64_t)ts.tv_nsec);
}

uint64_t
herd_reqid_nonce(void)
{
    return random64();
}

/* Put the low 5 * n bits of v into out[0..n), most significant first. */
static void
encode(uint64_t v, char *out, size_t n)
{
    while (n-- > 0) {
        out[n] = alphabet[v & 31u];
        v >>= 5;
    }
}

void
herd_reqid_init(struct herd_reqid *g, uint64_t master_nonce, uint32_t slot,
                uint32_t generation)
{
    uint64_t pid = (uint64_t)getpid() & PID_MASK;
    uint64_t w[3];

    /*
     * The fixed 130 bits, most significant first, in three words:
     * w[0] = nonce bits 63..14 (50 bits = 10 chars),
     * w[1] = nonce bits 13..0, slot, generation bits 31..22 (40 bits =
     *        8 chars),
     * w[2] = generation bits 21..0, pid bits 21..4 (40 bits = 8 chars).
     */
    w[0] = master_nonce >> 14;
    w[1] = (master_nonce & 0x3fffu) << 26 | (uint64_t)(slot & 0xffffu) << 10 |
           (uint64_t)generation >> 22;
    w[2] = ((uint64_t)generation & 0x3fffffu) << 18 | pid >> TAIL_HIGH;
    encode(w[0], g->prefix, 10);
    encode(w[1], g->prefix + 10, 8);
    encode(w[2], g->prefix + 18, 8);
    g->prefix[HEAD_CHARS] = '\0';
    g->high = pid & ((1u << TAIL_HIGH) - 1);
    g->counter = random64() & COUNTER_MASK;
}

size_t
herd_reqid_next(struct herd_reqid *g, char *out)
{
    uint64_t tail = g->high << COUNTER_BITS | g->counter;

    g->counter = (g->counter + 1) & COUNTER_MASK;
    memcpy(out, g->prefix, HEAD_CHARS);
    encode(tail, out + HEAD_CHARS, TAIL_CHARS);
    out[HERD_REQID_LEN] = '\0';
    return HERD_REQID_LEN;
}

int
herd_reqid_valid(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > HERD_REQID_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9'))
            continue;
        if (c == 0 || strchr("._~:/+=@-", c) == NULL)
            return 0;
    }
    return 1;
}
