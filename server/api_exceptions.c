/*
 * api_exceptions.c — the exception queue and the dashboard
 * (tenants/exceptions.h): the portfolio's queue and each brand's, one item
 * with its history, a person's actions on it, and every brand's health.
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/exceptions.h"

#include <stdlib.h>
#include <string.h>

#define NIL_UUID "00000000-0000-0000-0000-000000000000"

static const char *const kinds[] = {"oversell",           "unmapped_line",        "listing_stuck",  "drift_unhealed",
                                    "connection_failing", "credentials_expiring", "sop_run_failed", "checklist_overdue",
                                    "sku_unlisted",       "stranded_stockout",    "low_stock",      NULL};
static const char *const severities[] = {"critical", "warning", "info", NULL};
static const char *const states[] = {"active", "open", "acknowledged", "snoozed", "resolved", "all", NULL};

/* The sort key of an item: worst first (its rank), then newest. */
static json_t *key_of(json_t *item)
{
    return json_pack("[s, s, s]", json_string_value(json_object_get(item, "_rank")),
                     json_string_value(json_object_get(item, "opened_at")),
                     json_string_value(json_object_get(item, "id")));
}

/* {"items", "counts"} from the domain: the page cut from items, the counts beside it. */
static void queue_answered(void *arg, json_t *v, const oc_fail_t *f)
{
    oc_page_t *pg = arg;
    if (f != NULL) {
        oc_respond_fail(pg->req, f);
        return;
    }
    json_t *items = json_incref(json_object_get(v, "items"));
    size_t i;
    json_t *it;
    json_t *out = oc_page_result(pg, items, key_of);
    json_array_foreach(json_object_get(out, "items"), i, it) json_object_del(it, "_rank");
    json_object_set(out, "counts", json_object_get(v, "counts"));
    json_decref(v);
    oc_respond_json(pg->req, 200, out);
}

void oc_api_exceptions_list(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 3, key_of);
    if (pg == NULL)
        return;
    oc_exception_filter_t flt = {.brand = oc_req_query(r, "brand_id"),
                                 .kind = oc_req_query(r, "kind"),
                                 .severity = oc_req_query(r, "severity"),
                                 .state = oc_req_query(r, "state"),
                                 .owner = oc_req_query(r, "owner"),
                                 .connection = oc_req_query(r, "connection_id")};
    if (flt.owner != NULL && strcmp(flt.owner, "me") == 0)
        flt.owner = r->auth.user_id[0] ? r->auth.user_id : NIL_UUID "x"; /* a token has no person: matches none */
    else if (flt.owner != NULL && strcmp(flt.owner, "none") == 0)
        flt.owner = NIL_UUID;
    if (flt.owner != NULL && strcmp(flt.owner, NIL_UUID "x") == 0) {
        oc_respond_error(r, 422, "invalid", "owner=me needs a signed-in person; an API token is not one", "owner");
        return;
    }
    if (!oc_api_check_uuid(r, flt.brand, "brand_id") || !oc_api_check_enum(r, flt.kind, kinds, "kind") ||
        !oc_api_check_enum(r, flt.severity, severities, "severity") ||
        !oc_api_check_enum(r, flt.state, states, "state") || !oc_api_check_uuid(r, flt.owner, "owner") ||
        !oc_api_check_uuid(r, flt.connection, "connection_id"))
        return;
    if (r->tenant[0] != '\0' && flt.brand != NULL) {
        oc_respond_error(r, 422, "invalid", "brand_id filters the portfolio's queue; this queue is one brand's",
                         "brand_id");
        return;
    }
    const char *brands = r->tenant[0] ? r->tenant : oc_api_brands_seen(r);
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_exceptions_queue(r->thread, oc_req_actor(r)->portfolio, brands, &flt, &keys, queue_answered, pg);
}

/* The item id in the path: a whole number; anything else is no such item. */
static const char *item_id(oc_req_t *r)
{
    return oc_req_num_param(r, "xid", "no such exception");
}

void oc_api_exception_get(oc_req_t *r)
{
    const char *id = item_id(r);
    if (id != NULL)
        oc_exceptions_get(r->thread, r->tenant, id, oc_api_answer, r);
}

/* The body of an action: fields, then the action with what it names. */
static void act(oc_req_t *r, const char *action, const oc_field_t *fields)
{
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *id = item_id(r);
    if (id == NULL)
        return;
    const char *owner = json_string_value(json_object_get(r->body, "owner_id"));
    const char *until = json_string_value(json_object_get(r->body, "until"));
    json_t *hours = json_object_get(r->body, "hours");
    if (strcmp(action, "snooze") == 0 && (until == NULL) == (hours == NULL)) {
        oc_respond_error(r, 422, "invalid", "give either until (a time) or hours (1 to 720)",
                         until == NULL ? "until" : "hours");
        return;
    }
    char buf[64];
    if (hours != NULL) {
        /* PostgreSQL reads "now + N hours" itself: the item's clock is the database's */
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(hours));
        until = oc_req_strdup(r, buf, strlen(buf));
        action = "snooze_hours";
    } else if (until != NULL && !oc_query_time_ok(r, until, "until"))
        return;
    oc_exceptions_act(r->thread, oc_req_actor(r), id, action, owner, until,
                      json_string_value(json_object_get(r->body, "note")), oc_api_answer, r);
}

static const oc_field_t note_only[] = {{"note", OC_F_STRING, 0, 0, 2000}, {NULL}};

void oc_api_exception_acknowledge(oc_req_t *r)
{
    act(r, "acknowledge", note_only);
}

void oc_api_exception_assign(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"owner_id", OC_F_UUID, OC_REQUIRED | OC_NULLABLE},
        {"note", OC_F_STRING, 0, 0, 2000},
        {NULL},
    };
    act(r, "assign", fields);
}

void oc_api_exception_snooze(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"until", OC_F_STRING, 0, 1, 64},
        {"hours", OC_F_INT, 0, 1, 720},
        {"note", OC_F_STRING, 0, 0, 2000},
        {NULL},
    };
    act(r, "snooze", fields);
}

void oc_api_exception_resolve(oc_req_t *r)
{
    static const oc_field_t fields[] = {{"note", OC_F_STRING, OC_REQUIRED, 1, 2000}, {NULL}};
    act(r, "resolve", fields);
}

void oc_api_exception_reopen(oc_req_t *r)
{
    act(r, "reopen", note_only);
}

void oc_api_dashboard(oc_req_t *r)
{
    oc_exceptions_dashboard(r->thread, oc_req_actor(r)->portfolio, oc_api_brands_seen(r), oc_api_answer, r);
}

void oc_api_brand_dashboard(oc_req_t *r)
{
    oc_exceptions_brand_dashboard(r->thread, r->tenant, oc_api_answer, r);
}
