/*
 * parser.c: the parser chain, PRI parsing, and the RFC 3339 scanner the
 * parsers share (see parser.h).
 *
 * The chain runs the parsers a `format` setting selects, in order:
 * auto = RFC 5424 then RFC 3164. A parser that answers NOT_MINE passes the
 * record on; MALFORMED stops the chain. When no parser accepts, the record
 * is SR_FORMAT_RAW: every field absent, message = the whole frame,
 * parse_error = the last parser's reason, facility/severity from a valid
 * PRI when the frame starts with one (else 1/5). docs/parsing.md describes
 * what each parser accepts. Nothing here allocates or logs.
 */
#include "../relay/civil.h"
#include "parser.h"

/*
 * Parse "<N>" at p[0..n): 1 to 3 digits, no leading zero (except "<0>"),
 * value 0-191. Returns the bytes consumed (3 to 5) and sets *pri, or 0.
 */
size_t sr_parse_pri(const char *p, size_t n, int *pri)
{
    size_t i;
    int v = 0;

    if (n < 3 || p[0] != '<') {
        return 0;
    }
    for (i = 1; i < n && i <= 4 && p[i] >= '0' && p[i] <= '9'; i++) {
        v = v * 10 + (p[i] - '0');
    }
    if (i == 1 || i > 4 || i >= n || p[i] != '>') {
        return 0;
    }
    if (i > 2 && p[1] == '0') {
        return 0; /* "<01>": leading zeros are not a PRI */
    }
    if (v > 191) {
        return 0;
    }
    *pri = v;
    return i + 1;
}


/*
 * RFC 5424 TIMESTAMP (not NILVALUE): FULL-DATE "T" PARTIAL-TIME with an
 * optional 1-6 digit fraction, then "Z" or +hh:mm / -hh:mm. Returns the
 * length of the timestamp at p, or 0 when it is not one. Does not look at
 * what follows it.
 */
size_t sr__parse_datetime(const char *p, size_t n)
{
    size_t i, f;
    int y, mo, d;

    /* "YYYY-MM-DDTHH:MM:SS" is 19 bytes. */
    if (n < 19 || !sr__digits(p, 4) || p[4] != '-' || !sr__digits(p + 5, 2) || p[7] != '-' ||
        !sr__digits(p + 8, 2) || p[10] != 'T' || !sr__digits(p + 11, 2) || p[13] != ':' ||
        !sr__digits(p + 14, 2) || p[16] != ':' || !sr__digits(p + 17, 2)) {
        return 0;
    }
    y = sr__num(p, 4);
    mo = sr__num(p + 5, 2);
    d = sr__num(p + 8, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > sr_days_in_month(y, mo) || sr__num(p + 11, 2) > 23 ||
        sr__num(p + 14, 2) > 59 || sr__num(p + 17, 2) > 59) {
        return 0;
    }
    i = 19;
    if (i < n && p[i] == '.') {
        for (f = 0; i + 1 + f < n && f < 7 && p[i + 1 + f] >= '0' && p[i + 1 + f] <= '9'; f++) {
        }
        if (f == 0 || f > 6) {
            return 0;
        }
        i += 1 + f;
    }
    return i;
}

size_t sr__parse_zone(const char *p, size_t n)
{
    if (n >= 1 && p[0] == 'Z') {
        return 1;
    }
    if (n >= 6 && (p[0] == '+' || p[0] == '-') && sr__digits(p + 1, 2) && p[3] == ':' &&
        sr__digits(p + 4, 2) && sr__num(p + 1, 2) <= 23 && sr__num(p + 4, 2) <= 59) {
        return 6;
    }
    return 0;
}

size_t sr__parse_rfc3339(const char *p, size_t n)
{
    size_t i = sr__parse_datetime(p, n), z;

    if (i == 0 || (z = sr__parse_zone(p + i, n - i)) == 0) {
        return 0;
    }
    return i + z;
}

sr_slice_t sr__append_zoned(sr_record_t *rec, const char *dt, size_t len, const sr_tz_t *tz)
{
    int32_t off = 0; /* UTC: no time to work out */
    uint32_t a;
    sr_slice_t sl;
    char *o = sr_record_extend(rec, len + 6, &sl);

    if (o == NULL) {
        return sl;
    }
    if (tz != NULL) {
        int64_t local =
            sr_days_from_civil(sr__num(dt, 4), sr__num(dt + 5, 2), sr__num(dt + 8, 2)) * 86400 +
            sr__num(dt + 11, 2) * 3600 + sr__num(dt + 14, 2) * 60 + sr__num(dt + 17, 2);

        off = sr_tz_offset_for_local(tz, local);
    }
    a = (uint32_t)(off < 0 ? -off : off);
    memcpy(o, dt, len);
    o[len] = off < 0 ? '-' : '+';
    o[len + 1] = (char)('0' + a / 36000);
    o[len + 2] = (char)('0' + a / 3600 % 10);
    o[len + 3] = ':';
    o[len + 4] = (char)('0' + a % 3600 / 600);
    o[len + 5] = (char)('0' + a % 3600 / 60 % 10);
    return sl;
}

/*
 * Run the chain for `mode` over rec (see parser.h). ctx may be NULL: the
 * receive time is then the record's received_us (or now) and the zone UTC.
 * Returns the format the record ended up with.
 */
sr_format_t sr_parse_record(sr_record_t *rec, sr_parse_mode_t mode, const sr_parse_ctx_t *ctx)
{
    static const sr_parser_t *const chain_auto[] = {&sr_parser_rfc5424, &sr_parser_rfc3164, NULL};
    static const sr_parser_t *const chain_5424[] = {&sr_parser_rfc5424, NULL};
    static const sr_parser_t *const chain_3164[] = {&sr_parser_rfc3164, NULL};
    const sr_parser_t *const *chain;
    const char *reason = "not a syslog message";
    sr_parse_ctx_t def;
    size_t i;
    int pri;

    if (ctx == NULL) {
        def.now_us = rec->received_us ? rec->received_us : sr_now_us();
        def.tz = NULL;
        ctx = &def;
    }
    switch (mode) {
    case SR_PARSE_RFC5424:
        chain = chain_5424;
        break;
    case SR_PARSE_RFC3164:
        chain = chain_3164;
        break;
    default:
        chain = chain_auto;
        break;
    }
    sr_record_reset_fields(rec);
    for (i = 0; chain[i] != NULL; i++) {
        const char *why = NULL;
        sr_parse_result_t r = chain[i]->parse(rec, ctx, &why);

        if (r == SR_PARSE_OK) {
            rec->parse_error = NULL;
            return (sr_format_t)rec->format;
        }
        sr_record_reset_fields(rec);
        reason = why != NULL ? why : "not recognised";
        if (r == SR_PARSE_MALFORMED) {
            break;
        }
    }
    rec->parse_error = reason;
    if (sr_parse_pri(sr_record_ptr(rec, rec->raw), rec->raw.len, &pri) > 0) {
        rec->facility = (uint8_t)(pri >> 3);
        rec->severity = (uint8_t)(pri & 7);
    }
    return SR_FORMAT_RAW;
}
