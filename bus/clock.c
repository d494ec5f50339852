/*
 * clock.c — see clock.h.
 */
#include "bus/clock.h"

#include <assert.h>
#include <stdio.h>
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

void lh_clock_rfc3339(char *out, size_t cap, int digits)
{
    assert(digits == 0 || digits == 3 || digits == 6 || digits == 9);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    long frac = ts.tv_nsec;
    for (int d = 9; d > digits; d--)
        frac /= 10;
    if (digits)
        snprintf(out + n, cap - n, ".%0*ldZ", digits, frac);
    else
        snprintf(out + n, cap - n, "Z");
}
