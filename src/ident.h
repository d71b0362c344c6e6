/* ident.h: who made a request: client address, scheme and request id. */
#ifndef HERD_IDENT_H
#define HERD_IDENT_H

#include <stddef.h>
#include <sys/socket.h>

#include "common.h"
#include "config.h"
#include "proxy.h"
#include "reqid.h"
#include "response.h"

struct herd_http1;

/* One request's identity, in memory the caller owns. */
struct herd_ident {
    struct herd_proxy_client client; /* after proxy.trusted's rules */
    char id[HERD_REQID_MAX + 1];     /* X-Request-Id, NUL-terminated */
    size_t idlen;
    const char *ua; /* User-Agent and Referer (first of each): slices */
    size_t ua_len;  /* of the request, NULL when absent */
    const char *referer;
    size_t referer_len;
};

/*
 * Work out who sent the request whose head h holds, on a connection from
 * peer (peerlen bytes; NULL when unknown): the client address and scheme
 * through cfg->proxy (herd_proxy_walk_*), and the request id, a trusted
 * peer's valid X-Request-Id (the first one) or else the next of gen.
 * h NULL: no usable head (a refused request), the client is the peer.
 * id_only: only the request id is wanted (nothing logs the request):
 * out->client is left zero and ua and referer NULL.
 * Allocates nothing; reads slices of h's input, which must still be there.
 */
void herd_ident_resolve(struct herd_ident *out, const struct herd_config *cfg,
                        const struct sockaddr *peer, socklen_t peerlen,
                        const struct herd_http1 *h, struct herd_reqid *gen,
                        int id_only);

/*
 * Add "X-Request-Id: id" to the response that starts at out->data[start]
 * (rendered in full by then), right after its status line, so that
 * pre-rendered responses stay as they are. Returns HERD_OK, HERD_ERR when
 * out of memory or when no status line starts there (out unchanged).
 */
int herd_ident_add_header(struct herd_buf *out, size_t start, const char *id,
                          size_t idlen);

/*
 * Read what fd has (up to 4 KiB at a time) onto the PROXY protocol bytes
 * collected so far in *b and parse them. Returns HERD_OK with *hdr filled
 * and the first *consumed bytes of b the header (the rest is HTTP),
 * HERD_AGAIN when more must be read (wait for readability), or HERD_ERR
 * with the reason in err (invalid header, EOF, read error): close then.
 * b is the caller's; free it once done.
 */
int herd_ident_proxy_read(int fd, struct herd_buf *b,
                          struct herd_proxy_header *hdr, size_t *consumed,
                          char *err, size_t errlen);

#endif
