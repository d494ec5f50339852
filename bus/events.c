/*
 * events.c — publishing facts on events.<actor>.<event> and making sure
 * the stream that keeps them exists.
 */
#include "bus/events.h"

#include <stdio.h>
#include <string.h>

#include "bus/log.h"
#include "bus/request.h"

void lh_event_emit(lh_conn *c, const lh_event_contract *ev, const void *value)
{
    lh_buf body;
    lh_buf_init(&body);
    lh_message_encode(ev->schema, value, &body);
    const char *subject = ev->subject;
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, body.data, (int)body.len);
    const char *rid = lh_log_request_id();
    if (s == NATS_OK && rid)
        s = natsMsgHeader_Set(m, LH_HDR_REQUEST_ID, rid);
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(lh_conn_nats(c), m);
    if (s != NATS_OK)
        lh_warn("event %s not published: %s", subject, natsStatus_GetText(s));
    natsMsg_Destroy(m);
    lh_buf_free(&body);
}

lh_err *lh_events_ensure_stream(lh_conn *c)
{
    jsCtx *js = NULL;
    natsStatus s = natsConnection_JetStream(&js, lh_conn_nats(c), NULL);
    if (s != NATS_OK)
        return lh_err_from_nats(s, "jetstream");
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    s = js_GetStreamInfo(&si, js, LH_EVENTS_STREAM, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        const char *subjects[] = {"events.>"};
        cfg.Name = LH_EVENTS_STREAM;
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        s = js_AddStream(&si, js, &cfg, NULL, &jerr);
    }
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    if (s != NATS_OK)
        return lh_err_from_nats(s, "create stream " LH_EVENTS_STREAM);
    return NULL;
}
