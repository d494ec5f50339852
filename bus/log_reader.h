/*
 * log_reader.h — an actor's durable reader of the platform's log (the
 * JetStream stream EVENTS): one thread fetching batches through a durable
 * pull consumer and handing them, in order, to the actor's apply
 * function, which keeps what it made of them before the batch is
 * acknowledged.
 *
 * Keeping is grouped: what arrives within LH_LOG_READER_KEEP_MS of the
 * first message not yet kept (or a batch's worth) is kept with one call
 * of keep (one synced write, for the owners here) and acknowledged
 * together, so a trickle of events costs a sync per 100 ms, not one per
 * event beside the request that told it.
 *
 * The reader's owner keeps the last sequence it applied with what it
 * applied; that sequence, not the consumer, is the truth. A message at or
 * below it (delivered again after a crash between keeping and
 * acknowledging) is skipped, and a consumer that stands past it (the
 * owner's state was lost or removed, or it crashed holding a group not
 * kept) is recreated to start right after it, so an owner rebuilt from
 * nothing reads the whole log again. A keep that fails stops the reader
 * (logged): nothing later is applied over what was not kept.
 */
#ifndef LH_BUS_LOG_READER_H
#define LH_BUS_LOG_READER_H

#include <stdint.h>

#include "bus/actor.h"
#include "bus/err.h"

typedef struct lh_log_reader lh_log_reader;

#define LH_LOG_READER_KEEP_MS 100

/* Applies msgs[0..n), the log's messages after the last applied, in
 * order, seqs[i] being msgs[i]'s stream sequence; arena is reset after
 * each batch. What it makes need not be durable yet: see keep. */
typedef void (*lh_log_apply_fn)(void *user, natsMsg **msgs, const uint64_t *seqs, int n,
                                lh_arena *arena);
/* Makes everything applied so far durable, `seq` being the last applied
 * (kept with it, for lh_log_reader_opts.applied_seq at the next start).
 * NULL once kept: the messages are then acknowledged; an error leaves
 * them unacknowledged, to come again. */
typedef lh_err *(*lh_log_keep_fn)(void *user, uint64_t seq);

typedef struct lh_log_reader_opts {
    const char *durable;  /* the consumer's name: one per reading actor */
    uint64_t applied_seq; /* the last sequence the owner kept (0: none) */
    int batch;            /* messages per fetch, and at most between keeps (default 256) */
    lh_log_apply_fn apply;
    lh_log_keep_fn keep;
    void *user;
} lh_log_reader_opts;

/* Starts reading on its own thread; the log may not exist yet (it is
 * looked for again every half second). */
lh_err *lh_log_reader_start(lh_actor *a, const lh_log_reader_opts *opts, lh_log_reader **out);
/* The last sequence applied (kept or about to be): for an owner that
 * waits until the log it wrote to has come round. */
uint64_t lh_log_reader_applied(lh_log_reader *r);
/* Stops the thread after keeping what it applied, and frees; call it
 * while the connection is up (the actor's stop), so what is kept is
 * acknowledged. Accepts NULL. */
void lh_log_reader_stop(lh_log_reader *r);

#endif
