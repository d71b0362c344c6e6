/* mime.h: the built-in table from file-name extension to Content-Type. */
#ifndef HERD_MIME_H
#define HERD_MIME_H

#include <stddef.h>

#include "common.h"

/* What herd_mime_type answers for a name it does not know. */
#define HERD_MIME_DEFAULT "application/octet-stream"

/*
 * The Content-Type for extension ext[0..len) (without the '.'), compared
 * without regard to ASCII case, or NULL when the table does not have it.
 * text/ types carry "; charset=utf-8". The string is static. Binary
 * search over a sorted table; no allocation.
 */
const char *herd_mime_by_ext(const char *ext, size_t len);

/*
 * The Content-Type for the file name or path name[0..len): the extension
 * is what follows the last '.' of the last '/'-separated component, unless
 * that '.' starts the component (".bashrc" has none). Returns
 * HERD_MIME_DEFAULT for no extension or an unknown one; never NULL.
 */
const char *herd_mime_type(const char *name, size_t len);

/*
 * Check the table: extensions lower-case, sorted, unique; every text/ type
 * with a charset. HERD_OK, or HERD_ERR with the first fault in err. For
 * the unit tests; the table is constant, so once is enough.
 */
int herd_mime_check(char *err, size_t errlen);

#endif
