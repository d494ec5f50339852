/*
 * pathway.h — pathwayd, the actor that keeps the lineage graph
 * (`pathway.*`).
 */
#ifndef LH_ACTOR_PATHWAY_H
#define LH_ACTOR_PATHWAY_H

#include "bus/actor.h"

extern const lh_actor_def lh_pathway_actor;

#endif
