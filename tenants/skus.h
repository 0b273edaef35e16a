/*
 * skus.h — the brand's SKUs and bundles: list, create, read with balances
 * and listings, update, replace a bundle's components; a SKU's movement
 * history and its balance at a point in time.
 *
 * Every operation answers through oc_query_cb (query.h) with the SKU (or
 * page rows, or balance) as the API shows it, or a failure: "not_found" for
 * an unknown code, "conflict" on `code` for a code the brand already has,
 * "invalid_component" on `components[i].sku` for a bundle's bad component.
 * Writes drop the catalog cache (catalog.h) and record themselves in the
 * brand's audit log in the same transaction.
 */
#ifndef OC_SKUS_H
#define OC_SKUS_H

#include "tenants/audit.h"
#include "tenants/query.h"

/** Filters of the SKU list (NULL = any). */
/** The orders a list of SKUs comes in (the API's ?sort= names them in this order). */
typedef enum {
    OC_SKUS_SORT_CODE, /* the default: the cursor is the code */
    OC_SKUS_SORT_TITLE,
    OC_SKUS_SORT_ON_HAND,
    OC_SKUS_SORT_AVAILABLE,
} oc_skus_sort_t;

typedef struct oc_skus_filter {
    int include_archived;
    const char *q;       /* code prefix, title substring or exact barcode */
    const char *kind;    /* "simple" or "bundle" */
    oc_skus_sort_t sort; /* by code, title, on hand or available, then code */
    int desc;            /* descending */
} oc_skus_filter_t;

/**
 * One page of SKUs, by code (cursor: the code) or, in any other order, by
 * the column then code (cursor: [value, code]; a title is sorted as '' when
 * it has none).
 */
void oc_skus_list(oc_thread_t *th, const char *tenant, const oc_skus_filter_t *flt, const oc_page_keys_t *pg,
                  oc_query_cb cb, void *arg);

/** One SKU with its balances (a bundle: its availability and components) and, per listing, what is published. */
void oc_skus_get(oc_thread_t *th, const char *tenant, const char *code, oc_query_cb cb, void *arg);

/**
 * Creates a simple SKU in a->tenant; `summary` (borrowed) is what the audit
 * records.  Answers the SKU (wrapped for an idempotent replay: idem_result).
 */
void oc_skus_create(oc_thread_t *th, const oc_actor_t *a, const oc_idem_t *idem, const char *code, const char *title,
                    const char *barcode, const char *unit_cost, json_t *summary, oc_query_cb cb, void *arg);

/** What an update changes: NULL title = unchanged; barcode only when set_barcode; archived -1 = unchanged. */
typedef struct oc_skus_change {
    const char *title;
    const char *barcode;
    int set_barcode;
    const char *unit_cost; /* a decimal number as text, NULL = none; only when set_unit_cost */
    int set_unit_cost;
    int archived;
} oc_skus_change_t;

/** Updates the SKU `code` of a->tenant and audits before and after. */
void oc_skus_update(oc_thread_t *th, const oc_actor_t *a, const char *code, const oc_skus_change_t *ch, oc_query_cb cb,
                    void *arg);

/**
 * Creates a bundle of `components` (a JSON array text of {"sku","qty"},
 * each code once), after checking each is a known simple SKU and not the
 * bundle itself.
 */
void oc_skus_bundle_create(oc_thread_t *th, const oc_actor_t *a, const oc_idem_t *idem, const char *code,
                           const char *title, const char *components, json_t *summary, oc_query_cb cb, void *arg);

/** Replaces the components of bundle `code` (same checks) and refreshes what its listings publish. */
void oc_skus_bundle_replace(oc_thread_t *th, const oc_actor_t *a, const char *code, const char *components,
                            json_t *summary, oc_query_cb cb, void *arg);

/** Appends a step answering one row when `code` is a SKU of `tenant`, none otherwise. */
void oc_skus_exists_step(oc_db_tx_t *tx, const char *tenant, const char *code);

/** Filters of the movement history (NULL = any). */
typedef struct oc_skus_history {
    const char *code;    /* one SKU's */
    int code_must_exist; /* an unknown `code` is not found (rather than an empty page) */
    const char *kind;
    const char *from, *to; /* RFC 3339 times */
    const char *channel;   /* a connection id */
} oc_skus_history_t;

/** One page of movements, newest first (cursor: created_at, id). */
void oc_skus_history(oc_thread_t *th, const char *tenant, const oc_skus_history_t *h, const oc_page_keys_t *pg,
                     oc_query_cb cb, void *arg);

/** The balance of simple SKU `code` at time `at`: the last movement then, and the holds active then. */
void oc_skus_balance_at(oc_thread_t *th, const char *tenant, const char *code, const char *at, oc_query_cb cb,
                        void *arg);

#endif
