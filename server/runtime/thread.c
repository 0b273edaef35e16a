/*
 * thread.c — per-thread slots of the modules above the runtime (see thread.h).
 */
#include "runtime/thread.h"

#include <stdio.h>
#include <stdlib.h>

void *oc_thread_slot(const oc_thread_t *th, const void *key)
{
    for (int i = 0; i < OC_THREAD_SLOTS && th->slots[i].key != NULL; i++)
        if (th->slots[i].key == key)
            return th->slots[i].p;
    return NULL;
}

void *oc_thread_set_slot(oc_thread_t *th, const void *key, void *p, void (*dispose)(void *p))
{
    for (int i = 0; i < OC_THREAD_SLOTS; i++) {
        if (th->slots[i].key == NULL || th->slots[i].key == key) {
            th->slots[i].key = key;
            th->slots[i].p = p;
            th->slots[i].dispose = dispose;
            return p;
        }
    }
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"more per-thread slots than OC_THREAD_SLOTS\"}\n");
    abort();
}

void oc_thread_dispose_slots(oc_thread_t *th)
{
    for (int i = 0; i < OC_THREAD_SLOTS && th->slots[i].key != NULL; i++) {
        if (th->slots[i].p != NULL && th->slots[i].dispose != NULL)
            th->slots[i].dispose(th->slots[i].p);
        th->slots[i].p = NULL;
    }
}
