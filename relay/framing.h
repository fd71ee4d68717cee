/*
 * framing.h: the RFC 6587 stream decoder for TCP and TLS inputs.
 *
 * Pure and I/O-free: the connection feeds whatever bytes a read gave, in
 * any split, and the decoder calls back once per complete frame. Modes:
 * octet counting ("LEN SP MSG"), newline (a frame ends at LF or NUL), and
 * auto, which decides per frame: a leading digit means octet counting
 * (zero-padded counts too, as loggen sends them), anything else a
 * trailer-terminated frame. Stray CR, LF and NUL between
 * frames are skipped.
 *
 * Memory: at most max_message_size bytes are buffered per connection.
 * A longer frame is delivered truncated to max_message_size with
 * SR_FRAME_TRUNCATED, and the rest of it is skipped, never buffered.
 */
#ifndef SR_FRAMING_H
#define SR_FRAMING_H

#include <stddef.h>
#include <stdint.h>

typedef enum sr_framing_e {
    SR_FRAMING_AUTO = 0,
    SR_FRAMING_OCTET,
    SR_FRAMING_NEWLINE,
} sr_framing_t;

enum { SR_FRAME_TRUNCATED = 1 };

/* Called once per frame. `frame` is valid only during the call. The
 * frame may still end in CR/LF/NUL (inside an octet-counted frame); the
 * record builder strips those. */
typedef void (*sr_frame_cb)(void *arg, const char *frame, size_t len, int flags);

typedef struct sr_framer_s {
    uint8_t mode;      /* sr_framing_t */
    uint8_t state;     /* private */
    uint32_t max;      /* max_message_size */
    uint64_t want;     /* private: octets still expected in this frame */
    uint64_t skip;     /* private: octets of an oversized frame to discard */
    uint32_t digits;   /* private: length digits seen */
    char *buf;         /* private: partial frame, at most `max` bytes */
    uint32_t len;
    uint32_t cap;
    uint64_t truncated; /* frames truncated so far (for metrics) */
} sr_framer_t;

void sr_framer_init(sr_framer_t *f, sr_framing_t mode, uint32_t max_message_size);

/* Feed bytes; calls cb for each frame completed. Returns 0. Bytes that
 * fit no framing are delivered as trailer-terminated frames (the parser
 * then makes them raw records): nothing is dropped silently. */
int sr_framer_feed(sr_framer_t *f, const char *p, size_t n, sr_frame_cb cb, void *arg);

/* End of stream: deliver a partial newline-framed frame, if any (a
 * partial octet-counted frame is delivered as truncated). */
void sr_framer_finish(sr_framer_t *f, sr_frame_cb cb, void *arg);

/* Bytes currently buffered (for the per-connection memory bound). */
static inline size_t sr_framer_buffered(const sr_framer_t *f) { return f->len; }

void sr_framer_free(sr_framer_t *f);

#endif
