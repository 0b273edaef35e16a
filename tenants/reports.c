/*
 * reports.c — CSV exports, page by page (see reports.h).
 */
#include "tenants/reports.h"
#include "tenants/brands.h"
#include "runtime/alloc.h"
#include "runtime/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_ROWS "5000"

/*
 * Every page statement: ($1 tenant, …, key after, limit) → (csv text, last
 * key, rows).  Related rows are read through per-row look-ups (LATERAL …
 * LIMIT 1, scalar subqueries), never joins, so the plans stay index probes
 * even while the statistics are stale after a bulk import.
 */
OC_DB_STMT(export_skus_page, 3,
           "WITH p AS MATERIALIZED (SELECT k.tenant_id, k.id, k.code, k.title, k.barcode, k.kind, k.archived_at,"
           "   st.on_hand, st.committed, st.held FROM skus k"
           "   CROSS JOIN LATERAL (SELECT st.on_hand, st.committed, st.held FROM stock st"
           "     WHERE st.tenant_id = k.tenant_id AND st.sku_id = k.id LIMIT 1) st"
           "   WHERE k.tenant_id = $1 AND ($2::text IS NULL OR k.code > $2) ORDER BY k.code LIMIT $3)"
           " SELECT coalesce(string_agg(csv_line(code, title, barcode, kind,"
           "   CASE WHEN kind = 'simple' THEN on_hand::text END, CASE WHEN kind = 'simple' THEN committed::text END,"
           "   CASE WHEN kind = 'simple' THEN held::text END,"
           "   CASE WHEN kind = 'simple' THEN (on_hand - committed - held)::text"
           "        ELSE sku_available(tenant_id, id)::text END,"
           "   (archived_at IS NOT NULL)::text), '' ORDER BY code), ''), max(code), count(*) FROM p");
OC_DB_STMT(export_bundles_page, 3,
           "WITH b AS MATERIALIZED (SELECT id, code, title FROM skus WHERE tenant_id = $1 AND kind = 'bundle'"
           "   AND ($2::text IS NULL OR code > $2) ORDER BY code LIMIT $3)"
           " SELECT coalesce((SELECT string_agg(csv_line(b.code, b.title, x.comp, x.qty::text), '' ORDER BY b.code,"
           "   x.comp) FROM b CROSS JOIN LATERAL (SELECT bc.qty, (SELECT c.code FROM skus c WHERE c.tenant_id = $1"
           "     AND c.id = bc.component_id) AS comp FROM bundle_components bc"
           "     WHERE bc.tenant_id = $1 AND bc.bundle_id = b.id OFFSET 0) x), ''),"
           " (SELECT max(code) FROM b), (SELECT count(*) FROM b)");
OC_DB_STMT(export_counts_page, 3,
           "WITH p AS MATERIALIZED (SELECT k.code, st.on_hand FROM skus k"
           "   CROSS JOIN LATERAL (SELECT st.on_hand FROM stock st WHERE st.tenant_id = k.tenant_id"
           "     AND st.sku_id = k.id LIMIT 1) st"
           "   WHERE k.tenant_id = $1 AND k.kind = 'simple' AND ($2::text IS NULL OR k.code > $2)"
           "   ORDER BY k.code LIMIT $3)"
           " SELECT coalesce(string_agg(csv_line(code, on_hand::text), '' ORDER BY code), ''), max(code), count(*)"
           " FROM p");
OC_DB_STMT(export_movements_page, 5,
           "WITH p AS MATERIALIZED (SELECT m.* FROM movements m WHERE m.tenant_id = $1"
           "   AND ($2::timestamptz IS NULL OR m.created_at >= $2) AND ($3::timestamptz IS NULL OR m.created_at < $3)"
           "   AND ($4::bigint IS NULL OR m.id > $4) ORDER BY m.id LIMIT $5)"
           " SELECT coalesce(string_agg(csv_line(p.id::text,"
           "   to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
           "   (SELECT k.code FROM skus k WHERE k.tenant_id = $1 AND k.id = p.sku_id), p.kind,"
           "   p.qty::text, p.on_hand_delta::text, p.committed_delta::text, p.inspecting_delta::text,"
           "   p.on_hand_after::text, p.committed_after::text, p.disposition, p.reason, p.reference,"
           "   p.channel_id::text, (SELECT b.code FROM skus b WHERE b.tenant_id = $1 AND b.id = p.bundle_sku_id),"
           "   p.guarded::text, p.actor_user::text, p.actor_token::text, p.request_id), '' ORDER BY p.id), ''),"
           "   max(p.id)::text, count(*)"
           " FROM p");

/* Listings by connection name, then SKU code; the key after a page is [name, code] as JSON. */
OC_DB_STMT(export_listings_page, 3,
           "WITH p AS MATERIALIZED (SELECT c.name, k.code, l.external_sku, l.item_ref, l.location_ref"
           "   FROM channel_connections c"
           "   CROSS JOIN LATERAL (SELECT l.sku_id, l.external_sku, l.item_ref, l.location_ref FROM listings l"
           "     WHERE l.tenant_id = $1 AND l.connection_id = c.id OFFSET 0) l"
           "   CROSS JOIN LATERAL (SELECT k.code FROM skus k WHERE k.tenant_id = $1 AND k.id = l.sku_id LIMIT 1) k"
           "   WHERE c.tenant_id = $1 AND ($2::text IS NULL OR c.name >= $2::jsonb->>0)"
           "   AND ($2::text IS NULL OR (c.name, k.code) > ($2::jsonb->>0, $2::jsonb->>1))"
           "   ORDER BY c.name, k.code LIMIT $3)"
           " SELECT coalesce((SELECT string_agg(csv_line(name, code, external_sku, item_ref, location_ref), ''"
           "   ORDER BY name, code) FROM p), ''),"
           " (SELECT json_build_array(name, code)::text FROM p ORDER BY name DESC, code DESC LIMIT 1),"
           " (SELECT count(*) FROM p)");

/*
 * The audit log, oldest first by (at, brand, id): the brand logs the
 * transaction's tenants allow, and the portfolio's own unless one brand is
 * asked for.  The key after a page is [at, brand, id] as JSON; actors and
 * brands by name.
 */
OC_DB_STMT(export_audit_page, 8,
           "WITH p AS MATERIALIZED (SELECT * FROM ("
           "   SELECT a.at, a.tenant_id::text AS b, a.id, a.tenant_id, a.actor_user, a.actor_token, a.action,"
           "     a.object_type, a.object_id, a.summary, a.request_id FROM audit_log a"
           "   WHERE ($2::uuid IS NULL OR a.tenant_id = $2)"
           "     AND ($3::uuid IS NULL OR a.actor_user = $3 OR a.actor_token = $3)"
           "     AND ($4::timestamptz IS NULL OR a.at >= $4) AND ($5::timestamptz IS NULL OR a.at < $5)"
           "   UNION ALL"
           "   SELECT p.at, '' AS b, p.id, NULL::uuid, p.actor_user, p.actor_token, p.action, p.object_type,"
           "     p.object_id, p.summary, p.request_id FROM portfolio_audit p"
           "   WHERE p.portfolio_id = $1 AND $2::uuid IS NULL"
           "     AND ($3::uuid IS NULL OR p.actor_user = $3 OR p.actor_token = $3)"
           "     AND ($4::timestamptz IS NULL OR p.at >= $4) AND ($5::timestamptz IS NULL OR p.at < $5)) x"
           "   WHERE ($8::text IS NULL OR starts_with(x.action, $8)) AND ($6::text IS NULL OR (x.at, x.b, x.id) > "
           "(($6::jsonb->>0)::timestamptz, $6::jsonb->>1,"
           "     ($6::jsonb->>2)::bigint))"
           "   ORDER BY x.at, x.b, x.id LIMIT $7)"
           " SELECT coalesce((SELECT string_agg(csv_line("
           "   to_char(p.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
           "   (SELECT b.name FROM brands b WHERE b.id = p.tenant_id),"
           "   coalesce((SELECT u.name || ' <' || u.email || '>' FROM users u WHERE u.id = p.actor_user),"
           "     (SELECT 'API token ' || t.name FROM api_tokens t WHERE t.id = p.actor_token)),"
           "   coalesce(p.actor_user, p.actor_token)::text, p.action, p.object_type, p.object_id, p.summary::text,"
           "   p.request_id), '' ORDER BY p.at, p.b, p.id) FROM p), ''),"
           " (SELECT json_build_array(p.at, p.b, p.id)::text FROM p ORDER BY p.at DESC, p.b DESC, p.id DESC LIMIT 1),"
           " (SELECT count(*) FROM p)");

typedef struct export_spec {
    const char *filename;
    const char *header;
    const oc_db_stmt_t *page;
    int filters; /* takes from and to */
} export_spec_t;

static const export_spec_t skus_spec = {
    "skus.csv", "code,title,barcode,kind,on_hand,committed,held,available,archived\r\n", &export_skus_page, 0};
static const export_spec_t bundles_spec = {"bundles.csv", "bundle_code,bundle_title,component_code,qty\r\n",
                                           &export_bundles_page, 0};
static const export_spec_t counts_spec = {"counts.csv", "code,on_hand\r\n", &export_counts_page, 0};
static const export_spec_t movements_spec = {
    "movements.csv",
    "id,at,sku,kind,qty,on_hand_delta,committed_delta,inspecting_delta,on_hand_after,committed_after,disposition,"
    "reason,reference,channel_id,bundle,guarded,actor_user,actor_token,request_id\r\n",
    &export_movements_page, 1};

static const export_spec_t listings_spec = {"listings.csv", "connection,sku,external_sku,item_ref,location_ref\r\n",
                                            &export_listings_page, 0};

static const export_spec_t audit_spec = {
    "audit.csv", "at,brand,actor,actor_id,action,object_type,object_id,summary,request_id\r\n", &export_audit_page, 1};

static const export_spec_t *const specs[] = {
    [OC_REPORT_SKUS] = &skus_spec,           [OC_REPORT_BUNDLES] = &bundles_spec,   [OC_REPORT_COUNTS] = &counts_spec,
    [OC_REPORT_MOVEMENTS] = &movements_spec, [OC_REPORT_LISTINGS] = &listings_spec,
};

typedef struct {
    oc_thread_t *th;
    const export_spec_t *spec;
    const char *tenant, *from, *to; /* the caller's, valid until the answer */
    const oc_audit_filter_t *audit; /* the audit log: its filters (the caller's), else NULL */
    const char *portfolio;          /* the audit log of a whole portfolio (its brands as tenants), else NULL */
    char *after;                    /* last key of the previous page, or NULL */
    oc_buf_t out;
    oc_report_cb cb;
    void *arg;
} export_t;

/* Answers the file, or the failure `f` when set, and frees the export. */
static void finish(export_t *e, oc_fail_t *f)
{
    if (f != NULL) {
        e->cb(e->arg, NULL, NULL, 0, f);
        oc_fail_clear(f);
    } else {
        e->cb(e->arg, e->spec->filename, e->out.data, e->out.len, NULL);
    }
    oc_buf_free(&e->out);
    free(e->after);
    free(e);
}

static void fail_unavailable(export_t *e, const char *what)
{
    oc_fail_t f = {0};
    oc_fail_unavailable(&f, what);
    finish(e, &f);
}

static int next_page(export_t *e);

static void on_page(void *arg, const oc_db_result_t *res)
{
    export_t *e = arg;
    oc_fail_t f = {0};
    if (res->err != NULL) {
        oc_fail_db(&f, res);
        finish(e, &f);
        return;
    }
    const PGresult *pr = oc_query_last(res); /* the page, after the audit export's tenants step */
    const char *text = oc_db_get(pr, 0, 0), *last = oc_db_get(pr, 0, 1);
    long long rows = oc_db_get_ll(pr, 0, 2, 0);
    if (text != NULL && oc_buf_append(&e->out, text, strlen(text)) != 0) {
        fail_unavailable(e, "memory for the export");
        return;
    }
    if (e->out.len > (size_t)oc_config.max_export_bytes) {
        oc_fail(&f, OC_FAIL_INVALID, "export_too_large", e->spec->filters ? "to" : NULL,
                "the export is larger than %d bytes; %s", oc_config.max_export_bytes,
                e->spec->filters ? "narrow it with from and to" : "ask for a larger ONECOUNT_MAX_EXPORT_BYTES");
        finish(e, &f);
        return;
    }
    if (rows < atoll(PAGE_ROWS) || last == NULL) {
        finish(e, NULL);
        return;
    }
    free(e->after);
    e->after = oc_strdup(last);
    if (next_page(e) != 0)
        fail_unavailable(e, "the database");
}

static int next_page(export_t *e)
{
    oc_db_tx_t tx = {.tenant = e->tenant};
    if (e->audit != NULL) {
        if (e->portfolio != NULL)
            oc_brands_portfolio_tenants_step(&tx, e->portfolio);
        const char *p[] = {e->audit->portfolio, e->audit->brand,        e->audit->actor, e->from, e->to, e->after,
                           PAGE_ROWS,           e->audit->action_prefix};
        oc_query_step(&tx, e->spec->page, p, 8);
    } else if (e->spec->filters) {
        const char *p[] = {e->tenant, e->from, e->to, e->after, PAGE_ROWS};
        oc_query_step(&tx, e->spec->page, p, 5);
    } else {
        const char *p[] = {e->tenant, e->after, PAGE_ROWS};
        oc_query_step(&tx, e->spec->page, p, 3);
    }
    return oc_db_run(e->th->db, &tx, on_page, e);
}

void oc_reports_export(oc_thread_t *th, const char *tenant, oc_report_t report, const char *from, const char *to,
                       oc_report_cb cb, void *arg)
{
    export_t *e = oc_calloc(1, sizeof(*e));
    *e = (export_t){.th = th, .spec = specs[report], .tenant = tenant, .from = from, .to = to, .cb = cb, .arg = arg};
    if (oc_buf_append(&e->out, e->spec->header, strlen(e->spec->header)) != 0) {
        fail_unavailable(e, "memory for the export");
        return;
    }
    if (next_page(e) != 0)
        fail_unavailable(e, "the database");
}

void oc_reports_audit(oc_thread_t *th, const char *tenant, const char *portfolio, const oc_audit_filter_t *flt,
                      oc_report_cb cb, void *arg)
{
    export_t *e = oc_calloc(1, sizeof(*e));
    *e = (export_t){.th = th,
                    .spec = &audit_spec,
                    .tenant = tenant,
                    .from = flt->from,
                    .to = flt->to,
                    .audit = flt,
                    .portfolio = tenant == NULL ? portfolio : NULL,
                    .cb = cb,
                    .arg = arg};
    if (oc_buf_append(&e->out, e->spec->header, strlen(e->spec->header)) != 0) {
        fail_unavailable(e, "memory for the export");
        return;
    }
    if (next_page(e) != 0)
        fail_unavailable(e, "the database");
}
