/*
 * orders.c — channel orders and returns coming in (see orders.h).
 */
#include "tenants/orders.h"
#include "runtime/alloc.h"
#include "tenants/query.h"
#include "tenants/holds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

OC_DB_STMT(orders_cursor_get, 3,
           "SELECT cursor FROM sync_cursors WHERE tenant_id = $1 AND connection_id = $2::uuid AND stream = $3");
OC_DB_STMT(
    orders_cursor_set, 4,
    "INSERT INTO sync_cursors (tenant_id, connection_id, stream, cursor) VALUES ($1, $2::uuid, $3, $4)"
    " ON CONFLICT (tenant_id, connection_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = now()");
OC_DB_STMT(orders_ingest_order, 3, "SELECT ingest_order($1, $2::uuid, $3::jsonb)");
OC_DB_STMT(orders_ingest_return, 3, "SELECT ingest_return($1, $2::uuid, $3::jsonb)");
OC_DB_STMT(orders_acked, 3,
           "UPDATE channel_orders SET needs_ack = false, acked_at = now()"
           " WHERE tenant_id = $1 AND connection_id = $2::uuid AND external_id = ANY ($3::text[])");
OC_DB_STMT(orders_unmapped_alert, 2, "SELECT unmapped_alert_refresh($1, $2::uuid)");
/*
 * An ingestion transaction runs up to OC_ORDERS_PER_TX orders, each locking its own SKUs' stock and listings as
 * it goes: two such transactions, or one and a push record, took the union in different orders and deadlocked
 * (ten times in one run of the sync fault tests).  So it takes everything its orders' SKUs can touch first:
 * their stock rows (bundles: the components') and every listing those stock rows refresh (the SKUs' own and
 * their bundles').
 */
OC_DB_STMT(orders_lock_conn, 2,
           "SELECT 1 FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid FOR NO KEY UPDATE");
#define INGEST_SKUS                                                                                                    \
    "SELECT li.sku_id FROM listings li WHERE li.tenant_id = $1 AND li.connection_id = $2::uuid"                        \
    "   AND li.external_sku = ANY ($3::text[])"                                                                        \
    " UNION SELECT bc.component_id FROM bundle_components bc JOIN listings li ON li.tenant_id = bc.tenant_id"          \
    "   AND li.sku_id = bc.bundle_id WHERE li.tenant_id = $1 AND li.connection_id = $2::uuid"                          \
    "   AND li.external_sku = ANY ($3::text[])"
OC_DB_STMT(orders_lock_stock, 3,
           "SELECT count(*) FROM (SELECT 1 FROM stock s WHERE s.tenant_id = $1 AND s.sku_id IN (" INGEST_SKUS ")"
           " ORDER BY s.sku_id FOR NO KEY UPDATE) x");
OC_DB_STMT(
    orders_lock_listings, 3,
    "WITH k AS (" INGEST_SKUS ")"
    " SELECT count(*) FROM (SELECT 1 FROM listings l WHERE l.tenant_id = $1 AND (l.sku_id IN (SELECT sku_id FROM k)"
    "   OR l.sku_id IN (SELECT bc.bundle_id FROM bundle_components bc WHERE bc.tenant_id = $1"
    "     AND bc.component_id IN (SELECT sku_id FROM k)))"
    " ORDER BY l.id FOR UPDATE) x");

static void read_cursor(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    const char *c = f == NULL && PQntuples(res->results[0]) == 1 ? oc_db_get(res->results[0], 0, 0) : NULL;
    ((oc_orders_cursor_cb)done)(arg, c, f);
}

int oc_orders_cursor(oc_db_pool_t *db, const char *tenant, const char *conn_id, const char *stream,
                     oc_orders_cursor_cb cb, void *arg)
{
    const char *p[] = {tenant, conn_id, stream};
    return oc_query_typed_exec(db, tenant, &orders_cursor_get, p, read_cursor, (void (*)(void))cb, arg);
}

/* An ingestion on its way: its answer waits for the hold gate. */
typedef struct {
    oc_orders_ingest_cb cb;
    void *arg;
    oc_redis_t *redis;
    char tenant[37];
    oc_orders_ingested_t in;
} ingest_t;

/* Counts what the slice's ingest_order and ingest_return steps answered. */
static void count_ingested(const oc_db_result_t *res, oc_orders_ingested_t *in)
{
    for (int i = 0; i < res->nresults; i++) {
        const PGresult *r = res->results[i];
        const char *v = oc_db_get(r, 0, 0);
        if (v == NULL || PQnfields(r) != 1)
            continue;
        if (strcmp(PQfname(r, 0), "ingest_order") == 0) {
            json_t *o = json_loads(v, 0, NULL);
            in->n++;
            in->movements += json_integer_value(json_object_get(o, "movements"));
            in->unmapped += json_integer_value(json_object_get(o, "unmapped"));
            json_decref(o);
        } else if (strcmp(PQfname(r, 0), "ingest_return") == 0) {
            in->n++;
            in->movements += atoll(v);
        }
    }
}

static void on_gate_told(void *arg)
{
    ingest_t *ig = arg;
    ig->cb(ig->arg, &ig->in, NULL);
    free(ig);
}

/* The slice committed: the hold gate gets the balances it changed, then the caller its counts. */
static void read_ingested(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    (void)done; /* ig->cb */
    ingest_t *ig = arg;
    if (f != NULL) {
        ig->cb(ig->arg, NULL, f);
        free(ig);
        return;
    }
    count_ingested(res, &ig->in);
    oc_holds_publish_touched(ig->redis, ig->tenant, res, on_gate_told, ig);
}

int oc_orders_ingest(oc_db_pool_t *db, oc_redis_t *redis, const oc_orders_slice_t *s, oc_orders_ingest_cb cb, void *arg)
{
    size_t n = json_array_size(s->items);
    if (n > OC_ORDERS_PER_TX)
        return OC_EINVAL;
    oc_db_tx_t tx = {.tenant = s->tenant};
    char *bodies[OC_ORDERS_PER_TX];
    /* The locks come first; their steps are filled once the slice's SKUs are known. */
    const oc_db_stmt_t *locks[] = {&orders_lock_conn, &orders_lock_stock, &orders_lock_listings};
    int nlocks = n > 0 ? 3 : 0;
    oc_buf_t skus = {0};
    tx.nsteps = nlocks;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(s->items, i);
        bodies[i] = json_dumps(o, JSON_COMPACT);
        size_t li;
        json_t *line;
        json_array_foreach(json_object_get(o, "lines"), li, line)
        {
            const char *sku = json_string_value(json_object_get(line, "sku"));
            if (sku != NULL)
                oc_db_array_add(&skus, sku);
        }
        tx.steps[tx.nsteps].stmt = s->returns ? &orders_ingest_return : &orders_ingest_order;
        tx.steps[tx.nsteps].params[0] = s->tenant;
        tx.steps[tx.nsteps].params[1] = s->conn_id;
        tx.steps[tx.nsteps++].params[2] = bodies[i];
    }
    if (s->last && s->cursor != NULL) {
        tx.steps[tx.nsteps].stmt = &orders_cursor_set;
        tx.steps[tx.nsteps].params[0] = s->tenant;
        tx.steps[tx.nsteps].params[1] = s->conn_id;
        tx.steps[tx.nsteps].params[2] = s->returns ? "returns" : "orders";
        tx.steps[tx.nsteps++].params[3] = s->cursor;
    }
    if (s->last && !s->returns) {
        tx.steps[tx.nsteps].stmt = &orders_unmapped_alert;
        tx.steps[tx.nsteps].params[0] = s->tenant;
        tx.steps[tx.nsteps++].params[1] = s->conn_id;
    }
    const char *sku_list = oc_db_array_end(&skus);
    for (int i = 0; i < nlocks; i++) {
        tx.steps[i].stmt = locks[i];
        tx.steps[i].params[0] = s->tenant;
        tx.steps[i].params[1] = s->conn_id;
        tx.steps[i].params[2] = i > 0 ? sku_list : NULL;
    }
    if (nlocks > 0)
        oc_holds_touched_step(&tx, s->tenant);
    int rc = 0;
    if (tx.nsteps == 0) {
        oc_orders_ingested_t none = {0};
        cb(arg, &none, NULL);
    } else {
        ingest_t *ig = oc_calloc(1, sizeof(*ig));
        *ig = (ingest_t){.cb = cb, .arg = arg, .redis = redis};
        snprintf(ig->tenant, sizeof(ig->tenant), "%s", s->tenant);
        rc = oc_query_typed_run(db, &tx, read_ingested, (void (*)(void))cb, ig);
        if (rc != 0)
            free(ig);
    }
    oc_buf_free(&skus);
    for (size_t i = 0; i < n; i++)
        free(bodies[i]);
    return rc;
}

int oc_orders_acknowledged(oc_db_pool_t *db, const char *tenant, const char *conn_id, const json_t *ids,
                           oc_query_done_cb cb, void *arg)
{
    oc_buf_t arr = {0};
    oc_db_array_add_strings(&arr, ids, NULL);
    const char *p[] = {tenant, conn_id, oc_db_array_end(&arr)};
    int rc = oc_query_typed_exec(db, tenant, &orders_acked, p, oc_query_read_done, (void (*)(void))cb, arg);
    oc_buf_free(&arr);
    return rc;
}

int oc_orders_lock_connection_step(oc_db_tx_t *tx, const char *tenant, const char *conn_id)
{
    const char *p[] = {tenant, conn_id};
    return oc_query_step(tx, &orders_lock_conn, p, 2);
}
