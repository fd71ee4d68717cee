/*
 * tls.c: the OpenSSL engine, one TLS session per sr_tls_t over two memory
 * BIOs, independent of any socket.
 *
 * Owns the SSL_CTX (policy: TLS 1.2 minimum, 1.3 allowed, ECDHE with
 * AES-GCM or CHACHA20 for 1.2, no compression, no renegotiation, no
 * session tickets on the server, small buffers) and each session's SSL and
 * BIOs. The owner moves bytes: ciphertext it read goes in through
 * sr_tls_feed, ciphertext to send comes out through on_cipher after every
 * step, plaintext comes out through on_plain in chunks of at most 16 KiB.
 * Nothing is buffered between calls beyond what OpenSSL holds for one
 * record, so per-session memory stays small.
 *
 * Callbacks run synchronously inside sr_tls_* calls; they may call
 * sr_tls_write or sr_tls_shutdown on the same session but must not free
 * it (the owner defers the free, as sr_conn_t does). Loop-thread only.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common.h"
#include "log.h"
#include "tls.h"

#define TLS_CHUNK (16 * 1024)
#define TLS_ERRLEN 512

/* TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 keeps OpenSSL's
 * default suites, which are all AEAD. */
static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct sr_tls_ctx_s {
    SSL_CTX *ssl_ctx;
    bool server;
};

struct sr_tls_s {
    SSL *ssl;
    BIO *rbio; /* ciphertext from the peer, read by OpenSSL */
    BIO *wbio; /* ciphertext for the peer, written by OpenSSL */
    sr_tls_cbs_t cbs;
    void *arg;
    bool server;
    bool handshake_done;
    bool peer_closed; /* close_notify received */
    bool failed;
    char *subject;
    char err[TLS_ERRLEN];
};

/* Append the OpenSSL error queue (emptying it) to buf as "reason; reason". When the
 * certificate verification failed, the verify result follows that reason. */
static void drain_errors(char *buf, size_t buflen, long verify_result)
{
    unsigned long e;
    const char *data = NULL;
    int flags = 0;
    size_t used = strlen(buf);

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        const char *reason = ERR_reason_error_string(e);
        char one[256];
        int n;

        if (reason == NULL) {
            snprintf(one, sizeof(one), "error %08lx", e);
        } else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
                   ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
                   verify_result != X509_V_OK) {
            snprintf(one, sizeof(one), "%s: %s", reason,
                     X509_verify_cert_error_string(verify_result));
        } else if ((flags & ERR_TXT_STRING) && data != NULL && *data != '\0') {
            snprintf(one, sizeof(one), "%s (%s)", reason, data);
        } else {
            snprintf(one, sizeof(one), "%s", reason);
        }
        if (used >= buflen - 1) {
            continue; /* keep draining; the text is full */
        }
        n = snprintf(buf + used, buflen - used, "%s%s", used ? "; " : "", one);
        if (n > 0) {
            used = SR_MIN(used + (size_t)n, buflen - 1);
        }
    }
}

/* Fill a context-creation error: "what: openssl reasons". */
static int ctx_error(char *err, size_t errlen, const char *fmt, const char *arg)
{
    char buf[TLS_ERRLEN] = "";

    drain_errors(buf, sizeof(buf), X509_V_OK);
    if (err != NULL && errlen > 0) {
        char what[256];

        snprintf(what, sizeof(what), fmt, arg ? arg : "");
        if (buf[0] != '\0') {
            snprintf(err, errlen, "%s: %s", what, buf);
        } else {
            snprintf(err, errlen, "%s", what);
        }
    }
    return SR_ETLS;
}

/* A key that failed to load: OpenSSL checks it against the certificate
 * loaded before, and a mismatch deserves a plain sentence. */
static int key_error(char *err, size_t errlen, const char *cert_file, const char *key_file)
{
    unsigned long e = ERR_peek_last_error();

    if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        snprintf(err, errlen, "certificate and key do not match (%s, %s)", cert_file, key_file);
        return SR_ETLS;
    }
    return ctx_error(err, errlen, "cannot load private key from %s", key_file);
}

/* The policy shared by both sides. Returns NULL with err filled on failure. */
static SSL_CTX *ctx_new(bool server, char *err, size_t errlen)
{
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL) {
        ctx_error(err, errlen, "cannot create TLS context%s", "");
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1) {
        ctx_error(err, errlen, "cannot set TLS protocol policy%s", "");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Not SSL_MODE_RELEASE_BUFFERS: it frees the read buffer after every
     * record that empties it, which with a memory BIO is every record, so
     * each small message cost a 16 KiB malloc and free. Buffers are freed
     * instead once all input is consumed (wait_input()). */
    if (server) {
        /* Clients such as loggen close without reading the tickets, which makes a TLS 1.3
         * server see resets; and we never resume anyway. */
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    return ctx;
}

/*
 * Server context from a PEM certificate chain and key; with ca_file, a
 * client certificate signed by that CA (and only that CA) is required.
 * Returns 0 and *out, or SR_ETLS with text in err and nothing to free.
 */
int sr_tls_server_ctx_create(const char *cert_file, const char *key_file, const char *ca_file,
                             sr_tls_ctx_t **out, char *err, size_t errlen)
{
    static const unsigned char sid_ctx[] = "syslog-relay";
    SSL_CTX *ctx = NULL;
    STACK_OF(X509_NAME) *names = NULL;
    sr_tls_ctx_t *t;

    *out = NULL;
    if (cert_file == NULL || *cert_file == '\0' || key_file == NULL || *key_file == '\0') {
        snprintf(err, errlen, "a TLS server needs cert_file and key_file");
        return SR_ETLS;
    }
    ctx = ctx_new(true, err, errlen);
    if (ctx == NULL) {
        return SR_ETLS;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        ctx_error(err, errlen, "cannot load certificate chain from %s", cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        key_error(err, errlen, cert_file, key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "certificate and key do not match (%s, %s)", cert_file, key_file);
        goto fail;
    }
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    if (ca_file != NULL && *ca_file != '\0') {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            ctx_error(err, errlen, "cannot load CA certificates from %s", ca_file);
            goto fail;
        }
        names = SSL_load_client_CA_file(ca_file);
        if (names == NULL) {
            ctx_error(err, errlen, "no CA certificate names in %s", ca_file);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    t = sr_calloc(1, sizeof(*t));
    t->ssl_ctx = ctx;
    t->server = true;
    *out = t;
    return 0;

fail:
    SSL_CTX_free(ctx);
    return SR_ETLS;
}

/*
 * Client context: trust the system store plus ca_file (may be NULL or
 * ""); the server certificate is always verified. Returns 0 and *out, or
 * SR_ETLS with text in err.
 */
int sr_tls_client_ctx_create(const char *ca_file, sr_tls_ctx_t **out, char *err, size_t errlen)
{
    SSL_CTX *ctx;
    sr_tls_ctx_t *t;

    *out = NULL;
    ctx = ctx_new(false, err, errlen);
    if (ctx == NULL) {
        return SR_ETLS;
    }
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        /* A missing system store is not fatal when ca_file supplies the trust. */
        ERR_clear_error();
    }
    if (ca_file != NULL && *ca_file != '\0' &&
        SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        ctx_error(err, errlen, "cannot load CA certificates from %s", ca_file);
        SSL_CTX_free(ctx);
        return SR_ETLS;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    t = sr_calloc(1, sizeof(*t));
    t->ssl_ctx = ctx;
    t->server = false;
    *out = t;
    return 0;
}

int sr_tls_ctx_use_cert(sr_tls_ctx_t *ctx, const char *cert_file, const char *key_file, char *err,
                        size_t errlen)
{
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, cert_file) != 1) {
        return ctx_error(err, errlen, "cannot load certificate chain from %s", cert_file);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        return key_error(err, errlen, cert_file, key_file);
    }
    if (SSL_CTX_check_private_key(ctx->ssl_ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "certificate and key do not match (%s, %s)", cert_file, key_file);
        return SR_ETLS;
    }
    return 0;
}

struct ssl_ctx_st *sr_tls_ctx_openssl(sr_tls_ctx_t *ctx)
{
    return ctx->ssl_ctx;
}

void sr_tls_ctx_free(sr_tls_ctx_t *ctx)
{
    if (ctx == NULL) {
        return;
    }
    SSL_CTX_free(ctx->ssl_ctx);
    sr_free(ctx);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/*
 * A session on ctx. For a client, host (required) is verified against the
 * server certificate: as a DNS name with SNI, or as an IP address without
 * SNI. Returns NULL when host is missing for a client or OpenSSL fails.
 * Callbacks are copied; on_plain and on_cipher are required.
 */
sr_tls_t *sr_tls_create(sr_tls_ctx_t *ctx, bool server, const char *host, const sr_tls_cbs_t *cbs,
                        void *arg)
{
    sr_tls_t *t;

    if (ctx == NULL || cbs == NULL || cbs->on_plain == NULL || cbs->on_cipher == NULL ||
        server != ctx->server || (!server && (host == NULL || *host == '\0'))) {
        return NULL;
    }
    t = sr_calloc(1, sizeof(*t));
    t->cbs = *cbs;
    t->arg = arg;
    t->server = server;
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        goto fail;
    }
    /* An empty read BIO means "come back later", never EOF. */
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* the SSL owns both BIOs now */
    if (server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (is_ip_literal(host)) {
            if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1) {
                goto fail_bios_owned;
            }
        } else {
            SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set1_host(t->ssl, host) != 1 || SSL_set_tlsext_host_name(t->ssl, host) != 1) {
                goto fail_bios_owned;
            }
        }
    }
    return t;

fail:
    BIO_free(t->rbio);
    BIO_free(t->wbio);
fail_bios_owned:
    ERR_clear_error();
    SSL_free(t->ssl);
    sr_free(t);
    return NULL;
}

/* Hand everything OpenSSL wrote to on_cipher. Returns 0 or SR_ETLS. */
static int flush(sr_tls_t *t)
{
    char buf[TLS_CHUNK];
    int n;

    while (BIO_ctrl_pending(t->wbio) > 0) {
        n = BIO_read(t->wbio, buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        if (t->cbs.on_cipher(t->arg, buf, (size_t)n) < 0) {
            if (t->err[0] == '\0') {
                snprintf(t->err, sizeof(t->err), "cannot send TLS data to the peer");
            }
            t->failed = true;
            return SR_ETLS;
        }
    }
    return 0;
}

/* Send what OpenSSL queued, then pass len bytes of plaintext on (none is
 * fine). Returns 0, or SR_ETLS when either step failed the session. */
static int hand_plain(sr_tls_t *t, const char *buf, size_t len)
{
    if (flush(t) < 0) {
        return SR_ETLS;
    }
    if (len > 0) {
        t->cbs.on_plain(t->arg, buf, len);
    }
    return t->failed ? SR_ETLS : 0;
}

/* Everything fed so far is consumed: send what OpenSSL queued and let an
 * idle connection hold no record buffers (about 34 KiB each). */
static int wait_input(sr_tls_t *t)
{
    int rc = flush(t);

    SSL_free_buffers(t->ssl); /* refuses while a partial record is held */
    return rc;
}

/* Record why the session failed (after an OpenSSL call returned ret), try
 * to send any alert OpenSSL queued, and return SR_ETLS. */
static int fail(sr_tls_t *t, int ret, const char *what)
{
    int e = SSL_get_error(t->ssl, ret);

    t->err[0] = '\0';
    drain_errors(t->err, sizeof(t->err), SSL_get_verify_result(t->ssl));
    if (t->err[0] == '\0') {
        snprintf(t->err, sizeof(t->err), "%s failed (%s)", what,
                 e == SSL_ERROR_SYSCALL ? "unexpected end of data" : "SSL error");
    }
    t->failed = true;
    flush(t); /* the alert, if any; a send failure changes nothing now */
    return SR_ETLS;
}

static void handshake_finished(sr_tls_t *t)
{
    X509 *cert = SSL_get0_peer_certificate(t->ssl);

    t->handshake_done = true;
    if (cert != NULL) {
        char buf[512];
        BIO *b = BIO_new(BIO_s_mem());

        if (b != NULL) {
            int n;

            X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
            n = BIO_read(b, buf, sizeof(buf) - 1);
            if (n > 0) {
                t->subject = sr_strndup(buf, (size_t)n);
            }
            BIO_free(b);
        }
    }
}

int sr_tls_start(sr_tls_t *t)
{
    int r;

    if (t->server) {
        return 0;
    }
    if (t->failed) {
        return SR_ETLS;
    }
    ERR_clear_error();
    r = SSL_do_handshake(t->ssl);
    if (r != 1) {
        int e = SSL_get_error(t->ssl, r);

        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            return fail(t, r, "TLS handshake");
        }
    }
    return flush(t);
}

/*
 * Ciphertext in: advance the handshake, then read every complete record,
 * passing plaintext to on_plain (16 KiB at most per call) and ciphertext
 * to on_cipher after each step. Returns 0; 1 once the peer sent
 * close_notify (our close_notify is sent in reply, later data ignored);
 * SR_ETLS when the session failed (sr_tls_error says why; it stays failed).
 */
int sr_tls_feed(sr_tls_t *t, const char *data, size_t len)
{
    char buf[TLS_CHUNK];
    size_t n, used;
    int r, e;

    if (t->failed) {
        return SR_ETLS;
    }
    if (t->peer_closed) {
        return 1;
    }
    while (len > 0) {
        int w = BIO_write(t->rbio, data, (int)SR_MIN(len, (size_t)INT32_MAX));

        if (w <= 0) {
            snprintf(t->err, sizeof(t->err), "cannot buffer TLS input");
            t->failed = true;
            return SR_ETLS;
        }
        data += w;
        len -= (size_t)w;
    }
    ERR_clear_error();
    if (!t->handshake_done) {
        r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            e = SSL_get_error(t->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                return wait_input(t);
            }
            if (e == SSL_ERROR_ZERO_RETURN) {
                t->peer_closed = true;
                flush(t);
                return 1;
            }
            return fail(t, r, "TLS handshake");
        }
        handshake_finished(t);
        if (flush(t) < 0) {
            return SR_ETLS;
        }
        if (t->cbs.on_handshake != NULL) {
            t->cbs.on_handshake(t->arg);
        }
        if (t->failed) {
            return SR_ETLS;
        }
    }
    /* Plaintext of successive records is gathered in buf and handed on once
     * buf fills or the input runs out: a sender that writes one small record
     * per message then costs one on_plain call per read, not per message. */
    used = 0;
    for (;;) {
        r = SSL_read_ex(t->ssl, buf + used, sizeof(buf) - used, &n);
        if (r == 1) {
            used += n;
            if (used < sizeof(buf)) {
                continue;
            }
            if (hand_plain(t, buf, used) < 0) {
                return SR_ETLS;
            }
            used = 0;
            continue;
        }
        e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            return hand_plain(t, buf, used) < 0 ? SR_ETLS : wait_input(t);
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            if (hand_plain(t, buf, used) < 0) {
                return SR_ETLS;
            }
            t->peer_closed = true;
            /* RFC 5425 4.4: answer close_notify with close_notify. */
            SSL_shutdown(t->ssl);
            ERR_clear_error();
            flush(t);
            return 1;
        }
        /* The reason first (fail() reads OpenSSL's error queue), then the
         * records that came before the bad one. */
        fail(t, r, "TLS read");
        if (used > 0) {
            t->cbs.on_plain(t->arg, buf, used);
        }
        return SR_ETLS;
    }
}

/*
 * Plaintext out, encrypted in chunks of 16 KiB with on_cipher called
 * after each, so at most one chunk of ciphertext is held here. Returns 0
 * or SR_ETLS (not connected yet, failed, or on_cipher refused).
 */
int sr_tls_write(sr_tls_t *t, const char *data, size_t len)
{
    size_t done;
    int r;

    if (t->failed) {
        return SR_ETLS;
    }
    if (!t->handshake_done) {
        snprintf(t->err, sizeof(t->err), "TLS write before the handshake finished");
        return SR_ETLS;
    }
    ERR_clear_error();
    while (len > 0) {
        r = SSL_write_ex(t->ssl, data, SR_MIN(len, (size_t)TLS_CHUNK), &done);
        if (r != 1) {
            return fail(t, r, "TLS write");
        }
        if (flush(t) < 0) {
            return SR_ETLS;
        }
        data += done;
        len -= done;
    }
    return 0;
}

/* Queue close_notify and flush it. Returns 0 or SR_ETLS. */
int sr_tls_shutdown(sr_tls_t *t)
{
    int r;

    if (t->failed) {
        return SR_ETLS;
    }
    if (!t->handshake_done) {
        return 0;
    }
    ERR_clear_error();
    r = SSL_shutdown(t->ssl);
    if (r < 0) {
        int e = SSL_get_error(t->ssl, r);

        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            return fail(t, r, "TLS shutdown");
        }
    }
    return flush(t);
}

bool sr_tls_handshake_done(const sr_tls_t *t)
{
    return t->handshake_done;
}

const char *sr_tls_error(const sr_tls_t *t)
{
    return t->err;
}

const char *sr_tls_peer_subject(const sr_tls_t *t)
{
    return t->subject;
}

const char *sr_tls_version(const sr_tls_t *t)
{
    return t->handshake_done ? SSL_get_version(t->ssl) : NULL;
}

void sr_tls_free(sr_tls_t *t)
{
    if (t == NULL) {
        return;
    }
    SSL_free(t->ssl);
    sr_free(t->subject);
    sr_free(t);
}
