/*
 * routines.h — a brand's scheduled routines as the domain keeps them
 * (migration 0006): the claim of the due ones under a lease
 * (routines_claim), the record of a run's outcome and its next run
 * (routine_finish; each run is kept in routine_runs, 0025), and the routines' own work: read-back (the listings to
 * ask the channel about, and what it said compared and drift healed:
 * read_back_record), full re-push and the sales velocity refresh.
 *
 * The sync engine (adapters/sync/routines.c) runs each claimed routine as a
 * small state machine and decides when each step runs.  Typed operations on
 * a pool: see query.h (oc_query_typed_run) for how they answer.
 */
#ifndef OC_ROUTINES_H
#define OC_ROUTINES_H

#include "tenants/query.h"

/** A JSON answer: `v` borrowed for the call (NULL on a failure). */
typedef void (*oc_routines_json_cb)(void *arg, json_t *v, const oc_fail_t *f);

/**
 * Claims up to `limit` of the brand's due routines for `owner`, leased for
 * `lease_s`; answers the array of claimed runs, each {id, kind,
 * connection_id (null for a brand's routine), run_id}: the run is recorded
 * (routine_runs, migration 0025) as running, and a run of the same routine
 * whose worker died is marked interrupted.
 */
int oc_routines_claim(oc_db_pool_t *db, const char *tenant, const char *owner, int limit, int lease_s,
                      oc_routines_json_cb cb, void *arg);

/**
 * Records the end of run `run_id` of routine `id`: failed (`failed` 1) or
 * ok, its `detail` (an object: counters, the error), and the routine's next
 * run: in `retry_s` seconds, or on its schedule when `retry_s` < 0.  The
 * lease is given back.
 */
int oc_routines_finish(oc_db_pool_t *db, const char *tenant, const char *id, const char *run_id, const char *owner,
                       int failed, const json_t *detail, int retry_s, oc_query_done_cb cb, void *arg);

/**
 * Read-back: up to `limit` active, pushed listings of connection `conn_id`,
 * the longest unseen first; answers a new array (the callback owns it) of
 * {listing_id, sku, item_ref, location_ref}, as an adapter's read takes them.
 */
typedef void (*oc_routines_read_list_cb)(void *arg, json_t *listings, const oc_fail_t *f);
int oc_routines_read_back_list(oc_db_pool_t *db, const char *tenant, const char *conn_id, int limit,
                               oc_routines_read_list_cb cb, void *arg);

/** What a read-back's comparison found: listings the channel shows right, and those it did not. */
typedef void (*oc_routines_read_cb)(void *arg, long long in_sync, long long drift, const oc_fail_t *f);

/**
 * Compares what the channel said (`read`: the adapter's read rows) with the
 * listings of connection `conn_id` and heals drift (read_back_record), the
 * connection's row locked first (orders.h).
 */
int oc_routines_read_back_record(oc_db_pool_t *db, const char *tenant, const char *conn_id, const json_t *read,
                                 oc_routines_read_cb cb, void *arg);

/**
 * Full re-push: every active listing of connection `conn_id` is pushed
 * again (locked in id order, as every path locks listings); the sync engine
 * is notified.  Answers the run's counters, {"listings": n}.
 */
int oc_routines_full_repush(oc_db_pool_t *db, const char *tenant, const char *conn_id, oc_routines_json_cb cb,
                            void *arg);

/**
 * The brand's sales velocity recomputed and its listings with it; answers
 * the run's counters, {"velocity_refresh": n, "listings_refresh_brand": n}
 * (those not null).
 */
int oc_routines_velocity(oc_db_pool_t *db, const char *tenant, oc_routines_json_cb cb, void *arg);

/**
 * One of the SOP's actions that are SQL alone (sop_action, migration 0027):
 * unlisted_skus, bundle_components, low_stock, connection_health (of
 * `conn_id`), buffer_review; `params` the step's settings.  Answers the
 * run's evidence (what it checked and found); it keeps the alert of its
 * kind open while it finds something.
 */
int oc_routines_action(oc_db_pool_t *db, const char *tenant, const char *kind, const char *conn_id,
                       const json_t *params, oc_routines_json_cb cb, void *arg);

#endif
