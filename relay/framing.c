/*
 * framing.c: the RFC 6587 stream decoder (see framing.h).
 *
 * A small state machine over the bytes of one TCP or TLS stream. It owns
 * one buffer per connection, used only for a frame that is split across
 * reads; it grows lazily and never beyond max_message_size. Whole frames
 * inside one read are handed to the callback straight out of the caller's
 * bytes (zero copy). No I/O, no logging, no threads.
 *
 * States:
 *   START  between frames: CR, LF and NUL are skipped; a digit starts an
 *          octet-count header (auto and octet modes), anything else a
 *          trailer-terminated line.
 *   LEN    reading the header's digits. At most 10 (leading zeros count),
 *          a count above zero, then one SP. Anything else means the
 *          header cannot be trusted: the bytes from the
 *          header on are read as a line instead (so "12x..." or "123\n"
 *          still reach the parser, which makes them raw records).
 *   BODY   collecting the counted bytes (at most max of them).
 *   SKIP   discarding the counted bytes beyond max of an oversized frame.
 *   LINE   collecting a line up to LF or NUL (at most max bytes).
 *   LSKIP  discarding the rest of an overlong line up to LF or NUL.
 *
 * In octet mode a frame that does not start with a count is read as a
 * line too (a frame ending at LF or NUL): that resynchronises a stream after
 * garbage without dropping anything. An absurd count never allocates: only
 * max bytes are kept, the rest are counted down as they stream past.
 */
#include <stdio.h>
#include <stdlib.h>

#include "framing.h"
#include "common.h"

enum {
    ST_START = 0,
    ST_LEN,
    ST_BODY,
    ST_SKIP,
    ST_LINE,
    ST_LSKIP,
};

/* A buffer larger than this is freed after its frame is delivered, so idle
 * connections do not each keep a max-sized buffer. */
#define KEEP_BUF 16384

void sr_framer_init(sr_framer_t *f, sr_framing_t mode, uint32_t max_message_size)
{
    memset(f, 0, sizeof(*f));
    f->mode = (uint8_t)mode;
    f->state = ST_START;
    f->max = max_message_size > 0 ? max_message_size : 1;
}

void sr_framer_free(sr_framer_t *f)
{
    sr_free(f->buf);
    f->buf = NULL;
    f->len = 0;
    f->cap = 0;
}

/* Append n bytes to the partial-frame buffer; the caller ensures
 * f->len + n <= f->max. */
static void buf_add(sr_framer_t *f, const char *p, size_t n)
{
    uint32_t need = f->len + (uint32_t)n, cap;

    if (n == 0) {
        return;
    }
    if (need > f->cap) {
        cap = f->cap ? f->cap : 256;
        while (cap < need) {
            cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
        }
        cap = SR_MIN(cap, f->max);
        cap = SR_MAX(cap, need);
        f->buf = sr_realloc(f->buf, cap);
        f->cap = cap;
    }
    memcpy(f->buf + f->len, p, n);
    f->len = need;
}

/* Deliver the buffered frame and empty the buffer. */
static void deliver_buf(sr_framer_t *f, int flags, sr_frame_cb cb, void *arg)
{
    if (flags & SR_FRAME_TRUNCATED) {
        f->truncated++;
    }
    cb(arg, f->buf, f->len, flags);
    f->len = 0;
    if (f->cap > KEEP_BUF) {
        sr_framer_free(f);
    }
}

/* Deliver a frame that is partly buffered (f->len bytes) and partly p[0..n),
 * with at most max bytes in all; zero copy when nothing is buffered. */
static void deliver(sr_framer_t *f, const char *p, size_t n, int flags, sr_frame_cb cb, void *arg)
{
    if (f->len == 0) {
        if (flags & SR_FRAME_TRUNCATED) {
            f->truncated++;
        }
        cb(arg, p, n, flags);
        return;
    }
    buf_add(f, p, n);
    deliver_buf(f, flags, cb, arg);
}

/* Index of the first LF or NUL in p[i..n), or n. */
static size_t find_trailer(const char *p, size_t i, size_t n)
{
    const char *lf = memchr(p + i, '\n', n - i);
    size_t end = lf ? (size_t)(lf - p) : n;
    const char *nul = memchr(p + i, '\0', end - i);

    return nul ? (size_t)(nul - p) : end;
}

/*
 * LINE state over p[seg..n): the line's bytes in this read start at seg
 * (earlier ones are buffered). Returns the index to continue from.
 */
static size_t do_line(sr_framer_t *f, const char *p, size_t n, size_t seg, sr_frame_cb cb,
                      void *arg)
{
    size_t end = find_trailer(p, seg, n);
    bool found = end < n;
    uint64_t total = (uint64_t)f->len + (end - seg);

    if (total > f->max) {
        /* Overlong: deliver the first max bytes now, discard the rest. */
        deliver(f, p + seg, f->max - f->len, SR_FRAME_TRUNCATED, cb, arg);
        f->state = found ? ST_START : ST_LSKIP;
        return found ? end + 1 : n;
    }
    if (found) {
        deliver(f, p + seg, end - seg, 0, cb, arg);
        f->state = ST_START;
        return end + 1;
    }
    buf_add(f, p + seg, n - seg);
    return n;
}

/* A complete header announced `count` octets: keep at most max of them. */
static void start_body(sr_framer_t *f, uint64_t count)
{
    f->digits = 0;
    if (count > f->max) {
        f->want = f->max;
        f->skip = count - f->max;
    } else {
        f->want = count;
        f->skip = 0;
    }
    f->state = ST_BODY;
}

/* The header digits seen so far, as text, leading zeros included. */
static int header_text(const sr_framer_t *f, char *out, size_t cap)
{
    return snprintf(out, cap, "%0*llu", (int)f->digits, (unsigned long long)f->want);
}

/*
 * Feed a read's bytes. cb runs once per completed frame, from inside this
 * call; it must not feed this framer again. Returns 0.
 */
int sr_framer_feed(sr_framer_t *f, const char *p, size_t n, sr_frame_cb cb, void *arg)
{
    /* seg: where the current line's bytes in this read begin (a line begun
     * in an earlier read continues at 0, its first bytes buffered). hdr:
     * where an octet-count header began, when it began in this read (a
     * header split across reads keeps its digits in f->want). */
    size_t i = 0, seg = 0, hdr = 0, take;
    bool hdr_here = false;
    unsigned char c;
    char digits[24];
    int dn;

    while (i < n) {
        switch (f->state) {
        case ST_START:
            c = (unsigned char)p[i];
            if (c == '\n' || c == '\r' || c == '\0') {
                i++;
                break;
            }
            /* RFC 6587 counts have no leading zero, but loggen -R pads them
             * to nine digits ("000000238 <38>1 ..."); a zero count is not
             * a header. */
            if (f->mode != SR_FRAMING_NEWLINE && c >= '0' && c <= '9') {
                /* The usual case, a whole header in this read: its digits
                 * in one tight loop, not a state change per byte. Anything
                 * else (split, too long, no space, zero) goes the byte-wise
                 * way below, from its first digit. */
                uint64_t v = 0;
                size_t j = i;

                while (j < n && j - i < 10 && (unsigned char)(p[j] - '0') < 10) {
                    v = v * 10 + (uint64_t)(p[j] - '0');
                    j++;
                }
                if (j < n && p[j] == ' ' && v > 0) {
                    i = j + 1;
                    start_body(f, v);
                    seg = i;
                    break;
                }
                f->state = ST_LEN;
                f->want = c - '0';
                f->digits = 1;
                hdr = i++;
                hdr_here = true;
                break;
            }
            f->state = ST_LINE;
            seg = i;
            break;

        case ST_LEN:
            c = (unsigned char)p[i];
            if (c >= '0' && c <= '9' && f->digits < 10) {
                f->want = f->want * 10 + (c - '0');
                f->digits++;
                i++;
                break;
            }
            if (c == ' ' && f->want > 0) {
                i++;
                start_body(f, f->want);
                seg = i;
                break;
            }
            /* Not a header after all: read it as a line from its first digit. */
            f->state = ST_LINE;
            if (hdr_here) {
                seg = hdr;
            } else {
                /* The digits came in an earlier read: they start the line. */
                dn = header_text(f, digits, sizeof(digits));
                if ((size_t)dn > f->max) {
                    deliver(f, digits, f->max, SR_FRAME_TRUNCATED, cb, arg);
                    f->state = ST_LSKIP;
                } else {
                    buf_add(f, digits, (size_t)dn);
                }
                seg = i;
            }
            f->digits = 0;
            f->want = 0;
            break;

        case ST_BODY:
            take = (size_t)SR_MIN((uint64_t)(n - i), f->want);
            if (take == f->want) {
                f->want = 0;
                f->state = f->skip > 0 ? ST_SKIP : ST_START;
                deliver(f, p + i, take, f->skip > 0 ? SR_FRAME_TRUNCATED : 0, cb, arg);
            } else {
                buf_add(f, p + i, take);
                f->want -= take;
            }
            i += take;
            break;

        case ST_SKIP:
            take = (size_t)SR_MIN((uint64_t)(n - i), f->skip);
            f->skip -= take;
            i += take;
            if (f->skip == 0) {
                f->state = ST_START;
            }
            break;

        case ST_LINE:
            i = do_line(f, p, n, seg, cb, arg);
            break;

        case ST_LSKIP:
            i = find_trailer(p, i, n);
            if (i < n) {
                f->state = ST_START;
                i++;
            }
            break;

        default:
            f->state = ST_START;
            break;
        }
    }
    return 0;
}

/*
 * End of stream: deliver what is pending. A partial line is delivered as
 * is; a partial octet-counted frame as truncated; header digits with
 * nothing after them as a line. The framer is ready for reuse afterwards.
 */
void sr_framer_finish(sr_framer_t *f, sr_frame_cb cb, void *arg)
{
    char digits[24];
    int dn;

    switch (f->state) {
    case ST_LINE:
        if (f->len > 0) {
            deliver_buf(f, 0, cb, arg);
        }
        break;
    case ST_BODY:
        if (f->len > 0) {
            deliver_buf(f, SR_FRAME_TRUNCATED, cb, arg);
        }
        break;
    case ST_LEN:
        dn = header_text(f, digits, sizeof(digits));
        if ((size_t)dn > f->max) {
            f->truncated++;
            cb(arg, digits, f->max, SR_FRAME_TRUNCATED);
        } else {
            cb(arg, digits, (size_t)dn, 0);
        }
        break;
    default:
        break;
    }
    f->state = ST_START;
    f->len = 0;
    f->want = 0;
    f->skip = 0;
    f->digits = 0;
}
