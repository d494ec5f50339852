/*
 * cmd_chat.c — `lakehouse chat "question" [--corpus C]...`: one
 * chat.complete on the bus, its answer printed as it arrives (the bus's
 * streaming protocol), then its citations; whole with --no-stream, or
 * chatd's reply as JSON with --json.
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
#include "schemas/chat.h"

static const char lh_chat_usage_text[] =
    "usage: lakehouse chat QUESTION [--model M] [--corpus C]... [--k N] [--mode M]\n"
    "                      [--max-tokens N] [--no-stream] [--json] [--data-dir DIR]\n"
    "\n"
    "Asks chatd (chat.complete) and prints the answer as it arrives, then the\n"
    "passages it cites.\n"
    "The built-in model, `extractive`, quotes the retrieved passages that best\n"
    "answer the question and generates nothing.\n"
    "\n"
    "  --model M        `provider/model` or `extractive` (chatd's default)\n"
    "  --corpus C       a vector index to ground the answer in (repeatable;\n"
    "                   extractive's default: every index)\n"
    "  --k N            passages to retrieve (default 5)\n"
    "  --mode M         retrieval mode: hybrid (default), vector or keyword\n"
    "  --max-tokens N   at most N tokens in the answer\n"
    "  --no-stream      print the answer when it is whole\n"
    "  --json           print chatd's reply as JSON (whole)\n"
    "  --data-dir DIR   whose stack to ask when $LH_NATS_URL is not set\n"
    "\n"
    "example: lakehouse chat 'what does error E1234 mean?' --corpus docs\n";

enum { LH_CH_MODEL, LH_CH_CORPUS, LH_CH_K, LH_CH_MODE, LH_CH_MAX_TOKENS, LH_CH_JSON,
       LH_CH_NO_STREAM, LH_CH_DATA_DIR, LH_CH_N_OPTS };

typedef struct lh_chat_args {
    const char *question, *model, *mode, *data_dir;
    lh_str corpora[LH_MATRIX_MAX_CORPORA];
    size_t n_corpora;
    int k, max_tokens;
    bool json, no_stream;
} lh_chat_args;

static int lh_chat_option(lh_chat_args *a, int opt, const char *v)
{
    const lh_command *c = &lh_cmd_chat;
    switch (opt) {
    case LH_CH_MODEL: a->model = v; return LH_EXIT_OK;
    case LH_CH_CORPUS:
        if (a->n_corpora == LH_MATRIX_MAX_CORPORA)
            return lh_cli_usage_error(c, "at most %d corpora", LH_MATRIX_MAX_CORPORA);
        a->corpora[a->n_corpora++] = (lh_str){v, strlen(v)};
        return LH_EXIT_OK;
    case LH_CH_K:
        return lh_cli_parse_int(v, 1, LH_CHAT_MAX_PASSAGES, &a->k)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--k expects 1 to %d, not '%s'", LH_CHAT_MAX_PASSAGES,
                                        v);
    case LH_CH_MODE: a->mode = v; return LH_EXIT_OK;
    case LH_CH_MAX_TOKENS:
        return lh_cli_parse_int(v, 1, LH_CHAT_MAX_TOKENS, &a->max_tokens)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--max-tokens expects 1 to %d, not '%s'",
                                        LH_CHAT_MAX_TOKENS, v);
    case LH_CH_JSON: a->json = true; return LH_EXIT_OK;
    case LH_CH_NO_STREAM: a->no_stream = true; return LH_EXIT_OK;
    default: a->data_dir = v; return LH_EXIT_OK;
    }
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_chat_parse(int argc, char **argv, lh_chat_args *a)
{
    static const lh_cli_opt opts[] = {
        [LH_CH_MODEL] = {"model", true},   [LH_CH_CORPUS] = {"corpus", true},
        [LH_CH_K] = {"k", true},           [LH_CH_MODE] = {"mode", true},
        [LH_CH_MAX_TOKENS] = {"max-tokens", true}, [LH_CH_JSON] = {"json", false},
        [LH_CH_NO_STREAM] = {"no-stream", false},
        [LH_CH_DATA_DIR] = {"data-dir", true},
    };
    const lh_command *c = &lh_cmd_chat;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, c, opts, LH_CH_N_OPTS, argc, argv);
    int opt, rc = LH_EXIT_OK;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END: return a->question ? -1 : lh_cli_usage_error(c, "give the QUESTION");
        case LH_CLI_HELP: lh_cli_print_usage(c, stdout); return LH_EXIT_OK;
        case LH_CLI_ERROR: return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            rc = a->question ? lh_cli_usage_error(c, "unexpected argument '%s' (quote the "
                                                  "question as one argument)", value)
                             : (a->question = value, LH_EXIT_OK);
            break;
        case LH_CLI_OPTION: rc = lh_chat_option(a, opt, value); break;
        }
        if (rc)
            return rc;
    }
}

/* The request, its parts in `parts` (which must outlive it). */
typedef struct lh_chat_parts {
    lh_chat_message m;
    lh_chat_retrieve r;
    lh_chat_complete_request req;
} lh_chat_parts;

static void lh_chat_request_of(const lh_chat_args *a, lh_chat_parts *p)
{
    p->m = (lh_chat_message){.role = {"user", 4}, .content = {a->question, strlen(a->question)}};
    lh_schema_init(&lh_chat_retrieve_schema, &p->r);
    p->r.corpora = a->n_corpora ? (lh_strs){(lh_str *)a->corpora, a->n_corpora} : (lh_strs){0};
    p->r.mode = a->mode ? (lh_str){a->mode, strlen(a->mode)} : (lh_str){0};
    if (a->k)
        LH_SET(&p->r, k, a->k);
    lh_schema_init(&lh_chat_complete_request_schema, &p->req);
    p->req.messages = (lh_objs){&p->m, 1};
    p->req.model = a->model ? (lh_str){a->model, strlen(a->model)} : (lh_str){0};
    p->req.retrieve = a->n_corpora || a->k || a->mode ? &p->r : NULL;
    if (a->max_tokens)
        LH_SET(&p->req, max_tokens, a->max_tokens);
}

static void lh_chat_pack(const lh_chat_args *a, lh_buf *out)
{
    lh_chat_parts p;
    lh_chat_request_of(a, &p);
    lh_message_encode_given(lh_ep_chat_complete.request, &p.req, out);
}

/* Everything after the answer's text: its citations and usage. */
static void lh_chat_show_sources(const lh_chat_complete_reply *r, FILE *out)
{
    const lh_chat_citation *c = r->citations.v;
    if (r->citations.n)
        fputs("\ncitations:\n", out);
    for (size_t i = 0; i < r->citations.n; i++)
        fprintf(out, "  [%lld] %.*s/%.*s: %.*s\n", (long long)c[i].n, (int)c[i].corpus.len,
                c[i].corpus.s, (int)c[i].id.len, c[i].id.s, (int)c[i].snippet.len,
                c[i].snippet.s);
    const lh_chat_usage *u = r->usage;
    fprintf(out, "(%.*s, %lld + %lld tokens%s)\n", (int)r->model.len, r->model.s,
            u ? (long long)u->prompt_tokens : 0, u ? (long long)u->completion_tokens : 0,
            u && u->estimated ? ", estimated" : "");
}

static void lh_chat_show(const lh_chat_complete_reply *r, FILE *out)
{
    const lh_chat_message *m = r->message;
    if (m)
        fprintf(out, "%.*s\n", (int)m->content.len, m->content.s);
    lh_chat_show_sources(r, out);
}

/* ---- streamed ---- */

static bool lh_chat_print_piece(void *user, const void *chunk)
{
    const lh_chat_chunk *c = chunk;
    size_t *printed = user;
    fwrite(c->delta.s, 1, c->delta.len, stdout);
    fflush(stdout); /* each piece as it comes, which is the point */
    *printed += c->delta.len;
    return !ferror(stdout);
}

static int lh_chat_stream(const lh_chat_args *a, int timeout_ms)
{
    lh_chat_parts p;
    lh_chat_request_of(a, &p);
    LH_SET(&p.req, stream, true);
    lh_conn *conn = NULL;
    lh_err *err = lh_cli_connect(a->data_dir, "lakehouse-chat", &conn);
    lh_arena *arena = lh_arena_create();
    lh_chat_complete_reply *rep = NULL;
    size_t printed = 0;
    if (!err)
        err = lh_call_stream(conn, &lh_ep_chat_complete, &p.req, &lh_chat_chunk_schema,
                             lh_chat_print_piece, &printed, arena, (void **)&rep, timeout_ms);
    if (printed)
        putchar('\n');
    if (!err)
        lh_chat_show_sources(rep, stdout);
    lh_conn_destroy(conn);
    nats_Close();
    lh_arena_destroy(arena);
    return err ? lh_cli_bus_error(err) : LH_EXIT_OK;
}

static int lh_chat_print(const lh_chat_args *a, const lh_buf *reply)
{
    lh_arena *arena = lh_arena_create();
    lh_buf json;
    lh_buf_init(&json);
    lh_chat_complete_reply *rep = NULL;
    lh_err *err = a->json ? lh_msgpack_to_json(reply->data, reply->len, &json)
                          : lh_reply_decode(&lh_ep_chat_complete, reply->data, reply->len, arena,
                                            (void **)&rep);
    if (!err && a->json)
        printf("%s\n", lh_buf_cstr(&json));
    else if (!err)
        lh_chat_show(rep, stdout);
    int rc = err ? lh_cli_fail(&lh_cmd_chat, "unreadable reply: %s", lh_err_message(err))
                 : LH_EXIT_OK;
    lh_err_free(err);
    lh_buf_free(&json);
    lh_arena_destroy(arena);
    return rc;
}

static int lh_chat_run(int argc, char **argv)
{
    lh_chat_args args = {0};
    int rc = lh_chat_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_cli_quiet_logs();
    lh_config cfg;
    lh_config_load(&cfg);
    if (!args.json && !args.no_stream)
        return lh_chat_stream(&args, cfg.request_timeout_ms);
    lh_buf body, reply;
    lh_buf_init(&body);
    lh_buf_init(&reply);
    lh_chat_pack(&args, &body);
    lh_err *err = lh_cli_request(args.data_dir, "lakehouse-chat", lh_ep_chat_complete.subject,
                                 &body, cfg.request_timeout_ms, &reply);
    rc = err ? lh_cli_bus_error(err) : lh_chat_print(&args, &reply);
    lh_buf_free(&body);
    lh_buf_free(&reply);
    return rc;
}

const lh_command lh_cmd_chat = {
    .name = "chat",
    .run = lh_chat_run,
    .summary = "ask a question, answered from the indexed documents with citations",
    .usage = lh_chat_usage_text,
};
