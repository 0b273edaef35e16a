/*
 * api_brands.c — portfolios and brands (tenants/brands.h).
 */
#include "server/api.h"
#include "server/auth.h"
#include "server/page.h"
#include "tenants/brands.h"
#include "tenants/roles.h"

#include <stdio.h>
#include <stdlib.h>

void oc_api_portfolio_get(oc_req_t *r)
{
    oc_brands_portfolio_get(r->thread, r->portfolio, oc_api_answer, r);
}

/* --- list brands: everything for admins and portfolio tokens, else the caller's brands --- */

static json_t *brand_key(json_t *item)
{
    return oc_page_key_lower(item, "name", "id");
}

/* Each brand says which role the caller holds there. */
static void on_brands(void *arg, json_t *items, const oc_fail_t *f)
{
    oc_page_t *pg = arg;
    size_t i;
    json_t *b;
    json_array_foreach(items, i, b)
    {
        oc_role_t role = oc_auth_role_for_brand(pg->req, json_string_value(json_object_get(b, "id")));
        json_object_set_new(b, "your_role", json_string(oc_role_name(role)));
    }
    oc_page_answer(pg, items, f);
}

void oc_api_brands_list(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, brand_key);
    if (pg == NULL)
        return;
    const char *archived = oc_req_query(r, "include_archived");
    /* Brands the caller holds a role in; NULL = all.  (A token: its owner's
     * brands as they are now, or its one brand.) */
    const char **only = NULL;
    int n = 0;
    int sees_all = r->auth.portfolio_role == OC_ROLE_PORTFOLIO_ADMIN && r->auth.scope_brand[0] == '\0';
    if (!sees_all) {
        only = oc_req_alloc(r, sizeof(*only) * (size_t)(r->auth.nbrands + 1));
        if (r->auth.scope_brand[0] != '\0')
            only[n++] = r->auth.scope_brand;
        for (int i = 0; r->auth.scope_brand[0] == '\0' && i < r->auth.nbrands; i++)
            only[n++] = r->auth.brands[i].brand_id;
    }
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_brands_list(r->thread, r->portfolio, only, n, archived != NULL && strcmp(archived, "true") == 0, &keys,
                   on_brands, pg);
}

/* --- create, read, update ------------------------------------------------------------- */

static void on_brand_created(void *arg, json_t *v, const oc_fail_t *f)
{
    if (f == NULL)
        oc_auth_invalidate();
    oc_api_answer_created(arg, v, f);
}

static int valid_timezone(oc_req_t *r, const char *tz)
{
    /* IANA names: letters, digits, '/', '_', '-', '+'; the database keeps whatever passes. */
    for (const char *p = tz; p != NULL && *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '/' ||
              *p == '_' || *p == '-' || *p == '+')) {
            oc_respond_error(r, 422, "invalid", "timezone must be an IANA name such as Europe/Berlin", "timezone");
            return 0;
        }
    }
    return 1;
}

void oc_api_brand_create(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"name", OC_F_STRING, 1, 1, 200},
        {"timezone", OC_F_STRING, 0, 1, 64},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0 || !valid_timezone(r, oc_json_str(r->body, "timezone")))
        return;
    oc_brands_create(r->thread, oc_req_actor(r), oc_json_str(r->body, "name"), oc_json_str(r->body, "timezone"),
                     on_brand_created, r);
}

/* A brand says which role the caller holds there. */
static void on_brand(void *arg, json_t *b, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    if (f == NULL)
        json_object_set_new(b, "your_role", json_string(oc_role_name(r->auth.role)));
    oc_api_answer(r, b, f);
}

void oc_api_brand_get(oc_req_t *r)
{
    oc_brands_get(r->thread, r->tenant, on_brand, r);
}

void oc_api_brand_update(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"name", OC_F_STRING, 0, 1, 200},
        {"timezone", OC_F_STRING, 0, 1, 64},
        {"archived", OC_F_BOOL, 0},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0 || !valid_timezone(r, oc_json_str(r->body, "timezone")))
        return;
    json_t *arch = json_object_get(r->body, "archived");
    oc_brands_change_t ch = {
        .name = oc_json_str(r->body, "name"),
        .timezone = oc_json_str(r->body, "timezone"),
        .archived = json_is_boolean(arch) ? json_is_true(arch) : -1,
    };
    if (json_is_boolean(arch))
        oc_auth_invalidate();
    oc_brands_update(r->thread, oc_req_actor(r), &ch, r->body, on_brand, r);
}

const char *oc_api_brands_seen(oc_req_t *r)
{
    if (r->auth.portfolio_role == OC_ROLE_PORTFOLIO_ADMIN && r->auth.scope_brand[0] == '\0')
        return NULL;
    if (r->auth.scope_brand[0] != '\0')
        return r->auth.scope_brand;
    size_t n = (size_t)r->auth.nbrands * 37 + 1;
    char *s = oc_req_alloc(r, n);
    s[0] = '\0';
    for (int i = 0; i < r->auth.nbrands; i++)
        snprintf(s + strlen(s), n - strlen(s), "%s%s", i ? "," : "", r->auth.brands[i].brand_id);
    /* none: a list no brand id matches */
    return s[0] ? s : "00000000-0000-0000-0000-000000000000";
}
