/*
 * api_holds.c — holds: reserve units for a short time, then confirm (a
 * guarded sale through PostgreSQL) or release; list and read them.
 *
 * The fast path reserves in Redis, then commits the hold in PostgreSQL
 * (group commit, tenants/holds.c) and answers 201 only once it is a row
 * there: every read, confirmation and release goes to PostgreSQL.  When
 * Redis is down the hold is made in PostgreSQL directly.  An
 * Idempotency-Key names the hold (its id derives from the key), so a
 * retried create finds the hold it already made.
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/catalog.h"
#include "tenants/holds.h"
#include "tenants/ledger.h"
#include "runtime/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#define TTL_DEFAULT 300
#define TTL_MAX     3600

typedef struct {
    oc_page_t page;
    json_t *request; /* [{sku, qty}] */
    char id[37];
    char hash[65];
    int ttl;
    uint64_t created_ms, expires_ms;
    int nlines, nskus;
    long long sku[OC_HOLD_MAX_SKUS], qty[OC_HOLD_MAX_SKUS];
    int line_of[OC_HOLD_MAX_SKUS]; /* the requested line of each of sku[] */
    char *hold_text;               /* the public JSON of a new hold, answered once it is committed */
    json_t *answer;                /* hold_confirm()'s {status, body, replayed} */
} hold_t;

static void hold_free(void *p)
{
    hold_t *h = p;
    json_decref(h->request);
    free(h->hold_text);
    json_decref(h->answer);
    free(h);
}

static hold_t *state(oc_req_t *r)
{
    hold_t *h = calloc(1, sizeof(*h));
    r->state = h;
    r->state_free = hold_free;
    return h;
}

static void iso_time(char *out, uint64_t ms)
{
    oc_time_format(out, ms, OC_TIME_MS);
}

/* A hold id from an Idempotency-Key: the same key names the same hold. */
static void id_from_key(const char *tenant, const char *key, char out[37])
{
    unsigned char md[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)tenant, strlen(tenant));
    crypto_hash_sha256_update(&st, (const unsigned char *)"/hold/", 6);
    crypto_hash_sha256_update(&st, (const unsigned char *)key, strlen(key));
    crypto_hash_sha256_final(&st, md);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x40);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 15];
    }
    out[o] = '\0';
}

/* --- reading one hold --------------------------------------------------------------- */

OC_DB_STMT(hold_get, 2, "SELECT hold_json(h) FROM holds h WHERE h.tenant_id = $1 AND h.id = $2::uuid");

static void on_hold_row(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *v = oc_db_json(res->results[0], 0, 0);
    if (v == NULL) {
        oc_respond_error(r, 404, "not_found", "no such hold", NULL);
        return;
    }
    oc_respond_json(r, r->status ? r->status : 200, v);
}

/* Every hold a client knows of is a committed row: PostgreSQL answers. */
void oc_api_hold_get(oc_req_t *r)
{
    if (oc_req_id_param(r, "hid", "no such hold") == NULL)
        return;
    const char *p[] = {r->tenant, oc_req_param(r, "hid")};
    if (oc_db_exec(r->thread->db, r->tenant, &hold_get, p, on_hold_row, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- create ------------------------------------------------------------------------ */

static void create_in_pg(oc_req_t *r);

OC_DB_STMT(hold_create_pg_stmt, 9, "SELECT hold_create_pg($1, $2::uuid, $3::jsonb, $4, $5, $6, $7, $8, $9)");

static void on_pg_created(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        if (strcmp(res->sqlstate, "23505") == 0) {
            /* A request with the same key made it meanwhile: answer what that one made. */
            create_in_pg(r);
            return;
        }
        oc_respond_db_error(r, res);
        return;
    }
    json_t *o = oc_db_json(res->results[0], 0, 0);
    int status = (int)json_integer_value(json_object_get(o, "status"));
    if (json_is_true(json_object_get(o, "replayed")))
        oc_resp_header(r, "idempotent-replayed", "true");
    json_t *body = json_incref(json_object_get(o, "body"));
    json_decref(o);
    oc_respond_json(r, status ? status : 500, body);
}

static void create_in_pg(oc_req_t *r)
{
    hold_t *h = r->state;
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", h->ttl);
    char *req = json_dumps(h->request, JSON_COMPACT);
    const char *p[] = {r->tenant,
                       h->id,
                       req,
                       ttl,
                       json_string_value(json_object_get(r->body, "reference")),
                       r->auth.user_id[0] ? r->auth.user_id : NULL,
                       r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL,
                       r->request_id,
                       h->hash};
    int rc = oc_db_exec(r->thread->db, r->tenant, &hold_create_pg_stmt, p, on_pg_created, r);
    free(req);
    if (rc != 0)
        oc_respond_unavailable(r, "the database");
}

static const char *code_of_sku(hold_t *h, long long sku_id)
{
    for (int j = 0; j < h->nskus; j++)
        if (h->sku[j] == sku_id)
            return json_string_value(json_object_get(json_array_get(h->request, h->line_of[j]), "sku"));
    return "a SKU";
}

static void respond_short(oc_req_t *r, long long sku_id, long long available)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "%s has %lld available for holds", code_of_sku(r->state, sku_id),
             available > 0 ? available : 0);
    oc_respond_error(r, 409, "insufficient_stock", msg, "lines");
}

static void on_hold_committed(void *arg, const oc_hold_commit_outcome_t *out)
{
    oc_req_t *r = arg;
    hold_t *h = r->state;
    switch (out->result) {
    case OC_HOLD_HELD:
        oc_respond_raw(r, 201, "application/json; charset=utf-8", h->hold_text, strlen(h->hold_text));
        return;
    case OC_HOLD_EXISTS:
        if (out->hash != NULL && strcmp(out->hash, h->hash) != 0) { /* (holds older than 0017 have none) */
            oc_respond_error(r, 422, "idempotency_mismatch", "this Idempotency-Key was used with a different request",
                             NULL);
            return;
        }
        oc_resp_header(r, "idempotent-replayed", "true");
        oc_respond_raw(r, 201, "application/json; charset=utf-8", out->hold_json, strlen(out->hold_json));
        return;
    case OC_HOLD_SHORT: respond_short(r, out->short_sku_id, out->available); return;
    case OC_HOLD_FAILED: oc_respond_unavailable(r, "the database"); return;
    }
}

static void on_reserved(void *arg, const oc_reserve_outcome_t *out)
{
    oc_req_t *r = arg;
    hold_t *h = r->state;
    switch (out->result) {
    case OC_RESERVE_OK:
    case OC_RESERVE_DUPLICATE: {
        /* A duplicate is the same key's hold: committed already (the commit says so and what it was), or
         * reserved by a request that never committed it (serve died): this request adopts the reservation. */
        char *request = json_dumps(h->request, JSON_COMPACT);
        json_t *ref = json_object_get(r->body, "reference");
        char *reference = ref != NULL ? json_dumps(ref, JSON_ENCODE_ANY) : NULL;
        oc_hold_record_t rec = {.id = h->id,
                                .n = h->nskus,
                                .sku = h->sku,
                                .qty = h->qty,
                                .request_json = request,
                                .reference_json = reference,
                                .hash = h->hash,
                                .created_ms = h->created_ms,
                                .expires_ms = h->expires_ms};
        int rc = oc_holds_commit(r->thread, r->tenant, &rec, on_hold_committed, r);
        free(request);
        free(reference);
        if (rc != 0) {
            oc_holds_release_redis(r->thread, r->tenant, h->id, NULL, NULL);
            oc_respond_unavailable(r, "the hold queue");
        }
        return;
    }
    case OC_RESERVE_INSUFFICIENT: respond_short(r, out->short_sku_id, out->available); return;
    case OC_RESERVE_UNAVAILABLE:
    case OC_RESERVE_ERROR:
        create_in_pg(r); /* Redis is an accelerator: PostgreSQL decides alone */
        return;
    }
}

static void on_refs(void *arg, const oc_db_result_t *err, const oc_sku_ref_t *const *refs)
{
    oc_req_t *r = arg;
    hold_t *h = r->state;
    if (err != NULL) {
        oc_respond_db_error(r, err);
        return;
    }
    long long qty[50];
    for (int i = 0; i < h->nlines; i++) {
        json_t *l = json_array_get(h->request, i);
        if (refs[i] == NULL) {
            char msg[120], field[32];
            snprintf(msg, sizeof(msg), "no SKU %s in this brand", json_string_value(json_object_get(l, "sku")));
            snprintf(field, sizeof(field), "lines[%d].sku", i);
            oc_respond_error(r, 422, "unknown_sku", msg, field);
            return;
        }
        if (refs[i]->is_bundle && refs[i]->ncomp == 0) {
            oc_respond_error(r, 422, "empty_bundle", "this bundle has no components", "lines");
            return;
        }
        qty[i] = (long long)json_integer_value(json_object_get(l, "qty"));
    }
    h->nskus = oc_catalog_expand(refs, qty, h->nlines, h->sku, h->qty, OC_HOLD_MAX_SKUS);
    if (h->nskus < 0) {
        oc_respond_error(r, 422, "invalid", "a hold covers at most 32 distinct SKUs", "lines");
        return;
    }
    oc_catalog_lines_of(refs, h->nlines, h->sku, h->nskus, h->line_of);
    /* The public JSON, kept in Redis with the hold for reads and replays. */
    char created[32], expires[32];
    iso_time(created, h->created_ms);
    iso_time(expires, h->expires_ms);
    json_t *comps = json_array();
    for (int i = 0; i < h->nskus; i++)
        json_array_append_new(comps,
                              json_pack("{s:I, s:I}", "sku_id", (json_int_t)h->sku[i], "qty", (json_int_t)h->qty[i]));
    json_t *hold = json_pack("{s:s, s:s, s:O, s:o, s:o, s:s, s:s, s:n}", "id", h->id, "state", "active", "lines",
                             h->request, "components", comps, "reference",
                             json_object_get(r->body, "reference") ? json_incref(json_object_get(r->body, "reference"))
                                                                   : json_null(),
                             "created_at", created, "expires_at", expires, "ended_at");
    h->hold_text = json_dumps(hold, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(hold);
    if (h->hold_text == NULL) {
        oc_respond_error(r, 500, "internal", "the hold could not be encoded", NULL);
        return;
    }
    oc_holds_reserve(r->thread, r->tenant, h->id, h->sku, h->qty, h->nskus, h->expires_ms, on_reserved, r);
}

void oc_api_hold_create(oc_req_t *r)
{
    static const oc_field_t line_fields[] = {
        {"sku", OC_F_STRING, OC_REQUIRED, 1, 64}, {"qty", OC_F_INT, OC_REQUIRED, 1, 1000000000}, {NULL}};
    static const oc_field_t fields[] = {
        {"lines", OC_F_ARRAY, 0, 1, 50, .fields = line_fields},
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
    h->request = lines != NULL ? json_incref(lines)
                               : json_pack("[{s:O, s:O}]", "sku", json_object_get(r->body, "sku"), "qty",
                                           json_object_get(r->body, "qty"));
    h->nlines = (int)json_array_size(h->request);
    h->ttl = (int)oc_json_int(r->body, "ttl_seconds", TTL_DEFAULT);
    h->created_ms = oc_now_ms();
    h->expires_ms = h->created_ms + (uint64_t)h->ttl * 1000;
    oc_api_request_hash(r, h->hash);
    if (r->idem_key != NULL) { /* checked by the request lifecycle: 1 to 255 visible characters */
        id_from_key(r->tenant, r->idem_key, h->id);
    } else {
        oc_uuid_v4(h->id);
    }
    if (!oc_redis_ready(r->thread->redis)) {
        create_in_pg(r);
        return;
    }
    const char *codes[50];
    for (int k = 0; k < h->nlines; k++)
        codes[k] = json_string_value(json_object_get(json_array_get(h->request, k), "sku"));
    if (oc_catalog_resolve(r->thread, r->tenant, codes, h->nlines, on_refs, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- list ---------------------------------------------------------------------------- */

OC_DB_STMT(holds_list, 5,
           "SELECT hold_json(h) FROM holds h WHERE h.tenant_id = $1"
           " AND ($2::text = 'all' OR (h.state = 'active' AND h.expires_at > now() AND $2 = 'active')"
           "      OR (h.state = $2 AND $2 <> 'active'))"
           " AND ($3::text IS NULL OR (h.created_at, h.id::text) < ($3::timestamptz, $4))"
           " ORDER BY h.created_at DESC, h.id DESC LIMIT $5");

static json_t *hold_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "created_at")),
                     json_string_value(json_object_get(item, "id")));
}

static void on_list(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    hold_t *h = r->state;
    oc_respond_page(r, &h->page, res, hold_key);
}

void oc_api_holds_list(oc_req_t *r)
{
    hold_t *h = state(r);
    if (oc_page_parse(r, &h->page, 2) != 0)
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
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &holds_list;
    const char *p[] = {r->tenant, st, oc_page_after(&h->page, 0), oc_page_after(&h->page, 1), h->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_list, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- confirm and release ---------------------------------------------------------------- */

OC_DB_STMT(hold_confirm_stmt, 7, "SELECT hold_confirm($1, $2::uuid, $3, $4, $5::uuid, $6::uuid, $7)");
OC_DB_STMT(hold_end_stmt, 8, "SELECT hold_end($1, $2::uuid, $3, $4::jsonb, $5::jsonb, $6::uuid, $7::uuid, $8)");

static void respond_confirmed(void *arg)
{
    oc_req_t *r = arg;
    hold_t *h = r->state;
    int status = (int)json_integer_value(json_object_get(h->answer, "status"));
    if (json_is_true(json_object_get(h->answer, "replayed")))
        oc_resp_header(r, "idempotent-replayed", "true");
    oc_respond_json(r, status ? status : 500, json_incref(json_object_get(h->answer, "body")));
}

static void on_confirmed(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        if (strcmp(res->sqlstate, "OC409") == 0) {
            oc_respond_error(r, 409, "insufficient_stock", res->detail ? res->detail : "stock no longer available",
                             "lines");
            return;
        }
        oc_respond_db_error(r, res);
        return;
    }
    hold_t *h = r->state;
    h->answer = oc_db_json(res->results[0], 0, 0);
    if (json_integer_value(json_object_get(h->answer, "status")) == 201) {
        /* answer once Redis has ended the hold (sent after the new bases on the same connection, so it
         * answers after them), so no later read still finds it active nor checks against the old bases */
        oc_api_publish_balances(r->thread, r->tenant, json_object_get(h->answer, "body"), NULL, NULL);
        oc_holds_release_redis(r->thread, r->tenant, oc_req_param(r, "hid"), respond_confirmed, r);
        return;
    }
    respond_confirmed(r);
}

/* Every hold a client knows of is a committed row: PostgreSQL decides, then Redis hears of it. */
void oc_api_hold_confirm(oc_req_t *r)
{
    if (oc_req_id_param(r, "hid", "no such hold") == NULL || oc_req_validate(r, oc_no_fields) != 0)
        return;
    hold_t *h = state(r);
    oc_api_request_hash(r, h->hash);
    const char *p[] = {r->tenant,
                       oc_req_param(r, "hid"),
                       r->idem_key,
                       r->idem_key ? h->hash : NULL,
                       r->auth.user_id[0] ? r->auth.user_id : NULL,
                       r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL,
                       r->request_id};
    if (oc_db_exec(r->thread->db, r->tenant, &hold_confirm_stmt, p, on_confirmed, r) != 0)
        oc_respond_unavailable(r, "the database");
}

static void respond_released(void *arg)
{
    oc_req_t *r = arg;
    hold_t *h = r->state;
    if (h->answer != NULL) {
        oc_respond_json(r, 200, json_incref(h->answer));
        return;
    }
    /* Already ended or unknown: say which. */
    const char *p[] = {r->tenant, oc_req_param(r, "hid")};
    r->status = 0;
    if (oc_db_exec(r->thread->db, r->tenant, &hold_get, p, on_hold_row, r) != 0)
        oc_respond_unavailable(r, "the database");
}

static void on_released(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    hold_t *h = r->state;
    h->answer = oc_db_json(res->results[0], 0, 0);
    /* answer once Redis has ended the hold, so no later read still finds it active */
    oc_holds_release_redis(r->thread, r->tenant, oc_req_param(r, "hid"), respond_released, r);
}

void oc_api_hold_release(oc_req_t *r)
{
    if (oc_req_id_param(r, "hid", "no such hold") == NULL || oc_req_validate(r, oc_no_fields) != 0)
        return;
    state(r);
    const char *p[] = {r->tenant,
                       oc_req_param(r, "hid"),
                       "released",
                       NULL,
                       NULL,
                       r->auth.user_id[0] ? r->auth.user_id : NULL,
                       r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL,
                       r->request_id};
    if (oc_db_exec(r->thread->db, r->tenant, &hold_end_stmt, p, on_released, r) != 0)
        oc_respond_unavailable(r, "the database");
}
