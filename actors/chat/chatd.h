/*
 * chatd.h — how chatd's parts meet (internal to actors/chat/): its state,
 * the plan of models for one request, and one request being answered on
 * its own thread.
 *
 *   chat_actor.c  the endpoints, the checks, the jobs that answer, the providers
 *   answer.c      grounding in passages, each model in turn, the streaming sink
 */
#ifndef LH_CHATD_H
#define LH_CHATD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "actors/chat/provider.h"
#include "bus/actor.h"

#define LH_CHAT_MAX_PROVIDERS LH_PROVIDERS_MAX

/* How a provider has been doing, for chat.providers. */
typedef struct lh_chat_health {
    int64_t requests, errors;
    double last_ms; /* < 0: none yet */
    char last_error[256];
} lh_chat_health;

typedef struct lh_chat_state {
    lh_chat_provider *extractive;
    lh_chat_provider *network[LH_CHAT_MAX_PROVIDERS]; /* the configured ones */
    size_t n_network;
    pthread_mutex_t lock; /* health, and the jobs below */
    lh_chat_health health[LH_CHAT_MAX_PROVIDERS + 1]; /* [0] extractive, then network */
    char configured[LH_PROVIDERS_MAX * (LH_PROVIDER_NAME_MAX + 2) + 16]; /* for errors */
    char default_model[LH_CHAT_MAX_MODEL_BYTES + 1];
    /* Requests being answered, each on its own thread: a stream holds its
     * thread for as long as the model talks, so the bus's never wait. */
    int active;
    atomic_bool stopping; /* every job stops at its next piece or check */
    pthread_cond_t idle; /* active fell to 0 */
} lh_chat_state;

/* The model and its fallbacks, each resolved before anything starts, so
 * an unknown one is a 404 with nothing asked upstream. */
typedef struct lh_chat_plan {
    lh_chat_provider *provider[1 + LH_CHAT_MAX_FALLBACKS];
    lh_str model[1 + LH_CHAT_MAX_FALLBACKS]; /* the provider's own names */
    size_t n;
    int64_t deadline; /* lh_clock_ms: an answer before the caller's own deadline */
} lh_chat_plan;

/* One request being answered, on its thread. */
typedef struct lh_chat_run {
    lh_chat_state *st;
    lh_actor *actor;
    lh_arena *arena;
    lh_deferred *reply;
} lh_chat_run;

/* How a provider's health slot is found, for chat.providers. */
lh_chat_health *lh_chat_health_of(lh_chat_state *st, const lh_chat_provider *p);

/* Asks each model of the plan in turn until one answers, grounding the
 * prompt in passages first when a model needs them; streams into the
 * prompt's sink when it has one. */
lh_err *lh_chat_answer(lh_chat_run *run, const lh_chat_plan *plan, lh_chat_prompt *prompt,
                       lh_chat_complete_reply *rep);

/* The sink that streams a run's pieces as chat chunks on the bus. */
typedef struct lh_chat_streamer {
    lh_chat_sink sink; /* first: the prompt's sink is the streamer */
    lh_chat_run *run;
    lh_str model;      /* the attempt's full name */
} lh_chat_streamer;

void lh_chat_streamer_init(lh_chat_streamer *s, lh_chat_run *run);

#endif
