/*
 * schemas.c — the one place the field tables are instantiated. Each
 * service's header declares its messages (struct + list); this file turns
 * every list into its lh_schema table.
 */
#include "schemas/embed.h"

LH_SCHEMA_DEFINE(lh_embed_request, LH_EMBED_REQUEST,
                 "Embed texts into vectors with the configured provider.")
LH_SCHEMA_DEFINE(lh_embed_reply, LH_EMBED_REPLY, "The vectors for an embed.request.")
