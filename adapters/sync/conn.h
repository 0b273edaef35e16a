/*
 * conn.h — a stored connection made into one an adapter can work on.
 *
 * tenants/channels.h loads the row (its credentials opened) and records what
 * the channel says about the account; this is where the two meet: the row
 * becomes an oc_channel_conn_t (adapters/adapter.h), the adapter's `test`
 * answer becomes the account's identity.  `serve` (test connection, webhooks)
 * and the sync worker both use it.
 */
#ifndef OC_SYNC_CONN_H
#define OC_SYNC_CONN_H

#include "adapters/adapter.h"
#include "runtime/db.h"
#include "tenants/channels.h"

/**
 * Loads connection `id` of `tenant` with its credentials opened.  cb gets a
 * new connection the caller owns (oc_conn_free wipes its secrets) or NULL
 * with `err`: "not found", "the credentials do not open", or a database
 * failure (then `res` is set).
 */
typedef void (*oc_conn_cb)(void *arg, const char *err, const oc_db_result_t *res, oc_channel_conn_t *conn);
int oc_conn_load(oc_db_pool_t *db, const char *tenant, const char *id, oc_conn_cb cb, void *arg);

/** Frees a connection: the adapter's state, then the secrets (wiped).  Accepts NULL. */
void oc_conn_free(oc_channel_conn_t *c);

/**
 * Asks the channel who connection `c` is (the adapter's test) and derives the
 * account identity (oc_channels_identity).  cb gets the adapter's error, or
 * identity (borrowed, NULL when the answer did not name the account) and the
 * test result (borrowed).  Returns non-zero (and never calls back) when the
 * call could not start.
 */
typedef void (*oc_conn_identify_cb)(void *arg, const oc_adapter_error_t *e, json_t *identity, json_t *result);
int oc_conn_identify(oc_chttp_t *http, oc_channel_conn_t *c, oc_conn_identify_cb cb, void *arg);

#endif
