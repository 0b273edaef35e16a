/*
 * ratelimit.c — token buckets that obey the channel (see ratelimit.h).
 *
 * The queue of a bucket is served by its timer one waiter per tick: a
 * granted waiter's callback may start requests, finish an operation or even
 * free the whole connection state, so nothing here touches the bucket after
 * calling back (the next waiter is served on a 0 ms timer armed before).
 */
#include "adapters/ratelimit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MIN_CAPACITY 1.0
/*
 * Added to every wait for tokens: the channel's bucket starts refilling when
 * it sees our first request, a little after we sent it, so a token that is
 * due here to the microsecond is not quite there yet at the channel.
 */
#define LAG_US 20000
/* We refill 5% slower than the channel: its bucket gains a little on ours and absorbs our send jitter. */
#define RATE_MARGIN 0.95

#define DEFAULT_MAX_INFLIGHT 8

struct oc_ratelimit {
    oc_loop_t *loop;
    double scale;
    unsigned max_inflight;
    oc_rl_bucket_t **buckets;
    size_t n, cap;
};

/* --- arithmetic -------------------------------------------------------------------------- */

void oc_rl_bucket_init(oc_rl_bucket_t *b, const char *name, double capacity, double rate, uint64_t now_us)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->name, sizeof(b->name), "%s", name != NULL ? name : "");
    b->capacity = b->max_capacity = capacity < MIN_CAPACITY ? MIN_CAPACITY : capacity;
    b->rate = rate > 0 ? rate : 0;
    b->tokens = b->capacity;
    b->last_us = now_us;
    h2o_linklist_init_anchor(&b->waiters);
}

void oc_rl_refill(oc_rl_bucket_t *b, uint64_t now_us)
{
    if (now_us > b->last_us && b->rate > 0) {
        b->tokens += (double)(now_us - b->last_us) / 1e6 * b->rate * RATE_MARGIN;
        if (b->tokens > b->capacity)
            b->tokens = b->capacity;
    }
    if (now_us > b->last_us)
        b->last_us = now_us;
}

static uint64_t wait_for(const oc_rl_bucket_t *b, double deficit)
{
    if (deficit <= 0)
        return 0;
    if (b->rate <= 0)
        return 1000000; /* no known refill rate: look again in a second */
    return (uint64_t)ceil(deficit / (b->rate * RATE_MARGIN) * 1e6);
}

uint64_t oc_rl_take(oc_rl_bucket_t *b, double cost, uint64_t now_us)
{
    oc_rl_refill(b, now_us);
    double need = cost > b->capacity ? b->capacity : cost;
    if (b->blocked_until_us > now_us) {
        uint64_t blocked = b->blocked_until_us - now_us;
        /* tokens accrue while blocked: wait for whichever comes last */
        uint64_t w = wait_for(b, need - b->tokens - b->rate * RATE_MARGIN * (double)blocked / 1e6);
        return (blocked > w ? blocked : w) + LAG_US;
    }
    if (b->max_inflight > 0 && b->inflight_n >= b->max_inflight)
        return 1000000; /* woken by oc_rl_done() when one comes back */
    if (b->tokens + 1e-9 >= need) {
        b->tokens -= need;
        b->inflight += cost;
        b->inflight_n++;
        return 0;
    }
    return wait_for(b, need - b->tokens) + LAG_US;
}

uint64_t oc_rl_eta_us(oc_rl_bucket_t *b, double cost, uint64_t now_us)
{
    oc_rl_refill(b, now_us);
    double need = (cost > b->capacity ? b->capacity : cost) + b->queued;
    uint64_t blocked = b->blocked_until_us > now_us ? b->blocked_until_us - now_us : 0;
    uint64_t w = wait_for(b, need - b->tokens - b->rate * RATE_MARGIN * (double)blocked / 1e6);
    return blocked > w ? blocked : w;
}

void oc_rl_done(oc_rl_bucket_t *b, double cost)
{
    b->inflight -= cost;
    if (b->inflight < 1e-9)
        b->inflight = 0;
    if (b->inflight_n > 0 && b->inflight_n-- == b->max_inflight)
        oc_ratelimit_kick(b); /* a waiter may have been held by the cap */
}

void oc_rl_refund(oc_rl_bucket_t *b, double tokens)
{
    if (tokens <= 0)
        return;
    b->tokens += tokens;
    if (b->tokens > b->capacity)
        b->tokens = b->capacity;
}

void oc_rl_observe_remaining(oc_rl_bucket_t *b, double remaining, uint64_t now_us)
{
    oc_rl_refill(b, now_us);
    /* Never raised: answers arrive out of order, and an old answer reports an old, higher count. */
    double v = remaining - b->inflight;
    if (v < -b->capacity)
        v = -b->capacity;
    if (v < b->tokens)
        b->tokens = v;
}

void oc_rl_observe_limits(oc_rl_bucket_t *b, double capacity, double rate)
{
    if (capacity > 0) {
        b->capacity = b->max_capacity = capacity < MIN_CAPACITY ? MIN_CAPACITY : capacity;
        if (b->tokens > b->capacity)
            b->tokens = b->capacity;
    }
    if (rate > 0)
        b->rate = rate;
}

void oc_rl_block_until(oc_rl_bucket_t *b, uint64_t until_us)
{
    if (until_us > b->blocked_until_us)
        b->blocked_until_us = until_us;
}

void oc_rl_throttled(oc_rl_bucket_t *b, uint64_t retry_after_us, uint64_t now_us)
{
    oc_rl_refill(b, now_us);
    if (b->tokens > 0)
        b->tokens = 0;
    uint64_t one = b->rate > 0 ? (uint64_t)ceil(1e6 / b->rate) : 1000000;
    oc_rl_block_until(b, now_us + (retry_after_us > one ? retry_after_us : one));
    b->capacity = floor(b->capacity / 2);
    if (b->capacity < MIN_CAPACITY)
        b->capacity = MIN_CAPACITY;
    b->ok_streak = 0;
    b->throttled++;
}

void oc_rl_success(oc_rl_bucket_t *b)
{
    if (b->capacity >= b->max_capacity)
        return;
    if (++b->ok_streak >= (unsigned)b->capacity) {
        b->capacity += 1;
        if (b->capacity > b->max_capacity)
            b->capacity = b->max_capacity;
        b->ok_streak = 0;
    }
}

/* --- header parsing -------------------------------------------------------------------------- */

int oc_rl_parse_number(const char *v, double *out)
{
    if (v == NULL)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (!((*v >= '0' && *v <= '9') || *v == '.'))
        return -1;
    char *end;
    double d = strtod(v, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == v || *end != '\0' || !isfinite(d) || d < 0)
        return -1;
    *out = d;
    return 0;
}

int oc_rl_parse_retry_after(const char *v, uint64_t now_ms, uint64_t *ms)
{
    double secs;
    if (v == NULL)
        return -1;
    if (oc_rl_parse_number(v, &secs) == 0) {
        if (secs > 86400)
            secs = 86400;
        *ms = (uint64_t)ceil(secs * 1000);
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    while (*v == ' ')
        v++;
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    time_t t = timegm(&tm);
    if (t < 0)
        return -1;
    uint64_t at = (uint64_t)t * 1000;
    *ms = at > now_ms ? at - now_ms : 0;
    return 0;
}

int oc_rl_parse_call_limit(const char *v, double *used, double *capacity)
{
    if (v == NULL)
        return -1;
    const char *slash = strchr(v, '/');
    if (slash == NULL || slash == v || slash - v > 31)
        return -1;
    char left[32];
    oc_strlcpy(left, v, (size_t)(slash - v), sizeof(left));
    double u, c;
    if (oc_rl_parse_number(left, &u) != 0 || oc_rl_parse_number(slash + 1, &c) != 0 || c <= 0 || u > c)
        return -1;
    *used = u;
    *capacity = c;
    return 0;
}

/* --- the loop side ----------------------------------------------------------------------------- */

static void on_bucket_timer(oc_timer_t *t)
{
    oc_rl_bucket_t *b = t->data;
    if (h2o_linklist_is_empty(&b->waiters))
        return;
    oc_rl_waiter_t *w = H2O_STRUCT_FROM_MEMBER(oc_rl_waiter_t, link, b->waiters.next);
    uint64_t wait = oc_rl_take(b, w->cost, oc_mono_us());
    if (wait > 0) {
        oc_timer_start(b->rl->loop, &b->timer, (wait + 999) / 1000);
        return;
    }
    h2o_linklist_unlink(&w->link);
    b->queued -= w->cost;
    if (b->queued < 1e-9)
        b->queued = 0;
    if (!h2o_linklist_is_empty(&b->waiters))
        oc_timer_start(b->rl->loop, &b->timer, 0);
    w->cb(w); /* may free everything: b is not touched after this */
}

oc_ratelimit_t *oc_ratelimit_create(oc_loop_t *loop, double scale)
{
    oc_ratelimit_t *rl = oc_calloc(1, sizeof(*rl));
    rl->loop = loop;
    rl->scale = scale > 0 ? scale : 1;
    rl->max_inflight = DEFAULT_MAX_INFLIGHT;
    return rl;
}

oc_rl_bucket_t *oc_ratelimit_bucket_at(oc_ratelimit_t *rl, size_t i)
{
    return i < rl->n ? rl->buckets[i] : NULL;
}

void oc_ratelimit_set_max_inflight(oc_ratelimit_t *rl, unsigned n)
{
    rl->max_inflight = n;
}

void oc_ratelimit_destroy(oc_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < rl->n; i++) {
        oc_rl_bucket_t *b = rl->buckets[i];
        oc_timer_stop(rl->loop, &b->timer);
        while (!h2o_linklist_is_empty(&b->waiters))
            h2o_linklist_unlink(b->waiters.next);
        free(b);
    }
    free(rl->buckets);
    free(rl);
}

oc_rl_bucket_t *oc_ratelimit_bucket(oc_ratelimit_t *rl, const char *name, const oc_rl_def_t *defs, size_t ndefs,
                                    const oc_rl_def_t *fallback)
{
    for (size_t i = 0; i < rl->n; i++)
        if (strcmp(rl->buckets[i]->name, name) == 0)
            return rl->buckets[i];
    const oc_rl_def_t *def = fallback;
    for (size_t i = 0; i < ndefs; i++)
        if (strcmp(defs[i].name, name) == 0)
            def = &defs[i];
    if (def == NULL)
        return NULL;
    if (oc_array_grow(&rl->buckets, &rl->cap, rl->n, sizeof(*rl->buckets), 8) != 0)
        return NULL;
    oc_rl_bucket_t *b = oc_malloc(sizeof(*b));
    oc_rl_bucket_init(b, name, def->capacity * rl->scale, def->rate * rl->scale, oc_mono_us());
    b->rl = rl;
    b->max_inflight = rl->max_inflight;
    oc_timer_init(&b->timer, on_bucket_timer, b);
    rl->buckets[rl->n++] = b;
    return b;
}

int oc_ratelimit_acquire(oc_rl_bucket_t *b, oc_rl_waiter_t *w, double cost, oc_rl_cb cb)
{
    w->bucket = b;
    w->cost = cost;
    w->cb = cb;
    if (h2o_linklist_is_empty(&b->waiters)) {
        uint64_t wait = oc_rl_take(b, cost, oc_mono_us());
        if (wait == 0)
            return 1;
        oc_timer_start(b->rl->loop, &b->timer, (wait + 999) / 1000);
    }
    h2o_linklist_insert(&b->waiters, &w->link);
    b->queued += cost;
    return 0;
}

void oc_ratelimit_cancel(oc_rl_waiter_t *w)
{
    if (!h2o_linklist_is_linked(&w->link))
        return;
    oc_rl_bucket_t *b = w->bucket;
    int was_head = b->waiters.next == &w->link;
    h2o_linklist_unlink(&w->link);
    b->queued -= w->cost;
    if (b->queued < 1e-9)
        b->queued = 0;
    if (was_head)
        oc_ratelimit_kick(b);
}

void oc_ratelimit_kick(oc_rl_bucket_t *b)
{
    if (b->rl != NULL && !h2o_linklist_is_empty(&b->waiters))
        oc_timer_start(b->rl->loop, &b->timer, 0);
}
