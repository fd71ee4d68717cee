/*
 * check_parser.c: unit tests for parsers/parser.c: PRI parsing, and the
 * chain per mode (auto, rfc5424, rfc3164) with its raw fallback.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "parsers/parser.h"

static const sr_parse_ctx_t ctx = {1795300927000000LL /* 2026-11-21T22:42:07Z */, NULL};

typedef struct pri_case_s {
    const char *in;
    size_t n; /* bytes offered; 0 means strlen */
    size_t want_len;
    int want_pri;
} pri_case_t;

static const pri_case_t pri_cases[] = {
    {"<0>", 0, 3, 0},    {"<0>x", 0, 3, 0},    {"<7>", 0, 3, 7},     {"<13>x", 0, 4, 13},
    {"<99>", 0, 4, 99},  {"<100>", 0, 5, 100}, {"<191>", 0, 5, 191}, {"<191>1 -", 0, 5, 191},
    {"<192>", 0, 0, 0},  {"<999>", 0, 0, 0},   {"<01>", 0, 0, 0},    {"<00>", 0, 0, 0},
    {"<000>", 0, 0, 0},  {"<013>", 0, 0, 0},   {"<>", 0, 0, 0},      {"<1234>", 0, 0, 0},
    {"<0191>", 0, 0, 0}, {"<13", 0, 0, 0},     {"<", 0, 0, 0},       {"", 0, 0, 0},
    {"13>", 0, 0, 0},    {"< 13>", 0, 0, 0},   {"<13 >", 0, 0, 0},   {"<-1>", 0, 0, 0},
    {"<+1>", 0, 0, 0},   {"<1a>", 0, 0, 0},    {"<13>", 3, 0, 0},    {"<191>", 4, 0, 0},
    {" <13>", 0, 0, 0},  {"<<13>", 0, 0, 0},
};

START_TEST(test_pri)
{
    const pri_case_t *c = &pri_cases[_i];
    size_t n = c->n ? c->n : strlen(c->in);
    char *copy = sr_malloc(n ? n : 1);
    int pri = -1;
    size_t got;

    memcpy(copy, c->in, n); /* exactly n bytes, so ASan sees any overread */
    got = sr_parse_pri(copy, n, &pri);
    ck_assert_msg(got == c->want_len, "'%s' (%zu): consumed %zu, want %zu", c->in, n, got,
                  c->want_len);
    if (got > 0) {
        ck_assert_int_eq(pri, c->want_pri);
    } else {
        ck_assert_int_eq(pri, -1); /* untouched */
    }
    free(copy);
}
END_TEST

typedef struct chain_case_s {
    const char *in;
    sr_parse_mode_t mode;
    sr_format_t want;
    int fac, sev;
    const char *app;    /* for parsed records; NULL for absent */
    const char *msg;    /* the message slice */
    const char *reason; /* for raw: exact parse_error */
} chain_case_t;

#define AUTO SR_PARSE_AUTO
#define P5424 SR_PARSE_RFC5424
#define P3164 SR_PARSE_RFC3164
#define RAW SR_FORMAT_RAW
#define F5424 SR_FORMAT_RFC5424
#define F3164 SR_FORMAT_RFC3164

static const chain_case_t chain_cases[] = {
    /* auto picks the right parser. */
    {"<165>1 2026-11-21T22:42:07Z h app - - - hi", AUTO, F5424, 20, 5, "app", "hi", NULL},
    {"<165>Nov 21 22:42:07 h app: hi", AUTO, F3164, 20, 5, "app", "hi", NULL},
    {"<38>text", AUTO, F3164, 4, 6, NULL, "text", NULL},
    {"Nov 21 22:42:07 h app: hi", AUTO, F3164, 1, 5, "app", "hi", NULL},
    /* Raw: no PRI, nothing recognisable. */
    {"hello world", AUTO, RAW, 1, 5, NULL, "hello world", "no PRI"},
    {"", AUTO, RAW, 1, 5, NULL, "", "no PRI"},
    {"\r\n", AUTO, RAW, 1, 5, NULL, "", "no PRI"},
    {"{\"json\": true}", AUTO, RAW, 1, 5, NULL, "{\"json\": true}", "no PRI"},
    /* Raw: invalid PRI; facility and severity stay 1/5. */
    {"<192>Nov 21 22:42:07 h app: hi", AUTO, RAW, 1, 5, NULL, "<192>Nov 21 22:42:07 h app: hi",
     "invalid PRI"},
    {"<01>hello", AUTO, RAW, 1, 5, NULL, "<01>hello", "invalid PRI"},
    {"<>hello", AUTO, RAW, 1, 5, NULL, "<>hello", "invalid PRI"},
    {"<1234>hello", AUTO, RAW, 1, 5, NULL, "<1234>hello", "invalid PRI"},
    {"<html>", AUTO, RAW, 1, 5, NULL, "<html>", "invalid PRI"},
    /* Raw: MALFORMED RFC 5424 stops the chain; facility/severity from PRI. */
    {"<165>1 2026-13-21T22:42:07Z h app - - - hi", AUTO, RAW, 20, 5, NULL,
     "<165>1 2026-13-21T22:42:07Z h app - - - hi", "invalid RFC 5424 timestamp at offset 7"},
    {"<0>1 - h app - - [x y] hi", AUTO, RAW, 0, 0, NULL, "<0>1 - h app - - [x y] hi",
     "invalid RFC 5424 structured data at offset 21"},
    /* PRI edges through the chain. */
    {"<0>", AUTO, F3164, 0, 0, NULL, "", NULL},
    {"<191>", AUTO, F3164, 23, 7, NULL, "", NULL},
    {"<191>1 - - - - - -", AUTO, F5424, 23, 7, NULL, "", NULL},
    /* A forced mode runs only that parser. */
    {"<34>Nov 21 22:42:07 h app: hi", P5424, RAW, 4, 2, NULL, "<34>Nov 21 22:42:07 h app: hi",
     "no RFC 3164 or RFC 5424 header"},
    {"Nov 21 22:42:07 h app: hi", P5424, RAW, 1, 5, NULL, "Nov 21 22:42:07 h app: hi", "no PRI"},
    {"<34>1 2026-11-21T22:42:07Z h app - - - hi", P3164, F3164, 4, 2, NULL,
     "1 2026-11-21T22:42:07Z h app - - - hi", NULL},
    {"<34>1 2026-11-21T22:42:07Z h app - - - hi", P5424, F5424, 4, 2, "app", "hi", NULL},
    {"hello", P3164, RAW, 1, 5, NULL, "hello", "no PRI"},
    {"<192>x", P3164, RAW, 1, 5, NULL, "<192>x", "invalid PRI"},
    /* An unknown mode value behaves as auto. */
    {"<165>1 - h app - - - hi", (sr_parse_mode_t)42, F5424, 20, 5, "app", "hi", NULL},
};

START_TEST(test_chain)
{
    const chain_case_t *c = &chain_cases[_i];
    sr_record_t *r = sr_record_create(c->in, strlen(c->in));
    sr_format_t got = sr_parse_record(r, c->mode, &ctx);

    ck_assert_msg(got == c->want, "'%s' mode %d: format %d, want %d (%s)", c->in, c->mode, got,
                  c->want, r->parse_error ? r->parse_error : "");
    ck_assert_int_eq(r->format, c->want);
    ck_assert_msg(r->facility == c->fac && r->severity == c->sev, "'%s': %d.%d", c->in, r->facility,
                  r->severity);
    ck_assert_msg(r->message.len == strlen(c->msg) &&
                      memcmp(sr_record_ptr(r, r->message), c->msg, r->message.len) == 0,
                  "'%s': message '%.*s'", c->in, (int)r->message.len, sr_record_ptr(r, r->message));
    if (c->want == RAW) {
        ck_assert_ptr_nonnull(r->parse_error);
        ck_assert_str_eq(r->parse_error, c->reason);
        ck_assert(r->message.off == r->raw.off && r->message.len == r->raw.len);
        ck_assert_int_eq(r->version, -1);
        ck_assert(!sr_slice_present(r->timestamp) && !sr_slice_present(r->hostname) &&
                  !sr_slice_present(r->app_name) && !sr_slice_present(r->procid) &&
                  !sr_slice_present(r->msgid));
        ck_assert_uint_eq(r->n_sd_elems, 0);
    } else {
        ck_assert_ptr_null(r->parse_error);
        if (c->app == NULL) {
            ck_assert(!sr_slice_present(r->app_name));
        } else {
            ck_assert(sr_slice_present(r->app_name) && r->app_name.len == strlen(c->app) &&
                      memcmp(sr_record_ptr(r, r->app_name), c->app, r->app_name.len) == 0);
        }
    }
    sr_record_release(r);
}
END_TEST

/* Parsing a record again starts from scratch: fields of the first parse
 * never leak into the second. */
START_TEST(test_reparse_resets)
{
    const char *in = "<165>1 2026-11-21T22:42:07Z h app 12 ID [a b=\"c\"] hi";
    sr_record_t *r = sr_record_create(in, strlen(in));

    ck_assert_int_eq(sr_parse_record(r, SR_PARSE_AUTO, &ctx), SR_FORMAT_RFC5424);
    ck_assert_uint_eq(r->n_sd_elems, 1);
    ck_assert_int_eq(sr_parse_record(r, SR_PARSE_RFC3164, &ctx), SR_FORMAT_RFC3164);
    ck_assert_uint_eq(r->n_sd_elems, 0);
    ck_assert(!sr_slice_present(r->msgid));
    ck_assert_int_eq(r->version, -1);
    sr_record_release(r);
}
END_TEST

/* A NULL context means "now" and UTC. */
START_TEST(test_null_ctx)
{
    const char *in = "<13>Jan  5 01:02:03 h app: hi";
    sr_record_t *r = sr_record_create(in, strlen(in));

    ck_assert_int_eq(sr_parse_record(r, SR_PARSE_AUTO, NULL), SR_FORMAT_RFC3164);
    ck_assert(sr_slice_present(r->timestamp));
    ck_assert_uint_eq(r->timestamp.len, 25);
    ck_assert(memcmp(sr_record_ptr(r, r->timestamp) + 4, "-01-05T01:02:03+00:00", 21) == 0);
    sr_record_release(r);
}
END_TEST

/* Trailing CR, LF and NUL never reach the parsers. */
START_TEST(test_trailer)
{
    static const char in[] = "<13>1 - h app - - - hi\r\n\0";
    sr_record_t *r = sr_record_create(in, sizeof(in) - 1);

    ck_assert_int_eq(sr_parse_record(r, SR_PARSE_AUTO, &ctx), SR_FORMAT_RFC5424);
    ck_assert_uint_eq(r->message.len, 2);
    ck_assert(memcmp(sr_record_ptr(r, r->message), "hi", 2) == 0);
    sr_record_release(r);
}
END_TEST

static Suite *parser_suite(void)
{
    Suite *s = suite_create("parser");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_pri, 0, SR_ARRAY_SIZE(pri_cases));
    tcase_add_loop_test(tc, test_chain, 0, SR_ARRAY_SIZE(chain_cases));
    tcase_add_test(tc, test_reparse_resets);
    tcase_add_test(tc, test_null_ctx);
    tcase_add_test(tc, test_trailer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(parser_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
