/*
 * query.h — how a domain read or write hands back its answer.
 *
 * A domain operation builds its transaction from the statements of the
 * module that owns the tables, runs it on the thread's pool and calls back
 * once on the loop thread with either a JSON value or a failure
 * (outcome.h).  The interpretation of the rows — one row or not found, all
 * rows, or the module's own reading — is the operation's, not the caller's:
 * a handler only maps the failure to HTTP.
 */
#ifndef OC_QUERY_H
#define OC_QUERY_H

#include "runtime/thread.h"
#include "tenants/outcome.h"

/**
 * The answer: `v` is a new reference the callback owns (NULL with `f` on a
 * failure); `f` is borrowed for the call.  Called exactly once, on the
 * calling thread's loop, possibly before the operation returns (the
 * database unavailable: OC_FAIL_UNAVAILABLE).
 */
typedef void (*oc_query_cb)(void *arg, json_t *v, const oc_fail_t *f);

/**
 * Reads a finished transaction into the answer: returns a new reference, or
 * NULL with `f` filled.  `what` is the operation's noun for "not found".
 */
typedef json_t *(*oc_query_read)(const oc_db_result_t *res, const char *what, oc_fail_t *f);

/** The JSON in column 0 of the one row of the last step; else "no such <what>" (oc_fail_one_row). */
json_t *oc_query_one(const oc_db_result_t *res, const char *what, oc_fail_t *f);

/** The array of every row's JSON column 0 of the last step (a list page: the caller cuts it). */
json_t *oc_query_rows(const oc_db_result_t *res, const char *what, oc_fail_t *f);

/**
 * A database refusal an operation names itself (a unique or foreign-key
 * violation, a SQLSTATE of its own): fills `f` and returns 1 when it knows
 * `res`'s error, else 0 (the error then reaches the reader, and from it the
 * caller as OC_FAIL_DB).  `ctx` is the operation's (oc_query_how_t).
 */
typedef int (*oc_query_refuse)(const oc_db_result_t *res, const void *ctx, oc_fail_t *f);

/** How a transaction answers: its reader, and what the run does around it. */
typedef struct oc_query_how {
    oc_query_read read;     /* the answer from the rows; NULL = oc_query_one */
    const char *what;       /* the noun of "no such <what>" (static, or outlives the run) */
    int step;               /* the step (1-based) the reader reads as the last; 0 = the last */
    int touches_stock;      /* tx has an oc_holds_touched_step: answered once the hold gate has heard */
    oc_query_refuse refuse; /* NULL: every database error reaches the reader */
    const void *refuse_ctx; /* handed to refuse (static, or outlives the run) */
} oc_query_how_t;

/**
 * Runs `tx` on `th`'s pool and answers `cb` once as `how` says: a refusal
 * `how->refuse` names, else the reader's answer or failure; with
 * touches_stock, only after the hold gate has the new balances of the
 * transaction's touched step (a hold asked after the answer sees them).
 * The one way a domain transaction answers; the database unavailable is
 * OC_FAIL_UNAVAILABLE, answered before this returns.
 */
void oc_query_answer(oc_thread_t *th, const oc_db_tx_t *tx, const oc_query_how_t *how, oc_query_cb cb, void *arg);

/** oc_query_answer with a reader and its noun only. */
void oc_query_run(oc_thread_t *th, const oc_db_tx_t *tx, oc_query_read read, const char *what, oc_query_cb cb,
                  void *arg);

/** oc_query_run of one statement under `tenant` (NULL = none) with its parameters. */
void oc_query_exec(oc_thread_t *th, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params,
                   oc_query_read read, const char *what, oc_query_cb cb, void *arg);

/* --- typed answers ------------------------------------------------------------------------- */

/**
 * For an operation whose callback takes a typed answer (a struct, counts, a
 * list of its own), not JSON: the sync engine's operations (it has a pool,
 * no oc_thread_t) and a few of the API's.  The operation runs its
 * transaction on a pool and its reader turns the finished result into the
 * answer.  `res` is the finished transaction (borrowed for the call; NULL
 * when it never ran), `f` NULL on success, else its failure (OC_FAIL_DB with
 * the result: f->db->err the message, f->db->detail the server's; or
 * OC_FAIL_UNAVAILABLE from oc_query_typed).  `done` is the operation's own
 * callback cast to void (*)(void) (NULL: nobody waits), `arg` its argument:
 * the reader casts `done` back and answers through it.
 */
typedef void (*oc_query_typed_fn)(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg);

/**
 * Runs `tx` on `db` and answers through `read`, later, on the pool's loop.
 * Returns 0, or an OC_E* code (the database unavailable, the queue full) and
 * never calls `read`.  With `done` NULL the work runs and nobody hears of it.
 */
int oc_query_typed_run(oc_db_pool_t *db, const oc_db_tx_t *tx, oc_query_typed_fn read, void (*done)(void), void *arg);

/** oc_query_typed_run of one statement under `tenant` (NULL = none) with its parameters. */
int oc_query_typed_exec(oc_db_pool_t *db, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params,
                        oc_query_typed_fn read, void (*done)(void), void *arg);

/** oc_query_typed_exec on `th`'s pool; the database unavailable reaches `read` at once (res NULL, OC_FAIL_UNAVAILABLE).
 */
void oc_query_typed(oc_thread_t *th, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params,
                    oc_query_typed_fn read, void (*done)(void), void *arg);

/** The rows of a finished transaction's last step. */
const PGresult *oc_query_last(const oc_db_result_t *res);

/** The answer of an operation that answers nothing but whether it happened: `f` NULL, else filled. */
typedef void (*oc_query_done_cb)(void *arg, const oc_fail_t *f);

/** The reader for an oc_query_done_cb: only whether it happened. */
void oc_query_read_done(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg);

/** An integer as a statement's parameter text, in `buf` (returned). */
const char *oc_query_int(char buf[24], long long v);

/** Answers `cb` at once with OC_FAIL_UNAVAILABLE ("the database is unavailable; retry shortly"). */
void oc_query_unavailable(oc_query_cb cb, void *arg);

/**
 * Which page of a list to read: the cursor's sort-key values (NULL on the
 * first page) and the number of rows to fetch as text (the page's limit + 1,
 * so the caller learns whether another page exists).
 */
typedef struct oc_page_keys {
    const char *after[3];
    const char *limit_plus_one;
} oc_page_keys_t;

/**
 * Appends `stmt` as the next step of `tx` with the parameters of a list
 * page: `head` (its first `nhead`: the brand, the filters), then the page's
 * first `nkeys` cursor keys, then its limit + 1.  Returns the step's index,
 * or -1 when full.
 */
int oc_query_page_step(oc_db_tx_t *tx, const oc_db_stmt_t *stmt, const char *const *head, int nhead,
                       const oc_page_keys_t *pg, int nkeys);

/** A list page in one statement (oc_query_page_step under `tenant`), answered as all its rows (oc_query_rows). */
void oc_query_list(oc_thread_t *th, const char *tenant, const oc_db_stmt_t *stmt, const char *const *head, int nhead,
                   const oc_page_keys_t *pg, int nkeys, const char *what, oc_query_cb cb, void *arg);

/** An Idempotency-Key and the hash of its request (server/http.c checked the key's form). */
typedef struct oc_idem {
    const char *key;
    const char *hash;
} oc_idem_t;

/**
 * Appends the idempotency step (idem_begin, migrations/0003) to `tx` when
 * `idem` holds a key: it must be the first step of a write.  Returns 0, or -1
 * when `tx` is full.
 */
int oc_query_idem_step(oc_db_tx_t *tx, const char *tenant, const oc_idem_t *idem);

/**
 * Appends a step making `request_id` the transaction's app.request_id, for
 * the SQL functions that audit what they changed themselves.  Returns 0 or -1.
 */
int oc_query_request_id_step(oc_db_tx_t *tx, const char *request_id);

/** Appends `stmt` with `params` (n of them) as the next step of `tx`.  Returns the step's index, or -1 when full. */
int oc_query_step(oc_db_tx_t *tx, const oc_db_stmt_t *stmt, const char *const *params, int n);

#endif
