/*
 * clock.h — the one clock: monotonic time for durations and deadlines,
 * wall time for what people read (RFC 3339 in UTC), so every actor writes
 * timestamps the same way.
 */
#ifndef LH_CLOCK_H
#define LH_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic: for measuring and for deadlines, never for display. */
int64_t lh_clock_ns(void);
int64_t lh_clock_ms(void);
/* Wall clock, seconds since the epoch. */
int64_t lh_clock_unix_s(void);

/* Enough for "2024-06-01T12:00:00.123456789Z" and its NUL. */
#define LH_RFC3339_MAX 40

/* Now, in UTC, with `digits` (0, 3, 6 or 9) of fractional seconds:
 * "2024-06-01T12:00:00Z", "2024-06-01T12:00:00.123Z", ... */
void lh_clock_rfc3339(char *out, size_t cap, int digits);
/* The same for a time given as nanoseconds since the epoch. */
void lh_clock_format_rfc3339(int64_t unix_ns, char *out, size_t cap, int digits);

/* Reads an RFC 3339 time ("2024-06-01T12:00:00Z", with up to 9 fraction
 * digits, `Z` or a `+hh:mm`/`-hh:mm` offset; `t` or a space for `T`) as
 * nanoseconds since the epoch; false for anything else, and for times
 * nanoseconds in 64 bits cannot hold (before 1678, after 2262). */
bool lh_clock_parse_rfc3339(const char *s, size_t len, int64_t *unix_ns);

#endif
