/*
 * sim_internal.h — the simulators' private model, shared by the files of
 * adapters/sim/ and by nothing else.
 *
 * Threads: everything here lives on the one HTTP loop thread except the
 * webhook queue (webhook.c), which the delivery thread shares under its own
 * mutex.  Ownership: an account owns its SKUs, orders, returns, feeds,
 * reports and documents; oc_sim_account_destroy() frees all of them.  JSON
 * values follow jansson's words: "new reference" means the caller releases.
 */
#ifndef OC_SIM_INTERNAL_H
#define OC_SIM_INTERNAL_H

#include <h2o.h>
#include <jansson.h>

#include "runtime/listener.h"

#include "runtime/common.h"
#include "runtime/text.h"
#include "runtime/loop.h"

typedef enum { OC_SIM_SHOPIFY = 0, OC_SIM_AMAZON, OC_SIM_WALMART, OC_SIM_NCHANNELS } oc_sim_channel_t;

typedef struct oc_sim oc_sim_t;
typedef struct oc_sim_account oc_sim_account_t;
typedef struct oc_sim_req oc_sim_req_t;
typedef struct oc_sim_webhooks oc_sim_webhooks_t;

/* --- small tools (state.c) ------------------------------------------------ */

/** A seeded xoshiro256** generator: the same seed gives the same sequence. */
typedef struct oc_sim_rng {
    uint64_t s[4];
} oc_sim_rng_t;

void oc_sim_rng_seed(oc_sim_rng_t *r, uint64_t seed);
uint64_t oc_sim_rng_next(oc_sim_rng_t *r);
/** Uniform in [0, 1). */
double oc_sim_rng_unit(oc_sim_rng_t *r);
/** An exponential variate with the given rate (events per unit); rate > 0. */
double oc_sim_rng_exp(oc_sim_rng_t *r, double rate);
/** 1 with probability p. */
int oc_sim_rng_chance(oc_sim_rng_t *r, double p);

/** An open-addressing map from NUL-terminated strings (copied) to pointers (borrowed). */
typedef struct oc_sim_map_slot {
    char *key; /* NULL = empty, oc_sim_map_tomb = deleted */
    void *val;
} oc_sim_map_slot_t;

typedef struct oc_sim_map {
    oc_sim_map_slot_t *slots;
    size_t cap, len, used;
} oc_sim_map_t;

extern char oc_sim_map_tomb[];
#define OC_SIM_MAP_LIVE(slot) ((slot)->key != NULL && (slot)->key != oc_sim_map_tomb)

void *oc_sim_map_get(const oc_sim_map_t *m, const char *key);
/** Inserts or replaces (the key is copied). */
void oc_sim_map_put(oc_sim_map_t *m, const char *key, void *val);
/** Removes `key`; returns its value or NULL. */
void *oc_sim_map_del(oc_sim_map_t *m, const char *key);
void oc_sim_map_free(oc_sim_map_t *m);

/**
 * A token bucket: `burst` tokens at most, refilled at `rate` per second.
 * Shopify's leaky bucket is the same thing seen from the other side (the
 * bucket's fill level is burst - tokens).  An unlimited bucket always gives,
 * and its answers carry no limit headers (see README, "unlimited").
 */
typedef struct oc_sim_bucket {
    double burst, rate, tokens;
    uint64_t last_us;
    int unlimited;
} oc_sim_bucket_t;

void oc_sim_bucket_init(oc_sim_bucket_t *b, double burst, double rate, int unlimited);
/** Refills by elapsed time; returns the tokens now available. */
double oc_sim_bucket_level(oc_sim_bucket_t *b);
/** Takes `cost` tokens and returns 1, or returns 0 and sets *wait_s to the time until they are there. */
int oc_sim_bucket_take(oc_sim_bucket_t *b, double cost, double *wait_s);
/** Gives back `cost` tokens (capped at burst). */
void oc_sim_bucket_give(oc_sim_bucket_t *b, double cost);

/* Times are written with oc_time_format (runtime/text.h): OC_TIME_OFFSET is Shopify's REST style. */
/** Epoch milliseconds (Walmart accepts them) or what oc_time_parse reads; 0 or -1. */
int oc_sim_parse_time(const char *s, uint64_t *ms);

/** oc_percent_decode into a malloc'd string; NULL on a bad escape. */
char *oc_sim_urldecode(const char *s, size_t len, int plus);
/** Value of `name` in an application/x-www-form-urlencoded string (malloc'd, decoded), or NULL. */
char *oc_sim_form_get(const char *form, size_t len, const char *name);
/** base64url of `s`, malloc'd (opaque pagination tokens). */
char *oc_sim_b64url(const char *s, size_t len);
/** Inverse of oc_sim_b64url; malloc'd, NUL-terminated, or NULL. */
char *oc_sim_unb64url(const char *s);

/** Integer value of a JSON number that is integral, else returns 0 and leaves *out. */
int oc_sim_json_int(const json_t *v, long long *out);
/** Parses a JSON object body; NULL when not an object. New reference. */
json_t *oc_sim_json_parse(const char *s, size_t len);

/* --- faults and limits ------------------------------------------------------ */

typedef struct oc_sim_faults {
    int latency_ms, latency_jitter_ms;
    double error_rate; /* fraction answered with error_status, nothing applied */
    int error_status;
    double timeout_rate; /* fraction held open timeout_ms, then 504; nothing applied */
    int timeout_ms;
    double malformed_rate;   /* fraction of 2xx answers whose body is cut short */
    uint64_t storm_until_ms; /* every request throttled until then */
    char match[128];         /* only paths containing this (empty = all) */
} oc_sim_faults_t;

void oc_sim_faults_clear(oc_sim_faults_t *f);
/** Applies the members of `o` onto `f`; returns 0 or -1 with a message in `err`. */
int oc_sim_faults_parse(oc_sim_faults_t *f, const json_t *o, char *err, size_t errlen);
json_t *oc_sim_faults_json(const oc_sim_faults_t *f);

/** A rate-limit bucket's default, by name (an operation or an API group). */
typedef struct oc_sim_limit_def {
    const char *name;
    double burst, rate;
} oc_sim_limit_def_t;

#define OC_SIM_MAX_BUCKETS 20

/* --- accounts ---------------------------------------------------------------- */

typedef struct oc_sim_sku {
    char *sku;
    int index;
    long long qty;                              /* what the channel shows as sellable now (Shopify: available) */
    long long committed;                        /* Shopify: units in unfulfilled orders (on_hand = qty + committed) */
    long long submitted;                        /* Amazon: last quantity submitted (attributes); Walmart: last input */
    long long item_id, location_id, variant_id; /* Shopify numeric ids */
    char asin[12];
    uint64_t updated_ms;
    /* generator */
    double rate_per_s;
    double next_arrival_s; /* seconds on the generator's clock */
    /* statistics */
    long long orders, sold, oversold, stockouts, lost_arrivals, writes, cancelled, returned, restocked;
    uint64_t zero_since_ms, zero_total_ms;
} oc_sim_sku_t;

typedef struct oc_sim_line {
    int sku_index;
    long long line_id;
    long long qty, cancelled, shipped, returned, refunded;
    long long delivered; /* Walmart: shipped units the carrier delivered */
    uint64_t status_ms;
} oc_sim_line_t;

typedef struct oc_sim_order {
    long long num; /* 1, 2, … within the account; also the index + 1 */
    char id[40];   /* Shopify numeric id, Amazon 3-7-7, Walmart purchaseOrderId */
    char name[24]; /* Shopify "#1001"; Walmart customerOrderId */
    long long shopify_id;
    uint64_t created_ms, updated_ms;
    int pending;      /* Amazon: still Pending */
    int acknowledged; /* Walmart */
    int cancelled, fulfilled, generated;
    int afn;                 /* Amazon: fulfilled by Amazon from its own stock (FBA), not the seller's listing */
    int preorder;            /* Amazon: PendingAvailability until fulfilled or cancelled */
    int unfulfillable;       /* Amazon: a multi-channel (AFN) order Amazon cannot fulfil */
    int invoice_unconfirmed; /* Amazon: shipped, invoice not confirmed yet */
    uint64_t cancelled_ms, fulfilled_ms;
    char cancel_reason[40];
    int nlines;
    oc_sim_line_t *lines;
    json_t *refunds; /* Shopify REST refund objects (array) */
} oc_sim_order_t;

typedef struct oc_sim_return {
    char id[32];
    int order_index, line_index;
    long long qty;
    char reason[48];
    uint64_t created_ms, updated_ms;
    int status; /* 0 initiated, 1 delivered, 2 completed */
} oc_sim_return_t;

/* An asynchronous document-processing job: Amazon feed or report, Walmart feed. */
typedef struct oc_sim_job {
    char id[72];
    char type[48];
    uint64_t created_ms, start_ms, done_ms;
    uint64_t data_start_ms, data_end_ms; /* reports */
    int applied, fatal;
    json_t *input;  /* parsed feed body */
    json_t *result; /* processing report / item details */
    char result_doc[96];
    long long received, succeeded, failed;
    int cancelled; /* Amazon: a report without data is CANCELLED, with no document */
} oc_sim_job_t;

/* Amazon: a document behind a presigned URL (feed input, feed result, report). */
typedef struct oc_sim_doc {
    char id[96];
    int account_id;
    char *data;
    size_t len;
    char content_type[64];
    char sig[40]; /* the presigned URL's X-Amz-Signature */
    int uploaded;
    int gzip;            /* served GZIP-compressed: getReportDocument says compressionAlgorithm */
    uint64_t expires_ms; /* of the upload URL */
} oc_sim_doc_t;

/* Amazon: a PATCH waiting for its delayed apply. */
typedef struct oc_sim_patch {
    int sku_index;
    long long qty;
    uint64_t due_ms;
} oc_sim_patch_t;

/* A vector of owned pointers. */
typedef struct oc_sim_vec {
    void **items;
    size_t len, cap;
} oc_sim_vec_t;

/** Appends p (the vector grows as needed; allocation cannot fail, alloc.h). */
void oc_sim_vec_push(oc_sim_vec_t *v, void *p);
void oc_sim_vec_free(oc_sim_vec_t *v, void (*free_item)(void *));
/**
 * Applies the jobs of `jobs` (oc_sim_job_t) that are due by `now` and not
 * applied yet: marks each applied, then calls `apply` (the channel's
 * processing), in submission order.
 */
void oc_sim_jobs_run_due(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_vec_t *jobs, uint64_t now,
                         void (*apply)(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_job_t *j));

enum {
    OC_SIM_TOPIC_ORDERS_CREATE = 1 << 0,
    OC_SIM_TOPIC_ORDERS_CANCELLED = 1 << 1,
    OC_SIM_TOPIC_ORDERS_FULFILLED = 1 << 2,
    OC_SIM_TOPIC_REFUNDS_CREATE = 1 << 3,
    OC_SIM_TOPIC_INVENTORY_LEVELS_UPDATE = 1 << 4,
    OC_SIM_TOPIC_ORDERS_UPDATED = 1 << 5,
    OC_SIM_TOPIC_ALL = (1 << 6) - 1,
};

typedef struct oc_sim_lifecycle {
    double cancel_fraction;
    int cancel_after_ms;
    int fulfill_after_ms; /* < 0: never */
    double return_fraction;
    int return_after_ms;
    int restock; /* cancellations and Shopify returns put units back */
    /* the rest of what the channels publish (0 / -1: never) */
    double afn_fraction;      /* Amazon: orders fulfilled by Amazon from its own stock */
    double preorder_fraction; /* Amazon: preorders (PendingAvailability) */
    int deliver_after_ms;     /* Walmart: shipped units are delivered this long after shipping */
    double refund_fraction;   /* Walmart: shipped orders that get a partial refund (one unit, no return) */
} oc_sim_lifecycle_t;

struct oc_sim_account {
    oc_sim_t *sim;
    int id;
    oc_sim_channel_t channel;
    char name[64];
    uint64_t created_ms, seed;
    oc_sim_rng_t rng;     /* faults and webhook duplicates */
    oc_sim_rng_t gen_rng; /* order generator */

    /* credentials (never logged) */
    char client_id[100], client_secret[100];
    char refresh_token[100], prev_refresh_token[100];
    char offline_token[100]; /* Shopify: the token handed out at creation */
    int expiring;            /* Shopify: offline tokens expire and refresh */
    int token_ttl_s;
    int refresh_ttl_s;
    char seller_id[20], marketplace_id[20]; /* Amazon (Walmart: seller_id is the partner id) */
    char marketplaces[200];                 /* Amazon: the marketplaces the seller is in, comma-separated */
    char ship_node[20];                     /* Walmart */
    long long location_id;                  /* Shopify default location */

    /* stock */
    oc_sim_vec_t skus; /* oc_sim_sku_t* */
    oc_sim_map_t sku_map, item_map;

    /* orders and returns */
    oc_sim_vec_t orders; /* oc_sim_order_t*, num = index + 1 */
    oc_sim_map_t order_map;
    oc_sim_vec_t returns;       /* oc_sim_return_t* */
    oc_sim_vec_t notifications; /* Amazon ORDER_CHANGE payloads (json_t*) */

    /* rate limits */
    int unlimited;
    int nbuckets;
    struct {
        char name[40];
        oc_sim_bucket_t b;
    } buckets[OC_SIM_MAX_BUCKETS];

    oc_sim_faults_t faults;

    /* Shopify webhooks */
    struct {
        char url[512];
        char secret[128];
        unsigned topics;
        int duplicates;
        double duplicate_rate;
        int max_attempts, retry_base_ms, timeout_ms;
        char api_version[16];
    } webhook;
    oc_sim_map_t idem;      /* Shopify @idempotent key -> struct idem_entry */
    oc_sim_vec_t idem_fifo; /* keys in insertion order, to bound the map */

    /* Amazon and Walmart asynchronous work */
    int apply_delay_ms;                 /* Amazon PATCH */
    int feed_queue_ms, feed_process_ms; /* feeds: queued, then processing */
    int report_ms;
    int report_gzip;      /* Amazon: report documents GZIP-compressed, as Amazon sends large ones */
    int pending_ms;       /* Amazon Pending -> Unshipped */
    int order_items_page; /* Amazon: getOrderItems answers this many items a page (NextToken) */
    oc_sim_vec_t patches; /* oc_sim_patch_t*, FIFO */
    oc_sim_vec_t feeds;   /* oc_sim_job_t* */
    oc_sim_vec_t reports; /* oc_sim_job_t* */
    oc_timer_t apply_timer;

    /* order generator */
    struct {
        int configured, running;
        double all_rate; /* per second, for SKUs without their own rate */
        int units_min, units_max;
        int lifecycle_on;
        oc_sim_lifecycle_t lifecycle;
        uint64_t seed;
        uint64_t started_us;
        oc_timer_t timer;
        int *heap; /* SKU indexes, a min-heap on next_arrival_s */
        size_t nheap;
    } gen;

    long long next_line_id, next_refund_id, next_return_num;
};

/* --- the request log ---------------------------------------------------------- */

typedef struct oc_sim_log_entry {
    long long id;
    uint64_t ts_ms;
    int account_id;
    int channel; /* -1: unknown */
    char method[8];
    char *path;
    char *query;
    const char *op;
    int status;
    double ms;
    const char *fault;
    json_t *writes;  /* {"SKU": quantity} for quantity writes, else NULL */
    json_t *capture; /* with capture on: {"request": {headers, body}, "response": {status, headers, body}} */
} oc_sim_log_entry_t;

/* --- the simulator ------------------------------------------------------------ */

typedef struct oc_sim_event oc_sim_event_t;

struct oc_sim {
    oc_loop_t *loop;
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    oc_conns_t conns;
    int port;
    volatile int stopping;

    oc_sim_vec_t accounts; /* oc_sim_account_t*, by creation */
    int next_account_id;
    oc_sim_map_t account_map; /* decimal id -> account */
    oc_sim_map_t shops;       /* Shopify shop name -> account */
    oc_sim_map_t tokens;      /* access token -> struct oc_sim_token */
    oc_sim_map_t docs;        /* Amazon document id -> oc_sim_doc_t */
    long long next_item_id, next_order_seq, next_job_seq;

    oc_sim_faults_t faults; /* global */
    oc_sim_rng_t rng;

    oc_sim_log_entry_t *log;
    size_t log_cap, log_len, log_head;
    size_t log_want; /* capacity the next reset gives the log */
    int capture;     /* the log keeps each request's headers and body and its answer (POST /_sim/reset) */
    long long next_log_id;

    h2o_linklist_t events; /* oc_sim_event_t, armed */
    h2o_linklist_t held;   /* oc_sim_req_t, responses held back */

    oc_sim_webhooks_t *webhooks;
};

/* An issued access token. */
typedef struct oc_sim_token {
    int account_id;
    uint64_t expires_ms; /* 0 = never */
    int kind;            /* OC_SIM_TOKEN_* */
} oc_sim_token_t;

enum { OC_SIM_TOKEN_ACCESS = 0, OC_SIM_TOKEN_CODE };

/* --- requests (sim.c) -------------------------------------------------------- */

#define OC_SIM_MAX_SEGS   16
#define OC_SIM_MAX_PARAMS 4

enum {
    OC_SIM_NOAUTH = 1,    /* token endpoints and presigned URLs: the handler checks credentials */
    OC_SIM_OWN_LIMIT = 2, /* the handler draws from its bucket itself (GraphQL cost) */
};

typedef struct oc_sim_route {
    const char *method;
    const char *pattern; /* after the channel prefix: "/v3/orders/{po}/acknowledge"; "{id}.json" matches a suffix */
    void (*handler)(oc_sim_req_t *r);
    const char *op;     /* operation name for logs and the rate-limit bucket (NULL = none) */
    const char *bucket; /* bucket name when it differs from op */
    int flags;
} oc_sim_route_t;

/** What each channel exports (the h2o handler pattern: one struct per file). */
typedef struct oc_sim_channel_ops {
    const char *name;
    const oc_sim_route_t *routes;
    size_t nroutes;
    const oc_sim_limit_def_t *limits;
    size_t nlimits;
    /**
     * Resolves r->acct and checks credentials; on failure replies (401/403)
     * and returns -1.  For OC_SIM_NOAUTH routes only identifies the account
     * when it can and always returns 0.
     */
    int (*authenticate)(oc_sim_req_t *r);
    /** Replies with the channel's throttle signal; retry_s is the advised wait. */
    void (*throttled)(oc_sim_req_t *r, oc_sim_bucket_t *b, double retry_s);
    /** Adds the rate-limit headers of a served request. */
    void (*limit_headers)(oc_sim_req_t *r, oc_sim_bucket_t *b);
    /** Replies with the channel's error shape. */
    void (*error)(oc_sim_req_t *r, int status, const char *code, const char *message);
} oc_sim_channel_ops_t;

/*
 * A simulated channel's ops, from the parts every channel file names alike:
 * its `routes` and `limits` tables and its `authenticate`, `throttled` and
 * `channel_error` functions; `headers` is its rate-limit header writer.
 */
#define OC_SIM_CHANNEL_OPS(kind, headers)                                                                              \
    {                                                                                                                  \
        .name = kind, .routes = routes, .nroutes = OC_ARRAY_SIZE(routes), .limits = limits,                            \
        .nlimits = OC_ARRAY_SIZE(limits), .authenticate = authenticate, .throttled = throttled,                        \
        .limit_headers = headers, .error = channel_error,                                                              \
    }

extern const oc_sim_channel_ops_t oc_sim_shopify_ops, oc_sim_amazon_ops, oc_sim_walmart_ops;

struct oc_sim_req {
    oc_sim_t *sim;
    h2o_req_t *h2o;
    const oc_sim_channel_ops_t *ch; /* NULL for /_sim/ */
    const oc_sim_route_t *route;
    oc_sim_account_t *acct;
    uint64_t start_us;
    char method[8];
    char *path;  /* raw, without query (h2o pool) */
    char *query; /* raw query or NULL (h2o pool) */
    const char *body;
    size_t body_len;
    int nsegs;
    char *segs[OC_SIM_MAX_SEGS]; /* decoded path segments (h2o pool) */
    int seg0;                    /* first segment after the channel prefix */
    int nparams;
    struct {
        const char *name;
        const char *value;
    } params[OC_SIM_MAX_PARAMS];
    char base[160];   /* "http://authority" */
    char shop[64];    /* Shopify shop in the path */
    char version[16]; /* Shopify API version in the path */
    const char *op;
    const char *fault;
    json_t *writes;
    oc_sim_bucket_t *bucket; /* the rate-limit bucket this request drew from */
    /* the response being built */
    int status;
    char content_type[64];
    oc_buf_t out;
    int nheaders;
    struct {
        char *name, *value;
    } headers[16];
    int replied;
    /* a response held back (latency, timeouts) */
    oc_timer_t timer;
    h2o_linklist_t held_link;
    struct oc_sim_guard *guard;
};

/** Sends `body` (stolen; NULL = empty) as JSON. */
void oc_sim_reply_json(oc_sim_req_t *r, int status, json_t *body);
void oc_sim_reply_raw(oc_sim_req_t *r, int status, const char *content_type, const char *data, size_t len);
/** Adds a response header (copied). */
void oc_sim_header(oc_sim_req_t *r, const char *name, const char *value);
/** Query parameter, decoded, in the h2o pool; NULL when absent. */
const char *oc_sim_query(oc_sim_req_t *r, const char *name);
/** Path parameter of the matched route. */
const char *oc_sim_param(oc_sim_req_t *r, const char *name);
/** Request header (lower-case name) in the h2o pool, or NULL. */
const char *oc_sim_req_header(oc_sim_req_t *r, const char *name);
/** Records `sku` -> `qty` in this request's request-log entry. */
void oc_sim_note_write(oc_sim_req_t *r, const char *sku, long long qty);
/** Takes one token (or `cost`) from bucket `name` of the account; replies throttled and returns -1 when empty. */
int oc_sim_limit(oc_sim_req_t *r, const char *name, double cost);

/* --- state (state.c) ---------------------------------------------------------- */

/** Creates an account from a control-API body; replies-free: returns NULL and fills `err`. */
oc_sim_account_t *oc_sim_account_create(oc_sim_t *sim, const json_t *spec, char *err, size_t errlen);
/** Applies settings (limits, faults, webhook, delays, token lifetimes) from `spec`; 0 or -1 with `err`. */
int oc_sim_account_configure(oc_sim_t *sim, oc_sim_account_t *a, const json_t *spec, char *err, size_t errlen);
void oc_sim_account_destroy(oc_sim_t *sim, oc_sim_account_t *a);
oc_sim_account_t *oc_sim_account_find(oc_sim_t *sim, int id);
/** Removes the account from every index and frees it. */
void oc_sim_account_delete(oc_sim_t *sim, oc_sim_account_t *a);
/** The account's view for the control API (credentials included). New reference. */
json_t *oc_sim_account_json(oc_sim_t *sim, oc_sim_account_t *a, const char *base, int full);
oc_sim_bucket_t *oc_sim_account_bucket(oc_sim_account_t *a, const char *name);

oc_sim_sku_t *oc_sim_sku_find(oc_sim_account_t *a, const char *sku);
oc_sim_sku_t *oc_sim_sku_by_item(oc_sim_account_t *a, long long item_id);
/** Adds a SKU with quantity `qty`; NULL if it exists. */
oc_sim_sku_t *oc_sim_sku_add(oc_sim_t *sim, oc_sim_account_t *a, const char *sku, long long qty);
oc_sim_sku_t *oc_sim_sku_at(oc_sim_account_t *a, int index);

/**
 * Sets the channel's sellable quantity of `s` (an API write, a feed, a
 * control-API edit): keeps statistics and, on Shopify, fires
 * inventory_levels/update.  `is_write` counts it as a write from a client.
 */
void oc_sim_set_qty(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_sku_t *s, long long qty, int is_write);
/** Adjusts by `delta` (sales, cancels, restocks) with the same bookkeeping. */
void oc_sim_adjust_qty(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_sku_t *s, long long delta);

/** Issues a random access token for `a` valid `ttl_s` seconds (0 = never); writes it into out (cap >= 100). */
void oc_sim_token_issue(oc_sim_t *sim, oc_sim_account_t *a, const char *prefix, int ttl_s, char *out, size_t cap);
/** Looks a token up: returns its account, or NULL; *expired is set when it exists but has expired. */
oc_sim_account_t *oc_sim_token_check(oc_sim_t *sim, const char *token, int *expired);
/** Expires every token of an account now (control API). */
void oc_sim_tokens_expire(oc_sim_t *sim, int account_id);

/* request log */
void oc_sim_log_init(oc_sim_t *sim, size_t cap);
void oc_sim_log_add(oc_sim_t *sim, oc_sim_req_t *r);
/** With capture on, what the request and its answer were (credentials redacted). New reference or NULL. */
json_t *oc_sim_capture(oc_sim_req_t *r);
void oc_sim_log_free(oc_sim_t *sim);
json_t *oc_sim_log_query(oc_sim_t *sim, int account_id, long long since, size_t limit, const char *path_contains,
                         int with_capture);

/** A one-shot callback after delay_ms for an account (skipped if the account is gone by then). */
typedef void (*oc_sim_event_fn)(oc_sim_t *sim, oc_sim_account_t *a, long long obj, int arg);
void oc_sim_schedule(oc_sim_t *sim, oc_sim_account_t *a, uint64_t delay_ms, oc_sim_event_fn fn, long long obj, int arg);
/** Cancels every scheduled event (reset, shutdown). */
void oc_sim_events_clear(oc_sim_t *sim);

/** Empties the simulator: accounts, tokens, log, events, faults. */
void oc_sim_reset(oc_sim_t *sim);

/* --- orders (orders.c) ---------------------------------------------------------- */

typedef struct oc_sim_line_spec {
    oc_sim_sku_t *sku;
    long long qty;
} oc_sim_line_spec_t;

/**
 * Places an order as the channel would: each line takes units from the
 * channel's quantity.  Without `force` every line must be covered by the
 * quantity shown (else returns NULL and sets *err); with `force` the
 * quantity may go negative and the excess counts as oversold.
 */
oc_sim_order_t *oc_sim_order_place(oc_sim_t *sim, oc_sim_account_t *a, const oc_sim_line_spec_t *lines, int n,
                                   int force, int generated, const char **err);
/** Amazon: an order fulfilled by Amazon (AFN) takes nothing from the seller's listing; a preorder waits as
 * PendingAvailability.  Placed like oc_sim_order_place otherwise. */
#define OC_SIM_ORDER_AFN      1u
#define OC_SIM_ORDER_PREORDER 2u
oc_sim_order_t *oc_sim_order_place_ex(oc_sim_t *sim, oc_sim_account_t *a, const oc_sim_line_spec_t *lines, int n,
                                      int force, int generated, unsigned flags, const char **err);
/** Walmart: the carrier delivered what was shipped. */
int oc_sim_order_deliver(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, const char **err);
/** Walmart: a partial refund of shipped units, no return (the line shows Refund for them). */
int oc_sim_order_refund_only(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty,
                             const char **err);
oc_sim_order_t *oc_sim_order_find(oc_sim_account_t *a, const char *id);
/** Cancels the whole order (customer or seller); restock puts units back. 0, or -1 with *err. */
int oc_sim_order_cancel(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int restock, const char *reason,
                        const char **err);
/** Cancels `qty` units of one line (Walmart seller cancel). */
int oc_sim_order_cancel_line(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty,
                             const char *reason, const char **err);
int oc_sim_order_fulfill(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, const char **err);
/** Ships `qty` units of one line (Walmart shipping updates); the order is fulfilled once nothing is open. */
int oc_sim_order_ship_line(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty,
                           const char **err);
/**
 * Returns or refunds units of a line.  Shopify: a refund with `restock_type`
 * ("return", "cancel", "no_restock"; NULL picks by fulfillment).  Amazon and
 * Walmart: a return record the seller sees by report or /v3/returns.
 */
int oc_sim_order_return(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, int line, long long qty,
                        const char *restock_type, const char *reason, const char **err);
/** Amazon: Pending -> Unshipped. */
void oc_sim_order_touch(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o);
/** Schedules the generator lifecycle (cancel / fulfill / return) of a new order. */
void oc_sim_order_lifecycle(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_order_t *o, const oc_sim_lifecycle_t *lc);
/** The order as the control API shows it. New reference. */
json_t *oc_sim_order_json(oc_sim_account_t *a, const oc_sim_order_t *o);

/* generator */
int oc_sim_generator_configure(oc_sim_t *sim, oc_sim_account_t *a, const json_t *spec, char *err, size_t errlen);
void oc_sim_generator_start(oc_sim_t *sim, oc_sim_account_t *a);
void oc_sim_generator_stop(oc_sim_t *sim, oc_sim_account_t *a);
json_t *oc_sim_generator_json(oc_sim_account_t *a);
int oc_sim_lifecycle_parse(oc_sim_lifecycle_t *lc, const json_t *o, char *err, size_t errlen);

/** Keyset pagination over records sorted by (time, seq): encodes/decodes the opaque cursor. */
typedef struct oc_sim_cursor {
    uint64_t after_ms;  /* the filter's lower bound */
    uint64_t before_ms; /* snapshot upper bound */
    uint64_t last_ms;   /* last record returned */
    long long last_seq;
    int by_update;
    int limit; /* page size chosen on the first page */
    int valid;
    char extra[160]; /* channel-specific filter (status, ids…) */
} oc_sim_cursor_t;

char *oc_sim_cursor_encode(const oc_sim_cursor_t *c);
int oc_sim_cursor_decode(const char *token, oc_sim_cursor_t *c);

/** One keyset page of an account's orders (oc_sim_order_page). */
typedef struct oc_sim_order_page {
    oc_sim_order_t **orders; /* this page's orders in order (borrowed); the array is the caller's to free */
    size_t n;                /* on this page */
    size_t total;            /* matching the filter, on all pages */
    int more;                /* further pages: the cursor's last_ms/last_seq now name this page's last order */
} oc_sim_order_page_t;

/**
 * The next page of `a`'s orders under cursor `c`: those whose time
 * (updated_ms when c->by_update, else created_ms) lies in
 * [c->after_ms, c->before_ms] and that `keep` accepts, sorted by (time,
 * number), after the cursor's last order, at most `max`.
 */
void oc_sim_order_page(oc_sim_account_t *a, oc_sim_cursor_t *c, long long max,
                       int (*keep)(oc_sim_account_t *a, const oc_sim_order_t *o, void *arg), void *arg,
                       oc_sim_order_page_t *page);

/* --- channel specifics ------------------------------------------------------------ */

/** Shopify: the REST order representation (webhooks and orders.json). New reference. */
json_t *oc_sim_shopify_order_json(oc_sim_t *sim, oc_sim_account_t *a, const oc_sim_order_t *o);
/** Shopify: sends a webhook of `topic` with `body` (stolen) if the account subscribes. */
void oc_sim_shopify_webhook(oc_sim_t *sim, oc_sim_account_t *a, unsigned topic, json_t *body);
/** Shopify: the inventory_levels/update payload of a SKU. New reference. */
json_t *oc_sim_shopify_level_json(oc_sim_account_t *a, const oc_sim_sku_t *s);
/** Amazon: appends an ORDER_CHANGE notification for `o`. */
void oc_sim_amazon_notify(oc_sim_t *sim, oc_sim_account_t *a, const oc_sim_order_t *o, const char *change);
/** Amazon: applies PATCHes and feeds that are due (called before serving, and by timers). */
void oc_sim_amazon_catch_up(oc_sim_t *sim, oc_sim_account_t *a);
/** Walmart: processes feeds that are due. */
void oc_sim_walmart_catch_up(oc_sim_t *sim, oc_sim_account_t *a);
/** Arms the account's timer for its next due PATCH, feed or report (Amazon and Walmart). */
void oc_sim_jobs_arm(oc_sim_t *sim, oc_sim_account_t *a);
void oc_sim_doc_free(void *p);
void oc_sim_job_free(void *p);

/** Shopify: a remembered @idempotent result. */
typedef struct oc_sim_idem {
    char *hash; /* mutation name + canonical input */
    json_t *result;
} oc_sim_idem_t;

/* --- webhooks (webhook.c) ------------------------------------------------------------ */

typedef struct oc_sim_delivery_spec {
    int account_id;
    const char *url;
    const char *topic;
    const char *shop_domain;
    const char *api_version;
    const char *secret;
    const char *body;
    size_t body_len;
    int copies; /* 1 + duplicates, same event id */
    int max_attempts, retry_base_ms, timeout_ms;
} oc_sim_delivery_spec_t;

/** Starts the delivery thread; NULL on failure. */
oc_sim_webhooks_t *oc_sim_webhooks_start(void);
/** Stops the thread, dropping pending deliveries; accepts NULL. */
void oc_sim_webhooks_stop(oc_sim_webhooks_t *w);
/** Queues the deliveries of one event (copies everything); returns the event id written to event_id (>= 24 bytes). */
int oc_sim_webhooks_send(oc_sim_webhooks_t *w, const oc_sim_delivery_spec_t *spec, char *event_id);
/** Drops pending deliveries of an account (< 0: of every account). */
void oc_sim_webhooks_cancel(oc_sim_webhooks_t *w, int account_id);
/** The delivery log (attempts, newest last). New reference. */
json_t *oc_sim_webhooks_log(oc_sim_webhooks_t *w, int account_id, long long since, size_t limit);

/* --- GraphQL (graphql.c) ---------------------------------------------------------------- */

typedef struct oc_sim_gql_field oc_sim_gql_field_t;
struct oc_sim_gql_field {
    char *alias; /* response key */
    char *name;
    json_t *args;       /* object of resolved values (variables substituted) */
    json_t *arg_vars;   /* argument name -> the variable it was given as ($input), for arguments given so */
    json_t *directives; /* object: directive name -> args object */
    int nchildren;
    oc_sim_gql_field_t *children;
};

typedef struct oc_sim_gql_doc {
    int is_mutation;
    oc_sim_gql_field_t root; /* children = top-level fields */
    char error[200];
} oc_sim_gql_doc_t;

/**
 * Parses the operation named `op_name` (or the only one) of `text` and
 * substitutes `variables` (may be NULL).  Returns 0, or -1 with doc->error.
 * oc_sim_gql_free() must be called either way.
 */
int oc_sim_gql_parse(oc_sim_gql_doc_t *doc, const char *text, size_t len, const json_t *variables, const char *op_name);
void oc_sim_gql_free(oc_sim_gql_doc_t *doc);
/** Shapes `value` by a field's selection set (aliases, sub-selections). New reference. */
json_t *oc_sim_gql_project(const json_t *value, const oc_sim_gql_field_t *field);
/** Estimated cost of a query field: 1 per object, connections multiplied by `first`. */
int oc_sim_gql_cost(const oc_sim_gql_field_t *field);

/* --- control API (control.c) ------------------------------------------------------------ */

void oc_sim_control(oc_sim_req_t *r);

#endif
