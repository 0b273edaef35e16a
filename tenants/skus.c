/*
 * skus.c — SKUs and bundles, their history and balances (see skus.h).
 */
#include "tenants/skus.h"
#include "tenants/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A SKU as the API shows it: balances for simple SKUs, computed
 * availability and components for bundles. */
#define SKU_JSON(k)                                                                                                    \
    "json_build_object('code', " k ".code, 'title', " k ".title, 'barcode', " k ".barcode, 'kind', " k ".kind,"        \
    " 'unit_cost', " k ".unit_cost,"                                                                                   \
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

/* --- list, read ------------------------------------------------------------------------------ */

/*
 * What the list selects and from where, in every order: the default
 * (skus_list, by code) and SKUS_SORTED's; one definition, so the orders
 * cannot show different columns.
 */
/* the list also shows what each channel shows now, and days of cover (sku_channels_json, 0033) */
#define SKUS_LIST_ROW SKU_JSON("k") "::jsonb || sku_channels_json(k.tenant_id, k.id)"
#define SKUS_LIST_FROM                                                                                                 \
    " FROM skus k JOIN stock st ON st.tenant_id = k.tenant_id AND st.sku_id = k.id"                                    \
    " WHERE k.tenant_id = $1 AND ($2::bool OR k.archived_at IS NULL)"                                                  \
    "   AND ($3::text IS NULL OR k.code ILIKE $3 || '%' OR k.title ILIKE '%' || $3 || '%' OR k.barcode = $3)"          \
    "   AND ($4::text IS NULL OR k.kind = $4)"
OC_DB_STMT(skus_list, 6,
           "SELECT " SKUS_LIST_ROW SKUS_LIST_FROM " AND ($5::text IS NULL OR k.code > $5) ORDER BY k.code LIMIT $6");

/*
 * The other orders (oc_skus_sort_t): by the column's value, then code, both
 * ascending or both descending; the cursor is [value, code].  `key` is the
 * column as SQL sorts it (no nulls: a bundle, which has no on hand, sorts as -1),
 * `after` the cursor's value cast to its type.
 */
#define SKUS_SORTED(name, key, after, cmp, dir)                                                                        \
    OC_DB_STMT(name, 7,                                                                                                \
               "SELECT " SKUS_LIST_ROW SKUS_LIST_FROM " AND ($5::text IS NULL OR (" key ", k.code) " cmp " (" after    \
               ", $6)) ORDER BY " key " " dir ", k.code " dir " LIMIT $7")
#define SKU_TITLE   "coalesce(k.title, '')"
#define SKU_ON_HAND "CASE WHEN k.kind = 'simple' THEN st.on_hand ELSE -1 END"
#define SKU_AVAILABLE                                                                                                  \
    "CASE WHEN k.kind = 'simple' THEN st.on_hand - st.committed - st.held ELSE sku_available(k.tenant_id, k.id) END"
SKUS_SORTED(skus_by_code_desc, "k.code", "$5", "<", "DESC");
SKUS_SORTED(skus_by_title, SKU_TITLE, "$5", ">", "ASC");
SKUS_SORTED(skus_by_title_desc, SKU_TITLE, "$5", "<", "DESC");
SKUS_SORTED(skus_by_on_hand, SKU_ON_HAND, "$5::bigint", ">", "ASC");
SKUS_SORTED(skus_by_on_hand_desc, SKU_ON_HAND, "$5::bigint", "<", "DESC");
SKUS_SORTED(skus_by_available, SKU_AVAILABLE, "$5::bigint", ">", "ASC");
SKUS_SORTED(skus_by_available_desc, SKU_AVAILABLE, "$5::bigint", "<", "DESC");

static const oc_db_stmt_t *const skus_sorted[][2] = {
    [OC_SKUS_SORT_CODE] = {&skus_list, &skus_by_code_desc},
    [OC_SKUS_SORT_TITLE] = {&skus_by_title, &skus_by_title_desc},
    [OC_SKUS_SORT_ON_HAND] = {&skus_by_on_hand, &skus_by_on_hand_desc},
    [OC_SKUS_SORT_AVAILABLE] = {&skus_by_available, &skus_by_available_desc},
};

void oc_skus_list(oc_thread_t *th, const char *tenant, const oc_skus_filter_t *flt, const oc_page_keys_t *pg,
                  oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, flt->include_archived ? "true" : "false", flt->q, flt->kind};
    int sorted = flt->sort != OC_SKUS_SORT_CODE || flt->desc;
    const oc_db_stmt_t *stmt = skus_sorted[flt->sort][flt->desc ? 1 : 0];
    oc_query_list(th, tenant, stmt, p, 4, pg, sorted ? 2 : 1, "SKU", cb, arg);
}

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

void oc_skus_get(oc_thread_t *th, const char *tenant, const char *code, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, code};
    oc_query_exec(th, tenant, &sku_get, p, oc_query_one, "SKU", cb, arg);
}

/* --- create, update -------------------------------------------------------------------------- */

OC_DB_STMT(sku_insert, 5,
           "WITH k AS (INSERT INTO skus (tenant_id, code, title, barcode, unit_cost)"
           "           VALUES ($1, $2, coalesce($3, ''), $4, $5::numeric)"
           "           RETURNING tenant_id, id)"
           " INSERT INTO stock (tenant_id, sku_id) SELECT tenant_id, id FROM k");
OC_DB_STMT(sku_get_idem, 2,
           "SELECT idem_result(201, " SKU_JSON("k") "::jsonb) FROM skus k"
                                                    " JOIN stock st ON st.tenant_id = k.tenant_id AND st.sku_id = k.id "
                                                    "WHERE k.tenant_id = $1 AND k.code = $2");

/* A SKU write: a code the brand already has is a conflict on `code`. */
static json_t *read_sku(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    if (res->err != NULL && res->code == OC_ECONFLICT && strcmp(res->sqlstate, "23505") == 0) {
        oc_fail(f, OC_FAIL_CONFLICT, "conflict", "code", "a SKU with this code already exists in the brand");
        return NULL;
    }
    return oc_query_one(res, what, f);
}

/* Appends the step answering the written SKU (`stmt`: sku_get or sku_get_idem). */
static void answer_step(oc_db_tx_t *tx, const oc_db_stmt_t *stmt, const char *tenant, const char *code)
{
    const char *p[] = {tenant, code};
    oc_query_step(tx, stmt, p, 2);
}

void oc_skus_create(oc_thread_t *th, const oc_actor_t *a, const oc_idem_t *idem, const char *code, const char *title,
                    const char *barcode, const char *unit_cost, json_t *summary, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant};
    oc_query_idem_step(&tx, a->tenant, idem);
    const char *p[] = {a->tenant, code, title, barcode, unit_cost};
    oc_query_step(&tx, &sku_insert, p, 5);
    oc_audit_brand(&tx, a, "sku.create", "sku", code, summary);
    answer_step(&tx, &sku_get_idem, a->tenant, code);
    oc_catalog_invalidate();
    oc_query_run(th, &tx, read_sku, "SKU", cb, arg);
}

OC_DB_STMT(
    sku_update, 10,
    "WITH k AS (UPDATE skus k SET title = coalesce($3, k.title),"
    "   barcode = CASE WHEN $5::bool THEN $4 ELSE k.barcode END,"
    "   unit_cost = CASE WHEN $10::bool THEN $9::numeric ELSE k.unit_cost END,"
    "   archived_at = CASE WHEN $6::bool IS NULL THEN k.archived_at WHEN $6::bool"
    "     THEN coalesce(k.archived_at, now()) ELSE NULL END, updated_at = now()"
    "   FROM skus o WHERE o.tenant_id = k.tenant_id AND o.id = k.id AND k.tenant_id = $1 AND k.code = $2"
    "   RETURNING k.*, o.title AS old_title, o.barcode AS old_barcode, o.unit_cost AS old_unit_cost,"
    "   o.archived_at IS NOT NULL AS old_archived)"
    " SELECT " SKU_JSON(
        "k") ", audit_write($1, NULL, $7::uuid, $8::uuid, 'sku.update', 'sku', k.code,"
             "   jsonb_build_object('before', jsonb_build_object('title', k.old_title, 'barcode', k.old_barcode,"
             "   'unit_cost', k.old_unit_cost, 'archived', k.old_archived), 'after', jsonb_build_object('title',"
             "   k.title, 'barcode', k.barcode, 'unit_cost', k.unit_cost, 'archived', k.archived_at IS NOT NULL)),"
             "   current_setting('app.request_id', true))"
             " FROM k JOIN stock st ON st.tenant_id = k.tenant_id AND st.sku_id = k.id");

void oc_skus_update(oc_thread_t *th, const oc_actor_t *a, const char *code, const oc_skus_change_t *ch, oc_query_cb cb,
                    void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant};
    oc_query_request_id_step(&tx, a->request_id);
    const char *p[] = {a->tenant,
                       code,
                       ch->title,
                       ch->barcode,
                       ch->set_barcode ? "true" : "false",
                       ch->archived < 0 ? NULL
                       : ch->archived   ? "true"
                                        : "false",
                       a->user,
                       a->token,
                       ch->unit_cost,
                       ch->set_unit_cost ? "true" : "false"};
    oc_query_step(&tx, &sku_update, p, 10);
    oc_catalog_invalidate();
    oc_query_run(th, &tx, read_sku, "SKU", cb, arg);
}

/* --- bundles --------------------------------------------------------------------------------- */

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

/* The component check's answer (step `check`), else the bundle as read_sku reads it. */
static json_t *read_bundle_at(const oc_db_result_t *res, int check, const char *what, oc_fail_t *f)
{
    if (res->err != NULL)
        return read_sku(res, what, f);
    json_t *bad = oc_db_json(res->results[check], 0, 0);
    if (!json_is_object(bad)) {
        json_decref(bad);
        return read_sku(res, what, f);
    }
    /* the field outlives the answer's callback, which runs on this thread before the next one */
    static _Thread_local char field[40];
    const char *why = json_string_value(json_object_get(bad, "why"));
    const char *code = json_string_value(json_object_get(bad, "code"));
    snprintf(field, sizeof(field), "components[%d].sku", (int)json_integer_value(json_object_get(bad, "i")));
    if (strcmp(why, "not_a_bundle") == 0)
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such bundle");
    else if (strcmp(why, "unknown") == 0)
        oc_fail(f, OC_FAIL_INVALID, "invalid_component", field, "no SKU %s in this brand", code);
    else if (strcmp(why, "self") == 0)
        oc_fail(f, OC_FAIL_INVALID, "invalid_component", field, "a bundle cannot contain itself");
    else
        oc_fail(f, OC_FAIL_INVALID, "invalid_component", field,
                "%s is itself a bundle; nested bundles are not supported: list its components", code);
    json_decref(bad);
    return NULL;
}

/* Created: the check is the step before the audit and the answer. */
static json_t *read_bundle_created(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    return read_bundle_at(res, res->nresults - 3, what, f);
}

/* Replaced: the check is the first step. */
static json_t *read_bundle_replaced(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    return read_bundle_at(res, 0, what, f);
}

void oc_skus_bundle_create(oc_thread_t *th, const oc_actor_t *a, const oc_idem_t *idem, const char *code,
                           const char *title, const char *components, json_t *summary, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant};
    oc_query_idem_step(&tx, a->tenant, idem);
    const char *p[] = {a->tenant, code, components, title};
    oc_query_step(&tx, &bundle_create, p, 4);
    oc_audit_brand(&tx, a, "bundle.create", "sku", code, summary);
    answer_step(&tx, &sku_get_idem, a->tenant, code);
    oc_catalog_invalidate();
    oc_query_run(th, &tx, read_bundle_created, "SKU", cb, arg);
}

void oc_skus_bundle_replace(oc_thread_t *th, const oc_actor_t *a, const char *code, const char *components,
                            json_t *summary, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant};
    const char *p[] = {a->tenant, code, components, NULL};
    oc_query_step(&tx, &bundle_replace_check, p, 4);
    oc_query_step(&tx, &bundle_replace_delete, p, 3);
    oc_query_step(&tx, &bundle_replace_insert, p, 3);
    oc_query_step(&tx, &bundle_listings_refresh, p, 2);
    oc_audit_brand(&tx, a, "bundle.update", "sku", code, summary);
    answer_step(&tx, &sku_get, a->tenant, code);
    oc_catalog_invalidate();
    oc_query_run(th, &tx, read_bundle_replaced, "bundle", cb, arg);
}

/* --- history and point-in-time balance ------------------------------------------------------- */

OC_DB_STMT(
    sku_history, 9,
    "SELECT json_build_object('id', m.id::text, 'at', m.created_at, 'sku', k.code, 'sku_title', k.title,"
    " 'kind', m.kind, 'qty', m.qty,"
    " 'on_hand_delta', m.on_hand_delta, 'committed_delta', m.committed_delta,"
    " 'inspecting_delta', m.inspecting_delta, 'on_hand_after', m.on_hand_after,"
    " 'committed_after', m.committed_after, 'disposition', m.disposition, 'reason', m.reason,"
    " 'reference', m.reference, 'channel_id', m.channel_id,"
    " 'channel', (SELECT c.name FROM channel_connections c WHERE c.tenant_id = m.tenant_id AND c.id = m.channel_id),"
    " 'bundle', (SELECT b.code FROM skus b WHERE b.tenant_id = m.tenant_id AND b.id = m.bundle_sku_id),"
    " 'guarded', m.guarded, 'actor_user', m.actor_user, 'actor_token', m.actor_token, 'request_id', m.request_id)"
    " FROM movements m JOIN skus k ON k.tenant_id = m.tenant_id AND k.id = m.sku_id"
    " WHERE m.tenant_id = $1 AND ($2::text IS NULL OR k.code = $2) AND ($3::text IS NULL OR m.kind = $3)"
    "   AND ($4::timestamptz IS NULL OR m.created_at >= $4) AND ($5::timestamptz IS NULL OR m.created_at < $5)"
    "   AND ($6::uuid IS NULL OR m.channel_id = $6)"
    "   AND ($7::text IS NULL OR (m.created_at, m.id) < ($7::timestamptz, $8::bigint))"
    " ORDER BY m.created_at DESC, m.id DESC LIMIT $9");
OC_DB_STMT(sku_exists, 2, "SELECT 1 FROM skus WHERE tenant_id = $1 AND code = $2");

void oc_skus_exists_step(oc_db_tx_t *tx, const char *tenant, const char *code)
{
    const char *p[] = {tenant, code};
    oc_query_step(tx, &sku_exists, p, 2);
}

/* The page's rows; with the existence check first, an unknown SKU is not found. */
static json_t *read_history(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    if (res->err == NULL && res->nresults == 2 && PQntuples(res->results[0]) == 0) {
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such %s", what);
        return NULL;
    }
    return oc_query_rows(res, what, f);
}

void oc_skus_history(oc_thread_t *th, const char *tenant, const oc_skus_history_t *h, const oc_page_keys_t *pg,
                     oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant};
    if (h->code_must_exist)
        oc_skus_exists_step(&tx, tenant, h->code);
    const char *p[] = {tenant, h->code, h->kind, h->from, h->to, h->channel};
    oc_query_page_step(&tx, &sku_history, p, 6, pg, 2);
    oc_query_run(th, &tx, read_history, "SKU", cb, arg);
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

void oc_skus_balance_at(oc_thread_t *th, const char *tenant, const char *code, const char *at, oc_query_cb cb,
                        void *arg)
{
    const char *p[] = {tenant, code, at};
    oc_query_exec(th, tenant, &sku_balance_at, p, oc_query_one, "simple SKU (a bundle's balance is its components')",
                  cb, arg);
}
