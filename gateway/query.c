/*
 * query.c — routes whose request comes from the URL: path parameters and
 * the query string, typed by a message schema.
 *
 * `GET /v1/ingest/{job}?wait=true` or `GET /v1/datasets/{name}?version=2`
 * carry their options in the query string, and a GET has no body. The
 * schema of the bus request says what each name means, so a query
 * parameter is typed the way the field is (an integer field takes digits,
 * a boolean true/false/1/0 or no value at all) and anything else is
 * refused with the list of what the route takes. The same schema gives the
 * parameters in OpenAPI (openapi.c), so the two cannot disagree.
 */
#include "gateway/gw.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/request.h"

/* Query strings are short; past this many fields something is wrong. */
#define LH_GW_MAX_QUERY_FIELDS 32

typedef struct lh_gw_query {
    const lh_gw_req *req;
    const lh_schema *schema;
    lh_arena *arena;
    void *value; /* the struct being filled */
    size_t n;
    uint64_t seen; /* bit per schema field */
    lh_err *err;
} lh_gw_query;

static bool lh_gw_field_is_param(const lh_gw_req *req, const char *name)
{
    for (size_t i = 0; i < req->match.n_params; i++) {
        const lh_gw_param *p = &req->match.params[i];
        if (p->name_len == strlen(name) && !memcmp(p->name, name, p->name_len))
            return true;
    }
    return false;
}

bool lh_gw_query_field_ok(const lh_field *f)
{
    return f->kind == LH_K_STRING || f->kind == LH_K_INT || f->kind == LH_K_FLOAT ||
           f->kind == LH_K_BOOL;
}

/* "a, b or c": the fields a query may set, for the refusal of any other. */
static void lh_gw_query_names(const lh_gw_query *q, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < q->schema->n_fields && used < cap; i++) {
        const lh_field *f = &q->schema->fields[i];
        if (!lh_gw_query_field_ok(f) || lh_gw_field_is_param(q->req, f->name))
            continue;
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? ", " : "", f->name);
    }
}

static lh_err *lh_gw_query_bool(const lh_field *f, const char *v, bool *out)
{
    if (!v || !*v || !strcmp(v, "true") || !strcmp(v, "1")) /* ?wait alone means yes */
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0"))
        *out = false;
    else
        return lh_err_new(LH_EBADREQ, f->name, "%s must be true or false, not '%.64s'", f->name,
                          v);
    return NULL;
}

static lh_err *lh_gw_query_number(const lh_field *f, const char *v, void *out)
{
    char *end = NULL;
    errno = 0;
    if (f->kind == LH_K_INT) {
        long long n = v && *v ? strtoll(v, &end, 10) : 0;
        if (v && *v && !*end && !errno) {
            *(int64_t *)out = n; /* the range is the schema's to check */
            return NULL;
        }
        return lh_err_new(LH_EBADREQ, f->name, "%s must be an integer, not '%.64s'", f->name,
                          v ? v : "");
    }
    double d = v && *v ? strtod(v, &end) : 0;
    if (v && *v && !*end && !errno && isfinite(d)) {
        *(double *)out = d;
        return NULL;
    }
    return lh_err_new(LH_EBADREQ, f->name, "%s must be a number, not '%.64s'", f->name,
                      v ? v : "");
}

/* Types the text of one parameter into its field of the struct. */
static lh_err *lh_gw_query_value(lh_gw_query *q, const lh_field *f, const char *v)
{
    void *at = lh_field_member(f, q->value);
    lh_err *err = NULL;
    switch (f->kind) {
    case LH_K_BOOL: err = lh_gw_query_bool(f, v, at); break;
    case LH_K_INT:
    case LH_K_FLOAT: err = lh_gw_query_number(f, v, at); break;
    default: {
        size_t n = v ? strlen(v) : 0;
        *(lh_str *)at = (lh_str){lh_arena_strndup(q->arena, v ? v : "", n), n};
    }
    }
    if (!err)
        lh_field_set_given(f, q->value);
    return err;
}

static lh_err *lh_gw_query_unknown(const lh_gw_query *q, const char *key)
{
    char names[512];
    lh_gw_query_names(q, names, sizeof names);
    if (!names[0])
        return lh_err_new(LH_EBADREQ, NULL, "this route takes no query parameters ('%.64s' given)",
                          key);
    return lh_err_new(LH_EBADREQ, NULL, "unknown query parameter '%.64s' (expected %s)", key,
                      names);
}

static enum MHD_Result lh_gw_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    lh_gw_query *q = cls;
    size_t i = 0;
    while (i < q->schema->n_fields && strcmp(q->schema->fields[i].name, key))
        i++;
    const lh_field *f = i < q->schema->n_fields ? &q->schema->fields[i] : NULL;
    if (!f || !lh_gw_query_field_ok(f) || lh_gw_field_is_param(q->req, key))
        q->err = lh_gw_query_unknown(q, key);
    else if (i >= 64 || q->n == LH_GW_MAX_QUERY_FIELDS)
        q->err = lh_err_new(LH_EBADREQ, NULL, "too many query parameters");
    else if (q->seen & (UINT64_C(1) << i))
        q->err = lh_err_new(LH_EBADREQ, key, "query parameter '%s' is given twice", key);
    if (q->err)
        return MHD_NO;
    q->seen |= UINT64_C(1) << i;
    q->n++;
    q->err = lh_gw_query_value(q, f, value);
    return q->err ? MHD_NO : MHD_YES;
}

/* A path parameter's field, which must be a string of the schema. */
static lh_err *lh_gw_query_param(lh_gw_query *q, const lh_gw_param *p)
{
    for (size_t i = 0; i < q->schema->n_fields; i++) {
        const lh_field *f = &q->schema->fields[i];
        if (strlen(f->name) != p->name_len || memcmp(f->name, p->name, p->name_len))
            continue;
        assert(f->kind == LH_K_STRING); /* test_gateway_routes checks every route */
        *(lh_str *)lh_field_member(f, q->value) =
            (lh_str){lh_arena_strndup(q->arena, p->value, p->value_len), p->value_len};
        return NULL;
    }
    return lh_err_new(LH_EINTERNAL, NULL, "path parameter '%.*s' is not a field of %s",
                      (int)p->name_len, p->name, q->schema->name);
}

lh_err *lh_gw_query_decode(lh_gw_req *req, const lh_schema *schema, lh_arena *arena, void **out)
{
    assert(schema);
    lh_gw_query q = {.req = req, .schema = schema, .arena = arena};
    q.value = lh_arena_alloc(arena, schema->size);
    lh_schema_init(schema, q.value);
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, lh_gw_query_arg, &q);
    for (size_t i = 0; !q.err && i < req->match.n_params; i++)
        q.err = lh_gw_query_param(&q, &req->match.params[i]);
    *out = q.value;
    return q.err;
}

/* The shape: the route's endpoint schema types the query. */
static lh_err *lh_gw_query_request(lh_gw_req *req, lh_buf *out)
{
    if (req->body.len)
        return lh_err_new(LH_EBADREQ, NULL,
                          "this route takes its options as query parameters, not a body");
    const lh_schema *schema = req->match.route->contract->request;
    void *value = NULL;
    lh_err *err = lh_gw_query_decode(req, schema, lh_gw_req_arena(req), &value);
    if (!err) /* what was given; the actor applies its defaults and bounds */
        lh_message_encode_given(schema, value, out);
    return err;
}

const lh_gw_shape lh_gw_shape_query = {
    .name = "query",
    .request = lh_gw_query_request,
    .reply = lh_gw_reply_json,
    .query = true,
};

/* The same, relayed as events when the query says `follow=true`. */
static lh_err *lh_gw_query_followable_request(lh_gw_req *req, lh_buf *out)
{
    lh_err *err = lh_gw_query_request(req, out);
    if (!err && lh_gw_msgpack_flag(out->data, out->len, "follow"))
        req->sse = &lh_gw_sse_native;
    return err;
}

const lh_gw_shape lh_gw_shape_query_followable = {
    .name = "query",
    .request = lh_gw_query_followable_request,
    .reply = lh_gw_reply_json,
    .query = true,
};
