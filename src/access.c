/* access.c: the access log: one line per request, buffered per worker. */
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char hex[] = "0123456789abcdef";
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Append s[0..len) escaped for a quoted combined field, or "-" when s is
   NULL or empty. */
static int
put_combined(struct herd_buf *out, const char *s, size_t len)
{
    char *p;
    size_t i;

    if (s == NULL || len == 0)
        return herd_buf_append(out, "-", 1);
    if (herd_buf_reserve(out, len * 4) != HERD_OK)
        return HERD_ERR;
    p = out->data + out->len;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        } else {
            *p++ = (char)ch;
        }
    }
    out->len = (size_t)(p - out->data);
    return HERD_OK;
}

int
herd_json_field(struct herd_buf *out, const char *name, const char *s,
                size_t len)
{
    char *p;
    size_t i;

    if (herd_buf_reserve(out, strlen(name) + 6 + len * 6) != HERD_OK)
        return HERD_ERR;
    p = out->data + out->len;
    p += sprintf(p, ",\"%s\":", name);
    if (s == NULL) {
        memcpy(p, "null", 4);
        out->len = (size_t)(p + 4 - out->data);
        return HERD_OK;
    }
    *p++ = '"';
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            *p++ = '\\';
            *p++ = (char)ch;
        } else if (ch < 0x20 || ch > 0x7e) {
            memcpy(p, "\\u00", 4);
            p += 4;
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        } else {
            *p++ = (char)ch;
        }
    }
    *p++ = '"';
    out->len = (size_t)(p - out->data);
    return HERD_OK;
}

static int
put_text(struct herd_buf *out, const char *s)
{
    return herd_buf_append(out, s, strlen(s));
}

static const char *
version_text(int version)
{
    return version == 10 ? "HTTP/1.0" : version == 11 ? "HTTP/1.1" : NULL;
}

static int
format_combined(struct herd_buf *out, const struct herd_access_entry *e,
                const struct tm *tm)
{
    const char *version = version_text(e->version);
    char line[160];
    int n;

    if (put_combined(out, e->client, strlen(e->client)) != HERD_OK)
        return HERD_ERR;
    n = snprintf(line, sizeof(line),
                 " - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm->tm_mday,
                 months[tm->tm_mon], tm->tm_year + 1900, tm->tm_hour,
                 tm->tm_min, tm->tm_sec);
    if (herd_buf_append(out, line, (size_t)n) != HERD_OK ||
        put_combined(out, e->method, strlen(e->method)) != HERD_OK ||
        put_text(out, " ") != HERD_OK ||
        put_combined(out, e->target, e->target_len) != HERD_OK ||
        put_text(out, " ") != HERD_OK ||
        put_text(out, version ? version : "-") != HERD_OK)
        return HERD_ERR;
    n = snprintf(line, sizeof(line), "\" %d %" PRIu64 " \"", e->status,
                 e->bytes);
    if (herd_buf_append(out, line, (size_t)n) != HERD_OK ||
        put_combined(out, e->referer, e->referer_len) != HERD_OK ||
        put_text(out, "\" \"") != HERD_OK ||
        put_combined(out, e->ua, e->ua_len) != HERD_OK ||
        put_text(out, "\" id=") != HERD_OK ||
        put_combined(out, e->id, e->idlen) != HERD_OK)
        return HERD_ERR;
    n = snprintf(line, sizeof(line), " us=%" PRIu64 " slot=%d\n",
                 e->duration_us, e->slot);
    return herd_buf_append(out, line, (size_t)n);
}

static int
format_json(struct herd_buf *out, const struct herd_access_entry *e,
            const struct tm *tm)
{
    const char *version = version_text(e->version);
    char line[160];
    int n;

    n = snprintf(line, sizeof(line),
                 "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
                 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour,
                 tm->tm_min, tm->tm_sec, (int)(e->when.tv_usec / 1000));
    if (herd_buf_append(out, line, (size_t)n) != HERD_OK ||
        herd_json_field(out, "client", e->client, strlen(e->client)) !=
            HERD_OK ||
        herd_json_field(out, "id", e->id, e->idlen) != HERD_OK ||
        herd_json_field(out, "method", e->method, strlen(e->method)) !=
            HERD_OK ||
        herd_json_field(out, "scheme", e->scheme,
                        e->scheme ? strlen(e->scheme) : 0) != HERD_OK ||
        herd_json_field(out, "target", e->target_len ? e->target : NULL,
                        e->target_len) != HERD_OK ||
        herd_json_field(out, "version", version,
                        version ? strlen(version) : 0) != HERD_OK)
        return HERD_ERR;
    n = snprintf(line, sizeof(line),
                 ",\"status\":%d,\"bytes\":%" PRIu64
                 ",\"duration_us\":%" PRIu64,
                 e->status, e->bytes, e->duration_us);
    if (herd_buf_append(out, line, (size_t)n) != HERD_OK ||
        herd_json_field(out, "user_agent", e->ua_len ? e->ua : NULL,
                        e->ua_len) != HERD_OK ||
        herd_json_field(out, "referer", e->referer_len ? e->referer : NULL,
                        e->referer_len) != HERD_OK)
        return HERD_ERR;
    n = snprintf(line, sizeof(line), ",\"slot\":%d}\n", e->slot);
    return herd_buf_append(out, line, (size_t)n);
}

int
herd_access_format(struct herd_buf *out, enum herd_access_fmt fmt,
                   const struct herd_access_entry *e)
{
    size_t keep = out->len;
    time_t t = e->when.tv_sec;
    struct tm tm;
    int rc;

    gmtime_r(&t, &tm);
    if (fmt == HERD_ACCESS_JSON)
        rc = format_json(out, e, &tm);
    else
        rc = format_combined(out, e, &tm);
    if (rc != HERD_OK)
        out->len = keep;
    return rc;
}

/* ---- the log ---- */

static int
open_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0)
        snprintf(err, errlen, "open(\"%s\") failed (%d: %s)", path, errno,
                 strerror(errno));
    return fd;
}

int
herd_access_open(struct herd_access_log *l, const char *spec,
                 enum herd_access_fmt fmt, char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->fmt = fmt;
    if (spec == NULL || strcmp(spec, "off") == 0)
        return HERD_OK;
    if (strcmp(spec, "stderr") == 0) {
        l->fd = STDERR_FILENO;
        return HERD_OK;
    }
    if (strlen(spec) >= sizeof(l->path)) {
        snprintf(err, errlen, "access log path too long");
        return HERD_ERR;
    }
    l->fd = open_file(spec, err, errlen);
    if (l->fd < 0)
        return HERD_ERR;
    l->own_fd = 1;
    strcpy(l->path, spec);
    return HERD_OK;
}

int
herd_access_on(const struct herd_access_log *l)
{
    return l->fd >= 0;
}

int
herd_access_add(struct herd_access_log *l, const struct herd_access_entry *e)
{
    if (l->fd < 0)
        return 0;
    if (herd_access_format(&l->buf, l->fmt, e) != HERD_OK)
        l->dropped++; /* out of memory: this line is lost */
    return l->buf.len >= HERD_ACCESS_FLUSH_BYTES;
}

int
herd_access_pending(const struct herd_access_log *l)
{
    return l->buf.len > 0;
}

int
herd_access_flush(struct herd_access_log *l)
{
    const char *p = l->buf.data, *end = p + l->buf.len, *cut;
    size_t n;
    ssize_t w;
    int rc = HERD_OK;

    while (p < end && l->fd >= 0) {
        /* Up to PIPE_BUF bytes of whole lines; one longer line alone. */
        n = (size_t)(end - p) < PIPE_BUF ? (size_t)(end - p) : PIPE_BUF;
        cut = memrchr(p, '\n', n);
        if (cut == NULL)
            cut = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)(cut - p) + 1;
        do {
            w = write(l->fd, p, n);
        } while (w < 0 && errno == EINTR);
        if (w != (ssize_t)n) {
            l->dropped++; /* the rest of the buffer is lost */
            if (w >= 0)
                errno = ENOSPC; /* a short write: no room for the rest */
            rc = HERD_ERR;
            break;
        }
        p += n;
    }
    l->buf.len = 0;
    return rc;
}

int
herd_access_reopen(struct herd_access_log *l, char *err, size_t errlen)
{
    int fd;

    herd_access_flush(l);
    if (!l->own_fd)
        return HERD_OK;
    fd = open_file(l->path, err, errlen);
    if (fd < 0)
        return HERD_ERR;
    close(l->fd);
    l->fd = fd;
    return HERD_OK;
}

void
herd_access_close(struct herd_access_log *l)
{
    if (l->fd >= 0)
        herd_access_flush(l);
    if (l->own_fd && l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->own_fd = 0;
    herd_buf_free(&l->buf);
}

int
herd_access_prepare(const char *spec, uid_t uid, char *err, size_t errlen)
{
    int fd, rc = HERD_OK;

    if (spec == NULL || strcmp(spec, "off") == 0 || strcmp(spec, "stderr") == 0)
        return HERD_OK;
    fd = open_file(spec, err, errlen);
    if (fd < 0)
        return HERD_ERR;
    if (uid != (uid_t)-1 && fchown(fd, uid, (gid_t)-1) < 0) {
        snprintf(err, errlen, "chown(\"%s\") failed (%d: %s)", spec, errno,
                 strerror(errno));
        rc = HERD_ERR;
    }
    close(fd);
    return rc;
}
