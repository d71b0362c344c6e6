/* test_todo.c: real herd over sockets: the todo example module on SQLite. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "jsonv.h"

#define NCLIENTS 4  /* client processes writing at once */
#define NCREATES 25 /* todos each of them creates */

static struct hh_server srv;
static char tmp[256];       /* the temp dir that holds the database */
static int errors_expected; /* the test makes herd log errors */

/* The build directory: $HERD_BUILDDIR, else the current directory (make
   check and scripts/valgrind-check both run suites from there). */
static const char *
builddir(void)
{
    static char cwd[4096];
    const char *dir = getenv("HERD_BUILDDIR");

    if (dir != NULL && dir[0] != '\0')
        return dir;
    cr_assert_not_null(getcwd(cwd, sizeof(cwd)), "getcwd: %s", strerror(errno));
    return cwd;
}

/* The YAML routing /todos and /todos/:id to todo.so on database db. */
static void
todo_yaml(char *yaml, size_t len, int workers, const char *db)
{
    const char *build = builddir();

    snprintf(yaml, len,
             "workers: %d\n"
             "routes:\n"
             "  - path: /todos\n"
             "    methods: [GET, POST]\n"
             "    module:\n"
             "      file: %s/examples/todo/todo.so\n"
             "      handler: todo_collection\n"
             "      config: { database: %s }\n"
             "  - path: /todos/:id\n"
             "    methods: [GET, PUT, PATCH, DELETE]\n"
             "    module:\n"
             "      file: %s/examples/todo/todo.so\n"
             "      handler: todo_item\n"
             "      config: { database: %s }\n",
             workers, build, db, build, db);
}

static void
make_tmp(void)
{
    strcpy(tmp, "/tmp/herd-todo-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp), "mkdtemp: %s", strerror(errno));
}

static void
remove_tmp(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    cr_expect_eq(system(cmd), 0);
}

static void
start(int workers)
{
    char yaml[2048], db[300];

    make_tmp();
    snprintf(db, sizeof(db), "%s/todo.db", tmp);
    todo_yaml(yaml, sizeof(yaml), workers, db);
    cr_assert_eq(hh_start(&srv, yaml, workers), 0, "herd did not start");
}

static void
start1(void)
{
    start(1);
}

static void
start2(void)
{
    start(2);
}

static void
stop(void)
{
    cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
    if (!errors_expected)
        cr_expect_eq(hh_log_count(&srv, "[error]"), 0, "herd logged errors");
    remove_tmp();
}

/* Build a request: method target, with body (NULL: none) and extra
   header lines. */
static void
build(char *out, size_t len, const char *method, const char *target,
      const char *body, const char *extra)
{
    if (body == NULL)
        snprintf(out, len, "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", method,
                 target, extra ? extra : "");
    else
        snprintf(out, len,
                 "%s %s HTTP/1.1\r\nHost: x\r\n%s"
                 "Content-Length: %zu\r\n\r\n%s",
                 method, target,
                 extra ? extra : "Content-Type: application/json\r\n",
                 strlen(body), body);
}

/* Send one request on a new connection; the response in r. */
static void
call(const char *method, const char *target, const char *body,
     struct hh_response *r)
{
    char raw[4096];

    build(raw, sizeof(raw), method, target, body, NULL);
    cr_assert_eq(hh_request(&srv, raw, r), 0, "no response to %s %s", method,
                 target);
}

/* Expect r to be status with a JSON error body saying something. */
static void
expect_error(const struct hh_response *r, int status, const char *what)
{
    char ct[128];

    cr_expect_eq(r->status, status, "%s: status %d, want %d: %s", what,
                 r->status, status, r->body ? r->body : "");
    cr_assert_not_null(r->body, "%s: no body", what);
    cr_expect_eq(jv_object(r->body, r->body_len), 0,
                 "%s: not a JSON object: %s", what, r->body);
    cr_expect_not_null(strstr(r->body, "\"error\":\""),
                       "%s: no error message: %s", what, r->body);
    cr_expect_not_null(hh_header(r, "Content-Type", ct, sizeof(ct)),
                       "%s: no Content-Type", what);
    cr_expect_str_eq(ct, "application/json", "%s", what);
}

/* POST /todos body; expect 201 and return the new id. */
static long
create(const char *body)
{
    struct hh_response r;
    char loc[128], want[64];
    long id;

    call("POST", "/todos", body, &r);
    cr_assert_eq(r.status, 201, "POST %s: %d %s", body, r.status,
                 r.body ? r.body : "");
    cr_assert_not_null(hh_header(&r, "Location", loc, sizeof(loc)),
                       "no Location in %s", r.head);
    cr_assert_eq(sscanf(loc, "/todos/%ld", &id), 1, "Location: %s", loc);
    cr_assert_gt(id, 0);
    snprintf(want, sizeof(want), "{\"id\":%ld,", id);
    cr_expect_eq(strncmp(r.body, want, strlen(want)), 0,
                 "created %s, Location %s", r.body, loc);
    cr_expect_eq(jv_object(r.body, r.body_len), 0, "%s", r.body);
    hh_response_free(&r);
    return id;
}

/* The status of method target with body, on a new connection. */
static int
status_of(const char *method, const char *target, const char *body)
{
    struct hh_response r;
    int status;

    call(method, target, body, &r);
    status = r.status;
    hh_response_free(&r);
    return status;
}

/* How many todos a list body holds. */
static int
count_ids(const char *body)
{
    int n = 0;

    while ((body = strstr(body, "\"id\":")) != NULL) {
        n++;
        body++;
    }
    return n;
}

TestSuite(todo, .init = start1, .fini = stop, .timeout = 60);

Test(todo, crud_round_trip)
{
    struct hh_response r;
    char target[64], want[256], ct[128];
    long id;

    id = create("{\"title\": \"buy milk\"}");
    snprintf(target, sizeof(target), "/todos/%ld", id);

    call("GET", target, NULL, &r);
    cr_expect_eq(r.status, 200);
    snprintf(want, sizeof(want),
             "{\"id\":%ld,\"title\":\"buy milk\",\"done\":false}", id);
    cr_expect_str_eq(r.body, want);
    cr_expect_not_null(hh_header(&r, "Content-Type", ct, sizeof(ct)));
    cr_expect_str_eq(ct, "application/json");
    hh_response_free(&r);

    call("GET", "/todos", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(jv_value(r.body, r.body_len), 0, "%s", r.body);
    cr_expect_eq(r.body[0], '[', "not an array: %s", r.body);
    cr_expect_not_null(strstr(r.body, want), "%s not in %s", want, r.body);
    hh_response_free(&r);

    call("PUT", target, "{\"title\": \"buy oat milk\", \"done\": true}", &r);
    cr_expect_eq(r.status, 200, "%s", r.body);
    snprintf(want, sizeof(want),
             "{\"id\":%ld,\"title\":\"buy oat milk\",\"done\":true}", id);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);

    /* PUT replaces: done left out is false again. */
    call("PUT", target, "{\"title\": \"buy soy milk\"}", &r);
    cr_expect_eq(r.status, 200, "%s", r.body);
    snprintf(want, sizeof(want),
             "{\"id\":%ld,\"title\":\"buy soy milk\",\"done\":false}", id);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);

    /* PATCH changes only what it names. */
    call("PATCH", target, "{\"done\": true}", &r);
    cr_expect_eq(r.status, 200, "%s", r.body);
    snprintf(want, sizeof(want),
             "{\"id\":%ld,\"title\":\"buy soy milk\",\"done\":true}", id);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);

    call("PATCH", target, "{\"title\": \"milk\"}", &r);
    cr_expect_eq(r.status, 200, "%s", r.body);
    snprintf(want, sizeof(want),
             "{\"id\":%ld,\"title\":\"milk\",\"done\":true}", id);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);

    /* Another connection sees the change. */
    call("GET", target, NULL, &r);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);

    call("DELETE", target, NULL, &r);
    cr_expect_eq(r.status, 204);
    cr_expect_eq(r.body_len, 0);
    hh_response_free(&r);

    call("GET", target, NULL, &r);
    expect_error(&r, 404, "GET after DELETE");
    hh_response_free(&r);
    cr_expect_eq(status_of("DELETE", target, NULL), 404);
}

Test(todo, list_is_ordered_and_ids_are_not_reused)
{
    struct hh_response r;
    char target[64];
    const char *p, *q;
    long a, b, c, d;

    a = create("{\"title\": \"a\"}");
    b = create("{\"title\": \"b\", \"done\": true}");
    c = create("{\"title\": \"c\", \"done\": false}");
    cr_expect(a < b && b < c);
    snprintf(target, sizeof(target), "/todos/%ld", c);
    cr_expect_eq(status_of("DELETE", target, NULL), 204);
    d = create("{\"title\": \"d\"}");
    cr_expect_gt(d, c, "id %ld reused", c);

    call("GET", "/todos", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(jv_value(r.body, r.body_len), 0, "%s", r.body);
    cr_expect_eq(count_ids(r.body), 3, "%s", r.body);
    p = strstr(r.body, "\"title\":\"a\"");
    q = strstr(r.body, "\"title\":\"b\",\"done\":true");
    cr_expect(p != NULL && q != NULL && p < q, "order: %s", r.body);
    p = strstr(r.body, "\"title\":\"d\"");
    cr_expect(p != NULL && q < p, "order: %s", r.body);
    cr_expect_null(strstr(r.body, "\"title\":\"c\""), "%s", r.body);
    hh_response_free(&r);
}

Test(todo, unicode_and_escapes_round_trip)
{
    struct hh_response r;
    char target[64];
    long id;

    id = create("{\"title\": \"caf\\u00e9 \\\"quoted\\\" \xe2\x9c\x93\"}");
    snprintf(target, sizeof(target), "/todos/%ld", id);
    call("GET", target, NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(jv_object(r.body, r.body_len), 0, "%s", r.body);
    cr_expect_not_null(
        strstr(r.body, "\"title\":\"caf\xc3\xa9 \\\"quoted\\\" \xe2\x9c\x93\""),
        "%s", r.body);
    hh_response_free(&r);
}

Test(todo, empty_list_is_an_empty_array)
{
    struct hh_response r;

    call("GET", "/todos", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "[]");
    hh_response_free(&r);
}

Test(todo, bad_json_is_400_with_line_and_column)
{
    static const char *bodies[] = {
        "{\"title\": ",
        "{\"title\": \"x\",}",
        "not json",
        "",
        "{\"title\": \"x\"} trailing",
        "{\"title\": \"x\", \"title\": \"y\"}", /* duplicate key */
        "{\"title\": \"\\u0000\"}",             /* NUL in a title */
        "{\"title\": \"\xff\"}",                /* not UTF-8 */
    };
    struct hh_response r;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        call("POST", "/todos", bodies[i], &r);
        expect_error(&r, 400, bodies[i]);
        cr_expect_not_null(strstr(r.body, "invalid JSON"), "%s -> %s",
                           bodies[i], r.body);
        cr_expect_not_null(strstr(r.body, "line 1, column "), "%s -> %s",
                           bodies[i], r.body);
        hh_response_free(&r);
    }
    /* On a later line, the line says so. */
    call("POST", "/todos", "{\n  \"title\": \"x\",\n  oops\n}", &r);
    expect_error(&r, 400, "multi-line");
    cr_expect_not_null(strstr(r.body, "line 3, column "), "%s", r.body);
    hh_response_free(&r);
    call("GET", "/todos", NULL, &r);
    cr_expect_str_eq(r.body, "[]", "a bad request created a todo");
    hh_response_free(&r);
}

Test(todo, wrong_fields_are_400)
{
    static const struct {
        const char *body, *says;
    } cases[] = {
        {"{\"title\": 5}", "title must be a string"},
        {"{\"title\": null}", "title must be a string"},
        {"{\"title\": [\"x\"]}", "title must be a string"},
        {"{\"title\": \"\"}", "title must not be empty"},
        {"{\"done\": true}", "title is required"},
        {"{}", "title is required"},
        {"{\"title\": \"x\", \"done\": \"yes\"}", "done must be true or false"},
        {"{\"title\": \"x\", \"done\": 1}", "done must be true or false"},
        {"{\"title\": \"x\", \"done\": null}", "done must be true or false"},
        {"{\"title\": \"x\", \"colour\": \"red\"}",
         "unknown key \\\"colour\\\""},
        {"{\"title\": \"x\", \"id\": 3}", "unknown key \\\"id\\\""},
        {"[\"title\"]", "must be a JSON object"},
        {"[]", "must be a JSON object"},
    };
    struct hh_response r;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        call("POST", "/todos", cases[i].body, &r);
        expect_error(&r, 400, cases[i].body);
        cr_expect_not_null(strstr(r.body, cases[i].says), "%s -> %s",
                           cases[i].body, r.body);
        hh_response_free(&r);
    }
    call("GET", "/todos", NULL, &r);
    cr_expect_str_eq(r.body, "[]", "a bad request created a todo");
    hh_response_free(&r);
}

Test(todo, title_of_1000_bytes_but_not_1001)
{
    char body[1100];
    struct hh_response r;

    strcpy(body, "{\"title\":\"");
    memset(body + 10, 'x', 1001);
    strcpy(body + 1011, "\"}");
    call("POST", "/todos", body, &r);
    expect_error(&r, 400, "1001 bytes");
    cr_expect_not_null(strstr(r.body, "at most 1000"), "%s", r.body);
    hh_response_free(&r);

    strcpy(body + 1010, "\"}");
    create(body);
    /* Bytes count, not characters: 334 three-byte characters are 1002. */
    strcpy(body, "{\"title\":\"");
    for (int i = 0; i < 334; i++)
        memcpy(body + 10 + 3 * i, "\xe2\x9c\x93", 3);
    strcpy(body + 10 + 3 * 334, "\"}");
    call("POST", "/todos", body, &r);
    expect_error(&r, 400, "1002 bytes");
    hh_response_free(&r);
}

Test(todo, put_and_patch_check_their_bodies)
{
    char target[64], want[64];
    struct hh_response r;
    long id;

    id = create("{\"title\": \"t\"}");
    snprintf(target, sizeof(target), "/todos/%ld", id);

    call("PUT", target, "{\"done\": true}", &r);
    expect_error(&r, 400, "PUT without title");
    cr_expect_not_null(strstr(r.body, "title is required"), "%s", r.body);
    hh_response_free(&r);

    call("PATCH", target, "{}", &r);
    expect_error(&r, 400, "PATCH {}");
    cr_expect_not_null(strstr(r.body, "nothing to change"), "%s", r.body);
    hh_response_free(&r);

    call("PATCH", target, "{\"done\": \"true\"}", &r);
    expect_error(&r, 400, "PATCH done string");
    hh_response_free(&r);

    call("PATCH", target, "{\"title\": \"\"}", &r);
    expect_error(&r, 400, "PATCH empty title");
    hh_response_free(&r);

    call("PATCH", target, "{\"title\": \"x\", \"tags\": []}", &r);
    expect_error(&r, 400, "PATCH unknown key");
    hh_response_free(&r);

    call("PUT", target, "{\"title\": \"x\"", &r);
    expect_error(&r, 400, "PUT bad JSON");
    cr_expect_not_null(strstr(r.body, "line 1"), "%s", r.body);
    hh_response_free(&r);

    /* The id a GET returned may come back, but not another. */
    call("PUT", target, "{\"id\": 999999, \"title\": \"x\"}", &r);
    expect_error(&r, 400, "PUT another id");
    hh_response_free(&r);
    snprintf(want, sizeof(want), "{\"id\": %ld, \"title\": \"same\"}", id);
    cr_expect_eq(status_of("PUT", target, want), 200);

    /* Nothing bad changed it. */
    call("GET", target, NULL, &r);
    snprintf(want, sizeof(want), "{\"id\":%ld,\"title\":\"same\",", id);
    cr_expect_eq(strncmp(r.body, want, strlen(want)), 0, "%s", r.body);
    hh_response_free(&r);
}

Test(todo, unknown_id_is_404)
{
    static const char *methods[] = {"GET", "PUT", "PATCH", "DELETE"};
    struct hh_response r;
    size_t i;

    for (i = 0; i < 4; i++) {
        const char *body =
            strcmp(methods[i], "GET") == 0 || strcmp(methods[i], "DELETE") == 0
                ? NULL
                : "{\"title\": \"x\"}";

        call(methods[i], "/todos/424242", body, &r);
        expect_error(&r, 404, methods[i]);
        cr_expect_not_null(strstr(r.body, "no such todo"), "%s", r.body);
        hh_response_free(&r);
    }
}

Test(todo, non_numeric_id_is_404)
{
    static const char *targets[] = {
        "/todos/abc", "/todos/0",    "/todos/-1",
        "/todos/1x",  "/todos/+1",   "/todos/1.0",
        "/todos/007", "/todos/0x1",  "/todos/99999999999999999999",
        "/todos/%20", "/todos/1%00",
    };
    struct hh_response r;
    size_t i;
    long id;

    id = create("{\"title\": \"one\"}");
    cr_assert_eq(id, 1, "the first todo is %ld", id);
    for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        call("GET", targets[i], NULL, &r);
        /* herd itself may refuse %00 in a path (400): never a todo. */
        if (strcmp(targets[i], "/todos/1%00") == 0 && r.status == 400) {
            hh_response_free(&r);
            continue;
        }
        expect_error(&r, 404, targets[i]);
        hh_response_free(&r);
        cr_expect_eq(status_of("DELETE", targets[i], NULL), 404, "%s",
                     targets[i]);
        cr_expect_eq(status_of("PATCH", targets[i], "{\"done\": true}"), 404,
                     "%s", targets[i]);
    }
    /* Percent-encoded digits are digits. */
    cr_expect_eq(status_of("GET", "/todos/%31", NULL), 200);
    cr_expect_eq(status_of("GET", "/todos/1", NULL), 200);
}

Test(todo, head_has_no_body)
{
    struct hh_response r;
    char raw[512], len[32], ct[128];
    int fd;

    create("{\"title\": \"head\"}");
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    /* The GET after the HEAD would not parse if HEAD had sent a body. */
    snprintf(raw, sizeof(raw),
             "HEAD /todos HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /todos HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(hh_send(fd, raw, 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 0);
    cr_expect_not_null(hh_header(&r, "Content-Type", ct, sizeof(ct)));
    cr_expect_str_eq(ct, "application/json");
    cr_expect_not_null(hh_header(&r, "Content-Length", len, sizeof(len)));
    hh_response_free(&r);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0, "no GET after HEAD");
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, strtoul(len, NULL, 10),
                 "HEAD said %s bytes, GET sent %zu", len, r.body_len);
    cr_expect_not_null(strstr(r.body, "\"title\":\"head\""), "%s", r.body);
    hh_response_free(&r);
    close(fd);

    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    cr_assert_eq(hh_send(fd, "HEAD /todos/1 HTTP/1.1\r\nHost: x\r\n\r\n", 0),
                 0);
    cr_assert_eq(hh_read_response(fd, &r, 1), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.body_len, 0);
    hh_response_free(&r);
    close(fd);
}

Test(todo, method_not_allowed_is_405)
{
    struct hh_response r;
    char allow[128];

    create("{\"title\": \"x\"}");
    call("DELETE", "/todos", NULL, &r);
    cr_expect_eq(r.status, 405);
    cr_expect_not_null(hh_header(&r, "Allow", allow, sizeof(allow)), "%s",
                       r.head);
    hh_response_free(&r);
    cr_expect_eq(status_of("PUT", "/todos", "{\"title\": \"x\"}"), 405);
    cr_expect_eq(status_of("POST", "/todos/1", "{\"title\": \"x\"}"), 405);
    /* Nothing was deleted or created. */
    call("GET", "/todos", NULL, &r);
    cr_expect_eq(count_ids(r.body), 1, "%s", r.body);
    hh_response_free(&r);
}

Test(todo, content_type_is_not_checked)
{
    struct hh_response r;
    char raw[512];

    build(raw, sizeof(raw), "POST", "/todos", "{\"title\": \"plain\"}",
          "Content-Type: text/plain\r\n");
    cr_assert_eq(hh_request(&srv, raw, &r), 0);
    cr_expect_eq(r.status, 201, "%s", r.body);
    hh_response_free(&r);
    build(raw, sizeof(raw), "POST", "/todos", "{\"title\": \"none\"}", "");
    cr_assert_eq(hh_request(&srv, raw, &r), 0);
    cr_expect_eq(r.status, 201, "%s", r.body);
    hh_response_free(&r);
}

Test(todo, chunked_body)
{
    struct hh_response r;

    cr_assert_eq(hh_request(&srv,
                            "POST /todos HTTP/1.1\r\nHost: x\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n"
                            "8\r\n{\"title\"\r\n"
                            "9\r\n: \"chunk\"\r\n"
                            "1\r\n}\r\n0\r\n\r\n",
                            &r),
                 0);
    cr_expect_eq(r.status, 201, "%s", r.body);
    cr_expect_not_null(strstr(r.body, "\"title\":\"chunk\""), "%s", r.body);
    hh_response_free(&r);
}

Test(todo, keepalive_connection_serves_many)
{
    struct hh_response r;
    char raw[512];
    int fd, i;

    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    for (i = 0; i < 20; i++) {
        build(raw, sizeof(raw), "POST", "/todos", "{\"title\": \"k\"}", NULL);
        cr_assert_eq(hh_send(fd, raw, 0), 0);
        cr_assert_eq(hh_read_response(fd, &r, 0), 0);
        cr_expect_eq(r.status, 201);
        hh_response_free(&r);
    }
    build(raw, sizeof(raw), "GET", "/todos", NULL, NULL);
    cr_assert_eq(hh_send(fd, raw, 0), 0);
    cr_assert_eq(hh_read_response(fd, &r, 0), 0);
    cr_expect_eq(count_ids(r.body), 20, "%s", r.body);
    hh_response_free(&r);
    close(fd);
}

Test(todo, large_list_is_sent_whole)
{
    struct hh_response r;
    char body[1100], raw[256];
    int i, fd;

    /* 40 todos of 1000-byte titles: a list of some 41 kB, which herd
       sends from the module's memory (herd_respond_ref), not a copy. */
    strcpy(body, "{\"title\":\"");
    memset(body + 10, 'L', 1000);
    strcpy(body + 1010, "\"}");
    for (i = 0; i < 40; i++)
        create(body);
    fd = hh_connect(&srv);
    cr_assert_geq(fd, 0);
    snprintf(raw, sizeof(raw), "GET /todos HTTP/1.1\r\nHost: x\r\n\r\n");
    /* Pipelined: each response must follow the previous body whole. */
    for (i = 0; i < 3; i++)
        cr_assert_eq(hh_send(fd, raw, 0), 0);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(hh_read_response(fd, &r, 0), 0, "response %d", i);
        cr_expect_eq(r.status, 200);
        cr_expect_gt(r.body_len, 40000);
        cr_expect_eq(jv_value(r.body, r.body_len), 0, "response %d", i);
        cr_expect_eq(count_ids(r.body), 40);
        hh_response_free(&r);
    }
    close(fd);
}

Test(todo, reload_keeps_the_data)
{
    struct hh_response r;
    char target[64], want[128];
    pid_t old;
    long id;

    id = create("{\"title\": \"survives\", \"done\": true}");
    snprintf(target, sizeof(target), "/todos/%ld", id);
    old = hh_worker_pid(&srv, 0, 1);
    cr_assert_gt(old, 0);
    /* The new generation's master opens the file while the old worker
       holds it; the old worker then closes it on its way out. */
    cr_assert_eq(kill(srv.pid, SIGHUP), 0);
    cr_assert_eq(hh_wait_log(&srv, "reloaded: generation 2 serving", 1, 10000),
                 0, "no reload");
    cr_expect_eq(hh_wait_gone(old, 10000), 0, "old worker %d still runs",
                 (int)old);
    call("GET", target, NULL, &r);
    cr_expect_eq(r.status, 200);
    snprintf(want, sizeof(want),
             "{\"id\":%ld,\"title\":\"survives\",\"done\":true}", id);
    cr_expect_str_eq(r.body, want);
    hh_response_free(&r);
    cr_expect_gt(create("{\"title\": \"after\"}"), id);
    cr_expect_eq(hh_log_count(&srv, "reload failed"), 0);
}

Test(todo, database_failure_is_500_and_logged)
{
    struct hh_response r;
    char cmd[512];

    if (system("command -v sqlite3 >/dev/null 2>&1") != 0)
        cr_skip_test("no sqlite3 command to break the database with");
    create("{\"title\": \"x\"}");
    /* The worker's prepared statements now fail: no such table. */
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s/todo.db' 'DROP TABLE todos'", tmp);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    errors_expected = 1;
    call("GET", "/todos", NULL, &r);
    expect_error(&r, 500, "GET without a table");
    cr_expect_not_null(strstr(r.body, "internal error"), "%s", r.body);
    hh_response_free(&r);
    call("POST", "/todos", "{\"title\": \"y\"}", &r);
    expect_error(&r, 500, "POST without a table");
    hh_response_free(&r);
    cr_expect_eq(hh_wait_log(&srv, "no such table: todos", 2, 5000), 0,
                 "the failures were not logged");
    cr_expect_eq(hh_log_count(&srv, "[error] worker 0"), 2);
}

/* ---- two workers writing at once --------------------------------------- */

TestSuite(todo_workers, .init = start2, .fini = stop, .timeout = 120);

/* The status of method target with body on a new connection, or -1: for
   client processes, which must not assert. */
static int
raw_status(const char *method, const char *target, const char *body)
{
    struct hh_response r;
    char raw[4096];
    int status;

    build(raw, sizeof(raw), method, target, body, NULL);
    if (hh_request(&srv, raw, &r) != 0)
        return -1;
    status = r.status;
    hh_response_free(&r);
    return status;
}

/* What a client process reports for each todo it created. */
struct created {
    long id;
    int post_status, get_status;
    int same; /* the GET returned what the POST did */
};

/* A client process: NCREATES times, POST on a new connection, then GET
   the new todo on another new connection. Reports on fd. */
static void
client(int fd, int n)
{
    struct hh_response r, g;
    struct created c;
    char raw[512], body[128], loc[128], target[160];
    int i;

    for (i = 0; i < NCREATES; i++) {
        memset(&c, 0, sizeof(c));
        snprintf(body, sizeof(body), "{\"title\": \"client %d todo %d\"}", n,
                 i);
        build(raw, sizeof(raw), "POST", "/todos", body, NULL);
        if (hh_request(&srv, raw, &r) == 0) {
            c.post_status = r.status;
            if (r.status == 201 &&
                hh_header(&r, "Location", loc, sizeof(loc)) != NULL &&
                sscanf(loc, "/todos/%ld", &c.id) == 1) {
                snprintf(target, sizeof(target), "/todos/%ld", c.id);
                build(raw, sizeof(raw), "GET", target, NULL, NULL);
                if (hh_request(&srv, raw, &g) == 0) {
                    c.get_status = g.status;
                    c.same = g.body != NULL && r.body != NULL &&
                             strcmp(g.body, r.body) == 0;
                    hh_response_free(&g);
                }
            }
            hh_response_free(&r);
        }
        if (write(fd, &c, sizeof(c)) != (ssize_t)sizeof(c))
            _exit(1);
    }
    _exit(0);
}

Test(todo_workers, concurrent_creates_are_all_visible)
{
    static struct created all[NCLIENTS * NCREATES];
    struct hh_response r;
    pid_t pids[NCLIENTS], w0, w1;
    char target[64], text[128];
    int fds[2], i, j, n = 0, status, served0, served1;
    ssize_t got;

    cr_assert_eq(pipe(fds), 0);
    for (i = 0; i < NCLIENTS; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0, "fork: %s", strerror(errno));
        if (pids[i] == 0) {
            close(fds[0]);
            client(fds[1], i);
        }
    }
    close(fds[1]);
    while (n < NCLIENTS * NCREATES &&
           (got = read(fds[0], &all[n], sizeof(all[0]))) ==
               (ssize_t)sizeof(all[0]))
        n++;
    close(fds[0]);
    for (i = 0; i < NCLIENTS; i++) {
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "client %d failed", i);
    }
    cr_assert_eq(n, NCLIENTS * NCREATES, "only %d reports", n);
    for (i = 0; i < n; i++) {
        cr_expect_eq(all[i].post_status, 201, "a POST got %d",
                     all[i].post_status);
        cr_expect_eq(all[i].get_status, 200,
                     "GET of new todo %ld on another connection: %d", all[i].id,
                     all[i].get_status);
        cr_expect(all[i].same, "GET of %ld differs from its POST", all[i].id);
        for (j = 0; j < i; j++)
            cr_expect_neq(all[i].id, all[j].id, "id %ld given twice",
                          all[i].id);
    }

    /* Every write is visible on fresh connections, to either worker. */
    for (i = 0; i < n; i++) {
        snprintf(target, sizeof(target), "/todos/%ld", all[i].id);
        cr_expect_eq(status_of("GET", target, NULL), 200, "%s", target);
    }
    call("GET", "/todos", NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(jv_value(r.body, r.body_len), 0);
    cr_expect_eq(count_ids(r.body), n, "the list has %d todos, want %d",
                 count_ids(r.body), n);
    hh_response_free(&r);

    /* Both workers wrote: each logged some of the 201s. */
    w0 = hh_worker_pid(&srv, 0, 0);
    w1 = hh_worker_pid(&srv, 1, 0);
    cr_assert(w0 > 0 && w1 > 0 && w0 != w1, "workers %d and %d", (int)w0,
              (int)w1);
    snprintf(text, sizeof(text), "worker 0 %d: POST /todos 201", (int)w0);
    served0 = hh_wait_log(&srv, text, 1, 5000) == 0;
    snprintf(text, sizeof(text), "worker 1 %d: POST /todos 201", (int)w1);
    served1 = hh_wait_log(&srv, text, 1, 5000) == 0;
    cr_expect(served0 && served1, "only one worker served POSTs (%d, %d)",
              served0, served1);
    cr_expect_eq(hh_log_count(&srv, " 500 client"), 0, "a request got 500");
}

Test(todo_workers, concurrent_patches_of_one_todo)
{
    struct hh_response r;
    pid_t pids[NCLIENTS];
    char target[64], body[64];
    int i, k, status;
    long id;

    id = create("{\"title\": \"contended\"}");
    snprintf(target, sizeof(target), "/todos/%ld", id);
    for (i = 0; i < NCLIENTS; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0) {
            for (k = 0; k < NCREATES; k++) {
                snprintf(body, sizeof(body), "{\"title\": \"p%d-%d\"}", i, k);
                if (raw_status("PATCH", target, body) != 200)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (i = 0; i < NCLIENTS; i++) {
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "client %d saw a PATCH fail", i);
    }
    call("GET", target, NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_not_null(strstr(r.body, "\"title\":\"p"), "%s", r.body);
    hh_response_free(&r);
}

/* ---- configuration errors ---------------------------------------------- */

/* Run herd -t on yaml, written to tmp/herd.yaml (path); the exit status,
   the output in out. */
static int
check_config(const char *yaml, char *out, size_t len, char *path,
             size_t pathlen)
{
    char *argv[] = {"herd", "-t", "-c", path, NULL};

    snprintf(path, pathlen, "%s/herd.yaml", tmp);
    cr_assert_eq(hh_write_file(path, yaml), 0);
    return hh_run(argv, out, len);
}

/* Stop herd when a test that started it failed half-way. */
static void
config_fini(void)
{
    if (srv.pid > 0)
        hh_stop(&srv);
    remove_tmp();
}

TestSuite(todo_config, .init = make_tmp, .fini = config_fini, .timeout = 30);

Test(todo_config, missing_database_names_the_route)
{
    char yaml[1024], out[4096], path[300], want[400];
    const char *build = builddir();

    snprintf(yaml, sizeof(yaml),
             "workers: 1\n"
             "routes:\n"
             "  - path: /ok\n"
             "    respond: { body: ok }\n"
             "  - path: /todos\n"
             "    module:\n"
             "      file: %s/examples/todo/todo.so\n"
             "      handler: todo_collection\n",
             build);
    cr_expect_eq(check_config(yaml, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    /* The second route starts on line 5, column 5. */
    snprintf(want, sizeof(want), "%s:5:5: ", path);
    cr_expect_not_null(strstr(out, want), "want %s in: %s", want, out);
    cr_expect_not_null(strstr(out, "database"), "%s", out);
    cr_expect_not_null(strstr(out, "required"), "%s", out);
}

Test(todo_config, unusable_database_is_a_config_error)
{
    char yaml[2048], out[4096], path[300];

    todo_yaml(yaml, sizeof(yaml), 1, "/nonexistent-dir/todo.db");
    cr_expect_eq(check_config(yaml, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    cr_expect_not_null(strstr(out, "cannot open database"), "%s", out);
    cr_expect_not_null(strstr(out, "/nonexistent-dir/todo.db"), "%s", out);
}

Test(todo_config, memory_database_is_refused)
{
    char yaml[2048], out[4096], path[300];

    todo_yaml(yaml, sizeof(yaml), 1, "\":memory:\"");
    cr_expect_eq(check_config(yaml, out, sizeof(out), path, sizeof(path)), 1,
                 "%s", out);
    cr_expect_not_null(strstr(out, "one database file"), "%s", out);
}

Test(todo_config, check_creates_the_table)
{
    char yaml[2048], out[4096], path[300], db[300];

    snprintf(db, sizeof(db), "%s/todo.db", tmp);
    todo_yaml(yaml, sizeof(yaml), 1, db);
    cr_expect_eq(check_config(yaml, out, sizeof(out), path, sizeof(path)), 0,
                 "%s", out);
    cr_expect_eq(access(db, R_OK | W_OK), 0, "%s: %s", db, strerror(errno));
}

Test(todo_config, graceful_stop_closes_the_database)
{
    char yaml[2048], db[300], wal[320];

    snprintf(db, sizeof(db), "%s/todo.db", tmp);
    snprintf(wal, sizeof(wal), "%s-wal", db);
    /* One worker: two closing at once may each see the other and leave
       the WAL file to the next opener, as SQLite does. */
    todo_yaml(yaml, sizeof(yaml), 1, db);
    cr_assert_eq(hh_start(&srv, yaml, 1), 0, "herd did not start");
    create("{\"title\": \"x\"}");
    cr_expect_eq(access(wal, F_OK), 0, "no WAL file while serving");
    cr_expect_eq(hh_stop(&srv), 0, "herd did not exit 0 on SIGTERM");
    /* SQLite removes the WAL file when the last connection closes: the
       worker closed its own (herd_module_worker_exit). */
    cr_expect_neq(access(wal, F_OK), 0, "%s left behind", wal);
    cr_expect_eq(access(db, F_OK), 0);
}
