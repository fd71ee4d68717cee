/*
 * check_config.c: unit tests for config/ (YAML loader, key-table engine,
 * schema).
 *
 * The bad-configuration table gives, for each broken file, every
 * "FILE:LINE:COLUMN: message" it must produce, exactly and in order: the
 * positions are what an operator's editor shows, so they are part of the
 * contract. Good configurations are checked field by field. Files the
 * configurations need (certificates, a config on disk) are made in a
 * fresh temp dir; certificates with the openssl command at test time.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/internal.h"
#include "outputs/registry.h"
#include "relay/common.h"

static char tmpdir[64];

static void setup_tmp(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sr-check-config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *tmp_path(const char *name)
{
    return sr_asprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* All errors joined with "\n" (caller frees). */
static char *joined(const sr_cfg_ctx_t *ctx)
{
    sr_buf_t b;
    size_t i;

    sr_buf_init(&b);
    for (i = 0; i < ctx->n_errors; i++) {
        sr_buf_printf(&b, "%s%s", i ? "\n" : "", ctx->errors[i]);
    }
    sr_buf_putc(&b, '\0');
    return b.base;
}

/* Load text named "t.yaml"; returns the config or NULL; errors in *errs. */
static sr_config_t *load(const char *yaml, char **errs)
{
    sr_cfg_ctx_t ctx;
    sr_config_t *cfg = NULL;
    int rc;

    sr_cfg_ctx_init(&ctx, "t.yaml");
    rc = sr_config_load_string(yaml, "t.yaml", &cfg, &ctx);
    *errs = joined(&ctx);
    ck_assert_int_eq(rc == 0, ctx.n_errors == 0);
    ck_assert_int_eq(rc == 0, cfg != NULL);
    sr_cfg_ctx_free(&ctx);
    return cfg;
}

static sr_config_t *load_ok(const char *yaml)
{
    char *errs;
    sr_config_t *cfg = load(yaml, &errs);

    ck_assert_msg(cfg != NULL, "expected no errors, got:\n%s", errs);
    sr_free(errs);
    return cfg;
}

/* ---- value parsers ------------------------------------------------- */

static const struct {
    const char *in;
    int rc;
    uint64_t v;
} size_cases[] = {
    {"512", 0, 512},
    {"0", 0, 0},
    {"1B", 0, 1},
    {"64KiB", 0, 65536},
    {"64kib", 0, 65536},
    {"64 KiB", 0, 65536},
    {"1MiB", 0, 1048576},
    {"2GiB", 0, 2147483648ull},
    {"1TiB", 0, 1099511627776ull},
    {"", SR_ECONFIG, 0},
    {"KiB", SR_ECONFIG, 0},
    {"64KB", SR_ECONFIG, 0},
    {"64k", SR_ECONFIG, 0},
    {"-1", SR_ECONFIG, 0},
    {"1.5MiB", SR_ECONFIG, 0},
    {"64KiBs", SR_ECONFIG, 0},
    {"99999999999999999999", SR_ECONFIG, 0},
    {"18014398509481984GiB", SR_ECONFIG, 0},
};

START_TEST(test_parse_size)
{
    uint64_t v = 12345;
    int rc = sr_cfg_parse_size(size_cases[_i].in, &v);

    ck_assert_msg(rc == size_cases[_i].rc, "'%s': rc %d", size_cases[_i].in, rc);
    if (rc == 0) {
        ck_assert_uint_eq(v, size_cases[_i].v);
    }
}
END_TEST

static const struct {
    const char *in;
    int rc;
    uint64_t ms;
} duration_cases[] = {
    {"250ms", 0, 250},   {"10s", 0, 10000},      {"5m", 0, 300000}, {"1h", 0, 3600000},
    {"0", 0, 0},         {"1m30s", 0, 90000},    {"0s", 0, 0},      {"10", SR_ECONFIG, 0},
    {"", SR_ECONFIG, 0}, {"s", SR_ECONFIG, 0},   {"10x", SR_ECONFIG, 0},
    {"-1s", SR_ECONFIG, 0}, {"1.5s", SR_ECONFIG, 0}, {"10S", SR_ECONFIG, 0},
    {"99999999999999999999ms", SR_ECONFIG, 0},
};

START_TEST(test_parse_duration)
{
    uint64_t v = 12345;
    int rc = sr_cfg_parse_duration(duration_cases[_i].in, &v);

    ck_assert_msg(rc == duration_cases[_i].rc, "'%s': rc %d", duration_cases[_i].in, rc);
    if (rc == 0) {
        ck_assert_uint_eq(v, duration_cases[_i].ms);
    }
}
END_TEST

START_TEST(test_severity_names)
{
    ck_assert_int_eq(sr_severity_from_name("emerg"), 0);
    ck_assert_int_eq(sr_severity_from_name("alert"), 1);
    ck_assert_int_eq(sr_severity_from_name("crit"), 2);
    ck_assert_int_eq(sr_severity_from_name("err"), 3);
    ck_assert_int_eq(sr_severity_from_name("error"), 3);
    ck_assert_int_eq(sr_severity_from_name("warning"), 4);
    ck_assert_int_eq(sr_severity_from_name("warn"), 4);
    ck_assert_int_eq(sr_severity_from_name("notice"), 5);
    ck_assert_int_eq(sr_severity_from_name("INFO"), 6);
    ck_assert_int_eq(sr_severity_from_name("debug"), 7);
    ck_assert_int_eq(sr_severity_from_name("0"), 0);
    ck_assert_int_eq(sr_severity_from_name("7"), 7);
    ck_assert_int_eq(sr_severity_from_name("8"), -1);
    ck_assert_int_eq(sr_severity_from_name("-1"), -1);
    ck_assert_int_eq(sr_severity_from_name("07"), -1);
    ck_assert_int_eq(sr_severity_from_name(""), -1);
    ck_assert_int_eq(sr_severity_from_name("loud"), -1);
    ck_assert_int_eq(sr_severity_from_name(NULL), -1);
}
END_TEST

static const struct {
    const char *in;
    int rc;
    int family;
    int port;
} addr_cases[] = {
    {"0.0.0.0:514", 0, AF_INET, 514},
    {"127.0.0.1:0", 0, AF_INET, 0},
    {"[::]:514", 0, AF_INET6, 514},
    {"[::1]:65535", 0, AF_INET6, 65535},
    {"localhost:514", SR_ECONFIG, 0, 0},
    {"127.0.0.1", SR_ECONFIG, 0, 0},
    {"127.0.0.1:", SR_ECONFIG, 0, 0},
    {"127.0.0.1:65536", SR_ECONFIG, 0, 0},
    {"127.0.0.1:-1", SR_ECONFIG, 0, 0},
    {"127.0.0.1:5x", SR_ECONFIG, 0, 0},
    {":514", SR_ECONFIG, 0, 0},
    {"::1:514", SR_ECONFIG, 0, 0},
    {"[::1]514", SR_ECONFIG, 0, 0},
    {"[::1:514", SR_ECONFIG, 0, 0},
    {"[127.0.0.1]:514", SR_ECONFIG, 0, 0},
    {"256.0.0.1:514", SR_ECONFIG, 0, 0},
    {"", SR_ECONFIG, 0, 0},
};

START_TEST(test_addr_parse)
{
    sr_addr_t a;
    int rc = sr_addr_parse(addr_cases[_i].in, &a);
    int port;

    ck_assert_msg(rc == addr_cases[_i].rc, "'%s': rc %d", addr_cases[_i].in, rc);
    if (rc != 0) {
        return;
    }
    ck_assert_int_eq(a.sa.ss_family, addr_cases[_i].family);
    port = a.sa.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&a.sa)->sin_port)
                                     : ntohs(((struct sockaddr_in6 *)&a.sa)->sin6_port);
    ck_assert_int_eq(port, addr_cases[_i].port);
    ck_assert_str_eq(a.text, addr_cases[_i].in);
    ck_assert_uint_eq(a.len, a.sa.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                       : sizeof(struct sockaddr_in6));
}
END_TEST

/* ---- the engine on its own table ----------------------------------- */

typedef struct demo_s {
    char *s;
    int64_t i;
    bool b;
    uint64_t size;
    uint64_t dur;
    int e;
    sr_strlist_t l;
    int64_t secret;
    int sev;
} demo_t;

static const char *const colours[] = {"red", "green", NULL};
static const sr_cfg_key_t demo_keys[] = {
    {"s", SR_CFG_STRING, "dflt", 0, 0, offsetof(demo_t, s), NULL, NULL, 0, "a string"},
    {"i", SR_CFG_INT, "5", -3, 10, offsetof(demo_t, i), NULL, NULL, 0, "an int"},
    {"b", SR_CFG_BOOL, "true", 0, 0, offsetof(demo_t, b), NULL, NULL, 0, "a bool"},
    {"size", SR_CFG_SIZE, "1KiB", 1024, 1 << 20, offsetof(demo_t, size), NULL, NULL, 0, "x"},
    {"dur", SR_CFG_DURATION, "1s", 100, 60000, offsetof(demo_t, dur), NULL, NULL, 0, "x"},
    {"e", SR_CFG_ENUM, "green", 0, 0, offsetof(demo_t, e), colours, NULL, 0, "x"},
    {"l", SR_CFG_STRLIST, NULL, 0, 0, offsetof(demo_t, l), NULL, NULL, 0, "x"},
    {"secret", SR_CFG_INT, NULL, 0, 0, offsetof(demo_t, secret), NULL, NULL, SR_CFG_SECRET, "x"},
    {"sev", SR_CFG_SEVERITY, "info", 0, 0, offsetof(demo_t, sev), NULL, NULL, 0, "x"},
    {NULL},
};

/* Apply demo_keys to the top-level map of yaml (through the YAML loader
 * only: a full load would refuse the demo keys); returns the errors. */
static char *apply_demo(const char *yaml, demo_t *d)
{
    sr_cfg_ctx_t ctx;
    sr_node_t *root = NULL;
    char *errs;

    sr_cfg_ctx_init(&ctx, "d.yaml");
    memset(d, 0, sizeof(*d));
    ck_assert_int_eq(sr__yaml_parse(&ctx, yaml, strlen(yaml), &root), 0);
    sr_cfg_apply(&ctx, "demo", demo_keys, root, d, NULL);
    sr__node_free(root);
    errs = joined(&ctx);
    sr_cfg_ctx_free(&ctx);
    return errs;
}

START_TEST(test_engine_defaults)
{
    demo_t d;
    char *errs = apply_demo("", &d);

    ck_assert_str_eq(errs, "");
    ck_assert_str_eq(d.s, "dflt");
    ck_assert_int_eq(d.i, 5);
    ck_assert_int_eq(d.b, true);
    ck_assert_uint_eq(d.size, 1024);
    ck_assert_uint_eq(d.dur, 1000);
    ck_assert_int_eq(d.e, 1);
    ck_assert_uint_eq(d.l.n, 0);
    ck_assert_int_eq(d.sev, 6);
    sr_cfg_release(demo_keys, &d);
    ck_assert_ptr_null(d.s);
    sr_free(errs);
}
END_TEST

START_TEST(test_engine_values)
{
    demo_t d;
    char *errs = apply_demo("s: 'x y'\ni: -3\nb: no\nsize: 1MiB\ndur: 100ms\ne: red\n"
                            "l: [a, 'b c']\nsev: 3\n",
                            &d);

    ck_assert_str_eq(errs, "");
    ck_assert_str_eq(d.s, "x y");
    ck_assert_int_eq(d.i, -3);
    ck_assert_int_eq(d.b, false);
    ck_assert_uint_eq(d.size, 1048576);
    ck_assert_uint_eq(d.dur, 100);
    ck_assert_int_eq(d.e, 0);
    ck_assert_uint_eq(d.l.n, 2);
    ck_assert_str_eq(d.l.v[0], "a");
    ck_assert_str_eq(d.l.v[1], "b c");
    ck_assert_int_eq(d.sev, 3);
    sr_cfg_release(demo_keys, &d);
    ck_assert_ptr_null(d.l.v);
    sr_free(errs);
}
END_TEST

START_TEST(test_engine_errors)
{
    demo_t d;
    char *errs = apply_demo("i: 11\nb: maybe\nsize: 2MiB\ndur: 50ms\ne: blue\nl: x\n"
                            "secret: hunter2\nsev: 8\nsz: 1\ns: [1]\n",
                            &d);

    ck_assert_str_eq(errs,
                     "d.yaml:9:1: unknown key 'sz' in demo (did you mean 's'?); expected one "
                     "of: s, i, b, size, dur, e, l, secret, sev\n"
                     "d.yaml:10:4: demo.s: expected a string, not a list\n"
                     "d.yaml:1:4: demo.i: \"11\" is too large (at most 10)\n"
                     "d.yaml:2:4: demo.b: \"maybe\" is not a boolean (expected true or false)\n"
                     "d.yaml:3:7: demo.size: \"2MiB\" is too large (at most 1MiB)\n"
                     "d.yaml:4:6: demo.dur: \"50ms\" is too small (at least 100ms)\n"
                     "d.yaml:5:4: demo.e: \"blue\" is not one of: red, green\n"
                     "d.yaml:6:4: demo.l: expected a list of strings, not a scalar\n"
                     "d.yaml:7:9: demo.secret: (value hidden) is not an integer\n"
                     "d.yaml:8:6: demo.sev: \"8\" is not a severity (expected emerg, alert, "
                     "crit, err, warning, notice, info, debug, or 0-7)");
    ck_assert_ptr_null(strstr(errs, "hunter2"));
    sr_cfg_release(demo_keys, &d);
    sr_free(errs);
}
END_TEST

/* ---- ${ENV} ---------------------------------------------------------- */

#define OUT_OK "outputs:\n  - name: o\n    type: file\n    path: \"-\"\n"

START_TEST(test_env_substitution)
{
    sr_config_t *cfg;

    setenv("SR_T_HOST", "127.0.0.1", 1);
    setenv("SR_T_EMPTY", "", 1);
    unsetenv("SR_T_UNSET");
    cfg = load_ok("inputs:\n"
                  "  - type: udp\n"
                  "    listen: \"${SR_T_HOST}:${SR_T_UNSET:-0}\"\n"
                  "    name: \"a$${SR_T_HOST}b${SR_T_EMPTY:-x}$c\"\n" OUT_OK);
    ck_assert_str_eq(cfg->inputs[0].listen.text, "127.0.0.1:0");
    ck_assert_str_eq(cfg->inputs[0].name, "a${SR_T_HOST}bx$c");
    sr_config_free(cfg);
}
END_TEST

/* ---- bad configurations ---------------------------------------------- */

#define IN_OK "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"

static const struct {
    const char *name;
    const char *yaml;
    const char *errors;
} bad[] = {
    {"empty", "", "t.yaml:1:1: the configuration is empty; it needs at least 'inputs' and "
                  "'outputs'"},
    {"comments only", "# nothing\n\n",
     "t.yaml:1:1: the configuration is empty; it needs at least 'inputs' and 'outputs'"},
    {"scalar root", "hello\n",
     "t.yaml:1:1: expected a mapping of sections (log_level, inputs, outputs, ...) at the top "
     "level, not a scalar"},
    {"no outputs", IN_OK,
     "t.yaml:1:1: no outputs configured: 'outputs' needs at least one"},
    {"empty inputs", "inputs: []\n" OUT_OK,
     "t.yaml:1:9: no inputs configured: 'inputs' needs at least one"},
    {"unknown top key", "log_levl: debug\n" IN_OK OUT_OK,
     "t.yaml:1:1: unknown key 'log_levl' in the top level (did you mean 'log_level'?); "
     "expected one of: log_level, workers, shutdown_timeout, inputs, redact, outputs, metrics"},
    {"unknown input key",
     "inputs:\n  - type: udp\n    listn: \"127.0.0.1:0\"\n" OUT_OK,
     "t.yaml:2:5: missing required key 'listen' in udp input inputs[0]\n"
     "t.yaml:3:5: unknown key 'listn' in udp input inputs[0] (did you mean 'listen'?); "
     "expected one of: name, type, listen, format, timezone, max_message_size"},
    {"unknown key far from any",
     "inputs:\n  - type: tcp\n    listen: \"127.0.0.1:0\"\n    colour: red\n" OUT_OK,
     "t.yaml:4:5: unknown key 'colour' in tcp input inputs[0]; expected one of: name, type, "
     "listen, format, timezone, max_message_size, framing, proxy_protocol, max_connections, "
     "idle_timeout, handshake_timeout"},
    {"key for another input type",
     "inputs:\n  - name: u\n    type: udp\n    listen: \"127.0.0.1:0\"\n"
     "    proxy_protocol: true\n    cert_file: /x\n" OUT_OK,
     "t.yaml:5:5: inputs[0].proxy_protocol: applies only to tcp and tls inputs, not to udp\n"
     "t.yaml:6:5: inputs[0].cert_file: applies only to tls inputs, not to udp"},
    {"inputs not a list", "inputs: udp\n" OUT_OK,
     "t.yaml:1:9: inputs: expected a list of inputs, not a scalar"},
    {"input not a mapping", "inputs:\n  - udp\n" OUT_OK,
     "t.yaml:2:5: inputs[0]: expected a mapping, not a scalar"},
    {"metrics not a mapping", IN_OK OUT_OK "metrics: [1]\n",
     "t.yaml:8:10: metrics: expected a mapping, not a list"},
    {"output inputs not a list", IN_OK OUT_OK "    inputs: udp-0\n",
     "t.yaml:8:13: outputs[0].inputs: expected a list of strings, not a scalar"},
    {"bad input type", "inputs:\n  - type: sctp\n    listen: \"127.0.0.1:0\"\n" OUT_OK,
     "t.yaml:2:11: inputs[0].type: \"sctp\" is not one of: udp, tcp, tls"},
    {"hostname listener", "inputs:\n  - type: udp\n    listen: localhost:514\n" OUT_OK,
     "t.yaml:3:13: inputs[0].listen: \"localhost:514\" is not a valid address: the host must "
     "be a numeric IPv4 or IPv6 address (names are not resolved for listeners)"},
    {"bad port", "inputs:\n  - type: udp\n    listen: \"127.0.0.1:65536\"\n" OUT_OK,
     "t.yaml:3:13: inputs[0].listen: \"127.0.0.1:65536\" is not a valid address: the port "
     "must be a number from 0 to 65535"},
    {"ipv6 without brackets", "inputs:\n  - type: udp\n    listen: \"::1:514\"\n" OUT_OK,
     "t.yaml:3:13: inputs[0].listen: \"::1:514\" is not a valid address: write an IPv6 "
     "address in brackets, e.g. [::1]:514"},
    {"missing cert file",
     "inputs:\n  - type: tls\n    listen: \"127.0.0.1:0\"\n    cert_file: /nonexistent/s.crt\n"
     "    key_file: /nonexistent/s.key\n" OUT_OK,
     "t.yaml:4:16: inputs[0].cert_file: cannot read /nonexistent/s.crt: No such file or "
     "directory\n"
     "t.yaml:5:15: inputs[0].key_file: cannot read /nonexistent/s.key: No such file or "
     "directory"},
    {"tls without cert", "inputs:\n  - type: tls\n    listen: \"127.0.0.1:0\"\n" OUT_OK,
     "t.yaml:2:5: missing required key 'cert_file' in tls input inputs[0]\n"
     "t.yaml:2:5: missing required key 'key_file' in tls input inputs[0]"},
    {"directory as cert", "inputs:\n  - type: tls\n    listen: \"127.0.0.1:0\"\n"
                          "    cert_file: /\n    key_file: /\n" OUT_OK,
     "t.yaml:4:16: inputs[0].cert_file: cannot read /: Is a directory\n"
     "t.yaml:5:15: inputs[0].key_file: cannot read /: Is a directory"},
    {"bad size", "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
                 "    max_message_size: 12XB\n" OUT_OK,
     "t.yaml:4:23: inputs[0].max_message_size: \"12XB\" is not a size (expected bytes, or a "
     "number with KiB, MiB or GiB, e.g. 64KiB)"},
    {"ambiguous size unit", "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
                            "    max_message_size: 10MB\n" OUT_OK,
     "t.yaml:4:23: inputs[0].max_message_size: \"10MB\" is not a size (did you mean 10MiB? "
     "sizes use KiB, MiB and GiB)"},
    {"size too large", "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
                       "    max_message_size: 9GiB\n" OUT_OK,
     "t.yaml:4:23: inputs[0].max_message_size: \"9GiB\" is too large (at most 64MiB)"},
    {"size too small", "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
                       "    max_message_size: 512\n" OUT_OK,
     "t.yaml:4:23: inputs[0].max_message_size: \"512\" is too small (at least 1KiB)"},
    {"bad duration", "inputs:\n  - type: tcp\n    listen: \"127.0.0.1:0\"\n"
                     "    idle_timeout: 10\n" OUT_OK,
     "t.yaml:4:19: inputs[0].idle_timeout: \"10\" is not a duration (expected a number with "
     "ms, s, m or h, e.g. 250ms, 10s, 5m)"},
    {"duration too long", "shutdown_timeout: 2h\n" IN_OK OUT_OK,
     "t.yaml:1:19: shutdown_timeout: \"2h\" is too large (at most 1h)"},
    {"bad enum", "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
                 "    format: rfc5425\n" OUT_OK,
     "t.yaml:4:13: inputs[0].format: \"rfc5425\" is not one of: auto, rfc5424, rfc3164"},
    {"bad log level", "log_level: verbose\n" IN_OK OUT_OK,
     "t.yaml:1:12: log_level: \"verbose\" is not one of: debug, info, warning, error"},
    {"bad bool", "inputs:\n  - type: tcp\n    listen: \"127.0.0.1:0\"\n"
                 "    proxy_protocol: maybe\n" OUT_OK,
     "t.yaml:4:21: inputs[0].proxy_protocol: \"maybe\" is not a boolean (expected true or "
     "false)"},
    {"workers out of range", "workers: 65\n" IN_OK OUT_OK,
     "t.yaml:1:10: workers: \"65\" is too large (at most 64)"},
    {"bad severity", IN_OK OUT_OK "    min_severity: loud\n",
     "t.yaml:8:19: outputs[0].min_severity: \"loud\" is not a severity (expected emerg, alert, "
     "crit, err, warning, notice, info, debug, or 0-7)"},
    {"severity number out of range", IN_OK OUT_OK "    min_severity: 8\n",
     "t.yaml:8:19: outputs[0].min_severity: \"8\" is not a severity (expected emerg, alert, "
     "crit, err, warning, notice, info, debug, or 0-7)"},
    {"unset env var", "inputs:\n  - type: udp\n    listen: ${SR_T_UNSET}\n" OUT_OK,
     "t.yaml:3:13: environment variable SR_T_UNSET is not set"},
    {"unset env var in a key", "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
                               "    ${SR_T_UNSET}: 1\n" OUT_OK,
     "t.yaml:4:5: environment variable SR_T_UNSET is not set\n"
     "t.yaml:4:5: unknown key '' in udp input inputs[0]; expected one of: name, type, listen, "
     "format, timezone, max_message_size"},
    {"unterminated env", "inputs:\n  - type: udp\n    listen: \"${SR_T_HOST\"\n" OUT_OK,
     "t.yaml:3:13: unterminated '${' (write '$${' for a literal '${')"},
    {"bad env name", "inputs:\n  - type: udp\n    listen: \"${1X}\"\n" OUT_OK,
     "t.yaml:3:13: invalid reference '${1X}': expected ${NAME} or ${NAME:-default} (write "
     "'$${' for a literal '${')"},
    {"duplicate input name",
     "inputs:\n  - name: in\n    type: udp\n    listen: \"127.0.0.1:0\"\n"
     "  - name: in\n    type: tcp\n    listen: \"127.0.0.1:0\"\n" OUT_OK,
     "t.yaml:5:11: inputs[1]: input name 'in' is already used by inputs[0] (line 2); input "
     "names must be unique"},
    {"duplicate default input name",
     "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
     "  - type: udp\n    listen: \"127.0.0.2:0\"\n" OUT_OK,
     "t.yaml:4:5: inputs[1]: input name 'udp-0' is already used by inputs[0] (line 2); input "
     "names must be unique (set 'name' on one of them)"},
    {"same address twice",
     "inputs:\n  - name: a\n    type: tcp\n    listen: \"0.0.0.0:601\"\n"
     "  - name: b\n    type: tcp\n    listen: \"0.0.0.0:601\"\n" OUT_OK,
     "t.yaml:7:13: inputs[1].listen: 0.0.0.0:601 is already used by tcp input 'a' (inputs[0], "
     "line 2)"},
    {"duplicate key", "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n    type: tcp\n"
                      OUT_OK,
     "t.yaml:4:5: duplicate key 'type' (first at line 2, column 5)"},
    {"alias", "x: &a 1\n" IN_OK OUT_OK "    min_severity: *a\n",
     "t.yaml:9:19: YAML aliases (*a) are not supported; write the value out"},
    {"two documents", IN_OK OUT_OK "---\nlog_level: info\n",
     "t.yaml:8:1: only one YAML document is allowed in a configuration"},
    {"unknown output type", IN_OK "outputs:\n  - name: o\n    type: kafka\n",
     "t.yaml:6:11: outputs[0].type: \"kafka\" is not an output type; expected one of: "
     "datadog, file, redis"},
    {"output without name and type", IN_OK "outputs:\n  - min_severity: info\n",
     "t.yaml:5:5: missing required key 'name' in output outputs[0]\n"
     "t.yaml:5:5: missing required key 'type' in output outputs[0]"},
    {"unknown input in output", IN_OK OUT_OK "    inputs: [udp-0, udp-1]\n",
     "t.yaml:8:21: outputs[0].inputs: there is no input named 'udp-1'; inputs are: udp-0"},
    {"duplicate output name", IN_OK OUT_OK "  - name: o\n    type: file\n    path: \"-\"\n",
     "t.yaml:8:11: outputs[1]: output name 'o' is already used by outputs[0] (line 5); output "
     "names must be unique"},
    {"bad buffer", IN_OK OUT_OK "    buffer: {max_memory: 1KiB, max_dsk: 1GiB}\n",
     "t.yaml:8:26: outputs[0].buffer.max_memory: \"1KiB\" is too small (at least 64KiB)\n"
     "t.yaml:8:32: unknown key 'max_dsk' in buffer of file output o (did you mean "
     "'max_disk'?); expected one of: max_memory, flow_window, disk_path, max_disk"},
    {"shared disk buffer",
     IN_OK OUT_OK "    buffer: {disk_path: /tmp/x}\n"
                  "  - name: p\n    type: file\n    path: \"-\"\n    buffer: {disk_path: /tmp/x}\n",
     "t.yaml:12:25: outputs[1].buffer.disk_path: /tmp/x is already the disk buffer of "
     "outputs[0]; each output needs its own directory"},
    {"yaml syntax error", "inputs:\n  - type: udp\n   listen: x\n" OUT_OK,
     "t.yaml:3:4: YAML syntax error: did not find expected '-' indicator (while parsing a "
     "block collection at line 2, column 3)"},
    {"yaml mapping in scalar", "inputs:\n  - type: udp: x\n" OUT_OK,
     "t.yaml:2:14: YAML syntax error: mapping values are not allowed in this context"},
    {"yaml unclosed flow", IN_OK OUT_OK "    inputs: [a, b\n",
     "t.yaml:9:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
     "sequence at line 8, column 13)"},
    {"yaml tab indent", "inputs:\n\t- type: udp\n",
     "t.yaml:2:1: YAML syntax error: found character that cannot start any token (while "
     "scanning for the next token at line 2, column 1)"},
    {"non-scalar key", "? [a]\n: 1\n", "t.yaml:1:3: a mapping key must be a plain string, not a list"},
    {"several errors",
     "log_level: loud\n"
     "inputs:\n"
     "  - name: udp-in\n"
     "    type: udp\n"
     "    listen: \"0.0.0.0:99999\"\n"
     "    framing: newline\n"
     "outputs:\n"
     "  - name: o\n"
     "    type: file\n"
     "    path: \"-\"\n"
     "    format: xml\n"
     "    inputs: [udp-inn]\n"
     "metrics:\n"
     "  listen: \"127.0.0.1\"\n",
     "t.yaml:1:12: log_level: \"loud\" is not one of: debug, info, warning, error\n"
     "t.yaml:5:13: inputs[0].listen: \"0.0.0.0:99999\" is not a valid address: the port must "
     "be a number from 0 to 65535\n"
     "t.yaml:6:5: inputs[0].framing: applies only to tcp and tls inputs, not to udp\n"
     "t.yaml:11:13: outputs[0].format: \"xml\" is not one of: json, rfc5424, rfc3164, raw\n"
     "t.yaml:12:14: outputs[0].inputs: there is no input named 'udp-inn'; inputs are: udp-in\n"
     "t.yaml:14:11: metrics.listen: \"127.0.0.1\" is not a valid address: expected HOST:PORT, "
     "e.g. 0.0.0.0:514 or [::]:514"},
};

START_TEST(test_bad_configs)
{
    char *errs;
    sr_config_t *cfg;

    unsetenv("SR_T_UNSET");
    cfg = load(bad[_i].yaml, &errs);
    ck_assert_msg(cfg == NULL, "%s: loaded", bad[_i].name);
    ck_assert_msg(strcmp(errs, bad[_i].errors) == 0, "%s:\nwant:\n%s\ngot:\n%s", bad[_i].name,
                  bad[_i].errors, errs);
    sr_free(errs);
}
END_TEST

START_TEST(test_missing_file)
{
    sr_cfg_ctx_t ctx;
    sr_config_t *cfg = (sr_config_t *)1;
    char *errs;

    sr_cfg_ctx_init(&ctx, NULL);
    ck_assert_int_eq(sr_config_load("/nonexistent/relay.yaml", &cfg, &ctx), SR_ECONFIG);
    ck_assert_ptr_null(cfg);
    errs = joined(&ctx);
    ck_assert_str_eq(errs, "/nonexistent/relay.yaml:1:1: cannot read configuration: No such "
                           "file or directory");
    sr_free(errs);
    sr_cfg_ctx_free(&ctx);

    sr_cfg_ctx_init(&ctx, NULL);
    ck_assert_int_eq(sr_config_load("/", &cfg, &ctx), SR_ECONFIG);
    errs = joined(&ctx);
    ck_assert_str_eq(errs, "/:1:1: cannot read configuration: Is a directory");
    sr_free(errs);
    sr_cfg_ctx_free(&ctx);
}
END_TEST

START_TEST(test_file_on_disk)
{
    sr_cfg_ctx_t ctx;
    sr_config_t *cfg = NULL;
    char *path, *errs;

    setup_tmp();
    path = tmp_path("relay.yaml");
    write_file(path, "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
                     "outputs:\n  - name: o\n    type: file\n    path: \"-\"\n"
                     "    min_severity: 9\n");
    sr_cfg_ctx_init(&ctx, NULL);
    ck_assert_int_eq(sr_config_load(path, &cfg, &ctx), SR_ECONFIG);
    errs = joined(&ctx);
    ck_assert_int_eq(ctx.n_errors, 1);
    ck_assert_ptr_eq(strstr(errs, path), errs);
    ck_assert_str_eq(errs + strlen(path),
                     ":8:19: outputs[0].min_severity: \"9\" is not a severity (expected emerg, "
                     "alert, crit, err, warning, notice, info, debug, or 0-7)");
    sr_free(errs);
    sr_cfg_ctx_free(&ctx);

    write_file(path, "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n" OUT_OK);
    sr_cfg_ctx_init(&ctx, NULL);
    ck_assert_int_eq(sr_config_load(path, &cfg, &ctx), 0);
    ck_assert_uint_eq(ctx.n_errors, 0);
    ck_assert_str_eq(cfg->file, path);
    sr_config_free(cfg);
    sr_cfg_ctx_free(&ctx);
    sr_free(path);
    teardown_tmp();
}
END_TEST

/* Hostile files are refused by the limits, not by running out of memory. */
START_TEST(test_limits)
{
    sr_buf_t b;
    char *errs;
    sr_config_t *cfg;
    int i;

    sr_buf_init(&b);
    for (i = 0; i < 100; i++) {
        sr_buf_puts(&b, "[");
    }
    sr_buf_putc(&b, '\0');
    cfg = load(b.base, &errs);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(errs, "t.yaml:1:65: configuration is nested more than 64 levels deep");
    sr_free(errs);

    sr_buf_reset(&b);
    sr_buf_puts(&b, "x: [");
    for (i = 0; i < 10001; i++) {
        sr_buf_puts(&b, "1,");
    }
    sr_buf_puts(&b, "1]\n");
    sr_buf_putc(&b, '\0');
    cfg = load(b.base, &errs);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(errs, "t.yaml:1:19999: configuration has more than 10000 nodes");
    sr_free(errs);
    sr_buf_free(&b);
}
END_TEST

/* ---- good configurations --------------------------------------------- */

START_TEST(test_default_config)
{
    sr_cfg_ctx_t ctx;
    sr_config_t *cfg = NULL;
    char *errs;

    sr_cfg_ctx_init(&ctx, NULL);
    sr_config_load(NULL, &cfg, &ctx);
    errs = joined(&ctx);
    ck_assert_msg(cfg != NULL, "default config: %s", errs);
    ck_assert_str_eq(ctx.file, "<default>");
    ck_assert_uint_eq(cfg->n_inputs, 2);
    ck_assert_str_eq(cfg->inputs[0].name, "udp-5514");
    ck_assert_int_eq(cfg->inputs[0].type, SR_INPUT_UDP);
    ck_assert_str_eq(cfg->inputs[0].listen.text, "0.0.0.0:5514");
    ck_assert_str_eq(cfg->inputs[1].name, "tcp-5514");
    ck_assert_int_eq(cfg->inputs[1].type, SR_INPUT_TCP);
    ck_assert_str_eq(cfg->inputs[1].listen.text, "0.0.0.0:5514");
    ck_assert_int_eq(cfg->inputs[1].format, 0);
    ck_assert_uint_eq(cfg->n_outputs, 1);
    ck_assert_str_eq(cfg->outputs[0].type, "file");
    ck_assert_ptr_eq(cfg->outputs[0].desc, sr_output_find("file"));
    ck_assert_int_eq(cfg->outputs[0].input_allowed[0], true);
    ck_assert_int_eq(cfg->outputs[0].input_allowed[1], true);
    ck_assert_int_eq(cfg->metrics_enabled, false);
    ck_assert_ptr_null(cfg->redactor);
    ck_assert_int_eq(cfg->log_level, 1);
    sr_config_free(cfg);
    sr_free(errs);
    sr_cfg_ctx_free(&ctx);
}
END_TEST

START_TEST(test_defaults_applied)
{
    sr_config_t *cfg = load_ok("inputs:\n  - type: tcp\n    listen: \"[::1]:0\"\n" OUT_OK);
    const sr_input_conf_t *in = &cfg->inputs[0];
    const sr_output_conf_t *o = &cfg->outputs[0];

    ck_assert_int_eq(cfg->log_level, 1);
    ck_assert_int_eq(cfg->workers, 0);
    ck_assert_uint_eq(cfg->shutdown_timeout_ms, 10000);
    ck_assert_str_eq(in->name, "tcp-0");
    ck_assert_int_eq(in->listen.sa.ss_family, AF_INET6);
    ck_assert_int_eq(in->format, 0);
    ck_assert_str_eq(in->timezone, "UTC");
    ck_assert_uint_eq(in->max_message_size, 65536);
    ck_assert_int_eq(in->framing, 0);
    ck_assert_int_eq(in->proxy_protocol, false);
    ck_assert_int_eq(in->max_connections, 10000);
    ck_assert_uint_eq(in->idle_timeout_ms, 600000);
    ck_assert_uint_eq(in->handshake_timeout_ms, 10000);
    ck_assert_ptr_null(in->cert_file);
    ck_assert_int_eq(in->id, 0);
    ck_assert_int_eq(o->min_severity, 7);
    ck_assert_uint_eq(o->inputs.n, 0);
    ck_assert_uint_eq(o->max_memory, 64ull << 20);
    ck_assert_ptr_null(o->disk_path);
    ck_assert_uint_eq(o->max_disk, 1ull << 30);
    ck_assert_int_eq(o->input_allowed[0], true);
    sr_config_free(cfg);
}
END_TEST

static bool make_cert(const char *dir)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s/s.key' -out '%s/s.crt' "
             "-days 2 -subj /CN=relay.test >/dev/null 2>&1 && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s/other.key' "
             "-out '%s/other.crt' -days 2 -subj /CN=other >/dev/null 2>&1",
             dir, dir, dir, dir);
    return system(cmd) == 0;
}

/* Every key of INTERFACE.md's example that the outputs built so far take. */
START_TEST(test_interface_example)
{
    sr_buf_t y;
    sr_config_t *cfg;
    const sr_output_desc_t *redis = sr_output_find("redis");
    const sr_input_conf_t *in;
    const sr_output_conf_t *o;
    char *errs;

    setup_tmp();
    if (!make_cert(tmpdir)) {
        teardown_tmp();
        ck_abort_msg("openssl could not make a test certificate");
    }
    setenv("DD_API_KEY", "0123456789abcdef0123456789abcdef", 1);
    sr_buf_init(&y);
    sr_buf_printf(&y,
                  "log_level: info\n"
                  "inputs:\n"
                  "  - name: udp-in\n"
                  "    type: udp\n"
                  "    listen: \"0.0.0.0:514\"\n"
                  "    format: auto\n"
                  "    timezone: UTC\n"
                  "    max_message_size: 64KiB\n"
                  "  - type: tcp\n"
                  "    listen: \"0.0.0.0:601\"\n"
                  "    framing: auto\n"
                  "    proxy_protocol: false\n"
                  "    max_connections: 10000\n"
                  "    idle_timeout: 10m\n"
                  "  - type: tls\n"
                  "    listen: \"[::]:6514\"\n"
                  "    format: rfc5424\n"
                  "    framing: octet-counting\n"
                  "    proxy_protocol: true\n"
                  "    cert_file: %s/s.crt\n"
                  "    key_file: %s/s.key\n"
                  "    ca_file: %s/other.crt\n"
                  "redact:\n"
                  "  - name: card\n"
                  "    pattern: '\\b(?:\\d[ -]?){13,16}\\b'\n"
                  "    replacement: \"[REDACTED]\"\n"
                  "  - builtin: email\n"
                  "outputs:\n"
                  "  - name: datadog\n"
                  "    type: datadog\n"
                  "    api_key: ${DD_API_KEY}\n"
                  "    transport: syslog-tls\n"
                  "    site: datadoghq.com\n"
                  "    ca_file: \"\"\n"
                  "    service: \"\"\n"
                  "    source: \"\"\n"
                  "    tags: []\n"
                  "    min_severity: warning\n"
                  "    inputs: [udp-in]\n"
                  "    buffer: { max_memory: 32MiB, disk_path: %s/dd, max_disk: 2GiB }\n"
                  "  - name: archive\n"
                  "    type: file\n"
                  "    path: %s/all.log\n"
                  "    format: json\n",
                  tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
    if (redis != NULL && redis->keys != NULL && redis->keys[0].name != NULL) {
        sr_buf_puts(&y, "  - name: queue\n"
                        "    type: redis\n"
                        "    url: redis://127.0.0.1:6379/0\n"
                        "    key: logstash\n"
                        "    mode: list\n"
                        "    codec: json\n"
                        "    max_length: 0\n");
    }
    sr_buf_puts(&y, "metrics:\n  listen: \"127.0.0.1:9102\"\n");
    sr_buf_putc(&y, '\0');

    cfg = load(y.base, &errs);
    ck_assert_msg(cfg != NULL, "INTERFACE example:\n%s", errs);
    ck_assert_uint_eq(cfg->n_inputs, 3);
    in = &cfg->inputs[0];
    ck_assert_str_eq(in->name, "udp-in");
    ck_assert_int_eq(in->type, SR_INPUT_UDP);
    ck_assert_uint_eq(in->max_message_size, 65536);
    in = &cfg->inputs[1];
    ck_assert_str_eq(in->name, "tcp-601");
    ck_assert_int_eq(in->type, SR_INPUT_TCP);
    ck_assert_uint_eq(in->idle_timeout_ms, 600000);
    in = &cfg->inputs[2];
    ck_assert_str_eq(in->name, "tls-6514");
    ck_assert_int_eq(in->type, SR_INPUT_TLS);
    ck_assert_int_eq(in->format, 1);
    ck_assert_int_eq(in->framing, 1);
    ck_assert_int_eq(in->proxy_protocol, true);
    ck_assert_ptr_nonnull(in->tls);
    ck_assert_str_eq(in->listen.text, "[::]:6514");
    ck_assert_uint_eq(cfg->n_outputs, redis && redis->keys[0].name ? 3 : 2);
    o = &cfg->outputs[0];
    ck_assert_str_eq(o->name, "datadog");
    ck_assert_int_eq(o->min_severity, 4);
    ck_assert_int_eq(o->input_allowed[0], true);
    ck_assert_int_eq(o->input_allowed[1], false);
    ck_assert_int_eq(o->input_allowed[2], false);
    ck_assert_uint_eq(o->max_memory, 32ull << 20);
    ck_assert_uint_eq(o->max_disk, 2ull << 30);
    ck_assert_ptr_nonnull(strstr(o->disk_path, "/dd"));
    ck_assert_ptr_nonnull(o->priv);
    o = &cfg->outputs[1];
    ck_assert_str_eq(o->name, "archive");
    ck_assert_int_eq(o->min_severity, 7);
    ck_assert_int_eq(o->input_allowed[2], true);
    ck_assert_int_eq(cfg->metrics_enabled, true);
    ck_assert_str_eq(cfg->metrics_listen.text, "127.0.0.1:9102");
    sr_config_free(cfg);
    sr_free(errs);
    sr_buf_free(&y);
    teardown_tmp();
}
END_TEST

/* A certificate that is not one, and a key that does not match. */
START_TEST(test_tls_bad_certificate)
{
    sr_buf_t y;
    sr_config_t *cfg;
    char *errs, *want, *junk;

    setup_tmp();
    if (!make_cert(tmpdir)) {
        teardown_tmp();
        ck_abort_msg("openssl could not make a test certificate");
    }
    sr_buf_init(&y);
    sr_buf_printf(&y,
                  "inputs:\n  - type: tls\n    listen: \"127.0.0.1:0\"\n"
                  "    cert_file: %s/s.crt\n    key_file: %s/other.key\n" OUT_OK,
                  tmpdir, tmpdir);
    sr_buf_putc(&y, '\0');
    cfg = load(y.base, &errs);
    ck_assert_ptr_null(cfg);
    want = "t.yaml:4:16: inputs[0]: cannot set up TLS: ";
    ck_assert_msg(strncmp(errs, want, strlen(want)) == 0, "got: %s", errs);
    ck_assert_ptr_null(strchr(errs, '\n'));
    sr_free(errs);

    sr_buf_reset(&y);
    junk = tmp_path("junk.crt");
    write_file(junk, "not a certificate\n");
    sr_free(junk);
    sr_buf_printf(&y,
                  "inputs:\n  - type: tls\n    listen: \"127.0.0.1:0\"\n"
                  "    cert_file: %s/junk.crt\n    key_file: %s/s.key\n" OUT_OK,
                  tmpdir, tmpdir);
    sr_buf_putc(&y, '\0');
    cfg = load(y.base, &errs);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strncmp(errs, want, strlen(want)) == 0, "got: %s", errs);
    sr_free(errs);
    sr_buf_free(&y);
    teardown_tmp();
}
END_TEST

/* ---- test/fixtures/config: good-*.yaml load; bad-*.yaml give bad-*.err --- */

static char *fixture_dir(void)
{
    const char *env = getenv("SR_FIXTURES");
    const char *slash;

    if (env != NULL) {
        return sr_asprintf("%s/config", env);
    }
    slash = strrchr(__FILE__, '/');
    return sr_asprintf("%.*s/../fixtures/config", slash ? (int)(slash - __FILE__) : 1,
                       slash ? __FILE__ : ".");
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    sr_buf_t b;
    char chunk[4096];
    size_t n;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    sr_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        sr_buf_append(&b, chunk, n);
    }
    fclose(f);
    while (b.len > 0 && b.base[b.len - 1] == '\n') {
        b.len--;
    }
    sr_buf_putc(&b, '\0');
    return b.base;
}

START_TEST(test_fixtures)
{
    static const char *const good[] = {"good-minimal", "good-two-outputs", NULL};
    static const char *const badf[] = {"bad-types", "bad-yaml", "bad-duplicates", NULL};
    char *dir = fixture_dir(), *path, *want, *got;
    sr_cfg_ctx_t ctx;
    sr_config_t *cfg;
    sr_buf_t b;
    size_t i, j, skip;

    unsetenv("SR_FIXTURE_LOG_LEVEL");
    for (i = 0; good[i] != NULL; i++) {
        path = sr_asprintf("%s/%s.yaml", dir, good[i]);
        sr_cfg_ctx_init(&ctx, NULL);
        cfg = NULL;
        sr_config_load(path, &cfg, &ctx);
        got = joined(&ctx);
        ck_assert_msg(cfg != NULL, "%s: %s", path, got);
        if (strcmp(good[i], "good-two-outputs") == 0) {
            ck_assert_int_eq(cfg->log_level, 2);
            ck_assert_uint_eq(cfg->shutdown_timeout_ms, 90000);
            ck_assert_int_eq(cfg->inputs[0].proxy_protocol, true);
            ck_assert_uint_eq(cfg->inputs[0].idle_timeout_ms, 0);
            ck_assert_uint_eq(cfg->inputs[1].max_message_size, 8192);
            ck_assert_int_eq(cfg->outputs[0].min_severity, 3);
            ck_assert_int_eq(cfg->outputs[0].input_allowed[0], true);
            ck_assert_int_eq(cfg->outputs[0].input_allowed[1], false);
            ck_assert_int_eq(cfg->outputs[1].input_allowed[1], true);
            ck_assert_uint_eq(cfg->outputs[0].max_disk, 10u << 20);
            ck_assert_int_eq(cfg->metrics_enabled, true);
        }
        sr_config_free(cfg);
        sr_free(got);
        sr_free(path);
        sr_cfg_ctx_free(&ctx);
    }
    for (i = 0; badf[i] != NULL; i++) {
        path = sr_asprintf("%s/%s.yaml", dir, badf[i]);
        sr_cfg_ctx_init(&ctx, NULL);
        ck_assert_int_eq(sr_config_load(path, &cfg, &ctx), SR_ECONFIG);
        /* Messages carry the path as given; compare them by base name. */
        skip = strlen(dir) + 1;
        sr_buf_init(&b);
        for (j = 0; j < ctx.n_errors; j++) {
            ck_assert_int_eq(strncmp(ctx.errors[j], path, skip), 0);
            sr_buf_printf(&b, "%s%s", j ? "\n" : "", ctx.errors[j] + skip);
        }
        sr_buf_putc(&b, '\0');
        sr_free(path);
        path = sr_asprintf("%s/%s.err", dir, badf[i]);
        want = read_all(path);
        ck_assert_msg(strcmp(b.base, want) == 0, "%s:\nwant:\n%s\ngot:\n%s", badf[i], want,
                      b.base);
        sr_free(want);
        sr_free(path);
        sr_buf_free(&b);
        sr_cfg_ctx_free(&ctx);
    }
    sr_free(dir);
}
END_TEST

START_TEST(test_reference)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    sr_config_print_reference(f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "## inputs[]"));
    ck_assert_ptr_nonnull(strstr(buf, "| `max_message_size` | size, 1KiB to 64MiB | `64KiB` |"));
    ck_assert_ptr_nonnull(strstr(buf, "| `listen` | address (IP:PORT) | required |"));
    ck_assert_ptr_nonnull(strstr(buf, "| `buffer.max_disk` |"));
    ck_assert_ptr_nonnull(strstr(buf, "## outputs[] of type `file`"));
    ck_assert_ptr_nonnull(strstr(buf, "## outputs[] of type `datadog`"));
    ck_assert_ptr_nonnull(strstr(buf, "## metrics"));
    free(buf);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_parse_size, 0, SR_ARRAY_SIZE(size_cases));
    tcase_add_loop_test(tc, test_parse_duration, 0, SR_ARRAY_SIZE(duration_cases));
    tcase_add_test(tc, test_severity_names);
    tcase_add_loop_test(tc, test_addr_parse, 0, SR_ARRAY_SIZE(addr_cases));
    tcase_add_test(tc, test_engine_defaults);
    tcase_add_test(tc, test_engine_values);
    tcase_add_test(tc, test_engine_errors);
    tcase_add_test(tc, test_env_substitution);
    tcase_add_loop_test(tc, test_bad_configs, 0, SR_ARRAY_SIZE(bad));
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_file_on_disk);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_default_config);
    tcase_add_test(tc, test_defaults_applied);
    tcase_add_test(tc, test_interface_example);
    tcase_add_test(tc, test_tls_bad_certificate);
    tcase_add_test(tc, test_fixtures);
    tcase_add_test(tc, test_reference);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
