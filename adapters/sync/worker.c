/*
 * worker.c — the sync engine's process (see worker.h): its one state, the
 * brands' run queues and the pump that starts work from them within the
 * global limits, lease renewal, the LISTEN/NOTIFY wiring, /readyz, and
 * start-up and shutdown.  The work itself is in the other files of this
 * folder (see sync_internal.h and README.md).
 */
#include "adapters/sync/worker.h"
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "tenants/holds.h"
#include "tenants/vault.h"
#include "tenants/workjobs.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLAIMS_MAX     8 /* push claims in flight */
#define EVENTS_MAX     2 /* events batches in flight */
#define ROUTINE_CLAIMS 2 /* routine claims in flight */

/* --- state ----------------------------------------------------------------- */

oc_sync_state_t oc_sync;

static void pump_soon(void);

unsigned oc_sync_hash(const char *a, const char *b)
{
    unsigned h = 2166136261u;
    for (const char *p = a; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = b != NULL ? b : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static void on_due(oc_timer_t *timer)
{
    oc_sync_tenant_want(timer->data, W_PUSH);
}

tnode_t *oc_sync_tenant_get(const char *id)
{
    if (strlen(id) != 36)
        return NULL;
    unsigned b = oc_sync_hash(id, NULL) % TBUCKETS;
    for (tnode_t *t = oc_sync.tenants[b]; t != NULL; t = t->hnext)
        if (strcmp(t->id, id) == 0)
            return t;
    tnode_t *t = oc_calloc(1, sizeof(*t));
    memcpy(t->id, id, 37);
    oc_timer_init(&t->due, on_due, t);
    t->hnext = oc_sync.tenants[b];
    oc_sync.tenants[b] = t;
    return t;
}

static int kind_index(unsigned bit)
{
    return bit == W_PUSH ? 0 : bit == W_EVENTS ? 1 : 2;
}

/* Marks `t` as wanting `bits`; queues it for each kind not already queued or running. */
void oc_sync_tenant_want(tnode_t *t, unsigned bits)
{
    if (bits & W_PUSH)
        t->quiet = 0;
    t->want |= bits;
    for (unsigned bit = 1; bit <= W_ROUTINES; bit <<= 1) {
        if (!(t->want & bit) || (t->queued & bit) || (t->running & bit))
            continue;
        t->queued |= bit;
        h2o_linklist_insert(&oc_sync.queue[kind_index(bit)], &t->q[kind_index(bit)]);
    }
    pump_soon();
}

static void want(const char *tenant, unsigned bits)
{
    tnode_t *t = oc_sync_tenant_get(tenant);
    if (t != NULL)
        oc_sync_tenant_want(t, bits);
}

/* A job of kind `bit` for `t` ended: queue it again if more was asked meanwhile. */
void oc_sync_tenant_done(tnode_t *t, unsigned bit)
{
    t->running &= ~bit;
    if (t->want & bit)
        oc_sync_tenant_want(t, 0);
    pump_soon();
}

/* --- leases ------------------------------------------------------------------ */

/* Every third of a lease, the brands with work in flight get their leases extended. */
static void renew(oc_timer_t *timer)
{
    (void)timer;
    for (size_t b = 0; b < TBUCKETS; b++)
        for (tnode_t *t = oc_sync.tenants[b]; t != NULL; t = t->hnext)
            if (t->leased > 0)
                oc_workjobs_renew_brand(oc_sync.db, t->id, oc_sync.owner, oc_config.worker_lease_seconds);
    oc_sync_jobs_renew();
    oc_timer_start(oc_sync.loop, &oc_sync.renew_timer, (uint64_t)oc_config.worker_lease_seconds * 1000 / 3);
}

/* --- the pump ----------------------------------------------------------------- */

static tnode_t *dequeue(unsigned bit)
{
    h2o_linklist_t *q = &oc_sync.queue[kind_index(bit)];
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
    if (oc_sync.stop || !oc_db_pool_ready(oc_sync.db))
        return;
    tnode_t *t;
    while (oc_sync.events < EVENTS_MAX && (t = dequeue(W_EVENTS)) != NULL)
        oc_sync_events_run(t);
    while (oc_sync.claims < CLAIMS_MAX && oc_sync.pushes < oc_config.worker_pushes_max && (t = dequeue(W_PUSH)) != NULL)
        oc_sync_push_claim(t);
    while (oc_sync.routine_claims < ROUTINE_CLAIMS && oc_sync.routines < oc_config.worker_routines_max &&
           (t = dequeue(W_ROUTINES)) != NULL)
        oc_sync_routines_claim(t);
}

static void pump_soon(void)
{
    if (!oc_timer_armed(&oc_sync.pump_timer))
        oc_timer_start(oc_sync.loop, &oc_sync.pump_timer, 0);
}

/* --- notifications ------------------------------------------------------------ */

static void on_notify(void *arg, const char *channel, const char *payload)
{
    (void)arg;
    if (strcmp(channel, "oc_dirty") == 0) {
        want(payload, W_PUSH);
    } else if (strcmp(channel, "oc_events") == 0) {
        want(payload, W_EVENTS | W_ROUTINES);
    } else if (strcmp(channel, "oc_notify") == 0) {
        oc_sync_notify_wake();
    } else if (strcmp(channel, "oc_conn") == 0 && strlen(payload) == 73) {
        char tenant[37];
        memcpy(tenant, payload, 36);
        tenant[36] = '\0';
        oc_sync_conn_edited(tenant, payload + 37);
        want(tenant, W_PUSH | W_ROUTINES);
    }
}

static void on_listen_up(void *arg)
{
    (void)arg;
    /* Notifications sent while we were not listening are lost: look, and wake every sleeping brand. */
    for (size_t b = 0; b < TBUCKETS; b++)
        for (tnode_t *t = oc_sync.tenants[b]; t != NULL; t = t->hnext)
            t->quiet = 0;
    oc_sync_scan(NULL);
    oc_sync_notify_wake();
}

/* --- main ---------------------------------------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    oc_sync.stop = 1;
}

/* /readyz: PostgreSQL reachable, LISTEN in place, and the scan answering (the loop is doing its work).
 * Redis is reported but not required: without it the hold gate only hears later of balances the worker
 * changed, and the worker goes on. */
static int ready(void *arg, json_t *checks)
{
    (void)arg;
    int pg = oc_db_pool_ready(oc_sync.db), listen = oc_pglisten_ready(oc_sync.listen);
    uint64_t now = oc_now_ms(),
             limit = 3 * (uint64_t)oc_config.worker_scan_ms + (uint64_t)oc_config.db_query_timeout_ms;
    int scan = oc_sync.last_scan_ms != 0 && now - oc_sync.last_scan_ms <= limit;
    json_object_set_new(checks, "postgres", json_string(pg ? "ok" : "unavailable"));
    json_object_set_new(checks, "listen", json_string(listen ? "ok" : "down"));
    json_object_set_new(checks, "scan", json_string(scan ? "ok" : oc_sync.last_scan_ms == 0 ? "not yet" : "late"));
    if (oc_sync.last_scan_ms != 0)
        json_object_set_new(checks, "last_scan_ms_ago", json_integer((json_int_t)(now - oc_sync.last_scan_ms)));
    json_object_set_new(checks, "redis", json_string(oc_redis_ready(oc_sync.redis) ? "ok" : "unavailable"));
    if (oc_sync.stop)
        json_object_set_new(checks, "stopping", json_true());
    return pg && listen && scan && !oc_sync.stop;
}

static int busy(void)
{
    return oc_sync.claims + oc_sync.events + oc_sync.routine_claims + oc_sync.routines + oc_sync.pushes +
           oc_sync_jobs_running() + oc_sync_notify_running();
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
    oc_metrics_register(&oc_sync_m_pushed);
    oc_metrics_register(&oc_sync_m_push_failed);
    oc_metrics_register(&oc_sync_m_push_stale);
    oc_metrics_register(&oc_sync_m_orders);
    oc_metrics_register(&oc_sync_m_routines);
    oc_metrics_register(&oc_sync_m_claims);
    oc_metrics_register(&oc_sync_m_scans);
    oc_sync_jobs_register_metrics();
    oc_db_metrics_init();
    char host[40] = "";
    gethostname(host, sizeof(host) - 1);
    char rnd[9];
    oc_random_hex(rnd, 4);
    snprintf(oc_sync.owner, sizeof(oc_sync.owner), "%s:%d:%s", host, (int)getpid(), rnd);
    for (int i = 0; i < 3; i++)
        h2o_linklist_init_anchor(&oc_sync.queue[i]);
    oc_sync.loop = oc_loop_create();
    oc_sync.db = oc_db_pool_create(oc_sync.loop, oc_config.database_url, oc_config.worker_db_pool_size,
                                   oc_config.db_queue_max, oc_config.db_query_timeout_ms);
    oc_sync.http = oc_chttp_create(oc_sync.loop);
    oc_holds_init();
    oc_sync.redis = oc_redis_create(oc_sync.loop, oc_config.redis_url, oc_config.redis_timeout_ms);
    if (oc_sync.http == NULL || oc_sync.redis == NULL) {
        oc_log_error("worker start-up failed (%s)", oc_sync.http == NULL ? "libcurl" : "the Redis URL");
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
    if ((oc_sync.ops = oc_opslisten_start(oc_sync.loop, &ops)) == NULL) {
        oc_log_error("the worker cannot serve /healthz, /readyz and /metrics (ONECOUNT_WORKER_LISTEN)");
        return 1;
    }
    static const char *const channels[] = {"oc_dirty", "oc_events", "oc_conn", "oc_notify", NULL};
    oc_sync.listen = oc_pglisten_create(oc_sync.loop, oc_config.database_url, channels, on_notify, on_listen_up, NULL);
    oc_timer_init(&oc_sync.pump_timer, pump, NULL);
    oc_timer_init(&oc_sync.scan_timer, oc_sync_scan, NULL);
    oc_timer_init(&oc_sync.renew_timer, renew, NULL);
    oc_timer_start(oc_sync.loop, &oc_sync.renew_timer, (uint64_t)oc_config.worker_lease_seconds * 1000 / 3);
    oc_timer_start(oc_sync.loop, &oc_sync.scan_timer, 200);
    oc_sync_jobs_start();
    oc_sync_notify_start();
    oc_log_fields(OC_LOG_INFO, "worker running",
                  json_pack("{s:s, s:i, s:i, s:i}", "owner", oc_sync.owner, "claim_limit", oc_config.worker_claim_limit,
                            "scan_ms", oc_config.worker_scan_ms, "ops_port", oc_opslisten_port(oc_sync.ops)));
    int was_ready = 0;
    while (!oc_sync.stop) {
        oc_loop_run_once(oc_sync.loop, 100);
        int db_up = oc_db_pool_ready(oc_sync.db);
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
        oc_loop_run_once(oc_sync.loop, 50);
    oc_timer_stop(oc_sync.loop, &oc_sync.pump_timer);
    oc_timer_stop(oc_sync.loop, &oc_sync.scan_timer);
    oc_timer_stop(oc_sync.loop, &oc_sync.renew_timer);
    oc_sync_jobs_stop();
    oc_sync_notify_stop();
    oc_opslisten_stop(oc_sync.ops);
    oc_pglisten_destroy(oc_sync.listen);
    /* The adapters' per-connection state goes before the HTTP client it
     * uses; operations still running end with an error (and their leases
     * expire for the next worker). */
    oc_sync_conns_drop();
    for (int i = 0; i < 5; i++)
        oc_loop_run_once(oc_sync.loop, 0);
    oc_chttp_destroy(oc_sync.http);
    oc_redis_destroy(oc_sync.redis);
    for (int i = 0; i < 5; i++)
        oc_loop_run_once(oc_sync.loop, 0);
    /* An account being confirmed (a database call in flight) keeps its entry until the pool has called back. */
    oc_sync_conns_free(0);
    oc_db_pool_destroy(oc_sync.db);
    oc_sync_conns_free(1);
    for (int i = 0; i < 5; i++)
        oc_loop_run_once(oc_sync.loop, 0);
    for (size_t b = 0; b < TBUCKETS; b++)
        while (oc_sync.tenants[b] != NULL) {
            tnode_t *t = oc_sync.tenants[b];
            oc_sync.tenants[b] = t->hnext;
            oc_timer_stop(oc_sync.loop, &t->due);
            free(t);
        }
    oc_loop_destroy(oc_sync.loop);
    oc_log_info("worker stopped");
    return 0;
}
