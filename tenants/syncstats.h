/*
 * syncstats.h — every connection's sync health, for the /metrics gauges
 * (server/sync_metrics.c).
 *
 * The sync engine keeps each connection's health in PostgreSQL
 * (connection_health, listings).  oc_syncstats_read() reads it for every
 * brand, brands in chunks (the chunk is the transaction's tenant list, so
 * row-level security applies as everywhere else), one row per connection.
 */
#ifndef OC_SYNCSTATS_H
#define OC_SYNCSTATS_H

#include <jansson.h>

#include "runtime/db.h"

/* A row: a JSON array, these columns (numbers; NULL where a connection has no health yet). */
enum {
    OC_SYNCSTATS_BRAND,     /* brand id */
    OC_SYNCSTATS_CONN,      /* connection id */
    OC_SYNCSTATS_KIND,      /* channel kind */
    OC_SYNCSTATS_DEPTH,     /* listings whose published quantity the channel has not acknowledged */
    OC_SYNCSTATS_OLDEST,    /* seconds the listing behind longest has waited */
    OC_SYNCSTATS_OK_AGE,    /* seconds since the last acknowledged push */
    OC_SYNCSTATS_LATENCY,   /* moving average of one push round trip, ms */
    OC_SYNCSTATS_THROTTLED, /* pushes answered with 429 */
    OC_SYNCSTATS_PUSHES,    /* listings pushed */
    OC_SYNCSTATS_OPEN,      /* 1 while the circuit is open */
    OC_SYNCSTATS_FAILS,     /* push batches failed in a row */
};

/** The rows read (borrowed for the call; a chunk that failed is missing from them). */
typedef void (*oc_syncstats_cb)(void *arg, json_t *rows);

/**
 * Reads every connection's row, `chunk` brands per transaction.  Returns 0
 * and calls cb once later (with no rows when the brands could not be
 * read), or an OC_E* code (no connection, a full queue) and never calls it.
 */
int oc_syncstats_read(oc_db_pool_t *db, int chunk, oc_syncstats_cb cb, void *arg);

#endif
