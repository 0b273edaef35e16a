/*
 * scan.c — the scan, the safety net under the notifications: every
 * worker_scan_ms it finds the brands with work due by time alone and wakes
 * them; and the walk over every brand in chunks that the scan and the jobs
 * share (see sync_internal.h).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"

#include <stdio.h>
#include <stdlib.h>

#define QUIET_MAX_MS 60000 /* a brand the claim put to sleep is looked at by the scan again after this */

oc_metric_t oc_sync_m_scans = {"onecount_worker_scans_total", "scan transactions (one per 400 brands)", NULL,
                               OC_METRIC_COUNTER};

/* --- brands in chunks ---------------------------------------------------------------------------- */

OC_DB_STMT(w_scan_tenants, 1,
           "SELECT set_config('app.tenant_id', coalesce(string_agg(id::text, ','), ''), true), max(id::text),"
           " count(*) FROM (SELECT id FROM brands WHERE id > $1::uuid ORDER BY id LIMIT " SCAN_CHUNK ") b");

void oc_sync_brands_step(oc_db_tx_t *tx, const char *after)
{
    tx->steps[0].stmt = &w_scan_tenants;
    tx->steps[0].params[0] = after;
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
    tnode_t *t = oc_sync_tenant_get(tenant);
    if (t == NULL)
        return;
    if ((bits & W_PUSH) && t->quiet && oc_now_ms() - t->quiet_ms < QUIET_MAX_MS)
        bits &= ~(unsigned)W_PUSH;
    if (bits != 0)
        oc_sync_tenant_want(t, bits);
}

static void on_scan(void *arg, const oc_db_result_t *res)
{
    (void)arg;
    const char *last = res->err == NULL ? oc_db_get(res->results[0], 0, 1) : NULL;
    if (res->err == NULL) {
        const PGresult *r = res->results[1];
        for (int i = 0; i < PQntuples(r); i++)
            scan_want(PQgetvalue(r, i, 0), (unsigned)atoi(PQgetvalue(r, i, 1)));
        oc_sync.last_scan_ms = oc_now_ms();
    }
    if (last != NULL && oc_db_get_ll(res->results[0], 0, 2, 0) >= atoi(SCAN_CHUNK) && !oc_sync.stop) {
        snprintf(scan_cursor, sizeof(scan_cursor), "%s", last);
        scan_chunk();
        return;
    }
    oc_sync.scanning = 0;
}

static void scan_chunk(void)
{
    oc_db_tx_t tx = {.nsteps = 2};
    oc_sync_brands_step(&tx, scan_cursor);
    tx.steps[1].stmt = &w_scan;
    oc_metric_add(&oc_sync_m_scans, 1);
    if (oc_db_run(oc_sync.db, &tx, on_scan, NULL) != 0)
        oc_sync.scanning = 0;
}

void oc_sync_scan(oc_timer_t *timer)
{
    (void)timer;
    oc_timer_start(oc_sync.loop, &oc_sync.scan_timer, (uint64_t)oc_config.worker_scan_ms);
    oc_sync_conns_unload_idle();
    if (oc_sync.scanning || oc_sync.stop)
        return;
    oc_sync.scanning = 1;
    snprintf(scan_cursor, sizeof(scan_cursor), "00000000-0000-0000-0000-000000000000");
    scan_chunk();
}
