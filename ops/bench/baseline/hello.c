/*
 * hello.c — the minimal h2o server the HTTP benchmark compares onecount
 * against: same library, same evloop-per-thread layout, a constant JSON body,
 * nothing else.  Usage: bench_hello PORT THREADS
 */
#include "baseline.h"

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    static const char body[] = "{\"status\":\"ok\"}";
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    req->res.content_length = sizeof(body) - 1;
    h2o_send_inline(req, body, sizeof(body) - 1);
    return 0;
}

static void *run(void *arg)
{
    h2o_context_t ctx;
    h2o_accept_ctx_t actx = {0};
    h2o_evloop_t *loop = h2o_evloop_create();
    baseline_accept(loop, &ctx, &actx);
    for (;;)
        h2o_evloop_run(loop, INT32_MAX);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 8081, threads = argc > 2 ? atoi(argv[2]) : 2;
    if (baseline_listen(port, on_req) != 0)
        return 1;
    baseline_threads(threads, run);
    return 0;
}
