/*
 * reports.h — the brand's SKUs, bundles, counts, listings and movements as
 * CSV files.
 *
 * PostgreSQL writes the CSV (migrations/0005: csv_line): each page is one
 * statement answering the page's text, its last sort key and its row
 * count, so a large brand is read in bounded transactions and this side
 * only concatenates.  The whole file is built in memory up to
 * ONECOUNT_MAX_EXPORT_BYTES (then "export_too_large": narrow it).  Pages
 * are separate transactions: a write landing during a long export may show
 * in a later page and not in an earlier one.
 *
 * skus.csv, bundles.csv and counts.csv are exactly what the imports read
 * (imports.h), so an export imported into another brand reproduces the
 * SKUs, the bundles and the counts.  listings.csv names each connection by
 * its name and imports back as it is (into the same brand: it changes
 * nothing; into another with connections of the same names: it maps them).
 */
#ifndef OC_REPORTS_H
#define OC_REPORTS_H

#include "tenants/audit.h"
#include "tenants/query.h"

typedef enum {
    OC_REPORT_SKUS,
    OC_REPORT_BUNDLES,
    OC_REPORT_COUNTS,
    OC_REPORT_MOVEMENTS, /* the only one that takes from and to */
    OC_REPORT_LISTINGS,
} oc_report_t;

/**
 * Called once on the loop thread: the file's name and bytes (borrowed for
 * the call), or NULL with `f`.
 */
typedef void (*oc_report_cb)(void *arg, const char *filename, const char *csv, size_t len, const oc_fail_t *f);

/** Builds `report` of `tenant`; `from` and `to` (RFC 3339, NULL = open) bound the movements. */
void oc_reports_export(oc_thread_t *th, const char *tenant, oc_report_t report, const char *from, const char *to,
                       oc_report_cb cb, void *arg);

/**
 * audit.csv: the audit log oldest first, filtered by flt's brand, actor,
 * action prefix, from and to (flt->portfolio names the portfolio).  With `tenant` set, that
 * brand's log (flt->brand must be it); with `tenant` NULL, every brand of the
 * portfolio and the portfolio's own records (those only when flt->brand is
 * NULL).  Actors and brands by name beside their ids; times in UTC.
 */
void oc_reports_audit(oc_thread_t *th, const char *tenant, const char *portfolio, const oc_audit_filter_t *flt,
                      oc_report_cb cb, void *arg);

#endif
