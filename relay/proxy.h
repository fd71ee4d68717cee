/*
 * proxy.h: PROXY protocol v1 (text) and v2 (binary) header parser, as
 * HAProxy and AWS NLB send it before any TLS or syslog byte.
 *
 * Pure and I/O-free. The caller buffers the first bytes of a connection
 * (at most SR_PROXY_MAX_HEADER) and calls sr_proxy_parse() after each
 * read until it answers complete or invalid.
 */
#ifndef SR_PROXY_H
#define SR_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Larger headers are refused (v2 allows 64 KiB of TLVs; nobody sends it). */
#define SR_PROXY_MAX_HEADER 4096

typedef struct sr_proxy_info_s {
    int version;                 /* 1 or 2 */
    int local;                   /* v2 LOCAL or v1 UNKNOWN: use the real peer */
    struct sockaddr_storage src; /* valid when !local */
    struct sockaddr_storage dst;
} sr_proxy_info_t;

/*
 * Parse a header at the start of buf[0..len).
 * Returns > 0: the header's length (consume that many bytes), info filled;
 *           0: incomplete, read more (len < SR_PROXY_MAX_HEADER);
 *         < 0: SR_EPROXY, not a valid header (close the connection).
 * TLVs (AWS VPC endpoint 0xEA, NOOP, CRC32C, ...) are skipped safely; a
 * CRC32C TLV is verified.
 */
int sr_proxy_parse(const char *buf, size_t len, sr_proxy_info_t *info);

/* CRC32C (Castagnoli) of p[0..n), continuing from crc (0 to start);
 * sr_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t sr_crc32c(uint32_t crc, const void *p, size_t n);

#endif
