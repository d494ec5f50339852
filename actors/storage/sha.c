/*
 * sha.c — running SHA-256 on libcrypto's EVP interface (sha.h).
 */
#include "actors/storage/sha.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>

#include <openssl/evp.h>

struct lh_st_sha {
    EVP_MD_CTX *ctx;
};

lh_st_sha *lh_st_sha_create(void)
{
    lh_st_sha *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        lh_st_sha_destroy(h);
        return NULL;
    }
    return h;
}

void lh_st_sha_destroy(lh_st_sha *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void lh_st_sha_reset(lh_st_sha *h)
{
    int ok = EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
    assert(ok == 1);
    (void)ok;
}

void lh_st_sha_update(lh_st_sha *h, const void *data, size_t len)
{
    int ok = EVP_DigestUpdate(h->ctx, data, len);
    assert(ok == 1);
    (void)ok;
}

void lh_st_sha_hex(const lh_st_sha *h, char out[LH_ST_SHA_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    /* Finalising a copy keeps the running hash usable. */
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    int ok = copy && EVP_MD_CTX_copy_ex(copy, h->ctx) == 1 && EVP_DigestFinal_ex(copy, md, &n) == 1;
    EVP_MD_CTX_free(copy);
    assert(ok && n == sizeof md); /* only allocation can fail here */
    (void)ok;
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[LH_ST_SHA_HEX] = '\0';
}

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
