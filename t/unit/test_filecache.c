/* test_filecache.c: small files kept in memory, checked against the disk. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filecache.h"

#define TXT "text/plain; charset=utf-8"

/*
 * A file's ctime cannot be set: it is the time of its last write, now.
 * put() keeps only files whose mtime and ctime are HERD_FILECACHE_SETTLE_S
 * behind the `now` it is given, so the tests hand it a `now` ten seconds
 * ahead (later()) to keep a file they have just written without waiting;
 * mtimes are set an hour into the past with utimensat.
 */
#define PAST_S 3600

static char top[64]; /* the temporary directory, the root */
static int rootfd = -1;
static struct herd_filecache cache;

static void
setup(void)
{
    strcpy(top, "/tmp/herd-filecache-XXXXXX");
    cr_assert_not_null(mkdtemp(top));
    rootfd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(rootfd, 0, "open %s: %s", top, strerror(errno));
    herd_filecache_init(&cache, 16384, 1048576);
}

static void
teardown(void)
{
    char cmd[128];

    herd_filecache_free(&cache);
    if (rootfd >= 0)
        close(rootfd);
    rootfd = -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(filecache, .init = setup, .fini = teardown);

static time_t
later(void)
{
    return time(NULL) + 10;
}

/* Set rel's atime and mtime to sec.nsec. */
static void
set_mtime(const char *rel, time_t sec, long nsec)
{
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};

    cr_assert_eq(utimensat(rootfd, rel, ts, AT_SYMLINK_NOFOLLOW), 0,
                 "utimensat %s: %s", rel, strerror(errno));
}

/* Write len bytes of data to rel (created or truncated), mtime an hour
   ago. */
static void
write_file(const char *rel, const char *data, size_t len)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", top, rel);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    set_mtime(rel, time(NULL) - PAST_S, 0);
}

/* A file of n bytes, each 'a' + its index mod 26 + seed. */
static void
write_sized(const char *rel, size_t n, int seed)
{
    char *data = malloc(n + 1);
    size_t i;

    cr_assert_not_null(data);
    for (i = 0; i < n; i++)
        data[i] = (char)('a' + (i + (size_t)seed) % 26);
    write_file(rel, data, n);
    free(data);
}

static int
open_rel(const char *rel)
{
    int fd = openat(rootfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    cr_assert_geq(fd, 0, "openat %s: %s", rel, strerror(errno));
    return fd;
}

/* put() rel for key with st as fstat says, after fix (when not NULL) has
   had a go at st, at time now. */
static const struct herd_filecache_entry *
put_st(const char *key, const char *rel, time_t now,
       void (*fix)(struct stat *st))
{
    const struct herd_filecache_entry *e;
    struct stat st;
    int fd = open_rel(rel);

    cr_assert_eq(fstat(fd, &st), 0);
    if (fix != NULL)
        fix(&st);
    e = herd_filecache_put(&cache, key, strlen(key), rel, fd, &st, TXT, now);
    close(fd);
    return e;
}

static const struct herd_filecache_entry *
put(const char *key, const char *rel)
{
    return put_st(key, rel, later(), NULL);
}

static const struct herd_filecache_entry *
get(const char *key)
{
    return herd_filecache_get(&cache, rootfd, key, strlen(key));
}

/* The bytes the entries kept add up to, counted slot by slot. */
static size_t
kept_bytes(void)
{
    size_t i, n = 0;

    for (i = 0; i < HERD_FILECACHE_SLOTS; i++)
        if (cache.slot[i] != NULL)
            n += (size_t)cache.slot[i]->st.st_size;
    return n;
}

static size_t
kept_entries(void)
{
    size_t i, n = 0;

    for (i = 0; i < HERD_FILECACHE_SLOTS; i++)
        n += cache.slot[i] != NULL;
    return n;
}

/* filecache.c's slot of a key (FNV-1a, folded), to find collisions. */
static size_t
slot_of(const char *key)
{
    uint32_t h = 2166136261u;
    size_t i, len = strlen(key);

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return (h ^ (h >> 16)) % HERD_FILECACHE_SLOTS;
}

/* ---- keeping and finding ------------------------------------------------- */

Test(filecache, put_then_get_returns_the_bytes)
{
    const struct herd_filecache_entry *e, *g;

    write_file("a.txt", "hello, cache\n", 13);
    e = put("/a.txt", "a.txt");
    cr_assert_not_null(e);
    cr_expect_eq(e->st.st_size, 13);
    cr_expect_eq(memcmp(e->data, "hello, cache\n", 13), 0);
    cr_expect_eq(e->content_type, TXT);
    cr_expect_str_eq(e->path, "a.txt");
    cr_expect_eq(e->key_len, 6);
    cr_expect_eq(memcmp(e->key, "/a.txt", 6), 0);
    cr_expect_eq(cache.used, 13);
    cr_expect_eq(cache.hits, 0);
    cr_expect_eq(cache.misses, 0);

    g = get("/a.txt");
    cr_assert_eq(g, e);
    cr_expect_eq(memcmp(g->data, "hello, cache\n", 13), 0);
    cr_expect_eq(cache.hits, 1);
    g = get("/a.txt");
    cr_expect_eq(g, e);
    cr_expect_eq(cache.hits, 2);

    /* Another key, and a key that is a prefix or extension of it. */
    cr_expect_null(get("/b.txt"));
    cr_expect_null(get("/a.tx"));
    cr_expect_null(get("/a.txtx"));
    cr_expect_eq(cache.misses, 3);
    cr_expect_eq(cache.hits, 2);
    cr_expect_eq(cache.used, 13, "a miss for another key dropped the entry");
    cr_expect_not_null(get("/a.txt"));
}

Test(filecache, the_key_is_the_request_path_the_path_is_on_disk)
{
    write_file("index.html", "<p>i</p>", 8);
    cr_assert_not_null(put("", "index.html"));
    cr_expect_not_null(get(""));
    cr_expect_null(get("index.html"));
}

Test(filecache, an_empty_file_is_kept)
{
    const struct herd_filecache_entry *e;

    write_file("empty", "", 0);
    e = put("empty", "empty");
    cr_assert_not_null(e);
    cr_expect_eq(e->st.st_size, 0);
    cr_expect_eq(get("empty"), e);
    cr_expect_eq(cache.used, 0);
}

static void
not_regular(struct stat *st)
{
    st->st_mode = (st->st_mode & ~(mode_t)S_IFMT) | S_IFIFO;
}

Test(filecache, only_regular_files_are_kept)
{
    write_file("a", "abc", 3);
    cr_expect_null(put_st("a", "a", later(), not_regular));
    cr_expect_eq(kept_entries(), 0);
}

/* ---- settling ------------------------------------------------------------ */

Test(filecache, not_kept_while_recently_changed)
{
    struct stat st;
    time_t t;

    write_file("a", "abc", 3);
    /* Just written: its ctime is now. */
    cr_expect_null(put_st("a", "a", time(NULL), NULL));
    cr_assert_eq(fstatat(rootfd, "a", &st, 0), 0);
    cr_expect_null(put_st("a", "a", st.st_ctim.tv_sec + 1, NULL),
                   "kept one second after its ctime");
    cr_expect_null(put_st("a", "a", st.st_ctim.tv_sec + 2 - 1, NULL));
    cr_expect_eq(kept_entries(), 0);

    /* The ctime settled, the mtime (set to just before now) did not. */
    t = later();
    set_mtime("a", t - 1, 0);
    cr_expect_null(put_st("a", "a", t, NULL), "kept with a fresh mtime");
    set_mtime("a", t, 0);
    cr_expect_null(put_st("a", "a", t, NULL));
    /* An mtime in the future is not settled either. */
    set_mtime("a", t + 3600, 0);
    cr_expect_null(put_st("a", "a", t, NULL));
    cr_expect_eq(kept_entries(), 0);
    cr_expect_eq(cache.used, 0);

    /* Both settled. */
    set_mtime("a", time(NULL) - PAST_S, 0);
    cr_expect_not_null(put_st("a", "a", later(), NULL));
}

/* ---- every use checks the file ------------------------------------------- */

Test(filecache, rewritten_same_size_is_dropped)
{
    int fd;

    write_file("a", "old!", 4);
    cr_assert_not_null(put("a", "a"));
    fd = openat(rootfd, "a", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "new!", 4, 0), 4);
    close(fd);
    set_mtime("a", time(NULL) - PAST_S + 1, 0);
    cr_expect_null(get("a"));
    cr_expect_eq(cache.misses, 1);
    cr_expect_eq(cache.used, 0, "the stale entry was not dropped");
    cr_expect_eq(kept_entries(), 0);
    /* Once dropped it stays a miss, and the new bytes are kept anew. */
    cr_expect_null(get("a"));
    cr_assert_not_null(put("a", "a"));
    cr_expect_eq(memcmp(get("a")->data, "new!", 4), 0);
}

Test(filecache, replaced_by_rename_is_dropped)
{
    char from[128], to[128];

    write_file("a", "one", 3);
    cr_assert_not_null(put("a", "a"));
    write_file("b", "two", 3);
    /* Same size, same mtime: only the inode (and ctime) differs. */
    set_mtime("b", cache.slot[slot_of("a")]->st.st_mtim.tv_sec,
              cache.slot[slot_of("a")]->st.st_mtim.tv_nsec);
    snprintf(from, sizeof(from), "%s/b", top);
    snprintf(to, sizeof(to), "%s/a", top);
    cr_assert_eq(rename(from, to), 0);
    cr_expect_null(get("a"));
    cr_expect_eq(cache.used, 0);
}

Test(filecache, removed_is_dropped)
{
    write_file("a", "abc", 3);
    cr_assert_not_null(put("a", "a"));
    cr_assert_eq(unlinkat(rootfd, "a", 0), 0);
    cr_expect_null(get("a"));
    cr_expect_eq(cache.used, 0);
    cr_expect_eq(kept_entries(), 0);
}

Test(filecache, chmod_is_dropped)
{
    char path[128];

    write_file("a", "abc", 3);
    cr_assert_not_null(put("a", "a"));
    snprintf(path, sizeof(path), "%s/a", top);
    cr_assert_eq(chmod(path, 0), 0);
    cr_expect_null(get("a"), "only the ctime changed, and it was missed");
    cr_expect_eq(cache.used, 0);
}

Test(filecache, replaced_by_a_symlink_is_dropped)
{
    char from[128], to[128];

    write_file("a", "abc", 3);
    cr_assert_not_null(put("a", "a"));
    /* Even a link to the very same file, unchanged, is refused. */
    snprintf(from, sizeof(from), "%s/a", top);
    snprintf(to, sizeof(to), "%s/c", top);
    cr_assert_eq(rename(from, to), 0);
    cr_assert_eq(symlinkat("c", rootfd, "a"), 0);
    cr_expect_null(get("a"));
    cr_expect_eq(cache.used, 0);
}

Test(filecache, a_directory_on_the_way_replaced_by_a_symlink_is_dropped)
{
    char from[128], to[128];

    /* herd_static_open refuses a symlink anywhere on the path: so must
       the check, even when the link leads to the same file, unchanged. */
    cr_assert_eq(mkdirat(rootfd, "sub", 0755), 0);
    write_file("sub/a", "abc", 3);
    cr_assert_not_null(put("sub/a", "sub/a"));
    cr_expect_not_null(get("sub/a"));
    snprintf(from, sizeof(from), "%s/sub", top);
    snprintf(to, sizeof(to), "%s/real", top);
    cr_assert_eq(rename(from, to), 0);
    cr_assert_eq(symlinkat("real", rootfd, "sub"), 0);
    cr_expect_null(get("sub/a"));
    cr_expect_eq(cache.used, 0);
}

Test(filecache, a_directory_at_the_path_is_dropped)
{
    write_file("a", "abc", 3);
    cr_assert_not_null(put("a", "a"));
    cr_assert_eq(unlinkat(rootfd, "a", 0), 0);
    cr_assert_eq(mkdirat(rootfd, "a", 0755), 0);
    cr_expect_null(get("a"));
    cr_expect_eq(cache.used, 0);
}

/* Each of these makes the kept stat differ from the disk in one field. */
static void
mtime_ns(struct stat *st)
{
    st->st_mtim.tv_nsec ^= 1;
}

static void
mtime_s(struct stat *st)
{
    st->st_mtim.tv_sec -= 1;
}

static void
ctime_ns(struct stat *st)
{
    st->st_ctim.tv_nsec ^= 1;
}

static void
ctime_s(struct stat *st)
{
    st->st_ctim.tv_sec -= 1;
}

static void
other_inode(struct stat *st)
{
    st->st_ino ^= 1;
}

static void
other_device(struct stat *st)
{
    st->st_dev ^= 1;
}

static void
smaller(struct stat *st)
{
    st->st_size -= 1;
}

Test(filecache, every_field_of_the_stat_is_compared)
{
    static void (*const fixes[])(struct stat *) = {
        mtime_ns,    mtime_s,      ctime_ns, ctime_s,
        other_inode, other_device, smaller,
    };
    size_t i;

    write_file("a", "abcdef", 6);
    for (i = 0; i < sizeof(fixes) / sizeof(fixes[0]); i++) {
        cr_assert_not_null(put_st("a", "a", later(), fixes[i]), "fix %zu", i);
        cr_expect_null(get("a"), "a stat differing by fix %zu was a hit", i);
        cr_expect_eq(cache.used, 0, "fix %zu", i);
    }
    cr_assert_not_null(put_st("a", "a", later(), NULL));
    cr_expect_not_null(get("a"));
}

static void
larger(struct stat *st)
{
    st->st_size += 10;
}

Test(filecache, a_file_that_shrank_before_the_read_is_not_kept)
{
    write_file("a", "abcdef", 6);
    cr_expect_null(put_st("a", "a", later(), larger));
    cr_expect_eq(cache.used, 0);
    cr_expect_eq(kept_entries(), 0);
}

/* ---- limits -------------------------------------------------------------- */

Test(filecache, max_file)
{
    herd_filecache_free(&cache);
    herd_filecache_init(&cache, 100, 1000);
    write_sized("big", 101, 0);
    write_sized("fits", 100, 0);
    cr_expect_null(put("big", "big"));
    cr_expect_eq(cache.used, 0);
    cr_expect_not_null(put("fits", "fits"));
    cr_expect_eq(cache.used, 100);

    /* max_file beyond size: size is the limit. */
    herd_filecache_free(&cache);
    herd_filecache_init(&cache, 1000, 50);
    cr_expect_null(put("fits", "fits"));
    cr_expect_eq(cache.used, 0);
}

Test(filecache, total_size_and_used)
{
    const char *keys[] = {"k0", "k1", "k2"};

    /* Three keys in three different slots. */
    cr_assert_neq(slot_of(keys[0]), slot_of(keys[1]));
    cr_assert_neq(slot_of(keys[0]), slot_of(keys[2]));
    cr_assert_neq(slot_of(keys[1]), slot_of(keys[2]));
    herd_filecache_free(&cache);
    herd_filecache_init(&cache, 100, 250);
    write_sized("a", 100, 0);
    write_sized("b", 100, 1);
    write_sized("c", 100, 2);
    write_sized("d", 50, 3);
    cr_assert_not_null(put(keys[0], "a"));
    cr_assert_not_null(put(keys[1], "b"));
    cr_expect_eq(cache.used, 200);
    cr_expect_null(put(keys[2], "c"), "kept beyond the size");
    cr_expect_eq(cache.used, 200);
    cr_expect_not_null(put(keys[2], "d"), "exactly the size not kept");
    cr_expect_eq(cache.used, 250);

    /* A stale entry dropped gives its bytes back. */
    cr_assert_eq(unlinkat(rootfd, "a", 0), 0);
    cr_expect_null(get(keys[0]));
    cr_expect_eq(cache.used, 150);

    /* Keeping a key again replaces its entry: counted once. */
    cr_expect_not_null(put(keys[1], "c"));
    cr_expect_eq(cache.used, 150);
    cr_expect_eq(memcmp(get(keys[1])->data, "cdef", 4), 0);
    cr_expect_not_null(put(keys[1], "d"));
    cr_expect_eq(cache.used, 100);
    cr_expect_eq(cache.used, kept_bytes());

    /* A newcomer too big for the room left still drops its slot's entry
       (it is not the file of that key any more). */
    cr_expect_not_null(put(keys[0], "c"));
    cr_expect_eq(cache.used, 200);
    write_sized("e", 100, 4);
    cr_expect_not_null(put(keys[1], "e")); /* 200 - 50 + 100: fits */
    cr_expect_eq(cache.used, 250);
    write_sized("f", 100, 5);
    cr_expect_null(put(keys[2], "f")); /* 250 - 50 + 100: does not */
    cr_expect_null(get(keys[2]));
    cr_expect_eq(cache.used, 200);
    cr_expect_eq(cache.used, kept_bytes());

    herd_filecache_free(&cache);
    cr_expect_eq(cache.used, 0);
    cr_expect_eq(kept_entries(), 0);
}

Test(filecache, a_newcomer_replaces_the_entry_in_its_slot)
{
    char k1[16], k2[16];
    size_t s;
    int i;

    /* Two keys of the same slot, found with filecache.c's hash. */
    strcpy(k1, "/f0");
    s = slot_of(k1);
    for (i = 1; i < 100000; i++) {
        snprintf(k2, sizeof(k2), "/f%d", i);
        if (slot_of(k2) == s)
            break;
    }
    cr_assert_lt(i, 100000);
    write_sized("one", 10, 0);
    write_sized("two", 20, 1);
    cr_assert_not_null(put(k1, "one"));
    cr_expect_eq(cache.used, 10);
    cr_assert_not_null(put(k2, "two"));
    cr_expect_eq(cache.used, 20, "the replaced entry's bytes still counted");
    cr_expect_eq(kept_entries(), 1);
    cr_expect_null(get(k1));
    cr_expect_not_null(get(k2));
    cr_expect_eq(memcmp(get(k2)->data, "bcde", 4), 0);
    /* And back. */
    cr_assert_not_null(put(k1, "one"));
    cr_expect_null(get(k2));
    cr_expect_eq(cache.used, 10);
}

Test(filecache, many_keys_stay_within_the_limits)
{
    char key[32], rel[32];
    const struct herd_filecache_entry *e;
    int i;

    herd_filecache_free(&cache);
    herd_filecache_init(&cache, 64, 4000);
    for (i = 0; i < 50; i++) {
        snprintf(rel, sizeof(rel), "f%d", i);
        write_sized(rel, (size_t)(i * 3) % 80, i);
    }
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "/k/%d", i);
        snprintf(rel, sizeof(rel), "f%d", i % 50);
        put(key, rel);
        cr_assert_leq(cache.used, cache.size);
        cr_assert_eq(cache.used, kept_bytes(), "after key %d", i);
    }
    /* Every entry found answers its own key with its own file. */
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "/k/%d", i);
        e = get(key);
        if (e == NULL)
            continue;
        cr_expect_eq(e->key_len, strlen(key));
        cr_expect_eq(memcmp(e->key, key, e->key_len), 0);
        snprintf(rel, sizeof(rel), "f%d", i % 50);
        cr_expect_str_eq(e->path, rel);
        cr_expect_eq(e->st.st_size, (off_t)((size_t)(i % 50 * 3) % 80));
        if (e->st.st_size > 0)
            cr_expect_eq(e->data[0], (char)('a' + (size_t)(i % 50) % 26));
    }
    cr_expect_gt(kept_entries(), 0);
    cr_expect_eq(cache.used, kept_bytes());
}

Test(filecache, long_keys_and_paths_are_not_kept)
{
    char key[HERD_FILECACHE_KEY_MAX + 2], rel[HERD_FILECACHE_KEY_MAX + 2];
    struct stat st;
    int fd;

    write_file("a", "abc", 3);
    memset(key, 'k', sizeof(key));
    key[HERD_FILECACHE_KEY_MAX + 1] = '\0';
    cr_expect_null(put(key, "a"), "a key of 256 kept");
    key[HERD_FILECACHE_KEY_MAX] = '\0';
    cr_expect_not_null(put(key, "a"), "a key of 255 not kept");
    cr_expect_not_null(get(key));

    /* A path of 256 (a name that long cannot exist: any fd will do). */
    herd_filecache_free(&cache);
    herd_filecache_init(&cache, 16384, 1048576);
    memset(rel, 'p', sizeof(rel));
    rel[HERD_FILECACHE_KEY_MAX + 1] = '\0';
    fd = open_rel("a");
    cr_assert_eq(fstat(fd, &st), 0);
    cr_expect_null(
        herd_filecache_put(&cache, "a", 1, rel, fd, &st, TXT, later()),
        "a path of 256 kept");
    cr_expect_null(
        herd_filecache_put(&cache, "a", 1, "", fd, &st, TXT, later()),
        "an empty path kept");
    close(fd);
    cr_expect_eq(cache.used, 0);
}

Test(filecache, size_zero_keeps_nothing)
{
    herd_filecache_free(&cache);
    herd_filecache_init(&cache, 16384, 0);
    write_file("a", "abc", 3);
    write_file("empty", "", 0);
    cr_expect_null(put("a", "a"));
    cr_expect_null(put("empty", "empty"));
    cr_expect_null(get("a"));
    cr_expect_eq(cache.used, 0);
    cr_expect_eq(kept_entries(), 0);
}

Test(filecache, free_then_init_again)
{
    write_file("a", "abc", 3);
    cr_assert_not_null(put("a", "a"));
    herd_filecache_free(&cache);
    cr_expect_eq(cache.used, 0);
    cr_expect_eq(kept_entries(), 0);
    herd_filecache_free(&cache); /* twice is fine */
    herd_filecache_init(&cache, 16384, 1048576);
    cr_expect_null(get("a"));
    cr_expect_not_null(put("a", "a"));
}
