/*
 * pushes.c — claims, push results and hand-backs (see pushes.h).
 */
#include "tenants/pushes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

OC_DB_STMT(push_claim, 6, "SELECT push_claim($1, $2, $3::int, $4::uuid[], $5::int, $6::int)");
OC_DB_STMT(push_record, 3, "SELECT push_record($1, $2, $3::jsonb)");
OC_DB_STMT(
    push_health_record, 9,
    "SELECT connection_health_record($1, $2::uuid, $3::int, $4::int, $5::int, $6::float8, $7, $8, $9::bigint[])");
/* Kept leased, renewal would extend them with the brand's other work for as long as the brand stays busy. */
OC_DB_STMT(
    push_release, 3,
    "WITH mine AS (SELECT id FROM listings WHERE tenant_id = $1 AND lease_owner = $2 AND id = ANY ($3::uuid[])"
    "   ORDER BY id FOR UPDATE)"
    " UPDATE listings l SET lease_owner = NULL, lease_until = NULL, next_attempt_at = now() + interval '2 seconds'"
    " FROM mine WHERE l.tenant_id = $1 AND l.id = mine.id");

static void read_claim(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    json_t *claim = f == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    ((oc_pushes_claim_cb)done)(arg, json_object_get(claim, "rows"),
                               (long long)json_integer_value(json_object_get(claim, "wait_ms")), f);
    json_decref(claim);
}

int oc_pushes_claim(oc_db_pool_t *db, const oc_push_claim_req_t *req, oc_pushes_claim_cb cb, void *arg)
{
    oc_buf_t skip = {0};
    oc_db_array_add_strings(&skip, req->skip, NULL);
    char limit[24], lease[24], spacing[24];
    const char *p[] = {req->tenant,
                       req->owner,
                       oc_query_int(limit, req->limit),
                       oc_db_array_end(&skip),
                       oc_query_int(lease, req->lease_s),
                       oc_query_int(spacing, req->spacing_ms)};
    int rc = oc_query_typed_exec(db, req->tenant, &push_claim, p, read_claim, (void (*)(void))cb, arg);
    oc_buf_free(&skip);
    return rc;
}

int oc_pushes_record(oc_db_pool_t *db, const char *tenant, const char *owner, const char *conn_id,
                     const oc_push_health_t *health, const json_t *results, oc_query_done_cb cb, void *arg)
{
    char ok[24], failed[24], thr[24], lat[32];
    if (health->latency_ms >= 0)
        snprintf(lat, sizeof(lat), "%.1f", health->latency_ms);
    oc_buf_t visible = {0};
    for (size_t i = 0; i < health->nvisible; i++)
        oc_db_array_add_ll(&visible, health->visible_ms[i]);
    char *text = json_dumps(results, JSON_COMPACT);
    /* The connection's health first, then the listings: the order an order ingestion locks them in (connection,
     * then stock and its listings), so the two never wait for each other in a circle. */
    oc_db_tx_t tx = {.tenant = tenant, .nsteps = 2};
    const char *h[] = {tenant,
                       conn_id,
                       oc_query_int(ok, health->ok),
                       oc_query_int(failed, health->failed),
                       oc_query_int(thr, health->throttled),
                       health->latency_ms >= 0 ? lat : NULL,
                       health->error,
                       health->circuit,
                       oc_db_array_end(&visible)};
    tx.steps[0].stmt = &push_health_record;
    memcpy(tx.steps[0].params, h, sizeof(h));
    tx.steps[1].stmt = &push_record;
    tx.steps[1].params[0] = tenant;
    tx.steps[1].params[1] = owner;
    tx.steps[1].params[2] = text;
    int rc = oc_query_typed_run(db, &tx, oc_query_read_done, (void (*)(void))cb, arg);
    free(text);
    oc_buf_free(&visible);
    return rc;
}

int oc_pushes_retryable(const oc_fail_t *f)
{
    return f != NULL && f->kind == OC_FAIL_DB && f->db != NULL &&
           (strcmp(f->db->sqlstate, "40P01") == 0 || strcmp(f->db->sqlstate, "40001") == 0);
}

int oc_pushes_release(oc_db_pool_t *db, const char *tenant, const char *owner, const json_t *claimed,
                      oc_query_done_cb cb, void *arg)
{
    oc_buf_t ids = {0};
    oc_db_array_add_strings(&ids, claimed, "listing_id");
    const char *p[] = {tenant, owner, oc_db_array_end(&ids)};
    int rc = oc_query_typed_exec(db, tenant, &push_release, p, oc_query_read_done, (void (*)(void))cb, arg);
    oc_buf_free(&ids);
    return rc;
}
