/*
 * walmart.c — the Walmart Marketplace adapter (US API v3).
 *
 * Auth: client-credentials token from POST /v3/token (Basic client:secret,
 * 900 s), then WM_SEC.ACCESS_TOKEN, a new WM_QOS.CORRELATION_ID per request
 * and WM_SVC.NAME on every call.  push: PUT /v3/inventory?sku= per item (the
 * answer echoes what was stored), or one inventory feed (spec 1.4,
 * multipart) above `feed_threshold` items (default 50; feeds are limited to
 * 10 an hour), reported "pending" with the feed id.  read: GET
 * /v3/inventory?sku=.  fetch_orders: GET /v3/orders?lastModifiedStartDate=
 * with nextCursor pages; per-line statuses, quantities as strings.
 * acknowledge: POST /v3/orders/{po}/acknowledge.  fetch_returns: GET
 * /v3/returns?returnCreationStartDate= with nextCursor.  Rate limits: a
 * bucket per API group, corrected by x-current-token-count and
 * x-next-replenish-time; 429 honours Retry-After.
 */
#include "adapters/cursor.h"
#include "adapters/internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#define SVC_NAME        "Walmart Marketplace"
#define DEFAULT_BASE    "https://marketplace.walmartapis.com"
#define DAY_MS          86400000ULL
#define DEADLINE_MS     120000
#define FEED_THRESHOLD  50
#define MAX_BATCH       5000
#define ORDERS_PAGE     100
#define RETURNS_PAGE    200
#define MAX_QUERY_CHARS 2048

static const oc_rl_def_t limits[] = {
    {"inventory", 200, 200.0 / 60}, {"feeds", 10, 10.0 / 3600}, {"feed_status", 5000, 5000.0 / 60},
    {"orders", 5000, 5000.0 / 60},  {"acknowledge", 60, 1},     {"returns", 60, 1},
    {"orders_released", 60, 1},
};

/* --- the channel's auth, limits and errors ------------------------------------------------ */

static const char *default_base_url(const json_t *settings, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", DEFAULT_BASE);
    return buf;
}

/* Adds "Authorization: Basic base64(client_id:client_secret)" to `call` (the copies made are wiped); 0, -1
 * without the secrets, or oc_call_header's failure. */
static int basic_auth(oc_call_t *call)
{
    const char *id = oc_secret_str(call->conn, "client_id"), *secret = oc_secret_str(call->conn, "client_secret");
    if (id == NULL || secret == NULL)
        return -1;
    size_t il = strlen(id), sl = strlen(secret), rl = il + 1 + sl;
    size_t bl = sodium_base64_ENCODED_LEN(rl, sodium_base64_VARIANT_ORIGINAL);
    char *raw = oc_malloc(rl + 1), *b64 = oc_malloc(bl), *hdr = oc_malloc(bl + 6);
    memcpy(raw, id, il);
    raw[il] = ':';
    memcpy(raw + il + 1, secret, sl);
    sodium_bin2base64(b64, bl, (const unsigned char *)raw, rl, sodium_base64_VARIANT_ORIGINAL);
    snprintf(hdr, bl + 6, "Basic %s", b64);
    int rc = oc_call_header(call, "Authorization", hdr);
    sodium_memzero(raw, rl);
    sodium_memzero(b64, bl);
    sodium_memzero(hdr, bl + 6);
    free(raw);
    free(b64);
    free(hdr);
    return rc;
}

static int token_request(oc_call_t *call, char *why, size_t cap)
{
    char base[512], corr[37];
    if (oc_secret_str(call->conn, "client_id") == NULL || oc_secret_str(call->conn, "client_secret") == NULL) {
        snprintf(why, cap, "client_id and client_secret are required");
        return -1;
    }
    if (oc_conn_base(call->conn, &oc_adapter_walmart, base, sizeof(base)) != 0) {
        snprintf(why, cap, "no API base URL");
        return -1;
    }
    oc_uuid_v4(corr);
    static const char body[] = "grant_type=client_credentials";
    if (oc_call_url(call, "%s/v3/token", base) != 0 || basic_auth(call) != 0 ||
        oc_call_header(call, "Accept", "application/json") != 0 ||
        oc_call_header(call, "WM_QOS.CORRELATION_ID", corr) != 0 ||
        oc_call_header(call, "WM_SVC.NAME", SVC_NAME) != 0 ||
        oc_call_body(call, body, sizeof(body) - 1, "application/x-www-form-urlencoded") != 0) {
        snprintf(why, cap, "could not build the token request");
        return -1;
    }
    return 0;
}

/* Every call: the access token, and (the specification requires it on every operation) the Basic
 * authorization of the client, a new correlation id, the service name. */
static int headers(oc_call_t *call, const char *token)
{
    if (token == NULL)
        return 0;
    char corr[37];
    oc_uuid_v4(corr); /* a new one per request, retries included */
    if (oc_call_header(call, "WM_SEC.ACCESS_TOKEN", token) != 0 || basic_auth(call) != 0 ||
        oc_call_header(call, "WM_QOS.CORRELATION_ID", corr) || oc_call_header(call, "WM_SVC.NAME", SVC_NAME) != 0 ||
        oc_call_header(call, "Accept", "application/json") != 0)
        return OC_ENOMEM;
    return 0;
}

static oc_cls_t classify(oc_call_t *call, const oc_chttp_res_t *res, uint64_t *retry_after_ms)
{
    oc_cls_t cls = oc_call_classify_default(res, retry_after_ms);
    oc_rl_bucket_t *b = call->bucket;
    if (b == NULL || res->err != NULL)
        return cls;
    uint64_t now = oc_mono_us();
    double count, when;
    int have_count = oc_rl_parse_number(oc_chttp_header(res, "x-current-token-count"), &count) == 0;
    const char *rt = oc_chttp_header(res, "x-next-replenish-time");
    if (rt == NULL)
        rt = oc_chttp_header(res, "x-next-replenishment-time");
    if (have_count) {
        oc_rl_observe_remaining(b, count, now);
        uint64_t wall = oc_now_ms();
        if (count < 1 && oc_rl_parse_number(rt, &when) == 0 && when > (double)wall)
            oc_rl_block_until(b, now + (uint64_t)((when - (double)wall) * 1000));
    }
    if (cls == OC_CLS_THROTTLED)
        oc_rl_throttled(b, *retry_after_ms * 1000, now);
    return cls;
}

static void error_text(const oc_call_t *call, const oc_chttp_res_t *res, char *buf, size_t cap)
{
    json_t *e = json_array_get(json_object_get(call->json, "errors"), 0);
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *desc = json_string_value(json_object_get(e, "description"));
    const char *info = json_string_value(json_object_get(e, "info"));
    const char *msg = json_string_value(json_object_get(call->json, "error_description"));
    if (code != NULL || desc != NULL)
        snprintf(buf, cap, "%s%s%s%s%s", code != NULL ? code : "", code != NULL && desc != NULL ? " " : "",
                 desc != NULL ? desc : "", info != NULL && desc != NULL && strcmp(info, desc) != 0 ? ": " : "",
                 info != NULL && desc != NULL && strcmp(info, desc) != 0 ? info : "");
    else if (msg != NULL)
        snprintf(buf, cap, "%s", msg);
}

static const oc_chan_t chan = {
    .name = "walmart",
    .limits = limits,
    .nlimits = OC_ARRAY_SIZE(limits),
    .token_request = token_request,
    .token_ttl_s = 900,
    .headers = headers,
    .classify = classify,
    .error_text = error_text,
};

/* --- normalizers ------------------------------------------------------------------------------- */

json_t *oc_walmart_order(const json_t *o, uint64_t *updated_ms, char *why, size_t cap)
{
    const char *po = json_string_value(json_object_get(o, "purchaseOrderId"));
    long long created, status_date, qty, amount;
    json_t *lines_in = json_object_get(json_object_get(o, "orderLines"), "orderLine");
    if (po == NULL || *po == '\0') {
        snprintf(why, cap, "order without purchaseOrderId");
        return NULL;
    }
    if (oc_json_as_int(json_object_get(o, "orderDate"), &created) != 0 || created < 0) {
        snprintf(why, cap, "order %s: orderDate is not epoch milliseconds", po);
        return NULL;
    }
    if (!json_is_array(lines_in)) {
        snprintf(why, cap, "order %s: orderLines.orderLine is not a list", po);
        return NULL;
    }
    uint64_t updated = (uint64_t)created;
    long long total = 0, shipped = 0, cancelled = 0;
    int needs_ack = 0;
    json_t *lines = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(lines_in, i, l)
    {
        json_t *num = json_object_get(l, "lineNumber");
        const char *sku = json_string_value(json_object_get(json_object_get(l, "item"), "sku"));
        json_t *statuses = json_object_get(json_object_get(l, "orderLineStatuses"), "orderLineStatus");
        long long n;
        if (oc_json_as_int(num, &n) != 0 || sku == NULL ||
            oc_json_as_int(json_object_get(json_object_get(l, "orderLineQuantity"), "amount"), &qty) != 0 || qty < 0 ||
            !json_is_array(statuses)) {
            snprintf(why, cap, "order %s: line %zu lacks lineNumber, item.sku, orderLineQuantity.amount or statuses",
                     po, i);
            json_decref(lines);
            return NULL;
        }
        if (oc_json_as_int(json_object_get(l, "statusDate"), &status_date) == 0 && status_date > 0 &&
            (uint64_t)status_date > updated)
            updated = (uint64_t)status_date;
        long long l_shipped = 0, l_cancelled = 0;
        size_t k;
        json_t *s;
        json_array_foreach(statuses, k, s)
        {
            const char *st = json_string_value(json_object_get(s, "status"));
            if (st == NULL ||
                oc_json_as_int(json_object_get(json_object_get(s, "statusQuantity"), "amount"), &amount) != 0) {
                snprintf(why, cap, "order %s: line %lld has a status without status or quantity", po, n);
                json_decref(lines);
                return NULL;
            }
            /* Refund: shipped units whose money went back without a return; they stay sold (a return, if
             * one comes, arrives through the returns) */
            if (strcmp(st, "Shipped") == 0 || strcmp(st, "Delivered") == 0 || strcmp(st, "Refund") == 0)
                l_shipped += amount;
            else if (strcmp(st, "Cancelled") == 0)
                l_cancelled += amount;
            else if (strcmp(st, "Created") == 0 && amount > 0)
                needs_ack = 1;
        }
        total += qty;
        shipped += l_shipped;
        cancelled += l_cancelled;
        json_array_append_new(lines, json_pack("{s:o, s:s, s:I, s:I, s:I}", "id", json_sprintf("%s:%lld", po, n), "sku",
                                               sku, "qty", (json_int_t)qty, "qty_shipped", (json_int_t)l_shipped,
                                               "qty_cancelled", (json_int_t)l_cancelled));
    }
    const char *status = total > 0 && cancelled >= total               ? "cancelled"
                         : shipped > 0 && shipped + cancelled >= total ? "shipped"
                         : shipped > 0                                 ? "partial"
                                                                       : "open";
    *updated_ms = updated;
    return json_pack("{s:s, s:s, s:o, s:o, s:b, s:o}", "id", po, "status", status, "created_at",
                     oc_json_time((uint64_t)created), "updated_at", oc_json_time(updated), "needs_ack", needs_ack,
                     "lines", lines);
}

json_t *oc_walmart_return(const json_t *r, uint64_t *created_ms, char *why, size_t cap)
{
    const char *id = json_string_value(json_object_get(r, "returnOrderId"));
    const char *date = json_string_value(json_object_get(r, "returnOrderDate"));
    json_t *lines_in = json_object_get(r, "returnOrderLines");
    uint64_t created;
    if (id == NULL || *id == '\0') {
        snprintf(why, cap, "return without returnOrderId");
        return NULL;
    }
    if (date == NULL || oc_time_parse(date, &created) != 0) {
        snprintf(why, cap, "return %s: returnOrderDate is not a date", id);
        return NULL;
    }
    if (!json_is_array(lines_in)) {
        snprintf(why, cap, "return %s: returnOrderLines is not a list", id);
        return NULL;
    }
    json_t *lines = json_array();
    const char *order_id = NULL;
    size_t i;
    json_t *l;
    json_array_foreach(lines_in, i, l)
    {
        long long num, qty, po_line;
        const char *po = json_string_value(json_object_get(l, "purchaseOrderId"));
        const char *sku = json_string_value(json_object_get(json_object_get(l, "item"), "sku"));
        if (oc_json_as_int(json_object_get(l, "returnOrderLineNumber"), &num) != 0 || sku == NULL || po == NULL ||
            oc_json_as_int(json_object_get(json_object_get(l, "quantity"), "measurementValue"), &qty) != 0 || qty < 0) {
            snprintf(why, cap, "return %s: line %zu lacks returnOrderLineNumber, purchaseOrderId, item.sku or quantity",
                     id, i);
            json_decref(lines);
            return NULL;
        }
        if (order_id == NULL)
            order_id = po;
        json_t *line = json_pack("{s:o, s:s, s:I, s:s, s:b}", "id", json_sprintf("%s:%lld", id, num), "sku", sku, "qty",
                                 (json_int_t)qty, "disposition", "inspect", "restocked_by_channel", 0);
        if (oc_json_as_int(json_object_get(l, "purchaseOrderLineNumber"), &po_line) == 0)
            json_object_set_new(line, "order_line_id", json_sprintf("%s:%lld", po, po_line));
        json_array_append_new(lines, line);
    }
    *created_ms = created;
    return json_pack("{s:s, s:s?, s:o, s:o}", "id", id, "order_id", order_id, "created_at", oc_json_time(created),
                     "lines", lines);
}

/* --- per-item operations (push, read, acknowledge) ------------------------------------------------ */

typedef struct wop {
    oc_op_t base;
    json_t *items; /* borrowed for push/read (copied), order ids for acknowledge */
    char api[512];
    json_t *acked, *failed, *errors;
} wop_t;

static void wop_free(oc_op_t *op)
{
    wop_t *w = (wop_t *)op;
    json_decref(w->items);
    json_decref(w->acked);
    json_decref(w->failed);
    json_decref(w->errors);
}

static wop_t *wop_new(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg, int *rc)
{
    wop_t *w = (wop_t *)oc_op_new(sizeof(wop_t), http, c, &chan, DEADLINE_MS, cb, arg, rc);
    if (w == NULL)
        return NULL;
    w->base.on_free = wop_free;
    w->items = json_incref(items);
    if (oc_conn_base(c, &oc_adapter_walmart, w->api, sizeof(w->api)) != 0) {
        oc_op_discard(&w->base);
        *rc = OC_EINVAL;
        return NULL;
    }
    return w;
}

/* Adds "?sku=…[&shipNode=…]" for item `it` to a URL. */
static int inventory_url(oc_call_t *call, wop_t *w, const char *sku)
{
    oc_buf_t q = {0};
    const char *node = oc_setting_str(w->base.conn, "ship_node");
    int rc = oc_percent_encode(&q, sku);
    if (rc == 0 && node != NULL) {
        rc = oc_buf_append(&q, "&shipNode=", 10);
        if (rc == 0)
            rc = oc_percent_encode(&q, node);
    }
    if (rc == 0)
        rc = oc_call_url(call, "%s/v3/inventory?sku=%s", w->api, q.data);
    oc_buf_free(&q);
    return rc;
}

static void on_put(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    wop_t *w = call->data;
    json_t *r = json_array_get(w->base.result, (size_t)call->idx);
    long long amount;
    if (e != NULL) {
        oc_item_error(r, e->err, e->retryable);
    } else if (res->status == 200 &&
               oc_json_as_int(json_object_get(json_object_get(call->json, "quantity"), "amount"), &amount) == 0) {
        json_object_set_new(r, "status", json_string("ok"));
        json_object_set_new(r, "qty", json_integer(amount));
    } else {
        oc_call_item_unusable(call, res, r, res->status == 404 ? "item not found on the channel" : NULL,
                              "no quantity.amount");
    }
    oc_op_item_done(&w->base);
}

static void on_feed(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    wop_t *w = call->data;
    const char *feed = res != NULL && e == NULL && res->status / 100 == 2
                           ? json_string_value(json_object_get(call->json, "feedId"))
                           : NULL;
    oc_adapter_error_t ce;
    char msg[300] = "";
    if (e != NULL) {
        snprintf(msg, sizeof(msg), "inventory feed: %s", e->err);
    } else if (res->status / 100 != 2) {
        oc_call_error(call, res, &ce, "inventory feed");
        snprintf(msg, sizeof(msg), "%s", ce.err);
    } else if (feed == NULL)
        snprintf(msg, sizeof(msg), "malformed response from channel: %s",
                 call->json == NULL ? call->json_error : "no feedId");
    oc_op_feed_done(&w->base, w->items, feed, msg, e != NULL && e->retryable);
}

/* A multipart/form-data body with one "file" part holding the feed JSON. */
static int feed_body(oc_call_t *call, json_t *feed)
{
    char *doc = json_dumps(feed, JSON_COMPACT);
    char boundary[40], ctype[80];
    oc_random_hex(boundary + 10, 12);
    memcpy(boundary, "onecount--", 10);
    snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
    oc_buf_t b = {0};
    int rc = doc == NULL ? OC_ENOMEM
                         : oc_buf_printf(&b,
                                         "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                                         "filename=\"inventory.json\"\r\nContent-Type: application/json\r\n\r\n",
                                         boundary);
    if (rc == 0)
        rc = oc_buf_append(&b, doc, strlen(doc));
    if (rc == 0)
        rc = oc_buf_printf(&b, "\r\n--%s--\r\n", boundary);
    if (rc == 0)
        rc = oc_call_body(call, b.data, b.len, ctype);
    oc_buf_free(&b);
    free(doc);
    return rc;
}

json_t *oc_walmart_push_body(const json_t *item, char *why, size_t cap)
{
    /* Walmart's inventory API has no compare-and-set (and shows negative counts): the PUT sets the quantity
     * outright. */
    const char *sku;
    long long qty;
    if (oc_item_check_set(item, &sku, &qty, why, cap) != 0)
        return NULL;
    return json_pack("{s:s, s:{s:s, s:I}}", "sku", sku, "quantity", "unit", "EACH", "amount", (json_int_t)qty);
}

static json_t *push_body(oc_op_t *op, const json_t *item, char *why, size_t cap)
{
    (void)op;
    return oc_walmart_push_body(item, why, cap);
}

/* A call on /v3/inventory for `sku`; NULL when it cannot be built (a call already made goes with the operation). */
static oc_call_t *inventory_call(oc_op_t *op, const char *method, oc_call_cb cb, const char *sku)
{
    oc_call_t *call = oc_call_new(op, method, "inventory", 1, cb);
    return inventory_url(call, (wop_t *)op, sku) == 0 ? call : NULL;
}

static oc_call_t *put_call(oc_op_t *op, const json_t *item)
{
    return inventory_call(op, "PUT", on_put, json_string_value(json_object_get(item, "sku")));
}

static int walmart_push(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg)
{
    int rc;
    wop_t *w = wop_new(http, c, items, cb, arg, &rc);
    if (w == NULL)
        return rc;
    json_t *feed_items = json_array(); /* a feed's Inventory entry is the PUT body */
    size_t valid;
    rc = oc_op_push_rows(&w->base, items, push_body, feed_items, &valid);
    if (rc != 0) {
        json_decref(feed_items);
        oc_op_discard(&w->base);
        return rc;
    }
    long long threshold = oc_setting_int(c, "feed_threshold", FEED_THRESHOLD, 1, MAX_BATCH);
    if (valid == 0) {
        json_decref(feed_items);
        oc_op_finish_later(&w->base);
        return 0;
    }
    if ((long long)valid > threshold) {
        json_t *feed = json_pack("{s:{s:s}, s:o}", "InventoryHeader", "version", "1.4", "Inventory", feed_items);
        oc_call_t *call = oc_call_new(&w->base, "POST", "feeds", 1, on_feed);
        oc_buf_t q = {0};
        const char *node = oc_setting_str(c, "ship_node");
        if (node != NULL)
            rc = oc_buf_append(&q, "&shipNode=", 10) != 0 || oc_percent_encode(&q, node) != 0 ? OC_ENOMEM : 0;
        if (rc == 0)
            rc = oc_call_url(call, "%s/v3/feeds?feedType=inventory%s", w->api, q.data != NULL ? q.data : "");
        if (rc == 0)
            rc = feed_body(call, feed);
        oc_buf_free(&q);
        json_decref(feed);
        return oc_op_launch(&w->base, call, rc);
    }
    json_decref(feed_items);
    return oc_op_push_items(&w->base, items, push_body, put_call);
}

static void on_get(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    wop_t *w = call->data;
    json_t *r = json_array_get(w->base.result, (size_t)call->idx);
    long long amount;
    if (e != NULL) {
        oc_item_error(r, e->err, e->retryable);
    } else if (res->status == 404) {
        json_object_set_new(r, "qty", json_null());
    } else if (res->status == 200 &&
               oc_json_as_int(json_object_get(json_object_get(call->json, "quantity"), "amount"), &amount) == 0) {
        json_object_set_new(r, "qty", json_integer(amount));
    } else {
        json_object_set_new(r, "qty", json_null());
        oc_call_item_unusable(call, res, r, NULL, "no quantity.amount");
    }
    oc_op_item_done(&w->base);
}

static oc_call_t *inventory_get(oc_op_t *op, const char *sku)
{
    return inventory_call(op, "GET", on_get, sku);
}

static int walmart_read(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg)
{
    int rc;
    wop_t *w = wop_new(http, c, items, cb, arg, &rc);
    if (w == NULL)
        return rc;
    return oc_op_read_items(&w->base, items, inventory_get);
}

static void on_ack(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    wop_t *w = call->data;
    const char *id = json_string_value(json_array_get(w->items, (size_t)call->idx));
    if (e == NULL && res->status / 100 == 2) {
        json_array_append_new(w->acked, json_string(id));
    } else {
        oc_adapter_error_t ce;
        if (e == NULL)
            oc_call_error(call, res, &ce, NULL);
        json_array_append_new(w->failed, json_string(id));
        json_object_set_new(
            w->errors, id,
            json_pack("{s:s, s:b}", "error", e != NULL ? e->err : ce.err, "retryable", e != NULL && e->retryable));
    }
    if (--w->base.outstanding == 0) {
        w->base.result =
            json_pack("{s:O, s:O, s:O}", "acknowledged", w->acked, "failed", w->failed, "errors", w->errors);
        oc_op_finish(&w->base, NULL);
    }
}

static int walmart_acknowledge(oc_chttp_t *http, oc_channel_conn_t *c, json_t *order_ids, oc_adapter_cb cb, void *arg)
{
    size_t i;
    json_t *id;
    if (!json_is_array(order_ids))
        return OC_EINVAL;
    for (i = 0; i < json_array_size(order_ids); i++) {
        const char *s = json_string_value(json_array_get(order_ids, i));
        if (s == NULL || *s == '\0')
            return OC_EINVAL;
    }
    int rc;
    wop_t *w = wop_new(http, c, order_ids, cb, arg, &rc);
    if (w == NULL)
        return rc;
    w->acked = json_array();
    w->failed = json_array();
    w->errors = json_object();
    json_array_foreach(order_ids, i, id)
    {
        oc_buf_t po = {0};
        oc_call_t *call = oc_call_new(&w->base, "POST", "acknowledge", 1, on_ack);
        rc = oc_percent_encode(&po, json_string_value(id)) != 0 ? OC_ENOMEM : 0;
        if (rc == 0)
            rc = oc_call_url(call, "%s/v3/orders/%s/acknowledge", w->api, po.data);
        if (rc == 0)
            rc = oc_call_body(call, "", 0, "application/json");
        oc_buf_free(&po);
        if (rc != 0) {
            oc_op_discard(&w->base);
            return rc;
        }
        call->data = w;
        call->idx = (long)i;
        w->base.outstanding++;
    }
    if (w->base.outstanding == 0) {
        w->base.result = json_pack("{s:[], s:[], s:{}}", "acknowledged", "failed", "errors");
        oc_op_finish_later(&w->base);
        return 0;
    }
    oc_op_start_calls(&w->base);
    return 0;
}

/* --- orders and returns: one page per call, cursor-driven ---------------------------------------- */

typedef struct wpage {
    oc_op_t base;
    int returns;
    oc_cursor_t cur;
    char api[512];
    uint64_t from_ms;
    char start[32]; /* returns: the returnCreationStartDate this page asked from */
} wpage_t;

static void wpage_free(oc_op_t *op)
{
    oc_cursor_free(&((wpage_t *)op)->cur);
}

static void on_page(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    wpage_t *p = call->data;
    oc_op_t *op = &p->base;
    if (e != NULL) {
        oc_op_fail_with(op, e);
        return;
    }
    json_t *list = NULL, *meta = NULL;
    int empty = res->status == 404; /* Walmart answers 404 to an empty order list */
    if (!empty && res->status != 200) {
        oc_adapter_error_t ce;
        oc_call_error(call, res, &ce, p->returns ? "returns" : "orders");
        oc_op_fail_with(op, &ce);
        return;
    }
    if (!empty) {
        if (p->returns) {
            meta = json_object_get(call->json, "meta");
            list = json_object_get(call->json, "returnOrders");
        } else {
            meta = json_object_get(json_object_get(call->json, "list"), "meta");
            list = json_object_get(json_object_get(json_object_get(call->json, "list"), "elements"), "order");
        }
        if (call->json == NULL || !json_is_object(meta) || (list != NULL && !json_is_array(list))) {
            oc_op_fail(op, 0, res->status, 0, "malformed response from channel: %s",
                       call->json == NULL ? call->json_error : "no meta or record list");
            return;
        }
    }
    json_t *out = json_array();
    size_t i;
    json_t *rec;
    char why[200];
    uint64_t last_ms = 0;
    json_array_foreach(list, i, rec)
    {
        uint64_t t;
        json_t *n =
            p->returns ? oc_walmart_return(rec, &t, why, sizeof(why)) : oc_walmart_order(rec, &t, why, sizeof(why));
        if (n == NULL) {
            json_decref(out);
            oc_op_fail(op, 0, res->status, 0, "malformed response from channel: %s", why);
            return;
        }
        if (t > last_ms)
            last_ms = t;
        if (p->returns ? oc_cursor_admit(&p->cur, json_string_value(json_object_get(n, "id")), t)
                       : oc_cursor_admit_record(&p->cur, json_string_value(json_object_get(n, "id")), t, n))
            json_array_append_new(out, n);
        else
            json_decref(n);
    }
    const char *next = json_string_value(json_object_get(meta, "nextCursor"));
    if (next != NULL && *next == '\0')
        next = NULL;
    char from[32];
    if (p->returns && next != NULL) {
        /* The returns specification declares no cursor parameter: the next page is asked by the date filter
         * it declares, from the newest return of this one (inclusive; the cursor drops what came back twice). */
        oc_time_format(from, last_ms, OC_TIME_MS);
        if (list == NULL || json_array_size(list) == 0 || strcmp(from, p->start) == 0) {
            json_decref(out);
            oc_op_fail(op, 0, res->status, 0,
                       "the channel has more returns than one page dated %s: they cannot be paged by date", p->start);
            return;
        }
        next = from;
    } else if (next != NULL && (*next != '?' || strlen(next) > MAX_QUERY_CHARS || strpbrk(next, " \r\n#") != NULL)) {
        json_decref(out);
        oc_op_fail(op, 0, res->status, 0, "malformed response from channel: nextCursor is not a query string");
        return;
    }
    oc_op_finish_page(op, &p->cur, out, p->returns ? "returns" : "orders", next);
}

static int fetch_page(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, int returns, oc_adapter_cb cb,
                      void *arg)
{
    int rc;
    wpage_t *p = (wpage_t *)oc_op_new(sizeof(wpage_t), http, c, &chan, DEADLINE_MS, cb, arg, &rc);
    if (p == NULL)
        return rc;
    p->base.on_free = wpage_free;
    p->returns = returns;
    if (oc_conn_base(c, &oc_adapter_walmart, p->api, sizeof(p->api)) != 0) {
        oc_op_discard(&p->base);
        return OC_EINVAL;
    }
    if (oc_cursor_decode(&p->cur, cursor, oc_now_ms() - DAY_MS) != 0) {
        oc_op_fail_later(&p->base, 0, "invalid cursor");
        return 0;
    }
    uint64_t from = oc_cursor_begin(&p->cur, oc_cursor_overlap(c));
    char iso[24];
    oc_time_format(iso, from, OC_TIME_S);
    const char *resource = returns ? "returns" : "orders";
    const char *date_param = returns ? "returnCreationStartDate" : "lastModifiedStartDate";
    long long limit = oc_setting_int(c, "page_size", returns ? RETURNS_PAGE : ORDERS_PAGE, 1, 200);
    oc_call_t *call = oc_call_new(&p->base, "GET", resource, 1, on_page);
    if (returns) {
        /* returns page by their declared date filter: the page token is the date to ask from */
        oc_buf_t d = {0};
        snprintf(p->start, sizeof(p->start), "%s", p->cur.page != NULL ? p->cur.page : iso);
        rc = oc_percent_encode(&d, p->start);
        if (rc == 0)
            rc = oc_call_url(call, "%s/v3/returns?%s=%s&limit=%lld", p->api, date_param, d.data, limit);
        oc_buf_free(&d);
    } else if (p->cur.page != NULL && strstr(p->cur.page, date_param) != NULL) {
        rc = oc_call_url(call, "%s/v3/%s%s", p->api, resource, p->cur.page);
    } else if (p->cur.page != NULL) {
        /* nextCursor is a ready-made query string (the cursor parameters getAllOrders declares); keep our
         * date filter on it */
        rc = oc_call_url(call, "%s/v3/%s%s&%s=%s", p->api, resource, p->cur.page, date_param, iso);
    } else {
        rc = oc_call_url(call, "%s/v3/%s?%s=%s&limit=%lld", p->api, resource, date_param, iso, limit);
    }
    return oc_op_launch(&p->base, call, rc);
}

static int walmart_fetch_orders(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb, void *arg)
{
    return fetch_page(http, c, cursor, 0, cb, arg);
}

static int walmart_fetch_returns(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb,
                                 void *arg)
{
    return fetch_page(http, c, cursor, 1, cb, arg);
}

/* --- test, validate ---------------------------------------------------------------------------------- */

static void on_detail(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    oc_op_t *op = call->data;
    if (e != NULL) {
        oc_op_fail_with(op, e);
        return;
    }
    json_t *scopes = json_object_get(call->json, "scopes");
    if (res->status != 200 || !json_is_object(scopes)) {
        oc_op_unusable(op, call, res, 200, "token detail", "no scopes");
        return;
    }
    /* Walmart's token detail names no seller or partner: the account is the API client (the owner derives it,
     * tenants/channels.c); a partner id, should the answer carry one, is passed on */
    const char *node = oc_setting_str(op->conn, "ship_node");
    json_t *identity = json_object();
    const char *partner = json_string_value(json_object_get(call->json, "partner_id"));
    if (partner != NULL && *partner != '\0')
        json_object_set_new(identity, "partner_id", json_string(partner));
    op->result = json_pack("{s:b, s:s, s:o, s:{s:O, s:O?}}", "ok", 1, "account", node != NULL ? node : "walmart seller",
                           "identity", identity, "details", "scopes", scopes, "is_valid",
                           json_object_get(call->json, "is_valid"));
    oc_op_finish(op, NULL);
}

static int walmart_test(oc_chttp_t *http, oc_channel_conn_t *c, oc_adapter_cb cb, void *arg)
{
    int rc;
    char api[512];
    if (oc_conn_base(c, &oc_adapter_walmart, api, sizeof(api)) != 0)
        return OC_EINVAL;
    oc_op_t *op = oc_op_new(sizeof(oc_op_t), http, c, &chan, 30000, cb, arg, &rc);
    if (op == NULL)
        return rc;
    oc_call_t *call = oc_call_new(op, "GET", NULL, 1, on_detail);
    if (oc_call_url(call, "%s/v3/token/detail", api) != 0) {
        oc_op_discard(op);
        return OC_ENOMEM;
    }
    call->data = op;
    oc_call_start(call);
    return 0;
}

static int walmart_validate(const json_t *settings, const json_t *secrets, char *why, size_t cap)
{
    const char *keys[] = {"client_id", "client_secret"};
    for (size_t i = 0; i < OC_ARRAY_SIZE(keys); i++) {
        const char *v = json_string_value(json_object_get(secrets, keys[i]));
        if (v == NULL || *v == '\0') {
            snprintf(why, cap, "%s: required", keys[i]);
            return -1;
        }
    }
    json_t *node = json_object_get(settings, "ship_node");
    if (node != NULL && !json_is_string(node)) {
        snprintf(why, cap, "ship_node: must be a string");
        return -1;
    }
    return 0;
}

const oc_adapter_t oc_adapter_walmart = {
    .name = "walmart",
    .kind = OC_CHANNEL_WALMART,
    .default_base_url = default_base_url,
    .validate = walmart_validate,
    .push = walmart_push,
    .read = walmart_read,
    .fetch_orders = walmart_fetch_orders,
    .fetch_returns = walmart_fetch_returns,
    .acknowledge = walmart_acknowledge,
    .test = walmart_test,
    .verify_webhook = NULL,
    .max_batch = MAX_BATCH,
    .state_free = oc_cstate_free,
};
