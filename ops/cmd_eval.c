/*
 * cmd_eval.c — `lakehouse eval retrieval --corpus NAME --queries FILE`:
 * asks matrix.retrieve every query of a JSON Lines file
 * ({"query": ..., "relevant": [ids], "split"?: ...} per line) in each
 * mode, keyword, vector and hybrid, and prints recall@1, recall@10,
 * MRR@10, nDCG@10 and the time per query side by side (or as JSON).
 * Retrieval quality is a product feature: an operator measures it on
 * their own corpus with the same path the application uses.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/buf.h"
#include "bus/clock.h"
#include "bus/config.h"
#include "bus/json.h"
#include "bus/request.h"
#include "ops/cli.h"
#include "ops/eval_metrics.h"
#include "schemas/matrix.h"

/* One line of the queries file. Other keys are passed over. */
#define LH_EVAL_QUERY(F, T)                                                                 \
    F(T, query, STRING, .required = true, .flags = LH_F_NONBLANK, .doc = "The query.")      \
    F(T, relevant, STRINGS, .required = true, .min = 1, .doc = "Ids that answer it.")       \
    F(T, split, STRING, .doc = "Which part of the set the line belongs to.")
LH_SCHEMA_DECLARE(lh_eval_query, LH_EVAL_QUERY)
LH_SCHEMA_DEFINE(lh_eval_query, LH_EVAL_QUERY, "One evaluation query.")

static const char lh_eval_usage[] =
    "usage: lakehouse eval retrieval --corpus NAME --queries FILE [--split S]\n"
    "                                [--modes LIST] [--candidates N] [--rrf-k N]\n"
    "                                [--weights V,K]\n"
    "                                [--limit N] [--json] [--data-dir DIR]\n"
    "\n"
    "Measures retrieval on vector index NAME: every line of FILE is a JSON object\n"
    "{\"query\": \"...\", \"relevant\": [\"id\", ...]} (an optional \"split\" names its\n"
    "part of the set). Each query is asked with matrix.retrieve (k 10) in each mode\n"
    "and the answers are scored against its relevant ids.\n"
    "\n"
    "  --corpus NAME     the vector index to search (required)\n"
    "  --queries FILE    the JSON Lines file (required)\n"
    "  --split S         only the lines whose \"split\" is S\n"
    "  --modes LIST      comma-separated, of keyword, vector, hybrid (default: all)\n"
    "  --candidates N    hits per ranking before fusion (matrixd's default 50)\n"
    "  --rrf-k N         the fusion constant (matrixd's default 5)\n"
    "  --weights V,K     weights of the vector and keyword rankings (default 0.4,1)\n"
    "  --limit N         only the first N queries\n"
    "  --json            print the figures as JSON\n"
    "  --data-dir DIR    whose stack to ask when $LH_NATS_URL is not set\n"
    "\n"
    "Prints, per mode: recall@1, recall@10, MRR@10, nDCG@10 (binary relevance) and\n"
    "the mean and median milliseconds per query (one query at a time).\n"
    "\n"
    "example: lakehouse eval retrieval --corpus man --queries queries.jsonl\n";

enum { LH_EV_CORPUS, LH_EV_QUERIES, LH_EV_SPLIT, LH_EV_MODES, LH_EV_CANDIDATES, LH_EV_RRF_K,
       LH_EV_WEIGHTS, LH_EV_LIMIT, LH_EV_JSON, LH_EV_DATA_DIR, LH_EV_N_OPTS };

static const char *const lh_eval_all_modes[] = {"keyword", "vector", "hybrid"};
#define LH_EVAL_N_MODES 3

typedef struct lh_eval_args {
    const char *what; /* "retrieval" */
    const char *corpus, *queries, *split, *data_dir;
    bool modes[LH_EVAL_N_MODES];
    int candidates, rrf_k, limit; /* 0 (rrf_k -1): matrixd's default / no limit */
    lh_matrix_weights weights;    /* has_: given */
    bool json;
} lh_eval_args;

static int lh_eval_modes(lh_eval_args *a, const char *list)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < LH_EVAL_N_MODES && strcmp(m, lh_eval_all_modes[i]))
            i++;
        if (i == LH_EVAL_N_MODES)
            return lh_cli_usage_error(&lh_cmd_eval, "--modes: unknown mode '%s' (keyword, "
                                      "vector, hybrid)", m);
        a->modes[i] = true;
    }
    return LH_EXIT_OK;
}

static int lh_eval_option(lh_eval_args *a, int opt, const char *v)
{
    const lh_command *c = &lh_cmd_eval;
    switch (opt) {
    case LH_EV_CORPUS: a->corpus = v; return LH_EXIT_OK;
    case LH_EV_QUERIES: a->queries = v; return LH_EXIT_OK;
    case LH_EV_SPLIT: a->split = v; return LH_EXIT_OK;
    case LH_EV_MODES: return lh_eval_modes(a, v);
    case LH_EV_CANDIDATES:
        return lh_cli_parse_int(v, 1, LH_MATRIX_MAX_CANDIDATES, &a->candidates)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--candidates expects 1 to %d, not '%s'",
                                        LH_MATRIX_MAX_CANDIDATES, v);
    case LH_EV_RRF_K:
        return lh_cli_parse_int(v, 0, 100000, &a->rrf_k)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--rrf-k expects 0 to 100000, not '%s'", v);
    case LH_EV_WEIGHTS: {
        char *end = NULL, *mid = NULL;
        double wv = strtod(v, &mid), wk = -1;
        if (mid != v && *mid == ',')
            wk = strtod(mid + 1, &end);
        bool ok = end && end != mid + 1 && !*end && isfinite(wv) && isfinite(wk);
        if (!ok || wv < 0 || wk < 0 || wv > 1000 || wk > 1000)
            return lh_cli_usage_error(c, "--weights expects VECTOR,KEYWORD (each 0 to 1000), "
                                      "not '%s'", v);
        LH_SET(&a->weights, vector, wv);
        LH_SET(&a->weights, keyword, wk);
        return LH_EXIT_OK;
    }
    case LH_EV_LIMIT:
        return lh_cli_parse_int(v, 1, 100000000, &a->limit)
                   ? LH_EXIT_OK
                   : lh_cli_usage_error(c, "--limit expects a positive count, not '%s'", v);
    case LH_EV_JSON: a->json = true; return LH_EXIT_OK;
    default: a->data_dir = v; return LH_EXIT_OK;
    }
}

static int lh_eval_check(lh_eval_args *a)
{
    const lh_command *c = &lh_cmd_eval;
    if (!a->what)
        return lh_cli_usage_error(c, "say what to evaluate: `lakehouse eval retrieval ...`");
    if (strcmp(a->what, "retrieval"))
        return lh_cli_usage_error(c, "can evaluate 'retrieval', not '%s'", a->what);
    if (!a->corpus || !a->queries)
        return lh_cli_usage_error(c, "--corpus and --queries are required");
    if (!a->modes[0] && !a->modes[1] && !a->modes[2])
        a->modes[0] = a->modes[1] = a->modes[2] = true;
    return -1;
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_eval_parse(int argc, char **argv, lh_eval_args *a)
{
    static const lh_cli_opt opts[] = {
        [LH_EV_CORPUS] = {"corpus", true},         [LH_EV_QUERIES] = {"queries", true},
        [LH_EV_SPLIT] = {"split", true},           [LH_EV_MODES] = {"modes", true},
        [LH_EV_CANDIDATES] = {"candidates", true}, [LH_EV_RRF_K] = {"rrf-k", true},
        [LH_EV_WEIGHTS] = {"weights", true},       [LH_EV_LIMIT] = {"limit", true},
        [LH_EV_JSON] = {"json", false},
        [LH_EV_DATA_DIR] = {"data-dir", true},
    };
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, &lh_cmd_eval, opts, LH_EV_N_OPTS, argc, argv);
    a->rrf_k = -1;
    int opt, rc = LH_EXIT_OK;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END: return lh_eval_check(a);
        case LH_CLI_HELP: lh_cli_print_usage(&lh_cmd_eval, stdout); return LH_EXIT_OK;
        case LH_CLI_ERROR: return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            rc = a->what ? lh_cli_usage_error(&lh_cmd_eval, "unexpected argument '%s'", value)
                         : (a->what = value, LH_EXIT_OK);
            break;
        case LH_CLI_OPTION: rc = lh_eval_option(a, opt, value); break;
        }
        if (rc)
            return rc;
    }
}

/* ---- the queries ---- */

typedef struct lh_eval_set {
    lh_eval_query **v;
    size_t n, cap;
} lh_eval_set;

static lh_err *lh_eval_line(const lh_eval_args *a, const char *line, size_t len, lh_arena *arena,
                            lh_eval_set *set)
{
    lh_buf mp;
    lh_buf_init(&mp);
    lh_eval_query *q = NULL;
    lh_err *err = lh_json_to_msgpack(line, len, &mp);
    if (!err)
        err = lh_schema_decode_reply(&lh_eval_query_schema, mp.data, mp.len, arena, (void **)&q);
    lh_buf_free(&mp);
    if (err)
        return err;
    for (size_t i = 1; i < q->relevant.n; i++)
        for (size_t j = 0; j < i; j++)
            if (q->relevant.v[i].len == q->relevant.v[j].len &&
                !memcmp(q->relevant.v[i].s, q->relevant.v[j].s, q->relevant.v[i].len))
                return lh_err_new(LH_EBADREQ, "relevant", "relevant id '%.*s' is listed twice",
                                  (int)q->relevant.v[i].len, q->relevant.v[i].s);
    if (a->split && (!q->split.s || strlen(a->split) != q->split.len ||
                     memcmp(a->split, q->split.s, q->split.len)))
        return NULL;
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 256;
        set->v = realloc(set->v, set->cap * sizeof *set->v);
        if (!set->v)
            abort(); /* out of memory: as lh_buf does, we do not limp on */
    }
    set->v[set->n++] = q;
    return NULL;
}

static int lh_eval_read(const lh_eval_args *a, lh_arena *arena, lh_eval_set *set)
{
    FILE *f = fopen(a->queries, "r");
    if (!f)
        return lh_cli_fail(&lh_cmd_eval, "cannot open %s: %s", a->queries, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = LH_EXIT_OK;
    for (size_t no = 1; !rc && (len = getline(&line, &cap, f)) > 0; no++) {
        if (strspn(line, " \t\r\n") == (size_t)len)
            continue;
        lh_err *err = lh_eval_line(a, line, (size_t)len, arena, set);
        if (err)
            rc = lh_cli_fail(&lh_cmd_eval, "%s:%zu: %s", a->queries, no, lh_err_message(err));
        lh_err_free(err);
        if (a->limit && set->n == (size_t)a->limit)
            break;
    }
    free(line);
    fclose(f);
    if (!rc && !set->n)
        rc = lh_cli_fail(&lh_cmd_eval, "%s has no queries%s%s", a->queries,
                         a->split ? " in split " : "", a->split ? a->split : "");
    return rc;
}

/* ---- asking ---- */

static lh_err *lh_eval_ask(lh_conn *conn, const lh_eval_args *a, const char *mode,
                           const lh_eval_query *q, int timeout_ms, lh_eval_sums *sums)
{
    lh_str corpus = {a->corpus, strlen(a->corpus)};
    lh_matrix_retrieve_request req;
    lh_schema_init(&lh_matrix_retrieve_request_schema, &req); /* lh_call sends every default */
    req.query = q->query;
    req.corpora = (lh_strs){&corpus, 1};
    req.mode = (lh_str){mode, strlen(mode)};
    LH_SET(&req, k, LH_EVAL_DEPTH);
    LH_SET(&req, include_text, false);
    if (a->candidates)
        LH_SET(&req, candidates, a->candidates);
    if (a->rrf_k >= 0)
        LH_SET(&req, rrf_k, a->rrf_k);
    if (a->weights.has_vector)
        req.weights = (lh_matrix_weights *)&a->weights;
    lh_arena *arena = lh_arena_create();
    lh_matrix_retrieve_reply *rep = NULL;
    uint64_t t0 = lh_clock_ns();
    lh_err *err = lh_call(conn, &lh_ep_matrix_retrieve, &req, arena, (void **)&rep, timeout_ms);
    double ms = (double)(lh_clock_ns() - t0) / 1e6;
    const lh_matrix_corpus_report *per = err ? NULL : rep->per_corpus.v;
    if (per && per[0].error.s) /* a partial answer would be scored as the mode's */
        err = lh_err_new(per[0].has_status ? (int)per[0].status : LH_EINTERNAL, NULL,
                         "corpus '%s' answered only in part: %.*s", a->corpus,
                         (int)per[0].error.len, per[0].error.s);
    if (!err) {
        const lh_matrix_hit *hits = rep->hits.v;
        lh_str ids[LH_EVAL_DEPTH];
        size_t n = rep->hits.n < LH_EVAL_DEPTH ? rep->hits.n : LH_EVAL_DEPTH;
        for (size_t i = 0; i < n; i++)
            ids[i] = hits[i].id;
        lh_eval_add(sums, ids, n, &q->relevant, ms);
    }
    lh_arena_destroy(arena);
    return err;
}

static lh_err *lh_eval_mode(lh_conn *conn, const lh_eval_args *a, const char *mode,
                            const lh_eval_set *set, lh_eval_sums *sums)
{
    lh_config cfg;
    lh_config_load(&cfg);
    for (size_t i = 0; i < set->n; i++) {
        lh_err *err = lh_eval_ask(conn, a, mode, set->v[i], cfg.request_timeout_ms, sums);
        if (err)
            return lh_err_wrap(err, "mode %s, query %zu", mode, i + 1);
    }
    return NULL;
}

/* ---- the figures ---- */

static void lh_eval_print(const lh_eval_args *a, size_t n_queries, lh_eval_means *m)
{
    if (a->json) {
        printf("{\"corpus\":\"%s\",\"queries\":%zu,\"k\":%d,\"modes\":[", a->corpus, n_queries,
               LH_EVAL_DEPTH);
        for (int i = 0, first = 1; i < LH_EVAL_N_MODES; i++) {
            if (!a->modes[i])
                continue;
            printf("%s{\"mode\":\"%s\",\"recall_at_1\":%.4f,\"recall_at_10\":%.4f,"
                   "\"mrr_at_10\":%.4f,\"ndcg_at_10\":%.4f,\"ms_per_query\":%.3f,"
                   "\"p50_ms\":%.3f,\"p95_ms\":%.3f}",
                   first ? "" : ",", lh_eval_all_modes[i], m[i].recall_1, m[i].recall_10,
                   m[i].mrr_10, m[i].ndcg_10, m[i].ms_mean, m[i].ms_p50, m[i].ms_p95);
            first = 0;
        }
        printf("]}\n");
        return;
    }
    printf("corpus %s, %zu queries, k %d\n\n", a->corpus, n_queries, LH_EVAL_DEPTH);
    printf("%-8s  %8s  %9s  %7s  %8s  %9s  %7s\n", "mode", "recall@1", "recall@10", "MRR@10",
           "nDCG@10", "ms/query", "p50 ms");
    for (int i = 0; i < LH_EVAL_N_MODES; i++)
        if (a->modes[i])
            printf("%-8s  %8.3f  %9.3f  %7.3f  %8.3f  %9.2f  %7.2f\n", lh_eval_all_modes[i],
                   m[i].recall_1, m[i].recall_10, m[i].mrr_10, m[i].ndcg_10, m[i].ms_mean,
                   m[i].ms_p50);
}

static int lh_eval_measure(const lh_eval_args *a, const lh_eval_set *set)
{
    lh_conn *conn = NULL;
    lh_err *err = lh_cli_connect(a->data_dir, "lakehouse-eval", &conn);
    lh_eval_means means[LH_EVAL_N_MODES] = {0};
    for (int i = 0; !err && i < LH_EVAL_N_MODES; i++) {
        if (!a->modes[i])
            continue;
        lh_eval_sums sums = {0};
        err = lh_eval_mode(conn, a, lh_eval_all_modes[i], set, &sums);
        means[i] = lh_eval_means_of(&sums);
        lh_eval_sums_free(&sums);
    }
    lh_conn_destroy(conn);
    nats_Close();
    if (err)
        return lh_cli_bus_error(err);
    lh_eval_print(a, set->n, means);
    return LH_EXIT_OK;
}

static int lh_eval_run(int argc, char **argv)
{
    lh_eval_args args = {0};
    int rc = lh_eval_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_cli_quiet_logs();
    lh_arena *arena = lh_arena_create();
    lh_eval_set set = {0};
    rc = lh_eval_read(&args, arena, &set);
    if (!rc)
        rc = lh_eval_measure(&args, &set);
    free(set.v);
    lh_arena_destroy(arena);
    return rc;
}

const lh_command lh_cmd_eval = {
    .name = "eval",
    .run = lh_eval_run,
    .summary = "measure retrieval quality on a set of queries with known answers",
    .usage = lh_eval_usage,
};
