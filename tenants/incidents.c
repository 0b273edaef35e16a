/*
 * incidents.c — ledger verification and oversell incidents (see incidents.h).
 */
#include "tenants/incidents.h"

OC_DB_STMT(ledger_verify_stmt, 1, "SELECT ledger_verify($1)");

void oc_incidents_verify(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant};
    oc_query_exec(th, tenant, &ledger_verify_stmt, p, oc_query_one, "SKU", cb, arg);
}

#define OVERSELL_JSON                                                                                                  \
    "json_build_object('id', o.id::text, 'sku', k.code, 'qty_short', o.qty_short, 'state', o.state,"                   \
    " 'channel_id', o.channel_id, 'channel', (SELECT c.name FROM channel_connections c"                                \
    "   WHERE c.tenant_id = o.tenant_id AND c.id = o.channel_id), 'reference', o.reference, 'movement_id', "           \
    "o.movement_id::text,"                                                                                             \
    " 'resolution', o.resolution, 'note', o.note, 'created_at', o.created_at, 'resolved_at', o.resolved_at,"           \
    " 'resolved_by', o.resolved_by)"

OC_DB_STMT(oversells_list, 5,
           "SELECT " OVERSELL_JSON
           " FROM oversell_incidents o JOIN skus k ON k.tenant_id = o.tenant_id AND k.id = o.sku_id"
           " WHERE o.tenant_id = $1 AND ($2::text = 'all' OR o.state = $2)"
           "   AND ($3::text IS NULL OR (o.created_at, o.id) < ($3::timestamptz, $4::bigint))"
           " ORDER BY o.created_at DESC, o.id DESC LIMIT $5");

void oc_incidents_list(oc_thread_t *th, const char *tenant, const char *state, const oc_page_keys_t *pg, oc_query_cb cb,
                       void *arg)
{
    const char *p[] = {tenant, state};
    oc_query_list(th, tenant, &oversells_list, p, 2, pg, 2, "oversell incident", cb, arg);
}

OC_DB_STMT(oversell_resolve, 6,
           "WITH o AS (UPDATE oversell_incidents o SET state = 'resolved', resolution = $3, note = $4,"
           "   resolved_at = now(), resolved_by = $5::uuid"
           "   WHERE o.tenant_id = $1 AND o.id = $2::bigint AND o.state = 'open' RETURNING o.*)"
           " SELECT " OVERSELL_JSON ", audit_write($1, NULL, $5::uuid, $6::uuid, 'oversell.resolve', 'oversell',"
           "   o.id::text, jsonb_build_object('resolution', $3::text, 'note', $4::text),"
           "   current_setting('app.request_id', true))"
           " FROM o JOIN skus k ON k.tenant_id = o.tenant_id AND k.id = o.sku_id");

void oc_incidents_resolve(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *resolution,
                          const char *note, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant};
    oc_query_request_id_step(&tx, a->request_id);
    const char *p[] = {a->tenant, id, resolution, note, a->user, a->token};
    oc_query_step(&tx, &oversell_resolve, p, 6);
    oc_query_run(th, &tx, oc_query_one, "open oversell incident", cb, arg);
}

OC_DB_STMT(incidents_credentials_alert, 3, "SELECT alert_open($1, $2::uuid, 'credentials', $3)");

int oc_incidents_credentials_alert(oc_db_pool_t *db, const char *tenant, const char *conn_id, const char *message)
{
    const char *p[] = {tenant, conn_id, message};
    return oc_query_typed_exec(db, tenant, &incidents_credentials_alert, p, NULL, NULL, NULL);
}
