/*
 * config.c: the configuration schema (INTERFACE.md) and its loader.
 *
 * Owns the key tables of the top level, inputs, the common output keys,
 * output buffers and metrics; each output type's own keys live in its
 * descriptor (outputs/NAME.c) and redaction rules in relay/redact.c. Loading
 * is the first of two phases: it builds a fresh sr_config_t, compiles and
 * loads what can fail (time zones, TLS contexts, redaction patterns), but
 * binds and opens nothing. Every problem is collected, not just the first.
 *
 * The sr_config_t and everything it points to belong to the caller until
 * sr_config_free(). Runs on whichever thread calls it; touches no loop.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "../outputs/registry.h"
#include "../relay/log.h"
#include "../relay/redact.h"
#include "../relay/tls.h"
#include "../relay/tz.h"

/* ---- key tables ---------------------------------------------------- */

static const char *const log_levels[] = {"debug", "info", "warning", "error", NULL};
static const char *const input_types[] = {"udp", "tcp", "tls", NULL};
static const char *const formats[] = {"auto", "rfc5424", "rfc3164", NULL};
static const char *const framings[] = {"auto", "octet-counting", "newline", NULL};

#define KIB (1ll << 10)
#define MIB (1ll << 20)
#define GIB (1ll << 30)
#define SEC 1000ll
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)

static const sr_cfg_key_t top_keys[] = {
    {"log_level", SR_CFG_ENUM, "info", 0, 0, offsetof(sr_config_t, log_level), log_levels, NULL,
     0, "The relay's own log level (stderr)."},
    {"workers", SR_CFG_INT, "0", 0, 64, offsetof(sr_config_t, workers), NULL, NULL, 0,
     "Threads that read inputs and parse; 0 means one per CPU core. New connections go to the "
     "thread with the fewest open."},
    {"shutdown_timeout", SR_CFG_DURATION, "10s", 0, HOUR,
     offsetof(sr_config_t, shutdown_timeout_ms), NULL, NULL, 0,
     "On SIGTERM/SIGINT, how long to try delivering queued records before persisting or "
     "dropping them."},
    {NULL},
};
static const char *const top_sections[] = {"inputs", "redact", "outputs", "metrics", NULL};

static const sr_cfg_key_t input_keys[] = {
    {"name", SR_CFG_STRING, NULL, 0, 0, offsetof(sr_input_conf_t, name), NULL, NULL, 0,
     "Name in records (`input`) and metrics; unique. Default: `<type>-<port>`."},
    {"type", SR_CFG_ENUM, NULL, 0, 0, offsetof(sr_input_conf_t, type), input_types, NULL,
     SR_CFG_REQUIRED, "Transport: udp, tcp, or tls (RFC 5425)."},
    {"listen", SR_CFG_ADDRESS, NULL, 0, 0, offsetof(sr_input_conf_t, listen), NULL, NULL,
     SR_CFG_REQUIRED,
     "Numeric `IP:PORT` to listen on; IPv6 as `[::]:514`; port 0 picks a free port."},
    {"format", SR_CFG_ENUM, "auto", 0, 0, offsetof(sr_input_conf_t, format), formats, NULL, 0,
     "Which parsers run: auto tries RFC 5424, then RFC 3164; unparsable messages go on as raw."},
    {"timezone", SR_CFG_STRING, "UTC", 0, 0, offsetof(sr_input_conf_t, timezone), NULL, NULL, 0,
     "Zone for RFC 3164 timestamps, which carry none: an IANA name or `+hh:mm`."},
    {"max_message_size", SR_CFG_SIZE, "64KiB", KIB, 64 * MIB,
     offsetof(sr_input_conf_t, max_message_size), NULL, NULL, 0,
     "Longer messages are truncated to this size and counted."},
    {"framing", SR_CFG_ENUM, "auto", 0, 0, offsetof(sr_input_conf_t, framing), framings, NULL, 0,
     "tcp/tls only. RFC 6587 framing; auto decides per frame; newline framing also ends a "
     "frame at NUL."},
    {"proxy_protocol", SR_CFG_BOOL, "false", 0, 0, offsetof(sr_input_conf_t, proxy_protocol),
     NULL, NULL, 0,
     "tcp/tls only. Each connection starts with a PROXY v1 or v2 header (AWS NLB); the "
     "record's source is the address it carries."},
    {"max_connections", SR_CFG_INT, "10000", 1, 1000000,
     offsetof(sr_input_conf_t, max_connections), NULL, NULL, 0,
     "tcp/tls only. Connections beyond this are refused."},
    {"idle_timeout", SR_CFG_DURATION, "10m", 0, 24 * HOUR,
     offsetof(sr_input_conf_t, idle_timeout_ms), NULL, NULL, 0,
     "tcp/tls only. Close a connection silent this long; 0 never closes."},
    {"handshake_timeout", SR_CFG_DURATION, "10s", 100, 5 * MINUTE,
     offsetof(sr_input_conf_t, handshake_timeout_ms), NULL, NULL, 0,
     "tcp/tls only. Time allowed for the TLS handshake and the PROXY header."},
    {"cert_file", SR_CFG_PATH, NULL, 0, 0, offsetof(sr_input_conf_t, cert_file), NULL, NULL, 0,
     "tls only, required there. Server certificate chain (PEM)."},
    {"key_file", SR_CFG_PATH, NULL, 0, 0, offsetof(sr_input_conf_t, key_file), NULL, NULL, 0,
     "tls only, required there. Private key of the certificate (PEM)."},
    {"ca_file", SR_CFG_PATH, NULL, 0, 0, offsetof(sr_input_conf_t, ca_file), NULL, NULL, 0,
     "tls only. When set, a client must present a certificate this CA signs."},
    {NULL},
};

/* Keys that only some input types take. */
static const char *const stream_only[] = {"framing", "proxy_protocol", "max_connections",
                                          "idle_timeout", "handshake_timeout", NULL};
static const char *const tls_only[] = {"cert_file", "key_file", "ca_file", NULL};

static const sr_cfg_key_t output_keys[] = {
    {"name", SR_CFG_STRING, NULL, 0, 0, offsetof(sr_output_conf_t, name), NULL, NULL,
     SR_CFG_REQUIRED, "Name in logs, metrics and the disk buffer; unique."},
    {"type", SR_CFG_STRING, NULL, 0, 0, offsetof(sr_output_conf_t, type), NULL, NULL,
     SR_CFG_REQUIRED, "The output type (see the sections below)."},
    {"min_severity", SR_CFG_SEVERITY, "debug", 0, 0, offsetof(sr_output_conf_t, min_severity),
     NULL, NULL, 0,
     "Drop records less severe than this: a name (emerg .. debug) or a number 0-7."},
    {"inputs", SR_CFG_STRLIST, NULL, 0, 0, offsetof(sr_output_conf_t, inputs), NULL, NULL, 0,
     "Only records from these inputs (by name); default: every input."},
    {NULL},
};
static const char *const output_common[] = {"name", "type", "min_severity", "inputs", "buffer",
                                            NULL};

static const sr_cfg_key_t buffer_keys[] = {
    {"max_memory", SR_CFG_SIZE, "64MiB", 64 * KIB, 64 * GIB,
     offsetof(sr_output_conf_t, max_memory), NULL, NULL, 0,
     "Records held in memory while the destination is slow or down."},
    {"flow_window", SR_CFG_SIZE, "4MiB", 64 * KIB, 64 * GIB,
     offsetof(sr_output_conf_t, flow_window), NULL, NULL, 0,
     "While the output delivers, stream inputs pause once it is this far behind (at most "
     "max_memory); the rest of max_memory is for when it fails. Datagrams are dropped only "
     "at max_memory."},
    {"disk_path", SR_CFG_STRING, NULL, 0, 0, offsetof(sr_output_conf_t, disk_path), NULL, NULL, 0,
     "Directory for a disk buffer, unique per output. Checked, but not used yet: this version "
     "buffers in memory only (max_memory) and logs a warning at start when this is set."},
    {"max_disk", SR_CFG_SIZE, "1GiB", MIB, 16384 * GIB, offsetof(sr_output_conf_t, max_disk),
     NULL, NULL, 0, "Most the disk buffer may hold (not used yet, as disk_path)."},
    {NULL},
};

static const sr_cfg_key_t metrics_keys[] = {
    {"listen", SR_CFG_ADDRESS, NULL, 0, 0, offsetof(sr_config_t, metrics_listen), NULL, NULL,
     SR_CFG_REQUIRED,
     "Numeric `IP:PORT` for GET /metrics (Prometheus text) and GET /health."},
    {NULL},
};

/* ---- helpers ------------------------------------------------------- */

static const char *scalar_of(const sr_node_t *map, const char *key)
{
    const sr_node_t *n = sr_node_get(map, key);

    if (n == NULL || n->kind != SR_NODE_SCALAR || sr_node_is_null(n) || n->value[0] == '\0') {
        return NULL;
    }
    return n->value;
}

static uint16_t addr_port(const sr_addr_t *a)
{
    if (a->sa.ss_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
    }
    return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
}

static bool addr_same(const sr_addr_t *a, const sr_addr_t *b)
{
    const struct sockaddr_in *a4, *b4;
    const struct sockaddr_in6 *a6, *b6;

    if (a->sa.ss_family != b->sa.ss_family) {
        return false;
    }
    if (a->sa.ss_family == AF_INET) {
        a4 = (const struct sockaddr_in *)&a->sa;
        b4 = (const struct sockaddr_in *)&b->sa;
        return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
    }
    if (a->sa.ss_family == AF_INET6) {
        a6 = (const struct sockaddr_in6 *)&a->sa;
        b6 = (const struct sockaddr_in6 *)&b->sa;
        return a6->sin6_port == b6->sin6_port &&
               memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
    }
    return false;
}

/* A name for records, metrics labels and logs: printable, bounded. */
static bool check_name(sr_cfg_ctx_t *ctx, const char *path, const sr_node_t *at, const char *s)
{
    const unsigned char *p;

    if (s[0] == '\0') {
        sr_cfg_error(ctx, at, "%s.name: must not be empty", path);
        return false;
    }
    if (strlen(s) > 128) {
        sr_cfg_error(ctx, at, "%s.name: is longer than 128 characters", path);
        return false;
    }
    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') {
            sr_cfg_error(ctx, at, "%s.name: must not contain control characters, '\"' or '\\'",
                         path);
            return false;
        }
    }
    return true;
}

/* The key scalar of `key` in a map (to point at the key, not its value). */
static const sr_node_t *key_of(const sr_node_t *map, const char *key)
{
    size_t i;

    for (i = 0; map != NULL && map->kind == SR_NODE_MAP && i < map->n; i++) {
        if (strcmp(map->keys[i]->value, key) == 0) {
            return map->keys[i];
        }
    }
    return NULL;
}

static const sr_node_t *pos_of(const sr_node_t *map, const char *key)
{
    const sr_node_t *n = sr_node_get(map, key);
    return n != NULL ? n : map;
}

/* ---- inputs -------------------------------------------------------- */

static bool in_list(const char *const *list, const char *s)
{
    size_t i;

    for (i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static bool input_takes(int type, const char *key)
{
    if (type < 0) {
        return true; /* the bad type is reported; do not add noise */
    }
    if (type == SR_INPUT_UDP && in_list(stream_only, key)) {
        return false;
    }
    return type == SR_INPUT_TLS || !in_list(tls_only, key);
}

/*
 * Apply the input table to inputs[idx] and build what the input needs
 * (time zone, TLS context). Cross-input checks come later.
 */
static void load_input(sr_cfg_ctx_t *ctx, sr_config_t *cfg, size_t idx, const sr_node_t *node)
{
    sr_input_conf_t *ic = &cfg->inputs[idx];
    sr_cfg_key_t keys[SR_ARRAY_SIZE(input_keys)];
    const char *skip[SR_ARRAY_SIZE(stream_only) + SR_ARRAY_SIZE(tls_only)];
    const char *tname, *name;
    char path[32], label[160], err[512];
    size_t nk = 0, ns = 0, i, before = ctx->n_errors;
    int type = -1, rc;

    ic->id = (int)idx;
    snprintf(path, sizeof(path), "inputs[%zu]", idx);
    name = scalar_of(node, "name");
    tname = scalar_of(node, "type");
    for (i = 0; tname != NULL && input_types[i] != NULL; i++) {
        if (strcmp(tname, input_types[i]) == 0) {
            type = (int)i;
        }
    }
    snprintf(label, sizeof(label), "%s%s%.128s", type >= 0 ? input_types[type] : "",
             type >= 0 ? " input " : "input ", name ? name : path);

    /* Keys the type does not take are refused by name, not as unknown. */
    for (i = 0; input_keys[i].name != NULL; i++) {
        if (input_takes(type, input_keys[i].name)) {
            keys[nk++] = input_keys[i];
            continue;
        }
        skip[ns++] = input_keys[i].name;
        if (key_of(node, input_keys[i].name) != NULL) {
            sr_cfg_error(ctx, key_of(node, input_keys[i].name),
                         "%s.%s: applies only to %s inputs, not to %s", path, input_keys[i].name,
                         in_list(tls_only, input_keys[i].name) ? "tls" : "tcp and tls",
                         input_types[type]);
        }
    }
    memset(&keys[nk], 0, sizeof(keys[nk]));
    skip[ns] = NULL;
    sr__cfg_apply_ex(ctx, path, label, keys, node, ic, skip, SR__CFG_SKIP_UNLISTED);
    if (node == NULL || node->kind != SR_NODE_MAP) {
        return;
    }
    if (ic->name != NULL) {
        check_name(ctx, path, sr_node_get(node, "name"), ic->name);
    } else if (type >= 0 && ic->listen.len > 0) {
        ic->name = sr_asprintf("%s-%u", input_types[type], (unsigned)addr_port(&ic->listen));
    }
    if (type == SR_INPUT_TLS) {
        if (sr_node_get(node, "cert_file") == NULL) {
            sr_cfg_error(ctx, node, "missing required key 'cert_file' in %s", label);
        }
        if (sr_node_get(node, "key_file") == NULL) {
            sr_cfg_error(ctx, node, "missing required key 'key_file' in %s", label);
        }
    }
    if (ic->timezone != NULL && !sr__node_reported(sr_node_get(node, "timezone"))) {
        err[0] = '\0';
        rc = sr_tz_load(ic->timezone, &ic->tz, err, sizeof(err));
        if (rc != 0) {
            ic->tz = NULL;
            sr_cfg_error(ctx, pos_of(node, "timezone"), "%s.timezone: %s", path,
                         err[0] ? err : sr_strerror(rc));
        }
    }
    if (type == SR_INPUT_TLS && ctx->n_errors == before && ic->cert_file && ic->key_file) {
        err[0] = '\0';
        rc = sr_tls_server_ctx_create(ic->cert_file, ic->key_file, ic->ca_file, &ic->tls, err,
                                      sizeof(err));
        if (rc != 0) {
            ic->tls = NULL;
            sr_cfg_error(ctx, pos_of(node, "cert_file"), "%s: cannot set up TLS: %s", path,
                         err[0] ? err : sr_strerror(rc));
        }
    }
}

/* Names unique; no two listeners of one socket kind on one address. */
static void check_inputs(sr_cfg_ctx_t *ctx, sr_config_t *cfg, const sr_node_t *seq)
{
    size_t i, j;
    sr_input_conf_t *a, *b;
    const sr_node_t *na, *nb;
    bool stream_a, stream_b;

    for (i = 0; i < cfg->n_inputs; i++) {
        a = &cfg->inputs[i];
        na = seq->items[i];
        for (j = 0; j < i; j++) {
            b = &cfg->inputs[j];
            nb = seq->items[j];
            if (a->name != NULL && b->name != NULL && strcmp(a->name, b->name) == 0) {
                sr_cfg_error(ctx, pos_of(na, "name"),
                             "inputs[%zu]: input name '%s' is already used by inputs[%zu] "
                             "(line %d); input names must be unique%s",
                             i, a->name, j, nb->line,
                             sr_node_get(na, "name") ? "" : " (set 'name' on one of them)");
                break;
            }
        }
        if (a->listen.len == 0 || addr_port(&a->listen) == 0) {
            continue;
        }
        stream_a = a->type != SR_INPUT_UDP;
        for (j = 0; j < i; j++) {
            b = &cfg->inputs[j];
            stream_b = b->type != SR_INPUT_UDP;
            if (b->listen.len != 0 && stream_a == stream_b && addr_same(&a->listen, &b->listen)) {
                sr_cfg_error(ctx, pos_of(seq->items[i], "listen"),
                             "inputs[%zu].listen: %s is already used by %s input '%s' "
                             "(inputs[%zu], line %d)",
                             i, a->listen.text, input_types[b->type], b->name ? b->name : "?", j,
                             seq->items[j]->line);
                break;
            }
        }
    }
}

/* ---- outputs ------------------------------------------------------- */

/* True if an input before i has the same name (listed once in messages). */
static bool name_before(const sr_config_t *cfg, size_t i)
{
    size_t j;

    for (j = 0; j < i; j++) {
        if (cfg->inputs[j].name != NULL && strcmp(cfg->inputs[j].name, cfg->inputs[i].name) == 0) {
            return true;
        }
    }
    return false;
}

static void load_output(sr_cfg_ctx_t *ctx, sr_config_t *cfg, size_t idx, const sr_node_t *node)
{
    sr_output_conf_t *oc = &cfg->outputs[idx];
    const sr_output_desc_t *desc = NULL;
    const sr_node_t *tn, *ln;
    const char *name;
    char path[32], bpath[48], label[160], blabel[200];
    sr_buf_t types;
    size_t i, j, before;
    bool found;

    oc->id = (int)idx;
    snprintf(path, sizeof(path), "outputs[%zu]", idx);
    name = scalar_of(node, "name");
    tn = sr_node_get(node, "type");
    if (tn != NULL && tn->kind == SR_NODE_SCALAR && !sr_node_is_null(tn)) {
        desc = sr_output_find(tn->value);
    }
    snprintf(label, sizeof(label), "%s%soutput %.128s", desc ? desc->name : "", desc ? " " : "",
             name ? name : path);
    sr__cfg_apply_ex(ctx, path, label, output_keys, node, oc, NULL, SR__CFG_NO_UNKNOWN);
    if (node == NULL || node->kind != SR_NODE_MAP) {
        return;
    }
    if (oc->name != NULL) {
        check_name(ctx, path, sr_node_get(node, "name"), oc->name);
    }
    snprintf(bpath, sizeof(bpath), "%s.buffer", path);
    snprintf(blabel, sizeof(blabel), "buffer of %s", label);
    sr__cfg_apply_ex(ctx, bpath, blabel, buffer_keys, sr_node_get(node, "buffer"), oc, NULL, 0);

    if (desc == NULL && oc->type != NULL && !sr__node_reported(tn)) {
        sr_buf_init(&types);
        for (i = 0; sr_output_at(i) != NULL; i++) {
            sr_buf_printf(&types, "%s%s", i ? ", " : "", sr_output_at(i)->name);
        }
        sr_buf_putc(&types, '\0');
        sr_cfg_error(ctx, tn, "%s.type: \"%.64s\" is not an output type; expected one of: %s",
                     path, oc->type, types.base);
        sr_buf_free(&types);
    }
    if (desc != NULL) {
        oc->desc = desc;
        oc->priv = sr_calloc(1, desc->conf_size ? desc->conf_size : 1);
        before = ctx->n_errors;
        sr__cfg_apply_ex(ctx, path, label, desc->keys, node, oc->priv, output_common, 0);
        if (desc->check != NULL && ctx->n_errors == before) {
            desc->check(ctx, node, oc->priv);
        }
    }

    /* Which inputs feed this output. */
    oc->input_allowed = sr_calloc(cfg->n_inputs ? cfg->n_inputs : 1, sizeof(bool));
    ln = sr_node_get(node, "inputs");
    for (i = 0; i < cfg->n_inputs && oc->inputs.n == 0; i++) {
        oc->input_allowed[i] = true;
    }
    for (j = 0; j < oc->inputs.n; j++) {
        found = false;
        for (i = 0; i < cfg->n_inputs; i++) {
            if (cfg->inputs[i].name != NULL && strcmp(cfg->inputs[i].name, oc->inputs.v[j]) == 0) {
                oc->input_allowed[i] = true;
                found = true;
            }
        }
        if (!found) {
            sr_buf_init(&types);
            for (i = 0; i < cfg->n_inputs; i++) {
                if (cfg->inputs[i].name != NULL && !name_before(cfg, i)) {
                    sr_buf_printf(&types, "%s%s", types.len ? ", " : "", cfg->inputs[i].name);
                }
            }
            sr_buf_putc(&types, '\0');
            sr_cfg_error(ctx, ln && ln->kind == SR_NODE_SEQ && j < ln->n ? ln->items[j] : ln,
                         "%s.inputs: there is no input named '%.128s'; inputs are: %s", path,
                         oc->inputs.v[j], types.base[0] ? types.base : "(none)");
            sr_buf_free(&types);
        }
    }
}

static void check_outputs(sr_cfg_ctx_t *ctx, sr_config_t *cfg, const sr_node_t *seq)
{
    size_t i, j;
    sr_output_conf_t *a, *b;
    const sr_node_t *bn;

    for (i = 0; i < cfg->n_outputs; i++) {
        a = &cfg->outputs[i];
        for (j = 0; j < i && a->name != NULL; j++) {
            b = &cfg->outputs[j];
            if (b->name != NULL && strcmp(a->name, b->name) == 0) {
                sr_cfg_error(ctx, pos_of(seq->items[i], "name"),
                             "outputs[%zu]: output name '%s' is already used by outputs[%zu] "
                             "(line %d); output names must be unique",
                             i, a->name, j, seq->items[j]->line);
                break;
            }
        }
        for (j = 0; j < i && a->disk_path != NULL; j++) {
            b = &cfg->outputs[j];
            if (b->disk_path != NULL && strcmp(a->disk_path, b->disk_path) == 0) {
                bn = sr_node_get(seq->items[i], "buffer");
                sr_cfg_error(ctx, pos_of(bn, "disk_path"),
                             "outputs[%zu].buffer.disk_path: %s is already the disk buffer of "
                             "outputs[%zu]; each output needs its own directory",
                             i, a->disk_path, j);
                break;
            }
        }
    }
}

/* ---- the whole configuration --------------------------------------- */

/* Load a section that must be a non-empty list; returns it or NULL. */
static const sr_node_t *section_list(sr_cfg_ctx_t *ctx, const sr_node_t *root, const char *key,
                                     const char *what)
{
    const sr_node_t *n = sr_node_get(root, key);

    if (n == NULL || sr_node_is_null(n)) {
        sr_cfg_error(ctx, n ? n : root, "no %s configured: '%s' needs at least one", what, key);
        return NULL;
    }
    if (sr__node_reported(n)) {
        return NULL;
    }
    if (n->kind != SR_NODE_SEQ) {
        sr_cfg_error(ctx, n, "%s: expected a list of %s, not %s", key, what,
                     n->kind == SR_NODE_MAP ? "a mapping" : "a scalar");
        return NULL;
    }
    if (n->n == 0) {
        sr_cfg_error(ctx, n, "no %s configured: '%s' needs at least one", what, key);
        return NULL;
    }
    return n;
}

static void build(sr_cfg_ctx_t *ctx, sr_config_t *cfg, const sr_node_t *root)
{
    const sr_node_t *inputs, *outputs, *redact, *metrics;
    char **names;
    size_t i;

    if (root == NULL || sr_node_is_null(root)) {
        sr_cfg_error(ctx, root, "the configuration is empty; it needs at least 'inputs' and "
                                "'outputs'");
        return;
    }
    if (root->kind != SR_NODE_MAP) {
        sr_cfg_error(ctx, root, "expected a mapping of sections (log_level, inputs, outputs, "
                                "...) at the top level, not %s",
                     root->kind == SR_NODE_SEQ ? "a list" : "a scalar");
        return;
    }
    sr__cfg_apply_ex(ctx, "", "the top level", top_keys, root, cfg, top_sections, 0);

    inputs = section_list(ctx, root, "inputs", "inputs");
    if (inputs != NULL) {
        cfg->n_inputs = inputs->n;
        cfg->inputs = sr_calloc(inputs->n, sizeof(*cfg->inputs));
        for (i = 0; i < inputs->n; i++) {
            load_input(ctx, cfg, i, inputs->items[i]);
        }
        check_inputs(ctx, cfg, inputs);
    }

    redact = sr_node_get(root, "redact");
    if (redact != NULL && !sr_node_is_null(redact) && !sr__node_reported(redact)) {
        if (redact->kind != SR_NODE_SEQ) {
            sr_cfg_error(ctx, redact, "redact: expected a list of rules, not %s",
                         redact->kind == SR_NODE_MAP ? "a mapping" : "a scalar");
        } else {
            names = sr_calloc(cfg->n_inputs ? cfg->n_inputs : 1, sizeof(char *));
            for (i = 0; i < cfg->n_inputs; i++) {
                names[i] = cfg->inputs[i].name ? cfg->inputs[i].name : "";
            }
            if (sr_redactor_load(ctx, redact, names, cfg->n_inputs, &cfg->redactor) != 0) {
                cfg->redactor = NULL;
            }
            sr_free(names);
        }
    }

    outputs = section_list(ctx, root, "outputs", "outputs");
    if (outputs != NULL) {
        cfg->n_outputs = outputs->n;
        cfg->outputs = sr_calloc(outputs->n, sizeof(*cfg->outputs));
        for (i = 0; i < outputs->n; i++) {
            load_output(ctx, cfg, i, outputs->items[i]);
        }
        check_outputs(ctx, cfg, outputs);
    }

    metrics = sr_node_get(root, "metrics");
    if (metrics != NULL && !sr_node_is_null(metrics)) {
        i = ctx->n_errors;
        sr__cfg_apply_ex(ctx, "metrics", "metrics", metrics_keys, metrics, cfg, NULL, 0);
        cfg->metrics_enabled = ctx->n_errors == i;
    }
}

static int finish(sr_cfg_ctx_t *ctx, const char *name, sr_node_t *root, size_t before,
                  sr_config_t **out)
{
    sr_config_t *cfg = sr_calloc(1, sizeof(*cfg));

    cfg->file = sr_strdup(name);
    build(ctx, cfg, root);
    sr__node_free(root);
    sr__cfg_sort_errors(ctx, before);
    if (ctx->n_errors > before) {
        sr_config_free(cfg);
        *out = NULL;
        return SR_ECONFIG;
    }
    *out = cfg;
    return 0;
}

int sr_config_load_string(const char *yaml, const char *name, sr_config_t **out,
                          sr_cfg_ctx_t *ctx)
{
    sr_node_t *root = NULL;
    size_t before = ctx->n_errors;

    *out = NULL;
    if (name == NULL) {
        name = "<string>";
    }
    if (ctx->file == NULL) {
        ctx->file = name;
    }
    if (sr__yaml_parse(ctx, yaml, strlen(yaml), &root) != 0) {
        return SR_ECONFIG;
    }
    return finish(ctx, name, root, before, out);
}

int sr_config_load(const char *file, sr_config_t **out, sr_cfg_ctx_t *ctx)
{
    sr_node_t *root = NULL;
    size_t before = ctx->n_errors;

    *out = NULL;
    if (file == NULL) {
        return sr_config_load_string(sr_config_default_yaml, "<default>", out, ctx);
    }
    if (ctx->file == NULL) {
        ctx->file = file;
    }
    if (sr__yaml_load_file(ctx, file, &root) != 0) {
        return SR_ECONFIG;
    }
    return finish(ctx, file, root, before, out);
}

void sr_config_free(sr_config_t *cfg)
{
    size_t i;
    sr_input_conf_t *ic;
    sr_output_conf_t *oc;

    if (cfg == NULL) {
        return;
    }
    for (i = 0; i < cfg->n_inputs; i++) {
        ic = &cfg->inputs[i];
        if (ic->tz != NULL) {
            sr_tz_free(ic->tz);
        }
        if (ic->tls != NULL) {
            sr_tls_ctx_free(ic->tls);
        }
        sr_cfg_release(input_keys, ic);
    }
    sr_free(cfg->inputs);
    for (i = 0; i < cfg->n_outputs; i++) {
        oc = &cfg->outputs[i];
        if (oc->desc != NULL && oc->priv != NULL) {
            if (oc->desc->conf_free != NULL) {
                oc->desc->conf_free(oc->priv);
            }
            sr_cfg_release(oc->desc->keys, oc->priv);
        }
        sr_free(oc->priv);
        sr_free(oc->input_allowed);
        sr_cfg_release(output_keys, oc);
        sr_cfg_release(buffer_keys, oc);
    }
    sr_free(cfg->outputs);
    if (cfg->redactor != NULL) {
        sr_redactor_free(cfg->redactor);
    }
    sr_free(cfg->file);
    sr_free(cfg);
}

/* ---- reference ------------------------------------------------------ */

void sr_config_print_reference(FILE *f)
{
    const sr_output_desc_t *d;
    size_t i;

    fprintf(f, "## Top level\n\n");
    sr__cfg_print_table(f, top_keys, NULL);
    fprintf(f, "Sections: `inputs` (a list, at least one), `redact` (a list of rules, "
               "optional), `outputs` (a list, at least one), `metrics` (optional).\n\n");
    fprintf(f, "## inputs[]\n\n");
    sr__cfg_print_table(f, input_keys, NULL);
    fprintf(f, "## outputs[]: keys every output takes\n\n");
    sr__cfg_print_table(f, output_keys, NULL);
    fprintf(f, "`type` is one of:");
    for (i = 0; (d = sr_output_at(i)) != NULL; i++) {
        fprintf(f, "%s `%s`", i ? "," : "", d->name);
    }
    fprintf(f, ".\n\n### outputs[].buffer\n\n");
    sr__cfg_print_table(f, buffer_keys, "buffer.");
    for (i = 0; (d = sr_output_at(i)) != NULL; i++) {
        fprintf(f, "## outputs[] of type `%s`\n\n%s\n\n", d->name,
                d->description ? d->description : "");
        if (d->keys == NULL || d->keys[0].name == NULL) {
            fprintf(f, "(no keys of its own)\n\n");
            continue;
        }
        sr__cfg_print_table(f, d->keys, NULL);
    }
    fprintf(f, "## redact[]\n\n");
    sr__cfg_print_table(f, sr_redact_rule_keys, NULL);
    if (sr_redact_builtin_names[0] != NULL) {
        fprintf(f, "Built-in rules (`builtin:`):");
        for (i = 0; sr_redact_builtin_names[i] != NULL; i++) {
            fprintf(f, "%s `%s`", i ? "," : "", sr_redact_builtin_names[i]);
        }
        fprintf(f, ".\n\n");
    } else {
        fprintf(f, "See the redaction section above.\n\n");
    }
    fprintf(f, "## metrics\n\n");
    sr__cfg_print_table(f, metrics_keys, NULL);
}
