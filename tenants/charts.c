/*
 * charts.c — the series the console's charts draw (see charts.h).
 *
 * Each answer is one statement over indexed rows of one brand: a SKU's
 * movements and pushes by movements_sku_time and push_log_listing, the
 * brand's sales by movements_sale_time (migration 0035), a connection's lag
 * samples by their primary key (at most 1024 per connection: a ring).
 */
#include "tenants/charts.h"
#include "tenants/skus.h"

#include <stdio.h>

/* The brand's time zone and the window: `days` calendar days of that zone, today included. */
#define WINDOW_CTE                                                                                                     \
    "b AS (SELECT timezone AS tz FROM brands WHERE id = $1),"                                                          \
    " d AS (SELECT b.tz, (now() AT TIME ZONE b.tz)::date - ($2::int - 1) AS first,"                                    \
    "   (now() AT TIME ZONE b.tz)::date AS last FROM b),"                                                              \
    " w AS (SELECT d.tz, d.first, d.last, (d.first::timestamp AT TIME ZONE d.tz) AS since FROM d)"

/* --- stock over time ------------------------------------------------------------------ */

OC_DB_STMT(
    stock_series, 5,
    "WITH k AS (SELECT id, code, title, kind FROM skus WHERE tenant_id = $1 AND code = $2),"
    " w AS (SELECT now() - $3::int * interval '1 day' AS since, now() AS until)"
    " SELECT json_build_object('sku', k.code, 'title', k.title, 'kind', k.kind,"
    " 'timezone', (SELECT b.timezone FROM brands b WHERE b.id = $1), 'days', $3::int,"
    " 'from', w.since, 'to', w.until,"
    " 'start', (SELECT json_build_object('at', m.created_at, 'on_hand', m.on_hand_after,"
    "   'committed', m.committed_after, 'available', m.on_hand_after - m.committed_after)"
    "   FROM movements m WHERE m.tenant_id = $1 AND m.sku_id = k.id AND m.created_at < w.since"
    "   ORDER BY m.created_at DESC, m.id DESC LIMIT 1),"
    " 'points', coalesce(mv.points, '[]'), 'truncated', coalesce(mv.n, 0) > $4::int,"
    " 'channels', coalesce((SELECT json_agg(json_build_object('listing_id', l.id, 'connection_id', c.id,"
    "   'connection', c.name, 'channel', c.kind, 'external_sku', l.external_sku, 'state', l.state,"
    "   'start', (SELECT json_build_object('at', p.sent_at, 'qty', p.qty) FROM push_log p"
    "     WHERE p.tenant_id = $1 AND p.listing_id = l.id AND p.sent_at < w.since AND p.status IN ('ok', 'pending')"
    "     ORDER BY p.sent_at DESC, p.id DESC LIMIT 1),"
    "   'points', coalesce(pu.points, '[]'), 'truncated', coalesce(pu.n, 0) > $5::int)"
    "   ORDER BY c.name, l.external_sku)"
    "   FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id"
    "   CROSS JOIN LATERAL (SELECT json_agg(json_build_object('at', x.sent_at, 'qty', x.qty, 'status', x.status)"
    "       ORDER BY x.sent_at, x.id) FILTER (WHERE x.r <= $5::int) AS points, count(*) AS n"
    "     FROM (SELECT p.*, row_number() OVER (ORDER BY p.sent_at DESC, p.id DESC) AS r FROM push_log p"
    "       WHERE p.tenant_id = $1 AND p.listing_id = l.id AND p.sent_at >= w.since"
    "       AND p.status IN ('ok', 'pending')"
    "       ORDER BY p.sent_at DESC, p.id DESC LIMIT $5::int + 1) x) pu"
    "   WHERE l.tenant_id = $1 AND l.sku_id = k.id), '[]'))"
    " FROM k, w"
    " CROSS JOIN LATERAL (SELECT json_agg(json_build_object('at', x.created_at, 'movement_id', x.id::text,"
    "     'kind', x.kind, 'qty', x.qty, 'channel_id', x.channel_id, 'on_hand', x.on_hand_after,"
    "     'committed', x.committed_after, 'available', x.on_hand_after - x.committed_after)"
    "     ORDER BY x.created_at, x.id) FILTER (WHERE x.r <= $4::int) AS points,"
    "   count(*) AS n"
    "   FROM (SELECT m.*, row_number() OVER (ORDER BY m.created_at DESC, m.id DESC) AS r FROM movements m"
    "     WHERE m.tenant_id = $1 AND m.sku_id = k.id AND m.created_at >= w.since"
    "     ORDER BY m.created_at DESC, m.id DESC LIMIT $4::int + 1) x) mv");

void oc_charts_stock(oc_thread_t *th, const char *tenant, const char *code, int days, oc_query_cb cb, void *arg)
{
    char n[24], moves[24], pushes[24];
    const char *p[] = {tenant, code, oc_query_int(n, days), oc_query_int(moves, OC_CHARTS_MAX_MOVEMENTS),
                       oc_query_int(pushes, OC_CHARTS_MAX_PUSHES)};
    oc_query_exec(th, tenant, &stock_series, p, oc_query_one, "SKU", cb, arg);
}

/* --- units sold per channel per day ---------------------------------------------------- */

/*
 * $3 the SKU's code or NULL.  One series per connection of the brand (in name
 * order), then sales without a channel when any; `units` has one number per
 * day of `dates`.
 */
OC_DB_STMT(
    sales_daily, 3,
    "WITH " WINDOW_CTE ","
    " s AS (SELECT m.channel_id, (m.created_at AT TIME ZONE w.tz)::date AS day, sum(m.qty) AS units"
    "   FROM movements m, w WHERE m.tenant_id = $1 AND m.kind = 'sale' AND m.created_at >= w.since"
    "   AND ($3::text IS NULL OR m.sku_id = (SELECT k.id FROM skus k WHERE k.tenant_id = $1 AND k.code = $3))"
    "   GROUP BY 1, 2),"
    " ch AS (SELECT c.id, c.name, c.kind, 0 AS o FROM channel_connections c WHERE c.tenant_id = $1"
    "   UNION ALL SELECT NULL::uuid, NULL, NULL, 1 WHERE EXISTS (SELECT 1 FROM s WHERE s.channel_id IS NULL))"
    " SELECT json_build_object('timezone', w.tz, 'days', $2::int, 'from', w.first, 'to', w.last, 'sku', $3::text,"
    " 'dates', (SELECT json_agg(g::date ORDER BY g) FROM generate_series(w.first, w.last, interval '1 day') g),"
    " 'total', (SELECT coalesce(sum(s.units), 0) FROM s),"
    " 'channels', coalesce((SELECT json_agg(json_build_object('connection_id', ch.id, 'connection', ch.name,"
    "   'channel', ch.kind, 'total', (SELECT coalesce(sum(s.units), 0) FROM s"
    "     WHERE s.channel_id IS NOT DISTINCT FROM ch.id),"
    "   'units', (SELECT json_agg(coalesce(s.units, 0) ORDER BY g)"
    "     FROM generate_series(w.first, w.last, interval '1 day') g"
    "     LEFT JOIN s ON s.day = g::date AND s.channel_id IS NOT DISTINCT FROM ch.id))"
    "   ORDER BY ch.o, ch.name, ch.id) FROM ch), '[]'))"
    " FROM w");

/* With a SKU, step 0 checks it exists: an unknown SKU is not found, not a brand of zeros. */
static json_t *read_checked(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    if (res->err == NULL && res->nresults == 2 && PQntuples(res->results[0]) == 0) {
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such %s", what);
        return NULL;
    }
    return oc_query_one(res, what, f);
}

void oc_charts_sales(oc_thread_t *th, const char *tenant, const char *code, int days, oc_query_cb cb, void *arg)
{
    char n[24];
    oc_db_tx_t tx = {.tenant = tenant};
    if (code != NULL)
        oc_skus_exists_step(&tx, tenant, code);
    const char *p[] = {tenant, oc_query_int(n, days), code};
    oc_query_step(&tx, &sales_daily, p, 3);
    oc_query_run(th, &tx, read_checked, "SKU", cb, arg);
}

/* --- push lag over time ----------------------------------------------------------------- */

/* $4 'hour' or 'day' (of the brand's time zone). */
OC_DB_STMT(push_lag_series, 4,
           "WITH b AS (SELECT timezone AS tz FROM brands WHERE id = $1),"
           " g AS (SELECT date_trunc($4, s.measured_at AT TIME ZONE b.tz) AT TIME ZONE b.tz AS at, s.lag_ms"
           "   FROM push_lag_samples s, b WHERE s.tenant_id = $1 AND s.connection_id = $2::uuid"
           "   AND s.measured_at >= now() - $3::int * interval '1 day')"
           " SELECT json_build_object('connection_id', c.id, 'connection', c.name, 'channel', c.kind,"
           " 'timezone', b.tz, 'days', $3::int, 'bucket', $4::text, 'from', now() - $3::int * interval '1 day',"
           " 'to', now(), 'samples', (SELECT count(*) FROM g),"
           " 'points', coalesce((SELECT json_agg(json_build_object('at', x.at, 'samples', x.n, 'p50_ms', x.p50,"
           "   'p99_ms', x.p99, 'max_ms', x.mx) ORDER BY x.at)"
           "   FROM (SELECT g.at, count(*) AS n, percentile_disc(0.5) WITHIN GROUP (ORDER BY g.lag_ms) AS p50,"
           "     percentile_disc(0.99) WITHIN GROUP (ORDER BY g.lag_ms) AS p99, max(g.lag_ms) AS mx"
           "     FROM g GROUP BY g.at) x), '[]'))"
           " FROM channel_connections c, b WHERE c.tenant_id = $1 AND c.id = $2::uuid");

void oc_charts_push_lag(oc_thread_t *th, const char *tenant, const char *connection_id, int days, int by_day,
                        oc_query_cb cb, void *arg)
{
    char n[24];
    const char *p[] = {tenant, connection_id, oc_query_int(n, days), by_day ? "day" : "hour"};
    oc_query_exec(th, tenant, &push_lag_series, p, oc_query_one, "connection", cb, arg);
}

/* --- sell-through and days of cover -------------------------------------------------------- */

/*
 * Per simple SKU: units sold in the window, available now (on hand −
 * committed − held, below zero counted as zero), sales of the last 14 days.
 * sell-through = sold / (sold + available); days of cover = available /
 * (sales of the last 14 days / 14), NULL without such sales.  Archived SKUs
 * count only when they sold in the window.  The brand's figures are the same
 * over the sums of every such SKU.
 */
#define ST_FIGURES(sold, avail, sold14)                                                                                \
    "'units_sold', " sold ", 'available', " avail ", 'sold_last_14_days', " sold14 ","                                 \
    " 'avg_daily_sales', round(" sold14 " / 14.0, 3),"                                                                 \
    " 'sell_through', CASE WHEN " sold " + " avail " > 0 THEN round(" sold "::numeric / (" sold " + " avail            \
    "), 4) END,"                                                                                                       \
    " 'days_of_cover', CASE WHEN " sold14 " > 0 THEN round(" avail " / (" sold14 " / 14.0), 1) END"

OC_DB_STMT(sell_through, 4,
           "WITH " WINDOW_CTE ","
           " s AS (SELECT m.sku_id, coalesce(sum(m.qty) FILTER (WHERE m.created_at >= w.since), 0) AS sold,"
           "   coalesce(sum(m.qty) FILTER (WHERE m.created_at >= now() - interval '14 days'), 0) AS sold14"
           "   FROM movements m, w WHERE m.tenant_id = $1 AND m.kind = 'sale'"
           "   AND m.created_at >= least(w.since, now() - interval '14 days')"
           "   AND ($3::text IS NULL OR m.sku_id = (SELECT k.id FROM skus k WHERE k.tenant_id = $1 AND k.code = $3))"
           "   GROUP BY m.sku_id),"
           " r AS MATERIALIZED (SELECT k.code, k.title, coalesce(s.sold, 0) AS sold, coalesce(s.sold14, 0) AS sold14,"
           "   greatest(coalesce(st.on_hand - st.committed - st.held, 0), 0) AS avail"
           "   FROM skus k LEFT JOIN stock st ON st.tenant_id = k.tenant_id AND st.sku_id = k.id"
           "   LEFT JOIN s ON s.sku_id = k.id"
           "   WHERE k.tenant_id = $1 AND k.kind = 'simple' AND ($3::text IS NULL OR k.code = $3)"
           "   AND (k.archived_at IS NULL OR s.sold > 0)),"
           " t AS (SELECT coalesce(sum(sold), 0) AS sold, coalesce(sum(sold14), 0) AS sold14,"
           "   coalesce(sum(avail), 0) AS avail, count(*) AS n FROM r)"
           " SELECT json_build_object('timezone', w.tz, 'days', $2::int, 'from', w.first, 'to', w.last,"
           " 'brand', (SELECT json_build_object(" ST_FIGURES(
               "t.sold", "t.avail",
               "t.sold14") ", 'skus', t.n) FROM t),"
                           " 'skus_total', (SELECT t.n FROM t),"
                           " 'skus', coalesce((SELECT json_agg(x.j ORDER BY x.o) FROM (SELECT row_number() OVER ("
                           "     ORDER BY CASE WHEN r.sold14 > 0 THEN r.avail / (r.sold14 / 14.0) END ASC NULLS LAST,"
                           "     r.sold DESC, r.code) AS o,"
                           "   json_build_object('sku', r.code, 'title', r.title, " ST_FIGURES(
                               "r.sold", "r.avail", "r.sold14") ") AS j"
                                                                "   FROM r ORDER BY o LIMIT $4::int) x), '[]'))"
                                                                " FROM w");

void oc_charts_sell_through(oc_thread_t *th, const char *tenant, const char *code, int days, oc_query_cb cb, void *arg)
{
    char n[24];
    oc_db_tx_t tx = {.tenant = tenant};
    if (code != NULL)
        oc_skus_exists_step(&tx, tenant, code);
    char most[24];
    const char *p[] = {tenant, oc_query_int(n, days), code, oc_query_int(most, OC_CHARTS_MAX_SKUS)};
    oc_query_step(&tx, &sell_through, p, 4);
    oc_query_run(th, &tx, read_checked, "SKU", cb, arg);
}
