/* test_parse.c: unit tests for herd_parse_duration and herd_parse_size. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

static uint64_t
duration_ok(const char *text)
{
    char err[HERD_ERR_LEN] = "";
    uint64_t ms = 12345;

    cr_assert_eq(herd_parse_duration(text, &ms, err, sizeof(err)), HERD_OK,
                 "\"%s\" was refused: %s", text, err);
    return ms;
}

static void
duration_bad(const char *text, const char *expected)
{
    char err[HERD_ERR_LEN] = "";
    uint64_t ms = 12345;

    cr_assert_eq(herd_parse_duration(text, &ms, err, sizeof(err)), HERD_ERR,
                 "\"%s\" was accepted as %llu ms", text,
                 (unsigned long long)ms);
    cr_assert_eq(ms, 12345, "*ms changed on failure");
    cr_assert_str_eq(err, expected);
}

static uint64_t
size_ok(const char *text)
{
    char err[HERD_ERR_LEN] = "";
    uint64_t bytes = 12345;

    cr_assert_eq(herd_parse_size(text, &bytes, err, sizeof(err)), HERD_OK,
                 "\"%s\" was refused: %s", text, err);
    return bytes;
}

static void
size_bad(const char *text, const char *expected)
{
    char err[HERD_ERR_LEN] = "";
    uint64_t bytes = 12345;

    cr_assert_eq(herd_parse_size(text, &bytes, err, sizeof(err)), HERD_ERR,
                 "\"%s\" was accepted as %llu bytes", text,
                 (unsigned long long)bytes);
    cr_assert_eq(bytes, 12345, "*bytes changed on failure");
    cr_assert_str_eq(err, expected);
}

Test(duration, units)
{
    cr_assert_eq(duration_ok("250ms"), 250);
    cr_assert_eq(duration_ok("10s"), 10000);
    cr_assert_eq(duration_ok("5m"), 300000);
    cr_assert_eq(duration_ok("2h"), 7200000);
    cr_assert_eq(duration_ok("1d"), 86400000);
}

Test(duration, bare_integer_is_seconds)
{
    cr_assert_eq(duration_ok("75"), 75000);
    cr_assert_eq(duration_ok("0"), 0);
    cr_assert_eq(duration_ok("0ms"), 0);
    cr_assert_eq(duration_ok("007s"), 7000);
}

Test(duration, largest_values)
{
    /* 2^64 - 1 ms fits; one more does not. */
    cr_assert_eq(duration_ok("18446744073709551615ms"), UINT64_MAX);
    cr_assert_eq(duration_ok("18446744073709551s"), 18446744073709551000u);
    duration_bad("18446744073709551616ms",
                 "invalid duration \"18446744073709551616ms\": too large");
    duration_bad("18446744073709552s",
                 "invalid duration \"18446744073709552s\": too large");
    duration_bad("213503982335d",
                 "invalid duration \"213503982335d\": too large");
    cr_assert_eq(duration_ok("213503982334d"), 213503982334ull * 86400000u);
    duration_bad("99999999999999999999999999",
                 "invalid duration \"99999999999999999999999999\": too "
                 "large");
}

Test(duration, unknown_unit)
{
    duration_bad("10x", "invalid duration \"10x\": unknown unit \"x\" (use "
                        "ms, s, m, h or d)");
    duration_bad("10S", "invalid duration \"10S\": unknown unit \"S\" (use "
                        "ms, s, m, h or d)");
    duration_bad("10sec", "invalid duration \"10sec\": unknown unit \"sec\" "
                          "(use ms, s, m, h or d)");
    duration_bad("1us", "invalid duration \"1us\": unknown unit \"us\" (use "
                        "ms, s, m, h or d)");
    duration_bad("1h30m", "invalid duration \"1h30m\": unknown unit "
                          "\"h30m\" (use ms, s, m, h or d)");
}

Test(duration, malformed)
{
    duration_bad("", "invalid duration \"\": empty value");
    duration_bad(NULL, "invalid duration \"\": empty value");
    duration_bad("s", "invalid duration \"s\": expected a number");
    duration_bad("ms", "invalid duration \"ms\": expected a number");
    duration_bad("-1s", "invalid duration \"-1s\": no sign allowed");
    duration_bad("+1s", "invalid duration \"+1s\": no sign allowed");
    duration_bad(" 1s", "invalid duration \" 1s\": no spaces allowed");
    duration_bad("1 s", "invalid duration \"1 s\": no spaces allowed");
    duration_bad("1s ", "invalid duration \"1s \": no spaces allowed");
    duration_bad("1.5s", "invalid duration \"1.5s\": fractions are not "
                         "allowed (use a smaller unit)");
    duration_bad("1,5s", "invalid duration \"1,5s\": fractions are not "
                         "allowed (use a smaller unit)");
}

Test(duration, message_escapes_and_truncates)
{
    duration_bad("1\x01", "invalid duration \"1\\x01\": unknown unit "
                          "\"\\x01\" (use ms, s, m, h or d)");
    duration_bad("1\"", "invalid duration \"1\\\"\": unknown unit \"\\\"\" "
                        "(use ms, s, m, h or d)");
    duration_bad("1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                 "invalid duration "
                 "\"1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\": unknown "
                 "unit \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" (use "
                 "ms, s, m, h or d)");
}

Test(duration, small_error_buffer)
{
    char err[8];
    uint64_t ms;

    cr_assert_eq(herd_parse_duration("10x", &ms, err, sizeof(err)), HERD_ERR);
    cr_assert_str_eq(err, "invalid");
    cr_assert_eq(herd_parse_duration("10x", &ms, NULL, 0), HERD_ERR);
}

Test(size, suffixes)
{
    cr_assert_eq(size_ok("0"), 0);
    cr_assert_eq(size_ok("512"), 512);
    cr_assert_eq(size_ok("512b"), 512);
    cr_assert_eq(size_ok("8k"), 8192);
    cr_assert_eq(size_ok("8K"), 8192);
    cr_assert_eq(size_ok("8kb"), 8192);
    cr_assert_eq(size_ok("8KB"), 8192);
    cr_assert_eq(size_ok("8kB"), 8192);
    cr_assert_eq(size_ok("1m"), 1048576);
    cr_assert_eq(size_ok("1MB"), 1048576);
    cr_assert_eq(size_ok("1g"), 1073741824);
    cr_assert_eq(size_ok("3G"), 3221225472u);
    cr_assert_eq(size_ok("0k"), 0);
}

Test(size, largest_values)
{
    cr_assert_eq(size_ok("18446744073709551615"), UINT64_MAX);
    cr_assert_eq(size_ok("17179869183g"), 17179869183ull << 30);
    size_bad("17179869184g", "invalid size \"17179869184g\": too large");
    size_bad("18446744073709551616", "invalid size \"18446744073709551616\": "
                                     "too large");
    size_bad("18014398509481984k", "invalid size \"18014398509481984k\": "
                                   "too large");
}

Test(size, unknown_unit)
{
    size_bad("8x", "invalid size \"8x\": unknown unit \"x\" (use k, m or g, "
                   "optionally followed by b)");
    size_bad("8t", "invalid size \"8t\": unknown unit \"t\" (use k, m or g, "
                   "optionally followed by b)");
    size_bad("8kk", "invalid size \"8kk\": unknown unit \"kk\" (use k, m or "
                    "g, optionally followed by b)");
    size_bad("8kbb", "invalid size \"8kbb\": unknown unit \"kbb\" (use k, m "
                     "or g, optionally followed by b)");
    size_bad("8kib", "invalid size \"8kib\": unknown unit \"kib\" (use k, m "
                     "or g, optionally followed by b)");
}

Test(size, malformed)
{
    size_bad("", "invalid size \"\": empty value");
    size_bad("k", "invalid size \"k\": expected a number");
    size_bad("-8k", "invalid size \"-8k\": no sign allowed");
    size_bad("+8k", "invalid size \"+8k\": no sign allowed");
    size_bad("8 k", "invalid size \"8 k\": no spaces allowed");
    size_bad("\t8k", "invalid size \"\\x098k\": no spaces allowed");
    size_bad("1.5m", "invalid size \"1.5m\": fractions are not allowed (use "
                     "a smaller unit)");
}
