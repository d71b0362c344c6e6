/* test_pubsub.c: channel names, history rings, the channel table, codec. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

/* ---- names ----------------------------------------------------------------
 */

Test(pubsub, channel_names)
{
    char name[HERD_PUBSUB_MAX_CHANNEL + 1];
    int c;

    cr_assert(herd_pubsub_channel_valid("a", 1));
    cr_assert(herd_pubsub_channel_valid("news.sport:live_2-x", 19));
    cr_assert(herd_pubsub_channel_valid("AZaz09._:-", 10));
    cr_assert_not(herd_pubsub_channel_valid("", 0));
    cr_assert_not(herd_pubsub_channel_valid(NULL, 0));
    cr_assert_not(herd_pubsub_channel_valid("a b", 3));
    cr_assert_not(herd_pubsub_channel_valid("a/b", 3));
    cr_assert_not(herd_pubsub_channel_valid("a\0b", 3));
    cr_assert_not(herd_pubsub_channel_valid("a\n", 2));
    cr_assert_not(herd_pubsub_channel_valid("\xc3\xa9", 2));
    memset(name, 'x', sizeof(name));
    cr_assert(herd_pubsub_channel_valid(name, HERD_PUBSUB_MAX_CHANNEL));
    cr_assert_not(herd_pubsub_channel_valid(name, HERD_PUBSUB_MAX_CHANNEL + 1));
    for (c = 0; c < 256; c++) {
        name[0] = (char)c;
        cr_assert_eq(herd_pubsub_channel_valid(name, 1),
                     (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                         c == ':' || c == '-',
                     "byte %d", c);
    }
}

/* ---- ring -----------------------------------------------------------------
 */

/* What a replay called back with, as "seq=data," text. */
struct seen {
    char text[4096];
    int calls;
    int stop_after; /* 0: never stop */
};

static int
collect(void *arg, uint64_t seq, const char *data, size_t len)
{
    struct seen *s = arg;
    size_t n = strlen(s->text);

    snprintf(s->text + n, sizeof(s->text) - n, "%llu=%.*s,",
             (unsigned long long)seq, (int)len, data ? data : "");
    s->calls++;
    return s->stop_after && s->calls >= s->stop_after;
}

/* Replay since last_id; expect the return code and the text. */
static void
since(const struct herd_ring *r, uint64_t last_id, int rc, const char *text)
{
    struct seen s;

    memset(&s, 0, sizeof(s));
    cr_assert_eq(herd_ring_since(r, last_id, collect, &s), rc, "since %llu: rc",
                 (unsigned long long)last_id);
    cr_assert_str_eq(s.text, text, "since %llu", (unsigned long long)last_id);
    cr_assert_eq(herd_ring_gap(r, last_id), rc == HERD_AGAIN);
}

static void
push(struct herd_ring *r, uint64_t seq, const char *s)
{
    cr_assert_eq(herd_ring_push(r, seq, s, strlen(s)), HERD_OK, "push %llu",
                 (unsigned long long)seq);
}

Test(ring, keeps_order_and_drops_by_count)
{
    struct herd_ring r;

    cr_assert_eq(herd_ring_init(&r, 3, 1000), HERD_OK);
    since(&r, 0, HERD_OK, "");
    push(&r, 1, "a");
    push(&r, 2, "b");
    since(&r, 0, HERD_OK, "1=a,2=b,");
    since(&r, 1, HERD_OK, "2=b,");
    since(&r, 2, HERD_OK, "");
    push(&r, 3, "c");
    push(&r, 4, "d");
    push(&r, 5, "e");
    cr_assert_eq(r.count, 3);
    cr_assert_eq(r.bytes, 3);
    since(&r, 0, HERD_OK, "3=c,4=d,5=e,");
    since(&r, 1, HERD_AGAIN, "3=c,4=d,5=e,");
    since(&r, 2, HERD_OK, "3=c,4=d,5=e,");
    since(&r, 4, HERD_OK, "5=e,");
    since(&r, 5, HERD_OK, "");
    herd_ring_free(&r);
    herd_ring_free(&r);
    herd_ring_free(NULL);
}

Test(ring, drops_by_bytes)
{
    struct herd_ring r;

    cr_assert_eq(herd_ring_init(&r, 100, 10), HERD_OK);
    push(&r, 1, "aaaa");
    push(&r, 2, "bbbb");
    cr_assert_eq(r.bytes, 8);
    push(&r, 3, "cc");
    cr_assert_eq(r.bytes, 10);
    since(&r, 0, HERD_OK, "1=aaaa,2=bbbb,3=cc,");
    push(&r, 4, "d");
    cr_assert_eq(r.bytes, 7);
    since(&r, 0, HERD_OK, "2=bbbb,3=cc,4=d,");
    since(&r, 1, HERD_OK, "2=bbbb,3=cc,4=d,");
    /* Exactly max_bytes: everything else goes. */
    push(&r, 5, "eeeeeeeeee");
    cr_assert_eq(r.count, 1);
    since(&r, 3, HERD_AGAIN, "5=eeeeeeeeee,");
    since(&r, 4, HERD_OK, "5=eeeeeeeeee,");
    /* Larger than max_bytes: not kept, and a replay across it has a gap. */
    push(&r, 6, "fffffffffff");
    cr_assert_eq(r.count, 0);
    cr_assert_eq(r.bytes, 0);
    since(&r, 5, HERD_AGAIN, "");
    since(&r, 6, HERD_OK, "");
    push(&r, 7, "");
    since(&r, 6, HERD_OK, "7=,");
    herd_ring_free(&r);
}

Test(ring, empty_messages_and_null_data)
{
    struct herd_ring r;

    cr_assert_eq(herd_ring_init(&r, 2, 0 + 1), HERD_OK);
    cr_assert_eq(herd_ring_push(&r, 1, NULL, 0), HERD_OK);
    cr_assert_eq(herd_ring_push(&r, 2, NULL, 0), HERD_OK);
    cr_assert_eq(herd_ring_push(&r, 3, NULL, 1), HERD_ERR);
    since(&r, 0, HERD_OK, "1=,2=,");
    herd_ring_free(&r);
}

Test(ring, seq_must_increase)
{
    struct herd_ring r;

    cr_assert_eq(herd_ring_init(&r, 4, 100), HERD_OK);
    cr_assert_eq(herd_ring_push(&r, 0, "x", 1), HERD_ERR);
    push(&r, 10, "a");
    cr_assert_eq(herd_ring_push(&r, 10, "x", 1), HERD_ERR);
    cr_assert_eq(herd_ring_push(&r, 9, "x", 1), HERD_ERR);
    push(&r, 12, "b");
    since(&r, 0, HERD_OK, "10=a,12=b,");
    /* Holes in the seqs are not gaps: nothing was dropped. */
    since(&r, 5, HERD_OK, "10=a,12=b,");
    since(&r, 11, HERD_OK, "12=b,");
    /* Beyond anything seen: the client's ids belong to another life. */
    since(&r, 13, HERD_AGAIN, "");
    herd_ring_free(&r);
}

Test(ring, keeping_nothing_still_counts)
{
    struct herd_ring r;

    cr_assert_eq(herd_ring_init(&r, 0, 100), HERD_OK);
    push(&r, 1, "a");
    push(&r, 2, "b");
    cr_assert_eq(r.count, 0);
    since(&r, 0, HERD_OK, "");
    since(&r, 1, HERD_AGAIN, "");
    since(&r, 2, HERD_OK, "");
    cr_assert_eq(herd_ring_push(&r, 2, "c", 1), HERD_ERR);
    herd_ring_free(&r);
    cr_assert_eq(herd_ring_init(&r, 5, 0), HERD_OK);
    push(&r, 1, "");
    since(&r, 0, HERD_OK, "");
    herd_ring_free(&r);
}

Test(ring, callback_stops_the_replay)
{
    struct herd_ring r;
    struct seen s;

    cr_assert_eq(herd_ring_init(&r, 4, 100), HERD_OK);
    push(&r, 1, "a");
    push(&r, 2, "b");
    push(&r, 3, "c");
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    cr_assert_eq(herd_ring_since(&r, 0, collect, &s), HERD_ERR);
    cr_assert_str_eq(s.text, "1=a,2=b,");
    herd_ring_free(&r);
}

/* Many pushes against a model: the ring holds the newest messages that
   fit both bounds, and the gap verdict matches what was dropped. */
Test(ring, wraps_around_many_times)
{
    struct herd_ring r;
    static size_t lens[5000];
    char data[64];
    uint64_t seq, first, s;
    size_t bytes, n, i, k;
    int rc;

    memset(data, 'z', sizeof(data));
    cr_assert_eq(herd_ring_init(&r, 7, 100), HERD_OK);
    srand(3);
    for (seq = 1; seq < 5000; seq++) {
        lens[seq] = (size_t)rand() % 40;
        cr_assert_eq(herd_ring_push(&r, seq, data, lens[seq]), HERD_OK);
        /* The model: walk back from seq while both bounds hold. */
        bytes = 0;
        for (first = seq + 1, n = 0; first > 1 && n < 7; first--, n++) {
            if (bytes + lens[first - 1] > 100)
                break;
            bytes += lens[first - 1];
        }
        cr_assert_eq(r.count, n, "seq %llu", (unsigned long long)seq);
        cr_assert_eq(r.bytes, bytes);
        for (i = 0; i < r.count; i++) {
            k = (r.head + i) % r.capacity;
            cr_assert_eq(r.slots[k].seq, first + i);
            cr_assert_eq(r.slots[k].len, lens[first + i]);
        }
        s = (uint64_t)rand() % (seq + 2);
        rc = herd_ring_since(&r, s, collect, &(struct seen){0});
        cr_assert_eq(
            rc, s != 0 && (s + 1 < first || s > seq) ? HERD_AGAIN : HERD_OK,
            "seq %llu since %llu", (unsigned long long)seq,
            (unsigned long long)s);
    }
    herd_ring_free(&r);
}

/* ---- table ----------------------------------------------------------------
 */

static struct herd_pubsub_channel *
create(struct herd_pubsub_table *t, const char *name)
{
    char err[HERD_ERR_LEN] = "";
    struct herd_pubsub_channel *ch;

    ch = herd_pubsub_create(t, name, strlen(name), err, sizeof(err));
    cr_assert_not_null(ch, "create %s: %s", name, err);
    return ch;
}

static struct herd_pubsub_channel *
lookup(struct herd_pubsub_table *t, const char *name)
{
    return herd_pubsub_lookup(t, name, strlen(name));
}

Test(table, create_lookup_remove)
{
    struct herd_pubsub_table t;
    struct herd_pubsub_channel *a, *b;
    char err[HERD_ERR_LEN] = "";
    uint64_t seq;

    cr_assert_eq(herd_pubsub_table_init(&t, 4, 8, 1024, 1, err, sizeof(err)),
                 HERD_OK, "%s", err);
    cr_assert_null(lookup(&t, "news"));
    a = create(&t, "news");
    cr_assert_str_eq(a->name, "news");
    cr_assert_eq(a->name_len, 4);
    cr_assert_eq(a->next_seq, 1);
    cr_assert_eq(a->subscribers, 0);
    cr_assert_null(a->user);
    cr_assert_eq(lookup(&t, "news"), a);
    cr_assert_eq(create(&t, "news"), a, "create finds what is there");
    cr_assert_eq(t.count, 1);
    b = create(&t, "sport");
    cr_assert_neq(a, b);
    cr_assert_null(lookup(&t, "new"));
    cr_assert_null(lookup(&t, "newsx"));
    cr_assert_null(lookup(&t, "bad name"));

    cr_assert_eq(herd_pubsub_publish(a, "x", 1, &seq), HERD_OK);
    cr_assert_eq(seq, 1);
    cr_assert_eq(herd_pubsub_publish(a, "y", 1, &seq), HERD_OK);
    cr_assert_eq(seq, 2);
    cr_assert_eq(a->next_seq, 3);
    since(&a->ring, 0, HERD_OK, "1=x,2=y,");
    cr_assert_eq(herd_pubsub_publish(a, "z", HERD_PUBSUB_MAX_DATA + 1, &seq),
                 HERD_ERR);
    cr_assert_eq(a->next_seq, 3);

    herd_pubsub_remove(&t, a);
    cr_assert_null(lookup(&t, "news"));
    cr_assert_eq(lookup(&t, "sport"), b);
    cr_assert_eq(t.count, 1);
    a = create(&t, "news");
    cr_assert_eq(a->next_seq, 1, "a new channel starts over");
    herd_pubsub_table_free(&t);
    herd_pubsub_table_free(&t);
    herd_pubsub_table_free(NULL);
}

Test(table, refusals)
{
    struct herd_pubsub_table t;
    char err[HERD_ERR_LEN] = "";

    cr_assert_eq(herd_pubsub_table_init(&t, 0, 8, 1024, 1, err, sizeof(err)),
                 HERD_ERR);
    cr_assert_str_eq(err, "max_channels must be 1 to 16777216");
    cr_assert_eq(herd_pubsub_table_init(&t, 2, 8, 1024, 1, err, sizeof(err)),
                 HERD_OK);
    cr_assert_null(herd_pubsub_create(&t, "", 0, err, sizeof(err)));
    cr_assert_str_eq(err, "invalid channel name");
    cr_assert_null(herd_pubsub_create(&t, "a/b", 3, err, sizeof(err)));
    create(&t, "a");
    create(&t, "b");
    cr_assert_null(herd_pubsub_create(&t, "c", 1, err, sizeof(err)));
    cr_assert_str_eq(err, "too many channels (at most 2)");
    cr_assert_not_null(herd_pubsub_create(&t, "a", 1, NULL, 0),
                       "a full table still finds what it has");
    herd_pubsub_remove(&t, lookup(&t, "a"));
    create(&t, "c");
    cr_assert_eq(t.count, 2);
    herd_pubsub_table_free(&t);
}

/* Count the channels on the table's list, checking its links. */
static size_t
list_len(const struct herd_pubsub_table *t)
{
    const struct herd_pubsub_channel *ch, *prev = NULL;
    size_t n = 0;

    for (ch = t->first; ch != NULL; prev = ch, ch = ch->next) {
        cr_assert_eq(ch->prev, prev);
        n++;
    }
    return n;
}

#define MANY 10000

Test(table, ten_thousand_channels)
{
    struct herd_pubsub_table t;
    static struct herd_pubsub_channel *chs[MANY];
    char name[32], err[HERD_ERR_LEN] = "";
    size_t i;

    cr_assert_eq(
        herd_pubsub_table_init(&t, MANY, 2, 64, 0xfeed, err, sizeof(err)),
        HERD_OK);
    for (i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "chan.%zu", i);
        chs[i] = create(&t, name);
    }
    cr_assert_eq(t.count, MANY);
    cr_assert_eq(list_len(&t), MANY);
    cr_assert_null(herd_pubsub_create(&t, "one-more", 8, err, sizeof(err)));
    for (i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "chan.%zu", i);
        cr_assert_eq(lookup(&t, name), chs[i], "%s", name);
    }
    /* Remove the even ones; the odd ones must all stay reachable. */
    for (i = 0; i < MANY; i += 2)
        herd_pubsub_remove(&t, chs[i]);
    cr_assert_eq(t.count, MANY / 2);
    cr_assert_eq(list_len(&t), MANY / 2);
    for (i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "chan.%zu", i);
        cr_assert_eq(lookup(&t, name), i % 2 ? chs[i] : NULL, "%s", name);
    }
    herd_pubsub_table_free(&t);
}

/*
 * A small table is one long cluster of collisions: random creates and
 * removes against a model, with every name looked up after each step.
 * Removal during list iteration is safe.
 */
Test(table, collisions_against_a_model)
{
    struct herd_pubsub_table t;
    struct herd_pubsub_channel *model[24], *ch, *next;
    char name[16], err[HERD_ERR_LEN] = "";
    size_t count = 0, k;
    int step, i, j;
    uint64_t seed;

    for (seed = 0; seed < 8; seed++) {
        cr_assert_eq(
            herd_pubsub_table_init(&t, 16, 1, 16, seed, err, sizeof(err)),
            HERD_OK);
        memset(model, 0, sizeof(model));
        count = 0;
        srand((unsigned)seed);
        for (step = 0; step < 3000; step++) {
            i = rand() % 24;
            snprintf(name, sizeof(name), "n%d", i);
            if (model[i] != NULL) {
                herd_pubsub_remove(&t, model[i]);
                model[i] = NULL;
                count--;
            } else if (count < 16) {
                model[i] = create(&t, name);
                count++;
            } else {
                cr_assert_null(herd_pubsub_create(&t, name, strlen(name), err,
                                                  sizeof(err)));
            }
            cr_assert_eq(t.count, count);
            for (j = 0; j < 24; j++) {
                snprintf(name, sizeof(name), "n%d", j);
                cr_assert_eq(lookup(&t, name), model[j], "step %d: %s", step,
                             name);
            }
        }
        cr_assert_eq(list_len(&t), count);
        for (ch = t.first; ch != NULL; ch = next) {
            next = ch->next;
            herd_pubsub_remove(&t, ch);
        }
        cr_assert_eq(t.count, 0);
        for (k = 0; k <= t.mask; k++)
            cr_assert_null(t.slots[k]);
        herd_pubsub_table_free(&t);
    }
}

/* ---- wire -----------------------------------------------------------------
 */

/* Every message is encoded with this token; kinds without one drop it. */
#define TOKEN 0x1122334455667788ull

static size_t
encode(uint8_t kind, const char *channel, uint64_t seq, const char *data,
       uint32_t len, char *buf, size_t cap)
{
    struct herd_pubsub_msg m = {
        .kind = kind,
        .channel = channel,
        .channel_len = (uint16_t)strlen(channel),
        .seq = seq,
        .token = TOKEN,
        .data = data,
        .len = len,
    };

    return herd_pubsub_encode(&m, buf, cap);
}

static void
round_trip(uint8_t kind, const char *channel, uint64_t seq, const char *data,
           uint32_t len)
{
    static char buf[HERD_PUBSUB_MAX_WIRE + 1];
    struct herd_pubsub_msg m;
    size_t n, cut, want;
    int has_seq =
        kind != HERD_PUBSUB_PUBLISH && kind != HERD_PUBSUB_SUBSCRIBE &&
        kind != HERD_PUBSUB_UNSUBSCRIBE && kind != HERD_PUBSUB_REPLAY_MISSED;
    int has_token = kind != HERD_PUBSUB_DELIVER &&
                    kind != HERD_PUBSUB_SUBSCRIBE &&
                    kind != HERD_PUBSUB_UNSUBSCRIBE;
    int has_data = kind == HERD_PUBSUB_PUBLISH || kind == HERD_PUBSUB_DELIVER ||
                   kind == HERD_PUBSUB_REPLAYED ||
                   kind == HERD_PUBSUB_PUBLISHED;

    n = encode(kind, channel, seq, data, len, buf, sizeof(buf));
    want = 3 + strlen(channel) + (has_seq ? 8 : 0) + (has_token ? 8 : 0) +
           (has_data ? 4 + len : 0);
    cr_assert_eq(n, want, "kind %u: %zu bytes", kind, n);
    cr_assert_eq(encode(kind, channel, seq, data, len, buf, n - 1), 0,
                 "fits one byte less");
    cr_assert_eq(encode(kind, channel, seq, data, len, buf, n), n);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_OK, "kind %u", kind);
    cr_assert_eq(m.kind, kind);
    cr_assert_eq(m.channel, buf + 3, "channel points into the buffer");
    cr_assert_eq(m.channel_len, strlen(channel));
    cr_assert_eq(memcmp(m.channel, channel, m.channel_len), 0);
    cr_assert_eq(m.seq, has_seq ? seq : 0);
    cr_assert_eq(m.token, has_token ? TOKEN : 0);
    if (has_data) {
        cr_assert_eq(m.len, len);
        cr_assert_eq(m.data, buf + n - len);
        if (len)
            cr_assert_eq(memcmp(m.data, data, len), 0);
    } else {
        cr_assert_eq(m.len, 0);
        cr_assert_null(m.data);
    }
    for (cut = 0; cut < n; cut++)
        cr_assert_eq(herd_pubsub_decode(buf, cut, &m), HERD_ERR,
                     "kind %u truncated to %zu", kind, cut);
    buf[n] = 'x';
    cr_assert_eq(herd_pubsub_decode(buf, n + 1, &m), HERD_ERR, "trailing");
}

Test(wire, round_trips)
{
    static char big[HERD_PUBSUB_MAX_DATA];
    char chan[HERD_PUBSUB_MAX_CHANNEL + 1];

    memset(big, 0, sizeof(big));
    big[5] = 'q';
    memset(chan, 'c', HERD_PUBSUB_MAX_CHANNEL);
    chan[HERD_PUBSUB_MAX_CHANNEL] = '\0';
    round_trip(HERD_PUBSUB_PUBLISH, "news", 0, "hello", 5);
    round_trip(HERD_PUBSUB_PUBLISH, "news", 0, "", 0);
    round_trip(HERD_PUBSUB_PUBLISH, "n", 0, NULL, 0);
    round_trip(HERD_PUBSUB_DELIVER, "news", 1, "hello", 5);
    round_trip(HERD_PUBSUB_DELIVER, "a:b", UINT64_MAX, "\0\n\r", 3);
    round_trip(HERD_PUBSUB_SUBSCRIBE, "news", 0, NULL, 0);
    round_trip(HERD_PUBSUB_UNSUBSCRIBE, "news", 0, NULL, 0);
    round_trip(HERD_PUBSUB_SUBSCRIBE, chan, 0, NULL, 0);
    round_trip(HERD_PUBSUB_DELIVER, chan, 7, big, HERD_PUBSUB_MAX_DATA);
    round_trip(HERD_PUBSUB_REPLAY, "news", 0, NULL, 0);
    round_trip(HERD_PUBSUB_REPLAY, "news", 42, NULL, 0);
    round_trip(HERD_PUBSUB_REPLAYED, "news", 43, "x", 1);
    round_trip(HERD_PUBSUB_REPLAY_END, "news", 1, NULL, 0);
    round_trip(HERD_PUBSUB_REPLAY_END, "news", 0, NULL, 0);
    round_trip(HERD_PUBSUB_PUBLISHED, "news", 44, "", 0);
    round_trip(HERD_PUBSUB_PUBLISHED, "news", 0, "channel table full", 18);
    round_trip(HERD_PUBSUB_REPLAY_MISSED, "news", 0, NULL, 0);
}

Test(wire, unused_fields_are_not_encoded)
{
    char a[64], b[64];
    size_t n;

    n = encode(HERD_PUBSUB_SUBSCRIBE, "news", 99, "junk", 4, a, sizeof(a));
    cr_assert_eq(n, 7);
    cr_assert_eq(encode(HERD_PUBSUB_SUBSCRIBE, "news", 0, NULL, 0, b, 64), 7);
    cr_assert_eq(memcmp(a, b, n), 0);
    n = encode(HERD_PUBSUB_PUBLISH, "news", 99, "d", 1, a, sizeof(a));
    cr_assert_eq(n, 20);
    cr_assert_eq(encode(HERD_PUBSUB_PUBLISH, "news", 0, "d", 1, b, 64), 20);
    cr_assert_eq(memcmp(a, b, n), 0);
}

Test(wire, encode_refusals)
{
    static char buf[HERD_PUBSUB_MAX_WIRE + 16];
    static char big[HERD_PUBSUB_MAX_DATA + 1];
    char chan[HERD_PUBSUB_MAX_CHANNEL + 2];

    memset(chan, 'c', sizeof(chan) - 1);
    chan[sizeof(chan) - 1] = '\0';
    cr_assert_eq(encode(0, "a", 1, "x", 1, buf, sizeof(buf)), 0);
    cr_assert_eq(encode(10, "a", 1, "x", 1, buf, sizeof(buf)), 0);
    cr_assert_eq(encode(HERD_PUBSUB_PUBLISH, "", 0, "x", 1, buf, 64), 0);
    cr_assert_eq(encode(HERD_PUBSUB_PUBLISH, "a b", 0, "x", 1, buf, 64), 0);
    cr_assert_eq(
        encode(HERD_PUBSUB_SUBSCRIBE, chan, 0, NULL, 0, buf, sizeof(buf)), 0,
        "name too long");
    cr_assert_eq(encode(HERD_PUBSUB_DELIVER, "a", 0, "x", 1, buf, 64), 0);
    cr_assert_eq(encode(HERD_PUBSUB_PUBLISH, "a", 0, NULL, 1, buf, 64), 0);
    cr_assert_eq(encode(HERD_PUBSUB_PUBLISH, "a", 0, big,
                        HERD_PUBSUB_MAX_DATA + 1, buf, sizeof(buf)),
                 0);
    cr_assert_eq(encode(HERD_PUBSUB_SUBSCRIBE, "a", 0, NULL, 0, buf, 0), 0);
}

/* A message laid out by hand, for what the encoder never writes. */
static size_t
raw(char *buf, uint8_t kind, uint16_t clen, const char *chan, int seq_bytes,
    uint64_t seq, int with_len, uint32_t len, const char *data, size_t dlen)
{
    size_t n = 0;
    int i;

    buf[n++] = (char)kind;
    buf[n++] = (char)(clen & 0xff);
    buf[n++] = (char)(clen >> 8);
    memcpy(buf + n, chan, strlen(chan));
    n += strlen(chan);
    for (i = 0; i < seq_bytes; i++)
        buf[n++] = (char)(seq >> (8 * i));
    if (with_len) {
        for (i = 0; i < 4; i++)
            buf[n++] = (char)(len >> (8 * i));
        memcpy(buf + n, data, dlen);
        n += dlen;
    }
    return n;
}

Test(wire, decode_refusals)
{
    static char buf[HERD_PUBSUB_MAX_WIRE + 64], big[HERD_PUBSUB_MAX_DATA + 1];
    struct herd_pubsub_msg m;
    size_t n;

    n = raw(buf, HERD_PUBSUB_DELIVER, 2, "ab", 8, 5, 1, 1, "x", 1);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_OK, "the baseline");
    cr_assert_eq(herd_pubsub_decode(NULL, 0, &m), HERD_ERR);
    n = raw(buf, 0, 2, "ab", 8, 5, 1, 1, "x", 1);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "kind 0");
    n = raw(buf, 9, 2, "ab", 8, 5, 1, 1, "x", 1);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "kind 9");
    n = raw(buf, HERD_PUBSUB_DELIVER, 2, "ab", 8, 0, 1, 1, "x", 1);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "seq 0");
    n = raw(buf, HERD_PUBSUB_DELIVER, 2, "a/", 8, 5, 1, 1, "x", 1);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "bad name");
    n = raw(buf, HERD_PUBSUB_SUBSCRIBE, 0, "", 0, 0, 0, 0, "", 0);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "empty name");
    n = raw(buf, HERD_PUBSUB_SUBSCRIBE, 3, "ab", 0, 0, 0, 0, "", 0);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "name past end");
    n = raw(buf, HERD_PUBSUB_SUBSCRIBE, 1, "ab", 0, 0, 0, 0, "", 0);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "trailing byte");
    n = raw(buf, HERD_PUBSUB_SUBSCRIBE, 0xffff, "ab", 0, 0, 0, 0, "", 0);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "huge name");
    n = raw(buf, HERD_PUBSUB_PUBLISH, 2, "ab", 0, 0, 1, 2, "x", 1);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "data past end");
    n = raw(buf, HERD_PUBSUB_PUBLISH, 2, "ab", 0, 0, 1, 0, "x", 1);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "data trailing");
    n = raw(buf, HERD_PUBSUB_PUBLISH, 2, "ab", 0, 0, 1, UINT32_MAX, "x", 1);
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "length 2^32-1");
    memset(big, 'd', sizeof(big));
    n = raw(buf, HERD_PUBSUB_PUBLISH, 2, "ab", 0, 0, 1,
            HERD_PUBSUB_MAX_DATA + 1, big, sizeof(big));
    cr_assert_eq(herd_pubsub_decode(buf, n, &m), HERD_ERR, "data too large");
}

/*
 * Random bytes, and valid messages with random bytes changed, never crash
 * (the sanitizers build watches reads) and whatever decodes re-encodes to
 * the same bytes.
 */
Test(wire, garbage_never_crashes)
{
    static char buf[512], again[512];
    struct herd_pubsub_msg m;
    size_t n, len, i;
    int round, ok = 0;

    srand(64);
    for (round = 0; round < 200000; round++) {
        if (round % 2) {
            len = (size_t)rand() % 64;
            for (i = 0; i < len; i++)
                buf[i] = (char)(rand() % 8 == 0 ? rand() % 5 : rand());
        } else {
            len = encode((uint8_t)(1 + rand() % 4), "ch.x", 1 + rand() % 300,
                         "data", (uint32_t)(rand() % 5), buf, sizeof(buf));
            cr_assert_gt(len, 0);
            buf[rand() % len] = (char)rand();
            if (rand() % 4 == 0)
                len = (size_t)rand() % (len + 1);
        }
        /* Decode from a copy of exactly len bytes so overreads show. */
        {
            char *copy = malloc(len ? len : 1);

            cr_assert_not_null(copy);
            memcpy(copy, buf, len);
            if (herd_pubsub_decode(copy, len, &m) == HERD_OK) {
                ok++;
                n = herd_pubsub_encode(&m, again, sizeof(again));
                cr_assert_eq(n, len);
                cr_assert_eq(memcmp(again, copy, len), 0);
            }
            free(copy);
        }
    }
    cr_assert_gt(ok, 1000, "the mutations let some through: %d", ok);
}
