/*
 * api_auth.c — sign in, sign out, who am I.
 *
 * Login is throttled per account and per address (failures within a
 * 15-minute window, kept in PostgreSQL), answers unknown accounts and wrong
 * passwords identically, and spends the same Argon2id work on both (a dummy
 * hash for unknown accounts).  A session is a random token in an HttpOnly,
 * SameSite=Lax cookie, stored hashed, with idle and absolute expiry; its
 * CSRF token comes back in the body and must accompany every write.
 */
#include "server/api.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/log.h"
#include "tenants/identity.h"
#include "tenants/roles.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#define THROTTLE_WINDOW      "15 minutes"
#define MAX_ACCOUNT_FAILURES 5
#define MAX_ADDRESS_FAILURES 30

typedef struct {
    char email[256];
    char password[OC_PASSWORD_MAX + 1];
    char acct_key[270], addr_key[64];
    char user_id[37];
    char token[OC_TOKEN_LEN + 1], token_hash[65], csrf[65];
} login_t;

static void login_free(void *p)
{
    login_t *l = p;
    sodium_memzero(l->password, sizeof(l->password));
    sodium_memzero(l->token, sizeof(l->token));
    free(l);
}

OC_DB_STMT(login_throttle, 2,
           "SELECT coalesce(max(failures) FILTER (WHERE key = $1), 0),"
           " coalesce(max(failures) FILTER (WHERE key = $2), 0),"
           " ceil(extract(epoch FROM max(window_start) + interval '" THROTTLE_WINDOW "' - now()))::int"
           " FROM login_failures WHERE key IN ($1, $2) AND window_start > now() - interval '" THROTTLE_WINDOW "'");
OC_DB_STMT(login_user, 1, "SELECT id, password_hash FROM users WHERE lower(email) = lower($1) AND disabled_at IS NULL");
OC_DB_STMT(login_fail, 1,
           "INSERT INTO login_failures AS f (key, failures, window_start) VALUES ($1, 1, now())"
           " ON CONFLICT (key) DO UPDATE SET"
           " failures = CASE WHEN f.window_start < now() - interval '" THROTTLE_WINDOW
           "' THEN 1 ELSE f.failures + 1 END,"
           " window_start = CASE WHEN f.window_start < now() - interval '" THROTTLE_WINDOW
           "' THEN now() ELSE f.window_start END");
OC_DB_STMT(login_clear, 1, "DELETE FROM login_failures WHERE key = $1");
OC_DB_STMT(login_session, 5,
           "INSERT INTO sessions (user_id, token_hash, csrf, expires_at, remote_addr)"
           " VALUES ($1, decode($2, 'hex'), $3, now() + make_interval(hours => $4::int), $5)"
           " RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
OC_DB_STMT(me_query, 1,
           "SELECT json_build_object("
           " 'user', json_build_object('id', u.id, 'email', u.email, 'name', u.name),"
           " 'portfolio', json_build_object('id', p.id, 'name', p.name),"
           " 'portfolio_role', (SELECT role FROM memberships m WHERE m.user_id = u.id AND m.brand_id IS NULL),"
           " 'memberships', coalesce((SELECT json_agg(json_build_object('brand_id', b.id, 'brand_name', b.name,"
           "   'role', m.role) ORDER BY b.name) FROM memberships m JOIN brands b ON b.id = m.brand_id"
           "   WHERE m.user_id = u.id), '[]'))"
           " FROM users u JOIN portfolios p ON p.id = u.portfolio_id WHERE u.id = $1");

static void set_session_cookie(oc_req_t *r, const char *token, int max_age)
{
    char cookie[256];
    snprintf(cookie, sizeof(cookie), OC_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", token,
             max_age, oc_config.cookie_secure ? "; Secure" : "");
    oc_resp_header(r, "set-cookie", cookie);
}

static void account_key(char *out, size_t cap, const char *email)
{
    snprintf(out, cap, "acct:");
    size_t i = 0;
    for (; email[i] && i + 6 < cap; i++)
        out[5 + i] = (char)tolower((unsigned char)email[i]);
    out[5 + i] = '\0';
}

/* Answers 429 when the throttle row (account failures, address failures,
 * seconds left) says so; returns 1 if it did. */
static int respond_if_throttled(oc_req_t *r, const PGresult *th)
{
    long long acct = oc_db_get_ll(th, 0, 0, 0), addr = oc_db_get_ll(th, 0, 1, 0);
    if (acct < MAX_ACCOUNT_FAILURES && addr < MAX_ADDRESS_FAILURES)
        return 0;
    long long wait = oc_db_get_ll(th, 0, 2, 60);
    char ra[24];
    snprintf(ra, sizeof(ra), "%lld", wait > 0 ? wait : 1);
    oc_resp_header(r, "retry-after", ra);
    oc_respond_error(r, 429, "throttled", "too many failed sign-ins; wait before trying again", NULL);
    return 1;
}

typedef struct {
    oc_req_t *r;
    void (*cb)(oc_req_t *r);
    const char *message, *field;
} throttle_t;

static void on_throttle(void *arg, const oc_db_result_t *res)
{
    throttle_t *t = arg;
    oc_req_t *r = t->r;
    void (*cb)(oc_req_t * r) = t->cb;
    free(t);
    if (res->err != NULL)
        oc_respond_db_error(r, res);
    else if (!respond_if_throttled(r, res->results[0]))
        cb(r);
}

void oc_login_throttle(oc_req_t *r, const char *email, void (*cb)(oc_req_t *r))
{
    char acct[270], addr[64];
    account_key(acct, sizeof(acct), email);
    snprintf(addr, sizeof(addr), "addr:%s", r->remote_addr);
    throttle_t *t = calloc(1, sizeof(*t));
    t->r = r;
    t->cb = cb;
    const char *p[] = {acct, addr};
    if (oc_db_exec(r->thread->db, NULL, &login_throttle, p, on_throttle, t) != 0) {
        free(t);
        oc_respond_unavailable(r, "the database");
    }
}

static void on_failure_recorded(void *arg, const oc_db_result_t *res)
{
    (void)res;
    throttle_t *t = arg;
    oc_respond_error(t->r, 401, "invalid_credentials", t->message, t->field);
    free(t);
}

void oc_login_failed(oc_req_t *r, const char *email, const char *message, const char *field)
{
    char acct[270], addr[64];
    account_key(acct, sizeof(acct), email);
    snprintf(addr, sizeof(addr), "addr:%s", r->remote_addr);
    throttle_t *t = calloc(1, sizeof(*t));
    t->r = r;
    t->message = message;
    t->field = field;
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &login_fail;
    tx.steps[0].params[0] = acct;
    tx.steps[1].stmt = &login_fail;
    tx.steps[1].params[0] = addr;
    if (oc_db_run(r->thread->db, &tx, on_failure_recorded, t) != 0) {
        free(t);
        oc_respond_unavailable(r, "the database");
    }
}

static void on_session_created(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    login_t *l = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *me = oc_db_json(res->results[2], 0, 0);
    if (me == NULL) {
        oc_respond_error(r, 500, "internal", "session created but user not found", NULL);
        return;
    }
    json_object_set_new(me, "csrf_token", json_string(l->csrf));
    json_object_set_new(me, "expires_at", json_string(PQgetvalue(res->results[1], 0, 0)));
    json_object_set_new(me, "auth", json_string("session"));
    set_session_cookie(r, l->token, oc_config.session_max_hours * 3600);
    oc_log_fields(OC_LOG_INFO, "login", json_pack("{s:s, s:s}", "user", l->user_id, "request_id", r->request_id));
    oc_respond_json(r, 200, me);
}

static void on_verified(void *arg, int ok)
{
    oc_req_t *r = arg;
    login_t *l = r->state;
    oc_db_tx_t tx = {0};
    if (!ok) {
        oc_login_failed(r, l->email, "invalid email or password", NULL);
        return;
    }
    oc_token_new("ocs", l->token);
    oc_token_hash_hex(l->token, strlen(l->token), l->token_hash);
    oc_random_hex(l->csrf, 32);
    char hours[16];
    snprintf(hours, sizeof(hours), "%d", oc_config.session_max_hours);
    tx.nsteps = 3;
    tx.steps[0].stmt = &login_clear;
    tx.steps[0].params[0] = l->acct_key;
    tx.steps[1].stmt = &login_session;
    tx.steps[1].params[0] = l->user_id;
    tx.steps[1].params[1] = l->token_hash;
    tx.steps[1].params[2] = l->csrf;
    tx.steps[1].params[3] = hours;
    tx.steps[1].params[4] = r->remote_addr;
    tx.steps[2].stmt = &me_query;
    tx.steps[2].params[0] = l->user_id;
    if (oc_db_run(r->thread->db, &tx, on_session_created, r) != 0)
        oc_respond_unavailable(r, "the database");
}

static void on_login_lookup(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    login_t *l = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    if (respond_if_throttled(r, res->results[0]))
        return;
    const PGresult *u = res->results[1];
    const char *hash = NULL;
    if (PQntuples(u) == 1) {
        oc_strlcpy(l->user_id, PQgetvalue(u, 0, 0), 36, sizeof(l->user_id));
        hash = PQgetvalue(u, 0, 1);
    }
    oc_password_verify_async(r->thread, hash, l->password, on_verified, r);
}

void oc_api_login(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"email", OC_F_STRING, 1, 3, 254},
        {"password", OC_F_STRING, 1, 1, OC_PASSWORD_MAX},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    login_t *l = calloc(1, sizeof(*l));
    r->state = l;
    r->state_free = login_free;
    const char *email = oc_json_str(r->body, "email"), *pw = oc_json_str(r->body, "password");
    oc_strlcpy(l->email, email, strlen(email), sizeof(l->email));
    oc_strlcpy(l->password, pw, strlen(pw), sizeof(l->password));
    /* The body holds the password too: drop it now rather than at the end. */
    json_object_del(r->body, "password");
    account_key(l->acct_key, sizeof(l->acct_key), l->email);
    snprintf(l->addr_key, sizeof(l->addr_key), "addr:%s", r->remote_addr);
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &login_throttle;
    tx.steps[0].params[0] = l->acct_key;
    tx.steps[0].params[1] = l->addr_key;
    tx.steps[1].stmt = &login_user;
    tx.steps[1].params[0] = l->email;
    if (oc_db_run(r->thread->db, &tx, on_login_lookup, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- logout ------------------------------------------------------------------ */

OC_DB_STMT(logout_session, 1, "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL");

static void on_logout(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    oc_auth_invalidate();
    oc_resp_header(r, "set-cookie", OC_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    oc_respond_json(r, 204, NULL);
}

void oc_api_logout(oc_req_t *r)
{
    if (oc_req_validate(r, oc_no_fields) != 0)
        return;
    if (r->auth.kind != OC_AUTH_SESSION) {
        oc_respond_error(r, 400, "not_a_session", "logout ends browser sessions; revoke API tokens instead", NULL);
        return;
    }
    const char *p[1] = {r->auth.credential_id};
    if (oc_db_exec(r->thread->db, NULL, &logout_session, p, on_logout, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- me ------------------------------------------------------------------------ */

static void on_me(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *me = oc_db_json(res->results[0], 0, 0);
    if (me == NULL) {
        oc_respond_error(r, 401, "unauthenticated", "user no longer exists", NULL);
        return;
    }
    if (r->auth.kind == OC_AUTH_SESSION) {
        json_object_set_new(me, "auth", json_string("session"));
        json_object_set_new(me, "csrf_token", json_string(r->auth.csrf));
    } else {
        json_object_set_new(me, "auth", json_string("token"));
        json_object_set_new(me, "token",
                            json_pack("{s:s, s:s, s:o}", "id", r->auth.credential_id, "role",
                                      oc_role_name(r->auth.token_role), "brand_id",
                                      r->auth.scope_brand[0] ? json_string(r->auth.scope_brand) : json_null()));
    }
    oc_respond_json(r, 200, me);
}

void oc_api_me(oc_req_t *r)
{
    const char *p[1] = {r->auth.user_id};
    if (oc_db_exec(r->thread->db, NULL, &me_query, p, on_me, r) != 0)
        oc_respond_unavailable(r, "the database");
}
