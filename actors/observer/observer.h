/*
 * observer.h — observerd, the actor that reads the platform's log back
 * (`observer.*`).
 */
#ifndef LH_ACTOR_OBSERVER_H
#define LH_ACTOR_OBSERVER_H

#include "bus/actor.h"

extern const lh_actor_def lh_observer_actor;

#endif
