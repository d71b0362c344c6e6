/* promcheck.c: a strict checker of Prometheus text exposition 0.0.4. */
#include "promcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 128
#define MAX_SERIES   1024
#define NAME_MAX_LEN 128

struct family {
    char name[NAME_MAX_LEN];
    char type[16];
    int has_help, has_type, has_samples, closed;
    /* histogram checks */
    double last_bucket, inf_bucket, count;
    int has_inf, has_sum, has_count, nbuckets;
};

struct state {
    struct family fam[MAX_FAMILIES];
    int nfam;
    int current; /* family whose samples come now, -1 */
    char series[MAX_SERIES][256];
    int nseries;
    char *err;
    size_t errlen;
    int line;
};

static int
fail(struct state *st, const char *why)
{
    snprintf(st->err, st->errlen, "line %d: %s", st->line, why);
    return -1;
}

static int
name_start(char c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (colon && c == ':');
}

static int
name_char(char c, int colon)
{
    return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Read a metric (colon) or label name at *p into out. */
static int
read_name(const char **p, const char *end, char *out, int colon)
{
    size_t n = 0;

    if (*p >= end || !name_start(**p, colon))
        return -1;
    while (*p < end && name_char(**p, colon) && n + 1 < NAME_MAX_LEN)
        out[n++] = *(*p)++;
    out[n] = '\0';
    return *p < end && name_char(**p, colon) ? -1 : 0;
}

static int
parse_value(const char *s, size_t len, double *v)
{
    char buf[64], *end;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0) {
        *v = INFINITY;
        return 0;
    }
    if (strcmp(buf, "-Inf") == 0) {
        *v = -INFINITY;
        return 0;
    }
    if (strcmp(buf, "NaN") == 0) {
        *v = NAN;
        return 0;
    }
    /* Go's ParseFloat: digits, '.', exponent; no hex, no spaces. */
    if (strspn(buf, "0123456789.eE+-") != len)
        return -1;
    *v = strtod(buf, &end);
    return *end == '\0' ? 0 : -1;
}

static struct family *
find_family(struct state *st, const char *name)
{
    int i;

    for (i = 0; i < st->nfam; i++)
        if (strcmp(st->fam[i].name, name) == 0)
            return &st->fam[i];
    return NULL;
}

static struct family *
add_family(struct state *st, const char *name)
{
    struct family *f = find_family(st, name);

    if (f != NULL || st->nfam == MAX_FAMILIES)
        return f;
    f = &st->fam[st->nfam++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->last_bucket = -1;
    return f;
}

/* The family a sample named name belongs to (histogram suffixes). */
static struct family *
sample_family(struct state *st, const char *name, const char **suffix)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    char base[NAME_MAX_LEN];
    struct family *f;
    size_t i, n = strlen(name), k;

    *suffix = "";
    for (i = 0; i < 3; i++) {
        k = strlen(sfx[i]);
        if (n > k && strcmp(name + n - k, sfx[i]) == 0) {
            memcpy(base, name, n - k);
            base[n - k] = '\0';
            f = find_family(st, base);
            if (f != NULL && (strcmp(f->type, "histogram") == 0 ||
                              strcmp(f->type, "summary") == 0)) {
                *suffix = sfx[i];
                return f;
            }
        }
    }
    return add_family(st, name);
}

static int
comment(struct state *st, const char *p, const char *end)
{
    char name[NAME_MAX_LEN];
    struct family *f;
    int help;

    if (end - p >= 7 && memcmp(p, "# HELP ", 7) == 0)
        help = 1;
    else if (end - p >= 7 && memcmp(p, "# TYPE ", 7) == 0)
        help = 0;
    else
        return 0; /* any other comment is allowed */
    p += 7;
    if (read_name(&p, end, name, 1) != 0)
        return fail(st, "bad metric name in HELP/TYPE");
    f = add_family(st, name);
    if (f == NULL)
        return fail(st, "too many families");
    if (f->closed || f->has_samples)
        return fail(st, "HELP/TYPE after the family's samples");
    if (help) {
        if (f->has_help)
            return fail(st, "second HELP");
        f->has_help = 1;
        if (p < end && *p != ' ')
            return fail(st, "no space after the name");
        for (; p < end; p++)
            if (*p == '\\' && (p + 1 >= end || (p[1] != '\\' && p[1] != 'n')))
                return fail(st, "bad escape in HELP");
        return 0;
    }
    if (f->has_type)
        return fail(st, "second TYPE");
    if (p >= end || *p++ != ' ')
        return fail(st, "no type");
    if ((size_t)(end - p) >= sizeof(f->type))
        return fail(st, "unknown type");
    memcpy(f->type, p, (size_t)(end - p));
    f->type[end - p] = '\0';
    if (strcmp(f->type, "counter") && strcmp(f->type, "gauge") &&
        strcmp(f->type, "histogram") && strcmp(f->type, "summary") &&
        strcmp(f->type, "untyped"))
        return fail(st, "unknown type");
    f->has_type = 1;
    return 0;
}

static int
sample(struct state *st, const char *p, const char *end)
{
    char name[NAME_MAX_LEN], label[NAME_MAX_LEN], le[64] = "", key[256];
    const char *start = p, *suffix, *v;
    struct family *f;
    double value;
    int i, nlabels = 0;
    size_t n;

    if (read_name(&p, end, name, 1) != 0)
        return fail(st, "bad metric name");
    if (p < end && *p == '{') {
        p++;
        while (p < end && *p != '}') {
            if (read_name(&p, end, label, 0) != 0)
                return fail(st, "bad label name");
            if (p >= end || *p++ != '=' || p >= end || *p++ != '"')
                return fail(st, "label without =\"value\"");
            v = p;
            while (p < end && *p != '"') {
                if (*p == '\\') {
                    if (p + 1 >= end ||
                        (p[1] != '\\' && p[1] != '"' && p[1] != 'n'))
                        return fail(st, "bad escape in a label value");
                    p++;
                }
                p++;
            }
            if (p >= end)
                return fail(st, "unterminated label value");
            if (strcmp(label, "le") == 0) {
                n = (size_t)(p - v) < sizeof(le) ? (size_t)(p - v)
                                                 : sizeof(le) - 1;
                memcpy(le, v, n);
                le[n] = '\0';
            }
            p++;
            nlabels++;
            if (p < end && *p == ',')
                p++;
            else if (p < end && *p != '}')
                return fail(st, "expected , or } after a label");
        }
        if (p >= end)
            return fail(st, "unterminated label set");
        p++;
    }
    (void)nlabels;
    n = (size_t)(p - start);
    if (p >= end || *p++ != ' ')
        return fail(st, "no space before the value");
    v = p;
    while (p < end && *p != ' ')
        p++;
    if (parse_value(v, (size_t)(p - v), &value) != 0)
        return fail(st, "bad value");
    if (p < end) { /* a timestamp: an integer */
        p++;
        if (p >= end || strspn(p, "-0123456789") < (size_t)(end - p))
            return fail(st, "bad timestamp");
    }
    if (n >= sizeof(key))
        return fail(st, "series too long");
    memcpy(key, start, n);
    key[n] = '\0';
    for (i = 0; i < st->nseries; i++)
        if (strcmp(st->series[i], key) == 0)
            return fail(st, "series twice");
    if (st->nseries == MAX_SERIES)
        return fail(st, "too many series");
    strcpy(st->series[st->nseries++], key);

    f = sample_family(st, name, &suffix);
    if (f == NULL)
        return fail(st, "too many families");
    if (f->closed)
        return fail(st, "family's samples are not together");
    if (st->current >= 0 && &st->fam[st->current] != f)
        st->fam[st->current].closed = 1;
    st->current = (int)(f - st->fam);
    f->has_samples = 1;
    if (strcmp(f->type, "counter") == 0 && !(value >= 0))
        return fail(st, "negative or NaN counter");
    if (strcmp(f->type, "histogram") == 0) {
        if (strcmp(suffix, "_bucket") == 0) {
            if (le[0] == '\0')
                return fail(st, "bucket without le");
            if (value < f->last_bucket)
                return fail(st, "buckets not cumulative");
            f->last_bucket = value;
            f->nbuckets++;
            if (strcmp(le, "+Inf") == 0) {
                f->has_inf = 1;
                f->inf_bucket = value;
            }
        } else if (strcmp(suffix, "_sum") == 0) {
            f->has_sum = 1;
        } else if (strcmp(suffix, "_count") == 0) {
            f->has_count = 1;
            f->count = value;
        } else {
            return fail(st, "histogram sample without a suffix");
        }
    }
    return 0;
}

int
pc_check(const char *text, size_t len, char *err, size_t errlen)
{
    struct state *st = calloc(1, sizeof(*st));
    const char *p = text, *end = text + len, *nl;
    int i, rc = 0;

    if (st == NULL)
        return -1;
    st->err = err;
    st->errlen = errlen;
    st->current = -1;
    if (len == 0 || text[len - 1] != '\n') {
        rc = fail(st, "does not end in LF");
        goto done;
    }
    while (p < end && rc == 0) {
        st->line++;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (memchr(p, '\r', (size_t)(nl - p)) != NULL)
            rc = fail(st, "CR in a line");
        else if (nl == p)
            ; /* empty lines are allowed */
        else if (*p == '#')
            rc = comment(st, p, nl);
        else
            rc = sample(st, p, nl);
        p = nl + 1;
    }
    for (i = 0; rc == 0 && i < st->nfam; i++) {
        struct family *f = &st->fam[i];
        if (strcmp(f->type, "histogram") != 0)
            continue;
        if (!f->has_inf || !f->has_sum || !f->has_count)
            rc = fail(st, "histogram without +Inf, _sum or _count");
        else if (f->inf_bucket != f->count)
            rc = fail(st, "histogram +Inf bucket differs from _count");
    }
done:
    free(st);
    return rc;
}

double
pc_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p += n;
    }
    return -1;
}
