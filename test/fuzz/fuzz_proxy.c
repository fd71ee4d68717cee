/*
 * fuzz_proxy.c: libFuzzer target for relay/proxy.c.
 *
 * Parses the input as the first bytes of a connection. Checks: a positive
 * answer is a length within the input and SR_PROXY_MAX_HEADER, with a
 * sane version and, unless local, an IPv4 or IPv6 source; 0 only for
 * inputs shorter than the maximum; and every proper prefix of an accepted
 * header answers 0 (incomplete), never invalid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "relay/common.h"
#include "relay/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_proxy_info_t info;
    char *copy;
    int rc;
    size_t k;

    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    rc = sr_proxy_parse(copy, size, &info);
    if (rc > 0) {
        if ((size_t)rc > size || rc > SR_PROXY_MAX_HEADER) {
            abort();
        }
        if (info.version != 1 && info.version != 2) {
            abort();
        }
        if (!info.local && info.src.ss_family != AF_INET && info.src.ss_family != AF_INET6) {
            abort();
        }
        if (!info.local && info.dst.ss_family != info.src.ss_family) {
            abort();
        }
        /* The header alone parses the same; its prefixes are incomplete. */
        if (sr_proxy_parse(copy, (size_t)rc, &info) != rc) {
            abort();
        }
        for (k = 0; k < (size_t)rc; k++) {
            if (sr_proxy_parse(copy, k, &info) != 0) {
                abort();
            }
        }
    } else if (rc == 0) {
        if (size >= SR_PROXY_MAX_HEADER) {
            abort();
        }
    } else if (rc != SR_EPROXY) {
        abort();
    }
    free(copy);
    return 0;
}
