/*
 * codec.c: the msgpack and ECS encoders of a record (see codec.h).
 *
 * Both share one view of the structured data, grouped the way the JSON
 * record groups it: elements with the same SD-ID merge into one object
 * (in order of first appearance), a name repeated within it gives an
 * array of its values in order, an absent value is null. Grouping sorts
 * (O(n log n)) so a record stuffed with parameters cannot cost O(n^2).
 * Nothing here keeps state; the encoders allocate only scratch memory
 * they free before returning.
 */
#include <stdlib.h>
#include <time.h>
#include <msgpack.h>

#include "civil.h"
#include "codec.h"
#include "format.h"

/* Append a string literal. */
#define LIT(out, s) sr_buf_append((out), (s), sizeof(s) - 1)

const char *const sr_codec_names[] = {"json", "msgpack", "ecs", NULL};

void sr_codec_encode(sr_codec_t codec, const sr_record_t *r, sr_buf_t *out)
{
    switch (codec) {
    case SR_CODEC_MSGPACK:
        sr_codec_msgpack(r, out);
        break;
    case SR_CODEC_ECS:
        sr_codec_ecs(r, out);
        break;
    case SR_CODEC_JSON:
    default:
        sr_format_json(r, out);
        break;
    }
}

/* ---- UTF-8 ----------------------------------------------------------- */

/* True when p[0..n) is valid UTF-8. */
static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int k;

    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        k = sr_utf8_seq(p + i, n - i);
        if (k < 0) {
            return false;
        }
        i += (size_t)k;
    }
    return true;
}

/* Append p[0..n) with each ill-formed subpart replaced by U+FFFD. */
static void utf8_fix(const char *s, size_t n, sr_buf_t *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int k;

    while (i < n) {
        if (p[i] < 0x80) {
            sr_buf_putc(out, (char)p[i]);
            i++;
            continue;
        }
        k = sr_utf8_seq(p + i, n - i);
        if (k > 0) {
            sr_buf_append(out, p + i, (size_t)k);
            i += (size_t)k;
        } else {
            LIT(out, "\xEF\xBF\xBD");
            i += (size_t)-k;
        }
    }
}

/* ---- msgpack ----------------------------------------------------------- */

static int buf_write(void *data, const char *p, size_t n)
{
    sr_buf_append(data, p, n);
    return 0;
}

typedef struct mp_s {
    msgpack_packer pk;
    sr_buf_t tmp; /* UTF-8 repairs and unescaped SD values */
} mp_t;

static void mp_str(mp_t *m, const char *p, size_t n)
{
    if (!utf8_valid(p, n)) {
        sr_buf_reset(&m->tmp);
        utf8_fix(p, n, &m->tmp);
        p = m->tmp.base;
        n = m->tmp.len;
    }
    msgpack_pack_str(&m->pk, n);
    msgpack_pack_str_body(&m->pk, p, n);
}

static void mp_cstr(mp_t *m, const char *s)
{
    mp_str(m, s, strlen(s));
}

static void mp_slice(mp_t *m, const sr_record_t *r, sr_slice_t s)
{
    if (!sr_slice_present(s)) {
        msgpack_pack_nil(&m->pk);
        return;
    }
    mp_str(m, sr_record_ptr(r, s), s.len);
}

static void mp_sd_value(mp_t *m, const sr_record_t *r, sr_slice_t v)
{
    sr_buf_t plain;

    if (!sr_slice_present(v)) {
        msgpack_pack_nil(&m->pk);
        return;
    }
    sr_buf_init(&plain);
    sr_sd_unescape(sr_record_ptr(r, v), v.len, &plain);
    mp_str(m, plain.base ? plain.base : "", plain.len);
    sr_buf_free(&plain);
}

static void mp_sd(mp_t *m, const sr_record_t *r)
{
    sr_sd_view_t v;
    uint32_t g, n, k;

    if (!sr_sd_view_build(r, &v)) {
        msgpack_pack_nil(&m->pk);
        return;
    }
    msgpack_pack_map(&m->pk, v.n_groups);
    for (g = 0; g < v.n_groups; g++) {
        const sr_sd_group_t *gr = &v.groups[g];

        mp_slice(m, r, gr->id);
        msgpack_pack_map(&m->pk, gr->n_names);
        for (n = gr->first_name; n < gr->first_name + gr->n_names; n++) {
            const sr_sd_name_t *nm = &v.names[n];

            mp_slice(m, r, nm->name);
            if (nm->n_vals == 1) {
                mp_sd_value(m, r, r->sd_params[v.vals[nm->first_val]].value);
                continue;
            }
            msgpack_pack_array(&m->pk, nm->n_vals);
            for (k = nm->first_val; k < nm->first_val + nm->n_vals; k++) {
                mp_sd_value(m, r, r->sd_params[v.vals[k]].value);
            }
        }
    }
    sr_sd_view_free(&v);
}

/*
 * The 15 keys of the JSON record, in its order, with the same values:
 * nil where JSON has null, integers as integers, structured data as maps
 * (arrays for repeated names).
 */
void sr_codec_msgpack(const sr_record_t *r, sr_buf_t *out)
{
    mp_t m;
    sr_buf_t t;

    sr_buf_init(&m.tmp);
    sr_buf_init(&t);
    msgpack_packer_init(&m.pk, out, buf_write);
    msgpack_pack_map(&m.pk, 15);
    mp_cstr(&m, "timestamp");
    mp_slice(&m, r, r->timestamp);
    mp_cstr(&m, "received_at");
    sr_format_time_us(r->received_us, &t);
    mp_str(&m, t.base, t.len);
    mp_cstr(&m, "source");
    mp_str(&m, r->source, strnlen(r->source, sizeof(r->source)));
    mp_cstr(&m, "input");
    mp_cstr(&m, r->input_name ? r->input_name : "");
    mp_cstr(&m, "format");
    mp_cstr(&m, sr_format_name(r->format));
    mp_cstr(&m, "facility");
    msgpack_pack_int(&m.pk, r->facility);
    mp_cstr(&m, "severity");
    msgpack_pack_int(&m.pk, r->severity);
    mp_cstr(&m, "version");
    if (r->version > 0) {
        msgpack_pack_int(&m.pk, r->version);
    } else {
        msgpack_pack_nil(&m.pk);
    }
    mp_cstr(&m, "hostname");
    mp_slice(&m, r, r->hostname);
    mp_cstr(&m, "app_name");
    mp_slice(&m, r, r->app_name);
    mp_cstr(&m, "procid");
    mp_slice(&m, r, r->procid);
    mp_cstr(&m, "msgid");
    mp_slice(&m, r, r->msgid);
    mp_cstr(&m, "structured_data");
    mp_sd(&m, r);
    mp_cstr(&m, "message");
    if (sr_slice_present(r->message)) {
        mp_slice(&m, r, r->message);
    } else {
        mp_cstr(&m, "");
    }
    mp_cstr(&m, "parse_error");
    if (r->parse_error != NULL) {
        mp_cstr(&m, r->parse_error);
    } else {
        msgpack_pack_nil(&m.pk);
    }
    sr_buf_free(&t);
    sr_buf_free(&m.tmp);
}

/* ---- time ------------------------------------------------------------ */

static int digits(const char *p, size_t n, size_t at, size_t count)
{
    int v = 0;
    size_t i;

    if (at + count > n) {
        return -1;
    }
    for (i = at; i < at + count; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static const unsigned char month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

int sr_codec_rfc3339_ms(const char *p, size_t n, int64_t *ms)
{
    int y, mo, d, h, mi, s, ms_part = 0, off = 0, oh, om;
    size_t i = 19, fd = 0;
    int64_t secs;

    y = digits(p, n, 0, 4);
    mo = digits(p, n, 5, 2);
    d = digits(p, n, 8, 2);
    h = digits(p, n, 11, 2);
    mi = digits(p, n, 14, 2);
    s = digits(p, n, 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || s < 0 || s > 60 || p[4] != '-' || p[7] != '-' ||
        (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || p[13] != ':' || p[16] != ':') {
        return SR_EPARSE;
    }
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (fd < 3) {
                ms_part = ms_part * 10 + (p[i] - '0');
            }
            fd++;
            i++;
        }
        if (fd == 0) {
            return SR_EPARSE;
        }
        for (; fd < 3; fd++) {
            ms_part *= 10;
        }
    }
    if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i < n && (p[i] == '+' || p[i] == '-')) {
        oh = digits(p, n, i + 1, 2);
        om = digits(p, n, i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59 || p[i + 3] != ':') {
            return SR_EPARSE;
        }
        off = (oh * 60 + om) * 60 * (p[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return SR_EPARSE;
    }
    if (i != n) {
        return SR_EPARSE;
    }
    secs = sr_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
    *ms = secs * 1000 + ms_part;
    return 0;
}

/* "2003-10-12T05:14:15.003Z" */
static void put_time_ms(int64_t ms, sr_buf_t *out)
{
    int64_t sec = ms / 1000, frac = ms % 1000;
    time_t t;
    struct tm tm;

    if (frac < 0) {
        frac += 1000;
        sec -= 1;
    }
    t = (time_t)sec;
    if (gmtime_r(&t, &tm) == NULL) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = 70;
        tm.tm_mday = 1;
        frac = 0;
    }
    sr_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

/* ---- ECS --------------------------------------------------------------- */

static void js_slice(sr_buf_t *out, const sr_record_t *r, sr_slice_t s)
{
    sr_json_string(out, sr_record_ptr(r, s), s.len);
}

/* procid as a number when it is 1-18 decimal digits. */
static bool pid_number(const sr_record_t *r, int64_t *pid)
{
    const char *p;
    int64_t v = 0;
    uint32_t i;

    if (!sr_slice_present(r->procid) || r->procid.len == 0 || r->procid.len > 18) {
        return false;
    }
    p = sr_record_ptr(r, r->procid);
    for (i = 0; i < r->procid.len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (p[i] - '0');
    }
    *pid = v;
    return true;
}

static void ecs_sd_value(sr_buf_t *out, const sr_record_t *r, sr_slice_t v, sr_buf_t *tmp)
{
    if (!sr_slice_present(v)) {
        LIT(out, "null");
        return;
    }
    sr_buf_reset(tmp);
    sr_sd_unescape(sr_record_ptr(r, v), v.len, tmp);
    sr_json_string(out, tmp->base ? tmp->base : "", tmp->len);
}

static void ecs_sd(sr_buf_t *out, const sr_record_t *r, const sr_sd_view_t *v)
{
    sr_buf_t tmp;
    uint32_t g, n, k;

    sr_buf_init(&tmp);
    sr_buf_putc(out, '{');
    for (g = 0; g < v->n_groups; g++) {
        const sr_sd_group_t *gr = &v->groups[g];

        if (g > 0) {
            sr_buf_putc(out, ',');
        }
        js_slice(out, r, gr->id);
        LIT(out, ":{");
        for (n = gr->first_name; n < gr->first_name + gr->n_names; n++) {
            const sr_sd_name_t *nm = &v->names[n];

            if (n > gr->first_name) {
                sr_buf_putc(out, ',');
            }
            js_slice(out, r, nm->name);
            sr_buf_putc(out, ':');
            if (nm->n_vals == 1) {
                ecs_sd_value(out, r, r->sd_params[v->vals[nm->first_val]].value, &tmp);
                continue;
            }
            sr_buf_putc(out, '[');
            for (k = nm->first_val; k < nm->first_val + nm->n_vals; k++) {
                if (k > nm->first_val) {
                    sr_buf_putc(out, ',');
                }
                ecs_sd_value(out, r, r->sd_params[v->vals[k]].value, &tmp);
            }
            sr_buf_putc(out, ']');
        }
        sr_buf_putc(out, '}');
    }
    sr_buf_putc(out, '}');
    sr_buf_free(&tmp);
}

/*
 * The ECS document. Fields the record does not have are left out (ECS
 * style), except message, which is always there. Order is fixed, so the
 * bytes are stable for tests.
 */
void sr_codec_ecs(const sr_record_t *r, sr_buf_t *out)
{
    int64_t ms, pid;
    const char *name;
    sr_sd_view_t v;
    bool has_pid = pid_number(r, &pid);

    sr_buf_reserve(out, 384 + r->text_len);
    LIT(out, "{\"@timestamp\":\"");
    if (!sr_slice_present(r->timestamp) ||
        sr_codec_rfc3339_ms(sr_record_ptr(r, r->timestamp), r->timestamp.len, &ms) < 0) {
        ms = r->received_us >= 0 ? r->received_us / 1000 : (r->received_us - 999) / 1000;
    }
    put_time_ms(ms, out);
    LIT(out, "\",\"message\":");
    if (sr_slice_present(r->message)) {
        js_slice(out, r, r->message);
    } else {
        LIT(out, "\"\"");
    }
    LIT(out, ",\"ecs\":{\"version\":\"" SR_ECS_VERSION "\"}");
    LIT(out, ",\"event\":{\"created\":\"");
    sr_format_time_us(r->received_us, out);
    LIT(out, "\"}");
    if (sr_slice_present(r->hostname)) {
        LIT(out, ",\"host\":{\"hostname\":");
        js_slice(out, r, r->hostname);
        sr_buf_putc(out, '}');
    }
    if (sr_slice_present(r->app_name) || has_pid) {
        LIT(out, ",\"process\":{");
        if (sr_slice_present(r->app_name)) {
            LIT(out, "\"name\":");
            js_slice(out, r, r->app_name);
        }
        if (has_pid) {
            sr_buf_printf(out, "%s\"pid\":%lld", sr_slice_present(r->app_name) ? "," : "",
                          (long long)pid);
        }
        sr_buf_putc(out, '}');
    }
    sr_buf_printf(out, ",\"log\":{\"syslog\":{\"priority\":%d,\"facility\":{\"code\":%d",
                  r->facility * 8 + r->severity, r->facility);
    name = sr_facility_name(r->facility);
    if (name != NULL) {
        sr_buf_printf(out, ",\"name\":\"%s\"", name);
    }
    sr_buf_printf(out, "},\"severity\":{\"code\":%d", r->severity);
    name = sr_severity_name(r->severity);
    if (name != NULL) {
        sr_buf_printf(out, ",\"name\":\"%s\"", name);
    }
    sr_buf_putc(out, '}');
    if (r->version > 0) {
        sr_buf_printf(out, ",\"version\":\"%d\"", r->version);
    }
    if (sr_slice_present(r->hostname)) {
        LIT(out, ",\"hostname\":");
        js_slice(out, r, r->hostname);
    }
    if (sr_slice_present(r->app_name)) {
        LIT(out, ",\"appname\":");
        js_slice(out, r, r->app_name);
    }
    if (sr_slice_present(r->procid)) {
        LIT(out, ",\"procid\":");
        js_slice(out, r, r->procid);
    }
    if (sr_slice_present(r->msgid)) {
        LIT(out, ",\"msgid\":");
        js_slice(out, r, r->msgid);
    }
    if (sr_sd_view_build(r, &v)) {
        LIT(out, ",\"structured_data\":");
        ecs_sd(out, r, &v);
        sr_sd_view_free(&v);
    }
    LIT(out, "}}");
    if (r->source[0] != '\0') {
        LIT(out, ",\"source\":{\"ip\":");
        sr_json_string(out, r->source, strnlen(r->source, sizeof(r->source)));
        sr_buf_putc(out, '}');
    }
    LIT(out, ",\"syslog_relay\":{\"input\":");
    sr_json_string(out, r->input_name ? r->input_name : "",
                   r->input_name ? strlen(r->input_name) : 0);
    sr_buf_printf(out, ",\"format\":\"%s\"", sr_format_name(r->format));
    if (r->parse_error != NULL) {
        LIT(out, ",\"parse_error\":");
        sr_json_string(out, r->parse_error, strlen(r->parse_error));
    }
    if (r->flags & SR_REC_TRUNCATED) {
        LIT(out, ",\"truncated\":true");
    }
    LIT(out, "}}");
}
