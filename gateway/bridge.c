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

#include <assert.h>
#include <string.h>

#include "bus/error_body.h"
#include "bus/json.h"
#include "bus/mpscan.h"
#include "bus/request.h"
#include "bus/value.h"

int lh_gw_status_of(const lh_err *err)
{
    int code = lh_err_code(err);
    return code >= 400 && code <= 599 ? code : 500;
}

void lh_gw_error_json(const lh_err *err, lh_buf *out) { lh_error_body_json(err, out); }

static bool lh_gw_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static bool lh_gw_is_param(const lh_mp_value *key, const lh_gw_param *params, size_t n)
{
    if (key->type != LH_MP_STR)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key->n == params[i].name_len && !memcmp(key->s, params[i].name, key->n))
            return true;
    return false;
}

/* The body's map is the client's, of any shape: it is copied pair by pair
 * (each pair as the bytes it came in), leaving out the keys the path sets. */
lh_err *lh_gw_merge_params(const char *in, size_t len, const lh_gw_param *params, size_t n,
                           lh_buf *out)
{
    const char *p = in, *end = in + len;
    lh_mp_value map;
    if (!lh_mp_read(&p, end, &map) || map.type != LH_MP_MAP)
        return lh_err_new(LH_EBADREQ, NULL, "the request body must be a JSON object");
    const char *pairs = p;
    size_t kept = 0;
    for (size_t i = 0; i < map.n; i++) {
        lh_mp_value key;
        if (!lh_mp_read(&p, end, &key) || !lh_mp_skip(&p, end))
            return lh_err_new(LH_EBADREQ, NULL, "malformed msgpack: truncated message");
        kept += !lh_gw_is_param(&key, params, n);
    }
    lh_vw w;
    lh_vw_init(&w, out);
    lh_vw_map(&w, kept + n);
    for (size_t i = 0; i < n; i++) {
        lh_vw_str(&w, params[i].name, params[i].name_len);
        lh_vw_str(&w, params[i].value, params[i].value_len);
    }
    p = pairs;
    for (size_t i = 0; i < map.n; i++) { /* checked above: every read succeeds */
        const char *at = p;
        lh_mp_value key;
        lh_mp_read(&p, end, &key);
        lh_mp_skip(&p, end);
        if (!lh_gw_is_param(&key, params, n)) /* the path is the authority on its own parameters */
            lh_vw_raw(&w, at, (size_t)(p - at));
    }
    return NULL;
}

lh_err *lh_gw_decode(lh_gw_req *req, const lh_contract *k, const char *data, size_t len,
                     void **out)
{
    return lh_reply_decode(k, data, len, lh_gw_req_arena(req), out);
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

void lh_gw_error_reply_body(const lh_err *err, const char *data, size_t len, lh_buf *out)
{
    if (data && lh_error_body_is(data, len)) {
        lh_err *bad = lh_msgpack_to_json(data, len, out);
        assert(!bad); /* it decoded as an error body */
        lh_err_free(bad);
        return; /* the callee's own body: it names the field at fault */
    }
    lh_gw_error_json(err, out);
}

void lh_gw_error_out(const lh_gw_shape *shape, const lh_err *err, const char *data, size_t len,
                     lh_buf *out)
{
    if (shape && shape->error)
        shape->error(err, data, len, out);
    else
        lh_gw_error_reply_body(err, data, len, out);
}

bool lh_gw_msgpack_flag(const char *in, size_t len, const char *name)
{
    const char *p = in, *end = in + len;
    lh_mp_value map;
    if (!lh_mp_read(&p, end, &map) || map.type != LH_MP_MAP)
        return false;
    size_t nlen = strlen(name);
    for (size_t i = 0; i < map.n; i++) {
        lh_mp_value key, v;
        if (!lh_mp_read(&p, end, &key))
            return false;
        bool hit = key.type == LH_MP_STR && key.n == nlen && !memcmp(key.s, name, nlen);
        if (hit)
            return lh_mp_read(&p, end, &v) && v.type == LH_MP_BOOL && v.b;
        if (!lh_mp_skip(&p, end))
            return false;
    }
    return false;
}
