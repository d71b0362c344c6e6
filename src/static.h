/* static.h: the logic of the static file handler, without socket I/O. */
#ifndef HERD_STATIC_H
#define HERD_STATIC_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "common.h"

/* Flags for herd_static_open. */
#define HERD_STATIC_DOTFILES   0x1u /* serve names starting with '.' */
#define HERD_STATIC_GZIP       0x2u /* the client takes gzip: try "x.gz" */
#define HERD_STATIC_NO_OPENAT2 0x4u /* walk with openat(); for the tests */

enum herd_static_result {
    HERD_STATIC_FOUND = 0, /* out->fd is open: serve it */
    HERD_STATIC_NOT_FOUND, /* 404: absent, hidden, symlink, not regular */
    HERD_STATIC_BAD_PATH,  /* 400: "." or ".." segment, NUL, bad escape */
    HERD_STATIC_REDIRECT,  /* 301 to the request path plus '/' */
    HERD_STATIC_ERROR,     /* 500: the system failed (EMFILE, EIO...) */
};

/* What herd_static_open found. */
struct herd_static_file {
    int fd;                   /* -1 unless FOUND; the caller closes it */
    struct stat st;           /* fstat of fd: size, mtime for validators */
    const char *content_type; /* static string, from the original's name */
    int gzip;                 /* 1 when fd is the ".gz" beside the file */
    char path[256]; /* the original's path beneath the root; "" if longer */
};

/*
 * Open the file relpath[0..len) names below the directory rootfd (opened
 * by the caller with O_DIRECTORY, O_PATH is enough) so that nothing can
 * lead outside it.
 *
 * relpath is in the match form of herd_uri_decode_path, normally the
 * wildcard parameter of a "/prefix/..." route: "%25" is a '%' of a name,
 * "%2F" an encoded '/' that no file name can hold (NOT_FOUND), any other
 * '%' or a NUL is BAD_PATH, and so is a "." or ".." segment. Empty
 * segments, leading slashes included, are skipped: "a//b" is "a/b". A
 * path over 4095 bytes or a name over NAME_MAX is NOT_FOUND.
 *
 * Every component is checked before any system call: a name starting
 * with '.' is NOT_FOUND unless flags has HERD_STATIC_DOTFILES. Symbolic
 * links are refused wherever they are, even when they point inside the
 * root, so that both ways of opening agree: openat2(2) with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS where the
 * kernel has it (Linux 5.6+, see herd_static_have_openat2), else
 * (or with HERD_STATIC_NO_OPENAT2) a walk that opens each directory with
 * openat(O_PATH | O_DIRECTORY | O_NOFOLLOW) and the last name with
 * O_NOFOLLOW. Mount points inside the root are crossed in both.
 *
 * The file is opened O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC and
 * fstat'ed: a FIFO, socket or device is NOT_FOUND at once, never a wait.
 * A directory named with a trailing '/' (or the empty relpath, the root)
 * is served by its index file (index, a plain file name, or NULL for
 * none; the dotfile rule does not apply to it); without the '/', when
 * the index exists, the answer is REDIRECT, for relative links to work:
 * the caller sends 301 with Location: the request's path plus '/' (and
 * its query), taken from the raw target, not from the decoded form.
 * A directory without an index is NOT_FOUND: there are no listings.
 *
 * With HERD_STATIC_GZIP, once the file is found, "<file>.gz" beside it is
 * opened under the same rules and, when it is a regular file, served
 * instead: out->gzip is 1, out->st is the .gz's (its own validators and
 * length) and out->content_type stays the original's. The caller adds
 * Content-Encoding: gzip, and Vary: Accept-Encoding whenever gzip_static
 * is on.
 *
 * Returns FOUND with out filled; any other result leaves out->fd at -1.
 * err (may be NULL) gets the reason for every result but FOUND, for a
 * debug log (NOT_FOUND) or an error log (ERROR). No allocation.
 */
enum herd_static_result herd_static_open(int rootfd, const char *relpath,
                                         size_t len, const char *index,
                                         unsigned flags,
                                         struct herd_static_file *out,
                                         char *err, size_t errlen);

/*
 * Whether herd_static_open uses openat2 in this process: probed once, on
 * the first call of either, with openat2(AT_FDCWD, "/", O_PATH); any
 * failure (ENOSYS on Linux < 5.6, EPERM from a seccomp filter) means the
 * openat() walk from then on. For a startup log line.
 */
int herd_static_have_openat2(void);

/* Close f->fd if open and set it to -1. Accepts NULL. */
void herd_static_close(struct herd_static_file *f);

/* Whether index is usable as an index file name: no '/', not "." or "..". */
int herd_static_index_valid(const char *index);

/* Validators of one file, rendered once per response. */
struct herd_static_validators {
    char etag[40]; /* "\"<hex size>-<hex mtime ns>\"", strong */
    size_t etag_len;
    char last_modified[32]; /* IMF-fixdate of mtime, whole seconds */
    size_t last_modified_len;
    time_t mtime; /* whole seconds, as in last_modified */
};

/* Fill v from st (size and st_mtim). */
void herd_static_validators(const struct stat *st,
                            struct herd_static_validators *v);

/*
 * Write t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes)
 * into out, which has room for at least 30 (NUL-terminated). Times before
 * 1970 or after 9999 are clamped. Returns the length. Locale- and
 * TZ-independent; no allocation.
 */
size_t herd_static_format_date(time_t t, char *out, size_t cap);

/*
 * Parse the HTTP-date s[0..len) (optional surrounding blanks): the
 * IMF-fixdate, and the obsolete RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT")
 * and asctime ("Sun Nov  6 08:49:37 1994") forms that RFC 9110 5.6.7 asks
 * recipients to accept. A two-digit RFC 850 year is 19yy from 70 and
 * 20yy below. HERD_OK with *t set, or HERD_ERR for anything else,
 * including an impossible date (Feb 30) or time.
 */
int herd_static_parse_date(const char *s, size_t len, time_t *t);

/*
 * Evaluate If-None-Match and If-Modified-Since (RFC 9110 13.1.2, 13.1.3,
 * 13.2.2) for a GET or HEAD of a file with validators v. Each header is
 * (pointer, length); NULL means absent. If-None-Match ("*" or a list of
 * entity tags) uses the weak comparison: W/"x" matches "x". When it is
 * present, If-Modified-Since is ignored; a malformed list matches nothing.
 * If-Modified-Since is used only when it is a valid HTTP-date (else
 * ignored): the file is unmodified when its mtime in whole seconds is not
 * later than the date.
 * Returns 304 when the caller must answer 304 Not Modified, 0 to go on.
 */
int herd_static_conditional(const struct herd_static_validators *v,
                            const char *inm, size_t inm_len, const char *ims,
                            size_t ims_len);

/*
 * Evaluate If-Range (RFC 9110 13.1.5), given that the request has a Range:
 * returns 1 when the Range applies (If-Range absent (NULL), or it is a
 * strong entity tag equal to v->etag, or an HTTP-date equal to the mtime),
 * 0 when the Range must be ignored and the whole file sent (a weak tag,
 * another tag or date, anything malformed).
 */
int herd_static_if_range(const struct herd_static_validators *v,
                         const char *if_range, size_t len);

/*
 * Evaluate a Range header, range[0..len) (NULL: absent), for a file of
 * size bytes (RFC 9110 14.1, 14.2). Only one range of the "bytes" unit is
 * served:
 *   206: "bytes=a-b" (b clamped to size - 1), "bytes=a-", "bytes=-n" (the
 *        last n bytes, or all of them when n >= size); *start and *length
 *        are set (length >= 1), for Content-Range: bytes start-end/size.
 *   416: unsatisfiable: a >= size (so any "a-" of an empty file), or
 *        "-0"; the caller sends the unsatisfied form of Content-Range,
 *        "bytes" SP "*" "/" size (RFC 9110 14.4).
 *   200: serve the whole file: no header, another unit, a malformed one
 *        (b < a, junk), more than one range (no multipart/byteranges), or
 *        a suffix range of an empty file (206 cannot say "no bytes").
 * Numbers too big for off_t saturate. *start and *length are left alone
 * unless 206.
 */
int herd_static_range(const char *range, size_t len, off_t size, off_t *start,
                      off_t *length);

/*
 * Whether the Accept-Encoding value ae[0..len) accepts gzip (RFC 9110
 * 12.5.3): "gzip" or "x-gzip" with a q-value above 0, or, when neither is
 * named, "*" with a q-value above 0. "gzip;q=0" refuses it; a malformed
 * q-value counts as 0. NULL (no header) is 0: with no header, send the
 * file as it is.
 */
int herd_static_accepts_gzip(const char *ae, size_t len);

#endif
