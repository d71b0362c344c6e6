/* uri.c: percent-decoding of request paths and query-string lookups. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "uri.h"
#include "util.h"

/* The byte that s[i..i+3) = "%XX" encodes, or -1 when it is malformed. */
static int
escape_at(const char *s, size_t len, size_t i)
{
    int hi, lo;

    if (len - i < 3)
        return -1;
    hi = herd_hexval(s[i + 1]);
    lo = herd_hexval(s[i + 2]);
    if (hi < 0 || lo < 0)
        return -1;
    return hi * 16 + lo;
}

/* Whether seg[0..n) is "." or "..". */
static int
is_dot_segment(const char *seg, size_t n)
{
    return (n == 1 && seg[0] == '.') ||
           (n == 2 && seg[0] == '.' && seg[1] == '.');
}

int
herd_uri_decode_path(const char *in, size_t len, char *out, size_t *outlen,
                     char *err, size_t errlen)
{
    size_t i, o = 0, seg = 0;
    int c;

    if (len == 0 || in[0] != '/') {
        herd_errf(err, errlen, "path does not start with '/'");
        return HERD_ERR;
    }
    for (i = 0; i < len; i++) {
        c = (unsigned char)in[i];
        if (c == '\0') {
            herd_errf(err, errlen, "NUL byte in path");
            return HERD_ERR;
        }
        if (c == '/') {
            if (is_dot_segment(out + seg, o - seg)) {
                herd_errf(err, errlen, "dot segment in path");
                return HERD_ERR;
            }
            out[o++] = '/';
            seg = o;
            continue;
        }
        if (c != '%') {
            out[o++] = (char)c;
            continue;
        }
        c = escape_at(in, len, i);
        if (c < 0) {
            herd_errf(err, errlen, "malformed %%-escape at offset %zu", i);
            return HERD_ERR;
        }
        if (c == 0) {
            herd_errf(err, errlen, "%%00 in path");
            return HERD_ERR;
        }
        i += 2;
        if (c == '/' || c == '%') {
            out[o++] = '%';
            out[o++] = '2';
            out[o++] = c == '/' ? 'F' : '5';
            continue;
        }
        out[o++] = (char)c;
    }
    if (is_dot_segment(out + seg, o - seg)) {
        herd_errf(err, errlen, "dot segment in path");
        return HERD_ERR;
    }
    *outlen = o;
    return HERD_OK;
}

/*
 * Decode one form-urlencoded byte at s[*i] (s has len bytes), advancing *i
 * past it. Returns the byte, or -1 for a malformed escape.
 */
static int
form_byte(const char *s, size_t len, size_t *i)
{
    int c = (unsigned char)s[*i];

    if (c == '+') {
        (*i)++;
        return ' ';
    }
    if (c != '%') {
        (*i)++;
        return c;
    }
    c = escape_at(s, len, *i);
    if (c >= 0)
        *i += 3;
    return c;
}

/* Whether the form-encoded s[0..len) decodes to exactly name. */
static int
name_matches(const char *s, size_t len, const char *name)
{
    size_t i = 0, k = 0;
    int c;

    while (i < len) {
        c = form_byte(s, len, &i);
        if (c < 0 || name[k] == '\0' || (unsigned char)name[k] != c)
            return 0;
        k++;
    }
    return name[k] == '\0';
}

/* herd_uri_query_get and herd_uri_query_bytes: nul_ok says whether a
   %00 in the value is a byte of it or makes it unusable. */
static int
query_get(const char *query, size_t len, const char *name, char *out,
          size_t outcap, size_t *outlen, int nul_ok)
{
    const char *pair, *amp, *eq;
    size_t pos, plen, nlen, vlen, i, o;
    int c;

    if (query == NULL || name == NULL)
        return HERD_ERR;
    for (pos = 0; pos < len; pos += plen + 1) {
        pair = query + pos;
        amp = memchr(pair, '&', len - pos);
        plen = amp != NULL ? (size_t)(amp - pair) : len - pos;
        eq = memchr(pair, '=', plen);
        nlen = eq != NULL ? (size_t)(eq - pair) : plen;
        if (plen == 0 || !name_matches(pair, nlen, name))
            continue;
        if (out == NULL && outcap == 0)
            return HERD_OK;
        if (out == NULL || outcap == 0)
            return HERD_ERR;
        vlen = eq != NULL ? plen - nlen - 1 : 0;
        for (i = 0, o = 0; i < vlen;) {
            c = form_byte(eq + 1, vlen, &i);
            if (c < 0 || (c == 0 && !nul_ok) || o + 1 >= outcap)
                return HERD_ERR;
            out[o++] = (char)c;
        }
        out[o] = '\0';
        if (outlen != NULL)
            *outlen = o;
        return HERD_OK;
    }
    return HERD_ERR;
}

int
herd_uri_query_get(const char *query, size_t len, const char *name, char *out,
                   size_t outcap, size_t *outlen)
{
    return query_get(query, len, name, out, outcap, outlen, 0);
}

int
herd_uri_query_bytes(const char *query, size_t len, const char *name, char *out,
                     size_t outcap, size_t *outlen)
{
    return query_get(query, len, name, out, outcap, outlen, 1);
}
