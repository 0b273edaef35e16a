/*
 * loop.c — evloop wrapper with a timer heap (see loop.h).
 */
#include "runtime/loop.h"

#include <stdlib.h>

struct oc_loop {
    h2o_evloop_t *evloop;
    oc_timer_t **heap; /* 1-based binary min-heap on due_us */
    size_t size, cap;
};

oc_loop_t *oc_loop_create(void)
{
    oc_loop_t *loop = oc_calloc(1, sizeof(*loop));
    loop->evloop = h2o_evloop_create();
    loop->cap = 64;
    loop->heap = oc_calloc(loop->cap + 1, sizeof(*loop->heap));
    return loop;
}

void oc_loop_destroy(oc_loop_t *loop)
{
    if (loop == NULL)
        return;
    h2o_evloop_destroy(loop->evloop);
    free(loop->heap);
    free(loop);
}

h2o_evloop_t *oc_loop_h2o(oc_loop_t *loop)
{
    return loop->evloop;
}

void oc_timer_init(oc_timer_t *t, oc_timer_cb cb, void *data)
{
    t->cb = cb;
    t->data = data;
    t->due_us = 0;
    t->heap_index = 0;
}

static void place(oc_loop_t *loop, size_t i, oc_timer_t *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void sift_up(oc_loop_t *loop, size_t i)
{
    oc_timer_t *t = loop->heap[i];
    while (i > 1 && loop->heap[i / 2]->due_us > t->due_us) {
        place(loop, i, loop->heap[i / 2]);
        i /= 2;
    }
    place(loop, i, t);
}

static void sift_down(oc_loop_t *loop, size_t i)
{
    oc_timer_t *t = loop->heap[i];
    for (;;) {
        size_t c = i * 2;
        if (c > loop->size)
            break;
        if (c + 1 <= loop->size && loop->heap[c + 1]->due_us < loop->heap[c]->due_us)
            c++;
        if (loop->heap[c]->due_us >= t->due_us)
            break;
        place(loop, i, loop->heap[c]);
        i = c;
    }
    place(loop, i, t);
}

void oc_timer_stop(oc_loop_t *loop, oc_timer_t *t)
{
    size_t i = t->heap_index;
    if (i == 0)
        return;
    t->heap_index = 0;
    oc_timer_t *last = loop->heap[loop->size--];
    if (i <= loop->size) {
        place(loop, i, last);
        sift_up(loop, i);
        sift_down(loop, last->heap_index);
    }
}

void oc_timer_start(oc_loop_t *loop, oc_timer_t *t, uint64_t delay_ms)
{
    oc_timer_stop(loop, t);
    if (loop->size == loop->cap) {
        size_t cap = loop->cap * 2;
        loop->heap = oc_realloc(loop->heap, (cap + 1) * sizeof(*loop->heap));
        loop->cap = cap;
    }
    t->due_us = oc_mono_us() + delay_ms * 1000;
    loop->size++;
    place(loop, loop->size, t);
    sift_up(loop, loop->size);
}

void oc_loop_run_once(oc_loop_t *loop, int max_wait_ms)
{
    if (loop->size > 0) {
        uint64_t now = oc_mono_us(), due = loop->heap[1]->due_us;
        int wait = due <= now ? 0 : (int)((due - now + 999) / 1000);
        if (wait < max_wait_ms)
            max_wait_ms = wait;
    }
    h2o_evloop_run(loop->evloop, max_wait_ms);
    uint64_t now = oc_mono_us();
    while (loop->size > 0 && loop->heap[1]->due_us <= now) {
        oc_timer_t *t = loop->heap[1];
        oc_timer_stop(loop, t);
        t->cb(t);
    }
}
