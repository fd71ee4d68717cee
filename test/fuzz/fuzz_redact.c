/*
 * fuzz_redact.c: libFuzzer target for the built-in rules' candidate-start
 * hints (relay/redact.c).
 *
 * Each input is one string. It is redacted by five rule sets (each hinted
 * built-in alone: credit_card, email, ipv4, ipv6; and the whole built-in
 * library), each time with the hints and with the plain unanchored PCRE2
 * search. Both must give the
 * same bytes and the same number of replacements; any difference
 * abort()s. The rule sets are loaded once, through the real YAML loader.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config/internal.h"
#include "relay/metrics.h"
#include "relay/redact.h"

static const char *const sets[] = {
    "- builtin: credit_card\n",
    "- builtin: email\n",
    "- builtin: ipv4\n",
    "- builtin: ipv6\n",
    "- builtin: password_kv\n",
    "- builtin: credit_card\n- builtin: email\n- builtin: ipv4\n- builtin: ipv6\n"
    "- builtin: aws_access_key_id\n- builtin: aws_secret_access_key\n"
    "- builtin: bearer_token\n- builtin: jwt\n- builtin: password_kv\n",
};

#define N_SETS (sizeof(sets) / sizeof(sets[0]))

static sr_redactor_t *rules[N_SETS];
static sr_redact_scratch_t *with[N_SETS], *without[N_SETS];
static sr_buf_t a, b;

static sr_redactor_t *load(const char *yaml)
{
    sr_cfg_ctx_t ctx;
    sr_node_t *root = NULL;
    sr_redactor_t *r = NULL;

    sr_cfg_ctx_init(&ctx, "fuzz");
    if (sr__yaml_parse(&ctx, yaml, strlen(yaml), &root) != 0 ||
        sr_redactor_load(&ctx, root, NULL, 0, &r) != 0 || r == NULL) {
        fprintf(stderr, "fuzz_redact: cannot load the rules\n");
        abort();
    }
    sr__node_free(root);
    sr_cfg_ctx_free(&ctx);
    return r;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    size_t i;

    (void)argc;
    (void)argv;
    sr_metrics_init();
    for (i = 0; i < N_SETS; i++) {
        rules[i] = load(sets[i]);
        with[i] = sr_redact_scratch_create(rules[i]);
        without[i] = sr_redact_scratch_create(rules[i]);
        sr_redact_scratch_set_hints(without[i], false);
    }
    sr_buf_init(&a);
    sr_buf_init(&b);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;
    int ca, cb;

    for (i = 0; i < N_SETS; i++) {
        sr_buf_reset(&a);
        sr_buf_reset(&b);
        ca = sr_redact_string(rules[i], with[i], (const char *)data, size, &a);
        cb = sr_redact_string(rules[i], without[i], (const char *)data, size, &b);
        if (ca != cb || a.len != b.len || (a.len > 0 && memcmp(a.base, b.base, a.len) != 0)) {
            fprintf(stderr, "fuzz_redact: set %zu: hints %d [%.*s], plain %d [%.*s]\n", i, ca,
                    (int)a.len, a.base, cb, (int)b.len, b.base);
            abort();
        }
    }
    return 0;
}
