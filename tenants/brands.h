/*
 * brands.h — the portfolio and its brands (the tenants): read, list,
 * create, rename, change time zone, archive.
 *
 * Answers through oc_query_cb (query.h): a brand is {"id","name",
 * "timezone","created_at","archived"}; a name the portfolio already has is a
 * conflict on "name".  Creation is audited in the portfolio's log, changes in
 * the brand's.
 */
#ifndef OC_BRANDS_H
#define OC_BRANDS_H

#include "tenants/audit.h"
#include "tenants/query.h"

/** The portfolio with its count of active brands. */
/**
 * Appends a step making every brand of `portfolio` the transaction's tenants
 * (a portfolio-wide read or write).  `portfolio` must outlive the run.
 */
void oc_brands_portfolio_tenants_step(oc_db_tx_t *tx, const char *portfolio);

void oc_brands_portfolio_get(oc_thread_t *th, const char *portfolio, oc_query_cb cb, void *arg);

/**
 * One page of the portfolio's brands by name (cursor: lower(name), id):
 * only those of `only` (n ids) unless `only` is NULL; archived ones when
 * `include_archived`.
 */
void oc_brands_list(oc_thread_t *th, const char *portfolio, const char *const *only, int n, int include_archived,
                    const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/** Creates brand `name` in a->portfolio (time zone NULL = UTC).  Answers it. */
void oc_brands_create(oc_thread_t *th, const oc_actor_t *a, const char *name, const char *timezone, oc_query_cb cb,
                      void *arg);

/** Brand `id`; "no such brand". */
void oc_brands_get(oc_thread_t *th, const char *id, oc_query_cb cb, void *arg);

/** What an update changes: NULL = unchanged; archived -1 = unchanged. */
typedef struct oc_brands_change {
    const char *name, *timezone;
    int archived;
} oc_brands_change_t;

/** Changes brand a->tenant; `summary` (borrowed) is what the audit records.  Answers the brand. */
void oc_brands_update(oc_thread_t *th, const oc_actor_t *a, const oc_brands_change_t *ch, json_t *summary,
                      oc_query_cb cb, void *arg);

#endif
