/* sse.c: Server-Sent Events text (WHATWG HTML, "server-sent events"). */
#include "sse.h"

#include <stdio.h>
#include <string.h>

#define DATA_FIELD "data: "

/* 1 when s holds CR or LF. */
static int
has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/*
 * One pass over the data: refuse NUL, count the line breaks (CRLF is one).
 * The lines are then breaks + 1, each written as "data: " line "\n".
 */
static int
count_breaks(const char *data, size_t len, size_t *breaks)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (data[i] == '\0')
            return HERD_ERR;
        if (data[i] == '\n') {
            n++;
        } else if (data[i] == '\r') {
            n++;
            if (i + 1 < len && data[i + 1] == '\n')
                i++;
        }
    }
    *breaks = n;
    return HERD_OK;
}

/* Append "data: " lines for data[0..len) at p; returns p past them. */
static char *
put_data(char *p, const char *data, size_t len)
{
    size_t i, start = 0;

    for (i = 0;; i++) {
        if (i == len || data[i] == '\n' || data[i] == '\r') {
            memcpy(p, DATA_FIELD, sizeof(DATA_FIELD) - 1);
            p += sizeof(DATA_FIELD) - 1;
            if (i > start)
                memcpy(p, data + start, i - start);
            p += i - start;
            *p++ = '\n';
            if (i == len)
                return p;
            if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
                i++;
            start = i + 1;
        }
    }
}

/*
 * The block is sized first (the line breaks bound the "data: " prefixes),
 * reserved once and written in place, so a failure leaves out untouched.
 */
int
herd_sse_event(struct herd_buf *out, uint64_t id, const char *event,
               const char *data, size_t len)
{
    char head[sizeof("id: \n") + HERD_SSE_ID_MAX_DIGITS];
    size_t breaks, event_len = 0, head_len = 0, lines, need;
    char *p;

    if (data == NULL && len > 0)
        return HERD_ERR;
    if (event != NULL) {
        if (has_line_break(event))
            return HERD_ERR;
        event_len = strlen(event);
    }
    if (count_breaks(data, len, &breaks) != HERD_OK)
        return HERD_ERR;
    if (id != 0)
        head_len = (size_t)snprintf(head, sizeof(head), "id: %llu\n",
                                    (unsigned long long)id);
    lines = breaks + 1;
    need = head_len + (event_len ? sizeof("event: \n") - 1 + event_len : 0);
    /* Each line adds "data: " and "\n" and loses at least one break byte:
       len + 7 * lines cannot overflow unless len is near SIZE_MAX. */
    if (len > SIZE_MAX / 2 || lines > (SIZE_MAX / 2 - len) / 8)
        return HERD_ERR;
    need += len + lines * (sizeof(DATA_FIELD) - 1 + 1) + 1;
    if (herd_buf_reserve(out, need) != HERD_OK)
        return HERD_ERR;
    p = out->data + out->len;
    memcpy(p, head, head_len);
    p += head_len;
    if (event_len) {
        memcpy(p, "event: ", 7);
        memcpy(p + 7, event, event_len);
        p += 7 + event_len;
        *p++ = '\n';
    }
    p = put_data(p, data, len);
    *p++ = '\n';
    out->len = (size_t)(p - out->data);
    return HERD_OK;
}

int
herd_sse_comment(struct herd_buf *out, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    char *p;

    if (n && has_line_break(text))
        return HERD_ERR;
    if (herd_buf_reserve(out, n + 4) != HERD_OK)
        return HERD_ERR;
    p = out->data + out->len;
    *p++ = ':';
    if (n) {
        *p++ = ' ';
        memcpy(p, text, n);
        p += n;
    }
    *p++ = '\n';
    *p++ = '\n';
    out->len = (size_t)(p - out->data);
    return HERD_OK;
}

int
herd_sse_retry(struct herd_buf *out, uint32_t ms)
{
    char line[sizeof("retry: \n\n") + 10];
    int n;

    n = snprintf(line, sizeof(line), "retry: %lu\n\n", (unsigned long)ms);
    return herd_buf_append(out, line, (size_t)n);
}

int
herd_sse_parse_last_event_id(const char *v, size_t len, uint64_t *id)
{
    uint64_t n = 0;
    size_t i;
    unsigned d;

    if (v == NULL || len == 0 || len > HERD_SSE_ID_MAX_DIGITS ||
        (len > 1 && v[0] == '0'))
        return HERD_ERR;
    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return HERD_ERR;
        d = (unsigned)(v[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return HERD_ERR;
        n = n * 10 + d;
    }
    *id = n;
    return HERD_OK;
}
