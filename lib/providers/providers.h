/*
 * providers.h — which model providers a stack talks to: the named ones of
 * $LH_DATA_DIR/providers.json, then the ones the environment configures
 * (LH_OPENAI_BASE_URL / LH_OPENAI_API_KEY, LH_OLLAMA_URL,
 * LH_ANTHROPIC_BASE_URL / LH_ANTHROPIC_API_KEY) under the names `openai`,
 * `ollama` and `anthropic`. Several OpenAI-compatible servers (a local
 * vLLM, OpenRouter, Groq) then sit side by side, each a name of its own:
 *
 *   {"providers": [
 *     {"name": "groq", "type": "openai", "url": "https://api.groq.com/openai/v1",
 *      "key": "gsk_..."},
 *     {"name": "local", "type": "ollama", "url": "http://127.0.0.1:11434"}]}
 *
 * chatd and embedd read the same list; a model is `<name>/<model>`.
 */
#ifndef LH_LIB_PROVIDERS_H
#define LH_LIB_PROVIDERS_H

#include <stddef.h>

#include "bus/err.h"

#define LH_PROVIDERS_MAX 16
#define LH_PROVIDER_NAME_MAX 32

typedef struct lh_provider_conf {
    char name[LH_PROVIDER_NAME_MAX + 1];
    char type[16]; /* openai | ollama | anthropic */
    char *url;     /* the base URL, NULL for the type's default */
    char *key;     /* NULL when none */
} lh_provider_conf;

typedef struct lh_provider_confs {
    lh_provider_conf v[LH_PROVIDERS_MAX];
    size_t n;
} lh_provider_confs;

/* The file's providers (none when there is no file), then the
 * environment's under names the file has not taken. A bad file is a 400
 * naming it and the entry. */
lh_err *lh_providers_load(const char *data_dir, lh_provider_confs *out);
void lh_providers_free(lh_provider_confs *c);

#endif
