/*
 * records.h — what storaged keeps in LevelDB besides object descriptions
 * (which are lh_storage_object_info without bucket and key): the state of
 * an upload in progress, and the intent written before an object is
 * replaced. Declared as schemas so the one codec reads and writes them.
 */
#ifndef LH_STORAGE_RECORDS_H
#define LH_STORAGE_RECORDS_H

#include "bus/schema.h"
#include "schemas/storage.h"

#define LH_ST_UPLOAD_RECORD(F, T)                                                          \
    F(T, bucket, STRING, .required = true, .doc = "Bucket.")                               \
    F(T, key, STRING, .required = true, .doc = "Key.")                                     \
    F(T, content_type, STRING, .doc = "Content type.")                                     \
    F(T, metadata, ANY, .doc = "User metadata.")                                           \
    F(T, parts, INT, .doc = "Parts received.")                                             \
    F(T, size, INT, .doc = "Bytes received.")                                              \
    F(T, last_part, INT, .doc = "Bytes of the last part, to recognise a resend.")          \
    F(T, touched, INT, .doc = "Last activity, seconds since the epoch.")
LH_SCHEMA_DECLARE(lh_st_upload_record, LH_ST_UPLOAD_RECORD)

#define LH_ST_INTENT(F, T)                                                                 \
    F(T, token, STRING, .required = true, .doc = "The write about to become the object.")  \
    F(T, object, OBJECT, .required = true, .sub = &lh_storage_object_info_schema,          \
      .doc = "The object's new description.")
LH_SCHEMA_DECLARE(lh_st_intent, LH_ST_INTENT)

#endif
