/*
 * loop.h — an h2o evloop plus a min-heap of timers with arbitrary delays.
 *
 * h2o 2.2's own timeouts need one list per duration; reconnect backoff,
 * per-query deadlines and schedules need arbitrary ones, so each loop keeps
 * a heap here.  Everything in this module runs on the loop's own thread.
 */
#ifndef OC_LOOP_H
#define OC_LOOP_H

#include <h2o.h>

#include "runtime/common.h"

typedef struct oc_loop oc_loop_t;
typedef struct oc_timer oc_timer_t;
typedef void (*oc_timer_cb)(oc_timer_t *timer);

struct oc_timer {
    oc_timer_cb cb;
    void *data;        /* free for the owner's use */
    uint64_t due_us;   /* monotonic deadline while armed */
    size_t heap_index; /* 0 = not armed */
};

/** Creates a loop with its own h2o evloop. */
oc_loop_t *oc_loop_create(void);
/** Destroys the loop; timers must be stopped and sockets closed first. */
void oc_loop_destroy(oc_loop_t *loop);
h2o_evloop_t *oc_loop_h2o(oc_loop_t *loop);

/** Initialises a timer (not armed). */
void oc_timer_init(oc_timer_t *t, oc_timer_cb cb, void *data);
/** Arms (or re-arms) `t` to fire once after `delay_ms`. */
void oc_timer_start(oc_loop_t *loop, oc_timer_t *t, uint64_t delay_ms);
/** Disarms `t`; safe on a disarmed timer. */
void oc_timer_stop(oc_loop_t *loop, oc_timer_t *t);
static inline int oc_timer_armed(const oc_timer_t *t)
{
    return t->heap_index != 0;
}

/**
 * Runs one iteration: waits for I/O at most `max_wait_ms` (less when a
 * timer is due sooner), dispatches I/O, then fires due timers.
 */
void oc_loop_run_once(oc_loop_t *loop, int max_wait_ms);

#endif
