/*
 * log_reader.c — the durable reader of log_reader.h.
 */
#include "bus/log_reader.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/clock.h"
#include "bus/events.h"
#include "bus/log.h"

#define LH_LOG_READER_BATCH 256
#define LH_LOG_READER_WAIT_MS 500

struct lh_log_reader {
    lh_actor *actor;
    lh_log_reader_opts opts;
    char durable[64];
    uint64_t kept;    /* the last sequence applied and kept */
    _Atomic uint64_t applied; /* the last sequence applied (read by lh_log_reader_applied) */
    bool failed;              /* a keep failed: reading stopped */
    natsMsg **unkept; /* applied, not kept: acknowledged once kept */
    int n_unkept;
    int64_t first_unkept_ms; /* lh_clock_ms when the first of them came */
    pthread_t thread;
    atomic_bool stopping;
};

/* Drops the consumer when it stands past what the owner kept: the
 * owner's state is behind (lost, or rebuilt from nothing), or it stopped
 * without keeping what it had been sent (a crash): what was delivered and
 * not kept would otherwise come back only after newer events were kept,
 * and be taken for a repeat. */
static void lh_log_reader_realign(lh_log_reader *r, jsCtx *js)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    if (js_GetConsumerInfo(&ci, js, LH_EVENTS_STREAM, r->durable, NULL, &jerr) != NATS_OK)
        return; /* none yet: it is made to start right after kept */
    bool ahead = ci->AckFloor.Stream > r->kept || ci->Delivered.Stream > r->kept;
    jsConsumerInfo_Destroy(ci);
    if (ahead) {
        lh_info("the log's consumer %s stands past sequence %llu, which is all that is kept: "
                "reading again from there", r->durable, (unsigned long long)r->kept);
        js_DeleteConsumer(js, LH_EVENTS_STREAM, r->durable, NULL, &jerr);
    }
}

static natsSubscription *lh_log_reader_subscribe(lh_log_reader *r, jsCtx *js)
{
    lh_log_reader_realign(r, js);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = LH_EVENTS_STREAM;
    so.Config.AckPolicy = js_AckExplicit;
    /* For a new consumer only (a kept one resumes where it stands): right
     * after what is kept. An existing consumer's policy is not compared
     * when it is left at its default. */
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    bool exists = js_GetConsumerInfo(&ci, js, LH_EVENTS_STREAM, r->durable, NULL, &jerr) ==
                  NATS_OK;
    jsConsumerInfo_Destroy(ci);
    if (!exists && r->kept) {
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = r->kept + 1;
    }
    natsSubscription *sub = NULL;
    natsStatus s = js_PullSubscribe(&sub, js, "events.>", r->durable, NULL, &so, &jerr);
    if (s != NATS_OK)
        lh_debug("the log is not readable yet: %s", natsStatus_GetText(s));
    return s == NATS_OK ? sub : NULL;
}

/* Keeps what is applied and acknowledges it. A keep that fails stops
 * the reader (fail-stop): the owner's state on disk is what was kept
 * before, the messages stay unacknowledged, and a restart reads again from
 * the kept sequence (realign) with the owner reloaded from disk. Going on
 * instead would apply later events over a group that never made it. */
static void lh_log_reader_keep(lh_log_reader *r)
{
    if (!r->n_unkept || r->failed)
        return;
    lh_err *err = r->opts.keep(r->opts.user, r->applied);
    if (err) {
        lh_error("the log's reader %s stops: %s; it reads again from sequence %llu when "
                 "restarted", r->durable, lh_err_message(err),
                 (unsigned long long)r->kept + 1);
        lh_err_free(err);
        r->failed = true;
    } else {
        r->kept = r->applied;
    }
    for (int i = 0; i < r->n_unkept; i++) {
        if (!err)
            natsMsg_Ack(r->unkept[i], NULL);
        natsMsg_Destroy(r->unkept[i]);
    }
    r->n_unkept = 0;
}

/* Applies the batch's new messages and takes them (from the list) to
 * acknowledge once kept; the ones delivered again are acknowledged now. */
static void lh_log_reader_apply(lh_log_reader *r, natsMsgList *list, lh_arena *arena)
{
    natsMsg **fresh = lh_arena_alloc(arena, (size_t)list->Count * sizeof *fresh);
    uint64_t *seqs = lh_arena_alloc(arena, (size_t)list->Count * sizeof *seqs);
    int n = 0;
    for (int i = 0; i < list->Count; i++) {
        jsMsgMetaData *meta = NULL;
        if (natsMsg_GetMetaData(&meta, list->Msgs[i]) != NATS_OK)
            continue;
        uint64_t seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        if (seq <= r->applied) { /* delivered again: applied already */
            if (seq <= r->kept)
                natsMsg_Ack(list->Msgs[i], NULL);
            continue; /* (not kept yet: the redelivery waits for AckWait) */
        }
        fresh[n] = list->Msgs[i];
        seqs[n++] = r->applied = seq;
        r->unkept[r->n_unkept++] = list->Msgs[i];
        list->Msgs[i] = NULL; /* ours now: acknowledged once kept */
    }
    if (!n)
        return;
    if (r->n_unkept == n)
        r->first_unkept_ms = lh_clock_ms();
    r->opts.apply(r->opts.user, fresh, seqs, n, arena);
}

static void *lh_log_reader_main(void *arg)
{
    lh_log_reader *r = arg;
    lh_log_set_actor(lh_actor_def_of(r->actor)->name);
    jsCtx *js = NULL;
    natsConnection_JetStream(&js, lh_conn_nats(lh_actor_conn(r->actor)), NULL);
    natsSubscription *sub = NULL;
    lh_arena *arena = lh_arena_create();
    while (!atomic_load(&r->stopping)) {
        if (r->failed) {
            nats_Sleep(LH_LOG_READER_WAIT_MS);
            continue;
        }
        if (!sub && !(sub = lh_log_reader_subscribe(r, js))) {
            nats_Sleep(LH_LOG_READER_WAIT_MS);
            continue;
        }
        /* wait no longer than the oldest unkept message may, and take no
         * more than the room left before a keep */
        int64_t wait = LH_LOG_READER_WAIT_MS;
        if (r->n_unkept)
            wait = r->first_unkept_ms + LH_LOG_READER_KEEP_MS - lh_clock_ms();
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, sub, r->opts.batch - r->n_unkept,
                                              wait > 1 ? wait : 1, &jerr);
        int got = s == NATS_OK ? list.Count : 0;
        if (got)
            lh_log_reader_apply(r, &list, arena);
        natsMsgList_Destroy(&list);
        lh_arena_reset(arena);
        int64_t left = r->first_unkept_ms + LH_LOG_READER_KEEP_MS - lh_clock_ms();
        if (r->n_unkept && (r->n_unkept == r->opts.batch || left <= 0))
            lh_log_reader_keep(r);
        else if (got && r->n_unkept)
            /* a trickle: let the rest of the window gather, and take it in
             * one fetch, rather than wake for every event beside the
             * requests that told them */
            nats_Sleep(left);
        if (s != NATS_OK && s != NATS_TIMEOUT && s != NATS_NOT_FOUND) {
            lh_log_reader_keep(r); /* the messages in hand belong to sub: ack before it goes */
            natsSubscription_Destroy(sub); /* the stream or the consumer went: find them again */
            sub = NULL;
        }
    }
    lh_log_reader_keep(r); /* what is applied, kept before stopping */
    natsSubscription_Destroy(sub);
    lh_arena_destroy(arena);
    jsCtx_Destroy(js);
    return NULL;
}

lh_err *lh_log_reader_start(lh_actor *a, const lh_log_reader_opts *opts, lh_log_reader **out)
{
    assert(opts->durable && opts->apply && opts->keep);
    lh_log_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort(); /* out of memory: as lh_buf does, we do not limp on */
    r->actor = a;
    r->opts = *opts;
    snprintf(r->durable, sizeof r->durable, "%s", opts->durable);
    r->opts.durable = r->durable;
    if (r->opts.batch <= 0)
        r->opts.batch = LH_LOG_READER_BATCH;
    r->kept = r->applied = opts->applied_seq;
    r->unkept = calloc((size_t)r->opts.batch, sizeof *r->unkept);
    if (!r->unkept)
        abort();
    if (pthread_create(&r->thread, NULL, lh_log_reader_main, r) != 0) {
        free(r->unkept);
        free(r);
        return lh_err_new(LH_EINTERNAL, NULL, "start the log's reader");
    }
    *out = r;
    return NULL;
}

uint64_t lh_log_reader_applied(lh_log_reader *r) { return atomic_load(&r->applied); }

void lh_log_reader_stop(lh_log_reader *r)
{
    if (!r)
        return;
    atomic_store(&r->stopping, true);
    pthread_join(r->thread, NULL);
    free(r->unkept);
    free(r);
}
