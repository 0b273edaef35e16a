/*
 * ingest.c — the order and return polls (routines poll_orders and
 * poll_returns): fetch a page from the channel from the stored cursor,
 * ingest its orders or returns into the ledger a slice per transaction
 * (ingest_order, ingest_return, migration 0006) and tell the hold gate of
 * the balances they changed, save the cursor with the page's last slice,
 * and acknowledge the orders the channel wants acknowledged.  Each step
 * is one of oc_sync_routine_step()'s (see sync_internal.h).
 */
#include "adapters/sync/sync_internal.h"
#include "tenants/holds.h"

#include <stdlib.h>
#include <string.h>

#define ORDERS_PER_TX 24 /* ingest_order steps per transaction */
#define PAGES_PER_RUN 20 /* then the routine runs again at once */

oc_metric_t oc_sync_m_orders = {"onecount_worker_orders_ingested_total", "channel orders ingested", NULL,
                                OC_METRIC_COUNTER};

OC_DB_STMT(w_cursor_get, 3,
           "SELECT cursor FROM sync_cursors WHERE tenant_id = $1 AND connection_id = $2::uuid AND stream = $3");
OC_DB_STMT(
    w_cursor_set, 4,
    "INSERT INTO sync_cursors (tenant_id, connection_id, stream, cursor) VALUES ($1, $2::uuid, $3, $4)"
    " ON CONFLICT (tenant_id, connection_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = now()");
OC_DB_STMT(w_ingest_order, 3, "SELECT ingest_order($1, $2::uuid, $3::jsonb)");
OC_DB_STMT(w_ingest_return, 3, "SELECT ingest_return($1, $2::uuid, $3::jsonb)");
OC_DB_STMT(w_acked, 3,
           "UPDATE channel_orders SET needs_ack = false, acked_at = now()"
           " WHERE tenant_id = $1 AND connection_id = $2::uuid AND external_id = ANY ($3::text[])");
OC_DB_STMT(w_unmapped_alert, 2, "SELECT unmapped_alert_refresh($1, $2::uuid)");
/*
 * Locks, in the one order every path takes them (docs/ARCHITECTURE.md): a connection's row, then stock rows
 * in sku_id order, then listings in id order.  An ingestion transaction runs up to ORDERS_PER_TX orders, each
 * locking its own SKUs' stock and listings as it goes: two such transactions, or one and a push record, took
 * the union in different orders and deadlocked (ten times in one run of the sync fault tests).  So it takes
 * everything its orders' SKUs can touch first: their stock rows (bundles: the components') and every listing
 * those stock rows refresh (the SKUs' own and their bundles').
 */
OC_DB_STMT(w_lock_conn, 2,
           "SELECT 1 FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid FOR NO KEY UPDATE");
#define INGEST_SKUS                                                                                                    \
    "SELECT li.sku_id FROM listings li WHERE li.tenant_id = $1 AND li.connection_id = $2::uuid"                        \
    "   AND li.external_sku = ANY ($3::text[])"                                                                        \
    " UNION SELECT bc.component_id FROM bundle_components bc JOIN listings li ON li.tenant_id = bc.tenant_id"          \
    "   AND li.sku_id = bc.bundle_id WHERE li.tenant_id = $1 AND li.connection_id = $2::uuid"                          \
    "   AND li.external_sku = ANY ($3::text[])"
OC_DB_STMT(w_lock_stock, 3,
           "SELECT count(*) FROM (SELECT 1 FROM stock s WHERE s.tenant_id = $1 AND s.sku_id IN (" INGEST_SKUS ")"
           " ORDER BY s.sku_id FOR NO KEY UPDATE) x");
OC_DB_STMT(
    w_lock_listings, 3,
    "WITH k AS (" INGEST_SKUS ")"
    " SELECT count(*) FROM (SELECT 1 FROM listings l WHERE l.tenant_id = $1 AND (l.sku_id IN (SELECT sku_id FROM k)"
    "   OR l.sku_id IN (SELECT bc.bundle_id FROM bundle_components bc WHERE bc.tenant_id = $1"
    "     AND bc.component_id IN (SELECT sku_id FROM k)))"
    " ORDER BY l.id FOR UPDATE) x");

static int is_orders(const rrun_t *rr)
{
    return strcmp(rr->kind, "poll_orders") == 0;
}

static void fetch_page(rrun_t *rr);

static void on_acked(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        oc_sync_routine_finish(rr, res->err, 10);
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
    oc_buf_t arr = {0};
    size_t i;
    json_t *id;
    json_array_foreach(done, i, id)
    {
        const char *s = json_string_value(id);
        oc_db_array_add(&arr, s != NULL ? s : "");
    }
    const char *p[] = {rr->t->id, rr->cid, oc_db_array_end(&arr)};
    int rc = oc_db_exec(oc_sync.db, rr->t->id, &w_acked, p, on_acked, rr);
    oc_buf_free(&arr);
    if (rc != 0)
        oc_sync_routine_finish(rr, "database unavailable", 10);
}

static void on_bases_told(void *arg)
{
    oc_sync_routine_step(arg);
}

static void on_ingested(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        /* nothing of this transaction happened; the cursor did not move either */
        oc_sync_routine_finish(rr, res->detail != NULL ? res->detail : res->err, 10);
        return;
    }
    for (int i = 0; i < res->nresults; i++) {
        const PGresult *r = res->results[i];
        const char *v = oc_db_get(r, 0, 0);
        if (v == NULL || PQnfields(r) != 1)
            continue;
        if (strcmp(PQfname(r, 0), "ingest_order") == 0) {
            json_t *o = json_loads(v, 0, NULL);
            oc_sync_detail_add(rr, "movements", json_integer_value(json_object_get(o, "movements")));
            oc_sync_detail_add(rr, "unmapped", json_integer_value(json_object_get(o, "unmapped")));
            json_decref(o);
        } else if (strcmp(PQfname(r, 0), "ingest_return") == 0) {
            oc_sync_detail_add(rr, "movements", atoll(v));
        }
    }
    /* The next slice waits until the hold gate has the balances this one changed, so a hold asked once the
     * routine reports these orders is checked against them. */
    oc_holds_publish_touched(oc_sync.redis, rr->t->id, res, on_bases_told, rr);
}

/* Ingests the next slice of the page; the last slice also saves the cursor. */
static void ingest_slice(rrun_t *rr)
{
    const char *key = is_orders(rr) ? "orders" : "returns";
    json_t *list = json_object_get(rr->page, key);
    size_t n = json_array_size(list);
    oc_db_tx_t tx = {.tenant = rr->t->id};
    char *bodies[ORDERS_PER_TX];
    int nb = 0;
    /* An ingestion takes its locks first (see w_lock_conn); their steps are filled once its SKUs are known. */
    oc_db_stmt_t *locks[] = {&w_lock_conn, &w_lock_stock, &w_lock_listings};
    int nlocks = rr->next < n ? 3 : 0;
    oc_buf_t skus = {0};
    tx.nsteps = nlocks;
    while (rr->next < n && nb < ORDERS_PER_TX) {
        json_t *o = json_array_get(list, rr->next++);
        bodies[nb] = json_dumps(o, JSON_COMPACT);
        size_t li;
        json_t *line;
        json_array_foreach(json_object_get(o, "lines"), li, line)
        {
            const char *sku = json_string_value(json_object_get(line, "sku"));
            if (sku != NULL)
                oc_db_array_add(&skus, sku);
        }
        tx.steps[tx.nsteps].stmt = is_orders(rr) ? &w_ingest_order : &w_ingest_return;
        tx.steps[tx.nsteps].params[0] = rr->t->id;
        tx.steps[tx.nsteps].params[1] = rr->cid;
        tx.steps[tx.nsteps++].params[2] = bodies[nb++];
        if (is_orders(rr) && json_is_true(json_object_get(o, "needs_ack")))
            json_array_append(rr->acks, json_object_get(o, "id"));
    }
    const char *cursor = json_string_value(json_object_get(rr->page, "cursor"));
    int last = rr->next >= n;
    rr->page_done = last;
    if (last && cursor != NULL) {
        tx.steps[tx.nsteps].stmt = &w_cursor_set;
        tx.steps[tx.nsteps].params[0] = rr->t->id;
        tx.steps[tx.nsteps].params[1] = rr->cid;
        tx.steps[tx.nsteps].params[2] = is_orders(rr) ? "orders" : "returns";
        tx.steps[tx.nsteps++].params[3] = cursor;
    }
    if (last && is_orders(rr)) {
        tx.steps[tx.nsteps].stmt = &w_unmapped_alert;
        tx.steps[tx.nsteps].params[0] = rr->t->id;
        tx.steps[tx.nsteps++].params[1] = rr->cid;
    }
    const char *sku_list = oc_db_array_end(&skus);
    for (int i = 0; i < nlocks; i++) {
        tx.steps[i].stmt = locks[i];
        tx.steps[i].params[0] = rr->t->id;
        tx.steps[i].params[1] = rr->cid;
        tx.steps[i].params[2] = i > 0 ? sku_list : NULL;
    }
    if (nlocks > 0)
        oc_holds_touched_step(&tx, rr->t->id);
    if (tx.nsteps == 0) {
        oc_buf_free(&skus);
        oc_sync_routine_step(rr);
        return;
    }
    int rc = oc_db_run(oc_sync.db, &tx, on_ingested, rr);
    oc_buf_free(&skus);
    for (int i = 0; i < nb; i++)
        free(bodies[i]);
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

static void on_cursor(void *arg, const oc_db_result_t *res)
{
    rrun_t *rr = arg;
    if (res->err != NULL) {
        oc_sync_routine_finish(rr, res->err, 10);
        return;
    }
    const char *c = PQntuples(res->results[0]) == 1 ? oc_db_get(res->results[0], 0, 0) : NULL;
    rr->cursor = c != NULL ? strdup(c) : NULL;
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
        const char *p[] = {rr->t->id, rr->cid, is_orders(rr) ? "orders" : "returns"};
        if (oc_db_exec(oc_sync.db, rr->t->id, &w_cursor_get, p, on_cursor, rr) != 0)
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

void oc_sync_lock_conn_step(oc_db_tx_t *tx, int i, const char *tenant, const char *cid)
{
    tx->steps[i].stmt = &w_lock_conn;
    tx->steps[i].params[0] = tenant;
    tx->steps[i].params[1] = cid;
}
