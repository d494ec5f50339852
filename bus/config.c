/*
 * config.c — environment-driven settings with embedded defaults.
 */
#include "bus/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/log.h"

int64_t lh_config_env_int(const char *name, int64_t def, int64_t min, int64_t max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*end || errno || n < min || n > max) {
        lh_warn("ignoring %s=%s (expected a whole number in %" PRId64 "..%" PRId64 ")", name, v,
                min, max);
        return def;
    }
    return n;
}

static int lh_env_int(const char *name, int def, int min, int max)
{
    return (int)lh_config_env_int(name, def, min, max);
}

static void lh_env_str(char *out, size_t cap, const char *name, const char *def)
{
    const char *v = getenv(name);
    snprintf(out, cap, "%s", v && *v ? v : def);
}

void lh_config_default_data_dir(char *out, unsigned long cap)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, cap, "%s/lakehouse", xdg);
    else if (home && *home)
        snprintf(out, cap, "%s/.local/share/lakehouse", home);
    else
        snprintf(out, cap, "/tmp/lakehouse");
}

void lh_config_load(lh_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    lh_env_str(cfg->nats_url, sizeof cfg->nats_url, "LH_NATS_URL", "nats://127.0.0.1:4222");
    char def_dir[1024];
    lh_config_default_data_dir(def_dir, sizeof def_dir);
    lh_env_str(cfg->data_dir, sizeof cfg->data_dir, "LH_DATA_DIR", def_dir);
    lh_env_str(cfg->http_addr, sizeof cfg->http_addr, "LH_HTTP_ADDR", "127.0.0.1");
    cfg->http_port = lh_env_int("LH_HTTP_PORT", 8080, 1, 65535);
    cfg->workers = lh_env_int("LH_WORKERS", 1, 1, 256);
    cfg->request_timeout_ms = lh_env_int("LH_REQUEST_TIMEOUT_MS", 30000, 1, 3600000);
    char events[8];
    lh_env_str(events, sizeof events, "LH_EVENTS", "on");
    cfg->events = strcmp(events, "off") != 0;
}
