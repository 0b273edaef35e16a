/*
 * audit.c — audit records as a step of the caller's transaction (see audit.h).
 */
#include "tenants/audit.h"
#include "tenants/brands.h"

#include <stdlib.h>
#include <string.h>

OC_DB_STMT(audit_insert, 9, "SELECT audit_write($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)");

const char *oc_actor_json(const oc_actor_t *a, const json_t *v)
{
    char *js = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = strlen(js) + 1;
    char *copy = h2o_mem_alloc_pool(a->pool, n);
    memcpy(copy, js, n);
    free(js);
    return copy;
}

static int add(oc_db_tx_t *tx, const oc_actor_t *a, const char *tenant, const char *action, const char *object_type,
               const char *object_id, json_t *summary)
{
    if (tx->nsteps >= OC_DB_MAX_STEPS)
        return OC_EINVAL;
    const char *summary_s = summary != NULL ? oc_actor_json(a, summary) : "{}";
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

/* --- reading the log --------------------------------------------------------------------- */

/* Ordered newest first by (at, brand, id); the cursor carries all three.  Actor: a user's or a token's id;
 * from and to: [from, to). */
#define AUDIT_ROW(a, brand)                                                                                            \
    "json_build_object('id', " a ".id::text, 'at', " a ".at, 'brand_id', " brand ", 'actor_user', " a ".actor_user,"   \
    " 'actor_token', " a ".actor_token, 'action', " a ".action, 'object_type', " a ".object_type, 'object_id', " a     \
    ".object_id, 'summary', " a ".summary, 'request_id', " a ".request_id)"
OC_DB_STMT(
    audit_brand, 10,
    "SELECT " AUDIT_ROW(
        "a", "a.tenant_id") " FROM audit_log a WHERE a.tenant_id = $1"
                            "   AND ($2::text IS NULL OR starts_with(a.action, $2))"
                            "   AND ($3::text IS NULL OR a.object_type = $3) AND ($4::text IS NULL OR a.object_id = $4)"
                            "   AND ($5::uuid IS NULL OR a.actor_user = $5 OR a.actor_token = $5)"
                            "   AND ($6::timestamptz IS NULL OR a.at >= $6) AND ($7::timestamptz IS NULL OR a.at < $7)"
                            "   AND ($8::text IS NULL OR (a.at, a.id) < ($8::timestamptz, $9::bigint))"
                            " ORDER BY a.at DESC, a.id DESC LIMIT $10");

void oc_audit_brand_read(oc_thread_t *th, const char *tenant, const oc_audit_filter_t *flt, const oc_page_keys_t *pg,
                         oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant,  flt->action_prefix, flt->object_type, flt->object_id,    flt->actor, flt->from,
                       flt->to, pg->after[0],       pg->after[2],     pg->limit_plus_one};
    oc_query_exec(th, tenant, &audit_brand, p, oc_query_rows, "audit record", cb, arg);
}

/*
 * The portfolio view: first set the transaction's tenants to every brand of
 * the portfolio, then merge the brand logs with the portfolio's own (left
 * out when one brand is asked for).
 */
OC_DB_STMT(
    audit_portfolio, 12,
    "SELECT j FROM ("
    " SELECT a.at, a.tenant_id::text AS b, a.id, " AUDIT_ROW(
        "a", "a.tenant_id") " AS j FROM audit_log a"
                            "  WHERE ($8::uuid IS NULL OR a.tenant_id = $8)"
                            "    AND ($5::uuid IS NULL OR a.actor_user = $5 OR a.actor_token = $5)"
                            "    AND ($6::timestamptz IS NULL OR a.at >= $6) AND ($7::timestamptz IS NULL OR a.at < $7)"
                            " UNION ALL"
                            " SELECT p.at, '' AS b, p.id, " AUDIT_ROW(
                                "p", "NULL") " AS j"
                                             "  FROM portfolio_audit p WHERE p.portfolio_id = $1 AND $8::uuid IS NULL"
                                             "    AND ($5::uuid IS NULL OR p.actor_user = $5 OR p.actor_token = $5)"
                                             "    AND ($6::timestamptz IS NULL OR p.at >= $6) AND ($7::timestamptz IS "
                                             "NULL OR p.at < $7)) x"
                                             " WHERE ($2::text IS NULL OR starts_with(j->>'action', $2))"
                                             "   AND ($3::text IS NULL OR (j->>'object_type') = $3) AND ($4::text IS "
                                             "NULL OR (j->>'object_id') = $4)"
                                             "   AND ($9::text IS NULL OR (x.at, x.b, x.id) < ($9::timestamptz, $10, "
                                             "$11::bigint))"
                                             " ORDER BY x.at DESC, x.b DESC, x.id DESC LIMIT $12");

void oc_audit_portfolio_read(oc_thread_t *th, const char *portfolio, const oc_audit_filter_t *flt,
                             const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {0};
    oc_brands_portfolio_tenants_step(&tx, portfolio);
    const char *p[] = {portfolio,  flt->action_prefix, flt->object_type, flt->object_id,
                       flt->actor, flt->from,          flt->to,          flt->brand};
    oc_query_page_step(&tx, &audit_portfolio, p, 8, pg, 3);
    oc_query_run(th, &tx, oc_query_rows, "audit record", cb, arg);
}
