/* testmod.c: a module with one handler per behaviour test_module checks. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <event2/event.h>
#include <herd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The hot-deploy tests build it again: -DTESTMOD_VERSION=2 says "v2",
   and 3 lacks t_version (a reload that must fail). */
#ifndef TESTMOD_VERSION
#define TESTMOD_VERSION 1
#endif

int herd_module_init(struct herd_module_config *cfg);
int herd_module_worker_init(struct herd_module_config *cfg);
void herd_module_worker_exit(struct herd_module_config *cfg);

int t_echo(struct herd_request *req);
int t_headers(struct herd_request *req);
int t_status(struct herd_request *req);
int t_defer(struct herd_request *req);
int t_never(struct herd_request *req);
int t_late(struct herd_request *req);
int t_cancel_responds(struct herd_request *req);
int t_abandon(struct herd_request *req);
int t_sub(struct herd_request *req);
int t_pub(struct herd_request *req);
int t_stream(struct herd_request *req);
int t_flood(struct herd_request *req);
int t_ref(struct herd_request *req);
int t_nothing(struct herd_request *req);
int t_crash(struct herd_request *req);
int t_version(struct herd_request *req);
int t_count(struct herd_request *req);

/* ---- a growing text buffer for response bodies ---- */

struct buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void
buf_add(struct buf *b, const void *data, size_t len)
{
    char *np;
    size_t ncap;

    if (b->failed)
        return;
    if (b->len + len + 1 > b->cap) {
        ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + len + 1)
            ncap *= 2;
        np = realloc(b->p, ncap);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Add "key=value\n" with value escaped: bytes outside printable ASCII
   and the backslash as \xNN; a NULL value as "(null)". */
static void
buf_field(struct buf *b, const char *key, const char *value, size_t len)
{
    char esc[8];
    size_t i;

    buf_printf(b, "%s=", key);
    if (value == NULL) {
        buf_add(b, "(null)\n", 7);
        return;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];

        if (c < 0x20 || c > 0x7e || c == '\\') {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            buf_add(b, esc, 4);
        } else {
            buf_add(b, &value[i], 1);
        }
    }
    buf_add(b, "\n", 1);
}

static void
buf_str(struct buf *b, const char *key, const char *value)
{
    buf_field(b, key, value, value ? strlen(value) : 0);
}

/* Send b as a 200 (500 when building it failed) and free it. */
static int
buf_respond(struct herd_request *req, struct buf *b)
{
    if (b->failed)
        herd_respond(req, 500, "out of memory\n", 14);
    else
        herd_respond(req, 200, b->p, b->len);
    free(b->p);
    return HERD_DONE;
}

static const char *
errname(int e)
{
    switch (e) {
    case 0:
        return "0";
    case EINVAL:
        return "EINVAL";
    case EALREADY:
        return "EALREADY";
    case ENOTCONN:
        return "ENOTCONN";
    case ENOMEM:
        return "ENOMEM";
    case ENOBUFS:
        return "ENOBUFS";
    default:
        return "other";
    }
}

/* An unsigned query parameter, or def when absent or not a number. */
static unsigned long
query_num(struct herd_request *req, const char *name, unsigned long def)
{
    const char *v = herd_request_query(req, name, NULL);
    char *end;
    unsigned long n;

    if (v == NULL || *v == '\0')
        return def;
    n = strtoul(v, &end, 10);
    return *end == '\0' ? n : def;
}

/* FNV-1a, so that a test can check a large body without echoing it. */
static unsigned long
fnv1a(const void *data, size_t len)
{
    const unsigned char *p = data;
    unsigned long h = 2166136261UL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h = (h * 16777619UL) & 0xffffffffUL;
    }
    return h;
}

/* ---- hooks ---- */

/*
 * In the master: refuse when module.config has "refuse"; otherwise keep
 * a text naming the route and whether an event base existed (it must
 * not, here) for the workers to inherit.
 */
int
herd_module_init(struct herd_module_config *cfg)
{
    /* Static, not malloc'd: the master has no hook to free it when the
       configuration goes (each load maps a fresh copy of the module). */
    static char data[64][128];
    static int used;
    const char *refuse = herd_config_get(cfg, "refuse");

    if (refuse != NULL) {
        herd_config_error(cfg, "refused: %s", refuse);
        return -1;
    }
    if (used == 64) {
        herd_config_error(cfg, "more than 64 routes");
        return -1;
    }
    snprintf(data[used], sizeof(data[used]), "init %s base=%s",
             herd_config_route(cfg),
             herd_event_base() == NULL ? "null" : "set");
    herd_config_set_data(cfg, data[used++]);
    return 0;
}

int
herd_module_worker_init(struct herd_module_config *cfg)
{
    const char *refuse = herd_config_get(cfg, "worker_refuse");
    const char *delay = herd_config_get(cfg, "worker_init_delay_ms");

    /* A slow init (blocking is fine here: the worker serves nothing
       yet), to hold a reload in progress. */
    if (delay != NULL) {
        long ms = atol(delay);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
    }
    if (refuse != NULL) {
        herd_log(HERD_LOG_INFO, "testmod: worker refusing %s",
                 herd_config_route(cfg));
        herd_config_error(cfg, "worker refused: %s", refuse);
        return -1;
    }
    herd_log(HERD_LOG_INFO, "testmod: worker init %s data=%s base=%s uid=%d",
             herd_config_route(cfg),
             herd_config_data(cfg) ? (char *)herd_config_data(cfg) : "(null)",
             herd_event_base() == NULL ? "null" : "set", (int)geteuid());
    return 0;
}

static void deferred_free_all(void);

void
herd_module_worker_exit(struct herd_module_config *cfg)
{
    herd_log(HERD_LOG_INFO, "testmod: worker exit %s", herd_config_route(cfg));
    deferred_free_all();
}

/* ---- synchronous handlers ---- */

/* Every accessor's result, one "key=value" line each, into b; the
   method in response headers too. */
static void
echo_build(struct herd_request *req, struct buf *b)
{
    struct herd_module_config *cfg = herd_request_config(req);
    const char *q, *body;
    size_t qlen = 0, blen = 0;

    buf_str(b, "method", herd_request_method(req));
    buf_printf(b, "head=%d\n", herd_request_is_head(req));
    buf_str(b, "path", herd_request_path(req));
    buf_str(b, "param_id", herd_request_param(req, "id"));
    buf_str(b, "param_star", herd_request_param(req, "*"));
    buf_str(b, "param_none", herd_request_param(req, "none"));
    q = herd_request_query(req, "q", &qlen);
    buf_field(b, "q", q, qlen);
    buf_printf(b, "q_len=%zu\n", q ? qlen : 0);
    buf_str(b, "e", herd_request_query(req, "e", NULL));
    buf_str(b, "qs", herd_request_query_string(req));
    buf_str(b, "x_test", herd_request_header(req, "x-test"));
    buf_str(b, "x_missing", herd_request_header(req, "X-Missing"));
    body = herd_request_body(req, &blen);
    buf_printf(b, "body_len=%zu\n", blen);
    buf_printf(b, "body_hash=%08lx\n", fnv1a(body, blen));
    buf_printf(b, "body_nul=%d\n", body != NULL && body[blen] == '\0');
    buf_field(b, "body", body, blen > 256 ? 256 : blen);
    buf_str(b, "client", herd_request_client(req));
    buf_str(b, "reqid", herd_request_id(req));
    buf_str(b, "greeting", herd_config_get(cfg, "greeting"));
    buf_str(b, "nokey", herd_config_get(cfg, "nokey"));
    if (herd_request_query(req, "cfgkey", NULL) != NULL)
        buf_str(b, "cfgval",
                herd_config_get(cfg, herd_request_query(req, "cfgkey", NULL)));
    buf_str(b, "route", herd_config_route(cfg));
    buf_str(b, "data", herd_config_data(cfg));
    buf_printf(b, "base=%s\n", herd_event_base() ? "set" : "null");
    buf_printf(b, "pid=%d\n", (int)getpid());
    /* A HEAD response has no body: say the method in headers too. */
    herd_response_header(req, "X-Method", herd_request_method(req));
    herd_response_header(req, "X-Head", herd_request_is_head(req) ? "1" : "0");
}

int
t_echo(struct herd_request *req)
{
    struct buf b = {NULL, 0, 0, 0};

    echo_build(req, &b);
    return buf_respond(req, &b);
}

/* Try herd_response_header with good and bad names and values; report
   each result, "name: 0" or "name: -1 EINVAL", as the body. */
int
t_headers(struct herd_request *req)
{
    static const struct {
        const char *label, *name, *value;
    } tries[] = {
        {"good", "X-Good", "yes"},
        {"good2", "X-Good", "again"},
        {"ctype", "Content-Type", "application/x-test"},
        {"space_name", "X Bad", "v"},
        {"colon_name", "X-Bad:", "v"},
        {"empty_name", "", "v"},
        {"crlf_value", "X-Inject", "a\r\nSet-Cookie: evil=1"},
        {"lf_value", "X-Inject", "a\nSet-Cookie: evil=1"},
        {"cr_value", "X-Inject", "a\rb"},
        {"crlf_name", "X-A\r\nSet-Cookie", "evil=1"},
        {"content_length", "Content-Length", "5"},
        {"content_length_lc", "content-length", "5"},
        {"transfer_encoding", "Transfer-Encoding", "chunked"},
        {"connection", "Connection", "close"},
        {"date", "Date", "x"},
        {"server", "Server", "x"},
        {"request_id", "X-Request-Id", "x"},
        {"empty_value", "X-Empty", ""},
        {"tab_value", "X-Tab", "a\tb"},
        {"utf8_value", "X-Utf8", "caf\xc3\xa9"},
        {"paren_name", "X(y)", "v"},
        {"nonascii_name", "X-\xc3\xa4", "v"},
    };
    struct buf b = {NULL, 0, 0, 0};
    size_t i;
    int rc;

    for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        errno = 0;
        rc = herd_response_header(req, tries[i].name, tries[i].value);
        buf_printf(&b, "%s: %d%s%s\n", tries[i].label, rc, rc ? " " : "",
                   rc ? errname(errno) : "");
    }
    errno = 0;
    rc = herd_response_header(NULL, "X-Null-Req", "v");
    buf_printf(&b, "null_req: %d%s%s\n", rc, rc ? " " : "",
               rc ? errname(errno) : "");
    errno = 0;
    rc = herd_respond(NULL, 200, NULL, 0);
    buf_printf(&b, "null_req_respond: %d%s%s\n", rc, rc ? " " : "",
               rc ? errname(errno) : "");
    errno = 0;
    rc = herd_respond(req, 200, NULL, 5);
    buf_printf(&b, "null_body_len5: %d%s%s\n", rc, rc ? " " : "",
               rc ? errname(errno) : "");
    errno = 0;
    rc = herd_response_header(req, NULL, "v");
    buf_printf(&b, "null_name: %d%s%s\n", rc, rc ? " " : "",
               rc ? errname(errno) : "");
    errno = 0;
    rc = herd_response_header(req, "X-Null", NULL);
    buf_printf(&b, "null_value: %d%s%s\n", rc, rc ? " " : "",
               rc ? errname(errno) : "");
    return buf_respond(req, &b);
}

/*
 * Respond with status ?s and a body of ?n 'x' bytes; when herd refuses
 * that, respond 200 "refused ERRNO" instead (a refused call leaves req
 * unfinished). ?defer=1 returns HERD_DEFER after responding.
 */
int
t_status(struct herd_request *req)
{
    unsigned long s = query_num(req, "s", 200), n = query_num(req, "n", 0);
    char body[64], msg[64];
    int len;

    if (n > sizeof(body))
        n = sizeof(body);
    memset(body, 'x', sizeof(body));
    errno = 0;
    if (herd_respond(req, (int)s, n ? body : NULL, n) == 0)
        return query_num(req, "defer", 0) ? HERD_DEFER : HERD_DONE;
    len = snprintf(msg, sizeof(msg), "refused %s\n", errname(errno));
    herd_respond(req, 200, msg, (size_t)len);
    return HERD_DONE;
}

/* A body of ?size bytes (1 MiB by default) of the pattern test_static
   uses, sent without a copy with status ?s (200); the release logs. */
static void
ref_release(void *arg)
{
    herd_log(HERD_LOG_INFO, "testmod: ref released");
    free(arg);
}

int
t_ref(struct herd_request *req)
{
    size_t size = query_num(req, "size", 1024 * 1024), i;
    char *big = malloc(size ? size : 1);

    if (big == NULL) {
        herd_respond(req, 500, "out of memory\n", 14);
        return HERD_DONE;
    }
    for (i = 0; i < size; i++)
        big[i] = (char)((i * 7 + i / 251) & 0xff);
    herd_response_header(req, "Content-Type", "application/octet-stream");
    errno = 0;
    if (herd_respond_ref(req, (int)query_num(req, "s", 200), big, size,
                         ref_release, big) != 0) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "refused %s\n", errname(errno));

        /* A refused call leaves req unfinished (and released big). */
        herd_respond(req, 200, msg, (size_t)n);
    }
    return HERD_DONE;
}

/* Forgets to respond, returning ?rc (HERD_DONE): herd must answer 500. */
int
t_nothing(struct herd_request *req)
{
    return (int)query_num(req, "rc", HERD_DONE);
}

/*
 * Dies of SIGSEGV, for the master's "while running route" line. The
 * default action is restored and the signal raised, rather than a NULL
 * pointer stored to, so that builds with sanitizers (which catch both
 * and exit 1) die of the signal too.
 */
int
t_crash(struct herd_request *req)
{
    (void)req;
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return HERD_DONE;
}

/*
 * Exported on purpose: t_version calls it through the PLT, so that were
 * herd to load modules RTLD_GLOBAL, a second copy (hot deploy, two files
 * of one module) would call the first copy's and say the wrong version.
 */
const char *testmod_version_text(void);

const char *
testmod_version_text(void)
{
    return TESTMOD_VERSION == 1   ? "v1\n"
           : TESTMOD_VERSION == 2 ? "v2\n"
                                  : "v?\n";
}

/* Version 3 lacks t_version, for a reload that must fail. */
#if TESTMOD_VERSION != 3
int
t_version(struct herd_request *req)
{
    char body[16];
    int n = snprintf(body, sizeof(body), "%s", testmod_version_text());

    herd_respond(req, 200, body, (size_t)n);
    return HERD_DONE;
}
#endif

/* Counts its calls in a global: shared by every route naming this file
   (one copy per configuration), and per worker. */
int
t_count(struct herd_request *req)
{
    static int calls;
    char body[32];
    int n = snprintf(body, sizeof(body), "%d\n", ++calls);

    herd_respond(req, 200, body, (size_t)n);
    return HERD_DONE;
}

/* ---- deferred handlers ---- */

struct deferred {
    struct herd_request *req;
    struct event *timer;
    const char *name;
    char tag[64];
    int echo;   /* answer with t_echo's text, read when the timer fires */
    size_t big; /* or with this many bytes of t_ref's pattern */
    struct deferred *prev, *next;
};

/* Every live deferred state: without a cancel callback (t_late), one
   whose request herd cancelled waits for its timer, which a stopping
   worker never runs; herd_module_worker_exit frees what is left. */
static struct deferred *live;

static void
ms_timeval(unsigned long ms, struct timeval *tv)
{
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static void
deferred_free(struct deferred *d)
{
    if (d->prev != NULL)
        d->prev->next = d->next;
    else if (live == d)
        live = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    if (d->timer != NULL)
        event_free(d->timer);
    free(d);
}

static void
deferred_free_all(void)
{
    while (live != NULL)
        deferred_free(live);
}

static void
deferred_cancel(struct herd_request *req, void *arg)
{
    struct deferred *d = arg;

    herd_log(HERD_LOG_INFO, "testmod: cancelled %s %s", d->name,
             herd_request_id(req));
    deferred_free(d);
}

/* Start a deferred request: d holds req and ?tag; the timer calls cb
   after ?ms. Logs "testmod: deferred NAME ID" once it is armed. */
static int
defer(struct herd_request *req, const char *name, event_callback_fn cb,
      int cancellable)
{
    struct deferred *d = calloc(1, sizeof(*d));
    const char *tag = herd_request_query(req, "tag", NULL);
    struct timeval tv;

    if (d == NULL) {
        herd_respond(req, 500, "out of memory\n", 14);
        return HERD_DONE;
    }
    d->req = req;
    d->name = name;
    snprintf(d->tag, sizeof(d->tag), "%s", tag ? tag : "-");
    d->echo = query_num(req, "echo", 0) != 0;
    d->big = query_num(req, "big", 0);
    if (cb != NULL) {
        d->timer = evtimer_new(herd_event_base(), cb, d);
        if (d->timer == NULL) {
            free(d);
            herd_respond(req, 500, "no timer\n", 9);
            return HERD_DONE;
        }
        ms_timeval(query_num(req, "ms", 100), &tv);
        evtimer_add(d->timer, &tv);
    }
    d->next = live;
    if (live != NULL)
        live->prev = d;
    live = d;
    if (cancellable)
        herd_request_on_cancel(req, deferred_cancel, d);
    herd_log(HERD_LOG_INFO, "testmod: deferred %s %s", name,
             herd_request_id(req));
    return HERD_DEFER;
}

static void
defer_fire(evutil_socket_t fd, short what, void *arg)
{
    struct deferred *d = arg;
    char body[128];
    int n;

    (void)fd;
    (void)what;
    if (d->echo) {
        struct buf b = {NULL, 0, 0, 0};

        buf_printf(&b, "deferred %s\n", d->tag);
        echo_build(d->req, &b);
        buf_respond(d->req, &b);
    } else if (d->big > 0) {
        char *b = malloc(d->big);
        size_t i;

        if (b == NULL) {
            herd_respond(d->req, 500, "out of memory\n", 14);
        } else {
            for (i = 0; i < d->big; i++)
                b[i] = (char)((i * 7 + i / 251) & 0xff);
            herd_respond(d->req, 200, b, d->big);
            free(b);
        }
    } else {
        n = snprintf(body, sizeof(body), "deferred %s\n", d->tag);
        herd_respond(d->req, 200, body, (size_t)n);
    }
    deferred_free(d);
}

/* Answers "deferred TAG" after ?ms milliseconds (100 by default); with
   ?echo=1 followed by what t_echo says, read from the deferred req; with
   ?big=N instead N bytes of t_ref's pattern. */
int
t_defer(struct herd_request *req)
{
    return defer(req, "defer", defer_fire, 1);
}

/* Never answers; only its cancel callback ends it. */
int
t_never(struct herd_request *req)
{
    return defer(req, "never", NULL, 1);
}

static void
late_fire(evutil_socket_t fd, short what, void *arg)
{
    struct deferred *d = arg;
    int rc;

    (void)fd;
    (void)what;
    errno = 0;
    rc = herd_respond(d->req, 200, "late\n", 5);
    herd_log(HERD_LOG_INFO, "testmod: late respond rc=%d errno=%s", rc,
             rc ? errname(errno) : "0");
    deferred_free(d);
}

/* Answers after ?ms without a cancel callback: when herd cancelled the
   request meanwhile, the late answer must fail with ENOTCONN. */
int
t_late(struct herd_request *req)
{
    return defer(req, "late", late_fire, 0);
}

static void
cancel_responds(struct herd_request *req, void *arg)
{
    int rc;

    (void)arg;
    /* A module may share one "finish" path between its timer and its
       cancel callback: answering here must be harmless (ENOTCONN). */
    errno = 0;
    rc = herd_respond(req, 503, "from cancel\n", 12);
    herd_log(HERD_LOG_INFO, "testmod: cancel respond rc=%d errno=%s", rc,
             rc ? errname(errno) : "0");
}

/* Never answers; its cancel callback tries to. */
int
t_cancel_responds(struct herd_request *req)
{
    herd_request_on_cancel(req, cancel_responds, NULL);
    herd_log(HERD_LOG_INFO, "testmod: deferred cancel_responds %s",
             herd_request_id(req));
    return HERD_DEFER;
}

/* Defers with no cancel callback and never finishes req: herd must
   still free it, at the latest when the worker ends. */
int
t_abandon(struct herd_request *req)
{
    herd_log(HERD_LOG_INFO, "testmod: abandoned %s", herd_request_id(req));
    return HERD_DEFER;
}

/* ---- publish / subscribe: streams written from other requests ---- */

/* The worker's subscribers: streamed requests t_pub writes to. */
struct sub {
    struct herd_request *req;
    struct sub *next;
};
static struct sub *subs;

static void
sub_unlink(struct sub *gone)
{
    struct sub **pp;

    for (pp = &subs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            break;
        }
    }
    free(gone);
}

static void
sub_cancel(struct herd_request *req, void *arg)
{
    herd_log(HERD_LOG_INFO, "testmod: unsubscribed %s", herd_request_id(req));
    sub_unlink(arg);
}

/* Begins a stream and waits for t_pub to write to it or end it. */
int
t_sub(struct herd_request *req)
{
    struct sub *sb = calloc(1, sizeof(*sb));

    if (sb == NULL || herd_stream_begin(req, 200) != 0) {
        free(sb);
        herd_respond(req, 500, "no stream\n", 10);
        return HERD_DONE;
    }
    sb->req = req;
    sb->next = subs;
    subs = sb;
    herd_request_on_cancel(req, sub_cancel, sb);
    herd_log(HERD_LOG_INFO, "testmod: subscribed %s", herd_request_id(req));
    return HERD_DEFER;
}

/* Writes ?msg and a newline to every subscriber (and with ?end=1 ends
   their streams), from this request's handler; answers "published N". */
int
t_pub(struct herd_request *req)
{
    const char *msg = herd_request_query(req, "msg", NULL);
    int end = query_num(req, "end", 0) != 0, n = 0, failed = 0, len;
    struct sub *sb, *next;
    char body[64];

    for (sb = subs; sb != NULL; sb = next) {
        next = sb->next;
        if (msg != NULL && (herd_stream_write(sb->req, msg, strlen(msg)) != 0 ||
                            herd_stream_write(sb->req, "\n", 1) != 0))
            failed++;
        n++;
        if (end) {
            if (herd_stream_end(sb->req) != 0)
                failed++;
            sub_unlink(sb);
        }
    }
    len = snprintf(body, sizeof(body), "published %d failed %d\n", n, failed);
    herd_respond(req, 200, body, (size_t)len);
    return HERD_DONE;
}

/* ---- streams ---- */

struct stream {
    struct herd_request *req;
    struct event *timer;
    unsigned long i, n, size, gap_ms;
    char *chunk;
    int nocancel; /* no cancel callback: learn it from ENOTCONN */
    int begun;    /* herd_stream_begin called (?late: from the timer) */
};

static void
stream_free(struct stream *s)
{
    if (s->timer != NULL)
        event_free(s->timer);
    free(s->chunk);
    free(s);
}

static void
stream_cancel(struct herd_request *req, void *arg)
{
    herd_log(HERD_LOG_INFO, "testmod: cancelled stream %s",
             herd_request_id(req));
    stream_free(arg);
}

/* Chunk i: size bytes 'a' + (i + j) % 26 (test_module builds the same). */
static int
stream_chunk(struct stream *s)
{
    unsigned long j;

    for (j = 0; j < s->size; j++)
        s->chunk[j] = (char)('a' + (s->i + j) % 26);
    s->i++;
    return herd_stream_write(s->req, s->chunk, s->size);
}

static void
stream_fire(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;
    struct timeval tv;

    (void)fd;
    (void)what;
    if (!s->begun) {
        s->begun = 1;
        if (herd_stream_begin(s->req, 200) != 0) {
            herd_log(HERD_LOG_ERROR, "testmod: late stream begin: %s",
                     errname(errno));
            herd_respond(s->req, 500, "no stream\n", 10);
            stream_free(s);
            return;
        }
    }
    if (stream_chunk(s) != 0) {
        int e = errno, rc;

        herd_log(HERD_LOG_INFO, "testmod: stream write: %s", errname(e));
        if (s->nocancel && e == ENOTCONN) {
            /* Cancelled: the finishing call frees req. */
            errno = 0;
            rc = herd_stream_end(s->req);
            herd_log(HERD_LOG_INFO, "testmod: stream end rc=%d errno=%s", rc,
                     rc ? errname(errno) : "0");
            stream_free(s);
            return;
        }
    }
    if (s->i < s->n) {
        ms_timeval(s->gap_ms, &tv);
        evtimer_add(s->timer, &tv);
        return;
    }
    if (herd_stream_end(s->req) != 0)
        herd_log(HERD_LOG_ERROR, "testmod: stream end: %s", errname(errno));
    stream_free(s);
}

/*
 * Stream ?n chunks (4) of ?size bytes (10): the first ?sync (2) from the
 * handler, the others from a timer every ?gap ms (5). ?check=1 logs how
 * herd answers calls that are too late once the stream has begun;
 * ?nocancel=1 registers no cancel callback; ?late=MS defers without
 * beginning and begins the stream from the timer MS later; ?noend=1
 * returns HERD_DONE without herd_stream_end (all chunks sync only).
 */
int
t_stream(struct herd_request *req)
{
    struct stream *s = calloc(1, sizeof(*s));
    unsigned long sync = query_num(req, "sync", 2);
    struct timeval tv;

    if (s == NULL) {
        herd_respond(req, 500, "out of memory\n", 14);
        return HERD_DONE;
    }
    s->req = req;
    s->n = query_num(req, "n", 4);
    s->size = query_num(req, "size", 10);
    s->gap_ms = query_num(req, "gap", 5);
    s->nocancel = query_num(req, "nocancel", 0) != 0;
    s->chunk = malloc(s->size ? s->size : 1);
    s->timer = evtimer_new(herd_event_base(), stream_fire, s);
    if (s->chunk == NULL || s->timer == NULL) {
        stream_free(s);
        herd_respond(req, 500, "out of memory\n", 14);
        return HERD_DONE;
    }
    herd_response_header(req, "Content-Type", "text/x-stream");
    if (query_num(req, "check", 0)) {
        int w, e, b204;
        int ew, ee, eb;

        errno = 0;
        w = herd_stream_write(req, "x", 1);
        ew = errno;
        errno = 0;
        e = herd_stream_end(req);
        ee = errno;
        errno = 0;
        b204 = herd_stream_begin(req, 204);
        eb = errno;
        herd_log(HERD_LOG_INFO,
                 "testmod: stream prechecks write=%d %s end=%d %s "
                 "begin204=%d %s",
                 w, errname(ew), e, errname(ee), b204, errname(eb));
    }
    if (query_num(req, "late", 0) > 0) {
        herd_request_on_cancel(req, stream_cancel, s);
        ms_timeval(query_num(req, "late", 0), &tv);
        evtimer_add(s->timer, &tv);
        return HERD_DEFER;
    }
    s->begun = 1;
    if (herd_stream_begin(req, 200) != 0) {
        herd_log(HERD_LOG_ERROR, "testmod: stream begin: %s", errname(errno));
        stream_free(s);
        herd_respond(req, 500, "no stream\n", 10);
        return HERD_DONE;
    }
    if (query_num(req, "check", 0)) {
        int h, b, r;
        int eh, eb, er;

        errno = 0;
        h = herd_response_header(req, "X-Late", "1");
        eh = errno;
        errno = 0;
        b = herd_stream_begin(req, 200);
        eb = errno;
        errno = 0;
        r = herd_respond(req, 200, "x", 1);
        er = errno;
        herd_log(HERD_LOG_INFO,
                 "testmod: stream checks header=%d %s begin=%d %s "
                 "respond=%d %s",
                 h, errname(eh), b, errname(eb), r, errname(er));
    }
    while (s->i < s->n && s->i < sync)
        if (stream_chunk(s) != 0)
            herd_log(HERD_LOG_ERROR, "testmod: stream write: %s",
                     errname(errno));
    if (s->i >= s->n) {
        if (!query_num(req, "noend", 0))
            herd_stream_end(req);
        stream_free(s);
        return HERD_DONE;
    }
    if (!s->nocancel)
        herd_request_on_cancel(req, stream_cancel, s);
    ms_timeval(s->gap_ms, &tv);
    evtimer_add(s->timer, &tv);
    return HERD_DEFER;
}

/*
 * Write 64 KiB chunks of 'f' synchronously until herd says ENOBUFS (the
 * client is not reading yet), log how many bytes it took, end the stream.
 */
int
t_flood(struct herd_request *req)
{
    static char chunk[64 * 1024];
    size_t total = 0;
    int rc = 0;

    memset(chunk, 'f', sizeof(chunk));
    if (herd_stream_begin(req, 200) != 0) {
        herd_respond(req, 500, "no stream\n", 10);
        return HERD_DONE;
    }
    while (total < 64UL * 1024 * 1024) {
        errno = 0;
        rc = herd_stream_write(req, chunk, sizeof(chunk));
        if (rc != 0)
            break;
        total += sizeof(chunk);
    }
    herd_log(HERD_LOG_INFO, "testmod: flood stopped after %zu bytes: %s", total,
             rc ? errname(errno) : "no error");
    herd_stream_end(req);
    return HERD_DONE;
}
