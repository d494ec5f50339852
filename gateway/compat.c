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
 * Each compatible request is a schema of its own (decoded and refused the
 * way every message is, and listed in OpenAPI from the same table), turned
 * into an embed.request struct; the reply is embed.request's, decoded
 * through its contract and written in the other system's shape.
 */
#include "gateway/gw.h"

#include <ctype.h>
#include <string.h>

#include "bus/json.h"
#include "bus/request.h"
#include "schemas/embed.h"

/* ---- the requests, declared as data ---- */

#define LH_GW_AI_EMBED_REQUEST(F, T)                                                        \
    F(T, texts, STRINGS, .doc = "Texts to embed.")                                          \
    F(T, text, STRING, .doc = "One text (instead of texts).")                               \
    F(T, model, STRING, .doc = "Model name (default: the provider's).")                     \
    F(T, normalize, BOOL, .def = 1, .doc = "Scale each vector to unit length.")
LH_SCHEMA_DECLARE(lh_gw_ai_embed_request, LH_GW_AI_EMBED_REQUEST)
LH_SCHEMA_DEFINE(lh_gw_ai_embed_request, LH_GW_AI_EMBED_REQUEST,
                 "The older lakehouse's embed request: `texts`, or one `text`.")

#define LH_GW_OPENAI_EMBEDDINGS_REQUEST(F, T)                                               \
    F(T, input, STRINGS, .required = true, .flags = LH_F_ONE_OR_MANY,                       \
      .doc = "Text or texts to embed.")                                                     \
    F(T, model, STRING, .doc = "Model name (default: the provider's).")                     \
    F(T, encoding_format, STRING, .choices = "float|base64",                                \
      .doc = "`float` (default): arrays of numbers; `base64`: little-endian float32.")      \
    F(T, user, STRING, .doc = "OpenAI's end-user tag: accepted and ignored.")
LH_SCHEMA_DECLARE(lh_gw_openai_embeddings_request, LH_GW_OPENAI_EMBEDDINGS_REQUEST)
LH_SCHEMA_DEFINE(lh_gw_openai_embeddings_request, LH_GW_OPENAI_EMBEDDINGS_REQUEST,
                 "OpenAI's embeddings request.")

/* The JSON body decoded through a compatible request's schema. */
lh_err *lh_gw_compat_decode(lh_gw_req *req, const lh_schema *schema, void **out)
{
    lh_buf mp;
    lh_buf_init(&mp);
    lh_err *err = lh_gw_body_to_msgpack(req, &mp);
    if (!err)
        err = lh_schema_decode(schema, mp.data, mp.len, lh_gw_req_arena(req), out);
    lh_buf_free(&mp);
    return err;
}

/* Sends what was given, so embedd applies its own defaults and limits. */
static void lh_gw_embed_message(const lh_embed_request *e, lh_buf *out)
{
    lh_message_encode_given(lh_ep_embed_request.request, e, out);
}

/* ---- vectors out ---- */

static lh_err *lh_gw_embed_reply(lh_gw_req *req, const char *data, size_t len,
                                 lh_embed_reply **out)
{
    lh_err *err = lh_gw_decode(req, &lh_ep_embed_request, data, len, (void **)out);
    if (!err && !(*out)->vectors.v && (*out)->vectors.rows)
        err = lh_err_new(LH_EINTERNAL, NULL, "embed.request replied without vectors");
    return err;
}

static const float *lh_gw_row(const lh_embed_reply *r, size_t i)
{
    return r->vectors.v + i * r->vectors.cols;
}

/* One vector as a JSON array of numbers. */
static void lh_gw_row_json(const float *v, size_t n, lh_buf *out)
{
    lh_buf_append(out, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            lh_buf_append(out, ",", 1);
        lh_json_append_float(out, v[i], true);
    }
    lh_buf_append(out, "]", 1);
}

/* One vector as a base64 string of little-endian float32s (the decoded
 * floats are in memory order, and this machine is little-endian). */
static void lh_gw_row_base64(const float *v, size_t n, lh_buf *out)
{
    lh_json_append_base64(out, v, n * sizeof *v);
}

static void lh_gw_append_model(const lh_embed_reply *r, lh_buf *out)
{
    lh_buf_append_str(out, ",\"model\":");
    if (r->model.s)
        lh_json_append_string(out, r->model.s, r->model.len);
    else
        lh_buf_append_str(out, "null");
}

/* ---- native ---- */

const lh_gw_shape lh_gw_shape_native = {
    .name = "native",
    .request = lh_gw_body_to_msgpack,
    .reply = lh_gw_reply_json,
};

/* A body saying `stream: true` asks for the reply as events (sse.c). */
static lh_err *lh_gw_native_streamable_request(lh_gw_req *req, lh_buf *out)
{
    lh_err *err = lh_gw_body_to_msgpack(req, out);
    if (!err && lh_gw_msgpack_flag(out->data, out->len, "stream"))
        req->sse = &lh_gw_sse_native;
    return err;
}

const lh_gw_shape lh_gw_shape_native_streamable = {
    .name = "native",
    .request = lh_gw_native_streamable_request,
    .reply = lh_gw_reply_json,
};

/* ---- /ai/embed ---- */

static lh_err *lh_gw_ai_request(lh_gw_req *req, lh_buf *out)
{
    lh_gw_ai_embed_request *ai = NULL;
    lh_err *err = lh_gw_compat_decode(req, &lh_gw_ai_embed_request_schema, (void **)&ai);
    if (err)
        return err;
    if (ai->text.s && ai->texts.v)
        return lh_err_new(LH_EBADREQ, "text", "give either text or texts, not both");
    lh_embed_request e = {.texts = ai->texts, .model = ai->model};
    if (ai->text.s) /* a convenience: one text */
        e.texts = (lh_strs){&ai->text, 1};
    if (ai->has_normalize)
        LH_SET(&e, normalize, ai->normalize);
    lh_gw_embed_message(&e, out);
    return NULL;
}

static lh_err *lh_gw_ai_reply(lh_gw_req *req, const char *data, size_t len, lh_buf *out)
{
    lh_embed_reply *r = NULL;
    lh_err *err = lh_gw_embed_reply(req, data, len, &r);
    if (err)
        return err;
    lh_buf_append_str(out, "{\"embeddings\":[");
    for (size_t i = 0; i < r->vectors.rows; i++) {
        if (i)
            lh_buf_append(out, ",", 1);
        lh_gw_row_json(lh_gw_row(r, i), r->vectors.cols, out);
    }
    lh_buf_appendf(out, "],\"dimensions\":%lld", (long long)r->dimension);
    lh_gw_append_model(r, out);
    lh_buf_append(out, "}", 1);
    return NULL;
}

const lh_gw_shape lh_gw_shape_ai_embed = {
    .name = "ai-embed",
    .request = lh_gw_ai_request,
    .reply = lh_gw_ai_reply,
    .request_message = &lh_gw_ai_embed_request_schema,
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

static lh_err *lh_gw_openai_request(lh_gw_req *req, lh_buf *out)
{
    lh_gw_openai_embeddings_request *o = NULL;
    lh_err *err =
        lh_gw_compat_decode(req, &lh_gw_openai_embeddings_request_schema, (void **)&o);
    if (err)
        return err;
    req->tokens = 0;
    for (size_t i = 0; i < o->input.n; i++)
        req->tokens += lh_gw_count_words(o->input.v[i].s, o->input.v[i].len);
    req->base64 = o->encoding_format.s && !strcmp(o->encoding_format.s, "base64");
    lh_embed_request e = {.texts = o->input, .model = o->model};
    lh_gw_embed_message(&e, out);
    return NULL;
}

static lh_err *lh_gw_openai_reply(lh_gw_req *req, const char *data, size_t len, lh_buf *out)
{
    lh_embed_reply *r = NULL;
    lh_err *err = lh_gw_embed_reply(req, data, len, &r);
    if (err)
        return err;
    lh_buf_append_str(out, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < r->vectors.rows; i++) {
        lh_buf_appendf(out, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":",
                       i ? "," : "", i);
        if (req->base64)
            lh_gw_row_base64(lh_gw_row(r, i), r->vectors.cols, out);
        else
            lh_gw_row_json(lh_gw_row(r, i), r->vectors.cols, out);
        lh_buf_append(out, "}", 1);
    }
    lh_buf_append(out, "]", 1);
    lh_gw_append_model(r, out);
    lh_buf_appendf(out, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}",
                   (long long)req->tokens, (long long)req->tokens);
    return NULL;
}

const lh_gw_shape lh_gw_shape_openai_embeddings = {
    .name = "openai-embeddings",
    .request = lh_gw_openai_request,
    .reply = lh_gw_openai_reply,
    .request_message = &lh_gw_openai_embeddings_request_schema,
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
