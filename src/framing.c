/* framing.c: byte-level HTTP/1.1 request syntax and framing (RFC 9112). */
#include "framing.h"

#include <string.h>

enum state {
    /* request line */
    S_START, /* before it: empty lines (CRLF) are skipped */
    S_START_LF,
    S_METHOD,
    S_TARGET_FIRST,
    S_TARGET,
    S_VERSION, /* "HTTP/", matched by index */
    S_MAJOR,
    S_DOT,
    S_MINOR,
    S_LINE_CR,
    S_LINE_LF,
    /* field lines, of a head or of a trailer section */
    S_FIELD_START,
    S_NAME,
    S_VALUE,
    S_VALUE_LF,
    S_END_LF,
    S_HEAD_DONE, /* waiting for herd_framing_body */
    /* bodies */
    S_BODY, /* Content-Length bytes */
    S_SIZE_FIRST,
    S_SIZE,
    S_EXT,
    S_SIZE_LF,
    S_DATA,
    S_DATA_CR,
    S_DATA_LF,
};

/* Byte classes. */
#define C_TCHAR 0x1u /* token characters (RFC 9110 5.6.2) */
#define C_VCHAR 0x2u /* visible ASCII: request-target bytes */
#define C_FIELD 0x4u /* field-value and chunk-extension bytes but CR */
#define C_HEX   0x8u
#define C_REG   0x10u /* unreserved / sub-delims of RFC 3986: a reg-name */

static unsigned char classes[256];

/* Fill the class table from the grammar once; idempotent. */
static void
classes_init(void)
{
    static const char tspecials[] = "!#$%&'*+-.^_`|~";
    static const char reg_other[] = "-._~!$&'()*+,;=";
    unsigned c;

    if (classes['A'] != 0)
        return;
    for (c = 0; c < 256; c++) {
        unsigned v = 0;

        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
            (c >= 'A' && c <= 'Z') || (c != 0 && strchr(tspecials, (int)c)))
            v |= C_TCHAR;
        if (c >= 0x21 && c <= 0x7e)
            v |= C_VCHAR;
        if (c == '\t' || (c >= 0x20 && c != 0x7f))
            v |= C_FIELD;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
            (c >= 'A' && c <= 'F'))
            v |= C_HEX;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
            (c >= 'A' && c <= 'Z') || (c != 0 && strchr(reg_other, (int)c)))
            v |= C_REG;
        classes[c] = (unsigned char)v;
    }
}

static unsigned
hex_value(unsigned char c)
{
    if (c <= '9')
        return c - '0';
    return (c | 0x20u) - 'a' + 10;
}

/* Back to the start of a request, keeping the limits. */
static void
reset(struct herd_framing *f)
{
    f->state = S_START;
    f->index = 0;
    f->trailer = 0;
    f->head_len = 0;
    f->fields = 0;
    f->line_len = 0;
    f->digits = 0;
    f->left = 0;
    f->body_total = 0;
    f->body_wire = 0;
}

void
herd_framing_init(struct herd_framing *f, uint32_t max_head,
                  uint32_t max_fields, uint64_t max_body)
{
    classes_init();
    memset(f, 0, sizeof(*f));
    f->max_head = max_head;
    f->max_fields = max_fields;
    f->max_body = max_body;
    reset(f);
}

int
herd_framing_started(const struct herd_framing *f)
{
    return f->state != S_START || f->head_len > 0;
}

void
herd_framing_body(struct herd_framing *f, enum herd_body_kind kind,
                  uint64_t length)
{
    if (kind == HERD_BODY_LENGTH && length > 0) {
        f->state = S_BODY;
        f->left = length;
    } else if (kind == HERD_BODY_CHUNKED) {
        f->state = S_SIZE_FIRST;
        f->line_len = 0;
    } else {
        reset(f);
    }
}

/*
 * One byte of a request line or of a field section. Returns 0 to go on,
 * HERD_FRAMING_HEAD / HERD_FRAMING_END when the byte ends the section, or
 * HERD_FRAMING_ERROR with f->status set.
 */
static int
head_byte(struct herd_framing *f, unsigned char c)
{
    unsigned cl = classes[c];

    if (++f->head_len > f->max_head) {
        /* A request line that alone overflows means a long target. */
        f->status = f->state >= S_METHOD && f->state <= S_LINE_LF ? 414 : 431;
        return HERD_FRAMING_ERROR;
    }
    switch (f->state) {
    case S_START:
        if (c == '\r')
            f->state = S_START_LF;
        else if (cl & C_TCHAR)
            f->state = S_METHOD;
        else
            goto bad;
        return 0;
    case S_START_LF:
        if (c != '\n')
            goto bad;
        f->state = S_START;
        return 0;
    case S_METHOD:
        if (c == ' ')
            f->state = S_TARGET_FIRST;
        else if (!(cl & C_TCHAR))
            goto bad;
        return 0;
    case S_TARGET_FIRST:
        if (!(cl & C_VCHAR))
            goto bad; /* a second space, or no target */
        f->state = S_TARGET;
        return 0;
    case S_TARGET:
        if (c == ' ') {
            f->state = S_VERSION;
            f->index = 0;
        } else if (!(cl & C_VCHAR)) {
            goto bad; /* CR or LF here is an HTTP/0.9 request line */
        }
        return 0;
    case S_VERSION:
        if (c != (unsigned char)"HTTP/"[f->index])
            goto bad;
        if (++f->index == 5)
            f->state = S_MAJOR;
        return 0;
    case S_MAJOR:
        if (c < '0' || c > '9')
            goto bad;
        if (c != '1') {
            f->status = 505;
            return HERD_FRAMING_ERROR;
        }
        f->state = S_DOT;
        return 0;
    case S_DOT:
        if (c != '.')
            goto bad;
        f->state = S_MINOR;
        return 0;
    case S_MINOR:
        if (c < '0' || c > '9')
            goto bad;
        f->state = S_LINE_CR;
        return 0;
    case S_LINE_CR:
        if (c != '\r')
            goto bad;
        f->state = S_LINE_LF;
        return 0;
    case S_LINE_LF:
        if (c != '\n')
            goto bad;
        f->state = S_FIELD_START;
        return 0;
    case S_FIELD_START:
        if (c == '\r') {
            f->state = S_END_LF;
            return 0;
        }
        /* A space or tab here is obs-fold (or whitespace before the
           first field line): refused, as RFC 9112 5.2 allows. */
        if (!(cl & C_TCHAR))
            goto bad;
        if (++f->fields > f->max_fields) {
            f->status = 431;
            return HERD_FRAMING_ERROR;
        }
        f->state = S_NAME;
        return 0;
    case S_NAME:
        if (c == ':')
            f->state = S_VALUE;
        else if (!(cl & C_TCHAR))
            goto bad; /* whitespace before the colon, among others */
        return 0;
    case S_VALUE:
        if (c == '\r')
            f->state = S_VALUE_LF;
        else if (!(cl & C_FIELD))
            goto bad; /* NUL, bare LF, other controls, DEL */
        return 0;
    case S_VALUE_LF:
        if (c != '\n')
            goto bad; /* bare CR */
        f->state = S_FIELD_START;
        return 0;
    case S_END_LF:
        if (c != '\n')
            goto bad;
        if (f->trailer) {
            reset(f);
            return HERD_FRAMING_END;
        }
        f->state = S_HEAD_DONE;
        return HERD_FRAMING_HEAD;
    default:
        /* S_HEAD_DONE: the caller scanned on without herd_framing_body. */
        f->status = 500;
        return HERD_FRAMING_ERROR;
    }
bad:
    f->status = 400;
    return HERD_FRAMING_ERROR;
}

/* The chunk size is complete: refuse it if the body would be too large. */
static int
chunk_size_done(struct herd_framing *f)
{
    if (f->left > f->max_body - f->body_total) {
        f->status = 413;
        return HERD_FRAMING_ERROR;
    }
    f->body_total += f->left;
    return 0;
}

/* One byte of a chunk-size line or of the CRLF after chunk data. */
static int
chunk_byte(struct herd_framing *f, unsigned char c)
{
    unsigned cl = classes[c];

    if (f->state <= S_SIZE_LF && ++f->line_len > HERD_CHUNK_LINE_MAX)
        goto bad;
    switch (f->state) {
    case S_SIZE_FIRST:
        if (!(cl & C_HEX))
            goto bad;
        f->left = hex_value(c);
        f->digits = f->left != 0;
        f->state = S_SIZE;
        return 0;
    case S_SIZE:
        if (cl & C_HEX) {
            if (f->digits > 0 || c != '0')
                f->digits++;
            if (f->digits > 16)
                goto bad; /* more than 64 bits */
            f->left = f->left * 16 + hex_value(c);
            return 0;
        }
        /* No whitespace after the size: "5 \r\n" is refused. */
        if (c != ';' && c != '\r')
            goto bad;
        if (chunk_size_done(f) != 0)
            return HERD_FRAMING_ERROR;
        f->state = c == ';' ? S_EXT : S_SIZE_LF;
        return 0;
    case S_EXT:
        if (c == '\r')
            f->state = S_SIZE_LF;
        else if (!(cl & C_FIELD))
            goto bad; /* LF, NUL and other controls */
        return 0;
    case S_SIZE_LF:
        if (c != '\n')
            goto bad;
        if (f->left == 0) { /* last chunk: the trailer section follows */
            f->trailer = 1;
            f->head_len = 0;
            f->fields = 0;
            f->state = S_FIELD_START;
        } else {
            f->state = S_DATA;
        }
        return 0;
    case S_DATA_CR:
        if (c != '\r')
            goto bad;
        f->state = S_DATA_LF;
        return 0;
    default: /* S_DATA_LF */
        if (c != '\n')
            goto bad;
        f->state = S_SIZE_FIRST;
        f->line_len = 0;
        return 0;
    }
bad:
    f->status = 400;
    return HERD_FRAMING_ERROR;
}

/*
 * In S_METHOD, S_TARGET, S_NAME or S_VALUE: how many of the n bytes at
 * p the state takes without changing (the bytes of its class), up to the
 * head size limit; counted into head_len. The byte after them, if any,
 * goes through head_byte, which ends the state, refuses it, or reports
 * the limit.
 */
static size_t
head_run(struct herd_framing *f, const unsigned char *p, size_t n)
{
    unsigned mask = f->state == S_TARGET  ? C_VCHAR
                    : f->state == S_VALUE ? C_FIELD
                                          : C_TCHAR;
    size_t room = f->max_head - f->head_len, i = 0;

    if (n > room)
        n = room;
    while (i < n && (classes[p[i]] & mask))
        i++;
    f->head_len += (uint32_t)i;
    return i;
}

enum herd_framing_event
herd_framing_scan(struct herd_framing *f, const char *p, size_t len,
                  size_t *used)
{
    size_t i = 0, take;
    int ev;

    while (i < len) {
        if (f->state == S_BODY || f->state == S_DATA) {
            /* Body bytes are not looked at, only counted. */
            take = len - i;
            if (take > f->left)
                take = (size_t)f->left;
            f->left -= take;
            f->body_wire += take;
            i += take;
            if (f->left > 0)
                continue;
            if (f->state == S_DATA) {
                f->state = S_DATA_CR;
                continue;
            }
            reset(f);
            *used = i;
            return HERD_FRAMING_END;
        }
        if (f->state == S_VERSION && f->index == 0 && len - i >= 10 &&
            f->max_head - f->head_len >= 10 &&
            (memcmp(p + i, "HTTP/1.1\r\n", 10) == 0 ||
             memcmp(p + i, "HTTP/1.0\r\n", 10) == 0)) {
            /* The version and the end of the request line, as nearly
               every request spells them. */
            f->head_len += 10;
            f->state = S_FIELD_START;
            i += 10;
            continue;
        }
        if (f->state == S_METHOD || f->state == S_TARGET ||
            f->state == S_NAME || f->state == S_VALUE) {
            /* Most head bytes are in a method, a target, a name or a
               value: take the run of bytes the state accepts in one
               pass. */
            size_t run = head_run(f, (const unsigned char *)p + i, len - i);

            i += run;
            if (f->trailer)
                f->body_wire += run;
            if (i == len)
                break;
        }
        if (f->state >= S_SIZE_FIRST || f->trailer) {
            f->body_wire++;
            ev = f->state >= S_SIZE_FIRST ? chunk_byte(f, (unsigned char)p[i])
                                          : head_byte(f, (unsigned char)p[i]);
        } else {
            ev = head_byte(f, (unsigned char)p[i]);
        }
        if (ev == HERD_FRAMING_ERROR) {
            *used = i;
            return HERD_FRAMING_ERROR;
        }
        i++;
        if (ev != 0) {
            *used = i;
            return (enum herd_framing_event)ev;
        }
    }
    *used = i;
    return HERD_FRAMING_MORE;
}

/* ---- field values ---- */

const char *
herd_framing_trim(const char *p, size_t *len)
{
    size_t n = *len;

    while (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *len = n;
    return p;
}

int
herd_framing_token_valid(const char *p, size_t len)
{
    size_t i;

    classes_init();
    for (i = 0; i < len; i++)
        if (!(classes[(unsigned char)p[i]] & C_TCHAR))
            return 0;
    return len > 0;
}

const char *
herd_framing_value_invalid(const char *p, size_t len)
{
    size_t i;

    classes_init();
    for (i = 0; i < len; i++)
        if (!(classes[(unsigned char)p[i]] & C_FIELD))
            return p + i;
    return NULL;
}

int
herd_framing_token_eq(const char *p, size_t len, const char *lc)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (lc[i] == '\0' || c != (unsigned char)lc[i])
            return 0;
    }
    return lc[len] == '\0';
}

int
herd_framing_content_length(const char *p, size_t len, uint64_t *n)
{
    uint64_t v = 0;
    unsigned d;
    size_t i;

    if (len == 0)
        return HERD_ERR;
    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return HERD_ERR;
        d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return HERD_ERR;
        v = v * 10 + d;
    }
    *n = v;
    return HERD_OK;
}

int
herd_framing_transfer_encoding(const char *p, size_t len)
{
    const char *e;
    size_t i, start = 0, elen;
    int chunked_last = 0, others = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && p[i] != ',')
            continue;
        elen = i - start;
        e = herd_framing_trim(p + start, &elen);
        start = i + 1;
        if (elen == 0 || chunked_last)
            return 400; /* an empty element, or anything after chunked */
        if (herd_framing_token_eq(e, elen, "chunked"))
            chunked_last = 1;
        else
            others++;
    }
    if (!chunked_last)
        return 400;
    return others ? 501 : 0;
}

int
herd_framing_host_valid(const char *p, size_t len)
{
    size_t i = 0, start;
    unsigned port = 0;

    if (len == 0)
        return 1;
    classes_init();
    if (p[0] == '[') {
        /* IPv6 literal: hex digits, colons and the dots of an embedded
           IPv4 address; IPvFuture is not accepted. */
        for (i = 1; i < len && p[i] != ']'; i++)
            if (!(classes[(unsigned char)p[i]] & C_HEX) && p[i] != ':' &&
                p[i] != '.')
                return 0;
        if (i == len || i == 1 || i > 46)
            return 0;
        i++;
    } else {
        for (; i < len && p[i] != ':'; i++) {
            if (p[i] == '%') {
                if (i + 2 >= len ||
                    !(classes[(unsigned char)p[i + 1]] & C_HEX) ||
                    !(classes[(unsigned char)p[i + 2]] & C_HEX))
                    return 0;
                i += 2;
            } else if (!(classes[(unsigned char)p[i]] & C_REG)) {
                return 0;
            }
        }
        if (i == 0)
            return 0; /* a port without a host */
    }
    if (i == len)
        return 1;
    if (p[i] != ':')
        return 0;
    start = ++i;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9' || i - start >= 5)
            return 0;
        port = port * 10 + (unsigned)(p[i] - '0');
    }
    return i > start && port <= 65535;
}
