/*
 * amazon.c — the Amazon Selling Partner API adapter.
 *
 * Auth: LWA refresh-token grant on settings.token_url (default Amazon's),
 * then x-amz-access-token.  push: Listings Items PATCH per SKU (a JSON-patch
 * "merge" of /attributes/fulfillment_availability, DEFAULT channel); status
 * ACCEPTED means understood, not applied, so rows are "ok" with "pending".
 * Above `feed_threshold` SKUs (default 10): one JSON_LISTINGS_FEED (create a
 * feed document, PUT it to the presigned URL without our token, create the
 * feed), rows "pending" with the feed id.  read: getListingsItem with
 * includedData=fulfillmentAvailability (what Amazon computed, not what was
 * submitted) and summaries, whose lastUpdatedDate (the latest of the
 * marketplaces asked) is the row's "updated_at": when Amazon applied the
 * last change, so a pending push's lag is measured to its apply, not to
 * the read-back that saw it (migration 0023).  fetch_orders: Orders v0 getOrders by LastUpdatedAfter with
 * NextToken, then getOrderItems for each order the cursor has not seen.
 * fetch_returns: the returns report (create, poll, document, tab-separated).
 * Rate limits: one bucket per operation from the documented table, the rate
 * taken from x-amzn-RateLimit-Limit; a 429 (QuotaExceeded) backs it off.
 */
#include "adapters/cursor.h"
#include "adapters/gunzip.h"
#include "adapters/internal.h"

#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_TOKEN_URL "https://api.amazon.com/auth/o2/token"
#define DAY_MS            86400000ULL
#define DEADLINE_MS       120000
#define REPORT_MAX_BYTES  (256u << 20) /* a decompressed returns report */
#define FEED_THRESHOLD    10
#define MAX_BATCH         10000
#define ORDERS_PAGE       20
#define RETURNS_REPORT    "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
#define REPORT_MAX_DAYS   60

static const oc_rl_def_t limits[] = {
    {"patchListingsItem", 5, 5},       {"getListingsItem", 10, 5},
    {"searchListingsItems", 5, 5},     {"createFeedDocument", 15, 0.5},
    {"createFeed", 15, 0.0083},        {"getFeed", 15, 2},
    {"getOrders", 20, 0.0167},         {"getOrderItems", 30, 0.5},
    {"createReport", 15, 0.0167},      {"getReport", 15, 2},
    {"getReportDocument", 15, 0.0167},
};

/* --- the channel's auth, limits and errors -------------------------------------------------- */

static const char *default_base_url(const json_t *settings, char *buf, size_t cap)
{
    const char *region = json_string_value(json_object_get(settings, "region"));
    if (region == NULL)
        region = "na";
    if (strcmp(region, "na") != 0 && strcmp(region, "eu") != 0 && strcmp(region, "fe") != 0)
        return NULL;
    snprintf(buf, cap, "https://sellingpartnerapi-%s.amazon.com", region);
    return buf;
}

static int form_add(oc_buf_t *b, const char *name, const char *value)
{
    if ((b->len > 0 && oc_buf_append(b, "&", 1) != 0) || oc_buf_printf(b, "%s=", name) != 0)
        return OC_ENOMEM;
    return oc_percent_encode(b, value);
}

static int token_request(oc_call_t *call, char *why, size_t cap)
{
    const char *id = oc_secret_str(call->conn, "client_id"), *secret = oc_secret_str(call->conn, "client_secret");
    const char *refresh = oc_secret_str(call->conn, "refresh_token");
    const char *url = oc_setting_str(call->conn, "token_url");
    if (id == NULL || secret == NULL || refresh == NULL) {
        snprintf(why, cap, "client_id, client_secret and refresh_token are required");
        return -1;
    }
    oc_buf_t b = {0};
    int rc = form_add(&b, "grant_type", "refresh_token");
    if (rc == 0)
        rc = form_add(&b, "refresh_token", refresh);
    if (rc == 0)
        rc = form_add(&b, "client_id", id);
    if (rc == 0)
        rc = form_add(&b, "client_secret", secret);
    if (rc == 0)
        rc = oc_call_url(call, "%s", url != NULL ? url : DEFAULT_TOKEN_URL);
    if (rc == 0)
        rc = oc_call_header(call, "Accept", "application/json");
    if (rc == 0)
        rc = oc_call_body(call, b.data, b.len, "application/x-www-form-urlencoded;charset=UTF-8");
    if (b.data != NULL)
        sodium_memzero(b.data, b.len);
    oc_buf_free(&b);
    if (rc != 0)
        snprintf(why, cap, "could not build the token request");
    return rc == 0 ? 0 : -1;
}

static int headers(oc_call_t *call, const char *token)
{
    if (token == NULL) /* presigned document URLs: never send our token there */
        return 0;
    if (oc_call_header(call, "x-amz-access-token", token) != 0 || oc_call_header(call, "Accept", "application/json"))
        return OC_ENOMEM;
    return 0;
}

static oc_cls_t classify(oc_call_t *call, const oc_chttp_res_t *res, uint64_t *retry_after_ms)
{
    oc_cls_t cls = oc_call_classify_default(res, retry_after_ms);
    oc_rl_bucket_t *b = call->bucket;
    double rate;
    if (b != NULL && oc_rl_parse_number(oc_chttp_header(res, "x-amzn-ratelimit-limit"), &rate) == 0 && rate > 0)
        oc_rl_observe_limits(b, 0, rate);
    if (cls == OC_CLS_THROTTLED && b != NULL)
        oc_rl_throttled(b, *retry_after_ms * 1000, oc_mono_us());
    if (res->status == 403 && call->auth) {
        const char *code =
            json_string_value(json_object_get(json_array_get(json_object_get(call->json, "errors"), 0), "code"));
        if (code != NULL && strcmp(code, "Unauthorized") == 0)
            return OC_CLS_AUTH; /* expired or revoked access token: refresh once */
    }
    return cls;
}

static void error_text(const oc_call_t *call, const oc_chttp_res_t *res, char *buf, size_t cap)
{
    json_t *e = json_array_get(json_object_get(call->json, "errors"), 0);
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *details = json_string_value(json_object_get(e, "details"));
    const char *lwa = json_string_value(json_object_get(call->json, "error_description"));
    if (code != NULL || msg != NULL) {
        snprintf(buf, cap, "%s%s%s%s%s", code != NULL ? code : "", code != NULL && msg != NULL ? " " : "",
                 msg != NULL ? msg : "", details != NULL && *details ? ": " : "", details != NULL ? details : "");
        return;
    }
    if (lwa != NULL) {
        snprintf(buf, cap, "%s", lwa);
        return;
    }
    const char *c = res->body != NULL ? strstr(res->body, "<Code>") : NULL; /* S3 documents answer in XML */
    if (c != NULL) {
        c += 6;
        size_t n = strcspn(c, "<");
        snprintf(buf, cap, "%.*s", (int)(n < 80 ? n : 80), c);
    }
}

static const oc_chan_t chan = {
    .name = "amazon",
    .limits = limits,
    .nlimits = OC_ARRAY_SIZE(limits),
    .token_request = token_request,
    .token_ttl_s = 3600,
    .headers = headers,
    .classify = classify,
    .error_text = error_text,
};

/* --- normalizers ------------------------------------------------------------------------------- */

static const char *order_status(const char *s)
{
    static const struct {
        const char *amazon, *ours;
    } map[] = {
        {"PendingAvailability", "pending"}, {"Pending", "pending"},         {"Unshipped", "open"},
        {"PartiallyShipped", "partial"},    {"Shipped", "shipped"},         {"InvoiceUnconfirmed", "shipped"},
        {"Canceled", "cancelled"},          {"Unfulfillable", "cancelled"},
    };
    for (size_t i = 0; i < OC_ARRAY_SIZE(map); i++)
        if (strcmp(map[i].amazon, s) == 0)
            return map[i].ours;
    return "open"; /* a status we do not know yet: keep its units reserved */
}

json_t *oc_amazon_order(const json_t *o, const json_t *items, uint64_t *updated_ms, char *why, size_t cap)
{
    const char *id = json_string_value(json_object_get(o, "AmazonOrderId"));
    const char *purchased = json_string_value(json_object_get(o, "PurchaseDate"));
    const char *updated = json_string_value(json_object_get(o, "LastUpdateDate"));
    const char *status = json_string_value(json_object_get(o, "OrderStatus"));
    uint64_t pt, ut;
    if (id == NULL || *id == '\0') {
        snprintf(why, cap, "order without AmazonOrderId");
        return NULL;
    }
    if (purchased == NULL || oc_time_parse(purchased, &pt) != 0 || updated == NULL ||
        oc_time_parse(updated, &ut) != 0 || status == NULL) {
        snprintf(why, cap, "order %s lacks PurchaseDate, LastUpdateDate or OrderStatus", id);
        return NULL;
    }
    if (!json_is_array(items)) {
        snprintf(why, cap, "order %s: OrderItems is not a list", id);
        return NULL;
    }
    const char *ours = order_status(status);
    int cancelled = strcmp(ours, "cancelled") == 0;
    json_t *lines = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *item_id = json_string_value(json_object_get(it, "OrderItemId"));
        const char *sku = json_string_value(json_object_get(it, "SellerSKU"));
        long long qty, shipped = 0;
        json_t *qs = json_object_get(it, "QuantityShipped");
        if (item_id == NULL || sku == NULL || oc_json_as_int(json_object_get(it, "QuantityOrdered"), &qty) != 0 ||
            qty < 0 || (qs != NULL && (oc_json_as_int(qs, &shipped) != 0 || shipped < 0))) {
            snprintf(why, cap, "order %s: item %zu lacks OrderItemId, SellerSKU or QuantityOrdered", id, i);
            json_decref(lines);
            return NULL;
        }
        long long gone = cancelled && qty > shipped ? qty - shipped : 0;
        json_array_append_new(lines,
                              json_pack("{s:s, s:s, s:I, s:I, s:I}", "id", item_id, "sku", sku, "qty", (json_int_t)qty,
                                        "qty_shipped", (json_int_t)shipped, "qty_cancelled", (json_int_t)gone));
    }
    *updated_ms = ut;
    return json_pack("{s:s, s:s, s:o, s:o, s:b, s:o}", "id", id, "status", ours, "created_at", oc_json_time(pt),
                     "updated_at", oc_json_time(ut), "needs_ack", 0, "lines", lines);
}

/* Splits one TSV line (without its newline) into at most `max` fields; returns the count. */
static int split_tsv(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

#define TSV_MAX_FIELDS 64

json_t *oc_amazon_returns_tsv(const char *data, size_t len, char *why, size_t cap)
{
    enum { C_ORDER, C_DATE, C_RMA, C_SKU, C_QTY, C_REASON, C_N };
    static const char *const names[C_N] = {"Order ID",     "Return request date", "Amazon RMA ID",
                                           "Merchant SKU", "Return quantity",     "Return reason"};
    int col[C_N];
    char *copy = oc_malloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = '\0';
    json_t *out = json_array(), *by_id = json_object();
    char *save = NULL, *line = strtok_r(copy, "\n", &save);
    char *fields[TSV_MAX_FIELDS];
    int row = 0;
    if (line == NULL) { /* an empty document: no returns */
        json_decref(by_id);
        free(copy);
        return out;
    }
    line[strcspn(line, "\r")] = '\0';
    int nh = split_tsv(line, fields, TSV_MAX_FIELDS);
    for (int c = 0; c < C_N; c++) {
        col[c] = -1;
        for (int i = 0; i < nh; i++)
            if (strcmp(fields[i], names[c]) == 0)
                col[c] = i;
        if (col[c] < 0 && c != C_DATE && c != C_REASON) {
            snprintf(why, cap, "returns report: no \"%s\" column", names[c]);
            goto Error;
        }
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        row++;
        line[strcspn(line, "\r")] = '\0';
        if (*line == '\0')
            continue;
        int n = split_tsv(line, fields, TSV_MAX_FIELDS);
        const char *v[C_N];
        for (int c = 0; c < C_N; c++)
            v[c] = col[c] >= 0 && col[c] < n ? fields[col[c]] : NULL;
        char *end;
        long long qty = v[C_QTY] != NULL ? strtoll(v[C_QTY], &end, 10) : -1;
        if (v[C_ORDER] == NULL || v[C_SKU] == NULL || v[C_QTY] == NULL || *v[C_QTY] == '\0' || *end != '\0' ||
            qty < 0 || *v[C_ORDER] == '\0' || *v[C_SKU] == '\0') {
            snprintf(why, cap, "returns report: row %d lacks an order id, a SKU or a quantity", row);
            goto Error;
        }
        uint64_t t = 0;
        int dated = v[C_DATE] != NULL && oc_time_parse(v[C_DATE], &t) == 0;
        char id[160];
        if (v[C_RMA] != NULL && *v[C_RMA] != '\0')
            snprintf(id, sizeof(id), "%s", v[C_RMA]);
        else
            snprintf(id, sizeof(id), "%s:%s:%s", v[C_ORDER], v[C_SKU], v[C_DATE] != NULL ? v[C_DATE] : "");
        json_t *ret = json_object_get(by_id, id);
        if (ret == NULL) {
            ret = json_pack("{s:s, s:s, s:o, s:[]}", "id", id, "order_id", v[C_ORDER], "created_at",
                            dated ? oc_json_time(t) : json_null(), "lines");
            json_object_set_new(by_id, id, ret);
            json_array_append(out, ret);
        }
        json_t *lines = json_object_get(ret, "lines");
        json_array_append_new(lines, json_pack("{s:o, s:s, s:I, s:s, s:b, s:s?}", "id",
                                               json_sprintf("%s:%zu", id, json_array_size(lines) + 1), "sku", v[C_SKU],
                                               "qty", (json_int_t)qty, "disposition", "inspect", "restocked_by_channel",
                                               0, "reason", v[C_REASON]));
    }
    json_decref(by_id);
    free(copy);
    return out;
Error:
    json_decref(by_id);
    json_decref(out);
    free(copy);
    return NULL;
}

/* --- the connection's ids -------------------------------------------------------------------------- */

typedef struct ids {
    char api[512];
    char seller[128];  /* percent-encoded */
    char mkts[256];    /* percent-encoded, comma-separated */
    json_t *mkt_array; /* new reference */
} ids_t;

static int ids_load(const oc_channel_conn_t *c, ids_t *ids)
{
    memset(ids, 0, sizeof(*ids));
    const char *seller = oc_setting_str(c, "seller_id");
    json_t *list = json_object_get(c->settings, "marketplace_ids");
    const char *one = oc_setting_str(c, "marketplace_id");
    if (seller == NULL || oc_conn_base(c, &oc_adapter_amazon, ids->api, sizeof(ids->api)) != 0)
        return OC_EINVAL;
    ids->mkt_array = json_array();
    if (json_is_array(list)) {
        size_t i;
        json_t *m;
        json_array_foreach(list, i, m) if (json_string_value(m) != NULL) json_array_append(ids->mkt_array, m);
    } else if (one != NULL) {
        json_array_append_new(ids->mkt_array, json_string(one));
    }
    oc_buf_t b = {0}, s = {0};
    int rc = json_array_size(ids->mkt_array) == 0 ? OC_EINVAL : 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(ids->mkt_array); i++) {
        if (i > 0 && oc_buf_append(&b, ",", 1) != 0)
            rc = OC_ENOMEM;
        if (rc == 0)
            rc = oc_percent_encode(&b, json_string_value(json_array_get(ids->mkt_array, i)));
    }
    if (rc == 0)
        rc = oc_percent_encode(&s, seller);
    if (rc == 0 && (b.len >= sizeof(ids->mkts) || s.len >= sizeof(ids->seller)))
        rc = OC_EINVAL;
    if (rc == 0) {
        memcpy(ids->mkts, b.data, b.len + 1);
        memcpy(ids->seller, s.data, s.len + 1);
    }
    oc_buf_free(&b);
    oc_buf_free(&s);
    if (rc != 0) {
        json_decref(ids->mkt_array);
        ids->mkt_array = NULL;
    }
    return rc;
}

/* --- push and read ------------------------------------------------------------------------------------ */

typedef struct aop {
    oc_op_t base;
    ids_t ids;
    json_t *items;
    json_t *feed; /* the JSON_LISTINGS_FEED document */
    char *doc_id;
} aop_t;

static void aop_free(oc_op_t *op)
{
    aop_t *a = (aop_t *)op;
    json_decref(a->ids.mkt_array);
    json_decref(a->items);
    json_decref(a->feed);
    free(a->doc_id);
}

/* A new operation of `size` bytes holding the connection's ids at offset `ids_at`; NULL with *rc. */
static oc_op_t *ids_op_new(size_t size, size_t ids_at, void (*on_free)(oc_op_t *op), oc_chttp_t *http,
                           oc_channel_conn_t *c, uint64_t deadline_ms, oc_adapter_cb cb, void *arg, int *rc)
{
    ids_t ids;
    if ((*rc = ids_load(c, &ids)) != 0)
        return NULL;
    oc_op_t *op = oc_op_new(size, http, c, &chan, deadline_ms, cb, arg, rc);
    if (op == NULL) {
        json_decref(ids.mkt_array);
        return NULL;
    }
    memcpy((char *)op + ids_at, &ids, sizeof(ids));
    op->on_free = on_free;
    return op;
}

static aop_t *aop_new(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, uint64_t deadline_ms, oc_adapter_cb cb,
                      void *arg, int *rc)
{
    aop_t *a = (aop_t *)ids_op_new(sizeof(aop_t), offsetof(aop_t, ids), aop_free, http, c, deadline_ms, cb, arg, rc);
    if (a != NULL)
        a->items = json_incref(items);
    return a;
}

static json_t *availability_patch(const char *op, json_t *qty)
{
    return json_pack("[{s:s, s:s, s:[{s:s, s:O}]}]", "op", op, "path", "/attributes/fulfillment_availability", "value",
                     "fulfillment_channel_code", "DEFAULT", "quantity", qty);
}

static const char *patch_op(const oc_channel_conn_t *c)
{
    const char *op = oc_setting_str(c, "patch_op");
    return op != NULL && strcmp(op, "replace") == 0 ? "replace" : "merge";
}

static const char *product_type(const json_t *item)
{
    const char *t = json_string_value(json_object_get(item, "product_type"));
    return t != NULL && *t != '\0' ? t : "PRODUCT";
}

static void issues_text(const json_t *issues, char *buf, size_t cap)
{
    size_t i, off = 0;
    json_t *is;
    buf[0] = '\0';
    json_array_foreach(issues, i, is)
    {
        const char *sev = json_string_value(json_object_get(is, "severity"));
        const char *msg = json_string_value(json_object_get(is, "message"));
        if (sev == NULL || strcmp(sev, "ERROR") != 0 || msg == NULL || off + 3 >= cap)
            continue;
        int n = snprintf(buf + off, cap - off, "%s%s", off > 0 ? "; " : "", msg);
        off += n > 0 ? (size_t)n : 0;
    }
}

static void on_patch(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    aop_t *a = call->data;
    json_t *r = json_array_get(a->base.result, (size_t)call->idx);
    const char *status = json_string_value(json_object_get(call->json, "status"));
    char msg[300];
    if (e != NULL) {
        oc_item_error(r, e->err, e->retryable);
    } else if (res->status == 200 && status != NULL && strcmp(status, "ACCEPTED") == 0) {
        json_object_set_new(r, "status", json_string("ok"));
        json_object_set(r, "qty", json_object_get(json_array_get(a->items, (size_t)call->idx), "qty"));
        json_object_set_new(r, "pending", json_true());
        const char *sub = json_string_value(json_object_get(call->json, "submissionId"));
        if (sub != NULL)
            json_object_set_new(r, "ref", json_string(sub));
    } else if (res->status == 200 && status != NULL) {
        char issues[240];
        issues_text(json_object_get(call->json, "issues"), issues, sizeof(issues));
        snprintf(msg, sizeof(msg), "listing update %s%s%s", status, issues[0] ? ": " : "", issues);
        oc_item_error(r, msg, 0);
    } else {
        oc_call_item_unusable(call, res, r, res->status == 404 ? "listing not found" : NULL, "no status");
    }
    oc_op_item_done(&a->base);
}

static int listing_url(oc_call_t *call, const aop_t *a, const char *sku, const char *extra)
{
    oc_buf_t s = {0};
    int rc = oc_percent_encode(&s, sku);
    if (rc == 0)
        rc = oc_call_url(call, "%s/listings/2021-08-01/items/%s/%s?marketplaceIds=%s%s", a->ids.api, a->ids.seller,
                         s.data, a->ids.mkts, extra);
    oc_buf_free(&s);
    return rc;
}

/* Feeds: document → upload → feed.  Every row waits for the last step. */
static void feed_step_failed(aop_t *a, oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e,
                             const char *what)
{
    oc_adapter_error_t ce;
    char msg[300];
    if (e != NULL) {
        snprintf(msg, sizeof(msg), "%s: %s", what, e->err);
        oc_op_feed_done(&a->base, a->items, NULL, msg, e->retryable);
        return;
    }
    if (res->status / 100 == 2) {
        snprintf(msg, sizeof(msg), "%s: malformed response from channel: %s", what,
                 call->json == NULL ? call->json_error : "missing fields");
    } else {
        oc_call_error(call, res, &ce, what);
        snprintf(msg, sizeof(msg), "%s", ce.err);
    }
    oc_op_feed_done(&a->base, a->items, NULL, msg, 0);
}

static void on_create_feed(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    aop_t *a = call->data;
    const char *id =
        e == NULL && res->status / 100 == 2 ? json_string_value(json_object_get(call->json, "feedId")) : NULL;
    if (id == NULL)
        feed_step_failed(a, call, res, e, "create feed");
    else
        oc_op_feed_done(&a->base, a->items, id, NULL, 0);
}

static void on_upload(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    aop_t *a = call->data;
    if (e != NULL || res->status / 100 != 2) {
        oc_adapter_error_t ce;
        if (e == NULL) {
            oc_call_error(call, res, &ce, "feed upload");
            oc_op_feed_done(&a->base, a->items, NULL, ce.err,
                            res->status == 403); /* an expired presigned URL: try again */
        } else {
            feed_step_failed(a, call, res, e, "feed upload");
        }
        return;
    }
    json_t *body = json_pack("{s:s, s:O, s:s}", "feedType", "JSON_LISTINGS_FEED", "marketplaceIds", a->ids.mkt_array,
                             "inputFeedDocumentId", a->doc_id);
    oc_call_t *next = oc_call_new(&a->base, "POST", "createFeed", 1, on_create_feed);
    if (body == NULL || oc_call_url(next, "%s/feeds/2021-06-30/feeds", a->ids.api) != 0 ||
        oc_call_json(next, body) != 0) {
        json_decref(body);
        oc_op_feed_done(&a->base, a->items, NULL, "could not build the request", 1);
        return;
    }
    json_decref(body);
    next->data = a;
    oc_call_start(next);
}

static void on_feed_document(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    aop_t *a = call->data;
    const char *id = NULL, *url = NULL;
    if (e == NULL && res->status / 100 == 2) {
        id = json_string_value(json_object_get(call->json, "feedDocumentId"));
        url = json_string_value(json_object_get(call->json, "url"));
    }
    if (id == NULL || url == NULL || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
        feed_step_failed(a, call, res, e, "create feed document");
        return;
    }
    char *doc = json_dumps(a->feed, JSON_COMPACT);
    oc_call_t *up = oc_call_new(&a->base, "PUT", NULL, 1, on_upload);
    a->doc_id = oc_strdup(id);
    if (doc == NULL || oc_call_url(up, "%s", url) != 0 ||
        oc_call_body(up, doc, strlen(doc), "application/json; charset=UTF-8") != 0) {
        free(doc);
        oc_op_feed_done(&a->base, a->items, NULL, "could not build the request", 1);
        return;
    }
    free(doc);
    up->auth = 0; /* a presigned S3 URL: the signature is the credential */
    up->data = a;
    oc_call_start(up);
}

static int push_feed(aop_t *a)
{
    json_t *messages = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(a->base.result, i, r)
    {
        if (json_object_get(r, "status") != NULL)
            continue;
        json_t *it = json_array_get(a->items, i);
        json_array_append_new(messages,
                              json_pack("{s:I, s:s, s:s, s:s, s:o}", "messageId", (json_int_t)(i + 1), "sku",
                                        json_string_value(json_object_get(it, "sku")), "operationType", "PATCH",
                                        "productType", product_type(it), "patches",
                                        availability_patch(patch_op(a->base.conn), json_object_get(it, "qty"))));
    }
    a->feed = json_pack("{s:{s:s, s:s, s:s}, s:o}", "header", "sellerId", oc_setting_str(a->base.conn, "seller_id"),
                        "version", "2.0", "issueLocale", "en_US", "messages", messages);
    json_t *body = json_pack("{s:s}", "contentType", "application/json; charset=UTF-8");
    oc_call_t *call = oc_call_new(&a->base, "POST", "createFeedDocument", 1, on_feed_document);
    int rc = a->feed == NULL || body == NULL ? OC_ENOMEM : 0;
    if (rc == 0)
        rc = oc_call_url(call, "%s/feeds/2021-06-30/documents", a->ids.api);
    if (rc == 0)
        rc = oc_call_json(call, body);
    json_decref(body);
    if (rc != 0)
        return rc;
    call->data = a;
    oc_call_start(call);
    return 0;
}

json_t *oc_amazon_push_body(const oc_channel_conn_t *c, const json_t *item, char *why, size_t cap)
{
    /* Listings Items has no compare-and-set: the PATCH sets the quantity outright. */
    const char *sku;
    long long qty;
    if (oc_item_check_set(item, &sku, &qty, why, cap) != 0)
        return NULL;
    return json_pack("{s:s, s:o}", "productType", product_type(item), "patches",
                     availability_patch(patch_op(c), json_object_get(item, "qty")));
}

static json_t *push_body(oc_op_t *op, const json_t *item, char *why, size_t cap)
{
    return oc_amazon_push_body(op->conn, item, why, cap);
}

static oc_call_t *patch_call(oc_op_t *op, const json_t *item)
{
    oc_call_t *call = oc_call_new(op, "PATCH", "patchListingsItem", 1, on_patch);
    if (listing_url(call, (aop_t *)op, json_string_value(json_object_get(item, "sku")), "") != 0)
        return NULL; /* a call already made goes with the operation */
    return call;
}

static int amazon_push(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg)
{
    int rc;
    aop_t *a = aop_new(http, c, items, DEADLINE_MS, cb, arg, &rc);
    if (a == NULL)
        return rc;
    size_t valid;
    if ((rc = oc_op_push_rows(&a->base, items, push_body, NULL, &valid)) != 0) {
        oc_op_discard(&a->base);
        return rc;
    }
    if (valid == 0) {
        oc_op_finish_later(&a->base);
        return 0;
    }
    if ((long long)valid > oc_setting_int(c, "feed_threshold", FEED_THRESHOLD, 1, MAX_BATCH)) {
        if ((rc = push_feed(a)) != 0)
            oc_op_discard(&a->base);
        return rc;
    }
    return oc_op_push_items(&a->base, items, push_body, patch_call);
}

/* The row's "updated_at": the latest lastUpdatedDate of the listing's summaries, when one parses. */
static void set_updated_at(json_t *row, const json_t *summaries)
{
    uint64_t latest = 0, t;
    size_t i;
    json_t *sm;
    json_array_foreach(summaries, i, sm)
    {
        const char *at = json_string_value(json_object_get(sm, "lastUpdatedDate"));
        if (at != NULL && oc_time_parse(at, &t) == 0 && t > latest)
            latest = t;
    }
    if (latest > 0) {
        char buf[32];
        oc_time_format(buf, latest, OC_TIME_MS);
        json_object_set_new(row, "updated_at", json_string(buf));
    }
}

static void on_listing(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    aop_t *a = call->data;
    json_t *r = json_array_get(a->base.result, (size_t)call->idx);
    json_t *fa = json_object_get(call->json, "fulfillmentAvailability");
    if (e != NULL) {
        json_object_set_new(r, "qty", json_null());
        oc_item_error(r, e->err, e->retryable);
    } else if (res->status == 404) {
        json_object_set_new(r, "qty", json_null());
    } else if (res->status == 200 && json_is_object(call->json) && (fa == NULL || json_is_array(fa))) {
        long long qty = 0, v;
        size_t i;
        json_t *f;
        json_array_foreach(fa, i, f)
        {
            const char *code = json_string_value(json_object_get(f, "fulfillmentChannelCode"));
            if (code != NULL && strcmp(code, "DEFAULT") == 0 && oc_json_as_int(json_object_get(f, "quantity"), &v) == 0)
                qty = v;
        }
        json_object_set_new(r, "qty", json_integer(qty));
        set_updated_at(r, json_object_get(call->json, "summaries"));
    } else {
        json_object_set_new(r, "qty", json_null());
        oc_call_item_unusable(call, res, r, NULL, "fulfillmentAvailability is not a list");
    }
    oc_op_item_done(&a->base);
}

static oc_call_t *listing_get(oc_op_t *op, const char *sku)
{
    oc_call_t *call = oc_call_new(op, "GET", "getListingsItem", 1, on_listing);
    if (listing_url(call, (aop_t *)op, sku, "&includedData=summaries,fulfillmentAvailability") != 0)
        return NULL; /* a call already made goes with the operation */
    return call;
}

static int amazon_read(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg)
{
    int rc;
    aop_t *a = aop_new(http, c, items, DEADLINE_MS, cb, arg, &rc);
    if (a == NULL)
        return rc;
    return oc_op_read_items(&a->base, items, listing_get);
}

/* --- orders ----------------------------------------------------------------------------------------------- */

typedef struct slot {
    json_t *order; /* borrowed from page->orders */
    json_t *items; /* collected OrderItems */
} slot_t;

typedef struct apage {
    oc_op_t base;
    ids_t ids;
    oc_cursor_t cur;
    json_t *orders; /* the page's Orders (new reference) */
    char *next;     /* the page's NextToken */
    slot_t *slots;
    size_t nslots, outstanding;
    /* returns */
    char report_id[96];
    uint64_t report_from_ms;
    int gzipped; /* the report document is GZIP-compressed */
} apage_t;

static void apage_free(oc_op_t *op)
{
    apage_t *p = (apage_t *)op;
    oc_cursor_free(&p->cur);
    json_decref(p->ids.mkt_array);
    json_decref(p->orders);
    free(p->next);
    for (size_t i = 0; i < p->nslots; i++)
        json_decref(p->slots[i].items);
    free(p->slots);
}

static apage_t *apage_new(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb, void *arg,
                          int *rc)
{
    apage_t *p =
        (apage_t *)ids_op_new(sizeof(apage_t), offsetof(apage_t, ids), apage_free, http, c, DEADLINE_MS, cb, arg, rc);
    if (p == NULL)
        return NULL;
    if (oc_cursor_decode(&p->cur, cursor, oc_now_ms() - DAY_MS) != 0) {
        oc_op_fail_later(&p->base, 0, "invalid cursor");
        *rc = 0; /* accepted: the error arrives through the callback */
        return NULL;
    }
    return p;
}

static void orders_complete(apage_t *p)
{
    json_t *out = json_array();
    char why[200];
    for (size_t i = 0; i < p->nslots; i++) {
        uint64_t t;
        json_t *n = oc_amazon_order(p->slots[i].order, p->slots[i].items, &t, why, sizeof(why));
        if (n == NULL) {
            json_decref(out);
            oc_op_fail(&p->base, 0, 200, 0, "malformed response from channel: %s", why);
            return;
        }
        json_array_append_new(out, n);
    }
    oc_op_finish_page(&p->base, &p->cur, out, "orders", p->next);
}

static int items_call(apage_t *p, size_t slot, const char *token);

static void on_items(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    apage_t *p = call->data;
    slot_t *s = &p->slots[call->idx];
    if (e != NULL) {
        oc_op_fail_with(&p->base, e);
        return;
    }
    json_t *payload = json_object_get(call->json, "payload");
    json_t *items = json_object_get(payload, "OrderItems");
    if (res->status != 200 || !json_is_array(items)) {
        oc_op_unusable(&p->base, call, res, 200, "order items", "no payload.OrderItems");
        return;
    }
    json_array_extend(s->items, items);
    const char *next = json_string_value(json_object_get(payload, "NextToken"));
    if (next != NULL && *next != '\0') {
        if (items_call(p, (size_t)call->idx, next) != 0)
            oc_op_fail(&p->base, 1, 0, 0, "could not build the request");
        return;
    }
    if (--p->outstanding == 0)
        orders_complete(p);
}

static int items_call(apage_t *p, size_t slot, const char *token)
{
    const char *id = json_string_value(json_object_get(p->slots[slot].order, "AmazonOrderId"));
    oc_buf_t b = {0}, t = {0};
    oc_call_t *call = oc_call_new(&p->base, "GET", "getOrderItems", 1, on_items);
    int rc = oc_percent_encode(&b, id) != 0 ? OC_ENOMEM : 0;
    if (rc == 0 && token != NULL)
        rc = oc_percent_encode(&t, token);
    if (rc == 0)
        rc = oc_call_url(call, "%s/orders/v0/orders/%s/orderItems%s%s", p->ids.api, b.data,
                         token != NULL ? "?NextToken=" : "", token != NULL ? t.data : "");
    oc_buf_free(&b);
    oc_buf_free(&t);
    if (rc != 0) {
        if (call != NULL)
            oc_call_abort(call);
        return rc;
    }
    call->data = p;
    call->idx = (long)slot;
    oc_call_start(call);
    return 0;
}

static void on_orders(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    apage_t *p = call->data;
    if (e != NULL) {
        oc_op_fail_with(&p->base, e);
        return;
    }
    json_t *payload = json_object_get(call->json, "payload"), *orders = json_object_get(payload, "Orders");
    json_t *next = json_object_get(payload, "NextToken");
    if (res->status != 200 || !json_is_array(orders) || (next != NULL && !json_is_string(next))) {
        oc_op_unusable(&p->base, call, res, 200, "orders", "no payload.Orders");
        return;
    }
    if (json_is_string(next) && *json_string_value(next) != '\0')
        p->next = oc_strdup(json_string_value(next));
    p->orders = json_incref(orders);
    p->slots = oc_calloc(json_array_size(orders) + 1, sizeof(*p->slots));
    size_t i;
    json_t *o;
    json_array_foreach(orders, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "AmazonOrderId"));
        const char *upd = json_string_value(json_object_get(o, "LastUpdateDate"));
        uint64_t t;
        if (id == NULL || upd == NULL || oc_time_parse(upd, &t) != 0) {
            oc_op_fail(&p->base, 0, 200, 0,
                       "malformed response from channel: order %zu lacks AmazonOrderId or "
                       "LastUpdateDate",
                       i);
            return;
        }
        if (!oc_cursor_admit_record(&p->cur, id, t, o))
            continue; /* returned before as it is now: no need for its items */
        const char *fc = json_string_value(json_object_get(o, "FulfillmentChannel"));
        if (fc != NULL && strcmp(fc, "AFN") == 0)
            continue; /* fulfilled by Amazon from its own stock: the seller's ledger does not move (README) */
        p->slots[p->nslots].order = o;
        p->slots[p->nslots].items = json_array();
        p->nslots++;
    }
    if (p->nslots == 0) {
        oc_op_finish_page(&p->base, &p->cur, json_array(), "orders", p->next);
        return;
    }
    p->outstanding = p->nslots;
    for (i = 0; i < p->nslots; i++)
        if (items_call(p, i, NULL) != 0) {
            oc_op_fail(&p->base, 1, 0, 0, "could not build the request");
            return;
        }
}

static int amazon_fetch_orders(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb, void *arg)
{
    int rc;
    apage_t *p = apage_new(http, c, cursor, cb, arg, &rc);
    if (p == NULL)
        return rc;
    oc_call_t *call = oc_call_new(&p->base, "GET", "getOrders", 1, on_orders);
    oc_buf_t t = {0};
    if (p->cur.page != NULL) {
        rc = oc_percent_encode(&t, p->cur.page);
        if (rc == 0)
            rc = oc_call_url(call, "%s/orders/v0/orders?MarketplaceIds=%s&NextToken=%s", p->ids.api, p->ids.mkts,
                             t.data);
    } else {
        char iso[24];
        oc_time_format(iso, oc_cursor_begin(&p->cur, oc_cursor_overlap(c)), OC_TIME_S);
        rc = oc_call_url(call, "%s/orders/v0/orders?MarketplaceIds=%s&LastUpdatedAfter=%s&MaxResultsPerPage=%lld",
                         p->ids.api, p->ids.mkts, iso, oc_setting_int(c, "page_size", ORDERS_PAGE, 1, 100));
    }
    oc_buf_free(&t);
    return oc_op_launch(&p->base, call, rc);
}

/* --- returns: the report flow ------------------------------------------------------------------------------ */

static void poll_report(oc_op_t *op);

static void on_document(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    apage_t *p = call->data;
    char why[200];
    if (e != NULL) {
        oc_op_fail_with(&p->base, e);
        return;
    }
    if (res->status != 200) {
        oc_adapter_error_t ce;
        oc_call_error(call, res, &ce, "report download");
        ce.retryable = res->status == 403; /* the presigned URL expired: start again */
        oc_op_fail_with(&p->base, &ce);
        return;
    }
    oc_buf_t plain = {0};
    if (p->gzipped &&
        oc_gunzip((const unsigned char *)res->body, res->body_len, &plain, REPORT_MAX_BYTES, why, sizeof(why)) != 0) {
        oc_buf_free(&plain);
        oc_op_fail(&p->base, 0, 200, 0, "malformed response from channel: the returns report: %s", why);
        return;
    }
    json_t *returns = p->gzipped ? oc_amazon_returns_tsv(oc_buf_cstr(&plain), plain.len, why, sizeof(why))
                                 : oc_amazon_returns_tsv(res->body, res->body_len, why, sizeof(why));
    oc_buf_free(&plain);
    if (returns == NULL) {
        oc_op_fail(&p->base, 0, 200, 0, "malformed response from channel: %s", why);
        return;
    }
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(returns, i, r)
    {
        uint64_t t = 0;
        const char *created = json_string_value(json_object_get(r, "created_at"));
        if (created != NULL)
            oc_time_parse(created, &t);
        if (oc_cursor_admit(&p->cur, json_string_value(json_object_get(r, "id")), t))
            json_array_append(out, r);
    }
    json_decref(returns);
    oc_op_finish_page(&p->base, &p->cur, out, "returns", NULL);
}

static void on_report_document(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    apage_t *p = call->data;
    if (e != NULL) {
        oc_op_fail_with(&p->base, e);
        return;
    }
    const char *url = json_string_value(json_object_get(call->json, "url"));
    const char *compression = json_string_value(json_object_get(call->json, "compressionAlgorithm"));
    if (res->status != 200 || url == NULL || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
        oc_op_unusable(&p->base, call, res, 200, "report document", "no document url");
        return;
    }
    p->gzipped = compression != NULL && strcmp(compression, "GZIP") == 0;
    if (compression != NULL && *compression != '\0' && !p->gzipped) {
        oc_op_fail(&p->base, 0, 200, 0, "the returns report is %s-compressed, which Amazon does not use", compression);
        return;
    }
    oc_call_t *get = oc_call_new(&p->base, "GET", NULL, 1, on_document);
    if (oc_call_url(get, "%s", url) != 0) {
        oc_op_fail(&p->base, 1, 0, 0, "could not build the request");
        return;
    }
    get->auth = 0; /* presigned */
    get->data = p;
    oc_call_start(get);
}

static void on_report(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    apage_t *p = call->data;
    if (e != NULL) {
        oc_op_fail_with(&p->base, e);
        return;
    }
    const char *st = json_string_value(json_object_get(call->json, "processingStatus"));
    if (res->status != 200 || st == NULL) {
        oc_op_unusable(&p->base, call, res, 200, "report status", "no processingStatus");
        return;
    }
    if (strcmp(st, "DONE") == 0) {
        const char *doc = json_string_value(json_object_get(call->json, "reportDocumentId"));
        oc_buf_t d = {0};
        oc_call_t *next = oc_call_new(&p->base, "GET", "getReportDocument", 1, on_report_document);
        if (doc == NULL) {
            oc_op_fail(&p->base, 0, 200, 0, "malformed response from channel: a DONE report without reportDocumentId");
        } else if (oc_percent_encode(&d, doc) != 0 ||
                   oc_call_url(next, "%s/reports/2021-06-30/documents/%s", p->ids.api, d.data) != 0) {
            oc_op_fail(&p->base, 1, 0, 0, "could not build the request");
        } else {
            next->data = p;
            oc_call_start(next);
        }
        oc_buf_free(&d);
        return;
    }
    if (strcmp(st, "CANCELLED") == 0) { /* Amazon cancels reports that have no data */
        oc_op_finish_page(&p->base, &p->cur, json_array(), "returns", NULL);
        return;
    }
    if (strcmp(st, "FATAL") == 0) {
        oc_op_fail(&p->base, 1, 200, 0, "the returns report failed on the channel (FATAL)");
        return;
    }
    uint64_t poll = (uint64_t)oc_setting_int(p->base.conn, "poll_ms", 2000, 50, 600000);
    if (oc_op_left_ms(&p->base) < poll + 1000) {
        oc_op_fail(&p->base, 1, 200, poll, "the returns report is still %s at the deadline", st);
        return;
    }
    oc_op_sleep(&p->base, poll, poll_report);
}

static void poll_report(oc_op_t *op)
{
    apage_t *p = (apage_t *)op;
    oc_call_t *call = oc_call_new(op, "GET", "getReport", 1, on_report);
    if (oc_call_url(call, "%s/reports/2021-06-30/reports/%s", p->ids.api, p->report_id) != 0) {
        oc_op_fail(op, 1, 0, 0, "could not build the request");
        return;
    }
    call->data = p;
    oc_call_start(call);
}

static void on_create_report(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    apage_t *p = call->data;
    if (e != NULL) {
        oc_op_fail_with(&p->base, e);
        return;
    }
    const char *id = json_string_value(json_object_get(call->json, "reportId"));
    if (res->status / 100 != 2 || id == NULL || strlen(id) >= sizeof(p->report_id) || strpbrk(id, "/?#%") != NULL) {
        oc_op_unusable(&p->base, call, res, 0, "create report", "no usable reportId");
        return;
    }
    snprintf(p->report_id, sizeof(p->report_id), "%s", id);
    poll_report(&p->base);
}

static int amazon_fetch_returns(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb, void *arg)
{
    int rc;
    apage_t *p = apage_new(http, c, cursor, cb, arg, &rc);
    if (p == NULL)
        return rc;
    uint64_t now = oc_now_ms(), from = oc_cursor_begin(&p->cur, oc_cursor_overlap(c));
    if (now - from > REPORT_MAX_DAYS * DAY_MS) /* the report covers at most 60 days */
        from = now - (REPORT_MAX_DAYS * DAY_MS - 60000);
    char start[24];
    oc_time_format(start, from, OC_TIME_S);
    /* no dataEndTime: it defaults to now, to the millisecond (a formatted "now" would cut the last second) */
    json_t *body = json_pack("{s:s, s:s, s:O}", "reportType", RETURNS_REPORT, "dataStartTime", start, "marketplaceIds",
                             p->ids.mkt_array);
    oc_call_t *call = oc_call_new(&p->base, "POST", "createReport", 1, on_create_report);
    rc = body == NULL ? OC_ENOMEM : oc_call_url(call, "%s/reports/2021-06-30/reports", p->ids.api);
    if (rc == 0)
        rc = oc_call_json(call, body);
    json_decref(body);
    return oc_op_launch(&p->base, call, rc);
}

/* --- acknowledge, test, validate ---------------------------------------------------------------------------- */

static int amazon_acknowledge(oc_chttp_t *http, oc_channel_conn_t *c, json_t *order_ids, oc_adapter_cb cb, void *arg)
{
    /* Amazon has no acknowledgement for stock purposes: every id counts as acknowledged. */
    return oc_op_acknowledge_all(http, c, &chan, order_ids, cb, arg);
}

static void on_search(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    aop_t *a = call->data;
    if (e != NULL) {
        oc_op_fail_with(&a->base, e);
        return;
    }
    if (res->status != 200 || !json_is_object(call->json)) {
        oc_op_unusable(&a->base, call, res, 200, "listings search", call->json_error);
        return;
    }
    /* the channel took the seller id (in the path) and the marketplaces for this token: that is the account */
    const char *seller = oc_setting_str(a->base.conn, "seller_id");
    a->base.result = json_pack("{s:b, s:s, s:{s:s, s:O}, s:{s:O, s:O?}}", "ok", 1, "account", seller, "identity",
                               "seller_id", seller, "marketplace_ids", a->ids.mkt_array, "details", "marketplace_ids",
                               a->ids.mkt_array, "listings", json_object_get(call->json, "numberOfResults"));
    oc_op_finish(&a->base, NULL);
}

static int amazon_test(oc_chttp_t *http, oc_channel_conn_t *c, oc_adapter_cb cb, void *arg)
{
    int rc;
    aop_t *a = aop_new(http, c, NULL, 30000, cb, arg, &rc);
    if (a == NULL)
        return rc;
    oc_call_t *call = oc_call_new(&a->base, "GET", "searchListingsItems", 1, on_search);
    if (oc_call_url(call, "%s/listings/2021-08-01/items/%s?marketplaceIds=%s&pageSize=1", a->ids.api, a->ids.seller,
                    a->ids.mkts) != 0) {
        oc_op_discard(&a->base);
        return OC_ENOMEM;
    }
    call->data = a;
    oc_call_start(call);
    return 0;
}

static int amazon_validate(const json_t *settings, const json_t *secrets, char *why, size_t cap)
{
    const char *keys[] = {"client_id", "client_secret", "refresh_token"};
    for (size_t i = 0; i < OC_ARRAY_SIZE(keys); i++) {
        const char *v = json_string_value(json_object_get(secrets, keys[i]));
        if (v == NULL || *v == '\0') {
            snprintf(why, cap, "%s: required", keys[i]);
            return -1;
        }
    }
    const char *seller = json_string_value(json_object_get(settings, "seller_id"));
    if (seller == NULL || *seller == '\0') {
        snprintf(why, cap, "seller_id: required");
        return -1;
    }
    json_t *m = json_object_get(settings, "marketplace_ids");
    const char *one = json_string_value(json_object_get(settings, "marketplace_id"));
    if (m != NULL) {
        size_t i;
        json_t *v;
        if (!json_is_array(m) || json_array_size(m) == 0) {
            snprintf(why, cap, "marketplace_ids: must be a non-empty list");
            return -1;
        }
        json_array_foreach(m, i, v) if (json_string_value(v) == NULL || *json_string_value(v) == '\0')
        {
            snprintf(why, cap, "marketplace_ids: must hold strings");
            return -1;
        }
    } else if (one == NULL || *one == '\0') {
        snprintf(why, cap, "marketplace_ids: required");
        return -1;
    }
    char buf[128];
    if (json_object_get(settings, "region") != NULL && default_base_url(settings, buf, sizeof(buf)) == NULL) {
        snprintf(why, cap, "region: must be na, eu or fe");
        return -1;
    }
    const char *url = json_string_value(json_object_get(settings, "token_url"));
    if (url != NULL && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        snprintf(why, cap, "token_url: must be an http(s) URL");
        return -1;
    }
    return 0;
}

const oc_adapter_t oc_adapter_amazon = {
    .name = "amazon",
    .kind = OC_CHANNEL_AMAZON,
    .default_base_url = default_base_url,
    .validate = amazon_validate,
    .push = amazon_push,
    .read = amazon_read,
    .fetch_orders = amazon_fetch_orders,
    .fetch_returns = amazon_fetch_returns,
    .acknowledge = amazon_acknowledge,
    .test = amazon_test,
    .verify_webhook = NULL,
    .max_batch = MAX_BATCH,
    .state_free = oc_cstate_free,
};
