/* filecache.c: small static files kept in memory (filecache.h says how). */
#include "filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
herd_filecache_init(struct herd_filecache *c, size_t max_file, size_t size)
{
    memset(c, 0, sizeof(*c));
    c->max_file = max_file < size ? max_file : size;
    c->size = size;
}

static void
drop(struct herd_filecache *c, size_t i)
{
    if (c->slot[i] == NULL)
        return;
    c->used -= (size_t)c->slot[i]->st.st_size;
    free(c->slot[i]);
    c->slot[i] = NULL;
}

void
herd_filecache_free(struct herd_filecache *c)
{
    size_t i;

    for (i = 0; i < HERD_FILECACHE_SLOTS; i++)
        drop(c, i);
}

/* FNV-1a of the request path, folded onto the slots. */
static size_t
slot_of(const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return (h ^ (h >> 16)) % HERD_FILECACHE_SLOTS;
}

/* Whether a and b describe the same file, unchanged. */
static int
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && S_ISREG(b->st_mode) &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Whether every directory on path (all of it but the last name) is still
 * a directory, not a symlink. herd_static_open refuses a symlink anywhere
 * on the path, but fstatat follows those before the last name: a
 * directory renamed and a symlink to it put in its place would still
 * lead to the same file, unchanged. path is normalised ("a/b/c").
 */
static int
dirs_plain(int rootfd, const char *path)
{
    char dir[HERD_FILECACHE_KEY_MAX + 1];
    const char *slash;
    struct stat st;
    size_t n;

    for (slash = strchr(path, '/'); slash != NULL;
         slash = strchr(slash + 1, '/')) {
        n = (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
        if (fstatat(rootfd, dir, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(st.st_mode))
            return 0;
    }
    return 1;
}

const struct herd_filecache_entry *
herd_filecache_get(struct herd_filecache *c, int rootfd, const char *key,
                   size_t len)
{
    size_t i;
    struct herd_filecache_entry *e;
    struct stat st;

    if (c->size == 0)
        return NULL;
    i = slot_of(key, len);
    e = c->slot[i];
    if (e == NULL || e->key_len != len || memcmp(e->key, key, len) != 0) {
        c->misses++;
        return NULL;
    }
    /* The path was checked to stay beneath the root when the file was
       opened; a symlink or a directory swapped in for its last name
       cannot lead to the same inode with the same times, and the
       directories before it are checked one by one. */
    if (!dirs_plain(rootfd, e->path) ||
        fstatat(rootfd, e->path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !same_file(&e->st, &st)) {
        drop(c, i);
        c->misses++;
        return NULL;
    }
    c->hits++;
    return e;
}

const struct herd_filecache_entry *
herd_filecache_put(struct herd_filecache *c, const char *key, size_t len,
                   const char *path, int fd, const struct stat *st,
                   const char *content_type, time_t now)
{
    struct herd_filecache_entry *e;
    size_t i, plen = strlen(path), size, got = 0;
    ssize_t n;
    char *data;

    if (c->size == 0 || !S_ISREG(st->st_mode) || st->st_size < 0 ||
        (uint64_t)st->st_size > c->max_file || len > HERD_FILECACHE_KEY_MAX ||
        plen > HERD_FILECACHE_KEY_MAX || plen == 0)
        return NULL;
    /* Not settled: a change within the same tick could go unseen. */
    if (st->st_mtim.tv_sec > now - HERD_FILECACHE_SETTLE_S ||
        st->st_ctim.tv_sec > now - HERD_FILECACHE_SETTLE_S)
        return NULL;
    size = (size_t)st->st_size;
    i = slot_of(key, len);
    drop(c, i);
    if (c->used + size > c->size)
        return NULL;
    e = malloc(sizeof(*e) + len + 1 + plen + 1 + size);
    if (e == NULL)
        return NULL;
    memcpy(e->key, key, len);
    e->key[len] = '\0';
    e->key_len = len;
    memcpy(e->key + len + 1, path, plen + 1);
    e->path = e->key + len + 1;
    data = e->key + len + 1 + plen + 1;
    while (got < size) {
        n = pread(fd, data + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* an error, or the file shrank: not kept */
        got += (size_t)n;
    }
    if (got != size) {
        free(e);
        return NULL;
    }
    e->data = data;
    e->st = *st;
    e->content_type = content_type;
    c->slot[i] = e;
    c->used += size;
    return e;
}
