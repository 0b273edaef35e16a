/*
 * members.c — members, invitations and API tokens (see members.h).
 */
#include "tenants/members.h"
#include "tenants/notify.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- members ------------------------------------------------------------------------------- */

OC_DB_STMT(brand_members, 5,
           "SELECT json_build_object('user_id', u.id, 'email', u.email, 'name', u.name, 'role', m.role,"
           " 'via', CASE WHEN m.brand_id IS NULL THEN 'portfolio' ELSE 'brand' END,"
           " 'disabled', u.disabled_at IS NOT NULL, 'since', m.created_at)"
           " FROM memberships m JOIN users u ON u.id = m.user_id"
           " WHERE m.portfolio_id = $1 AND (m.brand_id = $2 OR m.brand_id IS NULL)"
           "   AND ($3::text IS NULL OR (lower(u.email), u.id::text) > (lower($3), $4))"
           " ORDER BY lower(u.email), u.id LIMIT $5");

void oc_members_brand_list(oc_thread_t *th, const char *portfolio, const char *brand_id, const oc_page_keys_t *pg,
                           oc_query_cb cb, void *arg)
{
    const char *p[] = {portfolio, brand_id};
    oc_query_list(th, NULL, &brand_members, p, 2, pg, 2, "member", cb, arg);
}

OC_DB_STMT(portfolio_members, 4,
           "SELECT json_build_object('user_id', u.id, 'email', u.email, 'name', u.name,"
           " 'disabled', u.disabled_at IS NOT NULL, 'created_at', u.created_at,"
           " 'memberships', coalesce((SELECT json_agg(json_build_object('brand_id', m.brand_id, 'role', m.role))"
           "   FROM memberships m WHERE m.user_id = u.id), '[]'))"
           " FROM users u WHERE u.portfolio_id = $1"
           "   AND ($2::text IS NULL OR (lower(u.email), u.id::text) > (lower($2), $3))"
           " ORDER BY lower(u.email), u.id LIMIT $4");

void oc_members_portfolio_list(oc_thread_t *th, const char *portfolio, const oc_page_keys_t *pg, oc_query_cb cb,
                               void *arg)
{
    oc_query_list(th, NULL, &portfolio_members, &portfolio, 1, pg, 2, "user", cb, arg);
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
    oc_thread_t *th;
    oc_actor_t a; /* its strings are the caller's, valid until the answer */
    oc_role_t actor_role, role;
    const char *uid;
    oc_query_cb cb;
    void *arg;
} member_change_t;

static void change_answer(member_change_t *mc, json_t *v, oc_fail_t *f)
{
    member_change_t c = *mc;
    free(mc);
    c.cb(c.arg, v, v != NULL ? NULL : f);
    oc_fail_clear(f);
}

/* The member's one row, or NULL when it answered the failure (and freed `mc`). */
static const PGresult *member_row(member_change_t *mc, const oc_db_result_t *res)
{
    oc_fail_t f = {0};
    const PGresult *row = oc_fail_one_row(&f, res, "member of this brand");
    if (row == NULL)
        change_answer(mc, NULL, &f);
    return row;
}

static void on_member_changed(void *arg, const oc_db_result_t *res)
{
    member_change_t *mc = arg;
    oc_fail_t f = {0};
    if (member_row(mc, res) == NULL)
        return;
    json_t *v = mc->role == OC_ROLE_NONE ? json_null()
                                         : json_pack("{s:s, s:s, s:s}", "user_id", mc->uid, "brand_id", mc->a.tenant,
                                                     "role", oc_role_name(mc->role));
    change_answer(mc, v, &f);
}

/* First the member's current role: an actor may not change or remove someone
 * whose role it could not grant. */
static void on_member_current(void *arg, const oc_db_result_t *res)
{
    member_change_t *mc = arg;
    oc_fail_t f = {0};
    const PGresult *row = member_row(mc, res);
    if (row == NULL)
        return;
    if (!oc_role_may_grant(mc->actor_role, oc_role_parse(oc_db_get(row, 0, 0)))) {
        oc_fail(&f, OC_FAIL_FORBIDDEN, "forbidden", NULL, "you may not change a member whose role is above yours");
        change_answer(mc, NULL, &f);
        return;
    }
    if (mc->role != OC_ROLE_NONE && mc->a.user != NULL && strcmp(mc->uid, mc->a.user) == 0 &&
        mc->actor_role != OC_ROLE_PORTFOLIO_ADMIN) {
        oc_fail(&f, OC_FAIL_CONFLICT, "conflict", NULL, "you cannot change your own role");
        change_answer(mc, NULL, &f);
        return;
    }
    oc_db_tx_t tx = {.tenant = mc->a.tenant};
    const oc_actor_t *a = &mc->a;
    if (mc->role == OC_ROLE_NONE) {
        const char *p[] = {mc->uid, a->tenant, a->user, a->token, a->request_id, a->portfolio};
        oc_query_step(&tx, &member_delete, p, 6);
    } else {
        const char *p[] = {mc->uid, a->tenant, oc_role_name(mc->role), a->user, a->token, a->request_id, a->portfolio};
        oc_query_step(&tx, &member_update, p, 7);
    }
    if (oc_db_run(mc->th->db, &tx, on_member_changed, mc) != 0) {
        oc_fail_unavailable(&f, "the database");
        change_answer(mc, NULL, &f);
    }
}

void oc_members_change(oc_thread_t *th, const oc_actor_t *a, oc_role_t actor_role, const char *uid, oc_role_t role,
                       oc_query_cb cb, void *arg)
{
    member_change_t *mc = oc_malloc(sizeof(*mc));
    *mc = (member_change_t){th, *a, actor_role, role, uid, cb, arg};
    const char *p[] = {uid, a->tenant};
    if (oc_db_exec(th->db, NULL, &member_role_of, p, on_member_current, mc) != 0) {
        free(mc);
        oc_query_unavailable(cb, arg);
    }
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

void oc_members_set_disabled(oc_thread_t *th, const oc_actor_t *a, const char *uid, int disabled, oc_query_cb cb,
                             void *arg)
{
    if (disabled && a->user != NULL && strcmp(uid, a->user) == 0) {
        oc_fail_t f = {0};
        oc_fail(&f, OC_FAIL_CONFLICT, "conflict", NULL, "you cannot disable yourself");
        cb(arg, NULL, &f);
        return;
    }
    const char *p[] = {uid, a->portfolio, a->user, a->token, a->request_id};
    oc_query_exec(th, NULL, disabled ? &user_disable : &user_enable, p, oc_query_one, "user", cb, arg);
}

/* --- grants: invitations and API tokens -------------------------------------------------- */

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
OC_DB_STMT(invitations_list, 5,
           "SELECT " INVITATION_JSON " FROM invitations i WHERE i.portfolio_id = $1"
           " AND ($2::uuid IS NULL OR i.brand_id = $2)"
           " AND ($3::text IS NULL OR (i.created_at, i.id::text) < ($3::timestamptz, $4))"
           " ORDER BY i.created_at DESC, i.id DESC LIMIT $5");
OC_DB_STMT(invitation_revoke, 6,
           "WITH i AS (UPDATE invitations i SET revoked_at = coalesce(o.revoked_at, now()) FROM invitations o"
           "           WHERE o.id = i.id AND i.id = $1 AND i.portfolio_id = $2"
           "             AND ($3::uuid IS NULL OR i.brand_id = $3) AND i.accepted_at IS NULL"
           "           RETURNING i.*, o.revoked_at IS NULL AS newly)"
           " SELECT " INVITATION_JSON ", CASE WHEN newly THEN audit_write($3, $2, $4, $5, 'invitation.revoke',"
           "        'invitation', i.id::text, jsonb_build_object('email', i.email), $6) ELSE true END FROM i");

#define TOKEN_JSON                                                                                                     \
    "json_build_object('id', t.id, 'name', t.name, 'role', t.role, 'brand_id', t.brand_id, 'prefix', t.prefix,"        \
    " 'created_at', t.created_at, 'created_by', t.created_by, 'last_used_at', t.last_used_at,"                         \
    " 'revoked', t.revoked_at IS NOT NULL)"

OC_DB_STMT(token_insert, 8,
           "INSERT INTO api_tokens AS t (id, portfolio_id, brand_id, role, name, token_hash, prefix, created_by)"
           " VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), left($7, 8), $8) RETURNING " TOKEN_JSON);
OC_DB_STMT(tokens_list, 5,
           "SELECT " TOKEN_JSON " FROM api_tokens t WHERE t.portfolio_id = $1"
           " AND (($2::uuid IS NULL AND t.brand_id IS NULL) OR t.brand_id = $2)"
           " AND ($3::text IS NULL OR (t.created_at, t.id::text) < ($3::timestamptz, $4))"
           " ORDER BY t.created_at DESC, t.id DESC LIMIT $5");
/* Revoking twice answers the same; only the first revocation is audited. */
OC_DB_STMT(token_revoke, 6,
           "WITH t AS (UPDATE api_tokens t SET revoked_at = coalesce(o.revoked_at, now()) FROM api_tokens o"
           "           WHERE o.id = t.id AND t.id = $1 AND t.portfolio_id = $2"
           "             AND (($3::uuid IS NULL AND t.brand_id IS NULL) OR t.brand_id = $3)"
           "           RETURNING t.*, o.revoked_at IS NULL AS newly)"
           " SELECT " TOKEN_JSON ", CASE WHEN newly THEN audit_write($3, $2, $4, $5, 'token.revoke', 'token',"
           "        t.id::text, jsonb_build_object('name', t.name), $6) ELSE true END FROM t");

/* What one kind of grant is made of. */
typedef struct {
    const char *prefix;      /* of its secret */
    const char *object_type; /* in the audit log */
    const char *label;       /* the member of the audit summary naming it ("name", "email") */
    const char *created;     /* the audit action of its creation */
    const oc_db_stmt_t *insert, *list, *revoke;
    const char *noun;       /* of a revoke's "no such …" */
    const char *refused;    /* the conflict on `label` when the insert adds no row */
    const char *accept_url; /* printf format of the answer's "accept_url" for the secret, or NULL */
} grant_kind_t;

static const grant_kind_t invitation = {
    "oci",
    "invitation",
    "email",
    "invitation.create",
    &invitation_insert,
    &invitations_list,
    &invitation_revoke,
    "pending invitation",
    "this e-mail belongs to an account outside this portfolio or to a disabled account (enable it first), or the"
    " brand is not in it",
    "/#/accept?token=%s",
};

static const grant_kind_t api_token = {
    "oct", "token", "name", "token.create", &token_insert, &tokens_list, &token_revoke, "token", NULL, NULL,
};

typedef struct {
    const grant_kind_t *kind;
    char id[37];
    char token[OC_TOKEN_LEN + 1];
    char hash[65];
    oc_query_cb cb;
    void *arg;
} grant_t;

static void grant_free(grant_t *g)
{
    sodium_memzero(g, sizeof(*g));
    free(g);
}

static void on_granted(void *arg, const oc_db_result_t *res)
{
    grant_t *g = arg;
    oc_fail_t f = {0};
    json_t *v = NULL;
    const PGresult *row = res->err == NULL && PQntuples(res->results[0]) == 1 ? res->results[0] : NULL;
    if (res->err != NULL)
        oc_fail_db(&f, res);
    else if (row == NULL)
        oc_fail(&f, OC_FAIL_CONFLICT, "conflict", g->kind->label, "%s", g->kind->refused);
    else if ((v = oc_db_json(row, 0, 0)) != NULL) {
        json_object_set_new(v, "token", json_string(g->token));
        if (g->kind->accept_url != NULL) {
            char url[128];
            snprintf(url, sizeof(url), g->kind->accept_url, g->token);
            json_object_set_new(v, "accept_url", json_string(url));
        }
    } else
        oc_fail(&f, OC_FAIL_INTERNAL, NULL, NULL, "the new %s could not be read", g->kind->object_type);
    oc_query_cb cb = g->cb;
    void *cb_arg = g->arg;
    grant_free(g);
    cb(cb_arg, v, v != NULL ? NULL : &f);
    oc_fail_clear(&f);
}

/*
 * With an SMTP relay configured, the invitation is e-mailed too: its link
 * (the token) sealed in the outbox, never logged (notify.h).
 */
static void invitation_email(oc_db_tx_t *tx, const oc_actor_t *a, const grant_t *g, const char *email, oc_role_t role)
{
    if (!oc_notify_email_enabled())
        return;
    char base[512];
    if (oc_config.public_url[0] != '\0')
        snprintf(base, sizeof(base), "%s", oc_config.public_url);
    else
        snprintf(base, sizeof(base), "http://%s", oc_config.listen);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        base[--bl] = '\0';
    char text[2048];
    snprintf(text, sizeof(text),
             "You are invited to onecount as %s.\n\n"
             "Accept the invitation (the link works once and expires in 7 days):\n\n"
             "%s/#/accept?token=%s\n\n"
             "If you did not expect this invitation, ignore this e-mail.\n",
             oc_role_name(role), base, g->token);
    if (oc_notify_email_sealed_step(tx, a, g->id, email, "invitation", "You are invited to onecount", text) != 0)
        oc_log_fields(OC_LOG_WARN, "an invitation could not be queued for e-mail",
                      json_pack("{s:s}", "invitation", g->id));
    sodium_memzero(text, sizeof(text));
}

/*
 * Creates a grant of `kind` in `brand_id` (NULL = the portfolio) naming
 * `label` with `role`; the insert's parameters are (id, portfolio, brand,
 * label, role, hash, created by) for an invitation and (id, portfolio,
 * brand, role, label, hash, token, created by) for a token.
 */
static void grant_create(oc_thread_t *th, const oc_actor_t *a, const grant_kind_t *kind, const char *brand_id,
                         const char *label, oc_role_t role, oc_query_cb cb, void *arg)
{
    grant_t *g = oc_calloc(1, sizeof(*g));
    *g = (grant_t){.kind = kind, .cb = cb, .arg = arg};
    oc_uuid_v4(g->id);
    oc_token_new(kind->prefix, g->token);
    oc_token_hash_hex(g->token, strlen(g->token), g->hash);
    oc_db_tx_t tx = {.tenant = brand_id};
    if (kind == &invitation) {
        const char *p[] = {g->id, a->portfolio, brand_id, label, oc_role_name(role), g->hash, a->user};
        oc_query_step(&tx, kind->insert, p, 7);
        invitation_email(&tx, a, g, label, role);
    } else {
        const char *p[] = {g->id, a->portfolio, brand_id, oc_role_name(role), label, g->hash, g->token, a->user};
        oc_query_step(&tx, kind->insert, p, 8);
    }
    json_t *summary = json_pack("{s:s, s:s}", kind->label, label, "role", oc_role_name(role));
    if (a->tenant != NULL && a->tenant[0] != '\0')
        oc_audit_brand(&tx, a, kind->created, kind->object_type, g->id, summary);
    else
        oc_audit_portfolio(&tx, a, kind->created, kind->object_type, g->id, summary);
    json_decref(summary);
    if (oc_db_run(th->db, &tx, on_granted, g) != 0) {
        grant_free(g);
        oc_query_unavailable(cb, arg);
    }
}

static const grant_kind_t *const kinds[] = {[OC_GRANT_INVITATION] = &invitation, [OC_GRANT_TOKEN] = &api_token};

void oc_grants_create(oc_thread_t *th, oc_grant_kind_t kind, const oc_actor_t *a, const char *brand_id,
                      const char *label, oc_role_t role, oc_query_cb cb, void *arg)
{
    grant_create(th, a, kinds[kind], brand_id, label, role, cb, arg);
}

void oc_grants_list(oc_thread_t *th, oc_grant_kind_t kind, const char *portfolio, const char *brand_id,
                    const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    const char *p[] = {portfolio, brand_id};
    oc_query_list(th, NULL, kinds[kind]->list, p, 2, pg, 2, kinds[kind]->noun, cb, arg);
}

void oc_grants_revoke(oc_thread_t *th, oc_grant_kind_t kind, const oc_actor_t *a, const char *brand_id, const char *id,
                      oc_query_cb cb, void *arg)
{
    const char *p[] = {id, a->portfolio, brand_id, a->user, a->token, a->request_id};
    oc_query_exec(th, brand_id, kinds[kind]->revoke, p, oc_query_one, kinds[kind]->noun, cb, arg);
}

/* --- accepting an invitation (the token is the credential) -------------------------------- */

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

static void read_invitation(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    const PGresult *pr = f == NULL ? oc_query_last(res) : NULL;
    oc_invitation_cb cb = (oc_invitation_cb)done;
    if (pr == NULL || PQntuples(pr) != 1) {
        cb(arg, NULL, f);
        return;
    }
    oc_invitation_found_t inv = {
        .id = PQgetvalue(pr, 0, 0),
        .email = PQgetvalue(pr, 0, 1),
        .user_id = PQgetvalue(pr, 0, 2),
        .password_hash = PQgetvalue(pr, 0, 3),
        .same_portfolio = strcmp(PQgetvalue(pr, 0, 4), "t") == 0,
        .disabled = strcmp(PQgetvalue(pr, 0, 5), "t") == 0,
    };
    cb(arg, &inv, NULL);
}

void oc_invitations_find(oc_thread_t *th, const char *token_hash, oc_invitation_cb cb, void *arg)
{
    const char *p[] = {token_hash};
    oc_query_typed(th, NULL, &invitation_lookup, p, read_invitation, (void (*)(void))cb, arg);
}

/* The accept is the step before the session's. */
static json_t *read_accepted(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    (void)what;
    if (res->err != NULL) {
        oc_fail_db(f, res);
        return NULL;
    }
    return json_boolean(oc_db_get_ll(res->results[res->nresults - 2], 0, 0, 0) == 1);
}

void oc_invitations_accept(oc_thread_t *th, oc_db_tx_t *tx, const oc_invitation_accept_t *in, oc_query_cb cb, void *arg)
{
    const char *p[] = {in->invitation_id, in->user_id, in->email, in->name, in->password_hash};
    oc_query_step(tx, &invitation_accept, p, 5);
    const char *q[] = {in->user_id, in->session_hash, in->csrf, in->session_hours, in->remote_addr};
    oc_query_step(tx, &invitation_session, q, 5);
    oc_query_run(th, tx, read_accepted, "invitation", cb, arg);
}
