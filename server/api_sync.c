/*
 * api_sync.c — what the sync engine is doing, per brand (tenants/syncview.h):
 * connection health, alerts, drift, the routines table and their runs, channel orders and
 * parked order lines, and a SKU's timeline.
 */
#include "server/api.h"
#include "runtime/config.h"
#include "server/page.h"
#include "tenants/syncview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *key_at_id(json_t *item)
{
    json_t *id = json_object_get(item, "id");
    char buf[32];
    if (json_is_integer(id))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(id));
    return json_pack("[s, s]", json_string_value(json_object_get(item, "at")),
                     json_is_string(id) ? json_string_value(id) : buf);
}

int oc_api_check_uuid(oc_req_t *r, const char *v, const char *field)
{
    if (v == NULL || oc_is_uuid(v, strlen(v)))
        return 1;
    oc_respond_error(r, 422, "invalid", "must be an id", field);
    return 0;
}

int oc_api_check_enum(oc_req_t *r, const char *v, const char *const *allowed, const char *field)
{
    if (v == NULL)
        return 1;
    for (const char *const *a = allowed; *a; a++)
        if (strcmp(*a, v) == 0)
            return 1;
    char msg[160] = "must be one of:";
    for (const char *const *a = allowed; *a; a++)
        snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " %s", *a);
    oc_respond_error(r, 422, "invalid", msg, field);
    return 0;
}

/* --- health ------------------------------------------------------------------------- */

void oc_api_sync_status(oc_req_t *r)
{
    oc_syncview_status(r->thread, r->tenant, oc_config.stuck_after_seconds, oc_api_answer, r);
}

void oc_api_connection_health(oc_req_t *r)
{
    const char *cid = oc_req_id_param(r, "cid", "no such connection");
    if (cid == NULL)
        return;
    oc_syncview_health(r->thread, r->tenant, cid, oc_api_answer, r);
}

/* --- alerts and drift ------------------------------------------------------------------ */

static const char *const alert_states[] = {"open", "resolved", "all", NULL};
static const char *const drift_states[] = {"open", "healed", "all", NULL};

/* The alerts and drift lists: ?state= (one of `states`, default `dflt`) and ?connection=. */
static void state_list(oc_req_t *r, const char *const *states, const char *dflt,
                       void (*list)(oc_thread_t *, const char *, const char *, const char *, const oc_page_keys_t *,
                                    oc_query_cb, void *))
{
    oc_page_t *pg = oc_page_start(r, 2, key_at_id);
    if (pg == NULL)
        return;
    const char *s = oc_req_query(r, "state"), *conn = oc_req_query(r, "connection");
    if (!oc_api_check_enum(r, s, states, "state") || !oc_api_check_uuid(r, conn, "connection"))
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    list(r->thread, r->tenant, s != NULL ? s : dflt, conn, &keys, oc_page_answer, pg);
}

void oc_api_alerts_list(oc_req_t *r)
{
    state_list(r, alert_states, "open", oc_syncview_alerts);
}

void oc_api_alert_resolve(oc_req_t *r)
{
    if (oc_req_validate(r, oc_no_fields) != 0)
        return;
    const char *aid = oc_req_num_param(r, "aid", "no such alert");
    if (aid == NULL)
        return;
    oc_syncview_alert_resolve(r->thread, oc_req_actor(r), aid, oc_api_answer, r);
}

void oc_api_drift_list(oc_req_t *r)
{
    state_list(r, drift_states, "all", oc_syncview_drift);
}

/* --- routines --------------------------------------------------------------------------- */

void oc_api_routines_list(oc_req_t *r)
{
    oc_syncview_routines(r->thread, r->tenant, oc_api_answer, r);
}

static const char *const routine_kinds[] = {"poll_orders",       "poll_returns",  "read_back",         "full_repush",
                                            "velocity",          "unlisted_skus", "bundle_components", "low_stock",
                                            "connection_health", "buffer_review", "checklist",         NULL};
static const char *const run_statuses[] = {"running", "ok", "failed", "interrupted", "missed", NULL};

void oc_api_routine_runs_list(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, key_at_id);
    if (pg == NULL)
        return;
    const char *kind = oc_req_query(r, "kind"), *conn = oc_req_query(r, "connection_id"),
               *status = oc_req_query(r, "status");
    if (!oc_api_check_enum(r, kind, routine_kinds, "kind") || !oc_api_check_uuid(r, conn, "connection_id") ||
        !oc_api_check_enum(r, status, run_statuses, "status"))
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_syncview_routine_runs(r->thread, r->tenant, kind, conn, status, &keys, oc_page_answer, pg);
}

void oc_api_routine_update(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"interval_seconds", OC_F_INT, 0, 10, 604800},
        {"enabled", OC_F_BOOL, 0},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *rid = oc_req_id_param(r, "rid", "no such routine");
    if (rid == NULL)
        return;
    char iv[24] = "";
    json_t *v = json_object_get(r->body, "interval_seconds");
    if (v != NULL)
        snprintf(iv, sizeof(iv), "%lld", (long long)json_integer_value(v));
    json_t *en = json_object_get(r->body, "enabled");
    oc_syncview_routine_update(r->thread, oc_req_actor(r), rid, iv[0] ? iv : NULL, en == NULL ? -1 : json_is_true(en),
                               oc_api_answer, r);
}

void oc_api_routine_run(oc_req_t *r)
{
    if (oc_req_validate(r, oc_no_fields) != 0)
        return;
    const char *rid = oc_req_id_param(r, "rid", "no such routine");
    if (rid == NULL)
        return;
    oc_syncview_routine_run(r->thread, r->tenant, rid, oc_api_answer, r);
}

/* --- orders ------------------------------------------------------------------------------ */

void oc_api_orders_unmapped(oc_req_t *r)
{
    oc_syncview_unmapped(r->thread, r->tenant, oc_api_answer, r);
}

void oc_api_orders_list(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, key_at_id);
    if (pg == NULL)
        return;
    const char *conn = oc_req_query(r, "connection");
    if (!oc_api_check_uuid(r, conn, "connection"))
        return;
    const char *from = oc_req_query(r, "from"), *to = oc_req_query(r, "to");
    if (!oc_query_range_ok(r, from, to))
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_syncview_orders(r->thread, r->tenant, conn, oc_req_query(r, "external_id"), from, to, &keys, oc_page_answer, pg);
}

/* --- a SKU's timeline -------------------------------------------------------------------- */

static void on_timeline(void *arg, json_t *v, const oc_fail_t *f)
{
    oc_page_t *pg = arg;
    if (f != NULL) {
        oc_respond_fail(pg->req, f);
        return;
    }
    json_t *out = oc_page_result(pg, json_incref(json_object_get(v, "items")), key_at_id);
    json_t *shown = json_object_get(v, "shown_at");
    if (shown != NULL)
        json_object_set(out, "shown_at", shown);
    json_decref(v);
    oc_respond_json(pg->req, 200, out);
}

void oc_api_sku_timeline(oc_req_t *r)
{
    oc_page_t *pg = oc_page_start(r, 2, key_at_id);
    if (pg == NULL)
        return;
    const char *from = oc_req_query(r, "from"), *to = oc_req_query(r, "to"), *at = oc_req_query(r, "at");
    if (!oc_query_time_ok(r, from, "from") || !oc_query_time_ok(r, to, "to") || !oc_query_time_ok(r, at, "at"))
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_syncview_timeline(r->thread, r->tenant, oc_req_param(r, "code"), from, to, at, &keys, on_timeline, pg);
}
