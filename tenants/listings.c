/*
 * listings.c — listings: the SQL that maps SKUs to channel listings and
 * what each may show (see listings.h).
 */
#include "tenants/listings.h"
#include "tenants/holds.h"
#include "runtime/json.h"

#include <stdlib.h>
#include <string.h>

#define LISTING_JSON                                                                                                   \
    "json_build_object('id', l.id, 'connection_id', l.connection_id, 'connection', c.name, 'kind', c.kind,"            \
    " 'sku', k.code, 'external_sku', l.external_sku, 'item_ref', l.item_ref, 'location_ref', l.location_ref,"          \
    " 'rules', l.rules, 'effective_rules', c.rules || l.rules, 'state', l.state, 'desired_qty', l.desired_qty,"        \
    " 'why', l.desired_reason, 'desired_version', l.desired_version, 'desired_at', l.desired_at,"                      \
    " 'pushed_qty', l.pushed_qty, 'pushed_version', l.pushed_version, 'pushed_at', l.pushed_at,"                       \
    " 'push_pending', l.push_pending, 'seen_qty', l.seen_qty, 'seen_at', l.seen_at,"                                   \
    " 'in_sync', l.desired_version <= l.pushed_version, 'last_error', l.last_error, 'attempts', l.attempts)"

#define LISTING_FROM                                                                                                   \
    " FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id"              \
    " JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id"

OC_DB_STMT(listings_refresh_brand, 1, "SELECT listings_refresh_brand($1)");

void oc_listings_refresh_brand_step(oc_db_tx_t *tx)
{
    tx->steps[tx->nsteps].stmt = &listings_refresh_brand;
    tx->steps[tx->nsteps++].params[0] = tx->tenant;
}

/* --- reading ------------------------------------------------------------------------------- */

OC_DB_STMT(
    listings_list, 9,
    "SELECT " LISTING_JSON LISTING_FROM
    " WHERE l.tenant_id = $1 AND ($2::uuid IS NULL OR l.connection_id = $2) AND ($3::text IS NULL OR k.code = $3)"
    "   AND ($4::bool IS NULL OR (l.desired_version > l.pushed_version) = $4)"
    "   AND ($5::text IS NULL OR l.state = $5)"
    "   AND ($6::text IS NULL OR (c.name, k.code, l.id::text) > ($6, $7, $8))"
    " ORDER BY c.name, k.code, l.id LIMIT $9");
OC_DB_STMT(listing_get, 2, "SELECT " LISTING_JSON LISTING_FROM " WHERE l.tenant_id = $1 AND l.id = $2::uuid");
OC_DB_STMT(listings_unmapped, 5,
           "SELECT json_build_object('connection_id', c.id, 'connection', c.name, 'kind', c.kind, 'sku', k.code,"
           "   'created_at', k.created_at)"
           " FROM channel_connections c JOIN skus k ON k.tenant_id = c.tenant_id AND k.archived_at IS NULL"
           " WHERE c.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = c.tenant_id"
           "   AND l.connection_id = c.id AND l.sku_id = k.id)"
           "   AND ($2::text IS NULL OR (c.name, k.code, c.id::text) > ($2, $3, $4))"
           " ORDER BY c.name, k.code, c.id LIMIT $5");

/*
 * The other orders (oc_listings_sort_t): by the column, then the listing's
 * id, both ascending or both descending; the cursor is [value, id].  A
 * quantity never pushed or never read sorts as -1.
 */
#define LISTINGS_SORTED(name, key, after, cmp, dir)                                                                    \
    OC_DB_STMT(name, 8,                                                                                                \
               "SELECT " LISTING_JSON LISTING_FROM                                                                     \
               " WHERE l.tenant_id = $1 AND ($2::uuid IS NULL OR l.connection_id = $2)"                                \
               "   AND ($3::text IS NULL OR k.code = $3)"                                                              \
               "   AND ($4::bool IS NULL OR (l.desired_version > l.pushed_version) = $4)"                              \
               "   AND ($5::text IS NULL OR l.state = $5)"                                                             \
               "   AND ($6::text IS NULL OR (" key ", l.id::text) " cmp " (" after ", $7))"                            \
               " ORDER BY " key " " dir ", l.id::text " dir " LIMIT $8")
LISTINGS_SORTED(listings_by_channel_desc, "c.name", "$6", "<", "DESC");
LISTINGS_SORTED(listings_by_sku, "k.code", "$6", ">", "ASC");
LISTINGS_SORTED(listings_by_sku_desc, "k.code", "$6", "<", "DESC");
LISTINGS_SORTED(listings_by_desired, "coalesce(l.desired_qty, -1)", "$6::bigint", ">", "ASC");
LISTINGS_SORTED(listings_by_desired_desc, "coalesce(l.desired_qty, -1)", "$6::bigint", "<", "DESC");
LISTINGS_SORTED(listings_by_pushed, "coalesce(l.pushed_qty, -1)", "$6::bigint", ">", "ASC");
LISTINGS_SORTED(listings_by_pushed_desc, "coalesce(l.pushed_qty, -1)", "$6::bigint", "<", "DESC");
LISTINGS_SORTED(listings_by_seen, "coalesce(l.seen_qty, -1)", "$6::bigint", ">", "ASC");
LISTINGS_SORTED(listings_by_seen_desc, "coalesce(l.seen_qty, -1)", "$6::bigint", "<", "DESC");

static const oc_db_stmt_t *const listings_sorted[][2] = {
    [OC_LISTINGS_SORT_CHANNEL] = {&listings_list, &listings_by_channel_desc},
    [OC_LISTINGS_SORT_SKU] = {&listings_by_sku, &listings_by_sku_desc},
    [OC_LISTINGS_SORT_DESIRED] = {&listings_by_desired, &listings_by_desired_desc},
    [OC_LISTINGS_SORT_PUSHED] = {&listings_by_pushed, &listings_by_pushed_desc},
    [OC_LISTINGS_SORT_SEEN] = {&listings_by_seen, &listings_by_seen_desc},
};

void oc_listings_list(oc_thread_t *th, const char *tenant, const oc_listings_filter_t *flt, const oc_page_keys_t *pg,
                      oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, flt->connection, flt->sku, flt->out_of_sync, flt->state};
    int sorted = flt->sort != OC_LISTINGS_SORT_CHANNEL || flt->desc;
    oc_query_list(th, tenant, listings_sorted[flt->sort][flt->desc ? 1 : 0], p, 5, pg, sorted ? 2 : 3, "listing", cb,
                  arg);
}

void oc_listings_unmapped(oc_thread_t *th, const char *tenant, const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    oc_query_list(th, tenant, &listings_unmapped, &tenant, 1, pg, 3, "listing", cb, arg);
}

static const oc_channels_refusals_t r_listing = {
    .unique = "this SKU or channel SKU is already listed on the connection",
    .unique_field = "external_sku",
};
static const oc_query_how_t a_listing = {.what = "listing", .refuse = oc_channels_refuse, .refuse_ctx = &r_listing};

/* Ends `tx` with the listing as it is now, and runs it. */
static void answer_listing(oc_thread_t *th, oc_db_tx_t *tx, const char *id, const oc_query_how_t *how, oc_query_cb cb,
                           void *arg)
{
    tx->steps[tx->nsteps].stmt = &listing_get;
    tx->steps[tx->nsteps].params[0] = tx->tenant;
    tx->steps[tx->nsteps++].params[1] = id;
    oc_query_answer(th, tx, how, cb, arg);
}

void oc_listings_get(oc_thread_t *th, const char *tenant, const char *id, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant};
    answer_listing(th, &tx, id, &(oc_query_how_t){.what = "listing"}, cb, arg);
}

/* --- writing ------------------------------------------------------------------------------- */

OC_DB_STMT(listing_conn_kind, 2, "SELECT kind FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid");
OC_DB_STMT(listing_insert, 8,
           "INSERT INTO listings (tenant_id, id, connection_id, sku_id, external_sku, item_ref, location_ref, rules)"
           " SELECT $1, $2::uuid, $3::uuid, k.id, coalesce($5, k.code), $6, $7, coalesce($8::jsonb, '{}')"
           " FROM skus k WHERE k.tenant_id = $1 AND k.code = $4");
/* The balances the new listing is computed from, locked (in SKU order) so a
 * hold or sale committing meanwhile waits and then recomputes it, instead of
 * recomputing before the listing exists. */
OC_DB_STMT(listing_lock_stock, 2,
           "SELECT count(*) FROM (SELECT 1 FROM stock s WHERE s.tenant_id = $1 AND s.sku_id IN ("
           "   SELECT k.id FROM skus k WHERE k.tenant_id = $1 AND k.code = $2"
           "   UNION SELECT bc.component_id FROM bundle_components bc JOIN skus k ON k.tenant_id = bc.tenant_id"
           "   AND k.id = bc.bundle_id WHERE bc.tenant_id = $1 AND k.code = $2)"
           " ORDER BY s.sku_id FOR SHARE) x");
OC_DB_STMT(listing_refresh_one, 2,
           "SELECT listings_refresh($1, ARRAY(SELECT sku_id FROM listings WHERE tenant_id = $1 AND id = $2::uuid))");
OC_DB_STMT(listing_update, 8,
           "WITH l AS (UPDATE listings l SET external_sku = coalesce($3, l.external_sku),"
           "   item_ref = coalesce($4, l.item_ref), location_ref = coalesce($5, l.location_ref),"
           "   rules = coalesce($6::jsonb, l.rules), state = coalesce($7, l.state),"
           "   pushed_version = CASE WHEN $8::bool THEN 0 ELSE l.pushed_version END"
           "   WHERE l.tenant_id = $1 AND l.id = $2::uuid RETURNING l.sku_id)"
           " SELECT listings_refresh($1, ARRAY(SELECT sku_id FROM l))");
OC_DB_STMT(
    listing_delete, 5,
    "WITH l AS (DELETE FROM listings WHERE tenant_id = $1 AND id = $2::uuid RETURNING id, external_sku)"
    " SELECT json_build_object('id', id, 'deleted', true), audit_write($1, NULL, $4::uuid, $5::uuid, 'listing.delete',"
    "   'listing', id::text, jsonb_build_object('external_sku', external_sku), $3) FROM l");

/* A new listing waits for the connection's kind to be known (a connection of another brand is refused first). */
typedef struct {
    oc_thread_t *th;
    oc_actor_t actor;
    json_t *listing;
    char id[37];
    oc_query_cb cb;
    void *arg;
} create_t;

static void create_free(create_t *c)
{
    json_decref(c->listing);
    free(c);
}

/* The listing's rules as a jsonb parameter (malloc'd), or NULL when it has none. */
static char *rules_param(const json_t *obj)
{
    const json_t *rules = json_object_get(obj, "rules");
    return rules != NULL ? json_dumps(rules, JSON_COMPACT) : NULL;
}

static void on_conn_kind(void *arg, const oc_db_result_t *res)
{
    create_t *c = arg;
    oc_fail_t f = {0};
    if (res->err != NULL)
        oc_fail_db(&f, res);
    else if (oc_db_get(res->results[0], 0, 0) == NULL)
        oc_fail(&f, OC_FAIL_INVALID, "invalid", "connection_id", "no such connection in this brand");
    else {
        /* A Shopify listing without item_ref is found by its SKU when first pushed or read. */
        const json_t *l = c->listing;
        const char *tenant = c->actor.tenant;
        char *rules = rules_param(l);
        oc_db_tx_t tx = {.tenant = tenant, .nsteps = 3};
        tx.steps[0].stmt = &listing_lock_stock;
        tx.steps[0].params[0] = tenant;
        tx.steps[0].params[1] = oc_json_str(l, "sku");
        tx.steps[1].stmt = &listing_insert;
        const char *p[] = {tenant,
                           c->id,
                           oc_json_str(l, "connection_id"),
                           oc_json_str(l, "sku"),
                           oc_json_str(l, "external_sku"),
                           oc_json_str(l, "item_ref"),
                           oc_json_str(l, "location_ref"),
                           rules};
        memcpy(tx.steps[1].params, p, sizeof(p));
        tx.steps[2].stmt = &listing_refresh_one;
        tx.steps[2].params[0] = tenant;
        tx.steps[2].params[1] = c->id;
        oc_audit_brand(&tx, &c->actor, "listing.create", "listing", c->id, (json_t *)l);
        oc_holds_touched_step(&tx, tenant);
        oc_query_how_t how = a_listing;
        how.what = "SKU in this brand (listing not created)";
        how.touches_stock = 1;
        answer_listing(c->th, &tx, c->id, &how, c->cb, c->arg);
        free(rules);
        create_free(c);
        return;
    }
    c->cb(c->arg, NULL, &f);
    oc_fail_clear(&f);
    create_free(c);
}

void oc_listings_create(oc_thread_t *th, const oc_actor_t *a, const json_t *listing, oc_query_cb cb, void *arg)
{
    create_t *c = oc_calloc(1, sizeof(*c));
    *c = (create_t){.th = th, .actor = *a, .listing = json_incref((json_t *)listing), .cb = cb, .arg = arg};
    oc_uuid_v4(c->id);
    const char *p[] = {a->tenant, oc_json_str(listing, "connection_id")};
    if (oc_db_exec(th->db, a->tenant, &listing_conn_kind, p, on_conn_kind, c) != 0) {
        create_free(c);
        oc_query_unavailable(cb, arg);
    }
}

void oc_listings_update(oc_thread_t *th, const oc_actor_t *a, const char *id, const json_t *changes, oc_query_cb cb,
                        void *arg)
{
    char *rules = rules_param(changes);
    oc_db_tx_t tx = {.tenant = a->tenant, .nsteps = 1};
    tx.steps[0].stmt = &listing_update;
    const char *p[] = {a->tenant,
                       id,
                       oc_json_str(changes, "external_sku"),
                       oc_json_str(changes, "item_ref"),
                       oc_json_str(changes, "location_ref"),
                       rules,
                       oc_json_str(changes, "state"),
                       oc_json_bool(changes, "repush", 0) ? "true" : "false"};
    memcpy(tx.steps[0].params, p, sizeof(p));
    oc_audit_brand(&tx, a, "listing.update", "listing", id, (json_t *)changes);
    oc_holds_touched_step(&tx, a->tenant);
    oc_query_how_t how = a_listing;
    how.touches_stock = 1;
    answer_listing(th, &tx, id, &how, cb, arg);
    free(rules);
}

void oc_listings_delete(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant};
    oc_channels_audited_step(&tx, a, &listing_delete, id);
    oc_query_answer(th, &tx, &a_listing, cb, arg);
}

/* --- many at once -------------------------------------------------------------------------- */

/*
 * One transaction for the lot: the listings of the brand among `ids` are
 * locked and changed (each audited as listing.update with the bulk action),
 * those already as asked are left alone, and ids the brand has no listing
 * of are reported; then the changed SKUs' listings are computed again.
 */
OC_DB_STMT(listings_bulk, 6,
           "WITH want AS (SELECT DISTINCT unnest($2::uuid[]) AS id),"
           " cur AS (SELECT l.id, l.state FROM listings l WHERE l.tenant_id = $1 AND l.id IN (SELECT id FROM want)"
           "   ORDER BY l.id FOR UPDATE),"
           " target AS (SELECT CASE $3 WHEN 'pause' THEN 'paused' WHEN 'resume' THEN 'active' END AS state),"
           " ch AS (UPDATE listings l SET state = coalesce(target.state, l.state),"
           "   pushed_version = CASE WHEN $3 = 'repush' THEN 0 ELSE l.pushed_version END"
           "   FROM cur, target WHERE l.tenant_id = $1 AND l.id = cur.id"
           "     AND ($3 = 'repush' OR cur.state <> target.state) RETURNING l.id),"
           " aud AS (SELECT count(*) AS n FROM (SELECT audit_write($1, NULL, $5::uuid, $6::uuid, 'listing.update',"
           "   'listing', ch.id::text, CASE WHEN target.state IS NULL THEN jsonb_build_object('repush', true)"
           "   ELSE jsonb_build_object('state', target.state) END || jsonb_build_object('bulk', true), $4)"
           "   FROM ch, target) x)"
           " SELECT json_build_object('action', $3, 'requested', (SELECT count(*) FROM want),"
           "   'done', coalesce((SELECT json_agg(ch.id ORDER BY ch.id) FROM ch), '[]'),"
           "   'unchanged', coalesce((SELECT json_agg(cur.id ORDER BY cur.id) FROM cur"
           "     WHERE cur.id NOT IN (SELECT id FROM ch)), '[]'),"
           "   'failed', coalesce((SELECT json_agg(json_build_object('id', want.id, 'reason',"
           "     'no such listing in this brand') ORDER BY want.id) FROM want"
           "     WHERE want.id NOT IN (SELECT id FROM cur)), '[]'),"
           "   'audited', (SELECT n FROM aud))");
OC_DB_STMT(listings_bulk_refresh, 2,
           "SELECT listings_refresh($1, ARRAY(SELECT DISTINCT sku_id FROM listings WHERE tenant_id = $1"
           "   AND id = ANY ($2::uuid[])))");

void oc_listings_bulk(oc_thread_t *th, const oc_actor_t *a, const char *action, const char *ids, oc_query_cb cb,
                      void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant, .nsteps = 2};
    tx.steps[0].stmt = &listings_bulk;
    const char *p[] = {a->tenant, ids, action, a->request_id, a->user, a->token};
    memcpy(tx.steps[0].params, p, sizeof(p));
    tx.steps[1].stmt = &listings_bulk_refresh;
    tx.steps[1].params[0] = a->tenant;
    tx.steps[1].params[1] = ids;
    oc_holds_touched_step(&tx, a->tenant);
    static const oc_query_how_t how = {.step = 1, .what = "listing", .touches_stock = 1};
    oc_query_answer(th, &tx, &how, cb, arg);
}

/* --- automap ------------------------------------------------------------------------------- */

/* Automap: list every SKU without a listing on the connection under its own
 * code; report what it could not map (Shopify needs each SKU's inventory
 * item, found by the channel lookup once connected; codes already used). */
OC_DB_STMT(automap_guard, 2, "SELECT channel_account_guard($1, $2::uuid)");
OC_DB_STMT(automap, 5,
           "WITH c AS (SELECT id, kind FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid),"
           " cand AS (SELECT k.id, k.code FROM skus k, c WHERE k.tenant_id = $1 AND k.archived_at IS NULL"
           "   AND NOT EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = $1 AND l.connection_id = c.id"
           "                   AND l.sku_id = k.id)),"
           " taken AS (SELECT cand.code FROM cand WHERE EXISTS (SELECT 1 FROM listings l, c WHERE l.tenant_id = $1"
           "   AND l.connection_id = c.id AND l.external_sku = cand.code)),"
           " ins AS (INSERT INTO listings (tenant_id, connection_id, sku_id, external_sku)"
           "   SELECT $1, c.id, cand.id, cand.code FROM cand, c"
           "   WHERE cand.code NOT IN (SELECT code FROM taken) RETURNING sku_id, external_sku)"
           " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM c) THEN NULL ELSE json_build_object("
           "   'created', (SELECT count(*) FROM ins),"
           "   'mapped', coalesce((SELECT json_agg(external_sku ORDER BY external_sku) FROM ins), '[]'),"
           "   'not_mapped', coalesce((SELECT json_agg(json_build_object('sku', cand.code, 'reason',"
           "     'another listing on this connection already uses this code') ORDER BY cand.code)"
           "     FROM cand WHERE cand.code IN (SELECT code FROM taken)), '[]'),"
           "   'audit', audit_write($1, NULL, $4::uuid, $5::uuid, 'connection.automap', 'connection', $2::text,"
           "     jsonb_build_object('created', (SELECT count(*) FROM ins)), $3)) END");

void oc_listings_automap(oc_thread_t *th, const oc_actor_t *a, const char *conn_id, oc_query_cb cb, void *arg)
{
    /* the automap report, not the guard before it or the refresh after it */
    static const oc_channels_refusals_t refusals = {0};
    static const oc_query_how_t how = {
        .step = 2, .what = "connection", .touches_stock = 1, .refuse = oc_channels_refuse, .refuse_ctx = &refusals};
    oc_db_tx_t tx = {.tenant = a->tenant, .nsteps = 1};
    /* a connection to an account another active connection holds is not mapped (it would sell twice) */
    tx.steps[0].stmt = &automap_guard;
    tx.steps[0].params[0] = a->tenant;
    tx.steps[0].params[1] = conn_id;
    oc_channels_audited_step(&tx, a, &automap, conn_id);
    oc_listings_refresh_brand_step(&tx);
    oc_holds_touched_step(&tx, a->tenant);
    oc_query_answer(th, &tx, &how, cb, arg);
}
