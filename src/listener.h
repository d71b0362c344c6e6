/* listener.h: binds an address, one SO_REUSEPORT socket per slot. */
#ifndef HERD_LISTENER_H
#define HERD_LISTENER_H

#include <sys/socket.h>

#include "common.h"
#include "config.h"

struct herd_listener {
    enum herd_listen_kind kind;
    char name[300]; /* "127.0.0.1:8080", "[::1]:8080", "unix:/run/h.sock" */
    char key[300];  /* the address as configured: matches across reloads */
    int *fds;       /* TCP: one socket per slot; unix: one shared socket */
    int nfds;
    char *path;                   /* unix: the socket file, unlinked on close */
    struct sockaddr_storage addr; /* TCP: the bound address, real port */
    socklen_t addrlen;
    int backlog;
};

/*
 * Bind conf. For TCP, nslots sockets are bound to the same address with
 * SO_REUSEPORT, so the kernel spreads connections over the slots; port 0
 * is resolved by the first bind and reused by the others. For unix, one
 * socket is bound (a stale socket file is replaced; any other file is an
 * error) and chmod'ed to conf->mode. Sockets are non-blocking and
 * listening. Returns HERD_OK and fills *l (release with
 * herd_listener_close), or HERD_ERR with the reason in err.
 */
int herd_listener_open(struct herd_listener *l, const struct herd_listen *conf,
                       int nslots, char *err, size_t errlen);

/*
 * TCP: bind more sockets into the group until there is one per slot for
 * nslots slots, or close the sockets of slots >= nslots. Unix: nothing to
 * do. Returns HERD_OK, or HERD_ERR with the reason in err (the sockets
 * bound before the failure stay).
 */
int herd_listener_resize(struct herd_listener *l, int nslots, char *err,
                         size_t errlen);

/* The key herd_listener_open gives a listener for conf, into buf. */
void herd_listener_key(const struct herd_listen *conf, char *buf, size_t len);

/* The socket slot's worker accepts on (the shared one for unix). */
int herd_listener_fd(const struct herd_listener *l, int slot);

/* Close every socket of l except the one slot keeps (-1: close all). */
void herd_listener_close_except(struct herd_listener *l, int slot);

/* Close all sockets and free what l owns; unlinks a unix socket file only
   when unlink_path is set (the master, not a worker). Accepts NULL. */
void herd_listener_close(struct herd_listener *l, int unlink_path);

#endif
