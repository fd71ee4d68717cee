/*
 * common.c: allocation wrappers, error text, time, and sr_buf_t.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "common.h"

static void oom(size_t n)
{
    fprintf(stderr, "error syslog-relay: out of memory allocating %zu bytes; aborting\n", n);
    abort();
}

void *sr_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        oom(n);
    }
    return p;
}

void *sr_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        oom(n * size);
    }
    return p;
}

void *sr_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        oom(n);
    }
    return q;
}

char *sr_strdup(const char *s)
{
    return s ? sr_strndup(s, strlen(s)) : NULL;
}

char *sr_strndup(const char *s, size_t n)
{
    char *p = sr_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *sr_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;

    va_start(ap, fmt);
    if (vasprintf(&p, fmt, ap) < 0) {
        oom(0);
    }
    va_end(ap);
    return p;
}

const char *sr_strerror(int err)
{
    switch (err) {
    case SR_ECONFIG:
        return "bad configuration";
    case SR_EPARSE:
        return "malformed input";
    case SR_ETLS:
        return "TLS failure";
    case SR_EBUSY:
        return "busy";
    case SR_EPROXY:
        return "invalid PROXY protocol header";
    case SR_ELIMIT:
        return "limit reached";
    default:
        /* uv_strerror() allocates, and never frees, the text for a code it
         * does not know; the _r form writes into our buffer instead. */
        {
            static __thread char text[80];

            return uv_strerror_r(err, text, sizeof(text));
        }
    }
}

int64_t sr_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sr_buf_init(sr_buf_t *b)
{
    b->base = NULL;
    b->len = 0;
    b->cap = 0;
}

void sr_buf_free(sr_buf_t *b)
{
    free(b->base);
    sr_buf_init(b);
}

void sr_buf_reserve(sr_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1; /* keep room for a NUL */
    size_t cap;

    if (need <= b->cap) {
        return;
    }
    cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    b->base = sr_realloc(b->base, cap);
    b->cap = cap;
}

void sr_buf_append(sr_buf_t *b, const void *p, size_t n)
{
    sr_buf_reserve(b, n);
    memcpy(b->base + b->len, p, n);
    b->len += n;
    b->base[b->len] = '\0';
}

void sr_buf_puts(sr_buf_t *b, const char *s)
{
    sr_buf_append(b, s, strlen(s));
}

void sr_buf_printf(sr_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    sr_buf_reserve(b, 64);
    va_start(ap, fmt);
    n = vsnprintf(b->base + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        sr_buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->base + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void sr_buf_consume(sr_buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->base, b->base + n, b->len - n);
    b->len -= n;
}
