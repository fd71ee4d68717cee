/*
 * output.c: the core side of every output instance (see output_core.h
 * and outputs/output.h): queue, batching, retry with backoff, drop
 * accounting and counters.
 *
 * Memory: the queue holds one reference per record; a batch moves those
 * references out of the queue and back (retry) or releases them
 * (delivered, give up). Everything runs on the main loop.
 */
#include <stdlib.h>

#include "log.h"
#include "metrics.h"
#include "output_core.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000

atomic_int sr_output_backpressure;
atomic_int sr_output_flow;

typedef struct sr_output_core_s {
    sr_output_t *o;
    sr_record_t **ring; /* FIFO of queued records */
    size_t cap;
    size_t head;
    size_t count;
    size_t bytes;          /* queued + in flight */
    size_t inflight;       /* records in accepted batches */
    size_t messages;       /* queued + in flight (a chunk holds many) */
    uint64_t backoff_ms;   /* the next delay */
    bool busy;             /* submit said SR_EBUSY; wait for ready/timer */
    bool waiting;          /* the retry timer is armed */
    bool full;             /* counted in sr_output_backpressure */
    bool behind;           /* counted in sr_output_flow */
    bool stopping;
    bool dispatch_pending;
    uv_timer_t retry_timer;
    uv_timer_t dispatch_timer;
    int open_handles;
    void (*stop_done)(sr_output_t *o);
    sr_ratelimit_t rl;
    sr_metric_t *m_delivered;
    sr_metric_t *m_errors;
    sr_metric_t *m_queue;
    sr_metric_t *m_queue_bytes;
} core_t;

static void dispatch(core_t *c);

/* Over the mark, or (once over it) not yet back under 3/4 of it. */
static bool over(bool was, size_t bytes, size_t mark)
{
    return was ? bytes >= mark / 4 * 3 : bytes >= mark;
}

static void update_gauges(core_t *c)
{
    size_t limit = c->o->conf->max_memory, window = limit;
    bool full, behind;

    sr_metric_set(c->m_queue, (int64_t)c->messages);
    sr_metric_set(c->m_queue_bytes, (int64_t)c->bytes);
    /* Delivering (no failure since the last delivery): the flow window
     * applies; queueing more would not deliver faster, only hold memory
     * and add latency. Failing: inputs go on until max_memory. */
    if (c->backoff_ms == BACKOFF_MIN_MS && window > c->o->conf->flow_window) {
        window = c->o->conf->flow_window;
    }
    behind = over(c->behind, c->bytes, window);
    if (behind != c->behind) {
        c->behind = behind;
        atomic_fetch_add(&sr_output_flow, behind ? 1 : -1);
    }
    full = over(c->full, c->bytes, limit);
    if (full != c->full) {
        c->full = full;
        atomic_fetch_add(&sr_output_backpressure, full ? 1 : -1);
        if (full) {
            sr_warn("output %s \"%s\": queue holds %zu bytes (limit %llu); pausing stream "
                    "inputs, dropping datagrams until it drains",
                    c->o->desc->name, c->o->name, c->bytes, (unsigned long long)limit);
        } else {
            sr_info("output %s \"%s\": queue below 3/4 of its limit; resuming inputs",
                    c->o->desc->name, c->o->name);
        }
    }
}

static void ring_grow(core_t *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 1024;
    sr_record_t **n = sr_malloc(ncap * sizeof(*n));
    size_t i;

    for (i = 0; i < c->count; i++) {
        n[i] = c->ring[(c->head + i) % c->cap];
    }
    free(c->ring);
    c->ring = n;
    c->cap = ncap;
    c->head = 0;
}

static void push_back(core_t *c, sr_record_t *r)
{
    if (c->count == c->cap) {
        ring_grow(c);
    }
    c->ring[(c->head + c->count) % c->cap] = r;
    c->count++;
}

static void push_front(core_t *c, sr_record_t *r)
{
    if (c->count == c->cap) {
        ring_grow(c);
    }
    c->head = (c->head + c->cap - 1) % c->cap;
    c->ring[c->head] = r;
    c->count++;
}

static sr_record_t *pop_front(core_t *c)
{
    sr_record_t *r = c->ring[c->head];

    c->head = (c->head + 1) % c->cap;
    c->count--;
    return r;
}

static void on_dispatch_timer(uv_timer_t *t)
{
    core_t *c = t->data;

    c->dispatch_pending = false;
    dispatch(c);
}

/* Dispatch from a fresh loop iteration, never from inside a callback of
 * the output (which may be inside submit). */
static void schedule_dispatch(core_t *c)
{
    if (!c->dispatch_pending && !c->stopping) {
        c->dispatch_pending = true;
        uv_timer_start(&c->dispatch_timer, on_dispatch_timer, 0, 0);
    }
}

static void on_retry_timer(uv_timer_t *t)
{
    core_t *c = t->data;

    c->waiting = false;
    c->busy = false;
    dispatch(c);
}

static void back_off(core_t *c)
{
    if (c->waiting || c->stopping) {
        return;
    }
    c->waiting = true;
    uv_timer_start(&c->retry_timer, on_retry_timer, c->backoff_ms, 0);
    c->backoff_ms = SR_MIN(c->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void dispatch(core_t *c)
{
    sr_output_t *o = c->o;
    uint32_t max = o->desc->max_batch ? o->desc->max_batch : 1;

    while (!c->busy && !c->waiting && !c->stopping && c->count > 0) {
        uint32_t n = (uint32_t)SR_MIN((size_t)max, c->count);
        sr_batch_t *b = sr_malloc(sizeof(*b) + n * sizeof(sr_record_t *));
        uint32_t i;
        int rc;

        b->next = NULL;
        b->priv = NULL;
        b->n = n;
        b->released = false;
        b->bytes = 0;
        b->messages = 0;
        /* max_batch counts messages: a batch of chunks stops once it
         * holds that many (it has at least one chunk, whatever its size). */
        for (i = 0; i < n && (i == 0 || b->messages < max); i++) {
            b->recs[i] = pop_front(c);
            b->bytes += sr_record_size(b->recs[i]);
            b->messages += sr_record_messages(b->recs[i]);
        }
        n = i;
        b->n = n;
        c->inflight += n;
        rc = o->desc->submit(o, b);
        if (rc == 0) {
            continue;
        }
        /* Not taken: the records go back in front, in order. */
        c->inflight -= n;
        for (i = n; i > 0; i--) {
            push_front(c, b->recs[i - 1]);
        }
        free(b);
        if (rc == SR_EBUSY) {
            c->busy = true;
        } else {
            sr_metric_add(c->m_errors, 1);
            sr_log_limited(&c->rl, SR_LOG_WARNING,
                           "output %s \"%s\": submit failed: %s; retrying in %llu ms",
                           o->desc->name, o->name, sr_strerror(rc),
                           (unsigned long long)c->backoff_ms);
            back_off(c);
        }
        break;
    }
    update_gauges(c);
}

int sr_output_create(uv_loop_t *loop, const sr_output_conf_t *conf, sr_output_t **out)
{
    const sr_output_desc_t *d = conf->desc;
    sr_output_t *o = NULL;
    core_t *c = NULL;
    int rc;

    o = sr_calloc(1, d->inst_size < sizeof(*o) ? sizeof(*o) : d->inst_size);
    c = sr_calloc(1, sizeof(*c));
    o->desc = d;
    o->name = conf->name;
    o->loop = loop;
    o->conf = conf;
    o->priv_conf = conf->priv;
    o->core = c;
    c->o = o;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->rl.burst = 3;
    c->rl.interval = 30;
    c->m_delivered = sr_metric(SR_M_OUTPUT_MESSAGES, conf->name);
    c->m_errors = sr_metric(SR_M_OUTPUT_ERRORS, conf->name);
    c->m_queue = sr_metric(SR_M_OUTPUT_QUEUE, conf->name);
    c->m_queue_bytes = sr_metric(SR_M_OUTPUT_QUEUE_BYTES, conf->name);
    uv_timer_init(loop, &c->retry_timer);
    uv_timer_init(loop, &c->dispatch_timer);
    c->retry_timer.data = c;
    c->dispatch_timer.data = c;
    c->open_handles = 2;
    rc = d->create ? d->create(o) : 0;
    if (rc < 0) {
        sr_error("output %s \"%s\": cannot create: %s", d->name, o->name, sr_strerror(rc));
        /* The timers are closed by stop; an instance that failed create
         * is still stopped and destroyed by the caller. */
    }
    *out = o;
    return rc;
}

int sr_output_start(sr_output_t *o)
{
    int rc = o->desc->start ? o->desc->start(o) : 0;

    if (o->conf->disk_path != NULL) {
        /* INTERFACE.md has the key; the disk buffer itself is not built
         * yet. Say so rather than let an operator count on it. */
        sr_warn("output %s \"%s\": buffer.disk_path %s is not used: this version buffers in "
                "memory only, up to buffer.max_memory",
                o->desc->name, o->name, o->conf->disk_path);
    }
    if (rc < 0) {
        sr_error("output %s \"%s\": cannot start: %s", o->desc->name, o->name, sr_strerror(rc));
    }
    return rc;
}

void sr_output_enqueue(sr_output_t *o, sr_record_t *rec)
{
    sr_record_ref(rec);
    sr_output_enqueue_owned(o, rec);
}

void sr_output_enqueue_owned(sr_output_t *o, sr_record_t *rec)
{
    core_t *c = o->core;

    push_back(c, rec);
    c->bytes += sr_record_size(rec);
    c->messages += sr_record_messages(rec);
    if (!c->busy && !c->waiting) {
        schedule_dispatch(c);
    } else {
        update_gauges(c);
    }
}

size_t sr_output_pending(const sr_output_t *o)
{
    return o->core->messages;
}

static size_t count_messages(sr_record_t *const *recs, uint32_t n)
{
    size_t m = 0;
    uint32_t i;

    for (i = 0; i < n; i++) {
        m += sr_record_messages(recs[i]);
    }
    return m;
}

static void release_records(core_t *c, sr_record_t **recs, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        c->bytes -= sr_record_size(recs[i]);
        sr_record_release(recs[i]);
    }
    c->inflight -= n;
}

static void count_drop(const char *reason, uint64_t n)
{
    sr_metric_add(sr_metric(SR_M_DROPPED, reason ? reason : "given_up"), (int64_t)n);
}

/* Records (m messages) leave the output: released here, or already
 * released by the output (`released`: their batch, after
 * sr_batch_release()), when only the accounting is left. */
static void records_gone(core_t *c, sr_record_t **recs, uint32_t n, size_t m,
                         const sr_batch_t *released)
{
    c->messages -= m;
    if (released != NULL) {
        c->bytes -= released->bytes;
        c->inflight -= n;
    } else {
        release_records(c, recs, n);
    }
}

/* Handle the outcome of recs[0..n) of a batch (`released`: see
 * records_gone). */
static void outcome(sr_output_t *o, sr_record_t **recs, uint32_t n, sr_outcome_t what,
                    const char *reason, const sr_batch_t *released)
{
    core_t *c = o->core;
    size_t m = released != NULL ? released->messages : count_messages(recs, n);
    uint32_t i;

    if (released != NULL && what == SR_OUT_RETRY) {
        /* The records are gone: a bug in the output, not a condition. */
        sr_error("output %s \"%s\": retry of a released batch", o->desc->name, o->name);
        abort();
    }
    switch (what) {
    case SR_OUT_DELIVERED:
        sr_metric_add(c->m_delivered, (int64_t)m);
        records_gone(c, recs, n, m, released);
        c->backoff_ms = BACKOFF_MIN_MS;
        break;
    case SR_OUT_RETRY:
        sr_metric_add(c->m_errors, 1);
        for (i = n; i > 0; i--) {
            push_front(c, recs[i - 1]);
        }
        c->inflight -= n;
        if (!c->waiting && !c->stopping) {
            sr_log_limited(&c->rl, SR_LOG_WARNING,
                           "output %s \"%s\": %zu messages not delivered; retrying in %llu ms",
                           o->desc->name, o->name, m, (unsigned long long)c->backoff_ms);
        }
        back_off(c);
        break;
    case SR_OUT_GIVE_UP:
        sr_metric_add(c->m_errors, 1);
        count_drop(reason, m);
        sr_log_limited(&c->rl, SR_LOG_ERROR, "output %s \"%s\": dropping %zu messages (%s)",
                       o->desc->name, o->name, m, reason ? reason : "given up");
        records_gone(c, recs, n, m, released);
        break;
    }
    update_gauges(c);
    schedule_dispatch(c);
}

void sr_output_done(sr_output_t *o, sr_batch_t *b, sr_outcome_t what, const char *reason)
{
    outcome(o, b->recs, b->n, what, reason, b->released ? b : NULL);
    free(b);
}

void sr_batch_release(sr_batch_t *b)
{
    uint32_t i;

    for (i = 0; i < b->n; i++) {
        sr_record_release(b->recs[i]);
        b->recs[i] = NULL;
    }
    b->released = true;
}

void sr_output_done_partial(sr_output_t *o, sr_batch_t *b, uint32_t n, sr_outcome_t what,
                            const char *reason)
{
    if (n > b->n) {
        n = b->n;
    }
    outcome(o, b->recs, n, what, reason, NULL);
    memmove(b->recs, b->recs + n, (b->n - n) * sizeof(sr_record_t *));
    b->n -= n;
}

void sr_output_ready(sr_output_t *o)
{
    core_t *c = o->core;

    if (c->busy && !c->waiting) {
        c->busy = false;
    }
    schedule_dispatch(c);
}

void sr_output_failed(sr_output_t *o, const char *why)
{
    core_t *c = o->core;

    sr_metric_add(c->m_errors, 1);
    if (!c->waiting && !c->stopping) {
        sr_log_limited(&c->rl, SR_LOG_WARNING, "output %s \"%s\": %s; retrying in %llu ms",
                       o->desc->name, o->name, why, (unsigned long long)c->backoff_ms);
    }
    c->busy = true;
    back_off(c);
}

void sr_output_reopen(sr_output_t *o)
{
    if (o->desc->reopen) {
        o->desc->reopen(o);
    }
}

size_t sr_output_discard(sr_output_t *o, const char *reason)
{
    core_t *c = o->core;
    size_t n = 0;

    while (c->count > 0) {
        sr_record_t *r = pop_front(c);

        c->bytes -= sr_record_size(r);
        c->messages -= sr_record_messages(r);
        n += sr_record_messages(r);
        sr_record_release(r);
    }
    if (n > 0) {
        count_drop(reason, n);
    }
    update_gauges(c);
    return n;
}

static void on_core_close(uv_handle_t *h)
{
    core_t *c = h->data;

    if (--c->open_handles == 0 && c->stop_done) {
        c->stop_done(c->o);
    }
}

static void on_desc_stopped(sr_output_t *o)
{
    core_t *c = o->core;

    uv_close((uv_handle_t *)&c->retry_timer, on_core_close);
    uv_close((uv_handle_t *)&c->dispatch_timer, on_core_close);
}

void sr_output_stop(sr_output_t *o, void (*done)(sr_output_t *o))
{
    core_t *c = o->core;

    c->stopping = true;
    c->stop_done = done;
    uv_timer_stop(&c->retry_timer);
    uv_timer_stop(&c->dispatch_timer);
    if (o->desc->stop) {
        o->desc->stop(o, on_desc_stopped);
    } else {
        on_desc_stopped(o);
    }
}

void sr_output_destroy(sr_output_t *o)
{
    core_t *c = o->core;

    if (o->desc->destroy) {
        o->desc->destroy(o);
    }
    while (c->count > 0) {
        sr_record_release(pop_front(c));
    }
    if (c->full) {
        atomic_fetch_add(&sr_output_backpressure, -1);
    }
    if (c->behind) {
        atomic_fetch_add(&sr_output_flow, -1);
    }
    free(c->ring);
    free(c);
    free(o);
}
