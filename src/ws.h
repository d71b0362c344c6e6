/* ws.h: the WebSocket protocol (RFC 6455) without I/O: handshake, frames. */
#ifndef HERD_WS_H
#define HERD_WS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/*
 * The server side of RFC 6455 as pure functions: the Sec-WebSocket-Accept
 * value, the headers of the frames the server sends (never masked), and a
 * reader that turns the bytes a client sends, split anywhere, into
 * messages and control frames, refusing what the RFC forbids with the
 * close code to answer. Nothing here reads, writes or logs.
 */

/* Frame opcodes (RFC 6455 5.2); events reuse the ones for whole frames. */
enum herd_ws_opcode {
    HERD_WS_CONT = 0x0,
    HERD_WS_TEXT = 0x1,
    HERD_WS_BINARY = 0x2,
    HERD_WS_CLOSE = 0x8,
    HERD_WS_PING = 0x9,
    HERD_WS_PONG = 0xa,
};

/* Close codes (RFC 6455 7.4.1) that herd sends or reports. */
#define HERD_WS_CLOSE_NORMAL      1000
#define HERD_WS_CLOSE_GOING_AWAY  1001
#define HERD_WS_CLOSE_PROTOCOL    1002
#define HERD_WS_CLOSE_UNSUPPORTED 1003
#define HERD_WS_CLOSE_NO_STATUS   1005 /* reported, never sent */
#define HERD_WS_CLOSE_ABNORMAL    1006 /* never sent */
#define HERD_WS_CLOSE_INVALID     1007 /* bad UTF-8 in a text message */
#define HERD_WS_CLOSE_POLICY      1008
#define HERD_WS_CLOSE_TOO_BIG     1009
#define HERD_WS_CLOSE_INTERNAL    1011

/* Largest payload of a control frame (ping, pong, close). */
#define HERD_WS_CONTROL_MAX 125

/* Length of a Sec-WebSocket-Accept value, without its NUL. */
#define HERD_WS_ACCEPT_LEN 28

/* Longest frame header the server sends: 2 bytes and a 64-bit length. */
#define HERD_WS_HEADER_MAX 10

/*
 * Sec-WebSocket-Accept for the Sec-WebSocket-Key key[0..len) (not
 * NUL-terminated, surrounding whitespace already trimmed):
 * base64(SHA-1(key "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). The key must
 * be the canonical base64 of exactly 16 bytes: 24 characters, the last
 * two "=", the unused bits of the 22nd zero (as every encoder writes it).
 * Returns HERD_OK with 28 characters and a NUL in out, or HERD_ERR (out
 * untouched) for a missing or malformed key, which the caller answers
 * with 400.
 */
int herd_ws_accept_key(const char *key, size_t len,
                       char out[HERD_WS_ACCEPT_LEN + 1]);

/*
 * Write into out the header of an unmasked frame (RSV bits clear) with
 * this opcode, the FIN bit when fin is non-zero, and a payload of len
 * bytes, in the shortest length encoding. Returns the header's length: 2,
 * 4 or 10. The caller sends the payload after it as it is.
 */
size_t herd_ws_frame_header(uint8_t out[HERD_WS_HEADER_MAX], int opcode,
                            int fin, uint64_t len);

/*
 * Write into out the payload of a close frame: code in network order,
 * then reason (a NUL-terminated UTF-8 string, or NULL for none), cut at a
 * character boundary to fit in 125 bytes. A code of 0 or 1005 (no status)
 * gives an empty payload, the reason ignored: that is how to echo a close
 * that carried no code. Returns the payload's length, 0 to 125.
 */
size_t herd_ws_close_payload(uint8_t out[HERD_WS_CONTROL_MAX], uint16_t code,
                             const char *reason);

/* ---- UTF-8 (RFC 3629), fed in pieces split anywhere ---- */

/*
 * Only shortest forms of U+0000..U+10FFFF outside the surrogates
 * U+D800..U+DFFF are accepted. The state is a few bytes; no allocation.
 */
struct herd_utf8 {
    uint8_t need; /* continuation bytes still expected */
    uint8_t lo;   /* bounds of the next continuation byte, which rule */
    uint8_t hi;   /* out overlongs, surrogates and > U+10FFFF */
    uint8_t bad;  /* an invalid byte was seen: every later feed fails */
};

/* Start (or restart) validating a new text. */
void herd_utf8_init(struct herd_utf8 *u);

/*
 * Validate p[0..len) as the continuation of what was fed before. Returns
 * HERD_OK while everything so far is valid or the start of a valid
 * character, HERD_ERR from the first byte that can never be: the error is
 * sticky. When used is not NULL, it gets the number of bytes before the
 * invalid one (len on HERD_OK).
 */
int herd_utf8_feed(struct herd_utf8 *u, const uint8_t *p, size_t len,
                   size_t *used);

/* 1 when the text fed so far is valid and ends on a whole character. */
int herd_utf8_complete(const struct herd_utf8 *u);

/* 1 when p[0..len) alone is valid, complete UTF-8, else 0. */
int herd_utf8_valid(const uint8_t *p, size_t len);

/* ---- the receive side ---- */

/* What herd_ws_read returns. */
struct herd_ws_event {
    /*
     * HERD_WS_TEXT or HERD_WS_BINARY: a whole message (its fragments
     * joined); HERD_WS_PING, HERD_WS_PONG: a control frame; HERD_WS_CLOSE:
     * the client's close frame. 0 with HERD_ERR.
     */
    int opcode;
    /*
     * The message or control payload; for HERD_WS_CLOSE, the reason (the
     * payload after the code), valid UTF-8. Owned by the reader: valid
     * until the next call of herd_ws_read or herd_ws_reader_free. NULL
     * when len is 0.
     */
    const uint8_t *data;
    size_t len;
    /*
     * HERD_WS_CLOSE: the client's code, 1005 (HERD_WS_CLOSE_NO_STATUS)
     * when the payload was empty. With HERD_ERR: the code to close the
     * connection with (1002, 1007, 1009, or 1011 when memory ran out).
     */
    uint16_t close_code;
    /* With HERD_ERR: why, a static string fit for a log line. */
    const char *error;
};

/*
 * Reads the frames a client sends. Fields are private; the struct is
 * public so it can live inside a connection.
 */
struct herd_ws_reader {
    size_t max_message; /* largest data message accepted, fragments summed */

    uint8_t state;
    uint8_t hdr[14];     /* the frame header being read */
    uint8_t hdr_len;     /* bytes of it so far */
    uint8_t hdr_need;    /* its full length, once its second byte is in */
    uint8_t opcode;      /* of the current frame */
    uint8_t fin;         /* of the current frame */
    uint8_t msg_opcode;  /* TEXT or BINARY while a message is open, else 0 */
    uint8_t mask[4];     /* of the current frame */
    uint64_t frame_len;  /* payload length of the current frame */
    uint64_t frame_done; /* payload bytes of it read so far */

    uint8_t *buf; /* the data message being assembled */
    size_t len;   /* bytes in it */
    size_t cap;   /* bytes allocated, never more than max_message */
    uint8_t ctrl[HERD_WS_CONTROL_MAX]; /* the control payload being read */
    struct herd_utf8 utf8;             /* of the text message being read */

    uint16_t error_code; /* after an error: every later call repeats it */
    const char *error;
};

/*
 * Prepare r for a new connection: data messages (all fragments together)
 * of more than max_message bytes are refused with 1009. Allocates
 * nothing: the buffer grows as messages arrive, up to max_message.
 */
void herd_ws_reader_init(struct herd_ws_reader *r, size_t max_message);

/* Release r's buffer; r may be NULL. r can be initialised again. */
void herd_ws_reader_free(struct herd_ws_reader *r);

/*
 * Read data[0..len) from the client, up to the end of the first complete
 * event. Returns:
 *   HERD_OK: *ev holds a message, ping, pong or close; *consumed bytes
 *     were used, and the caller calls again with the rest (which may be
 *     empty of events);
 *   HERD_AGAIN: all len bytes were used (*consumed == len) and no event is
 *     complete yet;
 *   HERD_ERR: the client broke the protocol: ev->close_code is the code to
 *     close with and ev->error says why; *consumed ends just after the
 *     byte that decided it, the same wherever the input was split. The
 *     reader is then dead: every later call returns the same error and
 *     consumes nothing.
 * Checks run as soon as the byte that decides them is in: a bad header on
 * its first bytes, an oversized message on its length (before any
 * payload is read), invalid UTF-8 in a text message on the first bad
 * byte, even mid-fragment. Control frames may come between the
 * fragments of a message. After a close event the caller should read no
 * more (RFC 6455 5.5.1). The data ev points to stays valid until the next
 * call.
 */
int herd_ws_read(struct herd_ws_reader *r, const uint8_t *data, size_t len,
                 size_t *consumed, struct herd_ws_event *ev);

#endif
