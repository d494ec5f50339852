/*
 * main.c — the `lakehouse` command: one executable holding every actor and
 * every operator tool. This file is only the dispatcher; each subcommand
 * lives in its own ops/cmd_*.c and registers here with a one-line summary.
 */
#include <stdio.h>
#include <string.h>

#include "ops/cli.h"

static const lh_command *const lh_commands[] = {
    &lh_cmd_up, &lh_cmd_down, &lh_cmd_status, &lh_cmd_req, &lh_cmd_serve, &lh_cmd_docs,
    &lh_cmd_ingest, &lh_cmd_sql, &lh_cmd_retrieve, &lh_cmd_eval, &lh_cmd_chat, &lh_cmd_events,
    &lh_cmd_lineage,
};

#define LH_N_COMMANDS (sizeof lh_commands / sizeof lh_commands[0])

static const lh_command *lh_command_find(const char *name)
{
    for (size_t i = 0; i < LH_N_COMMANDS; i++)
        if (!strcmp(lh_commands[i]->name, name))
            return lh_commands[i];
    return NULL;
}

static void lh_print_help(FILE *out)
{
    fputs("usage: lakehouse COMMAND [ARGS...]\n"
          "\n"
          "Lakehouse: an AI data platform whose services are actors on a NATS bus.\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < LH_N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", lh_commands[i]->name, lh_commands[i]->summary);
    fputs("\n"
          "`lakehouse help COMMAND` or `lakehouse COMMAND --help` shows a command's options.\n"
          "Settings come from the environment: LH_DATA_DIR, LH_NATS_URL, LH_HTTP_ADDR,\n"
          "LH_HTTP_PORT, LH_WORKERS, LH_REQUEST_TIMEOUT_MS, LH_LOG_LEVEL.\n",
          out);
}

static int lh_unknown_command(const char *name)
{
    fprintf(stderr, "lakehouse: unknown command '%s'\n\n", name);
    lh_print_help(stderr);
    return LH_EXIT_USAGE;
}

/* `lakehouse help [COMMAND]` */
static int lh_help(int argc, char **argv)
{
    if (argc < 2) {
        lh_print_help(stdout);
        return LH_EXIT_OK;
    }
    const lh_command *cmd = lh_command_find(argv[1]);
    if (!cmd)
        return lh_unknown_command(argv[1]);
    lh_cli_print_usage(cmd, stdout);
    return LH_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        lh_print_help(stderr);
        return LH_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h"))
        return lh_help(1, argv + 1);
    if (!strcmp(name, "help"))
        return lh_help(argc - 1, argv + 1);
    const lh_command *cmd = lh_command_find(name);
    if (!cmd)
        return lh_unknown_command(name);
    return cmd->run(argc - 1, argv + 1);
}
