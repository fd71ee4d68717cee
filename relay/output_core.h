/*
 * output_core.h: what the rest of the core uses to drive output instances
 * (outputs themselves see only outputs/output.h).
 *
 * Per instance, relay/output.c keeps a bounded FIFO of record references
 * (in memory, up to buffer.max_memory bytes), cuts it into batches of at
 * most desc->max_batch, offers them with desc->submit, and handles what
 * comes back: delivered (count, release), retry (requeue at the front in
 * order, back off), give up (drop, count under a reason). Backoff is
 * capped exponential, 100 ms doubling to 30 s, reset by any delivery.
 * All on the main loop.
 *
 * Back-pressure: while any output holds more than its max_memory, the
 * global count sr_output_backpressure is non-zero; stream inputs stop
 * reading (TCP/TLS senders feel it) and datagram inputs drop and count
 * ("queue_full"). It clears when every output is below 3/4 of its limit.
 *
 * Flow control: an output that is delivering (no failure since its last
 * delivery) but more than buffer.flow_window (4 MiB; or max_memory, if
 * smaller) behind counts in sr_output_flow, which pauses stream inputs
 * only, until it is below 3/4 of that. A fast sender then waits for a
 * slower output instead of filling the whole queue; the queue beyond the
 * window absorbs an output's failures, when holding messages is what
 * keeps them.
 */
#ifndef SR_OUTPUT_CORE_H
#define SR_OUTPUT_CORE_H

#include <stdatomic.h>
#include "../outputs/output.h"

extern atomic_int sr_output_backpressure;
extern atomic_int sr_output_flow;

/* Allocate and create an instance from a validated config (no I/O). */
int sr_output_create(uv_loop_t *loop, const sr_output_conf_t *conf, sr_output_t **out);
/* Start it (may begin connecting). */
int sr_output_start(sr_output_t *o);
/* Queue a record (takes its own reference). Never refuses: the limit is
 * enforced by back-pressure on the inputs. */
void sr_output_enqueue(sr_output_t *o, sr_record_t *rec);
/* The same, taking over the caller's reference instead. */
void sr_output_enqueue_owned(sr_output_t *o, sr_record_t *rec);
/* Records queued or in flight. */
size_t sr_output_pending(const sr_output_t *o);
void sr_output_reopen(sr_output_t *o);
/* Drop every record still queued (not in flight), counted as `reason`. */
size_t sr_output_discard(sr_output_t *o, const char *reason);
/* Stop the instance; done(o) runs once its handles are closed. */
void sr_output_stop(sr_output_t *o, void (*done)(sr_output_t *o));
/* Free it (after stop completed). */
void sr_output_destroy(sr_output_t *o);

#endif
