/*
 * api_members.c — who belongs where: members of a brand and of the
 * portfolio, invitations, and accepting one.
 *
 * A brand owner manages its own brand's members with roles up to its own;
 * a portfolio admin manages everything.  Role changes and removals are
 * audited with the role before and after, in the same statement as the change.
 */
#include "server/api.h"
#include "server/auth.h"
#include "runtime/config.h"
#include "server/page.h"
#include "tenants/audit.h"
#include "tenants/identity.h"
#include "tenants/roles.h"

#include <stdio.h>
#include <stdlib.h>

static void on_done_json(void *arg, const oc_db_result_t *res);

static json_t *email_key(json_t *item)
{
    const char *e = json_string_value(json_object_get(item, "email"));
    char *lower = strdup(e ? e : "");
    for (char *p = lower; *p; p++)
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    json_t *k = json_pack("[s, s]", lower, json_string_value(json_object_get(item, "user_id")));
    free(lower);
    return k;
}

typedef struct {
    oc_page_t page;
    int status;
    const char *not_found;
} st_t;

static st_t *state(oc_req_t *r)
{
    st_t *st = oc_req_alloc(r, sizeof(*st));
    memset(st, 0, sizeof(*st));
    r->state = st;
    return st;
}

static void on_list(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    st_t *st = r->state;
    oc_respond_page(r, &st->page, res, email_key);
}

/* --- brand members --------------------------------------------------------------- */

OC_DB_STMT(brand_members, 5,
           "SELECT json_build_object('user_id', u.id, 'email', u.email, 'name', u.name, 'role', m.role,"
           " 'via', CASE WHEN m.brand_id IS NULL THEN 'portfolio' ELSE 'brand' END,"
           " 'disabled', u.disabled_at IS NOT NULL, 'since', m.created_at)"
           " FROM memberships m JOIN users u ON u.id = m.user_id"
           " WHERE m.portfolio_id = $1 AND (m.brand_id = $2 OR m.brand_id IS NULL)"
           "   AND ($3::text IS NULL OR (lower(u.email), u.id::text) > (lower($3), $4))"
           " ORDER BY lower(u.email), u.id LIMIT $5");

void oc_api_brand_members(oc_req_t *r)
{
    st_t *st = state(r);
    if (oc_page_parse(r, &st->page, 2) != 0)
        return;
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = &brand_members;
    tx.steps[0].params[0] = r->portfolio;
    tx.steps[0].params[1] = r->tenant;
    tx.steps[0].params[2] = oc_page_after(&st->page, 0);
    tx.steps[0].params[3] = oc_page_after(&st->page, 1);
    tx.steps[0].params[4] = st->page.limit_plus_one;
    if (oc_db_run(r->thread->db, &tx, on_list, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* Role change and removal: the audit row is written by the same statement. */
OC_DB_STMT(member_update, 7,
           "WITH m AS (UPDATE memberships m SET role = $3 FROM memberships o"
           "           WHERE o.id = m.id AND m.user_id = $1 AND m.brand_id = $2 RETURNING o.role AS before)"
           " SELECT before, audit_write($2, $7, $4, $5, 'member.update', 'user', $1::text,"
           "        jsonb_build_object('before', before, 'after', $3::text), $6) FROM m");
OC_DB_STMT(member_delete, 6,
           "WITH m AS (DELETE FROM memberships WHERE user_id = $1 AND brand_id = $2 RETURNING role)"
           " SELECT role, audit_write($2, $6, $3, $4, 'member.remove', 'user', $1::text,"
           "        jsonb_build_object('before', role, 'after', null), $5) FROM m");
OC_DB_STMT(member_role_of, 2, "SELECT role FROM memberships WHERE user_id = $1 AND brand_id = $2");

typedef struct {
    const char *uid;
    oc_role_t target;
    int is_delete;
} member_change_t;

static void on_member_changed(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    member_change_t *mc = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    const PGresult *pr = res->results[0];
    if (oc_db_get(pr, 0, 0) == NULL) {
        oc_respond_error(r, 404, "not_found", "no such member of this brand", NULL);
        return;
    }
    if (mc->is_delete) {
        oc_auth_answer_revoked(r, 204, NULL);
        return;
    }
    oc_auth_answer_revoked(
        r, 200,
        json_pack("{s:s, s:s, s:s}", "user_id", mc->uid, "brand_id", r->tenant, "role", oc_role_name(mc->target)));
}

/* First look up the member's current role: a brand owner may not change or
 * remove someone whose role it could not grant. */
static void on_member_current(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    member_change_t *mc = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    const char *cur = oc_db_get(res->results[0], 0, 0);
    if (cur == NULL) {
        oc_respond_error(r, 404, "not_found", "no such member of this brand", NULL);
        return;
    }
    if (!oc_role_may_grant(r->auth.role, oc_role_parse(cur))) {
        oc_respond_error(r, 403, "forbidden", "you may not change a member whose role is above yours", NULL);
        return;
    }
    if (!mc->is_delete && strcmp(mc->uid, r->auth.user_id) == 0 && r->auth.role != OC_ROLE_PORTFOLIO_ADMIN) {
        oc_respond_error(r, 409, "conflict", "you cannot change your own role", NULL);
        return;
    }
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    const char *token = r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL;
    if (mc->is_delete) {
        tx.steps[0].stmt = &member_delete;
        const char *p[] = {mc->uid, r->tenant, r->auth.user_id, token, r->request_id, r->portfolio};
        memcpy(tx.steps[0].params, p, sizeof(p));
    } else {
        tx.steps[0].stmt = &member_update;
        const char *p[] = {mc->uid,       r->tenant,   oc_role_name(mc->target), r->auth.user_id, token,
                           r->request_id, r->portfolio};
        memcpy(tx.steps[0].params, p, sizeof(p));
    }
    if (oc_db_run(r->thread->db, &tx, on_member_changed, r) != 0)
        oc_respond_unavailable(r, "the database");
}

static void member_change(oc_req_t *r, int is_delete)
{
    member_change_t *mc = oc_req_alloc(r, sizeof(*mc));
    memset(mc, 0, sizeof(*mc));
    r->state = mc;
    mc->is_delete = is_delete;
    if ((mc->uid = oc_req_id_param(r, "uid", "no such member of this brand")) == NULL)
        return;
    if (!is_delete) {
        static const char *const roles[] = {"viewer", "operator", "brand_owner", NULL};
        static const oc_field_t fields[] = {{"role", OC_F_ENUM, 1, 0, 0, roles}, {NULL}};
        if (oc_req_validate(r, fields) != 0)
            return;
        mc->target = oc_role_parse(oc_json_str(r->body, "role"));
        if (!oc_role_may_grant(r->auth.role, mc->target)) {
            oc_respond_error(r, 403, "forbidden", "you may not grant a role above your own", "role");
            return;
        }
    }
    const char *p[2] = {mc->uid, r->tenant};
    if (oc_db_exec(r->thread->db, NULL, &member_role_of, p, on_member_current, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_brand_member_update(oc_req_t *r)
{
    member_change(r, 0);
}

void oc_api_brand_member_delete(oc_req_t *r)
{
    member_change(r, 1);
}

/* --- portfolio members --------------------------------------------------------- */

OC_DB_STMT(portfolio_members, 4,
           "SELECT json_build_object('user_id', u.id, 'email', u.email, 'name', u.name,"
           " 'disabled', u.disabled_at IS NOT NULL, 'created_at', u.created_at,"
           " 'memberships', coalesce((SELECT json_agg(json_build_object('brand_id', m.brand_id, 'role', m.role))"
           "   FROM memberships m WHERE m.user_id = u.id), '[]'))"
           " FROM users u WHERE u.portfolio_id = $1"
           "   AND ($2::text IS NULL OR (lower(u.email), u.id::text) > (lower($2), $3))"
           " ORDER BY lower(u.email), u.id LIMIT $4");

void oc_api_portfolio_members(oc_req_t *r)
{
    st_t *st = state(r);
    if (oc_page_parse(r, &st->page, 2) != 0)
        return;
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = &portfolio_members;
    tx.steps[0].params[0] = r->portfolio;
    tx.steps[0].params[1] = oc_page_after(&st->page, 0);
    tx.steps[0].params[2] = oc_page_after(&st->page, 1);
    tx.steps[0].params[3] = st->page.limit_plus_one;
    if (oc_db_run(r->thread->db, &tx, on_list, r) != 0)
        oc_respond_unavailable(r, "the database");
}

OC_DB_STMT(user_disable, 5,
           "WITH u AS (UPDATE users u SET disabled_at = coalesce(o.disabled_at, now()) FROM users o"
           "           WHERE o.id = u.id AND u.id = $1 AND u.portfolio_id = $2"
           "           RETURNING u.id, u.email, o.disabled_at IS NULL AS newly),"
           " s AS (UPDATE sessions SET revoked_at = now() WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL)"
           " SELECT json_build_object('user_id', id, 'disabled', true),"
           "  CASE WHEN newly THEN audit_write(NULL, $2, $3, $4, 'user.disable', 'user', u.id::text,"
           "       jsonb_build_object('email', u.email), $5) ELSE true END FROM u");

OC_DB_STMT(user_enable, 5,
           "WITH u AS (UPDATE users u SET disabled_at = NULL FROM users o"
           "           WHERE o.id = u.id AND u.id = $1 AND u.portfolio_id = $2"
           "           RETURNING u.id, u.email, o.disabled_at IS NOT NULL AS newly)"
           " SELECT json_build_object('user_id', id, 'disabled', false),"
           "  CASE WHEN newly THEN audit_write(NULL, $2, $3, $4, 'user.enable', 'user', u.id::text,"
           "       jsonb_build_object('email', u.email), $5) ELSE true END FROM u");

/* Enabling gives rights back: the caches of this process learn it at once. */
static void on_user_enabled(void *arg, const oc_db_result_t *res)
{
    if (res->err == NULL)
        oc_auth_invalidate();
    on_done_json(arg, res);
}

static void on_user_disabled(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *v = oc_db_json(res->results[0], 0, 0);
    if (v == NULL) {
        oc_respond_error(r, 404, "not_found", "no such user", NULL);
        return;
    }
    oc_auth_answer_revoked(r, 200, v);
}

static void user_set_disabled(oc_req_t *r, const oc_db_stmt_t *stmt)
{
    state(r)->not_found = "no such user";
    const char *uid = oc_req_id_param(r, "uid", "no such user");
    if (uid == NULL)
        return;
    if (stmt == &user_disable && strcmp(uid, r->auth.user_id) == 0) {
        oc_respond_error(r, 409, "conflict", "you cannot disable yourself", NULL);
        return;
    }
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = stmt;
    const char *p[] = {uid, r->portfolio, oc_req_actor(r)->user, oc_req_actor(r)->token, r->request_id};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, stmt == &user_disable ? on_user_disabled : on_user_enabled, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_portfolio_user_enable(oc_req_t *r)
{
    user_set_disabled(r, &user_enable);
}

void oc_api_portfolio_member_delete(oc_req_t *r)
{
    user_set_disabled(r, &user_disable);
}

/* --- invitations ------------------------------------------------------------------ */

#define INVITATION_JSON                                                                                                \
    "json_build_object('id', i.id, 'email', i.email, 'role', i.role, 'brand_id', i.brand_id,"                          \
    " 'created_at', i.created_at, 'expires_at', i.expires_at,"                                                         \
    " 'status', CASE WHEN i.accepted_at IS NOT NULL THEN 'accepted' WHEN i.revoked_at IS NOT NULL THEN 'revoked'"      \
    " WHEN i.expires_at <= now() THEN 'expired' ELSE 'pending' END)"

/* Refuses (0 rows) when the e-mail already belongs to another portfolio's account
 * or the brand is not in the portfolio. */
OC_DB_STMT(invitation_insert, 7,
           "INSERT INTO invitations AS i (id, portfolio_id, brand_id, email, role, token_hash, invited_by, expires_at)"
           " SELECT $1, $2, $3, $4, $5, decode($6, 'hex'), $7, now() + interval '7 days'"
           " WHERE NOT EXISTS (SELECT 1 FROM users u WHERE lower(u.email) = lower($4)"
           "                   AND (u.portfolio_id <> $2 OR u.disabled_at IS NOT NULL))"
           "   AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM brands b WHERE b.id = $3 AND b.portfolio_id = $2))"
           " RETURNING " INVITATION_JSON);

typedef struct {
    char id[37];
    char token[OC_TOKEN_LEN + 1];
    char hash[65];
} invite_t;

static void invite_free(void *p)
{
    sodium_memzero(p, sizeof(invite_t));
    free(p);
}

static void on_invited(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    invite_t *iv = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *inv = oc_db_json(res->results[0], 0, 0);
    if (inv == NULL) {
        oc_respond_error(r, 409, "conflict",
                         "this e-mail belongs to an account outside this portfolio or to a disabled"
                         " account (enable it first), or the brand is not in it",
                         "email");
        return;
    }
    json_object_set_new(inv, "token", json_string(iv->token));
    char url[128];
    snprintf(url, sizeof(url), "/#/accept?token=%s", iv->token);
    json_object_set_new(inv, "accept_url", json_string(url));
    oc_respond_json(r, 201, inv);
}

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
                         role == OC_ROLE_PORTFOLIO_ADMIN ? "brand_id" : "brand_id");
        return;
    }
    if (!oc_role_may_grant(r->auth.role, role)) {
        oc_respond_error(r, 403, "forbidden", "you may not grant a role above your own", "role");
        return;
    }
    invite_t *iv = calloc(1, sizeof(*iv));
    r->state = iv;
    r->state_free = invite_free;
    oc_uuid_v4(iv->id);
    oc_token_new("oci", iv->token);
    oc_token_hash_hex(iv->token, strlen(iv->token), iv->hash);
    oc_db_tx_t tx = {.tenant = brand_id, .nsteps = 1};
    tx.steps[0].stmt = &invitation_insert;
    const char *p[] = {iv->id, r->portfolio, brand_id, email, oc_role_name(role), iv->hash, r->auth.user_id};
    memcpy(tx.steps[0].params, p, sizeof(p));
    json_t *summary = json_pack("{s:s, s:s}", "email", email, "role", oc_role_name(role));
    if (r->tenant[0] != '\0')
        oc_audit_brand(&tx, oc_req_actor(r), "invitation.create", "invitation", iv->id, summary);
    else
        oc_audit_portfolio(&tx, oc_req_actor(r), "invitation.create", "invitation", iv->id, summary);
    json_decref(summary);
    if (oc_db_run(r->thread->db, &tx, on_invited, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_brand_invite(oc_req_t *r)
{
    invite(r, r->tenant);
}

void oc_api_portfolio_invite(oc_req_t *r)
{
    invite(r, NULL);
}

static json_t *created_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "created_at")),
                     json_string_value(json_object_get(item, "id")));
}

static void on_created_list(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    st_t *st = r->state;
    oc_respond_page(r, &st->page, res, created_key);
}

OC_DB_STMT(invitations_list, 5,
           "SELECT " INVITATION_JSON " FROM invitations i WHERE i.portfolio_id = $1"
           " AND ($2::uuid IS NULL OR i.brand_id = $2)"
           " AND ($3::text IS NULL OR (i.created_at, i.id::text) < ($3::timestamptz, $4))"
           " ORDER BY i.created_at DESC, i.id DESC LIMIT $5");

static void list_invitations(oc_req_t *r, const char *brand_id)
{
    st_t *st = state(r);
    if (oc_page_parse(r, &st->page, 2) != 0)
        return;
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = &invitations_list;
    const char *p[] = {r->portfolio, brand_id, oc_page_after(&st->page, 0), oc_page_after(&st->page, 1),
                       st->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_created_list, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_brand_invitations(oc_req_t *r)
{
    list_invitations(r, r->tenant);
}

void oc_api_portfolio_invitations(oc_req_t *r)
{
    list_invitations(r, NULL);
}

OC_DB_STMT(invitation_revoke, 6,
           "WITH i AS (UPDATE invitations i SET revoked_at = coalesce(o.revoked_at, now()) FROM invitations o"
           "           WHERE o.id = i.id AND i.id = $1 AND i.portfolio_id = $2"
           "             AND ($3::uuid IS NULL OR i.brand_id = $3) AND i.accepted_at IS NULL"
           "           RETURNING i.*, o.revoked_at IS NULL AS newly)"
           " SELECT " INVITATION_JSON ", CASE WHEN newly THEN audit_write($3, $2, $4, $5, 'invitation.revoke',"
           "        'invitation', i.id::text, jsonb_build_object('email', i.email), $6) ELSE true END FROM i");

static void revoke_invitation(oc_req_t *r, const char *brand_id)
{
    const char *iid = oc_req_id_param(r, "iid", "no such invitation");
    if (iid == NULL)
        return;
    st_t *st = state(r);
    st->not_found = "no such pending invitation";
    oc_db_tx_t tx = {.tenant = brand_id, .nsteps = 1};
    tx.steps[0].stmt = &invitation_revoke;
    const char *p[] = {iid, r->portfolio, brand_id, oc_req_actor(r)->user, oc_req_actor(r)->token, r->request_id};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_done_json, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_brand_invitation_revoke(oc_req_t *r)
{
    revoke_invitation(r, r->tenant);
}

void oc_api_portfolio_invitation_revoke(oc_req_t *r)
{
    revoke_invitation(r, NULL);
}

/* Generic: the first step's first row is the JSON answer; none means 404. */
static void on_done_json(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    st_t *st = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *v = oc_db_json(res->results[0], 0, 0);
    if (v == NULL) {
        oc_respond_error(r, 404, "not_found", st != NULL && st->not_found ? st->not_found : "no such object", NULL);
        return;
    }
    oc_respond_json(r, 200, v);
}

/* --- accepting an invitation (public: the token is the credential) ---------------- */

OC_DB_STMT(invitation_lookup, 1,
           "SELECT i.id, i.email, u.id, u.password_hash, u.portfolio_id = i.portfolio_id, u.disabled_at IS NOT NULL"
           " FROM invitations i LEFT JOIN users u ON lower(u.email) = lower(i.email)"
           " WHERE i.token_hash = decode($1, 'hex') AND i.accepted_at IS NULL AND i.revoked_at IS NULL"
           "   AND i.expires_at > now()");
OC_DB_STMT(invitation_accept, 5,
           "WITH inv AS (UPDATE invitations SET accepted_at = now(), accepted_by = $2"
           "             WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()"
           "             RETURNING portfolio_id, brand_id, role),"
           " usr AS (INSERT INTO users (id, portfolio_id, email, name, password_hash)"
           "         SELECT $2, inv.portfolio_id, $3, $4, $5 FROM inv WHERE $5::text IS NOT NULL RETURNING id),"
           " mem AS (INSERT INTO memberships (user_id, portfolio_id, brand_id, role)"
           "         SELECT $2, portfolio_id, brand_id, role FROM inv"
           "         ON CONFLICT (user_id, coalesce(brand_id, '00000000-0000-0000-0000-000000000000'::uuid))"
           "         DO UPDATE SET role = excluded.role RETURNING id),"
           " aud AS (INSERT INTO portfolio_audit (portfolio_id, actor_user, action, object_type, object_id, summary)"
           "         SELECT portfolio_id, $2, 'invitation.accept', 'invitation', $1::text,"
           "         jsonb_build_object('role', role, 'brand_id', brand_id) FROM inv)"
           " SELECT count(*) FROM inv");
OC_DB_STMT(
    invitation_session, 5,
    "INSERT INTO sessions (user_id, token_hash, csrf, expires_at, remote_addr)"
    " SELECT $1, decode($2, 'hex'), $3, now() + make_interval(hours => $4::int), $5"
    " WHERE EXISTS (SELECT 1 FROM invitations WHERE accepted_by = $1 AND accepted_at > now() - interval '1 minute')"
    " RETURNING id");

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

static void on_accepted(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    accept_t *a = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    if (oc_db_get_ll(res->results[0], 0, 0, 0) != 1) {
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
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &invitation_accept;
    const char *p[] = {a->invitation_id, a->user_id, a->email, a->name, a->existing ? NULL : a->hash};
    memcpy(tx.steps[0].params, p, sizeof(p));
    tx.steps[1].stmt = &invitation_session;
    const char *q[] = {a->user_id, a->token_hash, a->csrf, hours, r->remote_addr};
    memcpy(tx.steps[1].params, q, sizeof(q));
    if (a->existing)
        oc_login_end_step(&tx, a->login_keys);
    if (oc_db_run(r->thread->db, &tx, on_accepted, r) != 0)
        oc_respond_unavailable(r, "the database");
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

static void on_invitation(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    accept_t *a = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    const PGresult *pr = res->results[0];
    if (PQntuples(pr) != 1) {
        oc_respond_error(r, 410, "gone", "this invitation was already used, revoked or has expired", "token");
        return;
    }
    oc_strlcpy(a->invitation_id, PQgetvalue(pr, 0, 0), 36, sizeof(a->invitation_id));
    oc_strlcpy(a->email, PQgetvalue(pr, 0, 1), strlen(PQgetvalue(pr, 0, 1)), sizeof(a->email));
    if (oc_db_get(pr, 0, 2) != NULL) {
        if (strcmp(PQgetvalue(pr, 0, 4), "t") != 0) {
            oc_respond_error(r, 409, "conflict", "this e-mail belongs to an account in another portfolio", NULL);
            return;
        }
        if (strcmp(PQgetvalue(pr, 0, 5), "t") == 0) {
            oc_respond_error(r, 409, "account_disabled",
                             "the account of this e-mail is disabled; an administrator must enable it first", NULL);
            return;
        }
        a->existing = 1;
        oc_strlcpy(a->user_id, PQgetvalue(pr, 0, 2), 36, sizeof(a->user_id));
        oc_strlcpy(a->hash, PQgetvalue(pr, 0, 3), strlen(PQgetvalue(pr, 0, 3)), sizeof(a->hash));
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
    accept_t *a = calloc(1, sizeof(*a));
    r->state = a;
    r->state_free = accept_free;
    const char *name = oc_json_str(r->body, "name"), *pw = oc_json_str(r->body, "password");
    if (name != NULL)
        oc_strlcpy(a->name, name, strlen(name), sizeof(a->name));
    oc_strlcpy(a->password, pw, strlen(pw), sizeof(a->password));
    json_object_del(r->body, "password");
    char hash[65];
    oc_token_hash_hex(token, strlen(token), hash);
    const char *p[1] = {hash};
    if (oc_db_exec(r->thread->db, NULL, &invitation_lookup, p, on_invitation, r) != 0)
        oc_respond_unavailable(r, "the database");
}
