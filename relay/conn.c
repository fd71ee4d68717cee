/*
 * conn.c: an outgoing stream connection, plain TCP or TLS, on a libuv
 * loop (see conn.h for the contract the outputs rely on).
 *
 * Owns, per connection: the getaddrinfo request, the TCP handle (re-made
 * for each resolved address tried in turn), one timer (the connect plus
 * handshake timeout, later reused to report a failure out of band), the
 * TLS session, a 16 KiB read buffer, and the write requests. Each
 * sr_conn_write becomes one wreq_t; every uv_write it causes (one for
 * plain TCP, one per ciphertext chunk for TLS) holds its own copy of the
 * bytes and counts against that wreq_t, whose callback fires once all of
 * them completed, or at once with an error when the connection dies or is
 * closed. Ciphertext the TLS engine produces on its own (handshake,
 * close_notify) is written without a wreq_t.
 *
 * Lifetime: any failure, a peer close or sr_conn_close marks the conn
 * closing, fires the pending write callbacks, calls the owner's callback
 * (on_connect or on_close, never after sr_conn_close), and closes the
 * handles; the memory goes in the last close callback (or when a
 * cancelled getaddrinfo returns). We keep reading at all times, so a peer
 * that closed an idle connection is noticed before the next write.
 * Loop-thread only; getaddrinfo runs on libuv's thread pool and owns
 * nothing of ours.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "conn.h"
#include "log.h"
#include "tls.h"

#define CONN_READ_BUF (16 * 1024)
#define CONN_ERRLEN 512
#define CONN_KEEPALIVE_S 60

typedef enum conn_state_e {
    CONN_RESOLVING = 1,
    CONN_CONNECTING,
    CONN_HANDSHAKE,
    CONN_CONNECTED,
    CONN_CLOSING, /* terminal: waiting for handles and requests to finish */
} conn_state_t;

/* One sr_conn_write. */
typedef struct wreq_s {
    struct wreq_s *next;
    struct wreq_s *prev;
    sr_conn_write_cb cb;
    void *arg;
    size_t len;      /* plaintext bytes, counted in c->pending until fired */
    int outstanding; /* uv_writes not yet completed */
    int status;      /* first error seen on one of them */
    bool fired;
} wreq_t;

/* One uv_write with its own copy of the bytes. */
typedef struct uvw_s {
    uv_write_t req;
    sr_conn_t *conn;
    wreq_t *wreq; /* NULL for TLS traffic of our own */
    char data[];
} uvw_t;

struct sr_conn_s {
    uv_loop_t *loop;
    uv_getaddrinfo_t gai;
    uv_connect_t connect_req;
    uv_tcp_t tcp;
    uv_timer_t timer;
    conn_state_t state;
    bool gai_pending;
    bool tcp_open;
    bool timer_open;
    struct addrinfo *addrs;
    struct addrinfo *next_addr;
    int last_err;
    int deferred_status;
    sr_tls_t *tls;
    wreq_t *cur_wreq; /* the write whose ciphertext on_cipher is producing */
    int cipher_err;   /* a uv_write error seen inside on_cipher */
    wreq_t *wreqs;    /* not yet freed, oldest first */
    wreq_t *wreqs_tail;
    size_t pending;
    sr_conn_cbs_t cbs;
    void *data;
    char *host;
    char *peer;
    char err[CONN_ERRLEN];
    char rbuf[CONN_READ_BUF];
};

static void try_next_addr(sr_conn_t *c);
static void fail(sr_conn_t *c, int status);

static void maybe_free(sr_conn_t *c)
{
    if (c->state != CONN_CLOSING || c->gai_pending || c->tcp_open || c->timer_open) {
        return;
    }
    /* All uv_writes completed before the TCP close callback ran, so only wreqs
     * that already fired can be left, and none has outstanding writes. */
    while (c->wreqs != NULL) {
        wreq_t *w = c->wreqs;

        c->wreqs = w->next;
        sr_free(w);
    }
    if (c->addrs != NULL) {
        uv_freeaddrinfo(c->addrs);
    }
    sr_tls_free(c->tls);
    sr_free(c->host);
    sr_free(c->peer);
    sr_free(c);
}

static void wreq_unlink_free(sr_conn_t *c, wreq_t *w)
{
    if (w->prev != NULL) {
        w->prev->next = w->next;
    } else {
        c->wreqs = w->next;
    }
    if (w->next != NULL) {
        w->next->prev = w->prev;
    } else {
        c->wreqs_tail = w->prev;
    }
    sr_free(w);
}

/* Fire a write's callback once; it stays allocated while uv_writes use it. */
static void wreq_fire(sr_conn_t *c, wreq_t *w, int status)
{
    if (w->fired) {
        return;
    }
    w->fired = true;
    c->pending -= w->len;
    if (w->cb != NULL) {
        w->cb(w->arg, status);
    }
}

/* Fire every pending write callback with status, oldest first. A callback
 * may call back into the conn; the list only grows at the tail and only
 * while not closing, so walking it is safe. */
static void cancel_writes(sr_conn_t *c, int status)
{
    wreq_t *w = c->wreqs;

    while (w != NULL) {
        wreq_t *next;

        wreq_fire(c, w, status);
        next = w->next;
        if (w->outstanding == 0) {
            wreq_unlink_free(c, w);
        }
        w = next;
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    sr_conn_t *c = h->data;

    if (h == (uv_handle_t *)&c->timer) {
        c->timer_open = false;
    } else {
        c->tcp_open = false;
        if (c->state == CONN_CONNECTING) {
            try_next_addr(c); /* the previous address failed; its handle is gone now */
            return;
        }
    }
    maybe_free(c);
}

static void close_handles(sr_conn_t *c)
{
    if (c->gai_pending) {
        uv_cancel((uv_req_t *)&c->gai); /* if too late, the callback still comes */
    }
    if (c->timer_open && !uv_is_closing((uv_handle_t *)&c->timer)) {
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    }
    if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp)) {
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    }
    maybe_free(c);
}

/*
 * The connection is over: status < 0 for an error, 0 for a clean peer
 * close. Fires pending writes, tells the owner (on_connect before the
 * connect finished, on_close after), closes the handles. Idempotent; c
 * stays valid until the loop runs the close callbacks.
 */
static void fail(sr_conn_t *c, int status)
{
    conn_state_t was = c->state;

    if (was == CONN_CLOSING) {
        return;
    }
    c->state = CONN_CLOSING;
    cancel_writes(c, status < 0 ? status : UV_ECANCELED);
    if (c->timer_open) {
        uv_timer_stop(&c->timer);
    }
    if (was == CONN_CONNECTED) {
        if (c->cbs.on_close != NULL) {
            c->cbs.on_close(c, status);
        }
    } else if (c->cbs.on_connect != NULL) {
        c->cbs.on_connect(c, status < 0 ? status : UV_ECONNRESET);
    }
    close_handles(c);
}

static void set_tls_err(sr_conn_t *c)
{
    if (c->tls != NULL && sr_tls_error(c->tls)[0] != '\0') {
        snprintf(c->err, sizeof(c->err), "%s", sr_tls_error(c->tls));
    }
}

static void on_write_done(uv_write_t *req, int status)
{
    uvw_t *u = (uvw_t *)req;
    sr_conn_t *c = u->conn;
    wreq_t *w = u->wreq;

    sr_free(u);
    if (w != NULL) {
        w->outstanding--;
        if (status < 0 && w->status == 0) {
            w->status = status;
        }
        if (w->outstanding == 0) {
            wreq_fire(c, w, w->status);
            wreq_unlink_free(c, w);
        }
    }
    if (status < 0 && status != UV_ECANCELED) {
        fail(c, status);
    }
}

/* Copy len bytes into a uv_write counted against w (may be NULL). Returns 0
 * or the uv_write error (then nothing was queued). */
static int send_bytes(sr_conn_t *c, wreq_t *w, const char *data, size_t len)
{
    uvw_t *u = sr_malloc(sizeof(*u) + len);
    uv_buf_t b;
    int rc;

    u->conn = c;
    u->wreq = w;
    memcpy(u->data, data, len);
    b = uv_buf_init(u->data, (unsigned int)len);
    rc = uv_write(&u->req, (uv_stream_t *)&c->tcp, &b, 1, on_write_done);
    if (rc < 0) {
        sr_free(u);
        return rc;
    }
    if (w != NULL) {
        w->outstanding++;
    }
    return 0;
}

static int tls_on_cipher(void *arg, const char *data, size_t len)
{
    sr_conn_t *c = arg;
    int rc;

    if (c->state == CONN_CLOSING && (!c->tcp_open || uv_is_closing((uv_handle_t *)&c->tcp))) {
        return 0; /* nobody to send to any more */
    }
    rc = send_bytes(c, c->cur_wreq, data, len);
    if (rc < 0) {
        c->cipher_err = rc;
        return -1;
    }
    return 0;
}

static void tls_on_plain(void *arg, const char *data, size_t len)
{
    sr_conn_t *c = arg;

    if (c->state == CONN_CONNECTED && c->cbs.on_read != NULL) {
        c->cbs.on_read(c, data, len);
    }
}

static void tls_on_handshake(void *arg)
{
    sr_conn_t *c = arg;

    if (c->state != CONN_HANDSHAKE) {
        return;
    }
    c->state = CONN_CONNECTED;
    uv_timer_stop(&c->timer);
    sr_debug("connection to %s: %s established", c->peer, sr_tls_version(c->tls));
    if (c->cbs.on_connect != NULL) {
        c->cbs.on_connect(c, 0);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sr_conn_t *c = h->data;

    buf->base = c->rbuf;
    buf->len = sizeof(c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    sr_conn_t *c = s->data;
    int rc;

    if (c->state == CONN_CLOSING) {
        return;
    }
    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF) {
            if (c->state == CONN_HANDSHAKE) {
                snprintf(c->err, sizeof(c->err),
                         "peer closed the connection during the TLS handshake");
                fail(c, UV_ECONNRESET);
            } else {
                /* Plain TCP: a clean close. TLS without close_notify: truncated. */
                fail(c, c->tls != NULL ? UV_EOF : 0);
            }
        } else {
            fail(c, (int)nread);
        }
        return;
    }
    if (c->tls == NULL) {
        if (c->cbs.on_read != NULL) {
            c->cbs.on_read(c, buf->base, (size_t)nread);
        }
        return;
    }
    c->cipher_err = 0;
    rc = sr_tls_feed(c->tls, buf->base, (size_t)nread);
    if (rc == 1) {
        fail(c, 0);
    } else if (rc < 0) {
        set_tls_err(c);
        fail(c, c->cipher_err < 0 ? c->cipher_err : SR_ETLS);
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    sr_conn_t *c = req->data;
    int rc;

    if (c->state != CONN_CONNECTING) {
        return; /* cancelled by a close */
    }
    if (status < 0) {
        c->last_err = status;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed); /* then the next address */
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, CONN_KEEPALIVE_S);
    rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0) {
        fail(c, rc);
        return;
    }
    if (c->tls == NULL) {
        c->state = CONN_CONNECTED;
        uv_timer_stop(&c->timer);
        if (c->cbs.on_connect != NULL) {
            c->cbs.on_connect(c, 0);
        }
        return;
    }
    c->state = CONN_HANDSHAKE;
    c->cipher_err = 0;
    rc = sr_tls_start(c->tls);
    if (rc < 0) {
        set_tls_err(c);
        fail(c, c->cipher_err < 0 ? c->cipher_err : SR_ETLS);
    }
}

/* Connect to the next resolved address, or fail with the last error. */
static void try_next_addr(sr_conn_t *c)
{
    int rc;

    while (c->next_addr != NULL) {
        struct addrinfo *ai = c->next_addr;

        c->next_addr = ai->ai_next;
        rc = uv_tcp_init(c->loop, &c->tcp);
        if (rc < 0) {
            c->last_err = rc;
            continue;
        }
        c->tcp.data = c;
        c->tcp_open = true;
        c->connect_req.data = c;
        rc = uv_tcp_connect(&c->connect_req, &c->tcp, ai->ai_addr, on_connected);
        if (rc == 0) {
            return;
        }
        /* No callback will come for this attempt; the close callback tries the next one. */
        c->last_err = rc;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return;
    }
    fail(c, c->last_err < 0 ? c->last_err : UV_EHOSTUNREACH);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    sr_conn_t *c = req->data;

    c->gai_pending = false;
    c->addrs = res;
    if (c->state == CONN_CLOSING) {
        maybe_free(c);
        return;
    }
    if (status < 0) {
        fail(c, status);
        return;
    }
    c->state = CONN_CONNECTING;
    c->next_addr = res;
    c->last_err = 0;
    try_next_addr(c);
}

static void on_timeout(uv_timer_t *t)
{
    sr_conn_t *c = t->data;

    if (c->state == CONN_HANDSHAKE) {
        snprintf(c->err, sizeof(c->err), "TLS handshake timed out");
    }
    fail(c, UV_ETIMEDOUT);
}

static void on_deferred_fail(uv_timer_t *t)
{
    sr_conn_t *c = t->data;

    fail(c, c->deferred_status);
}

/* Report a failure found inside an owner's call on the next loop turn, so
 * the owner is not re-entered. */
static void fail_later(sr_conn_t *c, int status)
{
    if (c->state == CONN_CLOSING || c->deferred_status < 0) {
        return;
    }
    c->deferred_status = status;
    uv_timer_start(&c->timer, on_deferred_fail, 0, 0);
}

/*
 * Start resolving host and connecting to port; with tls, then the
 * handshake (SNI and verification against host). timeout_ms (0: none)
 * bounds all of it. Returns 0 and *out, after which exactly one
 * on_connect fires; or < 0 with no callback and nothing for the caller to
 * free.
 */
int sr_conn_connect(uv_loop_t *loop, const char *host, int port, sr_tls_ctx_t *tls,
                    uint64_t timeout_ms, const sr_conn_cbs_t *cbs, void *data, sr_conn_t **out)
{
    static const sr_tls_cbs_t tls_cbs = {
        .on_plain = tls_on_plain,
        .on_cipher = tls_on_cipher,
        .on_handshake = tls_on_handshake,
    };
    struct addrinfo hints;
    char service[16];
    sr_conn_t *c;
    int rc;

    *out = NULL;
    if (host == NULL || *host == '\0' || port <= 0 || port > 65535 || cbs == NULL) {
        return UV_EINVAL;
    }
    c = sr_calloc(1, sizeof(*c));
    c->loop = loop;
    c->cbs = *cbs;
    c->data = data;
    c->host = sr_strdup(host);
    c->peer = strchr(host, ':') != NULL ? sr_asprintf("[%s]:%d", host, port)
                                        : sr_asprintf("%s:%d", host, port);
    c->state = CONN_RESOLVING;
    if (tls != NULL) {
        c->tls = sr_tls_create(tls, false, host, &tls_cbs, c);
        if (c->tls == NULL) {
            sr_free(c->host);
            sr_free(c->peer);
            sr_free(c);
            return SR_ETLS;
        }
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->timer_open = true;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    snprintf(service, sizeof(service), "%d", port);
    c->gai.data = c;
    rc = uv_getaddrinfo(loop, &c->gai, on_resolved, host, service, &hints);
    if (rc < 0) {
        /* No callback: free ourselves once the timer handle is closed. */
        c->state = CONN_CLOSING;
        close_handles(c);
        return rc;
    }
    c->gai_pending = true;
    if (timeout_ms > 0) {
        uv_timer_start(&c->timer, on_timeout, timeout_ms, 0);
    }
    *out = c;
    return 0;
}

/*
 * Queue a copy of data. Returns 0, after which cb (if any) fires exactly
 * once: with 0 when all bytes (all ciphertext, for TLS) went to the kernel,
 * or with an error or UV_ECANCELED when the connection died or was closed
 * first. Returns < 0 when not connected (cb never fires).
 */
int sr_conn_write(sr_conn_t *c, const char *data, size_t len, sr_conn_write_cb cb, void *arg)
{
    wreq_t *w;
    int rc;

    if (c->state != CONN_CONNECTED || c->deferred_status < 0) {
        return UV_ENOTCONN;
    }
    if (len == 0) {
        return UV_EINVAL;
    }
    w = sr_calloc(1, sizeof(*w));
    w->cb = cb;
    w->arg = arg;
    w->len = len;
    if (c->tls == NULL) {
        rc = send_bytes(c, w, data, len);
    } else {
        c->cur_wreq = w;
        c->cipher_err = 0;
        rc = sr_tls_write(c->tls, data, len);
        c->cur_wreq = NULL;
        if (rc < 0) {
            set_tls_err(c);
            rc = c->cipher_err < 0 ? c->cipher_err : SR_ETLS;
        }
    }
    if (rc < 0 && w->outstanding == 0) {
        /* Nothing of it left: the caller keeps the error, no callback. */
        sr_free(w);
        fail_later(c, rc);
        return rc;
    }
    w->prev = c->wreqs_tail;
    if (c->wreqs_tail != NULL) {
        c->wreqs_tail->next = w;
    } else {
        c->wreqs = w;
    }
    c->wreqs_tail = w;
    c->pending += len;
    if (rc < 0) {
        /* Part of it is in flight: the callback reports the error. */
        w->status = rc;
        fail_later(c, rc);
    }
    return 0;
}

size_t sr_conn_pending(const sr_conn_t *c)
{
    return c->pending;
}

/*
 * Close now: with TLS after a finished handshake, try to send close_notify;
 * fire every pending write callback with UV_ECANCELED before returning.
 * No owner callback of any kind fires after this returns. Idempotent and
 * safe inside callbacks; the memory goes once the handles are closed.
 */
void sr_conn_close(sr_conn_t *c)
{
    if (c == NULL || c->state == CONN_CLOSING) {
        return;
    }
    if (c->tls != NULL && c->state == CONN_CONNECTED) {
        sr_tls_shutdown(c->tls);
    }
    c->state = CONN_CLOSING;
    cancel_writes(c, UV_ECANCELED);
    close_handles(c);
}

void *sr_conn_data(const sr_conn_t *c)
{
    return c->data;
}

const char *sr_conn_peer(const sr_conn_t *c)
{
    return c->peer;
}

const char *sr_conn_error(const sr_conn_t *c)
{
    return c->err;
}
