/* redirect.h: redirect targets compiled from templates, rendered per match. */
#ifndef HERD_REDIRECT_H
#define HERD_REDIRECT_H

#include <stddef.h>

#include "common.h"
#include "router.h"

struct herd_redirect;

/* Whether status is a redirect herd sends: 301, 302, 303, 307 or 308. */
int herd_redirect_status_valid(int status);

/*
 * Compile the target template for the route pattern (the pattern given to
 * herd_router_add), at config time. In the template:
 *   ":name"  is replaced by the route's parameter name; a ':' starts a
 *            reference when a letter or '_' follows it and it is not the
 *            ':' that ends a leading scheme ("https:"), so ports
 *            (":8080"), "://" and IPv6 addresses ("[::1]") stay literal;
 *            the name is the longest run of [A-Za-z0-9_];
 *   "*"      is replaced by the route's wildcard;
 *   "\:" "\*" are a literal ':' and '*'.
 * Every other byte must be visible ASCII (0x21-0x7e, no '\'): the result
 * goes into a Location header, so write anything else percent-encoded.
 *
 * Returns the compiled redirect (free it with herd_redirect_free), or NULL
 * with the reason in err: a status herd_redirect_status_valid refuses, an
 * empty template or a bad byte in it, a ":name" that is not a parameter
 * of pattern, a "*" when pattern has no wildcard, or no memory.
 */
struct herd_redirect *herd_redirect_compile(const char *target,
                                            const char *pattern, int status,
                                            char *err, size_t errlen);

/* The status given to herd_redirect_compile. */
int herd_redirect_status(const struct herd_redirect *rd);

/*
 * Render the target for the match m (from herd_router_match on the route
 * rd was compiled for, over a path in herd_uri_decode_path's match form)
 * into out[0..cap), NUL-terminated, with the length in *outlen.
 *
 * Substituted values are percent-encoded: every byte but A-Z a-z 0-9
 * "-._~" becomes %XX, except that the "%2F" and "%25" escapes already in
 * the match form are kept, and '/' is kept in the wildcard's value (which
 * spans segments). So a value cannot add a segment, a query or a
 * fragment to the target.
 *
 * When query is not NULL and qlen > 0 (the request's query string,
 * without the '?'), it is appended after '?', or after '&' when the
 * template has a '?' already; a template with a '#' gets no query.
 * Bytes of the query outside 0x21-0x7e, and '"' '#' '<' '>' '\' '^' '`'
 * '{' '|' '}', are percent-encoded.
 *
 * Returns HERD_OK, or HERD_ERR when out is too small or m lacks a
 * parameter the template uses. No allocation.
 */
int herd_redirect_render(const struct herd_redirect *rd,
                         const struct herd_match *m, const char *query,
                         size_t qlen, char *out, size_t cap, size_t *outlen);

/* Release rd. Accepts NULL. */
void herd_redirect_free(struct herd_redirect *rd);

#endif
