/*
 * cmd_ingest.c — `lakehouse ingest FILE --dataset NAME ...`: uploads a
 * local file to storaged in 1 MiB parts over the bus (any size, bounded
 * memory), starts an ingest job on it and follows the job to its end,
 * with a progress bar on stderr when that is a terminal and plain lines
 * otherwise. Exit 0 when the job succeeded, 1 when anything failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/tabular/tabular.h"
#include "bus/clock.h"
#include "bus/actor.h"
#include "bus/buf.h"
#include "bus/config.h"
#include "bus/conn.h"
#include "bus/request.h"
#include "bus/schema.h"
#include "ops/cli.h"
#include "ops/stack.h"
#include "schemas/ingest.h"
#include "schemas/storage.h"


#define LH_POLL_MS 200

static const char lh_ingest_usage[] =
    "usage: lakehouse ingest FILE --dataset NAME [options]\n"
    "\n"
    "Uploads FILE (CSV or JSON Lines) to storage (bucket " LH_INGEST_UPLOAD_BUCKET "),\n"
    "ingests it as the next version of dataset NAME (created when missing) and\n"
    "follows the job to its end.\n"
    "\n"
    "  --dataset NAME       the dataset (required)\n"
    "  --format csv|jsonl   default: from FILE's extension (.csv, .jsonl, .ndjson)\n"
    "  --delimiter C        CSV field delimiter (default ','; 'tab' for a tab)\n"
    "  --no-header          CSV: the first line is data (columns c1, c2, ...)\n"
    "  --on-error fail|skip a malformed row fails the job (default) or is skipped\n"
    "  --embed-column C     embed text column C into vector index --index\n"
    "  --index I            the vector index (created when missing)\n"
    "  --id-column C        item ids for the index (default: the row number)\n"
    "  --timeout MS         per bus request; default $LH_REQUEST_TIMEOUT_MS or 30000\n"
    "  --data-dir DIR       whose stack to use when $LH_NATS_URL is not set\n"
    "\n"
    "example: lakehouse ingest sales.csv --dataset sales\n";

enum {
    LH_OPT_DATASET,
    LH_OPT_FORMAT,
    LH_OPT_DELIMITER,
    LH_OPT_NO_HEADER,
    LH_OPT_ON_ERROR,
    LH_OPT_EMBED_COLUMN,
    LH_OPT_INDEX,
    LH_OPT_ID_COLUMN,
    LH_OPT_TIMEOUT,
    LH_OPT_DATA_DIR,
    LH_N_OPTS
};

typedef struct lh_ingest_args {
    const char *file, *dataset, *format, *delimiter, *on_error;
    const char *embed_column, *index, *id_column, *data_dir;
    bool no_header;
    int timeout_ms;
} lh_ingest_args;

/* A connection and what every request needs. */
typedef struct lh_session {
    lh_conn *conn;
    int timeout_ms;
    lh_arena *arena;
    bool tty;
    bool embed; /* an embed column was asked for */
} lh_session;

/* ---- arguments ---- */

static int lh_ingest_option(lh_ingest_args *a, int opt, const char *v)
{
    const char **slot[LH_N_OPTS] = {
        [LH_OPT_DATASET] = &a->dataset,     [LH_OPT_FORMAT] = &a->format,
        [LH_OPT_DELIMITER] = &a->delimiter, [LH_OPT_ON_ERROR] = &a->on_error,
        [LH_OPT_EMBED_COLUMN] = &a->embed_column, [LH_OPT_INDEX] = &a->index,
        [LH_OPT_ID_COLUMN] = &a->id_column, [LH_OPT_DATA_DIR] = &a->data_dir,
    };
    if (opt == LH_OPT_NO_HEADER)
        a->no_header = true;
    else if (opt == LH_OPT_TIMEOUT && !lh_cli_parse_int(v, 1, 3600000, &a->timeout_ms))
        return lh_cli_usage_error(&lh_cmd_ingest, "--timeout expects milliseconds, not '%s'", v);
    else if (slot[opt])
        *slot[opt] = v;
    return LH_EXIT_OK;
}

static int lh_ingest_check_args(lh_ingest_args *a)
{
    const lh_command *c = &lh_cmd_ingest;
    if (!a->file)
        return lh_cli_usage_error(c, "name a FILE");
    if (!a->dataset)
        return lh_cli_usage_error(c, "--dataset is required");
    if (!a->embed_column != !a->index)
        return lh_cli_usage_error(c, "--embed-column and --index go together");
    if (a->id_column && !a->embed_column)
        return lh_cli_usage_error(c, "--id-column needs --embed-column");
    if (a->delimiter && !strcmp(a->delimiter, "tab"))
        a->delimiter = "\t";
    if (a->delimiter && strlen(a->delimiter) != 1)
        return lh_cli_usage_error(c, "--delimiter is one character (or 'tab')");
    if (a->on_error && strcmp(a->on_error, "fail") && strcmp(a->on_error, "skip"))
        return lh_cli_usage_error(c, "--on-error is fail or skip");
    lh_tab_format f;
    if (a->format && !lh_tab_format_parse(a->format, strlen(a->format), &f))
        return lh_cli_usage_error(c, "--format is csv or jsonl");
    if (!a->format && !lh_tab_format_from_key(a->file, strlen(a->file), &f))
        return lh_cli_usage_error(c, "cannot tell the format of '%s' from its name; give "
                                  "--format csv or --format jsonl", a->file);
    a->format = lh_tab_format_name(f);
    return -1;
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_ingest_parse(int argc, char **argv, lh_ingest_args *a)
{
    static const lh_cli_opt opts[LH_N_OPTS] = {
        [LH_OPT_DATASET] = {"dataset", true},     [LH_OPT_FORMAT] = {"format", true},
        [LH_OPT_DELIMITER] = {"delimiter", true}, [LH_OPT_NO_HEADER] = {"no-header", false},
        [LH_OPT_ON_ERROR] = {"on-error", true},   [LH_OPT_EMBED_COLUMN] = {"embed-column", true},
        [LH_OPT_INDEX] = {"index", true},         [LH_OPT_ID_COLUMN] = {"id-column", true},
        [LH_OPT_TIMEOUT] = {"timeout", true},     [LH_OPT_DATA_DIR] = {"data-dir", true},
    };
    lh_config cfg;
    lh_config_load(&cfg);
    memset(a, 0, sizeof *a);
    a->timeout_ms = cfg.request_timeout_ms;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, &lh_cmd_ingest, opts, LH_N_OPTS, argc, argv);
    int opt, rc = LH_EXIT_OK;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END: return lh_ingest_check_args(a);
        case LH_CLI_HELP: lh_cli_print_usage(&lh_cmd_ingest, stdout); return LH_EXIT_OK;
        case LH_CLI_ERROR: return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            rc = a->file ? lh_cli_usage_error(&lh_cmd_ingest, "unexpected argument '%s'", value)
                         : (a->file = value, LH_EXIT_OK);
            break;
        case LH_CLI_OPTION: rc = lh_ingest_option(a, opt, value); break;
        }
        if (rc)
            return rc;
    }
}

/* ---- requests ---- */

static lh_str lh_s(const char *s) { return s ? (lh_str){s, strlen(s)} : (lh_str){0}; }

static lh_err *lh_session_call(lh_session *s, const lh_contract *k, const void *req,
                               void **reply)
{
    return lh_call(s->conn, k, req, s->arena, reply, s->timeout_ms);
}

/* ---- progress ---- */

/* "\rWHAT [####......]  42%  TEXT", redrawn in place. */
static void lh_bar(const char *what, int64_t done, int64_t total, const char *text)
{
    int pct = total > 0 ? (int)(done * 100 / total) : 100;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r%-7s [%s] %3d%%  %s\033[K", what, bar, pct, text);
    fflush(stderr);
}

/* A line now and then (and always at the end) on a non-terminal. */
typedef struct lh_ticker {
    int64_t last_ms;
} lh_ticker;

static bool lh_tick(lh_ticker *t, bool force)
{
    int64_t now = lh_clock_ms();
    if (!force && now - t->last_ms < 2000)
        return false;
    t->last_ms = now;
    return true;
}

/* ---- upload ---- */

static lh_err *lh_upload_parts(lh_session *s, FILE *f, const char *upload, int64_t size)
{
    static char chunk[LH_STORAGE_MAX_PART];
    lh_ticker t = {0};
    int64_t sent = 0;
    lh_err *err = NULL;
    for (int64_t part = 1; !err; part++) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0)
            return ferror(f) ? lh_err_new(LH_EINTERNAL, NULL, "read: %s", strerror(errno)) : NULL;
        lh_storage_upload_part_request req = {
            .upload = lh_s(upload), .part = part, .data = {chunk, n}};
        lh_storage_upload_reply *rep = NULL;
        err = lh_session_call(s, &lh_ep_storage_upload_part, &req, (void **)&rep);
        lh_arena_reset(s->arena);
        sent += (int64_t)n;
        char mb[64];
        snprintf(mb, sizeof mb, "%.1f/%.1f MB", sent / 1e6, size / 1e6);
        if (!err && s->tty)
            lh_bar("upload", sent, size, mb);
        else if (!err && lh_tick(&t, sent == size))
            fprintf(stderr, "upload: %lld of %lld bytes\n", (long long)sent, (long long)size);
    }
    return err;
}

/* Uploads the file as bucket/key; `key` gets the key used. */
static lh_err *lh_upload(lh_session *s, const lh_ingest_args *a, char *key, size_t cap)
{
    FILE *f = fopen(a->file, "rb");
    if (!f)
        return lh_err_new(LH_EBADREQ, NULL, "%s: %s", a->file, strerror(errno));
    struct stat sb;
    fstat(fileno(f), &sb);
    const char *base = strrchr(a->file, '/') ? strrchr(a->file, '/') + 1 : a->file;
    char id[23];
    lh_new_id(id);
    snprintf(key, cap, "%s/%.8s-%s", a->dataset, id, base);
    lh_storage_upload_begin_request begin = {.bucket = lh_s(LH_INGEST_UPLOAD_BUCKET),
                                             .key = lh_s(key)};
    lh_storage_upload_reply *rep = NULL;
    lh_err *err = lh_session_call(s, &lh_ep_storage_upload_begin, &begin, (void **)&rep);
    char upload[65] = "";
    if (!err)
        snprintf(upload, sizeof upload, "%.*s", (int)rep->upload.len,
                 rep->upload.s ? rep->upload.s : "");
    lh_arena_reset(s->arena);
    if (!err)
        err = lh_upload_parts(s, f, upload, (int64_t)sb.st_size);
    fclose(f);
    lh_storage_upload_ref ref = {.upload = lh_s(upload)};
    void *info = NULL;
    if (!err) {
        lh_storage_upload_commit_request commit = {.upload = lh_s(upload)};
        err = lh_session_call(s, &lh_ep_storage_upload_commit, &commit, &info);
    } else if (*upload) { /* leave nothing half-written behind */
        lh_err_free(lh_session_call(s, &lh_ep_storage_upload_abort, &ref, &info));
    }
    lh_arena_reset(s->arena);
    if (s->tty)
        fputc('\n', stderr);
    return err;
}

/* ---- the job ---- */

static lh_err *lh_start_job(lh_session *s, const lh_ingest_args *a, const char *key,
                            char job[65])
{
    lh_catalog_location src = {.bucket = lh_s(LH_INGEST_UPLOAD_BUCKET), .key = lh_s(key)};
    lh_catalog_csv_options csv = {.delimiter = lh_s(a->delimiter), .header = !a->no_header,
                                 .quote = {0}};
    lh_ingest_embed_options embed = {.column = lh_s(a->embed_column), .index = lh_s(a->index),
                                     .id_column = lh_s(a->id_column)};
    bool is_csv = !strcmp(a->format, "csv");
    lh_ingest_file_request req = {
        .dataset = lh_s(a->dataset),
        .source = &src,
        .format = lh_s(a->format),
        .csv = is_csv && (a->delimiter || a->no_header) ? &csv : NULL,
        .on_error = lh_s(a->on_error),
        .embed = a->embed_column ? &embed : NULL,
    };
    lh_ingest_job *rep = NULL;
    lh_err *err = lh_session_call(s, &lh_ep_ingest_file, &req, (void **)&rep);
    if (!err)
        snprintf(job, 65, "%.*s", (int)rep->job.len, rep->job.s);
    lh_arena_reset(s->arena);
    return err;
}

static bool lh_is(lh_str s, const char *c) { return s.len == strlen(c) && !memcmp(s.s, c, s.len); }

/* Reading: bytes of the file; then, when embedding, rows embedded. */
static void lh_show_progress(const lh_session *s, const lh_ingest_job *j, int64_t size,
                             lh_ticker *t, bool done)
{
    bool embedding = s->embed && j->bytes >= size && j->rows_read > 0 && j->version > 0;
    char text[128];
    if (embedding)
        snprintf(text, sizeof text, "%lld of %lld rows embedded", (long long)j->rows_embedded,
                 (long long)j->rows_read);
    else
        snprintf(text, sizeof text, "%.1f/%.1f MB, %lld rows", j->bytes / 1e6, size / 1e6,
                 (long long)j->rows_read);
    if (s->tty)
        lh_bar(embedding ? "embed" : "ingest", embedding ? j->rows_embedded : j->bytes,
               embedding ? j->rows_read : size, text);
    else if (lh_tick(t, done))
        fprintf(stderr, "ingest: %.*s, %s\n", (int)j->state.len, j->state.s, text);
}

/* Polls until the job ends; *out is the final job (in s->arena). */
static lh_err *lh_follow(lh_session *s, const char *job, int64_t size, lh_ingest_job **out)
{
    lh_ticker t = {0};
    for (;;) {
        lh_arena_reset(s->arena);
        lh_ingest_status_request req = {.job = lh_s(job)};
        lh_ingest_job *j = NULL;
        lh_err *err = lh_session_call(s, &lh_ep_ingest_status, &req, (void **)&j);
        if (err)
            return err;
        bool done = lh_is(j->state, "succeeded") || lh_is(j->state, "failed");
        lh_show_progress(s, j, size, &t, done);
        if (done) {
            if (s->tty)
                fputc('\n', stderr);
            *out = j;
            return NULL;
        }
        usleep(LH_POLL_MS * 1000);
    }
}

static int lh_report(const lh_ingest_job *j)
{
    const lh_ingest_row_error *errs = j->errors.v;
    for (size_t i = 0; i < j->errors.n; i++)
        fprintf(stderr, "  line %lld: %.*s\n", (long long)errs[i].line, (int)errs[i].message.len,
                errs[i].message.s);
    if (lh_is(j->state, "failed")) {
        fprintf(stderr, "lakehouse ingest: job %.*s failed: %.*s\n", (int)j->job.len, j->job.s,
                (int)j->error.len, j->error.s ? j->error.s : "");
        return LH_EXIT_FAIL;
    }
    printf("dataset %.*s version %lld: %lld rows (%lld rejected), %lld bytes\n",
           (int)j->dataset.len, j->dataset.s, (long long)j->version, (long long)j->rows_read,
           (long long)j->rows_rejected, (long long)j->bytes);
    const lh_catalog_column *cols = j->schema.v;
    for (size_t i = 0; i < j->schema.n; i++)
        printf("  %.*s %.*s%s\n", (int)cols[i].name.len, cols[i].name.s, (int)cols[i].type.len,
               cols[i].type.s, cols[i].nullable ? "" : " not null");
    if (j->rows_embedded)
        printf("%lld rows embedded\n", (long long)j->rows_embedded);
    return LH_EXIT_OK;
}

static int lh_ingest_session(lh_session *s, const lh_ingest_args *a)
{
    struct stat sb;
    if (stat(a->file, &sb) != 0)
        return lh_cli_fail(&lh_cmd_ingest, "%s: %s", a->file, strerror(errno));
    char key[LH_STORAGE_MAX_KEY + 1], job[65];
    lh_ingest_job *final = NULL;
    lh_err *err = lh_upload(s, a, key, sizeof key);
    if (!err)
        err = lh_start_job(s, a, key, job);
    if (!err)
        err = lh_follow(s, job, (int64_t)sb.st_size, &final);
    if (err) {
        int rc = lh_cli_fail(&lh_cmd_ingest, "%s", lh_err_message(err));
        lh_err_free(err);
        return rc;
    }
    return lh_report(final);
}

static int lh_ingest_run(int argc, char **argv)
{
    lh_ingest_args args;
    int rc = lh_ingest_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_cli_quiet_logs();
    char url[512];
    lh_stack_bus_url(args.data_dir, url, sizeof url);
    lh_session s = {.timeout_ms = args.timeout_ms, .tty = isatty(STDERR_FILENO),
                    .embed = args.embed_column != NULL};
    lh_conn_opts copts = {.url = url, .name = "lakehouse-ingest"};
    lh_err *err = lh_conn_create(&copts, &s.conn);
    if (err) {
        rc = lh_cli_fail(&lh_cmd_ingest, "%s", lh_err_message(err));
        lh_err_free(err);
    } else {
        s.arena = lh_arena_create();
        rc = lh_ingest_session(&s, &args);
        lh_arena_destroy(s.arena);
    }
    lh_conn_destroy(s.conn);
    nats_Close();
    return rc;
}

const lh_command lh_cmd_ingest = {
    .name = "ingest",
    .run = lh_ingest_run,
    .summary = "upload a CSV or JSON Lines file and ingest it into a dataset",
    .usage = lh_ingest_usage,
};
