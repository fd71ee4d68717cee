/*
 * tz.h: time zones for RFC 3164 timestamps, which carry none.
 *
 * A zone is either a fixed offset ("+hh:mm", "-hh:mm", "UTC", "Z") or an
 * IANA name read from the system's TZif files (/usr/share/zoneinfo, or
 * $TZDIR), with its DST transitions. Loaded once at configuration time;
 * read-only afterwards and safe to share between threads.
 */
#ifndef SR_TZ_H
#define SR_TZ_H

#include <stdint.h>
#include <stddef.h>

typedef struct sr_tz_s sr_tz_t;

/* Load a zone by name. Returns 0 and *out, or a negative code and a
 * message in err (e.g. "unknown time zone 'Mars/Base'"). */
int sr_tz_load(const char *name, sr_tz_t **out, char *err, size_t errlen);
void sr_tz_free(sr_tz_t *tz);

/* UTC offset, in seconds east of UTC, that applies at the given local
 * wall-clock time (seconds since the epoch as if local were UTC). NULL tz
 * is UTC. */
int32_t sr_tz_offset_for_local(const sr_tz_t *tz, int64_t local_seconds);

/* The zone's name as configured. */
const char *sr_tz_name(const sr_tz_t *tz);

#endif
