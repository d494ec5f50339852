/*
 * events.c — the envelope of events.h, emitting through the actor's event
 * log, and the EVENTS stream that keeps them.
 */
#include "bus/events.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "bus/actor_internal.h"
#include "bus/clock.h"
#include "bus/config.h"
#include "bus/event_log.h"
#include "bus/log.h"

LH_SCHEMA_DEFINE(lh_event_envelope, LH_EVENT_ENVELOPE, "An event, as the log keeps it.")

#define LH_EVENTS_DEFAULT_MAX_AGE_S (7 * 24 * 3600)
#define LH_EVENTS_DEFAULT_MAX_BYTES ((int64_t)1 << 30)

static uint64_t lh_event_put(lh_actor *a, const lh_event_contract *ev, const void *value)
{
    if (!a->events) /* an actor without endpoints keeps no log */
        return 0;
    /* an actor tells its own events: the subject names who told it */
    assert(!strcmp(ev->service, a->def->name));
    lh_buf data, msg;
    lh_buf_init(&data);
    lh_buf_init(&msg);
    lh_message_encode(ev->schema, value, &data);
    char id[23], time[40], type[96];
    lh_new_id(id);
    lh_clock_rfc3339(time, sizeof time, 3);
    snprintf(type, sizeof type, "%s.%s", ev->service, ev->name);
    const char *rid = lh_log_request_id();
    lh_event_envelope env = {
        .id = {id, strlen(id)},
        .time = {time, strlen(time)},
        .actor = {a->def->name, strlen(a->def->name)},
        .instance = {a->id, strlen(a->id)},
        .type = {type, strlen(type)},
        .request_id = rid && *rid ? (lh_str){rid, strlen(rid)} : (lh_str){0},
        .data = {data.data, data.len},
    };
    lh_message_encode(&lh_event_envelope_schema, &env, &msg);
    uint64_t ticket = lh_event_log_put(a->events, ev->subject, id, rid, &msg);
    lh_buf_free(&data);
    lh_buf_free(&msg);
    return ticket;
}

void lh_event_emit(lh_actor *a, const lh_event_contract *ev, const void *value)
{
    lh_event_put(a, ev, value);
}

bool lh_event_emit_acked(lh_actor *a, const lh_event_contract *ev, const void *value)
{
    uint64_t ticket = lh_event_put(a, ev, value);
    return !ticket || lh_event_log_wait(a->events, ticket, LH_EVENTS_ACK_WAIT_MS);
}

lh_err *lh_event_decode(const lh_event_contract *ev, const char *msg, size_t len,
                        lh_arena *arena, lh_event_envelope **env, void **data)
{
    lh_err *err = lh_schema_decode_reply(&lh_event_envelope_schema, msg, len, arena,
                                         (void **)env);
    if (!err)
        err = lh_schema_decode_reply(ev->schema, (*env)->data.data, (*env)->data.len, arena,
                                     data);
    return err ? lh_err_wrap(err, "event on %s", ev->subject) : NULL;
}

/* ---- the stream ---- */

uint64_t lh_events_last_seq(lh_conn *c)
{
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    uint64_t seq = 0;
    if (natsConnection_JetStream(&js, lh_conn_nats(c), NULL) == NATS_OK &&
        js_GetStreamInfo(&si, js, LH_EVENTS_STREAM, NULL, &jerr) == NATS_OK)
        seq = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    return seq;
}

static void lh_events_config(jsStreamConfig *cfg, const char **subjects)
{
    jsStreamConfig_Init(cfg);
    cfg->Name = LH_EVENTS_STREAM;
    cfg->Subjects = subjects;
    cfg->SubjectsLen = 1;
    cfg->Storage = js_FileStorage;
    cfg->MaxAge = lh_config_env_int("LH_EVENTS_MAX_AGE_S", LH_EVENTS_DEFAULT_MAX_AGE_S, 60,
                                    (int64_t)10 * 365 * 24 * 3600) *
                  (int64_t)1000000000;
    cfg->MaxBytes = lh_config_env_int("LH_EVENTS_MAX_BYTES", LH_EVENTS_DEFAULT_MAX_BYTES,
                                      (int64_t)1 << 20, (int64_t)1 << 50);
    cfg->Duplicates = (int64_t)LH_EVENTS_DUPLICATE_WINDOW_S * 1000000000;
    cfg->Discard = js_DiscardOld;
}

lh_err *lh_events_ensure_stream(lh_conn *c)
{
    jsCtx *js = NULL;
    natsStatus s = natsConnection_JetStream(&js, lh_conn_nats(c), NULL);
    if (s != NATS_OK)
        return lh_err_from_nats(s, "jetstream");
    const char *subjects[] = {"events.>"};
    jsStreamConfig cfg;
    lh_events_config(&cfg, subjects);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    s = js_GetStreamInfo(&si, js, LH_EVENTS_STREAM, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        s = js_AddStream(&si, js, &cfg, NULL, &jerr);
    } else if (s == NATS_OK && (si->Config->MaxAge != cfg.MaxAge ||
                                si->Config->MaxBytes != cfg.MaxBytes ||
                                si->Config->Duplicates != cfg.Duplicates)) {
        jsStreamInfo_Destroy(si); /* the settings changed: the stream follows them */
        si = NULL;
        s = js_UpdateStream(&si, js, &cfg, NULL, &jerr);
    }
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    if (s == NATS_ERR && jerr == JSStreamNameExistErr)
        return NULL; /* another actor made it meanwhile */
    if (s != NATS_OK)
        return lh_err_from_nats(s, "create stream " LH_EVENTS_STREAM);
    return NULL;
}
