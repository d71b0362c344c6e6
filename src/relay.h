/* relay.h: the master's side of pub/sub: channels, history, subscribers. */
#ifndef HERD_RELAY_H
#define HERD_RELAY_H

#include <stddef.h>

#include "channel.h"
#include "common.h"
#include "config.h"

struct event_base;
struct event;
struct herd_relay;
struct herd_pubsub_channel;

/*
 * A worker as the relay knows it: its channel, the messages waiting for
 * it, and the pub/sub channels it listens on. Embedded in the master's
 * record of the worker; zeroed, it is "not attached".
 */
struct herd_relay_peer {
    struct herd_relay *relay;
    struct herd_relay_peer *next, *prev; /* the relay's attached peers */
    uint64_t id;                         /* unique in the relay */
    int fd;
    struct herd_chanq q;
    struct event *ev_write; /* while q waits */
    struct herd_pubsub_channel **subs;
    size_t nsubs, subcap;
    unsigned overflowed : 1; /* its queue filled up: logged once */
};

/*
 * The relay of one master: channels by name, each with its history
 * (pubsub.history messages, pubsub.history_size bytes), at most
 * pubsub.max_channels of them. Sequence ids start from the clock, so that
 * they keep growing across restarts of the master. With pubsub.backend
 * redis, publishes go to Redis (PUBLISH prefix+channel) and the relay
 * subscribes there to every channel its workers listen on, so that herd
 * instances sharing a Redis deliver each other's messages; it connects
 * in the background and reconnects with back-off, and a publish while
 * Redis is down is refused (answered as an error), never dropped
 * silently. NULL with the reason in err.
 */
struct herd_relay *herd_relay_new(struct event_base *base,
                                  const struct herd_config *cfg, char *err,
                                  size_t errlen);

/* Release the relay (detach its peers first). Accepts NULL. */
void herd_relay_free(struct herd_relay *r);

/* Attach peer p, whose channel is fd, to r. HERD_OK or HERD_ERR. */
int herd_relay_attach(struct herd_relay *r, struct herd_relay_peer *p, int fd);

/* p is gone (exited, or its channel closed): it stops listening and what
   waits for it is dropped. Idempotent; nothing for a zeroed peer. */
void herd_relay_detach(struct herd_relay_peer *p);

/*
 * A pub/sub message from p (the payload of a HERD_MSG_PUBLISH frame):
 * PUBLISH gets a sequence id, goes into the channel's history and to
 * every worker listening (and PUBLISHED back when it has a token);
 * SUBSCRIBE and UNSUBSCRIBE change who listens; REPLAY sends p the
 * history after a client's last id. Malformed messages are logged.
 */
void herd_relay_input(struct herd_relay_peer *p, const char *payload,
                      size_t len);

/* Figures for /metrics: channels, messages published, deliveries
   refused because a worker's queue was full, publishes Redis could not
   take (down, or refused). */
struct herd_relay_stats {
    uint64_t channels;
    uint64_t published;
    uint64_t overflows;
    uint64_t redis_errors;
    int redis_up; /* 1 when both Redis connections are up; -1: no Redis */
};

void herd_relay_stats(const struct herd_relay *r, struct herd_relay_stats *s);

#endif
