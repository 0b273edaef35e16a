/*
 * Unit tests for adapters/chttp.c against a tiny HTTP/1.1 server on a
 * loopback port (its own thread, poll-based, keep-alive): responses and
 * headers, bodies, connection reuse, timeouts, refused connections,
 * concurrency, cancel and destroy.  Callbacks are counted exactly.
 */
#include "adapters/chttp.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- the server ------------------------------------------------------------------------------- */

#define MAX_CLIENTS 64

typedef struct client {
    int fd;
    char buf[16384];
    size_t len;
} client_t;

static int listen_fd, port;
static atomic_int stop, accepted;
static pthread_t server;

static void respond(client_t *c, const char *req, size_t hdr_len, size_t body_len)
{
    char path[128] = "";
    sscanf(req, "%*s %127s", path);
    char out[512];
    int n;
    if (strcmp(path, "/slow") == 0)
        return; /* never answers */
    if (strcmp(path, "/echo") == 0)
        n = snprintf(
            out, sizeof(out),
            "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nX-Body-Length: %zu\r\nContent-Length: 2\r\n\r\nok",
            body_len);
    else if (strcmp(path, "/missing") == 0)
        n = snprintf(out, sizeof(out), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    else
        n = snprintf(
            out, sizeof(out),
            "HTTP/1.1 200 OK\r\nX-Test: one\r\nx-test: two\r\nRetry-After: 2\r\nContent-Length: 5\r\n\r\nhello");
    (void)hdr_len;
    ssize_t w = write(c->fd, out, (size_t)n);
    (void)w;
}

static void serve_buffer(client_t *c)
{
    for (;;) {
        c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
        char *end = strstr(c->buf, "\r\n\r\n");
        if (end == NULL)
            return;
        size_t hdr = (size_t)(end - c->buf) + 4, body = 0;
        char *cl = strcasestr(c->buf, "content-length:");
        if (cl != NULL && cl < end)
            body = (size_t)strtoul(cl + 15, NULL, 10);
        if (c->len < hdr + body)
            return;
        respond(c, c->buf, hdr, body);
        memmove(c->buf, c->buf + hdr + body, c->len - hdr - body);
        c->len -= hdr + body;
    }
}

static void *server_main(void *arg)
{
    client_t *clients = calloc(MAX_CLIENTS, sizeof(*clients));
    struct pollfd pfd[MAX_CLIENTS + 1];
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    while (!atomic_load(&stop)) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        for (int i = 0; i < MAX_CLIENTS; i++)
            pfd[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)n, 20) <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            int fd = accept(listen_fd, NULL, NULL);
            for (int i = 0; fd >= 0 && i < MAX_CLIENTS; i++)
                if (clients[i].fd < 0) {
                    clients[i].fd = fd;
                    clients[i].len = 0;
                    atomic_fetch_add(&accepted, 1);
                    fd = -1;
                }
            if (fd >= 0)
                close(fd);
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client_t *c = &clients[i];
            if (c->fd < 0 || !(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
            if (r <= 0) {
                close(c->fd);
                c->fd = -1;
                continue;
            }
            c->len += (size_t)r;
            serve_buffer(c);
        }
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    free(clients);
    return arg;
}

static void server_start(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa));
    listen(listen_fd, 64);
    getsockname(listen_fd, (struct sockaddr *)&sa, &sl);
    port = ntohs(sa.sin_port);
    pthread_create(&server, NULL, server_main, NULL);
}

static void server_stop(void)
{
    atomic_store(&stop, 1);
    pthread_join(server, NULL);
    close(listen_fd);
}

/* --- the client side ------------------------------------------------------------------------------ */

typedef struct result {
    int calls, status, cancelled, timed_out;
    char err[128];
    char body[64];
    char header[64];
    char body_length[16];
} result_t;

static void on_res(void *arg, const oc_chttp_res_t *res)
{
    result_t *r = arg;
    r->calls++;
    r->status = res->status;
    r->cancelled = res->cancelled;
    r->timed_out = res->timed_out;
    snprintf(r->err, sizeof(r->err), "%s", res->err != NULL ? res->err : "");
    snprintf(r->body, sizeof(r->body), "%.*s", (int)res->body_len, res->body);
    const char *h = oc_chttp_header(res, "X-TEST");
    snprintf(r->header, sizeof(r->header), "%s", h != NULL ? h : "");
    h = oc_chttp_header(res, "x-body-length");
    snprintf(r->body_length, sizeof(r->body_length), "%s", h != NULL ? h : "");
}

static void run_until(oc_loop_t *loop, result_t *r, int n, int calls, int max_ms)
{
    uint64_t until = oc_mono_us() + (uint64_t)max_ms * 1000;
    for (;;) {
        int done = 1;
        for (int i = 0; i < n; i++)
            done &= r[i].calls >= calls;
        if (done || oc_mono_us() > until)
            return;
        oc_loop_run_once(loop, 10);
    }
}

static char urls[8][128];
static int nurls;

/* A URL on the test server; each call gets its own buffer (requests keep pointers). */
static const char *at(const char *path)
{
    char *u = urls[nurls++ % 8];
    snprintf(u, sizeof(urls[0]), "http://127.0.0.1:%d%s", port, path);
    return u;
}

int main(void)
{
    server_start();
    oc_loop_t *loop = oc_loop_create();
    oc_chttp_t *c = oc_chttp_create(loop);
    CHECK(c != NULL);
    CHECK(oc_chttp_loop(c) == loop);

    /* a response: status, headers (case-insensitive, the last wins), body */
    result_t r1 = {0};
    oc_chttp_header_t hdrs[] = {{"Accept", "text/plain"}, {"Authorization", "Bearer secret"}};
    oc_chttp_req_t get = {.method = "GET", .url = at("/ok"), .headers = hdrs, .nheaders = 2, .timeout_ms = 2000};
    CHECK_INT(oc_chttp_request(c, &get, on_res, &r1), 0);
    CHECK_INT(r1.calls, 0); /* never from inside the call */
    CHECK_INT(oc_chttp_pending(c), 1);
    run_until(loop, &r1, 1, 1, 3000);
    CHECK_INT(r1.calls, 1);
    CHECK_INT(r1.status, 200);
    CHECK_STR(r1.body, "hello");
    CHECK_STR(r1.header, "two");
    CHECK_STR(r1.err, "");
    CHECK_INT(oc_chttp_pending(c), 0);

    /* a body, and an error status is a response like any other */
    result_t r2 = {0}, r3 = {0};
    oc_chttp_req_t post = {.method = "POST", .url = at("/echo"), .body = "0123456789", .body_len = 10};
    oc_chttp_req_t missing = {.method = "GET", .url = at("/missing")};
    CHECK_INT(oc_chttp_request(c, &post, on_res, &r2), 0);
    CHECK_INT(oc_chttp_request(c, &missing, on_res, &r3), 0);
    run_until(loop, &r2, 1, 1, 3000);
    run_until(loop, &r3, 1, 1, 3000);
    CHECK_INT(r2.status, 201);
    CHECK_STR(r2.body_length, "10");
    CHECK_INT(r3.status, 404);
    CHECK_STR(r3.err, "");

    /* keep-alive: sequential requests reuse one connection */
    int before = atomic_load(&accepted);
    for (int i = 0; i < 5; i++) {
        result_t r = {0};
        oc_chttp_request(c, &get, on_res, &r);
        run_until(loop, &r, 1, 1, 3000);
        CHECK_INT(r.status, 200);
    }
    CHECK(atomic_load(&accepted) - before <= 1);

    /* concurrency: 30 at once all complete, exactly once each */
    result_t many[30] = {{0}};
    for (int i = 0; i < 30; i++)
        oc_chttp_request(c, &get, on_res, &many[i]);
    run_until(loop, many, 30, 1, 5000);
    int ok = 0, once = 1;
    for (int i = 0; i < 30; i++) {
        ok += many[i].status == 200;
        once &= many[i].calls == 1;
    }
    CHECK_INT(ok, 30);
    CHECK(once);

    /* a timeout */
    result_t r4 = {0};
    oc_chttp_req_t slow = {.method = "GET", .url = at("/slow"), .timeout_ms = 200};
    uint64_t t0 = oc_mono_us();
    CHECK_INT(oc_chttp_request(c, &slow, on_res, &r4), 0);
    run_until(loop, &r4, 1, 1, 3000);
    CHECK_INT(r4.calls, 1);
    CHECK_INT(r4.status, 0);
    CHECK(r4.timed_out);
    CHECK_STR(r4.err, "timed out");
    CHECK(oc_mono_us() - t0 >= 180000 && oc_mono_us() - t0 < 2000000);

    /* a refused connection */
    int closed = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    bind(closed, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(closed, (struct sockaddr *)&sa, &sl);
    close(closed);
    char refused[64];
    snprintf(refused, sizeof(refused), "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    result_t r5 = {0};
    oc_chttp_req_t nobody = {.method = "GET", .url = refused, .timeout_ms = 2000};
    CHECK_INT(oc_chttp_request(c, &nobody, on_res, &r5), 0);
    run_until(loop, &r5, 1, 1, 3000);
    CHECK_INT(r5.calls, 1);
    CHECK_INT(r5.status, 0);
    CHECK(r5.err[0] != '\0' && !r5.timed_out);

    /* refused synchronously: no callback ever */
    result_t r6 = {0};
    oc_chttp_req_t bad = {.method = "GET", .url = "file:///etc/passwd"};
    CHECK_INT(oc_chttp_request(c, &bad, on_res, &r6), OC_EINVAL);
    oc_chttp_req_t nourl = {.method = "GET"};
    CHECK_INT(oc_chttp_request(c, &nourl, on_res, &r6), OC_EINVAL);

    /* cancel: dropped without a callback */
    result_t r7 = {0};
    slow.timeout_ms = 5000;
    CHECK_INT(oc_chttp_request(c, &slow, on_res, &r7), 0);
    oc_loop_run_once(loop, 20);
    oc_chttp_cancel(c, &r7);
    CHECK_INT(oc_chttp_pending(c), 0);
    uint64_t until = oc_mono_us() + 100000;
    while (oc_mono_us() < until)
        oc_loop_run_once(loop, 10);
    CHECK_INT(r7.calls, 0);
    CHECK_INT(r6.calls, 0);

    /* destroy: every pending request is called back, cancelled */
    result_t r8 = {0}, r9 = {0};
    CHECK_INT(oc_chttp_request(c, &slow, on_res, &r8), 0);
    CHECK_INT(oc_chttp_request(c, &slow, on_res, &r9), 0);
    oc_loop_run_once(loop, 20);
    oc_chttp_destroy(c);
    CHECK_INT(r8.calls, 1);
    CHECK_INT(r9.calls, 1);
    CHECK(r8.cancelled && r9.cancelled);
    oc_chttp_destroy(NULL);
    for (int i = 0; i < 3; i++)
        oc_loop_run_once(loop, 0);
    oc_loop_destroy(loop);
    server_stop();
    return oc_test_report();
}
