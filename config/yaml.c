/*
 * yaml.c: reads a configuration file into an sr_node_t tree.
 *
 * libyaml's event parser drives an explicit stack (no recursion), so a
 * deeply nested file cannot exhaust the C stack. Every node keeps the
 * 1-based line and column an editor shows (libyaml's marks are 0-based).
 * The file is bounded in size, node count and depth (internal.h).
 *
 * What a configuration cannot be is refused here: aliases (*name), keys
 * that are not scalars, the same key twice in one mapping, and more than
 * one document. Anchors (&name) alone are harmless and ignored.
 *
 * Every scalar, keys included, gets ${NAME} and ${NAME:-default}
 * substituted from the environment ("$${" writes a literal "${"; any
 * other "$" is literal). The default applies when NAME is unset or empty.
 * The tree owns all its strings; sr__node_free() releases it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

#include "internal.h"

const sr_node_t *sr_node_get(const sr_node_t *map, const char *key)
{
    size_t i;

    if (map == NULL || map->kind != SR_NODE_MAP) {
        return NULL;
    }
    for (i = 0; i < map->n; i++) {
        if (map->keys[i]->value != NULL && strcmp(map->keys[i]->value, key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

bool sr_node_is_null(const sr_node_t *n)
{
    if (n == NULL || n->kind != SR_NODE_SCALAR || !n->plain) {
        return false;
    }
    return n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

void sr__node_free(sr_node_t *n)
{
    size_t i;

    if (n == NULL) {
        return;
    }
    if (n->kind != SR_NODE_SCALAR) {
        for (i = 0; i < n->n; i++) {
            if (n->keys != NULL) {
                sr__node_free(n->keys[i]);
            }
            sr__node_free(n->items[i]);
        }
    }
    sr_free(n->keys);
    sr_free(n->items);
    sr_free(n->value);
    sr_free(n);
}

static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/*
 * Substitute ${NAME} and ${NAME:-default} in in[0..len). Returns the new
 * text (caller frees), or NULL after reporting the problem at line:col.
 */
static char *substitute(sr_cfg_ctx_t *ctx, const char *in, size_t len, int line, int col)
{
    sr_buf_t b;
    size_t i = 0, j, name_len;
    const char *close, *val, *def;
    char *name;

    sr_buf_init(&b);
    while (i < len) {
        if (in[i] == '$' && i + 2 < len && in[i + 1] == '$' && in[i + 2] == '{') {
            sr_buf_append(&b, "${", 2);
            i += 3;
            continue;
        }
        if (in[i] != '$' || i + 1 >= len || in[i + 1] != '{') {
            sr_buf_putc(&b, in[i++]);
            continue;
        }
        close = memchr(in + i + 2, '}', len - i - 2);
        if (close == NULL) {
            sr__cfg_error_at(ctx, line, col,
                             "unterminated '${' (write '$${' for a literal '${')");
            goto fail;
        }
        j = i + 2;
        while (in + j < close && name_char(in[j])) {
            j++;
        }
        name_len = j - (i + 2);
        def = NULL;
        if (name_len > 0 && in + j + 1 < close && in[j] == ':' && in[j + 1] == '-') {
            def = in + j + 2;
        } else if (in + j != close) {
            def = NULL;
            name_len = 0;
        }
        if (name_len == 0 || !name_start(in[i + 2])) {
            sr__cfg_error_at(ctx, line, col,
                             "invalid reference '%.*s': expected ${NAME} or ${NAME:-default} "
                             "(write '$${' for a literal '${')",
                             (int)SR_MIN((size_t)(close - (in + i) + 1), 64), in + i);
            goto fail;
        }
        name = sr_strndup(in + i + 2, name_len);
        val = getenv(name);
        if (def != NULL && (val == NULL || val[0] == '\0')) {
            sr_buf_append(&b, def, (size_t)(close - def));
        } else if (val == NULL) {
            sr__cfg_error_at(ctx, line, col, "environment variable %s is not set", name);
            sr_free(name);
            goto fail;
        } else {
            sr_buf_puts(&b, val);
        }
        sr_free(name);
        if (b.len > SR__YAML_MAX_SCALAR) {
            sr__cfg_error_at(ctx, line, col, "value is longer than %u bytes after substitution",
                             SR__YAML_MAX_SCALAR);
            goto fail;
        }
        i = (size_t)(close - in) + 1;
    }
    sr_buf_putc(&b, '\0');
    return b.base;

fail:
    sr_buf_free(&b);
    return NULL;
}

/* Line and column (1-based) of a byte offset, for reader errors. */
static void offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void report_parser_error(sr_cfg_ctx_t *ctx, const yaml_parser_t *p, const char *text,
                                size_t len)
{
    int line, col;
    const char *problem = p->problem ? p->problem : "unknown error";

    if (p->error == YAML_READER_ERROR) {
        offset_pos(text, len, p->problem_offset, &line, &col);
        sr__cfg_error_at(ctx, line, col, "YAML syntax error: %s", problem);
        return;
    }
    if (p->error == YAML_MEMORY_ERROR) {
        sr__cfg_error_at(ctx, 1, 1, "YAML parser out of memory");
        return;
    }
    line = (int)p->problem_mark.line + 1;
    col = (int)p->problem_mark.column + 1;
    if (p->context != NULL) {
        sr__cfg_error_at(ctx, line, col, "YAML syntax error: %s (%s at line %d, column %d)",
                         problem, p->context, (int)p->context_mark.line + 1,
                         (int)p->context_mark.column + 1);
    } else {
        sr__cfg_error_at(ctx, line, col, "YAML syntax error: %s", problem);
    }
}

static sr_node_t *node_new(sr_node_kind_t kind, const yaml_mark_t *m)
{
    sr_node_t *n = sr_calloc(1, sizeof(*n));

    n->kind = kind;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

/* Append a child to a container (MAP: key when *pending is NULL). */
typedef struct frame_s {
    sr_node_t *node;
    sr_node_t *pending_key; /* MAP: key read, value not yet */
    size_t cap;
} frame_t;

static void push_item(frame_t *f, sr_node_t *key, sr_node_t *item)
{
    sr_node_t *c = f->node;

    if (c->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        c->items = sr_realloc(c->items, f->cap * sizeof(*c->items));
        if (c->kind == SR_NODE_MAP) {
            c->keys = sr_realloc(c->keys, f->cap * sizeof(*c->keys));
        }
    }
    if (c->kind == SR_NODE_MAP) {
        c->keys[c->n] = key;
    }
    c->items[c->n++] = item;
}

/*
 * Attach a finished or started node to the parent on top of the stack.
 * Returns false when the tree cannot go on (non-scalar key).
 */
static bool attach(sr_cfg_ctx_t *ctx, frame_t *stack, int depth, sr_node_t **root, sr_node_t *n)
{
    frame_t *top;
    sr_node_t *dup;
    size_t i;

    if (depth == 0) {
        *root = n;
        return true;
    }
    top = &stack[depth - 1];
    if (top->node->kind == SR_NODE_SEQ) {
        push_item(top, NULL, n);
        return true;
    }
    if (top->pending_key == NULL) {
        if (n->kind != SR_NODE_SCALAR) {
            sr_cfg_error(ctx, n, "a mapping key must be a plain string, not a %s",
                         n->kind == SR_NODE_MAP ? "mapping" : "list");
            sr__node_free(n);
            return false;
        }
        for (i = 0; i < top->node->n; i++) {
            dup = top->node->keys[i];
            if (n->value != NULL && dup->value != NULL && strcmp(dup->value, n->value) == 0) {
                sr_cfg_error(ctx, n, "duplicate key '%s' (first at line %d, column %d)",
                             n->value, dup->line, dup->col);
                break;
            }
        }
        top->pending_key = n;
        return true;
    }
    push_item(top, top->pending_key, n);
    top->pending_key = NULL;
    return true;
}

int sr__yaml_parse(sr_cfg_ctx_t *ctx, const char *text, size_t len, sr_node_t **out)
{
    yaml_parser_t p;
    yaml_event_t ev;
    frame_t stack[SR__YAML_MAX_DEPTH];
    sr_node_t *root = NULL, *n;
    int depth = 0, docs = 0, nodes = 0, rc = SR_ECONFIG, i;
    bool done = false;
    char *v;

    *out = NULL;
    memset(stack, 0, sizeof(stack));
    if (len > SR__YAML_MAX_BYTES) {
        sr__cfg_error_at(ctx, 1, 1, "configuration is larger than %u MiB",
                         SR__YAML_MAX_BYTES >> 20);
        return SR_ECONFIG;
    }
    if (!yaml_parser_initialize(&p)) {
        sr__cfg_error_at(ctx, 1, 1, "cannot initialise the YAML parser");
        return SR_ECONFIG;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);

    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            report_parser_error(ctx, &p, text, len);
            goto out;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                sr__cfg_error_at(ctx, (int)ev.start_mark.line + 1,
                                 (int)ev.start_mark.column + 1,
                                 "only one YAML document is allowed in a configuration");
                yaml_event_delete(&ev);
                goto out;
            }
            break;
        case YAML_ALIAS_EVENT:
            sr__cfg_error_at(ctx, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                             "YAML aliases (*%s) are not supported; write the value out",
                             (const char *)ev.data.alias.anchor);
            yaml_event_delete(&ev);
            goto out;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++nodes > SR__YAML_MAX_NODES) {
                sr__cfg_error_at(ctx, (int)ev.start_mark.line + 1,
                                 (int)ev.start_mark.column + 1,
                                 "configuration has more than %d nodes", SR__YAML_MAX_NODES);
                yaml_event_delete(&ev);
                goto out;
            }
            if (ev.type == YAML_SCALAR_EVENT) {
                n = node_new(SR_NODE_SCALAR, &ev.start_mark);
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                v = substitute(ctx, (const char *)ev.data.scalar.value, ev.data.scalar.length,
                               n->line, n->col);
                if (v == NULL) {
                    /* Reported; keep the node so the structure stays whole. */
                    v = sr_strdup("");
                    n->n = SR__NODE_REPORTED;
                    n->plain = false;
                }
                n->value = v;
                if (!attach(ctx, stack, depth, &root, n)) {
                    yaml_event_delete(&ev);
                    goto out;
                }
                break;
            }
            if (depth == SR__YAML_MAX_DEPTH) {
                sr__cfg_error_at(ctx, (int)ev.start_mark.line + 1,
                                 (int)ev.start_mark.column + 1,
                                 "configuration is nested more than %d levels deep",
                                 SR__YAML_MAX_DEPTH);
                yaml_event_delete(&ev);
                goto out;
            }
            n = node_new(ev.type == YAML_MAPPING_START_EVENT ? SR_NODE_MAP : SR_NODE_SEQ,
                         &ev.start_mark);
            /* Attach now (the parent owns it from here, so cleanup is simple);
             * keep filling it through the stack. */
            if (!attach(ctx, stack, depth, &root, n)) {
                yaml_event_delete(&ev);
                goto out;
            }
            stack[depth].node = n;
            stack[depth].pending_key = NULL;
            stack[depth].cap = 0;
            depth++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    rc = 0;

out:
    /* A map's key read without its value (only on early exit). */
    for (i = 0; i < depth; i++) {
        sr__node_free(stack[i].pending_key);
    }
    yaml_parser_delete(&p);
    if (rc != 0) {
        sr__node_free(root);
        return rc;
    }
    *out = root;
    return 0;
}

int sr__yaml_load_file(sr_cfg_ctx_t *ctx, const char *file, sr_node_t **out)
{
    FILE *f;
    sr_buf_t b;
    size_t got;
    int rc, err;

    *out = NULL;
    f = fopen(file, "rb");
    if (f == NULL) {
        sr__cfg_error_at(ctx, 1, 1, "cannot read configuration: %s", strerror(errno));
        return SR_ECONFIG;
    }
    sr_buf_init(&b);
    for (;;) {
        sr_buf_reserve(&b, 65536);
        got = fread(b.base + b.len, 1, 65536, f);
        b.len += got;
        if (b.len > SR__YAML_MAX_BYTES) {
            fclose(f);
            sr_buf_free(&b);
            sr__cfg_error_at(ctx, 1, 1, "configuration is larger than %u MiB",
                             SR__YAML_MAX_BYTES >> 20);
            return SR_ECONFIG;
        }
        if (got < 65536) {
            break;
        }
    }
    if (ferror(f)) {
        err = errno;
        fclose(f);
        sr_buf_free(&b);
        sr__cfg_error_at(ctx, 1, 1, "cannot read configuration: %s", strerror(err));
        return SR_ECONFIG;
    }
    fclose(f);
    rc = sr__yaml_parse(ctx, b.base, b.len, out);
    sr_buf_free(&b);
    return rc;
}
