/* static.c: the logic of the static file handler, without socket I/O. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif

#include "mime.h"
#include "static.h"
#include "util.h"

#if defined(SYS_openat2) && defined(RESOLVE_BENEATH)
#define HAVE_OPENAT2 1
#endif

#ifndef O_PATH
#define O_PATH O_RDONLY
#endif

/* Longest normalised relative path; the index and ".gz" fit beyond it. */
#define PATH_CAP 4096
#define PATH_BUF (PATH_CAP + NAME_MAX + 8)

#define OFF_MAX ((off_t)(((uintmax_t)1 << (sizeof(off_t) * CHAR_BIT - 1)) - 1))

/* Days from 0001-01-01 to 1970-01-01 in the proleptic Gregorian calendar. */
#define EPOCH_DAYS 719162

/* The last second of 9999, the last year an IMF-fixdate can write. */
#define MAX_DATE_TIME 253402300799LL

/* Flags every file is opened with: never block, never follow. */
#define OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW)

#ifdef HAVE_OPENAT2
/*
 * 0 until the first open, then 1 when openat2 works, -1 when the kernel
 * lacks it (ENOSYS) or a seccomp filter blocks it (EPERM in older
 * container runtimes): the answer holds for the life of the process.
 * Workers are single-threaded.
 */
static int openat2_state;
#endif

static const char wday_names[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                      "Thu", "Fri", "Sat"};
static const char *const wday_long[7] = {"Sunday",    "Monday",   "Tuesday",
                                         "Wednesday", "Thursday", "Friday",
                                         "Saturday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                        "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec"};
/* Days before each month, in common and leap years. */
static const int month_start[2][13] = {
    {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
    {0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
};

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* OWS: spaces and tabs. */
static int
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* tchar of RFC 9110 5.6.2. */
static int
is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Advance i past blanks in s[0..len). */
static size_t
skip_ows(const char *s, size_t len, size_t i)
{
    while (i < len && is_ows(s[i]))
        i++;
    return i;
}

/* Drop blanks at both ends of s[*i..*len). */
static void
trim(const char *s, size_t *i, size_t *len)
{
    *i = skip_ows(s, *len, *i);
    while (*len > *i && is_ows(s[*len - 1]))
        (*len)--;
}

/* ---- paths and opening ------------------------------------------------ */

int
herd_static_index_valid(const char *index)
{
    size_t n;

    if (index == NULL)
        return 0;
    n = strlen(index);
    return n > 0 && n <= NAME_MAX && strchr(index, '/') == NULL &&
           strcmp(index, ".") != 0 && strcmp(index, "..") != 0;
}

/*
 * Turn the match-form rel[0..len) into "a/b/c" in buf (NUL-terminated,
 * shorter than PATH_CAP): empty segments skipped, "%25" decoded, every
 * component checked. *dir_slash says whether rel named a directory with
 * its trailing '/' (the empty path does). Returns FOUND when buf is ready.
 */
static enum herd_static_result
normalise(const char *rel, size_t len, unsigned flags, char *buf,
          size_t *outlen, int *dir_slash, char *err, size_t errlen)
{
    size_t i = 0, o = 0, comp;
    int c;

    while (i < len) {
        if (rel[i] == '/') {
            i++;
            continue;
        }
        if (o > 0)
            buf[o++] = '/';
        comp = o;
        for (; i < len && rel[i] != '/'; o++) {
            c = (unsigned char)rel[i];
            if (c == '\0') {
                herd_errf(err, errlen, "NUL byte in path");
                return HERD_STATIC_BAD_PATH;
            }
            if (c == '%') {
                if (len - i < 3 || herd_hexval(rel[i + 1]) < 0 ||
                    herd_hexval(rel[i + 2]) < 0) {
                    herd_errf(err, errlen, "malformed %%-escape in path");
                    return HERD_STATIC_BAD_PATH;
                }
                c = herd_hexval(rel[i + 1]) * 16 + herd_hexval(rel[i + 2]);
                if (c == '/') {
                    herd_errf(err, errlen, "encoded '/' in a file name");
                    return HERD_STATIC_NOT_FOUND;
                }
                if (c != '%') {
                    herd_errf(err, errlen, "path is not in match form");
                    return HERD_STATIC_BAD_PATH;
                }
                i += 3;
            } else {
                i++;
            }
            if (o + 1 >= PATH_CAP) {
                herd_errf(err, errlen, "path longer than %d bytes", PATH_CAP);
                return HERD_STATIC_NOT_FOUND;
            }
            buf[o] = (char)c;
        }
        if ((o - comp == 1 && buf[comp] == '.') ||
            (o - comp == 2 && buf[comp] == '.' && buf[comp + 1] == '.')) {
            herd_errf(err, errlen, "dot segment in path");
            return HERD_STATIC_BAD_PATH;
        }
        if (o - comp > NAME_MAX) {
            herd_errf(err, errlen, "file name longer than %d bytes", NAME_MAX);
            return HERD_STATIC_NOT_FOUND;
        }
        if (buf[comp] == '.' && !(flags & HERD_STATIC_DOTFILES)) {
            herd_errf(err, errlen, "dotfile \"%.*s\" hidden", (int)(o - comp),
                      buf + comp);
            return HERD_STATIC_NOT_FOUND;
        }
    }
    buf[o] = '\0';
    *outlen = o;
    *dir_slash = len == 0 || rel[len - 1] == '/';
    return HERD_STATIC_FOUND;
}

/*
 * Open path ("a/b/c": no empty, "." or ".." component) below dirfd one
 * directory at a time, refusing symbolic links at every step.
 */
static int
walk_open(int dirfd, char *path, int oflags)
{
    char *name = path, *slash;
    int cur = dirfd, next, fd, saved;

    while ((slash = strchr(name, '/')) != NULL) {
        *slash = '\0';
        next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        *slash = '/';
        saved = errno;
        if (cur != dirfd)
            close(cur);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        cur = next;
        name = slash + 1;
    }
    fd = openat(cur, name, oflags);
    saved = errno;
    if (cur != dirfd)
        close(cur);
    errno = saved;
    return fd;
}

#ifdef HAVE_OPENAT2
/* Whether openat2 can be used: probed once with a harmless open of "/". */
static int
openat2_usable(void)
{
    struct open_how how;
    int fd, saved = errno;

    if (openat2_state == 0) {
        memset(&how, 0, sizeof(how));
        how.flags = O_PATH | O_CLOEXEC;
        fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
        openat2_state = fd >= 0 ? 1 : -1;
        if (fd >= 0)
            close(fd);
        errno = saved;
    }
    return openat2_state > 0;
}
#endif

int
herd_static_have_openat2(void)
{
#ifdef HAVE_OPENAT2
    return openat2_usable();
#else
    return 0;
#endif
}

/*
 * Open path below dirfd with oflags: openat2 confined to dirfd where the
 * kernel has it, else the walk. Returns the fd, or -1 with errno set.
 */
static int
open_beneath(int dirfd, char *path, int oflags, unsigned flags)
{
#ifdef HAVE_OPENAT2
    struct open_how how;
    int fd, tries;

    if (!(flags & HERD_STATIC_NO_OPENAT2) && openat2_usable()) {
        memset(&how, 0, sizeof(how));
        how.flags = (uint64_t)oflags;
        how.resolve =
            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        /* EAGAIN: a concurrent rename or mount; worth a few retries. */
        for (tries = 0;; tries++) {
            fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
            if (fd >= 0 || errno != EAGAIN || tries == 3)
                return fd;
        }
    }
#else
    (void)flags;
#endif
    return walk_open(dirfd, path, oflags);
}

/* Classify a failed open of path: hidden (NOT_FOUND) or a system fault. */
static enum herd_static_result
open_failed(int e, const char *path, char *err, size_t errlen)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case EACCES:
    case EPERM:
    case ENXIO:
    case ENODEV:
    case EBUSY:
    case EAGAIN:
    case EXDEV:
    case EISDIR:
    case ENAMETOOLONG:
    case EOVERFLOW:
    case EOPNOTSUPP:
        herd_errf(err, errlen, "\"%s\": %s", path, strerror(e));
        return HERD_STATIC_NOT_FOUND;
    default:
        herd_errf(err, errlen, "open(\"%s\") failed (errno: %s)", path,
                  strerror(e));
        return HERD_STATIC_ERROR;
    }
}

/* Append s to buf[0..*len); 0 when it would not fit in cap. */
static int
append(char *buf, size_t *len, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (*len + n + 1 > cap)
        return 0;
    memcpy(buf + *len, s, n + 1);
    *len += n;
    return 1;
}

/*
 * The directory fd was opened without its trailing '/': REDIRECT when it
 * has a regular index file, else NOT_FOUND. Closes nothing.
 */
static enum herd_static_result
dir_without_slash(int fd, const char *path, const char *index, unsigned flags,
                  char *err, size_t errlen)
{
    char name[NAME_MAX + 1];
    struct stat st;
    enum herd_static_result res;
    int ifd;

    if (!herd_static_index_valid(index)) {
        herd_errf(err, errlen, "\"%s\" is a directory and there is no index",
                  path);
        return HERD_STATIC_NOT_FOUND;
    }
    memcpy(name, index, strlen(index) + 1);
    ifd = open_beneath(fd, name, OPEN_FLAGS, flags);
    if (ifd < 0)
        return open_failed(errno, index, err, errlen);
    res = HERD_STATIC_REDIRECT;
    if (fstat(ifd, &st) < 0) {
        herd_errf(err, errlen, "fstat(\"%s/%s\") failed (errno: %s)", path,
                  index, strerror(errno));
        res = HERD_STATIC_ERROR;
    } else if (!S_ISREG(st.st_mode)) {
        herd_errf(err, errlen, "\"%s/%s\" is not a regular file", path, index);
        res = HERD_STATIC_NOT_FOUND;
    } else {
        herd_errf(err, errlen, "\"%s\" is a directory: add a '/'", path);
    }
    close(ifd);
    return res;
}

/*
 * With the file open, try "<path>.gz" under the same rules; on success,
 * swap it into out. Any failure keeps the original.
 */
static void
try_gzip(int rootfd, char *path, size_t len, unsigned flags,
         struct herd_static_file *out)
{
    struct stat st;
    int fd;

    if (!append(path, &len, PATH_BUF, ".gz"))
        return;
    fd = open_beneath(rootfd, path, OPEN_FLAGS, flags);
    if (fd < 0)
        return;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    close(out->fd);
    out->fd = fd;
    out->st = st;
    out->gzip = 1;
}

enum herd_static_result
herd_static_open(int rootfd, const char *relpath, size_t len, const char *index,
                 unsigned flags, struct herd_static_file *out, char *err,
                 size_t errlen)
{
    char path[PATH_BUF];
    enum herd_static_result res;
    struct stat st;
    size_t plen;
    int dir_slash, fd = -1;

    out->fd = -1;
    out->gzip = 0;
    out->content_type = NULL;
    out->path[0] = '\0';
    res = normalise(relpath, len, flags, path, &plen, &dir_slash, err, errlen);
    if (res != HERD_STATIC_FOUND)
        return res;
    if (dir_slash) {
        if (!herd_static_index_valid(index)) {
            herd_errf(err, errlen,
                      "\"%s/\" is a directory and there is no index", path);
            return HERD_STATIC_NOT_FOUND;
        }
        if ((plen > 0 && !append(path, &plen, sizeof(path), "/")) ||
            !append(path, &plen, sizeof(path), index)) {
            herd_errf(err, errlen, "path too long");
            return HERD_STATIC_NOT_FOUND;
        }
    }
    fd = open_beneath(rootfd, path, OPEN_FLAGS, flags);
    if (fd < 0)
        return open_failed(errno, path, err, errlen);
    if (fstat(fd, &st) < 0) {
        herd_errf(err, errlen, "fstat(\"%s\") failed (errno: %s)", path,
                  strerror(errno));
        res = HERD_STATIC_ERROR;
        goto fail;
    }
    if (S_ISDIR(st.st_mode) && !dir_slash) {
        res = dir_without_slash(fd, path, index, flags, err, errlen);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        herd_errf(err, errlen, "\"%s\" is not a regular file", path);
        res = HERD_STATIC_NOT_FOUND;
        goto fail;
    }
    out->fd = fd;
    out->st = st;
    out->content_type = herd_mime_type(path, plen);
    if (plen < sizeof(out->path))
        memcpy(out->path, path, plen + 1);
    if (flags & HERD_STATIC_GZIP)
        try_gzip(rootfd, path, plen, flags, out);
    return HERD_STATIC_FOUND;

fail:
    close(fd);
    return res;
}

void
herd_static_close(struct herd_static_file *f)
{
    if (f == NULL || f->fd < 0)
        return;
    close(f->fd);
    f->fd = -1;
}

/* ---- dates ------------------------------------------------------------ */

static int
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 0001-01-01 to January 1st of year y (y >= 1). */
static int64_t
days_before_year(int64_t y)
{
    y -= 1;
    return 365 * y + y / 4 - y / 100 + y / 400;
}

size_t
herd_static_format_date(time_t t, char *out, size_t cap)
{
    int64_t secs = (int64_t)t, days, y;
    int leap, mon, sod;

    if (secs < 0)
        secs = 0;
    if (secs > MAX_DATE_TIME)
        secs = MAX_DATE_TIME;
    days = secs / 86400 + EPOCH_DAYS;
    sod = (int)(secs % 86400);
    y = days * 400 / 146097 + 1;
    while (days_before_year(y) > days)
        y--;
    while (days_before_year(y + 1) <= days)
        y++;
    days -= days_before_year(y);
    leap = is_leap(y);
    for (mon = 0; month_start[leap][mon + 1] <= days; mon++)
        ;
    return (size_t)snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                            wday_names[(secs / 86400 + 4) % 7],
                            (int)(days - month_start[leap][mon]) + 1,
                            month_names[mon], (int)y, sod / 3600, sod / 60 % 60,
                            sod % 60);
}

/* n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
    int v = 0;

    for (; n > 0; n--, s++) {
        if (!is_digit(*s))
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* The month whose name is at s (3 bytes), 0-11, or -1. */
static int
month_at(const char *s)
{
    int m;

    for (m = 0; m < 12; m++)
        if (memcmp(s, month_names[m], 3) == 0)
            return m;
    return -1;
}

/* Whether s[0..3) is a short day name. */
static int
is_wday(const char *s)
{
    int d;

    for (d = 0; d < 7; d++)
        if (memcmp(s, wday_names[d], 3) == 0)
            return 1;
    return 0;
}

/* Parse "HH:MM:SS" at s into seconds of the day, or -1. */
static int
time_of_day(const char *s)
{
    int h = digits(s, 2), m = digits(s + 3, 2), sec = digits(s + 6, 2);

    if (h < 0 || m < 0 || sec < 0 || s[2] != ':' || s[5] != ':' || h > 23 ||
        m > 59 || sec > 60)
        return -1;
    return h * 3600 + m * 60 + sec;
}

/* Assemble a date; HERD_ERR for a day the month does not have. */
static int
make_time(int y, int mon, int day, int sod, time_t *t)
{
    int leap;

    if (y < 1 || mon < 0 || day < 1 || sod < 0)
        return HERD_ERR;
    leap = is_leap(y);
    if (day > month_start[leap][mon + 1] - month_start[leap][mon])
        return HERD_ERR;
    *t = (time_t)((days_before_year(y) + month_start[leap][mon] + day - 1 -
                   EPOCH_DAYS) *
                      86400 +
                  sod);
    return HERD_OK;
}

int
herd_static_parse_date(const char *s, size_t len, time_t *t)
{
    size_t i = 0, k, n;
    int d, y;

    if (s == NULL)
        return HERD_ERR;
    trim(s, &i, &len);
    s += i;
    len -= i;
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (len == 29 && is_wday(s) && memcmp(s + 3, ", ", 2) == 0 && s[7] == ' ' &&
        s[11] == ' ' && s[16] == ' ' && memcmp(s + 25, " GMT", 4) == 0)
        return make_time(digits(s + 12, 4), month_at(s + 8), digits(s + 5, 2),
                         time_of_day(s + 17), t);
    /* asctime: "Sun Nov  6 08:49:37 1994" */
    if (len == 24 && is_wday(s) && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' &&
        s[19] == ' ') {
        d = s[8] == ' ' ? digits(s + 9, 1) : digits(s + 8, 2);
        return make_time(digits(s + 20, 4), month_at(s + 4), d,
                         time_of_day(s + 11), t);
    }
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
    for (d = 0; d < 7; d++) {
        k = strlen(wday_long[d]);
        if (len > k && memcmp(s, wday_long[d], k) == 0)
            break;
    }
    if (d == 7)
        return HERD_ERR;
    s += k;
    n = len - k;
    if (n != 24 || memcmp(s, ", ", 2) != 0 || s[4] != '-' || s[8] != '-' ||
        s[11] != ' ' || memcmp(s + 20, " GMT", 4) != 0)
        return HERD_ERR;
    y = digits(s + 9, 2);
    if (y < 0)
        return HERD_ERR;
    y += y >= 70 ? 1900 : 2000;
    return make_time(y, month_at(s + 5), digits(s + 2, 2), time_of_day(s + 12),
                     t);
}

/* ---- validators and conditionals -------------------------------------- */

/* Write v in lower-case hex at out; returns the number of digits. */
static size_t
put_hex(char *out, uint64_t v)
{
    char tmp[16];
    size_t n = 0, i;

    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

void
herd_static_validators(const struct stat *st, struct herd_static_validators *v)
{
    uint64_t ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u +
                  (uint64_t)st->st_mtim.tv_nsec;
    size_t n = 0;

    v->etag[n++] = '"';
    n += put_hex(v->etag + n, (uint64_t)st->st_size);
    v->etag[n++] = '-';
    n += put_hex(v->etag + n, ns);
    v->etag[n++] = '"';
    v->etag[n] = '\0';
    v->etag_len = n;
    v->mtime = st->st_mtim.tv_sec;
    v->last_modified_len = herd_static_format_date(v->mtime, v->last_modified,
                                                   sizeof(v->last_modified));
}

/* etagc of RFC 9110 8.8.3: anything visible but '"', and obs-text. */
static int
is_etagc(char c)
{
    unsigned char u = (unsigned char)c;

    return u == 0x21 || (u >= 0x23 && u != 0x7f);
}

/*
 * Parse the entity tag at s[*i..len): [W/]"...". On success returns 1,
 * sets *tag and *tag_len to the quoted part and *weak, and moves *i past it.
 */
static int
parse_etag(const char *s, size_t len, size_t *i, const char **tag,
           size_t *tag_len, int *weak)
{
    size_t k = *i;

    *weak = 0;
    if (len - k >= 2 && s[k] == 'W' && s[k + 1] == '/') {
        *weak = 1;
        k += 2;
    }
    if (k >= len || s[k] != '"')
        return 0;
    *tag = s + k;
    for (k++; k < len && is_etagc(s[k]); k++)
        ;
    if (k >= len || s[k] != '"')
        return 0;
    k++;
    *tag_len = (size_t)(s + k - *tag);
    *i = k;
    return 1;
}

/* Whether the If-None-Match value s[0..len) matches v (weak comparison). */
static int
none_match(const struct herd_static_validators *v, const char *s, size_t len)
{
    const char *tag;
    size_t i = 0, tag_len;
    int weak;

    trim(s, &i, &len);
    if (len - i == 1 && s[i] == '*')
        return 1;
    for (;;) {
        while (i < len && (is_ows(s[i]) || s[i] == ','))
            i++;
        if (i == len)
            return 0;
        if (!parse_etag(s, len, &i, &tag, &tag_len, &weak))
            return 0;
        if (tag_len == v->etag_len && memcmp(tag, v->etag, tag_len) == 0)
            return 1;
        i = skip_ows(s, len, i);
        if (i < len && s[i] != ',')
            return 0;
    }
}

int
herd_static_conditional(const struct herd_static_validators *v, const char *inm,
                        size_t inm_len, const char *ims, size_t ims_len)
{
    time_t t;

    if (inm != NULL)
        return none_match(v, inm, inm_len) ? 304 : 0;
    if (ims != NULL && herd_static_parse_date(ims, ims_len, &t) == HERD_OK &&
        v->mtime <= t)
        return 304;
    return 0;
}

int
herd_static_if_range(const struct herd_static_validators *v,
                     const char *if_range, size_t len)
{
    const char *tag;
    size_t i = 0, tag_len;
    time_t t;
    int weak;

    if (if_range == NULL)
        return 1;
    trim(if_range, &i, &len);
    if (i < len && (if_range[i] == '"' ||
                    (len - i >= 2 && memcmp(if_range + i, "W/", 2) == 0))) {
        if (!parse_etag(if_range, len, &i, &tag, &tag_len, &weak) || i != len ||
            weak)
            return 0;
        return tag_len == v->etag_len && memcmp(tag, v->etag, tag_len) == 0;
    }
    if (herd_static_parse_date(if_range + i, len - i, &t) != HERD_OK)
        return 0;
    return t == v->mtime;
}

/* ---- ranges ----------------------------------------------------------- */

/* Read decimal digits at s[*i..len) into *v, saturating; returns count. */
static size_t
parse_off(const char *s, size_t len, size_t *i, off_t *v)
{
    size_t start = *i;
    off_t x = 0;
    int d;

    for (; *i < len && is_digit(s[*i]); (*i)++) {
        d = s[*i] - '0';
        x = x > (OFF_MAX - d) / 10 ? OFF_MAX : x * 10 + d;
    }
    *v = x;
    return *i - start;
}

int
herd_static_range(const char *range, size_t len, off_t size, off_t *start,
                  off_t *length)
{
    size_t i = 0, es = 0, ee = 0, elems = 0, k, s, e, na, nb;
    const char *comma;
    off_t a, b;

    if (range == NULL)
        return 200;
    trim(range, &i, &len);
    if (len - i < 6 || strncasecmp(range + i, "bytes=", 6) != 0)
        return 200;
    /* Find the one non-empty element of the range-set. */
    for (i += 6; i < len; i = k + 1) {
        comma = memchr(range + i, ',', len - i);
        k = comma != NULL ? (size_t)(comma - range) : len;
        s = i;
        e = k;
        trim(range, &s, &e);
        if (s == e)
            continue;
        if (++elems > 1)
            return 200;
        es = s;
        ee = e;
    }
    if (elems == 0)
        return 200;
    i = es;
    na = parse_off(range, ee, &i, &a);
    if (i >= ee || range[i] != '-')
        return 200;
    i++;
    nb = parse_off(range, ee, &i, &b);
    if (i != ee || (na == 0 && nb == 0))
        return 200;
    if (na == 0) {
        /* "-n": the last n bytes. */
        if (b == 0)
            return 416;
        if (size == 0)
            return 200;
        *start = b >= size ? 0 : size - b;
        *length = size - *start;
        return 206;
    }
    if (nb > 0 && b < a)
        return 200;
    if (a >= size)
        return 416;
    if (nb == 0 || b > size - 1)
        b = size - 1;
    *start = a;
    *length = b - a + 1;
    return 206;
}

/* ---- Accept-Encoding -------------------------------------------------- */

/*
 * Parse a qvalue at s[*i..len) into thousandths ("0", "0.5", "1.000").
 * Returns -1 when malformed; *i is moved past what was read.
 */
static int
parse_qvalue(const char *s, size_t len, size_t *i)
{
    int q, scale = 100, n = 0;

    if (*i >= len || (s[*i] != '0' && s[*i] != '1'))
        return -1;
    q = (s[(*i)++] - '0') * 1000;
    if (*i < len && s[*i] == '.') {
        for ((*i)++; *i < len && is_digit(s[*i]); (*i)++, n++) {
            if (n == 3)
                return -1;
            q += (s[*i] - '0') * scale;
            scale /= 10;
        }
    }
    return q > 1000 ? -1 : q;
}

/* Move *i past a token or a quoted-string; 0 when neither is there. */
static int
skip_value(const char *s, size_t len, size_t *i)
{
    size_t start = *i;

    if (*i < len && s[*i] == '"') {
        for ((*i)++; *i < len && s[*i] != '"'; (*i)++)
            if (s[*i] == '\\')
                (*i)++;
        if (*i >= len)
            return 0;
        (*i)++;
        return 1;
    }
    while (*i < len && is_tchar(s[*i]))
        (*i)++;
    return *i > start;
}

int
herd_static_accepts_gzip(const char *ae, size_t len)
{
    size_t i = 0, tok, tok_len, name, nlen;
    int gzip_q = -1, star_q = -1, q, ok;

    if (ae == NULL)
        return 0;
    while (i < len) {
        while (i < len && (is_ows(ae[i]) || ae[i] == ','))
            i++;
        if (i == len)
            break;
        for (tok = i; i < len && is_tchar(ae[i]); i++)
            ;
        tok_len = i - tok;
        q = 1000;
        ok = tok_len > 0;
        for (;;) {
            i = skip_ows(ae, len, i);
            if (!ok || i >= len || ae[i] != ';')
                break;
            i = skip_ows(ae, len, i + 1);
            /* An empty parameter ("gzip;") is allowed. */
            if (i >= len || ae[i] == ';' || ae[i] == ',')
                continue;
            for (name = i; i < len && is_tchar(ae[i]); i++)
                ;
            if (i == name || i >= len || ae[i] != '=') {
                ok = 0;
                break;
            }
            nlen = i++ - name;
            if (nlen == 1 && (ae[name] == 'q' || ae[name] == 'Q')) {
                q = parse_qvalue(ae, len, &i);
                if (q < 0 || (i < len && !is_ows(ae[i]) && ae[i] != ';' &&
                              ae[i] != ',')) {
                    /* A bad weight: count the coding as refused. */
                    q = 0;
                    while (i < len && !is_ows(ae[i]) && ae[i] != ';' &&
                           ae[i] != ',')
                        i++;
                }
            } else if (!skip_value(ae, len, &i)) {
                ok = 0;
            }
        }
        if (ok && i < len && ae[i] != ',')
            ok = 0;
        if (!ok) {
            /* Skip the rest of a malformed element. */
            while (i < len && ae[i] != ',')
                i++;
            continue;
        }
        if ((tok_len == 4 && strncasecmp(ae + tok, "gzip", 4) == 0) ||
            (tok_len == 6 && strncasecmp(ae + tok, "x-gzip", 6) == 0)) {
            if (q > gzip_q)
                gzip_q = q;
        } else if (tok_len == 1 && ae[tok] == '*') {
            if (q > star_q)
                star_q = q;
        }
    }
    if (gzip_q >= 0)
        return gzip_q > 0;
    return star_q > 0;
}
