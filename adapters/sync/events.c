/*
 * events.c — stored webhook events: a batch of a brand's unprocessed events
 * at a time turns into order/return polls and read-backs (oc_events_process,
 * tenants/events.h); the polls then run as routines (see worker.h).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/log.h"
#include "tenants/events.h"

#define EVENTS_BATCH 200

static void on_events(void *arg, long long processed, long long polls, const oc_fail_t *f)
{
    tnode_t *t = arg;
    oc_sync.events--;
    if (f != NULL)
        oc_log_fields(OC_LOG_WARN, "events failed",
                      json_pack("{s:s, s:s}", "tenant", t->id, "error", oc_sync_fail_text(f, 0)));
    if (processed >= EVENTS_BATCH)
        t->want |= W_EVENTS;
    if (polls > 0)
        t->want |= W_ROUTINES;
    oc_sync_tenant_done(t, W_EVENTS);
    if (t->want & W_ROUTINES)
        oc_sync_tenant_want(t, W_ROUTINES);
}

void oc_sync_events_run(tnode_t *t)
{
    t->running |= W_EVENTS;
    oc_sync.events++;
    if (oc_events_process(oc_sync.db, t->id, EVENTS_BATCH, on_events, t) != 0) {
        oc_sync.events--;
        t->want |= W_EVENTS;
        t->running &= ~W_EVENTS;
    }
}
