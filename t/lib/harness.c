/* harness.c: runs the real herd on a free port and talks HTTP to it. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *
herd_bin(void)
{
    const char *b = getenv("HERD_BIN");
    return b ? b : "src/herd";
}

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int
hh_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap + 1);
        }
        n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

int
hh_log_count(const struct hh_server *s, const char *text)
{
    char *log = read_file(s->log), *p;
    int n = 0;

    if (log == NULL)
        return 0;
    for (p = log; (p = strstr(p, text)) != NULL; p += strlen(text))
        n++;
    free(log);
    return n;
}

int
hh_wait_log(const struct hh_server *s, const char *text, int count,
            int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;

    do {
        if (hh_log_count(s, text) >= count)
            return 0;
        sleep_ms(10);
    } while (now_ms() < deadline);
    return -1;
}

int
hh_slot_pid(const struct hh_server *s, int slot)
{
    char *log = read_file(s->log), *p, *hit = NULL, want[32];
    int pid = -1;

    if (log == NULL)
        return -1;
    snprintf(want, sizeof(want), ": serving (slot %d,", slot);
    for (p = log; (p = strstr(p, want)) != NULL; p++)
        hit = p;
    if (hit != NULL) {
        /* "... worker N PID: serving": the pid ends where the hit starts */
        for (p = hit; p > log && p[-1] >= '0' && p[-1] <= '9'; p--)
            ;
        pid = atoi(p);
    }
    free(log);
    return pid;
}

static void
dump_log(const struct hh_server *s)
{
    char *log = read_file(s->log);

    fprintf(stderr, "---- %s ----\n%s---- end ----\n", s->log,
            log ? log : "(no log)\n");
    free(log);
}

static int start(struct hh_server *s, const char *yaml, int workers,
                 int max_fds, const char *log_keys);

int
hh_start(struct hh_server *s, const char *yaml, int workers)
{
    return start(s, yaml, workers, 0, "");
}

int
hh_start_log(struct hh_server *s, const char *yaml, int workers,
             const char *log_keys)
{
    return start(s, yaml, workers, 0, log_keys);
}

int
hh_start_limited(struct hh_server *s, const char *yaml, int workers,
                 int max_fds)
{
    return start(s, yaml, workers, max_fds, "");
}

static int
start(struct hh_server *s, const char *yaml, int workers, int max_fds,
      const char *log_keys)
{
    char *text = NULL, *log, *p;
    size_t len;
    int st;

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/herd-test-XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    snprintf(s->conf, sizeof(s->conf), "%s/herd.yaml", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/error.log", s->dir);
    len = strlen(yaml) + strlen(log_keys) + 512;
    text = malloc(len);
    if (text == NULL)
        return -1;
    snprintf(text, len, "%s%s%s%s%s%s%s",
             strstr(yaml, "listen:") ? "" : "listen: [\"127.0.0.1:0\"]\n",
             strstr(yaml, "log:")         ? ""
             : strstr(log_keys, "level:") ? "log: { error: "
                                          : "log: { level: debug, error: ",
             strstr(yaml, "log:") ? "" : s->log,
             strstr(yaml, "log:") || !*log_keys ? "" : ", ",
             strstr(yaml, "log:") ? "" : log_keys,
             strstr(yaml, "log:") ? "" : " }\n", yaml);
    if (hh_write_file(s->conf, text) != 0) {
        free(text);
        return -1;
    }
    free(text);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        int null = open("/dev/null", O_RDWR);
        struct rlimit rl = {(rlim_t)max_fds, (rlim_t)max_fds};

        if (max_fds > 0 && setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(126);
        dup2(null, STDIN_FILENO);
        execl(herd_bin(), "herd", "-c", s->conf, (char *)NULL);
        fprintf(stderr, "exec %s failed: %s\n", herd_bin(), strerror(errno));
        _exit(127);
    }
    if (hh_wait_log(s, "listening on 127.0.0.1:", 1, 10000) != 0 ||
        hh_wait_log(s, "serving (slot", workers, 10000) != 0) {
        fprintf(stderr, "herd did not start\n");
        dump_log(s);
        if (waitpid(s->pid, &st, WNOHANG) == 0)
            hh_stop(s);
        return -1;
    }
    log = read_file(s->log);
    p = log ? strstr(log, "listening on 127.0.0.1:") : NULL;
    if (p != NULL)
        s->port = atoi(p + strlen("listening on 127.0.0.1:"));
    free(log);
    return s->port > 0 ? 0 : -1;
}

static void
remove_dir(const char *dir)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int
hh_stop(struct hh_server *s)
{
    long deadline;
    int st, rc = -1;
    pid_t r;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    deadline = now_ms() + 10000;
    while ((r = waitpid(s->pid, &st, WNOHANG)) == 0 && now_ms() < deadline)
        sleep_ms(10);
    if (r == 0) {
        fprintf(stderr, "herd did not stop in 10 s: killing it\n");
        dump_log(s);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
    } else if (r == s->pid && WIFEXITED(st)) {
        rc = WEXITSTATUS(st);
    }
    if (rc != 0)
        dump_log(s);
    s->pid = 0;
    remove_dir(s->dir);
    return rc;
}

static void forget_fd(int fd);

int
hh_connect(const struct hh_server *s)
{
    struct sockaddr_in sin;
    struct timeval tv = {5, 0};
    int fd;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    forget_fd(fd);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)s->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int
hh_send(int fd, const char *data, size_t len)
{
    ssize_t n;

    if (len == 0)
        len = strlen(data);
    while (len > 0) {
        n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Per-fd read-ahead, so bytes after one response stay for the next. */
struct rbuf {
    int fd;
    char data[65536];
    size_t off, len;
};
static struct rbuf rbufs[8];

/* A new socket may reuse the number of a closed one: drop stale bytes. */
static void
forget_fd(int fd)
{
    size_t i;

    for (i = 0; i < sizeof(rbufs) / sizeof(rbufs[0]); i++)
        if (rbufs[i].fd == fd)
            rbufs[i].off = rbufs[i].len = 0;
}

static struct rbuf *
rbuf_for(int fd)
{
    size_t i;

    for (i = 0; i < sizeof(rbufs) / sizeof(rbufs[0]); i++)
        if (rbufs[i].fd == fd && rbufs[i].len > rbufs[i].off)
            return &rbufs[i];
    for (i = 0; i < sizeof(rbufs) / sizeof(rbufs[0]); i++)
        if (rbufs[i].len <= rbufs[i].off) {
            rbufs[i].fd = fd;
            rbufs[i].off = rbufs[i].len = 0;
            return &rbufs[i];
        }
    return &rbufs[0];
}

/* One byte from fd through its read-ahead; -1 on EOF/timeout. */
static int
getbyte(struct rbuf *b)
{
    ssize_t n;

    if (b->off == b->len) {
        do {
            n = recv(b->fd, b->data, sizeof(b->data), 0);
        } while (n < 0 && errno == EINTR);
        if (n <= 0)
            return -1;
        b->off = 0;
        b->len = (size_t)n;
    }
    return (unsigned char)b->data[b->off++];
}

static int
read_line(struct rbuf *b, char *line, size_t cap)
{
    size_t n = 0;
    int ch;

    while ((ch = getbyte(b)) >= 0) {
        if (n + 1 < cap)
            line[n++] = (char)ch;
        if (ch == '\n')
            break;
    }
    line[n] = '\0';
    return ch < 0 ? -1 : (int)n;
}

static int
body_append(struct hh_response *r, struct rbuf *b, size_t n)
{
    int ch;

    r->body = realloc(r->body, r->body_len + n + 1);
    while (n-- > 0) {
        if ((ch = getbyte(b)) < 0)
            return -1;
        r->body[r->body_len++] = (char)ch;
    }
    r->body[r->body_len] = '\0';
    return 0;
}

int
hh_read_response(int fd, struct hh_response *r, int head_only)
{
    struct rbuf *b = rbuf_for(fd);
    char line[8192], val[64];
    size_t used = 0;
    int n, ch;

    memset(r, 0, sizeof(*r));
    r->body = calloc(1, 1);
    if (read_line(b, line, sizeof(line)) < 0)
        return -1;
    if (sscanf(line, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    for (;;) {
        n = (int)strlen(line);
        if (used + (size_t)n < sizeof(r->head)) {
            memcpy(r->head + used, line, (size_t)n);
            used += (size_t)n;
            r->head[used] = '\0';
        }
        if (strcmp(line, "\r\n") == 0)
            break;
        if (read_line(b, line, sizeof(line)) < 0)
            return -1;
    }
    if (head_only || r->status == 204 || r->status == 304 || r->status < 200)
        return 0;
    if (hh_header(r, "Content-Length", val, sizeof(val)) != NULL)
        return body_append(r, b, strtoul(val, NULL, 10));
    if (hh_header(r, "Transfer-Encoding", val, sizeof(val)) != NULL) {
        for (;;) {
            unsigned long size;
            if (read_line(b, line, sizeof(line)) < 0)
                return -1;
            size = strtoul(line, NULL, 16);
            if (size == 0) {
                read_line(b, line, sizeof(line));
                return 0;
            }
            if (body_append(r, b, size) != 0)
                return -1;
            read_line(b, line, sizeof(line));
        }
    }
    while ((ch = getbyte(b)) >= 0) {
        char c = (char)ch;
        r->body = realloc(r->body, r->body_len + 2);
        r->body[r->body_len++] = c;
        r->body[r->body_len] = '\0';
    }
    return 0;
}

void
hh_response_free(struct hh_response *r)
{
    free(r->body);
    r->body = NULL;
}

const char *
hh_header(const struct hh_response *r, const char *name, char *buf, size_t len)
{
    const char *p = r->head;
    size_t nl = strlen(name), vl;

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e;
            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            vl = e ? (size_t)(e - v) : strlen(v);
            if (vl >= len)
                vl = len - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
    }
    return NULL;
}

int
hh_closed(int fd, int timeout_ms)
{
    struct rbuf *b = rbuf_for(fd);
    struct pollfd pfd = {fd, POLLIN, 0};
    char c;
    ssize_t n;

    if (b->len > b->off)
        return 0;
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

size_t
hh_read_until_close(int fd, char *buf, size_t cap, int timeout_ms, int *closed)
{
    struct rbuf *b = rbuf_for(fd);
    struct pollfd pfd = {fd, POLLIN, 0};
    char chunk[4096];
    size_t got = 0, take;
    ssize_t n;

    *closed = 0;
    for (;;) {
        if (b->len > b->off) {
            n = (ssize_t)(b->len - b->off);
            memcpy(chunk, b->data + b->off,
                   (size_t)n < sizeof(chunk) ? (size_t)n : sizeof(chunk));
            if ((size_t)n > sizeof(chunk))
                n = (ssize_t)sizeof(chunk);
            b->off += (size_t)n;
        } else {
            if (poll(&pfd, 1, timeout_ms) <= 0)
                return got;
            n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                *closed = n == 0 || errno == ECONNRESET;
                return got;
            }
        }
        take = cap - got < (size_t)n ? cap - got : (size_t)n;
        memcpy(buf + got, chunk, take);
        got += take;
    }
}

int
hh_send_paced(int fd, const char *data, size_t len, size_t piece, int gap_ms)
{
    size_t n;

    while (len > 0) {
        n = len < piece ? len : piece;
        if (hh_send(fd, data, n) != 0)
            return -1;
        data += n;
        len -= n;
        if (len > 0)
            sleep_ms(gap_ms);
    }
    return 0;
}

int
hh_request(const struct hh_server *s, const char *raw, struct hh_response *r)
{
    int fd = hh_connect(s), rc;

    if (fd < 0)
        return -1;
    rc = hh_send(fd, raw, 0);
    if (rc == 0)
        rc = hh_read_response(fd, r, strncmp(raw, "HEAD ", 5) == 0);
    close(fd);
    return rc;
}

int
hh_run(char *const argv[], char *out, size_t outlen)
{
    int pipefd[2], st;
    size_t used = 0;
    ssize_t n;
    pid_t pid;

    if (pipe(pipefd) < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(herd_bin(), argv);
        _exit(127);
    }
    close(pipefd[1]);
    while (used + 1 < outlen &&
           (n = read(pipefd[0], out + used, outlen - used - 1)) > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(pipefd[0]);
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* ---- supervision: processes, log lines, background load ---- */

int
hh_wait_exit(struct hh_server *s, int timeout_ms, int *status)
{
    long deadline = now_ms() + timeout_ms;
    pid_t r;
    int st = 0;

    if (s->pid <= 0)
        return -1;
    while ((r = waitpid(s->pid, &st, WNOHANG)) == 0 && now_ms() < deadline)
        sleep_ms(10);
    if (r != s->pid)
        return -1;
    if (status != NULL)
        *status = st;
    s->pid = 0;
    remove_dir(s->dir);
    return 0;
}

/* State and parent of pid from /proc/PID/stat; 0, or -1 when gone. The
   command name may hold spaces and parentheses: parse after the last ')'. */
static int
proc_stat(pid_t pid, char *state, pid_t *ppid)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;
    int pp;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 1, " %c %d", state, &pp) != 2)
        return -1;
    *ppid = (pid_t)pp;
    return 0;
}

int
hh_children(pid_t ppid, pid_t *pids, int max, int *zombies)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t pid, parent;
    char state;
    int n = 0, z = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        pid = (pid_t)atoi(e->d_name);
        if (proc_stat(pid, &state, &parent) != 0 || parent != ppid)
            continue;
        if (state == 'Z') {
            z++;
            continue;
        }
        if (n < max && pids != NULL)
            pids[n] = pid;
        n++;
    }
    closedir(d);
    if (zombies != NULL)
        *zombies = z;
    return n;
}

int
hh_alive(pid_t pid)
{
    pid_t parent;
    char state;

    return proc_stat(pid, &state, &parent) == 0 && state != 'Z';
}

int
hh_wait_children(pid_t ppid, int n, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    int z;

    do {
        if (hh_children(ppid, NULL, 0, &z) == n && z == 0)
            return 0;
        sleep_ms(10);
    } while (now_ms() < deadline);
    return -1;
}

int
hh_wait_gone(pid_t pid, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;

    do {
        if (!hh_alive(pid))
            return 0;
        sleep_ms(10);
    } while (now_ms() < deadline);
    return -1;
}

/* Call fn on each "worker S PID: serving (slot S, generation G)" line of
   the log, oldest first. */
static void
each_serving(const struct hh_server *s,
             void (*fn)(void *arg, int slot, pid_t pid, unsigned gen),
             void *arg)
{
    char *log = read_file(s->log), *p;
    int slot, wslot, pid;
    unsigned gen;

    if (log == NULL)
        return;
    for (p = log; (p = strstr(p, "] worker ")) != NULL; p++)
        if (sscanf(p, "] worker %d %d: serving (slot %d, generation %u)",
                   &wslot, &pid, &slot, &gen) == 4)
            fn(arg, slot, (pid_t)pid, gen);
    free(log);
}

struct serving_query {
    int slot;
    unsigned gen;
    pid_t pid;
};

static void
match_slot(void *arg, int slot, pid_t pid, unsigned gen)
{
    struct serving_query *q = arg;

    if (slot == q->slot && (q->gen == 0 || gen == q->gen))
        q->pid = pid;
}

pid_t
hh_worker_pid(const struct hh_server *s, int slot, unsigned generation)
{
    struct serving_query q = {slot, generation, -1};

    each_serving(s, match_slot, &q);
    return q.pid;
}

static void
match_pid(void *arg, int slot, pid_t pid, unsigned gen)
{
    struct serving_query *q = arg;

    (void)slot;
    if (pid == q->pid)
        q->gen = gen;
}

unsigned
hh_worker_generation(const struct hh_server *s, pid_t pid)
{
    struct serving_query q = {0, 0, pid};

    each_serving(s, match_pid, &q);
    return q.gen;
}

static void
load_fail(struct hh_load_result *r, const char *what, int keepalive, long nth)
{
    r->failed++;
    if (r->first_error[0] == '\0')
        snprintf(r->first_error, sizeof(r->first_error),
                 "%s client, request %ld: %s",
                 keepalive ? "keep-alive" : "close", nth, what);
}

/* One request of a load client on *fd (connecting first when it is -1;
   closed and set to -1 when the connection cannot be reused). */
static void
load_one(const struct hh_server *s, int keepalive, int *fd,
         struct hh_load_result *r)
{
    static const char keep_req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char close_req[] =
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct hh_response resp;
    char v[64], why[128];
    long nth = r->ok + r->failed + 1;

    if (*fd < 0 && (*fd = hh_connect(s)) < 0) {
        snprintf(why, sizeof(why), "connect: %s", strerror(errno));
        load_fail(r, why, keepalive, nth);
        return;
    }
    if (hh_send(*fd, keepalive ? keep_req : close_req, 0) != 0) {
        snprintf(why, sizeof(why), "send: %s", strerror(errno));
        load_fail(r, why, keepalive, nth);
        close(*fd);
        *fd = -1;
        return;
    }
    errno = 0;
    if (hh_read_response(*fd, &resp, 0) != 0) {
        snprintf(why, sizeof(why), "no response (%s)",
                 errno ? strerror(errno) : "EOF or malformed");
        load_fail(r, why, keepalive, nth);
        hh_response_free(&resp);
        close(*fd);
        *fd = -1;
        return;
    }
    if (resp.status != 200) {
        snprintf(why, sizeof(why), "status %d", resp.status);
        load_fail(r, why, keepalive, nth);
    } else {
        r->ok++;
    }
    if (!keepalive || (hh_header(&resp, "Connection", v, sizeof(v)) != NULL &&
                       strcasecmp(v, "close") == 0)) {
        if (keepalive)
            r->reconnects++;
        close(*fd);
        *fd = -1;
    }
    hh_response_free(&resp);
}

/* A load client: requests until stop is closed, then writes its result
   to out. Writes one byte to out after its first request. */
static void
load_child(const struct hh_server *s, int keepalive, int stop, int out)
{
    struct pollfd pfd = {stop, POLLIN, 0};
    struct hh_load_result r;
    int fd = -1;

    memset(&r, 0, sizeof(r));
    load_one(s, keepalive, &fd, &r);
    if (write(out, "r", 1) != 1)
        _exit(1);
    while (poll(&pfd, 1, 0) == 0)
        load_one(s, keepalive, &fd, &r);
    if (fd >= 0)
        close(fd);
    _exit(write(out, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

int
hh_load_start(struct hh_load *l, const struct hh_server *s, int keepalive,
              int closers)
{
    int ctl[2], res[2], i;
    char c;
    pid_t pid;

    memset(l, 0, sizeof(*l));
    l->stop = -1;
    if (keepalive + closers > HH_LOAD_MAX || pipe2(ctl, O_CLOEXEC) < 0)
        return -1;
    l->stop = ctl[1];
    for (i = 0; i < keepalive + closers; i++) {
        if (pipe2(res, O_CLOEXEC) < 0)
            goto fail;
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            close(res[0]);
            close(res[1]);
            goto fail;
        }
        if (pid == 0) {
            close(ctl[1]);
            close(res[0]);
            load_child(s, i < keepalive, ctl[0], res[1]);
        }
        close(res[1]);
        l->pids[l->n] = pid;
        l->results[l->n] = res[0];
        l->n++;
    }
    close(ctl[0]);
    /* Return once every client has made its first request, so that what
       the caller does next happens under load. */
    for (i = 0; i < l->n; i++) {
        struct pollfd pfd = {l->results[i], POLLIN, 0};
        if (poll(&pfd, 1, 10000) != 1 || read(l->results[i], &c, 1) != 1) {
            hh_load_stop(l, NULL);
            return -1;
        }
    }
    return 0;
fail:
    close(ctl[0]);
    hh_load_stop(l, NULL);
    return -1;
}

int
hh_load_stop(struct hh_load *l, struct hh_load_result *r)
{
    struct hh_load_result one;
    int i, rc = 0;

    if (r != NULL)
        memset(r, 0, sizeof(*r));
    if (l->stop >= 0)
        close(l->stop);
    l->stop = -1;
    for (i = 0; i < l->n; i++) {
        if (read(l->results[i], &one, sizeof(one)) != (ssize_t)sizeof(one)) {
            rc = -1;
        } else if (r != NULL) {
            r->ok += one.ok;
            r->failed += one.failed;
            r->reconnects += one.reconnects;
            if (r->first_error[0] == '\0')
                memcpy(r->first_error, one.first_error, sizeof(r->first_error));
        }
        close(l->results[i]);
        waitpid(l->pids[i], NULL, 0);
    }
    l->n = 0;
    return rc;
}
