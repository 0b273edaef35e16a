/*
 * Unit tests for adapters/shopify.c: webhook HMAC verification (good,
 * flipped byte, wrong secret, malformed signatures), and the order and
 * refund normalizers fed well-formed and malformed bodies.
 */
#include "adapters/internal.h"
#include "test.h"

#include <sodium.h>
#include <stdlib.h>

static void sign(const char *secret, const char *body, char *out, size_t cap)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(out, cap, mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
}

static void test_hmac(void)
{
    const char *secret = "shpss_0123456789abcdef";
    char body[] = "{\"id\":820982911946154508,\"email\":\"jon@example.com\",\"line_items\":[]}";
    char sig[64];
    sign(secret, body, sig, sizeof(sig));
    CHECK_INT(oc_shopify_hmac_verify(secret, sig, body, strlen(body)), 0);
    /* one flipped byte of the body */
    body[5] ^= 1;
    CHECK_INT(oc_shopify_hmac_verify(secret, sig, body, strlen(body)), -1);
    body[5] ^= 1;
    /* the body's length matters (a raw body, not a C string) */
    CHECK_INT(oc_shopify_hmac_verify(secret, sig, body, strlen(body) - 1), -1);
    /* a wrong secret, an empty one */
    CHECK_INT(oc_shopify_hmac_verify("shpss_other", sig, body, strlen(body)), -1);
    CHECK_INT(oc_shopify_hmac_verify("", sig, body, strlen(body)), -1);
    CHECK_INT(oc_shopify_hmac_verify(NULL, sig, body, strlen(body)), -1);
    /* a flipped byte of the signature, a truncated one, hex instead of base64, garbage */
    char bad[64];
    snprintf(bad, sizeof(bad), "%s", sig);
    bad[3] = bad[3] == 'A' ? 'B' : 'A';
    CHECK_INT(oc_shopify_hmac_verify(secret, bad, body, strlen(body)), -1);
    snprintf(bad, sizeof(bad), "%.20s", sig);
    CHECK_INT(oc_shopify_hmac_verify(secret, bad, body, strlen(body)), -1);
    CHECK_INT(oc_shopify_hmac_verify(secret, "not base64 at all!", body, strlen(body)), -1);
    CHECK_INT(oc_shopify_hmac_verify(secret, "", body, strlen(body)), -1);
    CHECK_INT(oc_shopify_hmac_verify(secret, NULL, body, strlen(body)), -1);
    /* the same check through the adapter, with webhook_secret or else client_secret */
    oc_channel_conn_t c = {.secrets = json_pack("{s:s}", "client_secret", secret)};
    CHECK_INT(oc_adapter_shopify.verify_webhook(&c, sig, body, strlen(body)), 0);
    json_object_set_new(c.secrets, "webhook_secret", json_string("shpss_rotated"));
    CHECK_INT(oc_adapter_shopify.verify_webhook(&c, sig, body, strlen(body)), -1);
    json_decref(c.secrets);
}

static json_t *parse(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    if (j == NULL)
        fprintf(stderr, "fixture does not parse: %s\n", s);
    return j;
}

static void test_orders(void)
{
    char why[200];
    uint64_t t = 0;
    json_t *o = parse("{\"id\": 5100000000001, \"created_at\": \"2026-01-02T03:04:05+00:00\", \"updated_at\": "
                      "\"2026-01-02T03:05:05+00:00\", \"cancelled_at\": null, \"fulfillment_status\": \"partial\", "
                      "\"line_items\": [{\"id\": 11, \"sku\": \"A\", \"quantity\": 3, \"fulfillable_quantity\": 1}, "
                      "{\"id\": 12, \"sku\": \"B\", \"quantity\": 2, \"fulfillable_quantity\": 0}], \"refunds\": "
                      "[{\"id\": 9, \"refund_line_items\": [{\"line_item_id\": 12, \"quantity\": 2, \"restock_type\": "
                      "\"cancel\"}]}]}");
    json_t *n = oc_shopify_order(o, &t, why, sizeof(why));
    CHECK(n != NULL);
    CHECK_STR(json_string_value(json_object_get(n, "id")), "5100000000001");
    CHECK_INT(t, 1767323105000ULL);
    json_t *l0 = json_array_get(json_object_get(n, "lines"), 0), *l1 = json_array_get(json_object_get(n, "lines"), 1);
    CHECK_INT(json_integer_value(json_object_get(l0, "qty_shipped")), 2);
    CHECK_INT(json_integer_value(json_object_get(l0, "qty_cancelled")), 0);
    CHECK_INT(json_integer_value(json_object_get(l1, "qty_cancelled")), 2);
    CHECK_INT(json_integer_value(json_object_get(l1, "qty_shipped")), 0);
    CHECK_STR(json_string_value(json_object_get(n, "status")), "partial");
    json_decref(n);
    /* cancelled before anything shipped: every unit is cancelled */
    json_object_set_new(o, "cancelled_at", json_string("2026-01-02T03:05:05+00:00"));
    json_object_set_new(o, "fulfillment_status", json_null());
    n = oc_shopify_order(o, &t, why, sizeof(why));
    CHECK_STR(json_string_value(json_object_get(n, "status")), "cancelled");
    l0 = json_array_get(json_object_get(n, "lines"), 0);
    CHECK_INT(json_integer_value(json_object_get(l0, "qty_cancelled")), 3);
    json_decref(n);
    json_decref(o);

    /* malformed orders: a clear reason, never a crash */
    const char *bad[] = {
        "{}",
        "{\"id\": \"\", \"created_at\": \"2026-01-02T03:04:05Z\"}",
        "{\"id\": 1, \"created_at\": \"yesterday\", \"updated_at\": \"2026-01-02T03:04:05Z\", \"line_items\": []}",
        "{\"id\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"updated_at\": \"2026-01-02T03:04:05Z\"}",
        "{\"id\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"updated_at\": \"2026-01-02T03:04:05Z\", "
        "\"line_items\": {}}",
        "{\"id\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"updated_at\": \"2026-01-02T03:04:05Z\", "
        "\"line_items\": [{\"id\": 2, \"quantity\": \"many\"}]}",
        "{\"id\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"updated_at\": \"2026-01-02T03:04:05Z\", "
        "\"line_items\": [{\"quantity\": 1}]}",
        "{\"id\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"updated_at\": \"2026-01-02T03:04:05Z\", "
        "\"line_items\": [{\"id\": 2, \"quantity\": 1, \"sku\": 7}]}",
        "[1, 2, 3]",
    };
    for (size_t i = 0; i < OC_ARRAY_SIZE(bad); i++) {
        json_t *b = parse(bad[i]);
        why[0] = '\0';
        n = oc_shopify_order(b, &t, why, sizeof(why));
        CHECK(n == NULL);
        CHECK(why[0] != '\0');
        json_decref(n);
        json_decref(b);
    }
    why[0] = '\0';
    CHECK(oc_shopify_order(NULL, &t, why, sizeof(why)) == NULL);
    CHECK(why[0] != '\0');
}

static void test_refunds(void)
{
    char why[200];
    uint64_t t;
    json_t *r =
        parse("{\"id\": 880, \"order_id\": 510, \"created_at\": \"2026-01-02T03:04:05-01:00\", "
              "\"refund_line_items\": [{\"id\": 1, \"line_item_id\": 11, \"quantity\": 1, \"restock_type\": "
              "\"return\", \"line_item\": {\"sku\": \"A\"}}, {\"id\": 2, \"line_item_id\": 12, \"quantity\": 2, "
              "\"restock_type\": \"cancel\", \"line_item\": {\"sku\": \"B\"}}, {\"id\": 3, \"line_item_id\": "
              "13, \"quantity\": 1, \"restock_type\": \"no_restock\", \"line_item\": {\"sku\": \"C\"}}]}");
    json_t *n = oc_shopify_refund(r, &t, why, sizeof(why));
    CHECK(n != NULL);
    CHECK_INT(t, 1767326645000ULL);
    json_t *lines = json_object_get(n, "lines");
    CHECK_INT(json_array_size(lines), 2); /* the cancellation is not a return */
    CHECK_STR(json_string_value(json_object_get(json_array_get(lines, 0), "disposition")), "restock");
    CHECK(json_is_true(json_object_get(json_array_get(lines, 0), "restocked_by_channel")));
    CHECK(json_is_null(json_object_get(json_array_get(lines, 1), "disposition")));
    CHECK(json_is_false(json_object_get(json_array_get(lines, 1), "restocked_by_channel")));
    json_decref(n);
    json_decref(r);
    const char *bad[] = {
        "{\"order_id\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"refund_line_items\": []}",
        "{\"id\": 1, \"order_id\": 1, \"created_at\": 12, \"refund_line_items\": []}",
        "{\"id\": 1, \"order_id\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"refund_line_items\": null}",
        "{\"id\": 1, \"order_id\": 1, \"created_at\": \"2026-01-02T03:04:05Z\", \"refund_line_items\": [{\"id\": "
        "1}]}",
    };
    for (size_t i = 0; i < OC_ARRAY_SIZE(bad); i++) {
        json_t *b = parse(bad[i]);
        CHECK(oc_shopify_refund(b, &t, why, sizeof(why)) == NULL);
        json_decref(b);
    }
}

static void test_validate(void)
{
    char why[200];
    json_t *settings = json_pack("{s:s}", "shop", "acme.myshopify.com");
    json_t *secrets = json_pack("{s:s}", "access_token", "shpat_x");
    CHECK_INT(oc_adapter_shopify.validate(settings, secrets, why, sizeof(why)), 0);
    json_object_set_new(settings, "api_version", json_string("2026-02"));
    CHECK_INT(oc_adapter_shopify.validate(settings, secrets, why, sizeof(why)), -1);
    CHECK(strncmp(why, "api_version:", 12) == 0);
    json_object_set_new(settings, "api_version", json_string("2026-04"));
    json_object_set_new(settings, "shop", json_string("Evil/Shop"));
    CHECK_INT(oc_adapter_shopify.validate(settings, secrets, why, sizeof(why)), -1);
    json_object_set_new(settings, "shop", json_string("acme"));
    json_object_del(secrets, "access_token");
    CHECK_INT(oc_adapter_shopify.validate(settings, secrets, why, sizeof(why)), -1);
    json_object_set_new(secrets, "client_id", json_string("id"));
    json_object_set_new(secrets, "client_secret", json_string("secret"));
    CHECK_INT(oc_adapter_shopify.validate(settings, secrets, why, sizeof(why)), 0);
    char buf[128];
    CHECK_STR(oc_adapter_shopify.default_base_url(settings, buf, sizeof(buf)), "https://acme.myshopify.com");
    CHECK(oc_adapter_by_name("shopify") == &oc_adapter_shopify);
    CHECK(oc_adapter_by_name("amazon") == &oc_adapter_amazon);
    CHECK(oc_adapter_by_name("walmart") == &oc_adapter_walmart);
    CHECK(oc_adapter_by_name("ebay") == NULL);
    CHECK(oc_adapter_by_name(NULL) == NULL);
    json_decref(settings);
    json_decref(secrets);
}

/* Compare-and-set rows: any integer the channel reports, negative after an oversell, in the field of each
 * API version; no expectation is an explicit null (2026-01) or no field at all (2025-10: the input as a whole
 * carries ignoreCompareQuantity, which InventoryQuantityInput does not have). */
static void test_quantity_rows(void)
{
    const char *item = "gid://shopify/InventoryItem/7", *loc = "gid://shopify/Location/1";
    json_t *r = oc_shopify_quantity_row(202601, item, loc, 3, 1, -7);
    CHECK(json_is_integer(json_object_get(r, "changeFromQuantity")));
    CHECK_INT(json_integer_value(json_object_get(r, "changeFromQuantity")), -7);
    CHECK_INT(json_integer_value(json_object_get(r, "quantity")), 3);
    CHECK(json_object_get(r, "compareQuantity") == NULL);
    json_decref(r);
    r = oc_shopify_quantity_row(202601, item, loc, 3, 0, 0);
    CHECK(json_is_null(json_object_get(r, "changeFromQuantity")));
    json_decref(r);
    r = oc_shopify_quantity_row(202510, item, loc, 0, 1, -7);
    CHECK_INT(json_integer_value(json_object_get(r, "compareQuantity")), -7);
    CHECK(json_object_get(r, "changeFromQuantity") == NULL);
    CHECK(json_object_get(r, "ignoreCompareQuantity") == NULL);
    json_decref(r);
    r = oc_shopify_quantity_row(202510, item, loc, 0, 0, 0);
    CHECK_INT(json_object_size(r), 3); /* inventoryItemId, locationId, quantity: nothing per row */
    CHECK(json_object_get(r, "ignoreCompareQuantity") == NULL);
    json_decref(r);
    /* the item's expectation as the adapters read it */
    int has;
    long long e;
    json_t *it = json_pack("{s:i, s:i}", "qty", 3, "expect", -7);
    CHECK_INT(oc_item_expect(it, &has, &e), 0);
    CHECK_INT(has, 1);
    CHECK_INT(e, -7);
    json_object_set_new(it, "expect", json_null());
    CHECK_INT(oc_item_expect(it, &has, &e), 0);
    CHECK_INT(has, 0);
    json_object_set_new(it, "expect", json_string("-7"));
    CHECK_INT(oc_item_expect(it, &has, &e), -1);
    json_object_set_new(it, "expect", json_real(-7.5));
    CHECK_INT(oc_item_expect(it, &has, &e), -1);
    json_object_set_new(it, "expect", json_integer(-2147483649LL));
    CHECK_INT(oc_item_expect(it, &has, &e), -1);
    json_object_set_new(it, "expect", json_integer(-2147483648LL));
    CHECK_INT(oc_item_expect(it, &has, &e), 0);
    json_decref(it);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_hmac();
    test_orders();
    test_refunds();
    test_validate();
    test_quantity_rows();
    return oc_test_report();
}
