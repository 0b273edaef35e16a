/*
 * api_audit.c — reading the audit log: per brand (anyone who can read the
 * brand) and per portfolio (admins: portfolio actions and every brand's).
 */
#include "server/api.h"
#include "server/page.h"

typedef struct {
    oc_page_t page;
} audit_state_t;

static json_t *audit_key(json_t *item)
{
    return json_pack(
        "[s, s, s]", json_string_value(json_object_get(item, "at")),
        json_is_string(json_object_get(item, "brand_id")) ? json_string_value(json_object_get(item, "brand_id")) : "",
        json_string_value(json_object_get(item, "id")));
}

static void on_audit(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    audit_state_t *st = r->state;
    oc_respond_page(r, &st->page, res, audit_key);
}

/* Ordered newest first by (at, brand, id); the cursor carries all three. */
OC_DB_STMT(audit_brand, 7,
           "SELECT json_build_object('id', a.id::text, 'at', a.at, 'brand_id', a.tenant_id, 'actor_user', a.actor_user,"
           " 'actor_token', a.actor_token, 'action', a.action, 'object_type', a.object_type, 'object_id', a.object_id,"
           " 'summary', a.summary, 'request_id', a.request_id)"
           " FROM audit_log a WHERE a.tenant_id = $1"
           "   AND ($2::text IS NULL OR starts_with(a.action, $2))"
           "   AND ($3::text IS NULL OR a.object_type = $3) AND ($4::text IS NULL OR a.object_id = $4)"
           "   AND ($5::text IS NULL OR (a.at, a.id) < ($5::timestamptz, $6::bigint))"
           " ORDER BY a.at DESC, a.id DESC LIMIT $7");

static int parse(oc_req_t *r, audit_state_t **out)
{
    audit_state_t *st = oc_req_alloc(r, sizeof(*st));
    memset(st, 0, sizeof(*st));
    r->state = st;
    *out = st;
    return oc_page_parse(r, &st->page, 3);
}

void oc_api_brand_audit(oc_req_t *r)
{
    audit_state_t *st;
    if (parse(r, &st) != 0)
        return;
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &audit_brand;
    const char *p[] = {r->tenant,
                       oc_req_query(r, "action"),
                       oc_req_query(r, "object_type"),
                       oc_req_query(r, "object_id"),
                       oc_page_after(&st->page, 0),
                       oc_page_after(&st->page, 2),
                       st->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_audit, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/*
 * The portfolio view: first set the transaction's tenants to every brand of
 * the portfolio (row-level security still applies), then merge the brand
 * logs with the portfolio's own.
 */
OC_DB_STMT(audit_portfolio_tenants, 1,
           "SELECT set_config('app.tenant_id', coalesce((SELECT string_agg(id::text, ',') FROM brands"
           " WHERE portfolio_id = $1), ''), true)");
OC_DB_STMT(audit_portfolio, 8,
           "SELECT j FROM ("
           " SELECT a.at, a.tenant_id::text AS b, a.id, json_build_object('id', a.id::text, 'at', a.at, 'brand_id',"
           "  a.tenant_id, 'actor_user', a.actor_user, 'actor_token', a.actor_token, 'action', a.action,"
           "  'object_type', a.object_type, 'object_id', a.object_id, 'summary', a.summary,"
           "  'request_id', a.request_id) AS j FROM audit_log a"
           " UNION ALL"
           " SELECT p.at, '' AS b, p.id, json_build_object('id', p.id::text, 'at', p.at, 'brand_id', NULL,"
           "  'actor_user', p.actor_user, 'actor_token', p.actor_token, 'action', p.action, 'object_type',"
           "  p.object_type, 'object_id', p.object_id, 'summary', p.summary, 'request_id', p.request_id)"
           "  FROM portfolio_audit p WHERE p.portfolio_id = $1) x"
           " WHERE ($2::text IS NULL OR starts_with(j->>'action', $2))"
           "   AND ($3::text IS NULL OR (j->>'object_type') = $3) AND ($4::text IS NULL OR (j->>'object_id') = $4)"
           "   AND ($5::text IS NULL OR (x.at, x.b, x.id) < ($5::timestamptz, $6, $7::bigint))"
           " ORDER BY x.at DESC, x.b DESC, x.id DESC LIMIT $8");

void oc_api_portfolio_audit(oc_req_t *r)
{
    audit_state_t *st;
    if (parse(r, &st) != 0)
        return;
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &audit_portfolio_tenants;
    tx.steps[0].params[0] = r->portfolio;
    tx.steps[1].stmt = &audit_portfolio;
    const char *p[] = {r->portfolio,
                       oc_req_query(r, "action"),
                       oc_req_query(r, "object_type"),
                       oc_req_query(r, "object_id"),
                       oc_page_after(&st->page, 0),
                       oc_page_after(&st->page, 1),
                       oc_page_after(&st->page, 2),
                       st->page.limit_plus_one};
    memcpy(tx.steps[1].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_audit, r) != 0)
        oc_respond_unavailable(r, "the database");
}
