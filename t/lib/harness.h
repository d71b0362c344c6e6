/* harness.h: runs the real herd on a free port and talks HTTP to it. */
#ifndef HERD_HARNESS_H
#define HERD_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

struct hh_server {
    pid_t pid;
    int port;
    char dir[256]; /* temp dir with herd.yaml and error.log */
    char conf[320];
    char log[320];
};

/*
 * Start src/herd (path in $HERD_BIN) on the YAML in yaml. Unless yaml has
 * its own "listen:" and "log:" keys, listen on 127.0.0.1:0 (the kernel
 * picks the port) and log at debug level to a file in the temp dir.
 * Waits until the master logs the port and `workers` workers log that
 * they serve. Returns 0, or -1 (the reason on stderr, the log dumped).
 */
int hh_start(struct hh_server *s, const char *yaml, int workers);

/* hh_start, with herd's descriptor limit (RLIMIT_NOFILE) set to max_fds
   (0: inherited), to drive it out of descriptors. */
int hh_start_limited(struct hh_server *s, const char *yaml, int workers,
                     int max_fds);

/* The pid of the worker that last logged "serving (slot N)", or -1. */
int hh_worker_pid(const struct hh_server *s, int slot);

/* SIGTERM, wait (up to 10 s, then SIGKILL) and remove the temp dir.
   Returns the exit status, or -1 when it had to be killed. */
int hh_stop(struct hh_server *s);

/* Wait until text occurs at least count times in the error log. 0 when it
   does within timeout_ms, -1 otherwise. */
int hh_wait_log(const struct hh_server *s, const char *text, int count,
                int timeout_ms);

/* How many times text occurs in the error log now. */
int hh_log_count(const struct hh_server *s, const char *text);

/* A blocking TCP connection to the server, with 5 s send/receive
   timeouts; -1 on failure. */
int hh_connect(const struct hh_server *s);

/* Send all of data (len bytes; strlen when len is 0). 0 or -1. */
int hh_send(int fd, const char *data, size_t len);

struct hh_response {
    int status;
    char head[8192]; /* status line and headers, NUL-terminated */
    char *body;      /* malloc'd, NUL-terminated; free with hh_response_free */
    size_t body_len;
};

/*
 * Read one response from fd. head_only: the request was HEAD, so no body
 * follows whatever Content-Length says. Handles Content-Length, chunked
 * and read-until-close bodies. Returns 0, or -1 on EOF, timeout or a
 * malformed response.
 */
int hh_read_response(int fd, struct hh_response *r, int head_only);

void hh_response_free(struct hh_response *r);

/* The value of header name (case-insensitive) copied into buf, or NULL. */
const char *hh_header(const struct hh_response *r, const char *name, char *buf,
                      size_t len);

/* 1 when the peer has closed fd (EOF within timeout_ms), else 0. */
int hh_closed(int fd, int timeout_ms);

/*
 * Read from fd (bytes read ahead by hh_read_response first) into buf until
 * the peer closes or resets it, or timeout_ms pass without a byte. Returns
 * the number of bytes read (at most cap; more are drained and dropped) and
 * sets *closed to 1 when the peer closed.
 */
size_t hh_read_until_close(int fd, char *buf, size_t cap, int timeout_ms,
                           int *closed);

/* Send data in pieces of piece bytes, gap_ms apart. 0 or -1. */
int hh_send_paced(int fd, const char *data, size_t len, size_t piece,
                  int gap_ms);

/* Connect, send raw, read one response, close. 0 or -1. */
int hh_request(const struct hh_server *s, const char *raw,
               struct hh_response *r);

/*
 * Run $HERD_BIN with argv (argv[0] is ignored), capture stdout and stderr
 * together into out (NUL-terminated). Returns the exit status, or -1.
 */
int hh_run(char *const argv[], char *out, size_t outlen);

/* Write text to a new file path. 0 or -1. */
int hh_write_file(const char *path, const char *text);

#endif
