/* Unit tests for server/router.c: literal and parameter segments, 405 with Allow, decoding. */
#include "server/router.h"
#include "test.h"

static void h(oc_req_t *r)
{
}

static oc_route_t table[] = {
    {"GET", "/api/v1/brands/{bid}/skus", h, OC_PERM_READ, OC_BODY_NONE, "list"},
    {"POST", "/api/v1/brands/{bid}/skus", h, OC_PERM_INVENTORY, OC_BODY_JSON, "create"},
    {"GET", "/api/v1/brands/{bid}/skus/{code}", h, OC_PERM_READ, OC_BODY_NONE, "one"},
    {"DELETE", "/api/v1/brands/{bid}/skus/{code}", h, OC_PERM_INVENTORY, OC_BODY_NONE, "archive"},
    {"GET", "/api/v1/brands/{bid}/skus/export", h, OC_PERM_READ, OC_BODY_NONE, "never reached: {code} wins"},
    {"GET", "/healthz", h, OC_PERM_PUBLIC, OC_BODY_NONE, "health"},
};

static oc_match_t match(const char *m, const char *path, const oc_route_t **rt, oc_match_params_t *mp, char *allow)
{
    return oc_router_match(table, OC_ARRAY_SIZE(table), m, strlen(m), path, strlen(path), rt, mp, allow, 128);
}

int main(void)
{
    oc_router_compile(table, OC_ARRAY_SIZE(table));
    const oc_route_t *rt = NULL;
    oc_match_params_t mp;
    char allow[128];

    CHECK_INT(match("GET", "/healthz", &rt, &mp, allow), OC_MATCH_FOUND);
    CHECK(rt == &table[5]);
    CHECK_INT(mp.n, 0);
    CHECK_INT(match("HEAD", "/healthz", &rt, &mp, allow), OC_MATCH_FOUND);

    CHECK_INT(match("GET", "/api/v1/brands/b-1/skus", &rt, &mp, allow), OC_MATCH_FOUND);
    CHECK(rt == &table[0]);
    CHECK_INT(mp.n, 1);
    CHECK_STR(mp.p[0].name, "bid");
    CHECK_INT(mp.p[0].len, 3);
    CHECK(memcmp(mp.p[0].value, "b-1", 3) == 0);

    CHECK_INT(match("POST", "/api/v1/brands/x/skus", &rt, &mp, allow), OC_MATCH_FOUND);
    CHECK(rt == &table[1]);

    CHECK_INT(match("GET", "/api/v1/brands/x/skus/ABC%2F1", &rt, &mp, allow), OC_MATCH_FOUND);
    CHECK(rt == &table[2]);
    CHECK_INT(mp.n, 2);
    CHECK_STR(mp.p[1].name, "code");

    /* Path exists, method does not: 405 with the allowed methods. */
    CHECK_INT(match("PUT", "/api/v1/brands/x/skus/abc", &rt, &mp, allow), OC_MATCH_BAD_METHOD);
    CHECK_STR(allow, "GET, DELETE");
    CHECK_INT(match("DELETE", "/healthz", &rt, &mp, allow), OC_MATCH_BAD_METHOD);
    CHECK_STR(allow, "GET");

    /* Nothing matches: wrong depth, empty segment, trailing junk. */
    CHECK_INT(match("GET", "/api/v1/brands//skus", &rt, &mp, allow), OC_MATCH_NONE);
    CHECK_INT(match("GET", "/api/v1/brands/x/skus/a/b", &rt, &mp, allow), OC_MATCH_NONE);
    CHECK_INT(match("GET", "/api/v2/brands/x/skus", &rt, &mp, allow), OC_MATCH_NONE);
    CHECK_INT(match("GET", "/", &rt, &mp, allow), OC_MATCH_NONE);
    CHECK_INT(match("GET", "/healthz/", &rt, &mp, allow), OC_MATCH_FOUND); /* one trailing slash is tolerated */

    /* The real table compiles and every pattern is well formed. */
    oc_router_compile(oc_routes, oc_routes_count);
    for (size_t i = 0; i < oc_routes_count; i++) {
        CHECK(oc_routes[i].nsegs > 0);
        CHECK(oc_routes[i].handler != NULL);
        for (int k = 0; k < oc_routes[i].nsegs; k++)
            CHECK(oc_routes[i].segs[k][0] != '{' || oc_routes[i].names[k] != NULL);
    }
    return oc_test_report();
}
