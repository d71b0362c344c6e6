/* response.c: status lines, the Date cache, fixed and error responses. */
#include "response.h"

#include "framing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_HEADER "Server: herd\r\n"

static const char *const reasons[600] = {
    [100] = "Continue",
    [101] = "Switching Protocols",
    [200] = "OK",
    [201] = "Created",
    [202] = "Accepted",
    [203] = "Non-Authoritative Information",
    [204] = "No Content",
    [205] = "Reset Content",
    [206] = "Partial Content",
    [300] = "Multiple Choices",
    [301] = "Moved Permanently",
    [302] = "Found",
    [303] = "See Other",
    [304] = "Not Modified",
    [307] = "Temporary Redirect",
    [308] = "Permanent Redirect",
    [400] = "Bad Request",
    [401] = "Unauthorized",
    [402] = "Payment Required",
    [403] = "Forbidden",
    [404] = "Not Found",
    [405] = "Method Not Allowed",
    [406] = "Not Acceptable",
    [408] = "Request Timeout",
    [409] = "Conflict",
    [410] = "Gone",
    [411] = "Length Required",
    [412] = "Precondition Failed",
    [413] = "Content Too Large",
    [414] = "URI Too Long",
    [415] = "Unsupported Media Type",
    [416] = "Range Not Satisfiable",
    [417] = "Expectation Failed",
    [421] = "Misdirected Request",
    [422] = "Unprocessable Content",
    [426] = "Upgrade Required",
    [428] = "Precondition Required",
    [429] = "Too Many Requests",
    [431] = "Request Header Fields Too Large",
    [500] = "Internal Server Error",
    [501] = "Not Implemented",
    [502] = "Bad Gateway",
    [503] = "Service Unavailable",
    [504] = "Gateway Timeout",
    [505] = "HTTP Version Not Supported",
};

static const char *const class_reasons[6] = {
    "Unknown",     "Informational", "Success",
    "Redirection", "Client Error",  "Server Error",
};

int
herd_buf_reserve(struct herd_buf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->cap - b->len >= n)
        return HERD_OK;
    cap = b->cap ? b->cap : 1024;
    while (cap - b->len < n)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return HERD_ERR;
    b->data = p;
    b->cap = cap;
    return HERD_OK;
}

int
herd_buf_append(struct herd_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return HERD_OK; /* p may be NULL then */
    if (herd_buf_reserve(b, n) != HERD_OK)
        return HERD_ERR;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return HERD_OK;
}

void
herd_buf_free(struct herd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *
herd_status_reason(int status)
{
    if (status < 100 || status > 599)
        return class_reasons[0];
    if (reasons[status] != NULL)
        return reasons[status];
    return class_reasons[status / 100];
}

const char *
herd_date_header(time_t now, size_t *len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    static char line[64];
    static size_t line_len;
    static time_t rendered = (time_t)-1;
    struct tm tm;

    if (now != rendered) {
        gmtime_r(&now, &tm);
        line_len = (size_t)snprintf(
            line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
            days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
            tm.tm_hour, tm.tm_min, tm.tm_sec);
        rendered = now;
    }
    *len = line_len;
    return line;
}

static int
status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

int
herd_fixed_response_init(struct herd_fixed_response *r,
                         const struct herd_respond_conf *conf)
{
    struct herd_buf h = {0};
    char line[128];
    size_t i;
    int n;

    memset(r, 0, sizeof(*r));
    n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n" SERVER_HEADER,
                 conf->status, herd_status_reason(conf->status));
    if (herd_buf_append(&h, line, (size_t)n) != HERD_OK)
        goto fail;
    for (i = 0; i < conf->nheaders; i++) {
        const struct herd_header *hd = &conf->headers[i];
        if (herd_buf_append(&h, hd->name, strlen(hd->name)) != HERD_OK ||
            herd_buf_append(&h, ": ", 2) != HERD_OK ||
            herd_buf_append(&h, hd->value, strlen(hd->value)) != HERD_OK ||
            herd_buf_append(&h, "\r\n", 2) != HERD_OK)
            goto fail;
    }
    if (status_has_body(conf->status)) {
        n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n",
                     conf->body_len);
        if (herd_buf_append(&h, line, (size_t)n) != HERD_OK)
            goto fail;
        r->body = malloc(conf->body_len ? conf->body_len : 1);
        if (r->body == NULL)
            goto fail;
        memcpy(r->body, conf->body, conf->body_len);
        r->body_len = conf->body_len;
    }
    r->head = h.data;
    r->head_len = h.len;
    return HERD_OK;
fail:
    herd_buf_free(&h);
    free(r->body);
    r->body = NULL;
    return HERD_ERR;
}

void
herd_fixed_response_free(struct herd_fixed_response *r)
{
    if (r == NULL)
        return;
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static const char *const conn_lines[] = {
    [HERD_CONN_NONE] = "",
    [HERD_CONN_KEEPALIVE] = "Connection: keep-alive\r\n",
    [HERD_CONN_CLOSE] = "Connection: close\r\n",
};
static const size_t conn_lens[] = {
    [HERD_CONN_NONE] = 0,
    [HERD_CONN_KEEPALIVE] = sizeof("Connection: keep-alive\r\n") - 1,
    [HERD_CONN_CLOSE] = sizeof("Connection: close\r\n") - 1,
};

int
herd_fixed_response_write(const struct herd_fixed_response *r,
                          struct herd_buf *out, time_t now,
                          enum herd_conn_header conn, int head_only)
{
    size_t date_len, need;
    const char *date = herd_date_header(now, &date_len);
    char *p;

    need = r->head_len + date_len + conn_lens[conn] + 2 +
           (head_only ? 0 : r->body_len);
    if (herd_buf_reserve(out, need) != HERD_OK)
        return HERD_ERR;
    p = out->data + out->len;
    memcpy(p, r->head, r->head_len);
    p += r->head_len;
    memcpy(p, date, date_len);
    p += date_len;
    memcpy(p, conn_lines[conn], conn_lens[conn]);
    p += conn_lens[conn];
    *p++ = '\r';
    *p++ = '\n';
    if (!head_only && r->body_len > 0) {
        memcpy(p, r->body, r->body_len);
        p += r->body_len;
    }
    out->len = (size_t)(p - out->data);
    return HERD_OK;
}

int
herd_error_response_write(struct herd_buf *out, int status, time_t now,
                          enum herd_conn_header conn, const char *allow,
                          int head_only)
{
    char head[512], body[128];
    size_t date_len;
    const char *date = herd_date_header(now, &date_len);
    int hn, bn;

    bn = snprintf(body, sizeof(body), "%d %s\n", status,
                  herd_status_reason(status));
    hn = snprintf(head, sizeof(head),
                  "HTTP/1.1 %d %s\r\n" SERVER_HEADER "%.*s%s%s%s"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: %d\r\n%s\r\n",
                  status, herd_status_reason(status), (int)date_len, date,
                  allow ? "Allow: " : "", allow ? allow : "",
                  allow ? "\r\n" : "", bn, conn_lines[conn]);
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return HERD_ERR;
    if (herd_buf_append(out, head, (size_t)hn) != HERD_OK)
        return HERD_ERR;
    if (!head_only && herd_buf_append(out, body, (size_t)bn) != HERD_OK)
        return HERD_ERR;
    return HERD_OK;
}

int
herd_response_start(struct herd_buf *out, int status, time_t now)
{
    char line[64];
    size_t date_len;
    const char *date = herd_date_header(now, &date_len);
    int n;

    n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n" SERVER_HEADER, status,
                 herd_status_reason(status));
    if (n < 0 || (size_t)n >= sizeof(line))
        return HERD_ERR;
    if (herd_buf_append(out, line, (size_t)n) != HERD_OK)
        return HERD_ERR;
    return herd_buf_append(out, date, date_len);
}

int
herd_response_end(struct herd_buf *out, enum herd_conn_header conn)
{
    if (herd_buf_append(out, conn_lines[conn], conn_lens[conn]) != HERD_OK)
        return HERD_ERR;
    return herd_buf_append(out, "\r\n", 2);
}

void
herd_allow_header_value(unsigned methods, char *buf, size_t len)
{
    static const unsigned order[] = {HERD_M_GET,    HERD_M_HEAD,  HERD_M_POST,
                                     HERD_M_PUT,    HERD_M_PATCH, HERD_M_DELETE,
                                     HERD_M_OPTIONS};
    size_t i, used = 0;
    int n;

    if (len == 0)
        return;
    buf[0] = '\0';
    for (i = 0; i < HERD_ARRAY_LEN(order); i++) {
        if (!(methods & order[i]))
            continue;
        n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                     herd_method_name(order[i]));
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

int
herd_response_managed_field(const char *name, size_t len)
{
    static const char *const managed[] = {
        "content-length", "transfer-encoding", "connection", "date",
        "server",         "x-request-id",
    };
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(managed); i++)
        if (herd_framing_token_eq(name, len, managed[i]))
            return 1;
    return 0;
}
