/*
 * check_rfc3164.c: unit tests for parsers/rfc3164.c.
 *
 * A fixture table of what real senders put on the wire (logger, rsyslog,
 * syslog-ng, busybox, Cisco IOS and ASA, Juniper, FortiGate, NXLog/Snare,
 * macOS, postfix) and broken input, with every field asserted, including
 * the completed RFC 3339 timestamp in several zones and around the new
 * year. Then embedded NULs, very long input, and every prefix of every
 * fixture (run under ASan to prove no read goes out of bounds).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "parsers/parser.h"

/* Fixture rows leave trailing fields out when they do not apply. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define NOW_2026_11_21 1795300927000000LL /* 2026-11-21T22:42:07Z */
#define NOW_2027_01_02 1798848000000000LL /* 2027-01-02T00:00:00Z */
#define ABSENT NULL

typedef struct case_s {
    const char *in;
    sr_parse_result_t want;
    int fac, sev;
    const char *ts, *host, *app, *proc, *msg;
    const char *zone; /* ctx->tz; NULL is UTC */
    int64_t now_us;   /* 0: NOW_2026_11_21 */
} case_t;

#define OK SR_PARSE_OK
#define NOT_MINE SR_PARSE_NOT_MINE

static const case_t cases[] = {
    /* logger, syslog-ng network(), rsyslog defaults (research captures). */
    {"<13>Nov 21 22:42:07 vm lgapp3: line one", OK, 1, 5, "2026-11-21T22:42:07+00:00", "vm",
     "lgapp3", ABSENT, "line one"},
    {"<13>Nov 21 22:42:19 snghost sngapp: sng message 1", OK, 1, 5, "2026-11-21T22:42:19+00:00",
     "snghost", "sngapp", ABSENT, "sng message 1"},
    {"<133>Nov 21 22:58:26 rshost gtlsapp: obs message 1", OK, 16, 5, "2026-11-21T22:58:26+00:00",
     "rshost", "gtlsapp", ABSENT, "obs message 1"},
    /* RFC 3164 and syslog-ng guide examples. */
    {"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", OK, 4, 2,
     "2026-10-11T22:14:15+00:00", "mymachine", "su", ABSENT,
     "'su root' failed for lonvick on /dev/pts/8"},
    {"<133>Feb 25 14:09:07 webserver syslogd: restart.", OK, 16, 5, "2026-02-25T14:09:07+00:00",
     "webserver", "syslogd", ABSENT, "restart."},
    /* Day padding: space, zero, one digit. */
    {"<13>Nov  1 08:00:00 host sshd[1234]: Accepted publickey for root", OK, 1, 5,
     "2026-11-01T08:00:00+00:00", "host", "sshd", "1234", "Accepted publickey for root"},
    {"<13>Nov 01 08:00:00 host cron[5]: x", OK, 1, 5, "2026-11-01T08:00:00+00:00", "host", "cron",
     "5", "x"},
    {"<13>Nov 1 08:00:00 host cron[5]: x", OK, 1, 5, "2026-11-01T08:00:00+00:00", "host", "cron",
     "5", "x"},
    {"<13>nov 21 22:42:07 host app: lower-case month", OK, 1, 5, "2026-11-21T22:42:07+00:00",
     "host", "app", ABSENT, "lower-case month"},
    /* Years: after the day (Cisco ASA style), before the month (Brocade). */
    {"<13>Nov 21 2025 22:42:07 host app: x", OK, 1, 5, "2025-11-21T22:42:07+00:00", "host", "app",
     ABSENT, "x"},
    {"<13>2024 Feb 29 22:42:07 host app: x", OK, 1, 5, "2024-02-29T22:42:07+00:00", "host", "app",
     ABSENT, "x"},
    /* Fractions: kept, at most 6 digits. */
    {"<13>Nov 21 22:42:07.123 host app: x", OK, 1, 5, "2026-11-21T22:42:07.123+00:00", "host",
     "app", ABSENT, "x"},
    {"<13>Nov 21 22:42:07.123456789 host app: x", OK, 1, 5, "2026-11-21T22:42:07.123456+00:00",
     "host", "app", ABSENT, "x"},
    /* RFC 3339 in place of the BSD time (rsyslog RSYSLOG_ForwardFormat): as sent. */
    {"<13>2026-11-21T22:42:34.950154+00:00 rshost rsapp: rs message 1", OK, 1, 5,
     "2026-11-21T22:42:34.950154+00:00", "rshost", "rsapp", ABSENT, "rs message 1"},
    {"<13>2026-11-21T23:42:07+01:00 host app[9]: x", OK, 1, 5, "2026-11-21T23:42:07+01:00", "host",
     "app", "9", "x"},
    /* No hostname: the word after the time is plainly a TAG. */
    {"<13>Nov 21 22:42:07 sshd[1234]: Connection closed", OK, 1, 5, "2026-11-21T22:42:07+00:00",
     ABSENT, "sshd", "1234", "Connection closed"},
    {"<13>Nov 21 22:42:07 su: pam_unix(su:session): session opened", OK, 1, 5,
     "2026-11-21T22:42:07+00:00", ABSENT, "su", ABSENT, "pam_unix(su:session): session opened"},
    /* busybox syslogd -R forwards without a hostname. */
    {"<13>Nov 21 22:42:07 root: hello from busybox", OK, 1, 5, "2026-11-21T22:42:07+00:00", ABSENT,
     "root", ABSENT, "hello from busybox"},
    /* Hostnames: IPv4, IPv6, IPv6 ending in "::", bracketed, FQDN. */
    {"<13>Nov 21 22:42:07 192.0.2.1 app: x", OK, 1, 5, "2026-11-21T22:42:07+00:00", "192.0.2.1",
     "app", ABSENT, "x"},
    {"<13>Nov 21 22:42:07 2001:db8::1 app[7]: x", OK, 1, 5, "2026-11-21T22:42:07+00:00",
     "2001:db8::1", "app", "7", "x"},
    {"<13>Nov 21 22:42:07 fe80:: app: x", OK, 1, 5, "2026-11-21T22:42:07+00:00", "fe80::", "app",
     ABSENT, "x"},
    {"<13>Nov 21 22:42:07 [2001:db8::2] app: x", OK, 1, 5, "2026-11-21T22:42:07+00:00",
     "[2001:db8::2]", "app", ABSENT, "x"},
    {"<30>Nov 21 22:42:07 web-01.prod.example.com nginx: GET / 200", OK, 3, 6,
     "2026-11-21T22:42:07+00:00", "web-01.prod.example.com", "nginx", ABSENT, "GET / 200"},
    /* TAG shapes: no colon, PID without colon, no space after ':', two spaces. */
    {"<13>Nov 21 22:42:07 host app message text", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host",
     "app", ABSENT, "message text"},
    {"<13>Nov 21 22:42:07 host app[42] message", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host",
     "app", "42", "message"},
    {"<13>Nov 21 22:42:07 host app:msg", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host", "app",
     ABSENT, "msg"},
    {"<13>Nov 21 22:42:07 host app:  msg", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host", "app",
     ABSENT, " msg"},
    {"<22>Nov 21 22:42:07 mail postfix/smtpd[2345]: connect from unknown[10.0.0.9]", OK, 2, 6,
     "2026-11-21T22:42:07+00:00", "mail", "postfix/smtpd", "2345",
     "connect from unknown[10.0.0.9]"},
    /* rsyslog's mark message has no TAG. */
    {"<46>Nov 21 22:42:07 host -- MARK --", OK, 5, 6, "2026-11-21T22:42:07+00:00", "host", ABSENT,
     ABSENT, "-- MARK --"},
    /* Cisco IOS: sequence number, '*' (clock not synchronised), zone, colon. */
    {"<189>123: *Nov 21 22:42:07.123 UTC: %SYS-5-CONFIG_I: Configured from console by vty0 "
     "(10.0.0.1)",
     OK, 23, 5, "2026-11-21T22:42:07.123+00:00", ABSENT, "%SYS-5-CONFIG_I", ABSENT,
     "Configured from console by vty0 (10.0.0.1)"},
    {"<189>123: *Nov 21 22:42:07.123 UTC: %SYS-5-CONFIG_I: x", OK, 23, 5,
     "2026-11-21T22:42:07.123+00:00", ABSENT, "%SYS-5-CONFIG_I", ABSENT, "x", "Europe/Berlin"},
    {"<187>Nov 21 22:42:07.123: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down", OK, 23, 3,
     "2026-11-21T22:42:07.123+00:00", ABSENT, "%LINK-3-UPDOWN", ABSENT,
     "Interface Gi0/1, changed state to down"},
    {"<189>45: Nov 21 23:42:07 CET: %SYS-5-CONFIG_I: x", OK, 23, 5, "2026-11-21T23:42:07+01:00",
     ABSENT, "%SYS-5-CONFIG_I", ABSENT, "x", "Europe/Berlin"},
    {"<189>46: %SYS-5-CONFIG_I: no timestamps configured", OK, 23, 5, ABSENT, ABSENT,
     "%SYS-5-CONFIG_I", ABSENT, "no timestamps configured"},
    /* Cisco ASA: year and colon; with a device id; without a timestamp. */
    {"<166>Nov 21 2026 22:42:07: %ASA-6-302013: Built outbound TCP connection 1 for "
     "outside:1.2.3.4/443",
     OK, 20, 6, "2026-11-21T22:42:07+00:00", ABSENT, "%ASA-6-302013", ABSENT,
     "Built outbound TCP connection 1 for outside:1.2.3.4/443"},
    {"<166>Nov 21 2026 22:42:07 asa01 : %ASA-6-302013: Built", OK, 20, 6,
     "2026-11-21T22:42:07+00:00", "asa01", "%ASA-6-302013", ABSENT, "Built"},
    {"<166>%ASA-6-302013: Built", OK, 20, 6, ABSENT, ABSENT, "%ASA-6-302013", ABSENT, "Built"},
    /* Juniper. */
    {"<28>Nov 21 22:42:07 mx480-re0 mib2d[1234]: SNMP_TRAP_LINK_DOWN: ifIndex 545", OK, 3, 4,
     "2026-11-21T22:42:07+00:00", "mx480-re0", "mib2d", "1234", "SNMP_TRAP_LINK_DOWN: ifIndex 545"},
    /* FortiGate key=value with no BSD header: all of it is the message. */
    {"<189>date=2026-11-21 time=22:42:07 devname=\"FGT60F\" logid=\"0000000013\" type=\"traffic\"",
     OK, 23, 5, ABSENT, ABSENT, ABSENT, ABSENT,
     "date=2026-11-21 time=22:42:07 devname=\"FGT60F\" logid=\"0000000013\" type=\"traffic\""},
    /* Windows: NXLog BSD output, Snare with TABs. */
    {"<14>Nov 21 22:42:07 WIN-SRV01 Microsoft-Windows-Security-Auditing[4624]: An account was "
     "successfully logged on.",
     OK, 1, 6, "2026-11-21T22:42:07+00:00", "WIN-SRV01", "Microsoft-Windows-Security-Auditing",
     "4624", "An account was successfully logged on."},
    {"<13>Nov 21 22:42:07 WIN-SRV01 MSWinEventLog\t1\tSecurity\t123", OK, 1, 5,
     "2026-11-21T22:42:07+00:00", "WIN-SRV01", "MSWinEventLog", ABSENT, "1\tSecurity\t123"},
    /* macOS. */
    {"<13>Nov 21 22:42:07 mbp com.apple.xpc.launchd[1] (com.apple.foo): Service exited", OK, 1, 5,
     "2026-11-21T22:42:07+00:00", "mbp", "com.apple.xpc.launchd", "1",
     "(com.apple.foo): Service exited"},
    /* PRI and nothing recognisable (rsyslog #5098): all of it is the message. */
    {"<38>text", OK, 4, 6, ABSENT, ABSENT, ABSENT, ABSENT, "text"},
    {"<38>sshd[99]: Connection closed", OK, 4, 6, ABSENT, ABSENT, "sshd", "99",
     "Connection closed"},
    {"<38>two words", OK, 4, 6, ABSENT, ABSENT, ABSENT, ABSENT, "two words"},
    {"<13>", OK, 1, 5, ABSENT, ABSENT, ABSENT, ABSENT, ""},
    /* No PRI, but a readable header: user.notice. */
    {"Nov 21 22:42:07 host app: x", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host", "app", ABSENT,
     "x"},
    {"2026-11-21T22:42:07Z host app: x", OK, 1, 5, "2026-11-21T22:42:07Z", "host", "app", ABSENT,
     "x"},
    /* The year: December logs received in January are last year's. */
    {"<13>Dec 31 23:59:59 host app: x", OK, 1, 5, "2026-12-31T23:59:59+00:00", "host", "app",
     ABSENT, "x", NULL, NOW_2027_01_02},
    {"<13>Jan  2 00:30:00 host app: x", OK, 1, 5, "2027-01-02T00:30:00+00:00", "host", "app",
     ABSENT, "x", NULL, NOW_2027_01_02},
    {"<13>Nov 28 22:42:07 host app: up to 7 days ahead is this year", OK, 1, 5,
     "2026-11-28T22:42:07+00:00", "host", "app", ABSENT, "up to 7 days ahead is this year"},
    {"<13>Nov 29 23:00:00 host app: more is last year", OK, 1, 5, "2025-11-29T23:00:00+00:00",
     "host", "app", ABSENT, "more is last year"},
    /* Zones. */
    {"<13>Jul  4 12:00:00 host app: x", OK, 1, 5, "2026-07-04T12:00:00+02:00", "host", "app",
     ABSENT, "x", "Europe/Berlin"},
    {"<13>Nov 21 23:42:07 host app: x", OK, 1, 5, "2026-11-21T23:42:07+01:00", "host", "app",
     ABSENT, "x", "Europe/Berlin"},
    {"<13>Nov 21 17:42:07 host app: x", OK, 1, 5, "2026-11-21T17:42:07-05:00", "host", "app",
     ABSENT, "x", "America/New_York"},
    {"<13>Nov 22 04:12:07 host app: x", OK, 1, 5, "2026-11-22T04:12:07+05:30", "host", "app",
     ABSENT, "x", "+05:30"},
    {"<13>Mar 29 02:30:00 host app: in the gap", OK, 1, 5, "2026-03-29T02:30:00+01:00", "host",
     "app", ABSENT, "in the gap", "Europe/Berlin"},
    /* The receive year is the zone's: 23:30 UTC on 31 Dec is 2027 in Berlin. */
    {"<13>Jan  1 00:30:00 host app: x", OK, 1, 5, "2027-01-01T00:30:00+01:00", "host", "app",
     ABSENT, "x", "Europe/Berlin", 1798759800000000LL /* 2026-12-31T23:30:00Z */},
    /* 29 February in a year without one: the header parses, the time is absent. */
    {"<13>Feb 29 12:00:00 host app: x", OK, 1, 5, ABSENT, "host", "app", ABSENT, "x"},

    /* Broken headers: everything after the PRI is the message. */
    {"<13>Nov 31 22:42:07 host app: x", OK, 1, 5, ABSENT, ABSENT, ABSENT, ABSENT,
     "Nov 31 22:42:07 host app: x"},
    {"<13>Foo 21 22:42:07 host app: x", OK, 1, 5, ABSENT, ABSENT, ABSENT, ABSENT,
     "Foo 21 22:42:07 host app: x"},
    {"<13>Nov 21 25:42:07 host app: x", OK, 1, 5, ABSENT, ABSENT, ABSENT, ABSENT,
     "Nov 21 25:42:07 host app: x"},
    {"<13>Nov 21 22:42:07x host app: x", OK, 1, 5, ABSENT, ABSENT, ABSENT, ABSENT,
     "Nov 21 22:42:07x host app: x"},
    {"<13>Nov 21 22:42", OK, 1, 5, ABSENT, ABSENT, ABSENT, ABSENT, "Nov 21 22:42"},
    {"<13>Nov 21 22:42:07.", OK, 1, 5, ABSENT, ABSENT, ABSENT, ABSENT, "Nov 21 22:42:07."},
    {"<13>1969 Nov 21 22:42:07 h a: x", OK, 1, 5, ABSENT, ABSENT, ABSENT, ABSENT,
     "1969 Nov 21 22:42:07 h a: x"},
    /* Headers that stop early. */
    {"<13>Nov 21 22:42:07", OK, 1, 5, "2026-11-21T22:42:07+00:00", ABSENT, ABSENT, ABSENT, ""},
    {"<13>Nov 21 22:42:07 host", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host", ABSENT, ABSENT, ""},
    {"<13>Nov 21 22:42:07 host ", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host", ABSENT, ABSENT,
     ""},
    /* TAGs that are not: too long, empty or unterminated PID, non-ASCII. */
    {"<13>Nov 21 22:42:07 host abcdefghijabcdefghijabcdefghijabcdefghijabcdefghi: x", OK, 1, 5,
     "2026-11-21T22:42:07+00:00", "host", ABSENT, ABSENT,
     "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghi: x"},
    {"<13>Nov 21 22:42:07 host abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh: x", OK, 1, 5,
     "2026-11-21T22:42:07+00:00", "host", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh",
     ABSENT, "x"},
    {"<13>Nov 21 22:42:07 host app[]: x", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host", ABSENT,
     ABSENT, "app[]: x"},
    {"<13>Nov 21 22:42:07 host app[12: x", OK, 1, 5, "2026-11-21T22:42:07+00:00", "host", ABSENT,
     ABSENT, "app[12: x"},
    {"<13>Nov 21 22:42:07 h\xc3\xb4st app: x", OK, 1, 5, "2026-11-21T22:42:07+00:00", ABSENT,
     ABSENT, ABSENT, "h\xc3\xb4st app: x"},
    {"<13>Nov 21 22:42:07 host \xff\xfe: invalid UTF-8", OK, 1, 5, "2026-11-21T22:42:07+00:00",
     "host", ABSENT, ABSENT, "\xff\xfe: invalid UTF-8"},
    /* Not ours. */
    {"<192>Nov 21 22:42:07 host app: x", NOT_MINE},
    {"<01>Nov 21 22:42:07 host app: x", NOT_MINE},
    {"<>x", NOT_MINE},
    {"plain text without a header", NOT_MINE},
    {"Nov 31 22:42:07 host app: x", NOT_MINE},
    {"", NOT_MINE},
};

static void check_slice(const sr_record_t *r, sr_slice_t s, const char *want, const char *what,
                        const char *in)
{
    if (want == NULL) {
        ck_assert_msg(!sr_slice_present(s), "%s: %s should be absent, is '%.*s'", in, what,
                      sr_slice_present(s) ? (int)s.len : 0,
                      sr_slice_present(s) ? sr_record_ptr(r, s) : "");
        return;
    }
    ck_assert_msg(sr_slice_present(s), "%s: %s absent, want '%s'", in, what, want);
    ck_assert_msg(s.off + s.len <= r->text_len, "%s: %s out of bounds", in, what);
    ck_assert_msg(s.len == strlen(want) && memcmp(sr_record_ptr(r, s), want, s.len) == 0,
                  "%s: %s is '%.*s', want '%s'", in, what, (int)s.len, sr_record_ptr(r, s), want);
}

START_TEST(test_fixtures)
{
    const case_t *c = &cases[_i];
    sr_tz_t *tz = NULL;
    sr_parse_ctx_t ctx;
    sr_record_t *r;
    const char *why = NULL;
    sr_parse_result_t got;
    char err[256];

    if (c->zone != NULL) {
        ck_assert_msg(sr_tz_load(c->zone, &tz, err, sizeof(err)) == 0, "%s", err);
    }
    ctx.tz = tz;
    ctx.now_us = c->now_us ? c->now_us : NOW_2026_11_21;
    r = sr_record_create(c->in, strlen(c->in));
    got = sr_parser_rfc3164.parse(r, &ctx, &why);
    ck_assert_msg(got == c->want, "%s: result %d, want %d", c->in, got, c->want);
    if (got == SR_PARSE_OK) {
        ck_assert_int_eq(r->format, SR_FORMAT_RFC3164);
        ck_assert_msg(r->facility == c->fac && r->severity == c->sev, "%s: %d.%d", c->in,
                      r->facility, r->severity);
        ck_assert_int_eq(r->version, -1);
        check_slice(r, r->timestamp, c->ts, "timestamp", c->in);
        check_slice(r, r->hostname, c->host, "hostname", c->in);
        check_slice(r, r->app_name, c->app, "app_name", c->in);
        check_slice(r, r->procid, c->proc, "procid", c->in);
        check_slice(r, r->msgid, NULL, "msgid", c->in);
        check_slice(r, r->message, c->msg, "message", c->in);
        ck_assert_uint_eq(r->n_sd_elems, 0);
        ck_assert_ptr_null(r->parse_error);
    } else {
        ck_assert_ptr_nonnull(why);
        ck_assert_int_eq(r->format, SR_FORMAT_RAW);
        ck_assert(r->message.off == r->raw.off && r->message.len == r->raw.len);
        ck_assert(!sr_slice_present(r->timestamp) && !sr_slice_present(r->app_name));
    }
    sr_record_release(r);

    /* The auto chain agrees: RFC 5424 declines every one of these. */
    r = sr_record_create(c->in, strlen(c->in));
    ck_assert_int_eq(sr_parse_record(r, SR_PARSE_AUTO, &ctx),
                     got == SR_PARSE_OK ? SR_FORMAT_RFC3164 : SR_FORMAT_RAW);
    if (got == SR_PARSE_OK) {
        check_slice(r, r->message, c->msg, "message (chain)", c->in);
    }
    sr_record_release(r);
    sr_tz_free(tz);
}
END_TEST

/* The parse_error texts of the two ways to decline. */
START_TEST(test_reasons)
{
    sr_parse_ctx_t ctx = {NOW_2026_11_21, NULL};
    sr_record_t *r;
    const char *why = NULL;

    r = sr_record_create("<999>x", 6);
    ck_assert_int_eq(sr_parser_rfc3164.parse(r, &ctx, &why), SR_PARSE_NOT_MINE);
    ck_assert_str_eq(why, "invalid PRI");
    sr_record_release(r);
    r = sr_record_create("hello", 5);
    ck_assert_int_eq(sr_parser_rfc3164.parse(r, &ctx, &why), SR_PARSE_NOT_MINE);
    ck_assert_str_eq(why, "no PRI");
    sr_record_release(r);
}
END_TEST

/* Embedded NULs are bytes of the message. */
START_TEST(test_embedded_nul)
{
    static const char in[] = "<13>Nov 21 22:42:07 host app[1]: a\0b\0c";
    sr_parse_ctx_t ctx = {NOW_2026_11_21, NULL};
    sr_record_t *r = sr_record_create(in, sizeof(in) - 1);
    const char *why = NULL;

    ck_assert_int_eq(sr_parser_rfc3164.parse(r, &ctx, &why), SR_PARSE_OK);
    ck_assert_uint_eq(r->message.len, 5);
    ck_assert(memcmp(sr_record_ptr(r, r->message), "a\0b\0c", 5) == 0);
    sr_record_release(r);
}
END_TEST

/* A 64 KiB message and a 64 KiB run of one word: linear, bounded, fine. */
START_TEST(test_long_input)
{
    size_t n = 65536, hdr;
    char *in = sr_malloc(n);
    sr_parse_ctx_t ctx = {NOW_2026_11_21, NULL};
    sr_record_t *r;
    const char *why = NULL;

    hdr = (size_t)snprintf(in, n, "<13>Nov 21 22:42:07 host app: ");
    memset(in + hdr, 'm', n - hdr);
    r = sr_record_create(in, n);
    ck_assert_int_eq(sr_parser_rfc3164.parse(r, &ctx, &why), SR_PARSE_OK);
    ck_assert_uint_eq(r->message.len, n - hdr);
    sr_record_release(r);

    hdr = (size_t)snprintf(in, n, "<13>Nov 21 22:42:07 ");
    memset(in + hdr, 'h', n - hdr); /* one word longer than any hostname */
    r = sr_record_create(in, n);
    ck_assert_int_eq(sr_parser_rfc3164.parse(r, &ctx, &why), SR_PARSE_OK);
    ck_assert(!sr_slice_present(r->hostname));
    ck_assert(!sr_slice_present(r->app_name));
    ck_assert_uint_eq(r->message.len, n - hdr);
    sr_record_release(r);
    free(in);
}
END_TEST

/* Every prefix of every fixture: no crash, no read past the end (ASan),
 * every slice within the text. */
START_TEST(test_prefixes)
{
    size_t c, len;
    sr_parse_ctx_t ctx = {NOW_2026_11_21, NULL};

    for (c = 0; c < SR_ARRAY_SIZE(cases); c++) {
        size_t n = strlen(cases[c].in);

        for (len = 0; len <= n; len++) {
            char *copy = sr_malloc(len ? len : 1);
            sr_record_t *r;
            const char *why = NULL;

            memcpy(copy, cases[c].in, len);
            r = sr_record_create(copy, len);
            if (sr_parser_rfc3164.parse(r, &ctx, &why) == SR_PARSE_OK) {
                sr_slice_t s[] = {r->timestamp, r->hostname, r->app_name, r->procid, r->message};
                size_t k;

                for (k = 0; k < SR_ARRAY_SIZE(s); k++) {
                    ck_assert(!sr_slice_present(s[k]) || s[k].off + s[k].len <= r->text_len);
                }
            }
            sr_record_release(r);
            free(copy);
        }
    }
}
END_TEST

static Suite *rfc3164_suite(void)
{
    Suite *s = suite_create("rfc3164");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_fixtures, 0, SR_ARRAY_SIZE(cases));
    tcase_add_test(tc, test_reasons);
    tcase_add_test(tc, test_embedded_nul);
    tcase_add_test(tc, test_long_input);
    tcase_add_test(tc, test_prefixes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rfc3164_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
