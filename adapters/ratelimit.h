/*
 * ratelimit.h — token buckets per connection and per operation, that obey
 * what the channel says.
 *
 * A bucket starts from the channel's documented limit (capacity = burst,
 * rate = tokens per second), both multiplied by the connection's
 * rate_scale.  Responses then correct it: the remaining counts the channel
 * reports (Shopify's call-limit header and GraphQL throttleStatus, Walmart's
 * x-current-token-count) lower our estimate to that count less what is
 * still in flight (never raise it: answers arrive out of order, and an old
 * answer carries an old, higher count); reported limits (Shopify's bucket size and restore rate, Amazon's
 * x-amzn-RateLimit-Limit) replace ours; Retry-After and replenish times
 * block the bucket until then.  A 429 empties the bucket, blocks it for at
 * least one token's time and halves its capacity (it grows back by one per
 * `capacity` successes), so a bucket larger than the channel's converges
 * instead of hammering it.  At most `max_inflight` requests of a bucket are
 * out at once (8 unless set), so the channel's signals arrive before a
 * whole burst is spent on a guess.
 *
 * Requests wait for a token in FIFO order on a timer of the connection's
 * loop rather than being sent into a 429.  Two safety margins keep us off
 * the channel's edge: we refill 5% slower than the stated rate, and every
 * wait is padded by 20 ms (the channel's clock starts when it sees a
 * request, a little after we sent it).  The arithmetic takes explicit
 * `now_us` values (oc_mono_us() clock) so it can be tested without a loop.
 * Everything runs on the loop thread that owns the connection.
 */
#ifndef OC_RATELIMIT_H
#define OC_RATELIMIT_H

#include "runtime/loop.h"

typedef struct oc_ratelimit oc_ratelimit_t;
typedef struct oc_rl_bucket oc_rl_bucket_t;
typedef struct oc_rl_waiter oc_rl_waiter_t;

/** A documented limit: `capacity` tokens, refilled at `rate` per second. */
typedef struct oc_rl_def {
    const char *name;
    double capacity, rate;
} oc_rl_def_t;

struct oc_rl_bucket {
    char name[48];
    double capacity;       /* current size (may be lowered by 429s) */
    double max_capacity;   /* documented × scale, or what the channel reports */
    double rate;           /* tokens per second */
    double tokens;         /* may be fractional */
    double inflight;       /* cost of requests sent and not yet answered */
    unsigned inflight_n;   /* their number */
    unsigned max_inflight; /* 0 = no cap */
    uint64_t last_us;
    uint64_t blocked_until_us;
    unsigned ok_streak;
    unsigned throttled; /* 429s seen (statistics) */
    /* waiting requests (FIFO) and the timer that serves them */
    h2o_linklist_t waiters;
    double queued; /* cost of the waiting requests */
    oc_timer_t timer;
    oc_ratelimit_t *rl;
};

typedef void (*oc_rl_cb)(oc_rl_waiter_t *w);

/** A request waiting for tokens; embedded in the caller's struct. */
struct oc_rl_waiter {
    h2o_linklist_t link;
    oc_rl_bucket_t *bucket;
    double cost;
    oc_rl_cb cb;
};

/* --- the arithmetic (pure) ----------------------------------------------------------- */

/** Initialises a full bucket; rate <= 0 means the bucket never refills on its own. */
void oc_rl_bucket_init(oc_rl_bucket_t *b, const char *name, double capacity, double rate, uint64_t now_us);
/** Adds the tokens accrued since the last call. */
void oc_rl_refill(oc_rl_bucket_t *b, uint64_t now_us);
/**
 * Takes `cost` tokens (a cost above capacity counts as the capacity): returns
 * 0 when taken, else the microseconds until they will be there (nothing taken).
 */
uint64_t oc_rl_take(oc_rl_bucket_t *b, double cost, uint64_t now_us);
/** Microseconds until `cost` tokens will be there after the ones already queued. */
uint64_t oc_rl_eta_us(oc_rl_bucket_t *b, double cost, uint64_t now_us);
/** A request that took `cost` got its answer (or failed): no longer in flight. */
void oc_rl_done(oc_rl_bucket_t *b, double cost);
/** Gives back tokens (a request cost less than estimated), up to capacity. */
void oc_rl_refund(oc_rl_bucket_t *b, double tokens);
/**
 * The channel says `remaining` tokens are left after this request: our
 * estimate drops to that minus what is still in flight (never raised).
 */
void oc_rl_observe_remaining(oc_rl_bucket_t *b, double remaining, uint64_t now_us);
/** The channel states its limits; values <= 0 are ignored. */
void oc_rl_observe_limits(oc_rl_bucket_t *b, double capacity, double rate);
/** Blocks the bucket until `until_us` (Retry-After, replenish time). */
void oc_rl_block_until(oc_rl_bucket_t *b, uint64_t until_us);
/** A 429 (or THROTTLED): empty, blocked for max(retry_after, one token), capacity halved. */
void oc_rl_throttled(oc_rl_bucket_t *b, uint64_t retry_after_us, uint64_t now_us);
/** A request went through without a 429. */
void oc_rl_success(oc_rl_bucket_t *b);

/* --- header parsing (pure) ------------------------------------------------------------- */

/** Retry-After: delta seconds ("2", "2.0") or an HTTP date; sets *ms (delay from now_ms); 0 or -1. */
int oc_rl_parse_retry_after(const char *v, uint64_t now_ms, uint64_t *ms);
/** X-Shopify-Shop-Api-Call-Limit "32/40": 0 or -1. */
int oc_rl_parse_call_limit(const char *v, double *used, double *capacity);
/** A plain non-negative decimal number ("5.0", "0.0167", "12"): 0 or -1. */
int oc_rl_parse_number(const char *v, double *out);

/* --- waiting on the loop ---------------------------------------------------------------- */

/** A set of buckets for one connection on `loop`; `scale` multiplies documented limits (<= 0 means 1). */
oc_ratelimit_t *oc_ratelimit_create(oc_loop_t *loop, double scale);
/** The `i`th bucket made so far (in the order they were made), or NULL past the last: what tests inspect. */
oc_rl_bucket_t *oc_ratelimit_bucket_at(oc_ratelimit_t *rl, size_t i);
/** Caps the requests in flight per bucket (0 = no cap) for buckets created afterwards. */
void oc_ratelimit_set_max_inflight(oc_ratelimit_t *rl, unsigned n);
/** Frees every bucket; waiters still queued are dropped without callbacks.  Accepts NULL. */
void oc_ratelimit_destroy(oc_ratelimit_t *rl);
/**
 * The bucket `name`, created on first use from `defs` (documented limits
 * times the scale; a name missing from defs gets `fallback`, or NULL when
 * fallback is NULL too: no limit).
 */
oc_rl_bucket_t *oc_ratelimit_bucket(oc_ratelimit_t *rl, const char *name, const oc_rl_def_t *defs, size_t ndefs,
                                    const oc_rl_def_t *fallback);
/**
 * Takes `cost` tokens now and returns 1 (no callback), or queues `w` and
 * returns 0: w->cb runs from the loop once the tokens are taken.
 */
int oc_ratelimit_acquire(oc_rl_bucket_t *b, oc_rl_waiter_t *w, double cost, oc_rl_cb cb);
/** Removes a queued waiter (no callback); safe on one that is not queued. */
void oc_ratelimit_cancel(oc_rl_waiter_t *w);
/** Re-evaluates the queue after an observation changed the bucket. */
void oc_ratelimit_kick(oc_rl_bucket_t *b);

#endif
