/*
 * storage.c — /v1/storage routes that are one bus request each, and what
 * the streamed ones (storage_put.c, storage_get.c) share. (The listing,
 * GET /v1/storage/{bucket}?prefix=..., is a query route: query.c.)
 *
 *   DELETE /v1/storage/{bucket}/{key...}                          storage.delete;
 *          204 when it was there, 404 when not
 */
#include "gateway/gw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/json.h"
#include "schemas/storage.h"

/* ---- names from the path ---- */

static const lh_gw_param *lh_gw_param_named(const lh_gw_req *req, const char *name)
{
    for (size_t i = 0; i < req->match.n_params; i++) {
        const lh_gw_param *p = &req->match.params[i];
        if (p->name_len == strlen(name) && !memcmp(p->name, name, p->name_len))
            return p;
    }
    return NULL;
}

void lh_gw_storage_names(const lh_gw_req *req, char *bucket, size_t bcap, lh_buf *key)
{
    const lh_gw_param *b = lh_gw_param_named(req, "bucket"), *k = lh_gw_param_named(req, "key");
    snprintf(bucket, bcap, "%.*s", b ? (int)b->value_len : 0, b ? b->value : "");
    lh_buf_reset(key);
    if (k)
        lh_buf_append(key, k->value, k->value_len);
    lh_buf_cstr(key);
}

lh_str lh_gw_param_str(const lh_gw_req *req, const char *name)
{
    const lh_gw_param *p = lh_gw_param_named(req, name);
    return p ? (lh_str){p->value, p->value_len} : (lh_str){0};
}

lh_err *lh_gw_copy_error(const lh_err *err, natsMsg *msg, lh_buf *body)
{
    lh_buf_reset(body);
    lh_gw_error_reply_body(err, msg ? natsMsg_GetData(msg) : NULL,
                           msg ? (size_t)natsMsg_GetDataLength(msg) : 0, body);
    return lh_err_new(lh_err_code(err), lh_err_field(err), "%s", lh_err_message(err));
}

/* ---- DELETE /v1/storage/{bucket}/{key...} ---- */

static lh_err *lh_gw_delete_reply(lh_gw_req *req, const char *data, size_t len, lh_buf *out)
{
    lh_storage_delete_reply *rep = NULL;
    lh_err *err = lh_gw_decode(req, &lh_ep_storage_delete, data, len, (void **)&rep);
    if (err)
        return err;
    if (rep->deleted) {
        req->reply_status = 204;
        return NULL;
    }
    char bucket[128];
    lh_buf key;
    lh_buf_init(&key);
    lh_gw_storage_names(req, bucket, sizeof bucket, &key);
    err = lh_err_new(LH_ENOTFOUND, "key", "no object '%s' in bucket '%s'", key.data, bucket);
    lh_gw_error_json(err, out);
    lh_err_free(err);
    lh_buf_free(&key);
    req->reply_status = 404;
    return NULL;
}

const lh_gw_shape lh_gw_shape_storage_delete = {
    .name = "storage-delete",
    .request = lh_gw_body_to_msgpack,
    .reply = lh_gw_delete_reply,
    .reply_schema = "{\"description\":\"No body: 204 when the object was deleted.\"}",
};
