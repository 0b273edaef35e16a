/*
 * exceptions.c — the exception queue and the dashboard (see exceptions.h);
 * the conditions, the refresh and the transitions are migration 0033's SQL.
 */
#include "tenants/exceptions.h"
#include "tenants/brands.h"

#include <string.h>

OC_DB_STMT(exceptions_queue, 10,
           "SELECT exception_queue($1::uuid, $2, $3, $4, $5::uuid, $6::uuid, $7::int, $8::timestamptz, $9::bigint,"
           " $10::int)");
OC_DB_STMT(exceptions_get, 2, "SELECT x FROM exception_get($1, $2::bigint) x WHERE x IS NOT NULL");
OC_DB_STMT(exceptions_act, 9,
           "SELECT x FROM exception_act($1, $2::bigint, CASE WHEN $3::text = 'snooze_hours' THEN 'snooze' ELSE $3 END,"
           " $4::uuid, CASE WHEN $3 = 'snooze_hours' THEN now() + $5::text::int * interval '1 hour'"
           " ELSE $5::text::timestamptz END, $6, $7::uuid, $8::uuid, $9) x WHERE x IS NOT NULL");
OC_DB_STMT(exceptions_dashboard, 0, "SELECT exception_dashboard(NULL)");
OC_DB_STMT(exceptions_brand_dashboard, 1, "SELECT exception_brand_dashboard($1::uuid)");

/* exception_act's refusals (res->detail the message, res->extra the DETAIL): OCEXC a conflict, OCEXV a bad value. */
static int exceptions_refuse(const oc_db_result_t *res, const void *ctx, oc_fail_t *f)
{
    (void)ctx;
    const char *msg = res->detail != NULL ? res->detail : "";
    if (strcmp(res->sqlstate, "OCEXC") == 0) {
        oc_fail(f, OC_FAIL_CONFLICT, "conflict", NULL, "%s", msg);
        return 1;
    }
    if (strcmp(res->sqlstate, "OCEXV") != 0)
        return 0;
    json_t *problems = res->extra != NULL ? json_loads(res->extra, 0, NULL) : NULL;
    if (!json_is_array(problems) || json_array_size(problems) == 0) {
        json_decref(problems);
        problems = json_pack("[{s:n, s:s}]", "field", "message", msg);
    }
    json_t *first = json_array_get(problems, 0);
    oc_fail(f, OC_FAIL_INVALID, "invalid", NULL, "%s", json_string_value(json_object_get(first, "message")));
    f->detail = json_pack("{s:O, s:o}", "field", json_object_get(first, "field"), "problems", problems);
    return 1;
}

static const oc_query_how_t how_item = {.what = "exception", .refuse = exceptions_refuse};

/* A transaction under `tenants` (NULL: every brand of `portfolio`) of one statement. */
static void run_one(oc_thread_t *th, const char *portfolio, const char *tenants, const oc_db_stmt_t *stmt,
                    const char *const *p, int n, const oc_query_how_t *how, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenants};
    if (tenants == NULL)
        oc_brands_portfolio_tenants_step(&tx, portfolio);
    oc_query_step(&tx, stmt, p, n);
    oc_query_answer(th, &tx, how, cb, arg);
}

void oc_exceptions_queue(oc_thread_t *th, const char *portfolio, const char *brands, const oc_exception_filter_t *flt,
                         const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    const char *p[] = {flt->brand,   flt->kind,         flt->severity, flt->state != NULL ? flt->state : "active",
                       flt->owner,   flt->connection,   pg->after[0],  pg->after[1],
                       pg->after[2], pg->limit_plus_one};
    static const oc_query_how_t how = {.what = "exception"};
    run_one(th, portfolio, brands, &exceptions_queue, p, 10, &how, cb, arg);
}

void oc_exceptions_get(oc_thread_t *th, const char *tenant, const char *id, oc_query_cb cb, void *arg)
{
    const char *p[] = {tenant, id};
    run_one(th, NULL, tenant, &exceptions_get, p, 2, &how_item, cb, arg);
}

void oc_exceptions_act(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *action, const char *owner,
                       const char *until, const char *note, oc_query_cb cb, void *arg)
{
    const char *p[] = {a->tenant, id, action, owner, until, note, a->user, a->token, a->request_id};
    run_one(th, NULL, a->tenant, &exceptions_act, p, 9, &how_item, cb, arg);
}

void oc_exceptions_dashboard(oc_thread_t *th, const char *portfolio, const char *brands, oc_query_cb cb, void *arg)
{
    static const oc_query_how_t how = {.what = "dashboard"};
    run_one(th, portfolio, brands, &exceptions_dashboard, NULL, 0, &how, cb, arg);
}

void oc_exceptions_brand_dashboard(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg)
{
    static const oc_query_how_t how = {.what = "brand"};
    const char *p[] = {tenant};
    run_one(th, NULL, tenant, &exceptions_brand_dashboard, p, 1, &how, cb, arg);
}
