/*
 * sessions.c — credential and brand look-ups for authentication (see sessions.h).
 */
#include "tenants/sessions.h"

#include <stdio.h>

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
