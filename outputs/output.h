/*
 * output.h: the output interface, and the core services outputs use.
 *
 * Each output file (datadog.c, file.c, redis.c) exports exactly one
 * constant descriptor; everything else in it is static. registry.c is the
 * only file that lists them all.
 *
 * The core (relay/output.c) owns, per output instance: the bounded
 * in-memory queue, batching, retry with capped exponential backoff, and
 * the counters. An output only reports what happened to each batch it
 * accepted: delivered, retry, or give up.
 *
 * Everything here runs on the main loop thread.
 *
 * Lifecycle: create (no I/O) -> start -> submit* -> stop -> destroy.
 */
#ifndef SR_OUTPUT_H
#define SR_OUTPUT_H

#include <uv.h>
#include "../config/config.h"
#include "../relay/record.h"

typedef enum sr_outcome_e {
    SR_OUT_DELIVERED = 0, /* done; the core counts and releases */
    SR_OUT_RETRY,         /* not delivered; the core requeues in order, backs off */
    SR_OUT_GIVE_UP,       /* never deliverable; the core drops and counts `reason` */
} sr_outcome_t;

/*
 * A batch: records, or encoded chunks, holding up to desc->max_batch
 * messages (a single chunk may hold more), in queue order. The core owns
 * the batch and the references in it; an output that accepted it may read
 * it until it calls sr_output_done(). `priv` and `next` are the output's
 * to use meanwhile.
 */
typedef struct sr_batch_s {
    struct sr_batch_s *next;
    void *priv;
    uint32_t n;
    bool released;     /* sr_batch_release() was called */
    size_t bytes;      /* sum of sr_record_size() */
    size_t messages;   /* sum of sr_record_messages() */
    sr_record_t *recs[];
} sr_batch_t;

typedef struct sr_output_s sr_output_t;

typedef struct sr_output_desc_s {
    const char *name;        /* the `type` value */
    const char *description; /* one line, for docs */
    const sr_cfg_key_t *keys; /* this output's own keys */
    size_t conf_size;        /* size of the struct the keys fill */
    /* Cross-key checks after the table is applied (may be NULL). Report
     * with sr_cfg_error(ctx, node, ...). Returns the errors added. */
    int (*check)(sr_cfg_ctx_t *ctx, const sr_node_t *node, void *conf);
    /* Free what check() may have built in conf beyond the table's fields. */
    void (*conf_free)(void *conf);
    /* True if this output, so configured, writes records' raw lines (the
     * frame as received). When no output does, redaction removes the raw
     * line instead of redacting it. May be NULL: never. */
    bool (*needs_raw)(const void *conf);
    size_t inst_size;        /* >= sizeof(sr_output_t); the core allocates it zeroed */
    uint32_t max_batch;      /* messages per batch (>= 1) */

    /* Turn the validated config into an instance. No I/O. 0 or < 0. */
    int (*create)(sr_output_t *o);
    /* Attach to o->loop; may begin connecting. 0 or < 0 (startup fails). */
    int (*start)(sr_output_t *o);
    /*
     * Offer a batch. Returns 0: accepted, and the output will call
     * sr_output_done() exactly once for it, never from inside submit.
     * SR_EBUSY: not now; the core keeps the records queued and waits for
     * sr_output_ready() (or a retry timer). Any other < 0: as SR_EBUSY,
     * and the core backs off before offering again.
     */
    int (*submit)(sr_output_t *o, sr_batch_t *b);
    /* Push out a partial batch (a timer calls it). May be NULL. */
    void (*flush)(sr_output_t *o);
    /* Reopen files (SIGUSR1). May be NULL. */
    void (*reopen)(sr_output_t *o);
    /* Stop: finish or abandon (report RETRY for) what it holds, close
     * handles, then call done(o) after the last close callback. */
    void (*stop)(sr_output_t *o, void (*done)(sr_output_t *o));
    /* Free memory; only after stop finished. May be NULL. */
    void (*destroy)(sr_output_t *o);
} sr_output_desc_t;

/* The header of every output instance; private fields follow it. */
struct sr_output_s {
    const sr_output_desc_t *desc;
    const char *name;
    uv_loop_t *loop;
    const sr_output_conf_t *conf; /* common keys */
    const void *priv_conf;        /* desc->keys' struct */
    struct sr_output_core_s *core; /* the core's private state */
    /*
     * Append one record as this output writes it. An output whose bytes
     * per record do not depend on what it has sent before sets this in
     * create; input workers then call it for each record the output
     * takes, right after parsing and redaction, on their own threads, and
     * the output's queue holds encoded chunks (SR_REC_ENCODED: many
     * messages' bytes, sr_record_messages() of them) instead of records.
     * So it may read only the record and what create set up. Returning
     * true marks the line (the output's own meaning: Datadog's cut
     * lines); a chunk's `marks` counts them, for the output to account
     * for once the chunk is delivered. An output that sets it must still
     * accept plain records.
     */
    bool (*encode)(const sr_output_t *o, const sr_record_t *r, sr_buf_t *out);
};

/* Report a batch's outcome. For SR_OUT_GIVE_UP, reason names the drop
 * reason label (e.g. "encode_error", "rejected"). Call exactly once per
 * accepted batch, from a callback (never inside submit). */
void sr_output_done(sr_output_t *o, sr_batch_t *b, sr_outcome_t outcome, const char *reason);

/* Release the batch's records now, on the calling thread, which may be
 * any thread (an output's worker thread, once they are written): their
 * memory then goes back to that thread's cache, where the records are
 * still warm, instead of being touched again on the main loop. The batch
 * must be whole (no sr_output_done_partial() before or after) and must
 * then be reported SR_OUT_DELIVERED or SR_OUT_GIVE_UP; the records may
 * not be read afterwards. The core accounts for them by b->bytes. */
void sr_batch_release(sr_batch_t *b);

/* Done for part of a batch: the first n records had this outcome (they
 * leave the batch); the batch stays accepted for the rest. */
void sr_output_done_partial(sr_output_t *o, sr_batch_t *b, uint32_t n, sr_outcome_t outcome,
                            const char *reason);

/* The output can take batches again (after SR_EBUSY). Safe anywhere;
 * the core dispatches from a fresh loop iteration. */
void sr_output_ready(sr_output_t *o);

/* The output failed without a batch in hand (connect refused, handshake
 * failed): counts an output error, logs `why` (rate-limited), and offers
 * batches again after the current backoff delay, which grows. */
void sr_output_failed(sr_output_t *o, const char *why);


#endif
