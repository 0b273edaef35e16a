/* Unit tests for adapters/sim/state.c: the seeded RNG, the string map, token buckets, times and URL helpers. */
#include "adapters/sim/sim_internal.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void test_rng(void)
{
    oc_sim_rng_t a, b, c;
    oc_sim_rng_seed(&a, 42);
    oc_sim_rng_seed(&b, 42);
    oc_sim_rng_seed(&c, 43);
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = oc_sim_rng_next(&a), y = oc_sim_rng_next(&b), z = oc_sim_rng_next(&c);
        same &= x == y;
        differ |= x != z;
    }
    CHECK(same);
    CHECK(differ);
    double sum = 0;
    int in_range = 1;
    for (int i = 0; i < 20000; i++) {
        double u = oc_sim_rng_unit(&a);
        in_range &= u >= 0 && u < 1;
        sum += oc_sim_rng_exp(&a, 4.0);
    }
    CHECK(in_range);
    double mean = sum / 20000; /* 1/rate */
    CHECK(mean > 0.24 && mean < 0.26);
    CHECK(!oc_sim_rng_chance(&a, 0));
    CHECK(oc_sim_rng_chance(&a, 1));
}

static void test_map(void)
{
    oc_sim_map_t m = {0};
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        oc_sim_map_put(&m, key, (void *)(intptr_t)(i + 1));
    }
    CHECK_INT(m.len, 1000);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        CHECK((intptr_t)oc_sim_map_del(&m, key) == i + 1);
    }
    CHECK_INT(m.len, 500);
    CHECK(oc_sim_map_get(&m, "k2") == NULL);
    CHECK((intptr_t)oc_sim_map_get(&m, "k3") == 4);
    oc_sim_map_put(&m, "k3", (void *)(intptr_t)99);
    CHECK((intptr_t)oc_sim_map_get(&m, "k3") == 99);
    CHECK_INT(m.len, 500);
    int live = 0;
    for (size_t i = 0; i < m.cap; i++)
        live += OC_SIM_MAP_LIVE(&m.slots[i]);
    CHECK_INT(live, 500);
    oc_sim_map_free(&m);
}

static void test_bucket(void)
{
    oc_sim_bucket_t b;
    double wait = 0;
    oc_sim_bucket_init(&b, 3, 20, 0);
    CHECK(oc_sim_bucket_take(&b, 1, &wait));
    CHECK(oc_sim_bucket_take(&b, 1, &wait));
    CHECK(oc_sim_bucket_take(&b, 1, &wait));
    CHECK(!oc_sim_bucket_take(&b, 1, &wait));
    CHECK(wait > 0 && wait <= 0.05 + 1e-9);
    usleep(60000);
    CHECK(oc_sim_bucket_take(&b, 1, &wait));
    oc_sim_bucket_give(&b, 100);
    CHECK(oc_sim_bucket_level(&b) <= 3.0 + 1e-9);
    oc_sim_bucket_init(&b, 1, 0, 1);
    for (int i = 0; i < 10; i++)
        CHECK(oc_sim_bucket_take(&b, 1, &wait));
}

static void test_times(void)
{
    uint64_t ms = 0; /* the rest of the format is oc_time_parse's (tests/unit/server/runtime/text.c) */
    CHECK_INT(oc_sim_parse_time("1795860000250", &ms), 0);
    CHECK_INT(ms, 1795860000250ULL);
    CHECK_INT(oc_sim_parse_time("2026-11-28T05:00:00.250-05:00", &ms), 0);
    CHECK_INT(ms, 1795860000250ULL);
    CHECK(oc_sim_parse_time("2026-13-01", &ms) != 0);
    CHECK(oc_sim_parse_time(NULL, &ms) != 0);
}

static void test_url(void)
{
    const char *form = "a=1&grant_type=refresh_token&refresh_token=Atzr%7Cx+y";
    char *v = oc_sim_form_get(form, strlen(form), "refresh_token");
    CHECK_STR(v, "Atzr|x y");
    free(v);
    CHECK(oc_sim_form_get("a=1", 3, "b") == NULL);
    v = oc_sim_urldecode("SKU%2F1+a", 9, 0);
    CHECK_STR(v, "SKU/1+a");
    free(v);
    CHECK(oc_sim_urldecode("bad%2", 5, 0) == NULL);
    CHECK(oc_sim_urldecode("nul%00", 6, 0) == NULL);
    char *e = oc_sim_b64url("idx:12", 6), *d = oc_sim_unb64url(e);
    CHECK_STR(d, "idx:12");
    free(e);
    free(d);
}

int main(void)
{
    test_rng();
    test_map();
    test_bucket();
    test_times();
    test_url();
    return oc_test_report();
}
