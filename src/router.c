/* router.c: a trie of path segments that maps a path and method to a route. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "router.h"
#include "util.h"

#define MAX_PATTERN_LEN 4096

/*
 * A route that ends at a node. Parameter names belong to the route, not to
 * the node: GET /a/:x and POST /a/:y share the parameter node but expose
 * different names. Names are offsets into the router's own copy of the
 * pattern, in path order; the wildcard's name is the '*' itself.
 * MAX_PATTERN_LEN keeps every offset within uint16_t.
 */
struct route {
    void *data;
    unsigned methods;
    char *pattern; /* owned, NUL-terminated */
    size_t nnames;
    uint16_t name_off[HERD_MAX_PARAMS];
    uint16_t name_len[HERD_MAX_PARAMS];
};

/*
 * One trie level. A pattern is split on '/', so "/" is one empty segment
 * and "/users/" is "users" then an empty segment: an empty static child
 * stands for a trailing slash, which is why "/users" and "/users/" are
 * different routes. Patterns have no other empty segments, so an empty
 * static child is always a leaf.
 */
struct node {
    struct node **statics; /* sorted by segment text, for binary search */
    size_t nstatics;
    size_t cap_statics;
    struct node *param; /* ":name": one non-empty segment */
    struct node *wild;  /* "*": the rest of the path; always a leaf */
    struct route *routes;
    size_t nroutes;
    unsigned methods; /* union of the routes' masks */
    size_t seg_len;
    char seg[]; /* a static child's segment text, not NUL-terminated */
};

struct herd_router {
    struct node *root;
};

/* The state of one match, shared by every level of the walk. */
struct walk {
    const char *path;
    size_t len;
    unsigned method;
    struct herd_match *m;
    int found;
    size_t nvals;
    const char *val[HERD_MAX_PARAMS];
    size_t val_len[HERD_MAX_PARAMS];
};

static const struct {
    unsigned bit;
    const char *name;
} method_names[] = {
    {HERD_M_GET, "GET"},         {HERD_M_HEAD, "HEAD"},
    {HERD_M_POST, "POST"},       {HERD_M_PUT, "PUT"},
    {HERD_M_PATCH, "PATCH"},     {HERD_M_DELETE, "DELETE"},
    {HERD_M_OPTIONS, "OPTIONS"},
};

/* Length of the segment at s[i..len): up to the next '/' or the end. */
static size_t
segment_len(const char *s, size_t len, size_t i)
{
    const char *slash;

    if (i >= len)
        return 0;
    slash = memchr(s + i, '/', len - i);
    return slash != NULL ? (size_t)(slash - (s + i)) : len - i;
}

static int
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/*
 * Check pat[0..len) against the rules of herd_router_add and record its
 * parameter names in rt. Returns HERD_OK, or HERD_ERR with err filled.
 */
static int
parse_pattern(const char *pat, size_t len, struct route *rt, char *err,
              size_t errlen)
{
    size_t i, n, k, name_len;
    const char *seg, *name;

    if (len == 0 || pat[0] != '/') {
        herd_errf(err, errlen, "pattern \"%s\" does not start with '/'", pat);
        return HERD_ERR;
    }
    for (i = 1;; i += n + 1) {
        seg = pat + i;
        n = segment_len(pat, len, i);
        if (n == 0 && i < len) {
            herd_errf(err, errlen, "empty segment in pattern \"%s\"", pat);
            return HERD_ERR;
        }
        if (memchr(seg, '*', n) != NULL && (n != 1 || i + n != len)) {
            herd_errf(err, errlen,
                      "'*' must be the whole last segment in pattern \"%s\"",
                      pat);
            return HERD_ERR;
        }
        if (n > 0 && (seg[0] == ':' || seg[0] == '*')) {
            if (rt->nnames == HERD_MAX_PARAMS) {
                herd_errf(err, errlen,
                          "more than %d parameters in pattern \"%s\"",
                          HERD_MAX_PARAMS, pat);
                return HERD_ERR;
            }
            /* The wildcard's name is "*", the ':' is not part of a name. */
            name = seg[0] == ':' ? seg + 1 : seg;
            name_len = seg[0] == ':' ? n - 1 : n;
            if (name_len == 0) {
                herd_errf(err, errlen,
                          "missing parameter name after ':' in pattern "
                          "\"%s\"",
                          pat);
                return HERD_ERR;
            }
            for (k = 0; seg[0] == ':' && k < name_len; k++) {
                if (!is_name_char(name[k])) {
                    herd_errf(err, errlen,
                              "invalid parameter name \":%.*s\" in pattern "
                              "\"%s\" (use A-Z a-z 0-9 _)",
                              (int)name_len, name, pat);
                    return HERD_ERR;
                }
            }
            for (k = 0; k < rt->nnames; k++) {
                if (rt->name_len[k] == name_len &&
                    memcmp(pat + rt->name_off[k], name, name_len) == 0) {
                    herd_errf(err, errlen,
                              "duplicate parameter \":%.*s\" in pattern "
                              "\"%s\"",
                              (int)name_len, name, pat);
                    return HERD_ERR;
                }
            }
            rt->name_off[rt->nnames] = (uint16_t)(name - pat);
            rt->name_len[rt->nnames] = (uint16_t)name_len;
            rt->nnames++;
        }
        if (i + n >= len)
            return HERD_OK;
    }
}

static int
seg_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/*
 * Binary search n's static children for seg. Returns the child, or NULL
 * with *at set to where it would be inserted.
 */
static struct node *
find_static(const struct node *n, const char *seg, size_t len, size_t *at)
{
    size_t lo = 0, hi = n->nstatics, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = seg_cmp(seg, len, n->statics[mid]->seg, n->statics[mid]->seg_len);
        if (c == 0)
            return n->statics[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (at != NULL)
        *at = lo;
    return NULL;
}

static struct node *
node_new(const char *seg, size_t len)
{
    struct node *n = calloc(1, sizeof(*n) + len);

    if (n == NULL)
        return NULL;
    memcpy(n->seg, seg, len);
    n->seg_len = len;
    return n;
}

static void
node_free(struct node *n)
{
    size_t i;

    if (n == NULL)
        return;
    for (i = 0; i < n->nstatics; i++)
        node_free(n->statics[i]);
    free(n->statics);
    node_free(n->param);
    node_free(n->wild);
    for (i = 0; i < n->nroutes; i++)
        free(n->routes[i].pattern);
    free(n->routes);
    free(n);
}

/*
 * The child of n for pattern segment seg[0..len), created if missing.
 * Returns NULL when out of memory.
 */
static struct node *
child_for(struct node *n, const char *seg, size_t len)
{
    struct node *c, **grown;
    size_t at = 0, cap;

    if (len > 0 && (seg[0] == ':' || seg[0] == '*')) {
        struct node **slot = seg[0] == ':' ? &n->param : &n->wild;

        if (*slot == NULL)
            *slot = node_new("", 0);
        return *slot;
    }
    c = find_static(n, seg, len, &at);
    if (c != NULL)
        return c;
    if (n->nstatics == n->cap_statics) {
        cap = n->cap_statics != 0 ? 2 * n->cap_statics : 4;
        grown = realloc(n->statics, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        n->statics = grown;
        n->cap_statics = cap;
    }
    c = node_new(seg, len);
    if (c == NULL)
        return NULL;
    memmove(&n->statics[at + 1], &n->statics[at],
            (n->nstatics - at) * sizeof(*n->statics));
    n->statics[at] = c;
    n->nstatics++;
    return c;
}

/* Write the names of the methods in mask, comma-separated, into buf. */
static void
method_list(unsigned mask, char *buf, size_t buflen)
{
    size_t used = 0, i;
    int w;

    buf[0] = '\0';
    for (i = 0; i < HERD_ARRAY_LEN(method_names) && used < buflen; i++) {
        if (!(mask & method_names[i].bit))
            continue;
        w = snprintf(buf + used, buflen - used, "%s%s", used > 0 ? ", " : "",
                     method_names[i].name);
        if (w < 0)
            return;
        used += (size_t)w;
    }
    if (used == 0)
        snprintf(buf, buflen, "methods 0x%x", mask);
}

struct herd_router *
herd_router_new(void)
{
    struct herd_router *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->root = node_new("", 0);
    if (r->root == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

/*
 * Matching is exact: "/users/" and "/users" are different routes, and a
 * wildcard after "/files/" matches "/files/" and "/files/a/b" but not
 * "/files". The wildcard counts towards HERD_MAX_PARAMS, since it is
 * reported as a parameter. When out of memory half-way, the nodes already
 * created stay in the trie without routes, which no match can tell apart
 * from absence.
 */
int
herd_router_add(struct herd_router *r, const char *pattern, unsigned methods,
                void *data, void **conflict, char *err, size_t errlen)
{
    struct route rt, *grown;
    struct node *n;
    char *copy = NULL, have[64];
    size_t len, i, seg_len;

    if (conflict != NULL)
        *conflict = NULL;
    if (r == NULL || pattern == NULL) {
        herd_errf(err, errlen, "no router or no pattern");
        goto fail;
    }
    len = strnlen(pattern, MAX_PATTERN_LEN + 1);
    if (len > MAX_PATTERN_LEN) {
        herd_errf(err, errlen, "pattern \"%.40s...\" is longer than %d bytes",
                  pattern, MAX_PATTERN_LEN);
        goto fail;
    }
    memset(&rt, 0, sizeof(rt));
    if (parse_pattern(pattern, len, &rt, err, errlen) != HERD_OK)
        goto fail;
    if (methods == 0) {
        herd_errf(err, errlen, "no methods for route \"%s\"", pattern);
        goto fail;
    }

    n = r->root;
    for (i = 1;; i += seg_len + 1) {
        seg_len = segment_len(pattern, len, i);
        n = child_for(n, pattern + i, seg_len);
        if (n == NULL)
            goto oom;
        if (i + seg_len >= len)
            break;
    }

    /* A conflict means the node had routes, so no node was just created. */
    for (i = 0; i < n->nroutes; i++) {
        if (!(n->routes[i].methods & methods))
            continue;
        method_list(n->routes[i].methods & methods, have, sizeof(have));
        if (strcmp(n->routes[i].pattern, pattern) == 0)
            herd_errf(err, errlen, "duplicate route \"%s\" for %s", pattern,
                      have);
        else
            herd_errf(err, errlen,
                      "duplicate route \"%s\" for %s (same as \"%s\")", pattern,
                      have, n->routes[i].pattern);
        if (conflict != NULL)
            *conflict = n->routes[i].data;
        goto fail;
    }

    copy = malloc(len + 1);
    if (copy == NULL)
        goto oom;
    memcpy(copy, pattern, len + 1);
    grown = realloc(n->routes, (n->nroutes + 1) * sizeof(*grown));
    if (grown == NULL)
        goto oom;
    n->routes = grown;
    rt.data = data;
    rt.methods = methods;
    rt.pattern = copy;
    n->routes[n->nroutes++] = rt;
    n->methods |= methods;
    return HERD_OK;

oom:
    herd_errf(err, errlen, "out of memory adding route \"%s\"", pattern);
fail:
    free(copy);
    return HERD_ERR;
}

/* The whole path matched down to n: account for n's routes. */
static void
reach(struct walk *w, const struct node *n)
{
    const struct route *rt;
    size_t i, k;

    if (n->nroutes == 0)
        return;
    w->m->allow |= n->methods;
    if (w->found || !(n->methods & w->method))
        return;
    for (i = 0; !(n->routes[i].methods & w->method); i++)
        ;
    rt = &n->routes[i];
    /* Every route at n has as many names as n has parameters above it. */
    for (k = 0; k < rt->nnames; k++) {
        w->m->params[k].name = rt->pattern + rt->name_off[k];
        w->m->params[k].name_len = rt->name_len[k];
        w->m->params[k].value = w->val[k];
        w->m->params[k].value_len = w->val_len[k];
    }
    w->m->nparams = rt->nnames;
    w->m->data = rt->data;
    w->found = 1;
}

/*
 * Visit, most specific first, every node below n that matches the rest of
 * the path, path[pos..len), where path[pos] is a '/'. Every route node that
 * matches must be seen to build the allow mask, so the walk does not stop
 * at the first route found. Recursion follows trie depth, which the longest
 * pattern bounds, whatever the length of the path; each node is visited at
 * most once.
 */
static void
walk(struct walk *w, const struct node *n, size_t pos)
{
    const struct node *c;
    size_t start, n_len;

    if (pos == w->len) {
        reach(w, n);
        return;
    }
    start = pos + 1;
    n_len = segment_len(w->path, w->len, start);
    c = find_static(n, w->path + start, n_len, NULL);
    if (c != NULL)
        walk(w, c, start + n_len);
    /* Patterns have at most HERD_MAX_PARAMS, so nvals stays in bounds. */
    if (n->param != NULL && n_len > 0) {
        w->val[w->nvals] = w->path + start;
        w->val_len[w->nvals] = n_len;
        w->nvals++;
        walk(w, n->param, start + n_len);
        w->nvals--;
    }
    if (n->wild != NULL) {
        w->val[w->nvals] = w->path + start;
        w->val_len[w->nvals] = w->len - start;
        w->nvals++;
        reach(w, n->wild);
        w->nvals--;
    }
}

/*
 * Segments are split on '/' and compared byte for byte (the caller
 * decodes). An empty segment ("//") never matches a parameter; the "*"
 * value is the rest of the path after the '/' that precedes it, so it may
 * be empty or hold slashes. A path that is empty or does not start with
 * '/' is NOT_FOUND.
 */
enum herd_route_result
herd_router_match(const struct herd_router *r, const char *path, size_t len,
                  unsigned method, struct herd_match *m)
{
    struct walk w;

    m->data = NULL;
    m->allow = 0;
    m->nparams = 0;
    if (r == NULL || path == NULL || len == 0 || path[0] != '/')
        return HERD_ROUTE_NOT_FOUND;
    w.path = path;
    w.len = len;
    w.method = method;
    w.m = m;
    w.found = 0;
    w.nvals = 0;
    walk(&w, r->root, 0);
    if (w.found)
        return HERD_ROUTE_FOUND;
    return m->allow != 0 ? HERD_ROUTE_METHOD_NOT_ALLOWED : HERD_ROUTE_NOT_FOUND;
}

void
herd_router_free(struct herd_router *r)
{
    if (r == NULL)
        return;
    node_free(r->root);
    free(r);
}
