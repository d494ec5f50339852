/*
 * record.c — the LevelDB value of one item (record.h):
 *
 *   u8 version (1) | u64 seq | u32 dimension | dimension x float32
 *   | u32 metadata length | metadata | u8 has_text | u32 text length | text
 *
 * Fixed-width little-endian fields: the vectors are float32 already, and
 * decoding must be cheap when a restart reads every item.
 */
#include "actors/vector/record.h"

#include <string.h>

#define LH_RECORD_VERSION 1

static void lh_put_u32(lh_buf *out, uint32_t v) { lh_buf_append(out, &v, sizeof v); }

void lh_vec_record_encode(const lh_vec_record *r, lh_buf *out)
{
    unsigned char version = LH_RECORD_VERSION, has_text = r->has_text;
    lh_buf_append(out, &version, 1);
    lh_buf_append(out, &r->seq, sizeof r->seq);
    lh_put_u32(out, (uint32_t)r->dimension);
    lh_buf_append(out, r->vector, r->dimension * sizeof(float));
    lh_put_u32(out, (uint32_t)r->metadata_len);
    lh_buf_append(out, r->metadata, r->metadata_len);
    lh_buf_append(out, &has_text, 1);
    lh_put_u32(out, (uint32_t)r->text_len);
    lh_buf_append(out, r->text, r->text_len);
}

typedef struct lh_reader {
    const char *p, *end;
    bool ok;
} lh_reader;

static const char *lh_read_bytes(lh_reader *rd, size_t n)
{
    if (!rd->ok || (size_t)(rd->end - rd->p) < n) {
        rd->ok = false;
        return NULL;
    }
    const char *at = rd->p;
    rd->p += n;
    return at;
}

static uint32_t lh_read_u32(lh_reader *rd)
{
    uint32_t v = 0;
    const char *b = lh_read_bytes(rd, sizeof v);
    if (b)
        memcpy(&v, b, sizeof v);
    return v;
}

lh_err *lh_vec_record_decode(const char *data, size_t len, size_t dimension, float *vec_out,
                             lh_vec_record *r)
{
    lh_reader rd = {data, data + len, true};
    const char *version = lh_read_bytes(&rd, 1);
    if (version && *version != LH_RECORD_VERSION)
        return lh_err_new(LH_EINTERNAL, NULL, "item record has unknown version %d", *version);
    const char *seq = lh_read_bytes(&rd, sizeof r->seq);
    if (seq)
        memcpy(&r->seq, seq, sizeof r->seq);
    r->dimension = lh_read_u32(&rd);
    if (rd.ok && r->dimension != dimension)
        return lh_err_new(LH_EINTERNAL, NULL, "item record has dimension %zu, the index %zu",
                          r->dimension, dimension);
    /* the floats may sit at any byte offset: copied out, never cast */
    const char *vec = lh_read_bytes(&rd, dimension * sizeof(float));
    if (vec)
        memcpy(vec_out, vec, dimension * sizeof(float));
    r->vector = vec_out;
    r->metadata_len = lh_read_u32(&rd);
    r->metadata = lh_read_bytes(&rd, r->metadata_len);
    const char *has_text = lh_read_bytes(&rd, 1);
    r->has_text = has_text && *has_text;
    r->text_len = lh_read_u32(&rd);
    r->text = lh_read_bytes(&rd, r->text_len);
    if (!rd.ok || rd.p != rd.end)
        return lh_err_new(LH_EINTERNAL, NULL, "item record is damaged (%zu bytes)", len);
    return NULL;
}
