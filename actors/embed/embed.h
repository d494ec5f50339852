/*
 * embed.h — embedd, the actor that turns texts into vectors (`embed.*`).
 */
#ifndef LH_ACTOR_EMBED_H
#define LH_ACTOR_EMBED_H

#include "bus/actor.h"

extern const lh_actor_def lh_embed_actor;

#endif
