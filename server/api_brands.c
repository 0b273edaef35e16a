/*
 * api_brands.c — portfolios and brands.
 */
#include "server/api.h"
#include "server/auth.h"
#include "server/page.h"
#include "tenants/audit.h"
#include "tenants/roles.h"

#include <stdio.h>
#include <stdlib.h>

#define BRAND_JSON                                                                                                     \
    "json_build_object('id', b.id, 'name', b.name, 'timezone', b.timezone, 'created_at', b.created_at,"                \
    " 'archived', b.archived_at IS NOT NULL)"

OC_DB_STMT(portfolio_get, 1,
           "SELECT json_build_object('id', p.id, 'name', p.name, 'created_at', p.created_at,"
           " 'brands', (SELECT count(*) FROM brands b WHERE b.portfolio_id = p.id AND b.archived_at IS NULL))"
           " FROM portfolios p WHERE p.id = $1");

static void on_json_row(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *v = oc_db_json(res->results[res->nresults - 1], 0, 0);
    if (v == NULL) {
        oc_respond_error(r, 404, "not_found", "no such object", NULL);
        return;
    }
    oc_respond_json(r, r->status ? r->status : 200, v);
}

void oc_api_portfolio_get(oc_req_t *r)
{
    const char *p[1] = {r->portfolio};
    if (oc_db_exec(r->thread->db, NULL, &portfolio_get, p, on_json_row, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- list brands: everything for admins and portfolio tokens, else the caller's brands --- */

OC_DB_STMT(brands_list, 6,
           "SELECT " BRAND_JSON " FROM brands b"
           " WHERE b.portfolio_id = $1 AND ($2::uuid[] IS NULL OR b.id = ANY ($2::uuid[]))"
           "   AND ($3::bool OR b.archived_at IS NULL)"
           "   AND ($4::text IS NULL OR (lower(b.name), b.id::text) > (lower($4), $5))"
           " ORDER BY lower(b.name), b.id LIMIT $6");

static json_t *brand_key(json_t *item)
{
    const char *name = json_string_value(json_object_get(item, "name"));
    char *lower = strdup(name ? name : "");
    for (char *p = lower; *p; p++)
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    json_t *k = json_pack("[s, s]", lower, json_string_value(json_object_get(item, "id")));
    free(lower);
    return k;
}

typedef struct {
    oc_page_t page;
} list_state_t;

static void on_brands(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    list_state_t *st = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *items = oc_db_json_rows(res->results[0], 0);
    /* Each brand says which role the caller holds there. */
    size_t i;
    json_t *b;
    json_array_foreach(items, i, b)
    {
        oc_role_t role = oc_auth_role_for_brand(r, json_string_value(json_object_get(b, "id")));
        json_object_set_new(b, "your_role", json_string(oc_role_name(role)));
    }
    oc_respond_json(r, 200, oc_page_result(&st->page, items, brand_key));
}

void oc_api_brands_list(oc_req_t *r)
{
    list_state_t *st = oc_req_alloc(r, sizeof(*st));
    r->state = st;
    if (oc_page_parse(r, &st->page, 2) != 0)
        return;
    const char *archived = oc_req_query(r, "include_archived");
    /* Brands the caller holds a role in, as a PostgreSQL array literal; NULL = all. */
    char *only = NULL;
    /* (a token: its owner's brands as they are now, or its one brand) */
    int sees_all = r->auth.portfolio_role == OC_ROLE_PORTFOLIO_ADMIN && r->auth.scope_brand[0] == '\0';
    if (!sees_all) {
        oc_buf_t b = {0};
        oc_buf_append(&b, "{", 1);
        if (r->auth.scope_brand[0] != '\0')
            oc_buf_printf(&b, "%s", r->auth.scope_brand);
        for (int i = 0; r->auth.scope_brand[0] == '\0' && i < r->auth.nbrands; i++)
            oc_buf_printf(&b, "%s%s", i ? "," : "", r->auth.brands[i].brand_id);
        oc_buf_append(&b, "}", 1);
        only = oc_req_strdup(r, b.data, b.len);
        oc_buf_free(&b);
    }
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = &brands_list;
    tx.steps[0].params[0] = r->portfolio;
    tx.steps[0].params[1] = only;
    tx.steps[0].params[2] = archived != NULL && strcmp(archived, "true") == 0 ? "true" : "false";
    tx.steps[0].params[3] = oc_page_after(&st->page, 0);
    tx.steps[0].params[4] = oc_page_after(&st->page, 1);
    tx.steps[0].params[5] = st->page.limit_plus_one;
    if (oc_db_run(r->thread->db, &tx, on_brands, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- create a brand --------------------------------------------------------------- */

OC_DB_STMT(brand_insert, 4,
           "INSERT INTO brands (id, portfolio_id, name, timezone) VALUES ($1, $2, $3, coalesce($4, 'UTC'))");
OC_DB_STMT(brand_get, 1, "SELECT " BRAND_JSON " FROM brands b WHERE b.id = $1");

static void on_brand_created(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        if (res->code == OC_ECONFLICT) {
            oc_respond_error(r, 409, "conflict", "a brand with this name already exists in the portfolio", "name");
            return;
        }
        oc_respond_db_error(r, res);
        return;
    }
    oc_auth_invalidate();
    r->status = 201;
    on_json_row(arg, res);
}

static int valid_timezone(const char *tz)
{
    /* IANA names: letters, digits, '/', '_', '-', '+'; the database keeps whatever passes. */
    if (tz == NULL)
        return 1;
    for (const char *p = tz; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '/' ||
              *p == '_' || *p == '-' || *p == '+'))
            return 0;
    return 1;
}

void oc_api_brand_create(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"name", OC_F_STRING, 1, 1, 200},
        {"timezone", OC_F_STRING, 0, 1, 64},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *tz = oc_json_str(r->body, "timezone");
    if (!valid_timezone(tz)) {
        oc_respond_error(r, 422, "invalid", "timezone must be an IANA name such as Europe/Berlin", "timezone");
        return;
    }
    char id[37];
    oc_uuid_v4(id);
    char *bid = oc_req_strdup(r, id, 36);
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = &brand_insert;
    tx.steps[0].params[0] = bid;
    tx.steps[0].params[1] = r->portfolio;
    tx.steps[0].params[2] = oc_json_str(r->body, "name");
    tx.steps[0].params[3] = tz;
    json_t *summary = json_pack("{s:s}", "name", oc_json_str(r->body, "name"));
    oc_audit_portfolio(&tx, oc_req_actor(r), "brand.create", "brand", bid, summary);
    json_decref(summary);
    tx.steps[tx.nsteps].stmt = &brand_get;
    tx.steps[tx.nsteps++].params[0] = bid;
    if (oc_db_run(r->thread->db, &tx, on_brand_created, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- one brand ------------------------------------------------------------------------ */

static void on_brand(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        if (res->code == OC_ECONFLICT) {
            oc_respond_error(r, 409, "conflict", "a brand with this name already exists in the portfolio", "name");
            return;
        }
        oc_respond_db_error(r, res);
        return;
    }
    json_t *b = oc_db_json(res->results[res->nresults - 1], 0, 0);
    if (b == NULL) {
        oc_respond_error(r, 404, "not_found", "no such brand", NULL);
        return;
    }
    json_object_set_new(b, "your_role", json_string(oc_role_name(r->auth.role)));
    oc_respond_json(r, 200, b);
}

void oc_api_brand_get(oc_req_t *r)
{
    const char *p[1] = {r->tenant};
    if (oc_db_exec(r->thread->db, r->tenant, &brand_get, p, on_brand, r) != 0)
        oc_respond_unavailable(r, "the database");
}

OC_DB_STMT(brand_update, 4,
           "UPDATE brands SET name = coalesce($2, name), timezone = coalesce($3, timezone),"
           " archived_at = CASE WHEN $4::bool IS NULL THEN archived_at WHEN $4::bool THEN coalesce(archived_at, now())"
           " ELSE NULL END WHERE id = $1");

void oc_api_brand_update(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"name", OC_F_STRING, 0, 1, 200},
        {"timezone", OC_F_STRING, 0, 1, 64},
        {"archived", OC_F_BOOL, 0},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *tz = oc_json_str(r->body, "timezone");
    if (!valid_timezone(tz)) {
        oc_respond_error(r, 422, "invalid", "timezone must be an IANA name such as Europe/Berlin", "timezone");
        return;
    }
    json_t *arch = json_object_get(r->body, "archived");
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &brand_update;
    tx.steps[0].params[0] = r->tenant;
    tx.steps[0].params[1] = oc_json_str(r->body, "name");
    tx.steps[0].params[2] = tz;
    tx.steps[0].params[3] = json_is_boolean(arch) ? (json_is_true(arch) ? "true" : "false") : NULL;
    oc_audit_brand(&tx, oc_req_actor(r), "brand.update", "brand", r->tenant, r->body);
    tx.steps[tx.nsteps].stmt = &brand_get;
    tx.steps[tx.nsteps++].params[0] = r->tenant;
    if (json_is_boolean(arch))
        oc_auth_invalidate();
    if (oc_db_run(r->thread->db, &tx, on_brand, r) != 0)
        oc_respond_unavailable(r, "the database");
}
