/*
 * holds.h — short reservations, decided in Redis, recorded in PostgreSQL.
 *
 * The fast path: a Lua script checks, for every component SKU of a hold,
 * (on_hand − committed) cached from PostgreSQL minus the units of active
 * holds ≥ the quantity asked, and reserves them — atomically, with keys
 * carrying a {brand} hash tag.  That keeps contention off PostgreSQL's
 * stock rows.  The hold is then committed into PostgreSQL (holds_commit():
 * group commit, conditional on PostgreSQL's own balances) before anyone is
 * told it exists, so a hold answered 201 survives a crash of serve, of
 * Redis, or both, and a Redis rebuilt from PostgreSQL never grants the same
 * units twice.  Expired holds are cleared lazily by the script and by a
 * sweeper.  Guarded sales (API checkouts) pass the same gate, so a hold is
 * never sold from under its holder by onecount itself.
 *
 * When Redis is unreachable oc_hold_create() falls back to PostgreSQL
 * (hold_create_pg); when Redis lost its keys, a SKU's entry is rebuilt from
 * PostgreSQL on first use.  Confirmation always goes through PostgreSQL,
 * whose conditional update is the final word.
 */
#ifndef OC_HOLDS_H
#define OC_HOLDS_H

#include "runtime/json.h"
#include "runtime/thread.h"
#include "tenants/ledger.h"
#include "tenants/query.h"

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
 * `id`, which expires at `expires_ms`.  The reservation counts until then
 * or for OC_HOLD_PENDING_MS, whichever is sooner: oc_holds_commit() gives it
 * its whole life once PostgreSQL has the hold (a sale's gate, never
 * committed, is released by its caller).  Calls cb exactly once —
 * synchronously when Redis is down (OC_RESERVE_UNAVAILABLE), otherwise from
 * the loop.
 */
void oc_holds_reserve(oc_thread_t *th, const char *tenant, const char *id, const long long *sku, const long long *qty,
                      int n, uint64_t expires_ms, oc_reserve_cb cb, void *arg);

/**
 * Ends hold `id` in Redis (no-op when unknown or Redis is down).  `done`
 * (may be NULL) is called once Redis has answered, or at once when it
 * cannot be asked: a caller that answers after it lets every later read of
 * the hold, on any thread, see it ended.
 */
void oc_holds_release_redis(oc_thread_t *th, const char *tenant, const char *id, void (*done)(void *arg), void *arg);

/*
 * Every change to stock publishes its balances: whatever changes stock
 * (a movement, a hold's confirmation, an order ingested, an import applied)
 * tells the hold gate the new (on_hand − committed) of the SKUs it changed
 * before it answers, through one of the three functions below — from a
 * ledger answer's "balances", from a transaction's touched step, or from
 * triples a writer collected itself.  They all end in oc_holds_set_bases.
 */

/**
 * Publishes the balances of a ledger answer (`answer`: {"balances":
 * [{"sku_id", "version", "on_hand", "committed", …}]}, borrowed), then calls
 * done (may be NULL) as oc_holds_set_bases does.
 */
void oc_holds_publish_balances(oc_redis_t *redis, const char *tenant, json_t *answer, void (*done)(void *arg),
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

/** A hold Redis has reserved, as holds_commit() records it in PostgreSQL. */
typedef struct {
    const char *id;
    int n; /* SKUs after bundle expansion, sorted and distinct */
    const long long *sku, *qty;
    const char *request_json;   /* the lines as asked, JSON */
    const char *reference_json; /* JSON string, or NULL */
    const char *hash;           /* the request's hash (what an Idempotency-Key retry is compared with) */
    uint64_t created_ms, expires_ms;
} oc_hold_record_t;

typedef enum {
    OC_HOLD_HELD = 0, /* committed: the hold is a row of `holds` and its units are in stock.held */
    OC_HOLD_EXISTS,   /* the id was taken (a retry, or a request adopting a reservation): see hold_json/hash */
    OC_HOLD_SHORT,    /* PostgreSQL's balances cannot honour it: short_sku_id / available say where */
    OC_HOLD_FAILED,   /* not recorded (PostgreSQL unavailable or failing): code says why */
} oc_hold_commit_result_t;

typedef struct {
    oc_hold_commit_result_t result;
    const char *hold_json;             /* EXISTS: the stored hold, as the API shows it (borrowed for the callback) */
    const char *hash;                  /* EXISTS: its request hash, or NULL */
    long long short_sku_id, available; /* SHORT */
    int code;                          /* FAILED: OC_EUNAVAIL, OC_EBUSY, OC_ETIMEDOUT, OC_EIO */
} oc_hold_commit_outcome_t;

typedef void (*oc_hold_commit_cb)(void *arg, const oc_hold_commit_outcome_t *out);

/**
 * Records a hold Redis has reserved in PostgreSQL, durably, before anyone is
 * told it exists: holds waiting on a thread are committed together (group
 * commit: one statement per batch, a batch sent as soon as a connection is
 * free), and PostgreSQL grants each only where its own balances allow —
 * Redis may have been rebuilt without holds still on their way.
 *
 * Redis is then brought in line, and cb is called once it has answered: a
 * held or existing active hold gets its real expiry there (until then it
 * counts only for OC_HOLD_PENDING_MS, so the reservation of a request that
 * never got here — serve killed — stops counting by itself); any other
 * outcome ends the reservation.  (So a release sent after the answer always
 * finds the hold in Redis, never a settle still on its way.)
 *
 * Returns 0 and calls cb exactly once, from the loop; or OC_EBUSY (the
 * thread's queue is full) and never calls it.  `hold` is copied.
 */
int oc_holds_commit(oc_thread_t *th, const char *tenant, const oc_hold_record_t *hold, oc_hold_commit_cb cb, void *arg);

/* How long a reservation counts in Redis before its commit confirms it. */
#define OC_HOLD_PENDING_MS 30000

/* --- the operations (hold_ops.c): what the API calls ------------------------------------- */

/** A hold asked for.  Strings and lines are borrowed until the callback. */
typedef struct {
    int nlines; /* 1 … OC_HOLD_MAX_LINES */
    const oc_movement_line_t *lines;
    int ttl_seconds;
    const char *reference; /* or NULL */
    const char *key;       /* the Idempotency-Key, or NULL: the same key names the same hold */
    const char *hash;      /* the request's hash: what a retry with the key is compared with */
} oc_hold_request_t;

#define OC_HOLD_MAX_LINES 50

/**
 * Creates a hold of `a->tenant` — the one way: reserved in Redis and
 * committed in PostgreSQL (oc_holds_reserve, oc_holds_commit), or made in
 * PostgreSQL alone (hold_create_pg()) when Redis cannot decide.  cb gets the
 * hold as the API shows it ({"id", "state", "lines", "components",
 * "reference", "created_at", "expires_at", "ended_at"}; `replayed` when the
 * key's hold existed), or a failure: INVALID unknown_sku / empty_bundle /
 * invalid (more than OC_HOLD_MAX_SKUS SKUs) / idempotency_mismatch, CONFLICT
 * insufficient_stock, UNAVAILABLE, DB.  Called exactly once.
 */
void oc_hold_create(oc_thread_t *th, const oc_hold_request_t *req, const oc_actor_t *a, oc_ledger_cb cb, void *arg);

/**
 * Confirms hold `id` (a uuid) — a guarded sale of its lines through the
 * ledger — then publishes the new balances and ends the hold in Redis before
 * cb: the ledger's answer, or NOT_FOUND, CONFLICT hold_ended /
 * insufficient_stock / in_flight, INVALID idempotency_mismatch, DB.
 * `key`/`hash` as for a movement (NULL without an Idempotency-Key).
 */
void oc_hold_confirm(oc_thread_t *th, const char *id, const char *key, const char *hash, const oc_actor_t *a,
                     oc_ledger_cb cb, void *arg);

/**
 * Releases hold `id`, ends it in Redis, then calls cb with the hold as it
 * is now (released, or already ended), or NOT_FOUND, DB.
 */
void oc_hold_release(oc_thread_t *th, const char *id, const oc_actor_t *a, oc_ledger_cb cb, void *arg);

/** Hold `id` of `tenant` as the API shows it, or NOT_FOUND ("no such hold"), DB. */
void oc_hold_get(oc_thread_t *th, const char *tenant, const char *id, oc_ledger_cb cb, void *arg);

/**
 * A page of `tenant`'s holds in `state` ("active": not expired yet,
 * "confirmed", "released", "expired", or "all"), newest first, after the
 * page keys (created_at, id); cb gets the array of hold objects.
 */
void oc_holds_list(oc_thread_t *th, const char *tenant, const char *state, const oc_page_keys_t *pg, oc_query_cb cb,
                   void *arg);

/** Starts the expiry sweeper on this thread (one per process). */
void oc_holds_start_sweeper(oc_thread_t *th);

/** Script and metric registration (once, before threads start). */
void oc_holds_init(void);

#endif
