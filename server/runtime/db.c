/*
 * db.c — asynchronous PostgreSQL pool (see db.h).
 *
 * Each connection is a small state machine (DOWN → CONNECTING → IDLE ⇄ BUSY)
 * driven by an h2o socket over a dup() of PQsocket().  The socket is created
 * with H2O_SOCKET_FLAG_DONT_READ so h2o only reports readiness and libpq does
 * all the reading.  A transaction is one libpq pipeline:
 *
 *   [PREPARE s_i]* SET tenant; EXECUTE s_1 .. s_n; SYNC
 *
 * Prepares are pipelined in front of the first use of a statement on that
 * connection.  Results arrive per command followed by a NULL; the SYNC result
 * ends the transaction.  The first server error aborts the rest of the
 * pipeline and rolls the implicit transaction back.
 */
#include "runtime/db.h"
#include "runtime/log.h"
#include "runtime/metrics.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_CMDS       (2 + 3 * OC_DB_MAX_STEPS) /* tenant, timeout; per step: prepare, tenant, execute */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef struct job {
    struct job *next;
    oc_db_cb cb;
    void *arg;
    int nsteps;
    const char *tenant;
    const char *step_tenant[OC_DB_MAX_STEPS];
    const oc_db_stmt_t *stmts[OC_DB_MAX_STEPS];
    const char **params[OC_DB_MAX_STEPS];
    uint64_t enqueued_us;
    int timeout_ms;
    char timeout_s[16];
    void (*on_step)(void *arg, int step);
} job_t;

enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };
enum cmd_kind { CMD_PREPARE, CMD_TENANT, CMD_TIMEOUT, CMD_STEP };

typedef struct conn {
    oc_db_pool_t *pool;
    PGconn *pg;
    h2o_socket_t *sock;
    int sock_fd; /* the PQsocket() value `sock` watches */
    enum conn_state state;
    int write_armed, flushing;
    oc_timer_t timer; /* query deadline while BUSY, backoff while DOWN */
    int backoff_ms;
    job_t *job;
    int ncmds, cmd_idx, cmd_has_result;
    struct {
        enum cmd_kind kind;
        int arg; /* statement index for PREPARE, step index for STEP */
    } cmds[MAX_CMDS];
    PGresult *results[OC_DB_MAX_STEPS];
    int failed;
    char sqlstate[6];
    char *errmsg;
    char *errdetail;
    unsigned char *prepared; /* bitmap by statement index */
    size_t prepared_len;
} conn_t;

struct oc_db_pool {
    oc_loop_t *loop;
    char *conninfo;
    char options[64];
    int size, queue_max, timeout_ms;
    conn_t *conns;
    job_t *queue_head, **queue_tail;
    int queued, connected, busy;
    int failures; /* consecutive failed connection attempts, pool-wide */
    oc_db_pool_stats_t stats;
    int destroying;
};

static _Atomic int next_stmt_index;

static oc_metric_t m_conns = {"onecount_db_pool_connections", "PostgreSQL pool connections that are up.", NULL,
                              OC_METRIC_GAUGE};
static oc_metric_t m_size = {"onecount_db_pool_size", "PostgreSQL pool connections configured.", NULL, OC_METRIC_GAUGE};
static oc_metric_t m_busy = {"onecount_db_pool_busy", "PostgreSQL pool connections running a transaction.", NULL,
                             OC_METRIC_GAUGE};
static oc_metric_t m_queued = {"onecount_db_pool_queued", "Transactions waiting for a PostgreSQL connection.", NULL,
                               OC_METRIC_GAUGE};
static oc_metric_t m_waits = {"onecount_db_pool_waits_total", "Transactions that had to wait for a connection.", NULL,
                              OC_METRIC_COUNTER};
static oc_metric_t m_wait_us = {"onecount_db_pool_wait_microseconds_total",
                                "Time transactions spent waiting for a connection.", NULL, OC_METRIC_COUNTER};
#define TX(r) OC_RESULT_COUNTER("onecount_db_transactions_total", "PostgreSQL transactions by result.", r)
static oc_metric_t m_tx_ok = TX("ok"), m_tx_err = TX("error"), m_tx_timeout = TX("timeout"),
                   m_tx_lost = TX("connection_lost");
#undef TX
static oc_metric_t m_reconnects = {"onecount_db_reconnects_total", "PostgreSQL connection attempts after a failure.",
                                   NULL, OC_METRIC_COUNTER};

void oc_db_metrics_init(void)
{
    oc_metric_t *all[] = {&m_conns, &m_size,   &m_busy,       &m_queued,  &m_waits,     &m_wait_us,
                          &m_tx_ok, &m_tx_err, &m_tx_timeout, &m_tx_lost, &m_reconnects};
    for (size_t i = 0; i < OC_ARRAY_SIZE(all); i++)
        oc_metrics_register(all[i]);
}

static int stmt_index(const oc_db_stmt_t *cst)
{
    oc_db_stmt_t *st = (oc_db_stmt_t *)cst;
    int idx = atomic_load(&st->index);
    if (idx == 0) {
        int fresh = atomic_fetch_add(&next_stmt_index, 1) + 1, expected = 0;
        if (atomic_compare_exchange_strong(&st->index, &expected, fresh))
            idx = fresh;
        else
            idx = expected;
    }
    return idx;
}

static int is_prepared(conn_t *c, int idx)
{
    return (size_t)(idx / 8) < c->prepared_len && (c->prepared[idx / 8] & (1u << (idx % 8)));
}

static void set_prepared(conn_t *c, int idx, int on)
{
    if ((size_t)(idx / 8) >= c->prepared_len) {
        size_t len = (size_t)(idx / 8) + 16;
        unsigned char *p = oc_realloc(c->prepared, len);
        memset(p + c->prepared_len, 0, len - c->prepared_len);
        c->prepared = p;
        c->prepared_len = len;
    }
    if (on)
        c->prepared[idx / 8] |= (unsigned char)(1u << (idx % 8));
    else
        c->prepared[idx / 8] &= (unsigned char)~(1u << (idx % 8));
}

static void conn_connect(conn_t *c);
static void conn_dispatch(oc_db_pool_t *pool);
static void on_readable(h2o_socket_t *sock, const char *err);

/* --- completing jobs --------------------------------------------------- */

static void finish_job(job_t *job, const oc_db_result_t *res)
{
    if (job->cb != NULL)
        job->cb(job->arg, res);
    free(job);
}

static void fail_job(job_t *job, int code, const char *err)
{
    oc_db_result_t res = {.err = err, .code = code};
    finish_job(job, &res);
}

static void fail_queue(oc_db_pool_t *pool, const char *why)
{
    while (pool->queue_head != NULL) {
        job_t *job = pool->queue_head;
        pool->queue_head = job->next;
        pool->queued--;
        oc_metric_add(&m_queued, -1);
        fail_job(job, OC_EUNAVAIL, why);
    }
    pool->queue_tail = &pool->queue_head;
}

static void clear_results(conn_t *c)
{
    for (int i = 0; i < OC_DB_MAX_STEPS; i++) {
        PQclear(c->results[i]);
        c->results[i] = NULL;
    }
    free(c->errmsg);
    c->errmsg = NULL;
    free(c->errdetail);
    c->errdetail = NULL;
    c->failed = 0;
    c->sqlstate[0] = '\0';
}

/* --- connection lifecycle ---------------------------------------------- */

static void close_socket(conn_t *c)
{
    if (c->sock != NULL) {
        h2o_socket_close(c->sock);
        c->sock = NULL;
    }
    c->sock_fd = -1;
    c->write_armed = 0;
}

static void set_state(conn_t *c, enum conn_state s)
{
    oc_db_pool_t *pool = c->pool;
    int was_up = c->state == C_IDLE || c->state == C_BUSY, up = s == C_IDLE || s == C_BUSY;
    if (was_up != up) {
        pool->connected += up ? 1 : -1;
        oc_metric_add(&m_conns, up ? 1 : -1);
    }
    if ((c->state == C_BUSY) != (s == C_BUSY)) {
        pool->busy += s == C_BUSY ? 1 : -1;
        oc_metric_add(&m_busy, s == C_BUSY ? 1 : -1);
    }
    c->state = s;
}

static void on_backoff(oc_timer_t *t)
{
    conn_t *c = t->data;
    oc_metric_add(&m_reconnects, 1);
    c->pool->stats.reconnects_total++;
    conn_connect(c);
}

/* Tears the connection down; fails its job with `code`; schedules a reconnect after `delay_ms`. */
static void conn_reset(conn_t *c, int code, const char *why, int delay_ms)
{
    oc_db_pool_t *pool = c->pool;
    oc_timer_stop(pool->loop, &c->timer);
    close_socket(c);
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    if (c->prepared != NULL)
        memset(c->prepared, 0, c->prepared_len);
    job_t *job = c->job;
    c->job = NULL;
    clear_results(c);
    set_state(c, C_DOWN);
    if (job != NULL) {
        oc_metric_add(code == OC_ETIMEDOUT ? &m_tx_timeout : &m_tx_lost, 1);
        fail_job(job, code, why);
    }
    if (pool->connected == 0)
        fail_queue(pool, "database unavailable");
    if (!pool->destroying)
        oc_timer_start(pool->loop, &c->timer, (uint64_t)delay_ms);
}

static void conn_failed(conn_t *c, const char *what)
{
    oc_db_pool_t *pool = c->pool;
    pool->failures++;
    if (pool->failures == 1 || oc_log_enabled(OC_LOG_DEBUG)) {
        char msg[512];
        const char *pgerr = c->pg != NULL ? PQerrorMessage(c->pg) : "";
        snprintf(msg, sizeof(msg), "%s", pgerr);
        for (char *p = msg; *p; p++)
            if (*p == '\n')
                *p = ' ';
        oc_log_fields(OC_LOG_WARN, what, json_pack("{s:s}", "detail", msg));
    }
    c->backoff_ms = c->backoff_ms == 0 ? BACKOFF_MIN_MS : c->backoff_ms * 2;
    if (c->backoff_ms > BACKOFF_MAX_MS)
        c->backoff_ms = BACKOFF_MAX_MS;
    int jitter = (int)(randombytes_uniform((unsigned)c->backoff_ms / 4 + 1));
    conn_reset(c, OC_EUNAVAIL, "database connection lost", c->backoff_ms + jitter);
}

static void watch_socket(conn_t *c)
{
    int fd = PQsocket(c->pg);
    if (c->sock != NULL && c->sock_fd == fd)
        return;
    close_socket(c);
    int dupfd = dup(fd);
    if (dupfd < 0)
        return;
    c->sock = h2o_evloop_socket_create(oc_loop_h2o(c->pool->loop), dupfd, H2O_SOCKET_FLAG_DONT_READ);
    c->sock->data = c;
    c->sock_fd = fd;
}

static void on_writable(h2o_socket_t *sock, const char *err);

static void arm_write(conn_t *c)
{
    if (!c->write_armed && c->sock != NULL) {
        c->write_armed = 1;
        h2o_socket_notify_write(c->sock, on_writable);
    }
}

static void connect_poll(conn_t *c)
{
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    if (st == PGRES_POLLING_FAILED) {
        conn_failed(c, "database connection failed");
        return;
    }
    watch_socket(c);
    if (c->sock == NULL) {
        conn_failed(c, "database socket unavailable");
        return;
    }
    switch (st) {
    case PGRES_POLLING_READING: h2o_socket_read_start(c->sock, on_readable); break;
    case PGRES_POLLING_WRITING: arm_write(c); break;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
            conn_failed(c, "database connection setup failed");
            return;
        }
        if (c->pool->failures > 0)
            oc_log_info("database connection restored");
        c->pool->failures = 0;
        c->backoff_ms = 0;
        set_state(c, C_IDLE);
        h2o_socket_read_start(c->sock, on_readable);
        conn_dispatch(c->pool);
        break;
    default: break;
    }
}

static void conn_connect(conn_t *c)
{
    oc_db_pool_t *pool = c->pool;
    const char *keys[] = {"dbname", "options", "application_name", "connect_timeout", NULL};
    const char *vals[] = {pool->conninfo, pool->options, "onecount", "5", NULL};
    c->pg = PQconnectStartParams(keys, vals, 1);
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_failed(c, "database connection failed");
        return;
    }
    set_state(c, C_CONNECTING);
    /* The connection timer doubles as the connect deadline. */
    oc_timer_start(pool->loop, &c->timer, (uint64_t)pool->timeout_ms + 5000);
    watch_socket(c);
    if (c->sock == NULL) {
        conn_failed(c, "database socket unavailable");
        return;
    }
    arm_write(c); /* libpq: behave as if PQconnectPoll had returned WRITING */
}

static void on_timer(oc_timer_t *t)
{
    conn_t *c = t->data;
    switch (c->state) {
    case C_DOWN: on_backoff(t); break;
    case C_CONNECTING: conn_failed(c, "database connection timed out"); break;
    case C_BUSY:
        c->pool->stats.timeouts_total++;
        oc_log_warn("database round trip exceeded %d ms; resetting the connection", c->pool->timeout_ms);
        conn_reset(c, OC_ETIMEDOUT, "database timeout", 0);
        break;
    case C_IDLE: break;
    }
}

/* --- running a transaction --------------------------------------------- */

static int send_job(conn_t *c, job_t *job)
{
    PGconn *pg = c->pg;
    c->ncmds = 0;
    c->cmd_idx = 0;
    c->cmd_has_result = 0;
    clear_results(c);
    for (int i = 0; i < job->nsteps; i++) {
        int idx = stmt_index(job->stmts[i]);
        if (!is_prepared(c, idx)) {
            if (!PQsendPrepare(pg, job->stmts[i]->name, job->stmts[i]->sql, job->stmts[i]->nparams, NULL))
                return -1;
            set_prepared(c, idx, 1);
            c->cmds[c->ncmds].kind = CMD_PREPARE;
            c->cmds[c->ncmds++].arg = idx;
        }
    }
    if (job->tenant != NULL) {
        const char *p[1] = {job->tenant};
        if (!PQsendQueryParams(pg, "SELECT set_config('app.tenant_id', $1, true)", 1, NULL, p, NULL, NULL, 0))
            return -1;
        c->cmds[c->ncmds].kind = CMD_TENANT;
        c->cmds[c->ncmds++].arg = -1;
    }
    if (job->timeout_ms > 0) {
        const char *p[1] = {job->timeout_s};
        if (!PQsendQueryParams(pg, "SELECT set_config('statement_timeout', $1, true)", 1, NULL, p, NULL, NULL, 0))
            return -1;
        c->cmds[c->ncmds].kind = CMD_TIMEOUT;
        c->cmds[c->ncmds++].arg = -1;
    }
    for (int i = 0; i < job->nsteps; i++) {
        const oc_db_stmt_t *st = job->stmts[i];
        if (job->step_tenant[i] != NULL) {
            const char *p[1] = {job->step_tenant[i]};
            if (!PQsendQueryParams(pg, "SELECT set_config('app.tenant_id', $1, true)", 1, NULL, p, NULL, NULL, 0))
                return -1;
            c->cmds[c->ncmds].kind = CMD_TENANT;
            c->cmds[c->ncmds++].arg = -1;
        }
        if (!PQsendQueryPrepared(pg, st->name, st->nparams, job->params[i], NULL, NULL, 0))
            return -1;
        /* Progress: ask the server to send this step's result when it is done, not at the sync. */
        if (job->on_step != NULL && !PQsendFlushRequest(pg))
            return -1;
        c->cmds[c->ncmds].kind = CMD_STEP;
        c->cmds[c->ncmds++].arg = i;
    }
    if (!PQpipelineSync(pg))
        return -1;
    int f = PQflush(pg);
    if (f < 0)
        return -1;
    c->flushing = f == 1;
    if (c->flushing)
        arm_write(c);
    return 0;
}

static void start_job(conn_t *c, job_t *job)
{
    oc_db_pool_t *pool = c->pool;
    c->job = job;
    set_state(c, C_BUSY);
    oc_timer_start(pool->loop, &c->timer, (uint64_t)(job->timeout_ms > 0 ? job->timeout_ms : pool->timeout_ms));
    if (send_job(c, job) != 0)
        conn_failed(c, "database send failed");
}

static void conn_dispatch(oc_db_pool_t *pool)
{
    for (int i = 0; i < pool->size && pool->queue_head != NULL; i++) {
        conn_t *c = &pool->conns[i];
        if (c->state != C_IDLE)
            continue;
        job_t *job = pool->queue_head;
        pool->queue_head = job->next;
        if (pool->queue_head == NULL)
            pool->queue_tail = &pool->queue_head;
        pool->queued--;
        oc_metric_add(&m_queued, -1);
        uint64_t waited = oc_mono_us() - job->enqueued_us;
        pool->stats.wait_us_total += waited;
        oc_metric_add(&m_wait_us, (int64_t)waited);
        start_job(c, job);
    }
}

static void record_result(conn_t *c, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    int k = c->cmd_idx < c->ncmds ? c->cmd_idx : c->ncmds - 1;
    if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED || st == PGRES_NONFATAL_ERROR) {
        if (c->cmds[k].kind == CMD_PREPARE)
            set_prepared(c, c->cmds[k].arg, 0);
        if (st == PGRES_FATAL_ERROR && !c->failed) {
            c->failed = 1;
            const char *ss = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            oc_strlcpy(c->sqlstate, ss ? ss : "", ss ? strlen(ss) : 0, sizeof(c->sqlstate));
            const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
            c->errmsg = oc_strdup(msg ? msg : "database error");
            const char *det = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
            c->errdetail = det != NULL ? oc_strdup(det) : NULL;
        } else if (st == PGRES_PIPELINE_ABORTED && !c->failed) {
            c->failed = 1;
            c->errmsg = oc_strdup("transaction aborted");
        }
        PQclear(r);
        return;
    }
    if (c->cmds[k].kind == CMD_STEP && c->results[c->cmds[k].arg] == NULL) {
        c->results[c->cmds[k].arg] = r;
        if (c->job->on_step != NULL && !c->failed)
            c->job->on_step(c->job->arg, c->cmds[k].arg);
    } else {
        PQclear(r);
    }
}

static void complete(conn_t *c)
{
    oc_db_pool_t *pool = c->pool;
    job_t *job = c->job;
    c->job = NULL;
    oc_timer_stop(pool->loop, &c->timer);
    set_state(c, C_IDLE);

    /* Move the outcome off the connection: the callback may start the next
     * transaction on this very connection. */
    PGresult *results[OC_DB_MAX_STEPS];
    memcpy(results, c->results, sizeof(results));
    memset(c->results, 0, sizeof(c->results));
    char *errmsg = c->errmsg, *errdetail = c->errdetail;
    c->errmsg = NULL;
    c->errdetail = NULL;
    oc_db_result_t res = {0};
    if (c->failed) {
        res.err = "database error";
        res.code = OC_EIO;
        memcpy(res.sqlstate, c->sqlstate, sizeof(res.sqlstate));
        res.detail = errmsg;
        res.extra = errdetail;
        /* 23xxx integrity violations and 40001/40P01 are conflicts the caller may map to 409;
         * 57P (shutdown) and 08 (connection) are outages, but 08P01 is a protocol error: a bug. */
        if (strncmp(c->sqlstate, "23", 2) == 0 || strcmp(c->sqlstate, "40001") == 0 ||
            strcmp(c->sqlstate, "40P01") == 0)
            res.code = OC_ECONFLICT;
        if (strcmp(c->sqlstate, "57014") == 0)
            res.code = OC_ETIMEDOUT;
        if (strncmp(c->sqlstate, "57P", 3) == 0 || (strncmp(c->sqlstate, "08", 2) == 0 && strcmp(c->sqlstate, "08P01")))
            res.code = OC_EUNAVAIL;
        oc_metric_add(&m_tx_err, 1);
    } else {
        oc_metric_add(&m_tx_ok, 1);
    }
    c->failed = 0;
    c->sqlstate[0] = '\0';
    res.nresults = job->nsteps;
    res.results = results;
    finish_job(job, &res);
    for (int i = 0; i < OC_DB_MAX_STEPS; i++)
        PQclear(results[i]);
    free(errmsg);
    free(errdetail);
    if (c->state == C_IDLE)
        conn_dispatch(pool);
}

static void drain(conn_t *c)
{
    while (c->state == C_BUSY && !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (r == NULL) {
            if (c->cmd_has_result) {
                c->cmd_idx++;
                c->cmd_has_result = 0;
                continue;
            }
            break;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            complete(c);
            return;
        }
        c->cmd_has_result = 1;
        record_result(c, r);
    }
}

/* Sends what libpq still holds: 0 when all is sent, 1 when more waits for the socket, -1 when the
 * connection failed (then it is failed and must not be touched). */
static int flush_some(conn_t *c)
{
    int f = PQflush(c->pg);
    if (f < 0) {
        conn_failed(c, "database send failed");
        return -1;
    }
    c->flushing = f == 1;
    return f;
}

static void on_readable(h2o_socket_t *sock, const char *err)
{
    conn_t *c = sock->data;
    if (c->state == C_CONNECTING) {
        h2o_socket_read_stop(sock);
        connect_poll(c);
        return;
    }
    if (err != NULL || !PQconsumeInput(c->pg)) {
        conn_failed(c, "database connection lost");
        return;
    }
    if (c->flushing && flush_some(c) < 0)
        return;
    PGnotify *n;
    while ((n = PQnotifies(c->pg)) != NULL)
        PQfreemem(n);
    if (c->state == C_BUSY)
        drain(c);
    else if (PQstatus(c->pg) == CONNECTION_BAD)
        conn_failed(c, "database connection lost");
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    conn_t *c = sock->data;
    c->write_armed = 0;
    if (err != NULL) {
        conn_failed(c, "database connection lost");
        return;
    }
    if (c->state == C_CONNECTING) {
        connect_poll(c);
        return;
    }
    if (c->flushing && flush_some(c) == 1)
        arm_write(c);
}

/* --- public API ---------------------------------------------------------- */

oc_db_pool_t *oc_db_pool_create(oc_loop_t *loop, const char *conninfo, int size, int queue_max, int timeout_ms)
{
    oc_db_pool_t *pool = oc_calloc(1, sizeof(*pool));
    pool->loop = loop;
    pool->conninfo = oc_strdup(conninfo);
    snprintf(pool->options, sizeof(pool->options), "-c statement_timeout=%d", timeout_ms);
    pool->size = size;
    pool->queue_max = queue_max;
    pool->timeout_ms = timeout_ms;
    pool->queue_tail = &pool->queue_head;
    pool->conns = oc_calloc((size_t)size, sizeof(conn_t));
    pool->stats.size = size;
    oc_metric_add(&m_size, size);
    for (int i = 0; i < size; i++) {
        conn_t *c = &pool->conns[i];
        c->pool = pool;
        c->sock_fd = -1;
        oc_timer_init(&c->timer, on_timer, c);
        conn_connect(c);
    }
    return pool;
}

void oc_db_pool_destroy(oc_db_pool_t *pool)
{
    if (pool == NULL)
        return;
    pool->destroying = 1;
    for (int i = 0; i < pool->size; i++) {
        conn_t *c = &pool->conns[i];
        if (c->state != C_DOWN || c->pg != NULL)
            conn_reset(c, OC_EUNAVAIL, "database pool closed", 0);
        oc_timer_stop(pool->loop, &c->timer);
        free(c->prepared);
    }
    fail_queue(pool, "database pool closed");
    oc_metric_add(&m_size, -pool->size);
    free(pool->conns);
    free(pool->conninfo);
    free(pool);
}

int oc_db_pool_ready(const oc_db_pool_t *pool)
{
    return pool->connected > 0;
}

void oc_db_pool_stats(const oc_db_pool_t *pool, oc_db_pool_stats_t *out)
{
    *out = pool->stats;
    out->connected = pool->connected;
    out->busy = pool->busy;
    out->queued = pool->queued;
}

int oc_db_run(oc_db_pool_t *pool, const oc_db_tx_t *tx, oc_db_cb cb, void *arg)
{
    if (tx->nsteps < 1 || tx->nsteps > OC_DB_MAX_STEPS)
        return OC_EINVAL;
    if (pool->connected == 0) {
        /* Queue only while the very first connections are still coming up. */
        int connecting = 0;
        for (int i = 0; i < pool->size; i++)
            connecting |= pool->conns[i].state == C_CONNECTING;
        if (!connecting || pool->failures > 0)
            return OC_EUNAVAIL;
    }
    if (pool->queued >= pool->queue_max)
        return OC_EBUSY;

    /* One allocation: the job, the parameter pointer arrays, then the strings. */
    size_t nptr = 0, nbytes = tx->tenant != NULL ? strlen(tx->tenant) + 1 : 0;
    for (int i = 0; i < tx->nsteps; i++) {
        const oc_db_stmt_t *st = tx->steps[i].stmt;
        if (tx->steps[i].tenant != NULL)
            nbytes += strlen(tx->steps[i].tenant) + 1;
        if (st == NULL || st->nparams < 0 || st->nparams > OC_DB_MAX_PARAMS)
            return OC_EINVAL;
        nptr += (size_t)st->nparams;
        for (int p = 0; p < st->nparams; p++)
            if (tx->steps[i].params[p] != NULL)
                nbytes += strlen(tx->steps[i].params[p]) + 1;
    }
    job_t *job = oc_malloc(sizeof(*job) + nptr * sizeof(char *) + nbytes);
    const char **ptrs = (const char **)(job + 1);
    char *str = (char *)(ptrs + nptr);
    job->next = NULL;
    job->cb = cb;
    job->arg = arg;
    job->nsteps = tx->nsteps;
    job->tenant = NULL;
    if (tx->tenant != NULL) {
        size_t l = strlen(tx->tenant) + 1;
        memcpy(str, tx->tenant, l);
        job->tenant = str;
        str += l;
    }
    for (int i = 0; i < tx->nsteps; i++) {
        const oc_db_stmt_t *st = tx->steps[i].stmt;
        job->stmts[i] = st;
        job->step_tenant[i] = NULL;
        if (tx->steps[i].tenant != NULL) {
            size_t l = strlen(tx->steps[i].tenant) + 1;
            memcpy(str, tx->steps[i].tenant, l);
            job->step_tenant[i] = str;
            str += l;
        }
        job->params[i] = ptrs;
        for (int p = 0; p < st->nparams; p++) {
            const char *v = tx->steps[i].params[p];
            if (v == NULL) {
                *ptrs++ = NULL;
            } else {
                size_t l = strlen(v) + 1;
                memcpy(str, v, l);
                *ptrs++ = str;
                str += l;
            }
        }
    }
    job->timeout_ms = tx->timeout_ms;
    snprintf(job->timeout_s, sizeof(job->timeout_s), "%d", tx->timeout_ms);
    job->on_step = tx->on_step;
    job->enqueued_us = oc_mono_us();
    for (int i = 0; i < pool->size; i++) {
        if (pool->conns[i].state == C_IDLE) {
            start_job(&pool->conns[i], job);
            return 0;
        }
    }
    pool->stats.waits_total++;
    oc_metric_add(&m_waits, 1);
    *pool->queue_tail = job;
    pool->queue_tail = &job->next;
    pool->queued++;
    oc_metric_add(&m_queued, 1);
    return 0;
}

int oc_db_exec(oc_db_pool_t *pool, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params, oc_db_cb cb,
               void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant, .nsteps = 1};
    tx.steps[0].stmt = stmt;
    for (int i = 0; i < stmt->nparams && i < OC_DB_MAX_PARAMS; i++)
        tx.steps[0].params[i] = params[i];
    return oc_db_run(pool, &tx, cb, arg);
}

const char *oc_db_get(const PGresult *r, int row, int col)
{
    if (r == NULL || row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col))
        return NULL;
    return PQgetvalue(r, row, col);
}

long long oc_db_get_ll(const PGresult *r, int row, int col, long long dflt)
{
    const char *v = oc_db_get(r, row, col);
    return v != NULL ? strtoll(v, NULL, 10) : dflt;
}

json_t *oc_db_json(const PGresult *r, int row, int col)
{
    const char *v = oc_db_get(r, row, col);
    return v != NULL ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
}

json_t *oc_db_json_rows(const PGresult *r, int col)
{
    json_t *arr = json_array();
    int n = r != NULL ? PQntuples(r) : 0;
    for (int i = 0; i < n; i++) {
        json_t *v = oc_db_json(r, i, col);
        json_array_append_new(arr, v != NULL ? v : json_null());
    }
    return arr;
}

/* Weak: a program that links no statement (a runtime unit test) has no such section. */
extern oc_db_stmt_t *const __start_oc_db_stmts[] __attribute__((weak));
extern oc_db_stmt_t *const __stop_oc_db_stmts[] __attribute__((weak));

oc_db_stmt_t *const *oc_db_all_statements(size_t *n)
{
    *n = __start_oc_db_stmts != NULL ? (size_t)(__stop_oc_db_stmts - __start_oc_db_stmts) : 0;
    return __start_oc_db_stmts;
}

int oc_db_count_params(const char *sql)
{
    int max = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
            int v = (int)strtol(p + 1, NULL, 10);
            if (v > max)
                max = v;
        }
    }
    return max;
}

/* --- array parameters ------------------------------------------------------ */

int oc_db_array_add_n(oc_buf_t *b, const char *v, size_t len)
{
    int rc = oc_buf_append(b, b->len == 0 ? "{" : ",", 1);
    if (v == NULL)
        return rc | oc_buf_append(b, "NULL", 4);
    rc |= oc_buf_append(b, "\"", 1);
    for (size_t i = 0, run = 0; i <= len; i++) {
        if (i == len || v[i] == '"' || v[i] == '\\') {
            rc |= oc_buf_append(b, v + run, i - run);
            if (i < len)
                rc |= oc_buf_append(b, "\\", 1);
            run = i;
        }
    }
    rc |= oc_buf_append(b, "\"", 1);
    return rc != 0 ? OC_ENOMEM : 0;
}

int oc_db_array_add(oc_buf_t *b, const char *v)
{
    return oc_db_array_add_n(b, v, v != NULL ? strlen(v) : 0);
}

int oc_db_array_add_ll(oc_buf_t *b, long long v)
{
    return oc_buf_printf(b, "%s%lld", b->len == 0 ? "{" : ",", v) != 0 ? OC_ENOMEM : 0;
}

const char *oc_db_array_end(oc_buf_t *b)
{
    int rc = b->len == 0 ? oc_buf_append(b, "{}", 2) : oc_buf_append(b, "}", 1);
    return rc == 0 ? oc_buf_cstr(b) : NULL;
}
