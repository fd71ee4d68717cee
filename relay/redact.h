/*
 * redact.h: PCRE2 redaction rules applied to every record before any
 * output, format or log line sees it.
 *
 * The `redact:` section is a sequence of rules, each either a custom
 * pattern (name, pattern, replacement) or a built-in (builtin: NAME,
 * optional replacement), with optional `fields` (message,
 * structured_data, hostname, app_name; default message and
 * structured_data) and `inputs` (names; default all). Rules apply in
 * order. Patterns are compiled once, JIT where available, with match and
 * depth limits. A match that hits a limit fails closed: the whole field
 * becomes SR_REDACT_FAILED_MARKER and the event is counted.
 *
 * A compiled sr_redactor_t is immutable and shared by every worker
 * thread; each thread brings its own sr_redact_scratch_t (PCRE2 match
 * data and buffers), so the hot path allocates nothing in steady state.
 */
#ifndef SR_REDACT_H
#define SR_REDACT_H

#include "../config/config.h"
#include "record.h"

#define SR_REDACT_FAILED_MARKER "[REDACTION-FAILED]"

typedef struct sr_redactor_s sr_redactor_t;
typedef struct sr_redact_scratch_s sr_redact_scratch_t;

/*
 * Build a redactor from the `redact:` sequence node. Errors (unknown key,
 * unknown builtin, a pattern PCRE2 refuses: rule name, offset and PCRE2's
 * reason) go to ctx. `inputs` names are checked against the configured
 * inputs (input_names[0..n_inputs)). Returns 0 and *out (NULL when the
 * sequence is empty), or SR_ECONFIG.
 */
int sr_redactor_load(sr_cfg_ctx_t *ctx, const sr_node_t *seq, char *const *input_names,
                     size_t n_inputs, sr_redactor_t **out);
void sr_redactor_free(sr_redactor_t *r);

sr_redact_scratch_t *sr_redact_scratch_create(const sr_redactor_t *r);
/* Counts syslog_relay_redactions_total{rule} are kept in the scratch and
 * added to the metrics here (and when the scratch is freed): a worker
 * flushes once per handover of its records. */
void sr_redact_scratch_flush(sr_redact_scratch_t *s);
void sr_redact_scratch_free(sr_redact_scratch_t *s);

/* For tests and benchmarks only. Some built-ins find their match starts
 * with a C scan and run PCRE2 anchored there; off, every rule runs the
 * plain unanchored search, the reference both must agree with. On by
 * default. Per scratch, so per thread. */
void sr_redact_scratch_set_hints(sr_redact_scratch_t *s, bool on);

/*
 * Apply every rule that covers rec->input_id to the record's fields, and
 * to rec->raw (the whole received line, for the raw format). When
 * anything changed, the record gets a new text buffer (sr_record_set_text)
 * and SR_REC_REDACTED. Counts syslog_relay_redactions_total{rule} (in the
 * scratch, until sr_redact_scratch_flush).
 * Returns the number of replacements made.
 */
int sr_redact_record(const sr_redactor_t *r, sr_redact_scratch_t *s, sr_record_t *rec);

/*
 * As sr_redact_record, for a relay none of whose outputs writes raw
 * lines: the raw line is not redacted but removed (rec->raw becomes
 * absent), so no unredacted copy of it stays in the record. For a parsed
 * record this halves the work: its message is most of its line.
 */
int sr_redact_record_fields(const sr_redactor_t *r, sr_redact_scratch_t *s, sr_record_t *rec);

/* Apply the rules to a plain string (tests, benchmarks, and the relay's
 * own log lines). Result in out. Returns replacements made. */
int sr_redact_string(const sr_redactor_t *r, sr_redact_scratch_t *s, const char *p, size_t n,
                     sr_buf_t *out);

/* The keys of one rule (for the configuration reference). */
extern const sr_cfg_key_t sr_redact_rule_keys[];

/* Names of the built-in rules, NULL-terminated (for docs and --check). */
extern const char *const sr_redact_builtin_names[];

#endif
