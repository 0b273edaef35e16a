/*
 * connections.c — connections: the SQL that keeps them and their sealed
 * credentials (see connections.h).
 */
#include "tenants/connections.h"
#include "tenants/listings.h"
#include "tenants/vault.h"
#include "runtime/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_JSON                                                                                                      \
    "json_build_object('id', c.id, 'kind', c.kind, 'name', c.name, 'base_url', c.base_url, 'settings', c.settings,"    \
    " 'credentials', json_build_object('set', c.credentials IS NOT NULL, 'fields', c.credentials_fields,"              \
    "   'updated_at', c.credentials_updated_at),"                                                                      \
    " 'status', c.status, 'status_detail', c.status_detail, 'rules', c.rules, 'rate_scale', c.rate_scale,"             \
    " 'push_lag_ms', c.push_lag_ms, 'ingest_lag_ms', c.ingest_lag_ms, 'created_at', c.created_at,"                     \
    " 'push_lag', json_build_object('p50_ms', c.push_lag_p50_ms, 'p90_ms', c.push_lag_p90_ms,"                         \
    "   'p99_ms', c.push_lag_p99_ms, 'samples', c.push_lag_samples),"                                                  \
    " 'account', CASE WHEN c.account_verified_at IS NOT NULL THEN c.account"                                           \
    "   || jsonb_build_object('kind', c.kind, 'verified_at', c.account_verified_at) END,"                              \
    " 'updated_at', c.updated_at,"                                                                                     \
    " 'listings', (SELECT count(*) FROM listings l WHERE l.tenant_id = c.tenant_id AND l.connection_id = c.id),"       \
    " 'out_of_sync', (SELECT count(*) FROM listings l WHERE l.tenant_id = c.tenant_id AND l.connection_id = c.id"      \
    "   AND l.desired_version > l.pushed_version))"

OC_DB_STMT(conns_list, 4,
           "SELECT " CONN_JSON " FROM channel_connections c WHERE c.tenant_id = $1"
           " AND ($2::text IS NULL OR (c.name, c.id::text) > ($2, $3)) ORDER BY c.name, c.id LIMIT $4");
OC_DB_STMT(conn_get, 2, "SELECT " CONN_JSON " FROM channel_connections c WHERE c.tenant_id = $1 AND c.id = $2::uuid");

/* How an operation on a connection answers: the connection, or what its refusals mean. */
static const oc_channels_refusals_t r_connection = {0};
static const oc_query_how_t a_connection = {
    .what = "connection", .refuse = oc_channels_refuse, .refuse_ctx = &r_connection};

void oc_connections_list(oc_thread_t *th, const char *tenant, const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    oc_query_list(th, tenant, &conns_list, &tenant, 1, pg, 2, "connection", cb, arg);
}

/* Ends `tx` with connection `id` as it is now, and runs it. */
static void answer_connection(oc_thread_t *th, oc_db_tx_t *tx, const char *id, oc_query_cb cb, void *arg)
{
    tx->steps[tx->nsteps].stmt = &conn_get;
    tx->steps[tx->nsteps].params[0] = tx->tenant;
    tx->steps[tx->nsteps++].params[1] = id;
    oc_query_answer(th, tx, &a_connection, cb, arg);
}

void oc_connections_get(oc_thread_t *th, const char *tenant, const char *id, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant};
    answer_connection(th, &tx, id, cb, arg);
}

/* --- writing: credentials sealed first, then one transaction --------------------------------- */

OC_DB_STMT(conn_insert, 10,
           "INSERT INTO channel_connections (tenant_id, id, kind, name, base_url, settings, credentials,"
           " credentials_fields, credentials_updated_at, rules, rate_scale, account, account_keys, account_verified_at)"
           " VALUES ($1, $2::uuid, $3, $4, $5, $6::jsonb, decode($7, 'base64'),"
           "  ARRAY(SELECT jsonb_object_keys($8::jsonb)), now(), '{}', 1, $9::jsonb, $10::text[],"
           "  CASE WHEN $10::text[] IS NOT NULL THEN now() END)");
OC_DB_STMT(conn_set_rules, 4,
           "UPDATE channel_connections SET rules = coalesce($3::jsonb, rules),"
           " rate_scale = coalesce($4::float8, rate_scale) WHERE tenant_id = $1 AND id = $2::uuid");
/* PATCH: name, base_url, settings, status (active/paused), rules, rate_scale. */
OC_DB_STMT(conn_update, 11,
           "WITH c AS (UPDATE channel_connections c SET name = coalesce($3, c.name),"
           "   base_url = coalesce($4, c.base_url), settings = coalesce($5::jsonb, c.settings),"
           "   status = coalesce($6, c.status), rules = coalesce($7::jsonb, c.rules),"
           "   rate_scale = coalesce($8::float8, c.rate_scale), updated_at = now()"
           "   FROM channel_connections o WHERE o.tenant_id = c.tenant_id AND o.id = c.id"
           "   AND c.tenant_id = $1 AND c.id = $2::uuid"
           "   RETURNING c.*, o.rules AS old_rules, o.status AS old_status, o.name AS old_name)"
           " SELECT " CONN_JSON ", audit_write($1, NULL, $10::uuid, $11::uuid, 'connection.update', 'connection',"
           "   c.id::text,"
           "   jsonb_build_object('before', jsonb_build_object('name', c.old_name, 'status', c.old_status, 'rules',"
           "   c.old_rules), 'after', jsonb_build_object('name', c.name, 'status', c.status, 'rules', c.rules)), $9)"
           " FROM c");
/* Credentials replaced whole, sealed again. */
OC_DB_STMT(conn_set_credentials, 5,
           "UPDATE channel_connections SET credentials = decode($3, 'base64'),"
           " credentials_fields = ARRAY(SELECT jsonb_object_keys($4::jsonb)), credentials_updated_at = now(),"
           " status = 'active', status_detail = NULL WHERE tenant_id = $1 AND id = $2::uuid"
           " AND $5::text IS NOT NULL");
/* The account as the channel confirmed it with the new settings or credentials; NULL keys when it did not
 * answer (the worker confirms it on its first call).  Before the credentials step, which may activate. */
OC_DB_STMT(conn_set_account, 4,
           "UPDATE channel_connections SET account = $3::jsonb, account_keys = $4::text[],"
           " account_verified_at = CASE WHEN $4::text[] IS NOT NULL THEN now() END"
           " WHERE tenant_id = $1 AND id = $2::uuid");
OC_DB_STMT(conn_delete, 5,
           "WITH c AS (DELETE FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid RETURNING id, name, kind)"
           " SELECT json_build_object('id', id, 'deleted', true), audit_write($1, NULL, $4::uuid, $5::uuid,"
           "   'connection.delete', 'connection', id::text, jsonb_build_object('name', name, 'kind', kind), $3)"
           " FROM c");

typedef struct write write_t;
/* Builds and runs the transaction once the credentials are sealed (`sealed` NULL: none given). */
typedef void (*write_fn)(write_t *w, const char *sealed);

/* A write waiting for the brand key: copies of what it needs (the secrets wiped when it ends). */
struct write {
    oc_thread_t *th;
    oc_actor_t actor;
    char id[37];
    json_t *fields;      /* the caller's, referenced */
    json_t *secrets;     /* a copy, wiped */
    json_t *cred_fields; /* {name: true} for each credential given, or NULL */
    json_t *identity;
    char *base_url;
    int identified;
    write_fn run;
    oc_query_cb cb;
    void *arg;
};

static void write_free(write_t *w)
{
    json_decref(w->fields);
    oc_vault_wipe_json(w->secrets);
    json_decref(w->cred_fields);
    json_decref(w->identity);
    free(w->base_url);
    free(w);
}

static write_t *write_new(oc_thread_t *th, const oc_actor_t *a, const char *id, const oc_connection_spec_t *c,
                          write_fn run, oc_query_cb cb, void *arg)
{
    write_t *w = oc_calloc(1, sizeof(*w));
    *w = (write_t){.th = th,
                   .actor = *a,
                   .fields = json_incref((json_t *)c->fields),
                   .identity = json_incref((json_t *)c->identity),
                   .identified = c->identified,
                   .run = run,
                   .cb = cb,
                   .arg = arg};
    oc_strlcpy(w->id, id, strlen(id), sizeof(w->id));
    if (c->base_url != NULL)
        w->base_url = oc_strdup(c->base_url);
    if (c->secrets != NULL) {
        w->secrets = json_deep_copy(c->secrets);
        w->cred_fields = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(w->secrets, k, v)
        {
            json_object_set_new(w->cred_fields, k, json_true());
        }
    }
    return w;
}

/* Ends w without running it: cb hears why. */
static void write_fail(write_t *w, oc_fail_t *f)
{
    w->cb(w->arg, NULL, f);
    oc_fail_clear(f);
    write_free(w);
}

static void vault_unavailable(write_t *w, const char *why)
{
    oc_fail_t f = {0};
    oc_fail(&f, OC_FAIL_UNAVAILABLE, "vault_unavailable", NULL, "%s", why);
    write_fail(w, &f);
}

static void on_brand_key(void *arg, const char *err, const unsigned char *dek)
{
    write_t *w = arg;
    if (dek == NULL) {
        vault_unavailable(w, err != NULL ? err : "the brand key is unavailable");
        return;
    }
    char *plain = json_dumps(w->secrets, JSON_COMPACT);
    char *sealed =
        plain != NULL ? oc_vault_seal(dek, w->actor.tenant, w->id, "credentials", plain, strlen(plain)) : NULL;
    if (plain != NULL)
        sodium_memzero(plain, strlen(plain));
    free(plain);
    if (sealed == NULL) {
        oc_fail_t f = {0};
        oc_fail(&f, OC_FAIL_INTERNAL, NULL, NULL, "the credentials could not be sealed");
        write_fail(w, &f);
        return;
    }
    w->run(w, sealed);
    free(sealed);
    write_free(w);
}

/* Seals w's secrets, when it has any, and runs it; cb hears how it ended.  Takes w. */
static void seal_and_run(write_t *w)
{
    if (w->secrets == NULL) {
        w->run(w, NULL);
        write_free(w);
        return;
    }
    if (oc_channels_brand_key(w->th->db, w->actor.tenant, on_brand_key, w) != 0)
        vault_unavailable(w, "the credential vault has no key; set ONECOUNT_MASTER_KEY or create the key file");
}

/* The parameters a write takes from w's fields: JSON members as text (malloc'd, or NULL when absent). */
typedef struct {
    char *settings, *rules, *cred_fields, *account, *keys;
    char scale[32];
} write_params_t;

static char *member_json(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    return v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
}

static void params_make(const write_t *w, write_params_t *p)
{
    *p = (write_params_t){.settings = member_json(w->fields, "settings"), .rules = member_json(w->fields, "rules")};
    if (w->cred_fields != NULL)
        p->cred_fields = json_dumps(w->cred_fields, JSON_COMPACT);
    if (w->identity != NULL)
        oc_channels_account_params(w->identity, &p->account, &p->keys);
    const json_t *scale = json_object_get(w->fields, "rate_scale");
    if (json_is_number(scale))
        snprintf(p->scale, sizeof(p->scale), "%g", json_number_value(scale));
}

static void params_free(write_params_t *p)
{
    free(p->settings);
    free(p->rules);
    free(p->cred_fields);
    free(p->account);
    free(p->keys);
}

/* Adds the audit record of `action` on w's connection, with `summary` (stolen). */
static void audit(oc_db_tx_t *tx, const write_t *w, const char *action, json_t *summary)
{
    oc_audit_brand(tx, &w->actor, action, "connection", w->id, summary);
    json_decref(summary);
}

/* Ends `tx` with the connection as it is then and runs it; frees `wp`. */
static void finish(write_t *w, oc_db_tx_t *tx, write_params_t *wp)
{
    answer_connection(w->th, tx, w->id, w->cb, w->arg);
    params_free(wp);
}

static void run_create(write_t *w, const char *sealed)
{
    const char *tenant = w->actor.tenant, *kind = oc_json_str(w->fields, "kind");
    write_params_t wp;
    params_make(w, &wp);
    oc_db_tx_t tx = {.tenant = tenant, .nsteps = 2};
    tx.steps[0].stmt = &conn_insert;
    const char *p[] = {tenant,      w->id,       kind,   oc_json_str(w->fields, "name"),
                       w->base_url, wp.settings, sealed, wp.cred_fields,
                       wp.account,  wp.keys};
    memcpy(tx.steps[0].params, p, sizeof(p));
    tx.steps[1].stmt = &conn_set_rules;
    const char *q[] = {tenant, w->id, wp.rules, wp.scale[0] ? wp.scale : NULL};
    memcpy(tx.steps[1].params, q, sizeof(q));
    audit(&tx, w, "connection.create",
          json_pack("{s:s, s:s, s:O}", "kind", kind, "name", oc_json_str(w->fields, "name"), "credential_fields",
                    w->cred_fields));
    finish(w, &tx, &wp);
}

void oc_connections_create(oc_thread_t *th, const oc_actor_t *a, const char *id, const oc_connection_spec_t *c,
                           oc_query_cb cb, void *arg)
{
    seal_and_run(write_new(th, a, id, c, run_create, cb, arg));
}

static void run_update(write_t *w, const char *sealed)
{
    const char *tenant = w->actor.tenant;
    write_params_t wp;
    params_make(w, &wp);
    oc_db_tx_t tx = {.tenant = tenant};
    if (w->identified) {
        tx.steps[tx.nsteps].stmt = &conn_set_account;
        const char *p[] = {tenant, w->id, wp.account, wp.keys};
        memcpy(tx.steps[tx.nsteps++].params, p, sizeof(p));
    }
    if (sealed != NULL) {
        tx.steps[tx.nsteps].stmt = &conn_set_credentials;
        const char *p[] = {tenant, w->id, sealed, wp.cred_fields, "set"};
        memcpy(tx.steps[tx.nsteps++].params, p, sizeof(p));
        audit(&tx, w, "connection.credentials", json_pack("{s:O}", "credential_fields", w->cred_fields));
    }
    tx.steps[tx.nsteps].stmt = &conn_update;
    const char *p[] = {tenant,
                       w->id,
                       oc_json_str(w->fields, "name"),
                       w->base_url,
                       wp.settings,
                       oc_json_str(w->fields, "status"),
                       wp.rules,
                       wp.scale[0] ? wp.scale : NULL,
                       w->actor.request_id,
                       w->actor.user,
                       w->actor.token};
    memcpy(tx.steps[tx.nsteps++].params, p, sizeof(p));
    /* Rules changed what channels may show: recompute (after the update). */
    oc_listings_refresh_brand_step(&tx);
    finish(w, &tx, &wp);
}

void oc_connections_update(oc_thread_t *th, const oc_actor_t *a, const char *id, const oc_connection_spec_t *c,
                           oc_query_cb cb, void *arg)
{
    seal_and_run(write_new(th, a, id, c, run_update, cb, arg));
}

void oc_connections_delete(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = a->tenant};
    oc_channels_audited_step(&tx, a, &conn_delete, id);
    oc_query_answer(th, &tx, &a_connection, cb, arg);
}

/* --- a simulator's connection ----------------------------------------------------------------- */

OC_DB_STMT(conn_sim, 2,
           "SELECT base_url, settings->>'sim_account' FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid");

typedef struct {
    oc_connections_sim_cb cb;
    void *arg;
} sim_t;

static void on_sim(void *arg, const oc_db_result_t *res)
{
    sim_t *s = arg;
    oc_fail_t f = {0};
    const PGresult *row = oc_fail_one_row(&f, res, "connection");
    if (row == NULL)
        s->cb(s->arg, &f, NULL, NULL);
    else
        s->cb(s->arg, NULL, oc_db_get(row, 0, 0), oc_db_get(row, 0, 1));
    oc_fail_clear(&f);
    free(s);
}

int oc_connections_sim_target(oc_db_pool_t *db, const char *tenant, const char *id, oc_fail_t *f,
                              oc_connections_sim_cb cb, void *arg)
{
    sim_t *s = oc_malloc(sizeof(*s));
    *s = (sim_t){cb, arg};
    const char *p[] = {tenant, id};
    if (oc_db_exec(db, tenant, &conn_sim, p, on_sim, s) != 0) {
        free(s);
        return oc_fail_unavailable(f, "the database");
    }
    return 0;
}
