/*
 * fuzz_framing.c: libFuzzer target for relay/framing.c.
 *
 * The first input byte picks the mode and max_message_size; the rest is
 * the stream, fed in pieces at split points derived from the input, and
 * then fed again whole into a second framer. Checks: no crash, no frame
 * empty or longer than max, the buffer never beyond max, and the split
 * feeding gives exactly the same frames as the whole one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/common.h"
#include "relay/framing.h"

typedef struct sink_s {
    sr_buf_t out;
    uint32_t max;
    size_t frames;
} sink_t;

static void on_frame(void *arg, const char *p, size_t len, int flags)
{
    sink_t *s = arg;

    if (len == 0 || len > s->max) {
        abort();
    }
    sr_buf_printf(&s->out, "%d:%zu:", flags, len);
    sr_buf_append(&s->out, p, len);
    s->frames++;
}

static void run(const uint8_t *data, size_t n, sr_framing_t mode, uint32_t max, const size_t *cuts,
                size_t n_cuts, sink_t *s)
{
    sr_framer_t f;
    size_t k, from = 0, to;
    char *piece;

    sr_framer_init(&f, mode, max);
    for (k = 0; k <= n_cuts; k++) {
        to = k < n_cuts ? cuts[k] : n;
        if (to < from) {
            to = from;
        }
        piece = malloc(to - from + 1);
        memcpy(piece, data + from, to - from);
        sr_framer_feed(&f, piece, to - from, on_frame, s);
        free(piece);
        if (sr_framer_buffered(&f) > max || f.cap > max) {
            abort();
        }
        from = to;
    }
    sr_framer_finish(&f, on_frame, s);
    sr_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t maxes[] = {1, 2, 5, 16, 64, 1024};
    sink_t a = {.frames = 0}, b = {.frames = 0};
    size_t cuts[4], i;
    sr_framing_t mode;
    uint32_t max;

    if (size < 1) {
        return 0;
    }
    mode = (sr_framing_t)(data[0] % 3);
    max = maxes[(data[0] >> 2) % SR_ARRAY_SIZE(maxes)];
    data++;
    size--;
    for (i = 0; i < SR_ARRAY_SIZE(cuts); i++) {
        cuts[i] = size ? (size_t)data[(i * 7) % size] * (i + 1) % (size + 1) : 0;
    }
    /* ascending split points */
    for (i = 1; i < SR_ARRAY_SIZE(cuts); i++) {
        if (cuts[i] < cuts[i - 1]) {
            cuts[i] = cuts[i - 1];
        }
    }
    sr_buf_init(&a.out);
    sr_buf_init(&b.out);
    a.max = b.max = max;
    run(data, size, mode, max, cuts, SR_ARRAY_SIZE(cuts), &a);
    run(data, size, mode, max, NULL, 0, &b);
    if (a.out.len != b.out.len || (a.out.len && memcmp(a.out.base, b.out.base, a.out.len) != 0)) {
        abort();
    }
    sr_buf_free(&a.out);
    sr_buf_free(&b.out);
    return 0;
}
