/* conn.h: one HTTP/1.1 client connection in a worker: parse, route, respond. */
#ifndef HERD_CONN_H
#define HERD_CONN_H

#include <sys/socket.h>

#include "common.h"

struct herd_worker;
struct herd_acceptor;

/*
 * Take over fd, a freshly accepted non-blocking client socket from a's
 * listener, whose peer address accept(2) gave as peer (peerlen bytes,
 * copied), and serve it until it closes: TCP_NODELAY on TCP, a PROXY
 * header first when a asks for it. On failure (out of memory) the socket
 * is closed. The connection counts towards w->nconns until it closes.
 */
void herd_conn_accept(struct herd_worker *w, int fd,
                      const struct herd_acceptor *a,
                      const struct sockaddr *peer, socklen_t peerlen);

/*
 * Graceful stop: idle connections close once idle for
 * HERD_DRAIN_IDLE_GRACE_MS (a request arriving first is answered with
 * Connection: close); busy ones get "Connection: close" on their current
 * response and close after it.
 */
void herd_conn_drain_all(struct herd_worker *w);

/* Close every connection at once (fast stop). */
void herd_conn_close_all(struct herd_worker *w);

/* Release the pool of free connection objects. */
void herd_conn_pool_free(struct herd_worker *w);

/* Prepare process-wide parser settings from limits (call once per process). */
void herd_conn_global_init(uint64_t max_header_size);

#endif
