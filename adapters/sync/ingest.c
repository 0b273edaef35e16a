/*
 * ingest.c — the order and return polls (routines poll_orders and
 * poll_returns): fetch a page from the channel from the stored cursor,
 * ingest its orders or returns into the ledger a slice per transaction
 * (oc_orders_ingest, tenants/orders.h: the hold gate is told of the balances
 * they changed before the next slice), save the cursor with the page's last
 * slice, and acknowledge the orders the channel wants acknowledged.  Each step
 * is one of oc_sync_routine_step()'s (see sync_internal.h).
 */
#include "adapters/sync/sync_internal.h"
#include "tenants/orders.h"

#include <stdlib.h>
#include <string.h>

#define PAGES_PER_RUN 20 /* then the routine runs again at once */

oc_metric_t oc_sync_m_orders = {"onecount_worker_orders_ingested_total", "channel orders ingested", NULL,
                                OC_METRIC_COUNTER};

static int is_orders(const rrun_t *rr)
{
    return strcmp(rr->kind, "poll_orders") == 0;
}

static void on_acked(void *arg, const oc_fail_t *f)
{
    rrun_t *rr = arg;
    if (f != NULL) {
        oc_sync_routine_finish(rr, oc_sync_fail_text(f, 0), 10);
        return;
    }
    oc_sync_routine_step(rr);
}

static void on_ack(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    rrun_t *rr = arg;
    if (oc_sync_err_text(e) != NULL) {
        /* the orders are in; acknowledging is retried on the next poll (needs_ack stays) */
        json_object_set_new(rr->detail, "ack_error", json_string(e->err));
        oc_sync_routine_step(rr);
        return;
    }
    json_t *done = json_object_get(result, "acknowledged");
    oc_sync_detail_add(rr, "acknowledged", (long long)json_array_size(done));
    if (oc_orders_acknowledged(oc_sync.db, rr->t->id, rr->cid, done, on_acked, rr) != 0)
        oc_sync_routine_finish(rr, "database unavailable", 10);
}

/* The slice is in (and the hold gate has the balances it changed, so a hold asked once the routine reports
 * these orders is checked against them): the next step. */
static void on_ingested(void *arg, const oc_orders_ingested_t *in, const oc_fail_t *f)
{
    rrun_t *rr = arg;
    if (f != NULL) {
        /* nothing of this transaction happened; the cursor did not move either */
        oc_sync_routine_finish(rr, oc_sync_fail_text(f, 1), 10);
        return;
    }
    if (in->n > 0) {
        oc_sync_detail_add(rr, "movements", in->movements);
        if (is_orders(rr))
            oc_sync_detail_add(rr, "unmapped", in->unmapped);
    }
    oc_sync_routine_step(rr);
}

/* Ingests the next slice of the page; the last slice also saves the cursor. */
static void ingest_slice(rrun_t *rr)
{
    json_t *list = json_object_get(rr->page, is_orders(rr) ? "orders" : "returns");
    size_t n = json_array_size(list);
    json_t *items = json_array();
    while (rr->next < n && json_array_size(items) < OC_ORDERS_PER_TX) {
        json_t *o = json_array_get(list, rr->next++);
        json_array_append(items, o);
        if (is_orders(rr) && json_is_true(json_object_get(o, "needs_ack")))
            json_array_append(rr->acks, json_object_get(o, "id"));
    }
    rr->page_done = rr->next >= n;
    oc_orders_slice_t s = {.tenant = rr->t->id,
                           .conn_id = rr->cid,
                           .returns = !is_orders(rr),
                           .items = items,
                           .last = rr->page_done,
                           .cursor = json_string_value(json_object_get(rr->page, "cursor"))};
    int rc = oc_orders_ingest(oc_sync.db, oc_sync.redis, &s, on_ingested, rr);
    json_decref(items);
    if (rc != 0)
        oc_sync_routine_finish(rr, "database unavailable", 10);
}

static void on_page(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    rrun_t *rr = arg;
    if (oc_sync_err_text(e) != NULL) {
        oc_sync_adapter_failed(rr, e);
        return;
    }
    json_decref(rr->page);
    rr->page = json_incref(result);
    rr->next = 0;
    rr->page_done = 0;
    rr->pages++;
    size_t n = json_array_size(json_object_get(result, is_orders(rr) ? "orders" : "returns"));
    oc_sync_detail_add(rr, is_orders(rr) ? "orders" : "returns", (long long)n);
    if (is_orders(rr))
        oc_metric_add(&oc_sync_m_orders, (int64_t)n);
    json_object_set_new(rr->detail, "pages", json_integer(rr->pages));
    oc_sync_routine_step(rr);
}

static void fetch_page(rrun_t *rr)
{
    const char *cursor = rr->page != NULL ? json_string_value(json_object_get(rr->page, "cursor")) : rr->cursor;
    int rc = is_orders(rr) ? rr->ce->ad->fetch_orders(oc_sync.http, rr->ce->conn, cursor, on_page, rr)
                           : rr->ce->ad->fetch_returns(oc_sync.http, rr->ce->conn, cursor, on_page, rr);
    if (rc != 0)
        oc_sync_routine_finish(rr, "the request could not start", 30);
}

static void on_cursor(void *arg, const char *cursor, const oc_fail_t *f)
{
    rrun_t *rr = arg;
    if (f != NULL) {
        oc_sync_routine_finish(rr, oc_sync_fail_text(f, 0), 10);
        return;
    }
    rr->cursor = cursor != NULL ? oc_strdup(cursor) : NULL;
    fetch_page(rr);
}

void oc_sync_poll_step(rrun_t *rr)
{
    if (rr->page != NULL && !rr->page_done) {
        ingest_slice(rr);
        return;
    }
    if (json_array_size(rr->acks) > 0 && rr->ce->ad->acknowledge != NULL) {
        json_t *ids = rr->acks;
        rr->acks = json_array();
        int rc = rr->ce->ad->acknowledge(oc_sync.http, rr->ce->conn, ids, on_ack, rr);
        json_decref(ids);
        if (rc != 0)
            oc_sync_routine_finish(rr, "the acknowledgement could not start", 30);
        return;
    }
    if (rr->page == NULL) {
        if (oc_orders_cursor(oc_sync.db, rr->t->id, rr->cid, is_orders(rr) ? "orders" : "returns", on_cursor, rr) != 0)
            oc_sync_routine_finish(rr, "database unavailable", 10);
        return;
    }
    if (json_is_true(json_object_get(rr->page, "more"))) {
        if (rr->pages < PAGES_PER_RUN) {
            fetch_page(rr);
            return;
        }
        oc_sync_routine_finish(rr, NULL, 0); /* more to read: run again at once */
        return;
    }
    oc_sync_routine_finish(rr, NULL, -1);
}
