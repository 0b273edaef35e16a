/*
 * thread.h — the per-thread context every layer above the runtime works in.
 *
 * `serve` runs one evloop per thread (server/http.c starts them); each thread
 * owns its loop, its PostgreSQL pool, its Redis client and its work-pool
 * receiver, and nothing here is shared between threads.  A module above the
 * runtime that keeps per-thread state (a cache, a batcher, an HTTP client)
 * keeps it in a slot of its thread, named by the address of a static object
 * of its own, so the runtime never names the modules built on it:
 *
 *     static const char slot;
 *     cache_t *c = oc_thread_slot(th, &slot);
 *     if (c == NULL) c = oc_thread_set_slot(th, &slot, cache_new(), cache_free);
 *
 * Slots are disposed with the thread, after its pools (whose failing
 * callbacks may still use them), in the order they were set.
 */
#ifndef OC_THREAD_H
#define OC_THREAD_H

#include <h2o.h>

#include "runtime/db.h"
#include "runtime/listener.h"
#include "runtime/loop.h"
#include "runtime/redis.h"
#include "runtime/workpool.h"

#define OC_THREAD_SLOTS 8

typedef struct oc_thread {
    int index;
    oc_loop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    oc_db_pool_t *db;
    oc_redis_t *redis;
    oc_workpool_t *workpool; /* the process's pool for blocking work (shared by the threads) */
    oc_work_receiver_t work; /* where this thread's finished work comes back */
    int inflight;            /* API requests accepted and not yet answered */
    int drained;             /* set at shutdown when every connection closed in time */
    oc_conns_t conns;        /* client connections, tracked for shutdown */
    struct {
        const void *key;
        void *p;
        void (*dispose)(void *p);
    } slots[OC_THREAD_SLOTS];
} oc_thread_t;

/** The state `key` keeps on this thread, or NULL before it set any. */
void *oc_thread_slot(const oc_thread_t *th, const void *key);

/**
 * Keeps `p` as `key`'s state on this thread, disposed with `dispose` (may be
 * NULL) when the thread ends.  Returns p.  More keys than OC_THREAD_SLOTS is
 * a programming error and aborts.
 */
void *oc_thread_set_slot(oc_thread_t *th, const void *key, void *p, void (*dispose)(void *p));

/** Disposes every slot, in the order they were set (thread shutdown). */
void oc_thread_dispose_slots(oc_thread_t *th);

#endif
