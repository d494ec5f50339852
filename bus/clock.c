/*
 * clock.c — see clock.h.
 */
#include "bus/clock.h"

#include <assert.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static int64_t lh_clock_read(clockid_t id, int64_t unit_ns)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec) / unit_ns;
}

int64_t lh_clock_ns(void) { return lh_clock_read(CLOCK_MONOTONIC, 1); }
int64_t lh_clock_ms(void) { return lh_clock_read(CLOCK_MONOTONIC, 1000000); }
int64_t lh_clock_unix_s(void) { return (int64_t)time(NULL); }

void lh_clock_format_rfc3339(int64_t unix_ns, char *out, size_t cap, int digits)
{
    assert(digits == 0 || digits == 3 || digits == 6 || digits == 9);
    time_t sec = (time_t)(unix_ns / 1000000000);
    long frac = (long)(unix_ns % 1000000000);
    if (frac < 0) { /* before 1970: the fraction counts up from the second before */
        sec--;
        frac += 1000000000;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    for (int d = 9; d > digits; d--)
        frac /= 10;
    if (digits)
        snprintf(out + n, cap - n, ".%0*ldZ", digits, frac);
    else
        snprintf(out + n, cap - n, "Z");
}

void lh_clock_rfc3339(char *out, size_t cap, int digits)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lh_clock_format_rfc3339((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, out, cap, digits);
}

/* n digits at s as a number; false if any is not a digit. */
static bool lh_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int64_t lh_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool lh_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool lh_clock_parse_rfc3339(const char *s, size_t len, int64_t *unix_ns)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec;
    if (len < 20 || s[4] != '-' || s[7] != '-' || !strchr("Tt ", s[10]) || s[13] != ':' ||
        s[16] != ':' || !lh_digits(s, 4, &y) || !lh_digits(s + 5, 2, &mo) ||
        !lh_digits(s + 8, 2, &d) || !lh_digits(s + 11, 2, &h) || !lh_digits(s + 14, 2, &mi) ||
        !lh_digits(s + 17, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && lh_leap(y)) || h > 23 ||
        mi > 59 || sec > 60)
        return false;
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        int n = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
            if (n < 9)
                frac = frac * 10 + (s[i] - '0');
        if (n == 0)
            return false;
        for (; n < 9; n++)
            frac *= 10;
    }
    int64_t offset_s = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!lh_digits(s + i + 1, 2, &oh) || !lh_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_s = (s[i] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        i += 6;
    }
    if (i != len)
        return false;
    int64_t secs = lh_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    if (secs >= INT64_MAX / 1000000000 || secs <= INT64_MIN / 1000000000)
        return false; /* past what nanoseconds in 64 bits hold (1678 to 2262) */
    *unix_ns = secs * 1000000000 + frac;
    return true;
}
