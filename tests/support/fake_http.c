/*
 * fake_http.c — the test server of fake_http.h on libmicrohttpd: each
 * request's body is gathered, then handed whole to the test's function.
 * A streamed answer is a chunked response whose content reader hands MHD
 * one piece per call, sleeping its delay first (a thread per connection,
 * so a sleep holds back only its own stream), and that ends with
 * MHD_CONTENT_READER_END_WITH_ERROR when it is to be cut.
 */
#include "tests/support/fake_http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

typedef struct lh_fake_piece_s {
    char *data;
    size_t len;
    int delay_ms;
} lh_fake_piece_t;

/* One request: its body, and its streamed answer if it has one. */
typedef struct lh_fake_conn {
    lh_fake_http *f;
    lh_buf body;
    char *content_type; /* NULL: not streamed */
    lh_fake_piece_t *pieces;
    size_t n, cap, next, offset;
    bool cut, ended_clean;
} lh_fake_conn;

struct lh_fake_http {
    struct MHD_Daemon *d;
    int port;
    lh_fake_fn fn;
    void *user;
    pthread_mutex_t lock;
    int streams_begun, streams_over;
    size_t pieces_sent; /* of every stream, as they go */
    lh_fake_outcome last;
};

/* ---- streamed answers ---- */

void lh_fake_stream(const lh_fake_request *req, const char *content_type)
{
    lh_fake_conn *c = req->answer;
    free(c->content_type);
    c->content_type = strdup(content_type);
}

void lh_fake_piece(const lh_fake_request *req, int delay_ms, const char *data, size_t len)
{
    lh_fake_conn *c = req->answer;
    assert_true(len > 0); /* an empty piece would read as "nothing yet", a busy loop */
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->pieces = realloc(c->pieces, c->cap * sizeof *c->pieces);
        assert_non_null(c->pieces);
    }
    char *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    c->pieces[c->n++] = (lh_fake_piece_t){copy, len, delay_ms};
}

void lh_fake_piece_s(const lh_fake_request *req, int delay_ms, const char *s)
{
    lh_fake_piece(req, delay_ms, s, strlen(s));
}

void lh_fake_cut(const lh_fake_request *req) { ((lh_fake_conn *)req->answer)->cut = true; }

static ssize_t lh_fake_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    lh_fake_conn *c = cls;
    if (c->next == c->n) {
        c->ended_clean = !c->cut;
        return c->cut ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    }
    lh_fake_piece_t *p = &c->pieces[c->next];
    if (!c->offset && p->delay_ms)
        lh_test_sleep_ms(p->delay_ms);
    size_t len = p->len - c->offset < max ? p->len - c->offset : max;
    memcpy(buf, p->data + c->offset, len);
    c->offset += len;
    if (c->offset == p->len) {
        c->next++;
        c->offset = 0;
        pthread_mutex_lock(&c->f->lock);
        c->f->pieces_sent++;
        pthread_mutex_unlock(&c->f->lock);
    }
    return (ssize_t)len;
}

static struct MHD_Response *lh_fake_streamed(lh_fake_conn *c)
{
    pthread_mutex_lock(&c->f->lock);
    c->f->streams_begun++;
    pthread_mutex_unlock(&c->f->lock);
    /* a small block: MHD asks for a piece at a time, and sends it as a chunk */
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, lh_fake_read, c, NULL);
    MHD_add_response_header(r, "Content-Type", c->content_type);
    return r;
}

/* ---- requests ---- */

static enum MHD_Result lh_fake_handle(void *cls, struct MHD_Connection *mc, const char *url,
                                      const char *method, const char *version,
                                      const char *data, size_t *size, void **con_cls)
{
    (void)version;
    lh_fake_http *f = cls;
    lh_fake_conn *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof *c);
        assert_non_null(c);
        c->f = f;
        lh_buf_init(&c->body);
        *con_cls = c;
        return MHD_YES;
    }
    if (*size) {
        lh_buf_append(&c->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    lh_fake_request req = {method, url, lh_buf_cstr(&c->body), c->body.len, mc, c};
    lh_buf out;
    lh_buf_init(&out);
    unsigned status = f->fn(f->user, &req, &out);
    struct MHD_Response *r;
    if (c->content_type) {
        r = lh_fake_streamed(c);
    } else {
        r = MHD_create_response_from_buffer(out.len, out.data ? out.data : "",
                                            MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(r, "Content-Type", "application/json");
    }
    enum MHD_Result ret = MHD_queue_response(mc, status, r);
    MHD_destroy_response(r);
    lh_buf_free(&out);
    return ret;
}

static void lh_fake_done(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)mc;
    lh_fake_http *f = cls;
    lh_fake_conn *c = *con_cls;
    if (!c)
        return;
    if (c->content_type) {
        pthread_mutex_lock(&f->lock);
        f->last = (lh_fake_outcome){c->n, c->next,
                                    c->ended_clean && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK};
        f->streams_over++;
        pthread_mutex_unlock(&f->lock);
    }
    for (size_t i = 0; i < c->n; i++)
        free(c->pieces[i].data);
    free(c->pieces);
    free(c->content_type);
    lh_buf_free(&c->body);
    free(c);
    *con_cls = NULL;
}

bool lh_fake_http_last_stream(lh_fake_http *f, int timeout_ms, lh_fake_outcome *out)
{
    int64_t until = lh_test_now_ms() + timeout_ms;
    pthread_mutex_lock(&f->lock);
    while (f->streams_over < f->streams_begun && lh_test_now_ms() < until) {
        pthread_mutex_unlock(&f->lock);
        lh_test_sleep_ms(10);
        pthread_mutex_lock(&f->lock);
    }
    bool over = f->streams_begun && f->streams_over == f->streams_begun;
    *out = f->last;
    pthread_mutex_unlock(&f->lock);
    return over;
}

size_t lh_fake_http_pieces_sent(lh_fake_http *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->pieces_sent;
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* ---- the server ---- */

lh_fake_http *lh_fake_http_start(lh_fake_fn fn, void *user)
{
    lh_fake_http *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *f = (lh_fake_http){.port = lh_test_free_port(), .fn = fn, .user = user};
    pthread_mutex_init(&f->lock, NULL);
    f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                            (uint16_t)f->port, NULL, NULL, lh_fake_handle, f,
                            MHD_OPTION_NOTIFY_COMPLETED, lh_fake_done, f, MHD_OPTION_END);
    assert_non_null(f->d);
    return f;
}

int lh_fake_http_port(const lh_fake_http *f) { return f->port; }

void lh_fake_http_stop(lh_fake_http *f)
{
    if (!f)
        return;
    MHD_stop_daemon(f->d);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *lh_fake_header(const lh_fake_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}
