/*
 * notify.c — webhook endpoints, preferences, sealed e-mail and the worker's
 * delivery operations (see notify.h); the rules are SQL functions of
 * migration 0034.
 */
#include "tenants/notify.h"
#include "tenants/vault.h"
#include "runtime/config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_PURPOSE "webhook_secret"
#define EMAIL_PURPOSE  "email_text"

int oc_notify_email_enabled(void)
{
    return oc_config.smtp_url != NULL && oc_config.smtp_url[0] != '\0';
}

OC_DB_STMT(notify_endpoints, 1,
           "SELECT coalesce(jsonb_agg(webhook_endpoint_json(e) ORDER BY e.created_at, e.id), '[]')"
           " FROM webhook_endpoints e WHERE e.portfolio_id = $1::uuid");
OC_DB_STMT(
    notify_endpoint_get, 2,
    "SELECT webhook_endpoint_json(e) FROM webhook_endpoints e WHERE e.id = $2::uuid AND e.portfolio_id = $1::uuid");
OC_DB_STMT(
    notify_endpoint_save, 10,
    "SELECT webhook_endpoint_save($1::uuid, $2::uuid, $3::boolean, $4::jsonb, $5::int, $6, $7, $8::uuid, $9::uuid,"
    " $10)");
OC_DB_STMT(notify_endpoint_delete, 5, "SELECT webhook_endpoint_delete($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5)");
/* No row: no such endpoint in the portfolio. */
OC_DB_STMT(notify_endpoint_test, 2, "SELECT x FROM notify_webhook_test($1::uuid, $2::uuid) x WHERE x IS NOT NULL");
OC_DB_STMT(notify_endpoint_exists, 2,
           "SELECT 1 FROM webhook_endpoints WHERE id = $2::uuid AND portfolio_id = $1::uuid");
OC_DB_STMT(notify_deliveries, 5,
           "SELECT notify_delivery_json(o.id) FROM notify_outbox o"
           " WHERE o.endpoint_id = $2::uuid AND o.portfolio_id = $1::uuid"
           "   AND ($3::text IS NULL OR (o.created_at, o.id) < ($3::timestamptz, $4::uuid))"
           " ORDER BY o.created_at DESC, o.id DESC LIMIT $5");
OC_DB_STMT(notify_prefs_get, 2, "SELECT notify_prefs_json($1::uuid, $2::uuid)");
OC_DB_STMT(notify_prefs_save, 3, "SELECT notify_prefs_save($1::uuid, $2::uuid, $3::jsonb)");
OC_DB_STMT(notify_email_sealed, 9,
           "SELECT notify_email_sealed($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7::int, $8, $9)");

/* OCNTV: an unsound input (DETAIL: every problem); OCNTN: no such endpoint. */
static int notify_refuse(const oc_db_result_t *res, const void *ctx, oc_fail_t *f)
{
    (void)ctx;
    const char *msg = res->detail != NULL ? res->detail : "";
    if (strcmp(res->sqlstate, "OCNTV") == 0) {
        json_t *problems = res->extra != NULL ? json_loads(res->extra, 0, NULL) : NULL;
        if (!json_is_array(problems) || json_array_size(problems) == 0) {
            json_decref(problems);
            problems = json_pack("[{s:n, s:s}]", "field", "message", msg);
        }
        json_t *first = json_array_get(problems, 0);
        oc_fail(f, OC_FAIL_INVALID, "invalid", json_string_value(json_object_get(first, "field")), "%s",
                json_string_value(json_object_get(first, "message")));
        f->detail = json_pack("{s:o}", "problems", problems);
    } else if (strcmp(res->sqlstate, "OCNTN") == 0)
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "%s", msg);
    else
        return 0;
    return 1;
}

static const oc_query_how_t how_endpoint = {.what = "webhook endpoint", .refuse = notify_refuse};
static const oc_query_how_t how_prefs = {.what = "person", .refuse = notify_refuse};

static void run1(oc_thread_t *th, const oc_db_stmt_t *stmt, const char *const *p, int n, const oc_query_how_t *how,
                 oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {0};
    oc_query_step(&tx, stmt, p, n);
    oc_query_answer(th, &tx, how, cb, arg);
}

void oc_notify_endpoints(oc_thread_t *th, const char *portfolio, oc_query_cb cb, void *arg)
{
    const char *p[] = {portfolio};
    run1(th, &notify_endpoints, p, 1, &how_endpoint, cb, arg);
}

void oc_notify_endpoint_get(oc_thread_t *th, const char *portfolio, const char *id, oc_query_cb cb, void *arg)
{
    const char *p[] = {portfolio, id};
    run1(th, &notify_endpoint_get, p, 2, &how_endpoint, cb, arg);
}

/* --- creating and rotating: the secret is made here, answered once, stored sealed --- */

typedef struct {
    char secret[6 + 64 + 1]; /* "whsec_" + 32 random bytes in hex */
    oc_query_cb cb;
    void *arg;
} secret_answer_t;

static void on_secret_saved(void *arg, json_t *v, const oc_fail_t *f)
{
    secret_answer_t *s = arg;
    if (v != NULL)
        json_object_set_new(v, "secret", json_string(s->secret));
    oc_query_cb cb = s->cb;
    void *cb_arg = s->arg;
    sodium_memzero(s, sizeof(*s));
    free(s);
    cb(cb_arg, v, f);
}

static void save_with_secret(oc_thread_t *th, const oc_actor_t *a, const char *id, int create, const json_t *in,
                             oc_query_cb cb, void *arg)
{
    secret_answer_t *s = oc_calloc(1, sizeof(*s));
    s->cb = cb;
    s->arg = arg;
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    memcpy(s->secret, "whsec_", 6);
    sodium_bin2hex(s->secret + 6, sizeof(s->secret) - 6, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    int version = 0;
    char *wrapped = NULL, *sealed = NULL;
    if (oc_vault_seal_own(id, SECRET_PURPOSE, s->secret, strlen(s->secret), &version, &wrapped, &sealed) != 0) {
        sodium_memzero(s, sizeof(*s));
        free(s);
        oc_fail_t f = {0};
        oc_fail(&f, OC_FAIL_UNAVAILABLE, "unavailable", NULL,
                "the credential vault has no key: webhook secrets cannot be stored");
        cb(arg, NULL, &f);
        oc_fail_clear(&f);
        return;
    }
    char v[24];
    const char *p[] = {a->portfolio,
                       id,
                       create ? "true" : "false",
                       oc_actor_json(a, in),
                       oc_query_int(v, version),
                       wrapped,
                       sealed,
                       a->user,
                       a->token,
                       a->request_id};
    oc_db_tx_t tx = {0};
    oc_query_step(&tx, &notify_endpoint_save, p, 10);
    oc_query_answer(th, &tx, &how_endpoint, on_secret_saved, s);
    free(wrapped);
    free(sealed);
}

void oc_notify_endpoint_create(oc_thread_t *th, const oc_actor_t *a, const json_t *in, oc_query_cb cb, void *arg)
{
    char id[37];
    oc_uuid_v4(id);
    save_with_secret(th, a, id, 1, in, cb, arg);
}

void oc_notify_endpoint_rotate(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg)
{
    json_t *none = json_object();
    save_with_secret(th, a, id, 0, none, cb, arg);
    json_decref(none);
}

void oc_notify_endpoint_update(oc_thread_t *th, const oc_actor_t *a, const char *id, const json_t *in, oc_query_cb cb,
                               void *arg)
{
    const char *p[] = {a->portfolio, id,      "false",  oc_actor_json(a, in), NULL, NULL,
                       NULL,         a->user, a->token, a->request_id};
    run1(th, &notify_endpoint_save, p, 10, &how_endpoint, cb, arg);
}

void oc_notify_endpoint_delete(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg)
{
    const char *p[] = {a->portfolio, id, a->user, a->token, a->request_id};
    run1(th, &notify_endpoint_delete, p, 5, &how_endpoint, cb, arg);
}

void oc_notify_endpoint_test(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg)
{
    const char *p[] = {a->portfolio, id};
    run1(th, &notify_endpoint_test, p, 2, &how_endpoint, cb, arg);
}

/* A page of deliveries; an endpoint of another portfolio is not found (not an empty page). */
static json_t *read_deliveries(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    if (res->err == NULL && PQntuples(res->results[0]) == 0) {
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such %s", what);
        return NULL;
    }
    return oc_query_rows(res, what, f);
}

void oc_notify_deliveries(oc_thread_t *th, const char *portfolio, const char *id, const oc_page_keys_t *pg,
                          oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {0};
    const char *p[] = {portfolio, id};
    oc_query_step(&tx, &notify_endpoint_exists, p, 2);
    oc_query_page_step(&tx, &notify_deliveries, p, 2, pg, 2);
    oc_query_run(th, &tx, read_deliveries, "webhook endpoint", cb, arg);
}

/* --- preferences --- */

static json_t *read_prefs(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    json_t *v = oc_query_one(res, what, f);
    if (v != NULL)
        json_object_set_new(v, "email_enabled", json_boolean(oc_notify_email_enabled()));
    return v;
}

void oc_notify_prefs_get(oc_thread_t *th, const char *portfolio, const char *user, oc_query_cb cb, void *arg)
{
    const char *p[] = {portfolio, user};
    oc_query_exec(th, NULL, &notify_prefs_get, p, read_prefs, "person", cb, arg);
}

static const oc_query_how_t how_prefs_save = {.read = read_prefs, .what = "person", .refuse = notify_refuse};

void oc_notify_prefs_put(oc_thread_t *th, const char *portfolio, const char *user, const json_t *in, oc_query_cb cb,
                         void *arg)
{
    char *text = json_dumps(in, JSON_COMPACT);
    const char *p[] = {portfolio, user, text};
    (void)how_prefs;
    run1(th, &notify_prefs_save, p, 3, &how_prefs_save, cb, arg);
    free(text);
}

/* --- e-mail with a secret in it --- */

int oc_notify_email_sealed_step(oc_db_tx_t *tx, const oc_actor_t *a, const char *invitation, const char *rcpt,
                                const char *event, const char *subject, const char *text)
{
    if (!oc_notify_email_enabled() || !oc_vault_ready())
        return OC_EUNAVAIL;
    char id[37];
    oc_uuid_v4(id);
    int version = 0;
    char *wrapped = NULL, *sealed = NULL;
    int rc = oc_vault_seal_own(id, EMAIL_PURPOSE, text, strlen(text), &version, &wrapped, &sealed);
    if (rc != 0)
        return rc;
    /* The step's parameters outlive this call (the caller runs tx later): copies in the actor's pool. */
    char v[24];
    oc_query_int(v, version);
    const char *p[] = {h2o_strdup(a->pool, id, SIZE_MAX).base,
                       a->portfolio,
                       invitation,
                       rcpt,
                       event,
                       subject,
                       h2o_strdup(a->pool, v, SIZE_MAX).base,
                       h2o_strdup(a->pool, wrapped, SIZE_MAX).base,
                       h2o_strdup(a->pool, sealed, SIZE_MAX).base};
    rc = oc_query_step(tx, &notify_email_sealed, p, 9) < 0 ? OC_EINVAL : 0;
    free(wrapped);
    free(sealed);
    return rc;
}

/* --- the worker's side --- */

OC_DB_STMT(notify_claim, 3,
           "SELECT id, channel, url, rcpt, event, subject, body, key_version, key_wrapped, sealed, attempt, seal_owner"
           " FROM notify_claim($1, $2::int, $3::int)");
OC_DB_STMT(notify_finish, 6, "SELECT notify_finish($1::uuid, $2, $3::boolean, $4::int, $5::int, $6)");
OC_DB_STMT(notify_digests, 1, "SELECT notify_digest_run($1::int)");
OC_DB_STMT(notify_prune, 2, "SELECT notify_prune($1::bigint, $2::int)");

static unsigned char *from_b64(const char *s, size_t *len)
{
    size_t cap = strlen(s) / 4 * 3 + 3;
    unsigned char *out = oc_malloc(cap);
    /* encode(…, 'base64') breaks its lines */
    if (sodium_base642bin(out, cap, s, strlen(s), "\r\n", len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static void read_claim(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    oc_notify_claim_cb cb = (oc_notify_claim_cb)done;
    if (f != NULL) {
        cb(arg, NULL, 0, f);
        return;
    }
    const PGresult *r = oc_query_last(res);
    int n = PQntuples(r);
    oc_notify_item_t *items = oc_calloc((size_t)(n > 0 ? n : 1), sizeof(*items));
    for (int i = 0; i < n; i++) {
        oc_notify_item_t *it = &items[i];
        it->id = oc_db_get(r, i, 0);
        it->channel = oc_db_get(r, i, 1);
        it->url = oc_db_get(r, i, 2);
        it->rcpt = oc_db_get(r, i, 3);
        it->event = oc_db_get(r, i, 4);
        it->subject = oc_db_get(r, i, 5);
        it->body = oc_db_get(r, i, 6);
        it->attempt = (int)oc_db_get_ll(r, i, 10, 1);
        /* A webhook's secret is sealed for its endpoint, an e-mail's text for its own row (seal_owner). */
        const char *w = oc_db_get(r, i, 8), *s = oc_db_get(r, i, 9);
        if (w != NULL && s != NULL && oc_db_get(r, i, 7) != NULL && oc_db_get(r, i, 11) != NULL) {
            size_t wl = 0, sl = 0;
            unsigned char *wb = from_b64(w, &wl), *sb = from_b64(s, &sl);
            if (wb != NULL && sb != NULL)
                it->secret = oc_vault_open_own(oc_db_get(r, i, 11),
                                               strcmp(it->channel, "webhook") == 0 ? SECRET_PURPOSE : EMAIL_PURPOSE,
                                               (int)oc_db_get_ll(r, i, 7, 0), wb, wl, sb, sl, &it->secret_len);
            free(wb);
            free(sb);
        }
    }
    cb(arg, items, n, NULL);
    for (int i = 0; i < n; i++)
        if (items[i].secret != NULL)
            oc_vault_free(items[i].secret, items[i].secret_len);
    free(items);
}

int oc_notify_claim(oc_db_pool_t *db, const char *owner, int lease_s, int limit, oc_notify_claim_cb cb, void *arg)
{
    char l[24], m[24];
    const char *p[] = {owner, oc_query_int(l, lease_s), oc_query_int(m, limit)};
    return oc_query_typed_exec(db, NULL, &notify_claim, p, read_claim, (void (*)(void))cb, arg);
}

int oc_notify_finish(oc_db_pool_t *db, const char *id, const char *owner, int ok, int status, long long duration_ms,
                     const char *error, oc_query_done_cb cb, void *arg)
{
    char s[24], d[24];
    const char *p[] = {
        id,   owner, ok ? "true" : "false", status > 0 ? oc_query_int(s, status) : NULL, oc_query_int(d, duration_ms),
        error};
    return oc_query_typed_exec(db, NULL, &notify_finish, p, oc_query_read_done, (void (*)(void))cb, arg);
}

int oc_notify_digests(oc_db_pool_t *db, int limit, oc_query_done_cb cb, void *arg)
{
    char l[24];
    const char *p[] = {oc_query_int(l, limit)};
    return oc_query_typed_exec(db, NULL, &notify_digests, p, oc_query_read_done, (void (*)(void))cb, arg);
}

int oc_notify_prune(oc_db_pool_t *db, long long keep_s, int limit, oc_query_done_cb cb, void *arg)
{
    char k[24], l[24];
    const char *p[] = {oc_query_int(k, keep_s), oc_query_int(l, limit)};
    return oc_query_typed_exec(db, NULL, &notify_prune, p, oc_query_read_done, (void (*)(void))cb, arg);
}
