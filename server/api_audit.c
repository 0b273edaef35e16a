/*
 * api_audit.c — reading the audit log (tenants/audit.h): per brand (anyone
 * who can read the brand) and per portfolio (admins: portfolio actions and
 * every brand's).
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/audit.h"

static json_t *audit_key(json_t *item)
{
    return json_pack(
        "[s, s, s]", json_string_value(json_object_get(item, "at")),
        json_is_string(json_object_get(item, "brand_id")) ? json_string_value(json_object_get(item, "brand_id")) : "",
        json_string_value(json_object_get(item, "id")));
}

/* The page and the filters of the query string; NULL when it responded 422. */
static oc_page_t *parse(oc_req_t *r, oc_audit_filter_t *flt, oc_page_keys_t *keys)
{
    oc_page_t *pg = oc_page_start(r, 3, audit_key);
    if (pg == NULL)
        return NULL;
    *flt = (oc_audit_filter_t){.action_prefix = oc_req_query(r, "action"),
                               .object_type = oc_req_query(r, "object_type"),
                               .object_id = oc_req_query(r, "object_id")};
    *keys = oc_page_keys(pg);
    return pg;
}

/* `read` the log of `owner` (the brand or the portfolio). */
static void audit(oc_req_t *r, const char *owner,
                  void (*read)(oc_thread_t *, const char *, const oc_audit_filter_t *, const oc_page_keys_t *,
                               oc_query_cb, void *))
{
    oc_audit_filter_t flt;
    oc_page_keys_t keys;
    oc_page_t *pg = parse(r, &flt, &keys);
    if (pg != NULL)
        read(r->thread, owner, &flt, &keys, oc_page_answer, pg);
}

void oc_api_brand_audit(oc_req_t *r)
{
    audit(r, r->tenant, oc_audit_brand_read);
}

void oc_api_portfolio_audit(oc_req_t *r)
{
    audit(r, r->portfolio, oc_audit_portfolio_read);
}
