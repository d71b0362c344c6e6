/* http1.c: the HTTP/1.1 engine of a connection: bytes in, answers out. */

/*
 * Every byte goes through two machines in lock step: framing.c first says
 * how far the bytes are acceptable and where a head or a request ends,
 * then http-parser parses exactly those bytes; its callbacks record slices
 * and, once a head is complete, request_check applies the rules that need
 * whole field values. A verdict is taken at the first refused byte in
 * stream order, so it does not depend on how the input was split. Which
 * layer enforces which rule is listed at the top of conn.c.
 */
#include "http1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filecache.h"
#include "log.h"
#include "metrics.h"
#include "redirect.h"
#include "request.h"
#include "router.h"
#include "static.h"
#include "uri.h"
#include "worker.h"
#include "pubsub.h"
#include "sse.h"
#include "ws.h"

/* Stop parsing pipelined requests when this much output is waiting. */
#define OUT_HIGH_WATER (256 * 1024)
/* Smallest free space a read is offered in a connection's own buffer. */
#define READ_MIN 4096
/* http-parser's own head limit sits above herd's, so that framing.c,
   which counts the same bytes exactly, always decides first. */
#define PARSER_HEAD_SLACK (2 * HERD_CHUNK_LINE_MAX + 1024)

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

static http_parser_settings settings;

/* ---- parser callbacks: record slices, never act on the connection ---- */

static uint32_t
slice_off(const struct herd_http1 *h, const char *at)
{
    return (uint32_t)(at - (h->base + h->msg_start));
}

static void
slice_extend(struct herd_http1 *h, struct herd_slice *s, const char *at,
             size_t len)
{
    if (s->len == 0)
        s->off = slice_off(h, at);
    s->len += (uint32_t)len;
    if (s->off + s->len > h->head_end)
        h->head_end = s->off + s->len;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
    struct herd_http1 *h = p->data;

    slice_extend(h, &h->url, at, len);
    return 0;
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
    struct herd_http1 *h = p->data;

    if (h->in_body) /* trailers are never merged into the headers */
        return 0;
    if (h->nheaders == 0 || h->last_was_value) {
        /* framing.c counts field lines first; this is a backstop. */
        if (h->nheaders == HERD_MAX_HEADERS) {
            h->error_status = 431;
            return -1;
        }
        h->nheaders++;
        h->name[h->nheaders - 1] = (struct herd_slice){0, 0};
        h->value[h->nheaders - 1] = (struct herd_slice){0, 0};
        h->last_was_value = 0;
    }
    slice_extend(h, &h->name[h->nheaders - 1], at, len);
    return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
    struct herd_http1 *h = p->data;

    if (h->in_body || h->nheaders == 0)
        return 0;
    h->last_was_value = 1;
    slice_extend(h, &h->value[h->nheaders - 1], at, len);
    return 0;
}

static unsigned method_bit(unsigned method);
static int request_path(const char *url, size_t len, const char **path,
                        size_t *plen, const char **query, size_t *qlen);

/* Whether the request goes to a module (or an events route), which gets
   its body whole. */
static int
route_takes_body(struct herd_http1 *h)
{
    struct herd_worker *w = h->w;
    const char *base = h->base + h->msg_start, *path, *query;
    size_t plen, qlen, dlen;
    struct herd_match m;

    if (!w->routes.has_body_routes ||
        request_path(base + h->url.off, h->url.len, &path, &plen, &query,
                     &qlen) != HERD_OK ||
        herd_buf_reserve(&w->path, plen + 1) != HERD_OK ||
        herd_uri_decode_path(path, plen, w->path.data, &dlen, NULL, 0) !=
            HERD_OK ||
        herd_router_match(w->routes.router, w->path.data, dlen,
                          method_bit(h->parser.method), &m) != HERD_ROUTE_FOUND)
        return 0;
    switch (((const struct herd_handler *)m.data)->kind) {
    case HERD_HANDLER_MODULE:
    case HERD_HANDLER_EVENTS:
        return 1;
    default:
        return 0;
    }
}

/*
 * The head is complete: apply the rules that need whole field values and
 * tell framing.c how the body is delimited. Returns 0, or the status to
 * refuse the request with.
 */
static int
request_check(struct herd_http1 *h)
{
    const http_parser *p = &h->parser;
    const char *head = h->base + h->msg_start;
    const char *v;
    uint64_t cl = 0, n;
    size_t i, vlen;
    int ncl = 0, nte = 0, nhost = 0, te = 0, expect = 0, expect_other = 0;
    int v11 = p->http_minor >= 1, chunked;

    for (i = 0; i < h->nheaders; i++) {
        const char *name = head + h->name[i].off;
        size_t nlen = h->name[i].len;

        vlen = h->value[i].len;
        v = herd_framing_trim(head + h->value[i].off, &vlen);
        if (herd_framing_token_eq(name, nlen, "content-length")) {
            if (herd_framing_content_length(v, vlen, &n) != HERD_OK ||
                (ncl++ > 0 && n != cl))
                return 400;
            cl = n;
        } else if (herd_framing_token_eq(name, nlen, "transfer-encoding")) {
            nte++;
            te = herd_framing_transfer_encoding(v, vlen);
        } else if (herd_framing_token_eq(name, nlen, "host")) {
            nhost++;
            if (!herd_framing_host_valid(v, vlen))
                return 400;
        } else if (herd_framing_token_eq(name, nlen, "expect")) {
            if (herd_framing_token_eq(v, vlen, "100-continue"))
                expect = 1;
            else
                expect_other = 1;
        }
    }
    /* RFC 9112 6.1 and 6.3: framing that two parties could read two
       ways is refused, and the connection closed. */
    if (nte > 0 && ncl > 0)
        return 400;
    if (nte > 1 || ncl > 1)
        return 400; /* repeated lines (CVE-2020-8287) */
    if (nte > 0 && !v11)
        return 400; /* Transfer-Encoding in HTTP/1.0 */
    if (nte > 0 && te != 0)
        return te;
    if (nhost > 1 || (v11 && nhost == 0))
        return 400;
    if (p->method == HTTP_CONNECT)
        return 501; /* herd is no proxy: never tunnel */
    chunked = nte > 0;
    /* What http-parser will do with the body must be what was decided. */
    if (chunked != !!(p->flags & F_CHUNKED) ||
        (ncl > 0 && (!(p->flags & F_CONTENTLENGTH) || p->content_length != cl)))
        return 400;
    if (cl > h->w->cfg->limits.max_body_size)
        return 413; /* from the header, before any of the body is read */
    if (v11 && expect_other)
        return 417;
    h->expect_continue = v11 && expect && (chunked || cl > 0);
    if ((chunked || cl > 0) && route_takes_body(h)) {
        h->keep_body = 1;
        h->body.len = 0;
        if (cl > 0 && herd_buf_reserve(&h->body, cl + 1) != HERD_OK)
            return 503;
    }
    if (chunked)
        herd_framing_body(&h->framing, HERD_BODY_CHUNKED, 0);
    else
        herd_framing_body(&h->framing, HERD_BODY_LENGTH, cl);
    return 0;
}

static int
on_headers_complete(http_parser *p)
{
    struct herd_http1 *h = p->data;
    int status;

    h->in_body = 1;
    status = request_check(h);
    if (status != 0) {
        h->error_status = status;
        return -1;
    }
    return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
    struct herd_http1 *h = p->data;

    /* framing.c already holds the size to max_body_size. */
    if (h->keep_body && herd_buf_append(&h->body, at, len) != HERD_OK) {
        h->error_status = 503;
        return -1;
    }
    if (h->hooks->body != NULL)
        h->hooks->body(h->arg, at, len);
    return 0;
}

static int
on_message_complete(http_parser *p)
{
    /* Hand the request to answer() outside the parser. */
    http_parser_pause(p, 1);
    return 0;
}

void
herd_http1_global_init(uint64_t max_header_size)
{
    http_parser_set_max_header_size((uint32_t)max_header_size +
                                    PARSER_HEAD_SLACK);
    memset(&settings, 0, sizeof(settings));
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
}

/* ---- life cycle ---- */

void
herd_http1_init(struct herd_http1 *h, struct herd_worker *w,
                const struct herd_http1_hooks *hooks, void *arg)
{
    const struct herd_config *cfg = w->cfg;

    memset(h, 0, sizeof(*h));
    h->w = w;
    h->hooks = hooks;
    h->arg = arg;
    h->name = w->hdr_name;
    h->value = w->hdr_value;
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = h;
    herd_framing_init(&h->framing, (uint32_t)cfg->limits.max_header_size,
                      HERD_MAX_HEADERS, cfg->limits.max_body_size);
}

/* Back to the worker's slices (the connection's own are freed). */
static void
slices_shared(struct herd_http1 *h)
{
    if (h->own_slices) {
        free(h->name); /* name and value are one allocation */
        h->own_slices = 0;
    }
    h->name = h->w->hdr_name;
    h->value = h->w->hdr_value;
}

/* A head (or body) is still arriving when the run ends: its slices must
   outlive the run, which the worker's would not. */
static int
slices_own(struct herd_http1 *h)
{
    struct herd_slice *s;

    if (h->own_slices)
        return HERD_OK;
    s = malloc(2 * HERD_MAX_HEADERS * sizeof(*s));
    if (s == NULL)
        return HERD_ERR;
    memcpy(s, h->name, h->nheaders * sizeof(*s));
    memcpy(s + HERD_MAX_HEADERS, h->value, h->nheaders * sizeof(*s));
    h->name = s;
    h->value = s + HERD_MAX_HEADERS;
    h->own_slices = 1;
    return HERD_OK;
}

void
herd_http1_free(struct herd_http1 *h)
{
    if (h->req != NULL)
        herd_request_cancel(h->req); /* clears h->req */
    herd_buf_free(&h->buf);
    herd_buf_free(&h->body);
    if (h->own_slices) {
        free(h->name);
        h->own_slices = 0;
    }
}

/* ---- requests ---- */

static unsigned
method_bit(unsigned method)
{
    switch (method) {
    case HTTP_GET:
        return HERD_M_GET;
    case HTTP_HEAD:
        return HERD_M_HEAD;
    case HTTP_POST:
        return HERD_M_POST;
    case HTTP_PUT:
        return HERD_M_PUT;
    case HTTP_PATCH:
        return HERD_M_PATCH;
    case HTTP_DELETE:
        return HERD_M_DELETE;
    case HTTP_OPTIONS:
        return HERD_M_OPTIONS;
    default:
        return 0;
    }
}

static void
request_reset(struct herd_http1 *h)
{
    h->url = (struct herd_slice){0, 0};
    h->nheaders = 0;
    slices_shared(h);
    h->head_end = 0;
    h->last_was_value = 0;
    h->in_body = 0;
    h->expect_continue = 0;
    h->error_status = 0;
    if (h->keep_body) {
        herd_buf_free(&h->body);
        h->keep_body = 0;
    }
}

/* The path and the query of the request target: origin-form up to '?'
   and from it to '#', or those of an absolute-form target. *qlen is 0
   without a query. Returns HERD_ERR when there is no path. */
static int
request_path(const char *url, size_t len, const char **path, size_t *plen,
             const char **query, size_t *qlen)
{
    struct http_parser_url u;
    size_t i, j;

    *query = NULL;
    *qlen = 0;
    if (len > 0 && url[0] == '/') {
        for (i = 0; i < len && url[i] != '?' && url[i] != '#'; i++)
            ;
        *path = url;
        *plen = i;
        if (i < len && url[i] == '?') {
            for (j = i + 1; j < len && url[j] != '#'; j++)
                ;
            *query = url + i + 1;
            *qlen = j - i - 1;
        }
        return HERD_OK;
    }
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH)))
        return HERD_ERR;
    *path = url + u.field_data[UF_PATH].off;
    *plen = u.field_data[UF_PATH].len;
    if (u.field_set & (1 << UF_QUERY)) {
        *query = url + u.field_data[UF_QUERY].off;
        *qlen = u.field_data[UF_QUERY].len;
    }
    return HERD_OK;
}

/* The value of the first field line called lc (lower case), trimmed, or
   NULL when the request has none. */
static const char *
header_get(const struct herd_http1 *h, const char *lc, size_t *len)
{
    const char *head = h->base + h->msg_start;
    size_t i;

    *len = 0;
    for (i = 0; i < h->nheaders; i++) {
        if (!herd_framing_token_eq(head + h->name[i].off, h->name[i].len, lc))
            continue;
        *len = h->value[i].len;
        return herd_framing_trim(head + h->value[i].off, len);
    }
    return NULL;
}

/* How one answer is framed: the same for every handler. */
struct reply {
    struct herd_buf *out;
    time_t now;
    enum herd_conn_header ch;
    int head_only;
};

/* 204 to OPTIONS: what the path allows, no body. */
static int
options_write(const struct reply *r, unsigned allow_mask)
{
    char allow[96];

    herd_allow_header_value(allow_mask | HERD_M_OPTIONS, allow, sizeof(allow));
    if (herd_response_start(r->out, 204, r->now) != HERD_OK ||
        herd_buf_append(r->out, "Allow: ", 7) != HERD_OK ||
        herd_buf_append(r->out, allow, strlen(allow)) != HERD_OK ||
        herd_buf_append(r->out, "\r\n", 2) != HERD_OK)
        return HERD_ERR;
    return herd_response_end(r->out, r->ch);
}

/*
 * A redirect to the Location that loc[0..len) holds; loc may point into
 * r->out itself (past its length), so it is moved before anything else
 * is appended.
 */
static int
location_write(const struct reply *r, int status, size_t loc_off, size_t len)
{
    char body[64], line[96];
    int bn, n;

    bn = snprintf(body, sizeof(body), "%d %s\n", status,
                  herd_status_reason(status));
    n = snprintf(line, sizeof(line),
                 "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %d\r\n",
                 bn);
    if (bn < 0 || (size_t)bn >= sizeof(body) || n < 0 ||
        (size_t)n >= sizeof(line))
        return HERD_ERR;
    r->out->len = loc_off + len; /* the Location value is already there */
    if (herd_buf_append(r->out, line, (size_t)n) != HERD_OK ||
        herd_response_end(r->out, r->ch) != HERD_OK)
        return HERD_ERR;
    if (r->head_only)
        return HERD_OK;
    return herd_buf_append(r->out, body, (size_t)bn);
}

/* redirect: render the compiled target straight into the output. */
static int
answer_redirect(const struct reply *r, const struct herd_handler *hd,
                const struct herd_match *m, const char *query, size_t qlen,
                int *status)
{
    const struct herd_redirect_conf *rc = &hd->conf->u.redirect;
    size_t room = 1024 + strlen(rc->to) + 3 * qlen, mark, off, len;

    *status = herd_redirect_status(rc->compiled);
    mark = r->out->len;
    if (herd_response_start(r->out, *status, r->now) != HERD_OK ||
        herd_buf_append(r->out, "Location: ", 10) != HERD_OK)
        return HERD_ERR;
    off = r->out->len;
    for (;;) {
        if (herd_buf_reserve(r->out, room) != HERD_OK)
            return HERD_ERR;
        if (herd_redirect_render(rc->compiled, m, query, qlen,
                                 r->out->data + off, r->out->cap - off,
                                 &len) == HERD_OK)
            break;
        if (room >= 1024 * 1024) {
            /* Not a size problem: a parameter the template needs is
               missing, which the config check rules out. */
            r->out->len = mark;
            *status = 500;
            return herd_error_response_write(r->out, 500, r->now, r->ch, NULL,
                                             r->head_only);
        }
        room *= 4;
    }
    return location_write(r, *status, off, len);
}

/* 301 to the request's own path plus '/' (and its query), raw. */
static int
slash_redirect(const struct reply *r, const char *path, size_t plen,
               const char *query, size_t qlen)
{
    size_t off;

    if (herd_response_start(r->out, 301, r->now) != HERD_OK ||
        herd_buf_append(r->out, "Location: ", 10) != HERD_OK)
        return HERD_ERR;
    off = r->out->len;
    if (herd_buf_append(r->out, path, plen) != HERD_OK ||
        herd_buf_append(r->out, "/", 1) != HERD_OK)
        return HERD_ERR;
    if (qlen > 0 && (herd_buf_append(r->out, "?", 1) != HERD_OK ||
                     herd_buf_append(r->out, query, qlen) != HERD_OK))
        return HERD_ERR;
    return location_write(r, 301, off, r->out->len - off);
}

/* Append "name: value\r\n". */
static int
field_write(struct herd_buf *out, const char *name, const char *value,
            size_t len)
{
    if (herd_buf_append(out, name, strlen(name)) != HERD_OK ||
        herd_buf_append(out, ": ", 2) != HERD_OK ||
        herd_buf_append(out, value, len) != HERD_OK)
        return HERD_ERR;
    return herd_buf_append(out, "\r\n", 2);
}

/* The head of a file response (200, 206, 304 or 416) for f. */
static int
file_head_write(const struct reply *r, const struct herd_static_conf *sc,
                const struct herd_static_file *f,
                const struct herd_static_validators *v, int status, off_t start,
                off_t length)
{
    struct herd_buf *out = r->out;
    char line[128];
    int n;

    if (herd_response_start(out, status, r->now) != HERD_OK)
        return HERD_ERR;
    if (status == 416) {
        n = snprintf(line, sizeof(line),
                     "Content-Range: bytes */%lld\r\nContent-Length: 0\r\n",
                     (long long)f->st.st_size);
        if (herd_buf_append(out, line, (size_t)n) != HERD_OK)
            return HERD_ERR;
        return herd_response_end(out, r->ch);
    }
    if (status != 304) {
        n = snprintf(line, sizeof(line), "Content-Length: %lld\r\n",
                     (long long)length);
        if (field_write(out, "Content-Type", f->content_type,
                        strlen(f->content_type)) != HERD_OK ||
            herd_buf_append(out, line, (size_t)n) != HERD_OK ||
            herd_buf_append(out, "Accept-Ranges: bytes\r\n", 22) != HERD_OK)
            return HERD_ERR;
    }
    if (status == 206) {
        n = snprintf(line, sizeof(line),
                     "Content-Range: bytes %lld-%lld/%lld\r\n",
                     (long long)start, (long long)(start + length - 1),
                     (long long)f->st.st_size);
        if (herd_buf_append(out, line, (size_t)n) != HERD_OK)
            return HERD_ERR;
    }
    if (field_write(out, "Last-Modified", v->last_modified,
                    v->last_modified_len) != HERD_OK ||
        field_write(out, "ETag", v->etag, v->etag_len) != HERD_OK)
        return HERD_ERR;
    if (sc->cache_control != NULL &&
        field_write(out, "Cache-Control", sc->cache_control,
                    strlen(sc->cache_control)) != HERD_OK)
        return HERD_ERR;
    if (sc->gzip_static &&
        herd_buf_append(out, "Vary: Accept-Encoding\r\n", 23) != HERD_OK)
        return HERD_ERR;
    if (f->gzip && status != 304 &&
        herd_buf_append(out, "Content-Encoding: gzip\r\n", 24) != HERD_OK)
        return HERD_ERR;
    return herd_response_end(out, r->ch);
}

/*
 * static: open the file the wildcard names beneath the root and answer
 * with its head in the output and its bytes queued through the file hook.
 */
static int
answer_static(struct herd_http1 *h, const struct reply *r,
              const struct herd_handler *hd, const struct herd_match *m,
              const char *path, size_t plen, const char *query, size_t qlen,
              int *status)
{
    const struct herd_static_conf *sc = &hd->conf->u.static_;
    const struct herd_param *wild = NULL;
    struct herd_static_file f = {.fd = -1};
    const struct herd_filecache_entry *ce = NULL;
    struct herd_static_validators v;
    const char *inm, *ims, *range, *ir, *ae;
    size_t inm_len, ims_len, range_len, ir_len, ae_len;
    unsigned flags = 0;
    off_t start = 0, length;
    char err[HERD_ERR_LEN];
    int rc;

    if (m->nparams > 0)
        wild = &m->params[m->nparams - 1];
    if (sc->dotfiles == HERD_DOTFILES_ALLOW)
        flags |= HERD_STATIC_DOTFILES;
    ae = header_get(h, "accept-encoding", &ae_len);
    if (sc->gzip_static && herd_static_accepts_gzip(ae, ae_len))
        flags |= HERD_STATIC_GZIP;
    /* A small file kept in memory (and still the same on disk) needs no
       open; ".gz" answers are not kept. */
    if (hd->cache != NULL && !(flags & HERD_STATIC_GZIP))
        ce = herd_filecache_get(hd->cache, hd->rootfd, wild ? wild->value : "",
                                wild ? wild->value_len : 0);
    if (ce != NULL) {
        f.st = ce->st;
        f.content_type = ce->content_type;
        goto found;
    }
    switch (herd_static_open(hd->rootfd, wild ? wild->value : "",
                             wild ? wild->value_len : 0, sc->index, flags, &f,
                             err, sizeof(err))) {
    case HERD_STATIC_FOUND:
        break;
    case HERD_STATIC_REDIRECT:
        *status = 301;
        return slash_redirect(r, path, plen, query, qlen);
    case HERD_STATIC_BAD_PATH:
        *status = 400;
        return herd_error_response_write(r->out, 400, r->now, r->ch, NULL,
                                         r->head_only);
    case HERD_STATIC_ERROR:
        herd_log_error("static %s: %s", sc->root, err);
        *status = 500;
        return herd_error_response_write(r->out, 500, r->now, r->ch, NULL,
                                         r->head_only);
    default:
        *status = 404;
        return herd_error_response_write(r->out, 404, r->now, r->ch, NULL,
                                         r->head_only);
    }
    if (hd->cache != NULL && !(flags & HERD_STATIC_GZIP) && f.path[0] != '\0')
        ce = herd_filecache_put(hd->cache, wild ? wild->value : "",
                                wild ? wild->value_len : 0, f.path, f.fd, &f.st,
                                f.content_type, r->now);
    if (ce != NULL) {
        herd_static_close(&f); /* answered from memory */
    } else if (h->hooks->file == NULL) {
        herd_static_close(&f);
        *status = 500;
        return herd_error_response_write(r->out, 500, r->now, r->ch, NULL,
                                         r->head_only);
    }
found:
    herd_static_validators(&f.st, &v);
    length = f.st.st_size;
    inm = header_get(h, "if-none-match", &inm_len);
    ims = header_get(h, "if-modified-since", &ims_len);
    range = header_get(h, "range", &range_len);
    ir = header_get(h, "if-range", &ir_len);
    if (herd_static_conditional(&v, inm, inm_len, ims, ims_len) == 304)
        *status = 304;
    else if (range != NULL && herd_static_if_range(&v, ir, ir_len))
        *status =
            herd_static_range(range, range_len, f.st.st_size, &start, &length);
    else
        *status = 200;
    rc = file_head_write(r, sc, &f, &v, *status, start, length);
    if (rc == HERD_OK && (*status == 200 || *status == 206) && !r->head_only &&
        length > 0 && ce != NULL) {
        rc = herd_buf_append(r->out, ce->data + start, (size_t)length);
    } else if (rc == HERD_OK && (*status == 200 || *status == 206) &&
               !r->head_only && length > 0) {
        rc = h->hooks->file(h->arg, f.fd, start, length);
        f.fd = -1; /* the hook's now */
        h->file_pending = 1;
    }
    herd_static_close(&f);
    return rc;
}

/* Whether the comma-separated list v[0..len) has token lc (any case). */
static int
list_has_token(const char *v, size_t len, const char *lc)
{
    size_t i = 0, start, n;
    const char *t;

    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        start = i;
        while (i < len && v[i] != ',')
            i++;
        n = i - start;
        t = herd_framing_trim(v + start, &n);
        if (n > 0 && herd_framing_token_eq(t, n, lc))
            return 1;
    }
    return 0;
}

/* A refusal of a websocket route: status with one extra header line. */
static int
ws_refuse(const struct reply *r, int status, const char *line)
{
    static const char body[] = "WebSocket handshake refused\n";
    char len[64];

    snprintf(len, sizeof(len), "Content-Length: %zu\r\n", sizeof(body) - 1);
    if (herd_response_start(r->out, status, r->now) != HERD_OK ||
        (line != NULL &&
         herd_buf_append(r->out, line, strlen(line)) != HERD_OK) ||
        herd_buf_append(r->out, "Content-Type: text/plain; charset=utf-8\r\n",
                        41) != HERD_OK ||
        herd_buf_append(r->out, len, strlen(len)) != HERD_OK ||
        herd_response_end(r->out, r->ch) != HERD_OK)
        return HERD_ERR;
    if (r->head_only)
        return HERD_OK;
    return herd_buf_append(r->out, body, sizeof(body) - 1);
}

/*
 * websocket: check the opening handshake (RFC 6455 4.2.1), answer 101
 * with Sec-WebSocket-Accept and hand the connection over through the
 * upgrade hook; or refuse (400, 426 with what herd speaks, 501).
 */
static int
answer_websocket(struct herd_http1 *h, const struct reply *r,
                 const struct herd_handler *hd, const struct herd_match *m,
                 const char *query, size_t qlen, int *status)
{
    const struct herd_channel_conf *cc = &hd->conf->u.channel;
    char accept[HERD_WS_ACCEPT_LEN + 1], line[128];
    const char *v, *name = cc->channel;
    size_t vlen, nlen = strlen(cc->channel), i, llen = 0;
    uint64_t last_id = 0;
    int replay;
    char last[32];

    v = header_get(h, "upgrade", &vlen);
    if (v == NULL || !list_has_token(v, vlen, "websocket") ||
        (v = header_get(h, "connection", &vlen)) == NULL ||
        !list_has_token(v, vlen, "upgrade")) {
        *status = 426;
        return ws_refuse(r, 426, "Upgrade: websocket\r\n");
    }
    v = header_get(h, "sec-websocket-version", &vlen);
    if (v == NULL || vlen != 2 || memcmp(v, "13", 2) != 0) {
        *status = 426;
        return ws_refuse(r, 426, "Sec-WebSocket-Version: 13\r\n");
    }
    v = header_get(h, "sec-websocket-key", &vlen);
    if (h->parser.method != HTTP_GET || herd_http1_version(h) < 11 ||
        v == NULL || herd_ws_accept_key(v, vlen, accept) != HERD_OK) {
        *status = 400;
        return ws_refuse(r, 400, NULL);
    }
    if (cc->channel[0] == ':') {
        name = NULL;
        for (i = 0; i < m->nparams; i++) {
            if (m->params[i].name_len == nlen - 1 &&
                memcmp(m->params[i].name, cc->channel + 1, nlen - 1) == 0) {
                name = m->params[i].value;
                nlen = m->params[i].value_len;
            }
        }
    }
    if (name == NULL || !herd_pubsub_channel_valid(name, nlen)) {
        *status = 400;
        return ws_refuse(r, 400, NULL);
    }
    /* ids: a client coming back says the last id it got. */
    replay = cc->ids && herd_uri_query_get(query, qlen, "last_event_id", NULL,
                                           0, NULL) == HERD_OK;
    if (replay &&
        (herd_uri_query_get(query, qlen, "last_event_id", last, sizeof(last),
                            &llen) != HERD_OK ||
         herd_sse_parse_last_event_id(last, llen, &last_id) != HERD_OK)) {
        *status = 400;
        return ws_refuse(r, 400, NULL);
    }
    if (h->hooks->upgrade == NULL) {
        *status = 501;
        return ws_refuse(r, 501, NULL);
    }
    if (h->hooks->upgrade(h->arg, hd->conf, name, nlen, replay, last_id) !=
        HERD_OK) {
        *status = 500;
        return ws_refuse(r, 500, NULL);
    }
    *status = 101;
    h->switched = 1;
    h->close_after = 0;
    snprintf(line, sizeof(line),
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n\r\n",
             accept);
    if (herd_response_start(r->out, 101, r->now) != HERD_OK)
        return HERD_ERR;
    return herd_buf_append(r->out, line, strlen(line));
}

/* Refuse the request: answer status and close once it is written. */
static void
fail(struct herd_http1 *h, int status, time_t now)
{
    h->resp_start = h->w->out.len;
    h->route = -1;
    if (herd_error_response_write(&h->w->out, status, now, HERD_CONN_CLOSE,
                                  NULL, 0) != HERD_OK)
        h->oom = 1;
    h->close_after = 1;
    h->linger = 1;
    h->hooks->error(h->arg, h, status);
}

/* framing.c and http-parser disagree on where a message ends: a bug in
   herd, never to be papered over in a fuzzing build. */
static void
desync(struct herd_http1 *h, time_t now)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    abort();
#endif
    fail(h, 400, now);
}

/* Route and answer one complete request into the worker's output. */
static void
answer(struct herd_http1 *h, time_t now)
{
    struct herd_worker *w = h->w;
    const struct herd_config *cfg = w->cfg;
    const char *base = h->base + h->msg_start;
    const char *path, *query;
    size_t plen, qlen, dlen;
    struct herd_match m;
    enum herd_route_result rr;
    struct reply r = {&w->out, now, HERD_CONN_NONE, 0};
    const struct herd_exchange *x = NULL;
    int keepalive, status, rc;
    char allow[96];

    h->nrequests++;
    h->resp_start = w->out.len;
    h->route = -1;
    keepalive = http_should_keep_alive(&h->parser) && !w->draining &&
                !h->parser.upgrade && cfg->limits.keepalive_timeout_ms > 0 &&
                (cfg->limits.keepalive_requests == 0 ||
                 h->nrequests < cfg->limits.keepalive_requests);
    if (!keepalive) {
        r.ch = HERD_CONN_CLOSE;
        h->close_after = 1;
    } else {
        r.ch = h->parser.http_minor == 0 ? HERD_CONN_KEEPALIVE : HERD_CONN_NONE;
    }
    r.head_only = h->parser.method == HTTP_HEAD;

    if (h->parser.method == HTTP_OPTIONS && h->url.len == 1 &&
        base[h->url.off] == '*') {
        /* "OPTIONS *" asks about the server: every method herd routes. */
        status = 204;
        rc = options_write(&r, HERD_M_GET | HERD_M_HEAD | HERD_M_POST |
                                   HERD_M_PUT | HERD_M_PATCH | HERD_M_DELETE);
        goto done;
    }
    if (request_path(base + h->url.off, h->url.len, &path, &plen, &query,
                     &qlen) != HERD_OK) {
        status = 400;
        rc = herd_error_response_write(&w->out, status, now, HERD_CONN_CLOSE,
                                       NULL, r.head_only);
        h->close_after = 1;
        goto done;
    }
    /* Routing sees the path decoded once; a bad escape, a NUL or a "."
       or ".." segment never reaches a handler. */
    if (herd_buf_reserve(&w->path, plen + 1) != HERD_OK) {
        status = 500;
        rc = HERD_ERR;
        goto done;
    }
    if (herd_uri_decode_path(path, plen, w->path.data, &dlen, NULL, 0) !=
        HERD_OK) {
        status = 400;
        rc = herd_error_response_write(&w->out, status, now, r.ch, NULL,
                                       r.head_only);
        goto done;
    }
    w->path.data[dlen] = '\0';
    rr = herd_router_match(w->routes.router, w->path.data, dlen,
                           method_bit(h->parser.method), &m);
    if (rr == HERD_ROUTE_FOUND) {
        const struct herd_handler *hd = m.data;

        h->route = hd->conf->metrics_id;
        switch (hd->kind) {
        case HERD_HANDLER_STATIC:
            rc = answer_static(h, &r, hd, &m, path, plen, query, qlen, &status);
            break;
        case HERD_HANDLER_REDIRECT:
            rc = answer_redirect(&r, hd, &m, query, qlen, &status);
            break;
        case HERD_HANDLER_MODULE:
        case HERD_HANDLER_EVENTS: {
            /* A handler function (hd->fn) on the request machinery. */
            struct herd_request_args ra = {
                .h = h,
                .hd = hd,
                .m = &m,
                .path = w->path.data,
                .plen = dlen,
                .query = query,
                .qlen = qlen,
                .now = now,
                .ch = r.ch,
                .head_only = r.head_only,
            };

            status = 500;
            rc = herd_buf_reserve(&h->body, 1); /* room for a NUL */
            if (rc == HERD_OK)
                rc = herd_request_run(&ra, &status, &x);
            if (rc == HERD_AGAIN)
                return; /* answered later: the request hook waits too */
            break;
        }
        case HERD_HANDLER_WEBSOCKET:
            rc = answer_websocket(h, &r, hd, &m, query, qlen, &status);
            break;
        case HERD_HANDLER_HEALTH:
        case HERD_HANDLER_METRICS:
            rc = herd_metrics_answer(w->scoreboard, hd->conf, &w->out, now,
                                     r.ch, r.head_only, &status);
            break;
        default:
            status = hd->conf->u.respond.status;
            rc = herd_fixed_response_write(&hd->fixed, &w->out, now, r.ch,
                                           r.head_only);
            break;
        }
    } else if (rr == HERD_ROUTE_METHOD_NOT_ALLOWED &&
               h->parser.method == HTTP_OPTIONS) {
        status = 204; /* no route claims OPTIONS: say what is allowed */
        rc = options_write(&r, m.allow);
    } else if (rr == HERD_ROUTE_METHOD_NOT_ALLOWED) {
        status = 405;
        herd_allow_header_value(m.allow, allow, sizeof(allow));
        rc = herd_error_response_write(&w->out, status, now, r.ch, allow,
                                       r.head_only);
    } else {
        status = 404;
        rc = herd_error_response_write(&w->out, status, now, r.ch, NULL,
                                       r.head_only);
    }
done:
    if (rc != HERD_OK) {
        h->oom = 1;
        h->close_after = 1;
    }
    h->hooks->request(h->arg, h, x, status);
}

static int
parser_error_status(const struct herd_http1 *h)
{
    if (h->error_status)
        return h->error_status;
    if (HTTP_PARSER_ERRNO(&h->parser) == HPE_HEADER_OVERFLOW)
        return 431;
    return 400;
}

/*
 * Parse what is in base[parse_off..len) and answer every complete request
 * into the worker's output, in order. Stops at an error, at a request
 * after which the connection closes, or when enough output is waiting.
 */
static void
process(struct herd_http1 *h, time_t now)
{
    struct herd_worker *w = h->w;
    enum herd_framing_event ev;
    enum http_errno e;
    size_t n, m;

    while (h->parse_off < h->len && !h->close_after && !h->file_pending &&
           !h->deferred && !h->switched && w->out.len < OUT_HIGH_WATER) {
        const char *p = h->base + h->parse_off;

        ev = herd_framing_scan(&h->framing, p, h->len - h->parse_off, &n);
        /* The parser sees the bytes framing.c accepted, so that an error
           it finds among them comes first, as it does in the stream. */
        m = n > 0 ? http_parser_execute(&h->parser, &settings, p, n) : 0;
        h->parse_off += m;
        e = HTTP_PARSER_ERRNO(&h->parser);
        if (e == HPE_PAUSED) {
            if (m != n || (ev != HERD_FRAMING_END && ev != HERD_FRAMING_HEAD) ||
                herd_framing_started(&h->framing)) {
                desync(h, now);
                return;
            }
            answer(h, now);
            request_reset(h);
            http_parser_pause(&h->parser, 0);
            h->msg_start = h->parse_off;
            if (h->switched)
                break; /* what follows is WebSocket, the owner's now */
            if (h->parser.upgrade) /* never parse what follows an upgrade */
                h->close_after = 1;
            continue;
        }
        if (e != HPE_OK) {
            fail(h, parser_error_status(h), now);
            return;
        }
        if (m != n) {
            desync(h, now);
            return;
        }
        if (ev == HERD_FRAMING_ERROR) {
            fail(h, h->framing.status, now);
            return;
        }
        if (ev == HERD_FRAMING_END ||
            (ev == HERD_FRAMING_HEAD &&
             (!h->in_body || !herd_framing_started(&h->framing)))) {
            desync(h, now);
            return;
        }
        if (ev == HERD_FRAMING_HEAD && h->expect_continue &&
            herd_buf_append(&w->out, continue_line,
                            sizeof(continue_line) - 1) != HERD_OK)
            h->oom = 1;
    }
}

/* ---- input buffers ---- */

char *
herd_http1_input_space(struct herd_http1 *h, size_t *room)
{
    if (h->buf.len == 0) {
        *room = h->w->in_cap;
        return h->w->in;
    }
    if (herd_buf_reserve(&h->buf, READ_MIN) != HERD_OK)
        return NULL;
    *room = h->buf.cap - h->buf.len;
    return h->buf.data + h->buf.len;
}

void
herd_http1_input_done(struct herd_http1 *h, size_t n)
{
    if (h->buf.len == 0) {
        h->base = h->w->in;
        h->len = n;
        h->msg_start = h->parse_off = 0;
    } else {
        h->buf.len += n;
        h->base = h->buf.data;
        h->len = h->buf.len;
    }
}

/*
 * Keep what the next read needs: the head of a request still in progress
 * (its body bytes are not kept) and any bytes not parsed yet. Moves them
 * into h->buf, so the worker's scratch is free again.
 */
static int
save_input(struct herd_http1 *h)
{
    size_t head, rest, total;
    char *dst;

    if (h->close_after) {
        head = rest = 0;
    } else if (h->in_body) {
        head = h->head_end;
        rest = h->len - h->parse_off;
    } else {
        head = h->parse_off - h->msg_start;
        rest = h->len - h->parse_off;
    }
    total = head + rest;
    if (total == 0) {
        herd_buf_free(&h->buf); /* idle connections hold no buffer */
        goto done;
    }
    if (h->base == h->buf.data) {
        /* Moving down within one buffer: each move goes to a lower or
           equal address, so memmove in this order is safe. */
        memmove(h->buf.data, h->base + h->msg_start, head);
        memmove(h->buf.data + head, h->base + h->parse_off, rest);
    } else {
        h->buf.len = 0;
        if (herd_buf_reserve(&h->buf, total + READ_MIN) != HERD_OK)
            return HERD_ERR;
        dst = h->buf.data;
        memcpy(dst, h->base + h->msg_start, head);
        memcpy(dst + head, h->base + h->parse_off, rest);
    }
    h->buf.len = total;
done:
    h->msg_start = 0;
    h->parse_off = head;
    h->base = h->buf.data;
    h->len = h->buf.len;
    /* A request under way keeps its field lines until the next run. */
    if (h->nheaders > 0 && !h->close_after &&
        (h->in_body || herd_framing_started(&h->framing)))
        return slices_own(h);
    return HERD_OK;
}

int
herd_http1_run(struct herd_http1 *h, time_t now)
{
    int flushed;

    h->oom = 0;
    for (;;) {
        process(h, now);
        flushed = h->hooks->flush(h->arg);
        if (flushed == HERD_OK)
            h->file_pending = 0; /* a queued file went out with the rest */
        if (flushed != HERD_OK || h->close_after || h->deferred ||
            h->switched || h->parse_off >= h->len)
            break;
        /* Stopped at the output high-water mark with input left. */
    }
    /* Closing with request bytes not read: the owner lingers so that
       they cause no reset that would destroy the response on its way. */
    if (h->close_after &&
        (h->parse_off < h->len || herd_framing_started(&h->framing)))
        h->linger = 1;
    if (flushed != HERD_ERR && save_input(h) != HERD_OK)
        h->oom = 1;
    if (h->oom)
        return HERD_ERR;
    return flushed;
}

int
herd_http1_timeout(struct herd_http1 *h, time_t now)
{
    enum herd_http1_state s = herd_http1_state(h);

    if (s != HERD_HTTP1_HEAD && s != HERD_HTTP1_BODY)
        return 0;
    fail(h, 408, now);
    return 1;
}

enum herd_http1_state
herd_http1_state(const struct herd_http1 *h)
{
    if (h->deferred)
        return HERD_HTTP1_DEFERRED;
    if (h->close_after)
        return HERD_HTTP1_CLOSING;
    if (h->in_body)
        return HERD_HTTP1_BODY;
    if (herd_framing_started(&h->framing) || h->buf.len > 0)
        return HERD_HTTP1_HEAD;
    return HERD_HTTP1_IDLE;
}

uint64_t
herd_http1_defer_wait_ms(const struct herd_http1 *h)
{
    return h->req != NULL ? herd_request_wait_ms(h->req) : 0;
}

void
herd_http1_defer_expired(struct herd_http1 *h)
{
    if (h->req != NULL)
        herd_request_expire(h->req);
}

uint64_t
herd_http1_body_bytes(const struct herd_http1 *h)
{
    return h->framing.body_wire;
}

int
herd_http1_holds_input(const struct herd_http1 *h)
{
    return h->buf.len > 0;
}

/* ---- the current request ---- */

const char *
herd_http1_method(const struct herd_http1 *h)
{
    return http_method_str((enum http_method)h->parser.method);
}

int
herd_http1_version(const struct herd_http1 *h)
{
    return h->parser.http_major * 10 + h->parser.http_minor;
}

const char *
herd_http1_target(const struct herd_http1 *h, size_t *len)
{
    *len = h->url.len;
    if (h->url.len == 0)
        return "";
    return h->base + h->msg_start + h->url.off;
}

size_t
herd_http1_nheaders(const struct herd_http1 *h)
{
    return h->nheaders;
}

void
herd_http1_header(const struct herd_http1 *h, size_t i, const char **name,
                  size_t *nlen, const char **value, size_t *vlen)
{
    const char *head = h->base + h->msg_start;

    *name = head + h->name[i].off;
    *nlen = h->name[i].len;
    *value = head + h->value[i].off;
    *vlen = h->value[i].len;
}
