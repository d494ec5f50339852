/*
 * mux_call.c — the typed asynchronous call: a contract's request struct
 * out, its reply struct back, on the mux. The reply is decoded into an
 * arena that lives only for the callback, so a caller copies what it keeps.
 */
#include "bus/mux.h"

#include <stdlib.h>

#include "bus/buf.h"
#include "bus/request.h"

typedef struct lh_mux_call_state {
    const lh_contract *contract;
    lh_mux_call_cb cb;
    void *user;
} lh_mux_call_state;

static void lh_mux_call_done(void *user, lh_err *err, natsMsg *msg)
{
    lh_mux_call_state *st = user;
    const lh_contract *k = st->contract;
    if (err && msg) { /* the callee's error reply: named by its subject, as lh_call does */
        lh_err *named = lh_err_wrap(
            lh_err_new(lh_err_code(err), lh_err_field(err), "%s", lh_err_message(err)), "%s",
            k->subject);
        st->cb(st->user, named, NULL);
        lh_err_free(named);
        free(st);
        return;
    }
    if (err) { /* no responders, deadline: the mux's message names the subject */
        st->cb(st->user, err, NULL);
        free(st);
        return;
    }
    lh_arena *arena = lh_arena_create();
    void *reply = NULL;
    lh_err *bad = lh_reply_decode(k, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
                                  arena, &reply);
    st->cb(st->user, bad, bad ? NULL : reply);
    lh_err_free(bad);
    lh_arena_destroy(arena);
    free(st);
}

lh_err *lh_mux_call(lh_mux *m, const lh_contract *k, const void *req, const char *request_id,
                    int timeout_ms, lh_mux_call_cb cb, void *user)
{
    lh_mux_call_state *st = malloc(sizeof *st);
    if (!st)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    *st = (lh_mux_call_state){k, cb, user};
    lh_buf body;
    lh_buf_init(&body);
    lh_message_encode(k->request, req, &body);
    lh_err *err = lh_mux_request(m, k->subject, body.data, body.len, request_id, timeout_ms,
                                 lh_mux_call_done, st);
    lh_buf_free(&body);
    if (err)
        free(st);
    return err;
}
