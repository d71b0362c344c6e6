/* test_redirect.c: redirect templates, compiled and rendered (redirect.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"
#include "redirect.h"
#include "router.h"

/* A match with the given name/value pairs, NULL-terminated. */
static void
make_match(struct herd_match *m, const char *const *kv)
{
    memset(m, 0, sizeof(*m));
    for (; kv[0] != NULL; kv += 2) {
        m->params[m->nparams].name = kv[0];
        m->params[m->nparams].name_len = strlen(kv[0]);
        m->params[m->nparams].value = kv[1];
        m->params[m->nparams].value_len = strlen(kv[1]);
        m->nparams++;
    }
}

static struct herd_redirect *
compile_ok(const char *target, const char *pattern, int status)
{
    char err[HERD_ERR_LEN] = "";
    struct herd_redirect *rd;

    rd = herd_redirect_compile(target, pattern, status, err, sizeof(err));
    cr_assert_not_null(rd, "%s for %s: %s", target, pattern, err);
    cr_assert_eq(herd_redirect_status(rd), status);
    return rd;
}

static void
compile_bad(const char *target, const char *pattern, int status,
            const char *what)
{
    char err[HERD_ERR_LEN] = "";

    cr_assert_null(
        herd_redirect_compile(target, pattern, status, err, sizeof(err)),
        "%s for %s was accepted", target, pattern);
    cr_assert_not_null(strstr(err, what), "%s: err \"%s\" lacks \"%s\"", target,
                       err, what);
}

/* Render target for pattern with the pairs in kv and query; expect want. */
static void
expect_render(const char *target, const char *pattern, const char *const *kv,
              const char *query, const char *want)
{
    struct herd_redirect *rd = compile_ok(target, pattern, 308);
    struct herd_match m;
    char out[512];
    size_t n = 0;
    int rc;

    make_match(&m, kv);
    rc = herd_redirect_render(rd, &m, query, query ? strlen(query) : 0, out,
                              sizeof(out), &n);
    cr_assert_eq(rc, HERD_OK, "%s: render failed", target);
    cr_assert_str_eq(out, want, "%s", target);
    cr_assert_eq(n, strlen(want));
    herd_redirect_free(rd);
}

static const char *const none[] = {NULL};

Test(redirect, status_codes)
{
    static const int good[] = {301, 302, 303, 307, 308};
    static const int bad[] = {0, -1, 200, 300, 304, 305, 306, 309, 404, 3010};
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(good); i++)
        cr_assert(herd_redirect_status_valid(good[i]), "%d", good[i]);
    for (i = 0; i < HERD_ARRAY_LEN(bad); i++) {
        cr_assert_not(herd_redirect_status_valid(bad[i]), "%d", bad[i]);
        compile_bad("/x", "/y", bad[i], "status");
    }
}

Test(redirect, literal_targets)
{
    expect_render("https://example.com/", "/old", none, NULL,
                  "https://example.com/");
    expect_render("/new", "/old", none, NULL, "/new");
    expect_render("https://example.com:8443/a", "/old", none, NULL,
                  "https://example.com:8443/a");
    expect_render("http://[::1]:8080/", "/old", none, NULL,
                  "http://[::1]:8080/");
    expect_render("svn+ssh.x-y://h/p", "/old", none, NULL, "svn+ssh.x-y://h/p");
    expect_render("/a:9/b", "/old", none, NULL, "/a:9/b");
    expect_render("/a:/b", "/old", none, NULL, "/a:/b");
    expect_render("/a%20b?x=1#f", "/old", none, NULL, "/a%20b?x=1#f");
}

Test(redirect, parameters_substituted)
{
    static const char *const id[] = {"id", "42", NULL};
    static const char *const two[] = {"org", "acme", "repo", "herd", NULL};

    expect_render("https://example.com/users/:id", "/u/:id", id, NULL,
                  "https://example.com/users/42");
    expect_render("https://example.com:8080/users/:id", "/u/:id", id, NULL,
                  "https://example.com:8080/users/42");
    expect_render("/:id/:id", "/u/:id", id, NULL, "/42/42");
    expect_render("/users/:id.json", "/u/:id", id, NULL, "/users/42.json");
    expect_render("/search?user=:id&x=1", "/u/:id", id, NULL,
                  "/search?user=42&x=1");
    expect_render("/g/:repo/:org", "/:org/:repo", two, NULL, "/g/herd/acme");
    expect_render("/:org:repo", "/:org/:repo", two, NULL, "/acmeherd");
    expect_render("/x-:org", "/:org/:repo", two, NULL, "/x-acme");
    expect_render("http://[::1]/:id", "/u/:id", id, NULL, "http://[::1]/42");
}

Test(redirect, wildcard_substituted)
{
    static const char *const w[] = {"*", "img/logo.png", NULL};
    static const char *const empty[] = {"*", "", NULL};
    static const char *const both[] = {"v", "2", "*", "a/b", NULL};

    expect_render("https://cdn.example.com/*", "/static/*", w, NULL,
                  "https://cdn.example.com/img/logo.png");
    expect_render("https://cdn.example.com/*", "/static/*", empty, NULL,
                  "https://cdn.example.com/");
    expect_render("/api/:v/*", "/old/:v/*", both, NULL, "/api/2/a/b");
}

Test(redirect, escapes_in_template)
{
    static const char *const id[] = {"id", "7", NULL};

    expect_render("/a\\:b/\\*/:id", "/u/:id", id, NULL, "/a:b/*/7");
    expect_render("/\\:id", "/u/:id", id, NULL, "/:id");
}

Test(redirect, values_percent_encoded)
{
    static const char *const sp[] = {"id", "a b", NULL};
    static const char *const delims[] = {"id", "?#&=+;:@!$'()*,", NULL};
    static const char *const utf8[] = {"id", "caf\xc3\xa9", NULL};
    static const char *const crlf[] = {"id", "x\r\nSet-Cookie: a=b", NULL};
    static const char *const slash[] = {"id", "a/b", NULL};
    static const char *const kept[] = {"id", "a%2Fb%25c", NULL};
    static const char *const stray[] = {"id", "%zz%4", NULL};
    static const char *const safe[] = {"id", "AZaz09-._~", NULL};
    static const char *const wild[] = {"*", "dir name/x%2Fy/?q", NULL};

    expect_render("/u/:id", "/x/:id", sp, NULL, "/u/a%20b");
    expect_render("/u/:id", "/x/:id", delims, NULL,
                  "/u/%3F%23%26%3D%2B%3B%3A%40%21%24%27%28%29%2A%2C");
    expect_render("/u/:id", "/x/:id", utf8, NULL, "/u/caf%C3%A9");
    expect_render("/u/:id", "/x/:id", crlf, NULL,
                  "/u/x%0D%0ASet-Cookie%3A%20a%3Db");
    /* A parameter holds one segment: a '/' in it is encoded. */
    expect_render("/u/:id", "/x/:id", slash, NULL, "/u/a%2Fb");
    /* The escapes of the match form stay as they are. */
    expect_render("/u/:id", "/x/:id", kept, NULL, "/u/a%2Fb%25c");
    expect_render("/u/:id", "/x/:id", stray, NULL, "/u/%25zz%254");
    expect_render("/u/:id", "/x/:id", safe, NULL, "/u/AZaz09-._~");
    /* The wildcard keeps its slashes. */
    expect_render("/n/*", "/o/*", wild, NULL, "/n/dir%20name/x%2Fy/%3Fq");
}

Test(redirect, query_appended)
{
    static const char *const id[] = {"id", "1", NULL};

    expect_render("/new", "/old", none, "a=1&b=2", "/new?a=1&b=2");
    expect_render("/new?x=1", "/old", none, "a=1", "/new?x=1&a=1");
    expect_render("/new#top", "/old", none, "a=1", "/new#top");
    expect_render("/new", "/old", none, "", "/new");
    expect_render("/new", "/old", none, NULL, "/new");
    expect_render("/u/:id", "/x/:id", id, "q=%20x", "/u/1?q=%20x");
    /* What must not reach a header or change the URI is encoded. */
    expect_render("/new", "/old", none, "a=\"<b>\"\\^`{|}#",
                  "/new?a=%22%3Cb%3E%22%5C%5E%60%7B%7C%7D%23");
    expect_render("/new", "/old", none, "a=1 2\r\n\x7f\xff",
                  "/new?a=1%202%0D%0A%7F%FF");
}

Test(redirect, unknown_parameter)
{
    compile_bad("/x/:nope", "/u/:id", 301, ":nope");
    compile_bad("/x/:nope", "/u/:id", 301, "not a parameter");
    compile_bad("/x/:i", "/u/:id", 301, ":i\"");
    compile_bad("/x/:idx", "/u/:id", 301, ":idx");
    compile_bad("/x/:id", "/u/id", 301, ":id");
    compile_bad("/x/:id", "/u/*", 301, ":id");
    compile_bad("https://user:pass@host/", "/u", 301, ":pass");
    compile_bad("/x/:_a", "/u/:id", 301, ":_a");
}

Test(redirect, wildcard_needs_wildcard_route)
{
    compile_bad("/x/*", "/u/:id", 302, "no wildcard");
    compile_bad("*", "/", 302, "no wildcard");
}

Test(redirect, bad_bytes)
{
    compile_bad("", "/u", 301, "empty");
    compile_bad("/a b", "/u", 301, "0x20");
    compile_bad("/a\tb", "/u", 301, "0x09");
    compile_bad("/a\r\nb", "/u", 301, "0x0d");
    compile_bad("/caf\xc3\xa9", "/u", 301, "0xc3");
    compile_bad("/a\x7f", "/u", 301, "0x7f");
    compile_bad("/a\\b", "/u", 301, "'\\'");
    compile_bad("/a\\", "/u", 301, "'\\'");
    cr_assert_null(herd_redirect_compile(NULL, "/u", 301, NULL, 0));
    cr_assert_null(herd_redirect_compile("/x", NULL, 301, NULL, 0));
}

Test(redirect, output_must_fit)
{
    static const char *const kv[] = {"id", "a b", NULL};
    struct herd_redirect *rd = compile_ok("/u/:id", "/x/:id", 301);
    struct herd_match m;
    char out[32];
    size_t n = 0, cap;
    const char *want = "/u/a%20b?q=1";
    int rc;

    make_match(&m, kv);
    /* Exactly enough room (with the NUL), and every size below it. */
    for (cap = 0; cap <= strlen(want) + 1; cap++) {
        memset(out, 'Z', sizeof(out));
        rc = herd_redirect_render(rd, &m, "q=1", 3, out, cap, &n);

        if (cap == strlen(want) + 1) {
            cr_assert_eq(rc, HERD_OK);
            cr_assert_str_eq(out, want);
        } else {
            cr_assert_eq(rc, HERD_ERR, "cap %zu", cap);
        }
        cr_assert_eq(out[cap], 'Z', "cap %zu: wrote past the end", cap);
    }
    herd_redirect_free(rd);
}

Test(redirect, missing_parameter_at_render)
{
    static const char *const other[] = {"name", "x", NULL};
    struct herd_redirect *rd = compile_ok("/u/:id", "/x/:id", 301);
    struct herd_match m;
    char out[64];
    size_t n;

    make_match(&m, other);
    cr_assert_eq(herd_redirect_render(rd, &m, NULL, 0, out, sizeof(out), &n),
                 HERD_ERR);
    herd_redirect_free(rd);
}

Test(redirect, with_the_router)
{
    struct herd_router *r = herd_router_new();
    struct herd_redirect *rd;
    struct herd_match m;
    char err[HERD_ERR_LEN], out[256];
    const char *path = "/old/7/docs/a%2Fb/c d";
    size_t n;
    int data;

    cr_assert_not_null(r);
    cr_assert_eq(herd_router_add(r, "/old/:id/*", HERD_M_GET, &data, NULL, err,
                                 sizeof(err)),
                 HERD_OK, "%s", err);
    rd = compile_ok("https://new.example/items/:id/*", "/old/:id/*", 301);
    cr_assert_eq(herd_router_match(r, path, strlen(path), HERD_M_GET, &m),
                 HERD_ROUTE_FOUND);
    cr_assert_eq(herd_redirect_render(rd, &m, "v=1", 3, out, sizeof(out), &n),
                 HERD_OK);
    cr_assert_str_eq(out, "https://new.example/items/7/docs/a%2Fb/c%20d?v=1");
    herd_redirect_free(rd);
    herd_router_free(r);
}

Test(redirect, free_accepts_null)
{
    herd_redirect_free(NULL);
}
