/*
 * srgen.c: a syslog load generator for the benchmark (compare.sh), for
 * when loggen itself is the bottleneck on a small machine.
 *
 * Sends octet-counted RFC 5424 over TCP or TLS on several connections
 * (one thread each), or one RFC 5424 message per datagram over UDP, for a
 * fixed time and optionally at a fixed total rate. Each connection
 * prepares one block of frames up front and writes it whole, again and
 * again, so sending costs a fraction of what the receiver spends; the
 * count printed at the end is exact (only whole blocks are counted, and
 * a block once started is always finished). Messages are "plain" (text
 * padded to the size) or "secrets" (each carries a Luhn-valid card number
 * and an e-mail address, for the redaction scenario).
 *
 *   srgen [-p tcp|udp|tls] [-c CONNS] [-d SECONDS] [-r MSGS_PER_S] [-s SIZE]
 *         [-m plain|secrets] HOST PORT
 *
 * Prints one line: "sent N msgs in S s (R msg/s), sender cpu C s".
 * Built by compare.sh with cc; not part of the test suite.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLOCK_MSGS 256
#define UDP_BATCH 32

enum { P_TCP = 0, P_UDP, P_TLS };

static int proto = P_TCP;
static int conns = 4;
static double seconds = 10;
static double rate; /* total msg/s; 0: as fast as possible */
static int size = 300;
static int secrets;
static const char *host = "127.0.0.1";
static const char *port;
static struct sockaddr_storage dst;
static socklen_t dst_len;
static atomic_ullong total;
static SSL_CTX *ssl_ctx;
static double send_end; /* when the last block was written */
static pthread_mutex_t end_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const card_numbers[] = {
    "4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009", "6011000000000004",
};
static const char *const emails[] = {
    "jane.doe@example.com", "bob+billing@example.org", "ops@mail.example.net", "x.y@corp.example.io",
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One RFC 5424 message of exactly `size` bytes (at least the header) into out. */
static int make_msg(char *out, size_t cap, int conn, unsigned seq)
{
    char text[512];
    int n, hdr;

    if (secrets) {
        snprintf(text, sizeof(text),
                 "order %u paid by %s with card %s, total 19.99 EUR, conn %d", seq,
                 emails[seq % 4], card_numbers[(seq / 4) % 4], conn);
    } else {
        snprintf(text, sizeof(text), "seq: %010u, thread: %04d, benchmark message", seq, conn);
    }
    hdr = snprintf(out, cap, "<38>1 2026-11-21T12:00:00.000000+00:00 bench%02d srgen 1234 - - %s",
                   conn % 100, text);
    n = hdr;
    if (n < size) {
        out[n++] = ' ';
    }
    while (n < size && (size_t)n + 1 < cap) {
        out[n] = "PADD"[n % 4];
        n++;
    }
    out[n] = '\0';
    return n;
}

static char *make_block(int conn, size_t *len, int framed)
{
    size_t cap = (size_t)BLOCK_MSGS * ((size_t)size + 600), off = 0;
    char *b = malloc(cap);
    char msg[4096];
    int i, n;

    for (i = 0; i < BLOCK_MSGS; i++) {
        n = make_msg(msg, sizeof(msg), conn, (unsigned)i);
        if (framed) {
            off += (size_t)sprintf(b + off, "%d ", n);
        }
        memcpy(b + off, msg, (size_t)n);
        off += (size_t)n;
        if (!framed) {
            b[off++] = '\0'; /* separator for the UDP splitter */
        }
    }
    *len = off;
    return b;
}

/* Pace: sleep until `sent` messages are due at `per_s` since t0. */
static void pace(double t0, unsigned long long sent, double per_s)
{
    double due, d;

    if (per_s <= 0) {
        return;
    }
    due = t0 + (double)sent / per_s;
    d = due - now();
    if (d > 0) {
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};

        nanosleep(&ts, NULL);
    }
}

static int write_all(int fd, SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w;

        if (ssl != NULL) {
            w = SSL_write(ssl, p, (int)(n > (1u << 30) ? (1u << 30) : n));
            if (w <= 0) {
                return -1;
            }
        } else {
            w = write(fd, p, n);
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return -1;
            }
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *stream_thread(void *arg)
{
    int conn = (int)(intptr_t)arg;
    size_t len;
    char *block = make_block(conn, &len, 1);
    int fd = socket(dst.ss_family, SOCK_STREAM, 0);
    SSL *ssl = NULL;
    unsigned long long sent = 0;
    double t0, end, per_conn = rate > 0 ? rate / conns : 0;

    if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dst_len) < 0) {
        perror("srgen: connect");
        exit(1);
    }
    if (proto == P_TLS) {
        ssl = SSL_new(ssl_ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1) {
            ERR_print_errors_fp(stderr);
            exit(1);
        }
    }
    t0 = now();
    end = t0 + seconds;
    while (now() < end) {
        pace(t0, sent, per_conn);
        if (write_all(fd, ssl, block, len) < 0) {
            fprintf(stderr, "srgen: connection %d: write failed: %s\n", conn, strerror(errno));
            break;
        }
        sent += BLOCK_MSGS;
    }
    pthread_mutex_lock(&end_mu);
    send_end = now() > send_end ? now() : send_end;
    pthread_mutex_unlock(&end_mu);
    if (ssl != NULL) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    shutdown(fd, SHUT_WR);
    {
        /* Wait for the peer to close (or a short while), so nothing is
         * reset in flight. */
        struct timeval tv = {2, 0};
        char b[256];

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        while (read(fd, b, sizeof(b)) > 0) {
        }
    }
    close(fd);
    free(block);
    atomic_fetch_add(&total, sent);
    return NULL;
}

static void run_udp(void)
{
    size_t len;
    char *block = make_block(0, &len, 0);
    struct mmsghdr mm[UDP_BATCH];
    struct iovec iov[BLOCK_MSGS];
    char *p = block;
    int fd = socket(dst.ss_family, SOCK_DGRAM, 0), i, sndbuf = 8 << 20;
    unsigned long long sent = 0;
    double t0, end;

    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    for (i = 0; i < BLOCK_MSGS; i++) {
        iov[i].iov_base = p;
        iov[i].iov_len = strlen(p);
        p += iov[i].iov_len + 1;
    }
    t0 = now();
    end = t0 + seconds;
    while (now() < end) {
        int k, base = (int)(sent % BLOCK_MSGS), done = 0;

        pace(t0, sent, rate);
        memset(mm, 0, sizeof(mm));
        for (k = 0; k < UDP_BATCH; k++) {
            mm[k].msg_hdr.msg_name = &dst;
            mm[k].msg_hdr.msg_namelen = dst_len;
            mm[k].msg_hdr.msg_iov = &iov[(base + k) % BLOCK_MSGS];
            mm[k].msg_hdr.msg_iovlen = 1;
        }
        while (done < UDP_BATCH) {
            int r = sendmmsg(fd, mm + done, (unsigned)(UDP_BATCH - done), 0);

            if (r < 0) {
                if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
                    continue;
                }
                perror("srgen: sendmmsg");
                exit(1);
            }
            done += r;
        }
        sent += UDP_BATCH;
    }
    send_end = now();
    close(fd);
    free(block);
    atomic_store(&total, sent);
}

int main(int argc, char **argv)
{
    struct addrinfo hints = {0}, *ai;
    pthread_t th[256];
    struct rusage ru;
    double t0, el;
    int opt, i;

    while ((opt = getopt(argc, argv, "p:c:d:r:s:m:")) != -1) {
        switch (opt) {
        case 'p':
            proto = strcmp(optarg, "udp") == 0 ? P_UDP : strcmp(optarg, "tls") == 0 ? P_TLS : P_TCP;
            break;
        case 'c':
            conns = atoi(optarg);
            break;
        case 'd':
            seconds = atof(optarg);
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 's':
            size = atoi(optarg);
            break;
        case 'm':
            secrets = strcmp(optarg, "secrets") == 0;
            break;
        default:
            fprintf(stderr, "usage: srgen [-p tcp|udp|tls] [-c CONNS] [-d S] [-r RATE] [-s SIZE] "
                            "[-m plain|secrets] HOST PORT\n");
            return 2;
        }
    }
    if (optind + 2 != argc || conns < 1 || conns > 256 || size < 1 || size > 3000) {
        fprintf(stderr, "srgen: need HOST PORT (1-256 connections, size 1-3000)\n");
        return 2;
    }
    host = argv[optind];
    port = argv[optind + 1];
    hints.ai_socktype = proto == P_UDP ? SOCK_DGRAM : SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0) {
        fprintf(stderr, "srgen: cannot resolve %s:%s\n", host, port);
        return 1;
    }
    memcpy(&dst, ai->ai_addr, ai->ai_addrlen);
    dst_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (proto == P_TLS) {
        ssl_ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
    }
    t0 = now();
    if (proto == P_UDP) {
        run_udp();
    } else {
        for (i = 0; i < conns; i++) {
            pthread_create(&th[i], NULL, stream_thread, (void *)(intptr_t)i);
        }
        for (i = 0; i < conns; i++) {
            pthread_join(th[i], NULL);
        }
    }
    el = send_end - t0;
    getrusage(RUSAGE_SELF, &ru);
    printf("sent %llu msgs in %.2f s (%.0f msg/s), sender cpu %.2f s\n",
           (unsigned long long)atomic_load(&total), el, (double)atomic_load(&total) / el,
           (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6);
    return 0;
}
