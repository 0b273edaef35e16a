/*
 * push.c — pushing: a brand's claim of its out-of-sync listings (push_claim,
 * FOR UPDATE SKIP LOCKED under a lease), one batch per connection split by
 * the adapter's batch size, and the record of what each channel answered
 * (push_record) with the connection's health and circuit (see worker.h).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "tenants/pushes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSHED(r) OC_RESULT_COUNTER("onecount_worker_listings_pushed_total", "listings pushed and acknowledged", r)
oc_metric_t oc_sync_m_pushed = PUSHED("ok"), oc_sync_m_push_failed = PUSHED("error"),
            oc_sync_m_push_stale = PUSHED("stale");
#undef PUSHED
oc_metric_t oc_sync_m_claims = {"onecount_worker_push_claims_total", "push claims sent (one brand each)", NULL,
                                OC_METRIC_COUNTER};

typedef struct push_batch {
    tnode_t *t;
    centry_t *ce;
    char cid[37];
    json_t *claimed; /* the claimed rows of this connection */
    json_t *results;
    int pending; /* adapter calls in flight */
    int throttled;
    char error[200];
    uint64_t started_ms;
    oc_push_health_t health; /* what batch_record worked out, kept for a retry */
    long long *visible_ms;   /* health.visible_ms: each "ok" listing's round trip */
    int retries;
} push_batch_t;

typedef struct push_chunk {
    push_batch_t *b;
    size_t from, n;
    uint64_t started_ms;
} push_chunk_t;

static void batch_result(push_batch_t *b, json_t *row, const char *status, json_t *current, const char *error,
                         int retryable, uint64_t latency_ms)
{
    json_t *r =
        json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:s, s:b, s:I}", "listing_id", json_object_get(row, "listing_id"),
                  "connection_id", b->cid, "sku_id", json_object_get(row, "sku_id"), "qty", json_object_get(row, "qty"),
                  "version", json_object_get(row, "version"), "expect", json_object_get(row, "expect"), "status",
                  status, "retryable", retryable, "latency_ms", (json_int_t)latency_ms);
    if (current != NULL && !json_is_null(current))
        json_object_set(r, "current", current);
    json_object_set(r, "desired_at_us", json_object_get(row, "desired_at_us"));
    if (error != NULL)
        json_object_set_new(r, "error", json_string(error));
    json_array_append_new(b->results, r);
}

static void batch_send(push_batch_t *b);

/* Results that could not be recorded: their listings are handed back, to be claimed again in a few seconds
 * (oc_pushes_release).  The hand-back committed (or failed, and the leases run out instead): claim again now, so
 * the claim sees the listings free and comes back when they may go.  A claim that ran before the hand-back
 * committed saw them still leased and waits for the lease, not the two seconds. */
static void on_released(void *arg, const oc_fail_t *f)
{
    (void)f;
    oc_sync_tenant_want(arg, W_PUSH);
}

static void release_claimed(push_batch_t *b)
{
    if (oc_pushes_release(oc_sync.db, b->t->id, oc_sync.owner, b->claimed, on_released, b->t) != 0)
        oc_sync_tenant_want(b->t, W_PUSH);
}

/* The record's outcome: err NULL = recorded; `retryable` = nothing was written, send it again. */
static void batch_recorded(push_batch_t *b, const char *err, const char *detail, int retryable)
{
    if (err != NULL && b->retries < 3 && retryable) {
        b->retries++; /* a deadlock or serialization failure: nothing was written, try again */
        batch_send(b);
        return;
    }
    if (err != NULL) {
        oc_log_fields(OC_LOG_WARN, "push results not recorded (the listings are pushed again in a few seconds)",
                      json_pack("{s:s, s:s, s:s, s:s}", "tenant", b->t->id, "connection", b->cid, "error", err,
                                "detail", detail != NULL ? detail : ""));
        release_claimed(b);
    }
    b->ce->pushing = 0;
    b->ce->refs--;
    if (b->ce->stale)
        oc_sync_conn_unload(b->ce);
    oc_sync.pushes--;
    b->t->leased--;
    oc_sync_tenant_want(b->t, W_PUSH);
    json_decref(b->claimed);
    json_decref(b->results);
    free(b->visible_ms);
    free(b);
}

static void on_recorded(void *arg, const oc_fail_t *f)
{
    batch_recorded(arg, f != NULL ? oc_sync_fail_text(f, 0) : NULL, f != NULL && f->db != NULL ? f->db->detail : NULL,
                   oc_pushes_retryable(f));
}

/* Sends the batch's results (again, after a deadlock or serialization failure). */
static void batch_send(push_batch_t *b)
{
    if (oc_pushes_record(oc_sync.db, b->t->id, oc_sync.owner, b->cid, &b->health, b->results, on_recorded, b) != 0)
        batch_recorded(b, "database unavailable", NULL, 0);
}

/* Counts the batch's outcome, moves the circuit breaker, and records. */
static void batch_record(push_batch_t *b)
{
    int ok = 0, failed = 0;
    size_t visible = 0;
    double latency = 0;
    size_t i;
    json_t *r;
    free(b->visible_ms);
    b->visible_ms = oc_malloc(json_array_size(b->results) * sizeof(*b->visible_ms) + 1);
    json_array_foreach(b->results, i, r)
    {
        const char *st = json_string_value(json_object_get(r, "status"));
        /* shown as the call answered: its round trip is this listing's lag (a "pending" one's is measured when
         * the read-back finds it applied) */
        if (strcmp(st, "ok") == 0)
            b->visible_ms[visible++] = (long long)json_integer_value(json_object_get(r, "latency_ms"));
        if (strcmp(st, "ok") == 0 || strcmp(st, "pending") == 0) {
            ok++;
            oc_metric_add(&oc_sync_m_pushed, 1);
        } else if (strcmp(st, "stale") == 0) {
            oc_metric_add(&oc_sync_m_push_stale, 1);
        } else {
            failed++;
            oc_metric_add(&oc_sync_m_push_failed, 1);
        }
        latency += (double)json_integer_value(json_object_get(r, "latency_ms"));
    }
    size_t n = json_array_size(b->results);
    if (oc_sync_circuit_record(b->ce, ok, failed))
        oc_log_fields(b->ce->circuit == CIRCUIT_OPEN ? OC_LOG_WARN : OC_LOG_INFO, "connection circuit",
                      json_pack("{s:s, s:s, s:s, s:s}", "tenant", b->t->id, "connection", b->cid, "circuit",
                                oc_sync_circuit_name(b->ce), "error", b->error));
    b->health = (oc_push_health_t){.ok = ok,
                                   .failed = failed,
                                   .throttled = b->throttled,
                                   .latency_ms = n > 0 ? latency / (double)n : -1,
                                   .error = b->error[0] ? b->error : NULL,
                                   .circuit = oc_sync_circuit_name(b->ce),
                                   .visible_ms = b->visible_ms,
                                   .nvisible = visible};
    batch_send(b);
}

static void chunk_done(push_chunk_t *ch)
{
    push_batch_t *b = ch->b;
    free(ch);
    if (--b->pending == 0)
        batch_record(b);
}

static void on_pushed(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    push_chunk_t *ch = arg;
    push_batch_t *b = ch->b;
    uint64_t latency = oc_now_ms() - ch->started_ms;
    if (e != NULL && e->err != NULL) {
        snprintf(b->error, sizeof(b->error), "%s", e->err);
        if (e->http_status == 429)
            b->throttled++;
        if (!e->retryable && (e->http_status == 401 || e->http_status == 403))
            b->ce->stale = 1; /* reload the credentials before the next try */
    }
    for (size_t i = 0; i < ch->n; i++) {
        json_t *row = json_array_get(b->claimed, ch->from + i);
        json_t *r = e == NULL || e->err == NULL ? json_array_get(result, i) : NULL;
        const char *st = json_string_value(json_object_get(r, "status"));
        if (st == NULL) {
            batch_result(b, row, "error", NULL, e != NULL && e->err != NULL ? e->err : "the channel gave no answer",
                         e != NULL && e->err != NULL ? e->retryable : 1, latency);
            continue;
        }
        int pending = json_is_true(json_object_get(r, "pending"));
        if (strcmp(st, "ok") == 0)
            batch_result(b, row, pending ? "pending" : "ok", json_object_get(r, "qty"), NULL, 0, latency);
        else if (strcmp(st, "stale") == 0)
            batch_result(b, row, "stale", json_object_get(r, "current"), "stale", 1, latency);
        else {
            /* a row the channel refused, or a call that failed for it: the row says whether later may work */
            const char *why = json_string_value(json_object_get(r, "error"));
            if (b->error[0] == '\0')
                snprintf(b->error, sizeof(b->error), "%s", why != NULL ? why : "refused");
            batch_result(b, row, "error", NULL, why != NULL ? why : "refused by the channel",
                         json_is_true(json_object_get(r, "retryable")), latency);
        }
    }
    chunk_done(ch);
}

static void push_start(void *arg, centry_t *ce, const char *err)
{
    push_batch_t *b = arg;
    size_t n = json_array_size(b->claimed);
    b->started_ms = oc_now_ms();
    if (ce == NULL) {
        snprintf(b->error, sizeof(b->error), "%s", err != NULL ? err : "connection unavailable");
        b->ce = oc_sync_conn_find(b->t->id, b->cid, 1);
        b->ce->refs++;
        b->pending = 1;
        push_chunk_t *ch = oc_calloc(1, sizeof(*ch));
        ch->b = b;
        for (size_t i = 0; i < n; i++)
            batch_result(b, json_array_get(b->claimed, i), "error", NULL, b->error, strcmp(b->error, "not found") != 0,
                         0);
        chunk_done(ch);
        return;
    }
    b->ce = ce;
    ce->refs++;
    size_t per = ce->ad->max_batch > 0 ? (size_t)ce->ad->max_batch : 1;
    b->pending = 1; /* held until every chunk is submitted */
    for (size_t from = 0; from < n; from += per) {
        push_chunk_t *ch = oc_calloc(1, sizeof(*ch));
        ch->b = b;
        ch->from = from;
        ch->n = n - from < per ? n - from : per;
        ch->started_ms = oc_now_ms();
        json_t *items = json_array();
        for (size_t i = 0; i < ch->n; i++) {
            json_t *row = json_array_get(b->claimed, from + i);
            char key[96];
            snprintf(key, sizeof(key), "oc-%s-%lld", json_string_value(json_object_get(row, "listing_id")),
                     (long long)json_integer_value(json_object_get(row, "version")));
            json_array_append_new(items,
                                  json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:s}", "listing_id",
                                            json_object_get(row, "listing_id"), "sku", json_object_get(row, "sku"),
                                            "item_ref", json_object_get(row, "item_ref"), "location_ref",
                                            json_object_get(row, "location_ref"), "qty", json_object_get(row, "qty"),
                                            "expect", json_object_get(row, "expect"), "key", key));
        }
        b->pending++;
        int rc = ce->ad->push(oc_sync.http, ce->conn, items, on_pushed, ch);
        json_decref(items);
        if (rc != 0) {
            oc_adapter_error_t e = {.err = "the push could not start", .retryable = 1};
            on_pushed(ch, &e, NULL);
        }
    }
    if (--b->pending == 0)
        batch_record(b);
}

static void on_claimed(void *arg, json_t *rows, long long wait_ms, const oc_fail_t *f)
{
    tnode_t *t = arg;
    oc_sync.claims--;
    if (f != NULL)
        oc_log_fields(OC_LOG_WARN, "push claim failed",
                      json_pack("{s:s, s:s}", "tenant", t->id, "error", oc_sync_fail_text(f, 0)));
    /* Listings left behind (backoff, another worker's lease, a hot listing's spacing, a connection whose circuit
     * is open): come back when the first may go, and not before.  Nothing waiting: a notification brings the
     * next work. */
    if (t->circuit_wait_ms >= 0 && (wait_ms <= 0 || t->circuit_wait_ms < wait_ms))
        wait_ms = t->circuit_wait_ms > 0 ? t->circuit_wait_ms : 1;
    if (wait_ms > 0 && !oc_sync.stop) {
        uint64_t due = oc_mono_us() / 1000 + (uint64_t)wait_ms;
        if (!oc_timer_armed(&t->due) || t->due.due_us / 1000 > due)
            oc_timer_start(oc_sync.loop, &t->due, (uint64_t)wait_ms);
    }
    size_t n = json_array_size(rows);
    if ((long)n >= oc_config.worker_claim_limit) {
        t->want |= W_PUSH; /* more where these came from */
    } else if (f == NULL) {
        t->quiet = 1;
        t->quiet_ms = oc_now_ms();
    }
    /* rows are ordered by connection: one batch per run of equal connection_id */
    size_t i = 0;
    while (i < n) {
        const char *cid = json_string_value(json_object_get(json_array_get(rows, i), "connection_id"));
        push_batch_t *b = oc_calloc(1, sizeof(*b));
        b->t = t;
        snprintf(b->cid, sizeof(b->cid), "%s", cid);
        b->claimed = json_array();
        b->results = json_array();
        while (i < n) {
            json_t *row = json_array_get(rows, i);
            if (strcmp(json_string_value(json_object_get(row, "connection_id")), b->cid) != 0)
                break;
            json_array_append(b->claimed, row);
            i++;
        }
        centry_t *ce = oc_sync_conn_find(t->id, b->cid, 1);
        ce->pushing = 1;
        oc_sync.pushes++;
        t->leased++;
        oc_sync_conn_use(ce, push_start, b);
    }
    oc_sync_tenant_done(t, W_PUSH);
}

void oc_sync_push_claim(tnode_t *t)
{
    /* skip connections pushing already or with an open circuit */
    json_t *skip = json_array();
    uint64_t now = oc_now_ms();
    t->circuit_wait_ms = -1;
    for (size_t b = 0; b < CBUCKETS; b++)
        for (centry_t *c = oc_sync.conns[b]; c != NULL; c = c->hnext)
            if (strcmp(c->tenant, t->id) == 0 && (c->pushing || !oc_sync_circuit_allows(c))) {
                json_array_append_new(skip, json_string(c->id));
                if (c->circuit == CIRCUIT_OPEN && !c->pushing) {
                    int64_t left = c->open_until_ms > now ? (int64_t)(c->open_until_ms - now) : 0;
                    if (t->circuit_wait_ms < 0 || left < t->circuit_wait_ms)
                        t->circuit_wait_ms = left;
                }
            }
    oc_push_claim_req_t req = {.tenant = t->id,
                               .owner = oc_sync.owner,
                               .limit = oc_config.worker_claim_limit,
                               .skip = skip,
                               .lease_s = oc_config.worker_lease_seconds,
                               .spacing_ms = oc_config.worker_push_spacing_ms};
    t->running |= W_PUSH;
    oc_sync.claims++;
    oc_metric_add(&oc_sync_m_claims, 1);
    int rc = oc_pushes_claim(oc_sync.db, &req, on_claimed, t);
    json_decref(skip);
    if (rc != 0) {
        oc_sync.claims--;
        t->want |= W_PUSH;
        t->running &= ~W_PUSH;
    }
}
