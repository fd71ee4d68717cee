/*
 * http.h: the metrics and health endpoint, a deliberately small HTTP/1.x
 * server on the main loop.
 *
 *   GET /metrics  -> 200, Prometheus text (version 0.0.4)
 *   GET /health   -> 200 "ok" while ready, 503 "draining" otherwise
 *   anything else -> 404 / 405 / 400
 *
 * One request per connection (Connection: close). A client that is slow
 * or malformed costs one small buffer and is cut off: requests over 8 KiB
 * or not complete within 5 s are closed, and at most 64 clients are served
 * at once. Syslog traffic runs on other threads and never waits for it.
 */
#ifndef SR_HTTP_H
#define SR_HTTP_H

#include <uv.h>
#include "../config/config.h"

typedef struct sr_http_s sr_http_t;

/* ready(arg) says whether /health answers 200. Logs the bound address as
 * `"metrics" (http) listening on HOST:PORT`. */
int sr_http_start(uv_loop_t *loop, const sr_addr_t *listen, bool (*ready)(void *arg), void *arg,
                  sr_http_t **out);
/* Close the listener and every client; frees itself when closed. */
void sr_http_close(sr_http_t *h);

#endif
