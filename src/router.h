/* router.h: maps a request path and method to a route, by specificity. */
#ifndef HERD_ROUTER_H
#define HERD_ROUTER_H

#include <stddef.h>

#include "common.h"

#define HERD_MAX_PARAMS 16

/* One captured path parameter; both slices point into pattern / path. */
struct herd_param {
    const char *name; /* without the ':'; "*" for the wildcard */
    size_t name_len;
    const char *value; /* slice of the matched path, not NUL-terminated */
    size_t value_len;
};

enum herd_route_result {
    HERD_ROUTE_FOUND = 0,
    HERD_ROUTE_NOT_FOUND,
    HERD_ROUTE_METHOD_NOT_ALLOWED,
};

struct herd_match {
    void *data;     /* the data given to herd_router_add for the route */
    unsigned allow; /* FOUND / METHOD_NOT_ALLOWED: union of the method masks
                       of every route whose pattern matches the path */
    size_t nparams;
    struct herd_param params[HERD_MAX_PARAMS];
};

struct herd_router;

/* A new empty router, or NULL when out of memory. */
struct herd_router *herd_router_new(void);

/*
 * Add a route. pattern starts with '/', and is made of segments that are
 * static text, ":name" parameters ([A-Za-z0-9_]+, unique in the pattern)
 * or, as the last segment only, "*" (matches the rest of the path, also
 * empty). methods is a mask of enum herd_method_bit and must be non-zero.
 * The router copies pattern; data is the caller's and is returned on match.
 * Returns HERD_OK, or HERD_ERR with the reason in err. When the pattern
 * has the same shape as an existing route's (parameter names ignored) and
 * their methods overlap, *conflict (if conflict is not NULL) is set to
 * that route's data.
 */
int herd_router_add(struct herd_router *r, const char *pattern,
                    unsigned methods, void *data, void **conflict, char *err,
                    size_t errlen);

/*
 * Match path[0..len) (no query string) against the routes. Static segments
 * win over parameters, parameters over the wildcard, whatever the order the
 * routes were added in; the matcher backtracks when a more specific branch
 * fails further down. method is one herd_method_bit (0 for a method no
 * route can accept). Returns FOUND and fills *m (data, params, allow); or
 * METHOD_NOT_ALLOWED when the path matches but no route takes the method
 * (m->allow says which do); or NOT_FOUND. Time is proportional to the
 * path length, not to the number of routes.
 */
enum herd_route_result herd_router_match(const struct herd_router *r,
                                         const char *path, size_t len,
                                         unsigned method, struct herd_match *m);

/* Release the router. Accepts NULL. */
void herd_router_free(struct herd_router *r);

#endif
