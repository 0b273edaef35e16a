/*
 * hello.c — the minimal h2o server the HTTP benchmark compares onecount
 * against: same library, same evloop-per-thread layout, a constant JSON body,
 * nothing else.  Usage: bench_hello PORT THREADS
 */
#include <h2o.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static h2o_globalconf_t config;
static int listen_fd;

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

static void on_accept(h2o_socket_t *listener, const char *err)
{
    h2o_accept_ctx_t *actx = listener->data;
    h2o_socket_t *sock;
    while (err == NULL && (sock = h2o_evloop_socket_accept(listener)) != NULL)
        h2o_accept(actx, sock);
}

static void *run(void *p)
{
    h2o_context_t ctx;
    h2o_accept_ctx_t actx = {0};
    h2o_context_init(&ctx, h2o_evloop_create(), &config);
    actx.ctx = &ctx;
    actx.hosts = config.hosts;
    h2o_socket_t *l = h2o_evloop_socket_create(ctx.loop, dup(listen_fd), H2O_SOCKET_FLAG_DONT_READ);
    l->data = &actx;
    h2o_socket_read_start(l, on_accept);
    for (;;)
        h2o_evloop_run(ctx.loop, INT32_MAX);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 8081, threads = argc > 2 ? atoi(argv[2]) : 2, on = 1;
    h2o_config_init(&config);
    h2o_pathconf_t *path = h2o_config_register_path(
        h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535), "/", 0);
    h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_req;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(listen_fd, SOMAXCONN) != 0)
        return 1;
    pthread_t tid;
    for (int i = 1; i < threads; i++)
        pthread_create(&tid, NULL, run, NULL);
    run(NULL);
    return 0;
}
