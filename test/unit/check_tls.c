/*
 * check_tls.c: unit tests for relay/tls.c, the OpenSSL engine over memory
 * BIOs, alone and through sr_conn_t.
 *
 * Certificates are made once per run with the openssl command into a
 * mkdtemp directory (removed at exit): two CAs, a server certificate for
 * localhost/127.0.0.1, one for another name, and client certificates from
 * each CA. "Pair" tests wire a client and a server session together in
 * memory and pump ciphertext between them until both are quiet. "Loop"
 * tests run a small TLS server on 127.0.0.1 (a uv TCP listener feeding
 * server-side sessions) against a client made by sr_conn_connect, on a
 * private loop that must close cleanly.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "relay/common.h"
#include "relay/conn.h"
#include "relay/tls.h"

static char certdir[64];

/* A file in the certificate directory (static buffer, rotating). */
static const char *cert(const char *name)
{
    static char bufs[8][128];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof(bufs[0]), "%s/%s", certdir, name);
    return b;
}

static void make_certs(void)
{
    char cmd[4096];
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

    snprintf(certdir, sizeof(certdir), "/tmp/sr-check-tls.XXXXXX");
    if (mkdtemp(certdir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(cmd, sizeof(cmd),
             "cd %s && exec 2>openssl.log && "
             "openssl req -x509 %s -keyout ca.key -out ca.crt -days 2 -subj /CN=check-ca && "
             "openssl req -x509 %s -keyout other-ca.key -out other-ca.crt -days 2 "
             "  -subj /CN=check-other-ca && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >san.ext && "
             "printf 'subjectAltName=DNS:wrong.example\\n' >wrong.ext && "
             "openssl req %s -keyout server.key -out server.csr -subj /CN=localhost && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "  -out server.crt -days 2 -extfile san.ext && "
             "openssl req %s -keyout wrong.key -out wrong.csr -subj /CN=wrong.example && "
             "openssl x509 -req -in wrong.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "  -out wrong.crt -days 2 -extfile wrong.ext && "
             "openssl req %s -keyout client.key -out client.csr -subj /CN=check-client && "
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "  -out client.crt -days 2 && "
             "openssl req %s -keyout rogue.key -out rogue.csr -subj /CN=check-rogue && "
             "openssl x509 -req -in rogue.csr -CA other-ca.crt -CAkey other-ca.key "
             "  -CAcreateserial -out rogue.crt -days 2",
             certdir, ec, ec, ec, ec, ec, ec);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not make test certificates in %s (see openssl.log)\n", certdir);
        exit(1);
    }
}

static void remove_certs(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", certdir);
    }
}

static sr_tls_ctx_t *server_ctx(const char *ca_file)
{
    sr_tls_ctx_t *ctx = NULL;
    char err[512] = "";
    int rc = sr_tls_server_ctx_create(cert("server.crt"), cert("server.key"), ca_file, &ctx, err,
                                      sizeof(err));

    ck_assert_msg(rc == 0, "server ctx: %s", err);
    return ctx;
}

static sr_tls_ctx_t *client_ctx(const char *ca_file, const char *crt, const char *key)
{
    sr_tls_ctx_t *ctx = NULL;
    char err[512] = "";
    int rc = sr_tls_client_ctx_create(ca_file, &ctx, err, sizeof(err));

    ck_assert_msg(rc == 0, "client ctx: %s", err);
    if (crt != NULL) {
        rc = sr_tls_ctx_use_cert(ctx, crt, key, err, sizeof(err));
        ck_assert_msg(rc == 0, "client cert: %s", err);
    }
    return ctx;
}

static void force_version(sr_tls_ctx_t *ctx, int version)
{
    SSL_CTX *s = sr_tls_ctx_openssl(ctx);

    ck_assert_int_eq(SSL_CTX_set_min_proto_version(s, version), 1);
    ck_assert_int_eq(SSL_CTX_set_max_proto_version(s, version), 1);
}

/* ---- contexts ------------------------------------------------------- */

START_TEST(ctx_errors)
{
    sr_tls_ctx_t *ctx = (sr_tls_ctx_t *)1;
    char err[512];

    err[0] = '\0';
    ck_assert_int_eq(sr_tls_server_ctx_create(cert("server.crt"), cert("client.key"), NULL, &ctx,
                                              err, sizeof(err)),
                     SR_ETLS);
    ck_assert_ptr_null(ctx);
    ck_assert_msg(strstr(err, "certificate and key do not match") != NULL, "%s", err);

    err[0] = '\0';
    ck_assert_int_eq(sr_tls_server_ctx_create(cert("missing.crt"), cert("server.key"), NULL, &ctx,
                                              err, sizeof(err)),
                     SR_ETLS);
    ck_assert_msg(strstr(err, "missing.crt") != NULL, "%s", err);

    err[0] = '\0';
    ck_assert_int_eq(sr_tls_server_ctx_create(cert("server.crt"), cert("missing.key"), NULL, &ctx,
                                              err, sizeof(err)),
                     SR_ETLS);
    ck_assert_msg(strstr(err, "missing.key") != NULL, "%s", err);

    /* A key file given as the certificate: not a certificate. */
    err[0] = '\0';
    ck_assert_int_eq(sr_tls_server_ctx_create(cert("server.key"), cert("server.key"), NULL, &ctx,
                                              err, sizeof(err)),
                     SR_ETLS);
    ck_assert_msg(strstr(err, "server.key") != NULL, "%s", err);

    err[0] = '\0';
    ck_assert_int_eq(sr_tls_server_ctx_create(cert("server.crt"), cert("server.key"),
                                              cert("missing-ca.crt"), &ctx, err, sizeof(err)),
                     SR_ETLS);
    ck_assert_msg(strstr(err, "missing-ca.crt") != NULL, "%s", err);

    err[0] = '\0';
    ck_assert_int_eq(sr_tls_server_ctx_create("", cert("server.key"), NULL, &ctx, err, sizeof(err)),
                     SR_ETLS);
    ck_assert_str_ne(err, "");

    err[0] = '\0';
    ck_assert_int_eq(sr_tls_client_ctx_create(cert("missing-ca.crt"), &ctx, err, sizeof(err)),
                     SR_ETLS);
    ck_assert_ptr_null(ctx);
    ck_assert_msg(strstr(err, "missing-ca.crt") != NULL, "%s", err);

    ck_assert_int_eq(sr_tls_client_ctx_create(NULL, &ctx, err, sizeof(err)), 0);
    ck_assert_int_eq(
        sr_tls_ctx_use_cert(ctx, cert("client.crt"), cert("rogue.key"), err, sizeof(err)), SR_ETLS);
    ck_assert_msg(strstr(err, "certificate and key do not match") != NULL, "%s", err);
    /* A client session needs a host to verify; the wrong side is refused. */
    {
        sr_tls_cbs_t cbs = {.on_plain = NULL, .on_cipher = NULL};

        ck_assert_ptr_null(sr_tls_create(ctx, false, "localhost", &cbs, NULL));
    }
    sr_tls_ctx_free(ctx);
    sr_tls_ctx_free(NULL);
}
END_TEST

/* ---- pair: two sessions in memory ---------------------------------- */

typedef struct side_s {
    sr_tls_t *tls;
    sr_buf_t out; /* ciphertext waiting for the other side */
    sr_buf_t plain;
    int handshakes;
    size_t max_chunk;
    int plain_calls;
    int fail_cipher; /* make on_cipher fail */
} side_t;

typedef struct pair_s {
    side_t c;
    side_t s;
    int client_rc; /* last non-zero feed results */
    int server_rc;
} pair_t;

static void side_plain(void *arg, const char *data, size_t len)
{
    side_t *s = arg;

    ck_assert_uint_gt(len, 0);
    sr_buf_append(&s->plain, data, len);
    s->max_chunk = SR_MAX(s->max_chunk, len);
    s->plain_calls++;
}

static int side_cipher(void *arg, const char *data, size_t len)
{
    side_t *s = arg;

    if (s->fail_cipher) {
        return -1;
    }
    sr_buf_append(&s->out, data, len);
    return 0;
}

static void side_handshake(void *arg)
{
    side_t *s = arg;

    s->handshakes++;
}

static const sr_tls_cbs_t side_cbs = {side_plain, side_cipher, side_handshake};

static void pair_init(pair_t *p, sr_tls_ctx_t *cctx, const char *host, sr_tls_ctx_t *sctx)
{
    memset(p, 0, sizeof(*p));
    sr_buf_init(&p->c.out);
    sr_buf_init(&p->c.plain);
    sr_buf_init(&p->s.out);
    sr_buf_init(&p->s.plain);
    p->c.tls = sr_tls_create(cctx, false, host, &side_cbs, &p->c);
    p->s.tls = sr_tls_create(sctx, true, NULL, &side_cbs, &p->s);
    ck_assert_ptr_nonnull(p->c.tls);
    ck_assert_ptr_nonnull(p->s.tls);
}

/* Move ciphertext both ways until neither side has any; stop on errors. */
static void pump(pair_t *p)
{
    int rounds;

    for (rounds = 0; rounds < 50 && (p->c.out.len > 0 || p->s.out.len > 0); rounds++) {
        if (p->c.out.len > 0) {
            sr_buf_t b = p->c.out;
            int rc;

            sr_buf_init(&p->c.out);
            rc = sr_tls_feed(p->s.tls, b.base, b.len);
            sr_buf_free(&b);
            if (rc != 0) {
                p->server_rc = rc;
            }
        }
        if (p->s.out.len > 0) {
            sr_buf_t b = p->s.out;
            int rc;

            sr_buf_init(&p->s.out);
            rc = sr_tls_feed(p->c.tls, b.base, b.len);
            sr_buf_free(&b);
            if (rc != 0) {
                p->client_rc = rc;
            }
        }
    }
    ck_assert_int_lt(rounds, 50);
}

static void pair_free(pair_t *p)
{
    sr_tls_free(p->c.tls);
    sr_tls_free(p->s.tls);
    sr_buf_free(&p->c.out);
    sr_buf_free(&p->c.plain);
    sr_buf_free(&p->s.out);
    sr_buf_free(&p->s.plain);
}

static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
static const char *const version_names[] = {"TLSv1.2", "TLSv1.3"};

START_TEST(pair_roundtrip)
{
    sr_tls_ctx_t *sctx = server_ctx(NULL);
    sr_tls_ctx_t *cctx = client_ctx(cert("ca.crt"), NULL, NULL);
    char *big = sr_malloc(100000);
    pair_t p;
    size_t i;

    force_version(sctx, versions[_i]);
    pair_init(&p, cctx, "localhost", sctx);
    ck_assert_int_eq(sr_tls_write(p.c.tls, "x", 1), SR_ETLS); /* before the handshake */
    ck_assert_str_eq(sr_tls_error(p.c.tls), "TLS write before the handshake finished");
    ck_assert_ptr_null(sr_tls_version(p.c.tls));
    ck_assert_int_eq(sr_tls_start(p.s.tls), 0);
    ck_assert_uint_eq(p.s.out.len, 0);
    ck_assert_int_eq(sr_tls_start(p.c.tls), 0);
    ck_assert_uint_gt(p.c.out.len, 0); /* the ClientHello */
    pump(&p);
    ck_assert_int_eq(p.client_rc, 0);
    ck_assert_int_eq(p.server_rc, 0);
    ck_assert(sr_tls_handshake_done(p.c.tls));
    ck_assert(sr_tls_handshake_done(p.s.tls));
    ck_assert_int_eq(p.c.handshakes, 1);
    ck_assert_int_eq(p.s.handshakes, 1);
    ck_assert_str_eq(sr_tls_version(p.c.tls), version_names[_i]);
    ck_assert_str_eq(sr_tls_version(p.s.tls), version_names[_i]);
    ck_assert_str_eq(sr_tls_peer_subject(p.c.tls), "CN=localhost");
    ck_assert_ptr_null(sr_tls_peer_subject(p.s.tls)); /* no client certificate asked */
    ck_assert_str_eq(sr_tls_error(p.s.tls), "");

    ck_assert_int_eq(sr_tls_write(p.c.tls, "<13>1 - - - - - - hello\n", 24), 0);
    ck_assert_int_eq(sr_tls_write(p.s.tls, "+OK\r\n", 5), 0);
    ck_assert_int_eq(sr_tls_write(p.c.tls, "", 0), 0);
    pump(&p);
    ck_assert_uint_eq(p.s.plain.len, 24);
    ck_assert_int_eq(memcmp(p.s.plain.base, "<13>1 - - - - - - hello\n", 24), 0);
    ck_assert_uint_eq(p.c.plain.len, 5);
    ck_assert_int_eq(memcmp(p.c.plain.base, "+OK\r\n", 5), 0);

    /* A large write arrives intact, in chunks of at most 16 KiB. */
    for (i = 0; i < 100000; i++) {
        big[i] = (char)('a' + i % 26);
    }
    sr_buf_reset(&p.s.plain);
    ck_assert_int_eq(sr_tls_write(p.c.tls, big, 100000), 0);
    pump(&p);
    ck_assert_uint_eq(p.s.plain.len, 100000);
    ck_assert_int_eq(memcmp(p.s.plain.base, big, 100000), 0);
    ck_assert_uint_le(p.s.max_chunk, 16384);
    ck_assert_int_ge(p.s.plain_calls, 7);

    /* Ciphertext fed one byte at a time gives the same plaintext. */
    sr_buf_reset(&p.s.plain);
    ck_assert_int_eq(sr_tls_write(p.c.tls, "split", 5), 0);
    for (i = 0; i < p.c.out.len; i++) {
        ck_assert_int_eq(sr_tls_feed(p.s.tls, p.c.out.base + i, 1), 0);
    }
    sr_buf_reset(&p.c.out);
    ck_assert_uint_eq(p.s.plain.len, 5);
    ck_assert_int_eq(memcmp(p.s.plain.base, "split", 5), 0);

    /* close_notify: the server sees 1 and answers; the client then sees 1. */
    ck_assert_int_eq(sr_tls_shutdown(p.c.tls), 0);
    pump(&p);
    ck_assert_int_eq(p.server_rc, 1);
    ck_assert_int_eq(p.client_rc, 1);
    ck_assert_int_eq(sr_tls_feed(p.s.tls, "late", 4), 1);
    pair_free(&p);
    sr_free(big);
    sr_tls_ctx_free(cctx);
    sr_tls_ctx_free(sctx);
}
END_TEST

/* Many small records fed at once (a sender that writes one record per
 * message): their plaintext arrives whole and in order, gathered into one
 * call per 16 KiB. A corrupted record after them fails the session with a
 * reason, and the records before it are still delivered. */
START_TEST(pair_gathers_records)
{
    sr_tls_ctx_t *sctx = server_ctx(NULL);
    sr_tls_ctx_t *cctx = client_ctx(cert("ca.crt"), NULL, NULL);
    sr_buf_t want, wire;
    pair_t p;
    size_t i;

    force_version(sctx, versions[_i]);
    pair_init(&p, cctx, "localhost", sctx);
    sr_buf_init(&want);
    sr_buf_init(&wire);
    ck_assert_int_eq(sr_tls_start(p.c.tls), 0);
    pump(&p);
    ck_assert(sr_tls_handshake_done(p.s.tls));

    for (i = 0; i < 1000; i++) { /* 23 000 bytes in 1000 records */
        char m[32];
        int n = snprintf(m, sizeof(m), "<13>1 - - - - - - m%03zu\n", i % 1000);

        ck_assert_int_eq(sr_tls_write(p.c.tls, m, (size_t)n), 0);
        sr_buf_append(&want, m, (size_t)n);
    }
    p.s.plain_calls = 0;
    pump(&p);
    ck_assert_int_eq(p.server_rc, 0);
    ck_assert_uint_eq(p.s.plain.len, want.len);
    ck_assert_int_eq(memcmp(p.s.plain.base, want.base, want.len), 0);
    ck_assert_int_eq(p.s.plain_calls, 2);

    /* Three good records, then one with a flipped byte, in one feed. */
    sr_buf_reset(&p.s.plain);
    ck_assert_int_eq(sr_tls_write(p.c.tls, "one\n", 4), 0);
    ck_assert_int_eq(sr_tls_write(p.c.tls, "two\n", 4), 0);
    ck_assert_int_eq(sr_tls_write(p.c.tls, "three\n", 6), 0);
    i = p.c.out.len;
    ck_assert_int_eq(sr_tls_write(p.c.tls, "four\n", 5), 0);
    p.c.out.base[p.c.out.len - 1] ^= 0x01; /* in the last record's tag */
    ck_assert_uint_gt(p.c.out.len, i);
    sr_buf_append(&wire, p.c.out.base, p.c.out.len);
    sr_buf_reset(&p.c.out);
    ck_assert_int_eq(sr_tls_feed(p.s.tls, wire.base, wire.len), SR_ETLS);
    ck_assert_uint_eq(p.s.plain.len, 14);
    ck_assert_int_eq(memcmp(p.s.plain.base, "one\ntwo\nthree\n", 14), 0);
    ck_assert_msg(strstr(sr_tls_error(p.s.tls), "bad record mac") != NULL ||
                      strstr(sr_tls_error(p.s.tls), "decryption failed") != NULL,
                  "error '%s'", sr_tls_error(p.s.tls));
    ck_assert_int_eq(sr_tls_feed(p.s.tls, "x", 1), SR_ETLS); /* stays failed */
    sr_buf_free(&want);
    sr_buf_free(&wire);
    pair_free(&p);
    sr_tls_ctx_free(cctx);
    sr_tls_ctx_free(sctx);
}
END_TEST

/* Client-side verification outcomes, in memory. */
typedef struct verify_case_s {
    const char *server_crt;
    const char *server_key;
    const char *client_ca; /* NULL: system store only */
    const char *host;
    bool ok;
    const char *client_err; /* substring of the client's error text */
} verify_case_t;

static const verify_case_t verify_cases[] = {
    {"server.crt", "server.key", "ca.crt", "localhost", true, ""},
    {"server.crt", "server.key", "ca.crt", "127.0.0.1", true, ""},
    {"server.crt", "server.key", "ca.crt", "LOCALHOST", true, ""},
    {"server.crt", "server.key", NULL, "localhost", false, "certificate verify failed: unable"},
    {"server.crt", "server.key", "other-ca.crt", "localhost", false, "certificate verify failed"},
    {"server.crt", "server.key", "ca.crt", "other.example", false, "hostname mismatch"},
    {"server.crt", "server.key", "ca.crt", "127.0.0.2", false, "IP address mismatch"},
    {"server.crt", "server.key", "ca.crt", "::1", false, "IP address mismatch"},
    {"wrong.crt", "wrong.key", "ca.crt", "localhost", false, "hostname mismatch"},
    {"wrong.crt", "wrong.key", "ca.crt", "wrong.example", true, ""},
    {"wrong.crt", "wrong.key", "ca.crt", "x.wrong.example", false, "hostname mismatch"},
};

START_TEST(pair_verify)
{
    const verify_case_t *vc = &verify_cases[_i];
    sr_tls_ctx_t *sctx = NULL;
    sr_tls_ctx_t *cctx = client_ctx(vc->client_ca ? cert(vc->client_ca) : NULL, NULL, NULL);
    char err[512];
    pair_t p;

    ck_assert_int_eq(sr_tls_server_ctx_create(cert(vc->server_crt), cert(vc->server_key), NULL,
                                              &sctx, err, sizeof(err)),
                     0);
    pair_init(&p, cctx, vc->host, sctx);
    ck_assert_int_eq(sr_tls_start(p.c.tls), 0);
    pump(&p);
    if (vc->ok) {
        ck_assert_int_eq(p.client_rc, 0);
        ck_assert(sr_tls_handshake_done(p.c.tls));
        ck_assert_int_eq(p.c.handshakes, 1);
    } else {
        ck_assert_int_eq(p.client_rc, SR_ETLS);
        ck_assert(!sr_tls_handshake_done(p.c.tls));
        ck_assert_int_eq(p.c.handshakes, 0);
        ck_assert_msg(strstr(sr_tls_error(p.c.tls), vc->client_err) != NULL, "case %d: %s", _i,
                      sr_tls_error(p.c.tls));
        /* The server got our alert and failed too; nothing more happens. */
        ck_assert_int_eq(p.server_rc, SR_ETLS);
        ck_assert_int_eq(p.s.handshakes, 0);
        ck_assert_int_eq(sr_tls_write(p.c.tls, "x", 1), SR_ETLS);
        ck_assert_int_eq(sr_tls_feed(p.c.tls, "x", 1), SR_ETLS);
    }
    pair_free(&p);
    sr_tls_ctx_free(cctx);
    sr_tls_ctx_free(sctx);
}
END_TEST

/* A failing on_cipher makes the call fail with SR_ETLS. */
START_TEST(pair_cipher_refused)
{
    sr_tls_ctx_t *sctx = server_ctx(NULL);
    sr_tls_ctx_t *cctx = client_ctx(cert("ca.crt"), NULL, NULL);
    pair_t p;

    pair_init(&p, cctx, "localhost", sctx);
    p.c.fail_cipher = 1;
    ck_assert_int_eq(sr_tls_start(p.c.tls), SR_ETLS);
    ck_assert_str_ne(sr_tls_error(p.c.tls), "");
    pair_free(&p);
    sr_tls_ctx_free(cctx);
    sr_tls_ctx_free(sctx);
}
END_TEST

/* Garbage fed to a server session: an error (or a wait for more), never a crash. */
typedef struct garbage_s {
    const char *data;
    size_t len;
    int rc;
} garbage_t;

static const garbage_t garbage_cases[] = {
    {"GET / HTTP/1.1\r\nHost: relay\r\n\r\n", 31, SR_ETLS},
    {"<13>1 2026-11-21T22:42:19Z host app - - - plain syslog on the TLS port\n", 71, SR_ETLS},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 32, SR_ETLS},
    {"\x16\x03\x01\x00\x05hello", 10, SR_ETLS},       /* a handshake record of junk */
    {"\x16\x03\x01\x48\x00", 5, SR_ETLS},             /* record longer than TLS allows */
    {"\x17\x03\x03\x00\x03\x61\x62\x63", 8, SR_ETLS}, /* application data before a hello */
    {"\x15\x03\x03\x00\x02\x02\x28", 7, SR_ETLS},     /* a fatal alert */
    {"\x16\x03", 2, 0},                               /* incomplete header: wait */
    {"", 0, 0},
};

START_TEST(server_garbage)
{
    const garbage_t *g = &garbage_cases[_i];
    sr_tls_ctx_t *sctx = server_ctx(NULL);
    side_t s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.tls = sr_tls_create(sctx, true, NULL, &side_cbs, &s);
    ck_assert_ptr_nonnull(s.tls);
    rc = sr_tls_feed(s.tls, g->data, g->len);
    ck_assert_msg(rc == g->rc, "case %d: rc %d, error '%s'", _i, rc, sr_tls_error(s.tls));
    if (rc < 0) {
        ck_assert_str_ne(sr_tls_error(s.tls), "");
        ck_assert_int_eq(sr_tls_feed(s.tls, "\x16\x03\x01", 3), SR_ETLS); /* stays failed */
    }
    ck_assert_int_eq(s.handshakes, 0);
    ck_assert_uint_eq(s.plain.len, 0);
    sr_tls_free(s.tls);
    sr_buf_free(&s.out);
    sr_buf_free(&s.plain);
    sr_tls_ctx_free(sctx);
}
END_TEST

START_TEST(server_random_bytes)
{
    sr_tls_ctx_t *sctx = server_ctx(NULL);
    unsigned seed = 12345;
    char buf[4096];
    int round, failed = 0;

    for (round = 0; round < 200; round++) {
        side_t s;
        size_t i, len = 1 + (size_t)(rand_r(&seed) % sizeof(buf));
        int rc;

        for (i = 0; i < len; i++) {
            buf[i] = (char)rand_r(&seed);
        }
        if (round % 2) {
            buf[0] = 0x16; /* looks like a handshake record */
            buf[1] = 0x03;
        }
        memset(&s, 0, sizeof(s));
        s.tls = sr_tls_create(sctx, true, NULL, &side_cbs, &s);
        rc = sr_tls_feed(s.tls, buf, len);
        ck_assert(rc == 0 || rc == SR_ETLS);
        failed += rc == SR_ETLS;
        ck_assert_int_eq(s.handshakes, 0);
        sr_tls_free(s.tls);
        sr_buf_free(&s.out);
        sr_buf_free(&s.plain);
    }
    ck_assert_int_gt(failed, 150);
    sr_tls_ctx_free(sctx);
}
END_TEST

/* ---- loop: a TLS server on 127.0.0.1 against sr_conn_connect ------- */

typedef struct srv_s srv_t;

typedef struct sconn_s {
    uv_tcp_t tcp;
    srv_t *srv;
    sr_tls_t *tls;
    bool closing;
} sconn_t;

struct srv_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    sr_tls_ctx_t *ctx;
    int port;
    bool echo;
    int accepted;
    int handshakes;
    int errors;
    int close_notifies;
    int conns_open;
    char err[512];
    char version[32];
    char subject[256];
    sr_buf_t plain;
};

typedef struct cli_s {
    srv_t *srv;
    const char *msg;
    int connects;
    int connect_status;
    int closes;
    int close_status;
    int write_cbs;
    int write_status;
    char err[512];
    sr_buf_t got;
} cli_t;

static void sconn_closed(uv_handle_t *h)
{
    sconn_t *sc = h->data;

    sc->srv->conns_open--;
    sr_tls_free(sc->tls);
    sr_free(sc);
}

static void sconn_close(sconn_t *sc)
{
    if (!sc->closing) {
        sc->closing = true;
        uv_close((uv_handle_t *)&sc->tcp, sconn_closed);
    }
}

static void swrite_done(uv_write_t *req, int status)
{
    sr_free(req);
}

static int s_cipher(void *arg, const char *data, size_t len)
{
    sconn_t *sc = arg;
    uv_write_t *req;
    uv_buf_t b;

    if (sc->closing) {
        return 0;
    }
    req = sr_malloc(sizeof(*req) + len);
    memcpy(req + 1, data, len);
    b = uv_buf_init((char *)(req + 1), (unsigned)len);
    if (uv_write(req, (uv_stream_t *)&sc->tcp, &b, 1, swrite_done) < 0) {
        sr_free(req);
        return -1;
    }
    return 0;
}

static void s_plain(void *arg, const char *data, size_t len)
{
    sconn_t *sc = arg;

    sr_buf_append(&sc->srv->plain, data, len);
    if (sc->srv->echo) {
        ck_assert_int_eq(sr_tls_write(sc->tls, data, len), 0);
    }
}

static void s_handshake(void *arg)
{
    sconn_t *sc = arg;
    const char *subj = sr_tls_peer_subject(sc->tls);

    sc->srv->handshakes++;
    snprintf(sc->srv->version, sizeof(sc->srv->version), "%s", sr_tls_version(sc->tls));
    snprintf(sc->srv->subject, sizeof(sc->srv->subject), "%s", subj ? subj : "");
}

static const sr_tls_cbs_t s_cbs = {s_plain, s_cipher, s_handshake};

static void s_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536];

    buf->base = slab;
    buf->len = sizeof(slab);
}

static void s_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    sconn_t *sc = st->data;
    int rc;

    if (sc->closing || nread == 0) {
        return;
    }
    if (nread < 0) {
        sconn_close(sc);
        return;
    }
    rc = sr_tls_feed(sc->tls, buf->base, (size_t)nread);
    if (rc == 1) {
        sc->srv->close_notifies++;
        sconn_close(sc);
    } else if (rc < 0) {
        sc->srv->errors++;
        snprintf(sc->srv->err, sizeof(sc->srv->err), "%s", sr_tls_error(sc->tls));
        sconn_close(sc);
    }
}

static void s_accept(uv_stream_t *l, int status)
{
    srv_t *srv = l->data;
    sconn_t *sc;

    ck_assert_int_eq(status, 0);
    sc = sr_calloc(1, sizeof(*sc));
    sc->srv = srv;
    uv_tcp_init(srv->loop, &sc->tcp);
    sc->tcp.data = sc;
    srv->conns_open++;
    ck_assert_int_eq(uv_accept(l, (uv_stream_t *)&sc->tcp), 0);
    srv->accepted++;
    sc->tls = sr_tls_create(srv->ctx, true, NULL, &s_cbs, sc);
    ck_assert_ptr_nonnull(sc->tls);
    ck_assert_int_eq(uv_read_start((uv_stream_t *)&sc->tcp, s_alloc, s_read), 0);
}

static void srv_start(srv_t *srv, uv_loop_t *loop, sr_tls_ctx_t *ctx, bool echo)
{
    struct sockaddr_in sin;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->ctx = ctx;
    srv->echo = echo;
    sr_buf_init(&srv->plain);
    ck_assert_int_eq(uv_tcp_init(loop, &srv->listener), 0);
    srv->listener.data = srv;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    ck_assert_int_eq(uv_tcp_bind(&srv->listener, (struct sockaddr *)&sin, 0), 0);
    ck_assert_int_eq(uv_listen((uv_stream_t *)&srv->listener, 16, s_accept), 0);
    ck_assert_int_eq(uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len), 0);
    srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void cli_done(cli_t *cl)
{
    if (!uv_is_closing((uv_handle_t *)&cl->srv->listener)) {
        uv_close((uv_handle_t *)&cl->srv->listener, NULL);
    }
}

static void c_write_done(void *arg, int status)
{
    cli_t *cl = arg;

    cl->write_cbs++;
    cl->write_status = status;
}

static void c_connect(sr_conn_t *c, int status)
{
    cli_t *cl = sr_conn_data(c);

    cl->connects++;
    cl->connect_status = status;
    snprintf(cl->err, sizeof(cl->err), "%s", sr_conn_error(c));
    if (status < 0) {
        cli_done(cl);
        return;
    }
    ck_assert_int_eq(sr_conn_write(c, cl->msg, strlen(cl->msg), c_write_done, cl), 0);
}

static void c_read(sr_conn_t *c, const char *data, size_t len)
{
    cli_t *cl = sr_conn_data(c);

    sr_buf_append(&cl->got, data, len);
    if (cl->got.len >= strlen(cl->msg)) {
        sr_conn_close(c); /* sends close_notify */
        cli_done(cl);
    }
}

static void c_close(sr_conn_t *c, int status)
{
    cli_t *cl = sr_conn_data(c);

    cl->closes++;
    cl->close_status = status;
    snprintf(cl->err, sizeof(cl->err), "%s", sr_conn_error(c));
    cli_done(cl);
}

static const sr_conn_cbs_t c_cbs = {c_connect, c_read, c_close};

static void guard_fired(uv_timer_t *t)
{
    ck_abort_msg("test did not finish within 10 s");
}

/* Run one client against srv until everything has closed. */
static void run_client(uv_loop_t *loop, srv_t *srv, cli_t *cl, const char *host, sr_tls_ctx_t *cctx,
                       const char *msg)
{
    uv_timer_t guard;
    sr_conn_t *c = NULL;

    memset(cl, 0, sizeof(*cl));
    cl->srv = srv;
    cl->msg = msg;
    sr_buf_init(&cl->got);
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, guard_fired, 10000, 0);
    uv_unref((uv_handle_t *)&guard);
    ck_assert_int_eq(sr_conn_connect(loop, host, srv->port, cctx, 5000, &c_cbs, cl, &c), 0);
    ck_assert_ptr_nonnull(c);
    {
        char peer[128];

        snprintf(peer, sizeof(peer), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, srv->port);
        ck_assert_str_eq(sr_conn_peer(c), peer);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(srv->conns_open, 0);
    ck_assert_int_eq(cl->connects, 1);
    ck_assert_int_le(cl->closes, 1);
}

START_TEST(loop_echo)
{
    uv_loop_t loop;
    sr_tls_ctx_t *sctx = server_ctx(NULL);
    sr_tls_ctx_t *cctx = client_ctx(cert("ca.crt"), NULL, NULL);
    const char *msg = "<13>1 2026-11-21T22:42:19Z h app - - - both ways\n";
    srv_t srv;
    cli_t cl;

    force_version(sctx, versions[_i]);
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, sctx, true);
    run_client(&loop, &srv, &cl, "localhost", cctx, msg);
    ck_assert_int_eq(cl.connect_status, 0);
    ck_assert_int_eq(cl.closes, 0); /* we closed first: no on_close */
    ck_assert_int_eq(cl.write_cbs, 1);
    ck_assert_int_eq(cl.write_status, 0);
    ck_assert_uint_eq(cl.got.len, strlen(msg));
    ck_assert_int_eq(memcmp(cl.got.base, msg, strlen(msg)), 0);
    ck_assert_uint_eq(srv.plain.len, strlen(msg));
    ck_assert_int_eq(srv.accepted, 1);
    ck_assert_int_eq(srv.handshakes, 1);
    ck_assert_int_eq(srv.errors, 0);
    ck_assert_int_eq(srv.close_notifies, 1); /* sr_conn_close sent close_notify */
    ck_assert_str_eq(srv.version, version_names[_i]);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    sr_buf_free(&srv.plain);
    sr_buf_free(&cl.got);
    sr_tls_ctx_free(cctx);
    sr_tls_ctx_free(sctx);
}
END_TEST

/* Client verification over the loop: the error reaches on_connect and sr_conn_error. */
typedef struct loop_verify_s {
    const char *client_ca;
    const char *host;
    int status;
    const char *err;
} loop_verify_t;

static const loop_verify_t loop_verify_cases[] = {
    {NULL, "localhost", SR_ETLS, "certificate verify failed"},
    {"ca.crt", "127.0.0.1", 0, ""},
    {"other-ca.crt", "localhost", SR_ETLS, "certificate verify failed"},
};

START_TEST(loop_client_verify)
{
    const loop_verify_t *lv = &loop_verify_cases[_i];
    uv_loop_t loop;
    sr_tls_ctx_t *sctx = server_ctx(NULL);
    sr_tls_ctx_t *cctx = client_ctx(lv->client_ca ? cert(lv->client_ca) : NULL, NULL, NULL);
    srv_t srv;
    cli_t cl;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, sctx, true);
    run_client(&loop, &srv, &cl, lv->host, cctx, "hi\n");
    ck_assert_int_eq(cl.connect_status, lv->status);
    ck_assert_msg(strstr(cl.err, lv->err) != NULL, "error '%s'", cl.err);
    if (lv->status == 0) {
        ck_assert_uint_eq(cl.got.len, 3);
        ck_assert_int_eq(srv.handshakes, 1);
    } else {
        ck_assert_int_eq(cl.closes, 0);
        ck_assert_int_eq(cl.write_cbs, 0);
        ck_assert_int_eq(srv.handshakes, 0);
        ck_assert_int_eq(srv.errors, 1); /* our alert */
        ck_assert_uint_eq(srv.plain.len, 0);
    }
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    sr_buf_free(&srv.plain);
    sr_buf_free(&cl.got);
    sr_tls_ctx_free(cctx);
    sr_tls_ctx_free(sctx);
}
END_TEST

/* A server with ca_file: which client certificates get through. _i selects the
 * protocol version (bit 0) and the certificate (_i / 2). */
typedef struct mtls_case_s {
    const char *crt;
    const char *key;
    bool ok;
    const char *server_err;
} mtls_case_t;

static const mtls_case_t mtls_cases[] = {
    {NULL, NULL, false, "peer did not return a certificate"},
    {"client.crt", "client.key", true, ""},
    {"rogue.crt", "rogue.key", false, "certificate verify failed"},
};

START_TEST(loop_client_certs)
{
    const mtls_case_t *mc = &mtls_cases[_i / 2];
    uv_loop_t loop;
    sr_tls_ctx_t *sctx = server_ctx(cert("ca.crt"));
    sr_tls_ctx_t *cctx =
        client_ctx(cert("ca.crt"), mc->crt ? cert(mc->crt) : NULL, mc->key ? cert(mc->key) : NULL);
    srv_t srv;
    cli_t cl;

    force_version(sctx, versions[_i % 2]);
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, sctx, true);
    run_client(&loop, &srv, &cl, "localhost", cctx, "mtls\n");
    if (mc->ok) {
        ck_assert_int_eq(cl.connect_status, 0);
        ck_assert_uint_eq(cl.got.len, 5);
        ck_assert_int_eq(srv.handshakes, 1);
        ck_assert_str_eq(srv.subject, "CN=check-client");
        ck_assert_int_eq(srv.errors, 0);
    } else {
        /* TLS 1.2 refuses during the handshake; with 1.3 the client may finish first and
         * learn of the refusal from the alert that follows. Either way: an error. */
        ck_assert_msg(cl.connect_status < 0 || (cl.closes == 1 && cl.close_status < 0),
                      "connect %d closes %d close %d", cl.connect_status, cl.closes,
                      cl.close_status);
        ck_assert_int_eq(srv.errors, 1);
        ck_assert_msg(strstr(srv.err, mc->server_err) != NULL, "server error '%s'", srv.err);
        ck_assert_int_eq(srv.handshakes, 0);
        ck_assert_uint_eq(srv.plain.len, 0);
        ck_assert_uint_eq(cl.got.len, 0);
        if (cl.connect_status == 0) {
            ck_assert_int_eq(cl.write_cbs, 1); /* fired, whatever its status */
        }
    }
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    sr_buf_free(&srv.plain);
    sr_buf_free(&cl.got);
    sr_tls_ctx_free(cctx);
    sr_tls_ctx_free(sctx);
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("engine");
    TCase *tl = tcase_create("loop");

    tcase_add_test(tc, ctx_errors);
    tcase_add_loop_test(tc, pair_roundtrip, 0, 2);
    tcase_add_loop_test(tc, pair_gathers_records, 0, 2);
    tcase_add_loop_test(tc, pair_verify, 0, (int)SR_ARRAY_SIZE(verify_cases));
    tcase_add_test(tc, pair_cipher_refused);
    tcase_add_loop_test(tc, server_garbage, 0, (int)SR_ARRAY_SIZE(garbage_cases));
    tcase_add_test(tc, server_random_bytes);
    suite_add_tcase(s, tc);
    tcase_set_timeout(tl, 30);
    tcase_add_loop_test(tl, loop_echo, 0, 2);
    tcase_add_loop_test(tl, loop_client_verify, 0, (int)SR_ARRAY_SIZE(loop_verify_cases));
    tcase_add_loop_test(tl, loop_client_certs, 0, 2 * (int)SR_ARRAY_SIZE(mtls_cases));
    suite_add_tcase(s, tl);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    make_certs();
    sr = srunner_create(tls_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_certs();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
