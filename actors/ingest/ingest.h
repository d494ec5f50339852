/*
 * ingest.h — ingestd, the actor that turns CSV and JSON Lines files into
 * dataset versions (`ingest.*`).
 *
 * ingest.file checks the request, stores inline content (bucket
 * `ingest-inline`), records a queued job and answers with it (or, with
 * `wait`, when it is done). A pool of job threads then reads the source
 * object from storaged by ranges, infers the schema over the whole file,
 * reads it again to store the typed rows as a Parquet object (bucket
 * `datasets`), commits a version in catalogd recording the source object
 * and the Parquet one, and optionally embeds one text column into a
 * vector index. Progress goes out as events.ingestd.progress.
 *
 * Jobs live in LevelDB at $LH_DATA_DIR/ingestd/db, so ingest.status
 * answers across restarts; a job that was queued or running when ingestd
 * stopped is failed with "interrupted".
 *
 * Settings:
 *   LH_INGEST_JOB_THREADS  jobs run at once (default 2)
 *   LH_INGEST_CHUNK_BYTES  bytes per storage.get range (default 1 MiB)
 *   LH_INGEST_EMBED_BATCH  rows per embed.request / vector.upsert (default 64)
 *   LH_INGEST_KEEP_SOURCE  1 (default): the source object stays after the commit;
 *                          0: it is deleted, the Parquet object is the only copy
 *   LH_INGEST_PARQUET_MEMORY  the Parquet writer's memory before it spills
 *                          to $LH_DATA_DIR/ingestd/tmp (default 1GB)
 */
#ifndef LH_ACTOR_INGEST_H
#define LH_ACTOR_INGEST_H

#include "bus/actor.h"

extern const lh_actor_def lh_ingest_actor;

#endif
