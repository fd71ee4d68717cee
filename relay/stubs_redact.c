/* PLACEHOLDER until relay/redact.c exists: delete this file then. */
#include "redact.h"
const char *const sr_redact_builtin_names[] = {NULL};
int sr_redactor_load(sr_cfg_ctx_t *ctx, const sr_node_t *seq, char *const *input_names,
                     size_t n_inputs, sr_redactor_t **out) { *out = NULL; return 0; }
void sr_redactor_free(sr_redactor_t *r) {}
sr_redact_scratch_t *sr_redact_scratch_create(const sr_redactor_t *r) { return NULL; }
void sr_redact_scratch_free(sr_redact_scratch_t *s) {}
int sr_redact_record(const sr_redactor_t *r, sr_redact_scratch_t *s, sr_record_t *rec) { return 0; }
int sr_redact_string(const sr_redactor_t *r, sr_redact_scratch_t *s, const char *p, size_t n,
                     sr_buf_t *out) { sr_buf_append(out, p, n); return 0; }
