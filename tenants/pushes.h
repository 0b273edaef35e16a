/*
 * pushes.h — pushing quantities to the channels, as the domain keeps it
 * (migrations 0006, 0012): a brand's claim of its out-of-sync listings under
 * a lease (push_claim: FOR UPDATE SKIP LOCKED, the newest quantity, hot
 * listings spaced), the record of what a channel answered for a batch with
 * its connection's health (push_record, connection_health_record), and the
 * hand-back of claimed listings whose results could not be recorded.
 *
 * The sync engine (adapters/sync/push.c) decides when each runs.  Typed
 * operations on a pool: see query.h (oc_query_typed_run) for how they answer.
 */
#ifndef OC_PUSHES_H
#define OC_PUSHES_H

#include "tenants/query.h"

/**
 * The claim's answer: `rows` (borrowed for the call; NULL on a failure) are
 * the claimed listings ordered by connection_id, each {listing_id,
 * connection_id, sku_id, sku, item_ref, location_ref, qty, version, expect,
 * desired_at_us}; `wait_ms` > 0 is when the first listing left behind (a
 * backoff, another worker's lease, a hot listing's spacing, a skipped
 * connection) may go, 0 when none waits.
 */
typedef void (*oc_pushes_claim_cb)(void *arg, json_t *rows, long long wait_ms, const oc_fail_t *f);

/** What a claim asks for. */
typedef struct oc_push_claim_req {
    const char *tenant;
    const char *owner;  /* the worker: the leases' owner */
    int limit;          /* listings at most */
    const json_t *skip; /* connection ids (strings) not to claim from: pushing already or circuit open; NULL = none */
    int lease_s;        /* the leases' length */
    int spacing_ms;     /* a hot listing's pushes at least this far apart */
} oc_push_claim_req_t;

/** Claims the brand's out-of-sync listings under `req->owner`'s lease. */
int oc_pushes_claim(oc_db_pool_t *db, const oc_push_claim_req_t *req, oc_pushes_claim_cb cb, void *arg);

/** A connection's health after a push batch (connection_health_record). */
typedef struct oc_push_health {
    int ok, failed, throttled;   /* listings pushed (or pending), refused or failed; answers 429 */
    double latency_ms;           /* the batch's mean round trip; < 0 = none (an empty batch) */
    const char *error;           /* the batch's last error, or NULL */
    const char *circuit;         /* the circuit breaker: "open", "half_open" or "closed" */
    const long long *visible_ms; /* per listing the channel showed at once: ms until it did (push_lag_record) */
    size_t nvisible;             /* how many; 0 = none */
} oc_push_health_t;

/**
 * Records a batch of connection `conn_id`: its health first, then the
 * listings' `results` (push_record: versions, push_log, backoff, drift) —
 * one transaction, locking the connection before its listings as an order
 * ingestion does.  Each result: {listing_id, connection_id, sku_id, qty,
 * version, expect, status ("ok", "pending", "stale", "error"), retryable,
 * latency_ms, desired_at_us, and current and error when known}.
 */
int oc_pushes_record(oc_db_pool_t *db, const char *tenant, const char *owner, const char *conn_id,
                     const oc_push_health_t *health, const json_t *results, oc_query_done_cb cb, void *arg);

/** 1 when a record failed as a deadlock or a serialization failure: nothing was written, it may be sent again. */
int oc_pushes_retryable(const oc_fail_t *f);

/**
 * Hands back the listings of `claimed` (rows as the claim answered them)
 * that `owner` still leases, to be claimed again in two seconds (not at
 * once: a failure that repeats would push to the channel in a loop).
 */
int oc_pushes_release(oc_db_pool_t *db, const char *tenant, const char *owner, const json_t *claimed,
                      oc_query_done_cb cb, void *arg);

#endif
