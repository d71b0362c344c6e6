/*
 * filecache.h: small static files kept in memory, per worker and route.
 *
 * A static route answers a small file from memory rather than with
 * open, fstat, sendfile and close: the head and the bytes go out in one
 * send. Every use checks the file first (an fstatat of its path beneath
 * the route's root, and one of each directory on the way, none of which
 * may have become a symlink): the entry is used only while the path
 * still names the same inode with the same size, modification and change
 * times, so an edited, replaced or removed file is never answered from
 * memory.
 *
 * A file modified within the last HERD_FILECACHE_SETTLE_S seconds is not
 * kept: file times tick coarsely, so two writes within one tick could
 * leave the times unchanged; a file kept only once it has been quiet for
 * longer cannot change without its times changing.
 *
 * Entries sit in a direct-mapped table by request path: a newcomer
 * replaces the entry in its slot. The bytes kept never exceed the
 * cache's size.
 */
#ifndef HERD_FILECACHE_H
#define HERD_FILECACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define HERD_FILECACHE_SLOTS    256
#define HERD_FILECACHE_SETTLE_S 2
/* Longest request path (and path beneath the root) an entry keeps. */
#define HERD_FILECACHE_KEY_MAX 255

struct herd_filecache_entry {
    struct stat st;           /* the file as it was read */
    const char *content_type; /* static string */
    const char *path;         /* beneath the root, for fstatat */
    const char *data;         /* st.st_size bytes */
    size_t key_len;
    char key[]; /* the request path, then path, then data */
};

struct herd_filecache {
    size_t max_file; /* largest file kept */
    size_t size;     /* most bytes of files kept in all */
    size_t used;     /* bytes of files kept now */
    uint64_t hits, misses;
    struct herd_filecache_entry *slot[HERD_FILECACHE_SLOTS];
};

/* Start c, keeping files of at most max_file bytes, size bytes in all. */
void herd_filecache_init(struct herd_filecache *c, size_t max_file,
                         size_t size);

/* Free every entry. c may be initialised again. */
void herd_filecache_free(struct herd_filecache *c);

/*
 * The entry for request path key (len bytes), if it is kept and the file
 * at its path beneath rootfd is still the one it was read from; else
 * NULL (a stale entry is dropped). The entry stays valid until the next
 * call on c.
 */
const struct herd_filecache_entry *herd_filecache_get(struct herd_filecache *c,
                                                      int rootfd,
                                                      const char *key,
                                                      size_t len);

/*
 * Keep the file open at fd (st its fstat, path its path beneath the
 * root, content_type its type) for request path key, if it fits and
 * has settled (now is the time; see above). Reads it with pread. Returns
 * the new entry, or NULL when it is not kept (not an error: serve it
 * from fd as usual).
 */
const struct herd_filecache_entry *
herd_filecache_put(struct herd_filecache *c, const char *key, size_t len,
                   const char *path, int fd, const struct stat *st,
                   const char *content_type, time_t now);

#endif
