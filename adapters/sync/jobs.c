/*
 * jobs.c — the work that spans every brand and runs once across all
 * workers: the stuck-listing check (stuck_alerts) and retention pruning
 * (prune), each claimed when due under a lease (worker_jobs, migration 0019)
 * and walked over the brands in chunks (see sync_internal.h).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"
#include "runtime/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Work that spans every brand and runs once across all workers (worker_jobs, migration 0019): a worker
 * claims a job when it is due, under a lease renew() extends, and walks the brands in chunks of 400 (their
 * ids as the transaction's tenants, as the scan does).  stuck_alerts opens one alert per connection whose
 * listings have been behind longer than stuck_after_seconds, and closes it when they catch up; prune
 * deletes log rows older than their retention window, prune_batch_rows per statement.
 */
OC_DB_STMT(w_job_claim, 4, "SELECT worker_job_claim($1, $2, $3::int, $4::int)");
OC_DB_STMT(w_job_finish, 4, "SELECT worker_job_finish($1, $2, $3, $4::jsonb)");
OC_DB_STMT(w_jobs_renew, 2, "SELECT worker_jobs_renew($1, $2::int)");
OC_DB_STMT(w_stuck, 1, "SELECT stuck_alerts_refresh($1::int)");
OC_DB_STMT(w_prune, 3, "SELECT retention_prune($1, $2::bigint, $3::int)");

static const char *const prune_tables[] = {"push_log", "channel_events", "drift_events", "idempotency_keys"};
#define NPRUNE 4

typedef struct job {
    const char *kind;
    oc_timer_t timer;
    int running;
    oc_metric_t runs;
    char chunk[37], next[37]; /* the brands being worked on: ids after `chunk`, up to `next` */
    int last_chunk;           /* the chunk had fewer than 400 brands */
    int table;                /* prune: prune_tables[table] */
    long long deleted, batches;
    json_t *detail;
} job_t;

static job_t jobs[2] = {
    {.kind = "stuck_alerts",
     .runs = {"onecount_worker_jobs_total", "cross-brand jobs this worker ran", "job=\"stuck_alerts\"",
              OC_METRIC_COUNTER}},
    {.kind = "prune",
     .runs = {"onecount_worker_jobs_total", "cross-brand jobs this worker ran", "job=\"prune\"", OC_METRIC_COUNTER}},
};
static oc_metric_t m_stuck = {"onecount_worker_listings_stuck",
                              "listings behind longer than stuck_after_seconds, at the last check", NULL,
                              OC_METRIC_GAUGE};
static oc_metric_t m_pruned[NPRUNE] = {
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"push_log\"",
     OC_METRIC_COUNTER},
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"channel_events\"",
     OC_METRIC_COUNTER},
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"drift_events\"",
     OC_METRIC_COUNTER},
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"idempotency_keys\"",
     OC_METRIC_COUNTER},
};

static int job_interval_s(const job_t *j)
{
    return j == &jobs[0] ? oc_config.stuck_check_seconds : oc_config.prune_interval_seconds;
}

static long long prune_keep_s(int table)
{
    switch (table) {
    case 0: return (long long)oc_config.retention_push_log_days * 86400;
    case 1: return (long long)oc_config.retention_channel_events_days * 86400;
    case 2: return (long long)oc_config.retention_drift_events_days * 86400;
    default: return (long long)oc_config.retention_idempotency_hours * 3600;
    }
}

int oc_sync_jobs_running(void)
{
    return jobs[0].running + jobs[1].running;
}

static void job_step(job_t *j);

static void on_job_finished(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_WARN, "job result not recorded",
                      json_pack("{s:s, s:s}", "job", j->kind, "error", res->err));
    j->running = 0;
    json_decref(j->detail);
    j->detail = NULL;
    if (!oc_sync.stop)
        oc_timer_start(oc_sync.loop, &j->timer, (uint64_t)job_interval_s(j) * 1000);
}

static void job_finish(job_t *j, const char *err)
{
    if (err != NULL) {
        json_object_set_new(j->detail, "error", json_string(err));
        oc_log_fields(OC_LOG_WARN, "job failed", json_pack("{s:s, s:s}", "job", j->kind, "error", err));
    }
    char *detail = json_dumps(j->detail, JSON_COMPACT);
    const char *p[] = {j->kind, oc_sync.owner, err != NULL ? "error" : "ok", detail};
    int rc = oc_db_exec(oc_sync.db, NULL, &w_job_finish, p, on_job_finished, j);
    free(detail);
    if (rc != 0) {
        oc_db_result_t fake = {.err = "database unavailable", .code = rc};
        on_job_finished(j, &fake);
    }
}

/* Moves on to the next chunk of brands; the job ends after the last. */
static void job_next_chunk(job_t *j)
{
    if (j->last_chunk) {
        job_finish(j, NULL);
        return;
    }
    memcpy(j->chunk, j->next, sizeof(j->chunk));
    j->table = 0;
    job_step(j);
}

static void on_job_step(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    if (res->err != NULL) {
        job_finish(j, res->detail != NULL ? res->detail : res->err);
        return;
    }
    const char *last = oc_db_get(res->results[0], 0, 1);
    if (last == NULL) { /* no brand after the chunk's start */
        job_finish(j, NULL);
        return;
    }
    snprintf(j->next, sizeof(j->next), "%s", last);
    j->last_chunk = oc_db_get_ll(res->results[0], 0, 2, 0) < atoi(SCAN_CHUNK);
    if (j == &jobs[0]) {
        json_t *r = oc_db_json(res->results[1], 0, 0);
        const char *keys[] = {"stuck", "opened", "closed"};
        for (size_t i = 0; i < 3; i++) {
            json_int_t v = json_integer_value(json_object_get(r, keys[i]));
            json_object_set_new(j->detail, keys[i],
                                json_integer(json_integer_value(json_object_get(j->detail, keys[i])) + v));
        }
        json_decref(r);
        if (j->last_chunk)
            oc_metric_set(&m_stuck, json_integer_value(json_object_get(j->detail, "stuck")));
        job_next_chunk(j);
        return;
    }
    long long n = oc_db_get_ll(res->results[1], 0, 0, 0);
    j->deleted += n;
    j->batches++;
    oc_metric_add(&m_pruned[j->table], n);
    if (n >= oc_config.prune_batch_rows && !oc_sync.stop) {
        job_step(j); /* more of this table in this chunk */
        return;
    }
    /* this table is done for the chunk: add its figures to the run's */
    json_t *t = json_object_get(j->detail, prune_tables[j->table]);
    json_object_set_new(t, "deleted", json_integer(json_integer_value(json_object_get(t, "deleted")) + j->deleted));
    json_object_set_new(t, "batches", json_integer(json_integer_value(json_object_get(t, "batches")) + j->batches));
    j->deleted = j->batches = 0;
    if (++j->table < NPRUNE) {
        job_step(j);
        return;
    }
    job_next_chunk(j);
}

/* One transaction: the chunk of brands as its tenants, then the job's statement for them. */
static void job_step(job_t *j)
{
    if (oc_sync.stop) {
        job_finish(j, "the worker is stopping");
        return;
    }
    char a[24], b[24];
    oc_db_tx_t tx = {.nsteps = 2};
    oc_sync_brands_step(&tx, j->chunk);
    if (j == &jobs[0]) {
        snprintf(a, sizeof(a), "%d", oc_config.stuck_after_seconds);
        tx.steps[1].stmt = &w_stuck;
        tx.steps[1].params[0] = a;
    } else {
        snprintf(a, sizeof(a), "%lld", prune_keep_s(j->table));
        snprintf(b, sizeof(b), "%d", oc_config.prune_batch_rows);
        tx.steps[1].stmt = &w_prune;
        tx.steps[1].params[0] = prune_tables[j->table];
        tx.steps[1].params[1] = a;
        tx.steps[1].params[2] = b;
    }
    if (oc_db_run(oc_sync.db, &tx, on_job_step, j) != 0)
        job_finish(j, "database unavailable");
}

static void on_job_claim(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    json_t *r = res->err == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    if (!json_is_true(json_object_get(r, "claimed"))) {
        /* not due yet (or another worker has it): come back when it may be; a failure tries again soon */
        json_int_t wait = res->err != NULL ? 5000 : json_integer_value(json_object_get(r, "wait_ms"));
        json_int_t most = (json_int_t)job_interval_s(j) * 1000;
        j->running = 0;
        json_decref(r);
        if (!oc_sync.stop)
            oc_timer_start(oc_sync.loop, &j->timer, (uint64_t)(wait > 0 && wait < most ? wait : most));
        return;
    }
    json_decref(r);
    oc_metric_add(&j->runs, 1); /* (stopping: job_step ends it at once, giving the lease back) */
    j->detail = json_object();
    if (j == &jobs[1]) {
        json_object_set_new(j->detail, "batch_rows", json_integer(oc_config.prune_batch_rows));
        for (int i = 0; i < NPRUNE; i++)
            json_object_set_new(j->detail, prune_tables[i], json_pack("{s:i, s:i}", "deleted", 0, "batches", 0));
    }
    snprintf(j->chunk, sizeof(j->chunk), "00000000-0000-0000-0000-000000000000");
    j->table = 0;
    j->deleted = j->batches = 0;
    j->last_chunk = 0;
    job_step(j);
}

static void job_tick(oc_timer_t *timer)
{
    job_t *j = timer->data;
    if (oc_sync.stop || j->running)
        return;
    if (!oc_db_pool_ready(oc_sync.db)) {
        oc_timer_start(oc_sync.loop, &j->timer, 1000);
        return;
    }
    char lease[16], interval[16];
    snprintf(lease, sizeof(lease), "%d", oc_config.worker_lease_seconds);
    snprintf(interval, sizeof(interval), "%d", job_interval_s(j));
    const char *p[] = {j->kind, oc_sync.owner, lease, interval};
    j->running = 1;
    if (oc_db_exec(oc_sync.db, NULL, &w_job_claim, p, on_job_claim, j) != 0) {
        j->running = 0;
        oc_timer_start(oc_sync.loop, &j->timer, 5000);
    }
}

void oc_sync_jobs_register_metrics(void)
{
    oc_metrics_register(&m_stuck);
    for (int i = 0; i < 2; i++)
        oc_metrics_register(&jobs[i].runs);
    for (int i = 0; i < NPRUNE; i++)
        oc_metrics_register(&m_pruned[i]);
}

void oc_sync_jobs_start(void)
{
    for (int i = 0; i < 2; i++) {
        oc_timer_init(&jobs[i].timer, job_tick, &jobs[i]);
        oc_timer_start(oc_sync.loop, &jobs[i].timer, 500);
    }
}

void oc_sync_jobs_stop(void)
{
    for (int i = 0; i < 2; i++)
        oc_timer_stop(oc_sync.loop, &jobs[i].timer);
}

void oc_sync_jobs_renew(void)
{
    if (oc_sync_jobs_running() > 0) {
        const char *p[] = {oc_sync.owner, oc_sync.lease};
        oc_db_exec(oc_sync.db, NULL, &w_jobs_renew, p, NULL, NULL);
    }
}
