/*
 * audit.h — the append-only record of every write: who, which brand, what
 * action on which object, a before/after summary, the request id, when.
 *
 * A write handler adds the audit insert as one more step of the same
 * transaction as the change itself, so a change is never without its record
 * nor a record without its change.  Statements whose change may not happen
 * (a revoke of something already revoked, an update that matches nothing)
 * call the SQL function audit_write() themselves, only for the rows they
 * changed, with the actor from oc_audit_user() and oc_audit_token().
 */
#ifndef OC_AUDIT_H
#define OC_AUDIT_H

#include "server/db.h"
#include "server/http.h"

/**
 * Appends to `tx` an insert into the brand's audit log (r->tenant must be the
 * brand and tx->tenant set to it).  `summary` is borrowed; NULL = {}.
 * Returns 0, or OC_EINVAL when tx has no room.
 */
int oc_audit_brand(oc_db_tx_t *tx, oc_req_t *r, const char *action, const char *object_type, const char *object_id,
                   json_t *summary);

/** Same for portfolio-level actions (brands, portfolio members, portfolio tokens). */
int oc_audit_portfolio(oc_db_tx_t *tx, oc_req_t *r, const char *action, const char *object_type, const char *object_id,
                       json_t *summary);

/** The actor arguments of audit_write() for the current request. */
static inline const char *oc_audit_user(const oc_req_t *r)
{
    return r->auth.user_id[0] ? r->auth.user_id : NULL;
}
static inline const char *oc_audit_token(const oc_req_t *r)
{
    return r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL;
}

#endif
