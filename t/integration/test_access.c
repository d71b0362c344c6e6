/* test_access.c: the access log of the real herd: lines, JSON, reopen. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "jsonv.h"

static struct hh_server srv;
static char dir[64], path[128], keys[256];

static const char *const yaml = "workers: 2\n"
                                "proxy: { trusted: [127.0.0.0/8] }\n"
                                "routes:\n"
                                "  - { path: /, respond: { body: \"hi\" } }\n";

static void
start(const char *format)
{
    snprintf(dir, sizeof(dir), "/tmp/herd-access-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/access.log", dir);
    snprintf(keys, sizeof(keys), "access: %s, format: %s", path, format);
    cr_assert_eq(hh_start_log(&srv, yaml, 2, keys), 0, "herd did not start");
}

static void
start_combined(void)
{
    start("combined");
}

static void
start_json(void)
{
    start("json");
}

static void
stop(void)
{
    char old[160];

    if (srv.pid > 0) /* not stopped by the test itself */
        cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
    snprintf(old, sizeof(old), "%s.1", path);
    unlink(old);
    unlink(path);
    rmdir(dir);
}

/* The contents of file p (malloc'd, NUL-terminated), or NULL. */
static char *
slurp(const char *p)
{
    FILE *f = fopen(p, "rb");
    char *buf;
    size_t n;

    if (f == NULL)
        return NULL;
    buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int
count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Poll until p holds at least n lines (or timeout_ms pass); returns how
   many it holds then. */
static int
wait_lines(const char *p, int n, int timeout_ms)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    int have = 0, waited;

    for (waited = 0; waited <= timeout_ms; waited += 10) {
        char *s = slurp(p);
        have = s ? count_lines(s) : 0;
        free(s);
        if (have >= n)
            break;
        nanosleep(&ts, NULL);
    }
    return have;
}

static void
get(const char *raw)
{
    struct hh_response r;

    cr_assert_eq(hh_request(&srv, raw, &r), 0);
    hh_response_free(&r);
}

TestSuite(combined, .init = start_combined, .fini = stop, .timeout = 30);

Test(combined, line_has_every_field)
{
    char *s;

    get("GET /nope?q=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: tester/1\r\n"
        "Referer: http://ref/\r\nX-Forwarded-For: 198.51.100.4\r\n"
        "X-Request-Id: rid-77\r\n\r\n");
    /* Buffered, but flushed within 100 ms. */
    cr_assert_eq(wait_lines(path, 1, 1000), 1);
    s = slurp(path);
    cr_expect(strncmp(s, "198.51.100.4 - - [", 18) == 0, "%s", s);
    cr_expect(strstr(s, " +0000] \"GET /nope?q=1 HTTP/1.1\" 404 ") != NULL,
              "%s", s);
    cr_expect(strstr(s, " \"http://ref/\" \"tester/1\" id=rid-77 us=") != NULL,
              "%s", s);
    cr_expect(strstr(s, " slot=0\n") != NULL || strstr(s, " slot=1\n"), "%s",
              s);
    free(s);
}

Test(combined, refused_request_is_logged)
{
    char *s;

    get("BREW / HTTP/1.1\r\n\r\n");
    cr_assert_eq(wait_lines(path, 1, 1000), 1);
    s = slurp(path);
    cr_expect(strstr(s, "\" 400 ") != NULL, "%s", s);
    free(s);
}

Test(combined, reopen_after_rename)
{
    char old[160], *s;

    snprintf(old, sizeof(old), "%s.1", path);
    get("GET /before HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(wait_lines(path, 1, 1000), 1);
    cr_assert_eq(rename(path, old), 0);
    kill(srv.pid, SIGUSR1);
    cr_assert_eq(hh_wait_log(&srv, "SIGUSR1", 1, 3000), 0);
    usleep(200000); /* the workers get it from the master */
    get("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(wait_lines(path, 1, 1000), 1, "no new file after SIGUSR1");
    s = slurp(path);
    cr_expect(strstr(s, "/after") != NULL, "%s", s);
    free(s);
    s = slurp(old);
    cr_expect(strstr(s, "/before") != NULL && strstr(s, "/after") == NULL, "%s",
              s);
    free(s);
}

TestSuite(json, .init = start_json, .fini = stop, .timeout = 60);

Test(json, every_line_is_one_object_and_all_arrive)
{
    enum { N = 400 };
    char *s, *line, *nl;
    int i, n = 0, slot0 = 0, slot1 = 0, https = 0;

    for (i = 0; i < N; i++)
        get(i % 2
                ? "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: a\"b\\c\xc3\r\n\r\n"
                : "GET /x HTTP/1.0\r\nX-Forwarded-Proto: https\r\n\r\n");
    /* Stopping flushes what the workers still buffer. */
    cr_expect_eq(hh_stop(&srv), 0);
    s = slurp(path);
    cr_assert_not_null(s);
    for (line = s; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        cr_assert_not_null(nl, "a line without its end");
        cr_assert_eq(jv_object(line, (size_t)(nl - line)), 0,
                     "not one JSON object: %.*s", (int)(nl - line), line);
        *nl = '\0';
        https += strstr(line, "\"scheme\":\"https\"") != NULL;
        slot0 += strstr(line, "\"slot\":0}") != NULL;
        slot1 += strstr(line, "\"slot\":1}") != NULL;
        n++;
    }
    free(s);
    cr_expect_eq(n, N);
    cr_expect_eq(https, N / 2, "X-Forwarded-Proto from a trusted peer");
    cr_expect_eq(slot0 + slot1, N, "%d + %d", slot0, slot1);
    cr_expect_gt(slot0, 0, "slot 0 served nothing");
    cr_expect_gt(slot1, 0, "slot 1 served nothing");
}

TestSuite(full, .timeout = 30);

Test(full, lost_lines_are_reported_once)
{
    struct hh_server s;
    struct hh_response r;
    int i;

    cr_assert_eq(hh_start_log(&s,
                              "workers: 1\n"
                              "routes:\n"
                              "  - { path: /, respond: { body: \"hi\" } }\n",
                              1, "access: /dev/full"),
                 0);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(hh_request(&s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r),
                     0);
        cr_expect_eq(r.status, 200, "serving goes on");
        hh_response_free(&r);
        usleep(150000); /* one flush each */
    }
    cr_expect_eq(hh_wait_log(&s, "access log: write failed", 1, 2000), 0);
    cr_expect_eq(hh_log_count(&s, "access log: write failed"), 1,
                 "reported more than once");
    cr_expect_eq(hh_stop(&s), 0);
}
