/*
 * check_redact.c: Check suite for relay/redact.c.
 *
 * Fixture tables per built-in rule (what each masks and what it must
 * leave alone), custom patterns with captures, rule order, UTF-8 and
 * invalid UTF-8, structured data with escapes, whole records, the input
 * and field filters, the fail-closed path with a catastrophic pattern,
 * counters, configuration errors as exact strings, and the built-ins'
 * candidate-start hints against the plain search on a generated corpus. Rules are loaded
 * from YAML text through the real loader (config/yaml.c) so positions in
 * messages are the ones a user would see.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/internal.h"
#include "parsers/parser.h"
#include "relay/metrics.h"
#include "relay/redact.h"

static char *inputs[] = {"udp-in", "tcp-in"};

/* Load rules from YAML (a sequence); errors into ctx. */
static int load_ctx(const char *yaml, sr_cfg_ctx_t *ctx, sr_redactor_t **out)
{
    sr_node_t *root = NULL;
    int rc;

    sr_cfg_ctx_init(ctx, "test.yaml");
    ck_assert_int_eq(sr__yaml_parse(ctx, yaml, strlen(yaml), &root), 0);
    ck_assert_uint_eq(ctx->n_errors, 0);
    rc = sr_redactor_load(ctx, root, inputs, 2, out);
    sr__node_free(root);
    return rc;
}

static sr_redactor_t *load(const char *yaml)
{
    sr_cfg_ctx_t ctx;
    sr_redactor_t *r = NULL;
    int rc = load_ctx(yaml, &ctx, &r);

    if (rc != 0) {
        ck_abort_msg("load failed: %s", ctx.n_errors ? ctx.errors[0] : "(no message)");
    }
    sr_cfg_ctx_free(&ctx);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* The one error loading yaml gives (asserts there is exactly one). */
static char *load_error(const char *yaml)
{
    sr_cfg_ctx_t ctx;
    sr_redactor_t *r = NULL;
    char *e;
    size_t i;

    ck_assert_int_eq(load_ctx(yaml, &ctx, &r), SR_ECONFIG);
    ck_assert_ptr_null(r);
    for (i = 0; i < ctx.n_errors; i++) {
        fprintf(stderr, "  error: %s\n", ctx.errors[i]);
    }
    ck_assert_uint_eq(ctx.n_errors, 1);
    e = sr_strdup(ctx.errors[0]);
    sr_cfg_ctx_free(&ctx);
    return e;
}

/* Redact a string with r; returns a NUL-terminated copy (caller frees). */
static char *red_n(const sr_redactor_t *r, const char *p, size_t n, int *count)
{
    sr_redact_scratch_t *s = sr_redact_scratch_create(r);
    sr_buf_t out;
    int c;

    sr_buf_init(&out);
    c = sr_redact_string(r, s, p, n, &out);
    if (count != NULL) {
        *count = c;
    }
    sr_buf_putc(&out, '\0');
    sr_redact_scratch_free(s);
    return out.base;
}

static char *red(const sr_redactor_t *r, const char *p)
{
    return red_n(r, p, strlen(p), NULL);
}

static int64_t metric(const char *family, const char *rule)
{
    return sr_metric_get(sr_metric(family, rule));
}

static void setup(void)
{
    sr_metrics_reset();
    sr_metrics_init();
}

/* ---- built-in fixture table ----------------------------------------- */

typedef struct bcase_s {
    const char *builtin;
    const char *in;
    const char *want; /* NULL: unchanged */
} bcase_t;

#define SECRET40 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define JWT                                                                                        \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."                            \
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

static const bcase_t bcases[] = {
    /* credit_card: Luhn-valid 13-19 digits, spaces or dashes */
    {"credit_card", "card 4111 1111 1111 1111 ok", "card [REDACTED-CARD] ok"},
    {"credit_card", "4111-1111-1111-1111", "[REDACTED-CARD]"},
    {"credit_card", "pan=4111111111111111;", "pan=[REDACTED-CARD];"},
    {"credit_card", "mc 5555555555554444, amex 378282246310005",
     "mc [REDACTED-CARD], amex [REDACTED-CARD]"},
    {"credit_card", "visa4242424242424242end", "visa[REDACTED-CARD]end"},
    {"credit_card", "4111 1111 1111 1111 2024", "[REDACTED-CARD] 2024"},
    {"credit_card", "4111111111111111-2", "[REDACTED-CARD]-2"},
    {"credit_card", "order 4111111111111112 shipped", NULL}, /* Luhn fails */
    {"credit_card", "order number 1234567890123456", NULL},  /* Luhn fails */
    {"credit_card", "ts 20240115123045 and 20240115123045123", NULL},
    {"credit_card", "2024-01-15 12:30:45.123456", NULL},
    {"credit_card", "uuid 123e4567-e89b-12d3-a456-426614174000", NULL},
    {"credit_card", "short 411111111111", NULL},           /* 12 digits */
    {"credit_card", "long 41111111111111111111111", NULL}, /* 23 digits */
    {"credit_card", "amount 4111111111111111.25", NULL},   /* a decimal */
    {"credit_card", "v 1.4111111111111111", NULL},
    {"credit_card", "4111 1111 1111 1111 7", "[REDACTED-CARD] 7"}, /* 17 digits fail Luhn */
    {"credit_card", "4111 1111 1111 1111 3", "[REDACTED-CARD]"},     /* 17 digits pass */
    {"credit_card", "x 4111 1111 1111 1111.5", NULL},
    /* email */
    {"email", "from alice@example.com to", "from [REDACTED-EMAIL] to"},
    {"email", "<bob.smith+tag@mail.example.co.uk>", "<[REDACTED-EMAIL]>"},
    {"email", "mailto:x_y%z@sub-domain.example.org.", "mailto:[REDACTED-EMAIL]."},
    {"email", "j\xc3\xbcrgen@ex\xc3\xa4mple.de", "[REDACTED-EMAIL]"},
    {"email", "root@localhost", NULL},
    {"email", "ping @handle and a@b.c", NULL},
    {"email", "foo@bar ok", NULL},
    {"email", "no at sign here at all", NULL},
    {"email", "a@b.cd.e", "[REDACTED-EMAIL].e"}, /* the last label is given up */
    {"email", "u@host.com2x", "[REDACTED-EMAIL]2x"},
    {"email", "x@a.b-c.io", "[REDACTED-EMAIL]"},
    {"email", "x@-a.com x@a-.com x@a..com", NULL}, /* labels end in X, never empty */
    {"email", "u@a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.rs", "[REDACTED-EMAIL]"}, /* 17 labels */
    /* ipv4 */
    {"ipv4", "from 10.0.0.1:514", "from [REDACTED-IPV4]:514"},
    {"ipv4", "peer=192.168.1.255.", "peer=[REDACTED-IPV4]."},
    {"ipv4", "a 0.0.0.0 b 255.255.255.255", "a [REDACTED-IPV4] b [REDACTED-IPV4]"},
    {"ipv4", "version 1.2.3.4.5", NULL},
    {"ipv4", "256.1.1.1 and 1.1.1.256", NULL},
    {"ipv4", "build v1.2.3.4", NULL},
    {"ipv4", "10.0.0.1000", NULL},
    {"ipv4", "01.02.03.04", NULL},
    /* ipv6 */
    {"ipv6", "src 2001:db8::1 ok", "src [REDACTED-IPV6] ok"},
    {"ipv6", "[fe80::1%eth0]:22", "[[REDACTED-IPV6]]:22"},
    {"ipv6", "lo ::1", "lo [REDACTED-IPV6]"},
    {"ipv6", "mapped ::ffff:192.0.2.1", "mapped [REDACTED-IPV6]"},
    {"ipv6", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[REDACTED-IPV6]"},
    {"ipv6", "net 2001:db8::/32", "net [REDACTED-IPV6]/32"},
    {"ipv6", "2001:db8:0:0:1:0:0:1 x", "[REDACTED-IPV6] x"},
    {"ipv6", "mac 00:1a:2b:3c:4d:5e", NULL},
    {"ipv6", "at 12:34:56", NULL},
    {"ipv6", "std::vector<int> and ::", NULL},
    /* aws_access_key_id */
    {"aws_access_key_id", "key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED-AWS-KEY-ID] used"},
    {"aws_access_key_id", "id=ASIAY34FZKBOKMUTVV7A,", "id=[REDACTED-AWS-KEY-ID],"},
    {"aws_access_key_id", "AKIAIOSFODNN7EXAMPL", NULL}, /* 19 characters */
    {"aws_access_key_id", "XAKIAIOSFODNN7EXAMPLE", NULL},
    {"aws_access_key_id", "akiaiosfodnn7example", NULL},
    /* aws_secret_access_key */
    {"aws_secret_access_key", "aws_secret_access_key=" SECRET40,
     "aws_secret_access_key=[REDACTED]"},
    {"aws_secret_access_key", "{\"SecretAccessKey\": \"" SECRET40 "\"}",
     "{\"SecretAccessKey\": \"[REDACTED]\"}"},
    {"aws_secret_access_key", "export AWS_SECRET_ACCESS_KEY=" SECRET40 " x",
     "export AWS_SECRET_ACCESS_KEY=[REDACTED] x"},
    {"aws_secret_access_key", "bare " SECRET40, NULL},
    {"aws_secret_access_key", "commit da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL},
    {"aws_secret_access_key", "secret_key=short", NULL},
    /* bearer_token */
    {"bearer_token", "Authorization: Bearer abc123.def-456", "Authorization: Bearer [REDACTED]"},
    {"bearer_token", "bearer  mF_9.B5f-4.1JqM==", "bearer  [REDACTED]"},
    {"bearer_token", "BEARER abcdefghijklmnopqrstuvwxyz", "BEARER [REDACTED]"},
    {"bearer_token", "the bearer of bad news", NULL},
    {"bearer_token", "Bearer short1", NULL},
    {"bearer_token", "Bearer", NULL},
    /* jwt */
    {"jwt", "token " JWT " end", "token [REDACTED-JWT] end"},
    {"jwt", "jwe eyJhbGciOiJkaXIifQ..iv123.ciphertext.tag99", "jwe [REDACTED-JWT]"},
    {"jwt", "header eyJhbGciOiJIUzI1NiJ9 only", NULL},
    {"jwt", "eyJ.a.b", NULL},
    {"jwt", "xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.sig", NULL},
    /* password_kv */
    {"password_kv", "password=hunter2", "password=[REDACTED]"},
    {"password_kv", "login user=bob password: hunter2 ok",
     "login user=bob password: [REDACTED] ok"},
    {"password_kv", "{\"password\":\"hun\\\"ter2\",\"user\":\"bob\"}",
     "{\"password\":\"[REDACTED]\",\"user\":\"bob\"}"},
    {"password_kv", "PASSWORD='a b c'", "PASSWORD='[REDACTED]'"},
    {"password_kv", "db.password => s3cret", "db.password => [REDACTED]"},
    {"password_kv", "GET /x?api_key=XYZ&page=1", "GET /x?api_key=[REDACTED]&page=1"},
    {"password_kv", "x-api-key: abc; Secret=t0p", "x-api-key: [REDACTED]; Secret=[REDACTED]"},
    {"password_kv", "client_secret=a access_token=b pwd=/c passwd=d",
     "client_secret=[REDACTED] access_token=[REDACTED] pwd=[REDACTED] passwd=[REDACTED]"},
    {"password_kv", "{\\\"password\\\":\\\"hunter2\\\"}", "{\\\"password\\\":\\\"[REDACTED]\\\"}"},
    {"password_kv", "[x@1 token=\"a\\\"b\"]", "[x@1 token=\"[REDACTED]\"]"},
    {"password_kv", "password=abc\\def x", "password=[REDACTED] x"},
    {"password_kv", "note=\"say \\\"password=hunter2\\\" ok\"",
     "note=\"say \\\"password=[REDACTED]\\\" ok\""},
    {"password_kv", "password_hash=abc tokens=5 max_tokens: 100", NULL},
    {"password_kv", "password reset for bob", NULL},
    {"password_kv", "password=\"\" and password=", NULL},
};

START_TEST(test_builtin_table)
{
    const bcase_t *c = &bcases[_i];
    char yaml[128];
    sr_redactor_t *r;
    char *got;
    int n;

    snprintf(yaml, sizeof(yaml), "- builtin: %s\n", c->builtin);
    r = load(yaml);
    got = red_n(r, c->in, strlen(c->in), &n);
    ck_assert_msg(strcmp(got, c->want ? c->want : c->in) == 0, "%s on [%s]: got [%s], want [%s]",
                  c->builtin, c->in, got, c->want ? c->want : c->in);
    if (c->want == NULL) {
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(metric(SR_M_REDACTIONS, c->builtin), 0);
    } else {
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(metric(SR_M_REDACTIONS, c->builtin), n);
    }
    free(got);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_builtin_names)
{
    size_t i;
    char yaml[128];
    sr_redactor_t *r;

    for (i = 0; sr_redact_builtin_names[i] != NULL; i++) {
        snprintf(yaml, sizeof(yaml), "- builtin: %s\n  replacement: \"<$0>\"\n",
                 sr_redact_builtin_names[i]);
        r = load(yaml);
        sr_redactor_free(r);
    }
    ck_assert_uint_eq(i, 9);
}
END_TEST

/* ---- custom rules --------------------------------------------------- */

START_TEST(test_capture_last_four)
{
    sr_redactor_t *r = load("- name: card4\n"
                            "  pattern: '\\b(?:\\d[ -]?){12}(\\d{4})\\b'\n"
                            "  replacement: 'XXXX-XXXX-XXXX-$1'\n");
    char *got = red(r, "card 4111 1111 1111 1234 x, 4111111111115678.");

    ck_assert_str_eq(got, "card XXXX-XXXX-XXXX-1234 x, XXXX-XXXX-XXXX-5678.");
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "card4"), 2);
    free(got);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_capture_named_and_dollar)
{
    sr_redactor_t *r = load("- name: user\n"
                            "  pattern: '(?<user>\\w+)@(\\w+)\\.example'\n"
                            "  replacement: '$${user}@$$$2x'\n"
                            "- name: plain\n"
                            "  pattern: 'sk_[a-z0-9]+'\n");
    char *got;

    free(load_error("- name: bad\n  pattern: '(a)'\n  replacement: '$${9}'\n"));
    got = red(r, "bob@corp.example.com sk_live42");
    ck_assert_str_eq(got, "bob@$corpx.com [REDACTED]");
    free(got);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_rule_order)
{
    /* A masks every 4-digit group; B (credit_card) then finds no card. */
    sr_redactor_t *r = load("- name: A\n  pattern: '\\d{4}'\n  replacement: NNNN\n"
                            "- builtin: credit_card\n");
    char *got = red(r, "pay 4111 1111 1111 1111 now");

    ck_assert_str_eq(got, "pay NNNN NNNN NNNN NNNN now");
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "A"), 4);
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "credit_card"), 0);
    free(got);
    sr_redactor_free(r);

    setup();
    r = load("- builtin: credit_card\n- name: A\n  pattern: '\\d{4}'\n  replacement: NNNN\n");
    got = red(r, "pay 4111 1111 1111 1111 now");
    ck_assert_str_eq(got, "pay [REDACTED-CARD] now");
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "A"), 0);
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "credit_card"), 1);
    free(got);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_overlapping_builtins)
{
    /* bearer_token first keeps "Bearer " and eats the JWT; jwt then sees
     * nothing. The other order masks the JWT, and the bearer rule leaves
     * the replacement alone (it has no non-letter). */
    sr_redactor_t *r = load("- builtin: bearer_token\n- builtin: jwt\n");
    char *got = red(r, "Authorization: Bearer " JWT);

    ck_assert_str_eq(got, "Authorization: Bearer [REDACTED]");
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "jwt"), 0);
    free(got);
    sr_redactor_free(r);
    r = load("- builtin: jwt\n  name: jwt2\n- builtin: bearer_token\n  name: b2\n");
    got = red(r, "Authorization: Bearer " JWT);
    ck_assert_str_eq(got, "Authorization: Bearer [REDACTED-JWT]");
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "jwt2"), 1);
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "b2"), 0);
    free(got);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_user_replacement_overrides_builtin)
{
    sr_redactor_t *r = load("- builtin: password_kv\n  replacement: '$1***'\n"
                            "- builtin: email\n  replacement: '<email>'\n");
    char *got = red(r, "password=x mail a@b.example");

    ck_assert_str_eq(got, "password=*** mail <email>");
    free(got);
    sr_redactor_free(r);
}
END_TEST

/* ---- UTF-8 ---------------------------------------------------------- */

START_TEST(test_utf8_around_secrets)
{
    sr_redactor_t *r = load("- builtin: email\n- builtin: password_kv\n"
                            "- name: word\n  pattern: 'gehe\\w+'\n");
    char *got = red(r, "Gr\xc3\xbc\xc3\x9f"
                       "e von j\xc3\xbcrgen@example.de \xe2\x80\x94 pass: "
                       "\xe2\x9c\x93 password=p\xc3\xa4sswort \xe6\x97\xa5\xe6\x9c\xac geheim");

    ck_assert_str_eq(got, "Gr\xc3\xbc\xc3\x9f"
                          "e von [REDACTED-EMAIL] \xe2\x80\x94 pass: "
                          "\xe2\x9c\x93 password=[REDACTED] \xe6\x97\xa5\xe6\x9c\xac [REDACTED]");
    free(got);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_invalid_utf8_still_redacts)
{
    static const char in[] = "\xff\xfe password=hun\xffter2 \xc3 alice@example.com\xff "
                             "x\xc0tok_12345\xfe end \xe2\x82";
    sr_redactor_t *r = load("- builtin: password_kv\n- builtin: email\n"
                            "- name: tok\n  pattern: 'tok_\\d+'\n");
    char *got = red_n(r, in, sizeof(in) - 1, NULL);

    ck_assert_str_eq(got, "\xff\xfe password=[REDACTED] \xc3 [REDACTED-EMAIL]\xff "
                          "x\xc0[REDACTED]\xfe end \xe2\x82");
    ck_assert_int_eq(metric(SR_M_REDACTION_FAILURES, "tok"), 0);
    free(got);
    sr_redactor_free(r);
}
END_TEST

/* ---- records -------------------------------------------------------- */

static sr_slice_t slice_of(const sr_record_t *rec, const char *needle)
{
    const char *p = memmem(rec->text, rec->text_len, needle, strlen(needle));

    ck_assert_msg(p != NULL, "no '%s' in the frame", needle);
    return (sr_slice_t){(uint32_t)(p - rec->text), (uint32_t)strlen(needle)};
}

static char *slice_str(const sr_record_t *rec, sr_slice_t s)
{
    ck_assert(sr_slice_present(s));
    return sr_strndup(sr_record_ptr(rec, s), s.len);
}

#define CK_SLICE(rec, field, want)                                                                 \
    do {                                                                                           \
        char *s_ = slice_str((rec), (field));                                                      \
        ck_assert_str_eq(s_, (want));                                                              \
        free(s_);                                                                                  \
    } while (0)

static const char frame5424[] =
    "<34>1 2024-01-01T00:00:00Z host-10.0.0.1 app 123 ID47 "
    "[ex@1 password=\"hunter2\" note=\"say \\\"password=hunter2\\\" to bob@example.com\"]"
    "[meta x=\"1\"] login from 10.1.2.3 password=hunter2";

/* A hand-parsed RFC 5424 record (the parsers are tested elsewhere). */
static sr_record_t *make_record(int input_id)
{
    sr_record_t *rec = sr_record_create(frame5424, sizeof(frame5424) - 1);

    rec->format = SR_FORMAT_RFC5424;
    rec->version = 1;
    rec->input_id = (uint16_t)input_id;
    rec->input_name = inputs[input_id];
    rec->timestamp = slice_of(rec, "2024-01-01T00:00:00Z");
    rec->hostname = slice_of(rec, "host-10.0.0.1");
    rec->app_name = slice_of(rec, "app");
    rec->procid = slice_of(rec, "123");
    rec->msgid = slice_of(rec, "ID47");
    rec->message = slice_of(rec, "login from 10.1.2.3 password=hunter2");
    sr_record_sd_reserve(rec, 2, 3);
    rec->sd_elems[0] = (sr_sd_elem_t){slice_of(rec, "ex@1"), 0, 2};
    rec->sd_elems[1] = (sr_sd_elem_t){slice_of(rec, "meta"), 2, 1};
    rec->sd_params[0] = (sr_sd_param_t){slice_of(rec, "password"), slice_of(rec, "hunter2")};
    rec->sd_params[1] = (sr_sd_param_t){
        slice_of(rec, "note"), slice_of(rec, "say \\\"password=hunter2\\\" to bob@example.com")};
    rec->sd_params[2] = (sr_sd_param_t){slice_of(rec, "x"), slice_of(rec, "1\"]")};
    rec->sd_params[2].value.len = 1;
    return rec;
}

static void check_unchanged_fields(const sr_record_t *rec)
{
    CK_SLICE(rec, rec->timestamp, "2024-01-01T00:00:00Z");
    CK_SLICE(rec, rec->app_name, "app");
    CK_SLICE(rec, rec->procid, "123");
    CK_SLICE(rec, rec->msgid, "ID47");
    CK_SLICE(rec, rec->sd_elems[0].id, "ex@1");
    CK_SLICE(rec, rec->sd_elems[1].id, "meta");
    CK_SLICE(rec, rec->sd_params[0].name, "password");
    CK_SLICE(rec, rec->sd_params[1].name, "note");
    CK_SLICE(rec, rec->sd_params[2].name, "x");
    CK_SLICE(rec, rec->sd_params[2].value, "1");
}

START_TEST(test_record_everywhere)
{
    sr_redactor_t *r = load("- builtin: password_kv\n"
                            "- builtin: email\n"
                            "- builtin: ipv4\n"
                            "  fields: [message, structured_data, hostname]\n");
    sr_redact_scratch_t *s = sr_redact_scratch_create(r);
    sr_record_t *rec = make_record(0);
    sr_buf_t b;
    char *text;
    int n;

    n = sr_redact_record(r, s, rec);
    ck_assert(rec->flags & SR_REC_REDACTED);
    CK_SLICE(rec, rec->hostname, "host-[REDACTED-IPV4]");
    CK_SLICE(rec, rec->message, "login from [REDACTED-IPV4] password=[REDACTED]");
    CK_SLICE(rec, rec->sd_params[0].value, "[REDACTED\\]");
    CK_SLICE(rec, rec->sd_params[1].value,
             "say \\\"password=[REDACTED\\]\\\" to [REDACTED-EMAIL\\]");
    CK_SLICE(rec, rec->raw,
             "<34>1 2024-01-01T00:00:00Z host-[REDACTED-IPV4] app 123 ID47 "
             "[ex@1 password=\"[REDACTED]\" note=\"say \\\"password=[REDACTED]\\\" to "
             "[REDACTED-EMAIL]\"][meta x=\"1\"] login from [REDACTED-IPV4] password=[REDACTED]");
    check_unchanged_fields(rec);
    ck_assert(memmem(rec->text, rec->text_len, "hunter2", 7) == NULL);
    ck_assert(memmem(rec->text, rec->text_len, "bob@", 4) == NULL);
    ck_assert(memmem(rec->text, rec->text_len, "10.", 3) == NULL);

    /* The unescaped SD value is what outputs write. */
    sr_buf_init(&b);
    sr_sd_unescape(sr_record_ptr(rec, rec->sd_params[1].value), rec->sd_params[1].value.len, &b);
    sr_buf_putc(&b, '\0');
    ck_assert_str_eq(b.base, "say \"password=[REDACTED]\" to [REDACTED-EMAIL]");
    sr_buf_free(&b);

    /* Counted in the scratch until it is flushed (once per handover). */
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "password_kv"), 0);
    sr_redact_scratch_flush(s);
    /* message 2 + raw 3 (two in SD) for password_kv; SD name counts 1 */
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "password_kv"), 1 + 1 + 1 + 3);
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "email"), 1 + 1);
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "ipv4"), 2 + 2);
    ck_assert_int_eq(n, 6 + 2 + 4);

    /* Redacting again leaves the text as it is (the relay never does,
     * but its own log lines may hold text that went through once). */
    text = sr_strndup(rec->text, rec->text_len);
    sr_redact_record(r, s, rec);
    ck_assert_uint_eq(rec->text_len, strlen(text));
    ck_assert(memcmp(text, rec->text, rec->text_len) == 0);
    free(text);
    sr_record_release(rec);
    sr_redact_scratch_free(s);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_record_unchanged_keeps_text)
{
    sr_redactor_t *r = load("- builtin: credit_card\n");
    sr_redact_scratch_t *s = sr_redact_scratch_create(r);
    sr_record_t *rec = make_record(0);

    ck_assert_int_eq(sr_redact_record(r, s, rec), 0);
    ck_assert_ptr_eq(rec->text, rec->data);
    ck_assert(!(rec->flags & SR_REC_REDACTED));
    ck_assert_int_eq(sr_redact_record(NULL, NULL, rec), 0);
    sr_record_release(rec);
    sr_redact_scratch_free(s);
    sr_redactor_free(r);
}
END_TEST

/* No output writes raw lines: fields are redacted as always, the raw line
 * is dropped rather than redacted, and only the fields' replacements count. */
START_TEST(test_record_fields_only)
{
    sr_redactor_t *r = load("- builtin: password_kv\n"
                            "- builtin: email\n"
                            "- builtin: ipv4\n"
                            "  fields: [message, structured_data, hostname]\n");
    sr_redact_scratch_t *s = sr_redact_scratch_create(r);
    sr_record_t *rec = make_record(0);
    sr_record_t *plain = make_record(0);
    static const char line[] = "garbage token=abc123 from 10.9.8.7";
    sr_record_t *raw = sr_record_create("nothing here", 12);

    ck_assert_int_eq(sr_redact_record_fields(r, s, rec), 6);
    ck_assert(rec->flags & SR_REC_REDACTED);
    ck_assert(!sr_slice_present(rec->raw));
    CK_SLICE(rec, rec->hostname, "host-[REDACTED-IPV4]");
    CK_SLICE(rec, rec->message, "login from [REDACTED-IPV4] password=[REDACTED]");
    CK_SLICE(rec, rec->sd_params[0].value, "[REDACTED\\]");
    check_unchanged_fields(rec);
    ck_assert(memmem(rec->text, rec->text_len, "hunter2", 7) == NULL);
    ck_assert(memmem(rec->text, rec->text_len, "bob@", 4) == NULL);
    ck_assert(memmem(rec->text, rec->text_len, "10.", 3) == NULL);
    sr_redact_scratch_flush(s);
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "password_kv"), 1 + 1 + 1);
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "ipv4"), 2);

    /* The same fields as sr_redact_record gives them. */
    sr_redact_record(r, s, plain);
    ck_assert_uint_eq(rec->message.len, plain->message.len);
    ck_assert(memcmp(sr_record_ptr(rec, rec->message), sr_record_ptr(plain, plain->message),
                     rec->message.len) == 0);

    /* Nothing to redact: the text stays, the raw line goes all the same. */
    ck_assert_int_eq(sr_redact_record_fields(r, s, raw), 0);
    ck_assert_ptr_eq(raw->text, raw->data);
    ck_assert(!sr_slice_present(raw->raw));
    CK_SLICE(raw, raw->message, "nothing here");
    sr_record_release(raw);

    /* A raw record keeps its redacted message. */
    raw = sr_record_create(line, sizeof(line) - 1);
    ck_assert_int_eq(sr_redact_record_fields(r, s, raw), 2);
    CK_SLICE(raw, raw->message, "garbage token=[REDACTED] from [REDACTED-IPV4]");
    ck_assert(!sr_slice_present(raw->raw));
    sr_record_release(raw);
    sr_record_release(plain);
    sr_record_release(rec);
    sr_redact_scratch_free(s);
    sr_redactor_free(r);
}
END_TEST

/* A redacted text goes back into the record's own block when it fits
 * there, else into an allocation of its own; both read back intact. */
START_TEST(test_record_text_grows)
{
    sr_redactor_t *r = load("- builtin: email\n");
    sr_redact_scratch_t *s = sr_redact_scratch_create(r);
    static const char head[] = "<14>1 2026-11-21T10:00:00Z h app - - - ";
    sr_parse_ctx_t ctx = {0, NULL};
    sr_buf_t line, want;
    sr_record_t *rec;
    size_t sizes[] = {1, 40, 120, 400}, k, i;

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        sr_buf_init(&line);
        sr_buf_init(&want);
        sr_buf_append(&line, head, sizeof(head) - 1);
        for (i = 0; i < sizes[k]; i++) {
            sr_buf_append(&line, "a@b.co ", 7);
            sr_buf_append(&want, "[REDACTED-EMAIL] ", 17);
        }
        rec = sr_record_create(line.base, line.len);
        ck_assert_int_eq(sr_parse_record(rec, SR_PARSE_AUTO, &ctx), SR_FORMAT_RFC5424);
        ck_assert_int_eq(sr_redact_record(r, s, rec), (int)(2 * sizes[k]));
        ck_assert_uint_eq(rec->message.len, want.len);
        ck_assert(memcmp(sr_record_ptr(rec, rec->message), want.base, want.len) == 0);
        ck_assert_uint_eq(rec->raw.len, sizeof(head) - 1 + want.len);
        ck_assert(memmem(rec->text, rec->text_len, "a@b", 3) == NULL);
        CK_SLICE(rec, rec->app_name, "app");
        ck_assert_uint_ge(sr_record_size(rec), rec->text_len);
        sr_record_release(rec);
        sr_buf_free(&line);
        sr_buf_free(&want);
    }
    sr_redact_scratch_free(s);
    sr_redactor_free(r);
}
END_TEST

/* Every field of a record redacted without its raw line equals the same
 * field redacted with it, whichever way the text is rewritten: in place
 * (only the message changed, and it ends the text) or rebuilt (another
 * field changed too, the message grew past the block, or the parser put
 * something after it). */
START_TEST(test_record_fields_match_full)
{
    sr_redactor_t *r = load("- builtin: credit_card\n"
                            "- builtin: email\n"
                            "  fields: [message, structured_data, hostname]\n");
    sr_redact_scratch_t *s = sr_redact_scratch_create(r);
    sr_parse_ctx_t ctx = {0, NULL};
    sr_buf_t grow;
    const char *lines[] = {
        "<14>1 2026-11-21T10:00:00Z web-1 app 42 ID - paid by jane@example.com, card 4111 1111 "
        "1111 1111, total 19.99",
        "<14>1 2026-11-21T10:00:00Z ops@example.com app 42 ID - mail to bob@example.org",
        "<14>1 2026-11-21T10:00:00Z web-1 app 42 ID [a@1 to=\"x@example.com\"] and y@example.com",
        "<14>1 2026-11-21T10:00:00Z web-1 app 42 ID [a@1 n=\"1\"] only here: y@example.com",
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for bob@example.com on /dev/pts/8",
        "<34>Oct 11 22:14:15 su: no host, card 5500-0000-0000-0004",
        "no syslog header at all, mail a@example.com",
        "<14>1 2026-11-21T10:00:00Z web-1 app 42 ID - nothing to mask",
        NULL, /* grows past the block: filled in below */
    };
    size_t i, k;

    sr_buf_init(&grow);
    sr_buf_append(&grow, "<14>1 2026-11-21T10:00:00Z h app - - - ", 39);
    for (i = 0; i < 40; i++) {
        sr_buf_append(&grow, "a@b.co ", 7);
    }
    lines[SR_ARRAY_SIZE(lines) - 1] = grow.base;
    for (i = 0; i < SR_ARRAY_SIZE(lines); i++) {
        sr_record_t *full = sr_record_create(lines[i], strlen(lines[i]));
        sr_record_t *part = sr_record_create(lines[i], strlen(lines[i]));
        uint32_t msg_off;
        int n_part;

        sr_parse_record(full, SR_PARSE_AUTO, &ctx);
        sr_parse_record(part, SR_PARSE_AUTO, &ctx);
        msg_off = part->message.off;
        sr_redact_record(r, s, full);
        n_part = sr_redact_record_fields(r, s, part);
        ck_assert_msg(!sr_slice_present(part->raw), "line %zu", i);
        ck_assert_msg((n_part > 0) == ((part->flags & SR_REC_REDACTED) != 0), "line %zu", i);
#define SAME(f)                                                                                    \
    do {                                                                                           \
        ck_assert_msg(sr_slice_present(full->f) == sr_slice_present(part->f), "line %zu " #f, i);  \
        if (sr_slice_present(full->f)) {                                                           \
            char *a_ = slice_str(full, full->f), *b_ = slice_str(part, part->f);                   \
            ck_assert_msg(strcmp(a_, b_) == 0, "line %zu " #f ": \"%s\" != \"%s\"", i, a_, b_);    \
            free(a_);                                                                              \
            free(b_);                                                                              \
        }                                                                                          \
    } while (0)
        SAME(timestamp);
        SAME(hostname);
        SAME(app_name);
        SAME(procid);
        SAME(msgid);
        SAME(message);
        ck_assert_uint_eq(part->n_sd_params, full->n_sd_params);
        for (k = 0; k < part->n_sd_params; k++) {
            SAME(sd_params[k].name);
            SAME(sd_params[k].value);
        }
#undef SAME
        ck_assert_msg(memmem(part->text, part->text_len, "@example", 8) == NULL, "line %zu", i);
        ck_assert_msg(memmem(part->text, part->text_len, "1111 1111", 9) == NULL, "line %zu", i);
        if (i == 0) {
            /* Only the message changed: rewritten where it was. */
            ck_assert_ptr_eq(part->text, part->data);
            ck_assert_uint_eq(part->message.off, msg_off);
            ck_assert_uint_eq(part->text_len, part->message.off + part->message.len);
        } else if (i == 1 || i == 2 || i == SR_ARRAY_SIZE(lines) - 1) {
            /* Another field changed, or the message outgrew the block. */
            ck_assert_uint_lt(part->message.off, msg_off);
        }
        sr_record_release(full);
        sr_record_release(part);
    }
    sr_buf_free(&grow);
    sr_redact_scratch_free(s);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_record_raw_format)
{
    static const char line[] = "garbage token=abc123 from 10.9.8.7";
    sr_redactor_t *r = load("- builtin: password_kv\n- builtin: ipv4\n");
    sr_record_t *rec = sr_record_create(line, sizeof(line) - 1);

    ck_assert_int_eq(sr_redact_record(r, NULL, rec), 2);
    CK_SLICE(rec, rec->message, "garbage token=[REDACTED] from [REDACTED-IPV4]");
    CK_SLICE(rec, rec->raw, "garbage token=[REDACTED] from [REDACTED-IPV4]");
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "password_kv"), 1);
    sr_record_release(rec);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_inputs_filter)
{
    sr_redactor_t *r = load("- name: only-tcp\n  pattern: hunter2\n  inputs: [tcp-in]\n");
    sr_redact_scratch_t *s = sr_redact_scratch_create(r);
    sr_record_t *rec = make_record(0);

    ck_assert_int_eq(sr_redact_record(r, s, rec), 0);
    ck_assert_ptr_eq(rec->text, rec->data);
    sr_record_release(rec);
    rec = make_record(1);
    ck_assert_int_eq(sr_redact_record(r, s, rec), 6);
    CK_SLICE(rec, rec->sd_params[0].value, "[REDACTED\\]");
    ck_assert(memmem(rec->text, rec->text_len, "hunter2", 7) == NULL);
    sr_record_release(rec);
    sr_redact_scratch_free(s);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_fields_filter)
{
    /* hostname only: message and SD stay, but the raw line never carries
     * what a field masks, so it gets the rule too. */
    sr_redactor_t *r = load("- name: h\n  pattern: 'host-[0-9.]+'\n  replacement: H\n"
                            "  fields: [hostname]\n"
                            "- name: app\n  pattern: '^app$'\n  fields: [app_name]\n");
    sr_record_t *rec = make_record(0);

    ck_assert_int_eq(sr_redact_record(r, NULL, rec), 3);
    CK_SLICE(rec, rec->hostname, "H");
    CK_SLICE(rec, rec->app_name, "[REDACTED]");
    CK_SLICE(rec, rec->message, "login from 10.1.2.3 password=hunter2");
    CK_SLICE(rec, rec->sd_params[0].value, "hunter2");
    ck_assert(memmem(sr_record_ptr(rec, rec->raw), rec->raw.len, "host-10", 7) == NULL);
    ck_assert(memmem(sr_record_ptr(rec, rec->raw), rec->raw.len, " H app ", 7) != NULL);
    sr_record_release(rec);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_many_sd_params)
{
    /* More params than the inline room, all secret-named. */
    sr_buf_t f;
    sr_record_t *rec;
    sr_redactor_t *r = load("- builtin: password_kv\n  fields: [structured_data]\n");
    size_t i;
    char name[16];

    sr_buf_init(&f);
    sr_buf_puts(&f, "<14>1 - - - - - [a@1");
    for (i = 0; i < 20; i++) {
        sr_buf_printf(&f, " a%zu_token=\"v%zu\"", i, i);
    }
    sr_buf_puts(&f, "] msg");
    rec = sr_record_create(f.base, f.len);
    sr_record_sd_reserve(rec, 1, 20);
    rec->sd_elems[0] = (sr_sd_elem_t){slice_of(rec, "a@1"), 0, 20};
    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), " a%zu_token=", i);
        rec->sd_params[i].name = slice_of(rec, name);
        rec->sd_params[i].name.off++;
        rec->sd_params[i].name.len -= 2;
        rec->sd_params[i].value.off = rec->sd_params[i].name.off + rec->sd_params[i].name.len + 2;
        rec->sd_params[i].value.len = i < 10 ? 2 : 3;
    }
    rec->message = slice_of(rec, "msg");
    ck_assert_int_eq(sr_redact_record(r, NULL, rec), 40);
    for (i = 0; i < 20; i++) {
        CK_SLICE(rec, rec->sd_params[i].value, "[REDACTED\\]");
    }
    CK_SLICE(rec, rec->sd_params[19].name, "a19_token");
    CK_SLICE(rec, rec->message, "msg");
    ck_assert(memmem(rec->text, rec->text_len, "\"v1", 3) == NULL);
    sr_record_release(rec);
    sr_buf_free(&f);
    sr_redactor_free(r);
}
END_TEST

/* ---- fail closed ---------------------------------------------------- */

static const char pathological[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";

START_TEST(test_fail_closed_string)
{
    sr_redactor_t *r = load("- name: evil\n  pattern: '(a+)+$'\n  match_limit: 1000\n"
                            "- builtin: email\n");
    char *got = red(r, pathological);

    ck_assert_str_eq(got, SR_REDACT_FAILED_MARKER);
    ck_assert_int_eq(metric(SR_M_REDACTION_FAILURES, "evil"), 1);
    ck_assert_int_eq(metric(SR_M_REDACTIONS, "evil"), 0);
    free(got);
    /* A field that does not make it backtrack is fine. */
    got = red(r, "aaaa and bob@example.com");
    ck_assert_str_eq(got, "aaaa and [REDACTED-EMAIL]");
    free(got);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_fail_closed_default_limit)
{
    sr_redactor_t *r = load("- name: evil\n  pattern: '(a+)+$'\n");
    char *got = red(r, pathological);

    ck_assert_str_eq(got, SR_REDACT_FAILED_MARKER);
    ck_assert_int_eq(metric(SR_M_REDACTION_FAILURES, "evil"), 1);
    free(got);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_fail_closed_record)
{
    sr_redactor_t *r = load("- name: evil\n  pattern: '(\\w+\\s?)+$'\n  match_limit: 5000\n");
    static const char line[] = "<14>1 - - - - - [x@1 k=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"] "
                               "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb!";
    sr_record_t *rec = sr_record_create(line, sizeof(line) - 1);

    rec->format = SR_FORMAT_RFC5424;
    sr_record_sd_reserve(rec, 1, 1);
    rec->sd_elems[0] = (sr_sd_elem_t){slice_of(rec, "x@1"), 0, 1};
    rec->sd_params[0] = (sr_sd_param_t){slice_of(rec, "k"), slice_of(rec, "aaaaaaaaaa")};
    rec->sd_params[0].value.len = 32;
    rec->message = slice_of(rec, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb!");
    sr_redact_record(r, NULL, rec);
    CK_SLICE(rec, rec->message, SR_REDACT_FAILED_MARKER);
    CK_SLICE(rec, rec->sd_params[0].value, "[REDACTION-FAILED\\]");
    CK_SLICE(rec, rec->raw, SR_REDACT_FAILED_MARKER);
    ck_assert(rec->flags & SR_REC_REDACTED);
    ck_assert_int_eq(metric(SR_M_REDACTION_FAILURES, "evil"), 3);
    sr_record_release(rec);
    sr_redactor_free(r);
}
END_TEST

/* Benign worst cases for the built-ins at 64 KiB stay under the default
 * limits: no field may be lost to the marker. */
START_TEST(test_builtins_long_benign_input)
{
    static const char *const units[] = {
        "1 ", "a", "a@", "1.1.", "ab:", "password", "eyJa.", "Bearer ", "4111-"};
    sr_redactor_t *r = load("- builtin: credit_card\n- builtin: email\n- builtin: ipv4\n"
                            "- builtin: ipv6\n- builtin: aws_access_key_id\n"
                            "- builtin: aws_secret_access_key\n- builtin: bearer_token\n"
                            "- builtin: jwt\n- builtin: password_kv\n");
    sr_buf_t in;
    char *got;
    size_t i, u;

    for (u = 0; u < SR_ARRAY_SIZE(units); u++) {
        sr_buf_init(&in);
        for (i = 0; in.len < 65536 - 16; i++) {
            sr_buf_puts(&in, units[u]);
        }
        got = red_n(r, in.base, in.len, NULL);
        ck_assert_msg(strcmp(got, SR_REDACT_FAILED_MARKER) != 0, "unit '%s' failed", units[u]);
        free(got);
        sr_buf_free(&in);
    }
    for (i = 0; sr_redact_builtin_names[i] != NULL; i++) {
        ck_assert_int_eq(metric(SR_M_REDACTION_FAILURES, sr_redact_builtin_names[i]), 0);
    }
    sr_redactor_free(r);
}
END_TEST

/* ---- candidate-start hints against the plain search ------------------ */

/* A small deterministic generator (xorshift64*), so a failure reproduces. */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

static const char *const seps[] = {"", "", "", " ", " ", "-", "-", ".", "  ", "--", " -", "/"};

/* 1 to 25 digits, with random separators between some of them. */
static void put_digit_run(sr_buf_t *b)
{
    uint32_t i, len = 1 + rnd(25);

    for (i = 0; i < len; i++) {
        if (i > 0 && rnd(3) == 0) {
            sr_buf_puts(b, seps[rnd(SR_ARRAY_SIZE(seps))]);
        }
        sr_buf_putc(b, (char)('0' + rnd(10)));
    }
}

/* A 13 to 19 digit number, Luhn-valid unless `bad`, grouped by 4 with
 * one separator, or not grouped. */
static void put_card(sr_buf_t *b, bool bad)
{
    char d[20];
    uint32_t len = 13 + rnd(7), i, sum = 0, v;
    const char *sep = rnd(3) == 0 ? "" : rnd(2) ? " " : "-";

    for (i = 0; i + 1 < len; i++) {
        d[i] = (char)('0' + rnd(10));
    }
    /* Check digit: double every second digit counting from the right. */
    for (i = 0; i + 1 < len; i++) {
        v = (uint32_t)(d[len - 2 - i] - '0');
        if (i % 2 == 0) {
            v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        }
        sum += v;
    }
    d[len - 1] = (char)('0' + (10 - sum % 10) % 10);
    if (bad) {
        d[len - 1] = (char)('0' + (d[len - 1] - '0' + 1 + rnd(9)) % 10);
    }
    for (i = 0; i < len; i++) {
        if (i > 0 && i % 4 == 0) {
            sr_buf_puts(b, sep);
        }
        sr_buf_putc(b, d[i]);
    }
}

static void put_local(sr_buf_t *b)
{
    static const char chars[] = "abcxyzABZ0189._%+-";
    uint32_t i, len = rnd(8) == 0 ? 200 + rnd(400) : 1 + rnd(10);

    for (i = 0; i < len; i++) {
        if (rnd(12) == 0) {
            sr_buf_putc(b, (char)(0x80 + rnd(128)));
        } else {
            sr_buf_putc(b, chars[rnd(sizeof(chars) - 1)]);
        }
    }
}

static void put_domain(sr_buf_t *b)
{
    static const char *const tlds[] = {"com", "org", "io", "c", "co.uk", "x1", "", "de."};
    uint32_t i, labels = rnd(4);

    for (i = 0; i < labels; i++) {
        sr_buf_puts(b, rnd(5) == 0 ? "-a" : rnd(2) ? "example" : "b\xc3\xa4r");
        sr_buf_puts(b, rnd(6) == 0 ? ".." : ".");
    }
    sr_buf_puts(b, tlds[rnd(SR_ARRAY_SIZE(tlds))]);
}

/* Two to five dot-separated runs of 1-4 digits (octets up to 9999, with
 * leading zeros), sometimes with a word character or a dot around. */
static void put_dotted(sr_buf_t *b)
{
    static const char *const around[] = {"", "", "", "", "", "", "v", "_", ".", "x", ":"};
    uint32_t i, j, parts = 2 + rnd(4), len;

    sr_buf_puts(b, around[rnd(SR_ARRAY_SIZE(around))]);
    if (rnd(2) == 0) {
        sr_buf_printf(b, " %u.%u.%u.%u", rnd(256), rnd(256), rnd(256), rnd(300));
        sr_buf_puts(b, rnd(2) ? " " : around[rnd(SR_ARRAY_SIZE(around))]);
        return;
    }
    for (i = 0; i < parts; i++) {
        if (i > 0) {
            sr_buf_puts(b, rnd(12) == 0 ? ".." : ".");
        }
        len = rnd(10) == 0 ? 4 : 1 + rnd(3);
        for (j = 0; j < len; j++) {
            sr_buf_putc(b, (char)((j == 0 && rnd(2)) ? '1' + rnd(2) : '0' + rnd(10)));
        }
    }
    sr_buf_puts(b, around[rnd(SR_ARRAY_SIZE(around))]);
}

/* Groups of 0-5 hex digits joined by ':' or "::", sometimes with an
 * embedded dotted quad or a zone. */
static void put_colons(sr_buf_t *b)
{
    static const char hex[] = "0123456789abcdefABCDEFgx";
    uint32_t i, j, groups = 1 + rnd(9), len;

    if (rnd(2) == 0) {
        /* Mostly well-formed: full, or compressed around one "::". */
        sr_buf_putc(b, ' ');
        groups = rnd(3) == 0 ? 8 : rnd(7);
        for (i = 0; i < groups; i++) {
            sr_buf_printf(b, "%s%x", i > 0 ? ":" : "", rnd(0x10000));
        }
        if (groups < 8) {
            sr_buf_puts(b, "::");
            for (i = rnd(7 - groups); i > 0; i--) {
                sr_buf_printf(b, "%x%s", rnd(0x10000), i > 1 ? ":" : "");
            }
        }
        sr_buf_putc(b, ' ');
        return;
    }
    if (rnd(4) == 0) {
        sr_buf_puts(b, rnd(2) ? "::" : ":");
    }
    for (i = 0; i < groups; i++) {
        if (i > 0) {
            sr_buf_puts(b, rnd(6) == 0 ? "::" : rnd(20) == 0 ? ":::" : ":");
        }
        len = rnd(6);
        for (j = 0; j < len; j++) {
            sr_buf_putc(b, hex[rnd(sizeof(hex) - 1)]);
        }
    }
    if (rnd(4) == 0) {
        sr_buf_putc(b, ':');
        put_dotted(b);
    }
    if (rnd(5) == 0) {
        sr_buf_puts(b, rnd(2) ? "%eth0" : "::");
    }
}

/* KEY=VALUE and its variants, right and wrong: key words of password_kv
 * in any case, with prefixes and separators, quotes and backslashes, white
 * space, ':' '=' "=>", values quoted or not. */
static void put_kv(sr_buf_t *b)
{
    static const char *const keys[] = {
        "password", "PassWord", "passwd",  "passphrase", "pwd",        "secret",    "token",
        "tokens",   "apikey",   "api_key", "API.KEY",    "api-key",    "apiKey",    "access_key",
        "ACCESSKEY", "secret-key", "secretkey", "private_key", "private.key", "credential",
        "credentials", "key",   "word",    "pass",       "db_password", "x-token",  "mysecret",
    };
    static const char *const quotes[] = {"", "", "", "\"", "'", "\\\"", "\\'", " \""};
    static const char *const spaces[] = {"", "", " ", "  ", "\t", " \n", "\r\n "};
    static const char *const delims[] = {"=", "=", ":", ":", "=>", "=>>", "", ";", "==", "::"};
    static const char *const values[] = {"hunter2", "\"s3cr3t\"", "'x y'", "\\\"esc\\\"",
                                         "[REDACTED]", "a,b", "}", "", "\"a\\\"b\"",
                                         "v;w", "p&q", "\\x"};

    sr_buf_puts(b, keys[rnd(SR_ARRAY_SIZE(keys))]);
    sr_buf_puts(b, quotes[rnd(SR_ARRAY_SIZE(quotes))]);
    sr_buf_puts(b, spaces[rnd(SR_ARRAY_SIZE(spaces))]);
    sr_buf_puts(b, delims[rnd(SR_ARRAY_SIZE(delims))]);
    sr_buf_puts(b, spaces[rnd(SR_ARRAY_SIZE(spaces))]);
    sr_buf_puts(b, quotes[rnd(SR_ARRAY_SIZE(quotes))]);
    sr_buf_puts(b, values[rnd(SR_ARRAY_SIZE(values))]);
}

/* Fixed pieces: edge cases of the hinted rules. */
static const char *const pieces[] = {
    "@",
    "@@",
    "a@b",
    "x.@y.com",
    ".@.",
    "-@-.-",
    "a@b.c",
    "a@b.co",
    "@example.com",
    "user@host.example.com",
    "a@b.coma@b.com",
    "a@b.com,c@d.org",
    "a@b.com@c.org",
    "j\xc3\xbcrgen@ex\xc3\xa4mple.de",
    "\xff@\xfe.com",
    "x@\x80\x80.ab",
    "mailto:",
    "<",
    ">",
    "1.4111111111111111",
    "4111111111111111.25",
    "4111111111111111.",
    ".4111111111111111",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111  1111 1111 1111",
    "visa4111111111111111end",
    "5555555555554444",
    "378282246310005",
    "1.2.",
    "19.99",
    "2026-11-21T12:00:00+00:00",
    "1 1 1 1",
    "0-0-0-0-0-0-0-0-0-0-0-0-0",
    "order ",
    " paid by ",
    " with card ",
    ", total ",
    " EUR ",
    "PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP",
    "password=",
    "10.0.0.1",
    "192.168.1.255.",
    "1.2.3.4.5",
    "v1.2.3.4",
    "256.1.1.1",
    "01.02.03.04",
    "1.1.1.1000",
    "2001:db8::1",
    "fe80::1%eth0",
    "::1",
    "::ffff:192.0.2.1",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "00:1a:2b:3c:4d:5e",
    "12:34:56",
    "std::vector",
    "::",
    ":::",
    "cafe:",
    "deadbeef::1",
    "\n",
    "\t",
    "\x01",
    "",
    " ",
    ",",
    ";",
    "-",
    ".",
    "_",
    "%",
    "+",
};

/* One generated string: 1 to 12 pieces, back to back or spaced. */
static void gen_string(sr_buf_t *b)
{
    uint32_t i, n = 1 + rnd(12), j, len;

    for (i = 0; i < n; i++) {
        switch (rnd(13)) {
        case 0:
        case 1:
            put_digit_run(b);
            break;
        case 2:
            put_card(b, rnd(3) == 0);
            break;
        case 3:
        case 4:
            put_local(b);
            sr_buf_putc(b, '@');
            put_domain(b);
            break;
        case 5:
            len = 1 + rnd(6);
            for (j = 0; j < len; j++) {
                sr_buf_putc(b, (char)rnd(256));
            }
            break;
        case 6:
            put_dotted(b);
            break;
        case 7:
            put_colons(b);
            break;
        case 8:
            put_kv(b);
            break;
        default:
            sr_buf_puts(b, pieces[rnd(SR_ARRAY_SIZE(pieces))]);
            break;
        }
        if (rnd(3) == 0) {
            sr_buf_puts(b, rnd(2) ? " " : seps[rnd(SR_ARRAY_SIZE(seps))]);
        }
    }
}

/* Lines as the benchmarks send them (test/bench/bench_redact.c, compare.sh). */
static const char *const bench_lines[] = {
    "<38>1 2026-11-21T12:00:00+00:00 bench00 loggen 1234 - - order 12 paid by "
    "jane.doe@example.com with card 4111 1111 1111 1111, total 19.99 EUR PPPPPPPPPPPPPPPPPPPP",
    "<38>1 2026-11-21T12:00:00+00:00 bench01 loggen 1234 - - order 13 paid by "
    "bob+billing@example.org with card 5500-0000-0000-0004, total 19.99 EUR PPPPPPPPPPPPPPPP",
    "<38>1 2026-11-21T12:00:00+00:00 bench02 loggen 1234 - - order 14 paid by "
    "ops@mail.example.net with card 340000000000009, total 19.99 EUR PPPPPPPPPPPPPPPPPPPPPPP",
    "<38>1 2026-11-21T12:00:00.000000+00:00 bench03 srgen 1234 - - order 15 paid by "
    "x.y@corp.example.io with card 6011000000000004, total 19.99 EUR, conn 3 PADDPADDPADD",
    "<165>1 2026-11-21T22:14:15.003Z web-01.example.net api 8710 REQ [req@32473 method=\"POST\" "
    "path=\"/v1/login\" status=\"200\"] login ok user=alice@example.com from 203.0.113.7 "
    "password=hunter2",
    "<134>1 2026-11-21T22:14:16.121Z pay-02 checkout 4411 PAY - order 1234567890123456 shipped "
    "to warehouse 7, tracking 9400110200881234567890",
};

/* Redact p[0..n) with hints on and off; both must agree exactly. */
static void same_both_ways(const sr_redactor_t *r, sr_redact_scratch_t *with,
                           sr_redact_scratch_t *without, const char *p, size_t n, int *masked)
{
    sr_buf_t a, b;
    int ca, cb;

    sr_buf_init(&a);
    sr_buf_init(&b);
    ca = sr_redact_string(r, with, p, n, &a);
    cb = sr_redact_string(r, without, p, n, &b);
    ck_assert_msg(ca == cb && a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0),
                  "hints %d [%.*s], plain %d [%.*s], input [%.*s]", ca, (int)a.len, a.base, cb,
                  (int)b.len, b.base, (int)n, p);
    *masked += ca;
    sr_buf_free(&a);
    sr_buf_free(&b);
}

static const char *const diff_sets[] = {
    "- builtin: credit_card\n",
    "- builtin: email\n",
    "- builtin: credit_card\n- builtin: email\n",
    "- builtin: ipv4\n",
    "- builtin: ipv6\n",
    "- builtin: password_kv\n",
    /* A rule before them changes what they see. */
    "- name: pre\n  pattern: '[0-9]{3}'\n  replacement: '1 @'\n"
    "- builtin: email\n- builtin: credit_card\n- builtin: ipv6\n- builtin: ipv4\n",
    "- builtin: credit_card\n- builtin: email\n- builtin: ipv4\n- builtin: ipv6\n"
    "- builtin: aws_access_key_id\n- builtin: aws_secret_access_key\n"
    "- builtin: bearer_token\n- builtin: jwt\n- builtin: password_kv\n",
    /* At the smallest limits that still allow hints. */
    "- builtin: credit_card\n  match_limit: 10000\n  depth_limit: 10000\n"
    "- builtin: email\n  match_limit: 10000\n  depth_limit: 10000\n"
    "- builtin: ipv4\n  match_limit: 10000\n  depth_limit: 10000\n"
    "- builtin: ipv6\n  match_limit: 10000\n  depth_limit: 10000\n"
    "- builtin: password_kv\n  match_limit: 10000\n  depth_limit: 10000\n",
};

START_TEST(test_hints_match_plain_search)
{
    sr_redactor_t *r = load(diff_sets[_i]);
    sr_redact_scratch_t *with = sr_redact_scratch_create(r);
    sr_redact_scratch_t *without = sr_redact_scratch_create(r);
    sr_buf_t in;
    size_t i;
    int masked = 0;

    sr_redact_scratch_set_hints(without, false);
    for (i = 0; i < SR_ARRAY_SIZE(bench_lines); i++) {
        same_both_ways(r, with, without, bench_lines[i], strlen(bench_lines[i]), &masked);
    }
    for (i = 0; i < SR_ARRAY_SIZE(pieces); i++) {
        same_both_ways(r, with, without, pieces[i], strlen(pieces[i]), &masked);
    }
    rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t)_i;
    sr_buf_init(&in);
    for (i = 0; i < 6000; i++) {
        sr_buf_reset(&in);
        gen_string(&in);
        same_both_ways(r, with, without, in.base, in.len, &masked);
    }
    /* The corpus must exercise matches, not only their absence. */
    fprintf(stderr, "  hints: rule set %d: %d replacements\n", _i, masked);
    ck_assert_int_gt(masked, 1000);
    ck_assert_int_eq(metric(SR_M_REDACTION_FAILURES, "credit_card"), 0);
    sr_buf_free(&in);
    sr_redact_scratch_free(with);
    sr_redact_scratch_free(without);
    sr_redactor_free(r);
}
END_TEST

/* The deciders (credit_card, email) at the edges of what they take on
 * themselves and of what PCRE2 would match: the same bytes both ways. */
START_TEST(test_deciders_edges)
{
    static const char *const sets[] = {
        "- builtin: credit_card\n- builtin: email\n",
        "- builtin: credit_card\n  match_limit: 10000\n  depth_limit: 10000\n"
        "- builtin: email\n  match_limit: 10000\n  depth_limit: 10000\n",
    };
    static const char *const tails[] = {"", " ", ".", ".5", "-", "x", "1", " 1", "@"};
    sr_redactor_t *r;
    sr_redact_scratch_t *with, *without;
    sr_buf_t in;
    size_t k, len, t, labels, d;
    int masked = 0;

    sr_buf_init(&in);
    for (k = 0; k < SR_ARRAY_SIZE(sets); k++) {
        r = load(sets[k]);
        with = sr_redact_scratch_create(r);
        without = sr_redact_scratch_create(r);
        sr_redact_scratch_set_hints(without, false);
        for (t = 0; t < SR_ARRAY_SIZE(tails); t++) {
            /* Labels of 1 to 70 bytes, ending in a letter, a digit or '-'. */
            for (len = 1; len <= 70; len++) {
                for (d = 0; d < 3; d++) {
                    sr_buf_reset(&in);
                    sr_buf_puts(&in, "to a.b@x.");
                    for (labels = 0; labels < len; labels++) {
                        sr_buf_putc(&in, labels + 1 == len ? "z9-"[d] : 'q');
                    }
                    sr_buf_puts(&in, ".org");
                    sr_buf_puts(&in, tails[t]);
                    same_both_ways(r, with, without, in.base, in.len, &masked);
                }
            }
            /* 1 to 40 labels; top-level domains of 1 to 70 letters. */
            for (labels = 1; labels <= 40; labels++) {
                for (len = 1; len <= 70; len += labels % 7 + 1) {
                    sr_buf_reset(&in);
                    sr_buf_puts(&in, "u@");
                    for (d = 0; d < labels; d++) {
                        sr_buf_puts(&in, d % 3 ? "ab." : "c-1.");
                    }
                    for (d = 0; d < len; d++) {
                        sr_buf_putc(&in, 'm');
                    }
                    sr_buf_puts(&in, tails[t]);
                    same_both_ways(r, with, without, in.base, in.len, &masked);
                }
            }
            /* Local parts around what the decider takes (256 bytes). */
            for (len = 250; len <= 262; len++) {
                sr_buf_reset(&in);
                for (d = 0; d < len; d++) {
                    sr_buf_putc(&in, "a.+_%-9"[d % 7]);
                }
                sr_buf_puts(&in, "@example.com");
                sr_buf_puts(&in, tails[t]);
                same_both_ways(r, with, without, in.base, in.len, &masked);
            }
            /* Digit chains of 12 to 24 digits made of a valid card and
             * more digits, joined by nothing, ' ' or '-'. */
            for (len = 12; len <= 24; len++) {
                for (d = 0; d < 3; d++) {
                    static const char card[] = "4111111111111111378282246310005";
                    size_t i;

                    sr_buf_reset(&in);
                    sr_buf_puts(&in, "n ");
                    for (i = 0; i < len; i++) {
                        if (i > 0 && i % 4 == 0 && d > 0) {
                            sr_buf_putc(&in, d == 1 ? ' ' : '-');
                        }
                        sr_buf_putc(&in, card[i]);
                    }
                    sr_buf_puts(&in, tails[t]);
                    same_both_ways(r, with, without, in.base, in.len, &masked);
                }
            }
        }
        sr_redact_scratch_free(with);
        sr_redact_scratch_free(without);
        sr_redactor_free(r);
    }
    fprintf(stderr, "  deciders: %d replacements\n", masked);
    ck_assert_int_gt(masked, 5000);
    sr_buf_free(&in);
}
END_TEST

/* Long fields where nearly every byte is a candidate, or where candidates
 * fail after work: the limits count per start offset, so skipping offsets
 * must not change which fields fail closed, even at the smallest limits
 * that keep hints. */
START_TEST(test_hints_long_fields)
{
    static const char *const units[] = {
        "1 ",     "1-",   "4111-", "1.", "1.1.", "1.1.1.1.", "a",   "a@",      "a.",
        "a@b.",   ".@",   "ab:",   "1:", "::",   "1::1:",    "f:",  "4111",    "41111111111111111.",
        "1.1.1.", "9 9 ", "a@a@",  "@a", "1.a.", "-@a.b-",   "0:0", "x1.2.3.4",
        "pwd:",   "pwd ", "password\t", " =", "token=\"", "key=", "apikey:'", "\\\"=",
        "secret_key", "=",  "PWD = "};
    static const char *const sets[] = {
        "- builtin: credit_card\n- builtin: email\n- builtin: ipv4\n- builtin: ipv6\n"
        "- builtin: password_kv\n",
        "- builtin: credit_card\n  match_limit: 10000\n  depth_limit: 10000\n"
        "- builtin: email\n  match_limit: 10000\n  depth_limit: 10000\n"
        "- builtin: ipv4\n  match_limit: 10000\n  depth_limit: 10000\n"
        "- builtin: ipv6\n  match_limit: 10000\n  depth_limit: 10000\n"
        "- builtin: password_kv\n  match_limit: 10000\n  depth_limit: 10000\n",
    };
    sr_redactor_t *r;
    sr_redact_scratch_t *with, *without;
    sr_buf_t in, out;
    size_t i, u, k;
    int masked = 0;

    sr_buf_init(&out);
    for (k = 0; k < SR_ARRAY_SIZE(sets); k++) {
        r = load(sets[k]);
        with = sr_redact_scratch_create(r);
        without = sr_redact_scratch_create(r);
        sr_redact_scratch_set_hints(without, false);
        for (u = 0; u < SR_ARRAY_SIZE(units); u++) {
            sr_buf_init(&in);
            for (i = 0; in.len < 16384; i++) {
                sr_buf_puts(&in, units[u]);
            }
            same_both_ways(r, with, without, in.base, in.len, &masked);
            sr_buf_free(&in);
        }
        /* One candidate whose attempt is long (8000 domain labels, no
         * TLD): at the small limits both ways must fail closed. */
        sr_buf_init(&in);
        sr_buf_puts(&in, "x a@");
        for (i = 0; i < 8000; i++) {
            sr_buf_puts(&in, "a.");
        }
        same_both_ways(r, with, without, in.base, in.len, &masked);
        sr_buf_reset(&out);
        sr_redact_string(r, with, in.base, in.len, &out);
        sr_buf_putc(&out, '\0');
        if (k == 1) {
            ck_assert_str_eq(out.base, SR_REDACT_FAILED_MARKER);
        } else {
            ck_assert_str_eq(out.base, in.base);
        }
        sr_buf_free(&in);
        sr_redact_scratch_free(with);
        sr_redact_scratch_free(without);
        sr_redactor_free(r);
    }
    sr_buf_free(&out);
}
END_TEST

/* ---- configuration -------------------------------------------------- */

typedef struct ecase_s {
    const char *yaml;
    const char *want;
} ecase_t;

static const ecase_t ecases[] = {
    {"- name: card\n  pattern: '(abc'\n",
     "test.yaml:2:12: redact rule \"card\": pattern does not compile at offset 4: missing "
     "closing parenthesis"},
    {"- name: ok\n  pattern: x\n- name: q\n  pattern: 'a{2,1}'\n",
     "test.yaml:4:12: redact rule \"q\": pattern does not compile at offset 5: numbers out of "
     "order in {} quantifier"},
    {"- builtin: emial\n",
     "test.yaml:1:12: redact[0]: unknown builtin 'emial'; expected one of: credit_card, email, "
     "ipv4, ipv6, aws_access_key_id, aws_secret_access_key, bearer_token, jwt, password_kv"},
    {"- name: x\n  pattern: a\n  builtin: email\n",
     "test.yaml:3:12: redact rule \"x\": pattern and builtin exclude each other; use one"},
    {"- name: x\n", "test.yaml:1:3: redact rule \"x\": needs a pattern or a builtin"},
    {"- pattern: a\n", "test.yaml:1:3: redact[0]: a rule with a pattern needs a name"},
    {"- builtin: email\n- builtin: email\n",
     "test.yaml:2:12: redact rule \"email\": the name is already used by redact[0]; give one "
     "of them another name"},
    {"- builtin: email\n  fields: [message, body]\n",
     "test.yaml:2:21: redact rule \"email\": unknown field 'body'; expected message, "
     "structured_data, hostname or app_name"},
    {"- builtin: email\n  fields: []\n",
     "test.yaml:2:11: redact rule \"email\": fields must not be empty; expected some of: "
     "message, structured_data, hostname, app_name"},
    {"- builtin: email\n  inputs: [udp-in, tls-in]\n",
     "test.yaml:2:20: redact rule \"email\": unknown input 'tls-in'; configured inputs: udp-in, "
     "tcp-in"},
    {"- name: r\n  pattern: '(a)'\n  replacement: 'x$2'\n",
     "test.yaml:3:16: redact rule \"r\": replacement: group 2 is referenced, but the pattern "
     "has 1"},
    {"- name: r\n  pattern: '(a)'\n  replacement: '$${who}'\n",
     "test.yaml:3:16: redact rule \"r\": replacement: the pattern has no group named 'who'"},
    {"- name: r\n  pattern: '(a)'\n  replacement: 'US$ 5'\n",
     "test.yaml:3:16: redact rule \"r\": replacement: '$' at offset 2 must be followed by a "
     "group number, {name} or $"},
    {"- name: r\n  pattern: '(a)'\n  replacement: 'x$${1'\n",
     "test.yaml:3:16: redact rule \"r\": replacement: \"${\" without a closing \"}\" at offset 1"},
    {"- name: r\n  pattern: a\n  match_limit: 0\n",
     "test.yaml:3:16: redact[0].match_limit: \"0\" is too small (at least 1)"},
    {"- name: r\n  pattern: a\n  colour: red\n",
     "test.yaml:3:3: unknown key 'colour' in redact[0]; expected one of: name, pattern, builtin, "
     "replacement, fields, inputs, match_limit, depth_limit"},
    {"- just a string\n", "test.yaml:1:3: redact[0]: expected a mapping, not a scalar"},
};

START_TEST(test_config_errors)
{
    char *e = load_error(ecases[_i].yaml);

    ck_assert_str_eq(e, ecases[_i].want);
    free(e);
}
END_TEST

START_TEST(test_config_empty_and_null)
{
    sr_cfg_ctx_t ctx;
    sr_redactor_t *r = (sr_redactor_t *)1;

    sr_cfg_ctx_init(&ctx, "t");
    ck_assert_int_eq(sr_redactor_load(&ctx, NULL, inputs, 2, &r), 0);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(load_ctx("[]\n", &ctx, &r), 0);
    ck_assert_ptr_null(r);
    sr_cfg_ctx_free(&ctx);
    ck_assert_int_eq(load_ctx("a: b\n", &ctx, &r), SR_ECONFIG);
    ck_assert_str_eq(ctx.errors[0], "test.yaml:1:1: redact: expected a list of rules, not a "
                                    "mapping");
    sr_cfg_ctx_free(&ctx);
}
END_TEST

START_TEST(test_metrics_registered_at_load)
{
    sr_redactor_t *r = load("- builtin: email\n- name: mine\n  pattern: x\n");
    sr_buf_t b;

    sr_buf_init(&b);
    sr_metrics_render(&b);
    sr_buf_putc(&b, '\0');
    ck_assert(strstr(b.base, "syslog_relay_redactions_total{rule=\"email\"} 0\n") != NULL);
    ck_assert(strstr(b.base, "syslog_relay_redactions_total{rule=\"mine\"} 0\n") != NULL);
    ck_assert(strstr(b.base, "syslog_relay_redaction_failures_total{rule=\"mine\"} 0\n") != NULL);
    sr_buf_free(&b);
    sr_redactor_free(r);
}
END_TEST

START_TEST(test_string_appends)
{
    sr_redactor_t *r = load("- builtin: email\n");
    sr_buf_t out;

    sr_buf_init(&out);
    sr_buf_puts(&out, "pre:");
    ck_assert_int_eq(sr_redact_string(r, NULL, "a@b.example", 11, &out), 1);
    ck_assert_int_eq(sr_redact_string(NULL, NULL, "a@b.example", 11, &out), 0);
    sr_buf_putc(&out, '\0');
    ck_assert_str_eq(out.base, "pre:[REDACTED-EMAIL]a@b.example");
    sr_buf_free(&out);
    sr_redactor_free(r);
}
END_TEST

static Suite *redact_suite(void)
{
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("builtins");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_builtin_table, 0, (int)SR_ARRAY_SIZE(bcases));
    tcase_add_test(tc, test_builtin_names);
    tcase_add_test(tc, test_builtins_long_benign_input);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("hints");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_hints_match_plain_search, 0, (int)SR_ARRAY_SIZE(diff_sets));
    tcase_add_test(tc, test_hints_long_fields);
    tcase_add_test(tc, test_deciders_edges);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("custom");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_capture_last_four);
    tcase_add_test(tc, test_capture_named_and_dollar);
    tcase_add_test(tc, test_rule_order);
    tcase_add_test(tc, test_overlapping_builtins);
    tcase_add_test(tc, test_user_replacement_overrides_builtin);
    tcase_add_test(tc, test_utf8_around_secrets);
    tcase_add_test(tc, test_invalid_utf8_still_redacts);
    tcase_add_test(tc, test_string_appends);
    suite_add_tcase(s, tc);

    tc = tcase_create("records");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_record_everywhere);
    tcase_add_test(tc, test_record_unchanged_keeps_text);
    tcase_add_test(tc, test_record_fields_only);
    tcase_add_test(tc, test_record_text_grows);
    tcase_add_test(tc, test_record_fields_match_full);
    tcase_add_test(tc, test_record_raw_format);
    tcase_add_test(tc, test_inputs_filter);
    tcase_add_test(tc, test_fields_filter);
    tcase_add_test(tc, test_many_sd_params);
    suite_add_tcase(s, tc);

    tc = tcase_create("fail_closed");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_fail_closed_string);
    tcase_add_test(tc, test_fail_closed_default_limit);
    tcase_add_test(tc, test_fail_closed_record);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_config_errors, 0, (int)SR_ARRAY_SIZE(ecases));
    tcase_add_test(tc, test_config_empty_and_null);
    tcase_add_test(tc, test_metrics_registered_at_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(redact_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
