/*
 * keyword.c — an index's keyword side in an in-memory SQLite FTS5 table
 * (keyword.h). `docs` gives each item id a row number that stays its own
 * while it lives; `items` is the FTS5 table whose rowid is that number.
 * Writes reuse prepared statements (the collection's write lock makes
 * them one at a time); searches prepare their own, so several can run.
 */
#include "actors/vector/keyword.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Words past this many in one query are ignored: a query is a question,
 * not a document, and each word costs a posting-list scan. */
#define LH_KW_MAX_WORDS 64

enum { LH_KW_FIND, LH_KW_ADD_DOC, LH_KW_DEL_DOC, LH_KW_ADD_TEXT, LH_KW_DEL_TEXT, LH_KW_N_STMTS };

static const char *const lh_kw_sql[LH_KW_N_STMTS] = {
    [LH_KW_FIND] = "SELECT rid FROM docs WHERE id = ?1",
    [LH_KW_ADD_DOC] = "INSERT INTO docs(id) VALUES (?1)",
    [LH_KW_DEL_DOC] = "DELETE FROM docs WHERE rid = ?1",
    [LH_KW_ADD_TEXT] = "INSERT INTO items(rowid, text) VALUES (?1, ?2)",
    [LH_KW_DEL_TEXT] = "DELETE FROM items WHERE rowid = ?1",
};

static const char lh_kw_schema[] =
    "CREATE TABLE docs(rid INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE);"
    "CREATE VIRTUAL TABLE items USING fts5(text, tokenize = 'porter unicode61');";

static const char lh_kw_search_sql[] =
    "SELECT docs.id, -bm25(items), snippet(items, 0, '[', ']', '...', 16) "
    "FROM items JOIN docs ON docs.rid = items.rowid WHERE items MATCH ?1 ORDER BY rank "
    "LIMIT ?2";

struct lh_vec_keyword {
    sqlite3 *db;
    sqlite3_stmt *stmt[LH_KW_N_STMTS];
};

static lh_err *lh_kw_err(sqlite3 *db, const char *what)
{
    return lh_err_new(LH_EINTERNAL, NULL, "keyword index: %s: %s", what,
                      db ? sqlite3_errmsg(db) : "out of memory");
}

lh_err *lh_vec_keyword_create(lh_vec_keyword **out)
{
    lh_vec_keyword *k = calloc(1, sizeof *k);
    if (!k)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    lh_err *err = NULL;
    if (sqlite3_open_v2(":memory:", &k->db, flags, NULL) != SQLITE_OK ||
        sqlite3_exec(k->db, lh_kw_schema, NULL, NULL, NULL) != SQLITE_OK)
        err = lh_kw_err(k->db, "create");
    for (int i = 0; !err && i < LH_KW_N_STMTS; i++)
        if (sqlite3_prepare_v2(k->db, lh_kw_sql[i], -1, &k->stmt[i], NULL) != SQLITE_OK)
            err = lh_kw_err(k->db, "prepare");
    if (err) {
        lh_vec_keyword_destroy(k);
        return err;
    }
    *out = k;
    return NULL;
}

void lh_vec_keyword_destroy(lh_vec_keyword *k)
{
    if (!k)
        return;
    for (int i = 0; i < LH_KW_N_STMTS; i++)
        sqlite3_finalize(k->stmt[i]);
    sqlite3_close(k->db);
    free(k);
}

/* Runs a prepared write to its end and resets it. */
static lh_err *lh_kw_run(lh_vec_keyword *k, int which)
{
    sqlite3_stmt *s = k->stmt[which];
    int rc = sqlite3_step(s);
    lh_err *err = rc == SQLITE_DONE ? NULL : lh_kw_err(k->db, lh_kw_sql[which]);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return err;
}

/* The row number of `id`, or 0 when it has none. */
static sqlite3_int64 lh_kw_find(lh_vec_keyword *k, const char *id, size_t id_len)
{
    sqlite3_stmt *s = k->stmt[LH_KW_FIND];
    sqlite3_bind_blob(s, 1, id, (int)id_len, SQLITE_STATIC);
    sqlite3_int64 rid = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rid;
}

static lh_err *lh_kw_drop_text(lh_vec_keyword *k, sqlite3_int64 rid)
{
    sqlite3_bind_int64(k->stmt[LH_KW_DEL_TEXT], 1, rid);
    return lh_kw_run(k, LH_KW_DEL_TEXT);
}

lh_err *lh_vec_keyword_put(lh_vec_keyword *k, const char *id, size_t id_len, const char *text,
                           size_t text_len)
{
    sqlite3_int64 rid = lh_kw_find(k, id, id_len);
    lh_err *err = NULL;
    if (rid) {
        err = lh_kw_drop_text(k, rid);
    } else {
        sqlite3_bind_blob(k->stmt[LH_KW_ADD_DOC], 1, id, (int)id_len, SQLITE_STATIC);
        err = lh_kw_run(k, LH_KW_ADD_DOC);
        rid = sqlite3_last_insert_rowid(k->db);
    }
    if (err)
        return err;
    sqlite3_bind_int64(k->stmt[LH_KW_ADD_TEXT], 1, rid);
    sqlite3_bind_text(k->stmt[LH_KW_ADD_TEXT], 2, text_len ? text : "", (int)text_len,
                      SQLITE_STATIC);
    return lh_kw_run(k, LH_KW_ADD_TEXT);
}

lh_err *lh_vec_keyword_remove(lh_vec_keyword *k, const char *id, size_t id_len)
{
    sqlite3_int64 rid = lh_kw_find(k, id, id_len);
    if (!rid)
        return NULL;
    lh_err *err = lh_kw_drop_text(k, rid);
    if (!err) {
        sqlite3_bind_int64(k->stmt[LH_KW_DEL_DOC], 1, rid);
        err = lh_kw_run(k, LH_KW_DEL_DOC);
    }
    return err;
}

/* ---- queries ---- */

/* English words so common that matching them scores nearly every item:
 * left out of a query (unless it has nothing else), which keeps BM25 from
 * ranking the whole index for "the" and "of". */
static const char *const lh_kw_stopwords[] = {
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
    "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "this", "to",
    "was", "were", "which", "with",
};

static bool lh_kw_stopword(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof lh_kw_stopwords / sizeof lh_kw_stopwords[0]; i++)
        if (strlen(lh_kw_stopwords[i]) == n && !strncasecmp(lh_kw_stopwords[i], w, n))
            return true;
    return false;
}

static bool lh_kw_word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c >= 0x80; /* any UTF-8 sequence: unicode61 decides what is a letter */
}

/* Appends the quoted words of text (stopwords too, or not) to out. */
static size_t lh_kw_words(const char *text, size_t len, bool stopwords, lh_buf *out)
{
    size_t words = 0;
    for (size_t i = 0; i < len && words < LH_KW_MAX_WORDS;) {
        if (!lh_kw_word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && lh_kw_word_byte((unsigned char)text[i]))
            i++;
        if (!stopwords && lh_kw_stopword(text + start, i - start))
            continue;
        /* Quoted, a word is a string to FTS5: no operator, column or prefix. */
        lh_buf_appendf(out, "%s\"%.*s\"", words++ ? " OR " : "", (int)(i - start), text + start);
    }
    return words;
}

void lh_vec_keyword_query(const char *text, size_t len, lh_buf *out)
{
    if (!lh_kw_words(text, len, false, out)) /* only stopwords: they are the query */
        lh_kw_words(text, len, true, out);
}

lh_err *lh_vec_keyword_search(lh_vec_keyword *k, const char *query, size_t len, size_t limit,
                              lh_vec_keyword_fn fn, void *user)
{
    lh_buf q;
    lh_buf_init(&q);
    lh_vec_keyword_query(query, len, &q);
    lh_err *err = NULL;
    sqlite3_stmt *s = NULL;
    if (q.len && sqlite3_prepare_v2(k->db, lh_kw_search_sql, -1, &s, NULL) != SQLITE_OK)
        err = lh_kw_err(k->db, "prepare search");
    if (s) {
        sqlite3_bind_text(s, 1, q.data, (int)q.len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            lh_vec_keyword_match m = {
                .id = sqlite3_column_blob(s, 0),
                .id_len = (size_t)sqlite3_column_bytes(s, 0),
                .score = sqlite3_column_double(s, 1),
                .snippet = (const char *)sqlite3_column_text(s, 2),
                .snippet_len = (size_t)sqlite3_column_bytes(s, 2),
            };
            if (!fn(user, &m))
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = lh_kw_err(k->db, "search");
        sqlite3_finalize(s);
    }
    lh_buf_free(&q);
    return err;
}
