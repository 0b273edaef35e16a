/*
 * conn.c — stored connections as adapter connections (see conn.h).
 */
#include "adapters/sync/conn.h"
#include "runtime/common.h"
#include "tenants/vault.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    oc_conn_cb cb;
    void *arg;
} load_t;

static void on_row(void *arg, const char *err, const oc_db_result_t *res, oc_channels_row_t *row)
{
    load_t l = *(load_t *)arg;
    free(arg);
    if (row == NULL) {
        l.cb(l.arg, err, res, NULL);
        return;
    }
    oc_channel_conn_t *c = oc_calloc(1, sizeof(*c));
    memcpy(c->id, row->id, sizeof(c->id));
    memcpy(c->tenant, row->tenant, sizeof(c->tenant));
    c->kind = oc_channel_kind_parse(row->kind);
    c->base_url = row->base_url;
    c->settings = row->settings;
    c->secrets = row->secrets;
    c->account = row->account;
    c->rate_scale = row->rate_scale;
    free(row); /* its members now belong to c */
    l.cb(l.arg, NULL, NULL, c);
}

int oc_conn_load(oc_db_pool_t *db, const char *tenant, const char *id, oc_conn_cb cb, void *arg)
{
    load_t *l = oc_calloc(1, sizeof(*l));
    l->cb = cb;
    l->arg = arg;
    int rc = oc_channels_load(db, tenant, id, on_row, l);
    if (rc != 0)
        free(l);
    return rc;
}

void oc_conn_free(oc_channel_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->state != NULL && c->state_free != NULL)
        c->state_free(c->state);
    oc_vault_wipe_json(c->secrets);
    json_decref(c->settings);
    json_decref(c->account);
    free((char *)c->base_url);
    free(c);
}

/* --- account identity --------------------------------------------------------- */

typedef struct ident {
    oc_channel_conn_t *conn;
    oc_conn_identify_cb cb;
    void *arg;
} ident_t;

static void on_identified(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    ident_t *it = arg;
    json_t *identity = e == NULL || e->err == NULL
                           ? oc_channels_identity(oc_channel_kind_name(it->conn->kind), it->conn->secrets, result)
                           : NULL;
    it->cb(it->arg, e != NULL && e->err != NULL ? e : NULL, identity, result);
    json_decref(identity);
    free(it);
}

int oc_conn_identify(oc_chttp_t *http, oc_channel_conn_t *c, oc_conn_identify_cb cb, void *arg)
{
    const oc_adapter_t *a = oc_adapter_by_name(oc_channel_kind_name(c->kind));
    if (a == NULL || a->test == NULL || http == NULL)
        return OC_EINVAL;
    ident_t *it = oc_calloc(1, sizeof(*it));
    it->conn = c;
    it->cb = cb;
    it->arg = arg;
    int rc = a->test(http, c, on_identified, it);
    if (rc != 0)
        free(it);
    return rc;
}
