/*
 * api_holds.c — holds: reserve units for a short time, then confirm (a
 * guarded sale through PostgreSQL) or release; list and read them.
 *
 * The handlers validate and call one operation of tenants/holds.h each
 * (oc_hold_create, oc_hold_confirm, oc_hold_release, oc_hold_get), which
 * say how it went as a body or a domain failure.
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/holds.h"

#include <stdlib.h>

#define TTL_DEFAULT 300
#define TTL_MAX     3600

typedef struct {
    oc_movement_line_t lines[OC_HOLD_MAX_LINES];
    oc_hold_request_t req;
    char hash[65];
} hold_t;

static hold_t *state(oc_req_t *r)
{
    hold_t *h = oc_calloc(1, sizeof(*h));
    r->state = h;
    r->state_free = free;
    return h;
}

/* The one way a hold operation is answered: `status` on success, the failure's own otherwise. */
static void respond(oc_req_t *r, int status, const oc_ledger_outcome_t *out)
{
    if (out->fail != NULL) {
        oc_respond_fail(r, out->fail);
        return;
    }
    if (out->replayed)
        oc_resp_header(r, "idempotent-replayed", "true");
    oc_respond_json(r, status, json_incref(out->body));
}

static void answer_200(void *arg, const oc_ledger_outcome_t *out)
{
    respond(arg, 200, out);
}

static void answer_201(void *arg, const oc_ledger_outcome_t *out)
{
    respond(arg, 201, out);
}

/* Every hold a client knows of is a committed row: PostgreSQL answers. */
void oc_api_hold_get(oc_req_t *r)
{
    if (oc_req_id_param(r, "hid", "no such hold") == NULL)
        return;
    oc_hold_get(r->thread, r->tenant, oc_req_param(r, "hid"), answer_200, r);
}

void oc_api_hold_create(oc_req_t *r)
{
    static const oc_field_t line_fields[] = {
        {"sku", OC_F_STRING, OC_REQUIRED, 1, 64}, {"qty", OC_F_INT, OC_REQUIRED, 1, 1000000000}, {NULL}};
    static const oc_field_t fields[] = {
        {"lines", OC_F_ARRAY, 0, 1, OC_HOLD_MAX_LINES, .fields = line_fields},
        {"sku", OC_F_STRING, 0, 1, 64},
        {"qty", OC_F_INT, 0, 1, 1000000000},
        {"ttl_seconds", OC_F_INT, 0, 1, TTL_MAX},
        {"reference", OC_F_STRING, 0, 1, 200},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    json_t *lines = json_object_get(r->body, "lines");
    int has_sku = json_object_get(r->body, "sku") != NULL, has_qty = json_object_get(r->body, "qty") != NULL;
    if (lines != NULL && (has_sku || has_qty)) {
        oc_respond_error(r, 422, "invalid", "give either lines or sku and qty, not both", has_sku ? "sku" : "qty");
        return;
    }
    if (lines == NULL && !(has_sku && has_qty)) {
        oc_respond_error(r, 422, "invalid", "give either lines or sku and qty",
                         !has_sku && !has_qty ? "lines"
                         : !has_sku           ? "sku"
                                              : "qty");
        return;
    }
    hold_t *h = state(r);
    oc_hold_request_t *req = &h->req;
    if (lines != NULL) {
        req->nlines = (int)json_array_size(lines);
        for (int i = 0; i < req->nlines; i++) {
            json_t *l = json_array_get(lines, (size_t)i);
            h->lines[i] = (oc_movement_line_t){oc_json_str(l, "sku"), oc_json_int(l, "qty", 0)};
        }
    } else {
        req->nlines = 1;
        h->lines[0] = (oc_movement_line_t){oc_json_str(r->body, "sku"), oc_json_int(r->body, "qty", 0)};
    }
    req->lines = h->lines;
    req->ttl_seconds = (int)oc_json_int(r->body, "ttl_seconds", TTL_DEFAULT);
    req->reference = oc_json_str(r->body, "reference");
    req->key = r->idem_key; /* checked by the request lifecycle: 1 to 255 visible characters */
    oc_api_request_hash(r, h->hash);
    req->hash = h->hash;
    oc_hold_create(r->thread, req, oc_req_actor(r), answer_201, r);
}

/* --- list ---------------------------------------------------------------------------- */

static json_t *hold_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "created_at")),
                     json_string_value(json_object_get(item, "id")));
}

void oc_api_holds_list(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, hold_key);
    if (pg == NULL)
        return;
    const char *st = oc_req_query(r, "state");
    if (st == NULL)
        st = "active";
    static const char *const states[] = {"active", "confirmed", "released", "expired", "all", NULL};
    int ok = 0;
    for (const char *const *s = states; *s; s++)
        ok |= strcmp(*s, st) == 0;
    if (!ok) {
        oc_respond_error(r, 422, "invalid", "state must be active, confirmed, released, expired or all", "state");
        return;
    }
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_holds_list(r->thread, r->tenant, st, &keys, oc_page_answer, pg);
}

/* --- confirm and release ---------------------------------------------------------------- */

/* Every hold a client knows of is a committed row: PostgreSQL decides, then Redis hears of it. */
void oc_api_hold_confirm(oc_req_t *r)
{
    if (oc_req_id_param(r, "hid", "no such hold") == NULL || oc_req_validate(r, oc_no_fields) != 0)
        return;
    hold_t *h = state(r);
    oc_api_request_hash(r, h->hash);
    oc_hold_confirm(r->thread, oc_req_param(r, "hid"), r->idem_key, h->hash, oc_req_actor(r), answer_201, r);
}

void oc_api_hold_release(oc_req_t *r)
{
    if (oc_req_id_param(r, "hid", "no such hold") == NULL || oc_req_validate(r, oc_no_fields) != 0)
        return;
    oc_hold_release(r->thread, oc_req_param(r, "hid"), oc_req_actor(r), answer_200, r);
}
