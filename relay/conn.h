/*
 * conn.h: an outgoing stream connection, plain TCP or TLS, on a libuv
 * loop. Used by the Datadog syslog-tls transport and the Redis output.
 *
 * sr_conn_connect() resolves the host (uv_getaddrinfo), connects, and for
 * TLS completes the handshake (SNI = host, certificate and host name
 * verified), then calls on_connect(conn, 0). Any failure on the way calls
 * on_connect(conn, err) instead. After a successful connect, bytes read
 * go to on_read; the peer closing or an error calls on_close(conn, err)
 * once. Writes copy their data; write callbacks fire once the bytes are
 * handed to the kernel (or with an error when the connection dies first).
 *
 * After on_close or a failed on_connect, or after sr_conn_close(), the
 * conn frees itself once its handles are closed; the owner must not
 * touch it again. A connect/handshake timeout applies.
 */
#ifndef SR_CONN_H
#define SR_CONN_H

#include <uv.h>
#include "tls.h"

typedef struct sr_conn_s sr_conn_t;

typedef struct sr_conn_cbs_s {
    void (*on_connect)(sr_conn_t *c, int status);
    void (*on_read)(sr_conn_t *c, const char *data, size_t len);
    /* 0: the peer closed cleanly (plain EOF, or TLS close_notify);
     * UV_EOF: a TLS peer closed without close_notify; other < 0: error. */
    void (*on_close)(sr_conn_t *c, int status);
} sr_conn_cbs_t;

typedef void (*sr_conn_write_cb)(void *arg, int status);

/*
 * Start connecting. tls NULL means plain TCP. timeout_ms bounds connect
 * plus handshake. Returns 0 and *out (callbacks will fire), or < 0 (no
 * callback, nothing to free).
 */
int sr_conn_connect(uv_loop_t *loop, const char *host, int port, sr_tls_ctx_t *tls,
                    uint64_t timeout_ms, const sr_conn_cbs_t *cbs, void *data, sr_conn_t **out);

/* Queue bytes (copied). cb may be NULL. Returns 0 (cb will fire) or < 0
 * (not connected; cb will not fire). */
int sr_conn_write(sr_conn_t *c, const char *data, size_t len, sr_conn_write_cb cb, void *arg);

/* Bytes queued but not yet handed to the kernel. */
size_t sr_conn_pending(const sr_conn_t *c);

/* Close; pending write callbacks fire with UV_ECANCELED. No further
 * on_close. Safe to call from inside a callback. */
void sr_conn_close(sr_conn_t *c);

void *sr_conn_data(const sr_conn_t *c);
/* "host:port" for log lines. */
const char *sr_conn_peer(const sr_conn_t *c);
/* Last TLS error text, or "". */
const char *sr_conn_error(const sr_conn_t *c);

#endif
