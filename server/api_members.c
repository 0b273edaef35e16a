/*
 * api_members.c — who belongs where: members of a brand and of the
 * portfolio, invitations, and accepting one; API tokens (api_tokens.c) are
 * the same mechanism for programs.  The domain is tenants/members.h.
 *
 * A brand owner manages its own brand's members with roles up to its own;
 * a portfolio admin manages everything.
 */
#include "server/api.h"
#include "runtime/alloc.h"
#include "server/auth.h"
#include "runtime/config.h"
#include "server/page.h"
#include "tenants/members.h"

#include <stdio.h>
#include <stdlib.h>

static json_t *email_key(json_t *item)
{
    return oc_page_key_lower(item, "email", "user_id");
}

/* --- members --------------------------------------------------------------------- */

void oc_api_brand_members(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, email_key);
    if (pg == NULL)
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_members_brand_list(r->thread, r->portfolio, r->tenant, &keys, oc_page_answer, pg);
}

void oc_api_portfolio_members(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, email_key);
    if (pg == NULL)
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_members_portfolio_list(r->thread, r->portfolio, &keys, oc_page_answer, pg);
}

/* Whatever takes rights away answers through oc_auth_answer_revoked (server/auth.h); a removal has no body. */
static void on_rights_taken(void *arg, json_t *v, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    if (f != NULL) {
        oc_respond_fail(r, f);
    } else if (json_is_null(v)) {
        json_decref(v);
        oc_auth_answer_revoked(r, 204, NULL);
    } else {
        oc_auth_answer_revoked(r, 200, v);
    }
}

static void member_change(oc_req_t *r, int is_delete)
{
    const char *uid = oc_req_id_param(r, "uid", "no such member of this brand");
    if (uid == NULL)
        return;
    oc_role_t target = OC_ROLE_NONE;
    if (!is_delete) {
        static const char *const roles[] = {"viewer", "operator", "brand_owner", NULL};
        static const oc_field_t fields[] = {{"role", OC_F_ENUM, 1, 0, 0, roles}, {NULL}};
        if (oc_req_validate(r, fields) != 0)
            return;
        target = oc_role_parse(oc_json_str(r->body, "role"));
        if (!oc_role_may_grant(r->auth.role, target)) {
            oc_respond_error(r, 403, "forbidden", "you may not grant a role above your own", "role");
            return;
        }
    }
    oc_members_change(r->thread, oc_req_actor(r), r->auth.role, uid, target, on_rights_taken, r);
}

void oc_api_brand_member_update(oc_req_t *r)
{
    member_change(r, 0);
}

void oc_api_brand_member_delete(oc_req_t *r)
{
    member_change(r, 1);
}

/* Enabling gives rights back: the caches of this process learn it at once. */
static void on_user_enabled(void *arg, json_t *v, const oc_fail_t *f)
{
    if (f == NULL)
        oc_auth_invalidate();
    oc_api_answer(arg, v, f);
}

static void user_set_disabled(oc_req_t *r, int disabled)
{
    const char *uid = oc_req_id_param(r, "uid", "no such user");
    if (uid == NULL)
        return;
    oc_members_set_disabled(r->thread, oc_req_actor(r), uid, disabled, disabled ? on_rights_taken : on_user_enabled, r);
}

void oc_api_portfolio_user_enable(oc_req_t *r)
{
    user_set_disabled(r, 0);
}

void oc_api_portfolio_member_delete(oc_req_t *r)
{
    user_set_disabled(r, 1);
}

/* --- invitations ------------------------------------------------------------------ */

static void invite(oc_req_t *r, const char *brand_id)
{
    static const char *const roles[] = {"viewer", "operator", "brand_owner", "portfolio_admin", NULL};
    static const oc_field_t brand_fields[] = {
        {"email", OC_F_STRING, 1, 3, 254}, {"role", OC_F_ENUM, 1, 0, 0, roles}, {NULL}};
    static const oc_field_t portfolio_fields[] = {
        {"email", OC_F_STRING, 1, 3, 254}, {"role", OC_F_ENUM, 1, 0, 0, roles}, {"brand_id", OC_F_UUID, 0}, {NULL}};
    if (oc_req_validate(r, brand_id != NULL ? brand_fields : portfolio_fields) != 0)
        return;
    const char *email = oc_json_str(r->body, "email");
    if (strchr(email, '@') == NULL || strchr(email, ' ') != NULL) {
        oc_respond_error(r, 422, "invalid", "email must be an e-mail address", "email");
        return;
    }
    oc_role_t role = oc_role_parse(oc_json_str(r->body, "role"));
    if (brand_id == NULL)
        brand_id = oc_json_str(r->body, "brand_id");
    if ((role == OC_ROLE_PORTFOLIO_ADMIN) != (brand_id == NULL)) {
        oc_respond_error(r, 422, "invalid",
                         role == OC_ROLE_PORTFOLIO_ADMIN ? "a portfolio admin is invited without a brand"
                                                         : "brand_id is required for this role",
                         "brand_id");
        return;
    }
    if (!oc_role_may_grant(r->auth.role, role)) {
        oc_respond_error(r, 403, "forbidden", "you may not grant a role above your own", "role");
        return;
    }
    oc_grants_create(r->thread, OC_GRANT_INVITATION, oc_req_actor(r), brand_id, email, role, oc_api_answer_created, r);
}

void oc_api_brand_invite(oc_req_t *r)
{
    invite(r, r->tenant);
}

void oc_api_portfolio_invite(oc_req_t *r)
{
    invite(r, NULL);
}

json_t *oc_api_created_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "created_at")),
                     json_string_value(json_object_get(item, "id")));
}

void oc_api_grants_list(oc_req_t *r, oc_grant_kind_t kind, const char *brand_id)
{
    oc_page_t *pg = oc_page_start(r, 2, oc_api_created_key);
    if (pg == NULL)
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_grants_list(r->thread, kind, r->portfolio, brand_id, &keys, oc_page_answer, pg);
}

void oc_api_brand_invitations(oc_req_t *r)
{
    oc_api_grants_list(r, OC_GRANT_INVITATION, r->tenant);
}

void oc_api_portfolio_invitations(oc_req_t *r)
{
    oc_api_grants_list(r, OC_GRANT_INVITATION, NULL);
}

static void revoke_invitation(oc_req_t *r, const char *brand_id)
{
    const char *iid = oc_req_id_param(r, "iid", "no such invitation");
    if (iid == NULL)
        return;
    oc_grants_revoke(r->thread, OC_GRANT_INVITATION, oc_req_actor(r), brand_id, iid, oc_api_answer, r);
}

void oc_api_brand_invitation_revoke(oc_req_t *r)
{
    revoke_invitation(r, r->tenant);
}

void oc_api_portfolio_invitation_revoke(oc_req_t *r)
{
    revoke_invitation(r, NULL);
}

/* --- accepting an invitation (public: the token is the credential) ---------------- */

typedef struct {
    char invitation_id[37], user_id[37], email[256], name[201];
    char password[OC_PASSWORD_MAX + 1];
    char hash[crypto_pwhash_STRBYTES];
    int existing;
    char login_keys[OC_LOGIN_KEYS_MAX]; /* the existing account's password attempt (oc_login_attempt) */
    char token[OC_TOKEN_LEN + 1], token_hash[65], csrf[65];
} accept_t;

static void accept_free(void *p)
{
    sodium_memzero(p, sizeof(accept_t));
    free(p);
}

static void on_accepted(void *arg, json_t *accepted, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    accept_t *a = r->state;
    if (f != NULL) {
        oc_respond_fail(r, f);
        return;
    }
    int ok = json_is_true(accepted);
    json_decref(accepted);
    if (!ok) {
        oc_respond_error(r, 410, "gone", "this invitation was already used, revoked or has expired", "token");
        return;
    }
    oc_auth_invalidate();
    char cookie[256];
    snprintf(cookie, sizeof(cookie), OC_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", a->token,
             oc_config.session_max_hours * 3600, oc_config.cookie_secure ? "; Secure" : "");
    oc_resp_header(r, "set-cookie", cookie);
    oc_respond_json(r, 201,
                    json_pack("{s:s, s:s, s:b, s:s}", "user_id", a->user_id, "email", a->email, "existing_account",
                              a->existing, "csrf_token", a->csrf));
}

static void accept_commit(oc_req_t *r)
{
    accept_t *a = r->state;
    oc_token_new("ocs", a->token);
    oc_token_hash_hex(a->token, strlen(a->token), a->token_hash);
    oc_random_hex(a->csrf, 32);
    char hours[16];
    snprintf(hours, sizeof(hours), "%d", oc_config.session_max_hours);
    oc_db_tx_t tx = {0};
    if (a->existing)
        oc_login_end_step(&tx, a->login_keys);
    oc_invitations_accept(r->thread, &tx,
                          &(oc_invitation_accept_t){.invitation_id = a->invitation_id,
                                                    .user_id = a->user_id,
                                                    .email = a->email,
                                                    .name = a->name,
                                                    .password_hash = a->existing ? NULL : a->hash,
                                                    .session_hash = a->token_hash,
                                                    .csrf = a->csrf,
                                                    .session_hours = hours,
                                                    .remote_addr = r->remote_addr},
                          on_accepted, r);
}

static void on_hashed(void *arg, const char *hash)
{
    oc_req_t *r = arg;
    accept_t *a = r->state;
    if (hash == NULL) {
        oc_respond_error(r, 500, "internal", "could not hash the password", NULL);
        return;
    }
    oc_strlcpy(a->hash, hash, strlen(hash), sizeof(a->hash));
    accept_commit(r);
}

static void on_existing_verified(void *arg, int ok)
{
    oc_req_t *r = arg;
    accept_t *a = r->state;
    if (!ok) {
        oc_login_failed(r, "this e-mail already has an account: give its password", "password");
        return;
    }
    a->hash[0] = '\0';
    accept_commit(r);
}

static void on_existing_throttle(oc_req_t *r)
{
    accept_t *a = r->state;
    oc_password_verify_async(r->thread, a->hash, a->password, on_existing_verified, r);
}

static void on_invitation(void *arg, const oc_invitation_found_t *inv, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    accept_t *a = r->state;
    if (f != NULL) {
        oc_respond_fail(r, f);
        return;
    }
    if (inv == NULL) {
        oc_respond_error(r, 410, "gone", "this invitation was already used, revoked or has expired", "token");
        return;
    }
    oc_strlcpy(a->invitation_id, inv->id, 36, sizeof(a->invitation_id));
    oc_strlcpy(a->email, inv->email, strlen(inv->email), sizeof(a->email));
    if (inv->user_id[0] != '\0') {
        if (!inv->same_portfolio) {
            oc_respond_error(r, 409, "conflict", "this e-mail belongs to an account in another portfolio", NULL);
            return;
        }
        if (inv->disabled) {
            oc_respond_error(r, 409, "account_disabled",
                             "the account of this e-mail is disabled; an administrator must enable it first", NULL);
            return;
        }
        a->existing = 1;
        oc_strlcpy(a->user_id, inv->user_id, 36, sizeof(a->user_id));
        oc_strlcpy(a->hash, inv->password_hash, strlen(inv->password_hash), sizeof(a->hash));
        /* the password of an existing account: guesses count like sign-in failures */
        oc_login_attempt(r, a->email, a->login_keys, on_existing_throttle);
        return;
    }
    if (a->name[0] == '\0') {
        oc_respond_error(r, 422, "invalid", "name is required for a new account", "name");
        return;
    }
    if (strlen(a->password) < OC_PASSWORD_MIN) {
        char msg[80];
        snprintf(msg, sizeof(msg), "password must be at least %d characters", OC_PASSWORD_MIN);
        oc_respond_error(r, 422, "invalid", msg, "password");
        return;
    }
    oc_uuid_v4(a->user_id);
    oc_password_hash_async(r->thread, a->password, on_hashed, r);
}

void oc_api_invitation_accept(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"token", OC_F_STRING, 1, 1, 64},
        {"name", OC_F_STRING, 0, 1, 200},
        {"password", OC_F_STRING, 1, 1, OC_PASSWORD_MAX},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *token = oc_json_str(r->body, "token");
    if (!oc_token_well_formed(token, strlen(token), "oci")) {
        oc_respond_error(r, 410, "gone", "this invitation was already used, revoked or has expired", "token");
        return;
    }
    accept_t *a = oc_calloc(1, sizeof(*a));
    r->state = a;
    r->state_free = accept_free;
    const char *name = oc_json_str(r->body, "name"), *pw = oc_json_str(r->body, "password");
    if (name != NULL)
        oc_strlcpy(a->name, name, strlen(name), sizeof(a->name));
    oc_strlcpy(a->password, pw, strlen(pw), sizeof(a->password));
    json_object_del(r->body, "password");
    char hash[65];
    oc_token_hash_hex(token, strlen(token), hash);
    oc_invitations_find(r->thread, hash, on_invitation, r);
}
