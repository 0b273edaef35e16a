/*
 * shopify.c — the Shopify Admin API simulator, one shop per account under
 * /shopify/{shop}.
 *
 * Speaks: OAuth token endpoint (client credentials, refresh with rotation,
 * authorization code), GraphQL (inventorySetQuantities with
 * changeFromQuantity CAS and @idempotent, inventoryAdjustQuantities, reads
 * of inventory items, levels, variants by SKU, locations), REST
 * inventory_levels set/adjust/list, orders.json with Link pagination,
 * webhooks.json, and sends signed webhooks on order, refund and inventory
 * events.  Rate limits: REST leaky bucket (40 @ 2/s, X-Shopify-Shop-Api-Call-Limit,
 * 429 + Retry-After) and the GraphQL cost bucket (1000 points @ 100/s,
 * extensions.cost, THROTTLED).  Auth: X-Shopify-Access-Token, 401 otherwise.
 */
#include "adapters/sim/sim_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define IDEM_MAX      10000
#define GQL_MAX_COST  1000
#define SHOP_SCOPES   "read_inventory,write_inventory,read_orders,read_locations,read_products"
#define INVALID_TOKEN "[API] Invalid API key or access token (unrecognized login or wrong password)"

static const oc_sim_limit_def_t limits[] = {
    {"rest", 40, 2},
    {"graphql", GQL_MAX_COST, 100},
};

static const char *const valid_reasons[] = {
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
    NULL,
};

static const char *const quantity_names[] = {"available", "on_hand", "committed",       "reserved",
                                             "incoming",  "damaged", "quality_control", "safety_stock"};

/* --- small helpers ---------------------------------------------------------------- */

/* "2026-01" -> 202601; "unstable" -> 999999; anything else -> 0. */
static int version_number(const char *v)
{
    if (strcmp(v, "unstable") == 0)
        return 999999;
    int y, m;
    char tail;
    if (strlen(v) != 7 || sscanf(v, "%4d-%2d%c", &y, &m, &tail) != 2 || y < 2019 || y > 2099 ||
        (m != 1 && m != 4 && m != 7 && m != 10))
        return 0;
    return y * 100 + m;
}

static void rest_error(oc_sim_req_t *r, int status, const char *message)
{
    oc_sim_reply_json(r, status, json_pack("{s:s}", "errors", message));
}

static long long gid_id(const char *gid, const char *type)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "gid://shopify/%s/", type);
    size_t pl = strlen(prefix);
    if (gid == NULL || strncmp(gid, prefix, pl) != 0)
        return -1;
    char *end;
    long long v = strtoll(gid + pl, &end, 10);
    if (end == gid + pl || (*end != '\0' && *end != '?') || v <= 0)
        return -1;
    return v;
}

static json_t *gid(const char *type, long long id)
{
    return json_sprintf("gid://shopify/%s/%lld", type, id);
}

static void level_gid(char *out, size_t cap, const oc_sim_sku_t *s)
{
    snprintf(out, cap, "gid://shopify/InventoryLevel/%lld?inventory_item_id=%lld", s->location_id, s->item_id);
}

static int known_location(oc_sim_account_t *a, long long loc)
{
    if (loc == a->location_id)
        return 1;
    for (size_t i = 0; i < a->skus.len; i++)
        if (((oc_sim_sku_t *)a->skus.items[i])->location_id == loc)
            return 1;
    return 0;
}

/* --- webhooks --------------------------------------------------------------------- */

static const char *topic_name(unsigned topic)
{
    switch (topic) {
    case OC_SIM_TOPIC_ORDERS_CREATE: return "orders/create";
    case OC_SIM_TOPIC_ORDERS_CANCELLED: return "orders/cancelled";
    case OC_SIM_TOPIC_ORDERS_FULFILLED: return "orders/fulfilled";
    case OC_SIM_TOPIC_REFUNDS_CREATE: return "refunds/create";
    case OC_SIM_TOPIC_INVENTORY_LEVELS_UPDATE: return "inventory_levels/update";
    case OC_SIM_TOPIC_ORDERS_UPDATED: return "orders/updated";
    }
    return "unknown";
}

void oc_sim_shopify_webhook(oc_sim_t *sim, oc_sim_account_t *a, unsigned topic, json_t *body)
{
    if (body == NULL)
        return;
    if (a->webhook.url[0] == '\0' || !(a->webhook.topics & topic) || sim->webhooks == NULL) {
        json_decref(body);
        return;
    }
    char *raw = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (raw == NULL)
        return;
    char domain[96], event_id[40];
    snprintf(domain, sizeof(domain), "%s.myshopify.com", a->name);
    int copies = 1 + a->webhook.duplicates + oc_sim_rng_chance(&a->rng, a->webhook.duplicate_rate);
    oc_sim_delivery_spec_t spec = {
        .account_id = a->id,
        .url = a->webhook.url,
        .topic = topic_name(topic),
        .shop_domain = domain,
        .api_version = a->webhook.api_version,
        .secret = a->webhook.secret,
        .body = raw,
        .body_len = strlen(raw),
        .copies = copies,
        .max_attempts = a->webhook.max_attempts,
        .retry_base_ms = a->webhook.retry_base_ms,
        .timeout_ms = a->webhook.timeout_ms,
    };
    oc_sim_webhooks_send(sim->webhooks, &spec, event_id);
    free(raw);
}

json_t *oc_sim_shopify_level_json(oc_sim_account_t *a, const oc_sim_sku_t *s)
{
    char updated[32], g[128];
    oc_time_format(updated, s->updated_ms, OC_TIME_OFFSET);
    level_gid(g, sizeof(g), s);
    return json_pack("{s:I, s:I, s:I, s:s, s:s}", "inventory_item_id", (json_int_t)s->item_id, "location_id",
                     (json_int_t)s->location_id, "available", (json_int_t)s->qty, "updated_at", updated,
                     "admin_graphql_api_id", g);
}

json_t *oc_sim_shopify_order_json(oc_sim_t *sim, oc_sim_account_t *a, const oc_sim_order_t *o)
{
    char created[32], updated[32], cancelled[32];
    oc_time_format(created, o->created_ms, OC_TIME_OFFSET);
    oc_time_format(updated, o->updated_ms, OC_TIME_OFFSET);
    oc_time_format(cancelled, o->cancelled_ms, OC_TIME_OFFSET);
    json_t *items = json_array();
    long long total = 0, returned = 0, shipped = 0, open = 0;
    for (int i = 0; i < o->nlines; i++) {
        const oc_sim_line_t *l = &o->lines[i];
        oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
        long long fulfillable = l->qty - l->cancelled - l->shipped;
        long long current = l->qty - l->cancelled - l->returned - l->refunded;
        total += l->qty;
        returned += l->returned + l->refunded + l->cancelled;
        shipped += l->shipped;
        open += fulfillable;
        json_array_append_new(
            items,
            json_pack("{s:I, s:o, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s?, s:s, s:b, s:i, s:s}", "id",
                      (json_int_t)l->line_id, "admin_graphql_api_id", gid("LineItem", l->line_id), "variant_id",
                      (json_int_t)s->variant_id, "product_id", (json_int_t)(s->variant_id - 1000000000LL), "sku",
                      s->sku, "title", s->sku, "name", s->sku, "quantity", (json_int_t)l->qty, "current_quantity",
                      (json_int_t)current, "fulfillable_quantity", (json_int_t)(fulfillable > 0 ? fulfillable : 0),
                      "fulfillment_status", l->shipped >= l->qty - l->cancelled && l->shipped > 0 ? "fulfilled" : NULL,
                      "price", "10.00", "requires_shipping", 1, "grams", 0, "vendor", "onecount-sim"));
    }
    const char *financial = "paid";
    if (o->cancelled)
        financial = json_array_size(o->refunds) > 0 ? "refunded" : "voided";
    else if (returned >= total)
        financial = "refunded";
    else if (returned > 0)
        financial = "partially_refunded";
    const char *fulfillment = shipped == 0 ? NULL : open > 0 ? "partial" : "fulfilled";
    json_t *j =
        json_pack("{s:I, s:o, s:s, s:I, s:s, s:s, s:s, s:s, s:s?, s:s?, s:n, s:s, s:s?, s:s, s:s, s:b, s:s, s:o, s:O}",
                  "id", (json_int_t)o->shopify_id, "admin_graphql_api_id", gid("Order", o->shopify_id), "name", o->name,
                  "order_number", (json_int_t)(1000 + o->num), "email", "buyer@example.com", "created_at", created,
                  "updated_at", updated, "processed_at", created, "cancelled_at", o->cancelled ? cancelled : NULL,
                  "cancel_reason", o->cancelled ? o->cancel_reason : NULL, "closed_at", "financial_status", financial,
                  "fulfillment_status", fulfillment, "currency", "USD", "total_price", "10.00", "test", 0,
                  "source_name", "web", "line_items", items, "refunds", o->refunds);
    return j;
}

/* --- the channel's auth, limits and errors -------------------------------------------- */

static int authenticate(oc_sim_req_t *r)
{
    oc_sim_account_t *a = oc_sim_map_get(&r->sim->shops, r->shop);
    if (a == NULL) {
        rest_error(r, 404, "Not Found");
        return -1;
    }
    r->acct = a;
    const char *v = oc_sim_param(r, "version");
    if (v != NULL) {
        if (version_number(v) == 0) {
            rest_error(r, 404, "Not Found");
            return -1;
        }
        snprintf(r->version, sizeof(r->version), "%s", v);
        oc_sim_header(r, "X-Shopify-API-Version", v);
    }
    if (r->route->flags & OC_SIM_NOAUTH)
        return 0;
    int expired;
    const char *token = oc_sim_req_header(r, "x-shopify-access-token");
    if (oc_sim_token_check(r->sim, token, &expired) != a) {
        rest_error(r, 401, INVALID_TOKEN);
        return -1;
    }
    return 0;
}

static void cost_extension(json_t *ext, oc_sim_bucket_t *b, int requested, json_t *actual)
{
    if (b->unlimited) { /* no bucket to tell of: the costs alone */
        json_object_set_new(ext, "cost",
                            json_pack("{s:i, s:o}", "requestedQueryCost", requested, "actualQueryCost", actual));
        return;
    }
    json_object_set_new(ext, "cost",
                        json_pack("{s:i, s:o, s:{s:f, s:f, s:f}}", "requestedQueryCost", requested, "actualQueryCost",
                                  actual, "throttleStatus", "maximumAvailable", b->burst, "currentlyAvailable",
                                  floor(oc_sim_bucket_level(b)), "restoreRate", b->rate));
}

static void graphql_throttled(oc_sim_req_t *r, oc_sim_bucket_t *b, int requested)
{
    json_t *ext = json_object();
    if (b != NULL)
        cost_extension(ext, b, requested, json_null());
    oc_sim_reply_json(r, 200,
                      json_pack("{s:[{s:s, s:{s:s, s:s}}], s:o}", "errors", "message", "Throttled", "extensions",
                                "code", "THROTTLED", "documentation", "https://shopify.dev/api/usage/rate-limits",
                                "extensions", ext));
}

static void throttled(oc_sim_req_t *r, oc_sim_bucket_t *b, double retry_s)
{
    if (r->route != NULL && (r->route->flags & OC_SIM_OWN_LIMIT)) {
        graphql_throttled(r, b != NULL ? b : oc_sim_account_bucket(r->acct, "graphql"), 0);
        return;
    }
    char v[32];
    snprintf(v, sizeof(v), "%.1f", retry_s < 0.1 ? 0.1 : ceil(retry_s * 10) / 10);
    oc_sim_header(r, "Retry-After", v);
    if (b != NULL && !b->unlimited) {
        snprintf(v, sizeof(v), "%d/%d", (int)b->burst, (int)b->burst);
        oc_sim_header(r, "X-Shopify-Shop-Api-Call-Limit", v);
    }
    rest_error(r, 429,
               "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted "
               "service.");
}

static void limit_headers(oc_sim_req_t *r, oc_sim_bucket_t *b)
{
    if (strcmp(r->route->op, "graphql") == 0 || r->status == 429)
        return;
    int used = (int)ceil(b->burst - oc_sim_bucket_level(b) - 1e-9);
    if (used < 1)
        used = 1;
    char v[32];
    snprintf(v, sizeof(v), "%d/%d", used, (int)b->burst);
    oc_sim_header(r, "X-Shopify-Shop-Api-Call-Limit", v);
}

static void channel_error(oc_sim_req_t *r, int status, const char *code, const char *message)
{
    rest_error(r, status, status == 404 ? "Not Found" : status >= 500 ? "Internal Server Error" : message);
}

/* --- OAuth ------------------------------------------------------------------------------ */

static char *param(oc_sim_req_t *r, json_t *body, const char *name)
{
    const char *v = json_string_value(json_object_get(body, name));
    if (v != NULL)
        return oc_strdup(v);
    if (body == NULL && r->body != NULL) {
        char *f = oc_sim_form_get(r->body, r->body_len, name);
        if (f != NULL)
            return f;
    }
    return r->query != NULL ? oc_sim_form_get(r->query, strlen(r->query), name) : NULL;
}

static void token_reply(oc_sim_req_t *r, oc_sim_account_t *a, int with_refresh)
{
    char tok[100];
    oc_sim_token_issue(r->sim, a, "shpat_", a->token_ttl_s, tok, sizeof(tok));
    json_t *j = json_pack("{s:s, s:s, s:i}", "access_token", tok, "scope", SHOP_SCOPES, "expires_in", a->token_ttl_s);
    if (with_refresh) {
        json_object_set_new(j, "refresh_token", json_string(a->refresh_token));
        json_object_set_new(j, "refresh_token_expires_in", json_integer(a->refresh_ttl_s));
    }
    oc_sim_reply_json(r, 200, j);
}

static void oauth_token(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    char *client_id = param(r, body, "client_id"), *secret = param(r, body, "client_secret"),
         *grant = param(r, body, "grant_type"), *code = param(r, body, "code"),
         *refresh = param(r, body, "refresh_token");
    if (client_id == NULL || secret == NULL || strcmp(client_id, a->client_id) != 0 ||
        strcmp(secret, a->client_secret) != 0) {
        oc_sim_reply_json(r, 400,
                          json_pack("{s:s, s:s}", "error", "invalid_client", "error_description",
                                    "Client authentication failed due to unknown client or invalid credentials"));
        goto Done;
    }
    if (grant != NULL && strcmp(grant, "client_credentials") == 0) {
        token_reply(r, a, 0);
    } else if (grant != NULL && strcmp(grant, "refresh_token") == 0) {
        int current = refresh != NULL && a->refresh_token[0] != '\0' && strcmp(refresh, a->refresh_token) == 0;
        int previous =
            refresh != NULL && a->prev_refresh_token[0] != '\0' && strcmp(refresh, a->prev_refresh_token) == 0;
        if (!a->expiring || (!current && !previous)) {
            oc_sim_reply_json(r, 400,
                              json_pack("{s:s, s:s}", "error", "invalid_grant", "error_description",
                                        "the refresh token is invalid, expired or revoked"));
            goto Done;
        }
        /* Rotation: the token just used becomes the previous one, which stays
         * valid until the new one is used (so a lost answer can be retried). */
        char hex[33];
        oc_random_hex(hex, 16);
        if (current)
            snprintf(a->prev_refresh_token, sizeof(a->prev_refresh_token), "%s", a->refresh_token);
        snprintf(a->refresh_token, sizeof(a->refresh_token), "shprt_%s", hex);
        token_reply(r, a, 1);
    } else if (code != NULL) {
        oc_sim_token_t *t = oc_sim_map_get(&r->sim->tokens, code);
        if (t == NULL || t->kind != OC_SIM_TOKEN_CODE || t->account_id != a->id || t->expires_ms <= oc_now_ms()) {
            oc_sim_reply_json(r, 400,
                              json_pack("{s:s, s:s}", "error", "invalid_request", "error_description",
                                        "The authorization code was not found or was already used"));
            goto Done;
        }
        free(oc_sim_map_del(&r->sim->tokens, code));
        if (a->expiring) {
            token_reply(r, a, 1);
        } else {
            oc_sim_reply_json(r, 200, json_pack("{s:s, s:s}", "access_token", a->offline_token, "scope", SHOP_SCOPES));
        }
    } else {
        oc_sim_reply_json(r, 400,
                          json_pack("{s:s, s:s}", "error", "unsupported_grant_type", "error_description",
                                    "grant_type must be client_credentials or refresh_token, or send code"));
    }
Done:
    json_decref(body);
    free(client_id);
    free(secret);
    free(grant);
    free(code);
    free(refresh);
}

/* --- GraphQL: objects ---------------------------------------------------------------------- */

static json_t *level_obj(oc_sim_account_t *a, const oc_sim_sku_t *s)
{
    char updated[32], g[128];
    oc_time_format(updated, s->updated_ms, OC_TIME_S);
    level_gid(g, sizeof(g), s);
    long long values[] = {s->qty, s->qty + s->committed, s->committed, 0, 0, 0, 0, 0};
    json_t *qs = json_array();
    for (size_t i = 0; i < OC_ARRAY_SIZE(quantity_names); i++)
        json_array_append_new(qs,
                              json_pack("{s:s, s:s, s:I, s:s}", "__typename", "InventoryQuantity", "name",
                                        quantity_names[i], "quantity", (json_int_t)values[i], "updatedAt", updated));
    return json_pack("{s:s, s:s, s:{s:s, s:o, s:s}, s:{s:o, s:s}, s:o, s:s, s:s, s:b}", "__typename", "InventoryLevel",
                     "id", g, "location", "__typename", "Location", "id", gid("Location", s->location_id), "name",
                     "Shop location", "item", "id", gid("InventoryItem", s->item_id), "sku", s->sku, "quantities", qs,
                     "updatedAt", updated, "createdAt", updated, "isActive", 1);
}

static json_t *connection_of(json_t *nodes, const json_t *args);

static json_t *item_obj(oc_sim_account_t *a, const oc_sim_sku_t *s, int with_variant)
{
    json_t *levels = json_array();
    json_array_append_new(levels, level_obj(a, s));
    json_t *j = json_pack("{s:s, s:o, s:s, s:s, s:b, s:b, s:o}", "__typename", "InventoryItem", "id",
                          gid("InventoryItem", s->item_id), "legacyResourceId", "", "sku", s->sku, "tracked", 1,
                          "requiresShipping", 1, "inventoryLevels", connection_of(levels, NULL));
    json_object_set_new(j, "legacyResourceId", json_sprintf("%lld", s->item_id));
    json_object_set_new(j, "inventoryLevel", level_obj(a, s));
    if (with_variant)
        json_object_set_new(j, "variant",
                            json_pack("{s:s, s:o, s:s, s:s}", "__typename", "ProductVariant", "id",
                                      gid("ProductVariant", s->variant_id), "sku", s->sku, "title", s->sku));
    return j;
}

static json_t *variant_obj(oc_sim_account_t *a, const oc_sim_sku_t *s)
{
    json_t *j = json_pack("{s:s, s:o, s:s, s:s, s:s, s:I, s:o}", "__typename", "ProductVariant", "id",
                          gid("ProductVariant", s->variant_id), "legacyResourceId", "", "sku", s->sku, "title", s->sku,
                          "inventoryQuantity", (json_int_t)s->qty, "inventoryItem", item_obj(a, s, 0));
    json_object_set_new(j, "legacyResourceId", json_sprintf("%lld", s->variant_id));
    return j;
}

/* first/after over a full node list; cursors are base64url("idx:N"). Steals `nodes`. */
static json_t *connection_of(json_t *nodes, const json_t *args)
{
    long long first = 250, start = 0;
    json_t *f = json_object_get(args, "first");
    if (f != NULL && oc_sim_json_int(f, &first) && first < 0)
        first = 0;
    if (first > 250)
        first = 250;
    const char *after = json_string_value(json_object_get(args, "after"));
    if (after != NULL) {
        char *d = oc_sim_unb64url(after);
        long long idx;
        if (d != NULL && sscanf(d, "idx:%lld", &idx) == 1)
            start = idx + 1;
        free(d);
    }
    size_t n = json_array_size(nodes);
    json_t *sel = json_array(), *edges = json_array();
    char *start_cursor = NULL, *end_cursor = NULL;
    for (size_t i = (size_t)start; i < n && (long long)(i - (size_t)start) < first; i++) {
        char c[32];
        snprintf(c, sizeof(c), "idx:%zu", i);
        char *cur = oc_sim_b64url(c, strlen(c));
        json_t *node = json_array_get(nodes, i);
        json_array_append(sel, node);
        json_array_append_new(edges, json_pack("{s:s, s:O}", "cursor", cur != NULL ? cur : "", "node", node));
        if (start_cursor == NULL)
            start_cursor = cur != NULL ? oc_strdup(cur) : NULL;
        free(end_cursor);
        end_cursor = cur;
    }
    size_t end = (size_t)start + json_array_size(sel);
    json_t *j =
        json_pack("{s:o, s:o, s:{s:b, s:b, s:s?, s:s?}}", "nodes", sel, "edges", edges, "pageInfo", "hasNextPage",
                  end<n, "hasPreviousPage", start> 0, "startCursor", start_cursor, "endCursor", end_cursor);
    free(start_cursor);
    free(end_cursor);
    json_decref(nodes);
    return j;
}

/* Does `s` match a search query like "sku:ABC-1", "sku:'A B' OR sku:C"?  No sku term: every SKU. */
static int query_matches(const char *q, const char *sku)
{
    if (q == NULL || strstr(q, "sku:") == NULL)
        return 1;
    const char *p = q;
    while ((p = strstr(p, "sku:")) != NULL) {
        p += 4;
        char val[256];
        size_t n = 0;
        if (*p == '\'' || *p == '"') {
            char quote = *p++;
            while (*p != '\0' && *p != quote && n < sizeof(val) - 1)
                val[n++] = *p++;
        } else {
            while (*p != '\0' && *p != ' ' && *p != ')' && n < sizeof(val) - 1)
                val[n++] = *p++;
        }
        val[n] = '\0';
        if (strcmp(val, sku) == 0)
            return 1;
    }
    return 0;
}

/* --- GraphQL: mutations ------------------------------------------------------------------------ */

typedef struct gql_ctx {
    oc_sim_req_t *r;
    oc_sim_account_t *a;
    int version;
    json_t *errors; /* top-level errors */
} gql_ctx_t;

static void top_error(gql_ctx_t *c, const char *path, const char *code, const char *fmt, ...) OC_PRINTF(4, 5);

static void top_error(gql_ctx_t *c, const char *path, const char *code, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *e = json_pack("{s:s}", "message", msg);
    if (path != NULL)
        json_object_set_new(e, "path", json_pack("[s]", path));
    if (code != NULL)
        json_object_set_new(e, "extensions", json_pack("{s:s}", "code", code));
    json_array_append_new(c->errors, e);
}

/* userErrors name fields as strings: ["input", "quantities", "1", "changeFromQuantity"]. */
static json_t *row_field(const char *list, int i, const char *name)
{
    char idx[16];
    snprintf(idx, sizeof(idx), "%d", i);
    return json_pack("[s, s, s, s]", "input", list, idx, name);
}

static json_t *user_error(const char *code, json_t *field, const char *message)
{
    return json_pack("{s:s, s:o, s:s}", "code", code, "field", field != NULL ? field : json_null(), "message", message);
}

static int valid_reason(const char *reason)
{
    for (int i = 0; reason != NULL && valid_reasons[i] != NULL; i++)
        if (strcmp(reason, valid_reasons[i]) == 0)
            return 1;
    return 0;
}

static json_t *idem_lookup(gql_ctx_t *c, const char *key, const char *hash, int *mismatch)
{
    oc_sim_idem_t *e = oc_sim_map_get(&c->a->idem, key);
    *mismatch = 0;
    if (e == NULL)
        return NULL;
    if (strcmp(e->hash, hash) != 0) {
        *mismatch = 1;
        return NULL;
    }
    return json_incref(e->result);
}

static void idem_store(gql_ctx_t *c, const char *key, const char *hash, json_t *result)
{
    oc_sim_account_t *a = c->a;
    oc_sim_idem_t *e = oc_calloc(1, sizeof(*e));
    char *k = oc_strdup(key);
    e->hash = oc_strdup(hash);
    oc_sim_vec_push(&a->idem_fifo, k);
    e->result = json_incref(result);
    oc_sim_map_put(&a->idem, key, e);
    if (a->idem_fifo.len > IDEM_MAX) { /* forget the oldest key */
        char *old = a->idem_fifo.items[0];
        oc_sim_idem_t *oe = oc_sim_map_del(&a->idem, old);
        if (oe != NULL) {
            free(oe->hash);
            json_decref(oe->result);
            free(oe);
        }
        free(old);
        memmove(&a->idem_fifo.items[0], &a->idem_fifo.items[1], (a->idem_fifo.len - 1) * sizeof(void *));
        a->idem_fifo.len--;
    }
}

typedef struct row {
    oc_sim_sku_t *sku;
    long long value; /* quantity (set) or delta (adjust) */
} row_t;

static long long current_of(const oc_sim_sku_t *s, int on_hand)
{
    return on_hand ? s->qty + s->committed : s->qty;
}

/* Checks one CAS row by API version; appends a userError and returns -1 when it fails. */
static int check_cas(gql_ctx_t *c, const json_t *row, int i, const char *list, const oc_sim_sku_t *s, int on_hand,
                     int ignore, json_t *errors)
{
    long long expect;
    json_t *cfq = json_object_get(row, "changeFromQuantity");
    json_t *cq = json_object_get(row, "compareQuantity");
    long long now = current_of(s, on_hand);
    if (c->version >= 202601 && cfq != NULL) {
        if (json_is_null(cfq))
            return 0;
        if (!oc_sim_json_int(cfq, &expect) || expect != now) {
            json_array_append_new(errors,
                                  user_error("CHANGE_FROM_QUANTITY_STALE", row_field(list, i, "changeFromQuantity"),
                                             "The specified compare quantity does not match the current "
                                             "quantity. Please fetch the latest and try again."));
            return -1;
        }
        return 0;
    }
    if (c->version >= 202601 || ignore)
        return 0; /* 2026-01: changeFromQuantity is optional (2026-04 requires it: checked earlier) */
    if (cq == NULL || json_is_null(cq)) {
        json_array_append_new(errors, user_error("COMPARE_QUANTITY_REQUIRED", row_field(list, i, "compareQuantity"),
                                                 "The compareQuantity argument must be given to each quantity or "
                                                 "ignored using ignoreCompareQuantity."));
        return -1;
    }
    if (!oc_sim_json_int(cq, &expect) || expect != now) {
        json_array_append_new(errors, user_error("COMPARE_QUANTITY_STALE", row_field(list, i, "compareQuantity"),
                                                 "The compareQuantity value does not match the current quantity."));
        return -1;
    }
    return 0;
}

/*
 * The input types of the mutations, as the Admin schema declares them (InventorySetQuantitiesInput,
 * InventoryQuantityInput, InventoryAdjustQuantitiesInput, InventoryChangeInput), by API version:
 * compareQuantity and ignoreCompareQuantity until 2026-01 (removed in 2026-04), changeFromQuantity from
 * 2026-01.  Shopify refuses a whole request whose input holds a field its type does not define, a value of
 * the wrong type or a missing required one, before anything runs.
 */
enum { IN_ID = 1, IN_STRING, IN_INT, IN_BOOLEAN, IN_LIST };

typedef struct in_type in_type_t;
typedef struct in_field {
    const char *name;
    int type;
    int required;
    int since, until; /* API versions (0 = always) */
    const in_type_t *item;
} in_field_t;

struct in_type {
    const char *name;
    const in_field_t *fields;
};

static const in_field_t quantity_fields[] = {
    {"changeFromQuantity", IN_INT, 0, 202601, 0, NULL},
    {"compareQuantity", IN_INT, 0, 0, 202601, NULL},
    {"inventoryItemId", IN_ID, 1, 0, 0, NULL},
    {"locationId", IN_ID, 1, 0, 0, NULL},
    {"quantity", IN_INT, 1, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
static const in_type_t quantity_input = {"InventoryQuantityInput", quantity_fields};
static const in_field_t set_fields[] = {
    {"ignoreCompareQuantity", IN_BOOLEAN, 0, 0, 202601, NULL}, {"name", IN_STRING, 1, 0, 0, NULL},
    {"quantities", IN_LIST, 1, 0, 0, &quantity_input},         {"reason", IN_STRING, 1, 0, 0, NULL},
    {"referenceDocumentUri", IN_STRING, 0, 0, 0, NULL},        {NULL, 0, 0, 0, 0, NULL},
};
static const in_type_t set_input = {"InventorySetQuantitiesInput", set_fields};
static const in_field_t change_fields[] = {
    {"changeFromQuantity", IN_INT, 0, 202601, 0, NULL},
    {"delta", IN_INT, 1, 0, 0, NULL},
    {"inventoryItemId", IN_ID, 1, 0, 0, NULL},
    {"ledgerDocumentUri", IN_STRING, 0, 0, 0, NULL},
    {"locationId", IN_ID, 1, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
static const in_type_t change_input = {"InventoryChangeInput", change_fields};
static const in_field_t adjust_fields[] = {
    {"changes", IN_LIST, 1, 0, 0, &change_input},
    {"name", IN_STRING, 1, 0, 0, NULL},
    {"reason", IN_STRING, 1, 0, 0, NULL},
    {"referenceDocumentUri", IN_STRING, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
static const in_type_t adjust_input = {"InventoryAdjustQuantitiesInput", adjust_fields};

typedef struct in_problem {
    json_t *path;          /* ["quantities", 0, "ignoreCompareQuantity"] */
    char explanation[160]; /* "Field is not defined on InventoryQuantityInput" */
    const in_type_t *type; /* the input object that holds the problem */
    const char *field;     /* the field in it */
    int kind;              /* 0 undefined field, 1 missing required, 2 wrong type */
    char expected[80];     /* the field's type, as the schema writes it */
} in_problem_t;

static const char *in_type_name(int t)
{
    return t == IN_ID ? "ID" : t == IN_STRING ? "String" : t == IN_INT ? "Int" : t == IN_BOOLEAN ? "Boolean" : "List";
}

/* The field's type as the schema writes it: "Int", "ID!", "[InventoryQuantityInput!]!". */
static void in_schema_type(const in_field_t *f, char *buf, size_t cap)
{
    if (f->type == IN_LIST)
        snprintf(buf, cap, "[%s!]!", f->item->name);
    else
        snprintf(buf, cap, "%s%s", in_type_name(f->type), f->required ? "!" : "");
}

static int in_value_ok(const json_t *v, int t)
{
    switch (t) {
    case IN_ID: return json_is_string(v) || json_is_integer(v);
    case IN_STRING: return json_is_string(v);
    case IN_INT:
        return json_is_integer(v) && json_integer_value(v) >= -2147483648LL && json_integer_value(v) <= 2147483647LL;
    case IN_BOOLEAN: return json_is_boolean(v);
    }
    return 0;
}

/* Checks `v` against input object `t` for API `version`; 0, or -1 with *pr filled (pr->path set). */
static int in_check(const json_t *v, const in_type_t *t, int version, json_t *path, in_problem_t *pr)
{
    if (!json_is_object(v)) {
        pr->kind = 2;
        pr->type = t;
        pr->field = NULL;
        snprintf(pr->explanation, sizeof(pr->explanation), "Expected value to be an object (%s)", t->name);
        pr->path = json_incref(path);
        return -1;
    }
    const char *k;
    json_t *fv;
    json_object_foreach((json_t *)v, k, fv)
    {
        const in_field_t *f = t->fields;
        while (f->name != NULL && (strcmp(f->name, k) != 0 || (f->since > 0 && version < f->since) ||
                                   (f->until > 0 && version > f->until)))
            f++;
        if (f->name == NULL) {
            pr->kind = 0;
            pr->type = t;
            pr->field = k;
            snprintf(pr->explanation, sizeof(pr->explanation), "Field is not defined on %s", t->name);
            pr->path = json_copy(path);
            json_array_append_new(pr->path, json_string(k));
            return -1;
        }
        if (json_is_null(fv) && !f->required)
            continue;
        int bad = 0;
        json_t *sub = json_copy(path);
        json_array_append_new(sub, json_string(k));
        if (f->type == IN_LIST) {
            size_t i;
            json_t *e;
            if (!json_is_array(fv)) {
                bad = 1;
            } else {
                json_array_foreach(fv, i, e)
                {
                    json_t *at = json_copy(sub);
                    json_array_append_new(at, json_integer((json_int_t)i));
                    int rc = in_check(e, f->item, version, at, pr);
                    json_decref(at);
                    if (rc != 0) {
                        json_decref(sub);
                        return -1;
                    }
                }
            }
        } else {
            bad = !in_value_ok(fv, f->type);
        }
        if (bad) {
            in_schema_type(f, pr->expected, sizeof(pr->expected));
            pr->kind = json_is_null(fv) ? 1 : 2;
            pr->type = t;
            pr->field = f->name;
            if (json_is_null(fv))
                snprintf(pr->explanation, sizeof(pr->explanation), "Expected value to not be null");
            else
                snprintf(pr->explanation, sizeof(pr->explanation), "Could not coerce value to %s", pr->expected);
            pr->path = sub;
            return -1;
        }
        json_decref(sub);
    }
    for (const in_field_t *f = t->fields; f->name != NULL; f++) {
        if (!f->required || (f->since > 0 && version < f->since) || (f->until > 0 && version > f->until) ||
            json_object_get(v, f->name) != NULL)
            continue;
        in_schema_type(f, pr->expected, sizeof(pr->expected));
        pr->kind = 1;
        pr->type = t;
        pr->field = f->name;
        snprintf(pr->explanation, sizeof(pr->explanation), "Expected value to not be null");
        pr->path = json_copy(path);
        json_array_append_new(pr->path, json_string(f->name));
        return -1;
    }
    return 0;
}

/* Refuses, as Shopify's GraphQL does, an `input` its type does not accept; 0 when it is fine. */
static int check_input(gql_ctx_t *c, const oc_sim_gql_field_t *f, const json_t *input, const in_type_t *t)
{
    in_problem_t pr = {0};
    json_t *root = json_array();
    int rc = in_check(input, t, c->version, root, &pr);
    json_decref(root);
    if (rc == 0)
        return 0;
    const char *var = json_string_value(json_object_get(f->arg_vars, "input"));
    oc_buf_t where = {0};
    size_t i;
    json_t *seg;
    json_array_foreach(pr.path, i, seg)
    {
        if (json_is_integer(seg))
            oc_buf_printf(&where, "%s%lld", i > 0 ? "." : "", (long long)json_integer_value(seg));
        else
            oc_buf_printf(&where, "%s%s", i > 0 ? "." : "", json_string_value(seg));
    }
    char msg[400];
    json_t *ext;
    if (var != NULL) {
        /* a variable: graphql-ruby's coercion error, with the problem's path inside the variable */
        snprintf(msg, sizeof(msg), "Variable $%s of type %s! was provided invalid value for %s (%s)", var, t->name,
                 oc_buf_cstr(&where), pr.explanation);
        ext = json_pack("{s:s, s:O, s:[{s:O, s:s}]}", "code", "INVALID_VARIABLE", "value", input, "problems", "path",
                        pr.path, "explanation", pr.explanation);
    } else if (pr.kind == 0) {
        snprintf(msg, sizeof(msg), "InputObject '%s' doesn't accept argument '%s'", pr.type->name, pr.field);
        ext = json_pack("{s:s, s:s, s:s}", "code", "argumentNotAccepted", "name", pr.type->name, "argumentName",
                        pr.field);
    } else if (pr.kind == 1) {
        snprintf(msg, sizeof(msg), "Argument '%s' on InputObject '%s' is required. Expected type %s", pr.field,
                 pr.type->name, pr.expected);
        ext = json_pack("{s:s, s:s, s:s}", "code", "missingRequiredInputObjectAttribute", "argumentName", pr.field,
                        "inputObjectType", pr.type->name);
    } else {
        snprintf(msg, sizeof(msg), "Argument '%s' on InputObject '%s' has an invalid value (%s)",
                 pr.field != NULL ? pr.field : "input", pr.type->name, pr.explanation);
        ext = json_pack("{s:s, s:s, s:s}", "code", "argumentLiteralsIncompatible", "typeName", "InputObject",
                        "argumentName", pr.field != NULL ? pr.field : "input");
    }
    json_t *e = json_pack("{s:s, s:[s], s:o}", "message", msg, "path", f->alias, "extensions", ext);
    json_array_append_new(c->errors, e);
    oc_buf_free(&where);
    json_decref(pr.path);
    return -1;
}

/* inventorySetQuantities and inventoryAdjustQuantities share everything but the arithmetic. */
static json_t *mutate_inventory(gql_ctx_t *c, const oc_sim_gql_field_t *f, int adjust)
{
    oc_sim_account_t *a = c->a;
    const char *list = adjust ? "changes" : "quantities";
    json_t *input = json_object_get(f->args, "input");
    if (!json_is_object(input)) {
        top_error(c, f->alias, "argumentLiteralsIncompatible", "Argument 'input' on Field '%s' has an invalid value",
                  f->name);
        return NULL;
    }
    json_t *rows = json_object_get(input, list);
    if (!json_is_array(rows)) {
        top_error(c, f->alias, "argumentLiteralsIncompatible", "InventoryInput.%s is required", list);
        return NULL;
    }
    /* 2026-04: changeFromQuantity must be present on every row (null allowed). */
    if (c->version >= 202604) {
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) if (json_object_get(row, "changeFromQuantity") == NULL)
        {
            top_error(c, f->alias, "argumentLiteralsIncompatible",
                      "Argument 'changeFromQuantity' on InputObject '%s' is required. Expected type Int",
                      adjust ? "InventoryChangeInput" : "InventoryQuantityInput");
            return NULL;
        }
    }
    json_t *idem = json_object_get(f->directives, "idempotent");
    const char *key = json_string_value(json_object_get(idem, "key"));
    if (key == NULL && c->version >= 202604) {
        top_error(c, f->alias, "BAD_REQUEST", "The @idempotent directive is required for this mutation.");
        return NULL;
    }
    char *hash = NULL;
    if (key != NULL) {
        char *canon = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
        if (canon != NULL) {
            hash = oc_malloc(strlen(canon) + strlen(f->name) + 2);
            sprintf(hash, "%s|%s", f->name, canon);
        }
        free(canon);
        int mismatch;
        json_t *prev = hash != NULL ? idem_lookup(c, key, hash, &mismatch) : NULL;
        if (prev != NULL) {
            free(hash);
            return prev;
        }
        if (hash != NULL && mismatch) {
            free(hash);
            json_t *errors = json_array();
            json_array_append_new(errors, user_error("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", json_pack("[s]", "input"),
                                                     "The same idempotency key was used with different parameters."));
            return json_pack("{s:n, s:o}", "inventoryAdjustmentGroup", "userErrors", errors);
        }
    }

    json_t *errors = json_array();
    const char *name = json_string_value(json_object_get(input, "name"));
    const char *reason = json_string_value(json_object_get(input, "reason"));
    json_t *ref = json_object_get(input, "referenceDocumentUri");
    int on_hand = name != NULL && strcmp(name, "on_hand") == 0;
    if (name == NULL || (strcmp(name, "available") != 0 && !(on_hand && !adjust)))
        json_array_append_new(errors, user_error("INVALID_NAME", json_pack("[s, s]", "input", "name"),
                                                 adjust ? "The quantity name must be available."
                                                        : "The quantity name must be either 'available' or "
                                                          "'on_hand'."));
    if (!valid_reason(reason))
        json_array_append_new(errors, user_error("INVALID_REASON", json_pack("[s, s]", "input", "reason"),
                                                 "The specified reason is invalid."));
    if (ref != NULL && !json_is_null(ref) && (!json_is_string(ref) || strchr(json_string_value(ref), ':') == NULL))
        json_array_append_new(errors, user_error("INVALID_REFERENCE_DOCUMENT",
                                                 json_pack("[s, s]", "input", "referenceDocumentUri"),
                                                 "The specified reference document is invalid."));
    size_t n = json_array_size(rows), i;
    row_t *parsed = oc_calloc(n > 0 ? n : 1, sizeof(*parsed));
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        long long item = gid_id(json_string_value(json_object_get(row, "inventoryItemId")), "InventoryItem");
        long long loc = gid_id(json_string_value(json_object_get(row, "locationId")), "Location");
        oc_sim_sku_t *s = item > 0 ? oc_sim_sku_by_item(a, item) : NULL;
        long long v;
        if (s == NULL) {
            json_array_append_new(errors,
                                  user_error("INVALID_INVENTORY_ITEM", row_field(list, (int)i, "inventoryItemId"),
                                             "The specified inventory item could not be found."));
            continue;
        }
        if (loc != s->location_id) {
            int known = loc > 0 && known_location(a, loc);
            json_array_append_new(errors,
                                  user_error(known ? "ITEM_NOT_STOCKED_AT_LOCATION" : "INVALID_LOCATION",
                                             row_field(list, (int)i, "locationId"),
                                             known ? "The specified inventory item is not stocked at the location."
                                                   : "The specified location could not be found."));
            continue;
        }
        if (!oc_sim_json_int(json_object_get(row, adjust ? "delta" : "quantity"), &v)) {
            top_error(c, f->alias, "argumentLiteralsIncompatible", "%s.%s must be an Int", list,
                      adjust ? "delta" : "quantity");
            continue;
        }
        long long after = adjust ? current_of(s, on_hand) + v : v;
        if (!adjust && v < 0)
            json_array_append_new(errors, user_error("INVALID_QUANTITY_NEGATIVE", row_field(list, (int)i, "quantity"),
                                                     "The quantity can't be negative."));
        else if (after > 1000000000LL)
            json_array_append_new(errors, user_error("INVALID_QUANTITY_TOO_HIGH",
                                                     row_field(list, (int)i, adjust ? "delta" : "quantity"),
                                                     "The quantity can't be higher than 1,000,000,000."));
        else if (check_cas(c, row, (int)i, list, s, on_hand,
                           json_is_true(json_object_get(input, "ignoreCompareQuantity")), errors) == 0) {
            parsed[i].sku = s;
            parsed[i].value = v;
        }
    }
    if (json_array_size(c->errors) > 0) {
        free(parsed);
        free(hash);
        json_decref(errors);
        return NULL;
    }
    json_t *result;
    if (json_array_size(errors) > 0) {
        /* all or nothing: a single bad row applies none */
        result = json_pack("{s:n, s:o}", "inventoryAdjustmentGroup", "userErrors", errors);
    } else {
        json_decref(errors);
        json_t *changes = json_array();
        char created[32];
        oc_time_format(created, oc_now_ms(), OC_TIME_S);
        for (i = 0; i < n; i++) {
            oc_sim_sku_t *s = parsed[i].sku;
            long long before = current_of(s, on_hand);
            long long target = adjust ? before + parsed[i].value : parsed[i].value;
            long long avail_before = s->qty;
            oc_sim_set_qty(c->r->sim, a, s, on_hand ? target - s->committed : target, 1);
            oc_sim_note_write(c->r, s->sku, s->qty);
            long long delta = s->qty - avail_before;
            const char *names[2] = {"available", "on_hand"};
            long long afters[2] = {s->qty, s->qty + s->committed};
            for (int k = 0; k < 2; k++)
                json_array_append_new(
                    changes, json_pack("{s:s, s:I, s:I, s:{s:o, s:s}, s:{s:o, s:s}}", "name", names[k], "delta",
                                       (json_int_t)delta, "quantityAfterChange", (json_int_t)afters[k], "item", "id",
                                       gid("InventoryItem", s->item_id), "sku", s->sku, "location", "id",
                                       gid("Location", s->location_id), "name", "Shop location"));
        }
        json_t *group = json_pack("{s:o, s:s, s:s, s:O?, s:o}", "id",
                                  gid("InventoryAdjustmentGroup", (long long)c->r->sim->next_log_id + 1), "createdAt",
                                  created, "reason", reason, "referenceDocumentUri", ref, "changes", changes);
        result = json_pack("{s:o, s:[]}", "inventoryAdjustmentGroup", group, "userErrors");
    }
    free(parsed);
    if (key != NULL && hash != NULL)
        idem_store(c, key, hash, result);
    free(hash);
    return result;
}

/* --- GraphQL: queries ------------------------------------------------------------------------ */

static json_t *resolve_query(gql_ctx_t *c, const oc_sim_gql_field_t *f)
{
    oc_sim_account_t *a = c->a;
    if (strcmp(f->name, "inventoryItem") == 0) {
        long long id = gid_id(json_string_value(json_object_get(f->args, "id")), "InventoryItem");
        oc_sim_sku_t *s = id > 0 ? oc_sim_sku_by_item(a, id) : NULL;
        return s != NULL ? item_obj(a, s, 1) : json_null();
    }
    if (strcmp(f->name, "productVariant") == 0) {
        long long id = gid_id(json_string_value(json_object_get(f->args, "id")), "ProductVariant");
        oc_sim_sku_t *s = id > 0 ? oc_sim_sku_by_item(a, id - 9000000000LL) : NULL;
        return s != NULL ? variant_obj(a, s) : json_null();
    }
    if (strcmp(f->name, "nodes") == 0) {
        json_t *ids = json_object_get(f->args, "ids"), *out = json_array(), *id;
        size_t i;
        json_array_foreach(ids, i, id)
        {
            const char *g = json_string_value(id);
            long long item = gid_id(g, "InventoryItem"), var = gid_id(g, "ProductVariant");
            oc_sim_sku_t *s = item > 0  ? oc_sim_sku_by_item(a, item)
                              : var > 0 ? oc_sim_sku_by_item(a, var - 9000000000LL)
                                        : NULL;
            json_array_append_new(out, s == NULL ? json_null() : item > 0 ? item_obj(a, s, 1) : variant_obj(a, s));
        }
        return out;
    }
    if (strcmp(f->name, "inventoryItems") == 0 || strcmp(f->name, "productVariants") == 0) {
        int variants = f->name[0] == 'p';
        const char *q = json_string_value(json_object_get(f->args, "query"));
        json_t *nodes = json_array();
        for (size_t i = 0; i < a->skus.len; i++) {
            oc_sim_sku_t *s = a->skus.items[i];
            if (query_matches(q, s->sku))
                json_array_append_new(nodes, variants ? variant_obj(a, s) : item_obj(a, s, 1));
        }
        return connection_of(nodes, f->args);
    }
    if (strcmp(f->name, "location") == 0) {
        long long id = gid_id(json_string_value(json_object_get(f->args, "id")), "Location");
        return id > 0 && known_location(a, id) ? json_pack("{s:s, s:o, s:s, s:b}", "__typename", "Location", "id",
                                                           gid("Location", id), "name", "Shop location", "isActive", 1)
                                               : json_null();
    }
    if (strcmp(f->name, "locations") == 0) {
        json_t *nodes = json_array();
        json_array_append_new(nodes,
                              json_pack("{s:s, s:o, s:s, s:b}", "__typename", "Location", "id",
                                        gid("Location", a->location_id), "name", "Shop location", "isActive", 1));
        for (size_t i = 0; i < a->skus.len; i++) {
            long long loc = ((oc_sim_sku_t *)a->skus.items[i])->location_id;
            int seen = loc == a->location_id;
            for (size_t j = 0; j < i && !seen; j++)
                seen = ((oc_sim_sku_t *)a->skus.items[j])->location_id == loc;
            if (!seen)
                json_array_append_new(nodes, json_pack("{s:s, s:o, s:s, s:b}", "__typename", "Location", "id",
                                                       gid("Location", loc), "name", "Shop location", "isActive", 1));
        }
        return connection_of(nodes, f->args);
    }
    if (strcmp(f->name, "shop") == 0) {
        char domain[96];
        snprintf(domain, sizeof(domain), "%s.myshopify.com", a->name);
        return json_pack("{s:s, s:o, s:s, s:s, s:s}", "__typename", "Shop", "id", gid("Shop", 60000000000LL + a->id),
                         "name", a->name, "myshopifyDomain", domain, "currencyCode", "USD");
    }
    if (strcmp(f->name, "__typename") == 0)
        return json_string("QueryRoot");
    top_error(c, f->alias, "undefinedField", "Field '%s' doesn't exist on type 'QueryRoot'", f->name);
    return NULL;
}

static int mutation_cost(const oc_sim_gql_field_t *f)
{
    json_t *input = json_object_get(f->args, "input");
    size_t rows =
        json_array_size(json_object_get(input, "quantities")) + json_array_size(json_object_get(input, "changes"));
    return 10 + (int)rows;
}

static void graphql(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    const char *ctype = oc_sim_req_header(r, "content-type");
    json_t *body = NULL, *vars = NULL;
    const char *text = NULL, *op = NULL;
    size_t tlen = 0;
    if (ctype != NULL && strncasecmp(ctype, "application/graphql", 19) == 0) {
        text = r->body;
        tlen = r->body_len;
    } else {
        body = oc_sim_json_parse(r->body, r->body_len);
        text = json_string_value(json_object_get(body, "query"));
        tlen = text != NULL ? strlen(text) : 0;
        vars = json_object_get(body, "variables");
        op = json_string_value(json_object_get(body, "operationName"));
    }
    if (text == NULL || tlen == 0) {
        oc_sim_reply_json(r, 400, json_pack("{s:{s:s}}", "errors", "query", "Required parameter missing or invalid"));
        json_decref(body);
        return;
    }
    oc_sim_gql_doc_t doc;
    if (oc_sim_gql_parse(&doc, text, tlen, vars, op) != 0) {
        oc_sim_reply_json(
            r, 200,
            json_pack("{s:[{s:s, s:{s:s}}]}", "errors", "message", doc.error, "extensions", "code", "PARSE_ERROR"));
        oc_sim_gql_free(&doc);
        json_decref(body);
        return;
    }
    int requested = 0;
    for (int i = 0; i < doc.root.nchildren; i++)
        requested += doc.is_mutation ? mutation_cost(&doc.root.children[i]) : oc_sim_gql_cost(&doc.root.children[i]);
    if (requested < 1)
        requested = 1;
    oc_sim_bucket_t *b = oc_sim_account_bucket(a, "graphql");
    if (requested > GQL_MAX_COST && !b->unlimited) {
        char msg[160];
        snprintf(msg, sizeof(msg), "Query cost is %d, which exceeds the single query max cost limit (%d).", requested,
                 GQL_MAX_COST);
        json_t *ext = json_object();
        cost_extension(ext, b, requested, json_null());
        oc_sim_reply_json(r, 200,
                          json_pack("{s:[{s:s, s:{s:s, s:i, s:i}}], s:o}", "errors", "message", msg, "extensions",
                                    "code", "MAX_COST_EXCEEDED", "cost", requested, "maxCost", GQL_MAX_COST,
                                    "extensions", ext));
        oc_sim_gql_free(&doc);
        json_decref(body);
        return;
    }
    if (!oc_sim_bucket_take(b, requested, NULL)) {
        r->fault = "throttled";
        graphql_throttled(r, b, requested);
        oc_sim_gql_free(&doc);
        json_decref(body);
        return;
    }
    gql_ctx_t c = {.r = r, .a = a, .version = version_number(r->version), .errors = json_array()};
    /* Inputs are validated against their types before anything runs: one bad input refuses the request. */
    for (int i = 0; doc.is_mutation && i < doc.root.nchildren; i++) {
        const oc_sim_gql_field_t *f = &doc.root.children[i];
        int adjust = strcmp(f->name, "inventoryAdjustQuantities") == 0;
        if ((adjust || strcmp(f->name, "inventorySetQuantities") == 0) && json_object_get(f->args, "input") != NULL)
            check_input(&c, f, json_object_get(f->args, "input"), adjust ? &adjust_input : &set_input);
    }
    if (json_array_size(c.errors) > 0) {
        oc_sim_bucket_give(b, requested); /* refused before it ran: nothing was spent */
        oc_sim_reply_json(r, 200, json_pack("{s:o}", "errors", c.errors));
        oc_sim_gql_free(&doc);
        json_decref(body);
        return;
    }
    json_t *data = json_object();
    for (int i = 0; i < doc.root.nchildren; i++) {
        const oc_sim_gql_field_t *f = &doc.root.children[i];
        json_t *v = NULL;
        if (doc.is_mutation) {
            if (strcmp(f->name, "inventorySetQuantities") == 0)
                v = mutate_inventory(&c, f, 0);
            else if (strcmp(f->name, "inventoryAdjustQuantities") == 0)
                v = mutate_inventory(&c, f, 1);
            else
                top_error(&c, f->alias, "undefinedField", "Field '%s' doesn't exist on type 'Mutation'", f->name);
        } else {
            v = resolve_query(&c, f);
        }
        json_object_set_new(data, f->alias, v != NULL ? oc_sim_gql_project(v, f) : json_null());
        json_decref(v);
    }
    json_t *ext = json_object();
    cost_extension(ext, b, requested, json_integer(requested));
    json_t *out = json_object();
    if (json_array_size(c.errors) > 0)
        json_object_set(out, "errors", c.errors);
    json_object_set_new(out, "data", data);
    json_object_set_new(out, "extensions", ext);
    json_decref(c.errors);
    oc_sim_reply_json(r, 200, out);
    oc_sim_gql_free(&doc);
    json_decref(body);
}

/* --- REST: inventory levels ----------------------------------------------------------------------- */

static oc_sim_sku_t *rest_level_target(oc_sim_req_t *r, json_t *body, long long *value, const char *field)
{
    long long item, loc;
    if (body == NULL) {
        oc_sim_reply_json(r, 400, json_pack("{s:s}", "errors", "body must be a JSON object"));
        return NULL;
    }
    if (!oc_sim_json_int(json_object_get(body, "inventory_item_id"), &item)) {
        oc_sim_reply_json(
            r, 400, json_pack("{s:{s:s}}", "errors", "inventory_item_id", "Required parameter missing or invalid"));
        return NULL;
    }
    if (!oc_sim_json_int(json_object_get(body, "location_id"), &loc)) {
        oc_sim_reply_json(r, 400,
                          json_pack("{s:{s:s}}", "errors", "location_id", "Required parameter missing or invalid"));
        return NULL;
    }
    if (!oc_sim_json_int(json_object_get(body, field), value)) {
        oc_sim_reply_json(r, 400, json_pack("{s:{s:s}}", "errors", field, "Required parameter missing or invalid"));
        return NULL;
    }
    oc_sim_sku_t *s = oc_sim_sku_by_item(r->acct, item);
    if (s == NULL) {
        rest_error(r, 404, "Not Found");
        return NULL;
    }
    if (s->location_id != loc) {
        oc_sim_reply_json(r, 422, json_pack("{s:[s]}", "errors", "Inventory item is not stocked at the location"));
        return NULL;
    }
    return s;
}

static void rest_level_reply(oc_sim_req_t *r, oc_sim_sku_t *s)
{
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "inventory_level", oc_sim_shopify_level_json(r->acct, s)));
}

static void rest_set(oc_sim_req_t *r)
{
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    long long v;
    oc_sim_sku_t *s = rest_level_target(r, body, &v, "available");
    if (s != NULL) {
        oc_sim_set_qty(r->sim, r->acct, s, v, 1);
        oc_sim_note_write(r, s->sku, s->qty);
        rest_level_reply(r, s);
    }
    json_decref(body);
}

static void rest_adjust(oc_sim_req_t *r)
{
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    long long v;
    oc_sim_sku_t *s = rest_level_target(r, body, &v, "available_adjustment");
    if (s != NULL) {
        oc_sim_set_qty(r->sim, r->acct, s, s->qty + v, 1);
        oc_sim_note_write(r, s->sku, s->qty);
        rest_level_reply(r, s);
    }
    json_decref(body);
}

static void rest_connect(oc_sim_req_t *r)
{
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    long long item = 0, loc = 0;
    oc_sim_sku_t *s =
        oc_sim_json_int(json_object_get(body, "inventory_item_id"), &item) ? oc_sim_sku_by_item(r->acct, item) : NULL;
    if (s == NULL || !oc_sim_json_int(json_object_get(body, "location_id"), &loc))
        rest_error(r, 404, "Not Found");
    else if (loc != s->location_id)
        oc_sim_reply_json(r, 422, json_pack("{s:[s]}", "errors", "the simulator stocks each item at one location"));
    else
        oc_sim_reply_json(r, 201, json_pack("{s:o}", "inventory_level", oc_sim_shopify_level_json(r->acct, s)));
    json_decref(body);
}

static int id_in_list(const char *list, long long id)
{
    if (list == NULL || *list == '\0')
        return 1;
    const char *p = list;
    while (*p != '\0') {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end != p && v == id)
            return 1;
        p = *end != '\0' ? end + 1 : end;
        if (end == p - 1 && *end != ',' && *end != ' ')
            break;
    }
    return 0;
}

static void link_header(oc_sim_req_t *r, const char *resource, long long limit, const char *next, const char *prev)
{
    oc_buf_t b = {0};
    const char *rels[2] = {"previous", "next"}, *tokens[2] = {prev, next};
    for (int i = 0; i < 2; i++) {
        if (tokens[i] == NULL)
            continue;
        if (b.len > 0)
            oc_buf_append(&b, ", ", 2);
        oc_buf_printf(&b, "<%s/shopify/%s/admin/api/%s/%s?limit=%lld&page_info=%s>; rel=\"%s\"", r->base, r->shop,
                      r->version, resource, limit, tokens[i], rels[i]);
    }
    if (b.len > 0)
        oc_sim_header(r, "Link", oc_buf_cstr(&b));
    oc_buf_free(&b);
}

static long long limit_param(oc_sim_req_t *r, long long dflt)
{
    const char *l = oc_sim_query(r, "limit");
    long long v = l != NULL ? strtoll(l, NULL, 10) : dflt;
    return v < 1 ? 1 : v > 250 ? 250 : v;
}

static void rest_levels(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    long long limit = limit_param(r, 50), offset = 0;
    const char *page = oc_sim_query(r, "page_info");
    char items[1024] = "", locs[1024] = "";
    if (page != NULL) {
        char *d = oc_sim_unb64url(page);
        json_t *j = d != NULL ? json_loads(d, 0, NULL) : NULL;
        free(d);
        if (j == NULL || !oc_sim_json_int(json_object_get(j, "o"), &offset)) {
            json_decref(j);
            oc_sim_reply_json(r, 400, json_pack("{s:{s:s}}", "errors", "page_info", "Invalid value."));
            return;
        }
        snprintf(items, sizeof(items), "%s",
                 json_string_value(json_object_get(j, "i")) != NULL ? json_string_value(json_object_get(j, "i")) : "");
        snprintf(locs, sizeof(locs), "%s",
                 json_string_value(json_object_get(j, "l")) != NULL ? json_string_value(json_object_get(j, "l")) : "");
        json_decref(j);
    } else {
        const char *i = oc_sim_query(r, "inventory_item_ids"), *l = oc_sim_query(r, "location_ids");
        if ((i == NULL || *i == '\0') && (l == NULL || *l == '\0')) {
            oc_sim_reply_json(
                r, 422, json_pack("{s:s}", "errors", "inventory_item_ids, location_ids, or both must be specified"));
            return;
        }
        snprintf(items, sizeof(items), "%s", i != NULL ? i : "");
        snprintf(locs, sizeof(locs), "%s", l != NULL ? l : "");
    }
    json_t *levels = json_array();
    long long seen = 0;
    int more = 0;
    for (size_t k = 0; k < a->skus.len; k++) {
        oc_sim_sku_t *s = a->skus.items[k];
        if (!id_in_list(items, s->item_id) || !id_in_list(locs, s->location_id))
            continue;
        if (seen++ < offset)
            continue;
        if ((long long)json_array_size(levels) == limit) {
            more = 1;
            break;
        }
        json_array_append_new(levels, oc_sim_shopify_level_json(a, s));
    }
    char *next = NULL, *prev = NULL;
    json_t *pj;
    if (more) {
        pj = json_pack("{s:s, s:s, s:I}", "i", items, "l", locs, "o", (json_int_t)(offset + limit));
        char *s = json_dumps(pj, JSON_COMPACT);
        next = s != NULL ? oc_sim_b64url(s, strlen(s)) : NULL;
        free(s);
        json_decref(pj);
    }
    if (offset > 0) {
        pj =
            json_pack("{s:s, s:s, s:I}", "i", items, "l", locs, "o", (json_int_t)(offset > limit ? offset - limit : 0));
        char *s = json_dumps(pj, JSON_COMPACT);
        prev = s != NULL ? oc_sim_b64url(s, strlen(s)) : NULL;
        free(s);
        json_decref(pj);
    }
    link_header(r, "inventory_levels.json", limit, next, prev);
    free(next);
    free(prev);
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "inventory_levels", levels));
}

/* --- REST: orders --------------------------------------------------------------------------------- */

typedef struct order_key {
    oc_sim_order_t *o;
    uint64_t k;
} order_key_t;

static int order_asc;

static int cmp_order_key(const void *x, const void *y)
{
    const order_key_t *a = x, *b = y;
    int c = a->k < b->k ? -1 : a->k > b->k ? 1 : a->o->num < b->o->num ? -1 : a->o->num > b->o->num ? 1 : 0;
    return order_asc ? c : -c;
}

/* sort: 0 id, 1 created_at, 2 updated_at */
static uint64_t key_of(const oc_sim_order_t *o, int sort)
{
    return sort == 0 ? (uint64_t)o->num : sort == 1 ? o->created_ms / 1000 : o->updated_ms / 1000;
}

static int time_param(oc_sim_req_t *r, const char *name, uint64_t *out)
{
    const char *v = oc_sim_query(r, name);
    if (v == NULL)
        return 0;
    if (oc_sim_parse_time(v, out) != 0) {
        oc_sim_reply_json(r, 400, json_pack("{s:{s:s}}", "errors", name, "Invalid date"));
        return -1;
    }
    return 1;
}

static void rest_orders(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    long long limit = limit_param(r, 50), since_id = 0;
    char status[16] = "open", order[32] = "id asc";
    uint64_t umin = 0, umax = UINT64_MAX, cmin = 0, cmax = UINT64_MAX;
    oc_sim_cursor_t cur = {0};
    const char *page = oc_sim_query(r, "page_info");
    if (page != NULL) {
        json_t *x = NULL;
        if (oc_sim_cursor_decode(page, &cur) != 0 || (x = json_loads(cur.extra, 0, NULL)) == NULL) {
            oc_sim_reply_json(r, 400, json_pack("{s:{s:s}}", "errors", "page_info", "Invalid value."));
            return;
        }
        long long v;
        const char *st = json_string_value(json_object_get(x, "st")),
                   * or = json_string_value(json_object_get(x, "or"));
        snprintf(status, sizeof(status), "%s", st != NULL ? st : "any");
        snprintf(order, sizeof(order), "%s", or != NULL ? or : "id asc");
        if (oc_sim_json_int(json_object_get(x, "umin"), &v))
            umin = (uint64_t)v;
        if (oc_sim_json_int(json_object_get(x, "umax"), &v))
            umax = (uint64_t)v;
        if (oc_sim_json_int(json_object_get(x, "cmin"), &v))
            cmin = (uint64_t)v;
        if (oc_sim_json_int(json_object_get(x, "cmax"), &v))
            cmax = (uint64_t)v;
        if (oc_sim_json_int(json_object_get(x, "sid"), &v))
            since_id = v;
        json_decref(x);
    } else {
        const char *st = oc_sim_query(r, "status"), * or = oc_sim_query(r, "order"), *sid = oc_sim_query(r, "since_id");
        if (st != NULL)
            snprintf(status, sizeof(status), "%s", st);
        if (or != NULL)
            snprintf(order, sizeof(order), "%s", or);
        if (sid != NULL)
            since_id = strtoll(sid, NULL, 10);
        if (time_param(r, "updated_at_min", &umin) < 0 || time_param(r, "updated_at_max", &umax) < 0 ||
            time_param(r, "created_at_min", &cmin) < 0 || time_param(r, "created_at_max", &cmax) < 0)
            return;
    }
    if (strcmp(status, "open") != 0 && strcmp(status, "closed") != 0 && strcmp(status, "cancelled") != 0 &&
        strcmp(status, "any") != 0) {
        oc_sim_reply_json(r, 400, json_pack("{s:{s:s}}", "errors", "status", "must be open, closed, cancelled or any"));
        return;
    }
    int sort = strncmp(order, "created_at", 10) == 0 ? 1 : strncmp(order, "updated_at", 10) == 0 ? 2 : 0;
    int asc = strstr(order, "desc") == NULL;
    order_key_t *keys = oc_calloc(a->orders.len + 1, sizeof(*keys));
    size_t n = 0;
    for (size_t i = 0; i < a->orders.len; i++) {
        oc_sim_order_t *o = a->orders.items[i];
        uint64_t us = o->updated_ms / 1000 * 1000, cs = o->created_ms / 1000 * 1000; /* second precision, as shown */
        if ((strcmp(status, "open") == 0 && o->cancelled) || (strcmp(status, "cancelled") == 0 && !o->cancelled) ||
            strcmp(status, "closed") == 0)
            continue;
        if (us < umin || us > umax || cs < cmin || cs > cmax || o->shopify_id <= since_id)
            continue;
        keys[n].o = o;
        keys[n].k = key_of(o, sort);
        n++;
    }
    order_asc = asc;
    qsort(keys, n, sizeof(*keys), cmp_order_key);
    size_t start = 0;
    if (cur.valid) { /* keyset: first record strictly after the last one returned */
        order_key_t last = {NULL, cur.last_ms};
        oc_sim_order_t probe = {.num = cur.last_seq};
        last.o = &probe;
        while (start < n && cmp_order_key(&keys[start], &last) <= 0)
            start++;
    }
    json_t *list = json_array();
    size_t end = start;
    for (; end < n && (long long)(end - start) < limit; end++)
        json_array_append_new(list, oc_sim_shopify_order_json(r->sim, a, keys[end].o));
    char *next = NULL;
    if (end < n && end > start) {
        oc_sim_cursor_t nc = {.last_ms = keys[end - 1].k, .last_seq = keys[end - 1].o->num};
        json_t *x =
            json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "st", status, "or", order, "umin", (json_int_t)umin,
                      "umax", (json_int_t)(umax == UINT64_MAX ? INT64_MAX : umax), "cmin", (json_int_t)cmin, "cmax",
                      (json_int_t)(cmax == UINT64_MAX ? INT64_MAX : cmax), "sid", (json_int_t)since_id);
        char *xs = json_dumps(x, JSON_COMPACT);
        json_decref(x);
        snprintf(nc.extra, sizeof(nc.extra), "%s", xs != NULL ? xs : "{}");
        free(xs);
        next = oc_sim_cursor_encode(&nc);
    }
    link_header(r, "orders.json", limit, next, NULL);
    free(next);
    free(keys);
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "orders", list));
}

static void rest_order(oc_sim_req_t *r)
{
    oc_sim_order_t *o = oc_sim_order_find(r->acct, oc_sim_param(r, "id"));
    if (o == NULL)
        rest_error(r, 404, "Not Found");
    else
        oc_sim_reply_json(r, 200, json_pack("{s:o}", "order", oc_sim_shopify_order_json(r->sim, r->acct, o)));
}

static void rest_locations(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    json_t *locs = json_array();
    for (size_t i = 0; i <= a->skus.len; i++) {
        long long loc = i == 0 ? a->location_id : ((oc_sim_sku_t *)a->skus.items[i - 1])->location_id;
        int seen = i > 0 && loc == a->location_id;
        for (size_t j = 1; j < i && !seen; j++)
            seen = ((oc_sim_sku_t *)a->skus.items[j - 1])->location_id == loc;
        if (!seen)
            json_array_append_new(locs,
                                  json_pack("{s:I, s:s, s:b, s:o}", "id", (json_int_t)loc, "name", "Shop location",
                                            "active", 1, "admin_graphql_api_id", gid("Location", loc)));
    }
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "locations", locs));
}

static void rest_shop(oc_sim_req_t *r)
{
    char domain[96];
    snprintf(domain, sizeof(domain), "%s.myshopify.com", r->acct->name);
    oc_sim_reply_json(r, 200,
                      json_pack("{s:{s:I, s:s, s:s, s:s, s:s}}", "shop", "id",
                                (json_int_t)(60000000000LL + r->acct->id), "name", r->acct->name, "domain", domain,
                                "myshopify_domain", domain, "currency", "USD"));
}

/* --- REST: webhook subscriptions -------------------------------------------------------------------- */

static json_t *webhook_obj(oc_sim_req_t *r, unsigned topic)
{
    char created[32];
    oc_time_format(created, r->acct->created_ms, OC_TIME_OFFSET);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                     (json_int_t)(r->acct->id * 100 + __builtin_ctz(topic)), "address", r->acct->webhook.url, "topic",
                     topic_name(topic), "created_at", created, "updated_at", created, "format", "json", "api_version",
                     r->acct->webhook.api_version);
}

static void webhooks_create(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    json_t *body = oc_sim_json_parse(r->body, r->body_len), *w = json_object_get(body, "webhook");
    const char *topic = json_string_value(json_object_get(w, "topic")),
               *address = json_string_value(json_object_get(w, "address"));
    unsigned t = 0;
    for (unsigned bit = 1; bit < OC_SIM_TOPIC_ALL && topic != NULL; bit <<= 1)
        if (strcmp(topic_name(bit), topic) == 0)
            t = bit;
    if (t == 0 || address == NULL || strncmp(address, "http", 4) != 0 || strlen(address) >= sizeof(a->webhook.url)) {
        oc_sim_reply_json(r, 422, json_pack("{s:{s:[s]}}", "errors", "topic", "Invalid topic or address"));
    } else {
        if (a->webhook.url[0] == '\0' || strcmp(a->webhook.url, address) != 0)
            a->webhook.topics = 0; /* one address per shop in the simulator */
        snprintf(a->webhook.url, sizeof(a->webhook.url), "%s", address);
        a->webhook.topics |= t;
        oc_sim_reply_json(r, 201, json_pack("{s:o}", "webhook", webhook_obj(r, t)));
    }
    json_decref(body);
}

static void webhooks_list(oc_sim_req_t *r)
{
    json_t *list = json_array();
    for (unsigned bit = 1; bit < OC_SIM_TOPIC_ALL; bit <<= 1)
        if (r->acct->webhook.url[0] != '\0' && (r->acct->webhook.topics & bit))
            json_array_append_new(list, webhook_obj(r, bit));
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "webhooks", list));
}

/* --- the table ---------------------------------------------------------------------------------------- */

static const oc_sim_route_t routes[] = {
    {"POST", "/admin/oauth/access_token", oauth_token, "oauthAccessToken", NULL, OC_SIM_NOAUTH},
    {"POST", "/admin/api/{version}/graphql.json", graphql, "graphql", NULL, OC_SIM_OWN_LIMIT},
    {"POST", "/admin/api/{version}/inventory_levels/set.json", rest_set, "inventoryLevelsSet", "rest", 0},
    {"POST", "/admin/api/{version}/inventory_levels/adjust.json", rest_adjust, "inventoryLevelsAdjust", "rest", 0},
    {"POST", "/admin/api/{version}/inventory_levels/connect.json", rest_connect, "inventoryLevelsConnect", "rest", 0},
    {"GET", "/admin/api/{version}/inventory_levels.json", rest_levels, "inventoryLevels", "rest", 0},
    {"GET", "/admin/api/{version}/orders.json", rest_orders, "orders", "rest", 0},
    {"GET", "/admin/api/{version}/orders/{id}.json", rest_order, "order", "rest", 0},
    {"GET", "/admin/api/{version}/locations.json", rest_locations, "locations", "rest", 0},
    {"GET", "/admin/api/{version}/shop.json", rest_shop, "shop", "rest", 0},
    {"POST", "/admin/api/{version}/webhooks.json", webhooks_create, "webhooksCreate", "rest", 0},
    {"GET", "/admin/api/{version}/webhooks.json", webhooks_list, "webhooks", "rest", 0},
};

const oc_sim_channel_ops_t oc_sim_shopify_ops = OC_SIM_CHANNEL_OPS("shopify", limit_headers);
