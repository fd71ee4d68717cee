/*
 * fuzz_resp.c: libFuzzer target for the RESP reply parser (relay/resp.c),
 * which reads what a Redis server (or anything answering on its port)
 * sends back.
 *
 * The input is fed twice with tight limits: whole, and in pieces whose
 * sizes come from the input itself. Both runs must yield the same replies
 * (count, types, lengths) and the same end state (error or not), and
 * every reply must respect the limits. Any violation abort()s.
 */
#include <stdlib.h>

#include "relay/resp.h"

#define MAX_REPLIES 4096

typedef struct run_s {
    int n;
    int types[MAX_REPLIES];
    size_t sizes[MAX_REPLIES];
    int error;
} run_t;

static const sr_resp_limits_t lim = {64, 256, 16, 4};

static size_t check_reply(const sr_resp_reply_t *r, size_t depth)
{
    size_t i, total = r->len;

    if (depth > lim.max_depth + 1) {
        abort();
    }
    switch (r->type) {
    case SR_RESP_STATUS:
    case SR_RESP_ERROR:
        if (r->len > lim.max_line || r->str == NULL || r->str[r->len] != '\0') {
            abort();
        }
        break;
    case SR_RESP_BULK:
        if (r->len > lim.max_bulk || r->str == NULL || r->str[r->len] != '\0') {
            abort();
        }
        break;
    case SR_RESP_ARRAY:
        if (r->n_elems > lim.max_elems) {
            abort();
        }
        for (i = 0; i < r->n_elems; i++) {
            if (r->elems[i] == NULL) {
                abort();
            }
            total += 1 + check_reply(r->elems[i], depth + 1);
        }
        break;
    case SR_RESP_INTEGER:
    case SR_RESP_NIL:
        break;
    default:
        abort();
    }
    return total;
}

static void drain(sr_resp_parser_t *p, run_t *run)
{
    sr_resp_reply_t *r;
    int rc;

    while ((rc = sr_resp_next(p, &r)) == 1) {
        if (run->n < MAX_REPLIES) {
            run->types[run->n] = r->type;
            run->sizes[run->n] = check_reply(r, 1);
        }
        run->n++;
        sr_resp_reply_free(r);
    }
    if (rc < 0) {
        run->error = 1;
    }
}

static void parse(const uint8_t *data, size_t size, size_t piece, run_t *run)
{
    sr_resp_parser_t p;
    size_t off = 0;

    sr_resp_parser_init(&p, &lim);
    while (off < size && !run->error) {
        size_t n = piece ? piece : size;

        if (n > size - off) {
            n = size - off;
        }
        sr_resp_feed(&p, (const char *)data + off, n);
        off += n;
        drain(&p, run);
    }
    sr_resp_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run_t whole, split;
    size_t piece = size ? (size_t)(data[0] % 7) + 1 : 1;
    int i;

    memset(&whole, 0, sizeof(whole));
    memset(&split, 0, sizeof(split));
    parse(data, size, 0, &whole);
    parse(data, size, piece, &split);
    if (whole.error != split.error) {
        abort();
    }
    if (!whole.error) {
        if (whole.n != split.n) {
            abort();
        }
        for (i = 0; i < whole.n && i < MAX_REPLIES; i++) {
            if (whole.types[i] != split.types[i] || whole.sizes[i] != split.sizes[i]) {
                abort();
            }
        }
    }
    return 0;
}
