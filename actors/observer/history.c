/*
 * history.c — observer.events: an ordered JetStream consumer on EVENTS,
 * started at the sequence or time asked, filtered by subject (the actor
 * or the type), read for as many messages as match when it starts (those
 * it has delivered and those still pending; then each message says how
 * many are left after it), so the reply never waits for events still to
 * come; each envelope decoded and, when a request id is asked, matched.
 */
#include "actors/observer/history.h"

#include <stdio.h>
#include <string.h>

#include "bus/clock.h"
#include "bus/events.h"
#include "bus/log.h"

/* How long one message may take to come: the consumer has it already. */
#define LH_OBSERVER_NEXT_MS 5000

/* A subject token: letters, digits, '-' and '_' (no '.', '*', '>'). */
static bool lh_obs_token(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* The subject to read, from the actor and the type asked; *none when they
 * cannot both hold (another actor's type). */
static lh_err *lh_obs_filter(const lh_observer_events_request *req, char *out, size_t cap,
                             bool *none)
{
    const lh_str *a = &req->actor, *t = &req->type;
    if (a->s && !lh_obs_token(a->s, a->len))
        return lh_err_new(LH_EBADREQ, "actor", "'%.*s' is not an actor's name", (int)a->len,
                          a->s);
    const char *dot = t->s ? memchr(t->s, '.', t->len) : NULL;
    if (t->s && (!dot || !lh_obs_token(t->s, (size_t)(dot - t->s)) ||
                 !lh_obs_token(dot + 1, t->len - (size_t)(dot - t->s) - 1)))
        return lh_err_new(LH_EBADREQ, "type", "'%.*s' is not an event type: <actor>.<event>",
                          (int)t->len, t->s);
    *none = a->s && t->s &&
            ((size_t)(dot - t->s) != a->len || memcmp(a->s, t->s, a->len));
    if (t->s)
        snprintf(out, cap, "events.%.*s", (int)t->len, t->s);
    else if (a->s)
        snprintf(out, cap, "events.%.*s.>", (int)a->len, a->s);
    else
        snprintf(out, cap, "events.>");
    return NULL;
}

static lh_err *lh_obs_start(const lh_observer_events_request *req, jsSubOptions *so)
{
    jsSubOptions_Init(so);
    so->Stream = LH_EVENTS_STREAM;
    so->Ordered = true;
    if (req->has_since_seq && req->since_time.s)
        return lh_err_new(LH_EBADREQ, "since_time", "give since_seq or since_time, not both");
    if (req->has_since_seq) {
        so->Config.DeliverPolicy = js_DeliverByStartSequence;
        so->Config.OptStartSeq = (uint64_t)req->since_seq;
    } else if (req->since_time.s) {
        int64_t ns;
        if (!lh_clock_parse_rfc3339(req->since_time.s, req->since_time.len, &ns))
            return lh_err_new(LH_EBADREQ, "since_time",
                              "'%.*s' is not an RFC 3339 time (2026-12-03T10:00:00Z)",
                              (int)req->since_time.len, req->since_time.s);
        so->Config.DeliverPolicy = js_DeliverByStartTime;
        so->Config.OptStartTime = ns;
    }
    return NULL;
}

/* The time of message `seq`; false when the log does not hold it. */
static bool lh_obs_time_of(jsCtx *js, uint64_t seq, int64_t *ns)
{
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    if (js_GetMsg(&m, js, LH_EVENTS_STREAM, seq, NULL, &jerr) != NATS_OK)
        return false;
    *ns = natsMsg_GetTime(m);
    natsMsg_Destroy(m);
    return true;
}

void lh_observer_resolve_time(jsCtx *js, jsSubOptions *so)
{
    if (so->Config.DeliverPolicy != js_DeliverByStartTime)
        return;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, LH_EVENTS_STREAM, NULL, &jerr);
    if (s != NATS_OK)
        return; /* no log: the consumer's own start is as good */
    uint64_t lo = si->State.FirstSeq, hi = si->State.LastSeq + 1; /* the answer is in [lo, hi] */
    jsStreamInfo_Destroy(si);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int64_t ns;
        if (!lh_obs_time_of(js, mid, &ns) || ns < so->Config.OptStartTime)
            lo = mid + 1; /* before the time (or gone: the front of the log) */
        else
            hi = mid;
    }
    so->Config.DeliverPolicy = js_DeliverByStartSequence;
    so->Config.OptStartSeq = lo ? lo : 1;
    so->Config.OptStartTime = 0;
}

lh_err *lh_observer_consumer(const lh_observer_events_request *req, char *subject, size_t cap,
                             bool *none, jsSubOptions *so)
{
    lh_err *err = lh_obs_filter(req, subject, cap, none);
    return err ? err : lh_obs_start(req, so);
}

bool lh_observer_wanted(const lh_observer_events_request *req, const lh_observer_event *ev)
{
    return !req->request_id.s || lh_str_equal(ev->request_id, req->request_id);
}

bool lh_observer_take(natsMsg *m, lh_arena *arena, lh_observer_event *ev, uint64_t *pending)
{
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) != NATS_OK)
        return false;
    ev->seq = (int64_t)meta->Sequence.Stream;
    *pending = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
    lh_event_envelope *env = NULL;
    lh_err *err = lh_schema_decode_reply(&lh_event_envelope_schema, natsMsg_GetData(m),
                                         (size_t)natsMsg_GetDataLength(m), arena, (void **)&env);
    if (err) { /* not ours to show: something else published on events.> */
        lh_debug("log message %lld is not an event: %s", (long long)ev->seq, lh_err_message(err));
        lh_err_free(err);
        return false;
    }
    const char *subject = natsMsg_GetSubject(m);
    ev->subject = (lh_str){lh_arena_strndup(arena, subject, strlen(subject)), strlen(subject)};
    ev->id = env->id, ev->time = env->time, ev->actor = env->actor;
    ev->instance = env->instance, ev->type = env->type, ev->request_id = env->request_id;
    ev->data = env->data;
    return true;
}

/* Reads up to `pending` messages; keeps up to limit that match. */
static lh_err *lh_obs_read(natsSubscription *sub, uint64_t pending,
                           const lh_observer_events_request *req, lh_arena *arena,
                           lh_observer_events_reply *rep)
{
    lh_observer_event *evs = lh_arena_alloc(arena, (size_t)req->limit * sizeof *evs);
    size_t n = 0, scanned = 0;
    uint64_t left = pending;
    int64_t last_seq = 0;
    while (left && n < (size_t)req->limit && scanned < LH_OBSERVER_MAX_SCAN) {
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, sub, LH_OBSERVER_NEXT_MS);
        if (s != NATS_OK)
            return lh_err_from_nats(s, "read the log");
        scanned++;
        lh_observer_event ev = {0};
        bool ok = lh_observer_take(m, arena, &ev, &left);
        natsMsg_Destroy(m);
        if (ev.seq)
            last_seq = ev.seq;
        if (ok && lh_observer_wanted(req, &ev))
            evs[n++] = ev;
    }
    rep->events = (lh_objs){evs, n};
    rep->more = left > 0;
    rep->next_seq = last_seq ? last_seq + 1 : (req->has_since_seq ? req->since_seq : 1);
    return NULL;
}

lh_err *lh_observer_history(lh_conn *c, const lh_observer_events_request *req, lh_arena *arena,
                            lh_observer_events_reply *rep)
{
    char subject[256];
    bool none = false;
    jsSubOptions so;
    lh_err *err = lh_observer_consumer(req, subject, sizeof subject, &none, &so);
    if (err || none) {
        rep->next_seq = req->has_since_seq ? req->since_seq : 1;
        return err;
    }
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsConnection_JetStream(&js, lh_conn_nats(c), NULL);
    if (s == NATS_OK)
        lh_observer_resolve_time(js, &so);
    if (s == NATS_OK)
        s = js_SubscribeSync(&sub, js, subject, NULL, &so, &jerr);
    if (s == NATS_OK)
        s = natsSubscription_GetConsumerInfo(&ci, sub, NULL, &jerr);
    if (s == NATS_OK) /* matching now: sent to us already, and not yet */
        err = lh_obs_read(sub, ci->Delivered.Consumer + ci->NumPending, req, arena, rep);
    else if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
        rep->next_seq = 1; /* no log yet: nothing has happened */
    else
        err = lh_err_wrap_as(lh_err_from_nats(s, "the log"), LH_EUNAVAILABLE,
                             "cannot read the log (%s)", LH_EVENTS_STREAM);
    jsConsumerInfo_Destroy(ci);
    if (sub)
        natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    return err;
}
