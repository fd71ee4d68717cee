/*
 * record.c: building, sharing and freeing records (see record.h).
 *
 * One allocation holds the header and the frame copy. Structured data
 * beyond the inline room and a redacted text are separate allocations the
 * record owns; the last sr_record_release() frees all of it.
 */
#include <stdlib.h>

#include "record.h"

sr_record_t *sr_record_create(const char *frame, size_t len)
{
    sr_record_t *r;

    while (len > 0 && (frame[len - 1] == '\n' || frame[len - 1] == '\r' || frame[len - 1] == '\0')) {
        len--;
    }
    if (len > UINT32_MAX - SR_RECORD_SPARE - 1) {
        len = UINT32_MAX - SR_RECORD_SPARE - 1;
    }
    r = sr_malloc(sizeof(*r) + len + SR_RECORD_SPARE);
    atomic_init(&r->refs, 1);
    r->flags = 0;
    r->input_id = 0;
    r->input_name = "";
    r->received_us = 0;
    r->source[0] = '\0';
    if (len > 0) {
        memcpy(r->data, frame, len);
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
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    free_sd(r);
    if (r->text != r->data) {
        free(r->text);
    }
    free(r);
}

size_t sr_record_size(const sr_record_t *r)
{
    size_t n = sizeof(*r) + r->raw.len + SR_RECORD_SPARE;

    if (r->text != r->data) {
        n += r->text_cap;
    }
    if (r->sd_elems != r->sd_inline_elems && r->sd_elems != NULL) {
        n += r->n_sd_elems * sizeof(sr_sd_elem_t) + r->n_sd_params * sizeof(sr_sd_param_t);
    }
    return n;
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

sr_slice_t sr_record_append(sr_record_t *r, const char *p, size_t n)
{
    sr_slice_t s;

    if (n > r->text_cap - r->text_len) {
        return SR_SLICE_NULL;
    }
    memcpy(r->text + r->text_len, p, n);
    s.off = r->text_len;
    s.len = (uint32_t)n;
    r->text_len += (uint32_t)n;
    return s;
}

void sr_record_set_text(sr_record_t *r, char *text, uint32_t len)
{
    if (r->text != r->data) {
        free(r->text);
    }
    r->text = text;
    r->text_len = len;
    r->text_cap = len;
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
