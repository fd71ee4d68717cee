/*
 * http.c: the metrics and health endpoint (see http.h). Owns its listener
 * and a list of clients; each client owns a fixed request buffer and a
 * response buffer, freed in the close callback.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

#define REQ_MAX 8192
#define MAX_CLIENTS 64
#define CLIENT_TIMEOUT_MS 5000

typedef struct client_s client_t;

struct sr_http_s {
    uv_tcp_t listener;
    uv_loop_t *loop;
    bool (*ready)(void *arg);
    void *arg;
    client_t *clients;
    int n_clients;
    bool closing;
    int open_handles;
};

struct client_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    sr_http_t *h;
    client_t *prev;
    client_t *next;
    int open_handles;
    bool responded;
    size_t len;
    sr_buf_t resp;
    char req[REQ_MAX];
};

static void maybe_free_server(sr_http_t *h)
{
    if (h->closing && h->open_handles == 0 && h->clients == NULL) {
        free(h);
    }
}

static void on_client_handle_closed(uv_handle_t *hd)
{
    client_t *c = hd->data;
    sr_http_t *h = c->h;

    if (--c->open_handles > 0) {
        return;
    }
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        h->clients = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    h->n_clients--;
    sr_buf_free(&c->resp);
    free(c);
    maybe_free_server(h);
}

static void client_close(client_t *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp)) {
        return;
    }
    uv_close((uv_handle_t *)&c->tcp, on_client_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_client_handle_closed);
}

static void on_written(uv_write_t *req, int status)
{
    client_close(req->data);
}

static void respond(client_t *c, int code, const char *reason, const char *ctype, const char *body,
                    size_t body_len)
{
    uv_buf_t b;

    c->responded = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    sr_buf_printf(&c->resp,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n\r\n",
                  code, reason, ctype, body_len);
    sr_buf_append(&c->resp, body, body_len);
    b = uv_buf_init(c->resp.base, (unsigned)c->resp.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        client_close(c);
    }
}

static void handle(client_t *c)
{
    char method[16], path[256];
    sr_buf_t body;

    if (sscanf(c->req, "%15s %255s HTTP/1.%*d", method, path) != 2) {
        respond(c, 400, "Bad Request", "text/plain", "bad request\n", 12);
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        respond(c, 405, "Method Not Allowed", "text/plain", "method not allowed\n", 19);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        sr_buf_init(&body);
        sr_metrics_render(&body);
        respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body.base ? body.base : "",
                body.len);
        sr_buf_free(&body);
    } else if (strcmp(path, "/health") == 0) {
        if (c->h->ready(c->h->arg)) {
            respond(c, 200, "OK", "text/plain", "ok\n", 3);
        } else {
            respond(c, 503, "Service Unavailable", "text/plain", "draining\n", 9);
        }
    } else {
        respond(c, 404, "Not Found", "text/plain", "not found\n", 10);
    }
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    client_t *c = hd->data;

    *buf = uv_buf_init(c->req + c->len, (unsigned)(REQ_MAX - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    client_t *c = s->data;

    if (nread < 0) {
        client_close(c);
        return;
    }
    c->len += (size_t)nread;
    c->req[c->len] = '\0';
    if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL) {
        handle(c);
    } else if (c->len >= REQ_MAX - 1) {
        respond(c, 431, "Request Header Fields Too Large", "text/plain", "too large\n", 10);
    }
}

static void on_timeout(uv_timer_t *t)
{
    client_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    sr_http_t *h = server->data;
    client_t *c;

    if (status < 0) {
        return;
    }
    c = sr_calloc(1, sizeof(*c));
    c->h = h;
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    sr_buf_init(&c->resp);
    c->next = h->clients;
    if (h->clients) {
        h->clients->prev = c;
    }
    h->clients = c;
    h->n_clients++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || h->n_clients > MAX_CLIENTS) {
        client_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, CLIENT_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_listener_closed(uv_handle_t *hd)
{
    sr_http_t *h = hd->data;

    h->open_handles--;
    maybe_free_server(h);
}

int sr_http_start(uv_loop_t *loop, const sr_addr_t *listen, bool (*ready)(void *arg), void *arg,
                  sr_http_t **out)
{
    sr_http_t *h = sr_calloc(1, sizeof(*h));
    struct sockaddr_storage ss;
    int len = sizeof(ss), rc, port = 0;
    char ip[64] = "";

    h->loop = loop;
    h->ready = ready;
    h->arg = arg;
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    h->open_handles = 1;
    rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&listen->sa, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
    }
    if (rc < 0) {
        sr_error("metrics: cannot listen on %s: %s", listen->text, sr_strerror(rc));
        h->closing = true;
        uv_close((uv_handle_t *)&h->listener, on_listener_closed);
        return rc;
    }
    uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    sr_info("\"metrics\" (http) listening on %s%s%s:%d", ss.ss_family == AF_INET6 ? "[" : "", ip,
            ss.ss_family == AF_INET6 ? "]" : "", port);
    *out = h;
    return 0;
}

void sr_http_close(sr_http_t *h)
{
    client_t *c, *next;

    h->closing = true;
    for (c = h->clients; c != NULL; c = next) {
        next = c->next;
        client_close(c);
    }
    uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
