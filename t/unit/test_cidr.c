/* test_cidr.c: unit tests for address ranges and IP literals. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "cidr.h"

/* Parse text (as a C string); the test fails unless it is accepted. */
static struct herd_cidr
parse_ok(const char *text)
{
    struct herd_cidr c;
    char err[HERD_ERR_LEN] = "";

    memset(&c, 0xa5, sizeof(c));
    cr_assert_eq(herd_cidr_parse(text, strlen(text), &c, err, sizeof(err)),
                 HERD_OK, "\"%s\" refused: %s", text, err);
    return c;
}

/* Parse len bytes of text; it must be refused with exactly msg. */
static void
parse_err_n(const char *text, size_t len, const char *msg)
{
    struct herd_cidr c, before;
    char err[HERD_ERR_LEN] = "";

    memset(&c, 0x5a, sizeof(c));
    before = c;
    cr_assert_eq(herd_cidr_parse(text, len, &c, err, sizeof(err)), HERD_ERR,
                 "\"%s\" accepted, expected: %s", text, msg);
    cr_assert_str_eq(err, msg, "for \"%s\"", text);
    cr_assert(memcmp(&c, &before, sizeof(c)) == 0, "*out written on error");
}

static void
parse_err(const char *text, const char *msg)
{
    parse_err_n(text, strlen(text), msg);
}

static const char *
fmt(const struct herd_cidr *c)
{
    static char buf[HERD_CIDR_STRLEN];

    herd_cidr_format(c, buf, sizeof(buf));
    return buf;
}

/* A sockaddr for an IPv4 or IPv6 literal, or "unix". */
static struct sockaddr_storage
addr(const char *text)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (strcmp(text, "unix") == 0) {
        struct sockaddr_un *su = (struct sockaddr_un *)&ss;

        su->sun_family = AF_UNIX;
        strcpy(su->sun_path, "/run/herd.sock");
    } else if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        cr_assert_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1, "%s", text);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        cr_assert_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1, "%s", text);
    }
    return ss;
}

static int
matches(const char *cidr, const char *peer)
{
    struct herd_cidr c = parse_ok(cidr);
    struct sockaddr_storage ss = addr(peer);

    return herd_cidr_match(&c, (struct sockaddr *)&ss);
}

/* ---- parsing ------------------------------------------------------------- */

Test(cidr_parse, good_forms)
{
    static const struct {
        const char *in;
        int family;
        unsigned prefix;
        const char *out;
    } cases[] = {
        {"10.0.0.0/8", AF_INET, 8, "10.0.0.0/8"},
        {"127.0.0.1", AF_INET, 32, "127.0.0.1/32"},
        {"127.0.0.1/32", AF_INET, 32, "127.0.0.1/32"},
        {"0.0.0.0/0", AF_INET, 0, "0.0.0.0/0"},
        {"128.0.0.0/1", AF_INET, 1, "128.0.0.0/1"},
        {"192.168.1.32/27", AF_INET, 27, "192.168.1.32/27"},
        {"255.255.255.255", AF_INET, 32, "255.255.255.255/32"},
        {"::1/128", AF_INET6, 128, "::1/128"},
        {"::1", AF_INET6, 128, "::1/128"},
        {"::/0", AF_INET6, 0, "::/0"},
        {"2001:db8::/32", AF_INET6, 32, "2001:db8::/32"},
        {"2001:DB8::/32", AF_INET6, 32, "2001:db8::/32"},
        {"2001:db8:0:0:8000::/65", AF_INET6, 65, "2001:db8:0:0:8000::/65"},
        {"fe80::/10", AF_INET6, 10, "fe80::/10"},
        {"::ffff:0:0/96", AF_INET, 0, "0.0.0.0/0"},
        {"::ffff:10.0.0.0/104", AF_INET, 8, "10.0.0.0/8"},
        {"::ffff:192.0.2.1", AF_INET, 32, "192.0.2.1/32"},
        {"::ffff:c000:201/128", AF_INET, 32, "192.0.2.1/32"},
        {"::/64", AF_INET6, 64, "::/64"},
        {"unix", AF_UNIX, 0, "unix"},
    };
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(cases); i++) {
        struct herd_cidr c = parse_ok(cases[i].in);

        cr_assert_eq(c.family, cases[i].family, "%s", cases[i].in);
        cr_assert_eq(c.prefix, cases[i].prefix, "%s", cases[i].in);
        cr_assert_str_eq(fmt(&c), cases[i].out, "%s", cases[i].in);
    }
}

Test(cidr_parse, length_bounds_the_text)
{
    struct herd_cidr c;
    char err[HERD_ERR_LEN];

    /* Only len bytes are read: the rest of the buffer does not count. */
    cr_assert_eq(herd_cidr_parse("10.0.0.0/8xyz", 10, &c, err, sizeof(err)),
                 HERD_OK);
    cr_assert_str_eq(fmt(&c), "10.0.0.0/8");
    cr_assert_eq(herd_cidr_parse("unixxx", 4, &c, err, sizeof(err)), HERD_OK);
    cr_assert_eq(c.family, AF_UNIX);
}

Test(cidr_parse, errors_have_exact_messages)
{
    parse_err("", "empty value (expected an IP address, a CIDR such as "
                  "10.0.0.0/8, or unix)");
    parse_err("foo", "expected an IP address, a CIDR such as 10.0.0.0/8, or "
                     "unix, got \"foo\"");
    parse_err("localhost", "expected an IP address, a CIDR such as "
                           "10.0.0.0/8, or unix, got \"localhost\"");
    parse_err("UNIX", "expected an IP address, a CIDR such as 10.0.0.0/8, or "
                      "unix, got \"UNIX\"");
    parse_err(" 10.0.0.0/8", "expected an IP address, a CIDR such as "
                             "10.0.0.0/8, or unix, got \" 10.0.0.0/8\"");
    parse_err("/8", "expected an IP address, a CIDR such as 10.0.0.0/8, or "
                    "unix, got \"/8\"");
    parse_err("*", "expected an IP address, a CIDR such as 10.0.0.0/8, or "
                   "unix, got \"*\"");
    parse_err("1.2.3", "invalid IPv4 address \"1.2.3\"");
    parse_err("1.2.3.256", "invalid IPv4 address \"1.2.3.256\"");
    parse_err("1.2.3.4.", "invalid IPv4 address \"1.2.3.4.\"");
    parse_err("01.2.3.4/32", "invalid IPv4 address \"01.2.3.4\"");
    parse_err("1..2.3/8", "invalid IPv4 address \"1..2.3\"");
    parse_err("::g", "invalid IPv6 address \"::g\"");
    parse_err("1:2:3", "invalid IPv6 address \"1:2:3\"");
    parse_err("fe80::1%eth0", "invalid IPv6 address \"fe80::1%eth0\"");
    parse_err("2001:db8:::/48", "invalid IPv6 address \"2001:db8:::\"");
    parse_err("[::1]/128",
              "write IPv6 addresses without brackets, as in ::1/128");
    parse_err("[::1]", "write IPv6 addresses without brackets, as in ::1/128");
    parse_err("10.0.0.0/", "missing prefix length after \"/\"");
    parse_err("::/", "missing prefix length after \"/\"");
    parse_err("10.0.0.0/33",
              "invalid prefix length \"/33\" (expected 0..32 for IPv4)");
    parse_err("10.0.0.0/08",
              "invalid prefix length \"/08\" (expected 0..32 for IPv4)");
    parse_err("10.0.0.0/-1",
              "invalid prefix length \"/-1\" (expected 0..32 for IPv4)");
    parse_err("10.0.0.0/8/8",
              "invalid prefix length \"/8/8\" (expected 0..32 for IPv4)");
    parse_err("10.0.0.0/ 8",
              "invalid prefix length \"/ 8\" (expected 0..32 for IPv4)");
    parse_err("10.0.0.0/0x8",
              "invalid prefix length \"/0x8\" (expected 0..32 for IPv4)");
    parse_err("10.0.0.0/1000",
              "invalid prefix length \"/1000\" (expected 0..32 for IPv4)");
    parse_err("::/129",
              "invalid prefix length \"/129\" (expected 0..128 for IPv6)");
    parse_err("10.1.2.3/8",
              "host bits set after the /8 prefix (did you mean 10.0.0.0/8?)");
    parse_err("192.168.1.33/27", "host bits set after the /27 prefix (did "
                                 "you mean 192.168.1.32/27?)");
    parse_err("0.0.0.1/0",
              "host bits set after the /0 prefix (did you mean 0.0.0.0/0?)");
    parse_err("2001:db8::1/32", "host bits set after the /32 prefix (did you "
                                "mean 2001:db8::/32?)");
    parse_err("2001:db8:0:0:c000::/65", "host bits set after the /65 prefix "
                                        "(did you mean 2001:db8:0:0:8000::/"
                                        "65?)");
    parse_err("::ffff:10.1.0.0/104", "host bits set after the /104 prefix "
                                     "(did you mean ::ffff:10.0.0.0/104?)");
    parse_err("unix/0", "unix takes no prefix length");
    parse_err("unix/", "unix takes no prefix length");
    parse_err_n("1.2.3.4\0", 8,
                "expected an IP address, a CIDR such as 10.0.0.0/8, or unix, "
                "got \"1.2.3.4\\x00\"");
    parse_err_n("::1\0/128", 8, "invalid IPv6 address \"::1\\x00\"");
    parse_err("caf\xc3\xa9", "expected an IP address, a CIDR such as "
                             "10.0.0.0/8, or unix, got \"caf\\xc3\\xa9\"");
    parse_err("\"quoted\\\"", "expected an IP address, a CIDR such as "
                              "10.0.0.0/8, or unix, got "
                              "\"\\\"quoted\\\\\\\"\"");
    parse_err("a-very-long-name-that-goes-on-and-on-and-on-forever",
              "expected an IP address, a CIDR such as 10.0.0.0/8, or unix, "
              "got \"a-very-long-name-that-goes-on-and-on-and...\"");
}

Test(cidr_parse, small_or_missing_error_buffer)
{
    struct herd_cidr c;
    char err[8];

    cr_assert_eq(herd_cidr_parse("x", 1, &c, err, sizeof(err)), HERD_ERR);
    cr_assert_str_eq(err, "expecte");
    cr_assert_eq(herd_cidr_parse("x", 1, &c, NULL, 0), HERD_ERR);
}

Test(cidr_format, reports_the_length_needed)
{
    struct herd_cidr c = parse_ok("2001:db8::/32");
    char buf[4];

    cr_assert_eq(herd_cidr_format(&c, buf, sizeof(buf)), 13);
    cr_assert_str_eq(buf, "200");
    c = parse_ok("unix");
    cr_assert_eq(herd_cidr_format(&c, buf, sizeof(buf)), 4);
    cr_assert_str_eq(buf, "uni");
}

/* ---- matching ------------------------------------------------------------ */

Test(cidr_match, edge_prefixes)
{
    cr_assert(matches("0.0.0.0/0", "1.2.3.4"));
    cr_assert(matches("0.0.0.0/0", "255.255.255.255"));
    cr_assert_not(matches("0.0.0.0/0", "::1"), "/0 IPv4 is IPv4 only");
    cr_assert(matches("::/0", "::1"));
    cr_assert(matches("::/0", "2001:db8::1"));
    cr_assert_not(matches("::/0", "1.2.3.4"), "/0 IPv6 is IPv6 only");
    cr_assert_not(matches("::/0", "::ffff:1.2.3.4"), "mapped is IPv4");

    cr_assert(matches("128.0.0.0/1", "128.0.0.0"));
    cr_assert(matches("128.0.0.0/1", "200.1.1.1"));
    cr_assert_not(matches("128.0.0.0/1", "127.255.255.255"));
    cr_assert(matches("0.0.0.0/1", "127.255.255.255"));
    cr_assert(matches("8000::/1", "ffff::1"));
    cr_assert_not(matches("8000::/1", "7fff::1"));

    cr_assert(matches("127.0.0.1/32", "127.0.0.1"));
    cr_assert_not(matches("127.0.0.1/32", "127.0.0.2"));
    cr_assert_not(matches("127.0.0.1/32", "127.0.0.0"));
    cr_assert(matches("::1/128", "::1"));
    cr_assert_not(matches("::1/128", "::2"));
    cr_assert_not(matches("::1/128", "::"));

    cr_assert(matches("192.168.1.32/27", "192.168.1.32"));
    cr_assert(matches("192.168.1.32/27", "192.168.1.63"));
    cr_assert_not(matches("192.168.1.32/27", "192.168.1.31"));
    cr_assert_not(matches("192.168.1.32/27", "192.168.1.64"));

    cr_assert(matches("2001:db8:0:0:8000::/65", "2001:db8::8000:0:0:1"));
    cr_assert(
        matches("2001:db8:0:0:8000::/65", "2001:db8::ffff:ffff:ffff:ffff"));
    cr_assert_not(
        matches("2001:db8:0:0:8000::/65", "2001:db8::7fff:ffff:ffff:ffff"));
    cr_assert_not(matches("2001:db8:0:0:8000::/65", "2001:db8:0:1:8000::"));
    cr_assert(matches("2001:db8::/32", "2001:db8:ffff::1"));
    cr_assert_not(matches("2001:db8::/32", "2001:db9::1"));
}

/*
 * Every prefix length of both families: an address matches its own
 * network, and flipping bit b keeps it inside exactly when b >= prefix.
 */
Test(cidr_match, every_prefix_every_bit)
{
    static const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8, 0x5a, 0xa5,
                                     0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
                                     0x01, 0x23, 0x45, 0x67};
    int v;

    for (v = 4; v <= 6; v += 2) {
        int family = v == 4 ? AF_INET : AF_INET6;
        unsigned nbits = v == 4 ? 32 : 128, prefix, b;

        for (prefix = 0; prefix <= nbits; prefix++) {
            struct herd_cidr c;
            struct sockaddr_storage ss;
            char text[INET6_ADDRSTRLEN], in[HERD_CIDR_STRLEN];
            uint8_t net[16];

            memcpy(net, base, sizeof(net));
            if (v == 4)
                net[0] = 0x8a; /* keep it off the IPv4-mapped range */
            for (b = prefix; b < nbits; b++)
                net[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
            inet_ntop(family, net, text, sizeof(text));
            snprintf(in, sizeof(in), "%s/%u", text, prefix);
            c = parse_ok(in);
            cr_assert_eq(c.prefix, prefix);
            cr_assert_str_eq(fmt(&c), in);
            for (b = 0; b < nbits; b++) {
                uint8_t a[16];

                memcpy(a, base, sizeof(a));
                if (v == 4)
                    a[0] = 0x8a;
                a[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
                memset(&ss, 0, sizeof(ss));
                ss.ss_family = (sa_family_t)family;
                if (v == 4)
                    memcpy(&((struct sockaddr_in *)&ss)->sin_addr, a, 4);
                else
                    memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, a, 16);
                cr_assert_eq(herd_cidr_match(&c, (struct sockaddr *)&ss),
                             b >= prefix, "%s vs bit %u", in, b);
            }
        }
    }
}

Test(cidr_match, mapped_ipv4_is_ipv4)
{
    cr_assert(matches("10.0.0.0/8", "::ffff:10.1.2.3"));
    cr_assert_not(matches("10.0.0.0/8", "::ffff:11.1.2.3"));
    cr_assert(matches("127.0.0.1", "::ffff:127.0.0.1"));
    cr_assert(matches("::ffff:10.0.0.0/104", "10.9.9.9"));
    cr_assert(matches("::ffff:10.0.0.0/104", "::ffff:10.9.9.9"));
    cr_assert_not(matches("::ffff:10.0.0.0/104", "11.0.0.1"));
    cr_assert(matches("::ffff:0:0/96", "1.2.3.4"));
    /* Not mapped: the IPv4-compatible form and NAT64 stay IPv6. */
    cr_assert_not(matches("10.0.0.0/8", "::10.1.2.3"));
    cr_assert_not(matches("10.0.0.0/8", "64:ff9b::10.1.2.3"));
    cr_assert(matches("64:ff9b::/96", "64:ff9b::10.1.2.3"));
}

Test(cidr_match, unix_peers)
{
    struct sockaddr_storage ss;

    cr_assert(matches("unix", "unix"));
    cr_assert_not(matches("unix", "127.0.0.1"));
    cr_assert_not(matches("unix", "::1"));
    cr_assert_not(matches("0.0.0.0/0", "unix"));
    cr_assert_not(matches("::/0", "unix"));
    /* An unnamed peer (only the family filled in) is still unix. */
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    {
        struct herd_cidr c = parse_ok("unix");

        cr_assert(herd_cidr_match(&c, (struct sockaddr *)&ss));
    }
}

Test(cidr_match, null_and_other_families)
{
    struct herd_cidr c = parse_ok("0.0.0.0/0");
    struct sockaddr_storage ss;

    cr_assert_not(herd_cidr_match(&c, NULL));
    cr_assert_not(herd_cidr_match_list(&c, 1, NULL));
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    cr_assert_not(herd_cidr_match(&c, (struct sockaddr *)&ss));
    ss.ss_family = AF_PACKET;
    cr_assert_not(herd_cidr_match_list(&c, 1, (struct sockaddr *)&ss));
}

Test(cidr_match, lists)
{
    struct herd_cidr list[4];
    struct sockaddr_storage ss;

    list[0] = parse_ok("10.0.0.0/8");
    list[1] = parse_ok("::1");
    list[2] = parse_ok("unix");
    list[3] = parse_ok("192.168.0.0/16");
    ss = addr("1.2.3.4");
    cr_assert_not(herd_cidr_match_list(list, 0, (struct sockaddr *)&ss));
    cr_assert_not(herd_cidr_match_list(list, 4, (struct sockaddr *)&ss));
    ss = addr("192.168.7.7");
    cr_assert(herd_cidr_match_list(list, 4, (struct sockaddr *)&ss));
    cr_assert_not(herd_cidr_match_list(list, 3, (struct sockaddr *)&ss));
    ss = addr("::ffff:10.0.0.1");
    cr_assert(herd_cidr_match_list(list, 4, (struct sockaddr *)&ss));
    ss = addr("::1");
    cr_assert(herd_cidr_match_list(list, 4, (struct sockaddr *)&ss));
    ss = addr("unix");
    cr_assert(herd_cidr_match_list(list, 4, (struct sockaddr *)&ss));
    cr_assert_not(herd_cidr_match_list(list, 2, (struct sockaddr *)&ss));
}

/* ---- IP literals --------------------------------------------------------- */

static void
literal_ok(const char *text, int family, const char *ip, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char buf[INET6_ADDRSTRLEN];
    const void *a;
    unsigned p;

    cr_assert_eq(herd_cidr_parse_addr(text, strlen(text), &ss, &len), HERD_OK,
                 "\"%s\" refused", text);
    cr_assert_eq(ss.ss_family, family, "%s", text);
    if (family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

        cr_assert_eq(len, sizeof(*s4));
        a = &s4->sin_addr;
        p = ntohs(s4->sin_port);
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

        cr_assert_eq(len, sizeof(*s6));
        a = &s6->sin6_addr;
        p = ntohs(s6->sin6_port);
    }
    inet_ntop(family, a, buf, sizeof(buf));
    cr_assert_str_eq(buf, ip, "%s", text);
    cr_assert_eq(p, port, "%s", text);
}

static void
literal_bad_n(const char *text, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = 77;

    cr_assert_eq(herd_cidr_parse_addr(text, len, &ss, &sl), HERD_ERR,
                 "\"%.*s\" accepted", (int)len, text);
    cr_assert_eq(sl, 77, "*outlen written on error");
}

static void
literal_bad(const char *text)
{
    literal_bad_n(text, strlen(text));
}

Test(cidr_literal, good)
{
    literal_ok("1.2.3.4", AF_INET, "1.2.3.4", 0);
    literal_ok("1.2.3.4:80", AF_INET, "1.2.3.4", 80);
    literal_ok("1.2.3.4:0", AF_INET, "1.2.3.4", 0);
    literal_ok("1.2.3.4:65535", AF_INET, "1.2.3.4", 65535);
    literal_ok("\"1.2.3.4\"", AF_INET, "1.2.3.4", 0);
    literal_ok("\"192.0.2.43:47011\"", AF_INET, "192.0.2.43", 47011);
    literal_ok("2001:db8::1", AF_INET6, "2001:db8::1", 0);
    literal_ok("2001:db8::1:80", AF_INET6, "2001:db8::1:80", 0);
    literal_ok("[2001:db8::1]", AF_INET6, "2001:db8::1", 0);
    literal_ok("[2001:db8::1]:4711", AF_INET6, "2001:db8::1", 4711);
    literal_ok("\"[2001:db8::1]\"", AF_INET6, "2001:db8::1", 0);
    literal_ok("\"[2001:db8:cafe::17]:4711\"", AF_INET6, "2001:db8:cafe::17",
               4711);
    literal_ok("::1", AF_INET6, "::1", 0);
    literal_ok("[::]:1", AF_INET6, "::", 1);
    literal_ok("::ffff:1.2.3.4", AF_INET, "1.2.3.4", 0);
    literal_ok("[::ffff:1.2.3.4]:5", AF_INET, "1.2.3.4", 5);
    literal_ok("[::FFFF:0102:0304]", AF_INET, "1.2.3.4", 0);
}

Test(cidr_literal, not_addresses)
{
    static const char *const bad[] = {
        "",
        "unknown",
        "_hidden",
        "\"_hidden\"",
        "\"unknown\"",
        "example.com",
        "localhost:80",
        "1.2.3",
        "1.2.3.256",
        "01.2.3.4",
        "1.2.3.4:",
        "1.2.3.4:65536",
        "1.2.3.4:080",
        "1.2.3.4:8a",
        "1.2.3.4:-1",
        "1.2.3.4:123456",
        "1.2.3.4:_obf",
        " 1.2.3.4",
        "1.2.3.4 ",
        "1.2.3.4,5.6.7.8",
        "[2001:db8::1",
        "2001:db8::1]",
        "[2001:db8::1]x",
        "[2001:db8::1]:",
        "[2001:db8::1]:99999",
        "[2001:db8::1]:_port",
        "[1.2.3.4]",
        "[1.2.3.4]:80",
        "[]",
        "[]:80",
        "fe80::1%eth0",
        "[fe80::1%eth0]:80",
        "2001:db8::g",
        "\"",
        "\"\"",
        "\"1.2.3.4",
        "1.2.3.4\"",
        "'1.2.3.4'",
        ":80",
        ":",
        "::::",
    };
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(bad); i++)
        literal_bad(bad[i]);
    literal_bad_n("1.2.3.4\0", 8);
    literal_bad_n("[::1\0]", 6);
    literal_bad_n("1.2.3.4:8\0", 10);
}

Test(cidr_literal, length_bounds_the_text)
{
    struct sockaddr_storage ss;
    socklen_t len;

    cr_assert_eq(herd_cidr_parse_addr("1.2.3.4, 5.6.7.8", 7, &ss, &len),
                 HERD_OK);
    cr_assert_eq(herd_cidr_parse_addr("1.2.3.4:80x", 10, &ss, &len), HERD_OK);
    cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 80);
}
