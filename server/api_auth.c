/*
 * api_auth.c — sign in, sign out, who am I.
 *
 * Every password check is an attempt counted before the check, atomically,
 * by login_begin() (migration 0020; tenants/sessions.h): per account, per client address, or —
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
#include "runtime/alloc.h"
#include "server/auth.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/metrics.h"
#include "tenants/identity.h"
#include "tenants/roles.h"
#include "tenants/sessions.h"

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

/* Answers 429 when the attempt must wait; else copies the keys it was counted on and returns 0. */
static int begin_result(oc_req_t *r, const oc_login_begin_t *b, const oc_fail_t *f, char keys[OC_LOGIN_KEYS_MAX])
{
    if (f != NULL) {
        oc_respond_fail(r, f);
        return 1;
    }
    if (b->wait_s > 0) {
        respond_throttled(r, b->wait_s);
        return 1;
    }
    oc_strlcpy(keys, b->keys, strlen(b->keys), OC_LOGIN_KEYS_MAX);
    return 0;
}

typedef struct {
    oc_req_t *r;
    char *keys;
    void (*cb)(oc_req_t *r);
} attempt_t;

static void on_attempt(void *arg, const oc_login_begin_t *b, const oc_fail_t *f)
{
    attempt_t a = *(attempt_t *)arg;
    free(arg);
    if (begin_result(a.r, b, f, a.keys) == 0)
        a.cb(a.r);
}

void oc_login_attempt(oc_req_t *r, const char *email, char keys[OC_LOGIN_KEYS_MAX], void (*cb)(oc_req_t *r))
{
    char device[65];
    device_of(r, device);
    attempt_t *a = oc_calloc(1, sizeof(*a));
    *a = (attempt_t){r, keys, cb};
    oc_sessions_login_begin(r->thread, email, r->remote_addr, device, on_attempt, a);
}

void oc_login_failed(oc_req_t *r, const char *message, const char *field)
{
    oc_metric_add(&m_login_failed, 1);
    oc_respond_error(r, 401, "invalid_credentials", message, field);
}

int oc_login_end_step(oc_db_tx_t *tx, const char *keys)
{
    if (oc_sessions_login_end_step(tx, keys) != 0)
        return OC_EINVAL;
    oc_metric_add(&m_login_ok, 1);
    return 0;
}

static void on_session_created(void *arg, json_t *me, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    login_t *l = r->state;
    if (f != NULL) {
        oc_respond_fail(r, f);
        return;
    }
    json_object_set_new(me, "csrf_token", json_string(l->csrf));
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
    oc_session_login_t s = {.user_id = l->user_id,
                            .token_hash = l->token_hash,
                            .csrf = l->csrf,
                            .hours = hours,
                            .remote_addr = r->remote_addr,
                            .device_hash = l->dev_hash,
                            .old_device_hash = l->device,
                            .device_secs = dev_age};
    oc_sessions_login(r->thread, &tx, &s, on_session_created, r);
}

static void on_login_begin(void *arg, const oc_login_begin_t *b, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    login_t *l = r->state;
    if (begin_result(r, b, f, l->keys) != 0)
        return;
    if (b->user_id != NULL)
        oc_strlcpy(l->user_id, b->user_id, 36, sizeof(l->user_id));
    oc_password_verify_async(r->thread, b->password_hash, l->password, on_verified, r);
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
    login_t *l = oc_calloc(1, sizeof(*l));
    r->state = l;
    r->state_free = login_free;
    const char *email = oc_json_str(r->body, "email"), *pw = oc_json_str(r->body, "password");
    oc_strlcpy(l->email, email, strlen(email), sizeof(l->email));
    oc_strlcpy(l->password, pw, strlen(pw), sizeof(l->password));
    /* The body holds the password too: drop it now rather than at the end. */
    json_object_del(r->body, "password");
    device_of(r, l->device);
    oc_sessions_login_begin(r->thread, l->email, r->remote_addr, l->device, on_login_begin, r);
}

/* --- logout ------------------------------------------------------------------ */

static void on_logout(void *arg, json_t *v, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    json_decref(v);
    if (f != NULL) {
        oc_respond_fail(r, f);
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
    oc_sessions_end(r->thread, r->auth.credential_id, on_logout, r);
}

/* --- me ------------------------------------------------------------------------ */

static void on_me(void *arg, json_t *me, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    if (f != NULL && f->kind == OC_FAIL_NOT_FOUND) {
        oc_respond_error(r, 401, "unauthenticated", "user no longer exists", NULL);
        return;
    }
    if (f != NULL) {
        oc_respond_fail(r, f);
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
    oc_sessions_me(r->thread, r->auth.user_id, on_me, r);
}
