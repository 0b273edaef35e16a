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

/** Frees a loaded connection: wipes the secrets, frees the adapter's state.  Accepts NULL. */
void oc_channels_conn_free(oc_channel_conn_t *c);

/** Opens a sealed-credentials column (bytea text) with the brand key row; returns new JSON or NULL. */
json_t *oc_channels_open(const char *tenant, const char *conn_id, const char *credentials_bytea, int key_version,
                         const char *wrapped_bytea);

#endif
