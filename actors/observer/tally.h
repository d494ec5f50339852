/*
 * tally.h — observerd's counts of the log: a durable JetStream consumer
 * read by one thread, every event counted once per type (with a time
 * histogram when it says how long it took), the counts and the last
 * sequence counted kept together in LevelDB before the batch is
 * acknowledged (internal to actors/observer/).
 */
#ifndef LH_OBSERVER_TALLY_H
#define LH_OBSERVER_TALLY_H

#include "bus/actor.h"
#include "bus/err.h"
#include "schemas/observer.h"

typedef struct lh_obs_tally lh_obs_tally;

/* Opens the counts under `dir` and starts reading the log. */
lh_err *lh_obs_tally_start(lh_actor *a, const char *dir, lh_obs_tally **out);
/* Stops reading (what is counted is kept): while the connection is up. */
void lh_obs_tally_stop_reading(lh_obs_tally *t);
/* Stops reading if it still does, and frees. Accepts NULL. */
void lh_obs_tally_stop(lh_obs_tally *t);
/* The counts now, into rep (in arena); counted_seq and the types. */
void lh_obs_tally_read(lh_obs_tally *t, lh_arena *arena, lh_observer_stats_reply *rep);

#endif
