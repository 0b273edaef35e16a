/*
 * ledger.h — stock movements: the typed movement, and posting it to the
 * master ledger, batched.
 *
 * Every movement of a thread goes through one batcher: movements that
 * arrive while earlier batches are in flight are combined into the next one
 * — one PostgreSQL transaction, one round trip, each movement still checked,
 * applied and answered on its own (ledger_sale() for a one-line sale,
 * ledger_post() for the rest; both write a sale with the same SQL, see
 * migrations/0022).  Under load this turns many small transactions into a
 * few larger ones, which is what lets a hot SKU take more sales per second
 * than one transaction per sale could.
 *
 * A batch that fails as a whole (deadlock, serialization, a dropped
 * connection) is retried item by item, so one request never fails another.
 *
 * The whole operation — resolve the SKUs, pass the hold gate, post, end the
 * gate, publish the new balances — is oc_movement_post() (movements.h);
 * oc_ledger_post() is its last step and not called on its own by the API.
 */
#ifndef OC_LEDGER_H
#define OC_LEDGER_H

#include "runtime/json.h"
#include "runtime/thread.h"
#include "tenants/audit.h"
#include "tenants/outcome.h"

#define OC_MOVEMENT_MAX_LINES 100

typedef enum {
    OC_MOVE_RECEIPT = 0,
    OC_MOVE_SALE,
    OC_MOVE_SHIP,
    OC_MOVE_CANCEL,
    OC_MOVE_RETURN,
    OC_MOVE_ADJUST,
    OC_MOVE_COUNT,
} oc_move_kind_t;

/** The kind's name as the ledger and the API spell it ("receipt", "sale", …). */
const char *oc_move_kind_name(oc_move_kind_t kind);
/** The kind named `name`; -1 when none is. */
int oc_move_kind_parse(const char *name);

typedef struct {
    const char *sku; /* the SKU's code (a bundle's too: the ledger expands it) */
    long long qty;   /* a change for adjust, the units counted for count, else a positive quantity */
} oc_movement_line_t;

/**
 * One movement request, as the ledger records it.  Strings are borrowed and
 * must outlive the callback; NULL = absent.
 */
typedef struct oc_movement {
    oc_move_kind_t kind;
    int nlines; /* 1 … OC_MOVEMENT_MAX_LINES */
    const oc_movement_line_t *lines;
    const char *reason;      /* adjust */
    const char *disposition; /* return: restock, damaged or inspect */
    int from_inspection;     /* return: the units leave inspection */
    const char *reference;   /* the caller's reference (an order number …) */
    const char *channel;     /* the connection a channel sale came from (uuid) */
    int guard;               /* a sale from onecount's own paths: passes the hold gate, never goes below zero */
    const char *key, *hash;  /* the Idempotency-Key and the request's hash, or NULL */
} oc_movement_t;

/**
 * How a movement ended.  Either `fail` is NULL and `body` (borrowed for the
 * callback) is the ledger's answer — {"kind", "movements", "balances",
 * "oversells"}, `replayed` set when an Idempotency-Key replayed a stored
 * one — or `fail` says why nothing was recorded (INVALID: unknown_sku,
 * bundle_has_no_stock, idempotency_mismatch …; CONFLICT: insufficient_stock,
 * in_flight, nothing_to_ship …; DB: the database failed).
 */
typedef struct {
    json_t *body;
    int replayed;
    const oc_fail_t *fail;
} oc_ledger_outcome_t;

typedef void (*oc_ledger_cb)(void *arg, const oc_ledger_outcome_t *out);

/**
 * Posts one movement of the brand `a->tenant`, as the actor `a`: the batcher
 * copies what it needs of `m` and `a` (their strings stay borrowed).
 * `lock_sku` is the lowest component sku_id the movement locks, where the
 * caller resolved it (0 = unknown): batches order their statements by it.
 * cb is called exactly once, from the loop.
 */
void oc_ledger_post(oc_thread_t *th, const oc_movement_t *m, const oc_actor_t *a, long long lock_sku, oc_ledger_cb cb,
                    void *arg);

/**
 * A ledger_post() answer object {"status", "body", "replayed"} (the shape the
 * SQL functions of the ledger and of holds return) as an outcome: calls
 * cb once with it.  A status of 400 and above becomes a failure with the
 * body's error code, message and field.
 */
void oc_ledger_answer(json_t *answer, oc_ledger_cb cb, void *arg);

/** Metrics registration (once, before threads start). */
void oc_ledger_init(void);

#endif
