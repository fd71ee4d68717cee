/*
 * redis.c: the Redis output. Pushes records to a list (RPUSH, the queue a
 * Logstash redis input drains), a stream (XADD) or a channel (PUBLISH),
 * over plain TCP or TLS (sr_conn_t), with AUTH and SELECT on every
 * connect. The protocol is relay/resp.c; payloads are relay/codec.c.
 *
 * Owns, per instance: at most one connection, the reply parser, a FIFO of
 * the replies it waits for (one per command sent), the batches the core
 * handed it (in order, at most `pipeline` of them), two timers (a tick
 * for LLEN polling and the reply timeout, and a zero-delay one to report
 * outcomes out of band) and scratch buffers. Record bytes are encoded and
 * copied into sr_conn_write (which copies again); the batch's references
 * stay with the core until sr_output_done.
 *
 * A record is delivered only when the reply to the command carrying it
 * arrives. When the connection drops, every batch not yet acknowledged is
 * reported SR_OUT_RETRY, newest first, so the core requeues them in their
 * original order: at-least-once. Retry and backoff are the core's.
 * Everything runs on the main loop.
 */
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "../relay/codec.h"
#include "../relay/conn.h"
#include "../relay/log.h"
#include "../relay/resp.h"
#include "../relay/tls.h"

#define REDIS_MAX_BATCH 500

enum { MODE_LIST = 0, MODE_STREAM, MODE_CHANNEL };

typedef struct redis_conf_s {
    char *url;
    char *key;
    int mode;
    int codec;
    int64_t max_length;
    char *ca_file;
    int64_t batch_size;
    int64_t pipeline;
    int64_t stream_maxlen;
    uint64_t connect_timeout_ms;
    uint64_t reply_timeout_ms;
    uint64_t poll_interval_ms;
    /* Built by check() from url: */
    bool tls;
    char *host;
    int port;
    char *user;
    char *password;
    int64_t db;
    char *url_masked;
    sr_tls_ctx_t *tls_ctx;
} redis_conf_t;

static const char *const modes[] = {"list", "stream", "channel", NULL};

static const sr_cfg_key_t keys[] = {
    {"url", SR_CFG_STRING, "redis://127.0.0.1:6379/0", 0, 0, offsetof(redis_conf_t, url), NULL,
     NULL, SR_CFG_SECRET,
     "redis://[[user]:password@]host[:port][/db], or rediss:// for TLS (certificate and host "
     "name verified, SNI). Port 6379 and db 0 by default; %XX escapes in user and password."},
    {"key", SR_CFG_STRING, NULL, 0, 0, offsetof(redis_conf_t, key), NULL, NULL, SR_CFG_REQUIRED,
     "The list, stream or channel name."},
    {"mode", SR_CFG_ENUM, "list", 0, 0, offsetof(redis_conf_t, mode), modes, NULL, 0,
     "list: RPUSH key <record> (several records per command); stream: XADD key * record "
     "<record>; channel: PUBLISH key <record> (dropped by Redis when nobody subscribes)."},
    {"codec", SR_CFG_ENUM, "json", 0, 0, offsetof(redis_conf_t, codec), sr_codec_names, NULL, 0,
     "json (the record of INTERFACE.md), msgpack (a map with the same keys) or ecs (Elastic "
     "Common Schema JSON with @timestamp, for Logstash and Elasticsearch)."},
    {"max_length", SR_CFG_INT, "0", 0, INT64_MAX, offsetof(redis_conf_t, max_length), NULL, NULL,
     0,
     "List mode: never push the list beyond this many entries; records wait in the relay's "
     "queue while it is full (0: no limit)."},
    {"ca_file", SR_CFG_PATH, NULL, 0, 0, offsetof(redis_conf_t, ca_file), NULL, NULL, 0,
     "rediss://: a PEM CA bundle trusted in addition to the system store."},
    {"batch_size", SR_CFG_INT, "500", 1, REDIS_MAX_BATCH, offsetof(redis_conf_t, batch_size),
     NULL, NULL, 0, "Records per RPUSH (list mode) or per write of XADD/PUBLISH commands."},
    {"pipeline", SR_CFG_INT, "8", 1, 64, offsetof(redis_conf_t, pipeline), NULL, NULL, 0,
     "Batches sent and not yet acknowledged, at most; 1 turns pipelining off: one command in "
     "flight, each waiting for the previous reply."},
    {"stream_maxlen", SR_CFG_INT, "0", 0, INT64_MAX, offsetof(redis_conf_t, stream_maxlen), NULL,
     NULL, 0, "Stream mode: XADD with MAXLEN ~ N, trimming old entries (0: no trimming)."},
    {"connect_timeout", SR_CFG_DURATION, "5s", 100, 300000,
     offsetof(redis_conf_t, connect_timeout_ms), NULL, NULL, 0,
     "Bound on resolving, connecting and the TLS handshake."},
    {"reply_timeout", SR_CFG_DURATION, "30s", 100, 600000,
     offsetof(redis_conf_t, reply_timeout_ms), NULL, NULL, 0,
     "A reply later than this drops the connection; what was not acknowledged is sent again."},
    {"poll_interval", SR_CFG_DURATION, "250ms", 10, 10000,
     offsetof(redis_conf_t, poll_interval_ms), NULL, NULL, 0,
     "List mode with max_length: how often LLEN is checked while the list is full."},
    {NULL},
};

/* ---- url ----------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Percent-decode p[0..n) into a new string; NULL on a bad escape. */
static char *pct_decode(const char *p, size_t n)
{
    char *out = sr_malloc(n + 1), *o = out;
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] == '%') {
            int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(p[i + 2]) : -1;

            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = p[i];
        }
    }
    *o = '\0';
    return out;
}

/*
 * Parse the url into c's built fields. Returns NULL, or static text saying
 * what is wrong (never quoting the url, which may hold a password).
 */
static const char *parse_url(redis_conf_t *c, const char *url)
{
    const char *p, *at, *hs, *he, *ps, *end;
    char *port_s = NULL;
    long v;

    if (strncmp(url, "redis://", 8) == 0) {
        c->tls = false;
        p = url + 8;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        c->tls = true;
        p = url + 9;
    } else {
        return "must start with redis:// or rediss://";
    }
    end = p + strcspn(p, "/?#");
    if (*end == '?' || *end == '#' || strchr(end, '?') != NULL || strchr(end, '#') != NULL) {
        return "query strings and fragments are not supported";
    }
    at = memrchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));

        if (colon == NULL) {
            return "user info must be user:password@ or :password@";
        }
        if (colon > p) {
            c->user = pct_decode(p, (size_t)(colon - p));
            if (c->user == NULL) {
                return "bad %-escape in the user name";
            }
        }
        c->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        if (c->password == NULL) {
            return "bad %-escape in the password";
        }
        if (c->password[0] == '\0') {
            return "the password is empty";
        }
        p = at + 1;
    }
    if (*p == '[') {
        hs = p + 1;
        he = memchr(hs, ']', (size_t)(end - hs));
        if (he == NULL) {
            return "an IPv6 address needs its closing ]";
        }
        ps = he + 1;
    } else {
        hs = p;
        he = memchr(p, ':', (size_t)(end - p));
        if (he == NULL) {
            he = end;
        }
        ps = he;
    }
    if (he == hs) {
        return "the host is missing";
    }
    c->host = sr_strndup(hs, (size_t)(he - hs));
    c->port = 6379;
    if (ps < end) {
        char *e;

        if (*ps != ':' || ps + 1 == end) {
            return "expected :port after the host";
        }
        port_s = sr_strndup(ps + 1, (size_t)(end - ps - 1));
        v = strtol(port_s, &e, 10);
        if (*e != '\0' || v < 1 || v > 65535 || port_s[0] < '0' || port_s[0] > '9') {
            free(port_s);
            return "the port must be a number 1-65535";
        }
        free(port_s);
        c->port = (int)v;
    }
    c->db = 0;
    if (*end == '/' && end[1] != '\0') {
        char *e;

        if (end[1] < '0' || end[1] > '9') {
            return "the database must be a number";
        }
        c->db = strtoll(end + 1, &e, 10);
        if (*e != '\0' || c->db < 0 || c->db > 1000000) {
            return "the database must be a number";
        }
    }
    c->url_masked = sr_asprintf("%s://%s%s%s%s%s%s:%d/%lld", c->tls ? "rediss" : "redis",
                                c->user ? c->user : "", c->password ? ":****@" : "",
                                strchr(c->host, ':') ? "[" : "", c->host,
                                strchr(c->host, ':') ? "]" : "", "", c->port, (long long)c->db);
    return NULL;
}

static void redis_conf_free(void *conf)
{
    redis_conf_t *c = conf;

    free(c->host);
    free(c->user);
    if (c->password != NULL) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
    free(c->url_masked);
    if (c->tls_ctx != NULL) {
        sr_tls_ctx_free(c->tls_ctx);
    }
    c->host = c->user = c->password = c->url_masked = NULL;
    c->tls_ctx = NULL;
}

/* Cross-key checks; parses the url and, for rediss://, loads the TLS
 * context (so --check catches a bad CA file). Returns the errors added. */
static int redis_check(sr_cfg_ctx_t *ctx, const sr_node_t *node, void *conf)
{
    redis_conf_t *c = conf;
    const char *why;
    char err[256];
    int n = 0;

    why = parse_url(c, c->url);
    if (why != NULL) {
        sr_cfg_error(ctx, sr_node_get(node, "url"), "url: %s (redis://[[user]:password@]host"
                     "[:port][/db] or rediss://...)", why);
        n++;
    }
    if (c->key == NULL || c->key[0] == '\0') {
        sr_cfg_error(ctx, sr_node_get(node, "key"), "key: must not be empty");
        n++;
    }
    if (c->max_length > 0 && c->mode != MODE_LIST) {
        sr_cfg_error(ctx, sr_node_get(node, "max_length"),
                     "max_length: only for mode list (mode is %s); for a stream use "
                     "stream_maxlen", modes[c->mode]);
        n++;
    }
    if (c->stream_maxlen > 0 && c->mode != MODE_STREAM) {
        sr_cfg_error(ctx, sr_node_get(node, "stream_maxlen"),
                     "stream_maxlen: only for mode stream (mode is %s)", modes[c->mode]);
        n++;
    }
    if (c->ca_file != NULL && why == NULL && !c->tls) {
        sr_cfg_error(ctx, sr_node_get(node, "ca_file"),
                     "ca_file: only used with a rediss:// url");
        n++;
    }
    if (why == NULL && c->tls && n == 0) {
        if (sr_tls_client_ctx_create(c->ca_file, &c->tls_ctx, err, sizeof(err)) < 0) {
            sr_cfg_error(ctx, sr_node_get(node, c->ca_file ? "ca_file" : "url"),
                         "TLS client context: %s", err);
            c->tls_ctx = NULL;
            n++;
        }
    }
    return n;
}

/* ---- the instance ---------------------------------------------------------- */

typedef enum state_e {
    ST_IDLE = 0,   /* no connection */
    ST_CONNECTING, /* sr_conn_connect under way */
    ST_HANDSHAKE,  /* AUTH / SELECT / LLEN / PING sent, replies awaited */
    ST_READY,
} state_t;

typedef enum req_kind_e {
    REQ_AUTH = 0,
    REQ_SELECT,
    REQ_PING, /* the last handshake reply */
    REQ_LLEN,
    REQ_DATA,
} req_kind_t;

/* One reply awaited. */
typedef struct req_s {
    uint8_t kind;
    uint32_t n;     /* REQ_DATA: records the command carries */
    sr_batch_t *b;  /* REQ_DATA */
    uint64_t sent;  /* uv_now when sent */
} req_t;

/* Our state for an accepted batch (b->priv). Records leave b->recs from
 * the front as they are reported (sr_output_done_partial). */
typedef struct bstate_s {
    uint32_t sent;  /* records at the front of b->recs already sent */
    uint32_t reqs;  /* replies still awaited for it */
    bool failed;    /* an error reply: the rest will be retried */
} bstate_t;

typedef struct redis_out_s {
    sr_output_t base;
    const redis_conf_t *conf;
    state_t state;
    sr_conn_t *conn;
    sr_resp_parser_t parser;
    req_t *reqs; /* ring */
    size_t rq_cap, rq_head, rq_n;
    sr_batch_t **bq; /* accepted batches, oldest first */
    size_t bq_n;
    size_t n_failed;          /* batches in bq marked failed */
    int64_t last_len;         /* list length from the last RPUSH/LLEN reply; -1 unknown */
    int64_t inflight_records; /* list mode: records in REQ_DATA not yet answered */
    size_t inflight_cmds;     /* REQ_DATA not yet answered */
    bool llen_pending;
    uint64_t last_poll;
    bool want_ready;    /* we said SR_EBUSY; call sr_output_ready when we can take more */
    bool full_logged;   /* "list is full" said once per episode */
    bool stopping;
    uint64_t stop_deadline;
    const char *defer_why; /* sr_output_failed to call from the defer timer */
    sr_batch_t **retry;    /* batches to report RETRY from the defer timer, oldest first */
    size_t retry_n;
    uv_timer_t tick;
    uv_timer_t defer;
    int open_handles;
    void (*stop_done)(sr_output_t *o);
    sr_buf_t wbuf;
    sr_buf_t pbuf;
    sr_ratelimit_t rl;
    sr_ratelimit_t rl_reply;
} redis_out_t;

#define NAME(r) (r)->base.name

static void conn_lost(redis_out_t *r, const char *why);
static void pump(redis_out_t *r);

static req_t *rq_push(redis_out_t *r)
{
    if (r->rq_n == r->rq_cap) {
        size_t ncap = r->rq_cap ? r->rq_cap * 2 : 64, i;
        req_t *n = sr_malloc(ncap * sizeof(*n));

        for (i = 0; i < r->rq_n; i++) {
            n[i] = r->reqs[(r->rq_head + i) % r->rq_cap];
        }
        free(r->reqs);
        r->reqs = n;
        r->rq_cap = ncap;
        r->rq_head = 0;
    }
    return &r->reqs[(r->rq_head + r->rq_n++) % r->rq_cap];
}

static req_t rq_pop(redis_out_t *r)
{
    req_t q = r->reqs[r->rq_head];

    r->rq_head = (r->rq_head + 1) % r->rq_cap;
    r->rq_n--;
    return q;
}

static void add_req(redis_out_t *r, req_kind_t kind, sr_batch_t *b, uint32_t n)
{
    req_t *q = rq_push(r);

    q->kind = (uint8_t)kind;
    q->b = b;
    q->n = n;
    q->sent = uv_now(r->base.loop);
    if (kind == REQ_DATA) {
        r->inflight_cmds++;
    }
}

/* Room left in the list under max_length, counting what is in flight. */
static int64_t list_room(const redis_out_t *r)
{
    if (r->conf->mode != MODE_LIST || r->conf->max_length <= 0) {
        return INT64_MAX;
    }
    if (r->last_len < 0) {
        return 0;
    }
    return r->conf->max_length - (r->last_len + r->inflight_records);
}

static const char *cmd_name(const redis_out_t *r)
{
    return r->conf->mode == MODE_LIST ? "RPUSH" : r->conf->mode == MODE_STREAM ? "XADD" : "PUBLISH";
}

static bool has_unsent(const redis_out_t *r)
{
    sr_batch_t *b;

    if (r->bq_n == 0) {
        return false;
    }
    b = r->bq[r->bq_n - 1];
    return ((bstate_t *)b->priv)->sent < b->n;
}

static bool can_accept(const redis_out_t *r)
{
    return r->state == ST_READY && !r->stopping && r->n_failed == 0 &&
           r->bq_n < (size_t)r->conf->pipeline && !has_unsent(r) && list_room(r) > 0;
}

/* If the list has no room, say so, once per episode: whether a batch is
 * half sent or the next one waits (the batches so far may fill it
 * exactly). */
static void note_if_full(redis_out_t *r)
{
    if (r->full_logged || r->state != ST_READY || list_room(r) > 0) {
        return;
    }
    r->full_logged = true;
    sr_info("output redis \"%s\": list \"%s\" is at max_length %lld; holding "
            "records in the queue and polling LLEN every %llu ms",
            NAME(r), r->conf->key, (long long)r->conf->max_length,
            (unsigned long long)r->conf->poll_interval_ms);
}

static void maybe_ready(redis_out_t *r)
{
    if (!r->want_ready) {
        return;
    }
    if (can_accept(r)) {
        r->want_ready = false;
        sr_output_ready(&r->base);
    } else {
        note_if_full(r);
    }
}

static void bq_remove(redis_out_t *r, sr_batch_t *b)
{
    size_t i;

    for (i = 0; i < r->bq_n; i++) {
        if (r->bq[i] == b) {
            memmove(&r->bq[i], &r->bq[i + 1], (r->bq_n - i - 1) * sizeof(*r->bq));
            r->bq_n--;
            return;
        }
    }
}

/* ---- sending --------------------------------------------------------------- */

static void put_key_cmd(redis_out_t *r, const char *cmd, size_t argc)
{
    sr_resp_cmd(&r->wbuf, argc);
    sr_resp_arg_str(&r->wbuf, cmd);
    sr_resp_arg_str(&r->wbuf, r->conf->key);
}

static void put_record(redis_out_t *r, const sr_record_t *rec)
{
    sr_buf_reset(&r->pbuf);
    sr_codec_encode((sr_codec_t)r->conf->codec, rec, &r->pbuf);
    sr_resp_arg(&r->wbuf, r->pbuf.base ? r->pbuf.base : "", r->pbuf.len);
}

/* Write wbuf; on failure the connection is dropped (outcomes deferred). */
static bool flush_wbuf(redis_out_t *r)
{
    int rc;

    if (r->wbuf.len == 0) {
        return true;
    }
    rc = sr_conn_write(r->conn, r->wbuf.base, r->wbuf.len, NULL, NULL);
    sr_buf_reset(&r->wbuf);
    if (rc < 0) {
        conn_lost(r, sr_strerror(rc));
        return false;
    }
    return true;
}

/*
 * Send the next chunk of the newest batch: up to batch_size records (and
 * in list mode with max_length, no more than the list has room for).
 * Returns false when nothing more can be sent now.
 */
static bool send_chunk(redis_out_t *r)
{
    const redis_conf_t *c = r->conf;
    sr_batch_t *b;
    bstate_t *bs;
    uint32_t k, i;
    int64_t room;

    if (r->state != ST_READY || !has_unsent(r)) {
        return false;
    }
    b = r->bq[r->bq_n - 1];
    bs = b->priv;
    if (bs->failed) {
        return false;
    }
    /* pipeline 1: one command in flight, one round trip each (no pipelining). */
    if (c->pipeline == 1 && r->inflight_cmds > 0) {
        return false;
    }
    k = SR_MIN(b->n - bs->sent, (uint32_t)c->batch_size);
    if (c->pipeline == 1 && c->mode != MODE_LIST) {
        k = 1;
    }
    if (c->mode == MODE_LIST) {
        room = list_room(r);
        if (room <= 0) {
            note_if_full(r);
            return false;
        }
        k = (uint32_t)SR_MIN((int64_t)k, room);
        put_key_cmd(r, "RPUSH", 2 + (size_t)k);
        for (i = 0; i < k; i++) {
            put_record(r, b->recs[bs->sent + i]);
        }
        add_req(r, REQ_DATA, b, k);
        bs->reqs++;
        r->inflight_records += k;
    } else {
        for (i = 0; i < k; i++) {
            if (c->mode == MODE_STREAM) {
                put_key_cmd(r, "XADD", c->stream_maxlen > 0 ? 8 : 5);
                if (c->stream_maxlen > 0) {
                    sr_resp_arg_str(&r->wbuf, "MAXLEN");
                    sr_resp_arg_str(&r->wbuf, "~");
                    sr_resp_arg_int(&r->wbuf, c->stream_maxlen);
                }
                sr_resp_arg_str(&r->wbuf, "*");
                sr_resp_arg_str(&r->wbuf, "record");
            } else {
                put_key_cmd(r, "PUBLISH", 3);
            }
            put_record(r, b->recs[bs->sent + i]);
            add_req(r, REQ_DATA, b, 1);
            bs->reqs++;
        }
    }
    bs->sent += k;
    return flush_wbuf(r);
}

static void pump(redis_out_t *r)
{
    while (send_chunk(r)) {
    }
}

/* ---- outcomes -------------------------------------------------------------- */

static void free_bstate(sr_batch_t *b)
{
    free(b->priv);
    b->priv = NULL;
}

/* Report RETRY for batches[0..n) (oldest first) newest first, so the core,
 * which puts each back at the front of its queue, keeps their order. */
static void retry_batches(redis_out_t *r, sr_batch_t **batches, size_t n)
{
    size_t i;

    for (i = n; i > 0; i--) {
        sr_batch_t *b = batches[i - 1];

        free_bstate(b);
        sr_output_done(&r->base, b, SR_OUT_RETRY, NULL);
    }
}

/* Once nothing is in flight, batches that met an error reply (and any
 * others still held) go back to the core together, in order. */
static void settle_failed(redis_out_t *r)
{
    sr_batch_t **all;
    size_t n;

    if (r->n_failed == 0 || r->rq_n > 0 || r->bq_n == 0) {
        return;
    }
    all = r->bq;
    n = r->bq_n;
    r->bq = NULL;
    r->bq_n = 0;
    r->n_failed = 0;
    retry_batches(r, all, n);
    free(all);
}

static void on_defer(uv_timer_t *t)
{
    redis_out_t *r = t->data;
    sr_batch_t **batches = r->retry;
    size_t n = r->retry_n;
    const char *why = r->defer_why;

    r->retry = NULL;
    r->retry_n = 0;
    r->defer_why = NULL;
    if (n > 0) {
        retry_batches(r, batches, n);
    } else if (why != NULL && !r->stopping) {
        sr_output_failed(&r->base, why);
    }
    free(batches);
}

static void log_lost(redis_out_t *r, const char *why)
{
    sr_log_limited(&r->rl, SR_LOG_WARNING,
                   "output redis \"%s\": connection to %s lost (%s) while %s; %zu batches not "
                   "acknowledged will be sent again after reconnecting",
                   NAME(r), sr_conn_peer(r->conn), why,
                   r->state == ST_READY ? "sending" : "in the handshake", r->bq_n);
}

/*
 * Drop the connection (if any) and hand every accepted batch back for a
 * retry, from the defer timer (we may be inside submit). `why` is logged
 * with the peer. Safe to call more than once.
 */
static void conn_lost(redis_out_t *r, const char *why)
{
    size_t i;

    if (r->conn != NULL) {
        log_lost(r, why);
        sr_conn_close(r->conn);
        r->conn = NULL;
    }
    r->state = ST_IDLE;
    sr_resp_parser_reset(&r->parser);
    r->rq_n = 0;
    r->rq_head = 0;
    r->inflight_records = 0;
    r->inflight_cmds = 0;
    r->last_len = -1;
    r->llen_pending = false;
    r->n_failed = 0;
    if (r->bq_n > 0) {
        r->retry = sr_realloc(r->retry, (r->retry_n + r->bq_n) * sizeof(*r->retry));
        for (i = 0; i < r->bq_n; i++) {
            r->retry[r->retry_n++] = r->bq[i];
        }
        r->bq_n = 0;
    }
    r->defer_why = why;
    /* The core re-offers batches after its backoff; submit reconnects. */
    r->want_ready = true;
    if (!uv_is_closing((uv_handle_t *)&r->defer)) {
        uv_timer_start(&r->defer, on_defer, 0, 0);
    }
}

/* ---- replies --------------------------------------------------------------- */

/* Error replies after which the connection is useless: re-authenticate,
 * or find the new primary after a failover. */
static bool error_needs_reconnect(const char *msg)
{
    static const char *const prefixes[] = {"NOAUTH", "WRONGPASS", "NOPERM", "READONLY",
                                           "MASTERDOWN", "LOADING"};
    size_t i;

    for (i = 0; i < SR_ARRAY_SIZE(prefixes); i++) {
        if (strncmp(msg, prefixes[i], strlen(prefixes[i])) == 0) {
            return true;
        }
    }
    return false;
}

static const char *error_advice(const char *msg)
{
    if (strncmp(msg, "WRONGTYPE", 9) == 0) {
        return "the key holds another type; delete or rename it, or change `key`";
    }
    if (strncmp(msg, "OOM", 3) == 0) {
        return "Redis is at maxmemory; the readers must catch up";
    }
    if (error_needs_reconnect(msg)) {
        return "reconnecting";
    }
    return "check the server version and the output's mode";
}

static void on_data_reply(redis_out_t *r, const req_t *q, const sr_resp_reply_t *rep)
{
    sr_batch_t *b = q->b;
    bstate_t *bs = b->priv;

    bs->reqs--;
    r->inflight_cmds--;
    if (r->conf->mode == MODE_LIST) {
        r->inflight_records -= q->n;
    }
    if (rep->type == SR_RESP_ERROR) {
        sr_log_limited(&r->rl_reply, SR_LOG_ERROR,
                       "output redis \"%s\": %s on key \"%s\" answered: %s (%s); records will "
                       "be retried with backoff", NAME(r),
                       modes[r->conf->mode][0] == 'l'   ? "RPUSH"
                       : modes[r->conf->mode][0] == 's' ? "XADD"
                                                         : "PUBLISH",
                       r->conf->key, rep->str, error_advice(rep->str));
        if (!bs->failed) {
            bs->failed = true;
            r->n_failed++;
        }
        if (error_needs_reconnect(rep->str)) {
            conn_lost(r, "error reply");
        }
        return;
    }
    if (rep->type == SR_RESP_INTEGER && r->conf->mode == MODE_LIST) {
        r->last_len = rep->integer;
    }
    if (bs->failed) {
        return;
    }
    bs->sent -= q->n;
    if (q->n >= b->n) {
        bq_remove(r, b);
        free_bstate(b);
        sr_output_done(&r->base, b, SR_OUT_DELIVERED, NULL);
    } else {
        sr_output_done_partial(&r->base, b, q->n, SR_OUT_DELIVERED, NULL);
    }
}

static void on_handshake_done(redis_out_t *r)
{
    r->state = ST_READY;
    sr_info("output redis \"%s\": connected to %s%s, db %lld; %s \"%s\" (%s)", NAME(r),
            sr_conn_peer(r->conn), r->conf->tls ? " over TLS" : "", (long long)r->conf->db,
            modes[r->conf->mode], r->conf->key, sr_codec_names[r->conf->codec]);
    r->want_ready = true;
}

/* Handle one reply; false when the connection was dropped. */
static bool on_reply(redis_out_t *r, sr_resp_reply_t *rep)
{
    req_t q;

    if (r->rq_n == 0) {
        conn_lost(r, "a reply nobody asked for");
        return false;
    }
    q = rq_pop(r);
    switch (q.kind) {
    case REQ_AUTH:
    case REQ_SELECT:
    case REQ_PING:
        if (rep->type == SR_RESP_ERROR) {
            sr_log_limited(&r->rl, SR_LOG_ERROR, "output redis \"%s\": %s refused by %s: %s; "
                           "retrying with backoff", NAME(r),
                           q.kind == REQ_AUTH ? "AUTH" : q.kind == REQ_SELECT ? "SELECT" : "PING",
                           sr_conn_peer(r->conn), rep->str);
            conn_lost(r, q.kind == REQ_AUTH ? "authentication failed" : "handshake refused");
            return false;
        }
        if (q.kind == REQ_PING) {
            on_handshake_done(r);
        }
        return true;
    case REQ_LLEN:
        r->llen_pending = false;
        if (rep->type == SR_RESP_INTEGER) {
            r->last_len = rep->integer;
            if (list_room(r) > 0 && r->full_logged) {
                r->full_logged = false;
                sr_info("output redis \"%s\": list \"%s\" has room again (%lld entries)",
                        NAME(r), r->conf->key, (long long)rep->integer);
            }
        } else if (rep->type == SR_RESP_ERROR) {
            sr_log_limited(&r->rl_reply, SR_LOG_ERROR, "output redis \"%s\": LLEN %s: %s (%s)",
                           NAME(r), r->conf->key, rep->str, error_advice(rep->str));
        }
        return true;
    case REQ_DATA:
        on_data_reply(r, &q, rep);
        return r->conn != NULL;
    }
    return true;
}

static void on_read(sr_conn_t *c, const char *data, size_t len)
{
    redis_out_t *r = sr_conn_data(c);
    sr_resp_reply_t *rep;
    int rc;

    sr_resp_feed(&r->parser, data, len);
    while ((rc = sr_resp_next(&r->parser, &rep)) == 1) {
        bool alive = on_reply(r, rep);

        sr_resp_reply_free(rep);
        if (!alive) {
            return;
        }
    }
    if (rc < 0) {
        sr_log_limited(&r->rl, SR_LOG_ERROR, "output redis \"%s\": protocol error from %s: %s",
                       NAME(r), sr_conn_peer(c), r->parser.why);
        conn_lost(r, "protocol error");
        return;
    }
    settle_failed(r);
    pump(r);
    maybe_ready(r);
}

static void on_close(sr_conn_t *c, int status)
{
    redis_out_t *r = sr_conn_data(c);

    const char *why = status < 0 ? sr_strerror(status) : "closed by the server";

    /* The conn frees itself after this callback: log with its peer now. */
    log_lost(r, why);
    r->conn = NULL;
    conn_lost(r, why);
}

static void on_connect(sr_conn_t *c, int status)
{
    redis_out_t *r = sr_conn_data(c);
    const redis_conf_t *cf = r->conf;

    if (status < 0) {
        const char *tls = sr_conn_error(c);
        char why[512];

        r->conn = NULL;
        r->state = ST_IDLE;
        snprintf(why, sizeof(why), "cannot connect to %s: %s%s%s", cf->url_masked,
                 sr_strerror(status), *tls ? ": " : "", tls);
        if (!r->stopping) {
            sr_output_failed(&r->base, why); /* logs (rate-limited) and backs off */
        }
        return;
    }
    r->state = ST_HANDSHAKE;
    sr_buf_reset(&r->wbuf);
    if (cf->password != NULL) {
        sr_resp_cmd(&r->wbuf, cf->user ? 3 : 2);
        sr_resp_arg_str(&r->wbuf, "AUTH");
        if (cf->user != NULL) {
            sr_resp_arg_str(&r->wbuf, cf->user);
        }
        sr_resp_arg_str(&r->wbuf, cf->password);
        add_req(r, REQ_AUTH, NULL, 0);
    }
    if (cf->db != 0) {
        sr_resp_cmd(&r->wbuf, 2);
        sr_resp_arg_str(&r->wbuf, "SELECT");
        sr_resp_arg_int(&r->wbuf, cf->db);
        add_req(r, REQ_SELECT, NULL, 0);
    }
    if (cf->mode == MODE_LIST && cf->max_length > 0) {
        put_key_cmd(r, "LLEN", 2);
        add_req(r, REQ_LLEN, NULL, 0);
        r->llen_pending = true;
        r->last_poll = uv_now(r->base.loop);
    }
    sr_resp_cmd(&r->wbuf, 1);
    sr_resp_arg_str(&r->wbuf, "PING");
    add_req(r, REQ_PING, NULL, 0);
    flush_wbuf(r);
    /* The AUTH command must not linger in memory we reuse. */
    explicit_bzero(r->wbuf.base, r->wbuf.cap);
}

static void start_connect(redis_out_t *r)
{
    static const sr_conn_cbs_t cbs = {on_connect, on_read, on_close};
    const redis_conf_t *c = r->conf;
    int rc;

    if (r->state != ST_IDLE || r->stopping) {
        return;
    }
    sr_resp_parser_reset(&r->parser);
    rc = sr_conn_connect(r->base.loop, c->host, c->port, c->tls ? c->tls_ctx : NULL,
                         c->connect_timeout_ms, &cbs, r, &r->conn);
    if (rc < 0) {
        r->conn = NULL;
        sr_log_limited(&r->rl, SR_LOG_WARNING, "output redis \"%s\": cannot connect to %s: %s",
                       NAME(r), c->url_masked, sr_strerror(rc));
        r->defer_why = "cannot connect";
        uv_timer_start(&r->defer, on_defer, 0, 0);
        return;
    }
    r->state = ST_CONNECTING;
}

/* ---- timers ------------------------------------------------------------------ */

static void finish_stop(redis_out_t *r);

static void on_tick(uv_timer_t *t)
{
    redis_out_t *r = t->data;
    uint64_t now = uv_now(r->base.loop);

    if (r->stopping) {
        if (r->bq_n == 0 || now >= r->stop_deadline || r->state != ST_READY) {
            finish_stop(r);
        }
        return;
    }
    if (r->conn != NULL && r->rq_n > 0 &&
        now - r->reqs[r->rq_head].sent >= r->conf->reply_timeout_ms) {
        conn_lost(r, "reply timeout");
        return;
    }
    if (r->state == ST_READY && r->conf->mode == MODE_LIST && r->conf->max_length > 0 &&
        !r->llen_pending && list_room(r) <= 0 && now - r->last_poll >= r->conf->poll_interval_ms) {
        put_key_cmd(r, "LLEN", 2);
        add_req(r, REQ_LLEN, NULL, 0);
        r->llen_pending = true;
        r->last_poll = now;
        flush_wbuf(r);
    }
}

/* ---- the interface ---------------------------------------------------------- */

static int redis_create(sr_output_t *o)
{
    redis_out_t *r = (redis_out_t *)o;

    r->conf = o->priv_conf;
    r->last_len = -1;
    sr_resp_parser_init(&r->parser, NULL);
    sr_buf_init(&r->wbuf);
    sr_buf_init(&r->pbuf);
    r->rl.burst = 3;
    r->rl.interval = 30;
    r->rl_reply.burst = 1;
    r->rl_reply.interval = 60;
    return 0;
}

static int redis_start(sr_output_t *o)
{
    redis_out_t *r = (redis_out_t *)o;
    uint64_t period = SR_MIN(r->conf->poll_interval_ms, 250);

    uv_timer_init(o->loop, &r->tick);
    uv_timer_init(o->loop, &r->defer);
    r->tick.data = r;
    r->defer.data = r;
    r->open_handles = 2;
    uv_timer_start(&r->tick, on_tick, period, period);
    sr_info("output redis \"%s\": %s to %s, key \"%s\", codec %s%s", o->name,
            cmd_name(r), r->conf->url_masked, r->conf->key, sr_codec_names[r->conf->codec],
            r->conf->max_length > 0 ? ", bounded by max_length" : "");
    start_connect(r);
    return 0;
}

static int redis_submit(sr_output_t *o, sr_batch_t *b)
{
    redis_out_t *r = (redis_out_t *)o;

    if (r->state == ST_IDLE) {
        start_connect(r);
    }
    if (!can_accept(r)) {
        note_if_full(r);
        r->want_ready = true;
        return SR_EBUSY;
    }
    b->priv = sr_calloc(1, sizeof(bstate_t));
    r->bq = sr_realloc(r->bq, (r->bq_n + 1) * sizeof(*r->bq));
    r->bq[r->bq_n++] = b;
    pump(r);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    redis_out_t *r = h->data;

    if (--r->open_handles == 0 && r->stop_done != NULL) {
        r->stop_done(&r->base);
    }
}

/* Give back what is still held, close the connection and the timers. */
static void finish_stop(redis_out_t *r)
{
    sr_batch_t **held = r->bq;
    size_t n = r->bq_n;

    if (uv_is_closing((uv_handle_t *)&r->tick)) {
        return;
    }
    if (r->conn != NULL) {
        sr_conn_close(r->conn);
        r->conn = NULL;
    }
    r->state = ST_IDLE;
    r->bq = NULL;
    r->bq_n = 0;
    r->rq_n = 0;
    /* Older batches (from a lost connection) first, then the held ones. */
    if (n > 0) {
        r->retry = sr_realloc(r->retry, (r->retry_n + n) * sizeof(*r->retry));
        memcpy(r->retry + r->retry_n, held, n * sizeof(*held));
        r->retry_n += n;
    }
    free(held);
    if (r->retry_n > 0) {
        sr_warn("output redis \"%s\": stopping with %zu batches not acknowledged; they go back "
                "to the queue", NAME(r), r->retry_n);
        retry_batches(r, r->retry, r->retry_n);
    }
    free(r->retry);
    r->retry = NULL;
    r->retry_n = 0;
    uv_timer_stop(&r->defer);
    uv_close((uv_handle_t *)&r->tick, on_timer_closed);
    uv_close((uv_handle_t *)&r->defer, on_timer_closed);
}

/* Stop: wait (up to reply_timeout, at most 5 s) for the replies to what
 * was sent, then give back the rest and close. done runs after the
 * timers' close callbacks. */
static void redis_stop(sr_output_t *o, void (*done)(sr_output_t *o))
{
    redis_out_t *r = (redis_out_t *)o;

    r->stopping = true;
    r->stop_done = done;
    if (r->open_handles == 0) {
        done(o); /* never started */
        return;
    }
    r->stop_deadline = uv_now(o->loop) + SR_MIN(r->conf->reply_timeout_ms, 5000);
    if (r->bq_n == 0 || r->state != ST_READY) {
        finish_stop(r);
    }
}

static void redis_destroy(sr_output_t *o)
{
    redis_out_t *r = (redis_out_t *)o;

    sr_resp_parser_free(&r->parser);
    free(r->reqs);
    free(r->bq);
    free(r->retry);
    if (r->wbuf.base != NULL) {
        explicit_bzero(r->wbuf.base, r->wbuf.cap);
    }
    sr_buf_free(&r->wbuf);
    sr_buf_free(&r->pbuf);
}

const sr_output_desc_t sr_output_redis = {
    .name = "redis",
    .description = "Push records to a Redis list (for Logstash), stream or channel, over TCP "
                   "or TLS.",
    .keys = keys,
    .conf_size = sizeof(redis_conf_t),
    .check = redis_check,
    .conf_free = redis_conf_free,
    .inst_size = sizeof(redis_out_t),
    .max_batch = REDIS_MAX_BATCH,
    .create = redis_create,
    .start = redis_start,
    .submit = redis_submit,
    .stop = redis_stop,
    .destroy = redis_destroy,
};
