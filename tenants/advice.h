/*
 * advice.h — the buffer advisor (migrations/0028): per active listing of a
 * connection, the buffer in force, the one suggested from the units expected
 * to sell on the brand's other channels during this channel's p99 push lag,
 * and the expected units oversold and stranded per stock-out for each
 * choice; and applying the suggestion, within bounds, as per-listing buffer
 * rules (audited, the listings recomputed and pushed again).
 */
#ifndef OC_ADVICE_H
#define OC_ADVICE_H

#include "tenants/audit.h"
#include "tenants/query.h"

/**
 * The advice for connection `conn_id` of `tenant`: {"connection_id",
 * "connection", "kind", "push_lag_p99_ms", "push_lag_samples", "listings":
 * [{"listing_id", "sku", "external_sku", "current_buffer", "current_setting",
 * "current_set_on", "other_units_per_hour", "push_lag_p99_ms",
 * "push_lag_samples", "expected_elsewhere", "suggested_buffer",
 * "not_measured", "choices": [{"buffer", "labels", "expected_oversold",
 * "expected_stranded"}]}]}.  A connection not in the brand is
 * OC_FAIL_NOT_FOUND "no such connection".
 */
void oc_advice_get(oc_thread_t *th, const char *tenant, const char *conn_id, oc_query_cb cb, void *arg);

/**
 * Applies the advice on connection `conn_id` of a->tenant.  `body` (validated
 * by the caller) may hold listing_ids (absent: every active listing), min,
 * max and reason.  Answers {"connection_id", "changed": [{"listing_id",
 * "sku", "from", "from_setting", "to", "suggested"}], "unchanged": n}; an id
 * that is not an active listing of the connection is OC_FAIL_INVALID on
 * listing_ids, min above max OC_FAIL_INVALID on min, an unknown connection
 * OC_FAIL_NOT_FOUND.
 */
void oc_advice_apply(oc_thread_t *th, const oc_actor_t *a, const char *conn_id, const json_t *body, oc_query_cb cb,
                     void *arg);

#endif
