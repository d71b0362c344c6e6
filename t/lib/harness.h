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

/* hh_start, with log_keys ("access: /tmp/x, format: json") added to the
   log mapping it writes; a level there replaces debug (at info, the
   lines hh_start waits for are still logged). */
int hh_start_log(struct hh_server *s, const char *yaml, int workers,
                 const char *log_keys);

/* hh_start, with herd's descriptor limit (RLIMIT_NOFILE) set to max_fds
   (0: inherited), to drive it out of descriptors. */
int hh_start_limited(struct hh_server *s, const char *yaml, int workers,
                     int max_fds);

/* The pid of the worker that last logged "serving (slot N, ...", of any
   generation, or -1. */
int hh_slot_pid(const struct hh_server *s, int slot);

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

/* ---- supervision: processes, log lines, background load ---- */

/*
 * Wait until the master exits by itself (it is not signalled), for up to
 * timeout_ms. On exit the temp dir is removed, s->pid set to 0 and the
 * raw wait(2) status stored in *status; returns 0. Returns -1 on timeout
 * (the server is left running: hh_stop it).
 */
int hh_wait_exit(struct hh_server *s, int timeout_ms, int *status);

/*
 * The children of ppid, found by scanning /proc/PID/stat: up to max pids
 * that are not zombies go into pids (may be NULL when max is 0). Returns
 * how many live children there are; *zombies (when not NULL) gets the
 * number of children in state Z.
 */
int hh_children(pid_t ppid, pid_t *pids, int max, int *zombies);

/* 1 when pid exists and is not a zombie, else 0. */
int hh_alive(pid_t pid);

/* Poll (every 10 ms, up to timeout_ms) until ppid has exactly n live
   children and no zombies. 0 when it does, -1 otherwise. */
int hh_wait_children(pid_t ppid, int n, int timeout_ms);

/* Poll until pid is gone (or a zombie). 0 when it is, -1 otherwise. */
int hh_wait_gone(pid_t pid, int timeout_ms);

/*
 * From the log's "worker S PID: serving (slot S, generation G)" lines:
 * the pid of the last worker that started serving slot in generation
 * (0: any generation), or -1.
 */
pid_t hh_worker_pid(const struct hh_server *s, int slot, unsigned generation);

/* The generation the worker pid logged it serves, or 0 when it did not. */
unsigned hh_worker_generation(const struct hh_server *s, pid_t pid);

#define HH_LOAD_MAX 8

/*
 * Background clients, each a forked process sending "GET / HTTP/1.1" in
 * a tight loop until hh_load_stop: keepalive of them reuse a connection
 * (opening a new one only after a response says Connection: close), the
 * other closers open one connection per request. A request fails when
 * connecting, sending or reading fails or the status is not 200.
 */
struct hh_load {
    int n;
    pid_t pids[HH_LOAD_MAX];
    int results[HH_LOAD_MAX]; /* read ends: each child's hh_load_result */
    int stop;                 /* write end: closing it stops the children */
};

struct hh_load_result {
    long ok, failed;
    long reconnects;       /* keep-alive clients: Connection: close seen */
    char first_error[200]; /* the first failure, "" when none */
};

/* Start keepalive + closers (at most HH_LOAD_MAX) clients. 0 or -1. */
int hh_load_start(struct hh_load *l, const struct hh_server *s, int keepalive,
                  int closers);

/* Stop the clients, wait for them and add up their results in r. 0, or
   -1 when a client could not report. */
int hh_load_stop(struct hh_load *l, struct hh_load_result *r);

#endif
