/* cases.h: the hardening rules as exact bytes, with the verdict for each. */
#ifndef HERD_CASES_H
#define HERD_CASES_H

#include <stddef.h>

/*
 * Each case is one request (or the start of one) as it would arrive on a
 * connection to a server configured with HH_CASES_YAML, the status herd
 * must answer it with, and whether the connection must then be closed
 * (every refusal) or keep serving (every accepted edge case). Shared by
 * the integration suite, the engine's unit tests and the fuzzer's seed
 * corpus.
 */
struct hh_case {
    const char *name;
    const char *bytes; /* NULL: built by gen */
    size_t len;
    int status;
    int closes;
    size_t (*gen)(char *buf, size_t cap); /* needs cap >= 64 KiB */
};

/* The limits and routes the verdicts assume. */
#define HH_CASES_LIMITS                                                        \
    "limits: { header_timeout: 1s, body_timeout: 1s, body_min_rate: 100, "     \
    "send_timeout: 1s, keepalive_timeout: 5s, max_header_size: 1k, "           \
    "max_body_size: 64 }\n"
#define HH_CASES_YAML                                                          \
    "workers: 1\n" HH_CASES_LIMITS "routes:\n"                                 \
    "  - { path: /, methods: [GET, POST, PUT], respond: { body: ok } }\n"

#define HH_GET     "GET / HTTP/1.1\r\nHost: x\r\n"
#define HH_POST    "POST / HTTP/1.1\r\nHost: x\r\n"
#define HH_CHUNKED HH_POST "Transfer-Encoding: chunked\r\n\r\n"

extern const struct hh_case hh_cases[];
extern const size_t hh_ncases;

/* The bytes of c: its literal, or generated into buf (cap bytes). */
const char *hh_case_bytes(const struct hh_case *c, char *buf, size_t cap,
                          size_t *len);

/* head, n times unit, tail, into buf; returns the length (aborts when
   cap is too small). */
size_t hh_repeat(char *buf, size_t cap, const char *head, const char *unit,
                 int n, const char *tail);

#endif
