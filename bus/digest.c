/*
 * digest.c — the SHA-256 of digest.h.
 */
#include "bus/digest.h"

#include <assert.h>
#include <stdlib.h>

#include <openssl/evp.h>

void lh_sha256_hex(const void *data, size_t len, char out[LH_SHA256_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n && i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

struct lh_sha256 {
    EVP_MD_CTX *ctx;
};

lh_sha256 *lh_sha256_create(void)
{
    lh_sha256 *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        lh_sha256_destroy(h);
        return NULL;
    }
    return h;
}

void lh_sha256_destroy(lh_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void lh_sha256_reset(lh_sha256 *h)
{
    int ok = EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
    assert(ok == 1);
    (void)ok;
}

void lh_sha256_update(lh_sha256 *h, const void *data, size_t len)
{
    int ok = EVP_DigestUpdate(h->ctx, data, len);
    assert(ok == 1);
    (void)ok;
}

void lh_sha256_running_hex(const lh_sha256 *h, char out[LH_SHA256_HEX + 1])
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
    out[LH_SHA256_HEX] = '\0';
}
