/*
 * api_channels.c — channel connections (credentials write-only), the
 * brand's cross-channel rules, and listings: which SKU is which listing on
 * which connection, and what quantity each channel may show and why.
 */
#include "adapters/adapter.h"
#include "adapters/chttp.h"
#include "server/api.h"
#include "server/page.h"
#include "tenants/audit.h"
#include "adapters/sync/conn.h"
#include "tenants/channels.h"
#include "tenants/holds.h"
#include "tenants/vault.h"
#include "runtime/text.h"

#include <stdio.h>
#include <stdlib.h>

#define CONN_JSON                                                                                                      \
    "json_build_object('id', c.id, 'kind', c.kind, 'name', c.name, 'base_url', c.base_url, 'settings', c.settings,"    \
    " 'credentials', json_build_object('set', c.credentials IS NOT NULL, 'fields', c.credentials_fields,"              \
    "   'updated_at', c.credentials_updated_at),"                                                                      \
    " 'status', c.status, 'status_detail', c.status_detail, 'rules', c.rules, 'rate_scale', c.rate_scale,"             \
    " 'push_lag_ms', c.push_lag_ms, 'ingest_lag_ms', c.ingest_lag_ms, 'created_at', c.created_at,"                     \
    " 'account', CASE WHEN c.account_verified_at IS NOT NULL THEN c.account"                                           \
    "   || jsonb_build_object('kind', c.kind, 'verified_at', c.account_verified_at) END,"                              \
    " 'updated_at', c.updated_at,"                                                                                     \
    " 'listings', (SELECT count(*) FROM listings l WHERE l.tenant_id = c.tenant_id AND l.connection_id = c.id),"       \
    " 'out_of_sync', (SELECT count(*) FROM listings l WHERE l.tenant_id = c.tenant_id AND l.connection_id = c.id"      \
    "   AND l.desired_version > l.pushed_version))"

#define LISTING_JSON                                                                                                   \
    "json_build_object('id', l.id, 'connection_id', l.connection_id, 'connection', c.name, 'kind', c.kind,"            \
    " 'sku', k.code, 'external_sku', l.external_sku, 'item_ref', l.item_ref, 'location_ref', l.location_ref,"          \
    " 'rules', l.rules, 'effective_rules', c.rules || l.rules, 'state', l.state, 'desired_qty', l.desired_qty,"        \
    " 'why', l.desired_reason, 'desired_version', l.desired_version, 'desired_at', l.desired_at,"                      \
    " 'pushed_qty', l.pushed_qty, 'pushed_version', l.pushed_version, 'pushed_at', l.pushed_at,"                       \
    " 'push_pending', l.push_pending, 'seen_qty', l.seen_qty, 'seen_at', l.seen_at,"                                   \
    " 'in_sync', l.desired_version <= l.pushed_version, 'last_error', l.last_error, 'attempts', l.attempts)"

typedef void (*after_identify_fn)(oc_req_t *r);

typedef struct {
    oc_page_t page;
    int status;
    const char *not_found;
    /* creating a connection */
    char id[37];
    json_t *secrets;
    json_t *fields;
    int answer_step;      /* which step's first row answers; 0 = the last */
    const char *fk_field; /* the field a foreign-key violation names; NULL = connection_id */
    int touches_stock;    /* a new listing may take in parked order lines: tell the hold gate first */
    json_t *answer;
    /* testing a connection */
    oc_channel_conn_t *conn;
    uint64_t started_ms;
    /* the account the channel confirmed (create, update, test): tenants/channels.h */
    json_t *identity;
    int identified;         /* update: the connection's account was asked again (identity NULL: no answer) */
    after_identify_fn then; /* what runs once the channel answered (or could not be asked) */
} ch_t;

static void ch_free(void *p)
{
    ch_t *c = p;
    oc_vault_wipe_json(c->secrets);
    json_decref(c->fields);
    json_decref(c->answer);
    json_decref(c->identity);
    oc_conn_free(c->conn);
    free(c);
}

static ch_t *state(oc_req_t *r)
{
    ch_t *c = calloc(1, sizeof(*c));
    r->state = c;
    r->state_free = ch_free;
    return c;
}

static void respond_one(void *arg)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    oc_respond_json(r, st->status ? st->status : 200, json_incref(st->answer));
}

static void on_one(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    if (res->err != NULL) {
        if (oc_channels_is_duplicate(res)) {
            oc_respond_error(r, 409, "duplicate_account", oc_channels_duplicate_message(res), NULL);
            return;
        }
        if (strcmp(res->sqlstate, "23505") == 0) {
            oc_respond_error(r, 409, "conflict",
                             st->not_found && strstr(st->not_found, "listing")
                                 ? "this SKU or external SKU is already listed on the connection"
                                 : "a connection with this name already exists",
                             st->not_found && strstr(st->not_found, "listing") ? "external_sku" : "name");
            return;
        }
        if (strcmp(res->sqlstate, "23503") == 0) {
            oc_respond_error(r, 422, "invalid", "the connection does not exist in this brand",
                             st->fk_field != NULL ? st->fk_field : "connection_id");
            return;
        }
        oc_respond_db_error(r, res);
        return;
    }
    st->answer = oc_db_json(res->results[st->answer_step > 0 ? st->answer_step - 1 : res->nresults - 1], 0, 0);
    if (st->answer == NULL) {
        oc_respond_error(r, 404, "not_found", st->not_found ? st->not_found : "no such connection", NULL);
        return;
    }
    if (st->touches_stock)
        oc_holds_publish_touched(r->thread->redis, r->tenant, res, respond_one, r);
    else
        respond_one(r);
}

/* --- rules --------------------------------------------------------------------- */

/* A rules object: buffer (units or "auto"), share (0..100), cap (null: none), floor. */
static int buffer_ok(const json_t *v)
{
    return (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 1000000000) ||
                   (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0)
               ? 0
               : -1;
}

static const oc_field_t rule_fields[] = {
    {"buffer", OC_F_ANY, 0, .message = "buffer is a number of units or \"auto\"", .check = buffer_ok},
    {"share", OC_F_NUMBER, 0, 0, 100, .message = "share is a percentage from 0 to 100"},
    {"cap", OC_F_INT, OC_NULLABLE, 0, 1000000000, .message = "cap is a whole number of units, or null for none"},
    {"floor", OC_F_INT, 0, 0, 1000000000, .message = "floor is a whole number of units"},
    {NULL},
};

/* Settings are the adapter's to check (adapters/README.md lists them); none of them is ever null. */
static int settings_ok(oc_req_t *r, json_t *settings)
{
    const char *k;
    json_t *v;
    json_object_foreach(settings, k, v)
    {
        if (json_is_null(v)) {
            char field[80], msg[120];
            snprintf(field, sizeof(field), "settings.%s", k);
            snprintf(msg, sizeof(msg), "%s must not be null: leave it out for the default", k);
            oc_respond_error(r, 422, "invalid", msg, field);
            return 0;
        }
    }
    return 1;
}

/* --- connections ------------------------------------------------------------------- */

OC_DB_STMT(conns_list, 4,
           "SELECT " CONN_JSON " FROM channel_connections c WHERE c.tenant_id = $1"
           " AND ($2::text IS NULL OR (c.name, c.id::text) > ($2, $3)) ORDER BY c.name, c.id LIMIT $4");
OC_DB_STMT(conn_get, 2, "SELECT " CONN_JSON " FROM channel_connections c WHERE c.tenant_id = $1 AND c.id = $2::uuid");

static json_t *name_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "name")),
                     json_string_value(json_object_get(item, "id")));
}

static void on_list(void *arg, const oc_db_result_t *res, json_t *(*key)(json_t *))
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    oc_respond_page(r, &st->page, res, key);
}

static void on_conns(void *arg, const oc_db_result_t *res)
{
    on_list(arg, res, name_key);
}

void oc_api_connections_list(oc_req_t *r)
{
    ch_t *st = state(r);
    if (oc_page_parse(r, &st->page, 2) != 0)
        return;
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &conns_list;
    const char *p[] = {r->tenant, oc_page_after(&st->page, 0), oc_page_after(&st->page, 1), st->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_conns, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_connection_get(oc_req_t *r)
{
    if (oc_req_id_param(r, "cid", "no such connection") == NULL)
        return;
    state(r);
    const char *p[] = {r->tenant, oc_req_param(r, "cid")};
    if (oc_db_exec(r->thread->db, r->tenant, &conn_get, p, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* What each kind needs, when its adapter is not built in to say so itself. */
static int kind_requirements(const char *kind, json_t *settings, json_t *secrets, char *why, size_t cap)
{
    const oc_adapter_t *a = oc_adapter_by_name(kind);
    if (a != NULL && a->validate != NULL) {
        /* adapters name the field alone ("shop: …"); the API names where it lives */
        char bare[160];
        if (a->validate(settings, secrets, bare, sizeof(bare)) == 0)
            return 0;
        static const char *const secret_names[] = {"access_token", "client_id", "client_secret", "refresh_token",
                                                   "webhook_secret"};
        size_t fl = strcspn(bare, ": ");
        int secret = 0;
        for (size_t i = 0; i < OC_ARRAY_SIZE(secret_names); i++)
            secret |= strlen(secret_names[i]) == fl && strncmp(bare, secret_names[i], fl) == 0;
        snprintf(why, cap, "%s.%s", secret ? "credentials" : "settings", bare);
        return -1;
    }
    if (strcmp(kind, "shopify") == 0) {
        if (!json_is_string(json_object_get(settings, "shop")))
            return snprintf(why, cap, "settings.shop: the shop domain, e.g. acme.myshopify.com"), -1;
        if (!json_is_string(json_object_get(secrets, "access_token")) &&
            !(json_is_string(json_object_get(secrets, "client_id")) &&
              json_is_string(json_object_get(secrets, "client_secret"))))
            return snprintf(why, cap, "credentials: access_token, or client_id and client_secret"), -1;
    } else if (strcmp(kind, "amazon") == 0) {
        if (!json_is_string(json_object_get(settings, "seller_id")))
            return snprintf(why, cap, "settings.seller_id: the selling partner id"), -1;
        if (json_array_size(json_object_get(settings, "marketplace_ids")) == 0)
            return snprintf(why, cap, "settings.marketplace_ids: at least one marketplace id"), -1;
        const char *need[] = {"client_id", "client_secret", "refresh_token"};
        for (size_t i = 0; i < OC_ARRAY_SIZE(need); i++)
            if (!json_is_string(json_object_get(secrets, need[i])))
                return snprintf(why, cap, "credentials.%s is required", need[i]), -1;
    } else {
        const char *need[] = {"client_id", "client_secret"};
        for (size_t i = 0; i < OC_ARRAY_SIZE(need); i++)
            if (!json_is_string(json_object_get(secrets, need[i])))
                return snprintf(why, cap, "credentials.%s is required", need[i]), -1;
    }
    return 0;
}

static const char *default_base(const char *kind, json_t *settings, char *buf, size_t cap)
{
    const oc_adapter_t *a = oc_adapter_by_name(kind);
    if (a != NULL && a->default_base_url != NULL)
        return a->default_base_url(settings, buf, cap);
    if (strcmp(kind, "shopify") == 0)
        snprintf(buf, cap, "https://%s", json_string_value(json_object_get(settings, "shop")));
    else if (strcmp(kind, "amazon") == 0) {
        const char *region = json_string_value(json_object_get(settings, "region"));
        snprintf(buf, cap, "https://sellingpartnerapi-%s.amazon.com", region ? region : "na");
    } else
        snprintf(buf, cap, "https://marketplace.walmartapis.com");
    return buf;
}

static int url_ok(const char *u)
{
    size_t n = strlen(u);
    if (n > 500 || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
            return 0;
    return 1;
}

OC_DB_STMT(conn_insert, 10,
           "INSERT INTO channel_connections (tenant_id, id, kind, name, base_url, settings, credentials,"
           " credentials_fields, credentials_updated_at, rules, rate_scale, account, account_keys, account_verified_at)"
           " VALUES ($1, $2::uuid, $3, $4, $5, $6::jsonb, decode($7, 'base64'),"
           "  ARRAY(SELECT jsonb_object_keys($8::jsonb)), now(), '{}', 1, $9::jsonb, $10::text[],"
           "  CASE WHEN $10::text[] IS NOT NULL THEN now() END)");
OC_DB_STMT(conn_set_rules, 4,
           "UPDATE channel_connections SET rules = coalesce($3::jsonb, rules),"
           " rate_scale = coalesce($4::float8, rate_scale) WHERE tenant_id = $1 AND id = $2::uuid");

static void on_sealed_key(void *arg, const char *err, const unsigned char *dek)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    if (dek == NULL) {
        oc_respond_error(r, 503, "vault_unavailable", err, NULL);
        return;
    }
    char *plain = json_dumps(st->secrets, JSON_COMPACT);
    char *sealed = oc_vault_seal(dek, r->tenant, st->id, "credentials", plain, strlen(plain));
    sodium_memzero(plain, strlen(plain));
    free(plain);
    const char *kind = oc_json_str(r->body, "kind");
    char base[512];
    const char *base_url = oc_json_str(r->body, "base_url");
    if (base_url == NULL)
        base_url = default_base(kind, json_object_get(r->body, "settings"), base, sizeof(base));
    char *settings = json_dumps(json_object_get(r->body, "settings"), JSON_COMPACT);
    char *fields = json_dumps(st->fields, JSON_COMPACT);
    char *rules =
        json_object_get(r->body, "rules") ? json_dumps(json_object_get(r->body, "rules"), JSON_COMPACT) : NULL;
    char scale[32] = "";
    if (json_is_number(json_object_get(r->body, "rate_scale")))
        snprintf(scale, sizeof(scale), "%g", json_number_value(json_object_get(r->body, "rate_scale")));
    char *account = NULL, *keys = NULL;
    if (st->identity != NULL)
        oc_channels_account_params(st->identity, &account, &keys);
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 2};
    tx.steps[0].stmt = &conn_insert;
    const char *p[] = {r->tenant, st->id,  kind, oc_json_str(r->body, "name"), base_url, settings, sealed,
                       fields,    account, keys};
    memcpy(tx.steps[0].params, p, sizeof(p));
    tx.steps[1].stmt = &conn_set_rules;
    tx.steps[1].params[0] = r->tenant;
    tx.steps[1].params[1] = st->id;
    tx.steps[1].params[2] = rules;
    tx.steps[1].params[3] = scale[0] ? scale : NULL;
    json_t *summary = json_pack("{s:s, s:s, s:O}", "kind", kind, "name", oc_json_str(r->body, "name"),
                                "credential_fields", st->fields);
    oc_audit_brand(&tx, oc_req_actor(r), "connection.create", "connection", st->id, summary);
    json_decref(summary);
    tx.steps[tx.nsteps].stmt = &conn_get;
    tx.steps[tx.nsteps].params[0] = r->tenant;
    tx.steps[tx.nsteps++].params[1] = st->id;
    st->status = 201;
    int rc = oc_db_run(r->thread->db, &tx, on_one, r);
    free(sealed);
    free(settings);
    free(fields);
    free(rules);
    free(account);
    free(keys);
    if (rc != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- the account a connection reaches, asked of the channel (tenants/channels.h) --------- */

/* A connection as it would be, for asking the channel who it is: kind, base URL, settings, secrets (copies). */
static oc_channel_conn_t *probe_conn(const char *tenant, const char *id, const char *kind, const char *base_url,
                                     const json_t *settings, const json_t *secrets)
{
    oc_channel_conn_t *c = calloc(1, sizeof(*c));
    char buf[512];
    if (c == NULL)
        return NULL;
    oc_strlcpy(c->tenant, tenant, strlen(tenant), sizeof(c->tenant));
    oc_strlcpy(c->id, id, strlen(id), sizeof(c->id));
    c->kind = oc_channel_kind_parse(kind);
    if (base_url == NULL)
        base_url = default_base(kind, (json_t *)settings, buf, sizeof(buf));
    c->base_url = strdup(base_url != NULL ? base_url : "");
    c->settings = settings != NULL ? json_deep_copy(settings) : json_object();
    c->secrets = json_deep_copy(secrets);
    c->rate_scale = 1;
    /* a person is waiting: one quick try; no answer leaves the account to be confirmed later */
    json_object_set_new(c->settings, "deadline_ms", json_integer(10000));
    json_object_set_new(c->settings, "max_attempts", json_integer(1));
    return c;
}

/* Asks the channel (st->conn) who the connection is; `then` runs with st->identity set or NULL. */
static void on_identify(void *arg, const oc_adapter_error_t *e, json_t *identity, json_t *result)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    (void)e;
    (void)result;
    st->identity = json_incref(identity);
    st->identified = 1;
    st->then(r);
}

static void identify_then(oc_req_t *r, after_identify_fn then)
{
    ch_t *st = r->state;
    oc_chttp_t *http = oc_thread_chttp(r->thread);
    st->then = then;
    if (st->conn == NULL || http == NULL || oc_conn_identify(http, st->conn, on_identify, r) != 0)
        then(r);
}

static int secrets_ok(oc_req_t *r, json_t *secrets)
{
    const char *k;
    json_t *v;
    json_object_foreach(secrets, k, v)
    {
        if (!json_is_string(v) || json_string_length(v) > 4096 || json_string_length(v) == 0) {
            char field[80];
            snprintf(field, sizeof(field), "credentials.%s", k);
            oc_respond_error(r, 422, "invalid", "each credential is a non-empty string of at most 4096 characters",
                             field);
            return 0;
        }
    }
    return 1;
}

static void create_seal(oc_req_t *r)
{
    if (oc_channels_brand_key(r->thread->db, r->tenant, on_sealed_key, r) != 0)
        oc_respond_error(r, 503, "vault_unavailable",
                         "the credential vault has no key; set ONECOUNT_MASTER_KEY or create the key file", NULL);
}

void oc_api_connection_create(oc_req_t *r)
{
    static const char *const kinds[] = {"shopify", "amazon", "walmart", NULL};
    static const oc_field_t fields[] = {
        {"kind", OC_F_ENUM, OC_REQUIRED, 0, 0, kinds}, {"name", OC_F_STRING, OC_REQUIRED, 1, 100},
        {"base_url", OC_F_STRING, 0, 1, 500},          {"settings", OC_F_OBJECT, OC_REQUIRED},
        {"credentials", OC_F_OBJECT, OC_REQUIRED},     {"rules", OC_F_OBJECT, 0, .fields = rule_fields},
        {"rate_scale", OC_F_INT, 0, 1, 1000},          {NULL},
    };
    if (oc_req_validate(r, fields) != 0 || !settings_ok(r, json_object_get(r->body, "settings")))
        return;
    json_t *settings = json_object_get(r->body, "settings"), *secrets = json_object_get(r->body, "credentials");
    const char *base_url = oc_json_str(r->body, "base_url");
    if (base_url != NULL && !url_ok(base_url)) {
        oc_respond_error(r, 422, "invalid", "base_url is an http(s) URL", "base_url");
        return;
    }
    if (!secrets_ok(r, secrets))
        return;
    char why[200];
    if (kind_requirements(oc_json_str(r->body, "kind"), settings, secrets, why, sizeof(why)) != 0) {
        char field[64];
        const char *colon = strchr(why, ':');
        size_t fl = colon ? (size_t)(colon - why) : 0;
        oc_strlcpy(field, why, fl, sizeof(field));
        if (strncmp(why, "credentials.", 12) == 0 && strstr(why, " is required"))
            oc_strlcpy(field, why, strcspn(why, " "), sizeof(field));
        oc_respond_error(r, 422, "invalid", why, field[0] ? field : "credentials");
        return;
    }
    ch_t *st = state(r);
    oc_uuid_v4(st->id);
    st->secrets = json_incref(secrets);
    st->fields = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(secrets, k, v)
    {
        json_object_set_new(st->fields, k, json_true());
    }
    st->conn = probe_conn(r->tenant, st->id, oc_json_str(r->body, "kind"), base_url, settings, secrets);
    /* The secrets must not stay in the parsed body longer than needed. */
    json_object_del(r->body, "credentials");
    /* the channel says which account this is, when it answers: a second active connection to it is refused */
    identify_then(r, create_seal);
}

/* PATCH: name, base_url, settings, status (active/paused), rules, rate_scale,
 * and credentials (replaced whole, sealed again). */
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
OC_DB_STMT(conn_set_credentials, 5,
           "UPDATE channel_connections SET credentials = decode($3, 'base64'),"
           " credentials_fields = ARRAY(SELECT jsonb_object_keys($4::jsonb)), credentials_updated_at = now(),"
           " status = 'active', status_detail = NULL WHERE tenant_id = $1 AND id = $2::uuid"
           " AND $5::text IS NOT NULL");
OC_DB_STMT(brand_refresh, 1, "SELECT listings_refresh_brand($1)");
/* The account as the channel confirmed it with the new settings or credentials; NULL keys when it did not
 * answer (the worker confirms it on its first call).  Before the credentials step, which may activate. */
OC_DB_STMT(conn_set_account, 4,
           "UPDATE channel_connections SET account = $3::jsonb, account_keys = $4::text[],"
           " account_verified_at = CASE WHEN $4::text[] IS NOT NULL THEN now() END"
           " WHERE tenant_id = $1 AND id = $2::uuid");

static void conn_update_run(oc_req_t *r, const char *sealed)
{
    ch_t *st = r->state;
    json_t *b = r->body;
    char *account = NULL, *keys = NULL;
    if (st->identity != NULL)
        oc_channels_account_params(st->identity, &account, &keys);
    char *settings = json_object_get(b, "settings") ? json_dumps(json_object_get(b, "settings"), JSON_COMPACT) : NULL;
    char *rules = json_object_get(b, "rules") ? json_dumps(json_object_get(b, "rules"), JSON_COMPACT) : NULL;
    char *fields = st->fields ? json_dumps(st->fields, JSON_COMPACT) : NULL;
    char scale[32] = "";
    if (json_is_number(json_object_get(b, "rate_scale")))
        snprintf(scale, sizeof(scale), "%g", json_number_value(json_object_get(b, "rate_scale")));
    oc_db_tx_t tx = {.tenant = r->tenant};
    int i = 0;
    if (st->identified) {
        tx.steps[i].stmt = &conn_set_account;
        const char *p[] = {r->tenant, oc_req_param(r, "cid"), account, keys};
        memcpy(tx.steps[i++].params, p, sizeof(p));
    }
    if (sealed != NULL) {
        tx.steps[i].stmt = &conn_set_credentials;
        const char *p[] = {r->tenant, oc_req_param(r, "cid"), sealed, fields, "set"};
        memcpy(tx.steps[i++].params, p, sizeof(p));
        json_t *summary = json_pack("{s:O}", "credential_fields", st->fields);
        tx.nsteps = i;
        oc_audit_brand(&tx, oc_req_actor(r), "connection.credentials", "connection", oc_req_param(r, "cid"), summary);
        i = tx.nsteps;
        json_decref(summary);
    }
    tx.steps[i].stmt = &conn_update;
    const char *p[] = {r->tenant,
                       oc_req_param(r, "cid"),
                       oc_json_str(b, "name"),
                       oc_json_str(b, "base_url"),
                       settings,
                       oc_json_str(b, "status"),
                       rules,
                       scale[0] ? scale : NULL,
                       r->request_id,
                       oc_req_actor(r)->user,
                       oc_req_actor(r)->token};
    memcpy(tx.steps[i++].params, p, sizeof(p));
    /* Rules changed what channels may show: recompute (after the update). */
    tx.steps[i].stmt = &brand_refresh;
    tx.steps[i++].params[0] = r->tenant;
    tx.steps[i].stmt = &conn_get;
    tx.steps[i].params[0] = r->tenant;
    tx.steps[i++].params[1] = oc_req_param(r, "cid");
    tx.nsteps = i;
    int rc = oc_db_run(r->thread->db, &tx, on_one, r);
    free(settings);
    free(rules);
    free(fields);
    free(account);
    free(keys);
    if (rc != 0)
        oc_respond_unavailable(r, "the database");
}

static void on_update_key(void *arg, const char *err, const unsigned char *dek)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    if (dek == NULL) {
        oc_respond_error(r, 503, "vault_unavailable", err, NULL);
        return;
    }
    char *plain = json_dumps(st->secrets, JSON_COMPACT);
    char *sealed = oc_vault_seal(dek, r->tenant, oc_req_param(r, "cid"), "credentials", plain, strlen(plain));
    sodium_memzero(plain, strlen(plain));
    free(plain);
    conn_update_run(r, sealed);
    free(sealed);
}

static void update_seal(oc_req_t *r)
{
    ch_t *st = r->state;
    if (st->secrets == NULL) {
        conn_update_run(r, NULL);
        return;
    }
    if (oc_channels_brand_key(r->thread->db, r->tenant, on_update_key, r) != 0)
        oc_respond_error(r, 503, "vault_unavailable", "the credential vault has no key", NULL);
}

/* The connection as it is, overlaid with the request's settings, base URL and credentials, asked who it is. */
static void on_update_loaded(void *arg, const char *err, const oc_db_result_t *res, oc_channel_conn_t *conn)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    if (conn == NULL && res != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    if (conn == NULL && err != NULL && strcmp(err, "not found") == 0) {
        oc_respond_error(r, 404, "not_found", "no such connection", NULL);
        return;
    }
    st->identified = 1; /* asked again: without an answer, the account is confirmed later */
    if (conn == NULL) { /* the stored credentials do not open: new ones alone cannot say which settings apply */
        update_seal(r);
        return;
    }
    json_t *settings = json_object_get(r->body, "settings");
    const char *base_url = oc_json_str(r->body, "base_url");
    st->conn = probe_conn(r->tenant, conn->id,
                          conn->kind == OC_CHANNEL_SHOPIFY  ? "shopify"
                          : conn->kind == OC_CHANNEL_AMAZON ? "amazon"
                                                            : "walmart",
                          base_url != NULL ? base_url : conn->base_url, settings != NULL ? settings : conn->settings,
                          st->secrets != NULL ? st->secrets : conn->secrets);
    oc_conn_free(conn);
    identify_then(r, update_seal);
}

void oc_api_connection_update(oc_req_t *r)
{
    static const char *const statuses[] = {"active", "paused", NULL};
    static const oc_field_t fields[] = {
        {"name", OC_F_STRING, 0, 1, 100},
        {"base_url", OC_F_STRING, 0, 1, 500},
        {"settings", OC_F_OBJECT, 0},
        {"credentials", OC_F_OBJECT, 0},
        {"status", OC_F_ENUM, 0, 0, 0, statuses},
        {"rules", OC_F_OBJECT, 0, .fields = rule_fields},
        {"rate_scale", OC_F_INT, 0, 1, 1000},
        {NULL},
    };
    if (oc_req_id_param(r, "cid", "no such connection") == NULL || oc_req_validate(r, fields) != 0 ||
        !settings_ok(r, json_object_get(r->body, "settings")))
        return;
    const char *base_url = oc_json_str(r->body, "base_url");
    if (base_url != NULL && !url_ok(base_url)) {
        oc_respond_error(r, 422, "invalid", "base_url is an http(s) URL", "base_url");
        return;
    }
    ch_t *st = state(r);
    json_t *secrets = json_object_get(r->body, "credentials");
    if (secrets != NULL && !secrets_ok(r, secrets))
        return;
    if (secrets != NULL) {
        st->secrets = json_incref(secrets);
        st->fields = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(secrets, k, v)
        {
            json_object_set_new(st->fields, k, json_true());
        }
        json_object_del(r->body, "credentials");
    }
    if (secrets == NULL && json_object_get(r->body, "settings") == NULL && base_url == NULL) {
        update_seal(r);
        return;
    }
    /* New credentials, settings or base URL may reach another account: ask the channel with them */
    if (oc_conn_load(r->thread->db, r->tenant, oc_req_param(r, "cid"), on_update_loaded, r) != 0)
        oc_respond_unavailable(r, "the database");
}

OC_DB_STMT(conn_delete, 5,
           "WITH c AS (DELETE FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid RETURNING id, name, kind)"
           " SELECT json_build_object('id', id, 'deleted', true), audit_write($1, NULL, $4::uuid, $5::uuid,"
           "   'connection.delete', 'connection', id::text, jsonb_build_object('name', name, 'kind', kind), $3)"
           " FROM c");

void oc_api_connection_delete(oc_req_t *r)
{
    if (oc_req_id_param(r, "cid", "no such connection") == NULL)
        return;
    state(r);
    const char *p[] = {r->tenant, oc_req_param(r, "cid"), r->request_id, oc_req_actor(r)->user, oc_req_actor(r)->token};
    if (oc_db_exec(r->thread->db, r->tenant, &conn_delete, p, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- brand rules -------------------------------------------------------------------- */

OC_DB_STMT(rules_get, 1,
           "SELECT json_build_object('last_units', CASE WHEN r.last_units_threshold IS NULL THEN NULL ELSE"
           " json_build_object('threshold', r.last_units_threshold, 'connection_id', r.last_units_connection) END)"
           " FROM (SELECT $1::uuid AS t) x LEFT JOIN brand_rules r ON r.tenant_id = x.t");
OC_DB_STMT(rules_put, 3,
           "INSERT INTO brand_rules (tenant_id, last_units_threshold, last_units_connection, updated_at)"
           " VALUES ($1, $2::bigint, $3::uuid, now()) ON CONFLICT (tenant_id) DO UPDATE SET"
           " last_units_threshold = excluded.last_units_threshold,"
           " last_units_connection = excluded.last_units_connection, updated_at = now()");

void oc_api_rules_get(oc_req_t *r)
{
    state(r);
    const char *p[] = {r->tenant};
    if (oc_db_exec(r->thread->db, r->tenant, &rules_get, p, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_rules_put(oc_req_t *r)
{
    static const oc_field_t last_units_fields[] = {
        {"threshold", OC_F_INT, OC_REQUIRED, 0, 1000000000}, {"connection_id", OC_F_UUID, OC_REQUIRED}, {NULL}};
    static const oc_field_t fields[] = {
        {"last_units", OC_F_OBJECT, OC_NULLABLE, .fields = last_units_fields}, /* null or absent: no rule */
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    json_t *lu = json_object_get(r->body, "last_units");
    char thr[32] = "";
    const char *conn = NULL;
    if (json_is_object(lu)) {
        snprintf(thr, sizeof(thr), "%lld", (long long)oc_json_int(lu, "threshold", 0));
        conn = oc_json_str(lu, "connection_id");
    }
    ch_t *st = state(r);
    st->not_found = "no such connection";
    st->fk_field = "last_units.connection_id";
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 2};
    tx.steps[0].stmt = &rules_put;
    tx.steps[0].params[0] = r->tenant;
    tx.steps[0].params[1] = thr[0] ? thr : NULL;
    tx.steps[0].params[2] = conn;
    tx.steps[1].stmt = &brand_refresh;
    tx.steps[1].params[0] = r->tenant;
    oc_audit_brand(&tx, oc_req_actor(r), "rules.update", "brand", r->tenant, r->body);
    tx.steps[tx.nsteps].stmt = &rules_get;
    tx.steps[tx.nsteps++].params[0] = r->tenant;
    if (oc_db_run(r->thread->db, &tx, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- listings -------------------------------------------------------------------------- */

OC_DB_STMT(
    listings_list, 9,
    "SELECT " LISTING_JSON " FROM listings l"
    " JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id"
    " JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id"
    " WHERE l.tenant_id = $1 AND ($2::uuid IS NULL OR l.connection_id = $2) AND ($3::text IS NULL OR k.code = $3)"
    "   AND ($4::bool IS NULL OR (l.desired_version > l.pushed_version) = $4)"
    "   AND ($5::text IS NULL OR l.state = $5)"
    "   AND ($6::text IS NULL OR (c.name, k.code, l.id::text) > ($6, $7, $8))"
    " ORDER BY c.name, k.code, l.id LIMIT $9");

static json_t *listing_key(json_t *item)
{
    return json_pack("[s, s, s]", json_string_value(json_object_get(item, "connection")),
                     json_string_value(json_object_get(item, "sku")), json_string_value(json_object_get(item, "id")));
}

static void on_listings(void *arg, const oc_db_result_t *res)
{
    on_list(arg, res, listing_key);
}

void oc_api_listings_list(oc_req_t *r)
{
    ch_t *st = state(r);
    if (oc_page_parse(r, &st->page, 3) != 0)
        return;
    const char *conn = oc_req_query(r, "connection"), *dirty = oc_req_query(r, "out_of_sync"),
               *lstate = oc_req_query(r, "state");
    if (conn != NULL && !oc_is_uuid(conn, strlen(conn))) {
        oc_respond_error(r, 422, "invalid", "connection must be a connection id", "connection");
        return;
    }
    if (dirty != NULL && strcmp(dirty, "true") != 0 && strcmp(dirty, "false") != 0) {
        oc_respond_error(r, 422, "invalid", "out_of_sync is true or false", "out_of_sync");
        return;
    }
    if (lstate != NULL && strcmp(lstate, "active") != 0 && strcmp(lstate, "paused") != 0) {
        oc_respond_error(r, 422, "invalid", "state is active or paused", "state");
        return;
    }
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &listings_list;
    const char *p[] = {r->tenant,
                       conn,
                       oc_req_query(r, "sku"),
                       dirty,
                       lstate,
                       oc_page_after(&st->page, 0),
                       oc_page_after(&st->page, 1),
                       oc_page_after(&st->page, 2),
                       st->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_listings, r) != 0)
        oc_respond_unavailable(r, "the database");
}

OC_DB_STMT(listing_get, 2,
           "SELECT " LISTING_JSON " FROM listings l"
           " JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id"
           " JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id WHERE l.tenant_id = $1 AND l.id = $2::uuid");
OC_DB_STMT(listing_insert, 8,
           "INSERT INTO listings (tenant_id, id, connection_id, sku_id, external_sku, item_ref, location_ref, rules)"
           " SELECT $1, $2::uuid, $3::uuid, k.id, coalesce($5, k.code), $6, $7, coalesce($8::jsonb, '{}')"
           " FROM skus k WHERE k.tenant_id = $1 AND k.code = $4");
/* The balances the new listing is computed from, locked (in SKU order) so a
 * hold or sale committing meanwhile waits and then recomputes it, instead of
 * recomputing before the listing exists. */
OC_DB_STMT(listing_lock_stock, 2,
           "SELECT count(*) FROM (SELECT 1 FROM stock s WHERE s.tenant_id = $1 AND s.sku_id IN ("
           "   SELECT k.id FROM skus k WHERE k.tenant_id = $1 AND k.code = $2"
           "   UNION SELECT bc.component_id FROM bundle_components bc JOIN skus k ON k.tenant_id = bc.tenant_id"
           "   AND k.id = bc.bundle_id WHERE bc.tenant_id = $1 AND k.code = $2)"
           " ORDER BY s.sku_id FOR SHARE) x");
OC_DB_STMT(listing_refresh_one, 2,
           "SELECT listings_refresh($1, ARRAY(SELECT sku_id FROM listings WHERE tenant_id = $1 AND id = $2::uuid))");
OC_DB_STMT(listing_conn_kind, 2, "SELECT kind FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid");

static void on_listing_kind(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    const char *kind = oc_db_get(res->results[0], 0, 0);
    if (kind == NULL) {
        oc_respond_error(r, 422, "invalid", "no such connection in this brand", "connection_id");
        return;
    }
    /* A Shopify listing without item_ref is found by its SKU when first pushed or read. */
    char *rules =
        json_object_get(r->body, "rules") ? json_dumps(json_object_get(r->body, "rules"), JSON_COMPACT) : NULL;
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 3};
    tx.steps[0].stmt = &listing_lock_stock;
    tx.steps[0].params[0] = r->tenant;
    tx.steps[0].params[1] = oc_json_str(r->body, "sku");
    tx.steps[1].stmt = &listing_insert;
    const char *p[] = {r->tenant,
                       st->id,
                       oc_json_str(r->body, "connection_id"),
                       oc_json_str(r->body, "sku"),
                       oc_json_str(r->body, "external_sku"),
                       oc_json_str(r->body, "item_ref"),
                       oc_json_str(r->body, "location_ref"),
                       rules};
    memcpy(tx.steps[1].params, p, sizeof(p));
    tx.steps[2].stmt = &listing_refresh_one;
    tx.steps[2].params[0] = r->tenant;
    tx.steps[2].params[1] = st->id;
    oc_audit_brand(&tx, oc_req_actor(r), "listing.create", "listing", st->id, r->body);
    oc_holds_touched_step(&tx, r->tenant);
    st->touches_stock = 1;
    tx.steps[tx.nsteps].stmt = &listing_get;
    tx.steps[tx.nsteps].params[0] = r->tenant;
    tx.steps[tx.nsteps++].params[1] = st->id;
    st->status = 201;
    st->not_found = "no such SKU in this brand (listing not created)";
    int rc = oc_db_run(r->thread->db, &tx, on_one, r);
    free(rules);
    if (rc != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_listing_create(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"connection_id", OC_F_UUID, 1},
        {"sku", OC_F_STRING, 1, 1, 64},
        {"external_sku", OC_F_STRING, 0, 1, 200},
        {"item_ref", OC_F_STRING, 0, 1, 200},
        {"location_ref", OC_F_STRING, 0, 1, 200},
        {"rules", OC_F_OBJECT, 0, .fields = rule_fields},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    ch_t *st = state(r);
    oc_uuid_v4(st->id);
    const char *p[] = {r->tenant, oc_json_str(r->body, "connection_id")};
    if (oc_db_exec(r->thread->db, r->tenant, &listing_conn_kind, p, on_listing_kind, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_listing_get(oc_req_t *r)
{
    if (oc_req_id_param(r, "lid", "no such listing") == NULL)
        return;
    ch_t *st = state(r);
    st->not_found = "no such listing";
    const char *p[] = {r->tenant, oc_req_param(r, "lid")};
    if (oc_db_exec(r->thread->db, r->tenant, &listing_get, p, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

OC_DB_STMT(listing_update, 8,
           "WITH l AS (UPDATE listings l SET external_sku = coalesce($3, l.external_sku),"
           "   item_ref = coalesce($4, l.item_ref), location_ref = coalesce($5, l.location_ref),"
           "   rules = coalesce($6::jsonb, l.rules), state = coalesce($7, l.state),"
           "   pushed_version = CASE WHEN $8::bool THEN 0 ELSE l.pushed_version END"
           "   WHERE l.tenant_id = $1 AND l.id = $2::uuid RETURNING l.sku_id)"
           " SELECT listings_refresh($1, ARRAY(SELECT sku_id FROM l))");

void oc_api_listing_update(oc_req_t *r)
{
    static const char *const states[] = {"active", "paused", NULL};
    static const oc_field_t fields[] = {
        {"external_sku", OC_F_STRING, 0, 1, 200},
        {"item_ref", OC_F_STRING, 0, 1, 200},
        {"location_ref", OC_F_STRING, 0, 1, 200},
        {"rules", OC_F_OBJECT, 0, .fields = rule_fields},
        {"state", OC_F_ENUM, 0, 0, 0, states},
        {"repush", OC_F_BOOL, 0},
        {NULL},
    };
    if (oc_req_id_param(r, "lid", "no such listing") == NULL || oc_req_validate(r, fields) != 0)
        return;
    ch_t *st = state(r);
    st->not_found = "no such listing";
    char *rules =
        json_object_get(r->body, "rules") ? json_dumps(json_object_get(r->body, "rules"), JSON_COMPACT) : NULL;
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &listing_update;
    const char *p[] = {r->tenant,
                       oc_req_param(r, "lid"),
                       oc_json_str(r->body, "external_sku"),
                       oc_json_str(r->body, "item_ref"),
                       oc_json_str(r->body, "location_ref"),
                       rules,
                       oc_json_str(r->body, "state"),
                       oc_json_bool(r->body, "repush", 0) ? "true" : "false"};
    memcpy(tx.steps[0].params, p, sizeof(p));
    oc_audit_brand(&tx, oc_req_actor(r), "listing.update", "listing", oc_req_param(r, "lid"), r->body);
    oc_holds_touched_step(&tx, r->tenant);
    st->touches_stock = 1;
    tx.steps[tx.nsteps].stmt = &listing_get;
    tx.steps[tx.nsteps].params[0] = r->tenant;
    tx.steps[tx.nsteps++].params[1] = oc_req_param(r, "lid");
    int rc = oc_db_run(r->thread->db, &tx, on_one, r);
    free(rules);
    if (rc != 0)
        oc_respond_unavailable(r, "the database");
}

OC_DB_STMT(
    listing_delete, 5,
    "WITH l AS (DELETE FROM listings WHERE tenant_id = $1 AND id = $2::uuid RETURNING id, external_sku)"
    " SELECT json_build_object('id', id, 'deleted', true), audit_write($1, NULL, $4::uuid, $5::uuid, 'listing.delete',"
    "   'listing', id::text, jsonb_build_object('external_sku', external_sku), $3) FROM l");

void oc_api_listing_delete(oc_req_t *r)
{
    if (oc_req_id_param(r, "lid", "no such listing") == NULL)
        return;
    ch_t *st = state(r);
    st->not_found = "no such listing";
    const char *p[] = {r->tenant, oc_req_param(r, "lid"), r->request_id, oc_req_actor(r)->user, oc_req_actor(r)->token};
    if (oc_db_exec(r->thread->db, r->tenant, &listing_delete, p, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* Automap: list every SKU without a listing on the connection under its own
 * code; report what it could not map (Shopify needs each SKU's inventory
 * item, found by the channel lookup once connected; codes already used). */
OC_DB_STMT(automap_guard, 2, "SELECT channel_account_guard($1, $2::uuid)");
OC_DB_STMT(automap, 5,
           "WITH c AS (SELECT id, kind FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid),"
           " cand AS (SELECT k.id, k.code FROM skus k, c WHERE k.tenant_id = $1 AND k.archived_at IS NULL"
           "   AND NOT EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = $1 AND l.connection_id = c.id"
           "                   AND l.sku_id = k.id)),"
           " taken AS (SELECT cand.code FROM cand WHERE EXISTS (SELECT 1 FROM listings l, c WHERE l.tenant_id = $1"
           "   AND l.connection_id = c.id AND l.external_sku = cand.code)),"
           " ins AS (INSERT INTO listings (tenant_id, connection_id, sku_id, external_sku)"
           "   SELECT $1, c.id, cand.id, cand.code FROM cand, c"
           "   WHERE cand.code NOT IN (SELECT code FROM taken) RETURNING sku_id, external_sku)"
           " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM c) THEN NULL ELSE json_build_object("
           "   'created', (SELECT count(*) FROM ins),"
           "   'mapped', coalesce((SELECT json_agg(external_sku ORDER BY external_sku) FROM ins), '[]'),"
           "   'not_mapped', coalesce((SELECT json_agg(json_build_object('sku', cand.code, 'reason',"
           "     'another listing on this connection already uses this code') ORDER BY cand.code)"
           "     FROM cand WHERE cand.code IN (SELECT code FROM taken)), '[]'),"
           "   'audit', audit_write($1, NULL, $4::uuid, $5::uuid, 'connection.automap', 'connection', $2::text,"
           "     jsonb_build_object('created', (SELECT count(*) FROM ins)), $3)) END");

void oc_api_connection_automap(oc_req_t *r)
{
    if (oc_req_id_param(r, "cid", "no such connection") == NULL || oc_req_validate(r, oc_no_fields) != 0)
        return;
    ch_t *st = state(r);
    st->answer_step = 2; /* the automap report, not the guard before it or the refresh after it */
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 3};
    /* a connection to an account another active connection holds is not mapped (it would sell twice) */
    tx.steps[0].stmt = &automap_guard;
    tx.steps[0].params[0] = r->tenant;
    tx.steps[0].params[1] = oc_req_param(r, "cid");
    tx.steps[1].stmt = &automap;
    const char *p[] = {r->tenant, oc_req_param(r, "cid"), r->request_id, oc_req_actor(r)->user, oc_req_actor(r)->token};
    memcpy(tx.steps[1].params, p, sizeof(p));
    tx.steps[2].stmt = &brand_refresh;
    tx.steps[2].params[0] = r->tenant;
    oc_holds_touched_step(&tx, r->tenant);
    st->touches_stock = 1;
    if (oc_db_run(r->thread->db, &tx, on_one, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* SKU × connection pairs with no listing: new SKUs not yet on every channel. */
OC_DB_STMT(unmapped, 5,
           "SELECT json_build_object('connection_id', c.id, 'connection', c.name, 'kind', c.kind, 'sku', k.code,"
           "   'created_at', k.created_at)"
           " FROM channel_connections c JOIN skus k ON k.tenant_id = c.tenant_id AND k.archived_at IS NULL"
           " WHERE c.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = c.tenant_id"
           "   AND l.connection_id = c.id AND l.sku_id = k.id)"
           "   AND ($2::text IS NULL OR (c.name, k.code, c.id::text) > ($2, $3, $4))"
           " ORDER BY c.name, k.code, c.id LIMIT $5");

static json_t *unmapped_key(json_t *item)
{
    return json_pack("[s, s, s]", json_string_value(json_object_get(item, "connection")),
                     json_string_value(json_object_get(item, "sku")),
                     json_string_value(json_object_get(item, "connection_id")));
}

static void on_unmapped(void *arg, const oc_db_result_t *res)
{
    on_list(arg, res, unmapped_key);
}

void oc_api_listings_unmapped(oc_req_t *r)
{
    ch_t *st = state(r);
    if (oc_page_parse(r, &st->page, 3) != 0)
        return;
    oc_db_tx_t tx = {.tenant = r->tenant, .nsteps = 1};
    tx.steps[0].stmt = &unmapped;
    const char *p[] = {r->tenant, oc_page_after(&st->page, 0), oc_page_after(&st->page, 1), oc_page_after(&st->page, 2),
                       st->page.limit_plus_one};
    memcpy(tx.steps[0].params, p, sizeof(p));
    if (oc_db_run(r->thread->db, &tx, on_unmapped, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- test connection: open the credentials, then ask the channel ------------------------- */

/* What the channel said about the identity onecount recorded: answer the test, or 409 for a duplicate. */
static void on_test_confirmed(void *arg, const char *err, const char *duplicate)
{
    oc_req_t *r = arg;
    if (err != NULL) {
        oc_respond_unavailable(r, "the database");
        return;
    }
    if (duplicate != NULL) { /* the connection is paused now, with why and an alert */
        oc_respond_error(r, 409, "duplicate_account", duplicate, NULL);
        return;
    }
    respond_one(r);
}

/*
 * What the channel said: 200 because the test ran, whatever the channel
 * answered.  {"ok", "checked_at", "elapsed_ms", "steps": [{"step", "ok", ...}],
 * "account", "details", "identity"} when it let onecount in; "error":
 * {"code", "message", "retryable", "channel_status"} in their place when it
 * did not.  An identity the channel confirmed is recorded first: a
 * connection to an account another active connection holds answers 409
 * (and is paused).  The credentials are wiped when the request state goes.
 */
static void on_tested(void *arg, const oc_adapter_error_t *e, json_t *identity, json_t *result)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    int ok = e == NULL || e->err == NULL;
    uint64_t now = oc_now_ms();
    char at[32];
    oc_time_format(at, now, OC_TIME_MS);
    json_t *call =
        json_pack("{s:s, s:b, s:I}", "step", "channel", "ok", ok, "elapsed_ms", (json_int_t)(now - st->started_ms));
    json_t *body = json_pack("{s:b, s:s, s:I, s:[{s:s, s:b}, o]}", "ok", ok, "checked_at", at, "elapsed_ms",
                             (json_int_t)(now - st->started_ms), "steps", "step", "credentials", "ok", 1, call);
    if (!ok) {
        const char *code = e->http_status == 401 || e->http_status == 403 ? "channel_refused"
                           : e->retryable                                 ? "channel_unavailable"
                                                                          : "channel_error";
        json_t *err =
            json_pack("{s:s, s:o, s:b}", "code", code, "message", oc_json_text(e->err), "retryable", e->retryable);
        if (e->http_status > 0) {
            json_object_set_new(err, "channel_status", json_integer(e->http_status));
            json_object_set_new(call, "channel_status", json_integer(e->http_status));
        }
        json_object_set_new(body, "error", err);
    } else {
        json_object_set(body, "account", json_object_get(result, "account"));
        json_object_set(body, "details", json_object_get(result, "details"));
    }
    st->answer = body;
    if (identity == NULL) {
        respond_one(r);
        return;
    }
    json_t *shown = json_deep_copy(identity);
    json_object_del(shown, "keys");
    json_object_set_new(body, "identity", shown);
    if (oc_channels_confirm(r->thread->db, st->conn->tenant, st->conn->id, identity, on_test_confirmed, r) != 0)
        oc_respond_unavailable(r, "the database");
}

static void on_test_conn(void *arg, const char *err, const oc_db_result_t *res, oc_channel_conn_t *conn)
{
    oc_req_t *r = arg;
    if (conn == NULL) {
        if (res != NULL) {
            oc_respond_db_error(r, res);
            return;
        }
        if (strcmp(err, "not found") == 0) {
            oc_respond_error(r, 404, "not_found", "no such connection", NULL);
            return;
        }
        oc_respond_error(r, 409, "credentials", "the stored credentials do not open: set them again", "credentials");
        return;
    }
    const char *kind = conn->kind == OC_CHANNEL_SHOPIFY  ? "shopify"
                       : conn->kind == OC_CHANNEL_AMAZON ? "amazon"
                                                         : "walmart";
    const oc_adapter_t *a = oc_adapter_by_name(kind);
    oc_chttp_t *http = a != NULL && a->test != NULL ? oc_thread_chttp(r->thread) : NULL;
    if (http == NULL) {
        oc_conn_free(conn);
        oc_respond_error(r, 501, "not_implemented", "this build cannot call the channel", NULL);
        return;
    }
    ch_t *st = state(r);
    st->conn = conn;
    st->started_ms = oc_now_ms();
    /* a person is waiting: fewer retries and a shorter deadline than the worker's */
    if (conn->settings == NULL)
        conn->settings = json_object();
    json_object_set_new(conn->settings, "deadline_ms", json_integer(15000));
    json_object_set_new(conn->settings, "max_attempts", json_integer(2));
    if (oc_conn_identify(http, conn, on_tested, r) != 0) {
        oc_respond_error(r, 503, "unavailable", "the channel call could not start", NULL);
        return;
    }
}

void oc_api_connection_test(oc_req_t *r)
{
    if (oc_req_id_param(r, "cid", "no such connection") == NULL || oc_req_validate(r, oc_no_fields) != 0)
        return;
    if (oc_conn_load(r->thread->db, r->tenant, oc_req_param(r, "cid"), on_test_conn, r) != 0)
        oc_respond_unavailable(r, "the database");
}

/* --- what the channel saw: a simulator account's request log ------------------------------ */

/*
 * Only connections to `onecount sim` keep a record of what the channel
 * received: the simulator logs every request per account.  A connection
 * made on a simulator names its account in settings.sim_account (the demo
 * and the tests set it); the log is read from the same origin as the
 * connection's base_url, without credentials.  Real channels keep no such
 * record for us: their side of the story is the push log (timeline).
 */
OC_DB_STMT(conn_sim, 2,
           "SELECT base_url, settings->>'sim_account' FROM channel_connections WHERE tenant_id = $1 AND id = $2::uuid");

static void on_sim_log(void *arg, const oc_chttp_res_t *res)
{
    oc_req_t *r = arg;
    json_t *j = res->err == NULL && res->status == 200 ? json_loads(res->body, 0, NULL) : NULL;
    json_t *items = json_object_get(j, "requests");
    if (!json_is_array(items)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "the simulator did not answer with its request log (%s)",
                 res->err != NULL     ? res->err
                 : res->status != 200 ? "status not 200"
                                      : "malformed answer");
        json_decref(j);
        oc_respond_error(r, 502, "channel_unavailable", msg, NULL);
        return;
    }
    json_t *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        static const char *const keep[] = {"id", "time", "method", "path", "op", "status", "ms", "fault", "writes"};
        json_t *row = json_object();
        for (size_t k = 0; k < OC_ARRAY_SIZE(keep); k++)
            if (json_object_get(it, keep[k]) != NULL)
                json_object_set(row, keep[k], json_object_get(it, keep[k]));
        json_array_append_new(out, row);
    }
    json_t *body = json_pack("{s:b, s:o, s:O}", "simulated", 1, "items", out, "next_since",
                             json_object_get(j, "next_since") ? json_object_get(j, "next_since") : json_null());
    json_decref(j);
    oc_respond_json(r, 200, body);
}

static void on_conn_sim(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    const PGresult *pr = res->results[0];
    if (PQntuples(pr) == 0) {
        oc_respond_error(r, 404, "not_found", "no such connection", NULL);
        return;
    }
    const char *base = PQgetvalue(pr, 0, 0), *account = PQgetisnull(pr, 0, 1) ? NULL : PQgetvalue(pr, 0, 1);
    if (account == NULL) {
        oc_respond_json(r, 200, json_pack("{s:b, s:[], s:n}", "simulated", 0, "items", "next_since"));
        return;
    }
    /* origin of the base URL (scheme://host:port), the account id as a path segment */
    const char *scheme_end = strstr(base, "://");
    size_t origin = scheme_end != NULL ? (size_t)(scheme_end - base) + 3 : 0;
    while (origin > 0 && base[origin] != '\0' && base[origin] != '/')
        origin++;
    int ok = origin > 0 && *account != '\0' && strlen(account) <= 64;
    for (const char *p = account; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
    const char *since = oc_req_query(r, "since");
    long long since_n = since != NULL ? strtoll(since, NULL, 10) : 0; /* checked by the handler */
    if (!ok) {
        oc_respond_error(r, 409, "not_simulated", "settings.sim_account or base_url is not a simulator's", NULL);
        return;
    }
    char url[700];
    snprintf(url, sizeof(url), "%.*s/_sim/accounts/%s/requests?limit=100&since=%lld", (int)origin, base, account,
             since_n);
    oc_chttp_t *http = oc_thread_chttp(r->thread);
    oc_chttp_req_t req = {.method = "GET", .url = url, .timeout_ms = 5000};
    if (http == NULL || oc_chttp_request(http, &req, on_sim_log, r) != 0)
        oc_respond_error(r, 503, "unavailable", "the simulator could not be asked", NULL);
}

void oc_api_connection_channel_log(oc_req_t *r)
{
    const char *cid = oc_req_id_param(r, "cid", "no such connection");
    if (cid == NULL)
        return;
    const char *since = oc_req_query(r, "since");
    char *end = NULL;
    if (since != NULL && (*since == '\0' || strtoll(since, &end, 10) < 0 || *end != '\0')) {
        oc_respond_error(r, 422, "invalid", "since is a request id from an earlier answer (next_since)", "since");
        return;
    }
    const char *p[] = {r->tenant, cid};
    if (oc_db_exec(r->thread->db, r->tenant, &conn_sim, p, on_conn_sim, r) != 0)
        oc_respond_unavailable(r, "the database");
}
