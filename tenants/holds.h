/*
 * holds.h — short reservations, decided in Redis, recorded in PostgreSQL.
 *
 * The fast path: a Lua script checks, for every component SKU of a hold,
 * (on_hand − committed) cached from PostgreSQL minus the units of active
 * holds ≥ the quantity asked, and records the hold — atomically, with keys
 * carrying a {brand} hash tag.  Expired holds are cleared lazily by the
 * script and by a sweeper.  The hold is then mirrored into PostgreSQL in
 * batches (stock.held), so balances, published quantities and confirmation
 * see it within milliseconds.  Guarded sales (API checkouts) pass the same
 * gate, so a hold is never sold from under its holder by onecount itself.
 *
 * When Redis is unreachable the callers fall back to PostgreSQL
 * (hold_create_pg); when Redis lost its keys, a SKU's entry is rebuilt from
 * PostgreSQL on first use.  Confirmation always goes through PostgreSQL,
 * whose conditional update is the final word.
 */
#ifndef OC_HOLDS_H
#define OC_HOLDS_H

#include "server/http.h"

#define OC_HOLD_MAX_SKUS 32

typedef enum {
    OC_RESERVE_OK = 0,
    OC_RESERVE_INSUFFICIENT, /* short_sku_id / available say where */
    OC_RESERVE_UNAVAILABLE,  /* Redis down: use the PostgreSQL path */
    OC_RESERVE_ERROR,        /* PostgreSQL failed while rebuilding the cache */
    OC_RESERVE_DUPLICATE,    /* a hold with this id already exists */
} oc_reserve_result_t;

typedef struct oc_reserve_outcome {
    oc_reserve_result_t result;
    long long short_sku_id;
    long long available;
} oc_reserve_outcome_t;

typedef void (*oc_reserve_cb)(void *arg, const oc_reserve_outcome_t *out);

/**
 * Reserves `qty[i]` of `sku[i]` (component SKUs, sorted, distinct) for hold
 * `id` until `expires_ms`.  Calls cb exactly once — synchronously when Redis
 * is down (OC_RESERVE_UNAVAILABLE), otherwise from the loop.
 */
void oc_holds_reserve(oc_thread_t *th, const char *tenant, const char *id, const long long *sku, const long long *qty,
                      int n, uint64_t expires_ms, oc_reserve_cb cb, void *arg);
/** Same, storing `extra` ("<request hash>|<hold JSON>") with the hold for reads and replays. */
void oc_holds_reserve_ex(oc_thread_t *th, const char *tenant, const char *id, const long long *sku,
                         const long long *qty, int n, uint64_t expires_ms, const char *extra, oc_reserve_cb cb,
                         void *arg);

/**
 * Ends hold `id` in Redis (no-op when unknown or Redis is down).  `done`
 * (may be NULL) is called once Redis has answered, or at once when it
 * cannot be asked: a caller that answers after it lets every later read of
 * the hold, on any thread, see it ended.
 */
void oc_holds_release_redis(oc_thread_t *th, const char *tenant, const char *id, void (*done)(void *arg), void *arg);

/**
 * What Redis knows of hold `id`: cb gets the spec "expires_ms|sku:qty,…" or
 * NULL (unknown, expired, or Redis down).
 */
void oc_holds_get_redis(oc_thread_t *th, const char *tenant, const char *id, void (*cb)(void *arg, const char *spec),
                        void *arg);

/**
 * Publishes SKUs' new (on_hand − committed) after a ledger change, where
 * Redis caches them and has an older version: `bases` holds n triples
 * (sku_id, version, base).  `done` (may be NULL) is called once Redis has
 * answered them all, or at once when it cannot be asked.  A writer answers
 * its client from `done`, so a hold asked after that answer, on any thread
 * or process, is checked against the new quantity.
 */
void oc_holds_set_bases(oc_redis_t *redis, const char *tenant, const long long *bases, size_t n,
                        void (*done)(void *arg), void *arg);

/**
 * For a transaction that may change balances as a side effect (an order
 * ingested, parked order lines replayed when their listing appears): appends
 * a step listing the balances the transaction changed.  Once it committed,
 * oc_holds_publish_touched() gives them to the hold gate, then calls done.
 */
void oc_holds_touched_step(oc_db_tx_t *tx, const char *tenant);
void oc_holds_publish_touched(oc_redis_t *redis, const char *tenant, const oc_db_result_t *res, void (*done)(void *arg),
                              void *arg);

/** A hold created in Redis, as the mirror records it in PostgreSQL. */
typedef struct {
    const char *id;
    int n; /* SKUs after bundle expansion */
    const long long *sku, *qty;
    const char *request_json;   /* the lines as asked, JSON */
    const char *reference_json; /* JSON string, or NULL */
    uint64_t created_ms, expires_ms;
} oc_hold_mirror_t;

/** Queues a hold created in Redis for mirroring into PostgreSQL (copied). */
void oc_holds_mirror(oc_thread_t *th, const char *tenant, const oc_hold_mirror_t *hold);

/** Starts the expiry sweeper on this thread (one per process). */
void oc_holds_start_sweeper(oc_thread_t *th);

/** Script and metric registration (once, before threads start). */
void oc_holds_init(void);

#endif
