/*
 * redis.c — hiredis on the h2o evloop, with deadlines and reconnect (see redis.h).
 */
#include "runtime/redis.h"
#include "runtime/log.h"
#include "runtime/metrics.h"

#include <hiredis/async.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

typedef struct pending {
    struct pending *next;
    oc_redis_t *r;
    oc_redis_cb cb;
    void *arg;
    uint64_t deadline_us;
    int done; /* callback already called (timed out); ignore the late reply */
    /* For scripts: the full EVAL argv kept to retry after NOSCRIPT. */
    oc_redis_script_t *script;
    int argc;
    char **argv;
    size_t *lens;
} pending_t;

struct oc_redis {
    oc_loop_t *loop;
    char *host, *path;
    int port, db;
    int timeout_ms;
    redisAsyncContext *ac;
    int connected;
    h2o_socket_t *sock;
    int reading, write_armed, want_write;
    oc_timer_t reconnect_timer, deadline_timer;
    int backoff_ms;
    int failures;
    pending_t *head, **tail;
    int destroying;
};

#define CMDS(r) OC_RESULT_COUNTER("onecount_redis_commands_total", "Redis commands by result.", r)
static oc_metric_t m_cmds = CMDS("ok"), m_errs = CMDS("error"), m_timeouts = CMDS("timeout"),
                   m_unavail = CMDS("unavailable");
#undef CMDS
static oc_metric_t m_conns = {"onecount_redis_connections", "Redis connections that are up.", NULL, OC_METRIC_GAUGE};

void oc_redis_metrics_init(void)
{
    oc_metric_t *all[] = {&m_cmds, &m_errs, &m_timeouts, &m_unavail, &m_conns};
    for (size_t i = 0; i < OC_ARRAY_SIZE(all); i++)
        oc_metrics_register(all[i]);
}

void oc_redis_script_init(oc_redis_script_t *s)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)s->source, strlen(s->source), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(s->sha1 + i * 2, 3, "%02x", md[i]);
}

/* --- the evloop adapter -------------------------------------------------- */

static void on_sock_read(h2o_socket_t *sock, const char *err)
{
    oc_redis_t *r = sock->data;
    if (r->ac != NULL)
        redisAsyncHandleRead(r->ac);
}

static void on_sock_write(h2o_socket_t *sock, const char *err)
{
    oc_redis_t *r = sock->data;
    r->write_armed = 0;
    if (r->ac != NULL && r->want_write)
        redisAsyncHandleWrite(r->ac);
}

static void ev_add_read(void *p)
{
    oc_redis_t *r = p;
    if (r->sock != NULL && !r->reading) {
        r->reading = 1;
        h2o_socket_read_start(r->sock, on_sock_read);
    }
}

static void ev_del_read(void *p)
{
    oc_redis_t *r = p;
    if (r->sock != NULL && r->reading) {
        r->reading = 0;
        h2o_socket_read_stop(r->sock);
    }
}

static void ev_add_write(void *p)
{
    oc_redis_t *r = p;
    r->want_write = 1;
    if (r->sock != NULL && !r->write_armed) {
        r->write_armed = 1;
        h2o_socket_notify_write(r->sock, on_sock_write);
    }
}

static void ev_del_write(void *p)
{
    oc_redis_t *r = p;
    r->want_write = 0;
}

static void ev_cleanup(void *p)
{
    oc_redis_t *r = p;
    if (r->sock != NULL) {
        h2o_socket_close(r->sock);
        r->sock = NULL;
    }
    r->reading = r->write_armed = r->want_write = 0;
}

/* --- connection lifecycle ------------------------------------------------ */

static void connect_now(oc_redis_t *r);

static void schedule_reconnect(oc_redis_t *r)
{
    if (r->destroying)
        return;
    r->backoff_ms = r->backoff_ms == 0 ? BACKOFF_MIN_MS : r->backoff_ms * 2;
    if (r->backoff_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MAX_MS;
    oc_timer_start(r->loop, &r->reconnect_timer, (uint64_t)r->backoff_ms);
}

static void on_reconnect_timer(oc_timer_t *t)
{
    connect_now(t->data);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    oc_redis_t *r = ac->data;
    if (status != REDIS_OK) {
        if (r->failures++ == 0)
            oc_log_fields(OC_LOG_WARN, "redis connection failed", json_pack("{s:s}", "detail", ac->errstr));
        r->ac = NULL; /* hiredis frees the context after this callback */
        r->connected = 0;
        schedule_reconnect(r);
        return;
    }
    if (r->failures > 0)
        oc_log_info("redis connection restored");
    r->failures = 0;
    r->backoff_ms = 0;
    r->connected = 1;
    oc_metric_add(&m_conns, 1);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    oc_redis_t *r = ac->data;
    if (r->connected) {
        r->connected = 0;
        oc_metric_add(&m_conns, -1);
        if (!r->destroying)
            oc_log_warn("redis connection lost");
    }
    r->ac = NULL;
    schedule_reconnect(r);
}

static void on_select(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *rep = reply;
    if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
        oc_log_fields(OC_LOG_ERROR, "redis select failed", json_pack("{s:s}", "detail", rep->str));
}

static void connect_now(oc_redis_t *r)
{
    redisAsyncContext *ac = r->path != NULL ? redisAsyncConnectUnix(r->path) : redisAsyncConnect(r->host, r->port);
    if (ac == NULL || ac->err) {
        if (r->failures++ == 0)
            oc_log_fields(OC_LOG_WARN, "redis connection failed",
                          json_pack("{s:s}", "detail", ac != NULL ? ac->errstr : "out of memory"));
        if (ac != NULL)
            redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    int fd = dup(ac->c.fd);
    if (fd < 0) {
        redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    r->ac = ac;
    ac->data = r;
    r->sock = h2o_evloop_socket_create(oc_loop_h2o(r->loop), fd, H2O_SOCKET_FLAG_DONT_READ);
    r->sock->data = r;
    ac->ev.data = r;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (r->db != 0)
        redisAsyncCommand(ac, on_select, NULL, "SELECT %d", r->db);
    /* hiredis arms write itself to learn when the connect completes. */
}

/* --- commands and deadlines ---------------------------------------------- */

static void pending_free(pending_t *p)
{
    if (p->argv != NULL) {
        for (int i = 0; i < p->argc; i++)
            free(p->argv[i]);
        free(p->argv);
        free(p->lens);
    }
    free(p);
}

static void unlink_head(oc_redis_t *r, pending_t *p)
{
    /* Replies arrive in order, so the finished command is the head. */
    if (r->head == p) {
        r->head = p->next;
        if (r->head == NULL)
            r->tail = &r->head;
        return;
    }
    for (pending_t **pp = &r->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            if (*pp == NULL)
                r->tail = pp;
            return;
        }
    }
}

static int send_pending(oc_redis_t *r, pending_t *p, int argc, const char **argv, const size_t *lens);

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    pending_t *p = privdata;
    oc_redis_t *r = p->r;
    redisReply *rep = reply;
    unlink_head(r, p);
    if (p->done) {
        pending_free(p);
        return;
    }
    if (rep == NULL) {
        oc_metric_add(&m_unavail, 1);
        p->cb(p->arg, "redis connection lost", NULL);
        pending_free(p);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR && p->script != NULL && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        /* Resend the same call as EVAL: it loads the script as it runs. */
        p->argv[0][0] = 'E', p->argv[0][1] = 'V', p->argv[0][2] = 'A', p->argv[0][3] = 'L', p->argv[0][4] = '\0';
        p->lens[0] = 4;
        free(p->argv[1]);
        p->argv[1] = oc_strdup(p->script->source);
        p->lens[1] = strlen(p->script->source);
        p->script = NULL;
        p->next = NULL;
        if (r->ac != NULL && send_pending(r, p, p->argc, (const char **)p->argv, p->lens) == 0)
            return;
        p->cb(p->arg, "redis connection lost", NULL);
        pending_free(p);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        oc_metric_add(&m_errs, 1);
        p->cb(p->arg, rep->str, rep);
    } else {
        oc_metric_add(&m_cmds, 1);
        p->cb(p->arg, NULL, rep);
    }
    pending_free(p);
}

static void on_deadline(oc_timer_t *t)
{
    oc_redis_t *r = t->data;
    uint64_t now = oc_mono_us();
    pending_t *p = r->head;
    while (p != NULL && p->done)
        p = p->next;
    if (p == NULL)
        return;
    if (p->deadline_us > now) {
        oc_timer_start(r->loop, &r->deadline_timer, (p->deadline_us - now) / 1000 + 1);
        return;
    }
    /* Overdue: fail everything pending and drop the connection. */
    oc_log_warn("redis command exceeded %d ms; reconnecting", r->timeout_ms);
    for (pending_t *q = r->head; q != NULL; q = q->next) {
        if (!q->done) {
            q->done = 1;
            oc_metric_add(&m_timeouts, 1);
            q->cb(q->arg, "redis timeout", NULL);
        }
    }
    if (r->ac != NULL) {
        redisAsyncFree(r->ac); /* calls on_reply(NULL) for each pending, then on_disconnect */
        r->ac = NULL;
        if (r->connected) {
            r->connected = 0;
            oc_metric_add(&m_conns, -1);
        }
        schedule_reconnect(r);
    }
}

static int send_pending(oc_redis_t *r, pending_t *p, int argc, const char **argv, const size_t *lens)
{
    if (redisAsyncCommandArgv(r->ac, on_reply, p, argc, argv, lens) != REDIS_OK)
        return OC_EUNAVAIL;
    p->deadline_us = oc_mono_us() + (uint64_t)r->timeout_ms * 1000;
    *r->tail = p;
    r->tail = &p->next;
    if (!oc_timer_armed(&r->deadline_timer))
        oc_timer_start(r->loop, &r->deadline_timer, (uint64_t)r->timeout_ms + 1);
    return 0;
}

/* A command for `r`, or NULL with *rc = OC_EUNAVAIL while Redis is not connected (counted). */
static pending_t *pending_new(oc_redis_t *r, oc_redis_cb cb, void *arg, int *rc)
{
    if (r == NULL || !r->connected || r->ac == NULL) {
        oc_metric_add(&m_unavail, 1);
        *rc = OC_EUNAVAIL;
        return NULL;
    }
    pending_t *p = oc_calloc(1, sizeof(*p));
    p->r = r;
    p->cb = cb;
    p->arg = arg;
    return p;
}

int oc_redis_commandv(oc_redis_t *r, oc_redis_cb cb, void *arg, int argc, const char **argv, const size_t *lens)
{
    int rc;
    pending_t *p = pending_new(r, cb, arg, &rc);
    if (p == NULL)
        return rc;
    rc = send_pending(r, p, argc, argv, lens);
    if (rc != 0)
        free(p);
    return rc;
}

int oc_redis_eval(oc_redis_t *r, oc_redis_script_t *script, oc_redis_cb cb, void *arg, int nkeys, int argc,
                  const char **argv, const size_t *lens)
{
    int rc;
    pending_t *p = pending_new(r, cb, arg, &rc);
    if (p == NULL)
        return rc;
    p->script = script;
    p->argc = argc + 3;
    p->argv = oc_calloc((size_t)p->argc, sizeof(char *));
    p->lens = oc_calloc((size_t)p->argc, sizeof(size_t));
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    /* Slot 0 has room for "EVALSHA" and is rewritten to "EVAL" on NOSCRIPT. */
    p->argv[0] = oc_strdup("EVALSHA");
    p->argv[1] = oc_strdup(script->sha1);
    p->argv[2] = oc_strdup(nk);
    p->lens[0] = 7, p->lens[1] = 40, p->lens[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        size_t l = lens != NULL ? lens[i] : strlen(argv[i]);
        p->argv[i + 3] = oc_malloc(l + 1);
        memcpy(p->argv[i + 3], argv[i], l);
        p->argv[i + 3][l] = '\0';
        p->lens[i + 3] = l;
    }
    rc = send_pending(r, p, p->argc, (const char **)p->argv, p->lens);
    if (rc != 0)
        pending_free(p);
    return rc;
}

oc_redis_t *oc_redis_create(oc_loop_t *loop, const char *url, int timeout_ms)
{
    oc_redis_t *r = oc_calloc(1, sizeof(*r));
    r->loop = loop;
    r->timeout_ms = timeout_ms;
    r->tail = &r->head;
    if (strncmp(url, "unix:", 5) == 0) {
        const char *q = strchr(url + 5, '?');
        r->path = q != NULL ? oc_strndup(url + 5, (size_t)(q - url - 5)) : oc_strdup(url + 5);
        if (q != NULL && strncmp(q, "?db=", 4) == 0)
            r->db = atoi(q + 4);
    } else if (strncmp(url, "redis://", 8) == 0) {
        const char *h = url + 8, *at = strchr(h, '@');
        if (at != NULL)
            h = at + 1; /* credentials are not supported on this path; ACL users come later */
        const char *colon = strchr(h, ':'), *slash = strchr(h, '/');
        size_t hl = colon != NULL ? (size_t)(colon - h) : slash != NULL ? (size_t)(slash - h) : strlen(h);
        r->host = oc_strndup(h, hl);
        r->port = colon != NULL ? atoi(colon + 1) : 6379;
        if (slash != NULL)
            r->db = atoi(slash + 1);
    } else {
        free(r);
        return NULL;
    }
    oc_timer_init(&r->reconnect_timer, on_reconnect_timer, r);
    oc_timer_init(&r->deadline_timer, on_deadline, r);
    connect_now(r);
    return r;
}

void oc_redis_destroy(oc_redis_t *r)
{
    if (r == NULL)
        return;
    r->destroying = 1;
    oc_timer_stop(r->loop, &r->reconnect_timer);
    oc_timer_stop(r->loop, &r->deadline_timer);
    if (r->ac != NULL)
        redisAsyncFree(r->ac);
    free(r->host);
    free(r->path);
    free(r);
}

int oc_redis_ready(const oc_redis_t *r)
{
    return r != NULL && r->connected;
}
