/*
 * storage.h — the messages of storaged (`storage.*`): objects in buckets.
 *
 * Bodies that fit one bus message use storage.put; larger ones travel as
 * an upload (begin, parts of at most 1 MiB in order, commit or abort).
 * Reads take ranges, so any object streams through bounded memory.
 */
#ifndef LH_SCHEMAS_STORAGE_H
#define LH_SCHEMAS_STORAGE_H

#include "bus/contract.h"
#include "bus/schema.h"

#define LH_STORAGE_MAX_KEY 1024
#define LH_STORAGE_MAX_PUT (4 * 1024 * 1024)  /* one storage.put body */
#define LH_STORAGE_MAX_PART (1024 * 1024)     /* one upload part */
#define LH_STORAGE_MAX_GET (4 * 1024 * 1024)  /* one storage.get range */
#define LH_STORAGE_MAX_LIST 1000
#define LH_STORAGE_MAX_METADATA 8192

#define LH_STORAGE_BUCKET_DOC \
    "Bucket name: 3..63 characters of a-z, 0-9, '.' and '-', starting and ending with a " \
    "letter or digit (S3's rules)."
#define LH_STORAGE_KEY_DOC                                                                 \
    "Object key: 1..1024 bytes of UTF-8, '/' separating segments of at most 255 bytes. "   \
    "Refused (400): NUL, control characters, a backslash, a leading '/', an empty, '.' or " \
    "'..' segment. A key cannot be both an object and a folder of others ('a' and 'a/b'): 409."

#define LH_STORAGE_OBJECT_INFO(F, T)                                                       \
    F(T, bucket, STRING, .doc = "Bucket.")                                                 \
    F(T, key, STRING, .doc = "Key.")                                                       \
    F(T, size, INT, .doc = "Size in bytes.")                                               \
    F(T, sha256, STRING, .doc = "SHA-256 of the whole object, lowercase hex.")             \
    F(T, content_type, STRING, .doc = "Content type given at write time.")                 \
    F(T, metadata, ANY, .doc = "User metadata given at write time (a map of strings).")    \
    F(T, modified, STRING, .doc = "Last write time, RFC 3339 UTC.")
LH_MESSAGE(lh_storage_object_info, LH_STORAGE_OBJECT_INFO, "An object's description.")

#define LH_STORAGE_PUT_REQUEST(F, T)                                                       \
    F(T, bucket, STRING, .required = true, .doc = LH_STORAGE_BUCKET_DOC)                  \
    F(T, key, STRING, .required = true, .max = LH_STORAGE_MAX_KEY, .doc = LH_STORAGE_KEY_DOC) \
    F(T, data, BYTES, .required = true, .max = LH_STORAGE_MAX_PUT,                         \
      .doc = "The object's bytes (msgpack bin; in JSON, the string's UTF-8 bytes).")      \
    F(T, content_type, STRING, .max = 255, .doc = "Content type, e.g. text/csv.")         \
    F(T, metadata, ANY, .max = LH_STORAGE_MAX_METADATA,                                   \
      .doc = "User metadata: a map of string to string.")                                 \
    F(T, sha256, STRING, .min = 64, .max = 64,                                             \
      .doc = "Expected SHA-256 (hex); the write is refused (422) when it differs.")
LH_MESSAGE(lh_storage_put_request, LH_STORAGE_PUT_REQUEST,
           "Write a whole object that fits one bus message.")

#define LH_STORAGE_OBJECT_REQUEST(F, T)                                                    \
    F(T, bucket, STRING, .required = true, .doc = LH_STORAGE_BUCKET_DOC)                  \
    F(T, key, STRING, .required = true, .max = LH_STORAGE_MAX_KEY, .doc = LH_STORAGE_KEY_DOC)
LH_MESSAGE(lh_storage_object_request, LH_STORAGE_OBJECT_REQUEST, "Name one object.")

#define LH_STORAGE_GET_REQUEST(F, T)                                                       \
    F(T, bucket, STRING, .required = true, .doc = LH_STORAGE_BUCKET_DOC)                  \
    F(T, key, STRING, .required = true, .max = LH_STORAGE_MAX_KEY, .doc = LH_STORAGE_KEY_DOC) \
    F(T, offset, INT, .min = 0, .max = 9e15, .doc = "First byte to return.")              \
    F(T, length, INT, .min = 0, .max = LH_STORAGE_MAX_GET,                                 \
      .doc = "Bytes to return; 0 (default) means up to the end, at most 4 MiB per reply.")
LH_MESSAGE(lh_storage_get_request, LH_STORAGE_GET_REQUEST, "Read a range of an object.")

#define LH_STORAGE_GET_REPLY(F, T)                                                         \
    F(T, object, OBJECT, .sub = &lh_storage_object_info_schema, .doc = "The object.")     \
    F(T, offset, INT, .doc = "Offset of the first returned byte.")                        \
    F(T, data, BYTES, .doc = "The bytes of the range.")                                    \
    F(T, eof, BOOL, .doc = "True when the range reaches the end of the object.")
LH_MESSAGE(lh_storage_get_reply, LH_STORAGE_GET_REPLY, "A range of an object.")

#define LH_STORAGE_LIST_REQUEST(F, T)                                                      \
    F(T, bucket, STRING, .required = true, .doc = LH_STORAGE_BUCKET_DOC)                  \
    F(T, prefix, STRING, .max = LH_STORAGE_MAX_KEY, .doc = "Only keys starting with this.") \
    F(T, delimiter, STRING, .min = 1, .max = 1,                                            \
      .doc = "Roll keys up to their first delimiter after the prefix into `prefixes`.")    \
    F(T, after, STRING, .max = LH_STORAGE_MAX_KEY,                                         \
      .doc = "Start after this key (the `next` of the previous page).")                   \
    F(T, limit, INT, .min = 1, .max = LH_STORAGE_MAX_LIST, .def = LH_STORAGE_MAX_LIST,      \
      .doc = "Objects plus prefixes per page.")
LH_MESSAGE(lh_storage_list_request, LH_STORAGE_LIST_REQUEST,
           "List a bucket's objects, one page at a time.")

#define LH_STORAGE_LIST_REPLY(F, T)                                                        \
    F(T, objects, OBJECTS, .sub = &lh_storage_object_info_schema, .doc = "Objects, by key.") \
    F(T, prefixes, STRINGS, .doc = "Common prefixes (with `delimiter`).")                  \
    F(T, truncated, BOOL, .doc = "More results follow; ask again with after = next.")      \
    F(T, next, STRING, .doc = "Cursor for the next page, when truncated.")
LH_MESSAGE(lh_storage_list_reply, LH_STORAGE_LIST_REPLY, "One page of a listing.")

#define LH_STORAGE_DELETE_REPLY(F, T)                                                      \
    F(T, deleted, BOOL, .doc = "False when there was no such object.")
LH_MESSAGE(lh_storage_delete_reply, LH_STORAGE_DELETE_REPLY, "Whether it was there.")

#define LH_STORAGE_UPLOAD_BEGIN_REQUEST(F, T)                                              \
    F(T, bucket, STRING, .required = true, .doc = LH_STORAGE_BUCKET_DOC)                  \
    F(T, key, STRING, .required = true, .max = LH_STORAGE_MAX_KEY, .doc = LH_STORAGE_KEY_DOC) \
    F(T, content_type, STRING, .max = 255, .doc = "Content type.")                        \
    F(T, metadata, ANY, .max = LH_STORAGE_MAX_METADATA, .doc = "User metadata.")
LH_MESSAGE(lh_storage_upload_begin_request, LH_STORAGE_UPLOAD_BEGIN_REQUEST,
           "Start an upload of an object of any size.")

#define LH_STORAGE_UPLOAD_REF(F, T)                                                        \
    F(T, upload, STRING, .required = true, .min = 1, .max = 64,                            \
      .doc = "Upload id from storage.upload.begin.")
LH_MESSAGE(lh_storage_upload_ref, LH_STORAGE_UPLOAD_REF, "Name one upload.")

#define LH_STORAGE_UPLOAD_PART_REQUEST(F, T)                                               \
    F(T, upload, STRING, .required = true, .min = 1, .max = 64, .doc = "Upload id.")      \
    F(T, part, INT, .required = true, .min = 1, .max = 10000000,                           \
      .doc = "Part number: 1, 2, ... in order; resending the last part is idempotent.")    \
    F(T, data, BYTES, .required = true, .max = LH_STORAGE_MAX_PART,                        \
      .doc = "The part's bytes, at most 1 MiB.")
LH_MESSAGE(lh_storage_upload_part_request, LH_STORAGE_UPLOAD_PART_REQUEST,
           "Append the next part of an upload.")

#define LH_STORAGE_UPLOAD_REPLY(F, T)                                                      \
    F(T, upload, STRING, .doc = "Upload id.")                                              \
    F(T, parts, INT, .doc = "Parts received so far.")                                      \
    F(T, size, INT, .doc = "Bytes received so far.")
LH_MESSAGE(lh_storage_upload_reply, LH_STORAGE_UPLOAD_REPLY, "An upload's progress.")

#define LH_STORAGE_UPLOAD_COMMIT_REQUEST(F, T)                                             \
    F(T, upload, STRING, .required = true, .min = 1, .max = 64, .doc = "Upload id.")      \
    F(T, sha256, STRING, .min = 64, .max = 64,                                             \
      .doc = "Expected SHA-256 of the whole object; 422 and nothing written when it differs.")
LH_MESSAGE(lh_storage_upload_commit_request, LH_STORAGE_UPLOAD_COMMIT_REQUEST,
           "Finish an upload: the object appears whole, or not at all.")

/* ---- contracts ---- */

#define LH_STORAGE_ENDPOINTS(E, S)                                                          \
    E(S, storage_put, "put", "storage.put", lh_storage_put_request, lh_storage_object_info, \
      "Write a whole object of up to 4 MiB; answered once it is durable. Replaces any "     \
      "object of the same key.")                                                            \
    E(S, storage_get, "get", "storage.get", lh_storage_get_request, lh_storage_get_reply,   \
      "Read up to 4 MiB of an object from an offset.")                                      \
    E(S, storage_head, "head", "storage.head", lh_storage_object_request,                   \
      lh_storage_object_info, "An object's description (404 when there is none).")          \
    E(S, storage_list, "list", "storage.list", lh_storage_list_request,                     \
      lh_storage_list_reply,                                                                \
      "A bucket's objects in key order, one page at a time, with common prefixes.")         \
    E(S, storage_delete, "delete", "storage.delete", lh_storage_object_request,             \
      lh_storage_delete_reply, "Delete an object; answered once durable.")                  \
    E(S, storage_upload_begin, "upload-begin", "storage.upload.begin",                      \
      lh_storage_upload_begin_request, lh_storage_upload_reply,                             \
      "Start an upload of an object of any size; it stays invisible until committed. "      \
      "Uploads idle for an hour are aborted.")                                              \
    E(S, storage_upload_part, "upload-part", "storage.upload.part",                         \
      lh_storage_upload_part_request, lh_storage_upload_reply,                              \
      "Append part N (1, 2, ... in order; 409 names the part expected). Resending the "     \
      "last part is harmless.")                                                             \
    E(S, storage_upload_commit, "upload-commit", "storage.upload.commit",                   \
      lh_storage_upload_commit_request, lh_storage_object_info,                             \
      "Make the upload the object, whole, in one step (422 and nothing written when the "   \
      "sha256 differs; the upload then stays open).")                                       \
    E(S, storage_upload_abort, "upload-abort", "storage.upload.abort",                      \
      lh_storage_upload_ref, lh_storage_upload_reply, "Discard an upload and its bytes.")

#define LH_STORAGE_EVENTS(V, S)                                                             \
    V(S, storage_written, "written", lh_storage_object_info,                                \
      "An object was written (put or upload commit); durable when published.")              \
    V(S, storage_deleted, "deleted", lh_storage_object_request,                             \
      "An object was deleted; durable when published.")                                     \
    V(S, storage_aborted, "aborted", lh_storage_upload_reply,                               \
      "An upload was discarded with its parts; nothing was written.")
LH_SERVICE("storaged", LH_STORAGE_ENDPOINTS, LH_STORAGE_EVENTS)

#endif
