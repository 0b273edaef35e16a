/*
 * auth.h — authentication and authorization for routes that need them.
 *
 * oc_auth_dispatch() identifies the caller (Bearer token or session cookie),
 * requires the CSRF token on cookie-authenticated writes, resolves the brand
 * or portfolio in the path, checks the route's permission against the
 * caller's role there (tenants/roles.c), and then runs the route's handler.
 * Every failure ends the request: 401 unknown caller, 403 known caller
 * without the right, 404 for a brand or portfolio the caller cannot see —
 * exactly what a nonexistent one answers.
 *
 * A token acts with its owner's current rights, never more than it was
 * granted: on a brand, min(the token's role, the owner's role there now);
 * a token whose owner holds no role where it acts (removed from its brand,
 * disabled) is refused as unauthenticated.
 *
 * Principals are cached per thread for half a second, counted from when
 * their lookup was sent.  Whatever takes rights away (logout, revocation,
 * role changes, removal, disabling) answers through oc_auth_answer_revoked(),
 * which drops this process's caches at once and answers once every cache of
 * every serve process has forgotten the old rights.
 */
#ifndef OC_AUTH_H
#define OC_AUTH_H

#include "server/http.h"

#define OC_SESSION_COOKIE "oc_session"

void oc_auth_dispatch(oc_req_t *r);

/** Registers the sign-in metrics (once, before threads start). */
void oc_auth_login_init(void);

/* The keys one sign-in attempt was counted on (a PostgreSQL text[] literal). */
#define OC_LOGIN_KEYS_MAX 800

/**
 * Counts a password attempt for `email` from the request's client address
 * (and known-device cookie) BEFORE the password is checked (login_begin,
 * migration 0020).  While a delay runs it answers 429 with Retry-After
 * itself; otherwise it writes the keys the attempt was counted on into
 * `keys` (which must live as long as the request) and calls cb.
 * Sign-in and accepting an invitation with an existing account share it.
 */
void oc_login_attempt(oc_req_t *r, const char *email, char keys[OC_LOGIN_KEYS_MAX], void (*cb)(oc_req_t *r));
/** The password was wrong: 401 (the attempt is already counted). */
void oc_login_failed(oc_req_t *r, const char *message, const char *field);
/** The password was right: appends the step that forgives the attempt's keys to `tx` (0, or OC_EINVAL when full). */
int oc_login_end_step(oc_db_tx_t *tx, const char *keys);

/** Drops every cached principal and brand lookup in every thread of this process. */
void oc_auth_invalidate(void);

/**
 * Answers `r` with `status` and `body` (stolen) for a change that took
 * rights away and has committed: drops this process's caches now, and sends
 * the answer once no serve process can still use a principal read before
 * the commit.
 */
void oc_auth_answer_revoked(oc_req_t *r, int status, json_t *body);

/** The caller's effective role for `brand_id` (after authentication), or OC_ROLE_NONE. */
oc_role_t oc_auth_role_for_brand(const oc_req_t *r, const char *brand_id);

/** The value of cookie `name` in the request (not NUL-terminated: *len bytes), or NULL. */
const char *oc_auth_cookie(oc_req_t *r, const char *name, size_t *len);

#endif
