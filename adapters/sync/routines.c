/*
 * routines.c — the table of scheduled routines: a brand's due routines are
 * claimed under a lease (routines_claim) and each runs as a small state
 * machine (rrun_t) that ends by recording its outcome and next run
 * (routine_finish), both in tenants/routines.h.  Here: the runs themselves,
 * read_back (read what the channel holds, then heal drift) and the
 * one-operation routines (full_repush, velocity); the order and return polls
 * are in ingest.c (see sync_internal.h).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "tenants/routines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_BACK_MAX 1000
#define READ_CHUNK    50

oc_metric_t oc_sync_m_routines = {"onecount_worker_routines_total", "routine runs", NULL, OC_METRIC_COUNTER};

static void finished(rrun_t *rr, const char *err)
{
    if (err != NULL)
        oc_log_fields(OC_LOG_WARN, "routine result not recorded",
                      json_pack("{s:s, s:s, s:s}", "tenant", rr->t->id, "routine", rr->id, "error", err));
    /* a run-soon request may have come in while it ran */
    oc_sync_tenant_want(rr->t, W_ROUTINES);
    json_decref(rr->detail);
    json_decref(rr->page);
    json_decref(rr->acks);
    json_decref(rr->todo);
    json_decref(rr->found);
    json_decref(rr->params);
    free(rr->cursor);
    free(rr);
}

static void on_finished(void *arg, const oc_fail_t *f)
{
    finished(arg, f != NULL ? oc_sync_fail_text(f, 0) : NULL);
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
    if (oc_routines_finish(oc_sync.db, rr->t->id, rr->id, rr->run, oc_sync.owner, err != NULL, rr->detail, retry_s,
                           on_finished, rr) != 0)
        finished(rr, "database unavailable");
}

void oc_sync_detail_add(rrun_t *rr, const char *key, long long n)
{
    json_t *v = json_object_get(rr->detail, key);
    json_object_set_new(rr->detail, key, json_integer(json_integer_value(v) + n));
}

const char *oc_sync_fail_text(const oc_fail_t *f, int detail_first)
{
    if (f->kind != OC_FAIL_DB || f->db == NULL)
        return f->message;
    return detail_first && f->db->detail != NULL ? f->db->detail : f->db->err;
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

static void on_read_recorded(void *arg, long long in_sync, long long drift, const oc_fail_t *f)
{
    rrun_t *rr = arg;
    if (f != NULL) {
        oc_sync_routine_finish(rr, oc_sync_fail_text(f, 0), 10);
        return;
    }
    oc_sync_detail_add(rr, "in_sync", in_sync);
    oc_sync_detail_add(rr, "drift", drift);
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
    int rc = oc_routines_read_back_record(oc_sync.db, rr->t->id, rr->cid, read, on_read_recorded, rr);
    json_decref(read);
    if (rc != 0)
        oc_sync_routine_finish(rr, "database unavailable", 10);
}

static void on_read_list(void *arg, json_t *listings, const oc_fail_t *f)
{
    rrun_t *rr = arg;
    if (f != NULL) {
        oc_sync_routine_finish(rr, oc_sync_fail_text(f, 0), 10);
        return;
    }
    rr->todo = listings;
    rr->next = 0;
    oc_sync_routine_step(rr);
}

/* one-operation routines -------------------------------------------------------- */

/* The routines that talk to the channel through an adapter connection; the rest are SQL alone. */
static int needs_adapter(const char *kind)
{
    return strcmp(kind, "poll_orders") == 0 || strcmp(kind, "poll_returns") == 0 || strcmp(kind, "read_back") == 0;
}

static void on_simple(void *arg, json_t *counters, const oc_fail_t *f)
{
    rrun_t *rr = arg;
    if (f != NULL) {
        oc_sync_routine_finish(rr, oc_sync_fail_text(f, 1), 30);
        return;
    }
    json_object_update(rr->detail, counters);
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
            if (oc_routines_read_back_list(oc_sync.db, rr->t->id, rr->cid, READ_BACK_MAX, on_read_list, rr) != 0)
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
    int rc;
    if (strcmp(rr->kind, "full_repush") == 0)
        rc = oc_routines_full_repush(oc_sync.db, rr->t->id, rr->cid, on_simple, rr);
    else if (strcmp(rr->kind, "velocity") == 0)
        rc = oc_routines_velocity(oc_sync.db, rr->t->id, on_simple, rr);
    else /* the SOP's actions that are SQL alone (sop_action): findings, health, buffer review */
        rc =
            oc_routines_action(oc_sync.db, rr->t->id, rr->kind, rr->cid[0] ? rr->cid : NULL, rr->params, on_simple, rr);
    if (rc != 0)
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

static void on_routines(void *arg, json_t *rows, const oc_fail_t *f)
{
    tnode_t *t = arg;
    oc_sync.routine_claims--;
    if (f != NULL)
        oc_log_fields(OC_LOG_WARN, "routine claim failed",
                      json_pack("{s:s, s:s}", "tenant", t->id, "error", oc_sync_fail_text(f, 0)));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        rrun_t *rr = oc_calloc(1, sizeof(*rr));
        rr->t = t;
        rr->started_ms = oc_now_ms();
        rr->detail = json_object();
        rr->acks = json_array();
        snprintf(rr->id, sizeof(rr->id), "%s", json_string_value(json_object_get(row, "id")));
        snprintf(rr->kind, sizeof(rr->kind), "%s", json_string_value(json_object_get(row, "kind")));
        rr->params = json_incref(json_object_get(row, "params"));
        const char *run = json_string_value(json_object_get(row, "run_id"));
        snprintf(rr->run, sizeof(rr->run), "%s", run != NULL ? run : "");
        const char *cid = json_string_value(json_object_get(row, "connection_id"));
        oc_sync.routines++;
        t->leased++;
        if (cid == NULL) {
            oc_sync_routine_step(rr);
            continue;
        }
        snprintf(rr->cid, sizeof(rr->cid), "%s", cid);
        if (!needs_adapter(rr->kind)) {
            oc_sync_routine_step(rr);
            continue;
        }
        oc_sync_conn_use(oc_sync_conn_find(t->id, cid, 1), routine_with_conn, rr);
    }
    if ((long)json_array_size(rows) >= t->routine_limit)
        t->want |= W_ROUTINES; /* it took all it asked for: maybe more are due (a short answer took them all) */
    oc_sync_tenant_done(t, W_ROUTINES);
}

void oc_sync_routines_claim(tnode_t *t)
{
    int room = oc_config.worker_routines_max - oc_sync.routines;
    t->routine_limit = room < 1 ? 1 : room > 8 ? 8 : room;
    t->running |= W_ROUTINES;
    oc_sync.routine_claims++;
    if (oc_routines_claim(oc_sync.db, t->id, oc_sync.owner, t->routine_limit, oc_config.worker_lease_seconds,
                          on_routines, t) != 0) {
        oc_sync.routine_claims--;
        t->want |= W_ROUTINES;
        t->running &= ~W_ROUTINES;
    }
}
