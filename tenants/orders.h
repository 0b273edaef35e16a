/*
 * orders.h — channel orders and returns coming in (migration 0006): the
 * cursor each connection's order and return streams have reached, the
 * ingestion of a page's orders or returns into the ledger (ingest_order,
 * ingest_return: movements, unmapped lines parked), the hold gate told of
 * the balances they changed, the orders the channel has acknowledged, and
 * the connection's unmapped-SKU alert.
 *
 * Locks, in the one order every path takes them (docs/ARCHITECTURE.md): a
 * connection's row, then stock rows in sku_id order, then listings in id
 * order.  The sync engine's polls (adapters/sync/ingest.c) decide when each
 * runs.  Typed operations on a pool: see query.h (oc_query_typed_run) for
 * how they answer.
 */
#ifndef OC_ORDERS_H
#define OC_ORDERS_H

#include "runtime/redis.h"
#include "tenants/query.h"

/* At most this many orders (or returns) are ingested in one transaction. */
#define OC_ORDERS_PER_TX 24

/** The stream's cursor: NULL when none is stored yet (borrowed for the call). */
typedef void (*oc_orders_cursor_cb)(void *arg, const char *cursor, const oc_fail_t *f);

/** The stored cursor of connection `conn_id`'s stream ("orders" or "returns"). */
int oc_orders_cursor(oc_db_pool_t *db, const char *tenant, const char *conn_id, const char *stream,
                     oc_orders_cursor_cb cb, void *arg);

/** What a slice's ingestion did. */
typedef struct oc_orders_ingested {
    int n;               /* orders or returns ingested */
    long long movements; /* stock movements they posted */
    long long unmapped;  /* order lines with no listing, parked (orders only) */
} oc_orders_ingested_t;

typedef void (*oc_orders_ingest_cb)(void *arg, const oc_orders_ingested_t *in, const oc_fail_t *f);

/** A slice of a page of a connection's orders or returns, as the channel adapter normalized them. */
typedef struct oc_orders_slice {
    const char *tenant, *conn_id;
    int returns;         /* 1: `items` are returns, else orders */
    const json_t *items; /* at most OC_ORDERS_PER_TX orders (or returns) */
    int last;            /* the page's last slice: saves `cursor`, and (orders) refreshes the unmapped alert */
    const char *cursor;  /* the page's cursor, or NULL */
} oc_orders_slice_t;

/**
 * Ingests a slice in one transaction: the connection's row, the stock and
 * listings its SKUs can touch locked first, then each order or return, then
 * (the last slice) the cursor and the unmapped alert.  On success the hold
 * gate (`redis`) has the balances it changed before `cb` is called.  With
 * nothing to do (no items, and nothing to save) cb is called at once.  A
 * failure changed nothing, the cursor included.
 */
int oc_orders_ingest(oc_db_pool_t *db, oc_redis_t *redis, const oc_orders_slice_t *s, oc_orders_ingest_cb cb,
                     void *arg);

/** Marks the connection's orders `ids` (external ids, strings) acknowledged by the channel. */
int oc_orders_acknowledged(oc_db_pool_t *db, const char *tenant, const char *conn_id, const json_t *ids,
                           oc_query_done_cb cb, void *arg);

/**
 * Appends to `tx` the step that locks connection `conn_id`'s row: the first
 * lock every path that writes a connection's stock or listings takes.
 * Returns the step's index, or -1 when `tx` is full.
 */
int oc_orders_lock_connection_step(oc_db_tx_t *tx, const char *tenant, const char *conn_id);

#endif
