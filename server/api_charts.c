/*
 * api_charts.c — the series the console's charts draw (tenants/charts.h):
 * a SKU's stock over time, units sold per channel per day, a connection's
 * push lag over time, sell-through and days of cover.  Every window is
 * ?days= (a whole number from 1 to 90, 14 when absent); anything else is 422.
 */
#include "server/api.h"
#include "tenants/charts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const buckets[] = {"hour", "day", NULL};

/* ?days=: 1..90, `dflt` when absent; 0 after answering 422. */
static int window_days(oc_req_t *r, int dflt, int *days)
{
    const char *s = oc_req_query(r, "days");
    *days = dflt;
    if (s == NULL)
        return 1;
    char *end = NULL;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || n < 1 || n > 90) {
        oc_respond_error(r, 422, "invalid", "days is a whole number from 1 to 90", "days");
        return 0;
    }
    *days = (int)n;
    return 1;
}

/* ?sku=: a SKU's code when given (not empty). */
static int sku_query(oc_req_t *r, const char **code)
{
    *code = oc_req_query(r, "sku");
    if (*code != NULL && **code == '\0') {
        oc_respond_error(r, 422, "invalid", "sku is a SKU's code; leave it out for the whole brand", "sku");
        return 0;
    }
    return 1;
}

void oc_api_chart_stock(oc_req_t *r)
{
    int days;
    if (!window_days(r, 14, &days))
        return;
    oc_charts_stock(r->thread, r->tenant, oc_req_param(r, "code"), days, oc_api_answer, r);
}

void oc_api_chart_sales(oc_req_t *r)
{
    int days;
    const char *code;
    if (!window_days(r, 14, &days) || !sku_query(r, &code))
        return;
    oc_charts_sales(r->thread, r->tenant, code, days, oc_api_answer, r);
}

void oc_api_chart_push_lag(oc_req_t *r)
{
    const char *cid = oc_req_id_param(r, "cid", "no such connection");
    if (cid == NULL)
        return;
    int days;
    const char *bucket = oc_req_query(r, "bucket");
    if (!window_days(r, 7, &days) || !oc_api_check_enum(r, bucket, buckets, "bucket"))
        return;
    oc_charts_push_lag(r->thread, r->tenant, cid, days, bucket != NULL && strcmp(bucket, "day") == 0, oc_api_answer, r);
}

void oc_api_chart_sell_through(oc_req_t *r)
{
    int days;
    const char *code;
    if (!window_days(r, 14, &days) || !sku_query(r, &code))
        return;
    oc_charts_sell_through(r->thread, r->tenant, code, days, oc_api_answer, r);
}
