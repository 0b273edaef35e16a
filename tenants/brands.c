/*
 * brands.c — the portfolio and its brands (see brands.h).
 */
#include "tenants/brands.h"

#include <string.h>

#define BRAND_JSON                                                                                                     \
    "json_build_object('id', b.id, 'name', b.name, 'timezone', b.timezone, 'created_at', b.created_at,"                \
    " 'archived', b.archived_at IS NOT NULL)"

OC_DB_STMT(portfolio_get, 1,
           "SELECT json_build_object('id', p.id, 'name', p.name, 'created_at', p.created_at,"
           " 'brands', (SELECT count(*) FROM brands b WHERE b.portfolio_id = p.id AND b.archived_at IS NULL))"
           " FROM portfolios p WHERE p.id = $1");

void oc_brands_portfolio_get(oc_thread_t *th, const char *portfolio, oc_query_cb cb, void *arg)
{
    const char *p[] = {portfolio};
    oc_query_exec(th, NULL, &portfolio_get, p, oc_query_one, "object", cb, arg);
}

OC_DB_STMT(brands_list, 6,
           "SELECT " BRAND_JSON " FROM brands b"
           " WHERE b.portfolio_id = $1 AND ($2::uuid[] IS NULL OR b.id = ANY ($2::uuid[]))"
           "   AND ($3::bool OR b.archived_at IS NULL)"
           "   AND ($4::text IS NULL OR (lower(b.name), b.id::text) > (lower($4), $5))"
           " ORDER BY lower(b.name), b.id LIMIT $6");

void oc_brands_list(oc_thread_t *th, const char *portfolio, const char *const *only, int n, int include_archived,
                    const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    oc_buf_t b = {0};
    const char *ids = NULL;
    if (only != NULL) {
        for (int i = 0; i < n; i++)
            oc_db_array_add(&b, only[i]);
        if ((ids = oc_db_array_end(&b)) == NULL) {
            oc_buf_free(&b);
            oc_fail_t f = {0};
            oc_fail(&f, OC_FAIL_INTERNAL, NULL, NULL, "the brand filter could not be built");
            cb(arg, NULL, &f);
            return;
        }
    }
    const char *p[] = {portfolio, ids, include_archived ? "true" : "false"};
    oc_query_list(th, NULL, &brands_list, p, 3, pg, 2, "brand", cb, arg);
    oc_buf_free(&b);
}

OC_DB_STMT(brand_insert, 4,
           "INSERT INTO brands (id, portfolio_id, name, timezone) VALUES ($1, $2, $3, coalesce($4, 'UTC'))");
OC_DB_STMT(brand_get, 1, "SELECT " BRAND_JSON " FROM brands b WHERE b.id = $1");

/* A brand write: a name the portfolio already has is a conflict on `name`. */
static json_t *read_brand(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    if (res->err != NULL && res->code == OC_ECONFLICT) {
        oc_fail(f, OC_FAIL_CONFLICT, "conflict", "name", "a brand with this name already exists in the portfolio");
        return NULL;
    }
    return oc_query_one(res, what, f);
}

void oc_brands_create(oc_thread_t *th, const oc_actor_t *a, const char *name, const char *timezone, oc_query_cb cb,
                      void *arg)
{
    char id[37];
    oc_uuid_v4(id);
    oc_db_tx_t tx = {0};
    const char *p[] = {id, a->portfolio, name, timezone};
    oc_query_step(&tx, &brand_insert, p, 4);
    json_t *summary = json_pack("{s:s}", "name", name);
    oc_audit_portfolio(&tx, a, "brand.create", "brand", id, summary);
    json_decref(summary);
    const char *g[] = {id};
    oc_query_step(&tx, &brand_get, g, 1);
    oc_query_run(th, &tx, read_brand, "object", cb, arg);
}

void oc_brands_get(oc_thread_t *th, const char *id, oc_query_cb cb, void *arg)
{
    const char *p[] = {id};
    oc_query_exec(th, id, &brand_get, p, oc_query_one, "brand", cb, arg);
}

OC_DB_STMT(brand_update, 4,
           "UPDATE brands SET name = coalesce($2, name), timezone = coalesce($3, timezone),"
           " archived_at = CASE WHEN $4::bool IS NULL THEN archived_at WHEN $4::bool THEN coalesce(archived_at, now())"
           " ELSE NULL END WHERE id = $1");

void oc_brands_update(oc_thread_t *th, const oc_actor_t *a, const oc_brands_change_t *ch, json_t *summary,
                      oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant};
    const char *p[] = {a->tenant, ch->name, ch->timezone, ch->archived < 0 ? NULL : ch->archived ? "true" : "false"};
    oc_query_step(&tx, &brand_update, p, 4);
    oc_audit_brand(&tx, a, "brand.update", "brand", a->tenant, summary);
    const char *g[] = {a->tenant};
    oc_query_step(&tx, &brand_get, g, 1);
    oc_query_run(th, &tx, read_brand, "brand", cb, arg);
}

OC_DB_STMT(brands_portfolio_tenants, 1,
           "SELECT set_config('app.tenant_id', coalesce((SELECT string_agg(id::text, ',') FROM brands"
           " WHERE portfolio_id = $1), ''), true)");

void oc_brands_portfolio_tenants_step(oc_db_tx_t *tx, const char *portfolio)
{
    oc_query_step(tx, &brands_portfolio_tenants, &portfolio, 1);
}
