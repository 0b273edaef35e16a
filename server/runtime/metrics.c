/*
 * metrics.c — registry and Prometheus exposition (see metrics.h).
 */
#include "runtime/metrics.h"

#include <pthread.h>
#include <stdio.h>

static oc_metric_t *metrics_head, **metrics_tail = &metrics_head;
static oc_route_metrics_t *routes_head, **routes_tail = &routes_head;
static oc_metrics_collector_fn collectors[32];
static size_t ncollectors;

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t bucket_us[OC_METRIC_BUCKETS] = {250,   500,    1000,   2500,   5000,    10000,   25000,
                                                      50000, 100000, 250000, 500000, 1000000, 2500000, 10000000};
static const int tracked_status[OC_METRIC_STATUSES - 1] = {200, 201, 202, 204, 301, 304, 400, 401, 403, 404,
                                                           405, 409, 413, 415, 422, 429, 500, 502, 503};

void oc_metrics_register(oc_metric_t *m)
{
    m->next = NULL;
    *metrics_tail = m;
    metrics_tail = &m->next;
}

void oc_metrics_register_route(oc_route_metrics_t *rm)
{
    rm->next = NULL;
    *routes_tail = rm;
    routes_tail = &rm->next;
}

void oc_metrics_add_collector(oc_metrics_collector_fn fn)
{
    if (ncollectors < OC_ARRAY_SIZE(collectors))
        collectors[ncollectors++] = fn;
}

static int status_slot(int status)
{
    for (int i = 0; i < OC_METRIC_STATUSES - 1; i++)
        if (tracked_status[i] == status)
            return i;
    return OC_METRIC_STATUSES - 1;
}

void oc_metrics_observe(oc_route_metrics_t *rm, int status, uint64_t latency_us)
{
    int s = status_slot(status);
    atomic_fetch_add_explicit(&rm->count[s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rm->sum_us[s], latency_us, memory_order_relaxed);
    for (int b = 0; b < OC_METRIC_BUCKETS; b++) {
        if (latency_us <= bucket_us[b]) {
            atomic_fetch_add_explicit(&rm->buckets[s][b], 1, memory_order_relaxed);
            break;
        }
    }
}

/* The status label of slot `s`: the tracked status, or "other" for the last slot. */
static void status_label(int s, char *out, size_t cap)
{
    if (s < OC_METRIC_STATUSES - 1)
        snprintf(out, cap, "%d", tracked_status[s]);
    else
        snprintf(out, cap, "other");
}

static void render_requests(oc_buf_t *out)
{
    oc_buf_printf(out, "# HELP onecount_http_requests_total HTTP requests by route, method and status.\n"
                       "# TYPE onecount_http_requests_total counter\n");
    for (oc_route_metrics_t *rm = routes_head; rm != NULL; rm = rm->next) {
        for (int s = 0; s < OC_METRIC_STATUSES; s++) {
            uint64_t c = atomic_load_explicit(&rm->count[s], memory_order_relaxed);
            if (c == 0)
                continue;
            char st[8];
            status_label(s, st, sizeof(st));
            oc_buf_printf(out, "onecount_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %llu\n",
                          rm->route, rm->method, st, (unsigned long long)c);
        }
    }
    oc_buf_printf(out, "# HELP onecount_http_request_duration_seconds HTTP request latency by route and status.\n"
                       "# TYPE onecount_http_request_duration_seconds histogram\n");
    for (oc_route_metrics_t *rm = routes_head; rm != NULL; rm = rm->next) {
        for (int s = 0; s < OC_METRIC_STATUSES; s++) {
            uint64_t c = atomic_load_explicit(&rm->count[s], memory_order_relaxed);
            if (c == 0)
                continue;
            char st[8];
            status_label(s, st, sizeof(st));
            uint64_t cum = 0;
            for (int b = 0; b < OC_METRIC_BUCKETS; b++) {
                cum += atomic_load_explicit(&rm->buckets[s][b], memory_order_relaxed);
                oc_buf_printf(out,
                              "onecount_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",status=\"%s\","
                              "le=\"%g\"} %llu\n",
                              rm->route, rm->method, st, (double)bucket_us[b] / 1e6, (unsigned long long)cum);
            }
            oc_buf_printf(out,
                          "onecount_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",status=\"%s\","
                          "le=\"+Inf\"} %llu\n",
                          rm->route, rm->method, st, (unsigned long long)c);
            oc_buf_printf(
                out, "onecount_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\",status=\"%s\"} %.6f\n",
                rm->route, rm->method, st, (double)atomic_load_explicit(&rm->sum_us[s], memory_order_relaxed) / 1e6);
            oc_buf_printf(
                out, "onecount_http_request_duration_seconds_count{route=\"%s\",method=\"%s\",status=\"%s\"} %llu\n",
                rm->route, rm->method, st, (unsigned long long)c);
        }
    }
}

void oc_metrics_render(oc_buf_t *out)
{
    render_requests(out);
    const char *last = NULL;
    for (oc_metric_t *m = metrics_head; m != NULL; m = m->next) {
        if (last == NULL || strcmp(last, m->name) != 0) {
            oc_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                          m->kind == OC_METRIC_COUNTER ? "counter" : "gauge");
            last = m->name;
        }
        int64_t v = atomic_load_explicit(&m->value, memory_order_relaxed);
        if (m->labels != NULL)
            oc_buf_printf(out, "%s{%s} %lld\n", m->name, m->labels, (long long)v);
        else
            oc_buf_printf(out, "%s %lld\n", m->name, (long long)v);
    }
    for (size_t i = 0; i < ncollectors; i++)
        collectors[i](out);
}
