/*
 * adapter.h — one interface for every sales channel.
 *
 * Each channel (adapters/shopify.c, amazon.c, walmart.c) exports one
 * oc_adapter_t.  The sync worker (and `serve`, for "test connection") drives
 * them on an event loop: every operation is asynchronous, runs its HTTP
 * through the loop's oc_chttp_t (libcurl multi, adapters/chttp.h), respects
 * the connection's rate limits (adapters/ratelimit.h), refreshes the access
 * token when it expires, retries transient failures with backoff and jitter
 * within a deadline, and calls back exactly once with a normalized result.
 * A call that fails synchronously returns non-zero and never calls back.
 *
 * Normalized data is JSON (jansson), documented per operation below, so the
 * worker and the tests see every channel the same way.
 */
#ifndef OC_ADAPTER_H
#define OC_ADAPTER_H

#include <jansson.h>

#include "runtime/loop.h"

typedef struct oc_chttp oc_chttp_t;
typedef struct oc_ratelimit oc_ratelimit_t;

typedef enum { OC_CHANNEL_SHOPIFY = 1, OC_CHANNEL_AMAZON, OC_CHANNEL_WALMART } oc_channel_kind_t;

/*
 * A connection as an adapter sees it.  `settings` is the connection's
 * non-secret configuration, `secrets` its decrypted credentials (both
 * borrowed; the caller wipes secrets after the call completes).  `state` is
 * the adapter's own per-connection runtime state (tokens, rate buckets),
 * created by the adapter on first use and freed by state_free (which the
 * adapter sets beside it; the owner calls it when it frees the connection).  A
 * state is bound to the loop (thread) of the oc_chttp_t it was created
 * with; freeing it ends the operations still running on it (each calls back
 * with a retryable "connection closed" error).  Free every state before
 * oc_chttp_destroy().  The connection must outlive its operations.
 *
 * settings, per kind:
 *   shopify: {"shop": "acme.myshopify.com", "api_version": "2026-01",
 *             "location_id": "gid://shopify/Location/1"}
 *   amazon:  {"seller_id": "A1…", "marketplace_ids": ["ATVPDKIKX0DER"], "region": "na",
 *             "token_url": "https://api.amazon.com/auth/o2/token" (optional)}
 *   walmart: {} (optional "ship_node")
 * secrets, per kind:
 *   shopify: {"access_token"} or {"client_id", "client_secret", "refresh_token"};
 *            optional "webhook_secret" (the app's client secret)
 *   amazon:  {"client_id", "client_secret", "refresh_token"}
 *   walmart: {"client_id", "client_secret"}
 */
typedef struct oc_channel_conn {
    char id[37];     /* connection id */
    char tenant[37]; /* brand */
    oc_channel_kind_t kind;
    const char *base_url; /* the channel's API base, or a simulator's */
    json_t *settings;
    json_t *secrets;
    void *state;
    void (*state_free)(void *state); /* set by the adapter that made `state` */
    /* Limits: multiply the documented rates (1.0 = documented; tests may raise). */
    double rate_scale;
    /*
     * Optional: the channel rotated a credential (Shopify's expiring offline
     * tokens rotate the refresh token on every refresh).  Called on the loop
     * thread; `value` is borrowed for the call; the owner persists it
     * (encrypted) and passes it in `secrets` next time.  The adapter keeps
     * using the rotated value for as long as `state` lives.
     */
    void (*on_secret)(struct oc_channel_conn *c, const char *name, const char *value, void *arg);
    void *on_secret_arg;
    /* The owner's: the account the channel confirmed this connection is (tenants/channels.h), NULL until it
     * has.  Adapters do not read it. */
    json_t *account;
} oc_channel_conn_t;

/*
 * Errors: `err` NULL on success; otherwise a short lower-case message, and
 * `retryable` says whether trying again later may succeed (429, 5xx,
 * timeouts, connection failures) or not (401/403 after a token refresh,
 * 4xx validation, malformed responses).
 */
typedef struct oc_adapter_error {
    const char *err;
    int retryable;
    int http_status;         /* the channel's last status, 0 if none */
    uint64_t retry_after_ms; /* when the channel said when (Retry-After, replenish time) */
} oc_adapter_error_t;

/*
 * push: set absolute quantities.  items: [{"listing_id", "sku" (the channel's
 * SKU), "item_ref" (Shopify inventory item gid; looked up by SKU when
 * absent), "location_ref" (Shopify location gid, else settings, else the
 * shop's first location), "qty", "expect": previous quantity or null
 * (compare-and-set where the channel offers it), "key": idempotency key}].
 * result: [{"listing_id", "status": "ok"|"stale"|"error", "qty" (what the channel
 * now reports or accepted), "current" (stale: the channel's actual quantity),
 * "pending": true when the channel applies later (Amazon, feeds), "ref" (the
 * channel's submission or feed id, when it gives one), "error",
 * "retryable" (with "error")}], one per item, same order.  An operation-level
 * error (no result) means nothing could be attempted (e.g. lookups failed).
 *
 * read: quantities as the channel shows them.  items as for push (no qty).
 * result: [{"listing_id", "qty" or null when the listing is unknown to the channel,
 * "updated_at" (ISO time) when the channel says when it last changed the listing,
 * "error"/"retryable" when it could not be read}].
 *
 * fetch_orders: orders changed since `cursor` (opaque string from the
 * previous result; NULL = the last 24 hours).  result: {"orders": [order…],
 * "cursor": next cursor, "more": true when another page is ready}.  An order
 * comes back when it changed; an unchanged one does not come back (the cursor
 * remembers what it returned inside its overlap window, adapters/cursor.h).
 * order: {"id", "status": "pending"|"open"|"cancelled"|"shipped"|"partial",
 * "created_at", "updated_at", "needs_ack": bool,
 * "lines": [{"id", "sku", "qty", "qty_shipped", "qty_cancelled"}]}.
 *
 * fetch_returns: returns since `cursor`.  result: {"returns": [{"id", "order_id",
 * "created_at", "lines": [{"id", "sku", "qty", "disposition": "restock"|"damaged"|"inspect"|null,
 * "restocked_by_channel": bool, "order_line_id" (when known)}]}], "cursor", "more"}.
 * Cancellations are not returns (they come with the order).
 *
 * acknowledge: order ids ["…"] the channel wants acknowledged (Walmart; the
 * others acknowledge everything at once).  result: {"acknowledged": [...],
 * "failed": [...], "errors": {"id": {"error", "retryable"}}}.
 *
 * test: calls the channel with the credentials and reports what it found.
 * result: {"ok": true, "account": "…", "identity": {...}, "details": {...}} (no
 * secrets).  identity is what the channel confirmed about the account:
 * Shopify {"shop_domain", "shop_id"}; Amazon {"seller_id", "marketplace_ids"}
 * (the settings' seller, accepted by the channel for those marketplaces);
 * Walmart {} plus "partner_id" when the channel names one (its token detail
 * does not), the owner falling back to the API client.
 *
 * Every operation takes its deadline from settings "deadline_ms" (default
 * 120 s), each HTTP request's from "timeout_ms" (30 s), retries from
 * "max_attempts" (6); see adapters/README.md for the other settings.
 */
typedef void (*oc_adapter_cb)(void *arg, const oc_adapter_error_t *e, json_t *result /* borrowed */);

typedef struct oc_adapter {
    const char *name; /* "shopify", "amazon", "walmart" */
    oc_channel_kind_t kind;
    /** Default API base for a connection's settings (real endpoint). */
    const char *(*default_base_url)(const json_t *settings, char *buf, size_t cap);
    /** Checks settings and secrets; on a problem writes "field: reason" to why and returns -1. */
    int (*validate)(const json_t *settings, const json_t *secrets, char *why, size_t cap);
    int (*push)(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg);
    int (*read)(oc_chttp_t *http, oc_channel_conn_t *c, json_t *items, oc_adapter_cb cb, void *arg);
    int (*fetch_orders)(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb, void *arg);
    int (*fetch_returns)(oc_chttp_t *http, oc_channel_conn_t *c, const char *cursor, oc_adapter_cb cb, void *arg);
    int (*acknowledge)(oc_chttp_t *http, oc_channel_conn_t *c, json_t *order_ids, oc_adapter_cb cb, void *arg);
    int (*test)(oc_chttp_t *http, oc_channel_conn_t *c, oc_adapter_cb cb, void *arg);
    /**
     * Verifies a webhook delivery (synchronous, constant time): returns 0 when
     * `signature` is the channel's signature of `body` under the connection's
     * secret, -1 otherwise.  NULL for channels without webhooks.
     */
    int (*verify_webhook)(const oc_channel_conn_t *c, const char *signature, const char *body, size_t len);
    /** Largest batch `push` accepts in one call (the worker splits larger ones). */
    int max_batch;
    void (*state_free)(void *state);
} oc_adapter_t;

extern const oc_adapter_t oc_adapter_shopify;
extern const oc_adapter_t oc_adapter_amazon;
extern const oc_adapter_t oc_adapter_walmart;

/** The adapter for a kind name ("shopify"…), or NULL. */
const oc_adapter_t *oc_adapter_by_name(const char *name);

/** "shopify", "amazon", "walmart" ↔ the kind; parsing anything else gives 0. */
const char *oc_channel_kind_name(oc_channel_kind_t kind);
oc_channel_kind_t oc_channel_kind_parse(const char *name);

#endif
