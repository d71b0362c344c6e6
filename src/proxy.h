/* proxy.h: the client behind proxies: forwarding headers, PROXY protocol. */
#ifndef HERD_PROXY_H
#define HERD_PROXY_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cidr.h"
#include "common.h"

/* Room for a client address as text: "2001:db8::1", "192.0.2.1", "unix:". */
#define HERD_PROXY_ADDRSTRLEN INET6_ADDRSTRLEN

/* The longest PROXY v1 line, CRLF included, and the longest v2 header. */
#define HERD_PROXY_V1_MAX 107
#define HERD_PROXY_V2_MAX (16 + 65535)

/*
 * Which header names the client. Only one is believed, chosen in the
 * configuration: a proxy that sets one of them usually passes the other
 * through from the client untouched, so believing whichever is present
 * would let any client spoof its address.
 */
enum herd_proxy_source {
    HERD_PROXY_XFF,       /* X-Forwarded-For, with X-Forwarded-Proto */
    HERD_PROXY_FORWARDED, /* RFC 7239 Forwarded: for= and proto= */
};

enum herd_scheme {
    HERD_SCHEME_NONE, /* not said by a trusted proxy: the connection's */
    HERD_SCHEME_HTTP,
    HERD_SCHEME_HTTPS,
};

/*
 * The state of one request's walk. Fields are private: use the functions
 * below. It holds no pointers into the header values, which only need to
 * live for the duration of each herd_proxy_walk_field call.
 */
struct herd_proxy_walk {
    const struct herd_cidr *trusted;
    size_t ntrusted;
    enum herd_proxy_source source;
    int peer_trusted;
    struct sockaddr_storage peer; /* IPv4-mapped made IPv4 */
    socklen_t peerlen;
    struct sockaddr_storage hop; /* the client so far, when have_hop */
    socklen_t hoplen;
    int have_hop; /* 0: none yet, or a malformed hop came after it */
    enum herd_scheme hop_scheme; /* Forwarded: proto= of that element */
    unsigned nproto;             /* X-Forwarded-Proto values seen */
    enum herd_scheme proto;      /* the last one of them */
};

/* The outcome, in memory the caller owns (e.g. the request's). */
struct herd_proxy_client {
    struct sockaddr_storage addr; /* the client; port 0 when not known */
    socklen_t addrlen;
    char text[HERD_PROXY_ADDRSTRLEN]; /* addr without port, "unix:" for
                                         a unix-socket peer, "unknown" */
    enum herd_scheme scheme;          /* from a trusted proxy, or NONE */
    int peer_trusted;                 /* the peer is in the trusted list:
                                         its X-Request-Id may be believed */
    int forwarded;                    /* addr came from a header */
};

/*
 * Start the walk for one request whose connection comes from peer
 * (peerlen bytes; the PROXY protocol's source address when the listener
 * uses it). trusted[0..ntrusted) must outlive the walk. peer may be NULL
 * (unknown: never trusted). Allocates nothing.
 */
void herd_proxy_walk_begin(struct herd_proxy_walk *w,
                           const struct herd_cidr *trusted, size_t ntrusted,
                           enum herd_proxy_source source,
                           const struct sockaddr *peer, socklen_t peerlen);

/*
 * 1 when the peer is trusted. When it is not, herd_proxy_walk_field
 * ignores everything, so a caller may skip calling it.
 */
int herd_proxy_walk_trusted(const struct herd_proxy_walk *w);

/*
 * Feed one header field line of the request, in the order received
 * (name without the colon, value without the CRLF; neither needs a NUL).
 * Names are compared without regard to case; X-Forwarded-For,
 * X-Forwarded-Proto and Forwarded are used as the source says, anything
 * else is ignored. Several lines of one header count as one list, as if
 * joined by commas (but a Forwarded element never spans two lines).
 *
 * The list is read as a chain of hops, the nearest on the right. Empty
 * elements are skipped. From the right: skip the trusted hops; the
 * first untrusted one is the client. If every hop is trusted, the
 * left-most is the client. A hop that is not an IP address ("unknown",
 * "_hidden", a name, garbage; in Forwarded, an element without for= or
 * with a syntax error) ends the walk, and the client is the hop just
 * right of it, which is trusted (the peer itself if it was the
 * right-most element). Runs in one pass, linear in the value length.
 */
void herd_proxy_walk_field(struct herd_proxy_walk *w, const char *name,
                           size_t namelen, const char *value, size_t len);

/*
 * Finish the walk into *out. The scheme: with HERD_PROXY_XFF, the value of
 * X-Forwarded-Proto when the request has exactly one ("http" or "https",
 * any case); with HERD_PROXY_FORWARDED, the proto= of the element that
 * named the client. Anything else leaves HERD_SCHEME_NONE.
 */
void herd_proxy_walk_end(const struct herd_proxy_walk *w,
                         struct herd_proxy_client *out);

/* A parsed PROXY protocol header. */
struct herd_proxy_header {
    int version; /* 1 or 2 */
    int local;   /* v2 LOCAL: the proxy's own connection (health check) */
    int family;  /* AF_INET, AF_INET6, AF_UNIX; AF_UNSPEC when no address
                    is carried (v1 UNKNOWN, v2 LOCAL, UNSPEC, datagram):
                    then keep the connection's own addresses */
    struct sockaddr_storage src; /* the client */
    struct sockaddr_storage dst; /* the address it connected to */
    socklen_t srclen, dstlen;    /* 0 when family is AF_UNSPEC */
};

/*
 * Parse a PROXY protocol header (v1 text or v2 binary) at the start of
 * buf[0..len), the bytes received so far on a connection. Returns:
 *   HERD_OK     a complete, valid header: *out is filled and the first
 *               *consumed bytes are the header (the rest is the request);
 *   HERD_AGAIN  everything so far is a valid start: read more and call
 *               again with the longer buffer;
 *   HERD_ERR    not a valid header: the reason is in err (one line), and
 *               the connection should be closed.
 * The verdict depends only on the bytes, never on how they were split:
 * once a prefix yields HERD_OK or HERD_ERR, every longer buffer yields
 * the same. Bad bytes are refused as soon as they are seen (a plain
 * "GET / HTTP/1.1" at its first byte), and a v1 line without CRLF in
 * its first 107 bytes is refused. v2 TLVs are checked for framing and
 * skipped. *out and *consumed are written only on HERD_OK. Allocates
 * nothing; out, consumed and err (errlen may be 0) are the caller's.
 */
int herd_proxy_protocol_parse(const char *buf, size_t len,
                              struct herd_proxy_header *out, size_t *consumed,
                              char *err, size_t errlen);

#endif
