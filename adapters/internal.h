/*
 * internal.h — what the channel adapters share and nothing else includes
 * (but the adapters' unit tests).
 *
 * Three layers, all on the loop thread of the connection:
 *
 *  - oc_cstate_t: the per-connection runtime state behind conn->state
 *    (access token and its expiry, a single token fetch with its waiters,
 *    the rate-limit buckets, a small channel cache, the operations running).
 *  - oc_op_t: one adapter operation (push, read, fetch_orders, …).  It ends
 *    exactly once through oc_op_finish(), which calls the caller back; ops
 *    freed with the state end with a "connection closed" error.
 *  - oc_call_t: one logical HTTP exchange of an operation.  The engine
 *    (call.c) gets a token, waits for rate-limit tokens, sends through
 *    oc_chttp_t, reads the channel's rate-limit signals, refreshes the token
 *    once on a 401, and retries transport errors and 5xx with exponential
 *    backoff and jitter within the operation's deadline.  Its callback gets
 *    the final answer (2xx or an error status for the op to interpret) or
 *    an oc_adapter_error_t.  A call never calls back from inside
 *    oc_call_start().
 *
 * A channel plugs in through oc_chan_t: its limits table, token request and
 * parser, auth headers, and a classifier that reads throttle signals.
 */
#ifndef OC_ADAPTERS_INTERNAL_H
#define OC_ADAPTERS_INTERNAL_H

#include "adapters/adapter.h"
#include "adapters/chttp.h"
#include "adapters/cursor.h"
#include "adapters/ratelimit.h"
#include "runtime/text.h"

typedef struct oc_cstate oc_cstate_t;
typedef struct oc_op oc_op_t;
typedef struct oc_call oc_call_t;

/* How an answer is handled. */
typedef enum {
    OC_CLS_OK = 0,    /* give it to the operation (2xx, or a 4xx it interprets) */
    OC_CLS_RETRY,     /* transient: back off and try again */
    OC_CLS_THROTTLED, /* the channel's throttle signal: wait for the bucket, try again */
    OC_CLS_AUTH,      /* the token was refused: refresh once, try again */
} oc_cls_t;

typedef struct oc_chan {
    const char *name;
    const oc_rl_def_t *limits;
    size_t nlimits;
    /** A static access token from the secrets (Shopify custom apps), or NULL when tokens are fetched. */
    const char *(*static_token)(const oc_channel_conn_t *c);
    /** Fills the token request (URL, body, headers) into `call`; 0, or -1 with `why` (missing secrets). */
    int (*token_request)(oc_call_t *call, char *why, size_t cap);
    /**
     * Reads a 2xx token answer (call->json) and calls oc_cstate_set_token(); 0, or -1 with `why`.
     * NULL: the OAuth 2 answer (`access_token`, `expires_in` a positive integer, else
     * `token_ttl_s`), which is what Amazon's LWA and Walmart send.
     */
    int (*token_parse)(oc_call_t *call, char *why, size_t cap);
    long long token_ttl_s;
    /** Adds auth and per-request headers (`token` NULL on calls without auth); 0, or non-zero when one cannot be. */
    int (*headers)(oc_call_t *call, const char *token);
    /** Reads rate-limit signals into call->bucket and classifies; may set *retry_after_ms. */
    oc_cls_t (*classify)(oc_call_t *call, const oc_chttp_res_t *res, uint64_t *retry_after_ms);
    /** The channel's error text of an error answer (call->json may be NULL), into buf. */
    void (*error_text)(const oc_call_t *call, const oc_chttp_res_t *res, char *buf, size_t cap);
} oc_chan_t;

struct oc_cstate {
    const oc_chan_t *ch;
    oc_loop_t *loop;
    oc_channel_conn_t *conn;
    oc_ratelimit_t *rl;
    char *token;               /* current access token (wiped when freed) */
    uint64_t token_expires_ms; /* 0 = does not expire */
    uint64_t token_margin_ms;  /* refresh this long before expiry */
    unsigned token_gen;        /* bumped on every new token */
    char *refresh_token;       /* a rotated refresh token (overrides the secrets') */
    oc_call_t *token_call;     /* the fetch in flight */
    h2o_linklist_t token_waiters;
    h2o_linklist_t ops;
    json_t *cache; /* the channel's own (Shopify: sku -> inventory item, default location) */
    int closing;
};

/** The state of `c` (created on first use, bound to the loop of `http`); NULL with *rc on failure. */
oc_cstate_t *oc_cstate_get(oc_channel_conn_t *c, oc_chttp_t *http, const oc_chan_t *ch, int *rc);
/** oc_adapter_t.state_free of every adapter: ends running operations with an error, wipes the token. */
void oc_cstate_free(void *state);
/** Stores a fetched token valid `expires_in_s` seconds (0 = no expiry). */
void oc_cstate_set_token(oc_cstate_t *st, const char *token, uint64_t expires_in_s);
/** Records a rotated refresh token and tells the connection's owner (conn->on_secret). */
void oc_cstate_rotate_refresh(oc_cstate_t *st, const char *refresh_token);

struct oc_op {
    h2o_linklist_t link; /* in st->ops */
    oc_cstate_t *st;
    oc_channel_conn_t *conn;
    oc_chttp_t *http;
    const oc_chan_t *ch;
    oc_adapter_cb cb;
    void *arg;
    h2o_linklist_t calls; /* running calls */
    uint64_t deadline_us;
    uint32_t timeout_ms; /* per HTTP request */
    int max_attempts;
    oc_timer_t timer; /* the op's own waits (polling) and deferred completion */
    void (*sleep_fn)(oc_op_t *op);
    int finish_pending;
    void (*on_free)(oc_op_t *op);
    json_t *result;     /* given to the callback, then released */
    size_t outstanding; /* per-item calls not answered yet (oc_op_item_done) */
    oc_adapter_error_t err;
    char errbuf[300];
    int finished;
};

/**
 * Allocates an operation of `size` bytes (oc_op_t first) for connection `c`;
 * NULL with *rc set when the state cannot be had (then nothing calls back).
 * Deadline and request timeout come from settings "deadline_ms" (default
 * `deadline_ms`) and "timeout_ms" (30 s).
 */
oc_op_t *oc_op_new(size_t size, oc_chttp_t *http, oc_channel_conn_t *c, const oc_chan_t *ch, uint64_t deadline_ms,
                   oc_adapter_cb cb, void *arg, int *rc);
/** Frees an operation that was never started (a synchronous failure). */
void oc_op_discard(oc_op_t *op);
/**
 * Ends the operation: aborts its calls, calls back with `e` (NULL = success
 * with op->result), frees it.  Nothing may touch `op` afterwards.
 */
void oc_op_finish(oc_op_t *op, const oc_adapter_error_t *e);
/** Ends with an error built from the arguments (`fmt` printf-style). */
void oc_op_fail(oc_op_t *op, int retryable, int http_status, uint64_t retry_after_ms, const char *fmt, ...)
    OC_PRINTF(5, 6);
/** Ends with `e` copied (the error of a call). */
void oc_op_fail_with(oc_op_t *op, const oc_adapter_error_t *e);
/** Ends successfully from the loop, later (for results known at once). */
void oc_op_finish_later(oc_op_t *op);
/**
 * Starts a new operation's one call, or ends it before it ran: with `rc` 0
 * the call (its data: the operation) starts and 0 is returned; otherwise the
 * operation is discarded (nothing calls back) and `rc` returned.
 */
int oc_op_launch(oc_op_t *op, oc_call_t *call, int rc);
/**
 * Ends a push that went as one feed: every row still without a status (the
 * items sent) is "ok", pending, with the feed's id as "ref" and the item's
 * qty, when `feed_id` is not NULL; else it fails with `err` (`retryable`).
 */
void oc_op_feed_done(oc_op_t *op, const json_t *items, const char *feed_id, const char *err, int retryable);
/**
 * Ends an order or return page successfully: closes the page on `cur`
 * (`next`: the channel's token for the next page, NULL when the pass is
 * complete) and answers {key: records, "cursor": …, "more": next != NULL}.
 * Takes `records` (a new reference); a cursor that cannot be encoded fails the operation.
 */
void oc_op_finish_page(oc_op_t *op, oc_cursor_t *cur, json_t *records, const char *key, const char *next);
/** Starts every call the operation has created (all built first, so a failure leaves nothing running). */
void oc_op_start_calls(oc_op_t *op);
/** One per-item call has been answered: ends the operation successfully after the last. */
void oc_op_item_done(oc_op_t *op);
/**
 * The read of a channel that answers one GET per item: a result row per item
 * of `items` (qty null and "sku: missing" without a sku); for every other item
 * `get` builds the call (its callback fills row call->idx, then calls
 * oc_op_item_done), NULL when it cannot.  Then the calls start (or the
 * operation ends from the loop when there are none).  0, or OC_EINVAL (`items`
 * is not an array) or OC_ENOMEM with the operation discarded (nothing calls
 * back).
 */
int oc_op_read_items(oc_op_t *op, json_t *items, oc_call_t *(*get)(oc_op_t *op, const char *sku));
/** A channel's push body for one item (new reference), or NULL with the reason in `why`. */
typedef json_t *(*oc_push_body_fn)(oc_op_t *op, const json_t *item, char *why, size_t cap);
/**
 * The result rows of a push: one per item of `items`, failed (not
 * retryable) where `body` refuses the item.  The accepted bodies are
 * appended to `bodies` when it is not NULL (dropped otherwise), their count
 * stored in *valid.  0, or OC_EINVAL (`items` is not an array) or OC_ENOMEM
 * (the operation is then the caller's to discard).
 */
int oc_op_push_rows(oc_op_t *op, json_t *items, oc_push_body_fn body, json_t *bodies, size_t *valid);
/**
 * A push of one call per item: for every item whose row has no status yet,
 * `call` builds the request (URL and all but the body; NULL when it cannot),
 * which gets the item's JSON body, row index and op; then all start.  0, or
 * a negative code with the operation discarded (nothing calls back).
 */
int oc_op_push_items(oc_op_t *op, json_t *items, oc_push_body_fn body,
                     oc_call_t *(*call)(oc_op_t *op, const json_t *item));
/** Ends with an error from the loop, later (for problems found while starting). */
void oc_op_fail_later(oc_op_t *op, int retryable, const char *fmt, ...) OC_PRINTF(3, 4);
/** Arms the op's timer (polling); `fn` runs from the loop. */
void oc_op_sleep(oc_op_t *op, uint64_t delay_ms, void (*fn)(oc_op_t *op));
/** Milliseconds left before the deadline (0 when past). */
uint64_t oc_op_left_ms(const oc_op_t *op);
/** Number of calls still running. */
size_t oc_op_running(const oc_op_t *op);

typedef void (*oc_call_cb)(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e);

#define OC_CALL_MAX_HEADERS 12

struct oc_call {
    h2o_linklist_t link;       /* in op->calls */
    h2o_linklist_t token_link; /* in st->token_waiters while waiting for a token */
    oc_op_t *op;               /* NULL for the token fetch */
    oc_cstate_t *st;
    oc_loop_t *loop; /* outlives the state: used after a callback that may free it */
    oc_chttp_t *http;
    oc_channel_conn_t *conn;
    char method[8];
    char *url;
    char *body;
    size_t body_len;
    oc_chttp_header_t headers[OC_CALL_MAX_HEADERS]; /* owned copies; the channel's are added at send */
    size_t nheaders, nfixed;
    const char *bucket_name; /* NULL = no rate limit */
    double cost;
    oc_rl_bucket_t *bucket;
    int took; /* holds `cost` tokens in flight */
    int auth; /* send the channel's auth headers (default 1) */
    uint64_t deadline_us;
    uint32_t timeout_ms;
    int attempts, throttles, refreshed;
    unsigned token_gen;
    oc_timer_t timer;
    oc_rl_waiter_t wait;
    json_t *json;         /* the parsed body of the answer being handled (borrowed) */
    char json_error[120]; /* why it did not parse, when it did not */
    oc_call_cb cb;
    void *data; /* free for the operation */
    long idx;   /* free for the operation */
    char errbuf[300];
    int phase;              /* what the call timer does next */
    int deferred_retryable; /* for a failure delivered from the loop */
};

/** A call of `op` (never NULL): `bucket` names the rate-limit bucket (NULL = none), `cost` its tokens. */
oc_call_t *oc_call_new(oc_op_t *op, const char *method, const char *bucket, double cost, oc_call_cb cb);
/** Sets the URL from a printf format; 0 or OC_ENOMEM. */
int oc_call_url(oc_call_t *call, const char *fmt, ...) OC_PRINTF(2, 3);
/** Adds a request header (copied); 0, or OC_EINVAL when full. */
int oc_call_header(oc_call_t *call, const char *name, const char *value);
/** Sets the body (copied) and its Content-Type. */
int oc_call_body(oc_call_t *call, const char *data, size_t len, const char *content_type);
/** Sets a JSON body (serialized compactly; `j` borrowed). */
int oc_call_json(oc_call_t *call, const json_t *j);
/** Starts the call (it belongs to the engine until its callback returns). */
void oc_call_start(oc_call_t *call);
/** Cancels a running call without calling back and frees it. */
void oc_call_abort(oc_call_t *call);
/** The default classification of an answer by status (429 throttled, 401 auth, 5xx/408/transport retry). */
oc_cls_t oc_call_classify_default(const oc_chttp_res_t *res, uint64_t *retry_after_ms);
/** Sets *e to a non-retryable error for an answer the operation cannot use (status and channel text). */
void oc_call_error(oc_call_t *call, const oc_chttp_res_t *res, oc_adapter_error_t *e, const char *what);
/**
 * Marks result row `r` failed (not retryable) for an answer it cannot use:
 * a 200 is "malformed response from channel: <missing>" (or the JSON
 * error); any other status is what the channel said (oc_call_error with
 * `what`).
 */
void oc_call_item_unusable(oc_call_t *call, const oc_chttp_res_t *res, json_t *r, const char *what,
                           const char *missing);
/**
 * Ends `op` (not retryable) for an answer it cannot use: when the status is
 * `ok_status` (any 2xx when it is 0) "malformed response from channel:
 * <missing>" (or the JSON error) with that status; any other status is what
 * the channel said (oc_call_error with `what`).  The operation-wide form of
 * oc_call_item_unusable.
 */
void oc_op_unusable(oc_op_t *op, oc_call_t *call, const oc_chttp_res_t *res, int ok_status, const char *what,
                    const char *missing);
/**
 * Starts an acknowledge operation for a channel whose orders need none: every
 * id in `order_ids` (an array, else OC_EINVAL) counts as acknowledged, from
 * the loop.  0, or a negative code (then nothing calls back).
 */
int oc_op_acknowledge_all(oc_chttp_t *http, oc_channel_conn_t *c, const oc_chan_t *ch, json_t *order_ids,
                          oc_adapter_cb cb, void *arg);

/* --- small shared helpers (adapter.c) ---------------------------------------------------- */

/** The connection's API base without a trailing '/': conn->base_url or the adapter's default. */
int oc_conn_base(const oc_channel_conn_t *c, const oc_adapter_t *a, char *buf, size_t cap);
const char *oc_setting_str(const oc_channel_conn_t *c, const char *name);
long long oc_setting_int(const oc_channel_conn_t *c, const char *name, long long dflt, long long min, long long max);
const char *oc_secret_str(const oc_channel_conn_t *c, const char *name);
/** Integer value of a JSON integer or of a string holding one ("12"); 0 or -1. */
int oc_json_as_int(const json_t *v, long long *out);
/** A quantity of a push item: an integer 0..1e9; 0 or -1. */
int oc_item_qty(const json_t *item, long long *qty);
/**
 * Checks a push item for a channel that sets quantities outright (no
 * compare-and-set): a non-empty "sku" (borrowed into *sku), "qty" (oc_item_qty)
 * and an "expect" oc_item_expect accepts (checked like everywhere else, then
 * not sent).  0, or -1 with the reason in `why`.
 */
int oc_item_check_set(const json_t *item, const char **sku, long long *qty, char *why, size_t cap);
/**
 * The compare-and-set expectation of a push item: "expect" absent or null
 * (*has = 0), or any integer a channel can report, negative ones included
 * (a channel shows -7 after an oversell); 0, or -1 when it is neither.
 */
int oc_item_expect(const json_t *item, int *has, long long *expect);
/** A new result row {"listing_id": …} for item `item`. */
json_t *oc_item_result(const json_t *item);
/** Marks result row `r` as an error. */
void oc_item_error(json_t *r, const char *msg, int retryable);
/** Formats ms since the epoch as RFC 3339 with milliseconds, as a new JSON string. */
json_t *oc_json_time(uint64_t ms);
/** Derives a UUID-shaped key from bytes (SHA-256); out[37]. */
void oc_derive_key(const void *data, size_t len, char out[37]);
/** The overlap of order and return cursors (settings "cursor_overlap_ms", default 120 s). */
uint64_t oc_cursor_overlap(const oc_channel_conn_t *c);

/* --- response normalizers (exposed for the unit tests) ------------------------------------- */

/** Shopify REST order -> normalized order (new reference); NULL with `why` when malformed. */
json_t *oc_shopify_order(const json_t *o, uint64_t *updated_ms, char *why, size_t cap);
/** Shopify REST refund -> normalized return (new reference); NULL with `why` when malformed. */
json_t *oc_shopify_refund(const json_t *refund, uint64_t *created_ms, char *why, size_t cap);
/**
 * One row of inventorySetQuantities' `quantities` (InventoryQuantityInput) for API `version` (202601 =
 * 2026-01): changeFromQuantity (null without an expectation) from 2026-01; before, compareQuantity when
 * `cas`, else nothing (the input then carries ignoreCompareQuantity, which the row type does not have).
 * `expect` may be negative: a channel below zero.  New reference.
 */
json_t *oc_shopify_quantity_row(int version, const char *item_ref, const char *loc, long long qty, int cas,
                                long long expect);
/** Verifies Shopify's base64 HMAC-SHA256 of `body` under `secret`; 0 or -1 (constant time). */
int oc_shopify_hmac_verify(const char *secret, const char *signature, const char *body, size_t len);
/**
 * The Listings Items PATCH body of push item `item` (sku, qty, expect checked; Amazon has no
 * compare-and-set, so the expectation is not sent); NULL with `why`.  New reference.
 */
json_t *oc_amazon_push_body(const oc_channel_conn_t *c, const json_t *item, char *why, size_t cap);
/** Amazon Orders v0 order + its items -> normalized order (new reference); NULL with `why`. */
json_t *oc_amazon_order(const json_t *order, const json_t *items, uint64_t *updated_ms, char *why, size_t cap);
/** Amazon returns report (tab-separated) -> array of normalized returns (new reference); NULL with `why`. */
json_t *oc_amazon_returns_tsv(const char *data, size_t len, char *why, size_t cap);
/**
 * The PUT /v3/inventory body (also a feed's Inventory entry) of push item `item` (sku, qty, expect checked;
 * Walmart has no compare-and-set, so the expectation is not sent); NULL with `why`.  New reference.
 */
json_t *oc_walmart_push_body(const json_t *item, char *why, size_t cap);
/** Walmart order -> normalized order (new reference); NULL with `why`. */
json_t *oc_walmart_order(const json_t *order, uint64_t *updated_ms, char *why, size_t cap);
/** Walmart return order -> normalized return (new reference); NULL with `why`. */
json_t *oc_walmart_return(const json_t *ret, uint64_t *created_ms, char *why, size_t cap);

#endif
