/*
 * incidents.h — what the ledger's own checks find: the verification of the
 * brand's balances against its movements, and oversell incidents (a sale
 * recorded past zero), listed and resolved by a person.
 *
 * Answers through oc_query_cb (query.h).  Also the alerts the sync engine
 * opens on a connection (migration 0006's alert_open).
 */
#ifndef OC_INCIDENTS_H
#define OC_INCIDENTS_H

#include "tenants/audit.h"
#include "tenants/query.h"
#include "tenants/query.h"

/** The brand's ledger verification (ledger_verify, a JSON report). */
void oc_incidents_verify(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg);

/** One page of oversell incidents in `state` ("open", "resolved" or "all"), newest first (cursor: created_at, id). */
void oc_incidents_list(oc_thread_t *th, const char *tenant, const char *state, const oc_page_keys_t *pg, oc_query_cb cb,
                       void *arg);

/**
 * Resolves the open incident `id` (a positive integer as text) of a->tenant
 * with `resolution` and an optional `note`, audited.  Answers the incident;
 * "no such open oversell incident" when there is none.
 */
void oc_incidents_resolve(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *resolution,
                          const char *note, oc_query_cb cb, void *arg);

/**
 * Opens (or keeps open) connection `conn_id`'s "credentials" alert with
 * `message`: its stored credentials cannot be used.  Nobody waits for the
 * outcome; returns 0, or an OC_E* code when it could not be sent (query.h, oc_query_typed_run).
 */
int oc_incidents_credentials_alert(oc_db_pool_t *db, const char *tenant, const char *conn_id, const char *message);

#endif
