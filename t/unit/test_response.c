/* test_response.c: status reasons, Date, fixed and error responses. */
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"
#include "response.h"

Test(response, reasons)
{
    cr_expect_str_eq(herd_status_reason(200), "OK");
    cr_expect_str_eq(herd_status_reason(404), "Not Found");
    cr_expect_str_eq(herd_status_reason(431),
                     "Request Header Fields Too Large");
    cr_expect_str_eq(herd_status_reason(499), "Client Error");
    cr_expect_str_eq(herd_status_reason(299), "Success");
    cr_expect_str_eq(herd_status_reason(42), "Unknown");
}

Test(response, date_header_format_and_cache)
{
    size_t len;
    const char *d = herd_date_header(0, &len);

    cr_expect_eq(len, strlen("Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
    cr_expect(memcmp(d, "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n", len) == 0);
    d = herd_date_header(1795405800, &len);
    cr_expect(memcmp(d, "Date: Mon, 23 Nov 2026 03:50:00 GMT\r\n", len) == 0,
              "got %.*s", (int)len, d);
}

static struct herd_header hdrs[] = {{"Content-Type", "text/plain"},
                                    {"X-A", "1"}};

Test(response, fixed_get_keepalive)
{
    struct herd_respond_conf conf = {200, "Hello World!\n", 13, hdrs, 2};
    struct herd_fixed_response r;
    struct herd_buf out = {0};
    const char *want = "HTTP/1.1 200 OK\r\nServer: herd\r\n"
                       "Content-Type: text/plain\r\nX-A: 1\r\n"
                       "Content-Length: 13\r\n"
                       "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n"
                       "Hello World!\n";

    cr_assert_eq(herd_fixed_response_init(&r, &conf), HERD_OK);
    cr_assert_eq(herd_fixed_response_write(&r, &out, 0, HERD_CONN_NONE, 0),
                 HERD_OK);
    cr_expect_eq(out.len, strlen(want));
    cr_expect(memcmp(out.data, want, out.len) == 0, "got:\n%.*s", (int)out.len,
              out.data);
    herd_fixed_response_free(&r);
    herd_buf_free(&out);
}

Test(response, fixed_head_and_close)
{
    struct herd_respond_conf conf = {201, "abc", 3, NULL, 0};
    struct herd_fixed_response r;
    struct herd_buf out = {0};
    const char *want = "HTTP/1.1 201 Created\r\nServer: herd\r\n"
                       "Content-Length: 3\r\n"
                       "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                       "Connection: close\r\n\r\n";

    cr_assert_eq(herd_fixed_response_init(&r, &conf), HERD_OK);
    cr_assert_eq(herd_fixed_response_write(&r, &out, 0, HERD_CONN_CLOSE, 1),
                 HERD_OK);
    cr_expect_eq(out.len, strlen(want));
    cr_expect(memcmp(out.data, want, out.len) == 0, "got:\n%.*s", (int)out.len,
              out.data);
    herd_fixed_response_free(&r);
    herd_buf_free(&out);
}

Test(response, no_content_has_no_length)
{
    struct herd_respond_conf conf = {204, "", 0, NULL, 0};
    struct herd_fixed_response r;
    struct herd_buf out = {0};
    const char *want = "HTTP/1.1 204 No Content\r\nServer: herd\r\n"
                       "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                       "Connection: keep-alive\r\n\r\n";

    cr_assert_eq(herd_fixed_response_init(&r, &conf), HERD_OK);
    cr_assert_eq(herd_fixed_response_write(&r, &out, 0, HERD_CONN_KEEPALIVE, 0),
                 HERD_OK);
    cr_expect_eq(out.len, strlen(want));
    cr_expect(memcmp(out.data, want, out.len) == 0, "got:\n%.*s", (int)out.len,
              out.data);
    herd_fixed_response_free(&r);
    herd_buf_free(&out);
}

Test(response, error_with_allow)
{
    struct herd_buf out = {0};
    char allow[64];
    const char *want = "HTTP/1.1 405 Method Not Allowed\r\nServer: herd\r\n"
                       "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                       "Allow: GET, HEAD, DELETE\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 23\r\n\r\n"
                       "405 Method Not Allowed\n";

    herd_allow_header_value(HERD_M_DELETE | HERD_M_GET | HERD_M_HEAD, allow,
                            sizeof(allow));
    cr_expect_str_eq(allow, "GET, HEAD, DELETE");
    cr_assert_eq(
        herd_error_response_write(&out, 405, 0, HERD_CONN_NONE, allow, 0),
        HERD_OK);
    cr_expect_eq(out.len, strlen(want));
    cr_expect(memcmp(out.data, want, out.len) == 0, "got:\n%.*s", (int)out.len,
              out.data);
    herd_buf_free(&out);
}

Test(response, buf_grows)
{
    struct herd_buf b = {0};
    char chunk[1000];
    int i;

    memset(chunk, 'x', sizeof(chunk));
    for (i = 0; i < 100; i++)
        cr_assert_eq(herd_buf_append(&b, chunk, sizeof(chunk)), HERD_OK);
    cr_expect_eq(b.len, 100000);
    cr_expect_geq(b.cap, b.len);
    cr_expect_eq(b.data[99999], 'x');
    herd_buf_free(&b);
    cr_expect_null(b.data);
    cr_expect_eq(b.len, 0);
}

/* What a route or a module may not write: herd's own fields, in any case. */
Test(response, managed_fields)
{
    static const char *const managed[] = {
        "Content-Length", "transfer-encoding", "CONNECTION", "Date",
        "Server",         "x-request-id",
    };
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(managed); i++)
        cr_expect(herd_response_managed_field(managed[i], strlen(managed[i])),
                  "%s", managed[i]);
    cr_expect(!herd_response_managed_field("Content-Type", 12));
    cr_expect(!herd_response_managed_field("Date2", 5));
    cr_expect(!herd_response_managed_field("Dat", 3));
}
