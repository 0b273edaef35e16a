/*
 * walmart.c — the Walmart Marketplace API simulator under /walmart.
 *
 * Speaks: POST /v3/token (Basic client credentials, 900 s tokens), single
 * and multi-node inventory (PUT echoes, GETs, paged listing with
 * nextCursor), inventory feeds (multipart or raw JSON, spec 1.4 and
 * MP_INVENTORY 1.5; RECEIVED → INPROGRESS → PROCESSED with item details),
 * orders (created/lastModified windows, limit, nextCursor as a ready-made
 * query string, per-line statuses, quantities as strings, dates as epoch
 * ms), released orders, acknowledge, cancel, shipping, and /v3/returns.
 * Auth: WM_SEC.ACCESS_TOKEN plus WM_QOS.CORRELATION_ID and WM_SVC.NAME on
 * every call (401 invalid or expired token, 400 missing headers).  Rate
 * limits: a token bucket per API with x-current-token-count and
 * x-next-replenish-time, 429 with Retry-After.
 */
#include "adapters/sim/sim_internal.h"

#include <ctype.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

static const oc_sim_limit_def_t limits[] = {
    {"inventory", 200, 200.0 / 60},
    {"inventories", 200, 200.0 / 60},
    {"feeds", 10, 10.0 / 3600},
    {"feed_status", 5000, 5000.0 / 60},
    {"orders", 5000, 5000.0 / 60},
    {"orders_released", 60, 1},
    {"acknowledge", 60, 1},
    {"cancel", 60, 1},
    {"shipping", 60, 1},
    {"returns", 60, 1},
};

/* --- errors, auth, limits ------------------------------------------------------------ */

static void wm_error(oc_sim_req_t *r, int status, const char *code, const char *field, const char *description,
                     const char *info)
{
    oc_sim_reply_json(r, status,
                      json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:{}}]}", "errors", "code", code, "field",
                                field, "description", description, "info", info, "severity", "ERROR", "category",
                                "DATA", "causes", "errorIdentifiers"));
}

static void channel_error(oc_sim_req_t *r, int status, const char *code, const char *message)
{
    if (status == 404)
        wm_error(r, 404, "CONTENT_NOT_FOUND.GMP_GATEWAY_API", "NOT_FOUND", "Not Found",
                 "Requested content could "
                 "not be found.");
    else if (status >= 500)
        wm_error(r, status, "SYSTEM_ERROR.GMP_GATEWAY_API", "SYSTEM_ERROR", message,
                 "System encountered some "
                 "internal error.");
    else
        wm_error(r, status, "INVALID_REQUEST.GMP_GATEWAY_API", "INVALID_REQUEST", message, message);
}

static void unauthorized(oc_sim_req_t *r, const char *info)
{
    wm_error(r, 401, "UNAUTHORIZED.GMP_GATEWAY_API", "UNAUTHORIZED", "Unauthorized", info);
}

static void content_error(oc_sim_req_t *r, const char *api, const char *field, const char *message)
{
    char code[96];
    snprintf(code, sizeof(code), "INVALID_REQUEST_CONTENT.%s", api);
    wm_error(r, 400, code, field, message, message);
}

static void not_found(oc_sim_req_t *r, const char *api, const char *message)
{
    char code[96];
    snprintf(code, sizeof(code), "CONTENT_NOT_FOUND.%s", api);
    wm_error(r, 404, code, "NOT_FOUND", message, "Requested content could not be found.");
}

static void limit_headers(oc_sim_req_t *r, oc_sim_bucket_t *b)
{
    char v[40];
    double level = oc_sim_bucket_level(b);
    snprintf(v, sizeof(v), "%lld", (long long)floor(level));
    oc_sim_header(r, "x-current-token-count", v);
    double wait_s = level >= b->burst || b->rate <= 0 ? 0 : (1.0 - (level - floor(level))) / b->rate;
    snprintf(v, sizeof(v), "%llu", (unsigned long long)(oc_now_ms() + (uint64_t)(wait_s * 1000)));
    oc_sim_header(r, "x-next-replenish-time", v);
}

static void throttled(oc_sim_req_t *r, oc_sim_bucket_t *b, double retry_s)
{
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)ceil(retry_s < 1 ? 1 : retry_s));
    oc_sim_header(r, "Retry-After", v);
    if (b != NULL && !b->unlimited && r->bucket == NULL)
        limit_headers(r, b);
    wm_error(r, 429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "REQUEST_THRESHOLD_VIOLATED", "Error",
             "Request Threshold Violated");
}

static oc_sim_account_t *by_client_id(oc_sim_t *sim, const char *id)
{
    for (size_t i = 0; id != NULL && i < sim->accounts.len; i++) {
        oc_sim_account_t *a = sim->accounts.items[i];
        if (a->channel == OC_SIM_WALMART && strcmp(a->client_id, id) == 0)
            return a;
    }
    return NULL;
}

/* Decodes "Basic base64(id:secret)" into malloc'd id and secret; 0 or -1. */
static int basic_auth(const char *h, char **id, char **secret)
{
    if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
        return -1;
    const char *b64 = h + 6;
    size_t cap = strlen(b64), len = 0;
    unsigned char *bin = oc_malloc(cap + 1);
    if (sodium_base642bin(bin, cap, b64, strlen(b64), NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(bin);
        return -1;
    }
    bin[len] = '\0';
    char *colon = strchr((char *)bin, ':');
    if (colon == NULL || memchr(bin, '\0', len) != NULL) {
        free(bin);
        return -1;
    }
    *colon = '\0';
    *id = oc_strdup((char *)bin);
    *secret = oc_strdup(colon + 1);
    free(bin);
    return 0;
}

static int authenticate(oc_sim_req_t *r)
{
    const char *corr = oc_sim_req_header(r, "wm_qos.correlation_id");
    if (corr != NULL)
        oc_sim_header(r, "WM_QOS.CORRELATION_ID", corr);
    if (r->route->flags & OC_SIM_NOAUTH) {
        char *id = NULL, *secret = NULL;
        if (basic_auth(oc_sim_req_header(r, "authorization"), &id, &secret) == 0) {
            r->acct = by_client_id(r->sim, id);
            free(id);
            free(secret);
        }
        return 0;
    }
    const char *token = oc_sim_req_header(r, "wm_sec.access_token");
    if (token == NULL) {
        unauthorized(r, "Unauthorized token or incorrect authorization header. Please verify correct format: "
                        "WM_SEC.ACCESS_TOKEN: <token>");
        return -1;
    }
    int expired;
    oc_sim_account_t *a = oc_sim_token_check(r->sim, token, &expired);
    if (a == NULL || a->channel != OC_SIM_WALMART) {
        unauthorized(r, expired ? "Unauthorized token or token is expired" : "Unauthorized token");
        return -1;
    }
    if (corr == NULL || oc_sim_req_header(r, "wm_svc.name") == NULL) {
        wm_error(r, 400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API",
                 corr == NULL ? "WM_QOS.CORRELATION_ID" : "WM_SVC.NAME", "Missing required header",
                 "WM_QOS.CORRELATION_ID and WM_SVC.NAME are required on every call");
        return -1;
    }
    /* the specification requires the client's Basic authorization on every call, not only the token's */
    char *id = NULL, *secret = NULL;
    int basic = basic_auth(oc_sim_req_header(r, "authorization"), &id, &secret) == 0 && by_client_id(r->sim, id) == a &&
                strcmp(secret, a->client_secret) == 0;
    free(id);
    free(secret);
    if (!basic) {
        unauthorized(r, "Unauthorized token or incorrect authorization header. Please verify correct format: "
                        "\"Authorization: Basic Base64Encode(clientId:clientSecret)\"");
        return -1;
    }
    r->acct = a;
    oc_sim_walmart_catch_up(r->sim, a);
    return 0;
}

/* --- token ----------------------------------------------------------------------------- */

static void token(oc_sim_req_t *r)
{
    char *id = NULL, *secret = NULL, *grant = NULL;
    if (basic_auth(oc_sim_req_header(r, "authorization"), &id, &secret) != 0) {
        unauthorized(r, "Unauthorized token or incorrect authorization header. Please verify correct format: "
                        "\"Authorization: Basic Base64Encode(clientId:clientSecret)\"");
        goto Done;
    }
    oc_sim_account_t *a = by_client_id(r->sim, id);
    if (a == NULL || strcmp(secret, a->client_secret) != 0) {
        unauthorized(r, "Unauthorized token or incorrect authorization header. Please verify correct format: "
                        "\"Authorization: Basic Base64Encode(clientId:clientSecret)\"");
        goto Done;
    }
    if (oc_sim_req_header(r, "wm_qos.correlation_id") == NULL || oc_sim_req_header(r, "wm_svc.name") == NULL) {
        wm_error(r, 400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", "WM_QOS.CORRELATION_ID", "Missing required header",
                 "WM_QOS.CORRELATION_ID and WM_SVC.NAME are required");
        goto Done;
    }
    grant = r->body != NULL ? oc_sim_form_get(r->body, r->body_len, "grant_type") : NULL;
    if (grant == NULL || strcmp(grant, "client_credentials") != 0) {
        content_error(r, "GMP_GATEWAY_API", "grant_type", "grant_type must be client_credentials");
        goto Done;
    }
    char tok[100];
    oc_sim_token_issue(r->sim, a, "eyJraWQiOiJzaW0iLCJhbGciOiJIUzI1NiJ9.", a->token_ttl_s, tok, sizeof(tok));
    oc_sim_reply_json(
        r, 200,
        json_pack("{s:s, s:s, s:i}", "access_token", tok, "token_type", "Bearer", "expires_in", a->token_ttl_s));
Done:
    free(id);
    free(secret);
    free(grant);
}

static void token_detail(oc_sim_req_t *r)
{
    /* the timestamps are strings in the specification */
    uint64_t now = oc_now_ms();
    char issued[32], expires[32];
    oc_time_format(issued, now, OC_TIME_MS);
    oc_time_format(expires, now + (uint64_t)r->acct->token_ttl_s * 1000, OC_TIME_MS);
    oc_sim_reply_json(r, 200,
                      json_pack("{s:{s:s, s:s, s:s, s:s}, s:b, s:b, s:s, s:s}", "scopes", "inventory", "full_access",
                                "orders", "full_access", "returns", "full_access", "feeds", "full_access", "is_valid",
                                1, "is_channel_match", 1, "issued_at", issued, "expire_at", expires));
}

/* --- inventory ----------------------------------------------------------------------------- */

static json_t *qty_obj(long long n)
{
    return json_pack("{s:s, s:I}", "unit", "EACH", "amount", (json_int_t)n); /* below zero after an oversell */
}

static json_t *nodes_json(oc_sim_account_t *a, const oc_sim_sku_t *s)
{
    long long reserved = s->committed;
    return json_pack("[{s:s, s:o, s:o, s:o}]", "shipNode", a->ship_node, "inputQty", qty_obj(s->qty + reserved),
                     "availToSellQty", qty_obj(s->qty), "reservedQty", qty_obj(reserved));
}

/* The `sku` of a /v3/inventory request, or NULL once it has answered that the sku is missing or the
 * shipNode is not the seller's. */
static const char *inventory_sku(oc_sim_req_t *r)
{
    const char *sku = oc_sim_query(r, "sku");
    if (sku == NULL || *sku == '\0') {
        content_error(r, "GMP_INVENTORY_API", "sku", "The query parameter sku is required");
        return NULL;
    }
    const char *node = oc_sim_query(r, "shipNode");
    if (node != NULL && strcmp(node, r->acct->ship_node) != 0) {
        content_error(r, "GMP_INVENTORY_API", "shipNode", "The ship node is not one of the seller's");
        return NULL;
    }
    return sku;
}

static void put_inventory(oc_sim_req_t *r)
{
    const char *sku = inventory_sku(r);
    if (sku == NULL)
        return;
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    const char *bsku = json_string_value(json_object_get(body, "sku"));
    json_t *q = json_object_get(body, "quantity");
    long long amount;
    if (body == NULL || !json_is_object(q) || !oc_sim_json_int(json_object_get(q, "amount"), &amount) || amount < 0) {
        content_error(r, "GMP_INVENTORY_API", "quantity", "quantity.amount must be an integer >= 0");
    } else if (bsku != NULL && strcmp(bsku, sku) != 0) {
        content_error(r, "GMP_INVENTORY_API", "sku", "The sku in the body differs from the query parameter");
    } else {
        oc_sim_sku_t *s = oc_sim_sku_find(r->acct, sku);
        if (s == NULL) {
            not_found(r, "GMP_INVENTORY_API", "Item not found");
        } else {
            oc_sim_set_qty(r->sim, r->acct, s, amount, 1);
            oc_sim_note_write(r, s->sku, amount);
            const char *unit = json_string_value(json_object_get(q, "unit"));
            oc_sim_reply_json(r, 200,
                              json_pack("{s:s, s:{s:s, s:I}}", "sku", s->sku, "quantity", "unit",
                                        unit != NULL ? unit : "EACH", "amount", (json_int_t)amount));
        }
    }
    json_decref(body);
}

static void get_inventory(oc_sim_req_t *r)
{
    const char *sku = inventory_sku(r);
    if (sku == NULL)
        return;
    oc_sim_sku_t *s = oc_sim_sku_find(r->acct, sku);
    if (s == NULL)
        not_found(r, "GMP_INVENTORY_API", "Item not found");
    else
        oc_sim_reply_json(r, 200, json_pack("{s:s, s:o}", "sku", s->sku, "quantity", qty_obj(s->qty)));
}

static void list_inventories(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    const char *lim = oc_sim_query(r, "limit"), *cur = oc_sim_query(r, "nextCursor");
    long long limit = lim != NULL ? strtoll(lim, NULL, 10) : 10, start = 0;
    if (limit < 1 || limit > 50) {
        content_error(r, "GMP_INVENTORY_API", "limit", "limit must be from 1 to 50");
        return;
    }
    if (cur != NULL && *cur != '\0') {
        char *d = oc_sim_unb64url(cur);
        if (d == NULL || sscanf(d, "inv:%lld", &start) != 1 || start < 0) {
            free(d);
            content_error(r, "GMP_INVENTORY_API", "nextCursor", "Invalid nextCursor");
            return;
        }
        free(d);
    }
    json_t *list = json_array();
    for (long long i = start; i < (long long)a->skus.len && i < start + limit; i++) {
        oc_sim_sku_t *s = a->skus.items[i];
        json_array_append_new(list, json_pack("{s:s, s:o}", "sku", s->sku, "nodes", nodes_json(a, s)));
    }
    json_t *meta = json_pack("{s:I}", "totalCount", (json_int_t)a->skus.len);
    if (start + limit < (long long)a->skus.len) {
        char t[32];
        snprintf(t, sizeof(t), "inv:%lld", start + limit);
        char *enc = oc_sim_b64url(t, strlen(t));
        json_object_set_new(meta, "nextCursor", json_string(enc != NULL ? enc : ""));
        free(enc);
    }
    oc_sim_reply_json(r, 200, json_pack("{s:o, s:{s:o}}", "meta", meta, "elements", "inventories", list));
}

static void get_inventories_sku(oc_sim_req_t *r)
{
    oc_sim_sku_t *s = oc_sim_sku_find(r->acct, oc_sim_param(r, "sku"));
    if (s == NULL)
        not_found(r, "GMP_INVENTORY_API", "Item not found");
    else
        oc_sim_reply_json(r, 200, json_pack("{s:s, s:o}", "sku", s->sku, "nodes", nodes_json(r->acct, s)));
}

static void put_inventories_sku(oc_sim_req_t *r)
{
    oc_sim_sku_t *s = oc_sim_sku_find(r->acct, oc_sim_param(r, "sku"));
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    json_t *nodes = json_object_get(json_object_get(body, "inventories"), "nodes");
    if (s == NULL) {
        not_found(r, "GMP_INVENTORY_API", "Item not found");
    } else if (!json_is_array(nodes)) {
        content_error(r, "GMP_INVENTORY_API", "inventories.nodes", "inventories.nodes must be an array");
    } else {
        json_t *out = json_array(), *n;
        size_t i;
        json_array_foreach(nodes, i, n)
        {
            const char *node = json_string_value(json_object_get(n, "shipNode"));
            long long amount;
            int ok = node != NULL && strcmp(node, r->acct->ship_node) == 0 &&
                     oc_sim_json_int(json_object_get(json_object_get(n, "inputQty"), "amount"), &amount) && amount >= 0;
            if (ok) {
                oc_sim_set_qty(r->sim, r->acct, s, amount, 1);
                oc_sim_note_write(r, s->sku, amount);
            }
            json_array_append_new(out, json_pack("{s:s, s:s}", "shipNode", node != NULL ? node : "", "status",
                                                 ok ? "Success" : "Failure"));
        }
        oc_sim_reply_json(r, 200, json_pack("{s:s, s:o}", "sku", s->sku, "nodes", out));
    }
    json_decref(body);
}

/* --- feeds ------------------------------------------------------------------------------------ */

/* The JSON document of a feed upload: a multipart part, or the raw body. New reference or NULL. */
static json_t *feed_document(oc_sim_req_t *r)
{
    const char *ct = oc_sim_req_header(r, "content-type");
    const char *b = ct != NULL ? strstr(ct, "boundary=") : NULL;
    if (ct == NULL || strncasecmp(ct, "multipart/", 10) != 0 || b == NULL)
        return json_loadb(r->body != NULL ? r->body : "", r->body_len, 0, NULL);
    char delim[200];
    b += 9;
    size_t bl = strcspn(b, "; ");
    if (*b == '"') {
        b++;
        bl = strcspn(b, "\"");
    }
    snprintf(delim, sizeof(delim), "--%.*s", (int)bl, b);
    const char *end = r->body + r->body_len;
    const char *p = r->body != NULL ? memmem(r->body, r->body_len, delim, strlen(delim)) : NULL;
    if (p == NULL)
        return NULL;
    const char *hdr_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    if (hdr_end == NULL)
        return NULL;
    const char *data = hdr_end + 4;
    char close[210];
    snprintf(close, sizeof(close), "\r\n%s", delim);
    const char *stop = memmem(data, (size_t)(end - data), close, strlen(close));
    return json_loadb(data, stop != NULL ? (size_t)(stop - data) : (size_t)(end - data), 0, NULL);
}

/* The items of a 1.4 ("Inventory") or 1.5 ("inventory" with shipNodes) feed. Borrowed. */
static json_t *feed_items(const json_t *doc, int *v15)
{
    json_t *items = json_object_get(doc, "Inventory");
    *v15 = 0;
    if (items == NULL) {
        items = json_object_get(doc, "inventory");
        *v15 = 1;
    }
    return json_is_array(items) ? items : NULL;
}

static int item_amount(const json_t *item, int v15, const char *ship_node, long long *amount)
{
    if (!v15)
        return oc_sim_json_int(json_object_get(json_object_get(item, "quantity"), "amount"), amount) && *amount >= 0
                   ? 0
                   : -1;
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(item, "shipNodes"), i, n)
    {
        const char *node = json_string_value(json_object_get(n, "shipNode"));
        if (node != NULL && strcmp(node, ship_node) == 0)
            return oc_sim_json_int(json_object_get(json_object_get(n, "quantity"), "amount"), amount) && *amount >= 0
                       ? 0
                       : -1;
    }
    return -1;
}

static void process_feed(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_job_t *j)
{
    int v15;
    json_t *items = feed_items(j->input, &v15), *details = json_array(), *it;
    size_t i;
    j->succeeded = j->failed = 0;
    if (items == NULL)
        j->fatal = 1;
    json_array_foreach(items, i, it)
    {
        const char *sku = json_string_value(json_object_get(it, "sku"));
        oc_sim_sku_t *s = sku != NULL ? oc_sim_sku_find(a, sku) : NULL;
        long long amount;
        const char *err = s == NULL ? "The SKU is not in the seller's catalog" : NULL;
        if (err == NULL && item_amount(it, v15, a->ship_node, &amount) != 0)
            err = v15 ? "shipNodes needs the seller's ship node with quantity.amount >= 0"
                      : "quantity.amount must be an integer >= 0";
        json_t *d = json_pack("{s:s, s:s, s:I, s:s}", "martId", "0", "sku", sku != NULL ? sku : "", "index",
                              (json_int_t)i, "ingestionStatus", err == NULL ? "SUCCESS" : "DATA_ERROR");
        if (err != NULL) {
            j->failed++;
            json_object_set_new(d, "ingestionErrors",
                                json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "ingestionError", "type", "DATA_ERROR", "code",
                                          "ERR_EXT_DATA_0101001", "field", "sku", "description", err));
        } else {
            j->succeeded++;
            oc_sim_set_qty(sim, a, s, amount, 1);
        }
        json_array_append_new(details, d);
    }
    json_decref(j->result);
    j->result = details;
}

void oc_sim_walmart_catch_up(oc_sim_t *sim, oc_sim_account_t *a)
{
    oc_sim_jobs_run_due(sim, a, &a->feeds, oc_now_ms(), process_feed);
}

static void submit_feed(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    const char *type = oc_sim_query(r, "feedType");
    if (type == NULL || (strcmp(type, "inventory") != 0 && strcmp(type, "MP_INVENTORY") != 0)) {
        content_error(r, "GMP_FEED_API", "feedType", "The simulator accepts feedType inventory and MP_INVENTORY");
        return;
    }
    if (r->body_len > 5 * 1024 * 1024) {
        wm_error(r, 413, "REQUEST_ENTITY_TOO_LARGE.GMP_FEED_API", "file", "Feed file too large",
                 "inventory feeds are limited to 5 MB");
        return;
    }
    oc_sim_job_t *j = oc_calloc(1, sizeof(*j));
    oc_sim_vec_push(&a->feeds, j);
    char hex[40];
    oc_random_hex(hex, 16);
    for (char *p = hex; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
    snprintf(j->id, sizeof(j->id), "%s@AQkBAQA", hex);
    snprintf(j->type, sizeof(j->type), "%s", type);
    j->created_ms = oc_now_ms();
    j->start_ms = j->created_ms + (uint64_t)a->feed_queue_ms;
    j->done_ms = j->start_ms + (uint64_t)a->feed_process_ms;
    j->input = feed_document(r);
    int v15;
    json_t *items = feed_items(j->input, &v15), *it;
    size_t i;
    j->received = (long long)json_array_size(items);
    json_array_foreach(items, i, it)
    {
        long long amount;
        const char *sku = json_string_value(json_object_get(it, "sku"));
        if (sku != NULL && item_amount(it, v15, a->ship_node, &amount) == 0)
            oc_sim_note_write(r, sku, amount);
    }
    oc_sim_jobs_arm(r->sim, a);
    oc_sim_reply_json(r, 200, json_pack("{s:s}", "feedId", j->id));
}

static const char *feed_status(const oc_sim_job_t *j, uint64_t now)
{
    if (now < j->start_ms)
        return "RECEIVED";
    if (!j->applied)
        return "INPROGRESS";
    return j->fatal ? "ERROR" : "PROCESSED";
}

static json_t *feed_summary(const oc_sim_job_t *j)
{
    uint64_t now = oc_now_ms();
    const char *st = feed_status(j, now);
    int done = j->applied;
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:I}", "feedId", j->id, "feedSource",
                     "MARKETPLACE_PARTNER", "feedType", j->type, "partnerId", "10000000000", "itemsReceived",
                     (json_int_t)j->received, "itemsSucceeded", (json_int_t)(done ? j->succeeded : 0), "itemsFailed",
                     (json_int_t)(done ? j->failed : 0), "itemsProcessing", (json_int_t)(done ? 0 : j->received),
                     "feedStatus", st, "feedDate", (json_int_t)j->created_ms, "modifiedDtm",
                     (json_int_t)(done                ? j->done_ms
                                  : now < j->start_ms ? j->created_ms
                                                      : j->start_ms));
}

static void list_feeds(oc_sim_req_t *r)
{
    const char *id = oc_sim_query(r, "feedId"), *lim = oc_sim_query(r, "limit"), *off = oc_sim_query(r, "offset");
    long long limit = lim != NULL ? strtoll(lim, NULL, 10) : 50, offset = off != NULL ? strtoll(off, NULL, 10) : 0;
    if (limit < 1 || limit > 50 || offset < 0) {
        content_error(r, "GMP_FEED_API", "limit", "limit must be from 1 to 50, offset >= 0");
        return;
    }
    json_t *feeds = json_array();
    long long total = 0;
    for (size_t i = r->acct->feeds.len; i-- > 0;) {
        oc_sim_job_t *j = r->acct->feeds.items[i];
        if (id != NULL && strcmp(id, j->id) != 0)
            continue;
        if (total++ >= offset && (long long)json_array_size(feeds) < limit)
            json_array_append_new(feeds, feed_summary(j));
    }
    oc_sim_reply_json(r, 200,
                      json_pack("{s:I, s:I, s:I, s:{s:o}}", "totalResults", (json_int_t)total, "offset",
                                (json_int_t)offset, "limit", (json_int_t)limit, "results", "feed", feeds));
}

static void get_feed(oc_sim_req_t *r)
{
    const char *id = oc_sim_param(r, "feedId");
    oc_sim_job_t *j = NULL;
    for (size_t i = 0; i < r->acct->feeds.len && j == NULL; i++)
        if (strcmp(((oc_sim_job_t *)r->acct->feeds.items[i])->id, id) == 0)
            j = r->acct->feeds.items[i];
    if (j == NULL) {
        not_found(r, "GMP_FEED_API", "Feed not found");
        return;
    }
    const char *inc = oc_sim_query(r, "includeDetails"), *lim = oc_sim_query(r, "limit"),
               *off = oc_sim_query(r, "offset");
    long long limit = lim != NULL ? strtoll(lim, NULL, 10) : 50, offset = off != NULL ? strtoll(off, NULL, 10) : 0;
    if (limit < 1 || limit > 1000 || offset < 0) {
        content_error(r, "GMP_FEED_API", "limit", "limit must be from 1 to 1000, offset >= 0");
        return;
    }
    json_t *f = feed_summary(j);
    json_object_set_new(f, "feedSubmissionDate", json_integer((json_int_t)j->created_ms));
    json_object_set_new(f, "ingestionErrors", json_pack("{s:n}", "ingestionError"));
    json_object_set_new(f, "offset", json_integer(offset));
    json_object_set_new(f, "limit", json_integer(limit));
    json_t *list = json_array();
    if (inc != NULL && strcmp(inc, "true") == 0 && j->applied)
        for (long long i = offset; i < offset + limit && i < (long long)json_array_size(j->result); i++)
            json_array_append(list, json_array_get(j->result, (size_t)i));
    json_object_set_new(f, "itemDetails", json_pack("{s:o}", "itemIngestionStatus", list));
    oc_sim_reply_json(r, 200, f);
}

/* --- orders ------------------------------------------------------------------------------------- */

static const char *open_status(const oc_sim_order_t *o)
{
    return o->acknowledged ? "Acknowledged" : "Created";
}

static json_t *status_entry(const char *status, long long qty, const char *reason)
{
    char amount[24];
    snprintf(amount, sizeof(amount), "%lld", qty);
    json_t *e = json_pack("{s:s, s:{s:s, s:s}}", "status", status, "statusQuantity", "unitOfMeasurement", "EACH",
                          "amount", amount);
    if (reason != NULL)
        json_object_set_new(e, "cancellationReason", json_string(reason));
    return e;
}

/* The carrier's details of shipped units (Shipped, Delivered, and the Refund of shipped units). */
static json_t *tracking_info(const oc_sim_order_t *o, const oc_sim_line_t *l, int line)
{
    uint64_t shipped = o->fulfilled_ms != 0 ? o->fulfilled_ms : l->status_ms;
    return json_pack("{s:I, s:{s:s}, s:s, s:o, s:o}", "shipDateTime", (json_int_t)shipped, "carrierName", "carrier",
                     "UPS", "methodCode", "Standard", "trackingNumber", json_sprintf("1Z999AA1%010lld%d", o->num, line),
                     "trackingURL",
                     json_sprintf("https://www.walmart.com/tracking?tn=1Z999AA1%010lld%d", o->num, line));
}

/* The order as Walmart shows it; created_only keeps the lines (and units) still Created. */
static json_t *order_json(oc_sim_account_t *a, const oc_sim_order_t *o, int created_only)
{
    json_t *lines = json_array();
    for (int i = 0; i < o->nlines; i++) {
        const oc_sim_line_t *l = &o->lines[i];
        oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
        long long open = l->qty - l->cancelled - l->shipped;
        if (created_only && (open <= 0 || o->acknowledged))
            continue;
        json_t *statuses = json_array();
        if (open > 0)
            json_array_append_new(statuses, status_entry(open_status(o), open, NULL));
        /* shipped units: in transit (Shipped), arrived (Delivered), or refunded without a return (Refund) */
        long long kept = l->shipped - l->refunded, delivered = l->delivered < kept ? l->delivered : kept;
        if (kept - delivered > 0 && !created_only) {
            json_t *e = status_entry("Shipped", kept - delivered, NULL);
            json_object_set_new(e, "trackingInfo", tracking_info(o, l, i));
            json_array_append_new(statuses, e);
        }
        if (delivered > 0 && !created_only) {
            json_t *e = status_entry("Delivered", delivered, NULL);
            json_object_set_new(e, "trackingInfo", tracking_info(o, l, i));
            json_array_append_new(statuses, e);
        }
        if (l->refunded > 0 && !created_only)
            json_array_append_new(statuses, status_entry("Refund", l->refunded, NULL));
        if (l->cancelled > 0 && !created_only)
            json_array_append_new(
                statuses, status_entry("Cancelled", l->cancelled,
                                       o->cancel_reason[0] ? o->cancel_reason : "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"));
        char num[16], qty[24];
        snprintf(num, sizeof(num), "%d", i + 1);
        snprintf(qty, sizeof(qty), "%lld", created_only ? open : l->qty);
        json_array_append_new(
            lines, json_pack("{s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s, s:{s:s, s:f}}]}, s:{s:s, s:s}, s:I, s:{s:o}, "
                             "s:{s:s, s:s}}",
                             "lineNumber", num, "item", "productName", s->sku, "sku", s->sku, "charges", "charge",
                             "chargeType", "PRODUCT", "chargeName", "ItemPrice", "chargeAmount", "currency", "USD",
                             "amount", 10.0, "orderLineQuantity", "unitOfMeasurement", "EACH", "amount", qty,
                             "statusDate", (json_int_t)l->status_ms, "orderLineStatuses", "orderLineStatus", statuses,
                             "fulfillment", "fulfillmentOption", "S2H", "shipMethod", "STANDARD"));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:{s:s, s:I, s:I, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}, "
                     "s:{s:o}, s:{s:s, s:s}}",
                     "purchaseOrderId", o->id, "customerOrderId", o->name, "customerEmailId", "buyer@example.com",
                     "orderType", "REGULAR", "orderDate", (json_int_t)o->created_ms, "shippingInfo", "phone",
                     "5555555555", "estimatedDeliveryDate", (json_int_t)(o->created_ms + 3 * 86400000ULL),
                     "estimatedShipDate", (json_int_t)(o->created_ms + 86400000ULL), "methodCode", "Standard",
                     "postalAddress", "name", "Sim Buyer", "address1", "1 Main St", "city", "Bentonville", "state",
                     "AR", "postalCode", "72712", "country", "USA", "addressType", "RESIDENTIAL", "orderLines",
                     "orderLine", lines, "shipNode", "type", "SellerFulfilled", "id", a->ship_node);
}

static int order_has_status(const oc_sim_order_t *o, const char *status)
{
    if (status == NULL || *status == '\0')
        return 1;
    for (int i = 0; i < o->nlines; i++) {
        const oc_sim_line_t *l = &o->lines[i];
        if (l->qty - l->cancelled - l->shipped > 0 && strcmp(status, open_status(o)) == 0)
            return 1;
        if ((l->shipped - l->refunded - l->delivered > 0 && strcmp(status, "Shipped") == 0) ||
            (l->delivered > 0 && strcmp(status, "Delivered") == 0) ||
            (l->refunded > 0 && strcmp(status, "Refund") == 0) ||
            (l->cancelled > 0 && strcmp(status, "Cancelled") == 0))
            return 1;
    }
    return 0;
}

static int order_has_sku(oc_sim_account_t *a, const oc_sim_order_t *o, const char *sku)
{
    if (sku == NULL || *sku == '\0')
        return 1;
    for (int i = 0; i < o->nlines; i++)
        if (strcmp(oc_sim_sku_at(a, o->lines[i].sku_index)->sku, sku) == 0)
            return 1;
    return 0;
}

/* The filters of an order list beyond its dates. */
typedef struct order_filter {
    const char *status, *sku, *po;
} order_filter_t;

static int order_listed(oc_sim_account_t *a, const oc_sim_order_t *o, void *arg)
{
    const order_filter_t *f = arg;
    return order_has_status(o, f->status) && order_has_sku(a, o, f->sku) &&
           (f->po[0] == '\0' || strcmp(f->po, o->id) == 0);
}

static int date_param(oc_sim_req_t *r, const char *name, uint64_t *out)
{
    const char *v = oc_sim_query(r, name);
    if (v == NULL)
        return 0;
    if (oc_sim_parse_time(v, out) != 0) {
        content_error(r, "GMP_ORDER_API", name, "Dates must be ISO 8601 or epoch milliseconds");
        return -1;
    }
    return 1;
}

/* GET /v3/orders and /v3/orders/released: filters, keyset pages, nextCursor as a query string. */
static void list_orders(oc_sim_req_t *r, int released)
{
    oc_sim_account_t *a = r->acct;
    const char *lim = oc_sim_query(r, "limit"), *token = oc_sim_query(r, "soIndex");
    long long limit = lim != NULL ? strtoll(lim, NULL, 10) : 100;
    if (limit < 1 || limit > 200) {
        content_error(r, "GMP_ORDER_API", "limit", "limit must be from 1 to 200");
        return;
    }
    oc_sim_cursor_t c = {0};
    char status[24] = "", sku[200] = "", po[40] = "";
    if (token != NULL) {
        json_t *x = NULL;
        if (oc_sim_cursor_decode(token, &c) != 0 || (x = json_loads(c.extra, 0, NULL)) == NULL) {
            content_error(r, "GMP_ORDER_API", "nextCursor", "Invalid nextCursor");
            return;
        }
        const char *v;
        if ((v = json_string_value(json_object_get(x, "st"))) != NULL)
            snprintf(status, sizeof(status), "%s", v);
        if ((v = json_string_value(json_object_get(x, "sku"))) != NULL)
            snprintf(sku, sizeof(sku), "%s", v);
        json_decref(x);
    } else {
        uint64_t now = oc_now_ms();
        c.after_ms = now > 7ULL * 86400000ULL ? now - 7ULL * 86400000ULL : 0;
        c.before_ms = now;
        c.last_seq = -1;
        int cs, ce, ms, me;
        uint64_t lm_start = 0, lm_end = now, cr_start = c.after_ms, cr_end = now;
        if ((cs = date_param(r, "createdStartDate", &cr_start)) < 0 ||
            (ce = date_param(r, "createdEndDate", &cr_end)) < 0 ||
            (ms = date_param(r, "lastModifiedStartDate", &lm_start)) < 0 ||
            (me = date_param(r, "lastModifiedEndDate", &lm_end)) < 0)
            return;
        c.by_update = ms > 0 && cs == 0;
        c.after_ms = c.by_update ? lm_start : cr_start;
        c.before_ms = c.by_update ? lm_end : cr_end;
        const char *v;
        if ((v = oc_sim_query(r, "status")) != NULL)
            snprintf(status, sizeof(status), "%s", v);
        if ((v = oc_sim_query(r, "sku")) != NULL)
            snprintf(sku, sizeof(sku), "%s", v);
        if ((v = oc_sim_query(r, "purchaseOrderId")) != NULL)
            snprintf(po, sizeof(po), "%s", v);
        json_t *x = json_pack("{s:s, s:s}", "st", status, "sku", sku);
        char *xs = json_dumps(x, JSON_COMPACT);
        json_decref(x);
        if (xs == NULL || strlen(xs) >= sizeof(c.extra)) {
            free(xs);
            content_error(r, "GMP_ORDER_API", "sku", "filter too long");
            return;
        }
        snprintf(c.extra, sizeof(c.extra), "%s", xs);
        free(xs);
    }
    order_filter_t f = {released ? "Created" : status, sku, po};
    oc_sim_order_page_t pg;
    oc_sim_order_page(a, &c, limit, order_listed, &f, &pg);
    json_t *list = json_array();
    for (size_t i = 0; i < pg.n; i++)
        json_array_append_new(list, order_json(a, pg.orders[i], released));
    free(pg.orders);
    json_t *meta = json_pack("{s:I, s:I}", "totalCount", (json_int_t)pg.total, "limit", (json_int_t)limit);
    if (pg.more) {
        char *t = oc_sim_cursor_encode(&c);
        json_object_set_new(meta, "nextCursor",
                            json_sprintf("?limit=%lld&hasMoreElements=true&soIndex=%s&partnerId=%s&sellerId=%d", limit,
                                         t != NULL ? t : "", a->seller_id, a->id));
        free(t);
    } else {
        json_object_set_new(meta, "nextCursor", json_string("")); /* a string in the specification */
    }
    oc_sim_reply_json(r, 200, json_pack("{s:{s:o, s:{s:o}}}", "list", "meta", meta, "elements", "order", list));
}

static void get_orders(oc_sim_req_t *r)
{
    list_orders(r, 0);
}

static void get_released(oc_sim_req_t *r)
{
    list_orders(r, 1);
}

static oc_sim_order_t *order_of(oc_sim_req_t *r)
{
    oc_sim_order_t *o = oc_sim_order_find(r->acct, oc_sim_param(r, "po"));
    if (o == NULL)
        not_found(r, "GMP_ORDER_API", "Order not found");
    return o;
}

static void get_order(oc_sim_req_t *r)
{
    oc_sim_order_t *o = order_of(r);
    if (o != NULL)
        oc_sim_reply_json(r, 200, json_pack("{s:o}", "order", order_json(r->acct, o, 0)));
}

static void acknowledge(oc_sim_req_t *r)
{
    oc_sim_order_t *o = order_of(r);
    if (o == NULL)
        return;
    if (o->cancelled) {
        content_error(r, "GMP_ORDER_API", "purchaseOrderId", "The order is cancelled");
        return;
    }
    if (!o->acknowledged) {
        o->acknowledged = 1;
        o->updated_ms = oc_now_ms();
        for (int i = 0; i < o->nlines; i++)
            o->lines[i].status_ms = o->updated_ms;
    }
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "order", order_json(r->acct, o, 0)));
}

/* Walks body.<root>.orderLines.orderLine[] and applies `fn` to each line's quantity. */
static void line_updates(oc_sim_req_t *r, const char *root, const char *want_status,
                         int (*fn)(oc_sim_t *, oc_sim_account_t *, oc_sim_order_t *, int, long long, const char *,
                                   const char **))
{
    oc_sim_order_t *o = order_of(r);
    if (o == NULL)
        return;
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    json_t *lines = json_object_get(json_object_get(json_object_get(body, root), "orderLines"), "orderLine"), *l;
    size_t i;
    if (!json_is_array(lines) || json_array_size(lines) == 0) {
        json_decref(body);
        content_error(r, "GMP_ORDER_API", root, "orderLines.orderLine must list the lines");
        return;
    }
    /* validate every line first: all or nothing */
    long long left[64] = {0};
    json_array_foreach(lines, i, l)
    {
        const char *num = json_string_value(json_object_get(l, "lineNumber"));
        long long line = num != NULL ? strtoll(num, NULL, 10) - 1 : -1, qty = 0;
        json_t *st = json_array_get(json_object_get(json_object_get(l, "orderLineStatuses"), "orderLineStatus"), 0);
        json_t *amount = json_object_get(json_object_get(st, "statusQuantity"), "amount");
        const char *status = json_string_value(json_object_get(st, "status"));
        int ok = line >= 0 && line < o->nlines && line < 64 && status != NULL && strcmp(status, want_status) == 0;
        if (ok && json_is_string(amount))
            qty = strtoll(json_string_value(amount), NULL, 10);
        else if (ok && !oc_sim_json_int(amount, &qty))
            ok = 0;
        if (ok) {
            const oc_sim_line_t *ln = &o->lines[line];
            left[line] += qty;
            ok = qty > 0 && left[line] <= ln->qty - ln->cancelled - ln->shipped;
        }
        if (!ok) {
            json_decref(body);
            content_error(r, "GMP_ORDER_API", "orderLine",
                          "Each line needs a valid lineNumber, the status and a quantity it still has open");
            return;
        }
    }
    json_array_foreach(lines, i, l)
    {
        long long line = strtoll(json_string_value(json_object_get(l, "lineNumber")), NULL, 10) - 1, qty;
        json_t *st = json_array_get(json_object_get(json_object_get(l, "orderLineStatuses"), "orderLineStatus"), 0);
        json_t *amount = json_object_get(json_object_get(st, "statusQuantity"), "amount");
        if (json_is_string(amount))
            qty = strtoll(json_string_value(amount), NULL, 10);
        else
            oc_sim_json_int(amount, &qty);
        const char *reason = json_string_value(json_object_get(st, "cancellationReason")), *err;
        fn(r->sim, r->acct, o, (int)line, qty, reason, &err);
    }
    json_decref(body);
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "order", order_json(r->acct, o, 0)));
}

static int cancel_fn(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty, const char *reason,
                     const char **err)
{
    return oc_sim_order_cancel_line(sim, a, o, line, qty,
                                    reason != NULL ? reason : "CUSTOMER_REQUESTED_SELLER_TO_CANCEL", err);
}

static int ship_fn(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty, const char *reason,
                   const char **err)
{
    return oc_sim_order_ship_line(sim, a, o, line, qty, err);
}

static void cancel(oc_sim_req_t *r)
{
    line_updates(r, "orderCancellation", "Cancelled", cancel_fn);
}

static void shipping(oc_sim_req_t *r)
{
    line_updates(r, "orderShipment", "Shipped", ship_fn);
}

/* --- returns -------------------------------------------------------------------------------------- */

static const char *return_status(int s)
{
    return s == 0 ? "INITIATED" : s == 1 ? "DELIVERED" : "COMPLETED";
}

static json_t *return_json(oc_sim_account_t *a, const oc_sim_return_t *rt)
{
    oc_sim_order_t *o = a->orders.items[rt->order_index];
    const oc_sim_line_t *l = &o->lines[rt->line_index];
    oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
    char created[32], by[32];
    oc_time_format(created, rt->created_ms, OC_TIME_MS);
    oc_time_format(by, rt->created_ms + 30ULL * 86400000ULL, OC_TIME_MS);
    return json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:{s:f, s:s}, s:s, s:[{s:i, s:i, s:s, s:i, s:{s:s, s:s, s:s}, "
        "s:{s:s, s:I}, s:s, s:s, s:s, s:s, s:I, s:I}]}",
        "returnOrderId", rt->id, "customerEmailId", "buyer@example.com", "customerName", "firstName", "Sim", "lastName",
        "Buyer", "customerOrderId", o->name, "returnOrderDate", created, "returnByDate", by, "refundMode", "ONLINE",
        "totalRefundAmount", "currencyAmount", 10.0 * (double)rt->qty, "currencyUnit", "USD", "returnType", "REFUND",
        "returnOrderLines", "returnOrderLineNumber", 1, "salesOrderLineNumber", rt->line_index + 1, "purchaseOrderId",
        o->id, "purchaseOrderLineNumber", rt->line_index + 1, "item", "sku", s->sku, "productName", s->sku, "condition",
        "New", "quantity", "unitOfMeasure", "EACH", "measurementValue", (json_int_t)rt->qty, "returnReason", rt->reason,
        "status", return_status(rt->status), "currentDeliveryStatus", rt->status == 0 ? "INITIATED" : "DELIVERED",
        "currentRefundStatus", rt->status == 2 ? "REFUND_COMPLETED" : "REFUND_PENDING", "refundedQty",
        (json_int_t)(rt->status == 2 ? rt->qty : 0), "cancellableQty", (json_int_t)0);
}

/* The optional fields of a return the specification describes, as Walmart fills them in. */
static void return_extras(json_t *j, oc_sim_account_t *a, const oc_sim_return_t *rt)
{
    char at[32];
    oc_time_format(at, rt->updated_ms, OC_TIME_MS);
    json_object_set_new(j, "returnChannel", json_pack("{s:s}", "channelName", "ONLINE"));
    json_object_set_new(
        j, "returnLineGroups",
        json_pack("[{s:i, s:[{s:i}], s:[]}]", "groupNo", 1, "returnLines", "returnOrderLineNumber", 1, "labels"));
    json_t *line = json_array_get(json_object_get(j, "returnOrderLines"), 0);
    json_object_set_new(line, "returnExpectedFlag", json_true());
    json_object_set_new(line, "isKeepIt", json_false());
    json_object_set_new(line, "lastItem", json_true());
    json_object_set_new(line, "isFastReplacement", json_false());
    json_object_set_new(line, "refundChannel", json_string("WALMART_TRIGGERED_REFUND"));
    json_object_set_new(line, "statusTime", json_string(at));
    json_object_set_new(line, "rechargeableQty", json_real(0));
    json_object_set_new(line, "unitPrice", json_pack("{s:f, s:s}", "currencyAmount", 10.0, "currencyUnit", "USD"));
    json_t *track = json_array();
    const char *tags[] = {"RETURN_INITIATED", "RETURN_DELIVERED", "REFUND_COMPLETED"};
    for (int k = 0; k <= rt->status && k < 3; k++)
        json_array_append_new(
            track, json_pack("{s:i, s:s, s:s}", "sequenceNo", k + 1, "eventTag", tags[k], "eventDescription", tags[k]));
    json_object_set_new(line, "returnTrackingDetail", track);
    (void)a;
}

static void get_returns(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    const char *lim = oc_sim_query(r, "limit"), *st = oc_sim_query(r, "status");
    long long limit = lim != NULL ? strtoll(lim, NULL, 10) : 10;
    uint64_t cs = 0, ce = UINT64_MAX, ms = 0, me = UINT64_MAX;
    if (limit < 1 || limit > 200) {
        content_error(r, "GMP_RETURNS_API", "limit", "limit must be from 1 to 200");
        return;
    }
    if (st != NULL && strcmp(st, "INITIATED") != 0 && strcmp(st, "DELIVERED") != 0 && strcmp(st, "COMPLETED") != 0) {
        content_error(r, "GMP_RETURNS_API", "status", "status must be INITIATED, DELIVERED or COMPLETED");
        return;
    }
    if (date_param(r, "returnCreationStartDate", &cs) < 0 || date_param(r, "returnCreationEndDate", &ce) < 0 ||
        date_param(r, "returnLastModifiedStartDate", &ms) < 0 || date_param(r, "returnLastModifiedEndDate", &me) < 0)
        return;
    /* Pages follow the parameters the returns specification declares: returns come oldest first, no two of an
     * account created in the same millisecond, and nextCursor is the query of the next page (its
     * returnCreationStartDate the first return not shown) */
    json_t *list = json_array();
    long long matched = 0, next = -1;
    for (size_t i = 0; i < a->returns.len; i++) {
        oc_sim_return_t *rt = a->returns.items[i];
        if (rt->created_ms < cs || rt->created_ms > ce || rt->updated_ms < ms || rt->updated_ms > me ||
            (st != NULL && strcmp(st, return_status(rt->status)) != 0))
            continue;
        matched++;
        if ((long long)json_array_size(list) == limit) {
            next = (long long)i;
            break;
        }
        json_t *rj = return_json(a, rt);
        return_extras(rj, a, rt);
        json_array_append_new(list, rj);
    }
    json_t *meta = json_pack("{s:I, s:I}", "totalCount", (json_int_t)matched, "limit", (json_int_t)limit);
    if (next >= 0) {
        char from[32];
        oc_time_format(from, ((oc_sim_return_t *)a->returns.items[next])->created_ms, OC_TIME_MS);
        oc_buf_t q = {0};
        oc_buf_printf(&q, "?limit=%lld&returnCreationStartDate=%s", limit, from);
        const char *keep[] = {"returnCreationEndDate", "returnLastModifiedStartDate", "returnLastModifiedEndDate",
                              "status"};
        for (size_t k = 0; k < OC_ARRAY_SIZE(keep); k++)
            if (oc_sim_query(r, keep[k]) != NULL) {
                oc_buf_printf(&q, "&%s=", keep[k]);
                oc_percent_encode(&q, oc_sim_query(r, keep[k]));
            }
        json_object_set_new(meta, "nextCursor", json_string(oc_buf_cstr(&q)));
        oc_buf_free(&q);
    } else {
        json_object_set_new(meta, "nextCursor", json_string("")); /* a string in the specification */
    }
    oc_sim_reply_json(r, 200, json_pack("{s:o, s:o}", "meta", meta, "returnOrders", list));
}

/* --- the table -------------------------------------------------------------------------------------- */

static const oc_sim_route_t routes[] = {
    {"POST", "/v3/token", token, "token", NULL, OC_SIM_NOAUTH},
    {"GET", "/v3/token/detail", token_detail, "tokenDetail", "none", 0},
    {"PUT", "/v3/inventory", put_inventory, "updateInventoryForAnItem", "inventory", 0},
    {"GET", "/v3/inventory", get_inventory, "getInventory", "inventory", 0},
    {"GET", "/v3/inventories", list_inventories, "getMultiNodeInventoryForAllSkus", "inventories", 0},
    {"GET", "/v3/inventories/{sku}", get_inventories_sku, "getMultiNodeInventoryForSku", "inventories", 0},
    {"PUT", "/v3/inventories/{sku}", put_inventories_sku, "updateMultiNodeInventory", "inventory", 0},
    {"POST", "/v3/feeds", submit_feed, "submitFeed", "feeds", 0},
    {"GET", "/v3/feeds", list_feeds, "getAllFeedStatuses", "feed_status", 0},
    {"GET", "/v3/feeds/{feedId}", get_feed, "getFeedItemStatus", "feed_status", 0},
    {"GET", "/v3/orders", get_orders, "getAllOrders", "orders", 0},
    {"GET", "/v3/orders/released", get_released, "getAllReleasedOrders", "orders_released", 0},
    {"GET", "/v3/orders/{po}", get_order, "getAnOrder", "orders", 0},
    {"POST", "/v3/orders/{po}/acknowledge", acknowledge, "acknowledgeOrders", "acknowledge", 0},
    {"POST", "/v3/orders/{po}/cancel", cancel, "cancelOrderLines", "cancel", 0},
    {"POST", "/v3/orders/{po}/shipping", shipping, "shippingUpdates", "shipping", 0},
    {"GET", "/v3/returns", get_returns, "getReturns", "returns", 0},
};

const oc_sim_channel_ops_t oc_sim_walmart_ops = OC_SIM_CHANNEL_OPS("walmart", limit_headers);
