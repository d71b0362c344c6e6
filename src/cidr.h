/* cidr.h: address ranges (trusted proxies) and IP literals from headers. */
#ifndef HERD_CIDR_H
#define HERD_CIDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common.h"

/* Room for herd_cidr_format: the longest IPv6 text, "/128" and a NUL. */
#define HERD_CIDR_STRLEN (INET6_ADDRSTRLEN + 4)

/*
 * One range. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4
 * address everywhere in herd: an entry written that way with a prefix of
 * /96 or longer is stored as IPv4, and a peer with such an address is
 * matched as IPv4. IPv6 entries never match IPv4 peers, not even ::/0.
 */
struct herd_cidr {
    int family;       /* AF_INET, AF_INET6, or AF_UNIX for "unix" */
    unsigned prefix;  /* leading bits that must match: 0..32 or 0..128 */
    uint8_t addr[16]; /* network order, IPv4 in the first 4 bytes; the
                         bits after the prefix are always zero */
};

/*
 * Parse text[0..len) (not NUL-terminated) into *out: "10.0.0.0/8",
 * "127.0.0.1" (= /32), "::1/128", "2001:db8::/32" (no prefix means the
 * whole address: /32 or /128), or the word "unix", which matches every
 * unix-socket peer. Host bits set after the prefix ("10.1.2.3/8") are an
 * error rather than silently masked: in a list of trusted proxies a typo
 * would otherwise trust far more than meant. Returns HERD_OK, or HERD_ERR
 * with a one-line reason in err (no key or position: the caller adds them).
 */
int herd_cidr_parse(const char *text, size_t len, struct herd_cidr *out,
                    char *err, size_t errlen);

/*
 * 1 when sa (AF_INET, AF_INET6 or AF_UNIX; only its family and address
 * are read) falls in c, else 0. sa may be NULL (no match).
 */
int herd_cidr_match(const struct herd_cidr *c, const struct sockaddr *sa);

/* 1 when sa falls in any of list[0..n), else 0. Allocates nothing. */
int herd_cidr_match_list(const struct herd_cidr *list, size_t n,
                         const struct sockaddr *sa);

/*
 * Write c as "10.0.0.0/8", "::1/128" or "unix" into buf, which should hold
 * HERD_CIDR_STRLEN bytes. Returns the length written (snprintf-like:
 * the length it needed when size was too small).
 */
size_t herd_cidr_format(const struct herd_cidr *c, char *buf, size_t size);

/*
 * Parse one IP literal as found in X-Forwarded-For and in the for= of a
 * Forwarded header: "192.0.2.1", "192.0.2.1:80", "2001:db8::1",
 * "[2001:db8::1]", "[2001:db8::1]:4711", each optionally in double quotes.
 * No spaces, no zone ("%eth0"), no leading zeros in a port; an IPv4-mapped
 * IPv6 address comes out as AF_INET. On success fills *out with a
 * sockaddr_in or sockaddr_in6 (port 0 when none was given), sets *outlen
 * and returns HERD_OK; anything else ("unknown", "_hidden", names,
 * garbage) returns HERD_ERR. Allocates nothing; meant for every request.
 */
int herd_cidr_parse_addr(const char *text, size_t len,
                         struct sockaddr_storage *out, socklen_t *outlen);

#endif
