/* test_reqid.c: unit tests for request id checks and generation. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reqid.h"

static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* The fields of a generated id, decoded from its 180 bits. */
struct fields {
    uint64_t nonce, slot, generation, pid, counter;
};

static uint64_t
bits(const uint8_t *b, size_t from, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = from; i < from + n; i++)
        v = v << 1 | b[i];
    return v;
}

static struct fields
decode(const char *id)
{
    uint8_t b[HERD_REQID_LEN * 5];
    struct fields f;
    size_t i, j;

    cr_assert_eq(strlen(id), HERD_REQID_LEN, "%s", id);
    for (i = 0; i < HERD_REQID_LEN; i++) {
        const char *p = strchr(alphabet, id[i]);

        cr_assert(id[i] != '\0' && p != NULL, "%s: bad char", id);
        for (j = 0; j < 5; j++)
            b[i * 5 + j] = (uint8_t)(((size_t)(p - alphabet) >> (4 - j)) & 1);
    }
    f.nonce = bits(b, 0, 64);
    f.slot = bits(b, 64, 16);
    f.generation = bits(b, 80, 32);
    f.pid = bits(b, 112, 22);
    f.counter = bits(b, 134, 46);
    return f;
}

/* ---- validation ---------------------------------------------------------- */

Test(reqid_valid, accepts)
{
    char s[HERD_REQID_MAX + 1];

    cr_assert(herd_reqid_valid("a", 1));
    cr_assert(herd_reqid_valid("0", 1));
    cr_assert(herd_reqid_valid("f47ac10b-58cc-4372-a567-0e02b2c3d479", 36));
    cr_assert(herd_reqid_valid("ABCxyz09._~:/+=@-", 17));
    cr_assert(herd_reqid_valid("dGVzdA==", 8));
    cr_assert(herd_reqid_valid("user@host:1/2+3", 15));
    memset(s, 'x', sizeof(s));
    cr_assert(herd_reqid_valid(s, HERD_REQID_MAX));
    /* Only len bytes count. */
    cr_assert(herd_reqid_valid("abc def", 3));
}

Test(reqid_valid, refuses)
{
    static const char *const bad[] = {
        " ",   "a b", "a\tb", "a,b", "a;b",   "\"a\"",    "a'b", "a\\b",
        "a%b", "a#b", "a?b",  "a&b", "a<b",   "a>b",      "a(b", "a)b",
        "a*b", "a!b", "a$b",  "a^b", "a`b",   "a|b",      "a{b", "a}b",
        "a[b", "a]b", "\r",   "\n",  "a\x7f", "\xc3\xa9",
    };
    char s[HERD_REQID_MAX + 2];
    size_t i;
    int c;

    cr_assert_not(herd_reqid_valid("", 0));
    cr_assert_not(herd_reqid_valid("abc", 0));
    for (i = 0; i < HERD_ARRAY_LEN(bad); i++)
        cr_assert_not(herd_reqid_valid(bad[i], strlen(bad[i])), "\"%s\"",
                      bad[i]);
    cr_assert_not(herd_reqid_valid("a\0b", 3));
    memset(s, 'x', sizeof(s));
    cr_assert_not(herd_reqid_valid(s, HERD_REQID_MAX + 1));
    /* Exactly the documented set, over every byte value. */
    for (c = 0; c < 256; c++) {
        char one = (char)c;
        int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') ||
                   (c != 0 && strchr("._~:/+=@-", c) != NULL);

        cr_assert_eq(herd_reqid_valid(&one, 1), want, "byte 0x%02x", c);
    }
}

/* ---- generation ---------------------------------------------------------- */

Test(reqid, nonce_is_random)
{
    uint64_t a = herd_reqid_nonce(), b = herd_reqid_nonce();

    cr_assert_neq(a, b);
}

Test(reqid, fixed_length_charset_and_layout)
{
    struct herd_reqid g;
    char id[HERD_REQID_LEN + 1], first[HERD_REQID_LEN + 1];
    struct fields f, f0 = {0, 0, 0, 0, 0};
    int i;

    herd_reqid_init(&g, UINT64_C(0x0123456789abcdef), 7, 0xdeadbeef);
    memset(first, 0, sizeof(first));
    for (i = 0; i < 1000; i++) {
        memset(id, '#', sizeof(id));
        cr_assert_eq(herd_reqid_next(&g, id), HERD_REQID_LEN);
        cr_assert_eq(id[HERD_REQID_LEN], '\0');
        cr_assert_eq(strspn(id, alphabet), HERD_REQID_LEN, "%s", id);
        cr_assert(herd_reqid_valid(id, HERD_REQID_LEN));
        f = decode(id);
        cr_assert_eq(f.nonce, UINT64_C(0x0123456789abcdef));
        cr_assert_eq(f.slot, 7);
        cr_assert_eq(f.generation, 0xdeadbeef);
        cr_assert_eq(f.pid, (uint64_t)getpid() & 0x3fffff);
        if (i == 0) {
            memcpy(first, id, sizeof(id));
            f0 = f;
        } else {
            cr_assert_eq(f.counter, (f0.counter + (uint64_t)i) &
                                        ((UINT64_C(1) << 46) - 1));
            cr_assert(memcmp(id, first, 26) == 0, "the head is fixed");
        }
    }
}

Test(reqid, extreme_fields)
{
    struct herd_reqid g;
    char id[HERD_REQID_LEN + 1];
    struct fields f;

    herd_reqid_init(&g, UINT64_MAX, 0x12345, UINT32_MAX);
    herd_reqid_next(&g, id);
    f = decode(id);
    cr_assert_eq(f.nonce, UINT64_MAX);
    cr_assert_eq(f.slot, 0x2345, "slot is taken modulo 65536");
    cr_assert_eq(f.generation, UINT32_MAX);
    herd_reqid_init(&g, 0, 0, 0);
    herd_reqid_next(&g, id);
    f = decode(id);
    cr_assert_eq(f.nonce, 0);
    cr_assert_eq(f.slot, 0);
    cr_assert_eq(f.generation, 0);
}

Test(reqid, counter_wraps_without_touching_the_pid)
{
    struct herd_reqid g;
    char a[HERD_REQID_LEN + 1], b[HERD_REQID_LEN + 1];
    struct fields fa, fb;

    herd_reqid_init(&g, 42, 1, 1);
    g.counter = (UINT64_C(1) << 46) - 1;
    herd_reqid_next(&g, a);
    herd_reqid_next(&g, b);
    fa = decode(a);
    fb = decode(b);
    cr_assert_eq(fa.counter, (UINT64_C(1) << 46) - 1);
    cr_assert_eq(fb.counter, 0);
    cr_assert_eq(fa.pid, fb.pid);
    cr_assert_eq(fb.pid, (uint64_t)getpid() & 0x3fffff);
}

static int
compare_ids(const void *a, const void *b)
{
    return memcmp(a, b, HERD_REQID_LEN);
}

/* Sort n ids of HERD_REQID_LEN + 1 bytes and fail on any repeat. */
static void
assert_unique(char *ids, size_t n)
{
    size_t i, w = HERD_REQID_LEN + 1;

    qsort(ids, n, w, compare_ids);
    for (i = 1; i < n; i++)
        cr_assert(memcmp(ids + (i - 1) * w, ids + i * w, HERD_REQID_LEN) != 0,
                  "repeated id %s", ids + i * w);
}

Test(reqid, a_million_unique)
{
    size_t n = 1000000, i, w = HERD_REQID_LEN + 1;
    char *ids = malloc(n * w);
    struct herd_reqid g;

    cr_assert_not_null(ids);
    herd_reqid_init(&g, herd_reqid_nonce(), 3, 9);
    for (i = 0; i < n; i++)
        cr_assert_eq(herd_reqid_next(&g, ids + i * w), HERD_REQID_LEN);
    assert_unique(ids, n);
    free(ids);
}

Test(reqid, generators_never_overlap)
{
    /* Same nonce and process: slot or generation alone tells them apart,
       even when their counters start at the very same value. */
    static const uint32_t who[][2] = {{0, 1}, {1, 1}, {0, 2}, {1, 2}};
    size_t per = 100000, g, i, w = HERD_REQID_LEN + 1;
    size_t n = per * HERD_ARRAY_LEN(who);
    char *ids = malloc(n * w);
    uint64_t nonce = herd_reqid_nonce();

    cr_assert_not_null(ids);
    for (g = 0; g < HERD_ARRAY_LEN(who); g++) {
        struct herd_reqid gen;

        herd_reqid_init(&gen, nonce, who[g][0], who[g][1]);
        gen.counter = 0;
        for (i = 0; i < per; i++)
            herd_reqid_next(&gen, ids + (g * per + i) * w);
    }
    assert_unique(ids, n);
    free(ids);
}

Test(reqid, respawn_in_the_same_slot_and_generation)
{
    /* Two processes with one slot and generation: the pid differs. */
    struct herd_reqid g;
    char mine[HERD_REQID_LEN + 1], theirs[HERD_REQID_LEN + 1];
    int fds[2], status;
    pid_t pid;
    uint64_t nonce = herd_reqid_nonce();

    cr_assert_eq(pipe(fds), 0);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        herd_reqid_init(&g, nonce, 5, 5);
        g.counter = 0;
        herd_reqid_next(&g, theirs);
        _exit(write(fds[1], theirs, sizeof(theirs)) == sizeof(theirs) ? 0 : 1);
    }
    close(fds[1]);
    cr_assert_eq(read(fds[0], theirs, sizeof(theirs)), sizeof(theirs));
    close(fds[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    herd_reqid_init(&g, nonce, 5, 5);
    g.counter = 0;
    herd_reqid_next(&g, mine);
    cr_assert_str_neq(mine, theirs);
    cr_assert_eq(decode(theirs).pid, (uint64_t)pid & 0x3fffff);
    cr_assert_eq(decode(mine).counter, decode(theirs).counter);
}
