/*
 * audit.c — audit records as a step of the caller's transaction (see audit.h).
 */
#include "tenants/audit.h"

#include <stdlib.h>
#include <string.h>

OC_DB_STMT(audit_insert, 9, "SELECT audit_write($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)");

static int add(oc_db_tx_t *tx, const oc_actor_t *a, const char *tenant, const char *action, const char *object_type,
               const char *object_id, json_t *summary)
{
    if (tx->nsteps >= OC_DB_MAX_STEPS)
        return OC_EINVAL;
    char *js = summary != NULL ? json_dumps(summary, JSON_COMPACT) : NULL;
    const char *summary_s = "{}";
    if (js != NULL) {
        size_t n = strlen(js) + 1;
        char *copy = h2o_mem_alloc_pool(a->pool, n);
        memcpy(copy, js, n);
        summary_s = copy;
        free(js);
    }
    int i = tx->nsteps++;
    /* audit_write(tenant, portfolio, user, token, action, type, id, summary, request) */
    tx->steps[i].stmt = &audit_insert;
    tx->steps[i].params[0] = tenant;
    tx->steps[i].params[1] = a->portfolio;
    tx->steps[i].params[2] = a->user;
    tx->steps[i].params[3] = a->token;
    tx->steps[i].params[4] = action;
    tx->steps[i].params[5] = object_type;
    tx->steps[i].params[6] = object_id;
    tx->steps[i].params[7] = summary_s;
    tx->steps[i].params[8] = a->request_id;
    return 0;
}

int oc_audit_brand(oc_db_tx_t *tx, const oc_actor_t *a, const char *action, const char *object_type,
                   const char *object_id, json_t *summary)
{
    return add(tx, a, a->tenant, action, object_type, object_id, summary);
}

int oc_audit_portfolio(oc_db_tx_t *tx, const oc_actor_t *a, const char *action, const char *object_type,
                       const char *object_id, json_t *summary)
{
    return add(tx, a, NULL, action, object_type, object_id, summary);
}
