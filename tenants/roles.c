/*
 * roles.c — roles and the permission matrix (see roles.h).
 */
#include "tenants/roles.h"
#include "runtime/common.h"

#include <string.h>

static const char *const names[] = {"none", "viewer", "operator", "brand_owner", "portfolio_admin"};

/*
 * Rows: roles.  Columns: permissions, in oc_perm_t order:
 *                      public auth read inventory channels manage admin */
static const unsigned char matrix[][7] = {
    [OC_ROLE_NONE] = {1, 0, 0, 0, 0, 0, 0},
    [OC_ROLE_VIEWER] = {1, 1, 1, 0, 0, 0, 0},
    [OC_ROLE_OPERATOR] = {1, 1, 1, 1, 0, 0, 0},
    [OC_ROLE_BRAND_OWNER] = {1, 1, 1, 1, 1, 1, 0},
    [OC_ROLE_PORTFOLIO_ADMIN] = {1, 1, 1, 1, 1, 1, 1},
};

oc_role_t oc_role_parse(const char *s)
{
    if (s == NULL)
        return OC_ROLE_NONE;
    for (int i = 1; i < (int)OC_ARRAY_SIZE(names); i++)
        if (strcmp(s, names[i]) == 0)
            return (oc_role_t)i;
    return OC_ROLE_NONE;
}

const char *oc_role_name(oc_role_t r)
{
    return (size_t)r < OC_ARRAY_SIZE(names) ? names[r] : "none";
}

int oc_role_allows(oc_role_t role, oc_perm_t perm)
{
    if ((size_t)role >= OC_ARRAY_SIZE(matrix) || (int)perm < 0 || (int)perm > OC_PERM_ADMIN)
        return 0;
    return matrix[role][perm];
}

int oc_role_may_grant(oc_role_t granter, oc_role_t granted)
{
    if (granted == OC_ROLE_NONE)
        return 0;
    if (granter == OC_ROLE_PORTFOLIO_ADMIN)
        return 1;
    /* A brand owner hands out roles up to its own inside its brand. */
    return granter == OC_ROLE_BRAND_OWNER && granted <= OC_ROLE_BRAND_OWNER;
}
