/*
 * metrics.c: the metric registry and its Prometheus text (see metrics.h).
 *
 * Families and series live in small arrays guarded by one mutex, used only
 * when a series is looked up (setup time) and when /metrics is rendered.
 * Series values are atomics updated lock-free from any thread. Series are
 * allocated individually, so a pointer handed out stays valid.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"

typedef struct series_s {
    sr_metric_t m;
    char *label_value;
    struct series_s *next;
} series_t;

typedef struct family_s {
    char *name;
    char *label;
    char *help;
    sr_metric_type_t type;
    series_t *first;
    series_t **tail;
} family_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static family_t *families;
static size_t n_families;

static family_t *find_family(const char *name)
{
    size_t i;

    for (i = 0; i < n_families; i++) {
        if (strcmp(families[i].name, name) == 0) {
            return &families[i];
        }
    }
    return NULL;
}

void sr_metrics_family(const char *name, sr_metric_type_t type, const char *label, const char *help)
{
    family_t *f;

    pthread_mutex_lock(&lock);
    if (find_family(name) == NULL) {
        families = sr_realloc(families, (n_families + 1) * sizeof(*families));
        f = &families[n_families++];
        f->name = sr_strdup(name);
        f->label = sr_strdup(label);
        f->help = sr_strdup(help);
        f->type = type;
        f->first = NULL;
        f->tail = NULL;
    }
    pthread_mutex_unlock(&lock);
}

void sr_metrics_init(void)
{
    sr_metrics_family(SR_M_INPUT_MESSAGES, SR_METRIC_COUNTER, "input",
                      "Messages received, per input.");
    sr_metrics_family(SR_M_INPUT_BYTES, SR_METRIC_COUNTER, "input",
                      "Bytes of messages received, per input.");
    sr_metrics_family(SR_M_INPUT_CONNECTIONS, SR_METRIC_GAUGE, "input",
                      "Open connections, per stream input.");
    sr_metrics_family(SR_M_PARSE_ERRORS, SR_METRIC_COUNTER, "input",
                      "Messages neither parser accepted, relayed as raw records.");
    sr_metrics_family(SR_M_REDACTIONS, SR_METRIC_COUNTER, "rule",
                      "Replacements made by each redaction rule.");
    sr_metrics_family(SR_M_OUTPUT_MESSAGES, SR_METRIC_COUNTER, "output",
                      "Records delivered, per output.");
    sr_metrics_family(SR_M_OUTPUT_ERRORS, SR_METRIC_COUNTER, "output",
                      "Delivery failures (each retried or given up), per output.");
    sr_metrics_family(SR_M_OUTPUT_QUEUE, SR_METRIC_GAUGE, "output",
                      "Records waiting in the output's queue, in flight included.");
    sr_metrics_family(SR_M_DROPPED, SR_METRIC_COUNTER, "reason",
                      "Records dropped, by reason.");
    sr_metrics_family(SR_M_INPUT_TRUNCATED, SR_METRIC_COUNTER, "input",
                      "Messages longer than max_message_size, truncated.");
    sr_metrics_family(SR_M_INPUT_REJECTED, SR_METRIC_COUNTER, "reason",
                      "Connections refused or closed by the relay, by reason.");
    sr_metrics_family(SR_M_OUTPUT_QUEUE_BYTES, SR_METRIC_GAUGE, "output",
                      "Bytes held by the output's queue.");
    sr_metrics_family(SR_M_REDACTION_FAILURES, SR_METRIC_COUNTER, "rule",
                      "Fields replaced by the fail-closed marker after a match limit.");
}

sr_metric_t *sr_metric(const char *family, const char *label_value)
{
    family_t *f;
    series_t *s;

    pthread_mutex_lock(&lock);
    f = find_family(family);
    if (f == NULL) {
        pthread_mutex_unlock(&lock);
        fprintf(stderr, "error syslog-relay: metric family %s is not registered\n", family);
        abort();
    }
    for (s = f->first; s != NULL; s = s->next) {
        if (strcmp(s->label_value, label_value) == 0) {
            pthread_mutex_unlock(&lock);
            return &s->m;
        }
    }
    s = sr_calloc(1, sizeof(*s));
    atomic_init(&s->m.value, 0);
    s->label_value = sr_strdup(label_value);
    if (f->tail == NULL) {
        f->first = s;
    } else {
        *f->tail = s;
    }
    f->tail = &s->next;
    pthread_mutex_unlock(&lock);
    return &s->m;
}

/* Label values are escaped per the text format: backslash, quote, LF. */
static void put_label_value(sr_buf_t *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            sr_buf_putc(out, '\\');
            sr_buf_putc(out, *v);
        } else if (*v == '\n') {
            sr_buf_puts(out, "\\n");
        } else {
            sr_buf_putc(out, *v);
        }
    }
}

void sr_metrics_render(sr_buf_t *out)
{
    size_t i;
    series_t *s;

    pthread_mutex_lock(&lock);
    for (i = 0; i < n_families; i++) {
        family_t *f = &families[i];

        sr_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                      f->type == SR_METRIC_GAUGE ? "gauge" : "counter");
        for (s = f->first; s != NULL; s = s->next) {
            sr_buf_printf(out, "%s{%s=\"", f->name, f->label);
            put_label_value(out, s->label_value);
            sr_buf_printf(out, "\"} %lld\n", (long long)sr_metric_get(&s->m));
        }
    }
    pthread_mutex_unlock(&lock);
}

void sr_metrics_reset(void)
{
    size_t i;
    series_t *s, *next;

    pthread_mutex_lock(&lock);
    for (i = 0; i < n_families; i++) {
        for (s = families[i].first; s != NULL; s = next) {
            next = s->next;
            free(s->label_value);
            free(s);
        }
        free(families[i].name);
        free(families[i].label);
        free(families[i].help);
    }
    free(families);
    families = NULL;
    n_families = 0;
    pthread_mutex_unlock(&lock);
}
