/* PLACEHOLDER until relay/tls.c and relay/conn.c exist: delete this file then. */
#include <stdio.h>
#include "conn.h"
#include "common.h"
int sr_tls_server_ctx_create(const char *c, const char *k, const char *ca, sr_tls_ctx_t **out,
                             char *err, size_t errlen) { snprintf(err, errlen, "TLS not built"); return SR_ETLS; }
int sr_tls_client_ctx_create(const char *ca, sr_tls_ctx_t **out, char *err, size_t errlen) { snprintf(err, errlen, "TLS not built"); return SR_ETLS; }
void sr_tls_ctx_free(sr_tls_ctx_t *ctx) {}
sr_tls_t *sr_tls_create(sr_tls_ctx_t *ctx, bool server, const char *host, const sr_tls_cbs_t *cbs, void *arg) { return NULL; }
int sr_tls_start(sr_tls_t *t) { return SR_ETLS; }
int sr_tls_feed(sr_tls_t *t, const char *d, size_t n) { return SR_ETLS; }
int sr_tls_write(sr_tls_t *t, const char *d, size_t n) { return SR_ETLS; }
int sr_tls_shutdown(sr_tls_t *t) { return 0; }
bool sr_tls_handshake_done(const sr_tls_t *t) { return false; }
const char *sr_tls_error(const sr_tls_t *t) { return "TLS not built"; }
const char *sr_tls_peer_subject(const sr_tls_t *t) { return NULL; }
const char *sr_tls_version(const sr_tls_t *t) { return NULL; }
void sr_tls_free(sr_tls_t *t) {}
int sr_conn_connect(uv_loop_t *loop, const char *host, int port, sr_tls_ctx_t *tls, uint64_t timeout_ms,
                    const sr_conn_cbs_t *cbs, void *data, sr_conn_t **out) { return UV_ENOSYS; }
int sr_conn_write(sr_conn_t *c, const char *d, size_t n, sr_conn_write_cb cb, void *arg) { return UV_ENOSYS; }
size_t sr_conn_pending(const sr_conn_t *c) { return 0; }
void sr_conn_close(sr_conn_t *c) {}
void *sr_conn_data(const sr_conn_t *c) { return NULL; }
const char *sr_conn_peer(const sr_conn_t *c) { return ""; }
const char *sr_conn_error(const sr_conn_t *c) { return ""; }
