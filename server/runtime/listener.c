/*
 * listener.c — the listening socket and tracked connections (see listener.h).
 */
#include "runtime/listener.h"
#include "runtime/config.h"
#include "runtime/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct conn_track {
    h2o_linklist_t link;
    h2o_socket_t *sock;
} conn_track_t;

void oc_listener_write_port_file(const char *path, int port)
{
    if (path == NULL || path[0] == '\0')
        return;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (fp == NULL) {
        oc_log_fields(OC_LOG_WARN, "cannot write the port file",
                      json_pack("{s:s, s:s}", "file", path, "detail", strerror(errno)));
        return;
    }
    fprintf(fp, "%d\n", port);
    fclose(fp);
    rename(tmp, path);
}

int oc_listener_open(const char *role, int *port)
{
    return oc_listener_open_at(role, oc_config.listen_host, oc_config.listen_port, oc_config.port_file, port);
}

int oc_listener_open_at(const char *role, const char *host, int want_port, const char *port_file, int *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV},
                    *res = NULL;
    char ports[8], address[300];
    snprintf(ports, sizeof(ports), "%d", want_port);
    snprintf(address, sizeof(address), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, want_port);
    int gai = getaddrinfo(host, ports, &hints, &res);
    if (gai != 0) {
        oc_log_error("cannot resolve listen address %s: %s", address, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        oc_log_fields(OC_LOG_ERROR, "cannot listen",
                      json_pack("{s:s, s:s}", "address", address, "detail", strerror(errno)));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    char url[300];
    snprintf(url, sizeof(url), strchr(host, ':') ? "http://[%s]:%d/" : "http://%s:%d/", host, *port);
    json_t *fields = json_pack("{s:s, s:i, s:s}", "host", host, "port", *port, "url", url);
    if (fields != NULL && role != NULL)
        json_object_set_new(fields, "role", json_string(role));
    oc_log_fields(OC_LOG_INFO, "listening", fields);
    oc_listener_write_port_file(port_file, *port);
    return fd;
}

void oc_conns_init(oc_conns_t *conns, h2o_accept_ctx_t *accept_ctx)
{
    h2o_linklist_init_anchor(&conns->list);
    conns->accept_ctx = accept_ctx;
}

static void on_conn_close(void *p)
{
    conn_track_t *t = p;
    h2o_linklist_unlink(&t->link);
    free(t);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    oc_conns_t *conns = listener->data;
    if (err != NULL)
        return;
    for (int i = 0; i < 16; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            return;
        conn_track_t *t = oc_calloc(1, sizeof(*t));
        t->sock = sock;
        h2o_linklist_insert(&conns->list, &t->link);
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = t;
        h2o_accept(conns->accept_ctx, sock);
    }
}

void oc_conns_accept(oc_conns_t *conns, h2o_socket_t *listener)
{
    listener->data = conns;
    h2o_socket_read_start(listener, on_accept);
}

void oc_conns_close(oc_conns_t *conns, oc_loop_t *loop)
{
    uint64_t flush_until = oc_mono_us() + 50000;
    while (oc_mono_us() < flush_until)
        oc_loop_run_once(loop, 5);
    for (h2o_linklist_t *l = conns->list.next; l != &conns->list; l = l->next)
        shutdown(h2o_socket_get_fd(H2O_STRUCT_FROM_MEMBER(conn_track_t, link, l)->sock), SHUT_RD);
    uint64_t close_until = oc_mono_us() + 1000000;
    while (!oc_conns_empty(conns) && oc_mono_us() < close_until)
        oc_loop_run_once(loop, 5);
}
