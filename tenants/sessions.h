/*
 * sessions.h — who a credential is, and how one is obtained: the sessions
 * and API tokens that authentication (server/auth.c) looks up, and the
 * brand directory; signing in and out: the counted password attempt
 * (login_begin, migration 0020), browser sessions, known devices, and who a
 * user is ("me").
 *
 * A credential is looked up by the hex SHA-256 of its text (tenants/identity.h:
 * oc_token_hash_hex), never by the text itself.  These run outside any
 * tenant: they decide which tenant a request may act on.
 *
 * Every password check is an attempt counted before the check, atomically:
 * per account, per client address, or — for a browser with a known-device
 * token of the account, or an address that signed in to it lately — per
 * device or (address, account) pair; past a few free attempts each further
 * one waits longer.  A right password forgives the attempt's keys
 * (oc_sessions_login_end_step).
 */
#ifndef OC_SESSIONS_H
#define OC_SESSIONS_H

#include "runtime/db.h"
#include "tenants/query.h"

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

/* --- signing in and out --- */

/** A counted attempt: the account's id and hash (NULL for an unknown e-mail), the keys counted, the wait. */
typedef struct oc_login_begin {
    const char *user_id, *password_hash;
    const char *keys;
    long long wait_s; /* > 0: the attempt must wait that long and is not checked */
} oc_login_begin_t;

/** Called once on the loop thread: `b` (borrowed for the call) or NULL with `f`. */
typedef void (*oc_login_begin_cb)(void *arg, const oc_login_begin_t *b, const oc_fail_t *f);

/** Counts a password attempt on `email` from `remote_addr` with the known-device token hash `device` ("" = none). */
void oc_sessions_login_begin(oc_thread_t *th, const char *email, const char *remote_addr, const char *device,
                             oc_login_begin_cb cb, void *arg);

/** Appends the step that forgives `keys` (a right password).  Returns 0, or -1 when `tx` is full. */
int oc_sessions_login_end_step(oc_db_tx_t *tx, const char *keys);

/** A sign-in that succeeded: the session and the known-device token to store (hashes, hex). */
typedef struct oc_session_login {
    const char *user_id;
    const char *token_hash, *csrf, *hours; /* the session, for `hours` (decimal text) */
    const char *remote_addr;
    const char *device_hash, *old_device_hash, *device_secs; /* the device token replacing the one presented ("") */
} oc_session_login_t;

/**
 * Runs `tx` — the steps the caller put there first (the attempt's end) —
 * with the steps opening the session and renewing the device token, and
 * answers who the user is ("me", oc_sessions_me) with the session's
 * "expires_at" (RFC 3339).
 */
void oc_sessions_login(oc_thread_t *th, oc_db_tx_t *tx, const oc_session_login_t *s, oc_query_cb cb, void *arg);

/** Who `user_id` is: user, portfolio, portfolio role and memberships; "no such user" when gone. */
void oc_sessions_me(oc_thread_t *th, const char *user_id, oc_query_cb cb, void *arg);

/** Ends session `session_id` (once; again is a no-op).  Answers JSON null. */
void oc_sessions_end(oc_thread_t *th, const char *session_id, oc_query_cb cb, void *arg);

#endif
