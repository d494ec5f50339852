/*
 * config.h — settings every process reads from the environment, with the
 * embedded defaults that make `lakehouse up` work with no configuration.
 *
 *   LH_NATS_URL   bus address            (default nats://127.0.0.1:4222)
 *   LH_DATA_DIR   state root             (default $XDG_DATA_HOME/lakehouse or
 *                                          ~/.local/share/lakehouse)
 *   LH_HTTP_ADDR  gateway listen address (default 127.0.0.1)
 *   LH_HTTP_PORT  gateway port           (default 8080)
 *   LH_WORKERS    subscribers per endpoint (default 1; --workers overrides)
 *   LH_REQUEST_TIMEOUT_MS  bus request deadline for gateway and actor calls
 *                          (default 30000)
 */
#ifndef LH_CONFIG_H
#define LH_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct lh_config {
    char nats_url[512];
    char data_dir[1024];
    char http_addr[64];
    int http_port;
    int workers;
    int request_timeout_ms;
    bool events; /* LH_EVENTS: tell the log (on), or nothing at all (off) */
} lh_config;

/* Fills cfg from defaults and the environment. */
void lh_config_load(lh_config *cfg);

/* An integer setting from the environment: `def` when unset or empty; a
 * value that is not a whole number in [min, max] is ignored with a
 * warning naming the range, and `def` used. Every actor's own settings
 * (LH_QUERY_THREADS, LH_HTTP_MAX_BODY, ...) are read with it. */
int64_t lh_config_env_int(const char *name, int64_t def, int64_t min, int64_t max);
/* The default data directory (without looking at LH_DATA_DIR). */
void lh_config_default_data_dir(char *out, unsigned long cap);

#endif
