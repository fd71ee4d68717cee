/*
 * internal.h: what the files of config/ share and nobody else needs.
 *
 * yaml.c builds the sr_node_t tree; engine.c applies key tables to it and
 * formats errors; config.c holds the schema. Names here use sr__.
 */
#ifndef SR_CONFIG_INTERNAL_H
#define SR_CONFIG_INTERNAL_H

#include "config.h"

/* Limits on what a configuration file may be (a hostile file must not
 * exhaust memory or the stack). */
#define SR__YAML_MAX_BYTES (4u << 20)   /* whole file */
#define SR__YAML_MAX_NODES 10000        /* scalars, maps and lists */
#define SR__YAML_MAX_DEPTH 64           /* nesting of maps and lists */
#define SR__YAML_MAX_SCALAR (1u << 20)  /* one scalar after ${ENV} substitution */

/*
 * A scalar whose problem the loader already reported (an unset ${NAME})
 * is marked with n == SR__NODE_REPORTED (n is otherwise unused for
 * scalars); the engine treats it as invalid without a second message.
 */
#define SR__NODE_REPORTED 1
static inline bool sr__node_reported(const sr_node_t *n)
{
    return n != NULL && n->kind == SR_NODE_SCALAR && n->n == SR__NODE_REPORTED;
}

/*
 * Parse YAML text (len bytes, need not be NUL-terminated) into a tree.
 * Problems go to ctx. Returns 0 and *out (NULL for an empty document),
 * or SR_ECONFIG and *out NULL when no tree could be built (syntax error,
 * limits). Problems that leave a usable tree (duplicate key, unset
 * ${NAME}) are reported and still return 0: the caller keeps validating
 * to report everything at once, and checks ctx->n_errors.
 */
int sr__yaml_parse(sr_cfg_ctx_t *ctx, const char *text, size_t len, sr_node_t **out);

/* Read FILE (at most SR__YAML_MAX_BYTES) and parse it as above. */
int sr__yaml_load_file(sr_cfg_ctx_t *ctx, const char *file, sr_node_t **out);

void sr__node_free(sr_node_t *n);

/* Record an error at an explicit 1-based position. */
void sr__cfg_error_at(sr_cfg_ctx_t *ctx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Order the errors added since index `from` by line and column (stable),
 * so --check lists them in file order. */
void sr__cfg_sort_errors(sr_cfg_ctx_t *ctx, size_t from);

enum {
    SR__CFG_NO_UNKNOWN = 1 << 0,   /* do not report unknown keys (another table will) */
    SR__CFG_SKIP_UNLISTED = 1 << 1 /* names in skip are not offered as "expected" */
};

/*
 * sr_cfg_apply with separate wording: `path` prefixes value errors
 * ("inputs[0].listen: ..."; "" at the top level) and `label` names the
 * section in unknown/missing key errors ("input udp-in").
 */
int sr__cfg_apply_ex(sr_cfg_ctx_t *ctx, const char *path, const char *label,
                     const sr_cfg_key_t *keys, const sr_node_t *node, void *st,
                     const char *const *skip, unsigned flags);

/* Human text for a key's type, and its default, for docs and messages. */
const char *sr__cfg_type_name(const sr_cfg_key_t *k, char *buf, size_t len);
/* Write a size / duration the way a user would write it ("64MiB", "10s"). */
void sr__fmt_size(uint64_t v, char *buf, size_t len);
void sr__fmt_duration(uint64_t ms, char *buf, size_t len);
/* Print one key table as Markdown rows. prefix is put before each key name. */
void sr__cfg_print_table(FILE *f, const sr_cfg_key_t *keys, const char *prefix);

#endif
