/*
 * replay.c — observer.replay: the history, as it stands when the replay
 * starts, published to a subject of the caller's choosing, in order, at
 * full speed; each event's envelope as the log keeps it, with its place
 * (Lh-Replay-Seq) and its subject (Lh-Event-Subject); then one message
 * with Lh-Replay-End carrying the count, which is also the reply. On a
 * thread of its own (a follower's slot), so a long replay holds no bus
 * thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/observer/follow.h"
#include "actors/observer/history.h"
#include "bus/events.h"
#include "bus/log.h"

#define LH_HDR_REPLAY_SEQ "Lh-Replay-Seq"
#define LH_HDR_REPLAY_END "Lh-Replay-End"
#define LH_HDR_EVENT_SUBJECT "Lh-Event-Subject"
#define LH_HDR_REPLAY_BATCH "Lh-Replay-Batch"
#define LH_OBS_REPLAY_NEXT_MS 5000

/* A plain subject of tokens, not the log's own nor a system one. */
static lh_err *lh_obs_check_target(lh_str s)
{
    bool ok = s.len && s.s[0] != '.' && s.s[s.len - 1] != '.';
    for (size_t i = 0; ok && i < s.len; i++)
        ok = s.s[i] > ' ' && s.s[i] != '*' && s.s[i] != '>' && s.s[i] < 0x7f &&
             !(s.s[i] == '.' && s.s[i + 1] == '.');
    if (!ok)
        return lh_err_new(LH_EBADREQ, "to_subject",
                          "'%.*s' is not a plain subject (tokens, no wildcards)", (int)s.len,
                          s.s);
    if ((s.len >= 7 && !memcmp(s.s, "events.", 7)) || s.s[0] == '$')
        return lh_err_new(LH_EBADREQ, "to_subject",
                          "'%.*s' is the log's own or a system subject: replaying there would "
                          "write history again", (int)s.len, s.s);
    return NULL;
}

/* The replay's filter as observer.events would read it. */
static void lh_obs_as_events(const lh_observer_replay_request *r, lh_observer_events_request *e)
{
    *e = (lh_observer_events_request){.since_time = r->from_time, .actor = r->actor,
                                      .type = r->type, .request_id = r->request_id};
    if (r->has_from_seq)
        LH_SET(e, since_seq, r->from_seq);
}

static natsStatus lh_obs_republish(natsConnection *nc, const char *to, natsMsg *m, int64_t seq)
{
    natsMsg *out = NULL;
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, seq);
    natsStatus s = natsMsg_Create(&out, to, NULL, natsMsg_GetData(m), natsMsg_GetDataLength(m));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(out, LH_HDR_REPLAY_SEQ, v);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(out, LH_HDR_EVENT_SUBJECT, natsMsg_GetSubject(m));
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(nc, out);
    natsMsg_Destroy(out);
    return s;
}

/* Events held for one message of a batched replay, with the log's
 * messages their fields point into. */
typedef struct lh_obs_batch {
    natsConnection *nc;
    const char *to;
    size_t max;          /* events per message; 1: each event as it is */
    natsMsg **msgs;
    lh_observer_event *evs;
    size_t n, bytes;
    lh_buf out;
} lh_obs_batch;

#define LH_OBS_REPLAY_BATCH_BYTES (256 * 1024)

/* Publishes the events held as one message (`more`: others follow). */
static natsStatus lh_obs_batch_flush(lh_obs_batch *b, bool more)
{
    if (!b->n)
        return NATS_OK;
    lh_observer_events_reply page = {.events = {b->evs, b->n},
                                     .next_seq = b->evs[b->n - 1].seq + 1, .more = more};
    lh_buf_reset(&b->out);
    lh_message_encode(&lh_observer_events_reply_schema, &page, &b->out);
    char first[24], count[24];
    snprintf(first, sizeof first, "%" PRId64, b->evs[0].seq);
    snprintf(count, sizeof count, "%zu", b->n);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, b->to, NULL, b->out.data, (int)b->out.len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, LH_HDR_REPLAY_SEQ, first);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, LH_HDR_REPLAY_BATCH, count);
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(b->nc, m);
    natsMsg_Destroy(m);
    for (size_t i = 0; i < b->n; i++)
        natsMsg_Destroy(b->msgs[i]);
    b->n = b->bytes = 0;
    return s;
}

/* Sends one event on: as it is, or into the batch (which takes m). */
static natsStatus lh_obs_batch_add(lh_obs_batch *b, natsMsg *m, const lh_observer_event *ev,
                                   bool more)
{
    if (b->max == 1) {
        natsStatus s = lh_obs_republish(b->nc, b->to, m, ev->seq);
        natsMsg_Destroy(m);
        return s;
    }
    b->msgs[b->n] = m;
    b->evs[b->n++] = *ev;
    b->bytes += (size_t)natsMsg_GetDataLength(m);
    if (b->n < b->max && b->bytes < LH_OBS_REPLAY_BATCH_BYTES)
        return NATS_OK;
    return lh_obs_batch_flush(b, more);
}

/* Publishes what matches now; the counts in rep. */
static lh_err *lh_obs_replay_read(lh_obs_job *w, natsSubscription *sub, uint64_t pending,
                                  const lh_observer_events_request *e, lh_obs_batch *b,
                                  lh_observer_replay_reply *rep)
{
    lh_arena *arena = lh_arena_create();
    uint64_t left = pending;
    lh_err *err = NULL;
    while (!err && left) {
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, sub, LH_OBS_REPLAY_NEXT_MS);
        if (s != NATS_OK) {
            err = lh_err_from_nats(s, "read the log");
            break;
        }
        lh_observer_event ev = {0};
        if (lh_observer_take(m, arena, &ev, &left) && lh_observer_wanted(e, &ev)) {
            s = lh_obs_batch_add(b, m, &ev, left > 0);
            m = NULL; /* the batch's now */
            err = s == NATS_OK ? NULL : lh_err_from_nats(s, b->to);
            rep->replayed += !err;
        }
        if (ev.seq)
            rep->last_seq = ev.seq;
        natsMsg_Destroy(m);
        if (!b->n) /* nothing held points into the arena */
            lh_arena_reset(arena);
        if (!err && atomic_load(&w->f->stopping))
            err = lh_err_new(LH_EUNAVAILABLE, NULL, "observerd is stopping");
    }
    natsStatus s = lh_obs_batch_flush(b, false);
    if (!err && s != NATS_OK)
        err = lh_err_from_nats(s, b->to);
    lh_arena_destroy(arena);
    return err;
}

/* Publishes what matches; the counts in rep. */
static lh_err *lh_obs_replay_publish(lh_obs_job *w, const lh_observer_replay_request *r,
                                    lh_observer_replay_reply *rep)
{
    char to[256], subject[256];
    snprintf(to, sizeof to, "%.*s", (int)r->to_subject.len, r->to_subject.s);
    rep->to_subject = r->to_subject;
    lh_observer_events_request e;
    lh_obs_as_events(r, &e);
    bool none = false;
    jsSubOptions so;
    lh_err *err = lh_observer_consumer(&e, subject, sizeof subject, &none, &so);
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = NATS_OK;
    if (!err && !none) {
        s = natsConnection_JetStream(&js, lh_conn_nats(lh_actor_conn(w->actor)), NULL);
        if (s == NATS_OK)
            lh_observer_resolve_time(js, &so);
        if (s == NATS_OK)
            s = js_SubscribeSync(&sub, js, subject, NULL, &so, &jerr);
        if (s == NATS_OK)
            s = natsSubscription_GetConsumerInfo(&ci, sub, NULL, &jerr);
        if (s == NATS_OK) {
            size_t max = r->has_batch ? (size_t)r->batch : 1;
            lh_obs_batch b = {.nc = lh_conn_nats(lh_actor_conn(w->actor)), .to = to, .max = max,
                              .msgs = calloc(max, sizeof *b.msgs),
                              .evs = calloc(max, sizeof *b.evs)};
            lh_buf_init(&b.out);
            if (!b.msgs || !b.evs)
                abort(); /* out of memory: as lh_buf does, we do not limp on */
            err = lh_obs_replay_read(w, sub, ci->Delivered.Consumer + ci->NumPending, &e, &b,
                                     rep);
            free(b.msgs);
            free(b.evs);
            lh_buf_free(&b.out);
        }
        else if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) /* no log: nothing to replay */
            err = lh_err_wrap_as(lh_err_from_nats(s, "the log"), LH_EUNAVAILABLE,
                                 "cannot read the log");
    }
    jsConsumerInfo_Destroy(ci);
    if (sub)
        natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    rep->next_seq = rep->last_seq ? rep->last_seq + 1 : (r->has_from_seq ? r->from_seq : 1);
    return err;
}

/* The end, on to_subject too: whoever listens there knows it is over. */
static void lh_obs_replay_end(lh_obs_job *w, const lh_observer_replay_reply *rep)
{
    lh_buf body;
    lh_buf_init(&body);
    lh_message_encode(&lh_observer_replay_reply_schema, rep, &body);
    char to[256];
    snprintf(to, sizeof to, "%.*s", (int)rep->to_subject.len, rep->to_subject.s);
    natsConnection *nc = lh_conn_nats(lh_actor_conn(w->actor));
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, to, NULL, body.data, (int)body.len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, LH_HDR_REPLAY_END, "1");
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(nc, m);
    natsMsg_Destroy(m);
    natsConnection_Flush(nc); /* everything out before the reply says it is */
    lh_buf_free(&body);
}

static lh_err *lh_obs_replay_run(lh_obs_job *w, void *request, lh_arena *arena, void *reply)
{
    (void)arena;
    lh_observer_replay_reply *rep = reply;
    lh_err *err = lh_obs_replay_publish(w, request, rep);
    if (err)
        return err;
    lh_obs_replay_end(w, rep);
    lh_info("replayed %lld events to %.*s", (long long)rep->replayed, (int)rep->to_subject.len,
            rep->to_subject.s);
    return NULL;
}

lh_err *lh_obs_replay(lh_obs_followers *f, lh_ctx *ctx, const lh_observer_replay_request *req)
{
    lh_observer_events_request e;
    lh_obs_as_events(req, &e);
    char subject[256];
    bool none;
    jsSubOptions so;
    lh_err *err = lh_obs_check_target(req->to_subject); /* refused before anything starts */
    if (!err)
        err = lh_observer_consumer(&e, subject, sizeof subject, &none, &so);
    if (err && !strcmp(lh_err_field(err) ? lh_err_field(err) : "", "since_time")) {
        lh_err *named = lh_err_new(LH_EBADREQ, "from_time", "%s", lh_err_message(err));
        lh_err_free(err);
        err = named;
    }
    return err ? err
               : lh_obs_job_start(f, ctx, &lh_ep_observer_replay, req, lh_obs_replay_run, NULL);
}
