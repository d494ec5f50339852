/*
 * providers.c — providers.json read through a schema (as every message
 * is: unknown keys, wrong types and bounds refused, naming the field),
 * each entry checked (a name of its own, a known type, what the type
 * needs), then the environment's providers added.
 */
#include "lib/providers/providers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/json.h"
#include "bus/schema.h"

#define LH_PROVIDER_ENTRY(F, T)                                                             \
    F(T, name, STRING, .required = true, .min = 1, .max = LH_PROVIDER_NAME_MAX,             \
      .doc = "The `name/` of its models: letters, digits, `_` and `-`.")                    \
    F(T, type, STRING, .required = true, .choices = "openai|ollama|anthropic",              \
      .doc = "The wire format it speaks.")                                                  \
    F(T, url, STRING, .max = 1024, .doc = "Its base URL (ollama: required).")               \
    F(T, key, STRING, .max = 1024, .doc = "Its API key.")                                   \
    F(T, models, STRINGS, .max = 256, .doc = "Models it serves (for the record).")
LH_SCHEMA_DECLARE(lh_provider_entry, LH_PROVIDER_ENTRY)
LH_SCHEMA_DEFINE(lh_provider_entry, LH_PROVIDER_ENTRY, "One provider of providers.json.")

#define LH_PROVIDERS_FILE(F, T)                                                             \
    F(T, providers, OBJECTS, .required = true, .max = LH_PROVIDERS_MAX,                     \
      .sub = &lh_provider_entry_schema, .doc = "The named providers.")
LH_SCHEMA_DECLARE(lh_providers_file, LH_PROVIDERS_FILE)
LH_SCHEMA_DEFINE(lh_providers_file, LH_PROVIDERS_FILE, "providers.json.")

static char *lh_prov_dup(lh_str s)
{
    if (!s.s)
        return NULL;
    char *c = malloc(s.len + 1);
    if (!c)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    memcpy(c, s.s, s.len);
    c[s.len] = '\0';
    return c;
}

static bool lh_prov_name_ok(lh_str n)
{
    for (size_t i = 0; i < n.len; i++) {
        char c = n.s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return n.len > 0;
}

static const lh_provider_conf *lh_prov_find(const lh_provider_confs *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].name, name))
            return &c->v[i];
    return NULL;
}

static lh_err *lh_prov_add(lh_provider_confs *c, const lh_provider_entry *e, size_t i)
{
    char name[LH_PROVIDER_NAME_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)e->name.len, e->name.s);
    if (!lh_prov_name_ok(e->name))
        return lh_err_new(LH_EBADREQ, "name", "providers[%zu]: name '%s' may hold only letters, "
                          "digits, '_' and '-'", i, name);
    if (lh_prov_find(c, name))
        return lh_err_new(LH_EBADREQ, "name", "providers[%zu]: name '%s' is taken twice", i,
                          name);
    bool ollama = e->type.len == 6 && !memcmp(e->type.s, "ollama", 6);
    if (ollama && !e->url.s)
        return lh_err_new(LH_EBADREQ, "url", "providers[%zu]: an ollama provider needs its url",
                          i);
    lh_provider_conf *p = &c->v[c->n++];
    *p = (lh_provider_conf){.url = lh_prov_dup(e->url), .key = lh_prov_dup(e->key)};
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->type, sizeof p->type, "%.*s", (int)e->type.len, e->type.s);
    return NULL;
}

static lh_err *lh_prov_read_file(const char *path, lh_provider_confs *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? NULL
                               : lh_err_new(LH_EBADREQ, NULL, "cannot read %s: %s", path,
                                            strerror(errno));
    lh_buf json, mp;
    lh_buf_init(&json);
    lh_buf_init(&mp);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        lh_buf_append(&json, chunk, n);
    fclose(f);
    lh_arena *arena = lh_arena_create();
    lh_providers_file *file = NULL;
    lh_err *err = lh_json_to_msgpack(json.data ? json.data : "", json.len, &mp);
    if (!err)
        err = lh_schema_decode(&lh_providers_file_schema, mp.data, mp.len, arena, (void **)&file);
    const lh_provider_entry *e = err ? NULL : file->providers.v;
    for (size_t i = 0; !err && i < file->providers.n; i++)
        err = lh_prov_add(out, &e[i], i);
    lh_arena_destroy(arena);
    lh_buf_free(&json);
    lh_buf_free(&mp);
    return err ? lh_err_wrap(err, "%s", path) : NULL;
}

/* One provider of the environment, unless the file took its name. */
static void lh_prov_env(lh_provider_confs *c, const char *name, const char *url_var,
                        const char *key_var)
{
    const char *url = getenv(url_var), *key = key_var ? getenv(key_var) : NULL;
    bool has_url = url && *url, has_key = key && *key;
    if ((!has_url && !has_key) || lh_prov_find(c, name) || c->n == LH_PROVIDERS_MAX)
        return;
    lh_provider_conf *p = &c->v[c->n++];
    *p = (lh_provider_conf){0};
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->type, sizeof p->type, "%s", name);
    p->url = has_url ? strdup(url) : NULL;
    p->key = has_key ? strdup(key) : NULL;
    if ((has_url && !p->url) || (has_key && !p->key))
        abort();
}

lh_err *lh_providers_load(const char *data_dir, lh_provider_confs *out)
{
    memset(out, 0, sizeof *out);
    char path[1200];
    snprintf(path, sizeof path, "%s/providers.json", data_dir);
    lh_err *err = lh_prov_read_file(path, out);
    if (err) {
        lh_providers_free(out);
        return err;
    }
    lh_prov_env(out, "openai", "LH_OPENAI_BASE_URL", "LH_OPENAI_API_KEY");
    lh_prov_env(out, "ollama", "LH_OLLAMA_URL", NULL);
    lh_prov_env(out, "anthropic", "LH_ANTHROPIC_BASE_URL", "LH_ANTHROPIC_API_KEY");
    return NULL;
}

void lh_providers_free(lh_provider_confs *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].url);
        free(c->v[i].key);
    }
    memset(c, 0, sizeof *c);
}
