/*
 * jobs.c — the work that spans every brand and runs once across all
 * workers: the stuck-listing check (stuck_alerts), retention pruning
 * (prune) and the exception queue's refresh (exceptions), each claimed when due under a lease and walked over the
 * brands in chunks; the SQL of each step is tenants/workjobs.h's.
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "tenants/workjobs.h"

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
#define NPRUNE OC_WORKJOBS_NPRUNE

typedef struct job {
    const char *kind;
    oc_timer_t timer;
    int running;
    oc_metric_t runs;
    char chunk[37], next[37]; /* the brands being worked on: ids after `chunk`, up to `next` */
    int last_chunk;           /* the chunk had fewer than 400 brands */
    int table;                /* prune: oc_workjobs_prune_tables[table] */
    long long deleted, batches;
    json_t *detail;
} job_t;

#define NJOBS 3
static job_t jobs[NJOBS] = {
    {.kind = "stuck_alerts",
     .runs = {"onecount_worker_jobs_total", "cross-brand jobs this worker ran", "job=\"stuck_alerts\"",
              OC_METRIC_COUNTER}},
    {.kind = "prune",
     .runs = {"onecount_worker_jobs_total", "cross-brand jobs this worker ran", "job=\"prune\"", OC_METRIC_COUNTER}},
    {.kind = "exceptions",
     .runs = {"onecount_worker_jobs_total", "cross-brand jobs this worker ran", "job=\"exceptions\"",
              OC_METRIC_COUNTER}},
};
static oc_metric_t m_exceptions = {"onecount_worker_exceptions_live",
                                   "exception items not resolved (open, acknowledged or snoozed) at the last refresh",
                                   NULL, OC_METRIC_GAUGE};
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
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"routine_runs\"",
     OC_METRIC_COUNTER},
    {"onecount_worker_pruned_rows_total", "log rows deleted past their retention window", "table=\"exceptions\"",
     OC_METRIC_COUNTER},
};

static int job_interval_s(const job_t *j)
{
    return j == &jobs[0]   ? oc_config.stuck_check_seconds
           : j == &jobs[1] ? oc_config.prune_interval_seconds
                           : oc_config.exceptions_check_seconds;
}

static long long prune_keep_s(int table)
{
    switch (table) {
    case 0: return (long long)oc_config.retention_push_log_days * 86400;
    case 1: return (long long)oc_config.retention_channel_events_days * 86400;
    case 2: return (long long)oc_config.retention_drift_events_days * 86400;
    case 4: return (long long)oc_config.retention_drift_events_days * 86400; /* routine_runs: as long as drift */
    case 5: return (long long)oc_config.retention_exceptions_days * 86400;
    default: return (long long)oc_config.retention_idempotency_hours * 3600;
    }
}

int oc_sync_jobs_running(void)
{
    return jobs[0].running + jobs[1].running + jobs[2].running;
}

static void job_step(job_t *j);

static void job_finished(job_t *j, const char *err)
{
    if (err != NULL)
        oc_log_fields(OC_LOG_WARN, "job result not recorded", json_pack("{s:s, s:s}", "job", j->kind, "error", err));
    j->running = 0;
    json_decref(j->detail);
    j->detail = NULL;
    if (!oc_sync.stop)
        oc_timer_start(oc_sync.loop, &j->timer, (uint64_t)job_interval_s(j) * 1000);
}

static void on_job_finished(void *arg, const oc_fail_t *f)
{
    job_finished(arg, f != NULL ? oc_sync_fail_text(f, 0) : NULL);
}

static void job_finish(job_t *j, const char *err)
{
    if (err != NULL) {
        json_object_set_new(j->detail, "error", json_string(err));
        oc_log_fields(OC_LOG_WARN, "job failed", json_pack("{s:s, s:s}", "job", j->kind, "error", err));
    }
    if (oc_workjobs_finish(oc_sync.db, j->kind, oc_sync.owner, err != NULL, j->detail, on_job_finished, j) != 0)
        job_finished(j, "database unavailable");
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

/* A chunk's step answered: the job ends on a failure or when no brand was left; else the chunk is next's start. */
static int chunk_answered(job_t *j, const oc_brands_chunk_t *chunk, const oc_fail_t *f)
{
    if (f != NULL) {
        job_finish(j, oc_sync_fail_text(f, 1));
        return 0;
    }
    if (chunk->last == NULL) { /* no brand after the chunk's start */
        job_finish(j, NULL);
        return 0;
    }
    snprintf(j->next, sizeof(j->next), "%s", chunk->last);
    j->last_chunk = !chunk->full;
    return 1;
}

static void on_stuck(void *arg, const oc_brands_chunk_t *chunk, const oc_stuck_counts_t *c, const oc_fail_t *f)
{
    job_t *j = arg;
    if (!chunk_answered(j, chunk, f))
        return;
    const char *keys[] = {"stuck", "opened", "closed"};
    const long long v[] = {c->stuck, c->opened, c->closed};
    for (size_t i = 0; i < 3; i++)
        json_object_set_new(j->detail, keys[i],
                            json_integer(json_integer_value(json_object_get(j->detail, keys[i])) + v[i]));
    if (j->last_chunk)
        oc_metric_set(&m_stuck, json_integer_value(json_object_get(j->detail, "stuck")));
    job_next_chunk(j);
}

static void on_pruned(void *arg, const oc_brands_chunk_t *chunk, long long n, const oc_fail_t *f)
{
    job_t *j = arg;
    if (!chunk_answered(j, chunk, f))
        return;
    j->deleted += n;
    j->batches++;
    oc_metric_add(&m_pruned[j->table], n);
    if (n >= oc_config.prune_batch_rows && !oc_sync.stop) {
        job_step(j); /* more of this table in this chunk */
        return;
    }
    /* this table is done for the chunk: add its figures to the run's */
    json_t *t = json_object_get(j->detail, oc_workjobs_prune_tables[j->table]);
    json_object_set_new(t, "deleted", json_integer(json_integer_value(json_object_get(t, "deleted")) + j->deleted));
    json_object_set_new(t, "batches", json_integer(json_integer_value(json_object_get(t, "batches")) + j->batches));
    j->deleted = j->batches = 0;
    if (++j->table < NPRUNE) {
        job_step(j);
        return;
    }
    job_next_chunk(j);
}

static void on_exceptions(void *arg, const oc_brands_chunk_t *chunk, const json_t *counts, const oc_fail_t *f)
{
    job_t *j = arg;
    if (!chunk_answered(j, chunk, f))
        return;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)counts, key, v) json_object_set_new(
        j->detail, key, json_integer(json_integer_value(json_object_get(j->detail, key)) + json_integer_value(v)));
    if (j->last_chunk)
        oc_metric_set(&m_exceptions, json_integer_value(json_object_get(j->detail, "live")));
    job_next_chunk(j);
}

/* One transaction: the chunk of brands as its tenants, then the job's work for them. */
static void job_step(job_t *j)
{
    if (oc_sync.stop) {
        job_finish(j, "the worker is stopping");
        return;
    }
    int rc = j == &jobs[0] ? oc_workjobs_stuck_alerts(oc_sync.db, j->chunk, oc_config.stuck_after_seconds, on_stuck, j)
             : j == &jobs[1] ? oc_workjobs_prune(oc_sync.db, j->chunk, j->table, prune_keep_s(j->table),
                                                 oc_config.prune_batch_rows, on_pruned, j)
                             : oc_workjobs_exceptions(oc_sync.db, j->chunk, oc_config.stuck_after_seconds,
                                                      oc_config.exceptions_full_seconds, on_exceptions, j);
    if (rc != 0)
        job_finish(j, "database unavailable");
}

static void on_job_claim(void *arg, int claimed, long long wait_ms, const oc_fail_t *f)
{
    job_t *j = arg;
    if (f != NULL || !claimed) {
        /* not due yet (or another worker has it): come back when it may be; a failure tries again soon */
        long long wait = f != NULL ? 5000 : wait_ms;
        long long most = (long long)job_interval_s(j) * 1000;
        j->running = 0;
        if (!oc_sync.stop)
            oc_timer_start(oc_sync.loop, &j->timer, (uint64_t)(wait > 0 && wait < most ? wait : most));
        return;
    }
    oc_metric_add(&j->runs, 1); /* (stopping: job_step ends it at once, giving the lease back) */
    j->detail = json_object();
    if (j == &jobs[1]) {
        json_object_set_new(j->detail, "batch_rows", json_integer(oc_config.prune_batch_rows));
        for (int i = 0; i < NPRUNE; i++)
            json_object_set_new(j->detail, oc_workjobs_prune_tables[i],
                                json_pack("{s:i, s:i}", "deleted", 0, "batches", 0));
    }
    snprintf(j->chunk, sizeof(j->chunk), "%s", OC_WORKJOBS_FIRST);
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
    j->running = 1;
    if (oc_workjobs_claim(oc_sync.db, j->kind, oc_sync.owner, oc_config.worker_lease_seconds, job_interval_s(j),
                          on_job_claim, j) != 0) {
        j->running = 0;
        oc_timer_start(oc_sync.loop, &j->timer, 5000);
    }
}

void oc_sync_jobs_register_metrics(void)
{
    oc_metrics_register(&m_stuck);
    oc_metrics_register(&m_exceptions);
    for (int i = 0; i < NJOBS; i++)
        oc_metrics_register(&jobs[i].runs);
    for (int i = 0; i < NPRUNE; i++)
        oc_metrics_register(&m_pruned[i]);
}

void oc_sync_jobs_start(void)
{
    for (int i = 0; i < NJOBS; i++) {
        oc_timer_init(&jobs[i].timer, job_tick, &jobs[i]);
        oc_timer_start(oc_sync.loop, &jobs[i].timer, 500);
    }
}

void oc_sync_jobs_stop(void)
{
    for (int i = 0; i < NJOBS; i++)
        oc_timer_stop(oc_sync.loop, &jobs[i].timer);
}

void oc_sync_jobs_renew(void)
{
    if (oc_sync_jobs_running() > 0)
        oc_workjobs_renew(oc_sync.db, oc_sync.owner, oc_config.worker_lease_seconds);
}
