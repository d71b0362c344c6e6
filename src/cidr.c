/* cidr.c: parse and match address ranges; parse IP literals from headers. */
#include "cidr.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The longest value quoted back in a message, before "...". */
#define SHOW_MAX 40
#define SHOW_LEN (SHOW_MAX * 4 + 8)

/* ::ffff:0:0/96, the IPv4-mapped range */
static const uint8_t mapped_prefix[12] = {[10] = 0xff, [11] = 0xff};

/*
 * Copy text[0..len) into buf (SHOW_LEN bytes) in double quotes for a
 * message: bytes outside printable ASCII become \xNN, quotes and
 * backslashes are escaped, and long text is cut and ends in "...".
 */
static const char *
show(char *buf, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0, cut = len > SHOW_MAX ? SHOW_MAX : len;

    buf[o++] = '"';
    for (i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c < 0x20 || c >= 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 0xf];
            continue;
        }
        if (c == '"' || c == '\\')
            buf[o++] = '\\';
        buf[o++] = (char)c;
    }
    if (cut < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* 1 when every byte of s[0..len) is one of chars (never NUL). */
static int
only(const char *s, size_t len, const char *chars)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\0' || strchr(chars, s[i]) == NULL)
            return 0;
    }
    return 1;
}

#define V4_CHARS "0123456789."
#define V6_CHARS "0123456789abcdefABCDEF:."

/*
 * Convert s[0..len) to 4 or 16 bytes with inet_pton, after checking the
 * characters so that a NUL or a zone cannot hide behind a valid start.
 */
static int
to_bytes(int family, const char *s, size_t len, uint8_t *out)
{
    char buf[INET6_ADDRSTRLEN];

    if (len == 0 || len >= sizeof(buf) ||
        !only(s, len, family == AF_INET ? V4_CHARS : V6_CHARS))
        return HERD_ERR;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(family, buf, out) == 1 ? HERD_OK : HERD_ERR;
}

static int
is_mapped(const uint8_t *a16)
{
    return memcmp(a16, mapped_prefix, sizeof(mapped_prefix)) == 0;
}

/* Zero the bits of a (nbits long) after the first prefix bits. */
static void
mask_bits(uint8_t *a, unsigned nbits, unsigned prefix)
{
    unsigned i;

    for (i = prefix; i < nbits; i++)
        a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

/*
 * A decimal prefix length: digits only, no leading zero (but "0"), at
 * most max. Returns HERD_OK and stores it in *out.
 */
static int
read_prefix(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t i;

    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return HERD_ERR;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return HERD_ERR;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return HERD_ERR;
    *out = v;
    return HERD_OK;
}

int
herd_cidr_parse(const char *text, size_t len, struct herd_cidr *out, char *err,
                size_t errlen)
{
    struct herd_cidr c;
    char shown[SHOW_LEN], suggest[HERD_CIDR_STRLEN];
    const char *slash;
    size_t alen;
    unsigned max;
    int v;

    memset(&c, 0, sizeof(c));
    if (len == 0)
        return herd_errf(err, errlen,
                         "empty value (expected an IP address, a CIDR such as "
                         "10.0.0.0/8, or unix)");
    if (len == 4 && memcmp(text, "unix", 4) == 0) {
        c.family = AF_UNIX;
        *out = c;
        return HERD_OK;
    }
    if (len > 4 && memcmp(text, "unix/", 5) == 0)
        return herd_errf(err, errlen, "unix takes no prefix length");
    slash = memchr(text, '/', len);
    alen = slash != NULL ? (size_t)(slash - text) : len;
    if (text[0] == '[')
        return herd_errf(
            err, errlen,
            "write IPv6 addresses without brackets, as in ::1/128");
    if (memchr(text, ':', alen) != NULL) {
        c.family = AF_INET6;
        max = 128;
    } else if (alen > 0 && only(text, alen, V4_CHARS)) {
        c.family = AF_INET;
        max = 32;
    } else {
        return herd_errf(err, errlen,
                         "expected an IP address, a CIDR such as 10.0.0.0/8, "
                         "or unix, got %s",
                         show(shown, text, len));
    }
    v = c.family == AF_INET ? 4 : 6;
    if (to_bytes(c.family, text, alen, c.addr) != HERD_OK)
        return herd_errf(err, errlen, "invalid IPv%d address %s", v,
                         show(shown, text, alen));
    c.prefix = max;
    if (slash != NULL) {
        size_t plen = len - alen - 1;

        if (plen == 0)
            return herd_errf(err, errlen, "missing prefix length after \"/\"");
        if (read_prefix(slash + 1, plen, max, &c.prefix) != HERD_OK)
            return herd_errf(err, errlen,
                             "invalid prefix length %s (expected 0..%u for "
                             "IPv%d)",
                             show(shown, slash, plen + 1), max, v);
    }
    {
        struct herd_cidr masked = c;

        mask_bits(masked.addr, max, c.prefix);
        if (memcmp(masked.addr, c.addr, sizeof(c.addr)) != 0) {
            herd_cidr_format(&masked, suggest, sizeof(suggest));
            return herd_errf(err, errlen,
                             "host bits set after the /%u prefix (did you mean "
                             "%s?)",
                             c.prefix, suggest);
        }
    }
    if (c.family == AF_INET6 && c.prefix >= 96 && is_mapped(c.addr)) {
        c.family = AF_INET;
        c.prefix -= 96;
        memmove(c.addr, c.addr + 12, 4);
        memset(c.addr + 4, 0, 12);
    }
    *out = c;
    return HERD_OK;
}

/* 1 when the first prefix bits of a and net agree. */
static int
prefix_equal(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
    unsigned bytes = prefix / 8, bits = prefix % 8;
    uint8_t mask;

    if (memcmp(a, net, bytes) != 0)
        return 0;
    if (bits == 0)
        return 1;
    mask = (uint8_t)(0xffu << (8 - bits));
    return (a[bytes] & mask) == net[bytes];
}

/*
 * The family and address bytes of sa as herd compares them: a mapped
 * IPv6 address becomes IPv4. Returns AF_UNSPEC for anything else.
 */
static int
peer_bytes(const struct sockaddr *sa, uint8_t *out)
{
    if (sa == NULL)
        return AF_UNSPEC;
    switch (sa->sa_family) {
    case AF_INET:
        memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
               4);
        return AF_INET;
    case AF_INET6: {
        const struct sockaddr_in6 *s6 = (const void *)sa;

        memcpy(out, &s6->sin6_addr, 16);
        if (!is_mapped(out))
            return AF_INET6;
        memmove(out, out + 12, 4);
        return AF_INET;
    }
    case AF_UNIX:
        return AF_UNIX;
    default:
        return AF_UNSPEC;
    }
}

static int
match_bytes(const struct herd_cidr *c, int family, const uint8_t *a)
{
    if (c->family != family)
        return 0;
    if (family == AF_UNIX)
        return 1;
    return prefix_equal(a, c->addr, c->prefix);
}

int
herd_cidr_match(const struct herd_cidr *c, const struct sockaddr *sa)
{
    uint8_t a[16];
    int family = peer_bytes(sa, a);

    return family != AF_UNSPEC && match_bytes(c, family, a);
}

int
herd_cidr_match_list(const struct herd_cidr *list, size_t n,
                     const struct sockaddr *sa)
{
    uint8_t a[16];
    int family = peer_bytes(sa, a);
    size_t i;

    if (family == AF_UNSPEC)
        return 0;
    for (i = 0; i < n; i++) {
        if (match_bytes(&list[i], family, a))
            return 1;
    }
    return 0;
}

size_t
herd_cidr_format(const struct herd_cidr *c, char *buf, size_t size)
{
    char text[INET6_ADDRSTRLEN];
    int n;

    if (c->family == AF_UNIX) {
        n = snprintf(buf, size, "unix");
    } else if ((c->family == AF_INET || c->family == AF_INET6) &&
               inet_ntop(c->family, c->addr, text, sizeof(text)) != NULL) {
        n = snprintf(buf, size, "%s/%u", text, c->prefix);
    } else {
        n = snprintf(buf, size, "?");
    }
    return n < 0 ? 0 : (size_t)n;
}

/* A port: 1..5 digits, no leading zero (but "0"), at most 65535. */
static int
read_port(const char *s, size_t len, uint16_t *out)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return HERD_ERR;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return HERD_ERR;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return HERD_ERR;
    *out = (uint16_t)v;
    return HERD_OK;
}

int
herd_cidr_parse_addr(const char *text, size_t len, struct sockaddr_storage *out,
                     socklen_t *outlen)
{
    const char *host = text, *port = NULL, *colon, *close;
    size_t hostlen = len, portlen = 0;
    uint8_t a[16];
    uint16_t p = 0;
    int family = AF_INET;

    if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
        text++;
        len -= 2;
        host = text;
        hostlen = len;
    }
    if (len == 0)
        return HERD_ERR;
    if (text[0] == '[') {
        close = memchr(text, ']', len);
        if (close == NULL)
            return HERD_ERR;
        family = AF_INET6;
        host = text + 1;
        hostlen = (size_t)(close - host);
        if (close + 1 < text + len) {
            if (close[1] != ':')
                return HERD_ERR;
            port = close + 2;
            portlen = (size_t)(text + len - port);
            if (portlen == 0)
                return HERD_ERR;
        }
    } else if ((colon = memchr(text, ':', len)) != NULL) {
        if (memchr(colon + 1, ':', len - (size_t)(colon + 1 - text)) != NULL) {
            family = AF_INET6; /* bare IPv6: no port possible */
        } else {
            hostlen = (size_t)(colon - text);
            port = colon + 1;
            portlen = len - hostlen - 1;
            if (portlen == 0)
                return HERD_ERR;
        }
    }
    if (to_bytes(family, host, hostlen, a) != HERD_OK)
        return HERD_ERR;
    if (port != NULL && read_port(port, portlen, &p) != HERD_OK)
        return HERD_ERR;
    if (family == AF_INET6 && is_mapped(a)) {
        family = AF_INET;
        memmove(a, a + 12, 4);
    }
    memset(out, 0, sizeof(*out));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)out;

        s4->sin_family = AF_INET;
        s4->sin_port = htons(p);
        memcpy(&s4->sin_addr, a, 4);
        *outlen = (socklen_t)sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)out;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(p);
        memcpy(&s6->sin6_addr, a, 16);
        *outlen = (socklen_t)sizeof(*s6);
    }
    return HERD_OK;
}
