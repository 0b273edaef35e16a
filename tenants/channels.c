/*
 * channels.c — brand keys and connection loading (see channels.h).
 */
#include "tenants/channels.h"
#include "tenants/vault.h"
#include "server/log.h"

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
    dek_t *d = calloc(1, sizeof(*d));
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
           "SELECT c.kind, c.base_url, c.settings, c.credentials, c.rate_scale, k.key_version, k.wrapped"
           " FROM channel_connections c LEFT JOIN brand_keys k ON k.tenant_id = c.tenant_id"
           " WHERE c.tenant_id = $1 AND c.id = $2::uuid");

typedef struct {
    char tenant[37], id[37];
    oc_channels_conn_cb cb;
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
    oc_channel_conn_t *conn = calloc(1, sizeof(*conn));
    memcpy(conn->id, l->id, sizeof(conn->id));
    memcpy(conn->tenant, l->tenant, sizeof(conn->tenant));
    const char *kind = PQgetvalue(r, 0, 0);
    conn->kind = strcmp(kind, "shopify") == 0  ? OC_CHANNEL_SHOPIFY
                 : strcmp(kind, "amazon") == 0 ? OC_CHANNEL_AMAZON
                                               : OC_CHANNEL_WALMART;
    conn->base_url = strdup(PQgetvalue(r, 0, 1));
    conn->settings = json_loads(PQgetvalue(r, 0, 2), 0, NULL);
    conn->rate_scale = strtod(PQgetvalue(r, 0, 4), NULL);
    if (oc_db_get(r, 0, 3) != NULL && oc_db_get(r, 0, 5) != NULL)
        conn->secrets =
            oc_channels_open(l->tenant, l->id, PQgetvalue(r, 0, 3), atoi(PQgetvalue(r, 0, 5)), PQgetvalue(r, 0, 6));
    if (conn->secrets == NULL) {
        oc_channels_conn_free(conn);
        l->cb(l->arg, "the credentials do not open", NULL, NULL);
        free(l);
        return;
    }
    l->cb(l->arg, NULL, NULL, conn);
    free(l);
}

void oc_channels_conn_free(oc_channel_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->state != NULL) {
        const oc_adapter_t *a = oc_adapter_by_name(c->kind == OC_CHANNEL_SHOPIFY  ? "shopify"
                                                   : c->kind == OC_CHANNEL_AMAZON ? "amazon"
                                                                                  : "walmart");
        if (a != NULL && a->state_free != NULL)
            a->state_free(c->state);
    }
    oc_vault_wipe_json(c->secrets);
    json_decref(c->settings);
    free((char *)c->base_url);
    free(c);
}

int oc_channels_load(oc_db_pool_t *db, const char *tenant, const char *id, oc_channels_conn_cb cb, void *arg)
{
    load_t *l = calloc(1, sizeof(*l));
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

int oc_channels_store_secrets(oc_db_pool_t *db, const oc_channel_conn_t *c)
{
    store_t *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->plain = json_dumps(c->secrets, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        free(s);
        return OC_ENOMEM;
    }
    memcpy(s->tenant, c->tenant, sizeof(s->tenant));
    memcpy(s->id, c->id, sizeof(s->id));
    s->db = db;
    int rc = oc_channels_brand_key(db, c->tenant, on_store_key, s);
    if (rc != 0)
        store_free(s);
    return rc;
}
