/* listener.c: binds TCP (per-slot SO_REUSEPORT) and unix listening sockets. */
#include "listener.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int
bind_tcp_one(const struct sockaddr *sa, socklen_t salen, int backlog, char *err,
             size_t errlen)
{
    int fd, on = 1;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket() failed (%d: %s)", errno,
                 strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0) {
        snprintf(err, errlen, "setsockopt(SO_REUSEPORT) failed (%d: %s)", errno,
                 strerror(errno));
        goto fail;
    }
    if (sa->sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) {
        snprintf(err, errlen, "setsockopt(IPV6_V6ONLY) failed (%d: %s)", errno,
                 strerror(errno));
        goto fail;
    }
    if (bind(fd, sa, salen) < 0) {
        snprintf(err, errlen, "bind() failed (%d: %s)", errno, strerror(errno));
        goto fail;
    }
    if (listen(fd, backlog) < 0) {
        snprintf(err, errlen, "listen() failed (%d: %s)", errno,
                 strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

static int
set_port(struct sockaddr *sa, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return HERD_ERR;
    if (sa->sa_family == AF_INET)
        ((struct sockaddr_in *)sa)->sin_port =
            ((struct sockaddr_in *)&ss)->sin_port;
    else
        ((struct sockaddr_in6 *)sa)->sin6_port =
            ((struct sockaddr_in6 *)&ss)->sin6_port;
    return HERD_OK;
}

static int
open_tcp(struct herd_listener *l, const struct herd_listen *conf, int nslots,
         char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char port[8], why[HERD_ERR_LEN];
    int rc, i;
    uint16_t bound;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%u", (unsigned)conf->port);
    rc = getaddrinfo(conf->host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot resolve \"%s\": %s", conf->address,
                 conf->host, gai_strerror(rc));
        return HERD_ERR;
    }
    l->fds = malloc(sizeof(int) * (size_t)nslots);
    if (l->fds == NULL) {
        snprintf(err, errlen, "%s: out of memory", conf->address);
        goto fail;
    }
    for (i = 0; i < nslots; i++) {
        l->fds[i] = bind_tcp_one(res->ai_addr, res->ai_addrlen, conf->backlog,
                                 why, sizeof(why));
        if (l->fds[i] < 0) {
            snprintf(err, errlen, "%s: %s", conf->address, why);
            goto fail;
        }
        l->nfds++;
        /* Port 0: the first bind picks it, the other slots join it. */
        if (i == 0 && conf->port == 0 &&
            set_port(res->ai_addr, l->fds[0]) != HERD_OK) {
            snprintf(err, errlen, "%s: getsockname() failed (%d: %s)",
                     conf->address, errno, strerror(errno));
            goto fail;
        }
    }
    bound = ntohs(res->ai_family == AF_INET
                      ? ((struct sockaddr_in *)res->ai_addr)->sin_port
                      : ((struct sockaddr_in6 *)res->ai_addr)->sin6_port);
    snprintf(l->name, sizeof(l->name),
             res->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u", conf->host,
             (unsigned)bound);
    memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
    l->addrlen = res->ai_addrlen;
    l->backlog = conf->backlog;
    freeaddrinfo(res);
    return HERD_OK;
fail:
    freeaddrinfo(res);
    return HERD_ERR;
}

static int
open_unix(struct herd_listener *l, const struct herd_listen *conf, char *err,
          size_t errlen)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd = -1;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(conf->path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "%s: path too long", conf->address);
        return HERD_ERR;
    }
    memcpy(sun.sun_path, conf->path, strlen(conf->path));
    /* Replace a stale socket left by a killed server, nothing else. */
    if (lstat(conf->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s: exists and is not a socket",
                     conf->address);
            return HERD_ERR;
        }
        unlink(conf->path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "%s: socket() failed (%d: %s)", conf->address,
                 errno, strerror(errno));
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        snprintf(err, errlen, "%s: bind() failed (%d: %s)", conf->address,
                 errno, strerror(errno));
        goto fail;
    }
    if (conf->has_mode && chmod(conf->path, (mode_t)conf->mode) < 0) {
        snprintf(err, errlen, "%s: chmod() failed (%d: %s)", conf->address,
                 errno, strerror(errno));
        goto fail_unlink;
    }
    if (listen(fd, conf->backlog) < 0) {
        snprintf(err, errlen, "%s: listen() failed (%d: %s)", conf->address,
                 errno, strerror(errno));
        goto fail_unlink;
    }
    l->fds = malloc(sizeof(int));
    l->path = strdup(conf->path);
    if (l->fds == NULL || l->path == NULL) {
        snprintf(err, errlen, "%s: out of memory", conf->address);
        goto fail_unlink;
    }
    l->fds[0] = fd;
    l->nfds = 1;
    snprintf(l->name, sizeof(l->name), "unix:%s", conf->path);
    return HERD_OK;
fail_unlink:
    unlink(conf->path);
fail:
    if (fd >= 0)
        close(fd);
    free(l->fds);
    free(l->path);
    l->fds = NULL;
    l->path = NULL;
    return HERD_ERR;
}

void
herd_listener_key(const struct herd_listen *conf, char *buf, size_t len)
{
    if (conf->kind == HERD_LISTEN_UNIX)
        snprintf(buf, len, "unix:%s", conf->path);
    else
        snprintf(buf, len, "tcp:%s:%u", conf->host, (unsigned)conf->port);
}

int
herd_listener_resize(struct herd_listener *l, int nslots, char *err,
                     size_t errlen)
{
    char why[HERD_ERR_LEN];
    int *fds;

    if (l->kind == HERD_LISTEN_UNIX || nslots == l->nfds)
        return HERD_OK;
    while (l->nfds > nslots) {
        l->nfds--;
        if (l->fds[l->nfds] >= 0)
            close(l->fds[l->nfds]);
    }
    if (nslots <= l->nfds)
        return HERD_OK;
    fds = realloc(l->fds, sizeof(int) * (size_t)nslots);
    if (fds == NULL) {
        snprintf(err, errlen, "%s: out of memory", l->name);
        return HERD_ERR;
    }
    l->fds = fds;
    while (l->nfds < nslots) {
        fds[l->nfds] = bind_tcp_one((struct sockaddr *)&l->addr, l->addrlen,
                                    l->backlog, why, sizeof(why));
        if (fds[l->nfds] < 0) {
            snprintf(err, errlen, "%s: %s", l->name, why);
            return HERD_ERR;
        }
        l->nfds++;
    }
    return HERD_OK;
}

int
herd_listener_open(struct herd_listener *l, const struct herd_listen *conf,
                   int nslots, char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    l->kind = conf->kind;
    herd_listener_key(conf, l->key, sizeof(l->key));
    if (conf->kind == HERD_LISTEN_UNIX)
        return open_unix(l, conf, err, errlen);
    if (open_tcp(l, conf, nslots, err, errlen) != HERD_OK) {
        herd_listener_close(l, 0);
        return HERD_ERR;
    }
    return HERD_OK;
}

int
herd_listener_fd(const struct herd_listener *l, int slot)
{
    if (l->kind == HERD_LISTEN_UNIX)
        return l->fds[0];
    return slot < l->nfds ? l->fds[slot] : -1;
}

void
herd_listener_close_except(struct herd_listener *l, int slot)
{
    int i;

    for (i = 0; i < l->nfds; i++) {
        if (l->fds[i] < 0)
            continue;
        if (l->kind == HERD_LISTEN_UNIX ? slot >= 0 : i == slot)
            continue;
        close(l->fds[i]);
        l->fds[i] = -1;
    }
}

void
herd_listener_close(struct herd_listener *l, int unlink_path)
{
    if (l == NULL)
        return;
    herd_listener_close_except(l, -1);
    if (unlink_path && l->path != NULL)
        unlink(l->path);
    free(l->fds);
    free(l->path);
    l->fds = NULL;
    l->path = NULL;
    l->nfds = 0;
}
