/*
 * datadog.c: the Datadog output (type: datadog), its configuration, the
 * pieces both transports share, and the syslog-tls transport.
 *
 * syslog-tls keeps one sr_conn_t (TLS, SNI and host name verified) to the
 * site's TCP intake. Each accepted batch is serialised into the scratch
 * buffer as "<API_KEY> <RFC 5424 line>\n" lines and handed to
 * sr_conn_write(), which copies it; so no record reference is kept past
 * submit. A batch is delivered when its write callback reports the bytes
 * handed to the kernel; a write that fails (the connection died first)
 * makes it RETRY. The connection is always reading, so a close by the
 * intake is seen (and the connection dropped) before the next write, and
 * an idle connection is closed by us after idle_timeout, before Datadog
 * closes it under us. Reconnection happens on the next submit; backoff
 * after failures is the core's (sr_output_failed).
 *
 * The https transport lives in datadog_http.c. Everything runs on the
 * output's loop thread. The API key is never logged, nor put in metrics.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "datadog.h"
#include "../relay/conn.h"
#include "../relay/tls.h"

enum { DD_DISCONNECTED = 0, DD_CONNECTING, DD_CONNECTED };

/* Stop waits this long for written batches before closing anyway. */
#define DD_STOP_WAIT_MS 5000
/* Bytes queued in the connection above which submit answers SR_EBUSY. */
#define DD_MAX_PENDING (4u * 1024u * 1024u)

/* ---- sites ---------------------------------------------------------- */

/* Hosts per site (research/wire-formats.md 1.2). Only US1 and EU1 have a
 * TCP intake Datadog documents as usable by custom forwarders. */
static const sr_dd_site_t sites[] = {
    {"datadoghq.com", "US1", "intake.logs.datadoghq.com", 10516, "http-intake.logs.datadoghq.com"},
    {"us3.datadoghq.com", "US3", NULL, 0, "http-intake.logs.us3.datadoghq.com"},
    {"us5.datadoghq.com", "US5", NULL, 0, "http-intake.logs.us5.datadoghq.com"},
    {"datadoghq.eu", "EU1", "tcp-intake.logs.datadoghq.eu", 443, "http-intake.logs.datadoghq.eu"},
    {"ap1.datadoghq.com", "AP1", NULL, 0, "http-intake.logs.ap1.datadoghq.com"},
    {"ddog-gov.com", "US1-FED", NULL, 0, "http-intake.logs.ddog-gov.com"},
};

const sr_dd_site_t *sr_dd_site_find(const char *name)
{
    size_t i;

    if (name == NULL) {
        return NULL;
    }
    for (i = 0; i < SR_ARRAY_SIZE(sites); i++) {
        if (strcasecmp(name, sites[i].site) == 0 || strcasecmp(name, sites[i].label) == 0) {
            return &sites[i];
        }
    }
    return NULL;
}

const char *sr_dd_site_list(void)
{
    return "datadoghq.com (US1), us3.datadoghq.com (US3), us5.datadoghq.com (US5), "
           "datadoghq.eu (EU1), ap1.datadoghq.com (AP1), ddog-gov.com (US1-FED)";
}

/* ---- key, escaping, lines, entries ----------------------------------- */

int sr_dd_key_check(const char *key, const char **why)
{
    size_t i, n;

    if (key == NULL || key[0] == '\0') {
        *why = "api_key is empty (is the environment variable it names set?); "
               "expected a Datadog API key, 32 hexadecimal characters";
        return SR_ECONFIG;
    }
    n = strlen(key);
    for (i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)key[i])) {
            break;
        }
    }
    if (n != 32 || i != n) {
        *why = "api_key is not a Datadog API key: expected 32 hexadecimal characters "
               "(an application key or a key with spaces or quotes will not work)";
        return SR_ECONFIG;
    }
    return 0;
}

void sr_dd_sd_escape(sr_buf_t *out, const char *s, size_t n)
{
    size_t i, start = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\' || s[i] == ']') {
            sr_buf_append(out, s + start, i - start);
            sr_buf_putc(out, '\\');
            start = i;
        }
    }
    sr_buf_append(out, s + start, n - start);
}

static char *tags_csv(const sr_strlist_t *tags)
{
    sr_buf_t b;
    size_t i;

    if (tags == NULL || tags->n == 0) {
        return NULL;
    }
    sr_buf_init(&b);
    for (i = 0; i < tags->n; i++) {
        if (i > 0) {
            sr_buf_putc(&b, ',');
        }
        sr_buf_puts(&b, tags->v[i]);
    }
    return b.base;
}

char *sr_dd_metas(const char *source, const sr_strlist_t *tags)
{
    sr_buf_t b;
    char *csv = tags_csv(tags);
    bool has_source = source != NULL && source[0] != '\0';

    if (!has_source && csv == NULL) {
        return NULL;
    }
    sr_buf_init(&b);
    sr_buf_puts(&b, "[metas");
    if (has_source) {
        sr_buf_puts(&b, " ddsource=\"");
        sr_dd_sd_escape(&b, source, strlen(source));
        sr_buf_putc(&b, '"');
    }
    if (csv != NULL) {
        sr_buf_puts(&b, " ddtags=\"");
        sr_dd_sd_escape(&b, csv, strlen(csv));
        sr_buf_putc(&b, '"');
        sr_free(csv);
    }
    sr_buf_putc(&b, ']');
    return b.base;
}

/* Where to cut p[0..len) so that it keeps at most `keep` bytes and does
 * not split a UTF-8 sequence. */
static size_t utf8_cut(const char *p, size_t len, size_t keep)
{
    size_t cut = SR_MIN(len, keep);

    if (cut == len) {
        return cut;
    }
    while (cut > 0 && ((unsigned char)p[cut] & 0xC0) == 0x80) {
        cut--;
    }
    return cut;
}

bool sr_dd_tls_line(const char *key, const sr_rfc5424_opts_t *opts, size_t max,
                    const sr_record_t *r, sr_buf_t *out)
{
    size_t body, i, n_ctl = 0, len, cut, mlen = sizeof(SR_DD_TRUNC_MARKER) - 1;
    bool cut_it = false;
    char *tail;

    sr_buf_puts(out, key);
    sr_buf_putc(out, ' ');
    body = out->len;
    sr_format_rfc5424(r, opts, out);
    for (i = body; i < out->len; i++) {
        if (out->base[i] == '\n' || out->base[i] == '\r') {
            n_ctl++;
        }
    }
    if (n_ctl > 0) {
        /* Each CR/LF becomes two characters; rewrite the tail in place. */
        len = out->len - body;
        tail = sr_strndup(out->base + body, len);
        out->len = body;
        sr_buf_reserve(out, len + n_ctl);
        for (i = 0; i < len; i++) {
            if (tail[i] == '\n') {
                sr_buf_append(out, "\\n", 2);
            } else if (tail[i] == '\r') {
                sr_buf_append(out, "\\r", 2);
            } else {
                out->base[out->len++] = tail[i];
            }
        }
        sr_free(tail);
    }
    len = out->len - body;
    if (len > max && max > mlen) {
        cut = utf8_cut(out->base + body, len, max - mlen);
        out->len = body + cut;
        sr_buf_append(out, SR_DD_TRUNC_MARKER, mlen);
        cut_it = true;
    }
    sr_buf_putc(out, '\n');
    return cut_it;
}

const char *sr_dd_status(int severity)
{
    static const char *const names[] = {"emergency", "alert",  "critical", "error",
                                        "warning",   "notice", "info",     "debug"};

    if (severity < 0 || severity > 7) {
        return "notice";
    }
    return names[severity];
}

static void json_key_string(sr_buf_t *out, const char *key, const char *p, size_t n)
{
    sr_buf_putc(out, '"');
    sr_buf_puts(out, key);
    sr_buf_puts(out, "\":");
    sr_json_string(out, p, n);
    sr_buf_putc(out, ',');
}

bool sr_dd_http_entry(const sr_dd_conf_t *c, const char *tags, size_t max, const sr_record_t *r,
                      sr_buf_t *out)
{
    sr_record_t shallow;
    const char *msg = "";
    size_t mlen = 0, cut, marker = sizeof(SR_DD_TRUNC_MARKER) - 1;
    bool cut_it = false;

    sr_buf_putc(out, '{');
    if (c->source != NULL && c->source[0] != '\0') {
        json_key_string(out, "ddsource", c->source, strlen(c->source));
    }
    if (tags != NULL && tags[0] != '\0') {
        json_key_string(out, "ddtags", tags, strlen(tags));
    }
    if (sr_slice_present(r->hostname) && r->hostname.len > 0) {
        json_key_string(out, "hostname", sr_record_ptr(r, r->hostname), r->hostname.len);
    } else {
        json_key_string(out, "hostname", r->source, strlen(r->source));
    }
    if (sr_slice_present(r->app_name) && r->app_name.len > 0) {
        json_key_string(out, "service", sr_record_ptr(r, r->app_name), r->app_name.len);
    } else if (c->service != NULL && c->service[0] != '\0') {
        json_key_string(out, "service", c->service, strlen(c->service));
    }
    sr_buf_puts(out, "\"status\":\"");
    sr_buf_puts(out, sr_dd_status(r->severity));
    sr_buf_puts(out, "\",");
    if (sr_slice_present(r->message)) {
        msg = sr_record_ptr(r, r->message);
        mlen = r->message.len;
    }
    sr_buf_puts(out, "\"message\":");
    if (mlen > max && max > marker) {
        cut = utf8_cut(msg, mlen, max - marker);
        /* Build the cut text plus marker as one string for one literal. */
        {
            char *t = sr_malloc(cut + marker);

            memcpy(t, msg, cut);
            memcpy(t + cut, SR_DD_TRUNC_MARKER, marker);
            sr_json_string(out, t, cut + marker);
            sr_free(t);
        }
        cut_it = true;
    } else {
        sr_json_string(out, msg, mlen);
    }
    /* The record's own fields, without a second copy of the message: a
     * shallow copy shares the text and structured data, read-only. */
    memcpy(&shallow, r, sizeof(shallow));
    shallow.message = (sr_slice_t){0, 0};
    sr_buf_puts(out, ",\"syslog\":");
    sr_format_json(&shallow, out);
    sr_buf_putc(out, '}');
    return cut_it;
}

/* ---- configuration --------------------------------------------------- */

static const char *const transports[] = {"syslog-tls", "https", NULL};

#define K(f) offsetof(sr_dd_conf_t, f)
static const sr_cfg_key_t keys[] = {
    {"api_key", SR_CFG_STRING, NULL, 0, 0, K(api_key), NULL, NULL,
     SR_CFG_REQUIRED | SR_CFG_SECRET, "Datadog API key (32 hex characters); never logged"},
    {"transport", SR_CFG_ENUM, "syslog-tls", 0, 0, K(transport), transports, NULL, 0,
     "syslog-tls: the TLS syslog intake; https: the HTTP logs intake (/api/v2/logs)"},
    {"site", SR_CFG_STRING, "datadoghq.com", 0, 0, K(site), NULL, NULL, 0,
     "Datadog site: datadoghq.com (US1), us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, "
     "ap1.datadoghq.com, ddog-gov.com; or its short name (US1, EU1, ...)"},
    {"host", SR_CFG_STRING, NULL, 0, 0, K(host), NULL, NULL, 0,
     "intake host name, overriding the site's (certificate verified against it)"},
    {"port", SR_CFG_INT, "0", 0, 65535, K(port), NULL, NULL, 0,
     "intake port; 0: the site's (syslog-tls) or 443 (https)"},
    {"ca_file", SR_CFG_STRING, NULL, 0, 0, K(ca_file), NULL, NULL, 0,
     "extra CA certificates (PEM) trusted besides the system store"},
    {"service", SR_CFG_STRING, NULL, 0, 0, K(service), NULL, NULL, 0,
     "service for records without APP-NAME (syslog-tls: APP-NAME; https: service)"},
    {"source", SR_CFG_STRING, NULL, 0, 0, K(source), NULL, NULL, 0,
     "ddsource: [metas ddsource=\"...\"] (syslog-tls) or the ddsource attribute (https)"},
    {"tags", SR_CFG_STRLIST, NULL, 0, 0, K(tags), NULL, NULL, 0,
     "ddtags, e.g. [\"env:prod\", \"team:ops\"], joined with commas"},
    {"max_message_size", SR_CFG_SIZE, "900000", 1024, 1000000, K(max_message_size), NULL, NULL,
     0, "longer messages are cut with \"...[TRUNCATED]\" and counted (Datadog: 1 MB per log)"},
    {"compression", SR_CFG_BOOL, "true", 0, 0, K(compression), NULL, NULL, 0,
     "https: gzip request bodies"},
    {"timeout", SR_CFG_DURATION, "30s", 100, 600000, K(timeout_ms), NULL, NULL, 0,
     "connect and handshake timeout (syslog-tls); whole request timeout (https)"},
    {"idle_timeout", SR_CFG_DURATION, "30s", 0, 3600000, K(idle_timeout_ms), NULL, NULL, 0,
     "syslog-tls: close a connection idle this long, before the intake does (0: never)"},
    {NULL},
};
#undef K

static int dd_check(sr_cfg_ctx_t *ctx, const sr_node_t *node, void *conf)
{
    sr_dd_conf_t *c = conf;
    const char *why = NULL;
    const sr_node_t *at;
    char err[512];
    int n = 0;

    at = sr_node_get(node, "api_key") ? sr_node_get(node, "api_key") : node;
    if (sr_dd_key_check(c->api_key, &why) != 0) {
        sr_cfg_error(ctx, at, "%s", why);
        n++;
    }
    c->site_info = sr_dd_site_find(c->site);
    if (c->site_info == NULL) {
        at = sr_node_get(node, "site") ? sr_node_get(node, "site") : node;
        sr_cfg_error(ctx, at, "unknown Datadog site '%s'; expected one of: %s",
                     c->site ? c->site : "", sr_dd_site_list());
        return n + 1;
    }
    if (c->host != NULL && c->host[0] == '\0') {
        sr_free(c->host);
        c->host = NULL;
    }
    if (c->ca_file != NULL && c->ca_file[0] == '\0') {
        sr_free(c->ca_file);
        c->ca_file = NULL;
    }
    if (c->ca_file != NULL && access(c->ca_file, R_OK) != 0) {
        at = sr_node_get(node, "ca_file") ? sr_node_get(node, "ca_file") : node;
        sr_cfg_error(ctx, at, "ca_file '%s' cannot be read", c->ca_file);
        n++;
    }
    if (c->transport == SR_DD_SYSLOG_TLS && c->host == NULL && c->site_info->tcp_host == NULL) {
        at = sr_node_get(node, "transport");
        at = at ? at : (sr_node_get(node, "site") ? sr_node_get(node, "site") : node);
        sr_cfg_error(ctx, at,
                     "Datadog site %s (%s) has no TCP intake for transport: syslog-tls; "
                     "use transport: https",
                     c->site_info->site, c->site_info->label);
        n++;
    }
    if (n == 0 && c->transport == SR_DD_SYSLOG_TLS) {
        err[0] = '\0';
        if (sr_tls_client_ctx_create(c->ca_file, &c->tls, err, sizeof(err)) != 0) {
            at = sr_node_get(node, "ca_file") ? sr_node_get(node, "ca_file") : node;
            sr_cfg_error(ctx, at, "cannot set up TLS for the Datadog intake: %s", err);
            c->tls = NULL;
            n++;
        }
    }
    return n;
}

static void dd_conf_free(void *conf)
{
    sr_dd_conf_t *c = conf;

    if (c->tls != NULL) {
        sr_tls_ctx_free(c->tls);
        c->tls = NULL;
    }
}

/* ---- syslog-tls transport -------------------------------------------- */

static void idle_cb(uv_timer_t *t)
{
    sr_dd_out_t *d = t->data;

    sr_conn_t *c = d->conn;

    if (c != NULL && d->state == DD_CONNECTED && d->inflight == 0) {
        sr_debug("output datadog \"%s\": connection to %s idle for %llu ms; closing it "
                 "(reconnecting on the next record)",
                 d->base.name, sr_conn_peer(c), (unsigned long long)d->conf->idle_timeout_ms);
        d->conn = NULL;
        d->state = DD_DISCONNECTED;
        sr_conn_close(c);
    }
}

static void idle_restart(sr_dd_out_t *d)
{
    if (d->conf->idle_timeout_ms > 0 && !d->stopping) {
        uv_timer_start(&d->idle_timer, idle_cb, d->conf->idle_timeout_ms, 0);
    }
}

static void timer_closed(uv_handle_t *h)
{
    sr_dd_out_t *d = h->data;

    if (--d->open_timers == 0) {
        sr_dd_stopped(d);
    }
}

/* Stop has nothing left in flight: drop the connection, close timers. */
static void tls_finish_stop(sr_dd_out_t *d)
{
    sr_conn_t *c = d->conn;

    if (c != NULL) {
        /* Closing fires the pending write callbacks at once, and they
         * come back here: drop our pointer first. */
        d->conn = NULL;
        d->state = DD_DISCONNECTED;
        sr_conn_close(c);
    }
    if (d->inflight > 0) {
        return; /* the cancelled writes' callbacks come back here */
    }
    if (d->open_timers == 0) {
        sr_dd_stopped(d); /* never started */
        return;
    }
    if (!d->timers_closing) {
        d->timers_closing = true;
        uv_close((uv_handle_t *)&d->idle_timer, timer_closed);
        uv_close((uv_handle_t *)&d->stop_timer, timer_closed);
    }
}

static void stop_timer_cb(uv_timer_t *t)
{
    sr_dd_out_t *d = t->data;

    if (d->inflight > 0) {
        sr_warn("output datadog \"%s\": %u batch(es) still being written after %d ms; "
                "closing the connection (they will be retried or persisted)",
                d->base.name, d->inflight, DD_STOP_WAIT_MS);
    }
    tls_finish_stop(d);
}

/* One batch handed to sr_conn_write. */
typedef struct dd_write_s {
    sr_dd_out_t *d;
    sr_batch_t *b;
    uint32_t cut; /* records truncated in it, counted once delivered */
} dd_write_t;

static void write_cb(void *arg, int status)
{
    dd_write_t *w = arg;
    sr_dd_out_t *d = w->d;
    sr_batch_t *b = w->b;
    uint32_t cut = w->cut;

    sr_free(w);
    d->inflight--;
    if (status == 0) {
        d->conn_writes++;
        if (cut > 0) {
            sr_metric_add(d->truncated, cut);
        }
        sr_output_done(&d->base, b, SR_OUT_DELIVERED, NULL);
        idle_restart(d);
    } else {
        sr_log_limited(&d->rl, SR_LOG_WARNING,
                       "output datadog \"%s\": write of %u record(s) failed: %s; retrying",
                       d->base.name, b->n, sr_strerror(status));
        sr_output_done(&d->base, b, SR_OUT_RETRY, NULL);
    }
    if (d->stopping) {
        if (d->inflight == 0) {
            tls_finish_stop(d);
        }
        return;
    }
    if (d->want_ready && (d->conn == NULL || sr_conn_pending(d->conn) < DD_MAX_PENDING)) {
        d->want_ready = false;
        sr_output_ready(&d->base);
    }
}

static void on_connect(sr_conn_t *c, int status)
{
    sr_dd_out_t *d = sr_conn_data(c);
    char why[768];

    if (status != 0) {
        snprintf(why, sizeof(why), "cannot connect to Datadog intake %s:%d: %s%s%s", d->host,
                 d->port, sr_strerror(status), sr_conn_error(c)[0] ? ": " : "", sr_conn_error(c));
        d->conn = NULL;
        d->state = DD_DISCONNECTED;
        if (!d->stopping) {
            d->want_ready = false;
            sr_output_failed(&d->base, why);
        }
        return;
    }
    d->state = DD_CONNECTED;
    d->conns++;
    if (d->conns == 1) {
        sr_info("output datadog \"%s\": connected to %s", d->base.name, sr_conn_peer(c));
    } else {
        sr_debug("output datadog \"%s\": connected to %s", d->base.name, sr_conn_peer(c));
    }
    idle_restart(d);
    d->want_ready = false;
    sr_output_ready(&d->base);
}

static void on_read(sr_conn_t *c, const char *data, size_t len)
{
    /* The intake sends nothing; reading keeps a close visible at once. */
}

static void on_close(sr_conn_t *c, int status)
{
    sr_dd_out_t *d = sr_conn_data(c);
    char why[768];

    d->conn = NULL;
    d->state = DD_DISCONNECTED;
    uv_timer_stop(&d->idle_timer);
    if (d->stopping) {
        return;
    }
    /* A peer that just closes (FIN without close_notify, as an idle
     * timeout does) reports UV_EOF: as clean as 0 for us. */
    if (status == UV_EOF) {
        status = 0;
    }
    if (status == 0 && d->conn_writes > 0) {
        sr_debug("output datadog \"%s\": the intake closed the connection; reconnecting on "
                 "the next record",
                 d->base.name);
        d->want_ready = false;
        sr_output_ready(&d->base);
    } else if (status == 0) {
        /* Closed before taking anything: back off rather than spin. */
        snprintf(why, sizeof(why), "Datadog intake %s:%d closed the connection before any "
                 "write completed", d->host, d->port);
        d->want_ready = false;
        sr_output_failed(&d->base, why);
    } else {
        snprintf(why, sizeof(why), "connection to Datadog intake %s:%d lost: %s%s%s", d->host,
                 d->port, sr_strerror(status), sr_conn_error(c)[0] ? ": " : "", sr_conn_error(c));
        d->want_ready = false;
        sr_output_failed(&d->base, why);
    }
}

static const sr_conn_cbs_t conn_cbs = {on_connect, on_read, on_close};

/* Begin connecting. 0 (on_connect will fire) or < 0 (it will not). */
static int tls_connect(sr_dd_out_t *d)
{
    int rc;

    d->state = DD_CONNECTING;
    d->conn_writes = 0;
    rc = sr_conn_connect(d->base.loop, d->host, d->port, d->conf->tls, d->conf->timeout_ms,
                         &conn_cbs, d, &d->conn);
    if (rc != 0) {
        d->conn = NULL;
        d->state = DD_DISCONNECTED;
        sr_log_limited(&d->rl, SR_LOG_WARNING,
                       "output datadog \"%s\": cannot connect to Datadog intake %s:%d: %s",
                       d->base.name, d->host, d->port, sr_strerror(rc));
    }
    return rc;
}

/* How a record becomes an RFC 5424 line here: the service as the default
 * APP-NAME, the [metas ...] element. */
static sr_rfc5424_opts_t tls_opts(const sr_dd_out_t *d)
{
    sr_rfc5424_opts_t opts = {NULL, NULL};

    if (d->conf->service != NULL && d->conf->service[0] != '\0') {
        opts.app_name_default = d->conf->service;
    }
    opts.extra_sd = d->metas;
    return opts;
}

/* o->encode for syslog-tls (input workers): the intake line; true if it
 * was cut, which the chunk carries as a mark until it is delivered. */
static bool tls_encode(const sr_output_t *o, const sr_record_t *r, sr_buf_t *out)
{
    const sr_dd_out_t *d = (const sr_dd_out_t *)o;
    sr_rfc5424_opts_t opts = tls_opts(d);

    return sr_dd_tls_line(d->conf->api_key, &opts, d->conf->max_message_size, r, out);
}

static int tls_submit(sr_dd_out_t *d, sr_batch_t *b)
{
    dd_write_t *w;
    uint32_t i, cut = 0;
    int rc;

    if (d->state == DD_DISCONNECTED) {
        rc = tls_connect(d);
        if (rc != 0) {
            return rc; /* the core backs off */
        }
        d->want_ready = true;
        return SR_EBUSY;
    }
    if (d->state == DD_CONNECTING) {
        d->want_ready = true;
        return SR_EBUSY;
    }
    if (sr_conn_pending(d->conn) >= DD_MAX_PENDING) {
        d->want_ready = true;
        return SR_EBUSY;
    }
    sr_buf_reset(&d->buf);
    for (i = 0; i < b->n; i++) {
        const sr_record_t *r = b->recs[i];

        if (r->flags & SR_REC_ENCODED) {
            sr_buf_append(&d->buf, r->text, r->text_len); /* lines made on a worker */
            cut += r->marks;
        } else if (tls_encode(&d->base, r, &d->buf)) {
            cut++;
        }
    }
    w = sr_malloc(sizeof(*w));
    w->d = d;
    w->b = b;
    w->cut = cut;
    rc = sr_conn_write(d->conn, d->buf.base, d->buf.len, write_cb, w);
    if (rc != 0) {
        sr_free(w);
        return rc;
    }
    d->inflight++;
    uv_timer_stop(&d->idle_timer);
    return 0;
}

/* ---- the descriptor's operations -------------------------------------- */

static int dd_create(sr_output_t *o)
{
    sr_dd_out_t *d = (sr_dd_out_t *)o;
    const sr_dd_conf_t *c = o->priv_conf;

    d->conf = c;
    if (c->site_info == NULL) {
        return SR_ECONFIG;
    }
    if (c->transport == SR_DD_SYSLOG_TLS) {
        d->host = sr_strdup(c->host ? c->host : c->site_info->tcp_host);
        d->port = c->port ? (int)c->port : (c->host ? 10516 : c->site_info->tcp_port);
        d->metas = sr_dd_metas(c->source, &c->tags);
        o->encode = tls_encode; /* the line depends on the record alone */
    } else {
        d->host = sr_strdup(c->host ? c->host : c->site_info->http_host);
        d->port = c->port ? (int)c->port : 443;
        d->metas = tags_csv(&c->tags); /* https: the ddtags value */
    }
    if (d->host == NULL) {
        return SR_ECONFIG;
    }
    sr_buf_init(&d->buf);
    d->rl.burst = 5;
    d->rl.interval = 30;
    sr_metrics_family(SR_DD_M_TRUNCATED, SR_METRIC_COUNTER, "output",
                      "Records an output cut to its per-message size limit.");
    d->truncated = sr_metric(SR_DD_M_TRUNCATED, o->name);
    return 0;
}

static int dd_start(sr_output_t *o)
{
    sr_dd_out_t *d = (sr_dd_out_t *)o;

    if (d->conf->transport == SR_DD_HTTPS) {
        return sr_dd_http_start(d);
    }
    if (d->conf->tls == NULL) {
        return SR_ETLS;
    }
    uv_timer_init(o->loop, &d->idle_timer);
    uv_timer_init(o->loop, &d->stop_timer);
    d->idle_timer.data = d;
    d->stop_timer.data = d;
    d->open_timers = 2;
    sr_info("output datadog \"%s\": sending to %s:%d over TLS (syslog-tls)", o->name, d->host,
            d->port);
    /* A failure here is retried by the first submit. */
    (void)tls_connect(d);
    return 0;
}

static int dd_submit(sr_output_t *o, sr_batch_t *b)
{
    sr_dd_out_t *d = (sr_dd_out_t *)o;

    if (d->stopping) {
        return SR_EBUSY;
    }
    if (d->conf->transport == SR_DD_HTTPS) {
        return sr_dd_http_submit(d, b);
    }
    return tls_submit(d, b);
}

void sr_dd_stopped(sr_dd_out_t *d)
{
    void (*done)(sr_output_t *) = d->stop_done;

    d->stop_done = NULL;
    if (done != NULL) {
        done(&d->base);
    }
}

static void dd_stop(sr_output_t *o, void (*done)(sr_output_t *o))
{
    sr_dd_out_t *d = (sr_dd_out_t *)o;

    d->stopping = true;
    d->stop_done = done;
    if (d->conf->transport == SR_DD_HTTPS) {
        sr_dd_http_stop(d);
        return;
    }
    if (d->open_timers > 0) {
        uv_timer_stop(&d->idle_timer);
    }
    if (d->inflight > 0) {
        uv_timer_start(&d->stop_timer, stop_timer_cb, DD_STOP_WAIT_MS, 0);
        return;
    }
    tls_finish_stop(d);
}

static void dd_destroy(sr_output_t *o)
{
    sr_dd_out_t *d = (sr_dd_out_t *)o;

    if (d->conf != NULL && d->conf->transport == SR_DD_HTTPS) {
        sr_dd_http_destroy(d);
    }
    sr_free(d->host);
    sr_free(d->metas);
    sr_buf_free(&d->buf);
}

const sr_output_desc_t sr_output_datadog = {
    .name = "datadog",
    .description = "Datadog logs: the TLS syslog intake or the HTTPS logs intake",
    .keys = keys,
    .conf_size = sizeof(sr_dd_conf_t),
    .check = dd_check,
    .conf_free = dd_conf_free,
    .inst_size = sizeof(sr_dd_out_t),
    .max_batch = SR_DD_HTTP_MAX_ENTRIES,
    .create = dd_create,
    .start = dd_start,
    .submit = dd_submit,
    .flush = NULL,
    .reopen = NULL,
    .stop = dd_stop,
    .destroy = dd_destroy,
};
