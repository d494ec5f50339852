/*
 * bridge.c — where HTTP's JSON meets the bus's msgpack.
 *
 * Bodies are converted with the system's one JSON <-> msgpack mapping
 * (bus/json.h), so a field means the same on the bus and over HTTP. Path
 * parameters are added to the message as string fields. Errors keep the
 * ADR-32 body shape end to end: a callee's `{"error":{...}}` reply is
 * passed through as JSON (it names the field at fault), and errors made
 * here use the same shape.
 */
#include "gateway/gw.h"

#include <string.h>

#include <msgpack.h>

#include "bus/json.h"

int lh_gw_status_of(const lh_err *err)
{
    int code = lh_err_code(err);
    return code >= 400 && code <= 599 ? code : 500;
}

void lh_gw_error_json(const lh_err *err, lh_buf *out)
{
    const char *msg = lh_err_message(err);
    const char *field = lh_err_field(err);
    lh_buf_appendf(out, "{\"error\":{\"code\":%d,\"message\":", lh_gw_status_of(err));
    lh_json_append_string(out, msg, strlen(msg));
    if (field) {
        lh_buf_append_str(out, ",\"field\":");
        lh_json_append_string(out, field, strlen(field));
    }
    lh_buf_append_str(out, "}}");
}

static bool lh_gw_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static bool lh_gw_key_is_param(const msgpack_object *key, const lh_gw_param *params, size_t n)
{
    if (key->type != MSGPACK_OBJECT_STR)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key->via.str.size == params[i].name_len &&
            !memcmp(key->via.str.ptr, params[i].name, params[i].name_len))
            return true;
    return false;
}

static void lh_gw_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

lh_err *lh_gw_merge_params(const char *in, size_t len, const lh_gw_param *params, size_t n,
                           lh_buf *out)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, in, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&u);
        return lh_err_new(LH_EBADREQ, NULL, "the request body must be a JSON object");
    }
    const msgpack_object_map *map = &u.data.via.map;
    size_t kept = 0;
    for (uint32_t i = 0; i < map->size; i++)
        kept += !lh_gw_key_is_param(&map->ptr[i].key, params, n);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lh_buf_msgpack_write);
    msgpack_pack_map(&pk, kept + n);
    for (size_t i = 0; i < n; i++) {
        lh_gw_pack_str(&pk, params[i].name, params[i].name_len);
        lh_gw_pack_str(&pk, params[i].value, params[i].value_len);
    }
    for (uint32_t i = 0; i < map->size; i++) {
        if (lh_gw_key_is_param(&map->ptr[i].key, params, n))
            continue; /* the path is the authority on its own parameters */
        msgpack_pack_object(&pk, map->ptr[i].key);
        msgpack_pack_object(&pk, map->ptr[i].val);
    }
    msgpack_unpacked_destroy(&u);
    return NULL;
}

lh_err *lh_gw_reply_json(lh_gw_req *req, const char *data, size_t len, lh_buf *out)
{
    (void)req;
    return lh_msgpack_to_json(data, len, out);
}

lh_err *lh_gw_body_to_msgpack(lh_gw_req *req, lh_buf *out)
{
    const char *json = req->body.data;
    size_t len = req->body.len;
    if (!json || lh_gw_blank(json, len)) /* an empty body is an empty object */
        json = "{}", len = 2;
    if (req->match.n_params == 0)
        return lh_json_to_msgpack(json, len, out);
    lh_buf plain;
    lh_buf_init(&plain);
    lh_err *err = lh_json_to_msgpack(json, len, &plain);
    if (!err)
        err = lh_gw_merge_params(plain.data, plain.len, req->match.params, req->match.n_params,
                                 out);
    lh_buf_free(&plain);
    return err;
}

/* True when the msgpack value is a map holding an "error" map. */
static bool lh_gw_is_error_body(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return false;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 5 &&
            !memcmp(k->via.str.ptr, "error", 5))
            return o->via.map.ptr[i].val.type == MSGPACK_OBJECT_MAP;
    }
    return false;
}

void lh_gw_error_reply_body(const lh_err *err, const char *data, size_t len, lh_buf *out)
{
    if (len > 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        bool ok = msgpack_unpack_next(&u, data, len, NULL) == MSGPACK_UNPACK_SUCCESS &&
                  lh_gw_is_error_body(&u.data);
        if (ok)
            lh_msgpack_obj_to_json(&u.data, out);
        msgpack_unpacked_destroy(&u);
        if (ok)
            return;
    }
    lh_gw_error_json(err, out);
}
