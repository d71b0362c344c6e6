/* access.h: the access log: one line per request, buffered per worker. */
#ifndef HERD_ACCESS_H
#define HERD_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "common.h"
#include "config.h"
#include "response.h"

/* Flush once this much is buffered, without waiting for the timer. */
#define HERD_ACCESS_FLUSH_BYTES (32 * 1024)
/* The timer that flushes what is buffered, at most this long after. */
#define HERD_ACCESS_FLUSH_MS 100

/* What one line says. Strings are the caller's; none needs a NUL unless
   noted. A NULL pointer (or length 0 where a length is given) is "-" in
   combined and null in JSON. */
struct herd_access_entry {
    struct timeval when; /* wall clock when the answer was ready */
    const char *client;  /* client address text, NUL-terminated */
    const char *id;      /* request id */
    size_t idlen;
    const char *method; /* NUL-terminated; "" when not read */
    const char *scheme; /* "http" or "https", NUL-terminated */
    const char *target; /* request target as received */
    size_t target_len;
    int version; /* 10 or 11; 0 when not read */
    int status;
    uint64_t bytes;       /* response bytes: head and body */
    uint64_t duration_us; /* first byte of the request to the answer */
    const char *ua;       /* User-Agent */
    size_t ua_len;
    const char *referer; /* Referer */
    size_t referer_len;
    int slot; /* the worker's slot */
};

/*
 * Append one line for e, ending in "\n", to out:
 *   combined: CLIENT - - [23/Nov/2026:05:04:34 +0000] "GET /x HTTP/1.1"
 *             200 154 "REFERER" "UA" id=ID us=DURATION slot=N
 *   json:     {"time":"2026-11-23T05:04:34.013Z","client":...,"id":...,
 *             "method":...,"scheme":...,"target":...,"version":...,
 *             "status":200,
 *             "bytes":154,"duration_us":...,"user_agent":...,
 *             "referer":...,"slot":N}
 * In combined, '"', '\' and bytes outside 0x20..0x7e are written as
 * \xHH; in JSON, '"' and '\' are escaped and those bytes are \u00HH, so
 * every line is valid JSON whatever a client sent. Pure; HERD_OK, or
 * HERD_ERR when out of memory (out keeps its earlier lines).
 */
int herd_access_format(struct herd_buf *out, enum herd_access_fmt fmt,
                       const struct herd_access_entry *e);

/* Append ,"name": and s[0..len) as a JSON string (escaped as the json
   format above), or null when s is NULL. HERD_OK, or HERD_ERR when out of
   memory. */
int herd_json_field(struct herd_buf *out, const char *name, const char *s,
                    size_t len);

/* One process's access log. Zeroed: off. */
struct herd_access_log {
    int fd; /* -1: off */
    int own_fd;
    enum herd_access_fmt fmt;
    char path[4096]; /* "" for stderr */
    struct herd_buf buf;
    uint64_t dropped; /* flushes that lost lines */
};

/*
 * Open spec ("off", "stderr" or a file path, created and appended to with
 * O_APPEND) for lines in fmt. HERD_OK, or HERD_ERR with the reason in err
 * (the log is off then).
 */
int herd_access_open(struct herd_access_log *l, const char *spec,
                     enum herd_access_fmt fmt, char *err, size_t errlen);

/* 1 when lines are written at all. */
int herd_access_on(const struct herd_access_log *l);

/* Buffer a line for e. Returns 1 when the buffer is over
   HERD_ACCESS_FLUSH_BYTES (flush now), else 0. */
int herd_access_add(struct herd_access_log *l,
                    const struct herd_access_entry *e);

/* 1 when lines wait in the buffer. */
int herd_access_pending(const struct herd_access_log *l);

/*
 * Write what is buffered, whole lines only, each write(2) at most
 * PIPE_BUF bytes unless a single line is longer, so lines of several
 * workers never mix on a pipe; with O_APPEND on a file they never do.
 * What cannot be written (disk full, a stalled pipe) is dropped, and
 * counted in l->dropped: HERD_ERR then (errno tells why), else HERD_OK.
 */
int herd_access_flush(struct herd_access_log *l);

/* Flush, then open the file again (logrotate: SIGUSR1). HERD_OK (also
   for stderr and off), or HERD_ERR with the reason in err, the old file
   staying in use. */
int herd_access_reopen(struct herd_access_log *l, char *err, size_t errlen);

/* Flush and close. Accepts a zeroed or closed log. */
void herd_access_close(struct herd_access_log *l);

/*
 * For the master: create the file spec names (when it is a path) and give
 * it to uid (unless uid is (uid_t)-1), so that workers running as that
 * user can open it. HERD_OK, or HERD_ERR with the reason in err.
 */
int herd_access_prepare(const char *spec, uid_t uid, char *err, size_t errlen);

#endif
