/*
 * events.c — stored webhook events: a batch of a brand's unprocessed events
 * at a time turns into order/return polls and read-backs (events_process,
 * migration 0006); the polls then run as routines (see worker.h).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/log.h"

#include <stdio.h>

#define EVENTS_BATCH 200

OC_DB_STMT(w_events, 2, "SELECT events_process($1, $2::int)");

static void on_events(void *arg, const oc_db_result_t *res)
{
    tnode_t *t = arg;
    oc_sync.events--;
    json_t *r = res->err == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_WARN, "events failed", json_pack("{s:s, s:s}", "tenant", t->id, "error", res->err));
    long long n = json_integer_value(json_object_get(r, "processed"));
    if (n >= EVENTS_BATCH)
        t->want |= W_EVENTS;
    if (json_integer_value(json_object_get(r, "polls")) > 0)
        t->want |= W_ROUTINES;
    json_decref(r);
    oc_sync_tenant_done(t, W_EVENTS);
    if (t->want & W_ROUTINES)
        oc_sync_tenant_want(t, W_ROUTINES);
}

void oc_sync_events_run(tnode_t *t)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", EVENTS_BATCH);
    const char *p[] = {t->id, limit};
    t->running |= W_EVENTS;
    oc_sync.events++;
    if (oc_db_exec(oc_sync.db, t->id, &w_events, p, on_events, t) != 0) {
        oc_sync.events--;
        t->want |= W_EVENTS;
        t->running &= ~W_EVENTS;
    }
}
