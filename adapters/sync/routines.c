/*
 * routines.c — the table of scheduled routines: a brand's due routines are
 * claimed under a lease (routines_claim) and each runs as a small state
 * machine (rrun_t) that ends by recording its outcome and next run
 * (routine_finish).  Here: the runs themselves, read_back (read what the
 * channel holds and heal drift, read_back_record) and the one-statement
 * routines (full_repush, velocity); the order and return polls are in
 * ingest.c (see sync_internal.h).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"
#include "runtime/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_BACK_MAX 1000
#define READ_CHUNK    50

oc_metric_t oc_sync_m_routines = {"onecount_worker_routines_total", "routine runs", NULL, OC_METRIC_COUNTER};

OC_DB_STMT(w_routines_claim, 4, "SELECT routines_claim($1, $2, $3::int, $4::int)");
OC_DB_STMT(w_routine_finish, 6, "SELECT routine_finish($1, $2::uuid, $3, $4, $5::jsonb, $6::int)");
OC_DB_STMT(w_read_list, 3,
           "SELECT coalesce(jsonb_agg(jsonb_build_object('listing_id', id, 'sku', external_sku, 'item_ref', item_ref,"
           " 'location_ref', location_ref)), '[]') FROM (SELECT id, external_sku, item_ref, location_ref FROM listings"
           " WHERE tenant_id = $1 AND connection_id = $2::uuid AND state = 'active' AND pushed_version > 0"
           " ORDER BY seen_at NULLS FIRST LIMIT $3::int) x");
OC_DB_STMT(w_read_record, 3, "SELECT read_back_record($1, $2::uuid, $3::jsonb)");
/* Listings locked in id order, as every other path locks them (migrations/0009, 0016): a plain UPDATE took
 * them in scan order and deadlocked against sales refreshing the same listings. */
OC_DB_STMT(w_repush, 2,
           "WITH mine AS (SELECT id FROM listings WHERE tenant_id = $1 AND connection_id = $2::uuid"
           "   AND state = 'active' ORDER BY id FOR UPDATE),"
           " u AS (UPDATE listings l SET desired_version = l.desired_version + 1 FROM mine"
           "   WHERE l.tenant_id = $1 AND l.id = mine.id RETURNING 1)"
           " SELECT count(*) AS listings, pg_notify('oc_dirty', $1::text) FROM u");
OC_DB_STMT(w_velocity, 1, "SELECT velocity_refresh($1), listings_refresh_brand($1)");

static void on_finished(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_WARN, "routine result not recorded",
                      json_pack("{s:s, s:s, s:s}", "tenant", rr->t->id, "routine", rr->id, "error", res->err));
    /* a run-soon request may have come in while it ran */
    oc_sync_tenant_want(rr->t, W_ROUTINES);
    json_decref(rr->detail);
    json_decref(rr->page);
    json_decref(rr->acks);
    json_decref(rr->todo);
    json_decref(rr->found);
    free(rr->cursor);
    free(rr);
}

/* Ends a run: err NULL = ok; retry_s = run again this soon (NULL schedule on success). */
void oc_sync_routine_finish(rrun_t *rr, const char *err, int retry_s)
{
    if (rr->ce != NULL) {
        rr->ce->refs--;
        if (rr->ce->stale)
            oc_sync_conn_unload(rr->ce);
    }
    oc_sync.routines--;
    rr->t->leased--;
    oc_metric_add(&oc_sync_m_routines, 1);
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
    const char *p[] = {
        rr->t->id, rr->id, oc_sync.owner, err != NULL ? "error" : "ok", detail, retry_s >= 0 ? retry : NULL};
    int rc = oc_db_exec(oc_sync.db, rr->t->id, &w_routine_finish, p, on_finished, rr);
    free(detail);
    if (rc != 0) {
        oc_db_result_t fake = {.err = "database unavailable", .code = rc};
        on_finished(rr, &fake);
    }
}

void oc_sync_detail_add(rrun_t *rr, const char *key, long long n)
{
    json_t *v = json_object_get(rr->detail, key);
    json_object_set_new(rr->detail, key, json_integer(json_integer_value(v) + n));
}

const char *oc_sync_err_text(const oc_adapter_error_t *e)
{
    return e != NULL && e->err != NULL ? e->err : NULL;
}

void oc_sync_adapter_failed(rrun_t *rr, const oc_adapter_error_t *e)
{
    if (!e->retryable && (e->http_status == 401 || e->http_status == 403))
        rr->ce->stale = 1;
    oc_sync_routine_finish(rr, e->err, e->retryable ? 30 : -1);
}

/* read_back --------------------------------------------------------------------- */

static void on_read_recorded(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        oc_sync_routine_finish(rr, res->err, 10);
        return;
    }
    json_t *r = oc_db_json(res->results[res->nresults - 1], 0, 0);
    oc_sync_detail_add(rr, "in_sync", json_integer_value(json_object_get(r, "in_sync")));
    oc_sync_detail_add(rr, "drift", json_integer_value(json_object_get(r, "drift")));
    json_decref(r);
    oc_sync_routine_step(rr);
}

static void on_read(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    rrun_t *rr = arg;
    if (oc_sync_err_text(e) != NULL) {
        oc_sync_adapter_failed(rr, e);
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
            oc_sync_detail_add(rr, "read_errors", 1);
        else
            json_array_append(read, row);
    }
    oc_sync_detail_add(rr, "checked", (long long)json_array_size(read));
    char *s = json_dumps(read, JSON_COMPACT);
    json_decref(read);
    /* The connection's row first, then its listings: the order ingestion and push records lock them in. */
    oc_db_tx_t tx = {.tenant = rr->t->id, .nsteps = 2};
    oc_sync_lock_conn_step(&tx, 0, rr->t->id, rr->cid);
    tx.steps[1].stmt = &w_read_record;
    tx.steps[1].params[0] = rr->t->id;
    tx.steps[1].params[1] = rr->cid;
    tx.steps[1].params[2] = s;
    int rc = oc_db_run(oc_sync.db, &tx, on_read_recorded, rr);
    free(s);
    if (rc != 0)
        oc_sync_routine_finish(rr, "database unavailable", 10);
}

static void on_read_list(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        oc_sync_routine_finish(rr, res->err, 10);
        return;
    }
    rr->todo = oc_db_json(res->results[0], 0, 0);
    rr->next = 0;
    oc_sync_routine_step(rr);
}

/* one-statement routines -------------------------------------------------------- */

static void on_simple(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        oc_sync_routine_finish(rr, res->detail != NULL ? res->detail : res->err, 30);
        return;
    }
    const PGresult *r = res->results[0];
    for (int c = 0; c < PQnfields(r); c++)
        if (PQntuples(r) == 1 && oc_db_get(r, 0, c) != NULL && strcmp(PQfname(r, c), "pg_notify") != 0)
            json_object_set_new(rr->detail, PQfname(r, c), json_integer(atoll(PQgetvalue(r, 0, c))));
    oc_sync_routine_finish(rr, NULL, -1);
}

/*
 * Advances a run by one step.  Each kind is a small state machine over the
 * run's fields; every asynchronous step calls back into here.
 */
void oc_sync_routine_step(rrun_t *rr)
{
    if (oc_sync.stop) {
        oc_sync_routine_finish(rr, "the worker is stopping", 1);
        return;
    }
    if (strcmp(rr->kind, "poll_orders") == 0 || strcmp(rr->kind, "poll_returns") == 0) {
        oc_sync_poll_step(rr);
        return;
    }
    if (strcmp(rr->kind, "read_back") == 0) {
        if (rr->todo == NULL) {
            char limit[16];
            snprintf(limit, sizeof(limit), "%d", READ_BACK_MAX);
            const char *p[] = {rr->t->id, rr->cid, limit};
            if (oc_db_exec(oc_sync.db, rr->t->id, &w_read_list, p, on_read_list, rr) != 0)
                oc_sync_routine_finish(rr, "database unavailable", 10);
            return;
        }
        size_t n = json_array_size(rr->todo);
        if (rr->next >= n) {
            oc_sync_routine_finish(rr, NULL, -1);
            return;
        }
        json_t *items = json_array();
        for (size_t i = 0; i < READ_CHUNK && rr->next < n; i++)
            json_array_append(items, json_array_get(rr->todo, rr->next++));
        int rc = rr->ce->ad->read(oc_sync.http, rr->ce->conn, items, on_read, rr);
        json_decref(items);
        if (rc != 0)
            oc_sync_routine_finish(rr, "the read could not start", 30);
        return;
    }
    const oc_db_stmt_t *st = strcmp(rr->kind, "full_repush") == 0 ? &w_repush
                             : strcmp(rr->kind, "velocity") == 0  ? &w_velocity
                                                                  : NULL;
    if (st == NULL) {
        oc_sync_routine_finish(rr, "unknown routine kind", -1);
        return;
    }
    const char *p[] = {rr->t->id, rr->cid};
    if (oc_db_exec(oc_sync.db, rr->t->id, st, p, on_simple, rr) != 0)
        oc_sync_routine_finish(rr, "database unavailable", 10);
}

static void routine_with_conn(void *arg, centry_t *ce, const char *err)
{
    rrun_t *rr = arg;
    if (ce == NULL) {
        oc_sync_routine_finish(rr, err != NULL ? err : "connection unavailable", 60);
        return;
    }
    rr->ce = ce;
    ce->refs++;
    oc_sync_routine_step(rr);
}

static void on_routines(void *arg, const oc_db_result_t *res)
{
    tnode_t *t = arg;
    oc_sync.routine_claims--;
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
        oc_sync.routines++;
        t->leased++;
        if (cid == NULL) {
            oc_sync_routine_step(rr);
            continue;
        }
        snprintf(rr->cid, sizeof(rr->cid), "%s", cid);
        if (strcmp(rr->kind, "full_repush") == 0) {
            oc_sync_routine_step(rr);
            continue;
        }
        oc_sync_conn_use(oc_sync_conn_find(t->id, cid, 1), routine_with_conn, rr);
    }
    if ((long)json_array_size(rows) > 0)
        t->want |= W_ROUTINES; /* maybe more are due */
    json_decref(rows);
    oc_sync_tenant_done(t, W_ROUTINES);
}

void oc_sync_routines_claim(tnode_t *t)
{
    int room = oc_config.worker_routines_max - oc_sync.routines;
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", room < 1 ? 1 : room > 8 ? 8 : room);
    const char *p[] = {t->id, oc_sync.owner, limit, oc_sync.lease};
    t->running |= W_ROUTINES;
    oc_sync.routine_claims++;
    if (oc_db_exec(oc_sync.db, t->id, &w_routines_claim, p, on_routines, t) != 0) {
        oc_sync.routine_claims--;
        t->want |= W_ROUTINES;
        t->running &= ~W_ROUTINES;
    }
}
