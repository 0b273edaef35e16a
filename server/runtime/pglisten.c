/*
 * pglisten.c — PostgreSQL LISTEN on an event loop (see pglisten.h).
 */
#include "runtime/pglisten.h"
#include "runtime/log.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef enum { L_DOWN, L_CONNECTING, L_LISTENING, L_UP } lstate_t;

struct oc_pglisten {
    oc_loop_t *loop;
    char *conninfo;
    char *sql; /* "LISTEN a; LISTEN b" */
    oc_pglisten_cb cb;
    oc_pglisten_up_cb up;
    void *arg;
    PGconn *pg;
    h2o_socket_t *sock;
    int sock_fd;
    lstate_t state;
    int backoff_ms;
    int failures;
    oc_timer_t timer;
};

static void on_readable(h2o_socket_t *sock, const char *err);
static void on_writable(h2o_socket_t *sock, const char *err);

static void close_conn(oc_pglisten_t *l)
{
    if (l->sock != NULL) {
        h2o_socket_read_stop(l->sock);
        h2o_socket_close(l->sock);
        l->sock = NULL;
    }
    if (l->pg != NULL) {
        PQfinish(l->pg);
        l->pg = NULL;
    }
    l->state = L_DOWN;
}

static void failed(oc_pglisten_t *l, const char *what)
{
    if (l->failures++ == 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", l->pg != NULL ? PQerrorMessage(l->pg) : "");
        for (char *p = msg; *p; p++)
            if (*p == '\n')
                *p = ' ';
        oc_log_fields(OC_LOG_WARN, what, json_pack("{s:s}", "detail", msg));
    }
    close_conn(l);
    l->backoff_ms = l->backoff_ms == 0 ? BACKOFF_MIN_MS : l->backoff_ms * 2;
    if (l->backoff_ms > BACKOFF_MAX_MS)
        l->backoff_ms = BACKOFF_MAX_MS;
    oc_timer_start(l->loop, &l->timer, (uint64_t)l->backoff_ms + randombytes_uniform((unsigned)l->backoff_ms / 4 + 1));
}

static int watch(oc_pglisten_t *l)
{
    int fd = PQsocket(l->pg);
    if (l->sock != NULL && l->sock_fd == fd)
        return 0;
    if (l->sock != NULL) {
        h2o_socket_read_stop(l->sock);
        h2o_socket_close(l->sock);
        l->sock = NULL;
    }
    int dupfd = fd >= 0 ? dup(fd) : -1;
    if (dupfd < 0)
        return -1;
    l->sock = h2o_evloop_socket_create(oc_loop_h2o(l->loop), dupfd, H2O_SOCKET_FLAG_DONT_READ);
    l->sock->data = l;
    l->sock_fd = fd;
    return 0;
}

static void connect_poll(oc_pglisten_t *l)
{
    PostgresPollingStatusType st = PQconnectPoll(l->pg);
    if (st == PGRES_POLLING_FAILED || watch(l) != 0) {
        failed(l, "listen connection failed");
        return;
    }
    switch (st) {
    case PGRES_POLLING_READING: h2o_socket_read_start(l->sock, on_readable); break;
    case PGRES_POLLING_WRITING: h2o_socket_notify_write(l->sock, on_writable); break;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(l->pg, 1) != 0 || !PQsendQuery(l->pg, l->sql)) {
            failed(l, "listen setup failed");
            return;
        }
        l->state = L_LISTENING;
        if (PQflush(l->pg) == 1)
            h2o_socket_notify_write(l->sock, on_writable);
        h2o_socket_read_start(l->sock, on_readable);
        break;
    default: break;
    }
}

static void start(oc_timer_t *t)
{
    oc_pglisten_t *l = t->data;
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {l->conninfo, "onecount-listen", "5", NULL};
    l->pg = PQconnectStartParams(keys, vals, 1);
    if (l->pg == NULL || PQstatus(l->pg) == CONNECTION_BAD) {
        failed(l, "listen connection failed");
        return;
    }
    l->state = L_CONNECTING;
    connect_poll(l);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    oc_pglisten_t *l = sock->data;
    if (err != NULL) {
        failed(l, "listen connection lost");
        return;
    }
    if (l->state == L_CONNECTING) {
        connect_poll(l);
        return;
    }
    int f = PQflush(l->pg);
    if (f < 0)
        failed(l, "listen connection lost");
    else if (f == 1)
        h2o_socket_notify_write(l->sock, on_writable);
}

static void on_readable(h2o_socket_t *sock, const char *err)
{
    oc_pglisten_t *l = sock->data;
    if (l->state == L_CONNECTING) {
        h2o_socket_read_stop(sock);
        connect_poll(l);
        return;
    }
    if (err != NULL || !PQconsumeInput(l->pg)) {
        failed(l, "listen connection lost");
        return;
    }
    if (l->state == L_LISTENING) {
        while (!PQisBusy(l->pg)) {
            PGresult *r = PQgetResult(l->pg);
            if (r == NULL) {
                l->state = L_UP;
                if (l->failures > 0)
                    oc_log_info("listen connection restored");
                l->failures = 0;
                l->backoff_ms = 0;
                l->up(l->arg);
                break;
            }
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (!ok) {
                failed(l, "LISTEN failed");
                return;
            }
        }
    }
    PGnotify *n;
    while (l->pg != NULL && (n = PQnotifies(l->pg)) != NULL) {
        l->cb(l->arg, n->relname, n->extra);
        PQfreemem(n);
    }
    if (l->pg != NULL && PQstatus(l->pg) == CONNECTION_BAD)
        failed(l, "listen connection lost");
}

oc_pglisten_t *oc_pglisten_create(oc_loop_t *loop, const char *conninfo, const char *const *channels, oc_pglisten_cb cb,
                                  oc_pglisten_up_cb up, void *arg)
{
    oc_buf_t sql = {0};
    for (size_t i = 0; channels[i] != NULL; i++)
        oc_buf_printf(&sql, "%sLISTEN %s", i ? "; " : "", channels[i]);
    if (sql.data == NULL)
        return NULL;
    oc_pglisten_t *l = oc_calloc(1, sizeof(*l));
    l->loop = loop;
    l->conninfo = oc_strdup(conninfo);
    l->sql = oc_strdup(oc_buf_cstr(&sql));
    oc_buf_free(&sql);
    l->cb = cb;
    l->up = up;
    l->arg = arg;
    oc_timer_init(&l->timer, start, l);
    oc_timer_start(loop, &l->timer, 0);
    return l;
}

void oc_pglisten_destroy(oc_pglisten_t *l)
{
    if (l == NULL)
        return;
    oc_timer_stop(l->loop, &l->timer);
    close_conn(l);
    free(l->conninfo);
    free(l->sql);
    free(l);
}

int oc_pglisten_ready(const oc_pglisten_t *l)
{
    return l != NULL && l->state == L_UP;
}
