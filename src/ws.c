/* ws.c: the WebSocket protocol (RFC 6455) without I/O: handshake, frames. */
#include "ws.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <nettle/version.h>
#include <stdlib.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* A buffer that outgrew this is released when the next message starts,
   so that one large message does not pin memory for the connection. */
#define KEEP_BUF (64 * 1024)

enum state {
    S_HEADER,
    S_PAYLOAD,
    S_ERROR,
};

/* ---- handshake ---- */

static int
base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int
herd_ws_accept_key(const char *key, size_t len,
                   char out[HERD_WS_ACCEPT_LEN + 1])
{
    struct base64_decode_ctx b64;
    struct sha1_ctx sha;
    uint8_t raw[BASE64_DECODE_LENGTH(24)], digest[SHA1_DIGEST_SIZE];
    size_t i, raw_len = sizeof(raw);

    /* 16 bytes are 22 characters and "==". nettle's decoder skips
       whitespace, so the alphabet is checked here first. */
    if (key == NULL || len != 24 || key[22] != '=' || key[23] != '=')
        return HERD_ERR;
    for (i = 0; i < 22; i++)
        if (!base64_char(key[i]))
            return HERD_ERR;
    base64_decode_init(&b64);
    if (!base64_decode_update(&b64, &raw_len, raw, len, key) ||
        !base64_decode_final(&b64) || raw_len != 16)
        return HERD_ERR;

    sha1_init(&sha);
    sha1_update(&sha, len, (const uint8_t *)key);
    sha1_update(&sha, sizeof(ws_guid) - 1, (const uint8_t *)ws_guid);
#if NETTLE_VERSION_MAJOR >= 4
    sha1_digest(&sha, digest);
#else
    sha1_digest(&sha, sizeof(digest), digest);
#endif
    base64_encode_raw(out, sizeof(digest), digest);
    out[HERD_WS_ACCEPT_LEN] = '\0';
    return HERD_OK;
}

/* ---- frames the server sends ---- */

size_t
herd_ws_frame_header(uint8_t out[HERD_WS_HEADER_MAX], int opcode, int fin,
                     uint64_t len)
{
    int i;

    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len <= 125) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t
herd_ws_close_payload(uint8_t out[HERD_WS_CONTROL_MAX], uint16_t code,
                      const char *reason)
{
    size_t n = 0;

    if (code == 0 || code == HERD_WS_CLOSE_NO_STATUS)
        return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (reason != NULL) {
        n = strlen(reason);
        if (n > HERD_WS_CONTROL_MAX - 2) {
            n = HERD_WS_CONTROL_MAX - 2;
            /* Back off to the start of a character: continuation bytes
               are 10xxxxxx. */
            while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
                n--;
        }
        memcpy(out + 2, reason, n);
    }
    return 2 + n;
}

/* ---- UTF-8 ---- */

void
herd_utf8_init(struct herd_utf8 *u)
{
    u->need = 0;
    u->lo = 0x80;
    u->hi = 0xbf;
    u->bad = 0;
}

/*
 * The well-formed byte sequences of Unicode's table 3-7: the lead byte
 * says how many continuation bytes follow and narrows the range of the
 * first one; the others are 0x80..0xbf.
 */
int
herd_utf8_feed(struct herd_utf8 *u, const uint8_t *p, size_t len, size_t *used)
{
    size_t i = 0;
    uint8_t c;

    if (u->bad)
        goto bad;
    while (i < len) {
        c = p[i];
        if (u->need > 0) {
            if (c < u->lo || c > u->hi)
                goto bad;
            u->need--;
            u->lo = 0x80;
            u->hi = 0xbf;
        } else if (c < 0x80) {
            /* ASCII runs are the common case. */
            while (++i < len && p[i] < 0x80)
                ;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            u->need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            u->need = 2;
            if (c == 0xe0)
                u->lo = 0xa0; /* overlong below U+0800 */
            else if (c == 0xed)
                u->hi = 0x9f; /* surrogates U+D800..U+DFFF */
        } else if (c >= 0xf0 && c <= 0xf4) {
            u->need = 3;
            if (c == 0xf0)
                u->lo = 0x90; /* overlong below U+10000 */
            else if (c == 0xf4)
                u->hi = 0x8f; /* above U+10FFFF */
        } else {
            /* 0x80..0xc1 (a stray continuation, overlong 2-byte lead),
               0xf5..0xff. */
            goto bad;
        }
        i++;
    }
    if (used != NULL)
        *used = len;
    return HERD_OK;
bad:
    u->bad = 1;
    if (used != NULL)
        *used = i;
    return HERD_ERR;
}

int
herd_utf8_complete(const struct herd_utf8 *u)
{
    return !u->bad && u->need == 0;
}

int
herd_utf8_valid(const uint8_t *p, size_t len)
{
    struct herd_utf8 u;

    herd_utf8_init(&u);
    return herd_utf8_feed(&u, p, len, NULL) == HERD_OK &&
           herd_utf8_complete(&u);
}

/* ---- the receive side ---- */

void
herd_ws_reader_init(struct herd_ws_reader *r, size_t max_message)
{
    memset(r, 0, sizeof(*r));
    r->max_message = max_message;
    r->state = S_HEADER;
    r->hdr_need = 2;
    herd_utf8_init(&r->utf8);
}

void
herd_ws_reader_free(struct herd_ws_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    r->buf = NULL;
    r->len = 0;
    r->cap = 0;
}

/* Make r dead with this code and reason; returns HERD_ERR. */
static int
fail(struct herd_ws_reader *r, uint16_t code, const char *why)
{
    r->state = S_ERROR;
    r->error_code = code;
    r->error = why;
    return HERD_ERR;
}

/* Room for n more bytes in the message buffer (n fits under max_message,
   as the frame header was checked). */
static int
reserve(struct herd_ws_reader *r, size_t n)
{
    size_t need = r->len + n, cap = r->cap;
    uint8_t *p;

    if (need <= cap)
        return HERD_OK;
    if (cap < 256)
        cap = 256;
    while (cap < need && cap <= SIZE_MAX / 2)
        cap *= 2;
    if (cap < need)
        cap = need;
    if (cap > r->max_message)
        cap = r->max_message;
    p = realloc(r->buf, cap);
    if (p == NULL)
        return HERD_ERR;
    r->buf = p;
    r->cap = cap;
    return HERD_OK;
}

/* Byte 0 of a header: FIN, RSV, opcode. Returns HERD_OK or HERD_ERR. */
static int
check_byte0(struct herd_ws_reader *r, uint8_t b)
{
    uint8_t op = b & 0x0f;

    if (b & 0x70)
        return fail(r, HERD_WS_CLOSE_PROTOCOL, "RSV bits set");
    switch (op) {
    case HERD_WS_CONT:
        if (r->msg_opcode == 0)
            return fail(r, HERD_WS_CLOSE_PROTOCOL,
                        "continuation frame outside a message");
        break;
    case HERD_WS_TEXT:
    case HERD_WS_BINARY:
        if (r->msg_opcode != 0)
            return fail(r, HERD_WS_CLOSE_PROTOCOL,
                        "new message inside a fragmented one");
        break;
    case HERD_WS_CLOSE:
    case HERD_WS_PING:
    case HERD_WS_PONG:
        if (!(b & 0x80))
            return fail(r, HERD_WS_CLOSE_PROTOCOL, "fragmented control frame");
        break;
    default:
        return fail(r, HERD_WS_CLOSE_PROTOCOL, "unknown opcode");
    }
    r->opcode = op;
    r->fin = (uint8_t)(b >> 7);
    return HERD_OK;
}

/* Byte 1 of a header: MASK and the 7-bit length; sets hdr_need. */
static int
check_byte1(struct herd_ws_reader *r, uint8_t b)
{
    uint8_t len7 = b & 0x7f;

    if (!(b & 0x80))
        return fail(r, HERD_WS_CLOSE_PROTOCOL, "unmasked client frame");
    if ((r->opcode & 0x08) && len7 > HERD_WS_CONTROL_MAX)
        return fail(r, HERD_WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
    r->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
    return HERD_OK;
}

/* The whole header is in: take the length and mask, start the payload. */
static int
header_done(struct herd_ws_reader *r)
{
    uint8_t len7 = r->hdr[1] & 0x7f, *m = r->hdr + 2;
    uint64_t n = len7;
    int i;

    if (len7 == 126) {
        n = (uint64_t)r->hdr[2] << 8 | r->hdr[3];
        m = r->hdr + 4;
    } else if (len7 == 127) {
        if (r->hdr[2] & 0x80)
            return fail(r, HERD_WS_CLOSE_PROTOCOL,
                        "64-bit length with the top bit set");
        n = 0;
        for (i = 0; i < 8; i++)
            n = n << 8 | r->hdr[2 + i];
        m = r->hdr + 10;
    }
    memcpy(r->mask, m, 4);
    r->frame_len = n;
    r->frame_done = 0;
    if (!(r->opcode & 0x08)) {
        if (r->opcode != HERD_WS_CONT) {
            /* A new message: the last one's data is no longer needed. */
            if (r->cap > KEEP_BUF) {
                free(r->buf);
                r->buf = NULL;
                r->cap = 0;
            }
            r->len = 0;
            r->msg_opcode = r->opcode;
            herd_utf8_init(&r->utf8);
        }
        if (n > r->max_message - r->len)
            return fail(r, HERD_WS_CLOSE_TOO_BIG, "message too big");
    }
    r->state = S_PAYLOAD;
    return HERD_OK;
}

/* 1 for the close codes a peer may send (RFC 6455 7.4, IANA registry). */
static int
close_code_valid(unsigned code)
{
    if (code >= 3000 && code <= 4999)
        return 1;
    if (code < 1000 || code > 1014)
        return 0;
    return code != 1004 && code != 1005 && code != 1006;
}

/* The current frame's payload is complete: HERD_OK with an event in *ev,
   HERD_AGAIN when it was a fragment that ends no message, or HERD_ERR. */
static int
end_frame(struct herd_ws_reader *r, struct herd_ws_event *ev)
{
    size_t n = (size_t)r->frame_len;

    r->state = S_HEADER;
    r->hdr_len = 0;
    r->hdr_need = 2;
    if (r->opcode & 0x08) {
        ev->opcode = r->opcode;
        ev->data = n > 0 ? r->ctrl : NULL;
        ev->len = n;
        if (r->opcode != HERD_WS_CLOSE)
            return HERD_OK;
        if (n == 0) {
            ev->close_code = HERD_WS_CLOSE_NO_STATUS;
            return HERD_OK;
        }
        if (n == 1)
            return fail(r, HERD_WS_CLOSE_PROTOCOL, "close payload of 1 byte");
        ev->close_code = (uint16_t)(r->ctrl[0] << 8 | r->ctrl[1]);
        if (!close_code_valid(ev->close_code))
            return fail(r, HERD_WS_CLOSE_PROTOCOL, "invalid close code");
        if (!herd_utf8_valid(r->ctrl + 2, n - 2))
            return fail(r, HERD_WS_CLOSE_PROTOCOL, "close reason is not UTF-8");
        ev->data = n > 2 ? r->ctrl + 2 : NULL;
        ev->len = n - 2;
        return HERD_OK;
    }
    if (!r->fin)
        return HERD_AGAIN;
    if (r->msg_opcode == HERD_WS_TEXT && !herd_utf8_complete(&r->utf8))
        return fail(r, HERD_WS_CLOSE_INVALID,
                    "text message ends inside a character");
    ev->opcode = r->msg_opcode;
    ev->data = r->len > 0 ? r->buf : NULL;
    ev->len = r->len;
    r->msg_opcode = 0;
    return HERD_OK;
}

/* Unmask up to len payload bytes from p into the frame's buffer, *took
   of them; HERD_OK, or HERD_ERR when they cannot be kept or are bad UTF-8. */
static int
payload(struct herd_ws_reader *r, const uint8_t *p, size_t len, size_t *took)
{
    uint64_t left = r->frame_len - r->frame_done;
    size_t n = len < left ? len : (size_t)left, i;
    unsigned off = (unsigned)(r->frame_done & 3);
    uint8_t *dst;

    *took = 0;
    if (r->opcode & 0x08) {
        dst = r->ctrl + r->frame_done;
    } else {
        if (reserve(r, n) != HERD_OK)
            return fail(r, HERD_WS_CLOSE_INTERNAL, "out of memory");
        dst = r->buf + r->len;
    }
    for (i = 0; i < n; i++)
        dst[i] = p[i] ^ r->mask[(off + i) & 3];
    if (!(r->opcode & 0x08) && r->msg_opcode == HERD_WS_TEXT &&
        herd_utf8_feed(&r->utf8, dst, n, &i) != HERD_OK) {
        /* The verdict falls on the bad byte, wherever the reads split. */
        *took = i + 1;
        return fail(r, HERD_WS_CLOSE_INVALID,
                    "invalid UTF-8 in a text message");
    }
    *took = n;
    r->frame_done += n;
    if (!(r->opcode & 0x08))
        r->len += n;
    return HERD_OK;
}

int
herd_ws_read(struct herd_ws_reader *r, const uint8_t *data, size_t len,
             size_t *consumed, struct herd_ws_event *ev)
{
    size_t i = 0, took;
    int rc = HERD_AGAIN;

    memset(ev, 0, sizeof(*ev));
    if (r->state == S_ERROR)
        goto fail;
    while (i < len && rc == HERD_AGAIN) {
        if (r->state == S_HEADER) {
            r->hdr[r->hdr_len++] = data[i++];
            if (r->hdr_len == 1 && check_byte0(r, r->hdr[0]) != HERD_OK)
                goto fail;
            if (r->hdr_len == 2 && check_byte1(r, r->hdr[1]) != HERD_OK)
                goto fail;
            if (r->hdr_len < r->hdr_need)
                continue;
            if (header_done(r) != HERD_OK)
                goto fail;
        } else {
            rc = payload(r, data + i, len - i, &took);
            i += took;
            if (rc != HERD_OK)
                goto fail;
            rc = HERD_AGAIN;
        }
        /* Empty payloads end their frame with their header. */
        if (r->frame_done == r->frame_len) {
            rc = end_frame(r, ev);
            if (rc == HERD_ERR)
                goto fail;
        }
    }
    *consumed = i;
    return rc;
fail:
    *consumed = i;
    memset(ev, 0, sizeof(*ev));
    ev->close_code = r->error_code;
    ev->error = r->error;
    return HERD_ERR;
}
