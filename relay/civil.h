/*
 * civil.h: proleptic Gregorian calendar arithmetic, shared by the parsers,
 * the time-zone reader and the writers. Header-only and allocation-free.
 * The day-count conversions follow H. Hinnant's public-domain algorithms
 * (days_from_civil / civil_from_days), rewritten here.
 */
#ifndef SR_CIVIL_H
#define SR_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

static inline bool sr_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days in month m (1-12) of year y. */
static inline int sr_days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && sr_is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of y-m-d. */
static inline int64_t sr_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day count since 1970-01-01. */
static inline void sr_civil_from_days(int64_t z, int64_t *year, int *month, int *day)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

#endif
