/*
 * resp.h: the Redis protocol (RESP2): a command encoder and an incremental
 * reply parser. Pure: no I/O, no logging, no loop.
 *
 * The encoder appends commands (arrays of bulk strings) to an sr_buf_t.
 * The parser takes bytes as they arrive, split anywhere, and hands out
 * whole replies as trees it allocates. It is bounded: a line, a bulk
 * string, an array and the nesting depth each have a limit, and input
 * over a limit (or any byte that is not RESP2) is a protocol error after
 * which the parser refuses everything: the connection must be dropped.
 */
#ifndef SR_RESP_H
#define SR_RESP_H

#include "common.h"

/* ---- encoder ------------------------------------------------------- */

/* "*<argc>\r\n": start a command of argc arguments (the name counts). */
void sr_resp_cmd(sr_buf_t *out, size_t argc);
/* "$<n>\r\n<bytes>\r\n": one argument, binary-safe. */
void sr_resp_arg(sr_buf_t *out, const void *p, size_t n);
/* The same for a NUL-terminated string and for a decimal integer. */
void sr_resp_arg_str(sr_buf_t *out, const char *s);
void sr_resp_arg_int(sr_buf_t *out, int64_t v);
/* The header of a bulk argument whose n bytes the caller appends next,
 * followed by sr_resp_arg_end(). */
void sr_resp_arg_begin(sr_buf_t *out, size_t n);
void sr_resp_arg_end(sr_buf_t *out);
/* A whole command from NUL-terminated strings. */
void sr_resp_command(sr_buf_t *out, size_t argc, const char *const *argv);

/* ---- replies ------------------------------------------------------- */

typedef enum sr_resp_type_e {
    SR_RESP_STATUS = 1, /* +OK */
    SR_RESP_ERROR,      /* -ERR message */
    SR_RESP_INTEGER,    /* :42 */
    SR_RESP_BULK,       /* $3 foo */
    SR_RESP_NIL,        /* $-1 or *-1 */
    SR_RESP_ARRAY,      /* *2 ... */
} sr_resp_type_t;

typedef struct sr_resp_reply_s sr_resp_reply_t;
struct sr_resp_reply_s {
    sr_resp_type_t type;
    int64_t integer;          /* INTEGER */
    char *str;                /* STATUS, ERROR, BULK: a copy, NUL-terminated */
    size_t len;               /* its length (a bulk may hold NULs) */
    sr_resp_reply_t **elems;  /* ARRAY */
    size_t n_elems;
};

void sr_resp_reply_free(sr_resp_reply_t *r);

/* ---- parser -------------------------------------------------------- */

typedef struct sr_resp_limits_s {
    size_t max_line;   /* bytes in a +, -, :, $ or * line (without CRLF) */
    size_t max_bulk;   /* bytes in one bulk string */
    size_t max_elems;  /* elements in one array */
    size_t max_depth;  /* nesting of arrays */
} sr_resp_limits_t;

/* Defaults: 64 KiB lines, 64 MiB bulks, 1M elements, depth 8. */
extern const sr_resp_limits_t sr_resp_default_limits;

typedef struct sr_resp_frame_s {
    sr_resp_reply_t *array;
    size_t filled;
} sr_resp_frame_t;

typedef struct sr_resp_parser_s {
    sr_resp_limits_t lim;
    sr_buf_t in;          /* bytes not yet turned into reply nodes */
    size_t pos;           /* parse position in `in` */
    int64_t bulk_len;     /* >= 0: a bulk header was read, its body is awaited */
    sr_resp_frame_t *stack; /* open arrays, outermost first */
    size_t depth;
    int error;            /* 0, or SR_EPARSE once the input was not RESP */
    const char *why;      /* static text for the error */
} sr_resp_parser_t;

/* lim NULL: the defaults. */
void sr_resp_parser_init(sr_resp_parser_t *p, const sr_resp_limits_t *lim);
/* Free buffered bytes and any half-built reply; the parser can be
 * initialised again. */
void sr_resp_parser_free(sr_resp_parser_t *p);
/* Forget everything buffered (a new connection). */
void sr_resp_parser_reset(sr_resp_parser_t *p);

/* Append bytes as read from the peer (copied). */
void sr_resp_feed(sr_resp_parser_t *p, const char *data, size_t len);

/*
 * The next complete reply. Returns 1 and *out (the caller frees it with
 * sr_resp_reply_free), 0 when more bytes are needed, or SR_EPARSE on a
 * protocol error or a limit (p->why says which); after an error every
 * call returns SR_EPARSE.
 */
int sr_resp_next(sr_resp_parser_t *p, sr_resp_reply_t **out);

#endif
