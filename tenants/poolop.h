/*
 * poolop.h — a domain operation run on a pool directly, answering through a
 * typed callback: the way the sync engine (adapters/sync/) calls the domain,
 * as it has one pool and no oc_thread_t (query.h is the API's way).
 *
 * The operation builds its transaction from its own statements and hands
 * the finished result to a reader of its own, which turns the rows into the
 * operation's typed answer and calls the caller's callback.  Every operation
 * built on it returns 0 and calls its callback exactly once later, on the
 * pool's loop; or returns an OC_E* code (the database unavailable, the queue
 * full) and never calls it.  A NULL callback runs the work with nobody
 * waiting for its outcome.
 *
 * A failure reaches the callback as OC_FAIL_DB with the result (borrowed for
 * the call): f->db->err is the message, f->db->detail the server's, if any.
 */
#ifndef OC_POOLOP_H
#define OC_POOLOP_H

#include "tenants/outcome.h"

/** The answer of an operation that answers nothing but whether it happened: `f` NULL, else filled. */
typedef void (*oc_poolop_done_cb)(void *arg, const oc_fail_t *f);

/**
 * The operation's reader: `res` is the finished transaction, `f` NULL on
 * success, else its failure.  `done` is the operation's callback, cast to
 * void (*)(void) (NULL: nobody waits); the reader casts it back and answers
 * through it with `arg`.
 */
typedef void (*oc_poolop_read)(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg);

/** Runs `tx` on `db` and answers through `read`.  Returns 0, or an OC_E* code and never calls `read`. */
int oc_poolop_run(oc_db_pool_t *db, const oc_db_tx_t *tx, oc_poolop_read read, void (*done)(void), void *arg);

/** oc_poolop_run of one statement under `tenant` (NULL = none) with its parameters. */
int oc_poolop_exec(oc_db_pool_t *db, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params,
                   oc_poolop_read read, void (*done)(void), void *arg);

/** The reader for an oc_poolop_done_cb: only whether it happened. */
void oc_poolop_read_done(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg);

/** An integer as a statement's parameter text, in `buf` (returned). */
const char *oc_poolop_int(char buf[24], long long v);

#endif
