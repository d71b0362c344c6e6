/* response.h: renders HTTP/1.1 responses: status lines, Date, fixed answers. */
#ifndef HERD_RESPONSE_H
#define HERD_RESPONSE_H

#include <stddef.h>
#include <time.h>

#include "common.h"
#include "config.h"

/* A growable byte buffer. Zero-initialised is empty and valid. */
struct herd_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Make room for n more bytes. HERD_OK, or HERD_ERR when out of memory. */
int herd_buf_reserve(struct herd_buf *b, size_t n);

/* Append n bytes (p may be NULL when n is 0). HERD_OK, or HERD_ERR when out
   of memory. */
int herd_buf_append(struct herd_buf *b, const void *p, size_t n);

/* Release what b owns and make it empty. */
void herd_buf_free(struct herd_buf *b);

/* "OK" for 200 etc.; a class name ("Client Error") for unknown codes. */
const char *herd_status_reason(int status);

/*
 * "Date: Mon, 23 Nov 2026 03:30:00 GMT\r\n" for now, rendered at most once
 * a second per process. The pointer stays valid until the next call with a
 * different second; *len gets its length.
 */
const char *herd_date_header(time_t now, size_t *len);

/*
 * A fixed response, rendered once from its config: status line, Server,
 * configured headers and Content-Length in head; the body apart so that
 * HEAD can leave it out. Date and Connection are added per response.
 */
struct herd_fixed_response {
    char *head;
    size_t head_len;
    char *body;
    size_t body_len;
};

/* Render conf into *r. HERD_OK, or HERD_ERR when out of memory. */
int herd_fixed_response_init(struct herd_fixed_response *r,
                             const struct herd_respond_conf *conf);

void herd_fixed_response_free(struct herd_fixed_response *r);

/* How the connection header of one response is written. */
enum herd_conn_header {
    HERD_CONN_NONE = 0,  /* HTTP/1.1 keep-alive: nothing to say */
    HERD_CONN_KEEPALIVE, /* HTTP/1.0 client that asked for keep-alive */
    HERD_CONN_CLOSE,     /* the connection closes after this response */
};

/*
 * Append r to out: head, Date, Connection per conn, blank line, and the
 * body unless head_only. HERD_OK, or HERD_ERR when out of memory.
 */
int herd_fixed_response_write(const struct herd_fixed_response *r,
                              struct herd_buf *out, time_t now,
                              enum herd_conn_header conn, int head_only);

/*
 * Append a plain-text error response ("404 Not Found\n") with status.
 * allow, when not NULL, is written as an Allow header (for 405).
 * HERD_OK, or HERD_ERR when out of memory.
 */
int herd_error_response_write(struct herd_buf *out, int status, time_t now,
                              enum herd_conn_header conn, const char *allow,
                              int head_only);

/*
 * Start a response of a handler that writes its own headers: append the
 * status line, Server and Date. HERD_OK, or HERD_ERR when out of memory.
 */
int herd_response_start(struct herd_buf *out, int status, time_t now);

/* End the head: the Connection line per conn and the blank line. */
int herd_response_end(struct herd_buf *out, enum herd_conn_header conn);

/* Whether the field name[0..len) (any case) is one herd writes itself in
   every response (Content-Length, Transfer-Encoding, Connection, Date,
   Server, X-Request-Id): a route or a module cannot set it. */
int herd_response_managed_field(const char *name, size_t len);

/* "GET, HEAD, POST" for a herd_method_bit mask, into buf. */
void herd_allow_header_value(unsigned methods, char *buf, size_t len);

#endif
