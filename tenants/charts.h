/*
 * charts.h — the series the console's charts draw, read from the brand's own
 * history: the ledger's movements, the push log, the push-lag samples and
 * the stock table.  Nothing is interpolated or made up: every point is a row
 * that happened (a movement, an acknowledged push, a lag sample), a sum of
 * such rows over a day or hour of the brand's time zone, or a figure defined
 * from them (sell-through, days of cover; docs/ARCHITECTURE.md "Charts").
 *
 * Windows are `days` (1..90, the handler checks) counted back from now; the
 * daily series are calendar days of the brand's time zone, today included.
 * Each answer is bounded (the counts are in the functions' comments and in
 * web/openapi.json).  An unknown SKU or connection is OC_FAIL_NOT_FOUND.
 */
#ifndef OC_CHARTS_H
#define OC_CHARTS_H

#include "tenants/query.h"

/** Most movements a stock series answers (the newest; `truncated` says when more happened). */
#define OC_CHARTS_MAX_MOVEMENTS 2000
/** Most published quantities per listing in a stock series (the newest). */
#define OC_CHARTS_MAX_PUSHES 500
/** Most SKUs a sell-through answer lists (those that run out first). */
#define OC_CHARTS_MAX_SKUS 100

/**
 * A SKU's stock over the last `days`: its balance when the window opened
 * (`start`), on hand / committed / available after each movement since, and
 * for each of its listings the quantity the channel was last sent before the
 * window and each one acknowledged (or accepted, pending) since.
 */
void oc_charts_stock(oc_thread_t *th, const char *tenant, const char *code, int days, oc_query_cb cb, void *arg);

/**
 * Units sold (sale movements) per channel connection per calendar day of the
 * brand's time zone over the last `days` days, today included; one series
 * per connection of the brand, and one for sales recorded without a channel
 * when there were any.  `code` NULL: the whole brand; else that SKU only.
 */
void oc_charts_sales(oc_thread_t *th, const char *tenant, const char *code, int days, oc_query_cb cb, void *arg);

/**
 * A connection's push lag over the last `days`: its lag samples grouped by
 * hour (`by_day` 0) or day of the brand's time zone, with how many samples,
 * p50, p99 and the largest per group.
 */
void oc_charts_push_lag(oc_thread_t *th, const char *tenant, const char *connection_id, int days, int by_day,
                        oc_query_cb cb, void *arg);

/**
 * Sell-through over the last `days` calendar days and days of cover now, for
 * the brand and per simple SKU (the OC_CHARTS_MAX_SKUS that run out first;
 * `code` non-NULL: that SKU only).
 */
void oc_charts_sell_through(oc_thread_t *th, const char *tenant, const char *code, int days, oc_query_cb cb, void *arg);

#endif
