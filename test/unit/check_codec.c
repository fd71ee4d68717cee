/*
 * check_codec.c: unit tests for relay/codec.c, the msgpack and ECS
 * encoders of a record used by the Redis output.
 *
 * Records are built by hand (sr_record_create plus slices found in the
 * frame), so these tests do not depend on the parsers. msgpack output is
 * decoded back with msgpack_unpack_next and compared key by key; ECS
 * output is compared byte for byte.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <msgpack.h>

#include "relay/codec.h"
#include "relay/format.h"

/* ---- fixture records ------------------------------------------------- */

/* The slice of the first `needle` in the record's text at or after `from`,
 * skipping `skip` bytes and `len` long (len < 0: to the needle's end). */
static sr_slice_t at(const sr_record_t *r, const char *needle, int skip, int len)
{
    const char *p = memmem(r->text, r->text_len, needle, strlen(needle));

    ck_assert_msg(p != NULL, "fixture needle %s", needle);
    if (len < 0) {
        len = (int)strlen(needle) - skip;
    }
    return (sr_slice_t){(uint32_t)(p - r->text) + (uint32_t)skip, (uint32_t)len};
}

/* RFC 5424 with structured data: a repeated name, a repeated SD-ID and
 * an escaped quote. */
static sr_record_t *rec_5424(void)
{
    static const char frame[] =
        "<165>1 2003-10-11T22:14:15.003-07:00 mymachine.example.com evntslog 1234 ID47 "
        "[ex@1 iut=\"3\" src=\"App\" iut=\"4\"][q@2 a=\"x\\\"y\"][ex@1 id=\"1011\"] "
        "An application event\n";
    sr_record_t *r = sr_record_create(frame, sizeof(frame) - 1);

    r->format = SR_FORMAT_RFC5424;
    r->facility = 20;
    r->severity = 5;
    r->version = 1;
    r->input_name = "udp-in";
    r->received_us = 1700000000123456;
    strcpy(r->source, "192.0.2.7");
    r->timestamp = at(r, "2003-10-11T22:14:15.003-07:00", 0, -1);
    r->hostname = at(r, "mymachine.example.com", 0, -1);
    r->app_name = at(r, "evntslog", 0, -1);
    r->procid = at(r, "1234", 0, -1);
    r->msgid = at(r, "ID47", 0, -1);
    r->message = at(r, "An application event", 0, -1);
    sr_record_sd_reserve(r, 3, 5);
    r->sd_elems[0] = (sr_sd_elem_t){at(r, "ex@1 iut", 0, 4), 0, 3};
    r->sd_elems[1] = (sr_sd_elem_t){at(r, "q@2", 0, -1), 3, 1};
    r->sd_elems[2] = (sr_sd_elem_t){at(r, "ex@1 id", 0, 4), 4, 1};
    r->sd_params[0] = (sr_sd_param_t){at(r, "iut=\"3", 0, 3), at(r, "iut=\"3", 5, 1)};
    r->sd_params[1] = (sr_sd_param_t){at(r, "src=", 0, 3), at(r, "src=\"App", 5, 3)};
    r->sd_params[2] = (sr_sd_param_t){at(r, "iut=\"4", 0, 3), at(r, "iut=\"4", 5, 1)};
    r->sd_params[3] = (sr_sd_param_t){at(r, "a=\"x", 0, 1), at(r, "a=\"x", 3, 4)};
    r->sd_params[4] = (sr_sd_param_t){at(r, "id=\"1011", 0, 2), at(r, "id=\"1011", 4, 4)};
    return r;
}

/* Neither parser took it: raw, with invalid UTF-8, truncated. */
static sr_record_t *rec_raw(void)
{
    static const char frame[] = "hello \xff world \"q\"";
    sr_record_t *r = sr_record_create(frame, sizeof(frame) - 1);

    r->input_name = "tcp-in";
    r->received_us = 1700000000999999;
    strcpy(r->source, "::1");
    r->parse_error = "no PRI";
    r->flags |= SR_REC_TRUNCATED;
    return r;
}

/* RFC 3164 with a completed timestamp and a PID that is not a number. */
static sr_record_t *rec_3164(void)
{
    static const char frame[] = "<34>Oct 11 22:14:15 mymachine su[abc]: 'su root' failed";
    static const char ts[] = "2024-10-11T22:14:15+02:00";
    sr_record_t *r = sr_record_create(frame, sizeof(frame) - 1);

    r->format = SR_FORMAT_RFC3164;
    r->facility = 4;
    r->severity = 2;
    r->input_name = "udp-in";
    r->received_us = 1728670000000000;
    strcpy(r->source, "10.1.2.3");
    r->timestamp = sr_record_append(r, ts, sizeof(ts) - 1);
    r->hostname = at(r, "mymachine", 0, -1);
    r->app_name = at(r, "su[", 0, 2);
    r->procid = at(r, "abc", 0, -1);
    r->message = at(r, "'su root' failed", 0, -1);
    return r;
}

/* ---- ECS -------------------------------------------------------------- */

static char *ecs_of(sr_record_t *r, sr_buf_t *b)
{
    sr_buf_init(b);
    sr_codec_encode(SR_CODEC_ECS, r, b);
    sr_buf_putc(b, '\0');
    return b->base;
}

START_TEST(test_ecs_5424)
{
    sr_record_t *r = rec_5424();
    sr_buf_t b;

    ck_assert_str_eq(
        ecs_of(r, &b),
        "{\"@timestamp\":\"2003-10-12T05:14:15.003Z\",\"message\":\"An application event\","
        "\"ecs\":{\"version\":\"8.11.0\"},\"event\":{\"created\":\"2023-11-14T22:13:20.123456Z\"},"
        "\"host\":{\"hostname\":\"mymachine.example.com\"},"
        "\"process\":{\"name\":\"evntslog\",\"pid\":1234},"
        "\"log\":{\"syslog\":{\"priority\":165,\"facility\":{\"code\":20,\"name\":\"local4\"},"
        "\"severity\":{\"code\":5,\"name\":\"notice\"},\"version\":\"1\","
        "\"hostname\":\"mymachine.example.com\",\"appname\":\"evntslog\",\"procid\":\"1234\","
        "\"msgid\":\"ID47\",\"structured_data\":{\"ex@1\":{\"iut\":[\"3\",\"4\"],\"src\":\"App\","
        "\"id\":\"1011\"},\"q@2\":{\"a\":\"x\\\"y\"}}}},"
        "\"source\":{\"ip\":\"192.0.2.7\"},"
        "\"syslog_relay\":{\"input\":\"udp-in\",\"format\":\"rfc5424\"}}");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_ecs_raw)
{
    sr_record_t *r = rec_raw();
    sr_buf_t b;

    ck_assert_str_eq(
        ecs_of(r, &b),
        "{\"@timestamp\":\"2023-11-14T22:13:20.999Z\",\"message\":\"hello \xEF\xBF\xBD world "
        "\\\"q\\\"\",\"ecs\":{\"version\":\"8.11.0\"},"
        "\"event\":{\"created\":\"2023-11-14T22:13:20.999999Z\"},"
        "\"log\":{\"syslog\":{\"priority\":13,\"facility\":{\"code\":1,\"name\":\"user\"},"
        "\"severity\":{\"code\":5,\"name\":\"notice\"}}},\"source\":{\"ip\":\"::1\"},"
        "\"syslog_relay\":{\"input\":\"tcp-in\",\"format\":\"raw\",\"parse_error\":\"no PRI\","
        "\"truncated\":true}}");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_ecs_3164)
{
    sr_record_t *r = rec_3164();
    sr_buf_t b;

    ck_assert_str_eq(
        ecs_of(r, &b),
        "{\"@timestamp\":\"2024-10-11T20:14:15.000Z\",\"message\":\"'su root' failed\","
        "\"ecs\":{\"version\":\"8.11.0\"},\"event\":{\"created\":\"2024-10-11T18:06:40.000000Z\"},"
        "\"host\":{\"hostname\":\"mymachine\"},\"process\":{\"name\":\"su\"},"
        "\"log\":{\"syslog\":{\"priority\":34,\"facility\":{\"code\":4,\"name\":\"auth\"},"
        "\"severity\":{\"code\":2,\"name\":\"crit\"},\"hostname\":\"mymachine\","
        "\"appname\":\"su\",\"procid\":\"abc\"}},\"source\":{\"ip\":\"10.1.2.3\"},"
        "\"syslog_relay\":{\"input\":\"udp-in\",\"format\":\"rfc3164\"}}");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

/* A timestamp that is not RFC 3339 falls back to the receive time; a PID
 * alone still makes a process object; no source means no source.ip. */
START_TEST(test_ecs_fallbacks)
{
    static const char frame[] = "2024-13-01T00:00:00Z 42 x";
    sr_record_t *r = sr_record_create(frame, sizeof(frame) - 1);
    sr_buf_t b;

    r->input_name = NULL;
    r->received_us = -1500; /* before the epoch: rounds down */
    r->timestamp = at(r, "2024-13-01T00:00:00Z", 0, -1);
    r->procid = at(r, "42", 0, -1);
    r->message = at(r, "x", 0, -1);
    ck_assert_str_eq(
        ecs_of(r, &b),
        "{\"@timestamp\":\"1969-12-31T23:59:59.998Z\",\"message\":\"x\","
        "\"ecs\":{\"version\":\"8.11.0\"},\"event\":{\"created\":\"1969-12-31T23:59:59.998500Z\"},"
        "\"process\":{\"pid\":42},"
        "\"log\":{\"syslog\":{\"priority\":13,\"facility\":{\"code\":1,\"name\":\"user\"},"
        "\"severity\":{\"code\":5,\"name\":\"notice\"},\"procid\":\"42\"}},"
        "\"syslog_relay\":{\"input\":\"\",\"format\":\"raw\"}}");
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

/* ---- RFC 3339 --------------------------------------------------------- */

typedef struct ts_s {
    const char *in;
    int rc;
    int64_t ms;
} ts_t;

static const ts_t times[] = {
    {"1985-04-12T23:20:50.52Z", 0, 482196050520},
    {"1996-12-19T16:39:57-08:00", 0, 851042397000},
    {"1990-12-31T23:59:60Z", 0, 662688000000},
    {"2003-08-24T05:14:15.000003-07:00", 0, 1061727255000},
    {"2003-08-24T05:14:15.999999999-07:00", 0, 1061727255999},
    {"1970-01-01T00:00:00Z", 0, 0},
    {"1969-12-31T23:59:59.999Z", 0, -1},
    {"2024-02-29 12:00:00z", 0, 1709208000000},
    {"2024-02-29t12:00:00+00:00", 0, 1709208000000},
    {"", SR_EPARSE, 0},
    {"2003-10-11", SR_EPARSE, 0},
    {"2003-10-11T22:14:15", SR_EPARSE, 0},
    {"2003-10-11T22:14:15.Z", SR_EPARSE, 0},
    {"2003-02-30T00:00:00Z", SR_EPARSE, 0},
    {"2003-00-10T00:00:00Z", SR_EPARSE, 0},
    {"2003-10-11T24:00:00Z", SR_EPARSE, 0},
    {"2003-10-11T22:60:00Z", SR_EPARSE, 0},
    {"2003-10-11T22:14:15+0700", SR_EPARSE, 0},
    {"2003-10-11T22:14:15+07:0", SR_EPARSE, 0},
    {"2003-10-11T22:14:15Zx", SR_EPARSE, 0},
    {"2003-10-11X22:14:15Z", SR_EPARSE, 0},
    {"2003/10/11T22:14:15Z", SR_EPARSE, 0},
    {"Oct 11 22:14:15", SR_EPARSE, 0},
};

START_TEST(test_rfc3339)
{
    const ts_t *t = &times[_i];
    int64_t ms = 12345;
    int rc = sr_codec_rfc3339_ms(t->in, strlen(t->in), &ms);

    ck_assert_msg(rc == t->rc, "%s: rc %d", t->in, rc);
    if (rc == 0) {
        ck_assert_msg(ms == t->ms, "%s: %lld", t->in, (long long)ms);
    } else {
        ck_assert_int_eq(ms, 12345);
    }
}
END_TEST

/* ---- json ------------------------------------------------------------- */

START_TEST(test_json_is_format_json)
{
    sr_record_t *r = rec_5424();
    sr_buf_t a, b;

    sr_buf_init(&a);
    sr_buf_init(&b);
    sr_codec_encode(SR_CODEC_JSON, r, &a);
    sr_format_json(r, &b);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert(memcmp(a.base, b.base, a.len) == 0);
    ck_assert_str_eq(sr_codec_names[SR_CODEC_JSON], "json");
    ck_assert_str_eq(sr_codec_names[SR_CODEC_MSGPACK], "msgpack");
    ck_assert_str_eq(sr_codec_names[SR_CODEC_ECS], "ecs");
    ck_assert_ptr_null(sr_codec_names[3]);
    sr_buf_free(&a);
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

/* ---- msgpack ---------------------------------------------------------- */

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    uint32_t i;

    ck_assert_int_eq(map->type, MSGPACK_OBJECT_MAP);
    for (i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        ck_assert_int_eq(k->type, MSGPACK_OBJECT_STR);
        if (k->via.str.size == strlen(key) && memcmp(k->via.str.ptr, key, k->via.str.size) == 0) {
            return &map->via.map.ptr[i].val;
        }
    }
    ck_abort_msg("key %s missing", key);
    return NULL;
}

static void is_str(const msgpack_object *o, const char *want)
{
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_STR);
    ck_assert_msg(o->via.str.size == strlen(want) && memcmp(o->via.str.ptr, want,
                                                           strlen(want)) == 0,
                  "got %.*s want %s", (int)o->via.str.size, o->via.str.ptr, want);
}

static void is_int(const msgpack_object *o, int64_t want)
{
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert_int_eq((int64_t)o->via.u64, want);
}

static void is_nil(const msgpack_object *o)
{
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_NIL);
}

/* Decode exactly one object filling the whole buffer. */
static msgpack_object unpack(msgpack_unpacked *u, const sr_buf_t *b)
{
    size_t off = 0;

    msgpack_unpacked_init(u);
    ck_assert_int_eq(msgpack_unpack_next(u, b->base, b->len, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, b->len);
    return u->data;
}

static const char *const keys[] = {"timestamp", "received_at", "source", "input", "format",
                                   "facility", "severity", "version", "hostname", "app_name",
                                   "procid", "msgid", "structured_data", "message",
                                   "parse_error"};

static void check_key_order(const msgpack_object *m)
{
    uint32_t i;

    ck_assert_int_eq(m->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(m->via.map.size, SR_ARRAY_SIZE(keys));
    for (i = 0; i < SR_ARRAY_SIZE(keys); i++) {
        is_str(&m->via.map.ptr[i].key, keys[i]);
    }
}

START_TEST(test_msgpack_5424)
{
    sr_record_t *r = rec_5424();
    msgpack_unpacked u;
    msgpack_object m;
    const msgpack_object *sd, *ex, *iut;
    sr_buf_t b;

    sr_buf_init(&b);
    sr_codec_encode(SR_CODEC_MSGPACK, r, &b);
    m = unpack(&u, &b);
    check_key_order(&m);
    is_str(get(&m, "timestamp"), "2003-10-11T22:14:15.003-07:00");
    is_str(get(&m, "received_at"), "2023-11-14T22:13:20.123456Z");
    is_str(get(&m, "source"), "192.0.2.7");
    is_str(get(&m, "input"), "udp-in");
    is_str(get(&m, "format"), "rfc5424");
    is_int(get(&m, "facility"), 20);
    is_int(get(&m, "severity"), 5);
    is_int(get(&m, "version"), 1);
    is_str(get(&m, "hostname"), "mymachine.example.com");
    is_str(get(&m, "app_name"), "evntslog");
    is_str(get(&m, "procid"), "1234");
    is_str(get(&m, "msgid"), "ID47");
    is_str(get(&m, "message"), "An application event");
    is_nil(get(&m, "parse_error"));
    sd = get(&m, "structured_data");
    ck_assert_int_eq(sd->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(sd->via.map.size, 2);
    is_str(&sd->via.map.ptr[0].key, "ex@1");
    is_str(&sd->via.map.ptr[1].key, "q@2");
    ex = get(sd, "ex@1");
    ck_assert_uint_eq(ex->via.map.size, 3);
    is_str(&ex->via.map.ptr[0].key, "iut");
    is_str(&ex->via.map.ptr[1].key, "src");
    is_str(&ex->via.map.ptr[2].key, "id");
    iut = get(ex, "iut");
    ck_assert_int_eq(iut->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(iut->via.array.size, 2);
    is_str(&iut->via.array.ptr[0], "3");
    is_str(&iut->via.array.ptr[1], "4");
    is_str(get(ex, "src"), "App");
    is_str(get(ex, "id"), "1011");
    is_str(get(get(sd, "q@2"), "a"), "x\"y");
    msgpack_unpacked_destroy(&u);
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

START_TEST(test_msgpack_raw)
{
    sr_record_t *r = rec_raw();
    msgpack_unpacked u;
    msgpack_object m;
    sr_buf_t b;
    size_t i;

    sr_buf_init(&b);
    sr_codec_msgpack(r, &b);
    m = unpack(&u, &b);
    check_key_order(&m);
    is_nil(get(&m, "timestamp"));
    is_str(get(&m, "received_at"), "2023-11-14T22:13:20.999999Z");
    is_str(get(&m, "source"), "::1");
    is_str(get(&m, "input"), "tcp-in");
    is_str(get(&m, "format"), "raw");
    is_int(get(&m, "facility"), 1);
    is_int(get(&m, "severity"), 5);
    for (i = 0; i < 5; i++) {
        static const char *const nils[] = {"version", "hostname", "app_name", "procid",
                                           "msgid"};

        is_nil(get(&m, nils[i]));
    }
    is_nil(get(&m, "structured_data"));
    is_str(get(&m, "message"), "hello \xEF\xBF\xBD world \"q\"");
    is_str(get(&m, "parse_error"), "no PRI");
    msgpack_unpacked_destroy(&u);
    sr_buf_free(&b);
    sr_record_release(r);
}
END_TEST

/* Ill-formed UTF-8 in every shape gives U+FFFD per maximal subpart, the
 * way the JSON writer does it; valid sequences pass unchanged. */
START_TEST(test_msgpack_utf8)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
        {"a\x80z", "a\xEF\xBF\xBDz"},
        {"a\xC0\xAFz", "a\xEF\xBF\xBD\xEF\xBF\xBDz"},          /* overlong */
        {"a\xED\xA0\x80z", "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz"}, /* surrogate */
        {"a\xE2\x82z", "a\xEF\xBF\xBDz"},                      /* truncated */
        {"a\xF4\x90\x80\x80z", "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz"},
        {"end\xF0\x9F\x98", "end\xEF\xBF\xBD"},
    };
    size_t i;

    for (i = 0; i < SR_ARRAY_SIZE(cases); i++) {
        sr_record_t *r = sr_record_create(cases[i].in, strlen(cases[i].in));
        msgpack_unpacked u;
        msgpack_object m;
        sr_buf_t b, j;
        sr_buf_t want_json;

        sr_buf_init(&b);
        sr_codec_msgpack(r, &b);
        m = unpack(&u, &b);
        is_str(get(&m, "message"), cases[i].want);
        /* The same repair as the JSON string writer. */
        sr_buf_init(&j);
        sr_buf_init(&want_json);
        sr_json_string(&j, cases[i].in, strlen(cases[i].in));
        sr_json_string(&want_json, cases[i].want, strlen(cases[i].want));
        ck_assert_uint_eq(j.len, want_json.len);
        ck_assert(memcmp(j.base, want_json.base, j.len) == 0);
        sr_buf_free(&j);
        sr_buf_free(&want_json);
        msgpack_unpacked_destroy(&u);
        sr_buf_free(&b);
        sr_record_release(r);
    }
}
END_TEST

/* Many parameters with few names: grouping stays correct (and fast). */
START_TEST(test_msgpack_many_params)
{
    sr_buf_t frame, b;
    sr_record_t *r;
    msgpack_unpacked u;
    msgpack_object m;
    const msgpack_object *sd, *e;
    uint32_t i, n = 3000;

    sr_buf_init(&frame);
    sr_buf_puts(&frame, "[e@1");
    for (i = 0; i < n; i++) {
        sr_buf_printf(&frame, " %c=\"%u\"", 'a' + (char)(i % 3), i);
    }
    sr_buf_puts(&frame, "]");
    r = sr_record_create(frame.base, frame.len);
    sr_record_sd_reserve(r, 1, n);
    r->sd_elems[0] = (sr_sd_elem_t){{1, 3}, 0, n};
    {
        const char *p = r->text + 5;

        for (i = 0; i < n; i++) {
            const char *q = strchr(p, '"') + 1;
            const char *end = strchr(q, '"');

            r->sd_params[i].name = (sr_slice_t){(uint32_t)(p - r->text), 1};
            r->sd_params[i].value = (sr_slice_t){(uint32_t)(q - r->text), (uint32_t)(end - q)};
            p = end + 2;
        }
    }
    sr_buf_init(&b);
    sr_codec_msgpack(r, &b);
    m = unpack(&u, &b);
    sd = get(&m, "structured_data");
    e = get(sd, "e@1");
    ck_assert_uint_eq(e->via.map.size, 3);
    for (i = 0; i < 3; i++) {
        const msgpack_object *arr = &e->via.map.ptr[i].val;
        char want[16];

        ck_assert_int_eq(arr->type, MSGPACK_OBJECT_ARRAY);
        ck_assert_uint_eq(arr->via.array.size, n / 3);
        snprintf(want, sizeof(want), "%u", n - 3 + i);
        is_str(&arr->via.array.ptr[n / 3 - 1], want);
    }
    msgpack_unpacked_destroy(&u);
    sr_buf_free(&b);
    sr_buf_free(&frame);
    sr_record_release(r);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("ecs");

    tcase_add_test(tc, test_ecs_5424);
    tcase_add_test(tc, test_ecs_raw);
    tcase_add_test(tc, test_ecs_3164);
    tcase_add_test(tc, test_ecs_fallbacks);
    tcase_add_loop_test(tc, test_rfc3339, 0, (int)SR_ARRAY_SIZE(times));
    suite_add_tcase(s, tc);

    tc = tcase_create("msgpack");
    tcase_add_test(tc, test_json_is_format_json);
    tcase_add_test(tc, test_msgpack_5424);
    tcase_add_test(tc, test_msgpack_raw);
    tcase_add_test(tc, test_msgpack_utf8);
    tcase_add_test(tc, test_msgpack_many_params);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(codec_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
