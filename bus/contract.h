/*
 * contract.h — endpoints and events, each declared once as data.
 *
 * A contract pairs a subject with the schemas of what travels on it. An
 * endpoint contract names its service (the ADR-32 service, which is the
 * daemon name: "vectord"), its ADR-32 endpoint name, its subject, its
 * request and reply schemas and a one-line doc. An event contract names
 * its service, its event name (the subject is events.<service>.<event>),
 * its payload schema and a doc. Everything that speaks on the bus binds
 * to a contract: an actor's endpoint table binds a handler to one,
 * lh_call and lh_mux_call take one, a gateway route names one, the event
 * publisher takes one; the API reference and OpenAPI are generated from
 * them. So a subject string or a schema pairing is written exactly once.
 *
 * A service header in schemas/ lists its contracts with two list macros
 * and hands them to LH_SERVICE:
 *
 *   #define LH_FOO_ENDPOINTS(E, S) \
 *       E(S, foo_get, "get", "foo.get", lh_foo_get_request, lh_foo_item, "Read one.")
 *   #define LH_FOO_EVENTS(V, S) \
 *       V(S, foo_changed, "changed", lh_foo_item, "An item changed.")
 *   LH_SERVICE("food", LH_FOO_ENDPOINTS, LH_FOO_EVENTS)
 *
 * which declares `lh_ep_foo_get` and `lh_ev_foo_changed` (and, in
 * schemas/schemas.c, defines them). schemas.c also lists every service
 * once, which gives lh_contracts_all() and lh_events_all().
 */
#ifndef LH_CONTRACT_H
#define LH_CONTRACT_H

#include <stddef.h>

#include "bus/schema.h"

typedef struct lh_contract {
    const char *service;      /* "vectord" */
    const char *name;         /* ADR-32 endpoint name: "search" */
    const char *subject;      /* <domain>.<verb>, e.g. vector.search */
    const lh_schema *request;
    const lh_schema *reply;
    const char *doc;
} lh_contract;

typedef struct lh_event_contract {
    const char *service;      /* "vectord" */
    const char *name;         /* "upserted" */
    const char *subject;      /* events.<service>.<name> */
    const lh_schema *schema;  /* the payload */
    const char *doc;
} lh_event_contract;

#define LH__EP_DECLARE(S, ID, NAME, SUBJECT, REQ, REP, DOC) extern const lh_contract lh_ep_##ID;
#define LH__EV_DECLARE(S, ID, NAME, SCHEMA, DOC) extern const lh_event_contract lh_ev_##ID;
#define LH__EP_DEFINE(S, ID, NAME, SUBJECT, REQ, REP, DOC) \
    const lh_contract lh_ep_##ID = {S, NAME, SUBJECT, &REQ##_schema, &REP##_schema, DOC};
#define LH__EV_DEFINE(S, ID, NAME, SCHEMA, DOC) \
    const lh_event_contract lh_ev_##ID = {S, NAME, "events." S "." NAME, &SCHEMA##_schema, DOC};
#define LH__EP_REF(S, ID, ...) &lh_ep_##ID,
#define LH__EV_REF(S, ID, ...) &lh_ev_##ID,

#ifdef LH_SCHEMAS_INSTANTIATE
#define LH_SERVICE(S, ENDPOINTS, EVENTS) \
    ENDPOINTS(LH__EP_DECLARE, S) EVENTS(LH__EV_DECLARE, S) \
    ENDPOINTS(LH__EP_DEFINE, S) EVENTS(LH__EV_DEFINE, S)
#else
#define LH_SERVICE(S, ENDPOINTS, EVENTS) ENDPOINTS(LH__EP_DECLARE, S) EVENTS(LH__EV_DECLARE, S)
#endif

/* An empty contract list, for a service without events. */
#define LH_NO_EVENTS(V, S)

/* Every endpoint and event contract of every service, in service order. */
const lh_contract *const *lh_contracts_all(size_t *n);
const lh_event_contract *const *lh_events_all(size_t *n);
/* The contract of a subject, or NULL. */
const lh_contract *lh_contract_find(const char *subject);

#endif
