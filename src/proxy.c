/* proxy.c: the client behind proxies: forwarding headers, PROXY protocol. */
#include "proxy.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

/* ---- small text helpers -------------------------------------------------- */

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* s[0..len) equals the lower-case word, ignoring ASCII case. */
static int
equal_nocase(const char *s, size_t len, const char *word)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (word[i] == '\0' || lower((unsigned char)s[i]) != word[i])
            return 0;
    }
    return word[len] == '\0';
}

static int
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* tchar, RFC 9110 section 5.6.2. */
static int
is_tchar(char ch)
{
    unsigned char c = (unsigned char)ch;

    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Trim OWS from both ends of s[*start..*end). */
static void
trim(const char *s, size_t *start, size_t *end)
{
    while (*start < *end && is_ows(s[*start]))
        (*start)++;
    while (*end > *start && is_ows(s[*end - 1]))
        (*end)--;
}

/* "http" or "https" in any case, optionally quoted. */
static enum herd_scheme
read_scheme(const char *s, size_t len)
{
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    if (equal_nocase(s, len, "http"))
        return HERD_SCHEME_HTTP;
    if (equal_nocase(s, len, "https"))
        return HERD_SCHEME_HTTPS;
    return HERD_SCHEME_NONE;
}

/* ---- the walk ------------------------------------------------------------ */

/* Copy sa into *out, an IPv4-mapped IPv6 address made plain IPv4. */
static socklen_t
copy_addr(struct sockaddr_storage *out, const struct sockaddr *sa,
          socklen_t salen)
{
    /* ::ffff:0:0/96, the IPv4-mapped range */
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    const struct sockaddr_in6 *s6 = (const void *)sa;
    struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)out;
    uint8_t a[16];
    in_port_t port;

    memset(out, 0, sizeof(*out));
    if (sa == NULL || salen == 0)
        return 0;
    if (salen > (socklen_t)sizeof(*out))
        salen = (socklen_t)sizeof(*out);
    if (sa->sa_family == AF_INET6 && salen >= (socklen_t)sizeof(*s6)) {
        memcpy(a, &s6->sin6_addr, 16);
        if (memcmp(a, mapped, sizeof(mapped)) == 0) {
            port = s6->sin6_port;
            s4->sin_family = AF_INET;
            s4->sin_port = port;
            memcpy(&s4->sin_addr, a + 12, 4);
            return (socklen_t)sizeof(*s4);
        }
    }
    memcpy(out, sa, salen);
    return salen;
}

void
herd_proxy_walk_begin(struct herd_proxy_walk *w,
                      const struct herd_cidr *trusted, size_t ntrusted,
                      enum herd_proxy_source source,
                      const struct sockaddr *peer, socklen_t peerlen)
{
    w->trusted = trusted;
    w->ntrusted = ntrusted;
    w->source = source;
    w->peerlen = copy_addr(&w->peer, peer, peerlen);
    w->peer_trusted =
        w->peerlen > 0 &&
        herd_cidr_match_list(trusted, ntrusted,
                             (const struct sockaddr *)(const void *)&w->peer);
    w->hoplen = 0;
    w->have_hop = 0;
    w->hop_scheme = HERD_SCHEME_NONE;
    w->nproto = 0;
    w->proto = HERD_SCHEME_NONE;
}

int
herd_proxy_walk_trusted(const struct herd_proxy_walk *w)
{
    return w->peer_trusted;
}

/*
 * The walk is specified right to left but runs left to right, in one
 * pass, so that lines can be fed as they come and no element needs to be
 * stored. The equivalence: read right to left, the client is the first
 * hop that is not a trusted address, if it is an address; if it is
 * malformed, the hop to its right. Left to right, that is the last
 * untrusted address, unless a malformed hop follows it, in which case it
 * is the first address after the last malformed hop; with none of either,
 * the first address. have_hop == 0 means "take the next address".
 */
static void
hop_bad(struct herd_proxy_walk *w)
{
    w->have_hop = 0;
}

static void
hop_addr(struct herd_proxy_walk *w, const struct sockaddr_storage *sa,
         socklen_t salen, enum herd_scheme scheme)
{
    if (w->have_hop &&
        herd_cidr_match_list(w->trusted, w->ntrusted,
                             (const struct sockaddr *)(const void *)sa))
        return;
    w->hop = *sa;
    w->hoplen = salen;
    w->hop_scheme = scheme;
    w->have_hop = 1;
}

static void
xff_element(struct herd_proxy_walk *w, const char *s, size_t len)
{
    struct sockaddr_storage sa;
    socklen_t salen;

    if (herd_cidr_parse_addr(s, len, &sa, &salen) != HERD_OK)
        hop_bad(w);
    else
        hop_addr(w, &sa, salen, HERD_SCHEME_NONE);
}

/*
 * Call fn for each non-empty, OWS-trimmed element of the comma-separated
 * list v[0..len) (X-Forwarded-For and X-Forwarded-Proto have no quoting).
 */
static void
each_element(struct herd_proxy_walk *w, const char *v, size_t len,
             void (*fn)(struct herd_proxy_walk *, const char *, size_t))
{
    size_t start = 0, end, next;
    const char *comma;

    while (start <= len) {
        comma = start < len ? memchr(v + start, ',', len - start) : NULL;
        end = comma != NULL ? (size_t)(comma - v) : len;
        next = end + 1;
        trim(v, &start, &end);
        if (end > start)
            fn(w, v + start, end - start);
        start = next;
    }
}

static void
proto_element(struct herd_proxy_walk *w, const char *s, size_t len)
{
    w->nproto++;
    w->proto = read_scheme(s, len);
}

/* ---- Forwarded (RFC 7239) ------------------------------------------------ */

struct fwd_element {
    int pairs;         /* forwarded-pairs seen */
    int bad;           /* a syntax error or a repeated parameter */
    const char *for_v; /* the for= value as written, quotes included */
    size_t for_len;
    int for_escaped; /* it held a quoted-pair: not an address */
    int have_proto, have_by, have_host;
    enum herd_scheme scheme;
};

/*
 * Resume after a syntax error at v[i]: skip to the comma that ends the
 * element, not counting commas inside quoted strings.
 */
static size_t
resync(const char *v, size_t len, size_t i)
{
    int quoted = 0;

    for (; i < len; i++) {
        if (quoted && v[i] == '\\')
            i++;
        else if (v[i] == '"')
            quoted = !quoted;
        else if (!quoted && v[i] == ',')
            break;
    }
    return i < len ? i : len;
}

/* Remember one parameter; returns HERD_ERR for a repeated one. */
static int
fwd_param(struct fwd_element *e, const char *name, size_t nlen,
          const char *value, size_t vlen, int escaped)
{
    if (equal_nocase(name, nlen, "for")) {
        if (e->for_v != NULL)
            return HERD_ERR;
        e->for_v = value;
        e->for_len = vlen;
        e->for_escaped = escaped;
    } else if (equal_nocase(name, nlen, "proto")) {
        if (e->have_proto)
            return HERD_ERR;
        e->have_proto = 1;
        e->scheme = escaped ? HERD_SCHEME_NONE : read_scheme(value, vlen);
    } else if (equal_nocase(name, nlen, "by")) {
        if (e->have_by)
            return HERD_ERR;
        e->have_by = 1;
    } else if (equal_nocase(name, nlen, "host")) {
        if (e->have_host)
            return HERD_ERR;
        e->have_host = 1;
    }
    return HERD_OK; /* other parameters are extensions: ignored */
}

/*
 * Parse one forwarded-element starting at v[i] into *e, up to the comma
 * that ends it or the end of the line; returns that position. Pairs are
 * token "=" (token / quoted-string), separated by ";" with optional OWS
 * around it.
 */
static size_t
fwd_parse_element(const char *v, size_t len, size_t i, struct fwd_element *e)
{
    size_t ns, nlen, vs;
    int escaped;

    while (i < len && is_ows(v[i]))
        i++;
    while (i < len && v[i] != ',') {
        if (v[i] == ';') {
            for (i++; i < len && is_ows(v[i]); i++)
                ;
            continue;
        }
        e->pairs++;
        for (ns = i; i < len && is_tchar(v[i]); i++)
            ;
        nlen = i - ns;
        if (nlen == 0 || i >= len || v[i] != '=')
            goto bad;
        vs = ++i;
        escaped = 0;
        if (i < len && v[i] == '"') {
            for (i++; i < len && v[i] != '"'; i++) {
                if (v[i] == '\\') {
                    escaped = 1;
                    i++;
                }
            }
            if (i >= len)
                goto bad;
            i++;
        } else {
            while (i < len && is_tchar(v[i]))
                i++;
            if (i == vs)
                goto bad;
        }
        if (fwd_param(e, v + ns, nlen, v + vs, i - vs, escaped) != HERD_OK)
            goto bad;
        while (i < len && is_ows(v[i]))
            i++;
        if (i < len && v[i] != ';' && v[i] != ',')
            goto bad;
    }
    return i;
bad:
    e->bad = 1;
    return resync(v, len, i);
}

/* obfnode and obfport characters, RFC 7239 section 6.3, after the "_". */
static int
is_obfchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/*
 * The address in a for= value: unquoted, and without an obfuscated port
 * (":_abc", RFC 7239 section 6.3), which names no port herd can use.
 */
static int
fwd_address(const char *s, size_t len, struct sockaddr_storage *sa,
            socklen_t *salen)
{
    const char *colon;
    size_t i;

    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    colon = len > 0 ? memchr(s, ':', len) : NULL;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);

        colon = close != NULL && close + 1 < s + len && close[1] == ':'
                    ? close + 1
                    : NULL;
    } else if (colon != NULL &&
               memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) != NULL) {
        colon = NULL; /* a bare IPv6 address has no port */
    }
    if (colon != NULL && colon + 1 < s + len && colon[1] == '_') {
        for (i = (size_t)(colon + 2 - s); i < len; i++) {
            if (!is_obfchar(s[i]))
                break;
        }
        if (i == len)
            len = (size_t)(colon - s);
    }
    return herd_cidr_parse_addr(s, len, sa, salen);
}

static void
forwarded_line(struct herd_proxy_walk *w, const char *v, size_t len)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    size_t i = 0;

    for (;;) {
        struct fwd_element e;

        memset(&e, 0, sizeof(e));
        i = fwd_parse_element(v, len, i, &e);
        if (e.bad || (e.pairs > 0 && e.for_v == NULL))
            hop_bad(w);
        else if (e.for_v != NULL &&
                 (e.for_escaped ||
                  fwd_address(e.for_v, e.for_len, &sa, &salen) != HERD_OK))
            hop_bad(w);
        else if (e.for_v != NULL)
            hop_addr(w, &sa, salen, e.have_proto ? e.scheme : HERD_SCHEME_NONE);
        /* else: an empty element, skipped */
        if (i >= len)
            break;
        i++;
    }
}

void
herd_proxy_walk_field(struct herd_proxy_walk *w, const char *name,
                      size_t namelen, const char *value, size_t len)
{
    if (!w->peer_trusted)
        return;
    if (w->source == HERD_PROXY_XFF) {
        if (equal_nocase(name, namelen, "x-forwarded-for"))
            each_element(w, value, len, xff_element);
        else if (equal_nocase(name, namelen, "x-forwarded-proto"))
            each_element(w, value, len, proto_element);
    } else if (equal_nocase(name, namelen, "forwarded")) {
        forwarded_line(w, value, len);
    }
}

/* Dotted quad of an IPv4 address (network order) into buf (>= 16 bytes):
   what inet_ntop writes, without its sprintf, which cost a fifth of the
   instructions of a plain request. */
static void
ipv4_text(const unsigned char *b, char *buf)
{
    char *p = buf;
    int i, v;

    for (i = 0; i < 4; i++) {
        v = b[i];
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
}

/* The text form of a client address for logs and handlers. */
static void
addr_text(const struct sockaddr_storage *sa, socklen_t salen, char *buf,
          size_t size)
{
    const void *a = NULL;

    if (salen > 0 && sa->ss_family == AF_INET && size >= INET_ADDRSTRLEN) {
        ipv4_text((const unsigned char *)&(
                      (const struct sockaddr_in *)(const void *)sa)
                      ->sin_addr,
                  buf);
        return;
    }
    if (salen > 0 && sa->ss_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (salen > 0 && sa->ss_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (a != NULL && inet_ntop(sa->ss_family, a, buf, (socklen_t)size) != NULL)
        return;
    snprintf(buf, size, "%s",
             salen > 0 && sa->ss_family == AF_UNIX ? "unix:" : "unknown");
}

void
herd_proxy_walk_end(const struct herd_proxy_walk *w,
                    struct herd_proxy_client *out)
{
    memset(out, 0, sizeof(*out));
    out->peer_trusted = w->peer_trusted;
    if (w->peer_trusted && w->have_hop) {
        out->addr = w->hop;
        out->addrlen = w->hoplen;
        out->forwarded = 1;
    } else {
        out->addr = w->peer;
        out->addrlen = w->peerlen;
    }
    if (w->peer_trusted && w->source == HERD_PROXY_FORWARDED && w->have_hop)
        out->scheme = w->hop_scheme;
    else if (w->peer_trusted && w->source == HERD_PROXY_XFF && w->nproto == 1)
        out->scheme = w->proto;
    addr_text(&out->addr, out->addrlen, out->text, sizeof(out->text));
}

/* ---- PROXY protocol ------------------------------------------------------ */

static const char v2_signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                      '\n', 'Q',  'U',  'I',  'T',  '\n'};

#define V2_HEADER 16
#define V2_INET   12  /* 2 x 4 address bytes + 2 x 2 port bytes */
#define V2_INET6  36  /* 2 x 16 + 2 x 2 */
#define V2_UNIX   216 /* 2 x 108 */

static int
not_proxy(const char *buf, size_t at, char *err, size_t errlen)
{
    return herd_errf(err, errlen,
                     "not a PROXY protocol header (unexpected byte 0x%02x at "
                     "offset %zu)",
                     (unsigned)(unsigned char)buf[at], at);
}

/* Reading a v1 line: bytes so far, and the position reached. */
struct v1 {
    const char *buf;
    size_t len, pos;
    char *err;
    size_t errlen;
};

/*
 * Read a field of up to max bytes from set, and the byte after it into
 * *end. HERD_AGAIN when the buffer ends first; HERD_ERR when the line is
 * already longer than v1 allows. A field that runs past max stops there,
 * with *end the byte that made it too long, so that the caller refuses it
 * without waiting for more.
 */
static int
v1_field(struct v1 *s, const char *set, size_t max, size_t *start, size_t *flen,
         char *end)
{
    *start = s->pos;
    for (;;) {
        char c;

        if (s->pos >= HERD_PROXY_V1_MAX)
            return herd_errf(s->err, s->errlen,
                             "PROXY v1: no CRLF in the first %d bytes",
                             HERD_PROXY_V1_MAX);
        if (s->pos >= s->len)
            return HERD_AGAIN;
        c = s->buf[s->pos++];
        if (c == '\0' || strchr(set, c) == NULL || s->pos - *start > max) {
            *flen = s->pos - 1 - *start;
            *end = c;
            return HERD_OK;
        }
    }
}

/* The CRLF that ends the line. */
static int
v1_crlf(struct v1 *s, char first)
{
    if (first != '\r')
        return herd_errf(s->err, s->errlen,
                         "PROXY v1: expected CRLF at the end");
    if (s->pos >= HERD_PROXY_V1_MAX)
        return herd_errf(s->err, s->errlen,
                         "PROXY v1: no CRLF in the first %d bytes",
                         HERD_PROXY_V1_MAX);
    if (s->pos >= s->len)
        return HERD_AGAIN;
    if (s->buf[s->pos++] != '\n')
        return herd_errf(s->err, s->errlen,
                         "PROXY v1: expected CRLF at the end");
    return HERD_OK;
}

/* A complaint about a field that ended with byte c instead of want. */
static int
v1_bad_field(struct v1 *s, const char *what, size_t flen, char c, char want)
{
    if (flen == 0 && c == ' ')
        return herd_errf(s->err, s->errlen,
                         "PROXY v1: expected a single space between fields");
    if (want == '\r' && flen > 0 && (c < '0' || c > '9'))
        return herd_errf(s->err, s->errlen,
                         "PROXY v1: expected CRLF at the end");
    if (want == ' ' && (c == '\r' || c == '\n'))
        return herd_errf(s->err, s->errlen,
                         "PROXY v1: line ends early (expected PROXY TCP4|TCP6 "
                         "SOURCE DESTINATION SOURCE-PORT DESTINATION-PORT)");
    return herd_errf(s->err, s->errlen, "PROXY v1: invalid %s", what);
}

static int
v1_port(const char *p, size_t len, uint16_t *out)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0 || len > 5 || (len > 1 && p[0] == '0'))
        return HERD_ERR;
    for (i = 0; i < len; i++)
        v = v * 10 + (unsigned long)(p[i] - '0');
    if (v > 65535)
        return HERD_ERR;
    *out = (uint16_t)v;
    return HERD_OK;
}

static void
set_inet(struct sockaddr_storage *ss, socklen_t *sslen, int family,
         const void *addr, uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, addr, 4);
        *sslen = (socklen_t)sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, addr, 16);
        *sslen = (socklen_t)sizeof(*s6);
    }
}

/* v1 addresses: the characters each family may use, and the most. */
#define V1_SET4 "0123456789."
#define V1_SET6 "0123456789abcdefABCDEF:."
#define V1_MAX4 15
#define V1_MAX6 (INET6_ADDRSTRLEN - 1)

static int
parse_v1(const char *buf, size_t len, struct herd_proxy_header *h,
         size_t *consumed, char *err, size_t errlen)
{
    static const char prefix[] = "PROXY ";
    static const char *const protos[] = {"TCP4", "TCP6", "UNKNOWN"};
    static const char *const what[] = {"source address", "destination address",
                                       "source port", "destination port"};
    struct v1 s = {buf, len, 0, err, errlen};
    char text[INET6_ADDRSTRLEN], c;
    uint8_t addr[2][16];
    uint16_t port[2];
    size_t start, flen, i, p = HERD_ARRAY_LEN(protos);
    int family, rc;

    for (; s.pos < sizeof(prefix) - 1; s.pos++) {
        if (s.pos >= len)
            return HERD_AGAIN;
        if (buf[s.pos] != prefix[s.pos])
            return s.pos < 5 ? not_proxy(buf, s.pos, err, errlen)
                             : herd_errf(err, errlen,
                                         "PROXY v1: expected a single space "
                                         "after PROXY");
    }
    /* The protocol, refused at the first byte that fits none. */
    start = s.pos;
    for (;;) {
        if (s.pos >= len)
            return HERD_AGAIN;
        c = buf[s.pos++];
        flen = s.pos - 1 - start;
        if (c == ' ' || c == '\r')
            break;
        if (c == '\n')
            return herd_errf(err, errlen, "PROXY v1: expected CRLF at the end");
        for (i = 0; i < HERD_ARRAY_LEN(protos); i++) {
            if (strlen(protos[i]) > flen && protos[i][flen] == c &&
                memcmp(protos[i], buf + start, flen) == 0)
                break;
        }
        if (i == HERD_ARRAY_LEN(protos))
            return herd_errf(
                err, errlen,
                "PROXY v1: unknown protocol (expected TCP4, TCP6 or "
                "UNKNOWN)");
    }
    for (i = 0; i < HERD_ARRAY_LEN(protos); i++) {
        if (strlen(protos[i]) == flen &&
            memcmp(protos[i], buf + start, flen) == 0)
            p = i;
    }
    if (p == HERD_ARRAY_LEN(protos) && flen == 0 && c == ' ')
        return herd_errf(err, errlen,
                         "PROXY v1: expected a single space after PROXY");
    if (p == HERD_ARRAY_LEN(protos))
        return herd_errf(err, errlen,
                         "PROXY v1: unknown protocol (expected TCP4, TCP6 or "
                         "UNKNOWN)");
    memset(h, 0, sizeof(*h));
    h->version = 1;
    if (p == 2) {
        /* UNKNOWN: the rest of the line is ignored, up to CRLF. */
        h->family = AF_UNSPEC;
        while (c != '\r') {
            if (s.pos >= HERD_PROXY_V1_MAX)
                return herd_errf(err, errlen,
                                 "PROXY v1: no CRLF in the first %d bytes",
                                 HERD_PROXY_V1_MAX);
            if (s.pos >= len)
                return HERD_AGAIN;
            c = buf[s.pos++];
            if (c == '\n')
                return herd_errf(err, errlen,
                                 "PROXY v1: expected CRLF at the end");
        }
        if ((rc = v1_crlf(&s, c)) != HERD_OK)
            return rc;
        *consumed = s.pos;
        return HERD_OK;
    }
    if (c != ' ')
        return v1_bad_field(&s, what[0], 1, c, ' ');
    family = p == 0 ? AF_INET : AF_INET6;
    for (i = 0; i < 4; i++) {
        int last = i == 3;
        char want = last ? '\r' : ' ';

        if (i < 2)
            rc = v1_field(&s, family == AF_INET ? V1_SET4 : V1_SET6,
                          family == AF_INET ? V1_MAX4 : V1_MAX6, &start, &flen,
                          &c);
        else
            rc = v1_field(&s, "0123456789", 5, &start, &flen, &c);
        if (rc != HERD_OK)
            return rc;
        if (c != want || flen == 0)
            return v1_bad_field(&s, what[i], flen, c, want);
        if (i < 2) {
            memcpy(text, buf + start, flen);
            text[flen] = '\0';
            if (inet_pton(family, text, addr[i]) != 1)
                return herd_errf(err, errlen, "PROXY v1: invalid %s", what[i]);
        } else if (v1_port(buf + start, flen, &port[i - 2]) != HERD_OK) {
            return herd_errf(err, errlen, "PROXY v1: invalid %s", what[i]);
        }
    }
    if ((rc = v1_crlf(&s, c)) != HERD_OK)
        return rc;
    h->family = family;
    set_inet(&h->src, &h->srclen, family, addr[0], port[0]);
    set_inet(&h->dst, &h->dstlen, family, addr[1], port[1]);
    *consumed = s.pos;
    return HERD_OK;
}

static void
set_unix(struct sockaddr_storage *ss, socklen_t *sslen, const char *path)
{
    struct sockaddr_un *su = (struct sockaddr_un *)(void *)ss;

    memset(ss, 0, sizeof(*ss));
    su->sun_family = AF_UNIX;
    memcpy(su->sun_path, path,
           108 < sizeof(su->sun_path) ? 108 : sizeof(su->sun_path));
    *sslen = (socklen_t)sizeof(*su);
}

static int
parse_v2(const char *buf, size_t len, struct herd_proxy_header *h,
         size_t *consumed, char *err, size_t errlen)
{
    const unsigned char *u = (const unsigned char *)buf;
    size_t i, total, need = 0, off;
    unsigned cmd, fam;
    int family = AF_UNSPEC;

    for (i = 0; i < sizeof(v2_signature); i++) {
        if (i >= len)
            return HERD_AGAIN;
        if (buf[i] != v2_signature[i])
            return not_proxy(buf, i, err, errlen);
    }
    if (len < 13)
        return HERD_AGAIN;
    if (u[12] >> 4 != 2)
        return herd_errf(err, errlen, "PROXY v2: unsupported version %u",
                         (unsigned)(u[12] >> 4));
    cmd = u[12] & 0x0fu;
    if (cmd > 1)
        return herd_errf(err, errlen, "PROXY v2: unknown command 0x%x", cmd);
    if (len < 14)
        return HERD_AGAIN;
    fam = u[13];
    /* LOCAL ignores the family byte entirely, as the spec says. */
    if (cmd == 1) {
        switch (fam) {
        case 0x00:
            break;
        case 0x11:
            family = AF_INET;
            /* fall through */
        case 0x12:
            need = V2_INET;
            break;
        case 0x21:
            family = AF_INET6;
            /* fall through */
        case 0x22:
            need = V2_INET6;
            break;
        case 0x31:
            family = AF_UNIX;
            /* fall through */
        case 0x32:
            need = V2_UNIX;
            break;
        default:
            return herd_errf(err, errlen,
                             "PROXY v2: invalid address family and transport "
                             "0x%02x",
                             fam);
        }
    }
    if (len < V2_HEADER)
        return HERD_AGAIN;
    total = V2_HEADER + ((size_t)u[14] << 8 | u[15]);
    if (total - V2_HEADER < need)
        return herd_errf(
            err, errlen,
            "PROXY v2: address block of %zu bytes is too short for "
            "family 0x%02x (%zu needed)",
            total - V2_HEADER, fam, need);
    /* TLVs follow a known address block: check their framing as the
       bytes come, so that a bad length is refused without waiting. */
    if (family != AF_UNSPEC) {
        for (off = V2_HEADER + need; off < total;) {
            size_t tlv;

            if (total - off < 3)
                return herd_errf(err, errlen,
                                 "PROXY v2: malformed TLV at offset "
                                 "%zu",
                                 off);
            if (len < off + 3)
                return HERD_AGAIN;
            tlv = 3 + ((size_t)u[off + 1] << 8 | u[off + 2]);
            if (tlv > total - off)
                return herd_errf(err, errlen,
                                 "PROXY v2: malformed TLV at offset %zu", off);
            off += tlv;
        }
    }
    if (len < total)
        return HERD_AGAIN;
    memset(h, 0, sizeof(*h));
    h->version = 2;
    h->local = cmd == 0;
    h->family = family;
    if (family == AF_INET || family == AF_INET6) {
        size_t alen = family == AF_INET ? 4 : 16;
        uint16_t sport = (uint16_t)(u[16 + 2 * alen] << 8 | u[17 + 2 * alen]);
        uint16_t dport = (uint16_t)(u[18 + 2 * alen] << 8 | u[19 + 2 * alen]);

        set_inet(&h->src, &h->srclen, family, u + 16, sport);
        set_inet(&h->dst, &h->dstlen, family, u + 16 + alen, dport);
    } else if (family == AF_UNIX) {
        set_unix(&h->src, &h->srclen, buf + 16);
        set_unix(&h->dst, &h->dstlen, buf + 16 + 108);
    }
    *consumed = total;
    return HERD_OK;
}

int
herd_proxy_protocol_parse(const char *buf, size_t len,
                          struct herd_proxy_header *out, size_t *consumed,
                          char *err, size_t errlen)
{
    struct herd_proxy_header h;
    size_t n = 0;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (len == 0)
        return HERD_AGAIN;
    if (buf[0] == 'P')
        rc = parse_v1(buf, len, &h, &n, err, errlen);
    else if (buf[0] == '\r')
        rc = parse_v2(buf, len, &h, &n, err, errlen);
    else
        rc = not_proxy(buf, 0, err, errlen);
    if (rc == HERD_OK) {
        *out = h;
        *consumed = n;
    }
    return rc;
}
