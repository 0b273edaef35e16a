/*
 * api_tokens.c — API tokens for programs: created by a brand owner (for its
 * brand, roles up to its own) or a portfolio admin (any brand or the whole
 * portfolio), shown once, stored as SHA-256, revocable; listed with their
 * prefix and last use, never their secret.  A token is a grant like an
 * invitation (tenants/members.h).
 */
#include "server/api.h"
#include "server/auth.h"
#include "server/page.h"
#include "tenants/members.h"

static void create_token(oc_req_t *r, const char *brand_id)
{
    static const char *const roles[] = {"viewer", "operator", "brand_owner", "portfolio_admin", NULL};
    static const oc_field_t fields[] = {{"name", OC_F_STRING, 1, 1, 200}, {"role", OC_F_ENUM, 1, 0, 0, roles}, {NULL}};
    if (oc_req_validate(r, fields) != 0)
        return;
    oc_role_t role = oc_role_parse(oc_json_str(r->body, "role"));
    if (brand_id != NULL && role == OC_ROLE_PORTFOLIO_ADMIN) {
        oc_respond_error(r, 422, "invalid", "a brand token's role is viewer, operator or brand_owner", "role");
        return;
    }
    if (brand_id == NULL && role == OC_ROLE_BRAND_OWNER) {
        oc_respond_error(r, 422, "invalid", "a portfolio token's role is viewer, operator or portfolio_admin", "role");
        return;
    }
    if (!oc_role_may_grant(r->auth.role, role)) {
        oc_respond_error(r, 403, "forbidden", "you may not grant a role above your own", "role");
        return;
    }
    oc_grants_create(r->thread, OC_GRANT_TOKEN, oc_req_actor(r), brand_id, oc_json_str(r->body, "name"), role,
                     oc_api_answer_created, r);
}

void oc_api_brand_token_create(oc_req_t *r)
{
    create_token(r, r->tenant);
}

void oc_api_portfolio_token_create(oc_req_t *r)
{
    create_token(r, NULL);
}

void oc_api_brand_tokens(oc_req_t *r)
{
    oc_api_grants_list(r, OC_GRANT_TOKEN, r->tenant);
}

void oc_api_portfolio_tokens(oc_req_t *r)
{
    oc_api_grants_list(r, OC_GRANT_TOKEN, NULL);
}

/* A revoked token loses its rights: answered through oc_auth_answer_revoked. */
static void on_revoked(void *arg, json_t *v, const oc_fail_t *f)
{
    if (f != NULL)
        oc_respond_fail(arg, f);
    else
        oc_auth_answer_revoked(arg, 200, v);
}

static void revoke_token(oc_req_t *r, const char *brand_id)
{
    const char *tid = oc_req_id_param(r, "tid", "no such token");
    if (tid == NULL)
        return;
    oc_grants_revoke(r->thread, OC_GRANT_TOKEN, oc_req_actor(r), brand_id, tid, on_revoked, r);
}

void oc_api_brand_token_revoke(oc_req_t *r)
{
    revoke_token(r, r->tenant);
}

void oc_api_portfolio_token_revoke(oc_req_t *r)
{
    revoke_token(r, NULL);
}
