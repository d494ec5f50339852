/*
 * cmd_status.c — `lakehouse status`: what is running on the bus, from the
 * actors' own ADR-32 `$SRV.STATS` answers (so it shows every instance on
 * the bus, wherever it runs, not just what `up` started here).
 *
 * One request to $SRV.STATS gets one reply per instance; there is no way
 * to know how many will come, so replies are collected for a short window
 * (lh_discovery_gather).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bus/conn.h"
#include "bus/discovery_client.h"
#include "ops/cli.h"
#include "ops/stack.h"

#define LH_STATUS_WINDOW_MS 500
#define LH_STATUS_MAX_ROWS 1024

static const char lh_status_usage[] =
    "usage: lakehouse status [--data-dir DIR]\n"
    "\n"
    "Asks every actor on the bus for its statistics ($SRV.STATS) and prints one row\n"
    "per running instance: service, instance id, version, requests and errors\n"
    "(over all endpoints), average latency, and uptime.\n"
    "\n"
    "The bus is $LH_NATS_URL, else the one recorded by `lakehouse up` for DIR\n"
    "(DIR/run/stack.env), else nats://127.0.0.1:4222.\n"
    "\n"
    "  --data-dir DIR   default $LH_DATA_DIR or ~/.local/share/lakehouse\n";

typedef struct lh_status_row {
    char service[64];
    char id[64];
    char version[32];
    long long requests;
    long long errors;
    long long processing_ns;
    char started[64];
} lh_status_row;

/* ---- formatting -------------------------------------------------------- */

/* "842ns", "12.3µs", "450µs", "1.25ms", "2.1s"; "-" with no requests. */
static void lh_format_latency(long long total_ns, long long requests, char *out, size_t cap)
{
    if (requests <= 0) {
        snprintf(out, cap, "-");
        return;
    }
    double ns = (double)total_ns / (double)requests;
    if (ns < 1e3)
        snprintf(out, cap, "%.0fns", ns);
    else if (ns < 1e4)
        snprintf(out, cap, "%.1fµs", ns / 1e3);
    else if (ns < 1e6)
        snprintf(out, cap, "%.0fµs", ns / 1e3);
    else if (ns < 1e9)
        snprintf(out, cap, "%.2fms", ns / 1e6);
    else
        snprintf(out, cap, "%.1fs", ns / 1e9);
}

/* Seconds since an RFC 3339 time ("2024-05-01T10:00:00.123456789Z" or with
 * an offset); -1 when it cannot be read. */
static long long lh_seconds_since(const char *rfc3339)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    time_t t = timegm(&tm);
    if (*rest == '.')
        rest += 1 + strspn(rest + 1, "0123456789");
    int hh, mm;
    if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%2d:%2d", &hh, &mm) == 2)
        t -= (*rest == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
    else if (*rest != 'Z' && *rest != 'z')
        return -1;
    long long age = (long long)(time(NULL) - t);
    return age < 0 ? 0 : age;
}

/* "45s", "12m03s", "5h02m", "3d04h". */
static void lh_format_uptime(const char *started, char *out, size_t cap)
{
    long long s = lh_seconds_since(started);
    if (s < 0)
        snprintf(out, cap, "?");
    else if (s < 60)
        snprintf(out, cap, "%llds", s);
    else if (s < 3600)
        snprintf(out, cap, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, cap, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, cap, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

/* Width on a terminal: UTF-8 continuation bytes take no column. */
static int lh_display_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

enum { LH_COLS = 7 };

static void lh_print_cells(char cells[LH_COLS][64], const int widths[LH_COLS])
{
    for (int c = 0; c < LH_COLS; c++) {
        /* Numbers right-aligned (columns 3..5), text left-aligned. */
        bool last = c + 1 == LH_COLS;
        int pad = last ? 0 : widths[c] - lh_display_width(cells[c]);
        bool right = c >= 3 && c <= 5;
        printf("%*s%s%*s%s", right ? pad : 0, "", cells[c], right ? 0 : pad, "",
               last ? "\n" : "  ");
    }
}

static void lh_row_cells(const lh_status_row *r, char cells[LH_COLS][64])
{
    snprintf(cells[0], 64, "%s", r->service);
    snprintf(cells[1], 64, "%s", r->id);
    snprintf(cells[2], 64, "%s", r->version);
    snprintf(cells[3], 64, "%lld", r->requests);
    snprintf(cells[4], 64, "%lld", r->errors);
    lh_format_latency(r->processing_ns, r->requests, cells[5], 64);
    lh_format_uptime(r->started, cells[6], 64);
}

static void lh_print_table(const lh_status_row *rows, size_t n)
{
    static const char *const header[LH_COLS] = {"SERVICE",     "ID",    "VERSION", "REQUESTS",
                                                "ERRORS", "AVG-LATENCY", "UPTIME"};
    char cells[LH_COLS][64];
    int widths[LH_COLS];
    for (int c = 0; c < LH_COLS; c++)
        widths[c] = (int)strlen(header[c]);
    for (size_t i = 0; i < n; i++) {
        lh_row_cells(&rows[i], cells);
        for (int c = 0; c < LH_COLS; c++)
            if (lh_display_width(cells[c]) > widths[c])
                widths[c] = lh_display_width(cells[c]);
    }
    for (int c = 0; c < LH_COLS; c++)
        snprintf(cells[c], 64, "%s", header[c]);
    lh_print_cells(cells, widths);
    for (size_t i = 0; i < n; i++) {
        lh_row_cells(&rows[i], cells);
        lh_print_cells(cells, widths);
    }
}

/* ---- collecting -------------------------------------------------------- */

static void lh_copy_json_str(json_t *obj, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, key));
    snprintf(out, cap, "%s", s ? s : "?");
}

/* One stats_response document (already checked) into a row. */
static void lh_parse_stats(json_t *doc, lh_status_row *row)
{
    memset(row, 0, sizeof *row);
    lh_copy_json_str(doc, "name", row->service, sizeof row->service);
    lh_copy_json_str(doc, "id", row->id, sizeof row->id);
    lh_copy_json_str(doc, "version", row->version, sizeof row->version);
    lh_copy_json_str(doc, "started", row->started, sizeof row->started);
    size_t i;
    json_t *ep;
    json_array_foreach(json_object_get(doc, "endpoints"), i, ep) {
        const char *name = json_string_value(json_object_get(ep, "name"));
        if (name && !strcmp(name, "events"))
            continue; /* the events it told are not requests it served */
        row->requests += json_integer_value(json_object_get(ep, "num_requests"));
        row->errors += json_integer_value(json_object_get(ep, "num_errors"));
        row->processing_ns += json_integer_value(json_object_get(ep, "processing_time"));
    }
}

static int lh_row_order(const void *a, const void *b)
{
    const lh_status_row *x = a, *y = b;
    int c = strcmp(x->service, y->service);
    return c ? c : strcmp(x->id, y->id);
}

typedef struct lh_status_rows {
    lh_status_row *rows;
    size_t n;
} lh_status_rows;

static bool lh_status_add(void *user, json_t *doc)
{
    lh_status_rows *r = user;
    lh_parse_stats(doc, &r->rows[r->n++]);
    return r->n < LH_STATUS_MAX_ROWS;
}

static int lh_status_show(const char *url)
{
    lh_conn *conn = NULL;
    lh_conn_opts copts = {.url = url, .name = "lakehouse-status"};
    lh_err *err = lh_conn_create(&copts, &conn);
    lh_status_rows found = {calloc(LH_STATUS_MAX_ROWS, sizeof *found.rows), 0};
    if (!found.rows)
        abort();
    if (!err)
        err = lh_discovery_gather(conn, LH_DISCOVERY_STATS, NULL, LH_STATUS_WINDOW_MS,
                                  lh_status_add, &found);
    lh_conn_destroy(conn);
    nats_Close();
    int rc = LH_EXIT_OK;
    if (err) {
        rc = lh_cli_fail(&lh_cmd_status, "cannot reach the bus at %s: %s", url,
                         lh_err_message(err));
    } else if (!found.n) {
        printf("no actors answered on %s\n", url);
    } else {
        qsort(found.rows, found.n, sizeof *found.rows, lh_row_order);
        lh_print_table(found.rows, found.n);
    }
    lh_err_free(err);
    free(found.rows);
    return rc;
}

static int lh_status_run(int argc, char **argv)
{
    static const lh_cli_opt opts[] = {{"data-dir", true}};
    const char *data_dir = NULL, *value;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, &lh_cmd_status, opts, 1, argc, argv);
    int opt;
    for (lh_cli_next next; (next = lh_cli_scan_next(&scan, &opt, &value)) != LH_CLI_END;) {
        if (next == LH_CLI_HELP) {
            lh_cli_print_usage(&lh_cmd_status, stdout);
            return LH_EXIT_OK;
        }
        if (next == LH_CLI_ERROR)
            return LH_EXIT_USAGE;
        if (next == LH_CLI_POSITIONAL)
            return lh_cli_usage_error(&lh_cmd_status, "unexpected argument '%s'", value);
        data_dir = value;
    }
    lh_cli_quiet_logs();
    char url[512];
    lh_stack_bus_url(data_dir, url, sizeof url);
    return lh_status_show(url);
}

const lh_command lh_cmd_status = {
    .name = "status",
    .run = lh_status_run,
    .summary = "list the actors on the bus with requests, errors, latency, uptime",
    .usage = lh_status_usage,
};
