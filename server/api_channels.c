/*
 * api_channels.c — the HTTP face of channel connections (credentials
 * write-only), the brand's cross-channel rules, and listings: which SKU is
 * which listing on which connection, and what quantity each channel may show
 * and why.  The domain keeps them (tenants/connections.h, listings.h,
 * rules.h); a handler here validates, asks the channel through the adapters
 * where a connection's account must be confirmed, calls one domain function
 * and maps its answer.
 */
#include "adapters/adapter.h"
#include "adapters/chttp.h"
#include "adapters/sync/conn.h"
#include "server/api.h"
#include "server/page.h"
#include "tenants/channels.h"
#include "tenants/connections.h"
#include "tenants/listings.h"
#include "tenants/rules.h"
#include "tenants/vault.h"
#include "runtime/text.h"

#include <stdio.h>
#include <stdlib.h>

typedef void (*after_identify_fn)(oc_req_t *r);

typedef struct {
    /* creating or changing a connection */
    char id[37];
    json_t *secrets; /* the credentials given, out of the body (wiped when the request ends) */
    /* testing a connection */
    oc_channel_conn_t *conn;
    uint64_t started_ms;
    json_t *answer;
    /* the account the channel confirmed (create, update, test): tenants/channels.h */
    json_t *identity;
    int identified;         /* update: the connection's account was asked again (identity NULL: no answer) */
    after_identify_fn then; /* what runs once the channel answered (or could not be asked) */
} ch_t;

static void ch_free(void *p)
{
    ch_t *c = p;
    oc_vault_wipe_json(c->secrets);
    json_decref(c->answer);
    json_decref(c->identity);
    oc_conn_free(c->conn);
    free(c);
}

static ch_t *state(oc_req_t *r)
{
    ch_t *c = oc_calloc(1, sizeof(*c));
    r->state = c;
    r->state_free = ch_free;
    return c;
}

/* A domain call that failed before it started (its callback is never called). */
static void refused(oc_req_t *r, oc_fail_t *f)
{
    oc_respond_fail(r, f);
    oc_fail_clear(f);
}

/* The sort key of a list item: the string members named, in order (a NULL-ended list). */
static json_t *key_of(json_t *item, const char *const *names)
{
    json_t *key = json_array();
    for (; *names != NULL; names++)
        json_array_append_new(key, json_string(json_string_value(json_object_get(item, *names))));
    return key;
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

const oc_field_t oc_api_rule_fields[] = {
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

static json_t *name_key(json_t *item)
{
    return key_of(item, (const char *const[]){"name", "id", NULL});
}

void oc_api_connections_list(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, name_key);
    if (pg == NULL)
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_connections_list(r->thread, r->tenant, &keys, oc_page_answer, pg);
}

void oc_api_connection_get(oc_req_t *r)
{
    const char *cid = oc_req_id_param(r, "cid", "no such connection");
    if (cid != NULL)
        oc_connections_get(r->thread, r->tenant, cid, oc_api_answer, r);
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

/* --- the account a connection reaches, asked of the channel (tenants/channels.h) --------- */

/* A connection as it would be, for asking the channel who it is: kind, base URL, settings, secrets (copies). */
static oc_channel_conn_t *probe_conn(const char *tenant, const char *id, const char *kind, const char *base_url,
                                     const json_t *settings, const json_t *secrets)
{
    oc_channel_conn_t *c = oc_calloc(1, sizeof(*c));
    char buf[512];
    oc_strlcpy(c->tenant, tenant, strlen(tenant), sizeof(c->tenant));
    oc_strlcpy(c->id, id, strlen(id), sizeof(c->id));
    c->kind = oc_channel_kind_parse(kind);
    if (base_url == NULL)
        base_url = default_base(kind, (json_t *)settings, buf, sizeof(buf));
    c->base_url = oc_strdup(base_url != NULL ? base_url : "");
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

/* Keeps the credentials given in the request state, out of the parsed body (where they must not stay). */
static void take_secrets(oc_req_t *r, ch_t *st, json_t *secrets)
{
    st->secrets = json_incref(secrets);
    json_object_del(r->body, "credentials");
}

static void create_run(oc_req_t *r)
{
    ch_t *st = r->state;
    char buf[512];
    const char *base_url = oc_json_str(r->body, "base_url");
    if (base_url == NULL)
        base_url = default_base(oc_json_str(r->body, "kind"), json_object_get(r->body, "settings"), buf, sizeof(buf));
    oc_connection_spec_t c = {
        .fields = r->body, .base_url = base_url, .secrets = st->secrets, .identified = 1, .identity = st->identity};
    oc_connections_create(r->thread, oc_req_actor(r), st->id, &c, oc_api_answer_created, r);
}

void oc_api_connection_create(oc_req_t *r)
{
    static const char *const kinds[] = {"shopify", "amazon", "walmart", NULL};
    static const oc_field_t fields[] = {
        {"kind", OC_F_ENUM, OC_REQUIRED, 0, 0, kinds}, {"name", OC_F_STRING, OC_REQUIRED, 1, 100},
        {"base_url", OC_F_STRING, 0, 1, 500},          {"settings", OC_F_OBJECT, OC_REQUIRED},
        {"credentials", OC_F_OBJECT, OC_REQUIRED},     {"rules", OC_F_OBJECT, 0, .fields = oc_api_rule_fields},
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
    st->conn = probe_conn(r->tenant, st->id, oc_json_str(r->body, "kind"), base_url, settings, secrets);
    take_secrets(r, st, secrets);
    /* the channel says which account this is, when it answers: a second active connection to it is refused */
    identify_then(r, create_run);
}

/* PATCH: name, base_url, settings, status (active/paused), rules, rate_scale,
 * and credentials (replaced whole, sealed again). */
static void update_run(oc_req_t *r)
{
    ch_t *st = r->state;
    oc_connection_spec_t c = {.fields = r->body,
                              .base_url = oc_json_str(r->body, "base_url"),
                              .secrets = st->secrets,
                              .identified = st->identified,
                              .identity = st->identity};
    oc_connections_update(r->thread, oc_req_actor(r), oc_req_param(r, "cid"), &c, oc_api_answer, r);
}

/*
 * When oc_conn_load found no connection or the database failed: answers and
 * returns 1.  A connection whose credentials do not open is the caller's to
 * judge (0).
 */
static int load_failed(oc_req_t *r, const char *err, const oc_db_result_t *res, const oc_channel_conn_t *conn)
{
    if (conn != NULL)
        return 0;
    if (res != NULL) {
        oc_respond_db_error(r, res);
        return 1;
    }
    if (err != NULL && strcmp(err, "not found") == 0) {
        oc_respond_error(r, 404, "not_found", "no such connection", NULL);
        return 1;
    }
    return 0;
}

/* The connection as it is, overlaid with the request's settings, base URL and credentials, asked who it is. */
static void on_update_loaded(void *arg, const char *err, const oc_db_result_t *res, oc_channel_conn_t *conn)
{
    oc_req_t *r = arg;
    ch_t *st = r->state;
    if (load_failed(r, err, res, conn))
        return;
    st->identified = 1; /* asked again: without an answer, the account is confirmed later */
    if (conn == NULL) { /* the stored credentials do not open: new ones alone cannot say which settings apply */
        update_run(r);
        return;
    }
    json_t *settings = json_object_get(r->body, "settings");
    const char *base_url = oc_json_str(r->body, "base_url");
    st->conn =
        probe_conn(r->tenant, conn->id, oc_channel_kind_name(conn->kind), base_url != NULL ? base_url : conn->base_url,
                   settings != NULL ? settings : conn->settings, st->secrets != NULL ? st->secrets : conn->secrets);
    oc_conn_free(conn);
    identify_then(r, update_run);
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
        {"rules", OC_F_OBJECT, 0, .fields = oc_api_rule_fields},
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
    if (secrets != NULL)
        take_secrets(r, st, secrets);
    if (secrets == NULL && json_object_get(r->body, "settings") == NULL && base_url == NULL) {
        update_run(r);
        return;
    }
    /* New credentials, settings or base URL may reach another account: ask the channel with them */
    if (oc_conn_load(r->thread->db, r->tenant, oc_req_param(r, "cid"), on_update_loaded, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_connection_delete(oc_req_t *r)
{
    const char *cid = oc_req_id_param(r, "cid", "no such connection");
    if (cid != NULL)
        oc_connections_delete(r->thread, oc_req_actor(r), cid, oc_api_answer, r);
}

void oc_api_connection_automap(oc_req_t *r)
{
    if (oc_req_id_param(r, "cid", "no such connection") == NULL || oc_req_validate(r, oc_no_fields) != 0)
        return;
    oc_listings_automap(r->thread, oc_req_actor(r), oc_req_param(r, "cid"), oc_api_answer, r);
}

/* --- brand rules -------------------------------------------------------------------- */

void oc_api_rules_get(oc_req_t *r)
{
    oc_rules_get(r->thread, r->tenant, oc_api_answer, r);
}

void oc_api_rules_put(oc_req_t *r)
{
    static const oc_field_t last_units_fields[] = {
        {"threshold", OC_F_INT, OC_REQUIRED, 0, 1000000000}, {"connection_id", OC_F_UUID, OC_REQUIRED}, {NULL}};
    static const oc_field_t fields[] = {
        {"last_units", OC_F_OBJECT, OC_NULLABLE, .fields = last_units_fields}, /* null or absent: no rule */
        {NULL},
    };
    if (oc_req_validate(r, fields) == 0)
        oc_rules_put(r->thread, oc_req_actor(r), r->body, oc_api_answer, r);
}

/* --- listings -------------------------------------------------------------------------- */

static json_t *listing_key(json_t *item)
{
    return key_of(item, (const char *const[]){"connection", "sku", "id", NULL});
}

void oc_api_listings_list(oc_req_t *r)
{
    /* in the order of oc_listings_sort_t */
    static const oc_sort_col_t sorts[] = {{"channel", "connection", NULL},  {"sku", "sku", NULL},
                                          {"desired", "desired_qty", "-1"}, {"pushed", "pushed_qty", "-1"},
                                          {"seen", "seen_qty", "-1"},       {NULL}};
    oc_page_t *pg = oc_page_start_sorted(r, 3, listing_key, sorts, "id");
    if (pg == NULL)
        return;
    oc_listings_filter_t flt = {.connection = oc_req_query(r, "connection"),
                                .sku = oc_req_query(r, "sku"),
                                .out_of_sync = oc_req_query(r, "out_of_sync"),
                                .state = oc_req_query(r, "state"),
                                .sort = (oc_listings_sort_t)pg->sort_index,
                                .desc = pg->sort_desc};
    if (flt.connection != NULL && !oc_is_uuid(flt.connection, strlen(flt.connection))) {
        oc_respond_error(r, 422, "invalid", "connection must be a connection id", "connection");
        return;
    }
    if (flt.out_of_sync != NULL && strcmp(flt.out_of_sync, "true") != 0 && strcmp(flt.out_of_sync, "false") != 0) {
        oc_respond_error(r, 422, "invalid", "out_of_sync is true or false", "out_of_sync");
        return;
    }
    if (flt.state != NULL && strcmp(flt.state, "active") != 0 && strcmp(flt.state, "paused") != 0) {
        oc_respond_error(r, 422, "invalid", "state is active or paused", "state");
        return;
    }
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_listings_list(r->thread, r->tenant, &flt, &keys, oc_page_answer, pg);
}

/* Every item a listing id. */
static int listing_ids_ok(const json_t *v)
{
    size_t i;
    json_t *id;
    json_array_foreach(v, i, id)
    {
        if (!json_is_string(id) || !oc_is_uuid(json_string_value(id), json_string_length(id)))
            return -1;
    }
    return 0;
}

/*
 * POST /listings/bulk {"action": "pause"|"resume"|"repush", "ids": [...]}:
 * one transaction; per listing, done, unchanged (already so) or failed (not
 * this brand's), in words the console shows.
 */
void oc_api_listings_bulk(oc_req_t *r)
{
    static const char *const actions[] = {"pause", "resume", "repush", NULL};
    static const oc_field_t fields[] = {
        {"action", OC_F_ENUM, OC_REQUIRED, .choices = actions, .message = "action is pause, resume or repush"},
        {"ids", OC_F_ARRAY, OC_REQUIRED, 1, 200, .message = "ids is a list of 1 to 200 listing ids",
         .check = listing_ids_ok},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    json_t *ids = json_object_get(r->body, "ids");
    oc_buf_t b = {0};
    for (size_t i = 0; i < json_array_size(ids); i++)
        oc_db_array_add(&b, json_string_value(json_array_get(ids, i)));
    const char *lit = oc_db_array_end(&b);
    if (lit == NULL) {
        oc_buf_free(&b);
        oc_respond_error(r, 500, "internal", "out of memory", NULL);
        return;
    }
    size_t n = strlen(lit) + 1;
    char *copy = oc_req_alloc(r, n);
    memcpy(copy, lit, n);
    oc_buf_free(&b);
    oc_listings_bulk(r->thread, oc_req_actor(r), oc_json_str(r->body, "action"), copy, oc_api_answer, r);
}

void oc_api_listing_create(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"connection_id", OC_F_UUID, 1},
        {"sku", OC_F_STRING, 1, 1, 64},
        {"external_sku", OC_F_STRING, 0, 1, 200},
        {"item_ref", OC_F_STRING, 0, 1, 200},
        {"location_ref", OC_F_STRING, 0, 1, 200},
        {"rules", OC_F_OBJECT, 0, .fields = oc_api_rule_fields},
        {NULL},
    };
    if (oc_req_validate(r, fields) == 0)
        oc_listings_create(r->thread, oc_req_actor(r), r->body, oc_api_answer_created, r);
}

void oc_api_listing_get(oc_req_t *r)
{
    const char *lid = oc_req_id_param(r, "lid", "no such listing");
    if (lid != NULL)
        oc_listings_get(r->thread, r->tenant, lid, oc_api_answer, r);
}

void oc_api_listing_update(oc_req_t *r)
{
    static const char *const states[] = {"active", "paused", NULL};
    static const oc_field_t fields[] = {
        {"external_sku", OC_F_STRING, 0, 1, 200},
        {"item_ref", OC_F_STRING, 0, 1, 200},
        {"location_ref", OC_F_STRING, 0, 1, 200},
        {"rules", OC_F_OBJECT, 0, .fields = oc_api_rule_fields},
        {"state", OC_F_ENUM, 0, 0, 0, states},
        {"repush", OC_F_BOOL, 0},
        {NULL},
    };
    if (oc_req_id_param(r, "lid", "no such listing") == NULL || oc_req_validate(r, fields) != 0)
        return;
    oc_listings_update(r->thread, oc_req_actor(r), oc_req_param(r, "lid"), r->body, oc_api_answer, r);
}

void oc_api_listing_delete(oc_req_t *r)
{
    const char *lid = oc_req_id_param(r, "lid", "no such listing");
    if (lid != NULL)
        oc_listings_delete(r->thread, oc_req_actor(r), lid, oc_api_answer, r);
}

/* SKU × connection pairs with no listing: new SKUs not yet on every channel. */
static json_t *unmapped_key(json_t *item)
{
    return key_of(item, (const char *const[]){"connection", "sku", "connection_id", NULL});
}

void oc_api_listings_unmapped(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 3, unmapped_key);
    if (pg == NULL)
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_listings_unmapped(r->thread, r->tenant, &keys, oc_page_answer, pg);
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
    oc_respond_json(r, 200, json_incref(((ch_t *)r->state)->answer));
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
        oc_respond_json(r, 200, json_incref(body));
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
    if (load_failed(r, err, res, conn))
        return;
    if (conn == NULL) {
        oc_respond_error(r, 409, "credentials", "the stored credentials do not open: set them again", "credentials");
        return;
    }
    const oc_adapter_t *a = oc_adapter_by_name(oc_channel_kind_name(conn->kind));
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

static void on_sim_target(void *arg, const oc_fail_t *f, const char *base, const char *account)
{
    oc_req_t *r = arg;
    if (f != NULL) {
        oc_respond_fail(r, f);
        return;
    }
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
    oc_fail_t f = {0};
    if (oc_connections_sim_target(r->thread->db, r->tenant, cid, &f, on_sim_target, r) != 0)
        refused(r, &f);
}
