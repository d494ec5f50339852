/*
 * fake_http.c — the test server of fake_http.h on libmicrohttpd: each
 * request's body is gathered, then handed whole to the test's function.
 */
#include "tests/support/fake_http.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

struct lh_fake_http {
    struct MHD_Daemon *d;
    int port;
    lh_fake_fn fn;
    void *user;
};

static enum MHD_Result lh_fake_handle(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *data, size_t *size, void **con_cls)
{
    (void)version;
    lh_fake_http *f = cls;
    lh_buf *body = *con_cls;
    if (!body) {
        body = calloc(1, sizeof *body);
        lh_buf_init(body);
        *con_cls = body;
        return MHD_YES;
    }
    if (*size) {
        lh_buf_append(body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    lh_fake_request req = {method, url, lh_buf_cstr(body), body->len, c};
    lh_buf out;
    lh_buf_init(&out);
    unsigned status = f->fn(f->user, &req, &out);
    struct MHD_Response *r = MHD_create_response_from_buffer(out.len, out.data ? out.data : "",
                                                             MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    lh_buf_free(&out);
    return ret;
}

static void lh_fake_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    lh_buf *body = *con_cls;
    if (body) {
        lh_buf_free(body);
        free(body);
    }
}

lh_fake_http *lh_fake_http_start(lh_fake_fn fn, void *user)
{
    lh_fake_http *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *f = (lh_fake_http){.port = lh_test_free_port(), .fn = fn, .user = user};
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
    free(f);
}

const char *lh_fake_header(const lh_fake_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}
