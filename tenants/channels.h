/*
 * channels.h — connections as the rest of the program uses them: the brand's
 * data key (connections.c seals credentials with it), loading a connection with
 * its credentials opened on the way out, and the account it reaches; and
 * how an operation of connections.h, listings.h or rules.h answers.
 */
#ifndef OC_CHANNELS_H
#define OC_CHANNELS_H

#include <jansson.h>

#include "runtime/db.h"
#include "runtime/thread.h"
#include "tenants/audit.h"
#include "tenants/outcome.h"

/** The brand's data key, creating it on first use.  cb gets dek NULL on failure (err says why). */
typedef void (*oc_channels_dek_cb)(void *arg, const char *err, const unsigned char *dek);
int oc_channels_brand_key(oc_db_pool_t *db, const char *tenant, oc_channels_dek_cb cb, void *arg);

/** A connection as stored, its credentials opened (the sync engine makes an adapter's connection of it). */
typedef struct oc_channels_row {
    char id[37], tenant[37];
    char kind[16]; /* "shopify", "amazon", "walmart" */
    char *base_url;
    json_t *settings;
    json_t *secrets; /* opened credentials: wiped by oc_channels_row_free */
    json_t *account; /* the account the channel confirmed, NULL until it has */
    double rate_scale;
} oc_channels_row_t;

/**
 * Loads connection `id` of `tenant` with its credentials opened.  cb gets a
 * new row the caller owns (oc_channels_row_free), or NULL with `err`: "not
 * found", "the credentials do not open", or a database failure (then `res`
 * is set).
 */
typedef void (*oc_channels_row_cb)(void *arg, const char *err, const oc_db_result_t *res, oc_channels_row_t *row);
int oc_channels_load(oc_db_pool_t *db, const char *tenant, const char *id, oc_channels_row_cb cb, void *arg);

/** Frees a row: wipes the secrets.  Accepts NULL. */
void oc_channels_row_free(oc_channels_row_t *row);

/**
 * Seals and stores `secrets` as connection `id`'s credentials again (a
 * credential the channel rotated, such as Shopify's refresh token).
 * Asynchronous; failures are logged.  Does not count as a credentials change
 * (workers keep their cached connection).
 */
int oc_channels_store_secrets(oc_db_pool_t *db, const char *tenant, const char *id, const json_t *secrets);

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
 * The identity a successful adapter `test` result (adapters/sync/conn.h: oc_conn_identify asks for it) confirms for
 * connection `c` (new reference), or NULL when the result does not identify the account.
 */
json_t *oc_channels_identity(const char *kind, const json_t *secrets, const json_t *result);

/**
 * Records a confirmed identity on connection `id`; when another active
 * connection holds the account, the connection is paused (status_detail, a
 * `duplicate_account` alert) instead.  cb gets err (database), or duplicate
 * NULL when recorded, else the message that may be shown (borrowed).
 */
typedef void (*oc_channels_confirm_cb)(void *arg, const char *err, const char *duplicate);
int oc_channels_confirm(oc_db_pool_t *db, const char *tenant, const char *id, const json_t *identity,
                        oc_channels_confirm_cb cb, void *arg);

/**
 * The two parameters a connection row stores for an identity: `account` (JSON: what is shown, without
 * the keys) and `keys` (a text[] literal).  Both malloc'd; 0, or OC_EINVAL (both NULL) when the identity
 * cannot be encoded (jansson refuses it, or a literal would outgrow a buffer).
 */
int oc_channels_account_params(const json_t *identity, char **account, char **keys);

/** A database error that refuses a second active connection to an account (SQLSTATE OCDUP, or the unique index). */
int oc_channels_is_duplicate(const oc_db_result_t *res);
/** The message of such an error, as it may be shown (names a connection in the portfolio only). */
const char *oc_channels_duplicate_message(const oc_db_result_t *res);

/* --- what the refusals of an operation on connections, listings or rules mean --------------- */

/** What a write's unique and foreign-key violations mean (connections.c, listings.c, rules.c). */
typedef struct oc_channels_refusals {
    const char *unique;       /* a unique violation's message; NULL = a connection's name is taken */
    const char *unique_field; /* the field it names; NULL = "name" */
    const char *fk_field;     /* the field a foreign-key violation names; NULL = "connection_id" */
} oc_channels_refusals_t;

/**
 * An oc_query_refuse for these operations (`ctx` an oc_channels_refusals_t):
 * a second active connection to an account is OC_FAIL_CONFLICT
 * `duplicate_account`, a unique violation OC_FAIL_CONFLICT `conflict` on
 * unique_field, a foreign-key violation OC_FAIL_INVALID on fk_field.
 */
int oc_channels_refuse(const oc_db_result_t *res, const void *ctx, oc_fail_t *f);

/**
 * Appends to `tx` a statement that writes its own audit record (audit_write,
 * for the rows it changed only), with the parameters ($1 a->tenant, $2 `id`,
 * $3 the request id, $4 the user, $5 the token).
 */
void oc_channels_audited_step(oc_db_tx_t *tx, const oc_actor_t *a, const oc_db_stmt_t *stmt, const char *id);

/** Opens a sealed-credentials column (bytea text) with the brand key row; returns new JSON or NULL. */
json_t *oc_channels_open(const char *tenant, const char *conn_id, const char *credentials_bytea, int key_version,
                         const char *wrapped_bytea);

#endif
