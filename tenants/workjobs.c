/*
 * workjobs.c — leases, cross-brand jobs and the scan (see workjobs.h).
 */
#include "tenants/workjobs.h"
#include "runtime/alloc.h"

#include <stdlib.h>

#define TEXT_OF(x) #x
#define TEXT(x)    TEXT_OF(x)
#define CHUNK_TEXT TEXT(OC_WORKJOBS_CHUNK) /* in the SQL */

OC_DB_STMT(workjobs_leases_renew, 3, "SELECT leases_renew($1, $2, $3::int)");
OC_DB_STMT(workjobs_claim, 4, "SELECT worker_job_claim($1, $2, $3::int, $4::int)");
OC_DB_STMT(workjobs_finish, 4, "SELECT worker_job_finish($1, $2, $3, $4::jsonb)");
OC_DB_STMT(workjobs_renew, 2, "SELECT worker_jobs_renew($1, $2::int)");
OC_DB_STMT(workjobs_stuck, 1, "SELECT stuck_alerts_refresh($1::int)");
OC_DB_STMT(workjobs_exceptions, 2, "SELECT exceptions_refresh($1::int, $2::int)");
OC_DB_STMT(workjobs_prune, 3, "SELECT retention_prune($1, $2::bigint, $3::int)");
/* The chunk of brands after $1, made the transaction's tenants; answers the last id and how many. */
OC_DB_STMT(workjobs_brands, 1,
           "SELECT set_config('app.tenant_id', coalesce(string_agg(id::text, ','), ''), true), max(id::text),"
           " count(*) FROM (SELECT id FROM brands WHERE id > $1::uuid ORDER BY id LIMIT " CHUNK_TEXT ") b");
/* Brands with work due by time alone — a push whose backoff ended, a routine whose next run came — with the
 * same conditions the claims use, so a brand is woken only for work a claim can take (a paused connection's
 * listings and routines wait without a claim a second).  The second column is an OC_DUE_* bit. */
OC_DB_STMT(workjobs_due, 0,
           "SELECT l.tenant_id::text, 1 FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id"
           " AND c.id = l.connection_id WHERE l.desired_version > l.pushed_version AND l.state = 'active'"
           " AND c.status = 'active' AND (l.lease_until IS NULL OR l.lease_until < now())"
           " AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= now()) GROUP BY l.tenant_id"
           " UNION ALL SELECT tenant_id::text, 2 FROM channel_events WHERE processed_at IS NULL GROUP BY tenant_id"
           /* routines due by time (the routines_due index), and those whose worker died (routines_leased) */
           " UNION ALL SELECT r.tenant_id::text, 4 FROM routines r LEFT JOIN channel_connections c"
           " ON c.tenant_id = r.tenant_id AND c.id = r.connection_id WHERE r.enabled AND r.next_run_at <= now()"
           " AND (r.lease_until IS NULL OR r.lease_until < now()) AND (r.connection_id IS NULL OR c.status = 'active')"
           " GROUP BY r.tenant_id"
           " UNION ALL SELECT r.tenant_id::text, 4 FROM routines r LEFT JOIN channel_connections c"
           " ON c.tenant_id = r.tenant_id AND c.id = r.connection_id WHERE r.lease_owner IS NOT NULL"
           " AND r.lease_until < now() AND r.enabled AND (r.connection_id IS NULL OR c.status = 'active')"
           " GROUP BY r.tenant_id"
           /* checklist items just past due: the brand's claim alerts them */
           " UNION ALL SELECT tenant_id::text, 4 FROM checklist_items WHERE state = 'open'"
           " AND overdue_alerted_at IS NULL AND due_at <= now() GROUP BY tenant_id");

const char *const oc_workjobs_prune_tables[OC_WORKJOBS_NPRUNE] = {"push_log",         "channel_events", "drift_events",
                                                                  "idempotency_keys", "routine_runs",   "exceptions"};

int oc_workjobs_renew_brand(oc_db_pool_t *db, const char *tenant, const char *owner, int lease_s)
{
    char l[24];
    const char *p[] = {tenant, owner, oc_query_int(l, lease_s)};
    return oc_query_typed_exec(db, tenant, &workjobs_leases_renew, p, NULL, NULL, NULL);
}

static void read_claim(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    json_t *r = f == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    ((oc_workjobs_claim_cb)done)(arg, json_is_true(json_object_get(r, "claimed")),
                                 json_integer_value(json_object_get(r, "wait_ms")), f);
    json_decref(r);
}

int oc_workjobs_claim(oc_db_pool_t *db, const char *kind, const char *owner, int lease_s, int interval_s,
                      oc_workjobs_claim_cb cb, void *arg)
{
    char l[24], i[24];
    const char *p[] = {kind, owner, oc_query_int(l, lease_s), oc_query_int(i, interval_s)};
    return oc_query_typed_exec(db, NULL, &workjobs_claim, p, read_claim, (void (*)(void))cb, arg);
}

int oc_workjobs_finish(oc_db_pool_t *db, const char *kind, const char *owner, int failed, const json_t *detail,
                       oc_query_done_cb cb, void *arg)
{
    char *text = json_dumps(detail, JSON_COMPACT);
    const char *p[] = {kind, owner, failed ? "error" : "ok", text};
    int rc = oc_query_typed_exec(db, NULL, &workjobs_finish, p, oc_query_read_done, (void (*)(void))cb, arg);
    free(text);
    return rc;
}

int oc_workjobs_renew(oc_db_pool_t *db, const char *owner, int lease_s)
{
    char l[24];
    const char *p[] = {owner, oc_query_int(l, lease_s)};
    return oc_query_typed_exec(db, NULL, &workjobs_renew, p, NULL, NULL, NULL);
}

/* --- over every brand, a chunk per transaction --------------------------------------------------- */

/* Runs `stmt` with `params` for the chunk of brands after `after` (step 0 makes them the tenants). */
static int run_chunk(oc_db_pool_t *db, const char *after, const oc_db_stmt_t *stmt, const char *const *params,
                     oc_query_typed_fn read, void (*done)(void), void *arg)
{
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &workjobs_brands;
    tx.steps[0].params[0] = after;
    tx.steps[1].stmt = stmt;
    for (int i = 0; i < stmt->nparams; i++)
        tx.steps[1].params[i] = params[i];
    return oc_query_typed_run(db, &tx, read, done, arg);
}

static oc_brands_chunk_t chunk_of(const oc_db_result_t *res, const oc_fail_t *f)
{
    if (f != NULL)
        return (oc_brands_chunk_t){0};
    return (oc_brands_chunk_t){.last = oc_db_get(res->results[0], 0, 1),
                               .full = oc_db_get_ll(res->results[0], 0, 2, 0) >= OC_WORKJOBS_CHUNK};
}

static void read_stuck(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    oc_brands_chunk_t chunk = chunk_of(res, f);
    json_t *r = f == NULL ? oc_db_json(res->results[1], 0, 0) : NULL;
    oc_stuck_counts_t c = {.stuck = json_integer_value(json_object_get(r, "stuck")),
                           .opened = json_integer_value(json_object_get(r, "opened")),
                           .closed = json_integer_value(json_object_get(r, "closed"))};
    json_decref(r);
    ((oc_workjobs_stuck_cb)done)(arg, &chunk, &c, f);
}

int oc_workjobs_stuck_alerts(oc_db_pool_t *db, const char *after, int stuck_after_s, oc_workjobs_stuck_cb cb, void *arg)
{
    char s[24];
    const char *p[] = {oc_query_int(s, stuck_after_s)};
    return run_chunk(db, after, &workjobs_stuck, p, read_stuck, (void (*)(void))cb, arg);
}

static void read_exceptions(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    oc_brands_chunk_t chunk = chunk_of(res, f);
    json_t *r = f == NULL ? oc_db_json(res->results[1], 0, 0) : NULL;
    ((oc_workjobs_exceptions_cb)done)(arg, &chunk, r, f);
    json_decref(r);
}

int oc_workjobs_exceptions(oc_db_pool_t *db, const char *after, int stuck_after_s, int full_s,
                           oc_workjobs_exceptions_cb cb, void *arg)
{
    char s[24], fs[24];
    const char *p[] = {oc_query_int(s, stuck_after_s), oc_query_int(fs, full_s)};
    return run_chunk(db, after, &workjobs_exceptions, p, read_exceptions, (void (*)(void))cb, arg);
}

static void read_pruned(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    oc_brands_chunk_t chunk = chunk_of(res, f);
    ((oc_workjobs_prune_cb)done)(arg, &chunk, f == NULL ? oc_db_get_ll(res->results[1], 0, 0, 0) : 0, f);
}

int oc_workjobs_prune(oc_db_pool_t *db, const char *after, int table, long long keep_s, int batch_rows,
                      oc_workjobs_prune_cb cb, void *arg)
{
    if (table < 0 || table >= OC_WORKJOBS_NPRUNE)
        return OC_EINVAL;
    char k[24], b[24];
    const char *p[] = {oc_workjobs_prune_tables[table], oc_query_int(k, keep_s), oc_query_int(b, batch_rows)};
    return run_chunk(db, after, &workjobs_prune, p, read_pruned, (void (*)(void))cb, arg);
}

static void read_due(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    oc_brands_chunk_t chunk = chunk_of(res, f);
    const PGresult *r = f == NULL ? res->results[1] : NULL;
    int n = r != NULL ? PQntuples(r) : 0;
    oc_due_t *due = n > 0 ? oc_calloc((size_t)n, sizeof(*due)) : NULL;
    for (int i = 0; i < n; i++)
        due[i] = (oc_due_t){PQgetvalue(r, i, 0), (unsigned)atoi(PQgetvalue(r, i, 1))};
    ((oc_workjobs_due_cb)done)(arg, &chunk, due, n, f);
    free(due);
}

int oc_workjobs_due(oc_db_pool_t *db, const char *after, oc_workjobs_due_cb cb, void *arg)
{
    return run_chunk(db, after, &workjobs_due, NULL, read_due, (void (*)(void))cb, arg);
}
