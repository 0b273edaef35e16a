/*
 * api_movements.c — POST /brands/{bid}/movements: receipts, sales,
 * shipments, cancellations, returns, adjustments and counts.
 *
 * The handler validates the body, fills an oc_movement_t and calls
 * oc_movement_post() (tenants/movements.h), which does the whole operation.
 * A sale through the API is a checkout from onecount's own paths: it is
 * guarded (never takes available below zero) and first passes the same Redis
 * gate as holds, so units someone holds are not sold from under them.  A
 * sale that already happened elsewhere (allow_oversell) is recorded
 * whatever the balance and opens an oversell incident when it goes short.
 */
#include "server/api.h"
#include "tenants/movements.h"

#include <stdio.h>
#include <stdlib.h>

#define QTY_MAX 1000000000LL

typedef struct {
    oc_movement_t m;
    oc_movement_line_t lines[OC_MOVEMENT_MAX_LINES];
    char hash[65];
} mv_t;

static void on_moved(void *arg, const oc_ledger_outcome_t *out)
{
    oc_req_t *r = arg;
    if (out->fail != NULL) {
        oc_respond_fail(r, out->fail);
        return;
    }
    if (out->replayed)
        oc_resp_header(r, "idempotent-replayed", "true");
    oc_respond_json(r, 201, json_incref(out->body));
}

void oc_api_movement_post(oc_req_t *r)
{
    static const char *const kinds[] = {"receipt", "sale", "ship", "cancel", "return", "adjust", "count", NULL};
    static const char *const dispositions[] = {"restock", "damaged", "inspect", NULL};
    static const oc_field_t line_fields[] = {
        {"sku", OC_F_STRING, OC_REQUIRED, 1, 64}, {"qty", OC_F_INT, OC_REQUIRED, -QTY_MAX, QTY_MAX}, {NULL}};
    static const oc_field_t fields[] = {
        {"kind", OC_F_ENUM, OC_REQUIRED, 0, 0, kinds},
        {"lines", OC_F_ARRAY, 0, 1, 100, .fields = line_fields},
        {"sku", OC_F_STRING, 0, 1, 64},
        {"qty", OC_F_INT, 0, -QTY_MAX, QTY_MAX},
        {"reason", OC_F_STRING, 0, 1, 200},
        {"disposition", OC_F_ENUM, 0, 0, 0, dispositions},
        {"from_inspection", OC_F_BOOL, 0},
        {"reference", OC_F_STRING, 0, 1, 200},
        {"allow_oversell", OC_F_BOOL, 0},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *kind = oc_json_str(r->body, "kind");
    json_t *lines = json_object_get(r->body, "lines");
    /* Two forms, never mixed: lines, or one sku with its qty. */
    const char *mixed = lines == NULL                             ? NULL
                        : json_object_get(r->body, "sku") != NULL ? "sku"
                        : json_object_get(r->body, "qty") != NULL ? "qty"
                                                                  : NULL;
    if (mixed != NULL) {
        oc_respond_error(r, 422, "invalid", "give either lines or sku and qty, not both", mixed);
        return;
    }
    if (lines == NULL) {
        int has_sku = json_object_get(r->body, "sku") != NULL, has_qty = json_object_get(r->body, "qty") != NULL;
        const char *missing = !has_sku && !has_qty ? "lines" : !has_sku ? "sku" : !has_qty ? "qty" : NULL;
        if (missing != NULL) {
            oc_respond_error(r, 422, "invalid", "give either lines or sku and qty", missing);
            return;
        }
        lines =
            json_pack("[{s:O, s:O}]", "sku", json_object_get(r->body, "sku"), "qty", json_object_get(r->body, "qty"));
    } else {
        json_incref(lines);
    }
    int is_adjust = strcmp(kind, "adjust") == 0, is_count = strcmp(kind, "count") == 0;
    int is_return = strcmp(kind, "return") == 0, is_sale = strcmp(kind, "sale") == 0;
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        char field[48];
        long long q = (long long)json_integer_value(json_object_get(l, "qty"));
        const char *why = NULL;
        if (is_adjust && q == 0)
            why = "qty of an adjustment is a non-zero change (negative removes units)";
        else if (is_count && q < 0)
            why = "qty of a count is the units counted: 0 or more";
        else if (!is_adjust && !is_count && q <= 0)
            why = "qty must be a positive whole number";
        if (why != NULL) {
            snprintf(field, sizeof(field), "lines[%zu].qty", i);
            oc_respond_error(r, 422, "invalid", why, field);
            json_decref(lines);
            return;
        }
    }
    const char *reason = oc_json_str(r->body, "reason"), *disp = oc_json_str(r->body, "disposition");
    const char *problem = NULL, *pfield = NULL;
    if (is_adjust && reason == NULL)
        problem = "an adjustment needs a reason (damaged, lost, found, correction…)", pfield = "reason";
    else if (is_return && disp == NULL)
        problem = "a return needs a disposition: restock, damaged or inspect", pfield = "disposition";
    else if (!is_return && (disp != NULL || json_object_get(r->body, "from_inspection") != NULL))
        problem = "disposition and from_inspection apply to returns only", pfield = "disposition";
    else if (!is_sale && json_object_get(r->body, "allow_oversell") != NULL)
        problem = "allow_oversell applies to sales only", pfield = "allow_oversell";
    else if (is_return && oc_json_bool(r->body, "from_inspection", 0) && strcmp(disp, "inspect") == 0)
        problem = "units leaving inspection are restocked or damaged", pfield = "disposition";
    if (problem != NULL) {
        oc_respond_error(r, 422, "invalid", problem, pfield);
        json_decref(lines);
        return;
    }
    mv_t *mv = oc_calloc(1, sizeof(*mv));
    r->state = mv;
    r->state_free = free;
    oc_movement_t *m = &mv->m;
    m->kind = (oc_move_kind_t)oc_move_kind_parse(kind);
    m->nlines = (int)json_array_size(lines);
    for (int k = 0; k < m->nlines; k++) {
        json_t *line = json_array_get(lines, (size_t)k);
        /* the strings stay the request body's: sku and qty were copied from it when not given as lines */
        mv->lines[k] = (oc_movement_line_t){json_string_value(json_object_get(line, "sku")),
                                            (long long)json_integer_value(json_object_get(line, "qty"))};
    }
    m->lines = mv->lines;
    m->reason = reason;
    m->disposition = disp;
    m->from_inspection = oc_json_bool(r->body, "from_inspection", 0);
    m->reference = oc_json_str(r->body, "reference");
    m->guard = is_sale && !oc_json_bool(r->body, "allow_oversell", 0);
    if (r->idem_key != NULL) {
        oc_api_request_hash(r, mv->hash);
        m->key = r->idem_key;
        m->hash = mv->hash;
    }
    json_decref(lines);
    oc_movement_post(r->thread, m, oc_req_actor(r), on_moved, r);
}
