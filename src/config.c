/* config.c: reads herd.yaml with libyaml's event API and validates it. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml.h>

#include "framing.h"
#include "module.h"
#include "parse.h"
#include "redirect.h"
#include "response.h"
#include "router.h"
#include "static.h"
#include "util.h"

/*
 * libyaml's document loader accepts duplicate keys and expands aliases,
 * so this file builds its own small tree from parser events: every node
 * keeps its position, and anything the schema cannot express (anchors,
 * aliases, tags, several documents, complex keys) is refused up front.
 * The tree is then walked against declarative key tables.
 */

#define MAX_FILE_SIZE        (1024 * 1024) /* bytes */
#define MAX_DEPTH            64
#define MAX_LISTEN           256
#define MAX_TABLE_KEYS       16
#define MAX_SUGGEST_DISTANCE 2
#define PATH_LEN             256
#define SHOW_MAX             60
#define SHOW_LEN             (SHOW_MAX * 4 + 8)
#define DESCRIBE_LEN         (SHOW_LEN + 32)
#define WORKERS_MAX          1024
#define DEFAULT_BACKLOG      511
#define MAX_TRUSTED          1024

/* Units for the bounds and defaults in the key tables. */
#define SECOND 1000ull
#define MINUTE (60 * SECOND)
#define HOUR   (60 * MINUTE)
#define DAY    (24 * HOUR)
#define KIB    1024ull
#define MIB    (1024 * KIB)
#define GIB    (1024 * MIB)

enum node_kind { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING };

struct node {
    enum node_kind kind;
    int line, col;      /* 1-based start position */
    char *text;         /* scalar: NUL-terminated, may hold NULs inside */
    size_t len;         /* scalar: bytes in text */
    int plain;          /* scalar written without quotes */
    struct node **kids; /* sequence: items; mapping: key, value, ... */
    size_t nkids, cap;
};

struct loader {
    const char *name; /* file name for messages */
    const char *text;
    size_t len;
    char *err;
    size_t errlen;
};

/* ---- messages ------------------------------------------------------------ */

static int fail_at(struct loader *ld, int line, int col, const char *path,
                   const char *fmt, ...) HERD_PRINTF(5, 6);

/* Write "FILE:LINE:COL: PATH: reason" (parts omitted when unknown). */
static int
fail_at(struct loader *ld, int line, int col, const char *path, const char *fmt,
        ...)
{
    char msg[HERD_CONFIG_ERR_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ld->err == NULL || ld->errlen == 0)
        return HERD_ERR;
    if (path == NULL)
        path = "";
    if (line > 0 && path[0] != '\0')
        snprintf(ld->err, ld->errlen, "%s:%d:%d: %s: %s", ld->name, line, col,
                 path, msg);
    else if (line > 0)
        snprintf(ld->err, ld->errlen, "%s:%d:%d: %s", ld->name, line, col, msg);
    else if (path[0] != '\0')
        snprintf(ld->err, ld->errlen, "%s: %s: %s", ld->name, path, msg);
    else
        snprintf(ld->err, ld->errlen, "%s: %s", ld->name, msg);
    return HERD_ERR;
}

#define FAIL_NODE(ld, n, path, ...)                                            \
    fail_at((ld), (n)->line, (n)->col, (path), __VA_ARGS__)

/*
 * Copy text[0..len) into buf for a message: control bytes become \xNN,
 * quotes and backslashes are escaped, long text is cut at a character
 * boundary and ends in "...". With quoted set, the result is in double
 * quotes. buf must hold SHOW_LEN bytes. Returns buf.
 */
static const char *
show(char *buf, const char *text, size_t len, int quoted)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0, cut = len;

    if (cut > SHOW_MAX) {
        cut = SHOW_MAX;
        while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
            cut--;
    }
    if (quoted)
        buf[o++] = '"';
    for (i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c < 0x20 || c == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 0xf];
        } else {
            if (quoted && (c == '"' || c == '\\'))
                buf[o++] = '\\';
            buf[o++] = (char)c;
        }
    }
    if (cut < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (quoted)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* A key path cut to PATH_LEN ends in "..." rather than mid-name. */
static void
path_done(char *buf, int n)
{
    if (n < 0 || n >= PATH_LEN)
        memcpy(buf + PATH_LEN - 4, "...", 4);
}

/* "parent.name", or "name" at the top level; buf holds PATH_LEN bytes. */
static void
join_path(char *buf, const char *parent, const char *name)
{
    if (parent[0] == '\0')
        path_done(buf, snprintf(buf, PATH_LEN, "%s", name));
    else
        path_done(buf, snprintf(buf, PATH_LEN, "%s.%s", parent, name));
}

/* "parent[i]"; buf holds PATH_LEN bytes. */
static void
index_path(char *buf, const char *parent, size_t i)
{
    path_done(buf, snprintf(buf, PATH_LEN, "%s[%zu]", parent, i));
}

static int
is_null(const struct node *n)
{
    if (n->kind != NODE_SCALAR || !n->plain)
        return 0;
    return n->len == 0 || strcmp(n->text, "~") == 0 ||
           strcmp(n->text, "null") == 0 || strcmp(n->text, "Null") == 0 ||
           strcmp(n->text, "NULL") == 0;
}

/*
 * What a node is, for "expected X, got Y" messages; buf must hold
 * DESCRIBE_LEN bytes. Returns buf.
 */
static const char *
describe(char *buf, const struct node *n)
{
    char shown[SHOW_LEN];

    if (n->kind == NODE_MAPPING)
        snprintf(buf, DESCRIBE_LEN, "a mapping");
    else if (n->kind == NODE_SEQUENCE)
        snprintf(buf, DESCRIBE_LEN, "a list");
    else if (is_null(n))
        snprintf(buf, DESCRIBE_LEN, "%s",
                 n->len == 0 ? "an empty value" : "null");
    else if (n->plain)
        snprintf(buf, DESCRIBE_LEN, "%s", show(shown, n->text, n->len, 1));
    else
        snprintf(buf, DESCRIBE_LEN, "the quoted string %s",
                 show(shown, n->text, n->len, 1));
    return buf;
}

static int
type_error(struct loader *ld, const struct node *n, const char *path,
           const char *expected)
{
    char got[DESCRIBE_LEN];

    return FAIL_NODE(ld, n, path, "expected %s, got %s", expected,
                     describe(got, n));
}

static int
out_of_memory(struct loader *ld)
{
    return fail_at(ld, 0, 0, NULL, "out of memory");
}

/* ---- the node tree ------------------------------------------------------- */

static void
node_free(struct node *n)
{
    size_t i;

    if (n == NULL)
        return;
    for (i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static int
mark_line(const yaml_mark_t *m)
{
    return m->line >= (size_t)MAX_FILE_SIZE ? MAX_FILE_SIZE : (int)m->line + 1;
}

static int
mark_col(const yaml_mark_t *m)
{
    return m->column >= (size_t)MAX_FILE_SIZE ? MAX_FILE_SIZE
                                              : (int)m->column + 1;
}

static struct node *
node_new(enum node_kind kind, const yaml_mark_t *mark)
{
    struct node *n = calloc(1, sizeof(*n));

    if (n == NULL)
        return NULL;
    n->kind = kind;
    n->line = mark_line(mark);
    n->col = mark_col(mark);
    return n;
}

/* Append kid to parent, which takes it over. HERD_ERR when out of memory. */
static int
node_append(struct node *parent, struct node *kid)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap == 0 ? 4 : parent->cap * 2;
        struct node **kids;

        if (cap > SIZE_MAX / sizeof(*kids))
            return HERD_ERR;
        kids = realloc(parent->kids, cap * sizeof(*kids));
        if (kids == NULL)
            return HERD_ERR;
        parent->kids = kids;
        parent->cap = cap;
    }
    parent->kids[parent->nkids++] = kid;
    return HERD_OK;
}

/* Report a libyaml reader, scanner or parser error. */
static int
syntax_error(struct loader *ld, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    int line = 1, col = 1;
    size_t i, off;

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return out_of_memory(ld);
    case YAML_READER_ERROR:
        /* The reader has no mark: find the byte offset's line. */
        if (p->encoding != YAML_UTF8_ENCODING &&
            p->encoding != YAML_ANY_ENCODING)
            return fail_at(ld, 0, 0, NULL, "%s (at byte %zu)", problem,
                           p->problem_offset);
        off = p->problem_offset < ld->len ? p->problem_offset : ld->len;
        for (i = 0; i < off; i++) {
            if (ld->text[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)ld->text[i] & 0xc0) != 0x80) {
                col++;
            }
        }
        if (p->problem_value != -1)
            return fail_at(ld, line, col, NULL, "%s (byte 0x%02x)", problem,
                           (unsigned)p->problem_value & 0xffu);
        return fail_at(ld, line, col, NULL, "%s", problem);
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
        line = mark_line(&p->problem_mark);
        col = mark_col(&p->problem_mark);
        if (p->context != NULL)
            return fail_at(ld, line, col, NULL,
                           "syntax error: %s (%s that started at line %d)",
                           problem, p->context, mark_line(&p->context_mark));
        return fail_at(ld, line, col, NULL, "syntax error: %s", problem);
    default:
        return fail_at(ld, 0, 0, NULL, "cannot parse YAML: %s", problem);
    }
}

/* Refuse YAML features that the schema has no use for. */
static int
refuse_extras(struct loader *ld, const yaml_event_t *ev,
              const yaml_char_t *anchor, const yaml_char_t *tag)
{
    if (anchor != NULL)
        return fail_at(ld, mark_line(&ev->start_mark),
                       mark_col(&ev->start_mark), NULL,
                       "aliases and anchors are not supported");
    if (tag != NULL)
        return fail_at(ld, mark_line(&ev->start_mark),
                       mark_col(&ev->start_mark), NULL,
                       "YAML tags are not supported");
    return HERD_OK;
}

/*
 * Place a new node: the document root when nothing is open, else the
 * next item of the innermost open collection. Takes over n either way.
 */
static int
attach(struct loader *ld, struct node **stack, size_t depth, struct node **root,
       struct node *n)
{
    struct node *parent;

    if (depth == 0) {
        *root = n;
        return HERD_OK;
    }
    parent = stack[depth - 1];
    if (parent->kind == NODE_MAPPING && parent->nkids % 2 == 0 &&
        n->kind != NODE_SCALAR) {
        fail_at(ld, n->line, n->col, NULL,
                "mapping keys must be plain strings, not %s",
                n->kind == NODE_MAPPING ? "mappings" : "lists");
        node_free(n);
        return HERD_ERR;
    }
    if (node_append(parent, n) != HERD_OK) {
        node_free(n);
        return out_of_memory(ld);
    }
    return HERD_OK;
}

/*
 * Parse ld->text into a tree. Returns HERD_OK with the root in *out (NULL
 * when the stream holds no document), or HERD_ERR with ld->err filled.
 */
static int
build_tree(struct loader *ld, struct node **out)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct node *stack[MAX_DEPTH];
    struct node *root = NULL, *n;
    size_t depth = 0;
    int ndocs = 0, done = 0, have_event = 0;

    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return out_of_memory(ld);
    yaml_parser_set_input_string(&parser, (const unsigned char *)ld->text,
                                 ld->len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            syntax_error(ld, &parser);
            goto fail;
        }
        have_event = 1;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs > 1) {
                fail_at(ld, mark_line(&ev.start_mark), mark_col(&ev.start_mark),
                        NULL,
                        "more than one YAML document (a config file holds "
                        "exactly one)");
                goto fail;
            }
            break;
        case YAML_ALIAS_EVENT:
            fail_at(ld, mark_line(&ev.start_mark), mark_col(&ev.start_mark),
                    NULL, "aliases and anchors are not supported");
            goto fail;
        case YAML_SCALAR_EVENT:
            if (refuse_extras(ld, &ev, ev.data.scalar.anchor,
                              ev.data.scalar.tag) != HERD_OK)
                goto fail;
            n = node_new(NODE_SCALAR, &ev.start_mark);
            if (n == NULL) {
                out_of_memory(ld);
                goto fail;
            }
            n->len = ev.data.scalar.length;
            n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            n->text = malloc(n->len + 1);
            if (n->text == NULL) {
                node_free(n);
                out_of_memory(ld);
                goto fail;
            }
            memcpy(n->text, ev.data.scalar.value, n->len);
            n->text[n->len] = '\0';
            if (attach(ld, stack, depth, &root, n) != HERD_OK)
                goto fail;
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (refuse_extras(ld, &ev, ev.data.sequence_start.anchor,
                              ev.data.sequence_start.tag) != HERD_OK)
                goto fail;
            /* fall through */
        case YAML_MAPPING_START_EVENT:
            if (ev.type == YAML_MAPPING_START_EVENT &&
                refuse_extras(ld, &ev, ev.data.mapping_start.anchor,
                              ev.data.mapping_start.tag) != HERD_OK)
                goto fail;
            if (depth == MAX_DEPTH) {
                fail_at(ld, mark_line(&ev.start_mark), mark_col(&ev.start_mark),
                        NULL, "nesting is too deep (more than %d levels)",
                        MAX_DEPTH);
                goto fail;
            }
            n = node_new(ev.type == YAML_SEQUENCE_START_EVENT ? NODE_SEQUENCE
                                                              : NODE_MAPPING,
                         &ev.start_mark);
            if (n == NULL) {
                out_of_memory(ld);
                goto fail;
            }
            if (attach(ld, stack, depth, &root, n) != HERD_OK)
                goto fail;
            stack[depth++] = n;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0)
                depth--;
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        have_event = 0;
    }
    yaml_parser_delete(&parser);
    *out = root;
    return HERD_OK;
fail:
    if (have_event)
        yaml_event_delete(&ev);
    yaml_parser_delete(&parser);
    node_free(root);
    return HERD_ERR;
}

/* The value of key name in a mapping node, or NULL. */
static const struct node *
map_get(const struct node *map, const char *name)
{
    size_t i, len = strlen(name);

    if (map == NULL || map->kind != NODE_MAPPING)
        return NULL;
    for (i = 0; i + 1 < map->nkids; i += 2) {
        const struct node *k = map->kids[i];

        if (k->len == len && memcmp(k->text, name, len) == 0)
            return map->kids[i + 1];
    }
    return NULL;
}

/* ---- duplicate keys ------------------------------------------------------ */

struct key_ref {
    const struct node *key;
    size_t index;
};

static int
compare_bytes(const struct node *a, const struct node *b, int nocase)
{
    size_t i, n = a->len < b->len ? a->len : b->len;

    for (i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a->text[i];
        unsigned char y = (unsigned char)b->text[i];

        if (nocase) {
            x = (x >= 'A' && x <= 'Z') ? (unsigned char)(x + 32) : x;
            y = (y >= 'A' && y <= 'Z') ? (unsigned char)(y + 32) : y;
        }
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return 0;
}

static int
compare_refs(const struct key_ref *a, const struct key_ref *b, int nocase)
{
    int c = compare_bytes(a->key, b->key, nocase);

    if (c != 0)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int
compare_refs_exact(const void *a, const void *b)
{
    return compare_refs(a, b, 0);
}

static int
compare_refs_nocase(const void *a, const void *b)
{
    return compare_refs(a, b, 1);
}

/*
 * Refuse a mapping with a repeated key (ASCII case ignored when nocase is
 * set, as for header names). Sorting keeps this fast on hostile input;
 * the duplicate reported is the one that comes first in the file.
 */
static int
check_duplicates(struct loader *ld, const struct node *map, const char *path,
                 int nocase)
{
    struct key_ref *refs;
    const struct node *first, *dup;
    size_t i, n = map->nkids / 2, run = 0, dup_at = SIZE_MAX, first_at = 0;
    char shown[SHOW_LEN], at[PATH_LEN];

    if (n < 2)
        return HERD_OK;
    refs = malloc(n * sizeof(*refs));
    if (refs == NULL)
        return out_of_memory(ld);
    for (i = 0; i < n; i++) {
        refs[i].key = map->kids[2 * i];
        refs[i].index = i;
    }
    qsort(refs, n, sizeof(*refs),
          nocase ? compare_refs_nocase : compare_refs_exact);
    for (i = 1; i < n; i++) {
        if (compare_bytes(refs[run].key, refs[i].key, nocase) != 0) {
            run = i;
            continue;
        }
        if (refs[i].index < dup_at) {
            dup_at = refs[i].index;
            first_at = refs[run].index;
        }
    }
    free(refs);
    if (dup_at == SIZE_MAX)
        return HERD_OK;
    dup = map->kids[2 * dup_at];
    first = map->kids[2 * first_at];
    join_path(at, path, show(shown, dup->text, dup->len, 0));
    if (compare_bytes(first, dup, 0) != 0)
        return FAIL_NODE(ld, dup, at,
                         "duplicate header (names are case-insensitive; "
                         "first defined at line %d)",
                         first->line);
    return FAIL_NODE(ld, dup, at, "duplicate key (first defined at line %d)",
                     first->line);
}

/* ---- key tables ---------------------------------------------------------- */

enum key_type {
    KEY_INT,      /* plain decimal integer within min..max */
    KEY_DURATION, /* herd_parse_duration, in ms, within min..max */
    KEY_SIZE,     /* herd_parse_size, in bytes, within min..max */
    KEY_STRING,   /* non-empty scalar, strdup'd into a char * */
    KEY_ENUM,     /* one of names[], stored as its index */
    KEY_BOOL,     /* true or false, stored as 1 or 0 */
    KEY_SECTION,  /* nested mapping described by sub */
    KEY_CUSTOM,   /* parsed by set */
};

#define KEY_REQUIRED 0x1u /* error when absent */
#define KEY_HANDLER  0x2u /* a route handler: exactly one per route */

struct key_def;
struct table;

/*
 * A custom setter parses v (NULL when the key is absent: store the
 * default) into obj, the struct the key's table describes. path is the
 * key's dotted path for messages.
 */
typedef int (*setter_fn)(struct loader *ld, const struct key_def *k,
                         const struct node *v, void *obj, const char *path);

/* Checks run after a whole mapping is read; map may be NULL (defaults). */
typedef int (*check_fn)(struct loader *ld, const struct node *map, void *obj,
                        const char *path);

struct key_def {
    const char *name;
    enum key_type type;
    unsigned flags;
    size_t offset, size;      /* the field in the table's struct */
    uint64_t min, max, def;   /* numbers; enums: def is the index;
                                 handlers: def is the handler kind */
    const char *def_str;      /* KEY_STRING default, NULL for none */
    const char *const *names; /* KEY_ENUM values, NULL-terminated */
    const struct table *sub;  /* KEY_SECTION: fields at obj + offset */
    setter_fn set;            /* KEY_CUSTOM */
};

struct table {
    const struct key_def *keys;
    size_t nkeys;
    check_fn check;
    size_t handler_offset, handler_size; /* where KEY_HANDLER kinds go */
};

#define FIELD(type, member)                                                    \
    .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)

/* Store v into an unsigned or non-negative signed field of size bytes. */
static void
store_uint(void *field, size_t size, uint64_t v)
{
    uint8_t v8 = (uint8_t)v;
    uint16_t v16 = (uint16_t)v;
    uint32_t v32 = (uint32_t)v;

    switch (size) {
    case 1:
        memcpy(field, &v8, 1);
        break;
    case 2:
        memcpy(field, &v16, 2);
        break;
    case 4:
        memcpy(field, &v32, 4);
        break;
    default:
        memcpy(field, &v, 8);
        break;
    }
}

struct unit {
    uint64_t mult;
    const char *suffix;
};

/* Largest first; each list ends with a unit of 1. */
static const struct unit duration_units[] = {
    {DAY, "d"}, {HOUR, "h"}, {MINUTE, "m"}, {SECOND, "s"}, {1, "ms"},
};

static const struct unit size_units[] = {
    {GIB, "g"},
    {MIB, "m"},
    {KIB, "k"},
    {1, ""},
};

/* Format a bound for "out of range (MIN..MAX)" in the key's own units. */
static const char *
show_bound(char *buf, size_t size, enum key_type type, uint64_t v)
{
    const struct unit *u = NULL;

    if (type == KEY_DURATION)
        u = duration_units;
    else if (type == KEY_SIZE)
        u = size_units;
    if (u == NULL || v == 0) {
        snprintf(buf, size, "%llu", (unsigned long long)v);
        return buf;
    }
    while (v % u->mult != 0)
        u++;
    snprintf(buf, size, "%llu%s", (unsigned long long)(v / u->mult), u->suffix);
    return buf;
}

static int
out_of_range(struct loader *ld, const struct node *v, const char *path,
             enum key_type type, uint64_t min, uint64_t max)
{
    char shown[SHOW_LEN], lo[32], hi[32];

    return FAIL_NODE(ld, v, path, "%s is out of range (%s..%s)",
                     show(shown, v->text, v->len, 0),
                     show_bound(lo, sizeof(lo), type, min),
                     show_bound(hi, sizeof(hi), type, max));
}

/*
 * Check that v is a non-null scalar without NUL bytes and return its text
 * in *text; otherwise fail with "expected <expected>, got ...".
 */
static int
scalar_text(struct loader *ld, const struct node *v, const char *path,
            const char *expected, const char **text)
{
    if (v->kind != NODE_SCALAR || is_null(v))
        return type_error(ld, v, path, expected);
    if (strlen(v->text) != v->len)
        return FAIL_NODE(ld, v, path, "must not contain NUL bytes");
    *text = v->text;
    return HERD_OK;
}

/*
 * Read a plain decimal integer. A value too big for int64 is clamped so
 * that the caller's range check reports it with the text as written.
 */
static int
read_int(struct loader *ld, const struct node *v, const char *path,
         const char *expected, int64_t *out)
{
    const char *p;
    int neg = 0;
    uint64_t u = 0;
    char got[DESCRIBE_LEN], shown[SHOW_LEN];

    if (v->kind != NODE_SCALAR || is_null(v))
        return type_error(ld, v, path, expected);
    if (!v->plain)
        return FAIL_NODE(ld, v, path,
                         "expected %s, got the quoted string %s (write "
                         "numbers without quotes)",
                         expected, show(shown, v->text, v->len, 1));
    p = v->text;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
        strlen(v->text) != v->len)
        return FAIL_NODE(ld, v, path, "expected %s, got %s", expected,
                         describe(got, v));
    for (; *p != '\0'; p++) {
        if (u > (uint64_t)INT64_MAX / 10) {
            u = (uint64_t)INT64_MAX;
            break;
        }
        u = u * 10 + (uint64_t)(*p - '0');
    }
    if (u > (uint64_t)INT64_MAX)
        u = (uint64_t)INT64_MAX;
    *out = neg ? -(int64_t)u : (int64_t)u;
    return HERD_OK;
}

static int
set_int(struct loader *ld, const struct key_def *k, const struct node *v,
        void *field, const char *path)
{
    int64_t n;

    if (v == NULL) {
        store_uint(field, k->size, k->def);
        return HERD_OK;
    }
    if (read_int(ld, v, path, "an integer", &n) != HERD_OK)
        return HERD_ERR;
    if (n < 0 || (uint64_t)n < k->min || (uint64_t)n > k->max)
        return out_of_range(ld, v, path, KEY_INT, k->min, k->max);
    store_uint(field, k->size, (uint64_t)n);
    return HERD_OK;
}

/* Durations and sizes share everything but the parser. */
static int
set_amount(struct loader *ld, const struct key_def *k, const struct node *v,
           void *field, const char *path)
{
    char why[HERD_ERR_LEN];
    const char *text = NULL;
    uint64_t n;
    int rc;

    if (v == NULL) {
        store_uint(field, k->size, k->def);
        return HERD_OK;
    }
    if (scalar_text(ld, v, path,
                    k->type == KEY_DURATION ? "a duration such as 10s"
                                            : "a size such as 8k",
                    &text) != HERD_OK)
        return HERD_ERR;
    if (k->type == KEY_DURATION)
        rc = herd_parse_duration(text, &n, why, sizeof(why));
    else
        rc = herd_parse_size(text, &n, why, sizeof(why));
    if (rc != HERD_OK)
        return FAIL_NODE(ld, v, path, "%s", why);
    if (n < k->min || n > k->max)
        return out_of_range(ld, v, path, k->type, k->min, k->max);
    store_uint(field, k->size, n);
    return HERD_OK;
}

static int
set_string(struct loader *ld, const struct key_def *k, const struct node *v,
           void *field, const char *path)
{
    const char *text = NULL;
    char *copy;

    if (v == NULL) {
        if (k->def_str == NULL)
            return HERD_OK;
        text = k->def_str;
    } else if (scalar_text(ld, v, path, "a string", &text) != HERD_OK) {
        return HERD_ERR;
    } else if (text[0] == '\0') {
        return FAIL_NODE(ld, v, path, "must not be empty");
    }
    copy = strdup(text);
    if (copy == NULL)
        return out_of_memory(ld);
    memcpy(field, &copy, sizeof(copy));
    return HERD_OK;
}

static int
set_enum(struct loader *ld, const struct key_def *k, const struct node *v,
         void *field, const char *path)
{
    char shown[SHOW_LEN], expected[256];
    const char *text = NULL;
    size_t i, o = 0;

    if (v == NULL) {
        store_uint(field, k->size, k->def);
        return HERD_OK;
    }
    if (scalar_text(ld, v, path, "a string", &text) != HERD_OK)
        return HERD_ERR;
    for (i = 0; k->names[i] != NULL; i++) {
        if (strcmp(text, k->names[i]) == 0) {
            store_uint(field, k->size, i);
            return HERD_OK;
        }
        o += (size_t)snprintf(expected + o, sizeof(expected) - o, "%s%s",
                              i == 0 ? "" : ", ", k->names[i]);
        if (o >= sizeof(expected))
            o = sizeof(expected) - 1;
    }
    return FAIL_NODE(ld, v, path, "invalid value %s (expected one of: %s)",
                     show(shown, v->text, v->len, 1), expected);
}

/* YAML 1.2's core schema booleans, unquoted; "yes" and "on" are not. */
static int
set_bool(struct loader *ld, const struct key_def *k, const struct node *v,
         void *field, const char *path)
{
    static const char *const yes[] = {"true", "True", "TRUE"};
    static const char *const no[] = {"false", "False", "FALSE"};
    size_t i;

    if (v == NULL) {
        store_uint(field, k->size, k->def);
        return HERD_OK;
    }
    for (i = 0; v->kind == NODE_SCALAR && v->plain && i < HERD_ARRAY_LEN(yes);
         i++) {
        if (strcmp(v->text, yes[i]) == 0 && strlen(yes[i]) == v->len) {
            store_uint(field, k->size, 1);
            return HERD_OK;
        }
        if (strcmp(v->text, no[i]) == 0 && strlen(no[i]) == v->len) {
            store_uint(field, k->size, 0);
            return HERD_OK;
        }
    }
    return type_error(ld, v, path, "true or false");
}

static int apply_map(struct loader *ld, const struct node *map,
                     const struct table *t, void *obj, const char *path);

/* Parse v (NULL: absent) into key k of obj, the struct k's table fills. */
static int
set_value(struct loader *ld, const struct key_def *k, const struct node *v,
          void *obj, const char *parent)
{
    char path[PATH_LEN];
    void *field = (char *)obj + k->offset;

    join_path(path, parent, k->name);
    switch (k->type) {
    case KEY_INT:
        return set_int(ld, k, v, field, path);
    case KEY_DURATION:
    case KEY_SIZE:
        return set_amount(ld, k, v, field, path);
    case KEY_STRING:
        return set_string(ld, k, v, field, path);
    case KEY_ENUM:
        return set_enum(ld, k, v, field, path);
    case KEY_BOOL:
        return set_bool(ld, k, v, field, path);
    case KEY_SECTION:
        /* "limits:" with nothing under it means all defaults. */
        if (v != NULL && is_null(v))
            v = NULL;
        return apply_map(ld, v, k->sub, field, path);
    case KEY_CUSTOM:
    default:
        return k->set(ld, k, v, obj, path);
    }
}

/* Levenshtein distance, or a big number when it is clearly over 2. */
static size_t
edit_distance(const char *a, size_t alen, const char *b)
{
    size_t row[64], i, j, blen = strlen(b), diag, up;

    if (blen >= HERD_ARRAY_LEN(row) ||
        (alen > blen ? alen - blen : blen - alen) > MAX_SUGGEST_DISTANCE)
        return SIZE_MAX;
    for (j = 0; j <= blen; j++)
        row[j] = j;
    for (i = 1; i <= alen; i++) {
        diag = row[0];
        row[0] = i;
        for (j = 1; j <= blen; j++) {
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

            up = row[j];
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[blen];
}

static int
unknown_key(struct loader *ld, const struct table *t, const struct node *key,
            const char *path)
{
    char shown[SHOW_LEN], names[512];
    const char *best = NULL;
    size_t i, d, best_d = MAX_SUGGEST_DISTANCE + 1, o = 0;

    show(shown, key->text, key->len, 1);
    for (i = 0; i < t->nkeys; i++) {
        d = edit_distance(key->text, key->len, t->keys[i].name);
        /* Two edits turn "foo" into "log": short names get only one. */
        if (d < best_d && d * 3 <= strlen(t->keys[i].name)) {
            best_d = d;
            best = t->keys[i].name;
        }
    }
    if (best != NULL)
        return FAIL_NODE(ld, key, path, "unknown key %s (did you mean \"%s\"?)",
                         shown, best);
    if (t->nkeys == 0)
        return FAIL_NODE(ld, key, path, "unknown key %s (this takes no keys)",
                         shown);
    names[0] = '\0';
    for (i = 0; i < t->nkeys && o < sizeof(names); i++)
        o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
                              i == 0 ? "" : ", ", t->keys[i].name);
    return FAIL_NODE(ld, key, path, "unknown key %s (expected one of: %s)",
                     shown, names);
}

static const char *
handler_names(const struct table *t, char *buf, size_t size)
{
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; i < t->nkeys && o < size; i++) {
        if (t->keys[i].flags & KEY_HANDLER)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", o == 0 ? "" : ", ",
                                  t->keys[i].name);
    }
    return buf;
}

/*
 * Read mapping map into obj according to table t: refuse duplicate and
 * unknown keys, parse each known key, then give every absent key its
 * default. map NULL means "absent": defaults only.
 */
static int
apply_map(struct loader *ld, const struct node *map, const struct table *t,
          void *obj, const char *path)
{
    const struct node *given[MAX_TABLE_KEYS] = {NULL};
    const struct node *handler = NULL;
    const struct key_def *handler_def = NULL;
    char names[256];
    size_t i, j;
    int has_handlers = 0;

    if (map != NULL && map->kind != NODE_MAPPING)
        return type_error(ld, map, path, "a mapping");
    if (map != NULL && check_duplicates(ld, map, path, 0) != HERD_OK)
        return HERD_ERR;
    for (i = 0; map != NULL && i + 1 < map->nkids; i += 2) {
        const struct node *key = map->kids[i];

        for (j = 0; j < t->nkeys; j++) {
            if (strlen(t->keys[j].name) == key->len &&
                memcmp(t->keys[j].name, key->text, key->len) == 0)
                break;
        }
        if (j == t->nkeys)
            return unknown_key(ld, t, key, path);
        if (t->keys[j].flags & KEY_HANDLER) {
            if (handler != NULL)
                return FAIL_NODE(ld, key, path,
                                 "more than one handler (\"%s\" and \"%s\"; "
                                 "a route has exactly one)",
                                 handler_def->name, t->keys[j].name);
            handler = key;
            handler_def = &t->keys[j];
            /* Set before parsing, so that freeing after an error reads the
             * union as the handler that was being filled. */
            store_uint((char *)obj + t->handler_offset, t->handler_size,
                       handler_def->def);
        }
        given[j] = map->kids[i + 1];
        if (set_value(ld, &t->keys[j], given[j], obj, path) != HERD_OK)
            return HERD_ERR;
    }
    for (j = 0; j < t->nkeys; j++) {
        const struct key_def *k = &t->keys[j];

        if (k->flags & KEY_HANDLER)
            has_handlers = 1;
        if (given[j] != NULL || (k->flags & KEY_HANDLER))
            continue;
        if (k->flags & KEY_REQUIRED) {
            if (map != NULL)
                return FAIL_NODE(ld, map, path, "missing required key \"%s\"",
                                 k->name);
            continue;
        }
        if (set_value(ld, k, NULL, obj, path) != HERD_OK)
            return HERD_ERR;
    }
    if (has_handlers && map != NULL && handler_def == NULL)
        return FAIL_NODE(ld, map, path, "missing handler (expected one of: %s)",
                         handler_names(t, names, sizeof(names)));
    if (t->check != NULL)
        return t->check(ld, map, obj, path);
    return HERD_OK;
}

/* ---- listen -------------------------------------------------------------- */

static int
valid_host_name(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 253 || s[0] == '-' || s[0] == '.')
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* Parse "host:port", "[v6]:port", "*:port" or "unix:/path" into l. */
static int
parse_address(struct loader *ld, const struct node *v, struct herd_listen *l,
              const char *path)
{
    char shown[SHOW_LEN], buf[INET6_ADDRSTRLEN + 64];
    const char *s = NULL, *host, *port, *end;
    size_t hostlen, i;
    unsigned long p = 0;

    if (scalar_text(ld, v, path, "an address such as 127.0.0.1:8080", &s) !=
        HERD_OK)
        return HERD_ERR;
    show(shown, v->text, v->len, 1);
    l->address = strdup(s);
    if (l->address == NULL)
        return out_of_memory(ld);
    if (strncmp(s, "unix:", 5) == 0) {
        size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

        l->kind = HERD_LISTEN_UNIX;
        if (s[5] == '\0')
            return FAIL_NODE(ld, v, path,
                             "invalid address %s: empty unix socket path",
                             shown);
        if (strlen(s + 5) > max)
            return FAIL_NODE(ld, v, path,
                             "invalid address %s: unix socket path is too "
                             "long (%zu bytes, at most %zu)",
                             shown, strlen(s + 5), max);
        l->path = strdup(s + 5);
        return l->path == NULL ? out_of_memory(ld) : HERD_OK;
    }
    l->kind = HERD_LISTEN_TCP;
    if (s[0] == '[') {
        host = s + 1;
        end = strchr(host, ']');
        if (end == NULL)
            return FAIL_NODE(ld, v, path,
                             "invalid address %s: missing \"]\" after the "
                             "IPv6 address",
                             shown);
        hostlen = (size_t)(end - host);
        /* inet_pton knows no zone ("%eth0"): check the address part. */
        for (i = 0; i < hostlen && host[i] != '%'; i++)
            ;
        if (i == 0 || i >= sizeof(buf))
            goto bad_v6;
        memcpy(buf, host, i);
        buf[i] = '\0';
        {
            struct in6_addr a6;

            if (inet_pton(AF_INET6, buf, &a6) != 1)
                goto bad_v6;
        }
        if (end[1] != ':')
            return FAIL_NODE(ld, v, path,
                             "invalid address %s: %s (expected "
                             "[host]:port)",
                             shown,
                             end[1] == '\0' ? "missing port"
                                            : "unexpected text after \"]\"");
        port = end + 2;
    } else {
        end = strrchr(s, ':');
        if (end == NULL)
            return FAIL_NODE(ld, v, path,
                             "invalid address %s: missing port (expected "
                             "host:port, [host]:port, *:port or unix:/path)",
                             shown);
        host = s;
        hostlen = (size_t)(end - s);
        port = end + 1;
        if (memchr(host, ':', hostlen) != NULL)
            return FAIL_NODE(ld, v, path,
                             "invalid address %s: write IPv6 addresses in "
                             "brackets, as in [::1]:8080",
                             shown);
        if (hostlen == 0)
            return FAIL_NODE(ld, v, path,
                             "invalid address %s: missing host (use * for "
                             "all addresses, as in *:8080)",
                             shown);
        if (hostlen == 1 && host[0] == '*') {
            host = "0.0.0.0";
            hostlen = 7;
        } else if (strspn(host, "0123456789.") == hostlen) {
            struct in_addr a4;

            if (hostlen >= sizeof(buf))
                goto bad_v4;
            memcpy(buf, host, hostlen);
            buf[hostlen] = '\0';
            if (inet_pton(AF_INET, buf, &a4) != 1)
                goto bad_v4;
        } else if (!valid_host_name(host, hostlen)) {
            return FAIL_NODE(ld, v, path,
                             "invalid address %s: invalid host name", shown);
        }
    }
    if (port[0] == '\0')
        return FAIL_NODE(ld, v, path, "invalid address %s: missing port",
                         shown);
    for (i = 0; port[i] != '\0'; i++) {
        if (port[i] < '0' || port[i] > '9' || i >= 5)
            break;
        p = p * 10 + (unsigned long)(port[i] - '0');
    }
    if (port[i] != '\0' || p > 65535)
        return FAIL_NODE(ld, v, path,
                         "invalid address %s: invalid port (expected "
                         "0..65535)",
                         shown);
    l->port = (uint16_t)p;
    l->host = strndup(host, hostlen);
    return l->host == NULL ? out_of_memory(ld) : HERD_OK;
bad_v6:
    return FAIL_NODE(ld, v, path, "invalid address %s: invalid IPv6 address",
                     shown);
bad_v4:
    return FAIL_NODE(ld, v, path, "invalid address %s: invalid IPv4 address",
                     shown);
}

static int
set_address(struct loader *ld, const struct key_def *k, const struct node *v,
            void *obj, const char *path)
{
    (void)k;
    /* Required: apply_map never calls this with v NULL. */
    return parse_address(ld, v, obj, path);
}

/* Permission bits, always read as octal as chmod(1) does: 660, "0660". */
static int
set_mode(struct loader *ld, const struct key_def *k, const struct node *v,
         void *obj, const char *path)
{
    struct herd_listen *l = obj;
    char shown[SHOW_LEN];
    const char *text = NULL, *p;
    unsigned mode = 0;

    (void)k;
    if (v == NULL)
        return HERD_OK;
    if (scalar_text(ld, v, path, "octal permission bits such as \"0660\"",
                    &text) != HERD_OK)
        return HERD_ERR;
    p = text;
    if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        p += 2;
    if (*p == '\0' || strlen(p) > 5 || strspn(p, "01234567") != strlen(p))
        goto bad;
    for (; *p != '\0'; p++)
        mode = mode * 8 + (unsigned)(*p - '0');
    if (mode > 0777)
        goto bad;
    l->mode = mode;
    l->has_mode = 1;
    return HERD_OK;
bad:
    return FAIL_NODE(ld, v, path,
                     "invalid mode %s (expected octal permission bits such "
                     "as \"0660\")",
                     show(shown, v->text, v->len, 1));
}

static int
check_listen(struct loader *ld, const struct node *map, void *obj,
             const char *path)
{
    const struct herd_listen *l = obj;
    const struct node *mode = map_get(map, "mode");
    char at[PATH_LEN];

    if (l->has_mode && l->kind != HERD_LISTEN_UNIX && mode != NULL) {
        join_path(at, path, "mode");
        return FAIL_NODE(ld, mode, at, "only valid for unix: addresses");
    }
    return HERD_OK;
}

static const struct key_def listen_keys[] = {
    {.name = "address",
     .type = KEY_CUSTOM,
     .flags = KEY_REQUIRED,
     .set = set_address},
    {.name = "mode", .type = KEY_CUSTOM, .set = set_mode},
    {.name = "backlog",
     .type = KEY_INT,
     FIELD(struct herd_listen, backlog),
     .min = 1,
     .max = 65535,
     .def = DEFAULT_BACKLOG},
    {.name = "proxy_protocol",
     .type = KEY_BOOL,
     FIELD(struct herd_listen, proxy_protocol),
     .def = 0},
};

static const struct table listen_table = {
    listen_keys, HERD_ARRAY_LEN(listen_keys), check_listen, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(listen_keys) <= MAX_TABLE_KEYS, "listen_keys");

static int
same_address(const struct herd_listen *a, const struct herd_listen *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == HERD_LISTEN_UNIX)
        return strcmp(a->path, b->path) == 0;
    /* Port 0 asks for a fresh port each time: never a clash. */
    return a->port != 0 && a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* One listen entry: an address string or a mapping with "address". */
static int
read_listen_entry(struct loader *ld, const struct node *item,
                  struct herd_listen *l, const char *path)
{
    l->line = item->line;
    l->col = item->col;
    if (item->kind == NODE_MAPPING)
        return apply_map(ld, item, &listen_table, l, path);
    if (item->kind != NODE_SCALAR)
        return type_error(ld, item, path, "an address or a mapping");
    if (apply_map(ld, NULL, &listen_table, l, path) != HERD_OK)
        return HERD_ERR;
    return parse_address(ld, item, l, path);
}

static int
set_listen(struct loader *ld, const struct key_def *k, const struct node *v,
           void *obj, const char *path)
{
    static char fallback[] = "127.0.0.1:8080";
    struct herd_config *cfg = obj;
    struct node def;
    const struct node *item;
    char at[PATH_LEN], shown[SHOW_LEN];
    size_t i, j, n;

    (void)k;
    if (v == NULL) {
        /* The default goes through the same parser, off the file. */
        memset(&def, 0, sizeof(def));
        def.kind = NODE_SCALAR;
        def.text = fallback;
        def.len = strlen(fallback);
        def.plain = 1;
        v = &def;
    }
    if (v->kind == NODE_SEQUENCE) {
        n = v->nkids;
        if (n == 0)
            return FAIL_NODE(ld, v, path, "expected at least one address");
        if (n > MAX_LISTEN)
            return FAIL_NODE(ld, v, path, "too many addresses (at most %d)",
                             MAX_LISTEN);
    } else if (v->kind == NODE_MAPPING || !is_null(v)) {
        n = 1;
    } else {
        return type_error(ld, v, path, "an address or a list of addresses");
    }
    cfg->listen = calloc(n, sizeof(*cfg->listen));
    if (cfg->listen == NULL)
        return out_of_memory(ld);
    cfg->nlisten = n;
    for (i = 0; i < n; i++) {
        item = v->kind == NODE_SEQUENCE ? v->kids[i] : v;
        if (v->kind == NODE_SEQUENCE)
            index_path(at, path, i);
        else
            join_path(at, "", path);
        if (read_listen_entry(ld, item, &cfg->listen[i], at) != HERD_OK)
            return HERD_ERR;
        for (j = 0; j < i; j++) {
            if (same_address(&cfg->listen[j], &cfg->listen[i]))
                return FAIL_NODE(ld, item, at,
                                 "duplicate address %s (first defined at "
                                 "line %d)",
                                 show(shown, cfg->listen[i].address,
                                      strlen(cfg->listen[i].address), 1),
                                 cfg->listen[j].line);
        }
    }
    return HERD_OK;
}

/* ---- workers ------------------------------------------------------------- */

static int
set_workers(struct loader *ld, const struct key_def *k, const struct node *v,
            void *obj, const char *path)
{
    struct herd_config *cfg = obj;
    int64_t n;

    if (v == NULL || (v->kind == NODE_SCALAR && strcmp(v->text, "auto") == 0 &&
                      v->len == 4)) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        if (cpus < (long)k->min)
            cpus = (long)k->min;
        if (cpus > (long)k->max)
            cpus = (long)k->max;
        cfg->workers = (int)cpus;
        return HERD_OK;
    }
    if (read_int(ld, v, path, "an integer or \"auto\"", &n) != HERD_OK)
        return HERD_ERR;
    if (n < 0 || (uint64_t)n < k->min || (uint64_t)n > k->max)
        return out_of_range(ld, v, path, KEY_INT, k->min, k->max);
    cfg->workers = (int)n;
    return HERD_OK;
}

/* ---- worker -------------------------------------------------------------- */

/*
 * A worker reports every heartbeat; the master calls it hung after
 * timeout. Allow at least two missed reports so that one slow tick under
 * load does not get a healthy worker killed.
 */
static int
check_worker(struct loader *ld, const struct node *map, void *obj,
             const char *path)
{
    const struct herd_config *cfg = obj;
    const struct node *timeout = map_get(map, "timeout");
    const struct node *heartbeat = map_get(map, "heartbeat");
    char at[PATH_LEN], t[32], h[32];

    if (cfg->worker.timeout_ms > 2 * cfg->worker.heartbeat_ms)
        return HERD_OK;
    show_bound(t, sizeof(t), KEY_DURATION, cfg->worker.timeout_ms);
    show_bound(h, sizeof(h), KEY_DURATION, cfg->worker.heartbeat_ms);
    if (timeout != NULL) {
        join_path(at, path, "timeout");
        return FAIL_NODE(ld, timeout, at,
                         "%s must be more than 2 x worker.heartbeat (%s)", t,
                         h);
    }
    /* The defaults pass, so heartbeat was given. */
    join_path(at, path, "heartbeat");
    return FAIL_NODE(ld, heartbeat, at,
                     "%s is too long for worker.timeout (%s, the default), "
                     "which must be more than 2 x worker.heartbeat",
                     h, t);
}

/* ---- user, group, pid_file ----------------------------------------------- */

/*
 * getpwnam and getgrnam return NULL both for "no such name" and for a
 * failed lookup; only these errno values mean the lookup itself failed
 * (others, such as ENOENT, are left over from probing NSS sources).
 */
static int
lookup_failed(int err)
{
    return err == EIO || err == EINTR || err == EMFILE || err == ENFILE ||
           err == ENOMEM;
}

/*
 * user and group: a non-empty name that exists on this host. Names
 * only: a number such as "0" is looked up as a name, and refused unless
 * an account is called that, so a uid never slips past the name check.
 */
static int
set_account(struct loader *ld, const struct key_def *k, const struct node *v,
            void *obj, const char *path)
{
    char **field = (char **)((char *)obj + k->offset);
    char shown[SHOW_LEN];
    int is_user = strcmp(k->name, "user") == 0, found;

    if (v == NULL)
        return HERD_OK;
    if (set_string(ld, k, v, field, path) != HERD_OK)
        return HERD_ERR;
    errno = 0;
    if (is_user)
        found = getpwnam(*field) != NULL;
    else
        found = getgrnam(*field) != NULL;
    if (found)
        return HERD_OK;
    show(shown, v->text, v->len, 1);
    if (lookup_failed(errno))
        return FAIL_NODE(ld, v, path, "cannot look up %s %s: %s", k->name,
                         shown, strerror(errno));
    return FAIL_NODE(ld, v, path, "unknown %s %s", k->name, shown);
}

static int
check_top(struct loader *ld, const struct node *map, void *obj,
          const char *path)
{
    const struct herd_config *cfg = obj;
    const struct node *group = map_get(map, "group");
    char at[PATH_LEN];

    if (cfg->group != NULL && cfg->user == NULL && group != NULL) {
        join_path(at, path, "group");
        return FAIL_NODE(ld, group, at,
                         "requires \"user\" (without it workers keep the "
                         "master's user and group)");
    }
    return HERD_OK;
}

/* ---- proxy --------------------------------------------------------------- */

/* One entry of proxy.trusted, parsed by the cidr module. */
static int
read_trusted(struct loader *ld, const struct node *v, struct herd_cidr *out,
             const char *path)
{
    char why[HERD_ERR_LEN];
    const char *text = NULL;

    if (scalar_text(ld, v, path, "an address such as 10.0.0.0/8, or unix",
                    &text) != HERD_OK)
        return HERD_ERR;
    if (herd_cidr_parse(text, v->len, out, why, sizeof(why)) != HERD_OK)
        return FAIL_NODE(ld, v, path, "%s", why);
    return HERD_OK;
}

/* A list of addresses and CIDRs (or just one) into *out, *n entries;
   absent or []: none. */
static int
read_cidr_list(struct loader *ld, const struct node *v, const char *path,
               struct herd_cidr **out, size_t *n)
{
    char at[PATH_LEN];
    size_t i, count;

    if (v == NULL)
        return HERD_OK;
    if (v->kind == NODE_MAPPING || is_null(v))
        return type_error(ld, v, path,
                          "a list of addresses such as [127.0.0.1/32, unix]");
    count = v->kind == NODE_SEQUENCE ? v->nkids : 1;
    if (count == 0)
        return HERD_OK;
    if (count > MAX_TRUSTED)
        return FAIL_NODE(ld, v, path, "too many entries (at most %d)",
                         MAX_TRUSTED);
    *out = calloc(count, sizeof(**out));
    if (*out == NULL)
        return out_of_memory(ld);
    *n = count;
    if (v->kind != NODE_SEQUENCE)
        return read_trusted(ld, v, &(*out)[0], path);
    for (i = 0; i < count; i++) {
        index_path(at, path, i);
        if (read_trusted(ld, v->kids[i], &(*out)[i], at) != HERD_OK)
            return HERD_ERR;
    }
    return HERD_OK;
}

static int
set_trusted(struct loader *ld, const struct key_def *k, const struct node *v,
            void *obj, const char *path)
{
    struct herd_config *cfg = obj;

    (void)k;
    return read_cidr_list(ld, v, path, &cfg->proxy.trusted,
                          &cfg->proxy.ntrusted);
}

/* ---- routes -------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned bit;
} method_names[] = {
    {"GET", HERD_M_GET},         {"HEAD", HERD_M_HEAD},
    {"POST", HERD_M_POST},       {"PUT", HERD_M_PUT},
    {"PATCH", HERD_M_PATCH},     {"DELETE", HERD_M_DELETE},
    {"OPTIONS", HERD_M_OPTIONS},
};

const char *
herd_method_name(unsigned bit)
{
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(method_names); i++) {
        if (method_names[i].bit == bit)
            return method_names[i].name;
    }
    return NULL;
}

/* One method name into *mask; refuses unknown and repeated names. */
static int
read_method(struct loader *ld, const struct node *v, const char *path,
            unsigned *mask)
{
    char shown[SHOW_LEN], upper[16];
    const char *text = NULL;
    size_t i, j;

    if (scalar_text(ld, v, path, "a method name such as GET", &text) != HERD_OK)
        return HERD_ERR;
    show(shown, v->text, v->len, 1);
    for (i = 0; i < HERD_ARRAY_LEN(method_names); i++) {
        if (strcmp(text, method_names[i].name) != 0)
            continue;
        if (*mask & method_names[i].bit)
            return FAIL_NODE(ld, v, path, "method %s is listed twice", shown);
        *mask |= method_names[i].bit;
        return HERD_OK;
    }
    for (j = 0; j + 1 < sizeof(upper) && text[j] != '\0'; j++)
        upper[j] =
            (text[j] >= 'a' && text[j] <= 'z') ? (char)(text[j] - 32) : text[j];
    upper[j] = '\0';
    for (i = 0; text[j] == '\0' && i < HERD_ARRAY_LEN(method_names); i++) {
        if (strcmp(upper, method_names[i].name) == 0)
            return FAIL_NODE(ld, v, path,
                             "unknown method %s (did you mean \"%s\"? "
                             "method names are upper case)",
                             shown, method_names[i].name);
    }
    return FAIL_NODE(ld, v, path,
                     "unknown method %s (expected one of: GET, HEAD, POST, "
                     "PUT, PATCH, DELETE, OPTIONS)",
                     shown);
}

static int
set_methods(struct loader *ld, const struct key_def *k, const struct node *v,
            void *obj, const char *path)
{
    struct herd_route_conf *route = obj;
    char at[PATH_LEN];
    unsigned mask = 0;
    size_t i;

    (void)k;
    if (v == NULL) {
        route->methods = HERD_M_GET | HERD_M_HEAD;
        return HERD_OK;
    }
    if (v->kind == NODE_SEQUENCE) {
        if (v->nkids == 0)
            return FAIL_NODE(ld, v, path, "expected at least one method");
        for (i = 0; i < v->nkids; i++) {
            index_path(at, path, i);
            if (read_method(ld, v->kids[i], at, &mask) != HERD_OK)
                return HERD_ERR;
        }
    } else if (read_method(ld, v, path, &mask) != HERD_OK) {
        return HERD_ERR;
    }
    if (mask & HERD_M_GET)
        mask |= HERD_M_HEAD;
    route->methods = mask;
    return HERD_OK;
}

static int
set_route_path(struct loader *ld, const struct key_def *k, const struct node *v,
               void *obj, const char *path)
{
    struct herd_route_conf *route = obj;
    const char *text = NULL;

    (void)k;
    if (scalar_text(ld, v, path, "a path such as /users/:id", &text) != HERD_OK)
        return HERD_ERR;
    if (text[0] != '/')
        return FAIL_NODE(ld, v, path, "must start with \"/\"");
    route->path = strdup(text);
    return route->path == NULL ? out_of_memory(ld) : HERD_OK;
}

static int
set_body(struct loader *ld, const struct key_def *k, const struct node *v,
         void *obj, const char *path)
{
    struct herd_respond_conf *r = obj;
    size_t len = 0;

    (void)k;
    if (v != NULL) {
        /* A body may hold any byte, NUL included ("\0" in YAML). */
        if (v->kind != NODE_SCALAR || is_null(v))
            return type_error(ld, v, path, "a string (\"\" for no body)");
        len = v->len;
    }
    r->body = malloc(len + 1);
    if (r->body == NULL)
        return out_of_memory(ld);
    if (len > 0)
        memcpy(r->body, v->text, len);
    r->body[len] = '\0';
    r->body_len = len;
    return HERD_OK;
}

static int
set_headers(struct loader *ld, const struct key_def *k, const struct node *v,
            void *obj, const char *path)
{
    struct herd_respond_conf *r = obj;
    char at[PATH_LEN], shown[SHOW_LEN];
    const char *bad;
    size_t i, n;

    (void)k;
    if (v == NULL || is_null(v))
        return HERD_OK;
    if (v->kind != NODE_MAPPING)
        return type_error(ld, v, path, "a mapping of header names to values");
    if (check_duplicates(ld, v, path, 1) != HERD_OK)
        return HERD_ERR;
    n = v->nkids / 2;
    if (n == 0)
        return HERD_OK;
    r->headers = calloc(n, sizeof(*r->headers));
    if (r->headers == NULL)
        return out_of_memory(ld);
    r->nheaders = n;
    for (i = 0; i < n; i++) {
        const struct node *name = v->kids[2 * i], *value = v->kids[2 * i + 1];

        if (!herd_framing_token_valid(name->text, name->len))
            return FAIL_NODE(ld, name, path,
                             "invalid header name %s (allowed: letters, "
                             "digits and !#$%%&'*+-.^_`|~)",
                             show(shown, name->text, name->len, 1));
        join_path(at, path, name->text);
        if (herd_response_managed_field(name->text, name->len))
            return FAIL_NODE(ld, name, at,
                             "managed by herd, cannot be set in a route");
        if (value->kind != NODE_SCALAR || is_null(value))
            return type_error(ld, value, at, "a string");
        bad = herd_framing_value_invalid(value->text, value->len);
        if (bad != NULL)
            return FAIL_NODE(ld, value, at,
                             "header values must not contain control "
                             "characters (found byte 0x%02x)",
                             (unsigned char)*bad);
        r->headers[i].name = strdup(name->text);
        r->headers[i].value = strdup(value->text);
        if (r->headers[i].name == NULL || r->headers[i].value == NULL)
            return out_of_memory(ld);
    }
    return HERD_OK;
}

static int
check_respond(struct loader *ld, const struct node *map, void *obj,
              const char *path)
{
    const struct herd_respond_conf *r = obj;
    const struct node *body = map_get(map, "body");
    char at[PATH_LEN];

    if (r->body_len > 0 && body != NULL &&
        ((r->status >= 100 && r->status < 200) || r->status == 204 ||
         r->status == 304)) {
        join_path(at, path, "body");
        return FAIL_NODE(ld, body, at, "a %d response cannot have a body",
                         r->status);
    }
    return HERD_OK;
}

static const struct key_def respond_keys[] = {
    {.name = "status",
     .type = KEY_INT,
     FIELD(struct herd_respond_conf, status),
     .min = 100,
     .max = 599,
     .def = 200},
    {.name = "body", .type = KEY_CUSTOM, .set = set_body},
    {.name = "headers", .type = KEY_CUSTOM, .set = set_headers},
};

static const struct table respond_table = {
    respond_keys, HERD_ARRAY_LEN(respond_keys), check_respond, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(respond_keys) <= MAX_TABLE_KEYS, "respond_keys");

static const struct key_def health_keys[] = {
    {.name = "min_ready",
     .type = KEY_INT,
     FIELD(struct herd_health_conf, min_ready),
     .min = 0,
     .max = WORKERS_MAX,
     .def = 0},
};

static const struct table health_table = {
    health_keys, HERD_ARRAY_LEN(health_keys), NULL, 0, 0,
};

/* metrics takes no keys (yet): an empty mapping. */
static const struct table metrics_table = {NULL, 0, NULL, 0, 0};
/* static: the root must be a directory now, the index a plain name. */
static int
check_static(struct loader *ld, const struct node *map, void *obj,
             const char *path)
{
    const struct herd_static_conf *sc = obj;
    const struct node *n;
    char at[PATH_LEN], shown[SHOW_LEN];
    const char *bad;
    struct stat st;

    if (map == NULL)
        return HERD_OK; /* "root" is required: apply_map said so */
    n = map_get(map, "root");
    join_path(at, path, "root");
    if (stat(sc->root, &st) != 0)
        return FAIL_NODE(ld, n, at, "cannot use %s (stat: %s)",
                         show(shown, sc->root, strlen(sc->root), 1),
                         strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return FAIL_NODE(ld, n, at, "%s is not a directory",
                         show(shown, sc->root, strlen(sc->root), 1));
    if (!herd_static_index_valid(sc->index)) {
        join_path(at, path, "index");
        return FAIL_NODE(ld, map_get(map, "index"), at,
                         "must be a file name (no \"/\", not \".\" or "
                         "\"..\")");
    }
    bad = sc->cache_control == NULL
              ? NULL
              : herd_framing_value_invalid(sc->cache_control,
                                           strlen(sc->cache_control));
    if (bad != NULL) {
        join_path(at, path, "cache_control");
        return FAIL_NODE(ld, map_get(map, "cache_control"), at,
                         "must not contain control characters (found "
                         "byte 0x%02x)",
                         (unsigned char)*bad);
    }
    return HERD_OK;
}

static const char *const dotfiles_names[] = {"deny", "allow", NULL};

/* static.cache: offsets are from struct herd_static_conf. */
static const struct key_def static_cache_keys[] = {
    {.name = "max_file",
     .type = KEY_SIZE,
     FIELD(struct herd_static_conf, cache.max_file),
     .min = 0,
     .max = GIB,
     .def = 16 * KIB},
    {.name = "size",
     .type = KEY_SIZE,
     FIELD(struct herd_static_conf, cache.size),
     .min = 0,
     .max = GIB,
     .def = MIB},
};

static const struct table static_cache_table = {
    static_cache_keys, HERD_ARRAY_LEN(static_cache_keys), NULL, 0, 0,
};

static const struct key_def static_keys[] = {
    {.name = "root",
     .type = KEY_STRING,
     .flags = KEY_REQUIRED,
     FIELD(struct herd_static_conf, root)},
    {.name = "index",
     .type = KEY_STRING,
     FIELD(struct herd_static_conf, index),
     .def_str = "index.html"},
    {.name = "cache_control",
     .type = KEY_STRING,
     FIELD(struct herd_static_conf, cache_control)},
    {.name = "gzip_static",
     .type = KEY_BOOL,
     FIELD(struct herd_static_conf, gzip_static),
     .def = 0},
    {.name = "dotfiles",
     .type = KEY_ENUM,
     FIELD(struct herd_static_conf, dotfiles),
     .names = dotfiles_names,
     .def = HERD_DOTFILES_DENY},
    {.name = "cache",
     .type = KEY_SECTION,
     .offset = 0,
     .sub = &static_cache_table},
};

static const struct table static_table = {
    static_keys, HERD_ARRAY_LEN(static_keys), check_static, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(static_keys) <= MAX_TABLE_KEYS, "static_keys");

static int
check_redirect_status(struct loader *ld, const struct node *map, void *obj,
                      const char *path)
{
    const struct herd_redirect_conf *rc = obj;
    char at[PATH_LEN];

    if (map == NULL || herd_redirect_status_valid(rc->status))
        return HERD_OK;
    join_path(at, path, "status");
    return FAIL_NODE(ld, map_get(map, "status"), at,
                     "%d is not a redirect (expected 301, 302, 303, 307 or "
                     "308)",
                     rc->status);
}

static const struct key_def redirect_keys[] = {
    {.name = "to",
     .type = KEY_STRING,
     .flags = KEY_REQUIRED,
     FIELD(struct herd_redirect_conf, to)},
    {.name = "status",
     .type = KEY_INT,
     FIELD(struct herd_redirect_conf, status),
     .min = 300,
     .max = 399,
     .def = 302},
};

static const struct table redirect_table = {
    redirect_keys, HERD_ARRAY_LEN(redirect_keys), check_redirect_status, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(redirect_keys) <= MAX_TABLE_KEYS,
               "redirect_keys");

/* events and websocket: the channel, a name or ":param". */
static int
set_channel_name(struct loader *ld, const struct key_def *k,
                 const struct node *v, void *obj, const char *path)
{
    struct herd_channel_conf *cc = obj;
    const char *text = NULL, *name;
    size_t i, len;

    (void)k;
    /* Required: apply_map never calls this with v NULL. */
    if (scalar_text(ld, v, path, "a channel name, or :param", &text) != HERD_OK)
        return HERD_ERR;
    name = text[0] == ':' ? text + 1 : text;
    len = strlen(name);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("._:-", c) != NULL) ||
            (text[0] == ':' && strchr(".:-", c) != NULL))
            break;
    }
    if (len == 0 || len > 200 || i < len)
        return FAIL_NODE(ld, v, path,
                         "invalid channel %s (expected 1 to 200 of A-Z a-z "
                         "0-9 . _ : -, or :param naming a route parameter)",
                         text);
    cc->channel = strdup(text);
    return cc->channel == NULL ? out_of_memory(ld) : HERD_OK;
}

static int
set_publish_from(struct loader *ld, const struct key_def *k,
                 const struct node *v, void *obj, const char *path)
{
    struct herd_channel_conf *cc = obj;

    (void)k;
    return read_cidr_list(ld, v, path, &cc->publish_from, &cc->npublish_from);
}

/* The keys events and websocket routes share: the channel, the
   keep-alive, and how far behind a subscriber may fall. */
/* clang-format off */
#define CHANNEL_KEYS                                                           \
    {.name = "channel",                                                        \
     .type = KEY_CUSTOM,                                                       \
     .flags = KEY_REQUIRED,                                                    \
     .set = set_channel_name},                                                 \
    {.name = "keepalive",                                                      \
     .type = KEY_DURATION,                                                     \
     FIELD(struct herd_channel_conf, keepalive_ms),                            \
     .min = SECOND,                                                            \
     .max = HOUR,                                                              \
     .def = 15 * SECOND},                                                      \
    {.name = "max_pending",                                                    \
     .type = KEY_SIZE,                                                         \
     FIELD(struct herd_channel_conf, max_pending),                             \
     .min = KIB,                                                               \
     .max = GIB,                                                               \
     .def = MIB}
/* clang-format on */

static const struct key_def events_keys[] = {
    CHANNEL_KEYS,
    {.name = "retry",
     .type = KEY_DURATION,
     FIELD(struct herd_channel_conf, retry_ms),
     .min = 1,
     .max = HOUR,
     .def = 2 * SECOND},
    {.name = "publish_from", .type = KEY_CUSTOM, .set = set_publish_from},
};

static const struct table events_table = {
    events_keys, HERD_ARRAY_LEN(events_keys), NULL, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(events_keys) <= MAX_TABLE_KEYS, "events_keys");

static const struct key_def websocket_keys[] = {
    CHANNEL_KEYS,
    {.name = "max_message_size",
     .type = KEY_SIZE,
     FIELD(struct herd_channel_conf, max_message_size),
     .min = 125,
     .max = 60 * KIB,
     .def = 60 * KIB},
    {.name = "publish",
     .type = KEY_BOOL,
     FIELD(struct herd_channel_conf, publish),
     .def = 1},
    {.name = "ids",
     .type = KEY_BOOL,
     FIELD(struct herd_channel_conf, ids),
     .def = 0},
};

static const struct table websocket_table = {
    websocket_keys, HERD_ARRAY_LEN(websocket_keys), NULL, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(websocket_keys) <= MAX_TABLE_KEYS,
               "websocket_keys");

/* module.config: a flat mapping of scalars, handed to the module as text. */
static int
set_module_config(struct loader *ld, const struct key_def *k,
                  const struct node *v, void *obj, const char *path)
{
    struct herd_module_config *mc = obj;
    const char *text = NULL;
    char at[PATH_LEN];
    size_t i, n;

    (void)k;
    if (v == NULL || is_null(v))
        return HERD_OK;
    if (v->kind != NODE_MAPPING)
        return type_error(ld, v, path, "a mapping of names to values");
    if (check_duplicates(ld, v, path, 0) != HERD_OK)
        return HERD_ERR;
    n = v->nkids / 2;
    if (n == 0)
        return HERD_OK;
    mc->keys = calloc(n, sizeof(*mc->keys));
    mc->values = calloc(n, sizeof(*mc->values));
    if (mc->keys == NULL || mc->values == NULL)
        return out_of_memory(ld);
    for (i = 0; i < n; i++) {
        const struct node *name = v->kids[2 * i], *value = v->kids[2 * i + 1];

        join_path(at, path, name->text);
        if (value->kind != NODE_SCALAR || is_null(value))
            return type_error(ld, value, at,
                              "a scalar (a string, number or boolean)");
        if (scalar_text(ld, value, at, "a scalar", &text) != HERD_OK)
            return HERD_ERR;
        mc->keys[mc->nkeys] = strdup(name->text);
        mc->values[mc->nkeys] = strdup(text);
        mc->nkeys++;
        if (mc->keys[mc->nkeys - 1] == NULL ||
            mc->values[mc->nkeys - 1] == NULL)
            return out_of_memory(ld);
    }
    return HERD_OK;
}

static const struct key_def module_keys[] = {
    {.name = "file",
     .type = KEY_STRING,
     .flags = KEY_REQUIRED,
     FIELD(struct herd_module_config, file)},
    {.name = "handler",
     .type = KEY_STRING,
     .flags = KEY_REQUIRED,
     FIELD(struct herd_module_config, handler)},
    {.name = "timeout",
     .type = KEY_DURATION,
     FIELD(struct herd_module_config, timeout_ms),
     .min = 1,
     .max = DAY,
     .def = 60 * SECOND},
    {.name = "config", .type = KEY_CUSTOM, .set = set_module_config},
};

static const struct table module_table = {
    module_keys, HERD_ARRAY_LEN(module_keys), NULL, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(module_keys) <= MAX_TABLE_KEYS, "module_keys");

/*
 * A module route: load its file (once per configuration) and find its
 * handler now, so that a missing file or symbol is a configuration error
 * with its position, in `herd -t` as at start and on reload.
 */
static int
module_route_load(struct loader *ld, struct herd_config *cfg,
                  struct herd_route_conf *route, const struct node *item,
                  const char *path)
{
    struct herd_module_config *mc = &route->u.module;
    const struct node *m = map_get(item, "module"), *n;
    enum herd_module_fault fault = HERD_MODULE_FILE;
    char why[HERD_ERR_LEN], at[PATH_LEN];

    mc->route = route->path;
    if (herd_module_load(&cfg->modules, mc, &fault, why, sizeof(why)) ==
        HERD_OK)
        return HERD_OK;
    n = map_get(m, fault == HERD_MODULE_SYMBOL ? "handler" : "file");
    join_path(at, path,
              fault == HERD_MODULE_SYMBOL ? "module.handler" : "module.file");
    return FAIL_NODE(ld, n != NULL ? n : item, at, "%s", why);
}

/*
 * Once the whole file is read: each module's herd_module_init, per route,
 * so that a module refusing its configuration says so with the route's
 * position.
 */
static int
module_routes_init(struct loader *ld, struct herd_config *cfg)
{
    char why[HERD_ERR_LEN], route[PATH_LEN], at[PATH_LEN];
    size_t i;

    for (i = 0; i < cfg->nroutes; i++) {
        struct herd_route_conf *r = &cfg->routes[i];

        if (r->handler != HERD_HANDLER_MODULE)
            continue;
        if (herd_module_run_init(&r->u.module, why, sizeof(why)) == HERD_OK)
            continue;
        index_path(route, "routes", i);
        join_path(at, route, "module");
        return fail_at(ld, r->line, r->col, at, "%s", why);
    }
    return HERD_OK;
}

/* Whether pattern has the parameter ":name" as a segment. */
static int
pattern_has_param(const char *pattern, const char *name)
{
    size_t n = strlen(name);
    const char *p = pattern;

    while ((p = strstr(p, name)) != NULL) {
        if (p > pattern && p[-1] == ':' && p > pattern + 1 && p[-2] == '/' &&
            (p[n] == '/' || p[n] == '\0'))
            return 1;
        p += n;
    }
    return 0;
}

/* events and websocket: the channel's parameter is the route's; the
   methods are those the handler answers. */
static int
check_channel_route(struct loader *ld, const struct herd_route_conf *route,
                    const struct node *map, const char *path)
{
    const struct herd_channel_conf *cc = &route->u.channel;
    const struct node *n;
    char at[PATH_LEN];
    unsigned allowed = route->handler == HERD_HANDLER_EVENTS
                           ? HERD_M_GET | HERD_M_HEAD | HERD_M_POST
                           : HERD_M_GET | HERD_M_HEAD;

    n = map_get(map,
                route->handler == HERD_HANDLER_EVENTS ? "events" : "websocket");
    if (cc->channel != NULL && cc->channel[0] == ':' &&
        !pattern_has_param(route->path, cc->channel + 1)) {
        join_path(at, path,
                  route->handler == HERD_HANDLER_EVENTS ? "events.channel"
                                                        : "websocket.channel");
        n = n != NULL && n->kind == NODE_MAPPING ? map_get(n, "channel") : n;
        return FAIL_NODE(ld, n != NULL ? n : map, at,
                         "the route's path has no parameter %s", cc->channel);
    }
    if ((route->methods & ~allowed) != 0) {
        n = map_get(map, "methods");
        join_path(at, path, "methods");
        return FAIL_NODE(ld, n != NULL ? n : map, at,
                         route->handler == HERD_HANDLER_EVENTS
                             ? "an events route answers GET and HEAD "
                               "(subscribe) and POST (publish) only"
                             : "a websocket route answers GET only");
    }
    return HERD_OK;
}

/*
 * What a handler needs of the route's pattern: static serves the wildcard
 * of a wildcard route ("/prefix/" then a star); redirect compiles its
 * template for the pattern.
 */
static int
check_route(struct loader *ld, const struct node *map, void *obj,
            const char *path)
{
    struct herd_route_conf *route = obj;
    struct herd_redirect_conf *rd = &route->u.redirect;
    const struct node *n;
    char at[PATH_LEN], why[HERD_ERR_LEN];
    size_t len;

    if (map == NULL || route->path == NULL)
        return HERD_OK;
    len = strlen(route->path);
    if (route->handler == HERD_HANDLER_STATIC &&
        (len < 2 || strcmp(route->path + len - 2, "/*") != 0)) {
        join_path(at, path, "path");
        return FAIL_NODE(ld, map_get(map, "path"), at,
                         "a static route's path must end in \"/*\" "
                         "(e.g. /static/*)");
    }
    if (route->handler == HERD_HANDLER_STATIC &&
        (route->methods & ~(HERD_M_GET | HERD_M_HEAD)) != 0) {
        n = map_get(map, "methods");
        join_path(at, path, "methods");
        return FAIL_NODE(ld, n != NULL ? n : map, at,
                         "a static route serves GET and HEAD only");
    }
    if (route->handler == HERD_HANDLER_EVENTS ||
        route->handler == HERD_HANDLER_WEBSOCKET)
        return check_channel_route(ld, route, map, path);
    if (route->handler != HERD_HANDLER_REDIRECT)
        return HERD_OK;
    why[0] = '\0';
    rd->compiled = herd_redirect_compile(rd->to, route->path, rd->status, why,
                                         sizeof(why));
    if (rd->compiled != NULL)
        return HERD_OK;
    n = map_get(map, "redirect");
    n = n != NULL && n->kind == NODE_MAPPING ? map_get(n, "to") : n;
    join_path(at, path, "redirect.to");
    return FAIL_NODE(ld, n != NULL ? n : map, at, "%s", why);
}

static const struct key_def route_keys[] = {
    {.name = "path",
     .type = KEY_CUSTOM,
     .flags = KEY_REQUIRED,
     .set = set_route_path},
    {.name = "methods", .type = KEY_CUSTOM, .set = set_methods},
    {.name = "respond",
     .type = KEY_SECTION,
     .flags = KEY_HANDLER,
     FIELD(struct herd_route_conf, u.respond),
     .sub = &respond_table,
     .def = HERD_HANDLER_RESPOND},
    {.name = "health",
     .type = KEY_SECTION,
     .flags = KEY_HANDLER,
     FIELD(struct herd_route_conf, u.health),
     .sub = &health_table,
     .def = HERD_HANDLER_HEALTH},
    {.name = "metrics",
     .type = KEY_SECTION,
     .flags = KEY_HANDLER,
     FIELD(struct herd_route_conf, u.metrics),
     .sub = &metrics_table,
     .def = HERD_HANDLER_METRICS},
    {.name = "static",
     .type = KEY_SECTION,
     .flags = KEY_HANDLER,
     FIELD(struct herd_route_conf, u.static_),
     .sub = &static_table,
     .def = HERD_HANDLER_STATIC},
    {.name = "redirect",
     .type = KEY_SECTION,
     .flags = KEY_HANDLER,
     FIELD(struct herd_route_conf, u.redirect),
     .sub = &redirect_table,
     .def = HERD_HANDLER_REDIRECT},
    {.name = "module",
     .type = KEY_SECTION,
     .flags = KEY_HANDLER,
     FIELD(struct herd_route_conf, u.module),
     .sub = &module_table,
     .def = HERD_HANDLER_MODULE},
    {.name = "events",
     .type = KEY_SECTION,
     .flags = KEY_HANDLER,
     FIELD(struct herd_route_conf, u.channel),
     .sub = &events_table,
     .def = HERD_HANDLER_EVENTS},
    {.name = "websocket",
     .type = KEY_SECTION,
     .flags = KEY_HANDLER,
     FIELD(struct herd_route_conf, u.channel),
     .sub = &websocket_table,
     .def = HERD_HANDLER_WEBSOCKET},
};

static const struct table route_table = {
    route_keys,
    HERD_ARRAY_LEN(route_keys),
    check_route,
    offsetof(struct herd_route_conf, handler),
    sizeof(((struct herd_route_conf *)0)->handler),
};
_Static_assert(HERD_ARRAY_LEN(route_keys) <= MAX_TABLE_KEYS, "route_keys");

/* Add route i to the scratch router, which checks its pattern. */
static int
route_check(struct loader *ld, struct herd_router *router,
            struct herd_route_conf *route, const struct node *item,
            const char *path)
{
    const struct node *pnode = map_get(item, "path");
    char why[HERD_ERR_LEN], at[PATH_LEN];
    void *conflict = NULL;

    why[0] = '\0';
    if (herd_router_add(router, route->path, route->methods, route, &conflict,
                        why, sizeof(why)) == HERD_OK)
        return HERD_OK;
    join_path(at, path, "path");
    if (conflict != NULL)
        return FAIL_NODE(ld, pnode, at,
                         "%s (conflicts with the route at line %d)", why,
                         ((const struct herd_route_conf *)conflict)->line);
    return FAIL_NODE(ld, pnode, at, "%s", why);
}

static int
set_routes(struct loader *ld, const struct key_def *k, const struct node *v,
           void *obj, const char *path)
{
    struct herd_config *cfg = obj;
    struct herd_router *router = NULL;
    char at[PATH_LEN];
    size_t i;
    int rc = HERD_ERR;

    (void)k;
    if (v == NULL)
        return HERD_OK;
    if (v->kind != NODE_SEQUENCE)
        return type_error(ld, v, path, "a list of routes");
    if (v->nkids == 0)
        return HERD_OK;
    cfg->routes = calloc(v->nkids, sizeof(*cfg->routes));
    router = herd_router_new();
    if (cfg->routes == NULL || router == NULL) {
        out_of_memory(ld);
        goto fail;
    }
    cfg->nroutes = v->nkids;
    for (i = 0; i < v->nkids; i++) {
        const struct node *item = v->kids[i];
        struct herd_route_conf *route = &cfg->routes[i];

        index_path(at, path, i);
        route->line = item->line;
        route->col = item->col;
        route->metrics_id = -1;
        if (item->kind != NODE_MAPPING) {
            type_error(ld, item, at, "a mapping");
            goto fail;
        }
        if (apply_map(ld, item, &route_table, route, at) != HERD_OK ||
            route_check(ld, router, route, item, at) != HERD_OK)
            goto fail;
        if (route->handler == HERD_HANDLER_MODULE &&
            module_route_load(ld, cfg, route, item, at) != HERD_OK)
            goto fail;
    }
    rc = HERD_OK;
fail:
    herd_router_free(router);
    return rc;
}

/* ---- the top level ------------------------------------------------------- */

static const char *const log_levels[] = {"error", "warn", "info", "debug",
                                         NULL};
static const char *const access_formats[] = {"combined", "json", NULL};
_Static_assert(HERD_ACCESS_COMBINED == 0 && HERD_ACCESS_JSON == 1,
               "access_formats[] follows enum herd_access_fmt");

/* limits and log are inline structs: their offsets are from the config. */
static const struct key_def limits_keys[] = {
    {.name = "max_connections",
     .type = KEY_INT,
     FIELD(struct herd_config, limits.max_connections),
     .min = 1,
     .max = 1000000,
     .def = 10000},
    {.name = "header_timeout",
     .type = KEY_DURATION,
     FIELD(struct herd_config, limits.header_timeout_ms),
     .min = 1,
     .max = HOUR,
     .def = 10 * SECOND},
    {.name = "body_timeout",
     .type = KEY_DURATION,
     FIELD(struct herd_config, limits.body_timeout_ms),
     .min = 1,
     .max = HOUR,
     .def = 30 * SECOND},
    {.name = "body_min_rate",
     .type = KEY_SIZE,
     FIELD(struct herd_config, limits.body_min_rate),
     .min = 0,
     .max = GIB,
     .def = KIB},
    {.name = "send_timeout",
     .type = KEY_DURATION,
     FIELD(struct herd_config, limits.send_timeout_ms),
     .min = 1,
     .max = HOUR,
     .def = 30 * SECOND},
    {.name = "keepalive_timeout",
     .type = KEY_DURATION,
     FIELD(struct herd_config, limits.keepalive_timeout_ms),
     .min = 0,
     .max = HOUR,
     .def = 75 * SECOND},
    {.name = "keepalive_requests",
     .type = KEY_INT,
     FIELD(struct herd_config, limits.keepalive_requests),
     .min = 0,
     .max = 1000000000,
     .def = 1000},
    {.name = "max_header_size",
     .type = KEY_SIZE,
     FIELD(struct herd_config, limits.max_header_size),
     .min = KIB,
     .max = MIB,
     .def = 8 * KIB},
    {.name = "max_body_size",
     .type = KEY_SIZE,
     FIELD(struct herd_config, limits.max_body_size),
     .min = 0,
     .max = GIB,
     .def = MIB},
};

static const struct table limits_table = {
    limits_keys, HERD_ARRAY_LEN(limits_keys), NULL, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(limits_keys) <= MAX_TABLE_KEYS, "limits_keys");

static const struct key_def worker_keys[] = {
    {.name = "heartbeat",
     .type = KEY_DURATION,
     FIELD(struct herd_config, worker.heartbeat_ms),
     .min = 10,
     .max = MINUTE,
     .def = SECOND},
    {.name = "timeout",
     .type = KEY_DURATION,
     FIELD(struct herd_config, worker.timeout_ms),
     .min = 100,
     .max = HOUR,
     .def = 10 * SECOND},
    {.name = "shutdown_timeout",
     .type = KEY_DURATION,
     FIELD(struct herd_config, worker.shutdown_timeout_ms),
     .min = 0,
     .max = HOUR,
     .def = 30 * SECOND},
    {.name = "max_requests",
     .type = KEY_INT,
     FIELD(struct herd_config, worker.max_requests),
     .min = 0,
     .max = 1000000000000ull,
     .def = 0},
    {.name = "max_requests_jitter",
     .type = KEY_INT,
     FIELD(struct herd_config, worker.max_requests_jitter),
     .min = 0,
     .max = 1000000000000ull,
     .def = 0},
};

static const struct table worker_table = {
    worker_keys, HERD_ARRAY_LEN(worker_keys), check_worker, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(worker_keys) <= MAX_TABLE_KEYS, "worker_keys");

static const struct key_def log_keys[] = {
    {.name = "error",
     .type = KEY_STRING,
     FIELD(struct herd_config, log.error),
     .def_str = "stderr"},
    {.name = "level",
     .type = KEY_ENUM,
     FIELD(struct herd_config, log.level),
     .names = log_levels,
     .def = HERD_LOG_INFO},
    {.name = "access",
     .type = KEY_STRING,
     FIELD(struct herd_config, log.access),
     .def_str = "off"},
    {.name = "format",
     .type = KEY_ENUM,
     FIELD(struct herd_config, log.format),
     .names = access_formats,
     .def = HERD_ACCESS_COMBINED},
};

static const struct table log_table = {
    log_keys, HERD_ARRAY_LEN(log_keys), NULL, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(log_keys) <= MAX_TABLE_KEYS, "log_keys");

static const char *const client_headers[] = {"x-forwarded-for", "forwarded",
                                             NULL};

static const struct key_def proxy_keys[] = {
    {.name = "trusted", .type = KEY_CUSTOM, .set = set_trusted},
    {.name = "client_header",
     .type = KEY_ENUM,
     FIELD(struct herd_config, proxy.client_header),
     .names = client_headers,
     .def = HERD_PROXY_XFF},
};

static const struct table proxy_table = {
    proxy_keys, HERD_ARRAY_LEN(proxy_keys), NULL, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(proxy_keys) <= MAX_TABLE_KEYS, "proxy_keys");
_Static_assert(HERD_PROXY_XFF == 0 && HERD_PROXY_FORWARDED == 1,
               "client_headers[] follows enum herd_proxy_source");

static const char *const pubsub_backends[] = {"local", "redis", NULL};

static const struct key_def pubsub_keys[] = {
    {.name = "backend",
     .type = KEY_ENUM,
     FIELD(struct herd_config, pubsub.backend),
     .names = pubsub_backends,
     .def = HERD_PUBSUB_LOCAL},
    {.name = "address",
     .type = KEY_STRING,
     FIELD(struct herd_config, pubsub.address),
     .def_str = "127.0.0.1:6379"},
    {.name = "prefix",
     .type = KEY_STRING,
     FIELD(struct herd_config, pubsub.prefix),
     .def_str = "herd:"},
    {.name = "history",
     .type = KEY_INT,
     FIELD(struct herd_config, pubsub.history),
     .min = 0,
     .max = 100000,
     .def = 100},
    {.name = "history_size",
     .type = KEY_SIZE,
     FIELD(struct herd_config, pubsub.history_size),
     .min = 0,
     .max = GIB,
     .def = MIB},
    {.name = "max_channels",
     .type = KEY_INT,
     FIELD(struct herd_config, pubsub.max_channels),
     .min = 1,
     .max = 1000000,
     .def = 10000},
};

/* pubsub.address: "host:port", "[v6]:port" or a unix socket path. */
static int
check_pubsub(struct loader *ld, const struct node *map, void *obj,
             const char *path)
{
    const struct herd_config *cfg = obj;
    const char *a = cfg->pubsub.address, *colon;
    char at[PATH_LEN], *end;
    const struct node *n;
    long port;

    if (map == NULL || a == NULL || a[0] == '/')
        return HERD_OK;
    colon = strrchr(a, ':');
    port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
    if (colon != NULL && colon != a && *end == '\0' && colon[1] != '\0' &&
        port >= 1 && port <= 65535)
        return HERD_OK;
    n = map_get(map, "address");
    join_path(at, path, "address");
    return FAIL_NODE(ld, n != NULL ? n : map, at,
                     "\"%s\" is not host:port (or a unix socket path)", a);
}

static const struct table pubsub_table = {
    pubsub_keys, HERD_ARRAY_LEN(pubsub_keys), check_pubsub, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(pubsub_keys) <= MAX_TABLE_KEYS, "pubsub_keys");
_Static_assert(HERD_PUBSUB_LOCAL == 0 && HERD_PUBSUB_REDIS == 1,
               "pubsub_backends[] follows enum herd_pubsub_backend");

static const struct key_def top_keys[] = {
    {.name = "listen", .type = KEY_CUSTOM, .set = set_listen},
    {.name = "workers",
     .type = KEY_CUSTOM,
     .min = 1,
     .max = WORKERS_MAX,
     .set = set_workers},
    {.name = "worker", .type = KEY_SECTION, .offset = 0, .sub = &worker_table},
    {.name = "user",
     .type = KEY_CUSTOM,
     FIELD(struct herd_config, user),
     .set = set_account},
    {.name = "group",
     .type = KEY_CUSTOM,
     FIELD(struct herd_config, group),
     .set = set_account},
    {.name = "pid_file",
     .type = KEY_STRING,
     FIELD(struct herd_config, pid_file)},
    {.name = "limits", .type = KEY_SECTION, .offset = 0, .sub = &limits_table},
    {.name = "log", .type = KEY_SECTION, .offset = 0, .sub = &log_table},
    {.name = "proxy", .type = KEY_SECTION, .offset = 0, .sub = &proxy_table},
    {.name = "pubsub", .type = KEY_SECTION, .offset = 0, .sub = &pubsub_table},
    {.name = "routes", .type = KEY_CUSTOM, .set = set_routes},
};

static const struct table top_table = {
    top_keys, HERD_ARRAY_LEN(top_keys), check_top, 0, 0,
};
_Static_assert(HERD_ARRAY_LEN(top_keys) <= MAX_TABLE_KEYS, "top_keys");

/* ---- public API ---------------------------------------------------------- */

int
herd_config_load_string(const char *name, const char *text, size_t len,
                        struct herd_config **out, char *err, size_t errlen)
{
    struct loader ld;
    struct node *root = NULL;
    struct herd_config *cfg = NULL;
    char got[DESCRIBE_LEN];

    memset(&ld, 0, sizeof(ld));
    ld.name = name != NULL ? name : "(config)";
    ld.text = text != NULL ? text : "";
    ld.len = text != NULL ? len : 0;
    ld.err = err;
    ld.errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out != NULL)
        *out = NULL;
    if (ld.len > MAX_FILE_SIZE) {
        fail_at(&ld, 0, 0, NULL, "too large (more than 1 MiB)");
        goto fail;
    }
    if (build_tree(&ld, &root) != HERD_OK)
        goto fail;
    if (root == NULL || is_null(root)) {
        fail_at(&ld, 0, 0, NULL,
                "no settings found (the file is empty or only has "
                "comments)");
        goto fail;
    }
    if (root->kind != NODE_MAPPING) {
        FAIL_NODE(&ld, root, NULL,
                  "expected a mapping of settings at the top level, got %s",
                  describe(got, root));
        goto fail;
    }
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || (cfg->file = strdup(ld.name)) == NULL) {
        out_of_memory(&ld);
        goto fail;
    }
    if (apply_map(&ld, root, &top_table, cfg, "") != HERD_OK ||
        module_routes_init(&ld, cfg) != HERD_OK)
        goto fail;
    node_free(root);
    if (out != NULL)
        *out = cfg;
    else
        herd_config_free(cfg);
    return HERD_OK;
fail:
    node_free(root);
    herd_config_free(cfg);
    return HERD_ERR;
}

int
herd_config_load(const char *path, struct herd_config **out, char *err,
                 size_t errlen)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0, n;
    int rc = HERD_ERR;

    if (out != NULL)
        *out = NULL;
    if (path == NULL) {
        snprintf(err, errlen, "(null): cannot open: %s", strerror(EINVAL));
        goto done;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    /* One byte over the limit is enough to know the file is too big. */
    buf = malloc(MAX_FILE_SIZE + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    while (len < MAX_FILE_SIZE + 1) {
        n = fread(buf + len, 1, MAX_FILE_SIZE + 1 - len, f);
        if (n == 0)
            break;
        len += n;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    rc = herd_config_load_string(path, buf, len, out, err, errlen);
done:
    free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

void
herd_config_free(struct herd_config *cfg)
{
    size_t i, j;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->nlisten; i++) {
        free(cfg->listen[i].address);
        free(cfg->listen[i].host);
        free(cfg->listen[i].path);
    }
    free(cfg->listen);
    for (i = 0; i < cfg->nroutes; i++) {
        struct herd_route_conf *r = &cfg->routes[i];

        free(r->path);
        if (r->handler == HERD_HANDLER_RESPOND) {
            free(r->u.respond.body);
            for (j = 0; j < r->u.respond.nheaders; j++) {
                free(r->u.respond.headers[j].name);
                free(r->u.respond.headers[j].value);
            }
            free(r->u.respond.headers);
        } else if (r->handler == HERD_HANDLER_STATIC) {
            free(r->u.static_.root);
            free(r->u.static_.index);
            free(r->u.static_.cache_control);
        } else if (r->handler == HERD_HANDLER_REDIRECT) {
            free(r->u.redirect.to);
            herd_redirect_free(r->u.redirect.compiled);
        } else if (r->handler == HERD_HANDLER_EVENTS ||
                   r->handler == HERD_HANDLER_WEBSOCKET) {
            free(r->u.channel.channel);
            free(r->u.channel.publish_from);
        } else if (r->handler == HERD_HANDLER_MODULE) {
            free(r->u.module.file);
            free(r->u.module.handler);
            for (j = 0; j < r->u.module.nkeys; j++) {
                free(r->u.module.keys[j]);
                free(r->u.module.values[j]);
            }
            free(r->u.module.keys);
            free(r->u.module.values);
        }
    }
    herd_module_unload_all(cfg->modules);
    free(cfg->routes);
    free(cfg->proxy.trusted);
    free(cfg->pubsub.address);
    free(cfg->pubsub.prefix);
    free(cfg->user);
    free(cfg->group);
    free(cfg->pid_file);
    free(cfg->log.error);
    free(cfg->log.access);
    free(cfg->file);
    free(cfg);
}
