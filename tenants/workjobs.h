/*
 * workjobs.h — the sync workers' bookkeeping in the database (migrations
 * 0006, 0019): the leases a worker holds in a brand renewed, the work that
 * spans every brand and runs once across all workers (worker_jobs: claimed
 * when due under a lease, its outcome recorded), that work itself — the
 * stuck-listing alerts and retention pruning — and the scan for brands with
 * work due by time alone.
 *
 * Work over every brand goes OC_WORKJOBS_CHUNK brands per transaction, their
 * ids as the transaction's tenants (row-level security applies as
 * everywhere else): each such operation takes the id the chunk starts after
 * (the nil uuid first) and answers the chunk it covered.
 *
 * The sync engine (adapters/sync/jobs.c, scan.c, worker.c) decides when each
 * runs.  Typed operations on a pool: see query.h (oc_query_typed_run) for
 * how they answer.
 */
#ifndef OC_WORKJOBS_H
#define OC_WORKJOBS_H

#include "tenants/query.h"

#define OC_WORKJOBS_CHUNK 400                                    /* brands per transaction */
#define OC_WORKJOBS_FIRST "00000000-0000-0000-0000-000000000000" /* the first chunk starts after this id */

/** The chunk of brands a transaction covered. */
typedef struct oc_brands_chunk {
    const char *last; /* the chunk's last brand id (borrowed for the call); NULL: no brand after the start */
    int full;         /* it held OC_WORKJOBS_CHUNK brands: more may follow after `last` */
} oc_brands_chunk_t;

/** Extends the leases `owner` holds on the brand's listings and routines by `lease_s`; nobody waits. */
int oc_workjobs_renew_brand(oc_db_pool_t *db, const char *tenant, const char *owner, int lease_s);

/** The claim of a cross-brand job: `claimed` 1, or 0 and `wait_ms` until it may be (another worker has it). */
typedef void (*oc_workjobs_claim_cb)(void *arg, int claimed, long long wait_ms, const oc_fail_t *f);

/** Claims job `kind` ("stuck_alerts", "prune") for `owner`, leased for `lease_s`, if `interval_s` has passed. */
int oc_workjobs_claim(oc_db_pool_t *db, const char *kind, const char *owner, int lease_s, int interval_s,
                      oc_workjobs_claim_cb cb, void *arg);

/** Records the end of job `kind`: failed (`failed` 1) or ok, with its `detail` (an object); the lease is given back. */
int oc_workjobs_finish(oc_db_pool_t *db, const char *kind, const char *owner, int failed, const json_t *detail,
                       oc_query_done_cb cb, void *arg);

/** Extends the leases of the jobs `owner` runs by `lease_s`; nobody waits. */
int oc_workjobs_renew(oc_db_pool_t *db, const char *owner, int lease_s);

/** What a stuck-listing check of a chunk found. */
typedef struct oc_stuck_counts {
    long long stuck;  /* listings behind longer than the limit */
    long long opened; /* connections whose stuck alert it opened */
    long long closed; /* and closed, their listings caught up */
} oc_stuck_counts_t;

typedef void (*oc_workjobs_stuck_cb)(void *arg, const oc_brands_chunk_t *chunk, const oc_stuck_counts_t *c,
                                     const oc_fail_t *f);

/**
 * The chunk of brands after `after`: one alert per connection whose listings
 * have been behind longer than `stuck_after_s` opened, closed when they
 * caught up (stuck_alerts_refresh).
 */
int oc_workjobs_stuck_alerts(oc_db_pool_t *db, const char *after, int stuck_after_s, oc_workjobs_stuck_cb cb,
                             void *arg);

/** What one chunk's exception refresh did (exceptions_refresh): a new reference, or NULL on a failure. */
typedef void (*oc_workjobs_exceptions_cb)(void *arg, const oc_brands_chunk_t *chunk, const json_t *counts,
                                          const oc_fail_t *f);

/**
 * The chunk of brands after `after`: the exception queue brought in line
 * with the conditions true now (migrations/0033): new conditions open items,
 * changed ones update them, cleared ones close them, ended snoozes wake.
 * Only the brands that need it (migrations/0038): something their
 * conditions read changed (a mark written with the change), a time they
 * waited for came, or their last refresh is older than `full_s`.
 * `counts` holds opened, changed, reopened, closed, snooze_ended, refreshed,
 * skipped (brands), live (items not resolved in the chunk's brands).
 */
int oc_workjobs_exceptions(oc_db_pool_t *db, const char *after, int stuck_after_s, int full_s,
                           oc_workjobs_exceptions_cb cb, void *arg);

/** The tables retention prunes, in the order a prune goes through them. */
extern const char *const oc_workjobs_prune_tables[];
#define OC_WORKJOBS_NPRUNE 6

typedef void (*oc_workjobs_prune_cb)(void *arg, const oc_brands_chunk_t *chunk, long long deleted, const oc_fail_t *f);

/**
 * Deletes up to `batch_rows` rows older than `keep_s` seconds from
 * oc_workjobs_prune_tables[table] in the chunk of brands after `after`
 * (retention_prune); answers how many it deleted (`batch_rows`: maybe more).
 */
int oc_workjobs_prune(oc_db_pool_t *db, const char *after, int table, long long keep_s, int batch_rows,
                      oc_workjobs_prune_cb cb, void *arg);

/* What a brand has due by time alone. */
#define OC_DUE_PUSH     1 /* a listing to push whose backoff ended */
#define OC_DUE_EVENTS   2 /* stored events not processed */
#define OC_DUE_ROUTINES 4 /* a routine whose next run came */

typedef struct oc_due {
    const char *tenant; /* borrowed for the call */
    unsigned work;      /* OC_DUE_* bits */
} oc_due_t;

typedef void (*oc_workjobs_due_cb)(void *arg, const oc_brands_chunk_t *chunk, const oc_due_t *due, int n,
                                   const oc_fail_t *f);

/**
 * The scan, the safety net under the notifications: the brands of the chunk
 * after `after` with work due by time alone, found with the same conditions
 * the claims use (a paused connection's listings and routines are not due).
 * `due` lists each brand's kinds of work, a brand possibly more than once.
 */
int oc_workjobs_due(oc_db_pool_t *db, const char *after, oc_workjobs_due_cb cb, void *arg);

#endif
