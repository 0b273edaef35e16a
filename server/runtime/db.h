/*
 * db.h — an asynchronous PostgreSQL pool on one event loop.
 *
 * Each event-loop thread owns one pool of non-blocking libpq connections.
 * Work is submitted as a *transaction*: an optional tenant, then up to
 * OC_DB_MAX_STEPS prepared statements.  The pool sends the whole transaction
 * in one pipeline (set_config('app.tenant_id', $1, true) first, then each
 * statement, then a sync), so it costs one round trip and commits or rolls
 * back as one implicit transaction.  The tenant is local to that transaction
 * and never outlives it on a pooled connection.
 *
 * Statements are declared statically next to the module that owns their
 * tables (OC_DB_STMT) and prepared lazily on each connection.
 *
 * Failure modes: while no connection is up, oc_db_run() fails at once with
 * OC_EUNAVAIL (and the callback is never called); a full queue gives
 * OC_EBUSY; a round trip longer than the query timeout completes with
 * OC_ETIMEDOUT and the connection is reset.  Broken connections reconnect
 * with exponential backoff.
 */
#ifndef OC_DB_H
#define OC_DB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdatomic.h>

#include "runtime/common.h"
#include "runtime/loop.h"

#define OC_DB_MAX_STEPS  32
#define OC_DB_MAX_PARAMS 24

typedef struct oc_db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    _Atomic int index; /* assigned on first use; 0 = not yet */
} oc_db_stmt_t;

/*
 * Declares a statement.  Every statement is also listed in the "oc_db_stmts"
 * link section, so `onecount util check-sql` (and the test suite) can
 * prepare all of them against the real schema.
 */
#define OC_DB_STMT(var, nparams_, sql_)                                                                                \
    static oc_db_stmt_t var = {#var, sql_, nparams_, 0};                                                               \
    static oc_db_stmt_t *const var##_registered __attribute__((used, section("oc_db_stmts"))) = &var

/** Every statement of the program (from the link section); sets *n. */
oc_db_stmt_t *const *oc_db_all_statements(size_t *n);

/** Highest $N placeholder in `sql` (ignores quoted text). */
int oc_db_count_params(const char *sql);

typedef struct oc_db_pool oc_db_pool_t;

/** The outcome of one transaction, borrowed by the callback for its duration. */
typedef struct oc_db_result {
    const char *err;    /* NULL on success */
    int code;           /* 0, or OC_E* (OC_EUNAVAIL, OC_ETIMEDOUT, OC_EIO, OC_ECONFLICT...) */
    char sqlstate[6];   /* SQLSTATE of a server error, else "" */
    const char *detail; /* server's message for a server error, else NULL */
    const char *extra;  /* the error's DETAIL field, else NULL */
    int nresults;       /* one per step */
    PGresult *const *results;
} oc_db_result_t;

typedef void (*oc_db_cb)(void *arg, const oc_db_result_t *res);

typedef struct oc_db_tx {
    const char *tenant; /* NULL = no tenant */
    int nsteps;
    struct {
        const oc_db_stmt_t *stmt;
        const char *params[OC_DB_MAX_PARAMS]; /* NULL = SQL NULL */
        /* When set, the tenant is switched to this one just before the step
         * (batches of several brands' requests in one transaction). */
        const char *tenant;
    } steps[OC_DB_MAX_STEPS];
    /* Round-trip deadline and statement_timeout for this transaction; 0 =
     * the pool's.  Bulk work (an import's apply) sets a longer one. */
    int timeout_ms;
    /* When set, called on the loop as each step's result arrives, before
     * the transaction's callback (a progress report: it must not run
     * database work itself).  Each step's result is then flushed by the
     * server as soon as the step completes. */
    void (*on_step)(void *arg, int step);
} oc_db_tx_t;

typedef struct oc_db_pool_stats {
    int size, connected, busy, queued;
    uint64_t waits_total, wait_us_total, timeouts_total, reconnects_total;
} oc_db_pool_stats_t;

/**
 * Creates a pool of `size` connections on `loop` and starts connecting.
 * `conninfo` is copied.  Never NULL.
 */
oc_db_pool_t *oc_db_pool_create(oc_loop_t *loop, const char *conninfo, int size, int queue_max, int timeout_ms);

/** Closes every connection and fails queued work with OC_EUNAVAIL; accepts NULL. */
void oc_db_pool_destroy(oc_db_pool_t *pool);

/**
 * Runs `tx` (its strings are copied before return).  Returns 0 and later
 * calls `cb` exactly once; or returns OC_EUNAVAIL / OC_EBUSY / OC_EINVAL and
 * never calls it.  `cb` may be NULL for work whose outcome nobody waits for.
 */
int oc_db_run(oc_db_pool_t *pool, const oc_db_tx_t *tx, oc_db_cb cb, void *arg);

/** Convenience: one statement with `nparams` parameters. */
int oc_db_exec(oc_db_pool_t *pool, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params, oc_db_cb cb,
               void *arg);

/** Returns 1 when at least one connection is up. */
int oc_db_pool_ready(const oc_db_pool_t *pool);

void oc_db_pool_stats(const oc_db_pool_t *pool, oc_db_pool_stats_t *out);

/** Registers the pool metrics collector (process-wide; call once). */
void oc_db_metrics_init(void);

/* Helpers over a PGresult row: NULL-safe accessors. */
const char *oc_db_get(const PGresult *r, int row, int col); /* NULL for SQL NULL */
long long oc_db_get_ll(const PGresult *r, int row, int col, long long dflt);
/** Parses a json/jsonb column (new reference; NULL for SQL NULL or bad JSON). */
json_t *oc_db_json(const PGresult *r, int row, int col);
/** Array of every row's json column `col` (new reference). */
json_t *oc_db_json_rows(const PGresult *r, int col);

/*
 * Array parameters ($1::text[], $2::bigint[], $3::uuid[]): the one way to
 * build a PostgreSQL array literal.  Start from an empty oc_buf_t, add the
 * elements, end it; the buffer's text is the parameter:
 *
 *     oc_buf_t ids = {0};
 *     for (...) oc_db_array_add(&ids, id);
 *     const char *p = oc_db_array_end(&ids);  // "{"a","b"}", or "{}" when none was added
 *
 * Every element is double-quoted with `"` and `\` escaped, so any text is
 * safe (a number quoted is still a number to PostgreSQL); NULL adds SQL NULL.
 * The adds return 0, or OC_ENOMEM (the buffer then holds a partial literal).
 */
int oc_db_array_add(oc_buf_t *b, const char *v);
int oc_db_array_add_ll(oc_buf_t *b, long long v);
int oc_db_array_add_n(oc_buf_t *b, const char *v, size_t len); /* `len` bytes of v */
const char *oc_db_array_end(oc_buf_t *b); /* closes it: the literal (in b), or NULL when b cannot grow */

#endif
