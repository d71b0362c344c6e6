/* test_config.c: unit tests for loading and validating herd.yaml. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "config.h"
#include "router.h"

/* Load yaml as "herd.yaml"; the test fails unless it is valid. */
static struct herd_config *
load_ok(const char *yaml)
{
    char err[HERD_CONFIG_ERR_LEN] = "";
    struct herd_config *cfg = NULL;
    int rc;

    rc = herd_config_load_string("herd.yaml", yaml, strlen(yaml), &cfg, err,
                                 sizeof(err));
    cr_assert_eq(rc, HERD_OK, "refused: %s", err);
    cr_assert_not_null(cfg);
    cr_assert_str_eq(cfg->file, "herd.yaml");
    return cfg;
}

/* Load len bytes of text as "herd.yaml"; it must fail with exactly msg. */
static void
error_is_n(const char *text, size_t len, const char *msg)
{
    char err[HERD_CONFIG_ERR_LEN] = "";
    struct herd_config *cfg = (struct herd_config *)&cfg;
    int rc;

    rc =
        herd_config_load_string("herd.yaml", text, len, &cfg, err, sizeof(err));
    cr_assert_eq(rc, HERD_ERR, "accepted, expected: %s", msg);
    cr_assert_null(cfg, "*out not NULL after an error");
    cr_assert_str_eq(err, msg);
}

static void
error_is(const char *yaml, const char *msg)
{
    error_is_n(yaml, strlen(yaml), msg);
}

static int
cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

/* ---- a full file --------------------------------------------------------- */

/*
 * Every key, in every form. Positions asserted below: listen entries on
 * lines 2 to 8, routes on lines 22, 30, 33 and 34.
 */
static const char full_yaml[] =
    "listen:\n"
    "  - 127.0.0.1:8080\n"
    "  - \"[::1]:0\"\n"
    "  - \"*:9090\"\n"
    "  - { address: unix:/run/herd.sock, mode: \"0660\", backlog: 4096 }\n"
    "  - address: localhost:8081\n"
    "    backlog: 16\n"
    "  - { address: \"unix:herd.sock\", mode: 600 }\n"
    "workers: 3\n"
    "limits:\n"
    "  max_connections: 500\n"
    "  header_timeout: 250ms\n"
    "  body_timeout: 2m\n"
    "  keepalive_timeout: 0\n"
    "  keepalive_requests: 0\n"
    "  max_header_size: 16k\n"
    "  max_body_size: 1g\n"
    "log:\n"
    "  error: /var/log/herd/error.log\n"
    "  level: debug\n"
    "routes:\n"
    "  - path: /\n"
    "    methods: [GET, POST]\n"
    "    respond:\n"
    "      status: 200\n"
    "      body: \"Hello World!\\n\"\n"
    "      headers:\n"
    "        Content-Type: text/plain\n"
    "        X-Frame-Options: DENY\n"
    "  - path: /users/:id\n"
    "    methods: [PUT, PATCH, DELETE, OPTIONS]\n"
    "    respond: { status: 204 }\n"
    "  - { path: /static/*, respond: { status: 404, body: 'not here' } }\n"
    "  - path: /head\n"
    "    methods: HEAD\n"
    "    respond:\n";

Test(config, full_file_every_field)
{
    struct herd_config *cfg = load_ok(full_yaml);
    const struct herd_listen *l = cfg->listen;
    const struct herd_route_conf *r = cfg->routes;

    cr_assert_eq(cfg->nlisten, 6);
    cr_assert_eq(l[0].kind, HERD_LISTEN_TCP);
    cr_assert_str_eq(l[0].address, "127.0.0.1:8080");
    cr_assert_str_eq(l[0].host, "127.0.0.1");
    cr_assert_eq(l[0].port, 8080);
    cr_assert_null(l[0].path);
    cr_assert_eq(l[0].has_mode, 0);
    cr_assert_eq(l[0].backlog, 511);
    cr_assert_eq(l[0].line, 2);
    cr_assert_eq(l[0].col, 5);

    cr_assert_eq(l[1].kind, HERD_LISTEN_TCP);
    cr_assert_str_eq(l[1].address, "[::1]:0");
    cr_assert_str_eq(l[1].host, "::1");
    cr_assert_eq(l[1].port, 0);
    cr_assert_eq(l[1].line, 3);

    cr_assert_str_eq(l[2].address, "*:9090");
    cr_assert_str_eq(l[2].host, "0.0.0.0");
    cr_assert_eq(l[2].port, 9090);

    cr_assert_eq(l[3].kind, HERD_LISTEN_UNIX);
    cr_assert_str_eq(l[3].address, "unix:/run/herd.sock");
    cr_assert_str_eq(l[3].path, "/run/herd.sock");
    cr_assert_null(l[3].host);
    cr_assert_eq(l[3].has_mode, 1);
    cr_assert_eq(l[3].mode, 0660);
    cr_assert_eq(l[3].backlog, 4096);
    cr_assert_eq(l[3].line, 5);
    cr_assert_eq(l[3].col, 5);

    cr_assert_eq(l[4].kind, HERD_LISTEN_TCP);
    cr_assert_str_eq(l[4].host, "localhost");
    cr_assert_eq(l[4].port, 8081);
    cr_assert_eq(l[4].backlog, 16);
    cr_assert_eq(l[4].line, 6);

    cr_assert_eq(l[5].kind, HERD_LISTEN_UNIX);
    cr_assert_str_eq(l[5].path, "herd.sock");
    cr_assert_eq(l[5].mode, 0600);
    cr_assert_eq(l[5].backlog, 511);

    cr_assert_eq(cfg->workers, 3);
    cr_assert_eq(cfg->limits.max_connections, 500);
    cr_assert_eq(cfg->limits.header_timeout_ms, 250);
    cr_assert_eq(cfg->limits.body_timeout_ms, 120000);
    cr_assert_eq(cfg->limits.keepalive_timeout_ms, 0);
    cr_assert_eq(cfg->limits.keepalive_requests, 0);
    cr_assert_eq(cfg->limits.max_header_size, 16384);
    cr_assert_eq(cfg->limits.max_body_size, 1073741824);
    cr_assert_str_eq(cfg->log.error, "/var/log/herd/error.log");
    cr_assert_eq(cfg->log.level, HERD_LOG_DEBUG);

    cr_assert_eq(cfg->nroutes, 4);
    cr_assert_str_eq(r[0].path, "/");
    cr_assert_eq(r[0].methods, HERD_M_GET | HERD_M_HEAD | HERD_M_POST);
    cr_assert_eq(r[0].handler, HERD_HANDLER_RESPOND);
    cr_assert_eq(r[0].line, 22);
    cr_assert_eq(r[0].col, 5);
    cr_assert_eq(r[0].u.respond.status, 200);
    cr_assert_eq(r[0].u.respond.body_len, 13);
    cr_assert_str_eq(r[0].u.respond.body, "Hello World!\n");
    cr_assert_eq(r[0].u.respond.nheaders, 2);
    cr_assert_str_eq(r[0].u.respond.headers[0].name, "Content-Type");
    cr_assert_str_eq(r[0].u.respond.headers[0].value, "text/plain");
    cr_assert_str_eq(r[0].u.respond.headers[1].name, "X-Frame-Options");
    cr_assert_str_eq(r[0].u.respond.headers[1].value, "DENY");

    cr_assert_str_eq(r[1].path, "/users/:id");
    cr_assert_eq(r[1].methods,
                 HERD_M_PUT | HERD_M_PATCH | HERD_M_DELETE | HERD_M_OPTIONS);
    cr_assert_eq(r[1].u.respond.status, 204);
    cr_assert_str_eq(r[1].u.respond.body, "");
    cr_assert_eq(r[1].u.respond.body_len, 0);
    cr_assert_eq(r[1].u.respond.nheaders, 0);
    cr_assert_null(r[1].u.respond.headers);
    cr_assert_eq(r[1].line, 30);

    cr_assert_str_eq(r[2].path, "/static/*");
    cr_assert_eq(r[2].methods, HERD_M_GET | HERD_M_HEAD);
    cr_assert_eq(r[2].u.respond.status, 404);
    cr_assert_str_eq(r[2].u.respond.body, "not here");
    cr_assert_eq(r[2].line, 33);
    cr_assert_eq(r[2].col, 5);

    /* "respond:" with nothing under it is a respond with defaults. */
    cr_assert_str_eq(r[3].path, "/head");
    cr_assert_eq(r[3].methods, HERD_M_HEAD);
    cr_assert_eq(r[3].handler, HERD_HANDLER_RESPOND);
    cr_assert_eq(r[3].u.respond.status, 200);
    cr_assert_str_eq(r[3].u.respond.body, "");
    cr_assert_eq(r[3].line, 34);
    herd_config_free(cfg);
}

/* ---- defaults ------------------------------------------------------------ */

Test(config, defaults_when_keys_are_absent)
{
    struct herd_config *cfg = load_ok("workers: 2\n");

    cr_assert_eq(cfg->nlisten, 1);
    cr_assert_eq(cfg->listen[0].kind, HERD_LISTEN_TCP);
    cr_assert_str_eq(cfg->listen[0].address, "127.0.0.1:8080");
    cr_assert_str_eq(cfg->listen[0].host, "127.0.0.1");
    cr_assert_eq(cfg->listen[0].port, 8080);
    cr_assert_null(cfg->listen[0].path);
    cr_assert_eq(cfg->listen[0].has_mode, 0);
    cr_assert_eq(cfg->listen[0].backlog, 511);
    cr_assert_eq(cfg->listen[0].line, 0, "the default is not in the file");
    cr_assert_eq(cfg->workers, 2);
    cr_assert_eq(cfg->limits.max_connections, 10000);
    cr_assert_eq(cfg->limits.header_timeout_ms, 10000);
    cr_assert_eq(cfg->limits.body_timeout_ms, 30000);
    cr_assert_eq(cfg->limits.body_min_rate, 1024);
    cr_assert_eq(cfg->limits.send_timeout_ms, 30000);
    cr_assert_eq(cfg->limits.keepalive_timeout_ms, 75000);
    cr_assert_eq(cfg->limits.keepalive_requests, 1000);
    cr_assert_eq(cfg->limits.max_header_size, 8192);
    cr_assert_eq(cfg->limits.max_body_size, 1048576);
    cr_assert_str_eq(cfg->log.error, "stderr");
    cr_assert_eq(cfg->log.level, HERD_LOG_INFO);
    cr_assert_str_eq(cfg->log.access, "off");
    cr_assert_eq(cfg->log.format, HERD_ACCESS_COMBINED);
    cr_assert_eq(cfg->nroutes, 0);
    cr_assert_null(cfg->routes);
    cr_assert_eq(cfg->worker.heartbeat_ms, 1000);
    cr_assert_eq(cfg->worker.timeout_ms, 10000);
    cr_assert_eq(cfg->worker.shutdown_timeout_ms, 30000);
    cr_assert_eq(cfg->worker.max_requests, 0);
    cr_assert_eq(cfg->worker.max_requests_jitter, 0);
    cr_assert_null(cfg->user);
    cr_assert_null(cfg->group);
    cr_assert_null(cfg->pid_file);
    cr_assert_eq(cfg->listen[0].proxy_protocol, 0);
    cr_assert_eq(cfg->proxy.ntrusted, 0, "nobody is trusted by default");
    cr_assert_null(cfg->proxy.trusted);
    cr_assert_eq(cfg->proxy.client_header, HERD_PROXY_XFF);
    herd_config_free(cfg);
}

Test(config, defaults_inside_sections)
{
    struct herd_config *cfg = load_ok("limits: { body_timeout: 5 }\n"
                                      "log:\n"
                                      "routes:\n"
                                      "  - { path: /, respond: {} }\n");

    cr_assert_eq(cfg->workers, cpus());
    cr_assert_eq(cfg->limits.body_timeout_ms, 5000);
    cr_assert_eq(cfg->limits.header_timeout_ms, 10000);
    cr_assert_eq(cfg->limits.max_body_size, 1048576);
    cr_assert_str_eq(cfg->log.error, "stderr");
    cr_assert_eq(cfg->log.level, HERD_LOG_INFO);
    cr_assert_eq(cfg->nroutes, 1);
    cr_assert_eq(cfg->routes[0].methods, HERD_M_GET | HERD_M_HEAD);
    cr_assert_eq(cfg->routes[0].handler, HERD_HANDLER_RESPOND);
    cr_assert_eq(cfg->routes[0].u.respond.status, 200);
    cr_assert_str_eq(cfg->routes[0].u.respond.body, "");
    cr_assert_eq(cfg->routes[0].u.respond.nheaders, 0);
    herd_config_free(cfg);
}

Test(config, access_log_keys)
{
    struct herd_config *cfg = load_ok("log: { access: /var/log/herd/a.log, "
                                      "format: json }\n");

    cr_assert_str_eq(cfg->log.access, "/var/log/herd/a.log");
    cr_assert_eq(cfg->log.format, HERD_ACCESS_JSON);
    herd_config_free(cfg);
}

Test(config, health_and_metrics_handlers)
{
    struct herd_config *cfg =
        load_ok("routes:\n"
                "  - { path: /health, health: { min_ready: 2 } }\n"
                "  - { path: /h, health: }\n"
                "  - { path: /metrics, metrics: {} }\n");

    cr_assert_eq(cfg->nroutes, 3);
    cr_assert_eq(cfg->routes[0].handler, HERD_HANDLER_HEALTH);
    cr_assert_eq(cfg->routes[0].u.health.min_ready, 2);
    cr_assert_eq(cfg->routes[1].handler, HERD_HANDLER_HEALTH);
    cr_assert_eq(cfg->routes[1].u.health.min_ready, 0);
    cr_assert_eq(cfg->routes[2].handler, HERD_HANDLER_METRICS);
    herd_config_free(cfg);
}

Test(config_errors, health_and_metrics)
{
    error_is("routes: [{ path: /m, metrics: { format: x } }]\n",
             "herd.yaml:1:33: routes[0].metrics: unknown key \"format\" "
             "(this takes no keys)");
    error_is("routes: [{ path: /h, health: { min_ready: -1 } }]\n",
             "herd.yaml:1:43: routes[0].health.min_ready: -1 is out of range "
             "(0..1024)");
    error_is("routes: [{ path: /h, health: {}, metrics: {} }]\n",
             "herd.yaml:1:34: routes[0]: more than one handler (\"health\" "
             "and \"metrics\"; a route has exactly one)");
}

Test(config, worker_section_user_group_pid_file)
{
    struct herd_config *cfg = load_ok("worker:\n"
                                      "  heartbeat: 250ms\n"
                                      "  timeout: 501ms\n"
                                      "  shutdown_timeout: 0\n"
                                      "  max_requests: 1000000000000\n"
                                      "  max_requests_jitter: 500\n"
                                      "user: root\n"
                                      "group: root\n"
                                      "pid_file: /run/herd.pid\n");

    cr_assert_eq(cfg->worker.heartbeat_ms, 250);
    cr_assert_eq(cfg->worker.timeout_ms, 501);
    cr_assert_eq(cfg->worker.shutdown_timeout_ms, 0);
    cr_assert_eq(cfg->worker.max_requests, 1000000000000ull);
    cr_assert_eq(cfg->worker.max_requests_jitter, 500);
    cr_assert_str_eq(cfg->user, "root");
    cr_assert_str_eq(cfg->group, "root");
    cr_assert_str_eq(cfg->pid_file, "/run/herd.pid");
    cr_assert_eq(cfg->workers, cpus());
    herd_config_free(cfg);
}

Test(config, worker_section_bounds_and_defaults)
{
    struct herd_config *cfg = load_ok("worker: { heartbeat: 1m, timeout: 1h, "
                                      "shutdown_timeout: 1h }\n"
                                      "user: root\n");

    cr_assert_eq(cfg->worker.heartbeat_ms, 60000);
    cr_assert_eq(cfg->worker.timeout_ms, 3600000);
    cr_assert_eq(cfg->worker.shutdown_timeout_ms, 3600000);
    cr_assert_eq(cfg->worker.max_requests, 0);
    cr_assert_str_eq(cfg->user, "root");
    cr_assert_null(cfg->group, "the user's primary group is left to herd");
    herd_config_free(cfg);

    cfg = load_ok("worker: { heartbeat: 10ms, timeout: 100ms }\n"
                  "pid_file: herd.pid\n");
    cr_assert_eq(cfg->worker.heartbeat_ms, 10);
    cr_assert_eq(cfg->worker.timeout_ms, 100);
    cr_assert_eq(cfg->worker.shutdown_timeout_ms, 30000);
    cr_assert_str_eq(cfg->pid_file, "herd.pid");
    cr_assert_null(cfg->user);
    herd_config_free(cfg);

    cfg = load_ok("worker:\n");
    cr_assert_eq(cfg->worker.heartbeat_ms, 1000);
    cr_assert_eq(cfg->worker.timeout_ms, 10000);
    herd_config_free(cfg);
}

Test(config, workers_auto_is_the_cpu_count)
{
    struct herd_config *cfg = load_ok("workers: auto\n");

    cr_assert_eq(cfg->workers, cpus());
    herd_config_free(cfg);
}

Test(config, body_min_rate_and_send_timeout)
{
    struct herd_config *cfg = load_ok("limits:\n"
                                      "  body_min_rate: 0\n"
                                      "  send_timeout: 45s\n");

    cr_assert_eq(cfg->limits.body_min_rate, 0);
    cr_assert_eq(cfg->limits.send_timeout_ms, 45000);
    herd_config_free(cfg);
    cfg = load_ok("limits: { body_min_rate: 64k, send_timeout: 250ms }\n");
    cr_assert_eq(cfg->limits.body_min_rate, 65536);
    cr_assert_eq(cfg->limits.send_timeout_ms, 250);
    herd_config_free(cfg);
    error_is("limits: { send_timeout: 0 }\n",
             "herd.yaml:1:25: limits.send_timeout: 0 is out of range "
             "(1ms..1h)");
    error_is("limits: { body_min_rate: 2g }\n",
             "herd.yaml:1:26: limits.body_min_rate: 2g is out of range "
             "(0..1g)");
    error_is("limits: { body_min_rate: 1s }\n",
             "herd.yaml:1:26: limits.body_min_rate: invalid size \"1s\": "
             "unknown unit \"s\" (use k, m or g, optionally followed by b)");
}

Test(config, single_listen_string_and_bounds)
{
    struct herd_config *cfg = load_ok("listen: \"[fe80::1%eth0]:65535\"\n"
                                      "workers: 1024\n"
                                      "limits:\n"
                                      "  max_connections: 1000000\n"
                                      "  header_timeout: 1h\n"
                                      "  body_timeout: 1ms\n"
                                      "  body_min_rate: 1g\n"
                                      "  send_timeout: 1h\n"
                                      "  keepalive_timeout: 3600s\n"
                                      "  keepalive_requests: 1000000000\n"
                                      "  max_header_size: 1kb\n"
                                      "  max_body_size: 0\n");

    cr_assert_eq(cfg->nlisten, 1);
    cr_assert_str_eq(cfg->listen[0].host, "fe80::1%eth0");
    cr_assert_eq(cfg->listen[0].port, 65535);
    cr_assert_eq(cfg->listen[0].line, 1);
    cr_assert_eq(cfg->listen[0].col, 9);
    cr_assert_eq(cfg->workers, 1024);
    cr_assert_eq(cfg->limits.max_connections, 1000000);
    cr_assert_eq(cfg->limits.header_timeout_ms, 3600000);
    cr_assert_eq(cfg->limits.body_timeout_ms, 1);
    cr_assert_eq(cfg->limits.body_min_rate, 1073741824);
    cr_assert_eq(cfg->limits.send_timeout_ms, 3600000);
    cr_assert_eq(cfg->limits.keepalive_timeout_ms, 3600000);
    cr_assert_eq(cfg->limits.keepalive_requests, 1000000000);
    cr_assert_eq(cfg->limits.max_header_size, 1024);
    cr_assert_eq(cfg->limits.max_body_size, 0);
    herd_config_free(cfg);
}

Test(config, body_keeps_nul_bytes_and_quoted_scalars)
{
    struct herd_config *cfg =
        load_ok("routes:\n"
                "  - path: /bin\n"
                "    respond: { body: \"a\\0b\", headers: { X-Num: 42, X-T: "
                "\"a\\tb\" } }\n"
                "  - path: \"/q\"\n"
                "    methods: [GET, HEAD]\n"
                "    respond:\n"
                "      body: |\n"
                "        line 1\n"
                "        line 2\n");
    const struct herd_respond_conf *r = &cfg->routes[0].u.respond;

    cr_assert_eq(r->body_len, 3);
    cr_assert_eq(memcmp(r->body, "a\0b", 4), 0);
    cr_assert_str_eq(r->headers[0].value, "42");
    cr_assert_str_eq(r->headers[1].value, "a\tb");
    cr_assert_str_eq(cfg->routes[1].path, "/q");
    cr_assert_eq(cfg->routes[1].methods, HERD_M_GET | HERD_M_HEAD);
    cr_assert_str_eq(cfg->routes[1].u.respond.body, "line 1\nline 2\n");
    herd_config_free(cfg);
}

Test(config, mode_forms)
{
    struct herd_config *cfg =
        load_ok("listen:\n"
                "  - { address: unix:/a, mode: 0660 }\n"
                "  - { address: unix:/b, mode: '0o640' }\n"
                "  - { address: unix:/c, mode: 7 }\n");

    cr_assert_eq(cfg->listen[0].mode, 0660);
    cr_assert_eq(cfg->listen[1].mode, 0640);
    cr_assert_eq(cfg->listen[2].mode, 07);
    cr_assert_eq(cfg->listen[2].has_mode, 1);
    herd_config_free(cfg);
}

Test(config, crlf_and_byte_order_mark)
{
    struct herd_config *cfg = load_ok("\xef\xbb\xbfworkers: 2\r\n"
                                      "routes:\r\n"
                                      "  - { path: /, respond: {} }\r\n");

    cr_assert_eq(cfg->workers, 2);
    cr_assert_eq(cfg->routes[0].line, 3);
    herd_config_free(cfg);
    error_is("workers: 2\r\nwokers: 3\r\n",
             "herd.yaml:2:1: unknown key \"wokers\" (did you mean "
             "\"workers\"?)");
}

Test(config, method_names)
{
    cr_assert_str_eq(herd_method_name(HERD_M_GET), "GET");
    cr_assert_str_eq(herd_method_name(HERD_M_HEAD), "HEAD");
    cr_assert_str_eq(herd_method_name(HERD_M_POST), "POST");
    cr_assert_str_eq(herd_method_name(HERD_M_PUT), "PUT");
    cr_assert_str_eq(herd_method_name(HERD_M_PATCH), "PATCH");
    cr_assert_str_eq(herd_method_name(HERD_M_DELETE), "DELETE");
    cr_assert_str_eq(herd_method_name(HERD_M_OPTIONS), "OPTIONS");
    cr_assert_null(herd_method_name(0));
    cr_assert_null(herd_method_name(HERD_M_GET | HERD_M_HEAD));
    cr_assert_null(herd_method_name(1u << 7));
}

Test(config, free_accepts_null)
{
    herd_config_free(NULL);
}

/* ---- the file itself ----------------------------------------------------- */

Test(config_errors, empty_file)
{
    error_is("", "herd.yaml: no settings found (the file is empty or only "
                 "has comments)");
    error_is("# only\n\n   # comments\n",
             "herd.yaml: no settings found (the file is empty or only has "
             "comments)");
    error_is("---\n", "herd.yaml: no settings found (the file is empty or "
                      "only has comments)");
}

Test(config_errors, root_not_a_mapping)
{
    error_is("- workers: 2\n", "herd.yaml:1:1: expected a mapping of "
                               "settings at the top level, got a list");
    error_is("workers\n", "herd.yaml:1:1: expected a mapping of settings at "
                          "the top level, got \"workers\"");
}

Test(config_errors, two_documents)
{
    error_is("workers: 2\n---\nworkers: 3\n",
             "herd.yaml:2:1: more than one YAML document (a config file "
             "holds exactly one)");
}

Test(config_errors, syntax_errors)
{
    error_is("workers: 2\n  log: x\n",
             "herd.yaml:2:6: syntax error: mapping values are not allowed in "
             "this context");
    error_is("limits: { max_connections: 5\nlog: {}\n",
             "herd.yaml:2:4: syntax error: did not find expected ',' or '}' "
             "(while parsing a flow mapping that started at line 1)");
    error_is("log: \"unterminated\n",
             "herd.yaml:2:1: syntax error: found unexpected end of stream "
             "(while scanning a quoted scalar that started at line 1)");
}

Test(config_errors, encoding_errors)
{
    error_is("workers: 2\nlog: \xff\n",
             "herd.yaml:2:6: invalid leading UTF-8 octet (byte 0xff)");
    error_is("log: {error: \"a\x01\"}\n",
             "herd.yaml:1:16: control characters are not allowed (byte "
             "0x01)");
    error_is_n("workers: 2\0", 11,
               "herd.yaml:1:11: control characters are not allowed (byte "
               "0x00)");
}

Test(config_errors, too_large)
{
    size_t len = 1024 * 1024 + 1;
    char *text = malloc(len);

    cr_assert_not_null(text);
    memset(text, '#', len);
    error_is_n(text, len, "herd.yaml: too large (more than 1 MiB)");
    free(text);
}

Test(config_errors, nesting_too_deep)
{
    char text[300];
    size_t i, o = 0;

    o += (size_t)snprintf(text, sizeof(text), "workers: ");
    for (i = 0; i < 70; i++)
        text[o++] = '[';
    for (i = 0; i < 70; i++)
        text[o++] = ']';
    text[o] = '\0';
    error_is(text, "herd.yaml:1:73: nesting is too deep (more than 64 "
                   "levels)");
}

Test(config_errors, anchor_refused)
{
    error_is("limits:\n  header_timeout: &t 10s\n",
             "herd.yaml:2:19: aliases and anchors are not supported");
    error_is("limits: &l { max_connections: 5 }\n",
             "herd.yaml:1:9: aliases and anchors are not supported");
}

Test(config_errors, alias_refused)
{
    /* Refused even when its anchor is missing (which libyaml allows). */
    error_is("limits:\n  header_timeout: 10s\n  body_timeout: *t\n",
             "herd.yaml:3:17: aliases and anchors are not supported");
}

Test(config_errors, tags_refused)
{
    error_is("workers: !!int 4\n",
             "herd.yaml:1:10: YAML tags are not supported");
}

Test(config_errors, complex_keys_refused)
{
    error_is("? [a, b]\n: 1\n", "herd.yaml:1:3: mapping keys must be plain "
                                "strings, not lists");
}

/* ---- keys ---------------------------------------------------------------- */

Test(config_errors, duplicate_key_names_both_lines)
{
    error_is("workers: 2\n"
             "log: {}\n"
             "\n"
             "\n"
             "\n"
             "\n"
             "workers: 3\n",
             "herd.yaml:7:1: workers: duplicate key (first defined at line "
             "1)");
    error_is("limits:\n"
             "  max_body_size: 1m\n"
             "  max_header_size: 8k\n"
             "  max_body_size: 2m\n",
             "herd.yaml:4:3: limits.max_body_size: duplicate key (first "
             "defined at line 2)");
    error_is("routes:\n"
             "  - path: /\n"
             "    respond: { status: 200, status: 201 }\n",
             "herd.yaml:3:29: routes[0].respond.status: duplicate key "
             "(first defined at line 3)");
}

Test(config_errors, duplicate_header_any_case)
{
    error_is("routes:\n"
             "  - path: /\n"
             "    respond:\n"
             "      headers:\n"
             "        X-A: 1\n"
             "        x-a: 2\n",
             "herd.yaml:6:9: routes[0].respond.headers.x-a: duplicate header "
             "(names are case-insensitive; first defined at line 5)");
}

Test(config_errors, unknown_key_did_you_mean)
{
    error_is("workers: 2\n"
             "\n"
             "\n"
             "\n"
             "\n"
             "\n"
             "\n"
             "\n"
             "\n"
             "\n"
             "log:\n"
             "  wokers: 3\n"
             "wokers: 3\n",
             "herd.yaml:12:3: log: unknown key \"wokers\" (expected one of: "
             "error, level, access, format)");
    error_is("\n\n\n\n\n\n\n\n\n\n\n  wokers: 3\n",
             "herd.yaml:12:3: unknown key \"wokers\" (did you mean "
             "\"workers\"?)");
    error_is("limits: { max_conections: 5 }\n",
             "herd.yaml:1:11: limits: unknown key \"max_conections\" (did "
             "you mean \"max_connections\"?)");
    error_is("Listen: x:1\n", "herd.yaml:1:1: unknown key \"Listen\" (did "
                              "you mean \"listen\"?)");
    error_is("worker:\n  heartbeet: 2s\n",
             "herd.yaml:2:3: worker: unknown key \"heartbeet\" (did you mean "
             "\"heartbeat\"?)");
    error_is("worker: { max_request: 5 }\n",
             "herd.yaml:1:11: worker: unknown key \"max_request\" (did you "
             "mean \"max_requests\"?)");
    error_is("worker: { shutdown_timout: 5s }\n",
             "herd.yaml:1:11: worker: unknown key \"shutdown_timout\" (did "
             "you mean \"shutdown_timeout\"?)");
    error_is("woker: { timeout: 5s }\n",
             "herd.yaml:1:1: unknown key \"woker\" (did you mean "
             "\"worker\"?)");
    error_is("pidfile: /run/herd.pid\n",
             "herd.yaml:1:1: unknown key \"pidfile\" (did you mean "
             "\"pid_file\"?)");
}

Test(config_errors, unknown_key_lists_known_ones)
{
    error_is("foo: 1\n", "herd.yaml:1:1: unknown key \"foo\" (expected one "
                         "of: listen, workers, worker, user, group, pid_file, "
                         "limits, log, proxy, pubsub, routes)");
    error_is("worker: { period: 1s }\n",
             "herd.yaml:1:11: worker: unknown key \"period\" (expected one "
             "of: heartbeat, timeout, shutdown_timeout, max_requests, "
             "max_requests_jitter)");
    error_is("routes: [{ path: /, respond: {}, stream: {} }]\n",
             "herd.yaml:1:34: routes[0]: unknown key \"stream\" (expected "
             "one of: path, methods, respond, health, metrics, static, "
             "redirect, module, events, websocket)");
}

Test(config_errors, wrong_types)
{
    error_is("workers: [1, 2]\n", "herd.yaml:1:10: workers: expected an "
                                  "integer or \"auto\", got a list");
    error_is("workers: \"4\"\n",
             "herd.yaml:1:10: workers: expected an integer or \"auto\", got "
             "the quoted string \"4\" (write numbers without quotes)");
    error_is("workers: many\n", "herd.yaml:1:10: workers: expected an "
                                "integer or \"auto\", got \"many\"");
    error_is("workers:\n", "herd.yaml:1:9: workers: expected an integer or "
                           "\"auto\", got an empty value");
    error_is("limits: 5\n",
             "herd.yaml:1:9: limits: expected a mapping, got \"5\"");
    error_is("limits: { max_connections: 1.5 }\n",
             "herd.yaml:1:28: limits.max_connections: expected an integer, "
             "got \"1.5\"");
    error_is("limits: { header_timeout: { a: 1 } }\n",
             "herd.yaml:1:27: limits.header_timeout: expected a duration "
             "such as 10s, got a mapping");
    error_is("log: { error: [a] }\n",
             "herd.yaml:1:15: log.error: expected a string, got a list");
    error_is("routes: { path: / }\n", "herd.yaml:1:9: routes: expected a "
                                      "list of routes, got a mapping");
    error_is("routes: [ /a ]\n", "herd.yaml:1:11: routes[0]: expected a "
                                 "mapping, got \"/a\"");
    error_is("routes: [{ path: /, respond: {headers: [a]} }]\n",
             "herd.yaml:1:40: routes[0].respond.headers: expected a mapping "
             "of header names to values, got a list");
}

Test(config_errors, out_of_range)
{
    error_is("workers: 0\n",
             "herd.yaml:1:10: workers: 0 is out of range (1..1024)");
    error_is("workers: 1025\n",
             "herd.yaml:1:10: workers: 1025 is out of range (1..1024)");
    error_is("workers: -1\n",
             "herd.yaml:1:10: workers: -1 is out of range (1..1024)");
    error_is("limits: { max_connections: 99999999999999999999999 }\n",
             "herd.yaml:1:28: limits.max_connections: 99999999999999999999999 "
             "is out of range (1..1000000)");
    error_is("limits: { header_timeout: 0 }\n",
             "herd.yaml:1:27: limits.header_timeout: 0 is out of range "
             "(1ms..1h)");
    error_is("limits: { keepalive_timeout: 61m }\n",
             "herd.yaml:1:30: limits.keepalive_timeout: 61m is out of range "
             "(0..1h)");
    error_is("limits: { keepalive_requests: 1000000001 }\n",
             "herd.yaml:1:31: limits.keepalive_requests: 1000000001 is out "
             "of range (0..1000000000)");
    error_is("limits: { max_header_size: 1023 }\n",
             "herd.yaml:1:28: limits.max_header_size: 1023 is out of range "
             "(1k..1m)");
    error_is("limits: { max_body_size: 2g }\n",
             "herd.yaml:1:26: limits.max_body_size: 2g is out of range "
             "(0..1g)");
    error_is("listen: [{ address: \"*:80\", backlog: 65536 }]\n",
             "herd.yaml:1:38: listen[0].backlog: 65536 is out of range "
             "(1..65535)");
}

Test(config_errors, worker_out_of_range)
{
    error_is("worker: { heartbeat: 9ms }\n",
             "herd.yaml:1:22: worker.heartbeat: 9ms is out of range "
             "(10ms..1m)");
    error_is("worker: { heartbeat: 61s, timeout: 1h }\n",
             "herd.yaml:1:22: worker.heartbeat: 61s is out of range "
             "(10ms..1m)");
    error_is("worker: { timeout: 99ms }\n",
             "herd.yaml:1:20: worker.timeout: 99ms is out of range "
             "(100ms..1h)");
    error_is("worker: { timeout: 2h }\n",
             "herd.yaml:1:20: worker.timeout: 2h is out of range (100ms..1h)");
    error_is("worker: { shutdown_timeout: 3601s }\n",
             "herd.yaml:1:29: worker.shutdown_timeout: 3601s is out of range "
             "(0..1h)");
    error_is("worker: { max_requests: 1000000000001 }\n",
             "herd.yaml:1:25: worker.max_requests: 1000000000001 is out of "
             "range (0..1000000000000)");
    error_is("worker: { max_requests: -1 }\n",
             "herd.yaml:1:25: worker.max_requests: -1 is out of range "
             "(0..1000000000000)");
    error_is("worker: { max_requests_jitter: 99999999999999999999 }\n",
             "herd.yaml:1:32: worker.max_requests_jitter: "
             "99999999999999999999 is out of range (0..1000000000000)");
    error_is("worker: { max_requests: \"5\" }\n",
             "herd.yaml:1:25: worker.max_requests: expected an integer, got "
             "the quoted string \"5\" (write numbers without quotes)");
    error_is("worker: { heartbeat: 1.5s }\n",
             "herd.yaml:1:22: worker.heartbeat: invalid duration \"1.5s\": "
             "fractions are not allowed (use a smaller unit)");
    error_is("worker: 5\n",
             "herd.yaml:1:9: worker: expected a mapping, got \"5\"");
}

Test(config_errors, timeout_must_exceed_twice_the_heartbeat)
{
    error_is("worker:\n"
             "  heartbeat: 1s\n"
             "  timeout: 2s\n",
             "herd.yaml:3:12: worker.timeout: 2s must be more than 2 x "
             "worker.heartbeat (1s)");
    error_is("worker: { timeout: 1s }\n",
             "herd.yaml:1:20: worker.timeout: 1s must be more than 2 x "
             "worker.heartbeat (1s)");
    error_is("worker: { timeout: 2s, heartbeat: 1s }\n",
             "herd.yaml:1:20: worker.timeout: 2s must be more than 2 x "
             "worker.heartbeat (1s)");
    error_is("worker: { heartbeat: 5s }\n",
             "herd.yaml:1:22: worker.heartbeat: 5s is too long for "
             "worker.timeout (10s, the default), which must be more than 2 x "
             "worker.heartbeat");
    error_is("worker: { heartbeat: 1m, timeout: 2m }\n",
             "herd.yaml:1:35: worker.timeout: 2m must be more than 2 x "
             "worker.heartbeat (1m)");
    error_is("worker: { heartbeat: 300ms, timeout: 600ms }\n",
             "herd.yaml:1:38: worker.timeout: 600ms must be more than 2 x "
             "worker.heartbeat (300ms)");
}

Test(config_errors, user_and_group)
{
    error_is("user: herd-no-such-user-x9\n",
             "herd.yaml:1:7: user: unknown user \"herd-no-such-user-x9\"");
    /* A uid is not a user name, even root's. */
    error_is("user: 0\n", "herd.yaml:1:7: user: unknown user \"0\"");
    error_is("user: root\ngroup: herd-no-such-group-x9\n",
             "herd.yaml:2:8: group: unknown group "
             "\"herd-no-such-group-x9\"");
    error_is("group: root\n",
             "herd.yaml:1:8: group: requires \"user\" (without it workers "
             "keep the master's user and group)");
    error_is("user: \"\"\n", "herd.yaml:1:7: user: must not be empty");
    error_is("user: root\ngroup: ''\n",
             "herd.yaml:2:8: group: must not be empty");
    error_is("user:\n",
             "herd.yaml:1:6: user: expected a string, got an empty value");
    error_is("user: [root]\n",
             "herd.yaml:1:7: user: expected a string, got a list");
}

Test(config_errors, pid_file)
{
    error_is("pid_file: \"\"\n", "herd.yaml:1:11: pid_file: must not be "
                                 "empty");
    error_is("pid_file: ~\n",
             "herd.yaml:1:11: pid_file: expected a string, got null");
    error_is("pid_file: { path: /run/herd.pid }\n",
             "herd.yaml:1:11: pid_file: expected a string, got a mapping");
}

Test(config_errors, bad_duration_and_size)
{
    error_is("limits:\n  header_timeout: 10x\n",
             "herd.yaml:2:19: limits.header_timeout: invalid duration "
             "\"10x\": unknown unit \"x\" (use ms, s, m, h or d)");
    error_is("limits:\n  body_timeout: 1.5s\n",
             "herd.yaml:2:17: limits.body_timeout: invalid duration \"1.5s\": "
             "fractions are not allowed (use a smaller unit)");
    error_is("limits:\n  max_body_size: 10q\n",
             "herd.yaml:2:18: limits.max_body_size: invalid size \"10q\": "
             "unknown unit \"q\" (use k, m or g, optionally followed by b)");
    error_is("limits:\n  max_header_size: \"-8k\"\n",
             "herd.yaml:2:20: limits.max_header_size: invalid size \"-8k\": "
             "no sign allowed");
    error_is("limits:\n  max_header_size: \"8k\\0\"\n",
             "herd.yaml:2:20: limits.max_header_size: must not contain NUL "
             "bytes");
}

Test(config_errors, bad_enum)
{
    error_is("log: { level: verbose }\n",
             "herd.yaml:1:15: log.level: invalid value \"verbose\" (expected "
             "one of: error, warn, info, debug)");
    error_is("log: { error: \"\" }\n",
             "herd.yaml:1:15: log.error: must not be empty");
    error_is("log: { format: common }\n",
             "herd.yaml:1:16: log.format: invalid value \"common\" (expected "
             "one of: combined, json)");
}

/* ---- listen -------------------------------------------------------------- */

Test(config_errors, bad_listen_address)
{
    error_is("listen: 127.0.0.1\n",
             "herd.yaml:1:9: listen: invalid address \"127.0.0.1\": missing "
             "port (expected host:port, [host]:port, *:port or unix:/path)");
    error_is("listen: [ \"127.0.0.1:\" ]\n",
             "herd.yaml:1:11: listen[0]: invalid address \"127.0.0.1:\": "
             "missing port");
    error_is("listen: \"::1:80\"\n",
             "herd.yaml:1:9: listen: invalid address \"::1:80\": write IPv6 "
             "addresses in brackets, as in [::1]:8080");
    error_is("listen: \"[::1]\"\n",
             "herd.yaml:1:9: listen: invalid address \"[::1]\": missing port "
             "(expected [host]:port)");
    error_is("listen: \"[::1:80\"\n",
             "herd.yaml:1:9: listen: invalid address \"[::1:80\": missing "
             "\"]\" after the IPv6 address");
    error_is("listen: \"[nope]:80\"\n",
             "herd.yaml:1:9: listen: invalid address \"[nope]:80\": invalid "
             "IPv6 address");
    error_is("listen: 300.1.1.1:80\n",
             "herd.yaml:1:9: listen: invalid address \"300.1.1.1:80\": "
             "invalid IPv4 address");
    error_is("listen: my_host:80\n",
             "herd.yaml:1:9: listen: invalid address \"my_host:80\": "
             "invalid host name");
    error_is("listen: \":80\"\n",
             "herd.yaml:1:9: listen: invalid address \":80\": missing host "
             "(use * for all addresses, as in *:8080)");
    error_is("listen: localhost:65536\n",
             "herd.yaml:1:9: listen: invalid address \"localhost:65536\": "
             "invalid port (expected 0..65535)");
    error_is("listen: localhost:http\n",
             "herd.yaml:1:9: listen: invalid address \"localhost:http\": "
             "invalid port (expected 0..65535)");
    error_is("listen: \"unix:\"\n", "herd.yaml:1:9: listen: invalid address "
                                    "\"unix:\": empty unix socket path");
    error_is("listen: []\n",
             "herd.yaml:1:9: listen: expected at least one address");
    error_is("listen:\n", "herd.yaml:1:8: listen: expected an address or a "
                          "list of addresses, got an empty value");
}

Test(config_errors, unix_path_too_long)
{
    char yaml[256], path[120], expected[512];

    memset(path, 'a', 108);
    path[0] = '/';
    path[108] = '\0';
    snprintf(yaml, sizeof(yaml), "listen: unix:%s\n", path);
    snprintf(expected, sizeof(expected),
             "herd.yaml:1:9: listen: invalid address \"unix:%.55s...\": unix "
             "socket path is too long (108 bytes, at most 107)",
             path);
    error_is(yaml, expected);
    path[107] = '\0';
    snprintf(yaml, sizeof(yaml), "listen: unix:%s\n", path);
    herd_config_free(load_ok(yaml));
}

Test(config_errors, listen_map_errors)
{
    error_is("listen:\n  - { backlog: 5 }\n",
             "herd.yaml:2:5: listen[0]: missing required key \"address\"");
    error_is("listen:\n  - { address: \"*:80\", mode: \"0660\" }\n",
             "herd.yaml:2:30: listen[0].mode: only valid for unix: "
             "addresses");
    error_is("listen:\n  - { address: unix:/x, mode: \"0680\" }\n",
             "herd.yaml:2:31: listen[0].mode: invalid mode \"0680\" "
             "(expected octal permission bits such as \"0660\")");
    error_is("listen:\n  - { address: unix:/x, mode: 1777 }\n",
             "herd.yaml:2:31: listen[0].mode: invalid mode \"1777\" "
             "(expected octal permission bits such as \"0660\")");
    error_is("listen:\n  - { address: unix:/x, proxy_protocl: true }\n",
             "herd.yaml:2:25: listen[0]: unknown key \"proxy_protocl\" "
             "(did you mean \"proxy_protocol\"?)");
    error_is("listen:\n  - { address: unix:/x, tls: true }\n",
             "herd.yaml:2:25: listen[0]: unknown key \"tls\" "
             "(expected one of: address, mode, backlog, proxy_protocol)");
    error_is("listen:\n  - [a]\n", "herd.yaml:2:5: listen[0]: expected an "
                                   "address or a mapping, got a list");
}

Test(config_errors, duplicate_listen_address)
{
    error_is("listen:\n"
             "  - \"*:8080\"\n"
             "  - 127.0.0.1:8081\n"
             "  - { address: \"0.0.0.0:8080\", backlog: 5 }\n",
             "herd.yaml:4:5: listen[2]: duplicate address \"0.0.0.0:8080\" "
             "(first defined at line 2)");
    error_is("listen: [ \"unix:/run/h.sock\", \"unix:/run/h.sock\" ]\n",
             "herd.yaml:1:31: listen[1]: duplicate address "
             "\"unix:/run/h.sock\" (first defined at line 1)");
}

Test(config, port_zero_may_repeat)
{
    struct herd_config *cfg = load_ok("listen: [127.0.0.1:0, 127.0.0.1:0]\n");

    cr_assert_eq(cfg->nlisten, 2);
    cr_assert_eq(cfg->listen[0].port, 0);
    cr_assert_eq(cfg->listen[1].port, 0);
    herd_config_free(cfg);
}

/* ---- routes -------------------------------------------------------------- */

Test(config_errors, missing_handler)
{
    error_is("routes:\n  - path: /\n    methods: [GET]\n",
             "herd.yaml:2:5: routes[0]: missing handler (expected one of: "
             "respond, health, metrics, static, redirect, module, events, "
             "websocket)");
}

Test(config_errors, two_handlers)
{
    /* The same handler twice is a repeated key. */
    error_is("routes:\n"
             "  - path: /\n"
             "    respond: { status: 200 }\n"
             "    respond: { status: 201 }\n",
             "herd.yaml:4:5: routes[0].respond: duplicate key (first defined "
             "at line 3)");
}

Test(config_errors, route_path)
{
    error_is("routes:\n  - respond: {}\n",
             "herd.yaml:2:5: routes[0]: missing required key \"path\"");
    error_is("routes:\n  - { path: users, respond: {} }\n",
             "herd.yaml:2:13: routes[0].path: must start with \"/\"");
    error_is("routes:\n  - { path: [/], respond: {} }\n",
             "herd.yaml:2:13: routes[0].path: expected a path such as "
             "/users/:id, got a list");
}

/* The router's own reason, to build the exact expected message. */
static void
router_reason(const char *first, unsigned m1, const char *second, unsigned m2,
              char *why, size_t len)
{
    struct herd_router *r = herd_router_new();
    int a, b;
    void *conflict = NULL;

    cr_assert_not_null(r);
    if (first != NULL)
        cr_assert_eq(herd_router_add(r, first, m1, &a, NULL, why, len),
                     HERD_OK);
    cr_assert_eq(herd_router_add(r, second, m2, &b, &conflict, why, len),
                 HERD_ERR);
    cr_assert_eq(conflict, first != NULL ? (void *)&a : NULL);
    herd_router_free(r);
}

Test(config_errors, duplicate_route_names_both_lines)
{
    char why[HERD_ERR_LEN], expected[HERD_CONFIG_ERR_LEN];

    router_reason("/users/:id", HERD_M_GET | HERD_M_HEAD, "/users/:name",
                  HERD_M_GET | HERD_M_HEAD | HERD_M_POST, why, sizeof(why));
    snprintf(expected, sizeof(expected),
             "herd.yaml:6:11: routes[2].path: %s (conflicts with the route "
             "at line 2)",
             why);
    error_is("routes:\n"
             "  - path: /users/:id\n"
             "    respond: {}\n"
             "  - path: /other\n"
             "    respond: {}\n"
             "  - path: /users/:name\n"
             "    methods: [GET, POST]\n"
             "    respond: {}\n",
             expected);
    cr_assert(strstr(expected, "conflicts with the route at line 2") != NULL);
}

Test(config, same_path_with_other_methods_is_fine)
{
    struct herd_config *cfg = load_ok("routes:\n"
                                      "  - { path: /a, respond: {} }\n"
                                      "  - { path: /a, methods: POST, "
                                      "respond: { status: 201 } }\n");

    cr_assert_eq(cfg->nroutes, 2);
    cr_assert_eq(cfg->routes[1].methods, HERD_M_POST);
    herd_config_free(cfg);
}

Test(config_errors, route_pattern_refused_by_router)
{
    char why[HERD_ERR_LEN], expected[HERD_CONFIG_ERR_LEN];

    router_reason(NULL, 0, "/a/*/b", HERD_M_GET | HERD_M_HEAD, why,
                  sizeof(why));
    snprintf(expected, sizeof(expected), "herd.yaml:2:13: routes[0].path: %s",
             why);
    error_is("routes:\n  - { path: /a/*/b, respond: {} }\n", expected);
}

Test(config_errors, bad_methods)
{
    error_is("routes:\n  - { path: /, methods: [GET, get], respond: {} }\n",
             "herd.yaml:2:31: routes[0].methods[1]: unknown method \"get\" "
             "(did you mean \"GET\"? method names are upper case)");
    error_is("routes:\n  - { path: /, methods: BREW, respond: {} }\n",
             "herd.yaml:2:25: routes[0].methods: unknown method \"BREW\" "
             "(expected one of: GET, HEAD, POST, PUT, PATCH, DELETE, "
             "OPTIONS)");
    error_is("routes:\n  - { path: /, methods: [PUT, PUT], respond: {} }\n",
             "herd.yaml:2:31: routes[0].methods[1]: method \"PUT\" is listed "
             "twice");
    error_is("routes:\n  - { path: /, methods: [], respond: {} }\n",
             "herd.yaml:2:25: routes[0].methods: expected at least one "
             "method");
}

Test(config_errors, status_out_of_range)
{
    error_is("routes:\n  - { path: /, respond: { status: 600 } }\n",
             "herd.yaml:2:35: routes[0].respond.status: 600 is out of range "
             "(100..599)");
    error_is("routes:\n  - { path: /, respond: { status: 99 } }\n",
             "herd.yaml:2:35: routes[0].respond.status: 99 is out of range "
             "(100..599)");
}

Test(config_errors, body_on_bodiless_status)
{
    error_is("routes:\n"
             "  - path: /\n"
             "    respond:\n"
             "      body: gone\n"
             "      status: 204\n",
             "herd.yaml:4:13: routes[0].respond.body: a 204 response cannot "
             "have a body");
    error_is("routes:\n  - { path: /, respond: { status: 304, body: x } }\n",
             "herd.yaml:2:46: routes[0].respond.body: a 304 response cannot "
             "have a body");
    error_is("routes:\n  - { path: /, respond: { status: 103, body: x } }\n",
             "herd.yaml:2:46: routes[0].respond.body: a 103 response cannot "
             "have a body");
    /* An explicitly empty body is no body. */
    herd_config_free(
        load_ok("routes: [{ path: /, respond: { status: 204, body: '' } }]"));
}

Test(config_errors, managed_header_refused)
{
    static const char *const names[] = {
        "Content-Length", "transfer-encoding", "CONNECTION", "Date",
        "Server",         "X-Request-Id",
    };
    char yaml[256], expected[512];
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(names); i++) {
        snprintf(yaml, sizeof(yaml),
                 "routes:\n  - path: /\n    respond:\n      headers: { %s: "
                 "x }\n",
                 names[i]);
        snprintf(expected, sizeof(expected),
                 "herd.yaml:4:18: routes[0].respond.headers.%s: managed by "
                 "herd, cannot be set in a route",
                 names[i]);
        error_is(yaml, expected);
    }
}

Test(config_errors, bad_headers)
{
    error_is("routes:\n  - { path: /, respond: { headers: { \"X A\": 1 } } }\n",
             "herd.yaml:2:38: routes[0].respond.headers: invalid header name "
             "\"X A\" (allowed: letters, digits and !#$%&'*+-.^_`|~)");
    error_is("routes:\n  - { path: /, respond: { headers: { X: \"a\\r\\nB: "
             "c\" } } }\n",
             "herd.yaml:2:41: routes[0].respond.headers.X: header values must "
             "not contain control characters (found byte 0x0d)");
    error_is("routes:\n  - { path: /, respond: { headers: { X: \"a\\0\" } } "
             "}\n",
             "herd.yaml:2:41: routes[0].respond.headers.X: header values must "
             "not contain control characters (found byte 0x00)");
    error_is("routes:\n  - { path: /, respond: { headers: { X: } } }\n",
             "herd.yaml:2:41: routes[0].respond.headers.X: expected a string, "
             "got an empty value");
}

/* ---- files --------------------------------------------------------------- */

Test(config_file, loads_from_disk)
{
    char path[] = "/tmp/herd-test-config-XXXXXX";
    char err[HERD_CONFIG_ERR_LEN] = "", expected[HERD_CONFIG_ERR_LEN];
    struct herd_config *cfg = NULL;
    FILE *f;
    int fd = mkstemp(path);

    cr_assert_geq(fd, 0);
    f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs(full_yaml, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(herd_config_load(path, &cfg, err, sizeof(err)), HERD_OK, "%s",
                 err);
    cr_assert_str_eq(cfg->file, path);
    cr_assert_eq(cfg->nlisten, 6);
    cr_assert_eq(cfg->nroutes, 4);
    cr_assert_str_eq(cfg->routes[0].u.respond.body, "Hello World!\n");
    herd_config_free(cfg);

    /* Errors name the path as given. */
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("workers: 2\nwokers: 3\n", f);
    cr_assert_eq(fclose(f), 0);
    cfg = (struct herd_config *)&cfg;
    cr_assert_eq(herd_config_load(path, &cfg, err, sizeof(err)), HERD_ERR);
    cr_assert_null(cfg);
    snprintf(expected, sizeof(expected),
             "%s:2:1: unknown key \"wokers\" (did you mean \"workers\"?)",
             path);
    cr_assert_str_eq(err, expected);
    unlink(path);
}

Test(config_file, too_large_on_disk)
{
    char path[] = "/tmp/herd-test-config-XXXXXX";
    char err[HERD_CONFIG_ERR_LEN] = "", expected[HERD_CONFIG_ERR_LEN];
    struct herd_config *cfg = NULL;
    static char block[64 * 1024];
    int fd = mkstemp(path), i;

    cr_assert_geq(fd, 0);
    memset(block, '#', sizeof(block));
    for (i = 0; i < 17; i++)
        cr_assert_eq(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
    close(fd);
    cr_assert_eq(herd_config_load(path, &cfg, err, sizeof(err)), HERD_ERR);
    cr_assert_null(cfg);
    snprintf(expected, sizeof(expected), "%s: too large (more than 1 MiB)",
             path);
    cr_assert_str_eq(err, expected);
    unlink(path);
}

Test(config_file, missing_file)
{
    char err[HERD_CONFIG_ERR_LEN] = "";
    struct herd_config *cfg = (struct herd_config *)&cfg;

    cr_assert_eq(
        herd_config_load("/nonexistent/herd.yaml", &cfg, err, sizeof(err)),
        HERD_ERR);
    cr_assert_null(cfg);
    cr_assert_str_eq(err, "/nonexistent/herd.yaml: cannot open: No such file "
                          "or directory");
}

Test(config_file, default_conf_loads)
{
    const char *srcdir = getenv("HERD_SRCDIR");
    char path[4096], err[HERD_CONFIG_ERR_LEN] = "";
    struct herd_config *cfg = NULL;
    const struct herd_route_conf *r;

    snprintf(path, sizeof(path), "%s/conf/herd.yaml",
             srcdir != NULL ? srcdir : ".");
    cr_assert_eq(herd_config_load(path, &cfg, err, sizeof(err)), HERD_OK, "%s",
                 err);
    cr_assert_eq(cfg->nlisten, 1);
    cr_assert_eq(cfg->listen[0].kind, HERD_LISTEN_TCP);
    cr_assert_str_eq(cfg->listen[0].host, "127.0.0.1");
    cr_assert_eq(cfg->listen[0].port, 8080);
    cr_assert_eq(cfg->listen[0].backlog, 511);
    cr_assert_eq(cfg->workers, cpus());
    cr_assert_eq(cfg->limits.max_connections, 10000);
    cr_assert_eq(cfg->limits.header_timeout_ms, 10000);
    cr_assert_eq(cfg->limits.body_timeout_ms, 30000);
    cr_assert_eq(cfg->limits.keepalive_timeout_ms, 75000);
    cr_assert_eq(cfg->limits.keepalive_requests, 1000);
    cr_assert_eq(cfg->limits.max_header_size, 8192);
    cr_assert_eq(cfg->limits.max_body_size, 1048576);
    cr_assert_str_eq(cfg->log.error, "stderr");
    cr_assert_eq(cfg->log.level, HERD_LOG_INFO);
    cr_assert_str_eq(cfg->log.access, "stderr");
    cr_assert_eq(cfg->log.format, HERD_ACCESS_COMBINED);
    cr_assert_eq(cfg->worker.heartbeat_ms, 1000);
    cr_assert_eq(cfg->worker.timeout_ms, 10000);
    cr_assert_eq(cfg->worker.shutdown_timeout_ms, 30000);
    cr_assert_eq(cfg->worker.max_requests, 0);
    cr_assert_eq(cfg->worker.max_requests_jitter, 0);
    cr_assert_null(cfg->user, "the default run is unprivileged");
    cr_assert_null(cfg->group);
    cr_assert_null(cfg->pid_file);
    cr_assert_eq(cfg->listen[0].proxy_protocol, 0);
    cr_assert_eq(cfg->proxy.ntrusted, 0);
    cr_assert_eq(cfg->proxy.client_header, HERD_PROXY_XFF);
    cr_assert_eq(cfg->nroutes, 10);
    cr_assert_eq(cfg->routes[1].handler, HERD_HANDLER_HEALTH);
    cr_assert_eq(cfg->routes[1].u.health.min_ready, 0);
    cr_assert_eq(cfg->routes[2].handler, HERD_HANDLER_METRICS);
    cr_assert_eq(cfg->routes[3].handler, HERD_HANDLER_REDIRECT);
    cr_assert_eq(cfg->routes[3].u.redirect.status, 301);
    r = &cfg->routes[0];
    cr_assert_str_eq(r->path, "/");
    cr_assert_eq(r->methods, HERD_M_GET | HERD_M_HEAD);
    cr_assert_eq(r->handler, HERD_HANDLER_RESPOND);
    cr_assert_eq(r->u.respond.status, 200);
    cr_assert_str_eq(r->u.respond.body, "Hello World!\n");
    cr_assert_eq(r->u.respond.nheaders, 1);
    cr_assert_str_eq(r->u.respond.headers[0].name, "Content-Type");
    cr_assert_str_eq(r->u.respond.headers[0].value, "text/plain");
    herd_config_free(cfg);
}

/* ---- proxy --------------------------------------------------------------- */

static const char *
cidr_text(const struct herd_cidr *c)
{
    static char buf[HERD_CIDR_STRLEN];

    herd_cidr_format(c, buf, sizeof(buf));
    return buf;
}

Test(config, proxy_trusted_and_client_header)
{
    struct herd_config *cfg =
        load_ok("proxy:\n"
                "  trusted: [127.0.0.1/32, \"::1/128\", unix, 10.0.0.0/8,\n"
                "            192.168.1.7, \"2001:db8::/32\", "
                "\"::ffff:172.16.0.0/108\"]\n"
                "  client_header: forwarded\n");

    cr_assert_eq(cfg->proxy.ntrusted, 7);
    cr_assert_str_eq(cidr_text(&cfg->proxy.trusted[0]), "127.0.0.1/32");
    cr_assert_str_eq(cidr_text(&cfg->proxy.trusted[1]), "::1/128");
    cr_assert_str_eq(cidr_text(&cfg->proxy.trusted[2]), "unix");
    cr_assert_str_eq(cidr_text(&cfg->proxy.trusted[3]), "10.0.0.0/8");
    cr_assert_str_eq(cidr_text(&cfg->proxy.trusted[4]), "192.168.1.7/32");
    cr_assert_str_eq(cidr_text(&cfg->proxy.trusted[5]), "2001:db8::/32");
    cr_assert_str_eq(cidr_text(&cfg->proxy.trusted[6]), "172.16.0.0/12");
    cr_assert_eq(cfg->proxy.client_header, HERD_PROXY_FORWARDED);
    herd_config_free(cfg);

    cfg = load_ok("proxy:\n"
                  "  trusted:\n"
                  "    - 10.0.0.0/8\n"
                  "    - unix\n"
                  "  client_header: x-forwarded-for\n");
    cr_assert_eq(cfg->proxy.ntrusted, 2);
    cr_assert_eq(cfg->proxy.trusted[1].family, AF_UNIX);
    cr_assert_eq(cfg->proxy.client_header, HERD_PROXY_XFF);
    herd_config_free(cfg);

    /* One entry without a list, an empty list, an empty section. */
    cfg = load_ok("proxy: { trusted: 10.0.0.0/8 }\n");
    cr_assert_eq(cfg->proxy.ntrusted, 1);
    cr_assert_str_eq(cidr_text(&cfg->proxy.trusted[0]), "10.0.0.0/8");
    herd_config_free(cfg);
    cfg = load_ok("proxy: { trusted: [] }\n");
    cr_assert_eq(cfg->proxy.ntrusted, 0);
    cr_assert_null(cfg->proxy.trusted);
    herd_config_free(cfg);
    cfg = load_ok("proxy:\n");
    cr_assert_eq(cfg->proxy.ntrusted, 0);
    cr_assert_eq(cfg->proxy.client_header, HERD_PROXY_XFF);
    herd_config_free(cfg);
}

Test(config, listen_proxy_protocol)
{
    struct herd_config *cfg =
        load_ok("listen:\n"
                "  - { address: 127.0.0.1:0, proxy_protocol: true }\n"
                "  - { address: unix:h.sock, proxy_protocol: false }\n"
                "  - { address: \"[::1]:0\", proxy_protocol: True }\n"
                "  - { address: 127.0.0.1:1, proxy_protocol: FALSE }\n"
                "  - 127.0.0.1:2\n");

    cr_assert_eq(cfg->nlisten, 5);
    cr_assert_eq(cfg->listen[0].proxy_protocol, 1);
    cr_assert_eq(cfg->listen[1].proxy_protocol, 0);
    cr_assert_eq(cfg->listen[2].proxy_protocol, 1);
    cr_assert_eq(cfg->listen[3].proxy_protocol, 0);
    cr_assert_eq(cfg->listen[4].proxy_protocol, 0);
    herd_config_free(cfg);
}

Test(config_errors, proxy_trusted)
{
    error_is("proxy:\n"
             "  trusted:\n"
             "    - 127.0.0.1/32\n"
             "    - 10.0.0.1/8\n",
             "herd.yaml:4:7: proxy.trusted[1]: host bits set after the /8 "
             "prefix (did you mean 10.0.0.0/8?)");
    error_is("proxy: { trusted: [unix, localhost] }\n",
             "herd.yaml:1:26: proxy.trusted[1]: expected an IP address, a "
             "CIDR such as 10.0.0.0/8, or unix, got \"localhost\"");
    error_is("proxy: { trusted: [10.0.0.0/33] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: invalid prefix length "
             "\"/33\" (expected 0..32 for IPv4)");
    error_is("proxy: { trusted: [\"::/129\"] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: invalid prefix length "
             "\"/129\" (expected 0..128 for IPv6)");
    error_is("proxy: { trusted: [10.0.0.0/] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: missing prefix length after "
             "\"/\"");
    error_is("proxy: { trusted: [1.2.3.256] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: invalid IPv4 address "
             "\"1.2.3.256\"");
    error_is("proxy: { trusted: [\"2001:db8::g\"] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: invalid IPv6 address "
             "\"2001:db8::g\"");
    error_is("proxy: { trusted: [\"[::1]\"] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: write IPv6 addresses without "
             "brackets, as in ::1/128");
    error_is("proxy: { trusted: [unix/0] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: unix takes no prefix length");
    error_is("proxy: { trusted: [\"\"] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: empty value (expected an IP "
             "address, a CIDR such as 10.0.0.0/8, or unix)");
    error_is("proxy: { trusted: 10.0.0.1/8 }\n",
             "herd.yaml:1:19: proxy.trusted: host bits set after the /8 "
             "prefix (did you mean 10.0.0.0/8?)");
    error_is("proxy: { trusted: [[10.0.0.0/8]] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: expected an address such as "
             "10.0.0.0/8, or unix, got a list");
    error_is("proxy: { trusted: [~] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: expected an address such as "
             "10.0.0.0/8, or unix, got null");
    error_is("proxy: { trusted: [\"1.2.3.4\\0\"] }\n",
             "herd.yaml:1:20: proxy.trusted[0]: must not contain NUL bytes");
    error_is("proxy: { trusted: { a: 1 } }\n",
             "herd.yaml:1:19: proxy.trusted: expected a list of addresses "
             "such as [127.0.0.1/32, unix], got a mapping");
    error_is("proxy:\n  trusted:\n",
             "herd.yaml:2:11: proxy.trusted: expected a list of addresses "
             "such as [127.0.0.1/32, unix], got an empty value");
    error_is("proxy: [10.0.0.0/8]\n",
             "herd.yaml:1:8: proxy: expected a mapping, got a list");
    error_is("proxy: { trustd: [] }\n",
             "herd.yaml:1:10: proxy: unknown key \"trustd\" (did you mean "
             "\"trusted\"?)");
    error_is("proxy: { real_ip: x }\n",
             "herd.yaml:1:10: proxy: unknown key \"real_ip\" (expected one "
             "of: trusted, client_header)");
}

Test(config_errors, proxy_trusted_too_many)
{
    size_t i, n = 1025, o = 0;
    char *yaml = malloc(n * 16 + 64);

    cr_assert_not_null(yaml);
    o += (size_t)sprintf(yaml + o, "proxy: { trusted: [");
    for (i = 0; i < n; i++)
        o += (size_t)sprintf(yaml + o, "%s10.%zu.%zu.1", i ? ", " : "", i / 256,
                             i % 256);
    sprintf(yaml + o, "] }\n");
    error_is(yaml, "herd.yaml:1:19: proxy.trusted: too many entries (at "
                   "most 1024)");
    /* 1024 is fine. */
    o = (size_t)sprintf(yaml, "proxy: { trusted: [");
    for (i = 0; i < n - 1; i++)
        o += (size_t)sprintf(yaml + o, "%s10.%zu.%zu.1", i ? ", " : "", i / 256,
                             i % 256);
    sprintf(yaml + o, "] }\n");
    herd_config_free(load_ok(yaml));
    free(yaml);
}

Test(config_errors, proxy_client_header)
{
    error_is("proxy: { client_header: x-real-ip }\n",
             "herd.yaml:1:25: proxy.client_header: invalid value "
             "\"x-real-ip\" (expected one of: x-forwarded-for, forwarded)");
    error_is("proxy: { client_header: X-Forwarded-For }\n",
             "herd.yaml:1:25: proxy.client_header: invalid value "
             "\"X-Forwarded-For\" (expected one of: x-forwarded-for, "
             "forwarded)");
    error_is("proxy: { client_header: [forwarded] }\n",
             "herd.yaml:1:25: proxy.client_header: expected a string, got a "
             "list");
}

Test(config_errors, proxy_protocol_is_a_boolean)
{
    error_is("listen:\n  - { address: \"*:80\", proxy_protocol: yes }\n",
             "herd.yaml:2:40: listen[0].proxy_protocol: expected true or "
             "false, got \"yes\"");
    error_is("listen:\n  - { address: \"*:80\", proxy_protocol: \"true\" "
             "}\n",
             "herd.yaml:2:40: listen[0].proxy_protocol: expected true or "
             "false, got the quoted string \"true\"");
    error_is("listen:\n  - { address: \"*:80\", proxy_protocol: 1 }\n",
             "herd.yaml:2:40: listen[0].proxy_protocol: expected true or "
             "false, got \"1\"");
    error_is("listen:\n  - { address: \"*:80\", proxy_protocol: }\n",
             "herd.yaml:2:40: listen[0].proxy_protocol: expected true or "
             "false, got an empty value");
    error_is("listen:\n  - { address: \"*:80\", proxy_protocol: [true] }\n",
             "herd.yaml:2:40: listen[0].proxy_protocol: expected true or "
             "false, got a list");
    error_is("listen:\n  - { address: \"*:80\", proxy_protocol: tRUE }\n",
             "herd.yaml:2:40: listen[0].proxy_protocol: expected true or "
             "false, got \"tRUE\"");
}

/* ---- robustness ---------------------------------------------------------- */

Test(config_errors, garbage_never_crashes)
{
    static const char *const inputs[] = {
        "\x00\x01\x02\x03",
        "\xef\xbb\xbf",
        "{{{{{{{{",
        "]]]]",
        "- - - - - -",
        ":::",
        "? ? ? ?",
        "&a [*a]",
        "%YAML 1.1\n---\n",
        "%TAG ! !x\n--- !y a\n",
        "'",
        "\"\\xzz\"",
        "workers: 2\n...\n...\n",
        "\t",
        "routes: [{}, {}]",
        "routes: [[[[]]]]",
        "log: {: }",
    };
    char err[HERD_CONFIG_ERR_LEN];
    struct herd_config *cfg;
    size_t i;
    unsigned seed = 12345;
    char buf[sizeof(full_yaml)];
    int rc;

    for (i = 0; i < HERD_ARRAY_LEN(inputs); i++) {
        cfg = NULL;
        err[0] = '\0';
        rc = herd_config_load_string("herd.yaml", inputs[i],
                                     i == 0 ? 4 : strlen(inputs[i]), &cfg, err,
                                     sizeof(err));
        if (rc == HERD_OK)
            herd_config_free(cfg);
        else
            cr_assert(strncmp(err, "herd.yaml", 9) == 0, "%s", err);
    }
    /* Flip bytes of a valid file: every result is a config or a message. */
    for (i = 0; i < 2000; i++) {
        size_t j, n = 1 + (size_t)(rand_r(&seed) % 4);

        memcpy(buf, full_yaml, sizeof(full_yaml));
        for (j = 0; j < n; j++)
            buf[(size_t)rand_r(&seed) % (sizeof(full_yaml) - 1)] =
                (char)(rand_r(&seed) % 256);
        cfg = NULL;
        err[0] = '\0';
        rc = herd_config_load_string("herd.yaml", buf, sizeof(full_yaml) - 1,
                                     &cfg, err, sizeof(err));
        if (rc == HERD_OK) {
            cr_assert_not_null(cfg);
            herd_config_free(cfg);
        } else {
            cr_assert_null(cfg);
            cr_assert(strncmp(err, "herd.yaml", 9) == 0, "%s", err);
        }
    }
}

Test(config_errors, small_error_buffer)
{
    char err[16];
    struct herd_config *cfg = NULL;

    cr_assert_eq(herd_config_load_string("herd.yaml", "wokers: 1", 9, &cfg, err,
                                         sizeof(err)),
                 HERD_ERR);
    cr_assert_str_eq(err, "herd.yaml:1:1: ");
    cr_assert_eq(
        herd_config_load_string("herd.yaml", "wokers: 1", 9, &cfg, NULL, 0),
        HERD_ERR);
    cr_assert_null(cfg);
}

/* ---- static and redirect handlers ---------------------------------------- */

Test(config, static_defaults_and_keys)
{
    struct herd_config *cfg =
        load_ok("routes:\n"
                "  - { path: /s/*, static: { root: /tmp } }\n"
                "  - path: /t/*\n"
                "    static: { root: /, index: home.htm, gzip_static: true,\n"
                "              cache_control: \"max-age=60\", "
                "dotfiles: allow }\n");
    const struct herd_static_conf *a = &cfg->routes[0].u.static_;
    const struct herd_static_conf *b = &cfg->routes[1].u.static_;

    cr_expect_eq(cfg->routes[0].handler, HERD_HANDLER_STATIC);
    cr_expect_str_eq(a->root, "/tmp");
    cr_expect_str_eq(a->index, "index.html");
    cr_expect_null(a->cache_control);
    cr_expect_eq(a->gzip_static, 0);
    cr_expect_eq(a->dotfiles, HERD_DOTFILES_DENY);
    cr_expect_eq(cfg->routes[0].methods, HERD_M_GET | HERD_M_HEAD);
    cr_expect_str_eq(b->index, "home.htm");
    cr_expect_str_eq(b->cache_control, "max-age=60");
    cr_expect_eq(b->gzip_static, 1);
    cr_expect_eq(b->dotfiles, HERD_DOTFILES_ALLOW);
    herd_config_free(cfg);
}

Test(config_errors, static_route)
{
    error_is("routes:\n  - { path: /s, static: { root: /tmp } }\n",
             "herd.yaml:2:13: routes[0].path: a static route's path must end "
             "in \"/*\" (e.g. /static/*)");
    error_is("routes:\n  - { path: /s/*, static: {} }\n",
             "herd.yaml:2:27: routes[0].static: missing required key "
             "\"root\"");
    error_is("routes:\n  - { path: /s/*, static: { root: /nonexistent-x } }\n",
             "herd.yaml:2:35: routes[0].static.root: cannot use "
             "\"/nonexistent-x\" (stat: No such file or directory)");
    error_is("routes:\n  - { path: /s/*, static: { root: /etc/hostname } }\n",
             "herd.yaml:2:35: routes[0].static.root: \"/etc/hostname\" is "
             "not a directory");
    error_is("routes:\n  - { path: /s/*, static: { root: /, index: a/b } }\n",
             "herd.yaml:2:45: routes[0].static.index: must be a file name "
             "(no \"/\", not \".\" or \"..\")");
    error_is(
        "routes:\n  - { path: /s/*, static: { root: /, dotfiles: yes } }\n",
        "herd.yaml:2:48: routes[0].static.dotfiles: invalid value "
        "\"yes\" (expected one of: deny, allow)");
    error_is("routes:\n  - { path: /s/*, static: { root: /, "
             "cache: { size: 2g } } }\n",
             "herd.yaml:2:53: routes[0].static.cache.size: 2g is out of range "
             "(0..1g)");
    error_is("routes:\n  - { path: /s/*, static: { root: /,\n"
             "      cache: { max_file: -1 } } }\n",
             "herd.yaml:3:26: routes[0].static.cache.max_file: invalid size "
             "\"-1\": no sign allowed");
    error_is("routes:\n  - { path: /s/*, static: { root: /,\n"
             "      cache: { max_files: 4k } } }\n",
             "herd.yaml:3:16: routes[0].static.cache: unknown key "
             "\"max_files\" (did you mean \"max_file\"?)");
    error_is("routes:\n  - { path: /s/*, static: { root: /,\n"
             "      cache: { size: lots } } }\n",
             "herd.yaml:3:22: routes[0].static.cache.size: invalid size "
             "\"lots\": expected a number");
    error_is("routes:\n  - { path: /s/*, static: { root: /, cache: 1m } }\n",
             "herd.yaml:2:45: routes[0].static.cache: expected a mapping, got "
             "\"1m\"");
    error_is("routes:\n  - { path: /s/*, methods: [POST],\n"
             "      static: { root: / } }\n",
             "herd.yaml:2:28: routes[0].methods: a static route serves GET "
             "and HEAD only");
}

Test(config, static_cache)
{
    struct herd_config *cfg =
        load_ok("routes:\n"
                "  - { path: /s/*, static: { root: /tmp } }\n"
                "  - path: /t/*\n"
                "    static:\n"
                "      root: /tmp\n"
                "      cache: { max_file: 4k, size: 0 }\n"
                "  - { path: /u/*, static: { root: /, cache: { size: 1g } } }\n"
                "  - { path: /v/*, static: { root: /, cache: {} } }\n");
    const struct herd_static_conf *a = &cfg->routes[0].u.static_;
    const struct herd_static_conf *b = &cfg->routes[1].u.static_;
    const struct herd_static_conf *c = &cfg->routes[2].u.static_;
    const struct herd_static_conf *d = &cfg->routes[3].u.static_;

    cr_expect_eq(a->cache.max_file, 16384);
    cr_expect_eq(a->cache.size, 1048576);
    cr_expect_eq(b->cache.max_file, 4096);
    cr_expect_eq(b->cache.size, 0);
    cr_expect_eq(c->cache.max_file, 16384);
    cr_expect_eq(c->cache.size, 1024ull * 1024 * 1024);
    cr_expect_eq(d->cache.max_file, 16384);
    cr_expect_eq(d->cache.size, 1048576);
    herd_config_free(cfg);
}

Test(config, redirect_compiled_at_load)
{
    struct herd_config *cfg = load_ok(
        "routes:\n"
        "  - { path: /u/:id, redirect: { to: \"https://e.com/users/:id\" } }\n"
        "  - { path: /v/*, redirect: { to: \"/w/*\", status: 308 } }\n");

    cr_expect_eq(cfg->routes[0].handler, HERD_HANDLER_REDIRECT);
    cr_expect_str_eq(cfg->routes[0].u.redirect.to, "https://e.com/users/:id");
    cr_expect_eq(cfg->routes[0].u.redirect.status, 302);
    cr_expect_not_null(cfg->routes[0].u.redirect.compiled);
    cr_expect_eq(cfg->routes[1].u.redirect.status, 308);
    herd_config_free(cfg);
}

Test(config_errors, redirect_route)
{
    error_is("routes:\n  - { path: /u/:id, redirect: { to: \"/x/:name\" } }\n",
             "herd.yaml:2:37: routes[0].redirect.to: redirect target "
             "\"/x/:name\": \":name\" is not a parameter of route "
             "\"/u/:id\"");
    error_is("routes:\n  - { path: /u, redirect: { to: /x, status: 305 } }\n",
             "herd.yaml:2:45: routes[0].redirect.status: 305 is not a "
             "redirect (expected 301, 302, 303, 307 or 308)");
    error_is("routes:\n  - { path: /u, redirect: { status: 301 } }\n",
             "herd.yaml:2:27: routes[0].redirect: missing required key "
             "\"to\"");
}

/* ---- module routes: what can be checked without loading real code ---- */

Test(config_module, missing_file_is_an_error_at_its_position)
{
    error_is("routes:\n  - path: /m\n    module:\n"
             "      file: /nonexistent/m.so\n      handler: h\n",
             "herd.yaml:4:13: routes[0].module.file: cannot open "
             "\"/nonexistent/m.so\": No such file or directory");
}

Test(config_module, a_file_that_is_no_module)
{
    char dir[] = "/tmp/herd-cfgmod-XXXXXX", path[64], yaml[256], err[1024];
    struct herd_config *cfg = NULL;
    FILE *f;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/text.so", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    snprintf(yaml, sizeof(yaml),
             "routes:\n  - path: /m\n    module: { file: %s, handler: h }\n",
             path);
    cr_assert_eq(herd_config_load_string("herd.yaml", yaml, strlen(yaml), &cfg,
                                         err, sizeof(err)),
                 HERD_ERR);
    cr_expect(strstr(err, "herd.yaml:3:21: routes[0].module.file: cannot "
                          "load \"") == err,
              "got: %s", err);
    cr_expect(strstr(err, "text.so\": ") != NULL, "got: %s", err);
    /* dlerror's own words, about the configured name, not the copy. */
    cr_expect(strstr(err, "/proc/self/fd") == NULL, "got: %s", err);
    unlink(path);
    rmdir(dir);
}

Test(config_module, file_and_handler_are_required)
{
    error_is("routes:\n  - path: /m\n    module: { handler: h }\n",
             "herd.yaml:3:13: routes[0].module: missing required key "
             "\"file\"");
    error_is("routes:\n  - path: /m\n    module: { file: x.so }\n",
             "herd.yaml:3:13: routes[0].module: missing required key "
             "\"handler\"");
}

Test(config_module, config_values_are_scalars)
{
    error_is("routes:\n  - path: /m\n    module:\n      file: x.so\n"
             "      handler: h\n      config: { db: [a, b] }\n",
             "herd.yaml:6:21: routes[0].module.config.db: expected a scalar "
             "(a string, number or boolean), got a list");
    error_is("routes:\n  - path: /m\n    module:\n      file: x.so\n"
             "      handler: h\n      config: [a]\n",
             "herd.yaml:6:15: routes[0].module.config: expected a mapping of "
             "names to values, got a list");
}

Test(config_module, timeout_has_bounds)
{
    error_is("routes:\n  - path: /m\n    module:\n      file: x.so\n"
             "      handler: h\n      timeout: 0s\n",
             "herd.yaml:6:16: routes[0].module.timeout: 0s is out of range "
             "(1ms..1d)");
}

/* ---- pub/sub handlers ---- */

Test(config_pubsub, events_and_websocket_routes)
{
    const char *yaml =
        "pubsub: { history: 50, max_channels: 10 }\n"
        "routes:\n"
        "  - path: /events/:room\n"
        "    methods: [GET, POST]\n"
        "    events: { channel: \":room\", keepalive: 5s,\n"
        "              publish_from: [127.0.0.0/8, unix] }\n"
        "  - path: /ws\n"
        "    websocket: { channel: lobby, max_message_size: 4k }\n";
    struct herd_config *cfg = NULL;
    char err[1024];

    cr_assert_eq(herd_config_load_string("herd.yaml", yaml, strlen(yaml), &cfg,
                                         err, sizeof(err)),
                 HERD_OK, "%s", err);
    cr_expect_eq(cfg->pubsub.backend, HERD_PUBSUB_LOCAL);
    cr_expect_eq(cfg->pubsub.history, 50);
    cr_expect_eq(cfg->pubsub.max_channels, 10);
    cr_expect_str_eq(cfg->pubsub.prefix, "herd:");
    cr_expect_eq(cfg->routes[0].handler, HERD_HANDLER_EVENTS);
    cr_expect_str_eq(cfg->routes[0].u.channel.channel, ":room");
    cr_expect_eq(cfg->routes[0].u.channel.keepalive_ms, 5000);
    cr_expect_eq(cfg->routes[0].u.channel.npublish_from, 2);
    cr_expect_eq(cfg->routes[0].u.channel.retry_ms, 2000);
    cr_expect_eq(cfg->routes[1].handler, HERD_HANDLER_WEBSOCKET);
    cr_expect_eq(cfg->routes[1].u.channel.max_message_size, 4096);
    cr_expect_eq(cfg->routes[1].u.channel.publish, 1);
    herd_config_free(cfg);
}

Test(config_pubsub, errors)
{
    error_is("routes:\n  - path: /e\n    events: { channel: \":room\" }\n",
             "herd.yaml:3:24: routes[0].events.channel: the route's path "
             "has no parameter :room");
    error_is("routes:\n  - path: /e\n    events: { channel: \"a b\" }\n",
             "herd.yaml:3:24: routes[0].events.channel: invalid channel a b "
             "(expected 1 to 200 of A-Z a-z 0-9 . _ : -, or :param naming a "
             "route parameter)");
    error_is("routes:\n  - path: /e\n    methods: [PUT]\n"
             "    events: { channel: x }\n",
             "herd.yaml:3:14: routes[0].methods: an events route answers GET "
             "and HEAD (subscribe) and POST (publish) only");
    error_is("routes:\n  - path: /w\n    methods: [POST]\n"
             "    websocket: { channel: x }\n",
             "herd.yaml:3:14: routes[0].methods: a websocket route answers "
             "GET only");
    error_is("routes:\n  - path: /w\n    websocket: {}\n",
             "herd.yaml:3:16: routes[0].websocket: missing required key "
             "\"channel\"");
    error_is("pubsub: { backend: redis, address: localhost }\n",
             "herd.yaml:1:36: pubsub.address: \"localhost\" is not host:port "
             "(or a unix socket path)");
    error_is("pubsub: { backend: redis, address: \"h:99999\" }\n",
             "herd.yaml:1:36: pubsub.address: \"h:99999\" is not host:port "
             "(or a unix socket path)");
    error_is("pubsub: { backend: kafka }\n",
             "herd.yaml:1:20: pubsub.backend: invalid value \"kafka\" "
             "(expected one of: local, redis)");
}
