/*
 * matrix.h — matrixd, the stateless actor that answers matrix.retrieve:
 * hybrid retrieval across vector indexes, fused by rank.
 */
#ifndef LH_ACTOR_MATRIX_H
#define LH_ACTOR_MATRIX_H

#include "bus/actor.h"

extern const lh_actor_def lh_matrix_actor;

#endif
