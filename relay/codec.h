/*
 * codec.h: a record as the Redis output's payload. The json codec is
 * sr_format_json (format.h); this module adds msgpack (a map with the
 * same keys and values as the JSON record) and ecs (JSON in the shape of
 * the Elastic Common Schema: @timestamp, log.syslog.*, host.hostname ...,
 * as nested objects; docs/redis.md has the mapping table).
 *
 * Each encoder appends to an sr_buf_t, adds no framing, and never fails:
 * every record can be encoded (strings are made valid UTF-8, an invalid
 * sequence becoming U+FFFD, as in the JSON record).
 */
#ifndef SR_CODEC_H
#define SR_CODEC_H

#include "common.h"
#include "record.h"

typedef enum sr_codec_e {
    SR_CODEC_JSON = 0,
    SR_CODEC_MSGPACK,
    SR_CODEC_ECS,
} sr_codec_t;

/* "json", "msgpack", "ecs", NULL: the choices of a codec key. */
extern const char *const sr_codec_names[];

/* The ECS version the ecs codec writes in ecs.version. */
#define SR_ECS_VERSION "8.11.0"

/* Append the record in the given codec. */
void sr_codec_encode(sr_codec_t codec, const sr_record_t *r, sr_buf_t *out);

void sr_codec_msgpack(const sr_record_t *r, sr_buf_t *out);
void sr_codec_ecs(const sr_record_t *r, sr_buf_t *out);

/*
 * An RFC 3339 time ("2003-10-11T22:14:15.003-07:00", "...Z", a space for
 * the T, any number of fraction digits) as Unix milliseconds, the fraction
 * truncated. Returns 0, or SR_EPARSE when the text is not such a time.
 */
int sr_codec_rfc3339_ms(const char *p, size_t n, int64_t *ms);

#endif
