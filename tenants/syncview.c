/*
 * syncview.c — the sync engine's state as people read it (see syncview.h).
 */
#include "tenants/syncview.h"
#include "tenants/skus.h"
#include "tenants/sops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- health ------------------------------------------------------------------------- */

/* One routine as the API shows it (list, health, run now). */
#define ROUTINE_JSON                                                                                                   \
    "json_build_object('id', ro.id, 'connection_id', ro.connection_id,"                                                \
    " 'connection', (SELECT c.name FROM channel_connections c WHERE c.tenant_id = ro.tenant_id"                        \
    "   AND c.id = ro.connection_id), 'kind', ro.kind, 'step_key', ro.step_key, 'title', coalesce(ro.title, ro.kind)," \
    " 'interval_seconds', ro.interval_seconds, 'cron', ro.cron, 'catch_up', ro.catch_up, 'in_sop', ro.in_sop,"         \
    " 'enabled', ro.enabled, 'next_run_at', ro.next_run_at, 'last_started_at', ro.last_started_at,"                    \
    " 'last_finished_at', ro.last_finished_at, 'last_status', ro.last_status, 'last_detail', ro.last_detail,"          \
    " 'running', ro.lease_until IS NOT NULL AND ro.lease_until > now())"

#define HEALTH_JSON                                                                                                    \
    "json_build_object('connection_id', c.id, 'kind', c.kind, 'name', c.name, 'status', c.status,"                     \
    " 'circuit', coalesce(h.circuit, 'closed'), 'consecutive_failures', coalesce(h.consecutive_failures, 0),"          \
    " 'last_push_ok_at', h.last_push_ok_at, 'last_error', h.last_error, 'last_error_at', h.last_error_at,"             \
    " 'throttled_total', coalesce(h.throttled_total, 0), 'pushes_total', coalesce(h.pushes_total, 0),"                 \
    " 'push_latency_ms', h.push_latency_ms_avg, 'push_lag_ms', c.push_lag_ms, 'ingest_lag_ms', c.ingest_lag_ms,"       \
    " 'push_lag', json_build_object('p50_ms', c.push_lag_p50_ms, 'p90_ms', c.push_lag_p90_ms,"                         \
    "   'p99_ms', c.push_lag_p99_ms, 'samples', c.push_lag_samples),"                                                  \
    " 'listings', (SELECT count(*) FROM listings l WHERE l.tenant_id = c.tenant_id AND l.connection_id = c.id),"       \
    " 'queue_depth', q.depth, 'failing', q.failing, 'oldest_dirty_seconds', q.oldest,"                                 \
    " 'unmapped_lines', (SELECT count(*) FROM channel_order_lines x WHERE x.tenant_id = c.tenant_id"                   \
    "   AND x.connection_id = c.id AND x.sku_id IS NULL),"                                                             \
    " 'open_alerts', (SELECT coalesce(json_agg(json_build_object('id', a.id::text, 'kind', a.kind, 'message',"         \
    "   a.message, 'opened_at', a.opened_at) ORDER BY a.opened_at), '[]') FROM alerts a"                               \
    "   WHERE a.tenant_id = c.tenant_id AND a.connection_id = c.id AND a.resolved_at IS NULL),"                        \
    " 'routines', (SELECT coalesce(json_agg(" ROUTINE_JSON " ORDER BY ro.kind), '[]')"                                 \
    "   FROM routines ro WHERE ro.tenant_id = c.tenant_id AND ro.connection_id = c.id))"                               \
    " FROM channel_connections c"                                                                                      \
    " LEFT JOIN connection_health h ON h.tenant_id = c.tenant_id AND h.connection_id = c.id"                           \
    " CROSS JOIN LATERAL (SELECT count(*) AS depth, count(*) FILTER (WHERE l.last_error IS NOT NULL) AS failing,"      \
    "   floor(extract(epoch FROM now() - min(coalesce(l.behind_since, l.desired_at))))::bigint AS oldest"              \
    "   FROM listings l"                                                                                               \
    "   WHERE l.tenant_id = c.tenant_id AND l.connection_id = c.id AND l.desired_version > l.pushed_version"           \
    "   AND l.state = 'active') q"

/* Listings behind (out of sync, on any connection, paused or not), failing (their last push failed) and
 * stuck (behind longer than stuck_after_seconds without a push getting through: what the worker alerts on,
 * paused connections left out): screens must not say all is well while any of these is not zero. */
OC_DB_STMT(
    sync_status, 2,
    "SELECT json_build_object('connections', coalesce(json_agg(x.j ORDER BY x.name), '[]'),"
    " 'open_alerts', (SELECT count(*) FROM alerts a WHERE a.tenant_id = $1 AND a.resolved_at IS NULL),"
    " 'listings_behind', (SELECT count(*) FROM listings l WHERE l.tenant_id = $1"
    "   AND l.desired_version > l.pushed_version AND l.state = 'active'),"
    " 'listings_failing', (SELECT count(*) FROM listings l WHERE l.tenant_id = $1"
    "   AND l.desired_version > l.pushed_version AND l.state = 'active' AND l.last_error IS NOT NULL),"
    " 'listings_stuck', (SELECT count(*) FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id"
    "   AND c.id = l.connection_id WHERE l.tenant_id = $1 AND l.desired_version > l.pushed_version"
    "   AND l.state = 'active' AND c.status <> 'paused' AND l.behind_since < now() - $2::int * interval '1 second'),"
    " 'stuck_after_seconds', $2::int,"
    " 'open_drift', (SELECT count(*) FROM drift_events d WHERE d.tenant_id = $1 AND d.healed_at IS NULL),"
    " 'pending_events', (SELECT count(*) FROM channel_events e WHERE e.tenant_id = $1"
    "   AND e.processed_at IS NULL))"
    " FROM (SELECT c.name, " HEALTH_JSON " WHERE c.tenant_id = $1) x(name, j)");
OC_DB_STMT(conn_health, 2, "SELECT " HEALTH_JSON " WHERE c.tenant_id = $1 AND c.id = $2::uuid");

void oc_syncview_status(oc_thread_t *th, const char *tenant, int stuck_after_seconds, oc_query_cb cb, void *arg)
{
    char after[16];
    snprintf(after, sizeof(after), "%d", stuck_after_seconds);
    const char *p[] = {tenant, after};
    oc_query_exec(th, tenant, &sync_status, p, oc_query_one, "object", cb, arg);
}

void oc_syncview_health(oc_thread_t *th, const char *tenant, const char *connection_id, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, connection_id};
    oc_query_exec(th, tenant, &conn_health, p, oc_query_one, "connection", cb, arg);
}

/* --- alerts and drift ------------------------------------------------------------------ */

OC_DB_STMT(alerts_list, 6,
           "SELECT json_build_object('id', a.id::text, 'at', a.opened_at, 'connection_id', a.connection_id,"
           " 'connection', c.name, 'kind', a.kind, 'message', a.message, 'opened_at', a.opened_at,"
           " 'resolved_at', a.resolved_at)"
           " FROM alerts a LEFT JOIN channel_connections c ON c.tenant_id = a.tenant_id AND c.id = a.connection_id"
           " WHERE a.tenant_id = $1 AND ($2 = 'all' OR ($2 = 'open') = (a.resolved_at IS NULL))"
           "   AND ($3::uuid IS NULL OR a.connection_id = $3)"
           "   AND ($4::text IS NULL OR (a.opened_at, a.id) < ($4::timestamptz, $5::bigint))"
           " ORDER BY a.opened_at DESC, a.id DESC LIMIT $6");
OC_DB_STMT(alert_resolve_one, 5,
           "WITH a AS (UPDATE alerts SET resolved_at = coalesce(resolved_at, now())"
           "           WHERE tenant_id = $1 AND id = $2::bigint RETURNING *)"
           " SELECT json_build_object('id', a.id::text, 'at', a.opened_at, 'connection_id', a.connection_id,"
           "  'connection', c.name, 'kind', a.kind, 'message', a.message, 'opened_at', a.opened_at,"
           "  'resolved_at', a.resolved_at),"
           "  audit_write($1, NULL, $3, $4, 'alert.resolve', 'alert', a.id::text,"
           "  jsonb_build_object('kind', a.kind), $5)"
           " FROM a LEFT JOIN channel_connections c ON c.tenant_id = a.tenant_id AND c.id = a.connection_id");

void oc_syncview_alerts(oc_thread_t *th, const char *tenant, const char *state, const char *connection_id,
                        const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, state, connection_id};
    oc_query_list(th, tenant, &alerts_list, p, 3, pg, 2, "alert", cb, arg);
}

void oc_syncview_alert_resolve(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg)
{
    const char *p[] = {a->tenant, id, a->user, a->token, a->request_id};
    oc_query_exec(th, a->tenant, &alert_resolve_one, p, oc_query_one, "alert", cb, arg);
}

OC_DB_STMT(drift_list, 6,
           "SELECT json_build_object('id', d.id::text, 'at', d.detected_at, 'listing_id', d.listing_id,"
           " 'connection_id', d.connection_id, 'connection', c.name, 'sku', k.code, 'seen_qty', d.seen_qty,"
           " 'pushed_qty', d.pushed_qty, 'desired_qty', d.desired_qty, 'classification', d.classification,"
           " 'action', d.action, 'detail', d.detail, 'detected_at', d.detected_at, 'healed_at', d.healed_at)"
           " FROM drift_events d JOIN skus k ON k.tenant_id = d.tenant_id AND k.id = d.sku_id"
           " LEFT JOIN channel_connections c ON c.tenant_id = d.tenant_id AND c.id = d.connection_id"
           " WHERE d.tenant_id = $1 AND ($2 = 'all' OR ($2 = 'open') = (d.healed_at IS NULL))"
           "   AND ($3::uuid IS NULL OR d.connection_id = $3)"
           "   AND ($4::text IS NULL OR (d.detected_at, d.id) < ($4::timestamptz, $5::bigint))"
           " ORDER BY d.detected_at DESC, d.id DESC LIMIT $6");

void oc_syncview_drift(oc_thread_t *th, const char *tenant, const char *state, const char *connection_id,
                       const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, state, connection_id};
    oc_query_list(th, tenant, &drift_list, p, 3, pg, 2, "drift finding", cb, arg);
}

/* --- routines --------------------------------------------------------------------------- */

OC_DB_STMT(routines_list, 1,
           "SELECT coalesce(json_agg(" ROUTINE_JSON " ORDER BY ro.connection_id NULLS FIRST, ro.kind), '[]')"
           " FROM routines ro WHERE ro.tenant_id = $1");
/* A routine's cadence or on/off: the brand's SOP override of its step (sop_routine_set, 0027), audited. */
OC_DB_STMT(routine_update, 7, "SELECT sop_routine_set($1, $2::uuid, $3::int, $4::boolean, $5::uuid, $6::uuid, $7)");
OC_DB_STMT(routine_get, 2, "SELECT " ROUTINE_JSON " FROM routines ro WHERE ro.tenant_id = $1 AND ro.id = $2::uuid");
OC_DB_STMT(routine_run_now, 2,
           "WITH ro AS (UPDATE routines SET next_run_at = least(next_run_at, now())"
           "            WHERE tenant_id = $1 AND id = $2::uuid RETURNING *)"
           " SELECT " ROUTINE_JSON ", pg_notify('oc_events', $1::text) FROM ro");

void oc_syncview_routines(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant};
    oc_query_exec(th, tenant, &routines_list, p, oc_query_one, "object", cb, arg);
}

void oc_syncview_routine_update(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *interval_seconds,
                                int enabled, oc_query_cb cb, void *arg)
{
    const char *p[] = {a->tenant, id,       interval_seconds, enabled < 0 ? NULL : enabled ? "true" : "false",
                       a->user,   a->token, a->request_id};
    oc_db_tx_t tx = {.tenant = a->tenant};
    oc_query_step(&tx, &routine_update, p, 7);
    const char *g[] = {a->tenant, id};
    oc_query_step(&tx, &routine_get, g, 2);
    oc_query_answer(th, &tx, &oc_sops_how_save, cb, arg);
}

void oc_syncview_routine_run(oc_thread_t *th, const char *tenant, const char *id, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, id};
    oc_query_exec(th, tenant, &routine_run_now, p, oc_query_one, "routine", cb, arg);
}

/* The runs of the brand's routines (routine_runs, 0025), newest first. */
OC_DB_STMT(
    routine_runs_list, 7,
    "SELECT json_build_object('id', x.id, 'at', x.started_at, 'routine_id', x.routine_id,"
    " 'connection_id', x.connection_id, 'connection', c.name, 'kind', x.kind, 'status', x.status,"
    " 'due_at', x.due_at, 'started_at', x.started_at, 'finished_at', x.finished_at,"
    " 'duration_ms', (extract(epoch FROM x.finished_at - x.started_at) * 1000)::bigint,"
    " 'detail', x.detail, 'worker', x.worker, 'attempt', x.attempt)"
    " FROM routine_runs x LEFT JOIN channel_connections c ON c.tenant_id = x.tenant_id"
    "   AND c.id = x.connection_id"
    " WHERE x.tenant_id = $1 AND ($2::text IS NULL OR x.kind = $2) AND ($3::uuid IS NULL OR x.connection_id = $3)"
    "   AND ($4::text IS NULL OR x.status = $4)"
    "   AND ($5::text IS NULL OR (x.started_at, x.id) < ($5::timestamptz, $6::uuid))"
    " ORDER BY x.started_at DESC, x.id DESC LIMIT $7");

void oc_syncview_routine_runs(oc_thread_t *th, const char *tenant, const char *kind, const char *connection_id,
                              const char *status, const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, kind, connection_id, status};
    oc_query_list(th, tenant, &routine_runs_list, p, 4, pg, 2, "routine run", cb, arg);
}

/* --- orders ------------------------------------------------------------------------------ */

OC_DB_STMT(parked_list, 1,
           "SELECT coalesce(json_agg(json_build_object('connection_id', x.connection_id, 'connection', c.name,"
           " 'kind', c.kind, 'channel_sku', x.channel_sku, 'lines', x.lines, 'units', x.units, 'orders', x.orders,"
           " 'first_seen_at', x.first_seen_at) ORDER BY x.first_seen_at), '[]')"
           " FROM (SELECT l.connection_id, l.channel_sku, count(*) AS lines, sum(l.qty - l.qty_cancelled) AS units,"
           "        json_agg(DISTINCT o.external_id) AS orders, min(l.first_seen_at) AS first_seen_at"
           "       FROM channel_order_lines l JOIN channel_orders o ON o.tenant_id = l.tenant_id AND o.id = l.order_id"
           "       WHERE l.tenant_id = $1 AND l.sku_id IS NULL GROUP BY l.connection_id, l.channel_sku) x"
           " JOIN channel_connections c ON c.tenant_id = $1 AND c.id = x.connection_id");

void oc_syncview_unmapped(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant};
    oc_query_exec(th, tenant, &parked_list, p, oc_query_one, "object", cb, arg);
}

OC_DB_STMT(
    orders_list, 8,
    "SELECT json_build_object('id', o.id, 'at', o.first_seen_at, 'connection_id', o.connection_id,"
    " 'connection', c.name, 'kind', c.kind, 'external_id', o.external_id, 'status', o.status,"
    " 'channel_created_at', o.channel_created_at, 'channel_updated_at', o.channel_updated_at,"
    " 'first_seen_at', o.first_seen_at, 'last_seen_at', o.last_seen_at, 'needs_ack', o.needs_ack,"
    " 'acked_at', o.acked_at, 'lines', (SELECT coalesce(json_agg(json_build_object('id', l.external_line_id,"
    "   'channel_sku', l.channel_sku, 'sku', k.code, 'qty', l.qty, 'qty_shipped', l.qty_shipped,"
    "   'qty_cancelled', l.qty_cancelled, 'recorded', json_build_object('held', l.rec_held, 'sold', l.rec_sold,"
    "   'shipped', l.rec_shipped, 'cancelled', l.rec_cancelled), 'parked', l.sku_id IS NULL)"
    "   ORDER BY l.external_line_id), '[]') FROM channel_order_lines l"
    "   LEFT JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id"
    "   WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id))"
    " FROM channel_orders o JOIN channel_connections c ON c.tenant_id = o.tenant_id AND c.id = o.connection_id"
    " WHERE o.tenant_id = $1 AND ($2::uuid IS NULL OR o.connection_id = $2)"
    "   AND ($3::text IS NULL OR (o.first_seen_at, o.id) < ($3::timestamptz, $4::uuid))"
    "   AND ($5::text IS NULL OR o.external_id = $5)"
    "   AND ($7::timestamptz IS NULL OR o.first_seen_at >= $7) AND ($8::timestamptz IS NULL OR o.first_seen_at < $8)"
    " ORDER BY o.first_seen_at DESC, o.id DESC LIMIT $6");

void oc_syncview_orders(oc_thread_t *th, const char *tenant, const char *connection_id, const char *external_id,
                        const char *from, const char *to, const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, connection_id, pg->after[0], pg->after[1], external_id, pg->limit_plus_one, from, to};
    oc_query_exec(th, tenant, &orders_list, p, oc_query_rows, "order", cb, arg);
}

/* --- a SKU's timeline -------------------------------------------------------------------- */

/*
 * Movements, pushes and drift findings of one SKU (and of the bundles the
 * push side shows for it), newest first, one page at a time.  With ?at=,
 * the answer also says what every channel was showing at that moment: the
 * last quantity it acknowledged before then, and the balance it was
 * computed from.
 */
OC_DB_STMT(timeline, 7,
           "WITH k AS (SELECT id FROM skus WHERE tenant_id = $1 AND code = $2),"
           " ev AS ("
           "  SELECT m.created_at AS at, 'm' || lpad(m.id::text, 19, '0') AS id, json_build_object('type', 'movement',"
           "   'kind', m.kind, 'qty', m.qty, 'on_hand_after', m.on_hand_after, 'committed_after', m.committed_after,"
           "   'reference', m.reference, 'channel_id', m.channel_id, 'reason', m.reason, 'movement_id', m.id::text,"
           "   'channel', (SELECT c.name FROM channel_connections c WHERE c.tenant_id = $1 AND c.id = m.channel_id),"
           "   'actor_user', m.actor_user, 'request_id', m.request_id) AS j"
           "  FROM movements m, k WHERE m.tenant_id = $1 AND m.sku_id = k.id"
           "  UNION ALL"
           "  SELECT p.sent_at, 'p' || lpad(p.id::text, 19, '0'), json_build_object('type', 'push',"
           "   'connection_id', p.connection_id, 'connection', c.name, 'kind', c.kind, 'listing_id', p.listing_id,"
           "   'qty', p.qty, 'version', p.desired_version, 'expected', p.expected, 'status', p.status,"
           "   'channel_qty', p.channel_qty, 'error', p.error, 'latency_ms', p.latency_ms)"
           "  FROM push_log p, k, channel_connections c WHERE p.tenant_id = $1 AND p.sku_id = k.id"
           "   AND c.tenant_id = p.tenant_id AND c.id = p.connection_id"
           "  UNION ALL"
           "  SELECT d.detected_at, 'd' || lpad(d.id::text, 19, '0'), json_build_object('type', 'drift',"
           "   'connection_id', d.connection_id, 'connection', c.name, 'kind', c.kind, 'listing_id', d.listing_id,"
           "   'seen_qty', d.seen_qty, 'pushed_qty', d.pushed_qty, 'desired_qty', d.desired_qty,"
           "   'classification', d.classification, 'action', d.action, 'healed_at', d.healed_at)"
           "  FROM drift_events d JOIN k ON d.sku_id = k.id LEFT JOIN channel_connections c"
           "   ON c.tenant_id = d.tenant_id AND c.id = d.connection_id WHERE d.tenant_id = $1)"
           " SELECT (j::jsonb || jsonb_build_object('at', at, 'id', id))::json FROM ev"
           " WHERE ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)"
           "   AND ($5::text IS NULL OR (at, id) < ($5::timestamptz, $6::text))"
           " ORDER BY at DESC, id DESC LIMIT $7");
OC_DB_STMT(shown_at, 3,
           "SELECT json_build_object('at', $3::timestamptz,"
           " 'balance', (SELECT json_build_object('on_hand', m.on_hand_after, 'committed', m.committed_after,"
           "   'movement_id', m.id::text, 'movement_at', m.created_at) FROM movements m, skus k"
           "   WHERE m.tenant_id = $1 AND k.tenant_id = $1 AND k.code = $2 AND m.sku_id = k.id"
           "   AND m.created_at <= $3 ORDER BY m.created_at DESC, m.id DESC LIMIT 1),"
           " 'channels', coalesce((SELECT json_agg(json_build_object('listing_id', l.id, 'connection_id',"
           "   l.connection_id, 'connection', c.name, 'kind', c.kind, 'showing', p.qty, 'status', p.status,"
           "   'pushed_at', p.sent_at, 'version', p.desired_version) ORDER BY c.name)"
           "   FROM listings l JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id"
           "   JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id"
           "   LEFT JOIN LATERAL (SELECT * FROM push_log p WHERE p.tenant_id = l.tenant_id AND p.listing_id = l.id"
           "     AND p.sent_at <= $3 AND p.status IN ('ok', 'pending') ORDER BY p.sent_at DESC, p.id DESC LIMIT 1) p"
           "   ON true WHERE l.tenant_id = $1 AND k.code = $2), '[]'))");

/* Step 0 checks the SKU, step 1 is the page, step 2 (with `at`) what the channels showed. */
static json_t *read_timeline(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    if (res->err != NULL) {
        oc_fail_db(f, res);
        return NULL;
    }
    if (PQntuples(res->results[0]) == 0) {
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such %s", what);
        return NULL;
    }
    json_t *out = json_pack("{s:o}", "items", oc_db_json_rows(res->results[1], 0));
    if (out != NULL && res->nresults == 3)
        json_object_set_new(out, "shown_at", oc_db_json(res->results[2], 0, 0));
    if (out == NULL)
        oc_fail(f, OC_FAIL_INTERNAL, NULL, NULL, "the answer could not be built");
    return out;
}

void oc_syncview_timeline(oc_thread_t *th, const char *tenant, const char *code, const char *from, const char *to,
                          const char *at, const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant};
    oc_skus_exists_step(&tx, tenant, code);
    const char *p[] = {tenant, code, from, to};
    oc_query_page_step(&tx, &timeline, p, 4, pg, 2);
    if (at != NULL) {
        const char *s[] = {tenant, code, at};
        oc_query_step(&tx, &shown_at, s, 3);
    }
    oc_query_run(th, &tx, read_timeline, "SKU", cb, arg);
}
