/* scoreboard.h: the master's view of every worker slot, shared read-only. */
#ifndef HERD_SCOREBOARD_H
#define HERD_SCOREBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "common.h"

/* Most slots a scoreboard holds (the bound of `workers` and SIGTTIN). */
#define HERD_MAX_SLOTS 1024

enum herd_slot_state {
    HERD_SLOT_EMPTY = 0, /* no worker (slot unused, or between respawns) */
    HERD_SLOT_STARTING,  /* forked, READY not seen yet */
    HERD_SLOT_READY,     /* serving */
    HERD_SLOT_DRAINING,  /* told to stop, finishing its connections */
};

/* One slot: the latest health of its serving worker and its history. */
struct herd_score {
    struct herd_health health;
    uint32_t state;             /* enum herd_slot_state */
    uint32_t restarts;          /* workers started in this slot after the 1st */
    int32_t last_exit;          /* >= 0 exit status, < 0 -signal, of the last
                                   worker that ended; 0 when none has */
    uint64_t last_heartbeat_ms; /* CLOCK_MONOTONIC ms of the last report */
    uint64_t started_ms;        /* CLOCK_MONOTONIC ms the worker started */
    char route[64];             /* the module route its last worker was
                                   running when it died; "" if none */
};

/* Counters summed over workers. */
struct herd_totals {
    uint64_t requests;
    uint64_t status[6]; /* by class: [2] = 2xx */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t duration[HERD_DURATION_BUCKETS];
    uint64_t duration_sum_us;
    uint64_t dropped; /* pub/sub subscribers dropped for falling behind */
    uint64_t cache_hits, cache_misses; /* static memory cache */
};

/* Add the counters of h into t. */
void herd_totals_add(struct herd_totals *t, const struct herd_health *h);

/* One route's requests by status class, summed over every worker the
   master ever had (so they never go backwards), and its label. */
struct herd_route_score {
    char route[120]; /* the pattern; "" for an unused id */
    uint64_t status[6];
};

/* Server-wide figures. */
struct herd_server_score {
    uint32_t master_pid;
    uint32_t generation; /* current generation of workers */
    uint32_t nslots;     /* slots in use */
    uint64_t reloads;    /* successful reloads */
    uint64_t started_ms; /* CLOCK_MONOTONIC ms the master started */
    uint64_t restarts;   /* workers started into a slot after its first */
    uint32_t nroutes;    /* route metrics ids in use */
    uint32_t unused;
    uint64_t pubsub_channels;  /* in the master's table */
    uint64_t pubsub_published; /* messages published */
    uint64_t pubsub_overflows; /* deliveries refused: a worker's queue full */
    uint64_t pubsub_redis_errors; /* publishes Redis could not take */
    int32_t pubsub_redis_up;      /* 1 up, 0 down, -1 no Redis */
    uint32_t unused2;
    struct herd_totals totals; /* every worker of this master, exited ones
                                  included (their last report): counters
                                  never go backwards */
};

struct herd_scoreboard;

/*
 * Create a scoreboard for up to HERD_MAX_SLOTS slots in a shared anonymous
 * mapping, before fork, so that every worker sees the master's writes.
 * Returns NULL with the reason in err.
 */
struct herd_scoreboard *herd_scoreboard_create(char *err, size_t errlen);

/* Master only: publish slot's score (a seqlock write: readers never see
   half of it). slot < HERD_MAX_SLOTS. */
void herd_scoreboard_write(struct herd_scoreboard *sb, size_t slot,
                           const struct herd_score *score);

/* Master only: publish the server-wide figures. */
void herd_scoreboard_write_server(struct herd_scoreboard *sb,
                                  const struct herd_server_score *s);

/* Master only: publish route metrics id's score (id <
   HERD_MAX_ROUTE_METRICS). */
void herd_scoreboard_write_route(struct herd_scoreboard *sb, size_t id,
                                 const struct herd_route_score *r);

/* Any process: a consistent copy of route id's score. */
void herd_scoreboard_read_route(const struct herd_scoreboard *sb, size_t id,
                                struct herd_route_score *out);

/* Any process: a consistent copy of slot's score. */
void herd_scoreboard_read(const struct herd_scoreboard *sb, size_t slot,
                          struct herd_score *out);

/* Any process: a consistent copy of the server-wide figures. */
void herd_scoreboard_read_server(const struct herd_scoreboard *sb,
                                 struct herd_server_score *out);

/* In a worker after fork: make the mapping read-only for this process.
   HERD_OK, or HERD_ERR (mprotect failed). */
int herd_scoreboard_protect(struct herd_scoreboard *sb);

/* Unmap. Accepts NULL. */
void herd_scoreboard_destroy(struct herd_scoreboard *sb);

/*
 * What each slot's worker is running right now, written by the worker
 * itself (a mapping of its own: the scoreboard is read-only in workers)
 * and read by the master once the worker is dead, to say what a crash
 * interrupted. The master reads only a dead writer's record, so no lock.
 */
#define HERD_ACTIVITY_LEN 120

struct herd_activity;

/* Create the mapping before fork. NULL with the reason in err. */
struct herd_activity *herd_activity_create(char *err, size_t errlen);

/* Worker: pid (of slot) runs what (NULL: nothing any more). Copies what
   only when it differs from the last pointer given. */
void herd_activity_set(struct herd_activity *a, size_t slot, uint32_t pid,
                       const char *what);

/* Master: what slot's worker pid was running, into out ("" when nothing
   or when the record is another worker's). */
void herd_activity_get(const struct herd_activity *a, size_t slot, uint32_t pid,
                       char *out, size_t outlen);

/* Unmap. Accepts NULL. */
void herd_activity_destroy(struct herd_activity *a);

#endif
