/*
 * format.h: writing a record out as text, shared by every output.
 *
 * Each writer appends to an sr_buf_t and adds no trailing newline; the
 * caller frames. All text is what redaction left in the record.
 */
#ifndef SR_FORMAT_H
#define SR_FORMAT_H

#include "common.h"
#include "record.h"

/*
 * The JSON record of INTERFACE.md: every field present, null when absent,
 * strings valid UTF-8 (an invalid byte becomes U+FFFD), structured data as
 * {"SD-ID": {"name": "value"}} with repeated names as arrays.
 */
void sr_format_json(const sr_record_t *r, sr_buf_t *out);

/* Options for the RFC 5424 writer (Datadog uses them). */
typedef struct sr_rfc5424_opts_s {
    const char *app_name_default; /* used when the record has no APP-NAME */
    const char *extra_sd;         /* "[ID ...]" appended after the record's own SD; a
                                   * record element with the same ID joins it */
} sr_rfc5424_opts_t;

/* "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG". An RFC 3164 or raw
 * record is converted: its completed timestamp (or the receive time when
 * it has none), NILVALUE for absent fields; header fields are made valid
 * (printable ASCII, no spaces, RFC length limits). opts may be NULL. */
void sr_format_rfc5424(const sr_record_t *r, const sr_rfc5424_opts_t *opts, sr_buf_t *out);

/* "<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG". */
void sr_format_rfc3164(const sr_record_t *r, sr_buf_t *out);

/* The received frame as is (after redaction). */
void sr_format_raw(const sr_record_t *r, sr_buf_t *out);

/*
 * Structured data grouped the way the JSON, msgpack and ECS writers show
 * it: elements with the same SD-ID merge into one group (in order of their
 * first appearance), and within a group a name repeated (in one element
 * or across them) collects all its values, in order. Groups, names and
 * values are in the record's order of first use. vals[] holds indexes into
 * rec->sd_params. Elements whose params lie outside the arrays are skipped.
 */
typedef struct sr_sd_group_s {
    sr_slice_t id;
    uint32_t first_name; /* index into names */
    uint32_t n_names;
} sr_sd_group_t;

typedef struct sr_sd_name_s {
    sr_slice_t name;
    uint32_t first_val; /* index into vals */
    uint32_t n_vals;
} sr_sd_name_t;

#define SR_SD_VIEW_INLINE 16

typedef struct sr_sd_view_s {
    sr_sd_group_t *groups;
    sr_sd_name_t *names;
    uint32_t *vals;
    uint32_t n_groups;
    /* private: room for small structured data, so most records need no
     * allocation */
    sr_sd_group_t groups_inline[SR_SD_VIEW_INLINE];
    sr_sd_name_t names_inline[SR_SD_VIEW_INLINE];
    uint32_t vals_inline[SR_SD_VIEW_INLINE];
} sr_sd_view_t;

/* Build the view; false (nothing to free) when the record has no
 * structured data, else free it with sr_sd_view_free. */
bool sr_sd_view_build(const sr_record_t *r, sr_sd_view_t *v);
void sr_sd_view_free(sr_sd_view_t *v);

/*
 * Length of the well-formed UTF-8 sequence at p[0..n) (n >= 1, p[0] >= 0x80),
 * or, negated, the length of its maximal ill-formed subpart (at least 1: a
 * byte that cannot start a sequence is its own subpart), which the writers
 * replace by one U+FFFD.
 */
int sr_utf8_seq(const unsigned char *p, size_t n);

/* A JSON string literal (with quotes) for p[0..n), invalid UTF-8 as U+FFFD. */
void sr_json_string(sr_buf_t *out, const char *p, size_t n);

/* RFC 3339 UTC with microseconds ("2026-11-21T22:42:07.581084Z"). */
void sr_format_time_us(int64_t us, sr_buf_t *out);

/* The record's `format` as the JSON record names it: rfc5424, rfc3164, raw. */
const char *sr_format_name(int format);

/* Names of facilities (kern .. local7) and severities (emerg .. debug). */
const char *sr_facility_name(int facility);
const char *sr_severity_name(int severity);

#endif
