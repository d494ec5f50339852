/*
 * guard.c — what a statement may be, decided on DuckDB's own parse tree.
 *
 * json_serialize_sql gives the tree of a query as JSON, and refuses
 * anything that is not a query, so a write, DDL, ATTACH, COPY, SET,
 * PRAGMA, INSTALL or LOAD never gets a tree. From the tree: every table
 * the statement names (resolve.c turns datasets into views), the names
 * its WITH clauses define, and the two ways a query could read outside
 * the datasets, both refused: names qualified by a schema or catalog
 * (information_schema, pg_catalog, the temp schema of the views) and
 * table functions (read_csv, read_parquet, glob, duckdb_settings, query
 * ...) other than the generators range, generate_series and unnest.
 * Behind this the engine is contained too (engine.c), and run.c runs a
 * statement only when DuckDB prepares it as a SELECT.
 *
 * A statement whose first word is a known non-query keyword is refused
 * before it is parsed, so SQL from other dialects (VACUUM INTO, SAVEPOINT)
 * answers 403 as a write, not 400 as a syntax error.
 */
#include "actors/query/query_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

static const char *const lh_write_words[] = {
    "ABORT",   "ALTER",   "ANALYZE",  "ATTACH",     "BEGIN",   "CALL",     "CHECKPOINT",
    "COMMENT", "COMMIT",  "COPY",     "CREATE",     "DEALLOCATE", "DELETE", "DETACH",
    "DROP",    "END",     "EXECUTE",  "EXPORT",     "FORCE",   "GRANT",    "IMPORT",
    "INSERT",  "INSTALL", "LOAD",     "MERGE",      "PRAGMA",  "PREPARE",  "REINDEX",
    "RELEASE", "REPLACE", "RESET",    "REVOKE",     "ROLLBACK", "SAVEPOINT", "SET",
    "START",   "TRUNCATE", "UPDATE",  "UPSERT",     "USE",     "VACUUM",
};

static const char *const lh_table_functions[] = {"range", "generate_series", "unnest"};

/* ---- the text ---- */

/* Past blanks and comments from `i`. */
static size_t lh_skip_space(const char *sql, size_t len, size_t i)
{
    while (i < len) {
        if (isspace((unsigned char)sql[i])) {
            i++;
        } else if (sql[i] == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                i++;
        } else if (sql[i] == '/' && i + 1 < len && sql[i + 1] == '*') {
            const char *end = strstr(sql + i + 2, "*/");
            i = end ? (size_t)(end - sql) + 2 : len;
        } else {
            break;
        }
    }
    return i;
}

/* Past a quoted string or identifier starting at `i` (quote doubled inside). */
static size_t lh_skip_quoted(const char *sql, size_t len, size_t i)
{
    char q = sql[i++];
    while (i < len) {
        if (sql[i++] != q)
            continue;
        if (i < len && sql[i] == q)
            i++;
        else
            break;
    }
    return i;
}

size_t lh_qguard_statement_len(const char *sql, size_t len)
{
    size_t i = 0, end = 0;
    while ((i = lh_skip_space(sql, len, i)) < len) {
        if (sql[i] == ';')
            break;
        i = sql[i] == '\'' || sql[i] == '"' ? lh_skip_quoted(sql, len, i) : i + 1;
        end = i;
    }
    return end;
}

static lh_err *lh_check_first_word(const char *sql, size_t len)
{
    size_t i = lh_skip_space(sql, len, 0), n = 0;
    char word[16];
    while (i + n < len && n < sizeof word - 1 && isalpha((unsigned char)sql[i + n])) {
        word[n] = (char)toupper((unsigned char)sql[i + n]);
        n++;
    }
    word[n] = '\0';
    for (size_t k = 0; n && k < sizeof lh_write_words / sizeof lh_write_words[0]; k++)
        if (!strcmp(word, lh_write_words[k]))
            return lh_err_new(LH_EFORBIDDEN, "sql", "queries are read-only: %s statements "
                              "are refused", word);
    return NULL;
}

static lh_err *lh_count_statements(duckdb_connection conn, const char *sql)
{
    duckdb_extracted_statements ext = NULL;
    idx_t n = duckdb_extract_statements(conn, sql, &ext);
    lh_err *err = NULL;
    if (n == 0 && duckdb_extract_statements_error(ext))
        err = lh_err_new(LH_EBADREQ, "sql", "%s", duckdb_extract_statements_error(ext));
    else if (n == 0)
        err = lh_err_new(LH_EBADREQ, "sql", "no statement: the text holds only blanks and "
                         "comments");
    else if (n > 1)
        err = lh_err_new(LH_EBADREQ, "sql", "send one statement at a time (this text holds "
                         "%llu)", (unsigned long long)n);
    duckdb_destroy_extracted(&ext);
    return err;
}

/* ---- the tree ---- */

static lh_err *lh_serialize(duckdb_connection conn, const char *sql, json_t **tree)
{
    duckdb_prepared_statement ps = NULL;
    duckdb_result r;
    lh_err *err = NULL;
    if (duckdb_prepare(conn, "SELECT json_serialize_sql($1::VARCHAR)", &ps) == DuckDBError)
        return lh_err_new(LH_EINTERNAL, NULL, "DuckDB: %s", duckdb_prepare_error(ps));
    duckdb_bind_varchar(ps, 1, sql);
    if (duckdb_execute_prepared(ps, &r) == DuckDBError) {
        err = lh_err_new(LH_EINTERNAL, NULL, "DuckDB: %s", duckdb_result_error(&r));
    } else {
        char *json = duckdb_value_varchar(&r, 0, 0);
        /* query_location is a uint64 (-1 when unknown): beyond json_int_t */
        *tree = json ? json_loads(json, JSON_DECODE_INT_AS_REAL, NULL) : NULL;
        duckdb_free(json);
        if (!*tree)
            err = lh_err_new(LH_EINTERNAL, NULL, "DuckDB gave no parse tree");
    }
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&ps);
    return err;
}

static lh_err *lh_tree_error(json_t *tree)
{
    if (!json_is_true(json_object_get(tree, "error")))
        return NULL;
    const char *type = json_string_value(json_object_get(tree, "error_type"));
    const char *msg = json_string_value(json_object_get(tree, "error_message"));
    if (type && !strcmp(type, "parser"))
        return lh_err_new(LH_EBADREQ, "sql", "%s", msg ? msg : "syntax error");
    return lh_err_new(LH_EFORBIDDEN, "sql", "queries are read-only: only SELECT, WITH ... "
                      "SELECT, VALUES and FROM ... statements are run");
}

static lh_err *lh_add_name(char names[][LH_QUERY_VIEW_MAX], size_t *n, const char *name)
{
    if (strlen(name) >= LH_QUERY_VIEW_MAX)
        return lh_err_new(LH_EBADREQ, "sql", "no such table: %.64s...", name);
    for (size_t i = 0; i < *n; i++)
        if (!strcasecmp(names[i], name))
            return NULL;
    if (*n == LH_QUERY_MAX_REFS)
        return lh_err_new(LH_EBADREQ, "sql", "the statement names more than %d tables",
                          LH_QUERY_MAX_REFS);
    snprintf(names[(*n)++], LH_QUERY_VIEW_MAX, "%s", name);
    return NULL;
}

static const char *lh_str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static lh_err *lh_check_table(json_t *node, lh_qrefs *refs)
{
    const char *schema = lh_str_of(node, "schema_name"), *catalog = lh_str_of(node, "catalog_name");
    const char *table = lh_str_of(node, "table_name");
    if (schema[0] || catalog[0])
        return lh_err_new(LH_EFORBIDDEN, "sql", "%s%s%s.%s: names qualified by a schema are "
                          "refused (datasets are plain names)", catalog, catalog[0] ? "." : "",
                          schema, table);
    return lh_add_name(refs->names, &refs->n, table);
}

static lh_err *lh_check_function(json_t *node)
{
    const char *name = lh_str_of(json_object_get(node, "function"), "function_name");
    for (size_t i = 0; i < sizeof lh_table_functions / sizeof lh_table_functions[0]; i++)
        if (!strcasecmp(name, lh_table_functions[i]))
            return NULL;
    return lh_err_new(LH_EFORBIDDEN, "sql", "table function %s() is refused: only range, "
                      "generate_series and unnest are allowed", name);
}

static lh_err *lh_note_ctes(json_t *cte_map, lh_qrefs *refs)
{
    size_t i;
    json_t *kv;
    lh_err *err = NULL;
    json_array_foreach(json_object_get(cte_map, "map"), i, kv) {
        const char *name = json_string_value(json_object_get(kv, "key"));
        if (name && !err)
            err = lh_add_name(refs->ctes, &refs->n_ctes, name);
    }
    return err;
}

static lh_err *lh_walk(json_t *node, lh_qrefs *refs)
{
    lh_err *err = NULL;
    if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) if (!err) err = lh_walk(v, refs);
        return err;
    }
    if (!json_is_object(node))
        return NULL;
    const char *type = lh_str_of(node, "type");
    if (!strcmp(type, "BASE_TABLE"))
        err = lh_check_table(node, refs);
    else if (!strcmp(type, "TABLE_FUNCTION"))
        err = lh_check_function(node);
    else if (!strcmp(type, "SHOW_REF"))
        err = lh_err_new(LH_EFORBIDDEN, "sql", "DESCRIBE, SHOW and SUMMARIZE are refused; "
                         "ask catalogd for a dataset's schema");
    json_t *ctes = json_object_get(node, "cte_map");
    if (!err && ctes)
        err = lh_note_ctes(ctes, refs);
    const char *key;
    json_t *v;
    json_object_foreach(node, key, v) if (!err) err = lh_walk(v, refs);
    return err;
}

bool lh_qrefs_is_cte(const lh_qrefs *r, const char *name)
{
    for (size_t i = 0; i < r->n_ctes; i++)
        if (!strcasecmp(r->ctes[i], name))
            return true;
    return false;
}

lh_err *lh_qguard_parse(lh_qsession *s, const char *sql, size_t len, lh_qrefs *refs)
{
    refs->n = refs->n_ctes = 0;
    lh_err *err = lh_check_first_word(sql, len);
    if (!err)
        err = lh_count_statements(lh_qsession_conn(s), sql);
    json_t *tree = NULL;
    if (!err)
        err = lh_serialize(lh_qsession_conn(s), sql, &tree);
    if (!err)
        err = lh_tree_error(tree);
    if (!err)
        err = lh_walk(json_object_get(tree, "statements"), refs);
    json_decref(tree);
    return err;
}
