/*
 * parser.h: the parser interface and the chain that picks one.
 *
 * A parser has a name and one parse operation over a record whose raw
 * frame is already in place. It answers SR_PARSE_OK (fields filled),
 * SR_PARSE_NOT_MINE (the next parser tries) or SR_PARSE_MALFORMED with a
 * short static reason. Parsers do no I/O, no logging, and allocate nothing
 * beyond the record (sr_record_sd_reserve, sr_record_append).
 *
 * sr_parse_record() runs the chain a `format` setting selects; when every
 * parser declines, the record stays SR_FORMAT_RAW with parse_error set,
 * and is still relayed.
 */
#ifndef SR_PARSER_H
#define SR_PARSER_H

#include "../relay/record.h"
#include "../relay/tz.h"

typedef enum sr_parse_result_e {
    SR_PARSE_OK = 0,
    SR_PARSE_NOT_MINE,
    SR_PARSE_MALFORMED,
} sr_parse_result_t;

/* Which parsers an input runs (the `format` key). */
typedef enum sr_parse_mode_e {
    SR_PARSE_AUTO = 0,
    SR_PARSE_RFC5424,
    SR_PARSE_RFC3164,
} sr_parse_mode_t;

/* What a parser may need beyond the bytes. */
typedef struct sr_parse_ctx_s {
    int64_t now_us;       /* receive time, Unix microseconds */
    const sr_tz_t *tz;    /* zone for RFC 3164 times; NULL means UTC */
} sr_parse_ctx_t;

typedef struct sr_parser_s {
    const char *name;
    sr_parse_result_t (*parse)(sr_record_t *rec, const sr_parse_ctx_t *ctx, const char **reason);
} sr_parser_t;

extern const sr_parser_t sr_parser_rfc5424;
extern const sr_parser_t sr_parser_rfc3164;

/*
 * Parse rec in place with the chain for `mode`. Returns the format the
 * record ended up with; for SR_FORMAT_RAW, rec->parse_error says why, and
 * facility/severity come from a valid PRI if there was one (else 1/5).
 */
sr_format_t sr_parse_record(sr_record_t *rec, sr_parse_mode_t mode, const sr_parse_ctx_t *ctx);

/*
 * Parse a PRI "<N>" at p[0..n). On success returns the bytes consumed
 * (3 to 5) and sets *pri (0-191); returns 0 when there is no valid PRI.
 */
size_t sr_parse_pri(const char *p, size_t n, int *pri);

/*
 * Shared by the parsers in parsers/ only: the length of a valid RFC 3339
 * timestamp as RFC 5424 allows it (upper-case T and Z, 1-6 fraction
 * digits, no leap second, ranges checked) at the start of p[0..n), or 0.
 */
size_t sr__parse_rfc3339(const char *p, size_t n);

/* Shared within parsers/: the length of "YYYY-MM-DDThh:mm:ss[.f]" (ranges
 * checked, no zone) at the start of p[0..n), or 0. */
size_t sr__parse_datetime(const char *p, size_t n);

/* Shared within parsers/: the length of an RFC 3339 zone ("Z", or +hh:mm
 * or -hh:mm, ranges checked) at the start of p[0..n), or 0. */
size_t sr__parse_zone(const char *p, size_t n);

/* Shared within parsers/: append dt[0..len) (a date-time without zone
 * that sr__parse_datetime accepted) plus the offset of tz (NULL: UTC) at
 * that local time, "+hh:mm", to the record's text; the slice, or absent
 * when there is no room. */
sr_slice_t sr__append_zoned(sr_record_t *rec, const char *dt, size_t len, const sr_tz_t *tz);

/* Shared within parsers/: k ASCII digits at p, and their value. */
static inline bool sr__digits(const char *p, size_t k)
{
    size_t i;

    for (i = 0; i < k; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    return true;
}

static inline int sr__num(const char *p, size_t k)
{
    int v = 0;
    size_t i;

    for (i = 0; i < k; i++) {
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

#endif
