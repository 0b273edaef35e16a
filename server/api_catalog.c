/*
 * api_catalog.c — SKUs and bundles: create, read with balances, update,
 * list; a SKU's history and its balance at a point in time; ledger
 * verification and oversell incidents.  The handlers check the request and
 * call one domain operation (tenants/skus.h, tenants/incidents.h).
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/incidents.h"
#include "tenants/skus.h"

#include <stdio.h>
#include <stdlib.h>

void oc_api_answer(void *arg, json_t *v, const oc_fail_t *f)
{
    if (f != NULL)
        oc_respond_fail(arg, f);
    else
        oc_respond_json(arg, 200, v);
}

void oc_api_answer_created(void *arg, json_t *v, const oc_fail_t *f)
{
    if (f != NULL)
        oc_respond_fail(arg, f);
    else
        oc_respond_json(arg, 201, v);
}

/* Idempotency-Key for any brand POST: first step of the transaction. */
int oc_api_idem_step(oc_req_t *r, oc_db_tx_t *tx)
{
    if (r->idem_key == NULL)
        return 0;
    char *hash = oc_req_alloc(r, 65);
    oc_api_request_hash(r, hash);
    return oc_api_idem_step_hashed(r, tx, hash);
}

int oc_api_idem_step_hashed(oc_req_t *r, oc_db_tx_t *tx, const char *hash)
{
    oc_idem_t idem = {r->idem_key, hash};
    return oc_query_idem_step(tx, r->tenant, &idem);
}

/* The request's Idempotency-Key with its hash, or NULL without one. */
static const oc_idem_t *request_idem(oc_req_t *r)
{
    if (r->idem_key == NULL)
        return NULL;
    oc_idem_t *idem = oc_req_alloc(r, sizeof(*idem));
    char *hash = oc_req_alloc(r, 65);
    oc_api_request_hash(r, hash);
    *idem = (oc_idem_t){r->idem_key, hash};
    return idem;
}

static int valid_code(oc_req_t *r, const char *code, const char *field)
{
    size_t n = strlen(code);
    int ok = n >= 1 && n <= 64 && code[0] != ' ' && code[n - 1] != ' ';
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)code[i] >= 0x20 && code[i] != 0x7f;
    if (!ok)
        oc_respond_error(r, 422, "invalid",
                         "a SKU code is 1 to 64 printable characters without leading or trailing spaces", field);
    return ok;
}

/* --- list -------------------------------------------------------------------------- */

static json_t *code_key(json_t *item)
{
    return json_pack("[s]", json_string_value(json_object_get(item, "code")));
}

void oc_api_skus_list(oc_req_t *r)
{
    /* in the order of oc_skus_sort_t */
    static const oc_sort_col_t sorts[] = {{"code", "code", NULL},
                                          {"title", "title", ""},
                                          {"on_hand", "on_hand", "-1"},
                                          {"available", "available", NULL},
                                          {NULL}};
    oc_page_t *pg = oc_page_start_sorted(r, 1, code_key, sorts, "code");
    if (pg == NULL)
        return;
    const char *kind = oc_req_query(r, "kind"), *arch = oc_req_query(r, "include_archived");
    if (kind != NULL && strcmp(kind, "simple") != 0 && strcmp(kind, "bundle") != 0) {
        oc_respond_error(r, 422, "invalid", "kind must be simple or bundle", "kind");
        return;
    }
    oc_skus_filter_t flt = {.include_archived = arch != NULL && strcmp(arch, "true") == 0,
                            .q = oc_req_query(r, "q"),
                            .kind = kind,
                            .sort = (oc_skus_sort_t)pg->sort_index,
                            .desc = pg->sort_desc};
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_skus_list(r->thread, r->tenant, &flt, &keys, oc_page_answer, pg);
}

/* --- create, read, update ------------------------------------------------------------------- */

/* The body's unit cost as decimal text for SQL (rounded to cents there), or NULL (absent or null). */
static const char *unit_cost_text(oc_req_t *r)
{
    json_t *v = json_object_get(r->body, "unit_cost");
    return json_is_number(v) ? oc_actor_json(oc_req_actor(r), v) : NULL;
}

void oc_api_sku_create(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"code", OC_F_STRING, 1, 1, 64},
        {"title", OC_F_STRING, 0, 0, 300},
        {"barcode", OC_F_STRING, OC_NULLABLE, 0, 64},           /* null: no barcode */
        {"unit_cost", OC_F_NUMBER, OC_NULLABLE, 0, 1000000000}, /* null: not known */
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *code = oc_json_str(r->body, "code");
    if (!valid_code(r, code, "code"))
        return;
    oc_skus_create(r->thread, oc_req_actor(r), request_idem(r), code, oc_json_str(r->body, "title"),
                   oc_json_str(r->body, "barcode"), unit_cost_text(r), r->body, oc_api_answer_created, r);
}

void oc_api_sku_get(oc_req_t *r)
{
    oc_skus_get(r->thread, r->tenant, oc_req_param(r, "code"), oc_api_answer, r);
}

void oc_api_sku_update(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"title", OC_F_STRING, 0, 0, 300},
        {"barcode", OC_F_STRING, OC_NULLABLE, 0, 64},           /* null: no barcode */
        {"unit_cost", OC_F_NUMBER, OC_NULLABLE, 0, 1000000000}, /* null: not known */
        {"archived", OC_F_BOOL, 0},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    json_t *arch = json_object_get(r->body, "archived");
    oc_skus_change_t ch = {
        .title = oc_json_str(r->body, "title"),
        .barcode = oc_json_str(r->body, "barcode"),
        .set_barcode = json_object_get(r->body, "barcode") != NULL,
        .unit_cost = unit_cost_text(r),
        .set_unit_cost = json_object_get(r->body, "unit_cost") != NULL,
        .archived = json_is_boolean(arch) ? json_is_true(arch) : -1,
    };
    oc_skus_update(r->thread, oc_req_actor(r), oc_req_param(r, "code"), &ch, oc_api_answer, r);
}

/* --- bundles ----------------------------------------------------------------------------- */

static const oc_field_t component_fields[] = {
    {"sku", OC_F_STRING, OC_REQUIRED, 1, 64}, {"qty", OC_F_INT, OC_REQUIRED, 1, 10000}, {NULL}};

/* Each component once (the field table checked their form); their JSON text in the request's pool, or NULL. */
static const char *bundle_components(oc_req_t *r)
{
    json_t *comps = json_object_get(r->body, "components"), *c;
    size_t i;
    json_array_foreach(comps, i, c)
    {
        char field[48];
        for (size_t j = 0; j < i; j++) {
            if (strcmp(oc_json_str(json_array_get(comps, j), "sku"), oc_json_str(c, "sku")) == 0) {
                snprintf(field, sizeof(field), "components[%zu].sku", i);
                oc_respond_error(r, 422, "invalid", "each component appears once", field);
                return NULL;
            }
        }
    }
    char *s = json_dumps(comps, JSON_COMPACT);
    if (s == NULL) {
        oc_respond_error(r, 500, "internal", "the components could not be encoded", NULL);
        return NULL;
    }
    char *copy = oc_req_strdup(r, s, strlen(s));
    free(s);
    return copy;
}

void oc_api_bundle_create(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"code", OC_F_STRING, 1, 1, 64},
        {"title", OC_F_STRING, 0, 0, 300},
        {"components", OC_F_ARRAY, OC_REQUIRED, 1, 50, .fields = component_fields},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0 || !valid_code(r, oc_json_str(r->body, "code"), "code"))
        return;
    const char *comps = bundle_components(r);
    if (comps == NULL)
        return;
    oc_skus_bundle_create(r->thread, oc_req_actor(r), request_idem(r), oc_json_str(r->body, "code"),
                          oc_json_str(r->body, "title"), comps, r->body, oc_api_answer_created, r);
}

void oc_api_bundle_replace(oc_req_t *r)
{
    static const oc_field_t fields[] = {{"components", OC_F_ARRAY, OC_REQUIRED, 1, 50, .fields = component_fields},
                                        {NULL}};
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *comps = bundle_components(r);
    if (comps == NULL)
        return;
    oc_skus_bundle_replace(r->thread, oc_req_actor(r), oc_req_param(r, "code"), comps, r->body, oc_api_answer, r);
}

/* --- history and point-in-time balance ------------------------------------------------------- */

static json_t *history_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "at")),
                     json_string_value(json_object_get(item, "id")));
}

static void movements_query(oc_req_t *r, const char *code)
{
    oc_page_t *pg = oc_page_start(r, 2, history_key);
    if (pg == NULL)
        return;
    static const char *const kinds[] = {"receipt", "sale", "ship", "cancel", "return", "adjust", "count", NULL};
    const char *kind = oc_req_query(r, "kind"), *from = oc_req_query(r, "from"), *to = oc_req_query(r, "to"),
               *channel = oc_req_query(r, "channel");
    if (kind != NULL) {
        int ok = 0;
        for (const char *const *k = kinds; *k; k++)
            ok |= strcmp(*k, kind) == 0;
        if (!ok) {
            oc_respond_error(r, 422, "invalid", "kind must be one of: receipt sale ship cancel return adjust count",
                             "kind");
            return;
        }
    }
    if (!oc_query_time_ok(r, from, "from") || !oc_query_time_ok(r, to, "to"))
        return;
    if (channel != NULL && !oc_is_uuid(channel, strlen(channel))) {
        oc_respond_error(r, 422, "invalid", "channel must be a connection id", "channel");
        return;
    }
    oc_skus_history_t h = {.code = code != NULL ? code : oc_req_query(r, "sku"),
                           .code_must_exist = code != NULL,
                           .kind = kind,
                           .from = from,
                           .to = to,
                           .channel = channel};
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_skus_history(r->thread, r->tenant, &h, &keys, oc_page_answer, pg);
}

void oc_api_sku_history(oc_req_t *r)
{
    movements_query(r, oc_req_param(r, "code"));
}

void oc_api_movements_list(oc_req_t *r)
{
    movements_query(r, NULL);
}

void oc_api_sku_balance(oc_req_t *r)
{
    const char *at = oc_req_query(r, "at");
    if (at == NULL) {
        oc_respond_error(r, 422, "invalid", "at is required: an RFC 3339 time", "at");
        return;
    }
    if (!oc_query_time_ok(r, at, "at"))
        return;
    oc_skus_balance_at(r->thread, r->tenant, oc_req_param(r, "code"), at, oc_api_answer, r);
}

/* --- verification and oversells -------------------------------------------------------------- */

void oc_api_ledger_verify(oc_req_t *r)
{
    oc_incidents_verify(r->thread, r->tenant, oc_api_answer, r);
}

void oc_api_oversells_list(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, oc_api_created_key);
    if (pg == NULL)
        return;
    const char *state_q = oc_req_query(r, "state");
    if (state_q == NULL)
        state_q = "open";
    if (strcmp(state_q, "open") != 0 && strcmp(state_q, "resolved") != 0 && strcmp(state_q, "all") != 0) {
        oc_respond_error(r, 422, "invalid", "state must be open, resolved or all", "state");
        return;
    }
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_incidents_list(r->thread, r->tenant, state_q, &keys, oc_page_answer, pg);
}

void oc_api_oversell_resolve(oc_req_t *r)
{
    static const char *const res_kinds[] = {"cancelled_order", "restocked", "fulfilled_elsewhere", "written_off", NULL};
    static const oc_field_t fields[] = {
        {"resolution", OC_F_ENUM, 1, 0, 0, res_kinds}, {"note", OC_F_STRING, 0, 0, 1000}, {NULL}};
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *id = oc_req_num_param(r, "oid", "no such open oversell incident");
    if (id == NULL)
        return;
    oc_incidents_resolve(r->thread, oc_req_actor(r), id, oc_json_str(r->body, "resolution"),
                         oc_json_str(r->body, "note"), oc_api_answer, r);
}
