/*
 * auth.c — authentication middleware (see auth.h).
 */
#include "server/auth.h"

void oc_auth_dispatch(oc_req_t *r)
{
    oc_resp_header(r, "www-authenticate", "Bearer");
    oc_respond_error(r, 401, "unauthenticated", "authentication required", NULL);
}
