/*
 * rfc5424.c: the RFC 5424 parser (section 6 grammar).
 *
 *   <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
 *       SP STRUCTURED-DATA [SP MSG]
 *
 * A frame is ours once it has a valid PRI, a VERSION (1-2 digits, the
 * first nonzero), one SP, and a TIMESTAMP that starts like one ("- " or
 * four digits and "-"); anything else is NOT_MINE, so the RFC 3164 parser
 * gets it. Past that point any deviation is MALFORMED, with a reason that
 * gives the byte offset. Fields are slices of the record's text; NILVALUE
 * fields are absent; structured-data values stay escaped. The only text
 * written into the record is a MALFORMED reason (into its spare room).
 * The leniencies, each of which cannot change how a valid message parses,
 * are listed in docs/parsing.md.
 */
#include <stdio.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "parser.h"

#define BOM "\xEF\xBB\xBF"

static bool printusascii(char c)
{
    return (unsigned char)c >= 33 && (unsigned char)c <= 126;
}

/* The first index at or after j whose byte is not PRINTUSASCII (a space
 * ends a header field; anything else there is an error), or n. Sixteen
 * bytes at a time while they are all in the message. */
static size_t printusascii_end(const char *p, size_t n, size_t j)
{
#if defined(__SSE2__)
    while (j + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + j));
        /* Signed compares: bytes >= 0x80 are negative, so below 33. */
        __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(32)),
                                   _mm_cmplt_epi8(x, _mm_set1_epi8(127)));
        unsigned stop = (unsigned)_mm_movemask_epi8(ok) ^ 0xFFFFu;

        if (stop != 0) {
            return j + (size_t)__builtin_ctz(stop);
        }
        j += 16;
    }
#endif
    while (j < n && printusascii(p[j])) {
        j++;
    }
    return j;
}

static bool sd_name_char(char c)
{
    return printusascii(c) && c != '=' && c != ']' && c != '"';
}

/*
 * Put "<what> at offset <off>" into the record's spare room and return it,
 * NUL-terminated; the text lives as long as the record. Falls back to
 * `what` alone when there is no room.
 */
static const char *reason_at(sr_record_t *rec, const char *what, size_t off)
{
    char buf[SR_RECORD_SPARE];
    int k;
    sr_slice_t s;

    k = snprintf(buf, sizeof(buf), "%s at offset %zu", what, off);
    if (k < 0 || (size_t)k >= sizeof(buf)) {
        return what;
    }
    s = sr_record_append(rec, buf, (size_t)k + 1);
    if (!sr_slice_present(s)) {
        return what;
    }
    return sr_record_ptr(rec, s);
}

/*
 * Scan one header field of 1..max PRINTUSASCII bytes at p[*i..n), ending at
 * SP or the end. Sets *out (absent for NILVALUE). Returns NULL, or a reason.
 */
static const char *header_field(const char *p, size_t n, size_t *i, size_t max, uint32_t base,
                                sr_slice_t *out, const char *too_long)
{
    size_t start = *i, j = printusascii_end(p, n, *i);

    if (j < n && p[j] != ' ') {
        *i = j;
        return "invalid character in RFC 5424 header";
    }
    if (j == start) {
        return "empty RFC 5424 header field";
    }
    if (j - start > max) {
        *i = start;
        return too_long;
    }
    if (j - start == 1 && p[start] == '-') {
        *out = SR_SLICE_NULL;
    } else {
        *out = (sr_slice_t){base + (uint32_t)start, (uint32_t)(j - start)};
    }
    *i = j;
    return NULL;
}

/*
 * Scan 1*SD-ELEMENT at p[*i..n). With rec == NULL, validate and count into
 * *ne and *np; with rec, fill the arrays already reserved (same walk, so
 * it cannot fail then). Returns true, or false with *i at the bad byte.
 */
static bool scan_sd(const char *p, size_t n, size_t *i, uint32_t base, sr_record_t *rec,
                    uint32_t *ne, uint32_t *np)
{
    size_t j = *i, s;
    uint32_t e = 0, k = 0;

    while (j < n && p[j] == '[') {
        j++;
        for (s = j; j < n && sd_name_char(p[j]); j++) {
        }
        if (j == s || j - s > 32) {
            *i = s;
            return false;
        }
        if (rec != NULL) {
            rec->sd_elems[e].id = (sr_slice_t){base + (uint32_t)s, (uint32_t)(j - s)};
            rec->sd_elems[e].first = k;
            rec->sd_elems[e].count = 0;
        }
        for (;;) {
            sr_slice_t name;

            if (j >= n) {
                *i = j;
                return false;
            }
            if (p[j] == ']') {
                j++;
                break;
            }
            if (p[j] != ' ') {
                *i = j;
                return false;
            }
            j++;
            for (s = j; j < n && sd_name_char(p[j]); j++) {
            }
            if (j == s || j - s > 32 || j >= n || p[j] != '=') {
                *i = j == s || j - s > 32 ? s : j;
                return false;
            }
            if (j + 1 >= n || p[j + 1] != '"') {
                *i = j + 1;
                return false;
            }
            name = (sr_slice_t){base + (uint32_t)s, (uint32_t)(j - s)};
            j += 2;
            /* PARAM-VALUE: up to the first unescaped quote. An unescaped ']'
             * inside is accepted; a backslash protects whatever follows. */
            for (s = j; j < n && p[j] != '"'; j++) {
                if (p[j] == '\\' && j + 1 < n) {
                    j++;
                }
            }
            if (j >= n) {
                *i = s - 1;
                return false;
            }
            if (rec != NULL) {
                rec->sd_params[k].name = name;
                rec->sd_params[k].value = (sr_slice_t){base + (uint32_t)s, (uint32_t)(j - s)};
                rec->sd_elems[e].count++;
            }
            k++;
            j++;
        }
        e++;
    }
    *i = j;
    if (rec == NULL) {
        *ne = e;
        *np = k;
    }
    return true;
}

/*
 * The parse operation (see parser.h). On OK every RFC 5424 field is set;
 * on NOT_MINE or MALFORMED the record's fields are reset and *reason says
 * why.
 */
static sr_parse_result_t parse_rfc5424(sr_record_t *rec, const sr_parse_ctx_t *ctx,
                                       const char **reason)
{
    const char *p = sr_record_ptr(rec, rec->raw);
    size_t n = rec->raw.len, i, j, sd_start = 0;
    uint32_t base = rec->raw.off, ne = 0, np = 0;
    sr_slice_t ts = SR_SLICE_NULL, host, app, proc, msgid, msg;
    const char *why;
    int pri, version;
    bool has_sd = false;

    i = sr_parse_pri(p, n, &pri);
    if (i == 0) {
        *reason = n > 0 && p[0] == '<' ? "invalid PRI" : "no PRI";
        return SR_PARSE_NOT_MINE;
    }
    if (i >= n || p[i] < '1' || p[i] > '9') {
        *reason = "no RFC 3164 or RFC 5424 header";
        return SR_PARSE_NOT_MINE;
    }
    version = p[i++] - '0';
    if (i < n && p[i] >= '0' && p[i] <= '9') {
        version = version * 10 + (p[i++] - '0');
    }
    /* Claim the frame only when a timestamp plainly follows. */
    if (!(i + 2 < n && p[i] == ' ' &&
          ((p[i + 1] == '-' && p[i + 2] == ' ') ||
           (i + 6 < n && p[i + 1] >= '0' && p[i + 1] <= '9' && p[i + 2] >= '0' && p[i + 2] <= '9' &&
            p[i + 3] >= '0' && p[i + 3] <= '9' && p[i + 4] >= '0' && p[i + 4] <= '9' &&
            p[i + 5] == '-')))) {
        *reason = "no RFC 3164 or RFC 5424 header";
        return SR_PARSE_NOT_MINE;
    }
    i++;
    if (p[i] == '-') {
        i++;
    } else {
        size_t z;

        j = sr__parse_datetime(p + i, n - i);
        z = j > 0 ? sr__parse_zone(p + i + j, n - i - j) : 0;
        j += z;
        if (j > 0 && z == 0 && i + j < n && p[i + j] == ' ') {
            /* Leniency: no offset (loggen sends such times): the input's
             * zone completes it, as for RFC 3164 times. */
            ts = sr__append_zoned(rec, p + i, j, ctx->tz);
        } else if (j > 0 && i + j == n) {
            *reason = reason_at(rec, "truncated RFC 5424 header", n);
            goto malformed;
        } else if (j == 0 || p[i + j] != ' ') {
            *reason = reason_at(rec, "invalid RFC 5424 timestamp", i);
            goto malformed;
        } else {
            ts = (sr_slice_t){base + (uint32_t)i, (uint32_t)j};
        }
        i += j;
    }
    i++; /* the SP after TIMESTAMP, checked above */

    why = header_field(p, n, &i, 255, base, &host, "RFC 5424 HOSTNAME too long");
    if (why == NULL && (i >= n || p[i] != ' ')) {
        why = "truncated RFC 5424 header";
    }
    if (why == NULL) {
        i++;
        why = header_field(p, n, &i, 48, base, &app, "RFC 5424 APP-NAME too long");
    }
    if (why == NULL && (i >= n || p[i] != ' ')) {
        why = "truncated RFC 5424 header";
    }
    if (why == NULL) {
        i++;
        why = header_field(p, n, &i, 128, base, &proc, "RFC 5424 PROCID too long");
    }
    if (why == NULL && (i >= n || p[i] != ' ')) {
        why = "truncated RFC 5424 header";
    }
    if (why == NULL) {
        i++;
        why = header_field(p, n, &i, 32, base, &msgid, "RFC 5424 MSGID too long");
    }
    if (why != NULL) {
        *reason = reason_at(rec, why, i);
        goto malformed;
    }

    /* Leniency: a frame that ends right after MSGID has no structured data
     * and an empty message. */
    if (i == n) {
        msg = (sr_slice_t){base + (uint32_t)n, 0};
        goto done;
    }
    i++; /* SP */
    if (i < n && p[i] == '-') {
        i++;
    } else if (i < n && p[i] == '[') {
        sd_start = i;
        if (!scan_sd(p, n, &i, base, NULL, &ne, &np)) {
            *reason = reason_at(rec, "invalid RFC 5424 structured data", i);
            goto malformed;
        }
        has_sd = true;
    } else {
        *reason = reason_at(rec, "invalid RFC 5424 structured data", i);
        goto malformed;
    }
    if (i < n && p[i] == ' ') {
        i++;
    } else if (i < n && !has_sd) {
        /* "-x": NILVALUE glued to text is not structured data. */
        *reason = reason_at(rec, "invalid RFC 5424 structured data", i - 1);
        goto malformed;
    }
    /* Leniency: text glued to the closing ']' is taken as the MSG. */
    if (n - i >= 3 && p[i] == BOM[0] && memcmp(p + i, BOM, 3) == 0) {
        i += 3;
    }
    msg = (sr_slice_t){base + (uint32_t)i, (uint32_t)(n - i)};

done:
    if (has_sd) {
        size_t k = sd_start;

        sr_record_sd_reserve(rec, ne, np);
        scan_sd(p, n, &k, base, rec, NULL, NULL);
    }
    rec->format = SR_FORMAT_RFC5424;
    rec->facility = (uint8_t)(pri >> 3);
    rec->severity = (uint8_t)(pri & 7);
    rec->version = (int8_t)version;
    rec->timestamp = ts;
    rec->hostname = host;
    rec->app_name = app;
    rec->procid = proc;
    rec->msgid = msgid;
    rec->message = msg;
    rec->parse_error = NULL;
    return SR_PARSE_OK;

malformed : {
    const char *keep = *reason;

    sr_record_reset_fields(rec);
    *reason = keep;
}
    return SR_PARSE_MALFORMED;
}

const sr_parser_t sr_parser_rfc5424 = {
    .name = "rfc5424",
    .parse = parse_rfc5424,
};
