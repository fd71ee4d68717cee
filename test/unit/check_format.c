/*
 * check_format.c: unit tests for relay/format.c, the record writers.
 *
 * Records are built by hand (sr_record_create plus slices) so these tests
 * do not depend on the parsers. Every expectation is the exact bytes.
 */
#include <check.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parsers/parser.h"
#include "relay/format.h"
#include "test/json_ref.h"

/* Slice of the first occurrence of needle at or after `from` in the record's text. */
static sr_slice_t find_from(const sr_record_t *r, const char *needle, uint32_t from)
{
    size_t n = strlen(needle);
    uint32_t i;

    for (i = from; i + n <= r->text_len; i++) {
        if (memcmp(r->text + i, needle, n) == 0) {
            return (sr_slice_t){i, (uint32_t)n};
        }
    }
    ck_abort_msg("needle '%s' not in record", needle);
    return SR_SLICE_NULL;
}

static sr_slice_t find(const sr_record_t *r, const char *needle)
{
    return find_from(r, needle, 0);
}

static sr_record_t *mkrec(const char *text)
{
    sr_record_t *r = sr_record_create(text, strlen(text));

    r->received_us = 1795288927581084LL; /* 2026-11-21T19:22:07.581084Z */
    strcpy(r->source, "192.0.2.7");
    r->input_name = "tcp-in";
    return r;
}

static char *json_of(const sr_record_t *r)
{
    sr_buf_t b;
    char *s;

    sr_buf_init(&b);
    sr_format_json(r, &b);
    s = sr_strndup(b.base, b.len);
    sr_buf_free(&b);
    return s;
}

#define ck_buf_eq(b, lit)                                                                          \
    do {                                                                                           \
        ck_assert_uint_eq((b).len, sizeof(lit) - 1);                                               \
        ck_assert_msg(memcmp((b).base, lit, sizeof(lit) - 1) == 0, "got '%.*s' want '%s'",         \
                      (int)(b).len, (b).base, lit);                                                \
    } while (0)

/* ---- JSON strings ------------------------------------------------------------------------- */

typedef struct esc_case_s {
    const char *in;
    size_t in_len;
    const char *out; /* with the quotes */
} esc_case_t;

#define ESC(i, o)                                                                                  \
    {                                                                                              \
        i, sizeof(i) - 1, o                                                                        \
    }

static const esc_case_t esc_cases[] = {
    ESC("", "\"\""), ESC("plain text", "\"plain text\""), ESC("q\"b\\s/", "\"q\\\"b\\\\s/\""),
    ESC("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\""), ESC("\x01\x1f", "\"\\u0001\\u001f\""),
    ESC("nul\0in", "\"nul\\u0000in\""), ESC("\x0b\x1b", "\"\\u000b\\u001b\""),
    ESC("del\x7f", "\"del\x7f\""),
    /* valid UTF-8 passes as is */
    ESC("caf\xc3\xa9", "\"caf\xc3\xa9\""),
    ESC("\xe2\x82\xac \xf0\x9f\x98\x80", "\"\xe2\x82\xac \xf0\x9f\x98\x80\""),
    ESC("\xef\xbb\xbf", "\"\xef\xbb\xbf\""),         /* BOM is a valid character */
    ESC("\xed\x9f\xbf", "\"\xed\x9f\xbf\""),         /* U+D7FF */
    ESC("\xee\x80\x80", "\"\xee\x80\x80\""),         /* U+E000 */
    ESC("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""), /* U+10FFFF */
    ESC("\xc2\x80", "\"\xc2\x80\""),                 /* U+0080, a C1 control, is valid */
};

/* Invalid UTF-8: one U+FFFD per maximal subpart. */
#define FFFD "\xef\xbf\xbd"
static const esc_case_t utf8_cases[] = {
    ESC("\x80", "\"" FFFD "\""), /* lone continuation */
    ESC("a\xbf"
        "b",
        "\"a" FFFD "b\""),
    ESC("\x80\x80", "\"" FFFD FFFD "\""), /* each continuation on its own */
    ESC("\xc0\xaf", "\"" FFFD FFFD "\""), /* overlong '/', C0 never valid */
    ESC("\xc1\xbf", "\"" FFFD FFFD "\""),
    ESC("\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\""),          /* overlong 3-byte */
    ESC("\xf0\x80\x80\xaf", "\"" FFFD FFFD FFFD FFFD "\""), /* overlong 4-byte */
    ESC("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\""),          /* surrogate D800 */
    ESC("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\""),          /* surrogate DFFF */
    ESC("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""), /* U+110000 */
    ESC("\xf5\x80", "\"" FFFD FFFD "\""),
    ESC("\xff", "\"" FFFD "\""),
    ESC("\xfe\xff", "\"" FFFD FFFD "\""),
    ESC("\xc3", "\"" FFFD "\""),                         /* truncated at end */
    ESC("\xe2\x82", "\"" FFFD "\""),                     /* truncated 3-byte: one subpart */
    ESC("\xf0\x9f\x98", "\"" FFFD "\""),                 /* truncated 4-byte: one subpart */
    ESC("\xe2\x82x", "\"" FFFD "x\""),                   /* interrupted by ASCII */
    ESC("\xf0\x9f\x98\xc3\xa9", "\"" FFFD "\xc3\xa9\""), /* interrupted by a valid char */
    ESC("\xc3\"", "\"" FFFD "\\\"\""),                   /* interrupted by a quote */
    ESC("\xe2\x0a", "\"" FFFD "\\n\""),
    ESC("a\xe2\x82\xac\x80z", "\"a\xe2\x82\xac" FFFD "z\""),
    /* Unicode's own example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
    ESC("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
        "\"a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d\""),
};

static void check_esc(const esc_case_t *c)
{
    sr_buf_t b;

    sr_buf_init(&b);
    sr_buf_puts(&b, "x"); /* appends, never overwrites */
    sr_json_string(&b, c->in, c->in_len);
    ck_assert_uint_eq(b.len, 1 + strlen(c->out));
    ck_assert_msg(memcmp(b.base + 1, c->out, b.len - 1) == 0, "got '%.*s' want '%s'",
                  (int)b.len - 1, b.base + 1, c->out);
    ck_assert_int_eq(b.base[0], 'x');
    sr_buf_free(&b);
}

START_TEST(test_json_escape)
{
    check_esc(&esc_cases[_i]);
}
END_TEST

static void check_against_ref(const char *s, size_t n)
{
    sr_buf_t got, want;

    sr_buf_init(&got);
    sr_buf_init(&want);
    sr_json_string(&got, s, n);
    sr_test_json_string(&want, s, n);
    ck_assert_msg(got.len == want.len && memcmp(got.base, want.base, got.len) == 0,
                  "input of %zu bytes: got '%.*s' want '%.*s'", n, (int)got.len, got.base,
                  (int)want.len, want.base);
    sr_buf_free(&got);
    sr_buf_free(&want);
}

/* The writer checks 32 (with AVX2), 16 and 8 bytes at a time, a short
 * string as one 16-byte load, and ends a string by checking its last 16
 * or 8 bytes again: every length up to 40, with one or two bytes that
 * need more than a copy at every pair of places; lengths 64-100 with one
 * such byte at every place; and random strings over an alphabet rich in
 * them. */
START_TEST(test_json_escape_every_offset)
{
    static const char *const specials[] = {"\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9",
                                           "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff", "\xe2\x82"};
    char s[128];
    size_t n, a, b, k, m;
    unsigned seed = 12345;

    for (n = 0; n <= 40; n++) {
        memset(s, 'a', n);
        check_against_ref(s, n);
        for (k = 0; k < SR_ARRAY_SIZE(specials); k++) {
            size_t sl = strlen(specials[k]);

            for (a = 0; a + sl <= n; a++) {
                for (b = a + sl; b <= n; b++) {
                    memset(s, 'a', n);
                    memcpy(s + a, specials[k], sl);
                    if (b < n) {
                        s[b] = '"';
                    }
                    check_against_ref(s, n);
                }
            }
        }
    }
    for (n = 64; n <= 100; n++) {
        for (k = 0; k < SR_ARRAY_SIZE(specials); k++) {
            size_t sl = strlen(specials[k]);

            for (a = 0; a + sl <= n; a++) {
                memset(s, 'a', n);
                memcpy(s + a, specials[k], sl);
                check_against_ref(s, n);
            }
        }
    }
    for (m = 0; m < 20000; m++) {
        static const char alphabet[] = "ab \"\\\n\x01\xc3\xa9\xe2\x82\xac\xf0\x9f\xff";

        n = (seed = seed * 1103515245u + 12345u) >> 16 & 127;
        for (a = 0; a < n; a++) {
            seed = seed * 1103515245u + 12345u;
            s[a] = (seed >> 16) % 4 != 0 ? 'x' : alphabet[(seed >> 18) % (sizeof(alphabet) - 1)];
        }
        check_against_ref(s, n);
    }
}
END_TEST

/* A short string is read 16 bytes at a time only where that cannot cross
 * into the next page: strings that end at the last byte of a page whose
 * successor is not mapped, and strings that start in the last 16 bytes
 * of such a page, must be written right and must not fault. */
START_TEST(test_json_escape_page_end)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    char *end;
    size_t n, k;

    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
    end = map + pg;
    for (n = 0; n <= 40; n++) {
        for (k = 0; k < n; k++) {
            end[-(long)n + (long)k] = (char)(k % 7 == 3 ? '"' : 'a' + (int)k % 26);
        }
        check_against_ref(end - n, n);
        memset(end - n, 'q', n);
        check_against_ref(end - n, n);
    }
    munmap(map, (size_t)pg * 2);
}
END_TEST

START_TEST(test_json_utf8)
{
    check_esc(&utf8_cases[_i]);
}
END_TEST

/* ---- time --------------------------------------------------------------------------------- */

START_TEST(test_time_us)
{
    static const struct {
        int64_t us;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000000Z"},
        {1, "1970-01-01T00:00:00.000001Z"},
        {-1, "1969-12-31T23:59:59.999999Z"},
        {1795288927581084LL, "2026-11-21T19:22:07.581084Z"},
        {951782400000000LL, "2000-02-29T00:00:00.000000Z"},
        {4102444799999999LL, "2099-12-31T23:59:59.999999Z"},
        /* The per-thread caches: the same instant again, another one in
         * the same second, the first again, the next second. */
        {1795288927581084LL, "2026-11-21T19:22:07.581084Z"},
        {1795288927581084LL, "2026-11-21T19:22:07.581084Z"},
        {1795288927000007LL, "2026-11-21T19:22:07.000007Z"},
        {1795288927581084LL, "2026-11-21T19:22:07.581084Z"},
        {1795288928581084LL, "2026-11-21T19:22:08.581084Z"},
        {1795288928581084LL, "2026-11-21T19:22:08.581084Z"},
    };
    size_t i;

    for (i = 0; i < SR_ARRAY_SIZE(cases); i++) {
        sr_buf_t b;

        sr_buf_init(&b);
        sr_format_time_us(cases[i].us, &b);
        ck_assert_str_eq(b.base, cases[i].want);
        sr_buf_free(&b);
    }
}
END_TEST

/* ---- names -------------------------------------------------------------------------------- */

START_TEST(test_names)
{
    ck_assert_str_eq(sr_facility_name(0), "kern");
    ck_assert_str_eq(sr_facility_name(1), "user");
    ck_assert_str_eq(sr_facility_name(4), "auth");
    ck_assert_str_eq(sr_facility_name(10), "authpriv");
    ck_assert_str_eq(sr_facility_name(13), "security");
    ck_assert_str_eq(sr_facility_name(15), "solaris-cron");
    ck_assert_str_eq(sr_facility_name(16), "local0");
    ck_assert_str_eq(sr_facility_name(23), "local7");
    ck_assert_ptr_null(sr_facility_name(24));
    ck_assert_ptr_null(sr_facility_name(-1));
    ck_assert_str_eq(sr_severity_name(0), "emerg");
    ck_assert_str_eq(sr_severity_name(3), "err");
    ck_assert_str_eq(sr_severity_name(4), "warning");
    ck_assert_str_eq(sr_severity_name(7), "debug");
    ck_assert_ptr_null(sr_severity_name(8));
    ck_assert_ptr_null(sr_severity_name(-1));
}
END_TEST

/* ---- JSON record -------------------------------------------------------------------------- */

START_TEST(test_json_raw_nulls)
{
    sr_record_t *r = mkrec("garbage \"line\"\r\n");
    char *s;

    r->parse_error = "no PRI";
    s = json_of(r);
    ck_assert_str_eq(s, "{\"timestamp\":null,\"received_at\":\"2026-11-21T19:22:07.581084Z\","
                        "\"source\":\"192.0.2.7\",\"input\":\"tcp-in\",\"format\":\"raw\","
                        "\"facility\":1,\"severity\":5,\"version\":null,\"hostname\":null,"
                        "\"app_name\":null,\"procid\":null,\"msgid\":null,"
                        "\"structured_data\":null,\"message\":\"garbage \\\"line\\\"\","
                        "\"parse_error\":\"no PRI\"}");
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(test_json_empty_record)
{
    sr_record_t *r = mkrec("");
    char *s;

    r->source[0] = '\0';
    r->message = SR_SLICE_NULL;
    s = json_of(r);
    ck_assert_str_eq(s, "{\"timestamp\":null,\"received_at\":\"2026-11-21T19:22:07.581084Z\","
                        "\"source\":\"\",\"input\":\"tcp-in\",\"format\":\"raw\","
                        "\"facility\":1,\"severity\":5,\"version\":null,\"hostname\":null,"
                        "\"app_name\":null,\"procid\":null,\"msgid\":null,"
                        "\"structured_data\":null,\"message\":\"\",\"parse_error\":null}");
    free(s);
    sr_record_release(r);
}
END_TEST

/* A 5424 record as the parser would leave it. */
static const char msg5424[] =
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 "
    "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"lication\\]\" eventID=\"1011\"]"
    "[ex@1 a=\"x\" b=\"y\" a=\"z\\\\w\"][ex@1 b=\"q\" c=\"\"] An application event";

static sr_record_t *mk5424(void)
{
    sr_record_t *r = mkrec(msg5424);
    sr_sd_param_t *p;
    uint32_t o;

    r->format = SR_FORMAT_RFC5424;
    r->facility = 20;
    r->severity = 5;
    r->version = 1;
    r->timestamp = find(r, "2003-10-11T22:14:15.003Z");
    r->hostname = find(r, "mymachine.example.com");
    r->app_name = find(r, "evntslog");
    r->procid = find(r, "1234");
    r->msgid = find(r, "ID47");
    r->message = find(r, "An application event");
    sr_record_sd_reserve(r, 3, 8);
    r->sd_elems[0] = (sr_sd_elem_t){find(r, "exampleSDID@32473"), 0, 3};
    r->sd_elems[1] = (sr_sd_elem_t){find(r, "ex@1"), 3, 3};
    o = find(r, "ex@1").off + 1;
    r->sd_elems[2] = (sr_sd_elem_t){find_from(r, "ex@1", o), 6, 2};
    p = r->sd_params;
    p[0] = (sr_sd_param_t){find(r, "iut"), find(r, "3\"")};
    p[0].value.len = 1;
    p[1] = (sr_sd_param_t){find(r, "eventSource"), find(r, "App\\\"lication\\]")};
    p[2] = (sr_sd_param_t){find(r, "eventID"), find(r, "1011")};
    o = r->sd_elems[1].id.off;
    p[3] = (sr_sd_param_t){find_from(r, "a=", o), find_from(r, "x\"", o)};
    p[4] = (sr_sd_param_t){find_from(r, "b=", o), find_from(r, "y\"", o)};
    p[5] = (sr_sd_param_t){find_from(r, "a=", p[4].name.off), find(r, "z\\\\w")};
    o = r->sd_elems[2].id.off;
    p[6] = (sr_sd_param_t){find_from(r, "b=", o), find_from(r, "q\"", o)};
    p[7] = (sr_sd_param_t){find_from(r, "c=", o), {find_from(r, "c=", o).off + 3, 0}};
    for (o = 3; o < 7; o++) {
        p[o].name.len = 1;
        p[o].value.len = 1;
    }
    p[7].name.len = 1;
    p[5].value.len = 4;
    return r;
}

START_TEST(test_json_5424_sd)
{
    sr_record_t *r = mk5424();
    char *s = json_of(r);

    ck_assert_str_eq(s,
                     "{\"timestamp\":\"2003-10-11T22:14:15.003Z\","
                     "\"received_at\":\"2026-11-21T19:22:07.581084Z\",\"source\":\"192.0.2.7\","
                     "\"input\":\"tcp-in\",\"format\":\"rfc5424\",\"facility\":20,\"severity\":5,"
                     "\"version\":1,\"hostname\":\"mymachine.example.com\","
                     "\"app_name\":\"evntslog\",\"procid\":\"1234\",\"msgid\":\"ID47\","
                     "\"structured_data\":{\"exampleSDID@32473\":{\"iut\":\"3\","
                     "\"eventSource\":\"App\\\"lication]\",\"eventID\":\"1011\"},"
                     "\"ex@1\":{\"a\":[\"x\",\"z\\\\w\"],\"b\":[\"y\",\"q\"],\"c\":\"\"}},"
                     "\"message\":\"An application event\",\"parse_error\":null}");
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(test_json_sd_empty_elem)
{
    sr_record_t *r = mkrec("<13>1 - - - - - [a][b x=\"1\"][a]");
    char *s;

    r->format = SR_FORMAT_RFC5424;
    r->version = 1;
    r->facility = 1;
    r->message = SR_SLICE_NULL;
    sr_record_sd_reserve(r, 3, 1);
    r->sd_elems[0] = (sr_sd_elem_t){{17, 1}, 0, 0};
    r->sd_elems[1] = (sr_sd_elem_t){{20, 1}, 0, 1};
    r->sd_elems[2] = (sr_sd_elem_t){{29, 1}, 1, 0};
    r->sd_params[0] = (sr_sd_param_t){{22, 1}, {25, 1}};
    s = json_of(r);
    ck_assert_msg(strstr(s, "\"structured_data\":{\"a\":{},\"b\":{\"x\":\"1\"}},") != NULL, "%s",
                  s);
    ck_assert_msg(strstr(s, "\"message\":\"\"") != NULL, "%s", s);
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(test_json_many_sd)
{
    /* 3000 elements with the same id and a name repeated: merged into one
     * object with one array; must stay fast (sorting, not quadratic). */
    sr_buf_t text, want;
    sr_record_t *r;
    char *s;
    uint32_t i, n = 3000;

    sr_buf_init(&text);
    sr_buf_init(&want);
    for (i = 0; i < n; i++) {
        sr_buf_puts(&text, "[id k=\"v\"]");
    }
    r = mkrec(text.base);
    sr_record_sd_reserve(r, n, n);
    for (i = 0; i < n; i++) {
        r->sd_elems[i] = (sr_sd_elem_t){{i * 10 + 1, 2}, i, 1};
        r->sd_params[i] = (sr_sd_param_t){{i * 10 + 4, 1}, {i * 10 + 7, 1}};
    }
    sr_buf_puts(&want, "\"structured_data\":{\"id\":{\"k\":[");
    for (i = 0; i < n; i++) {
        sr_buf_puts(&want, i ? ",\"v\"" : "\"v\"");
    }
    sr_buf_puts(&want, "]}},");
    s = json_of(r);
    ck_assert_ptr_nonnull(strstr(s, want.base));
    free(s);
    sr_record_release(r);
    sr_buf_free(&text);
    sr_buf_free(&want);
}
END_TEST

START_TEST(test_json_invalid_utf8_fields)
{
    sr_record_t *r = mkrec("<13>Nov  1 h\xff app: m\xc3\x28");
    char *s;

    r->format = SR_FORMAT_RFC3164;
    r->hostname = (sr_slice_t){11, 2};
    r->app_name = (sr_slice_t){14, 3};
    r->message = (sr_slice_t){19, 3};
    r->timestamp = SR_SLICE_NULL;
    s = json_of(r);
    ck_assert_ptr_nonnull(strstr(s, "\"hostname\":\"h" FFFD "\""));
    ck_assert_ptr_nonnull(strstr(s, "\"message\":\"m" FFFD "(\""));
    ck_assert_ptr_nonnull(strstr(s, "\"format\":\"rfc3164\""));
    free(s);
    sr_record_release(r);
}
END_TEST

/* ---- RFC 5424 writer ---------------------------------------------------------------------- */

START_TEST(test_5424_from_5424)
{
    sr_record_t *r = mk5424();
    sr_buf_t b;

    sr_buf_init(&b);
    sr_format_rfc5424(r, NULL, &b);
    ck_buf_eq(b, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 "
                 "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"lication\\]\" eventID=\"1011\"]"
                 "[ex@1 a=\"x\" b=\"y\" a=\"z\\\\w\"][ex@1 b=\"q\" c=\"\"] An application event");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_5424_opts)
{
    sr_record_t *r = mk5424();
    sr_rfc5424_opts_t o = {"svc", "[metas ddsource=\"x\"]"};
    sr_buf_t b;

    sr_buf_init(&b);
    r->app_name = SR_SLICE_NULL;
    sr_record_sd_reserve(r, 0, 0);
    r->message = SR_SLICE_NULL;
    r->timestamp = SR_SLICE_NULL;
    sr_format_rfc5424(r, &o, &b);
    ck_buf_eq(b, "<165>1 - mymachine.example.com svc 1234 ID47 [metas ddsource=\"x\"]");
    sr_buf_reset(&b);
    /* own SD first, then extra; the record's app name wins over the default */
    sr_record_release(r);
    r = mk5424();
    sr_format_rfc5424(r, &o, &b);
    ck_assert_ptr_nonnull(strstr(b.base, " evntslog 1234 ID47 [exampleSDID@32473 "));
    ck_assert_ptr_nonnull(strstr(b.base, "c=\"\"][metas ddsource=\"x\"] An application event"));
    sr_buf_reset(&b);
    r->message = (sr_slice_t){r->message.off, 0}; /* empty MSG: no trailing space */
    sr_record_sd_reserve(r, 0, 0);
    sr_format_rfc5424(r, NULL, &b);
    ck_buf_eq(b, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 -");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

/* SD-IDs are unique in a message: a record's own element with the extra
 * element's ID joins it (the relay's params first) instead of repeating. */
START_TEST(test_5424_extra_merges)
{
    static const char line[] =
        "<14>1 2026-11-22T03:00:00Z h app - - [a@1 k=\"1\"][metas ddtags=\"team:x\" y=\"q\\\"\"]"
        "[b@1][metas z=\"2\"] msg";
    sr_parse_ctx_t ctx = {0, NULL};
    sr_record_t *r = sr_record_create(line, sizeof(line) - 1);
    sr_rfc5424_opts_t o = {NULL, "[metas ddsource=\"x\" ddtags=\"env:prod\"]"};
    sr_rfc5424_opts_t other = {NULL, "[dd x=\"1\"]"};
    sr_buf_t b;

    ck_assert_int_eq(sr_parse_record(r, SR_PARSE_AUTO, &ctx), SR_FORMAT_RFC5424);
    sr_buf_init(&b);
    sr_format_rfc5424(r, &o, &b);
    ck_buf_eq(b, "<14>1 2026-11-22T03:00:00Z h app - - [a@1 k=\"1\"][b@1][metas ddsource=\"x\" "
                 "ddtags=\"env:prod\" ddtags=\"team:x\" y=\"q\\\"\" z=\"2\"] msg");
    sr_buf_reset(&b);
    sr_format_rfc5424(r, &other, &b);
    ck_buf_eq(b, "<14>1 2026-11-22T03:00:00Z h app - - [a@1 k=\"1\"][metas ddtags=\"team:x\" "
                 "y=\"q\\\"\"][b@1][metas z=\"2\"][dd x=\"1\"] msg");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_5424_from_3164)
{
    sr_record_t *r = mkrec("<34>Oct  3 22:14:15 my host su[99]: 'su root' failed\n");
    sr_buf_t b;

    sr_buf_init(&b);
    r->format = SR_FORMAT_RFC3164;
    r->facility = 4;
    r->severity = 2;
    /* The parser appends the completed timestamp after the frame. */
    r->timestamp = sr_record_append(r, "2026-10-03T22:14:15+02:00", 25);
    r->hostname = find(r, "my host"); /* a space must not survive */
    r->app_name = find(r, "su");
    r->procid = find(r, "99");
    r->message = find(r, "'su root' failed");
    sr_format_rfc5424(r, NULL, &b);
    ck_buf_eq(b, "<34>1 2026-10-03T22:14:15+02:00 my_host su 99 - - 'su root' failed");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_5424_from_3164_sanitize)
{
    char text[600];
    sr_record_t *r;
    sr_buf_t b;
    size_t i;

    /* 300-byte host, 60-byte tag with non-ASCII, empty procid */
    memset(text, 'h', 300);
    memcpy(text + 300, " \xc3\xa9", 3);
    memset(text + 303, 'a', 57);
    memcpy(text + 360, "[]: m", 6);
    r = mkrec(text);
    r->format = SR_FORMAT_RFC3164;
    r->facility = 23;
    r->severity = 7;
    r->hostname = (sr_slice_t){0, 300};
    r->app_name = (sr_slice_t){301, 59};
    r->procid = (sr_slice_t){361, 0};
    r->message = (sr_slice_t){364, 1};
    sr_buf_init(&b);
    sr_format_rfc5424(r, NULL, &b);
    /* received_at stands in for the missing timestamp */
    ck_assert_int_eq(memcmp(b.base, "<191>1 2026-11-21T19:22:07.581084Z ", 35), 0);
    for (i = 0; i < 255; i++) {
        ck_assert_int_eq(b.base[35 + i], 'h');
    }
    ck_assert_int_eq(b.base[35 + 255], ' ');
    ck_assert_int_eq(
        memcmp(b.base + 291, "__aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - - - m", 56), 0);
    ck_assert_uint_eq(b.len, 291 + 56);
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_5424_from_raw)
{
    sr_record_t *r = mkrec("just some text");
    sr_rfc5424_opts_t o = {"fallback app", NULL};
    sr_buf_t b;

    sr_buf_init(&b);
    sr_format_rfc5424(r, &o, &b);
    ck_buf_eq(b, "<13>1 2026-11-21T19:22:07.581084Z - fallback_app - - - just some text");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_5424_sd_value_repair)
{
    /* A value with a bare quote or bracket (say, a redaction replacement)
     * is escaped on the way out; valid escapes stay as they are. */
    sr_record_t *r = mkrec("[x v=\"a\"b]c\\\"d\\\\\"]");
    sr_buf_t b;

    r->format = SR_FORMAT_RFC5424;
    r->version = 1;
    r->message = SR_SLICE_NULL;
    sr_record_sd_reserve(r, 1, 1);
    r->sd_elems[0] = (sr_sd_elem_t){{1, 1}, 0, 1};
    r->sd_params[0] = (sr_sd_param_t){{3, 1}, {6, 10}};
    sr_buf_init(&b);
    sr_format_rfc5424(r, NULL, &b);
    ck_buf_eq(b, "<13>1 - - - - - [x v=\"a\\\"b\\]c\\\"d\\\\\"]");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

/* ---- RFC 3164 writer ---------------------------------------------------------------------- */

START_TEST(test_3164_from_3164)
{
    sr_record_t *r = mkrec("<34>Oct  3 22:14:15 mymachine su[99]: 'su root' failed");
    sr_buf_t b;

    sr_buf_init(&b);
    r->format = SR_FORMAT_RFC3164;
    r->facility = 4;
    r->severity = 2;
    r->timestamp = sr_record_append(r, "2026-10-03T22:14:15.000000-07:00", 32);
    r->hostname = find(r, "mymachine");
    r->app_name = find(r, "su");
    r->procid = find(r, "99");
    r->message = find(r, "'su root' failed");
    sr_format_rfc3164(r, &b);
    ck_buf_eq(b, "<34>Oct  3 22:14:15 mymachine su[99]: 'su root' failed");
    sr_buf_reset(&b);
    r->procid = SR_SLICE_NULL;
    sr_format_rfc3164(r, &b);
    ck_buf_eq(b, "<34>Oct  3 22:14:15 mymachine su: 'su root' failed");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_3164_from_5424)
{
    sr_record_t *r = mk5424();
    sr_buf_t b;

    sr_buf_init(&b);
    sr_format_rfc3164(r, &b);
    /* the time as written (no zone conversion), SD dropped */
    ck_buf_eq(b, "<165>Oct 11 22:14:15 mymachine.example.com evntslog[1234]: An application event");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_3164_from_raw)
{
    sr_record_t *r = mkrec("free text here");
    sr_buf_t b;

    sr_buf_init(&b);
    sr_format_rfc3164(r, &b);
    /* receive time in UTC, the sender's address as host, no tag */
    ck_buf_eq(b, "<13>Nov 21 19:22:07 192.0.2.7 free text here");
    sr_buf_reset(&b);
    r->source[0] = '\0';
    r->message = (sr_slice_t){0, 0};
    sr_format_rfc3164(r, &b);
    ck_buf_eq(b, "<13>Nov 21 19:22:07");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_3164_day_padding)
{
    sr_record_t *r = mkrec("x");
    sr_buf_t b;

    sr_buf_init(&b);
    r->timestamp = sr_record_append(r, "2026-01-05T03:04:05Z", 20);
    r->app_name = r->raw;
    r->message = SR_SLICE_NULL;
    sr_format_rfc3164(r, &b);
    ck_buf_eq(b, "<13>Jan  5 03:04:05 192.0.2.7 x:");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

/* ---- raw ---------------------------------------------------------------------------------- */

START_TEST(test_raw)
{
    sr_record_t *r = mkrec("<13>whatever \xff bytes\r\n");
    sr_buf_t b;

    sr_buf_init(&b);
    sr_format_raw(r, &b);
    ck_buf_eq(b, "<13>whatever \xff bytes");
    sr_buf_free(&b);
    sr_record_release(r);
    r = mkrec("");
    sr_buf_init(&b);
    sr_format_raw(r, &b);
    ck_assert_uint_eq(b.len, 0);
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

static Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_json_escape, 0, SR_ARRAY_SIZE(esc_cases));
    tcase_add_loop_test(tc, test_json_utf8, 0, SR_ARRAY_SIZE(utf8_cases));
    tcase_add_test(tc, test_json_escape_every_offset);
    tcase_add_test(tc, test_json_escape_page_end);
    tcase_add_test(tc, test_time_us);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_json_raw_nulls);
    tcase_add_test(tc, test_json_empty_record);
    tcase_add_test(tc, test_json_5424_sd);
    tcase_add_test(tc, test_json_sd_empty_elem);
    tcase_add_test(tc, test_json_many_sd);
    tcase_add_test(tc, test_json_invalid_utf8_fields);
    tcase_add_test(tc, test_5424_from_5424);
    tcase_add_test(tc, test_5424_opts);
    tcase_add_test(tc, test_5424_extra_merges);
    tcase_add_test(tc, test_5424_from_3164);
    tcase_add_test(tc, test_5424_from_3164_sanitize);
    tcase_add_test(tc, test_5424_from_raw);
    tcase_add_test(tc, test_5424_sd_value_repair);
    tcase_add_test(tc, test_3164_from_3164);
    tcase_add_test(tc, test_3164_from_5424);
    tcase_add_test(tc, test_3164_from_raw);
    tcase_add_test(tc, test_3164_day_padding);
    tcase_add_test(tc, test_raw);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(format_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
