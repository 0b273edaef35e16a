/*
 * workpool.h — a small thread pool for CPU-heavy work (Argon2id, bulk
 * encryption) that must never run on an event loop.
 *
 * The submitting loop owns an oc_work_receiver_t; `run` executes on a pool
 * thread, then `done` executes back on the submitting loop.  The work item is
 * owned by the caller throughout and must stay valid until `done` runs.
 */
#ifndef OC_WORKPOOL_H
#define OC_WORKPOOL_H

#include <h2o.h>
#include <h2o/multithread.h>

typedef struct oc_work oc_work_t;
typedef struct oc_workpool oc_workpool_t;

typedef struct oc_work_receiver {
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
} oc_work_receiver_t;

struct oc_work {
    h2o_multithread_message_t super; /* must be first */
    void (*run)(oc_work_t *w);       /* on a pool thread */
    void (*done)(oc_work_t *w);      /* on the submitting loop */
    oc_work_receiver_t *receiver;
    oc_work_t *next;
};

oc_workpool_t *oc_workpool_create(int nthreads);
/** Finishes queued work, joins the threads; accepts NULL. */
void oc_workpool_destroy(oc_workpool_t *pool);

void oc_work_receiver_init(oc_work_receiver_t *rcv, h2o_loop_t *loop);
void oc_work_receiver_dispose(oc_work_receiver_t *rcv);

/** Queues `w`; `w->run` and `w->done` must be set. */
void oc_work_submit(oc_workpool_t *pool, oc_work_receiver_t *rcv, oc_work_t *w);

#endif
