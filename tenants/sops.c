/*
 * sops.c — the SOP, its versions, schedule and checklist (see sops.h); the
 * rules themselves are SQL functions of migration 0027.
 */
#include "tenants/sops.h"
#include "tenants/brands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

OC_DB_STMT(sops_get_portfolio, 2,
           "SELECT sop_version_json(sop_current($1::uuid, NULL)) || jsonb_build_object('overrides',"
           " (SELECT coalesce(jsonb_agg(jsonb_build_object('brand_id', b.id, 'brand', b.name, 'version', v.version)"
           "   ORDER BY b.name), '[]') FROM brands b CROSS JOIN LATERAL (SELECT max(s.version) AS version"
           "   FROM sop_versions s WHERE s.portfolio_id = $1::uuid AND s.brand_id = b.id) v"
           "  WHERE b.portfolio_id = $1::uuid AND v.version IS NOT NULL"
           "    AND ($2::text IS NULL OR b.id::text = ANY (string_to_array($2, ',')))))");
OC_DB_STMT(sops_get_brand, 2,
           "SELECT jsonb_build_object('brand_id', $2::uuid, 'portfolio_version', (sop_current($1::uuid, NULL)).version,"
           " 'override', sop_version_json(sop_current($1::uuid, $2::uuid)), 'effective', sop_effective($2::uuid))");
OC_DB_STMT(sops_save, 8, "SELECT sop_save($1::uuid, $2::uuid, $3::jsonb, $4::uuid, $5::uuid, $6, $7::int, NULL, $8)");
OC_DB_STMT(sops_restore, 7, "SELECT sop_restore($1::uuid, $2::uuid, $3::int, $4::uuid, $5::uuid, $6, $7)");
/* The default SOP is version 1 of a portfolio that never saved one. */
OC_DB_STMT(sops_versions, 4,
           "SELECT j FROM (SELECT v.version, (sop_version_json(v) - 'document')"
           "   || jsonb_build_object('steps', jsonb_array_length(v.document -> 'steps')) AS j"
           "  FROM sop_versions v WHERE v.portfolio_id = $1::uuid AND v.brand_id IS NOT DISTINCT FROM $2::uuid"
           " UNION ALL SELECT 1, (sop_version_json(d) - 'document')"
           "   || jsonb_build_object('steps', jsonb_array_length(d.document -> 'steps'))"
           "  FROM sop_current($1::uuid, NULL) d WHERE $2::uuid IS NULL AND NOT EXISTS (SELECT 1 FROM sop_versions"
           "   WHERE portfolio_id = $1::uuid AND brand_id IS NULL)) x"
           " WHERE ($3::int IS NULL OR x.version < $3::int) ORDER BY x.version DESC LIMIT $4");
OC_DB_STMT(sops_version, 3, "SELECT sop_version_json(sop_version_get($1::uuid, $2::uuid, $3::int))");
OC_DB_STMT(sops_diff, 4, "SELECT sop_diff($1::uuid, $2::uuid, $3::int, $4::int)");
OC_DB_STMT(sops_schedule, 2, "SELECT jsonb_build_object('items', sop_schedule($1::int, 2000, $2::int))");
OC_DB_STMT(sops_checklist, 7,
           "SELECT checklist_json(i) || jsonb_build_object('at', i.due_at) FROM checklist_items i"
           " WHERE ($1::text IS NULL OR i.state = $1) AND ($2::uuid IS NULL OR i.assignee = $2::uuid)"
           "   AND ($3::uuid IS NULL OR i.tenant_id = $3::uuid)"
           "   AND (NOT $4::boolean OR (i.state = 'open' AND i.due_at <= now()))"
           "   AND ($5::text IS NULL OR (i.due_at, i.id) > ($5::timestamptz, $6::uuid))"
           " ORDER BY i.due_at, i.id LIMIT $7");
/* No row: no such item in the brand. */
OC_DB_STMT(sops_complete, 7,
           "SELECT x FROM checklist_complete($1, $2::uuid, $3, $4, $5::uuid, $6::uuid, $7) x WHERE x IS NOT NULL");
OC_DB_STMT(sops_assign, 6,
           "SELECT x FROM checklist_assign($1, $2::uuid, $3::uuid, $4::uuid, $5::uuid, $6) x WHERE x IS NOT NULL");
OC_DB_STMT(sops_handover, 7, "SELECT sop_handover($1::uuid, $2::uuid, $3::uuid, $4, $5::uuid, $6::uuid, $7)");

OC_DB_STMT(sops_template, 9,
           "SELECT template_run($1::uuid, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)::uuid), $4::jsonb,"
           " $5::boolean, $6::uuid, $7::uuid, $8, $9)");

/*
 * The SOP functions' own refusals (res->detail the message, res->extra the
 * error's DETAIL): OCSOV an unsound document (its DETAIL holds every problem), OCSOC a conflict (a newer version, a
 * step already completed), OCSON no such version or brand.
 */
static int sops_refuse(const oc_db_result_t *res, const void *ctx, oc_fail_t *f)
{
    (void)ctx;
    const char *msg = res->detail != NULL ? res->detail : "";
    if (strcmp(res->sqlstate, "OCSOV") == 0) {
        json_t *problems = res->extra != NULL ? json_loads(res->extra, 0, NULL) : NULL;
        if (!json_is_array(problems) || json_array_size(problems) == 0) {
            json_decref(problems);
            problems = json_pack("[{s:s, s:s}]", "field", "document", "message", msg);
        }
        json_t *first = json_array_get(problems, 0);
        oc_fail(f, OC_FAIL_INVALID, "invalid", NULL, "%s", json_string_value(json_object_get(first, "message")));
        f->detail = json_pack("{s:O, s:o}", "field", json_object_get(first, "field"), "problems", problems);
    } else if (strcmp(res->sqlstate, "OCSOC") == 0)
        oc_fail(f, OC_FAIL_CONFLICT, "conflict", NULL, "%s", msg);
    else if (strcmp(res->sqlstate, "OCSON") == 0)
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "%s", msg);
    else
        return 0;
    return 1;
}

const oc_query_how_t oc_sops_how_save = {.what = "routine", .refuse = sops_refuse};
static const oc_query_how_t how_sop = {.what = "SOP", .refuse = sops_refuse};
static const oc_query_how_t how_item = {.what = "checklist item", .refuse = sops_refuse};

static const char *or_null(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

/* A one-statement transaction under `tenants` (a brand, a list, or NULL: every brand of `portfolio`). */
static void run_one(oc_thread_t *th, const char *portfolio, const char *tenants, const oc_db_stmt_t *stmt,
                    const char *const *p, int n, const oc_query_how_t *how, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenants};
    if (tenants == NULL && portfolio != NULL)
        oc_brands_portfolio_tenants_step(&tx, portfolio);
    oc_query_step(&tx, stmt, p, n);
    oc_query_answer(th, &tx, how, cb, arg);
}

void oc_sops_get(oc_thread_t *th, const char *portfolio, const char *brand, oc_query_cb cb, void *arg)
{
    const char *p[] = {portfolio, brand};
    if (brand != NULL)
        run_one(th, portfolio, brand, &sops_get_brand, p, 2, &how_sop, cb, arg);
    else
        run_one(th, NULL, NULL, &sops_get_portfolio, p, 2, &how_sop, cb, arg);
}

void oc_sops_save(oc_thread_t *th, const oc_actor_t *a, const json_t *document, const char *reason, const char *base,
                  oc_query_cb cb, void *arg)
{
    const char *p[] = {a->portfolio, or_null(a->tenant), oc_actor_json(a, document), a->user, a->token, reason,
                       base,         a->request_id};
    run_one(th, a->portfolio, or_null(a->tenant), &sops_save, p, 8, &how_sop, cb, arg);
}

void oc_sops_restore(oc_thread_t *th, const oc_actor_t *a, const char *version, const char *reason, oc_query_cb cb,
                     void *arg)
{
    const char *p[] = {a->portfolio, or_null(a->tenant), version, a->user, a->token, reason, a->request_id};
    run_one(th, a->portfolio, or_null(a->tenant), &sops_restore, p, 7, &how_sop, cb, arg);
}

void oc_sops_versions(oc_thread_t *th, const char *portfolio, const char *brand, const oc_page_keys_t *pg,
                      oc_query_cb cb, void *arg)
{
    const char *head[] = {portfolio, brand};
    oc_query_list(th, brand, &sops_versions, head, 2, pg, 1, "SOP version", cb, arg);
}

void oc_sops_version(oc_thread_t *th, const char *portfolio, const char *brand, const char *version, oc_query_cb cb,
                     void *arg)
{
    const char *p[] = {portfolio, brand, version};
    run_one(th, NULL, brand, &sops_version, p, 3, &how_sop, cb, arg);
}

void oc_sops_diff(oc_thread_t *th, const char *portfolio, const char *brand, const char *from, const char *to,
                  oc_query_cb cb, void *arg)
{
    const char *p[] = {portfolio, brand, from, to};
    run_one(th, NULL, brand, &sops_diff, p, 4, &how_sop, cb, arg);
}

void oc_sops_schedule(oc_thread_t *th, const char *portfolio, const char *brands, int hours, int per_routine,
                      oc_query_cb cb, void *arg)
{
    char h[24], n[24];
    const char *p[] = {oc_query_int(h, hours), oc_query_int(n, per_routine)};
    run_one(th, portfolio, brands, &sops_schedule, p, 2, &how_sop, cb, arg);
}

void oc_sops_checklist(oc_thread_t *th, const char *portfolio, const char *brands, const oc_checklist_filter_t *flt,
                       const oc_page_keys_t *pg, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = brands};
    if (brands == NULL)
        oc_brands_portfolio_tenants_step(&tx, portfolio);
    const char *head[] = {flt->state, flt->assignee, flt->brand, flt->overdue ? "true" : "false"};
    oc_query_page_step(&tx, &sops_checklist, head, 4, pg, 2);
    oc_query_run(th, &tx, oc_query_rows, "checklist item", cb, arg);
}

void oc_sops_checklist_complete(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *state,
                                const char *note, oc_query_cb cb, void *arg)
{
    const char *p[] = {a->tenant, id, state, note, a->user, a->token, a->request_id};
    run_one(th, NULL, a->tenant, &sops_complete, p, 7, &how_item, cb, arg);
}

void oc_sops_checklist_assign(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *user, oc_query_cb cb,
                              void *arg)
{
    const char *p[] = {a->tenant, id, user, a->user, a->token, a->request_id};
    run_one(th, NULL, a->tenant, &sops_assign, p, 6, &how_item, cb, arg);
}

void oc_sops_handover(oc_thread_t *th, const oc_actor_t *a, const char *from, const char *to, const char *reason,
                      oc_query_cb cb, void *arg)
{
    const char *p[] = {a->portfolio, from, to, reason, a->user, a->token, a->request_id};
    run_one(th, a->portfolio, NULL, &sops_handover, p, 7, &how_sop, cb, arg);
}

void oc_sops_template(oc_thread_t *th, const oc_actor_t *a, const char *tenants, const char *kind,
                      const json_t *brand_ids, const json_t *body, int apply, const char *reason, oc_query_cb cb,
                      void *arg)
{
    const char *p[] = {a->portfolio,
                       kind,
                       oc_actor_json(a, brand_ids),
                       oc_actor_json(a, body),
                       apply ? "true" : "false",
                       a->user,
                       a->token,
                       reason,
                       a->request_id};
    run_one(th, a->portfolio, tenants, &sops_template, p, 9, &how_sop, cb, arg);
}
