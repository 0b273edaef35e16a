/*
 * scan.c — the scan, the safety net under the notifications: every
 * worker_scan_ms it finds the brands with work due by time alone and wakes
 * them (oc_workjobs_due, tenants/workjobs.h: every brand, a chunk per
 * transaction).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"
#include "tenants/workjobs.h"

#include <stdio.h>

#define QUIET_MAX_MS 60000 /* a brand the claim put to sleep is looked at by the scan again after this */

oc_metric_t oc_sync_m_scans = {"onecount_worker_scans_total", "scan transactions (one per 400 brands)", NULL,
                               OC_METRIC_COUNTER};

/*
 * The safety net under the notifications: every worker_scan_ms, one transaction per 400 brands finds the
 * brands with work that is due by time alone — a push whose backoff ended, a routine whose next run came —
 * and wakes them.
 */
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

static void on_scan(void *arg, const oc_brands_chunk_t *chunk, const oc_due_t *due, int n, const oc_fail_t *f)
{
    (void)arg;
    if (f == NULL) {
        for (int i = 0; i < n; i++)
            scan_want(due[i].tenant, ((due[i].work & OC_DUE_PUSH) ? W_PUSH : 0) |
                                         ((due[i].work & OC_DUE_EVENTS) ? W_EVENTS : 0) |
                                         ((due[i].work & OC_DUE_ROUTINES) ? W_ROUTINES : 0));
        oc_sync.last_scan_ms = oc_now_ms();
    }
    if (chunk->last != NULL && chunk->full && !oc_sync.stop) {
        snprintf(scan_cursor, sizeof(scan_cursor), "%s", chunk->last);
        scan_chunk();
        return;
    }
    oc_sync.scanning = 0;
}

static void scan_chunk(void)
{
    oc_metric_add(&oc_sync_m_scans, 1);
    if (oc_workjobs_due(oc_sync.db, scan_cursor, on_scan, NULL) != 0)
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
    snprintf(scan_cursor, sizeof(scan_cursor), "%s", OC_WORKJOBS_FIRST);
    scan_chunk();
}
