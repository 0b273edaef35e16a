/*
 * baseline.h — what the baseline servers share: one h2o handler on "/", a
 * loopback listener, and one accepting context per thread (the layout
 * onecount's server uses).  Each server includes it once.
 */
#ifndef OC_BASELINE_H
#define OC_BASELINE_H

#include <h2o.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static h2o_globalconf_t baseline_config;
static int baseline_fd = -1;

/* Registers `on_req` for every path and listens on 127.0.0.1:port; returns 0 or -1. */
static int baseline_listen(int port, int (*on_req)(h2o_handler_t *, h2o_req_t *))
{
    int on = 1;
    h2o_config_init(&baseline_config);
    h2o_pathconf_t *path = h2o_config_register_path(
        h2o_config_register_host(&baseline_config, h2o_iovec_init(H2O_STRLIT("default")), 65535), "/", 0);
    h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_req;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    baseline_fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(baseline_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    return bind(baseline_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(baseline_fd, SOMAXCONN) == 0 ? 0 : -1;
}

static void baseline_on_accept(h2o_socket_t *listener, const char *err)
{
    h2o_accept_ctx_t *actx = listener->data;
    h2o_socket_t *sock;
    while (err == NULL && (sock = h2o_evloop_socket_accept(listener)) != NULL)
        h2o_accept(actx, sock);
}

/* Makes `ctx` (on `loop`) accept connections; `actx` lives as long as the thread. */
static void baseline_accept(h2o_evloop_t *loop, h2o_context_t *ctx, h2o_accept_ctx_t *actx)
{
    h2o_context_init(ctx, loop, &baseline_config);
    actx->ctx = ctx;
    actx->hosts = baseline_config.hosts;
    h2o_socket_t *l = h2o_evloop_socket_create(loop, dup(baseline_fd), H2O_SOCKET_FLAG_DONT_READ);
    l->data = actx;
    h2o_socket_read_start(l, baseline_on_accept);
}

/* Runs `run(i)` on threads 1..n-1, then on this one as thread 0. */
static void baseline_threads(int n, void *(*run)(void *))
{
    pthread_t tid;
    for (int i = 1; i < n; i++)
        pthread_create(&tid, NULL, run, (void *)(uintptr_t)i);
    run((void *)(uintptr_t)0);
}

#endif
