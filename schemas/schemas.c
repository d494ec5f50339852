/*
 * schemas.c — the one place the declarations of schemas/ are instantiated.
 * Each service header declares its messages (LH_MESSAGE) and contracts
 * (LH_SERVICE) once; with LH_SCHEMAS_INSTANTIATE defined before any
 * include, the same lines define the field tables and contracts here.
 * The service list below gives the lists of every contract.
 */
#define LH_SCHEMAS_INSTANTIATE 1

#include "schemas/catalog.h"
#include "schemas/chat.h"
#include "schemas/embed.h"
#include "schemas/ingest.h"
#include "schemas/matrix.h"
#include "schemas/observer.h"
#include "schemas/pathway.h"
#include "schemas/query.h"
#include "schemas/storage.h"
#include "schemas/vector.h"

#include <string.h>

/* Every service's contract lists, in the order the docs present them. */
#define LH_ALL_SERVICES(X)                                                                  \
    X(LH_STORAGE_ENDPOINTS, LH_STORAGE_EVENTS)                                              \
    X(LH_CATALOG_ENDPOINTS, LH_CATALOG_EVENTS)                                              \
    X(LH_EMBED_ENDPOINTS, LH_NO_EVENTS)                                                     \
    X(LH_VECTOR_ENDPOINTS, LH_VECTOR_EVENTS)                                                \
    X(LH_MATRIX_ENDPOINTS, LH_NO_EVENTS)                                                    \
    X(LH_CHAT_ENDPOINTS, LH_CHAT_EVENTS)                                                    \
    X(LH_INGEST_ENDPOINTS, LH_INGEST_EVENTS)                                                \
    X(LH_QUERY_ENDPOINTS, LH_QUERY_EVENTS)                                                  \
    X(LH_OBSERVER_ENDPOINTS, LH_NO_EVENTS)                                                  \
    X(LH_PATHWAY_ENDPOINTS, LH_PATHWAY_EVENTS)

#define LH__ENDPOINT_REFS(ENDPOINTS, EVENTS) ENDPOINTS(LH__EP_REF, _)
#define LH__EVENT_REFS(ENDPOINTS, EVENTS) EVENTS(LH__EV_REF, _)

static const lh_contract *const lh_contracts[] = {LH_ALL_SERVICES(LH__ENDPOINT_REFS)};
static const lh_event_contract *const lh_events[] = {LH_ALL_SERVICES(LH__EVENT_REFS)};

const lh_contract *const *lh_contracts_all(size_t *n)
{
    *n = sizeof lh_contracts / sizeof lh_contracts[0];
    return lh_contracts;
}

const lh_event_contract *const *lh_events_all(size_t *n)
{
    *n = sizeof lh_events / sizeof lh_events[0];
    return lh_events;
}

const lh_contract *lh_contract_find(const char *subject)
{
    for (size_t i = 0; i < sizeof lh_contracts / sizeof lh_contracts[0]; i++)
        if (!strcmp(lh_contracts[i]->subject, subject))
            return lh_contracts[i];
    return NULL;
}
