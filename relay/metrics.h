/*
 * metrics.h: the relay's counters and gauges, and their Prometheus text.
 *
 * A family (name, type, one label name, help) is registered once; a series
 * is one label value of a family, created on first lookup and never freed
 * until sr_metrics_reset(). Lookups take a lock and belong at setup time:
 * modules keep the sr_metric_t pointer and update it lock-free from any
 * thread. Every family prints its # HELP and # TYPE lines from start-up
 * on, even before it has a series.
 */
#ifndef SR_METRICS_H
#define SR_METRICS_H

#include <stdatomic.h>
#include "common.h"

typedef struct sr_metric_s {
    _Atomic int64_t value;
} sr_metric_t;

/* The families INTERFACE.md fixes (registered by sr_metrics_init). */
#define SR_M_INPUT_MESSAGES "syslog_relay_input_messages_total"
#define SR_M_INPUT_BYTES "syslog_relay_input_bytes_total"
#define SR_M_INPUT_CONNECTIONS "syslog_relay_input_connections"
#define SR_M_PARSE_ERRORS "syslog_relay_parse_errors_total"
#define SR_M_REDACTIONS "syslog_relay_redactions_total"
#define SR_M_OUTPUT_MESSAGES "syslog_relay_output_messages_total"
#define SR_M_OUTPUT_ERRORS "syslog_relay_output_errors_total"
#define SR_M_OUTPUT_QUEUE "syslog_relay_output_queue_messages"
#define SR_M_DROPPED "syslog_relay_dropped_messages_total"
/* Additions. */
#define SR_M_INPUT_TRUNCATED "syslog_relay_input_truncated_total"
#define SR_M_INPUT_REJECTED "syslog_relay_input_rejected_connections_total" /* label reason */
#define SR_M_OUTPUT_QUEUE_BYTES "syslog_relay_output_queue_bytes"
#define SR_M_REDACTION_FAILURES "syslog_relay_redaction_failures_total" /* label rule */

typedef enum sr_metric_type_e {
    SR_METRIC_COUNTER = 0,
    SR_METRIC_GAUGE,
} sr_metric_type_t;

/* Register the fixed families. Idempotent. */
void sr_metrics_init(void);

/* Register a family; idempotent for the same name. */
void sr_metrics_family(const char *name, sr_metric_type_t type, const char *label, const char *help);

/* The series of `family` with this label value; created at 0 if new.
 * The family must be registered. Never returns NULL. */
sr_metric_t *sr_metric(const char *family, const char *label_value);

static inline void sr_metric_add(sr_metric_t *m, int64_t n) {
    atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}
static inline void sr_metric_set(sr_metric_t *m, int64_t v) {
    atomic_store_explicit(&m->value, v, memory_order_relaxed);
}
static inline int64_t sr_metric_get(const sr_metric_t *m) {
    return atomic_load_explicit(&m->value, memory_order_relaxed);
}

/* Append every family in the Prometheus text format (version 0.0.4). */
void sr_metrics_render(sr_buf_t *out);

/* Forget every series and family (tests). */
void sr_metrics_reset(void);

#endif
