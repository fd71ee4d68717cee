/*
 * file.c: the file output. Writes each record as one line (json, rfc5424,
 * rfc3164 or raw) to a file opened for appending, or to standard output
 * for path "-".
 *
 * The file output encodes (o->encode): input workers format each
 * record's line as they parse it, and its queue holds chunks of lines.
 * Batches are queued as they arrive (the core keeps their references);
 * one write is in flight at a time, on libuv's thread pool: the pool
 * thread gathers the chunks of the batches (and formats any plain record
 * into the output's own buffer) and writes them with writev (short writes
 * continued), so neither formatting nor a slow disk holds up the main
 * loop, and what arrives meanwhile is gathered into the next write: a
 * busy output makes few large writes. While a write is in flight the
 * pool thread only reads the records (read-only and shared once the
 * pipeline is done) and the buffer, fd and batch list of that write,
 * which the loop leaves alone until the after-work callback. Once the
 * write is complete the pool thread releases the records itself
 * (sr_batch_release) and the after-work callback reports the batches
 * delivered. SIGUSR1 (reopen) closes and reopens the path between
 * writes, for logrotate.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../relay/format.h"
#include "../relay/log.h"
#include "output.h"

/* Beyond this many bytes of records (as the core counts them) waiting for
 * the next write, submit says busy. */
#define PENDING_LIMIT (1u << 20)

enum { FMT_JSON = 0, FMT_RFC5424, FMT_RFC3164, FMT_RAW };

typedef struct file_conf_s {
    char *path;
    int format;
} file_conf_t;

static const char *const formats[] = {"json", "rfc5424", "rfc3164", "raw", NULL};

static const sr_cfg_key_t keys[] = {
    {"path", SR_CFG_STRING, NULL, 0, 0, offsetof(file_conf_t, path), NULL, NULL, SR_CFG_REQUIRED,
     "File to append records to, one per line; \"-\" is standard output."},
    {"format", SR_CFG_ENUM, "json", 0, 0, offsetof(file_conf_t, format), formats, NULL, 0,
     "Line format: json (the record of INTERFACE.md), rfc5424, rfc3164, or raw (the frame as "
     "received, after redaction)."},
    {NULL},
};

typedef struct batch_list_s {
    sr_batch_t *first;
    sr_batch_t **tail;
} batch_list_t;

/* Part of a write: an encoded chunk's text (p), or bytes of cur from off
 * (p NULL: cur may still move while it grows). */
typedef struct span_s {
    const char *p;
    size_t off;
    size_t n;
} span_t;

typedef struct file_out_s {
    sr_output_t base;
    const file_conf_t *conf;
    int fd;
    uv_work_t work;
    int werr;           /* the pool thread's write error, or 0 */
    bool writing;
    bool reopen_pending;
    bool stopping;
    bool said_busy;
    sr_buf_t cur;       /* plain records' lines (pool thread while writing) */
    span_t *spans;      /* what the write consists of, in order */
    size_t n_spans;
    size_t spans_cap;
    batch_list_t cur_b; /* batches of the write in flight */
    batch_list_t next_b; /* batches for the next write */
    size_t next_bytes;   /* their records' sizes */
    void (*stop_done)(sr_output_t *o);
    sr_ratelimit_t rl;
} file_out_t;

static void list_init(batch_list_t *l)
{
    l->first = NULL;
    l->tail = &l->first;
}

static void list_push(batch_list_t *l, sr_batch_t *b)
{
    b->next = NULL;
    *l->tail = b;
    l->tail = &b->next;
}

static int open_path(file_out_t *f)
{
    int fd;

    if (strcmp(f->conf->path, "-") == 0) {
        f->fd = STDOUT_FILENO;
        return 0;
    }
    fd = open(f->conf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -errno;
    }
    f->fd = fd;
    return 0;
}

static void close_path(file_out_t *f)
{
    if (f->fd > STDERR_FILENO) {
        close(f->fd);
    }
    f->fd = -1;
}

static void do_reopen(file_out_t *f)
{
    int rc;

    f->reopen_pending = false;
    if (f->fd == STDOUT_FILENO) {
        return;
    }
    close_path(f);
    rc = open_path(f);
    if (rc < 0) {
        sr_error("output file \"%s\": cannot reopen %s: %s; will retry", f->base.name,
                 f->conf->path, sr_strerror(rc));
    } else {
        sr_info("output file \"%s\": reopened %s", f->base.name, f->conf->path);
    }
}

static void finish_stop(file_out_t *f)
{
    close_path(f);
    f->stop_done(&f->base);
}

static void start_write(file_out_t *f);

static void report(file_out_t *f, batch_list_t *l, sr_outcome_t what)
{
    sr_batch_t *b, *next;

    for (b = l->first; b != NULL; b = next) {
        next = b->next;
        sr_output_done(&f->base, b, what, NULL);
    }
    list_init(l);
}

/* One record as a line of the configured format (o->encode: called on
 * input workers, which then queue the lines in chunks). */
static bool file_encode(const sr_output_t *o, const sr_record_t *r, sr_buf_t *out)
{
    switch (((const file_conf_t *)o->priv_conf)->format) {
    case FMT_RFC5424:
        sr_format_rfc5424(r, NULL, out);
        break;
    case FMT_RFC3164:
        sr_format_rfc3164(r, out);
        break;
    case FMT_RAW:
        sr_format_raw(r, out);
        break;
    default:
        sr_format_json(r, out);
        break;
    }
    sr_buf_putc(out, '\n');
    return false;
}

static void add_span(file_out_t *f, const char *p, size_t off, size_t n)
{
    span_t *last = f->n_spans > 0 ? &f->spans[f->n_spans - 1] : NULL;

    if (p == NULL && last != NULL && last->p == NULL && last->off + last->n == off) {
        last->n += n; /* consecutive plain records: one span */
        return;
    }
    if (f->n_spans == f->spans_cap) {
        f->spans_cap = f->spans_cap ? f->spans_cap * 2 : 64;
        f->spans = sr_realloc(f->spans, f->spans_cap * sizeof(*f->spans));
    }
    f->spans[f->n_spans++] = (span_t){p, off, n};
}

/* Add a record to the write: a chunk's bytes are written from where they
 * are; a plain record is formatted into cur. */
static void serialize(file_out_t *f, const sr_record_t *r)
{
    if (r->flags & SR_REC_ENCODED) {
        if (r->text_len > 0) {
            add_span(f, r->text, 0, r->text_len);
        }
    } else {
        size_t off = f->cur.len;

        file_encode(&f->base, r, &f->cur);
        add_span(f, NULL, off, f->cur.len - off);
    }
}

/* Write the spans (writev, short writes continued). 0 or -errno. */
static int write_spans(file_out_t *f)
{
    enum { IOV_N = 64 };
    struct iovec iov[IOV_N];
    size_t i = 0, skip = 0;

    while (i < f->n_spans) {
        size_t j;
        int k = 0;
        ssize_t n;

        for (j = i; j < f->n_spans && k < IOV_N; j++, k++) {
            const span_t *s = &f->spans[j];
            const char *p = s->p != NULL ? s->p : f->cur.base + s->off;

            iov[k].iov_base = (void *)(p + (j == i ? skip : 0));
            iov[k].iov_len = s->n - (j == i ? skip : 0);
        }
        n = writev(f->fd, iov, k);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        /* Step over what was written. */
        while (n > 0) {
            size_t left = f->spans[i].n - skip;

            if ((size_t)n < left) {
                skip += (size_t)n;
                break;
            }
            n -= (ssize_t)left;
            i++;
            skip = 0;
        }
    }
    return 0;
}

/* Records were written on another core: ask for the next ones' lines
 * ahead of formatting them (the header two records ahead, the text of
 * the next one, whose header is in cache by then). */
static void prefetch_ahead(sr_record_t *const *recs, uint32_t i, uint32_t n)
{
    uint32_t k;

    if (i + 2 < n) {
        const char *h = (const char *)recs[i + 2];

        for (k = 0; k < sizeof(sr_record_t); k += 64) {
            __builtin_prefetch(h + k, 0, 3);
        }
    }
    if (i + 1 < n) {
        const sr_record_t *r = recs[i + 1];

        for (k = 0; k < r->text_len && k < 4096; k += 64) {
            __builtin_prefetch(r->text + k, 0, 3);
        }
    }
}

/* Pool thread: gather the write's batches into spans, then write them
 * all. Touches only cur, spans, cur_b, fd and werr. */
static void work_write(uv_work_t *req)
{
    file_out_t *f = req->data;
    sr_batch_t *b;
    uint32_t i;

    f->werr = 0;
    sr_buf_reset(&f->cur);
    f->n_spans = 0;
    for (b = f->cur_b.first; b != NULL; b = b->next) {
        for (i = 0; i < b->n; i++) {
            prefetch_ahead(b->recs, i, b->n);
            serialize(f, b->recs[i]);
        }
    }
    f->werr = write_spans(f);
    if (f->werr < 0) {
        return;
    }
    /* Written: release the records here, where formatting just read
     * them, rather than on the main loop, whose core would fetch each
     * one again only to drop it. */
    for (b = f->cur_b.first; b != NULL; b = b->next) {
        sr_batch_release(b);
    }
}

static void after_write(uv_work_t *req, int status)
{
    file_out_t *f = req->data;
    int err = status < 0 ? status : f->werr;

    f->writing = false;
    if (err < 0) {
        sr_log_limited(&f->rl, SR_LOG_ERROR, "output file \"%s\": write to %s failed: %s",
                       f->base.name, f->conf->path, sr_strerror(err));
        /* Whatever part was written will be written again: at least once. */
        report(f, &f->cur_b, SR_OUT_RETRY);
        if (f->fd < 0 || err == UV_EBADF) {
            f->reopen_pending = true;
        }
    } else {
        report(f, &f->cur_b, SR_OUT_DELIVERED);
    }
    if (f->reopen_pending) {
        do_reopen(f);
    }
    if (f->next_b.first != NULL && f->fd >= 0) {
        start_write(f);
    } else if (f->stopping) {
        if (f->next_b.first != NULL) {
            report(f, &f->next_b, SR_OUT_RETRY);
            f->next_bytes = 0;
        }
        finish_stop(f);
        return;
    }
    if (f->said_busy) {
        f->said_busy = false;
        sr_output_ready(&f->base);
    }
}

/* Move the gathered batches into a new write and queue it. */
static void start_write(file_out_t *f)
{
    int rc;

    f->cur_b = f->next_b;
    if (f->cur_b.first == NULL) {
        f->cur_b.tail = &f->cur_b.first;
    }
    list_init(&f->next_b);
    f->next_bytes = 0;
    f->work.data = f;
    rc = uv_queue_work(f->base.loop, &f->work, work_write, after_write);
    if (rc < 0) {
        sr_log_limited(&f->rl, SR_LOG_ERROR, "output file \"%s\": cannot write: %s", f->base.name,
                       sr_strerror(rc));
        report(f, &f->cur_b, SR_OUT_RETRY);
        return;
    }
    f->writing = true;
}

static int file_create(sr_output_t *o)
{
    file_out_t *f = (file_out_t *)o;

    f->conf = o->priv_conf;
    f->fd = -1;
    o->encode = file_encode;
    sr_buf_init(&f->cur);
    list_init(&f->cur_b);
    list_init(&f->next_b);
    f->rl.burst = 3;
    f->rl.interval = 30;
    return 0;
}

static int file_start(sr_output_t *o)
{
    file_out_t *f = (file_out_t *)o;
    int rc = open_path(f);

    if (rc < 0) {
        sr_error("output file \"%s\": cannot open %s: %s", o->name, f->conf->path,
                 sr_strerror(rc));
    }
    return rc;
}

static int file_submit(sr_output_t *o, sr_batch_t *b)
{
    file_out_t *f = (file_out_t *)o;

    if (f->fd < 0) {
        do_reopen(f);
        if (f->fd < 0) {
            return UV_EBADF; /* the core backs off and offers again */
        }
    }
    if (f->next_bytes >= PENDING_LIMIT) {
        f->said_busy = true;
        return SR_EBUSY;
    }
    list_push(&f->next_b, b);
    f->next_bytes += b->bytes;
    if (!f->writing) {
        start_write(f);
    }
    return 0;
}

static void file_reopen(sr_output_t *o)
{
    file_out_t *f = (file_out_t *)o;

    if (f->writing) {
        f->reopen_pending = true;
    } else {
        do_reopen(f);
    }
}

static void file_stop(sr_output_t *o, void (*done)(sr_output_t *o))
{
    file_out_t *f = (file_out_t *)o;

    f->stopping = true;
    f->stop_done = done;
    if (!f->writing) {
        if (f->next_b.first != NULL && f->fd >= 0) {
            start_write(f); /* after_write finishes the stop */
            return;
        }
        report(f, &f->next_b, SR_OUT_RETRY);
        finish_stop(f);
    }
}

static void file_destroy(sr_output_t *o)
{
    file_out_t *f = (file_out_t *)o;

    sr_buf_free(&f->cur);
    free(f->spans);
}

static bool file_needs_raw(const void *conf)
{
    return ((const file_conf_t *)conf)->format == FMT_RAW;
}

const sr_output_desc_t sr_output_file = {
    .name = "file",
    .description = "Append records to a file or standard output, one per line.",
    .keys = keys,
    .conf_size = sizeof(file_conf_t),
    .needs_raw = file_needs_raw,
    .inst_size = sizeof(file_out_t),
    .max_batch = 512,
    .create = file_create,
    .start = file_start,
    .submit = file_submit,
    .reopen = file_reopen,
    .stop = file_stop,
    .destroy = file_destroy,
};
