/*
 * format.c: the record writers every output shares (see format.h): the
 * JSON record of INTERFACE.md, RFC 5424, RFC 3164 and raw.
 *
 * Writers only read the record (it is shared and read-only once the
 * pipeline is done) and append to the caller's sr_buf_t; they add no
 * trailing newline. They hold no state and are safe on any thread.
 *
 * JSON strings are always valid UTF-8: every ill-formed sequence becomes
 * U+FFFD, one per maximal subpart (the Unicode "substitution of maximal
 * subparts" practice, also what the WHATWG decoder does), so the output
 * does not depend on how the garbage is split.
 *
 * Structured data in JSON: {"SD-ID": {"name": "value"}}, values unescaped.
 * A name repeated within one element gives an array of its values in
 * order. Two elements with the same SD-ID (legal on the wire but not in a
 * JSON object) are merged into one object, in the order of first
 * appearance, and a name repeated across them is an array too. The
 * grouping sorts indices, so a hostile message with thousands of elements
 * costs O(n log n), not O(n^2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SR_JSON_AVX2 1
#endif

#include "format.h"

/* A string shorter than 16 bytes is checked and copied as one 16-byte
 * load and store when those cannot cross into another page. The load
 * then reads past the string's end (never past its page, so it cannot
 * fault; an empty string is not read at all, as it may point past the
 * end of a mapping); AddressSanitizer would rightly report that, so its
 * builds take the byte-wise path. */
#if defined(__SSE2__) && !defined(SR_ASAN)
#define SR_JSON_OVERREAD 1
#endif

static const char *const facility_names[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "solaris-cron",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7",
};

static const char *const severity_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static const char *const month_names[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* NULL for a facility outside 0-23. */
const char *sr_facility_name(int facility)
{
    if (facility < 0 || facility >= (int)SR_ARRAY_SIZE(facility_names)) {
        return NULL;
    }
    return facility_names[facility];
}

/* NULL for a severity outside 0-7. */
const char *sr_severity_name(int severity)
{
    if (severity < 0 || severity >= (int)SR_ARRAY_SIZE(severity_names)) {
        return NULL;
    }
    return severity_names[severity];
}

/* ---- JSON strings -------------------------------------------------------------------------- */

/* Writing through a cursor: room_at() makes room for at most `room` more
 * bytes (and the terminator) and returns where they go; room_end() takes
 * the cursor back, setting the length and the NUL. Inline: the writers do
 * this a few dozen times per record, and there is almost always room. */
static inline char *room_at(sr_buf_t *out, size_t room)
{
    if (out->len + room + 1 > out->cap) {
        sr_buf_reserve(out, room);
    }
    return out->base + out->len;
}

static inline void room_end(sr_buf_t *out, char *o)
{
    out->len = (size_t)(o - out->base);
    out->base[out->len] = '\0';
}

/* The same result as sr_buf_append, inline. */
static inline void buf_put(sr_buf_t *out, const void *p, size_t n)
{
    char *o = room_at(out, n);

    memcpy(o, p, n);
    room_end(out, o + n);
}

static const char hexdig[] = "0123456789abcdef";

int sr_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    int need, i;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) {
            lo = 0xA0; /* overlong */
        } else if (c == 0xED) {
            hi = 0x9F; /* surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) {
            lo = 0x90; /* overlong */
        } else if (c == 0xF4) {
            hi = 0x8F; /* above U+10FFFF */
        }
    } else {
        return -1; /* continuation byte, C0, C1, F5-FF */
    }
    for (i = 1; i < need; i++) {
        if ((size_t)i >= n || p[i] < lo || p[i] > hi) {
            return -i;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

/* Per byte: 0 passes through a JSON string untouched, 1 needs an escape
 * (control, '"', '\\'), 2 starts a UTF-8 sequence to check. */
static const unsigned char json_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Word-at-a-time byte tests: ONES has 0x01 in every byte; ZERO_IN(v) has
 * the high bit set in some byte where v has a zero byte (and possibly
 * above it, which only makes the test conservative). */
#define ONES 0x0101010101010101ull
#define ZERO_IN(v) (((v) - ONES) & ~(v))

/* Whether any of 8 bytes is a control, '"', '\\' or non-ASCII. */
static inline bool json_bad8(uint64_t x)
{
    return (((x - ONES * 0x20) | ZERO_IN(x ^ (ONES * '"')) | ZERO_IN(x ^ (ONES * '\\')) | x) &
            ONES * 0x80) != 0;
}

#if defined(__SSE2__)
/* The same for 16 bytes: a signed compare with 0x20 catches both
 * controls and bytes >= 0x80. */
static inline unsigned json_bad16_mask(__m128i x)
{
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                               _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                            _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));

    return (unsigned)_mm_movemask_epi8(bad);
}

static inline bool json_bad16(__m128i x)
{
    return json_bad16_mask(x) != 0;
}
#endif

#if defined(SR_JSON_AVX2)
/*
 * The same check 32 bytes at a time, on processors with AVX2 (chosen at
 * run time; the rest of the file is built for the baseline): copies
 * p[0..n) to o while no byte needs more than a copy and returns how many
 * bytes it copied, a multiple of 32.
 */
__attribute__((target("avx2"))) static size_t json_plain32(char *o, const unsigned char *p,
                                                          size_t n)
{
    size_t i = 0;

    while (i + 32 <= n) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i bad = _mm256_or_si256(
            _mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), x),
            _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('"')),
                            _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\\'))));

        if (!_mm256_testz_si256(bad, bad)) {
            break;
        }
        _mm256_storeu_si256((__m256i *)(o + i), x);
        i += 32;
    }
    return i;
}
#endif

/*
 * Write the escaped body of a JSON string (no quotes) at o, which has room
 * for 6 bytes per input byte (\u00XX; U+FFFD is 3 bytes for at least 1)
 * and 16 more, and return the end. Bytes that need nothing are copied as
 * they are checked, 32, 16 or 8 at a time: this is the hottest loop of the
 * file output.
 */
static inline char *json_escape_to(char *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int k;

#if defined(SR_JSON_OVERREAD)
    if (n - 1 < 15 && ((uintptr_t)p & 4095) <= 4096 - 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);

        if ((json_bad16_mask(x) & ((1u << n) - 1)) == 0) {
            _mm_storeu_si128((__m128i *)o, x);
            return o + n;
        }
    }
#endif
    while (i < n) {
#if defined(SR_JSON_AVX2)
        /* Long runs (a message) 32 bytes at a time where the processor
         * can. */
        if (n - i >= 64 && __builtin_cpu_supports("avx2")) {
            size_t c = json_plain32(o, p + i, n - i);

            o += c;
            i += c;
        }
#endif
#if defined(__SSE2__)
        /* Sixteen bytes at a time while none needs more than a copy
         * (the usual case for a whole message). */
        while (i + 16 <= n) {
            __m128i x = _mm_loadu_si128((const __m128i *)(p + i));

            if (json_bad16(x)) {
                break;
            }
            _mm_storeu_si128((__m128i *)o, x);
            o += 16;
            i += 16;
        }
        if (i + 16 > n && n >= 16 && i < n) {
            /* Fewer than 16 left: check the last 16 bytes of the string
             * instead. If they all pass, the ones before i among them
             * passed too and are the last bytes written, so writing the
             * 16 again at their place ends the string. */
            __m128i x = _mm_loadu_si128((const __m128i *)(p + n - 16));

            if (!json_bad16(x)) {
                _mm_storeu_si128((__m128i *)(o - (i - (n - 16))), x);
                return o + (n - i);
            }
        }
#endif
        /* Eight bytes at a time, likewise, and the last eight. */
        while (i + 8 <= n) {
            uint64_t x;

            memcpy(&x, p + i, 8);
            if (json_bad8(x)) {
                break;
            }
            memcpy(o, &x, 8);
            o += 8;
            i += 8;
        }
        if (i + 8 > n && n >= 8 && i < n) {
            uint64_t x;

            memcpy(&x, p + n - 8, 8);
            if (!json_bad8(x)) {
                memcpy(o - (i - (n - 8)), &x, 8);
                return o + (n - i);
            }
        }
        while (i < n && json_class[p[i]] == 0) {
            *o++ = (char)p[i++];
        }
        if (i >= n) {
            break;
        }
        if (p[i] >= 0x80) {
            k = sr_utf8_seq(p + i, n - i);
            if (k > 0) {
                memcpy(o, p + i, (size_t)k);
                o += k;
                i += (size_t)k;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3);
                o += 3;
                i += (size_t)-k;
            }
            continue;
        }
        *o++ = '\\';
        switch (p[i]) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        default:
            o[0] = 'u';
            o[1] = '0';
            o[2] = '0';
            o[3] = hexdig[p[i] >> 4];
            o[4] = hexdig[p[i] & 0xF];
            o += 5;
            break;
        }
        i++;
    }
    return o;
}

/* The room a JSON string of n input bytes needs, quotes included: at
 * most 6 bytes per input byte and 2 quotes, and 16 more because a short
 * string may be copied with one 16-byte store (SR_JSON_OVERREAD). */
#define JSON_STR_MAX(n) (6 * (size_t)(n) + 2 + 16)

/* Write p[0..n) as a JSON string, quotes included, at o (which has
 * JSON_STR_MAX(n) bytes of room); return the end. */
static inline char *json_str_to(char *o, const char *p, size_t n)
{
    *o++ = '"';
    o = json_escape_to(o, p, n);
    *o++ = '"';
    return o;
}

/* Write a literal at o and move o past it. */
#define PUT_LIT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)

static inline void json_str(sr_buf_t *out, const char *p, size_t n)
{
    room_end(out, json_str_to(room_at(out, JSON_STR_MAX(n)), p, n));
}

void sr_json_string(sr_buf_t *out, const char *p, size_t n)
{
    json_str(out, p, n);
}

/* The room a slice needs as a JSON string or null. */
static size_t slice_room(sr_slice_t s)
{
    return sr_slice_present(s) ? JSON_STR_MAX(s.len) : 4;
}

static char *json_slice_to(char *o, const sr_record_t *r, sr_slice_t s)
{
    if (!sr_slice_present(s)) {
        PUT_LIT(o, "null");
        return o;
    }
    return json_str_to(o, sr_record_ptr(r, s), s.len);
}

static void json_slice(sr_buf_t *out, const sr_record_t *r, sr_slice_t s)
{
    room_end(out, json_slice_to(room_at(out, slice_room(s)), r, s));
}

/* ---- time ---------------------------------------------------------------------------------- */

static void split_us(int64_t us, time_t *sec, long *frac)
{
    int64_t s = us / 1000000, f = us % 1000000;

    if (f < 0) {
        f += 1000000;
        s -= 1;
    }
    *sec = (time_t)s;
    *frac = (long)f;
}

/* Write v as exactly `width` decimal digits ending just before end. */
static void put_digits(char *end, unsigned long v, int width)
{
    while (width-- > 0) {
        *--end = (char)('0' + v % 10);
        v /= 10;
    }
}

/*
 * The date and time part ("YYYY-MM-DDTHH:MM:SS") of the last second seen
 * on this thread: records arrive in bursts within one second, so gmtime_r
 * runs about once a second per thread instead of once per record.
 */
static __thread bool tcache_valid;
static __thread time_t tcache_sec;
static __thread char tcache_text[20];
/* And the whole text of the last instant: the records of one read share
 * their receive time, so most records repeat the one before. */
static __thread int64_t tcache_us;
static __thread char tcache_full[27];

/* The most time_us_to writes (the general path's widest year included). */
#define TIME_MAX 48

/* Write the receive time as RFC 3339 UTC with microseconds at o, which has
 * TIME_MAX bytes of room; return the end. */
static char *time_us_to(char *o, int64_t us)
{
    struct tm tm;
    time_t sec;
    long frac;

    if (tcache_valid && us == tcache_us) {
        memcpy(o, tcache_full, sizeof(tcache_full));
        return o + sizeof(tcache_full);
    }
    split_us(us, &sec, &frac);
    if (!tcache_valid || sec != tcache_sec) {
        bool failed = gmtime_r(&sec, &tm) == NULL;

        if (failed) {
            memset(&tm, 0, sizeof(tm));
            tm.tm_year = 70;
            tm.tm_mday = 1;
            frac = 0;
        }
        if (failed || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
            /* Outside what 4 digits hold, or the gmtime failure above:
             * the general path, never cached. */
            int n = snprintf(o, TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
                             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                             tm.tm_sec, frac);

            return o + (n < 0 ? 0 : n >= TIME_MAX ? TIME_MAX - 1 : n);
        }
        put_digits(tcache_text + 4, (unsigned long)(tm.tm_year + 1900), 4);
        tcache_text[4] = '-';
        put_digits(tcache_text + 7, (unsigned long)(tm.tm_mon + 1), 2);
        tcache_text[7] = '-';
        put_digits(tcache_text + 10, (unsigned long)tm.tm_mday, 2);
        tcache_text[10] = 'T';
        put_digits(tcache_text + 13, (unsigned long)tm.tm_hour, 2);
        tcache_text[13] = ':';
        put_digits(tcache_text + 16, (unsigned long)tm.tm_min, 2);
        tcache_text[16] = ':';
        put_digits(tcache_text + 19, (unsigned long)tm.tm_sec, 2);
        tcache_sec = sec;
        tcache_valid = true;
    }
    memcpy(tcache_full, tcache_text, 19);
    tcache_full[19] = '.';
    put_digits(tcache_full + 26, (unsigned long)frac, 6);
    tcache_full[26] = 'Z';
    tcache_us = us;
    memcpy(o, tcache_full, sizeof(tcache_full));
    return o + sizeof(tcache_full);
}

void sr_format_time_us(int64_t us, sr_buf_t *out)
{
    room_end(out, time_us_to(room_at(out, TIME_MAX), us));
}

/* ---- JSON record --------------------------------------------------------------------------- */

static int slice_cmp(const sr_record_t *r, sr_slice_t a, sr_slice_t b)
{
    size_t n = SR_MIN(a.len, b.len);
    int c = n ? memcmp(sr_record_ptr(r, a), sr_record_ptr(r, b), n) : 0;

    if (c != 0) {
        return c;
    }
    return a.len < b.len ? -1 : a.len > b.len;
}

/* Sort keys for grouping: (group, name, index) for params, (id, index) for elements. */
typedef struct sd_key_s {
    uint32_t idx;   /* element or param index */
    uint32_t group; /* params: canonical element of their SD-ID */
    sr_slice_t s;   /* id or name */
    const sr_record_t *r;
} sd_key_t;

static int key_cmp(const void *pa, const void *pb)
{
    const sd_key_t *a = pa, *b = pb;
    int c;

    if (a->group != b->group) {
        return a->group < b->group ? -1 : 1;
    }
    c = slice_cmp(a->r, a->s, b->s);
    if (c != 0) {
        return c;
    }
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool elem_sane(const sr_record_t *r, const sr_sd_elem_t *e)
{
    return sr_slice_present(e->id) && e->first <= r->n_sd_params &&
           e->count <= r->n_sd_params - e->first;
}

/* An array of n items: the inline room when it fits, else allocated. */
static void *room(void *inline_room, size_t inline_n, size_t n, size_t size)
{
    return n <= inline_n ? inline_room : sr_malloc((n ? n : 1) * size);
}

static void unroom(void *p, void *inline_room)
{
    if (p != inline_room) {
        sr_free(p);
    }
}

/*
 * Elements are grouped by sorting (id, index), params by sorting (group,
 * name, index): O(n log n) whatever a hostile sender puts in one message.
 * Scratch arrays live on the stack for small structured data.
 */
bool sr_sd_view_build(const sr_record_t *r, sr_sd_view_t *v)
{
    enum { SMALL = SR_SD_VIEW_INLINE };
    uint32_t ne = r->n_sd_elems, np = r->n_sd_params, i, j, k, p, q, nn = 0, nv = 0;
    uint32_t canon_s[SMALL], next_elem_s[SMALL], next_same_s[SMALL];
    uint8_t lead_s[SMALL];
    sd_key_t keys_s[SMALL];
    uint32_t *canon, *next_elem, *next_same;
    uint8_t *lead;
    sd_key_t *keys;

    v->n_groups = 0;
    if (ne == 0 || r->sd_elems == NULL) {
        v->groups = NULL;
        v->names = NULL;
        v->vals = NULL;
        return false;
    }
    canon = room(canon_s, SMALL, ne, sizeof(*canon));
    next_elem = room(next_elem_s, SMALL, ne, sizeof(*next_elem));
    next_same = room(next_same_s, SMALL, np, sizeof(*next_same));
    lead = room(lead_s, SMALL, np, 1);
    keys = room(keys_s, SMALL, SR_MAX(ne, np), sizeof(*keys));
    v->groups = room(v->groups_inline, SMALL, ne, sizeof(*v->groups));
    v->names = room(v->names_inline, SMALL, np, sizeof(*v->names));
    v->vals = room(v->vals_inline, SMALL, np, sizeof(*v->vals));
    memset(lead, 0, np ? np : 1);

    /* Elements by SD-ID: canon[e] is the first element with e's id;
     * next_elem chains the elements of one id in order. */
    for (i = 0, k = 0; i < ne; i++) {
        canon[i] = UINT32_MAX;
        next_elem[i] = UINT32_MAX;
        if (elem_sane(r, &r->sd_elems[i])) {
            keys[k++] = (sd_key_t){i, 0, r->sd_elems[i].id, r};
        }
    }
    qsort(keys, k, sizeof(*keys), key_cmp);
    for (i = 0; i < k; i++) {
        if (i > 0 && slice_cmp(r, keys[i - 1].s, keys[i].s) == 0) {
            canon[keys[i].idx] = canon[keys[i - 1].idx];
            next_elem[keys[i - 1].idx] = keys[i].idx;
        } else {
            canon[keys[i].idx] = keys[i].idx;
        }
    }

    /* Params by (group, name): the first of a run leads it, next_same
     * chains the others in order. */
    for (i = 0; i < np; i++) {
        next_same[i] = UINT32_MAX;
    }
    for (i = 0, k = 0; i < ne; i++) {
        if (canon[i] == UINT32_MAX) {
            continue;
        }
        for (j = 0; j < r->sd_elems[i].count; j++) {
            p = r->sd_elems[i].first + j;
            if (sr_slice_present(r->sd_params[p].name)) {
                keys[k++] = (sd_key_t){p, canon[i], r->sd_params[p].name, r};
            }
        }
    }
    qsort(keys, k, sizeof(*keys), key_cmp);
    for (i = 0; i < k; i++) {
        if (i > 0 && keys[i - 1].group == keys[i].group &&
            slice_cmp(r, keys[i - 1].s, keys[i].s) == 0) {
            next_same[keys[i - 1].idx] = keys[i].idx;
        } else {
            lead[keys[i].idx] = 1;
        }
    }

    /* Walk in output order: groups by first element, names by first use. */
    for (i = 0; i < ne; i++) {
        sr_sd_group_t *g;

        if (canon[i] != i) {
            continue; /* not sane, or merged into an earlier element */
        }
        g = &v->groups[v->n_groups++];
        g->id = r->sd_elems[i].id;
        g->first_name = nn;
        g->n_names = 0;
        for (j = i; j != UINT32_MAX; j = next_elem[j]) {
            const sr_sd_elem_t *e = &r->sd_elems[j];

            for (p = e->first; p < e->first + e->count; p++) {
                sr_sd_name_t *nm;

                if (!lead[p]) {
                    continue;
                }
                nm = &v->names[nn++];
                g->n_names++;
                nm->name = r->sd_params[p].name;
                nm->first_val = nv;
                nm->n_vals = 0;
                for (q = p; q != UINT32_MAX; q = next_same[q]) {
                    v->vals[nv++] = q;
                    nm->n_vals++;
                }
            }
        }
    }

    unroom(keys, keys_s);
    unroom(lead, lead_s);
    unroom(next_same, next_same_s);
    unroom(next_elem, next_elem_s);
    unroom(canon, canon_s);
    return true;
}

void sr_sd_view_free(sr_sd_view_t *v)
{
    if (v->groups != NULL) {
        unroom(v->groups, v->groups_inline);
        unroom(v->names, v->names_inline);
        unroom(v->vals, v->vals_inline);
    }
    v->groups = NULL;
    v->names = NULL;
    v->vals = NULL;
    v->n_groups = 0;
}

static void json_sd_value(sr_buf_t *out, const sr_record_t *r, sr_slice_t v, sr_buf_t *tmp)
{
    if (!sr_slice_present(v)) {
        buf_put(out, "null", 4);
        return;
    }
    sr_buf_reset(tmp);
    sr_sd_unescape(sr_record_ptr(r, v), v.len, tmp);
    json_str(out, tmp->base ? tmp->base : "", tmp->len);
}

/* Write the structured_data value (an object, or null when there is none). */
static void json_sd(sr_buf_t *out, const sr_record_t *r)
{
    sr_sd_view_t v;
    sr_buf_t tmp;
    uint32_t g, n, k;

    if (!sr_sd_view_build(r, &v)) {
        buf_put(out, "null", 4);
        return;
    }
    sr_buf_init(&tmp);
    sr_buf_putc(out, '{');
    for (g = 0; g < v.n_groups; g++) {
        const sr_sd_group_t *gr = &v.groups[g];

        if (g > 0) {
            sr_buf_putc(out, ',');
        }
        json_slice(out, r, gr->id);
        buf_put(out, ":{", 2);
        for (n = gr->first_name; n < gr->first_name + gr->n_names; n++) {
            const sr_sd_name_t *nm = &v.names[n];

            if (n > gr->first_name) {
                sr_buf_putc(out, ',');
            }
            json_slice(out, r, nm->name);
            sr_buf_putc(out, ':');
            if (nm->n_vals == 1) {
                json_sd_value(out, r, r->sd_params[v.vals[nm->first_val]].value, &tmp);
                continue;
            }
            sr_buf_putc(out, '[');
            for (k = nm->first_val; k < nm->first_val + nm->n_vals; k++) {
                if (k > nm->first_val) {
                    sr_buf_putc(out, ',');
                }
                json_sd_value(out, r, r->sd_params[v.vals[k]].value, &tmp);
            }
            sr_buf_putc(out, ']');
        }
        sr_buf_putc(out, '}');
    }
    sr_buf_putc(out, '}');
    sr_buf_free(&tmp);
    sr_sd_view_free(&v);
}

const char *sr_format_name(int format)
{
    switch (format) {
    case SR_FORMAT_RFC5424:
        return "rfc5424";
    case SR_FORMAT_RFC3164:
        return "rfc3164";
    default:
        return "raw";
    }
}

/* Write a non-negative int below 1000 in decimal (the record's small
 * numbers) at o, without printf; return the end. */
static char *small_int_to(char *o, int v)
{
    int n = v >= 100 ? 3 : v >= 10 ? 2 : 1;

    put_digits(o + n, (unsigned long)v, n);
    return o + n;
}

/* The keys, punctuation, numbers and `null`s of one record, with margin. */
#define JSON_FIXED_MAX 320

/*
 * The record is written through a cursor into room reserved once for the
 * whole record (every string at its worst case), without a length check
 * or terminator per piece; only structured data, whose size depends on
 * its unescaping, goes through the buffer's own appends.
 */
void sr_format_json(const sr_record_t *r, sr_buf_t *out)
{
    size_t src_n = strnlen(r->source, sizeof(r->source));
    const char *in_name = r->input_name != NULL ? r->input_name : "";
    size_t in_n = strlen(in_name);
    size_t err_n = r->parse_error != NULL ? strlen(r->parse_error) : 0;
    sr_slice_t msg = sr_slice_present(r->message) ? r->message : (sr_slice_t){0, 0};
    char *o = room_at(out, JSON_FIXED_MAX + TIME_MAX + slice_room(r->timestamp) +
                               JSON_STR_MAX(src_n) + JSON_STR_MAX(in_n) + slice_room(r->hostname) +
                               slice_room(r->app_name) + slice_room(r->procid) +
                               slice_room(r->msgid) + JSON_STR_MAX(msg.len) + JSON_STR_MAX(err_n));

    PUT_LIT(o, "{\"timestamp\":");
    o = json_slice_to(o, r, r->timestamp);
    PUT_LIT(o, ",\"received_at\":\"");
    o = time_us_to(o, r->received_us);
    PUT_LIT(o, "\",\"source\":");
    o = json_str_to(o, r->source, src_n);
    PUT_LIT(o, ",\"input\":");
    o = json_str_to(o, in_name, in_n);
    switch (r->format) {
    case SR_FORMAT_RFC5424:
        PUT_LIT(o, ",\"format\":\"rfc5424\",\"facility\":");
        break;
    case SR_FORMAT_RFC3164:
        PUT_LIT(o, ",\"format\":\"rfc3164\",\"facility\":");
        break;
    default:
        PUT_LIT(o, ",\"format\":\"raw\",\"facility\":");
        break;
    }
    o = small_int_to(o, r->facility);
    PUT_LIT(o, ",\"severity\":");
    o = small_int_to(o, r->severity);
    PUT_LIT(o, ",\"version\":");
    if (r->version > 0) {
        o = small_int_to(o, r->version);
    } else {
        PUT_LIT(o, "null");
    }
    PUT_LIT(o, ",\"hostname\":");
    o = json_slice_to(o, r, r->hostname);
    PUT_LIT(o, ",\"app_name\":");
    o = json_slice_to(o, r, r->app_name);
    PUT_LIT(o, ",\"procid\":");
    o = json_slice_to(o, r, r->procid);
    PUT_LIT(o, ",\"msgid\":");
    o = json_slice_to(o, r, r->msgid);
    PUT_LIT(o, ",\"structured_data\":");
    if (r->n_sd_elems == 0 || r->sd_elems == NULL) {
        PUT_LIT(o, "null");
    } else {
        room_end(out, o);
        json_sd(out, r);
        o = room_at(out, JSON_FIXED_MAX + JSON_STR_MAX(msg.len) + JSON_STR_MAX(err_n));
    }
    PUT_LIT(o, ",\"message\":");
    o = json_str_to(o, sr_record_ptr(r, msg), msg.len);
    PUT_LIT(o, ",\"parse_error\":");
    if (r->parse_error != NULL) {
        o = json_str_to(o, r->parse_error, err_n);
    } else {
        PUT_LIT(o, "null");
    }
    *o++ = '}';
    room_end(out, o);
}

/* ---- RFC 5424 ------------------------------------------------------------------------------ */

static int record_pri(const sr_record_t *r)
{
    int fac = r->facility <= 23 ? r->facility : 1;
    int sev = r->severity <= 7 ? r->severity : 5;

    return fac * 8 + sev;
}

/* Append p[0..n) as an RFC 5424 header field: PRINTUSASCII only (other
 * bytes become '_'), at most max bytes, NILVALUE when empty. */
static void put_header_field(sr_buf_t *out, const char *p, size_t n, size_t max)
{
    size_t i;

    if (p == NULL || n == 0) {
        sr_buf_putc(out, '-');
        return;
    }
    n = SR_MIN(n, max);
    sr_buf_reserve(out, n);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        out->base[out->len++] = (c >= 33 && c <= 126) ? (char)c : '_';
    }
    out->base[out->len] = '\0';
}

static void put_slice_field(sr_buf_t *out, const sr_record_t *r, sr_slice_t s, size_t max)
{
    if (!sr_slice_present(s)) {
        sr_buf_putc(out, '-');
        return;
    }
    put_header_field(out, sr_record_ptr(r, s), s.len, max);
}

/* An SD-NAME as the writer emits it: printable ASCII except '=', ' ', ']'
 * and '"', at most 32 bytes ('_' replaces the rest). */
static void put_sd_name(sr_buf_t *out, const char *p, size_t n)
{
    size_t i;

    if (n == 0) {
        sr_buf_putc(out, '_');
        return;
    }
    n = SR_MIN(n, 32);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c < 33 || c > 126 || c == '=' || c == ']' || c == '"') {
            c = '_';
        }
        sr_buf_putc(out, (char)c);
    }
}

/* A PARAM-VALUE as stored (already escaped); a '"' or ']' that is not
 * escaped, or a final lone backslash, gets a backslash so the element stays
 * well-formed whatever redaction put there. */
static void put_sd_value(sr_buf_t *out, const char *p, size_t n)
{
    size_t i;

    sr_buf_reserve(out, n);
    for (i = 0; i < n; i++) {
        if (p[i] == '\\') {
            if (i + 1 < n) {
                sr_buf_putc(out, '\\');
                sr_buf_putc(out, p[++i]);
            } else {
                buf_put(out, "\\\\", 2);
            }
            continue;
        }
        if (p[i] == '"' || p[i] == ']') {
            sr_buf_putc(out, '\\');
        }
        sr_buf_putc(out, p[i]);
    }
}

static void put_sd_params(sr_buf_t *out, const sr_record_t *r, const sr_sd_elem_t *e)
{
    uint32_t j;

    for (j = e->first; j < e->first + e->count; j++) {
        const sr_sd_param_t *sp = &r->sd_params[j];

        if (!sr_slice_present(sp->name)) {
            continue;
        }
        sr_buf_putc(out, ' ');
        put_sd_name(out, sr_record_ptr(r, sp->name), sp->name.len);
        buf_put(out, "=\"", 2);
        if (sr_slice_present(sp->value)) {
            put_sd_value(out, sr_record_ptr(r, sp->value), sp->value.len);
        }
        sr_buf_putc(out, '"');
    }
}

/* The SD-ID of an element written as "[ID ...]": its length, or 0. */
static size_t extra_id_len(const char *extra)
{
    size_t n = 0;

    if (extra == NULL || extra[0] != '[') {
        return 0;
    }
    while (extra[1 + n] != '\0' && extra[1 + n] != ' ' && extra[1 + n] != ']') {
        n++;
    }
    return n;
}

/* True if element e's SD-ID is extra's (id_len > 0 bytes after its '['). */
static bool is_extra_id(const sr_record_t *r, const sr_sd_elem_t *e, const char *extra,
                        size_t id_len)
{
    return id_len > 0 && e->id.len == id_len &&
           memcmp(sr_record_ptr(r, e->id), extra + 1, id_len) == 0;
}

/*
 * The record's structured data, then `extra` (an element "[ID ...]", or
 * NULL). SD-IDs must be unique in a message (RFC 5424 section 6.3.2), so
 * a record element with extra's ID is not written on its own: its params
 * join extra's element, after extra's own.
 */
static void put_sd_5424(sr_buf_t *out, const sr_record_t *r, const char *extra)
{
    size_t id_len = extra_id_len(extra), xlen;
    bool merge = false;
    uint32_t i;

    for (i = 0; i < r->n_sd_elems && r->sd_elems != NULL; i++) {
        const sr_sd_elem_t *e = &r->sd_elems[i];

        if (!elem_sane(r, e)) {
            continue;
        }
        if (is_extra_id(r, e, extra, id_len)) {
            merge = true;
            continue;
        }
        sr_buf_putc(out, '[');
        put_sd_name(out, sr_record_ptr(r, e->id), e->id.len);
        put_sd_params(out, r, e);
        sr_buf_putc(out, ']');
    }
    if (extra == NULL) {
        return;
    }
    xlen = strlen(extra);
    if (!merge || xlen == 0 || extra[xlen - 1] != ']') {
        sr_buf_puts(out, extra);
        return;
    }
    buf_put(out, extra, xlen - 1);
    for (i = 0; i < r->n_sd_elems; i++) {
        const sr_sd_elem_t *e = &r->sd_elems[i];

        if (elem_sane(r, e) && is_extra_id(r, e, extra, id_len)) {
            put_sd_params(out, r, e);
        }
    }
    sr_buf_putc(out, ']');
}

/* True when the slice looks like an RFC 3339 time we may copy into a
 * header: printable ASCII without spaces. */
static bool timestamp_usable(const sr_record_t *r, sr_slice_t s)
{
    const char *p;
    uint32_t i;

    if (!sr_slice_present(s) || s.len == 0 || s.len > 64) {
        return false;
    }
    p = sr_record_ptr(r, s);
    for (i = 0; i < s.len; i++) {
        if (p[i] < 33 || p[i] > 126) {
            return false;
        }
    }
    return true;
}

void sr_format_rfc5424(const sr_record_t *r, const sr_rfc5424_opts_t *opts, sr_buf_t *out)
{
    bool is5424 = r->format == SR_FORMAT_RFC5424;
    size_t sd_start;

    sr_buf_reserve(out, 128 + r->text_len);
    sr_buf_printf(out, "<%d>1 ", record_pri(r));

    if (timestamp_usable(r, r->timestamp)) {
        buf_put(out, sr_record_ptr(r, r->timestamp), r->timestamp.len);
    } else if (is5424) {
        sr_buf_putc(out, '-'); /* the sender said NILVALUE */
    } else {
        sr_format_time_us(r->received_us, out);
    }
    sr_buf_putc(out, ' ');
    put_slice_field(out, r, r->hostname, 255);
    sr_buf_putc(out, ' ');
    if (sr_slice_present(r->app_name) && r->app_name.len > 0) {
        put_slice_field(out, r, r->app_name, 48);
    } else if (opts != NULL && opts->app_name_default != NULL) {
        put_header_field(out, opts->app_name_default, strlen(opts->app_name_default), 48);
    } else {
        sr_buf_putc(out, '-');
    }
    sr_buf_putc(out, ' ');
    put_slice_field(out, r, r->procid, 128);
    sr_buf_putc(out, ' ');
    put_slice_field(out, r, r->msgid, 32);
    sr_buf_putc(out, ' ');

    sd_start = out->len;
    put_sd_5424(out, r, opts != NULL ? opts->extra_sd : NULL);
    if (out->len == sd_start) {
        sr_buf_putc(out, '-');
    }

    if (sr_slice_present(r->message) && r->message.len > 0) {
        sr_buf_putc(out, ' ');
        buf_put(out, sr_record_ptr(r, r->message), r->message.len);
    }
}

/* ---- RFC 3164 ------------------------------------------------------------------------------ */

static int two_digits(const char *p)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') {
        return -1;
    }
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Month, day and time as written in an RFC 3339 text ("YYYY-MM-DDThh:mm:ss..."),
 * without any zone conversion; false when it does not look like one. */
static bool rfc3339_fields(const char *p, size_t n, int *mon, int *day, int hms[3])
{
    int i;

    if (n < 19 || p[4] != '-' || p[7] != '-' || p[13] != ':' || p[16] != ':') {
        return false;
    }
    if (p[10] != 'T' && p[10] != 't' && p[10] != ' ') {
        return false;
    }
    for (i = 0; i < 4; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    *mon = two_digits(p + 5);
    *day = two_digits(p + 8);
    hms[0] = two_digits(p + 11);
    hms[1] = two_digits(p + 14);
    hms[2] = two_digits(p + 17);
    return *mon >= 1 && *mon <= 12 && *day >= 1 && *day <= 31 && hms[0] >= 0 && hms[0] <= 23 &&
           hms[1] >= 0 && hms[1] <= 59 && hms[2] >= 0 && hms[2] <= 60;
}

/* Append p[0..n) with every space or control byte replaced by '_' (a 3164
 * HOSTNAME or TAG ends at a space). */
static void put_token(sr_buf_t *out, const char *p, size_t n, bool tag)
{
    size_t i;

    sr_buf_reserve(out, n);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c <= 0x20 || c == 0x7F || (tag && (c == ':' || c == '[' || c == ']'))) {
            c = '_';
        }
        out->base[out->len++] = (char)c;
    }
    out->base[out->len] = '\0';
}

void sr_format_rfc3164(const sr_record_t *r, sr_buf_t *out)
{
    int mon, day, hms[3];
    struct tm tm;
    time_t sec;
    long frac;

    sr_buf_reserve(out, 96 + r->text_len);
    sr_buf_printf(out, "<%d>", record_pri(r));

    if (!sr_slice_present(r->timestamp) ||
        !rfc3339_fields(sr_record_ptr(r, r->timestamp), r->timestamp.len, &mon, &day, hms)) {
        /* No usable time of its own: the receive time, in UTC. */
        split_us(r->received_us, &sec, &frac);
        if (gmtime_r(&sec, &tm) == NULL) {
            memset(&tm, 0, sizeof(tm));
            tm.tm_mday = 1;
        }
        mon = tm.tm_mon + 1;
        day = tm.tm_mday;
        hms[0] = tm.tm_hour;
        hms[1] = tm.tm_min;
        hms[2] = tm.tm_sec;
    }
    sr_buf_printf(out, "%s %2d %02d:%02d:%02d", month_names[mon - 1], day, hms[0], hms[1], hms[2]);

    /* HOSTNAME: the record's, else the sender's address, so the TAG is
     * never read as a host. */
    if (sr_slice_present(r->hostname) && r->hostname.len > 0) {
        sr_buf_putc(out, ' ');
        put_token(out, sr_record_ptr(r, r->hostname), r->hostname.len, false);
    } else if (r->source[0] != '\0') {
        sr_buf_putc(out, ' ');
        put_token(out, r->source, strnlen(r->source, sizeof(r->source)), false);
    }

    if (sr_slice_present(r->app_name) && r->app_name.len > 0) {
        sr_buf_putc(out, ' ');
        put_token(out, sr_record_ptr(r, r->app_name), r->app_name.len, true);
        if (sr_slice_present(r->procid) && r->procid.len > 0) {
            sr_buf_putc(out, '[');
            put_token(out, sr_record_ptr(r, r->procid), r->procid.len, true);
            sr_buf_putc(out, ']');
        }
        sr_buf_putc(out, ':');
    }
    if (sr_slice_present(r->message) && r->message.len > 0) {
        sr_buf_putc(out, ' ');
        buf_put(out, sr_record_ptr(r, r->message), r->message.len);
    }
}

/* ---- raw ----------------------------------------------------------------------------------- */

void sr_format_raw(const sr_record_t *r, sr_buf_t *out)
{
    if (sr_slice_present(r->raw) && r->raw.len > 0) {
        buf_put(out, sr_record_ptr(r, r->raw), r->raw.len);
    } else {
        sr_buf_reserve(out, 0);
        out->base[out->len] = '\0';
    }
}
