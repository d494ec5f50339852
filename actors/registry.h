/*
 * registry.h — every actor this build holds, in start (dependency) order.
 *
 * `lakehouse serve` and `lakehouse up` find actors here by name; the
 * gateway reads it to know which actors it fronts (health) and which
 * schemas its routes carry (OpenAPI); the docs generator walks it.
 */
#ifndef LH_REGISTRY_H
#define LH_REGISTRY_H

#include <stddef.h>

#include "bus/actor.h"

/* Finds an actor by its service name ("embedd") or its domain ("embed"). */
const lh_actor_def *lh_registry_find(const char *name);
/* All actors, dependencies first; *n gets the count. */
const lh_actor_def *const *lh_registry_all(size_t *n);
/* The endpoint serving `subject` and its actor, or NULL. */
const lh_endpoint_def *lh_registry_endpoint(const char *subject, const lh_actor_def **actor);

#endif
