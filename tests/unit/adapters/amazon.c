/*
 * Unit tests for adapters/amazon.c: the Orders v0 normalizer and the
 * returns-report (tab-separated) parser, fed good and malformed input.
 */
#include "adapters/internal.h"
#include "test.h"

#include <stdlib.h>

static void test_orders(void)
{
    char why[200];
    uint64_t t = 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "AmazonOrderId", "112-0000000-0000001", "PurchaseDate",
                          "2026-01-02T03:04:05Z", "LastUpdateDate", "2026-01-02T04:04:05Z", "OrderStatus", "Canceled");
    json_t *items =
        json_pack("[{s:s, s:s, s:i, s:i}, {s:s, s:s, s:i}]", "OrderItemId", "1", "SellerSKU", "A", "QuantityOrdered", 3,
                  "QuantityShipped", 1, "OrderItemId", "2", "SellerSKU", "B", "QuantityOrdered", 2);
    json_t *n = oc_amazon_order(o, items, &t, why, sizeof(why));
    CHECK(n != NULL);
    CHECK_INT(t, 1767326645000ULL);
    CHECK_STR(json_string_value(json_object_get(n, "status")), "cancelled");
    json_t *l0 = json_array_get(json_object_get(n, "lines"), 0);
    CHECK_INT(json_integer_value(json_object_get(l0, "qty_cancelled")), 2);
    CHECK_INT(json_integer_value(json_object_get(l0, "qty_shipped")), 1);
    json_decref(n);
    const char *statuses[][2] = {{"Pending", "pending"},         {"PendingAvailability", "pending"},
                                 {"Unshipped", "open"},          {"PartiallyShipped", "partial"},
                                 {"Shipped", "shipped"},         {"InvoiceUnconfirmed", "shipped"},
                                 {"Unfulfillable", "cancelled"}, {"SomethingNew", "open"}};
    for (size_t i = 0; i < OC_ARRAY_SIZE(statuses); i++) {
        json_object_set_new(o, "OrderStatus", json_string(statuses[i][0]));
        n = oc_amazon_order(o, items, &t, why, sizeof(why));
        CHECK_STR(json_string_value(json_object_get(n, "status")), statuses[i][1]);
        json_decref(n);
    }
    /* malformed */
    CHECK(oc_amazon_order(o, NULL, &t, why, sizeof(why)) == NULL);
    json_t *bad_items = json_pack("[{s:s, s:s, s:s}]", "OrderItemId", "1", "SellerSKU", "A", "QuantityOrdered", "x");
    CHECK(oc_amazon_order(o, bad_items, &t, why, sizeof(why)) == NULL);
    json_decref(bad_items);
    json_object_set_new(o, "LastUpdateDate", json_string("not a date"));
    CHECK(oc_amazon_order(o, items, &t, why, sizeof(why)) == NULL);
    json_object_del(o, "AmazonOrderId");
    why[0] = '\0';
    CHECK(oc_amazon_order(o, items, &t, why, sizeof(why)) == NULL);
    CHECK(why[0] != '\0');
    CHECK(oc_amazon_order(NULL, NULL, &t, why, sizeof(why)) == NULL);
    json_decref(o);
    json_decref(items);
}

static const char HEADER[] = "Order ID\tOrder date\tReturn request date\tReturn request status\tAmazon RMA ID\tASIN\t"
                             "Merchant SKU\tItem Name\tReturn quantity\tReturn reason\tIn policy\tReturn type\t"
                             "Resolution\n";

static void test_returns_report(void)
{
    char why[200], doc[2048];
    snprintf(
        doc, sizeof(doc),
        "%s112-1\t2026-01-01T00:00:00Z\t2026-01-05T10:00:00Z\tApproved\tD001\tB0A\tA\tA\t1\tDEFECTIVE\tY\tC-Returns\t"
        "StandardRefund\r\n"
        "112-1\t2026-01-01T00:00:00Z\t2026-01-05T10:00:00Z\tApproved\tD001\tB0B\tB\tB\t2\tDEFECTIVE\tY\tC-Returns\t"
        "StandardRefund\r\n"
        "\n"
        "112-2\t2026-01-02T00:00:00Z\tsometime\tApproved\t\tB0C\tC\tC\t1\tNO_REASON\tY\tC-Returns\tStandardRefund\n",
        HEADER);
    json_t *r = oc_amazon_returns_tsv(doc, strlen(doc), why, sizeof(why));
    CHECK(r != NULL);
    CHECK_INT(json_array_size(r), 2); /* grouped by RMA */
    json_t *first = json_array_get(r, 0);
    CHECK_STR(json_string_value(json_object_get(first, "id")), "D001");
    CHECK_STR(json_string_value(json_object_get(first, "order_id")), "112-1");
    CHECK_INT(json_array_size(json_object_get(first, "lines")), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(json_object_get(first, "lines"), 1), "qty")), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(first, "lines"), 0), "disposition")),
              "inspect");
    json_t *second = json_array_get(r, 1); /* no RMA and no usable date: still a return, with a stable id */
    CHECK(json_is_null(json_object_get(second, "created_at")));
    CHECK(strncmp(json_string_value(json_object_get(second, "id")), "112-2:C:", 8) == 0);
    json_decref(r);

    /* only a header, or nothing: no returns */
    r = oc_amazon_returns_tsv(HEADER, strlen(HEADER), why, sizeof(why));
    CHECK(r != NULL && json_array_size(r) == 0);
    json_decref(r);
    r = oc_amazon_returns_tsv("", 0, why, sizeof(why));
    CHECK(r != NULL && json_array_size(r) == 0);
    json_decref(r);

    /* malformed: a missing column, a bad quantity, a short row, half a document (a cut-off body) */
    const char *missing = "Order ID\tMerchant SKU\nX\tY\n";
    CHECK(oc_amazon_returns_tsv(missing, strlen(missing), why, sizeof(why)) == NULL);
    CHECK(strstr(why, "column") != NULL);
    snprintf(doc, sizeof(doc), "%s112-1\t\t\t\tD1\t\tA\t\tmany\t\t\t\t\n", HEADER);
    CHECK(oc_amazon_returns_tsv(doc, strlen(doc), why, sizeof(why)) == NULL);
    CHECK(strstr(why, "row 1") != NULL);
    snprintf(doc, sizeof(doc), "%s112-1\t2026\n", HEADER);
    CHECK(oc_amazon_returns_tsv(doc, strlen(doc), why, sizeof(why)) == NULL);
    snprintf(doc, sizeof(doc), "%s", HEADER);
    CHECK(oc_amazon_returns_tsv(doc, 20, why, sizeof(why)) == NULL);
    const char binary[] = "\x01\x02\x03";
    CHECK(oc_amazon_returns_tsv(binary, 3, why, sizeof(why)) == NULL);
}

static void test_validate(void)
{
    char why[200];
    json_t *settings = json_pack("{s:s, s:[s]}", "seller_id", "A1", "marketplace_ids", "ATVPDKIKX0DER");
    json_t *secrets = json_pack("{s:s, s:s, s:s}", "client_id", "c", "client_secret", "s", "refresh_token", "r");
    CHECK_INT(oc_adapter_amazon.validate(settings, secrets, why, sizeof(why)), 0);
    json_object_set_new(settings, "region", json_string("mars"));
    CHECK_INT(oc_adapter_amazon.validate(settings, secrets, why, sizeof(why)), -1);
    CHECK(strncmp(why, "region:", 7) == 0);
    json_object_set_new(settings, "region", json_string("eu"));
    char buf[128];
    CHECK_STR(oc_adapter_amazon.default_base_url(settings, buf, sizeof(buf)),
              "https://sellingpartnerapi-eu.amazon.com");
    json_object_set_new(settings, "marketplace_ids", json_array());
    CHECK_INT(oc_adapter_amazon.validate(settings, secrets, why, sizeof(why)), -1);
    json_object_set_new(settings, "marketplace_ids", json_pack("[s]", "A1PA6795UKMFR9"));
    json_object_del(secrets, "refresh_token");
    CHECK_INT(oc_adapter_amazon.validate(settings, secrets, why, sizeof(why)), -1);
    CHECK_STR(why, "refresh_token: required");
    json_decref(settings);
    json_decref(secrets);
}

/* Amazon has no compare-and-set: a negative expectation (a channel below zero) is accepted and not sent. */
static void test_push_body(void)
{
    oc_channel_conn_t c = {.settings = json_object()};
    char why[160];
    json_t *it = json_pack("{s:s, s:i, s:i}", "sku", "A-1", "qty", 3, "expect", -7);
    json_t *b = oc_amazon_push_body(&c, it, why, sizeof(why));
    CHECK(b != NULL);
    json_t *v = json_array_get(json_object_get(json_array_get(json_object_get(b, "patches"), 0), "value"), 0);
    CHECK_INT(json_integer_value(json_object_get(v, "quantity")), 3);
    CHECK_STR(json_string_value(json_object_get(v, "fulfillment_channel_code")), "DEFAULT");
    char *dump = json_dumps(b, JSON_COMPACT);
    CHECK(dump != NULL && strstr(dump, "-7") == NULL);
    free(dump);
    json_decref(b);
    json_object_set_new(it, "expect", json_string("x"));
    CHECK(oc_amazon_push_body(&c, it, why, sizeof(why)) == NULL);
    CHECK(strncmp(why, "expect:", 7) == 0);
    json_object_set_new(it, "expect", json_integer(-7));
    json_object_set_new(it, "qty", json_integer(-1));
    CHECK(oc_amazon_push_body(&c, it, why, sizeof(why)) == NULL);
    CHECK(strncmp(why, "qty:", 4) == 0);
    json_decref(it);
    json_decref(c.settings);
}

int main(void)
{
    test_orders();
    test_returns_report();
    test_validate();
    test_push_body();
    return oc_test_report();
}
