/*
 * pglisten.h — PostgreSQL LISTEN on an event loop.
 *
 * One non-blocking libpq connection, outside any pool, that LISTENs on a
 * few channels and hands every notification to a callback on the loop
 * thread.  It reconnects with backoff; because notifications sent while it
 * was down are lost, the `up` callback runs after every (re)connection so
 * the owner can rescan what it may have missed.
 */
#ifndef OC_PGLISTEN_H
#define OC_PGLISTEN_H

#include "runtime/loop.h"

typedef struct oc_pglisten oc_pglisten_t;

typedef void (*oc_pglisten_cb)(void *arg, const char *channel, const char *payload);
typedef void (*oc_pglisten_up_cb)(void *arg);

/** Starts listening on `channels` (plain identifiers, NULL-terminated); NULL when there is none. */
oc_pglisten_t *oc_pglisten_create(oc_loop_t *loop, const char *conninfo, const char *const *channels, oc_pglisten_cb cb,
                                  oc_pglisten_up_cb up, void *arg);
/** Closes the connection; accepts NULL. */
void oc_pglisten_destroy(oc_pglisten_t *l);
/** 1 while the LISTEN is in place. */
int oc_pglisten_ready(const oc_pglisten_t *l);

#endif
