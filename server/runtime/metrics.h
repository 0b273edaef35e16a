/*
 * metrics.h — process metrics in Prometheus text format.
 *
 * Counters and gauges are atomics, updated from any thread without locks.
 * Each is declared where it is measured and registered once at start-up.
 * HTTP request metrics (count and latency histogram by route and status)
 * live in an oc_route_metrics_t per route.  Modules whose labels are only
 * known at run time (per connection, per pool) register a collector that
 * appends its own lines when /metrics is scraped.
 */
#ifndef OC_METRICS_H
#define OC_METRICS_H

#include <stdatomic.h>

#include "runtime/common.h"

typedef enum { OC_METRIC_COUNTER, OC_METRIC_GAUGE } oc_metric_kind_t;

typedef struct oc_metric {
    const char *name; /* e.g. "onecount_db_queries_total" */
    const char *help;
    const char *labels; /* e.g. "result=\"ok\"", or NULL */
    oc_metric_kind_t kind;
    _Atomic int64_t value;
    struct oc_metric *next;
} oc_metric_t;

/*
 * One series of a counter family labelled by result, for a file's own
 * shorthand that names the family once:
 *     #define TX(r) OC_RESULT_COUNTER("onecount_db_transactions_total", "PostgreSQL transactions by result.", r)
 *     static oc_metric_t m_tx_ok = TX("ok"), m_tx_err = TX("error");
 */
#define OC_RESULT_COUNTER(name, help, result)                                                                          \
    {                                                                                                                  \
        name, help, "result=\"" result "\"", OC_METRIC_COUNTER                                                         \
    }

#define OC_METRIC_BUCKETS 14
/* Statuses tracked per route; any other code counts under the last slot ("other"). */
#define OC_METRIC_STATUSES 20

typedef struct oc_route_metrics {
    const char *route; /* label: the route pattern, "static" or "unmatched" */
    const char *method;
    _Atomic uint64_t count[OC_METRIC_STATUSES];
    _Atomic uint64_t sum_us[OC_METRIC_STATUSES];
    _Atomic uint64_t buckets[OC_METRIC_STATUSES][OC_METRIC_BUCKETS];
    struct oc_route_metrics *next;
} oc_route_metrics_t;

typedef void (*oc_metrics_collector_fn)(oc_buf_t *out);

/** Registers a metric (static storage); call before threads start. */
void oc_metrics_register(oc_metric_t *m);
/** Registers request metrics for a route (static storage); call before threads start. */
void oc_metrics_register_route(oc_route_metrics_t *rm);
/** Registers a collector called on every scrape. */
void oc_metrics_add_collector(oc_metrics_collector_fn fn);

static inline void oc_metric_add(oc_metric_t *m, int64_t d)
{
    atomic_fetch_add_explicit(&m->value, d, memory_order_relaxed);
}
static inline void oc_metric_set(oc_metric_t *m, int64_t v)
{
    atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

/** Records one finished request with its status and latency. */
void oc_metrics_observe(oc_route_metrics_t *rm, int status, uint64_t latency_us);

/** Appends the whole exposition to `out`. */
void oc_metrics_render(oc_buf_t *out);

#endif
