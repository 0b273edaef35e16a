/*
 * roles.h — the role × permission table: the one place that decides what a
 * role may do.  Routes name a permission (server/router.h's table); callers ask
 * oc_role_allows().
 */
#ifndef OC_ROLES_H
#define OC_ROLES_H

/* Roles, in the order memberships store them. */
typedef enum {
    OC_ROLE_NONE = 0,
    OC_ROLE_VIEWER,
    OC_ROLE_OPERATOR,
    OC_ROLE_BRAND_OWNER,
    OC_ROLE_PORTFOLIO_ADMIN,
} oc_role_t;

/** A brand the caller holds a role in (from memberships). */
typedef struct oc_brand_role {
    char brand_id[37];
    oc_role_t role;
} oc_brand_role_t;

/* What a route needs from the caller; see tenants/roles.c for the role × permission table. */
typedef enum {
    OC_PERM_PUBLIC = 0,    /* no authentication */
    OC_PERM_AUTHENTICATED, /* any signed-in principal */
    OC_PERM_READ,          /* viewer and up, on the brand or portfolio in the path */
    OC_PERM_INVENTORY,     /* operator and up */
    OC_PERM_CHANNELS,      /* brand owner and portfolio admin: connections, credentials */
    OC_PERM_MANAGE,        /* brand owner (own brand) and portfolio admin: settings, members, tokens */
    OC_PERM_ADMIN,         /* portfolio admin */
} oc_perm_t;

/** "viewer", "operator", "brand_owner", "portfolio_admin"; OC_ROLE_NONE for anything else. */
oc_role_t oc_role_parse(const char *s);
const char *oc_role_name(oc_role_t r);

/** 1 when `role` carries `perm`. */
int oc_role_allows(oc_role_t role, oc_perm_t perm);

/** 1 when a holder of `granter` may hand out `granted` (invitations, tokens, role changes). */
int oc_role_may_grant(oc_role_t granter, oc_role_t granted);

#endif
