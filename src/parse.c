/* parse.c: strict parsers for the durations and sizes written in herd.yaml. */
#include "parse.h"

#include <stdio.h>
#include <string.h>

/* Longest piece of the input echoed back in an error message. */
#define SHOW_MAX 40

/*
 * Copy text into buf as a double-quoted, printable string: control
 * bytes become \xNN, quotes and backslashes are escaped, and text longer
 * than SHOW_MAX bytes is cut with "...". Returns buf.
 */
static const char *
show(char *buf, size_t size, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    /* Room for the widest escape, the ellipsis, the quote and the NUL. */
    if (size < 10) {
        if (size > 0)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (i = 0; text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)text[i];

        if (i == SHOW_MAX || o + 9 > size) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 0xf];
        } else if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/*
 * Read the decimal digits at the start of text into *value. On success
 * returns HERD_OK and points *end past the digits. On failure fills err
 * with "invalid WHAT "TEXT": reason".
 */
static int
leading_number(const char *what, const char *text, uint64_t *value,
               const char **end, char *err, size_t errlen)
{
    char shown[SHOW_MAX * 4 + 8];
    const char *p = text;
    uint64_t v = 0;

    if (text == NULL || *text == '\0') {
        snprintf(err, errlen, "invalid %s \"\": empty value", what);
        return HERD_ERR;
    }
    show(shown, sizeof(shown), text);
    if (*p == '+' || *p == '-') {
        snprintf(err, errlen, "invalid %s %s: no sign allowed", what, shown);
        return HERD_ERR;
    }
    if (*p == ' ' || *p == '\t') {
        snprintf(err, errlen, "invalid %s %s: no spaces allowed", what, shown);
        return HERD_ERR;
    }
    if (*p < '0' || *p > '9') {
        snprintf(err, errlen, "invalid %s %s: expected a number", what, shown);
        return HERD_ERR;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - d) / 10) {
            snprintf(err, errlen, "invalid %s %s: too large", what, shown);
            return HERD_ERR;
        }
        v = v * 10 + d;
    }
    if (*p == '.' || *p == ',') {
        snprintf(err, errlen,
                 "invalid %s %s: fractions are not allowed (use a smaller "
                 "unit)",
                 what, shown);
        return HERD_ERR;
    }
    if (strchr(p, ' ') != NULL || strchr(p, '\t') != NULL) {
        snprintf(err, errlen, "invalid %s %s: no spaces allowed", what, shown);
        return HERD_ERR;
    }
    *value = v;
    *end = p;
    return HERD_OK;
}

/* Store v * mult in *out, or fill err when the product overflows. */
static int
scale(const char *what, const char *text, uint64_t v, uint64_t mult,
      uint64_t *out, char *err, size_t errlen)
{
    char shown[SHOW_MAX * 4 + 8];

    if (v > UINT64_MAX / mult) {
        snprintf(err, errlen, "invalid %s %s: too large", what,
                 show(shown, sizeof(shown), text));
        return HERD_ERR;
    }
    *out = v * mult;
    return HERD_OK;
}

int
herd_parse_duration(const char *text, uint64_t *ms, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {
        {"ms", 1},
        {"s", 1000},
        {"m", 60 * 1000},
        {"h", 60 * 60 * 1000},
        {"d", 24 * 60 * 60 * 1000},
    };
    char shown[SHOW_MAX * 4 + 8], unit[SHOW_MAX * 4 + 8];
    const char *end;
    uint64_t v;
    size_t i;

    if (leading_number("duration", text, &v, &end, err, errlen) != HERD_OK)
        return HERD_ERR;
    if (*end == '\0')
        return scale("duration", text, v, 1000, ms, err, errlen);
    for (i = 0; i < HERD_ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].name) == 0)
            return scale("duration", text, v, units[i].ms, ms, err, errlen);
    }
    snprintf(err, errlen,
             "invalid duration %s: unknown unit %s (use ms, s, m, h or d)",
             show(shown, sizeof(shown), text), show(unit, sizeof(unit), end));
    return HERD_ERR;
}

int
herd_parse_size(const char *text, uint64_t *bytes, char *err, size_t errlen)
{
    char shown[SHOW_MAX * 4 + 8], unit[SHOW_MAX * 4 + 8];
    const char *end, *p;
    uint64_t v, mult = 1;

    if (leading_number("size", text, &v, &end, err, errlen) != HERD_OK)
        return HERD_ERR;
    p = end;
    switch (*p) {
    case 'k':
    case 'K':
        mult = 1024;
        p++;
        break;
    case 'm':
    case 'M':
        mult = 1024 * 1024;
        p++;
        break;
    case 'g':
    case 'G':
        mult = 1024 * 1024 * 1024;
        p++;
        break;
    default:
        break;
    }
    if (*p == 'b' || *p == 'B')
        p++;
    if (*p != '\0') {
        snprintf(err, errlen,
                 "invalid size %s: unknown unit %s (use k, m or g, "
                 "optionally followed by b)",
                 show(shown, sizeof(shown), text),
                 show(unit, sizeof(unit), end));
        return HERD_ERR;
    }
    return scale("size", text, v, mult, bytes, err, errlen);
}
