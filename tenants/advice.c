/*
 * advice.c — the buffer advisor (see advice.h; the model is in
 * migrations/0028_buffer_advice.sql).
 */
#include "tenants/advice.h"
#include "runtime/alloc.h"
#include "runtime/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

OC_DB_STMT(advice_get, 2,
           "SELECT json_build_object('connection_id', c.id, 'connection', c.name, 'kind', c.kind,"
           " 'push_lag_p99_ms', c.push_lag_p99_ms, 'push_lag_samples', c.push_lag_samples,"
           " 'listings', coalesce((SELECT json_agg(to_json(a) ORDER BY a.sku, a.listing_id)"
           "   FROM buffer_advice($1, c.id) a), '[]'))"
           " FROM channel_connections c WHERE c.tenant_id = $1 AND c.id = $2::uuid");

OC_DB_STMT(advice_apply, 9,
           "SELECT buffer_advice_apply($1, $2::uuid, $3::uuid[], $4::int, $5::int, $6::uuid, $7::uuid, $8, $9)");

void oc_advice_get(oc_thread_t *th, const char *tenant, const char *conn_id, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, conn_id};
    oc_query_exec(th, tenant, &advice_get, p, oc_query_one, "connection", cb, arg);
}

/* The apply's own refusals (SQLSTATEs of buffer_advice_apply). */
static int refuse(const oc_db_result_t *res, const void *ctx, oc_fail_t *f)
{
    (void)ctx;
    const char *msg = res->detail != NULL && *res->detail != '\0' ? res->detail : "the request cannot be applied";
    if (strcmp(res->sqlstate, "OCBA1") == 0)
        oc_fail(f, OC_FAIL_INVALID, "invalid", "listing_ids", "%s", msg);
    else if (strcmp(res->sqlstate, "OCBA2") == 0)
        oc_fail(f, OC_FAIL_INVALID, "invalid", "min", "%s", msg);
    else
        return 0;
    return 1;
}

/* listing_ids as a uuid[] literal ({a,b}); NULL when absent.  Malloc'd (free). */
static char *ids_param(const json_t *ids)
{
    if (!json_is_array(ids))
        return NULL;
    size_t n = json_array_size(ids), i;
    char *s = oc_malloc(n * 37 + 3), *p = s;
    *p++ = '{';
    const json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *id = json_string_value(v);
        size_t len = id != NULL ? strlen(id) : 0;
        if (i > 0)
            *p++ = ',';
        memcpy(p, id, len);
        p += len;
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

void oc_advice_apply(oc_thread_t *th, const oc_actor_t *a, const char *conn_id, const json_t *body, oc_query_cb cb,
                     void *arg)
{
    static const oc_query_how_t how = {.what = "connection", .refuse = refuse};
    const json_t *ids = json_object_get(body, "listing_ids");
    char *list = ids_param(ids);
    char lo[24], hi[24];
    const json_t *mn = json_object_get(body, "min"), *mx = json_object_get(body, "max");
    oc_db_tx_t tx = {.tenant = a->tenant, .nsteps = 1};
    tx.steps[0].stmt = &advice_apply;
    const char *p[] = {a->tenant,
                       conn_id,
                       list,
                       json_is_integer(mn) ? oc_query_int(lo, json_integer_value(mn)) : NULL,
                       json_is_integer(mx) ? oc_query_int(hi, json_integer_value(mx)) : NULL,
                       a->user,
                       a->token,
                       a->request_id,
                       oc_json_str(body, "reason")};
    memcpy(tx.steps[0].params, p, sizeof(p));
    oc_query_answer(th, &tx, &how, cb, arg);
    free(list);
}
