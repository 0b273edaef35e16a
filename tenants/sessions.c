/*
 * sessions.c — credential and brand look-ups for authentication, password
 * attempts, sessions, known devices, "me" (see sessions.h).
 */
#include "tenants/sessions.h"
#include "runtime/alloc.h"

#include <stdio.h>
#include <stdlib.h>

OC_DB_STMT(auth_session, 2,
           "SELECT s.id, u.id, u.portfolio_id, s.csrf,"
           " coalesce((SELECT json_agg(json_build_array(m.brand_id, m.role)) FROM memberships m"
           "           WHERE m.user_id = u.id), '[]')"
           " FROM sessions s JOIN users u ON u.id = s.user_id"
           " WHERE s.token_hash = decode($1, 'hex') AND s.revoked_at IS NULL AND s.expires_at > now()"
           "   AND s.last_seen_at > now() - make_interval(mins => $2::int) AND u.disabled_at IS NULL");
OC_DB_STMT(auth_session_touch, 1,
           "UPDATE sessions SET last_seen_at = now()"
           " WHERE token_hash = decode($1, 'hex') AND last_seen_at < now() - interval '30 seconds'");
OC_DB_STMT(auth_token, 1,
           "SELECT t.id, t.created_by, t.portfolio_id, t.brand_id, t.role,"
           " coalesce((SELECT json_agg(json_build_array(m.brand_id, m.role)) FROM memberships m"
           "           WHERE m.user_id = u.id), '[]')"
           " FROM api_tokens t JOIN users u ON u.id = t.created_by"
           " WHERE t.token_hash = decode($1, 'hex') AND t.revoked_at IS NULL AND u.disabled_at IS NULL");
OC_DB_STMT(auth_token_touch, 1,
           "UPDATE api_tokens SET last_used_at = now() WHERE token_hash = decode($1, 'hex')"
           " AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')");
OC_DB_STMT(auth_brand_dir, 1, "SELECT portfolio_id FROM brands WHERE id = $1");

int oc_sessions_lookup(oc_db_pool_t *db, const char *key_hex, int is_session, int idle_minutes, oc_db_cb cb, void *arg)
{
    oc_db_tx_t tx = {.nsteps = 2};
    char idle[16];
    snprintf(idle, sizeof(idle), "%d", idle_minutes);
    if (is_session) {
        tx.steps[0].stmt = &auth_session;
        tx.steps[0].params[0] = key_hex;
        tx.steps[0].params[1] = idle;
        tx.steps[1].stmt = &auth_session_touch;
    } else {
        tx.steps[0].stmt = &auth_token;
        tx.steps[0].params[0] = key_hex;
        tx.steps[1].stmt = &auth_token_touch;
    }
    tx.steps[1].params[0] = key_hex;
    return oc_db_run(db, &tx, cb, arg);
}

int oc_sessions_brand_portfolio(oc_db_pool_t *db, const char *bid, oc_db_cb cb, void *arg)
{
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = &auth_brand_dir;
    tx.steps[0].params[0] = bid;
    return oc_db_run(db, &tx, cb, arg);
}

/* --- signing in and out ------------------------------------------------------------------- */

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
OC_DB_STMT(logout_session, 1, "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL");

static void read_begin(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    const PGresult *pr = f == NULL ? oc_query_last(res) : NULL;
    oc_login_begin_cb cb = (oc_login_begin_cb)done;
    if (pr == NULL) {
        cb(arg, NULL, f);
        return;
    }
    oc_login_begin_t b = {.wait_s = oc_db_get_ll(pr, 0, 3, 0)};
    if (PQntuples(pr) != 1) {
        b.wait_s = b.wait_s > 0 ? b.wait_s : 1;
        b.keys = "";
    } else {
        b.password_hash = oc_db_get(pr, 0, 1);
        b.user_id = b.password_hash != NULL ? PQgetvalue(pr, 0, 0) : NULL;
        b.keys = PQgetvalue(pr, 0, 2);
    }
    cb(arg, &b, NULL);
}

void oc_sessions_login_begin(oc_thread_t *th, const char *email, const char *remote_addr, const char *device,
                             oc_login_begin_cb cb, void *arg)
{
    const char *p[] = {email, remote_addr, device};
    oc_query_typed(th, NULL, &login_begin, p, read_begin, (void (*)(void))cb, arg);
}

int oc_sessions_login_end_step(oc_db_tx_t *tx, const char *keys)
{
    return oc_query_step(tx, &login_end, &keys, 1) < 0 ? -1 : 0;
}

/* The last three steps: the session (its expiry), the device, "me". */
static json_t *read_login(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    if (res->err != NULL) {
        oc_fail_db(f, res);
        return NULL;
    }
    json_t *me = oc_db_json(res->results[res->nresults - 1], 0, 0);
    if (me == NULL) {
        oc_fail(f, OC_FAIL_INTERNAL, NULL, NULL, "session created but %s not found", what);
        return NULL;
    }
    json_object_set_new(me, "expires_at", json_string(PQgetvalue(res->results[res->nresults - 3], 0, 0)));
    return me;
}

void oc_sessions_login(oc_thread_t *th, oc_db_tx_t *tx, const oc_session_login_t *s, oc_query_cb cb, void *arg)
{
    const char *p[] = {s->user_id, s->token_hash, s->csrf, s->hours, s->remote_addr};
    oc_query_step(tx, &login_session, p, 5);
    const char *d[] = {s->user_id, s->device_hash, s->old_device_hash, s->device_secs};
    oc_query_step(tx, &login_device, d, 4);
    oc_query_step(tx, &me_query, &s->user_id, 1);
    oc_query_run(th, tx, read_login, "user", cb, arg);
}

void oc_sessions_me(oc_thread_t *th, const char *user_id, oc_query_cb cb, void *arg)
{
    oc_query_exec(th, NULL, &me_query, &user_id, oc_query_one, "user", cb, arg);
}

static json_t *read_nothing(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    (void)what;
    if (res->err != NULL) {
        oc_fail_db(f, res);
        return NULL;
    }
    return json_null();
}

void oc_sessions_end(oc_thread_t *th, const char *session_id, oc_query_cb cb, void *arg)
{
    oc_query_exec(th, NULL, &logout_session, &session_id, read_nothing, "session", cb, arg);
}
