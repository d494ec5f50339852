/*
 * log.c — timestamped single-line logs. Each line is formatted into one
 * buffer and written with one write(2) so lines from concurrent workers
 * never interleave.
 */
#include "bus/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bus/clock.h"

static lh_log_level lh_log_min = LH_LOG_INFO;
static char lh_log_process[32] = "lakehouse";
static _Thread_local char lh_log_actor[32];
static _Thread_local char lh_log_rid[64];

void lh_log_init(const char *process_name)
{
    if (process_name)
        snprintf(lh_log_process, sizeof lh_log_process, "%s", process_name);
    const char *lvl = getenv("LH_LOG_LEVEL");
    if (!lvl)
        return;
    if (!strcasecmp(lvl, "debug"))
        lh_log_min = LH_LOG_DEBUG;
    else if (!strcasecmp(lvl, "warn"))
        lh_log_min = LH_LOG_WARN;
    else if (!strcasecmp(lvl, "error"))
        lh_log_min = LH_LOG_ERROR;
}

void lh_log_set_level(lh_log_level level) { lh_log_min = level; }

void lh_log_set_actor(const char *actor)
{
    snprintf(lh_log_actor, sizeof lh_log_actor, "%s", actor ? actor : "");
}

void lh_log_set_request_id(const char *rid)
{
    snprintf(lh_log_rid, sizeof lh_log_rid, "%s", rid ? rid : "");
}

const char *lh_log_request_id(void) { return lh_log_rid[0] ? lh_log_rid : NULL; }

void lh_log(lh_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < lh_log_min)
        return;
    char line[2048], now[LH_RFC3339_MAX];
    lh_clock_rfc3339(now, sizeof now, 3);
    int n = snprintf(line, sizeof line, "%s %-5s %s", now, names[level],
                     lh_log_actor[0] ? lh_log_actor : lh_log_process);
    if (lh_log_rid[0] && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " rid=%s", lh_log_rid);
    if (n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " ");
    va_list ap;
    va_start(ap, fmt);
    if (n < (int)sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
