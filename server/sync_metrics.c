/*
 * sync_metrics.c — sync gauges in /metrics, bounded whatever the number of
 * tenants.
 *
 * The worker keeps each connection's health in PostgreSQL
 * (connection_health, listings); `serve` reads it every few seconds on its
 * first thread (tenants/syncstats.h: brands in chunks, so row-level
 * security applies as everywhere else), and renders the lines once; a
 * scrape appends the last rendering.
 *
 * Series: totals per channel kind (connections, listings behind, the
 * oldest unacknowledged change, open circuits, failing connections,
 * pushes, 429s, the slowest push), and per-connection series (brand and
 * connection ids, never names) for at most `metrics_top_connections`
 * connections: those furthest behind.  So the number of series is bounded
 * by kinds × gauges + K × gauges, not by tenants × connections; an
 * operator alerted by a total finds the connection in the top K, or asks
 * the brand's /sync.
 */
#include "server/sync_metrics.h"
#include "runtime/alloc.h"
#include "runtime/config.h"
#include "server/http.h"
#include "runtime/metrics.h"
#include "tenants/syncstats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_MS 10000
#define CHUNK      400

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *rendered;

typedef struct {
    oc_thread_t *th;
    oc_timer_t timer;
    int pending;  /* a read is in flight */
    int closing;  /* the thread is going: free when the read answers */
    json_t *rows; /* the rows being rendered (borrowed) */
} sm_t;

static const struct {
    const char *name, *help, *type;
    int col;
} gauges[] = {
    {"onecount_connection_queue_depth", "listings whose published quantity the channel has not acknowledged", "gauge",
     OC_SYNCSTATS_DEPTH},
    {"onecount_connection_oldest_dirty_seconds",
     "how long the listing behind longest has waited for a push to get through", "gauge", OC_SYNCSTATS_OLDEST},
    {"onecount_connection_last_push_ok_age_seconds", "seconds since the last acknowledged push", "gauge",
     OC_SYNCSTATS_OK_AGE},
    {"onecount_connection_push_latency_ms", "moving average of one push round trip", "gauge", OC_SYNCSTATS_LATENCY},
    {"onecount_connection_throttled_total", "pushes the channel answered with 429", "counter", OC_SYNCSTATS_THROTTLED},
    {"onecount_connection_pushes_total", "listings pushed", "counter", OC_SYNCSTATS_PUSHES},
    {"onecount_connection_circuit_open", "1 while the connection's circuit is open", "gauge", OC_SYNCSTATS_OPEN},
    {"onecount_connection_consecutive_failures", "push batches failed in a row", "gauge", OC_SYNCSTATS_FAILS},
};

static void collector(oc_buf_t *out)
{
    pthread_mutex_lock(&mu);
    if (rendered != NULL)
        oc_buf_append(out, rendered, strlen(rendered));
    pthread_mutex_unlock(&mu);
}

static double num(json_t *row, int col)
{
    return json_number_value(json_array_get(row, (size_t)col));
}

/* Furthest behind first: listings behind, then the age of the oldest change. */
static int by_backlog(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double d = num(y, OC_SYNCSTATS_DEPTH) - num(x, OC_SYNCSTATS_DEPTH);
    if (d == 0)
        d = num(y, OC_SYNCSTATS_OLDEST) - num(x, OC_SYNCSTATS_OLDEST);
    return d > 0 ? 1 : d < 0 ? -1 : 0;
}

static const struct {
    const char *name, *help, *type;
    int col;
    enum { SUM, MAX, COUNT_NONZERO, COUNT } agg;
} totals[] = {
    {"onecount_sync_connections", "channel connections", "gauge", OC_SYNCSTATS_CONN, COUNT},
    {"onecount_sync_queue_depth", "listings whose published quantity the channel has not acknowledged, all connections",
     "gauge", OC_SYNCSTATS_DEPTH, SUM},
    {"onecount_sync_oldest_dirty_seconds",
     "how long the listing behind longest, of any connection, has waited for a push to get through", "gauge",
     OC_SYNCSTATS_OLDEST, MAX},
    {"onecount_sync_last_push_ok_age_seconds_max", "seconds since the last acknowledged push, the stalest connection",
     "gauge", OC_SYNCSTATS_OK_AGE, MAX},
    {"onecount_sync_push_latency_ms_max", "moving average of one push round trip, the slowest connection", "gauge",
     OC_SYNCSTATS_LATENCY, MAX},
    {"onecount_sync_throttled_total", "pushes the channels answered with 429", "counter", OC_SYNCSTATS_THROTTLED, SUM},
    {"onecount_sync_pushes_total", "listings pushed", "counter", OC_SYNCSTATS_PUSHES, SUM},
    {"onecount_sync_circuit_open_connections", "connections whose circuit is open", "gauge", OC_SYNCSTATS_OPEN,
     COUNT_NONZERO},
    {"onecount_sync_failing_connections", "connections whose last push batch failed", "gauge", OC_SYNCSTATS_FAILS,
     COUNT_NONZERO},
};

static void render(sm_t *s)
{
    oc_buf_t b = {0};
    /* Totals per channel kind. */
    const char *kinds[8];
    size_t nkinds = 0, i;
    json_t *row;
    json_array_foreach(s->rows, i, row)
    {
        const char *k = json_string_value(json_array_get(row, OC_SYNCSTATS_KIND));
        size_t j = 0;
        while (j < nkinds && strcmp(kinds[j], k) != 0)
            j++;
        if (j == nkinds && nkinds < OC_ARRAY_SIZE(kinds))
            kinds[nkinds++] = k;
    }
    for (size_t t = 0; t < OC_ARRAY_SIZE(totals); t++) {
        oc_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", totals[t].name, totals[t].help, totals[t].name,
                      totals[t].type);
        for (size_t k = 0; k < nkinds; k++) {
            double v = 0;
            json_array_foreach(s->rows, i, row)
            {
                if (strcmp(json_string_value(json_array_get(row, OC_SYNCSTATS_KIND)), kinds[k]) != 0)
                    continue;
                double x = num(row, totals[t].col);
                switch (totals[t].agg) {
                case SUM: v += x; break;
                case MAX: v = x > v ? x : v; break;
                case COUNT_NONZERO: v += x != 0; break;
                case COUNT: v += 1; break;
                }
            }
            oc_buf_printf(&b, "%s{kind=\"%s\"} %g\n", totals[t].name, kinds[k], v);
        }
    }
    /* The K connections furthest behind, each with its own series. */
    size_t n = json_array_size(s->rows), top = 0;
    json_t **sorted = n > 0 ? oc_malloc(n * sizeof(*sorted)) : NULL;
    for (i = 0; sorted != NULL && i < n; i++)
        if (num(json_array_get(s->rows, i), OC_SYNCSTATS_DEPTH) > 0)
            sorted[top++] = json_array_get(s->rows, i);
    if (top > 0)
        qsort(sorted, top, sizeof(*sorted), by_backlog);
    if (top > (size_t)oc_config.metrics_top_connections)
        top = (size_t)oc_config.metrics_top_connections;
    for (size_t g = 0; g < OC_ARRAY_SIZE(gauges); g++) {
        oc_buf_printf(&b, "# HELP %s %s (the %d connections furthest behind)\n# TYPE %s %s\n", gauges[g].name,
                      gauges[g].help, oc_config.metrics_top_connections, gauges[g].name, gauges[g].type);
        for (i = 0; i < top; i++) {
            json_t *v = json_array_get(sorted[i], (size_t)gauges[g].col);
            if (!json_is_number(v))
                continue;
            oc_buf_printf(&b, "%s{brand=\"%s\",connection=\"%s\",kind=\"%s\"} %g\n", gauges[g].name,
                          json_string_value(json_array_get(sorted[i], OC_SYNCSTATS_BRAND)),
                          json_string_value(json_array_get(sorted[i], OC_SYNCSTATS_CONN)),
                          json_string_value(json_array_get(sorted[i], OC_SYNCSTATS_KIND)), json_number_value(v));
        }
    }
    free(sorted);
    char *text = oc_strdup(oc_buf_cstr(&b));
    oc_buf_free(&b);
    pthread_mutex_lock(&mu);
    free(rendered);
    rendered = text;
    pthread_mutex_unlock(&mu);
}

static void on_read(void *arg, json_t *rows)
{
    sm_t *s = arg;
    s->pending = 0;
    if (s->closing) {
        free(s);
        return;
    }
    s->rows = rows;
    render(s);
    s->rows = NULL;
    oc_timer_start(s->th->loop, &s->timer, REFRESH_MS);
}

static void refresh(oc_timer_t *t)
{
    sm_t *s = t->data;
    if (oc_syncstats_read(s->th->db, CHUNK, on_read, s) == 0)
        s->pending = 1;
    else
        oc_timer_start(s->th->loop, &s->timer, REFRESH_MS);
}

static void sm_dispose(void *p)
{
    sm_t *s = p;
    oc_timer_stop(s->th->loop, &s->timer);
    if (s->pending > 0) {
        s->closing = 1;
        return;
    }
    free(s);
}

void oc_sync_metrics_init(void)
{
    oc_metrics_add_collector(collector);
}

void oc_sync_metrics_start(oc_thread_t *th)
{
    sm_t *s = oc_calloc(1, sizeof(*s));
    s->th = th;
    oc_timer_init(&s->timer, refresh, s);
    static const char slot;
    oc_thread_set_slot(th, &slot, s, sm_dispose);
    oc_timer_start(th->loop, &s->timer, 500);
}
