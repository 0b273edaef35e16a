/*
 * rules.h — the brand's cross-channel publish rules (brand_rules): today
 * "last units", the threshold under which only one connection shows the
 * stock.  Per-connection and per-listing rules (buffer, share, cap, floor)
 * are kept with their connection and listing (connections.h, listings.h);
 * listings_refresh (migrations/0004) applies them all.
 */
#ifndef OC_RULES_H
#define OC_RULES_H

#include "tenants/audit.h"
#include "tenants/channels.h"
#include "tenants/query.h"

/** The brand's rules: {"last_units": null | {"threshold", "connection_id"}}. */
void oc_rules_get(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg);

/**
 * Replaces a->tenant's rules with `rules` (validated by the caller; also the
 * audit summary): last_units null or absent for none.  Every listing of the
 * brand is recomputed.  A connection not in the brand is OC_FAIL_INVALID on
 * last_units.connection_id.  Answers the rules as oc_rules_get does.
 */
void oc_rules_put(oc_thread_t *th, const oc_actor_t *a, const json_t *rules, oc_query_cb cb, void *arg);

#endif
