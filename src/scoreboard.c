/* scoreboard.c: shared mapping of worker scores, one seqlock per section. */
#include "scoreboard.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Why this seqlock is sound. Exactly one process writes (the master); every
 * other process only copies a section into private memory and throws the
 * copy away unless the sequence was even and unchanged around it, so a torn
 * copy is never interpreted. The data are stored and loaded as 32-bit words
 * with relaxed __atomic operations: concurrent access is then race-free in
 * C11 terms (no undefined behaviour, no torn word), and on x86-64 and
 * arm64 they compile to plain loads and stores. Ordering comes from the
 * sequence:
 *
 *   writer: seq = s+1 (relaxed); release fence; words (relaxed);
 *           seq = s+2 (release)
 *   reader: s0 = seq (acquire); words (relaxed); acquire fence;
 *           s1 = seq (relaxed); keep the copy only if s0 == s1, s0 even
 *
 * If the reader saw any word of a write that began after it loaded s0, the
 * fence pair orders that write's "seq = s+1" before the reader's s1 load,
 * so s1 != s0. If it loaded s0 == s+2, the release/acquire pair makes every
 * word of that write visible. A MAP_SHARED page is the same memory in
 * every process and lock-free atomics are address-free, so all of this
 * holds between processes as it does between threads.
 */

#define SCORE_WORDS  (sizeof(struct herd_score) / 4)
#define SERVER_WORDS (sizeof(struct herd_server_score) / 4)
#define ROUTE_WORDS  (sizeof(struct herd_route_score) / 4)

_Static_assert(sizeof(struct herd_score) % 4 == 0,
               "struct herd_score must be whole 32-bit words");
_Static_assert(sizeof(struct herd_server_score) % 4 == 0,
               "struct herd_server_score must be whole 32-bit words");
_Static_assert(sizeof(struct herd_route_score) % 4 == 0,
               "struct herd_route_score must be whole 32-bit words");

/* Each section starts a cache line so that writes to one slot do not make
   readers of its neighbours retry. */
struct slot_section {
    _Alignas(64) uint32_t seq;
    uint32_t words[SCORE_WORDS];
};

struct server_section {
    _Alignas(64) uint32_t seq;
    uint32_t words[SERVER_WORDS];
};

struct route_section {
    _Alignas(64) uint32_t seq;
    uint32_t words[ROUTE_WORDS];
};

/* The handle is the mapping itself: nothing to allocate, nothing to leak. */
struct herd_scoreboard {
    size_t size; /* bytes mapped: page-aligned; set once before fork */
    struct server_section server;
    struct slot_section slots[HERD_MAX_SLOTS];
    struct route_section routes[HERD_MAX_ROUTE_METRICS];
};

static void
seq_write(uint32_t *seq, uint32_t *words, const void *src, size_t nwords)
{
    const unsigned char *p = src;
    uint32_t s, w;
    size_t i;

    s = __atomic_load_n(seq, __ATOMIC_RELAXED);
    __atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (i = 0; i < nwords; i++) {
        memcpy(&w, p + 4 * i, 4);
        __atomic_store_n(&words[i], w, __ATOMIC_RELAXED);
    }
    __atomic_store_n(seq, s + 2, __ATOMIC_RELEASE);
}

static void
seq_read(const uint32_t *seq, const uint32_t *words, void *dst, size_t nwords)
{
    unsigned char *p = dst;
    uint32_t s0, s1, w;
    unsigned spins = 0;
    size_t i;

    for (;;) {
        s0 = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
        if ((s0 & 1) == 0) {
            for (i = 0; i < nwords; i++) {
                w = __atomic_load_n(&words[i], __ATOMIC_RELAXED);
                memcpy(p + 4 * i, &w, 4);
            }
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            s1 = __atomic_load_n(seq, __ATOMIC_RELAXED);
            if (s0 == s1)
                return;
        }
        /* A write takes well under a microsecond; if it does not finish,
           the master was preempted mid-write: let it run. */
        if (++spins % 64 == 0)
            sched_yield();
    }
}

struct herd_scoreboard *
herd_scoreboard_create(char *err, size_t errlen)
{
    struct herd_scoreboard *sb;
    long page;
    size_t size;
    void *p;

    page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    size = (sizeof(*sb) + (size_t)page - 1) / (size_t)page * (size_t)page;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
             0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "mmap() of %zu bytes failed (%d: %s)", size,
                 errno, strerror(errno));
        return NULL;
    }
    /* A fresh anonymous mapping is zeroed: every slot is EMPTY, seq 0. */
    sb = p;
    sb->size = size;
    return sb;
}

/* A slot out of range is a caller bug; it is ignored rather than let it
   scribble past the mapping. */
void
herd_scoreboard_write(struct herd_scoreboard *sb, size_t slot,
                      const struct herd_score *score)
{
    if (slot >= HERD_MAX_SLOTS)
        return;
    seq_write(&sb->slots[slot].seq, sb->slots[slot].words, score, SCORE_WORDS);
}

void
herd_scoreboard_write_server(struct herd_scoreboard *sb,
                             const struct herd_server_score *s)
{
    seq_write(&sb->server.seq, sb->server.words, s, SERVER_WORDS);
}

/* A slot out of range reads as an all-zero (EMPTY) score. */
void
herd_scoreboard_read(const struct herd_scoreboard *sb, size_t slot,
                     struct herd_score *out)
{
    if (slot >= HERD_MAX_SLOTS) {
        memset(out, 0, sizeof(*out));
        return;
    }
    seq_read(&sb->slots[slot].seq, sb->slots[slot].words, out, SCORE_WORDS);
}

void
herd_scoreboard_read_server(const struct herd_scoreboard *sb,
                            struct herd_server_score *out)
{
    seq_read(&sb->server.seq, sb->server.words, out, SERVER_WORDS);
}

void
herd_scoreboard_write_route(struct herd_scoreboard *sb, size_t id,
                            const struct herd_route_score *r)
{
    if (id < HERD_MAX_ROUTE_METRICS)
        seq_write(&sb->routes[id].seq, sb->routes[id].words, r, ROUTE_WORDS);
}

/* An id out of range reads as an unused (all-zero) route. */
void
herd_scoreboard_read_route(const struct herd_scoreboard *sb, size_t id,
                           struct herd_route_score *out)
{
    if (id >= HERD_MAX_ROUTE_METRICS) {
        memset(out, 0, sizeof(*out));
        return;
    }
    seq_read(&sb->routes[id].seq, sb->routes[id].words, out, ROUTE_WORDS);
}

int
herd_scoreboard_protect(struct herd_scoreboard *sb)
{
    if (mprotect(sb, sb->size, PROT_READ) < 0)
        return HERD_ERR;
    return HERD_OK;
}

void
herd_scoreboard_destroy(struct herd_scoreboard *sb)
{
    if (sb == NULL)
        return;
    munmap(sb, sb->size);
}

void
herd_totals_add(struct herd_totals *t, const struct herd_health *h)
{
    size_t i;

    t->requests += h->requests;
    for (i = 0; i < HERD_ARRAY_LEN(t->status); i++)
        t->status[i] += h->status[i];
    t->bytes_in += h->bytes_in;
    t->bytes_out += h->bytes_out;
    for (i = 0; i < HERD_ARRAY_LEN(t->duration); i++)
        t->duration[i] += h->duration[i];
    t->duration_sum_us += h->duration_sum_us;
    t->dropped += h->dropped;
    t->cache_hits += h->cache_hits;
    t->cache_misses += h->cache_misses;
}

/* ---- activity ---- */

struct activity_record {
    _Alignas(64) uint32_t pid;
    uint32_t busy;
    const char *last; /* the writer's own pointer: skips repeated copies */
    char what[HERD_ACTIVITY_LEN];
};

struct herd_activity {
    size_t size;
    struct activity_record rec[HERD_MAX_SLOTS];
};

struct herd_activity *
herd_activity_create(char *err, size_t errlen)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = (sizeof(struct herd_activity) + page - 1) / page * page;
    struct herd_activity *a;

    a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
             0);
    if (a == MAP_FAILED) {
        snprintf(err, errlen, "mmap(%zu) for the activity records failed: %s",
                 size, strerror(errno));
        return NULL;
    }
    a->size = size;
    return a;
}

void
herd_activity_set(struct herd_activity *a, size_t slot, uint32_t pid,
                  const char *what)
{
    struct activity_record *r;

    if (a == NULL || slot >= HERD_MAX_SLOTS)
        return;
    r = &a->rec[slot];
    if (what == NULL) {
        __atomic_store_n(&r->busy, 0, __ATOMIC_RELAXED);
        return;
    }
    if (r->last != what || r->pid != pid) {
        snprintf(r->what, sizeof(r->what), "%s", what);
        r->last = what;
        r->pid = pid;
    }
    __atomic_store_n(&r->busy, 1, __ATOMIC_RELAXED);
}

void
herd_activity_get(const struct herd_activity *a, size_t slot, uint32_t pid,
                  char *out, size_t outlen)
{
    const struct activity_record *r;

    if (outlen > 0)
        out[0] = '\0';
    if (a == NULL || slot >= HERD_MAX_SLOTS)
        return;
    r = &a->rec[slot];
    if (__atomic_load_n(&r->busy, __ATOMIC_ACQUIRE) && r->pid == pid)
        snprintf(out, outlen, "%.*s", (int)sizeof(r->what) - 1, r->what);
}

void
herd_activity_destroy(struct herd_activity *a)
{
    if (a != NULL)
        munmap(a, a->size);
}
