/*
 * log.c: the relay's own log on stderr (see log.h). Each line is built
 * in a local buffer and written with one write(2), so lines from worker
 * threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "log.h"

int sr_log_level = SR_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

const char *sr_log_level_name(int level)
{
    if (level < SR_LOG_DEBUG || level > SR_LOG_ERROR) {
        return "info";
    }
    return level_names[level];
}

void sr_log_write(int level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int k;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000,
                 sr_log_level_name(level));
    n += (size_t)k;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (k < 0) {
        k = 0;
    }
    n += (size_t)k;
    if (n > sizeof(line) - 2) {
        n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nothing sensible to do when stderr is gone. */
    }
}

int sr_ratelimit_pass(sr_ratelimit_t *rl, uint32_t *suppressed)
{
    int64_t now = sr_now_us();
    uint32_t burst = rl->burst ? rl->burst : 5;
    int64_t interval = (int64_t)(rl->interval ? rl->interval : 10) * 1000000;

    *suppressed = 0;
    if (now - rl->window_start_us >= interval) {
        rl->window_start_us = now;
        rl->count = 0;
    }
    if (rl->count < burst) {
        rl->count++;
        *suppressed = rl->suppressed;
        rl->suppressed = 0;
        return 1;
    }
    rl->suppressed++;
    return 0;
}
