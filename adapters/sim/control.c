/*
 * control.c — the simulators' control API under /_sim/ (JSON, no auth,
 * loopback clients only; sim.c enforces the latter).
 *
 * Tests, demos and benchmarks use it to create accounts (credentials and
 * stock), edit stock as a merchant would on the channel, inject orders,
 * cancellations, fulfilments and returns, drive order generators, set
 * faults, and read the request log, the webhook delivery log and sales
 * statistics.  The routes are listed in adapters/sim/README.md.
 */
#include "adapters/sim/sim_internal.h"
#include "runtime/log.h"

#include <stdio.h>
#include <stdlib.h>

static void fail(oc_sim_req_t *r, int status, const char *message)
{
    oc_sim_reply_json(r, status, json_pack("{s:s}", "error", message));
}

static json_t *body_object(oc_sim_req_t *r)
{
    if (r->body_len == 0)
        return json_object();
    json_t *j = oc_sim_json_parse(r->body, r->body_len);
    if (j == NULL)
        fail(r, 400, "the body must be a JSON object");
    return j;
}

static long long query_int(oc_sim_req_t *r, const char *name, long long dflt)
{
    const char *v = oc_sim_query(r, name);
    return v != NULL && *v != '\0' ? strtoll(v, NULL, 10) : dflt;
}

/* --- accounts ------------------------------------------------------------------------------ */

static void accounts_create(oc_sim_req_t *r)
{
    json_t *spec = body_object(r);
    if (spec == NULL)
        return;
    char err[256] = "";
    oc_sim_account_t *a = oc_sim_account_create(r->sim, spec, err, sizeof(err));
    json_decref(spec);
    if (a == NULL) {
        fail(r, strstr(err, "exists") != NULL ? 409 : 422, err);
        return;
    }
    oc_log_fields(OC_LOG_INFO, "sim account created",
                  json_pack("{s:i, s:s, s:s}", "account", a->id, "channel",
                            a->channel == OC_SIM_SHOPIFY  ? "shopify"
                            : a->channel == OC_SIM_AMAZON ? "amazon"
                                                          : "walmart",
                            "name", a->name));
    oc_sim_reply_json(r, 201, oc_sim_account_json(r->sim, a, r->base, 1));
}

static void accounts_list(oc_sim_req_t *r)
{
    json_t *list = json_array();
    for (size_t i = 0; i < r->sim->accounts.len; i++)
        json_array_append_new(list, oc_sim_account_json(r->sim, r->sim->accounts.items[i], r->base, 0));
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "accounts", list));
}

static void account_get(oc_sim_req_t *r, oc_sim_account_t *a)
{
    oc_sim_reply_json(r, 200, oc_sim_account_json(r->sim, a, r->base, 1));
}

static void account_patch(oc_sim_req_t *r, oc_sim_account_t *a)
{
    json_t *spec = body_object(r);
    if (spec == NULL)
        return;
    static const char *const allowed[] = {
        "token_ttl_s", "refresh_ttl_s", "apply_delay_ms",   "feed_queue_ms",   "feed_process_ms",
        "report_ms",   "pending_ms",    "limits",           "faults",          "webhook",
        "generator",   "report_gzip",   "order_items_page", "marketplace_ids", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(spec, k, v)
    {
        int ok = 0;
        for (int i = 0; allowed[i] != NULL; i++)
            ok |= strcmp(allowed[i], k) == 0;
        if (!ok) {
            char msg[128];
            snprintf(msg, sizeof(msg), "%s cannot be changed after creation", k);
            fail(r, 422, msg);
            json_decref(spec);
            return;
        }
    }
    char err[256] = "";
    int rc = oc_sim_account_configure(r->sim, a, spec, err, sizeof(err));
    json_decref(spec);
    if (rc != 0)
        fail(r, 422, err);
    else
        account_get(r, a);
}

static void account_delete(oc_sim_req_t *r, oc_sim_account_t *a)
{
    oc_sim_account_delete(r->sim, a);
    oc_sim_reply_json(r, 204, NULL);
}

/* --- stock --------------------------------------------------------------------------------- */

static void stock_get(oc_sim_req_t *r, oc_sim_account_t *a)
{
    json_t *j = oc_sim_account_json(r->sim, a, r->base, 0), *stock = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(j, "skus"), i, s)
        json_object_set(stock, json_string_value(json_object_get(s, "sku")), json_object_get(s, "quantity"));
    oc_sim_reply_json(r, 200, json_pack("{s:O, s:o}", "skus", json_object_get(j, "skus"), "stock", stock));
    json_decref(j);
}

/* {"SKU": qty, …}, {"stock": {…}} or {"skus": [{"sku", "quantity"}]}: a merchant editing stock on the channel. */
static void stock_put(oc_sim_req_t *r, oc_sim_account_t *a)
{
    json_t *body = body_object(r);
    if (body == NULL)
        return;
    json_t *map = json_object_get(body, "stock"), *list = json_object_get(body, "skus");
    json_t *changes = json_object();
    if (list != NULL) {
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
        {
            const char *sku = json_string_value(json_object_get(e, "sku"));
            if (sku != NULL)
                json_object_set(changes, sku, json_object_get(e, "quantity"));
        }
    } else {
        json_object_update(changes, map != NULL ? map : body);
    }
    const char *k;
    json_t *v;
    long long q;
    json_object_foreach(changes, k, v) if (!oc_sim_json_int(v, &q) || *k == '\0' || strlen(k) > 200)
    {
        char msg[256];
        snprintf(msg, sizeof(msg), "the quantity of \"%.200s\" must be an integer", k);
        fail(r, 422, msg);
        json_decref(changes);
        json_decref(body);
        return;
    }
    json_object_foreach(changes, k, v)
    {
        oc_sim_json_int(v, &q);
        oc_sim_sku_t *s = oc_sim_sku_find(a, k);
        if (s == NULL) {
            s = oc_sim_sku_add(r->sim, a, k, 0);
            if (s == NULL)
                continue;
            if (a->gen.running)
                oc_sim_generator_start(r->sim, a);
        }
        oc_sim_set_qty(r->sim, a, s, q, 0);
    }
    json_decref(changes);
    json_decref(body);
    stock_get(r, a);
}

/* --- orders -------------------------------------------------------------------------------- */

static void orders_list(oc_sim_req_t *r, oc_sim_account_t *a)
{
    long long since = query_int(r, "since", 0), limit = query_int(r, "limit", 1000);
    json_t *list = json_array();
    for (size_t i = (size_t)(since > 0 ? since : 0); i < a->orders.len && (long long)json_array_size(list) < limit; i++)
        json_array_append_new(list, oc_sim_order_json(a, a->orders.items[i]));
    oc_sim_reply_json(r, 200, json_pack("{s:o, s:I}", "orders", list, "total", (json_int_t)a->orders.len));
}

static void orders_create(oc_sim_req_t *r, oc_sim_account_t *a)
{
    json_t *body = body_object(r);
    if (body == NULL)
        return;
    json_t *lines = json_object_get(body, "lines");
    json_t *single = NULL;
    if (lines == NULL && json_object_get(body, "sku") != NULL)
        lines = single = json_pack("[O]", body);
    size_t n = json_array_size(lines);
    oc_sim_line_spec_t *spec = oc_calloc(n > 0 ? n : 1, sizeof(*spec));
    const char *err = NULL;
    size_t i;
    json_t *e;
    if (n == 0)
        err = "give lines: [{sku, quantity}] or sku and quantity";
    json_array_foreach(lines, i, e)
    {
        if (err != NULL)
            break;
        const char *sku = json_string_value(json_object_get(e, "sku"));
        long long q = 1;
        spec[i].sku = sku != NULL ? oc_sim_sku_find(a, sku) : NULL;
        if (spec[i].sku == NULL)
            err = "a line names a sku the account does not have";
        else if (json_object_get(e, "quantity") != NULL && !oc_sim_json_int(json_object_get(e, "quantity"), &q))
            err = "line quantities must be integers";
        spec[i].qty = q;
    }
    oc_sim_order_t *o = NULL;
    const char *fc = json_string_value(json_object_get(body, "fulfillment_channel"));
    unsigned flags = (json_is_true(json_object_get(body, "preorder")) ? OC_SIM_ORDER_PREORDER : 0) |
                     (fc != NULL && strcmp(fc, "AFN") == 0 ? OC_SIM_ORDER_AFN : 0);
    if (err == NULL && (flags != 0 && a->channel != OC_SIM_AMAZON))
        err = "preorder and fulfillment_channel are Amazon's";
    else if (err == NULL && fc != NULL && strcmp(fc, "AFN") != 0 && strcmp(fc, "MFN") != 0)
        err = "fulfillment_channel is AFN or MFN";
    if (err == NULL)
        o = oc_sim_order_place_ex(r->sim, a, spec, (int)n, json_is_true(json_object_get(body, "force")), 0, flags,
                                  &err);
    if (o == NULL) {
        fail(r, err != NULL && strstr(err, "stock") != NULL ? 409 : 422, err != NULL ? err : "cannot place the order");
    } else {
        json_t *lc = json_object_get(body, "lifecycle");
        if (json_is_true(lc)) {
            oc_sim_order_lifecycle(r->sim, a, o, &a->gen.lifecycle);
        } else if (json_is_object(lc)) {
            oc_sim_lifecycle_t l = a->gen.lifecycle;
            char msg[200];
            if (oc_sim_lifecycle_parse(&l, lc, msg, sizeof(msg)) == 0)
                oc_sim_order_lifecycle(r->sim, a, o, &l);
        }
        oc_sim_reply_json(r, 201, oc_sim_order_json(a, o));
    }
    free(spec);
    json_decref(single);
    json_decref(body);
}

static oc_sim_order_t *order_param(oc_sim_req_t *r, oc_sim_account_t *a, const char *id)
{
    oc_sim_order_t *o = oc_sim_order_find(a, id);
    if (o == NULL) {
        char *end;
        long long num = strtoll(id, &end, 10);
        if (*end == '\0' && num >= 1 && (size_t)num <= a->orders.len && a->channel != OC_SIM_SHOPIFY)
            o = a->orders.items[num - 1];
    }
    if (o == NULL)
        fail(r, 404, "no such order on this account");
    return o;
}

/* The line a body names by "line" (index) or "sku"; default 0. */
static int line_of(oc_sim_account_t *a, oc_sim_order_t *o, json_t *body)
{
    long long line = 0;
    const char *sku = json_string_value(json_object_get(body, "sku"));
    if (sku != NULL) {
        for (int i = 0; i < o->nlines; i++)
            if (strcmp(oc_sim_sku_at(a, o->lines[i].sku_index)->sku, sku) == 0)
                return i;
        return -1;
    }
    if (json_object_get(body, "line") != NULL && !oc_sim_json_int(json_object_get(body, "line"), &line))
        return -1;
    return (int)line;
}

static void order_action(oc_sim_req_t *r, oc_sim_account_t *a, const char *id, const char *action)
{
    oc_sim_order_t *o = order_param(r, a, id);
    if (o == NULL)
        return;
    json_t *body = body_object(r);
    if (body == NULL)
        return;
    const char *err = NULL;
    int rc;
    if (strcmp(action, "cancel") == 0) {
        json_t *restock = json_object_get(body, "restock");
        rc = oc_sim_order_cancel(r->sim, a, o, restock == NULL || json_is_true(restock),
                                 json_string_value(json_object_get(body, "reason")), &err);
    } else if (strcmp(action, "fulfill") == 0 && json_object_get(body, "line") != NULL) {
        /* one line only: the order is partly shipped */
        int line = line_of(a, o, body);
        long long qty =
            line >= 0 && line < o->nlines ? o->lines[line].qty - o->lines[line].cancelled - o->lines[line].shipped : 0;
        rc = oc_sim_order_ship_line(r->sim, a, o, line, qty, &err);
    } else if (strcmp(action, "fulfill") == 0) {
        rc = oc_sim_order_fulfill(r->sim, a, o, &err);
        if (rc == 0 && json_is_true(json_object_get(body, "invoice_unconfirmed")))
            o->invoice_unconfirmed = 1;
    } else if (strcmp(action, "deliver") == 0) {
        rc = -1;
        err = "deliveries are Walmart's";
        if (a->channel == OC_SIM_WALMART)
            rc = oc_sim_order_deliver(r->sim, a, o, &err);
    } else if (strcmp(action, "unfulfillable") == 0) {
        rc = -1;
        err = "only an Amazon-fulfilled (AFN) order that is not shipped can be unfulfillable";
        if (a->channel == OC_SIM_AMAZON && o->afn && !o->fulfilled && !o->cancelled &&
            (rc = oc_sim_order_cancel(r->sim, a, o, 0, "unfulfillable", &err)) == 0)
            o->unfulfillable = 1;
    } else if (json_is_true(json_object_get(body, "refund_only"))) {
        /* Walmart: money back for shipped units, nothing returned */
        int line = line_of(a, o, body);
        long long qty = 1;
        if (json_object_get(body, "quantity") != NULL && !oc_sim_json_int(json_object_get(body, "quantity"), &qty))
            qty = 0;
        rc = -1;
        err = "refund_only is Walmart's (Shopify: restock_type no_restock)";
        if (a->channel == OC_SIM_WALMART)
            rc = oc_sim_order_refund_only(r->sim, a, o, line, qty, &err);
    } else {
        int line = line_of(a, o, body);
        long long qty = 0;
        if (line < 0 || line >= o->nlines) {
            rc = -1;
            err = "no such order line";
        } else {
            oc_sim_line_t *l = &o->lines[line];
            qty = l->shipped - l->returned - l->refunded;
            if (qty <= 0)
                qty = l->qty - l->cancelled - l->shipped;
            if (json_object_get(body, "quantity") != NULL && !oc_sim_json_int(json_object_get(body, "quantity"), &qty))
                qty = 0;
            rc = oc_sim_order_return(r->sim, a, o, line, qty, json_string_value(json_object_get(body, "restock_type")),
                                     json_string_value(json_object_get(body, "reason")), &err);
        }
    }
    json_decref(body);
    if (rc != 0)
        fail(r, 409, err);
    else
        oc_sim_reply_json(r, 200, oc_sim_order_json(a, o));
}

static void order_get(oc_sim_req_t *r, oc_sim_account_t *a, const char *id)
{
    oc_sim_order_t *o = order_param(r, a, id);
    if (o == NULL)
        return;
    json_t *j = oc_sim_order_json(a, o);
    if (a->channel == OC_SIM_SHOPIFY)
        json_object_set_new(j, "shopify", oc_sim_shopify_order_json(r->sim, a, o));
    oc_sim_reply_json(r, 200, j);
}

/* --- generator, faults, tokens, notifications ------------------------------------------------------ */

static void generator_put(oc_sim_req_t *r, oc_sim_account_t *a)
{
    json_t *body = body_object(r);
    if (body == NULL)
        return;
    char err[256] = "";
    int rc = oc_sim_generator_configure(r->sim, a, body, err, sizeof(err));
    json_decref(body);
    if (rc != 0)
        fail(r, 422, err);
    else
        oc_sim_reply_json(r, 200, oc_sim_generator_json(a));
}

static void faults_put(oc_sim_req_t *r, oc_sim_faults_t *f, int replace)
{
    json_t *body = body_object(r);
    if (body == NULL)
        return;
    oc_sim_faults_t nf = *f;
    if (replace)
        oc_sim_faults_clear(&nf);
    char err[256] = "";
    int rc = oc_sim_faults_parse(&nf, body, err, sizeof(err));
    json_decref(body);
    if (rc != 0) {
        fail(r, 422, err);
        return;
    }
    *f = nf;
    oc_sim_reply_json(r, 200, oc_sim_faults_json(f));
}

static void auth_code(oc_sim_req_t *r, oc_sim_account_t *a)
{
    if (a->channel != OC_SIM_SHOPIFY) {
        fail(r, 422, "authorization codes are for Shopify accounts");
        return;
    }
    char hex[40];
    oc_random_hex(hex, 16);
    oc_sim_token_t *t = oc_calloc(1, sizeof(*t));
    oc_sim_map_put(&r->sim->tokens, hex, t);
    t->account_id = a->id;
    t->kind = OC_SIM_TOKEN_CODE;
    t->expires_ms = oc_now_ms() + 300000;
    oc_sim_reply_json(r, 201, json_pack("{s:s, s:i}", "code", hex, "expires_in", 300));
}

static void notifications(oc_sim_req_t *r, oc_sim_account_t *a)
{
    long long since = query_int(r, "since", 0), limit = query_int(r, "limit", 1000);
    json_t *list = json_array();
    for (size_t i = 0; i < a->notifications.len && (long long)json_array_size(list) < limit; i++) {
        json_t *n = a->notifications.items[i];
        long long seq = 0;
        oc_sim_json_int(json_object_get(n, "seq"), &seq);
        if (seq > since)
            json_array_append(list, n);
    }
    oc_sim_reply_json(r, 200, json_pack("{s:o}", "notifications", list));
}

/* --- logs, stats, reset ---------------------------------------------------------------------------- */

static void requests(oc_sim_req_t *r)
{
    long long limit = query_int(r, "limit", 1000);
    if (limit < 1 || limit > 100000)
        limit = 1000;
    oc_sim_reply_json(r, 200,
                      oc_sim_log_query(r->sim, (int)query_int(r, "account", 0), query_int(r, "since", 0), (size_t)limit,
                                       oc_sim_query(r, "path"), query_int(r, "capture", 0) == 1));
}

static void webhooks(oc_sim_req_t *r)
{
    long long limit = query_int(r, "limit", 1000);
    if (limit < 1 || limit > 100000)
        limit = 1000;
    oc_sim_reply_json(r, 200,
                      oc_sim_webhooks_log(r->sim->webhooks, (int)query_int(r, "account", 0), query_int(r, "since", 0),
                                          (size_t)limit));
}

static void stats(oc_sim_req_t *r, oc_sim_account_t *only)
{
    json_t *accounts = json_array();
    long long orders = 0, sold = 0, oversold = 0, stockouts = 0, lost = 0;
    for (size_t i = 0; i < r->sim->accounts.len; i++) {
        oc_sim_account_t *a = r->sim->accounts.items[i];
        if (only != NULL && a != only)
            continue;
        json_t *full = oc_sim_account_json(r->sim, a, r->base, 1), *skus = json_array(), *s;
        size_t k;
        json_array_foreach(json_object_get(full, "skus"), k, s)
        {
            json_t *st = json_object_get(s, "stats");
            long long v;
            if (oc_sim_json_int(json_object_get(st, "orders"), &v))
                orders += v;
            if (oc_sim_json_int(json_object_get(st, "sold"), &v))
                sold += v;
            if (oc_sim_json_int(json_object_get(st, "oversold"), &v))
                oversold += v;
            if (oc_sim_json_int(json_object_get(st, "stockouts"), &v))
                stockouts += v;
            if (oc_sim_json_int(json_object_get(st, "lost_arrivals"), &v))
                lost += v;
            json_t *row = json_deep_copy(st);
            json_object_set(row, "sku", json_object_get(s, "sku"));
            json_object_set(row, "quantity", json_object_get(s, "quantity"));
            json_array_append_new(skus, row);
        }
        json_array_append_new(accounts, json_pack("{s:i, s:O, s:O, s:o}", "id", a->id, "channel",
                                                  json_object_get(full, "channel"), "name",
                                                  json_object_get(full, "name"), "skus", skus));
        json_decref(full);
    }
    oc_sim_reply_json(r, 200,
                      json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:I}", "accounts", accounts, "totals", "orders",
                                (json_int_t)orders, "sold", (json_int_t)sold, "oversold", (json_int_t)oversold,
                                "stockouts", (json_int_t)stockouts, "lost_arrivals", (json_int_t)lost, "requests",
                                (json_int_t)r->sim->next_log_id));
}

static void reset(oc_sim_req_t *r)
{
    json_t *body = body_object(r);
    if (body == NULL)
        return;
    long long seed = 1, cap = (long long)(r->sim->log_cap > 0 ? r->sim->log_cap : 20000);
    json_t *s = json_object_get(body, "seed"), *c = json_object_get(body, "request_log_capacity");
    json_t *capture = json_object_get(body, "capture");
    if ((s != NULL && !oc_sim_json_int(s, &seed)) ||
        (c != NULL && (!oc_sim_json_int(c, &cap) || cap < 1 || cap > 10000000)) ||
        (capture != NULL && !json_is_boolean(capture))) {
        json_decref(body);
        fail(r, 422, "seed must be an integer, request_log_capacity 1..10000000, capture a boolean");
        return;
    }
    int cap_on = json_is_true(capture);
    json_decref(body);
    r->sim->log_want = (size_t)cap;
    oc_sim_reset(r->sim);
    r->sim->capture = cap_on;
    oc_sim_rng_seed(&r->sim->rng, (uint64_t)seed);
    oc_log_info("sim: reset");
    oc_sim_reply_json(r, 200,
                      json_pack("{s:s, s:I, s:I}", "status", "reset", "seed", (json_int_t)seed, "request_log_capacity",
                                (json_int_t)cap));
}

/* --- dispatch --------------------------------------------------------------------------------------- */

static int is(oc_sim_req_t *r, const char *method)
{
    return strcmp(r->method, method) == 0;
}

static void account_routes(oc_sim_req_t *r, oc_sim_account_t *a)
{
    int n = r->nsegs;
    const char *sub = n > 3 ? r->segs[3] : NULL;
    if (n == 3) {
        if (is(r, "GET"))
            account_get(r, a);
        else if (is(r, "PATCH"))
            account_patch(r, a);
        else if (is(r, "DELETE"))
            account_delete(r, a);
        else
            fail(r, 405, "method not allowed");
        return;
    }
    if (n == 4 && strcmp(sub, "stock") == 0) {
        if (is(r, "GET"))
            stock_get(r, a);
        else if (is(r, "PUT") || is(r, "POST") || is(r, "PATCH"))
            stock_put(r, a);
        else
            fail(r, 405, "method not allowed");
    } else if (n == 4 && strcmp(sub, "orders") == 0) {
        if (is(r, "GET"))
            orders_list(r, a);
        else if (is(r, "POST"))
            orders_create(r, a);
        else
            fail(r, 405, "method not allowed");
    } else if (n == 5 && strcmp(sub, "orders") == 0 && is(r, "GET")) {
        order_get(r, a, r->segs[4]);
    } else if (n == 6 && strcmp(sub, "orders") == 0 && is(r, "POST") &&
               (strcmp(r->segs[5], "cancel") == 0 || strcmp(r->segs[5], "fulfill") == 0 ||
                strcmp(r->segs[5], "return") == 0 || strcmp(r->segs[5], "refund") == 0 ||
                strcmp(r->segs[5], "deliver") == 0 || strcmp(r->segs[5], "unfulfillable") == 0)) {
        order_action(r, a, r->segs[4], r->segs[5]);
    } else if (n == 4 && strcmp(sub, "generator") == 0) {
        if (is(r, "GET"))
            oc_sim_reply_json(r, 200, oc_sim_generator_json(a));
        else if (is(r, "PUT") || is(r, "POST"))
            generator_put(r, a);
        else if (is(r, "DELETE")) {
            oc_sim_generator_stop(r->sim, a);
            oc_sim_reply_json(r, 200, oc_sim_generator_json(a));
        } else
            fail(r, 405, "method not allowed");
    } else if (n == 5 && strcmp(sub, "generator") == 0 && is(r, "POST") &&
               (strcmp(r->segs[4], "start") == 0 || strcmp(r->segs[4], "stop") == 0)) {
        if (strcmp(r->segs[4], "stop") == 0)
            oc_sim_generator_stop(r->sim, a);
        else if (!a->gen.configured) {
            fail(r, 409, "configure the generator first (PUT .../generator)");
            return;
        } else
            oc_sim_generator_start(r->sim, a);
        oc_sim_reply_json(r, 200, oc_sim_generator_json(a));
    } else if (n == 4 && strcmp(sub, "faults") == 0) {
        if (is(r, "GET"))
            oc_sim_reply_json(r, 200, oc_sim_faults_json(&a->faults));
        else if (is(r, "PUT"))
            faults_put(r, &a->faults, 1);
        else if (is(r, "PATCH"))
            faults_put(r, &a->faults, 0);
        else if (is(r, "DELETE")) {
            oc_sim_faults_clear(&a->faults);
            oc_sim_reply_json(r, 200, oc_sim_faults_json(&a->faults));
        } else
            fail(r, 405, "method not allowed");
    } else if (n == 5 && strcmp(sub, "tokens") == 0 && strcmp(r->segs[4], "expire") == 0 && is(r, "POST")) {
        oc_sim_tokens_expire(r->sim, a->id);
        oc_sim_reply_json(r, 200, json_pack("{s:s}", "status", "expired"));
    } else if (n == 4 && strcmp(sub, "auth_code") == 0 && is(r, "POST")) {
        auth_code(r, a);
    } else if (n == 4 && strcmp(sub, "notifications") == 0 && is(r, "GET")) {
        notifications(r, a);
    } else if (n == 4 && strcmp(sub, "stats") == 0 && is(r, "GET")) {
        stats(r, a);
    } else if (n == 4 && strcmp(sub, "requests") == 0 && is(r, "GET")) {
        long long limit = query_int(r, "limit", 1000);
        oc_sim_reply_json(r, 200,
                          oc_sim_log_query(r->sim, a->id, query_int(r, "since", 0),
                                           (size_t)(limit >= 1 && limit <= 100000 ? limit : 1000),
                                           oc_sim_query(r, "path"), query_int(r, "capture", 0) == 1));
    } else {
        fail(r, 404, "no such control endpoint");
    }
}

void oc_sim_control(oc_sim_req_t *r)
{
    int n = r->nsegs;
    const char *what = n > 1 ? r->segs[1] : "";
    if (n == 2 && strcmp(what, "health") == 0) {
        oc_sim_reply_json(r, 200, json_pack("{s:s, s:i}", "status", "ok", "accounts", (int)r->sim->accounts.len));
    } else if (n == 2 && strcmp(what, "accounts") == 0) {
        if (is(r, "GET"))
            accounts_list(r);
        else if (is(r, "POST"))
            accounts_create(r);
        else
            fail(r, 405, "method not allowed");
    } else if (n >= 3 && strcmp(what, "accounts") == 0) {
        char *end;
        long id = strtol(r->segs[2], &end, 10);
        oc_sim_account_t *a = *end == '\0' ? oc_sim_account_find(r->sim, (int)id) : NULL;
        if (a == NULL)
            fail(r, 404, "no such account");
        else
            account_routes(r, a);
    } else if (n == 2 && strcmp(what, "faults") == 0) {
        if (is(r, "GET"))
            oc_sim_reply_json(r, 200, oc_sim_faults_json(&r->sim->faults));
        else if (is(r, "PUT"))
            faults_put(r, &r->sim->faults, 1);
        else if (is(r, "PATCH"))
            faults_put(r, &r->sim->faults, 0);
        else if (is(r, "DELETE")) {
            oc_sim_faults_clear(&r->sim->faults);
            oc_sim_reply_json(r, 200, oc_sim_faults_json(&r->sim->faults));
        } else
            fail(r, 405, "method not allowed");
    } else if (n == 2 && strcmp(what, "requests") == 0 && is(r, "GET")) {
        requests(r);
    } else if (n == 2 && strcmp(what, "webhooks") == 0 && is(r, "GET")) {
        webhooks(r);
    } else if (n == 2 && strcmp(what, "stats") == 0 && is(r, "GET")) {
        stats(r, NULL);
    } else if (n == 2 && strcmp(what, "reset") == 0 && is(r, "POST")) {
        reset(r);
    } else {
        fail(r, 404, "no such control endpoint");
    }
}
