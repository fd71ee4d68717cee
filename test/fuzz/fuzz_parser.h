/*
 * fuzz_parser.h: the body of the parser fuzz targets (fuzz_rfc5424.c,
 * fuzz_rfc3164.c), which define FUZZ_PARSER (the sr_parser_t) and
 * FUZZ_MODE (its sr_parse_mode_t) and include this file.
 *
 * Each input is one frame. It is parsed by FUZZ_PARSER alone, then by
 * the chain in FUZZ_MODE and in auto mode, with a fixed receive time and,
 * from the first input byte, one of three zones. After each parse the
 * record's invariants are checked and any violation abort()s: every
 * present slice lies within text_len, structured-data indexes stay within
 * their arrays, facility <= 23, severity <= 7, a declining parser leaves
 * the record raw, and a raw record's message is the whole frame. The
 * record is then written as JSON (ASan checks the writer stays in the room
 * it reserved), and the input as one JSON string must equal the plain
 * byte-at-a-time reference escape.
 */
#include <stdio.h>
#include <stdlib.h>

#include "parsers/parser.h"
#include "test/json_ref.h"

static sr_tz_t *zones[3];

static void check_slice(const sr_record_t *r, sr_slice_t s)
{
    if (sr_slice_present(s) && ((uint64_t)s.off + s.len > r->text_len)) {
        abort();
    }
}

static void check_record(const sr_record_t *r)
{
    uint32_t e, k;

    if (r->facility > 23 || r->severity > 7 || r->format > SR_FORMAT_RFC3164) {
        abort();
    }
    check_slice(r, r->timestamp);
    check_slice(r, r->hostname);
    check_slice(r, r->app_name);
    check_slice(r, r->procid);
    check_slice(r, r->msgid);
    check_slice(r, r->raw);
    if (!sr_slice_present(r->message)) {
        abort(); /* the message is never null */
    }
    check_slice(r, r->message);
    if (r->format == SR_FORMAT_RAW) {
        if (r->message.off != r->raw.off || r->message.len != r->raw.len ||
            sr_slice_present(r->timestamp) || sr_slice_present(r->app_name) || r->n_sd_elems != 0) {
            abort();
        }
    } else if (r->parse_error != NULL) {
        abort();
    }
    if ((r->n_sd_elems == 0) != (r->sd_elems == NULL)) {
        abort();
    }
    for (e = 0; e < r->n_sd_elems; e++) {
        const sr_sd_elem_t *el = &r->sd_elems[e];

        check_slice(r, el->id);
        if (!sr_slice_present(el->id) || (uint64_t)el->first + el->count > r->n_sd_params) {
            abort();
        }
        for (k = el->first; k < el->first + el->count; k++) {
            check_slice(r, r->sd_params[k].name);
            check_slice(r, r->sd_params[k].value);
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    (void)argc;
    (void)argv;
    if (sr_tz_load("Europe/Berlin", &zones[1], err, sizeof(err)) != 0) {
        zones[1] = NULL;
    }
    if (sr_tz_load("-03:30", &zones[2], err, sizeof(err)) != 0) {
        zones[2] = NULL;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_parse_ctx_t ctx = {1795300927000000LL, NULL};
    sr_record_t *r;
    const char *why = NULL;
    sr_parse_result_t res;

    if (size > 0) {
        ctx.tz = zones[data[0] % 3];
        ctx.now_us += (int64_t)(data[0] % 13) * 30 * 86400 * 1000000LL; /* vary the month */
    }
    r = sr_record_create((const char *)data, size);
    res = FUZZ_PARSER.parse(r, &ctx, &why);
    if (res != SR_PARSE_OK) {
        if (why == NULL || r->format != SR_FORMAT_RAW || r->n_sd_elems != 0) {
            abort();
        }
    }
    check_record(r);
    sr_parse_record(r, FUZZ_MODE, &ctx);
    check_record(r);
    sr_record_release(r);

    r = sr_record_create((const char *)data, size);
    sr_parse_record(r, SR_PARSE_AUTO, &ctx);
    check_record(r);
    {
        sr_buf_t got, want;

        sr_buf_init(&got);
        sr_buf_init(&want);
        sr_format_json(r, &got);
        if (got.len < 2 || got.base[0] != '{' || got.base[got.len - 1] != '}') {
            abort();
        }
        sr_buf_reset(&got);
        sr_json_string(&got, (const char *)data, size);
        sr_test_json_string(&want, (const char *)data, size);
        if (got.len != want.len || memcmp(got.base, want.base, got.len) != 0) {
            abort();
        }
        sr_buf_free(&got);
        sr_buf_free(&want);
    }
    sr_record_release(r);
    return 0;
}
