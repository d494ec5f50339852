/*
 * cmd_req.c — `lakehouse req SUBJECT [JSON]`: one request on the bus, the
 * reply printed as JSON. The same exchange `nats req` makes, with the
 * error convention decoded: an error reply prints `error CODE: MESSAGE` on
 * stderr and exits 1, so scripts can tell success from failure.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bus/buf.h"
#include "bus/config.h"
#include "bus/json.h"
#include "ops/cli.h"

static const char lh_req_usage[] =
    "usage: lakehouse req SUBJECT [JSON|-] [--timeout MS] [--data-dir DIR]\n"
    "\n"
    "Sends one request to SUBJECT (e.g. embed.request) and prints the reply as JSON.\n"
    "The request is the JSON object given, or read from stdin when it is `-` or\n"
    "absent (stdin not a terminal); `{}` when empty.\n"
    "\n"
    "  --timeout MS     how long to wait for the reply; default\n"
    "                   $LH_REQUEST_TIMEOUT_MS or 30000\n"
    "  --data-dir DIR   whose stack to ask when $LH_NATS_URL is not set\n"
    "\n"
    "On an error reply prints `error CODE: MESSAGE` to stderr and exits 1\n"
    "(503: nothing serves SUBJECT; 504: no reply in time).\n"
    "\n"
    "example: lakehouse req embed.request '{\"texts\":[\"hello\"]}'\n";

enum { LH_REQ_TIMEOUT, LH_REQ_DATA_DIR };

typedef struct lh_req_args {
    const char *subject;
    const char *json; /* NULL or "-": stdin */
    const char *data_dir;
    int timeout_ms;
} lh_req_args;

static int lh_req_positional(lh_req_args *a, const char *value)
{
    if (!a->subject)
        a->subject = value;
    else if (!a->json)
        a->json = value;
    else
        return lh_cli_usage_error(&lh_cmd_req, "unexpected argument '%s'", value);
    return LH_EXIT_OK;
}

static int lh_req_option(lh_req_args *a, int opt, const char *value)
{
    if (opt == LH_REQ_DATA_DIR) {
        a->data_dir = value;
        return LH_EXIT_OK;
    }
    if (!lh_cli_parse_int(value, 1, 3600000, &a->timeout_ms))
        return lh_cli_usage_error(&lh_cmd_req, "--timeout expects milliseconds, not '%s'",
                                  value);
    return LH_EXIT_OK;
}

/* Returns -1 to go on, or the exit status (help or a usage error). */
static int lh_req_parse(int argc, char **argv, lh_req_args *a)
{
    static const lh_cli_opt opts[] = {[LH_REQ_TIMEOUT] = {"timeout", true},
                                      [LH_REQ_DATA_DIR] = {"data-dir", true}};
    lh_config cfg;
    lh_config_load(&cfg);
    memset(a, 0, sizeof *a);
    a->timeout_ms = cfg.request_timeout_ms;
    lh_cli_scan scan;
    lh_cli_scan_init(&scan, &lh_cmd_req, opts, 2, argc, argv);
    int opt, rc = LH_EXIT_OK;
    const char *value;
    for (;;) {
        switch (lh_cli_scan_next(&scan, &opt, &value)) {
        case LH_CLI_END:
            return a->subject ? -1 : lh_cli_usage_error(&lh_cmd_req, "name a SUBJECT");
        case LH_CLI_HELP:
            lh_cli_print_usage(&lh_cmd_req, stdout);
            return LH_EXIT_OK;
        case LH_CLI_ERROR:
            return LH_EXIT_USAGE;
        case LH_CLI_POSITIONAL:
            rc = lh_req_positional(a, value);
            break;
        case LH_CLI_OPTION:
            rc = lh_req_option(a, opt, value);
        }
        if (rc)
            return rc;
    }
}

/* The request body: the argument, stdin, or `{}`. */
static void lh_req_body(const lh_req_args *a, lh_buf *out)
{
    bool from_stdin = a->json ? !strcmp(a->json, "-") : !isatty(STDIN_FILENO);
    if (a->json && !from_stdin) {
        lh_buf_append_str(out, a->json);
    } else if (from_stdin) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            lh_buf_append(out, chunk, n);
    }
    if (out->len == strspn(lh_buf_cstr(out), " \t\r\n")) {
        lh_buf_reset(out);
        lh_buf_append_str(out, "{}");
    }
}

/* Checked here, so a typo gets a precise message instead of a bus round trip. */
static int lh_req_validate(const lh_buf *body)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body->data, body->len, 0, &jerr);
    bool object = json_is_object(doc);
    json_decref(doc);
    if (!doc)
        return lh_cli_usage_error(&lh_cmd_req, "the request is not valid JSON: line %d, "
                                  "column %d: %s", jerr.line, jerr.column, jerr.text);
    if (!object)
        return lh_cli_usage_error(&lh_cmd_req, "the request must be a JSON object");
    return LH_EXIT_OK;
}

static void lh_req_print_reply(const lh_buf *reply)
{
    if (lh_is_json(reply->data, reply->len)) {
        fwrite(reply->data, 1, reply->len, stdout);
        fputc('\n', stdout);
        return;
    }
    /* An actor answering msgpack regardless: show it as JSON all the same. */
    lh_buf json;
    lh_buf_init(&json);
    lh_err *err = lh_msgpack_to_json(reply->data, reply->len, &json);
    if (err) {
        fprintf(stderr, "lakehouse req: unreadable reply: %s\n", lh_err_message(err));
        lh_err_free(err);
    } else {
        printf("%s\n", lh_buf_cstr(&json));
    }
    lh_buf_free(&json);
}

static int lh_req_send(const lh_req_args *a, const lh_buf *body)
{
    lh_buf reply;
    lh_buf_init(&reply);
    lh_err *err = lh_cli_request(a->data_dir, "lakehouse-req", a->subject, body, a->timeout_ms,
                                 &reply);
    int rc = err ? lh_cli_bus_error(err) : (lh_req_print_reply(&reply), LH_EXIT_OK);
    lh_buf_free(&reply);
    return rc;
}

static int lh_req_run(int argc, char **argv)
{
    lh_req_args args;
    int rc = lh_req_parse(argc, argv, &args);
    if (rc >= 0)
        return rc;
    lh_cli_quiet_logs();
    lh_buf body;
    lh_buf_init(&body);
    lh_req_body(&args, &body);
    rc = lh_req_validate(&body);
    if (!rc)
        rc = lh_req_send(&args, &body);
    lh_buf_free(&body);
    return rc;
}

const lh_command lh_cmd_req = {
    .name = "req",
    .run = lh_req_run,
    .summary = "send one JSON request on the bus and print the reply",
    .usage = lh_req_usage,
};
