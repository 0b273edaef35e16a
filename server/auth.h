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
 * Principals are cached per thread for a second; anything that changes who
 * may do what (logout, revocation, role changes, new brands) calls
 * oc_auth_invalidate(), which empties every thread's cache at once.
 */
#ifndef OC_AUTH_H
#define OC_AUTH_H

#include "server/http.h"

#define OC_SESSION_COOKIE "oc_session"

void oc_auth_dispatch(oc_req_t *r);

/**
 * Password checks outside sign-in (accepting an invitation with an existing
 * account) count against the same throttle.  oc_login_throttle answers 429
 * itself or calls cb; oc_login_failed records a failure and answers 401.
 */
void oc_login_throttle(oc_req_t *r, const char *email, void (*cb)(oc_req_t *r));
void oc_login_failed(oc_req_t *r, const char *email, const char *message, const char *field);

/** Drops every cached principal and brand lookup in every thread of this process. */
void oc_auth_invalidate(void);

/** The caller's role for `brand_id` (after authentication), or OC_ROLE_NONE. */
oc_role_t oc_auth_role_for_brand(const oc_req_t *r, const char *brand_id);

#endif
