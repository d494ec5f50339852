/*
 * openapi.c — GET /v1/openapi.json, derived, never hand-kept.
 *
 * Paths come from the route table; a bus route's request and reply bodies
 * come from the field tables of the contract it names, mapped to JSON
 * Schema with their limits, defaults, docs and required lists.
 * Compatibility routes carry their own schema text in their shape. Every
 * event contract is listed under `x-lh-events` with its payload schema.
 * The document is built once, at start.
 */
#include "gateway/gw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bus/contract.h"
#include "bus/schema.h"
#include "gateway/gateway.h"

static json_t *lh_gw_number(double v)
{
    if (v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static void lh_gw_set_num(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, lh_gw_number(v));
}

static json_t *lh_gw_schema_json(const lh_schema *s);

static json_t *lh_gw_type(const char *type)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    return o;
}

/* Length and count bounds: .max when set, .min when positive. */
static void lh_gw_bound_len(json_t *o, const lh_field *f, const char *min_key, const char *max_key)
{
    if (f->min > 0)
        lh_gw_set_num(o, min_key, f->min);
    if (f->max > 0)
        lh_gw_set_num(o, max_key, f->max);
}

/* Value bounds: both apply once either is set (as the codec does). */
static void lh_gw_bound_value(json_t *o, const lh_field *f)
{
    if (f->min == 0 && f->max == 0)
        return;
    lh_gw_set_num(o, "minimum", f->min);
    lh_gw_set_num(o, "maximum", f->max);
}

static json_t *lh_gw_string_schema(const lh_field *f, bool item)
{
    json_t *o = lh_gw_type("string");
    if (f->flags & LH_F_NONBLANK)
        json_object_set_new(o, "pattern", json_string("\\S"));
    if (item) {
        if (f->item_max > 0)
            lh_gw_set_num(o, "maxLength", f->item_max);
        return o;
    }
    lh_gw_bound_len(o, f, "minLength", "maxLength");
    if (f->choices) {
        json_t *e = json_array();
        for (const char *c = f->choices; *c;) {
            size_t n = strcspn(c, "|");
            json_array_append_new(e, json_stringn(c, n));
            c += n + (c[n] == '|');
        }
        json_object_set_new(o, "enum", e);
    }
    return o;
}

static json_t *lh_gw_array_of(json_t *items, const lh_field *f)
{
    json_t *o = lh_gw_type("array");
    json_object_set_new(o, "items", items);
    lh_gw_bound_len(o, f, "minItems", "maxItems");
    return o;
}

static json_t *lh_gw_field_schema(const lh_field *f)
{
    json_t *o = NULL;
    switch (f->kind) {
    case LH_K_STRING: o = lh_gw_string_schema(f, false); break;
    case LH_K_INT: o = lh_gw_type("integer"); lh_gw_bound_value(o, f); break;
    case LH_K_FLOAT: o = lh_gw_type("number"); lh_gw_bound_value(o, f); break;
    case LH_K_BOOL: o = lh_gw_type("boolean"); break;
    case LH_K_STRINGS:
        o = lh_gw_array_of(lh_gw_string_schema(f, true), f);
        if (f->total_max > 0)
            lh_gw_set_num(o, "x-lh-total-max-bytes", f->total_max);
        break;
    case LH_K_FLOATS: o = lh_gw_array_of(lh_gw_type("number"), f); break;
    case LH_K_MATRIX: {
        json_t *row = lh_gw_type("array");
        json_object_set_new(row, "items", lh_gw_type("number"));
        if (f->item_max > 0)
            lh_gw_set_num(row, "maxItems", f->item_max);
        o = lh_gw_array_of(row, f);
        break;
    }
    case LH_K_OBJECTS:
        o = lh_gw_array_of(f->sub ? lh_gw_schema_json(f->sub) : json_object(), f);
        break;
    case LH_K_ANY: o = json_object(); break;
    case LH_K_OBJECT: o = f->sub ? lh_gw_schema_json(f->sub) : json_object(); break;
    case LH_K_BYTES:
        /* msgpack callers send bin; in JSON a request's string is taken as
         * its UTF-8 bytes and a reply's bytes come back base64 */
        o = lh_gw_type("string");
        json_object_set_new(o, "x-lh-bytes",
                            json_string("request: the string's bytes; reply: base64"));
        if (f->max > 0)
            lh_gw_set_num(o, "maxLength", f->max);
        break;
    }
    /* A zero .def cannot be told from "no default" (reply fields have
     * none), so only a nonzero one is documented for numbers. */
    bool numeric = f->kind == LH_K_INT || f->kind == LH_K_FLOAT;
    if (!f->required && numeric && f->def != 0)
        lh_gw_set_num(o, "default", f->def);
    if (!f->required && f->kind == LH_K_BOOL)
        json_object_set_new(o, "default", json_boolean(f->def != 0));
    if (f->doc)
        json_object_set_new(o, "description", json_string(f->doc));
    return o;
}

static json_t *lh_gw_schema_json(const lh_schema *s)
{
    json_t *o = lh_gw_type("object");
    json_t *props = json_object(), *required = json_array();
    for (size_t i = 0; i < s->n_fields; i++) {
        const lh_field *f = &s->fields[i];
        json_object_set_new(props, f->name, lh_gw_field_schema(f));
        if (f->required)
            json_array_append_new(required, json_string(f->name));
    }
    json_object_set_new(o, "properties", props);
    if (json_array_size(required))
        json_object_set_new(o, "required", required);
    else
        json_decref(required);
    json_object_set_new(o, "additionalProperties", json_false());
    if (s->doc)
        json_object_set_new(o, "description", json_string(s->doc));
    return o;
}

/* ---- operations ---- */

static json_t *lh_gw_ref(json_t *components, const lh_schema *s)
{
    json_t *schemas = json_object_get(components, "schemas");
    if (!json_object_get(schemas, s->name))
        json_object_set_new(schemas, s->name, lh_gw_schema_json(s));
    char ref[160];
    snprintf(ref, sizeof ref, "#/components/schemas/%s", s->name);
    json_t *o = json_object();
    json_object_set_new(o, "$ref", json_string(ref));
    return o;
}

static json_t *lh_gw_content(const char *type, json_t *schema)
{
    json_t *media = json_object(), *content = json_object();
    json_object_set_new(media, "schema", schema ? schema : json_object());
    json_object_set_new(content, type, media);
    return content;
}

static json_t *lh_gw_response(const char *description, json_t *content)
{
    json_t *o = json_object();
    json_object_set_new(o, "description", json_string(description));
    if (content)
        json_object_set_new(o, "content", content);
    return o;
}

static void lh_gw_error_responses(json_t *responses, bool bus)
{
    static const int bus_codes[] = {400, 413, 415, 503, 504};
    json_t *ref = json_pack("{s:s}", "$ref", "#/components/responses/Error");
    json_object_set(responses, "default", ref);
    for (size_t i = 0; bus && i < sizeof bus_codes / sizeof bus_codes[0]; i++) {
        char code[8];
        snprintf(code, sizeof code, "%d", bus_codes[i]);
        json_object_set(responses, code, ref);
    }
    json_decref(ref);
}

static json_t *lh_gw_schema_text(const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    return o ? o : json_object();
}

/* The request and reply schemas of a bus route. */
static void lh_gw_bus_bodies(const lh_gw_route *r, json_t *components, json_t **req, json_t **rep)
{
    const lh_contract *k = r->contract;
    if (r->shape->request_message)
        *req = lh_gw_ref(components, r->shape->request_message);
    else
        *req = lh_gw_ref(components, k->request);
    if (r->shape->reply_schema)
        *rep = lh_gw_schema_text(r->shape->reply_schema);
    else
        *rep = lh_gw_ref(components, k->reply);
}

static json_t *lh_gw_local_reply_schema(const lh_gw_route *r)
{
    if (r->local == lh_gw_health)
        return lh_gw_schema_text(
            "{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\","
            "\"enum\":[\"ok\",\"degraded\"]},\"actors\":{\"type\":\"array\",\"items\":"
            "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
            "\"up\":{\"type\":\"boolean\"},\"rtt_ms\":{\"type\":\"number\"},"
            "\"error\":{\"type\":\"string\"}}}}}}");
    return json_object();
}

static json_t *lh_gw_path_params(const char *pattern)
{
    json_t *params = json_array();
    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
        size_t n = strcspn(p + 1, ".}");
        json_t *param = json_pack("{s:s%,s:s,s:b,s:{s:s}}", "name", p + 1, n, "in", "path",
                                  "required", 1, "schema", "type", "string");
        json_array_append_new(params, param);
    }
    return params;
}

/* The fields of a query route's request (or of a streamed route's query
 * schema) as query parameters, path parameters excepted. */
static void lh_gw_query_params(const lh_gw_route *r, json_t *params)
{
    const lh_gw_stream *stream = lh_gw_route_stream(r);
    const lh_schema *s = stream ? stream->query : r->contract->request;
    for (size_t i = 0; s && i < s->n_fields; i++) {
        const lh_field *f = &s->fields[i];
        char brace[72];
        snprintf(brace, sizeof brace, "{%s}", f->name);
        if (strstr(r->pattern, brace) || !lh_gw_query_field_ok(f))
            continue;
        json_t *param = json_pack("{s:s,s:s,s:b,s:o}", "name", f->name, "in", "query", "required",
                                  f->required, "schema", lh_gw_field_schema(f));
        json_array_append_new(params, param);
    }
}

static void lh_gw_contract_tags(const lh_gw_route *r, json_t *op)
{
    json_object_set_new(op, "x-lh-subject", json_string(r->contract->subject));
    json_object_set_new(op, "x-lh-actor", json_string(r->contract->service));
}

/* What a route takes and gives: the body's media type and schema (NULL:
 * no body), the success status, and the reply's. */
typedef struct lh_gw_io {
    const char *req_type;
    json_t *req;
    int status;
    const char *rep_type;
    json_t *rep;
} lh_gw_io;

static lh_gw_io lh_gw_route_io(const lh_gw_route *r, json_t *components, json_t *op)
{
    lh_gw_io io = {.req_type = "application/json", .status = 200, .rep_type = "application/json"};
    const lh_gw_stream *stream = lh_gw_route_stream(r);
    if (stream) { /* raw bytes one way or the other */
        io.req_type = stream->body_type;
        io.req = stream->body_type ? json_pack("{s:s,s:s}", "type", "string", "format", "binary")
                                   : NULL;
        io.status = stream->status;
        io.rep_type = stream->reply_type;
        io.rep = stream->reply_schema ? lh_gw_ref(components, stream->reply_schema)
                                      : json_pack("{s:s,s:s}", "type", "string", "format", "binary");
        lh_gw_contract_tags(r, op);
    } else if (r->contract) {
        lh_gw_bus_bodies(r, components, &io.req, &io.rep);
        lh_gw_contract_tags(r, op);
        if (r->shape->query) { /* the request's fields come from the query */
            json_decref(io.req);
            io.req = NULL;
        }
    } else {
        io.rep = lh_gw_local_reply_schema(r);
        if (r->local == lh_gw_metrics_route)
            io.rep_type = "text/plain";
    }
    return io;
}

static json_t *lh_gw_operation(const lh_gw_route *r, json_t *components)
{
    json_t *op = json_object(), *responses = json_object();
    json_object_set_new(op, "summary", json_string(lh_gw_route_summary(r)));
    lh_gw_io io = lh_gw_route_io(r, components, op);
    if (!strcmp(r->method, "HEAD")) { /* the headers only */
        json_decref(io.rep);
        io.rep = NULL;
    }
    if (io.req) {
        json_t *body = json_pack("{s:b}", "required", 1);
        json_object_set_new(body, "content", lh_gw_content(io.req_type, io.req));
        json_object_set_new(op, "requestBody", body);
    }
    char status[8];
    snprintf(status, sizeof status, "%d", io.status);
    json_object_set_new(responses, status,
                        io.rep ? lh_gw_response("OK", lh_gw_content(io.rep_type, io.rep))
                               : json_pack("{s:s}", "description", "OK"));
    lh_gw_error_responses(responses, r->contract != NULL);
    json_object_set_new(op, "responses", responses);
    json_t *params = lh_gw_path_params(r->pattern);
    if (r->contract &&
        (r->shape->query || (lh_gw_route_stream(r) && lh_gw_route_stream(r)->query)))
        lh_gw_query_params(r, params);
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
    return op;
}

/* "/v1/storage/{bucket}/{key...}" -> "/v1/storage/{bucket}/{key}" */
static void lh_gw_openapi_path(const char *pattern, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 1 < cap; p++) {
        if (!strncmp(p, "...}", 4)) {
            p += 2; /* with the loop's p++: past the three dots */
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
}

static json_t *lh_gw_components(void)
{
    json_t *error = lh_gw_schema_text(
        "{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":"
        "{\"type\":\"object\",\"required\":[\"code\",\"message\"],\"properties\":{"
        "\"code\":{\"type\":\"integer\",\"description\":\"The HTTP status.\"},"
        "\"message\":{\"type\":\"string\"},"
        "\"field\":{\"type\":\"string\",\"description\":\"The request field at fault.\"}}}}}");
    json_t *schemas = json_object(), *responses = json_object();
    json_object_set_new(schemas, "Error", error);
    json_t *ref = json_pack("{s:s}", "$ref", "#/components/schemas/Error");
    json_object_set_new(responses, "Error",
                        lh_gw_response("An error; the body names the field at fault.",
                                       lh_gw_content("application/json", ref)));
    return json_pack("{s:o,s:o}", "schemas", schemas, "responses", responses);
}

/* Every event contract: its subject, payload schema and doc. */
static json_t *lh_gw_events(json_t *components)
{
    size_t n;
    const lh_event_contract *const *evs = lh_events_all(&n);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o}", "subject", evs[i]->subject,
                                              "actor", evs[i]->service, "summary", evs[i]->doc,
                                              "payload", lh_gw_ref(components, evs[i]->schema)));
    return list;
}

void lh_gw_openapi_build(lh_buf *out)
{
    size_t n;
    const lh_gw_route *routes = lh_gw_routes(&n);
    json_t *components = lh_gw_components();
    json_t *paths = json_object();
    for (size_t i = 0; i < n; i++) {
        char path[256], method[16];
        lh_gw_openapi_path(routes[i].pattern, path, sizeof path);
        size_t m = 0;
        for (; routes[i].method[m] && m + 1 < sizeof method; m++)
            method[m] = (char)(routes[i].method[m] | 0x20); /* OpenAPI keys are lower case */
        method[m] = '\0';
        json_t *item = json_object_get(paths, path);
        if (!item)
            json_object_set_new(paths, path, item = json_object());
        json_object_set_new(item, method, lh_gw_operation(&routes[i], components));
    }
    json_t *doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:o,s:o}", "openapi", "3.0.3", "info", "title",
                            "Lakehouse", "version", lh_gateway_actor.version, "description",
                            "The HTTP gateway onto the Lakehouse bus. Generated from the route "
                            "table and the message schemas.",
                            "paths", paths, "components", components);
    json_object_set_new(doc, "x-lh-events", lh_gw_events(components));
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (text)
        lh_buf_append_str(out, text);
    free(text);
    json_decref(doc);
}

void lh_gw_openapi_route(lh_gw_req *req)
{
    lh_gw_respond(req, 200, &req->gw->openapi, NULL);
}
