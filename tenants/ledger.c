/*
 * ledger.c — the movement batcher (see ledger.h).
 */
#include "tenants/ledger.h"
#include "runtime/log.h"
#include "runtime/metrics.h"

#include <stdio.h>
#include <stdlib.h>

#define BATCH_MAX    24
#define MAX_INFLIGHT 2
_Static_assert(BATCH_MAX <= OC_DB_MAX_STEPS, "a batch is one transaction");

struct oc_ledger_item {
    oc_ledger_item_t *next;
    json_t *item;
    char *json; /* serialized item, for the general path */
    int fast;   /* a one-line sale: try the single-statement path */
    int tries;
    oc_ledger_cb cb;
    void *arg;
};

typedef struct {
    oc_thread_t *th;
    oc_ledger_item_t *head, **tail;
    int queued;
    int inflight;
} batcher_t;

typedef struct {
    batcher_t *b;
    int n;
    int solo; /* a retry of one item on its own */
    oc_ledger_item_t *items[BATCH_MAX];
} batch_t;

static oc_metric_t m_batches = {"onecount_ledger_batches_total", "Ledger transactions sent.", NULL, OC_METRIC_COUNTER};
static oc_metric_t m_items = {"onecount_ledger_items_total", "Movement requests posted to the ledger.", NULL,
                              OC_METRIC_COUNTER};
static oc_metric_t m_retries = {"onecount_ledger_retries_total", "Ledger batches retried item by item.", NULL,
                                OC_METRIC_COUNTER};

void oc_ledger_init(void)
{
    oc_metrics_register(&m_batches);
    oc_metrics_register(&m_items);
    oc_metrics_register(&m_retries);
}

/* One-line sale in one statement: idempotency, the conditional update, the
 * movement, an oversell incident when a channel sale goes below zero, the
 * audit record and the stored response.  Answers with enough to tell every
 * outcome apart; a bundle (kind) falls back to ledger_post. */
OC_DB_STMT(
    ledger_sale_fast, 11,
    "WITH k AS (SELECT id, kind FROM skus WHERE tenant_id = $1 AND code = $2),"
    " c AS (SELECT CASE WHEN $5::text IS NULL THEN true"
    "       ELSE pg_try_advisory_xact_lock(hashtextextended($1::text || '/' || $5, 727274)) END AS got),"
    " prev AS (SELECT ik.status, ik.body, ik.request_hash FROM idempotency_keys ik, c"
    "          WHERE c.got AND $5::text IS NOT NULL AND ik.tenant_id = $1 AND ik.key = $5"
    "            AND ik.created_at > now() - interval '24 hours'),"
    " u AS (UPDATE stock s SET committed = s.committed + $3, version = s.version + 1, updated_at = now()"
    "       FROM k, c WHERE c.got AND k.kind = 'simple' AND NOT EXISTS (SELECT 1 FROM prev)"
    "         AND s.tenant_id = $1 AND s.sku_id = k.id"
    "         AND (NOT $4::bool OR s.on_hand - s.committed - s.held >= $3)"
    "       RETURNING s.sku_id, s.on_hand, s.committed, s.held, s.inspecting, s.version),"
    " m AS (INSERT INTO movements (tenant_id, sku_id, kind, qty, on_hand_delta, committed_delta, on_hand_after,"
    "       committed_after, reference, channel_id, guarded, actor_user, actor_token, request_id)"
    "       SELECT $1, u.sku_id, 'sale', $3, 0, $3, u.on_hand, u.committed, $10, $11::uuid, $4, $7::uuid,"
    "       $8::uuid, $9 FROM u RETURNING id),"
    " o AS (INSERT INTO oversell_incidents (tenant_id, sku_id, movement_id, qty_short, channel_id, reference)"
    "       SELECT $1, u.sku_id, m.id, least(-(u.on_hand - u.committed - u.held), $3), $11::uuid, $10"
    "       FROM u, m WHERE u.on_hand - u.committed - u.held < 0 RETURNING qty_short),"
    " b AS (SELECT m.id AS mid, jsonb_build_object('kind', 'sale', 'movements', jsonb_build_array(m.id),"
    "       'balances', jsonb_build_array(jsonb_build_object('sku', $2::text, 'sku_id', u.sku_id,"
    "         'on_hand', u.on_hand, 'committed', u.committed, 'held', u.held, 'inspecting', u.inspecting,"
    "         'available', u.on_hand - u.committed - u.held, 'version', u.version)),"
    "       'oversells', coalesce((SELECT jsonb_agg(jsonb_build_object('sku', $2::text, 'qty_short', o.qty_short))"
    "         FROM o), '[]')) AS body FROM u, m),"
    " a AS (SELECT audit_write($1, NULL, $7::uuid, $8::uuid, 'movement.sale', 'movement', b.mid::text,"
    "       jsonb_build_object('lines', jsonb_build_array(jsonb_build_object('sku', $2::text, 'qty', $3)),"
    "       'reference', $10), $9) AS w FROM b),"
    " i AS (INSERT INTO idempotency_keys AS ik (tenant_id, key, request_hash, status, body)"
    "       SELECT $1, $5, $6, 201, b.body FROM b WHERE $5::text IS NOT NULL"
    /* a key past its 24 hours whose row is not pruned yet: this request takes it over */
    "       ON CONFLICT (tenant_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = 201,"
    "         body = excluded.body, created_at = now() WHERE ik.created_at <= now() - interval '24 hours')"
    " SELECT (SELECT id FROM k), (SELECT kind FROM k), (SELECT got FROM c), (SELECT status FROM prev),"
    "  (SELECT body FROM prev), (SELECT request_hash FROM prev), (SELECT body FROM b), (SELECT count(*) FROM a),"
    "  (SELECT s.on_hand - s.committed - s.held FROM stock s, k WHERE s.tenant_id = $1 AND s.sku_id = k.id)");
OC_DB_STMT(ledger_post_stmt, 1, "SELECT ledger_post($1::jsonb)");

static void batcher_dispose(void *p)
{
    free(p);
}

static batcher_t *batcher_of(oc_thread_t *th)
{
    static const char slot;
    batcher_t *b = oc_thread_slot(th, &slot);
    if (b == NULL) {
        b = calloc(1, sizeof(*b));
        b->th = th;
        b->tail = &b->head;
        oc_thread_set_slot(th, &slot, b, batcher_dispose);
    }
    return b;
}

static void item_finish(oc_ledger_item_t *it, int status, json_t *body, int replayed, const oc_db_result_t *err)
{
    it->cb(it->arg, status, body, replayed, err);
    json_decref(it->item);
    free(it->json);
    free(it);
}

static const char *str(json_t *item, const char *k)
{
    return json_string_value(json_object_get(item, k));
}

/* The request id is added by the response (oc_respond_json), for these and ledger_err()'s alike. */
static json_t *error_body(const char *code, const char *message, const char *field)
{
    return oc_error_body(code, message, field, NULL);
}

static void send_batch(batcher_t *b, batch_t *bt);
static void pump(batcher_t *b);

static void requeue_solo(batcher_t *b, oc_ledger_item_t *it)
{
    batch_t *bt = calloc(1, sizeof(*bt));
    bt->b = b;
    bt->n = 1;
    bt->solo = 1;
    bt->items[0] = it;
    send_batch(b, bt);
}

/* Interprets one fast-path row; returns 0 when answered, -1 to retry via ledger_post. */
static int fast_outcome(oc_ledger_item_t *it, const PGresult *r)
{
    const char *sku = oc_db_get(r, 0, 0), *kind = oc_db_get(r, 0, 1);
    if (sku == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no SKU %s in this brand",
                 str(json_array_get(json_object_get(it->item, "lines"), 0), "sku"));
        json_t *body = error_body("unknown_sku", msg, "lines[0].sku");
        item_finish(it, 422, body, 0, NULL);
        json_decref(body);
        return 0;
    }
    if (kind != NULL && strcmp(kind, "simple") != 0)
        return -1; /* a bundle: ledger_post expands it */
    const char *got = oc_db_get(r, 0, 2);
    if (got != NULL && got[0] == 'f') {
        json_t *body = error_body("in_flight", "a request with this Idempotency-Key is in progress", NULL);
        item_finish(it, 409, body, 0, NULL);
        json_decref(body);
        return 0;
    }
    if (oc_db_get(r, 0, 3) != NULL) {
        const char *hash = oc_db_get(r, 0, 5), *want = str(it->item, "hash");
        if (hash == NULL || want == NULL || strcmp(hash, want) != 0) {
            json_t *body =
                error_body("idempotency_mismatch", "this Idempotency-Key was used with a different request", NULL);
            item_finish(it, 422, body, 0, NULL);
            json_decref(body);
            return 0;
        }
        json_t *body = oc_db_json(r, 0, 4);
        item_finish(it, (int)oc_db_get_ll(r, 0, 3, 200), body, 1, NULL);
        json_decref(body);
        return 0;
    }
    json_t *body = oc_db_json(r, 0, 6);
    if (body != NULL) {
        item_finish(it, 201, body, 0, NULL);
        json_decref(body);
        return 0;
    }
    /* Guarded and short. */
    json_t *line = json_array_get(json_object_get(it->item, "lines"), 0);
    long long avail = oc_db_get_ll(r, 0, 8, 0);
    char msg[200];
    snprintf(msg, sizeof(msg), "%s has %lld available, %lld requested", str(line, "sku"), avail > 0 ? avail : 0,
             (long long)json_integer_value(json_object_get(line, "qty")));
    json_t *eb = error_body("insufficient_stock", msg, "lines");
    item_finish(it, 409, eb, 0, NULL);
    json_decref(eb);
    return 0;
}

static void on_batch(void *arg, const oc_db_result_t *res)
{
    batch_t *bt = arg;
    batcher_t *b = bt->b;
    b->inflight--;
    if (res->err != NULL) {
        if (bt->solo || bt->n == 1) {
            /* Deadlocks and serialization failures are worth one more try on their own. */
            oc_ledger_item_t *it = bt->items[0];
            if ((strcmp(res->sqlstate, "40P01") == 0 || strcmp(res->sqlstate, "40001") == 0) && it->tries < 3) {
                bt->solo = 1;
                bt->n = 0;
                free(bt);
                requeue_solo(b, it);
                pump(b);
                return;
            }
            item_finish(it, 0, NULL, 0, res);
        } else {
            /* One request must not fail the others: retry each on its own. */
            oc_metric_add(&m_retries, 1);
            for (int i = 0; i < bt->n; i++)
                requeue_solo(b, bt->items[i]);
        }
        free(bt);
        pump(b);
        return;
    }
    for (int i = 0; i < bt->n; i++) {
        oc_ledger_item_t *it = bt->items[i];
        const PGresult *r = res->results[i];
        if (it->fast) {
            if (fast_outcome(it, r) != 0) {
                it->fast = 0;
                requeue_solo(b, it);
            }
            continue;
        }
        json_t *arr = oc_db_json(r, 0, 0), *o = json_array_get(arr, 0);
        int status = (int)json_integer_value(json_object_get(o, "status"));
        item_finish(it, status ? status : 500, json_object_get(o, "body"), json_is_true(json_object_get(o, "replayed")),
                    NULL);
        json_decref(arr);
    }
    free(bt);
    pump(b);
}

static int cmp_items(const void *x, const void *y)
{
    json_t *a = (*(oc_ledger_item_t *const *)x)->item, *c = (*(oc_ledger_item_t *const *)y)->item;
    int t = strcmp(str(a, "tenant"), str(c, "tenant"));
    if (t != 0)
        return t;
    /* the lowest sku_id an item locks, where the API resolved it (items without one come first) */
    json_int_t ia = json_integer_value(json_object_get(a, "lock_sku")),
               ic = json_integer_value(json_object_get(c, "lock_sku"));
    if (ia != ic)
        return ia < ic ? -1 : 1;
    const char *sa = str(json_array_get(json_object_get(a, "lines"), 0), "sku");
    const char *sc = str(json_array_get(json_object_get(c, "lines"), 0), "sku");
    return strcmp(sa ? sa : "", sc ? sc : "");
}

static void send_batch(batcher_t *b, batch_t *bt)
{
    /* One order for every batch (brand, then sku_id, the order every path locks stock in; SKU code where the
     * id is unknown): fast statements lock one row each, so batches that agree on the order cannot deadlock. */
    if (bt->n > 1)
        qsort(bt->items, (size_t)bt->n, sizeof(bt->items[0]), cmp_items);
    oc_db_tx_t tx = {.nsteps = bt->n};
    char qty[BATCH_MAX][24];
    for (int i = 0; i < bt->n; i++) {
        oc_ledger_item_t *it = bt->items[i];
        it->tries++;
        json_t *item = it->item;
        tx.steps[i].tenant = str(item, "tenant");
        if (it->fast) {
            json_t *line = json_array_get(json_object_get(item, "lines"), 0);
            snprintf(qty[i], sizeof(qty[i]), "%lld", (long long)json_integer_value(json_object_get(line, "qty")));
            const char *p[] = {str(item, "tenant"),
                               str(line, "sku"),
                               qty[i],
                               json_is_true(json_object_get(item, "guard")) ? "true" : "false",
                               str(item, "key"),
                               str(item, "hash"),
                               str(item, "user"),
                               str(item, "token"),
                               str(item, "request_id"),
                               str(item, "reference"),
                               str(item, "channel")};
            tx.steps[i].stmt = &ledger_sale_fast;
            memcpy(tx.steps[i].params, p, sizeof(p));
        } else {
            if (it->json == NULL) {
                json_t *one = json_pack("[O]", item);
                it->json = json_dumps(one, JSON_COMPACT);
                json_decref(one);
            }
            tx.steps[i].stmt = &ledger_post_stmt;
            tx.steps[i].params[0] = it->json;
        }
    }
    oc_metric_add(&m_batches, 1);
    b->inflight++;
    int rc = oc_db_run(b->th->db, &tx, on_batch, bt);
    if (rc != 0) {
        b->inflight--;
        oc_db_result_t fail = {.err = "database unavailable", .code = rc};
        for (int i = 0; i < bt->n; i++)
            item_finish(bt->items[i], 0, NULL, 0, &fail);
        free(bt);
    }
}

static void pump(batcher_t *b)
{
    while (b->head != NULL && b->inflight < MAX_INFLIGHT) {
        batch_t *bt = calloc(1, sizeof(*bt));
        bt->b = b;
        while (b->head != NULL && bt->n < BATCH_MAX) {
            oc_ledger_item_t *it = b->head;
            b->head = it->next;
            b->queued--;
            bt->items[bt->n++] = it;
        }
        if (b->head == NULL)
            b->tail = &b->head;
        send_batch(b, bt);
    }
}

void oc_ledger_post(oc_thread_t *th, json_t *item, oc_ledger_cb cb, void *arg)
{
    batcher_t *b = batcher_of(th);
    oc_ledger_item_t *it = calloc(1, sizeof(*it));
    it->item = item;
    it->cb = cb;
    it->arg = arg;
    json_t *lines = json_object_get(item, "lines");
    it->fast = json_array_size(lines) == 1 && strcmp(str(item, "kind"), "sale") == 0;
    oc_metric_add(&m_items, 1);
    *b->tail = it;
    b->tail = &it->next;
    b->queued++;
    pump(b);
}
