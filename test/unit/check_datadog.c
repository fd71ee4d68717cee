/*
 * check_datadog.c: unit tests for the Datadog output (outputs/datadog.c,
 * outputs/datadog_http.c): site mapping, API key checks, RFC 5424
 * PARAM-VALUE escaping, the [metas ...] element, syslog-tls lines (CR/LF
 * escaping, truncation on UTF-8 boundaries), severities to statuses,
 * HTTPS entries, gzip, and the configuration checks through the loader.
 *
 * Records are built by hand (sr_record_create plus slices), so these
 * tests do not depend on the parsers. Expectations are exact bytes.
 */
#include <check.h>
#include <stdlib.h>
#include <zlib.h>

#include "config/config.h"
#include "outputs/datadog.h"

#define KEY "0123456789abcdef0123456789ABCDEF"

static sr_slice_t find(const sr_record_t *r, const char *needle)
{
    size_t n = strlen(needle);
    uint32_t i;

    for (i = 0; i + n <= r->text_len; i++) {
        if (memcmp(r->text + i, needle, n) == 0) {
            return (sr_slice_t){i, (uint32_t)n};
        }
    }
    ck_abort_msg("needle '%s' not in record", needle);
    return SR_SLICE_NULL;
}

/* An RFC 5424-like record: "TS HOST APP PROCID MSGID MSG" with slices. */
static sr_record_t *mk5424(const char *ts, const char *host, const char *app, const char *msg)
{
    char frame[8192];
    sr_record_t *r;

    ck_assert_uint_lt(strlen(msg), 8000);
    snprintf(frame, sizeof(frame), "%s %s %s 42 ID7 %s", ts, host, app ? app : "-", msg);
    r = sr_record_create(frame, strlen(frame));
    r->format = SR_FORMAT_RFC5424;
    r->version = 1;
    r->facility = 20;
    r->severity = 5;
    r->received_us = 1795288927581084LL;
    strcpy(r->source, "192.0.2.7");
    r->input_name = "tcp-in";
    r->timestamp = find(r, ts);
    r->hostname = find(r, host);
    r->app_name = app ? find(r, app) : SR_SLICE_NULL;
    r->procid = find(r, "42");
    r->msgid = find(r, "ID7");
    r->message = (sr_slice_t){(uint32_t)(strlen(frame) - strlen(msg)), (uint32_t)strlen(msg)};
    return r;
}

static char *line_of(const sr_record_t *r, const char *service, const char *metas, size_t max,
                     bool *cut)
{
    sr_rfc5424_opts_t opts = {service, metas};
    sr_buf_t b;
    char *s;

    sr_buf_init(&b);
    *cut = sr_dd_tls_line(KEY, &opts, max, r, &b);
    s = sr_strndup(b.base, b.len);
    sr_buf_free(&b);
    return s;
}

/* ---- sites --------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *tcp_host; /* NULL: no TCP intake */
    int tcp_port;
    const char *http_host;
} site_cases[] = {
    {"datadoghq.com", "intake.logs.datadoghq.com", 10516, "http-intake.logs.datadoghq.com"},
    {"US1", "intake.logs.datadoghq.com", 10516, "http-intake.logs.datadoghq.com"},
    {"us1", "intake.logs.datadoghq.com", 10516, "http-intake.logs.datadoghq.com"},
    {"datadoghq.eu", "tcp-intake.logs.datadoghq.eu", 443, "http-intake.logs.datadoghq.eu"},
    {"EU1", "tcp-intake.logs.datadoghq.eu", 443, "http-intake.logs.datadoghq.eu"},
    {"us3.datadoghq.com", NULL, 0, "http-intake.logs.us3.datadoghq.com"},
    {"US5", NULL, 0, "http-intake.logs.us5.datadoghq.com"},
    {"ap1.datadoghq.com", NULL, 0, "http-intake.logs.ap1.datadoghq.com"},
    {"ddog-gov.com", NULL, 0, "http-intake.logs.ddog-gov.com"},
    {"US1-FED", NULL, 0, "http-intake.logs.ddog-gov.com"},
};

START_TEST(site_known)
{
    const sr_dd_site_t *s = sr_dd_site_find(site_cases[_i].name);

    ck_assert_ptr_nonnull(s);
    if (site_cases[_i].tcp_host == NULL) {
        ck_assert_ptr_null(s->tcp_host);
    } else {
        ck_assert_str_eq(s->tcp_host, site_cases[_i].tcp_host);
        ck_assert_int_eq(s->tcp_port, site_cases[_i].tcp_port);
    }
    ck_assert_str_eq(s->http_host, site_cases[_i].http_host);
}
END_TEST

START_TEST(site_unknown)
{
    static const char *const bad[] = {"", "datadoghq", "us2.datadoghq.com", "EU2",
                                      "datadoghq.com.", " datadoghq.com", "ap2"};
    size_t i;

    for (i = 0; i < SR_ARRAY_SIZE(bad); i++) {
        ck_assert_msg(sr_dd_site_find(bad[i]) == NULL, "'%s' accepted", bad[i]);
    }
    ck_assert_ptr_null(sr_dd_site_find(NULL));
}
END_TEST

/* ---- API keys ------------------------------------------------------------------------------ */

static const struct {
    const char *key;
    int ok;
} key_cases[] = {
    {KEY, 1},
    {"ffffffffffffffffffffffffffffffff", 1},
    {"", 0},
    {NULL, 0},
    {"0123456789abcdef0123456789abcde", 0},   /* 31 */
    {"0123456789abcdef0123456789abcdef0", 0}, /* 33 */
    {"0123456789abcdef0123456789abcdeg", 0},  /* not hex */
    {"0123456789abcdef 123456789abcdef", 0},  /* space */
    {"\"0123456789abcdef0123456789abcd\"", 0}, /* quoted */
    {"${DD_API_KEY}", 0},
    {"0123456789abcdef0123456789abcdef\n", 0},
};

START_TEST(key_forms)
{
    const char *why = NULL;
    int rc = sr_dd_key_check(key_cases[_i].key, &why);

    if (key_cases[_i].ok) {
        ck_assert_int_eq(rc, 0);
    } else {
        ck_assert_int_eq(rc, SR_ECONFIG);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, "32 hexadecimal") != NULL, "message says what is expected");
        if (key_cases[_i].key != NULL && key_cases[_i].key[0] != '\0') {
            ck_assert_msg(strstr(why, key_cases[_i].key) == NULL, "message echoes the key");
        }
    }
}
END_TEST

/* ---- escaping and metas ---------------------------------------------------------------------- */

static const struct {
    const char *in;
    const char *out;
} esc_cases[] = {
    {"", ""},
    {"plain", "plain"},
    {"a\"b", "a\\\"b"},
    {"back\\slash", "back\\\\slash"},
    {"br]ack[et", "br\\]ack[et"},
    {"\"\\]", "\\\"\\\\\\]"},
    {"]]", "\\]\\]"},
    {"utf8 \xc3\xa9", "utf8 \xc3\xa9"},
};

START_TEST(sd_escape)
{
    sr_buf_t b;

    sr_buf_init(&b);
    sr_dd_sd_escape(&b, esc_cases[_i].in, strlen(esc_cases[_i].in));
    ck_assert_uint_eq(b.len, strlen(esc_cases[_i].out));
    ck_assert(memcmp(b.base ? b.base : "", esc_cases[_i].out, b.len) == 0);
    sr_buf_free(&b);
}
END_TEST

START_TEST(metas_forms)
{
    char *tv[] = {"env:prod", "team:a\"b]"};
    sr_strlist_t tags = {tv, 2}, none = {NULL, 0};
    char *m;

    ck_assert_ptr_null(sr_dd_metas(NULL, &none));
    ck_assert_ptr_null(sr_dd_metas("", NULL));

    m = sr_dd_metas("nginx", &none);
    ck_assert_str_eq(m, "[metas ddsource=\"nginx\"]");
    free(m);

    m = sr_dd_metas(NULL, &tags);
    ck_assert_str_eq(m, "[metas ddtags=\"env:prod,team:a\\\"b\\]\"]");
    free(m);

    m = sr_dd_metas("my \"src\" [x]\\", &tags);
    ck_assert_str_eq(m, "[metas ddsource=\"my \\\"src\\\" [x\\]\\\\\" "
                        "ddtags=\"env:prod,team:a\\\"b\\]\"]");
    free(m);
}
END_TEST

/* ---- syslog-tls lines ------------------------------------------------------------------------ */

START_TEST(line_basic)
{
    sr_record_t *r = mk5424("2026-11-21T19:22:07.581Z", "web01", "nginx", "hello world");
    bool cut;
    char *s = line_of(r, NULL, NULL, 900000, &cut);

    ck_assert_str_eq(s, KEY " <165>1 2026-11-21T19:22:07.581Z web01 nginx 42 ID7 - hello world\n");
    ck_assert(!cut);
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(line_metas_service)
{
    sr_record_t *r = mk5424("2026-11-21T19:22:07.581Z", "web01", NULL, "hi");
    sr_record_t *r2 = mk5424("2026-11-21T19:22:07.581Z", "web01", "own", "hi");
    bool cut;
    char *s;

    /* service fills APP-NAME only when the record has none */
    s = line_of(r, "svc", "[metas ddsource=\"a\\\"b\"]", 900000, &cut);
    ck_assert_str_eq(s, KEY " <165>1 2026-11-21T19:22:07.581Z web01 svc 42 ID7 "
                            "[metas ddsource=\"a\\\"b\"] hi\n");
    free(s);
    s = line_of(r2, "svc", "[metas ddtags=\"x:y\"]", 900000, &cut);
    ck_assert_str_eq(s, KEY " <165>1 2026-11-21T19:22:07.581Z web01 own 42 ID7 "
                            "[metas ddtags=\"x:y\"] hi\n");
    free(s);
    sr_record_release(r);
    sr_record_release(r2);
}
END_TEST

START_TEST(line_sd_appended)
{
    sr_record_t *r = mk5424("2026-11-21T19:22:07.581Z", "h", "a", "[ex@1 k=\"v\"] m");
    bool cut;
    char *s;

    /* the message slice starts at "m": make "[ex@1 k="v"]" the record's SD */
    r->message = find(r, " m");
    r->message.off++;
    r->message.len--;
    sr_record_sd_reserve(r, 1, 1);
    r->n_sd_elems = 1;
    r->n_sd_params = 1;
    r->sd_elems[0].id = find(r, "ex@1");
    r->sd_elems[0].first = 0;
    r->sd_elems[0].count = 1;
    r->sd_params[0].name = find(r, "k=");
    r->sd_params[0].name.len = 1;
    r->sd_params[0].value = find(r, "v\"");
    r->sd_params[0].value.len = 1;
    s = line_of(r, NULL, "[metas ddsource=\"s\"]", 900000, &cut);
    ck_assert_str_eq(s, KEY " <165>1 2026-11-21T19:22:07.581Z h a 42 ID7 "
                            "[ex@1 k=\"v\"][metas ddsource=\"s\"] m\n");
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(line_crlf_escaped)
{
    sr_record_t *r = mk5424("2026-11-21T19:22:07.581Z", "h", "a", "one\ntwo\r\nthree\rend");
    bool cut;
    char *s = line_of(r, NULL, NULL, 900000, &cut);

    ck_assert_str_eq(s, KEY " <165>1 2026-11-21T19:22:07.581Z h a 42 ID7 - "
                            "one\\ntwo\\r\\nthree\\rend\n");
    ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1);
    ck_assert_ptr_null(strchr(s, '\r'));
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(line_3164_converted)
{
    /* A raw record (no parse) keeps only the message; the line gets the
     * receive time and NILVALUEs. */
    sr_record_t *r = sr_record_create("just text", 9);
    bool cut;
    char *s;

    r->received_us = 1795288927581084LL;
    r->format = SR_FORMAT_RFC3164;
    r->facility = 4;
    r->severity = 2;
    s = line_of(r, "svc", NULL, 900000, &cut);
    ck_assert_str_eq(s, KEY " <34>1 2026-11-21T19:22:07.581084Z - svc - - - just text\n");
    free(s);
    sr_record_release(r);
}
END_TEST

/* Truncation: the RFC 5424 line (after the key) is at most max bytes, ends
 * with the marker, and never splits a UTF-8 sequence. */
START_TEST(line_truncated)
{
    char msg[3000];
    sr_record_t *r;
    bool cut;
    char *s, *body;
    size_t max = 1024, blen, i;

    /* "é" (2 bytes) repeated: any odd cut would split one */
    for (i = 0; i + 2 < sizeof(msg); i += 2) {
        msg[i] = '\xc3';
        msg[i + 1] = '\xa9';
    }
    msg[i] = '\0';
    r = mk5424("2026-11-21T19:22:07.581Z", "h", "a", msg);
    s = line_of(r, NULL, NULL, max, &cut);
    ck_assert(cut);
    ck_assert(strncmp(s, KEY " ", 33) == 0);
    body = s + 33;
    blen = strlen(body);
    ck_assert_int_eq(body[blen - 1], '\n');
    blen--;
    ck_assert_uint_le(blen, max);
    ck_assert_uint_ge(blen, max - 1);
    ck_assert(memcmp(body + blen - strlen(SR_DD_TRUNC_MARKER), SR_DD_TRUNC_MARKER,
                     strlen(SR_DD_TRUNC_MARKER)) == 0);
    /* the byte before the marker ends a whole "é" */
    ck_assert_int_eq((unsigned char)body[blen - strlen(SR_DD_TRUNC_MARKER) - 1], 0xa9);
    free(s);

    /* exactly max bytes is not cut */
    sr_record_release(r);
    r = mk5424("2026-11-21T19:22:07.581Z", "h", "a", "abc");
    s = line_of(r, NULL, NULL, 5000, &cut);
    blen = strlen(s) - 34; /* without the key, its space and the LF */
    free(s);
    s = line_of(r, NULL, NULL, blen, &cut);
    ck_assert(!cut);
    free(s);
    s = line_of(r, NULL, NULL, blen - 1, &cut);
    ck_assert(cut);
    ck_assert_uint_eq(strlen(s) - 34, blen - 1);
    free(s);
    sr_record_release(r);
}
END_TEST

/* ---- statuses, entries, gzip ------------------------------------------------------------------ */

START_TEST(status_names)
{
    static const char *const want[] = {"emergency", "alert",  "critical", "error",
                                       "warning",   "notice", "info",     "debug"};
    int i;

    for (i = 0; i < 8; i++) {
        ck_assert_str_eq(sr_dd_status(i), want[i]);
    }
    ck_assert_str_eq(sr_dd_status(-1), "notice");
    ck_assert_str_eq(sr_dd_status(8), "notice");
}
END_TEST

static char *entry_of(const sr_dd_conf_t *c, const char *tags, size_t max, const sr_record_t *r,
                      bool *cut)
{
    sr_buf_t b;
    char *s;

    sr_buf_init(&b);
    *cut = sr_dd_http_entry(c, tags, max, r, &b);
    s = sr_strndup(b.base, b.len);
    sr_buf_free(&b);
    return s;
}

START_TEST(entry_fields)
{
    sr_dd_conf_t c;
    sr_record_t *r = mk5424("2026-11-21T19:22:07.581Z", "web01", NULL, "say \"hi\"\nbye");
    bool cut;
    char *s, *syslog;

    memset(&c, 0, sizeof(c));
    c.source = "my\"src";
    c.service = "svc";
    r->severity = 3;
    s = entry_of(&c, "env:prod,a:b", 900000, r, &cut);
    ck_assert(!cut);
    syslog = strstr(s, ",\"syslog\":{");
    ck_assert_ptr_nonnull(syslog);
    *syslog = '\0';
    ck_assert_str_eq(s, "{\"ddsource\":\"my\\\"src\",\"ddtags\":\"env:prod,a:b\","
                        "\"hostname\":\"web01\",\"service\":\"svc\",\"status\":\"error\","
                        "\"message\":\"say \\\"hi\\\"\\nbye\"");
    /* the record's own fields follow, without a second message */
    ck_assert_ptr_nonnull(strstr(syslog + 1, "\"timestamp\":\"2026-11-21T19:22:07.581Z\""));
    ck_assert_ptr_nonnull(strstr(syslog + 1, "\"message\":\"\""));
    ck_assert_ptr_null(strstr(syslog + 1, "say"));
    ck_assert_int_eq(s[strlen(s) - 1], '"');
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(entry_defaults)
{
    sr_dd_conf_t c;
    sr_record_t *r = sr_record_create("raw text", 8);
    bool cut;
    char *s;

    memset(&c, 0, sizeof(c));
    strcpy(r->source, "192.0.2.9");
    s = entry_of(&c, NULL, 900000, r, &cut);
    /* no source, tags or service: omitted; hostname falls back to the sender */
    ck_assert(strncmp(s, "{\"hostname\":\"192.0.2.9\",\"status\":\"notice\","
                         "\"message\":\"raw text\",\"syslog\":{", 70) == 0);
    ck_assert_int_eq(s[strlen(s) - 1], '}');
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(entry_truncated)
{
    sr_dd_conf_t c;
    char msg[5000];
    sr_record_t *r;
    bool cut;
    char *s, *m, want[64];

    memset(&c, 0, sizeof(c));
    memset(msg, 'x', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    r = mk5424("2026-11-21T19:22:07.581Z", "h", "a", msg);
    s = entry_of(&c, NULL, 1024, r, &cut);
    ck_assert(cut);
    m = strstr(s, "\"message\":\"");
    ck_assert_ptr_nonnull(m);
    m += 11;
    snprintf(want, sizeof(want), "x%s\"", SR_DD_TRUNC_MARKER);
    ck_assert_uint_eq(strspn(m, "x"), 1024 - strlen(SR_DD_TRUNC_MARKER));
    ck_assert(strncmp(m + 1024 - strlen(SR_DD_TRUNC_MARKER) - 1, want, strlen(want)) == 0);
    free(s);
    sr_record_release(r);
}
END_TEST

START_TEST(gzip_roundtrip)
{
    sr_buf_t z;
    char in[20000], out[20001];
    z_stream zs;
    size_t i;

    for (i = 0; i < sizeof(in); i++) {
        in[i] = (char)("[{\"message\":\"abc\"}]"[i % 19] + (i % 7 == 0));
    }
    sr_buf_init(&z);
    ck_assert_int_eq(sr_dd_gzip(in, sizeof(in), 6, &z), 0);
    ck_assert_uint_lt(z.len, sizeof(in));
    /* gzip magic */
    ck_assert_int_eq((unsigned char)z.base[0], 0x1f);
    ck_assert_int_eq((unsigned char)z.base[1], 0x8b);
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)z.base;
    zs.avail_in = (uInt)z.len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = sizeof(out);
    ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_eq(zs.total_out, sizeof(in));
    ck_assert(memcmp(in, out, sizeof(in)) == 0);
    inflateEnd(&zs);
    sr_buf_free(&z);
}
END_TEST

/* ---- configuration checks through the loader -------------------------------------------------- */

static const struct {
    const char *yaml_output; /* the output's keys, indented 4 */
    const char *want;        /* substring of an error; NULL: must load */
} cfg_cases[] = {
    {"    api_key: \"" KEY "\"\n", NULL},
    {"    api_key: \"" KEY "\"\n    transport: https\n    site: us3.datadoghq.com\n", NULL},
    {"    api_key: \"" KEY "\"\n    transport: https\n    site: US1-FED\n", NULL},
    {"    api_key: \"" KEY "\"\n    site: EU1\n    tags: [\"env:prod\"]\n    source: x\n", NULL},
    {"    api_key: \"" KEY "\"\n    transport: syslog-tls\n    site: us5.datadoghq.com\n",
     "use transport: https"},
    {"    api_key: \"" KEY "\"\n    site: ddog-gov.com\n", "use transport: https"},
    {"    api_key: \"" KEY "\"\n    site: ap1.datadoghq.com\n", "use transport: https"},
    {"    api_key: \"" KEY "\"\n    site: us3.datadoghq.com\n    host: 127.0.0.1\n", NULL},
    {"    api_key: \"" KEY "\"\n    site: datadoghq.moon\n",
     "expected one of: datadoghq.com (US1)"},
    {"    api_key: \"\"\n", "32 hexadecimal"},
    {"    api_key: \"secret-not-a-key-s3cr3t\"\n", "32 hexadecimal"},
    {"    api_key: \"" KEY "\"\n    transport: carrier-pigeon\n", "transport"},
    {"    api_key: \"" KEY "\"\n    ca_file: /nonexistent/ca.pem\n", "ca_file"},
    {"    site: datadoghq.com\n", "api_key"},
};

START_TEST(config_checks)
{
    char yaml[2048];
    sr_cfg_ctx_t ctx;
    sr_config_t *cfg = NULL;
    size_t i;
    int rc;
    bool found = false;

    snprintf(yaml, sizeof(yaml),
             "inputs:\n  - type: udp\n    listen: \"127.0.0.1:0\"\n"
             "outputs:\n  - name: dd\n    type: datadog\n%s",
             cfg_cases[_i].yaml_output);
    sr_cfg_ctx_init(&ctx, "t.yaml");
    rc = sr_config_load_string(yaml, "t.yaml", &cfg, &ctx);
    if (cfg_cases[_i].want == NULL) {
        ck_assert_msg(rc == 0, "case %d: %s", _i, ctx.n_errors ? ctx.errors[0] : "?");
        sr_config_free(cfg);
    } else {
        ck_assert_int_ne(rc, 0);
        for (i = 0; i < ctx.n_errors; i++) {
            found = found || strstr(ctx.errors[i], cfg_cases[_i].want) != NULL;
            /* never echo a secret */
            ck_assert_ptr_null(strstr(ctx.errors[i], "s3cr3t"));
            ck_assert_ptr_null(strstr(ctx.errors[i], KEY));
            ck_assert(strncmp(ctx.errors[i], "t.yaml:", 7) == 0);
        }
        ck_assert_msg(found, "case %d: no error with '%s' (first: %s)", _i, cfg_cases[_i].want,
                      ctx.n_errors ? ctx.errors[0] : "none");
    }
    sr_cfg_ctx_free(&ctx);
}
END_TEST

static Suite *datadog_suite(void)
{
    Suite *s = suite_create("datadog");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, site_known, 0, SR_ARRAY_SIZE(site_cases));
    tcase_add_test(tc, site_unknown);
    tcase_add_loop_test(tc, key_forms, 0, SR_ARRAY_SIZE(key_cases));
    tcase_add_loop_test(tc, sd_escape, 0, SR_ARRAY_SIZE(esc_cases));
    tcase_add_test(tc, metas_forms);
    tcase_add_test(tc, line_basic);
    tcase_add_test(tc, line_metas_service);
    tcase_add_test(tc, line_sd_appended);
    tcase_add_test(tc, line_crlf_escaped);
    tcase_add_test(tc, line_3164_converted);
    tcase_add_test(tc, line_truncated);
    tcase_add_test(tc, status_names);
    tcase_add_test(tc, entry_fields);
    tcase_add_test(tc, entry_defaults);
    tcase_add_test(tc, entry_truncated);
    tcase_add_test(tc, gzip_roundtrip);
    tcase_add_loop_test(tc, config_checks, 0, SR_ARRAY_SIZE(cfg_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(datadog_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
