/* uri.h: percent-decoding of request paths and query-string lookups. */
#ifndef HERD_URI_H
#define HERD_URI_H

#include <stddef.h>

#include "common.h"

/*
 * Decode the path of a request target, in[0..len) (no query string), once,
 * into the "match form" that the router and the handlers see.
 *
 * Every %XX escape is decoded except two, which are written back as the
 * upper-case escapes "%2F" and "%25": an encoded '/' must not split a
 * segment, and keeping '%' encoded too makes the match form unambiguous
 * (a '%' in it always starts "%2F" or "%25", so "%252F" stays apart from
 * "%2F"). Decoding happens exactly once: "%252e" becomes "%252e" (the
 * bytes '%' '2' 'e' of a name), never a dot. Empty segments ("//") are
 * kept as they are; other bytes are copied unchanged.
 *
 * Rejected with HERD_ERR (answer 400) and the reason in err: a path that
 * is empty or does not start with '/'; a raw NUL or "%00"; a malformed
 * escape ("%G1", "%4", a trailing '%'); a segment that decodes to "." or
 * ".." ("%2e%2E", ".%2e" ...). "." segments are refused, not normalised:
 * a client that sends them is either broken or probing.
 *
 * out must have room for len bytes (the match form is never longer than
 * the input); it is not NUL-terminated, and may be in itself (decoding in
 * place: every byte is read before its slot is written). On HERD_OK,
 * *outlen is the length written; on HERD_ERR, out holds garbage. No
 * allocation; err may be NULL.
 */
int herd_uri_decode_path(const char *in, size_t len, char *out, size_t *outlen,
                         char *err, size_t errlen);

/*
 * Find the first pair called name (NUL-terminated, compared byte for byte
 * with the pair's decoded name) in the query string query[0..len) (without
 * the '?'; query may be NULL when len is 0). Pairs are separated by '&';
 * a pair without '=' has an empty value. Names and values are decoded as
 * application/x-www-form-urlencoded: '+' is a space, %XX a byte.
 *
 * Returns HERD_OK with the decoded value in out (NUL-terminated) and its
 * length in *outlen. Returns HERD_ERR when no pair has that name, or when
 * the first pair with that name has a value that cannot be returned: a
 * malformed escape, "%00", or more than outcap - 1 bytes once decoded (the
 * later pairs are not searched, so a second copy cannot stand in for a bad
 * first one). With out NULL and outcap 0, only presence is tested and the
 * value is not looked at. Pairs whose name has a malformed escape never
 * match. No allocation.
 */
int herd_uri_query_get(const char *query, size_t len, const char *name,
                       char *out, size_t outcap, size_t *outlen);

/* herd_uri_query_get for values that are bytes with a length (a module's
   herd_request_query): a %00 is a NUL byte of the value, not a refusal.
   out is still NUL-terminated after the *outlen bytes. */
int herd_uri_query_bytes(const char *query, size_t len, const char *name,
                         char *out, size_t outcap, size_t *outlen);

#endif
