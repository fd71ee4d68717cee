/*
 * json_ref.h: a plain reference for the JSON string escape, shared by
 * check_format and the parser fuzz targets, which compare the relay's
 * escape (16 and 8 bytes at a time, overlapping at the end) with it.
 */
#ifndef SR_TEST_JSON_REF_H
#define SR_TEST_JSON_REF_H

#include "relay/format.h"

/* The JSON string (quotes included) sr_json_string must write for
 * s[0..n), a byte at a time: the reference for its word-at-a-time loops. */
static inline void sr_test_json_string(sr_buf_t *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    sr_buf_putc(out, '"');
    while (i < n) {
        unsigned char c = p[i];

        if (c >= 0x80) {
            int k = sr_utf8_seq(p + i, n - i);

            if (k > 0) {
                sr_buf_append(out, p + i, (size_t)k);
                i += (size_t)k;
            } else {
                sr_buf_append(out, "\xEF\xBF\xBD", 3);
                i += (size_t)-k;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            sr_buf_putc(out, '\\');
            sr_buf_putc(out, (char)c);
        } else if (c == '\n') {
            sr_buf_puts(out, "\\n");
        } else if (c == '\r') {
            sr_buf_puts(out, "\\r");
        } else if (c == '\t') {
            sr_buf_puts(out, "\\t");
        } else if (c == '\b') {
            sr_buf_puts(out, "\\b");
        } else if (c == '\f') {
            sr_buf_puts(out, "\\f");
        } else if (c < 0x20) {
            sr_buf_printf(out, "\\u%04x", c);
        } else {
            sr_buf_putc(out, (char)c);
        }
        i++;
    }
    sr_buf_putc(out, '"');
}

#endif
