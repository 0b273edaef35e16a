/*
 * routines.c — scheduled routines: claim, outcome, and their own work (see routines.h).
 */
#include "tenants/routines.h"
#include "tenants/orders.h"

#include <stdlib.h>
#include <string.h>

OC_DB_STMT(routines_claim, 4, "SELECT routines_claim($1, $2, $3::int, $4::int)");
OC_DB_STMT(routines_finish, 7, "SELECT routine_finish($1, $2::uuid, $3, $4, $5::jsonb, $6::int, $7::uuid)");
OC_DB_STMT(routines_read_list, 3,
           "SELECT coalesce(jsonb_agg(jsonb_build_object('listing_id', id, 'sku', external_sku, 'item_ref', item_ref,"
           " 'location_ref', location_ref)), '[]') FROM (SELECT id, external_sku, item_ref, location_ref FROM listings"
           " WHERE tenant_id = $1 AND connection_id = $2::uuid AND state = 'active' AND pushed_version > 0"
           " ORDER BY seen_at NULLS FIRST LIMIT $3::int) x");
OC_DB_STMT(routines_read_record, 3, "SELECT read_back_record($1, $2::uuid, $3::jsonb)");
/* Listings locked in id order, as every other path locks them (migrations/0009, 0016): a plain UPDATE took
 * them in scan order and deadlocked against sales refreshing the same listings. */
OC_DB_STMT(routines_repush, 2,
           "WITH mine AS (SELECT id FROM listings WHERE tenant_id = $1 AND connection_id = $2::uuid"
           "   AND state = 'active' ORDER BY id FOR UPDATE),"
           " u AS (UPDATE listings l SET desired_version = l.desired_version + 1 FROM mine"
           "   WHERE l.tenant_id = $1 AND l.id = mine.id RETURNING 1)"
           " SELECT count(*) AS listings, pg_notify('oc_dirty', $1::text) FROM u");
OC_DB_STMT(routines_velocity, 1, "SELECT velocity_refresh($1), listings_refresh_brand($1)");

/* Column 0 of the first row, as JSON, borrowed for the answer. */
static void read_json(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    json_t *v = f == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    ((oc_routines_json_cb)done)(arg, v, f);
    json_decref(v);
}

int oc_routines_claim(oc_db_pool_t *db, const char *tenant, const char *owner, int limit, int lease_s,
                      oc_routines_json_cb cb, void *arg)
{
    char l[24], s[24];
    const char *p[] = {tenant, owner, oc_query_int(l, limit), oc_query_int(s, lease_s)};
    return oc_query_typed_exec(db, tenant, &routines_claim, p, read_json, (void (*)(void))cb, arg);
}

int oc_routines_finish(oc_db_pool_t *db, const char *tenant, const char *id, const char *run_id, const char *owner,
                       int failed, const json_t *detail, int retry_s, oc_query_done_cb cb, void *arg)
{
    char *text = json_dumps(detail, JSON_COMPACT);
    char retry[24];
    const char *p[] = {tenant,
                       id,
                       owner,
                       failed ? "error" : "ok",
                       text,
                       retry_s >= 0 ? oc_query_int(retry, retry_s) : NULL,
                       run_id != NULL && run_id[0] != '\0' ? run_id : NULL};
    int rc = oc_query_typed_exec(db, tenant, &routines_finish, p, oc_query_read_done, (void (*)(void))cb, arg);
    free(text);
    return rc;
}

static void read_list(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    ((oc_routines_read_list_cb)done)(arg, f == NULL ? oc_db_json(res->results[0], 0, 0) : NULL, f);
}

int oc_routines_read_back_list(oc_db_pool_t *db, const char *tenant, const char *conn_id, int limit,
                               oc_routines_read_list_cb cb, void *arg)
{
    char l[24];
    const char *p[] = {tenant, conn_id, oc_query_int(l, limit)};
    return oc_query_typed_exec(db, tenant, &routines_read_list, p, read_list, (void (*)(void))cb, arg);
}

static void read_recorded(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    json_t *r = f == NULL ? oc_db_json(res->results[res->nresults - 1], 0, 0) : NULL;
    ((oc_routines_read_cb)done)(arg, json_integer_value(json_object_get(r, "in_sync")),
                                json_integer_value(json_object_get(r, "drift")), f);
    json_decref(r);
}

int oc_routines_read_back_record(oc_db_pool_t *db, const char *tenant, const char *conn_id, const json_t *read,
                                 oc_routines_read_cb cb, void *arg)
{
    char *text = json_dumps(read, JSON_COMPACT);
    /* The connection's row first, then its listings: the order ingestion and push records lock them in. */
    oc_db_tx_t tx = {.tenant = tenant};
    oc_orders_lock_connection_step(&tx, tenant, conn_id);
    tx.steps[1].stmt = &routines_read_record;
    tx.steps[1].params[0] = tenant;
    tx.steps[1].params[1] = conn_id;
    tx.steps[1].params[2] = text;
    tx.nsteps = 2;
    int rc = oc_query_typed_run(db, &tx, read_recorded, (void (*)(void))cb, arg);
    free(text);
    return rc;
}

/* The one row's columns as the run's counters: every integer column but pg_notify's. */
static void read_counters(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    if (f != NULL) {
        ((oc_routines_json_cb)done)(arg, NULL, f);
        return;
    }
    json_t *counters = json_object();
    const PGresult *r = res->results[0];
    for (int c = 0; c < PQnfields(r); c++)
        if (PQntuples(r) == 1 && oc_db_get(r, 0, c) != NULL && strcmp(PQfname(r, c), "pg_notify") != 0)
            json_object_set_new(counters, PQfname(r, c), json_integer(atoll(PQgetvalue(r, 0, c))));
    ((oc_routines_json_cb)done)(arg, counters, NULL);
    json_decref(counters);
}

int oc_routines_full_repush(oc_db_pool_t *db, const char *tenant, const char *conn_id, oc_routines_json_cb cb,
                            void *arg)
{
    const char *p[] = {tenant, conn_id};
    return oc_query_typed_exec(db, tenant, &routines_repush, p, read_counters, (void (*)(void))cb, arg);
}

int oc_routines_velocity(oc_db_pool_t *db, const char *tenant, oc_routines_json_cb cb, void *arg)
{
    const char *p[] = {tenant};
    return oc_query_typed_exec(db, tenant, &routines_velocity, p, read_counters, (void (*)(void))cb, arg);
}

OC_DB_STMT(routines_action, 4, "SELECT sop_action($1, $2, $3::uuid, $4::jsonb)");

static void read_evidence(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    json_t *v = f == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    ((oc_routines_json_cb)done)(arg, v, f);
    json_decref(v);
}

int oc_routines_action(oc_db_pool_t *db, const char *tenant, const char *kind, const char *conn_id,
                       const json_t *params, oc_routines_json_cb cb, void *arg)
{
    char *js = params != NULL ? json_dumps(params, JSON_COMPACT) : NULL;
    const char *p[] = {tenant, kind, conn_id, js != NULL ? js : "{}"};
    int rc = oc_query_typed_exec(db, tenant, &routines_action, p, read_evidence, (void (*)(void))cb, arg);
    free(js);
    return rc;
}
