/* test_access.c: unit tests for access log lines, combined and JSON. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "jsonv.h"

static struct herd_access_entry
sample(void)
{
    struct herd_access_entry e;

    memset(&e, 0, sizeof(e));
    e.when.tv_sec = 1795411474; /* 2026-11-23T05:24:34Z */
    e.when.tv_usec = 13000;
    e.client = "203.0.113.9";
    e.id = "abc-1";
    e.idlen = 5;
    e.method = "GET";
    e.scheme = "https";
    e.target = "/x?y=1";
    e.target_len = 6;
    e.version = 11;
    e.status = 200;
    e.bytes = 154;
    e.duration_us = 321;
    e.ua = "curl/8";
    e.ua_len = 6;
    e.referer = "http://r/";
    e.referer_len = 9;
    e.slot = 3;
    return e;
}

static char *
line(enum herd_access_fmt fmt, const struct herd_access_entry *e,
     struct herd_buf *b)
{
    b->len = 0;
    cr_assert_eq(herd_access_format(b, fmt, e), HERD_OK);
    cr_assert_eq(herd_buf_append(b, "", 1), HERD_OK); /* NUL */
    return b->data;
}

Test(access, combined)
{
    struct herd_access_entry e = sample();
    struct herd_buf b = {0};

    cr_expect_str_eq(line(HERD_ACCESS_COMBINED, &e, &b),
                     "203.0.113.9 - - [23/Nov/2026:05:24:34 +0000] "
                     "\"GET /x?y=1 HTTP/1.1\" 200 154 \"http://r/\" "
                     "\"curl/8\" id=abc-1 us=321 slot=3\n");
    herd_buf_free(&b);
}

Test(access, json)
{
    struct herd_access_entry e = sample();
    struct herd_buf b = {0};
    char *s = line(HERD_ACCESS_JSON, &e, &b);

    cr_expect_str_eq(s, "{\"time\":\"2026-11-23T05:24:34.013Z\","
                        "\"client\":\"203.0.113.9\",\"id\":\"abc-1\","
                        "\"method\":\"GET\",\"scheme\":\"https\","
                        "\"target\":\"/x?y=1\","
                        "\"version\":\"HTTP/1.1\",\"status\":200,"
                        "\"bytes\":154,\"duration_us\":321,"
                        "\"user_agent\":\"curl/8\",\"referer\":\"http://r/\","
                        "\"slot\":3}\n");
    cr_expect_eq(jv_object(s, strlen(s)), 0);
    herd_buf_free(&b);
}

Test(access, missing_fields)
{
    struct herd_access_entry e = sample();
    struct herd_buf b = {0};
    char *s;

    e.method = "";
    e.target = NULL;
    e.target_len = 0;
    e.version = 0;
    e.status = 400;
    e.ua = NULL;
    e.ua_len = 0;
    e.referer = NULL;
    e.referer_len = 0;
    cr_expect_str_eq(line(HERD_ACCESS_COMBINED, &e, &b),
                     "203.0.113.9 - - [23/Nov/2026:05:24:34 +0000] "
                     "\"- - -\" 400 154 \"-\" \"-\" id=abc-1 us=321 slot=3\n");
    s = line(HERD_ACCESS_JSON, &e, &b);
    cr_expect(strstr(s, "\"target\":null,\"version\":null") != NULL, "%s", s);
    cr_expect(strstr(s, "\"user_agent\":null,\"referer\":null") != NULL, "%s",
              s);
    cr_expect_eq(jv_object(s, strlen(s)), 0);
    herd_buf_free(&b);
}

Test(access, hostile_bytes_are_escaped)
{
    static const char ua[] = "a\"b\\c\x01\x7f\xc3\xa9\n}";
    struct herd_access_entry e = sample();
    struct herd_buf b = {0};
    char *s;

    e.ua = ua;
    e.ua_len = sizeof(ua) - 1;
    s = line(HERD_ACCESS_COMBINED, &e, &b);
    cr_expect(strstr(s, "\"a\\x22b\\x5cc\\x01\\x7f\\xc3\\xa9\\x0a}\"") != NULL,
              "%s", s);
    cr_expect_eq(strchr(s, '\n'), s + strlen(s) - 1, "one line: %s", s);
    s = line(HERD_ACCESS_JSON, &e, &b);
    cr_expect(strstr(s, "\"user_agent\":\"a\\\"b\\\\c\\u0001\\u007f"
                        "\\u00c3\\u00a9\\u000a}\"") != NULL,
              "%s", s);
    cr_expect_eq(strchr(s, '\n'), s + strlen(s) - 1, "one line: %s", s);
    cr_expect_eq(jv_object(s, strlen(s)), 0);
    herd_buf_free(&b);
}

static int
valid(const char *s)
{
    return jv_object(s, strlen(s)) == 0;
}

Test(access, validator_is_strict)
{
    cr_expect(valid("{\"a\":[1,-2.5e3,true,null,\"x\"]}"));
    cr_expect(!valid("{\"a\":1,}"));
    cr_expect(!valid("{\"a\":01}"));
    cr_expect(!valid("{\"a\":\"\x01\"}"));
    cr_expect(!valid("{\"a\":\"\xff\"}"));
    cr_expect(!valid("{} {}"));
    cr_expect(!valid("[]"));
}

Test(access, flush_writes_whole_lines)
{
    struct herd_access_log l;
    struct herd_access_entry e = sample();
    char path[] = "/tmp/herd-access-XXXXXX", err[HERD_ERR_LEN], buf[65536];
    int fd = mkstemp(path), i;
    ssize_t n;

    cr_assert_geq(fd, 0);
    cr_assert_eq(herd_access_open(&l, path, HERD_ACCESS_JSON, err, sizeof(err)),
                 HERD_OK);
    cr_expect(herd_access_on(&l));
    for (i = 0; i < 100; i++)
        herd_access_add(&l, &e);
    cr_expect(herd_access_pending(&l));
    n = read(fd, buf, sizeof(buf));
    cr_expect_eq(n, 0, "written before a flush");
    herd_access_flush(&l);
    cr_expect(!herd_access_pending(&l));
    n = read(fd, buf, sizeof(buf));
    cr_assert_gt(n, 0);
    cr_expect_eq(buf[n - 1], '\n');
    herd_access_close(&l);
    close(fd);
    unlink(path);
}

Test(access, off_writes_nothing)
{
    struct herd_access_log l;
    struct herd_access_entry e = sample();
    char err[HERD_ERR_LEN];

    cr_assert_eq(
        herd_access_open(&l, "off", HERD_ACCESS_COMBINED, err, sizeof(err)),
        HERD_OK);
    cr_expect(!herd_access_on(&l));
    cr_expect_eq(herd_access_add(&l, &e), 0);
    cr_expect(!herd_access_pending(&l));
    herd_access_close(&l);
}
