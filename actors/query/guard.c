/*
 * guard.c — what keeps a query a query, enforced by SQLite itself.
 *
 * The authorizer runs while SQLite compiles the user's statement and
 * allows only what reading needs: SELECT, recursive CTEs, harmless
 * functions, and reads of the dataset views and, through one of them
 * only, the cache table behind it. Everything else (writes, DDL,
 * ATTACH/DETACH, PRAGMA, transactions, ANALYZE, load_extension(), reads
 * of sqlite_master or the cache's tables by name) is refused while
 * compiling, before anything runs. Behind it: the connection is opened
 * read-only, sqlite3_stmt_readonly() must hold, and the statement must
 * return rows. The progress handler enforces the deadline.
 */
#include "actors/query/query_internal.h"
#include "bus/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- the authorizer ---- */

static int lh_deny(lh_qguard *g, bool general, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keeps the first refusal, except that one about the schema tables
 * (CREATE and DROP write sqlite_master first) gives way to the action's
 * own, which says better what was tried. */
static int lh_deny(lh_qguard *g, bool general, const char *fmt, ...)
{
    if (!g->denied[0] || g->denied_general) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->denied, sizeof g->denied, fmt, ap);
        va_end(ap);
        g->denied_general = general;
    }
    return SQLITE_DENY;
}

static bool lh_is_schema_table(const char *t)
{
    return t && (!strcasecmp(t, "sqlite_master") || !strcasecmp(t, "sqlite_temp_master") ||
                 !strcasecmp(t, "sqlite_schema") || !strcasecmp(t, "sqlite_temp_schema"));
}

/* CREATE and DROP are seen first as writes to sqlite_master. */
static bool lh_is_schema_write(int action, const char *table)
{
    return (action == SQLITE_INSERT || action == SQLITE_UPDATE || action == SQLITE_DELETE) &&
           lh_is_schema_table(table);
}

/* What the statement tried, in SQL's words, for the refusal message. */
static const char *lh_action_name(int action, const char *a1)
{
    switch (action) {
    /* SQLite also asks to update sqlite_master for table-valued functions. */
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
        if (lh_is_schema_write(action, a1))
            return "CREATE, DROP and table-valued functions (json_each, pragma_*)";
        return action == SQLITE_INSERT ? "INSERT" : action == SQLITE_UPDATE ? "UPDATE" : "DELETE";
    case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TEMP_INDEX: return "CREATE INDEX";
    case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_TABLE: return "CREATE TABLE";
    case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_TEMP_TRIGGER: return "CREATE TRIGGER";
    case SQLITE_CREATE_VIEW: case SQLITE_CREATE_TEMP_VIEW: return "CREATE VIEW";
    case SQLITE_CREATE_VTABLE: return "CREATE VIRTUAL TABLE";
    case SQLITE_DROP_INDEX: case SQLITE_DROP_TEMP_INDEX: return "DROP INDEX";
    case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_TABLE: return "DROP TABLE";
    case SQLITE_DROP_TRIGGER: case SQLITE_DROP_TEMP_TRIGGER: return "DROP TRIGGER";
    case SQLITE_DROP_VIEW: case SQLITE_DROP_TEMP_VIEW: return "DROP VIEW";
    case SQLITE_DROP_VTABLE: return "DROP VIRTUAL TABLE";
    case SQLITE_TRANSACTION: return "BEGIN, COMMIT and ROLLBACK";
    case SQLITE_SAVEPOINT: return "SAVEPOINT and RELEASE";
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_ANALYZE: return "ANALYZE";
    default: return "this statement";
    }
}

static lh_qview *lh_view_of_table(lh_qsession *s, const char *table)
{
    size_t n;
    lh_qview *v = lh_qsession_views(s, &n);
    for (size_t i = 0; table && i < n; i++)
        if (!strcmp(v[i].table, table))
            return &v[i];
    return NULL;
}

/* Only the engine's and the cache's own tables have such names: no
 * dataset name holds ':' or starts with sqlite_. */
static bool lh_is_internal(const char *table)
{
    return !table || strchr(table, ':') || !strncasecmp(table, "sqlite_", 7);
}

static int lh_deny_read(lh_qguard *g, const char *table)
{
    if (lh_is_schema_table(table))
        return lh_deny(g, false, "reading %s is not allowed: catalog.get describes datasets",
                       table);
    return lh_deny(g, false, "reading '%s' is not allowed: only datasets can be queried",
                   table ? table : "?");
}

/* A dataset view, or through one (`inner` names it) the one table it
 * shows. A CTE can carry a view's name as `inner`, hence the table check. */
static int lh_authorize_read(lh_qguard *g, const char *table, const char *db, const char *inner)
{
    lh_qview *v = NULL;
    if (db && !strcmp(db, "temp") && (v = lh_qsession_find_view(g->session, table)))
        v->used = true;
    else if (db && !strcmp(db, "main") && inner &&
             (v = lh_qsession_find_view(g->session, inner)) && !strcmp(v->table, table))
        v->used = true;
    else
        return lh_deny_read(g, table);
    return SQLITE_OK;
}

/* SQLite's check on a table the statement names but takes no value from
 * (SELECT count(*) FROM t): the name is as written, the schema too (NULL
 * when unqualified), and no view context is given. Any name but the
 * internal ones is a view of ours or a CTE or subquery of the statement. */
static int lh_authorize_unread(lh_qguard *g, const char *table)
{
    lh_qview *v = lh_qsession_find_view(g->session, table);
    if (!v)
        v = lh_view_of_table(g->session, table);
    if (v)
        v->used = true;
    else if (lh_is_internal(table))
        return lh_deny_read(g, table);
    return SQLITE_OK;
}

static int lh_authorize_function(lh_qguard *g, const char *name)
{
    /* Functions that reach outside the database or hand out pointers. */
    static const char *const refused[] = {"load_extension", "fts3_tokenizer", "fts5"};
    for (size_t i = 0; name && i < sizeof refused / sizeof refused[0]; i++)
        if (!strcasecmp(name, refused[i]))
            return lh_deny(g, false, "the function %s() is not allowed", name);
    return SQLITE_OK;
}

static int lh_authorize(void *user, int action, const char *a1, const char *a2, const char *db,
                        const char *inner)
{
    lh_qguard *g = user;
    if (g->internal)
        return SQLITE_OK;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    case SQLITE_READ:
        return a2 && !a2[0] ? lh_authorize_unread(g, a1) : lh_authorize_read(g, a1, db, inner);
    case SQLITE_FUNCTION: return lh_authorize_function(g, a2);
    case SQLITE_PRAGMA:
        return lh_deny(g, false, "PRAGMA %s is not allowed: queries are read-only", a1);
    default:
        return lh_deny(g, lh_is_schema_write(action, a1),
                       "%s %s not allowed: queries are read-only",
                       lh_action_name(action, a1), lh_is_schema_write(action, a1) ? "are" : "is");
    }
}

/* ---- the deadline ---- */

static int lh_progress(void *user)
{
    lh_qguard *g = user;
    if (atomic_load(g->stop))
        return 1;
    if (g->deadline_ns && lh_clock_ns() >= g->deadline_ns) {
        g->timed_out = true;
        return 1;
    }
    return 0;
}

/* ---- installing ---- */

lh_err *lh_qguard_install(sqlite3 *db, lh_qguard *g)
{
    static const struct {
        int option, value;
    } settings[] = {
        {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0},
        {SQLITE_DBCONFIG_DEFENSIVE, 1},
        {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
        {SQLITE_DBCONFIG_ENABLE_TRIGGER, 0},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        ok = ok && sqlite3_db_config(db, settings[i].option, settings[i].value, NULL) == SQLITE_OK;
    if (!ok)
        return lh_err_new(LH_EINTERNAL, NULL, "lock the query connection down: %s",
                          sqlite3_errmsg(db));
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, LH_QUERY_MAX_VALUE_BYTES);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    /* ~1000 VM steps take microseconds: the deadline is checked that often. */
    sqlite3_progress_handler(db, 1000, lh_progress, g);
    return sqlite3_set_authorizer(db, lh_authorize, g) == SQLITE_OK
               ? NULL
               : lh_err_new(LH_EINTERNAL, NULL, "install the authorizer: %s", sqlite3_errmsg(db));
}

/* ---- after prepare ---- */

/* Blanks, comments and ';' only, up to `end`. */
static bool lh_rest_is_blank(const char *p, const char *end)
{
    while (p < end) {
        if (*p == ';' || *p == ' ' || (*p >= '\t' && *p <= '\r')) {
            p++;
        } else if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
            const char *close = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
            p = close ? close + 2 : end; /* SQLite lets a comment run to the end */
        } else {
            return false;
        }
    }
    return true;
}

lh_err *lh_qguard_check(sqlite3_stmt *stmt, const char *tail, const char *end)
{
    if (!stmt)
        return lh_err_new(LH_EBADREQ, "sql", "the SQL holds no statement (only blanks or "
                          "comments)");
    if (!lh_rest_is_blank(tail, end))
        return lh_err_new(LH_EBADREQ, "sql", "only one statement per query: there is more "
                          "after the first one");
    if (!sqlite3_stmt_readonly(stmt))
        return lh_err_new(LH_EFORBIDDEN, "sql", "the statement writes: queries are read-only");
    if (sqlite3_column_count(stmt) == 0) /* REINDEX, VACUUM and the like return nothing */
        return lh_err_new(LH_EFORBIDDEN, "sql", "only queries are allowed: this statement "
                          "returns no rows");
    return NULL;
}

bool lh_qguard_is_view_write(const char *msg)
{
    /* SQLite's own refusals, checked before it calls the authorizer. */
    static const char *const starts[] = {
        "cannot modify ",             /* UPDATE, DELETE of a view */
        "Cannot add a column to a view",
        "cannot drop column from view",
        "cannot rename columns of view",
    };
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        if (!strncmp(msg, starts[i], strlen(starts[i])))
            return true;
    size_t n = strlen(msg);
    static const char altered[] = " may not be altered"; /* ALTER TABLE of a view */
    return !strncmp(msg, "view ", 5) && n > sizeof altered &&
           !strcmp(msg + n - (sizeof altered - 1), altered);
}
