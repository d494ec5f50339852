/*
 * retrieve.h — one matrix.retrieve in flight: its searches fanned out on
 * the mux at once (a corpus x a mode each), the answers gathered as they
 * come, and the fused reply sent by whichever answer arrives last, so no
 * thread waits for the bus.
 */
#ifndef LH_MATRIX_RETRIEVE_H
#define LH_MATRIX_RETRIEVE_H

#include <stdbool.h>

#include "actors/matrix/fuse.h"
#include "bus/actor.h"
#include "bus/mux.h"
#include "schemas/matrix.h"

/* What the handler decided from the request: which rankings to ask for,
 * how many candidates each, and how to fuse them. */
typedef struct lh_mx_plan {
    bool ask[LH_MX_KINDS];
    int64_t candidates;
    int64_t shown; /* no hit ranked below this in every ranking can be among the k */
    int timeout_ms;
    const char *mode;
    lh_mx_fusion fusion; /* corpora: the request's */
} lh_mx_plan;

/* Takes over the reply of the request being handled (lh_ctx_defer) and
 * sends every search; the reply follows from the last answer's thread.
 * The handler returns NULL after it. */
void lh_mx_retrieve_start(lh_ctx *ctx, lh_mux *mux, const lh_matrix_retrieve_request *req,
                          const lh_mx_plan *plan);

#endif
