/*
 * routes.c — the route table: every endpoint of the API, one row each.
 *
 * Keep it sorted by resource.  A row's `perm` is checked against the
 * caller's role by tenants/roles.c before the handler runs; routes whose
 * pattern contains {bid} are brand-scoped and take part in the tenancy
 * sweep of the test suite automatically.
 */
#include "server/api.h"
#include "server/router.h"

oc_route_t oc_routes[] = {
    {"GET", "/healthz", oc_api_healthz, OC_PERM_PUBLIC, OC_BODY_NONE, "process is up"},
    {"GET", "/readyz", oc_api_readyz, OC_PERM_PUBLIC, OC_BODY_NONE, "PostgreSQL, Redis and migrations are ready"},
    {"GET", "/metrics", oc_api_metrics, OC_PERM_PUBLIC, OC_BODY_NONE, "Prometheus metrics"},
    {"GET", "/api/v1", oc_api_index, OC_PERM_PUBLIC, OC_BODY_NONE, "API index and version"},
};
const size_t oc_routes_count = OC_ARRAY_SIZE(oc_routes);
