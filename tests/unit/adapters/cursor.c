/*
 * Unit tests for adapters/cursor.c: cursors survive encoding, refuse what is
 * not theirs, never repeat an unchanged record and never skip one; Link
 * headers, URL parameters and timestamps.
 */
#include "adapters/cursor.h"
#include "test.h"

#include <stdlib.h>

#define OVERLAP 120000ULL

static void test_roundtrip_and_garbage(void)
{
    oc_cursor_t c, d;
    CHECK_INT(oc_cursor_decode(&c, NULL, 1000000), 0);
    CHECK_INT(c.since_ms, 1000000);
    CHECK(c.page == NULL);
    oc_cursor_begin(&c, OVERLAP);
    CHECK(oc_cursor_admit(&c, "order-1", 1500000));
    oc_cursor_page_done(&c, "token with spaces & symbols", OVERLAP);
    char *s = oc_cursor_encode(&c);
    CHECK(s != NULL);
    CHECK(strchr(s, '=') == NULL && strchr(s, '+') == NULL && strchr(s, '/') == NULL); /* URL-safe, opaque */
    CHECK_INT(oc_cursor_decode(&d, s, 0), 0);
    CHECK_STR(d.page, "token with spaces & symbols");
    CHECK_INT(d.nseen, 1);
    CHECK_STR(d.seen[0].id, "order-1");
    CHECK_INT(d.hwm_ms, 1500000);
    oc_cursor_free(&d);
    free(s);
    oc_cursor_free(&c);

    const char *bad[] = {"!!!", "e30", /* "{}" */ "eyJ2IjoyfQ" /* {"v":2} */, "bm90IGpzb24" /* not json */,
                         "eyJ2IjoxLCJzIjotNSwiaCI6MCwiZiI6MCwicSI6W119" /* negative since */};
    for (size_t i = 0; i < OC_ARRAY_SIZE(bad); i++) {
        CHECK_INT(oc_cursor_decode(&d, bad[i], 0), OC_EINVAL);
        oc_cursor_free(&d); /* safe after a failure */
    }
}

static void test_no_repeat_no_skip(void)
{
    oc_cursor_t c;
    oc_cursor_decode(&c, NULL, 1000000);
    /* pass 1: two pages */
    CHECK_INT(oc_cursor_begin(&c, OVERLAP), 1000000 - OVERLAP);
    CHECK(oc_cursor_admit(&c, "a", 1100000));
    CHECK(oc_cursor_admit(&c, "b", 1200000));
    oc_cursor_page_done(&c, "p2", OVERLAP);
    CHECK_INT(oc_cursor_begin(&c, OVERLAP), 1000000 - OVERLAP); /* mid-pass: same bound */
    CHECK(oc_cursor_admit(&c, "c", 1300000));
    oc_cursor_page_done(&c, NULL, OVERLAP);
    CHECK_INT(c.since_ms, 1300000);
    /* pass 2 re-reads the overlap: the unchanged records are dropped */
    CHECK_INT(oc_cursor_begin(&c, OVERLAP), 1300000 - OVERLAP);
    CHECK(!oc_cursor_admit(&c, "b", 1200000));
    CHECK(!oc_cursor_admit(&c, "c", 1300000));
    /* a record that changed comes back, once */
    CHECK(oc_cursor_admit(&c, "b", 1350000));
    CHECK(!oc_cursor_admit(&c, "b", 1350000));
    /* a late record stamped inside the overlap is not skipped */
    CHECK(oc_cursor_admit(&c, "late", 1250000));
    oc_cursor_page_done(&c, NULL, OVERLAP);
    CHECK_INT(c.since_ms, 1350000);
    /* pruned to the window: "a" (1.1e6) fell out, "late" (1.25e6) is still in */
    int has_a = 0, has_late = 0;
    for (size_t i = 0; i < c.nseen; i++) {
        has_a |= strcmp(c.seen[i].id, "a") == 0;
        has_late |= strcmp(c.seen[i].id, "late") == 0;
    }
    CHECK(!has_a);
    CHECK(has_late);
    /* times below the bound count as the bound (Walmart's status dates may lag) */
    CHECK_INT(oc_cursor_begin(&c, OVERLAP), 1350000 - OVERLAP);
    CHECK(oc_cursor_admit(&c, "old", 5));
    CHECK(!oc_cursor_admit(&c, "old", 7));
    /* an empty pass keeps the mark */
    oc_cursor_page_done(&c, NULL, OVERLAP);
    CHECK_INT(c.since_ms, 1350000);
    oc_cursor_free(&c);
}

static void test_seen_is_bounded(void)
{
    oc_cursor_t c;
    oc_cursor_decode(&c, NULL, 0);
    oc_cursor_begin(&c, OVERLAP);
    char id[32];
    for (int i = 0; i < OC_CURSOR_MAX_SEEN + 50; i++) {
        snprintf(id, sizeof(id), "o%d", i);
        oc_cursor_admit(&c, id, (uint64_t)i + 1);
    }
    CHECK_INT(c.nseen, OC_CURSOR_MAX_SEEN);
    CHECK(!oc_cursor_admit(&c, id, (uint64_t)OC_CURSOR_MAX_SEEN + 50)); /* the newest are kept */
    oc_cursor_free(&c);
}

static void test_link_and_params(void)
{
    char out[256];
    const char *both =
        "<https://s.myshopify.com/admin/api/2026-01/orders.json?limit=2&page_info=abc>; rel=\"previous\", "
        "<https://s.myshopify.com/admin/api/2026-01/orders.json?limit=2&page_info=def>; rel=\"next\"";
    CHECK_INT(oc_cursor_link_next(both, out, sizeof(out)), 0);
    CHECK_STR(out, "https://s.myshopify.com/admin/api/2026-01/orders.json?limit=2&page_info=def");
    char v[64];
    CHECK_INT(oc_cursor_url_param(out, "page_info", v, sizeof(v)), 0);
    CHECK_STR(v, "def");
    CHECK_INT(oc_cursor_url_param(out, "limit", v, sizeof(v)), 0);
    CHECK_STR(v, "2");
    CHECK_INT(oc_cursor_url_param(out, "page", v, sizeof(v)), -1); /* a prefix is not a name */
    CHECK_INT(oc_cursor_link_next("<https://x/?page_info=1>; rel=\"previous\"", out, sizeof(out)), -1);
    CHECK_INT(oc_cursor_link_next("<https://x/?page_info=2>; rel=next", out, sizeof(out)), 0);
    CHECK_STR(out, "https://x/?page_info=2");
    CHECK_INT(oc_cursor_link_next("<https://x/?a=1>; rel=\"last next\"", out, sizeof(out)), 0);
    CHECK_INT(oc_cursor_link_next("<https://x/unclosed; rel=next", out, sizeof(out)), -1);
    CHECK_INT(oc_cursor_link_next("", out, sizeof(out)), -1);
    CHECK_INT(oc_cursor_link_next(NULL, out, sizeof(out)), -1);
    CHECK_INT(oc_cursor_link_next("<https://example.com/very/long>; rel=next", out, 8), -1); /* does not fit */
}

int main(void)
{
    test_roundtrip_and_garbage();
    test_no_repeat_no_skip();
    test_seen_is_bounded();
    test_link_and_params();
    return oc_test_report();
}
