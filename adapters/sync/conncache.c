/*
 * conncache.c — the sync engine's connections: each brand's channel connections
 * cached with their credentials opened, loaded once for everything that
 * waits on them, their account confirmed before first use, wiped when idle
 * or edited; and the circuit breaker that stops pushing to a connection that
 * keeps failing (see sync_internal.h).
 */
#include "adapters/sync/sync_internal.h"
#include "adapters/sync/conn.h"
#include "runtime/log.h"
#include "tenants/incidents.h"
#include "tenants/vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CIRCUIT_FAILS  5
#define CIRCUIT_MIN_MS 5000
#define CIRCUIT_MAX_MS 600000
#define CONN_IDLE_MS   300000

centry_t *oc_sync_conn_find(const char *tenant, const char *id, int create)
{
    unsigned b = oc_sync_hash(tenant, id) % CBUCKETS;
    for (centry_t *c = oc_sync.conns[b]; c != NULL; c = c->hnext)
        if (strcmp(c->id, id) == 0 && strcmp(c->tenant, tenant) == 0)
            return c;
    if (!create || strlen(tenant) != 36 || strlen(id) != 36)
        return NULL;
    centry_t *c = oc_calloc(1, sizeof(*c));
    memcpy(c->tenant, tenant, 37);
    memcpy(c->id, id, 37);
    h2o_linklist_init_anchor(&c->waiters);
    c->hnext = oc_sync.conns[b];
    oc_sync.conns[b] = c;
    return c;
}

/* Drops the loaded connection (credentials wiped) when nothing uses it. */
void oc_sync_conn_unload(centry_t *c)
{
    if (c->refs > 0 || c->loading) {
        c->stale = 1;
        return;
    }
    oc_conn_free(c->conn);
    c->conn = NULL;
    c->ad = NULL;
    c->stale = 0;
}

static void on_secret(oc_channel_conn_t *conn, const char *name, const char *value, void *arg)
{
    (void)arg;
    json_t *old = json_object_get(conn->secrets, name);
    if (json_is_string(old))
        sodium_memzero((char *)json_string_value(old), json_string_length(old));
    json_object_set_new(conn->secrets, name, json_string(value));
    if (oc_channels_store_secrets(oc_sync.db, conn->tenant, conn->id, conn->secrets) != 0)
        oc_log_fields(OC_LOG_ERROR, "a rotated credential could not be stored",
                      json_pack("{s:s, s:s}", "tenant", conn->tenant, "connection", conn->id));
}

/* Hands the loaded connection (or err) to everything that waited for it. */
static void centry_ready(centry_t *c, const char *err)
{
    c->loading = 0;
    c->last_used_ms = oc_now_ms();
    while (!h2o_linklist_is_empty(&c->waiters)) {
        waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, link, c->waiters.next);
        h2o_linklist_unlink(&w->link);
        w->cb(w->arg, err == NULL && c->conn != NULL ? c : NULL, err == NULL && c->conn != NULL ? NULL : err);
        free(w);
    }
}

/*
 * The duplicate-account guard (tenants/channels.h, migration 0018): a connection whose account the channel
 * has not confirmed yet is asked who it is before its first push or poll.  When another active connection
 * holds that account, channel_account_confirm pauses this one (status_detail, a duplicate_account alert)
 * and nothing of it runs: it would take in every order a second time.  Without an answer nothing runs
 * either; the next use asks again.
 */
static void on_conn_confirmed(void *arg, const char *err, const char *duplicate)
{
    centry_t *c = arg;
    json_t *identity = c->identity;
    c->identity = NULL;
    if (err == NULL && duplicate == NULL && c->conn != NULL) {
        c->conn->account = identity;
        centry_ready(c, NULL);
        return;
    }
    json_decref(identity);
    c->stale = 1; /* dropped when idle: the next use loads it again (paused now, or asked again) */
    char why[300];
    snprintf(why, sizeof(why), "%s%s", duplicate != NULL ? "connection paused: " : "",
             duplicate != NULL ? duplicate
             : err != NULL     ? err
                               : "the connection closed");
    if (duplicate != NULL)
        oc_log_fields(OC_LOG_WARN, "connection paused: its channel account is another connection's",
                      json_pack("{s:s, s:s, s:s}", "tenant", c->tenant, "connection", c->id, "detail", duplicate));
    centry_ready(c, why);
}

static void on_conn_identified(void *arg, const oc_adapter_error_t *e, json_t *identity, json_t *result)
{
    centry_t *c = arg;
    (void)result;
    if (identity == NULL) {
        char why[300];
        snprintf(why, sizeof(why), "the channel did not confirm the connection's account: %s",
                 e != NULL && e->err != NULL ? e->err : "its answer names none");
        c->stale = 1;
        centry_ready(c, why);
        return;
    }
    c->identity = json_incref(identity);
    if (oc_channels_confirm(oc_sync.db, c->conn->tenant, c->conn->id, identity, on_conn_confirmed, c) != 0)
        on_conn_confirmed(c, "database unavailable", NULL);
}

static void on_loaded(void *arg, const char *err, const oc_db_result_t *res, oc_channel_conn_t *conn)
{
    (void)res;
    centry_t *c = arg;
    c->loading = 0;
    if (conn != NULL) {
        c->conn = conn;
        c->ad = oc_adapter_by_name(oc_channel_kind_name(conn->kind));
        conn->on_secret = on_secret;
        /* The worker retries on its own schedule (listing backoff, routine
         * retry, the circuit breaker): an adapter call gives up early rather
         * than hold a lease through a long outage.  Settings may say otherwise. */
        if (conn->settings == NULL)
            conn->settings = json_object();
        if (json_object_get(conn->settings, "max_attempts") == NULL)
            json_object_set_new(conn->settings, "max_attempts", json_integer(3));
        if (json_object_get(conn->settings, "deadline_ms") == NULL)
            json_object_set_new(conn->settings, "deadline_ms", json_integer(60000));
        if (c->ad == NULL) {
            oc_conn_free(conn);
            c->conn = NULL;
            err = "no adapter for this channel";
        } else if (conn->account == NULL) {
            c->loading = 1; /* until the channel has said which account this is */
            if (oc_conn_identify(oc_sync.http, conn, on_conn_identified, c) != 0) {
                c->stale = 1;
                centry_ready(c, "the channel could not be asked which account the connection is");
            }
            return;
        }
    } else if (err != NULL && strcmp(err, "the credentials do not open") == 0) {
        oc_incidents_credentials_alert(oc_sync.db, c->tenant, c->id,
                                       "the stored credentials do not open with the vault's keys");
    }
    centry_ready(c, err);
}

/* Calls cb with the connection loaded (synchronously when cached). */
void oc_sync_conn_use(centry_t *c, void (*cb)(void *arg, centry_t *ce, const char *err), void *arg)
{
    if (c->conn != NULL && !c->stale && !c->loading) {
        c->last_used_ms = oc_now_ms();
        cb(arg, c, NULL);
        return;
    }
    if (c->conn != NULL && c->stale)
        oc_sync_conn_unload(c);
    if (c->conn != NULL && !c->loading) {
        /* Still in use: an edited connection is used until idle.  One whose account the channel has not
         * confirmed (a duplicate paused, or no answer) never is, whoever still holds it (a push recording its
         * refusal): it would take in every order a second time.  Its next use, once idle, asks again. */
        if (c->conn->account == NULL) {
            cb(arg, NULL, "the channel has not confirmed which account this connection is");
            return;
        }
        cb(arg, c, NULL);
        return;
    }
    waiter_t *w = oc_calloc(1, sizeof(*w));
    w->cb = cb;
    w->arg = arg;
    h2o_linklist_insert(&c->waiters, &w->link);
    if (c->loading)
        return;
    c->loading = 1;
    if (oc_conn_load(oc_sync.db, c->tenant, c->id, on_loaded, c) != 0)
        on_loaded(c, "database unavailable", NULL, NULL);
}

int oc_sync_circuit_allows(centry_t *c)
{
    if (c->circuit == CIRCUIT_OPEN && oc_now_ms() >= c->open_until_ms)
        c->circuit = CIRCUIT_HALF;
    return c->circuit != CIRCUIT_OPEN;
}

const char *oc_sync_circuit_name(const centry_t *c)
{
    return c->circuit == CIRCUIT_OPEN ? "open" : c->circuit == CIRCUIT_HALF ? "half_open" : "closed";
}

/* Updates the breaker after a push batch; returns 1 when it changed state. */
int oc_sync_circuit_record(centry_t *c, int ok, int failed)
{
    int before = c->circuit;
    if (ok > 0) {
        c->circuit = CIRCUIT_CLOSED;
        c->fails = 0;
        c->open_ms = 0;
    } else if (failed > 0) {
        c->fails++;
        if (c->circuit == CIRCUIT_HALF || c->fails >= CIRCUIT_FAILS) {
            c->open_ms = c->open_ms == 0 ? CIRCUIT_MIN_MS : c->open_ms * 2;
            if (c->open_ms > CIRCUIT_MAX_MS)
                c->open_ms = CIRCUIT_MAX_MS;
            c->circuit = CIRCUIT_OPEN;
            c->open_until_ms = oc_now_ms() + c->open_ms;
        }
    }
    return before != (int)c->circuit;
}

void oc_sync_conn_edited(const char *tenant, const char *id)
{
    centry_t *c = oc_sync_conn_find(tenant, id, 0);
    if (c != NULL) {
        c->circuit = CIRCUIT_CLOSED; /* an edit is a reason to try again at once */
        c->fails = 0;
        c->open_ms = 0;
        if (c->conn != NULL)
            oc_sync_conn_unload(c);
    }
}

void oc_sync_conns_unload_idle(void)
{
    uint64_t now = oc_now_ms();
    for (size_t b = 0; b < CBUCKETS; b++)
        for (centry_t *c = oc_sync.conns[b]; c != NULL; c = c->hnext)
            if (c->conn != NULL && c->refs == 0 && !c->pushing && now - c->last_used_ms > CONN_IDLE_MS)
                oc_sync_conn_unload(c);
}

void oc_sync_conns_drop(void)
{
    for (size_t b = 0; b < CBUCKETS; b++)
        for (centry_t *c = oc_sync.conns[b]; c != NULL; c = c->hnext) {
            oc_channel_conn_t *conn = c->conn;
            c->conn = NULL;
            oc_conn_free(conn);
        }
}

void oc_sync_conns_free(int all)
{
    for (size_t b = 0; b < CBUCKETS; b++)
        for (centry_t **pc = &oc_sync.conns[b]; *pc != NULL;) {
            centry_t *c = *pc;
            if (!all && c->identity != NULL) {
                pc = &c->hnext;
                continue;
            }
            *pc = c->hnext;
            while (!h2o_linklist_is_empty(&c->waiters)) {
                waiter_t *w = H2O_STRUCT_FROM_MEMBER(waiter_t, link, c->waiters.next);
                h2o_linklist_unlink(&w->link);
                free(w);
            }
            json_decref(c->identity);
            free(c);
        }
}
