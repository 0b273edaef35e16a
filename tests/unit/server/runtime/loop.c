/* Unit tests for server/runtime/loop.c: timers fire once, in deadline order, and can be stopped. */
#include "runtime/loop.h"
#include "test.h"

static int order[64], nfired;

static void on_fire(oc_timer_t *t)
{
    order[nfired++] = (int)(intptr_t)t->data;
}

int main(void)
{
    oc_loop_t *loop = oc_loop_create();
    oc_timer_t t[40];
    /* Arm 40 timers with shuffled delays 0..39 ms; stop every fifth. */
    for (int i = 0; i < 40; i++) {
        int delay = (i * 17) % 40;
        oc_timer_init(&t[i], on_fire, (void *)(intptr_t)delay);
        oc_timer_start(loop, &t[i], (uint64_t)delay);
    }
    for (int i = 0; i < 40; i += 5)
        oc_timer_stop(loop, &t[i]);
    CHECK(!oc_timer_armed(&t[0]));
    CHECK(oc_timer_armed(&t[1]));
    /* Re-arming moves a timer rather than duplicating it. */
    oc_timer_start(loop, &t[1], 60);
    uint64_t until = oc_mono_us() + 200000;
    while (oc_mono_us() < until)
        oc_loop_run_once(loop, 5);
    CHECK_INT(nfired, 32);
    int sorted = 1;
    for (int i = 1; i < nfired; i++)
        sorted &= order[i - 1] <= order[i] || i == nfired - 1;
    CHECK(sorted);
    CHECK_INT(order[nfired - 1], 17); /* t[1] had delay 17, re-armed to fire last */
    for (int i = 0; i < 40; i++)
        CHECK(!oc_timer_armed(&t[i]));
    oc_loop_destroy(loop);
    return oc_test_report();
}
