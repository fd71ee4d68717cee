/*
 * check_proxy.c: unit tests for relay/proxy.c, the PROXY v1/v2 parser.
 *
 * Vectors include the HAProxy 2.6 captures and the AWS NLB health-check
 * header from research/real-client-framing.md and wire-formats.md. Every
 * valid header is also checked truncated at every length (must answer
 * "incomplete") and followed by payload (must consume only the header).
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "relay/proxy.h"
#include "relay/common.h"

#define SIG "0d0a0d0a000d0a515549540a"

/* Decode hex (spaces and '|' ignored, "Z<n>" for n zero bytes) into out;
 * returns the byte count. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    unsigned v;
    char *end;
    long z;

    while (*hex) {
        if (*hex == ' ' || *hex == '|') {
            hex++;
            continue;
        }
        if (*hex == 'Z') {
            z = strtol(hex + 1, &end, 10);
            ck_assert_uint_le(n + (size_t)z, cap);
            memset(out + n, 0, (size_t)z);
            n += (size_t)z;
            hex = end;
            continue;
        }
        ck_assert_int_eq(sscanf(hex, "%2x", &v), 1);
        ck_assert_uint_lt(n, cap);
        out[n++] = (unsigned char)v;
        hex += 2;
    }
    return n;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap,
                             unsigned *port)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

        *port = ntohs(s->sin_port);
        return inet_ntop(AF_INET, &s->sin_addr, buf, (socklen_t)cap);
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

        *port = ntohs(s->sin6_port);
        return inet_ntop(AF_INET6, &s->sin6_addr, buf, (socklen_t)cap);
    }
    *port = 0;
    return "none";
}

/* An expected successful parse. */
typedef struct good_s {
    const char *name;
    const char *text; /* v1 text, or NULL */
    const char *hex;  /* v2 bytes in hex, or NULL */
    int version;
    int local;
    const char *src; /* "addr port" or NULL for local */
    const char *dst;
} good_t;

static const good_t goods[] = {
    {"v1 spec example", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", NULL, 1, 0,
     "192.168.0.1 56324", "192.168.0.11 443"},
    {"v1 haproxy capture", "PROXY TCP4 127.0.0.5 127.0.0.1 56957 17621\r\n", NULL, 1, 0,
     "127.0.0.5 56957", "127.0.0.1 17621"},
    {"v1 tcp6", "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n", NULL, 1, 0, "2001:db8::1 65535", "::1 0"},
    {"v1 tcp6 longest",
     "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "65535 65535\r\n",
     NULL, 1, 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535",
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535"},
    {"v1 tcp6 mapped", "PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n", NULL, 1, 0, "::ffff:10.0.0.1 1",
     "::1 2"},
    {"v1 unknown", "PROXY UNKNOWN\r\n", NULL, 1, 1, NULL, NULL},
    {"v1 unknown worst case (107 bytes)",
     "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "65535 65535\r\n",
     NULL, 1, 1, NULL, NULL},
    {"v2 haproxy capture", NULL, SIG "21 11 000c 7f000005 7f000001 9a2f 44d4", 2, 0,
     "127.0.0.5 39471", "127.0.0.1 17620"},
    {"v2 udp4", NULL, SIG "21 12 000c 0a000001 0a000002 0202 0202", 2, 0, "10.0.0.1 514",
     "10.0.0.2 514"},
    {"v2 tcp6", NULL,
     SIG "21 21 0024 20010db8000000000000000000000001 00000000000000000000000000000001 1770 18eb",
     2, 0, "2001:db8::1 6000", "::1 6379"},
    {"v2 aws vpce tlv", NULL,
     SIG "21 11 0025 c0000201 0a000005 d431 0202 | ea 0016 01 "
         "767063652d30313233343536373839616263646566",
     2, 0, "192.0.2.1 54321", "10.0.0.5 514"},
    {"v2 noop and unknown tlvs", NULL,
     SIG "21 11 0015 c0000201 0a000005 d431 0202 | 04 0000 | f0 0003 010203", 2, 0,
     "192.0.2.1 54321", "10.0.0.5 514"},
    {"v2 ssl tlv with sub-tlvs", NULL,
     SIG "21 11 001d c0000201 0a000005 d431 0202 | 20 000e 07 00000000 21 0003 312e33 22 0000", 2,
     0, "192.0.2.1 54321", "10.0.0.5 514"},
    {"v2 local empty", NULL, SIG "20 00 0000", 2, 1, NULL, NULL},
    {"v2 local with address block", NULL, SIG "20 11 000c 7f000005 7f000001 9a2f 44d4", 2, 1, NULL,
     NULL},
    /* AWS NLB health check, as captured in kubernetes/kubernetes#57250: LOCAL,
     * fam 0x11 but no address block, CRC32C TLV then a 74-byte NOOP. */
    {"v2 nlb health check", NULL, SIG "20 11 0054 | 03 0004 bce5951f | 04 004a Z74", 2, 1, NULL,
     NULL},
    {"v2 proxy unspec", NULL, SIG "21 00 0000", 2, 1, NULL, NULL},
    {"v2 unix", NULL, SIG "21 31 00d8 2f746d702f61 Z210", 2, 1, NULL, NULL},
};

static size_t good_bytes(const good_t *g, unsigned char *buf, size_t cap)
{
    if (g->text != NULL) {
        size_t n = strlen(g->text);

        ck_assert_uint_le(n, cap);
        memcpy(buf, g->text, n);
        return n;
    }
    return unhex(g->hex, buf, cap);
}

static void check_info(const good_t *g, const sr_proxy_info_t *info)
{
    char a[INET6_ADDRSTRLEN], got[80];
    const char *t;
    unsigned port;

    ck_assert_int_eq(info->version, g->version);
    ck_assert_int_eq(info->local, g->local);
    if (g->local) {
        return;
    }
    t = addr_text(&info->src, a, sizeof(a), &port);
    snprintf(got, sizeof(got), "%s %u", t, port);
    ck_assert_str_eq(got, g->src);
    t = addr_text(&info->dst, a, sizeof(a), &port);
    snprintf(got, sizeof(got), "%s %u", t, port);
    ck_assert_str_eq(got, g->dst);
}

START_TEST(test_good)
{
    const good_t *g = &goods[_i];
    unsigned char buf[SR_PROXY_MAX_HEADER + 64];
    sr_proxy_info_t info;
    size_t n = good_bytes(g, buf, sizeof(buf) - 32), k;
    int rc;

    rc = sr_proxy_parse((char *)buf, n, &info);
    ck_assert_msg(rc == (int)n, "%s: rc %d want %zu", g->name, rc, n);
    check_info(g, &info);

    /* Followed by payload: only the header is consumed. */
    memcpy(buf + n, "<13>1 - - - - - -\n", 18);
    rc = sr_proxy_parse((char *)buf, n + 18, &info);
    ck_assert_int_eq(rc, (int)n);
    check_info(g, &info);

    /* Every truncation is incomplete, never invalid. */
    for (k = 0; k < n; k++) {
        unsigned char *copy = sr_malloc(k ? k : 1);

        memcpy(copy, buf, k);
        rc = sr_proxy_parse((char *)copy, k, &info);
        free(copy);
        ck_assert_msg(rc == 0, "%s: truncated to %zu gave %d", g->name, k, rc);
    }
}
END_TEST

/* Expected refusals: the full bytes, and the shortest prefix already refused. */
typedef struct bad_s {
    const char *name;
    const char *text;
    const char *hex;
    size_t refused_at; /* refused once this many bytes are present (0: only when complete) */
} bad_t;

static const bad_t bads[] = {
    {"not proxy: syslog", "<13>1 - - - - - -\n", NULL, 1},
    {"not proxy: http", "GET / HTTP/1.1\r\n", NULL, 1},
    {"not proxy: tls hello", NULL, "160301", 1},
    {"v1 typo", "PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n", NULL, 5},
    {"v1 lowercase", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", NULL, 1},
    {"v1 no space", "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", NULL, 6},
    {"v1 bad protocol", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", NULL, 10},
    {"v1 udp4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", NULL, 8},
    {"v1 lone lf", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n", NULL, 0},
    {"v1 lone cr", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rX", NULL, 0},
    {"v1 cr cr lf", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\r\n", NULL, 0},
    {"v1 double space", "PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n", NULL, 0},
    {"v1 trailing space", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n", NULL, 0},
    {"v1 extra field", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 9\r\n", NULL, 0},
    {"v1 missing field", "PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n", NULL, 0},
    {"v1 tcp4 nothing", "PROXY TCP4\r\n", NULL, 0},
    {"v1 port leading zero", "PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n", NULL, 0},
    {"v1 port 65536", "PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n", NULL, 0},
    {"v1 port signed", "PROXY TCP4 192.168.0.1 192.168.0.11 +5632 443\r\n", NULL, 0},
    {"v1 port too long", "PROXY TCP4 192.168.0.1 192.168.0.11 000001 443\r\n", NULL, 0},
    {"v1 port hex", "PROXY TCP4 192.168.0.1 192.168.0.11 0x10 443\r\n", NULL, 0},
    {"v1 addr leading zero", "PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n", NULL, 0},
    {"v1 addr octet 256", "PROXY TCP4 192.168.0.256 192.168.0.11 56324 443\r\n", NULL, 0},
    {"v1 addr short", "PROXY TCP4 192.168.1 192.168.0.11 56324 443\r\n", NULL, 0},
    {"v1 tcp4 with v6", "PROXY TCP4 ::1 ::1 1 2\r\n", NULL, 0},
    {"v1 tcp6 with v4", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", NULL, 0},
    {"v1 unknown glued", "PROXY UNKNOWNX\r\n", NULL, 0},
    {"v1 too long (no crlf in 107)",
     "PROXY UNKNOWN 0123456789012345678901234567890123456789012345678901234567890123456789"
     "01234567890123456789012345\r\n",
     NULL, 107},
    {"v2 version 1", NULL, SIG "11 11 000c 7f000005 7f000001 9a2f 44d4", 13},
    {"v2 version 3", NULL, SIG "31 11 000c 7f000005 7f000001 9a2f 44d4", 13},
    {"v2 command 2", NULL, SIG "22 11 000c 7f000005 7f000001 9a2f 44d4", 13},
    {"v2 family 4", NULL, SIG "21 41 000c 7f000005 7f000001 9a2f 44d4", 14},
    {"v2 proto 3", NULL, SIG "21 13 000c 7f000005 7f000001 9a2f 44d4", 14},
    {"v2 inet block short", NULL, SIG "21 11 0008 7f000005 7f000001", 16},
    {"v2 inet6 block short", NULL, SIG "21 21 000c 7f000005 7f000001 9a2f 44d4", 16},
    {"v2 unix block short", NULL, SIG "21 31 000c 7f000005 7f000001 9a2f 44d4", 16},
    {"v2 tlv overruns", NULL, SIG "21 11 0010 7f000005 7f000001 9a2f 44d4 | 04 0005 00", 0},
    {"v2 tlv header cut", NULL, SIG "21 11 000e 7f000005 7f000001 9a2f 44d4 | 04 00", 0},
    {"v2 crc wrong size", NULL, SIG "21 11 0012 7f000005 7f000001 9a2f 44d4 | 03 0003 000000", 0},
    {"v2 crc mismatch", NULL, SIG "21 11 0013 7f000005 7f000001 9a2f 44d4 | 03 0004 00000000", 0},
    {"v2 too long", NULL, SIG "21 11 0ff1", 16},
    {"v2 far too long", NULL, SIG "20 00 ffff", 16},
    {"v2 bad signature", NULL, "0d0a0d0a000d0a515549540b 21 11 000c", 12},
    {"v2 bad signature 2", NULL, "0d0a0d0a01", 5},
    {"v2 signature then v1", NULL, "0d0a50524f5859", 3},
};

START_TEST(test_bad)
{
    const bad_t *b = &bads[_i];
    unsigned char buf[512];
    sr_proxy_info_t info;
    size_t n, k;
    int rc;

    if (b->text != NULL) {
        n = strlen(b->text);
        memcpy(buf, b->text, n);
    } else {
        n = unhex(b->hex, buf, sizeof(buf));
    }
    rc = sr_proxy_parse((char *)buf, n, &info);
    ck_assert_msg(rc == SR_EPROXY, "%s: rc %d", b->name, rc);
    if (b->refused_at == 0) {
        return;
    }
    for (k = 1; k <= n; k++) {
        rc = sr_proxy_parse((char *)buf, k, &info);
        if (k < b->refused_at) {
            ck_assert_msg(rc == 0, "%s: %zu bytes gave %d, want 0", b->name, k, rc);
        } else {
            ck_assert_msg(rc == SR_EPROXY, "%s: %zu bytes gave %d, want SR_EPROXY", b->name, k, rc);
        }
    }
}
END_TEST

START_TEST(test_crc32c)
{
    ck_assert_uint_eq(sr_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(sr_crc32c(0, "", 0), 0);
    /* incremental gives the same as one call */
    ck_assert_uint_eq(sr_crc32c(sr_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    /* 32 zero bytes: RFC 3720 B.4 */
    {
        static const unsigned char z[32];
        ck_assert_uint_eq(sr_crc32c(0, z, 32), 0x8A9136AAu);
    }
}
END_TEST

/* The NLB capture's CRC32C is genuine: recompute it over the header with
 * the field zeroed. */
START_TEST(test_nlb_crc_is_valid)
{
    unsigned char buf[128];
    size_t n = good_bytes(&goods[15], buf, sizeof(buf));
    uint32_t stored;

    ck_assert_str_eq(goods[15].name, "v2 nlb health check");
    ck_assert_uint_eq(n, 100);
    stored =
        ((uint32_t)buf[19] << 24) | ((uint32_t)buf[20] << 16) | ((uint32_t)buf[21] << 8) | buf[22];
    ck_assert_uint_eq(stored, 0xbce5951fu);
    memset(buf + 19, 0, 4);
    ck_assert_uint_eq(sr_crc32c(0, buf, n), stored);
}
END_TEST

/* LOCAL is accepted whatever its block holds, even a wrong CRC32C (see
 * proxy.c: a health check must not turn into an error). */
START_TEST(test_local_bad_crc_still_local)
{
    unsigned char buf[128];
    sr_proxy_info_t info;
    size_t n = good_bytes(&goods[15], buf, sizeof(buf));

    buf[22] ^= 0xFF;
    ck_assert_int_eq(sr_proxy_parse((char *)buf, n, &info), 100);
    ck_assert_int_eq(info.local, 1);
    /* but the length is still honoured: a short one is incomplete */
    ck_assert_int_eq(sr_proxy_parse((char *)buf, n - 1, &info), 0);
}
END_TEST

/* A PROXY header with a correct CRC32C passes; any flipped byte in it
 * then fails (the CRC, or a structural check, catches it). */
START_TEST(test_proxy_crc_valid_and_flipped)
{
    unsigned char buf[64];
    sr_proxy_info_t info;
    size_t n, i;
    int rc;

    n = unhex(SIG "21 11 0018 c0000201 0a000005 d431 0202 | 03 0004 00000000 | 04 0002 abcd", buf,
              sizeof(buf));
    ck_assert_uint_eq(n, 40);
    put_be32(buf + 31, sr_crc32c(0, buf, n));
    ck_assert_int_eq(sr_proxy_parse((char *)buf, n, &info), 40);
    ck_assert_int_eq(info.local, 0);
    ck_assert_int_eq(info.src.ss_family, AF_INET);
    for (i = 16; i < n; i++) {
        if ((i >= 31 && i < 35) || i == 28) {
            continue; /* the CRC itself; 28 turns the CRC TLV into an unknown one */
        }
        buf[i] ^= 0x01;
        rc = sr_proxy_parse((char *)buf, n, &info);
        ck_assert_msg(rc == SR_EPROXY, "flip at %zu gave %d", i, rc);
        buf[i] ^= 0x01;
    }
    buf[34] ^= 0x80;
    ck_assert_int_eq(sr_proxy_parse((char *)buf, n, &info), SR_EPROXY);
}
END_TEST

/* The largest header allowed is accepted; one byte more is refused. */
START_TEST(test_max_header)
{
    unsigned char *buf = sr_calloc(SR_PROXY_MAX_HEADER + 1, 1);
    sr_proxy_info_t info;
    size_t tl = SR_PROXY_MAX_HEADER - 16 - 12 - 3;

    unhex(SIG "21 11 0ff0 c0000201 0a000005 d431 0202", buf, 28);
    buf[28] = 0x04;
    buf[29] = (unsigned char)(tl >> 8);
    buf[30] = (unsigned char)tl;
    ck_assert_int_eq(sr_proxy_parse((char *)buf, SR_PROXY_MAX_HEADER, &info), SR_PROXY_MAX_HEADER);
    ck_assert_int_eq(sr_proxy_parse((char *)buf, SR_PROXY_MAX_HEADER - 1, &info), 0);
    buf[15] = 0xf1;
    ck_assert_int_eq(sr_proxy_parse((char *)buf, 16, &info), SR_EPROXY);
    free(buf);
}
END_TEST

/* Binary bytes inside a v1 line refuse it at once. */
START_TEST(test_v1_nul)
{
    static const char in[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
    sr_proxy_info_t info;

    ck_assert_int_eq(sr_proxy_parse(in, 18, &info), 0);
    ck_assert_int_eq(sr_proxy_parse(in, 19, &info), SR_EPROXY);
    ck_assert_int_eq(sr_proxy_parse(in, sizeof(in) - 1, &info), SR_EPROXY);
}
END_TEST

START_TEST(test_empty)
{
    sr_proxy_info_t info;

    ck_assert_int_eq(sr_proxy_parse("", 0, &info), 0);
}
END_TEST

static Suite *proxy_suite(void)
{
    Suite *s = suite_create("proxy");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_good, 0, SR_ARRAY_SIZE(goods));
    tcase_add_loop_test(tc, test_bad, 0, SR_ARRAY_SIZE(bads));
    tcase_add_test(tc, test_crc32c);
    tcase_add_test(tc, test_nlb_crc_is_valid);
    tcase_add_test(tc, test_local_bad_crc_still_local);
    tcase_add_test(tc, test_proxy_crc_valid_and_flipped);
    tcase_add_test(tc, test_max_header);
    tcase_add_test(tc, test_v1_nul);
    tcase_add_test(tc, test_empty);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proxy_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
