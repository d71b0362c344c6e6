/* events.h: a worker's side of pub/sub, and the events (SSE) handler. */
#ifndef HERD_EVENTS_H
#define HERD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "herd.h"

struct herd_worker;

/* Start the worker's pub/sub: its channel table, its queue to the master
   (w->chan). HERD_OK, or HERD_ERR with the reason in err. */
int herd_events_init(struct herd_worker *w, char *err, size_t errlen);

/* A pub/sub message from the master (a HERD_MSG_DELIVER frame). */
void herd_events_input(const char *payload, size_t len);

/* The worker drains: every subscriber's stream ends (after the retry:
   hint it got when it started), so clients reconnect to a new worker
   and resume with Last-Event-ID. */
void herd_events_drain(void);

/* Release what the worker's pub/sub holds (after its connections closed). */
void herd_events_free(void);

/* Subscribers now, and those dropped for falling behind so far. */
void herd_events_stats(uint64_t *subscribers, uint64_t *dropped);

/* ---- subscribers of any kind (SSE streams, WebSocket clients) ---- */

struct herd_events_sub;

/* How a subscriber's messages reach its client. */
struct herd_events_sink {
    /* Write message seq, data[0..len), to the client: HERD_OK; HERD_AGAIN
       when the client is too far behind (herd drops it through drop);
       HERD_ERR when it is gone (it left already). */
    int (*message)(void *target, uint64_t seq, const char *data, size_t len);
    /* Some messages after the client's Last-Event-ID are no longer kept:
       as message. */
    int (*notice)(void *target);
    /* Close the client now (too far behind); it leaves its channel. */
    void (*drop)(void *target);
    /* The worker drains: end the client cleanly; it leaves its channel. */
    void (*drain)(void *target);
};

/*
 * Listen on channel[0..len) for target, written through sink. With
 * replay, what the channel's history has after last_id comes first (live
 * messages are held meanwhile, up to max_pending bytes). NULL when the
 * channel cannot be joined (too many channels, out of memory).
 */
struct herd_events_sub *herd_events_join(const char *channel, size_t len,
                                         const struct herd_events_sink *sink,
                                         void *target, int replay,
                                         uint64_t last_id, size_t max_pending);

/* Publish data[0..len) on channel[0..clen) (no answer wanted): HERD_OK,
   or HERD_ERR with errno as herd_publish says. */
int herd_publish_channel(const char *channel, size_t clen, const void *data,
                         size_t len);

/* s stops listening and is freed. Accepts NULL. */
void herd_events_leave(struct herd_events_sub *s);

/* The events route handler: GET subscribes, POST publishes. */
int herd_events_handle(struct herd_request *req);

#endif
