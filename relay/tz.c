/*
 * tz.c: time zones for RFC 3164 timestamps (see tz.h).
 *
 * A zone is a fixed offset ("UTC", "Z", "+hh:mm", "-hh:mm") or an IANA name
 * read from a TZif file (RFC 8536, versions 1 to 3) under $TZDIR or
 * /usr/share/zoneinfo. The file's transitions are used as they are; past
 * the last one, the POSIX TZ rule in the v2+ footer is expanded into
 * explicit transitions up to the year 2200, so every lookup is one binary
 * search over a table built at load time.
 *
 * The only question asked of a zone is "which UTC offset applies at this
 * local wall-clock time?". Around a transition that has no single answer,
 * and we answer deterministically with the offset in force BEFORE the
 * transition:
 *   - a gap (spring forward, e.g. 02:30 on the day Berlin goes 02:00 ->
 *     03:00): the old, standard offset (+01:00), as read on a clock that
 *     has not jumped yet;
 *   - an overlap (fall back, e.g. 02:30 twice in Berlin): the first
 *     occurrence, i.e. the old, daylight offset (+02:00).
 *
 * The zone owns its tables; loaded once at configuration time, read-only
 * afterwards, and safe to share between threads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "civil.h"
#include "tz.h"

#define TZ_MAX_FILE (1024 * 1024)
#define TZ_RULE_LAST_YEAR 2200

struct sr_tz_s {
    char *name;
    /* Transition i applies to local times L < thr[i] with offset before[i];
     * local times at or after the last threshold use `last`. */
    size_t n;
    int64_t *thr;
    int32_t *before;
    int32_t last;
};

/* A UTC transition while building the table. */
typedef struct trans_s {
    int64_t at;  /* UTC seconds */
    int32_t off; /* offset from then on */
} trans_t;

typedef struct trans_vec_s {
    trans_t *v;
    size_t n;
    size_t cap;
} trans_vec_t;

static void trans_push(trans_vec_t *tv, int64_t at, int32_t off)
{
    if (tv->n == tv->cap) {
        tv->cap = tv->cap ? tv->cap * 2 : 64;
        tv->v = sr_realloc(tv->v, tv->cap * sizeof(*tv->v));
    }
    tv->v[tv->n].at = at;
    tv->v[tv->n].off = off;
    tv->n++;
}

/* ---- Fixed offsets ---------------------------------------------------- */

/* "+hh:mm" / "-hh:mm" with hh 00-23 and mm 00-59; returns 0 and *off. */
static int parse_fixed(const char *s, int32_t *off)
{
    int h, m;

    if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') {
        return -1;
    }
    if (s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' || s[4] < '0' || s[4] > '9' ||
        s[5] < '0' || s[5] > '9') {
        return -1;
    }
    h = (s[1] - '0') * 10 + (s[2] - '0');
    m = (s[4] - '0') * 10 + (s[5] - '0');
    if (h > 23 || m > 59) {
        return -1;
    }
    *off = (h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
    return 0;
}

/* ---- POSIX TZ rules (the TZif footer) --------------------------------- */

typedef struct rule_date_s {
    char kind; /* 'J' Julian 1-365 without Feb 29, 'N' zero-based day, 'M' month.week.day */
    int a, b, c;
    int32_t time; /* local seconds after midnight; may be negative or > 24h */
} rule_date_t;

typedef struct posix_tz_s {
    int32_t std_off; /* seconds east of UTC */
    int32_t dst_off;
    bool has_dst;
    rule_date_t start, end;
} posix_tz_t;

static bool parse_num(const char **pp, const char *end, int maxdigits, int *out)
{
    const char *p = *pp;
    int v = 0, n = 0;

    while (p < end && *p >= '0' && *p <= '9' && n < maxdigits) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n == 0) {
        return false;
    }
    *pp = p;
    *out = v;
    return true;
}

/* [+-]hh[:mm[:ss]] into seconds (sign as written). */
static bool parse_hms(const char **pp, const char *end, int32_t *out)
{
    const char *p = *pp;
    int sign = 1, h = 0, m = 0, s = 0;

    if (p < end && (*p == '+' || *p == '-')) {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (!parse_num(&p, end, 3, &h) || h > 167) {
        return false;
    }
    if (p < end && *p == ':') {
        p++;
        if (!parse_num(&p, end, 2, &m) || m > 59) {
            return false;
        }
        if (p < end && *p == ':') {
            p++;
            if (!parse_num(&p, end, 2, &s) || s > 59) {
                return false;
            }
        }
    }
    *pp = p;
    *out = sign * (h * 3600 + m * 60 + s);
    return true;
}

static bool parse_tzname(const char **pp, const char *end)
{
    const char *p = *pp;
    size_t n = 0;

    if (p < end && *p == '<') {
        p++;
        while (p < end && *p != '>') {
            p++;
            n++;
        }
        if (p >= end || n < 3) {
            return false;
        }
        *pp = p + 1;
        return true;
    }
    while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) {
        p++;
        n++;
    }
    if (n < 3) {
        return false;
    }
    *pp = p;
    return true;
}

static bool parse_rule_date(const char **pp, const char *end, rule_date_t *rd)
{
    const char *p = *pp;

    rd->time = 7200;
    if (p < end && *p == 'J') {
        p++;
        rd->kind = 'J';
        if (!parse_num(&p, end, 3, &rd->a) || rd->a < 1 || rd->a > 365) {
            return false;
        }
    } else if (p < end && *p == 'M') {
        p++;
        rd->kind = 'M';
        if (!parse_num(&p, end, 2, &rd->a) || rd->a < 1 || rd->a > 12 || p >= end || *p != '.') {
            return false;
        }
        p++;
        if (!parse_num(&p, end, 1, &rd->b) || rd->b < 1 || rd->b > 5 || p >= end || *p != '.') {
            return false;
        }
        p++;
        if (!parse_num(&p, end, 1, &rd->c) || rd->c > 6) {
            return false;
        }
    } else {
        rd->kind = 'N';
        if (!parse_num(&p, end, 3, &rd->a) || rd->a > 365) {
            return false;
        }
    }
    if (p < end && *p == '/') {
        p++;
        if (!parse_hms(&p, end, &rd->time)) {
            return false;
        }
    }
    *pp = p;
    return true;
}

/* Parse a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". */
static bool parse_posix_tz(const char *p, const char *end, posix_tz_t *pt)
{
    int32_t off;

    memset(pt, 0, sizeof(*pt));
    if (!parse_tzname(&p, end) || !parse_hms(&p, end, &off)) {
        return false;
    }
    pt->std_off = -off; /* POSIX offsets count west of UTC */
    if (p == end) {
        return true;
    }
    if (!parse_tzname(&p, end)) {
        return false;
    }
    pt->has_dst = true;
    pt->dst_off = pt->std_off + 3600;
    if (p < end && *p != ',') {
        if (!parse_hms(&p, end, &off)) {
            return false;
        }
        pt->dst_off = -off;
    }
    if (p == end) {
        /* No rule given: the traditional US default. */
        pt->start = (rule_date_t){'M', 3, 2, 0, 7200};
        pt->end = (rule_date_t){'M', 11, 1, 0, 7200};
        return true;
    }
    if (*p != ',') {
        return false;
    }
    p++;
    if (!parse_rule_date(&p, end, &pt->start) || p >= end || *p != ',') {
        return false;
    }
    p++;
    if (!parse_rule_date(&p, end, &pt->end)) {
        return false;
    }
    return p == end;
}

/* Local seconds since the epoch at which rule date rd happens in year y. */
static int64_t rule_local_time(const rule_date_t *rd, int64_t y)
{
    int64_t day;

    if (rd->kind == 'J') {
        day = sr_days_from_civil(y, 1, 1) + rd->a - 1;
        if (sr_is_leap(y) && rd->a >= 60) {
            day++;
        }
    } else if (rd->kind == 'N') {
        day = sr_days_from_civil(y, 1, 1) + rd->a;
    } else {
        int64_t first = sr_days_from_civil(y, rd->a, 1);
        int wday = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        int64_t d = first + ((rd->c - wday) + 7) % 7 + (int64_t)(rd->b - 1) * 7;

        while (d >= first + sr_days_in_month(y, rd->a)) {
            d -= 7;
        }
        day = d;
    }
    return day * 86400 + rd->time;
}

static int trans_cmp(const void *a, const void *b)
{
    const trans_t *x = a, *y = b;

    return x->at < y->at ? -1 : x->at > y->at;
}

/* Append the rule's transitions after `after` (UTC) up to TZ_RULE_LAST_YEAR. */
static void expand_rule(trans_vec_t *tv, const posix_tz_t *pt, int64_t after, int64_t from_year)
{
    int64_t y;
    trans_t pair[2];
    int i;

    for (y = from_year; y <= TZ_RULE_LAST_YEAR; y++) {
        pair[0].at = rule_local_time(&pt->start, y) - pt->std_off;
        pair[0].off = pt->dst_off;
        pair[1].at = rule_local_time(&pt->end, y) - pt->dst_off;
        pair[1].off = pt->std_off;
        qsort(pair, 2, sizeof(pair[0]), trans_cmp);
        for (i = 0; i < 2; i++) {
            if (pair[i].at > after) {
                trans_push(tv, pair[i].at, pair[i].off);
            }
        }
    }
}

/* ---- TZif ------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_hdr_s {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_hdr_t;

static bool read_hdr(const unsigned char *p, size_t n, tzif_hdr_t *h, int *version)
{
    if (n < 44 || memcmp(p, "TZif", 4) != 0) {
        return false;
    }
    *version = p[4] == 0 ? 1 : p[4] - '0';
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > 100000 || h->leapcnt > 100000 ||
        h->charcnt > 100000 || (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
        return false;
    }
    return true;
}

static size_t block_size(const tzif_hdr_t *h, size_t tsize)
{
    return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/*
 * Decode a TZif image into UTC transitions (plus the rule beyond them).
 * Returns 0, or -1 when the data is not a well-formed TZif file.
 */
static int decode_tzif(const unsigned char *buf, size_t n, trans_vec_t *tv, int32_t *initial)
{
    tzif_hdr_t h;
    int version;
    size_t tsize = 4, off = 44, need, i;
    const unsigned char *times, *idx, *types;
    posix_tz_t pt;
    bool have_rule = false;

    if (!read_hdr(buf, n, &h, &version)) {
        return -1;
    }
    need = block_size(&h, 4);
    if (need > n - off) {
        return -1;
    }
    if (version >= 2) {
        off += need;
        if (!read_hdr(buf + off, n - off, &h, &version)) {
            return -1;
        }
        off += 44;
        tsize = 8;
        need = block_size(&h, 8);
        if (need > n - off) {
            return -1;
        }
    }
    times = buf + off;
    idx = times + (size_t)h.timecnt * tsize;
    types = idx + h.timecnt;
    for (i = 0; i < h.timecnt; i++) {
        if (idx[i] >= h.typecnt) {
            return -1;
        }
    }
    /* Local time before the first transition uses type 0 (RFC 8536 3.2). */
    *initial = (int32_t)be32(types);
    for (i = 0; i < h.timecnt; i++) {
        int64_t at = tsize == 8 ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
        int32_t o = (int32_t)be32(types + (size_t)idx[i] * 6);

        if (o < -26 * 3600 || o > 26 * 3600) {
            return -1;
        }
        trans_push(tv, at, o);
    }
    if (version >= 2) {
        const unsigned char *f = buf + off + need, *e = buf + n, *nl;

        if (f < e && *f == '\n') {
            nl = memchr(f + 1, '\n', (size_t)(e - f - 1));
            if (nl != NULL && nl > f + 1 &&
                parse_posix_tz((const char *)f + 1, (const char *)nl, &pt)) {
                have_rule = true;
            }
        }
    }
    if (have_rule) {
        int64_t after = tv->n ? tv->v[tv->n - 1].at : INT64_MIN;
        int64_t from = 1970;

        if (tv->n) {
            /* The rule applies from the year of the last transition on. */
            from = 1970 + tv->v[tv->n - 1].at / (int64_t)(365.2425 * 86400) - 1;
        }
        if (!pt.has_dst) {
            if (tv->n == 0) {
                *initial = pt.std_off;
            } else if (tv->v[tv->n - 1].off != pt.std_off) {
                trans_push(tv, tv->v[tv->n - 1].at + 1, pt.std_off);
            }
        } else {
            expand_rule(tv, &pt, after, from);
        }
    }
    return 0;
}

/* Turn UTC transitions into local thresholds (see struct sr_tz_s). */
static void build_table(sr_tz_t *tz, const trans_vec_t *tv, int32_t initial)
{
    size_t i, k = 0;
    int32_t prev = initial;

    tz->thr = sr_malloc((tv->n ? tv->n : 1) * sizeof(*tz->thr));
    tz->before = sr_malloc((tv->n ? tv->n : 1) * sizeof(*tz->before));
    for (i = 0; i < tv->n; i++) {
        int32_t cur = tv->v[i].off;

        if (cur == prev) {
            continue; /* an isdst or abbreviation change only */
        }
        tz->thr[k] = tv->v[i].at + SR_MAX(prev, cur);
        tz->before[k] = prev;
        /* Keep thresholds increasing, whatever odd data says. */
        if (k > 0 && tz->thr[k] <= tz->thr[k - 1]) {
            tz->thr[k] = tz->thr[k - 1] + 1;
        }
        k++;
        prev = cur;
    }
    tz->n = k;
    tz->last = prev;
}

static bool name_ok(const char *name)
{
    const char *p;

    if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 255) {
        return false;
    }
    for (p = name; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+' || *p == '.')) {
            return false;
        }
    }
    return true;
}

static int read_file(const char *path, unsigned char **out, size_t *outlen)
{
    FILE *f;
    unsigned char *buf;
    size_t n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return -errno;
    }
    buf = sr_malloc(TZ_MAX_FILE);
    n = fread(buf, 1, TZ_MAX_FILE, f);
    if (ferror(f)) {
        fclose(f);
        free(buf);
        return -EIO;
    }
    fclose(f);
    *out = buf;
    *outlen = n;
    return 0;
}

/*
 * Load a zone by name: "UTC", "Z", "+hh:mm", "-hh:mm" or an IANA name.
 * Returns 0 with *out (free with sr_tz_free), or SR_ECONFIG with a message
 * in err. Names with "..", a leading "/" or unusual characters are refused
 * before any file is opened.
 */
int sr_tz_load(const char *name, sr_tz_t **out, char *err, size_t errlen)
{
    sr_tz_t *tz = NULL;
    int32_t fixed = 0;
    const char *dir;
    char *path = NULL;
    unsigned char *buf = NULL;
    size_t n = 0;
    trans_vec_t tv = {NULL, 0, 0};
    int32_t initial = 0;
    int rc;

    *out = NULL;
    if (name == NULL) {
        name = "UTC";
    }
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Z") == 0 || parse_fixed(name, &fixed) == 0) {
        tz = sr_calloc(1, sizeof(*tz));
        tz->name = sr_strdup(name);
        tz->last = (name[0] == '+' || name[0] == '-') ? fixed : 0;
        *out = tz;
        return 0;
    }
    if (!name_ok(name)) {
        snprintf(err, errlen,
                 "invalid time zone name '%.64s' (expected an IANA name such as "
                 "Europe/Berlin, UTC, or +hh:mm)",
                 name);
        return SR_ECONFIG;
    }
    dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = "/usr/share/zoneinfo";
    }
    path = sr_asprintf("%s/%s", dir, name);
    rc = read_file(path, &buf, &n);
    if (rc < 0) {
        snprintf(err, errlen, "unknown time zone '%.64s' (%s: %s)", name, path, strerror(-rc));
        goto fail;
    }
    if (decode_tzif(buf, n, &tv, &initial) < 0) {
        snprintf(err, errlen, "time zone '%.64s': %s is not a valid TZif file", name, path);
        goto fail;
    }
    tz = sr_calloc(1, sizeof(*tz));
    tz->name = sr_strdup(name);
    build_table(tz, &tv, initial);
    free(tv.v);
    free(buf);
    free(path);
    *out = tz;
    return 0;

fail:
    free(tv.v);
    free(buf);
    free(path);
    return SR_ECONFIG;
}

void sr_tz_free(sr_tz_t *tz)
{
    if (tz == NULL) {
        return;
    }
    free(tz->thr);
    free(tz->before);
    free(tz->name);
    free(tz);
}

/*
 * The offset (seconds east of UTC) for a local wall-clock time; in a gap or
 * an overlap, the offset in force before the transition (see the top of
 * this file). NULL tz is UTC.
 */
int32_t sr_tz_offset_for_local(const sr_tz_t *tz, int64_t local_seconds)
{
    size_t lo = 0, hi;

    if (tz == NULL) {
        return 0;
    }
    hi = tz->n;
    /* First threshold greater than local_seconds. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (tz->thr[mid] > local_seconds) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo < tz->n ? tz->before[lo] : tz->last;
}

const char *sr_tz_name(const sr_tz_t *tz)
{
    return tz == NULL ? "UTC" : tz->name;
}
