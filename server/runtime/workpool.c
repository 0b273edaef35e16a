/*
 * workpool.c — pthread pool handing results back through h2o's multithread
 * queues (see workpool.h).
 */
#include "runtime/workpool.h"
#include "runtime/alloc.h"

#include <pthread.h>
#include <stdlib.h>

struct oc_workpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    oc_work_t *head, **tail;
    int stopping;
    int nthreads;
    pthread_t *threads;
};

static void *worker_main(void *p)
{
    oc_workpool_t *pool = p;
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (pool->head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->cv, &pool->mu);
        oc_work_t *w = pool->head;
        if (w == NULL) {
            pthread_mutex_unlock(&pool->mu);
            return NULL;
        }
        pool->head = w->next;
        if (pool->head == NULL)
            pool->tail = &pool->head;
        pthread_mutex_unlock(&pool->mu);
        w->run(w);
        h2o_multithread_send_message(&w->receiver->receiver, &w->super);
    }
}

oc_workpool_t *oc_workpool_create(int nthreads)
{
    oc_workpool_t *pool = oc_calloc(1, sizeof(*pool));
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    pool->tail = &pool->head;
    pool->nthreads = nthreads;
    pool->threads = oc_calloc((size_t)nthreads, sizeof(pthread_t));
    for (int i = 0; i < nthreads; i++)
        pthread_create(&pool->threads[i], NULL, worker_main, pool);
    return pool;
}

void oc_workpool_destroy(oc_workpool_t *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv);
    free(pool);
}

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        oc_work_t *w = H2O_STRUCT_FROM_MEMBER(oc_work_t, super.link, messages->next);
        h2o_linklist_unlink(&w->super.link);
        w->done(w);
    }
}

void oc_work_receiver_init(oc_work_receiver_t *rcv, h2o_loop_t *loop)
{
    rcv->queue = h2o_multithread_create_queue(loop);
    h2o_multithread_register_receiver(rcv->queue, &rcv->receiver, on_messages);
}

void oc_work_receiver_dispose(oc_work_receiver_t *rcv)
{
    h2o_multithread_unregister_receiver(rcv->queue, &rcv->receiver);
    h2o_multithread_destroy_queue(rcv->queue);
}

void oc_work_submit(oc_workpool_t *pool, oc_work_receiver_t *rcv, oc_work_t *w)
{
    memset(&w->super, 0, sizeof(w->super));
    w->receiver = rcv;
    w->next = NULL;
    pthread_mutex_lock(&pool->mu);
    *pool->tail = w;
    pool->tail = &w->next;
    pthread_cond_signal(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
}
