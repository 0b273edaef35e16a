/*
 * channels.h — connections as the rest of the program uses them: the brand's
 * data key, sealing credentials on the way in, and loading a connection
 * with its credentials opened for one adapter call on the way out.
 */
#ifndef OC_CHANNELS_H
#define OC_CHANNELS_H

#include "adapters/adapter.h"
#include "server/db.h"

/** The brand's data key, creating it on first use.  cb gets dek NULL on failure (err says why). */
typedef void (*oc_channels_dek_cb)(void *arg, const char *err, const unsigned char *dek);
int oc_channels_brand_key(oc_db_pool_t *db, const char *tenant, oc_channels_dek_cb cb, void *arg);

/**
 * Loads connection `id` of `tenant` with its credentials opened.  cb gets a
 * new connection the caller owns (oc_channels_conn_free wipes its secrets)
 * or NULL with `err`: "not found", "the credentials do not open", or a
 * database failure (then `res` is set).
 */
typedef void (*oc_channels_conn_cb)(void *arg, const char *err, const oc_db_result_t *res, oc_channel_conn_t *conn);
int oc_channels_load(oc_db_pool_t *db, const char *tenant, const char *id, oc_channels_conn_cb cb, void *arg);

/**
 * Seals and stores `c->secrets` again (a credential the channel rotated, such
 * as Shopify's refresh token).  Asynchronous; failures are logged.  Does not
 * count as a credentials change (workers keep their cached connection).
 */
int oc_channels_store_secrets(oc_db_pool_t *db, const oc_channel_conn_t *c);

/*
 * Account identity: which account on the channel a connection reaches, as the
 * channel itself confirms it.  One account may have one active connection in
 * the whole database (migration 0018: a second one would take in every order
 * twice).  The identity is {"kind", "id" (shown), …, "keys": […]} where the
 * keys are what makes two connections the same account:
 *   shopify  the shop's myshopify domain (GraphQL shop { myshopifyDomain id })
 *   amazon   seller id/marketplace id, one key per marketplace the connection
 *            names (the seller id in settings, accepted by the channel in the
 *            path of searchListingsItems for those marketplaces)
 *   walmart  the API client: Walmart's token detail names no seller or
 *            partner, so the key is a SHA-256 of the client id (the client id
 *            itself is half a credential and is not stored in clear); a
 *            channel answer that names a partner id wins
 */

/**
 * The identity a successful adapter `test` result confirms for connection `c`
 * (new reference), or NULL when the result does not identify the account.
 */
json_t *oc_channels_identity(const oc_channel_conn_t *c, const json_t *result);

/**
 * Asks the channel who the connection is (the adapter's test) and derives the
 * identity.  cb gets the adapter's error, or identity (borrowed, NULL when the
 * answer did not name the account) and the test result (borrowed).  Returns
 * non-zero (and never calls back) when the call could not start.
 */
typedef void (*oc_channels_identify_cb)(void *arg, const oc_adapter_error_t *e, json_t *identity, json_t *result);
int oc_channels_identify(oc_chttp_t *http, oc_channel_conn_t *c, oc_channels_identify_cb cb, void *arg);

/**
 * Records a confirmed identity on connection c->id; when another active
 * connection holds the account, the connection is paused (status_detail, a
 * `duplicate_account` alert) instead.  cb gets err (database), or duplicate
 * NULL when recorded, else the message that may be shown (borrowed).
 */
typedef void (*oc_channels_confirm_cb)(void *arg, const char *err, const char *duplicate);
int oc_channels_confirm(oc_db_pool_t *db, const oc_channel_conn_t *c, const json_t *identity, oc_channels_confirm_cb cb,
                        void *arg);

/**
 * The two parameters a connection row stores for an identity: `account` (JSON: what is shown, without
 * the keys) and `keys` (a text[] literal).  Both malloc'd; 0 or OC_ENOMEM.
 */
int oc_channels_account_params(const json_t *identity, char **account, char **keys);

/** A database error that refuses a second active connection to an account (SQLSTATE OCDUP, or the unique index). */
int oc_channels_is_duplicate(const oc_db_result_t *res);
/** The message of such an error, as it may be shown (names a connection in the portfolio only). */
const char *oc_channels_duplicate_message(const oc_db_result_t *res);

/** Frees a loaded connection: wipes the secrets, frees the adapter's state.  Accepts NULL. */
void oc_channels_conn_free(oc_channel_conn_t *c);

/** Opens a sealed-credentials column (bytea text) with the brand key row; returns new JSON or NULL. */
json_t *oc_channels_open(const char *tenant, const char *conn_id, const char *credentials_bytea, int key_version,
                         const char *wrapped_bytea);

#endif
