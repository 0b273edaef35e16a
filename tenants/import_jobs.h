/*
 * import_jobs.h — a CSV import as a job: created, then run in the
 * background on the loop thread that created it, and read back.
 *
 * The file's own checks are tenants/imports.h (pure code, on the work pool);
 * this module is the rest: the job's row in import_jobs and its audit
 * record, the checks of every chunk against the brand, the apply, the
 * progress the job reports while it runs, and the new balances and
 * listings it publishes to Redis.  The phases (import_jobs.c says why each
 * is shaped as it is):
 *
 *   create   database    insert the job and its audit record (a step of the
 *                        caller's transaction, so the caller may put its own
 *                        steps first: an Idempotency-Key's)
 *   prepare  work pool   parse and check every row on its own (tenants/imports.c)
 *   check    database    one transaction per chunk: its rows against the brand
 *                        (codes that exist or not, bundles), then rows_done
 *   apply    database    real runs without a bad row: ONE transaction, a step
 *                        per chunk, the job's 'done' and the audit record as
 *                        its last step; rows_done is written from another
 *                        connection as steps complete
 *   finish   database    'done' or 'failed' with the errors and the summary
 *
 * A dry run stops after the checks.  Any bad row means nothing is applied.
 *
 * Lifetime: oc_import_job_new() makes a job that belongs to its caller
 * (oc_import_job_free) until oc_import_job_start(); from then on it lives
 * on its own, counted in its thread's `inflight` so shutdown waits for it
 * (up to the shutdown timeout), and frees itself when its outcome is
 * recorded and nothing of it is in flight.  A job cut off by a stop shows
 * as failed later (migrations/0005: import_job_json).  Loop thread only.
 */
#ifndef OC_IMPORT_JOBS_H
#define OC_IMPORT_JOBS_H

#include <jansson.h>
#include <stddef.h>

#include "runtime/db.h"
#include "runtime/thread.h"
#include "tenants/audit.h"
#include "tenants/imports.h"
#include "tenants/outcome.h"

typedef struct oc_import_job oc_import_job_t;

/**
 * A new job (a fresh id) importing a file of `type` into brand `tenant` on
 * thread `th`, for actor `a` (its user, token and request id are copied).
 * Nothing is written yet.
 */
oc_import_job_t *oc_import_job_new(oc_thread_t *th, const char *tenant, oc_import_type_t type, int dry_run,
                                   const oc_actor_t *a);

/** The job's id (36 characters; borrowed, lives as long as the job). */
const char *oc_import_job_id(const oc_import_job_t *job);

/**
 * Appends to `tx` (whose tenant must be the job's) the insert of the job, a
 * file of `bytes` bytes, with its 'import.create' audit record.  The step's
 * one row, column 0, is idem_result(202, the job as JSON): an answer the
 * Idempotency-Key record can keep.  Returns 0, or OC_EINVAL when tx is full.
 */
int oc_import_job_insert_step(oc_import_job_t *job, oc_db_tx_t *tx, size_t bytes);

/**
 * Once the insert has committed: takes the file (`data`, `len` bytes,
 * oc_malloc'd; the job frees it) and runs the rest of the job in the
 * background.  The job is then its own (see above): the caller must not
 * touch or free it again.
 */
void oc_import_job_start(oc_import_job_t *job, char *data, size_t len);

/** Frees a job that was never started; accepts NULL. */
void oc_import_job_free(oc_import_job_t *job);

/**
 * Called with the answer of a read: `v` (a new reference: the caller owns
 * it) or NULL with `f` filled (NOT_FOUND "no such import", or DB).
 */
typedef void (*oc_import_job_cb)(void *arg, json_t *v, const oc_fail_t *f);

/**
 * Reads job `id` (a UUID) of brand `tenant`: the job as JSON, errors
 * included.  Returns 0 and calls cb once later, or an OC_E* code (the
 * database is unavailable or busy) and never calls it.
 */
int oc_import_job_get(oc_thread_t *th, const char *tenant, const char *id, oc_import_job_cb cb, void *arg);

/**
 * Lists brand `tenant`'s jobs, newest first: an array of at most `limit`
 * jobs (a decimal string) as JSON without their errors, of `type` only
 * unless NULL, after the cursor (`after_created`, `after_id`, both NULL on
 * the first page).  Returns as oc_import_job_get.
 */
int oc_import_jobs_list(oc_thread_t *th, const char *tenant, const oc_import_type_t *type, const char *after_created,
                        const char *after_id, const char *limit, oc_import_job_cb cb, void *arg);

#endif
