/*
 * pipeline.h: from a frame to the output queues.
 *
 * Stage 1 runs on the input worker that read the frame (sr_ingest_*):
 * build the record (one allocation, a copy of the frame), parse it,
 * redact it, and add it to the worker's local batch. At the end of each
 * read callback the batch is handed to the main loop in one locked
 * append plus a uv_async_send.
 *
 * Stage 2 runs on the main loop (sr_pipeline_drain): each record goes to
 * every output whose filters accept it (inputs, min_severity); each
 * output queue takes its own reference, then the pipeline drops its one.
 */
#ifndef SR_PIPELINE_H
#define SR_PIPELINE_H

#include <pthread.h>
#include <uv.h>

#include "../config/config.h"
#include "../outputs/output.h"
#include "record.h"
#include "redact.h"

typedef struct sr_pipeline_s sr_pipeline_t;

/* Per-input counters a worker keeps without atomics and publishes on a
 * timer (sr_input_stats_flush). */
typedef struct sr_input_stats_s {
    uint64_t messages;
    uint64_t bytes;
    uint64_t parse_errors;
    uint64_t truncated;
} sr_input_stats_t;

/* A chunk being encoded for one output (see sr_output_t.encode). */
typedef struct sr_chunk_s {
    sr_buf_t buf;
    uint32_t messages;
    uint32_t marks;
} sr_chunk_t;

/* A worker's stage-1 state. */
typedef struct sr_ingest_s {
    sr_pipeline_t *p;
    sr_redact_scratch_t *scratch;
    sr_chunk_t *chunks; /* per output; used for outputs that encode */
    size_t n_chunks;
    sr_record_t **batch;
    size_t n;
    size_t cap;
    size_t bytes; /* sr_record_size() of the batch */
} sr_ingest_t;

/* Main loop side. outputs[] stay owned by the caller. */
sr_pipeline_t *sr_pipeline_create(uv_loop_t *main_loop, const sr_config_t *cfg,
                                  sr_output_t **outputs, size_t n_outputs);
/* Route everything handed over so far (also called by the async handle). */
void sr_pipeline_drain(sr_pipeline_t *p);
/* True while stream inputs should stop reading: an output is behind by
 * its flow window or over its limit, or the main loop has fallen behind.
 * Any thread. */
bool sr_pipeline_backpressure(sr_pipeline_t *p);
/* True while datagram inputs must drop: an output queue is over its
 * max_memory, or the main loop has fallen behind. Any thread. */
bool sr_pipeline_full(sr_pipeline_t *p);
/* Close the async handle; the pipeline is freed in its close callback. */
void sr_pipeline_close(sr_pipeline_t *p);

/* Worker side. */
void sr_ingest_init(sr_ingest_t *in, sr_pipeline_t *p);
/* One frame from input `conf`, sender `source`. flags: SR_FRAME_TRUNCATED. */
void sr_ingest_frame(sr_ingest_t *in, const sr_input_conf_t *conf, sr_input_stats_t *st,
                     const char *frame, size_t len, int flags, const char *source);
/* Hand the local batch to the main loop. */
void sr_ingest_flush(sr_ingest_t *in);
void sr_ingest_free(sr_ingest_t *in);

#endif
