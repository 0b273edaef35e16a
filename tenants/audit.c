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

/* Ordered newest first by (at, brand, id); the cursor carries all three. */
/*
 * What an entry's object is called, in words, so the log reads without ids:
 * a SKU by its code and title, a listing by its SKU and connection, a
 * connection, token, checklist item by its name, a person by name (or
 * e-mail), a movement or oversell by its SKU, an import by its file type.
 * NULL when the object is gone (the summary keeps what was recorded then).
 */
/* The entry (alias a)'s object id as the key it is (NULL when it is not one), so the lookups use the primary keys. */
#define AUDIT_UUID                                                                                                     \
    "nullif(substring(a.object_id FROM '^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'), '')::uuid"
#define AUDIT_BIGINT "nullif(substring(a.object_id FROM '^[0-9]{1,18}$'), '')::bigint"

#define AUDIT_OBJECT_NAME                                                                                              \
    "CASE a.object_type"                                                                                               \
    " WHEN 'sku' THEN (SELECT k.code || CASE WHEN k.title <> '' THEN ' — ' || k.title ELSE '' END FROM skus k"       \
    "   WHERE k.tenant_id = a.tenant_id AND k.code = a.object_id)"                                                     \
    " WHEN 'listing' THEN (SELECT k.code || ' on ' || c.name FROM listings l"                                          \
    "   JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id"                                                  \
    "   JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id"                            \
    "   WHERE l.tenant_id = a.tenant_id AND l.id = " AUDIT_UUID ")"                                                    \
    " WHEN 'connection' THEN (SELECT c.name FROM channel_connections c"                                                \
    "   WHERE c.tenant_id = a.tenant_id AND c.id = " AUDIT_UUID ")"                                                    \
    " WHEN 'routine' THEN (SELECT coalesce(c.name, 'the whole brand') FROM routines r"                                 \
    "   LEFT JOIN channel_connections c ON c.tenant_id = r.tenant_id AND c.id = r.connection_id"                       \
    "   WHERE r.tenant_id = a.tenant_id AND r.id = " AUDIT_UUID ")"                                                    \
    " WHEN 'movement' THEN (SELECT k.code FROM movements m JOIN skus k ON k.tenant_id = m.tenant_id AND k.id = "       \
    "m.sku_id"                                                                                                         \
    "   WHERE m.tenant_id = a.tenant_id AND m.id = " AUDIT_BIGINT ")"                                                  \
    " WHEN 'oversell' THEN (SELECT k.code FROM oversell_incidents o"                                                   \
    "   JOIN skus k ON k.tenant_id = o.tenant_id AND k.id = o.sku_id"                                                  \
    "   WHERE o.tenant_id = a.tenant_id AND o.id = " AUDIT_BIGINT ")"                                                  \
    " WHEN 'checklist_item' THEN (SELECT i.title FROM checklist_items i"                                               \
    "   WHERE i.tenant_id = a.tenant_id AND i.id = " AUDIT_UUID ")"                                                    \
    " WHEN 'hold' THEN (SELECT coalesce(hh.reference, 'hold of ' || jsonb_array_length(hh.lines) ||"                   \
    "   CASE WHEN jsonb_array_length(hh.lines) = 1 THEN ' line' ELSE ' lines' END) FROM holds hh"                      \
    "   WHERE hh.tenant_id = a.tenant_id"                                                                              \
    "   AND hh.id = " AUDIT_UUID ")"                                                                                   \
    " WHEN 'import' THEN (SELECT CASE j.type WHEN 'skus' THEN 'SKUs file' WHEN 'bundles' THEN 'Bundles file'"          \
    "   WHEN 'counts' THEN 'Counts file' WHEN 'listings' THEN 'Listings file' ELSE j.type || ' file' END"              \
    "   || coalesce(' of ' || j.rows_total || CASE WHEN j.rows_total = 1 THEN ' row' ELSE ' rows' END, '')"            \
    "   FROM import_jobs j WHERE j.tenant_id = a.tenant_id AND j.id = " AUDIT_UUID ")"                                 \
    " WHEN 'alert' THEN (SELECT replace(al.kind, '_', ' ') || coalesce(' on ' || c.name, '') FROM alerts al"           \
    "   LEFT JOIN channel_connections c ON c.tenant_id = al.tenant_id AND c.id = al.connection_id"                     \
    "   WHERE al.tenant_id = a.tenant_id AND al.id = " AUDIT_BIGINT ")"                                                \
    " WHEN 'sop' THEN 'version ' || a.object_id"                                                                       \
    " WHEN 'token' THEN (SELECT t.name FROM api_tokens t WHERE t.id = " AUDIT_UUID ")"                                 \
    " WHEN 'user' THEN (SELECT coalesce(nullif(u.name, ''), u.email) FROM users u WHERE u.id = " AUDIT_UUID ")"        \
    " END"

/* Ordered newest first by (at, brand, id); the cursor carries all three.  Actor: a user's or a token's id;
 * from and to: [from, to).  `name` is the object's name in words (AUDIT_OBJECT_NAME for a brand's log). */
#define AUDIT_ROW(a, brand, name)                                                                                      \
    "json_build_object('id', " a ".id::text, 'at', " a ".at, 'brand_id', " brand ", 'actor_user', " a ".actor_user,"   \
    " 'actor_token', " a ".actor_token, 'action', " a ".action, 'object_type', " a ".object_type, 'object_id', " a     \
    ".object_id, 'summary', " a ".summary, 'request_id', " a ".request_id, 'object_name', " name                       \
    ", 'actor_token_name', (SELECT t.name FROM api_tokens t WHERE t.id = " a ".actor_token))"
/* A portfolio entry's object (alias a): a token, person, brand or SOP version. */
#define AUDIT_PORTFOLIO_OBJECT_NAME                                                                                    \
    "CASE a.object_type"                                                                                               \
    " WHEN 'token' THEN (SELECT t.name FROM api_tokens t WHERE t.id = " AUDIT_UUID ")"                                 \
    " WHEN 'user' THEN (SELECT coalesce(nullif(u.name, ''), u.email) FROM users u WHERE u.id = " AUDIT_UUID ")"        \
    " WHEN 'brand' THEN (SELECT b.name FROM brands b WHERE b.id = " AUDIT_UUID ")"                                     \
    " WHEN 'sop' THEN 'version ' || a.object_id END"
OC_DB_STMT(
    audit_brand, 10,
    "SELECT " AUDIT_ROW(
        "a", "a.tenant_id",
        AUDIT_OBJECT_NAME) " FROM audit_log a WHERE a.tenant_id = $1"
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
        "a", "a.tenant_id",
        AUDIT_OBJECT_NAME) " AS j"
                           "  FROM audit_log a WHERE ($8::uuid IS NULL OR a.tenant_id = $8)"
                           "    AND ($5::uuid IS NULL OR a.actor_user = $5 OR a.actor_token = $5)"
                           "    AND ($6::timestamptz IS NULL OR a.at >= $6) AND ($7::timestamptz IS NULL OR a.at < $7)"
                           " UNION ALL"
                           " SELECT a.at, '' AS b, a.id, " AUDIT_ROW(
                               "a", "NULL",
                               AUDIT_PORTFOLIO_OBJECT_NAME) " AS j"
                                                            "  FROM portfolio_audit a WHERE a.portfolio_id = $1 AND "
                                                            "$8::uuid IS NULL"
                                                            "    AND ($5::uuid IS NULL OR a.actor_user = $5 OR "
                                                            "a.actor_token = $5)"
                                                            "    AND ($6::timestamptz IS NULL OR a.at >= $6) AND "
                                                            "($7::timestamptz IS NULL OR a.at < $7)) x"
                                                            " WHERE ($2::text IS NULL OR starts_with(j->>'action', $2))"
                                                            "   AND ($3::text IS NULL OR (j->>'object_type') = $3) AND "
                                                            "($4::text IS NULL OR (j->>'object_id') = $4)"
                                                            "   AND ($9::text IS NULL OR (x.at, x.b, x.id) < "
                                                            "($9::timestamptz, $10, $11::bigint))"
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
