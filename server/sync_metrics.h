/*
 * sync_metrics.h — sync gauges in /metrics: totals per channel kind and the connections furthest behind (see
 * sync_metrics.c).
 */
#ifndef OC_SYNC_METRICS_H
#define OC_SYNC_METRICS_H

#include "server/http.h"

/** Registers the collector (once, before threads start). */
void oc_sync_metrics_init(void);
/** Starts the periodic refresh on `th` (one thread does it for the process). */
void oc_sync_metrics_start(oc_thread_t *th);

#endif
