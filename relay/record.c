/*
 * record.c: building, sharing and freeing records (see record.h).
 *
 * One allocation holds the header and the frame copy. Structured data
 * beyond the inline room and a redacted text are separate allocations the
 * record owns; the last sr_record_release() frees all of it.
 *
 * Record blocks up to 2 KiB are recycled through a small pool instead of
 * going back to malloc: records are built on input workers and usually
 * released on the main loop, and glibc frees a block into the arena of
 * the thread that allocated it, under that arena's lock; at a few hundred
 * thousand records a second the main loop spent more time waiting for
 * the workers' arena locks than working. Each thread keeps a cache of
 * free blocks per size class (no lock); caches trade chains of
 * POOL_BATCH blocks with a shared list under one mutex, so a lock is
 * taken once per POOL_BATCH records. The shared list is bounded
 * (POOL_MAX_CHAINS chains per class; beyond that chains are freed), and a
 * thread's cache is freed when the thread exits. Under AddressSanitizer
 * pooled blocks are poisoned, so a use after release is still reported.
 */
#include <pthread.h>
#include <stdlib.h>

#include "record.h"

#if defined(SR_ASAN)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ---- the block pool ------------------------------------------------- */

/* Every record block starts with this prefix; the record follows it
 * (16 bytes keep the record as aligned as malloc's result). */
typedef struct block_s {
    struct block_s *next; /* in a cache or chain, while free */
    uint32_t cls;         /* CLASS_* */
    uint32_t n;           /* chain head: blocks in the chain; CLASS_MALLOC: bytes */
} block_t;

/* A free block that heads a chain in the shared list. */
typedef struct chain_s {
    block_t h;
    struct chain_s *next_chain;
} chain_t;

enum { CLASS_MALLOC = 0, CLASS_1K, CLASS_2K, N_CLASSES /* count */ };

static const size_t class_size[N_CLASSES] = {0, 1024, 2048};

#define POOL_BATCH 64
/* Per class: 8192 blocks (8 MiB of 1 KiB, 16 MiB of 2 KiB blocks), more
 * than a flow window (4 MiB) and the handover (2 MiB) keep in flight, so
 * blocks of a queue that drains and refills stay in the pool. At 32 a
 * third of all records came from malloc and went back with a free on
 * another thread. */
#define POOL_MAX_CHAINS 128

typedef struct tcache_s {
    block_t *head;
    unsigned n;
} tcache_t;

static __thread tcache_t tcache[N_CLASSES];
static __thread bool tcache_registered;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static chain_t *pool_chains[N_CLASSES];
static unsigned pool_n_chains[N_CLASSES];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;

static void free_list(block_t *b)
{
    block_t *next;

    for (; b != NULL; b = next) {
        UNPOISON(b, sizeof(*b));
        next = b->next;
        free(b);
    }
}

/* Thread exit: free what the thread's caches hold. */
static void tcache_destroy(void *arg)
{
    int c;

    SR_UNUSED(arg);
    for (c = 1; c < N_CLASSES; c++) {
        free_list(tcache[c].head);
        tcache[c].head = NULL;
        tcache[c].n = 0;
    }
}

static void make_key(void)
{
    pthread_key_create(&key, tcache_destroy);
}

static void tcache_register(void)
{
    pthread_once(&key_once, make_key);
    pthread_setspecific(key, tcache); /* any non-NULL value runs the destructor */
    tcache_registered = true;
}

/* A free block of class c, or NULL when the pool has none. */
static block_t *pool_get(int c)
{
    tcache_t *t = &tcache[c];
    block_t *b;

    if (t->head == NULL) {
        chain_t *ch;

        pthread_mutex_lock(&pool_mu);
        ch = pool_chains[c];
        if (ch != NULL) {
            UNPOISON(ch, sizeof(*ch));
            pool_chains[c] = ch->next_chain;
            pool_n_chains[c]--;
        }
        pthread_mutex_unlock(&pool_mu);
        if (ch == NULL) {
            return NULL;
        }
        if (!tcache_registered) {
            tcache_register();
        }
        t->head = &ch->h;
        t->n = ch->h.n;
    }
    b = t->head;
    UNPOISON(b, class_size[c]);
    t->head = b->next;
    t->n--;
    if (t->head != NULL) {
        /* The next block was last written on another core (the one that
         * released it): start fetching the lines the next record's header
         * will be written to, while this one is filled. */
        const char *q = (const char *)t->head;

        __builtin_prefetch(q, 1, 3);
        __builtin_prefetch(q + 64, 1, 3);
        __builtin_prefetch(q + 128, 1, 3);
        __builtin_prefetch(q + 192, 1, 3);
        __builtin_prefetch(q + 256, 1, 3);
        __builtin_prefetch(q + 320, 1, 3);
        __builtin_prefetch(q + 384, 1, 3);
    }
    return b;
}

/* Take back a block of a pooled class. */
static void pool_put(block_t *b)
{
    int c = (int)b->cls;
    tcache_t *t = &tcache[c];

    if (!tcache_registered) {
        tcache_register();
    }
    b->next = t->head;
    t->head = b;
    t->n++;
    POISON((char *)b + sizeof(*b), class_size[c] - sizeof(*b));
    if (t->n >= 2 * POOL_BATCH) {
        /* Hand the POOL_BATCH most recently freed blocks over as a chain. */
        chain_t *ch = (chain_t *)t->head;
        block_t *last = t->head;
        unsigned i;

        for (i = 1; i < POOL_BATCH; i++) {
            last = last->next;
        }
        t->head = last->next;
        t->n -= POOL_BATCH;
        last->next = NULL;
        UNPOISON(ch, sizeof(*ch));
        ch->h.n = POOL_BATCH;
        pthread_mutex_lock(&pool_mu);
        if (pool_n_chains[c] < POOL_MAX_CHAINS) {
            ch->next_chain = pool_chains[c];
            pool_chains[c] = ch;
            pool_n_chains[c]++;
            ch = NULL;
        }
        pthread_mutex_unlock(&pool_mu);
        if (ch != NULL) {
            free_list(&ch->h);
        }
    }
}

static block_t *block_alloc(size_t need)
{
    block_t *b;
    int c;

    for (c = 1; c < N_CLASSES; c++) {
        if (need <= class_size[c]) {
            b = pool_get(c);
            if (b == NULL) {
                b = sr_malloc(class_size[c]);
            }
            b->cls = (uint32_t)c;
            return b;
        }
    }
    b = sr_malloc(need);
    b->cls = CLASS_MALLOC;
    b->n = need < UINT32_MAX ? (uint32_t)need : UINT32_MAX;
    return b;
}

/* Bytes the block holds, its prefix included. */
static size_t block_size(const block_t *b)
{
    return b->cls != CLASS_MALLOC ? class_size[b->cls] : b->n;
}

static void block_free(block_t *b)
{
    if (b->cls == CLASS_MALLOC) {
        free(b);
    } else {
        pool_put(b);
    }
}

/* ---- records -------------------------------------------------------- */

/* A record holding a copy of p[0..len) as it is. */
static sr_record_t *record_new(const char *p, size_t len)
{
    sr_record_t *r;

    if (len > UINT32_MAX - SR_RECORD_SPARE - 1) {
        len = UINT32_MAX - SR_RECORD_SPARE - 1;
    }
    r = (sr_record_t *)(block_alloc(sizeof(block_t) + sizeof(*r) + len + SR_RECORD_SPARE) + 1);
    atomic_init(&r->refs, 1);
    r->size = 0;
    r->flags = 0;
    r->messages = 1;
    r->marks = 0;
    r->output_id = 0;
    r->input_id = 0;
    r->input_name = "";
    r->received_us = 0;
    r->source[0] = '\0';
    if (len > 0) {
        memcpy(r->data, p, len);
    }
    r->text = r->data;
    r->text_len = (uint32_t)len;
    r->text_cap = (uint32_t)len + SR_RECORD_SPARE;
    r->raw = (sr_slice_t){0, (uint32_t)len};
    r->n_sd_elems = 0;
    r->n_sd_params = 0;
    r->sd_elems = NULL;
    r->sd_params = NULL;
    sr_record_reset_fields(r);
    return r;
}

sr_record_t *sr_record_create(const char *frame, size_t len)
{
    while (len > 0 && (frame[len - 1] == '\n' || frame[len - 1] == '\r' || frame[len - 1] == '\0')) {
        len--;
    }
    return record_new(frame, len);
}

/* ---- encoded chunks ------------------------------------------------- */

/* Free chunk buffers (SR_CHUNK_CAP bytes each), under pool_mu. A chunk's
 * buffer is written on a worker and freed on an output's thread; through
 * malloc each was fresh memory, a page fault every 4 KiB. */
#define CHUNK_POOL_MAX 32
static char *chunk_pool[CHUNK_POOL_MAX];
static unsigned chunk_pool_n;

/* Chunks up to this many bytes (half a buffer) are copied into the
 * record's own block, so a queue never counts a chunk at more than twice
 * its bytes. With 16 KiB here, UDP at a few hundred thousand datagrams a
 * second handed over chunks of 20-30 KiB that counted 80 KiB each, and
 * the bounds (queue_full) dropped more than twice as many datagrams as
 * with plain records. */
#define CHUNK_COPY_MAX (SR_CHUNK_CAP / 2)

void sr_chunk_buf_take(sr_buf_t *b)
{
    char *p = NULL;

    pthread_mutex_lock(&pool_mu);
    if (chunk_pool_n > 0) {
        p = chunk_pool[--chunk_pool_n];
    }
    pthread_mutex_unlock(&pool_mu);
    b->base = p != NULL ? p : sr_malloc(SR_CHUNK_CAP);
    b->cap = SR_CHUNK_CAP;
    b->len = 0;
}

static void chunk_buf_free(char *p, uint32_t cap)
{
    if (cap == SR_CHUNK_CAP) {
        pthread_mutex_lock(&pool_mu);
        if (chunk_pool_n < CHUNK_POOL_MAX) {
            chunk_pool[chunk_pool_n++] = p;
            p = NULL;
        }
        pthread_mutex_unlock(&pool_mu);
    }
    free(p);
}

sr_record_t *sr_record_encoded(sr_buf_t *text, uint32_t messages, uint32_t marks,
                               uint16_t output_id)
{
    sr_record_t *r;

    if (text->len <= CHUNK_COPY_MAX) {
        r = record_new(text->base, text->len);
        text->len = 0;
    } else {
        r = record_new(NULL, 0);
        r->text = text->base;
        r->text_len = (uint32_t)text->len;
        r->text_cap = (uint32_t)text->cap;
        r->raw = (sr_slice_t){0, r->text_len};
        r->message = r->raw;
        sr_buf_init(text);
    }
    r->flags |= SR_REC_ENCODED;
    r->messages = messages;
    r->marks = marks;
    r->output_id = output_id;
    sr_record_seal(r);
    return r;
}

static void free_sd(sr_record_t *r)
{
    if (r->sd_elems != NULL && r->sd_elems != r->sd_inline_elems) {
        free(r->sd_elems);
    }
    if (r->sd_params != NULL && r->sd_params != r->sd_inline_params) {
        free(r->sd_params);
    }
    r->sd_elems = NULL;
    r->sd_params = NULL;
    r->n_sd_elems = 0;
    r->n_sd_params = 0;
}

void sr_record_reset_fields(sr_record_t *r)
{
    r->format = SR_FORMAT_RAW;
    r->facility = 1;
    r->severity = 5;
    r->version = -1;
    r->timestamp = SR_SLICE_NULL;
    r->hostname = SR_SLICE_NULL;
    r->app_name = SR_SLICE_NULL;
    r->procid = SR_SLICE_NULL;
    r->msgid = SR_SLICE_NULL;
    r->message = r->raw;
    r->parse_error = NULL;
    free_sd(r);
}

void sr_record_release(sr_record_t *r)
{
    if (r == NULL) {
        return;
    }
    /* Held once (one output): ours alone, nobody can take another
     * reference, so no atomic write is needed. That matters: the line
     * was written on the core that built the record, and a locked
     * read-modify-write waits for it, where a plain store does not. */
    if (atomic_load_explicit(&r->refs, memory_order_acquire) != 1 &&
        atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    free_sd(r);
    if (r->text != r->data) {
        if (r->flags & SR_REC_ENCODED) {
            chunk_buf_free(r->text, r->text_cap);
        } else {
            free(r->text);
        }
    }
    block_free((block_t *)r - 1);
}

size_t sr_record_size(const sr_record_t *r)
{
    const block_t *b = (const block_t *)r - 1;
    size_t n;

    if (r->size != 0) {
        return r->size;
    }
    /* A pooled record holds its whole block: count that, so queue bounds
     * (max_memory) hold in real memory too. */
    n = block_size(b);
    if (r->text != r->data) {
        n += r->text_cap;
    }
    if (r->sd_elems != r->sd_inline_elems && r->sd_elems != NULL) {
        n += r->n_sd_elems * sizeof(sr_sd_elem_t) + r->n_sd_params * sizeof(sr_sd_param_t);
    }
    return n;
}

void sr_record_seal(sr_record_t *r)
{
    size_t n;

    r->size = 0;
    n = sr_record_size(r);
    r->size = n < UINT32_MAX ? (uint32_t)n : UINT32_MAX;
}

void sr_record_sd_reserve(sr_record_t *r, uint32_t n_elems, uint32_t n_params)
{
    free_sd(r);
    if (n_elems == 0) {
        return;
    }
    r->sd_elems = n_elems <= SR_SD_INLINE_ELEMS ? r->sd_inline_elems
                                                : sr_malloc(n_elems * sizeof(sr_sd_elem_t));
    r->sd_params = n_params <= SR_SD_INLINE_PARAMS
                       ? r->sd_inline_params
                       : sr_malloc((n_params ? n_params : 1) * sizeof(sr_sd_param_t));
    r->n_sd_elems = n_elems;
    r->n_sd_params = n_params;
}

char *sr_record_extend(sr_record_t *r, size_t n, sr_slice_t *s)
{
    if (n > r->text_cap - r->text_len) {
        *s = SR_SLICE_NULL;
        return NULL;
    }
    s->off = r->text_len;
    s->len = (uint32_t)n;
    r->text_len += (uint32_t)n;
    return r->text + s->off;
}

sr_slice_t sr_record_append(sr_record_t *r, const char *p, size_t n)
{
    sr_slice_t s;
    char *o = sr_record_extend(r, n, &s);

    if (o != NULL) {
        memcpy(o, p, n);
    }
    return s;
}

/* Bytes the record's own block has room for at r->data. */
static size_t data_room(const sr_record_t *r)
{
    return block_size((const block_t *)r - 1) - sizeof(block_t) - offsetof(sr_record_t, data);
}

void sr_record_set_text(sr_record_t *r, const char *text, uint32_t len)
{
    size_t room = data_room(r);

    if (r->text != r->data) {
        free(r->text);
    }
    if (len <= room) {
        /* Usually: a redacted text is about as long as the one it
         * replaces, and the block has room to spare. */
        memmove(r->data, text, len);
        r->text = r->data;
        r->text_cap = (uint32_t)SR_MIN(room, (size_t)UINT32_MAX);
    } else {
        r->text = sr_malloc(len ? len : 1);
        memcpy(r->text, text, len);
        r->text_cap = len;
    }
    r->text_len = len;
}

void sr_sd_unescape(const char *p, size_t n, sr_buf_t *out)
{
    size_t i, start = 0;

    sr_buf_reserve(out, n);
    for (i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n && (p[i + 1] == '"' || p[i + 1] == '\\' || p[i + 1] == ']')) {
            sr_buf_append(out, p + start, i - start);
            start = i + 1; /* keep the escaped character, drop the backslash */
            i++;
        }
    }
    sr_buf_append(out, p + start, n - start);
}
