/* config.h: the parsed, validated form of herd.yaml. */
#ifndef HERD_CONFIG_H
#define HERD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "common.h"
#include "herd.h" /* enum herd_log_level */
#include "proxy.h"

/* A config error carries a file:line:col prefix, so it may be long. */
#define HERD_CONFIG_ERR_LEN 1024

enum herd_listen_kind { HERD_LISTEN_TCP, HERD_LISTEN_UNIX };

struct herd_listen {
    enum herd_listen_kind kind;
    char *address; /* as written in the file, for messages */
    char *host;    /* TCP: numeric IPv4/IPv6 or a name, no brackets */
    uint16_t port; /* TCP: 0 means "pick a free port" (tests) */
    char *path;    /* unix: filesystem path */
    unsigned mode; /* unix: permission bits, when has_mode */
    int has_mode;
    int backlog;   /* listen(2) backlog; default 511 */
    int line, col; /* where the entry starts, 1-based */
    /* 1: each connection starts with a PROXY v1 or v2 header; default 0 */
    int proxy_protocol;
};

/* HTTP methods a route accepts, as a bit mask. HEAD follows GET. */
enum herd_method_bit {
    HERD_M_GET = 1u << 0,
    HERD_M_HEAD = 1u << 1,
    HERD_M_POST = 1u << 2,
    HERD_M_PUT = 1u << 3,
    HERD_M_PATCH = 1u << 4,
    HERD_M_DELETE = 1u << 5,
    HERD_M_OPTIONS = 1u << 6,
};

struct herd_header {
    char *name;
    char *value;
};

enum herd_handler_kind {
    HERD_HANDLER_RESPOND,
    HERD_HANDLER_HEALTH,
    HERD_HANDLER_METRICS,
    HERD_HANDLER_STATIC,
    HERD_HANDLER_REDIRECT,
    HERD_HANDLER_MODULE,
    HERD_HANDLER_EVENTS,
    HERD_HANDLER_WEBSOCKET,
};

/* health: the scoreboard as JSON. */
struct herd_health_conf {
    uint32_t min_ready; /* 200 when this many slots are ready; 0 = all */
};

/* metrics: Prometheus text for the whole server; no options yet. */
struct herd_metrics_conf {
    int unused;
};

struct herd_respond_conf {
    int status; /* 100..599, default 200 */
    char *body; /* never NULL; "" by default */
    size_t body_len;
    struct herd_header *headers; /* in file order */
    size_t nheaders;
};

enum herd_dotfiles { HERD_DOTFILES_DENY = 0, HERD_DOTFILES_ALLOW };

/* static: files under root, on a route whose last segment is the wildcard. */
struct herd_static_conf {
    char *root;          /* an existing directory when the config loaded */
    char *index;         /* served for "dir/"; default "index.html" */
    char *cache_control; /* Cache-Control value; NULL: none (default) */
    int gzip_static;     /* serve "x.gz" to clients taking gzip; default 0 */
    int dotfiles;        /* enum herd_dotfiles; default deny */
    struct {
        uint64_t max_file; /* files up to this size are kept in memory */
        uint64_t size;     /* per worker, in all; 0 turns the cache off */
    } cache;
};

struct herd_redirect;

/* redirect: Location rendered per request from a compiled template. */
struct herd_redirect_conf {
    char *to;                       /* the template, as written */
    int status;                     /* 301, 302, 303, 307, 308; default 302 */
    struct herd_redirect *compiled; /* for the route's pattern; owned */
};

/* events (Server-Sent Events) and websocket: a pub/sub channel's
   subscribers. */
struct herd_channel_conf {
    char *channel;             /* a name, or ":param": a route parameter's */
    uint64_t keepalive_ms;     /* events: a comment this often; websocket: a
                                  ping; default 15s */
    uint64_t max_pending;      /* a subscriber this many bytes behind is
                                  dropped; default 1m */
    uint64_t retry_ms;         /* events: the retry: hint; default 2s */
    uint64_t max_message_size; /* websocket: default 64k */
    int publish;               /* websocket: clients' messages are
                                  published; default true */
    int ids;                   /* websocket: messages as JSON with their
                                  ids, and replays; default false */
    struct herd_cidr *publish_from; /* events: who may POST; none default */
    size_t npublish_from;
};

struct herd_module; /* a loaded shared object: module.h */

/* module: a handler from a shared object; herd.h's opaque handle. */
struct herd_module_config {
    char *file;          /* as written */
    char *handler;       /* the handler's symbol */
    uint64_t timeout_ms; /* a deferred request's limit; default 60s */
    char **keys;         /* module.config, in file order */
    char **values;
    size_t nkeys;
    const char *route;        /* the route's pattern (its herd_route_conf) */
    struct herd_module *mod;  /* loaded; the config's modules list owns it */
    void *fn;                 /* herd_handler_fn *, resolved at load */
    void *data;               /* herd_config_set_data() */
    char error[HERD_ERR_LEN]; /* herd_config_error() */
    int worker_ready;         /* herd_module_worker_init succeeded here */
};

struct herd_route_conf {
    char *path;       /* pattern, e.g. "/users/:id"; see router.h */
    unsigned methods; /* herd_method_bit mask; default GET|HEAD */
    enum herd_handler_kind handler;
    union {
        struct herd_respond_conf respond;
        struct herd_health_conf health;
        struct herd_metrics_conf metrics;
        struct herd_static_conf static_;
        struct herd_redirect_conf redirect;
        struct herd_module_config module;
        struct herd_channel_conf channel; /* events, websocket */
    } u;
    int line, col;  /* where the route's mapping starts */
    int metrics_id; /* /metrics series of the route; -1: none (the master
                       assigns them; see assign_route_ids) */
};

/* pubsub.backend: where publishes go between workers (and machines). */
enum herd_pubsub_backend {
    HERD_PUBSUB_LOCAL = 0, /* the master relays between its workers */
    HERD_PUBSUB_REDIS,     /* and through Redis, between herd instances */
};

/* log.format: how access log lines look. */
enum herd_access_fmt {
    HERD_ACCESS_COMBINED = 0,
    HERD_ACCESS_JSON,
};

struct herd_config {
    char *file; /* path as given, used in error messages */

    struct herd_listen *listen;
    size_t nlisten;

    int workers; /* >= 1; "auto" is resolved to the online CPU count */

    struct {
        uint64_t heartbeat_ms;        /* HEALTH interval; default 1s */
        uint64_t timeout_ms;          /* silent this long: hung; default 10s */
        uint64_t shutdown_timeout_ms; /* drain limit; default 30s */
        uint64_t max_requests;        /* replace after; 0 = never (default) */
        uint64_t max_requests_jitter; /* + random 0..jitter; default 0 */
    } worker;

    char *user;     /* workers run as this user; NULL: unchanged */
    char *group;    /* ... and group; NULL: the user's primary group */
    char *pid_file; /* written after binding, locked; NULL: none */

    struct {
        uint32_t max_connections;      /* per worker; default 10000 */
        uint64_t header_timeout_ms;    /* default 10s */
        uint64_t body_timeout_ms;      /* default 30s */
        uint64_t body_min_rate;        /* bytes/s; default 1k; 0 = none */
        uint64_t send_timeout_ms;      /* default 30s */
        uint64_t keepalive_timeout_ms; /* default 75s; 0 disables keep-alive */
        uint32_t keepalive_requests;   /* default 1000; 0 = unlimited */
        uint64_t max_header_size;      /* default 8k */
        uint64_t max_body_size;        /* default 1m */
    } limits;

    struct {
        char *error;                 /* "stderr" or a file path */
        enum herd_log_level level;   /* default info */
        char *access;                /* "off" (default), "stderr" or a path */
        enum herd_access_fmt format; /* default combined */
    } log;

    struct {
        struct herd_cidr *trusted; /* whose forwarding headers count */
        size_t ntrusted;           /* 0 (default): nobody's */
        enum herd_proxy_source client_header; /* default X-Forwarded-For */
    } proxy;

    struct {
        int backend;           /* enum herd_pubsub_backend; default local */
        char *address;         /* redis: host:port; default 127.0.0.1:6379 */
        char *prefix;          /* redis: channel name prefix; "herd:" */
        uint32_t history;      /* messages kept per channel; default 100 */
        uint64_t history_size; /* their bytes per channel; default 1m */
        uint32_t max_channels; /* default 10000 */
    } pubsub;

    struct herd_route_conf *routes; /* in file order */
    size_t nroutes;

    struct herd_module *modules; /* loaded for module routes, each file once */
};

/*
 * Read, parse and validate the YAML file at path. On success returns
 * HERD_OK and stores a new config in *out, which the caller frees with
 * herd_config_free. On failure returns HERD_ERR, leaves *out NULL and
 * writes "FILE:LINE:COL: key: reason" (or "FILE: reason" when there is
 * no position, e.g. the file cannot be opened) into err.
 */
int herd_config_load(const char *path, struct herd_config **out, char *err,
                     size_t errlen);

/* Same as herd_config_load, but from a buffer; name is used in messages. */
int herd_config_load_string(const char *name, const char *text, size_t len,
                            struct herd_config **out, char *err, size_t errlen);

/* Release a config and everything it owns. Accepts NULL. */
void herd_config_free(struct herd_config *cfg);

/* "GET" for HERD_M_GET etc.; NULL for a mask with other than one bit. */
const char *herd_method_name(unsigned bit);

#endif
