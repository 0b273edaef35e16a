/*
 * Unit tests for adapters/walmart.c: the order normalizer (per-line
 * statuses, quantities as strings, epoch-millisecond dates) and the return
 * normalizer, fed good and malformed bodies.
 */
#include "adapters/internal.h"
#include "test.h"

static json_t *order(const char *statuses_a, const char *amount_a)
{
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"purchaseOrderId\": \"1080000000001\", \"orderDate\": 1767323045000, \"orderLines\": {\"orderLine\": ["
             "{\"lineNumber\": \"1\", \"item\": {\"sku\": \"A\"}, \"orderLineQuantity\": {\"unitOfMeasurement\": "
             "\"EACH\", \"amount\": \"%s\"}, \"statusDate\": 1767323999000, \"orderLineStatuses\": "
             "{\"orderLineStatus\": [%s]}}]}}",
             amount_a, statuses_a);
    return json_loads(buf, 0, NULL);
}

static const char *status_of(json_t *o)
{
    char why[200];
    uint64_t t;
    json_t *n = oc_walmart_order(o, &t, why, sizeof(why));
    static char out[32];
    snprintf(out, sizeof(out), "%s", n != NULL ? json_string_value(json_object_get(n, "status")) : "(null)");
    json_decref(n);
    return out;
}

/* The normalized status of an order whose one line has these statuses and amount. */
static const char *status_for(const char *statuses, const char *amount)
{
    json_t *o = order(statuses, amount);
    const char *st = status_of(o);
    json_decref(o);
    return st;
}

#define ST(s, n) "{\"status\": \"" s "\", \"statusQuantity\": {\"unitOfMeasurement\": \"EACH\", \"amount\": \"" n "\"}}"

static void test_orders(void)
{
    char why[200];
    uint64_t t = 0;
    json_t *o = order(ST("Created", "2") "," ST("Shipped", "1") "," ST("Cancelled", "1"), "4");
    json_t *n = oc_walmart_order(o, &t, why, sizeof(why));
    CHECK(n != NULL);
    CHECK_INT(t, 1767323999000ULL); /* the latest status date */
    CHECK(json_is_true(json_object_get(n, "needs_ack")));
    CHECK_STR(json_string_value(json_object_get(n, "status")), "partial");
    json_t *l = json_array_get(json_object_get(n, "lines"), 0);
    CHECK_STR(json_string_value(json_object_get(l, "id")), "1080000000001:1");
    CHECK_INT(json_integer_value(json_object_get(l, "qty")), 4);
    CHECK_INT(json_integer_value(json_object_get(l, "qty_shipped")), 1);
    CHECK_INT(json_integer_value(json_object_get(l, "qty_cancelled")), 1);
    CHECK_STR(json_string_value(json_object_get(n, "created_at")), "2026-01-02T03:04:05.000Z");
    json_decref(n);
    json_decref(o);

    CHECK_STR(status_for(ST("Acknowledged", "2"), "2"), "open");
    CHECK_STR(status_for(ST("Cancelled", "2"), "2"), "cancelled");
    CHECK_STR(status_for(ST("Shipped", "1") "," ST("Cancelled", "1"), "2"), "shipped");
    /* delivered, and a partial refund without a return: both shipped units, the line stays sold */
    o = order(ST("Delivered", "1") "," ST("Refund", "1"), "2");
    CHECK_STR(status_of(o), "shipped");
    n = oc_walmart_order(o, &t, why, sizeof(why));
    l = json_array_get(json_object_get(n, "lines"), 0);
    CHECK_INT(json_integer_value(json_object_get(l, "qty_shipped")), 2);
    CHECK_INT(json_integer_value(json_object_get(l, "qty_cancelled")), 0);
    json_decref(n);
    json_decref(o);
    CHECK_STR(status_for(ST("Acknowledged", "1") "," ST("Refund", "1"), "2"), "partial");
    CHECK_STR(status_for(ST("Delivered", "2"), "2"), "shipped");

    /* malformed: quantities that are not numbers, missing statuses, missing ids */
    CHECK_STR(status_for(ST("Created", "two"), "2"), "(null)");
    CHECK_STR(status_for(ST("Created", "2"), "x"), "(null)");
    CHECK_STR(status_for("{\"statusQuantity\": {\"amount\": \"1\"}}", "1"), "(null)");
    const char *bad[] = {"{}", "{\"purchaseOrderId\": \"1\"}", "{\"purchaseOrderId\": \"1\", \"orderDate\": -5}",
                         "{\"purchaseOrderId\": \"1\", \"orderDate\": 1, \"orderLines\": {\"orderLine\": {}}}",
                         "{\"purchaseOrderId\": \"1\", \"orderDate\": 1, \"orderLines\": {\"orderLine\": [{}]}}"};
    for (size_t i = 0; i < OC_ARRAY_SIZE(bad); i++) {
        json_t *b = json_loads(bad[i], 0, NULL);
        why[0] = '\0';
        CHECK(oc_walmart_order(b, &t, why, sizeof(why)) == NULL);
        CHECK(why[0] != '\0');
        json_decref(b);
    }
}

static void test_returns(void)
{
    char why[200];
    uint64_t t;
    json_t *r = json_loads("{\"returnOrderId\": \"9001\", \"returnOrderDate\": \"2026-01-02T03:04:05.000Z\", "
                           "\"returnOrderLines\": [{\"returnOrderLineNumber\": 1, \"purchaseOrderId\": \"108\", "
                           "\"purchaseOrderLineNumber\": 2, \"item\": {\"sku\": \"A\"}, \"quantity\": "
                           "{\"unitOfMeasure\": \"EACH\", \"measurementValue\": 3}}]}",
                           0, NULL);
    json_t *n = oc_walmart_return(r, &t, why, sizeof(why));
    CHECK(n != NULL);
    CHECK_INT(t, 1767323045000ULL);
    CHECK_STR(json_string_value(json_object_get(n, "order_id")), "108");
    json_t *l = json_array_get(json_object_get(n, "lines"), 0);
    CHECK_STR(json_string_value(json_object_get(l, "id")), "9001:1");
    CHECK_STR(json_string_value(json_object_get(l, "order_line_id")), "108:2");
    CHECK_INT(json_integer_value(json_object_get(l, "qty")), 3);
    CHECK(json_is_false(json_object_get(l, "restocked_by_channel")));
    json_decref(n);
    json_object_set_new(json_object_get(json_array_get(json_object_get(r, "returnOrderLines"), 0), "quantity"),
                        "measurementValue", json_string("lots"));
    CHECK(oc_walmart_return(r, &t, why, sizeof(why)) == NULL);
    json_object_set_new(r, "returnOrderDate", json_integer(5));
    CHECK(oc_walmart_return(r, &t, why, sizeof(why)) == NULL);
    json_object_del(r, "returnOrderId");
    CHECK(oc_walmart_return(r, &t, why, sizeof(why)) == NULL);
    CHECK(oc_walmart_return(NULL, &t, why, sizeof(why)) == NULL);
    json_decref(r);
}

static void test_validate(void)
{
    char why[200];
    json_t *settings = json_object(), *secrets = json_pack("{s:s}", "client_id", "id");
    CHECK_INT(oc_adapter_walmart.validate(settings, secrets, why, sizeof(why)), -1);
    CHECK_STR(why, "client_secret: required");
    json_object_set_new(secrets, "client_secret", json_string("s"));
    CHECK_INT(oc_adapter_walmart.validate(settings, secrets, why, sizeof(why)), 0);
    json_object_set_new(settings, "ship_node", json_integer(5));
    CHECK_INT(oc_adapter_walmart.validate(settings, secrets, why, sizeof(why)), -1);
    json_decref(settings);
    json_decref(secrets);
}

/* Walmart has no compare-and-set: a negative expectation (Walmart shows negative counts) is accepted and
 * not sent. */
static void test_push_body(void)
{
    char why[160];
    json_t *it = json_pack("{s:s, s:i, s:i}", "sku", "A-1", "qty", 3, "expect", -7);
    json_t *b = oc_walmart_push_body(it, why, sizeof(why));
    CHECK(b != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "sku")), "A-1");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(b, "quantity"), "amount")), 3);
    CHECK_STR(json_string_value(json_object_get(json_object_get(b, "quantity"), "unit")), "EACH");
    CHECK_INT(json_object_size(b), 2);
    json_decref(b);
    json_object_set_new(it, "expect", json_true());
    CHECK(oc_walmart_push_body(it, why, sizeof(why)) == NULL);
    CHECK(strncmp(why, "expect:", 7) == 0);
    json_decref(it);
}

int main(void)
{
    test_orders();
    test_returns();
    test_validate();
    test_push_body();
    return oc_test_report();
}
