/*
 * registry.c — the table of actors. Adding an actor to the system is one
 * line here (in dependency order: an actor comes after those it calls).
 */
#include "ops/registry.h"

#include <string.h>

#include "actors/catalog/catalog.h"
#include "actors/chat/chat.h"
#include "actors/embed/embed.h"
#include "actors/ingest/ingest.h"
#include "actors/matrix/matrix.h"
#include "actors/observer/observer.h"
#include "actors/pathway/pathway.h"
#include "actors/query/query.h"
#include "actors/storage/storage.h"
#include "actors/vector/vector.h"
#include "gateway/gateway.h"

static const lh_actor_def *const lh_actors[] = {
    &lh_storage_actor, /* first: it calls no one */
    &lh_catalog_actor,
    &lh_embed_actor,
    &lh_vector_actor, /* calls embedd for text queries */
    &lh_matrix_actor, /* calls vectord */
    &lh_chat_actor,   /* calls matrixd and vectord */
    &lh_ingest_actor, /* calls storaged, catalogd, embedd and vectord */
    &lh_query_actor,  /* calls storaged and catalogd */
    &lh_observer_actor, /* reads the log */
    &lh_pathway_actor,  /* makes the log into lineage */
    &lh_gateway_actor, /* last: it fronts all the others */
};

#define LH_N_ACTORS (sizeof lh_actors / sizeof lh_actors[0])

/* "embedd" is served by domain "embed": the name minus its trailing 'd'. */
static int lh_matches_domain(const char *actor, const char *name)
{
    size_t n = strlen(actor);
    return n > 1 && actor[n - 1] == 'd' && strlen(name) == n - 1 && !strncmp(actor, name, n - 1);
}

const lh_actor_def *lh_registry_find(const char *name)
{
    for (size_t i = 0; i < LH_N_ACTORS; i++)
        if (!strcmp(lh_actors[i]->name, name) || lh_matches_domain(lh_actors[i]->name, name))
            return lh_actors[i];
    return NULL;
}

const lh_actor_def *const *lh_registry_all(size_t *n)
{
    *n = LH_N_ACTORS;
    return lh_actors;
}
