/*
 * common.h: things every module of syslog-relay shares.
 *
 * The prefix is sr_ / SR_ for public names, sr__ for names shared between
 * files of one directory. Error codes reuse libuv's negative errno space,
 * so uv_strerror() gives text for them; our own few codes follow.
 * Allocation wrappers abort on OOM: memory is bounded by queue and buffer
 * limits, never by recovering from a failed malloc.
 */
#ifndef SR_COMMON_H
#define SR_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#define SR_VERSION "0.1.0"

/* Our own error codes, below libuv's range (libuv stops around -4095 on unix). */
enum {
    SR_ECONFIG = -10001,  /* bad configuration */
    SR_EPARSE = -10002,   /* malformed input */
    SR_ETLS = -10003,     /* TLS failure; the text is kept on the object */
    SR_EBUSY = -10004,    /* an output cannot take more now */
    SR_EPROXY = -10005,   /* invalid PROXY protocol header */
    SR_ELIMIT = -10006,   /* a configured limit was reached */
};

/* Text for any code, ours or libuv's (never allocates: use it instead of
 * uv_strerror, which leaks for codes libuv does not know). */
const char *sr_strerror(int err);

void *sr_malloc(size_t n);
void *sr_calloc(size_t n, size_t size);
void *sr_realloc(void *p, size_t n);
char *sr_strdup(const char *s);
char *sr_strndup(const char *s, size_t n);
char *sr_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define sr_free free

#define SR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SR_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SR_UNUSED(x) ((void)(x))

/* Built with AddressSanitizer: GCC defines __SANITIZE_ADDRESS__, clang
 * answers __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define SR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SR_ASAN 1
#endif
#endif

/* Wall-clock microseconds since the Unix epoch. */
int64_t sr_now_us(void);

/*
 * sr_buf_t: a growable byte buffer. Append functions grow it as needed
 * (aborting on OOM); callers bound what they append.
 */
typedef struct sr_buf_s {
    char *base;
    size_t len;
    size_t cap;
} sr_buf_t;

void sr_buf_init(sr_buf_t *b);
void sr_buf_free(sr_buf_t *b);
void sr_buf_reserve(sr_buf_t *b, size_t extra);
void sr_buf_append(sr_buf_t *b, const void *p, size_t n);
/* Inline: writers call it for every record, and there is almost always
 * room already. */
static inline void sr_buf_putc(sr_buf_t *b, char c)
{
    if (b->len + 2 > b->cap) {
        sr_buf_reserve(b, 1);
    }
    b->base[b->len++] = c;
    b->base[b->len] = '\0';
}
void sr_buf_puts(sr_buf_t *b, const char *s);
void sr_buf_printf(sr_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes, keeping the rest. */
void sr_buf_consume(sr_buf_t *b, size_t n);
static inline void sr_buf_reset(sr_buf_t *b) { b->len = 0; }

#endif
