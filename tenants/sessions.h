/*
 * sessions.h — signing in and out: the counted password attempt
 * (login_begin, migration 0020), browser sessions, known devices, and who
 * a user is ("me").
 *
 * Every password check is an attempt counted before the check, atomically:
 * per account, per client address, or — for a browser with a known-device
 * token of the account, or an address that signed in to it lately — per
 * device or (address, account) pair; past a few free attempts each further
 * one waits longer.  A right password forgives the attempt's keys
 * (oc_sessions_login_end_step).  Sessions and device tokens are stored as
 * SHA-256 (identity.h).
 */
#ifndef OC_SESSIONS_H
#define OC_SESSIONS_H

#include "tenants/query.h"

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
