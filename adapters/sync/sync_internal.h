/*
 * sync_internal.h — what the files of the sync engine (adapters/sync/) share
 * and nothing else includes.
 *
 * One process, one loop thread: everything here is touched only from the
 * thread running oc_worker_main(), so nothing is locked.  The pieces:
 *
 *  - oc_sync: the process's one state (worker.c).  Brands are tnode_t's in a
 *    hash table (oc_sync.tenants); each has three "wants" (W_PUSH, W_EVENTS,
 *    W_ROUTINES) and sits on the matching run queue while it wants one.  The
 *    pump (worker.c) starts work from the queues within the global limits by
 *    calling oc_sync_push_claim(), oc_sync_events_run() and
 *    oc_sync_routines_claim(): each sets the kind's bit in t->running, and
 *    the database's answer clears it through oc_sync_tenant_done() (a call
 *    that fails at once clears it itself and leaves the brand wanting).
 *  - centry_t: a channel connection cached with its credentials opened
 *    (conncache.c); the adapters keep tokens and rate-limit buckets in it.  Users
 *    hold a reference (refs) while an adapter call runs; an edit of the
 *    connection (oc_conn), an authentication failure or an idle spell drops
 *    it (credentials wiped) so the next use reloads it.  Each carries the
 *    push circuit breaker.
 *  - rrun_t: one claimed routine run (routines.c), a small state machine that
 *    oc_sync_routine_step() advances and oc_sync_routine_finish() ends exactly
 *    once; the order and return polls (ingest.c) are steps of it.
 *
 * Leases: every push batch and routine run counts in its brand's t->leased
 * until its result is recorded; worker.c renews those brands' leases every
 * third of worker_lease_seconds.  Locks: a connection's row, then stock rows
 * in sku_id order, then listings in id order (docs/ARCHITECTURE.md), on
 * every path that writes more than one of them.
 *
 * The database: every step that reads or writes it is a domain operation
 * of tenants/ over oc_sync.db (tenants/query.h, oc_query_typed_run: returns 0 and answers once,
 * or an OC_E* code and never answers); nothing here declares SQL or reads a
 * PGresult.
 *
 * JSON values follow jansson's words: "borrowed" is not released by the
 * callee, "new" is released by the caller.
 */
#ifndef OC_SYNC_INTERNAL_H
#define OC_SYNC_INTERNAL_H

#include "adapters/adapter.h"
#include "adapters/chttp.h"
#include "runtime/common.h"
#include "runtime/db.h"
#include "runtime/loop.h"
#include "runtime/metrics.h"
#include "runtime/opslisten.h"
#include "runtime/pglisten.h"
#include "runtime/redis.h"
#include "tenants/channels.h"
#include "tenants/outcome.h"

#include <h2o.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>

#define TBUCKETS   1024
#define CBUCKETS   1024
#define W_PUSH     1
#define W_EVENTS   2
#define W_ROUTINES 4

/* --- the state (worker.c) ------------------------------------------------- */

typedef struct tnode {
    char id[37];
    struct tnode *hnext;
    unsigned want;
    unsigned queued;  /* W_* bits: on that queue */
    unsigned running; /* W_* bits: a claim/batch of that kind in flight */
    int leased;       /* push batches and routine runs holding leases in this brand */
    h2o_linklist_t q[3];
    oc_timer_t due; /* the next listing left behind becomes claimable then (push_claim's wait_ms, circuits) */
    /* The last claim took everything it could and armed `due` (or nothing waits): until a notification, a
     * result or `due` says otherwise, the periodic scan does not wake this brand's pushes again. */
    int quiet;
    uint64_t quiet_ms;
    int64_t circuit_wait_ms; /* set by push_claim: until the first open circuit it skipped half-opens, or -1 */
    int routine_limit;       /* the routine claim in flight asked for this many: a full answer means maybe more */
} tnode_t;

typedef struct centry centry_t;

typedef struct waiter {
    h2o_linklist_t link;
    void (*cb)(void *arg, centry_t *ce, const char *err);
    void *arg;
} waiter_t;

struct centry {
    char tenant[37], id[37];
    struct centry *hnext;
    oc_channel_conn_t *conn; /* NULL until loaded */
    const oc_adapter_t *ad;
    int loading;
    int stale; /* reload once idle */
    h2o_linklist_t waiters;
    int refs; /* operations using conn */
    uint64_t last_used_ms;
    int pushing;
    json_t *identity; /* the account the channel named, while it is being recorded */
    /* circuit breaker */
    enum { CIRCUIT_CLOSED, CIRCUIT_OPEN, CIRCUIT_HALF } circuit;
    int fails;
    uint64_t open_until_ms, open_ms;
};

typedef struct oc_sync_state {
    oc_loop_t *loop;
    oc_db_pool_t *db;
    oc_chttp_t *http;
    oc_pglisten_t *listen;
    oc_opslisten_t *ops; /* /healthz, /readyz, /metrics */
    oc_redis_t *redis;   /* the hold gate, told of the balances ingestion changes */
    char owner[80];
    oc_timer_t renew_timer;
    tnode_t *tenants[TBUCKETS];
    centry_t *conns[CBUCKETS];
    h2o_linklist_t queue[3]; /* push, events, routines */
    int claims, events, routine_claims, routines, pushes;
    oc_timer_t pump_timer, scan_timer;
    int scanning;
    uint64_t last_scan_ms; /* the last scan transaction that answered */
    volatile sig_atomic_t stop;
} oc_sync_state_t;

extern oc_sync_state_t oc_sync;

/* What the worker counts, registered by oc_worker_main() (defined beside the code that counts them). */
extern oc_metric_t oc_sync_m_pushed, oc_sync_m_push_failed, oc_sync_m_push_stale, oc_sync_m_claims; /* push.c */
extern oc_metric_t oc_sync_m_orders;                                                                /* ingest.c */
extern oc_metric_t oc_sync_m_routines;                                                              /* routines.c */
extern oc_metric_t oc_sync_m_scans;                                                                 /* scan.c */

/** FNV-1a over a and b (b may be NULL): the bucket of a brand or a connection. */
unsigned oc_sync_hash(const char *a, const char *b);

/** The brand's node, created on first use; NULL when `id` is not a uuid's length. */
tnode_t *oc_sync_tenant_get(const char *id);

/** Marks `t` as wanting `bits`; queues it for each kind not already queued or running. */
void oc_sync_tenant_want(tnode_t *t, unsigned bits);

/** A job of kind `bit` for `t` ended: queue it again if more was asked meanwhile. */
void oc_sync_tenant_done(tnode_t *t, unsigned bit);

/* --- connections and their circuit breakers (conncache.c) ---------------------- */

/** The cached entry of a connection; with `create`, made (not loaded) when missing, else NULL. */
centry_t *oc_sync_conn_find(const char *tenant, const char *id, int create);

/** Calls cb with the connection loaded (synchronously when cached), or with NULL and why not. */
void oc_sync_conn_use(centry_t *c, void (*cb)(void *arg, centry_t *ce, const char *err), void *arg);

/** Drops the loaded connection (credentials wiped) when nothing uses it; otherwise once idle. */
void oc_sync_conn_unload(centry_t *c);

/** The connection was edited (oc_conn): its circuit closes and it reloads. */
void oc_sync_conn_edited(const char *tenant, const char *id);

/** Idle connections (unused for a while) give their credentials back. */
void oc_sync_conns_unload_idle(void);

/** Shutdown: frees every loaded connection (the adapters' state), leaving the entries. */
void oc_sync_conns_drop(void);

/** Shutdown: frees the entries; without `all`, keeps those whose account is being confirmed. */
void oc_sync_conns_free(int all);

/** 1 when a push may go to the connection (an open circuit whose time is up half-opens). */
int oc_sync_circuit_allows(centry_t *c);

/** "open", "half_open" or "closed". */
const char *oc_sync_circuit_name(const centry_t *c);

/** Updates the breaker after a push batch; returns 1 when it changed state. */
int oc_sync_circuit_record(centry_t *c, int ok, int failed);

/* --- the three kinds of work (push.c, events.c, routines.c) ---------------- */

/** Claims the brand's out-of-sync listings and pushes them, a batch per connection. */
void oc_sync_push_claim(tnode_t *t);

/** Turns a batch of the brand's stored webhook events into polls and read-backs (events_process). */
void oc_sync_events_run(tnode_t *t);

/** Claims the brand's due routines and starts each. */
void oc_sync_routines_claim(tnode_t *t);

/* --- routine runs (routines.c, ingest.c) ----------------------------------- */

typedef struct rrun {
    tnode_t *t;
    char id[37], cid[37], kind[24];
    char run[37];   /* its record in routine_runs */
    json_t *params; /* the SOP step's settings (sop_action's) */
    centry_t *ce;
    json_t *detail;
    json_t *page;  /* the current page's result (orders/returns) */
    json_t *acks;  /* order ids to acknowledge */
    json_t *todo;  /* read-back: listings still to read */
    json_t *found; /* read-back: what the channel said, per chunk */
    char *cursor;
    size_t next;   /* index into the page/todo */
    int page_done; /* the page's orders and cursor are submitted */
    int pages;
    uint64_t started_ms;
} rrun_t;

/** Advances a run by one step; every asynchronous step calls back into here. */
void oc_sync_routine_step(rrun_t *rr);

/** Ends a run, once: err NULL = ok; retry_s = run again this soon (-1: on schedule). Frees rr. */
void oc_sync_routine_finish(rrun_t *rr, const char *err, int retry_s);

/** Adds n to the run's detail counter `key`. */
void oc_sync_detail_add(rrun_t *rr, const char *key, long long n);

/** A domain failure's text (query.h): the database's message, its server detail first with `detail_first`. */
const char *oc_sync_fail_text(const oc_fail_t *f, int detail_first);

/** The adapter's error text, or NULL when the call succeeded. */
const char *oc_sync_err_text(const oc_adapter_error_t *e);

/** Ends a run after an adapter error (an authentication refusal reloads the connection). */
void oc_sync_adapter_failed(rrun_t *rr, const oc_adapter_error_t *e);

/** poll_orders and poll_returns: the next step (fetch a page, ingest a slice, acknowledge, or finish). */
void oc_sync_poll_step(rrun_t *rr);

/* --- work across brands (scan.c, jobs.c) ----------------------------------- */

/** The scan timer: idle connections let go, then one scan over every brand unless one runs. */
void oc_sync_scan(oc_timer_t *timer);

/** Registers the jobs' metrics (after the others, as they always were). */
void oc_sync_jobs_register_metrics(void);

/** Starts the cross-brand jobs' timers; oc_sync_jobs_stop() stops them. */
void oc_sync_jobs_start(void);
void oc_sync_jobs_stop(void);

/** How many jobs run here now. */
int oc_sync_jobs_running(void);

/** Extends the leases of the jobs running here (called with the brands' renewal). */
void oc_sync_jobs_renew(void);

/* notify.c: delivering notifications (webhooks, e-mail, digests). */
void oc_sync_notify_start(void);
void oc_sync_notify_stop(void);
/** Claims what is due now (NOTIFY oc_notify). */
void oc_sync_notify_wake(void);
/** Deliveries, claims and digest runs in flight. */
int oc_sync_notify_running(void);

#endif
