/*
 * bench_redact.c: redaction throughput, in records per second.
 *
 * A fixed corpus of syslog lines (RFC 5424 with structured data, RFC 3164
 * and unparsable raw lines; about half carry a secret) is parsed into
 * records in batches, outside the timed section; only sr_redact_record()
 * is timed, twice over: with the plain unanchored PCRE2 search and with
 * the built-ins' candidate-start hints (relay/redact.c), batch by batch in
 * turn so that both see the same machine load. Rule sets: none;
 * credit_card + email on the relay benchmark's own lines (compare.sh,
 * scenario `redact`: 300 bytes, each with one card number and one e-mail
 * address, padded with 'P'), as records and as their MSG text alone
 * through sr_redact_string() (what a record costs when its raw line is
 * not redacted again); then, on the mixed corpus, the whole built-in
 * library, ten custom rules, and both together. Not a test: numbers
 * depend on the machine; docs/redaction.md records a run and the command.
 *
 *   bench_redact [SECONDS_PER_SET [SET]]   (default 2 s, every set)
 *
 * SET runs only the rule sets whose label starts with it (for perf).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "config/internal.h"
#include "parsers/parser.h"
#include "relay/metrics.h"
#include "relay/redact.h"

static const char *const corpus[] = {
    "<165>1 2026-11-21T22:14:15.003Z web-01.example.net api 8710 REQ "
    "[req@32473 method=\"POST\" path=\"/v1/login\" status=\"200\"] "
    "login ok user=alice@example.com from 203.0.113.7 password=hunter2",
    "<165>1 2026-11-21T22:14:15.004Z web-01.example.net api 8710 REQ "
    "[req@32473 method=\"GET\" path=\"/v1/items\" status=\"200\"] "
    "GET /v1/items?page=2 200 1532 bytes in 12 ms",
    "<134>1 2026-11-21T22:14:16.120Z pay-02 checkout 4411 PAY - "
    "charge approved for card 4111 1111 1111 1111 amount 129.99 EUR order 88231",
    "<134>1 2026-11-21T22:14:16.121Z pay-02 checkout 4411 PAY - "
    "order 1234567890123456 shipped to warehouse 7, tracking 9400110200881234567890",
    "<38>Nov 21 22:14:17 bastion sshd[2211]: Accepted publickey for deploy from 198.51.100.23 "
    "port 52514 ssh2: ED25519 SHA256:Gx1bq2lZc9mJf7Qe",
    "<38>Nov 21 22:14:17 bastion sshd[2211]: pam_unix(sshd:session): session opened for user "
    "deploy by (uid=0)",
    "<14>1 2026-11-21T22:14:18Z worker-7 jobs 99 - [auth@1 token=\"eyJhbGciOiJIUzI1NiJ9."
    "eyJzdWIiOiJqb2IifQ.c2lnbmF0dXJl\"] calling upstream with Authorization: Bearer "
    "abc123.def456.ghi789",
    "<14>1 2026-11-21T22:14:18Z worker-7 jobs 99 - - job 4412 finished in 2.31 s, 0 retries, "
    "queue depth 17",
    "<11>1 2026-11-21T22:14:19Z ci-runner deploy 1 - - using "
    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE "
    "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY region eu-west-1",
    "<11>1 2026-11-21T22:14:19Z ci-runner deploy 1 - - uploaded artifact build-2291.tar.gz "
    "(48213 bytes), sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "<30>Nov 21 22:14:20 lb01 haproxy[812]: 2001:db8::42:51234 [21/Nov/2026:22:14:20.101] "
    "fe be/srv1 0/0/1/3/4 200 512 - - ---- 12/12/0/0/0 0/0 \"GET /health HTTP/1.1\"",
    "<30>Nov 21 22:14:20 lb01 haproxy[812]: Server be/srv2 is UP, reason: Layer4 check passed, "
    "check duration: 0ms. 2 active and 0 backup servers online.",
    "this line is not syslog at all but it mentions {\"password\":\"s3cr3t\",\"user\":\"bob\"}",
    "another unparsable line with version 1.2.3.4.5 and nothing secret in it whatsoever",
};

/* Ten custom rules of the kinds operators write. */
static const char custom10[] =
    "- name: ssn\n  pattern: '\\b\\d{3}-\\d{2}-\\d{4}\\b'\n"
    "- name: iban\n  pattern: '\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){3,7}\\b'\n"
    "- name: phone\n  pattern: '\\+\\d{1,3}[ -]?\\(?\\d{2,4}\\)?[ -]?\\d{3,4}[ -]?\\d{3,4}'\n"
    "- name: session\n  pattern: '(?i)(session(?:_?id)?=)[0-9a-f]{16,}'\n"
    "  replacement: '$1[SESSION]'\n"
    "- name: github\n  pattern: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b'\n"
    "- name: slack\n  pattern: '\\bxox[abprs]-[A-Za-z0-9-]{10,}'\n"
    "- name: stripe\n  pattern: '\\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}'\n"
    "- name: card4\n  pattern: '\\b(?:\\d[ -]?){12}(\\d{4})\\b'\n"
    "  replacement: 'XXXX-XXXX-XXXX-$1'\n"
    "- name: userpath\n  pattern: '/home/[a-z_][a-z0-9_-]*'\n  replacement: /home/USER\n"
    "- name: private\n  pattern: '-----BEGIN [A-Z ]*PRIVATE KEY-----'\n";

/* The relay benchmark's redaction lines (compare.sh writes the same text
 * with loggen's RFC 5424 header): 4 cards x 4 addresses, 300 bytes each. */
#define CARDMAIL_LINES 64
#define CARDMAIL_SIZE 300
static const char *const cards[] = {"4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009",
                                    "6011000000000004"};
static const char *const mails[] = {"jane.doe@example.com", "bob+billing@example.org",
                                    "ops@mail.example.net", "x.y@corp.example.io"};
static char cardmail_text[CARDMAIL_LINES][CARDMAIL_SIZE + 1];
static const char *cardmail[CARDMAIL_LINES];
static const char *cardmail_msg[CARDMAIL_LINES]; /* their MSG parts */

static const char cardmail2[] = "- builtin: credit_card\n- builtin: email\n";

static const char builtin9[] = "- builtin: credit_card\n- builtin: email\n- builtin: ipv4\n"
                               "- builtin: ipv6\n- builtin: aws_access_key_id\n"
                               "- builtin: aws_secret_access_key\n- builtin: bearer_token\n"
                               "- builtin: jwt\n- builtin: password_kv\n";

#define BATCH 1024

static char *names[] = {"bench"};

static sr_redactor_t *load(const char *yaml)
{
    sr_cfg_ctx_t ctx;
    sr_node_t *root = NULL;
    sr_redactor_t *r = NULL;

    if (yaml == NULL) {
        return NULL;
    }
    sr_cfg_ctx_init(&ctx, "bench");
    if (sr__yaml_parse(&ctx, yaml, strlen(yaml), &root) != 0 ||
        sr_redactor_load(&ctx, root, names, 1, &r) != 0) {
        fprintf(stderr, "bench_redact: %s\n", ctx.n_errors ? ctx.errors[0] : "load failed");
        exit(1);
    }
    sr__node_free(root);
    sr_cfg_ctx_free(&ctx);
    return r;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_cardmail(void)
{
    size_t i;
    int n;

    for (i = 0; i < CARDMAIL_LINES; i++) {
        n = snprintf(cardmail_text[i], sizeof(cardmail_text[i]),
                     "<38>1 2026-11-21T12:00:00+00:00 bench%02zu loggen 1234 - - order %zu paid by "
                     "%s with card %s, total 19.99 EUR ",
                     i % 8, i, mails[i % 4], cards[i / 4 % 4]);
        memset(cardmail_text[i] + n, 'P', (size_t)(CARDMAIL_SIZE - n));
        cardmail_text[i][CARDMAIL_SIZE] = '\0';
        cardmail[i] = cardmail_text[i];
        cardmail_msg[i] = strstr(cardmail_text[i], "order");
    }
}

static const char *only; /* run only sets whose label starts with this */

/* sr_redact_record (raw line too) or sr_redact_record_fields (what the
 * relay runs when no output writes raw lines). */
typedef int (*redact_fn)(const sr_redactor_t *, sr_redact_scratch_t *, sr_record_t *);

/* One search mode's totals. */
typedef struct tally_s {
    double spent;
    uint64_t n, bytes, changed;
} tally_t;

/* Parse BATCH lines (untimed), redact them (timed), count, release. */
static void batch(redact_fn fn, const sr_redactor_t *r, sr_redact_scratch_t *s,
                  const char *const *lines, size_t n_lines, size_t *k, tally_t *t)
{
    sr_record_t *recs[BATCH];
    sr_parse_ctx_t pctx = {0, NULL};
    double t0;
    size_t i;
    const char *line;

    for (i = 0; i < BATCH; i++, (*k)++) {
        line = lines[*k % n_lines];
        recs[i] = sr_record_create(line, strlen(line));
        sr_parse_record(recs[i], SR_PARSE_AUTO, &pctx);
        t->bytes += recs[i]->raw.len;
    }
    t0 = now_s();
    for (i = 0; i < BATCH; i++) {
        fn(r, s, recs[i]);
    }
    t->spent += now_s() - t0;
    for (i = 0; i < BATCH; i++) {
        t->changed += (recs[i]->flags & SR_REC_REDACTED) != 0;
        sr_record_release(recs[i]);
    }
    t->n += BATCH;
}

static void row(const char *label, const char *mode, const tally_t *t, const tally_t *ref)
{
    char ratio[16] = "";

    if (ref != NULL) {
        snprintf(ratio, sizeof(ratio), "%.2fx",
                 ((double)t->n / t->spent) / ((double)ref->n / ref->spent));
    }
    printf("| %-22s | %-6s | %12.0f | %8.1f | %8.1f | %5.1f%% | %8s |\n", label, mode,
           (double)t->n / t->spent, t->spent / (double)t->n * 1e9,
           (double)t->bytes / t->spent / 1e6, 100.0 * (double)t->changed / (double)t->n, ratio);
}

/*
 * Time one rule set both ways, the plain unanchored search and the
 * candidate-start hints, alternating batch by batch on the same lines so
 * that both see the same machine load.
 */
static void run(const char *label, redact_fn fn, const char *yaml, const char *const *lines,
                size_t n_lines, double seconds)
{
    sr_redactor_t *r;
    sr_redact_scratch_t *plain = NULL, *hints = NULL;
    tally_t tp = {0}, th = {0};
    size_t kp = 0, kh = 0;

    if (only != NULL && strncmp(label, only, strlen(only)) != 0) {
        return;
    }
    r = load(yaml);
    if (r != NULL) {
        plain = sr_redact_scratch_create(r);
        hints = sr_redact_scratch_create(r);
        sr_redact_scratch_set_hints(plain, false);
    }
    while (tp.spent < seconds || th.spent < seconds) {
        batch(fn, r, plain, lines, n_lines, &kp, &tp);
        batch(fn, r, hints, lines, n_lines, &kh, &th);
    }
    row(label, "plain", &tp, NULL);
    row(label, "hints", &th, &tp);
    sr_redact_scratch_free(plain);
    sr_redact_scratch_free(hints);
    sr_redactor_free(r);
}

/* Time BATCH messages through sr_redact_string() (message text only). */
static void batch_strings(const sr_redactor_t *r, sr_redact_scratch_t *s, sr_buf_t *out, size_t *k,
                          tally_t *t)
{
    double t0 = now_s();
    size_t i;
    const char *m;
    int changed = 0;

    for (i = 0; i < BATCH; i++, (*k)++) {
        m = cardmail_msg[*k % CARDMAIL_LINES];
        sr_buf_reset(out);
        changed += sr_redact_string(r, s, m, strlen(m), out) > 0;
        t->bytes += strlen(m);
    }
    t->spent += now_s() - t0;
    t->changed += (uint64_t)changed;
    t->n += BATCH;
}

/* As run(), but only the message text of the card+email lines, through
 * sr_redact_string(): the cost once the raw line is not redacted again. */
static void run_messages(const char *label, double seconds)
{
    sr_redactor_t *r;
    sr_redact_scratch_t *plain, *hints;
    tally_t tp = {0}, th = {0};
    size_t kp = 0, kh = 0;
    sr_buf_t out;

    if (only != NULL && strncmp(label, only, strlen(only)) != 0) {
        return;
    }
    sr_buf_init(&out);
    r = load(cardmail2);
    plain = sr_redact_scratch_create(r);
    hints = sr_redact_scratch_create(r);
    sr_redact_scratch_set_hints(plain, false);
    while (tp.spent < seconds || th.spent < seconds) {
        batch_strings(r, plain, &out, &kp, &tp);
        batch_strings(r, hints, &out, &kh, &th);
    }
    row(label, "plain", &tp, NULL);
    row(label, "hints", &th, &tp);
    sr_redact_scratch_free(plain);
    sr_redact_scratch_free(hints);
    sr_redactor_free(r);
    sr_buf_free(&out);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    char *both;
    uint32_t jit = 0;

    if (seconds <= 0) {
        fprintf(stderr, "usage: bench_redact [SECONDS_PER_SET [SET]]\n");
        return 2;
    }
    only = argc > 2 ? argv[2] : NULL;
    sr_metrics_init();
    pcre2_config(PCRE2_CONFIG_JIT, &jit);
    both = sr_asprintf("%s%s", builtin9, custom10);
    make_cardmail();
    printf("corpora: card+email %d lines of %d bytes; mixed %zu lines (about half with "
           "secrets)\n%.1f s per set and search, PCRE2 JIT %s\n\n",
           CARDMAIL_LINES, CARDMAIL_SIZE, SR_ARRAY_SIZE(corpus), seconds, jit ? "on" : "off");
    printf("| %-22s | %-6s | %12s | %8s | %8s | %6s | %8s |\n", "rules", "search", "records/s",
           "ns/rec", "MB/s", "masked", "vs plain");
    printf("|------------------------|--------|--------------|----------|----------|--------|"
           "----------|\n");
    run("none", sr_redact_record, NULL, corpus, SR_ARRAY_SIZE(corpus), seconds);
    run("card+email (2)", sr_redact_record, cardmail2, cardmail, CARDMAIL_LINES, seconds);
    run("card+email, fields", sr_redact_record_fields, cardmail2, cardmail, CARDMAIL_LINES,
        seconds);
    run_messages("card+email, MSG only", seconds);
    run("built-in (9)", sr_redact_record, builtin9, corpus, SR_ARRAY_SIZE(corpus), seconds);
    run("custom (10)", sr_redact_record, custom10, corpus, SR_ARRAY_SIZE(corpus), seconds);
    run("built-in + custom (19)", sr_redact_record, both, corpus, SR_ARRAY_SIZE(corpus), seconds);
    sr_free(both);
    return 0;
}
