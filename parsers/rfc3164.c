/*
 * rfc3164.c: the RFC 3164 ("BSD syslog") parser, as real devices send it.
 *
 *   [<PRI>][SEQ: ][*|.]TIMESTAMP[ ZONE][:] [HOSTNAME ]TAG[[PID]][:] MSG
 *
 * TIMESTAMP is "Mmm dd hh:mm:ss" with the day space- or zero-padded (or
 * one digit), an optional fraction, and an optional year before the month
 * or after the day; or an RFC 3339 timestamp (rsyslog's ForwardFormat),
 * kept as sent. BSD times carry no year and no zone: they are completed
 * into RFC 3339 text with the receive year and the input's zone and
 * written into the record's spare room. SEQ, '*' and ZONE are Cisco IOS;
 * the colon after the time is Cisco IOS and ASA. HOSTNAME is left out when
 * the word after the time is plainly a TAG ("sshd[1]:" or "su:").
 *
 * A frame with a valid PRI is always ours: when no header can be read,
 * everything after the PRI is the message (RFC 3164 section 4.3.3), with a
 * TAG taken from its start only when it ends in ':' or "[PID]". A frame
 * without a PRI is ours only when it starts with a readable timestamp; it
 * gets PRI 13 (user.notice). docs/parsing.md has the details and examples.
 */
#include <stdio.h>

#include "../relay/civil.h"
#include "parser.h"

#define TAG_MAX 48  /* the longest TAG, as RFC 5424 bounds APP-NAME */
#define PID_MAX 128 /* as RFC 5424 bounds PROCID */
#define HOST_MAX 255

typedef struct bsd_time_s {
    int year; /* 0 when the sender gave none */
    int mon, day, hour, min, sec;
    char frac[7]; /* up to 6 digits, NUL-terminated; "" when none */
} bsd_time_t;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The year of a day count since 1970-01-01. */
static int64_t year_from_days(int64_t z)
{
    int64_t y;
    int m, d;

    sr_civil_from_days(z, &y, &m, &d);
    return y;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int month_of(const char *p)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    char m[3];
    int i;

    for (i = 0; i < 3; i++) {
        m[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    }
    for (i = 0; i < 12; i++) {
        if (memcmp(names + i * 3, m, 3) == 0) {
            return i + 1;
        }
    }
    return 0;
}

/*
 * A BSD timestamp at p[0..n): "[YYYY ]Mmm dd [YYYY ]hh:mm:ss[.frac]", the
 * day being " d", "dd" or "d". Returns its length and fills *t, or 0.
 */
static size_t parse_bsd_time(const char *p, size_t n, bsd_time_t *t)
{
    size_t i = 0, f;

    memset(t, 0, sizeof(*t));
    if (n >= 5 && sr__digits(p, 4) && p[4] == ' ') {
        t->year = sr__num(p, 4);
        i = 5;
    }
    if (n - i < 4 || (t->mon = month_of(p + i)) == 0 || p[i + 3] != ' ') {
        return 0;
    }
    i += 4;
    if (i < n && p[i] == ' ') {
        i++;
    }
    if (i >= n || !is_digit(p[i])) {
        return 0;
    }
    t->day = p[i++] - '0';
    if (i < n && is_digit(p[i])) {
        t->day = t->day * 10 + (p[i++] - '0');
    }
    if (i >= n || p[i] != ' ') {
        return 0;
    }
    i++;
    if (t->year == 0 && n - i >= 5 && sr__digits(p + i, 4) && p[i + 4] == ' ') {
        t->year = sr__num(p + i, 4);
        i += 5;
    }
    if (n - i < 8 || !sr__digits(p + i, 2) || p[i + 2] != ':' || !sr__digits(p + i + 3, 2) ||
        p[i + 5] != ':' || !sr__digits(p + i + 6, 2)) {
        return 0;
    }
    t->hour = sr__num(p + i, 2);
    t->min = sr__num(p + i + 3, 2);
    t->sec = sr__num(p + i + 6, 2);
    i += 8;
    if (i < n && p[i] == '.') {
        for (f = 0; i + 1 + f < n && is_digit(p[i + 1 + f]) && f < 9; f++) {
            if (f < 6) {
                t->frac[f] = p[i + 1 + f];
            }
        }
        if (f == 0 || (i + 1 + f < n && is_digit(p[i + 1 + f]))) {
            return 0;
        }
        i += 1 + f;
    }
    if (t->day < 1 || t->day > sr_days_in_month(t->year ? t->year : 2000, t->mon) || t->hour > 23 ||
        t->min > 59 || t->sec > 59 || (t->year != 0 && t->year < 1970)) {
        return 0;
    }
    return i;
}

/*
 * Write the completed RFC 3339 form of a BSD time into the record's spare
 * room. The year, when not sent, is the receive time's year in the zone,
 * or the year before when the date would be more than 7 days in the
 * future. Returns the slice, or absent when the date does not exist in
 * that year (29 February) or there is no room.
 */
static sr_slice_t complete_time(sr_record_t *rec, const bsd_time_t *t, const sr_parse_ctx_t *ctx,
                                bool utc)
{
    const sr_tz_t *tz = utc ? NULL : ctx->tz;
    int64_t now = floor_div(ctx->now_us, 1000000), local_now, local, year;
    int32_t off;
    char buf[48];
    int k;

    local_now = now + sr_tz_offset_for_local(tz, now + sr_tz_offset_for_local(tz, now));
    year = t->year;
    if (year == 0) {
        year = year_from_days(floor_div(local_now, 86400));
        /* days_from_civil is linear in the day, so 29 February of a common
         * year counts as 1 March here; good enough for this comparison. */
        local =
            sr_days_from_civil(year, t->mon, t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
        if (local > local_now + 7 * 86400) {
            year--;
        }
    }
    if (t->day > sr_days_in_month(year, t->mon)) {
        return SR_SLICE_NULL;
    }
    local = sr_days_from_civil(year, t->mon, t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
    off = sr_tz_offset_for_local(tz, local);
    k = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d%s%s%c%02d:%02d", (int)year,
                 t->mon, t->day, t->hour, t->min, t->sec, t->frac[0] ? "." : "", t->frac,
                 off < 0 ? '-' : '+', (off < 0 ? -off : off) / 3600,
                 ((off < 0 ? -off : off) % 3600) / 60);
    if (k < 0 || (size_t)k >= sizeof(buf)) {
        return SR_SLICE_NULL;
    }
    return sr_record_append(rec, buf, (size_t)k);
}

/* Length of a timestamp of either kind at p[0..n) that is followed by SP,
 * ':' or the end; 0 when there is none. */
static size_t time_len(const char *p, size_t n, bsd_time_t *t, bool *is3339)
{
    size_t k;

    k = sr__parse_rfc3339(p, n);
    if (k > 0 && (k == n || p[k] == ' ' || p[k] == ':')) {
        *is3339 = true;
        return k;
    }
    k = parse_bsd_time(p, n, t);
    if (k > 0 && (k == n || p[k] == ' ' || p[k] == ':')) {
        *is3339 = false;
        return k;
    }
    return 0;
}

static bool tag_char(char c)
{
    return (unsigned char)c > 32 && (unsigned char)c < 127 && c != ':' && c != '[' && c != ']';
}

/* A word that is plainly a TAG, so no HOSTNAME precedes it: "app[12]",
 * "app[12]:" or "app:" (one colon, at the end, which an IPv6 address
 * never has alone). */
static bool tag_word(const char *p, size_t n)
{
    const char *b = memchr(p, '[', n), *c = memchr(p, ':', n);

    if (b != NULL && b > p) {
        return true;
    }
    return n > 1 && c == p + n - 1;
}

static bool host_word(const char *p, size_t n)
{
    size_t i;

    if (n == 0 || n > HOST_MAX) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127) {
            return false;
        }
    }
    return true;
}

/*
 * TAG at p[*i..n): "TAG[PID]:", "TAG[PID]", "TAG:", or (bare_ok) a bare
 * word of letters, digits and ._/- starting with a letter or digit and
 * followed by SP, TAB or the end. On a match sets *app, *proc and moves *i
 * past the TAG and the one SP (or TAB) after it.
 */
static void parse_tag(const char *p, size_t n, size_t *i, uint32_t base, bool bare_ok,
                      sr_slice_t *app, sr_slice_t *proc)
{
    size_t s = *i, j = *i, k, after;
    bool bare = true;

    for (; j < n && j - s <= TAG_MAX && tag_char(p[j]); j++) {
        if (!((p[j] >= 'a' && p[j] <= 'z') || (p[j] >= 'A' && p[j] <= 'Z') || is_digit(p[j]) ||
              p[j] == '.' || p[j] == '_' || p[j] == '/' || p[j] == '-')) {
            bare = false;
        }
    }
    if (j == s || j - s > TAG_MAX) {
        return;
    }
    if (j < n && p[j] == '[') {
        for (k = j + 1; k < n && k - j - 1 <= PID_MAX && tag_char(p[k]); k++) {
        }
        if (k >= n || p[k] != ']' || k == j + 1 || k - j - 1 > PID_MAX) {
            return;
        }
        *proc = (sr_slice_t){base + (uint32_t)(j + 1), (uint32_t)(k - j - 1)};
        after = k + 1;
        if (after < n && p[after] == ':') {
            after++;
        }
    } else if (j < n && p[j] == ':') {
        after = j + 1;
    } else if (bare_ok && bare && (j == n || p[j] == ' ' || p[j] == '\t') &&
               (is_digit(p[s]) || (p[s] >= 'a' && p[s] <= 'z') || (p[s] >= 'A' && p[s] <= 'Z'))) {
        after = j;
    } else {
        return;
    }
    *app = (sr_slice_t){base + (uint32_t)s, (uint32_t)(j - s)};
    if (after < n && (p[after] == ' ' || p[after] == '\t')) {
        after++;
    }
    *i = after;
}

/*
 * The parse operation (see parser.h and the top of this file). Returns OK,
 * or NOT_MINE (no PRI and no readable timestamp, or an invalid PRI) after
 * resetting the record's fields. Never MALFORMED: an unreadable header
 * makes the rest of the frame the message.
 */
static sr_parse_result_t parse_rfc3164(sr_record_t *rec, const sr_parse_ctx_t *ctx,
                                       const char **reason)
{
    const char *p = sr_record_ptr(rec, rec->raw);
    size_t n = rec->raw.len, i, j, k;
    uint32_t base = rec->raw.off;
    sr_slice_t ts = SR_SLICE_NULL, host = SR_SLICE_NULL, app = SR_SLICE_NULL;
    sr_slice_t proc = SR_SLICE_NULL;
    bsd_time_t bt;
    bool is3339 = false, utc = false;
    int pri = 13;

    i = sr_parse_pri(p, n, &pri);
    if (i == 0 && n > 0 && p[0] == '<') {
        *reason = "invalid PRI";
        goto not_mine;
    }
    if (i == 0 && time_len(p, n, &bt, &is3339) == 0) {
        *reason = "no PRI";
        goto not_mine;
    }

    /* Cisco IOS sequence number "123: ", before a time or a "%FAC-S-MNEMO". */
    for (j = i; j < n && is_digit(p[j]) && j - i < 10; j++) {
    }
    if (j > i && j + 1 < n && p[j] == ':' && p[j + 1] == ' ') {
        k = j + 2;
        if (k < n && (p[k] == '*' || p[k] == '.')) {
            k++;
        }
        if (k < n && (p[k] == '%' || time_len(p + k, n - k, &bt, &is3339) > 0)) {
            i = j + 2;
        }
    }
    /* Cisco IOS marks an unsynchronised clock with '*' (or '.'). */
    if (i + 1 < n && (p[i] == '*' || p[i] == '.') &&
        time_len(p + i + 1, n - i - 1, &bt, &is3339) > 0) {
        i++;
    }

    k = time_len(p + i, n - i, &bt, &is3339);
    if (k > 0) {
        if (is3339) {
            ts = (sr_slice_t){base + (uint32_t)i, (uint32_t)k};
        }
        i += k;
        /* Cisco: a zone name closed by ':' ("... 22:42:07.123 UTC: ..."). */
        if (i < n && p[i] == ' ') {
            for (j = i + 1; j < n && j - i - 1 < 6 && p[j] >= 'A' && p[j] <= 'Z'; j++) {
            }
            if (j - i - 1 >= 1 && j < n && p[j] == ':') {
                utc = (j - i - 1 == 3 &&
                       (memcmp(p + i + 1, "UTC", 3) == 0 || memcmp(p + i + 1, "GMT", 3) == 0)) ||
                      (j - i - 1 == 1 && p[i + 1] == 'Z');
                i = j;
            }
        }
        if (i < n && p[i] == ':') {
            i++;
        }
        while (i < n && p[i] == ' ') {
            i++;
        }
        for (j = i; j < n && p[j] != ' '; j++) {
        }
        if (j > i && !tag_word(p + i, j - i) && host_word(p + i, j - i)) {
            host = (sr_slice_t){base + (uint32_t)i, (uint32_t)(j - i)};
            i = j;
            while (i < n && p[i] == ' ') {
                i++;
            }
        }
        /* Cisco ASA with a device id: "asa01 : %ASA-6-302013: ...". */
        if (i + 1 < n && p[i] == ':' && p[i + 1] == ' ') {
            i += 2;
        }
        parse_tag(p, n, &i, base, true, &app, &proc);
        if (!is3339) {
            ts = complete_time(rec, &bt, ctx, utc);
        }
    } else {
        parse_tag(p, n, &i, base, false, &app, &proc);
    }

    rec->format = SR_FORMAT_RFC3164;
    rec->facility = (uint8_t)(pri >> 3);
    rec->severity = (uint8_t)(pri & 7);
    rec->version = -1;
    rec->timestamp = ts;
    rec->hostname = host;
    rec->app_name = app;
    rec->procid = proc;
    rec->msgid = SR_SLICE_NULL;
    rec->message = (sr_slice_t){base + (uint32_t)i, (uint32_t)(n - i)};
    rec->parse_error = NULL;
    return SR_PARSE_OK;

not_mine:
    sr_record_reset_fields(rec);
    return SR_PARSE_NOT_MINE;
}

const sr_parser_t sr_parser_rfc3164 = {
    .name = "rfc3164",
    .parse = parse_rfc3164,
};
