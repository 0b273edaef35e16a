/* Unit tests for server/runtime/metrics.c: counters, gauges, histograms in Prometheus text. */
#include "runtime/metrics.h"
#include "test.h"

static oc_metric_t a = {"test_things_total", "Things.", "kind=\"a\"", OC_METRIC_COUNTER};
static oc_metric_t b = {"test_things_total", "Things.", "kind=\"b\"", OC_METRIC_COUNTER};
static oc_metric_t g = {"test_level", "Level.", NULL, OC_METRIC_GAUGE};
static oc_route_metrics_t rm = {.route = "/x/{id}", .method = "GET"};

static void collector(oc_buf_t *out)
{
    oc_buf_printf(out, "test_collected 7\n");
}

int main(void)
{
    oc_metrics_register(&a);
    oc_metrics_register(&b);
    oc_metrics_register(&g);
    oc_metrics_register_route(&rm);
    oc_metrics_add_collector(collector);
    oc_metric_add(&a, 3);
    oc_metric_add(&b, 1);
    oc_metric_set(&g, -2);
    oc_metrics_observe(&rm, 200, 300);   /* 0.3 ms */
    oc_metrics_observe(&rm, 200, 20000); /* 20 ms */
    oc_metrics_observe(&rm, 418, 100);   /* untracked status → "other" */
    oc_buf_t out = {0};
    oc_metrics_render(&out);
    const char *s = oc_buf_cstr(&out);
    CHECK(strstr(
              s,
              "# TYPE test_things_total counter\ntest_things_total{kind=\"a\"} 3\ntest_things_total{kind=\"b\"} 1\n") !=
          NULL);
    CHECK(strstr(s, "# TYPE test_level gauge\ntest_level -2\n") != NULL);
    CHECK(strstr(s, "onecount_http_requests_total{route=\"/x/{id}\",method=\"GET\",status=\"200\"} 2\n") != NULL);
    CHECK(strstr(s, "onecount_http_requests_total{route=\"/x/{id}\",method=\"GET\",status=\"other\"} 1\n") != NULL);
    CHECK(strstr(s, "status=\"200\",le=\"0.00025\"} 0\n") != NULL);
    CHECK(strstr(s, "status=\"200\",le=\"0.0005\"} 1\n") != NULL);
    CHECK(strstr(s, "status=\"200\",le=\"0.025\"} 2\n") != NULL);
    CHECK(strstr(s, "status=\"200\",le=\"+Inf\"} 2\n") != NULL);
    CHECK(
        strstr(
            s,
            "onecount_http_request_duration_seconds_sum{route=\"/x/{id}\",method=\"GET\",status=\"200\"} 0.020300\n") !=
        NULL);
    CHECK(strstr(s, "test_collected 7\n") != NULL);
    oc_buf_free(&out);
    return oc_test_report();
}
