/* test_ident.c: unit tests for adding X-Request-Id to rendered responses. */
#include <criterion/criterion.h>
#include <string.h>

#include "ident.h"

static void
put(struct herd_buf *b, const char *s)
{
    cr_assert_eq(herd_buf_append(b, s, strlen(s)), HERD_OK);
}

Test(ident, header_goes_after_the_status_line)
{
    struct herd_buf b = {0};

    put(&b, "HTTP/1.1 200 OK\r\nServer: herd\r\n\r\nbody");
    cr_assert_eq(herd_ident_add_header(&b, 0, "abc", 3), HERD_OK);
    cr_expect_eq(b.len, strlen("HTTP/1.1 200 OK\r\nX-Request-Id: abc\r\n"
                               "Server: herd\r\n\r\nbody"));
    cr_expect_eq(memcmp(b.data,
                        "HTTP/1.1 200 OK\r\nX-Request-Id: abc\r\n"
                        "Server: herd\r\n\r\nbody",
                        b.len),
                 0);
    herd_buf_free(&b);
}

Test(ident, only_the_response_at_start_changes)
{
    static const char first[] = "HTTP/1.1 204 No Content\r\n\r\n";
    static const char want[] = "HTTP/1.1 204 No Content\r\n\r\n"
                               "HTTP/1.1 404 Not Found\r\n"
                               "X-Request-Id: id-2\r\n\r\n404\n";
    struct herd_buf b = {0};

    put(&b, first);
    put(&b, "HTTP/1.1 404 Not Found\r\n\r\n404\n");
    cr_assert_eq(herd_ident_add_header(&b, sizeof(first) - 1, "id-2", 4),
                 HERD_OK);
    cr_expect_eq(b.len, sizeof(want) - 1);
    cr_expect_eq(memcmp(b.data, want, b.len), 0);
    herd_buf_free(&b);
}

Test(ident, nothing_at_start_is_refused)
{
    struct herd_buf b = {0};

    cr_expect_eq(herd_ident_add_header(&b, 0, "x", 1), HERD_ERR);
    put(&b, "HTTP/1.1 200 OK");
    cr_expect_eq(herd_ident_add_header(&b, 0, "x", 1), HERD_ERR);
    cr_expect_eq(herd_ident_add_header(&b, 99, "x", 1), HERD_ERR);
    cr_expect_eq(b.len, strlen("HTTP/1.1 200 OK"));
    herd_buf_free(&b);
}
