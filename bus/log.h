/*
 * log.h — one line per event, to stderr, with the actor name and the
 * request id of the request being served on this thread (if any), so
 * `grep rid=<id>` follows one request through every actor's log.
 */
#ifndef LH_LOG_H
#define LH_LOG_H

typedef enum { LH_LOG_DEBUG, LH_LOG_INFO, LH_LOG_WARN, LH_LOG_ERROR } lh_log_level;

/* Process-wide settings; LH_LOG_LEVEL=debug|info|warn|error overrides. */
void lh_log_init(const char *process_name);
void lh_log_set_level(lh_log_level level);

/* Per-thread context, set by the runtime around each request. */
void lh_log_set_actor(const char *actor);   /* NULL clears */
void lh_log_set_request_id(const char *rid); /* NULL clears */
const char *lh_log_request_id(void);

void lh_log(lh_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lh_debug(...) lh_log(LH_LOG_DEBUG, __VA_ARGS__)
#define lh_info(...) lh_log(LH_LOG_INFO, __VA_ARGS__)
#define lh_warn(...) lh_log(LH_LOG_WARN, __VA_ARGS__)
#define lh_error(...) lh_log(LH_LOG_ERROR, __VA_ARGS__)

#endif
