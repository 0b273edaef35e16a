/*
 * listings.h — which SKU is which listing on which connection, and what
 * quantity each channel may show and why (migrations/0004: listings_refresh
 * computes it from the balances and the rules).
 *
 * Writes run in one transaction with their audit record, recompute what the
 * listings may show, and tell the hold gate of balances they changed (a new
 * listing takes in the order lines parked for it) before answering.  Every
 * operation that takes a callback and fails at once fills `f` and never
 * calls it.
 */
#ifndef OC_LISTINGS_H
#define OC_LISTINGS_H

#include "tenants/audit.h"
#include "tenants/channels.h"
#include "tenants/query.h"

/** Adds to `tx` the step that recomputes every listing of tx->tenant (after a rules change). */
void oc_listings_refresh_brand_step(oc_db_tx_t *tx);

/** The orders a list of listings comes in (the API's ?sort= names them in this order). */
typedef enum {
    OC_LISTINGS_SORT_CHANNEL, /* the default: connection name, SKU code, id (a cursor of three) */
    OC_LISTINGS_SORT_SKU,
    OC_LISTINGS_SORT_DESIRED,
    OC_LISTINGS_SORT_PUSHED,
    OC_LISTINGS_SORT_SEEN,
} oc_listings_sort_t;

/** What a list of listings keeps (NULL: any). */
typedef struct oc_listings_filter {
    const char *connection;  /* a connection id */
    const char *sku;         /* a SKU code */
    const char *out_of_sync; /* "true" or "false": the channel has not / has acknowledged the last quantity */
    const char *state;       /* "active" or "paused" */
    oc_listings_sort_t sort; /* any order but the default: by the column, then id (cursor [value, id]) */
    int desc;
} oc_listings_filter_t;

/**
 * A page of listings as the API shows them, ordered by (connection name,
 * SKU code, id), after the page keys (three); cb gets the array of listings.
 */
void oc_listings_list(oc_thread_t *th, const char *tenant, const oc_listings_filter_t *flt, const oc_page_keys_t *pg,
                      oc_query_cb cb, void *arg);

/** SKU × connection pairs with no listing, ordered by (connection name, SKU code, connection id); as the list. */
void oc_listings_unmapped(oc_thread_t *th, const char *tenant, const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/** Listing `id` (a uuid) of `tenant`; OC_FAIL_NOT_FOUND "no such listing". */
void oc_listings_get(oc_thread_t *th, const char *tenant, const char *id, oc_query_cb cb, void *arg);

/**
 * Maps a SKU to a listing of a connection of a->tenant.  `listing` (validated
 * by the caller; also the audit summary) holds connection_id and sku, and
 * optionally external_sku (default: the SKU's code), item_ref, location_ref
 * and rules.  Answers the new listing; a connection not in the brand is
 * OC_FAIL_INVALID on connection_id, an unknown SKU OC_FAIL_NOT_FOUND, a SKU
 * or external SKU already listed OC_FAIL_CONFLICT on external_sku.
 */
void oc_listings_create(oc_thread_t *th, const oc_actor_t *a, const json_t *listing, oc_query_cb cb, void *arg);

/**
 * Changes listing `id`: `changes` (validated; the audit summary) may set
 * external_sku, item_ref, location_ref, rules, state ("active"/"paused") and
 * repush (true: push the quantity again, even if the channel has it).
 */
void oc_listings_update(oc_thread_t *th, const oc_actor_t *a, const char *id, const json_t *changes, oc_query_cb cb,
                        void *arg);

/** Removes listing `id`; answers {"id", "deleted": true}. */
void oc_listings_delete(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg);

/**
 * Pauses, resumes or pushes again (`action`: "pause", "resume", "repush")
 * the listings `ids` (a PostgreSQL uuid[] literal) in one transaction; each
 * changed listing is audited.  Answers {action, requested, done: [ids],
 * unchanged: [ids already as asked], failed: [{id, reason}], audited}:
 * per-item results, never a partial failure of the transaction itself.
 */
void oc_listings_bulk(oc_thread_t *th, const oc_actor_t *a, const char *action, const char *ids, oc_query_cb cb,
                      void *arg);

/**
 * Lists every SKU without a listing on connection `conn_id` under its own
 * code; answers {"created", "mapped": [external_sku…], "not_mapped": [{"sku",
 * "reason"}…]} (codes another listing of the connection already uses).  A
 * connection to an account another active connection holds is refused
 * (OC_FAIL_CONFLICT duplicate_account: it would sell twice).
 */
void oc_listings_automap(oc_thread_t *th, const oc_actor_t *a, const char *conn_id, oc_query_cb cb, void *arg);

#endif
