/*
 * cmd_events.c — `lakehouse events [tail] [--from SEQ|TIME] [--type T] [--actor A]
 * [--request-id R] [--limit N] [--follow] [--json]`: the log read back
 * through observerd (observer.events), one event per line (sequence,
 * time, type, request id, its fields as JSON), or observerd's reply as
 * JSON; with --follow, then every new event as it happens (the bus's
 * streaming protocol) until interrupted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/config.h"
#include "bus/json.h"
#include "bus/request.h"
#include "bus/stream.h"
#include "ops/cli.h"
#include "schemas/observer.h"

static const char lh_events_usage[] =
    "usage: lakehouse events [tail] [--from SEQ|TIME] [--type T] [--actor A]\n"
    "                        [--request-id R] [--limit N] [--follow] [--json]\n"
    "                        [--data-dir DIR]\n"
    "\n"
    "Prints what happened, oldest first, from the platform's log (observer.events):\n"
    "one event per line, its sequence number, time, type, request id and fields.\n"
    "\n"
    "  --from SEQ|TIME  from this sequence number, or this RFC 3339 time, on\n"
    "  --type T         only events of this type (catalogd.committed)\n"
    "  --actor A        only the events this actor told (ingestd)\n"
    "  --request-id R   only the events this request caused\n"
    "  --limit N        at most N events (1 to 1000, default 100; with --follow,\n"
    "                   none unless given)\n"
    "  --follow         then print every new event as it happens, until interrupted\n"
    "  --json           print observerd's reply as JSON\n"
    "  --data-dir DIR   whose stack to ask when $LH_NATS_URL is not set\n"
    "\n"
    "The last line says where to go on from (--from) when there are more.\n"
    "\n"
    "example: lakehouse events --type ingestd.finished --from 2026-12-03T00:00:00Z\n";

enum { LH_EV_FROM, LH_EV_TYPE, LH_EV_ACTOR, LH_EV_RID, LH_EV_LIMIT, LH_EV_FOLLOW, LH_EV_JSON,
       LH_EV_DATA_DIR, LH_EV_N_OPTS };

typedef struct lh_events_args {
    const char *from, *type, *actor, *rid, *data_dir;
    int limit;
    bool json, follow;
} lh_events_args;

static int lh_events_option(lh_events_args *a, int opt, const char *v)
{
    switch (opt) {
    case LH_EV_FROM: a->from = v; return LH_EXIT_OK;
    case LH_EV_TYPE: a->type = v; return LH_EXIT_OK;
    case LH_EV_ACTOR: a->actor = v; return LH_EXIT_OK;
    case LH_EV_RID: a->rid = v; return LH_EXIT_OK;
    case LH_EV_LIMIT:
        return lh_cli_parse_int(v, 1, LH_OBSERVER_MAX_LIMIT, &a->limit)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(&lh_cmd_events, "--limit expects 1 to %d, not '%s'",
                                        LH_OBSERVER_MAX_LIMIT, v);
    case LH_EV_JSON: a->json = true; return LH_EXIT_OK;
    case LH_EV_FOLLOW: a->follow = true; return LH_EXIT_OK;
    default: a->data_dir = v; return LH_EXIT_OK;
    }
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_events_parse(int argc, char **argv, lh_events_args *a)
{
    static const lh_cli_opt opts[] = {
        [LH_EV_FROM] = {"from", true},        [LH_EV_TYPE] = {"type", true},
        [LH_EV_ACTOR] = {"actor", true},      [LH_EV_RID] = {"request-id", true},
        [LH_EV_LIMIT] = {"limit", true},      [LH_EV_JSON] = {"json", false},
        [LH_EV_FOLLOW] = {"follow", false},
        [LH_EV_DATA_DIR] = {"data-dir", true},
    };
    const lh_command *c = &lh_cmd_events;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, c, opts, LH_EV_N_OPTS, argc, argv);
    int opt, rc = LH_EXIT_OK;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END: return -1;
        case LH_CLI_HELP: lh_cli_print_usage(c, stdout); return LH_EXIT_OK;
        case LH_CLI_ERROR: return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL: /* `lakehouse events tail ...` reads as well */
            if (strcmp(value, "tail"))
                return lh_cli_usage_error(c, "unexpected argument '%s'", value);
            break;
        case LH_CLI_OPTION: rc = lh_events_option(a, opt, value); break;
        }
        if (rc)
            return rc;
    }
}

static lh_str lh_events_str(const char *s) { return s ? (lh_str){s, strlen(s)} : (lh_str){0}; }

static void lh_events_request_of(const lh_events_args *a, lh_observer_events_request *r)
{
    lh_observer_events_request req = {.type = lh_events_str(a->type),
                                      .actor = lh_events_str(a->actor),
                                      .request_id = lh_events_str(a->rid)};
    bool seq = a->from && *a->from && strspn(a->from, "0123456789") == strlen(a->from);
    if (seq) /* a number is a sequence number; anything else is a time */
        LH_SET(&req, since_seq, strtoll(a->from, NULL, 10));
    else if (a->from)
        req.since_time = lh_events_str(a->from);
    if (a->limit)
        LH_SET(&req, limit, a->limit);
    if (a->follow)
        LH_SET(&req, follow, true);
    *r = req;
}

static void lh_events_pack(const lh_events_args *a, lh_buf *out)
{
    lh_observer_events_request req;
    lh_events_request_of(a, &req);
    lh_message_encode_given(lh_ep_observer_events.request, &req, out);
}

static void lh_events_line(const lh_observer_event *e)
{
    lh_buf data;
    lh_buf_init(&data);
    lh_err *err = lh_msgpack_to_json(e->data.data, e->data.len, &data);
    lh_err_free(err);
    printf("%-6lld %.*s  %-20.*s %-22.*s %s\n", (long long)e->seq, (int)e->time.len, e->time.s,
           (int)e->type.len, e->type.s, (int)e->request_id.len,
           e->request_id.s ? e->request_id.s : "", lh_buf_cstr(&data));
    lh_buf_free(&data);
}

static void lh_events_show(const lh_observer_events_reply *r)
{
    const lh_observer_event *e = r->events.v;
    for (size_t i = 0; i < r->events.n; i++)
        lh_events_line(&e[i]);
    if (r->more)
        printf("(more: --from %lld)\n", (long long)r->next_seq);
}

static int lh_events_print(const lh_events_args *a, const lh_buf *reply)
{
    lh_arena *arena = lh_arena_create();
    lh_buf json;
    lh_buf_init(&json);
    lh_observer_events_reply *rep = NULL;
    lh_err *err = a->json ? lh_msgpack_to_json(reply->data, reply->len, &json)
                          : lh_reply_decode(&lh_ep_observer_events, reply->data, reply->len,
                                            arena, (void **)&rep);
    if (!err && a->json)
        printf("%s\n", lh_buf_cstr(&json));
    else if (!err)
        lh_events_show(rep);
    int rc = err ? lh_cli_fail(&lh_cmd_events, "unreadable reply: %s", lh_err_message(err))
                 : LH_EXIT_OK;
    lh_err_free(err);
    lh_buf_free(&json);
    lh_arena_destroy(arena);
    return rc;
}

/* ---- --follow ---- */

static bool lh_events_print_piece(void *user, const void *chunk)
{
    bool json = *(const bool *)user;
    const lh_observer_event *e = chunk;
    if (json) {
        lh_buf out;
        lh_buf_init(&out);
        lh_message_encode(&lh_observer_event_schema, e, &out);
        lh_buf text;
        lh_buf_init(&text);
        lh_err *err = lh_msgpack_to_json(out.data, out.len, &text);
        lh_err_free(err);
        printf("%s\n", lh_buf_cstr(&text));
        lh_buf_free(&text);
        lh_buf_free(&out);
    } else {
        lh_events_line(e);
    }
    fflush(stdout); /* as they happen, which is the point */
    return !ferror(stdout);
}

static int lh_events_follow(const lh_events_args *a, int idle_ms)
{
    lh_observer_events_request req;
    lh_events_request_of(a, &req);
    lh_conn *conn = NULL;
    lh_err *err = lh_cli_connect(a->data_dir, "lakehouse-events", &conn);
    lh_arena *arena = lh_arena_create();
    lh_observer_events_reply *rep = NULL;
    if (!err)
        err = lh_call_stream(conn, &lh_ep_observer_events, &req, &lh_observer_event_schema,
                             lh_events_print_piece, (void *)&a->json, arena, (void **)&rep,
                             idle_ms);
    if (!err && !a->json)
        printf("(more: --from %lld)\n", (long long)rep->next_seq);
    lh_conn_destroy(conn);
    nats_Close();
    lh_arena_destroy(arena);
    return err ? lh_cli_bus_error(err) : LH_EXIT_OK;
}

static int lh_events_run(int argc, char **argv)
{
    lh_events_args args = {0};
    int rc = lh_events_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_cli_quiet_logs();
    if (args.follow) {
        lh_config cfg;
        lh_config_load(&cfg);
        return lh_events_follow(&args, cfg.request_timeout_ms);
    }
    lh_buf body, reply;
    lh_buf_init(&body);
    lh_buf_init(&reply);
    lh_events_pack(&args, &body);
    lh_config cfg;
    lh_config_load(&cfg);
    lh_err *err = lh_cli_request(args.data_dir, "lakehouse-events",
                                 lh_ep_observer_events.subject, &body, cfg.request_timeout_ms,
                                 &reply);
    rc = err ? lh_cli_bus_error(err) : lh_events_print(&args, &reply);
    lh_buf_free(&body);
    lh_buf_free(&reply);
    return rc;
}

const lh_command lh_cmd_events = {
    .name = "events",
    .run = lh_events_run,
    .summary = "print what happened, from the platform's log",
    .usage = lh_events_usage,
};
