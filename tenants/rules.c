/*
 * rules.c — the brand's publish rules (see rules.h).
 */
#include "tenants/rules.h"
#include "tenants/listings.h"
#include "runtime/json.h"

#include <stdio.h>

OC_DB_STMT(rules_get, 1,
           "SELECT json_build_object('last_units', CASE WHEN r.last_units_threshold IS NULL THEN NULL ELSE"
           " json_build_object('threshold', r.last_units_threshold, 'connection_id', r.last_units_connection) END)"
           " FROM (SELECT $1::uuid AS t) x LEFT JOIN brand_rules r ON r.tenant_id = x.t");
OC_DB_STMT(rules_put, 3,
           "INSERT INTO brand_rules (tenant_id, last_units_threshold, last_units_connection, updated_at)"
           " VALUES ($1, $2::bigint, $3::uuid, now()) ON CONFLICT (tenant_id) DO UPDATE SET"
           " last_units_threshold = excluded.last_units_threshold,"
           " last_units_connection = excluded.last_units_connection, updated_at = now()");

static const oc_channels_refusals_t r_rules = {.fk_field = "last_units.connection_id"};
static const oc_query_how_t a_rules = {.what = "connection", .refuse = oc_channels_refuse, .refuse_ctx = &r_rules};

/* Ends `tx` with the rules as they are now, and runs it. */
static void answer_rules(oc_thread_t *th, oc_db_tx_t *tx, oc_query_cb cb, void *arg)
{
    tx->steps[tx->nsteps].stmt = &rules_get;
    tx->steps[tx->nsteps++].params[0] = tx->tenant;
    oc_query_answer(th, tx, &a_rules, cb, arg);
}

void oc_rules_get(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant};
    answer_rules(th, &tx, cb, arg);
}

void oc_rules_put(oc_thread_t *th, const oc_actor_t *a, const json_t *rules, oc_query_cb cb, void *arg)
{
    const json_t *lu = json_object_get(rules, "last_units");
    char thr[32] = "";
    const char *conn = NULL;
    if (json_is_object(lu)) {
        snprintf(thr, sizeof(thr), "%lld", (long long)oc_json_int(lu, "threshold", 0));
        conn = oc_json_str(lu, "connection_id");
    }
    oc_db_tx_t tx = {.tenant = a->tenant, .nsteps = 1};
    tx.steps[0].stmt = &rules_put;
    tx.steps[0].params[0] = a->tenant;
    tx.steps[0].params[1] = thr[0] ? thr : NULL;
    tx.steps[0].params[2] = conn;
    oc_listings_refresh_brand_step(&tx);
    oc_audit_brand(&tx, a, "rules.update", "brand", a->tenant, (json_t *)rules);
    answer_rules(th, &tx, cb, arg);
}
