/*
 * orders.c — what happens on a marketplace when someone buys: orders take
 * units from the channel's own quantity, cancellations and returns may put
 * them back, and each channel tells the seller its own way (Shopify
 * webhooks, Amazon ORDER_CHANGE notifications and polling, Walmart
 * polling).  Also the order generator: Poisson arrivals per SKU from a
 * seeded RNG, selling only while the channel shows stock, with an optional
 * lifecycle (cancel, fulfil, return) per order.
 *
 * Runs on the HTTP loop thread only.
 */
#include "adapters/sim/sim_internal.h"
#include "runtime/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* --- placing and changing orders ------------------------------------------------ */

oc_sim_order_t *oc_sim_order_find(oc_sim_account_t *a, const char *id)
{
    return oc_sim_map_get(&a->order_map, id);
}

static void order_changed(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, unsigned topic, const char *change)
{
    o->updated_ms = oc_now_ms();
    if (a->channel == OC_SIM_SHOPIFY && topic != 0)
        oc_sim_shopify_webhook(sim, a, topic, oc_sim_shopify_order_json(sim, a, o));
    else if (a->channel == OC_SIM_AMAZON)
        oc_sim_amazon_notify(sim, a, o, change);
}

static void on_unpend(oc_sim_t *sim, oc_sim_account_t *a, long long num, int arg)
{
    oc_sim_order_t *o = num >= 1 && (size_t)num <= a->orders.len ? a->orders.items[num - 1] : NULL;
    if (o != NULL)
        oc_sim_order_touch(sim, a, o);
}

void oc_sim_order_touch(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o)
{
    if (!o->pending || o->cancelled)
        return;
    o->pending = 0;
    order_changed(sim, a, o, 0, "OrderStatusChange");
}

oc_sim_order_t *oc_sim_order_place(oc_sim_t *sim, oc_sim_account_t *a, const oc_sim_line_spec_t *lines, int n,
                                   int force, int generated, const char **err)
{
    return oc_sim_order_place_ex(sim, a, lines, n, force, generated, 0, err);
}

oc_sim_order_t *oc_sim_order_place_ex(oc_sim_t *sim, oc_sim_account_t *a, const oc_sim_line_spec_t *lines, int n,
                                      int force, int generated, unsigned flags, const char **err)
{
    int afn = a->channel == OC_SIM_AMAZON && (flags & OC_SIM_ORDER_AFN);
    if (n <= 0) {
        *err = "an order needs at least one line";
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (lines[i].qty <= 0) {
            *err = "line quantities must be positive";
            return NULL;
        }
        long long want = 0;
        for (int j = 0; j < n; j++)
            if (lines[j].sku == lines[i].sku)
                want += lines[j].qty;
        if (!force && !afn && want > lines[i].sku->qty) {
            *err = "the channel does not show enough stock";
            return NULL;
        }
    }
    oc_sim_order_t *o = oc_calloc(1, sizeof(*o));
    o->lines = oc_calloc((size_t)n, sizeof(*o->lines));
    long long seq = ++sim->next_order_seq;
    o->num = (long long)a->orders.len + 1;
    o->created_ms = o->updated_ms = oc_now_ms();
    o->generated = generated;
    o->nlines = n;
    switch (a->channel) {
    case OC_SIM_SHOPIFY:
        o->shopify_id = 5100000000000LL + seq;
        snprintf(o->id, sizeof(o->id), "%lld", o->shopify_id);
        snprintf(o->name, sizeof(o->name), "#%lld", 1000 + o->num);
        o->refunds = json_array();
        break;
    case OC_SIM_AMAZON:
        snprintf(o->id, sizeof(o->id), "%03d-%07lld-%07lld", 111 + a->id % 800, (seq * 2654435761LL) % 10000000LL,
                 seq % 10000000LL);
        o->afn = afn;
        o->preorder = (flags & OC_SIM_ORDER_PREORDER) != 0;
        o->pending = a->pending_ms > 0 && !o->preorder;
        break;
    default:
        snprintf(o->id, sizeof(o->id), "%013lld", 1080000000000LL + seq);
        snprintf(o->name, sizeof(o->name), "%013lld", 2000000000000LL + seq);
        break;
    }
    for (int i = 0; i < n; i++) {
        oc_sim_line_t *l = &o->lines[i];
        oc_sim_sku_t *s = lines[i].sku;
        l->sku_index = s->index;
        l->line_id = (long long)a->id * 1000000000LL + a->next_line_id++;
        l->qty = lines[i].qty;
        l->status_ms = o->created_ms;
        s->orders++;
        if (afn) /* Amazon ships it from its own (FBA) stock: the seller's listing does not move */
            continue;
        long long shown = s->qty > 0 ? s->qty : 0;
        if (l->qty > shown)
            s->oversold += l->qty - shown;
        s->sold += l->qty;
        s->committed += l->qty;
        oc_sim_adjust_qty(sim, a, s, -l->qty);
    }
    oc_sim_vec_push(&a->orders, o);
    oc_sim_map_put(&a->order_map, o->id, o);
    if (a->channel == OC_SIM_SHOPIFY)
        oc_sim_shopify_webhook(sim, a, OC_SIM_TOPIC_ORDERS_CREATE, oc_sim_shopify_order_json(sim, a, o));
    if (a->channel == OC_SIM_AMAZON) {
        oc_sim_amazon_notify(sim, a, o, "OrderStatusChange");
        if (o->pending)
            oc_sim_schedule(sim, a, (uint64_t)a->pending_ms, on_unpend, o->num, 0);
    }
    return o;
}

/* Shopify: a refund record (REST shape) for qty[i] units of line i, appended
 * to the order and sent as refunds/create. */
static void shopify_refund(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, const long long *qty,
                           const char *restock_type)
{
    char created[32];
    oc_time_format(created, oc_now_ms(), OC_TIME_OFFSET);
    long long refund_id = 880000000000LL + (long long)a->id * 1000000LL + ++a->next_refund_id;
    json_t *rlis = json_array();
    for (int i = 0; i < o->nlines; i++) {
        if (qty[i] <= 0)
            continue;
        oc_sim_line_t *l = &o->lines[i];
        oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
        json_array_append_new(rlis, json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:{s:I, s:I, s:s, s:I, s:s}}", "id",
                                              (json_int_t)(refund_id * 10 + i), "line_item_id", (json_int_t)l->line_id,
                                              "quantity", (json_int_t)qty[i], "location_id", (json_int_t)s->location_id,
                                              "restock_type", restock_type, "subtotal", "10.00", "total_tax", "0.00",
                                              "line_item", "id", (json_int_t)l->line_id, "variant_id",
                                              (json_int_t)s->variant_id, "sku", s->sku, "quantity", (json_int_t)l->qty,
                                              "title", s->sku));
    }
    char gid[64];
    snprintf(gid, sizeof(gid), "gid://shopify/Refund/%lld", refund_id);
    json_t *refund =
        json_pack("{s:I, s:I, s:s, s:s, s:b, s:n, s:o, s:[{s:I, s:I, s:s, s:s, s:s, s:s}], s:s}", "id",
                  (json_int_t)refund_id, "order_id", (json_int_t)o->shopify_id, "created_at", created, "processed_at",
                  created, "restock", strcmp(restock_type, "no_restock") != 0, "return", "refund_line_items", rlis,
                  "transactions", "id", (json_int_t)(refund_id + 1), "order_id", (json_int_t)o->shopify_id, "kind",
                  "refund", "status", "success", "amount", "10.00", "currency", "USD", "admin_graphql_api_id", gid);
    if (strcmp(restock_type, "return") == 0)
        json_object_set_new(refund, "return", json_pack("{s:I}", "id", (json_int_t)(refund_id + 2)));
    json_array_append(o->refunds, refund);
    oc_sim_shopify_webhook(sim, a, OC_SIM_TOPIC_REFUNDS_CREATE, refund);
}

/* Line `line` of `o`, or NULL with *err when the order has no such line. */
static oc_sim_line_t *order_line(oc_sim_order_t *o, int line, const char **err)
{
    if (line < 0 || line >= o->nlines) {
        *err = "no such order line";
        return NULL;
    }
    return &o->lines[line];
}

/* Units of a line neither cancelled nor shipped yet. */
static long long open_units(const oc_sim_line_t *l)
{
    return l->qty - l->cancelled - l->shipped;
}

int oc_sim_order_cancel(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int restock, const char *reason,
                        const char **err)
{
    if (o->cancelled) {
        *err = "the order is already cancelled";
        return -1;
    }
    if (o->fulfilled) {
        *err = "the order is fulfilled; return it instead";
        return -1;
    }
    long long *cancelled = oc_calloc((size_t)o->nlines, sizeof(*cancelled));
    for (int i = 0; i < o->nlines; i++) {
        oc_sim_line_t *l = &o->lines[i];
        oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
        long long left = open_units(l);
        if (left <= 0)
            continue;
        l->cancelled += left;
        l->status_ms = oc_now_ms();
        cancelled[i] = left;
        if (o->afn) /* Amazon's own stock: nothing of the seller's listing moves */
            continue;
        s->cancelled += left;
        s->committed -= left;
        if (restock) {
            s->restocked += left;
            oc_sim_adjust_qty(sim, a, s, left);
        }
    }
    o->cancelled = 1;
    o->pending = 0;
    o->cancelled_ms = oc_now_ms();
    snprintf(o->cancel_reason, sizeof(o->cancel_reason), "%s", reason != NULL ? reason : "customer");
    order_changed(sim, a, o, OC_SIM_TOPIC_ORDERS_CANCELLED, "OrderStatusChange");
    if (a->channel == OC_SIM_SHOPIFY)
        shopify_refund(sim, a, o, cancelled, restock ? "cancel" : "no_restock");
    free(cancelled);
    return 0;
}

int oc_sim_order_cancel_line(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty,
                             const char *reason, const char **err)
{
    oc_sim_line_t *l = order_line(o, line, err);
    if (l == NULL)
        return -1;
    if (qty <= 0 || qty > open_units(l)) {
        *err = "the line has fewer units left to cancel";
        return -1;
    }
    oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
    l->cancelled += qty;
    l->status_ms = oc_now_ms();
    s->cancelled += qty;
    s->restocked += qty;
    s->committed -= qty;
    oc_sim_adjust_qty(sim, a, s, qty);
    int all = 1;
    for (int i = 0; i < o->nlines; i++)
        all &= o->lines[i].cancelled == o->lines[i].qty;
    if (all) {
        o->cancelled = 1;
        o->cancelled_ms = oc_now_ms();
        snprintf(o->cancel_reason, sizeof(o->cancel_reason), "%s", reason != NULL ? reason : "seller");
    }
    order_changed(sim, a, o, all ? OC_SIM_TOPIC_ORDERS_CANCELLED : OC_SIM_TOPIC_ORDERS_UPDATED, "OrderStatusChange");
    return 0;
}

int oc_sim_order_fulfill(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, const char **err)
{
    if (o->cancelled) {
        *err = "the order is cancelled";
        return -1;
    }
    if (o->fulfilled) {
        *err = "the order is already fulfilled";
        return -1;
    }
    for (int i = 0; i < o->nlines; i++) {
        oc_sim_line_t *l = &o->lines[i];
        long long left = open_units(l);
        if (left <= 0)
            continue;
        l->shipped += left;
        l->status_ms = oc_now_ms();
        if (!o->afn)
            oc_sim_sku_at(a, l->sku_index)->committed -= left;
    }
    o->fulfilled = 1;
    o->pending = 0;
    o->acknowledged = 1;
    o->fulfilled_ms = oc_now_ms();
    order_changed(sim, a, o, OC_SIM_TOPIC_ORDERS_FULFILLED, "OrderStatusChange");
    return 0;
}

int oc_sim_order_ship_line(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty,
                           const char **err)
{
    oc_sim_line_t *l = order_line(o, line, err);
    if (l == NULL)
        return -1;
    if (qty <= 0 || qty > open_units(l)) {
        *err = "the line has fewer open units to ship";
        return -1;
    }
    l->shipped += qty;
    l->status_ms = oc_now_ms();
    if (!o->afn)
        oc_sim_sku_at(a, l->sku_index)->committed -= qty;
    o->updated_ms = oc_now_ms();
    int open = 0;
    for (int i = 0; i < o->nlines; i++)
        open |= open_units(&o->lines[i]) > 0;
    if (!open) {
        o->fulfilled = 1;
        o->fulfilled_ms = oc_now_ms();
    }
    order_changed(sim, a, o, open ? OC_SIM_TOPIC_ORDERS_UPDATED : OC_SIM_TOPIC_ORDERS_FULFILLED, "OrderStatusChange");
    return 0;
}

static void on_return_progress(oc_sim_t *sim, oc_sim_account_t *a, long long idx, int status)
{
    if (idx < 0 || (size_t)idx >= a->returns.len)
        return;
    oc_sim_return_t *rt = a->returns.items[idx];
    if (rt->status < status) {
        rt->status = status;
        rt->updated_ms = oc_now_ms();
    }
}

int oc_sim_order_return(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty,
                        const char *restock_type, const char *reason, const char **err)
{
    oc_sim_line_t *l = order_line(o, line, err);
    if (l == NULL)
        return -1;
    oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
    long long shipped_left = l->shipped - l->returned - l->refunded;
    long long open_left = open_units(l);
    if (qty <= 0) {
        *err = "quantity must be positive";
        return -1;
    }
    if (a->channel == OC_SIM_SHOPIFY) {
        if (restock_type == NULL)
            restock_type = shipped_left > 0 ? "return" : "cancel";
        if (strcmp(restock_type, "return") == 0) {
            if (qty > shipped_left) {
                *err = "the line has fewer fulfilled units to return";
                return -1;
            }
            l->returned += qty;
            s->returned += qty;
            s->restocked += qty;
            oc_sim_adjust_qty(sim, a, s, qty);
        } else if (strcmp(restock_type, "cancel") == 0) {
            if (qty > open_left) {
                *err = "the line has fewer unfulfilled units to cancel";
                return -1;
            }
            l->cancelled += qty;
            s->cancelled += qty;
            s->committed -= qty;
            s->restocked += qty;
            oc_sim_adjust_qty(sim, a, s, qty);
        } else if (strcmp(restock_type, "no_restock") == 0) {
            if (qty > shipped_left) {
                *err = "the line has fewer fulfilled units to refund";
                return -1;
            }
            l->refunded += qty;
            s->returned += qty;
        } else {
            *err = "restock_type must be return, cancel or no_restock";
            return -1;
        }
        o->updated_ms = oc_now_ms();
        long long *q = oc_calloc((size_t)o->nlines, sizeof(*q));
        q[line] = qty;
        shopify_refund(sim, a, o, q, restock_type);
        free(q);
        return 0;
    }
    /* Amazon and Walmart: seller-fulfilled returns do not restock by themselves. */
    if (qty > shipped_left) {
        *err = "the line has fewer shipped units to return";
        return -1;
    }
    oc_sim_return_t *rt = oc_calloc(1, sizeof(*rt));
    l->returned += qty;
    s->returned += qty;
    rt->order_index = (int)(o->num - 1);
    rt->line_index = line;
    rt->qty = qty;
    rt->created_ms = rt->updated_ms = oc_now_ms();
    /* no two returns of an account in one millisecond: Walmart's are paged by their creation date */
    if (a->returns.len > 0 && ((oc_sim_return_t *)a->returns.items[a->returns.len - 1])->created_ms >= rt->created_ms)
        rt->created_ms = rt->updated_ms = ((oc_sim_return_t *)a->returns.items[a->returns.len - 1])->created_ms + 1;
    snprintf(rt->reason, sizeof(rt->reason), "%s", reason != NULL ? reason : "CUSTOMER_CHANGED_MIND");
    a->next_return_num++;
    if (a->channel == OC_SIM_AMAZON)
        snprintf(rt->id, sizeof(rt->id), "D%09lld", (long long)a->id * 100000 + a->next_return_num);
    else
        snprintf(rt->id, sizeof(rt->id), "%lld", 90000000000LL + (long long)a->id * 100000 + a->next_return_num);
    oc_sim_vec_push(&a->returns, rt);
    o->updated_ms = oc_now_ms();
    if (a->channel == OC_SIM_WALMART) {
        oc_sim_schedule(sim, a, (uint64_t)a->report_ms, on_return_progress, (long long)a->returns.len - 1, 1);
        oc_sim_schedule(sim, a, (uint64_t)a->report_ms * 2, on_return_progress, (long long)a->returns.len - 1, 2);
    }
    return 0;
}

int oc_sim_order_deliver(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, const char **err)
{
    int any = 0;
    for (int i = 0; i < o->nlines; i++) {
        oc_sim_line_t *l = &o->lines[i];
        if (l->shipped > l->delivered) {
            l->delivered = l->shipped;
            l->status_ms = oc_now_ms();
            any = 1;
        }
    }
    if (!any) {
        *err = "nothing shipped is waiting for delivery";
        return -1;
    }
    order_changed(sim, a, o, OC_SIM_TOPIC_ORDERS_UPDATED, "OrderStatusChange");
    return 0;
}

int oc_sim_order_refund_only(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty,
                             const char **err)
{
    oc_sim_line_t *l = order_line(o, line, err);
    if (l == NULL)
        return -1;
    if (qty <= 0 || qty > l->shipped - l->returned - l->refunded) {
        *err = "the line has fewer shipped units to refund";
        return -1;
    }
    l->refunded += qty;
    l->status_ms = oc_now_ms();
    order_changed(sim, a, o, OC_SIM_TOPIC_ORDERS_UPDATED, "OrderStatusChange");
    return 0;
}

typedef struct okey {
    oc_sim_order_t *o;
    uint64_t k;
} okey_t;

static int cmp_okey(const void *x, const void *y)
{
    const okey_t *a = x, *b = y;
    return a->k < b->k ? -1 : a->k > b->k ? 1 : a->o->num < b->o->num ? -1 : a->o->num > b->o->num ? 1 : 0;
}

void oc_sim_order_page(oc_sim_account_t *a, oc_sim_cursor_t *c, long long max,
                       int (*keep)(oc_sim_account_t *a, const oc_sim_order_t *o, void *arg), void *arg,
                       oc_sim_order_page_t *page)
{
    okey_t *keys = oc_calloc(a->orders.len + 1, sizeof(*keys));
    oc_sim_order_t **out = oc_calloc(a->orders.len + 1, sizeof(*out));
    size_t n = 0;
    for (size_t i = 0; i < a->orders.len; i++) {
        oc_sim_order_t *o = a->orders.items[i];
        uint64_t k = c->by_update ? o->updated_ms : o->created_ms;
        if (k < c->after_ms || k > c->before_ms || !keep(a, o, arg))
            continue;
        keys[n].o = o;
        keys[n].k = k;
        n++;
    }
    qsort(keys, n, sizeof(*keys), cmp_okey);
    size_t start = 0;
    if (c->last_seq >= 0) {
        oc_sim_order_t probe = {.num = c->last_seq};
        okey_t last = {&probe, c->last_ms};
        while (start < n && cmp_okey(&keys[start], &last) <= 0)
            start++;
    }
    size_t end = start;
    for (; end < n && (long long)(end - start) < max; end++)
        out[end - start] = keys[end].o;
    *page = (oc_sim_order_page_t){.orders = out, .n = end - start, .total = n, .more = end < n};
    if (end < n) {
        c->last_ms = keys[end - 1].k;
        c->last_seq = keys[end - 1].o->num;
    }
    free(keys);
}

json_t *oc_sim_order_json(oc_sim_account_t *a, const oc_sim_order_t *o)
{
    char created[32], updated[32];
    oc_time_format(created, o->created_ms, OC_TIME_MS);
    oc_time_format(updated, o->updated_ms, OC_TIME_MS);
    json_t *lines = json_array();
    for (int i = 0; i < o->nlines; i++) {
        const oc_sim_line_t *l = &o->lines[i];
        oc_sim_sku_t *s = oc_sim_sku_at(a, l->sku_index);
        json_array_append_new(lines, json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I}", "line", i, "sku", s->sku,
                                               "quantity", (json_int_t)l->qty, "cancelled", (json_int_t)l->cancelled,
                                               "shipped", (json_int_t)l->shipped, "returned", (json_int_t)l->returned,
                                               "line_id", (json_int_t)l->line_id));
    }
    const char *status = o->cancelled ? "cancelled" : o->fulfilled ? "fulfilled" : o->pending ? "pending" : "open";
    return json_pack("{s:s, s:s?, s:I, s:s, s:s, s:s, s:b, s:o}", "id", o->id, "name", o->name[0] ? o->name : NULL,
                     "number", (json_int_t)o->num, "created_at", created, "updated_at", updated, "status", status,
                     "generated", o->generated, "lines", lines);
}

/* --- lifecycle --------------------------------------------------------------------- */

static oc_sim_order_t *order_at(oc_sim_account_t *a, long long num)
{
    return num >= 1 && (size_t)num <= a->orders.len ? a->orders.items[num - 1] : NULL;
}

static void on_life_cancel(oc_sim_t *sim, oc_sim_account_t *a, long long num, int arg)
{
    const char *err;
    oc_sim_order_t *o = order_at(a, num);
    if (o != NULL)
        oc_sim_order_cancel(sim, a, o, a->gen.lifecycle.restock, "customer", &err);
}

static void on_life_return(oc_sim_t *sim, oc_sim_account_t *a, long long num, int arg)
{
    const char *err;
    oc_sim_order_t *o = order_at(a, num);
    if (o == NULL)
        return;
    for (int i = 0; i < o->nlines; i++) {
        long long q = o->lines[i].shipped - o->lines[i].returned - o->lines[i].refunded;
        if (q > 0)
            oc_sim_order_return(sim, a, o, i, q, a->gen.lifecycle.restock ? "return" : "no_restock",
                                "CUSTOMER_CHANGED_MIND", &err);
    }
}

static void on_life_deliver(oc_sim_t *sim, oc_sim_account_t *a, long long num, int arg)
{
    const char *err;
    oc_sim_order_t *o = order_at(a, num);
    if (o != NULL)
        oc_sim_order_deliver(sim, a, o, &err);
}

static void on_life_refund(oc_sim_t *sim, oc_sim_account_t *a, long long num, int arg)
{
    const char *err;
    oc_sim_order_t *o = order_at(a, num);
    for (int i = 0; o != NULL && i < o->nlines; i++)
        if (o->lines[i].shipped - o->lines[i].returned - o->lines[i].refunded > 0) {
            oc_sim_order_refund_only(sim, a, o, i, 1, &err);
            return;
        }
}

static void on_life_fulfill(oc_sim_t *sim, oc_sim_account_t *a, long long num, int will_return)
{
    const char *err;
    oc_sim_order_t *o = order_at(a, num);
    const oc_sim_lifecycle_t *lc = &a->gen.lifecycle;
    if (o == NULL || oc_sim_order_fulfill(sim, a, o, &err) != 0)
        return;
    if (will_return)
        oc_sim_schedule(sim, a, (uint64_t)lc->return_after_ms, on_life_return, num, 0);
    if (a->channel == OC_SIM_WALMART && lc->deliver_after_ms >= 0)
        oc_sim_schedule(sim, a, (uint64_t)lc->deliver_after_ms, on_life_deliver, num, 0);
    if (a->channel == OC_SIM_WALMART && lc->refund_fraction > 0 && !will_return &&
        oc_sim_rng_chance(&a->gen_rng, lc->refund_fraction))
        oc_sim_schedule(sim, a, (uint64_t)(lc->deliver_after_ms > 0 ? lc->deliver_after_ms : 0) + 1, on_life_refund,
                        num, 0);
}

void oc_sim_order_lifecycle(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, const oc_sim_lifecycle_t *lc)
{
    if (oc_sim_rng_chance(&a->gen_rng, lc->cancel_fraction)) {
        oc_sim_schedule(sim, a, (uint64_t)lc->cancel_after_ms, on_life_cancel, o->num, 0);
        return;
    }
    if (lc->fulfill_after_ms < 0)
        return;
    int will_return = oc_sim_rng_chance(&a->gen_rng, lc->return_fraction);
    oc_sim_schedule(sim, a, (uint64_t)lc->fulfill_after_ms, on_life_fulfill, o->num, will_return);
}

int oc_sim_lifecycle_parse(oc_sim_lifecycle_t *lc, const json_t *o, char *err, size_t errlen)
{
    if (!json_is_object(o)) {
        snprintf(err, errlen, "lifecycle must be an object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        long long n;
        double d = json_is_number(v) ? json_number_value(v) : -1;
        if (strcmp(k, "cancel_fraction") == 0 && d >= 0 && d <= 1)
            lc->cancel_fraction = d;
        else if (strcmp(k, "return_fraction") == 0 && d >= 0 && d <= 1)
            lc->return_fraction = d;
        else if (strcmp(k, "cancel_after_ms") == 0 && oc_sim_json_int(v, &n) && n >= 0 && n <= 864000000)
            lc->cancel_after_ms = (int)n;
        else if (strcmp(k, "fulfill_after_ms") == 0 && oc_sim_json_int(v, &n) && n >= -1 && n <= 864000000)
            lc->fulfill_after_ms = (int)n;
        else if (strcmp(k, "fulfill_after_ms") == 0 && json_is_null(v))
            lc->fulfill_after_ms = -1;
        else if (strcmp(k, "return_after_ms") == 0 && oc_sim_json_int(v, &n) && n >= 0 && n <= 864000000)
            lc->return_after_ms = (int)n;
        else if (strcmp(k, "restock") == 0 && json_is_boolean(v))
            lc->restock = json_is_true(v);
        else if (strcmp(k, "afn_fraction") == 0 && d >= 0 && d <= 1)
            lc->afn_fraction = d;
        else if (strcmp(k, "preorder_fraction") == 0 && d >= 0 && d <= 1)
            lc->preorder_fraction = d;
        else if (strcmp(k, "refund_fraction") == 0 && d >= 0 && d <= 1)
            lc->refund_fraction = d;
        else if (strcmp(k, "deliver_after_ms") == 0 && oc_sim_json_int(v, &n) && n >= -1 && n <= 864000000)
            lc->deliver_after_ms = (int)n;
        else {
            snprintf(err, errlen, "lifecycle.%s is unknown or out of range", k);
            return -1;
        }
    }
    return 0;
}

/* --- the generator ----------------------------------------------------------------------- */

static double sku_rate(oc_sim_account_t *a, const oc_sim_sku_t *s)
{
    return s->rate_per_s > 0 ? s->rate_per_s : a->gen.all_rate;
}

/* Orders arrive at rate / mean units per order, so units sell at `rate`. */
static double order_rate(oc_sim_account_t *a, const oc_sim_sku_t *s)
{
    return sku_rate(a, s) * 2.0 / (double)(a->gen.units_min + a->gen.units_max);
}

static double heap_key(oc_sim_account_t *a, size_t i)
{
    return oc_sim_sku_at(a, a->gen.heap[i])->next_arrival_s;
}

static void heap_down(oc_sim_account_t *a, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < a->gen.nheap && heap_key(a, l) < heap_key(a, m))
            m = l;
        if (r < a->gen.nheap && heap_key(a, r) < heap_key(a, m))
            m = r;
        if (m == i)
            return;
        int t = a->gen.heap[i];
        a->gen.heap[i] = a->gen.heap[m];
        a->gen.heap[m] = t;
        i = m;
    }
}

static void gen_arm(oc_sim_t *sim, oc_sim_account_t *a)
{
    if (!a->gen.running || a->gen.nheap == 0)
        return;
    double now_s = (double)(oc_mono_us() - a->gen.started_us) / 1e6, next = heap_key(a, 0);
    double delay_ms = (next - now_s) * 1000.0;
    oc_timer_start(sim->loop, &a->gen.timer, delay_ms > 0 ? (uint64_t)ceil(delay_ms) : 0);
}

static void arrival(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_sku_t *s)
{
    long long units = a->gen.units_min;
    if (a->gen.units_max > a->gen.units_min)
        units += (long long)(oc_sim_rng_next(&a->gen_rng) % (uint64_t)(a->gen.units_max - a->gen.units_min + 1));
    if (s->qty <= 0) {
        s->lost_arrivals++; /* the listing shows no stock: the buyer goes away */
        return;
    }
    oc_sim_line_spec_t line = {s, units < s->qty ? units : s->qty};
    const char *err = NULL;
    unsigned flags = 0;
    const oc_sim_lifecycle_t *lc = &a->gen.lifecycle;
    if (a->gen.lifecycle_on && a->channel == OC_SIM_AMAZON) { /* drawn only when asked: seeds keep their orders */
        if (lc->afn_fraction > 0 && oc_sim_rng_chance(&a->gen_rng, lc->afn_fraction))
            flags |= OC_SIM_ORDER_AFN;
        else if (lc->preorder_fraction > 0 && oc_sim_rng_chance(&a->gen_rng, lc->preorder_fraction))
            flags |= OC_SIM_ORDER_PREORDER;
    }
    oc_sim_order_t *o = oc_sim_order_place_ex(sim, a, &line, 1, 0, 1, flags, &err);
    if (o == NULL) {
        oc_log_warn("sim: generated order failed: %s", err);
        return;
    }
    if (a->gen.lifecycle_on)
        oc_sim_order_lifecycle(sim, a, o, &a->gen.lifecycle);
}

static void on_gen_timer(oc_timer_t *t)
{
    oc_sim_account_t *a = t->data;
    oc_sim_t *sim = a->sim;
    double now_s = (double)(oc_mono_us() - a->gen.started_us) / 1e6;
    /* Catch up on every arrival that is due, in time order (bounded per tick). */
    for (int n = 0; n < 10000 && a->gen.running && a->gen.nheap > 0 && heap_key(a, 0) <= now_s; n++) {
        oc_sim_sku_t *s = oc_sim_sku_at(a, a->gen.heap[0]);
        arrival(sim, a, s);
        s->next_arrival_s += oc_sim_rng_exp(&a->gen_rng, order_rate(a, s));
        heap_down(a, 0);
    }
    gen_arm(sim, a);
}

void oc_sim_generator_start(oc_sim_t *sim, oc_sim_account_t *a)
{
    oc_timer_stop(sim->loop, &a->gen.timer);
    free(a->gen.heap);
    a->gen.heap = NULL;
    a->gen.nheap = 0;
    a->gen.running = 1;
    a->gen.started_us = oc_mono_us();
    oc_timer_init(&a->gen.timer, on_gen_timer, a);
    if (a->skus.len > 0)
        a->gen.heap = oc_calloc(a->skus.len, sizeof(int));
    for (size_t i = 0; i < a->skus.len; i++) {
        oc_sim_sku_t *s = a->skus.items[i];
        if (sku_rate(a, s) <= 0)
            continue;
        s->next_arrival_s = oc_sim_rng_exp(&a->gen_rng, order_rate(a, s));
        a->gen.heap[a->gen.nheap++] = (int)i;
    }
    for (size_t i = a->gen.nheap; i-- > 0;)
        heap_down(a, i);
    gen_arm(sim, a);
}

void oc_sim_generator_stop(oc_sim_t *sim, oc_sim_account_t *a)
{
    a->gen.running = 0;
    oc_timer_stop(sim->loop, &a->gen.timer);
}

static int parse_rate(const json_t *v, double *out)
{
    json_t *ps = json_object_get(v, "per_second"), *ph = json_object_get(v, "per_hour"),
           *pm = json_object_get(v, "per_minute");
    if (!json_is_object(v) || (ps != NULL) + (ph != NULL) + (pm != NULL) != 1)
        return -1;
    json_t *x = ps != NULL ? ps : ph != NULL ? ph : pm;
    if (!json_is_number(x) || json_number_value(x) < 0)
        return -1;
    *out = json_number_value(x) / (ps != NULL ? 1.0 : ph != NULL ? 3600.0 : 60.0);
    return 0;
}

int oc_sim_generator_configure(oc_sim_t *sim, oc_sim_account_t *a, const json_t *spec, char *err, size_t errlen)
{
    if (!json_is_object(spec)) {
        snprintf(err, errlen, "generator must be an object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)spec, k, v)
    {
        if (strcmp(k, "rates") != 0 && strcmp(k, "all") != 0 && strcmp(k, "seed") != 0 &&
            strcmp(k, "units_per_order") != 0 && strcmp(k, "lifecycle") != 0 && strcmp(k, "running") != 0) {
            snprintf(err, errlen, "generator.%s is unknown", k);
            return -1;
        }
    }
    json_t *rates = json_object_get(spec, "rates");
    if (rates != NULL && !json_is_object(rates)) {
        snprintf(err, errlen, "generator.rates must be an object of sku: {per_second|per_minute|per_hour}");
        return -1;
    }
    json_object_foreach(rates, k, v)
    {
        double r;
        if (oc_sim_sku_find(a, k) == NULL) {
            snprintf(err, errlen, "generator.rates: no sku \"%s\" on this account", k);
            return -1;
        }
        if (parse_rate(v, &r) != 0) {
            snprintf(err, errlen, "generator.rates.%s must be {\"per_second\"|\"per_minute\"|\"per_hour\": n >= 0}", k);
            return -1;
        }
    }
    double all = a->gen.all_rate;
    if ((v = json_object_get(spec, "all")) != NULL && parse_rate(v, &all) != 0) {
        snprintf(err, errlen, "generator.all must be {\"per_second\"|\"per_minute\"|\"per_hour\": n >= 0}");
        return -1;
    }
    int umin = a->gen.units_min, umax = a->gen.units_max;
    if ((v = json_object_get(spec, "units_per_order")) != NULL) {
        long long n, lo, hi;
        if (oc_sim_json_int(v, &n) && n >= 1 && n <= 1000) {
            umin = umax = (int)n;
        } else if (json_is_object(v) && oc_sim_json_int(json_object_get(v, "min"), &lo) &&
                   oc_sim_json_int(json_object_get(v, "max"), &hi) && lo >= 1 && hi >= lo && hi <= 1000) {
            umin = (int)lo;
            umax = (int)hi;
        } else {
            snprintf(err, errlen, "generator.units_per_order must be 1..1000 or {min, max}");
            return -1;
        }
    }
    oc_sim_lifecycle_t lc = a->gen.lifecycle;
    if ((v = json_object_get(spec, "lifecycle")) != NULL && !json_is_null(v) &&
        oc_sim_lifecycle_parse(&lc, v, err, errlen) != 0)
        return -1;
    long long seed = (long long)a->gen.seed;
    if ((v = json_object_get(spec, "seed")) != NULL && !oc_sim_json_int(v, &seed)) {
        snprintf(err, errlen, "generator.seed must be an integer");
        return -1;
    }
    json_t *running = json_object_get(spec, "running");
    if (running != NULL && !json_is_boolean(running)) {
        snprintf(err, errlen, "generator.running must be a boolean");
        return -1;
    }
    /* everything checked: apply */
    json_object_foreach(rates, k, v)
    {
        double r = 0;
        parse_rate(v, &r);
        oc_sim_sku_find(a, k)->rate_per_s = r;
    }
    a->gen.all_rate = all;
    a->gen.units_min = umin;
    a->gen.units_max = umax;
    if ((v = json_object_get(spec, "lifecycle")) != NULL) {
        a->gen.lifecycle_on = !json_is_null(v);
        a->gen.lifecycle = lc;
    }
    if (json_object_get(spec, "seed") != NULL || !a->gen.configured) {
        a->gen.seed = (uint64_t)seed;
        oc_sim_rng_seed(&a->gen_rng, a->gen.seed ^ 0x5eed5eed5eedULL);
    }
    a->gen.configured = 1;
    int run = running != NULL ? json_is_true(running) : 1;
    if (a->sim != NULL && a->id > 0 && oc_sim_account_find(sim, a->id) == a) {
        if (run)
            oc_sim_generator_start(sim, a);
        else
            oc_sim_generator_stop(sim, a);
    } else {
        a->gen.running = run; /* started once the account is registered */
    }
    return 0;
}

json_t *oc_sim_generator_json(oc_sim_account_t *a)
{
    json_t *rates = json_object();
    for (size_t i = 0; i < a->skus.len; i++) {
        oc_sim_sku_t *s = a->skus.items[i];
        if (s->rate_per_s > 0)
            json_object_set_new(rates, s->sku, json_pack("{s:f}", "per_second", s->rate_per_s));
    }
    const oc_sim_lifecycle_t *lc = &a->gen.lifecycle;
    json_t *life =
        a->gen.lifecycle_on
            ? json_pack("{s:f, s:i, s:i, s:f, s:i, s:b, s:f, s:f, s:i, s:f}", "cancel_fraction", lc->cancel_fraction,
                        "cancel_after_ms", lc->cancel_after_ms, "fulfill_after_ms", lc->fulfill_after_ms,
                        "return_fraction", lc->return_fraction, "return_after_ms", lc->return_after_ms, "restock",
                        lc->restock, "afn_fraction", lc->afn_fraction, "preorder_fraction", lc->preorder_fraction,
                        "deliver_after_ms", lc->deliver_after_ms, "refund_fraction", lc->refund_fraction)
            : json_null();
    return json_pack("{s:b, s:b, s:o, s:{s:f}, s:{s:i, s:i}, s:I, s:o}", "configured", a->gen.configured, "running",
                     a->gen.running, "rates", rates, "all", "per_second", a->gen.all_rate, "units_per_order", "min",
                     a->gen.units_min, "max", a->gen.units_max, "seed", (json_int_t)a->gen.seed, "lifecycle", life);
}

/* --- cursors -------------------------------------------------------------------------- */

char *oc_sim_cursor_encode(const oc_sim_cursor_t *c)
{
    json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:i, s:i, s:s}", "a", (json_int_t)c->after_ms, "b",
                          (json_int_t)c->before_ms, "l", (json_int_t)c->last_ms, "s", (json_int_t)c->last_seq, "u",
                          c->by_update, "m", c->limit, "x", c->extra);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s == NULL)
        return NULL;
    char *out = oc_sim_b64url(s, strlen(s));
    free(s);
    return out;
}

int oc_sim_cursor_decode(const char *token, oc_sim_cursor_t *c)
{
    memset(c, 0, sizeof(*c));
    char *s = token != NULL ? oc_sim_unb64url(token) : NULL;
    json_t *j = s != NULL ? json_loads(s, 0, NULL) : NULL;
    free(s);
    long long a, b, l, q, u, m = 0;
    const char *x = json_string_value(json_object_get(j, "x"));
    if (j == NULL || !oc_sim_json_int(json_object_get(j, "a"), &a) || !oc_sim_json_int(json_object_get(j, "b"), &b) ||
        !oc_sim_json_int(json_object_get(j, "l"), &l) || !oc_sim_json_int(json_object_get(j, "s"), &q) ||
        !oc_sim_json_int(json_object_get(j, "u"), &u) || x == NULL) {
        json_decref(j);
        return -1;
    }
    c->after_ms = (uint64_t)a;
    c->before_ms = (uint64_t)b;
    c->last_ms = (uint64_t)l;
    c->last_seq = q;
    c->by_update = (int)u;
    oc_sim_json_int(json_object_get(j, "m"), &m);
    c->limit = (int)m;
    snprintf(c->extra, sizeof(c->extra), "%s", x);
    c->valid = 1;
    json_decref(j);
    return 0;
}
