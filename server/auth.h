/*
 * auth.h — authentication and authorization for routes that need them.
 *
 * oc_auth_dispatch() identifies the caller (Bearer token or session cookie),
 * resolves the brand or portfolio in the path, checks the route's permission
 * against the caller's role there, requires the CSRF token on
 * cookie-authenticated writes, and then runs the route's handler.  Every
 * failure ends the request with the right status; a brand the caller cannot
 * see answers exactly like one that does not exist (404).
 */
#ifndef OC_AUTH_H
#define OC_AUTH_H

#include "server/http.h"

void oc_auth_dispatch(oc_req_t *r);

#endif
