/*
 * events.h — channel events in: what a channel told us, kept until the sync
 * engine processes it.
 *
 * A delivery (a webhook) is stored in channel_events, deduplicated on the
 * channel's own event id: a channel that delivers an event twice is
 * answered as if it had once.  A trigger wakes the sync engine
 * (adapters/sync/), which processes the stored events a batch at a time
 * (oc_events_process).
 */
#ifndef OC_EVENTS_H
#define OC_EVENTS_H

#include <stddef.h>

#include "runtime/db.h"
#include "tenants/outcome.h"
#include "tenants/query.h"

/** The outcome of a store: `duplicate` 1 when the event was already kept; `f` NULL, else filled (DB). */
typedef void (*oc_events_store_cb)(void *arg, int duplicate, const oc_fail_t *f);

/**
 * Stores event `event_id` of `topic` (text) for connection `conn_id` of
 * brand `tenant`, its body `len` bytes of JSON (copied).  Returns 0 and
 * calls cb once later, or an OC_E* code (the database is unavailable or
 * busy) and never calls it.
 */
int oc_events_store(oc_db_pool_t *db, const char *tenant, const char *conn_id, const char *event_id, const char *topic,
                    const char *body, size_t len, oc_events_store_cb cb, void *arg);

/** A batch processed: events taken, and polls (routines made due now) they asked for. */
typedef void (*oc_events_process_cb)(void *arg, long long processed, long long polls, const oc_fail_t *f);

/**
 * Processes up to `limit` of the brand's unprocessed events (events_process,
 * migration 0006): each becomes an order or return poll made due now, or a
 * read-back, and is marked processed.  A typed operation on a pool (query.h).
 */
int oc_events_process(oc_db_pool_t *db, const char *tenant, int limit, oc_events_process_cb cb, void *arg);

#endif
