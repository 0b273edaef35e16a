/*
 * api_catalog.c — SKUs and bundles: create, read with balances, update,
 * list; a SKU's history and its balance at a point in time.
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/audit.h"
#include "tenants/catalog.h"

#include <stdio.h>
#include <stdlib.h>

/* A SKU as the API shows it: balances for simple SKUs, computed
 * availability and components for bundles. */
#define SKU_JSON(k)                                                                                                    \
    "json_build_object('code', " k ".code, 'title', " k ".title, 'barcode', " k ".barcode, 'kind', " k ".kind,"        \
    " 'archived', " k ".archived_at IS NOT NULL, 'created_at', " k ".created_at,"                                      \
    " 'on_hand', CASE WHEN " k ".kind = 'simple' THEN st.on_hand END,"                                                 \
    " 'committed', CASE WHEN " k ".kind = 'simple' THEN st.committed END,"                                             \
    " 'held', CASE WHEN " k ".kind = 'simple' THEN st.held END,"                                                       \
    " 'inspecting', CASE WHEN " k ".kind = 'simple' THEN st.inspecting END,"                                           \
    " 'available', CASE WHEN " k ".kind = 'simple' THEN st.on_hand - st.committed - st.held"                           \
    "   ELSE sku_available(" k ".tenant_id, " k ".id) END,"                                                            \
    " 'version', st.version,"                                                                                          \
    " 'components', CASE WHEN " k ".kind = 'bundle' THEN (SELECT json_agg(json_build_object('sku', c.code,"            \
    "   'qty', bc.qty, 'available', c_st.on_hand - c_st.committed - c_st.held) ORDER BY c.code)"                       \
    "   FROM bundle_components bc JOIN skus c ON c.tenant_id = bc.tenant_id AND c.id = bc.component_id"                \
    "   JOIN stock c_st ON c_st.tenant_id = c.tenant_id AND c_st.sku_id = c.id"                                        \
    "   WHERE bc.tenant_id = " k ".tenant_id AND bc.bundle_id = " k ".id) END)"

typedef struct {
    oc_page_t page;
    const char *not_found;
    int status;
    int check_step; /* bundles: which step answers the component check */
} st_t;

static st_t *state(oc_req_t *r)
{
    st_t *st = oc_req_alloc(r, sizeof(*st));
    memset(st, 0, sizeof(*st));
    r->state = st;
    return st;
}

static void on_one(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    st_t *st = r->state;
    if (res->err != NULL) {
        if (res->code == OC_ECONFLICT && strcmp(res->sqlstate, "23505") == 0) {
            oc_respond_error(r, 409, "conflict", "a SKU with this code already exists in the brand", "code");
            return;
        }
        oc_respond_db_error(r, res);
        return;
    }
    json_t *v = oc_db_json(res->results[res->nresults - 1], 0, 0);
    if (v == NULL) {
        oc_respond_error(r, 404, "not_found", st->not_found ? st->not_found : "no such SKU", NULL);
        return;
    }
    oc_respond_json(r, st->status ? st->status : 200, v);
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

OC_DB_STMT(
    skus_list, 6,
    "SELECT " SKU_JSON(
        "k") " FROM skus k JOIN stock st ON st.tenant_id = k.tenant_id AND st.sku_id = k.id"
             " WHERE k.tenant_id = $1 AND ($2::bool OR k.archived_at IS NULL)"
             "   AND ($3::text IS NULL OR k.code ILIKE $3 || '%' OR k.title ILIKE '%' || $3 || '%' OR k.barcode = $3)"
             "   AND ($4::text IS NULL OR k.kind = $4) AND ($5::text IS NULL OR k.code > $5)"
             " ORDER BY k.code LIMIT $6");

static json_t *code_key(json_t *item)
{
    return json_pack("[s]", json_string_value(json_object_get(item, "code")));
}

static void on_list(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    st_t *st = r->state;
    oc_respond_page(r, &st->page, res, code_key);
}

void oc_api_skus_list(oc_req_t *r)
{
    st_t *st = state(r);
    if (oc_page_parse(r, &st->page, 1) != 0)
        return;
    const char *kind = oc_req_query(r, "kind"), *arch = oc_req_query(r, "include_archived");
    if (kind != NULL && strcmp(kind, "simple") != 0 && strcmp(kind, "bundle") != 0) {
        oc_respond_error(r, 422, "invalid", "kind must be simple or bundle", "kind");
        return;
    }
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &skus_list;
    const char *p[] = {r->tenant,
                       arch != NULL && strcmp(arch, "true") == 0 ? "true" : "false",
                       oc_req_query(r, "q"),
                       kind,
                       oc_page_after(&st->page, 0),
                       st->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_list, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- create, read, update ------------------------------------------------------------------- */

OC_DB_STMT(sku_insert, 4,
           "WITH k AS (INSERT INTO skus (tenant_id, code, title, barcode) VALUES ($1, $2, coalesce($3, ''), $4)"
           "           RETURNING tenant_id, id)"
           " INSERT INTO stock (tenant_id, sku_id) SELECT tenant_id, id FROM k");
/* One SKU also shows, per listing, what the channel may show and why. */
OC_DB_STMT(
    sku_get, 2,
    "SELECT (" SKU_JSON(
        "k") ")::jsonb || jsonb_build_object('listings', coalesce((SELECT jsonb_agg("
             "   jsonb_build_object('id', l.id, 'connection_id', l.connection_id, 'connection', c.name, 'kind', c.kind,"
             "   'external_sku', l.external_sku, 'state', l.state, 'published_qty', l.desired_qty,"
             "   'bound_by', l.desired_reason->'bound_by', 'why', l.desired_reason->'steps',"
             "   'pushed_qty', l.pushed_qty, 'pushed_at', l.pushed_at, 'seen_qty', l.seen_qty, 'seen_at', l.seen_at,"
             "   'in_sync', l.desired_version <= l.pushed_version) ORDER BY c.name)"
             "   FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id"
             "   WHERE l.tenant_id = k.tenant_id AND l.sku_id = k.id), '[]'))"
             " FROM skus k JOIN stock st ON st.tenant_id = k.tenant_id AND st.sku_id = k.id"
             " WHERE k.tenant_id = $1 AND k.code = $2");
OC_DB_STMT(sku_get_idem, 2,
           "SELECT idem_result(201, " SKU_JSON("k") "::jsonb) FROM skus k"
                                                    " JOIN stock st ON st.tenant_id = k.tenant_id AND st.sku_id = k.id "
                                                    "WHERE k.tenant_id = $1 AND k.code = $2");
OC_DB_STMT(idem_begin_stmt, 3, "SELECT idem_begin($1, $2, $3)");

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
    if (r->idem_key == NULL)
        return 0;
    /* the key's form was checked with the request (server/http.c) */
    int i = tx->nsteps++;
    tx->steps[i].stmt = &idem_begin_stmt;
    tx->steps[i].params[0] = r->tenant;
    tx->steps[i].params[1] = r->idem_key;
    tx->steps[i].params[2] = hash;
    return 0;
}

void oc_api_sku_create(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"code", OC_F_STRING, 1, 1, 64},
        {"title", OC_F_STRING, 0, 0, 300},
        {"barcode", OC_F_STRING, OC_NULLABLE, 0, 64}, /* null: no barcode */
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *code = oc_json_str(r->body, "code");
    if (!valid_code(r, code, "code"))
        return;
    st_t *st = state(r);
    st->status = 201;
    oc_db_tx_t tx = {.tenant = r->tenant};
    if (oc_api_idem_step(r, &tx) != 0)
        return;
    int i = tx.nsteps++;
    tx.steps[i].stmt = &sku_insert;
    tx.steps[i].params[0] = r->tenant;
    tx.steps[i].params[1] = code;
    tx.steps[i].params[2] = oc_json_str(r->body, "title");
    tx.steps[i].params[3] = oc_json_str(r->body, "barcode");
    oc_audit_brand(&tx, oc_req_actor(r), "sku.create", "sku", code, r->body);
    i = tx.nsteps++;
    tx.steps[i].stmt = &sku_get_idem;
    tx.steps[i].params[0] = r->tenant;
    tx.steps[i].params[1] = code;
    oc_catalog_invalidate();
    if (oc_db_run(r->thread->db, &tx, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_sku_get(oc_req_t *r)
{
    state(r);
    const char *p[] = {r->tenant, oc_req_param(r, "code")};
    if (oc_db_exec(r->thread->db, r->tenant, &sku_get, p, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

OC_DB_STMT(
    sku_update, 8,
    "WITH k AS (UPDATE skus k SET title = coalesce($3, k.title),"
    "   barcode = CASE WHEN $5::bool THEN $4 ELSE k.barcode END,"
    "   archived_at = CASE WHEN $6::bool IS NULL THEN k.archived_at WHEN $6::bool"
    "     THEN coalesce(k.archived_at, now()) ELSE NULL END, updated_at = now()"
    "   FROM skus o WHERE o.tenant_id = k.tenant_id AND o.id = k.id AND k.tenant_id = $1 AND k.code = $2"
    "   RETURNING k.*, o.title AS old_title, o.barcode AS old_barcode, o.archived_at IS NOT NULL AS old_archived)"
    " SELECT " SKU_JSON(
        "k") ", audit_write($1, NULL, $7::uuid, $8::uuid, 'sku.update', 'sku', k.code,"
             "   jsonb_build_object('before', jsonb_build_object('title', k.old_title, 'barcode', k.old_barcode,"
             "   'archived', k.old_archived), 'after', jsonb_build_object('title', k.title, 'barcode', k.barcode,"
             "   'archived', k.archived_at IS NOT NULL)), current_setting('app.request_id', true))"
             " FROM k JOIN stock st ON st.tenant_id = k.tenant_id AND st.sku_id = k.id");
OC_DB_STMT(set_request_id, 1, "SELECT set_config('app.request_id', $1, true)");

void oc_api_sku_update(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"title", OC_F_STRING, 0, 0, 300},
        {"barcode", OC_F_STRING, OC_NULLABLE, 0, 64}, /* null: no barcode */
        {"archived", OC_F_BOOL, 0},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    state(r);
    json_t *arch = json_object_get(r->body, "archived");
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 2};
    tx.steps[0].stmt = &set_request_id;
    tx.steps[0].params[0] = r->request_id;
    tx.steps[1].stmt = &sku_update;
    const char *p[] = {r->tenant,
                       oc_req_param(r, "code"),
                       oc_json_str(r->body, "title"),
                       oc_json_str(r->body, "barcode"),
                       json_object_get(r->body, "barcode") != NULL ? "true" : "false",
                       json_is_boolean(arch) ? (json_is_true(arch) ? "true" : "false") : NULL,
                       r->auth.user_id[0] ? r->auth.user_id : NULL,
                       r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL};
    memcpy(tx.steps[1].params, p, sizeof(p));
    oc_catalog_invalidate();
    if (oc_db_run(r->thread->db, &tx, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- bundles ----------------------------------------------------------------------------- */

/* Checks the components (known, simple, not the bundle itself), then creates
 * or replaces.  Answers the first bad component, or NULL. */
#define BUNDLE_CHECK                                                                                                   \
    "WITH comp AS (SELECT c->>'sku' AS code, (c->>'qty')::int AS qty, ord - 1 AS i"                                    \
    "              FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(c, ord)),"                                \
    " res AS (SELECT comp.*, s.id, s.kind FROM comp LEFT JOIN skus s ON s.tenant_id = $1 AND s.code = comp.code),"     \
    " bad AS (SELECT json_build_object('i', i, 'code', code, 'why', CASE WHEN id IS NULL THEN 'unknown'"               \
    "          WHEN code = $2 THEN 'self' WHEN kind <> 'simple' THEN 'nested' END) AS b FROM res"                      \
    "          WHERE id IS NULL OR kind <> 'simple' OR code = $2 ORDER BY i LIMIT 1)"

OC_DB_STMT(bundle_create, 4,
           BUNDLE_CHECK
           ","
           " k AS (INSERT INTO skus (tenant_id, code, title, kind) SELECT $1, $2, coalesce($4, ''), 'bundle'"
           "       WHERE NOT EXISTS (SELECT 1 FROM bad) RETURNING tenant_id, id),"
           " s AS (INSERT INTO stock (tenant_id, sku_id) SELECT tenant_id, id FROM k),"
           " bc AS (INSERT INTO bundle_components (tenant_id, bundle_id, component_id, qty)"
           "        SELECT $1, k.id, res.id, res.qty FROM k, res)"
           " SELECT (SELECT b FROM bad)");
/* Replacing components: the check, then the delete and the insert as two
 * statements (one statement may not delete and re-insert the same rows). */
OC_DB_STMT(bundle_replace_check, 4,
           BUNDLE_CHECK
           ","
           " k AS (SELECT id FROM skus WHERE tenant_id = $1 AND code = $2 AND kind = 'bundle')"
           " SELECT coalesce(CASE WHEN NOT EXISTS (SELECT 1 FROM k) THEN json_build_object('why', 'not_a_bundle') END,"
           "   (SELECT b FROM bad)), $4::text");
OC_DB_STMT(bundle_replace_delete, 3,
           BUNDLE_CHECK
           " DELETE FROM bundle_components bc USING skus k"
           " WHERE NOT EXISTS (SELECT 1 FROM bad) AND k.tenant_id = $1 AND k.code = $2 AND k.kind = 'bundle'"
           "   AND bc.tenant_id = $1 AND bc.bundle_id = k.id");
OC_DB_STMT(bundle_replace_insert, 3,
           BUNDLE_CHECK
           " INSERT INTO bundle_components (tenant_id, bundle_id, component_id, qty)"
           " SELECT $1, k.id, res.id, res.qty FROM skus k, res"
           " WHERE NOT EXISTS (SELECT 1 FROM bad) AND k.tenant_id = $1 AND k.code = $2 AND k.kind = 'bundle'");

/* The bundle's listings publish a different number now. */
OC_DB_STMT(bundle_listings_refresh, 2,
           "SELECT listings_refresh($1, ARRAY(SELECT id FROM skus WHERE tenant_id = $1 AND code = $2))");

static void on_bundle(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        if (res->code == OC_ECONFLICT && strcmp(res->sqlstate, "23505") == 0) {
            oc_respond_error(r, 409, "conflict", "a SKU with this code already exists in the brand", "code");
            return;
        }
        oc_respond_db_error(r, res);
        return;
    }
    /* The check is the first step, after the idempotency step when there is one. */
    st_t *st = r->state;
    int check = st->check_step;
    json_t *bad = oc_db_json(res->results[check], 0, 0);
    if (json_is_object(bad)) {
        const char *why = json_string_value(json_object_get(bad, "why"));
        char msg[200], field[40];
        snprintf(field, sizeof(field), "components[%d].sku", (int)json_integer_value(json_object_get(bad, "i")));
        const char *code = json_string_value(json_object_get(bad, "code"));
        if (strcmp(why, "not_a_bundle") == 0) {
            json_decref(bad);
            oc_respond_error(r, 404, "not_found", "no such bundle", NULL);
            return;
        }
        if (strcmp(why, "unknown") == 0)
            snprintf(msg, sizeof(msg), "no SKU %s in this brand", code);
        else if (strcmp(why, "self") == 0)
            snprintf(msg, sizeof(msg), "a bundle cannot contain itself");
        else
            snprintf(msg, sizeof(msg), "%s is itself a bundle; nested bundles are not supported: list its components",
                     code);
        json_decref(bad);
        oc_respond_error(r, 422, "invalid_component", msg, field);
        return;
    }
    json_decref(bad);
    on_one(arg, res);
}

static const oc_field_t component_fields[] = {
    {"sku", OC_F_STRING, OC_REQUIRED, 1, 64}, {"qty", OC_F_INT, OC_REQUIRED, 1, 10000}, {NULL}};

/* Each component once (the field table checked their form). */
static int bundle_components_ok(oc_req_t *r, json_t *comps)
{
    size_t i;
    json_t *c;
    json_array_foreach(comps, i, c)
    {
        char field[48];
        for (size_t j = 0; j < i; j++) {
            if (strcmp(oc_json_str(json_array_get(comps, j), "sku"), oc_json_str(c, "sku")) == 0) {
                snprintf(field, sizeof(field), "components[%zu].sku", i);
                oc_respond_error(r, 422, "invalid", "each component appears once", field);
                return 0;
            }
        }
    }
    return 1;
}

void oc_api_bundle_create(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"code", OC_F_STRING, 1, 1, 64},
        {"title", OC_F_STRING, 0, 0, 300},
        {"components", OC_F_ARRAY, OC_REQUIRED, 1, 50, .fields = component_fields},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0 || !valid_code(r, oc_json_str(r->body, "code"), "code") ||
        !bundle_components_ok(r, json_object_get(r->body, "components")))
        return;
    st_t *st = state(r);
    st->status = 201;
    oc_db_tx_t tx = {.tenant = r->tenant};
    if (oc_api_idem_step(r, &tx) != 0)
        return;
    char *comps = json_dumps(json_object_get(r->body, "components"), JSON_COMPACT);
    const char *code = oc_json_str(r->body, "code");
    int i = tx.nsteps++;
    st->check_step = i;
    tx.steps[i].stmt = &bundle_create;
    const char *p[] = {r->tenant, code, comps, oc_json_str(r->body, "title")};
    memcpy(tx.steps[i].params, p, sizeof(p));
    oc_audit_brand(&tx, oc_req_actor(r), "bundle.create", "sku", code, r->body);
    i = tx.nsteps++;
    tx.steps[i].stmt = &sku_get_idem;
    tx.steps[i].params[0] = r->tenant;
    tx.steps[i].params[1] = code;
    oc_catalog_invalidate();
    int rc = oc_db_run(r->thread->db, &tx, on_bundle, r);
    free(comps);
    if (rc != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_bundle_replace(oc_req_t *r)
{
    static const oc_field_t fields[] = {{"components", OC_F_ARRAY, OC_REQUIRED, 1, 50, .fields = component_fields},
                                        {NULL}};
    if (oc_req_validate(r, fields) != 0 || !bundle_components_ok(r, json_object_get(r->body, "components")))
        return;
    st_t *st = state(r);
    st->not_found = "no such bundle";
    const char *code = oc_req_param(r, "code");
    char *comps = json_dumps(json_object_get(r->body, "components"), JSON_COMPACT);
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 3};
    const char *p[] = {r->tenant, code, comps, NULL};
    tx.steps[0].stmt = &bundle_replace_check;
    memcpy(tx.steps[0].params, p, sizeof(p));
    tx.steps[1].stmt = &bundle_replace_delete;
    memcpy(tx.steps[1].params, p, sizeof(char *) * 3);
    tx.steps[2].stmt = &bundle_replace_insert;
    memcpy(tx.steps[2].params, p, sizeof(char *) * 3);
    tx.steps[3].stmt = &bundle_listings_refresh;
    memcpy(tx.steps[3].params, p, sizeof(char *) * 2);
    tx.nsteps = 4;
    oc_audit_brand(&tx, oc_req_actor(r), "bundle.update", "sku", code, r->body);
    int i = tx.nsteps++;
    tx.steps[i].stmt = &sku_get;
    tx.steps[i].params[0] = r->tenant;
    tx.steps[i].params[1] = code;
    oc_catalog_invalidate();
    int rc = oc_db_run(r->thread->db, &tx, on_bundle, r);
    free(comps);
    if (rc != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- history and point-in-time balance ------------------------------------------------------- */

OC_DB_STMT(
    sku_history, 9,
    "SELECT json_build_object('id', m.id::text, 'at', m.created_at, 'sku', k.code, 'kind', m.kind, 'qty', m.qty,"
    " 'on_hand_delta', m.on_hand_delta, 'committed_delta', m.committed_delta,"
    " 'inspecting_delta', m.inspecting_delta, 'on_hand_after', m.on_hand_after,"
    " 'committed_after', m.committed_after, 'disposition', m.disposition, 'reason', m.reason,"
    " 'reference', m.reference, 'channel_id', m.channel_id,"
    " 'bundle', (SELECT b.code FROM skus b WHERE b.tenant_id = m.tenant_id AND b.id = m.bundle_sku_id),"
    " 'guarded', m.guarded, 'actor_user', m.actor_user, 'actor_token', m.actor_token, 'request_id', m.request_id)"
    " FROM movements m JOIN skus k ON k.tenant_id = m.tenant_id AND k.id = m.sku_id"
    " WHERE m.tenant_id = $1 AND ($2::text IS NULL OR k.code = $2) AND ($3::text IS NULL OR m.kind = $3)"
    "   AND ($4::timestamptz IS NULL OR m.created_at >= $4) AND ($5::timestamptz IS NULL OR m.created_at < $5)"
    "   AND ($6::uuid IS NULL OR m.channel_id = $6)"
    "   AND ($7::text IS NULL OR (m.created_at, m.id) < ($7::timestamptz, $8::bigint))"
    " ORDER BY m.created_at DESC, m.id DESC LIMIT $9");
OC_DB_STMT(sku_exists, 2, "SELECT 1 FROM skus WHERE tenant_id = $1 AND code = $2");

static json_t *history_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "at")),
                     json_string_value(json_object_get(item, "id")));
}

static void on_history(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    st_t *st = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    if (res->nresults == 2 && PQntuples(res->results[0]) == 0) {
        oc_respond_error(r, 404, "not_found", "no such SKU", NULL);
        return;
    }
    oc_respond_json(r, 200,
                    oc_page_result(&st->page, oc_db_json_rows(res->results[res->nresults - 1], 0), history_key));
}

static void movements_query(oc_req_t *r, const char *code)
{
    st_t *st = state(r);
    if (oc_page_parse(r, &st->page, 2) != 0)
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
    if (code == NULL)
        code = oc_req_query(r, "sku");
    oc_db_tx_t tx = {.tenant = r->tenant};
    if (oc_req_param(r, "code") != NULL) {
        tx.steps[0].stmt = &sku_exists;
        tx.steps[0].params[0] = r->tenant;
        tx.steps[0].params[1] = code;
        tx.nsteps = 1;
    }
    int i = tx.nsteps++;
    tx.steps[i].stmt = &sku_history;
    const char *p[] = {r->tenant,
                       code,
                       kind,
                       from,
                       to,
                       channel,
                       oc_page_after(&st->page, 0),
                       oc_page_after(&st->page, 1),
                       st->page.limit_plus_one};
    memcpy(tx.steps[i].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_history, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_sku_history(oc_req_t *r)
{
    movements_query(r, oc_req_param(r, "code"));
}

void oc_api_movements_list(oc_req_t *r)
{
    movements_query(r, NULL);
}

/* Balance at a moment: the last movement at or before it, and the holds active then. */
OC_DB_STMT(sku_balance_at, 3,
           "SELECT json_build_object('sku', k.code, 'at', $3::timestamptz,"
           " 'on_hand', coalesce(m.on_hand_after, 0), 'committed', coalesce(m.committed_after, 0),"
           " 'held', h.held, 'available', coalesce(m.on_hand_after, 0) - coalesce(m.committed_after, 0) - h.held,"
           " 'last_movement', CASE WHEN m.id IS NULL THEN NULL ELSE json_build_object('id', m.id::text, 'at',"
           "   m.created_at, 'kind', m.kind, 'qty', m.qty, 'reference', m.reference) END)"
           " FROM skus k"
           " LEFT JOIN LATERAL (SELECT * FROM movements mm WHERE mm.tenant_id = k.tenant_id AND mm.sku_id = k.id"
           "   AND mm.created_at <= $3::timestamptz ORDER BY mm.created_at DESC, mm.id DESC LIMIT 1) m ON true"
           " CROSS JOIN LATERAL (SELECT coalesce(sum((l->>'qty')::bigint), 0) AS held FROM holds hh,"
           "   jsonb_array_elements(hh.lines) l WHERE hh.tenant_id = k.tenant_id AND (l->>'sku_id')::bigint = k.id"
           "   AND hh.state <> 'released' AND hh.created_at <= $3::timestamptz"
           "   AND coalesce(hh.ended_at, hh.expires_at) > $3::timestamptz) h"
           " WHERE k.tenant_id = $1 AND k.code = $2 AND k.kind = 'simple'");

void oc_api_sku_balance(oc_req_t *r)
{
    const char *at = oc_req_query(r, "at");
    if (at == NULL) {
        oc_respond_error(r, 422, "invalid", "at is required: an RFC 3339 time", "at");
        return;
    }
    if (!oc_query_time_ok(r, at, "at"))
        return;
    st_t *st = state(r);
    st->not_found = "no such simple SKU (a bundle's balance is its components')";
    const char *p[] = {r->tenant, oc_req_param(r, "code"), at};
    if (oc_db_exec(r->thread->db, r->tenant, &sku_balance_at, p, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- verification and oversells -------------------------------------------------------------- */

OC_DB_STMT(ledger_verify_stmt, 1, "SELECT ledger_verify($1)");

void oc_api_ledger_verify(oc_req_t *r)
{
    state(r);
    const char *p[] = {r->tenant};
    if (oc_db_exec(r->thread->db, r->tenant, &ledger_verify_stmt, p, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

#define OVERSELL_JSON                                                                                                  \
    "json_build_object('id', o.id::text, 'sku', k.code, 'qty_short', o.qty_short, 'state', o.state,"                   \
    " 'channel_id', o.channel_id, 'reference', o.reference, 'movement_id', o.movement_id::text,"                       \
    " 'resolution', o.resolution, 'note', o.note, 'created_at', o.created_at, 'resolved_at', o.resolved_at,"           \
    " 'resolved_by', o.resolved_by)"

OC_DB_STMT(oversells_list, 5,
           "SELECT " OVERSELL_JSON
           " FROM oversell_incidents o JOIN skus k ON k.tenant_id = o.tenant_id AND k.id = o.sku_id"
           " WHERE o.tenant_id = $1 AND ($2::text = 'all' OR o.state = $2)"
           "   AND ($3::text IS NULL OR (o.created_at, o.id) < ($3::timestamptz, $4::bigint))"
           " ORDER BY o.created_at DESC, o.id DESC LIMIT $5");

static json_t *oversell_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "created_at")),
                     json_string_value(json_object_get(item, "id")));
}

static void on_oversells(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    st_t *st = r->state;
    oc_respond_page(r, &st->page, res, oversell_key);
}

void oc_api_oversells_list(oc_req_t *r)
{
    st_t *st = state(r);
    if (oc_page_parse(r, &st->page, 2) != 0)
        return;
    const char *state_q = oc_req_query(r, "state");
    if (state_q == NULL)
        state_q = "open";
    if (strcmp(state_q, "open") != 0 && strcmp(state_q, "resolved") != 0 && strcmp(state_q, "all") != 0) {
        oc_respond_error(r, 422, "invalid", "state must be open, resolved or all", "state");
        return;
    }
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &oversells_list;
    const char *p[] = {r->tenant, state_q, oc_page_after(&st->page, 0), oc_page_after(&st->page, 1),
                       st->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_oversells, r) != 0)
        oc_respond_unavailable(r, "the database");
}

OC_DB_STMT(oversell_resolve, 6,
           "WITH o AS (UPDATE oversell_incidents o SET state = 'resolved', resolution = $3, note = $4,"
           "   resolved_at = now(), resolved_by = $5::uuid"
           "   WHERE o.tenant_id = $1 AND o.id = $2::bigint AND o.state = 'open' RETURNING o.*)"
           " SELECT " OVERSELL_JSON ", audit_write($1, NULL, $5::uuid, $6::uuid, 'oversell.resolve', 'oversell',"
           "   o.id::text, jsonb_build_object('resolution', $3::text, 'note', $4::text),"
           "   current_setting('app.request_id', true))"
           " FROM o JOIN skus k ON k.tenant_id = o.tenant_id AND k.id = o.sku_id");

void oc_api_oversell_resolve(oc_req_t *r)
{
    static const char *const res_kinds[] = {"cancelled_order", "restocked", "fulfilled_elsewhere", "written_off", NULL};
    static const oc_field_t fields[] = {
        {"resolution", OC_F_ENUM, 1, 0, 0, res_kinds}, {"note", OC_F_STRING, 0, 0, 1000}, {NULL}};
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *id = oc_req_param(r, "oid");
    char *end;
    long long v = strtoll(id, &end, 10);
    st_t *st = state(r);
    st->not_found = "no such open oversell incident";
    if (*id == '\0' || *end != '\0' || v <= 0) {
        oc_respond_error(r, 404, "not_found", st->not_found, NULL);
        return;
    }
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 2};
    tx.steps[0].stmt = &set_request_id;
    tx.steps[0].params[0] = r->request_id;
    tx.steps[1].stmt = &oversell_resolve;
    const char *p[] = {r->tenant,
                       id,
                       oc_json_str(r->body, "resolution"),
                       oc_json_str(r->body, "note"),
                       r->auth.user_id[0] ? r->auth.user_id : NULL,
                       r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL};
    memcpy(tx.steps[1].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}
