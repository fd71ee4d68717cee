/*
 * server.c: listeners, connections and input worker threads (see
 * server.h).
 *
 * Ownership: an input_t (one per configured input) is shared by all
 * workers and owns the bound sockets until a worker adopts them; a
 * listener_t and every conn_t belong to one worker and are touched only
 * on its loop. A connection owns its framer, TLS session and PROXY
 * buffer; all are freed in the TCP handle's close callback.
 *
 * A connection goes through: PROXY header (when proxy_protocol), TLS
 * handshake (tls inputs), then frames. Memory per connection is bounded:
 * the PROXY buffer by SR_PROXY_MAX_HEADER, the framer by
 * max_message_size, TLS by OpenSSL's record size; reading stops while
 * the pipeline applies back-pressure.
 *
 * Threads: one uv loop per worker. The only cross-thread state is the
 * input_t connection counter (atomic), each worker's count of open
 * connections (atomic) and its queue of handed-off sockets (locked), the
 * pipeline handover and the worker's stop flag (delivered, like handed-off
 * sockets, with uv_async_send).
 *
 * Balance: every worker listens on its own SO_REUSEPORT socket and the
 * kernel picks one by a hash of the addresses, so a few long-lived
 * connections often land on one worker (4 senders on 2 workers: 3:1 or
 * 4:0 in 10 of 16 cases). A worker that accepts a connection while
 * another has fewer open hands the socket over to it; connections end up
 * spread by count, whichever socket the kernel chose.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "server.h"
#include "tls.h"

#define MAX_WORKERS 64
#define READ_BUF_SIZE (64 * 1024)
/* UDP listeners read with recvmmsg: libuv cuts the buffer into 64 KiB
 * slots, one datagram each, so this many datagrams per system call. Only
 * the pages datagrams land in become resident. */
#define UDP_MMSG 16
/* Read coalescing: a loop iteration that emptied its sockets ends with a
 * wait before the next poll, so that the poll finds what arrived
 * meanwhile on every connection at once. Senders that write one message
 * per system call otherwise cost a wake-up, a poll, a read, a handover and
 * an output write for every few messages: at a moderate rate (a few
 * hundred thousand a second, on two cores shared with the sender) a
 * message costs about twice what it does at full speed. The wait is what
 * the rate of the last iteration (bytes read over the time since the
 * previous poll) needs to bring COALESCE_BYTES, at most COALESCE_WAIT_US:
 * a slow sender's messages wait up to 1 ms, and a worker near full speed,
 * whose reads come close to COALESCE_BYTES by themselves, waits little or
 * not at all, so it does not hold its senders back. The wait follows the
 * handover, so it delays nothing already read. A worker that left data
 * unread (a full read buffer, or a UDP socket libuv stopped reading before
 * it was empty) or read COALESCE_BYTES is busy and never waits. */
#define COALESCE_BYTES (64 * 1024)
#define COALESCE_WAIT_US 1000
#define COALESCE_MIN_WAIT_US 20 /* shorter waits are not worth a system call */
#define TICK_MS 50
#define SWEEP_TICKS 20 /* timeouts are checked once a second */

typedef struct worker_s worker_t;

typedef struct input_s {
    const sr_input_conf_t *conf;
    const char *type_name;
    int fds[MAX_WORKERS];
    atomic_int conns;
    sr_metric_t *m_messages;
    sr_metric_t *m_bytes;
    sr_metric_t *m_conns;
    sr_metric_t *m_parse_errors;
    sr_metric_t *m_truncated;
} input_t;

/* Kinds of warnings a listener rate-limits separately. */
enum { RL_TLS = 0, RL_PROXY, RL_ACCEPT, RL_LIMIT, RL_TIMEOUT, RL_COUNT /* number of kinds */ };

typedef struct listener_s {
    worker_t *w;
    input_t *in;
    union {
        uv_udp_t udp;
        uv_tcp_t tcp;
    } h;
    bool open;
    sr_input_stats_t st;         /* published on the worker's tick */
    sr_ratelimit_t rl[RL_COUNT]; /* one per kind, so a flood of one cannot hide another */
    char *ubuf;                  /* UDP: the recvmmsg buffer */
    bool udp_more;               /* UDP: read this iteration, not yet to empty */
    struct sockaddr_storage ua;  /* UDP: the last sender, and its text */
    char ua_ip[64];
} listener_t;

enum { CONN_PROXY = 0, CONN_TLS, CONN_OPEN, CONN_CLOSING };

typedef struct conn_s {
    uv_tcp_t tcp;
    listener_t *l;
    struct conn_s *prev;
    struct conn_s *next;
    uint8_t state;
    bool paused;
    bool got_bytes;
    bool tls_fed; /* TLS bytes arrived (a PROXY header alone does not count) */
    bool counted; /* holds one of input_t.conns */
    bool handed;  /* its socket went to another worker; no longer in n_conns */
    uint64_t opened_ms;
    uint64_t active_ms;
    sr_framer_t framer;
    sr_tls_t *tls;
    char *proxy_buf;
    uint32_t proxy_len;
    char source[48]; /* what records carry */
    char peer[112];  /* ip:port, for logs */
} conn_t;

/* An accepted socket handed to another worker. */
typedef struct handoff_s {
    int fd;
    size_t listener; /* index into the worker's listeners (= the input's) */
} handoff_t;

struct worker_s {
    int idx;
    sr_server_t *srv;
    atomic_int n_conns;    /* stream connections open here or handed here */
    pthread_mutex_t hand_mu;
    handoff_t *hand;       /* sockets handed to this worker, not yet adopted */
    size_t n_hand;
    size_t cap_hand;
    uv_thread_t tid;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    uv_check_t flush; /* hands records over once per loop iteration, then may wait */
    uv_timer_t resume; /* re-checks back-pressure soon after a pause */
    uint64_t resume_ms;
    unsigned ticks;
    listener_t *listeners;
    size_t n_listeners;
    conn_t *conns;
    size_t n_paused;
    atomic_bool stop;
    bool started;
    sr_ingest_t ingest;
    size_t iter_bytes;   /* read in this loop iteration (read coalescing) */
    bool iter_full;      /* a stream read filled the buffer in this iteration */
    uint64_t iter_start; /* uv_hrtime() when the last iteration's wait began */
    char rbuf[READ_BUF_SIZE];
};

struct sr_server_s {
    const sr_config_t *cfg;
    sr_pipeline_t *p;
    input_t *inputs;
    size_t n_inputs;
    worker_t *workers;
    size_t n_workers;
};

static const char *const type_names[] = {"udp", "tcp", "tls"};

/* ---- addresses ------------------------------------------------------ */

/* Text of an address; IPv4-mapped IPv6 shows as plain IPv4. */
static void addr_text(const struct sockaddr *sa, char *ip, size_t iplen, int *port)
{
    ip[0] = '\0';
    *port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(a->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
        } else {
            inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
        }
        *port = ntohs(a->sin6_port);
    }
}

/* ---- binding (main thread) ------------------------------------------ */

static int bind_one(const sr_input_conf_t *c, const struct sockaddr *sa, socklen_t len)
{
    int type = c->type == SR_INPUT_UDP ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;

    if (fd < 0) {
        return -errno;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (sa->sa_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (type == SOCK_DGRAM) {
        /* Room for a burst while the worker is off the CPU. As rsyslog's
         * imudp does: past net.core.rmem_max when allowed (CAP_NET_ADMIN),
         * else up to it. */
        int rcvbuf = 8 * 1024 * 1024;

        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        }
    }
    if (bind(fd, sa, len) < 0 || (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
        int err = -errno;

        close(fd);
        return err;
    }
    return fd;
}

static int bind_input(input_t *in, size_t n_workers)
{
    const sr_input_conf_t *c = in->conf;
    struct sockaddr_storage ss;
    socklen_t len = c->listen.len;
    char ip[64];
    int port;
    size_t i;

    memcpy(&ss, &c->listen.sa, sizeof(ss));
    for (i = 0; i < n_workers; i++) {
        int fd = bind_one(c, (struct sockaddr *)&ss, len);

        if (fd < 0) {
            sr_error("input \"%s\" (%s): cannot listen on %s: %s", c->name, in->type_name,
                     c->listen.text, sr_strerror(fd));
            return fd;
        }
        in->fds[i] = fd;
        if (i == 0) {
            /* Port 0 picks a port; the other workers share the one picked. */
            len = sizeof(ss);
            getsockname(fd, (struct sockaddr *)&ss, &len);
        }
    }
    addr_text((struct sockaddr *)&ss, ip, sizeof(ip), &port);
    sr_info("input \"%s\" (%s) listening on %s%s%s:%d", c->name, in->type_name,
            ss.ss_family == AF_INET6 ? "[" : "", ip, ss.ss_family == AF_INET6 ? "]" : "", port);
    return 0;
}

/* ---- connections ---------------------------------------------------- */

static void on_frame(void *arg, const char *frame, size_t len, int flags)
{
    conn_t *c = arg;
    worker_t *w = c->l->w;

    sr_ingest_frame(&w->ingest, c->l->in->conf, &c->l->st, frame, len, flags, c->source);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    worker_t *w = c->l->w;

    if (c->prev) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    if (c->paused && w->n_paused > 0) {
        w->n_paused--;
    }
    if (c->counted) {
        atomic_fetch_sub(&c->l->in->conns, 1);
        sr_metric_add(c->l->in->m_conns, -1);
    }
    if (!c->handed) {
        atomic_fetch_sub(&w->n_conns, 1);
    }
    sr_framer_free(&c->framer);
    if (c->tls) {
        sr_tls_free(c->tls);
    }
    free(c->proxy_buf);
    free(c);
}

/* Close a connection. `deliver`: hand over a partial frame first (EOF,
 * shutdown), as opposed to errors, where the stream cannot be trusted. */
static void conn_close(conn_t *c, bool deliver)
{
    if (c->state == CONN_CLOSING) {
        return;
    }
    if (deliver && c->state == CONN_OPEN) {
        sr_framer_finish(&c->framer, on_frame, c);
    }
    c->state = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void reject(conn_t *c, const char *reason)
{
    sr_metric_add(sr_metric(SR_M_INPUT_REJECTED, reason), 1);
    conn_close(c, false);
}

typedef struct wreq_s {
    uv_write_t req;
    char data[];
} wreq_t;

static void on_written(uv_write_t *req, int status)
{
    free(req);
}

/* Ciphertext for the peer (handshake, alerts). Small and rare: copy. */
static int on_cipher(void *arg, const char *data, size_t len)
{
    conn_t *c = arg;
    wreq_t *r;
    uv_buf_t b;
    int rc;

    if (c->state == CONN_CLOSING) {
        return UV_ECANCELED;
    }
    r = sr_malloc(sizeof(*r) + len);
    memcpy(r->data, data, len);
    b = uv_buf_init(r->data, (unsigned)len);
    rc = uv_write(&r->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc < 0) {
        free(r);
    }
    return rc;
}

static void on_plain(void *arg, const char *data, size_t len)
{
    conn_t *c = arg;

    sr_framer_feed(&c->framer, data, len, on_frame, c);
}

static void on_handshake(void *arg)
{
    conn_t *c = arg;

    c->state = CONN_OPEN;
    sr_debug("input \"%s\": TLS handshake with %s done (%s%s%s)", c->l->in->conf->name, c->peer,
             sr_tls_version(c->tls) ? sr_tls_version(c->tls) : "?",
             sr_tls_peer_subject(c->tls) ? ", client " : "",
             sr_tls_peer_subject(c->tls) ? sr_tls_peer_subject(c->tls) : "");
}

static const sr_tls_cbs_t tls_cbs = {on_plain, on_cipher, on_handshake};

/* Bytes after the PROXY header (or all bytes without one). */
static void conn_data(conn_t *c, const char *p, size_t n)
{
    listener_t *l = c->l;
    int rc;

    if (n == 0) {
        return;
    }
    if (c->tls != NULL) {
        c->tls_fed = true;
        rc = sr_tls_feed(c->tls, p, n);
        if (rc < 0) {
            sr_log_limited(&l->rl[RL_TLS], SR_LOG_WARNING,
                           "input \"%s\": closing TLS connection from %s: %s%s", l->in->conf->name,
                           c->peer, sr_tls_error(c->tls),
                           sr_tls_handshake_done(c->tls) ? "" : " (during handshake)");
            reject(c, sr_tls_handshake_done(c->tls) ? "tls_error" : "tls_handshake");
        } else if (rc == 1) {
            conn_close(c, true);
        }
        return;
    }
    c->state = CONN_OPEN;
    sr_framer_feed(&c->framer, p, n, on_frame, c);
}

static void start_tls(conn_t *c)
{
    c->state = CONN_TLS;
    c->tls = sr_tls_create(c->l->in->conf->tls, true, NULL, &tls_cbs, c);
    if (c->tls == NULL) {
        reject(c, "tls_error");
    }
}

static void proxy_data(conn_t *c, const char *p, size_t n)
{
    listener_t *l = c->l;
    sr_proxy_info_t info;
    size_t take = SR_MIN(n, (size_t)(SR_PROXY_MAX_HEADER - c->proxy_len));
    int rc;

    if (c->proxy_buf == NULL) {
        c->proxy_buf = sr_malloc(SR_PROXY_MAX_HEADER);
    }
    memcpy(c->proxy_buf + c->proxy_len, p, take);
    c->proxy_len += (uint32_t)take;
    rc = sr_proxy_parse(c->proxy_buf, c->proxy_len, &info);
    if (rc == 0 && c->proxy_len < SR_PROXY_MAX_HEADER) {
        return;
    }
    if (rc <= 0) {
        sr_log_limited(&l->rl[RL_PROXY], SR_LOG_WARNING,
                       "input \"%s\": closing connection from %s: no valid PROXY protocol header",
                       l->in->conf->name, c->peer);
        reject(c, "proxy_header");
        return;
    }
    if (!info.local) {
        char via[sizeof(c->peer)];
        int port;

        memcpy(via, c->peer, sizeof(via));
        addr_text((struct sockaddr *)&info.src, c->source, sizeof(c->source), &port);
        snprintf(c->peer, sizeof(c->peer), "%s:%d via %.40s", c->source, port, via);
    }
    {
        /* What followed the header in this read (and any earlier ones). */
        size_t rest = c->proxy_len - (size_t)rc;
        char *tail = NULL;

        if (rest > 0) {
            tail = sr_malloc(rest);
            memcpy(tail, c->proxy_buf + rc, rest);
        }
        free(c->proxy_buf);
        c->proxy_buf = NULL;
        if (l->in->conf->type == SR_INPUT_TLS) {
            start_tls(c);
        } else {
            c->state = CONN_OPEN;
        }
        if (c->state != CONN_CLOSING) {
            conn_data(c, tail, rest);
        }
        free(tail);
        if (c->state != CONN_CLOSING && take < n) {
            conn_data(c, p + take, n - take);
        }
    }
}

static void arm_resume(worker_t *w);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn_t *c = h->data;

    *buf = uv_buf_init(c->l->w->rbuf, READ_BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    worker_t *w = c->l->w;

    if (nread < 0) {
        if (!c->got_bytes) {
            /* Connect and close without a byte: a load balancer's health
             * check. Not worth a warning. */
            sr_debug("input \"%s\": %s closed without sending anything", c->l->in->conf->name,
                     c->peer);
        } else if (nread != UV_EOF) {
            sr_debug("input \"%s\": connection from %s: %s", c->l->in->conf->name, c->peer,
                     sr_strerror((int)nread));
        }
        if (c->state == CONN_PROXY && c->got_bytes) {
            reject(c, "proxy_header");
        } else if (c->state == CONN_TLS && c->tls_fed) {
            reject(c, "tls_handshake"); /* gave up in the middle of the handshake */
        } else {
            conn_close(c, true);
        }
        sr_ingest_flush(&w->ingest);
        return;
    }
    if (nread == 0) {
        return;
    }
    c->got_bytes = true;
    w->iter_bytes += (size_t)nread;
    w->iter_full |= (size_t)nread == READ_BUF_SIZE;
    c->active_ms = uv_now(&w->loop);
    if (c->state == CONN_PROXY) {
        proxy_data(c, buf->base, (size_t)nread);
    } else {
        conn_data(c, buf->base, (size_t)nread);
    }
    sr_ingest_flush(&w->ingest);
    if (c->state != CONN_CLOSING && sr_pipeline_backpressure(w->srv->p)) {
        uv_read_stop(s);
        c->paused = true;
        w->n_paused++;
        arm_resume(w);
    }
}

/* A connection object on l's worker loop, listed there (the caller has
 * counted it in n_conns), its handle not yet holding a socket. */
static conn_t *conn_new(listener_t *l)
{
    worker_t *w = l->w;
    conn_t *c = sr_calloc(1, sizeof(*c));

    c->l = l;
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    c->next = w->conns;
    if (w->conns) {
        w->conns->prev = c;
    }
    w->conns = c;
    c->state = CONN_PROXY;
    return c;
}

static void conn_start(conn_t *c);

/* The worker with the fewest connections, if it has fewer than w. */
static worker_t *less_loaded(worker_t *w)
{
    sr_server_t *s = w->srv;
    worker_t *best = w;
    int least = atomic_load(&w->n_conns);
    size_t i;

    for (i = 0; i < s->n_workers; i++) {
        worker_t *o = &s->workers[i];
        int n = atomic_load(&o->n_conns);

        /* Every worker's loop exists before any thread starts; one whose
         * thread has not run yet adopts the socket when it does. */
        if (o != w && !atomic_load(&o->stop) && n < least) {
            best = o;
            least = n;
        }
    }
    return best;
}

/* Queue the socket of c (just accepted here) for worker `to`, as a
 * duplicate descriptor: closing c's handle then closes only the original.
 * False when it cannot be duplicated (out of descriptors): c stays here. */
static bool hand_off(conn_t *c, worker_t *to)
{
    uv_os_fd_t fd;
    int dup_fd;

    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) < 0 ||
        (dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        return false;
    }
    atomic_fetch_add(&to->n_conns, 1);
    pthread_mutex_lock(&to->hand_mu);
    if (to->n_hand == to->cap_hand) {
        to->cap_hand = to->cap_hand ? to->cap_hand * 2 : 16;
        to->hand = sr_realloc(to->hand, to->cap_hand * sizeof(*to->hand));
    }
    to->hand[to->n_hand].fd = dup_fd;
    to->hand[to->n_hand].listener = (size_t)(c->l - c->l->w->listeners);
    to->n_hand++;
    pthread_mutex_unlock(&to->hand_mu);
    uv_async_send(&to->wake);
    return true;
}

static void on_connection(uv_stream_t *server, int status)
{
    listener_t *l = server->data;
    worker_t *w = l->w, *to;
    const sr_input_conf_t *ic = l->in->conf;
    conn_t *c;

    if (status < 0) {
        sr_log_limited(&l->rl[RL_ACCEPT], SR_LOG_WARNING, "input \"%s\": accept failed: %s",
                       ic->name, sr_strerror(status));
        return;
    }
    atomic_fetch_add(&w->n_conns, 1);
    c = conn_new(l);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c, false);
        return;
    }
    to = less_loaded(w);
    if (to != w && hand_off(c, to)) {
        /* Uncounted here at once, not when the handle has closed: the
         * next accept in this same loop iteration must see it gone, or a
         * burst of connections all goes to the other worker. */
        atomic_fetch_sub(&w->n_conns, 1);
        c->handed = true;
        conn_close(c, false); /* the duplicate lives on in `to` */
        return;
    }
    conn_start(c);
}

/* A handed-off socket arrives: adopt it as if accepted here. Already
 * counted in w->n_conns by the worker that handed it over. */
static void adopt(worker_t *w, const handoff_t *h)
{
    conn_t *c = conn_new(&w->listeners[h->listener]);

    if (uv_tcp_open(&c->tcp, h->fd) < 0) {
        close(h->fd);
        conn_close(c, false);
        return;
    }
    conn_start(c);
}

/* An accepted connection: name its peer, apply max_connections, start
 * the PROXY header, TLS handshake or framing, and start reading. */
static void conn_start(conn_t *c)
{
    listener_t *l = c->l;
    worker_t *w = l->w;
    const sr_input_conf_t *ic = l->in->conf;
    struct sockaddr_storage ss;
    int len = sizeof(ss), port;
    char ip[64];

    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len);
    addr_text((struct sockaddr *)&ss, ip, sizeof(ip), &port);
    snprintf(c->source, sizeof(c->source), "%.47s", ip);
    snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
    if (atomic_fetch_add(&l->in->conns, 1) >= ic->max_connections) {
        atomic_fetch_sub(&l->in->conns, 1);
        sr_log_limited(&l->rl[RL_LIMIT], SR_LOG_WARNING,
                       "input \"%s\": refusing connection from %s: max_connections (%lld) reached",
                       ic->name, c->peer, (long long)ic->max_connections);
        reject(c, "max_connections");
        return;
    }
    c->counted = true;
    sr_metric_add(l->in->m_conns, 1);
    sr_debug("input \"%s\": connection from %s on worker %d", ic->name, c->peer, w->idx);
    c->opened_ms = c->active_ms = uv_now(&w->loop);
    uv_tcp_nodelay(&c->tcp, 1);
    sr_framer_init(&c->framer, (sr_framing_t)ic->framing, (uint32_t)ic->max_message_size);
    if (!ic->proxy_protocol) {
        if (ic->type == SR_INPUT_TLS) {
            start_tls(c);
        } else {
            c->state = CONN_OPEN;
        }
    }
    if (c->state == CONN_CLOSING) {
        return;
    }
    if (sr_pipeline_backpressure(w->srv->p)) {
        c->paused = true;
        w->n_paused++;
        arm_resume(w);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- datagrams ------------------------------------------------------ */

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    listener_t *l = h->data;

    *buf = uv_buf_init(l->ubuf, UDP_MMSG * READ_BUF_SIZE);
}

/* The sender's address as text, reusing the last one when it is the same
 * sender (inet_ntop for every datagram is a measurable cost). */
static const char *udp_source(listener_t *l, const struct sockaddr *addr)
{
    size_t n =
        addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int port;

    if (l->ua_ip[0] == '\0' || memcmp(&l->ua, addr, n) != 0) {
        memcpy(&l->ua, addr, n);
        addr_text(addr, l->ua_ip, sizeof(l->ua_ip), &port);
    }
    return l->ua_ip;
}

/* Datagrams are handed over by on_flush_check, after libuv has read what
 * the socket had (up to its per-iteration limit), not one by one. */
static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                   unsigned flags)
{
    listener_t *l = h->data;
    worker_t *w = l->w;
    size_t len = (size_t)nread, max = l->in->conf->max_message_size;
    int fflags = 0;

    if (nread <= 0 || addr == NULL) {
        /* 0 without a sender: the socket is empty, unless libuv is only
         * handing back a recvmmsg buffer it has passed out in pieces. */
        if (nread < 0 || !(flags & UV_UDP_MMSG_FREE)) {
            l->udp_more = false;
        }
        return;
    }
    l->udp_more = true;
    w->iter_bytes += len;
    if (sr_pipeline_full(w->srv->p)) {
        sr_metric_add(sr_metric(SR_M_DROPPED, "queue_full"), 1);
        return;
    }
    if ((flags & UV_UDP_PARTIAL) || len > max) {
        fflags = SR_FRAME_TRUNCATED;
        len = SR_MIN(len, max);
    }
    sr_ingest_frame(&w->ingest, l->in->conf, &l->st, buf->base, len, fflags, udp_source(l, addr));
}

/* How long this iteration's sender rate needs to bring COALESCE_BYTES,
 * in ns (0: do not wait): none when the iteration read nothing, read
 * enough, or left data unread. */
static uint64_t coalesce_wait_ns(const worker_t *w, uint64_t now)
{
    uint64_t took = now - w->iter_start, wait;
    size_t i;

    if (w->iter_bytes == 0 || w->iter_bytes >= COALESCE_BYTES || w->iter_full) {
        return 0;
    }
    for (i = 0; i < w->n_listeners; i++) {
        if (w->listeners[i].udp_more) {
            return 0;
        }
    }
    /* took * (COALESCE_BYTES - read) / read; took capped at a second, so
     * that the product cannot overflow after a worker idled for days (any
     * result near that is capped below anyway). */
    took = SR_MIN(took, (uint64_t)1000000000);
    wait = took * (COALESCE_BYTES - w->iter_bytes) / w->iter_bytes;
    wait = SR_MIN(wait, (uint64_t)COALESCE_WAIT_US * 1000);
    return wait >= (uint64_t)COALESCE_MIN_WAIT_US * 1000 ? wait : 0;
}

static void on_flush_check(uv_check_t *c)
{
    worker_t *w = c->data;
    uint64_t now, wait;

    sr_ingest_flush(&w->ingest);
    now = uv_hrtime();
    wait = coalesce_wait_ns(w, now);
    if (wait > 0) {
        struct timespec ts = {0, (long)wait};

        nanosleep(&ts, NULL);
    }
    w->iter_start = now;
    w->iter_bytes = 0;
    w->iter_full = false;
}

/* ---- the worker ----------------------------------------------------- */

static void publish_stats(worker_t *w)
{
    size_t i;

    for (i = 0; i < w->n_listeners; i++) {
        listener_t *l = &w->listeners[i];
        input_t *in = l->in;

        if (l->st.messages) {
            sr_metric_add(in->m_messages, (int64_t)l->st.messages);
            sr_metric_add(in->m_bytes, (int64_t)l->st.bytes);
        }
        if (l->st.parse_errors) {
            sr_metric_add(in->m_parse_errors, (int64_t)l->st.parse_errors);
        }
        if (l->st.truncated) {
            sr_metric_add(in->m_truncated, (int64_t)l->st.truncated);
        }
        memset(&l->st, 0, sizeof(l->st));
    }
}

static void sweep_timeouts(worker_t *w)
{
    uint64_t now = uv_now(&w->loop);
    conn_t *c, *next;

    for (c = w->conns; c != NULL; c = next) {
        const sr_input_conf_t *ic = c->l->in->conf;

        next = c->next;
        if (c->state == CONN_CLOSING) {
            continue;
        }
        if (c->state != CONN_OPEN && now - c->opened_ms >= ic->handshake_timeout_ms) {
            if (c->got_bytes) {
                sr_log_limited(&c->l->rl[RL_TIMEOUT], SR_LOG_WARNING,
                               "input \"%s\": closing connection from %s: %s not complete "
                               "after %llu ms",
                               ic->name, c->peer,
                               c->state == CONN_PROXY ? "PROXY header" : "TLS handshake",
                               (unsigned long long)ic->handshake_timeout_ms);
            }
            reject(c, c->got_bytes ? "handshake_timeout" : "idle_timeout");
        } else if (!c->paused && ic->idle_timeout_ms > 0 &&
                   now - c->active_ms >= ic->idle_timeout_ms) {
            sr_debug("input \"%s\": closing idle connection from %s", ic->name, c->peer);
            sr_metric_add(sr_metric(SR_M_INPUT_REJECTED, "idle_timeout"), 1);
            conn_close(c, true);
        }
    }
}

static void resume_paused(worker_t *w)
{
    conn_t *c;

    for (c = w->conns; c != NULL; c = c->next) {
        if (c->paused && c->state != CONN_CLOSING) {
            c->paused = false;
            c->active_ms = uv_now(&w->loop);
            uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        }
    }
    w->n_paused = 0;
}

/*
 * A short hold-up of the main loop (the handover bound is 2 MiB, a few
 * milliseconds of traffic) pauses the inputs; waiting for the 50 ms tick
 * to resume them cost most of the throughput under load. So a pause arms
 * a timer that re-checks after 1 ms, doubling up to the tick while the
 * back-pressure lasts (a long stall, such as an output that is down,
 * costs a few wake-ups a second, as before).
 */
static void on_resume_timer(uv_timer_t *t)
{
    worker_t *w = t->data;

    if (w->n_paused == 0) {
        return;
    }
    if (!sr_pipeline_backpressure(w->srv->p)) {
        resume_paused(w);
        return;
    }
    w->resume_ms = SR_MIN(w->resume_ms * 2, (uint64_t)TICK_MS);
    uv_timer_start(&w->resume, on_resume_timer, w->resume_ms, 0);
}

static void arm_resume(worker_t *w)
{
    if (!uv_is_active((uv_handle_t *)&w->resume) && !atomic_load(&w->stop)) {
        w->resume_ms = 1;
        uv_timer_start(&w->resume, on_resume_timer, w->resume_ms, 0);
    }
}

static void on_tick(uv_timer_t *t)
{
    worker_t *w = t->data;

    publish_stats(w);
    if (w->n_paused > 0 && !sr_pipeline_backpressure(w->srv->p)) {
        resume_paused(w);
    }
    if (++w->ticks % SWEEP_TICKS == 0) {
        sweep_timeouts(w);
    }
}

static void on_listener_closed(uv_handle_t *h)
{
    SR_UNUSED(h);
}

/* Stop: close listeners and connections (delivering partial frames),
 * hand everything over, let the loop end. */
static void on_wake(uv_async_t *a)
{
    worker_t *w = a->data;
    conn_t *c, *next;
    handoff_t *hand;
    size_t i, n;

    pthread_mutex_lock(&w->hand_mu);
    hand = w->hand;
    n = w->n_hand;
    w->hand = NULL;
    w->n_hand = 0;
    w->cap_hand = 0;
    pthread_mutex_unlock(&w->hand_mu);
    for (i = 0; i < n; i++) {
        if (atomic_load(&w->stop)) {
            close(hand[i].fd);
            atomic_fetch_sub(&w->n_conns, 1);
        } else {
            adopt(w, &hand[i]);
        }
    }
    free(hand);
    if (!atomic_load(&w->stop)) {
        return;
    }
    for (i = 0; i < w->n_listeners; i++) {
        listener_t *l = &w->listeners[i];

        if (l->open) {
            l->open = false;
            uv_close((uv_handle_t *)&l->h, on_listener_closed);
        }
    }
    for (c = w->conns; c != NULL; c = next) {
        next = c->next;
        conn_close(c, true);
    }
    sr_ingest_flush(&w->ingest);
    publish_stats(w);
    uv_close((uv_handle_t *)&w->flush, NULL);
    uv_close((uv_handle_t *)&w->resume, NULL);
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_close((uv_handle_t *)&w->wake, NULL);
}

static void worker_main(void *arg)
{
    worker_t *w = arg;

    uv_run(&w->loop, UV_RUN_DEFAULT);
    sr_ingest_flush(&w->ingest);
    publish_stats(w);
}

static int worker_init(sr_server_t *s, worker_t *w, int idx)
{
    size_t i, j;
    int rc;

    w->idx = idx;
    w->srv = s;
    pthread_mutex_init(&w->hand_mu, NULL);
    uv_loop_init(&w->loop);
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_check_init(&w->loop, &w->flush);
    w->flush.data = w;
    uv_check_start(&w->flush, on_flush_check);
    uv_timer_init(&w->loop, &w->resume);
    w->resume.data = w;
    sr_ingest_init(&w->ingest, s->p);
    w->listeners = sr_calloc(s->n_inputs, sizeof(listener_t));
    w->n_listeners = s->n_inputs;
    for (i = 0; i < s->n_inputs; i++) {
        listener_t *l = &w->listeners[i];
        input_t *in = &s->inputs[i];

        l->w = w;
        l->in = in;
        for (j = 0; j < RL_COUNT; j++) {
            l->rl[j].burst = 5;
            l->rl[j].interval = 10;
        }
        if (in->conf->type == SR_INPUT_UDP) {
            uv_udp_init_ex(&w->loop, &l->h.udp, AF_UNSPEC | UV_UDP_RECVMMSG);
            l->ubuf = sr_malloc(UDP_MMSG * READ_BUF_SIZE);
            rc = uv_udp_open(&l->h.udp, in->fds[idx]);
        } else {
            uv_tcp_init(&w->loop, &l->h.tcp);
            rc = uv_tcp_open(&l->h.tcp, in->fds[idx]);
        }
        l->h.tcp.data = l;
        l->open = true;
        in->fds[idx] = -1; /* the handle owns it now */
        if (rc < 0) {
            sr_error("input \"%s\": cannot use socket: %s", in->conf->name, sr_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int sr_server_create(const sr_config_t *cfg, sr_pipeline_t *p, sr_server_t **out)
{
    sr_server_t *s = sr_calloc(1, sizeof(*s));
    size_t i, j;
    int rc = 0;

    s->cfg = cfg;
    s->p = p;
    s->n_workers =
        cfg->workers > 0 ? (size_t)cfg->workers : (size_t)SR_MAX(1, uv_available_parallelism());
    s->n_workers = SR_MIN(s->n_workers, MAX_WORKERS);
    s->n_inputs = cfg->n_inputs;
    s->inputs = sr_calloc(cfg->n_inputs ? cfg->n_inputs : 1, sizeof(input_t));
    for (i = 0; i < cfg->n_inputs; i++) {
        input_t *in = &s->inputs[i];

        in->conf = &cfg->inputs[i];
        in->type_name = type_names[in->conf->type];
        for (j = 0; j < MAX_WORKERS; j++) {
            in->fds[j] = -1;
        }
        in->m_messages = sr_metric(SR_M_INPUT_MESSAGES, in->conf->name);
        in->m_bytes = sr_metric(SR_M_INPUT_BYTES, in->conf->name);
        in->m_parse_errors = sr_metric(SR_M_PARSE_ERRORS, in->conf->name);
        in->m_truncated = sr_metric(SR_M_INPUT_TRUNCATED, in->conf->name);
        if (in->conf->type != SR_INPUT_UDP) {
            in->m_conns = sr_metric(SR_M_INPUT_CONNECTIONS, in->conf->name);
        }
        if (rc == 0) {
            rc = bind_input(in, s->n_workers);
        }
    }
    *out = s;
    return rc;
}

int sr_server_start(sr_server_t *s)
{
    size_t i, j;
    int rc;

    s->workers = sr_calloc(s->n_workers, sizeof(worker_t));
    for (i = 0; i < s->n_workers; i++) {
        worker_t *w = &s->workers[i];

        rc = worker_init(s, w, (int)i);
        if (rc < 0) {
            return rc;
        }
        for (j = 0; j < w->n_listeners; j++) {
            listener_t *l = &w->listeners[j];

            if (l->in->conf->type == SR_INPUT_UDP) {
                rc = uv_udp_recv_start(&l->h.udp, on_udp_alloc, on_udp);
            } else {
                rc = uv_listen((uv_stream_t *)&l->h.tcp, 1024, on_connection);
            }
            if (rc < 0) {
                sr_error("input \"%s\": cannot start: %s", l->in->conf->name, sr_strerror(rc));
                return rc;
            }
        }
        uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
    }
    for (i = 0; i < s->n_workers; i++) {
        rc = uv_thread_create(&s->workers[i].tid, worker_main, &s->workers[i]);
        if (rc < 0) {
            sr_error("cannot start input worker thread: %s", sr_strerror(rc));
            return rc;
        }
        s->workers[i].started = true;
    }
    return 0;
}

void sr_server_stop(sr_server_t *s)
{
    size_t i;

    for (i = 0; i < s->n_workers && s->workers; i++) {
        worker_t *w = &s->workers[i];

        if (w->started) {
            atomic_store(&w->stop, true);
            uv_async_send(&w->wake);
        }
    }
    for (i = 0; i < s->n_workers && s->workers; i++) {
        worker_t *w = &s->workers[i];

        if (w->started) {
            uv_thread_join(&w->tid);
            w->started = false;
        }
    }
}

void sr_server_destroy(sr_server_t *s)
{
    size_t i, j;

    for (i = 0; i < s->n_workers && s->workers; i++) {
        worker_t *w = &s->workers[i];

        if (w->listeners == NULL) {
            continue;
        }
        /* A worker that never ran still has open handles: close them. */
        if (uv_loop_alive(&w->loop)) {
            atomic_store(&w->stop, true);
            on_wake(&w->wake);
            uv_run(&w->loop, UV_RUN_DEFAULT);
        }
        uv_loop_close(&w->loop);
        for (j = 0; j < w->n_hand; j++) {
            close(w->hand[j].fd); /* handed over after this worker stopped */
        }
        free(w->hand);
        pthread_mutex_destroy(&w->hand_mu);
        sr_ingest_free(&w->ingest);
        for (j = 0; j < w->n_listeners; j++) {
            free(w->listeners[j].ubuf);
        }
        free(w->listeners);
    }
    for (i = 0; i < s->n_inputs; i++) {
        for (j = 0; j < MAX_WORKERS; j++) {
            if (s->inputs[i].fds[j] >= 0) {
                close(s->inputs[i].fds[j]);
            }
        }
    }
    free(s->workers);
    free(s->inputs);
    free(s);
}
