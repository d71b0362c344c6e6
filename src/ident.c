/* ident.c: who made a request: client address, scheme and request id. */
#include "ident.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http1.h"

static const char reqid_name[] = "X-Request-Id";

/* Whether the field name[0..len) is want, whatever the case. */
static int
is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

void
herd_ident_resolve(struct herd_ident *out, const struct herd_config *cfg,
                   const struct sockaddr *peer, socklen_t peerlen,
                   const struct herd_http1 *h, struct herd_reqid *gen,
                   int id_only)
{
    struct herd_proxy_walk walk;
    const char *name, *value;
    size_t i, n, nlen, vlen;
    int have_id = 0, trusted;

    herd_proxy_walk_begin(&walk, cfg->proxy.trusted, cfg->proxy.ntrusted,
                          cfg->proxy.client_header, peer, peerlen);
    trusted = herd_proxy_walk_trusted(&walk);
    out->ua = out->referer = NULL;
    out->ua_len = out->referer_len = 0;
    n = h != NULL && (trusted || !id_only) ? herd_http1_nheaders(h) : 0;
    for (i = 0; i < n; i++) {
        herd_http1_header(h, i, &name, &nlen, &value, &vlen);
        if (trusted && !id_only)
            herd_proxy_walk_field(&walk, name, nlen, value, vlen);
        if (trusted && !have_id && is(name, nlen, reqid_name) &&
            herd_reqid_valid(value, vlen)) {
            memcpy(out->id, value, vlen);
            out->id[vlen] = '\0';
            out->idlen = vlen;
            have_id = 1;
            if (id_only)
                break;
        } else if (id_only) {
            continue;
        } else if (out->ua == NULL && is(name, nlen, "User-Agent")) {
            out->ua = value;
            out->ua_len = vlen;
        } else if (out->referer == NULL && is(name, nlen, "Referer")) {
            out->referer = value;
            out->referer_len = vlen;
        }
    }
    if (id_only)
        memset(&out->client, 0, sizeof(out->client));
    else
        herd_proxy_walk_end(&walk, &out->client);
    if (!have_id)
        out->idlen = herd_reqid_next(gen, out->id);
}

int
herd_ident_add_header(struct herd_buf *out, size_t start, const char *id,
                      size_t idlen)
{
    const char *eol;
    size_t at, add = sizeof(reqid_name) - 1 + 2 + idlen + 2;
    char *p;

    if (start >= out->len)
        return HERD_ERR;
    eol = memchr(out->data + start, '\n', out->len - start);
    if (eol == NULL)
        return HERD_ERR;
    at = (size_t)(eol - out->data) + 1;
    if (herd_buf_reserve(out, add) != HERD_OK)
        return HERD_ERR;
    p = out->data + at;
    memmove(p + add, p, out->len - at);
    memcpy(p, reqid_name, sizeof(reqid_name) - 1);
    p += sizeof(reqid_name) - 1;
    memcpy(p, ": ", 2);
    memcpy(p + 2, id, idlen);
    memcpy(p + 2 + idlen, "\r\n", 2);
    out->len += add;
    return HERD_OK;
}

int
herd_ident_proxy_read(int fd, struct herd_buf *b, struct herd_proxy_header *hdr,
                      size_t *consumed, char *err, size_t errlen)
{
    ssize_t n;

    if (herd_buf_reserve(b, 4096) != HERD_OK) {
        snprintf(err, errlen, "out of memory reading the PROXY header");
        return HERD_ERR;
    }
    do {
        n = read(fd, b->data + b->len, 4096);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return HERD_AGAIN;
    if (n < 0) {
        snprintf(err, errlen, "read() failed before the PROXY header (%d: %s)",
                 errno, strerror(errno));
        return HERD_ERR;
    }
    if (n == 0) {
        snprintf(err, errlen, "closed before a complete PROXY header");
        return HERD_ERR;
    }
    b->len += (size_t)n;
    return herd_proxy_protocol_parse(b->data, b->len, hdr, consumed, err,
                                     errlen);
}
