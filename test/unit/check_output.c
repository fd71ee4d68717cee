/*
 * check_output.c: the output core (relay/output.c) driven through a
 * scripted output defined here. Each test runs a private loop, counts
 * callbacks, stops the instance and checks the loop closes cleanly.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/config.h"
#include "relay/metrics.h"
#include "relay/output_core.h"

/* What the scripted output does with each submit. */
enum { ACT_DELIVER = 0, ACT_RETRY, ACT_GIVE_UP, ACT_BUSY, ACT_FAIL, ACT_RELEASE_DELIVER,
       ACT_RELEASE_GIVE_UP };

typedef struct script_s {
    sr_output_t base;
    int actions[64]; /* per submit call; past the end: deliver */
    int n_calls;
    int seen[4096];  /* record numbers in the order delivered */
    int n_seen;
    sr_batch_t *held[64];
    int n_held;
    uv_timer_t t;
    bool t_init;
    int stops;
    size_t max_batch_bytes; /* the largest batch accepted, in bytes */
} script_t;

static int record_no(const sr_record_t *r)
{
    return atoi(r->text);
}

static void on_settle(uv_timer_t *t)
{
    script_t *s = t->data;
    int i, n = s->n_held;

    s->n_held = 0;
    for (i = 0; i < n; i++) {
        sr_batch_t *b = s->held[i];
        int act = (int)(intptr_t)b->priv;
        uint32_t k;

        if (act == ACT_DELIVER || act == ACT_RELEASE_DELIVER) {
            for (k = 0; k < b->n; k++) {
                s->seen[s->n_seen++] = record_no(b->recs[k]);
            }
            if (act == ACT_RELEASE_DELIVER) {
                sr_batch_release(b); /* as a pool thread would, once written */
                ck_assert(b->released);
            }
            sr_output_done(&s->base, b, SR_OUT_DELIVERED, NULL);
        } else if (act == ACT_RELEASE_GIVE_UP) {
            sr_batch_release(b);
            sr_output_done(&s->base, b, SR_OUT_GIVE_UP, "test_reason");
        } else if (act == ACT_RETRY) {
            sr_output_done(&s->base, b, SR_OUT_RETRY, NULL);
        } else {
            sr_output_done(&s->base, b, SR_OUT_GIVE_UP, "test_reason");
        }
    }
}

static int script_submit(sr_output_t *o, sr_batch_t *b)
{
    script_t *s = (script_t *)o;
    int act = s->n_calls < 64 ? s->actions[s->n_calls] : ACT_DELIVER;

    s->n_calls++;
    if (act == ACT_BUSY) {
        return SR_EBUSY;
    }
    if (act == ACT_FAIL) {
        sr_output_failed(o, "scripted failure");
        return SR_EBUSY;
    }
    if (!s->t_init) {
        uv_timer_init(o->loop, &s->t);
        s->t.data = s;
        s->t_init = true;
    }
    b->priv = (void *)(intptr_t)act;
    s->held[s->n_held++] = b;
    if (b->bytes > s->max_batch_bytes) {
        s->max_batch_bytes = b->bytes;
    }
    uv_timer_start(&s->t, on_settle, 1, 0);
    return 0;
}

static void script_stop(sr_output_t *o, void (*done)(sr_output_t *o))
{
    script_t *s = (script_t *)o;

    s->stops++;
    if (s->t_init) {
        uv_close((uv_handle_t *)&s->t, NULL);
    }
    done(o);
}

static const sr_cfg_key_t no_keys[] = {{NULL}};

static const sr_output_desc_t script_desc = {
    .name = "script",
    .keys = no_keys,
    .inst_size = sizeof(script_t),
    .max_batch = 4,
    .submit = script_submit,
    .stop = script_stop,
};

/* The same output with room for 1,000 items per batch, as Datadog has. */
static const sr_output_desc_t script_wide_desc = {
    .name = "script",
    .keys = no_keys,
    .inst_size = sizeof(script_t),
    .max_batch = 1000,
    .submit = script_submit,
    .stop = script_stop,
};

static uv_loop_t loop;
static sr_output_conf_t conf;
static int stopped;

static void setup(void)
{
    sr_metrics_init();
    uv_loop_init(&loop);
    memset(&conf, 0, sizeof(conf));
    conf.name = "t";
    conf.desc = &script_desc;
    conf.max_memory = 1 << 20;
    conf.min_severity = 7;
    stopped = 0;
}

static void teardown(void)
{
    sr_metrics_reset();
}

static void on_stopped(sr_output_t *o)
{
    stopped++;
}

static sr_output_t *make(const int *actions, int n)
{
    sr_output_t *o;

    ck_assert_int_eq(sr_output_create(&loop, &conf, &o), 0);
    memcpy(((script_t *)o)->actions, actions, n * sizeof(int));
    ck_assert_int_eq(sr_output_start(o), 0);
    return o;
}

static void enqueue_n(sr_output_t *o, int from, int n)
{
    int i;
    char buf[32];

    for (i = from; i < from + n; i++) {
        int len = snprintf(buf, sizeof(buf), "%d", i);
        sr_record_t *r = sr_record_create(buf, (size_t)len);

        sr_output_enqueue(o, r);
        sr_record_release(r);
    }
}

/* Chunks as a worker hands them over: chunk k holds `per(k)` lines. */
static void enqueue_chunks(sr_output_t *o, int n, int (*per)(int))
{
    int k, i;

    for (k = 0; k < n; k++) {
        sr_buf_t b;
        sr_record_t *r;

        sr_buf_init(&b);
        for (i = 0; i < per(k); i++) {
            sr_buf_printf(&b, "%d\n", k);
        }
        r = sr_record_encoded(&b, (uint32_t)per(k), 0, 0);
        ck_assert_uint_eq(sr_record_messages(r), (unsigned)per(k));
        sr_buf_free(&b);
        sr_output_enqueue_owned(o, r);
    }
}

static int k_plus_1(int k) { return k + 1; }
static int four(int k) { (void)k; return 4; }

static void run_until_idle(sr_output_t *o, int max_ms)
{
    uint64_t start = uv_now(&loop);

    while (sr_output_pending(o) > 0 && uv_now(&loop) - start < (uint64_t)max_ms) {
        uv_run(&loop, UV_RUN_ONCE);
        uv_update_time(&loop);
    }
}

static void finish(sr_output_t *o)
{
    sr_output_stop(o, on_stopped);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(stopped, 1);
    sr_output_destroy(o);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static int64_t metric(const char *fam, const char *label)
{
    return sr_metric_get(sr_metric(fam, label));
}

START_TEST(delivers_in_order_in_batches)
{
    int none[1] = {0};
    sr_output_t *o = make(none, 0);
    script_t *s = (script_t *)o;
    int i;

    enqueue_n(o, 0, 10);
    run_until_idle(o, 2000);
    ck_assert_int_eq(s->n_seen, 10);
    for (i = 0; i < 10; i++) {
        ck_assert_int_eq(s->seen[i], i);
    }
    ck_assert_int_eq(s->n_calls, 3); /* 4 + 4 + 2 */
    ck_assert_int_eq(metric(SR_M_OUTPUT_MESSAGES, "t"), 10);
    ck_assert_int_eq(metric(SR_M_OUTPUT_QUEUE, "t"), 0);
    finish(o);
}
END_TEST

START_TEST(retry_requeues_in_front_in_order)
{
    int acts[] = {ACT_RETRY, ACT_RETRY, ACT_DELIVER};
    sr_output_t *o = make(acts, 3);
    script_t *s = (script_t *)o;
    int i;

    enqueue_n(o, 0, 4);
    run_until_idle(o, 5000);
    ck_assert_int_eq(s->n_seen, 4);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(s->seen[i], i);
    }
    ck_assert_int_eq(s->n_calls, 3);
    ck_assert_int_eq(metric(SR_M_OUTPUT_ERRORS, "t"), 2);
    ck_assert_int_eq(metric(SR_M_OUTPUT_MESSAGES, "t"), 4);
    finish(o);
}
END_TEST

START_TEST(retry_backs_off)
{
    int acts[] = {ACT_RETRY, ACT_RETRY, ACT_RETRY};
    sr_output_t *o = make(acts, 3);
    uint64_t start;

    enqueue_n(o, 0, 1);
    start = uv_now(&loop);
    run_until_idle(o, 5000);
    /* 100 + 200 + 400 ms of backoff at least before the fourth offer. */
    ck_assert_uint_ge(uv_now(&loop) - start, 700);
    ck_assert_int_eq(((script_t *)o)->n_seen, 1);
    finish(o);
}
END_TEST

START_TEST(give_up_drops_and_counts)
{
    int acts[] = {ACT_GIVE_UP};
    sr_output_t *o = make(acts, 1);
    script_t *s = (script_t *)o;

    enqueue_n(o, 0, 6);
    run_until_idle(o, 2000);
    ck_assert_int_eq(s->n_seen, 2); /* the first batch of 4 was given up */
    ck_assert_int_eq(s->seen[0], 4);
    ck_assert_int_eq(metric(SR_M_DROPPED, "test_reason"), 4);
    ck_assert_int_eq(metric(SR_M_OUTPUT_MESSAGES, "t"), 2);
    finish(o);
}
END_TEST

START_TEST(busy_waits_for_ready_and_failed_backs_off)
{
    int acts[] = {ACT_FAIL, ACT_FAIL, ACT_DELIVER};
    sr_output_t *o = make(acts, 3);
    script_t *s = (script_t *)o;

    enqueue_n(o, 0, 3);
    run_until_idle(o, 5000);
    ck_assert_int_eq(s->n_seen, 3);
    ck_assert_int_eq(s->n_calls, 3);
    ck_assert_int_eq(metric(SR_M_OUTPUT_ERRORS, "t"), 2);
    finish(o);
}
END_TEST

START_TEST(busy_then_ready)
{
    int acts[] = {ACT_BUSY};
    sr_output_t *o = make(acts, 1);
    script_t *s = (script_t *)o;
    int i;

    enqueue_n(o, 0, 2);
    for (i = 0; i < 5; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    ck_assert_int_eq(s->n_calls, 1);
    ck_assert_uint_eq(sr_output_pending(o), 2);
    sr_output_ready(o);
    run_until_idle(o, 2000);
    ck_assert_int_eq(s->n_seen, 2);
    finish(o);
}
END_TEST

/* Records the output released itself (sr_batch_release) leave the
 * queue's byte count by the batch's bytes, are counted, and clear
 * back-pressure; ASan would report a double release or a leak. */
START_TEST(released_batches_are_accounted)
{
    int acts[] = {ACT_BUSY, ACT_RELEASE_DELIVER, ACT_RELEASE_GIVE_UP, ACT_RELEASE_DELIVER};
    sr_output_t *o;
    script_t *s;
    int i;

    conf.max_memory = 4096;
    o = make(acts, 4);
    s = (script_t *)o;
    enqueue_n(o, 0, 12);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(atomic_load(&sr_output_backpressure), 1);
    ck_assert_int_gt(metric(SR_M_OUTPUT_QUEUE_BYTES, "t"), 4096);
    sr_output_ready(o);
    run_until_idle(o, 2000);
    ck_assert_int_eq(s->n_seen, 8);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(s->seen[i], i);
        ck_assert_int_eq(s->seen[4 + i], 8 + i);
    }
    ck_assert_int_eq(metric(SR_M_OUTPUT_MESSAGES, "t"), 8);
    ck_assert_int_eq(metric(SR_M_DROPPED, "test_reason"), 4);
    ck_assert_int_eq(metric(SR_M_OUTPUT_QUEUE, "t"), 0);
    ck_assert_int_eq(metric(SR_M_OUTPUT_QUEUE_BYTES, "t"), 0);
    ck_assert_int_eq(atomic_load(&sr_output_backpressure), 0);
    finish(o);
}
END_TEST

/* Encoded chunks stand for many messages: the queue, the delivered and
 * dropped counters and shutdown's discard count those, not chunks. */
START_TEST(chunks_count_messages)
{
    int acts[] = {ACT_RETRY, ACT_RELEASE_DELIVER, ACT_GIVE_UP};
    sr_output_t *o;
    script_t *s;
    int i;

    o = make(acts, 3);
    s = (script_t *)o;
    enqueue_chunks(o, 6, k_plus_1); /* 1 + 2 + ... + 6 = 21 messages */
    ck_assert_uint_eq(sr_output_pending(o), 21);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(metric(SR_M_OUTPUT_QUEUE, "t"), 21);
    run_until_idle(o, 2000);
    /* max_batch 4 counts messages: the batches are chunks 0-2 (6
     * messages), 3 (4), 4 (5) and 5 (6), all offered at once. 0-2 come
     * back for a retry, 3 is delivered, 4 given up, 5 delivered; offered
     * again, 0-2 are delivered. */
    {
        static const int order[] = {3, 5, 0, 1, 2};

        ck_assert_int_eq(s->n_seen, 5);
        for (i = 0; i < 5; i++) {
            ck_assert_int_eq(s->seen[i], order[i]);
        }
    }
    ck_assert_int_eq(metric(SR_M_OUTPUT_MESSAGES, "t"), 16);
    ck_assert_int_eq(metric(SR_M_DROPPED, "test_reason"), 5);
    ck_assert_int_eq(metric(SR_M_OUTPUT_ERRORS, "t"), 2);
    ck_assert_int_eq(metric(SR_M_OUTPUT_QUEUE, "t"), 0);
    ck_assert_int_eq(metric(SR_M_OUTPUT_QUEUE_BYTES, "t"), 0);
    ck_assert_uint_eq(sr_output_pending(o), 0);
    finish(o);
}
END_TEST

/* A chunk of a few lines is copied into its record's own block (the
 * buffer stays with the worker); a big one takes the buffer over. */
START_TEST(chunk_small_copied_big_taken)
{
    sr_buf_t b;
    sr_record_t *r;
    char *base;
    int i;

    sr_buf_init(&b);
    sr_chunk_buf_take(&b);
    ck_assert_uint_eq(b.cap, SR_CHUNK_CAP);
    base = b.base;
    sr_buf_puts(&b, "one\ntwo\n");
    r = sr_record_encoded(&b, 2, 1, 3);
    ck_assert_ptr_eq(b.base, base); /* kept, emptied */
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(r->text_len, 8);
    ck_assert_int_eq(memcmp(r->text, "one\ntwo\n", 8), 0);
    ck_assert_ptr_eq(r->text, r->data);
    ck_assert_uint_eq(r->output_id, 3);
    ck_assert_uint_eq(r->marks, 1);
    ck_assert_uint_lt(sr_record_size(r), 4096);
    sr_record_release(r);

    for (i = 0; i < 2000; i++) {
        sr_buf_printf(&b, "%05d %s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    }
    r = sr_record_encoded(&b, 2000, 0, 0);
    ck_assert_ptr_null(b.base); /* taken over */
    ck_assert_ptr_eq(r->text, base);
    ck_assert_uint_eq(r->text_len, 2000 * 35);
    ck_assert_int_eq(memcmp(r->text + 1999 * 35, "01999 ", 6), 0);
    ck_assert_uint_ge(sr_record_size(r), SR_CHUNK_CAP); /* counted whole */
    ck_assert_uint_eq(sr_record_messages(r), 2000);
    sr_record_release(r); /* its buffer goes back for reuse */
    sr_chunk_buf_take(&b);
    ck_assert_ptr_eq(b.base, base);
    sr_buf_free(&b);
}
END_TEST

/* max_batch counts messages, not chunks: with 1,000 per batch and chunks
 * of 1,000 lines (60 KiB) each, every batch is one chunk, where counting
 * items would hand an output all 50 (3 MB; 60 MB for 1,000) at once. */
START_TEST(batches_count_messages)
{
    int acts[] = {ACT_DELIVER};
    sr_output_t *o;
    script_t *s;
    int k, i;

    conf.desc = &script_wide_desc;
    conf.max_memory = 64 << 20;
    o = make(acts, 1);
    s = (script_t *)o;
    for (k = 0; k < 50; k++) { /* 50 chunks of about 60 KiB: 3 MB */
        sr_buf_t b;

        sr_buf_init(&b);
        for (i = 0; i < 1000; i++) {
            sr_buf_printf(&b, "%05d %053d\n", k, i);
        }
        sr_output_enqueue_owned(o, sr_record_encoded(&b, 1000, 0, 0));
        sr_buf_free(&b);
    }
    run_until_idle(o, 5000);
    ck_assert_int_eq(metric(SR_M_OUTPUT_MESSAGES, "t"), 50000);
    ck_assert_int_eq(s->n_seen, 50);
    for (k = 0; k < 50; k++) {
        ck_assert_int_eq(s->seen[k], k);
    }
    ck_assert_int_eq(s->n_calls, 50);
    ck_assert_uint_le(s->max_batch_bytes, SR_CHUNK_CAP + 4096);
    finish(o);
}
END_TEST

START_TEST(discard_counts_chunk_messages)
{
    int acts[] = {ACT_BUSY};
    sr_output_t *o;

    o = make(acts, 1);
    enqueue_chunks(o, 3, four);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_uint_eq(sr_output_discard(o, "shutdown"), 12);
    ck_assert_int_eq(metric(SR_M_DROPPED, "shutdown"), 12);
    ck_assert_int_eq(metric(SR_M_OUTPUT_QUEUE, "t"), 0);
    finish(o);
}
END_TEST

START_TEST(backpressure_flag_follows_limit)
{
    int acts[] = {ACT_BUSY};
    sr_output_t *o;

    conf.max_memory = 4096;
    o = make(acts, 1);
    ck_assert_int_eq(atomic_load(&sr_output_backpressure), 0);
    enqueue_n(o, 0, 200);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(atomic_load(&sr_output_backpressure), 1);
    ck_assert_uint_eq(sr_output_discard(o, "shutdown"), 200);
    ck_assert_int_eq(atomic_load(&sr_output_backpressure), 0);
    ck_assert_int_eq(metric(SR_M_DROPPED, "shutdown"), 200);
    finish(o);
}
END_TEST

/* The real file output, handed plain records and chunks mixed (the relay
 * hands it only chunks; a plain record is formatted on its pool thread):
 * the file holds every line once, in queue order, whatever mix of spans
 * and however many writev calls that takes. */
START_TEST(file_output_writes_chunks_and_records)
{
    char dir[] = "/tmp/sr-check-output-XXXXXX", path[64], yaml[256], *got;
    sr_cfg_ctx_t ctx;
    sr_config_t *cfg = NULL;
    sr_output_t *o;
    sr_buf_t want, chunk;
    FILE *f;
    long n;
    int i, j;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/out.log", dir);
    snprintf(yaml, sizeof(yaml),
             "inputs:\n  - {name: in, type: tcp, listen: \"127.0.0.1:0\"}\n"
             "outputs:\n  - {name: f, type: file, path: \"%s\", format: raw}\n", path);
    sr_cfg_ctx_init(&ctx, "t.yaml");
    ck_assert_int_eq(sr_config_load_string(yaml, "t.yaml", &cfg, &ctx), 0);
    sr_cfg_ctx_free(&ctx);
    ck_assert_int_eq(sr_output_create(&loop, &cfg->outputs[0], &o), 0);
    ck_assert_int_eq(sr_output_start(o), 0);
    sr_buf_init(&want);
    sr_buf_init(&chunk);
    /* 150 pieces: a run of plain records, then a chunk, alternating, and a
     * chunk big enough to keep its own buffer: well over 64 spans. */
    for (i = 0; i < 150; i++) {
        if (i % 3 != 2) {
            char line[32];
            int len = snprintf(line, sizeof(line), "plain %d", i);
            sr_record_t *r = sr_record_create(line, (size_t)len);

            sr_buf_printf(&want, "%s\n", line);
            sr_output_enqueue(o, r);
            sr_record_release(r);
            continue;
        }
        for (j = 0; j < (i == 98 ? 3000 : 2); j++) {
            sr_buf_printf(&chunk, "chunk %d line %d\n", i, j);
        }
        sr_buf_append(&want, chunk.base, chunk.len);
        sr_output_enqueue_owned(o, sr_record_encoded(&chunk, (uint32_t)j, 0, 0));
    }
    run_until_idle(o, 5000);
    ck_assert_uint_eq(sr_output_pending(o), 0);
    ck_assert_int_eq(metric(SR_M_OUTPUT_MESSAGES, "f"), 100 + 49 * 2 + 3000);
    finish(o);

    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    got = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(got, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    ck_assert_uint_eq((size_t)n, want.len);
    ck_assert_int_eq(memcmp(got, want.base, want.len), 0);
    free(got);
    sr_buf_free(&want);
    sr_buf_free(&chunk);
    unlink(path);
    rmdir(dir);
    sr_config_free(cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("output");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, delivers_in_order_in_batches);
    tcase_add_test(tc, retry_requeues_in_front_in_order);
    tcase_add_test(tc, retry_backs_off);
    tcase_add_test(tc, give_up_drops_and_counts);
    tcase_add_test(tc, busy_waits_for_ready_and_failed_backs_off);
    tcase_add_test(tc, busy_then_ready);
    tcase_add_test(tc, backpressure_flag_follows_limit);
    tcase_add_test(tc, released_batches_are_accounted);
    tcase_add_test(tc, chunks_count_messages);
    tcase_add_test(tc, discard_counts_chunk_messages);
    tcase_add_test(tc, chunk_small_copied_big_taken);
    tcase_add_test(tc, batches_count_messages);
    tcase_add_test(tc, file_output_writes_chunks_and_records);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
