/*
 * registry.h — every actor this build holds, in start (dependency) order.
 *
 * The composition root: `lakehouse serve` and `lakehouse up` find actors
 * here by name and the docs generator walks it. Nothing in actors/ or
 * gateway/ reads it: the gateway knows its actors from its routes'
 * contracts.
 */
#ifndef LH_REGISTRY_H
#define LH_REGISTRY_H

#include <stddef.h>

#include "bus/actor.h"

/* Finds an actor by its service name ("embedd") or its domain ("embed"). */
const lh_actor_def *lh_registry_find(const char *name);
/* All actors, dependencies first; *n gets the count. */
const lh_actor_def *const *lh_registry_all(size_t *n);

#endif
