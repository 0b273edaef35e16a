/*
 * audit.c — audit records as a step of the caller's transaction (see audit.h).
 */
#include "tenants/audit.h"

#include <stdlib.h>

OC_DB_STMT(audit_insert, 9, "SELECT audit_write($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)");

static int add(oc_db_tx_t *tx, oc_req_t *r, const char *tenant, const char *action, const char *object_type,
               const char *object_id, json_t *summary)
{
    if (tx->nsteps >= OC_DB_MAX_STEPS)
        return OC_EINVAL;
    char *js = summary != NULL ? json_dumps(summary, JSON_COMPACT) : NULL;
    const char *summary_s = "{}";
    if (js != NULL) {
        summary_s = oc_req_strdup(r, js, strlen(js));
        free(js);
    }
    int i = tx->nsteps++;
    /* audit_write(tenant, portfolio, user, token, action, type, id, summary, request) */
    tx->steps[i].stmt = &audit_insert;
    tx->steps[i].params[0] = tenant;
    tx->steps[i].params[1] = r->portfolio[0] ? r->portfolio : r->auth.portfolio_id;
    tx->steps[i].params[2] = r->auth.user_id[0] ? r->auth.user_id : NULL;
    tx->steps[i].params[3] = r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL;
    tx->steps[i].params[4] = action;
    tx->steps[i].params[5] = object_type;
    tx->steps[i].params[6] = object_id;
    tx->steps[i].params[7] = summary_s;
    tx->steps[i].params[8] = r->request_id;
    return 0;
}

int oc_audit_brand(oc_db_tx_t *tx, oc_req_t *r, const char *action, const char *object_type, const char *object_id,
                   json_t *summary)
{
    return add(tx, r, r->tenant, action, object_type, object_id, summary);
}

int oc_audit_portfolio(oc_db_tx_t *tx, oc_req_t *r, const char *action, const char *object_type, const char *object_id,
                       json_t *summary)
{
    return add(tx, r, NULL, action, object_type, object_id, summary);
}
