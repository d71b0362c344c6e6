/* redirect.c: redirect targets compiled from templates, rendered per match. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redirect.h"
#include "util.h"

enum part_kind {
    PART_LIT,   /* text[off..off+len) as it is */
    PART_PARAM, /* the parameter named text[off..off+len) */
    PART_WILD,  /* the wildcard */
};

struct part {
    enum part_kind kind;
    size_t off;
    size_t len;
};

struct herd_redirect {
    int status;
    int has_query; /* the template has a '?': a query joins with '&' */
    int has_frag;  /* the template has a '#': no query is appended */
    size_t nparts;
    char *text;          /* literal bytes (escapes undone) and names */
    struct part parts[]; /* then the text, in the same allocation */
};

/* The parameters a route pattern declares. */
struct names {
    size_t n;
    const char *name[HERD_MAX_PARAMS];
    size_t len[HERD_MAX_PARAMS];
    int wild;
};

static int
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_name_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_';
}

static int
is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Collect the ":name" segments and the "*" of pattern into nm. */
static void
pattern_names(const char *pattern, struct names *nm)
{
    const char *seg = pattern, *end;
    size_t n;

    memset(nm, 0, sizeof(*nm));
    while (*seg != '\0') {
        if (*seg == '/') {
            seg++;
            continue;
        }
        end = strchr(seg, '/');
        n = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if (n == 1 && seg[0] == '*')
            nm->wild = 1;
        else if (n > 1 && seg[0] == ':' && nm->n < HERD_MAX_PARAMS) {
            nm->name[nm->n] = seg + 1;
            nm->len[nm->n] = n - 1;
            nm->n++;
        }
        seg += n;
    }
}

static int
has_name(const struct names *nm, const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < nm->n; i++)
        if (nm->len[i] == n && memcmp(nm->name[i], name, n) == 0)
            return 1;
    return 0;
}

/* The offset of the ':' that ends a leading "scheme:", or (size_t)-1. */
static size_t
scheme_colon(const char *t)
{
    size_t i;

    if (!is_alpha(t[0]))
        return (size_t)-1;
    for (i = 1; is_alpha(t[i]) || is_digit(t[i]) || t[i] == '+' ||
                t[i] == '-' || t[i] == '.';
         i++)
        ;
    return t[i] == ':' ? i : (size_t)-1;
}

int
herd_redirect_status_valid(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 ||
           status == 308;
}

/* Start a part of kind at text offset off; literals run on. */
static void
add_part(struct herd_redirect *rd, enum part_kind kind, size_t off)
{
    struct part *last = rd->nparts > 0 ? &rd->parts[rd->nparts - 1] : NULL;

    if (kind == PART_LIT && last != NULL && last->kind == PART_LIT)
        return;
    rd->parts[rd->nparts].kind = kind;
    rd->parts[rd->nparts].off = off;
    rd->parts[rd->nparts].len = 0;
    rd->nparts++;
}

struct herd_redirect *
herd_redirect_compile(const char *target, const char *pattern, int status,
                      char *err, size_t errlen)
{
    struct herd_redirect *rd = NULL;
    struct names nm;
    size_t tlen, i, n, maxparts, colon, o = 0;
    const char *name;
    char c;

    if (!herd_redirect_status_valid(status)) {
        herd_errf(err, errlen,
                  "redirect status %d is not one of 301, 302, 303, 307, 308",
                  status);
        goto fail;
    }
    if (target == NULL || target[0] == '\0' || pattern == NULL) {
        herd_errf(err, errlen, "empty redirect target");
        goto fail;
    }
    tlen = strlen(target);
    pattern_names(pattern, &nm);
    /* Each reference adds at most itself and one literal after it. */
    for (i = 0, maxparts = 1; i < tlen; i++)
        if (target[i] == ':' || target[i] == '*')
            maxparts += 2;
    rd = calloc(1, sizeof(*rd) + maxparts * sizeof(struct part) + tlen + 1);
    if (rd == NULL) {
        herd_errf(err, errlen, "out of memory");
        goto fail;
    }
    rd->status = status;
    rd->text = (char *)(rd->parts + maxparts);
    colon = scheme_colon(target);

    for (i = 0; i < tlen;) {
        c = target[i];
        if (c == '\\') {
            if (target[i + 1] != ':' && target[i + 1] != '*') {
                herd_errf(err, errlen,
                          "redirect target \"%s\": '\\' must be followed by "
                          "':' or '*'",
                          target);
                goto fail;
            }
            c = target[i + 1];
            i += 2;
        } else if (c == ':' && i != colon &&
                   (is_alpha(target[i + 1]) || target[i + 1] == '_')) {
            name = target + i + 1;
            for (n = 0; is_name_char(name[n]); n++)
                ;
            if (!has_name(&nm, name, n)) {
                herd_errf(err, errlen,
                          "redirect target \"%s\": \":%.*s\" is not a "
                          "parameter of route \"%s\"",
                          target, (int)n, name, pattern);
                goto fail;
            }
            add_part(rd, PART_PARAM, o);
            memcpy(rd->text + o, name, n);
            rd->parts[rd->nparts - 1].len = n;
            o += n;
            i += n + 1;
            continue;
        } else if (c == '*') {
            if (!nm.wild) {
                herd_errf(err, errlen,
                          "redirect target \"%s\": '*' but route \"%s\" has "
                          "no wildcard (write \\* for a literal '*')",
                          target, pattern);
                goto fail;
            }
            add_part(rd, PART_WILD, o);
            i++;
            continue;
        } else if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e) {
            herd_errf(err, errlen,
                      "redirect target \"%s\": byte 0x%02x at offset %zu must "
                      "be percent-encoded",
                      target, (unsigned)(unsigned char)c, i);
            goto fail;
        } else {
            rd->has_query |= c == '?';
            rd->has_frag |= c == '#';
            i++;
        }
        add_part(rd, PART_LIT, o);
        rd->text[o++] = c;
        rd->parts[rd->nparts - 1].len++;
    }
    return rd;

fail:
    free(rd);
    return NULL;
}

int
herd_redirect_status(const struct herd_redirect *rd)
{
    return rd->status;
}

/* Append c to out[0..cap), keeping room for the NUL. */
static int
put(char *out, size_t cap, size_t *o, char c)
{
    if (*o + 1 >= cap)
        return 0;
    out[(*o)++] = c;
    return 1;
}

static int
put_escaped(char *out, size_t cap, size_t *o, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";

    return put(out, cap, o, '%') && put(out, cap, o, hex[c >> 4]) &&
           put(out, cap, o, hex[c & 15]);
}

static int
is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/* Append the value v[0..len), percent-encoded as herd_redirect_render says. */
static int
put_value(char *out, size_t cap, size_t *o, const char *v, size_t len,
          int keep_slash)
{
    size_t i;
    int ok = 1;

    for (i = 0; ok && i < len; i++) {
        if (is_unreserved(v[i]) || (keep_slash && v[i] == '/'))
            ok = put(out, cap, o, v[i]);
        else if (v[i] == '%' && len - i >= 3 && is_hex(v[i + 1]) &&
                 is_hex(v[i + 2]))
            ok = put(out, cap, o, v[i]);
        else
            ok = put_escaped(out, cap, o, (unsigned char)v[i]);
    }
    return ok;
}

/* Append the query q[0..len), escaping what a URI or a header must not hold. */
static int
put_query(char *out, size_t cap, size_t *o, const char *q, size_t len)
{
    unsigned char c;
    size_t i;
    int ok = 1;

    for (i = 0; ok && i < len; i++) {
        c = (unsigned char)q[i];
        if (c < 0x21 || c > 0x7e || strchr("\"#<>\\^`{|}", c) != NULL)
            ok = put_escaped(out, cap, o, c);
        else
            ok = put(out, cap, o, (char)c);
    }
    return ok;
}

static const struct herd_param *
find_param(const struct herd_match *m, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < m->nparams; i++)
        if (m->params[i].name_len == len &&
            memcmp(m->params[i].name, name, len) == 0)
            return &m->params[i];
    return NULL;
}

int
herd_redirect_render(const struct herd_redirect *rd, const struct herd_match *m,
                     const char *query, size_t qlen, char *out, size_t cap,
                     size_t *outlen)
{
    const struct herd_param *p;
    const struct part *pt;
    size_t i, o = 0;

    if (cap == 0)
        return HERD_ERR;
    for (i = 0; i < rd->nparts; i++) {
        pt = &rd->parts[i];
        if (pt->kind == PART_LIT) {
            if (o + pt->len >= cap)
                return HERD_ERR;
            memcpy(out + o, rd->text + pt->off, pt->len);
            o += pt->len;
            continue;
        }
        if (pt->kind == PART_WILD)
            p = find_param(m, "*", 1);
        else
            p = find_param(m, rd->text + pt->off, pt->len);
        if (p == NULL || !put_value(out, cap, &o, p->value, p->value_len,
                                    pt->kind == PART_WILD))
            return HERD_ERR;
    }
    if (query != NULL && qlen > 0 && !rd->has_frag) {
        if (!put(out, cap, &o, rd->has_query ? '&' : '?') ||
            !put_query(out, cap, &o, query, qlen))
            return HERD_ERR;
    }
    out[o] = '\0';
    *outlen = o;
    return HERD_OK;
}

void
herd_redirect_free(struct herd_redirect *rd)
{
    free(rd);
}
