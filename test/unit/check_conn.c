/*
 * check_conn.c: unit tests for relay/conn.c, outgoing connections on a
 * private libuv loop against small plain TCP servers on 127.0.0.1.
 *
 * Each test counts every callback (connect, read, close, each write) and
 * asserts the counts, closes every handle and checks that the loop closes
 * cleanly. The servers behave badly on purpose: they echo, close at once,
 * never read, reset with unread data, or never accept (so a TLS handshake
 * cannot start). No assertion depends on timing; timers only sequence
 * steps, and a guard timer aborts a test that hangs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "relay/common.h"
#include "relay/conn.h"
#include "relay/tls.h"

#define BIG_WRITES 48
#define BIG_WRITE_LEN (1024 * 1024)

typedef enum srv_mode_e {
    SRV_ECHO = 1,
    SRV_CLOSE_AT_ONCE,
    SRV_NO_READ,     /* accept, never read; closed with the listener */
    SRV_RESET_LATER, /* accept, never read, close after a moment (RST: data unread) */
    SRV_NO_ACCEPT,   /* never accept */
} srv_mode_t;

typedef struct srv_s {
    uv_loop_t *loop;
    srv_mode_t mode;
    uv_tcp_t listener;
    uv_tcp_t peer;
    uv_timer_t timer;
    bool peer_open;
    bool timer_open;
    int port;
    int accepted;
    int handles_open;
    sr_buf_t got;
} srv_t;

typedef struct cli_s {
    srv_t *srv;
    sr_conn_t *conn;
    int connects;
    int connect_status;
    int reads;
    int closes;
    int close_status;
    int writes_at_close; /* write callbacks seen when on_close ran */
    int write_cbs;
    int write_ok;
    int write_cancelled;
    int write_other_err;
    bool close_in_connect;
    bool big_writes;
    char err[512];
    sr_buf_t got;
} cli_t;

static void srv_handle_closed(uv_handle_t *h)
{
    srv_t *srv = h->data;

    srv->handles_open--;
}

static void srv_close_handle(srv_t *srv, uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, srv_handle_closed);
    }
}

static void srv_shutdown(srv_t *srv)
{
    srv_close_handle(srv, (uv_handle_t *)&srv->listener);
    if (srv->peer_open) {
        srv_close_handle(srv, (uv_handle_t *)&srv->peer);
    }
    if (srv->timer_open) {
        srv_close_handle(srv, (uv_handle_t *)&srv->timer);
    }
}

static void s_write_done(uv_write_t *req, int status)
{
    sr_free(req);
}

static void s_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536];

    buf->base = slab;
    buf->len = sizeof(slab);
}

static void s_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    srv_t *srv = st->data;
    uv_write_t *req;
    uv_buf_t b;

    if (nread < 0) {
        srv_close_handle(srv, (uv_handle_t *)&srv->peer);
        return;
    }
    if (nread == 0) {
        return;
    }
    sr_buf_append(&srv->got, buf->base, (size_t)nread);
    req = sr_malloc(sizeof(*req) + (size_t)nread);
    memcpy(req + 1, buf->base, (size_t)nread);
    b = uv_buf_init((char *)(req + 1), (unsigned)nread);
    ck_assert_int_eq(uv_write(req, st, &b, 1, s_write_done), 0);
}

static void s_reset(uv_timer_t *t)
{
    srv_t *srv = t->data;

    srv_close_handle(srv, (uv_handle_t *)&srv->peer);
}

static void s_accept(uv_stream_t *l, int status)
{
    srv_t *srv = l->data;

    ck_assert_int_eq(status, 0);
    if (srv->mode == SRV_NO_ACCEPT) {
        return;
    }
    ck_assert(!srv->peer_open); /* one client per test */
    uv_tcp_init(srv->loop, &srv->peer);
    srv->peer.data = srv;
    srv->peer_open = true;
    srv->handles_open++;
    ck_assert_int_eq(uv_accept(l, (uv_stream_t *)&srv->peer), 0);
    srv->accepted++;
    switch (srv->mode) {
    case SRV_ECHO:
        ck_assert_int_eq(uv_read_start((uv_stream_t *)&srv->peer, s_alloc, s_read), 0);
        break;
    case SRV_CLOSE_AT_ONCE:
        srv_close_handle(srv, (uv_handle_t *)&srv->peer);
        break;
    case SRV_RESET_LATER:
        uv_timer_start(&srv->timer, s_reset, 100, 0);
        break;
    default:
        break;
    }
}

static void srv_start(srv_t *srv, uv_loop_t *loop, srv_mode_t mode)
{
    struct sockaddr_in sin;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->mode = mode;
    sr_buf_init(&srv->got);
    ck_assert_int_eq(uv_tcp_init(loop, &srv->listener), 0);
    srv->listener.data = srv;
    srv->handles_open++;
    uv_timer_init(loop, &srv->timer);
    srv->timer.data = srv;
    srv->timer_open = true;
    srv->handles_open++;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    ck_assert_int_eq(uv_tcp_bind(&srv->listener, (struct sockaddr *)&sin, 0), 0);
    ck_assert_int_eq(uv_listen((uv_stream_t *)&srv->listener, 16, s_accept), 0);
    ck_assert_int_eq(uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len), 0);
    srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- client callbacks ----------------------------------------------- */

static void c_write_done(void *arg, int status)
{
    cli_t *cl = arg;

    cl->write_cbs++;
    if (status == 0) {
        cl->write_ok++;
    } else if (status == UV_ECANCELED) {
        cl->write_cancelled++;
    } else {
        cl->write_other_err++;
    }
}

static void c_connect(sr_conn_t *c, int status)
{
    cli_t *cl = sr_conn_data(c);
    int i;

    cl->connects++;
    cl->connect_status = status;
    snprintf(cl->err, sizeof(cl->err), "%s", sr_conn_error(c));
    if (status < 0) {
        cl->conn = NULL;
        srv_shutdown(cl->srv);
        return;
    }
    if (cl->close_in_connect) {
        sr_conn_close(c);
        cl->conn = NULL;
        srv_shutdown(cl->srv);
        return;
    }
    if (cl->big_writes) {
        char *chunk = sr_malloc(BIG_WRITE_LEN);

        memset(chunk, 'x', BIG_WRITE_LEN);
        for (i = 0; i < BIG_WRITES; i++) {
            ck_assert_int_eq(sr_conn_write(c, chunk, BIG_WRITE_LEN, c_write_done, cl), 0);
        }
        sr_free(chunk); /* the conn copied it */
        ck_assert_uint_eq(sr_conn_pending(c), (size_t)BIG_WRITES * BIG_WRITE_LEN);
        ck_assert_int_eq(cl->write_cbs, 0); /* callbacks never fire inside the call */
        return;
    }
    if (cl->srv->mode == SRV_ECHO) {
        ck_assert_int_eq(sr_conn_write(c, "ping\n", 5, c_write_done, cl), 0);
        ck_assert_int_eq(sr_conn_write(c, "pong\n", 5, NULL, NULL), 0);
        ck_assert_uint_eq(sr_conn_pending(c), 10);
        ck_assert_int_eq(sr_conn_write(c, "", 0, c_write_done, cl), UV_EINVAL);
    }
}

static void c_read(sr_conn_t *c, const char *data, size_t len)
{
    cli_t *cl = sr_conn_data(c);

    cl->reads++;
    sr_buf_append(&cl->got, data, len);
    if (cl->got.len >= 10) {
        ck_assert_uint_eq(sr_conn_pending(c), 0);
        sr_conn_close(c);
        ck_assert_int_eq(sr_conn_write(c, "late", 4, c_write_done, cl), UV_ENOTCONN);
        sr_conn_close(c); /* twice is harmless */
        cl->conn = NULL;
        srv_shutdown(cl->srv);
    }
}

static void c_close(sr_conn_t *c, int status)
{
    cli_t *cl = sr_conn_data(c);

    cl->closes++;
    cl->close_status = status;
    cl->writes_at_close = cl->write_cbs;
    cl->conn = NULL;
    srv_shutdown(cl->srv);
}

static const sr_conn_cbs_t c_cbs = {c_connect, c_read, c_close};

static void guard_fired(uv_timer_t *t)
{
    ck_abort_msg("test did not finish within 20 s");
}

static void close_client(uv_timer_t *t)
{
    cli_t *cl = t->data;

    if (cl->conn != NULL) {
        int before = cl->write_cbs;

        sr_conn_close(cl->conn);
        cl->conn = NULL;
        /* Every pending write callback fired before sr_conn_close returned. */
        ck_assert_int_eq(cl->write_cbs, BIG_WRITES);
        ck_assert_int_ge(cl->write_cbs - before, 1);
    }
    srv_shutdown(cl->srv);
}

/* Connect to host:srv->port and run until every handle has closed. When
 * close_after_ms is set, the client is closed by a timer after that long. */
static void run(uv_loop_t *loop, srv_t *srv, cli_t *cl, const char *host, int port,
                sr_tls_ctx_t *tls, uint64_t timeout_ms, uint64_t close_after_ms)
{
    uv_timer_t guard, closer;
    int rc;

    cl->srv = srv;
    sr_buf_init(&cl->got);
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, guard_fired, 20000, 0);
    uv_unref((uv_handle_t *)&guard);
    uv_timer_init(loop, &closer);
    closer.data = cl;
    if (close_after_ms > 0) {
        uv_timer_start(&closer, close_client, close_after_ms, 0);
    }
    rc = sr_conn_connect(loop, host, port, tls, timeout_ms, &c_cbs, cl, &cl->conn);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_eq(sr_conn_data(cl->conn), cl);
    /* Not connected yet: writes are refused and their callbacks never fire. */
    ck_assert_int_eq(sr_conn_write(cl->conn, "early", 5, c_write_done, cl), UV_ENOTCONN);
    ck_assert_uint_eq(sr_conn_pending(cl->conn), 0);
    ck_assert_str_eq(sr_conn_error(cl->conn), "");
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_close((uv_handle_t *)&closer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(srv->handles_open, 0);
    ck_assert_int_eq(cl->connects, 1); /* exactly once, always */
    ck_assert_int_le(cl->closes, 1);
}

static void finish(uv_loop_t *loop, srv_t *srv, cli_t *cl)
{
    ck_assert_int_eq(uv_loop_close(loop), 0);
    sr_buf_free(&srv->got);
    sr_buf_free(&cl->got);
}

/* ---- tests ---------------------------------------------------------- */

START_TEST(plain_echo)
{
    /* "localhost" may resolve to ::1 first, where nobody listens: the next address works. */
    static const char *const hosts[] = {"127.0.0.1", "localhost"};
    uv_loop_t loop;
    srv_t srv;
    cli_t cl;

    memset(&cl, 0, sizeof(cl));
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, SRV_ECHO);
    run(&loop, &srv, &cl, hosts[_i], srv.port, NULL, 5000, 0);
    ck_assert_int_eq(cl.connect_status, 0);
    ck_assert_int_eq(cl.closes, 0); /* we closed: no on_close */
    ck_assert_int_eq(cl.write_cbs, 1);
    ck_assert_int_eq(cl.write_ok, 1);
    ck_assert_uint_eq(cl.got.len, 10);
    ck_assert_int_eq(memcmp(cl.got.base, "ping\npong\n", 10), 0);
    ck_assert_uint_eq(srv.got.len, 10);
    ck_assert_int_eq(srv.accepted, 1);
    finish(&loop, &srv, &cl);
}
END_TEST

START_TEST(refused)
{
    uv_loop_t loop;
    srv_t srv;
    cli_t cl;
    uv_tcp_t probe;
    struct sockaddr_in sin;
    struct sockaddr_storage ss;
    int len = sizeof(ss), port;

    /* A port that was free a moment ago: bound, never listened on, closed. */
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    uv_tcp_init(&loop, &probe);
    uv_ip4_addr("127.0.0.1", 0, &sin);
    ck_assert_int_eq(uv_tcp_bind(&probe, (struct sockaddr *)&sin, 0), 0);
    ck_assert_int_eq(uv_tcp_getsockname(&probe, (struct sockaddr *)&ss, &len), 0);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    uv_close((uv_handle_t *)&probe, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);

    memset(&cl, 0, sizeof(cl));
    srv_start(&srv, &loop, SRV_ECHO); /* unused: gives run() something to shut */
    run(&loop, &srv, &cl, "127.0.0.1", port, NULL, 5000, 0);
    ck_assert_int_eq(cl.connect_status, UV_ECONNREFUSED);
    ck_assert_int_eq(cl.closes, 0);
    ck_assert_int_eq(cl.reads, 0);
    ck_assert_int_eq(cl.write_cbs, 0);
    ck_assert_str_eq(cl.err, "");
    ck_assert_int_eq(srv.accepted, 0);
    finish(&loop, &srv, &cl);
}
END_TEST

START_TEST(bad_arguments)
{
    uv_loop_t loop;
    sr_conn_t *c = (sr_conn_t *)1;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(sr_conn_connect(&loop, "", 80, NULL, 0, &c_cbs, NULL, &c), UV_EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(sr_conn_connect(&loop, "127.0.0.1", 0, NULL, 0, &c_cbs, NULL, &c), UV_EINVAL);
    ck_assert_int_eq(sr_conn_connect(&loop, "127.0.0.1", 65536, NULL, 0, &c_cbs, NULL, &c),
                     UV_EINVAL);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* The server completes TCP but never accepts: the TLS handshake cannot
 * progress, and the timeout ends it. */
START_TEST(handshake_timeout)
{
    uv_loop_t loop;
    srv_t srv;
    cli_t cl;
    sr_tls_ctx_t *tls = NULL;
    char err[256];

    ck_assert_int_eq(sr_tls_client_ctx_create(NULL, &tls, err, sizeof(err)), 0);
    memset(&cl, 0, sizeof(cl));
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, SRV_NO_ACCEPT);
    run(&loop, &srv, &cl, "127.0.0.1", srv.port, tls, 300, 0);
    ck_assert_int_eq(cl.connect_status, UV_ETIMEDOUT);
    ck_assert_str_eq(cl.err, "TLS handshake timed out");
    ck_assert_int_eq(cl.closes, 0);
    ck_assert_int_eq(cl.reads, 0);
    finish(&loop, &srv, &cl);
    sr_tls_ctx_free(tls);
}
END_TEST

/* The peer closes an idle connection: on_close(0) once, unprompted. */
START_TEST(peer_closes)
{
    uv_loop_t loop;
    srv_t srv;
    cli_t cl;

    memset(&cl, 0, sizeof(cl));
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, SRV_CLOSE_AT_ONCE);
    run(&loop, &srv, &cl, "127.0.0.1", srv.port, NULL, 5000, 0);
    ck_assert_int_eq(cl.connect_status, 0);
    ck_assert_int_eq(cl.closes, 1);
    ck_assert_int_eq(cl.close_status, 0);
    ck_assert_int_eq(cl.reads, 0);
    ck_assert_int_eq(srv.accepted, 1);
    finish(&loop, &srv, &cl);
}
END_TEST

/* The peer closes during the TLS handshake: on_connect gets the error. */
START_TEST(peer_closes_in_handshake)
{
    uv_loop_t loop;
    srv_t srv;
    cli_t cl;
    sr_tls_ctx_t *tls = NULL;
    char err[256];

    ck_assert_int_eq(sr_tls_client_ctx_create(NULL, &tls, err, sizeof(err)), 0);
    memset(&cl, 0, sizeof(cl));
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, SRV_CLOSE_AT_ONCE);
    run(&loop, &srv, &cl, "localhost", srv.port, tls, 5000, 0);
    ck_assert_int_lt(cl.connect_status, 0);
    ck_assert_int_ne(cl.connect_status, UV_ETIMEDOUT);
    ck_assert_int_eq(cl.closes, 0);
    finish(&loop, &srv, &cl);
    sr_tls_ctx_free(tls);
}
END_TEST

START_TEST(close_in_on_connect)
{
    uv_loop_t loop;
    srv_t srv;
    cli_t cl;

    memset(&cl, 0, sizeof(cl));
    cl.close_in_connect = true;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, SRV_ECHO);
    run(&loop, &srv, &cl, "127.0.0.1", srv.port, NULL, 5000, 0);
    ck_assert_int_eq(cl.connect_status, 0);
    ck_assert_int_eq(cl.closes, 0);
    ck_assert_int_eq(cl.reads, 0);
    finish(&loop, &srv, &cl);
}
END_TEST

/* Writes stuck behind a peer that does not read; sr_conn_close cancels them. */
START_TEST(close_cancels_writes)
{
    uv_loop_t loop;
    srv_t srv;
    cli_t cl;

    memset(&cl, 0, sizeof(cl));
    cl.big_writes = true;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, SRV_NO_READ);
    run(&loop, &srv, &cl, "127.0.0.1", srv.port, NULL, 5000, 200);
    ck_assert_int_eq(cl.connect_status, 0);
    ck_assert_int_eq(cl.closes, 0);
    ck_assert_int_eq(cl.write_cbs, BIG_WRITES);
    ck_assert_int_ge(cl.write_cancelled, 1);
    ck_assert_int_eq(cl.write_ok + cl.write_cancelled, BIG_WRITES);
    finish(&loop, &srv, &cl);
}
END_TEST

/* The peer resets with our writes pending: every write callback fires
 * (some with errors) before on_close reports the error, once. */
START_TEST(peer_resets_with_writes)
{
    uv_loop_t loop;
    srv_t srv;
    cli_t cl;

    memset(&cl, 0, sizeof(cl));
    cl.big_writes = true;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    srv_start(&srv, &loop, SRV_RESET_LATER);
    run(&loop, &srv, &cl, "127.0.0.1", srv.port, NULL, 5000, 0);
    ck_assert_int_eq(cl.connect_status, 0);
    ck_assert_int_eq(cl.closes, 1);
    ck_assert_int_lt(cl.close_status, 0);
    ck_assert_int_eq(cl.writes_at_close, BIG_WRITES);
    ck_assert_int_eq(cl.write_cbs, BIG_WRITES);
    ck_assert_int_ge(cl.write_cancelled + cl.write_other_err, 1);
    finish(&loop, &srv, &cl);
}
END_TEST

static Suite *conn_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("conn");

    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, plain_echo, 0, 2);
    tcase_add_test(tc, refused);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, handshake_timeout);
    tcase_add_test(tc, peer_closes);
    tcase_add_test(tc, peer_closes_in_handshake);
    tcase_add_test(tc, close_in_on_connect);
    tcase_add_test(tc, close_cancels_writes);
    tcase_add_test(tc, peer_resets_with_writes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conn_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
