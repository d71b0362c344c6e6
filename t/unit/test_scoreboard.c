/* test_scoreboard.c: unit tests for the shared, seqlocked scoreboard. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scoreboard.h"

#define ROUNDS 200000

/* A score in which every field, route bytes included, derives from v. */
static void
fill(struct herd_score *s, uint32_t v)
{
    size_t i;

    memset(s, 0, sizeof(*s));
    s->health.pid = v;
    s->health.slot = v;
    s->health.generation = v;
    s->health.active_connections = v;
    s->health.requests = v;
    for (i = 0; i < HERD_ARRAY_LEN(s->health.status); i++)
        s->health.status[i] = v;
    s->health.bytes_in = v;
    s->health.bytes_out = v;
    s->health.rss_bytes = v;
    s->health.loop_lag_us = v;
    s->health.uptime_ms = v;
    s->state = v;
    s->restarts = v;
    s->last_exit = (int32_t)v;
    s->last_heartbeat_ms = v;
    s->started_ms = v;
    /* v == 0 is the zeroed score of a fresh scoreboard. */
    if (v > 0)
        memset(s->route, 'A' + (int)(v % 26), sizeof(s->route) - 1);
}

/* True when every field of s equals the same v (returned in *v). */
static int
consistent(const struct herd_score *s, uint32_t *v)
{
    struct herd_score want;

    *v = s->health.pid;
    fill(&want, *v);
    return memcmp(s, &want, sizeof(want)) == 0;
}

/* A score whose fields all differ, to catch a swapped or shifted word. */
static void
distinct(struct herd_score *s, uint32_t seed)
{
    size_t i;

    memset(s, 0, sizeof(*s));
    s->health.pid = seed + 1;
    s->health.slot = seed + 2;
    s->health.generation = seed + 3;
    s->health.active_connections = seed + 4;
    s->health.requests = 0x100000000ULL * seed + 5;
    for (i = 0; i < HERD_ARRAY_LEN(s->health.status); i++)
        s->health.status[i] = 0x100000000ULL * (seed + i) + 6 + i;
    s->health.bytes_in = 0x100000000ULL * seed + 20;
    s->health.bytes_out = 0x100000000ULL * seed + 21;
    s->health.rss_bytes = 0x100000000ULL * seed + 22;
    s->health.loop_lag_us = 0x100000000ULL * seed + 23;
    s->health.uptime_ms = 0xffffffff00000000ULL + seed;
    s->state = HERD_SLOT_DRAINING;
    s->restarts = seed + 30;
    s->last_exit = -11;
    s->last_heartbeat_ms = 0x100000000ULL * seed + 31;
    s->started_ms = 0x100000000ULL * seed + 32;
    strcpy(s->route, "/crash/:id");
}

static void
distinct_server(struct herd_server_score *s, uint32_t seed)
{
    memset(s, 0, sizeof(*s));
    s->master_pid = seed + 1;
    s->generation = seed + 2;
    s->nslots = seed + 3;
    s->reloads = 0x100000000ULL * seed + 4;
    s->started_ms = 0xffffffff00000000ULL + seed;
}

static struct herd_scoreboard *
create(void)
{
    char err[HERD_ERR_LEN] = "";
    struct herd_scoreboard *sb;

    sb = herd_scoreboard_create(err, sizeof(err));
    cr_assert_not_null(sb, "create failed: %s", err);
    return sb;
}

/* Wait for pid; returns its wait status. */
static int
reap(pid_t pid)
{
    int status;

    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(scoreboard, starts_empty)
{
    struct herd_scoreboard *sb = create();
    struct herd_score s, zero;
    struct herd_server_score srv, zsrv;
    size_t slot;

    memset(&zero, 0, sizeof(zero));
    memset(&zsrv, 0, sizeof(zsrv));
    for (slot = 0; slot < HERD_MAX_SLOTS; slot++) {
        herd_scoreboard_read(sb, slot, &s);
        cr_assert_eq(memcmp(&s, &zero, sizeof(s)), 0, "slot %zu", slot);
        cr_assert_eq(s.state, HERD_SLOT_EMPTY);
    }
    herd_scoreboard_read_server(sb, &srv);
    cr_assert_eq(memcmp(&srv, &zsrv, sizeof(srv)), 0);
    herd_scoreboard_destroy(sb);
}

Test(scoreboard, round_trip_first_and_last_slot)
{
    struct herd_scoreboard *sb = create();
    struct herd_score in0, inl, out, zero;

    distinct(&in0, 100);
    distinct(&inl, 200);
    memset(&zero, 0, sizeof(zero));
    herd_scoreboard_write(sb, 0, &in0);
    herd_scoreboard_write(sb, HERD_MAX_SLOTS - 1, &inl);

    herd_scoreboard_read(sb, 0, &out);
    cr_assert_eq(memcmp(&out, &in0, sizeof(out)), 0, "slot 0");
    herd_scoreboard_read(sb, HERD_MAX_SLOTS - 1, &out);
    cr_assert_eq(memcmp(&out, &inl, sizeof(out)), 0, "last slot");
    cr_assert_str_eq(out.route, "/crash/:id");
    cr_assert_eq(out.last_exit, -11);
    herd_scoreboard_read(sb, 1, &out);
    cr_assert_eq(memcmp(&out, &zero, sizeof(out)), 0, "neighbour touched");
    herd_scoreboard_read(sb, HERD_MAX_SLOTS - 2, &out);
    cr_assert_eq(memcmp(&out, &zero, sizeof(out)), 0, "neighbour touched");

    /* A rewrite replaces the whole score. */
    herd_scoreboard_write(sb, 0, &inl);
    herd_scoreboard_read(sb, 0, &out);
    cr_assert_eq(memcmp(&out, &inl, sizeof(out)), 0, "rewrite");
    herd_scoreboard_destroy(sb);
}

Test(scoreboard, round_trip_server)
{
    struct herd_scoreboard *sb = create();
    struct herd_server_score in, out;
    struct herd_score slot0, zero;

    distinct_server(&in, 7);
    memset(&zero, 0, sizeof(zero));
    herd_scoreboard_write_server(sb, &in);
    herd_scoreboard_read_server(sb, &out);
    cr_assert_eq(memcmp(&out, &in, sizeof(out)), 0);
    herd_scoreboard_read(sb, 0, &slot0);
    cr_assert_eq(memcmp(&slot0, &zero, sizeof(slot0)), 0, "slot 0 touched");
    herd_scoreboard_destroy(sb);
}

Test(scoreboard, slot_out_of_range)
{
    struct herd_scoreboard *sb = create();
    struct herd_score in, out;

    distinct(&in, 1);
    herd_scoreboard_write(sb, HERD_MAX_SLOTS, &in);
    memset(&out, 0xff, sizeof(out));
    herd_scoreboard_read(sb, HERD_MAX_SLOTS, &out);
    cr_assert_eq(out.state, HERD_SLOT_EMPTY);
    cr_assert_eq(out.health.pid, 0);
    herd_scoreboard_destroy(sb);
}

Test(scoreboard, destroy_accepts_null)
{
    herd_scoreboard_destroy(NULL);
}

/* The child, like a worker, protects its view and then sees what the
   master writes after the fork. */
Test(scoreboard, visible_across_fork, .timeout = 5)
{
    struct herd_scoreboard *sb = create();
    struct herd_server_score srv, got_srv;
    struct herd_score in, got;
    int go[2], status;
    pid_t pid;
    char c = 0;

    cr_assert_eq(pipe(go), 0);
    distinct(&in, 42);
    distinct_server(&srv, 43);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(go[1]);
        if (herd_scoreboard_protect(sb) != HERD_OK)
            _exit(2);
        if (read(go[0], &c, 1) != 1)
            _exit(3);
        herd_scoreboard_read(sb, 5, &got);
        herd_scoreboard_read_server(sb, &got_srv);
        if (memcmp(&got, &in, sizeof(got)) != 0)
            _exit(4);
        if (memcmp(&got_srv, &srv, sizeof(got_srv)) != 0)
            _exit(5);
        herd_scoreboard_destroy(sb);
        _exit(0);
    }
    close(go[0]);
    herd_scoreboard_write(sb, 5, &in);
    herd_scoreboard_write_server(sb, &srv);
    cr_assert_eq(write(go[1], &c, 1), 1);
    close(go[1]);
    status = reap(pid);
    cr_assert(WIFEXITED(status), "child died: status %d", status);
    cr_assert_eq(WEXITSTATUS(status), 0,
                 "child exit %d (2 protect, 4 slot, 5 server mismatch)",
                 WEXITSTATUS(status));
    herd_scoreboard_destroy(sb);
}

/* After protect, a worker cannot write: the attempt is a SIGSEGV, and the
   master's data and its own right to write are untouched. */
Test(scoreboard, protect_makes_writes_fault, .timeout = 5)
{
    struct herd_scoreboard *sb = create();
    struct herd_score in, evil, out;
    struct rlimit no_core = {0, 0};
    int status;
    pid_t pid;

    distinct(&in, 9);
    distinct(&evil, 666);
    herd_scoreboard_write(sb, 3, &in);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL);
        if (herd_scoreboard_protect(sb) != HERD_OK)
            _exit(2);
        herd_scoreboard_read(sb, 3, &out);
        if (memcmp(&out, &in, sizeof(out)) != 0)
            _exit(3);
        herd_scoreboard_write(sb, 3, &evil);
        _exit(0);
    }
    status = reap(pid);
    cr_assert(WIFSIGNALED(status),
              "child was not killed: exit %d (2 protect failed, 3 bad read)",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    cr_assert_eq(WTERMSIG(status), SIGSEGV, "child died of signal %d",
                 WTERMSIG(status));

    herd_scoreboard_read(sb, 3, &out);
    cr_assert_eq(memcmp(&out, &in, sizeof(out)), 0, "the child's write landed");
    herd_scoreboard_write(sb, 3, &evil);
    herd_scoreboard_read(sb, 3, &out);
    cr_assert_eq(memcmp(&out, &evil, sizeof(out)), 0, "master cannot write");
    herd_scoreboard_destroy(sb);
}

/* A writer process rewrites one slot ROUNDS times while this process reads
   it ROUNDS times and until the last write: no read may mix two writes, and
   none may go back. The mapping's writer, busy here as the master never is,
   makes most reads retry, so few succeed while it runs; removing either
   half of the reader's check makes it fail in most runs. */
Test(scoreboard, reads_consistent_under_concurrent_writes, .timeout = 5)
{
    struct herd_scoreboard *sb = create();
    struct herd_score s;
    uint32_t v, last = 0, changes = 0, i;
    int go[2], status;
    pid_t pid;
    char c = 0;

    cr_assert_eq(pipe(go), 0);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        for (i = 1; i <= ROUNDS; i++) {
            fill(&s, i);
            herd_scoreboard_write(sb, 7, &s);
        }
        _exit(0);
    }
    close(go[0]);
    cr_assert_eq(write(go[1], &c, 1), 1);
    close(go[1]);

    /* Count from the writer's first write, so the reads overlap it (waits
       are bounded by the test's timeout). */
    do {
        herd_scoreboard_read(sb, 7, &s);
        cr_assert(consistent(&s, &v), "torn read while waiting for the writer");
    } while (v == 0);
    for (i = 0; i < ROUNDS || v < ROUNDS; i++) {
        herd_scoreboard_read(sb, 7, &s);
        if (!consistent(&s, &v))
            cr_assert_fail("read %u is torn: pid %u, state %u, uptime %llu, "
                           "started %llu",
                           i, s.health.pid, s.state,
                           (unsigned long long)s.health.uptime_ms,
                           (unsigned long long)s.started_ms);
        cr_assert_geq(v, last, "read %u went back from %u to %u", i, last, v);
        if (v != last)
            changes++;
        last = v;
    }
    status = reap(pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "writer failed: status %d", status);
    herd_scoreboard_read(sb, 7, &s);
    cr_assert(consistent(&s, &v));
    cr_assert_eq(v, ROUNDS);
    cr_log_info("%u reads saw a new value (of %u writes)", changes, ROUNDS);
    herd_scoreboard_destroy(sb);
}
