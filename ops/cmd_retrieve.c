/*
 * cmd_retrieve.c — `lakehouse retrieve "query" --corpus A [--corpus B]`:
 * one matrix.retrieve on the bus, printed as a table of rank, corpus, id,
 * fused score, the ranks behind it and the snippet (or the start of the
 * text), or matrixd's reply as JSON with --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/config.h"
#include "bus/json.h"
#include "bus/request.h"
#include "ops/cli.h"
#include "schemas/matrix.h"

#define LH_RETRIEVE_SHOWN_BYTES 72 /* of each snippet, so a row fits a terminal */

static const char lh_retrieve_usage[] =
    "usage: lakehouse retrieve QUERY --corpus NAME [--corpus NAME]... [--mode M]\n"
    "                          [--k N] [--candidates N] [--filter JSON] [--json]\n"
    "                          [--data-dir DIR]\n"
    "\n"
    "Finds the items that best answer QUERY in the named vector indexes, by vectors\n"
    "and by keywords at once, the rankings fused (matrix.retrieve), and prints them\n"
    "best first.\n"
    "\n"
    "  --corpus NAME    a vector index to search (1 to 16)\n"
    "  --mode M         hybrid (default), vector or keyword\n"
    "  --k N            hits to show (default 10)\n"
    "  --candidates N   hits taken from each ranking before fusion (default 50)\n"
    "  --filter JSON    metadata equality, e.g. '{\"lang\":\"en\"}'\n"
    "  --json           print matrixd's reply as JSON instead of a table\n"
    "  --data-dir DIR   whose stack to ask when $LH_NATS_URL is not set\n"
    "\n"
    "Ranks are shown as v<rank> and k<rank> (vector, keyword); snippets mark the\n"
    "matched words with [ ]. Exits 1 with `error CODE: MESSAGE` when refused.\n"
    "\n"
    "example: lakehouse retrieve 'disk full error' --corpus docs --corpus tickets\n";

enum { LH_RT_CORPUS, LH_RT_MODE, LH_RT_K, LH_RT_CANDIDATES, LH_RT_FILTER, LH_RT_JSON,
       LH_RT_DATA_DIR, LH_RT_N_OPTS };

typedef struct lh_retrieve_args {
    const char *query;
    lh_str corpora[LH_MATRIX_MAX_CORPORA];
    size_t n_corpora;
    const char *mode;
    int k, candidates; /* 0: matrixd's default */
    const char *filter;
    bool json;
    const char *data_dir;
} lh_retrieve_args;

static int lh_retrieve_option(lh_retrieve_args *a, int opt, const char *v)
{
    const lh_command *c = &lh_cmd_retrieve;
    switch (opt) {
    case LH_RT_CORPUS:
        if (a->n_corpora == LH_MATRIX_MAX_CORPORA)
            return lh_cli_usage_error(c, "at most %d corpora", LH_MATRIX_MAX_CORPORA);
        a->corpora[a->n_corpora++] = (lh_str){v, strlen(v)};
        return LH_EXIT_OK;
    case LH_RT_MODE:
        if (strcmp(v, "hybrid") && strcmp(v, "vector") && strcmp(v, "keyword"))
            return lh_cli_usage_error(c, "--mode is hybrid, vector or keyword, not '%s'", v);
        a->mode = v;
        return LH_EXIT_OK;
    case LH_RT_K:
        return lh_cli_parse_int(v, 1, LH_MATRIX_MAX_K, &a->k)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--k expects 1 to %d, not '%s'", LH_MATRIX_MAX_K, v);
    case LH_RT_CANDIDATES:
        return lh_cli_parse_int(v, 1, LH_MATRIX_MAX_CANDIDATES, &a->candidates)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--candidates expects 1 to %d, not '%s'",
                                        LH_MATRIX_MAX_CANDIDATES, v);
    case LH_RT_FILTER: a->filter = v; return LH_EXIT_OK;
    case LH_RT_JSON: a->json = true; return LH_EXIT_OK;
    default: a->data_dir = v; return LH_EXIT_OK;
    }
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_retrieve_parse(int argc, char **argv, lh_retrieve_args *a)
{
    static const lh_cli_opt opts[] = {
        [LH_RT_CORPUS] = {"corpus", true},   [LH_RT_MODE] = {"mode", true},
        [LH_RT_K] = {"k", true},             [LH_RT_CANDIDATES] = {"candidates", true},
        [LH_RT_FILTER] = {"filter", true},   [LH_RT_JSON] = {"json", false},
        [LH_RT_DATA_DIR] = {"data-dir", true},
    };
    const lh_command *c = &lh_cmd_retrieve;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, c, opts, LH_RT_N_OPTS, argc, argv);
    int opt, rc = LH_EXIT_OK;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END:
            if (!a->query)
                return lh_cli_usage_error(c, "give the QUERY");
            return a->n_corpora ? -1 : lh_cli_usage_error(c, "name at least one --corpus");
        case LH_CLI_HELP: lh_cli_print_usage(c, stdout); return LH_EXIT_OK;
        case LH_CLI_ERROR: return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            rc = a->query ? lh_cli_usage_error(c, "unexpected argument '%s' (quote the query "
                                               "as one argument)", value)
                          : (a->query = value, LH_EXIT_OK);
            break;
        case LH_CLI_OPTION: rc = lh_retrieve_option(a, opt, value); break;
        }
        if (rc)
            return rc;
    }
}

/* The request, or a usage error for a --filter that is not JSON. */
static int lh_retrieve_pack(const lh_retrieve_args *a, lh_buf *filter, lh_buf *out)
{
    lh_matrix_retrieve_request req = {
        .query = {a->query, strlen(a->query)},
        .corpora = {(lh_str *)a->corpora, a->n_corpora},
        .mode = a->mode ? (lh_str){a->mode, strlen(a->mode)} : (lh_str){0},
    };
    if (a->k)
        LH_SET(&req, k, a->k);
    if (a->candidates)
        LH_SET(&req, candidates, a->candidates);
    if (a->filter) {
        lh_err *err = lh_json_to_msgpack(a->filter, strlen(a->filter), filter);
        if (err) {
            int rc = lh_cli_usage_error(&lh_cmd_retrieve, "--filter is not JSON: %s",
                                        lh_err_message(err));
            lh_err_free(err);
            return rc;
        }
        req.filter = (lh_raw){filter->data, filter->len};
    }
    lh_message_encode_given(lh_ep_matrix_retrieve.request, &req, out);
    return LH_EXIT_OK;
}

/* ---- the table ---- */

/* Up to `cap` bytes of s with runs of white space made one space, cut on
 * a UTF-8 character boundary, "..." when cut. */
static void lh_retrieve_clip(lh_str s, size_t cap, lh_buf *out)
{
    lh_buf_reset(out);
    bool space = false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.s[i];
        bool ws = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
        if (ws) {
            space = out->len > 0;
            continue;
        }
        if (out->len + space >= cap && (ch & 0xC0) != 0x80) {
            lh_buf_append_str(out, "...");
            break;
        }
        if (space)
            lh_buf_append(out, " ", 1);
        space = false;
        lh_buf_append(out, &s.s[i], 1);
    }
    lh_buf_cstr(out);
}

static void lh_retrieve_ranks(const lh_matrix_hit *h, char *buf, size_t cap)
{
    const lh_matrix_ranks *r = h->ranks;
    int n = 0;
    buf[0] = '\0';
    if (r && r->has_vector)
        n = snprintf(buf, cap, "v%lld", (long long)r->vector);
    if (r && r->has_keyword)
        snprintf(buf + n, cap - (size_t)n, "%sk%lld", n ? " " : "", (long long)r->keyword);
}

static void lh_retrieve_table(const lh_matrix_retrieve_reply *rep, FILE *out)
{
    const lh_matrix_hit *hits = rep->hits.v;
    int wc = 6, wi = 2;
    for (size_t i = 0; i < rep->hits.n; i++) {
        wc = hits[i].corpus.len > (size_t)wc ? (int)hits[i].corpus.len : wc;
        wi = hits[i].id.len > (size_t)wi ? (int)hits[i].id.len : wi;
    }
    fprintf(out, "%4s  %-*s  %-*s  %-8s  %-10s  %s\n", "rank", wc, "corpus", wi, "id", "score",
            "ranks", "snippet");
    lh_buf clip;
    lh_buf_init(&clip);
    for (size_t i = 0; i < rep->hits.n; i++) {
        const lh_matrix_hit *h = &hits[i];
        char ranks[48];
        lh_retrieve_ranks(h, ranks, sizeof ranks);
        lh_retrieve_clip(h->snippet.s ? h->snippet : h->text, LH_RETRIEVE_SHOWN_BYTES, &clip);
        fprintf(out, "%4zu  %-*.*s  %-*.*s  %-8.5f  %-10s  %s\n", i + 1, wc, (int)h->corpus.len,
                h->corpus.s, wi, (int)h->id.len, h->id.s, h->score, ranks, clip.data);
    }
    lh_buf_free(&clip);
    fprintf(out, "(%zu hit%s, %s, %.1f ms)\n", rep->hits.n, rep->hits.n == 1 ? "" : "s",
            rep->mode.s ? rep->mode.s : "hybrid", rep->took_ms);
    const lh_matrix_corpus_report *per = rep->per_corpus.v;
    for (size_t i = 0; i < rep->per_corpus.n; i++)
        if (per[i].error.s)
            fprintf(stderr, "warning: corpus '%.*s' left out: %.*s\n", (int)per[i].corpus.len,
                    per[i].corpus.s, (int)per[i].error.len, per[i].error.s);
}

static int lh_retrieve_print(const lh_retrieve_args *a, const lh_buf *reply)
{
    lh_arena *arena = lh_arena_create();
    lh_buf json;
    lh_buf_init(&json);
    lh_matrix_retrieve_reply *rep = NULL;
    lh_err *err = a->json ? lh_msgpack_to_json(reply->data, reply->len, &json)
                          : lh_reply_decode(&lh_ep_matrix_retrieve, reply->data, reply->len,
                                            arena, (void **)&rep);
    if (!err && a->json)
        printf("%s\n", lh_buf_cstr(&json));
    else if (!err)
        lh_retrieve_table(rep, stdout);
    int rc = err ? lh_cli_fail(&lh_cmd_retrieve, "unreadable reply: %s", lh_err_message(err))
                 : LH_EXIT_OK;
    lh_err_free(err);
    lh_buf_free(&json);
    lh_arena_destroy(arena);
    return rc;
}

static int lh_retrieve_run(int argc, char **argv)
{
    lh_retrieve_args args = {0};
    int rc = lh_retrieve_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_cli_quiet_logs();
    lh_buf filter, body, reply;
    lh_buf_init(&filter);
    lh_buf_init(&body);
    lh_buf_init(&reply);
    rc = lh_retrieve_pack(&args, &filter, &body);
    if (!rc) {
        lh_config cfg;
        lh_config_load(&cfg);
        lh_err *err = lh_cli_request(args.data_dir, "lakehouse-retrieve",
                                     lh_ep_matrix_retrieve.subject, &body,
                                     cfg.request_timeout_ms, &reply);
        rc = err ? lh_cli_bus_error(err) : lh_retrieve_print(&args, &reply);
    }
    lh_buf_free(&filter);
    lh_buf_free(&body);
    lh_buf_free(&reply);
    return rc;
}

const lh_command lh_cmd_retrieve = {
    .name = "retrieve",
    .run = lh_retrieve_run,
    .summary = "find the passages that answer a query across vector indexes",
    .usage = lh_retrieve_usage,
};
