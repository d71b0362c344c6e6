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

/* The events route handler: GET subscribes, POST publishes. */
int herd_events_handle(struct herd_request *req);

#endif
