/*
 * metrics_listener.c — GET /metrics on a listener of its own (see metrics_listener.h).
 */
#include "server/metrics_listener.h"
#include "server/config.h"
#include "server/listener.h"
#include "server/log.h"
#include "server/metrics.h"
#include "tenants/identity.h"

#include <stdlib.h>
#include <unistd.h>

static int listen_fd = -1;
static h2o_hostconf_t *hosts[2]; /* only the metrics host: no other path is reachable here */
static h2o_accept_ctx_t accept_ctx;
static h2o_socket_t *sock;
static oc_conns_t conns;

/* 1 when the request carries the configured bearer token (or none is configured). */
static int authorized(h2o_req_t *req)
{
    if (oc_config.metrics_token[0] == '\0')
        return 1;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len < 7 || !h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")))
        return 0;
    char *sent = strndup(v.base + 7, v.len - 7);
    int ok = sent != NULL && oc_secure_streq(sent, oc_config.metrics_token);
    free(sent);
    return ok;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/metrics"))) {
        h2o_send_error_404(req, "Not Found", "not found: GET /metrics\n", 0);
        return 0;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
        h2o_send_error_405(req, "Method Not Allowed", "method not allowed\n", H2O_SEND_ERROR_KEEP_HEADERS);
        return 0;
    }
    if (!authorized(req)) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer"));
        h2o_send_error_generic(req, 401, "Unauthorized", "a bearer token is required\n", H2O_SEND_ERROR_KEEP_HEADERS);
        return 0;
    }
    oc_buf_t out = {0};
    oc_metrics_render(&out);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_send_inline(req, oc_buf_cstr(&out), out.len);
    oc_buf_free(&out);
    return 0;
}

int oc_metrics_listener_open(h2o_globalconf_t *conf)
{
    if (strcmp(oc_config.metrics_listen, "off") == 0)
        return 0;
    char *host = NULL;
    int port, bound;
    if (oc_config_parse_listen(oc_config.metrics_listen, &host, &port) != 0)
        return -1; /* oc_config_load refused it already */
    listen_fd = oc_listener_open_at(host, port, "metrics", &bound);
    free(host);
    if (listen_fd < 0)
        return -1;
    hosts[0] = h2o_config_register_host(conf, h2o_iovec_init(H2O_STRLIT("metrics")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(hosts[0], "/", 0);
    h2o_handler_t *h = h2o_create_handler(path, sizeof(*h));
    h->on_req = on_req;
    return 0;
}

void oc_metrics_listener_attach(oc_thread_t *th)
{
    if (listen_fd < 0)
        return;
    accept_ctx.ctx = &th->ctx;
    accept_ctx.hosts = hosts;
    oc_conns_init(&conns, &accept_ctx);
    sock = h2o_evloop_socket_create(oc_loop_h2o(th->loop), listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    listen_fd = -1; /* the socket owns it now */
    oc_conns_accept(&conns, sock);
}

void oc_metrics_listener_close(oc_thread_t *th)
{
    if (sock == NULL) {
        if (listen_fd >= 0)
            close(listen_fd);
        listen_fd = -1;
        return;
    }
    h2o_socket_read_stop(sock);
    h2o_socket_close(sock);
    sock = NULL;
    oc_conns_close(&conns, th->loop);
}
