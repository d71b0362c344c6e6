/* framing.h: byte-level HTTP/1.1 request syntax and framing (RFC 9112). */
#ifndef HERD_FRAMING_H
#define HERD_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/*
 * herd_framing_scan reads a request stream byte by byte and refuses what
 * http-parser (built without its strict mode) lets through: bare CR or LF,
 * obs-fold, control bytes, whitespace where the grammar has none, a request
 * line that is not exactly "method SP target SP HTTP/d.d", malformed chunk
 * lines and what follows chunk data. It also enforces the size limits, so
 * every verdict falls on one byte: the same whatever the read boundaries.
 * It does not interpret header fields; the caller does that once the head
 * is complete, and tells the scanner how the body is framed.
 */

/* Longest chunk-size line (size, extensions, CRLF) accepted; more: 400. */
#define HERD_CHUNK_LINE_MAX 512

/* How the body that follows a request head is delimited. */
enum herd_body_kind {
    HERD_BODY_NONE,    /* no body: the request ends with its head */
    HERD_BODY_LENGTH,  /* Content-Length bytes */
    HERD_BODY_CHUNKED, /* chunked, then trailer fields */
};

/* Why herd_framing_scan stopped. */
enum herd_framing_event {
    HERD_FRAMING_MORE,  /* all bytes fine; the message is not complete */
    HERD_FRAMING_HEAD,  /* the last byte used ended a request head */
    HERD_FRAMING_END,   /* the last byte used ended a request body */
    HERD_FRAMING_ERROR, /* the byte after the used ones is refused */
};

struct herd_framing {
    /* Limits, from herd_framing_init. */
    uint32_t max_head;   /* bytes of a head, and of a trailer section */
    uint32_t max_fields; /* field lines in a head or trailer section */
    uint64_t max_body;   /* sum of chunk sizes */

    /* Where the scan is; private. */
    uint8_t state;
    uint8_t index;       /* position in "HTTP/" */
    uint8_t trailer;     /* field lines belong to a trailer section */
    uint32_t head_len;   /* bytes of this head or trailer section so far */
    uint32_t fields;     /* field lines in it so far */
    uint32_t line_len;   /* bytes of the chunk-size line so far */
    uint32_t digits;     /* significant hex digits of the chunk size */
    uint64_t left;       /* bytes left of the body or chunk being read */
    uint64_t body_total; /* sum of chunk sizes so far */

    uint64_t body_wire; /* body bytes (framing included) scanned so far */
    int status;         /* the verdict after HERD_FRAMING_ERROR */
};

/* Start scanning a new connection's stream with these limits. */
void herd_framing_init(struct herd_framing *f, uint32_t max_head,
                       uint32_t max_fields, uint64_t max_body);

/*
 * Scan p[0..len). Stops after the byte that ends a head (HEAD) or a whole
 * request (END), at the first refused byte (ERROR, with the status to
 * answer in f->status: 400, 413, 414, 431 or 505), or at the end of the
 * input (MORE). *used is the number of bytes accepted. After HEAD, the
 * caller must call herd_framing_body before scanning on; after END the
 * next byte starts a new request.
 */
enum herd_framing_event herd_framing_scan(struct herd_framing *f, const char *p,
                                          size_t len, size_t *used);

/*
 * Say how the body of the head just scanned is framed: length is the
 * Content-Length for HERD_BODY_LENGTH. With HERD_BODY_NONE (or a length
 * of 0) the request is complete and the next byte starts a new one.
 */
void herd_framing_body(struct herd_framing *f, enum herd_body_kind kind,
                       uint64_t length);

/* 1 when some byte of the current request has been scanned, else 0. */
int herd_framing_started(const struct herd_framing *f);

/* ---- field values: p[0..len) is the value without surrounding OWS ---- */

/*
 * Content-Length: 1*DIGIT. HERD_OK with the number in *n, or HERD_ERR for
 * anything else (empty, a sign, a list, other bytes, more than 2^64-1).
 */
int herd_framing_content_length(const char *p, size_t len, uint64_t *n);

/*
 * Transfer-Encoding (the only line of it): 0 when it is exactly "chunked"
 * (any case); 400 when chunked is missing, not last or repeated, or an
 * element is empty; 501 when another coding precedes a final chunked
 * (herd decodes none).
 */
int herd_framing_transfer_encoding(const char *p, size_t len);

/*
 * Host: empty, or uri-host [":" port] (RFC 9110 7.2): a reg-name or IPv4
 * address, or an IPv6 literal in brackets; the port 1 to 5 digits, at most
 * 65535. No userinfo, path, query or whitespace. 1 when valid, else 0.
 */
int herd_framing_host_valid(const char *p, size_t len);

/* Whether p[0..len) is a token (RFC 9110 5.6.2): a field name. 1 or 0. */
int herd_framing_token_valid(const char *p, size_t len);

/* The first byte of p[0..len) a field value may not hold (a control byte
   other than HTAB, DEL), or NULL when there is none. */
const char *herd_framing_value_invalid(const char *p, size_t len);

/* Whether p[0..len) equals the lower-case ASCII text lc, ignoring case. */
int herd_framing_token_eq(const char *p, size_t len, const char *lc);

/* Trim optional whitespace (SP, HTAB) from both ends of p[0..*len). */
const char *herd_framing_trim(const char *p, size_t *len);

#endif
