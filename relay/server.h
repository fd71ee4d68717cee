/*
 * server.h: the inputs. Every configured input gets one socket per
 * worker thread (SO_REUSEPORT, so the kernel spreads connections and
 * datagrams across workers); each worker runs its own libuv loop with its
 * listeners and connections, and feeds frames to stage 1 of the pipeline.
 *
 * Sockets are bound on the calling thread in sr_server_create, so a port
 * in use is a start-up error with a clear message; worker threads start
 * in sr_server_start. sr_server_stop closes listeners and connections
 * (delivering what was already read), then joins the threads.
 */
#ifndef SR_SERVER_H
#define SR_SERVER_H

#include "../config/config.h"
#include "pipeline.h"

typedef struct sr_server_s sr_server_t;

int sr_server_create(const sr_config_t *cfg, sr_pipeline_t *p, sr_server_t **out);
int sr_server_start(sr_server_t *s);
void sr_server_stop(sr_server_t *s);
void sr_server_destroy(sr_server_t *s);

#endif
