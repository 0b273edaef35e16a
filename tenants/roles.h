/*
 * roles.h — the role × permission table: the one place that decides what a
 * role may do.  Routes name a permission (server/router.h); callers ask
 * oc_role_allows().
 */
#ifndef OC_ROLES_H
#define OC_ROLES_H

#include "server/http.h"
#include "server/router.h"

/** "viewer", "operator", "brand_owner", "portfolio_admin"; OC_ROLE_NONE for anything else. */
oc_role_t oc_role_parse(const char *s);
const char *oc_role_name(oc_role_t r);

/** 1 when `role` carries `perm`. */
int oc_role_allows(oc_role_t role, oc_perm_t perm);

/** 1 when a holder of `granter` may hand out `granted` (invitations, tokens, role changes). */
int oc_role_may_grant(oc_role_t granter, oc_role_t granted);

#endif
