/*
 * proxy.c: the PROXY protocol v1 and v2 header parser (see proxy.h).
 *
 * Pure and I/O-free; owns nothing. The caller keeps the first bytes of a
 * connection and calls sr_proxy_parse() after each read. The parser
 * answers "incomplete" only while the bytes seen so far are a prefix of
 * some valid header, so a connection that does not speak PROXY is refused
 * at its first wrong byte, not after a timeout.
 *
 * v1 is parsed strictly (HAProxy's proxy-protocol.txt, section 2.1): the
 * line ends with CRLF within 107 bytes, a lone CR or LF is refused, fields
 * are separated by single spaces, ports are 0-65535 without leading zeros
 * and addresses must satisfy inet_pton() for the announced family.
 * "UNKNOWN" (whatever follows it) means: use the real peer.
 *
 * v2: signature, version 2, command LOCAL or PROXY, and the length field
 * always honoured. For PROXY, the address block must fit the family
 * (INET 12, INET6 36, UNIX 216 bytes); the TLVs after it are walked with
 * bounds checks, unknown ones (AWS 0xEA, NOOP, SSL, ...) skipped, and a
 * CRC32C TLV verified: a mismatch refuses the header. UNSPEC and UNIX
 * addresses give a local result (no IP to report).
 *
 * LOCAL is the proxy talking for itself (the AWS NLB health check). Its
 * block is discarded unread, as the spec says, so a LOCAL header is
 * accepted whatever its TLVs hold, CRC32C included. The NLB's real
 * health-check header does carry a valid CRC32C (the unit test checks the
 * captured bytes), but refusing a malformed probe would only turn a health
 * check into an error log; nothing from a LOCAL header is used.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "proxy.h"
#include "common.h"

static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

#define V1_MAX_LINE 107 /* including the CRLF */

/* ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) ------------------------------------ */

static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t sr_crc32c(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc = crc32c_table[(crc ^ b[i]) & 0xFF] ^ (crc >> 8);
    }
    return ~crc;
}

/* ---- v1 ---------------------------------------------------------------------------------- */

/* A port: 1-5 digits, no leading zero (but "0" itself), at most 65535. */
static bool v1_port(const char *p, size_t n, uint16_t *port)
{
    uint32_t v = 0;
    size_t i;

    if (n == 0 || n > 5 || (p[0] == '0' && n > 1)) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (uint32_t)(p[i] - '0');
    }
    if (v > 65535) {
        return false;
    }
    *port = (uint16_t)v;
    return true;
}

/* Fill ss with address text p[0..n) of family af and port (host order). */
static bool v1_addr(int af, const char *p, size_t n, uint16_t port, struct sockaddr_storage *ss)
{
    char tmp[INET6_ADDRSTRLEN + 1];

    if (n == 0 || n >= sizeof(tmp)) {
        return false;
    }
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (af == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        return inet_pton(AF_INET, tmp, &sin->sin_addr) == 1;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        return inet_pton(AF_INET6, tmp, &sin6->sin6_addr) == 1;
    }
}

/* True when p[0..n) (n <= strlen(word)) is a prefix of word. */
static bool prefix_of(const char *p, size_t n, const char *word)
{
    return n <= strlen(word) && memcmp(p, word, n) == 0;
}

/* Parse "TCP4 src dst sport dport" (or TCP6) from line[0..n). */
static int v1_fields(const char *line, size_t n, sr_proxy_info_t *info)
{
    const char *f[5];
    size_t fl[5], i, k = 0, start = 0;
    uint16_t sport, dport;
    int af;

    for (i = 0; i <= n; i++) {
        if (i == n || line[i] == ' ') {
            if (k == 5 || i == start) {
                return SR_EPROXY; /* too many fields, or an empty one (double space) */
            }
            f[k] = line + start;
            fl[k] = i - start;
            k++;
            start = i + 1;
        }
    }
    if (k != 5) {
        return SR_EPROXY;
    }
    if (fl[0] == 4 && memcmp(f[0], "TCP4", 4) == 0) {
        af = AF_INET;
    } else if (fl[0] == 4 && memcmp(f[0], "TCP6", 4) == 0) {
        af = AF_INET6;
    } else {
        return SR_EPROXY;
    }
    if (!v1_port(f[3], fl[3], &sport) || !v1_port(f[4], fl[4], &dport) ||
        !v1_addr(af, f[1], fl[1], sport, &info->src) ||
        !v1_addr(af, f[2], fl[2], dport, &info->dst)) {
        return SR_EPROXY;
    }
    return 0;
}

static int parse_v1(const char *buf, size_t len, sr_proxy_info_t *info)
{
    size_t i, lim = SR_MIN(len, (size_t)V1_MAX_LINE), body;
    unsigned char c;
    int rc;

    if (!prefix_of(buf, SR_MIN(len, 6), "PROXY ")) {
        return SR_EPROXY;
    }
    if (len < 6) {
        return 0;
    }
    /* The protocol word, as far as we have it. */
    body = lim - 6;
    for (i = 0; i < body && buf[6 + i] != '\r' && buf[6 + i] != '\n'; i++) {
    }
    if (!prefix_of(buf + 6, SR_MIN(i, 5), "TCP4 ") && !prefix_of(buf + 6, SR_MIN(i, 5), "TCP6 ") &&
        !prefix_of(buf + 6, SR_MIN(i, 7), "UNKNOWN")) {
        return SR_EPROXY;
    }
    for (i = 6; i < lim; i++) {
        c = (unsigned char)buf[i];
        if (c == '\r') {
            break;
        }
        if (c < 0x20 || c > 0x7E) {
            return SR_EPROXY; /* a lone LF, NUL or binary */
        }
    }
    if (i == lim) {
        return len >= V1_MAX_LINE ? SR_EPROXY : 0;
    }
    if (i + 2 > V1_MAX_LINE) {
        return SR_EPROXY; /* the LF would fall past the 107th byte */
    }
    if (i + 1 >= len) {
        return 0; /* CR seen, LF not yet */
    }
    if (buf[i + 1] != '\n') {
        return SR_EPROXY; /* a lone CR */
    }
    info->version = 1;
    if (i - 6 >= 7 && memcmp(buf + 6, "UNKNOWN", 7) == 0 && (i - 6 == 7 || buf[13] == ' ')) {
        info->local = 1;
        return (int)(i + 2);
    }
    rc = v1_fields(buf + 6, i - 6, info);
    if (rc < 0) {
        return rc;
    }
    return (int)(i + 2);
}

/* ---- v2 ---------------------------------------------------------------------------------- */

static uint16_t be16(const unsigned char *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

/* Walk the TLVs in h[off..end); verify a CRC32C over h[0..end). */
static int v2_tlvs(const unsigned char *h, size_t off, size_t end)
{
    size_t crc_off = 0;
    uint32_t crc, want;
    bool have_crc = false;
    uint16_t tlen;
    static const unsigned char zero[4];

    while (off < end) {
        if (end - off < 3) {
            return SR_EPROXY;
        }
        tlen = be16(h + off + 1);
        if (tlen > end - off - 3) {
            return SR_EPROXY;
        }
        if (h[off] == 0x03) { /* PP2_TYPE_CRC32C */
            if (tlen != 4 || have_crc) {
                return SR_EPROXY;
            }
            have_crc = true;
            crc_off = off + 3;
        }
        off += 3 + (size_t)tlen;
    }
    if (!have_crc) {
        return 0;
    }
    want = ((uint32_t)h[crc_off] << 24) | ((uint32_t)h[crc_off + 1] << 16) |
           ((uint32_t)h[crc_off + 2] << 8) | h[crc_off + 3];
    crc = sr_crc32c(0, h, crc_off);
    crc = sr_crc32c(crc, zero, 4);
    crc = sr_crc32c(crc, h + crc_off + 4, end - crc_off - 4);
    return crc == want ? 0 : SR_EPROXY;
}

static int parse_v2(const unsigned char *h, size_t len, sr_proxy_info_t *info)
{
    unsigned cmd, af, proto;
    size_t total, need;
    int rc;

    if (memcmp(h, v2_sig, SR_MIN(len, sizeof(v2_sig))) != 0) {
        return SR_EPROXY;
    }
    if (len < 13) {
        return 0;
    }
    if ((h[12] >> 4) != 2) {
        return SR_EPROXY;
    }
    cmd = h[12] & 0x0F;
    if (cmd > 1) {
        return SR_EPROXY;
    }
    if (len < 14) {
        return 0;
    }
    af = h[13] >> 4;
    proto = h[13] & 0x0F;
    if (cmd == 1 && (af > 3 || proto > 2)) {
        return SR_EPROXY;
    }
    if (len < 16) {
        return 0;
    }
    total = 16 + (size_t)be16(h + 14);
    if (total > SR_PROXY_MAX_HEADER) {
        return SR_EPROXY;
    }
    need = 0;
    if (cmd == 1) {
        need = af == 1 ? 12 : af == 2 ? 36 : af == 3 ? 216 : 0;
        if (total - 16 < need) {
            return SR_EPROXY;
        }
    }
    if (len < total) {
        return 0;
    }
    info->version = 2;
    if (cmd == 0 || af == 0) {
        /* LOCAL, or PROXY with UNSPEC: the block is discarded unread. */
        info->local = 1;
        return (int)total;
    }
    rc = v2_tlvs(h, 16 + need, total);
    if (rc < 0) {
        return rc;
    }
    if (af == 1) {
        struct sockaddr_in *s = (struct sockaddr_in *)&info->src;
        struct sockaddr_in *d = (struct sockaddr_in *)&info->dst;

        s->sin_family = AF_INET;
        d->sin_family = AF_INET;
        memcpy(&s->sin_addr, h + 16, 4);
        memcpy(&d->sin_addr, h + 20, 4);
        memcpy(&s->sin_port, h + 24, 2);
        memcpy(&d->sin_port, h + 26, 2);
    } else if (af == 2) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&info->src;
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)&info->dst;

        s->sin6_family = AF_INET6;
        d->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, h + 16, 16);
        memcpy(&d->sin6_addr, h + 32, 16);
        memcpy(&s->sin6_port, h + 48, 2);
        memcpy(&d->sin6_port, h + 50, 2);
    } else {
        info->local = 1; /* AF_UNIX: no IP address to report */
    }
    return (int)total;
}

/*
 * Parse a PROXY header at buf[0..len). Returns its length (> 0) with info
 * filled, 0 while the bytes are a valid prefix of a header (read more), or
 * SR_EPROXY as soon as they cannot be one (including any header longer than
 * SR_PROXY_MAX_HEADER). info is cleared on every call.
 */
int sr_proxy_parse(const char *buf, size_t len, sr_proxy_info_t *info)
{
    memset(info, 0, sizeof(*info));
    if (len == 0) {
        return 0;
    }
    if ((unsigned char)buf[0] == v2_sig[0]) {
        return parse_v2((const unsigned char *)buf, len, info);
    }
    if (buf[0] == 'P') {
        return parse_v1(buf, len, info);
    }
    return SR_EPROXY;
}
