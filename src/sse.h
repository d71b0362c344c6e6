/* sse.h: Server-Sent Events text (WHATWG HTML, "server-sent events"). */
#ifndef HERD_SSE_H
#define HERD_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "response.h"

/*
 * These functions only render bytes into a struct herd_buf; the caller
 * writes them to the connection. Every function either appends the whole
 * block or, on HERD_ERR, leaves out exactly as it was.
 *
 * Event ids are herd's per-channel sequence numbers: decimal, from 1 up.
 * 0 means "no id" everywhere.
 */

/* Longest decimal uint64_t: what herd_sse_parse_last_event_id accepts. */
#define HERD_SSE_ID_MAX_DIGITS 20

/*
 * Append one event: "id: N\n" (left out when id is 0), "event: NAME\n"
 * (left out when event is NULL or ""), then data[0..len) as "data: " lines,
 * then the blank line that dispatches it.
 *
 * The data is split into lines at LF, CRLF and a lone CR, as the client
 * splits them; the client joins the lines with LF, so a payload comes back
 * byte for byte when its line breaks are LF (CRLF and CR come back as LF).
 * A trailing line break yields an empty last "data: " line, which the client
 * needs to keep it; empty data is one empty "data: " line (an event whose
 * data is ""). data may be NULL when len is 0. The bytes are not checked
 * as UTF-8: clients decode the stream as UTF-8 and replace invalid bytes.
 *
 * Returns HERD_OK, or HERD_ERR when out of memory, when data holds a NUL
 * byte (refused rather than escaped: SSE has no escape, and clients differ
 * on NUL), or when event holds CR or LF (it would end the field early and
 * let the rest be read as other fields).
 */
int herd_sse_event(struct herd_buf *out, uint64_t id, const char *event,
                   const char *data, size_t len);

/*
 * Append a comment block ": text\n\n" (":\n\n" when text is NULL or ""),
 * which clients ignore: a keep-alive that proxies see as traffic. Returns
 * HERD_OK, or HERD_ERR when out of memory or text holds CR or LF.
 */
int herd_sse_comment(struct herd_buf *out, const char *text);

/*
 * Append "retry: N\n\n": the client waits ms milliseconds before it
 * reconnects. The block dispatches nothing. HERD_OK, or HERD_ERR when out
 * of memory.
 */
int herd_sse_retry(struct herd_buf *out, uint32_t ms);

/*
 * Parse a Last-Event-ID header value v[0..len) (already stripped of
 * surrounding whitespace) as an id herd sent: ASCII digits only, no sign,
 * no leading zero (but "0" itself), at most a uint64_t. Returns HERD_OK
 * with *id set, or HERD_ERR (and *id untouched) for anything else: empty,
 * other bytes, overflow. The caller treats HERD_ERR as "no Last-Event-ID".
 */
int herd_sse_parse_last_event_id(const char *v, size_t len, uint64_t *id);

#endif
