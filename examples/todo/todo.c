/*
 * todo.c: an example herd module, a JSON REST API of todos kept in SQLite.
 *
 *     GET    /todos       the list, ordered by id
 *     POST   /todos       create: {"title": "...", "done": false} -> 201
 *     GET    /todos/:id   one todo, or 404
 *     PUT    /todos/:id   replace title (required) and done (default false)
 *     PATCH  /todos/:id   change title and/or done
 *     DELETE /todos/:id   204
 *
 * Both routes take module.config.database, the path of the SQLite file.
 * The master checks it at configuration load (creating the file and the
 * table, then closing it again: no connection crosses fork()); each
 * worker opens one connection per database file, shared by the routes
 * that name it, and prepares its statements once. README.md tells more.
 */
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herd.h>

#define TITLE_MAX        1000 /* bytes of UTF-8 */
#define BUSY_TIMEOUT     5000 /* ms a writer waits for another one */
#define COLLECTION_ALLOW "GET, HEAD, POST"
#define ITEM_ALLOW       "GET, HEAD, PUT, PATCH, DELETE"

int todo_collection(struct herd_request *req);
int todo_item(struct herd_request *req);

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS todos ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " title TEXT NOT NULL,"
    " done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)))";

/* The statements a worker prepares once; their order is struct todo_db's. */
enum stmt {
    ST_LIST,
    ST_GET,
    ST_INSERT,
    ST_REPLACE,
    ST_PATCH,
    ST_DELETE,
    ST_COUNT
};

/* RETURNING makes each write one statement, so a write never upgrades a
   read transaction (which would fail with SQLITE_BUSY at once instead of
   waiting busy_timeout for the other worker). */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_LIST] = "SELECT id, title, done FROM todos ORDER BY id",
    [ST_GET] = "SELECT id, title, done FROM todos WHERE id = ?1",
    [ST_INSERT] = "INSERT INTO todos (title, done) VALUES (?2, ?3)"
                  " RETURNING id, title, done",
    [ST_REPLACE] = "UPDATE todos SET title = ?2, done = ?3 WHERE id = ?1"
                   " RETURNING id, title, done",
    [ST_PATCH] = "UPDATE todos SET title = coalesce(?2, title),"
                 " done = coalesce(?3, done) WHERE id = ?1"
                 " RETURNING id, title, done",
    [ST_DELETE] = "DELETE FROM todos WHERE id = ?1",
};

/*
 * A worker's connection to one database file, shared by every route that
 * names that file (the hooks run once per route) and closed when the last
 * of them exits. Set as each route's data with herd_config_set_data().
 */
struct todo_db {
    char *path;
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    int refs;
    struct todo_db *next;
};

/* This process's open databases: only ever non-empty in a worker. */
static struct todo_db *dbs;

/* What a request body asks for, once checked. */
struct todo_input {
    const char *title; /* NULL when not given; owned by the json_t */
    size_t title_len;
    int done; /* -1 when not given, else 0 or 1 */
};

/* ---- configuration ----------------------------------------------------- */

/* The database path of cfg, or NULL after herd_config_error(). */
static const char *
database_path(struct herd_module_config *cfg)
{
    const char *path = herd_config_get(cfg, "database");

    if (path == NULL) {
        herd_config_error(cfg, "module.config.database is required "
                               "(the path of the SQLite database file)");
        return NULL;
    }
    if (path[0] == '\0' || strcmp(path, ":memory:") == 0) {
        herd_config_error(cfg,
                          "module.config.database: \"%s\" is not a "
                          "file: every worker must share one database file",
                          path);
        return NULL;
    }
    return path;
}

/*
 * Open path with busy_timeout set. flags as for sqlite3_open_v2(). Returns
 * the connection, or NULL after herd_config_error().
 */
static sqlite3 *
open_db(struct herd_module_config *cfg, const char *path, int flags)
{
    sqlite3 *db = NULL;
    int rc;

    rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        herd_config_error(cfg, "cannot open database \"%s\": %s", path,
                          db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto fail;
    }
    rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT);
    if (rc != SQLITE_OK) {
        herd_config_error(cfg, "%s: busy_timeout: %s", path,
                          sqlite3_errmsg(db));
        goto fail;
    }
    return db;

fail:
    sqlite3_close(db);
    return NULL;
}

/* Switch db to WAL mode (it stays so in the file). 0, or -1 after
   herd_config_error(). */
static int
set_wal(struct herd_module_config *cfg, sqlite3 *db, const char *path)
{
    sqlite3_stmt *st = NULL;
    const char *mode;
    int rc, ret = -1;

    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        herd_config_error(cfg, "%s: journal_mode: %s", path,
                          sqlite3_errmsg(db));
        goto done;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        herd_config_error(cfg, "%s: journal_mode: %s", path,
                          sqlite3_errmsg(db));
        goto done;
    }
    mode = (const char *)sqlite3_column_text(st, 0);
    if (mode == NULL || strcmp(mode, "wal") != 0) {
        herd_config_error(cfg,
                          "%s: cannot use WAL mode (journal_mode is "
                          "%s): is the file on a network file system?",
                          path, mode != NULL ? mode : "unknown");
        goto done;
    }
    ret = 0;

done:
    sqlite3_finalize(st);
    return ret;
}

/* Prepare every statement of stmt_sql into st. 0, or -1 after
   herd_config_error() (statements prepared so far stay in st). */
static int
prepare_all(struct herd_module_config *cfg, sqlite3 *db, const char *path,
            sqlite3_stmt **st)
{
    int i;

    for (i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &st[i], NULL) != SQLITE_OK) {
            herd_config_error(cfg, "%s: preparing \"%s\": %s", path,
                              stmt_sql[i], sqlite3_errmsg(db));
            return -1;
        }
    }
    return 0;
}

static void
finalize_all(sqlite3_stmt **st)
{
    int i;

    for (i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(st[i]);
        st[i] = NULL;
    }
}

/*
 * In the master at configuration load: create the database and its table
 * when missing, and check that the statements compile against it, so a
 * bad path or a foreign table is a configuration error. Closes everything
 * before returning.
 */
int
herd_module_init(struct herd_module_config *cfg)
{
    sqlite3_stmt *st[ST_COUNT] = {NULL};
    const char *path;
    sqlite3 *db = NULL;
    char *msg = NULL;
    int ret = -1;

    path = database_path(cfg);
    if (path == NULL)
        goto done;
    db = open_db(cfg, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (db == NULL)
        goto done;
    if (set_wal(cfg, db, path) < 0)
        goto done;
    if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        herd_config_error(cfg, "%s: creating the table: %s", path,
                          msg != NULL ? msg : sqlite3_errmsg(db));
        goto done;
    }
    if (prepare_all(cfg, db, path, st) < 0)
        goto done;
    ret = 0;

done:
    sqlite3_free(msg);
    finalize_all(st);
    if (db != NULL && sqlite3_close(db) != SQLITE_OK && ret == 0) {
        herd_config_error(cfg, "%s: closing: %s", path, sqlite3_errmsg(db));
        ret = -1;
    }
    return ret;
}

static void
todo_db_free(struct todo_db *t)
{
    if (t == NULL)
        return;
    finalize_all(t->stmt);
    if (t->db != NULL && sqlite3_close(t->db) != SQLITE_OK)
        herd_log(HERD_LOG_ERROR, "todo: closing %s: %s", t->path,
                 sqlite3_errmsg(t->db));
    free(t->path);
    free(t);
}

/* In each worker: open (or share) the connection to the route's file. */
int
herd_module_worker_init(struct herd_module_config *cfg)
{
    struct todo_db *t;
    const char *path;

    path = database_path(cfg);
    if (path == NULL)
        return -1;
    for (t = dbs; t != NULL; t = t->next) {
        if (strcmp(t->path, path) == 0) {
            t->refs++;
            herd_config_set_data(cfg, t);
            return 0;
        }
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL || (t->path = strdup(path)) == NULL) {
        herd_config_error(cfg, "out of memory");
        goto fail;
    }
    /* The master created the file: a worker only opens it. */
    t->db = open_db(cfg, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
    if (t->db == NULL || prepare_all(cfg, t->db, path, t->stmt) < 0)
        goto fail;
    t->refs = 1;
    t->next = dbs;
    dbs = t;
    herd_config_set_data(cfg, t);
    return 0;

fail:
    todo_db_free(t);
    return -1;
}

/* In each worker as it stops: the last route using a database closes it. */
void
herd_module_worker_exit(struct herd_module_config *cfg)
{
    struct todo_db *t = herd_config_data(cfg), **p;

    if (t == NULL)
        return;
    herd_config_set_data(cfg, NULL);
    if (--t->refs > 0)
        return;
    for (p = &dbs; *p != NULL; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    todo_db_free(t);
}

/* ---- responses --------------------------------------------------------- */

static void
release_text(void *text)
{
    free(text);
}

/* Answer req with status and value as JSON (value is not consumed). */
static void
respond_value(struct herd_request *req, int status, const json_t *value)
{
    char *text;

    text = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        herd_log(HERD_LOG_ERROR, "todo: out of memory building a response");
        herd_respond_json(req, 500, "{\"error\":\"out of memory\"}");
        return;
    }
    if (herd_response_header(req, "Content-Type", "application/json") < 0) {
        free(text);
        herd_respond_json(req, 500, "{\"error\":\"cannot add a header\"}");
        return;
    }
    /* On failure herd calls release itself. */
    herd_respond_ref(req, status, text, strlen(text), release_text, text);
}

/* Answer req with status and {"error": <fmt...>}. */
static void respond_error(struct herd_request *req, int status, const char *fmt,
                          ...) __attribute__((format(printf, 3, 4)));

static void
respond_error(struct herd_request *req, int status, const char *fmt, ...)
{
    char msg[512], *p;
    json_t *obj;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    obj = json_pack("{s:s}", "error", msg);
    if (obj == NULL) {
        /* Not UTF-8: the message quotes a client's bytes. Say it in
           ASCII. */
        for (p = msg; *p != '\0'; p++) {
            if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
                *p = '?';
        }
        obj = json_pack("{s:s}", "error", msg);
    }
    if (obj == NULL) {
        herd_respond_json(req, 500, "{\"error\":\"out of memory\"}");
        return;
    }
    respond_value(req, status, obj);
    json_decref(obj);
}

/* A failed SQLite call on t while serving req: log it and answer 500. */
static void
fail_db(struct herd_request *req, struct todo_db *t, const char *what)
{
    herd_log(HERD_LOG_ERROR, "todo: %s: %s on %s failed: %s (request %s)",
             t->path, what, herd_request_path(req), sqlite3_errmsg(t->db),
             herd_request_id(req));
    respond_error(req, 500, "internal error: the database failed");
}

static void
not_found(struct herd_request *req)
{
    respond_error(req, 404, "no such todo");
}

static void
method_not_allowed(struct herd_request *req, const char *allow)
{
    herd_response_header(req, "Allow", allow);
    respond_error(req, 405, "method %s not allowed here (allowed: %s)",
                  herd_request_method(req), allow);
}

/* ---- the database ------------------------------------------------------ */

/* The todo in st's current row (id, title, done), or NULL (out of memory,
   or a title that is not UTF-8). */
static json_t *
row_todo(sqlite3_stmt *st)
{
    const char *title = (const char *)sqlite3_column_text(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    json_t *todo;

    todo = json_object();
    if (todo == NULL ||
        json_object_set_new(todo, "id",
                            json_integer(sqlite3_column_int64(st, 0))) < 0 ||
        json_object_set_new(
            todo, "title", json_stringn(title != NULL ? title : "", len)) < 0 ||
        json_object_set_new(todo, "done",
                            json_boolean(sqlite3_column_int(st, 2) != 0)) < 0) {
        json_decref(todo);
        return NULL;
    }
    return todo;
}

/*
 * Bind id (when id > 0), title and done (NULL when title is NULL or done
 * is -1) as ?1, ?2, ?3 of st, step it and answer req with its one row as
 * status, or 404 when there is none. Resets st: a statement left open
 * would hold a read snapshot and hide other workers' writes.
 */
static void
run_one(struct herd_request *req, struct todo_db *t, sqlite3_stmt *st,
        int status, sqlite3_int64 id, const struct todo_input *in,
        const char *what)
{
    json_t *todo = NULL;
    int rc;

    rc = SQLITE_OK;
    if (id > 0)
        rc = sqlite3_bind_int64(st, 1, id);
    if (rc == SQLITE_OK && in != NULL) {
        rc = in->title != NULL
                 ? sqlite3_bind_text(st, 2, in->title, (int)in->title_len,
                                     SQLITE_STATIC)
                 : sqlite3_bind_null(st, 2);
        if (rc == SQLITE_OK)
            rc = in->done >= 0 ? sqlite3_bind_int(st, 3, in->done)
                               : sqlite3_bind_null(st, 3);
    }
    if (rc != SQLITE_OK) {
        fail_db(req, t, what);
        goto done;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        not_found(req);
        goto done;
    }
    if (rc != SQLITE_ROW) {
        fail_db(req, t, what);
        goto done;
    }
    todo = row_todo(st);
    /* Run a write to its end (its changes are made by the first step). */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        fail_db(req, t, what);
        goto done;
    }
    if (todo == NULL) {
        herd_log(HERD_LOG_ERROR, "todo: %s: cannot render todo %" PRId64,
                 t->path, (int64_t)id);
        respond_error(req, 500, "internal error: cannot render the todo");
        goto done;
    }
    if (status == 201) {
        char loc[600];
        const char *base = herd_request_path(req);
        size_t n = strlen(base);

        while (n > 0 && base[n - 1] == '/')
            n--;
        snprintf(loc, sizeof(loc), "%.*s/%" JSON_INTEGER_FORMAT,
                 (int)(n < 512 ? n : 512), base,
                 json_integer_value(json_object_get(todo, "id")));
        if (herd_response_header(req, "Location", loc) < 0) {
            herd_log(HERD_LOG_ERROR, "todo: cannot say Location: %s", loc);
            respond_error(req, 500, "internal error: cannot say Location");
            goto done;
        }
    }
    respond_value(req, status, todo);

done:
    json_decref(todo);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void
list_todos(struct herd_request *req, struct todo_db *t)
{
    sqlite3_stmt *st = t->stmt[ST_LIST];
    json_t *list, *todo;
    int rc;

    list = json_array();
    if (list == NULL)
        goto nomem;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        todo = row_todo(st);
        if (todo == NULL || json_array_append_new(list, todo) < 0)
            goto nomem;
    }
    if (rc != SQLITE_DONE) {
        fail_db(req, t, "listing");
        goto done;
    }
    respond_value(req, 200, list);
    goto done;

nomem:
    herd_log(HERD_LOG_ERROR, "todo: %s: cannot render the list", t->path);
    respond_error(req, 500, "internal error: cannot render the list");

done:
    json_decref(list);
    sqlite3_reset(st);
}

static void
delete_todo(struct herd_request *req, struct todo_db *t, sqlite3_int64 id)
{
    sqlite3_stmt *st = t->stmt[ST_DELETE];

    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        fail_db(req, t, "deleting");
    else if (sqlite3_changes(t->db) == 0)
        not_found(req);
    else
        herd_respond(req, 204, NULL, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* ---- requests ---------------------------------------------------------- */

/*
 * Parse req's body as a todo into in (whose strings point into the
 * returned json_t: json_decref it after use). need_title: title is
 * required (POST, PUT); else at least one of title and done is (PATCH).
 * id: the todo the body is for (0 for a new one): an "id" key is allowed
 * when it says the same. Returns NULL after answering 400.
 */
static json_t *
parse_input(struct herd_request *req, int need_title, sqlite3_int64 id,
            struct todo_input *in)
{
    json_error_t jerr;
    const char *key;
    json_t *body, *v;
    const void *data;
    size_t len;

    in->title = NULL;
    in->title_len = 0;
    in->done = -1;
    data = herd_request_body(req, &len);
    /* Whatever Content-Type says: a body that parses is accepted. */
    body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        respond_error(req, 400, "invalid JSON: %s at line %d, column %d",
                      jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(body)) {
        respond_error(req, 400, "the body must be a JSON object");
        goto fail;
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "title") == 0) {
            if (!json_is_string(v)) {
                respond_error(req, 400, "title must be a string");
                goto fail;
            }
            in->title = json_string_value(v);
            in->title_len = json_string_length(v);
            if (in->title_len == 0) {
                respond_error(req, 400, "title must not be empty");
                goto fail;
            }
            if (in->title_len > TITLE_MAX) {
                respond_error(req, 400,
                              "title is %zu bytes long: at most %d are "
                              "allowed",
                              in->title_len, TITLE_MAX);
                goto fail;
            }
        } else if (strcmp(key, "done") == 0) {
            if (!json_is_boolean(v)) {
                respond_error(req, 400, "done must be true or false");
                goto fail;
            }
            in->done = json_is_true(v);
        } else if (strcmp(key, "id") == 0 && id > 0) {
            if (!json_is_integer(v) || json_integer_value(v) != id) {
                respond_error(req, 400,
                              "id cannot be changed (the body's id must be "
                              "%" PRId64 " or absent)",
                              (int64_t)id);
                goto fail;
            }
        } else {
            respond_error(req, 400,
                          "unknown key \"%.64s\": a todo has only title and "
                          "done",
                          key);
            goto fail;
        }
    }
    if (need_title && in->title == NULL) {
        respond_error(req, 400, "title is required");
        goto fail;
    }
    if (!need_title && in->title == NULL && in->done < 0) {
        respond_error(req, 400, "nothing to change: give title, done or both");
        goto fail;
    }
    return body;

fail:
    json_decref(body);
    return NULL;
}

/* The id a path parameter names: a positive decimal integer without
   leading zeros or sign, else 0. */
static sqlite3_int64
parse_id(const char *s)
{
    sqlite3_int64 id = 0;

    if (s == NULL || *s < '1' || *s > '9')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        if (id > (INT64_MAX - (*s - '0')) / 10)
            return 0;
        id = id * 10 + (*s - '0');
    }
    return id;
}

/* The route's database, or NULL after answering 500. */
static struct todo_db *
request_db(struct herd_request *req)
{
    struct todo_db *t = herd_config_data(herd_request_config(req));

    if (t == NULL) {
        herd_log(HERD_LOG_ERROR,
                 "todo: route %s has no database (did "
                 "herd_module_worker_init run?)",
                 herd_config_route(herd_request_config(req)));
        respond_error(req, 500, "internal error: no database");
    }
    return t;
}

/* /todos: GET lists, POST creates. */
int
todo_collection(struct herd_request *req)
{
    const char *method = herd_request_method(req);
    struct todo_input in;
    struct todo_db *t;
    json_t *body;

    t = request_db(req);
    if (t == NULL)
        return HERD_DONE;
    if (strcmp(method, "GET") == 0) {
        list_todos(req, t);
    } else if (strcmp(method, "POST") == 0) {
        body = parse_input(req, 1, 0, &in);
        if (body == NULL)
            return HERD_DONE;
        if (in.done < 0)
            in.done = 0;
        run_one(req, t, t->stmt[ST_INSERT], 201, 0, &in, "inserting");
        json_decref(body);
    } else {
        method_not_allowed(req, COLLECTION_ALLOW);
    }
    return HERD_DONE;
}

/* /todos/:id: GET, PUT (replace), PATCH (update), DELETE. */
int
todo_item(struct herd_request *req)
{
    const char *method = herd_request_method(req);
    struct todo_input in;
    struct todo_db *t;
    sqlite3_int64 id;
    json_t *body;
    int put;

    t = request_db(req);
    if (t == NULL)
        return HERD_DONE;
    put = strcmp(method, "PUT") == 0;
    if (strcmp(method, "GET") != 0 && !put && strcmp(method, "PATCH") != 0 &&
        strcmp(method, "DELETE") != 0) {
        method_not_allowed(req, ITEM_ALLOW);
        return HERD_DONE;
    }
    id = parse_id(herd_request_param(req, "id"));
    if (id == 0) {
        not_found(req);
        return HERD_DONE;
    }
    if (strcmp(method, "GET") == 0) {
        run_one(req, t, t->stmt[ST_GET], 200, id, NULL, "reading");
    } else if (strcmp(method, "DELETE") == 0) {
        delete_todo(req, t, id);
    } else {
        body = parse_input(req, put, id, &in);
        if (body == NULL)
            return HERD_DONE;
        if (put && in.done < 0)
            in.done = 0;
        run_one(req, t, t->stmt[put ? ST_REPLACE : ST_PATCH], 200, id, &in,
                put ? "replacing" : "updating");
        json_decref(body);
    }
    return HERD_DONE;
}
