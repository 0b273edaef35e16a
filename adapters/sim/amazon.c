/*
 * amazon.c — the Amazon Selling Partner API simulator under /amazon.
 *
 * Speaks: the LWA token endpoint (/amazon/auth/o2/token), Listings Items
 * 2021-08-01 (PATCH accepted at once and applied after apply_delay_ms,
 * GET with fulfillmentAvailability, search), Feeds 2021-06-30 with
 * JSON_LISTINGS_FEED (document → presigned PUT on /amazon/_s3/{id} →
 * createFeed → IN_QUEUE → IN_PROGRESS → DONE with a processing report),
 * Orders v0 (getOrders with CreatedAfter/LastUpdatedAfter and NextToken,
 * getOrder, getOrderItems) and the Reports flow for returns
 * (GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE, tab-separated).
 * Auth: x-amz-access-token, 403 Unauthorized otherwise.  Rate limits: a
 * token bucket per operation with x-amzn-RateLimit-Limit and 429
 * QuotaExceeded.  Order changes are also kept as ORDER_CHANGE notifications.
 */
#include "adapters/gunzip.h"
#include "adapters/sim/sim_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define RETURNS_REPORT  "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
#define LISTINGS_REPORT "GET_MERCHANT_LISTINGS_ALL_DATA"
#define MAX_NOTES       10000

static const oc_sim_limit_def_t limits[] = {
    {"patchListingsItem", 5, 5},   {"getListingsItem", 10, 5},
    {"searchListingsItems", 5, 5}, {"createFeedDocument", 15, 0.5},
    {"createFeed", 15, 0.0083},    {"getFeed", 15, 2},
    {"getFeeds", 10, 0.0222},      {"getFeedDocument", 10, 0.0222},
    {"getOrders", 20, 0.0167},     {"getOrder", 30, 0.5},
    {"getOrderItems", 30, 0.5},    {"createReport", 15, 0.0167},
    {"getReport", 15, 2},          {"getReportDocument", 15, 0.0167},
};

/* --- errors, auth, limits ---------------------------------------------------------- */

static void sp_error(oc_sim_req_t *r, int status, const char *code, const char *message, const char *details)
{
    oc_sim_reply_json(r, status,
                      json_pack("{s:[{s:s, s:s, s:s}]}", "errors", "code", code, "message", message, "details",
                                details != NULL ? details : ""));
}

static void channel_error(oc_sim_req_t *r, int status, const char *code, const char *message)
{
    if (status == 404)
        sp_error(r, 404, "NotFound", "Resource not found.", NULL);
    else
        sp_error(r, status, code, message, NULL);
}

static void request_id(oc_sim_req_t *r)
{
    char id[40];
    oc_random_hex(id, 16);
    oc_sim_header(r, "x-amzn-RequestId", id);
}

static void rate_header(oc_sim_req_t *r, oc_sim_bucket_t *b)
{
    char v[32];
    if (b->rate == floor(b->rate))
        snprintf(v, sizeof(v), "%.1f", b->rate);
    else
        snprintf(v, sizeof(v), "%.4g", b->rate);
    oc_sim_header(r, "x-amzn-RateLimit-Limit", v);
}

static void throttled(oc_sim_req_t *r, oc_sim_bucket_t *b, double retry_s)
{
    if (b != NULL && !b->unlimited)
        rate_header(r, b);
    sp_error(r, 429, "QuotaExceeded", "You exceeded your quota for the requested resource.", NULL);
}

static oc_sim_doc_t *doc_find(oc_sim_t *sim, const char *id)
{
    return id != NULL ? oc_sim_map_get(&sim->docs, id) : NULL;
}

static oc_sim_account_t *by_refresh_token(oc_sim_t *sim, const char *token)
{
    for (size_t i = 0; token != NULL && i < sim->accounts.len; i++) {
        oc_sim_account_t *a = sim->accounts.items[i];
        if (a->channel == OC_SIM_AMAZON && strcmp(a->refresh_token, token) == 0)
            return a;
    }
    return NULL;
}

static char *body_param(oc_sim_req_t *r, const char *name)
{
    json_t *j = oc_sim_json_parse(r->body, r->body_len);
    if (j != NULL) {
        const char *v = json_string_value(json_object_get(j, name));
        char *out = v != NULL ? oc_strdup(v) : NULL;
        json_decref(j);
        return out;
    }
    return r->body != NULL ? oc_sim_form_get(r->body, r->body_len, name) : NULL;
}

static int authenticate(oc_sim_req_t *r)
{
    request_id(r);
    if (r->route->flags & OC_SIM_NOAUTH) {
        /* identify only: faults then apply to the account */
        if (strcmp(r->route->op, "lwaToken") == 0) {
            char *rt = body_param(r, "refresh_token");
            r->acct = by_refresh_token(r->sim, rt);
            free(rt);
        } else {
            oc_sim_doc_t *d = doc_find(r->sim, oc_sim_param(r, "docId"));
            r->acct = d != NULL ? oc_sim_account_find(r->sim, d->account_id) : NULL;
        }
        return 0;
    }
    const char *token = oc_sim_req_header(r, "x-amz-access-token");
    int expired;
    oc_sim_account_t *a = oc_sim_token_check(r->sim, token, &expired);
    if (a == NULL || a->channel != OC_SIM_AMAZON) {
        sp_error(r, 403, "Unauthorized", "Access to requested resource is denied.",
                 token == NULL ? "The request is missing the x-amz-access-token header."
                 : expired     ? "The access token you provided has expired."
                               : "The access token you provided is revoked, malformed or invalid.");
        return -1;
    }
    r->acct = a;
    const char *seller = oc_sim_param(r, "sellerId");
    if (seller != NULL && strcmp(seller, a->seller_id) != 0) {
        sp_error(r, 403, "Unauthorized", "Access to requested resource is denied.",
                 "The sellerId does not match the authorized selling partner.");
        return -1;
    }
    oc_sim_amazon_catch_up(r->sim, a);
    return 0;
}

/* marketplaceIds (or MarketplaceIds) must name the account's marketplace. */
static int check_marketplace(oc_sim_req_t *r, const char *param)
{
    const char *m = oc_sim_query(r, param);
    if (m == NULL || *m == '\0') {
        char msg[96];
        snprintf(msg, sizeof(msg), "Missing required '%s'.", param);
        sp_error(r, 400, "InvalidInput", msg, NULL);
        return -1;
    }
    /* every marketplace named must be one the seller participates in */
    char *list = oc_strdup(m), *save = NULL;
    int ok = 1;
    for (char *t = strtok_r(list, ",", &save); ok && t != NULL; t = strtok_r(NULL, ",", &save)) {
        const char *p = r->acct->marketplaces;
        size_t tl = strlen(t);
        int found = 0;
        while (!found && p != NULL && *p != '\0') {
            size_t l = strcspn(p, ",");
            found = l == tl && memcmp(p, t, l) == 0;
            p += l + (p[l] == ',');
        }
        ok = found;
    }
    free(list);
    if (!ok) {
        sp_error(r, 400, "InvalidInput", "Invalid marketplace identifier.", m);
        return -1;
    }
    return 0;
}

/* --- LWA ------------------------------------------------------------------------------- */

static void lwa_token(oc_sim_req_t *r)
{
    char *grant = body_param(r, "grant_type"), *client = body_param(r, "client_id"),
         *secret = body_param(r, "client_secret"), *rt = body_param(r, "refresh_token");
    oc_sim_account_t *a = NULL;
    if (grant == NULL || (strcmp(grant, "refresh_token") != 0 && strcmp(grant, "client_credentials") != 0)) {
        oc_sim_reply_json(r, 400,
                          json_pack("{s:s, s:s}", "error", "unsupported_grant_type", "error_description",
                                    "The authorization grant type is not supported"));
        goto Done;
    }
    if (strcmp(grant, "refresh_token") == 0) {
        a = by_refresh_token(r->sim, rt);
        if (a == NULL) {
            oc_sim_reply_json(r, 400,
                              json_pack("{s:s, s:s}", "error", "invalid_grant", "error_description",
                                        "The request has an invalid grant parameter : refresh_token"));
            goto Done;
        }
    } else {
        for (size_t i = 0; client != NULL && i < r->sim->accounts.len && a == NULL; i++) {
            oc_sim_account_t *x = r->sim->accounts.items[i];
            if (x->channel == OC_SIM_AMAZON && strcmp(x->client_id, client) == 0)
                a = x;
        }
    }
    if (a == NULL || client == NULL || secret == NULL || strcmp(client, a->client_id) != 0 ||
        strcmp(secret, a->client_secret) != 0) {
        oc_sim_reply_json(
            r, 401,
            json_pack("{s:s, s:s}", "error", "invalid_client", "error_description", "Client authentication failed"));
        goto Done;
    }
    char tok[100];
    oc_sim_token_issue(r->sim, a, "Atza|", a->token_ttl_s, tok, sizeof(tok));
    json_t *j = json_pack("{s:s, s:s, s:i}", "access_token", tok, "token_type", "bearer", "expires_in", a->token_ttl_s);
    if (strcmp(grant, "refresh_token") == 0)
        json_object_set_new(j, "refresh_token", json_string(a->refresh_token));
    oc_sim_reply_json(r, 200, j);
Done:
    free(grant);
    free(client);
    free(secret);
    free(rt);
}

/* --- delayed applies, feeds and reports ---------------------------------------------------- */

void oc_sim_doc_free(void *p)
{
    oc_sim_doc_t *d = p;
    if (d == NULL)
        return;
    free(d->data);
    free(d);
}

void oc_sim_job_free(void *p)
{
    oc_sim_job_t *j = p;
    if (j == NULL)
        return;
    json_decref(j->input);
    json_decref(j->result);
    free(j);
}

/* `data` as one gzip member of stored deflate blocks (the simulator compresses nothing; a reader
 * still has to parse gzip and deflate to get it back). */
static int gzip_stored(oc_buf_t *out, const char *data, size_t len)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
    int rc = oc_buf_append(out, header, sizeof(header));
    size_t pos = 0;
    do {
        size_t n = len - pos > 65535 ? 65535 : len - pos;
        unsigned char block[5] = {pos + n == len, (unsigned char)(n & 0xff), (unsigned char)(n >> 8),
                                  (unsigned char)(~n & 0xff), (unsigned char)((~n >> 8) & 0xff)};
        rc |= oc_buf_append(out, block, 5);
        rc |= oc_buf_append(out, data + pos, n);
        pos += n;
    } while (pos < len);
    uint32_t crc = oc_crc32(0, (const unsigned char *)data, len), size = (uint32_t)len;
    unsigned char trailer[8] = {(unsigned char)crc,          (unsigned char)(crc >> 8),  (unsigned char)(crc >> 16),
                                (unsigned char)(crc >> 24),  (unsigned char)size,        (unsigned char)(size >> 8),
                                (unsigned char)(size >> 16), (unsigned char)(size >> 24)};
    rc |= oc_buf_append(out, trailer, 8);
    return rc;
}

/* A new document; with `data` it is a ready result (report, processing report). */
static oc_sim_doc_t *doc_new(oc_sim_t *sim, oc_sim_account_t *a, const char *prefix, const char *ctype,
                             const char *data, size_t len)
{
    oc_sim_doc_t *d = oc_calloc(1, sizeof(*d));
    char hex[40];
    oc_random_hex(hex, 16);
    snprintf(d->id, sizeof(d->id), "%s%s", prefix, hex);
    oc_random_hex(d->sig, 16);
    d->account_id = a->id;
    snprintf(d->content_type, sizeof(d->content_type), "%s", ctype);
    d->expires_ms = oc_now_ms() + 300000;
    if (data != NULL) {
        d->data = oc_malloc(len + 1);
        memcpy(d->data, data, len);
        d->len = len;
        d->uploaded = 1;
    }
    oc_sim_map_put(&sim->docs, d->id, d);
    return d;
}

static json_t *doc_url(oc_sim_req_t *r, oc_sim_doc_t *d)
{
    d->expires_ms = oc_now_ms() + 300000;
    return json_sprintf("%s/amazon/_s3/%s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=%s",
                        r->base, d->id, d->sig);
}

/* Reads the DEFAULT quantity of a fulfillment_availability list; 0 or -1. */
static int availability_qty(const json_t *list, long long *qty)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *code = json_string_value(json_object_get(e, "fulfillment_channel_code"));
        if ((code == NULL || strcmp(code, "DEFAULT") == 0) && oc_sim_json_int(json_object_get(e, "quantity"), qty))
            return *qty >= 0 ? 0 : -1;
    }
    return -1;
}

/* The quantity a patch list sets, 1 if it sets one, 0 if none, -1 if malformed (msg filled). */
static int patches_qty(const json_t *patches, long long *qty, const char **msg)
{
    size_t i;
    json_t *p;
    int found = 0;
    if (!json_is_array(patches) || json_array_size(patches) == 0) {
        *msg = "patches must be a non-empty array";
        return -1;
    }
    json_array_foreach(patches, i, p)
    {
        const char *op = json_string_value(json_object_get(p, "op"));
        const char *path = json_string_value(json_object_get(p, "path"));
        if (op == NULL || (strcmp(op, "add") != 0 && strcmp(op, "replace") != 0 && strcmp(op, "merge") != 0 &&
                           strcmp(op, "delete") != 0)) {
            *msg = "op must be one of add, replace, merge, delete";
            return -1;
        }
        if (path == NULL || strncmp(path, "/attributes/", 12) != 0) {
            *msg = "path must be a top-level attribute such as /attributes/fulfillment_availability";
            return -1;
        }
        if (strcmp(path, "/attributes/fulfillment_availability") != 0)
            continue;
        if (strcmp(op, "delete") == 0) {
            *qty = 0;
            found = 1;
            continue;
        }
        if (availability_qty(json_object_get(p, "value"), qty) != 0) {
            *msg = "fulfillment_availability needs a DEFAULT entry with a quantity >= 0";
            return -1;
        }
        found = 1;
    }
    return found;
}

static void build_feed_report(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_job_t *j)
{
    json_t *issues = json_array();
    long long processed = 0, accepted = 0, invalid = 0;
    json_t *header = json_object_get(j->input, "header"), *messages = json_object_get(j->input, "messages");
    const char *seller = json_string_value(json_object_get(header, "sellerId"));
    if (!json_is_object(j->input) || !json_is_array(messages) || seller == NULL || strcmp(seller, a->seller_id) != 0) {
        j->fatal = 1;
        json_array_append_new(issues, json_pack("{s:i, s:s, s:s, s:s}", "messageId", 0, "code", "4000001", "severity",
                                                "ERROR", "message",
                                                seller != NULL && strcmp(seller, a->seller_id) != 0
                                                    ? "header.sellerId does not match the selling partner"
                                                    : "the feed is not a valid JSON_LISTINGS_FEED document"));
    } else {
        size_t i;
        json_t *m;
        json_array_foreach(messages, i, m)
        {
            long long id = 0, qty = 0;
            oc_sim_json_int(json_object_get(m, "messageId"), &id);
            const char *sku = json_string_value(json_object_get(m, "sku"));
            const char *op = json_string_value(json_object_get(m, "operationType"));
            const char *msg = NULL;
            int sets = 0;
            processed++;
            oc_sim_sku_t *s = sku != NULL ? oc_sim_sku_find(a, sku) : NULL;
            if (s == NULL) {
                msg = "The SKU is not in the seller's catalog.";
            } else if (op != NULL && strcmp(op, "PATCH") == 0) {
                sets = patches_qty(json_object_get(m, "patches"), &qty, &msg);
            } else if (op != NULL && (strcmp(op, "UPDATE") == 0 || strcmp(op, "PARTIAL_UPDATE") == 0)) {
                json_t *fa = json_object_get(json_object_get(m, "attributes"), "fulfillment_availability");
                if (fa != NULL && availability_qty(fa, &qty) != 0)
                    msg = "fulfillment_availability needs a DEFAULT entry with a quantity >= 0";
                sets = fa != NULL && msg == NULL;
            } else if (op == NULL || strcmp(op, "DELETE") != 0) {
                msg = "operationType must be UPDATE, PARTIAL_UPDATE, PATCH or DELETE";
            }
            if (msg != NULL || sets < 0) {
                invalid++;
                json_array_append_new(issues, json_pack("{s:I, s:s?, s:s, s:s, s:s}", "messageId", (json_int_t)id,
                                                        "sku", sku, "code", "90000900", "severity", "ERROR", "message",
                                                        msg != NULL ? msg : "invalid message"));
                continue;
            }
            accepted++;
            if (sets > 0)
                oc_sim_set_qty(sim, a, s, qty, 1);
        }
    }
    j->received = processed;
    j->succeeded = accepted;
    j->failed = invalid;
    json_t *report =
        json_pack("{s:{s:s, s:s, s:s}, s:o, s:{s:I, s:i, s:I, s:I, s:I}}", "header", "sellerId", a->seller_id,
                  "version", "2.0", "feedId", j->id, "issues", issues, "summary", "errors",
                  (json_int_t)(invalid + j->fatal), "warnings", 0, "messagesProcessed", (json_int_t)processed,
                  "messagesAccepted", (json_int_t)accepted, "messagesInvalid", (json_int_t)invalid);
    char *s = json_dumps(report, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(report);
    oc_sim_doc_t *d = s != NULL ? doc_new(sim, a, "amzn1.tortuga.4.na.", "application/json", s, strlen(s)) : NULL;
    free(s);
    if (d != NULL)
        snprintf(j->result_doc, sizeof(j->result_doc), "%s", d->id);
}

static void build_report(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_job_t *j)
{
    oc_buf_t b = {0};
    if (strcmp(j->type, RETURNS_REPORT) == 0) {
        oc_buf_printf(&b, "Order ID\tOrder date\tReturn request date\tReturn request status\tAmazon RMA ID\tASIN\t"
                          "Merchant SKU\tItem Name\tReturn quantity\tReturn reason\tIn policy\tReturn type\t"
                          "Resolution\n");
        int rows = 0;
        for (size_t i = 0; i < a->returns.len; i++) {
            oc_sim_return_t *rt = a->returns.items[i];
            if (rt->created_ms < j->data_start_ms || rt->created_ms > j->data_end_ms)
                continue;
            rows++;
            oc_sim_order_t *o = a->orders.items[rt->order_index];
            oc_sim_sku_t *s = oc_sim_sku_at(a, o->lines[rt->line_index].sku_index);
            char od[32], rd[32];
            oc_time_format(od, o->created_ms, OC_TIME_S);
            oc_time_format(rd, rt->created_ms, OC_TIME_S);
            oc_buf_printf(&b, "%s\t%s\t%s\tApproved\t%s\t%s\t%s\t%s\t%lld\t%s\tY\tC-Returns\tStandardRefund\n", o->id,
                          od, rd, rt->id, s->asin, s->sku, s->sku, rt->qty, rt->reason);
        }
        if (rows == 0) { /* Amazon cancels a report that has no data: no document */
            j->cancelled = 1;
            oc_buf_free(&b);
            return;
        }
    } else {
        oc_buf_printf(&b, "item-name\tseller-sku\tprice\tquantity\tasin1\tfulfillment-channel\tstatus\n");
        for (size_t i = 0; i < a->skus.len; i++) {
            oc_sim_sku_t *s = a->skus.items[i];
            oc_buf_printf(&b, "%s\t%s\t10.00\t%lld\t%s\tDEFAULT\t%s\n", s->sku, s->sku, s->qty > 0 ? s->qty : 0,
                          s->asin, s->qty > 0 ? "Active" : "Inactive");
        }
    }
    oc_buf_t z = {0};
    int gz = a->report_gzip && gzip_stored(&z, oc_buf_cstr(&b), b.len) == 0;
    oc_sim_doc_t *d =
        gz ? doc_new(sim, a, "amzn1.spdoc.1.4.na.", "application/octet-stream", z.data, z.len)
           : doc_new(sim, a, "amzn1.spdoc.1.4.na.", "text/tab-separated-values; charset=UTF-8", oc_buf_cstr(&b), b.len);
    d->gzip = gz;
    snprintf(j->result_doc, sizeof(j->result_doc), "%s", d->id);
    oc_buf_free(&z);
    oc_buf_free(&b);
}

void oc_sim_amazon_catch_up(oc_sim_t *sim, oc_sim_account_t *a)
{
    uint64_t now = oc_now_ms();
    size_t done = 0;
    while (done < a->patches.len && ((oc_sim_patch_t *)a->patches.items[done])->due_ms <= now) {
        oc_sim_patch_t *p = a->patches.items[done++];
        oc_sim_sku_t *s = oc_sim_sku_at(a, p->sku_index);
        if (s != NULL)
            oc_sim_set_qty(sim, a, s, p->qty, 0);
        free(p);
    }
    if (done > 0) {
        memmove(a->patches.items, a->patches.items + done, (a->patches.len - done) * sizeof(void *));
        a->patches.len -= done;
    }
    oc_sim_jobs_run_due(sim, a, &a->feeds, now, build_feed_report);
    oc_sim_jobs_run_due(sim, a, &a->reports, now, build_report);
}

/* --- listings ---------------------------------------------------------------------------------- */

static void patch_listing(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    if (check_marketplace(r, "marketplaceIds") != 0)
        return;
    const char *sku = oc_sim_param(r, "sku"), *mode = oc_sim_query(r, "mode");
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    const char *ptype = json_string_value(json_object_get(body, "productType"));
    if (body == NULL || ptype == NULL) {
        sp_error(r, 400, "InvalidInput", body == NULL ? "The request body is not valid JSON." : "Missing productType.",
                 NULL);
        json_decref(body);
        return;
    }
    char sub[40];
    oc_random_hex(sub, 16);
    long long qty = 0;
    const char *msg = NULL;
    oc_sim_sku_t *s = oc_sim_sku_find(a, sku);
    int sets = s != NULL ? patches_qty(json_object_get(body, "patches"), &qty, &msg) : -1;
    if (s == NULL)
        msg = "The SKU was not found in the seller's catalog for this marketplace.";
    json_t *issues = json_array();
    const char *status = "ACCEPTED";
    if (sets < 0) {
        status = "INVALID";
        json_array_append_new(issues,
                              json_pack("{s:s, s:s, s:s, s:[s], s:[s]}", "code", s == NULL ? "4000001" : "90220",
                                        "message", msg, "severity", "ERROR", "attributeNames",
                                        "fulfillment_availability", "categories", "INVALID_ATTRIBUTE"));
    } else if (mode != NULL && strcmp(mode, "VALIDATION_PREVIEW") == 0) {
        status = "VALID";
    } else if (sets > 0) {
        oc_sim_patch_t *p = oc_calloc(1, sizeof(*p));
        oc_sim_vec_push(&a->patches, p);
        p->sku_index = s->index;
        p->qty = qty;
        p->due_ms = oc_now_ms() + (uint64_t)a->apply_delay_ms;
        s->submitted = qty;
        s->writes++;
        oc_sim_note_write(r, s->sku, qty);
        if (a->apply_delay_ms == 0)
            oc_sim_amazon_catch_up(r->sim, a);
        oc_sim_jobs_arm(r->sim, a);
    }
    oc_sim_reply_json(
        r, 200, json_pack("{s:s, s:s, s:s, s:o}", "sku", sku, "status", status, "submissionId", sub, "issues", issues));
    json_decref(body);
}

static json_t *listing_json(oc_sim_account_t *a, const oc_sim_sku_t *s, const char *included)
{
    char updated[32], created[32];
    oc_time_format(updated, s->updated_ms, OC_TIME_S);
    oc_time_format(created, a->created_ms, OC_TIME_S);
    json_t *j = json_pack("{s:s}", "sku", s->sku);
    if (included == NULL || strstr(included, "summaries") != NULL) {
        json_t *status = s->qty > 0 ? json_pack("[s, s]", "BUYABLE", "DISCOVERABLE") : json_pack("[s]", "DISCOVERABLE");
        json_object_set_new(j, "summaries",
                            json_pack("[{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}]", "marketplaceId", a->marketplace_id,
                                      "asin", s->asin, "productType", "PRODUCT", "conditionType", "new_new", "status",
                                      status, "itemName", s->sku, "createdDate", created, "lastUpdatedDate", updated));
    }
    if (included != NULL && strstr(included, "attributes") != NULL)
        json_object_set_new(j, "attributes",
                            json_pack("{s:[{s:s, s:I, s:s}]}", "fulfillment_availability", "fulfillment_channel_code",
                                      "DEFAULT", "quantity", (json_int_t)s->submitted, "marketplace_id",
                                      a->marketplace_id));
    if (included != NULL && strstr(included, "fulfillmentAvailability") != NULL)
        json_object_set_new(j, "fulfillmentAvailability",
                            json_pack("[{s:s, s:I}]", "fulfillmentChannelCode", "DEFAULT", "quantity",
                                      (json_int_t)(s->qty > 0 ? s->qty : 0)));
    if (included != NULL && strstr(included, "issues") != NULL)
        json_object_set_new(j, "issues", json_array());
    return j;
}

static void get_listing(oc_sim_req_t *r)
{
    if (check_marketplace(r, "marketplaceIds") != 0)
        return;
    oc_sim_sku_t *s = oc_sim_sku_find(r->acct, oc_sim_param(r, "sku"));
    if (s == NULL) {
        sp_error(r, 404, "NOT_FOUND", "Requested item was not found in the seller's catalog.", NULL);
        return;
    }
    oc_sim_reply_json(r, 200, listing_json(r->acct, s, oc_sim_query(r, "includedData")));
}

static void search_listings(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    if (check_marketplace(r, "marketplaceIds") != 0)
        return;
    const char *ps = oc_sim_query(r, "pageSize"), *tok = oc_sim_query(r, "pageToken");
    long long size = ps != NULL ? strtoll(ps, NULL, 10) : 10, start = 0;
    if (size < 1 || size > 20) {
        sp_error(r, 400, "InvalidInput", "pageSize must be between 1 and 20.", NULL);
        return;
    }
    if (tok != NULL) {
        char *d = oc_sim_unb64url(tok);
        if (d == NULL || sscanf(d, "off:%lld", &start) != 1) {
            free(d);
            sp_error(r, 400, "InvalidInput", "Invalid pageToken.", NULL);
            return;
        }
        free(d);
    }
    const char *included = oc_sim_query(r, "includedData");
    json_t *items = json_array();
    for (long long i = start; i < (long long)a->skus.len && i < start + size; i++)
        json_array_append_new(items, listing_json(a, a->skus.items[i], included));
    json_t *j = json_pack("{s:I, s:o}", "numberOfResults", (json_int_t)a->skus.len, "items", items);
    if (start + size < (long long)a->skus.len) {
        char t[32];
        snprintf(t, sizeof(t), "off:%lld", start + size);
        char *enc = oc_sim_b64url(t, strlen(t));
        json_object_set_new(j, "pagination", json_pack("{s:s}", "nextToken", enc != NULL ? enc : ""));
        free(enc);
    }
    oc_sim_reply_json(r, 200, j);
}

/* --- feeds -------------------------------------------------------------------------------------- */

static const char *job_status(const oc_sim_job_t *j, uint64_t now)
{
    if (now < j->start_ms)
        return "IN_QUEUE";
    if (now < j->done_ms || !j->applied)
        return "IN_PROGRESS";
    return j->fatal ? "FATAL" : j->cancelled ? "CANCELLED" : "DONE";
}

static void create_feed_document(oc_sim_req_t *r)
{
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    const char *ct = json_string_value(json_object_get(body, "contentType"));
    if (ct == NULL) {
        sp_error(r, 400, "InvalidInput", "contentType is required.", NULL);
    } else {
        oc_sim_doc_t *d = doc_new(r->sim, r->acct, "amzn1.tortuga.4.na.", ct, NULL, 0);
        oc_sim_reply_json(r, 201, json_pack("{s:s, s:o}", "feedDocumentId", d->id, "url", doc_url(r, d)));
    }
    json_decref(body);
}

static oc_sim_job_t *job_find(oc_sim_vec_t *v, const char *id)
{
    for (size_t i = 0; id != NULL && i < v->len; i++)
        if (strcmp(((oc_sim_job_t *)v->items[i])->id, id) == 0)
            return v->items[i];
    return NULL;
}

static void note_feed_writes(oc_sim_req_t *r, const json_t *feed)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(feed, "messages"), i, m)
    {
        long long qty;
        const char *sku = json_string_value(json_object_get(m, "sku")), *msg;
        json_t *fa = json_object_get(json_object_get(m, "attributes"), "fulfillment_availability");
        if (sku == NULL)
            continue;
        if ((fa != NULL && availability_qty(fa, &qty) == 0) ||
            (fa == NULL && patches_qty(json_object_get(m, "patches"), &qty, &msg) > 0))
            oc_sim_note_write(r, sku, qty);
    }
}

static void create_feed(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    const char *type = json_string_value(json_object_get(body, "feedType"));
    const char *docid = json_string_value(json_object_get(body, "inputFeedDocumentId"));
    oc_sim_doc_t *d = doc_find(r->sim, docid);
    json_t *mps = json_object_get(body, "marketplaceIds");
    if (type == NULL || !json_is_array(mps) || json_array_size(mps) == 0 || docid == NULL) {
        sp_error(r, 400, "InvalidInput", "feedType, marketplaceIds and inputFeedDocumentId are required.", NULL);
    } else if (strcmp(type, "JSON_LISTINGS_FEED") != 0) {
        sp_error(r, 400, "InvalidInput", "The simulator supports feedType JSON_LISTINGS_FEED only.", type);
    } else if (d == NULL || d->account_id != a->id || !d->uploaded) {
        sp_error(r, 400, "InvalidInput", "The input feed document does not exist or holds no content.", docid);
    } else {
        oc_sim_job_t *j = oc_calloc(1, sizeof(*j));
        oc_sim_vec_push(&a->feeds, j);
        snprintf(j->id, sizeof(j->id), "%lld", 50000000000LL + ++r->sim->next_job_seq);
        snprintf(j->type, sizeof(j->type), "%s", type);
        j->created_ms = oc_now_ms();
        j->start_ms = j->created_ms + (uint64_t)a->feed_queue_ms;
        j->done_ms = j->start_ms + (uint64_t)a->feed_process_ms;
        j->input = json_loadb(d->data, d->len, 0, NULL);
        note_feed_writes(r, j->input);
        oc_sim_jobs_arm(r->sim, a);
        oc_sim_reply_json(r, 202, json_pack("{s:s}", "feedId", j->id));
    }
    json_decref(body);
}

static json_t *feed_json(oc_sim_account_t *a, const oc_sim_job_t *j)
{
    uint64_t now = oc_now_ms();
    char created[32], started[32], ended[32];
    oc_time_format(created, j->created_ms, OC_TIME_S);
    oc_time_format(started, j->start_ms, OC_TIME_S);
    oc_time_format(ended, j->done_ms, OC_TIME_S);
    const char *st = job_status(j, now);
    json_t *f = json_pack("{s:s, s:s, s:[s], s:s, s:s}", "feedId", j->id, "feedType", j->type, "marketplaceIds",
                          a->marketplace_id, "createdTime", created, "processingStatus", st);
    if (now >= j->start_ms)
        json_object_set_new(f, "processingStartTime", json_string(started));
    if (strcmp(st, "DONE") == 0 || strcmp(st, "FATAL") == 0) {
        json_object_set_new(f, "processingEndTime", json_string(ended));
        if (j->result_doc[0] != '\0')
            json_object_set_new(f, "resultFeedDocumentId", json_string(j->result_doc));
    }
    return f;
}

static void get_feed(oc_sim_req_t *r)
{
    oc_sim_job_t *j = job_find(&r->acct->feeds, oc_sim_param(r, "feedId"));
    if (j == NULL)
        sp_error(r, 404, "NotFound", "The requested feed was not found.", NULL);
    else
        oc_sim_reply_json(r, 200, feed_json(r->acct, j));
}

static void get_feeds(oc_sim_req_t *r)
{
    const char *ps = oc_sim_query(r, "pageSize");
    long long size = ps != NULL ? strtoll(ps, NULL, 10) : 10;
    if (size < 1 || size > 100) {
        sp_error(r, 400, "InvalidInput", "pageSize must be between 1 and 100.", NULL);
        return;
    }
    json_t *feeds = json_array();
    for (size_t i = r->acct->feeds.len; i-- > 0 && (long long)json_array_size(feeds) < size;)
        json_array_append_new(feeds, feed_json(r->acct, r->acct->feeds.items[i]));
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "feeds", feeds));
}

static void get_document(oc_sim_req_t *r)
{
    oc_sim_doc_t *d = doc_find(r->sim, oc_sim_param(r, "docId"));
    int report = strcmp(r->route->op, "getReportDocument") == 0;
    if (d == NULL || d->account_id != r->acct->id || !d->uploaded) {
        sp_error(r, 404, "NotFound", "The requested document was not found.", NULL);
        return;
    }
    json_t *body = json_pack("{s:s, s:o}", report ? "reportDocumentId" : "feedDocumentId", d->id, "url", doc_url(r, d));
    if (d->gzip)
        json_object_set_new(body, "compressionAlgorithm", json_string("GZIP"));
    oc_sim_reply_json(r, 200, body);
}

static void s3_error(oc_sim_req_t *r, int status, const char *code, const char *message)
{
    char xml[300];
    snprintf(xml, sizeof(xml),
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code,
             message);
    oc_sim_reply_raw(r, status, "application/xml", xml, strlen(xml));
}

static oc_sim_doc_t *s3_doc(oc_sim_req_t *r)
{
    oc_sim_doc_t *d = doc_find(r->sim, oc_sim_param(r, "docId"));
    const char *sig = oc_sim_query(r, "X-Amz-Signature");
    if (d == NULL) {
        s3_error(r, 404, "NoSuchKey", "The specified key does not exist.");
        return NULL;
    }
    if (sig == NULL || strcmp(sig, d->sig) != 0) {
        s3_error(r, 403, "SignatureDoesNotMatch",
                 "The request signature we calculated does not match the signature you provided.");
        return NULL;
    }
    if (oc_now_ms() > d->expires_ms) {
        s3_error(r, 403, "AccessDenied", "Request has expired");
        return NULL;
    }
    return d;
}

static void s3_put(oc_sim_req_t *r)
{
    oc_sim_doc_t *d = s3_doc(r);
    if (d == NULL)
        return;
    char *data = oc_malloc(r->body_len + 1);
    memcpy(data, r->body != NULL ? r->body : "", r->body_len);
    free(d->data);
    d->data = data;
    d->len = r->body_len;
    d->uploaded = 1;
    char etag[40];
    oc_random_hex(etag, 16);
    char quoted[48];
    snprintf(quoted, sizeof(quoted), "\"%s\"", etag);
    oc_sim_header(r, "ETag", quoted);
    oc_sim_reply_raw(r, 200, NULL, "", 0);
}

static void s3_get(oc_sim_req_t *r)
{
    oc_sim_doc_t *d = s3_doc(r);
    if (d == NULL)
        return;
    if (!d->uploaded) {
        s3_error(r, 404, "NoSuchKey", "The specified key does not exist.");
        return;
    }
    oc_sim_reply_raw(r, 200, d->content_type, d->data, d->len);
}

/* --- orders --------------------------------------------------------------------------------------- */

/* Every status of the Orders v0 specification but those of other programs: Unfulfillable (an Amazon-fulfilled
 * order it cannot fulfil), PendingAvailability (a preorder), InvoiceUnconfirmed (shipped, invoice pending). */
static const char *order_status(const oc_sim_order_t *o)
{
    long long shipped = 0, open = 0;
    for (int i = 0; i < o->nlines; i++) {
        shipped += o->lines[i].shipped;
        open += o->lines[i].qty - o->lines[i].shipped - o->lines[i].cancelled;
    }
    if (o->cancelled)
        return o->unfulfillable ? "Unfulfillable" : "Canceled";
    if (o->fulfilled || (shipped > 0 && open == 0))
        return o->invoice_unconfirmed ? "InvoiceUnconfirmed" : "Shipped";
    if (shipped > 0)
        return "PartiallyShipped";
    if (o->preorder)
        return "PendingAvailability";
    return o->pending ? "Pending" : "Unshipped";
}

static json_t *order_json(oc_sim_account_t *a, const oc_sim_order_t *o)
{
    char purchased[32], updated[32], ship[32];
    oc_time_format(purchased, o->created_ms, OC_TIME_S);
    oc_time_format(updated, o->updated_ms, OC_TIME_S);
    oc_time_format(ship, o->created_ms + 86400000ULL, OC_TIME_S);
    long long shipped = 0, unshipped = 0;
    for (int i = 0; i < o->nlines; i++) {
        shipped += o->lines[i].shipped;
        unshipped += o->lines[i].qty - o->lines[i].shipped - o->lines[i].cancelled;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:b, s:b, s:{s:s, s:s}, s:s, s:s, "
                     "s:s, s:s}",
                     "AmazonOrderId", o->id, "PurchaseDate", purchased, "LastUpdateDate", updated, "OrderStatus",
                     order_status(o), "FulfillmentChannel", o->afn ? "AFN" : "MFN", "SalesChannel", "Amazon.com",
                     "OrderType", o->preorder ? "Preorder" : "StandardOrder", "ShipmentServiceLevelCategory",
                     "Standard", "NumberOfItemsShipped", (json_int_t)shipped, "NumberOfItemsUnshipped",
                     (json_int_t)(o->cancelled ? 0 : unshipped), "MarketplaceId", a->marketplace_id, "IsPrime", 0,
                     "IsBusinessOrder", 0, "IsReplacementOrder", 0, "OrderTotal", "CurrencyCode", "USD", "Amount",
                     "10.00", "PaymentMethod", "Other", "EarliestShipDate", ship, "LatestShipDate", ship,
                     "SellerOrderId", o->id);
}

void oc_sim_amazon_notify(oc_sim_t *sim, oc_sim_account_t *a, const oc_sim_order_t *o, const char *change)
{
    char now[32], id[40];
    oc_time_format(now, oc_now_ms(), OC_TIME_MS);
    oc_random_hex(id, 16);
    json_t *items = json_array();
    for (int i = 0; i < o->nlines; i++) {
        const oc_sim_line_t *l = &o->lines[i];
        json_array_append_new(items, json_pack("{s:s, s:s, s:I, s:I}", "OrderItemId", "", "SellerSKU",
                                               oc_sim_sku_at(a, l->sku_index)->sku, "Quantity",
                                               (json_int_t)(l->qty - l->cancelled), "QuantityShipped",
                                               (json_int_t)l->shipped));
        json_object_set_new(json_array_get(items, json_array_size(items) - 1), "OrderItemId",
                            json_sprintf("%014lld", l->line_id));
    }
    json_t *n = json_pack("{s:I, s:s, s:s, s:s, s:{s:{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}}, s:{s:s, s:s, s:s, s:s}}",
                          "seq", (json_int_t)(a->notifications.len + 1), "NotificationVersion", "1.0",
                          "NotificationType", "ORDER_CHANGE", "EventTime", now, "Payload", "OrderChangeNotification",
                          "SellerId", a->seller_id, "AmazonOrderId", o->id, "OrderChangeType", change, "Summary",
                          "MarketplaceId", a->marketplace_id, "OrderStatus", order_status(o), "FulfillmentType",
                          o->afn ? "AFN" : "MFN", "OrderItems", items, "NotificationMetadata", "ApplicationId",
                          a->client_id, "SubscriptionId", "sim-order-change", "PublishTime", now, "NotificationId", id);
    if (a->notifications.len >= MAX_NOTES) {
        json_decref(a->notifications.items[0]);
        memmove(a->notifications.items, a->notifications.items + 1, (a->notifications.len - 1) * sizeof(void *));
        a->notifications.len--;
    }
    oc_sim_vec_push(&a->notifications, n);
}

/* Whether order `o` has one of the statuses in `arg` (OrderStatuses, comma-separated; empty = any). */
static int status_listed(oc_sim_account_t *a, const oc_sim_order_t *o, void *arg)
{
    const char *list = arg, *status = order_status(o);
    (void)a;
    if (list == NULL || *list == '\0')
        return 1;
    size_t l = strlen(status);
    for (const char *p = list; (p = strstr(p, status)) != NULL; p += l)
        if ((p == list || p[-1] == ',') && (p[l] == '\0' || p[l] == ','))
            return 1;
    return 0;
}

static void get_orders(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    if (check_marketplace(r, "MarketplaceIds") != 0)
        return;
    const char *token = oc_sim_query(r, "NextToken"), *mr = oc_sim_query(r, "MaxResultsPerPage");
    long long max = mr != NULL ? strtoll(mr, NULL, 10) : 100;
    if (max < 1 || max > 100) {
        sp_error(r, 400, "InvalidInput", "MaxResultsPerPage must be between 1 and 100.", NULL);
        return;
    }
    oc_sim_cursor_t c = {0};
    if (token != NULL) {
        if (oc_sim_cursor_decode(token, &c) != 0) {
            sp_error(r, 400, "InvalidInput", "Invalid NextToken.", NULL);
            return;
        }
        if (mr == NULL && c.limit > 0)
            max = c.limit;
    } else {
        const char *ca = oc_sim_query(r, "CreatedAfter"), *la = oc_sim_query(r, "LastUpdatedAfter");
        const char *cb = oc_sim_query(r, "CreatedBefore"), *lb = oc_sim_query(r, "LastUpdatedBefore");
        if ((ca == NULL) == (la == NULL)) {
            sp_error(r, 400, "InvalidInput", "Exactly one of CreatedAfter and LastUpdatedAfter must be specified.",
                     NULL);
            return;
        }
        if ((la != NULL && cb != NULL) || (ca != NULL && lb != NULL)) {
            sp_error(r, 400, "InvalidInput",
                     "CreatedBefore goes with CreatedAfter, LastUpdatedBefore with "
                     "LastUpdatedAfter.",
                     NULL);
            return;
        }
        c.by_update = la != NULL;
        c.before_ms = oc_now_ms();
        const char *before = c.by_update ? lb : cb;
        if (oc_sim_parse_time(c.by_update ? la : ca, &c.after_ms) != 0 ||
            (before != NULL && oc_sim_parse_time(before, &c.before_ms) != 0)) {
            sp_error(r, 400, "InvalidInput", "Dates must be in ISO 8601 format.", NULL);
            return;
        }
        if (c.before_ms < c.after_ms) {
            sp_error(r, 400, "InvalidInput", "The 'Before' date must be later than the 'After' date.", NULL);
            return;
        }
        const char *st = oc_sim_query(r, "OrderStatuses");
        snprintf(c.extra, sizeof(c.extra), "%s", st != NULL ? st : "");
        c.last_seq = -1;
        c.limit = (int)max;
    }
    oc_sim_order_page_t pg;
    oc_sim_order_page(a, &c, max, status_listed, c.extra, &pg);
    json_t *orders = json_array();
    for (size_t i = 0; i < pg.n; i++)
        json_array_append_new(orders, order_json(a, pg.orders[i]));
    free(pg.orders);
    char bound[32];
    oc_time_format(bound, c.before_ms, OC_TIME_S);
    json_t *payload = json_pack("{s:o}", "Orders", orders);
    if (pg.more) {
        char *t = oc_sim_cursor_encode(&c);
        if (t != NULL)
            json_object_set_new(payload, "NextToken", json_string(t));
        free(t);
    }
    json_object_set_new(payload, c.by_update ? "LastUpdatedBefore" : "CreatedBefore", json_string(bound));
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "payload", payload));
}

static void get_order(oc_sim_req_t *r)
{
    oc_sim_order_t *o = oc_sim_order_find(r->acct, oc_sim_param(r, "orderId"));
    if (o == NULL)
        sp_error(r, 404, "NotFound", "Order not found.", NULL);
    else
        oc_sim_reply_json(r, 200, json_pack("{s:o}", "payload", order_json(r->acct, o)));
}

static void get_order_items(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    oc_sim_order_t *o = oc_sim_order_find(a, oc_sim_param(r, "orderId"));
    if (o == NULL) {
        sp_error(r, 404, "NotFound", "Order not found.", NULL);
        return;
    }
    /* pages of order_items_page items; NextToken is the next item's index */
    long long from = 0;
    const char *token = oc_sim_query(r, "NextToken");
    if (token != NULL) {
        char *d = oc_sim_unb64url(token);
        if (d == NULL || sscanf(d, "items:%lld", &from) != 1 || from < 0 || from >= o->nlines) {
            free(d);
            sp_error(r, 400, "InvalidInput", "Invalid NextToken.", NULL);
            return;
        }
        free(d);
    }
    json_t *items = json_array();
    int i;
    for (i = (int)from; i < o->nlines && (int)json_array_size(items) < a->order_items_page; i++) {
        const oc_sim_line_t *l = &o->lines[i];
        oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
        json_t *it = json_pack("{s:s, s:s, s:s, s:I, s:I, s:{s:s, s:s}, s:s, s:s}", "ASIN", s->asin, "SellerSKU",
                               s->sku, "Title", s->sku, "QuantityOrdered", (json_int_t)l->qty, "QuantityShipped",
                               (json_int_t)l->shipped, "ItemPrice", "CurrencyCode", "USD", "Amount", "10.00",
                               "ConditionId", "New", "IsGift", "false"); /* a string in the specification */
        json_object_set_new(it, "OrderItemId", json_sprintf("%014lld", l->line_id));
        if (l->cancelled > 0)
            json_object_set_new(
                it, "BuyerRequestedCancel",
                json_pack("{s:s, s:s}", "IsBuyerRequestedCancel", "true", "BuyerCancelReason", o->cancel_reason));
        json_array_append_new(items, it);
    }
    json_t *payload = json_pack("{s:s, s:o}", "AmazonOrderId", o->id, "OrderItems", items);
    if (i < o->nlines) {
        char t[32];
        snprintf(t, sizeof(t), "items:%d", i);
        char *enc = oc_sim_b64url(t, strlen(t));
        json_object_set_new(payload, "NextToken", json_string(enc != NULL ? enc : ""));
        free(enc);
    }
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "payload", payload));
}

/* --- reports ------------------------------------------------------------------------------------------ */

static void create_report(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    json_t *body = oc_sim_json_parse(r->body, r->body_len);
    const char *type = json_string_value(json_object_get(body, "reportType"));
    const char *ds = json_string_value(json_object_get(body, "dataStartTime"));
    const char *de = json_string_value(json_object_get(body, "dataEndTime"));
    uint64_t now = oc_now_ms(), start = now - 30ULL * 86400000ULL, end = now;
    if (type == NULL || !json_is_array(json_object_get(body, "marketplaceIds"))) {
        sp_error(r, 400, "InvalidInput", "reportType and marketplaceIds are required.", NULL);
    } else if (strcmp(type, RETURNS_REPORT) != 0 && strcmp(type, LISTINGS_REPORT) != 0) {
        sp_error(r, 400, "InvalidInput",
                 "The simulator supports GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE and GET_MERCHANT_LISTINGS_ALL_DATA.",
                 type);
    } else if ((ds != NULL && oc_sim_parse_time(ds, &start) != 0) || (de != NULL && oc_sim_parse_time(de, &end) != 0) ||
               end < start) {
        sp_error(r, 400, "InvalidInput", "dataStartTime and dataEndTime must be ISO 8601, start before end.", NULL);
    } else if (strcmp(type, RETURNS_REPORT) == 0 && end - start > 60ULL * 86400000ULL) {
        sp_error(r, 400, "InvalidInput", "The date range of this report type may not exceed 60 days.", NULL);
    } else {
        oc_sim_job_t *j = oc_calloc(1, sizeof(*j));
        oc_sim_vec_push(&a->reports, j);
        snprintf(j->id, sizeof(j->id), "%lld", 70000000000LL + ++r->sim->next_job_seq);
        snprintf(j->type, sizeof(j->type), "%s", type);
        j->created_ms = now;
        j->start_ms = now + (uint64_t)a->report_ms / 2;
        j->done_ms = now + (uint64_t)a->report_ms;
        j->data_start_ms = start;
        j->data_end_ms = end;
        if (a->report_ms == 0)
            oc_sim_amazon_catch_up(r->sim, a);
        oc_sim_jobs_arm(r->sim, a);
        oc_sim_reply_json(r, 202, json_pack("{s:s}", "reportId", j->id));
    }
    json_decref(body);
}

static void get_report(oc_sim_req_t *r)
{
    oc_sim_account_t *a = r->acct;
    oc_sim_job_t *j = job_find(&a->reports, oc_sim_param(r, "reportId"));
    if (j == NULL) {
        sp_error(r, 404, "NotFound", "The requested report was not found.", NULL);
        return;
    }
    uint64_t now = oc_now_ms();
    char created[32], started[32], ended[32], ds[32], de[32];
    oc_time_format(created, j->created_ms, OC_TIME_S);
    oc_time_format(started, j->start_ms, OC_TIME_S);
    oc_time_format(ended, j->done_ms, OC_TIME_S);
    oc_time_format(ds, j->data_start_ms, OC_TIME_S);
    oc_time_format(de, j->data_end_ms, OC_TIME_S);
    const char *st = job_status(j, now);
    json_t *rep = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:s, s:s}", "reportId", j->id, "reportType", j->type,
                            "dataStartTime", ds, "dataEndTime", de, "marketplaceIds", a->marketplace_id, "createdTime",
                            created, "processingStatus", st);
    if (now >= j->start_ms)
        json_object_set_new(rep, "processingStartTime", json_string(started));
    if (strcmp(st, "DONE") == 0) {
        json_object_set_new(rep, "processingEndTime", json_string(ended));
        json_object_set_new(rep, "reportDocumentId", json_string(j->result_doc));
    }
    oc_sim_reply_json(r, 200, rep);
}

/* --- the table ----------------------------------------------------------------------------------------- */

static const oc_sim_route_t routes[] = {
    {"POST", "/auth/o2/token", lwa_token, "lwaToken", NULL, OC_SIM_NOAUTH},
    {"PATCH", "/listings/2021-08-01/items/{sellerId}/{sku}", patch_listing, "patchListingsItem", NULL, 0},
    {"GET", "/listings/2021-08-01/items/{sellerId}/{sku}", get_listing, "getListingsItem", NULL, 0},
    {"GET", "/listings/2021-08-01/items/{sellerId}", search_listings, "searchListingsItems", NULL, 0},
    {"POST", "/feeds/2021-06-30/documents", create_feed_document, "createFeedDocument", NULL, 0},
    {"GET", "/feeds/2021-06-30/documents/{docId}", get_document, "getFeedDocument", NULL, 0},
    {"POST", "/feeds/2021-06-30/feeds", create_feed, "createFeed", NULL, 0},
    {"GET", "/feeds/2021-06-30/feeds", get_feeds, "getFeeds", NULL, 0},
    {"GET", "/feeds/2021-06-30/feeds/{feedId}", get_feed, "getFeed", NULL, 0},
    {"GET", "/orders/v0/orders", get_orders, "getOrders", NULL, 0},
    {"GET", "/orders/v0/orders/{orderId}", get_order, "getOrder", NULL, 0},
    {"GET", "/orders/v0/orders/{orderId}/orderItems", get_order_items, "getOrderItems", NULL, 0},
    {"POST", "/reports/2021-06-30/reports", create_report, "createReport", NULL, 0},
    {"GET", "/reports/2021-06-30/reports/{reportId}", get_report, "getReport", NULL, 0},
    {"GET", "/reports/2021-06-30/documents/{docId}", get_document, "getReportDocument", NULL, 0},
    {"PUT", "/_s3/{docId}", s3_put, "s3Put", NULL, OC_SIM_NOAUTH},
    {"GET", "/_s3/{docId}", s3_get, "s3Get", NULL, OC_SIM_NOAUTH},
};

const oc_sim_channel_ops_t oc_sim_amazon_ops = OC_SIM_CHANNEL_OPS("amazon", rate_header);
