/*
 * jobstore.c — ingestd's jobs in LevelDB ($LH_DATA_DIR/ingestd/db), one
 * key per job ("j/<id>") holding its lh_ingest_job record as msgpack, the
 * very struct ingest.status answers with. Every write is synchronous: a
 * job id is only handed out once its record is on disk.
 */
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "lib/state/state.h"

#include "actors/ingest/ingest_internal.h"
#include "bus/clock.h"
#include "bus/request.h"

struct lh_ingest_store {
    lh_state_db kv;
};

lh_err *lh_ingest_store_open(const char *dir, lh_ingest_store **out)
{
    lh_ingest_store *s = calloc(1, sizeof *s);
    if (!s)
        return lh_err_new(LH_EINTERNAL, NULL, "out of memory");
    lh_err *err = lh_state_db_open(&s->kv, dir, 0);
    if (err) {
        free(s);
        return err;
    }
    *out = s;
    return NULL;
}

void lh_ingest_store_close(lh_ingest_store *s)
{
    if (!s)
        return;
    lh_state_db_close(&s->kv);
    free(s);
}

static void lh_job_key(lh_buf *key, const char *id, size_t len)
{
    lh_buf_reset(key);
    lh_buf_append(key, "j/", 2);
    lh_buf_append(key, id, len);
}

lh_err *lh_ingest_store_put(lh_ingest_store *s, const lh_ingest_job *job)
{
    lh_buf key, val;
    lh_buf_init(&key);
    lh_buf_init(&val);
    lh_job_key(&key, job->job.s, job->job.len);
    lh_message_encode(&lh_ingest_job_schema, job, &val);
    char *msg = NULL;
    leveldb_put(s->kv.db, s->kv.sync_write, key.data, key.len, val.data, val.len, &msg);
    lh_buf_free(&key);
    lh_buf_free(&val);
    return lh_state_db_err(msg, "write job");
}

lh_err *lh_ingest_store_get(lh_ingest_store *s, const char *id, size_t len, lh_arena *arena,
                            lh_ingest_job **out)
{
    lh_buf key;
    lh_buf_init(&key);
    lh_job_key(&key, id, len);
    char *msg = NULL;
    size_t vlen = 0;
    char *val = leveldb_get(s->kv.db, s->kv.read, key.data, key.len, &vlen, &msg);
    lh_buf_free(&key);
    lh_err *err = lh_state_db_err(msg, "read job");
    if (!err && !val)
        err = lh_err_new(LH_ENOTFOUND, "job", "no job '%.*s'", (int)len, id);
    if (!err)
        err = lh_err_wrap(lh_schema_decode(&lh_ingest_job_schema, val, vlen, arena,
                                           (void **)out),
                          "job record '%.*s'", (int)len, id);
    leveldb_free(val);
    return err;
}

static bool lh_str_is(lh_str s, const char *c)
{
    return s.s && s.len == strlen(c) && !memcmp(s.s, c, s.len);
}

static bool lh_unfinished(const lh_ingest_job *j)
{
    return lh_str_is(j->state, "queued") || lh_str_is(j->state, "running");
}

/* Marks one stored job failed if it never finished. */
static lh_err *lh_recover_one(lh_ingest_store *s, const char *val, size_t len, lh_arena *arena,
                              size_t *interrupted)
{
    lh_ingest_job *job = NULL;
    lh_err *err = lh_schema_decode(&lh_ingest_job_schema, val, len, arena, (void **)&job);
    if (err || !lh_unfinished(job))
        return err;
    static const char why[] =
        "interrupted: ingestd stopped before the job finished; submit it again";
    char finished[32];
    lh_clock_rfc3339(finished, sizeof finished, 3);
    job->state = (lh_str){"failed", 6};
    job->error = (lh_str){why, sizeof why - 1};
    job->finished = (lh_str){finished, strlen(finished)};
    (*interrupted)++;
    return lh_ingest_store_put(s, job);
}

lh_err *lh_ingest_store_recover(lh_ingest_store *s, size_t *interrupted)
{
    *interrupted = 0;
    leveldb_iterator_t *it = leveldb_create_iterator(s->kv.db, s->kv.read);
    lh_arena *arena = lh_arena_create();
    lh_err *err = NULL;
    for (leveldb_iter_seek(it, "j/", 2); leveldb_iter_valid(it) && !err; leveldb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = leveldb_iter_key(it, &klen);
        if (klen < 2 || memcmp(k, "j/", 2))
            break;
        const char *v = leveldb_iter_value(it, &vlen);
        err = lh_recover_one(s, v, vlen, arena, interrupted);
        lh_arena_reset(arena);
    }
    leveldb_iter_destroy(it);
    lh_arena_destroy(arena);
    return err;
}
