/*
 * compat.c — the shapes of other systems' APIs, so their callers switch to
 * Lakehouse without adapters.
 *
 *   native                 the bus message as JSON, both ways
 *   /ai/embed              the older lakehouse: `text` or `texts` in;
 *                          {"embeddings","dimensions","model"} out
 *   /v1/embeddings         OpenAI: {input: string|[string], model?,
 *                          encoding_format?: float|base64} in; a "list" of
 *                          "embedding" objects with `usage` out. The OpenAI
 *                          SDKs ask for base64 (little-endian float32) by
 *                          default, so that is served too.
 *
 * Requests are rewritten on their msgpack form (after the one JSON
 * conversion), replies read from the embed.request reply map.
 */
#include "gateway/gw.h"

#include <ctype.h>
#include <string.h>

#include <msgpack.h>

#include "bus/json.h"

/* ---- msgpack helpers ---- */

static bool lh_gw_key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           !memcmp(k->via.str.ptr, name, n);
}

static const msgpack_object *lh_gw_map_get(const msgpack_object *map, const char *name)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (lh_gw_key_is(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    return NULL;
}

static void lh_gw_pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Rewrites one entry of a request map into pk; returns the number of
 * entries written (0 drops it) or sets *err. */
typedef size_t (*lh_gw_entry_fn)(lh_gw_req *req, const msgpack_object_kv *kv,
                                 msgpack_packer *pk, lh_err **err);

/* JSON body -> msgpack map -> each entry through `fn` -> `out`. */
static lh_err *lh_gw_rewrite_request(lh_gw_req *req, lh_gw_entry_fn fn,
                                     lh_err *(*check)(const msgpack_object *map), lh_buf *out)
{
    lh_buf plain, entries;
    lh_buf_init(&plain);
    lh_buf_init(&entries);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    lh_err *err = lh_gw_body_to_msgpack(req, &plain);
    if (!err && (msgpack_unpack_next(&u, plain.data, plain.len, NULL) != MSGPACK_UNPACK_SUCCESS ||
                 u.data.type != MSGPACK_OBJECT_MAP))
        err = lh_err_new(LH_EBADREQ, NULL, "the request body must be a JSON object");
    if (!err && check)
        err = check(&u.data);
    size_t n = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &entries, lh_buf_msgpack_write);
    for (uint32_t i = 0; !err && i < u.data.via.map.size; i++)
        n += fn(req, &u.data.via.map.ptr[i], &pk, &err);
    if (!err) {
        msgpack_packer_init(&pk, out, lh_buf_msgpack_write);
        msgpack_pack_map(&pk, n);
        lh_buf_append(out, entries.data, entries.len);
    }
    msgpack_unpacked_destroy(&u);
    lh_buf_free(&plain);
    lh_buf_free(&entries);
    return err;
}

/* ---- vectors out ---- */

static float lh_gw_le_float(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* One vector row as a JSON array; rows may be arrays or float32 bins. */
static void lh_gw_row_json(const msgpack_object *row, lh_buf *out)
{
    if (row->type != MSGPACK_OBJECT_BIN) {
        lh_msgpack_obj_to_json(row, out);
        return;
    }
    lh_buf_append(out, "[", 1);
    for (uint32_t i = 0; i + 4 <= row->via.bin.size; i += 4) {
        msgpack_object f = {.type = MSGPACK_OBJECT_FLOAT32};
        f.via.f64 = lh_gw_le_float(row->via.bin.ptr + i);
        if (i)
            lh_buf_append(out, ",", 1);
        lh_msgpack_obj_to_json(&f, out);
    }
    lh_buf_append(out, "]", 1);
}

static float lh_gw_num(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return (float)o->via.f64;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return (float)o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (float)o->via.i64;
    default: return 0.0f;
    }
}

static void lh_gw_base64(const unsigned char *in, size_t n, lh_buf *out)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    lh_buf_reserve(out, (n + 2) / 3 * 4);
    char *o = out->data + out->len;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        *o++ = digits[v >> 18 & 63];
        *o++ = digits[v >> 12 & 63];
        *o++ = i + 1 < n ? digits[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? digits[v & 63] : '=';
    }
    out->len = (size_t)(o - out->data);
}

/* One vector row as a base64 string of little-endian float32s. */
static void lh_gw_row_base64(const msgpack_object *row, lh_buf *out)
{
    lh_buf_append(out, "\"", 1);
    if (row->type == MSGPACK_OBJECT_BIN) {
        lh_gw_base64((const unsigned char *)row->via.bin.ptr, row->via.bin.size, out);
    } else if (row->type == MSGPACK_OBJECT_ARRAY) {
        lh_buf bytes;
        lh_buf_init(&bytes);
        for (uint32_t i = 0; i < row->via.array.size; i++) {
            float f = lh_gw_num(&row->via.array.ptr[i]);
            uint32_t u;
            memcpy(&u, &f, sizeof u);
            unsigned char le[4] = {u & 255, u >> 8 & 255, u >> 16 & 255, u >> 24 & 255};
            lh_buf_append(&bytes, le, 4);
        }
        lh_gw_base64((const unsigned char *)bytes.data, bytes.len, out);
        lh_buf_free(&bytes);
    }
    lh_buf_append(out, "\"", 1);
}

typedef struct lh_gw_embed_reply {
    msgpack_unpacked u;
    const msgpack_object *vectors, *dimension, *model;
} lh_gw_embed_reply;

static lh_err *lh_gw_embed_reply_open(lh_gw_embed_reply *r, const char *data, size_t len)
{
    msgpack_unpacked_init(&r->u);
    if (msgpack_unpack_next(&r->u, data, len, NULL) == MSGPACK_UNPACK_SUCCESS) {
        r->vectors = lh_gw_map_get(&r->u.data, "vectors");
        r->dimension = lh_gw_map_get(&r->u.data, "dimension");
        r->model = lh_gw_map_get(&r->u.data, "model");
    }
    if (r->vectors && r->vectors->type == MSGPACK_OBJECT_ARRAY)
        return NULL;
    msgpack_unpacked_destroy(&r->u);
    return lh_err_new(LH_EINTERNAL, NULL, "embed.request replied without vectors");
}

static void lh_gw_append_model(const lh_gw_embed_reply *r, lh_buf *out)
{
    lh_buf_append_str(out, ",\"model\":");
    if (r->model)
        lh_msgpack_obj_to_json(r->model, out);
    else
        lh_buf_append_str(out, "null");
}

/* ---- native ---- */

const lh_gw_shape lh_gw_shape_native = {
    .name = "native",
    .request = lh_gw_body_to_msgpack,
    .reply = lh_gw_reply_json,
};

/* ---- /ai/embed ---- */

static lh_err *lh_gw_ai_check(const msgpack_object *map)
{
    const msgpack_object *text = lh_gw_map_get(map, "text");
    if (!text)
        return NULL;
    if (lh_gw_map_get(map, "texts"))
        return lh_err_new(LH_EBADREQ, "text", "give either text or texts, not both");
    if (text->type != MSGPACK_OBJECT_STR)
        return lh_err_new(LH_EBADREQ, "text", "text must be a string");
    return NULL;
}

static size_t lh_gw_ai_entry(lh_gw_req *req, const msgpack_object_kv *kv, msgpack_packer *pk,
                             lh_err **err)
{
    (void)req;
    (void)err;
    if (lh_gw_key_is(&kv->key, "text")) { /* a convenience: one text */
        lh_gw_pack_cstr(pk, "texts");
        msgpack_pack_array(pk, 1);
    } else {
        msgpack_pack_object(pk, kv->key);
    }
    msgpack_pack_object(pk, kv->val);
    return 1;
}

static lh_err *lh_gw_ai_request(lh_gw_req *req, lh_buf *out)
{
    return lh_gw_rewrite_request(req, lh_gw_ai_entry, lh_gw_ai_check, out);
}

static lh_err *lh_gw_ai_reply(lh_gw_req *req, const char *data, size_t len, lh_buf *out)
{
    (void)req;
    lh_gw_embed_reply r = {0};
    lh_err *err = lh_gw_embed_reply_open(&r, data, len);
    if (err)
        return err;
    lh_buf_append_str(out, "{\"embeddings\":[");
    for (uint32_t i = 0; i < r.vectors->via.array.size; i++) {
        if (i)
            lh_buf_append(out, ",", 1);
        lh_gw_row_json(&r.vectors->via.array.ptr[i], out);
    }
    lh_buf_append_str(out, "],\"dimensions\":");
    if (r.dimension)
        lh_msgpack_obj_to_json(r.dimension, out);
    else
        lh_buf_append_str(out, "null");
    lh_gw_append_model(&r, out);
    lh_buf_append(out, "}", 1);
    msgpack_unpacked_destroy(&r.u);
    return NULL;
}

const lh_gw_shape lh_gw_shape_ai_embed = {
    .name = "ai-embed",
    .request = lh_gw_ai_request,
    .reply = lh_gw_ai_reply,
    .request_schema =
        "{\"type\":\"object\",\"properties\":{"
        "\"texts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
        "\"description\":\"Texts to embed.\"},"
        "\"text\":{\"type\":\"string\",\"description\":\"One text (instead of texts).\"},"
        "\"model\":{\"type\":\"string\"},"
        "\"normalize\":{\"type\":\"boolean\",\"default\":true}}}",
    .reply_schema =
        "{\"type\":\"object\",\"required\":[\"embeddings\",\"dimensions\",\"model\"],"
        "\"properties\":{"
        "\"embeddings\":{\"type\":\"array\",\"items\":{\"type\":\"array\","
        "\"items\":{\"type\":\"number\"}},\"description\":\"Unit-length vectors, in order.\"},"
        "\"dimensions\":{\"type\":\"integer\"},\"model\":{\"type\":\"string\"}}}",
};

/* ---- /v1/embeddings (OpenAI) ---- */

int64_t lh_gw_count_words(const char *s, size_t len)
{
    int64_t words = 0;
    bool in_word = false;
    for (size_t i = 0; i < len; i++) {
        bool space = isspace((unsigned char)s[i]);
        words += !space && !in_word;
        in_word = !space;
    }
    return words;
}

static lh_err *lh_gw_openai_check(const msgpack_object *map)
{
    const msgpack_object *input = lh_gw_map_get(map, "input");
    if (!input)
        return lh_err_new(LH_EBADREQ, "input",
                          "input is required: a string or an array of strings");
    bool ok = input->type == MSGPACK_OBJECT_STR;
    if (input->type == MSGPACK_OBJECT_ARRAY) {
        ok = true;
        for (uint32_t i = 0; i < input->via.array.size; i++)
            ok = ok && input->via.array.ptr[i].type == MSGPACK_OBJECT_STR;
    }
    if (!ok)
        return lh_err_new(LH_EBADREQ, "input", "input must be a string or an array of strings");
    const msgpack_object *fmt = lh_gw_map_get(map, "encoding_format");
    if (fmt && !(fmt->type == MSGPACK_OBJECT_STR &&
                 ((fmt->via.str.size == 5 && !memcmp(fmt->via.str.ptr, "float", 5)) ||
                  (fmt->via.str.size == 6 && !memcmp(fmt->via.str.ptr, "base64", 6)))))
        return lh_err_new(LH_EBADREQ, "encoding_format", "encoding_format must be float or base64");
    return NULL;
}

static void lh_gw_openai_count(lh_gw_req *req, const msgpack_object *input)
{
    if (input->type == MSGPACK_OBJECT_STR) {
        req->tokens += lh_gw_count_words(input->via.str.ptr, input->via.str.size);
        return;
    }
    for (uint32_t i = 0; i < input->via.array.size; i++)
        lh_gw_openai_count(req, &input->via.array.ptr[i]);
}

static size_t lh_gw_openai_entry(lh_gw_req *req, const msgpack_object_kv *kv, msgpack_packer *pk,
                                 lh_err **err)
{
    (void)err;
    if (lh_gw_key_is(&kv->key, "input")) {
        lh_gw_openai_count(req, &kv->val);
        lh_gw_pack_cstr(pk, "texts");
        if (kv->val.type == MSGPACK_OBJECT_STR)
            msgpack_pack_array(pk, 1);
        msgpack_pack_object(pk, kv->val);
        return 1;
    }
    if (lh_gw_key_is(&kv->key, "encoding_format")) {
        req->base64 = kv->val.via.str.size == 6; /* checked: "float" or "base64" */
        return 0;
    }
    if (lh_gw_key_is(&kv->key, "user")) /* OpenAI's abuse-tracking tag: nothing to do */
        return 0;
    msgpack_pack_object(pk, kv->key);
    msgpack_pack_object(pk, kv->val);
    return 1;
}

static lh_err *lh_gw_openai_request(lh_gw_req *req, lh_buf *out)
{
    req->tokens = 0;
    req->base64 = false;
    return lh_gw_rewrite_request(req, lh_gw_openai_entry, lh_gw_openai_check, out);
}

static lh_err *lh_gw_openai_reply(lh_gw_req *req, const char *data, size_t len, lh_buf *out)
{
    lh_gw_embed_reply r = {0};
    lh_err *err = lh_gw_embed_reply_open(&r, data, len);
    if (err)
        return err;
    lh_buf_append_str(out, "{\"object\":\"list\",\"data\":[");
    for (uint32_t i = 0; i < r.vectors->via.array.size; i++) {
        lh_buf_appendf(out, "%s{\"object\":\"embedding\",\"index\":%u,\"embedding\":",
                       i ? "," : "", (unsigned)i);
        if (req->base64)
            lh_gw_row_base64(&r.vectors->via.array.ptr[i], out);
        else
            lh_gw_row_json(&r.vectors->via.array.ptr[i], out);
        lh_buf_append(out, "}", 1);
    }
    lh_buf_append(out, "]", 1);
    lh_gw_append_model(&r, out);
    lh_buf_appendf(out, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}",
                   (long long)req->tokens, (long long)req->tokens);
    msgpack_unpacked_destroy(&r.u);
    return NULL;
}

const lh_gw_shape lh_gw_shape_openai_embeddings = {
    .name = "openai-embeddings",
    .request = lh_gw_openai_request,
    .reply = lh_gw_openai_reply,
    .request_schema =
        "{\"type\":\"object\",\"required\":[\"input\"],\"properties\":{"
        "\"input\":{\"oneOf\":[{\"type\":\"string\"},"
        "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}],"
        "\"description\":\"Text or texts to embed.\"},"
        "\"model\":{\"type\":\"string\"},"
        "\"encoding_format\":{\"type\":\"string\",\"enum\":[\"float\",\"base64\"],"
        "\"default\":\"float\"},"
        "\"user\":{\"type\":\"string\",\"description\":\"Accepted and ignored.\"}}}",
    .reply_schema =
        "{\"type\":\"object\",\"properties\":{"
        "\"object\":{\"type\":\"string\",\"enum\":[\"list\"]},"
        "\"data\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
        "\"object\":{\"type\":\"string\",\"enum\":[\"embedding\"]},"
        "\"index\":{\"type\":\"integer\"},"
        "\"embedding\":{\"oneOf\":[{\"type\":\"array\",\"items\":{\"type\":\"number\"}},"
        "{\"type\":\"string\",\"description\":\"base64 of little-endian float32\"}]}}}},"
        "\"model\":{\"type\":\"string\"},"
        "\"usage\":{\"type\":\"object\",\"properties\":{"
        "\"prompt_tokens\":{\"type\":\"integer\"},\"total_tokens\":{\"type\":\"integer\"}},"
        "\"description\":\"Tokens counted as whitespace-separated words.\"}}}",
};
