/*
 * config.h: the configuration, its YAML loader and the key-table engine.
 *
 * Loading has two phases. sr_config_load() builds and validates a fresh,
 * immutable sr_config_t: it reads YAML with libyaml (keeping each node's
 * line and column), substitutes ${NAME} and ${NAME:-default}, applies each
 * module's key table, compiles redaction rules, loads certificates and
 * time zones, but binds and opens nothing. Every problem is collected as
 * "FILE:LINE:COLUMN: message". The caller then activates the config (or,
 * for --check and SIGHUP, only reports).
 *
 * Each module owns a key table (sr_cfg_key_t[]) describing its keys:
 * name, type, default, bounds, offset into the module's struct and a one-
 * line description. The engine applies defaults and bounds, and rejects
 * unknown keys. The descriptions are the source of docs/config.md.
 */
#ifndef SR_CONFIG_H
#define SR_CONFIG_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include "../relay/common.h"

/* ---- YAML nodes ---------------------------------------------------- */

typedef enum sr_node_kind_e {
    SR_NODE_SCALAR = 0,
    SR_NODE_MAP,
    SR_NODE_SEQ,
} sr_node_kind_t;

typedef struct sr_node_s sr_node_t;
struct sr_node_s {
    sr_node_kind_t kind;
    int line; /* 1-based, as an editor shows them */
    int col;
    char *value;       /* SCALAR: text after ${ENV} substitution */
    bool plain;        /* SCALAR: unquoted (so "null", "~" and "" mean null) */
    size_t n;          /* MAP: pairs; SEQ: items */
    sr_node_t **keys;  /* MAP: key scalars */
    sr_node_t **items; /* MAP: values; SEQ: items */
};

/* Look up a key in a MAP node; NULL if absent or node is not a map. */
const sr_node_t *sr_node_get(const sr_node_t *map, const char *key);
/* True for a null scalar (~, null, empty plain). */
bool sr_node_is_null(const sr_node_t *n);

/* ---- errors -------------------------------------------------------- */

typedef struct sr_cfg_ctx_s {
    const char *file; /* as named on the command line, or "<default>" */
    char **errors;    /* "FILE:LINE:COLUMN: message" */
    size_t n_errors;
} sr_cfg_ctx_t;

void sr_cfg_ctx_init(sr_cfg_ctx_t *ctx, const char *file);
void sr_cfg_ctx_free(sr_cfg_ctx_t *ctx);
/* Record an error at a node's position (at may be NULL: line 1, column 1). */
void sr_cfg_error(sr_cfg_ctx_t *ctx, const sr_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- value types --------------------------------------------------- */

typedef struct sr_addr_s {
    struct sockaddr_storage sa;
    socklen_t len;
    char text[72]; /* as configured, e.g. "0.0.0.0:514" or "[::1]:6514" */
} sr_addr_t;

typedef struct sr_strlist_s {
    char **v;
    size_t n;
} sr_strlist_t;

/* Parse "HOST:PORT" / "[V6]:PORT" with a numeric host. 0 or SR_ECONFIG. */
int sr_addr_parse(const char *s, sr_addr_t *out);

typedef enum sr_cfg_type_e {
    SR_CFG_STRING = 0, /* char *  (NULL when absent and no default) */
    SR_CFG_INT,        /* int64_t, within [min, max] */
    SR_CFG_BOOL,       /* bool */
    SR_CFG_SIZE,       /* uint64_t bytes; "64KiB", "1MiB", "2GiB", plain bytes */
    SR_CFG_DURATION,   /* uint64_t milliseconds; "250ms", "10s", "5m" */
    SR_CFG_ENUM,       /* int, the index into `choices` */
    SR_CFG_ADDRESS,    /* sr_addr_t */
    SR_CFG_STRLIST,    /* sr_strlist_t; a sequence of scalars */
    SR_CFG_PATH,       /* char *; must name a readable file */
    SR_CFG_SEVERITY,   /* int 0-7; a name (emerg..debug, warning/warn, err/error, crit, info, notice) or number */
    SR_CFG_CUSTOM,     /* parsed by `parse` */
} sr_cfg_type_t;

enum {
    SR_CFG_REQUIRED = 1 << 0, /* an error when absent */
    SR_CFG_SECRET = 1 << 1,   /* never echo the value in a message */
};

typedef struct sr_cfg_key_s {
    const char *name;
    sr_cfg_type_t type;
    const char *def; /* default as YAML scalar text; NULL: absent by default */
    int64_t min;     /* bounds for INT, SIZE, DURATION (0, 0: unbounded) */
    int64_t max;
    size_t offset;   /* of the field in the module's struct */
    const char *const *choices; /* ENUM: NULL-terminated names */
    int (*parse)(sr_cfg_ctx_t *ctx, const sr_node_t *node, void *field); /* CUSTOM */
    unsigned flags;
    const char *desc;
} sr_cfg_key_t;

/*
 * Apply a key table to a MAP node: every key of the table gets its value
 * or default into the struct at `st`; a key of the map not in the table
 * and not listed in `skip` (NULL-terminated, may be NULL) is an error
 * "unknown key 'x' in <what>; expected one of: ...". Returns the number
 * of errors added. node may be NULL (all defaults).
 */
int sr_cfg_apply(sr_cfg_ctx_t *ctx, const char *what, const sr_cfg_key_t *keys,
                 const sr_node_t *node, void *st, const char *const *skip);

/* Free what sr_cfg_apply allocated in st (strings, lists). */
void sr_cfg_release(const sr_cfg_key_t *keys, void *st);

/* Parse a size or duration scalar; 0 or SR_ECONFIG. */
int sr_cfg_parse_size(const char *s, uint64_t *out);
int sr_cfg_parse_duration(const char *s, uint64_t *ms);
/* Severity by name or number; -1 if invalid. */
int sr_severity_from_name(const char *s);

/* ---- the configuration --------------------------------------------- */

struct sr_tz_s;
struct sr_tls_ctx_s;
struct sr_redactor_s;
struct sr_output_desc_s;

typedef enum sr_input_type_e {
    SR_INPUT_UDP = 0,
    SR_INPUT_TCP,
    SR_INPUT_TLS,
} sr_input_type_t;

typedef struct sr_input_conf_s {
    char *name;              /* default "<type>-<port>" */
    int type;                /* sr_input_type_t */
    sr_addr_t listen;
    int format;              /* sr_parse_mode_t */
    char *timezone;
    uint64_t max_message_size;
    int framing;             /* sr_framing_t */
    bool proxy_protocol;
    int64_t max_connections;
    uint64_t idle_timeout_ms;
    uint64_t handshake_timeout_ms; /* TLS handshake and PROXY header */
    char *cert_file;
    char *key_file;
    char *ca_file;
    /* Built by the loader: */
    struct sr_tz_s *tz;            /* NULL for UTC */
    struct sr_tls_ctx_s *tls;      /* tls inputs */
    int id;                        /* index in sr_config_t.inputs */
} sr_input_conf_t;

typedef struct sr_output_conf_s {
    char *name;
    char *type;
    int min_severity;        /* 0-7; records with severity > this are not sent */
    sr_strlist_t inputs;     /* empty: every input */
    uint64_t max_memory;     /* buffer.max_memory */
    uint64_t flow_window;    /* buffer.flow_window */
    char *disk_path;         /* buffer.disk_path */
    uint64_t max_disk;       /* buffer.max_disk */
    /* Built by the loader: */
    const struct sr_output_desc_s *desc;
    void *priv;              /* desc->conf_size bytes, filled by desc->keys */
    bool *input_allowed;     /* [n_inputs]; which inputs feed this output */
    int id;
} sr_output_conf_t;

typedef struct sr_config_s {
    char *file;
    int log_level;           /* sr_log_level_t */
    int64_t workers;         /* input threads; 0 = one per core */
    uint64_t shutdown_timeout_ms;
    sr_input_conf_t *inputs;
    size_t n_inputs;
    sr_output_conf_t *outputs;
    size_t n_outputs;
    struct sr_redactor_s *redactor; /* NULL when no rules */
    bool metrics_enabled;
    sr_addr_t metrics_listen;
} sr_config_t;

/* The embedded default (INTERFACE.md): udp and tcp on 0.0.0.0:5514,
 * file output to stdout as json. */
extern const char sr_config_default_yaml[];

/*
 * Load and validate. file NULL means the embedded default. On success
 * returns 0 and *out; otherwise SR_ECONFIG with every problem in ctx.
 */
int sr_config_load(const char *file, sr_config_t **out, sr_cfg_ctx_t *ctx);

/* Same, from YAML text in memory (tests); `name` is used in messages. */
int sr_config_load_string(const char *yaml, const char *name, sr_config_t **out, sr_cfg_ctx_t *ctx);

void sr_config_free(sr_config_t *cfg);

/* Print every module's keys as Markdown (the source of docs/config.md). */
void sr_config_print_reference(FILE *f);

#endif
