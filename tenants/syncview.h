/*
 * syncview.h — what the sync engine is doing, per brand, as people read it:
 * connection health (circuit, queue depth, oldest out-of-sync listing, push
 * latency, 429s), alerts, drift found and healed, the routines table (run
 * now, change the schedule), channel orders and the order lines parked for
 * lack of a listing, and a SKU's timeline of movements and pushes ("why did
 * Amazon show 7 at 14:02?").
 *
 * Reads of the sync engine's tables (migrations/0006) and the few changes a
 * person makes to them (resolve an alert, a routine's schedule, run a
 * routine now).  Answers through oc_query_cb (query.h); lists are pages
 * newest first, cursor (at, id).
 */
#ifndef OC_SYNCVIEW_H
#define OC_SYNCVIEW_H

#include "tenants/audit.h"
#include "tenants/query.h"

/** The brand's sync summary: every connection's health, counts of listings behind, failing and stuck. */
void oc_syncview_status(oc_thread_t *th, const char *tenant, int stuck_after_seconds, oc_query_cb cb, void *arg);

/** One connection's health; "no such connection". */
void oc_syncview_health(oc_thread_t *th, const char *tenant, const char *connection_id, oc_query_cb cb, void *arg);

/** A page of alerts in `state` ("open", "resolved", "all") of `connection_id` (NULL = any). */
void oc_syncview_alerts(oc_thread_t *th, const char *tenant, const char *state, const char *connection_id,
                        const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/** Resolves alert `id` (digits) of a->tenant, audited; "no such alert". */
void oc_syncview_alert_resolve(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg);

/** A page of drift findings in `state` ("open", "healed", "all") of `connection_id` (NULL = any). */
void oc_syncview_drift(oc_thread_t *th, const char *tenant, const char *state, const char *connection_id,
                       const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/** Every routine of the brand (a JSON array). */
void oc_syncview_routines(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg);

/**
 * A page of the runs of the brand's routines (routine_runs), newest first:
 * when due, started, finished, the outcome ("running", "ok", "failed",
 * "interrupted") and its evidence (detail); filtered by `kind`,
 * `connection_id` and `status` (each NULL = any).
 */
void oc_syncview_routine_runs(oc_thread_t *th, const char *tenant, const char *kind, const char *connection_id,
                              const char *status, const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/**
 * Changes routine `id` of a->tenant: `interval_seconds` (decimal text, NULL =
 * unchanged), `enabled` (-1 = unchanged); audited before and after.  "no such routine".
 */
void oc_syncview_routine_update(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *interval_seconds,
                                int enabled, oc_query_cb cb, void *arg);

/** Makes routine `id` due now and wakes the sync engine; "no such routine". */
void oc_syncview_routine_run(oc_thread_t *th, const char *tenant, const char *id, oc_query_cb cb, void *arg);

/** Order lines parked for lack of a listing, grouped by connection and channel SKU (a JSON array). */
void oc_syncview_unmapped(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg);

/**
 * A page of channel orders with their lines, newest first, of
 * `connection_id` and `external_id`, first seen in [`from`, `to`) (RFC 3339
 * times; NULL = any).
 */
void oc_syncview_orders(oc_thread_t *th, const char *tenant, const char *connection_id, const char *external_id,
                        const char *from, const char *to, const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/**
 * A page of SKU `code`'s movements, pushes and drift findings between `from`
 * and `to` (NULL = open); with `at`, also what every channel was showing
 * then.  Answers {"items":[…], "shown_at":…} ("shown_at" only with `at`);
 * "no such SKU".
 */
void oc_syncview_timeline(oc_thread_t *th, const char *tenant, const char *code, const char *from, const char *to,
                          const char *at, const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

#endif
