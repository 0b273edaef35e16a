/*
 * api_exports.c — the brand's SKUs, bundles, counts, listings and movements
 * as CSV attachments (tenants/reports.h builds them).
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/reports.h"

#include <stdio.h>

void oc_api_answer_csv(void *arg, const char *filename, const char *csv, size_t len, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    if (f != NULL) {
        oc_respond_fail(r, f);
        return;
    }
    char disp[96];
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
    oc_resp_header(r, "content-disposition", disp);
    oc_respond_raw(r, 200, "text/csv; charset=utf-8", csv, len);
}

static void export(oc_req_t *r, oc_report_t report)
{
    const char *from = NULL, *to = NULL;
    if (report == OC_REPORT_MOVEMENTS) {
        from = oc_req_query(r, "from");
        to = oc_req_query(r, "to");
        if (!oc_query_time_ok(r, from, "from") || !oc_query_time_ok(r, to, "to"))
            return;
    }
    oc_reports_export(r->thread, r->tenant, report, from, to, oc_api_answer_csv, r);
}

void oc_api_export_skus(oc_req_t *r)
{
    export(r, OC_REPORT_SKUS);
}

void oc_api_export_bundles(oc_req_t *r)
{
    export(r, OC_REPORT_BUNDLES);
}

void oc_api_export_counts(oc_req_t *r)
{
    export(r, OC_REPORT_COUNTS);
}

void oc_api_export_movements(oc_req_t *r)
{
    export(r, OC_REPORT_MOVEMENTS);
}

void oc_api_export_listings(oc_req_t *r)
{
    export(r, OC_REPORT_LISTINGS);
}
