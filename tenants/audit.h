/*
 * audit.h — the append-only record of every write: who, which brand, what
 * action on which object, a before/after summary, the request id, when.
 *
 * A write handler adds the audit insert as one more step of the same
 * transaction as the change itself, so a change is never without its record
 * nor a record without its change.  Statements whose change may not happen
 * (a revoke of something already revoked, an update that matches nothing)
 * call the SQL function audit_write() themselves, only for the rows they
 * changed, with the actor's user and token.
 */
#ifndef OC_AUDIT_H
#define OC_AUDIT_H

#include <h2o.h>

#include "runtime/db.h"
#include "tenants/query.h"

/**
 * Who acts, for the record: filled by the caller's layer (an API request:
 * oc_req_actor() in server/http.h).  Strings are borrowed and must outlive
 * the transaction; `pool` holds the copies the audit steps make.
 */
typedef struct oc_actor {
    const char *portfolio;  /* the portfolio acted in */
    const char *tenant;     /* the brand acted on, or NULL/"" for portfolio actions */
    const char *user;       /* the user, or NULL */
    const char *token;      /* the API token's id when acting by token, else NULL */
    const char *request_id; /* the request it came in, or NULL */
    h2o_mem_pool_t *pool;
} oc_actor_t;

/** `v` as compact JSON text in the actor's request pool: a parameter that outlives the call. */
const char *oc_actor_json(const oc_actor_t *a, const json_t *v);

/**
 * Appends to `tx` an insert into the brand's audit log (a->tenant must be the
 * brand and tx->tenant set to it).  `summary` is borrowed; NULL = {}.
 * Returns 0, or OC_EINVAL when tx has no room.
 */
int oc_audit_brand(oc_db_tx_t *tx, const oc_actor_t *a, const char *action, const char *object_type,
                   const char *object_id, json_t *summary);

/** Same for portfolio-level actions (brands, portfolio members, portfolio tokens). */
int oc_audit_portfolio(oc_db_tx_t *tx, const oc_actor_t *a, const char *action, const char *object_type,
                       const char *object_id, json_t *summary);

/** Filters of an audit log read (NULL = any). */
typedef struct oc_audit_filter {
    const char *action_prefix;
    const char *object_type, *object_id;
    const char *actor;     /* a user's or an API token's id */
    const char *from, *to; /* RFC 3339 times: at in [from, to) */
    const char *brand;     /* the portfolio log only: one brand's records (then no portfolio-level ones) */
    const char *portfolio; /* the export (reports.h): the portfolio whose own records it may include */
} oc_audit_filter_t;

/** One page of the brand's audit log, newest first (cursor: at, brand, id; the brand is unused here). */
void oc_audit_brand_read(oc_thread_t *th, const char *tenant, const oc_audit_filter_t *flt, const oc_page_keys_t *pg,
                         oc_query_cb cb, void *arg);

/**
 * One page of the portfolio's log merged with every one of its brands'
 * (row-level security still applies), newest first by (at, brand, id).
 */
void oc_audit_portfolio_read(oc_thread_t *th, const char *portfolio, const oc_audit_filter_t *flt,
                             const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

#endif
