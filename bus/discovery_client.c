/*
 * discovery_client.c — the client side of ADR-32 discovery: subjects, the
 * check that a reply is the document asked for, a synchronous ping, a
 * gather of every instance's answer within a window, and a ping on the
 * request multiplexer.
 */
#include "bus/discovery_client.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/buf.h"
#include "bus/clock.h"
#include "bus/request.h"

static const char *const lh_verb_names[] = {"PING", "INFO", "STATS"};
static const char *const lh_verb_types[] = {"io.nats.micro.v1.ping_response",
                                            "io.nats.micro.v1.info_response",
                                            "io.nats.micro.v1.stats_response"};

const char *lh_discovery_verb_name(lh_discovery_verb verb) { return lh_verb_names[verb]; }

/* A subject token: not empty, no separator, no wildcard, no blank. */
static bool lh_token_ok(const char *s)
{
    return *s && !s[strcspn(s, ".*> \t\r\n")];
}

lh_err *lh_discovery_subject(lh_discovery_verb verb, const char *name, const char *id,
                             char *out, size_t cap)
{
    if ((name && !lh_token_ok(name)) || (id && (!name || !lh_token_ok(id))))
        return lh_err_new(LH_EBADREQ, NULL, "'%s%s%s' cannot name an actor in a subject",
                          name ? name : "", id ? "." : "", id ? id : "");
    int n = snprintf(out, cap, "$SRV.%s%s%s%s%s", lh_verb_names[verb], name ? "." : "",
                     name ? name : "", id ? "." : "", id ? id : "");
    if (n < 0 || (size_t)n >= cap)
        return lh_err_new(LH_EBADREQ, NULL, "actor name too long: %s", name);
    return NULL;
}

lh_err *lh_discovery_parse(lh_discovery_verb verb, const char *name, const char *data, size_t len,
                           json_t **doc)
{
    const char *what = lh_verb_types[verb];
    json_t *j = json_loadb(data, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *from = json_string_value(json_object_get(j, "name"));
    lh_err *err = NULL;
    if (!json_is_object(j))
        err = lh_err_new(LH_EINTERNAL, NULL, "the reply is not a JSON object (%s expected)",
                         what);
    else if (!type || strcmp(type, what))
        err = lh_err_new(LH_EINTERNAL, NULL, "the reply is a %s, not a %s",
                         type ? type : "document without a type", what);
    else if (!from)
        err = lh_err_new(LH_EINTERNAL, NULL, "the %s names no actor", what);
    else if (name && strcmp(from, name))
        err = lh_err_new(LH_EINTERNAL, NULL, "the reply comes from '%s', not '%s'", from, name);
    if (err) {
        json_decref(j);
        return err;
    }
    *doc = j;
    return NULL;
}

/* Checks a reply without keeping it. */
static lh_err *lh_discovery_check(lh_discovery_verb verb, const char *name, const char *data,
                                  size_t len)
{
    json_t *doc = NULL;
    lh_err *err = lh_discovery_parse(verb, name, data, len, &doc);
    json_decref(doc);
    return err;
}

lh_err *lh_discovery_ping(lh_conn *c, const char *name, int timeout_ms)
{
    char subject[256];
    lh_err *err = lh_discovery_subject(LH_DISCOVERY_PING, name, NULL, subject, sizeof subject);
    if (err)
        return err;
    lh_buf reply;
    lh_buf_init(&reply);
    err = lh_request(c, subject, "", 0, NULL, timeout_ms, &reply);
    if (!err)
        err = lh_err_wrap(lh_discovery_check(LH_DISCOVERY_PING, name, reply.data, reply.len),
                          "%s", subject);
    lh_buf_free(&reply);
    return err;
}

/* ---- gathering ---------------------------------------------------------- */

/* Publishes the request with `inbox` as its reply subject. */
static natsStatus lh_gather_send(natsConnection *nc, const char *subject, const char *inbox,
                                 natsSubscription **sub)
{
    natsStatus s = natsConnection_SubscribeSync(sub, nc, inbox);
    if (s == NATS_OK)
        s = natsConnection_PublishRequest(nc, subject, inbox, NULL, 0);
    if (s == NATS_OK)
        s = natsConnection_Flush(nc);
    return s;
}

/* Hands every valid document that arrives before the deadline to fn. */
static void lh_gather_collect(natsSubscription *sub, lh_discovery_verb verb, const char *name,
                              long long deadline, lh_discovery_doc_fn fn, void *user)
{
    for (bool more = true; more;) {
        long long left = deadline - lh_clock_ms();
        natsMsg *msg = NULL;
        if (left <= 0 || natsSubscription_NextMsg(&msg, sub, left) != NATS_OK)
            return;
        json_t *doc = NULL;
        lh_err *err = lh_discovery_parse(verb, name, natsMsg_GetData(msg),
                                         (size_t)natsMsg_GetDataLength(msg), &doc);
        natsMsg_Destroy(msg);
        if (err) { /* not an instance's document: not ours to count */
            lh_err_free(err);
            continue;
        }
        more = fn(user, doc);
        json_decref(doc);
    }
}

lh_err *lh_discovery_gather(lh_conn *c, lh_discovery_verb verb, const char *name, int window_ms,
                            lh_discovery_doc_fn fn, void *user)
{
    char subject[256];
    lh_err *err = lh_discovery_subject(verb, name, NULL, subject, sizeof subject);
    if (err)
        return err;
    long long deadline = lh_clock_ms() + window_ms;
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    natsStatus s = natsInbox_Create(&inbox);
    if (s == NATS_OK)
        s = lh_gather_send(lh_conn_nats(c), subject, inbox, &sub);
    if (s == NATS_OK)
        lh_gather_collect(sub, verb, name, deadline, fn, user);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    return lh_err_from_nats(s, subject);
}

/* ---- on the multiplexer ------------------------------------------------- */

typedef struct lh_ask_wait {
    lh_discovery_verb verb;
    lh_discovery_reply_fn cb;
    void *user;
    char name[]; /* the actor asked: its reply must come from it */
} lh_ask_wait;

static void lh_discovery_on_answer(void *user, lh_err *err, natsMsg *msg)
{
    lh_ask_wait *w = user;
    lh_err *bad = NULL;
    json_t *doc = NULL;
    if (!err)
        bad = lh_discovery_parse(w->verb, w->name, natsMsg_GetData(msg),
                                 (size_t)natsMsg_GetDataLength(msg), &doc);
    w->cb(w->user, err ? err : bad, doc);
    json_decref(doc);
    lh_err_free(bad);
    free(w);
}

lh_err *lh_discovery_ask_async(lh_mux *m, lh_discovery_verb verb, const char *name,
                               const char *request_id, int timeout_ms, lh_discovery_reply_fn cb,
                               void *user)
{
    assert(name);
    char subject[256];
    lh_err *err = lh_discovery_subject(verb, name, NULL, subject, sizeof subject);
    if (err)
        return err;
    size_t len = strlen(name);
    lh_ask_wait *w = malloc(sizeof *w + len + 1);
    if (!w)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    w->verb = verb;
    w->cb = cb;
    w->user = user;
    memcpy(w->name, name, len + 1);
    /* The callback may run (on the timer thread) before this returns; it
     * frees w, so w is not touched after a successful send. */
    err = lh_mux_request(m, subject, "", 0, request_id, timeout_ms, lh_discovery_on_answer, w);
    if (err)
        free(w);
    return err;
}
