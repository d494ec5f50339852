/*
 * sha.c — a client-given SHA-256, checked (sha.h).
 */
#include "actors/storage/sha.h"

#include <ctype.h>

lh_err *lh_st_sha_parse(const lh_str *hex, const char *field, char out[LH_ST_SHA_HEX + 1])
{
    bool ok = hex->len == LH_ST_SHA_HEX;
    for (size_t i = 0; ok && i < hex->len; i++) {
        ok = isxdigit((unsigned char)hex->s[i]);
        out[i] = (char)tolower((unsigned char)hex->s[i]);
    }
    if (!ok)
        return lh_err_new(LH_EBADREQ, field, "%s must be 64 hexadecimal digits (a SHA-256)",
                          field);
    out[LH_ST_SHA_HEX] = '\0';
    return NULL;
}
