/*
 * hold_ops.c — holds as the API asks for them: create, confirm, release and
 * read (see holds.h).
 *
 * Create reserves in Redis, then commits the hold in PostgreSQL (group
 * commit, holds.c) and answers only once it is a row there: every read,
 * confirmation and release goes to PostgreSQL.  When Redis is down the hold
 * is made in PostgreSQL directly.  An Idempotency-Key names the hold (its id
 * derives from the key), so a retried create finds the hold it already made.
 */
#include "tenants/catalog.h"
#include "tenants/holds.h"
#include "runtime/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

/* One hold operation in progress: what its steps share until cb. */
typedef struct {
    oc_thread_t *th;
    const oc_actor_t *a;
    oc_ledger_cb cb;
    void *arg;
    const oc_hold_request_t *req;
    char id[37];
    uint64_t created_ms, expires_ms;
    int nskus;
    long long sku[OC_HOLD_MAX_SKUS], qty[OC_HOLD_MAX_SKUS];
    int line_of[OC_HOLD_MAX_SKUS]; /* the requested line of each of sku[] */
    json_t *request;               /* the lines as asked: [{"sku", "qty"}] */
    json_t *hold;                  /* the public JSON of a new hold, answered once it is committed */
    json_t *answer;                /* confirm, release: what PostgreSQL answered */
} op_t;

static op_t *op_new(oc_thread_t *th, const oc_actor_t *a, oc_ledger_cb cb, void *arg)
{
    op_t *op = oc_calloc(1, sizeof(*op));
    *op = (op_t){.th = th, .a = a, .cb = cb, .arg = arg};
    return op;
}

static void op_free(op_t *op)
{
    json_decref(op->request);
    json_decref(op->hold);
    json_decref(op->answer);
    free(op);
}

static void op_done(op_t *op, json_t *body, int replayed)
{
    oc_ledger_outcome_t out = {.body = body, .replayed = replayed};
    op->cb(op->arg, &out);
    op_free(op);
}

/* Ends the operation with `f` (cleared). */
static void op_fail(op_t *op, oc_fail_t *f)
{
    oc_ledger_outcome_t out = {.fail = f};
    op->cb(op->arg, &out);
    oc_fail_clear(f);
    op_free(op);
}

static void op_fail_db(op_t *op, const oc_db_result_t *res)
{
    oc_fail_t f = {0};
    oc_fail_db(&f, res);
    op_fail(op, &f);
}

static void op_unavailable(op_t *op, const char *what)
{
    oc_fail_t f = {0};
    oc_fail_unavailable(&f, what);
    op_fail(op, &f);
}

/* An answer of the SQL functions ({"status", "body", "replayed"}) ends the operation. */
static void on_answer(void *arg, const oc_ledger_outcome_t *out)
{
    op_t *op = arg;
    op->cb(op->arg, out);
    op_free(op);
}

/* --- reading one hold --------------------------------------------------------------- */

OC_DB_STMT(hold_get, 2, "SELECT hold_json(h) FROM holds h WHERE h.tenant_id = $1 AND h.id = $2::uuid");

static void on_hold_row(void *arg, const oc_db_result_t *res)
{
    op_t *op = arg;
    oc_fail_t f = {0};
    if (res->err != NULL) {
        op_fail_db(op, res);
        return;
    }
    json_t *v = oc_db_json(res->results[0], 0, 0);
    if (v == NULL) {
        oc_fail(&f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such hold");
        op_fail(op, &f);
        return;
    }
    op_done(op, v, 0);
    json_decref(v);
}

static void get(op_t *op, const char *tenant, const char *id)
{
    const char *p[] = {tenant, id};
    if (oc_db_exec(op->th->db, tenant, &hold_get, p, on_hold_row, op) != 0)
        op_unavailable(op, "the database");
}

void oc_hold_get(oc_thread_t *th, const char *tenant, const char *id, oc_ledger_cb cb, void *arg)
{
    get(op_new(th, NULL, cb, arg), tenant, id);
}

/* --- create ------------------------------------------------------------------------ */

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
    oc_uuid_format(md, out); /* a version-4 UUID from the first 16 bytes */
}

static void create_in_pg(op_t *op);

OC_DB_STMT(hold_create_pg_stmt, 9, "SELECT hold_create_pg($1, $2::uuid, $3::jsonb, $4, $5, $6, $7, $8, $9)");

static void on_pg_created(void *arg, const oc_db_result_t *res)
{
    op_t *op = arg;
    if (res->err != NULL) {
        if (strcmp(res->sqlstate, "23505") == 0) {
            /* A request with the same key made it meanwhile: answer what that one made. */
            create_in_pg(op);
            return;
        }
        op_fail_db(op, res);
        return;
    }
    json_t *o = oc_db_json(res->results[0], 0, 0);
    oc_ledger_answer(o, on_answer, op);
    json_decref(o);
}

static void create_in_pg(op_t *op)
{
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", op->req->ttl_seconds);
    char *req = json_dumps(op->request, JSON_COMPACT);
    const char *p[] = {op->a->tenant,     op->id,       req, ttl, op->req->reference, op->a->user, op->a->token,
                       op->a->request_id, op->req->hash};
    int rc = req != NULL ? oc_db_exec(op->th->db, op->a->tenant, &hold_create_pg_stmt, p, on_pg_created, op) : OC_EIO;
    free(req);
    if (rc != 0)
        op_unavailable(op, "the database");
}

static void fail_short(op_t *op, long long sku_id, long long available)
{
    const char *code = "a SKU";
    for (int j = 0; j < op->nskus; j++)
        if (op->sku[j] == sku_id)
            code = op->req->lines[op->line_of[j]].sku;
    oc_fail_t f = {0};
    oc_fail(&f, OC_FAIL_CONFLICT, "insufficient_stock", "lines", "%s has %lld available for holds", code,
            available > 0 ? available : 0);
    op_fail(op, &f);
}

static void on_hold_committed(void *arg, const oc_hold_commit_outcome_t *out)
{
    op_t *op = arg;
    oc_fail_t f = {0};
    switch (out->result) {
    case OC_HOLD_HELD: op_done(op, op->hold, 0); return;
    case OC_HOLD_EXISTS: {
        if (out->hash != NULL && strcmp(out->hash, op->req->hash) != 0) { /* (holds older than 0017 have none) */
            oc_fail(&f, OC_FAIL_INVALID, "idempotency_mismatch", NULL,
                    "this Idempotency-Key was used with a different request");
            op_fail(op, &f);
            return;
        }
        json_t *stored = json_loads(out->hold_json, 0, NULL);
        if (stored == NULL) {
            oc_fail(&f, OC_FAIL_INTERNAL, "internal", NULL, "the stored hold could not be read");
            op_fail(op, &f);
            return;
        }
        op_done(op, stored, 1);
        json_decref(stored);
        return;
    }
    case OC_HOLD_SHORT: fail_short(op, out->short_sku_id, out->available); return;
    case OC_HOLD_FAILED: op_unavailable(op, "the database"); return;
    }
}

static void on_reserved(void *arg, const oc_reserve_outcome_t *out)
{
    op_t *op = arg;
    switch (out->result) {
    case OC_RESERVE_OK:
    case OC_RESERVE_DUPLICATE: {
        /* A duplicate is the same key's hold: committed already (the commit says so and what it was), or
         * reserved by a request that never committed it (serve died): this request adopts the reservation. */
        char *request = json_dumps(op->request, JSON_COMPACT);
        json_t *ref = json_object_get(op->hold, "reference");
        char *reference = json_is_string(ref) ? json_dumps(ref, JSON_ENCODE_ANY) : NULL;
        oc_hold_record_t rec = {.id = op->id,
                                .n = op->nskus,
                                .sku = op->sku,
                                .qty = op->qty,
                                .request_json = request,
                                .reference_json = reference,
                                .hash = op->req->hash,
                                .created_ms = op->created_ms,
                                .expires_ms = op->expires_ms};
        int rc = request != NULL ? oc_holds_commit(op->th, op->a->tenant, &rec, on_hold_committed, op) : OC_EBUSY;
        free(request);
        free(reference);
        if (rc != 0) {
            oc_holds_release_redis(op->th, op->a->tenant, op->id, NULL, NULL);
            op_unavailable(op, "the hold queue");
        }
        return;
    }
    case OC_RESERVE_INSUFFICIENT: fail_short(op, out->short_sku_id, out->available); return;
    case OC_RESERVE_UNAVAILABLE:
    case OC_RESERVE_ERROR:
        create_in_pg(op); /* Redis is an accelerator: PostgreSQL decides alone */
        return;
    }
}

/* The hold as the API shows it, before PostgreSQL has it (hold_json() there: the same members in the same order). */
static json_t *public_json(const op_t *op)
{
    char created[32], expires[32];
    oc_time_format(created, op->created_ms, OC_TIME_MS);
    oc_time_format(expires, op->expires_ms, OC_TIME_MS);
    json_t *comps = json_array();
    for (int i = 0; i < op->nskus; i++)
        json_array_append_new(comps,
                              json_pack("{s:I, s:I}", "sku_id", (json_int_t)op->sku[i], "qty", (json_int_t)op->qty[i]));
    return json_pack("{s:s, s:s, s:O, s:o, s:o, s:s, s:s, s:n}", "id", op->id, "state", "active", "lines", op->request,
                     "components", comps, "reference",
                     op->req->reference != NULL ? json_string(op->req->reference) : json_null(), "created_at", created,
                     "expires_at", expires, "ended_at");
}

static void on_refs(void *arg, const oc_db_result_t *err, const oc_sku_ref_t *const *refs)
{
    op_t *op = arg;
    const oc_hold_request_t *req = op->req;
    oc_fail_t f = {0};
    if (err != NULL) {
        op_fail_db(op, err);
        return;
    }
    long long qty[OC_HOLD_MAX_LINES];
    for (int i = 0; i < req->nlines; i++) {
        if (refs[i] == NULL) {
            char field[32];
            snprintf(field, sizeof(field), "lines[%d].sku", i);
            oc_fail(&f, OC_FAIL_INVALID, "unknown_sku", field, "no SKU %s in this brand", req->lines[i].sku);
            op_fail(op, &f); /* (`field` outlives the callback, which is all it must) */
            return;
        }
        if (refs[i]->is_bundle && refs[i]->ncomp == 0) {
            oc_fail(&f, OC_FAIL_INVALID, "empty_bundle", "lines", "this bundle has no components");
            op_fail(op, &f);
            return;
        }
        qty[i] = req->lines[i].qty;
    }
    op->nskus = oc_catalog_expand(refs, qty, req->nlines, op->sku, op->qty, OC_HOLD_MAX_SKUS);
    if (op->nskus < 0) {
        oc_fail(&f, OC_FAIL_INVALID, "invalid", "lines", "a hold covers at most %d distinct SKUs", OC_HOLD_MAX_SKUS);
        op_fail(op, &f);
        return;
    }
    oc_catalog_lines_of(refs, req->nlines, op->sku, op->nskus, op->line_of);
    op->hold = public_json(op);
    if (op->hold == NULL) {
        oc_fail(&f, OC_FAIL_INTERNAL, "internal", NULL, "the hold could not be encoded");
        op_fail(op, &f);
        return;
    }
    oc_holds_reserve(op->th, op->a->tenant, op->id, op->sku, op->qty, op->nskus, op->expires_ms, on_reserved, op);
}

void oc_hold_create(oc_thread_t *th, const oc_hold_request_t *req, const oc_actor_t *a, oc_ledger_cb cb, void *arg)
{
    op_t *op = op_new(th, a, cb, arg);
    op->req = req;
    op->request = json_array();
    for (int i = 0; i < req->nlines; i++)
        json_array_append_new(op->request,
                              json_pack("{s:s, s:I}", "sku", req->lines[i].sku, "qty", (json_int_t)req->lines[i].qty));
    if (req->nlines < 1 || req->nlines > OC_HOLD_MAX_LINES) {
        oc_fail_t f = {0};
        oc_fail(&f, OC_FAIL_INVALID, "invalid", "lines", "a hold has 1 to %d lines", OC_HOLD_MAX_LINES);
        op_fail(op, &f);
        return;
    }
    op->created_ms = oc_now_ms();
    op->expires_ms = op->created_ms + (uint64_t)req->ttl_seconds * 1000;
    if (req->key != NULL)
        id_from_key(a->tenant, req->key, op->id);
    else
        oc_uuid_v4(op->id);
    if (!oc_redis_ready(th->redis)) {
        create_in_pg(op);
        return;
    }
    const char *codes[OC_HOLD_MAX_LINES];
    for (int k = 0; k < req->nlines; k++)
        codes[k] = req->lines[k].sku;
    if (oc_catalog_resolve(th, a->tenant, codes, req->nlines, on_refs, op) != 0)
        op_unavailable(op, "the database");
}

/* --- confirm and release ---------------------------------------------------------------- */

OC_DB_STMT(hold_confirm_stmt, 7, "SELECT hold_confirm($1, $2::uuid, $3, $4, $5::uuid, $6::uuid, $7)");
OC_DB_STMT(hold_end_stmt, 8, "SELECT hold_end($1, $2::uuid, $3, $4::jsonb, $5::jsonb, $6::uuid, $7::uuid, $8)");

static void confirm_answer(void *arg)
{
    op_t *op = arg;
    oc_ledger_answer(op->answer, on_answer, op);
}

static void on_confirmed(void *arg, const oc_db_result_t *res)
{
    op_t *op = arg;
    if (res->err != NULL) {
        if (strcmp(res->sqlstate, "OC409") == 0) {
            oc_fail_t f = {0};
            oc_fail(&f, OC_FAIL_CONFLICT, "insufficient_stock", "lines", "%s",
                    res->detail ? res->detail : "stock no longer available");
            op_fail(op, &f);
            return;
        }
        op_fail_db(op, res);
        return;
    }
    op->answer = oc_db_json(res->results[0], 0, 0);
    if (json_integer_value(json_object_get(op->answer, "status")) == 201) {
        /* answer once Redis has ended the hold (sent after the new bases on the same connection, so it
         * answers after them), so no later read still finds it active nor checks against the old bases */
        oc_holds_publish_balances(op->th->redis, op->a->tenant, json_object_get(op->answer, "body"), NULL, NULL);
        oc_holds_release_redis(op->th, op->a->tenant, op->id, confirm_answer, op);
        return;
    }
    confirm_answer(op);
}

void oc_hold_confirm(oc_thread_t *th, const char *id, const char *key, const char *hash, const oc_actor_t *a,
                     oc_ledger_cb cb, void *arg)
{
    op_t *op = op_new(th, a, cb, arg);
    oc_strlcpy(op->id, id, strlen(id), sizeof(op->id));
    const char *p[] = {a->tenant, id, key, key != NULL ? hash : NULL, a->user, a->token, a->request_id};
    if (oc_db_exec(th->db, a->tenant, &hold_confirm_stmt, p, on_confirmed, op) != 0)
        op_unavailable(op, "the database");
}

static void released(void *arg)
{
    op_t *op = arg;
    if (op->answer != NULL) {
        op_done(op, op->answer, 0);
        return;
    }
    get(op, op->a->tenant, op->id); /* already ended or unknown: say which */
}

static void on_released(void *arg, const oc_db_result_t *res)
{
    op_t *op = arg;
    if (res->err != NULL) {
        op_fail_db(op, res);
        return;
    }
    op->answer = oc_db_json(res->results[0], 0, 0);
    /* answer once Redis has ended the hold, so no later read still finds it active */
    oc_holds_release_redis(op->th, op->a->tenant, op->id, released, op);
}

void oc_hold_release(oc_thread_t *th, const char *id, const oc_actor_t *a, oc_ledger_cb cb, void *arg)
{
    op_t *op = op_new(th, a, cb, arg);
    oc_strlcpy(op->id, id, strlen(id), sizeof(op->id));
    const char *p[] = {a->tenant, id, "released", NULL, NULL, a->user, a->token, a->request_id};
    if (oc_db_exec(th->db, a->tenant, &hold_end_stmt, p, on_released, op) != 0)
        op_unavailable(op, "the database");
}

/* --- reading a page -------------------------------------------------------------------- */

OC_DB_STMT(holds_list, 5,
           "SELECT hold_json(h) FROM holds h WHERE h.tenant_id = $1"
           " AND ($2::text = 'all' OR (h.state = 'active' AND h.expires_at > now() AND $2 = 'active')"
           "      OR (h.state = $2 AND $2 <> 'active'))"
           " AND ($3::text IS NULL OR (h.created_at, h.id::text) < ($3::timestamptz, $4))"
           " ORDER BY h.created_at DESC, h.id DESC LIMIT $5");

void oc_holds_list(oc_thread_t *th, const char *tenant, const char *state, const oc_page_keys_t *pg, oc_query_cb cb,
                   void *arg)
{
    const char *p[] = {tenant, state, pg->after[0], pg->after[1], pg->limit_plus_one};
    oc_query_exec(th, tenant, &holds_list, p, oc_query_rows, "hold", cb, arg);
}
