/* jsonv.c: a strict JSON validator for tests (RFC 8259, no extensions). */
#include "jsonv.h"

#include <string.h>

struct jv {
    const unsigned char *p, *end;
    int depth;
};

static void
ws(struct jv *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int value(struct jv *j);

static int
hexdigit(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence starting at j->p (not ASCII). */
static int
utf8(struct jv *j)
{
    unsigned char c = *j->p;
    int n, i;

    if (c >= 0xc2 && c <= 0xdf)
        n = 1;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3;
    else
        return -1;
    if (j->end - j->p <= n)
        return -1;
    for (i = 1; i <= n; i++)
        if ((j->p[i] & 0xc0) != 0x80)
            return -1;
    j->p += n + 1;
    return 0;
}

static int
string(struct jv *j)
{
    int i;

    if (j->p >= j->end || *j->p != '"')
        return -1;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (++j->p >= j->end)
                return -1;
            c = *j->p++;
            if (c == 'u') {
                for (i = 0; i < 4; i++)
                    if (j->p >= j->end || !hexdigit(*j->p++))
                        return -1;
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return -1;
            }
        } else if (c >= 0x80) {
            if (utf8(j) != 0)
                return -1;
        } else {
            j->p++;
        }
    }
    return -1;
}

static int
digits(struct jv *j)
{
    const unsigned char *start = j->p;

    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > start ? 0 : -1;
}

static int
number(struct jv *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (digits(j) != 0)
        return -1;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (digits(j) != 0)
            return -1;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (digits(j) != 0)
            return -1;
    }
    return 0;
}

static int
word(struct jv *j, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return -1;
    j->p += n;
    return 0;
}

static int
container(struct jv *j, char close, int object)
{
    if (++j->depth > 64)
        return -1;
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        ws(j);
        if (object) {
            if (string(j) != 0)
                return -1;
            ws(j);
            if (j->p >= j->end || *j->p++ != ':')
                return -1;
        }
        if (value(j) != 0)
            return -1;
        ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p++ != close)
            return -1;
        j->depth--;
        return 0;
    }
}

static int
value(struct jv *j)
{
    ws(j);
    if (j->p >= j->end)
        return -1;
    switch (*j->p) {
    case '{':
        return container(j, '}', 1);
    case '[':
        return container(j, ']', 0);
    case '"':
        return string(j);
    case 't':
        return word(j, "true");
    case 'f':
        return word(j, "false");
    case 'n':
        return word(j, "null");
    default:
        return number(j);
    }
}

static int
whole(const char *s, size_t len, int object)
{
    struct jv j = {(const unsigned char *)s, (const unsigned char *)s + len, 0};

    ws(&j);
    if (object && (j.p >= j.end || *j.p != '{'))
        return -1;
    if (value(&j) != 0)
        return -1;
    ws(&j);
    return j.p == j.end ? 0 : -1;
}

int
jv_object(const char *s, size_t len)
{
    return whole(s, len, 1);
}

int
jv_value(const char *s, size_t len)
{
    return whole(s, len, 0);
}
