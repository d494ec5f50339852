/*
 * cmd_lineage.c — `lakehouse lineage NODE [--up|--down] [--depth N]
 * [--json]`: where a node came from and what was made from it
 * (pathway.trace), printed as trees, or pathwayd's reply as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/config.h"
#include "bus/json.h"
#include "bus/request.h"
#include "bus/strmap.h"
#include "ops/cli.h"
#include "schemas/pathway.h"

static const char lh_lineage_usage[] =
    "usage: lakehouse lineage NODE [--up | --down] [--depth N] [--json] [--data-dir DIR]\n"
    "\n"
    "Prints where NODE came from (<-) and what was made from it (->), as trees,\n"
    "from pathwayd's lineage graph. A node is `kind:name`:\n"
    "  object:BUCKET/KEY@SHA256   dataset:NAME@VERSION   index:NAME\n"
    "  query:SHA256               chat:ID                (or a kind recorded from outside)\n"
    "\n"
    "  --up            only where it came from\n"
    "  --down          only what was made from it\n"
    "  --depth N       how many steps away (1 to 50, default 5)\n"
    "  --json          print pathwayd's reply (nodes and edges) as JSON\n"
    "  --data-dir DIR  whose stack to ask when $LH_NATS_URL is not set\n"
    "\n"
    "example: lakehouse lineage dataset:notes@1 --down\n";

enum { LH_LN_UP, LH_LN_DOWN, LH_LN_DEPTH, LH_LN_JSON, LH_LN_DATA_DIR, LH_LN_N_OPTS };

typedef struct lh_lineage_args {
    const char *node, *direction, *data_dir;
    int depth;
    bool json;
} lh_lineage_args;

static int lh_lineage_option(lh_lineage_args *a, int opt, const char *v)
{
    switch (opt) {
    case LH_LN_UP: a->direction = "up"; return LH_EXIT_OK;
    case LH_LN_DOWN: a->direction = "down"; return LH_EXIT_OK;
    case LH_LN_DEPTH:
        return lh_cli_parse_int(v, 1, LH_PATHWAY_MAX_DEPTH, &a->depth)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(&lh_cmd_lineage, "--depth expects 1 to %d, not '%s'",
                                        LH_PATHWAY_MAX_DEPTH, v);
    case LH_LN_JSON: a->json = true; return LH_EXIT_OK;
    default: a->data_dir = v; return LH_EXIT_OK;
    }
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_lineage_parse(int argc, char **argv, lh_lineage_args *a)
{
    static const lh_cli_opt opts[] = {
        [LH_LN_UP] = {"up", false},       [LH_LN_DOWN] = {"down", false},
        [LH_LN_DEPTH] = {"depth", true},  [LH_LN_JSON] = {"json", false},
        [LH_LN_DATA_DIR] = {"data-dir", true},
    };
    const lh_command *c = &lh_cmd_lineage;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, c, opts, LH_LN_N_OPTS, argc, argv);
    int opt, rc = LH_EXIT_OK;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END:
            return a->node ? -1 : lh_cli_usage_error(c, "which node? (dataset:NAME@VERSION)");
        case LH_CLI_HELP: lh_cli_print_usage(c, stdout); return LH_EXIT_OK;
        case LH_CLI_ERROR: return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            if (a->node)
                return lh_cli_usage_error(c, "unexpected argument '%s'", value);
            a->node = value;
            break;
        case LH_CLI_OPTION: rc = lh_lineage_option(a, opt, value); break;
        }
        if (rc)
            return rc;
    }
}

static const lh_pathway_node *lh_lineage_node(const lh_pathway_trace_reply *t, lh_str id)
{
    const lh_pathway_node *n = t->nodes.v;
    for (size_t i = 0; i < t->nodes.n; i++)
        if (lh_str_equal(n[i].id, id))
            return &n[i];
    return NULL;
}

static void lh_lineage_end_line(const lh_pathway_node *n)
{
    if (n && n->deleted.s)
        printf("  deleted %.*s", (int)n->deleted.len, n->deleted.s);
    putchar('\n');
}

/* The edges from (down) or into (up) `id`, each a line, then theirs; a
 * node met again is named, not followed again (lineage that rejoins would
 * otherwise print its branches over and over). */
static void lh_lineage_tree(const lh_pathway_trace_reply *t, lh_str id, bool down, int level,
                            int depth, lh_strmap *shown)
{
    const lh_pathway_edge *e = t->edges.v;
    for (size_t i = 0; i < t->edges.n && level < depth; i++) {
        if (!lh_str_equal(down ? e[i].from : e[i].to, id))
            continue;
        lh_str next = down ? e[i].to : e[i].from;
        bool again = lh_strmap_get(shown, next.s, next.len) != LH_STRMAP_ABSENT;
        printf("%*s%s %-7.*s %.*s  (%.*s)%s", 2 + 4 * level, "", down ? "->" : "<-",
               (int)e[i].step.len, e[i].step.s, (int)next.len, next.s, (int)e[i].time.len,
               e[i].time.s, again ? "  (above)" : "");
        lh_lineage_end_line(lh_lineage_node(t, next));
        if (again)
            continue;
        lh_strmap_put(shown, next.s, next.len, 1);
        lh_lineage_tree(t, next, down, level + 1, depth, shown);
    }
}

static void lh_lineage_show(const lh_lineage_args *a, const lh_pathway_trace_reply *t)
{
    printf("%.*s", (int)t->node.len, t->node.s);
    lh_lineage_end_line(lh_lineage_node(t, t->node));
    int depth = a->depth ? a->depth : 5;
    lh_strmap shown = {0};
    if (!a->direction || !strcmp(a->direction, "up"))
        lh_lineage_tree(t, t->node, false, 0, depth, &shown);
    lh_strmap_free(&shown);
    if (!a->direction || !strcmp(a->direction, "down"))
        lh_lineage_tree(t, t->node, true, 0, depth, &shown);
    lh_strmap_free(&shown);
    if (t->truncated)
        printf("(cut at %zu nodes)\n", t->nodes.n);
}

static int lh_lineage_print(const lh_lineage_args *a, const lh_buf *reply)
{
    lh_arena *arena = lh_arena_create();
    lh_buf json;
    lh_buf_init(&json);
    lh_pathway_trace_reply *rep = NULL;
    lh_err *err = a->json ? lh_msgpack_to_json(reply->data, reply->len, &json)
                          : lh_reply_decode(&lh_ep_pathway_trace, reply->data, reply->len,
                                            arena, (void **)&rep);
    if (!err && a->json)
        printf("%s\n", lh_buf_cstr(&json));
    else if (!err)
        lh_lineage_show(a, rep);
    int rc = err ? lh_cli_fail(&lh_cmd_lineage, "unreadable reply: %s", lh_err_message(err))
                 : LH_EXIT_OK;
    lh_err_free(err);
    lh_buf_free(&json);
    lh_arena_destroy(arena);
    return rc;
}

static int lh_lineage_run(int argc, char **argv)
{
    lh_lineage_args args = {0};
    int rc = lh_lineage_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_cli_quiet_logs();
    lh_pathway_trace_request req = {.node = {args.node, strlen(args.node)}};
    if (args.direction)
        req.direction = (lh_str){args.direction, strlen(args.direction)};
    if (args.depth)
        LH_SET(&req, depth, args.depth);
    lh_buf body, reply;
    lh_buf_init(&body);
    lh_buf_init(&reply);
    lh_message_encode_given(lh_ep_pathway_trace.request, &req, &body);
    lh_config cfg;
    lh_config_load(&cfg);
    lh_err *err = lh_cli_request(args.data_dir, "lakehouse-lineage", lh_ep_pathway_trace.subject,
                                 &body, cfg.request_timeout_ms, &reply);
    rc = err ? lh_cli_bus_error(err) : lh_lineage_print(&args, &reply);
    lh_buf_free(&body);
    lh_buf_free(&reply);
    return rc;
}

const lh_command lh_cmd_lineage = {
    .name = "lineage",
    .run = lh_lineage_run,
    .summary = "print where a dataset, object or index came from, and what was made from it",
    .usage = lh_lineage_usage,
};
