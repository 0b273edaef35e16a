/*
 * api_tokens.c — API tokens for programs: created by a brand owner (for its
 * brand, roles up to its own) or a portfolio admin (any brand or the whole
 * portfolio), shown once, stored as SHA-256, revocable; listed with their
 * prefix and last use, never their secret.
 */
#include "server/api.h"
#include "server/auth.h"
#include "server/page.h"
#include "tenants/audit.h"
#include "tenants/identity.h"
#include "tenants/roles.h"

#include <stdlib.h>

#define TOKEN_JSON                                                                                                     \
    "json_build_object('id', t.id, 'name', t.name, 'role', t.role, 'brand_id', t.brand_id, 'prefix', t.prefix,"        \
    " 'created_at', t.created_at, 'created_by', t.created_by, 'last_used_at', t.last_used_at,"                         \
    " 'revoked', t.revoked_at IS NOT NULL)"

OC_DB_STMT(token_insert, 8,
           "INSERT INTO api_tokens AS t (id, portfolio_id, brand_id, role, name, token_hash, prefix, created_by)"
           " VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), left($7, 8), $8) RETURNING " TOKEN_JSON);

typedef struct {
    oc_page_t page;
    char id[37];
    char token[OC_TOKEN_LEN + 1];
    char hash[65];
} tok_t;

static void tok_free(void *p)
{
    sodium_memzero(p, sizeof(tok_t));
    free(p);
}

static void on_created(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    tok_t *t = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *v = oc_db_json(res->results[0], 0, 0);
    json_object_set_new(v, "token", json_string(t->token));
    oc_respond_json(r, 201, v);
}

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
    tok_t *t = calloc(1, sizeof(*t));
    r->state = t;
    r->state_free = tok_free;
    oc_uuid_v4(t->id);
    oc_token_new("oct", t->token);
    oc_token_hash_hex(t->token, strlen(t->token), t->hash);
    oc_db_tx_t tx = {.tenant = brand_id, .nsteps = 1};
    tx.steps[0].stmt = &token_insert;
    const char *p[] = {t->id,   r->portfolio, brand_id,       oc_role_name(role), oc_json_str(r->body, "name"),
                       t->hash, t->token,     r->auth.user_id};
    memcpy(tx.steps[0].params, p, sizeof(p));
    json_t *summary = json_pack("{s:s, s:s}", "name", oc_json_str(r->body, "name"), "role", oc_role_name(role));
    if (brand_id != NULL)
        oc_audit_brand(&tx, oc_req_actor(r), "token.create", "token", t->id, summary);
    else
        oc_audit_portfolio(&tx, oc_req_actor(r), "token.create", "token", t->id, summary);
    json_decref(summary);
    if (oc_db_run(r->thread->db, &tx, on_created, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_brand_token_create(oc_req_t *r)
{
    create_token(r, r->tenant);
}

void oc_api_portfolio_token_create(oc_req_t *r)
{
    create_token(r, NULL);
}

OC_DB_STMT(tokens_list, 5,
           "SELECT " TOKEN_JSON " FROM api_tokens t WHERE t.portfolio_id = $1"
           " AND (($2::uuid IS NULL AND t.brand_id IS NULL) OR t.brand_id = $2)"
           " AND ($3::text IS NULL OR (t.created_at, t.id::text) < ($3::timestamptz, $4))"
           " ORDER BY t.created_at DESC, t.id DESC LIMIT $5");

static json_t *created_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "created_at")),
                     json_string_value(json_object_get(item, "id")));
}

static void on_list(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    tok_t *t = r->state;
    oc_respond_page(r, &t->page, res, created_key);
}

static void list_tokens(oc_req_t *r, const char *brand_id)
{
    tok_t *t = calloc(1, sizeof(*t));
    r->state = t;
    r->state_free = tok_free;
    if (oc_page_parse(r, &t->page, 2) != 0)
        return;
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = &tokens_list;
    const char *p[] = {r->portfolio, brand_id, oc_page_after(&t->page, 0), oc_page_after(&t->page, 1),
                       t->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_list, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_brand_tokens(oc_req_t *r)
{
    list_tokens(r, r->tenant);
}

void oc_api_portfolio_tokens(oc_req_t *r)
{
    list_tokens(r, NULL);
}

/* Revoking twice answers the same; only the first revocation is audited. */
OC_DB_STMT(token_revoke, 6,
           "WITH t AS (UPDATE api_tokens t SET revoked_at = coalesce(o.revoked_at, now()) FROM api_tokens o"
           "           WHERE o.id = t.id AND t.id = $1 AND t.portfolio_id = $2"
           "             AND (($3::uuid IS NULL AND t.brand_id IS NULL) OR t.brand_id = $3)"
           "           RETURNING t.*, o.revoked_at IS NULL AS newly)"
           " SELECT " TOKEN_JSON ", CASE WHEN newly THEN audit_write($3, $2, $4, $5, 'token.revoke', 'token',"
           "        t.id::text, jsonb_build_object('name', t.name), $6) ELSE true END FROM t");

static void on_revoked(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    json_t *v = oc_db_json(res->results[0], 0, 0);
    if (v == NULL) {
        oc_respond_error(r, 404, "not_found", "no such token", NULL);
        return;
    }
    oc_auth_answer_revoked(r, 200, v);
}

static void revoke_token(oc_req_t *r, const char *brand_id)
{
    const char *tid = oc_req_id_param(r, "tid", "no such token");
    if (tid == NULL)
        return;
    oc_db_tx_t tx = {.tenant = brand_id, .nsteps = 1};
    tx.steps[0].stmt = &token_revoke;
    const char *p[] = {tid, r->portfolio, brand_id, oc_req_actor(r)->user, oc_req_actor(r)->token, r->request_id};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_revoked, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_brand_token_revoke(oc_req_t *r)
{
    revoke_token(r, r->tenant);
}

void oc_api_portfolio_token_revoke(oc_req_t *r)
{
    revoke_token(r, NULL);
}
