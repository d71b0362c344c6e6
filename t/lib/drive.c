/* drive.c: runs herd's HTTP/1.1 engine from memory, for unit tests and fuzzing.
 */
#include "drive.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
append(struct herd_buf *b, const void *p, size_t n)
{
    if (herd_buf_append(b, p, n) != HERD_OK)
        abort();
}

static void appendf(struct herd_buf *b, const char *fmt, ...) HERD_PRINTF(2, 3);

static void
appendf(struct herd_buf *b, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    append(b, line,
           n < 0                      ? 0
           : (size_t)n < sizeof(line) ? (size_t)n
                                      : sizeof(line) - 1);
}

static int
hook_flush(void *arg)
{
    struct drive *d = arg;
    unsigned n = d->nflush++;

    append(&d->out, d->w.out.data, d->w.out.len);
    d->w.out.len = 0;
    return (d->again_mask >> (n % 32)) & 1u ? HERD_AGAIN : HERD_OK;
}

static void
hook_request(void *arg, const struct herd_http1 *h,
             const struct herd_exchange *x, int status)
{
    struct drive *d = arg;
    const char *t, *name, *value;
    size_t len, nlen, vlen, i;

    (void)x; /* no module routes here */
    t = herd_http1_target(h, &len);
    appendf(&d->trace, "REQ %s %d ", herd_http1_method(h),
            herd_http1_version(h));
    append(&d->trace, t, len);
    append(&d->trace, "\n", 1);
    for (i = 0; i < herd_http1_nheaders(h); i++) {
        herd_http1_header(h, i, &name, &nlen, &value, &vlen);
        append(&d->trace, "H ", 2);
        append(&d->trace, name, nlen);
        append(&d->trace, ": ", 2);
        append(&d->trace, value, vlen);
        append(&d->trace, "\n", 1);
    }
    appendf(&d->trace, "B %zu ", d->body.len);
    append(&d->trace, d->body.data, d->body.len);
    appendf(&d->trace, "\nS %d\n", status);
    d->body.len = 0;
    d->last_status = status;
}

static void
hook_error(void *arg, const struct herd_http1 *h, int status)
{
    struct drive *d = arg;

    /* What was parsed of a refused request depends on where reads ended;
       only the verdict is part of the record. */
    (void)h;
    appendf(&d->trace, "ERR %d\n", status);
    d->body.len = 0;
    d->last_status = status;
}

static void
hook_body(void *arg, const char *data, size_t len)
{
    struct drive *d = arg;

    append(&d->body, data, len);
}

static const struct herd_http1_hooks hooks = {
    .flush = hook_flush,
    .request = hook_request,
    .error = hook_error,
    .body = hook_body,
};

int
drive_init(struct drive *d, const char *yaml, size_t scratch)
{
    char err[HERD_CONFIG_ERR_LEN];

    memset(d, 0, sizeof(*d));
    if (herd_config_load_string("drive.yaml", yaml, strlen(yaml), &d->cfg, err,
                                sizeof(err)) != HERD_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    d->w.cfg = d->cfg;
    if (herd_routes_build(&d->w.routes, d->cfg, err, sizeof(err)) != HERD_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    d->w.in_cap = scratch;
    d->w.in = malloc(scratch);
    if (d->w.in == NULL)
        return -1;
    herd_http1_global_init(d->cfg->limits.max_header_size);
    return 0;
}

void
drive_free(struct drive *d)
{
    herd_routes_free(&d->w.routes);
    free(d->w.in);
    herd_buf_free(&d->w.out);
    herd_buf_free(&d->out);
    herd_buf_free(&d->trace);
    herd_buf_free(&d->body);
    herd_config_free(d->cfg);
    memset(d, 0, sizeof(*d));
}

void
drive_begin(struct drive *d)
{
    d->out.len = d->trace.len = d->body.len = 0;
    d->nflush = 0;
    d->last_status = 0;
    herd_http1_init(&d->h, &d->w, &hooks, d);
}

enum herd_http1_state
drive_feed(struct drive *d, const char *p, size_t len)
{
    enum herd_http1_state st = herd_http1_state(&d->h);
    size_t room, n;
    char *dst;
    int rc;

    while (len > 0 && st != HERD_HTTP1_CLOSING) {
        dst = herd_http1_input_space(&d->h, &room);
        if (dst == NULL)
            abort();
        n = len < room ? len : room;
        memcpy(dst, p, n);
        p += n;
        len -= n;
        herd_http1_input_done(&d->h, n);
        /* After "would block", conn.c runs the engine again once the
           output is written, unless the connection is closing. */
        do {
            rc = herd_http1_run(&d->h, 0);
            st = herd_http1_state(&d->h);
        } while (rc == HERD_AGAIN && st != HERD_HTTP1_CLOSING);
        if (rc == HERD_ERR)
            abort(); /* no peer to lose, and memory is plenty */
    }
    return st;
}

enum herd_http1_state
drive_run(struct drive *d, const char *in, size_t len, const size_t *cuts,
          size_t ncuts, int timeout)
{
    enum herd_http1_state st = HERD_HTTP1_IDLE;
    size_t off = 0, end, i = 0;

    drive_begin(d);
    while (off < len && st != HERD_HTTP1_CLOSING) {
        while (i < ncuts && cuts[i] <= off)
            i++;
        end = i < ncuts && cuts[i] < len ? cuts[i] : len;
        st = drive_feed(d, in + off, end - off);
        off = end;
    }
    if (timeout && herd_http1_timeout(&d->h, 0))
        hook_flush(d);
    st = herd_http1_state(&d->h);
    herd_http1_free(&d->h);
    return st;
}
