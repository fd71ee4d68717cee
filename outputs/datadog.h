/*
 * datadog.h: what datadog.c, datadog_http.c and the unit test share.
 *
 * The Datadog output has two transports. syslog-tls (datadog.c) keeps one
 * TLS connection to the site's TCP intake and writes one
 * "<API_KEY> <RFC 5424 line>\n" per record. https (datadog_http.c) POSTs
 * gzip'ed JSON arrays to /api/v2/logs through libcurl's multi interface,
 * driven by the output's libuv loop. Nothing here is for other modules:
 * the output is reached only through the descriptor sr_output_datadog.
 * Everything runs on the output's loop thread.
 */
#ifndef SR_OUTPUTS_DATADOG_H
#define SR_OUTPUTS_DATADOG_H

#include "output.h"
#include "../relay/format.h"
#include "../relay/log.h"
#include "../relay/metrics.h"

/* The drop reason for batches Datadog answered 400, 401, 403 or 413. */
#define SR_DD_REASON_REJECTED "datadog_rejected"
/* Appended to a message cut at max_message_size. */
#define SR_DD_TRUNC_MARKER "...[TRUNCATED]"
/* The metric family counting truncated records, label output. */
#define SR_DD_M_TRUNCATED "syslog_relay_output_truncated_total"
/* Datadog's HTTP intake limits per request. */
#define SR_DD_HTTP_MAX_ENTRIES 1000
#define SR_DD_HTTP_MAX_BYTES (5u * 1000u * 1000u)

typedef enum sr_dd_transport_e {
    SR_DD_SYSLOG_TLS = 0,
    SR_DD_HTTPS,
} sr_dd_transport_t;

/* One Datadog site. tcp_host is NULL where Datadog documents no usable
 * TCP (TLS) intake for custom forwarders. */
typedef struct sr_dd_site_s {
    const char *site;  /* the `site` value, e.g. "datadoghq.com" */
    const char *label; /* Datadog's short name, e.g. "US1" (also accepted) */
    const char *tcp_host;
    int tcp_port;
    const char *http_host;
} sr_dd_site_t;

/* The output's own keys (filled by the key table, then check()). */
typedef struct sr_dd_conf_s {
    char *api_key;
    int transport; /* sr_dd_transport_t */
    char *site;
    char *host;
    int64_t port;
    char *ca_file;
    char *service;
    char *source;
    sr_strlist_t tags;
    uint64_t max_message_size;
    bool compression;
    uint64_t timeout_ms;
    uint64_t idle_timeout_ms;
    /* Built by check(): */
    const sr_dd_site_t *site_info;
    struct sr_tls_ctx_s *tls; /* syslog-tls only; freed by conf_free */
} sr_dd_conf_t;

struct sr_dd_http_s;
struct sr_conn_s;

/* The instance. The core allocates desc->inst_size bytes, zeroed. */
typedef struct sr_dd_out_s {
    sr_output_t base;
    const sr_dd_conf_t *conf;
    char *host; /* where we connect */
    int port;
    char *metas;      /* "[metas ...]" or NULL */
    sr_metric_t *truncated;
    sr_ratelimit_t rl;
    sr_buf_t buf;     /* scratch for lines and JSON */
    bool stopping;
    void (*stop_done)(sr_output_t *o);

    /* syslog-tls */
    struct sr_conn_s *conn;
    int state;          /* DD_DISCONNECTED, DD_CONNECTING, DD_CONNECTED */
    uint32_t inflight;  /* batches written, callback not yet run */
    bool want_ready;    /* told the core SR_EBUSY; call sr_output_ready */
    uint64_t conns;     /* connections made, for log lines */
    uint64_t conn_writes; /* writes completed on the current connection */
    bool timers_closing;
    uv_timer_t idle_timer;
    uv_timer_t stop_timer;
    int open_timers;

    /* https */
    struct sr_dd_http_s *http;
} sr_dd_out_t;

/* The site with this name ("datadoghq.eu") or label ("EU1"), any case;
 * NULL if unknown. */
const sr_dd_site_t *sr_dd_site_find(const char *name);
/* ", "-separated list of every valid site value, for messages. */
const char *sr_dd_site_list(void);

/*
 * Check an API key's form: 32 hexadecimal characters. Returns 0, or
 * SR_ECONFIG with *why set to a static message that never contains the
 * key.
 */
int sr_dd_key_check(const char *key, const char **why);

/* Append s[0..n) escaped as an RFC 5424 PARAM-VALUE: '"', '\' and ']'
 * get a backslash. */
void sr_dd_sd_escape(sr_buf_t *out, const char *s, size_t n);

/* The [metas ddsource="..." ddtags="a,b"] element for source and tags
 * (either may be empty), or NULL when both are. Caller frees. */
char *sr_dd_metas(const char *source, const sr_strlist_t *tags);

/*
 * Append one syslog-tls line for r: key, a space, the RFC 5424 line
 * (opts as given), LF. CR and LF inside the line become the two
 * characters "\r" and "\n", so the only LF is the last byte. When the
 * RFC 5424 line is longer than max bytes it is cut (on a UTF-8 character
 * boundary) so that with SR_DD_TRUNC_MARKER appended it is at most max.
 * Returns true when it cut.
 */
bool sr_dd_tls_line(const char *key, const sr_rfc5424_opts_t *opts, size_t max,
                    const sr_record_t *r, sr_buf_t *out);

/* Datadog's status name for a syslog severity (0 "emergency" .. 7
 * "debug"). */
const char *sr_dd_status(int severity);

/*
 * Append one HTTPS log entry (a JSON object) for r: ddsource, ddtags and
 * service when set, hostname, status, message (cut to max bytes with the
 * marker), and "syslog": the record as format: json writes it, with an
 * empty message (the message is the top-level one). Returns true when it
 * cut the message.
 */
bool sr_dd_http_entry(const sr_dd_conf_t *c, const char *tags_csv, size_t max,
                      const sr_record_t *r, sr_buf_t *out);

/* gzip (RFC 1952) p[0..n) into out (appended). 0 or SR_ELIMIT. */
int sr_dd_gzip(const char *p, size_t n, int level, sr_buf_t *out);

/* The https transport (datadog_http.c); the same contracts as the
 * descriptor's start / submit / stop. stop calls sr_dd_stopped(d) once
 * every handle is closed. */
int sr_dd_http_start(sr_dd_out_t *d);
int sr_dd_http_submit(sr_dd_out_t *d, sr_batch_t *b);
void sr_dd_http_stop(sr_dd_out_t *d);
void sr_dd_http_destroy(sr_dd_out_t *d);
void sr_dd_stopped(sr_dd_out_t *d);

#endif
