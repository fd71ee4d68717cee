/*
 * check_framing.c: unit tests for relay/framing.c, the RFC 6587 decoder.
 *
 * Each fixture is a stream, a mode, a max and the exact frames (bytes and
 * flags) it must give. Every fixture is fed whole, one byte at a time, and
 * split in two at every point; each piece is copied into its own exact-size
 * allocation so that ASan catches any read past the caller's bytes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "relay/framing.h"
#include "relay/common.h"

typedef struct exp_frame_s {
    const char *p;
    size_t len;
    int flags;
} exp_frame_t;

typedef struct fcase_s {
    const char *name;
    sr_framing_t mode;
    uint32_t max;
    const char *in;
    size_t in_len;
    exp_frame_t want[6];
    size_t n_want;
    uint64_t truncated;
} fcase_t;

#define S(lit) lit, sizeof(lit) - 1
#define F(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1, 0                                                                    \
    }
#define T(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1, SR_FRAME_TRUNCATED                                                   \
    }

static const fcase_t cases[] = {
    {"lf", SR_FRAMING_AUTO, 1024, S("<13>a\n<13>bc\n"), {F("<13>a"), F("<13>bc")}, 2, 0},
    {"crlf", SR_FRAMING_AUTO, 1024, S("<13>a\r\n<13>b\r\n"), {F("<13>a\r"), F("<13>b\r")}, 2, 0},
    {"nul", SR_FRAMING_AUTO, 1024, S("<13>a\0<13>b\0"), {F("<13>a"), F("<13>b")}, 2, 0},
    {"octet", SR_FRAMING_AUTO, 1024, S("5 hello6 world!"), {F("hello"), F("world!")}, 2, 0},
    {"octet-mode", SR_FRAMING_OCTET, 1024, S("5 hello6 world!"), {F("hello"), F("world!")}, 2, 0},
    /* syslog-ng syslog(): the LF is inside the count */
    {"octet-lf-inside",
     SR_FRAMING_AUTO,
     1024,
     S("87 <13>1 2026-11-21T22:58:36+00:00 snghost sngobs - - [meta sequenceId=\"1\"] obs message "
       "1\n"
       "87 <13>1 2026-11-21T22:58:36+00:00 snghost sngobs - - [meta sequenceId=\"2\"] obs message "
       "2\n"),
     {F("<13>1 2026-11-21T22:58:36+00:00 snghost sngobs - - [meta sequenceId=\"1\"] obs message "
        "1\n"),
      F("<13>1 2026-11-21T22:58:36+00:00 snghost sngobs - - [meta sequenceId=\"2\"] obs message "
        "2\n")},
     2,
     0},
    {"octet-binary-inside", SR_FRAMING_AUTO, 1024, S("6 a\nb\0c\n"), {F("a\nb\0c\n")}, 1, 0},
    {"mixed",
     SR_FRAMING_AUTO,
     1024,
     S("5 hello<13>line\n3 abc\0<13>x\n11 <13>counted"),
     {F("hello"), F("<13>line"), F("abc"), F("<13>x"), F("<13>counted")},
     5,
     0},
    {"stray-separators",
     SR_FRAMING_AUTO,
     1024,
     S("\n\n\r\0<13>a\n\r\n\0\0001 x\r\n"),
     {F("<13>a"), F("x")},
     2,
     0},
    {"zero-count", SR_FRAMING_AUTO, 1024, S("0 abc\n"), {F("0 abc")}, 1, 0},
    /* loggen -P -R pads its counts to nine digits */
    {"leading-zero", SR_FRAMING_AUTO, 1024, S("05 hello\n"), {F("hello")}, 1, 0},
    {"zero-padded",
     SR_FRAMING_AUTO,
     1024,
     S("000000006 <13>a\n000000005 <13>b"),
     {F("<13>a\n"), F("<13>b")},
     2,
     0},
    {"zeros-count", SR_FRAMING_AUTO, 1024, S("000 abc\n"), {F("000 abc")}, 1, 0},
    {"zero-padded-ten", SR_FRAMING_AUTO, 1024, S("0000000003 abc"), {F("abc")}, 1, 0},
    {"zero-padded-eleven", SR_FRAMING_AUTO, 1024, S("00000000003 abc\n"), {F("00000000003 abc")}, 1, 0},
    {"bad-header", SR_FRAMING_AUTO, 1024, S("12x abc\n5 hello"), {F("12x abc"), F("hello")}, 2, 0},
    {"digits-then-lf", SR_FRAMING_AUTO, 1024, S("123\n<13>a\n"), {F("123"), F("<13>a")}, 2, 0},
    {"eleven-digits", SR_FRAMING_AUTO, 1024, S("12345678901 x\n"), {F("12345678901 x")}, 1, 0},
    {"absurd-11", SR_FRAMING_AUTO, 16, S("99999999999 abc\n"), {F("99999999999 abc")}, 1, 0},
    {"absurd-10",
     SR_FRAMING_AUTO,
     16,
     S("9999999999 0123456789abcdefghijklmnop"),
     {T("0123456789abcdef")},
     1,
     1},
    {"count-over-max",
     SR_FRAMING_AUTO,
     8,
     S("10 01234567893 abc"),
     {T("01234567"), F("abc")},
     2,
     1},
    {"count-is-max", SR_FRAMING_AUTO, 8, S("8 012345673 abc"), {F("01234567"), F("abc")}, 2, 0},
    {"line-over-max", SR_FRAMING_AUTO, 8, S("0123456789abc\nxy\n"), {T("01234567"), F("xy")}, 2, 1},
    {"line-is-max", SR_FRAMING_AUTO, 5, S("hello\nworld\0"), {F("hello"), F("world")}, 2, 0},
    {"line-max-plus-one", SR_FRAMING_NEWLINE, 5, S("hello!\nab"), {T("hello"), F("ab")}, 2, 1},
    {"line-over-max-eof", SR_FRAMING_NEWLINE, 4, S("abcdefgh"), {T("abcd")}, 1, 1},
    {"octet-mode-garbage",
     SR_FRAMING_OCTET,
     1024,
     S("<13>garbage\n5 hello"),
     {F("<13>garbage"), F("hello")},
     2,
     0},
    {"octet-mode-bad-header", SR_FRAMING_OCTET, 1024, S("3abc\n2 ok"), {F("3abc"), F("ok")}, 2, 0},
    {"octet-mode-zero", SR_FRAMING_OCTET, 1024, S("0 x\n1 y"), {F("0 x"), F("y")}, 2, 0},
    {"newline-mode-digits",
     SR_FRAMING_NEWLINE,
     1024,
     S("5 hello\n12 x\0"),
     {F("5 hello"), F("12 x")},
     2,
     0},
    {"eof-partial-line",
     SR_FRAMING_AUTO,
     1024,
     S("<13>a\n<13>partial"),
     {F("<13>a"), F("<13>partial")},
     2,
     0},
    {"eof-partial-octet", SR_FRAMING_AUTO, 1024, S("10 abc"), {T("abc")}, 1, 1},
    {"eof-header-only", SR_FRAMING_AUTO, 1024, S("42"), {F("42")}, 1, 0},
    {"eof-header-sp", SR_FRAMING_AUTO, 1024, S("42 "), {}, 0, 0},
    {"empty", SR_FRAMING_AUTO, 1024, S(""), {}, 0, 0},
    {"only-separators", SR_FRAMING_AUTO, 1024, S("\r\n\0\n"), {}, 0, 0},
    {"one-byte-frames", SR_FRAMING_AUTO, 1024, S("1 a1 b1 \n"), {F("a"), F("b"), F("\n")}, 3, 0},
    {"max-one", SR_FRAMING_AUTO, 1, S("ab\n3 xyz"), {T("a"), T("x")}, 2, 2},
    {"zeros-line", SR_FRAMING_AUTO, 1024, S("0000000003"), {F("0000000003")}, 1, 0},
    /* fuzz finding: header digits split from a non-digit, more digits than max */
    {"digits-over-max",
     SR_FRAMING_OCTET,
     1,
     S("999\0"
       "5 hello"),
     {T("9"), T("h")},
     2,
     2},
    {"digits-over-max-eof", SR_FRAMING_AUTO, 2, S("999"), {T("99")}, 1, 1},
    {"ten-digits-ok", SR_FRAMING_AUTO, 4, S("1000000000 abcdef"), {T("abcd")}, 1, 1},
};

typedef struct sink_s {
    sr_buf_t got;
    size_t frames;
    uint32_t max;
    const char *lo, *hi; /* when set, every frame must lie inside [lo, hi) */
    size_t zero_copy;
} sink_t;

static void on_frame(void *arg, const char *p, size_t len, int flags)
{
    sink_t *s = arg;

    ck_assert_uint_le(len, s->max);
    ck_assert_uint_gt(len, 0);
    if (s->lo != NULL && p >= s->lo && p + len <= s->hi) {
        s->zero_copy++;
    }
    sr_buf_printf(&s->got, "[%d:%zu]", flags, len);
    sr_buf_append(&s->got, p, len);
    s->frames++;
}

static void expected(const fcase_t *c, sr_buf_t *out)
{
    size_t i;

    for (i = 0; i < c->n_want; i++) {
        sr_buf_printf(out, "[%d:%zu]", c->want[i].flags, c->want[i].len);
        sr_buf_append(out, c->want[i].p, c->want[i].len);
    }
}

/* Feed c->in in pieces: cuts[] are the split points (ascending). */
static void run_split(const fcase_t *c, const size_t *cuts, size_t n_cuts, const char *how)
{
    sr_framer_t f;
    sink_t s = {.max = c->max};
    sr_buf_t want;
    size_t k, from = 0, to;
    char *piece;

    sr_buf_init(&s.got);
    sr_buf_init(&want);
    expected(c, &want);
    sr_framer_init(&f, c->mode, c->max);
    for (k = 0; k <= n_cuts; k++) {
        to = k < n_cuts ? cuts[k] : c->in_len;
        piece = sr_malloc(to - from ? to - from : 1);
        memcpy(piece, c->in + from, to - from);
        ck_assert_int_eq(sr_framer_feed(&f, piece, to - from, on_frame, &s), 0);
        free(piece);
        ck_assert_uint_le(sr_framer_buffered(&f), c->max);
        ck_assert_uint_le(f.cap, c->max);
        from = to;
    }
    sr_framer_finish(&f, on_frame, &s);
    ck_assert_msg(s.got.len == want.len &&
                      (want.len == 0 || memcmp(s.got.base, want.base, want.len) == 0),
                  "%s (%s): got '%.*s' want '%.*s'", c->name, how, (int)s.got.len,
                  s.got.base ? s.got.base : "", (int)want.len, want.base ? want.base : "");
    ck_assert_msg(f.truncated == c->truncated, "%s (%s): truncated %llu want %llu", c->name, how,
                  (unsigned long long)f.truncated, (unsigned long long)c->truncated);
    ck_assert_uint_eq(sr_framer_buffered(&f), 0);
    sr_framer_free(&f);
    sr_buf_free(&s.got);
    sr_buf_free(&want);
}

START_TEST(test_whole)
{
    run_split(&cases[_i], NULL, 0, "whole");
}
END_TEST

START_TEST(test_bytewise)
{
    const fcase_t *c = &cases[_i];
    size_t *cuts = sr_malloc((c->in_len + 1) * sizeof(*cuts));
    size_t i;

    for (i = 1; i < c->in_len; i++) {
        cuts[i - 1] = i;
    }
    run_split(c, cuts, c->in_len > 1 ? c->in_len - 1 : 0, "bytewise");
    free(cuts);
}
END_TEST

START_TEST(test_every_split)
{
    const fcase_t *c = &cases[_i];
    size_t cut[2], i, j;
    char how[64];

    for (i = 0; i <= c->in_len; i++) {
        snprintf(how, sizeof(how), "split at %zu", i);
        run_split(c, &i, 1, how);
    }
    /* and every pair of split points, for the short fixtures */
    if (c->in_len <= 40) {
        for (i = 1; i < c->in_len; i++) {
            for (j = i; j < c->in_len; j++) {
                cut[0] = i;
                cut[1] = j;
                snprintf(how, sizeof(how), "split at %zu,%zu", i, j);
                run_split(c, cut, 2, how);
            }
        }
    }
}
END_TEST

/* Whole frames in one read are delivered from the caller's bytes. */
START_TEST(test_zero_copy)
{
    static const char in[] = "5 hello<13>line\n3 abc\0<13>x\n";
    sr_framer_t f;
    sink_t s = {.max = 1024, .lo = in, .hi = in + sizeof(in) - 1};

    sr_buf_init(&s.got);
    sr_framer_init(&f, SR_FRAMING_AUTO, 1024);
    sr_framer_feed(&f, in, sizeof(in) - 1, on_frame, &s);
    ck_assert_uint_eq(s.frames, 4);
    ck_assert_uint_eq(s.zero_copy, 4);
    ck_assert_ptr_null(f.buf); /* nothing was ever buffered */
    sr_framer_free(&f);
    sr_buf_free(&s.got);
}
END_TEST

START_TEST(test_ten_thousand)
{
    sr_buf_t in, want;
    sr_framer_t f;
    sink_t s = {.max = 65536};
    char msg[64];
    int i, n;

    sr_buf_init(&in);
    sr_buf_init(&want);
    sr_buf_init(&s.got);
    for (i = 0; i < 10000; i++) {
        n = snprintf(msg, sizeof(msg), "<13>1 - host app - - - message %d", i);
        switch (i % 3) {
        case 0:
            sr_buf_printf(&in, "%s\n", msg);
            break;
        case 1:
            sr_buf_printf(&in, "%d %s", n, msg);
            break;
        default:
            sr_buf_printf(&in, "%s", msg);
            sr_buf_putc(&in, '\0');
            break;
        }
        sr_buf_printf(&want, "[0:%d]%s", n, msg);
    }
    s.lo = in.base;
    s.hi = in.base + in.len;
    sr_framer_init(&f, SR_FRAMING_AUTO, 65536);
    sr_framer_feed(&f, in.base, in.len, on_frame, &s);
    sr_framer_finish(&f, on_frame, &s);
    ck_assert_uint_eq(s.frames, 10000);
    ck_assert_uint_eq(s.zero_copy, 10000);
    ck_assert_uint_eq(s.got.len, want.len);
    ck_assert_int_eq(memcmp(s.got.base, want.base, want.len), 0);
    ck_assert_ptr_null(f.buf);
    sr_framer_free(&f);
    sr_buf_free(&in);
    sr_buf_free(&want);
    sr_buf_free(&s.got);
}
END_TEST

/* A huge count must not allocate beyond max; the counted bytes past max
 * are skipped as they stream by, and the next frame is found. */
START_TEST(test_absurd_count_streamed)
{
    static const char chunk[4096] = {'x'};
    sr_framer_t f;
    sink_t s = {.max = 100};
    uint64_t left = 1000000;
    size_t n;

    sr_buf_init(&s.got);
    sr_framer_init(&f, SR_FRAMING_OCTET, 100);
    sr_framer_feed(&f, "1000000 ", 8, on_frame, &s);
    while (left > 0) {
        n = (size_t)SR_MIN(left, sizeof(chunk));
        sr_framer_feed(&f, chunk, n, on_frame, &s);
        ck_assert_uint_le(f.cap, 100);
        left -= n;
    }
    ck_assert_uint_eq(s.frames, 1);
    sr_framer_feed(&f, "2 ok", 4, on_frame, &s);
    ck_assert_uint_eq(s.frames, 2);
    ck_assert_uint_eq(f.truncated, 1);
    ck_assert_int_eq(memcmp(s.got.base + s.got.len - 7, "[0:2]ok", 7), 0);
    sr_framer_free(&f);
    sr_buf_free(&s.got);

    /* Header alone, far beyond max, then EOF: nothing buffered. */
    sr_buf_init(&s.got);
    s.frames = 0;
    sr_framer_init(&f, SR_FRAMING_AUTO, 100);
    sr_framer_feed(&f, "9999999999 ", 11, on_frame, &s);
    ck_assert_ptr_null(f.buf);
    sr_framer_finish(&f, on_frame, &s);
    ck_assert_uint_eq(s.frames, 0);
    sr_framer_free(&f);
    sr_buf_free(&s.got);
}
END_TEST

/* Header in one read, body in the next (syslog-ng's framed client). */
START_TEST(test_header_split_from_body)
{
    sr_framer_t f;
    sink_t s = {.max = 1024};

    sr_buf_init(&s.got);
    sr_framer_init(&f, SR_FRAMING_AUTO, 1024);
    sr_framer_feed(&f, "11 ", 3, on_frame, &s);
    ck_assert_uint_eq(s.frames, 0);
    ck_assert_uint_eq(sr_framer_buffered(&f), 0);
    sr_framer_feed(&f, "<13>1 hello", 11, on_frame, &s);
    ck_assert_uint_eq(s.frames, 1);
    ck_assert_str_eq(s.got.base, "[0:11]<13>1 hello");
    sr_framer_free(&f);
    sr_buf_free(&s.got);
}
END_TEST

/* A big buffered frame's buffer is released after delivery. */
START_TEST(test_buffer_released)
{
    sr_framer_t f;
    sink_t s = {.max = 1 << 20};
    char *big = sr_malloc(100000);

    memset(big, 'a', 100000);
    sr_buf_init(&s.got);
    sr_framer_init(&f, SR_FRAMING_AUTO, 1 << 20);
    sr_framer_feed(&f, big, 50000, on_frame, &s);
    ck_assert_uint_eq(sr_framer_buffered(&f), 50000);
    sr_framer_feed(&f, big, 50000, on_frame, &s);
    sr_framer_feed(&f, "\n", 1, on_frame, &s);
    ck_assert_uint_eq(s.frames, 1);
    ck_assert_uint_eq(sr_framer_buffered(&f), 0);
    ck_assert_ptr_null(f.buf);
    sr_framer_free(&f);
    sr_buf_free(&s.got);
    free(big);
}
END_TEST

static Suite *framing_suite(void)
{
    Suite *s = suite_create("framing");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_whole, 0, SR_ARRAY_SIZE(cases));
    tcase_add_loop_test(tc, test_bytewise, 0, SR_ARRAY_SIZE(cases));
    tcase_add_loop_test(tc, test_every_split, 0, SR_ARRAY_SIZE(cases));
    tcase_add_test(tc, test_zero_copy);
    tcase_add_test(tc, test_ten_thousand);
    tcase_add_test(tc, test_absurd_count_streamed);
    tcase_add_test(tc, test_header_split_from_body);
    tcase_add_test(tc, test_buffer_released);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(framing_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
