/*
 * check_resp.c: unit tests for relay/resp.c, the RESP encoder and the
 * incremental reply parser.
 *
 * Parser fixtures are fed whole, one byte at a time and split in two at
 * every offset; each must give the same replies. Broken input must fail
 * with SR_EPARSE and keep failing. A seeded random stream checks that no
 * input makes the parser crash or leak (run under ASan).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "relay/resp.h"

/* ---- helpers -------------------------------------------------------- */

/* A reply as compact text: status(OK) error(ERR x) int(1) bulk(ab) nil [a,b]. */
static void describe(const sr_resp_reply_t *r, sr_buf_t *out)
{
    size_t i;

    switch (r->type) {
    case SR_RESP_STATUS:
        sr_buf_printf(out, "status(%s)", r->str);
        break;
    case SR_RESP_ERROR:
        sr_buf_printf(out, "error(%s)", r->str);
        break;
    case SR_RESP_INTEGER:
        sr_buf_printf(out, "int(%lld)", (long long)r->integer);
        break;
    case SR_RESP_BULK:
        sr_buf_puts(out, "bulk(");
        for (i = 0; i < r->len; i++) {
            if (r->str[i] == '\r') {
                sr_buf_puts(out, "\\r");
            } else if (r->str[i] == '\n') {
                sr_buf_puts(out, "\\n");
            } else if (r->str[i] == '\0') {
                sr_buf_puts(out, "\\0");
            } else {
                sr_buf_putc(out, r->str[i]);
            }
        }
        sr_buf_putc(out, ')');
        break;
    case SR_RESP_NIL:
        sr_buf_puts(out, "nil");
        break;
    case SR_RESP_ARRAY:
        sr_buf_putc(out, '[');
        for (i = 0; i < r->n_elems; i++) {
            if (i > 0) {
                sr_buf_putc(out, ',');
            }
            describe(r->elems[i], out);
        }
        sr_buf_putc(out, ']');
        break;
    }
}

/* Take every reply available; append their descriptions joined by " ".
 * Returns the last sr_resp_next() code (0 or SR_EPARSE). */
static int drain(sr_resp_parser_t *p, sr_buf_t *out)
{
    sr_resp_reply_t *r;
    int rc;

    while ((rc = sr_resp_next(p, &r)) == 1) {
        if (out->len > 0) {
            sr_buf_putc(out, ' ');
        }
        describe(r, out);
        sr_resp_reply_free(r);
    }
    return rc;
}

static char *as_string(sr_buf_t *b)
{
    sr_buf_putc(b, '\0');
    return b->base;
}

/* ---- encoder -------------------------------------------------------- */

START_TEST(test_encode_command)
{
    sr_buf_t b;
    const char *argv[] = {"SET", "mykey", "Hello"};

    sr_buf_init(&b);
    sr_resp_command(&b, 3, argv);
    ck_assert_uint_eq(b.len, strlen("*3\r\n$3\r\nSET\r\n$5\r\nmykey\r\n$5\r\nHello\r\n"));
    ck_assert(memcmp(b.base, "*3\r\n$3\r\nSET\r\n$5\r\nmykey\r\n$5\r\nHello\r\n", b.len) == 0);
    sr_buf_free(&b);
}
END_TEST

START_TEST(test_encode_binary_and_int)
{
    sr_buf_t b;
    static const char want[] = "*4\r\n$5\r\nRPUSH\r\n$0\r\n\r\n$3\r\na\0b\r\n$20\r\n"
                               "-9223372036854775808\r\n";

    sr_buf_init(&b);
    sr_resp_cmd(&b, 4);
    sr_resp_arg_str(&b, "RPUSH");
    sr_resp_arg(&b, "", 0);
    sr_resp_arg(&b, "a\0b", 3);
    sr_resp_arg_int(&b, INT64_MIN);
    ck_assert_uint_eq(b.len, sizeof(want) - 1);
    ck_assert(memcmp(b.base, want, b.len) == 0);
    sr_buf_free(&b);
}
END_TEST

START_TEST(test_encode_begin_end)
{
    sr_buf_t b;

    sr_buf_init(&b);
    sr_resp_cmd(&b, 3);
    sr_resp_arg_str(&b, "PUBLISH");
    sr_resp_arg_begin(&b, 11);
    sr_buf_puts(&b, "hello world");
    sr_resp_arg_end(&b);
    sr_resp_arg_int(&b, 0);
    ck_assert_str_eq(as_string(&b), "*3\r\n$7\r\nPUBLISH\r\n$11\r\nhello world\r\n$1\r\n0\r\n");
    sr_buf_free(&b);
}
END_TEST

/* The encoder's output, parsed back as if a server echoed it. */
START_TEST(test_encode_roundtrip)
{
    sr_buf_t b, d;
    sr_resp_parser_t p;
    const char *argv[] = {"XADD", "k", "MAXLEN", "~", "1000", "*", "record", "{\"a\":1}"};

    sr_buf_init(&b);
    sr_buf_init(&d);
    sr_resp_command(&b, 8, argv);
    sr_resp_parser_init(&p, NULL);
    sr_resp_feed(&p, b.base, b.len);
    ck_assert_int_eq(drain(&p, &d), 0);
    ck_assert_str_eq(as_string(&d),
                     "[bulk(XADD),bulk(k),bulk(MAXLEN),bulk(~),bulk(1000),bulk(*),bulk(record),"
                     "bulk({\"a\":1})]");
    sr_resp_parser_free(&p);
    sr_buf_free(&b);
    sr_buf_free(&d);
}
END_TEST

/* ---- parser: good input --------------------------------------------- */

typedef struct good_s {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *want;
} good_t;

static const good_t good[] = {
    {"+OK\r\n", 0, "status(OK)"},
    {"+\r\n", 0, "status()"},
    {"-ERR unknown command 'XADD'\r\n", 0, "error(ERR unknown command 'XADD')"},
    {"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", 0,
     "error(WRONGTYPE Operation against a key holding the wrong kind of value)"},
    {":0\r\n", 0, "int(0)"},
    {":1000\r\n", 0, "int(1000)"},
    {":-1\r\n", 0, "int(-1)"},
    {":9223372036854775807\r\n", 0, "int(9223372036854775807)"},
    {":-9223372036854775808\r\n", 0, "int(-9223372036854775808)"},
    {"$3\r\nfoo\r\n", 0, "bulk(foo)"},
    {"$0\r\n\r\n", 0, "bulk()"},
    {"$4\r\na\r\nb\r\n", 0, "bulk(a\\r\\nb)"},
    {"$3\r\na\0b\r\n", 9, "bulk(a\\0b)"},
    {"$-1\r\n", 0, "nil"},
    {"*-1\r\n", 0, "nil"},
    {"*0\r\n", 0, "[]"},
    {"*2\r\n$1\r\na\r\n:1\r\n", 0, "[bulk(a),int(1)]"},
    {"*3\r\n$-1\r\n*0\r\n-E\r\n", 0, "[nil,[],error(E)]"},
    {"*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n+x\r\n", 0, "[[int(1),int(2)],[status(x)]]"},
    {"*1\r\n*1\r\n*0\r\n", 0, "[[[]]]"},
    {"*2\r\n*1\r\n*1\r\n:7\r\n:8\r\n", 0, "[[[int(7)]],int(8)]"},
    /* XADD's reply, then a stream entry as XRANGE returns it. */
    {"$15\r\n1700000000000-0\r\n", 0, "bulk(1700000000000-0)"},
    {"*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$6\r\nrecord\r\n$2\r\n{}\r\n", 0,
     "[[bulk(1-0),[bulk(record),bulk({})]]]"},
    /* Several replies in one read, as a pipeline brings them. */
    {"+OK\r\n+OK\r\n:3\r\n:503\r\n-OOM command not allowed\r\n:4\r\n", 0,
     "status(OK) status(OK) int(3) int(503) error(OOM command not allowed) int(4)"},
};

static void check_good(const good_t *g, const char *how, size_t split)
{
    size_t len = g->len ? g->len : strlen(g->in);
    sr_resp_parser_t p;
    sr_buf_t d;
    size_t i;

    sr_buf_init(&d);
    sr_resp_parser_init(&p, NULL);
    if (strcmp(how, "bytes") == 0) {
        for (i = 0; i < len; i++) {
            sr_resp_feed(&p, g->in + i, 1);
            ck_assert_int_eq(drain(&p, &d), 0);
        }
    } else {
        sr_resp_feed(&p, g->in, split);
        ck_assert_int_eq(drain(&p, &d), 0);
        sr_resp_feed(&p, g->in + split, len - split);
        ck_assert_int_eq(drain(&p, &d), 0);
    }
    ck_assert_msg(strcmp(as_string(&d), g->want) == 0, "%s split %zu of %s: got %s want %s",
                  how, split, g->in, d.base, g->want);
    /* Nothing is left over. */
    ck_assert_uint_eq(p.depth, 0);
    ck_assert_int_eq(p.bulk_len, -1);
    sr_resp_parser_free(&p);
    sr_buf_free(&d);
}

START_TEST(test_parse_good)
{
    const good_t *g = &good[_i];
    size_t len = g->len ? g->len : strlen(g->in);
    size_t split;

    for (split = 0; split <= len; split++) {
        check_good(g, "split", split);
    }
    check_good(g, "bytes", 0);
}
END_TEST

/* A reply that is not complete yet gives 0 and nothing else. */
START_TEST(test_parse_incomplete)
{
    static const char *const partial[] = {"+OK", "+OK\r", ":12", "$5\r\nhel", "$5\r\nhello",
                                          "$5\r\nhello\r", "*2\r\n:1\r\n", "*1\r\n*1\r\n",
                                          "$", "*"};
    sr_resp_parser_t p;
    sr_resp_reply_t *r = NULL;
    size_t i;

    for (i = 0; i < SR_ARRAY_SIZE(partial); i++) {
        sr_resp_parser_init(&p, NULL);
        sr_resp_feed(&p, partial[i], strlen(partial[i]));
        ck_assert_msg(sr_resp_next(&p, &r) == 0, "%s", partial[i]);
        ck_assert_msg(sr_resp_next(&p, &r) == 0, "%s (again)", partial[i]);
        ck_assert_ptr_null(r);
        sr_resp_parser_free(&p);
    }
}
END_TEST

/* ---- parser: broken input and limits -------------------------------- */

typedef struct bad_s {
    const char *in;
    const char *why;
} bad_t;

static const sr_resp_limits_t small = {.max_line = 24, .max_bulk = 8, .max_elems = 4,
                                       .max_depth = 2};

static const bad_t bad[] = {
    {"?x\r\n", "unknown reply type"},
    {"\r\n", "unknown reply type"},
    {"OK\r\n", "unknown reply type"},
    {":abc\r\n", "bad integer reply"},
    {":\r\n", "bad integer reply"},
    {":-\r\n", "bad integer reply"},
    {":1 \r\n", "bad integer reply"},
    {":9223372036854775808\r\n", "bad integer reply"},
    {":-9223372036854775809\r\n", "bad integer reply"},
    {"$-2\r\n", "bad bulk length"},
    {"$1x\r\n", "bad bulk length"},
    {"$\r\n", "bad bulk length"},
    {"$3\r\nfooXY", "bulk string not followed by CRLF"},
    {"$3\r\nfoo\n\r", "bulk string not followed by CRLF"},
    {"+OK\rX", "CR without LF in a reply line"},
    {"*-2\r\n", "bad array length"},
    {"*x\r\n", "bad array length"},
    {"*1\r\n!\r\n", "unknown reply type"},
    /* Limits (the `small` set). */
    {"+0123456789abcdefghijklmnX\r\n", "reply line too long"},
    {"+0123456789abcdefghijklmnX", "reply line too long"},
    {"$9\r\n", "bulk string over the limit"},
    {"$99999999999999\r\n", "bulk string over the limit"},
    {"*5\r\n", "array over the limit"},
    {"*1\r\n*1\r\n*1\r\n:1\r\n", "arrays nested too deep"},
    {"*2\r\n*1\r\n:1\r\n*1\r\n*1\r\n", "arrays nested too deep"},
};

START_TEST(test_parse_bad)
{
    const bad_t *b = &bad[_i];
    size_t len = strlen(b->in);
    sr_resp_parser_t p;
    sr_resp_reply_t *r = NULL;
    size_t i;
    int rc = 0;

    /* Fed byte by byte, the error shows at some point and then stays. */
    sr_resp_parser_init(&p, &small);
    for (i = 0; i < len && rc == 0; i++) {
        sr_resp_feed(&p, b->in + i, 1);
        while ((rc = sr_resp_next(&p, &r)) == 1) {
            sr_resp_reply_free(r);
        }
    }
    ck_assert_msg(rc == SR_EPARSE, "%s: rc %d", b->in, rc);
    ck_assert_str_eq(p.why, b->why);
    sr_resp_feed(&p, "+OK\r\n", 5);
    ck_assert_int_eq(sr_resp_next(&p, &r), SR_EPARSE);
    /* reset makes it usable again. */
    sr_resp_parser_reset(&p);
    sr_resp_feed(&p, ":5\r\n", 4);
    ck_assert_int_eq(sr_resp_next(&p, &r), 1);
    ck_assert_int_eq(r->type, SR_RESP_INTEGER);
    ck_assert_int_eq(r->integer, 5);
    sr_resp_reply_free(r);
    sr_resp_parser_free(&p);

    /* Fed whole, the same error. */
    sr_resp_parser_init(&p, &small);
    sr_resp_feed(&p, b->in, len);
    while ((rc = sr_resp_next(&p, &r)) == 1) {
        sr_resp_reply_free(r);
    }
    ck_assert_int_eq(rc, SR_EPARSE);
    ck_assert_str_eq(p.why, b->why);
    sr_resp_parser_free(&p);
}
END_TEST

/* Just within every limit still parses. */
START_TEST(test_parse_at_limits)
{
    static const char in[] = "+0123456789abcdefghijklmn\r\n$8\r\n01234567\r\n*4\r\n:1\r\n:2\r\n:3\r\n"
                             "*1\r\n*0\r\n";
    sr_resp_parser_t p;
    sr_buf_t d;

    sr_buf_init(&d);
    sr_resp_parser_init(&p, &small);
    sr_resp_feed(&p, in, sizeof(in) - 1);
    ck_assert_int_eq(drain(&p, &d), 0);
    ck_assert_str_eq(as_string(&d),
                     "status(0123456789abcdefghijklmn) bulk(01234567) [int(1),int(2),int(3),[[]]]");
    sr_resp_parser_free(&p);
    sr_buf_free(&d);
}
END_TEST

/* A long pipeline of replies through a parser that is fed in odd chunks:
 * every reply comes out once, in order, and the buffer does not grow
 * with the number of replies. */
START_TEST(test_parse_long_stream)
{
    sr_resp_parser_t p;
    sr_resp_reply_t *r;
    sr_buf_t all;
    size_t off = 0, chunk = 1, max_cap = 0;
    int64_t want = 0;
    int i;

    sr_buf_init(&all);
    for (i = 0; i < 20000; i++) {
        sr_buf_printf(&all, ":%d\r\n", i);
    }
    sr_resp_parser_init(&p, NULL);
    while (off < all.len) {
        size_t n = SR_MIN(chunk, all.len - off);

        sr_resp_feed(&p, all.base + off, n);
        off += n;
        chunk = chunk * 7 % 61 + 1;
        while (sr_resp_next(&p, &r) == 1) {
            ck_assert_int_eq(r->type, SR_RESP_INTEGER);
            ck_assert_int_eq(r->integer, want);
            want++;
            sr_resp_reply_free(r);
        }
        max_cap = SR_MAX(max_cap, p.in.cap);
    }
    ck_assert_int_eq(want, 20000);
    ck_assert_uint_lt(max_cap, 4096);
    sr_resp_parser_free(&p);
    sr_buf_free(&all);
}
END_TEST

/* Random and mutated input: no crash, no leak, the parser either gives
 * replies, waits, or fails and stays failed. */
START_TEST(test_parse_random)
{
    static const char seedtext[] = "*3\r\n$3\r\nfoo\r\n:12\r\n*2\r\n+OK\r\n$-1\r\n-ERR x\r\n";
    static const char alphabet[] = "*$:+-\r\n0123456789-abc";
    unsigned state = 12345;
    int round;

    for (round = 0; round < 3000; round++) {
        sr_resp_parser_t p;
        sr_resp_reply_t *r;
        char buf[96];
        size_t len, i, off = 0;
        int rc = 0, failed = 0;

        if (round % 2 == 0) {
            len = sizeof(seedtext) - 1;
            memcpy(buf, seedtext, len);
            for (i = 0; i < 3; i++) {
                state = state * 1103515245 + 12345;
                buf[(state >> 8) % len] = alphabet[(state >> 16) % (sizeof(alphabet) - 1)];
            }
        } else {
            state = state * 1103515245 + 12345;
            len = (state >> 8) % sizeof(buf);
            for (i = 0; i < len; i++) {
                state = state * 1103515245 + 12345;
                buf[i] = (state >> 20) % 4 == 0 ? (char)(state >> 12)
                                                 : alphabet[(state >> 16) % (sizeof(alphabet) - 1)];
            }
        }
        sr_resp_parser_init(&p, &small);
        while (off < len) {
            size_t n;

            state = state * 1103515245 + 12345;
            n = SR_MIN(len - off, (size_t)((state >> 16) % 9 + 1));
            sr_resp_feed(&p, buf + off, n);
            off += n;
            while ((rc = sr_resp_next(&p, &r)) == 1) {
                ck_assert(!failed);
                ck_assert_int_ge(r->type, SR_RESP_STATUS);
                ck_assert_int_le(r->type, SR_RESP_ARRAY);
                sr_resp_reply_free(r);
            }
            if (rc == SR_EPARSE) {
                failed = 1;
            } else {
                ck_assert_int_eq(rc, 0);
            }
        }
        sr_resp_parser_free(&p);
    }
}
END_TEST

static Suite *resp_suite(void)
{
    Suite *s = suite_create("resp");
    TCase *tc = tcase_create("encoder");

    tcase_add_test(tc, test_encode_command);
    tcase_add_test(tc, test_encode_binary_and_int);
    tcase_add_test(tc, test_encode_begin_end);
    tcase_add_test(tc, test_encode_roundtrip);
    suite_add_tcase(s, tc);

    tc = tcase_create("parser");
    tcase_add_loop_test(tc, test_parse_good, 0, (int)SR_ARRAY_SIZE(good));
    tcase_add_test(tc, test_parse_incomplete);
    tcase_add_loop_test(tc, test_parse_bad, 0, (int)SR_ARRAY_SIZE(bad));
    tcase_add_test(tc, test_parse_at_limits);
    tcase_add_test(tc, test_parse_long_stream);
    tcase_add_test(tc, test_parse_random);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(resp_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
