/* test_proxy.c: unit tests for client resolution and the PROXY protocol. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "proxy.h"

/* ---- helpers ------------------------------------------------------------- */

static const char *const default_trusted[] = {
    "10.0.0.0/8",         "192.168.0.0/16", "::1",
    "2001:db8:ffff::/48", "unix",           "127.0.0.1",
};

static struct herd_cidr trusted[16];
static size_t ntrusted;

static void
trust(const char *const *list, size_t n)
{
    char err[HERD_ERR_LEN];
    size_t i;

    cr_assert_leq(n, HERD_ARRAY_LEN(trusted));
    for (i = 0; i < n; i++)
        cr_assert_eq(herd_cidr_parse(list[i], strlen(list[i]), &trusted[i], err,
                                     sizeof(err)),
                     HERD_OK, "%s", err);
    ntrusted = n;
}

static void
setup(void)
{
    trust(default_trusted, HERD_ARRAY_LEN(default_trusted));
}

/* A peer address from "unix", an IPv4 or an IPv6 literal, port 40000. */
static socklen_t
peer_addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strcmp(text, "unix") == 0) {
        ss->ss_family = AF_UNIX;
        return (socklen_t)sizeof(sa_family_t); /* unnamed, as accept says */
    }
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(40000);
        cr_assert_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
        return (socklen_t)sizeof(*s6);
    }
    {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons(40000);
        cr_assert_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1);
        return (socklen_t)sizeof(*s4);
    }
}

static unsigned
port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

/*
 * Resolve the client of a request from peer (NULL: unknown) carrying
 * fields, "Name: value" lines separated by "\n" (the value is what
 * follows ": ", spaces kept).
 */
static struct herd_proxy_client
resolve(enum herd_proxy_source src, const char *peer, const char *fields)
{
    struct herd_proxy_walk w;
    struct herd_proxy_client out;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    const char *line = fields;

    if (peer != NULL)
        sl = peer_addr(peer, &ss);
    herd_proxy_walk_begin(&w, trusted, ntrusted, src,
                          peer != NULL ? (struct sockaddr *)&ss : NULL, sl);
    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n');
        const char *colon = strchr(line, ':');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        const char *value;

        cr_assert(colon != NULL && (size_t)(colon - line) < len);
        value = colon + 1;
        if (*value == ' ')
            value++;
        /* Copy the value so that any over-read shows under ASan. */
        {
            size_t vlen = len - (size_t)(value - line);
            char *v = malloc(vlen + 1);

            cr_assert_not_null(v);
            memcpy(v, value, vlen);
            herd_proxy_walk_field(&w, line, (size_t)(colon - line), v, vlen);
            free(v);
        }
        line = end != NULL ? end + 1 : NULL;
    }
    memset(&out, 0x5a, sizeof(out));
    herd_proxy_walk_end(&w, &out);
    return out;
}

static void
xff_is(const char *peer, const char *fields, const char *want)
{
    struct herd_proxy_client c = resolve(HERD_PROXY_XFF, peer, fields);

    cr_assert_str_eq(c.text, want, "peer %s, %s", peer, fields);
}

static void
fwd_is(const char *peer, const char *fields, const char *want)
{
    struct herd_proxy_client c = resolve(HERD_PROXY_FORWARDED, peer, fields);

    cr_assert_str_eq(c.text, want, "peer %s, %s", peer, fields);
}

/* ---- X-Forwarded-For ----------------------------------------------------- */

TestSuite(xff, .init = setup);
TestSuite(forwarded, .init = setup);
TestSuite(scheme, .init = setup);

Test(xff, untrusted_peer_ignores_headers)
{
    struct herd_proxy_client c =
        resolve(HERD_PROXY_XFF, "203.0.113.5",
                "X-Forwarded-For: 1.2.3.4\nX-Forwarded-Proto: https");

    cr_assert_str_eq(c.text, "203.0.113.5");
    cr_assert_eq(c.addr.ss_family, AF_INET);
    cr_assert_eq(port_of(&c.addr), 40000);
    cr_assert_eq(c.addrlen, sizeof(struct sockaddr_in));
    cr_assert_eq(c.peer_trusted, 0);
    cr_assert_eq(c.forwarded, 0);
    cr_assert_eq(c.scheme, HERD_SCHEME_NONE);
    xff_is("2001:db8::5", "X-Forwarded-For: 1.2.3.4", "2001:db8::5");
    xff_is("11.0.0.1", "X-Forwarded-For: 10.0.0.2", "11.0.0.1");
}

Test(xff, trusted_peer_without_header_is_the_client)
{
    struct herd_proxy_client c =
        resolve(HERD_PROXY_XFF, "10.0.0.1", "Host: x\nUser-Agent: y");

    cr_assert_str_eq(c.text, "10.0.0.1");
    cr_assert_eq(c.peer_trusted, 1);
    cr_assert_eq(c.forwarded, 0);
    cr_assert_eq(port_of(&c.addr), 40000);
}

Test(xff, right_to_left_walk)
{
    struct herd_proxy_client c;

    c = resolve(HERD_PROXY_XFF, "10.0.0.1", "X-Forwarded-For: 1.2.3.4");
    cr_assert_str_eq(c.text, "1.2.3.4");
    cr_assert_eq(c.forwarded, 1);
    cr_assert_eq(c.peer_trusted, 1);
    cr_assert_eq(c.addrlen, sizeof(struct sockaddr_in));
    cr_assert_eq(port_of(&c.addr), 0);
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, 10.0.0.2", "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-For: 5.6.7.8, 1.2.3.4, 10.0.0.2",
           "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-For: 5.6.7.8, 1.2.3.4", "1.2.3.4");
    xff_is("10.0.0.1",
           "X-Forwarded-For: 5.6.7.8, 10.9.9.9, 1.2.3.4, 192.168.1.1, "
           "10.0.0.2",
           "1.2.3.4");
    /* A trusted hop left of the client is never reached. */
    xff_is("10.0.0.1", "X-Forwarded-For: 10.0.0.7, 1.2.3.4, 10.0.0.2",
           "1.2.3.4");
}

Test(xff, all_trusted_gives_the_left_most)
{
    xff_is("10.0.0.1", "X-Forwarded-For: 10.0.0.3, 10.0.0.2", "10.0.0.3");
    xff_is("10.0.0.1", "X-Forwarded-For: 192.168.0.9, ::1, 10.0.0.2",
           "192.168.0.9");
    xff_is("10.0.0.1", "X-Forwarded-For: 127.0.0.1", "127.0.0.1");
}

Test(xff, spaces_and_empty_elements)
{
    xff_is("10.0.0.1", "X-Forwarded-For:   1.2.3.4 ,\t10.0.0.2  ", "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4,10.0.0.2", "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-For: ,, 1.2.3.4,,10.0.0.2,,", "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-For: ", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For: , ,\t,", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, , ", "1.2.3.4");
}

Test(xff, ports_and_ipv6)
{
    struct herd_proxy_client c;

    c = resolve(HERD_PROXY_XFF, "10.0.0.1",
                "X-Forwarded-For: 1.2.3.4:5678, 10.0.0.2:80");
    cr_assert_str_eq(c.text, "1.2.3.4");
    cr_assert_eq(port_of(&c.addr), 5678);
    c = resolve(HERD_PROXY_XFF, "10.0.0.1",
                "X-Forwarded-For: [2001:db8::1]:443, 10.0.0.2");
    cr_assert_str_eq(c.text, "2001:db8::1");
    cr_assert_eq(c.addr.ss_family, AF_INET6);
    cr_assert_eq(c.addrlen, sizeof(struct sockaddr_in6));
    cr_assert_eq(port_of(&c.addr), 443);
    xff_is("10.0.0.1", "X-Forwarded-For: 2001:db8::1", "2001:db8::1");
    xff_is("10.0.0.1", "X-Forwarded-For: [2001:db8::1]", "2001:db8::1");
    xff_is("::1", "X-Forwarded-For: 1.2.3.4, 2001:db8:ffff::9", "1.2.3.4");
    xff_is("::1", "X-Forwarded-For: 2001:db8:1::1, [2001:db8:ffff::9]:80",
           "2001:db8:1::1");
    /* IPv4-mapped addresses are IPv4, in the header and as the peer. */
    c = resolve(HERD_PROXY_XFF, "10.0.0.1", "X-Forwarded-For: ::ffff:1.2.3.4");
    cr_assert_str_eq(c.text, "1.2.3.4");
    cr_assert_eq(c.addr.ss_family, AF_INET);
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, ::ffff:10.0.0.9", "1.2.3.4");
    c = resolve(HERD_PROXY_XFF, "::ffff:10.0.0.1", "X-Forwarded-For: 1.2.3.4");
    cr_assert_str_eq(c.text, "1.2.3.4");
    cr_assert_eq(c.peer_trusted, 1);
    c = resolve(HERD_PROXY_XFF, "::ffff:203.0.113.9",
                "X-Forwarded-For: 1.2.3.4");
    cr_assert_str_eq(c.text, "203.0.113.9");
    cr_assert_eq(c.addr.ss_family, AF_INET);
    cr_assert_eq(c.addrlen, sizeof(struct sockaddr_in));
    cr_assert_eq(port_of(&c.addr), 40000);
}

Test(xff, malformed_elements_stop_the_walk)
{
    /* The client is then the last good hop, which is trusted. */
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, garbage, 10.0.0.2",
           "10.0.0.2");
    xff_is("10.0.0.1", "X-Forwarded-For: garbage", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, unknown", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, _hidden, 10.0.0.2",
           "10.0.0.2");
    xff_is("10.0.0.1", "X-Forwarded-For: 10.0.0.5, _hidden, 10.0.0.3, 10.0.0.2",
           "10.0.0.3");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, example.com", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, 1.2.3.4 5.6.7.8", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, 1.2.3.4:99999", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, [2001:db8::1", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4, 1.2.3.4;x", "10.0.0.1");
    /* Garbage left of the client is never looked at. */
    xff_is("10.0.0.1", "X-Forwarded-For: garbage, 1.2.3.4", "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-For: garbage, 1.2.3.4, 10.0.0.2",
           "1.2.3.4");
    {
        struct herd_proxy_client c = resolve(
            HERD_PROXY_XFF, "10.0.0.1", "X-Forwarded-For: 1.2.3.4, unknown");

        cr_assert_eq(c.forwarded, 0);
        cr_assert_eq(port_of(&c.addr), 40000);
    }
}

Test(xff, several_header_lines_are_one_list)
{
    xff_is("10.0.0.1",
           "X-Forwarded-For: 5.6.7.8, 1.2.3.4\nX-Forwarded-For: 10.0.0.2",
           "1.2.3.4");
    xff_is("10.0.0.1",
           "X-Forwarded-For: 1.2.3.4\nX-Forwarded-For: 10.0.0.3, 10.0.0.2",
           "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-For: 10.0.0.3\nX-Forwarded-For: 1.2.3.4",
           "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4\nX-Forwarded-For: garbage",
           "10.0.0.1");
    xff_is("10.0.0.1",
           "X-Forwarded-For: 10.0.0.4\nHost: a\nX-Forwarded-For: 10.0.0.3",
           "10.0.0.4");
    xff_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4,\nX-Forwarded-For: ,",
           "1.2.3.4");
    xff_is("10.0.0.1", "x-forwarded-for: 1.2.3.4", "1.2.3.4");
    xff_is("10.0.0.1", "X-FORWARDED-FOR: 1.2.3.4", "1.2.3.4");
    xff_is("10.0.0.1", "X-Forwarded-Fo: 1.2.3.4", "10.0.0.1");
    xff_is("10.0.0.1", "X-Forwarded-For-X: 1.2.3.4", "10.0.0.1");
    xff_is("10.0.0.1", "X-Real-IP: 1.2.3.4", "10.0.0.1");
}

Test(xff, forwarded_header_is_ignored)
{
    xff_is("10.0.0.1", "Forwarded: for=9.9.9.9", "10.0.0.1");
    xff_is("10.0.0.1", "Forwarded: for=9.9.9.9\nX-Forwarded-For: 1.2.3.4",
           "1.2.3.4");
}

Test(xff, unix_and_unknown_peers)
{
    struct herd_proxy_client c;
    static const char *const no_unix[] = {"10.0.0.0/8"};

    c = resolve(HERD_PROXY_XFF, "unix", "X-Forwarded-For: 1.2.3.4");
    cr_assert_str_eq(c.text, "1.2.3.4");
    cr_assert_eq(c.peer_trusted, 1);
    c = resolve(HERD_PROXY_XFF, "unix", "");
    cr_assert_str_eq(c.text, "unix:");
    cr_assert_eq(c.addr.ss_family, AF_UNIX);
    c = resolve(HERD_PROXY_XFF, NULL, "X-Forwarded-For: 1.2.3.4");
    cr_assert_str_eq(c.text, "unknown");
    cr_assert_eq(c.peer_trusted, 0);
    cr_assert_eq(c.addrlen, 0);
    trust(no_unix, 1);
    c = resolve(HERD_PROXY_XFF, "unix", "X-Forwarded-For: 1.2.3.4");
    cr_assert_str_eq(c.text, "unix:");
    cr_assert_eq(c.peer_trusted, 0);
}

Test(xff, empty_trusted_list_trusts_nobody)
{
    struct herd_proxy_walk w;
    struct sockaddr_storage ss;
    socklen_t sl = peer_addr("127.0.0.1", &ss);

    ntrusted = 0;
    xff_is("127.0.0.1", "X-Forwarded-For: 1.2.3.4", "127.0.0.1");
    xff_is("unix", "X-Forwarded-For: 1.2.3.4", "unix:");
    herd_proxy_walk_begin(&w, NULL, 0, HERD_PROXY_XFF, (struct sockaddr *)&ss,
                          sl);
    cr_assert_eq(herd_proxy_walk_trusted(&w), 0);
    herd_proxy_walk_begin(&w, trusted, 0, HERD_PROXY_XFF,
                          (struct sockaddr *)&ss, sl);
    cr_assert_eq(herd_proxy_walk_trusted(&w), 0);
    trust(default_trusted, HERD_ARRAY_LEN(default_trusted));
    herd_proxy_walk_begin(&w, trusted, ntrusted, HERD_PROXY_XFF,
                          (struct sockaddr *)&ss, sl);
    cr_assert_eq(herd_proxy_walk_trusted(&w), 1);
}

Test(xff, long_chains_are_linear)
{
    /* 4000 trusted hops and the client at the far left. */
    size_t n = 4000, i, o = 0;
    char *v = malloc(n * 16 + 32);
    struct herd_proxy_walk w;
    struct herd_proxy_client c;
    struct sockaddr_storage ss;
    socklen_t sl = peer_addr("10.0.0.1", &ss);

    cr_assert_not_null(v);
    o += (size_t)sprintf(v + o, "1.2.3.4");
    for (i = 0; i < n; i++)
        o += (size_t)sprintf(v + o, ", 10.%zu.%zu.1", i / 256, i % 256);
    herd_proxy_walk_begin(&w, trusted, ntrusted, HERD_PROXY_XFF,
                          (struct sockaddr *)&ss, sl);
    herd_proxy_walk_field(&w, "X-Forwarded-For", 15, v, o);
    herd_proxy_walk_end(&w, &c);
    cr_assert_str_eq(c.text, "1.2.3.4");
    free(v);
}

/* ---- X-Forwarded-Proto and proto= ---------------------------------------- */

static enum herd_scheme
scheme_of(enum herd_proxy_source src, const char *peer, const char *fields)
{
    return resolve(src, peer, fields).scheme;
}

Test(scheme, x_forwarded_proto)
{
    enum herd_proxy_source x = HERD_PROXY_XFF;

    cr_assert_eq(scheme_of(x, "10.0.0.1", "X-Forwarded-Proto: https"),
                 HERD_SCHEME_HTTPS);
    cr_assert_eq(scheme_of(x, "10.0.0.1", "X-Forwarded-Proto: http"),
                 HERD_SCHEME_HTTP);
    cr_assert_eq(scheme_of(x, "10.0.0.1", "x-forwarded-proto: HTTPS"),
                 HERD_SCHEME_HTTPS);
    cr_assert_eq(scheme_of(x, "10.0.0.1", "X-Forwarded-Proto:  https \t"),
                 HERD_SCHEME_HTTPS);
    cr_assert_eq(scheme_of(x, "10.0.0.1",
                           "X-Forwarded-For: 1.2.3.4\n"
                           "X-Forwarded-Proto: https"),
                 HERD_SCHEME_HTTPS);
    cr_assert_eq(scheme_of(x, "10.0.0.1", ""), HERD_SCHEME_NONE);
    cr_assert_eq(scheme_of(x, "10.0.0.1", "X-Forwarded-Proto: ftp"),
                 HERD_SCHEME_NONE);
    cr_assert_eq(scheme_of(x, "10.0.0.1", "X-Forwarded-Proto: httpss"),
                 HERD_SCHEME_NONE);
    cr_assert_eq(scheme_of(x, "10.0.0.1", "X-Forwarded-Proto: "),
                 HERD_SCHEME_NONE);
    cr_assert_eq(scheme_of(x, "10.0.0.1", "X-Forwarded-Proto: https, http"),
                 HERD_SCHEME_NONE, "a list is ambiguous");
    cr_assert_eq(scheme_of(x, "10.0.0.1",
                           "X-Forwarded-Proto: https\n"
                           "X-Forwarded-Proto: https"),
                 HERD_SCHEME_NONE, "two lines are a list");
    cr_assert_eq(scheme_of(x, "10.0.0.1", "X-Forwarded-Proto: https,"),
                 HERD_SCHEME_HTTPS, "empty elements do not count");
    cr_assert_eq(scheme_of(x, "203.0.113.1", "X-Forwarded-Proto: https"),
                 HERD_SCHEME_NONE, "untrusted peer");
    cr_assert_eq(
        scheme_of(HERD_PROXY_FORWARDED, "10.0.0.1", "X-Forwarded-Proto: https"),
        HERD_SCHEME_NONE, "not read for Forwarded");
}

Test(scheme, forwarded_proto_of_the_client_element)
{
    enum herd_proxy_source f = HERD_PROXY_FORWARDED;

    cr_assert_eq(scheme_of(f, "10.0.0.1", "Forwarded: for=1.2.3.4;proto=https"),
                 HERD_SCHEME_HTTPS);
    cr_assert_eq(scheme_of(f, "10.0.0.1",
                           "Forwarded: for=1.2.3.4;proto=https, "
                           "for=10.0.0.2;proto=http"),
                 HERD_SCHEME_HTTPS);
    cr_assert_eq(
        scheme_of(f, "10.0.0.1", "Forwarded: for=1.2.3.4;proto=\"HTTP\""),
        HERD_SCHEME_HTTP);
    cr_assert_eq(scheme_of(f, "10.0.0.1", "Forwarded: for=1.2.3.4"),
                 HERD_SCHEME_NONE);
    cr_assert_eq(scheme_of(f, "10.0.0.1", "Forwarded: for=1.2.3.4;proto=ws"),
                 HERD_SCHEME_NONE);
    cr_assert_eq(scheme_of(f, "10.0.0.1", "Forwarded: proto=https"),
                 HERD_SCHEME_NONE, "no for=: not a usable hop");
    cr_assert_eq(
        scheme_of(f, "203.0.113.1", "Forwarded: for=1.2.3.4;proto=https"),
        HERD_SCHEME_NONE);
    cr_assert_eq(
        scheme_of(f, "10.0.0.1", "Forwarded: for=1.2.3.4;proto=\"ht\\tp\""),
        HERD_SCHEME_NONE);
}

/* ---- Forwarded ----------------------------------------------------------- */

Test(forwarded, rfc7239_examples)
{
    struct herd_proxy_client c;

    fwd_is("10.0.0.1", "Forwarded: for=\"_gazonk\"", "10.0.0.1");
    c = resolve(HERD_PROXY_FORWARDED, "10.0.0.1",
                "Forwarded: For=\"[2001:db8:cafe::17]:4711\"");
    cr_assert_str_eq(c.text, "2001:db8:cafe::17");
    cr_assert_eq(port_of(&c.addr), 4711);
    cr_assert_eq(c.forwarded, 1);
    c = resolve(HERD_PROXY_FORWARDED, "10.0.0.1",
                "Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43");
    cr_assert_str_eq(c.text, "192.0.2.60");
    cr_assert_eq(c.scheme, HERD_SCHEME_HTTP);
    c = resolve(HERD_PROXY_FORWARDED, "10.0.0.1",
                "Forwarded: for=192.0.2.43, for=198.51.100.17;"
                "by=203.0.113.60;proto=http;host=example.com");
    cr_assert_str_eq(c.text, "198.51.100.17");
    cr_assert_eq(c.scheme, HERD_SCHEME_HTTP);
}

Test(forwarded, walk_and_case)
{
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4", "1.2.3.4");
    fwd_is("10.0.0.1", "forwarded: FOR=1.2.3.4", "1.2.3.4");
    fwd_is("10.0.0.1", "FORWARDED: fOr=1.2.3.4;PROTO=HTTPS", "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4, for=10.0.0.2", "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: for=10.0.0.3, for=10.0.0.2", "10.0.0.3");
    fwd_is("10.0.0.1",
           "Forwarded: for=5.6.7.8, for=1.2.3.4;by=10.0.0.2, "
           "for=10.0.0.2;by=10.0.0.1",
           "1.2.3.4");
    fwd_is("203.0.113.1", "Forwarded: for=1.2.3.4", "203.0.113.1");
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.4:80\"", "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: for=\"[2001:db8::1]\"", "2001:db8::1");
    fwd_is("10.0.0.1", "Forwarded: for=\"[::ffff:1.2.3.4]:1\"", "1.2.3.4");
}

Test(forwarded, obfuscated_identifiers)
{
    struct herd_proxy_client c;

    fwd_is("10.0.0.1", "Forwarded: for=unknown", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=_hidden", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=\"unknown\"", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4, for=unknown", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=_hidden, for=10.0.0.2", "10.0.0.2");
    fwd_is("10.0.0.1", "Forwarded: for=unknown, for=1.2.3.4", "1.2.3.4");
    /* An obfuscated port hides the port, not the address. */
    c = resolve(HERD_PROXY_FORWARDED, "10.0.0.1",
                "Forwarded: for=\"[2001:db8::1]:_abc-1.x\"");
    cr_assert_str_eq(c.text, "2001:db8::1");
    cr_assert_eq(port_of(&c.addr), 0);
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.4:_p\"", "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.4:_\"", "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.4:_a!b\"", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=\"_node:80\"", "10.0.0.1");
}

Test(forwarded, syntax_errors_stop_the_walk)
{
    /* IPv6 and ports must be quoted: ':' and '[' are not token bytes. */
    fwd_is("10.0.0.1", "Forwarded: for=[2001:db8::1]", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4:80", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.4", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4;for=5.6.7.8", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4;proto=http;proto=https",
           "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4;by=a;by=b", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4;host=a;host=b", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: =1.2.3.4", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for = 1.2.3.4", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4 x", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.\\4\"", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.4\\", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4, garbage", "10.0.0.1");
    /* The hop right of the error is the client. */
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4, for=[::1], for=10.0.0.2",
           "10.0.0.2");
    /* A by= alone is a hop that does not say where it came from. */
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4, by=10.0.0.9", "10.0.0.1");
    /* Unknown parameters are extensions: fine. */
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4;secret=\"x y\";x=1", "1.2.3.4");
}

Test(forwarded, quoted_commas_and_resync)
{
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4;x=\"a,b\", for=10.0.0.2",
           "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.4\", for=10.0.0.2", "1.2.3.4");
    /* After an error, commas inside quotes do not end the element. */
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4 junk=\"a,b\", for=10.0.0.2",
           "10.0.0.2");
    fwd_is("10.0.0.1",
           "Forwarded: for=1.2.3.4 junk=\"a\\\",for=5.6.7.8\", for=10.0.0.2",
           "10.0.0.2");
    fwd_is("10.0.0.1", "Forwarded: x x=\"a,for=5.6.7.8\"", "10.0.0.1");
}

Test(forwarded, spaces_empty_elements_and_lines)
{
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4 ; proto=https", "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded:   for=1.2.3.4\t,\tfor=10.0.0.2  ",
           "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: , for=1.2.3.4 ,, ;, ", "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4;;proto=http;", "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: ", "10.0.0.1");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4\nForwarded: for=10.0.0.2",
           "1.2.3.4");
    fwd_is("10.0.0.1", "Forwarded: for=10.0.0.3\nForwarded: for=1.2.3.4",
           "1.2.3.4");
    /* An element never spans two lines: an open quote ends at the line. */
    fwd_is("10.0.0.1", "Forwarded: for=\"1.2.3.4\nForwarded: for=5.6.7.8",
           "5.6.7.8");
    fwd_is("10.0.0.1", "Forwarded: for=1.2.3.4\nForwarded: for=\"10.0.0.2",
           "10.0.0.1");
}

Test(forwarded, x_forwarded_for_is_ignored)
{
    fwd_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4", "10.0.0.1");
    fwd_is("10.0.0.1", "X-Forwarded-For: 1.2.3.4\nForwarded: for=5.6.7.8",
           "5.6.7.8");
}

/* ---- PROXY protocol: split invariance ------------------------------------ */

struct verdict {
    int rc;
    size_t consumed;
    char err[HERD_ERR_LEN];
    struct herd_proxy_header h;
};

/* Parse the first k bytes from a buffer of exactly k bytes (for ASan). */
static void
parse_prefix(const char *buf, size_t k, struct verdict *v)
{
    char *copy = malloc(k > 0 ? k : 1);

    cr_assert_not_null(copy);
    memcpy(copy, buf, k);
    memset(v, 0, sizeof(*v));
    memset(&v->h, 0x5a, sizeof(v->h));
    v->consumed = 12345;
    v->rc = herd_proxy_protocol_parse(copy, k, &v->h, &v->consumed, v->err,
                                      sizeof(v->err));
    free(copy);
}

/*
 * Feed buf[0..n) one byte more at a time and check that the verdict never
 * changes once given, that HERD_AGAIN leaves *out and *consumed alone,
 * and that the final verdict is want_rc (with want_err or want_consumed).
 * Returns the number of bytes at which the verdict was first given.
 */
static size_t
check_split(const char *buf, size_t n, int want_rc, size_t want_consumed,
            const char *want_err)
{
    struct verdict fin, v;
    size_t k, decided = SIZE_MAX;

    parse_prefix(buf, n, &fin);
    cr_assert_eq(fin.rc, want_rc, "rc %d, want %d (%s)", fin.rc, want_rc,
                 fin.err);
    if (want_rc == HERD_OK) {
        cr_assert_eq(fin.consumed, want_consumed);
        cr_assert_str_eq(fin.err, "");
    } else if (want_rc == HERD_ERR) {
        cr_assert_str_eq(fin.err, want_err);
    }
    for (k = 0;; k = k < 4096 || k + 1024 >= n ? k + 1 : k + 997) {
        /* Long v2 headers: every byte of the first 4 KiB and of the last
           1 KiB, every 997th in the middle. */
        parse_prefix(buf, k, &v);
        if (v.rc == HERD_AGAIN) {
            cr_assert_eq(decided, SIZE_MAX, "AGAIN at %zu after a verdict", k);
            cr_assert_eq(v.consumed, 12345, "*consumed written on AGAIN");
        } else {
            if (decided == SIZE_MAX)
                decided = k;
            cr_assert_eq(v.rc, fin.rc, "at %zu bytes: rc %d, then %d (%s)", k,
                         v.rc, fin.rc, v.err);
            cr_assert_str_eq(v.err, fin.err, "at %zu bytes", k);
            if (v.rc == HERD_OK) {
                cr_assert_eq(v.consumed, fin.consumed);
                cr_assert(memcmp(&v.h, &fin.h, sizeof(v.h)) == 0);
            } else {
                cr_assert_eq(v.consumed, 12345, "*consumed written on ERR");
            }
        }
        if (k == n)
            break;
    }
    return decided;
}

static void
good(const char *buf, size_t n, size_t consumed)
{
    size_t at = check_split(buf, n, HERD_OK, consumed, NULL);

    cr_assert_eq(at, consumed, "OK at %zu bytes, want %zu", at, consumed);
}

/* Refused with msg, once exactly `at` bytes have arrived. */
static void
bad(const char *buf, size_t n, const char *msg, size_t at)
{
    size_t got = check_split(buf, n, HERD_ERR, 0, msg);

    cr_assert_eq(got, at, "\"%s\": refused at %zu bytes, want %zu", msg, got,
                 at);
}

static void
bad_str(const char *s, const char *msg, size_t at)
{
    bad(s, strlen(s), msg, at);
}

static struct herd_proxy_header
parse_all(const char *buf, size_t n, size_t *consumed)
{
    struct herd_proxy_header h;
    char err[HERD_ERR_LEN] = "";

    cr_assert_eq(
        herd_proxy_protocol_parse(buf, n, &h, consumed, err, sizeof(err)),
        HERD_OK, "%s", err);
    return h;
}

/* "ip port" of an inet sockaddr, or "unix PATH". */
static const char *
show(const struct sockaddr_storage *ss)
{
    static char out[2][160];
    static int which;
    char ip[INET6_ADDRSTRLEN];
    char *o = out[which++ % 2];

    if (ss->ss_family == AF_UNIX) {
        snprintf(o, 160, "unix %.108s",
                 ((const struct sockaddr_un *)ss)->sun_path);
        return o;
    }
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip,
                  sizeof(ip));
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip,
                  sizeof(ip));
    snprintf(o, 160, "%s %u", ip, port_of(ss));
    return o;
}

/* ---- PROXY v1 ------------------------------------------------------------ */

#define FFFF "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

Test(proxy_v1, tcp4_with_request_after)
{
    static const char line[] = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 "
                               "443\r\n";
    static const char buf[] = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 "
                              "443\r\nGET / HTTP/1.1\r\n\r\n";
    struct herd_proxy_header h;
    size_t consumed;

    good(buf, sizeof(buf) - 1, sizeof(line) - 1);
    h = parse_all(buf, sizeof(buf) - 1, &consumed);
    cr_assert_eq(h.version, 1);
    cr_assert_eq(h.local, 0);
    cr_assert_eq(h.family, AF_INET);
    cr_assert_eq(h.srclen, sizeof(struct sockaddr_in));
    cr_assert_eq(h.dstlen, sizeof(struct sockaddr_in));
    cr_assert_str_eq(show(&h.src), "192.168.0.1 56324");
    cr_assert_str_eq(show(&h.dst), "192.168.0.11 443");
    cr_assert_str_eq(buf + consumed, "GET / HTTP/1.1\r\n\r\n");
}

Test(proxy_v1, good_lines)
{
    static const struct {
        const char *line, *src, *dst;
        int family;
    } cases[] = {
        {"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
         "255.255.255.255 65535", "255.255.255.255 65535", AF_INET},
        {"PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", "0.0.0.0 0", "0.0.0.0 0",
         AF_INET},
        {"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", "2001:db8::1 1",
         "2001:db8::2 65535", AF_INET6},
        {"PROXY TCP6 " FFFF " " FFFF " 65535 65535\r\n", FFFF " 65535",
         FFFF " 65535", AF_INET6},
        {"PROXY TCP6 ::FFFF:1.2.3.4 ::1 80 8080\r\n", "::ffff:1.2.3.4 80",
         "::1 8080", AF_INET6},
        {"PROXY TCP6 :: ::1 10 20\r\n", ":: 10", "::1 20", AF_INET6},
    };
    size_t i, consumed;

    cr_assert_eq(strlen(cases[3].line), 104);
    for (i = 0; i < HERD_ARRAY_LEN(cases); i++) {
        struct herd_proxy_header h;
        size_t n = strlen(cases[i].line);

        good(cases[i].line, n, n);
        h = parse_all(cases[i].line, n, &consumed);
        cr_assert_eq(h.family, cases[i].family, "%s", cases[i].line);
        cr_assert_str_eq(show(&h.src), cases[i].src);
        cr_assert_str_eq(show(&h.dst), cases[i].dst);
    }
}

Test(proxy_v1, unknown_keeps_the_real_addresses)
{
    static const char *const lines[] = {
        "PROXY UNKNOWN\r\n",
        "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
        "PROXY UNKNOWN " FFFF " " FFFF " 65535 65535\r\n",
        "PROXY UNKNOWN anything\tat all\r\r\n",
        "PROXY UNKNOWN \r\n",
    };
    size_t i, consumed;

    cr_assert_eq(strlen(lines[2]), 107);
    for (i = 0; i < HERD_ARRAY_LEN(lines); i++) {
        struct herd_proxy_header h;
        size_t n = strlen(lines[i]);

        if (i == 3) {
            /* CR CR LF: the first CR needs its LF. */
            bad(lines[i], n, "PROXY v1: expected CRLF at the end", n - 1);
            continue;
        }
        good(lines[i], n, n);
        h = parse_all(lines[i], n, &consumed);
        cr_assert_eq(h.version, 1);
        cr_assert_eq(h.family, AF_UNSPEC);
        cr_assert_eq(h.srclen, 0);
        cr_assert_eq(h.dstlen, 0);
    }
}

Test(proxy_v1, rejections)
{
    bad_str("GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "not a PROXY protocol header (unexpected byte 0x47 at offset 0)",
            1);
    bad_str("\x16\x03\x01\x02\x00",
            "not a PROXY protocol header (unexpected byte 0x16 at offset 0)",
            1);
    bad_str("POST / HTTP/1.1\r\n",
            "not a PROXY protocol header (unexpected byte 0x4f at offset 1)",
            2);
    bad_str("PRI * HTTP/2.0\r\n",
            "not a PROXY protocol header (unexpected byte 0x49 at offset 2)",
            3);
    bad_str("PROXZ TCP4",
            "not a PROXY protocol header (unexpected byte 0x5a at offset 4)",
            5);
    bad_str("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            "not a PROXY protocol header (unexpected byte 0x70 at offset 0)",
            1);
    bad_str("PROXYTCP4", "PROXY v1: expected a single space after PROXY", 6);
    bad_str("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY v1: expected a single space after PROXY", 7);
    bad_str("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)", 10);
    bad_str("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)", 7);
    bad_str("PROXY TCP 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)", 10);
    bad_str("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)", 8);
    bad_str("PROXY TCP44 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)", 11);
    bad_str("PROXY UNKNOWNX\r\n",
            "PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)", 14);
    bad_str("PROXY \r\n",
            "PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)", 7);
    bad_str("PROXY UNKNOWN\n", "PROXY v1: expected CRLF at the end", 14);
    bad_str("PROXY UNKNOWN x\ny\r\n", "PROXY v1: expected CRLF at the end", 16);
    bad_str("PROXY UNKNOWN\rX", "PROXY v1: expected CRLF at the end", 15);
    bad_str("PROXY TCP4\r\n",
            "PROXY v1: line ends early (expected PROXY TCP4|TCP6 SOURCE "
            "DESTINATION SOURCE-PORT DESTINATION-PORT)",
            11);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            "PROXY v1: line ends early (expected PROXY TCP4|TCP6 SOURCE "
            "DESTINATION SOURCE-PORT DESTINATION-PORT)",
            29);
    bad_str("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
            "PROXY v1: expected a single space between fields", 20);
    bad_str("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY v1: expected a single space between fields", 12);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n",
            "PROXY v1: expected a single space between fields", 30);
    bad_str("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
            "PROXY v1: invalid source address", 19);
    bad_str("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
            "PROXY v1: invalid source address", 21);
    bad_str("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY v1: invalid source address", 20);
    bad_str("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
            "PROXY v1: invalid source address", 17);
    bad_str("PROXY TCP4 1.2.3.4.5.6.7.8.9 5.6.7.8 1 2\r\n",
            "PROXY v1: invalid source address", 27);
    bad_str("PROXY TCP4 2001:db8::1 ::1 1 2\r\n",
            "PROXY v1: invalid source address", 16);
    bad_str("PROXY TCP4 1.2.3.4 1.2.3.4x 1 2\r\n",
            "PROXY v1: invalid destination address", 27);
    bad_str("PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
            "PROXY v1: invalid source address", 19);
    bad_str("PROXY TCP6 ::1 ::g 1 2\r\n",
            "PROXY v1: invalid destination address", 18);
    bad_str("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
            "PROXY v1: invalid source address", 19);
    bad_str("PROXY TCP6 [::1] ::1 1 2\r\n", "PROXY v1: invalid source address",
            12);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            "PROXY v1: invalid source port", 30);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n",
            "PROXY v1: invalid source port", 30);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            "PROXY v1: invalid source port", 33);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n",
            "PROXY v1: invalid source port", 33);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
            "PROXY v1: invalid source port", 28);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
            "PROXY v1: invalid destination port", 35);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
            "PROXY v1: expected CRLF at the end", 31);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
            "PROXY v1: expected CRLF at the end", 31);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
            "PROXY v1: expected CRLF at the end", 32);
    bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
            "PROXY v1: expected CRLF at the end", 32);
    bad("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33,
        "PROXY v1: invalid source address", 19);
}

Test(proxy_v1, no_crlf_in_107_bytes)
{
    char buf[300];
    size_t n;

    /* 108 bytes with the CRLF at the very end: one byte too long. */
    n = (size_t)snprintf(buf, sizeof(buf),
                         "PROXY UNKNOWN " FFFF " " FFFF " 65535 655355\r\n");
    cr_assert_eq(n, 108);
    bad(buf, n, "PROXY v1: no CRLF in the first 107 bytes", 107);
    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "PROXY UNKNOWN ", 14);
    bad(buf, sizeof(buf), "PROXY v1: no CRLF in the first 107 bytes", 107);
    /* TCP6 with the longest addresses text allows cannot fit. */
    n = (size_t)snprintf(buf, sizeof(buf),
                         "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255."
                         "255.255 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255."
                         "255 65535 65535\r\n");
    bad(buf, n, "PROXY v1: no CRLF in the first 107 bytes", 107);
    n = (size_t)snprintf(buf, sizeof(buf),
                         "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255."
                         "255.255 ::1 1 2\r\n");
    good(buf, n, n);
}

/* ---- PROXY v2 ------------------------------------------------------------ */

static const char sig[12] = "\r\n\r\n\0\r\nQUIT\n";

/* A v2 header: signature, ver_cmd, fam, declared length, then body. */
static size_t
v2(char *out, unsigned ver_cmd, unsigned fam, size_t declared, const void *body,
   size_t bodylen)
{
    memcpy(out, sig, 12);
    out[12] = (char)ver_cmd;
    out[13] = (char)fam;
    out[14] = (char)(declared >> 8);
    out[15] = (char)(declared & 0xff);
    if (bodylen > 0)
        memcpy(out + 16, body, bodylen);
    return 16 + bodylen;
}

static const unsigned char inet4_block[12] = {
    192, 0, 2, 1, 198, 51, 100, 7, 0x30, 0x39, 0x01, 0xbb,
};

static size_t
inet6_block(unsigned char *b)
{
    struct in6_addr a;

    inet_pton(AF_INET6, "2001:db8::17", &a);
    memcpy(b, &a, 16);
    inet_pton(AF_INET6, "2001:db8::1", &a);
    memcpy(b + 16, &a, 16);
    b[32] = 0x11;
    b[33] = 0x5c;
    b[34] = 0x00;
    b[35] = 0x50;
    return 36;
}

Test(proxy_v2, tcp4_with_tlvs_and_request)
{
    unsigned char body[64];
    char buf[256];
    size_t n, blen = 0, consumed;
    struct herd_proxy_header h;

    memcpy(body, inet4_block, 12);
    blen = 12;
    memcpy(body + blen, "\x01\x00\x02h2", 5); /* ALPN */
    blen += 5;
    memcpy(body + blen, "\x04\x00\x00", 3); /* NOOP, empty */
    blen += 3;
    memcpy(body + blen, "\x02\x00\x05local", 8); /* AUTHORITY */
    blen += 8;
    n = v2(buf, 0x21, 0x11, blen, body, blen);
    memcpy(buf + n, "GET / HTTP/1.1\r\n\r\n", 18);
    good(buf, n + 18, n);
    h = parse_all(buf, n + 18, &consumed);
    cr_assert_eq(consumed, 16 + 28);
    cr_assert_eq(h.version, 2);
    cr_assert_eq(h.local, 0);
    cr_assert_eq(h.family, AF_INET);
    cr_assert_str_eq(show(&h.src), "192.0.2.1 12345");
    cr_assert_str_eq(show(&h.dst), "198.51.100.7 443");
    cr_assert_eq(h.srclen, sizeof(struct sockaddr_in));
}

Test(proxy_v2, tcp6_and_unix)
{
    unsigned char body[300];
    char buf[400];
    size_t n, consumed;
    struct herd_proxy_header h;

    n = v2(buf, 0x21, 0x21, 36, body, inet6_block(body));
    good(buf, n, n);
    h = parse_all(buf, n, &consumed);
    cr_assert_eq(h.family, AF_INET6);
    cr_assert_str_eq(show(&h.src), "2001:db8::17 4444");
    cr_assert_str_eq(show(&h.dst), "2001:db8::1 80");
    cr_assert_eq(h.dstlen, sizeof(struct sockaddr_in6));

    memset(body, 0, sizeof(body));
    strcpy((char *)body, "/run/haproxy/client.sock");
    strcpy((char *)body + 108, "/run/herd.sock");
    n = v2(buf, 0x21, 0x31, 216, body, 216);
    good(buf, n, n);
    h = parse_all(buf, n, &consumed);
    cr_assert_eq(h.family, AF_UNIX);
    cr_assert_str_eq(show(&h.src), "unix /run/haproxy/client.sock");
    cr_assert_str_eq(show(&h.dst), "unix /run/herd.sock");
    cr_assert_eq(h.srclen, sizeof(struct sockaddr_un));

    /* A full 108-byte path has no NUL: it is kept whole. */
    memset(body, 'p', 216);
    n = v2(buf, 0x21, 0x31, 216, body, 216);
    h = parse_all(buf, n, &consumed);
    cr_assert(memcmp(((struct sockaddr_un *)&h.src)->sun_path, body, 108) == 0);
}

Test(proxy_v2, local_unspec_and_datagram_keep_the_real_addresses)
{
    unsigned char body[300];
    char buf[400];
    size_t n, consumed;
    struct herd_proxy_header h;

    /* LOCAL (a health check): no address, whatever the family byte. */
    n = v2(buf, 0x20, 0x00, 0, NULL, 0);
    good(buf, n, n);
    h = parse_all(buf, n, &consumed);
    cr_assert_eq(h.version, 2);
    cr_assert_eq(h.local, 1);
    cr_assert_eq(h.family, AF_UNSPEC);
    cr_assert_eq(h.srclen, 0);
    n = v2(buf, 0x20, 0x11, 12, inet4_block, 12);
    good(buf, n, n);
    cr_assert_eq(parse_all(buf, n, &consumed).family, AF_UNSPEC);
    n = v2(buf, 0x20, 0xff, 3, "abc", 3);
    good(buf, n, n);
    cr_assert_eq(parse_all(buf, n, &consumed).local, 1);
    /* PROXY with UNSPEC: accepted, nothing to use (bytes skipped). */
    n = v2(buf, 0x21, 0x00, 5, "\x01\x02\x03\x04\x05", 5);
    good(buf, n, n);
    h = parse_all(buf, n, &consumed);
    cr_assert_eq(h.local, 0);
    cr_assert_eq(h.family, AF_UNSPEC);
    /* UDP and unix datagram fall back to UNSPEC, as the spec asks. */
    n = v2(buf, 0x21, 0x12, 12, inet4_block, 12);
    good(buf, n, n);
    cr_assert_eq(parse_all(buf, n, &consumed).family, AF_UNSPEC);
    n = v2(buf, 0x21, 0x22, 36, body, inet6_block(body));
    good(buf, n, n);
    memset(body, 0, 216);
    n = v2(buf, 0x21, 0x32, 216, body, 216);
    good(buf, n, n);
    cr_assert_eq(parse_all(buf, n, &consumed).family, AF_UNSPEC);
}

Test(proxy_v2, longest_header)
{
    size_t n = 16 + 65535, consumed;
    char *buf = malloc(n + 4);
    unsigned char *body;
    size_t tlv = 65535 - 12 - 3;

    cr_assert_not_null(buf);
    body = (unsigned char *)buf + 16;
    memcpy(body, inet4_block, 12);
    body[12] = 0x04;
    body[13] = (unsigned char)(tlv >> 8);
    body[14] = (unsigned char)(tlv & 0xff);
    memset(body + 15, 'x', tlv);
    v2(buf, 0x21, 0x11, 65535, NULL, 0);
    memcpy(buf + n, "GET ", 4);
    good(buf, n + 4, n);
    cr_assert_eq(parse_all(buf, n, &consumed).family, AF_INET);
    cr_assert_eq(consumed, HERD_PROXY_V2_MAX);
    free(buf);
}

Test(proxy_v2, rejections)
{
    unsigned char body[300];
    char buf[400];
    size_t n, i;

    /* Each byte of the signature is checked as it arrives. */
    for (i = 0; i < 12; i++) {
        char msg[128];

        n = v2(buf, 0x21, 0x11, 12, inet4_block, 12);
        buf[i] = (char)(buf[i] ^ 0x40);
        snprintf(msg, sizeof(msg),
                 "not a PROXY protocol header (unexpected byte 0x%02x at "
                 "offset %zu)",
                 (unsigned)(unsigned char)buf[i], i);
        bad(buf, n, msg, i + 1);
    }
    n = v2(buf, 0x11, 0x11, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: unsupported version 1", 13);
    n = v2(buf, 0x01, 0x11, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: unsupported version 0", 13);
    n = v2(buf, 0x31, 0x11, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: unsupported version 3", 13);
    n = v2(buf, 0x22, 0x11, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: unknown command 0x2", 13);
    n = v2(buf, 0x2f, 0x11, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: unknown command 0xf", 13);
    n = v2(buf, 0x21, 0x13, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: invalid address family and transport 0x13", 14);
    n = v2(buf, 0x21, 0x10, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: invalid address family and transport 0x10", 14);
    n = v2(buf, 0x21, 0x41, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: invalid address family and transport 0x41", 14);
    n = v2(buf, 0x21, 0x01, 12, inet4_block, 12);
    bad(buf, n, "PROXY v2: invalid address family and transport 0x01", 14);
    n = v2(buf, 0x21, 0x11, 11, inet4_block, 11);
    bad(buf, n,
        "PROXY v2: address block of 11 bytes is too short for family 0x11 "
        "(12 needed)",
        16);
    n = v2(buf, 0x21, 0x11, 0, NULL, 0);
    bad(buf, n,
        "PROXY v2: address block of 0 bytes is too short for family 0x11 "
        "(12 needed)",
        16);
    n = v2(buf, 0x21, 0x21, 12, inet4_block, 12);
    bad(buf, n,
        "PROXY v2: address block of 12 bytes is too short for family 0x21 "
        "(36 needed)",
        16);
    memset(body, 0, sizeof(body));
    n = v2(buf, 0x21, 0x31, 215, body, 215);
    bad(buf, n,
        "PROXY v2: address block of 215 bytes is too short for family 0x31 "
        "(216 needed)",
        16);
    n = v2(buf, 0x21, 0x12, 11, inet4_block, 11);
    bad(buf, n,
        "PROXY v2: address block of 11 bytes is too short for family 0x12 "
        "(12 needed)",
        16);
    /* TLV framing: a short tail, a length past the end. */
    memcpy(body, inet4_block, 12);
    memcpy(body + 12, "\x04\x00", 2);
    n = v2(buf, 0x21, 0x11, 14, body, 14);
    bad(buf, n, "PROXY v2: malformed TLV at offset 28", 16);
    memcpy(body + 12,
           "\x04\x00\x0a"
           "abcde",
           8);
    n = v2(buf, 0x21, 0x11, 20, body, 20);
    bad(buf, n, "PROXY v2: malformed TLV at offset 28", 31);
    memcpy(body + 12, "\x01\x00\x01h\x04\x00\x05xy", 9);
    n = v2(buf, 0x21, 0x11, 21, body, 21);
    bad(buf, n, "PROXY v2: malformed TLV at offset 32", 35);
    /* Truncated: never decided, however long one waits. */
    n = v2(buf, 0x21, 0x11, 12, inet4_block, 11);
    cr_assert_eq(check_split(buf, n, HERD_AGAIN, 0, NULL), SIZE_MAX);
}

Test(proxy, empty_and_null_error_buffer)
{
    struct herd_proxy_header h;
    size_t consumed = 7;
    char err[4] = "abc";

    cr_assert_eq(
        herd_proxy_protocol_parse("", 0, &h, &consumed, err, sizeof(err)),
        HERD_AGAIN);
    cr_assert_eq(consumed, 7);
    cr_assert_eq(
        herd_proxy_protocol_parse("GET", 3, &h, &consumed, err, sizeof(err)),
        HERD_ERR);
    cr_assert_str_eq(err, "not");
    cr_assert_eq(herd_proxy_protocol_parse("GET", 3, &h, &consumed, NULL, 0),
                 HERD_ERR);
}

/*
 * Random bytes and mutated good headers: whatever the verdict, it never
 * depends on how the bytes were split, and nothing reads past the end.
 */
Test(proxy, fuzz_split_invariance)
{
    static const char *const seeds[] = {
        "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /",
        "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n",
        "PROXY UNKNOWN x y\r\n",
    };
    unsigned seed = 4242;
    char buf[400];
    unsigned char body[300];
    size_t i, j, n;

    for (i = 0; i < 3000; i++) {
        unsigned kind = (unsigned)rand_r(&seed) % 5;

        if (kind < 3) {
            n = strlen(seeds[kind]);
            memcpy(buf, seeds[kind], n);
        } else if (kind == 3) {
            memcpy(body, inet4_block, 12);
            memcpy(body + 12, "\x01\x00\x02h2", 5);
            n = v2(buf, 0x21, 0x11, 17, body, 17);
        } else {
            n = 1 + (size_t)rand_r(&seed) % 120;
            for (j = 0; j < n; j++)
                buf[j] = (char)(rand_r(&seed) % 256);
            if (rand_r(&seed) % 2)
                memcpy(buf, rand_r(&seed) % 2 ? "PROXY " : sig, n < 6 ? n : 6);
        }
        for (j = 1 + (size_t)rand_r(&seed) % 3; j > 0; j--)
            buf[(size_t)rand_r(&seed) % n] = (char)(rand_r(&seed) % 256);
        {
            struct verdict fin;

            parse_prefix(buf, n, &fin);
            check_split(buf, n, fin.rc, fin.consumed, fin.err);
        }
    }
}

/* The client's text for an IPv4 peer is what inet_ntop writes, for every
   digit count of every octet. */
Test(proxy, ipv4_text_matches_inet_ntop)
{
    static const unsigned char octets[] = {0, 1, 9, 10, 42, 99, 100, 199, 255};
    struct herd_proxy_walk w;
    struct herd_proxy_client out;
    struct sockaddr_in sa;
    char want[INET_ADDRSTRLEN];
    size_t a, b, c;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    for (a = 0; a < sizeof(octets); a++)
        for (b = 0; b < sizeof(octets); b++)
            for (c = 0; c < sizeof(octets); c++) {
                unsigned char *p = (unsigned char *)&sa.sin_addr;

                p[0] = octets[a];
                p[1] = octets[b];
                p[2] = octets[c];
                p[3] = octets[(a + b + c) % sizeof(octets)];
                herd_proxy_walk_begin(&w, NULL, 0, HERD_PROXY_XFF,
                                      (struct sockaddr *)&sa, sizeof(sa));
                herd_proxy_walk_end(&w, &out);
                cr_assert_not_null(
                    inet_ntop(AF_INET, &sa.sin_addr, want, sizeof(want)));
                cr_assert_str_eq(out.text, want);
            }
}
