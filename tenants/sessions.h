/*
 * sessions.h — who a credential is: the sessions and API tokens that
 * authentication (server/auth.c) looks up, and the brand directory.
 *
 * A credential is looked up by the hex SHA-256 of its text (tenants/identity.h:
 * oc_token_hash_hex), never by the text itself.  These run outside any
 * tenant: they decide which tenant a request may act on.
 */
#ifndef OC_SESSIONS_H
#define OC_SESSIONS_H

#include "runtime/db.h"

/**
 * Looks up the principal behind credential `key_hex` and records its use,
 * in one transaction:
 *
 *   session (is_session)  not revoked, not expired, used in the last
 *                         `idle_minutes`, its user not disabled; row:
 *                         session id, user id, portfolio id, csrf, memberships
 *   API token             not revoked, its creator not disabled; row: token id,
 *                         creator's user id, portfolio id, brand id (NULL =
 *                         the portfolio), role, memberships
 *
 * memberships is the user's (a token's creator's) roles as JSON text,
 * [[brand id, role], …], a null brand id for a role over the portfolio.
 * The use is written at most every 30 s (session) or 60 s (token).  cb gets
 * the transaction's result: step 0 holds the one row, or none for a
 * credential that does not (or no longer) act.  Returns 0 and calls cb once
 * later, or an OC_E* code and never calls it.
 */
int oc_sessions_lookup(oc_db_pool_t *db, const char *key_hex, int is_session, int idle_minutes, oc_db_cb cb, void *arg);

/**
 * Looks up which portfolio brand `bid` (a UUID) belongs to: step 0 holds
 * one row (the portfolio id), or none for no such brand.  Returns as
 * oc_sessions_lookup.
 */
int oc_sessions_brand_portfolio(oc_db_pool_t *db, const char *bid, oc_db_cb cb, void *arg);

#endif
