/*
 * worker.c — the sync worker (see worker.h).
 *
 * Everything runs on one loop thread.  Brands are `tnode_t`s in a small
 * hash table; each has three "wants" (push, events, routines) and sits on
 * the matching run queue while it wants one.  pump() starts work from the
 * queues within the global limits.  Connections are cached as
 * `centry_t`s with their credentials opened (the adapters keep tokens and
 * rate-limit buckets in them); an edit of the connection (oc_conn) or an
 * authentication failure drops the entry so the next use reloads it.
 */
#include "adapters/sync/worker.h"
#include "adapters/adapter.h"
#include "adapters/chttp.h"
#include "runtime/config.h"
#include "runtime/db.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/metrics.h"
#include "runtime/opslisten.h"
#include "runtime/pglisten.h"
#include "adapters/sync/conn.h"
#include "tenants/channels.h"
#include "tenants/holds.h"
#include "tenants/vault.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TBUCKETS       1024
#define CBUCKETS       1024
#define W_PUSH         1
#define W_EVENTS       2
#define W_ROUTINES     4
#define CLAIMS_MAX     8 /* push claims in flight */
#define EVENTS_MAX     2 /* events batches in flight */
#define ROUTINE_CLAIMS 2 /* routine claims in flight */
#define EVENTS_BATCH   200
#define ORDERS_PER_TX  24 /* ingest_order steps per transaction */
#define PAGES_PER_RUN  20 /* then the routine runs again at once */
#define READ_BACK_MAX  1000
#define READ_CHUNK     50
#define CIRCUIT_FAILS  5
#define CIRCUIT_MIN_MS 5000
#define CIRCUIT_MAX_MS 600000
#define CONN_IDLE_MS   300000
#define QUIET_MAX_MS   60000 /* a brand the claim put to sleep is looked at by the scan again after this */

/* --- state ----------------------------------------------------------------- */

typedef struct tnode {
    char id[37];
    struct tnode *hnext;
    unsigned want;
    unsigned queued;  /* W_* bits: on that queue */
    unsigned running; /* W_* bits: a claim/batch of that kind in flight */
    int leased;       /* push batches and routine runs holding leases in this brand */
    h2o_linklist_t q[3];
    oc_timer_t due; /* the next listing left behind becomes claimable then (push_claim's wait_ms, circuits) */
    /* The last claim took everything it could and armed `due` (or nothing waits): until a notification, a
     * result or `due` says otherwise, the periodic scan does not wake this brand's pushes again. */
    int quiet;
    uint64_t quiet_ms;
    int64_t circuit_wait_ms; /* set by push_claim: until the first open circuit it skipped half-opens, or -1 */
} tnode_t;

typedef struct centry centry_t;

typedef struct waiter {
    h2o_linklist_t link;
    void (*cb)(void *arg, centry_t *ce, const char *err);
    void *arg;
} waiter_t;

struct centry {
    char tenant[37], id[37];
    struct centry *hnext;
    oc_channel_conn_t *conn; /* NULL until loaded */
    const oc_adapter_t *ad;
    int loading;
    int stale; /* reload once idle */
    h2o_linklist_t waiters;
    int refs; /* operations using conn */
    uint64_t last_used_ms;
    int pushing;
    json_t *identity; /* the account the channel named, while it is being recorded */
    /* circuit breaker */
    enum { CIRCUIT_CLOSED, CIRCUIT_OPEN, CIRCUIT_HALF } circuit;
    int fails;
    uint64_t open_until_ms, open_ms;
};

static struct {
    oc_loop_t *loop;
    oc_db_pool_t *db;
    oc_chttp_t *http;
    oc_pglisten_t *listen;
    oc_opslisten_t *ops; /* /healthz, /readyz, /metrics */
    oc_redis_t *redis;   /* the hold gate, told of the balances ingestion changes */
    char owner[80];
    char lease[16]; /* worker_lease_seconds, as a parameter */
    oc_timer_t renew_timer;
    tnode_t *tenants[TBUCKETS];
    centry_t *conns[CBUCKETS];
    h2o_linklist_t queue[3]; /* push, events, routines */
    int claims, events, routine_claims, routines, pushes;
    oc_timer_t pump_timer, scan_timer;
    int scanning;
    uint64_t last_scan_ms; /* the last scan transaction that answered */
    volatile sig_atomic_t stop;
} W;

static oc_metric_t m_pushed = {"onecount_worker_listings_pushed_total", "listings pushed and acknowledged",
                               "result=\"ok\"", OC_METRIC_COUNTER};
static oc_metric_t m_push_failed = {"onecount_worker_listings_pushed_total", "listings pushed and acknowledged",
                                    "result=\"error\"", OC_METRIC_COUNTER};
static oc_metric_t m_push_stale = {"onecount_worker_listings_pushed_total", "listings pushed and acknowledged",
                                   "result=\"stale\"", OC_METRIC_COUNTER};
static oc_metric_t m_orders = {"onecount_worker_orders_ingested_total", "channel orders ingested", NULL,
                               OC_METRIC_COUNTER};
static oc_metric_t m_routines = {"onecount_worker_routines_total", "routine runs", NULL, OC_METRIC_COUNTER};
static oc_metric_t m_claims = {"onecount_worker_push_claims_total", "push claims sent (one brand each)", NULL,
                               OC_METRIC_COUNTER};
static oc_metric_t m_scans = {"onecount_worker_scans_total", "scan transactions (one per 400 brands)", NULL,
                              OC_METRIC_COUNTER};

static void pump_soon(void);
static void want(const char *tenant, unsigned bits);

static unsigned hash(const char *a, const char *b)
{
    unsigned h = 2166136261u;
    for (const char *p = a; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = b != NULL ? b : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static void tenant_want(tnode_t *t, unsigned bits);

static void on_due(oc_timer_t *timer)
{
    tenant_want(timer->data, W_PUSH);
}

static tnode_t *tenant_get(const char *id)
{
    if (strlen(id) != 36)
        return NULL;
    unsigned b = hash(id, NULL) % TBUCKETS;
    for (tnode_t *t = W.tenants[b]; t != NULL; t = t->hnext)
        if (strcmp(t->id, id) == 0)
            return t;
    tnode_t *t = calloc(1, sizeof(*t));
    memcpy(t->id, id, 37);
    oc_timer_init(&t->due, on_due, t);
    t->hnext = W.tenants[b];
    W.tenants[b] = t;
    return t;
}

static int kind_index(unsigned bit)
{
    return bit == W_PUSH ? 0 : bit == W_EVENTS ? 1 : 2;
}

/* Marks `t` as wanting `bits`; queues it for each kind not already queued or running. */
static void tenant_want(tnode_t *t, unsigned bits)
{
    if (bits & W_PUSH)
        t->quiet = 0;
    t->want |= bits;
    for (unsigned bit = 1; bit <= W_ROUTINES; bit <<= 1) {
        if (!(t->want & bit) || (t->queued & bit) || (t->running & bit))
            continue;
        t->queued |= bit;
        h2o_linklist_insert(&W.queue[kind_index(bit)], &t->q[kind_index(bit)]);
    }
    pump_soon();
}

static void want(const char *tenant, unsigned bits)
{
    tnode_t *t = tenant_get(tenant);
    if (t != NULL)
        tenant_want(t, bits);
}

/* A job of kind `bit` for `t` ended: queue it again if more was asked meanwhile. */
static void tenant_done(tnode_t *t, unsigned bit)
{
    t->running &= ~bit;
    if (t->want & bit)
        tenant_want(t, 0);
    pump_soon();
}

/* --- connections ------------------------------------------------------------ */

static centry_t *centry_find(const char *tenant, const char *id, int create)
{
    unsigned b = hash(tenant, id) % CBUCKETS;
    for (centry_t *c = W.conns[b]; c != NULL; c = c->hnext)
        if (strcmp(c->id, id) == 0 && strcmp(c->tenant, tenant) == 0)
            return c;
    if (!create || strlen(tenant) != 36 || strlen(id) != 36)
        return NULL;
    centry_t *c = calloc(1, sizeof(*c));
    memcpy(c->tenant, tenant, 37);
    memcpy(c->id, id, 37);
    h2o_linklist_init_anchor(&c->waiters);
    c->hnext = W.conns[b];
    W.conns[b] = c;
    return c;
}

/* Drops the loaded connection (credentials wiped) when nothing uses it. */
static void centry_unload(centry_t *c)
{
    if (c->refs > 0 || c->loading) {
        c->stale = 1;
        return;
    }
    oc_conn_free(c->conn);
    c->conn = NULL;
    c->ad = NULL;
    c->stale = 0;
}

static void on_secret(oc_channel_conn_t *conn, const char *name, const char *value, void *arg)
{
    (void)arg;
    json_t *old = json_object_get(conn->secrets, name);
    if (json_is_string(old))
        sodium_memzero((char *)json_string_value(old), json_string_length(old));
    json_object_set_new(conn->secrets, name, json_string(value));
    if (oc_channels_store_secrets(W.db, conn->tenant, conn->id, conn->secrets) != 0)
        oc_log_fields(OC_LOG_ERROR, "a rotated credential could not be stored",
                      json_pack("{s:s, s:s}", "tenant", conn->tenant, "connection", conn->id));
}

OC_DB_STMT(w_conn_error, 3, "SELECT alert_open($1, $2::uuid, 'credentials', $3)");

/* Hands the loaded connection (or err) to everything that waited for it. */
static void centry_ready(centry_t *c, const char *err)
{
    c->loading = 0;
    c->last_used_ms = oc_now_ms();
    while (!h2o_linklist_is_empty(&c->waiters)) {
        waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, link, c->waiters.next);
        h2o_linklist_unlink(&w->link);
        w->cb(w->arg, err == NULL && c->conn != NULL ? c : NULL, err == NULL && c->conn != NULL ? NULL : err);
        free(w);
    }
}

/*
 * The duplicate-account guard (tenants/channels.h, migration 0018): a connection whose account the channel
 * has not confirmed yet is asked who it is before its first push or poll.  When another active connection
 * holds that account, channel_account_confirm pauses this one (status_detail, a duplicate_account alert)
 * and nothing of it runs: it would take in every order a second time.  Without an answer nothing runs
 * either; the next use asks again.
 */
static void on_conn_confirmed(void *arg, const char *err, const char *duplicate)
{
    centry_t *c = arg;
    json_t *identity = c->identity;
    c->identity = NULL;
    if (err == NULL && duplicate == NULL && c->conn != NULL) {
        c->conn->account = identity;
        centry_ready(c, NULL);
        return;
    }
    json_decref(identity);
    c->stale = 1; /* dropped when idle: the next use loads it again (paused now, or asked again) */
    char why[300];
    snprintf(why, sizeof(why), "%s%s", duplicate != NULL ? "connection paused: " : "",
             duplicate != NULL ? duplicate
             : err != NULL     ? err
                               : "the connection closed");
    if (duplicate != NULL)
        oc_log_fields(OC_LOG_WARN, "connection paused: its channel account is another connection's",
                      json_pack("{s:s, s:s, s:s}", "tenant", c->tenant, "connection", c->id, "detail", duplicate));
    centry_ready(c, why);
}

static void on_conn_identified(void *arg, const oc_adapter_error_t *e, json_t *identity, json_t *result)
{
    centry_t *c = arg;
    (void)result;
    if (identity == NULL) {
        char why[300];
        snprintf(why, sizeof(why), "the channel did not confirm the connection's account: %s",
                 e != NULL && e->err != NULL ? e->err : "its answer names none");
        c->stale = 1;
        centry_ready(c, why);
        return;
    }
    c->identity = json_incref(identity);
    if (oc_channels_confirm(W.db, c->conn->tenant, c->conn->id, identity, on_conn_confirmed, c) != 0)
        on_conn_confirmed(c, "database unavailable", NULL);
}

static void on_loaded(void *arg, const char *err, const oc_db_result_t *res, oc_channel_conn_t *conn)
{
    (void)res;
    centry_t *c = arg;
    c->loading = 0;
    if (conn != NULL) {
        c->conn = conn;
        c->ad = oc_adapter_by_name(oc_channel_kind_name(conn->kind));
        conn->on_secret = on_secret;
        /* The worker retries on its own schedule (listing backoff, routine
         * retry, the circuit breaker): an adapter call gives up early rather
         * than hold a lease through a long outage.  Settings may say otherwise. */
        if (conn->settings == NULL)
            conn->settings = json_object();
        if (json_object_get(conn->settings, "max_attempts") == NULL)
            json_object_set_new(conn->settings, "max_attempts", json_integer(3));
        if (json_object_get(conn->settings, "deadline_ms") == NULL)
            json_object_set_new(conn->settings, "deadline_ms", json_integer(60000));
        if (c->ad == NULL) {
            oc_conn_free(conn);
            c->conn = NULL;
            err = "no adapter for this channel";
        } else if (conn->account == NULL) {
            c->loading = 1; /* until the channel has said which account this is */
            if (oc_conn_identify(W.http, conn, on_conn_identified, c) != 0) {
                c->stale = 1;
                centry_ready(c, "the channel could not be asked which account the connection is");
            }
            return;
        }
    } else if (err != NULL && strcmp(err, "the credentials do not open") == 0) {
        const char *p[] = {c->tenant, c->id, "the stored credentials do not open with the vault's keys"};
        oc_db_exec(W.db, c->tenant, &w_conn_error, p, NULL, NULL);
    }
    centry_ready(c, err);
}

/* Calls cb with the connection loaded (synchronously when cached). */
static void centry_use(centry_t *c, void (*cb)(void *arg, centry_t *ce, const char *err), void *arg)
{
    if (c->conn != NULL && !c->stale && !c->loading) {
        c->last_used_ms = oc_now_ms();
        cb(arg, c, NULL);
        return;
    }
    if (c->conn != NULL && c->stale)
        centry_unload(c);
    if (c->conn != NULL && !c->loading) { /* still in use: keep using it until idle */
        cb(arg, c, NULL);
        return;
    }
    waiter_t *w = calloc(1, sizeof(*w));
    w->cb = cb;
    w->arg = arg;
    h2o_linklist_insert(&c->waiters, &w->link);
    if (c->loading)
        return;
    c->loading = 1;
    if (oc_conn_load(W.db, c->tenant, c->id, on_loaded, c) != 0)
        on_loaded(c, "database unavailable", NULL, NULL);
}

static int circuit_allows(centry_t *c)
{
    if (c->circuit == CIRCUIT_OPEN && oc_now_ms() >= c->open_until_ms)
        c->circuit = CIRCUIT_HALF;
    return c->circuit != CIRCUIT_OPEN;
}

static const char *circuit_name(const centry_t *c)
{
    return c->circuit == CIRCUIT_OPEN ? "open" : c->circuit == CIRCUIT_HALF ? "half_open" : "closed";
}

/* Updates the breaker after a push batch; returns 1 when it changed state. */
static int circuit_record(centry_t *c, int ok, int failed)
{
    int before = c->circuit;
    if (ok > 0) {
        c->circuit = CIRCUIT_CLOSED;
        c->fails = 0;
        c->open_ms = 0;
    } else if (failed > 0) {
        c->fails++;
        if (c->circuit == CIRCUIT_HALF || c->fails >= CIRCUIT_FAILS) {
            c->open_ms = c->open_ms == 0 ? CIRCUIT_MIN_MS : c->open_ms * 2;
            if (c->open_ms > CIRCUIT_MAX_MS)
                c->open_ms = CIRCUIT_MAX_MS;
            c->circuit = CIRCUIT_OPEN;
            c->open_until_ms = oc_now_ms() + c->open_ms;
        }
    }
    return before != (int)c->circuit;
}

/* --- push ------------------------------------------------------------------- */

OC_DB_STMT(w_push_claim, 6, "SELECT push_claim($1, $2, $3::int, $4::uuid[], $5::int, $6::int)");
OC_DB_STMT(w_push_record, 3, "SELECT push_record($1, $2, $3::jsonb)");
OC_DB_STMT(w_health_record, 9,
           "SELECT connection_health_record($1, $2::uuid, $3::int, $4::int, $5::int, $6::float8, $7, $8, $9::float8)");

typedef struct push_batch {
    tnode_t *t;
    centry_t *ce;
    char cid[37];
    json_t *claimed; /* the claimed rows of this connection */
    json_t *results;
    int pending; /* adapter calls in flight */
    int throttled;
    char error[200];
    uint64_t started_ms;
    /* what batch_record worked out, kept for a retry */
    char s_ok[16], s_failed[16], s_thr[16], s_lat[32], s_visible[32];
    const char *circuit;
    int retries;
} push_batch_t;

typedef struct push_chunk {
    push_batch_t *b;
    size_t from, n;
    uint64_t started_ms;
} push_chunk_t;

static void batch_result(push_batch_t *b, json_t *row, const char *status, json_t *current, const char *error,
                         int retryable, uint64_t latency_ms)
{
    json_t *r =
        json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:s, s:b, s:I}", "listing_id", json_object_get(row, "listing_id"),
                  "connection_id", b->cid, "sku_id", json_object_get(row, "sku_id"), "qty", json_object_get(row, "qty"),
                  "version", json_object_get(row, "version"), "expect", json_object_get(row, "expect"), "status",
                  status, "retryable", retryable, "latency_ms", (json_int_t)latency_ms);
    if (current != NULL && !json_is_null(current))
        json_object_set(r, "current", current);
    json_object_set(r, "desired_at_us", json_object_get(row, "desired_at_us"));
    if (error != NULL)
        json_object_set_new(r, "error", json_string(error));
    json_array_append_new(b->results, r);
}

static void batch_send(push_batch_t *b);

/* Results that could not be recorded: their listings are handed back, to be claimed again in a few seconds
 * (not at once: a failure that repeats would push to the channel in a loop).  Kept leased, renew() would
 * extend them with the brand's other work for as long as the brand stays busy. */
OC_DB_STMT(
    w_release, 3,
    "WITH mine AS (SELECT id FROM listings WHERE tenant_id = $1 AND lease_owner = $2 AND id = ANY ($3::uuid[])"
    "   ORDER BY id FOR UPDATE)"
    " UPDATE listings l SET lease_owner = NULL, lease_until = NULL, next_attempt_at = now() + interval '2 seconds'"
    " FROM mine WHERE l.tenant_id = $1 AND l.id = mine.id");

static void release_claimed(push_batch_t *b)
{
    oc_buf_t ids = {0};
    size_t i;
    json_t *row;
    oc_buf_append(&ids, "{", 1);
    json_array_foreach(b->claimed, i, row)
    {
        const char *id = json_string_value(json_object_get(row, "listing_id"));
        if (id != NULL)
            oc_buf_printf(&ids, "%s%s", ids.len > 1 ? "," : "", id);
    }
    oc_buf_append(&ids, "}", 1);
    const char *p[] = {b->t->id, W.owner, oc_buf_cstr(&ids)};
    oc_db_exec(W.db, b->t->id, &w_release, p, NULL, NULL);
    oc_buf_free(&ids);
}

static void on_recorded(void *arg, const oc_db_result_t *res)
{
    push_batch_t *b = arg;
    if (res->err != NULL && b->retries < 3 &&
        (strcmp(res->sqlstate, "40P01") == 0 || strcmp(res->sqlstate, "40001") == 0)) {
        b->retries++; /* a deadlock or serialization failure: nothing was written, try again */
        batch_send(b);
        return;
    }
    if (res->err != NULL) {
        oc_log_fields(OC_LOG_WARN, "push results not recorded (the listings are pushed again in a few seconds)",
                      json_pack("{s:s, s:s, s:s, s:s}", "tenant", b->t->id, "connection", b->cid, "error", res->err,
                                "detail", res->detail != NULL ? res->detail : ""));
        release_claimed(b);
    }
    b->ce->pushing = 0;
    b->ce->refs--;
    if (b->ce->stale)
        centry_unload(b->ce);
    W.pushes--;
    b->t->leased--;
    tenant_want(b->t, W_PUSH);
    json_decref(b->claimed);
    json_decref(b->results);
    free(b);
}

/* Sends the batch's results (again, after a deadlock or serialization failure). */
static void batch_send(push_batch_t *b)
{
    char *results = json_dumps(b->results, JSON_COMPACT);
    /* The connection's health first, then the listings: the order an order
     * ingestion locks them in (connection, then stock and its listings), so
     * the two never wait for each other in a circle. */
    oc_db_tx_t tx = {.tenant = b->t->id, .nsteps = 2};
    tx.steps[1].stmt = &w_push_record;
    tx.steps[1].params[0] = b->t->id;
    tx.steps[1].params[1] = W.owner;
    tx.steps[1].params[2] = results;
    tx.steps[0].stmt = &w_health_record;
    const char *p[] = {b->t->id,
                       b->cid,
                       b->s_ok,
                       b->s_failed,
                       b->s_thr,
                       b->s_lat[0] ? b->s_lat : NULL,
                       b->error[0] ? b->error : NULL,
                       b->circuit,
                       b->s_visible[0] ? b->s_visible : NULL};
    memcpy(tx.steps[0].params, p, sizeof(p));
    int rc = oc_db_run(W.db, &tx, on_recorded, b);
    free(results);
    if (rc != 0) {
        oc_db_result_t fake = {.err = "database unavailable", .code = rc};
        on_recorded(b, &fake);
    }
}

/* Counts the batch's outcome, moves the circuit breaker, and records. */
static void batch_record(push_batch_t *b)
{
    int ok = 0, failed = 0, visible = 0;
    double latency = 0, visible_ms = 0;
    size_t i;
    json_t *r;
    json_array_foreach(b->results, i, r)
    {
        const char *st = json_string_value(json_object_get(r, "status"));
        if (strcmp(st, "ok") == 0) {
            visible++;
            visible_ms += (double)json_integer_value(json_object_get(r, "latency_ms"));
        }
        if (strcmp(st, "ok") == 0 || strcmp(st, "pending") == 0) {
            ok++;
            oc_metric_add(&m_pushed, 1);
        } else if (strcmp(st, "stale") == 0) {
            oc_metric_add(&m_push_stale, 1);
        } else {
            failed++;
            oc_metric_add(&m_push_failed, 1);
        }
        latency += (double)json_integer_value(json_object_get(r, "latency_ms"));
    }
    size_t n = json_array_size(b->results);
    if (circuit_record(b->ce, ok, failed))
        oc_log_fields(b->ce->circuit == CIRCUIT_OPEN ? OC_LOG_WARN : OC_LOG_INFO, "connection circuit",
                      json_pack("{s:s, s:s, s:s, s:s}", "tenant", b->t->id, "connection", b->cid, "circuit",
                                circuit_name(b->ce), "error", b->error));
    snprintf(b->s_ok, sizeof(b->s_ok), "%d", ok);
    snprintf(b->s_failed, sizeof(b->s_failed), "%d", failed);
    snprintf(b->s_thr, sizeof(b->s_thr), "%d", b->throttled);
    if (n > 0)
        snprintf(b->s_lat, sizeof(b->s_lat), "%.1f", latency / (double)n);
    if (visible > 0)
        snprintf(b->s_visible, sizeof(b->s_visible), "%.1f", visible_ms / (double)visible);
    b->circuit = circuit_name(b->ce);
    batch_send(b);
}

static void chunk_done(push_chunk_t *ch)
{
    push_batch_t *b = ch->b;
    free(ch);
    if (--b->pending == 0)
        batch_record(b);
}

static void on_pushed(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    push_chunk_t *ch = arg;
    push_batch_t *b = ch->b;
    uint64_t latency = oc_now_ms() - ch->started_ms;
    if (e != NULL && e->err != NULL) {
        snprintf(b->error, sizeof(b->error), "%s", e->err);
        if (e->http_status == 429)
            b->throttled++;
        if (!e->retryable && (e->http_status == 401 || e->http_status == 403))
            b->ce->stale = 1; /* reload the credentials before the next try */
    }
    for (size_t i = 0; i < ch->n; i++) {
        json_t *row = json_array_get(b->claimed, ch->from + i);
        json_t *r = e == NULL || e->err == NULL ? json_array_get(result, i) : NULL;
        const char *st = json_string_value(json_object_get(r, "status"));
        if (st == NULL) {
            batch_result(b, row, "error", NULL, e != NULL && e->err != NULL ? e->err : "the channel gave no answer",
                         e != NULL && e->err != NULL ? e->retryable : 1, latency);
            continue;
        }
        int pending = json_is_true(json_object_get(r, "pending"));
        if (strcmp(st, "ok") == 0)
            batch_result(b, row, pending ? "pending" : "ok", json_object_get(r, "qty"), NULL, 0, latency);
        else if (strcmp(st, "stale") == 0)
            batch_result(b, row, "stale", json_object_get(r, "current"), "stale", 1, latency);
        else {
            /* a row the channel refused, or a call that failed for it: the row says whether later may work */
            const char *why = json_string_value(json_object_get(r, "error"));
            if (b->error[0] == '\0')
                snprintf(b->error, sizeof(b->error), "%s", why != NULL ? why : "refused");
            batch_result(b, row, "error", NULL, why != NULL ? why : "refused by the channel",
                         json_is_true(json_object_get(r, "retryable")), latency);
        }
    }
    chunk_done(ch);
}

static void push_start(void *arg, centry_t *ce, const char *err)
{
    push_batch_t *b = arg;
    size_t n = json_array_size(b->claimed);
    b->started_ms = oc_now_ms();
    if (ce == NULL) {
        snprintf(b->error, sizeof(b->error), "%s", err != NULL ? err : "connection unavailable");
        b->ce = centry_find(b->t->id, b->cid, 1);
        b->ce->refs++;
        b->pending = 1;
        push_chunk_t *ch = calloc(1, sizeof(*ch));
        ch->b = b;
        for (size_t i = 0; i < n; i++)
            batch_result(b, json_array_get(b->claimed, i), "error", NULL, b->error, strcmp(b->error, "not found") != 0,
                         0);
        chunk_done(ch);
        return;
    }
    b->ce = ce;
    ce->refs++;
    size_t per = ce->ad->max_batch > 0 ? (size_t)ce->ad->max_batch : 1;
    b->pending = 1; /* held until every chunk is submitted */
    for (size_t from = 0; from < n; from += per) {
        push_chunk_t *ch = calloc(1, sizeof(*ch));
        ch->b = b;
        ch->from = from;
        ch->n = n - from < per ? n - from : per;
        ch->started_ms = oc_now_ms();
        json_t *items = json_array();
        for (size_t i = 0; i < ch->n; i++) {
            json_t *row = json_array_get(b->claimed, from + i);
            char key[96];
            snprintf(key, sizeof(key), "oc-%s-%lld", json_string_value(json_object_get(row, "listing_id")),
                     (long long)json_integer_value(json_object_get(row, "version")));
            json_array_append_new(items,
                                  json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:s}", "listing_id",
                                            json_object_get(row, "listing_id"), "sku", json_object_get(row, "sku"),
                                            "item_ref", json_object_get(row, "item_ref"), "location_ref",
                                            json_object_get(row, "location_ref"), "qty", json_object_get(row, "qty"),
                                            "expect", json_object_get(row, "expect"), "key", key));
        }
        b->pending++;
        int rc = ce->ad->push(W.http, ce->conn, items, on_pushed, ch);
        json_decref(items);
        if (rc != 0) {
            oc_adapter_error_t e = {.err = "the push could not start", .retryable = 1};
            on_pushed(ch, &e, NULL);
        }
    }
    if (--b->pending == 0)
        batch_record(b);
}

static void on_claimed(void *arg, const oc_db_result_t *res)
{
    tnode_t *t = arg;
    W.claims--;
    json_t *claim = res->err == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    json_t *rows = json_object_get(claim, "rows");
    if (res->err != NULL)
        oc_log_fields(OC_LOG_WARN, "push claim failed", json_pack("{s:s, s:s}", "tenant", t->id, "error", res->err));
    /* Listings left behind (backoff, another worker's lease, a hot listing's spacing, a connection whose circuit
     * is open): come back when the first may go, and not before.  Nothing waiting: a notification brings the
     * next work. */
    json_int_t wait_ms = json_integer_value(json_object_get(claim, "wait_ms"));
    if (t->circuit_wait_ms >= 0 && (wait_ms <= 0 || t->circuit_wait_ms < wait_ms))
        wait_ms = t->circuit_wait_ms > 0 ? t->circuit_wait_ms : 1;
    if (wait_ms > 0 && !W.stop) {
        uint64_t due = oc_mono_us() / 1000 + (uint64_t)wait_ms;
        if (!oc_timer_armed(&t->due) || t->due.due_us / 1000 > due)
            oc_timer_start(W.loop, &t->due, (uint64_t)wait_ms);
    }
    size_t n = json_array_size(rows);
    if ((long)n >= oc_config.worker_claim_limit) {
        t->want |= W_PUSH; /* more where these came from */
    } else if (res->err == NULL) {
        t->quiet = 1;
        t->quiet_ms = oc_now_ms();
    }
    /* rows are ordered by connection: one batch per run of equal connection_id */
    size_t i = 0;
    while (i < n) {
        const char *cid = json_string_value(json_object_get(json_array_get(rows, i), "connection_id"));
        push_batch_t *b = calloc(1, sizeof(*b));
        b->t = t;
        snprintf(b->cid, sizeof(b->cid), "%s", cid);
        b->claimed = json_array();
        b->results = json_array();
        while (i < n) {
            json_t *row = json_array_get(rows, i);
            if (strcmp(json_string_value(json_object_get(row, "connection_id")), b->cid) != 0)
                break;
            json_array_append(b->claimed, row);
            i++;
        }
        centry_t *ce = centry_find(t->id, b->cid, 1);
        ce->pushing = 1;
        W.pushes++;
        t->leased++;
        centry_use(ce, push_start, b);
    }
    json_decref(claim);
    tenant_done(t, W_PUSH);
}

static void push_claim(tnode_t *t)
{
    /* skip connections pushing already or with an open circuit */
    oc_buf_t skip = {0};
    oc_buf_printf(&skip, "{");
    int first = 1;
    uint64_t now = oc_now_ms();
    t->circuit_wait_ms = -1;
    for (size_t b = 0; b < CBUCKETS; b++)
        for (centry_t *c = W.conns[b]; c != NULL; c = c->hnext)
            if (strcmp(c->tenant, t->id) == 0 && (c->pushing || !circuit_allows(c))) {
                oc_buf_printf(&skip, "%s%s", first ? "" : ",", c->id);
                first = 0;
                if (c->circuit == CIRCUIT_OPEN && !c->pushing) {
                    int64_t left = c->open_until_ms > now ? (int64_t)(c->open_until_ms - now) : 0;
                    if (t->circuit_wait_ms < 0 || left < t->circuit_wait_ms)
                        t->circuit_wait_ms = left;
                }
            }
    oc_buf_printf(&skip, "}");
    char limit[16], spacing[16];
    snprintf(limit, sizeof(limit), "%d", oc_config.worker_claim_limit);
    snprintf(spacing, sizeof(spacing), "%d", oc_config.worker_push_spacing_ms);
    const char *p[] = {t->id, W.owner, limit, oc_buf_cstr(&skip), W.lease, spacing};
    t->running |= W_PUSH;
    W.claims++;
    oc_metric_add(&m_claims, 1);
    int rc = oc_db_exec(W.db, t->id, &w_push_claim, p, on_claimed, t);
    oc_buf_free(&skip);
    if (rc != 0) {
        W.claims--;
        t->want |= W_PUSH;
        t->running &= ~W_PUSH;
    }
}

/* --- events ----------------------------------------------------------------- */

OC_DB_STMT(w_events, 2, "SELECT events_process($1, $2::int)");

static void on_events(void *arg, const oc_db_result_t *res)
{
    tnode_t *t = arg;
    W.events--;
    json_t *r = res->err == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_WARN, "events failed", json_pack("{s:s, s:s}", "tenant", t->id, "error", res->err));
    long long n = json_integer_value(json_object_get(r, "processed"));
    if (n >= EVENTS_BATCH)
        t->want |= W_EVENTS;
    if (json_integer_value(json_object_get(r, "polls")) > 0)
        t->want |= W_ROUTINES;
    json_decref(r);
    tenant_done(t, W_EVENTS);
    if (t->want & W_ROUTINES)
        tenant_want(t, W_ROUTINES);
}

static void events_run(tnode_t *t)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", EVENTS_BATCH);
    const char *p[] = {t->id, limit};
    t->running |= W_EVENTS;
    W.events++;
    if (oc_db_exec(W.db, t->id, &w_events, p, on_events, t) != 0) {
        W.events--;
        t->want |= W_EVENTS;
        t->running &= ~W_EVENTS;
    }
}

/* --- routines --------------------------------------------------------------- */

OC_DB_STMT(w_routines_claim, 4, "SELECT routines_claim($1, $2, $3::int, $4::int)");
OC_DB_STMT(w_routine_finish, 6, "SELECT routine_finish($1, $2::uuid, $3, $4, $5::jsonb, $6::int)");
OC_DB_STMT(w_cursor_get, 3,
           "SELECT cursor FROM sync_cursors WHERE tenant_id = $1 AND connection_id = $2::uuid AND stream = $3");
OC_DB_STMT(
    w_cursor_set, 4,
    "INSERT INTO sync_cursors (tenant_id, connection_id, stream, cursor) VALUES ($1, $2::uuid, $3, $4)"
    " ON CONFLICT (tenant_id, connection_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = now()");
OC_DB_STMT(w_ingest_order, 3, "SELECT ingest_order($1, $2::uuid, $3::jsonb)");
OC_DB_STMT(w_ingest_return, 3, "SELECT ingest_return($1, $2::uuid, $3::jsonb)");
OC_DB_STMT(w_acked, 3,
           "UPDATE channel_orders SET needs_ack = false, acked_at = now()"
           " WHERE tenant_id = $1 AND connection_id = $2::uuid AND external_id = ANY ($3::text[])");
OC_DB_STMT(w_unmapped_alert, 2, "SELECT unmapped_alert_refresh($1, $2::uuid)");
OC_DB_STMT(w_read_list, 3,
           "SELECT coalesce(jsonb_agg(jsonb_build_object('listing_id', id, 'sku', external_sku, 'item_ref', item_ref,"
           " 'location_ref', location_ref)), '[]') FROM (SELECT id, external_sku, item_ref, location_ref FROM listings"
           " WHERE tenant_id = $1 AND connection_id = $2::uuid AND state = 'active' AND pushed_version > 0"
           " ORDER BY seen_at NULLS FIRST LIMIT $3::int) x");
OC_DB_STMT(w_read_record, 3, "SELECT read_back_record($1, $2::uuid, $3::jsonb)");
/*
 * Locks, in the one order every path takes them (docs/ARCHITECTURE.md): a connection's row, then stock rows
 * in sku_id order, then listings in id order.  An ingestion transaction runs up to ORDERS_PER_TX orders, each
 * locking its own SKUs' stock and listings as it goes: two such transactions, or one and a push record, took
 * the union in different orders and deadlocked (ten times in one run of the sync fault tests).  So it takes
 * everything its orders' SKUs can touch first: their stock rows (bundles: the components') and every listing
 * those stock rows refresh (the SKUs' own and their bundles').
 */
OC_DB_STMT(w_lock_conn, 2,
           "SELECT 1 FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid FOR NO KEY UPDATE");
#define INGEST_SKUS                                                                                                    \
    "SELECT li.sku_id FROM listings li WHERE li.tenant_id = $1 AND li.connection_id = $2::uuid"                        \
    "   AND li.external_sku = ANY ($3::text[])"                                                                        \
    " UNION SELECT bc.component_id FROM bundle_components bc JOIN listings li ON li.tenant_id = bc.tenant_id"          \
    "   AND li.sku_id = bc.bundle_id WHERE li.tenant_id = $1 AND li.connection_id = $2::uuid"                          \
    "   AND li.external_sku = ANY ($3::text[])"
OC_DB_STMT(w_lock_stock, 3,
           "SELECT count(*) FROM (SELECT 1 FROM stock s WHERE s.tenant_id = $1 AND s.sku_id IN (" INGEST_SKUS ")"
           " ORDER BY s.sku_id FOR NO KEY UPDATE) x");
OC_DB_STMT(
    w_lock_listings, 3,
    "WITH k AS (" INGEST_SKUS ")"
    " SELECT count(*) FROM (SELECT 1 FROM listings l WHERE l.tenant_id = $1 AND (l.sku_id IN (SELECT sku_id FROM k)"
    "   OR l.sku_id IN (SELECT bc.bundle_id FROM bundle_components bc WHERE bc.tenant_id = $1"
    "     AND bc.component_id IN (SELECT sku_id FROM k)))"
    " ORDER BY l.id FOR UPDATE) x");
/* Listings locked in id order, as every other path locks them (migrations/0009, 0016): a plain UPDATE took
 * them in scan order and deadlocked against sales refreshing the same listings. */
OC_DB_STMT(w_repush, 2,
           "WITH mine AS (SELECT id FROM listings WHERE tenant_id = $1 AND connection_id = $2::uuid"
           "   AND state = 'active' ORDER BY id FOR UPDATE),"
           " u AS (UPDATE listings l SET desired_version = l.desired_version + 1 FROM mine"
           "   WHERE l.tenant_id = $1 AND l.id = mine.id RETURNING 1)"
           " SELECT count(*) AS listings, pg_notify('oc_dirty', $1::text) FROM u");
OC_DB_STMT(w_velocity, 1, "SELECT velocity_refresh($1), listings_refresh_brand($1)");

typedef struct rrun {
    tnode_t *t;
    char id[37], cid[37], kind[16];
    centry_t *ce;
    json_t *detail;
    json_t *page;  /* the current page's result (orders/returns) */
    json_t *acks;  /* order ids to acknowledge */
    json_t *todo;  /* read-back: listings still to read */
    json_t *found; /* read-back: what the channel said, per chunk */
    char *cursor;
    size_t next;   /* index into the page/todo */
    int page_done; /* the page's orders and cursor are submitted */
    int pages;
    uint64_t started_ms;
} rrun_t;

static void routine_step(rrun_t *rr);

static void on_finished(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_WARN, "routine result not recorded",
                      json_pack("{s:s, s:s, s:s}", "tenant", rr->t->id, "routine", rr->id, "error", res->err));
    /* a run-soon request may have come in while it ran */
    tenant_want(rr->t, W_ROUTINES);
    json_decref(rr->detail);
    json_decref(rr->page);
    json_decref(rr->acks);
    json_decref(rr->todo);
    json_decref(rr->found);
    free(rr->cursor);
    free(rr);
}

/* Ends a run: err NULL = ok; retry_s = run again this soon (NULL schedule on success). */
static void routine_finish(rrun_t *rr, const char *err, int retry_s)
{
    if (rr->ce != NULL) {
        rr->ce->refs--;
        if (rr->ce->stale)
            centry_unload(rr->ce);
    }
    W.routines--;
    rr->t->leased--;
    oc_metric_add(&m_routines, 1);
    json_object_set_new(rr->detail, "duration_ms", json_integer((json_int_t)(oc_now_ms() - rr->started_ms)));
    if (err != NULL)
        json_object_set_new(rr->detail, "error", json_string(err));
    if (err != NULL)
        oc_log_fields(OC_LOG_WARN, "routine failed",
                      json_pack("{s:s, s:s, s:s, s:s}", "tenant", rr->t->id, "kind", rr->kind, "connection", rr->cid,
                                "error", err));
    char *detail = json_dumps(rr->detail, JSON_COMPACT);
    char retry[16];
    snprintf(retry, sizeof(retry), "%d", retry_s);
    const char *p[] = {rr->t->id, rr->id, W.owner, err != NULL ? "error" : "ok", detail, retry_s >= 0 ? retry : NULL};
    int rc = oc_db_exec(W.db, rr->t->id, &w_routine_finish, p, on_finished, rr);
    free(detail);
    if (rc != 0) {
        oc_db_result_t fake = {.err = "database unavailable", .code = rc};
        on_finished(rr, &fake);
    }
}

static void detail_add(rrun_t *rr, const char *key, long long n)
{
    json_t *v = json_object_get(rr->detail, key);
    json_object_set_new(rr->detail, key, json_integer(json_integer_value(v) + n));
}

static const char *err_text(const oc_adapter_error_t *e)
{
    return e != NULL && e->err != NULL ? e->err : NULL;
}

static void adapter_failed(rrun_t *rr, const oc_adapter_error_t *e)
{
    if (!e->retryable && (e->http_status == 401 || e->http_status == 403))
        rr->ce->stale = 1;
    routine_finish(rr, e->err, e->retryable ? 30 : -1);
}

/* poll_orders / poll_returns ---------------------------------------------------- */

static int is_orders(const rrun_t *rr)
{
    return strcmp(rr->kind, "poll_orders") == 0;
}

static void fetch_page(rrun_t *rr);

static void on_acked(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        routine_finish(rr, res->err, 10);
        return;
    }
    routine_step(rr);
}

static void on_ack(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    rrun_t *rr = arg;
    if (err_text(e) != NULL) {
        /* the orders are in; acknowledging is retried on the next poll (needs_ack stays) */
        json_object_set_new(rr->detail, "ack_error", json_string(e->err));
        routine_step(rr);
        return;
    }
    json_t *done = json_object_get(result, "acknowledged");
    detail_add(rr, "acknowledged", (long long)json_array_size(done));
    oc_buf_t arr = {0};
    oc_buf_printf(&arr, "{");
    size_t i;
    json_t *id;
    json_array_foreach(done, i, id)
    {
        oc_buf_printf(&arr, "%s\"", i ? "," : "");
        for (const char *p = json_string_value(id); p != NULL && *p; p++)
            oc_buf_printf(&arr, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
        oc_buf_printf(&arr, "\"");
    }
    oc_buf_printf(&arr, "}");
    const char *p[] = {rr->t->id, rr->cid, oc_buf_cstr(&arr)};
    int rc = oc_db_exec(W.db, rr->t->id, &w_acked, p, on_acked, rr);
    oc_buf_free(&arr);
    if (rc != 0)
        routine_finish(rr, "database unavailable", 10);
}

static void on_bases_told(void *arg)
{
    routine_step(arg);
}

static void on_ingested(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        /* nothing of this transaction happened; the cursor did not move either */
        routine_finish(rr, res->detail != NULL ? res->detail : res->err, 10);
        return;
    }
    for (int i = 0; i < res->nresults; i++) {
        const PGresult *r = res->results[i];
        const char *v = oc_db_get(r, 0, 0);
        if (v == NULL || PQnfields(r) != 1)
            continue;
        if (strcmp(PQfname(r, 0), "ingest_order") == 0) {
            json_t *o = json_loads(v, 0, NULL);
            detail_add(rr, "movements", json_integer_value(json_object_get(o, "movements")));
            detail_add(rr, "unmapped", json_integer_value(json_object_get(o, "unmapped")));
            json_decref(o);
        } else if (strcmp(PQfname(r, 0), "ingest_return") == 0) {
            detail_add(rr, "movements", atoll(v));
        }
    }
    /* The next slice waits until the hold gate has the balances this one changed, so a hold asked once the
     * routine reports these orders is checked against them. */
    oc_holds_publish_touched(W.redis, rr->t->id, res, on_bases_told, rr);
}

/* Appends a string to a PostgreSQL array literal being built ("{" already there). */
static void pg_array_add(oc_buf_t *b, const char *s)
{
    if (b->len > 1)
        oc_buf_append(b, ",", 1);
    oc_buf_append(b, "\"", 1);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            oc_buf_append(b, "\\", 1);
        oc_buf_append(b, s, 1);
    }
    oc_buf_append(b, "\"", 1);
}

/* Ingests the next slice of the page; the last slice also saves the cursor. */
static void ingest_slice(rrun_t *rr)
{
    const char *key = is_orders(rr) ? "orders" : "returns";
    json_t *list = json_object_get(rr->page, key);
    size_t n = json_array_size(list);
    oc_db_tx_t tx = {.tenant = rr->t->id};
    char *bodies[ORDERS_PER_TX];
    int nb = 0;
    /* An ingestion takes its locks first (see w_lock_conn); their steps are filled once its SKUs are known. */
    oc_db_stmt_t *locks[] = {&w_lock_conn, &w_lock_stock, &w_lock_listings};
    int nlocks = rr->next < n ? 3 : 0;
    oc_buf_t skus = {0};
    oc_buf_append(&skus, "{", 1);
    tx.nsteps = nlocks;
    while (rr->next < n && nb < ORDERS_PER_TX) {
        json_t *o = json_array_get(list, rr->next++);
        bodies[nb] = json_dumps(o, JSON_COMPACT);
        size_t li;
        json_t *line;
        json_array_foreach(json_object_get(o, "lines"), li, line)
        {
            const char *sku = json_string_value(json_object_get(line, "sku"));
            if (sku != NULL)
                pg_array_add(&skus, sku);
        }
        tx.steps[tx.nsteps].stmt = is_orders(rr) ? &w_ingest_order : &w_ingest_return;
        tx.steps[tx.nsteps].params[0] = rr->t->id;
        tx.steps[tx.nsteps].params[1] = rr->cid;
        tx.steps[tx.nsteps++].params[2] = bodies[nb++];
        if (is_orders(rr) && json_is_true(json_object_get(o, "needs_ack")))
            json_array_append(rr->acks, json_object_get(o, "id"));
    }
    const char *cursor = json_string_value(json_object_get(rr->page, "cursor"));
    int last = rr->next >= n;
    rr->page_done = last;
    if (last && cursor != NULL) {
        tx.steps[tx.nsteps].stmt = &w_cursor_set;
        tx.steps[tx.nsteps].params[0] = rr->t->id;
        tx.steps[tx.nsteps].params[1] = rr->cid;
        tx.steps[tx.nsteps].params[2] = is_orders(rr) ? "orders" : "returns";
        tx.steps[tx.nsteps++].params[3] = cursor;
    }
    if (last && is_orders(rr)) {
        tx.steps[tx.nsteps].stmt = &w_unmapped_alert;
        tx.steps[tx.nsteps].params[0] = rr->t->id;
        tx.steps[tx.nsteps++].params[1] = rr->cid;
    }
    oc_buf_append(&skus, "}", 1);
    for (int i = 0; i < nlocks; i++) {
        tx.steps[i].stmt = locks[i];
        tx.steps[i].params[0] = rr->t->id;
        tx.steps[i].params[1] = rr->cid;
        tx.steps[i].params[2] = i > 0 ? oc_buf_cstr(&skus) : NULL;
    }
    if (nlocks > 0)
        oc_holds_touched_step(&tx, rr->t->id);
    if (tx.nsteps == 0) {
        oc_buf_free(&skus);
        routine_step(rr);
        return;
    }
    int rc = oc_db_run(W.db, &tx, on_ingested, rr);
    oc_buf_free(&skus);
    for (int i = 0; i < nb; i++)
        free(bodies[i]);
    if (rc != 0)
        routine_finish(rr, "database unavailable", 10);
}

static void on_page(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    rrun_t *rr = arg;
    if (err_text(e) != NULL) {
        adapter_failed(rr, e);
        return;
    }
    json_decref(rr->page);
    rr->page = json_incref(result);
    rr->next = 0;
    rr->page_done = 0;
    rr->pages++;
    size_t n = json_array_size(json_object_get(result, is_orders(rr) ? "orders" : "returns"));
    detail_add(rr, is_orders(rr) ? "orders" : "returns", (long long)n);
    if (is_orders(rr))
        oc_metric_add(&m_orders, (int64_t)n);
    json_object_set_new(rr->detail, "pages", json_integer(rr->pages));
    routine_step(rr);
}

static void fetch_page(rrun_t *rr)
{
    const char *cursor = rr->page != NULL ? json_string_value(json_object_get(rr->page, "cursor")) : rr->cursor;
    int rc = is_orders(rr) ? rr->ce->ad->fetch_orders(W.http, rr->ce->conn, cursor, on_page, rr)
                           : rr->ce->ad->fetch_returns(W.http, rr->ce->conn, cursor, on_page, rr);
    if (rc != 0)
        routine_finish(rr, "the request could not start", 30);
}

static void on_cursor(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        routine_finish(rr, res->err, 10);
        return;
    }
    const char *c = PQntuples(res->results[0]) == 1 ? oc_db_get(res->results[0], 0, 0) : NULL;
    rr->cursor = c != NULL ? strdup(c) : NULL;
    fetch_page(rr);
}

/* read_back --------------------------------------------------------------------- */

static void on_read_recorded(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        routine_finish(rr, res->err, 10);
        return;
    }
    json_t *r = oc_db_json(res->results[res->nresults - 1], 0, 0);
    detail_add(rr, "in_sync", json_integer_value(json_object_get(r, "in_sync")));
    detail_add(rr, "drift", json_integer_value(json_object_get(r, "drift")));
    json_decref(r);
    routine_step(rr);
}

static void on_read(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    rrun_t *rr = arg;
    if (err_text(e) != NULL) {
        adapter_failed(rr, e);
        return;
    }
    /* rows the channel could not be asked about are not differences: count them, compare the rest */
    json_t *read = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(result, i, row)
    {
        const char *st = json_string_value(json_object_get(row, "status"));
        if (st != NULL && strcmp(st, "error") == 0)
            detail_add(rr, "read_errors", 1);
        else
            json_array_append(read, row);
    }
    detail_add(rr, "checked", (long long)json_array_size(read));
    char *s = json_dumps(read, JSON_COMPACT);
    json_decref(read);
    /* The connection's row first, then its listings: the order ingestion and push records lock them in. */
    oc_db_tx_t tx = {.tenant = rr->t->id, .nsteps = 2};
    tx.steps[0].stmt = &w_lock_conn;
    tx.steps[0].params[0] = rr->t->id;
    tx.steps[0].params[1] = rr->cid;
    tx.steps[1].stmt = &w_read_record;
    tx.steps[1].params[0] = rr->t->id;
    tx.steps[1].params[1] = rr->cid;
    tx.steps[1].params[2] = s;
    int rc = oc_db_run(W.db, &tx, on_read_recorded, rr);
    free(s);
    if (rc != 0)
        routine_finish(rr, "database unavailable", 10);
}

static void on_read_list(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        routine_finish(rr, res->err, 10);
        return;
    }
    rr->todo = oc_db_json(res->results[0], 0, 0);
    rr->next = 0;
    routine_step(rr);
}

/* one-statement routines -------------------------------------------------------- */

static void on_simple(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        routine_finish(rr, res->detail != NULL ? res->detail : res->err, 30);
        return;
    }
    const PGresult *r = res->results[0];
    for (int c = 0; c < PQnfields(r); c++)
        if (PQntuples(r) == 1 && oc_db_get(r, 0, c) != NULL && strcmp(PQfname(r, c), "pg_notify") != 0)
            json_object_set_new(rr->detail, PQfname(r, c), json_integer(atoll(PQgetvalue(r, 0, c))));
    routine_finish(rr, NULL, -1);
}

/*
 * Advances a run by one step.  Each kind is a small state machine over the
 * run's fields; every asynchronous step calls back into here.
 */
static void routine_step(rrun_t *rr)
{
    if (W.stop) {
        routine_finish(rr, "the worker is stopping", 1);
        return;
    }
    if (strcmp(rr->kind, "poll_orders") == 0 || strcmp(rr->kind, "poll_returns") == 0) {
        if (rr->page != NULL && !rr->page_done) {
            ingest_slice(rr);
            return;
        }
        if (json_array_size(rr->acks) > 0 && rr->ce->ad->acknowledge != NULL) {
            json_t *ids = rr->acks;
            rr->acks = json_array();
            int rc = rr->ce->ad->acknowledge(W.http, rr->ce->conn, ids, on_ack, rr);
            json_decref(ids);
            if (rc != 0)
                routine_finish(rr, "the acknowledgement could not start", 30);
            return;
        }
        if (rr->page == NULL) {
            const char *p[] = {rr->t->id, rr->cid, is_orders(rr) ? "orders" : "returns"};
            if (oc_db_exec(W.db, rr->t->id, &w_cursor_get, p, on_cursor, rr) != 0)
                routine_finish(rr, "database unavailable", 10);
            return;
        }
        if (json_is_true(json_object_get(rr->page, "more"))) {
            if (rr->pages < PAGES_PER_RUN) {
                fetch_page(rr);
                return;
            }
            routine_finish(rr, NULL, 0); /* more to read: run again at once */
            return;
        }
        routine_finish(rr, NULL, -1);
        return;
    }
    if (strcmp(rr->kind, "read_back") == 0) {
        if (rr->todo == NULL) {
            char limit[16];
            snprintf(limit, sizeof(limit), "%d", READ_BACK_MAX);
            const char *p[] = {rr->t->id, rr->cid, limit};
            if (oc_db_exec(W.db, rr->t->id, &w_read_list, p, on_read_list, rr) != 0)
                routine_finish(rr, "database unavailable", 10);
            return;
        }
        size_t n = json_array_size(rr->todo);
        if (rr->next >= n) {
            routine_finish(rr, NULL, -1);
            return;
        }
        json_t *items = json_array();
        for (size_t i = 0; i < READ_CHUNK && rr->next < n; i++)
            json_array_append(items, json_array_get(rr->todo, rr->next++));
        int rc = rr->ce->ad->read(W.http, rr->ce->conn, items, on_read, rr);
        json_decref(items);
        if (rc != 0)
            routine_finish(rr, "the read could not start", 30);
        return;
    }
    const oc_db_stmt_t *st = strcmp(rr->kind, "full_repush") == 0 ? &w_repush
                             : strcmp(rr->kind, "velocity") == 0  ? &w_velocity
                                                                  : NULL;
    if (st == NULL) {
        routine_finish(rr, "unknown routine kind", -1);
        return;
    }
    const char *p[] = {rr->t->id, rr->cid};
    if (oc_db_exec(W.db, rr->t->id, st, p, on_simple, rr) != 0)
        routine_finish(rr, "database unavailable", 10);
}

static void routine_with_conn(void *arg, centry_t *ce, const char *err)
{
    rrun_t *rr = arg;
    if (ce == NULL) {
        routine_finish(rr, err != NULL ? err : "connection unavailable", 60);
        return;
    }
    rr->ce = ce;
    ce->refs++;
    routine_step(rr);
}

static void on_routines(void *arg, const oc_db_result_t *res)
{
    tnode_t *t = arg;
    W.routine_claims--;
    json_t *rows = res->err == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_WARN, "routine claim failed", json_pack("{s:s, s:s}", "tenant", t->id, "error", res->err));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        rrun_t *rr = calloc(1, sizeof(*rr));
        rr->t = t;
        rr->started_ms = oc_now_ms();
        rr->detail = json_object();
        rr->acks = json_array();
        snprintf(rr->id, sizeof(rr->id), "%s", json_string_value(json_object_get(row, "id")));
        snprintf(rr->kind, sizeof(rr->kind), "%s", json_string_value(json_object_get(row, "kind")));
        const char *cid = json_string_value(json_object_get(row, "connection_id"));
        W.routines++;
        t->leased++;
        if (cid == NULL) {
            routine_step(rr);
            continue;
        }
        snprintf(rr->cid, sizeof(rr->cid), "%s", cid);
        if (strcmp(rr->kind, "full_repush") == 0) {
            routine_step(rr);
            continue;
        }
        centry_use(centry_find(t->id, cid, 1), routine_with_conn, rr);
    }
    if ((long)json_array_size(rows) > 0)
        t->want |= W_ROUTINES; /* maybe more are due */
    json_decref(rows);
    tenant_done(t, W_ROUTINES);
}

static void routines_claim(tnode_t *t)
{
    int room = oc_config.worker_routines_max - W.routines;
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", room < 1 ? 1 : room > 8 ? 8 : room);
    const char *p[] = {t->id, W.owner, limit, W.lease};
    t->running |= W_ROUTINES;
    W.routine_claims++;
    if (oc_db_exec(W.db, t->id, &w_routines_claim, p, on_routines, t) != 0) {
        W.routine_claims--;
        t->want |= W_ROUTINES;
        t->running &= ~W_ROUTINES;
    }
}

/* --- brands in chunks ---------------------------------------------------------------------------- */

/* Work over every brand (the scan, the jobs) goes 400 brands per transaction, their ids as its tenants: the
 * first step sets them and answers the last id and how many (fewer than 400: the last chunk). */
#define SCAN_CHUNK "400" /* brands per scan transaction */

OC_DB_STMT(w_scan_tenants, 1,
           "SELECT set_config('app.tenant_id', coalesce(string_agg(id::text, ','), ''), true), max(id::text),"
           " count(*) FROM (SELECT id FROM brands WHERE id > $1::uuid ORDER BY id LIMIT " SCAN_CHUNK ") b");

/* --- jobs across brands: the stuck-listing check and pruning ---------------------------- */

/*
 * Work that spans every brand and runs once across all workers (worker_jobs, migration 0019): a worker
 * claims a job when it is due, under a lease renew() extends, and walks the brands in chunks of 400 (their
 * ids as the transaction's tenants, as the scan does).  stuck_alerts opens one alert per connection whose
 * listings have been behind longer than stuck_after_seconds, and closes it when they catch up; prune
 * deletes log rows older than their retention window, prune_batch_rows per statement.
 */
OC_DB_STMT(w_job_claim, 4, "SELECT worker_job_claim($1, $2, $3::int, $4::int)");
OC_DB_STMT(w_job_finish, 4, "SELECT worker_job_finish($1, $2, $3, $4::jsonb)");
OC_DB_STMT(w_jobs_renew, 2, "SELECT worker_jobs_renew($1, $2::int)");
OC_DB_STMT(w_stuck, 1, "SELECT stuck_alerts_refresh($1::int)");
OC_DB_STMT(w_prune, 3, "SELECT retention_prune($1, $2::bigint, $3::int)");

static const char *const prune_tables[] = {"push_log", "channel_events", "drift_events", "idempotency_keys"};
#define NPRUNE 4

typedef struct job {
    const char *kind;
    oc_timer_t timer;
    int running;
    oc_metric_t runs;
    char chunk[37], next[37]; /* the brands being worked on: ids after `chunk`, up to `next` */
    int last_chunk;           /* the chunk had fewer than 400 brands */
    int table;                /* prune: prune_tables[table] */
    long long deleted, batches;
    json_t *detail;
} job_t;

static job_t jobs[2] = {
    {.kind = "stuck_alerts",
     .runs = {"onecount_worker_jobs_total", "cross-brand jobs this worker ran", "job=\"stuck_alerts\"",
              OC_METRIC_COUNTER}},
    {.kind = "prune",
     .runs = {"onecount_worker_jobs_total", "cross-brand jobs this worker ran", "job=\"prune\"", OC_METRIC_COUNTER}},
};
static oc_metric_t m_stuck = {"onecount_worker_listings_stuck",
                              "listings behind longer than stuck_after_seconds, at the last check", NULL,
                              OC_METRIC_GAUGE};
static oc_metric_t m_pruned[NPRUNE] = {
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"push_log\"",
     OC_METRIC_COUNTER},
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"channel_events\"",
     OC_METRIC_COUNTER},
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"drift_events\"",
     OC_METRIC_COUNTER},
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"idempotency_keys\"",
     OC_METRIC_COUNTER},
};

static int job_interval_s(const job_t *j)
{
    return j == &jobs[0] ? oc_config.stuck_check_seconds : oc_config.prune_interval_seconds;
}

static long long prune_keep_s(int table)
{
    switch (table) {
    case 0: return (long long)oc_config.retention_push_log_days * 86400;
    case 1: return (long long)oc_config.retention_channel_events_days * 86400;
    case 2: return (long long)oc_config.retention_drift_events_days * 86400;
    default: return (long long)oc_config.retention_idempotency_hours * 3600;
    }
}

static int jobs_running(void)
{
    return jobs[0].running + jobs[1].running;
}

static void job_step(job_t *j);

static void on_job_finished(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_WARN, "job result not recorded",
                      json_pack("{s:s, s:s}", "job", j->kind, "error", res->err));
    j->running = 0;
    json_decref(j->detail);
    j->detail = NULL;
    if (!W.stop)
        oc_timer_start(W.loop, &j->timer, (uint64_t)job_interval_s(j) * 1000);
}

static void job_finish(job_t *j, const char *err)
{
    if (err != NULL) {
        json_object_set_new(j->detail, "error", json_string(err));
        oc_log_fields(OC_LOG_WARN, "job failed", json_pack("{s:s, s:s}", "job", j->kind, "error", err));
    }
    char *detail = json_dumps(j->detail, JSON_COMPACT);
    const char *p[] = {j->kind, W.owner, err != NULL ? "error" : "ok", detail};
    int rc = oc_db_exec(W.db, NULL, &w_job_finish, p, on_job_finished, j);
    free(detail);
    if (rc != 0) {
        oc_db_result_t fake = {.err = "database unavailable", .code = rc};
        on_job_finished(j, &fake);
    }
}

/* Moves on to the next chunk of brands; the job ends after the last. */
static void job_next_chunk(job_t *j)
{
    if (j->last_chunk) {
        job_finish(j, NULL);
        return;
    }
    memcpy(j->chunk, j->next, sizeof(j->chunk));
    j->table = 0;
    job_step(j);
}

static void on_job_step(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    if (res->err != NULL) {
        job_finish(j, res->detail != NULL ? res->detail : res->err);
        return;
    }
    const char *last = oc_db_get(res->results[0], 0, 1);
    if (last == NULL) { /* no brand after the chunk's start */
        job_finish(j, NULL);
        return;
    }
    snprintf(j->next, sizeof(j->next), "%s", last);
    j->last_chunk = oc_db_get_ll(res->results[0], 0, 2, 0) < atoi(SCAN_CHUNK);
    if (j == &jobs[0]) {
        json_t *r = oc_db_json(res->results[1], 0, 0);
        const char *keys[] = {"stuck", "opened", "closed"};
        for (size_t i = 0; i < 3; i++) {
            json_int_t v = json_integer_value(json_object_get(r, keys[i]));
            json_object_set_new(j->detail, keys[i],
                                json_integer(json_integer_value(json_object_get(j->detail, keys[i])) + v));
        }
        json_decref(r);
        if (j->last_chunk)
            oc_metric_set(&m_stuck, json_integer_value(json_object_get(j->detail, "stuck")));
        job_next_chunk(j);
        return;
    }
    long long n = oc_db_get_ll(res->results[1], 0, 0, 0);
    j->deleted += n;
    j->batches++;
    oc_metric_add(&m_pruned[j->table], n);
    if (n >= oc_config.prune_batch_rows && !W.stop) {
        job_step(j); /* more of this table in this chunk */
        return;
    }
    /* this table is done for the chunk: add its figures to the run's */
    json_t *t = json_object_get(j->detail, prune_tables[j->table]);
    json_object_set_new(t, "deleted", json_integer(json_integer_value(json_object_get(t, "deleted")) + j->deleted));
    json_object_set_new(t, "batches", json_integer(json_integer_value(json_object_get(t, "batches")) + j->batches));
    j->deleted = j->batches = 0;
    if (++j->table < NPRUNE) {
        job_step(j);
        return;
    }
    job_next_chunk(j);
}

/* One transaction: the chunk of brands as its tenants, then the job's statement for them. */
static void job_step(job_t *j)
{
    if (W.stop) {
        job_finish(j, "the worker is stopping");
        return;
    }
    char a[24], b[24];
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &w_scan_tenants;
    tx.steps[0].params[0] = j->chunk;
    if (j == &jobs[0]) {
        snprintf(a, sizeof(a), "%d", oc_config.stuck_after_seconds);
        tx.steps[1].stmt = &w_stuck;
        tx.steps[1].params[0] = a;
    } else {
        snprintf(a, sizeof(a), "%lld", prune_keep_s(j->table));
        snprintf(b, sizeof(b), "%d", oc_config.prune_batch_rows);
        tx.steps[1].stmt = &w_prune;
        tx.steps[1].params[0] = prune_tables[j->table];
        tx.steps[1].params[1] = a;
        tx.steps[1].params[2] = b;
    }
    if (oc_db_run(W.db, &tx, on_job_step, j) != 0)
        job_finish(j, "database unavailable");
}

static void on_job_claim(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    json_t *r = res->err == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    if (!json_is_true(json_object_get(r, "claimed"))) {
        /* not due yet (or another worker has it): come back when it may be; a failure tries again soon */
        json_int_t wait = res->err != NULL ? 5000 : json_integer_value(json_object_get(r, "wait_ms"));
        json_int_t most = (json_int_t)job_interval_s(j) * 1000;
        j->running = 0;
        json_decref(r);
        if (!W.stop)
            oc_timer_start(W.loop, &j->timer, (uint64_t)(wait > 0 && wait < most ? wait : most));
        return;
    }
    json_decref(r);
    oc_metric_add(&j->runs, 1); /* (stopping: job_step ends it at once, giving the lease back) */
    j->detail = json_object();
    if (j == &jobs[1]) {
        json_object_set_new(j->detail, "batch_rows", json_integer(oc_config.prune_batch_rows));
        for (int i = 0; i < NPRUNE; i++)
            json_object_set_new(j->detail, prune_tables[i], json_pack("{s:i, s:i}", "deleted", 0, "batches", 0));
    }
    snprintf(j->chunk, sizeof(j->chunk), "00000000-0000-0000-0000-000000000000");
    j->table = 0;
    j->deleted = j->batches = 0;
    j->last_chunk = 0;
    job_step(j);
}

static void job_tick(oc_timer_t *timer)
{
    job_t *j = timer->data;
    if (W.stop || j->running)
        return;
    if (!oc_db_pool_ready(W.db)) {
        oc_timer_start(W.loop, &j->timer, 1000);
        return;
    }
    char lease[16], interval[16];
    snprintf(lease, sizeof(lease), "%d", oc_config.worker_lease_seconds);
    snprintf(interval, sizeof(interval), "%d", job_interval_s(j));
    const char *p[] = {j->kind, W.owner, lease, interval};
    j->running = 1;
    if (oc_db_exec(W.db, NULL, &w_job_claim, p, on_job_claim, j) != 0) {
        j->running = 0;
        oc_timer_start(W.loop, &j->timer, 5000);
    }
}

/* --- leases ------------------------------------------------------------------ */

OC_DB_STMT(w_renew, 3, "SELECT leases_renew($1, $2, $3::int)");

/* Every third of a lease, the brands with work in flight get their leases extended. */
static void renew(oc_timer_t *timer)
{
    (void)timer;
    for (size_t b = 0; b < TBUCKETS; b++)
        for (tnode_t *t = W.tenants[b]; t != NULL; t = t->hnext)
            if (t->leased > 0) {
                const char *p[] = {t->id, W.owner, W.lease};
                oc_db_exec(W.db, t->id, &w_renew, p, NULL, NULL);
            }
    if (jobs_running() > 0) {
        const char *p[] = {W.owner, W.lease};
        oc_db_exec(W.db, NULL, &w_jobs_renew, p, NULL, NULL);
    }
    oc_timer_start(W.loop, &W.renew_timer, (uint64_t)oc_config.worker_lease_seconds * 1000 / 3);
}

/* --- the pump ----------------------------------------------------------------- */

static tnode_t *dequeue(unsigned bit)
{
    h2o_linklist_t *q = &W.queue[kind_index(bit)];
    if (h2o_linklist_is_empty(q))
        return NULL;
    tnode_t *t = H2O_STRUCT_FROM_MEMBER(tnode_t, q[kind_index(bit)], q->next);
    h2o_linklist_unlink(&t->q[kind_index(bit)]);
    t->queued &= ~bit;
    t->want &= ~bit;
    return t;
}

static void pump(oc_timer_t *timer)
{
    (void)timer;
    if (W.stop || !oc_db_pool_ready(W.db))
        return;
    tnode_t *t;
    while (W.events < EVENTS_MAX && (t = dequeue(W_EVENTS)) != NULL)
        events_run(t);
    while (W.claims < CLAIMS_MAX && W.pushes < oc_config.worker_pushes_max && (t = dequeue(W_PUSH)) != NULL)
        push_claim(t);
    while (W.routine_claims < ROUTINE_CLAIMS && W.routines < oc_config.worker_routines_max &&
           (t = dequeue(W_ROUTINES)) != NULL)
        routines_claim(t);
}

static void pump_soon(void)
{
    if (!oc_timer_armed(&W.pump_timer))
        oc_timer_start(W.loop, &W.pump_timer, 0);
}

/* --- the scan ---------------------------------------------------------------- */

/*
 * The safety net under the notifications: every worker_scan_ms, one transaction per 400 brands (their ids as
 * the transaction's tenants) finds the brands with work that is due by time alone — a push whose backoff
 * ended, a routine whose next run came — with the same conditions the claims use, so a brand is woken only
 * for work a claim can take (a paused connection's listings and routines wait without a claim a second).
 */
OC_DB_STMT(w_scan, 0,
           "SELECT l.tenant_id::text, 1 FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id"
           " AND c.id = l.connection_id WHERE l.desired_version > l.pushed_version AND l.state = 'active'"
           " AND c.status = 'active' AND (l.lease_until IS NULL OR l.lease_until < now())"
           " AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= now()) GROUP BY l.tenant_id"
           " UNION ALL SELECT tenant_id::text, 2 FROM channel_events WHERE processed_at IS NULL GROUP BY tenant_id"
           " UNION ALL SELECT r.tenant_id::text, 4 FROM routines r LEFT JOIN channel_connections c"
           " ON c.tenant_id = r.tenant_id AND c.id = r.connection_id WHERE r.enabled AND r.next_run_at <= now()"
           " AND (r.lease_until IS NULL OR r.lease_until < now()) AND (r.connection_id IS NULL OR c.status = 'active')"
           " GROUP BY r.tenant_id");

static char scan_cursor[37];

static void scan_chunk(void);

/* Work the scan found: a brand whose last claim put it to sleep keeps sleeping (its timer is armed for what
 * waits), unless it has slept for QUIET_MAX_MS. */
static void scan_want(const char *tenant, unsigned bits)
{
    tnode_t *t = tenant_get(tenant);
    if (t == NULL)
        return;
    if ((bits & W_PUSH) && t->quiet && oc_now_ms() - t->quiet_ms < QUIET_MAX_MS)
        bits &= ~(unsigned)W_PUSH;
    if (bits != 0)
        tenant_want(t, bits);
}

static void on_scan(void *arg, const oc_db_result_t *res)
{
    (void)arg;
    const char *last = res->err == NULL ? oc_db_get(res->results[0], 0, 1) : NULL;
    if (res->err == NULL) {
        const PGresult *r = res->results[1];
        for (int i = 0; i < PQntuples(r); i++)
            scan_want(PQgetvalue(r, i, 0), (unsigned)atoi(PQgetvalue(r, i, 1)));
        W.last_scan_ms = oc_now_ms();
    }
    if (last != NULL && oc_db_get_ll(res->results[0], 0, 2, 0) >= atoi(SCAN_CHUNK) && !W.stop) {
        snprintf(scan_cursor, sizeof(scan_cursor), "%s", last);
        scan_chunk();
        return;
    }
    W.scanning = 0;
}

static void scan_chunk(void)
{
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &w_scan_tenants;
    tx.steps[0].params[0] = scan_cursor;
    tx.steps[1].stmt = &w_scan;
    oc_metric_add(&m_scans, 1);
    if (oc_db_run(W.db, &tx, on_scan, NULL) != 0)
        W.scanning = 0;
}

static void scan(oc_timer_t *timer)
{
    (void)timer;
    oc_timer_start(W.loop, &W.scan_timer, (uint64_t)oc_config.worker_scan_ms);
    /* idle connections give their credentials back */
    uint64_t now = oc_now_ms();
    for (size_t b = 0; b < CBUCKETS; b++)
        for (centry_t *c = W.conns[b]; c != NULL; c = c->hnext)
            if (c->conn != NULL && c->refs == 0 && !c->pushing && now - c->last_used_ms > CONN_IDLE_MS)
                centry_unload(c);
    if (W.scanning || W.stop)
        return;
    W.scanning = 1;
    snprintf(scan_cursor, sizeof(scan_cursor), "00000000-0000-0000-0000-000000000000");
    scan_chunk();
}

/* --- notifications ------------------------------------------------------------ */

static void on_notify(void *arg, const char *channel, const char *payload)
{
    (void)arg;
    if (strcmp(channel, "oc_dirty") == 0) {
        want(payload, W_PUSH);
    } else if (strcmp(channel, "oc_events") == 0) {
        want(payload, W_EVENTS | W_ROUTINES);
    } else if (strcmp(channel, "oc_conn") == 0 && strlen(payload) == 73) {
        char tenant[37];
        memcpy(tenant, payload, 36);
        tenant[36] = '\0';
        centry_t *c = centry_find(tenant, payload + 37, 0);
        if (c != NULL) {
            c->circuit = CIRCUIT_CLOSED; /* an edit is a reason to try again at once */
            c->fails = 0;
            c->open_ms = 0;
            if (c->conn != NULL)
                centry_unload(c);
        }
        want(tenant, W_PUSH | W_ROUTINES);
    }
}

static void on_listen_up(void *arg)
{
    (void)arg;
    /* Notifications sent while we were not listening are lost: look, and wake every sleeping brand. */
    for (size_t b = 0; b < TBUCKETS; b++)
        for (tnode_t *t = W.tenants[b]; t != NULL; t = t->hnext)
            t->quiet = 0;
    scan(NULL);
}

/* --- main ---------------------------------------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    W.stop = 1;
}

/* /readyz: PostgreSQL reachable, LISTEN in place, and the scan answering (the loop is doing its work).
 * Redis is reported but not required: without it the hold gate only hears later of balances the worker
 * changed, and the worker goes on. */
static int ready(void *arg, json_t *checks)
{
    (void)arg;
    int pg = oc_db_pool_ready(W.db), listen = oc_pglisten_ready(W.listen);
    uint64_t now = oc_now_ms(),
             limit = 3 * (uint64_t)oc_config.worker_scan_ms + (uint64_t)oc_config.db_query_timeout_ms;
    int scan = W.last_scan_ms != 0 && now - W.last_scan_ms <= limit;
    json_object_set_new(checks, "postgres", json_string(pg ? "ok" : "unavailable"));
    json_object_set_new(checks, "listen", json_string(listen ? "ok" : "down"));
    json_object_set_new(checks, "scan", json_string(scan ? "ok" : W.last_scan_ms == 0 ? "not yet" : "late"));
    if (W.last_scan_ms != 0)
        json_object_set_new(checks, "last_scan_ms_ago", json_integer((json_int_t)(now - W.last_scan_ms)));
    json_object_set_new(checks, "redis", json_string(oc_redis_ready(W.redis) ? "ok" : "unavailable"));
    if (W.stop)
        json_object_set_new(checks, "stopping", json_true());
    return pg && listen && scan && !W.stop;
}

static int busy(void)
{
    return W.claims + W.events + W.routine_claims + W.routines + W.pushes + jobs_running();
}

int oc_worker_main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (oc_vault_init() != 0) {
        oc_log_error("the credential vault has no key (ONECOUNT_MASTER_KEY or the key file): the worker cannot open "
                     "channel credentials");
        return 1;
    }
    oc_metrics_register(&m_pushed);
    oc_metrics_register(&m_push_failed);
    oc_metrics_register(&m_push_stale);
    oc_metrics_register(&m_orders);
    oc_metrics_register(&m_routines);
    oc_metrics_register(&m_claims);
    oc_metrics_register(&m_scans);
    oc_metrics_register(&m_stuck);
    for (int i = 0; i < 2; i++)
        oc_metrics_register(&jobs[i].runs);
    for (int i = 0; i < NPRUNE; i++)
        oc_metrics_register(&m_pruned[i]);
    oc_db_metrics_init();
    char host[40] = "";
    gethostname(host, sizeof(host) - 1);
    char rnd[9];
    oc_random_hex(rnd, 4);
    snprintf(W.owner, sizeof(W.owner), "%s:%d:%s", host, (int)getpid(), rnd);
    for (int i = 0; i < 3; i++)
        h2o_linklist_init_anchor(&W.queue[i]);
    W.loop = oc_loop_create();
    W.db = oc_db_pool_create(W.loop, oc_config.database_url, oc_config.worker_db_pool_size, oc_config.db_queue_max,
                             oc_config.db_query_timeout_ms);
    W.http = oc_chttp_create(W.loop);
    oc_holds_init();
    W.redis = oc_redis_create(W.loop, oc_config.redis_url, oc_config.redis_timeout_ms);
    if (W.db == NULL || W.http == NULL || W.redis == NULL) {
        oc_log_error("worker start-up failed (out of memory or libcurl)");
        return 1;
    }
    char port_file[4096];
    if (oc_config.worker_port_file[0] != '\0')
        snprintf(port_file, sizeof(port_file), "%s", oc_config.worker_port_file);
    else
        snprintf(port_file, sizeof(port_file), "%s/worker.port", oc_config.data_dir);
    oc_opslisten_opts_t ops = {.role = "worker",
                               .listen = oc_config.worker_listen[0] != '\0' ? oc_config.worker_listen : "127.0.0.1:0",
                               .port_file = port_file,
                               .ready = ready};
    if ((W.ops = oc_opslisten_start(W.loop, &ops)) == NULL) {
        oc_log_error("the worker cannot serve /healthz, /readyz and /metrics (ONECOUNT_WORKER_LISTEN)");
        return 1;
    }
    static const char *const channels[] = {"oc_dirty", "oc_events", "oc_conn", NULL};
    W.listen = oc_pglisten_create(W.loop, oc_config.database_url, channels, on_notify, on_listen_up, NULL);
    snprintf(W.lease, sizeof(W.lease), "%d", oc_config.worker_lease_seconds);
    oc_timer_init(&W.pump_timer, pump, NULL);
    oc_timer_init(&W.scan_timer, scan, NULL);
    oc_timer_init(&W.renew_timer, renew, NULL);
    oc_timer_start(W.loop, &W.renew_timer, (uint64_t)oc_config.worker_lease_seconds * 1000 / 3);
    oc_timer_start(W.loop, &W.scan_timer, 200);
    for (int i = 0; i < 2; i++) {
        oc_timer_init(&jobs[i].timer, job_tick, &jobs[i]);
        oc_timer_start(W.loop, &jobs[i].timer, 500);
    }
    oc_log_fields(OC_LOG_INFO, "worker running",
                  json_pack("{s:s, s:i, s:i, s:i}", "owner", W.owner, "claim_limit", oc_config.worker_claim_limit,
                            "scan_ms", oc_config.worker_scan_ms, "ops_port", oc_opslisten_port(W.ops)));
    int was_ready = 0;
    while (!W.stop) {
        oc_loop_run_once(W.loop, 100);
        int db_up = oc_db_pool_ready(W.db);
        if (db_up && !was_ready)
            pump_soon();
        was_ready = db_up;
    }
    /* Finish what is in flight (each records its result and releases its
     * leases); whatever is still running at the deadline is abandoned and
     * its leases expire for another worker to take over. */
    oc_log_fields(OC_LOG_INFO, "worker stopping", json_pack("{s:i}", "in_flight", busy()));
    uint64_t deadline = oc_now_ms() + (uint64_t)oc_config.shutdown_timeout_ms;
    while (busy() > 0 && oc_now_ms() < deadline)
        oc_loop_run_once(W.loop, 50);
    oc_timer_stop(W.loop, &W.pump_timer);
    oc_timer_stop(W.loop, &W.scan_timer);
    oc_timer_stop(W.loop, &W.renew_timer);
    for (int i = 0; i < 2; i++)
        oc_timer_stop(W.loop, &jobs[i].timer);
    oc_opslisten_stop(W.ops);
    oc_pglisten_destroy(W.listen);
    /* The adapters' per-connection state goes before the HTTP client it
     * uses; operations still running end with an error (and their leases
     * expire for the next worker). */
    for (size_t b = 0; b < CBUCKETS; b++)
        for (centry_t *c = W.conns[b]; c != NULL; c = c->hnext) {
            oc_channel_conn_t *conn = c->conn;
            c->conn = NULL;
            oc_conn_free(conn);
        }
    for (int i = 0; i < 5; i++)
        oc_loop_run_once(W.loop, 0);
    oc_chttp_destroy(W.http);
    oc_redis_destroy(W.redis);
    for (int i = 0; i < 5; i++)
        oc_loop_run_once(W.loop, 0);
    /* An account being confirmed (a database call in flight) keeps its entry until the pool has called back. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            oc_db_pool_destroy(W.db);
        for (size_t b = 0; b < CBUCKETS; b++)
            for (centry_t **pc = &W.conns[b]; *pc != NULL;) {
                centry_t *c = *pc;
                if (pass == 0 && c->identity != NULL) {
                    pc = &c->hnext;
                    continue;
                }
                *pc = c->hnext;
                while (!h2o_linklist_is_empty(&c->waiters)) {
                    waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, link, c->waiters.next);
                    h2o_linklist_unlink(&w->link);
                    free(w);
                }
                json_decref(c->identity);
                free(c);
            }
    }
    for (int i = 0; i < 5; i++)
        oc_loop_run_once(W.loop, 0);
    for (size_t b = 0; b < TBUCKETS; b++)
        while (W.tenants[b] != NULL) {
            tnode_t *t = W.tenants[b];
            W.tenants[b] = t->hnext;
            oc_timer_stop(W.loop, &t->due);
            free(t);
        }
    oc_loop_destroy(W.loop);
    oc_log_info("worker stopped");
    return 0;
}
