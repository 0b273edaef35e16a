/*
 * api.h — the handlers named in the route table (server/routes.c).  Each
 * resource lives in its own server/api_<resource>.c.
 */
#ifndef OC_API_H
#define OC_API_H

#include "server/http.h"
#include "tenants/members.h"
#include "tenants/query.h"

/* api_health.c */
void oc_api_healthz(oc_req_t *r);
void oc_api_readyz(oc_req_t *r);
void oc_api_index(oc_req_t *r);

/* api_auth.c */
void oc_api_login(oc_req_t *r);
void oc_api_logout(oc_req_t *r);
void oc_api_me(oc_req_t *r);

/* api_brands.c */
void oc_api_portfolio_get(oc_req_t *r);
void oc_api_brands_list(oc_req_t *r);
void oc_api_brand_create(oc_req_t *r);
void oc_api_brand_get(oc_req_t *r);
void oc_api_brand_update(oc_req_t *r);

/* api_members.c */
void oc_api_brand_members(oc_req_t *r);
void oc_api_brand_member_update(oc_req_t *r);
void oc_api_brand_member_delete(oc_req_t *r);
void oc_api_portfolio_members(oc_req_t *r);
void oc_api_portfolio_member_delete(oc_req_t *r);
void oc_api_portfolio_user_enable(oc_req_t *r);
void oc_api_brand_invite(oc_req_t *r);
void oc_api_portfolio_invite(oc_req_t *r);
void oc_api_brand_invitations(oc_req_t *r);
void oc_api_portfolio_invitations(oc_req_t *r);
void oc_api_brand_invitation_revoke(oc_req_t *r);
void oc_api_portfolio_invitation_revoke(oc_req_t *r);
void oc_api_invitation_accept(oc_req_t *r);
/** The sort key of a list newest first by (created_at, id): invitations, tokens, oversells. */
json_t *oc_api_created_key(json_t *item);
/** Lists the invitations or tokens (tenants/members.h) of `brand_id` (NULL = the portfolio's). */
void oc_api_grants_list(oc_req_t *r, oc_grant_kind_t kind, const char *brand_id);

/* api_tokens.c */
void oc_api_brand_token_create(oc_req_t *r);
void oc_api_portfolio_token_create(oc_req_t *r);
void oc_api_brand_tokens(oc_req_t *r);
void oc_api_portfolio_tokens(oc_req_t *r);
void oc_api_brand_token_revoke(oc_req_t *r);
void oc_api_portfolio_token_revoke(oc_req_t *r);

/* api_audit.c */
void oc_api_brand_audit(oc_req_t *r);
void oc_api_portfolio_audit(oc_req_t *r);
void oc_api_brand_audit_export(oc_req_t *r);
void oc_api_portfolio_audit_export(oc_req_t *r);

/* api_search.c */
void oc_api_search(oc_req_t *r);

/** A listing's or connection's rules object: buffer (units or "auto"), share, cap, floor (api_channels.c). */
extern const oc_field_t oc_api_rule_fields[];

/* api_sops.c */
void oc_api_sop_get(oc_req_t *r);
void oc_api_sop_put(oc_req_t *r);
void oc_api_sop_versions(oc_req_t *r);
void oc_api_sop_version(oc_req_t *r);
void oc_api_sop_restore(oc_req_t *r);
void oc_api_sop_diff(oc_req_t *r);
void oc_api_sop_handover(oc_req_t *r);
void oc_api_schedule(oc_req_t *r);
void oc_api_checklist(oc_req_t *r);
void oc_api_checklist_complete(oc_req_t *r);
void oc_api_checklist_assign(oc_req_t *r);
void oc_api_template_preview(oc_req_t *r);
void oc_api_template_apply(oc_req_t *r);

/* api_notify.c */
void oc_api_webhook_endpoints(oc_req_t *r);
void oc_api_webhook_endpoint_create(oc_req_t *r);
void oc_api_webhook_endpoint_get(oc_req_t *r);
void oc_api_webhook_endpoint_update(oc_req_t *r);
void oc_api_webhook_endpoint_delete(oc_req_t *r);
void oc_api_webhook_endpoint_rotate(oc_req_t *r);
void oc_api_webhook_endpoint_test(oc_req_t *r);
void oc_api_webhook_deliveries(oc_req_t *r);
void oc_api_notify_prefs_get(oc_req_t *r);
void oc_api_notify_prefs_put(oc_req_t *r);

/* api_catalog.c */
void oc_api_skus_list(oc_req_t *r);
void oc_api_sku_create(oc_req_t *r);
void oc_api_sku_get(oc_req_t *r);
void oc_api_sku_update(oc_req_t *r);
void oc_api_sku_history(oc_req_t *r);
void oc_api_sku_balance(oc_req_t *r);
void oc_api_bundle_create(oc_req_t *r);
void oc_api_bundle_replace(oc_req_t *r);
void oc_api_movements_list(oc_req_t *r);
void oc_api_ledger_verify(oc_req_t *r);
void oc_api_oversells_list(oc_req_t *r);
void oc_api_oversell_resolve(oc_req_t *r);
/** The brands the caller may see, as a comma-separated list in the request's pool; NULL = every brand of the portfolio.
 */
const char *oc_api_brands_seen(oc_req_t *r);
/** A query parameter that must be an id when given: 1, or 0 after answering 422 naming `field`. */
int oc_api_check_uuid(oc_req_t *r, const char *v, const char *field);
/** A query parameter that must be one of `allowed` (NULL-terminated) when given: 1, or 0 after answering 422. */
int oc_api_check_enum(oc_req_t *r, const char *v, const char *const *allowed, const char *field);
/** An oc_query_cb (tenants/query.h) with `arg` the request: the failure, or 200 with the value. */
void oc_api_answer(void *arg, json_t *v, const oc_fail_t *f);
/** Same with 201. */
void oc_api_answer_created(void *arg, json_t *v, const oc_fail_t *f);
/** Adds the Idempotency-Key step (idem_begin) to a brand POST's transaction; -1 = responded. */
int oc_api_idem_step(oc_req_t *r, oc_db_tx_t *tx);
/** Same with the request hash (oc_api_request_hash) already computed, e.g. on the work pool for a large body. */
int oc_api_idem_step_hashed(oc_req_t *r, oc_db_tx_t *tx, const char *hash);

/* api_exceptions.c */
void oc_api_exceptions_list(oc_req_t *r);
void oc_api_exception_get(oc_req_t *r);
void oc_api_exception_acknowledge(oc_req_t *r);
void oc_api_exception_assign(oc_req_t *r);
void oc_api_exception_snooze(oc_req_t *r);
void oc_api_exception_resolve(oc_req_t *r);
void oc_api_exception_reopen(oc_req_t *r);
void oc_api_dashboard(oc_req_t *r);
void oc_api_brand_dashboard(oc_req_t *r);

/* api_movements.c */
void oc_api_movement_post(oc_req_t *r);

/* api_imports.c */
void oc_api_import_create(oc_req_t *r);
void oc_api_imports_list(oc_req_t *r);
void oc_api_import_get(oc_req_t *r);

/* api_exports.c */
/** The answer of a CSV report: the failure, or 200 text/csv as an attachment named `filename`. */
void oc_api_answer_csv(void *arg, const char *filename, const char *csv, size_t len, const oc_fail_t *f);
void oc_api_export_skus(oc_req_t *r);
void oc_api_export_bundles(oc_req_t *r);
void oc_api_export_counts(oc_req_t *r);
void oc_api_export_movements(oc_req_t *r);
void oc_api_export_listings(oc_req_t *r);

/* api_holds.c */
void oc_api_hold_create(oc_req_t *r);
void oc_api_holds_list(oc_req_t *r);
void oc_api_hold_get(oc_req_t *r);
void oc_api_hold_confirm(oc_req_t *r);
void oc_api_hold_release(oc_req_t *r);

/* api_channels.c */
void oc_api_connections_list(oc_req_t *r);
void oc_api_connection_create(oc_req_t *r);
void oc_api_connection_get(oc_req_t *r);
void oc_api_connection_update(oc_req_t *r);
void oc_api_connection_delete(oc_req_t *r);
void oc_api_connection_automap(oc_req_t *r);
void oc_api_connection_test(oc_req_t *r);
void oc_api_connection_channel_log(oc_req_t *r);
void oc_api_rules_get(oc_req_t *r);
void oc_api_rules_put(oc_req_t *r);
void oc_api_listings_list(oc_req_t *r);
void oc_api_listing_create(oc_req_t *r);
void oc_api_listing_get(oc_req_t *r);
void oc_api_listing_update(oc_req_t *r);
void oc_api_listing_delete(oc_req_t *r);
void oc_api_listings_unmapped(oc_req_t *r);
void oc_api_listings_bulk(oc_req_t *r);

/* api_advice.c */
void oc_api_buffer_advice(oc_req_t *r);
void oc_api_buffer_advice_apply(oc_req_t *r);

/* sync (api_sync.c, api_webhooks.c) */
void oc_api_sync_status(oc_req_t *r);
void oc_api_connection_health(oc_req_t *r);
void oc_api_alerts_list(oc_req_t *r);
void oc_api_alert_resolve(oc_req_t *r);
void oc_api_drift_list(oc_req_t *r);
void oc_api_routines_list(oc_req_t *r);
void oc_api_routine_runs_list(oc_req_t *r);
void oc_api_routine_update(oc_req_t *r);
void oc_api_routine_run(oc_req_t *r);
void oc_api_orders_list(oc_req_t *r);
void oc_api_orders_unmapped(oc_req_t *r);
void oc_api_sku_timeline(oc_req_t *r);
void oc_api_webhook_shopify(oc_req_t *r);

/* api_charts.c */
void oc_api_chart_stock(oc_req_t *r);
void oc_api_chart_sales(oc_req_t *r);
void oc_api_chart_push_lag(oc_req_t *r);
void oc_api_chart_sell_through(oc_req_t *r);
void oc_api_webhooks_init(void);

#endif
