/*
 * log.h: the relay's own log, one line per event on stderr.
 *
 *   2026-11-21T22:42:07.581Z warning output redis "queue": connection refused; retrying in 2s
 *
 * The macros check the level before formatting anything. Thread-safe:
 * each line goes out in one write(2). Payloads are logged only at debug,
 * and only after redaction; secrets never.
 */
#ifndef SR_LOG_H
#define SR_LOG_H

#include <stdint.h>

typedef enum sr_log_level_e {
    SR_LOG_DEBUG = 0,
    SR_LOG_INFO,
    SR_LOG_WARNING,
    SR_LOG_ERROR,
} sr_log_level_t;

extern int sr_log_level;

void sr_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sr_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= sr_log_level) {                                                             \
            sr_log_write((level), __VA_ARGS__);                                                    \
        }                                                                                          \
    } while (0)
#define sr_debug(...) sr_log(SR_LOG_DEBUG, __VA_ARGS__)
#define sr_info(...) sr_log(SR_LOG_INFO, __VA_ARGS__)
#define sr_warn(...) sr_log(SR_LOG_WARNING, __VA_ARGS__)
#define sr_error(...) sr_log(SR_LOG_ERROR, __VA_ARGS__)

/*
 * Rate limiting for repeated errors: at most `burst` lines per `interval`
 * seconds through one limiter; the next line that passes says how many
 * were suppressed. Use one static limiter per call site or per instance.
 */
typedef struct sr_ratelimit_s {
    int64_t window_start_us;
    uint32_t count;
    uint32_t suppressed;
    uint32_t burst;     /* 0 means 5 */
    uint32_t interval;  /* seconds; 0 means 10 */
} sr_ratelimit_t;

/* True if a line may be logged now; *suppressed gets the number skipped
 * since the last line that passed. */
int sr_ratelimit_pass(sr_ratelimit_t *rl, uint32_t *suppressed);

#define sr_log_limited(rl, level, fmt, ...)                                                        \
    do {                                                                                           \
        uint32_t sr__sup_;                                                                         \
        if ((level) >= sr_log_level && sr_ratelimit_pass((rl), &sr__sup_)) {                       \
            if (sr__sup_) {                                                                        \
                sr_log_write((level), fmt " (%u similar lines suppressed)", ##__VA_ARGS__,         \
                             sr__sup_);                                                            \
            } else {                                                                               \
                sr_log_write((level), fmt, ##__VA_ARGS__);                                         \
            }                                                                                      \
        }                                                                                          \
    } while (0)

const char *sr_log_level_name(int level);

#endif
