/*
 * adapter.c — the adapter registry and the small helpers every channel uses
 * (settings and secrets, URL encoding, push items and result rows).
 */
#include "adapters/internal.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

const char *oc_channel_kind_name(oc_channel_kind_t kind)
{
    return kind == OC_CHANNEL_SHOPIFY ? "shopify" : kind == OC_CHANNEL_AMAZON ? "amazon" : "walmart";
}

oc_channel_kind_t oc_channel_kind_parse(const char *name)
{
    return name == NULL                   ? 0
           : strcmp(name, "shopify") == 0 ? OC_CHANNEL_SHOPIFY
           : strcmp(name, "amazon") == 0  ? OC_CHANNEL_AMAZON
           : strcmp(name, "walmart") == 0 ? OC_CHANNEL_WALMART
                                          : 0;
}

const oc_adapter_t *oc_adapter_by_name(const char *name)
{
    static const oc_adapter_t *const all[] = {&oc_adapter_shopify, &oc_adapter_amazon, &oc_adapter_walmart};
    for (size_t i = 0; name != NULL && i < OC_ARRAY_SIZE(all); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

int oc_conn_base(const oc_channel_conn_t *c, const oc_adapter_t *a, char *buf, size_t cap)
{
    const char *base = c->base_url;
    if (base == NULL || *base == '\0') {
        base = a->default_base_url(c->settings, buf, cap);
        if (base == NULL)
            return OC_EINVAL;
    }
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n == 0 || n + 1 > cap)
        return OC_EINVAL;
    if (base != buf)
        memcpy(buf, base, n);
    buf[n] = '\0';
    return 0;
}

const char *oc_setting_str(const oc_channel_conn_t *c, const char *name)
{
    const char *v = json_string_value(json_object_get(c->settings, name));
    return v != NULL && *v != '\0' ? v : NULL;
}

long long oc_setting_int(const oc_channel_conn_t *c, const char *name, long long dflt, long long min, long long max)
{
    long long v;
    if (oc_json_as_int(json_object_get(c->settings, name), &v) != 0)
        return dflt;
    return v < min ? min : v > max ? max : v;
}

const char *oc_secret_str(const oc_channel_conn_t *c, const char *name)
{
    const char *v = json_string_value(json_object_get(c->secrets, name));
    return v != NULL && *v != '\0' ? v : NULL;
}

int oc_json_as_int(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -9e15 && d <= 9e15 && d == (double)(long long)d) {
            *out = (long long)d;
            return 0;
        }
        return -1;
    }
    const char *s = json_string_value(v);
    if (s == NULL || *s == '\0')
        return -1;
    char *end;
    long long n = strtoll(s, &end, 10);
    if (*end != '\0' || (end - s) > 18)
        return -1;
    *out = n;
    return 0;
}

int oc_item_qty(const json_t *item, long long *qty)
{
    json_t *q = json_object_get(item, "qty");
    if (!json_is_integer(q) || json_integer_value(q) < 0 || json_integer_value(q) > 1000000000)
        return -1;
    *qty = json_integer_value(q);
    return 0;
}

int oc_item_check_set(const json_t *item, const char **sku, long long *qty, char *why, size_t cap)
{
    long long expect;
    int has;
    *sku = json_string_value(json_object_get(item, "sku"));
    if (*sku == NULL || **sku == '\0') {
        snprintf(why, cap, "sku: missing");
        return -1;
    }
    if (oc_item_qty(item, qty) != 0) {
        snprintf(why, cap, "qty: must be an integer from 0 to 1000000000");
        return -1;
    }
    if (oc_item_expect(item, &has, &expect) != 0) {
        snprintf(why, cap, "expect: must be an integer (a 32-bit one, as the channel counts) or null");
        return -1;
    }
    return 0;
}

int oc_item_expect(const json_t *item, int *has, long long *expect)
{
    json_t *e = json_object_get(item, "expect");
    *has = 0;
    if (e == NULL || json_is_null(e))
        return 0;
    /* any integer the channel may report: after an oversell that is below zero */
    if (!json_is_integer(e) || json_integer_value(e) < INT32_MIN || json_integer_value(e) > INT32_MAX)
        return -1;
    *has = 1;
    *expect = json_integer_value(e);
    return 0;
}

json_t *oc_item_result(const json_t *item)
{
    json_t *id = json_object_get(item, "listing_id");
    return json_pack("{s:O}", "listing_id", id != NULL ? id : json_null());
}

void oc_item_error(json_t *r, const char *msg, int retryable)
{
    json_object_set_new(r, "status", json_string("error"));
    json_object_set_new(r, "error", json_string(msg));
    json_object_set_new(r, "retryable", json_boolean(retryable));
}

json_t *oc_json_time(uint64_t ms)
{
    char buf[32];
    oc_time_format(buf, ms, OC_TIME_MS);
    return json_string(buf);
}

void oc_derive_key(const void *data, size_t len, char out[37])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    oc_uuid_format(h, out); /* shaped like a v4 UUID: channels validate the form */
}

uint64_t oc_cursor_overlap(const oc_channel_conn_t *c)
{
    return (uint64_t)oc_setting_int(c, "cursor_overlap_ms", 120000, 0, 86400000);
}
