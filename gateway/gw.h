/*
 * gw.h — how the gateway's parts meet (internal to gateway/).
 *
 *   gateway.c   the actor: settings, start/stop, the shared state (lh_gw)
 *   server.c    libmicrohttpd: the access handler, responses, suspend/resume
 *   pool.c      request states and their buffers, recycled
 *   routes.c    THE route table and path matching
 *   dispatch.c  one HTTP request -> one bus request through the mux
 *   bridge.c    JSON <-> msgpack for routes, path params, error bodies
 *   compat.c    reply shapes of other systems (/ai/embed, /v1/embeddings)
 *   sql.c       POST /v1/sql: the bus deadline follows the query's timeout_ms
 *   health.c    GET /v1/health: concurrent discovery pings
 *   metrics.c   GET /metrics: Prometheus counters and histograms
 *   openapi.c   GET /v1/openapi.json from the route table and the schemas
 *   query.c     requests from the URL: path and query parameters typed by a schema
 *   xfer.c      streamed routes: a bus conversation tied to one HTTP request
 *   sse.c       a streamed bus reply relayed as Server-Sent Events
 *   storage.c   /v1/storage: list and delete shapes, Range, shared helpers
 *   storage_put.c  PUT  /v1/storage/{bucket}/{key...}, streamed up in parts
 *   storage_get.c  GET/HEAD /v1/storage/{bucket}/{key...}, streamed down in ranges
 *   dataset_upload.c  POST /v1/datasets/{name}: stored as storage_put.c does, then ingested
 */
#ifndef LH_GW_H
#define LH_GW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>
#include <pthread.h>

#include "bus/actor.h"
#include "bus/buf.h"
#include "bus/config.h"
#include "bus/contract.h"
#include "bus/discovery_client.h"
#include "bus/err.h"
#include "bus/mux.h"
#include "bus/schema.h"

#define LH_GW_MAX_PARAMS 4
#define LH_GW_RID_MAX 64
#define LH_GW_SSE_MODEL_MAX 288
#define LH_GW_DEFAULT_MAX_BODY (8u << 20)
/* What a %00 in the URL decodes to (see lh_gw_unescape in server.c). */
#define LH_GW_ENCODED_NUL "\xC0\x80"

typedef struct lh_gw lh_gw;
typedef struct lh_gw_req lh_gw_req;
typedef struct lh_gw_sse_format lh_gw_sse_format;
typedef struct lh_gw_metrics lh_gw_metrics;

/* ---- routes.c ---------------------------------------------------------- */

/* A streamed route sees every call libmicrohttpd makes for the request —
 * the headers (size 0), each body chunk as it arrives (it consumes what it
 * can from the front of data[0..*size) and leaves the rest, suspending for
 * backpressure), the end of the body (size 0) — and answers itself, often
 * with a response read from a callback. Its body is never buffered, so
 * LH_HTTP_MAX_BODY does not apply, nor the JSON Content-Type check. */
typedef struct lh_gw_stream {
    void (*call)(lh_gw_req *req, const char *method, const char *data, size_t *size);
    /* The request is over (answered or the client went away). */
    void (*done)(lh_gw_req *req);
    /* For OpenAPI: the body's media type (NULL: no body), the success
     * status and media type, and the reply's schema when it is JSON. */
    const char *body_type;
    int status;
    const char *reply_type;
    const struct lh_schema *reply_schema;
    /* Its options as query parameters (NULL: none), typed by this schema. */
    const struct lh_schema *query;
} lh_gw_stream;

/* How a route's JSON becomes the bus request and the reply becomes JSON
 * (or, for a streamed route, only its `stream`). */
typedef struct lh_gw_shape {
    const char *name;
    /* req->body (JSON, maybe empty) -> msgpack request in `out`. */
    lh_err *(*request)(lh_gw_req *req, lh_buf *out);
    /* msgpack reply -> JSON response body in `out`. */
    lh_err *(*reply)(lh_gw_req *req, const char *data, size_t len, lh_buf *out);
    /* The body's schema when it is not the contract's request (a
     * compatible API's shape): the request function decodes it, OpenAPI
     * and the docs list it. */
    const struct lh_schema *request_message;
    /* The reply's JSON Schema text when it is not the contract's reply. */
    const char *reply_schema;
    /* The request comes from the query string, not a body (OpenAPI lists
     * the endpoint's request fields as query parameters). */
    bool query;
    /* A streamed route (no request/reply functions: it speaks to the bus itself). */
    const lh_gw_stream *stream;
    /* How its errors are written when not in the native shape: `err`, and
     * the callee's msgpack error body when there is one (else NULL). */
    void (*error)(const lh_err *err, const char *body, size_t len, lh_buf *out);
} lh_gw_shape;

/* A local route answers inside the gateway: it responds or suspends. */
typedef void (*lh_gw_local_fn)(lh_gw_req *req);


/* A bus route names the contract it calls (streamed routes: the first);
 * its subject, its actor (which health pings), its request and reply
 * schemas and, unless the row gives one, its summary come from there. */
typedef struct lh_gw_route {
    const char *method;          /* "GET", "POST", ... */
    const char *pattern;         /* "/v1/embed", "/v1/storage/{bucket}/{key...}" */
    const lh_contract *contract; /* bus routes */
    const lh_gw_shape *shape;    /* bus routes; streamed routes (shape->stream) */
    lh_gw_local_fn local;        /* local routes */
    const char *summary;         /* one line for OpenAPI; NULL: the contract's doc */
} lh_gw_route;

/* The route's OpenAPI summary: its own, else its contract's doc. */
static inline const char *lh_gw_route_summary(const lh_gw_route *r)
{
    return r->summary ? r->summary : r->contract ? r->contract->doc : "";
}

/* The route's stream when it is a streamed route, else NULL. */
static inline const lh_gw_stream *lh_gw_route_stream(const lh_gw_route *r)
{
    return r && r->shape ? r->shape->stream : NULL;
}

typedef struct lh_gw_param {
    const char *name; /* points into the pattern, not NUL-terminated */
    size_t name_len;
    const char *value; /* points into the matched path */
    size_t value_len;
} lh_gw_param;

typedef struct lh_gw_match {
    const lh_gw_route *route; /* NULL: no route for this method and path */
    int index;                /* route's index, or of the first route with this
                               * path (405), or -1 (404): the metrics key */
    lh_gw_param params[LH_GW_MAX_PARAMS];
    size_t n_params;
    char allow[64]; /* when route is NULL: methods serving the path ("" = none) */
} lh_gw_match;

const lh_gw_route *lh_gw_routes(size_t *n);
/* Matches a path against one pattern segment by segment; fills m->params. */
bool lh_gw_pattern_match(const char *pattern, const char *path, lh_gw_match *m);
/* Matches method and path against the table. HEAD matches GET routes. */
bool lh_gw_route_match(const char *method, const char *path, lh_gw_match *m);
/* The distinct actors the bus routes call, in table order. */
const char *const *lh_gw_route_actors(size_t *n);

/* ---- the shared state (gateway.c) -------------------------------------- */

struct lh_gw {
    lh_config config;
    size_t max_body;
    int threads;
    unsigned idle_timeout_s; /* a connection silent this long is closed */
    lh_mux *mux;
    lh_gw_metrics *metrics;
    struct MHD_Daemon *daemon;
    int listen_fd;
    char url[96];   /* http://ADDR:PORT, the "http" endpoint's subject in discovery */
    lh_buf openapi; /* built once at start */
    /* Requests between "about to publish" and "callback done"; stop waits
     * for zero after setting `draining`, so the mux outlives every use. */
    atomic_int bus_in_flight;
    atomic_int http_in_flight; /* accepted, not yet completed */
    atomic_bool draining;
    /* A cancel reaching for the mux from an ending HTTP request, and the
     * flag stop raises before destroying it: one sees the other (both
     * seq_cst), so no cancel touches a destroyed mux. */
    atomic_int mux_users;
    atomic_bool mux_closing;
    struct lh_gw_pool *pool;
    char rid_prefix[11];         /* random per process: see lh_gw_new_request_id */
    atomic_uint_fast64_t rid_seq;
};

/* ---- server.c: one HTTP request ---------------------------------------- */

typedef enum {
    LH_GW_RECEIVING, /* headers seen, body arriving */
    LH_GW_SUSPENDED, /* waiting for the bus; on_resume runs on the next call */
    LH_GW_ANSWERED,  /* a response is queued */
} lh_gw_state;

typedef struct lh_gw_ping lh_gw_ping;

struct lh_gw_req {
    lh_gw *gw;
    struct MHD_Connection *conn;
    lh_gw_state state;
    lh_gw_match match;
    int method_index; /* metrics */
    int64_t start_ns;
    int status;       /* the status answered, 0 before */
    bool queued;      /* libmicrohttpd took the response */
    lh_err *early;    /* refusal decided from the headers, answered after the body */
    bool too_large;
    bool failure_noted; /* lh_gw_log_failure gave the 5xx's message */
    char rid[LH_GW_RID_MAX + 1];
    lh_buf path;      /* the URL path; match params point into it */
    lh_buf body;      /* the request body */
    lh_buf bus;       /* the bus request */
    lh_buf out;       /* the response body */
    lh_arena *arena;  /* decoded messages (lh_gw_req_arena); reset with the request */
    void (*on_resume)(lh_gw_req *req);
    /* Written by the bus callback before it resumes the connection. */
    lh_err *reply_err;
    lh_buf reply;
    bool reply_has_body;
    /* Scratch for reply shapes. */
    int64_t tokens;
    bool base64;
    int reply_status; /* a shape may set it; 0 means 200 */
    int timeout_ms;   /* a shape may set the bus deadline; 0: LH_REQUEST_TIMEOUT_MS */
    /* Streamed routes: their conversation with the bus (xfer.c). */
    struct lh_gw_xfer *xfer;
    /* Set by a shape's request function: the reply comes as a bus stream,
     * relayed as Server-Sent Events in this format (sse.c). */
    const lh_gw_sse_format *sse;
    unsigned sse_options; /* the format's own flags (include_usage) */
    /* health.c */
    lh_gw_ping *pings;
    size_t n_pings;
    atomic_size_t pings_left;
    lh_gw_req *next_free;
};

lh_err *lh_gw_server_start(lh_gw *gw);
/* Stops accepting connections; requests on open connections continue. */
void lh_gw_server_quiesce(lh_gw *gw);
void lh_gw_server_stop(lh_gw *gw);

/* Queues the response (JSON unless content_type says otherwise). */
void lh_gw_respond(lh_gw_req *req, int status, const lh_buf *body, const char *content_type);
/* Queues a response made by the caller (the common headers are added):
 * true when libmicrohttpd took it, and the request is then answered;
 * false when it cannot take one now (in the middle of a request body),
 * and nothing changed. The caller still destroys `resp`. */
bool lh_gw_queue(lh_gw_req *req, int status, struct MHD_Response *resp, const char *content_type);
/* Queues `{"error":{...}}` with the error's code as the status; frees err. */
void lh_gw_respond_error(lh_gw_req *req, lh_err *err);
/* Logs a 5xx answer (at most one line a second, counting the rest). */
void lh_gw_log_failure(lh_gw_req *req, int status, const char *message);
/* Suspends the connection; after lh_gw_resume, on_resume(req) answers. */
void lh_gw_suspend(lh_gw_req *req, void (*on_resume)(lh_gw_req *req));
/* From any thread; the caller must not touch req afterwards. */
void lh_gw_resume(lh_gw_req *req);

/* ---- pool.c: request states with their buffers, recycled --------------- */

lh_err *lh_gw_pool_create(lh_gw *gw);
lh_gw_req *lh_gw_pool_get(lh_gw *gw); /* zeroed but for buffer memory; NULL when out of memory */
/* The request's arena, made on first use and kept with the pooled state. */
lh_arena *lh_gw_req_arena(lh_gw_req *req);
void lh_gw_pool_put(lh_gw *gw, lh_gw_req *req);
void lh_gw_pool_free(lh_gw *gw);

/* ---- dispatch.c -------------------------------------------------------- */

/* Sends the request of a bus route and suspends until the outcome. */
void lh_gw_dispatch(lh_gw_req *req);
/* Waits (bounded) until no bus request is in flight. */
void lh_gw_dispatch_wait_idle(lh_gw *gw, int timeout_ms);

/* ---- bridge.c ---------------------------------------------------------- */

/* The HTTP status for an error code (400..599 pass, anything else 500). */
int lh_gw_status_of(const lh_err *err);
/* Appends {"error":{"code":N,"message":"...","field":"..."}}. */
void lh_gw_error_json(const lh_err *err, lh_buf *out);
/* The reply as JSON, as it is: the reply function of most shapes. */
lh_err *lh_gw_reply_json(lh_gw_req *req, const char *data, size_t len, lh_buf *out);
/* JSON body (empty = {}) -> msgpack map with the path params as fields. */
lh_err *lh_gw_body_to_msgpack(lh_gw_req *req, lh_buf *out);
/* Rewrites the msgpack map in[0..len) with the params set as string
 * fields (a param replaces a body field of the same name). */
lh_err *lh_gw_merge_params(const char *in, size_t len, const lh_gw_param *params, size_t n,
                           lh_buf *out);
/* Decodes a reply of contract `k` into the request's arena (lh_reply_decode). */
lh_err *lh_gw_decode(lh_gw_req *req, const lh_contract *k, const char *data, size_t len,
                     void **out);
/* The response body for an error reply: the callee's own JSON-converted
 * `{"error":...}` body when it sent one, else one made from err. */
void lh_gw_error_reply_body(const lh_err *err, const char *data, size_t len, lh_buf *out);
/* The error body as the route's shape writes errors (lh_gw_shape.error),
 * else as lh_gw_error_reply_body; `shape` may be NULL (no route). */
void lh_gw_error_out(const lh_gw_shape *shape, const lh_err *err, const char *data, size_t len,
                     lh_buf *out);
/* Whether the msgpack map in[0..len) has the field `name` set to true. */
bool lh_gw_msgpack_flag(const char *in, size_t len, const char *name);

/* ---- xfer.c: a bus conversation that may outlive its HTTP request ------ */

/* Embedded first in a streamed route's state. The lock guards the state;
 * the bus callback takes it, so libmicrohttpd's thread and the bus thread
 * meet only there. References: the HTTP request holds one until it ends,
 * each request in flight one, a response's content reader one. */
typedef struct lh_gw_xfer lh_gw_xfer;
/* With x's lock held: the outcome of the request sent with lh_gw_xfer_send
 * (as lh_mux_cb: copy what you keep). x->req is NULL when the HTTP request
 * has ended meanwhile. */
typedef void (*lh_gw_xfer_reply_fn)(lh_gw_xfer *x, lh_err *err, natsMsg *msg);

struct lh_gw_xfer {
    pthread_mutex_t mu;
    int refs;
    lh_gw *gw;
    lh_gw_req *req;        /* NULL once the HTTP request has ended */
    struct MHD_Connection *conn;
    char rid[LH_GW_RID_MAX + 1];
    bool suspended;        /* the connection waits for the reply to resume it */
    int in_flight;         /* requests out; all share on_reply */
    lh_gw_xfer_reply_fn on_reply;
    void (*on_detach)(lh_gw_xfer *x); /* with the lock, when the HTTP request ends */
    void (*free_fn)(lh_gw_xfer *x);   /* frees the state holding x */
    /* A streamed reply in flight (lh_gw_xfer_stream): cancelled when the
     * HTTP request ends first. */
    void (*on_chunk)(lh_gw_xfer *x, natsMsg *msg);
    uint64_t stream;
    bool streaming;
};

/* Ties x to req (req->xfer = x, one reference for the request). */
void lh_gw_xfer_init(lh_gw_xfer *x, lh_gw_req *req, void (*free_fn)(lh_gw_xfer *x));
void lh_gw_xfer_lock(lh_gw_xfer *x);
void lh_gw_xfer_unlock(lh_gw_xfer *x);
/* With the lock held. */
void lh_gw_xfer_ref(lh_gw_xfer *x);
/* Without the lock; the last reference frees. */
void lh_gw_xfer_unref(lh_gw_xfer *x);
/* With the lock held: sends a request whose outcome goes to on_reply
 * (which every request in flight shares). Refused (503) while the gateway
 * stops. On an error return nothing was sent and on_reply will not be
 * called. */
lh_err *lh_gw_xfer_send(lh_gw_xfer *x, const lh_contract *k, const char *data, size_t len,
                        lh_gw_xfer_reply_fn on_reply);
/* lh_gw_xfer_send of `msg`, a struct of the contract's request schema. */
lh_err *lh_gw_xfer_call(lh_gw_xfer *x, const lh_contract *k, const void *msg,
                        lh_gw_xfer_reply_fn on_reply);
/* With the lock held: lh_gw_xfer_send asking for a streamed reply. Each
 * chunk goes to on_chunk (with the lock; it resumes a suspended
 * connection as a reply does), the outcome to on_reply. When the HTTP
 * request ends first, the stream is cancelled on the bus. */
lh_err *lh_gw_xfer_stream(lh_gw_xfer *x, const lh_contract *k, const char *data, size_t len,
                          void (*on_chunk)(lh_gw_xfer *x, natsMsg *msg),
                          lh_gw_xfer_reply_fn on_reply);
/* With the lock held, on libmicrohttpd's thread (access handler or content
 * reader): parks the connection until the next reply resumes it. */
void lh_gw_xfer_suspend(lh_gw_xfer *x);
/* The stream's `done`: detaches the request and drops its reference. */
void lh_gw_xfer_done(lh_gw_req *req);
/* Sends a request (a struct of the contract's request schema) whose
 * answer nobody waits for (an abort). */
void lh_gw_fire_and_forget(lh_gw *gw, const lh_contract *k, const void *msg, const char *rid);

/* ---- sse.c: streamed replies as Server-Sent Events -------------------- */

/* What a format keeps between the messages of one stream. */
typedef struct lh_gw_sse_info {
    char id[LH_GW_RID_MAX + 1]; /* the request id */
    size_t chunks;              /* chunks written so far */
    unsigned options;           /* req->sse_options */
    lh_arena *arena;            /* scratch for decoding (the format resets it) */
    char model[LH_GW_SSE_MODEL_MAX];
    int64_t created;            /* unix seconds, when the format wants it */
} lh_gw_sse_info;

/* How a route writes a stream's messages as events (each appends SSE
 * text to `out`). `chunk` and `end` see info->chunks before it counts
 * theirs, so 0 means nothing has been written yet (end may then have to
 * write the whole answer: a responder that answered whole). */
struct lh_gw_sse_format {
    lh_err *(*chunk)(lh_gw_sse_info *s, const char *data, size_t len, lh_buf *out);
    lh_err *(*end)(lh_gw_sse_info *s, const char *data, size_t len, lh_buf *out);
    /* The stream fails after its start: the last event. */
    void (*error)(lh_gw_sse_info *s, const lh_err *err, lh_buf *out);
};

/* Events of the native shape: `data: <chunk JSON>` per chunk, then
 * `event: reply` with the reply's JSON, or `event: error`. */
extern const lh_gw_sse_format lh_gw_sse_native;
/* Sends req->bus as a streamed request and answers with its events. */
void lh_gw_sse_dispatch(lh_gw_req *req);

/* ---- storage.c, storage_put.c, storage_get.c: /v1/storage --------------- */

extern const lh_gw_shape lh_gw_shape_storage_delete;
extern const lh_gw_shape lh_gw_shape_storage_put; /* streamed */
extern const lh_gw_shape lh_gw_shape_storage_get; /* streamed, GET and HEAD */
extern const lh_gw_shape lh_gw_shape_dataset_upload; /* streamed: stored, then ingested */
/* The route's {bucket} and {key...} as strings in `out` (NUL-terminated). */
void lh_gw_storage_names(const lh_gw_req *req, char *bucket, size_t bcap, lh_buf *key);
/* The route's path parameter `name` as a string field ({0} when absent). */
lh_str lh_gw_param_str(const lh_gw_req *req, const char *name);
/* The upload engine of storage_put.c, which a route may carry on from
 * once the object is committed: POST /v1/datasets/{name} stores its body,
 * then ingests it. The follower's functions run with the upload's lock. */
typedef struct lh_gw_put lh_gw_put;
typedef struct lh_gw_put_follow {
    /* At the headers, before anything is sent: checks the route's options,
     * makes the follower's state and packs storage.upload.begin's message
     * (the object's name) in `begin`. A refusal is answered at once. */
    lh_err *(*begin)(lh_gw_req *req, void **state, lh_buf *begin);
    /* On a bus thread: the object is stored (`object`: commit's reply,
     * msgpack); sends the next request or finishes. */
    void (*committed)(lh_gw_put *p, void *state, const char *object, size_t len);
    /* The outcome of a request sent with lh_gw_put_send_next (as lh_mux_cb). */
    void (*on_reply)(lh_gw_put *p, void *state, lh_err *err, natsMsg *msg);
    void (*free_state)(void *state);
} lh_gw_put_follow;
/* A streamed route's call: the body stored as an object, then followed. */
void lh_gw_put_stream_call(lh_gw_req *req, const lh_gw_put_follow *follow, const char *data,
                           size_t *size);
/* Sends `msg`, encoded for the contract's request. */
void lh_gw_put_send_next(lh_gw_put *p, const lh_contract *k, const lh_buf *msg);
/* The answer: a JSON body, its status and (optional) Location. */
void lh_gw_put_finish(lh_gw_put *p, int status, const lh_buf *json, const char *location);
/* The answer is this error (from the reply `msg`, which may be NULL). */
void lh_gw_put_fail_with(lh_gw_put *p, lh_err *err, natsMsg *msg);
const char *lh_gw_put_request_id(const lh_gw_put *p);
lh_gw *lh_gw_put_gateway(const lh_gw_put *p);

/* A copy of the reply's error, and its `{"error":...}` JSON in `body`. */
lh_err *lh_gw_copy_error(const lh_err *err, natsMsg *msg, lh_buf *body);

/* ---- query.c: requests from the URL ------------------------------------ */

/* A GET route whose bus request is its path parameters plus its query
 * string, typed by the endpoint's request schema; the reply as JSON. */
extern const lh_gw_shape lh_gw_shape_query;
/* lh_gw_shape_query, relayed as Server-Sent Events when `follow=true`. */
extern const lh_gw_shape lh_gw_shape_query_followable;
/* Whether a field can come from a query string (a string, number or bool). */
bool lh_gw_query_field_ok(const lh_field *f);
/* The path parameters and the query string as a struct of `schema` (in
 * `arena`, defaults filled, given fields marked), each query parameter
 * typed by its field; unknown, repeated or mistyped parameters are
 * refused (400). Bounds are the receiver's to check. */
lh_err *lh_gw_query_decode(lh_gw_req *req, const lh_schema *schema, lh_arena *arena, void **out);

/* ---- compat.c ---------------------------------------------------------- */

extern const lh_gw_shape lh_gw_shape_native;
/* The native shape, relayed as events when the body says `stream: true`. */
extern const lh_gw_shape lh_gw_shape_native_streamable;
extern const lh_gw_shape lh_gw_shape_ai_embed;
extern const lh_gw_shape lh_gw_shape_openai_embeddings;
extern const lh_gw_shape lh_gw_shape_openai_chat; /* compat_chat.c */
/* The JSON body decoded through a compatible request's schema (compat.c). */
lh_err *lh_gw_compat_decode(lh_gw_req *req, const struct lh_schema *schema, void **out);

/* ---- sql.c ------------------------------------------------------------- */

/* POST /v1/sql: the native shape, its bus deadline past the query's own. */
extern const lh_gw_shape lh_gw_shape_sql;
/* Whitespace-separated words, OpenAI's `usage` stand-in. */
int64_t lh_gw_count_words(const char *s, size_t len);

/* ---- health.c, metrics.c, openapi.c ------------------------------------ */

void lh_gw_health(lh_gw_req *req);
/* Asks every actor of the route table the discovery verb at once and
 * suspends; finish(req) answers once every answer (or its failure) is in.
 * lh_gw_survey_results reads answer i (0: none left; doc NULL when that
 * actor did not answer); lh_gw_survey_release drops the documents. */
void lh_gw_survey(lh_gw_req *req, lh_discovery_verb verb, void (*finish)(lh_gw_req *req));
size_t lh_gw_survey_results(lh_gw_req *req, const char **actor, json_t **doc, size_t i);
void lh_gw_survey_release(lh_gw_req *req);

enum { LH_GW_N_METHODS = 8 };
int lh_gw_method_index(const char *method);
lh_gw_metrics *lh_gw_metrics_create(size_t n_routes);
void lh_gw_metrics_destroy(lh_gw_metrics *m);
void lh_gw_metrics_observe(lh_gw_metrics *m, int route, int method, int status, int64_t ns);
/* Sets the last error the "http" endpoint reports. */
void lh_gw_metrics_note_error(lh_gw_metrics *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Every answer observed so far, as the "http" endpoint's counters. */
void lh_gw_metrics_totals(lh_gw_metrics *m, lh_endpoint_stats *out);
void lh_gw_metrics_render(lh_gw *gw, lh_buf *out);
void lh_gw_metrics_route(lh_gw_req *req);

void lh_gw_openapi_build(lh_buf *out);
void lh_gw_openapi_route(lh_gw_req *req);


#endif
