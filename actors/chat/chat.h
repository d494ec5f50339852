/*
 * chat.h — chatd, the actor that answers conversations (`chat.*`).
 */
#ifndef LH_ACTOR_CHAT_H
#define LH_ACTOR_CHAT_H

#include "bus/actor.h"

extern const lh_actor_def lh_chat_actor;

#endif
