/*
 * datadog_http.c: the Datadog output's https transport.
 *
 * POSTs JSON arrays of log entries to https://<host>/api/v2/logs with the
 * DD-API-KEY header, gzip'ed unless compression is off. libcurl's multi
 * interface does the HTTP and TLS; the output's libuv loop drives it:
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION -> one
 * uv_poll_t each) and when to wake it (CURLMOPT_TIMERFUNCTION -> one
 * uv_timer_t). The easy handle is kept for the instance's life so its
 * connection is reused between requests.
 *
 * One batch is in flight at a time. A batch is sent as one or more
 * requests of at most 1000 entries and 5 MB of uncompressed JSON each;
 * each request is built from the batch's records into our own buffers,
 * so no record is used after the request is built. Outcomes per request:
 * 2xx delivered; 400, 401, 403, 413 given up (drop reason
 * "datadog_rejected", logged rate-limited with the response body); any
 * other answer or a transport error is a retry of what is left of the
 * batch (backoff is the core's). Earlier requests of a batch that
 * succeeded are reported with sr_output_done_partial().
 *
 * The API key is only ever in the header list handed to curl; it is
 * scrubbed from any response body we log. Everything runs on the loop
 * thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "datadog.h"

/* How long stop waits for a request in flight before abandoning it. */
#define DD_HTTP_STOP_WAIT_MS 5000
/* Bytes of a response body kept for the log. */
#define DD_HTTP_RESP_KEEP 512

typedef struct dd_sock_s {
    uv_poll_t poll;
    curl_socket_t fd;
    struct sr_dd_http_s *h;
    struct dd_sock_s *next;
} dd_sock_t;

typedef struct sr_dd_http_s {
    sr_dd_out_t *d;
    CURLM *multi;
    CURL *easy;
    struct curl_slist *hdrs;
    char *url;
    uv_timer_t timer;      /* curl's timeouts */
    uv_timer_t stop_timer; /* bounds the wait at stop */
    int open_handles;      /* handles not yet closed */
    dd_sock_t *socks;
    bool closing;

    sr_batch_t *batch;     /* in flight, or NULL */
    uint32_t req_n;        /* records in the current request */
    uint32_t req_cut;      /* of which truncated */
    sr_buf_t json;
    sr_buf_t body;
    sr_buf_t resp;
    char errbuf[CURL_ERROR_SIZE];
} sr_dd_http_t;

/* ---- gzip ------------------------------------------------------------ */

int sr_dd_gzip(const char *p, size_t n, int level, sr_buf_t *out)
{
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    /* windowBits 15 + 16: a gzip header and trailer (RFC 1952). */
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return SR_ELIMIT;
    }
    sr_buf_reserve(out, deflateBound(&z, n));
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)(out->base + out->len);
    z.avail_out = (uInt)(out->cap - out->len - 1);
    rc = deflate(&z, Z_FINISH);
    out->len += z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : SR_ELIMIT;
}

/* ---- libcurl <-> libuv ----------------------------------------------- */

static void check_done(sr_dd_http_t *h);

static void handle_closed(uv_handle_t *hd)
{
    sr_dd_http_t *h = hd->data;

    if (hd->type == UV_POLL) {
        sr_free(hd); /* the poll is the first member of its dd_sock_t */
    }
    if (--h->open_handles == 0) {
        sr_dd_stopped(h->d);
    }
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    dd_sock_t *s = (dd_sock_t *)p;
    sr_dd_http_t *h = s->h;
    int flags = 0, running = 0;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        flags |= (events & UV_READABLE) ? CURL_CSELECT_IN : 0;
        flags |= (events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0;
    }
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    check_done(h);
}

static void sock_unlink(sr_dd_http_t *h, dd_sock_t *s)
{
    dd_sock_t **pp;

    for (pp = &h->socks; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    sr_dd_http_t *h = userp;
    dd_sock_t *s = socketp;
    int events = 0;

    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            if (!h->closing) {
                curl_multi_assign(h->multi, fd, NULL);
            }
            sock_unlink(h, s);
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, handle_closed);
        }
        return 0;
    }
    if (s == NULL) {
        s = sr_calloc(1, sizeof(*s));
        s->fd = fd;
        s->h = h;
        if (uv_poll_init_socket(h->d->base.loop, &s->poll, fd) != 0) {
            sr_free(s);
            return -1;
        }
        s->poll.data = h;
        s->next = h->socks;
        h->socks = s;
        h->open_handles++;
        curl_multi_assign(h->multi, fd, s);
    }
    events |= (what & CURL_POLL_IN) ? UV_READABLE : 0;
    events |= (what & CURL_POLL_OUT) ? UV_WRITABLE : 0;
    uv_poll_start(&s->poll, events, poll_cb);
    return 0;
}

static void timer_cb(uv_timer_t *t)
{
    sr_dd_http_t *h = t->data;
    int running = 0;

    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timerfunc_cb(CURLM *m, long timeout_ms, void *userp)
{
    sr_dd_http_t *h = userp;

    if (h->closing) {
        return 0;
    }
    if (timeout_ms < 0) {
        uv_timer_stop(&h->timer);
    } else {
        uv_timer_start(&h->timer, timer_cb, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

static size_t write_body(char *p, size_t size, size_t nmemb, void *userp)
{
    sr_dd_http_t *h = userp;
    size_t n = size * nmemb;

    if (h->resp.len < DD_HTTP_RESP_KEEP) {
        sr_buf_append(&h->resp, p, SR_MIN(n, DD_HTTP_RESP_KEEP - h->resp.len));
    }
    return n;
}

/* Add ca_file to the trust store curl built from the system's, so the
 * extra anchor adds to the system store instead of replacing it. */
static CURLcode ssl_ctx_cb(CURL *curl, void *ssl_ctx, void *userp)
{
    sr_dd_http_t *h = userp;
    X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);

    if (st == NULL || X509_STORE_load_file(st, h->d->conf->ca_file) != 1) {
        return CURLE_SSL_CACERT_BADFILE;
    }
    return CURLE_OK;
}

/* ---- requests --------------------------------------------------------- */

/* Response text fit for a log line: printable ASCII, the key scrubbed. */
static void resp_text(sr_dd_http_t *h, char *out, size_t cap)
{
    const char *key = h->d->conf->api_key;
    size_t klen = strlen(key), i, o = 0;
    const char *p = h->resp.base ? h->resp.base : "";
    size_t n = h->resp.len;

    for (i = 0; i < n && o + 4 < cap; i++) {
        if (klen > 0 && n - i >= klen && memcmp(p + i, key, klen) == 0) {
            memcpy(out + o, "***", 3);
            o += 3;
            i += klen - 1;
            continue;
        }
        out[o++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : ' ';
    }
    out[o] = '\0';
}

/* Build and start the request for the batch's next records. Returns 0
 * (check_done will see it finish) or < 0 (nothing started; the caller
 * still has to report the batch). */
static int send_next(sr_dd_http_t *h)
{
    sr_dd_out_t *d = h->d;
    sr_batch_t *b = h->batch;
    const sr_buf_t *body;
    uint32_t i, n = 0, cut = 0;
    size_t mark;
    bool c;
    CURLMcode mc;

    sr_buf_reset(&h->json);
    sr_buf_putc(&h->json, '[');
    for (i = 0; i < b->n && n < SR_DD_HTTP_MAX_ENTRIES; i++) {
        mark = h->json.len;
        if (n > 0) {
            sr_buf_putc(&h->json, ',');
        }
        c = sr_dd_http_entry(d->conf, d->metas, d->conf->max_message_size, b->recs[i], &h->json);
        if (n > 0 && h->json.len + 1 > SR_DD_HTTP_MAX_BYTES) {
            h->json.len = mark; /* this one starts the next request */
            break;
        }
        n++;
        cut += c ? 1 : 0;
    }
    sr_buf_putc(&h->json, ']');
    h->req_n = n;
    h->req_cut = cut;
    body = &h->json;
    if (d->conf->compression) {
        sr_buf_reset(&h->body);
        if (sr_dd_gzip(h->json.base, h->json.len, 6, &h->body) != 0) {
            sr_log_limited(&d->rl, SR_LOG_WARNING, "output datadog \"%s\": gzip failed",
                           d->base.name);
            return SR_ELIMIT;
        }
        body = &h->body;
    }
    sr_buf_reset(&h->resp);
    h->errbuf[0] = '\0';
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, body->base);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    mc = curl_multi_add_handle(h->multi, h->easy);
    if (mc != CURLM_OK) {
        sr_log_limited(&d->rl, SR_LOG_WARNING, "output datadog \"%s\": cannot start a request: %s",
                       d->base.name, curl_multi_strerror(mc));
        return SR_ELIMIT;
    }
    return 0;
}

/* After part of the batch was reported: send the rest, or retry it. */
static void continue_batch(sr_dd_http_t *h)
{
    sr_batch_t *b = h->batch;

    if (send_next(h) != 0) {
        h->batch = NULL;
        sr_output_done(&h->d->base, b, SR_OUT_RETRY, NULL);
    }
}

/* One request finished with curl result `res` and HTTP status `code`. */
static void finish(sr_dd_http_t *h, CURLcode res, long code)
{
    sr_dd_out_t *d = h->d;
    sr_batch_t *b = h->batch;
    uint32_t n = h->req_n;
    char text[DD_HTTP_RESP_KEEP + 8];
    bool whole;

    if (b == NULL) {
        return;
    }
    whole = n >= b->n;
    if (res != CURLE_OK) {
        sr_log_limited(&d->rl, SR_LOG_WARNING,
                       "output datadog \"%s\": request to %s:%d failed: %s; retrying %u record(s)",
                       d->base.name, d->host, d->port,
                       h->errbuf[0] ? h->errbuf : curl_easy_strerror(res), b->n);
        h->batch = NULL;
        sr_output_done(&d->base, b, SR_OUT_RETRY, NULL);
        return;
    }
    if (code >= 200 && code < 300) {
        if (h->req_cut > 0) {
            sr_metric_add(d->truncated, h->req_cut);
        }
        if (!whole) {
            sr_output_done_partial(&d->base, b, n, SR_OUT_DELIVERED, NULL);
            continue_batch(h);
            return;
        }
        h->batch = NULL;
        sr_output_done(&d->base, b, SR_OUT_DELIVERED, NULL);
        sr_output_ready(&d->base);
        return;
    }
    resp_text(h, text, sizeof(text));
    if (code == 400 || code == 401 || code == 403 || code == 413) {
        sr_log_limited(&d->rl, SR_LOG_ERROR,
                       "output datadog \"%s\": Datadog rejected %u record(s) with HTTP %ld (%s); "
                       "dropping them",
                       d->base.name, n, code, text[0] ? text : "no body");
        if (!whole) {
            sr_output_done_partial(&d->base, b, n, SR_OUT_GIVE_UP, SR_DD_REASON_REJECTED);
            continue_batch(h);
            return;
        }
        h->batch = NULL;
        sr_output_done(&d->base, b, SR_OUT_GIVE_UP, SR_DD_REASON_REJECTED);
        sr_output_ready(&d->base);
        return;
    }
    sr_log_limited(&d->rl, SR_LOG_WARNING,
                   "output datadog \"%s\": Datadog answered HTTP %ld (%s); retrying %u record(s)",
                   d->base.name, code, text[0] ? text : "no body", b->n);
    h->batch = NULL;
    sr_output_done(&d->base, b, SR_OUT_RETRY, NULL);
}

static void finish_stop(sr_dd_http_t *h);

static void check_done(sr_dd_http_t *h)
{
    CURLMsg *m;
    int left = 0;
    long code = 0;
    CURLcode res;

    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        res = m->data.result;
        code = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(h->multi, m->easy_handle);
        finish(h, res, code);
    }
    if (h->d->stopping && h->batch == NULL && !h->closing) {
        finish_stop(h);
    }
}

/* ---- start, submit, stop --------------------------------------------- */

int sr_dd_http_start(sr_dd_out_t *d)
{
    sr_dd_http_t *h;
    char *hdr;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = sr_calloc(1, sizeof(*h));
    h->d = d;
    d->http = h;
    sr_buf_init(&h->json);
    sr_buf_init(&h->body);
    sr_buf_init(&h->resp);
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    if (h->multi == NULL || h->easy == NULL) {
        /* Only allocation fails here: treat it as the OOM it is. */
        sr_error("output datadog \"%s\": libcurl could not allocate a handle; aborting",
                 d->base.name);
        abort();
    }
    uv_timer_init(d->base.loop, &h->timer);
    uv_timer_init(d->base.loop, &h->stop_timer);
    h->timer.data = h;
    h->stop_timer.data = h;
    h->open_handles = 2;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timerfunc_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);

    if (d->port == 443) {
        h->url = sr_asprintf("https://%s/api/v2/logs", d->host);
    } else {
        h->url = sr_asprintf("https://%s:%d/api/v2/logs", d->host, d->port);
    }
    hdr = sr_asprintf("DD-API-KEY: %s", d->conf->api_key);
    h->hdrs = curl_slist_append(h->hdrs, hdr);
    free(hdr);
    h->hdrs = curl_slist_append(h->hdrs, "Content-Type: application/json");
    if (d->conf->compression) {
        h->hdrs = curl_slist_append(h->hdrs, "Content-Encoding: gzip");
    }
    h->hdrs = curl_slist_append(h->hdrs, "Expect:");
    h->hdrs = curl_slist_append(h->hdrs, "User-Agent: syslog-relay/" SR_VERSION);

    curl_easy_setopt(h->easy, CURLOPT_URL, h->url);
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->hdrs);
    curl_easy_setopt(h->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)d->conf->timeout_ms);
    curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)d->conf->timeout_ms);
    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h);
    if (d->conf->ca_file != NULL) {
        curl_easy_setopt(h->easy, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
        curl_easy_setopt(h->easy, CURLOPT_SSL_CTX_DATA, h);
    }
    sr_info("output datadog \"%s\": sending to %s (https)", d->base.name, h->url);
    return 0;
}

int sr_dd_http_submit(sr_dd_out_t *d, sr_batch_t *b)
{
    sr_dd_http_t *h = d->http;
    int rc;

    if (h == NULL || h->batch != NULL) {
        return SR_EBUSY;
    }
    h->batch = b;
    b->priv = d;
    rc = send_next(h);
    if (rc != 0) {
        h->batch = NULL; /* not accepted: the core keeps it */
    }
    return rc;
}

/* Every request is done or abandoned: free curl, close the handles. */
static void finish_stop(sr_dd_http_t *h)
{
    dd_sock_t *s;

    h->closing = true;
    uv_timer_stop(&h->stop_timer);
    if (h->easy != NULL) {
        curl_multi_remove_handle(h->multi, h->easy);
        curl_easy_cleanup(h->easy);
        h->easy = NULL;
    }
    if (h->multi != NULL) {
        curl_multi_cleanup(h->multi); /* may report sockets removed */
        h->multi = NULL;
    }
    while ((s = h->socks) != NULL) {
        h->socks = s->next;
        uv_poll_stop(&s->poll);
        uv_close((uv_handle_t *)&s->poll, handle_closed);
    }
    uv_close((uv_handle_t *)&h->timer, handle_closed);
    uv_close((uv_handle_t *)&h->stop_timer, handle_closed);
}

static void stop_timer_cb(uv_timer_t *t)
{
    sr_dd_http_t *h = t->data;
    sr_batch_t *b = h->batch;

    if (b != NULL) {
        sr_warn("output datadog \"%s\": request still in flight %d ms after stop; abandoning it "
                "(%u record(s) will be retried or persisted)",
                h->d->base.name, DD_HTTP_STOP_WAIT_MS, b->n);
        curl_multi_remove_handle(h->multi, h->easy);
        h->batch = NULL;
        sr_output_done(&h->d->base, b, SR_OUT_RETRY, NULL);
    }
    finish_stop(h);
}

void sr_dd_http_stop(sr_dd_out_t *d)
{
    sr_dd_http_t *h = d->http;

    if (h == NULL) {
        sr_dd_stopped(d);
        return;
    }
    if (h->batch != NULL) {
        uv_timer_start(&h->stop_timer, stop_timer_cb, DD_HTTP_STOP_WAIT_MS, 0);
        return;
    }
    finish_stop(h);
}

void sr_dd_http_destroy(sr_dd_out_t *d)
{
    sr_dd_http_t *h = d->http;

    if (h == NULL) {
        return;
    }
    curl_slist_free_all(h->hdrs);
    sr_free(h->url);
    sr_buf_free(&h->json);
    sr_buf_free(&h->body);
    sr_buf_free(&h->resp);
    sr_free(h);
    d->http = NULL;
}
