/*
 * metrics_listener.h — `serve`'s Prometheus endpoint, on a listener of its
 * own (`metrics_listen`, loopback by default, "off" to have none), never on
 * the public API listener: /metrics names brands and connections.  When
 * `metrics_token` is set, a scrape must carry `Authorization: Bearer <it>`.
 * One loop (the first thread's) accepts and answers scrapes; rendering reads
 * only atomics and the last sync-metrics snapshot.
 */
#ifndef OC_METRICS_LISTENER_H
#define OC_METRICS_LISTENER_H

#include "server/http.h"

/**
 * Binds the listener and registers its host in `conf` (before any context
 * is created from it).  Returns 0 (also when it is off), or -1 after logging
 * why.
 */
int oc_metrics_listener_open(h2o_globalconf_t *conf);

/** Starts accepting on `th`'s loop (after its context is initialised). */
void oc_metrics_listener_attach(oc_thread_t *th);

/** At shutdown, on that loop: stops accepting and ends its connections. */
void oc_metrics_listener_close(oc_thread_t *th);

#endif
