/*
 * opslisten.c — the operations listener (see opslisten.h).
 *
 * Every answer is computed and sent at once, in the handler: nothing waits
 * on I/O, so a request never outlives the loop iteration that read it.
 */
#include "runtime/opslisten.h"
#include "runtime/config.h"
#include "runtime/json.h"
#include "runtime/listener.h"
#include "runtime/log.h"
#include "runtime/metrics.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct oc_opslisten {
    oc_loop_t *loop;
    h2o_globalconf_t conf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *sock;
    oc_conns_t conns;
    int port;
    oc_ops_ready_fn ready;
    void *arg;
    char *token;
    int metrics_only;
};

typedef struct {
    h2o_handler_t super;
    oc_opslisten_t *o;
} ops_handler_t;

static void reply(h2o_req_t *req, int status, const char *reason, const char *type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_send_inline(req, body, len);
}

/* Sends `j` (stolen) as JSON. */
static void send_json(h2o_req_t *req, int status, const char *reason, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    reply(req, status, reason, "application/json", text != NULL ? text : "{}", text != NULL ? strlen(text) : 2);
    free(text);
}

static void send_error(h2o_req_t *req, int status, const char *reason, const char *code, const char *message)
{
    char id[33];
    oc_random_hex(id, 16);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                          h2o_strdup(&req->pool, id, 32).base, 32);
    send_json(req, status, reason, oc_error_body(code, message, NULL, id));
}

/* 1 when the request carries the listener's bearer token, or none is asked. */
static int authorized(const oc_opslisten_t *o, h2o_req_t *req)
{
    if (o->token == NULL)
        return 1;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t want = strlen(o->token);
    if (v.len != 7 + want || !h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")))
        return 0;
    return sodium_memcmp(v.base + 7, o->token, want) == 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    oc_opslisten_t *o = ((ops_handler_t *)self)->o;
    int get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")),
        head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    h2o_iovec_t path = req->path_normalized;
    int metrics = h2o_memis(path.base, path.len, H2O_STRLIT("/metrics"));
    if (metrics || (!o->metrics_only && (h2o_memis(path.base, path.len, H2O_STRLIT("/healthz")) ||
                                         h2o_memis(path.base, path.len, H2O_STRLIT("/readyz"))))) {
        if (!get && !head) {
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
            send_error(req, 405, "Method Not Allowed", "method_not_allowed", "only GET and HEAD are allowed here");
            return 0;
        }
    } else {
        send_error(req, 404, "Not Found", "not_found",
                   o->metrics_only ? "no such path: /metrics is served here"
                                   : "no such path: /healthz, /readyz and /metrics are served here");
        return 0;
    }
    if (metrics && !authorized(o, req)) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer"));
        send_error(req, 401, "Unauthorized", "unauthorized", "a bearer token is required");
        return 0;
    }
    if (path.base[1] == 'h') {
        send_json(req, 200, "OK", json_pack("{s:s}", "status", "ok"));
    } else if (path.base[1] == 'r') {
        json_t *checks = json_object();
        int ok = o->ready != NULL ? o->ready(o->arg, checks) : 1;
        if (!ok)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        send_json(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable",
                  json_pack("{s:s, s:o}", "status", ok ? "ready" : "not_ready", "checks", checks));
    } else {
        oc_buf_t out = {0};
        oc_metrics_render(&out);
        reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", oc_buf_cstr(&out), out.len);
        oc_buf_free(&out);
    }
    return 0;
}

oc_opslisten_t *oc_opslisten_start(oc_loop_t *loop, const oc_opslisten_opts_t *opts)
{
    char *host = NULL;
    int want_port = 0;
    if (oc_config_parse_listen(opts->listen, &host, &want_port) != 0) {
        oc_log_fields(
            OC_LOG_ERROR, "bad listen address: expected host:port with port 0..65535",
            json_pack("{s:s, s:s}", "role", opts->role != NULL ? opts->role : "ops", "address", opts->listen));
        return NULL;
    }
    oc_opslisten_t *o = oc_calloc(1, sizeof(*o));
    int fd = oc_listener_open_at(opts->role, host, want_port, opts->port_file, &o->port);
    free(host);
    if (fd < 0) {
        free(o);
        return NULL;
    }
    o->loop = loop;
    o->ready = opts->ready;
    o->arg = opts->arg;
    o->token = opts->token != NULL && opts->token[0] != '\0' ? oc_strdup(opts->token) : NULL;
    o->metrics_only = opts->metrics_only;
    h2o_config_init(&o->conf);
    o->conf.server_name = h2o_iovec_init(H2O_STRLIT("onecount"));
    o->conf.max_request_entity_size = 1024;
    h2o_hostconf_t *hc = h2o_config_register_host(&o->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
    ops_handler_t *handler = (ops_handler_t *)h2o_create_handler(pc, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->o = o;
    h2o_context_init(&o->ctx, oc_loop_h2o(loop), &o->conf);
    o->accept_ctx.ctx = &o->ctx;
    o->accept_ctx.hosts = o->conf.hosts;
    oc_conns_init(&o->conns, &o->accept_ctx);
    o->sock = h2o_evloop_socket_create(oc_loop_h2o(loop), fd, H2O_SOCKET_FLAG_DONT_READ);
    oc_conns_accept(&o->conns, o->sock);
    return o;
}

int oc_opslisten_port(const oc_opslisten_t *o)
{
    return o->port;
}

void oc_opslisten_stop(oc_opslisten_t *o)
{
    if (o == NULL)
        return;
    oc_loop_t *loop = o->loop;
    h2o_socket_read_stop(o->sock);
    h2o_socket_close(o->sock);
    h2o_context_request_shutdown(&o->ctx);
    oc_conns_close(&o->conns, o->loop);
    if (h2o_timeout_is_linked(&o->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&o->ctx.http2._graceful_shutdown_timeout);
    /* A connection that did not close in time keeps the context it points to: leak both rather than free
     * what it still uses (the process is ending). */
    if (oc_conns_empty(&o->conns)) {
        h2o_context_dispose(&o->ctx);
        h2o_config_dispose(&o->conf);
        if (o->token != NULL)
            sodium_memzero(o->token, strlen(o->token));
        free(o->token);
        free(o);
    }
    for (int i = 0; i < 3; i++)
        oc_loop_run_once(loop, 0);
}
