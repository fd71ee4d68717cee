/*
 * check_tz.c: unit tests for relay/tz.c (fixed offsets, TZif zones, DST
 * gaps and overlaps, rule expansion past the file's last transition, and
 * names that must be refused).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "relay/tz.h"
#include "relay/common.h"

/* Local wall-clock seconds "as if UTC" for a civil date and time. */
static int64_t local_secs(int y, int mo, int d, int h, int mi, int s)
{
    int64_t era, yoe, doy, doe, yy = y - (mo <= 2);

    era = (yy >= 0 ? yy : yy - 399) / 400;
    yoe = yy - era * 400;
    doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s;
}

static sr_tz_t *load_ok(const char *name)
{
    sr_tz_t *tz = NULL;
    char err[256] = "";
    int rc = sr_tz_load(name, &tz, err, sizeof(err));

    ck_assert_msg(rc == 0, "loading %s: %s", name, err);
    ck_assert_ptr_nonnull(tz);
    ck_assert_str_eq(sr_tz_name(tz), name);
    return tz;
}

typedef struct offset_case_s {
    const char *zone;
    int y, mo, d, h, mi;
    int32_t want;
} offset_case_t;

static const offset_case_t offset_cases[] = {
    /* Europe/Berlin: winter, summer, and both transitions of 2026. */
    {"Europe/Berlin", 2026, 1, 15, 12, 0, 3600},
    {"Europe/Berlin", 2026, 7, 1, 12, 0, 7200},
    {"Europe/Berlin", 2026, 3, 29, 1, 59, 3600},
    {"Europe/Berlin", 2026, 3, 29, 2, 30, 3600}, /* gap: the offset before */
    {"Europe/Berlin", 2026, 3, 29, 3, 0, 7200},
    {"Europe/Berlin", 2026, 10, 25, 1, 59, 7200},
    {"Europe/Berlin", 2026, 10, 25, 2, 30, 7200}, /* overlap: the first one */
    {"Europe/Berlin", 2026, 10, 25, 3, 0, 3600},
    {"Europe/Berlin", 1975, 7, 1, 12, 0, 3600}, /* no DST in 1975 */
    {"Europe/Berlin", 2150, 7, 1, 12, 0, 7200}, /* past the file: the rule */
    {"Europe/Berlin", 2150, 12, 1, 12, 0, 3600},
    /* America/New_York */
    {"America/New_York", 2026, 1, 1, 0, 0, -18000},
    {"America/New_York", 2026, 7, 4, 12, 0, -14400},
    {"America/New_York", 2026, 3, 8, 2, 30, -18000},  /* gap */
    {"America/New_York", 2026, 11, 1, 1, 30, -14400}, /* overlap */
    {"America/New_York", 2026, 11, 1, 2, 0, -18000},
    /* Southern hemisphere: DST spans the new year. */
    {"Australia/Sydney", 2026, 1, 15, 12, 0, 39600},
    {"Australia/Sydney", 2026, 7, 1, 12, 0, 36000},
    {"Australia/Sydney", 2180, 1, 15, 12, 0, 39600},
    {"Australia/Sydney", 2180, 7, 1, 12, 0, 36000},
    /* No DST at all. */
    {"Asia/Kolkata", 2026, 7, 1, 12, 0, 19800},
    {"Etc/UTC", 2026, 7, 1, 12, 0, 0},
    /* Fixed offsets. */
    {"UTC", 2026, 7, 1, 12, 0, 0},
    {"Z", 2026, 7, 1, 12, 0, 0},
    {"+05:30", 2026, 7, 1, 12, 0, 19800},
    {"-03:00", 2026, 1, 1, 0, 0, -10800},
    {"+00:00", 2026, 1, 1, 0, 0, 0},
    {"-23:59", 2026, 1, 1, 0, 0, -(23 * 3600 + 59 * 60)},
};

START_TEST(test_offsets)
{
    const offset_case_t *c = &offset_cases[_i];
    sr_tz_t *tz = load_ok(c->zone);
    int32_t got = sr_tz_offset_for_local(tz, local_secs(c->y, c->mo, c->d, c->h, c->mi, 0));

    ck_assert_msg(got == c->want, "%s %04d-%02d-%02d %02d:%02d: offset %d, want %d", c->zone, c->y,
                  c->mo, c->d, c->h, c->mi, got, c->want);
    sr_tz_free(tz);
}
END_TEST

START_TEST(test_null_is_utc)
{
    ck_assert_int_eq(sr_tz_offset_for_local(NULL, local_secs(2026, 7, 1, 0, 0, 0)), 0);
    ck_assert_str_eq(sr_tz_name(NULL), "UTC");
    sr_tz_free(NULL);
}
END_TEST

static const char *const bad_names[] = {
    "Mars/Base",
    "../../etc/passwd",
    "Europe/../../etc/passwd",
    "/etc/localtime",
    "",
    "+25:00",
    "+5:30",
    "+05:60",
    "05:00",
    "Europe/Berlin ",
    "Europe\\Berlin",
    "Europe/Berlin\n",
    "+05:30:00",
    "Europe",
    "UTC+1",
};

START_TEST(test_bad_names)
{
    sr_tz_t *tz = (sr_tz_t *)1;
    char err[256] = "";
    int rc = sr_tz_load(bad_names[_i], &tz, err, sizeof(err));

    ck_assert_msg(rc < 0, "'%s' was accepted", bad_names[_i]);
    ck_assert_ptr_null(tz);
    ck_assert_msg(strlen(err) > 0, "no message for '%s'", bad_names[_i]);
}
END_TEST

static char tzdir[] = "/tmp/check_tz.XXXXXX";

static void write_file(const char *name, const void *p, size_t n)
{
    char *path = sr_asprintf("%s/%s", tzdir, name);
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
    free(path);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A version 1 file, no footer: +01:00 until 2000-01-01T00:00Z, then +03:00. */
START_TEST(test_tzif_v1_and_broken_files)
{
    unsigned char f[44 + 4 + 1 + 12 + 8];
    sr_tz_t *tz = NULL;
    char err[256] = "";
    size_t len = sizeof(f);

    ck_assert_ptr_nonnull(mkdtemp(tzdir));
    setenv("TZDIR", tzdir, 1);
    memset(f, 0, sizeof(f));
    memcpy(f, "TZif", 4);
    put32(f + 32, 1); /* timecnt */
    put32(f + 36, 2); /* typecnt */
    put32(f + 40, 8); /* charcnt */
    put32(f + 44, 946684800);
    f[48] = 1; /* the transition goes to type 1 */
    put32(f + 49, 3600);
    put32(f + 55, 10800);
    f[59] = 0;
    memcpy(f + 61, "AAA\0BBB", 8);
    write_file("Test_v1", f, len);
    ck_assert_int_eq(sr_tz_load("Test_v1", &tz, err, sizeof(err)), 0);
    ck_assert_int_eq(sr_tz_offset_for_local(tz, local_secs(1999, 12, 31, 12, 0, 0)), 3600);
    /* Local 2000-01-01 02:00 is a gap (+01:00 jumps to +03:00): before. */
    ck_assert_int_eq(sr_tz_offset_for_local(tz, local_secs(2000, 1, 1, 2, 0, 0)), 3600);
    ck_assert_int_eq(sr_tz_offset_for_local(tz, local_secs(2000, 1, 1, 3, 0, 0)), 10800);
    ck_assert_int_eq(sr_tz_offset_for_local(tz, local_secs(2100, 1, 1, 0, 0, 0)), 10800);
    sr_tz_free(tz);

    /* Truncated at every length: refused, never read past the end. */
    for (len = 0; len < sizeof(f); len++) {
        write_file("Test_short", f, len);
        tz = (sr_tz_t *)1;
        ck_assert_msg(sr_tz_load("Test_short", &tz, err, sizeof(err)) < 0, "length %zu", len);
        ck_assert_ptr_null(tz);
    }
    /* A transition index out of range. */
    f[48] = 7;
    write_file("Test_badidx", f, sizeof(f));
    ck_assert_int_lt(sr_tz_load("Test_badidx", &tz, err, sizeof(err)), 0);
    write_file("Test_text", "not a zone\n", 11);
    ck_assert_int_lt(sr_tz_load("Test_text", &tz, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "TZif"));
    /* A missing zone names itself. */
    ck_assert_int_lt(sr_tz_load("Nowhere/Land", &tz, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "Nowhere/Land"));
    unsetenv("TZDIR");
    {
        char *cmd = sr_asprintf("rm -rf '%s'", tzdir);
        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
    }
}
END_TEST

static Suite *tz_suite(void)
{
    Suite *s = suite_create("tz");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_offsets, 0, SR_ARRAY_SIZE(offset_cases));
    tcase_add_test(tc, test_null_is_utc);
    tcase_add_loop_test(tc, test_bad_names, 0, SR_ARRAY_SIZE(bad_names));
    tcase_add_test(tc, test_tzif_v1_and_broken_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tz_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
