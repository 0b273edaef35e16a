/*
 * channels.c — brand keys, connection loading, account identity, and the
 * answer of an operation on connections, listings or rules (see channels.h).
 */
#include "tenants/channels.h"
#include "tenants/vault.h"
#include "runtime/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

OC_DB_STMT(brand_key_ensure, 3,
           "INSERT INTO brand_keys (tenant_id, key_version, wrapped) VALUES ($1, $2::int, decode($3, 'base64'))"
           " ON CONFLICT (tenant_id) DO NOTHING");
OC_DB_STMT(brand_key_get, 1, "SELECT key_version, wrapped FROM brand_keys WHERE tenant_id = $1");

typedef struct {
    char tenant[37];
    oc_channels_dek_cb cb;
    void *arg;
} dek_t;

static void on_key(void *arg, const oc_db_result_t *res)
{
    dek_t *d = arg;
    if (res->err != NULL) {
        d->cb(d->arg, "database unavailable", NULL);
        free(d);
        return;
    }
    const PGresult *r = res->results[1];
    unsigned char dek[OC_VAULT_KEY_BYTES];
    size_t wl = 0;
    unsigned char *w = PQntuples(r) == 1 ? oc_vault_bytea(PQgetvalue(r, 0, 1), &wl) : NULL;
    if (w == NULL || oc_vault_unwrap_dek(d->tenant, atoi(PQgetvalue(r, 0, 0)), w, wl, dek) != 0) {
        free(w);
        d->cb(d->arg, "the brand key does not open with this key-encryption key", NULL);
        free(d);
        return;
    }
    free(w);
    d->cb(d->arg, NULL, dek);
    sodium_memzero(dek, sizeof(dek));
    free(d);
}

int oc_channels_brand_key(oc_db_pool_t *db, const char *tenant, oc_channels_dek_cb cb, void *arg)
{
    if (!oc_vault_ready())
        return OC_EUNAVAIL;
    char *wrapped = NULL;
    int version = 0;
    int rc = oc_vault_new_dek(tenant, &wrapped, &version);
    if (rc != 0)
        return rc;
    dek_t *d = oc_calloc(1, sizeof(*d));
    oc_strlcpy(d->tenant, tenant, strlen(tenant), sizeof(d->tenant));
    d->cb = cb;
    d->arg = arg;
    char v[16];
    snprintf(v, sizeof(v), "%d", version);
    oc_db_tx_t tx = {.tenant = tenant, .nsteps = 2};
    tx.steps[0].stmt = &brand_key_ensure;
    tx.steps[0].params[0] = tenant;
    tx.steps[0].params[1] = v;
    tx.steps[0].params[2] = wrapped;
    tx.steps[1].stmt = &brand_key_get;
    tx.steps[1].params[0] = tenant;
    rc = oc_db_run(db, &tx, on_key, d);
    free(wrapped);
    if (rc != 0)
        free(d);
    return rc;
}

json_t *oc_channels_open(const char *tenant, const char *conn_id, const char *credentials_bytea, int key_version,
                         const char *wrapped_bytea)
{
    size_t wl = 0, cl = 0, pl = 0;
    unsigned char *w = oc_vault_bytea(wrapped_bytea, &wl), *c = oc_vault_bytea(credentials_bytea, &cl);
    unsigned char dek[OC_VAULT_KEY_BYTES];
    json_t *out = NULL;
    if (w != NULL && c != NULL && oc_vault_unwrap_dek(tenant, key_version, w, wl, dek) == 0) {
        char *plain = oc_vault_open(dek, tenant, conn_id, "credentials", c, cl, &pl);
        if (plain != NULL) {
            out = json_loadb(plain, pl, 0, NULL);
            oc_vault_free(plain, pl);
        }
        sodium_memzero(dek, sizeof(dek));
    }
    free(w);
    free(c);
    return out;
}

OC_DB_STMT(channel_load, 2,
           "SELECT c.kind, c.base_url, c.settings, c.credentials, c.rate_scale, k.key_version, k.wrapped,"
           " CASE WHEN c.account_verified_at IS NOT NULL THEN c.account END"
           " FROM channel_connections c LEFT JOIN brand_keys k ON k.tenant_id = c.tenant_id"
           " WHERE c.tenant_id = $1 AND c.id = $2::uuid");

typedef struct {
    char tenant[37], id[37];
    oc_channels_row_cb cb;
    void *arg;
} load_t;

static void on_load(void *arg, const oc_db_result_t *res)
{
    load_t *l = arg;
    if (res->err != NULL) {
        l->cb(l->arg, "database unavailable", res, NULL);
        free(l);
        return;
    }
    const PGresult *r = res->results[0];
    if (PQntuples(r) != 1) {
        l->cb(l->arg, "not found", NULL, NULL);
        free(l);
        return;
    }
    oc_channels_row_t *row = oc_calloc(1, sizeof(*row));
    memcpy(row->id, l->id, sizeof(row->id));
    memcpy(row->tenant, l->tenant, sizeof(row->tenant));
    oc_strlcpy(row->kind, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), sizeof(row->kind));
    row->base_url = oc_strdup(PQgetvalue(r, 0, 1));
    row->settings = json_loads(PQgetvalue(r, 0, 2), 0, NULL);
    row->rate_scale = strtod(PQgetvalue(r, 0, 4), NULL);
    if (oc_db_get(r, 0, 7) != NULL)
        row->account = json_loads(PQgetvalue(r, 0, 7), 0, NULL);
    if (oc_db_get(r, 0, 3) != NULL && oc_db_get(r, 0, 5) != NULL)
        row->secrets =
            oc_channels_open(l->tenant, l->id, PQgetvalue(r, 0, 3), atoi(PQgetvalue(r, 0, 5)), PQgetvalue(r, 0, 6));
    if (row->secrets == NULL) {
        oc_channels_row_free(row);
        l->cb(l->arg, "the credentials do not open", NULL, NULL);
        free(l);
        return;
    }
    l->cb(l->arg, NULL, NULL, row);
    free(l);
}

void oc_channels_row_free(oc_channels_row_t *row)
{
    if (row == NULL)
        return;
    oc_vault_wipe_json(row->secrets);
    json_decref(row->settings);
    json_decref(row->account);
    free(row->base_url);
    free(row);
}

int oc_channels_load(oc_db_pool_t *db, const char *tenant, const char *id, oc_channels_row_cb cb, void *arg)
{
    load_t *l = oc_calloc(1, sizeof(*l));
    oc_strlcpy(l->tenant, tenant, strlen(tenant), sizeof(l->tenant));
    oc_strlcpy(l->id, id, strlen(id), sizeof(l->id));
    l->cb = cb;
    l->arg = arg;
    const char *p[] = {tenant, id};
    int rc = oc_db_exec(db, tenant, &channel_load, p, on_load, l);
    if (rc != 0)
        free(l);
    return rc;
}

/* --- storing credentials the channel rotated ------------------------------ */

OC_DB_STMT(channel_rotate_secrets, 3,
           "UPDATE channel_connections SET credentials = decode($3, 'base64') WHERE tenant_id = $1 AND id = $2::uuid");

typedef struct {
    char tenant[37], id[37];
    char *plain; /* the credentials JSON (wiped when freed) */
    oc_db_pool_t *db;
} store_t;

static void store_free(store_t *s)
{
    sodium_memzero(s->plain, strlen(s->plain));
    free(s->plain);
    free(s);
}

static void on_stored(void *arg, const oc_db_result_t *res)
{
    store_t *s = arg;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_ERROR, "a rotated credential could not be stored",
                      json_pack("{s:s, s:s, s:s}", "tenant", s->tenant, "connection", s->id, "error", res->err));
    store_free(s);
}

static void on_store_key(void *arg, const char *err, const unsigned char *dek)
{
    store_t *s = arg;
    char *sealed = dek != NULL ? oc_vault_seal(dek, s->tenant, s->id, "credentials", s->plain, strlen(s->plain)) : NULL;
    if (sealed == NULL) {
        oc_log_fields(OC_LOG_ERROR, "a rotated credential could not be sealed",
                      json_pack("{s:s, s:s, s:s}", "tenant", s->tenant, "connection", s->id, "error",
                                err != NULL ? err : "seal failed"));
        store_free(s);
        return;
    }
    const char *p[] = {s->tenant, s->id, sealed};
    int rc = oc_db_exec(s->db, s->tenant, &channel_rotate_secrets, p, on_stored, s);
    free(sealed);
    if (rc != 0) {
        oc_log_fields(OC_LOG_ERROR, "a rotated credential could not be stored",
                      json_pack("{s:s, s:s, s:s}", "tenant", s->tenant, "connection", s->id, "error", oc_strerror(rc)));
        store_free(s);
    }
}

int oc_channels_store_secrets(oc_db_pool_t *db, const char *tenant, const char *id, const json_t *secrets)
{
    store_t *s = oc_calloc(1, sizeof(*s));
    if ((s->plain = json_dumps(secrets, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        free(s);
        return OC_EINVAL; /* not JSON jansson can encode */
    }
    oc_strlcpy(s->tenant, tenant, strlen(tenant), sizeof(s->tenant));
    oc_strlcpy(s->id, id, strlen(id), sizeof(s->id));
    s->db = db;
    int rc = oc_channels_brand_key(db, tenant, on_store_key, s);
    if (rc != 0)
        store_free(s);
    return rc;
}

/* --- account identity -------------------------------------------------------------- */

static int key_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == '/' || s[i] == 0x7f)
            return 0;
    return 1;
}

json_t *oc_channels_identity(const char *kind, const json_t *secrets, const json_t *result)
{
    json_t *id = json_object_get(result, "identity");
    if (!json_is_true(json_object_get(result, "ok")) || !json_is_object(id))
        return NULL;
    if (strcmp(kind, "shopify") == 0) {
        const char *domain = json_string_value(json_object_get(id, "shop_domain"));
        if (!key_ok(domain) || strlen(domain) > 120)
            return NULL;
        char lower[128];
        size_t n = strlen(domain);
        for (size_t i = 0; i <= n; i++)
            lower[i] = (char)(domain[i] >= 'A' && domain[i] <= 'Z' ? domain[i] + 32 : domain[i]);
        return json_pack("{s:s, s:s, s:O?, s:[s]}", "kind", "shopify", "id", lower, "shop_id",
                         json_object_get(id, "shop_id"), "keys", lower);
    }
    if (strcmp(kind, "amazon") == 0) {
        const char *seller = json_string_value(json_object_get(id, "seller_id"));
        json_t *mkts = json_object_get(id, "marketplace_ids"), *keys = json_array(), *m;
        size_t i;
        json_array_foreach(mkts, i, m)
        {
            if (!key_ok(seller) || !key_ok(json_string_value(m)))
                continue;
            json_array_append_new(keys, json_sprintf("%s/%s", seller, json_string_value(m)));
        }
        if (json_array_size(keys) == 0) {
            json_decref(keys);
            return NULL;
        }
        return json_pack("{s:s, s:s, s:O, s:o}", "kind", "amazon", "id", seller, "marketplace_ids", mkts, "keys", keys);
    }
    const char *partner = json_string_value(json_object_get(id, "partner_id"));
    if (key_ok(partner))
        return json_pack("{s:s, s:s, s:[o]}", "kind", "walmart", "id", partner, "keys",
                         json_sprintf("partner:%s", partner));
    /* Walmart names no seller to an API client: the client is the account (as a digest; the id is half a
     * credential) */
    const char *client = json_string_value(json_object_get(secrets, "client_id"));
    if (client == NULL || *client == '\0')
        return NULL;
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(h, (const unsigned char *)client, strlen(client));
    sodium_bin2hex(hex, sizeof(hex), h, 16);
    size_t cl = strlen(client);
    return json_pack("{s:s, s:o, s:[o]}", "kind", "walmart", "id",
                     json_sprintf("API client ending %s", cl > 4 ? client + cl - 4 : "…"), "keys",
                     json_sprintf("client:%s", hex));
}

OC_DB_STMT(account_confirm, 4, "SELECT channel_account_confirm($1, $2::uuid, $3::jsonb, $4::text[])");

typedef struct confirm {
    oc_channels_confirm_cb cb;
    void *arg;
} confirm_t;

static void on_confirmed(void *arg, const oc_db_result_t *res)
{
    confirm_t *cf = arg;
    json_t *r = res->err == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    if (res->err != NULL)
        cf->cb(cf->arg, res->err, NULL);
    else if (json_is_true(json_object_get(r, "duplicate")))
        cf->cb(cf->arg, NULL, json_string_value(json_object_get(r, "message")));
    else
        cf->cb(cf->arg, NULL, NULL);
    json_decref(r);
    free(cf);
}

/* A PostgreSQL text[] literal of the identity's keys ("{…}"), into b. */
static int keys_literal(const json_t *identity, oc_buf_t *b)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(identity, "keys"), i, k)
    {
        if (json_string_value(k) != NULL && oc_db_array_add(b, json_string_value(k)) != 0)
            return OC_EINVAL;
    }
    return oc_db_array_end(b) != NULL ? 0 : OC_EINVAL;
}

int oc_channels_account_params(const json_t *identity, char **account, char **keys)
{
    oc_buf_t b = {0};
    json_t *shown = json_deep_copy(identity);
    json_object_del(shown, "keys");
    json_object_del(shown, "kind");
    *account = json_dumps(shown, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(shown);
    if (*account == NULL || keys_literal(identity, &b) != 0) {
        free(*account);
        oc_buf_free(&b);
        *account = *keys = NULL;
        return OC_EINVAL;
    }
    *keys = oc_strdup(oc_buf_cstr(&b));
    oc_buf_free(&b);
    return 0;
}

int oc_channels_confirm(oc_db_pool_t *db, const char *tenant, const char *id, const json_t *identity,
                        oc_channels_confirm_cb cb, void *arg)
{
    char *account, *keys;
    if (oc_channels_account_params(identity, &account, &keys) != 0)
        return OC_EINVAL;
    confirm_t *cf = oc_calloc(1, sizeof(*cf));
    cf->cb = cb;
    cf->arg = arg;
    const char *p[] = {tenant, id, account, keys};
    int rc = oc_db_exec(db, tenant, &account_confirm, p, on_confirmed, cf);
    if (rc != 0)
        free(cf);
    free(account);
    free(keys);
    return rc;
}

int oc_channels_is_duplicate(const oc_db_result_t *res)
{
    return res->err != NULL &&
           (strcmp(res->sqlstate, "OCDUP") == 0 || (strcmp(res->sqlstate, "23505") == 0 && res->detail != NULL &&
                                                    strstr(res->detail, "channel_accounts_one_active") != NULL));
}

const char *oc_channels_duplicate_message(const oc_db_result_t *res)
{
    if (strcmp(res->sqlstate, "OCDUP") == 0 && res->detail != NULL && *res->detail != '\0')
        return res->detail;
    return "this account is already connected elsewhere";
}

/* --- the refusals of an operation on connections, listings or rules -------------------------- */

int oc_channels_refuse(const oc_db_result_t *res, const void *ctx, oc_fail_t *f)
{
    const oc_channels_refusals_t *how = ctx;
    if (oc_channels_is_duplicate(res))
        oc_fail(f, OC_FAIL_CONFLICT, "duplicate_account", NULL, "%s", oc_channels_duplicate_message(res));
    else if (strcmp(res->sqlstate, "23505") == 0)
        oc_fail(f, OC_FAIL_CONFLICT, "conflict", how->unique_field ? how->unique_field : "name", "%s",
                how->unique ? how->unique : "a connection with this name already exists");
    else if (strcmp(res->sqlstate, "23503") == 0)
        oc_fail(f, OC_FAIL_INVALID, "invalid", how->fk_field ? how->fk_field : "connection_id",
                "the connection does not exist in this brand");
    else
        return 0;
    return 1;
}

void oc_channels_audited_step(oc_db_tx_t *tx, const oc_actor_t *a, const oc_db_stmt_t *stmt, const char *id)
{
    tx->steps[tx->nsteps].stmt = stmt;
    const char *p[] = {a->tenant, id, a->request_id, a->user, a->token};
    memcpy(tx->steps[tx->nsteps++].params, p, sizeof(p));
}
