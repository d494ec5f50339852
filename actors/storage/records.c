/*
 * records.c — the field tables of storaged's private records (records.h).
 */
#include "actors/storage/records.h"

LH_SCHEMA_DEFINE(lh_st_upload_record, LH_ST_UPLOAD_RECORD, "An upload in progress.")
LH_SCHEMA_DEFINE(lh_st_intent, LH_ST_INTENT, "An object about to be replaced.")
