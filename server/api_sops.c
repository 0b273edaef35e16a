/*
 * api_sops.c — the SOP, its versions and diff, the schedule and the
 * checklist (tenants/sops.h).  The document's types are checked here (every
 * field named in the tables below, nothing else); its rules — keys, cron,
 * what an override may change — by sop_check in SQL, which reports every
 * problem at once.
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/sops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const actions[] = {"poll_orders",       "poll_returns",  "read_back",         "full_repush",
                                      "velocity",          "unlisted_skus", "bundle_components", "low_stock",
                                      "connection_health", "buffer_review", "checklist",         NULL};
static const char *const catch_ups[] = {"once", "report", NULL};
static const char *const roles[] = {"portfolio_admin", "operator", "brand_owner", NULL};

static const oc_field_t scope_fields[] = {
    {"channel_kinds", OC_F_ARRAY, 0, 0, 3},
    {"brands", OC_F_ARRAY, 0, 0, 1000},
    {"connections", OC_F_ARRAY, 0, 0, 1000},
    {NULL},
};
static const oc_field_t params_fields[] = {
    {"days_of_cover", OC_F_NUMBER, 0, 0, 365}, {"units", OC_F_INT, 0, 0, 1000000000}, {"apply", OC_F_BOOL, 0},
    {"min", OC_F_INT, 0, 0, 1000000},          {"max", OC_F_INT, 0, 0, 1000000},      {NULL},
};
static const oc_field_t checklist_fields[] = {
    {"role", OC_F_ENUM, 0, 0, 0, roles},   {"due_after_s", OC_F_INT, 0, 60, 2592000},
    {"done_when", OC_F_STRING, 0, 1, 500}, {"instructions", OC_F_STRING, 0, 0, 2000},
    {"assignee", OC_F_UUID, OC_NULLABLE},  {NULL},
};
static const oc_field_t step_fields[] = {
    {"key", OC_F_STRING, OC_REQUIRED, 1, 40},
    {"connection_id", OC_F_UUID, 0},
    {"title", OC_F_STRING, 0, 1, 200},
    {"action", OC_F_ENUM, 0, 0, 0, actions},
    {"every_s", OC_F_INT, 0, 10, 604800},
    {"cron", OC_F_STRING, 0, 1, 100},
    {"start_after_s", OC_F_INT, 0, 0, 604800},
    {"catch_up", OC_F_ENUM, 0, 0, 0, catch_ups},
    {"enabled", OC_F_BOOL, 0},
    {"scope", OC_F_OBJECT, 0, 0, 0, NULL, scope_fields},
    {"params", OC_F_OBJECT, 0, 0, 0, NULL, params_fields},
    {"checklist", OC_F_OBJECT, 0, 0, 0, NULL, checklist_fields},
    {NULL},
};
static const oc_field_t document_fields[] = {
    {"title", OC_F_STRING, 0, 0, 200},
    {"steps", OC_F_ARRAY, OC_REQUIRED, 0, 100, NULL, step_fields},
    {NULL},
};

/* A version number in the path or query: 1 … 2^31-1; else answers (404 in the path, 422 in the query). */
static const char *version_arg(oc_req_t *r, const char *v, const char *field)
{
    char *end = NULL;
    long n = v != NULL && *v >= '1' && *v <= '9' && strlen(v) <= 10 ? strtol(v, &end, 10) : 0;
    if (n >= 1 && n <= 2147483647L && end != NULL && *end == '\0')
        return v;
    if (field == NULL)
        oc_respond_error(r, 404, "not_found", "no such version", NULL);
    else
        oc_respond_error(r, 422, "invalid", "must be a version number", field);
    return NULL;
}

static const char *brand_of(oc_req_t *r)
{
    return r->tenant[0] ? r->tenant : NULL;
}

void oc_api_sop_get(oc_req_t *r)
{
    oc_sops_get(r->thread, oc_req_actor(r)->portfolio, brand_of(r), oc_api_answer, r);
}

void oc_api_sop_put(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"document", OC_F_OBJECT, OC_REQUIRED, 0, 0, NULL, document_fields},
        {"reason", OC_F_STRING, OC_REQUIRED, 1, 500},
        {"base_version", OC_F_INT, 0, 0, 2147483647},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    char base[24] = "";
    json_t *b = json_object_get(r->body, "base_version");
    if (b != NULL)
        snprintf(base, sizeof(base), "%lld", (long long)json_integer_value(b));
    oc_sops_save(r->thread, oc_req_actor(r), json_object_get(r->body, "document"),
                 json_string_value(json_object_get(r->body, "reason")), base[0] ? base : NULL, oc_api_answer_created,
                 r);
}

static json_t *key_version(json_t *item)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(json_object_get(item, "version")));
    return json_pack("[s]", buf);
}

void oc_api_sop_versions(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 1, key_version);
    if (pg == NULL)
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_sops_versions(r->thread, oc_req_actor(r)->portfolio, brand_of(r), &keys, oc_page_answer, pg);
}

void oc_api_sop_version(oc_req_t *r)
{
    const char *v = version_arg(r, oc_req_param(r, "ver"), NULL);
    if (v != NULL)
        oc_sops_version(r->thread, oc_req_actor(r)->portfolio, brand_of(r), v, oc_api_answer, r);
}

void oc_api_sop_restore(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"reason", OC_F_STRING, 0, 1, 500},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *v = version_arg(r, oc_req_param(r, "ver"), NULL);
    if (v != NULL)
        oc_sops_restore(r->thread, oc_req_actor(r), v, json_string_value(json_object_get(r->body, "reason")),
                        oc_api_answer_created, r);
}

void oc_api_sop_diff(oc_req_t *r)
{
    const char *from = oc_req_query(r, "from"), *to = oc_req_query(r, "to");
    if (from == NULL || to == NULL) {
        oc_respond_error(r, 422, "invalid", "give both versions: ?from=N&to=M", from == NULL ? "from" : "to");
        return;
    }
    if (version_arg(r, from, "from") == NULL || version_arg(r, to, "to") == NULL)
        return;
    oc_sops_diff(r->thread, oc_req_actor(r)->portfolio, brand_of(r), from, to, oc_api_answer, r);
}

void oc_api_sop_handover(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"from_user_id", OC_F_UUID, OC_REQUIRED},
        {"to_user_id", OC_F_UUID, OC_REQUIRED},
        {"reason", OC_F_STRING, 0, 1, 500},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    oc_sops_handover(r->thread, oc_req_actor(r), json_string_value(json_object_get(r->body, "from_user_id")),
                     json_string_value(json_object_get(r->body, "to_user_id")),
                     json_string_value(json_object_get(r->body, "reason")), oc_api_answer, r);
}

/* A whole-number query parameter in [lo, hi] when given (else *v unchanged): 1, or 0 after answering 422. */
static int query_int(oc_req_t *r, const char *name, long lo, long hi, long *v)
{
    const char *s = oc_req_query(r, name);
    if (s == NULL)
        return 1;
    char *end = NULL;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || n < lo || n > hi) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s is a whole number from %ld to %ld", name, lo, hi);
        oc_respond_error(r, 422, "invalid", oc_req_strdup(r, msg, strlen(msg)), name);
        return 0;
    }
    *v = n;
    return 1;
}

void oc_api_schedule(oc_req_t *r)
{
    long hours = 24, per = 24;
    if (!query_int(r, "hours", 1, 168, &hours) || !query_int(r, "per_routine", 1, 1000, &per))
        return;
    const char *brands = brand_of(r) != NULL ? brand_of(r) : oc_api_brands_seen(r);
    oc_sops_schedule(r->thread, oc_req_actor(r)->portfolio, brands, (int)hours, (int)per, oc_api_answer, r);
}

static json_t *key_due(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "at")),
                     json_string_value(json_object_get(item, "id")));
}

void oc_api_checklist(oc_req_t *r)
{
    static const char *const states[] = {"open", "done", "skipped", NULL};
    static const char *const yes_no[] = {"true", "false", NULL};
    oc_page_t *pg = oc_page_start(r, 2, key_due);
    if (pg == NULL)
        return;
    oc_checklist_filter_t flt = {.state = oc_req_query(r, "state"),
                                 .assignee = oc_req_query(r, "assignee"),
                                 .brand = oc_req_query(r, "brand_id")};
    const char *overdue = oc_req_query(r, "overdue");
    if (flt.assignee != NULL && strcmp(flt.assignee, "me") == 0)
        flt.assignee = r->auth.user_id[0] ? r->auth.user_id : "00000000-0000-0000-0000-000000000000";
    if (!oc_api_check_enum(r, flt.state, states, "state") || !oc_api_check_uuid(r, flt.assignee, "assignee") ||
        !oc_api_check_uuid(r, flt.brand, "brand_id") || !oc_api_check_enum(r, overdue, yes_no, "overdue"))
        return;
    flt.overdue = overdue != NULL && strcmp(overdue, "true") == 0;
    const char *brands = brand_of(r) != NULL ? brand_of(r) : oc_api_brands_seen(r);
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_sops_checklist(r->thread, oc_req_actor(r)->portfolio, brands, &flt, &keys, oc_page_answer, pg);
}

void oc_api_checklist_complete(oc_req_t *r)
{
    static const char *const ends[] = {"done", "skipped", NULL};
    static const oc_field_t fields[] = {
        {"state", OC_F_ENUM, 0, 0, 0, ends},
        {"note", OC_F_STRING, 0, 0, 2000},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *id = oc_req_id_param(r, "kid", "no such checklist item");
    if (id == NULL)
        return;
    const char *state = json_string_value(json_object_get(r->body, "state"));
    oc_sops_checklist_complete(r->thread, oc_req_actor(r), id, state != NULL ? state : "done",
                               json_string_value(json_object_get(r->body, "note")), oc_api_answer, r);
}

void oc_api_checklist_assign(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"user_id", OC_F_UUID, OC_REQUIRED | OC_NULLABLE},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *id = oc_req_id_param(r, "kid", "no such checklist item");
    if (id == NULL)
        return;
    oc_sops_checklist_assign(r->thread, oc_req_actor(r), id, json_string_value(json_object_get(r->body, "user_id")),
                             oc_api_answer, r);
}

/* --- templates ------------------------------------------------------------------------ */

static const char *const template_kinds[] = {"sop", "rules", NULL};
static const char *const channel_kinds[] = {"shopify", "amazon", "walmart", NULL};

static void template_run(oc_req_t *r, int apply)
{
    static const oc_field_t connections_fields[] = {
        {"shopify", OC_F_OBJECT, 0, 0, 0, NULL, oc_api_rule_fields},
        {"amazon", OC_F_OBJECT, 0, 0, 0, NULL, oc_api_rule_fields},
        {"walmart", OC_F_OBJECT, 0, 0, 0, NULL, oc_api_rule_fields},
        {NULL},
    };
    static const oc_field_t last_units_fields[] = {
        {"threshold", OC_F_INT, OC_REQUIRED, 0, 1000000000},
        {"channel_kind", OC_F_ENUM, OC_REQUIRED, 0, 0, channel_kinds},
        {NULL},
    };
    static const oc_field_t rules_fields[] = {
        {"connections", OC_F_OBJECT, 0, 0, 0, NULL, connections_fields},
        {"last_units", OC_F_OBJECT, OC_NULLABLE, 0, 0, NULL, last_units_fields},
        {NULL},
    };
    static const oc_field_t fields[] = {
        {"kind", OC_F_ENUM, OC_REQUIRED, 0, 0, template_kinds},
        {"brand_ids", OC_F_ARRAY, OC_REQUIRED, 1, 1000},
        {"document", OC_F_OBJECT, 0, 0, 0, NULL, document_fields},
        {"rules", OC_F_OBJECT, 0, 0, 0, NULL, rules_fields},
        {"reason", OC_F_STRING, 0, 1, 500},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    json_t *ids = json_object_get(r->body, "brand_ids");
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        if (!json_is_string(id) || !oc_is_uuid(json_string_value(id), strlen(json_string_value(id)))) {
            char field[32];
            snprintf(field, sizeof(field), "brand_ids[%zu]", i);
            oc_respond_error(r, 422, "invalid", "must be a brand id", oc_req_strdup(r, field, strlen(field)));
            return;
        }
    }
    const char *kind = json_string_value(json_object_get(r->body, "kind"));
    const char *member = strcmp(kind, "sop") == 0 ? "document" : "rules";
    json_t *what = json_object_get(r->body, member);
    if (what == NULL) {
        oc_respond_error(r, 422, "invalid",
                         strcmp(kind, "sop") == 0 ? "an SOP template needs the document of the brands' overrides"
                                                  : "a rules template needs rules",
                         member);
        return;
    }
    const char *reason = json_string_value(json_object_get(r->body, "reason"));
    if (apply && reason == NULL) {
        oc_respond_error(r, 422, "invalid", "say why: the reason is kept with every brand's change", "reason");
        return;
    }
    json_t *body = strcmp(kind, "sop") == 0 ? json_pack("{s:O}", "document", what) : json_incref(what);
    oc_sops_template(r->thread, oc_req_actor(r), oc_api_brands_seen(r), kind, ids, body, apply,
                     reason != NULL ? reason : "preview", oc_api_answer, r);
    json_decref(body);
}

void oc_api_template_preview(oc_req_t *r)
{
    template_run(r, 0);
}

void oc_api_template_apply(oc_req_t *r)
{
    template_run(r, 1);
}
