/*
 * api_auth.c — sign in, sign out, who am I.
 *
 * Every password check is an attempt counted before the check, atomically,
 * by login_begin() (migration 0020): per account, per client address, or —
 * for a browser with a known-device cookie of the account, or an address
 * that signed in to it lately — per device or (address, account) pair.
 * Past a few free attempts each further one waits longer (4 s doubling to
 * 15 minutes); an attempt while a wait runs is answered 429 with
 * Retry-After and never checked.  Unknown accounts and wrong passwords are
 * answered identically and cost the same Argon2id work (a dummy hash).  A
 * session is a random token in an HttpOnly, SameSite=Lax cookie, stored
 * hashed, with idle and absolute expiry; its CSRF token comes back in the
 * body and must accompany every write.  A successful sign-in also sets the
 * known-device cookie (30 days, sent to /api/v1/auth only).
 */
#include "server/api.h"
#include "server/auth.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/metrics.h"
#include "tenants/identity.h"
#include "tenants/roles.h"

#include <stdio.h>
#include <stdlib.h>

#define DEVICE_COOKIE    "oc_device"
#define DEVICE_MAX_AGE_S (30 * 24 * 3600)

static oc_metric_t m_login_ok = {"onecount_login_attempts_total", "password checks and refused sign-in attempts",
                                 "result=\"ok\"", OC_METRIC_COUNTER};
static oc_metric_t m_login_failed = {"onecount_login_attempts_total", "", "result=\"failed\"", OC_METRIC_COUNTER};
static oc_metric_t m_login_throttled = {"onecount_login_attempts_total", "", "result=\"throttled\"", OC_METRIC_COUNTER};

void oc_auth_login_init(void)
{
    oc_metrics_register(&m_login_ok);
    oc_metrics_register(&m_login_failed);
    oc_metrics_register(&m_login_throttled);
}

typedef struct {
    char email[256];
    char password[OC_PASSWORD_MAX + 1];
    char device[65]; /* SHA-256 of the known-device cookie presented, or "" */
    char keys[OC_LOGIN_KEYS_MAX];
    char user_id[37];
    char token[OC_TOKEN_LEN + 1], token_hash[65], csrf[65];
    char dev_token[OC_TOKEN_LEN + 1], dev_hash[65];
} login_t;

static void login_free(void *p)
{
    login_t *l = p;
    sodium_memzero(l, sizeof(*l));
    free(l);
}

OC_DB_STMT(login_begin, 3,
           "SELECT user_id, password_hash, keys::text, wait_s FROM login_begin($1, $2, decode(nullif($3, ''), 'hex'))");
OC_DB_STMT(login_end, 1, "SELECT login_end($1::text[])");
OC_DB_STMT(login_device, 4,
           "WITH old AS (DELETE FROM login_devices WHERE token_hash = decode(nullif($3, ''), 'hex') AND user_id = $1)"
           " INSERT INTO login_devices (token_hash, user_id, expires_at)"
           " VALUES (decode($2, 'hex'), $1, now() + make_interval(secs => $4::int))");
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

static void set_cookie(oc_req_t *r, const char *name, const char *value, const char *attrs, int max_age)
{
    char cookie[256];
    snprintf(cookie, sizeof(cookie), "%s=%s; %s; HttpOnly; Max-Age=%d%s", name, value, attrs, max_age,
             oc_config.cookie_secure ? "; Secure" : "");
    oc_resp_header(r, "set-cookie", cookie);
}

/* The hash of the known-device cookie the request carries, or "". */
static void device_of(oc_req_t *r, char out[65])
{
    size_t len = 0;
    const char *v = oc_auth_cookie(r, DEVICE_COOKIE, &len);
    out[0] = '\0';
    if (v != NULL && oc_token_well_formed(v, len, "ocd"))
        oc_token_hash_hex(v, len, out);
}

static void respond_throttled(oc_req_t *r, long long wait_s)
{
    char ra[24];
    snprintf(ra, sizeof(ra), "%lld", wait_s > 0 ? wait_s : 1);
    oc_metric_add(&m_login_throttled, 1);
    oc_resp_header(r, "retry-after", ra);
    oc_respond_error(r, 429, "throttled", "too many failed sign-ins; wait before trying again", NULL);
}

/* Answers 429 when login_begin's row says the attempt must wait; else
 * copies the keys it was counted on and returns 0. */
static int begin_result(oc_req_t *r, const PGresult *pr, char keys[OC_LOGIN_KEYS_MAX])
{
    long long wait_s = oc_db_get_ll(pr, 0, 3, 0);
    if (PQntuples(pr) != 1 || wait_s > 0) {
        respond_throttled(r, wait_s);
        return 1;
    }
    const char *k = PQgetvalue(pr, 0, 2);
    oc_strlcpy(keys, k, strlen(k), OC_LOGIN_KEYS_MAX);
    return 0;
}

typedef struct {
    oc_req_t *r;
    char *keys;
    void (*cb)(oc_req_t *r);
} attempt_t;

static void on_attempt(void *arg, const oc_db_result_t *res)
{
    attempt_t *a = arg;
    oc_req_t *r = a->r;
    char *keys = a->keys;
    void (*cb)(oc_req_t * r) = a->cb;
    free(a);
    if (res->err != NULL)
        oc_respond_db_error(r, res);
    else if (begin_result(r, res->results[0], keys) == 0)
        cb(r);
}

void oc_login_attempt(oc_req_t *r, const char *email, char keys[OC_LOGIN_KEYS_MAX], void (*cb)(oc_req_t *r))
{
    char device[65];
    device_of(r, device);
    attempt_t *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        oc_respond_unavailable(r, "memory");
        return;
    }
    a->r = r;
    a->keys = keys;
    a->cb = cb;
    const char *p[] = {email, r->remote_addr, device};
    if (oc_db_exec(r->thread->db, NULL, &login_begin, p, on_attempt, a) != 0) {
        free(a);
        oc_respond_unavailable(r, "the database");
    }
}

void oc_login_failed(oc_req_t *r, const char *message, const char *field)
{
    oc_metric_add(&m_login_failed, 1);
    oc_respond_error(r, 401, "invalid_credentials", message, field);
}

int oc_login_end_step(oc_db_tx_t *tx, const char *keys)
{
    if (tx->nsteps >= (int)OC_ARRAY_SIZE(tx->steps))
        return OC_EINVAL;
    oc_metric_add(&m_login_ok, 1);
    tx->steps[tx->nsteps].stmt = &login_end;
    tx->steps[tx->nsteps].params[0] = keys;
    tx->nsteps++;
    return 0;
}

static void on_session_created(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    login_t *l = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *me = oc_db_json(res->results[3], 0, 0);
    if (me == NULL) {
        oc_respond_error(r, 500, "internal", "session created but user not found", NULL);
        return;
    }
    json_object_set_new(me, "csrf_token", json_string(l->csrf));
    json_object_set_new(me, "expires_at", json_string(PQgetvalue(res->results[1], 0, 0)));
    json_object_set_new(me, "auth", json_string("session"));
    set_cookie(r, OC_SESSION_COOKIE, l->token, "Path=/; SameSite=Lax", oc_config.session_max_hours * 3600);
    set_cookie(r, DEVICE_COOKIE, l->dev_token, "Path=/api/v1/auth; SameSite=Strict", DEVICE_MAX_AGE_S);
    oc_log_fields(OC_LOG_INFO, "login", json_pack("{s:s, s:s}", "user", l->user_id, "request_id", r->request_id));
    oc_respond_json(r, 200, me);
}

static void on_verified(void *arg, int ok)
{
    oc_req_t *r = arg;
    login_t *l = r->state;
    oc_db_tx_t tx = {0};
    if (!ok) {
        oc_login_failed(r, "invalid email or password", NULL);
        return;
    }
    oc_token_new("ocs", l->token);
    oc_token_hash_hex(l->token, strlen(l->token), l->token_hash);
    oc_random_hex(l->csrf, 32);
    oc_token_new("ocd", l->dev_token);
    oc_token_hash_hex(l->dev_token, strlen(l->dev_token), l->dev_hash);
    char hours[16], dev_age[16];
    snprintf(hours, sizeof(hours), "%d", oc_config.session_max_hours);
    snprintf(dev_age, sizeof(dev_age), "%d", DEVICE_MAX_AGE_S);
    oc_login_end_step(&tx, l->keys);
    tx.steps[1].stmt = &login_session;
    tx.steps[1].params[0] = l->user_id;
    tx.steps[1].params[1] = l->token_hash;
    tx.steps[1].params[2] = l->csrf;
    tx.steps[1].params[3] = hours;
    tx.steps[1].params[4] = r->remote_addr;
    tx.steps[2].stmt = &login_device;
    tx.steps[2].params[0] = l->user_id;
    tx.steps[2].params[1] = l->dev_hash;
    tx.steps[2].params[2] = l->device;
    tx.steps[2].params[3] = dev_age;
    tx.steps[3].stmt = &me_query;
    tx.steps[3].params[0] = l->user_id;
    tx.nsteps = 4;
    if (oc_db_run(r->thread->db, &tx, on_session_created, r) != 0)
        oc_respond_unavailable(r, "the database");
}

static void on_login_begin(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    login_t *l = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    const PGresult *pr = res->results[0];
    if (begin_result(r, pr, l->keys) != 0)
        return;
    const char *hash = oc_db_get(pr, 0, 1);
    if (hash != NULL)
        oc_strlcpy(l->user_id, PQgetvalue(pr, 0, 0), 36, sizeof(l->user_id));
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
    if (l == NULL) {
        oc_respond_unavailable(r, "memory");
        return;
    }
    r->state = l;
    r->state_free = login_free;
    const char *email = oc_json_str(r->body, "email"), *pw = oc_json_str(r->body, "password");
    oc_strlcpy(l->email, email, strlen(email), sizeof(l->email));
    oc_strlcpy(l->password, pw, strlen(pw), sizeof(l->password));
    /* The body holds the password too: drop it now rather than at the end. */
    json_object_del(r->body, "password");
    device_of(r, l->device);
    const char *p[] = {l->email, r->remote_addr, l->device};
    if (oc_db_exec(r->thread->db, NULL, &login_begin, p, on_login_begin, r) != 0)
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
    oc_resp_header(r, "set-cookie", OC_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    oc_auth_answer_revoked(r, 204, NULL);
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
