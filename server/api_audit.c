/*
 * api_audit.c — reading the audit log (tenants/audit.h): per brand (anyone
 * who can read the brand) and per portfolio (admins: portfolio actions and
 * every brand's).
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/audit.h"
#include "tenants/reports.h"

#include <stdio.h>

static json_t *audit_key(json_t *item)
{
    return json_pack(
        "[s, s, s]", json_string_value(json_object_get(item, "at")),
        json_is_string(json_object_get(item, "brand_id")) ? json_string_value(json_object_get(item, "brand_id")) : "",
        json_string_value(json_object_get(item, "id")));
}

/* The filters of the query string; 0 when it responded 422.  `brand_ok`: the portfolio log takes ?brand=. */
static int filters(oc_req_t *r, oc_audit_filter_t *flt, int brand_ok)
{
    *flt = (oc_audit_filter_t){.action_prefix = oc_req_query(r, "action"),
                               .object_type = oc_req_query(r, "object_type"),
                               .object_id = oc_req_query(r, "object_id"),
                               .actor = oc_req_query(r, "actor"),
                               .from = oc_req_query(r, "from"),
                               .to = oc_req_query(r, "to"),
                               .brand = brand_ok ? oc_req_query(r, "brand") : NULL,
                               .portfolio = r->portfolio};
    return oc_api_check_uuid(r, flt->actor, "actor") && oc_api_check_uuid(r, flt->brand, "brand") &&
           oc_query_range_ok(r, flt->from, flt->to);
}

/* `read` the log of `owner` (the brand or the portfolio). */
static void audit(oc_req_t *r, const char *owner, int brand_ok,
                  void (*read)(oc_thread_t *, const char *, const oc_audit_filter_t *, const oc_page_keys_t *,
                               oc_query_cb, void *))
{
    oc_page_t *pg = oc_page_start(r, 3, audit_key);
    if (pg == NULL)
        return;
    oc_audit_filter_t *flt = oc_req_alloc(r, sizeof(*flt));
    if (!filters(r, flt, brand_ok))
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    read(r->thread, owner, flt, &keys, oc_page_answer, pg);
}

void oc_api_brand_audit(oc_req_t *r)
{
    audit(r, r->tenant, 0, oc_audit_brand_read);
}

void oc_api_portfolio_audit(oc_req_t *r)
{
    audit(r, r->portfolio, 1, oc_audit_portfolio_read);
}

/* --- audit.csv ------------------------------------------------------------------------------ */

void oc_api_brand_audit_export(oc_req_t *r)
{
    oc_audit_filter_t *flt = oc_req_alloc(r, sizeof(*flt));
    if (!filters(r, flt, 0))
        return;
    flt->brand = r->tenant;
    oc_reports_audit(r->thread, r->tenant, r->portfolio, flt, oc_api_answer_csv, r);
}

void oc_api_portfolio_audit_export(oc_req_t *r)
{
    oc_audit_filter_t *flt = oc_req_alloc(r, sizeof(*flt));
    if (!filters(r, flt, 1))
        return;
    oc_reports_audit(r->thread, NULL, r->portfolio, flt, oc_api_answer_csv, r);
}
