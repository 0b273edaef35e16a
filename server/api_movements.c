/*
 * api_movements.c — POST /brands/{bid}/movements: receipts, sales,
 * shipments, cancellations, returns, adjustments and counts.
 *
 * A sale through the API is a checkout from onecount's own paths: it is
 * guarded (never takes available below zero) and first passes the same Redis
 * gate as holds, so units someone holds are not sold from under them.  A
 * sale that already happened elsewhere (allow_oversell) is recorded
 * whatever the balance and opens an oversell incident when it goes short.
 */
#include "server/api.h"
#include "tenants/catalog.h"
#include "tenants/holds.h"
#include "tenants/ledger.h"

#include <stdio.h>
#include <stdlib.h>

#define QTY_MAX 1000000000LL

typedef struct {
    json_t *item;
    int gated;
    char gate_id[80];
    int nskus;
    long long sku[OC_HOLD_MAX_SKUS], qty[OC_HOLD_MAX_SKUS];
    int line_of[OC_HOLD_MAX_SKUS]; /* the requested line of each of sku[] */
    int nlines;
    int guard;            /* a sale from onecount's own paths: it passes the hold gate */
    int status, replayed; /* the ledger's answer, kept while the hold gate hears of it */
    json_t *body;
} mv_t;

static void mv_free(void *p)
{
    mv_t *m = p;
    json_decref(m->item);
    json_decref(m->body);
    free(m);
}

/* After any successful movement: tell the Redis hold gate the new bases, then call done. */
void oc_api_publish_balances(oc_thread_t *th, const char *tenant, json_t *body, void (*done)(void *arg), void *arg)
{
    json_t *all = json_object_get(body, "balances"), *b;
    long long *bases = calloc(json_array_size(all) + 1, 3 * sizeof(long long));
    size_t i, n = 0;
    json_array_foreach(all, i, b)
    {
        json_t *sku = json_object_get(b, "sku_id"), *ver = json_object_get(b, "version");
        if (bases == NULL || !json_is_integer(sku) || !json_is_integer(ver))
            continue;
        bases[3 * n] = (long long)json_integer_value(sku);
        bases[3 * n + 1] = (long long)json_integer_value(ver);
        bases[3 * n + 2] = (long long)json_integer_value(json_object_get(b, "on_hand")) -
                           (long long)json_integer_value(json_object_get(b, "committed"));
        n++;
    }
    oc_holds_set_bases(th->redis, tenant, bases, n, done, arg);
    free(bases);
}

static void respond_posted(void *arg)
{
    oc_req_t *r = arg;
    mv_t *m = r->state;
    if (m->replayed)
        oc_resp_header(r, "idempotent-replayed", "true");
    oc_respond_json(r, m->status, json_incref(m->body));
}

static void on_posted(void *arg, int status, json_t *body, int replayed, const oc_db_result_t *err)
{
    oc_req_t *r = arg;
    mv_t *m = r->state;
    if (m->gated)
        oc_holds_release_redis(r->thread, r->tenant, m->gate_id, NULL, NULL);
    if (err != NULL) {
        oc_respond_db_error(r, err);
        return;
    }
    m->status = status, m->replayed = replayed, m->body = json_incref(body);
    /* answer once the hold gate knows the new quantities: a hold asked after this answer sees them */
    if (status == 201 && !replayed)
        oc_api_publish_balances(r->thread, r->tenant, body, respond_posted, r);
    else
        respond_posted(r);
}

static void post(oc_req_t *r)
{
    mv_t *m = r->state;
    json_t *item = json_incref(m->item);
    oc_ledger_post(r->thread, item, on_posted, r);
}

static void on_gate(void *arg, const oc_reserve_outcome_t *out)
{
    oc_req_t *r = arg;
    mv_t *m = r->state;
    if (out->result == OC_RESERVE_INSUFFICIENT) {
        /* Name the SKU: map the component id back to a requested code. */
        const char *code = "a SKU";
        json_t *lines = json_object_get(m->item, "lines");
        for (int j = 0; j < m->nskus; j++)
            if (m->sku[j] == out->short_sku_id)
                code = json_string_value(json_object_get(json_array_get(lines, m->line_of[j]), "sku"));
        char msg[200];
        snprintf(msg, sizeof(msg), "%s: not enough available once active holds are counted (%lld free)", code,
                 out->available > 0 ? out->available : 0);
        oc_respond_error(r, 409, "insufficient_stock", msg, "lines");
        return;
    }
    m->gated = out->result == OC_RESERVE_OK;
    post(r);
}

static void on_refs(void *arg, const oc_db_result_t *err, const oc_sku_ref_t *const *refs)
{
    oc_req_t *r = arg;
    mv_t *m = r->state;
    if (err != NULL) {
        oc_respond_db_error(r, err);
        return;
    }
    long long qty[100];
    json_t *lines = json_object_get(m->item, "lines");
    for (int i = 0; i < m->nlines; i++) {
        if (refs[i] == NULL) {
            post(r); /* unknown SKU: the ledger answers 422 with the line */
            return;
        }
        qty[i] = (long long)json_integer_value(json_object_get(json_array_get(lines, i), "qty"));
    }
    m->nskus = oc_catalog_expand(refs, qty, m->nlines, m->sku, m->qty, OC_HOLD_MAX_SKUS);
    if (m->nskus <= 0) {
        post(r);
        return;
    }
    /* Batches order their statements by it (tenants/ledger.c): stock is locked in sku_id order everywhere. */
    json_object_set_new(m->item, "lock_sku", json_integer(m->sku[0]));
    if (!m->guard || !oc_redis_ready(r->thread->redis)) {
        post(r);
        return;
    }
    oc_catalog_lines_of(refs, m->nlines, m->sku, m->nskus, m->line_of);
    snprintf(m->gate_id, sizeof(m->gate_id), "sale:%s", r->request_id);
    oc_holds_reserve(r->thread, r->tenant, m->gate_id, m->sku, m->qty, m->nskus, oc_now_ms() + 30000, on_gate, r);
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
    int guard = is_sale && !oc_json_bool(r->body, "allow_oversell", 0);
    mv_t *m = calloc(1, sizeof(*m));
    r->state = m;
    r->state_free = mv_free;
    m->nlines = (int)json_array_size(lines);
    char hash[65];
    oc_api_request_hash(r, hash);
    m->item = json_pack("{s:s, s:s, s:o, s:b, s:s}", "tenant", r->tenant, "kind", kind, "lines", lines, "guard", guard,
                        "request_id", r->request_id);
    if (r->idem_key != NULL) {
        json_object_set_new(m->item, "key", json_string(r->idem_key));
        json_object_set_new(m->item, "hash", json_string(hash));
    }
    if (r->auth.user_id[0])
        json_object_set_new(m->item, "user", json_string(r->auth.user_id));
    if (r->auth.kind == OC_AUTH_TOKEN)
        json_object_set_new(m->item, "token", json_string(r->auth.credential_id));
    const char *copy[] = {"reason", "disposition", "reference"};
    for (size_t k = 0; k < OC_ARRAY_SIZE(copy); k++)
        if (json_object_get(r->body, copy[k]) != NULL)
            json_object_set(m->item, copy[k], json_object_get(r->body, copy[k]));
    if (json_object_get(r->body, "from_inspection") != NULL)
        json_object_set(m->item, "from_inspection", json_object_get(r->body, "from_inspection"));

    m->guard = guard;
    const char *codes[100];
    for (int k = 0; k < m->nlines; k++)
        codes[k] = json_string_value(json_object_get(json_array_get(lines, k), "sku"));
    if (oc_catalog_resolve(r->thread, r->tenant, codes, m->nlines, on_refs, r) != 0)
        post(r);
}
