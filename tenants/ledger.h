/*
 * ledger.h — posting movements to the master ledger, batched.
 *
 * Every movement request of a thread goes through one batcher: requests that
 * arrive while earlier batches are in flight are combined into the next one
 * — one PostgreSQL transaction, one round trip, each request still checked,
 * applied and answered on its own (migrations/0003: ledger_post, and a
 * single-statement fast path for one-line sales).  Under load this turns many
 * small transactions into a few larger ones, which is what lets a hot SKU
 * take more sales per second than one transaction per sale could.
 *
 * A batch that fails as a whole (deadlock, serialization, a dropped
 * connection) is retried item by item, so one request never fails another.
 */
#ifndef OC_LEDGER_H
#define OC_LEDGER_H

#include "runtime/json.h"
#include "runtime/thread.h"

typedef struct oc_ledger_item oc_ledger_item_t;

/**
 * The outcome: `status` and `body` (borrowed) as the API answers them, or
 * `err` non-NULL when the database failed.  `replayed` marks an
 * idempotent replay.
 */
typedef void (*oc_ledger_cb)(void *arg, int status, json_t *body, int replayed, const oc_db_result_t *err);

/**
 * Posts one movement request.  `item` (stolen) is the ledger_post item:
 * {"tenant", "kind", "lines": [{"sku", "qty"}], "guard", "key", "hash",
 *  "user", "token", "request_id", "reference", "channel", …}.
 * cb is called exactly once, from the loop.
 */
void oc_ledger_post(oc_thread_t *th, json_t *item, oc_ledger_cb cb, void *arg);

/** Metrics registration (once, before threads start). */
void oc_ledger_init(void);

#endif
