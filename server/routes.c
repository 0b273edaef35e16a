/*
 * routes.c — the route table: every endpoint of the API, one row each.
 *
 * Grouped by resource.  A row's `perm` is checked against the caller's role
 * by tenants/roles.c before the handler runs; routes whose pattern contains
 * {bid} are brand-scoped and take part in the tenancy sweep of the test
 * suite automatically, {pid} routes in the portfolio sweep.
 */
#include "server/api.h"
#include "server/router.h"

#define PUB    OC_PERM_PUBLIC
#define AUTHN  OC_PERM_AUTHENTICATED
#define READ   OC_PERM_READ
#define INV    OC_PERM_INVENTORY
#define CHAN   OC_PERM_CHANNELS
#define MANAGE OC_PERM_MANAGE
#define ADMIN  OC_PERM_ADMIN
#define NONE   OC_BODY_NONE
#define JSON   OC_BODY_JSON
#define CSV    OC_BODY_CSV

oc_route_t oc_routes[] = {
    /* operations */
    {"GET", "/healthz", oc_api_healthz, PUB, NONE, "process is up"},
    {"GET", "/readyz", oc_api_readyz, PUB, NONE,
     "ready to serve: PostgreSQL and the schema are up (Redis may be down: degraded)"},
    {"GET", "/api/v1", oc_api_index, PUB, NONE, "API index and version"},

    /* identity */
    {"POST", "/api/v1/auth/login", oc_api_login, PUB, JSON, "sign in; sets the session cookie"},
    {"POST", "/api/v1/auth/logout", oc_api_logout, AUTHN, JSON, "end this browser session"},
    {"GET", "/api/v1/me", oc_api_me, AUTHN, NONE, "the caller, its portfolio and roles"},
    {"POST", "/api/v1/invitations/accept", oc_api_invitation_accept, PUB, JSON, "accept an invitation"},

    /* portfolio */
    {"GET", "/api/v1/portfolios/{pid}", oc_api_portfolio_get, READ, NONE, "the portfolio"},
    {"GET", "/api/v1/portfolios/{pid}/brands", oc_api_brands_list, READ, NONE, "brands the caller can see"},
    {"POST", "/api/v1/portfolios/{pid}/brands", oc_api_brand_create, ADMIN, JSON, "create a brand"},
    {"GET", "/api/v1/portfolios/{pid}/members", oc_api_portfolio_members, ADMIN, NONE, "every user of the portfolio"},
    {"DELETE", "/api/v1/portfolios/{pid}/members/{uid}", oc_api_portfolio_member_delete, ADMIN, NONE,
     "disable a user and end its sessions"},
    {"POST", "/api/v1/portfolios/{pid}/members/{uid}/enable", oc_api_portfolio_user_enable, ADMIN, NONE,
     "enable a disabled user again"},
    {"GET", "/api/v1/portfolios/{pid}/invitations", oc_api_portfolio_invitations, ADMIN, NONE, "invitations"},
    {"POST", "/api/v1/portfolios/{pid}/invitations", oc_api_portfolio_invite, ADMIN, JSON,
     "invite an admin, or a member of any brand"},
    {"DELETE", "/api/v1/portfolios/{pid}/invitations/{iid}", oc_api_portfolio_invitation_revoke, ADMIN, NONE,
     "revoke an invitation"},
    {"GET", "/api/v1/portfolios/{pid}/tokens", oc_api_portfolio_tokens, ADMIN, NONE, "portfolio-wide API tokens"},
    {"POST", "/api/v1/portfolios/{pid}/tokens", oc_api_portfolio_token_create, ADMIN, JSON,
     "create a portfolio-wide API token (shown once)"},
    {"DELETE", "/api/v1/portfolios/{pid}/tokens/{tid}", oc_api_portfolio_token_revoke, ADMIN, NONE,
     "revoke a portfolio-wide token"},
    {"GET", "/api/v1/portfolios/{pid}/audit", oc_api_portfolio_audit, ADMIN, NONE,
     "audit log of the portfolio and all its brands (?brand=, ?actor=, ?from=, ?to=)"},
    {"GET", "/api/v1/portfolios/{pid}/exports/audit.csv", oc_api_portfolio_audit_export, ADMIN, NONE,
     "the portfolio's audit log as CSV, oldest first, with the same filters"},
    {"GET", "/api/v1/portfolios/{pid}/search", oc_api_search, READ, NONE,
     "SKUs, listings and orders matching ?q= in the brands the caller may read, grouped by kind"},

    /* brand */
    {"GET", "/api/v1/brands/{bid}", oc_api_brand_get, READ, NONE, "the brand"},
    {"PATCH", "/api/v1/brands/{bid}", oc_api_brand_update, MANAGE, JSON, "rename, set time zone, archive"},
    {"GET", "/api/v1/brands/{bid}/members", oc_api_brand_members, MANAGE, NONE, "members and their roles"},
    {"PATCH", "/api/v1/brands/{bid}/members/{uid}", oc_api_brand_member_update, MANAGE, JSON, "change a role"},
    {"DELETE", "/api/v1/brands/{bid}/members/{uid}", oc_api_brand_member_delete, MANAGE, NONE,
     "remove a member from the brand"},
    {"GET", "/api/v1/brands/{bid}/invitations", oc_api_brand_invitations, MANAGE, NONE, "invitations to the brand"},
    {"POST", "/api/v1/brands/{bid}/invitations", oc_api_brand_invite, MANAGE, JSON, "invite someone to the brand"},
    {"DELETE", "/api/v1/brands/{bid}/invitations/{iid}", oc_api_brand_invitation_revoke, MANAGE, NONE,
     "revoke an invitation"},
    {"GET", "/api/v1/brands/{bid}/tokens", oc_api_brand_tokens, MANAGE, NONE, "the brand's API tokens"},
    {"POST", "/api/v1/brands/{bid}/tokens", oc_api_brand_token_create, MANAGE, JSON,
     "create an API token for the brand (shown once)"},
    {"DELETE", "/api/v1/brands/{bid}/tokens/{tid}", oc_api_brand_token_revoke, MANAGE, NONE, "revoke a token"},
    {"GET", "/api/v1/brands/{bid}/audit", oc_api_brand_audit, READ, NONE,
     "the brand's audit log (?actor=, ?from=, ?to=)"},
    {"GET", "/api/v1/brands/{bid}/exports/audit.csv", oc_api_brand_audit_export, READ, NONE,
     "the brand's audit log as CSV, oldest first, with the same filters"},

    /* catalog */
    {"GET", "/api/v1/brands/{bid}/skus", oc_api_skus_list, READ, NONE, "SKUs with their balances"},
    {"POST", "/api/v1/brands/{bid}/skus", oc_api_sku_create, INV, JSON, "create a SKU"},
    {"GET", "/api/v1/brands/{bid}/skus/{code}", oc_api_sku_get, READ, NONE, "one SKU with its balances"},
    {"PATCH", "/api/v1/brands/{bid}/skus/{code}", oc_api_sku_update, INV, JSON, "retitle, set barcode, archive"},
    {"GET", "/api/v1/brands/{bid}/skus/{code}/history", oc_api_sku_history, READ, NONE,
     "every movement of the SKU, newest first"},
    {"GET", "/api/v1/brands/{bid}/skus/{code}/balance", oc_api_sku_balance, READ, NONE,
     "the SKU's balance at a moment (?at=)"},
    {"POST", "/api/v1/brands/{bid}/bundles", oc_api_bundle_create, INV, JSON, "create a bundle from components"},
    {"PUT", "/api/v1/brands/{bid}/bundles/{code}", oc_api_bundle_replace, INV, JSON, "replace a bundle's components"},

    /* ledger */
    {"POST", "/api/v1/brands/{bid}/movements", oc_api_movement_post, INV, JSON,
     "receipt, sale, ship, cancel, return, adjust or count"},
    {"GET", "/api/v1/brands/{bid}/movements", oc_api_movements_list, READ, NONE, "movements, newest first"},
    {"GET", "/api/v1/brands/{bid}/ledger/verify", oc_api_ledger_verify, READ, NONE,
     "replay every movement and compare with the balances"},
    {"GET", "/api/v1/brands/{bid}/oversells", oc_api_oversells_list, READ, NONE, "oversell incidents"},
    {"POST", "/api/v1/brands/{bid}/oversells/{oid}/resolve", oc_api_oversell_resolve, INV, JSON,
     "resolve an oversell incident"},

    /* imports and exports (CSV) */
    {"POST", "/api/v1/brands/{bid}/imports", oc_api_import_create, INV, CSV,
     "import SKUs, bundles, counts or listings from CSV (?type=, ?dry_run=); 202 with the job"},
    {"GET", "/api/v1/brands/{bid}/imports", oc_api_imports_list, READ, NONE, "import jobs, newest first"},
    {"GET", "/api/v1/brands/{bid}/imports/{jid}", oc_api_import_get, READ, NONE,
     "one import job: status, progress, every bad row, summary"},
    {"GET", "/api/v1/brands/{bid}/exports/skus.csv", oc_api_export_skus, READ, NONE, "SKUs with balances as CSV"},
    {"GET", "/api/v1/brands/{bid}/exports/bundles.csv", oc_api_export_bundles, READ, NONE,
     "bundles as CSV, one row per component"},
    {"GET", "/api/v1/brands/{bid}/exports/counts.csv", oc_api_export_counts, READ, NONE,
     "on-hand of every simple SKU as CSV"},
    {"GET", "/api/v1/brands/{bid}/exports/listings.csv", oc_api_export_listings, READ, NONE,
     "listings as CSV (connection, sku and the channel identifiers); imports back as it is"},
    {"GET", "/api/v1/brands/{bid}/exports/movements.csv", oc_api_export_movements, READ, NONE,
     "movements as CSV, oldest first (?from=, ?to=)"},

    /* holds */
    {"POST", "/api/v1/brands/{bid}/holds", oc_api_hold_create, INV, JSON, "hold units for a short time"},
    {"GET", "/api/v1/brands/{bid}/holds", oc_api_holds_list, READ, NONE, "holds (active by default)"},
    {"GET", "/api/v1/brands/{bid}/holds/{hid}", oc_api_hold_get, READ, NONE, "one hold"},
    {"POST", "/api/v1/brands/{bid}/holds/{hid}/confirm", oc_api_hold_confirm, INV, JSON,
     "turn a hold into a sale (PostgreSQL decides)"},
    {"POST", "/api/v1/brands/{bid}/holds/{hid}/release", oc_api_hold_release, INV, JSON, "release a hold's units"},

    /* channels */
    {"GET", "/api/v1/brands/{bid}/connections", oc_api_connections_list, READ, NONE, "channel connections"},
    {"POST", "/api/v1/brands/{bid}/connections", oc_api_connection_create, CHAN, JSON,
     "connect a channel account (credentials are write-only)"},
    {"GET", "/api/v1/brands/{bid}/connections/{cid}", oc_api_connection_get, READ, NONE, "one connection"},
    {"PATCH", "/api/v1/brands/{bid}/connections/{cid}", oc_api_connection_update, CHAN, JSON,
     "rename, pause, set rules, replace credentials"},
    {"DELETE", "/api/v1/brands/{bid}/connections/{cid}", oc_api_connection_delete, CHAN, NONE,
     "remove a connection and its listings"},
    {"POST", "/api/v1/brands/{bid}/connections/{cid}/test", oc_api_connection_test, CHAN, JSON,
     "call the channel with the stored credentials and report what it found"},
    {"GET", "/api/v1/brands/{bid}/connections/{cid}/channel-log", oc_api_connection_channel_log, READ, NONE,
     "what the channel received (connections to the simulators: their request log)"},
    {"POST", "/api/v1/brands/{bid}/connections/{cid}/automap", oc_api_connection_automap, INV, JSON,
     "list every unlisted SKU under its own code; report what could not be mapped"},
    {"GET", "/api/v1/brands/{bid}/connections/{cid}/buffer-advice", oc_api_buffer_advice, READ, NONE,
     "per active listing: the buffer in force, the suggested one, expected units oversold and stranded per choice"},
    {"POST", "/api/v1/brands/{bid}/connections/{cid}/buffer-advice/apply", oc_api_buffer_advice_apply, INV, JSON,
     "set the suggested buffers (within min and max) as per-listing rules, audited; the listings are pushed again"},
    {"GET", "/api/v1/brands/{bid}/rules", oc_api_rules_get, READ, NONE, "the brand's cross-channel rules"},
    {"PUT", "/api/v1/brands/{bid}/rules", oc_api_rules_put, INV, JSON, "set the last-units rule"},
    {"GET", "/api/v1/brands/{bid}/listings", oc_api_listings_list, READ, NONE,
     "listings with what each channel may show and why"},
    {"POST", "/api/v1/brands/{bid}/listings", oc_api_listing_create, INV, JSON, "map a SKU to a channel listing"},
    {"POST", "/api/v1/brands/{bid}/listings/bulk", oc_api_listings_bulk, INV, JSON,
     "pause, resume or re-push many listings in one transaction; per-listing results"},
    {"GET", "/api/v1/brands/{bid}/listings/unmapped", oc_api_listings_unmapped, READ, NONE,
     "SKUs without a listing on some connection"},
    {"GET", "/api/v1/brands/{bid}/listings/{lid}", oc_api_listing_get, READ, NONE, "one listing"},
    {"PATCH", "/api/v1/brands/{bid}/listings/{lid}", oc_api_listing_update, INV, JSON,
     "set rules, pause, change identifiers, force a re-push"},
    {"DELETE", "/api/v1/brands/{bid}/listings/{lid}", oc_api_listing_delete, INV, NONE, "remove a listing"},

    /* sync */
    {"GET", "/api/v1/brands/{bid}/sync", oc_api_sync_status, READ, NONE,
     "per connection: circuit, queue depth, oldest out-of-sync listing, latency, 429s, alerts, routines"},
    {"GET", "/api/v1/brands/{bid}/connections/{cid}/health", oc_api_connection_health, READ, NONE,
     "one connection's sync health"},
    {"GET", "/api/v1/brands/{bid}/alerts", oc_api_alerts_list, READ, NONE, "alerts (open by default)"},
    {"POST", "/api/v1/brands/{bid}/alerts/{aid}/resolve", oc_api_alert_resolve, INV, JSON, "mark an alert resolved"},
    {"GET", "/api/v1/brands/{bid}/drift", oc_api_drift_list, READ, NONE,
     "differences found on read-back and their fix"},
    {"GET", "/api/v1/brands/{bid}/routines", oc_api_routines_list, READ, NONE, "the brand's scheduled routines"},
    {"GET", "/api/v1/brands/{bid}/routine-runs", oc_api_routine_runs_list, READ, NONE,
     "each run of the brand's routines: when, how long, outcome and evidence; ?kind= ?connection_id= ?status="},
    {"PATCH", "/api/v1/brands/{bid}/routines/{rid}", oc_api_routine_update, CHAN, JSON,
     "change a routine's interval or turn it off"},
    {"POST", "/api/v1/brands/{bid}/routines/{rid}/run", oc_api_routine_run, INV, JSON,
     "run a routine now (poll, read back, re-push)"},

    /* the SOP: versions, schedule, checklist */
    {"GET", "/api/v1/portfolios/{pid}/sop", oc_api_sop_get, READ, NONE,
     "the portfolio's SOP: its current version and document, and the brands that override it"},
    {"PUT", "/api/v1/portfolios/{pid}/sop", oc_api_sop_put, ADMIN, JSON,
     "save a new version of the SOP (document, reason, base_version); every brand's schedule follows"},
    {"GET", "/api/v1/portfolios/{pid}/sop/versions", oc_api_sop_versions, READ, NONE,
     "the SOP's versions, newest first"},
    {"GET", "/api/v1/portfolios/{pid}/sop/versions/{ver}", oc_api_sop_version, READ, NONE, "one version of the SOP"},
    {"POST", "/api/v1/portfolios/{pid}/sop/versions/{ver}/restore", oc_api_sop_restore, ADMIN, JSON,
     "restore an old version as a new one"},
    {"GET", "/api/v1/portfolios/{pid}/sop/diff", oc_api_sop_diff, READ, NONE,
     "what changed between two versions, step by step; ?from=&to="},
    {"POST", "/api/v1/portfolios/{pid}/sop/handover", oc_api_sop_handover, ADMIN, JSON,
     "hand every step and open checklist item of one person over to another"},
    {"GET", "/api/v1/portfolios/{pid}/schedule", oc_api_schedule, READ, NONE,
     "the runs due in the coming hours across the brands the caller sees; ?hours= (24)"},
    {"GET", "/api/v1/portfolios/{pid}/checklist", oc_api_checklist, READ, NONE,
     "checklist items across the brands the caller sees; ?state= ?assignee=me|id ?brand_id= ?overdue=true"},
    {"POST", "/api/v1/portfolios/{pid}/templates/preview", oc_api_template_preview, ADMIN, JSON,
     "what an SOP-overrides or rules template would change in each brand named, changing nothing"},
    {"POST", "/api/v1/portfolios/{pid}/templates/apply", oc_api_template_apply, ADMIN, JSON,
     "apply an SOP-overrides or rules template to many brands at once, in one transaction, with a reason"},
    {"GET", "/api/v1/brands/{bid}/sop", oc_api_sop_get, READ, NONE,
     "the brand's effective SOP steps and its overrides of the portfolio's"},
    {"PUT", "/api/v1/brands/{bid}/sop", oc_api_sop_put, CHAN, JSON,
     "save a new version of the brand's overrides (document, reason, base_version)"},
    {"GET", "/api/v1/brands/{bid}/sop/versions", oc_api_sop_versions, READ, NONE,
     "the versions of the brand's overrides, newest first"},
    {"GET", "/api/v1/brands/{bid}/sop/versions/{ver}", oc_api_sop_version, READ, NONE,
     "one version of the brand's overrides"},
    {"POST", "/api/v1/brands/{bid}/sop/versions/{ver}/restore", oc_api_sop_restore, CHAN, JSON,
     "restore an old version of the brand's overrides as a new one"},
    {"GET", "/api/v1/brands/{bid}/sop/diff", oc_api_sop_diff, READ, NONE,
     "what changed between two versions of the brand's overrides; ?from=&to="},
    {"GET", "/api/v1/brands/{bid}/schedule", oc_api_schedule, READ, NONE, "the brand's runs due in the coming hours"},
    {"GET", "/api/v1/brands/{bid}/checklist", oc_api_checklist, READ, NONE, "the brand's checklist items"},
    {"POST", "/api/v1/brands/{bid}/checklist/{kid}/complete", oc_api_checklist_complete, INV, JSON,
     "complete a checklist step (state done or skipped, note)"},
    {"POST", "/api/v1/brands/{bid}/checklist/{kid}/assign", oc_api_checklist_assign, INV, JSON,
     "assign a checklist step to a member (user_id, or null for the step's role)"},
    {"GET", "/api/v1/brands/{bid}/orders", oc_api_orders_list, READ, NONE,
     "channel orders as ingested, with what the ledger recorded per line"},
    {"GET", "/api/v1/brands/{bid}/orders/unmapped", oc_api_orders_unmapped, READ, NONE,
     "order lines parked because their channel SKU has no listing"},
    {"GET", "/api/v1/brands/{bid}/skus/{code}/timeline", oc_api_sku_timeline, READ, NONE,
     "movements, pushes and drift of a SKU; ?at= shows what each channel showed then"},
    {"POST", "/api/v1/webhooks/shopify/{bid}/{cid}", oc_api_webhook_shopify, PUB, OC_BODY_RAW,
     "Shopify webhooks (HMAC-verified, stored, deduplicated on the event id)"},
};
const size_t oc_routes_count = OC_ARRAY_SIZE(oc_routes);
