/*
 * connections.h — a brand's connections to its channels as the API keeps
 * them: create, change, remove, read.  Credentials go in sealed with the
 * brand's key (vault.h) and never come out through here: a connection shows
 * which credential fields are set and when, not their values.
 *
 * What the channel says about a connection (which account it reaches: the
 * caller asks the channel through the adapters, then passes the identity)
 * is recorded with the change, so a second active connection to the same
 * account is refused (OC_FAIL_CONFLICT duplicate_account, channels.h).
 * Every operation answers its callback (query.h) exactly once.
 */
#ifndef OC_CONNECTIONS_H
#define OC_CONNECTIONS_H

#include "tenants/audit.h"
#include "tenants/channels.h"
#include "tenants/query.h"

/**
 * A page of connections as the API shows them, ordered by (name, id), after
 * the page keys (two); cb gets the array of connections.
 */
void oc_connections_list(oc_thread_t *th, const char *tenant, const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/** Connection `id` (a uuid) of `tenant`; OC_FAIL_NOT_FOUND "no such connection". */
void oc_connections_get(oc_thread_t *th, const char *tenant, const char *id, oc_query_cb cb, void *arg);

/** A connection as it is to be (borrowed until the call returns). */
typedef struct oc_connection_spec {
    const json_t *fields;   /* validated: kind (create), name, settings, status (update), rules, rate_scale;
                             * one absent on update stays as it is */
    const char *base_url;   /* create: the URL to store; update: the new one, or NULL */
    const json_t *secrets;  /* credentials to seal (copied), or NULL (update: unchanged) */
    int identified;         /* the channel was asked which account this is (create: always) */
    const json_t *identity; /* what it confirmed (channels.h), or NULL: confirmed later, by the worker */
} oc_connection_spec_t;

/**
 * Creates connection `id` of a->tenant; answers it.  A taken name is
 * OC_FAIL_CONFLICT on name; no vault key OC_FAIL_UNAVAILABLE
 * (vault_unavailable).
 */
void oc_connections_create(oc_thread_t *th, const oc_actor_t *a, const char *id, const oc_connection_spec_t *c,
                           oc_query_cb cb, void *arg);

/**
 * Changes connection `id`: new credentials are sealed again (and make a
 * paused connection active), new rules recompute every listing of the brand.
 * Answers the connection as it is now.
 */
void oc_connections_update(oc_thread_t *th, const oc_actor_t *a, const char *id, const oc_connection_spec_t *c,
                           oc_query_cb cb, void *arg);

/** Removes connection `id` and its listings; answers {"id", "deleted": true}. */
void oc_connections_delete(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg);

/**
 * Where a connection made on `onecount sim` is served: its base URL and
 * settings.sim_account (NULL for a connection to a real channel).  Both
 * borrowed for the call; f set instead when it cannot say.
 */
typedef void (*oc_connections_sim_cb)(void *arg, const oc_fail_t *f, const char *base_url, const char *sim_account);
int oc_connections_sim_target(oc_db_pool_t *db, const char *tenant, const char *id, oc_fail_t *f,
                              oc_connections_sim_cb cb, void *arg);

#endif
