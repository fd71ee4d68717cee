/*
 * tls.h: OpenSSL glue, independent of any socket.
 *
 * An sr_tls_t is one TLS session over memory BIOs: the owner feeds the
 * ciphertext it read (sr_tls_feed), receives plaintext through on_plain,
 * and must send the ciphertext handed to on_cipher. The same engine serves
 * TLS inputs (server side) and the Datadog and Redis outputs (client side,
 * through sr_conn_t). TLS 1.2 and 1.3 only, a sane cipher list.
 *
 * After a failing OpenSSL call the error queue is drained into text kept
 * on the session (sr_tls_error) for the owner to log with the peer.
 */
#ifndef SR_TLS_H
#define SR_TLS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sr_tls_ctx_s sr_tls_ctx_t;
typedef struct sr_tls_s sr_tls_t;

/* Server context: certificate chain and key (PEM); ca_file optional:
 * when set, clients must present a certificate it signs. Session tickets
 * off by default. Returns 0 or SR_ETLS with a message in err. */
int sr_tls_server_ctx_create(const char *cert_file, const char *key_file, const char *ca_file,
                             sr_tls_ctx_t **out, char *err, size_t errlen);

/* Client context: verifies the server against the system store plus
 * ca_file (may be NULL). Verification is always on. */
int sr_tls_client_ctx_create(const char *ca_file, sr_tls_ctx_t **out, char *err, size_t errlen);

void sr_tls_ctx_free(sr_tls_ctx_t *ctx);

/* Added by the tls module: present a certificate chain and key (PEM) when
 * the peer asks for one (a client talking to a server that requires client
 * certificates). Returns 0 or SR_ETLS with a message in err. */
int sr_tls_ctx_use_cert(sr_tls_ctx_t *ctx, const char *cert_file, const char *key_file, char *err,
                        size_t errlen);

/* Added by the tls module: the OpenSSL SSL_CTX underneath, for tests and
 * rare tuning (e.g. SSL_CTX_set_max_proto_version). Changes apply to
 * sessions created afterwards. */
struct ssl_ctx_st *sr_tls_ctx_openssl(sr_tls_ctx_t *ctx);

typedef struct sr_tls_cbs_s {
    /* Decrypted application data. */
    void (*on_plain)(void *arg, const char *data, size_t len);
    /* Ciphertext to send on the socket; the callee copies it. Returns 0,
     * or < 0 to make the current sr_tls_* call fail. */
    int (*on_cipher)(void *arg, const char *data, size_t len);
    /* The handshake finished (may be NULL). */
    void (*on_handshake)(void *arg);
} sr_tls_cbs_t;

/* A session. For a client, `host` is the name sent as SNI and verified
 * against the certificate (an IP address is verified as one, no SNI). */
sr_tls_t *sr_tls_create(sr_tls_ctx_t *ctx, bool server, const char *host, const sr_tls_cbs_t *cbs,
                        void *arg);

/* Client: send the ClientHello. Server: nothing to do (returns 0). */
int sr_tls_start(sr_tls_t *t);

/* Ciphertext in. Drives the handshake; plaintext goes to on_plain.
 * Returns 0; 1 when the peer sent close_notify; SR_ETLS on failure. */
int sr_tls_feed(sr_tls_t *t, const char *data, size_t len);

/* Plaintext out (only after the handshake); ciphertext goes to on_cipher.
 * Returns 0 or SR_ETLS. */
int sr_tls_write(sr_tls_t *t, const char *data, size_t len);

/* Send close_notify. */
int sr_tls_shutdown(sr_tls_t *t);

bool sr_tls_handshake_done(const sr_tls_t *t);
/* The last error's text ("certificate verify failed: ..."), or "". */
const char *sr_tls_error(const sr_tls_t *t);
/* The peer certificate's subject, or NULL. */
const char *sr_tls_peer_subject(const sr_tls_t *t);
/* Negotiated protocol version ("TLSv1.3"), or NULL. */
const char *sr_tls_version(const sr_tls_t *t);

void sr_tls_free(sr_tls_t *t);

#endif
