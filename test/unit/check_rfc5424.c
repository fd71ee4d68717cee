/*
 * check_rfc5424.c: unit tests for parsers/rfc5424.c.
 *
 * A fixture table of frames (every example of RFC 5424 section 6.5, what
 * logger, rsyslog and syslog-ng really send, edge and broken input) with
 * every field asserted; structured data is compared in a canonical
 * rendering. Then long fields at their limits, many SD elements, escapes,
 * embedded NULs, and every prefix of valid frames (run under ASan to
 * prove no read goes out of bounds).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "parsers/parser.h"

/* Fixture rows leave the reason out when the parse succeeds. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define BOM "\xEF\xBB\xBF"
#define ABSENT NULL

static const sr_parse_ctx_t ctx = {1795300927000000LL /* 2026-11-21T22:42:07Z */, NULL};

/* Renders structured data as [id k="v" ...][id2 ...], values as stored. */
static void render_sd(const sr_record_t *r, sr_buf_t *b)
{
    uint32_t e, k;

    for (e = 0; e < r->n_sd_elems; e++) {
        const sr_sd_elem_t *el = &r->sd_elems[e];

        ck_assert_uint_le(el->first + el->count, r->n_sd_params);
        sr_buf_putc(b, '[');
        sr_buf_append(b, sr_record_ptr(r, el->id), el->id.len);
        for (k = el->first; k < el->first + el->count; k++) {
            sr_buf_putc(b, ' ');
            sr_buf_append(b, sr_record_ptr(r, r->sd_params[k].name), r->sd_params[k].name.len);
            sr_buf_puts(b, "=\"");
            sr_buf_append(b, sr_record_ptr(r, r->sd_params[k].value), r->sd_params[k].value.len);
            sr_buf_putc(b, '"');
        }
        sr_buf_putc(b, ']');
    }
}

static void check_slice(const sr_record_t *r, sr_slice_t s, const char *want, const char *what,
                        const char *in)
{
    if (want == NULL) {
        ck_assert_msg(!sr_slice_present(s), "%s: %s should be absent, is '%.*s'", in, what,
                      sr_slice_present(s) ? (int)s.len : 0,
                      sr_slice_present(s) ? sr_record_ptr(r, s) : "");
        return;
    }
    ck_assert_msg(sr_slice_present(s), "%s: %s absent, want '%s'", in, what, want);
    ck_assert_msg(s.off + s.len <= r->text_len, "%s: %s out of bounds", in, what);
    ck_assert_msg(s.len == strlen(want) && memcmp(sr_record_ptr(r, s), want, s.len) == 0,
                  "%s: %s is '%.*s', want '%s'", in, what, (int)s.len, sr_record_ptr(r, s), want);
}

typedef struct case_s {
    const char *in;
    sr_parse_result_t want;
    int fac, sev, ver;
    const char *ts, *host, *app, *proc, *msgid, *sd, *msg;
    const char *reason; /* for NOT_MINE / MALFORMED: expected prefix */
} case_t;

#define OK SR_PARSE_OK
#define NOT_MINE(why) SR_PARSE_NOT_MINE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, why
#define BAD(why) SR_PARSE_MALFORMED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, why

static const case_t cases[] = {
    /* RFC 5424 section 6.5, examples 1 to 4. */
    {"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " BOM
     "'su root' failed for lonvick on /dev/pts/8",
     OK, 4, 2, 1, "2003-10-11T22:14:15.003Z", "mymachine.example.com", "su", ABSENT, "ID47", ABSENT,
     "'su root' failed for lonvick on /dev/pts/8"},
    {"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make "
     "the do-nuts.",
     OK, 20, 5, 1, "2003-08-24T05:14:15.000003-07:00", "192.0.2.1", "myproc", "8710", ABSENT,
     ABSENT, "%% It's time to make the do-nuts."},
    {"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
     "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] " BOM
     "An application event log entry...",
     OK, 20, 5, 1, "2003-10-11T22:14:15.003Z", "mymachine.example.com", "evntslog", ABSENT, "ID47",
     "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]",
     "An application event log entry..."},
    {"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
     "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 "
     "class=\"high\"]",
     OK, 20, 5, 1, "2003-10-11T22:14:15.003Z", "mymachine.example.com", "evntslog", ABSENT, "ID47",
     "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
     "[examplePriority@32473 class=\"high\"]",
     ""},
    /* RFC 5424 section 6.2.3.1 timestamps. */
    {"<13>1 1985-04-12T23:20:50.52Z h a p m - x", OK, 1, 5, 1, "1985-04-12T23:20:50.52Z", "h", "a",
     "p", "m", ABSENT, "x"},
    {"<13>1 1985-04-12T19:20:50.52-04:00 h a p m - x", OK, 1, 5, 1, "1985-04-12T19:20:50.52-04:00",
     "h", "a", "p", "m", ABSENT, "x"},
    /* What logger, rsyslog and syslog-ng send (docs/research captures). */
    {"<13>1 2026-11-21T22:42:07.581084+00:00 vm lgapp - - [timeQuality tzKnown=\"1\" "
     "isSynced=\"0\"] line one",
     OK, 1, 5, 1, "2026-11-21T22:42:07.581084+00:00", "vm", "lgapp", ABSENT, ABSENT,
     "[timeQuality tzKnown=\"1\" isSynced=\"0\"]", "line one"},
    {"<13>1 2026-11-21T22:42:07.593072+00:00 vm lgsd 19719 MID1 [timeQuality tzKnown=\"1\" "
     "isSynced=\"0\"][test@32473 k=\"v1\"] sd message",
     OK, 1, 5, 1, "2026-11-21T22:42:07.593072+00:00", "vm", "lgsd", "19719", "MID1",
     "[timeQuality tzKnown=\"1\" isSynced=\"0\"][test@32473 k=\"v1\"]", "sd message"},
    {"<13>1 2026-11-21T22:58:36+00:00 snghost sngobs - - [meta sequenceId=\"1\"] obs message 1", OK,
     1, 5, 1, "2026-11-21T22:58:36+00:00", "snghost", "sngobs", ABSENT, ABSENT,
     "[meta sequenceId=\"1\"]", "obs message 1"},
    {"<133>1 2026-11-21T22:58:36.225959+00:00 rshost rfc5424fmt - - - obs message 1", OK, 16, 5, 1,
     "2026-11-21T22:58:36.225959+00:00", "rshost", "rfc5424fmt", ABSENT, ABSENT, ABSENT,
     "obs message 1"},
    {"<46>1 2026-11-21T22:42:07Z host svc - - [metas ddsource=\"nginx\" ddtags=\"env:prod,a:b\"] "
     "hello",
     OK, 5, 6, 1, "2026-11-21T22:42:07Z", "host", "svc", ABSENT, ABSENT,
     "[metas ddsource=\"nginx\" ddtags=\"env:prod,a:b\"]", "hello"},
    /* Edge: all NILVALUE, empty MSG, SP with nothing after, PRI limits. */
    {"<0>1 - - - - - -", OK, 0, 0, 1, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ""},
    {"<191>1 - - - - - - ", OK, 23, 7, 1, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ""},
    {"<191>99 - - - - - - m", OK, 23, 7, 99, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "m"},
    {"<13>1 - -h -a -p -m - x", OK, 1, 5, 1, ABSENT, "-h", "-a", "-p", "-m", ABSENT, "x"},
    /* The message keeps everything after the one SP, spaces included. */
    {"<13>1 - h a p m -   spaced  ", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", ABSENT, "  spaced  "},
    /* A BOM is removed only at the start of MSG. */
    {"<13>1 - h a p m - x" BOM "y", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", ABSENT, "x" BOM "y"},
    {"<13>1 - h a p m - " BOM, OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", ABSENT, ""},
    {"<13>1 - h a p m - \xEF\xBB", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", ABSENT, "\xEF\xBB"},
    /* Invalid UTF-8 in MSG is passed through as bytes. */
    {"<13>1 - h a p m - \xff\xfe\xc3", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", ABSENT,
     "\xff\xfe\xc3"},
    /* Structured data: empty elements, escapes kept, ']' unescaped inside a
     * value (lenient), '[' in an SD-ID, a space after the SD begins MSG. */
    {"<13>1 - h a p m [a][b] x", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", "[a][b]", "x"},
    {"<13>1 - h a p m [a k=\"q\\\"b\\\\c\\]d\\xe\"] x", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m",
     "[a k=\"q\\\"b\\\\c\\]d\\xe\"]", "x"},
    {"<13>1 - h a p m [a k=\"x]y\"] x", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", "[a k=\"x]y\"]",
     "x"},
    {"<13>1 - h a p m [a k=\"\"] x", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", "[a k=\"\"]", "x"},
    {"<13>1 - h a p m [a k=\"1\" k=\"2\"][a j=\"3\"]", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m",
     "[a k=\"1\" k=\"2\"][a j=\"3\"]", ""},
    {"<13>1 - h a p m [a[b k=\"1\"]", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", "[a[b k=\"1\"]", ""},
    {"<13>1 - h a p m [a k=\"\xc3\xa9\xff\"]", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m",
     "[a k=\"\xc3\xa9\xff\"]", ""},
    {"<13>1 - h a p m [a] [b] x", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", "[a]", "[b] x"},
    /* Leniencies (docs/parsing.md): no SD at all; text glued to ']'. */
    {"<13>1 - h a p m", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", ABSENT, ""},
    {"<13>1 - h a p m [a]glued", OK, 1, 5, 1, ABSENT, "h", "a", "p", "m", "[a]", "glued"},
    /* Leap year. */
    {"<13>1 2024-02-29T00:00:00Z h a p m -", OK, 1, 5, 1, "2024-02-29T00:00:00Z", "h", "a", "p",
     "m", ABSENT, ""},

    /* Not RFC 5424 at all: the next parser tries. */
    {"<13>Nov 21 22:42:07 vm lgapp3: line one", NOT_MINE("no RFC 3164 or RFC 5424 header")},
    {"<13>1Nov", NOT_MINE("no RFC 3164 or RFC 5424 header")},
    {"<13>1 Nov 21 22:42:07 host app: x", NOT_MINE("no RFC 3164 or RFC 5424 header")},
    {"<13>0 - h a p m - x", NOT_MINE("no RFC 3164 or RFC 5424 header")},
    {"<13>100 - h a p m - x", NOT_MINE("no RFC 3164 or RFC 5424 header")},
    {"<13>01 - h a p m - x", NOT_MINE("no RFC 3164 or RFC 5424 header")},
    {"<13>1 -", NOT_MINE("no RFC 3164 or RFC 5424 header")},
    {"<13>", NOT_MINE("no RFC 3164 or RFC 5424 header")},
    {"no pri at all", NOT_MINE("no PRI")},
    {"", NOT_MINE("no PRI")},
    {"<192>1 - h a p m - x", NOT_MINE("invalid PRI")},
    {"<01>1 - h a p m - x", NOT_MINE("invalid PRI")},
    {"<>1 - h a p m - x", NOT_MINE("invalid PRI")},
    {"<1234>1 - h a p m - x", NOT_MINE("invalid PRI")},

    /* Ours but broken: MALFORMED with the offset. */
    {"<13>1 2026-02-29T00:00:00Z h a p m - x", BAD("invalid RFC 5424 timestamp at offset 6")},
    {"<13>1 2026-11-21T24:00:00Z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21T23:60:00Z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21T23:59:60Z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-13-21T23:00:00Z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-00T23:00:00Z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21t23:00:00z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21T23:00:00.1234567Z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21T23:00:00.Z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    /* Leniency: no offset (loggen -P sends these); the input's zone
     * completes it (UTC here; test_zone_completed for another zone). */
    {"<13>1 2026-11-21T23:00:00 h a p m - x", OK, 1, 5, 1, "2026-11-21T23:00:00+00:00", "h", "a",
     "p", "m", ABSENT, "x"},
    {"<13>1 2026-11-21T23:00:00.25 h a p m - x", OK, 1, 5, 1, "2026-11-21T23:00:00.25+00:00", "h",
     "a", "p", "m", ABSENT, "x"},
    {"<13>1 2026-11-21T23:00:00", BAD("truncated RFC 5424 header at offset 25")},
    {"<13>1 2026-11-21T23:00:00.x h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-02-29T23:00:00 h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21T23:00:00+24:00 h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21T23:00:00+0100 h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21 23:00:00Z h a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21T23:00:00Zh a p m - x", BAD("invalid RFC 5424 timestamp")},
    {"<13>1 2026-11-21T23:00:00Z", BAD("truncated RFC 5424 header at offset 26")},
    {"<13>1 -  h a p m - x", BAD("empty RFC 5424 header field at offset 8")},
    {"<13>1 - h  a p m - x", BAD("empty RFC 5424 header field")},
    {"<13>1 - h a p", BAD("truncated RFC 5424 header")},
    {"<13>1 - h a p ", BAD("empty RFC 5424 header field")},
    {"<13>1 - h\xc3\xa9 a p m - x", BAD("invalid character in RFC 5424 header at offset 9")},
    {"<13>1 - h a\tb p m - x", BAD("invalid character in RFC 5424 header")},
    {"<13>1 - h a p m x", BAD("invalid RFC 5424 structured data at offset 16")},
    {"<13>1 - h a p m -x", BAD("invalid RFC 5424 structured data at offset 16")},
    {"<13>1 - h a p m  - x", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m []", BAD("invalid RFC 5424 structured data at offset 17")},
    {"<13>1 - h a p m [ a]", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a ]", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a k]", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a k=v]", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a k=\"v]", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a k=\"v\\\"]", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a k=\"v\"", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a k=\"v\"k2=\"w\"]", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a =\"v\"]", BAD("invalid RFC 5424 structured data")},
    {"<13>1 - h a p m [a\"b]", BAD("invalid RFC 5424 structured data")},
};

static void check_case(const case_t *c, sr_record_t *r, sr_parse_result_t got, const char *why)
{
    sr_buf_t b;

    ck_assert_msg(got == c->want, "%s: result %d, want %d (%s)", c->in, got, c->want,
                  why ? why : "");
    if (got != SR_PARSE_OK) {
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strncmp(why, c->reason, strlen(c->reason)) == 0, "%s: reason '%s', want '%s'",
                      c->in, why, c->reason);
        /* Declining leaves the record as created. */
        ck_assert_int_eq(r->format, SR_FORMAT_RAW);
        ck_assert_int_eq(r->facility, 1);
        ck_assert_int_eq(r->severity, 5);
        ck_assert_int_eq(r->version, -1);
        ck_assert(!sr_slice_present(r->timestamp) && !sr_slice_present(r->hostname));
        ck_assert(!sr_slice_present(r->app_name) && !sr_slice_present(r->procid));
        ck_assert(!sr_slice_present(r->msgid));
        ck_assert_uint_eq(r->n_sd_elems, 0);
        ck_assert(r->message.off == r->raw.off && r->message.len == r->raw.len);
        return;
    }
    ck_assert_int_eq(r->format, SR_FORMAT_RFC5424);
    ck_assert_msg(r->facility == c->fac && r->severity == c->sev, "%s: %d.%d", c->in, r->facility,
                  r->severity);
    ck_assert_int_eq(r->version, c->ver);
    check_slice(r, r->timestamp, c->ts, "timestamp", c->in);
    check_slice(r, r->hostname, c->host, "hostname", c->in);
    check_slice(r, r->app_name, c->app, "app_name", c->in);
    check_slice(r, r->procid, c->proc, "procid", c->in);
    check_slice(r, r->msgid, c->msgid, "msgid", c->in);
    check_slice(r, r->message, c->msg, "message", c->in);
    ck_assert_ptr_null(r->parse_error);
    sr_buf_init(&b);
    render_sd(r, &b);
    if (c->sd == NULL) {
        ck_assert_msg(r->n_sd_elems == 0 && r->sd_elems == NULL, "%s: sd '%s'", c->in,
                      b.base ? b.base : "");
    } else {
        ck_assert_msg(b.len == strlen(c->sd) && memcmp(b.base, c->sd, b.len) == 0,
                      "%s: sd '%s', want '%s'", c->in, b.base ? b.base : "", c->sd);
    }
    sr_buf_free(&b);
}

START_TEST(test_fixtures)
{
    const case_t *c = &cases[_i];
    sr_record_t *r = sr_record_create(c->in, strlen(c->in));
    const char *why = NULL;
    sr_parse_result_t got = sr_parser_rfc5424.parse(r, &ctx, &why);

    check_case(c, r, got, why);
    sr_record_release(r);

    /* Through the chain in rfc5424 mode: OK stays OK, anything else is raw
     * with the parser's reason. */
    r = sr_record_create(c->in, strlen(c->in));
    if (sr_parse_record(r, SR_PARSE_RFC5424, &ctx) == SR_FORMAT_RFC5424) {
        ck_assert_int_eq(c->want, SR_PARSE_OK);
        check_case(c, r, SR_PARSE_OK, NULL);
    } else {
        ck_assert_int_ne(c->want, SR_PARSE_OK);
        ck_assert_ptr_nonnull(r->parse_error);
        ck_assert_msg(strncmp(r->parse_error, c->reason, strlen(c->reason)) == 0, "%s: '%s'", c->in,
                      r->parse_error);
        check_slice(r, r->message, c->in, "raw message", c->in);
    }
    sr_record_release(r);
}
END_TEST

/* Fields exactly at their limits parse; one byte more is MALFORMED. */
/* A time without offset is completed with the input's zone at that local
 * time, DST included. */
START_TEST(test_zone_completed)
{
    static const struct {
        const char *in, *ts;
    } v[] = {
        {"<13>1 2026-07-01T12:00:00 h a - - - summer", "2026-07-01T12:00:00+02:00"},
        {"<13>1 2026-11-21T12:00:00.123 h a - - - winter", "2026-11-21T12:00:00.123+01:00"},
        {"<13>1 2026-11-21T12:00:00Z h a - - - as sent", "2026-11-21T12:00:00Z"},
    };
    sr_parse_ctx_t zctx = ctx;
    sr_tz_t *tz = NULL;
    char err[256];
    size_t i;

    ck_assert_msg(sr_tz_load("Europe/Berlin", &tz, err, sizeof(err)) == 0, "%s", err);
    zctx.tz = tz;
    for (i = 0; i < SR_ARRAY_SIZE(v); i++) {
        sr_record_t *r = sr_record_create(v[i].in, strlen(v[i].in));

        ck_assert_int_eq(sr_parse_record(r, SR_PARSE_AUTO, &zctx), SR_FORMAT_RFC5424);
        check_slice(r, r->timestamp, v[i].ts, "timestamp", v[i].in);
        sr_record_release(r);
    }
    sr_tz_free(tz);
}
END_TEST

START_TEST(test_field_limits)
{
    static const struct {
        int field; /* 0 host, 1 app, 2 procid, 3 msgid, 4 sd-id, 5 param name */
        size_t max;
        const char *why;
    } lim[] = {
        {0, 255, "RFC 5424 HOSTNAME too long"},      {1, 48, "RFC 5424 APP-NAME too long"},
        {2, 128, "RFC 5424 PROCID too long"},        {3, 32, "RFC 5424 MSGID too long"},
        {4, 32, "invalid RFC 5424 structured data"}, {5, 32, "invalid RFC 5424 structured data"},
    };
    size_t i, extra;

    for (i = 0; i < SR_ARRAY_SIZE(lim); i++) {
        for (extra = 0; extra <= 1; extra++) {
            char f[300];
            char *in;
            sr_record_t *r;
            const char *why = NULL;
            sr_parse_result_t got;
            sr_slice_t s;

            memset(f, 'x', lim[i].max + extra);
            f[lim[i].max + extra] = '\0';
            in = sr_asprintf("<13>1 - %s %s %s %s [%s %s=\"v\"] msg", lim[i].field == 0 ? f : "h",
                             lim[i].field == 1 ? f : "a", lim[i].field == 2 ? f : "p",
                             lim[i].field == 3 ? f : "m", lim[i].field == 4 ? f : "id",
                             lim[i].field == 5 ? f : "k");
            r = sr_record_create(in, strlen(in));
            got = sr_parser_rfc5424.parse(r, &ctx, &why);
            if (extra == 0) {
                ck_assert_msg(got == SR_PARSE_OK, "field %d at %zu: %s", lim[i].field, lim[i].max,
                              why);
                s = lim[i].field == 0   ? r->hostname
                    : lim[i].field == 1 ? r->app_name
                    : lim[i].field == 2 ? r->procid
                    : lim[i].field == 3 ? r->msgid
                    : lim[i].field == 4 ? r->sd_elems[0].id
                                        : r->sd_params[0].name;
                ck_assert_uint_eq(s.len, lim[i].max);
                check_slice(r, r->message, "msg", "message", in);
            } else {
                ck_assert_int_eq(got, SR_PARSE_MALFORMED);
                ck_assert_msg(strncmp(why, lim[i].why, strlen(lim[i].why)) == 0, "'%s'", why);
            }
            sr_record_release(r);
            free(in);
        }
    }
}
END_TEST

/* More elements and params than the inline room: all kept, in order. */
START_TEST(test_many_sd)
{
    sr_buf_t in, want, got;
    sr_record_t *r;
    const char *why = NULL;
    int e, k;
    size_t sd_off;

    sr_buf_init(&in);
    sr_buf_init(&want);
    sr_buf_init(&got);
    sr_buf_puts(&in, "<13>1 - h a p m ");
    sd_off = in.len;
    for (e = 0; e < 40; e++) {
        sr_buf_printf(&in, "[e%d", e);
        for (k = 0; k < e % 5; k++) {
            sr_buf_printf(&in, " k%d=\"v%d.%d\"", k, e, k);
        }
        sr_buf_putc(&in, ']');
    }
    sr_buf_append(&want, in.base + sd_off, in.len - sd_off);
    sr_buf_puts(&in, " tail");
    r = sr_record_create(in.base, in.len);
    ck_assert_int_eq(sr_parser_rfc5424.parse(r, &ctx, &why), SR_PARSE_OK);
    ck_assert_uint_eq(r->n_sd_elems, 40);
    ck_assert_uint_eq(r->n_sd_params, 80);
    render_sd(r, &got);
    ck_assert_str_eq(got.base, want.base);
    check_slice(r, r->message, "tail", "message", "many");
    /* Declining afterwards (another parse of a broken frame) frees them. */
    sr_record_reset_fields(r);
    ck_assert_ptr_null(r->sd_elems);
    sr_record_release(r);
    sr_buf_free(&in);
    sr_buf_free(&want);
    sr_buf_free(&got);
}
END_TEST

START_TEST(test_unescape)
{
    const char *in = "<13>1 - h a p m [a k=\"q\\\"b\\\\c\\]d\\xe\\\\\"] x";
    sr_record_t *r = sr_record_create(in, strlen(in));
    const char *why = NULL;
    sr_buf_t b;

    ck_assert_int_eq(sr_parser_rfc5424.parse(r, &ctx, &why), SR_PARSE_OK);
    sr_buf_init(&b);
    sr_sd_unescape(sr_record_ptr(r, r->sd_params[0].value), r->sd_params[0].value.len, &b);
    ck_assert_str_eq(b.base, "q\"b\\c]d\\xe\\");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

/* Embedded NULs: fine in MSG and SD values, MALFORMED in the header. */
START_TEST(test_embedded_nul)
{
    static const char msg_nul[] = "<13>1 - h a p m [a k=\"x\0y\"] m\0sg";
    static const char hdr_nul[] = "<13>1 - h\0 a p m - x";
    sr_record_t *r;
    const char *why = NULL;

    r = sr_record_create(msg_nul, sizeof(msg_nul) - 1);
    ck_assert_int_eq(sr_parser_rfc5424.parse(r, &ctx, &why), SR_PARSE_OK);
    ck_assert_uint_eq(r->message.len, 4);
    ck_assert(memcmp(sr_record_ptr(r, r->message), "m\0sg", 4) == 0);
    ck_assert_uint_eq(r->sd_params[0].value.len, 3);
    sr_record_release(r);
    r = sr_record_create(hdr_nul, sizeof(hdr_nul) - 1);
    ck_assert_int_eq(sr_parser_rfc5424.parse(r, &ctx, &why), SR_PARSE_MALFORMED);
    ck_assert_str_eq(why, "invalid character in RFC 5424 header at offset 9");
    sr_record_release(r);
}
END_TEST

/* Every prefix of valid frames (and of the whole fixture table): no crash,
 * no read past the end (ASan), and every slice within the text. */
START_TEST(test_prefixes)
{
    size_t c, len;

    for (c = 0; c < SR_ARRAY_SIZE(cases); c++) {
        size_t n = strlen(cases[c].in);

        for (len = 0; len <= n; len++) {
            /* A private copy of exactly len bytes, so ASan sees the end. */
            char *copy = sr_malloc(len ? len : 1);
            sr_record_t *r;
            const char *why = NULL;
            sr_parse_result_t got;

            memcpy(copy, cases[c].in, len);
            r = sr_record_create(copy, len);
            got = sr_parser_rfc5424.parse(r, &ctx, &why);
            if (got == SR_PARSE_OK) {
                ck_assert_uint_le(r->message.off + r->message.len, r->text_len);
                ck_assert_uint_le(r->facility, 23);
            } else {
                ck_assert_ptr_nonnull(why);
            }
            sr_record_release(r);
            free(copy);
        }
    }
}
END_TEST

/* The reason with an offset lives in the record and survives it being
 * shared; a frame with no spare room left falls back to the plain text. */
START_TEST(test_reason_storage)
{
    const char *in = "<13>1 - h a p m [a k=v]";
    sr_record_t *r = sr_record_create(in, strlen(in));
    const char *why = NULL;

    ck_assert_int_eq(sr_parser_rfc5424.parse(r, &ctx, &why), SR_PARSE_MALFORMED);
    ck_assert_str_eq(why, "invalid RFC 5424 structured data at offset 21");
    ck_assert(why >= r->text && why < r->text + r->text_cap);
    /* Use up the spare room, then fail again. */
    while (sr_slice_present(sr_record_append(r, "xxxxxxxx", 8))) {
    }
    ck_assert_int_eq(sr_parser_rfc5424.parse(r, &ctx, &why), SR_PARSE_MALFORMED);
    ck_assert_str_eq(why, "invalid RFC 5424 structured data");
    sr_record_release(r);
}
END_TEST

static Suite *rfc5424_suite(void)
{
    Suite *s = suite_create("rfc5424");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_fixtures, 0, SR_ARRAY_SIZE(cases));
    tcase_add_test(tc, test_zone_completed);
    tcase_add_test(tc, test_field_limits);
    tcase_add_test(tc, test_many_sd);
    tcase_add_test(tc, test_unescape);
    tcase_add_test(tc, test_embedded_nul);
    tcase_add_test(tc, test_prefixes);
    tcase_add_test(tc, test_reason_storage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rfc5424_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
