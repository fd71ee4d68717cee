/*
 * pipeline.c: parse, redact, hand over, fan out (see pipeline.h).
 *
 * Thread use: sr_ingest_* run on input worker threads; the handover is a
 * mutex-protected vector of record pointers (ownership of one reference
 * each moves with it); sr_pipeline_drain and the async callback run on
 * the main loop. Records are immutable once handed over.
 *
 * Outputs that encode (sr_output_t.encode) are routed on the worker:
 * each record they take is encoded there into the worker's chunk for that
 * output, and the chunk is handed over like a record at the end of the
 * read (or once it holds CHUNK_BYTES). A record that no other output
 * takes is released on the worker, so its block is reused on the core
 * that built it, and the output's thread reads one stream of bytes
 * instead of every record's lines.
 */
#include <stdlib.h>

#include "../parsers/parser.h"
#include "framing.h"
#include "log.h"
#include "output_core.h"
#include "pipeline.h"

struct sr_pipeline_s {
    uv_async_t async;
    const sr_config_t *cfg;
    sr_output_t **outputs;
    size_t n_outputs;
    bool keep_raw; /* an output writes raw lines: redact them, else drop them */
    bool any_encode; /* an output encodes on the workers */
    pthread_mutex_t mu;
    sr_record_t **inbox; /* handed over, not yet routed */
    size_t n;
    size_t cap;
    sr_record_t **spare; /* swapped with inbox to route outside the lock */
    size_t spare_cap;
    size_t inbox_bytes;    /* sr_record_size() of what the inbox holds */
    atomic_bool congested; /* inbox_bytes passed INBOX_LIMIT */
};

/* Bytes of records handed over but not yet routed before inputs are held
 * back: bounds memory when the main loop falls behind, and keeps an
 * output's queue within max_memory plus this much once it is full. */
#define INBOX_LIMIT (2u << 20)

/* A chunk is handed over once it holds this many bytes, even mid-read
 * (its buffer, SR_CHUNK_CAP, has room for a few more lines). */
#define CHUNK_BYTES (64u << 10)

static void on_async(uv_async_t *a)
{
    sr_pipeline_drain(a->data);
}

sr_pipeline_t *sr_pipeline_create(uv_loop_t *main_loop, const sr_config_t *cfg,
                                  sr_output_t **outputs, size_t n_outputs)
{
    sr_pipeline_t *p = sr_calloc(1, sizeof(*p));
    size_t i;

    p->cfg = cfg;
    p->outputs = outputs;
    p->n_outputs = n_outputs;
    for (i = 0; i < n_outputs; i++) {
        const sr_output_desc_t *d = outputs[i]->desc;

        if (d->needs_raw != NULL && d->needs_raw(outputs[i]->priv_conf)) {
            p->keep_raw = true;
        }
        if (outputs[i]->encode != NULL) {
            p->any_encode = true;
        }
    }
    pthread_mutex_init(&p->mu, NULL);
    uv_async_init(main_loop, &p->async, on_async);
    p->async.data = p;
    return p;
}

/* The output's inputs and min_severity accept the record. */
static bool takes(const sr_output_t *o, const sr_record_t *rec)
{
    const sr_output_conf_t *oc = o->conf;

    return (oc->input_allowed == NULL || oc->input_allowed[rec->input_id]) &&
           rec->severity <= oc->min_severity;
}

/* Queue the record on every output that takes it (an encoded chunk: on
 * the output it was encoded for). The pipeline's own reference goes to
 * the last of them: with one output, the count is not touched here at
 * all (a locked add and subtract on a line that another core wrote, per
 * record). */
static void route(sr_pipeline_t *p, sr_record_t *rec)
{
    sr_output_t *last = NULL;
    size_t i;

    if (rec->flags & SR_REC_ENCODED) {
        sr_output_enqueue_owned(p->outputs[rec->output_id], rec);
        return;
    }
    for (i = 0; i < p->n_outputs; i++) {
        if (p->outputs[i]->encode != NULL || !takes(p->outputs[i], rec)) {
            continue; /* an encoding output got it in a chunk */
        }
        if (last != NULL) {
            sr_output_enqueue(last, rec);
        }
        last = p->outputs[i];
    }
    if (last != NULL) {
        sr_output_enqueue_owned(last, rec);
    } else {
        sr_record_release(rec);
    }
}

void sr_pipeline_drain(sr_pipeline_t *p)
{
    sr_record_t **v;
    size_t n, cap, i;

    for (;;) {
        pthread_mutex_lock(&p->mu);
        v = p->inbox;
        n = p->n;
        cap = p->cap;
        p->inbox = p->spare;
        p->cap = p->spare_cap;
        p->n = 0;
        p->inbox_bytes = 0;
        atomic_store(&p->congested, false);
        pthread_mutex_unlock(&p->mu);
        if (n == 0) {
            p->spare = v;
            p->spare_cap = cap;
            return;
        }
        for (i = 0; i < n; i++) {
            route(p, v[i]);
        }
        p->spare = v;
        p->spare_cap = cap;
    }
}

bool sr_pipeline_backpressure(sr_pipeline_t *p)
{
    return atomic_load_explicit(&sr_output_flow, memory_order_relaxed) > 0 ||
           sr_pipeline_full(p);
}

bool sr_pipeline_full(sr_pipeline_t *p)
{
    return atomic_load_explicit(&sr_output_backpressure, memory_order_relaxed) > 0 ||
           atomic_load_explicit(&p->congested, memory_order_relaxed);
}

static void on_close(uv_handle_t *h)
{
    sr_pipeline_t *p = h->data;
    size_t i;

    for (i = 0; i < p->n; i++) {
        sr_record_release(p->inbox[i]);
    }
    free(p->inbox);
    free(p->spare);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void sr_pipeline_close(sr_pipeline_t *p)
{
    uv_close((uv_handle_t *)&p->async, on_close);
}

void sr_ingest_init(sr_ingest_t *in, sr_pipeline_t *p)
{
    in->p = p;
    in->scratch = p->cfg->redactor ? sr_redact_scratch_create(p->cfg->redactor) : NULL;
    in->n_chunks = p->any_encode ? p->n_outputs : 0;
    in->chunks = in->n_chunks ? sr_calloc(in->n_chunks, sizeof(*in->chunks)) : NULL;
    in->batch = NULL;
    in->n = 0;
    in->cap = 0;
    in->bytes = 0;
}

static void batch_push(sr_ingest_t *in, sr_record_t *rec)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? in->cap * 2 : 256;
        in->batch = sr_realloc(in->batch, in->cap * sizeof(*in->batch));
    }
    in->batch[in->n++] = rec;
    in->bytes += sr_record_size(rec);
}

/* Move output i's chunk, if it holds anything, into the handover batch. */
static void chunk_hand(sr_ingest_t *in, size_t i)
{
    sr_chunk_t *ch = &in->chunks[i];

    if (ch->messages == 0) {
        return;
    }
    batch_push(in, sr_record_encoded(&ch->buf, ch->messages, ch->marks, (uint16_t)i));
    ch->messages = 0;
    ch->marks = 0;
}

/* Encode the record into the chunk of every encoding output that takes
 * it. True if an output that does not encode takes it too. */
static bool encode_here(sr_ingest_t *in, const sr_record_t *rec)
{
    sr_pipeline_t *p = in->p;
    bool others = false;
    size_t i;

    for (i = 0; i < p->n_outputs; i++) {
        const sr_output_t *o = p->outputs[i];
        sr_chunk_t *ch = &in->chunks[i];

        if (!takes(o, rec)) {
            continue;
        }
        if (o->encode == NULL) {
            others = true;
            continue;
        }
        if (ch->buf.base == NULL) {
            sr_chunk_buf_take(&ch->buf);
        }
        if (o->encode(o, rec, &ch->buf)) {
            ch->marks++;
        }
        ch->messages++;
        if (ch->buf.len >= CHUNK_BYTES) {
            chunk_hand(in, i);
        }
    }
    return others;
}

/* The receive time of the frames since this thread's last handover (0:
 * not read yet); sr_ingest_flush clears it. */
static __thread int64_t read_now_us;

void sr_ingest_frame(sr_ingest_t *in, const sr_input_conf_t *conf, sr_input_stats_t *st,
                     const char *frame, size_t len, int flags, const char *source)
{
    sr_record_t *rec = sr_record_create(frame, len);
    sr_parse_ctx_t ctx;

    rec->input_id = (uint16_t)conf->id;
    rec->input_name = conf->name;
    /* One clock read per handover batch: the frames of one read (or of
     * one loop iteration's datagrams) were received together. */
    if (read_now_us == 0) {
        read_now_us = sr_now_us();
    }
    rec->received_us = read_now_us;
    {
        /* The same as snprintf "%s" (truncated, NUL-terminated), without
         * printf's cost on every record. */
        size_t n = strnlen(source, sizeof(rec->source) - 1);

        memcpy(rec->source, source, n);
        rec->source[n] = '\0';
    }
    if (flags & SR_FRAME_TRUNCATED) {
        rec->flags |= SR_REC_TRUNCATED;
        st->truncated++;
    }
    st->messages++;
    st->bytes += len;
    ctx.now_us = rec->received_us;
    ctx.tz = conf->tz;
    if (sr_parse_record(rec, (sr_parse_mode_t)conf->format, &ctx) == SR_FORMAT_RAW) {
        st->parse_errors++;
    }
    if (in->scratch != NULL) {
        if (in->p->keep_raw) {
            sr_redact_record(in->p->cfg->redactor, in->scratch, rec);
        } else {
            sr_redact_record_fields(in->p->cfg->redactor, in->scratch, rec);
        }
    }
    sr_record_seal(rec);
    if (in->chunks != NULL && !encode_here(in, rec)) {
        sr_record_release(rec); /* every output that takes it has its bytes */
        return;
    }
    batch_push(in, rec);
}

void sr_ingest_flush(sr_ingest_t *in)
{
    sr_pipeline_t *p = in->p;
    bool wake;

    read_now_us = 0;
    if (in->chunks != NULL) {
        size_t i;

        for (i = 0; i < in->n_chunks; i++) {
            chunk_hand(in, i);
        }
    }
    /* Before the early return: a record that no output takes is released
     * on the worker (encoding outputs), yet its redactions count. */
    if (in->scratch != NULL) {
        sr_redact_scratch_flush(in->scratch);
    }
    if (in->n == 0) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    /* Wake the main loop only when the inbox was empty: if it was not, a
     * wake-up is already on its way, and the drain that follows takes
     * everything appended until it swaps the inbox (under this lock). One
     * uv_async_send per read made the main loop spin in libuv's async
     * handler whenever a worker was preempted inside uv_async_send. */
    wake = p->n == 0;
    if (p->n + in->n > p->cap) {
        p->cap = SR_MAX(p->cap * 2, p->n + in->n);
        p->inbox = sr_realloc(p->inbox, p->cap * sizeof(*p->inbox));
    }
    memcpy(p->inbox + p->n, in->batch, in->n * sizeof(*in->batch));
    p->n += in->n;
    p->inbox_bytes += in->bytes;
    if (p->inbox_bytes > INBOX_LIMIT) {
        atomic_store(&p->congested, true);
    }
    pthread_mutex_unlock(&p->mu);
    in->n = 0;
    in->bytes = 0;
    if (wake) {
        uv_async_send(&p->async);
    }
}

void sr_ingest_free(sr_ingest_t *in)
{
    size_t i;

    for (i = 0; i < in->n; i++) {
        sr_record_release(in->batch[i]);
    }
    free(in->batch);
    if (in->chunks != NULL) {
        for (i = 0; i < in->n_chunks; i++) {
            sr_buf_free(&in->chunks[i].buf);
        }
        free(in->chunks);
    }
    if (in->scratch != NULL) {
        sr_redact_scratch_free(in->scratch);
    }
}
