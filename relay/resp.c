/*
 * resp.c: the RESP2 command encoder and incremental reply parser (see
 * resp.h). Written here rather than taken from hiredis because Debian's
 * hiredis 0.14 has no TLS, and the Redis output talks over the relay's own
 * plain-or-TLS connection; the protocol subset a producer needs is small.
 *
 * The parser owns its input buffer and the reply nodes it is building.
 * Bytes that became nodes are dropped from the buffer, so a reply split
 * across many reads is never scanned twice; memory is bounded by the
 * limits (one line, or one bulk body, plus the nodes of one reply).
 */
#include <stdio.h>
#include <stdlib.h>

#include "resp.h"

const sr_resp_limits_t sr_resp_default_limits = {
    .max_line = 64 * 1024,
    .max_bulk = 64 * 1024 * 1024,
    .max_elems = 1024 * 1024,
    .max_depth = 8,
};

/* ---- encoder ------------------------------------------------------- */

void sr_resp_cmd(sr_buf_t *out, size_t argc)
{
    sr_buf_printf(out, "*%zu\r\n", argc);
}

void sr_resp_arg_begin(sr_buf_t *out, size_t n)
{
    sr_buf_printf(out, "$%zu\r\n", n);
}

void sr_resp_arg_end(sr_buf_t *out)
{
    sr_buf_append(out, "\r\n", 2);
}

void sr_resp_arg(sr_buf_t *out, const void *p, size_t n)
{
    sr_buf_reserve(out, n + 24);
    sr_resp_arg_begin(out, n);
    sr_buf_append(out, p, n);
    sr_resp_arg_end(out);
}

void sr_resp_arg_str(sr_buf_t *out, const char *s)
{
    sr_resp_arg(out, s, strlen(s));
}

void sr_resp_arg_int(sr_buf_t *out, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);

    sr_resp_arg(out, tmp, (size_t)n);
}

void sr_resp_command(sr_buf_t *out, size_t argc, const char *const *argv)
{
    size_t i;

    sr_resp_cmd(out, argc);
    for (i = 0; i < argc; i++) {
        sr_resp_arg_str(out, argv[i]);
    }
}

/* ---- replies ------------------------------------------------------- */

void sr_resp_reply_free(sr_resp_reply_t *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    if (r->elems != NULL) {
        for (i = 0; i < r->n_elems; i++) {
            sr_resp_reply_free(r->elems[i]);
        }
        free(r->elems);
    }
    free(r->str);
    free(r);
}

/* ---- parser -------------------------------------------------------- */

void sr_resp_parser_init(sr_resp_parser_t *p, const sr_resp_limits_t *lim)
{
    memset(p, 0, sizeof(*p));
    p->lim = lim ? *lim : sr_resp_default_limits;
    if (p->lim.max_depth == 0) {
        p->lim.max_depth = 1;
    }
    sr_buf_init(&p->in);
    p->bulk_len = -1;
    p->stack = sr_calloc(p->lim.max_depth, sizeof(*p->stack));
}

/* Free the half-built reply: the outermost open array owns the rest. */
static void drop_partial(sr_resp_parser_t *p)
{
    if (p->depth > 0) {
        sr_resp_reply_free(p->stack[0].array);
    }
    p->depth = 0;
}

void sr_resp_parser_reset(sr_resp_parser_t *p)
{
    drop_partial(p);
    sr_buf_reset(&p->in);
    p->pos = 0;
    p->bulk_len = -1;
    p->error = 0;
    p->why = NULL;
}

void sr_resp_parser_free(sr_resp_parser_t *p)
{
    drop_partial(p);
    sr_buf_free(&p->in);
    free(p->stack);
    p->stack = NULL;
}

void sr_resp_feed(sr_resp_parser_t *p, const char *data, size_t len)
{
    if (p->error != 0 || len == 0) {
        return;
    }
    /* Drop what was already parsed before growing the buffer. */
    if (p->pos > 0) {
        sr_buf_consume(&p->in, p->pos);
        p->pos = 0;
    }
    sr_buf_append(&p->in, data, len);
}

static int fail(sr_resp_parser_t *p, const char *why)
{
    drop_partial(p);
    p->error = SR_EPARSE;
    p->why = why;
    return SR_EPARSE;
}

/* A strict decimal int64: optional '-', at least one digit, nothing else. */
static int parse_int(const char *s, size_t n, int64_t *out)
{
    bool neg = false;
    uint64_t v = 0;
    uint64_t limit;
    size_t i = 0;

    if (n > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n) {
        return -1;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (neg) {
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        *out = (int64_t)v;
    }
    return 0;
}

/*
 * Find the line starting at p->pos. Returns 1 with its length in *n
 * (CRLF excluded), 0 if incomplete, or SR_EPARSE.
 */
static int find_line(sr_resp_parser_t *p, size_t *n)
{
    const char *s = p->in.base + p->pos;
    size_t avail = p->in.len - p->pos;
    size_t look = SR_MIN(avail, p->lim.max_line + 2);
    const char *cr = memchr(s, '\r', look);

    if (cr == NULL) {
        if (avail >= p->lim.max_line + 2) {
            return fail(p, "reply line too long");
        }
        return 0;
    }
    if ((size_t)(cr - s) + 1 >= avail) {
        return 0;
    }
    if (cr[1] != '\n') {
        return fail(p, "CR without LF in a reply line");
    }
    *n = (size_t)(cr - s);
    return 1;
}

static sr_resp_reply_t *node(sr_resp_type_t type)
{
    sr_resp_reply_t *r = sr_calloc(1, sizeof(*r));

    r->type = type;
    return r;
}

static sr_resp_reply_t *node_str(sr_resp_type_t type, const char *s, size_t n)
{
    sr_resp_reply_t *r = node(type);

    r->str = sr_strndup(s, n);
    r->len = n;
    return r;
}

/*
 * Attach a finished value (not an open array) to the innermost open array
 * and close every array that is now full. An array is linked into its
 * parent (and counted there) when it opens, so closing it only checks
 * whether the parent is full in turn. Returns the whole reply once the
 * outermost array closes (or v itself at depth 0), else NULL.
 */
static sr_resp_reply_t *attach_value(sr_resp_parser_t *p, sr_resp_reply_t *v)
{
    sr_resp_frame_t *f;

    if (p->depth == 0) {
        return v;
    }
    f = &p->stack[p->depth - 1];
    f->array->elems[f->filled++] = v;
    while (f->filled == f->array->n_elems) {
        v = f->array;
        p->depth--;
        if (p->depth == 0) {
            return v;
        }
        f = &p->stack[p->depth - 1];
    }
    return NULL;
}

int sr_resp_next(sr_resp_parser_t *p, sr_resp_reply_t **out)
{
    size_t n;
    int rc;

    if (p->error != 0) {
        return p->error;
    }
    for (;;) {
        const char *line;
        sr_resp_reply_t *v = NULL, *done;
        int64_t num;

        if (p->bulk_len >= 0) {
            size_t need = (size_t)p->bulk_len + 2;

            if (p->in.len - p->pos < need) {
                return 0;
            }
            line = p->in.base + p->pos;
            if (line[need - 2] != '\r' || line[need - 1] != '\n') {
                return fail(p, "bulk string not followed by CRLF");
            }
            v = node_str(SR_RESP_BULK, line, (size_t)p->bulk_len);
            p->pos += need;
            p->bulk_len = -1;
        } else {
            if (p->pos >= p->in.len) {
                return 0;
            }
            rc = find_line(p, &n);
            if (rc <= 0) {
                return rc;
            }
            line = p->in.base + p->pos;
            switch (line[0]) {
            case '+':
            case '-':
                v = node_str(line[0] == '+' ? SR_RESP_STATUS : SR_RESP_ERROR, line + 1, n - 1);
                break;
            case ':':
                if (parse_int(line + 1, n - 1, &num) < 0) {
                    return fail(p, "bad integer reply");
                }
                v = node(SR_RESP_INTEGER);
                v->integer = num;
                break;
            case '$':
                if (parse_int(line + 1, n - 1, &num) < 0 || num < -1) {
                    return fail(p, "bad bulk length");
                }
                if (num > 0 && (uint64_t)num > p->lim.max_bulk) {
                    return fail(p, "bulk string over the limit");
                }
                if (num == -1) {
                    v = node(SR_RESP_NIL);
                } else {
                    p->bulk_len = num;
                }
                break;
            case '*':
                if (parse_int(line + 1, n - 1, &num) < 0 || num < -1) {
                    return fail(p, "bad array length");
                }
                if (num > 0 && (uint64_t)num > p->lim.max_elems) {
                    return fail(p, "array over the limit");
                }
                if (num == -1) {
                    v = node(SR_RESP_NIL);
                } else if (num == 0) {
                    v = node(SR_RESP_ARRAY);
                } else {
                    if (p->depth >= p->lim.max_depth) {
                        return fail(p, "arrays nested too deep");
                    }
                    v = node(SR_RESP_ARRAY);
                    v->n_elems = (size_t)num;
                    v->elems = sr_calloc((size_t)num, sizeof(*v->elems));
                    /* The outermost array owns everything below it, so an
                     * error frees the whole partial tree at once. */
                    if (p->depth > 0) {
                        sr_resp_frame_t *f = &p->stack[p->depth - 1];

                        f->array->elems[f->filled++] = v;
                    }
                    p->stack[p->depth].array = v;
                    p->stack[p->depth].filled = 0;
                    p->depth++;
                    v = NULL;
                }
                break;
            default:
                return fail(p, "unknown reply type");
            }
            p->pos += n + 2;
        }
        if (v == NULL) {
            continue;
        }
        done = attach_value(p, v);
        if (done != NULL) {
            *out = done;
            return 1;
        }
    }
}
