/*
 * record.h: the record, one received syslog message and what was parsed
 * from it.
 *
 * A listener builds each record as one allocation: this header plus a copy
 * of the frame (trailing CR, LF and NUL already removed) and a little spare
 * room. Parsers store fields as slices (offset, length) of `text`, and never
 * copy. Redaction may replace `text` (in the record's own block when it
 * fits, else in a buffer the record owns) and re-point every slice. Once
 * the pipeline is done the record is read-only and shared by reference
 * count between outputs, which may run on another thread than the one
 * that built it: the count is atomic.
 */
#ifndef SR_RECORD_H
#define SR_RECORD_H

#include <stdatomic.h>
#include "common.h"

/* An absent field has off == SR_NONE. */
#define SR_NONE UINT32_MAX

typedef struct sr_slice_s {
    uint32_t off;
    uint32_t len;
} sr_slice_t;

#define SR_SLICE_NULL ((sr_slice_t){SR_NONE, 0})

typedef enum sr_format_e {
    SR_FORMAT_RAW = 0,
    SR_FORMAT_RFC5424,
    SR_FORMAT_RFC3164,
} sr_format_t;

/* Structured data. Names and values are slices of the record's text; a
 * value is kept as sent, that is escaped (\" \\ \]): sr_sd_unescape()
 * gives its plain form. */
typedef struct sr_sd_param_s {
    sr_slice_t name;
    sr_slice_t value;
} sr_sd_param_t;

typedef struct sr_sd_elem_s {
    sr_slice_t id;
    uint32_t first; /* index of its first param in sd_params */
    uint32_t count; /* number of params */
} sr_sd_elem_t;

/* Inline room for structured data; more than this is allocated. */
#define SR_SD_INLINE_ELEMS 4
#define SR_SD_INLINE_PARAMS 8

/* Room after the frame copy, for text a parser synthesises (the completed
 * RFC 3164 timestamp). */
#define SR_RECORD_SPARE 64

enum {
    SR_REC_TRUNCATED = 1 << 0, /* the frame was longer than max_message_size */
    SR_REC_REDACTED = 1 << 1,  /* redaction changed something */
    SR_REC_ENCODED = 1 << 2,   /* an encoded chunk (sr_record_encoded) */
};

typedef struct sr_record_s {
    atomic_uint refs;
    uint8_t format;   /* sr_format_t */
    uint8_t facility; /* 0-23 */
    uint8_t severity; /* 0-7 */
    int8_t version;   /* 1 for RFC 5424, -1 for none */
    uint8_t flags;    /* SR_REC_* */
    uint16_t input_id;      /* index of the input, for filters and metrics */
    uint32_t size;          /* sr_record_size(), once sealed; 0 before */
    const char *input_name; /* owned by the input, which outlives its records */
    int64_t received_us;    /* Unix time in microseconds */
    char source[48];        /* the sender's IP address as text, NUL-terminated */

    sr_slice_t timestamp; /* RFC 3339 text; for RFC 3164, completed by the parser */
    sr_slice_t hostname;
    sr_slice_t app_name;
    sr_slice_t procid;
    sr_slice_t msgid;
    sr_slice_t message;
    sr_slice_t raw;          /* the whole frame */
    const char *parse_error; /* static text, for SR_FORMAT_RAW; else NULL */

    uint32_t n_sd_elems;
    uint32_t n_sd_params;
    sr_sd_elem_t *sd_elems; /* NULL when no structured data */
    sr_sd_param_t *sd_params;

    char *text;         /* what the slices point into */
    uint32_t text_len;  /* bytes used */
    uint32_t text_cap;  /* bytes available (frame + SR_RECORD_SPARE) */

    uint32_t messages;  /* messages it stands for: 1, or an encoded chunk's count */
    uint32_t marks;     /* SR_REC_ENCODED: of those, lines its encode marked */
    uint16_t output_id; /* SR_REC_ENCODED: the output it was encoded for */

    sr_sd_elem_t sd_inline_elems[SR_SD_INLINE_ELEMS];
    sr_sd_param_t sd_inline_params[SR_SD_INLINE_PARAMS];
    char data[]; /* the frame copy; `text` points here until redaction */
} sr_record_t;

/*
 * Build a record holding a copy of frame[0..len), with trailing CR, LF and
 * NUL bytes removed, format RAW, facility 1, severity 5, every field absent
 * except raw and message (the whole frame). refs starts at 1, owned by the
 * caller.
 */
sr_record_t *sr_record_create(const char *frame, size_t len);

/* The buffer size encoded chunks are built in (sr_chunk_buf_take). */
#define SR_CHUNK_CAP (80u << 10)

/*
 * An encoded chunk: `messages` messages as one output writes them (its
 * o->encode), built on a worker and queued on that output like a
 * record; no field is parsed. It gets the bytes of `text`: a few KiB are
 * copied into the record's own block and text is left empty for reuse;
 * more are taken over with text's buffer (which must come from malloc or
 * sr_chunk_buf_take), and text is left without one. refs starts at 1.
 */
sr_record_t *sr_record_encoded(sr_buf_t *text, uint32_t messages, uint32_t marks,
                               uint16_t output_id);

/* Give b (empty, without a buffer) a recycled SR_CHUNK_CAP-byte buffer. */
void sr_chunk_buf_take(sr_buf_t *b);

/* How many messages a record stands for: 1, or an encoded chunk's count. */
static inline uint32_t sr_record_messages(const sr_record_t *r) { return r->messages; }

static inline void sr_record_ref(sr_record_t *r) {
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

/* Drop one reference; the last one frees the record. */
void sr_record_release(sr_record_t *r);

/* Approximate bytes this record holds, for queue accounting. */
size_t sr_record_size(const sr_record_t *r);

/* The pipeline is done changing the record: remember its size, so the
 * threads that queue and release it read one cache line, not three. */
void sr_record_seal(sr_record_t *r);

/* Pointer to a slice's bytes (undefined for an absent slice). */
static inline const char *sr_record_ptr(const sr_record_t *r, sr_slice_t s) {
    return r->text + s.off;
}

static inline bool sr_slice_present(sr_slice_t s) { return s.off != SR_NONE; }

/* Make room for n_elems elements and n_params params of structured data
 * (inline when small, else allocated and owned by the record). Resets any
 * previous structured data. */
void sr_record_sd_reserve(sr_record_t *r, uint32_t n_elems, uint32_t n_params);

/*
 * Make room for n bytes after the record's text (within text_cap): *s gets
 * their slice and the return value where to write them; NULL (and
 * SR_SLICE_NULL) if they do not fit.
 */
char *sr_record_extend(sr_record_t *r, size_t n, sr_slice_t *s);

/*
 * Append bytes to the record's text (within text_cap) and return their
 * slice; SR_SLICE_NULL if they do not fit.
 */
sr_slice_t sr_record_append(sr_record_t *r, const char *p, size_t n);

/*
 * Replace the record's text with a copy of text[0..len): in the record's
 * own block when it fits there (no allocation), else in an allocation the
 * record owns. The caller has already re-pointed the slices to offsets in
 * the new text; text must not point into the record's current text.
 */
void sr_record_set_text(sr_record_t *r, const char *text, uint32_t len);

/* Unescape an SD-PARAM value (\" \\ \] lose their backslash) into out. */
void sr_sd_unescape(const char *p, size_t n, sr_buf_t *out);

/* Reset every parsed field to absent, keeping raw, message = raw. */
void sr_record_reset_fields(sr_record_t *r);

#endif
