/*
 * router.h — the route table and path matching.
 *
 * Every endpoint is one row of oc_routes[] (server/routes.c): method,
 * pattern with {named} segments, handler, the permission it needs, and the
 * body it takes.  Authentication, the role check, tenant resolution, body
 * limits and JSON parsing all read the row, so a new route gets them — and
 * joins the tenancy sweep in the test suite — by being added to the table.
 */
#ifndef OC_ROUTER_H
#define OC_ROUTER_H

#include "server/http.h"
#include "runtime/metrics.h"

typedef void (*oc_handler_fn)(oc_req_t *r);

typedef enum { OC_BODY_NONE = 0, OC_BODY_JSON, OC_BODY_CSV, OC_BODY_RAW } oc_body_kind_t;

#define OC_MAX_SEGMENTS 10

struct oc_route {
    const char *method;
    const char *pattern;
    oc_handler_fn handler;
    oc_perm_t perm;
    oc_body_kind_t body;
    const char *summary; /* one line, for the route listing */
    /* compiled by oc_router_init() */
    int nsegs;
    const char *segs[OC_MAX_SEGMENTS];  /* literal, or "{name}" */
    const char *names[OC_MAX_SEGMENTS]; /* "name" for parameter segments, else NULL */
    oc_route_metrics_t metrics;
};

extern oc_route_t oc_routes[];
extern const size_t oc_routes_count;

/** Compiles the patterns of oc_routes and registers per-route metrics; call once at start-up. */
void oc_router_init(void);
/** Compiles the patterns of any table (tests use their own). */
void oc_router_compile(oc_route_t *routes, size_t n);

typedef enum { OC_MATCH_NONE, OC_MATCH_FOUND, OC_MATCH_BAD_METHOD } oc_match_t;

/**
 * Matches `method` and `path` (without query string).  On OC_MATCH_FOUND
 * fills *route and the params (values are slices of `path` — pointer and
 * length — to be decoded by the caller).  On OC_MATCH_BAD_METHOD writes the
 * allowed methods, comma-separated, into `allow`.
 */
typedef struct oc_match_params {
    int n;
    struct {
        const char *name;
        const char *value;
        size_t len;
    } p[OC_MAX_PATH_PARAMS];
} oc_match_params_t;

oc_match_t oc_router_match(const oc_route_t *routes, size_t nroutes, const char *method, size_t mlen, const char *path,
                           size_t plen, const oc_route_t **route, oc_match_params_t *params, char *allow,
                           size_t allow_cap);

/** Prints the table as JSON (method, pattern, perm, body, summary) for tools and tests. */
json_t *oc_router_describe(void);

const char *oc_perm_name(oc_perm_t p);

#endif
