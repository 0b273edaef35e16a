/*
 * search.c — the search across brands (see search.h).
 *
 * Prefixes are matched as a range on the lowered copies of migration 0036
 * (code_search, external_sku_search, external_id_search) and their btree
 * indexes: text comparisons are leakproof, so the planner may use those
 * indexes under row-level security, where LIKE, ILIKE or lower(column)
 * would not be.  Titles are matched anywhere in the title, reading the
 * searched brands' SKUs; barcodes and item references exactly.
 */
#include "tenants/search.h"
#include "runtime/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The brands searched become the transaction's tenants. */
OC_DB_STMT(search_tenants, 2,
           "SELECT set_config('app.tenant_id', coalesce((SELECT string_agg(id::text, ',') FROM brands"
           " WHERE portfolio_id = $1 AND archived_at IS NULL"
           "   AND ($2::text IS NULL OR id = ANY (string_to_array($2, ',')::uuid[]))), ''),"
           " true)");

/*
 * $1 the query, $2 hits per kind + 1 (to learn whether there are more).  Q
 * is the query lowered; PREFIX(col) the range on a *_search column (0036).
 * SKUs found by code and by title are two arms, so the code's arm keeps
 * its index; the title's reads the brands' SKUs.
 */
#define Q           "lower($1::text)"
#define PREFIX(col) "(" col " >= " Q " AND " col " < " Q " || chr(1114111))"
OC_DB_STMT(
    search_run, 2,
    "WITH b AS (SELECT id, name FROM brands WHERE id = ANY (current_tenants())),"
    " hit AS ((SELECT k.tenant_id, k.id FROM skus k WHERE k.tenant_id = ANY (current_tenants())"
    "     AND " PREFIX(
        "k.code_search") " ORDER BY k.code_search LIMIT $2::int)"
                         "   UNION (SELECT k.tenant_id, k.id FROM skus k WHERE k.tenant_id = ANY (current_tenants())"
                         "     AND (strpos(lower(k.title), " Q ") > 0 OR k.barcode = $1) LIMIT $2::int)),"
                         " s AS (SELECT k.tenant_id, k.code, k.title, k.kind, k.archived_at IS NOT NULL AS archived,"
                         "   k.code_search = " Q " OR coalesce(k.barcode = $1, false) AS exact"
                         "   FROM hit JOIN skus k ON k.tenant_id = hit.tenant_id AND k.id = hit.id"
                         "   ORDER BY exact DESC, k.archived_at IS NOT NULL, k.code_search, k.tenant_id LIMIT $2::int),"
                         " l AS (SELECT l.tenant_id, l.id, l.external_sku, l.item_ref, l.state, k.code AS sku, c.name "
                         "AS connection,"
                         "   c.kind AS channel_kind, l.external_sku_search = " Q
                         " OR coalesce(l.item_ref = $1, false) AS exact"
                         "   FROM listings l JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id"
                         "   JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id"
                         "   WHERE l.tenant_id = ANY (current_tenants()) AND (" PREFIX(
                             "l.external_sku_search") " OR l.item_ref = $1)"
                                                      "   ORDER BY exact DESC, l.external_sku_search, l.tenant_id, "
                                                      "l.id LIMIT $2::int),"
                                                      " o AS (SELECT o.tenant_id, o.id, o.external_id, o.status, "
                                                      "o.first_seen_at, c.name AS connection,"
                                                      "   c.kind AS channel_kind, o.external_id_search = " Q " AS exact"
                                                      "   FROM channel_orders o JOIN channel_connections c ON "
                                                      "c.tenant_id = o.tenant_id AND c.id = o.connection_id"
                                                      "   WHERE o.tenant_id = ANY (current_tenants()) AND " PREFIX(
                                                          "o.external_id_search") "   ORDER BY exact DESC, "
                                                                                  "o.first_seen_at DESC, o.id LIMIT "
                                                                                  "$2::int)"
                                                                                  " SELECT json_build_object("
                                                                                  "   'skus', coalesce((SELECT "
                                                                                  "json_agg(json_build_object('brand_"
                                                                                  "id', s.tenant_id, 'brand', b.name, "
                                                                                  "'code', s.code,"
                                                                                  "     'title', s.title, 'kind', "
                                                                                  "s.kind, 'archived', s.archived, "
                                                                                  "'exact', s.exact)"
                                                                                  "     ORDER BY s.exact DESC, "
                                                                                  "s.archived, s.code, s.tenant_id) "
                                                                                  "FROM s JOIN b ON b.id = "
                                                                                  "s.tenant_id), '[]'),"
                                                                                  "   'listings', coalesce((SELECT "
                                                                                  "json_agg(json_build_object('brand_"
                                                                                  "id', l.tenant_id, 'brand', b.name, "
                                                                                  "'id', l.id,"
                                                                                  "     'external_sku', "
                                                                                  "l.external_sku, 'item_ref', "
                                                                                  "l.item_ref, 'state', l.state, "
                                                                                  "'sku', l.sku,"
                                                                                  "     'connection', l.connection, "
                                                                                  "'kind', l.channel_kind, 'exact', "
                                                                                  "l.exact)"
                                                                                  "     ORDER BY l.exact DESC, "
                                                                                  "l.external_sku, l.tenant_id, l.id) "
                                                                                  "FROM l JOIN b ON b.id = "
                                                                                  "l.tenant_id), '[]'),"
                                                                                  "   'orders', coalesce((SELECT "
                                                                                  "json_agg(json_build_object('brand_"
                                                                                  "id', o.tenant_id, 'brand', b.name, "
                                                                                  "'id', o.id,"
                                                                                  "     'external_id', o.external_id, "
                                                                                  "'status', o.status, 'at', "
                                                                                  "o.first_seen_at, 'connection', "
                                                                                  "o.connection,"
                                                                                  "     'kind', o.channel_kind, "
                                                                                  "'exact', o.exact)"
                                                                                  "     ORDER BY o.exact DESC, "
                                                                                  "o.first_seen_at DESC, o.id) FROM o "
                                                                                  "JOIN b ON b.id = o.tenant_id), "
                                                                                  "'[]'))");

typedef struct {
    int limit;
    char *q;
    oc_query_cb cb;
    void *arg;
} search_t;

/* Cuts each kind to the limit and says which had more. */
static void on_search(void *arg, json_t *v, const oc_fail_t *f)
{
    search_t *s = arg;
    if (f == NULL) {
        static const char *const kinds[] = {"skus", "listings", "orders"};
        json_t *more = json_object();
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
            json_t *a = json_object_get(v, kinds[i]);
            int over = json_array_size(a) > (size_t)s->limit;
            if (over)
                json_array_remove(a, json_array_size(a) - 1);
            json_object_set_new(more, kinds[i], json_boolean(over));
        }
        json_object_set_new(v, "more", more);
        json_object_set_new(v, "q", json_string(s->q));
    }
    s->cb(s->arg, v, f);
    free(s->q);
    free(s);
}

void oc_search(oc_thread_t *th, const char *portfolio, const char *brands, const char *q, int limit, oc_query_cb cb,
               void *arg)
{
    char lim[24];
    oc_query_int(lim, limit + 1);
    search_t *s = oc_calloc(1, sizeof(*s));
    *s = (search_t){.limit = limit, .q = oc_strdup(q), .cb = cb, .arg = arg};
    oc_db_tx_t tx = {0};
    const char *tp[] = {portfolio, brands};
    oc_query_step(&tx, &search_tenants, tp, 2);
    const char *sp[] = {q, lim};
    oc_query_step(&tx, &search_run, sp, 2);
    oc_query_run(th, &tx, oc_query_one, "search", on_search, s);
}
