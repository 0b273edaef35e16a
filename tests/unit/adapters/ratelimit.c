/*
 * Unit tests for adapters/ratelimit.c: token-bucket arithmetic on explicit
 * clocks, what the channels' signals do to a bucket, header parsing, and the
 * FIFO wait on a real loop.
 */
#include "adapters/ratelimit.h"
#include "test.h"

#include <math.h>

#define S   1000000ULL /* one second in microseconds */
#define LAG 20000ULL   /* ratelimit.c pads every wait by this */
/* ...and refills at 95% of the stated rate */
#define WAIT(deficit, rate) ((uint64_t)ceil((deficit) / ((rate)*0.95) * 1e6) + LAG)

static void test_take_and_refill(void)
{
    oc_rl_bucket_t b;
    oc_rl_bucket_init(&b, "t", 5, 2, 0);
    for (int i = 0; i < 5; i++)
        CHECK_INT(oc_rl_take(&b, 1, 0), 0);
    /* empty: the next token comes after 1/rate (0.5 s, with the margins) */
    CHECK_INT(oc_rl_take(&b, 1, 0), WAIT(1, 2));
    CHECK_INT(oc_rl_take(&b, 1, S / 4), WAIT(1 - 0.25 * 2 * 0.95, 2));
    CHECK(oc_rl_take(&b, 1, S / 2) > 0);
    CHECK_INT(oc_rl_take(&b, 1, S * 6 / 10), 0);
    /* never above capacity, however long it rests */
    oc_rl_refill(&b, 100 * S);
    CHECK(b.tokens <= 5.0 + 1e-9);
    CHECK(b.tokens >= 5.0 - 1e-9);
    /* a cost above capacity waits for a full bucket, not forever */
    oc_rl_bucket_t c;
    oc_rl_bucket_init(&c, "c", 10, 100, 0);
    CHECK_INT(oc_rl_take(&c, 50, 0), 0);
    CHECK_INT(oc_rl_take(&c, 50, 0), WAIT(10, 100));
    CHECK(oc_rl_take(&c, 50, S / 9) == 0);
    /* fractional rates (Amazon getOrders 0.0167/s) */
    oc_rl_bucket_t o;
    oc_rl_bucket_init(&o, "getOrders", 1, 0.0167, 0);
    CHECK_INT(oc_rl_take(&o, 1, 0), 0);
    uint64_t w = oc_rl_take(&o, 1, 0);
    CHECK(w > 62 * S && w < 64 * S); /* 1 / (0.0167 * 0.95) s */
}

static void test_eta_counts_the_queue(void)
{
    oc_rl_bucket_t b;
    oc_rl_bucket_init(&b, "q", 2, 1, 0);
    CHECK_INT(oc_rl_eta_us(&b, 1, 0), 0);
    b.queued = 3; /* three waiting before us, two tokens there: two more tokens' time */
    CHECK_INT(oc_rl_eta_us(&b, 1, 0), WAIT(2, 1) - LAG);
}

static void test_throttled_backs_off_and_recovers(void)
{
    oc_rl_bucket_t b;
    oc_rl_bucket_init(&b, "t", 8, 4, 0);
    oc_rl_throttled(&b, 0, 0);
    CHECK(b.capacity == 4.0);
    CHECK(b.tokens <= 0.0);
    CHECK_INT(b.throttled, 1);
    /* blocked for at least one token's time (0.25 s) even without Retry-After */
    CHECK(oc_rl_take(&b, 1, 0) >= S / 4);
    CHECK(oc_rl_take(&b, 1, S / 8) > 0);
    /* a Retry-After longer than that wins */
    oc_rl_throttled(&b, 3 * S, S);
    CHECK(oc_rl_take(&b, 1, 2 * S) >= S);
    CHECK(b.capacity == 2.0);
    oc_rl_throttled(&b, 0, 5 * S);
    oc_rl_throttled(&b, 0, 5 * S);
    CHECK(b.capacity == 1.0); /* never below one */
    /* capacity grows back by one per `capacity` successes, up to the documented size */
    for (int i = 0; i < 100; i++)
        oc_rl_success(&b);
    CHECK(b.capacity == 8.0);
}

static void test_observations(void)
{
    oc_rl_bucket_t b;
    oc_rl_bucket_init(&b, "rest", 40, 2, 0);
    /* Shopify: "32/40" leaves 8, minus what is still in flight */
    CHECK_INT(oc_rl_take(&b, 1, 0), 0);
    CHECK_INT(oc_rl_take(&b, 1, 0), 0);
    oc_rl_done(&b, 1); /* the answer of the first came back, the second is still out */
    oc_rl_observe_remaining(&b, 8, 0);
    CHECK(b.tokens > 6.99 && b.tokens < 7.01);
    /* a report never raises our estimate: answers arrive out of order (regression: a late answer
     * with an old, higher count let a whole burst through into 429s) */
    oc_rl_observe_remaining(&b, 30, 0);
    CHECK(b.tokens < 7.01);
    /* reported limits replace ours, lowering the level to fit */
    oc_rl_observe_limits(&b, 4, 1);
    CHECK(b.capacity == 4.0 && b.max_capacity == 4.0 && b.rate == 1.0);
    CHECK(b.tokens <= 4.0);
    oc_rl_observe_limits(&b, 0, -1); /* nothing usable: unchanged */
    CHECK(b.capacity == 4.0 && b.rate == 1.0);
    /* refunds go back, up to capacity */
    oc_rl_refund(&b, 100);
    CHECK(b.tokens == 4.0);
    /* a replenish time blocks until then */
    oc_rl_block_until(&b, 3 * S);
    CHECK_INT(oc_rl_take(&b, 1, S), 2 * S + LAG);
    CHECK_INT(oc_rl_take(&b, 1, 3 * S), 0);
    CHECK(b.tokens < 4.0); /* the first blocked check refilled it */
    /* in flight never goes negative */
    oc_rl_done(&b, 10);
    CHECK(b.inflight == 0.0);
}

static void test_inflight_cap(void)
{
    oc_rl_bucket_t b;
    oc_rl_bucket_init(&b, "cap", 100, 100, 0);
    b.max_inflight = 2;
    CHECK_INT(oc_rl_take(&b, 1, 0), 0);
    CHECK_INT(oc_rl_take(&b, 1, 0), 0);
    CHECK(oc_rl_take(&b, 1, 0) > 0); /* tokens there, but two are out */
    oc_rl_done(&b, 1);
    CHECK_INT(oc_rl_take(&b, 1, 0), 0);
    CHECK_INT(b.inflight_n, 2);
}

static void test_headers(void)
{
    uint64_t ms = 0;
    CHECK_INT(oc_rl_parse_retry_after("2", 0, &ms), 0);
    CHECK_INT(ms, 2000);
    CHECK_INT(oc_rl_parse_retry_after("2.0", 0, &ms), 0);
    CHECK_INT(ms, 2000);
    CHECK_INT(oc_rl_parse_retry_after(" 0.25", 0, &ms), 0);
    CHECK_INT(ms, 250);
    /* an HTTP date: Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 s */
    CHECK_INT(oc_rl_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470000ULL, &ms), 0);
    CHECK_INT(ms, 10000);
    CHECK_INT(oc_rl_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490000ULL, &ms), 0);
    CHECK_INT(ms, 0); /* in the past: go now */
    CHECK_INT(oc_rl_parse_retry_after("soon", 0, &ms), -1);
    CHECK_INT(oc_rl_parse_retry_after("-1", 0, &ms), -1);
    CHECK_INT(oc_rl_parse_retry_after("", 0, &ms), -1);
    CHECK_INT(oc_rl_parse_retry_after(NULL, 0, &ms), -1);
    CHECK_INT(oc_rl_parse_retry_after("1e999", 0, &ms), -1);

    double used, cap;
    CHECK_INT(oc_rl_parse_call_limit("32/40", &used, &cap), 0);
    CHECK(used == 32 && cap == 40);
    CHECK_INT(oc_rl_parse_call_limit("41/40", &used, &cap), -1);
    CHECK_INT(oc_rl_parse_call_limit("/40", &used, &cap), -1);
    CHECK_INT(oc_rl_parse_call_limit("32/", &used, &cap), -1);
    CHECK_INT(oc_rl_parse_call_limit("32/0", &used, &cap), -1);
    CHECK_INT(oc_rl_parse_call_limit("a/b", &used, &cap), -1);
    CHECK_INT(oc_rl_parse_call_limit(NULL, &used, &cap), -1);

    double v;
    CHECK_INT(oc_rl_parse_number("0.0167", &v), 0);
    CHECK(v > 0.0166 && v < 0.0168);
    CHECK_INT(oc_rl_parse_number("5.0", &v), 0);
    CHECK(v == 5.0);
    CHECK_INT(oc_rl_parse_number("12x", &v), -1);
    CHECK_INT(oc_rl_parse_number("nan", &v), -1);
    CHECK_INT(oc_rl_parse_number("-3", &v), -1);
}

/* --- the queue on a loop ------------------------------------------------------------------ */

typedef struct probe {
    oc_rl_waiter_t w;
    int order;
    uint64_t at_us;
} probe_t;

static int served;

static void on_ready(oc_rl_waiter_t *w)
{
    probe_t *p = (probe_t *)w;
    p->order = ++served;
    p->at_us = oc_mono_us();
}

static void test_fifo_wait(void)
{
    oc_loop_t *loop = oc_loop_create();
    static const oc_rl_def_t defs[] = {{"x", 2, 20}};
    oc_ratelimit_t *rl = oc_ratelimit_create(loop, 1);
    oc_rl_bucket_t *b = oc_ratelimit_bucket(rl, "x", defs, 1, NULL);
    CHECK(b != NULL);
    CHECK(oc_ratelimit_bucket(rl, "x", defs, 1, NULL) == b);
    CHECK(oc_ratelimit_bucket(rl, "unknown", defs, 1, NULL) == NULL);
    probe_t p[8] = {0};
    uint64_t start = oc_mono_us();
    int immediate = 0;
    for (int i = 0; i < 8; i++)
        immediate += oc_ratelimit_acquire(b, &p[i].w, 1, on_ready);
    CHECK_INT(immediate, 2); /* the burst */
    oc_ratelimit_cancel(&p[5].w);
    oc_ratelimit_cancel(&p[5].w); /* twice is harmless */
    uint64_t until = oc_mono_us() + 2000000;
    while (served < 5 && oc_mono_us() < until)
        oc_loop_run_once(loop, 10);
    CHECK_INT(served, 5);
    /* first come, first served: 2, 3, 4, 6, 7 in that order */
    CHECK_INT(p[2].order, 1);
    CHECK_INT(p[3].order, 2);
    CHECK_INT(p[4].order, 3);
    CHECK_INT(p[6].order, 4);
    CHECK_INT(p[7].order, 5);
    CHECK_INT(p[5].order, 0);
    /* Tokens beyond the burst come at 20/s: the k-th waiter served is served no
     * sooner than k × 50 ms after the start (lower bounds hold however late a
     * busy machine runs the loop; spacing between two waiters does not: a late
     * loop finds the next token already there). */
    const probe_t *in_order[] = {&p[2], &p[3], &p[4], &p[6], &p[7]};
    for (int k = 0; k < 5; k++)
        CHECK(in_order[k]->at_us - start >= (uint64_t)(k + 1) * 50000 - 1000);
    CHECK(p[7].at_us - start < 2000000);
    /* scaled: a bucket of a connection with rate_scale 10 */
    oc_ratelimit_t *fast = oc_ratelimit_create(loop, 10);
    oc_rl_bucket_t *fb = oc_ratelimit_bucket(fast, "x", defs, 1, NULL);
    CHECK(fb->capacity == 20.0 && fb->rate == 200.0);
    oc_ratelimit_destroy(fast);
    oc_ratelimit_destroy(rl);
    oc_ratelimit_destroy(NULL);
    oc_loop_destroy(loop);
}

int main(void)
{
    test_take_and_refill();
    test_eta_counts_the_queue();
    test_throttled_backs_off_and_recovers();
    test_observations();
    test_inflight_cap();
    test_headers();
    test_fifo_wait();
    return oc_test_report();
}
