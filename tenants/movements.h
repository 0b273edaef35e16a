/*
 * movements.h — a stock movement, the whole operation: receipts, sales,
 * shipments, cancellations, returns, adjustments and counts.
 *
 * oc_movement_post() resolves the SKUs (bundles to their components), lets
 * a guarded sale pass the Redis hold gate (so units someone holds are not
 * sold from under them), posts the movement to the ledger (ledger.h: batched,
 * one transaction per batch), ends the gate, and publishes the new balances
 * to the hold gate (holds.h, oc_holds_publish_balances) before it calls
 * back: a hold asked after the caller answers sees the new quantities.
 */
#ifndef OC_MOVEMENTS_H
#define OC_MOVEMENTS_H

#include "tenants/ledger.h"

/**
 * Records movement `m` of the brand `a->tenant`, as `a`.  `m` and `a` and
 * their strings are borrowed until cb, which is called exactly once, from
 * the loop, with the ledger's answer or why there is none (ledger.h:
 * oc_ledger_outcome_t; a guarded sale the gate refuses fails CONFLICT
 * insufficient_stock naming the SKU).
 */
void oc_movement_post(oc_thread_t *th, const oc_movement_t *m, const oc_actor_t *a, oc_ledger_cb cb, void *arg);

#endif
