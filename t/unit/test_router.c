/* test_router.c: unit tests for the segment trie router (src/router.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "config.h"
#include "router.h"

/* Distinct addresses to hand to the router as route data. */
static int d_a, d_b, d_c, d_d;

static struct herd_router *router;

static void
setup(void)
{
    router = herd_router_new();
    cr_assert_not_null(router);
}

static void
teardown(void)
{
    herd_router_free(router);
    router = NULL;
}

static void
add(const char *pattern, unsigned methods, void *data)
{
    char err[HERD_ERR_LEN] = "";
    void *conflict = &d_d;
    int rc = herd_router_add(router, pattern, methods, data, &conflict, err,
                             sizeof(err));

    cr_assert_eq(rc, HERD_OK, "add %s: %s", pattern, err);
    cr_assert_null(conflict, "add %s set *conflict", pattern);
}

static enum herd_route_result
match(const char *path, unsigned method, struct herd_match *m)
{
    return herd_router_match(router, path, strlen(path), method, m);
}

/* Assert that path matches for method with data, and nparams params. */
static void
expect_found(const char *path, unsigned method, void *data, size_t nparams,
             struct herd_match *m)
{
    enum herd_route_result res = match(path, method, m);

    cr_assert_eq(res, HERD_ROUTE_FOUND, "%s: result %d", path, (int)res);
    cr_assert_eq(m->data, data, "%s: wrong route", path);
    cr_assert_eq(m->nparams, nparams, "%s: %zu params, want %zu", path,
                 m->nparams, nparams);
}

static void
expect_param(const struct herd_match *m, size_t i, const char *name,
             const char *value)
{
    cr_assert_lt(i, m->nparams);
    cr_assert_eq(m->params[i].name_len, strlen(name));
    cr_assert_eq(memcmp(m->params[i].name, name, strlen(name)), 0,
                 "param %zu name %.*s, want %s", i, (int)m->params[i].name_len,
                 m->params[i].name, name);
    cr_assert_eq(m->params[i].value_len, strlen(value),
                 "param %s = \"%.*s\", want \"%s\"", name,
                 (int)m->params[i].value_len, m->params[i].value, value);
    cr_assert_eq(memcmp(m->params[i].value, value, strlen(value)), 0,
                 "param %s = \"%.*s\", want \"%s\"", name,
                 (int)m->params[i].value_len, m->params[i].value, value);
}

static void
expect_not_found(const char *path, unsigned method)
{
    struct herd_match m;
    enum herd_route_result res = match(path, method, &m);

    cr_assert_eq(res, HERD_ROUTE_NOT_FOUND, "%s: result %d", path, (int)res);
    cr_assert_null(m.data);
    cr_assert_eq(m.allow, 0u);
    cr_assert_eq(m.nparams, 0u);
}

TestSuite(router, .init = setup, .fini = teardown);

Test(router, new_and_free_empty)
{
    expect_not_found("/", HERD_M_GET);
    herd_router_free(NULL);
}

Test(router, root_route)
{
    struct herd_match m;

    add("/", HERD_M_GET | HERD_M_HEAD, &d_a);
    expect_found("/", HERD_M_GET, &d_a, 0, &m);
    cr_assert_eq(m.allow, HERD_M_GET | HERD_M_HEAD);
    expect_found("/", HERD_M_HEAD, &d_a, 0, &m);
    expect_not_found("", HERD_M_GET);
    expect_not_found("//", HERD_M_GET);
    expect_not_found("/a", HERD_M_GET);
    expect_not_found("a", HERD_M_GET);
    cr_assert_eq(herd_router_match(router, NULL, 0, HERD_M_GET, &m),
                 HERD_ROUTE_NOT_FOUND);
    /* Only the first len bytes count. */
    cr_assert_eq(herd_router_match(router, "/abc", 1, HERD_M_GET, &m),
                 HERD_ROUTE_FOUND);
    cr_assert_eq(m.data, &d_a);
}

Test(router, path_without_leading_slash)
{
    add("/users", HERD_M_GET, &d_a);
    add("/*", HERD_M_GET, &d_b);
    expect_not_found("users", HERD_M_GET);
    expect_not_found("", HERD_M_GET);
    expect_not_found("*", HERD_M_GET);
}

Test(router, trailing_slash_is_distinct)
{
    struct herd_match m;

    add("/users", HERD_M_GET, &d_a);
    expect_found("/users", HERD_M_GET, &d_a, 0, &m);
    expect_not_found("/users/", HERD_M_GET);
    add("/users/", HERD_M_GET, &d_b);
    expect_found("/users/", HERD_M_GET, &d_b, 0, &m);
    expect_found("/users", HERD_M_GET, &d_a, 0, &m);
    expect_not_found("/users//", HERD_M_GET);
    expect_not_found("//users", HERD_M_GET);
}

Test(router, static_segments_exact)
{
    struct herd_match m;

    add("/a/b/c", HERD_M_GET, &d_a);
    add("/a/bc", HERD_M_GET, &d_b);
    add("/ab/c", HERD_M_GET, &d_c);
    expect_found("/a/b/c", HERD_M_GET, &d_a, 0, &m);
    expect_found("/a/bc", HERD_M_GET, &d_b, 0, &m);
    expect_found("/ab/c", HERD_M_GET, &d_c, 0, &m);
    expect_not_found("/a/b", HERD_M_GET);
    expect_not_found("/a/b/c/d", HERD_M_GET);
    expect_not_found("/A/b/c", HERD_M_GET);
    expect_not_found("/a/b/cc", HERD_M_GET);
    expect_not_found("/a//b/c", HERD_M_GET);
}

/* The three routes under /users, added in every order. */
static const char *const spec_patterns[] = {"/users/new", "/users/:id",
                                            "/users/*"};

static void
check_specificity(void)
{
    void *data[] = {&d_a, &d_b, &d_c};
    struct herd_match m;

    expect_found("/users/new", HERD_M_GET, data[0], 0, &m);
    expect_found("/users/42", HERD_M_GET, data[1], 1, &m);
    expect_param(&m, 0, "id", "42");
    expect_found("/users/newer", HERD_M_GET, data[1], 1, &m);
    expect_param(&m, 0, "id", "newer");
    expect_found("/users/42/x", HERD_M_GET, data[2], 1, &m);
    expect_param(&m, 0, "*", "42/x");
    /* A parameter never takes an empty segment; the wildcard does. */
    expect_found("/users/", HERD_M_GET, data[2], 1, &m);
    expect_param(&m, 0, "*", "");
    expect_not_found("/users", HERD_M_GET);
}

Test(router, specificity_in_every_insertion_order)
{
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    void *data[] = {&d_a, &d_b, &d_c};
    size_t o, i;

    for (o = 0; o < 6; o++) {
        herd_router_free(router);
        router = herd_router_new();
        cr_assert_not_null(router);
        for (i = 0; i < 3; i++)
            add(spec_patterns[orders[o][i]], HERD_M_GET, data[orders[o][i]]);
        check_specificity();
    }
}

Test(router, backtrack_from_static_to_param)
{
    struct herd_match m;
    int order;

    for (order = 0; order < 2; order++) {
        herd_router_free(router);
        router = herd_router_new();
        if (order == 0) {
            add("/users/new/comments", HERD_M_GET, &d_a);
            add("/users/:id/posts", HERD_M_GET, &d_b);
        } else {
            add("/users/:id/posts", HERD_M_GET, &d_b);
            add("/users/new/comments", HERD_M_GET, &d_a);
        }
        expect_found("/users/new/posts", HERD_M_GET, &d_b, 1, &m);
        expect_param(&m, 0, "id", "new");
        expect_found("/users/new/comments", HERD_M_GET, &d_a, 0, &m);
        expect_found("/users/7/posts", HERD_M_GET, &d_b, 1, &m);
        expect_param(&m, 0, "id", "7");
        expect_not_found("/users/7/comments", HERD_M_GET);
        expect_not_found("/users/new", HERD_M_GET);
    }
}

Test(router, backtrack_to_wildcard)
{
    struct herd_match m;

    add("/a/b/c", HERD_M_GET, &d_a);
    add("/a/:x/d", HERD_M_GET, &d_b);
    add("/a/*", HERD_M_GET, &d_c);
    expect_found("/a/b/c", HERD_M_GET, &d_a, 0, &m);
    expect_found("/a/b/d", HERD_M_GET, &d_b, 1, &m);
    expect_param(&m, 0, "x", "b");
    /* Static and parameter branches both fail below /a/b. */
    expect_found("/a/b/e", HERD_M_GET, &d_c, 1, &m);
    expect_param(&m, 0, "*", "b/e");
    expect_found("/a/b/c/d", HERD_M_GET, &d_c, 1, &m);
    expect_param(&m, 0, "*", "b/c/d");
}

Test(router, params_named_per_route)
{
    struct herd_match m;

    add("/a/:x", HERD_M_GET, &d_a);
    add("/a/:y", HERD_M_POST, &d_b);
    expect_found("/a/1", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "x", "1");
    cr_assert_eq(m.allow, HERD_M_GET | HERD_M_POST);
    expect_found("/a/2", HERD_M_POST, &d_b, 1, &m);
    expect_param(&m, 0, "y", "2");
}

Test(router, several_params)
{
    struct herd_match m;

    add("/u/:uid/p/:pid/:part/*", HERD_M_GET, &d_a);
    add("/u/:user_Id2", HERD_M_GET, &d_b);
    expect_found("/u/alice/p/99/body/x/y.txt", HERD_M_GET, &d_a, 4, &m);
    expect_param(&m, 0, "uid", "alice");
    expect_param(&m, 1, "pid", "99");
    expect_param(&m, 2, "part", "body");
    expect_param(&m, 3, "*", "x/y.txt");
    expect_found("/u/bob", HERD_M_GET, &d_b, 1, &m);
    expect_param(&m, 0, "user_Id2", "bob");
    expect_not_found("/u//p/99/body/x", HERD_M_GET);
}

Test(router, param_value_points_into_path)
{
    const char *path = "/items/abc/";
    struct herd_match m;

    add("/items/:id/", HERD_M_GET, &d_a);
    cr_assert_eq(herd_router_match(router, path, strlen(path), HERD_M_GET, &m),
                 HERD_ROUTE_FOUND);
    cr_assert_eq(m.params[0].value, path + 7);
    cr_assert_eq(m.params[0].value_len, 3u);
    expect_not_found("/items/abc", HERD_M_GET);
    expect_not_found("/items//", HERD_M_GET);
}

Test(router, wildcard_capture)
{
    struct herd_match m;

    add("/static/*", HERD_M_GET, &d_a);
    expect_found("/static/", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "*", "");
    expect_found("/static/app.js", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "*", "app.js");
    expect_found("/static/css/a/b.css", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "*", "css/a/b.css");
    expect_found("/static//x/", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "*", "/x/");
    expect_not_found("/static", HERD_M_GET);
    expect_not_found("/statics/x", HERD_M_GET);
}

Test(router, root_wildcard)
{
    struct herd_match m;

    add("/*", HERD_M_GET, &d_a);
    expect_found("/", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "*", "");
    expect_found("//", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "*", "/");
    expect_found("/a/b", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "*", "a/b");
    add("/", HERD_M_GET, &d_b);
    expect_found("/", HERD_M_GET, &d_b, 0, &m);
}

Test(router, method_not_allowed)
{
    struct herd_match m;

    add("/users/:id", HERD_M_GET | HERD_M_HEAD, &d_a);
    add("/users/:x", HERD_M_DELETE, &d_b);
    cr_assert_eq(match("/users/1", HERD_M_PUT, &m),
                 HERD_ROUTE_METHOD_NOT_ALLOWED);
    cr_assert_eq(m.allow, HERD_M_GET | HERD_M_HEAD | HERD_M_DELETE);
    cr_assert_null(m.data);
    cr_assert_eq(m.nparams, 0u);
    /* Method 0 is one no route takes. */
    cr_assert_eq(match("/users/1", 0, &m), HERD_ROUTE_METHOD_NOT_ALLOWED);
    cr_assert_eq(m.allow, HERD_M_GET | HERD_M_HEAD | HERD_M_DELETE);
    expect_not_found("/users", HERD_M_PUT);
}

Test(router, allow_is_union_over_matching_patterns)
{
    struct herd_match m;

    add("/users/new", HERD_M_GET, &d_a);
    add("/users/:id", HERD_M_POST | HERD_M_PUT, &d_b);
    add("/users/*", HERD_M_OPTIONS, &d_c);
    add("/other/*", HERD_M_PATCH, &d_d);

    cr_assert_eq(match("/users/new", HERD_M_DELETE, &m),
                 HERD_ROUTE_METHOD_NOT_ALLOWED);
    cr_assert_eq(m.allow,
                 HERD_M_GET | HERD_M_POST | HERD_M_PUT | HERD_M_OPTIONS);

    /* The most specific route that takes the method wins. */
    expect_found("/users/new", HERD_M_POST, &d_b, 1, &m);
    expect_param(&m, 0, "id", "new");
    cr_assert_eq(m.allow,
                 HERD_M_GET | HERD_M_POST | HERD_M_PUT | HERD_M_OPTIONS);
    expect_found("/users/new", HERD_M_OPTIONS, &d_c, 1, &m);
    expect_param(&m, 0, "*", "new");
    expect_found("/users/new", HERD_M_GET, &d_a, 0, &m);
    cr_assert_eq(m.allow,
                 HERD_M_GET | HERD_M_POST | HERD_M_PUT | HERD_M_OPTIONS);

    /* /users/5 is not matched by /users/new. */
    cr_assert_eq(match("/users/5", HERD_M_GET, &m),
                 HERD_ROUTE_METHOD_NOT_ALLOWED);
    cr_assert_eq(m.allow, HERD_M_POST | HERD_M_PUT | HERD_M_OPTIONS);
    /* Only the wildcard matches two segments. */
    cr_assert_eq(match("/users/5/x", HERD_M_GET, &m),
                 HERD_ROUTE_METHOD_NOT_ALLOWED);
    cr_assert_eq(m.allow, HERD_M_OPTIONS);
}

Test(router, method_disjoint_routes_share_a_shape)
{
    struct herd_match m;

    add("/users/:id", HERD_M_GET, &d_a);
    add("/users/:x", HERD_M_DELETE, &d_b);
    add("/users/:user", HERD_M_PUT | HERD_M_PATCH, &d_c);
    expect_found("/users/9", HERD_M_GET, &d_a, 1, &m);
    expect_param(&m, 0, "id", "9");
    expect_found("/users/9", HERD_M_DELETE, &d_b, 1, &m);
    expect_param(&m, 0, "x", "9");
    expect_found("/users/9", HERD_M_PATCH, &d_c, 1, &m);
    expect_param(&m, 0, "user", "9");
    cr_assert_eq(m.allow,
                 HERD_M_GET | HERD_M_DELETE | HERD_M_PUT | HERD_M_PATCH);
}

/* Add pattern expecting a conflict with want, and the exact message. */
static void
expect_conflict(const char *pattern, unsigned methods, void *want,
                const char *msg)
{
    char err[HERD_ERR_LEN] = "";
    void *conflict = NULL;

    cr_assert_eq(herd_router_add(router, pattern, methods, &d_d, &conflict, err,
                                 sizeof(err)),
                 HERD_ERR, "%s was accepted", pattern);
    cr_assert_eq(conflict, want, "%s: wrong conflict", pattern);
    cr_assert_str_eq(err, msg);
}

Test(router, duplicate_conflicts)
{
    struct herd_match m;

    add("/users/:id", HERD_M_GET | HERD_M_HEAD, &d_a);
    add("/files/*", HERD_M_GET, &d_b);
    add("/", HERD_M_GET, &d_c);

    expect_conflict("/users/:id", HERD_M_GET, &d_a,
                    "duplicate route \"/users/:id\" for GET");
    expect_conflict("/users/:x", HERD_M_HEAD | HERD_M_GET | HERD_M_POST, &d_a,
                    "duplicate route \"/users/:x\" for GET, HEAD "
                    "(same as \"/users/:id\")");
    expect_conflict("/files/*", HERD_M_GET | HERD_M_PUT, &d_b,
                    "duplicate route \"/files/*\" for GET");
    expect_conflict("/", HERD_M_GET, &d_c, "duplicate route \"/\" for GET");

    /* The router is unchanged, and *conflict may be omitted. */
    cr_assert_eq(
        herd_router_add(router, "/users/:y", HERD_M_HEAD, &d_d, NULL, NULL, 0),
        HERD_ERR);
    expect_found("/users/1", HERD_M_HEAD, &d_a, 1, &m);
    expect_param(&m, 0, "id", "1");
    cr_assert_eq(m.allow, HERD_M_GET | HERD_M_HEAD);
    cr_assert_eq(match("/users/1", HERD_M_POST, &m),
                 HERD_ROUTE_METHOD_NOT_ALLOWED);

    /* A bit with no name still gets a readable message. */
    add("/x", 1u << 20, &d_b);
    expect_conflict("/x", 1u << 20, &d_b,
                    "duplicate route \"/x\" for methods 0x100000");

    /* Different shapes never conflict. */
    add("/users/:id/", HERD_M_GET, &d_d);
    add("/users/id", HERD_M_GET, &d_d);
    add("/users/*", HERD_M_GET, &d_d);
}

/* Add pattern expecting a validation error with the exact message. */
static void
expect_invalid(const char *pattern, unsigned methods, const char *msg)
{
    char err[HERD_ERR_LEN] = "";
    void *conflict = &d_d;

    cr_assert_eq(herd_router_add(router, pattern, methods, &d_a, &conflict, err,
                                 sizeof(err)),
                 HERD_ERR, "%s was accepted", pattern);
    cr_assert_null(conflict);
    cr_assert_str_eq(err, msg);
}

Test(router, pattern_validation)
{
    char *long_pat, *max_pat, many[256];
    char err[HERD_ERR_LEN];
    int i;

    expect_invalid("", HERD_M_GET, "pattern \"\" does not start with '/'");
    expect_invalid("users", HERD_M_GET,
                   "pattern \"users\" does not start with '/'");
    expect_invalid("//", HERD_M_GET, "empty segment in pattern \"//\"");
    expect_invalid("/a//b", HERD_M_GET, "empty segment in pattern \"/a//b\"");
    expect_invalid("/a//", HERD_M_GET, "empty segment in pattern \"/a//\"");
    expect_invalid("/a/:", HERD_M_GET,
                   "missing parameter name after ':' in pattern \"/a/:\"");
    expect_invalid("/a/:/b", HERD_M_GET,
                   "missing parameter name after ':' in pattern "
                   "\"/a/:/b\"");
    expect_invalid("/a/:x-y", HERD_M_GET,
                   "invalid parameter name \":x-y\" in pattern \"/a/:x-y\" "
                   "(use A-Z a-z 0-9 _)");
    expect_invalid("/a/::x", HERD_M_GET,
                   "invalid parameter name \"::x\" in pattern \"/a/::x\" "
                   "(use A-Z a-z 0-9 _)");
    expect_invalid("/a/:id/b/:id", HERD_M_GET,
                   "duplicate parameter \":id\" in pattern "
                   "\"/a/:id/b/:id\"");
    expect_invalid("/*/a", HERD_M_GET,
                   "'*' must be the whole last segment in pattern "
                   "\"/*/a\"");
    expect_invalid("/a/*/", HERD_M_GET,
                   "'*' must be the whole last segment in pattern "
                   "\"/a/*/\"");
    expect_invalid("/a/b*", HERD_M_GET,
                   "'*' must be the whole last segment in pattern "
                   "\"/a/b*\"");
    expect_invalid("/a/**", HERD_M_GET,
                   "'*' must be the whole last segment in pattern "
                   "\"/a/**\"");
    expect_invalid("/a/:x*", HERD_M_GET,
                   "'*' must be the whole last segment in pattern "
                   "\"/a/:x*\"");
    expect_invalid("/a", 0, "no methods for route \"/a\"");

    /* 16 parameters are fine, the wildcard counts as one. */
    many[0] = '\0';
    for (i = 0; i < HERD_MAX_PARAMS; i++)
        sprintf(many + strlen(many), "/:p%d", i);
    add(many, HERD_M_GET, &d_a);
    strcat(many, "/*");
    snprintf(err, sizeof(err), "more than 16 parameters in pattern \"%s\"",
             many);
    expect_invalid(many, HERD_M_GET, err);

    /* 4096 bytes are fine, 4097 are not. */
    max_pat = malloc(4097);
    long_pat = malloc(4098);
    cr_assert_not_null(max_pat);
    cr_assert_not_null(long_pat);
    memset(max_pat, 'x', 4096);
    max_pat[0] = '/';
    max_pat[4096] = '\0';
    add(max_pat, HERD_M_GET, &d_b);
    memset(long_pat, 'x', 4097);
    long_pat[0] = '/';
    long_pat[4097] = '\0';
    expect_invalid(long_pat, HERD_M_GET,
                   "pattern \"/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" "
                   "is longer than 4096 bytes");
    free(max_pat);
    free(long_pat);

    /* Invalid patterns left nothing behind. */
    expect_not_found("/a", HERD_M_GET);
    expect_not_found("/a/b", HERD_M_GET);

    /* ':' inside a static segment is plain text. */
    add("/a:b/c:", HERD_M_GET, &d_c);
    {
        struct herd_match m;

        expect_found("/a:b/c:", HERD_M_GET, &d_c, 0, &m);
    }
}

Test(router, error_buffer_is_truncated_safely)
{
    char err[8];

    memset(err, 'z', sizeof(err));
    cr_assert_eq(herd_router_add(router, "nope", HERD_M_GET, &d_a, NULL, err,
                                 sizeof(err)),
                 HERD_ERR);
    cr_assert_str_eq(err, "pattern");
}

Test(router, thousand_routes)
{
    char path[64], want[16];
    struct herd_match m;
    int *data;
    int i;

    data = calloc(3000, sizeof(*data));
    cr_assert_not_null(data);
    /* Add in a scrambled order so the sorted child arrays get inserts. */
    for (i = 0; i < 1000; i++) {
        int k = (i * 7919) % 1000;

        snprintf(path, sizeof(path), "/r%d/:id", k);
        add(path, HERD_M_GET, &data[k]);
        snprintf(path, sizeof(path), "/r%d/static", k);
        add(path, HERD_M_GET | HERD_M_POST, &data[1000 + k]);
        snprintf(path, sizeof(path), "/s/%d", k);
        add(path, HERD_M_DELETE, &data[2000 + k]);
    }
    for (i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "/r%d/v%d", i, i * 3);
        snprintf(want, sizeof(want), "v%d", i * 3);
        expect_found(path, HERD_M_GET, &data[i], 1, &m);
        expect_param(&m, 0, "id", want);
        snprintf(path, sizeof(path), "/r%d/static", i);
        expect_found(path, HERD_M_POST, &data[1000 + i], 0, &m);
        cr_assert_eq(m.allow, HERD_M_GET | HERD_M_POST);
        expect_found(path, HERD_M_GET, &data[1000 + i], 0, &m);
        snprintf(path, sizeof(path), "/s/%d", i);
        expect_found(path, HERD_M_DELETE, &data[2000 + i], 0, &m);
        cr_assert_eq(match(path, HERD_M_GET, &m),
                     HERD_ROUTE_METHOD_NOT_ALLOWED);
        cr_assert_eq(m.allow, HERD_M_DELETE);
    }
    expect_not_found("/r1000/x", HERD_M_GET);
    expect_not_found("/r1/x/y", HERD_M_GET);
    expect_not_found("/s/1000", HERD_M_DELETE);
    expect_not_found("/r", HERD_M_GET);
    free(data);
}

static double
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(router, hostile_paths_return_quickly, .timeout = 60)
{
    enum { PATH_LEN = 8192, DEPTH = 200, ROUNDS = 200 };
    char *path, *slashes, pattern[1024];
    struct herd_match m;
    double start, elapsed;
    size_t i;
    int round;

    /* A deep static chain, a chain of parameters and wildcards. */
    pattern[0] = '\0';
    for (i = 0; i < DEPTH; i++)
        strcat(pattern, "/a");
    strcat(pattern, "/end");
    add(pattern, HERD_M_GET, &d_a);
    pattern[0] = '\0';
    for (i = 0; i < HERD_MAX_PARAMS; i++)
        sprintf(pattern + strlen(pattern), "/:p%zu", i);
    add(pattern, HERD_M_GET, &d_b);
    add("/a/a/*", HERD_M_POST, &d_c);
    add("/a/:x/a/:y/a/z", HERD_M_GET, &d_d);

    path = malloc(PATH_LEN + 1);
    slashes = malloc(PATH_LEN + 1);
    cr_assert_not_null(path);
    cr_assert_not_null(slashes);
    for (i = 0; i < PATH_LEN; i += 2)
        memcpy(path + i, "/a", 2);
    path[PATH_LEN] = '\0';
    memset(slashes, '/', PATH_LEN);
    slashes[PATH_LEN] = '\0';

    start = now_seconds();
    for (round = 0; round < ROUNDS; round++) {
        cr_assert_eq(herd_router_match(router, path, PATH_LEN, HERD_M_GET, &m),
                     HERD_ROUTE_METHOD_NOT_ALLOWED);
        cr_assert_eq(m.allow, HERD_M_POST);
        cr_assert_eq(herd_router_match(router, path, PATH_LEN, HERD_M_POST, &m),
                     HERD_ROUTE_FOUND);
        cr_assert_eq(m.data, &d_c);
        cr_assert_eq(m.params[0].value, path + 5);
        cr_assert_eq(m.params[0].value_len, (size_t)PATH_LEN - 5);
        cr_assert_eq(
            herd_router_match(router, slashes, PATH_LEN, HERD_M_GET, &m),
            HERD_ROUTE_NOT_FOUND);
    }
    elapsed = now_seconds() - start;
    /* Generous enough for valgrind; an O(path * routes) walk is far off. */
    cr_assert_lt(elapsed, 10.0, "%d hostile matches took %.3f s", 3 * ROUNDS,
                 elapsed);

    /* The same chain of exactly DEPTH + 1 segments still matches. */
    path[2 * DEPTH] = '\0';
    strcat(path, "/end");
    expect_found(path, HERD_M_GET, &d_a, 0, &m);
    path[2 * HERD_MAX_PARAMS] = '\0';
    expect_found(path, HERD_M_GET, &d_b, HERD_MAX_PARAMS, &m);
    expect_param(&m, 15, "p15", "a");
    free(path);
    free(slashes);
}

Test(router, deepest_pattern)
{
    char *pattern;
    struct herd_match m;
    size_t i;

    /* 2048 segments: the deepest trie a 4096-byte pattern can build. */
    pattern = malloc(4097);
    cr_assert_not_null(pattern);
    for (i = 0; i < 4096; i += 2)
        memcpy(pattern + i, "/a", 2);
    pattern[4096] = '\0';
    add(pattern, HERD_M_GET, &d_a);
    pattern[4094] = '\0';
    strcat(pattern, "/*");
    add(pattern, HERD_M_POST, &d_b);
    pattern[4094] = '\0';
    strcat(pattern, "/a");
    expect_found(pattern, HERD_M_GET, &d_a, 0, &m);
    cr_assert_eq(m.allow, HERD_M_GET | HERD_M_POST);
    expect_found(pattern, HERD_M_POST, &d_b, 1, &m);
    expect_param(&m, 0, "*", "a");
    pattern[4094] = '\0';
    expect_not_found(pattern, HERD_M_GET);
    free(pattern);
}
