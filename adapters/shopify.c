/*
 * shopify.c — the Shopify Admin API adapter.
 *
 * Auth: a static access token (custom apps), or a token from
 * /admin/oauth/access_token: the refresh-token grant for expiring offline
 * tokens (the rotated refresh token is kept and reported through
 * conn->on_secret), else client credentials.  X-Shopify-Access-Token on
 * every call.  push: GraphQL inventorySetQuantities, many rows per mutation
 * (name "available", reason "correction"), changeFromQuantity as the
 * compare-and-set (compareQuantity before 2026-01), and @idempotent with a
 * key derived from the rows' keys and values (a retry of the same rows is
 * the same request; changed rows are a new one).  The mutation is all or
 * nothing: rows named by userErrors are settled (stale or error) and the
 * others are sent again; stale rows are then re-read so the caller gets the
 * channel's current quantity.  read: nodes(ids:) inventory levels.  SKUs
 * without an inventory item id are looked up once (productVariants) and
 * cached per connection, as is the default location.  fetch_orders /
 * fetch_returns: REST orders.json by updated_at with Link pagination
 * (returns are the orders' refunds).  verify_webhook: base64 HMAC-SHA256 of
 * the raw body.  Rate limits: the GraphQL cost bucket (throttleStatus,
 * THROTTLED) and the REST leaky bucket (X-Shopify-Shop-Api-Call-Limit,
 * Retry-After).
 */
#include "adapters/cursor.h"
#include "adapters/internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_VERSION "2026-01"
#define DAY_MS          86400000ULL
#define DEADLINE_MS     120000
#define MAX_ROWS        250 /* quantities per mutation */
#define READ_CHUNK      20  /* inventory items per levels query (cost) */
#define SKU_CHUNK       25
#define LEVELS_FIRST    10
#define ORDERS_PAGE     250
#define MAX_COST        1000

static const oc_rl_def_t limits[] = {
    {"graphql", 1000, 100},
    {"rest", 40, 2},
};

/* --- connection settings ------------------------------------------------------------------- */

static int version_number(const char *v)
{
    int y, m;
    char tail;
    if (v == NULL)
        return 0;
    if (strcmp(v, "unstable") == 0)
        return 999999;
    if (strlen(v) != 7 || sscanf(v, "%4d-%2d%c", &y, &m, &tail) != 2 || y < 2019 || y > 2099 ||
        (m != 1 && m != 4 && m != 7 && m != 10))
        return 0;
    return y * 100 + m;
}

static const char *api_version(const oc_channel_conn_t *c)
{
    const char *v = oc_setting_str(c, "api_version");
    return v != NULL ? v : DEFAULT_VERSION;
}

static int shop_ok(const char *shop)
{
    if (shop == NULL || *shop == '\0' || strlen(shop) > 255)
        return 0;
    for (const char *p = shop; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

static const char *default_base_url(const json_t *settings, char *buf, size_t cap)
{
    const char *shop = json_string_value(json_object_get(settings, "shop"));
    if (!shop_ok(shop))
        return NULL;
    snprintf(buf, cap, "https://%s%s", shop, strchr(shop, '.') != NULL ? "" : ".myshopify.com");
    return buf;
}

/* "{base}/admin/api/{version}" */
static int api_base(const oc_channel_conn_t *c, char *buf, size_t cap)
{
    char base[512];
    if (oc_conn_base(c, &oc_adapter_shopify, base, sizeof(base)) != 0 || version_number(api_version(c)) == 0)
        return OC_EINVAL;
    int n = snprintf(buf, cap, "%s/admin/api/%s", base, api_version(c));
    return n > 0 && (size_t)n < cap ? 0 : OC_EINVAL;
}

/* A location setting as a gid: "gid://shopify/Location/1", or a bare number. */
static char *location_gid(const json_t *v)
{
    long long n;
    const char *s = json_string_value(v);
    if (s != NULL && strncmp(s, "gid://shopify/Location/", 23) == 0)
        return oc_strdup(s);
    if (oc_json_as_int(v, &n) == 0 && n > 0) {
        char buf[64];
        snprintf(buf, sizeof(buf), "gid://shopify/Location/%lld", n);
        return oc_strdup(buf);
    }
    return NULL;
}

/* --- the channel's auth, limits and errors -------------------------------------------------- */

static const char *static_token(const oc_channel_conn_t *c)
{
    if (oc_secret_str(c, "refresh_token") != NULL ||
        (oc_secret_str(c, "client_id") != NULL && oc_secret_str(c, "client_secret") != NULL))
        return NULL;
    return oc_secret_str(c, "access_token");
}

static int token_request(oc_call_t *call, char *why, size_t cap)
{
    const char *id = oc_secret_str(call->conn, "client_id"), *secret = oc_secret_str(call->conn, "client_secret");
    const char *refresh =
        call->st->refresh_token != NULL ? call->st->refresh_token : oc_secret_str(call->conn, "refresh_token");
    char base[512];
    if (id == NULL || secret == NULL) {
        snprintf(why, cap, "access_token, or client_id and client_secret, are required");
        return -1;
    }
    if (oc_conn_base(call->conn, &oc_adapter_shopify, base, sizeof(base)) != 0) {
        snprintf(why, cap, "shop: no API base URL");
        return -1;
    }
    json_t *body = json_pack("{s:s, s:s, s:s}", "client_id", id, "client_secret", secret, "grant_type",
                             refresh != NULL ? "refresh_token" : "client_credentials");
    if (body != NULL && refresh != NULL)
        json_object_set_new(body, "refresh_token", json_string(refresh));
    int rc = body == NULL ? OC_ENOMEM : oc_call_url(call, "%s/admin/oauth/access_token", base);
    if (rc == 0)
        rc = oc_call_json(call, body);
    if (rc == 0)
        rc = oc_call_header(call, "Accept", "application/json");
    json_decref(body);
    if (rc != 0)
        snprintf(why, cap, "could not build the token request");
    return rc == 0 ? 0 : -1;
}

static int token_parse(oc_call_t *call, char *why, size_t cap)
{
    const char *tok = json_string_value(json_object_get(call->json, "access_token"));
    const char *refresh = json_string_value(json_object_get(call->json, "refresh_token"));
    long long ttl = 0;
    json_t *e = json_object_get(call->json, "expires_in");
    if (tok == NULL || *tok == '\0') {
        snprintf(why, cap, "no access_token");
        return -1;
    }
    if (e != NULL && !json_is_null(e) && (oc_json_as_int(e, &ttl) != 0 || ttl < 0)) {
        snprintf(why, cap, "expires_in is not an integer");
        return -1;
    }
    if (refresh != NULL && *refresh != '\0') {
        const char *current =
            call->st->refresh_token != NULL ? call->st->refresh_token : oc_secret_str(call->conn, "refresh_token");
        if (current == NULL || strcmp(current, refresh) != 0)
            oc_cstate_rotate_refresh(call->st, refresh);
    }
    oc_cstate_set_token(call->st, tok, (uint64_t)ttl);
    return 0;
}

static int headers(oc_call_t *call, const char *token)
{
    if (token == NULL)
        return 0;
    if (oc_call_header(call, "X-Shopify-Access-Token", token) != 0 ||
        oc_call_header(call, "Accept", "application/json"))
        return OC_ENOMEM;
    return 0;
}

static oc_cls_t classify(oc_call_t *call, const oc_chttp_res_t *res, uint64_t *retry_after_ms)
{
    oc_cls_t cls = oc_call_classify_default(res, retry_after_ms);
    oc_rl_bucket_t *b = call->bucket;
    uint64_t now = oc_mono_us();
    if (b == NULL || res->err != NULL)
        return cls;
    if (strcmp(b->name, "rest") == 0) {
        double used, cap;
        if (oc_rl_parse_call_limit(oc_chttp_header(res, "x-shopify-shop-api-call-limit"), &used, &cap) == 0) {
            oc_rl_observe_limits(b, cap, 0);
            oc_rl_observe_remaining(b, cap - used, now);
        }
        if (cls == OC_CLS_THROTTLED)
            oc_rl_throttled(b, *retry_after_ms * 1000, now);
        return cls;
    }
    /* GraphQL: extensions.cost is authoritative for the cost bucket */
    json_t *cost = json_object_get(json_object_get(call->json, "extensions"), "cost");
    json_t *ts = json_object_get(cost, "throttleStatus");
    double max = json_number_value(json_object_get(ts, "maximumAvailable"));
    double avail = json_number_value(json_object_get(ts, "currentlyAvailable"));
    double restore = json_number_value(json_object_get(ts, "restoreRate"));
    json_t *actual = json_object_get(cost, "actualQueryCost");
    double requested = json_number_value(json_object_get(cost, "requestedQueryCost"));
    if (json_is_number(actual) && json_number_value(actual) < call->cost)
        oc_rl_refund(b, call->cost - json_number_value(actual));
    if (json_is_object(ts)) {
        oc_rl_observe_limits(b, max, restore);
        oc_rl_observe_remaining(b, avail, now);
    }
    int throttled = cls == OC_CLS_THROTTLED;
    size_t i;
    json_t *err;
    json_array_foreach(json_object_get(call->json, "errors"), i, err)
    {
        const char *code = json_string_value(json_object_get(json_object_get(err, "extensions"), "code"));
        if (code != NULL && strcmp(code, "THROTTLED") == 0)
            throttled = 1;
    }
    if (!throttled)
        return cls;
    if (max > 0 && requested > max)
        return OC_CLS_OK; /* never fits this bucket: the operation sends smaller requests */
    /* wait until the points are back: (requested - available) / restoreRate */
    double need = requested > 0 ? requested : call->cost;
    double rate = restore > 0 ? restore : b->rate;
    uint64_t wait_us = rate > 0 && need > avail ? (uint64_t)((need - avail) / rate * 1e6) : 1000000;
    if (*retry_after_ms * 1000 > wait_us)
        wait_us = *retry_after_ms * 1000;
    if (json_is_object(ts))
        oc_rl_block_until(b, now + wait_us);
    else
        oc_rl_throttled(b, wait_us, now);
    return OC_CLS_THROTTLED;
}

static void error_text(const oc_call_t *call, const oc_chttp_res_t *res, char *buf, size_t cap)
{
    json_t *errors = json_object_get(call->json, "errors");
    const char *desc = json_string_value(json_object_get(call->json, "error_description"));
    if (json_is_string(errors)) {
        snprintf(buf, cap, "%s", json_string_value(errors));
    } else if (json_is_array(errors)) {
        const char *m = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
        const char *s = json_string_value(json_array_get(errors, 0));
        snprintf(buf, cap, "%s", m != NULL ? m : s != NULL ? s : "");
    } else if (json_is_object(errors)) {
        char *d = json_dumps(errors, JSON_COMPACT);
        snprintf(buf, cap, "%.150s", d != NULL ? d : "");
        free(d);
    } else if (desc != NULL) {
        snprintf(buf, cap, "%s", desc);
    }
}

static const oc_chan_t chan = {
    .name = "shopify",
    .limits = limits,
    .nlimits = OC_ARRAY_SIZE(limits),
    .static_token = static_token,
    .token_request = token_request,
    .token_parse = token_parse,
    .headers = headers,
    .classify = classify,
    .error_text = error_text,
};

/* --- webhooks ------------------------------------------------------------------------------------ */

int oc_shopify_hmac_verify(const char *secret, const char *signature, const char *body, size_t len)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES], sig[crypto_auth_hmacsha256_BYTES + 3];
    size_t siglen = 0;
    if (secret == NULL || *secret == '\0' || signature == NULL || body == NULL)
        return -1;
    size_t sl = strlen(signature);
    if (sl == 0 || sl > 64 ||
        sodium_base642bin(sig, sizeof(sig), signature, sl, NULL, &siglen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        siglen != sizeof(mac))
        return -1;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    int rc = sodium_memcmp(mac, sig, sizeof(mac)) == 0 ? 0 : -1;
    sodium_memzero(&st, sizeof(st));
    return rc;
}

static int shopify_verify_webhook(const oc_channel_conn_t *c, const char *signature, const char *body, size_t len)
{
    const char *secret = oc_secret_str(c, "webhook_secret");
    if (secret == NULL)
        secret = oc_secret_str(c, "client_secret");
    return oc_shopify_hmac_verify(secret, signature, body, len);
}

/* --- normalizers ------------------------------------------------------------------------------------ */

static int json_id(const json_t *v, char *out, size_t cap)
{
    long long n;
    const char *s = json_string_value(v);
    if (json_is_integer(v) && oc_json_as_int(v, &n) == 0 && n > 0)
        snprintf(out, cap, "%lld", n);
    else if (s != NULL && *s != '\0' && strlen(s) < cap)
        snprintf(out, cap, "%s", s);
    else
        return -1;
    return 0;
}

json_t *oc_shopify_order(const json_t *o, uint64_t *updated_ms, char *why, size_t cap)
{
    char id[40];
    uint64_t created, updated;
    const char *ca = json_string_value(json_object_get(o, "created_at"));
    const char *ua = json_string_value(json_object_get(o, "updated_at"));
    json_t *cancelled_at = json_object_get(o, "cancelled_at"), *items = json_object_get(o, "line_items");
    const char *fulfillment = json_string_value(json_object_get(o, "fulfillment_status"));
    if (json_id(json_object_get(o, "id"), id, sizeof(id)) != 0) {
        snprintf(why, cap, "order without an id");
        return NULL;
    }
    if (ca == NULL || oc_time_parse(ca, &created) != 0 || ua == NULL || oc_time_parse(ua, &updated) != 0) {
        snprintf(why, cap, "order %s: created_at or updated_at is not a date", id);
        return NULL;
    }
    if (!json_is_array(items)) {
        snprintf(why, cap, "order %s: line_items is not a list", id);
        return NULL;
    }
    int cancelled = cancelled_at != NULL && !json_is_null(cancelled_at);
    json_t *lines = json_array();
    long long total = 0, shipped_all = 0, cancelled_all = 0;
    size_t i;
    json_t *li;
    json_array_foreach(items, i, li)
    {
        char lid[40];
        long long qty, fulfillable = 0, cancel_refunds = 0, refunds = 0;
        json_t *sku = json_object_get(li, "sku"), *fq = json_object_get(li, "fulfillable_quantity");
        if (json_id(json_object_get(li, "id"), lid, sizeof(lid)) != 0 ||
            oc_json_as_int(json_object_get(li, "quantity"), &qty) != 0 || qty < 0 ||
            (fq != NULL && !json_is_null(fq) && oc_json_as_int(fq, &fulfillable) != 0) ||
            (sku != NULL && !json_is_null(sku) && !json_is_string(sku))) {
            snprintf(why, cap, "order %s: line %zu lacks an id or a quantity", id, i);
            json_decref(lines);
            return NULL;
        }
        /* units refunded with restock_type "cancel" were cancelled before shipping */
        size_t k, m;
        json_t *rf, *rli;
        json_array_foreach(json_object_get(o, "refunds"), k, rf)
            json_array_foreach(json_object_get(rf, "refund_line_items"), m, rli)
        {
            char rid[40];
            long long q;
            const char *type = json_string_value(json_object_get(rli, "restock_type"));
            if (json_id(json_object_get(rli, "line_item_id"), rid, sizeof(rid)) != 0 || strcmp(rid, lid) != 0 ||
                oc_json_as_int(json_object_get(rli, "quantity"), &q) != 0 || q < 0)
                continue;
            refunds += q;
            if (type != NULL && strcmp(type, "cancel") == 0)
                cancel_refunds += q;
        }
        long long shipped, gone;
        if (cancelled) {
            /* what was not shipped is cancelled; with nothing fulfilled, nothing was shipped */
            shipped =
                fulfillment == NULL ? 0 : qty - fulfillable - (cancel_refunds > refunds ? cancel_refunds : refunds);
            if (shipped < 0)
                shipped = 0;
            gone = qty - shipped;
        } else {
            gone = cancel_refunds;
            shipped = qty - fulfillable - cancel_refunds;
            if (shipped < 0)
                shipped = 0;
        }
        if (gone > qty)
            gone = qty;
        total += qty;
        shipped_all += shipped;
        cancelled_all += gone;
        json_array_append_new(lines,
                              json_pack("{s:s, s:s, s:I, s:I, s:I}", "id", lid, "sku",
                                        json_is_string(sku) ? json_string_value(sku) : "", "qty", (json_int_t)qty,
                                        "qty_shipped", (json_int_t)shipped, "qty_cancelled", (json_int_t)gone));
    }
    const char *status = cancelled                                                 ? "cancelled"
                         : total > 0 && cancelled_all >= total                     ? "cancelled"
                         : shipped_all > 0 && shipped_all + cancelled_all >= total ? "shipped"
                         : shipped_all > 0                                         ? "partial"
                                                                                   : "open";
    *updated_ms = updated;
    return json_pack("{s:s, s:s, s:o, s:o, s:b, s:o}", "id", id, "status", status, "created_at", oc_json_time(created),
                     "updated_at", oc_json_time(updated), "needs_ack", 0, "lines", lines);
}

json_t *oc_shopify_refund(const json_t *rf, uint64_t *created_ms, char *why, size_t cap)
{
    char id[40], order[40];
    uint64_t created;
    const char *ca = json_string_value(json_object_get(rf, "created_at"));
    json_t *rlis = json_object_get(rf, "refund_line_items");
    if (json_id(json_object_get(rf, "id"), id, sizeof(id)) != 0 ||
        json_id(json_object_get(rf, "order_id"), order, sizeof(order)) != 0) {
        snprintf(why, cap, "refund without an id or order_id");
        return NULL;
    }
    if (ca == NULL || oc_time_parse(ca, &created) != 0 || !json_is_array(rlis)) {
        snprintf(why, cap, "refund %s: created_at or refund_line_items is malformed", id);
        return NULL;
    }
    json_t *lines = json_array();
    size_t i;
    json_t *rli;
    json_array_foreach(rlis, i, rli)
    {
        char lid[40], oline[40];
        long long q;
        const char *type = json_string_value(json_object_get(rli, "restock_type"));
        const char *sku = json_string_value(json_object_get(json_object_get(rli, "line_item"), "sku"));
        if (json_id(json_object_get(rli, "id"), lid, sizeof(lid)) != 0 ||
            json_id(json_object_get(rli, "line_item_id"), oline, sizeof(oline)) != 0 ||
            oc_json_as_int(json_object_get(rli, "quantity"), &q) != 0 || q < 0) {
            snprintf(why, cap, "refund %s: line %zu lacks an id, line_item_id or quantity", id, i);
            json_decref(lines);
            return NULL;
        }
        if (type != NULL && strcmp(type, "cancel") == 0)
            continue; /* a cancellation, reported with the order, not a return */
        int restocked = type != NULL && (strcmp(type, "return") == 0 || strcmp(type, "legacy_restock") == 0);
        json_array_append_new(lines, json_pack("{s:s, s:s, s:I, s:s?, s:b, s:s, s:s?}", "id", lid, "sku",
                                               sku != NULL ? sku : "", "qty", (json_int_t)q, "disposition",
                                               restocked ? "restock" : NULL, "restocked_by_channel", restocked,
                                               "order_line_id", oline, "restock_type", type));
    }
    *created_ms = created;
    return json_pack("{s:s, s:s, s:o, s:o}", "id", id, "order_id", order, "created_at", oc_json_time(created), "lines",
                     lines);
}

/* --- push and read: rows through lookups, mutations and level reads ---------------------------------- */

enum { ROW_PENDING = 0, ROW_DONE, ROW_STALE };
enum { P_SKUS = 0, P_LOCATION, P_WORK, P_STALE, P_DONE };

typedef struct srow {
    json_t *item; /* borrowed from sop.items */
    json_t *res;  /* borrowed from the result array */
    const char *sku;
    char *item_ref;
    char *loc;
    long long qty;
    int cas;          /* compare-and-set against `expect` */
    long long expect; /* what onecount believes the channel shows (negative after an oversell) */
    int state;
    int chunk;     /* the request (call->idx) the row rides in, -1 when none */
    int chunk_pos; /* its index in that request */
} srow_t;

typedef struct sop {
    oc_op_t base;
    int push;
    json_t *items;
    srow_t *rows;
    size_t n;
    char api[600];
    int version;
    int phase;
    size_t outstanding;
    int next_chunk;
    int max_rows; /* rows per mutation: MAX_ROWS, halved while the channel finds them too costly */
    int shrinks;
    char op_key[37]; /* for rows without their own key */
} sop_t;

static void sop_next(sop_t *s);

static void sop_free(oc_op_t *op)
{
    sop_t *s = (sop_t *)op;
    for (size_t i = 0; i < s->n; i++) {
        free(s->rows[i].item_ref);
        free(s->rows[i].loc);
    }
    free(s->rows);
    json_decref(s->items);
}

static json_t *cache_obj(sop_t *s, const char *name)
{
    json_t *o = json_object_get(s->base.st->cache, name);
    if (o == NULL) {
        o = json_object();
        json_object_set_new(s->base.st->cache, name, o);
    }
    return o;
}

static oc_call_t *gql(sop_t *s, const char *query, json_t *vars, double cost, oc_call_cb cb)
{
    json_t *body = json_pack("{s:s, s:o}", "query", query, "variables", vars != NULL ? vars : json_object());
    oc_call_t *call = oc_call_new(&s->base, "POST", "graphql", cost > MAX_COST ? MAX_COST : cost, cb);
    if (body == NULL || oc_call_url(call, "%s/graphql.json", s->api) != 0 || oc_call_json(call, body) != 0) {
        json_decref(body);
        if (call != NULL)
            oc_call_abort(call);
        return NULL;
    }
    json_decref(body);
    call->data = s;
    return call;
}

/* The `data.<field>` of a GraphQL answer, or NULL with *e describing why not. */
static json_t *gql_field(oc_call_t *call, const oc_chttp_res_t *res, const char *field, oc_adapter_error_t *e)
{
    json_t *data = json_object_get(call->json, "data"), *v = json_object_get(data, field);
    json_t *err = json_array_get(json_object_get(call->json, "errors"), 0);
    if (res->status != 200) {
        oc_call_error(call, res, e, field);
        return NULL;
    }
    if (call->json == NULL || (!json_is_object(data) && err == NULL)) {
        snprintf(call->errbuf, sizeof(call->errbuf), "malformed response from channel: %s",
                 call->json == NULL ? call->json_error : "no data");
        *e = (oc_adapter_error_t){.err = call->errbuf, .http_status = res->status};
        return NULL;
    }
    if (v == NULL || json_is_null(v)) {
        const char *m = json_string_value(json_object_get(err, "message"));
        snprintf(call->errbuf, sizeof(call->errbuf), "%s: %s", field, m != NULL ? m : "no result");
        *e = (oc_adapter_error_t){.err = call->errbuf, .http_status = res->status};
        return NULL;
    }
    return v;
}

/* SKU -> inventory item lookups */

static void on_skus(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    sop_t *s = call->data;
    oc_adapter_error_t ge;
    if (e != NULL) {
        oc_op_fail_with(&s->base, e);
        return;
    }
    json_t *conn = gql_field(call, res, "productVariants", &ge), *nodes = json_object_get(conn, "nodes");
    if (conn == NULL || !json_is_array(nodes)) {
        if (conn != NULL)
            ge = (oc_adapter_error_t){.err = "malformed response from channel: productVariants without nodes"};
        oc_op_fail_with(&s->base, &ge);
        return;
    }
    json_t *items = cache_obj(s, "items");
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        const char *sku = json_string_value(json_object_get(n, "sku"));
        const char *item = json_string_value(json_object_get(json_object_get(n, "inventoryItem"), "id"));
        if (sku != NULL && item != NULL && json_object_size(items) < 100000)
            json_object_set_new(items, sku, json_string(item));
    }
    if (--s->outstanding == 0)
        sop_next(s);
}

static int lookup_skus(sop_t *s)
{
    static const char q[] = "query onecountSkus($q: String!, $n: Int!) { productVariants(first: $n, query: $q) { "
                            "nodes { sku inventoryItem { id } } } }";
    json_t *cached = cache_obj(s, "items"), *want = json_object();
    for (size_t i = 0; i < s->n; i++) {
        srow_t *r = &s->rows[i];
        if (r->state != ROW_PENDING || r->item_ref != NULL || r->sku == NULL)
            continue;
        const char *hit = json_string_value(json_object_get(cached, r->sku));
        if (hit != NULL)
            r->item_ref = oc_strdup(hit);
        else if (strchr(r->sku, '"') == NULL && strchr(r->sku, '\\') == NULL)
            json_object_set_new(want, r->sku, json_true());
    }
    const char *sku;
    json_t *v;
    oc_buf_t b = {0};
    int n = 0, rc = 0;
    void *tmp;
    json_object_foreach_safe(want, tmp, sku, v)
    {
        if (oc_buf_printf(&b, "%ssku:\"%s\"", n > 0 ? " OR " : "", sku) != 0)
            rc = OC_ENOMEM;
        n++;
        json_object_del(want, sku);
        if (rc == 0 && (n == SKU_CHUNK || json_object_size(want) == 0)) {
            oc_call_t *call = gql(s, q, json_pack("{s:s, s:i}", "q", b.data, "n", n), 2 + 2 * n, on_skus);
            if (call == NULL)
                rc = OC_ENOMEM;
            else
                s->outstanding++;
            b.len = 0;
            n = 0;
        }
        if (rc != 0)
            break;
    }
    oc_buf_free(&b);
    json_decref(want);
    return rc;
}

/* the default location */

static void on_location(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    sop_t *s = call->data;
    oc_adapter_error_t ge;
    if (e != NULL) {
        oc_op_fail_with(&s->base, e);
        return;
    }
    json_t *conn = gql_field(call, res, "locations", &ge);
    const char *id = json_string_value(json_object_get(json_array_get(json_object_get(conn, "nodes"), 0), "id"));
    if (conn == NULL) {
        oc_op_fail_with(&s->base, &ge);
        return;
    }
    if (id == NULL) {
        oc_op_fail(&s->base, 0, res->status, 0, "the shop has no location to stock");
        return;
    }
    json_object_set_new(s->base.st->cache, "location", json_string(id));
    if (--s->outstanding == 0)
        sop_next(s);
}

/* levels: the available quantity of each row's item at its location */

static json_t *available_at(const json_t *node, const char *loc)
{
    size_t k, m;
    json_t *lv, *q;
    json_array_foreach(json_object_get(json_object_get(node, "inventoryLevels"), "nodes"), k, lv)
    {
        const char *at = json_string_value(json_object_get(json_object_get(lv, "location"), "id"));
        if (loc != NULL && (at == NULL || strcmp(at, loc) != 0))
            continue;
        json_array_foreach(json_object_get(lv, "quantities"), m, q)
        {
            const char *name = json_string_value(json_object_get(q, "name"));
            if (name != NULL && strcmp(name, "available") == 0 && json_is_integer(json_object_get(q, "quantity")))
                return json_object_get(q, "quantity");
        }
        return NULL;
    }
    return NULL;
}

static void on_levels(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    sop_t *s = call->data;
    oc_adapter_error_t ge;
    json_t *nodes = e == NULL ? gql_field(call, res, "nodes", &ge) : NULL;
    if (e == NULL && nodes != NULL && !json_is_array(nodes)) {
        ge = (oc_adapter_error_t){.err = "malformed response from channel: nodes is not a list"};
        nodes = NULL;
    }
    if (nodes == NULL && !s->push) {
        oc_op_fail_with(&s->base, e != NULL ? e : &ge);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        srow_t *r = &s->rows[i];
        if (r->chunk != (int)call->idx)
            continue;
        r->chunk = -1;
        if (nodes == NULL) { /* push: the row stays stale, without the current quantity */
            json_object_set_new(r->res, "current", json_null());
            json_object_set_new(r->res, "current_error", json_string((e != NULL ? e : &ge)->err));
            continue;
        }
        json_t *qty = available_at(json_array_get(nodes, (size_t)r->chunk_pos), r->loc);
        json_object_set_new(r->res, "qty", qty != NULL ? json_incref(qty) : json_null());
        if (s->push)
            json_object_set_new(r->res, "current", qty != NULL ? json_incref(qty) : json_null());
        else
            r->state = ROW_DONE;
    }
    if (--s->outstanding == 0)
        sop_next(s);
}

/* Reads the levels of the resolved rows in `state`, in chunks. */
static int read_levels(sop_t *s, int state)
{
    static const char q[] = "query onecountLevels($ids: [ID!]!) { nodes(ids: $ids) { ... on InventoryItem { id "
                            "inventoryLevels(first: 10) { nodes { location { id } quantities(names: [\"available\"]) "
                            "{ name quantity } } } } } }";
    size_t i = 0;
    while (i < s->n) {
        json_t *ids = json_array();
        int chunk = s->next_chunk++, pos = 0;
        for (; i < s->n && pos < READ_CHUNK; i++) {
            srow_t *r = &s->rows[i];
            if (r->item_ref == NULL || r->state != state)
                continue;
            r->chunk = chunk;
            r->chunk_pos = pos++;
            json_array_append_new(ids, json_string(r->item_ref));
        }
        if (pos == 0) {
            json_decref(ids);
            break;
        }
        oc_call_t *call = gql(s, q, json_pack("{s:o}", "ids", ids), 2 + pos * (2 + LEVELS_FIRST * 3), on_levels);
        if (call == NULL)
            return OC_ENOMEM;
        call->idx = chunk;
        s->outstanding++;
    }
    return 0;
}

/* mutations */

static void settle_batch(sop_t *s, int chunk, const char *err, int retryable)
{
    for (size_t i = 0; i < s->n; i++) {
        srow_t *r = &s->rows[i];
        if (r->chunk != chunk)
            continue;
        r->chunk = -1;
        r->state = ROW_DONE;
        oc_item_error(r->res, err, retryable);
    }
}

/* The batch row a userError names (["input", "quantities", "3", …]), or -1. */
static int error_row(const json_t *field)
{
    long long n;
    if (!json_is_array(field) || json_array_size(field) < 3 || json_string_value(json_array_get(field, 1)) == NULL ||
        strcmp(json_string_value(json_array_get(field, 1)), "quantities") != 0 ||
        oc_json_as_int(json_array_get(field, 2), &n) != 0 || n < 0 || n > MAX_ROWS)
        return -1;
    return (int)n;
}

static void on_mutation(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    sop_t *s = call->data;
    int chunk = (int)call->idx;
    oc_adapter_error_t ge;
    const char *code = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(call->json, "errors"), 0), "extensions"), "code"));
    if (e == NULL && code != NULL && (strcmp(code, "THROTTLED") == 0 || strcmp(code, "MAX_COST_EXCEEDED") == 0) &&
        ++s->shrinks <= 6) {
        /* the batch costs more than the bucket holds: its rows go again, in smaller batches */
        s->max_rows = s->max_rows > 2 ? s->max_rows / 2 : 1;
        for (size_t i = 0; i < s->n; i++)
            if (s->rows[i].chunk == chunk)
                s->rows[i].chunk = -1;
        if (--s->outstanding == 0)
            sop_next(s);
        return;
    }
    json_t *m = e == NULL ? gql_field(call, res, "inventorySetQuantities", &ge) : NULL;
    json_t *ue = json_object_get(m, "userErrors");
    if (m == NULL || (ue != NULL && !json_is_array(ue))) {
        const oc_adapter_error_t *why = e != NULL ? e : &ge;
        settle_batch(s, chunk, m == NULL ? why->err : "malformed response from channel: userErrors",
                     e != NULL && e->retryable);
    } else if (json_array_size(ue) == 0) {
        json_t *changes = json_object_get(json_object_get(m, "inventoryAdjustmentGroup"), "changes");
        for (size_t i = 0; i < s->n; i++) {
            srow_t *r = &s->rows[i];
            if (r->chunk != chunk)
                continue;
            long long after = r->qty;
            size_t k;
            json_t *ch;
            json_array_foreach(changes, k, ch)
            {
                const char *name = json_string_value(json_object_get(ch, "name"));
                const char *item = json_string_value(json_object_get(json_object_get(ch, "item"), "id"));
                const char *loc = json_string_value(json_object_get(json_object_get(ch, "location"), "id"));
                if (name != NULL && strcmp(name, "available") == 0 && item != NULL && strcmp(item, r->item_ref) == 0 &&
                    (loc == NULL || strcmp(loc, r->loc) == 0))
                    oc_json_as_int(json_object_get(ch, "quantityAfterChange"), &after);
            }
            r->chunk = -1;
            r->state = ROW_DONE;
            json_object_set_new(r->res, "status", json_string("ok"));
            json_object_set_new(r->res, "qty", json_integer(after));
        }
    } else {
        /* all or nothing: settle the rows the errors name, send the others again */
        int named = 0;
        size_t k;
        json_t *err;
        json_array_foreach(ue, k, err)
        {
            const char *code = json_string_value(json_object_get(err, "code"));
            const char *msg = json_string_value(json_object_get(err, "message"));
            int pos = error_row(json_object_get(err, "field"));
            for (size_t i = 0; pos >= 0 && i < s->n; i++) {
                srow_t *r = &s->rows[i];
                if (r->chunk != chunk || r->chunk_pos != pos || r->state != ROW_PENDING)
                    continue;
                named++;
                if (code != NULL &&
                    (strcmp(code, "CHANGE_FROM_QUANTITY_STALE") == 0 || strcmp(code, "COMPARE_QUANTITY_STALE") == 0)) {
                    r->state = ROW_STALE;
                    json_object_set_new(r->res, "status", json_string("stale"));
                } else {
                    char text[300];
                    snprintf(text, sizeof(text), "%s%s%s", code != NULL ? code : "error", msg != NULL ? ": " : "",
                             msg != NULL ? msg : "");
                    r->state = ROW_DONE;
                    oc_item_error(r->res, text, code != NULL && strcmp(code, "IDEMPOTENCY_CONCURRENT_REQUEST") == 0);
                }
            }
        }
        if (named == 0) { /* nothing to pin the errors on: the whole batch failed */
            const char *code = json_string_value(json_object_get(json_array_get(ue, 0), "code"));
            const char *msg = json_string_value(json_object_get(json_array_get(ue, 0), "message"));
            char text[300];
            snprintf(text, sizeof(text), "%s%s%s", code != NULL ? code : "error", msg != NULL ? ": " : "",
                     msg != NULL ? msg : "");
            settle_batch(s, chunk, text, 0);
        }
        for (size_t i = 0; i < s->n; i++)
            if (s->rows[i].chunk == chunk)
                s->rows[i].chunk = -1; /* still pending: the next round sends them */
    }
    if (--s->outstanding == 0)
        sop_next(s);
}

json_t *oc_shopify_quantity_row(int version, const char *item_ref, const char *loc, long long qty, int cas,
                                long long expect)
{
    json_t *row =
        json_pack("{s:s, s:s, s:I}", "inventoryItemId", item_ref, "locationId", loc, "quantity", (json_int_t)qty);
    if (row == NULL)
        return NULL;
    if (version >= 202601)
        json_object_set_new(row, "changeFromQuantity", cas ? json_integer(expect) : json_null());
    else if (cas)
        json_object_set_new(row, "compareQuantity", json_integer(expect));
    return row;
}

static int mutate(sop_t *s)
{
    static const char q_keyed[] =
        "mutation onecountPush($input: InventorySetQuantitiesInput!, $key: String!) { "
        "inventorySetQuantities(input: $input) @idempotent(key: $key) { inventoryAdjustmentGroup { changes { name "
        "quantityAfterChange item { id } location { id } } } userErrors { code field message } } }";
    static const char q_plain[] =
        "mutation onecountPush($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { "
        "inventoryAdjustmentGroup { changes { name quantityAfterChange item { id } location { id } } } userErrors { "
        "code field message } } }";
    json_t *rows = json_array();
    oc_buf_t keysrc = {0};
    int chunk = s->next_chunk++, pos = 0, max_rows = s->max_rows;
    /* a mutation costs 10 + 1 per row and may not cost more than the bucket holds */
    oc_rl_bucket_t *b = oc_ratelimit_bucket(s->base.st->rl, "graphql", limits, OC_ARRAY_SIZE(limits), NULL);
    if (b != NULL && b->max_capacity - 10 < max_rows)
        max_rows = b->max_capacity > 11 ? (int)b->max_capacity - 10 : 1;
    /* Before 2026-01 the check is skipped for the whole input (ignoreCompareQuantity) or for none of its
     * rows: a mutation carries rows of one kind, those with an expectation or those without. */
    int ignore = -1;
    for (size_t i = 0; i < s->n && pos < max_rows; i++) {
        srow_t *r = &s->rows[i];
        if (r->state != ROW_PENDING)
            continue;
        if (s->version < 202601) {
            if (ignore < 0)
                ignore = !r->cas;
            if (ignore != !r->cas)
                continue;
        }
        json_array_append_new(rows,
                              oc_shopify_quantity_row(s->version, r->item_ref, r->loc, r->qty, r->cas, r->expect));
        const char *key = json_string_value(json_object_get(r->item, "key"));
        oc_buf_printf(&keysrc, "%s|%s|%s|%lld|%lld|%d\n", key != NULL ? key : s->op_key, r->item_ref, r->loc, r->qty,
                      r->cas ? r->expect : -1, r->cas);
        r->chunk = chunk;
        r->chunk_pos = pos++;
    }
    if (pos == 0) {
        json_decref(rows);
        oc_buf_free(&keysrc);
        return 1; /* nothing left to send */
    }
    char key[37], ref[80];
    oc_derive_key(keysrc.data != NULL ? keysrc.data : "", keysrc.len, key);
    oc_buf_free(&keysrc);
    snprintf(ref, sizeof(ref), "gid://onecount/InventorySync/%s", key);
    json_t *vars = json_pack("{s:{s:s, s:s, s:s, s:o}}", "input", "name", "available", "reason", "correction",
                             "referenceDocumentUri", ref, "quantities", rows);
    int keyed = s->version >= 202601;
    if (vars != NULL && ignore == 1)
        json_object_set_new(json_object_get(vars, "input"), "ignoreCompareQuantity", json_true());
    if (vars != NULL && keyed)
        json_object_set_new(vars, "key", json_string(key));
    oc_call_t *call = gql(s, keyed ? q_keyed : q_plain, vars, 10 + pos, on_mutation);
    if (call == NULL)
        return OC_ENOMEM;
    call->idx = chunk;
    s->outstanding++;
    return 0;
}

/* Moves the operation on: runs from the loop whenever a phase has no request left in flight. */
static void sop_next(sop_t *s)
{
    int rc = 0;
    for (;;) {
        switch (s->phase) {
        case P_SKUS:
            s->phase = P_LOCATION;
            rc = lookup_skus(s);
            break;
        case P_LOCATION: {
            const char *loc = json_string_value(json_object_get(s->base.st->cache, "location"));
            json_t *found = cache_obj(s, "items");
            int missing = 0;
            for (size_t i = 0; i < s->n; i++) {
                srow_t *r = &s->rows[i];
                if (r->state != ROW_PENDING)
                    continue;
                const char *hit =
                    r->item_ref == NULL && r->sku != NULL ? json_string_value(json_object_get(found, r->sku)) : NULL;
                if (hit != NULL)
                    r->item_ref = oc_strdup(hit);
                if (r->item_ref == NULL) { /* the lookup did not find it */
                    r->state = ROW_DONE;
                    if (s->push)
                        oc_item_error(r->res, "sku not found on the channel", 0);
                    else
                        json_object_set_new(r->res, "qty", json_null());
                    continue;
                }
                if (r->loc == NULL && loc != NULL)
                    r->loc = oc_strdup(loc);
                missing |= r->loc == NULL;
            }
            if (missing && loc == NULL) {
                oc_call_t *call =
                    gql(s, "query onecountLocation { locations(first: 1) { nodes { id } } }", NULL, 3, on_location);
                rc = call == NULL ? OC_ENOMEM : 0;
                if (call != NULL)
                    s->outstanding++;
                break; /* phase stays: fill the rows once the location is known */
            }
            s->phase = P_WORK;
            continue;
        }
        case P_WORK:
            if (!s->push) {
                s->phase = P_DONE;
                rc = read_levels(s, ROW_PENDING);
                break;
            }
            rc = mutate(s);
            if (rc == 1) { /* every row settled */
                rc = 0;
                s->phase = P_STALE;
                continue;
            }
            break;
        case P_STALE:
            s->phase = P_DONE;
            rc = read_levels(s, ROW_STALE);
            break;
        case P_DONE: oc_op_finish(&s->base, NULL); return;
        }
        if (rc != 0) {
            oc_op_fail(&s->base, 1, 0, 0, "could not build the request");
            return;
        }
        if (s->outstanding > 0) {
            oc_op_start_calls(&s->base);
            return;
        }
    }
}

static void sop_kick(oc_op_t *op)
{
    sop_next((sop_t *)op);
}

static int sop_start(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, int push, oc_adapter_cb cb, void *arg)
{
    if (!json_is_array(items))
        return OC_EINVAL;
    int rc;
    sop_t *s = (sop_t *)oc_op_new(sizeof(sop_t), http, c, &chan, DEADLINE_MS, cb, arg, &rc);
    if (s == NULL)
        return rc;
    s->base.on_free = sop_free;
    s->push = push;
    s->items = json_incref(items);
    s->version = version_number(api_version(c));
    s->max_rows = MAX_ROWS;
    s->n = json_array_size(items);
    s->base.result = json_array();
    oc_uuid_v4(s->op_key);
    if (api_base(c, s->api, sizeof(s->api)) != 0) {
        oc_op_discard(&s->base);
        return OC_EINVAL;
    }
    s->rows = oc_calloc(s->n + 1, sizeof(*s->rows));
    json_t *setting_loc = json_object_get(c->settings, "location_id");
    for (size_t i = 0; i < s->n; i++) {
        srow_t *r = &s->rows[i];
        json_t *it = json_array_get(items, i);
        r->item = it;
        r->res = oc_item_result(it);
        r->chunk = -1;
        json_array_append_new(s->base.result, r->res);
        const char *ref = json_string_value(json_object_get(it, "item_ref"));
        json_t *loc = json_object_get(it, "location_ref");
        r->sku = json_string_value(json_object_get(it, "sku"));
        if (ref != NULL && strncmp(ref, "gid://shopify/InventoryItem/", 28) == 0)
            r->item_ref = oc_strdup(ref);
        r->loc = location_gid(loc != NULL && !json_is_null(loc) ? loc : setting_loc);
        const char *problem = NULL;
        if (r->item_ref == NULL && (r->sku == NULL || *r->sku == '\0'))
            problem = "item_ref or sku: required";
        else if (push && oc_item_qty(it, &r->qty) != 0)
            problem = "qty: must be an integer from 0 to 1000000000";
        else if (push && oc_item_expect(it, &r->cas, &r->expect) != 0)
            problem = "expect: must be an integer (a 32-bit one, as the channel counts) or null";
        if (problem != NULL) {
            r->state = ROW_DONE;
            if (!push)
                json_object_set_new(r->res, "qty", json_null());
            oc_item_error(r->res, problem, 0);
        }
    }
    oc_op_sleep(&s->base, 0, sop_kick); /* everything from the loop */
    return 0;
}

static int shopify_push(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg)
{
    return sop_start(http, c, items, 1, cb, arg);
}

static int shopify_read(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg)
{
    return sop_start(http, c, items, 0, cb, arg);
}

/* --- orders and returns: REST orders.json by updated_at, Link pages ----------------------------------- */

typedef struct spage {
    oc_op_t base;
    int returns;
    int restarted;
    oc_cursor_t cur;
    char api[600];
} spage_t;

static void spage_free(oc_op_t *op)
{
    oc_cursor_free(&((spage_t *)op)->cur);
}

static int page_call(spage_t *p);

static void on_orders_page(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    spage_t *p = call->data;
    oc_op_t *op = &p->base;
    if (e != NULL) {
        oc_op_fail_with(op, e);
        return;
    }
    if ((res->status == 400 || res->status == 422) && p->cur.page != NULL && !p->restarted) {
        /* an expired page_info: start the pass again; the cursor's memory drops what was returned */
        p->restarted = 1;
        free(p->cur.page);
        p->cur.page = NULL;
        if (page_call(p) != 0)
            oc_op_fail(op, 1, 0, 0, "could not build the request");
        return;
    }
    json_t *orders = json_object_get(call->json, "orders");
    if (res->status != 200 || !json_is_array(orders)) {
        oc_op_unusable(op, call, res, 200, "orders", "no orders list");
        return;
    }
    json_t *out = json_array();
    char why[200];
    size_t i;
    json_t *o;
    json_array_foreach(orders, i, o)
    {
        uint64_t t;
        json_t *n = oc_shopify_order(o, &t, why, sizeof(why));
        if (n == NULL) {
            json_decref(out);
            oc_op_fail(op, 0, 200, 0, "malformed response from channel: %s", why);
            return;
        }
        if (!p->returns) {
            if (oc_cursor_admit_record(&p->cur, json_string_value(json_object_get(n, "id")), t, n))
                json_array_append(out, n);
            json_decref(n);
            continue;
        }
        json_decref(n);
        size_t k;
        json_t *rf;
        json_array_foreach(json_object_get(o, "refunds"), k, rf)
        {
            uint64_t created;
            json_t *r = oc_shopify_refund(rf, &created, why, sizeof(why));
            if (r == NULL) {
                json_decref(out);
                oc_op_fail(op, 0, 200, 0, "malformed response from channel: %s", why);
                return;
            }
            /* refunds older than the window were reported before; cancellations alone are no return */
            if (created >= p->cur.from_ms && json_array_size(json_object_get(r, "lines")) > 0 &&
                oc_cursor_admit(&p->cur, json_string_value(json_object_get(r, "id")), created))
                json_array_append(out, r);
            json_decref(r);
        }
    }
    char link[2048], page_info[1024];
    const char *next = NULL;
    if (oc_cursor_link_next(oc_chttp_header(res, "link"), link, sizeof(link)) == 0) {
        if (oc_cursor_url_param(link, "page_info", page_info, sizeof(page_info)) != 0 ||
            strspn(page_info, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=%") !=
                strlen(page_info)) {
            json_decref(out);
            oc_op_fail(op, 0, 200, 0, "malformed response from channel: the Link header has no usable page_info");
            return;
        }
        next = page_info;
    }
    oc_op_finish_page(op, &p->cur, out, p->returns ? "returns" : "orders", next);
}

static int page_call(spage_t *p)
{
    oc_channel_conn_t *c = p->base.conn;
    long long limit = oc_setting_int(c, "page_size", ORDERS_PAGE, 1, 250);
    const char *fields =
        p->returns ? "&fields=id,created_at,updated_at,cancelled_at,fulfillment_status,line_items,refunds" : "";
    oc_call_t *call = oc_call_new(&p->base, "GET", "rest", 1, on_orders_page);
    int rc;
    if (p->cur.page != NULL) {
        rc = oc_call_url(call, "%s/orders.json?limit=%lld&page_info=%s%s", p->api, limit, p->cur.page, fields);
    } else {
        char iso[24];
        oc_time_format(iso, oc_cursor_begin(&p->cur, oc_cursor_overlap(c)), OC_TIME_S);
        rc = oc_call_url(call, "%s/orders.json?status=any&order=updated_at%%20asc&limit=%lld&updated_at_min=%s%s",
                         p->api, limit, iso, fields);
    }
    if (rc != 0) {
        oc_call_abort(call);
        return rc;
    }
    call->data = p;
    oc_call_start(call);
    return 0;
}

static int fetch_page(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, int returns, oc_adapter_cb cb,
                      void *arg)
{
    int rc;
    spage_t *p = (spage_t *)oc_op_new(sizeof(spage_t), http, c, &chan, DEADLINE_MS, cb, arg, &rc);
    if (p == NULL)
        return rc;
    p->base.on_free = spage_free;
    p->returns = returns;
    if (api_base(c, p->api, sizeof(p->api)) != 0) {
        oc_op_discard(&p->base);
        return OC_EINVAL;
    }
    if (oc_cursor_decode(&p->cur, cursor, oc_now_ms() - DAY_MS) != 0) {
        oc_op_fail_later(&p->base, 0, "invalid cursor");
        return 0;
    }
    if ((rc = page_call(p)) != 0)
        oc_op_discard(&p->base);
    return rc;
}

static int shopify_fetch_orders(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb, void *arg)
{
    return fetch_page(http, c, cursor, 0, cb, arg);
}

static int shopify_fetch_returns(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb,
                                 void *arg)
{
    return fetch_page(http, c, cursor, 1, cb, arg);
}

/* --- acknowledge, test, validate -------------------------------------------------------------------------- */

static int shopify_acknowledge(oc_chttp_t *http, oc_channel_conn_t *c, json_t *order_ids, oc_adapter_cb cb, void *arg)
{
    /* Shopify orders need no acknowledgement: every id counts as acknowledged. */
    return oc_op_acknowledge_all(http, c, &chan, order_ids, cb, arg);
}

static void on_shop(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    sop_t *s = call->data;
    oc_adapter_error_t ge;
    if (e != NULL) {
        oc_op_fail_with(&s->base, e);
        return;
    }
    json_t *shop = gql_field(call, res, "shop", &ge);
    const char *domain = json_string_value(json_object_get(shop, "myshopifyDomain"));
    if (shop == NULL || domain == NULL) {
        if (shop != NULL)
            ge = (oc_adapter_error_t){.err = "malformed response from channel: shop without myshopifyDomain"};
        oc_op_fail_with(&s->base, &ge);
        return;
    }
    s->base.result = json_pack("{s:b, s:s, s:{s:s, s:O?}, s:{s:O?, s:s, s:b}}", "ok", 1, "account", domain, "identity",
                               "shop_domain", domain, "shop_id", json_object_get(shop, "id"), "details", "name",
                               json_object_get(shop, "name"), "api_version", api_version(s->base.conn), "static_token",
                               static_token(s->base.conn) != NULL);
    oc_op_finish(&s->base, NULL);
}

static int shopify_test(oc_chttp_t *http, oc_channel_conn_t *c, oc_adapter_cb cb, void *arg)
{
    int rc;
    sop_t *s = (sop_t *)oc_op_new(sizeof(sop_t), http, c, &chan, 30000, cb, arg, &rc);
    if (s == NULL)
        return rc;
    s->base.on_free = sop_free;
    if (api_base(c, s->api, sizeof(s->api)) != 0) {
        oc_op_discard(&s->base);
        return OC_EINVAL;
    }
    oc_call_t *call = gql(s, "query onecountTest { shop { id name myshopifyDomain } }", NULL, 1, on_shop);
    if (call == NULL) {
        oc_op_discard(&s->base);
        return OC_ENOMEM;
    }
    oc_call_start(call);
    return 0;
}

static int shopify_validate(const json_t *settings, const json_t *secrets, char *why, size_t cap)
{
    const char *shop = json_string_value(json_object_get(settings, "shop"));
    const char *version = json_string_value(json_object_get(settings, "api_version"));
    json_t *loc = json_object_get(settings, "location_id");
    if (!shop_ok(shop)) {
        snprintf(why, cap, "shop: required, a shop domain such as acme.myshopify.com");
        return -1;
    }
    if (version != NULL && version_number(version) == 0) {
        snprintf(why, cap, "api_version: must look like 2026-01 (quarterly) or be \"unstable\"");
        return -1;
    }
    char *gid = loc != NULL ? location_gid(loc) : NULL;
    free(gid);
    if (loc != NULL && gid == NULL) {
        snprintf(why, cap, "location_id: must be a Location gid or number");
        return -1;
    }
    const char *token = json_string_value(json_object_get(secrets, "access_token"));
    const char *id = json_string_value(json_object_get(secrets, "client_id"));
    const char *secret = json_string_value(json_object_get(secrets, "client_secret"));
    if ((token == NULL || *token == '\0') && (id == NULL || *id == '\0' || secret == NULL || *secret == '\0')) {
        snprintf(why, cap, "access_token: required unless client_id and client_secret are given");
        return -1;
    }
    return 0;
}

const oc_adapter_t oc_adapter_shopify = {
    .name = "shopify",
    .kind = OC_CHANNEL_SHOPIFY,
    .default_base_url = default_base_url,
    .validate = shopify_validate,
    .push = shopify_push,
    .read = shopify_read,
    .fetch_orders = shopify_fetch_orders,
    .fetch_returns = shopify_fetch_returns,
    .acknowledge = shopify_acknowledge,
    .test = shopify_test,
    .verify_webhook = shopify_verify_webhook,
    .max_batch = MAX_ROWS,
    .state_free = oc_cstate_free,
};
