/* test_uri.c: path decoding and query lookups (src/uri.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "uri.h"

/* Decode in (a C string, so no NULs) and expect exactly want. */
static void
expect_path(const char *in, const char *want)
{
    char out[256], err[HERD_ERR_LEN] = "";
    size_t outlen = 12345;
    int rc;

    memset(out, '#', sizeof(out));
    rc = herd_uri_decode_path(in, strlen(in), out, &outlen, err, sizeof(err));
    cr_assert_eq(rc, HERD_OK, "%s: %s", in, err);
    cr_assert_eq(outlen, strlen(want), "%s: length %zu, want %zu", in, outlen,
                 strlen(want));
    cr_assert(memcmp(out, want, outlen) == 0, "%s: got %.*s, want %s", in,
              (int)outlen, out, want);
    /* Never writes beyond what it decoded. */
    cr_assert_eq(out[outlen], '#', "%s: wrote past the end", in);
}

/* Expect in[0..len) to be refused, with err mentioning what. */
static void
expect_bad_n(const char *in, size_t len, const char *what)
{
    char out[256], err[HERD_ERR_LEN] = "";
    size_t outlen = 777;
    int rc;

    rc = herd_uri_decode_path(in, len, out, &outlen, err, sizeof(err));
    cr_assert_eq(rc, HERD_ERR, "%.*s was accepted", (int)len, in);
    cr_assert_eq(outlen, 777, "%.*s: outlen set on error", (int)len, in);
    cr_assert_not_null(strstr(err, what), "%.*s: err \"%s\" lacks \"%s\"",
                       (int)len, in, err, what);
}

static void
expect_bad(const char *in, const char *what)
{
    expect_bad_n(in, strlen(in), what);
}

Test(uri_path, plain_paths_unchanged)
{
    expect_path("/", "/");
    expect_path("/a", "/a");
    expect_path("/users/42/posts", "/users/42/posts");
    expect_path("/a/", "/a/");
    expect_path("//a//b//", "//a//b//");
    expect_path("/.well-known/acme", "/.well-known/acme");
    expect_path("/a.b/..c/c../...", "/a.b/..c/c../...");
    expect_path("/~user/+x", "/~user/+x");
}

Test(uri_path, escapes_decoded_once)
{
    expect_path("/%41%62c", "/Abc");
    expect_path("/a%20b", "/a b");
    expect_path("/%7e", "/~");
    expect_path("/caf%C3%A9", "/caf\xc3\xa9");
    expect_path("/%2e%2e%2e", "/...");
    expect_path("/%2Ewell-known", "/.well-known");
    expect_path("/a%3Fb%23c", "/a?b#c");
    expect_path("/a%0Ab", "/a\nb");
    expect_path("/%ff", "/\xff");
}

Test(uri_path, encoded_slash_stays_encoded)
{
    expect_path("/a%2Fb", "/a%2Fb");
    expect_path("/a%2fb", "/a%2Fb");
    expect_path("/%2F", "/%2F");
    expect_path("/files/..%2Fetc", "/files/..%2Fetc");
    expect_path("/x/%2F%2F/y", "/x/%2F%2F/y");
}

Test(uri_path, percent_stays_encoded)
{
    expect_path("/100%25", "/100%25");
    expect_path("/%25%25", "/%25%25");
    /* Double encoding decodes once: "%252e" is "%2e" as text, no dot. */
    expect_path("/%252e%252e/x", "/%252e%252e/x");
    expect_path("/%252F", "/%252F");
    expect_path("/%25252e", "/%25252e");
}

Test(uri_path, dot_segments_refused)
{
    expect_bad("/.", "dot segment");
    expect_bad("/..", "dot segment");
    expect_bad("/./", "dot segment");
    expect_bad("/../", "dot segment");
    expect_bad("/a/./b", "dot segment");
    expect_bad("/a/../b", "dot segment");
    expect_bad("/a/..", "dot segment");
    expect_bad("/a/.", "dot segment");
    expect_bad("/../../etc/passwd", "dot segment");
}

Test(uri_path, encoded_dot_segments_refused)
{
    expect_bad("/%2e", "dot segment");
    expect_bad("/%2E", "dot segment");
    expect_bad("/%2e%2e", "dot segment");
    expect_bad("/%2E%2E/", "dot segment");
    expect_bad("/%2e%2E/x", "dot segment");
    expect_bad("/%2E%2e/x", "dot segment");
    expect_bad("/.%2e/x", "dot segment");
    expect_bad("/.%2E/x", "dot segment");
    expect_bad("/%2e./x", "dot segment");
    expect_bad("/%2E./x", "dot segment");
    expect_bad("/a/%2e/b", "dot segment");
    expect_bad("/static/%2e%2e/%2e%2e/etc/passwd", "dot segment");
}

Test(uri_path, nul_refused)
{
    expect_bad("/a%00b", "%00");
    expect_bad("/%00", "%00");
    expect_bad_n("/a\0b", 4, "NUL");
    expect_bad_n("/\0", 2, "NUL");
}

Test(uri_path, malformed_escapes_refused)
{
    expect_bad("/%G1", "malformed");
    expect_bad("/%1G", "malformed");
    expect_bad("/%4", "malformed");
    expect_bad("/a%", "malformed");
    expect_bad("/%", "malformed");
    expect_bad("/%%41", "malformed");
    expect_bad("/% 41", "malformed");
    expect_bad("/%-1", "malformed");
    /* A bare "%4" at the end of a longer buffer must not read past len. */
    expect_bad_n("/%41", 3, "malformed");
}

Test(uri_path, must_start_with_slash)
{
    expect_bad("", "start");
    expect_bad("a/b", "start");
    expect_bad("*", "start");
    expect_bad("%2Fa", "start");
}

Test(uri_path, err_may_be_null)
{
    char out[8];
    size_t n;

    cr_assert_eq(herd_uri_decode_path("/..", 3, out, &n, NULL, 0), HERD_ERR);
    cr_assert_eq(herd_uri_decode_path("/ok", 3, out, &n, NULL, 0), HERD_OK);
    cr_assert_eq(n, 3);
}

Test(uri_path, output_never_longer_than_input)
{
    /* The out buffer is exactly len bytes, guarded on both sides. */
    static const char *const inputs[] = {
        "/%2f", "/%25", "/a%2Fb%25c", "/%41%42", "/plain", "/%2F%2F%2F",
    };
    char buf[64];
    size_t i, len, n;

    for (i = 0; i < HERD_ARRAY_LEN(inputs); i++) {
        len = strlen(inputs[i]);
        memset(buf, 'Z', sizeof(buf));
        cr_assert_eq(herd_uri_decode_path(inputs[i], len, buf + 1, &n, NULL, 0),
                     HERD_OK);
        cr_assert_leq(n, len);
        cr_assert_eq(buf[0], 'Z');
        cr_assert_eq(buf[1 + len], 'Z', "%s overflowed", inputs[i]);
    }
}

Test(uri_path, decodes_in_place)
{
    char buf[] = "/a%2fb/%41%25/c%20d";
    size_t n;

    cr_assert_eq(herd_uri_decode_path(buf, strlen(buf), buf, &n, NULL, 0),
                 HERD_OK);
    cr_assert_eq(n, strlen("/a%2Fb/A%25/c d"));
    cr_assert(memcmp(buf, "/a%2Fb/A%25/c d", n) == 0, "got %.*s", (int)n, buf);
}

/* Look name up in q and expect value want (NULL: HERD_ERR). */
static void
expect_query(const char *q, const char *name, const char *want)
{
    char out[64];
    size_t outlen = 999;
    int rc = herd_uri_query_get(q, strlen(q), name, out, sizeof(out), &outlen);

    if (want == NULL) {
        cr_assert_eq(rc, HERD_ERR, "%s in \"%s\": found \"%s\"", name, q, out);
        return;
    }
    cr_assert_eq(rc, HERD_OK, "%s in \"%s\": not found", name, q);
    cr_assert_str_eq(out, want, "%s in \"%s\"", name, q);
    cr_assert_eq(outlen, strlen(want));
}

Test(uri_query, simple_pairs)
{
    expect_query("a=1&b=2&c=3", "a", "1");
    expect_query("a=1&b=2&c=3", "b", "2");
    expect_query("a=1&b=2&c=3", "c", "3");
    expect_query("a=1&b=2&c=3", "d", NULL);
    expect_query("a=1", "", NULL);
    expect_query("", "a", NULL);
}

Test(uri_query, first_pair_wins)
{
    expect_query("a=1&a=2", "a", "1");
    expect_query("x=0&a=&a=2", "a", "");
}

Test(uri_query, names_compared_whole)
{
    expect_query("ab=1&a=2", "a", "2");
    expect_query("a=1", "ab", NULL);
    expect_query("A=1", "a", NULL);
    expect_query("a_b=1", "a_b", "1");
}

Test(uri_query, values_decoded)
{
    expect_query("q=hello+world", "q", "hello world");
    expect_query("q=a%20b", "q", "a b");
    expect_query("q=%2B%26%3D", "q", "+&=");
    expect_query("q=caf%c3%a9", "q", "caf\xc3\xa9");
    expect_query("q=a=b", "q", "a=b");
    expect_query("q=%25", "q", "%");
    expect_query("q=", "q", "");
    expect_query("q", "q", "");
    expect_query("x&q&y=1", "q", "");
}

Test(uri_query, names_decoded)
{
    expect_query("first+name=Ada", "first name", "Ada");
    expect_query("first%20name=Ada", "first name", "Ada");
    expect_query("%61=1", "a", "1");
    expect_query("a%5B%5D=x", "a[]", "x");
    /* A name with a bad escape never matches, later pairs still do. */
    expect_query("%zz=1&a=2", "a", "2");
    expect_query("a%=1&a=2", "a", "2");
    expect_query("a%=1", "a%", NULL);
}

Test(uri_query, empty_pairs_skipped)
{
    expect_query("&&a=1&&", "a", "1");
    expect_query("&", "a", NULL);
    expect_query("=1", "", "1");
}

Test(uri_query, bad_first_value_is_an_error)
{
    expect_query("q=%zz&q=ok", "q", NULL);
    expect_query("q=%4", "q", NULL);
    expect_query("q=a%", "q", NULL);
    expect_query("q=a%00b", "q", NULL);
    expect_query("other=%zz&q=ok", "q", "ok");
}

Test(uri_query, value_must_fit)
{
    char out[4];
    size_t n = 0;

    cr_assert_eq(herd_uri_query_get("v=abc", 5, "v", out, sizeof(out), &n),
                 HERD_OK);
    cr_assert_str_eq(out, "abc");
    cr_assert_eq(n, 3);
    cr_assert_eq(herd_uri_query_get("v=abcd", 6, "v", out, sizeof(out), &n),
                 HERD_ERR);
    /* Escapes count once decoded. */
    cr_assert_eq(
        herd_uri_query_get("v=%41%42%43", 11, "v", out, sizeof(out), &n),
        HERD_OK);
    cr_assert_str_eq(out, "ABC");
    cr_assert_eq(herd_uri_query_get("v=", 2, "v", out, 1, &n), HERD_OK);
    cr_assert_str_eq(out, "");
    cr_assert_eq(herd_uri_query_get("v=a", 3, "v", out, 1, &n), HERD_ERR);
}

Test(uri_query, presence_only)
{
    cr_assert_eq(herd_uri_query_get("a=%zz", 5, "a", NULL, 0, NULL), HERD_OK);
    cr_assert_eq(herd_uri_query_get("a=1", 3, "b", NULL, 0, NULL), HERD_ERR);
    cr_assert_eq(herd_uri_query_get(NULL, 0, "a", NULL, 0, NULL), HERD_ERR);
}

Test(uri_query, respects_len)
{
    char out[16];
    size_t n;

    /* Only "a=12" of "a=123&b=4" is given: no b, a is "12". */
    cr_assert_eq(herd_uri_query_get("a=123&b=4", 4, "a", out, sizeof(out), &n),
                 HERD_OK);
    cr_assert_str_eq(out, "12");
    cr_assert_eq(herd_uri_query_get("a=123&b=4", 5, "b", out, sizeof(out), &n),
                 HERD_ERR);
    /* An escape cut by len is malformed. */
    cr_assert_eq(herd_uri_query_get("a=%41", 4, "a", out, sizeof(out), &n),
                 HERD_ERR);
}

/* herd_uri_query_bytes: the same lookup, but %00 is a byte of the value. */
Test(query, bytes_keep_nul)
{
    char out[16];
    size_t n = 99;

    cr_assert_eq(
        herd_uri_query_bytes("q=a%00b&r=1", 11, "q", out, sizeof(out), &n),
        HERD_OK);
    cr_expect_eq(n, 3);
    cr_expect_eq(memcmp(out, "a\0b", 4), 0);
    cr_expect_eq(herd_uri_query_bytes("q=a%zz", 6, "q", out, sizeof(out), &n),
                 HERD_ERR);
    cr_expect_eq(herd_uri_query_bytes("q=abc", 5, "q", out, 3, &n), HERD_ERR);
    cr_expect_eq(herd_uri_query_bytes("x=1", 3, "q", out, sizeof(out), &n),
                 HERD_ERR);
}
