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

typedef struct oc_ledger_item oc_ledger_item_t;

struct oc_ledger_item {
    oc_ledger_item_t *next;
    oc_movement_t m; /* strings and lines borrowed from the caller, until cb */
    const char *tenant, *user, *token, *request_id;
    long long lock_sku; /* the lowest sku_id it locks, 0 = unknown */
    char *json;         /* ledger_item_json(), for the general path */
    int sale;           /* a one-line sale: ledger_sale() first */
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

/*
 * The ledger's two statements.  Both answer in one shape ({"status", "body",
 * "replayed"}, refusals from ledger_err()), read by one function
 * (oc_ledger_answer).
 *
 * A one-line sale is ledger_sale() (migrations/0022): the SKU, the
 * Idempotency-Key's claim, one stock row locked — the checkout's hot path,
 * which ops/bench/ledger.sh runs in pgbench as its baseline (it extracts
 * the statement from this file: keep the OC_DB_STMT( / ledger_sale_stmt,
 * layout).  It skips what such a sale does not need (the JSON item, the
 * lock pass over every line, the bundle expansion) and answers NULL for a
 * bundle, which then goes to ledger_post() on its own.  Everything else is
 * ledger_post(): every kind, many lines, bundles, and SQL calls it too
 * (hold_confirm(), orders the sync engine ingests).  A sale is written by
 * the same SQL on both: each line by ledger_line_apply() (the stock
 * update, the movement, the oversell incident, the line's balance in the
 * answer), each request finished by ledger_finish() (the answer body, the
 * audit record, the stored answer of its key), its Idempotency-Key claimed
 * by ledger_claim() (idem_claim(), whose lookup runs after its advisory
 * lock).
 */
OC_DB_STMT(
    ledger_sale_stmt, 12,
    "SELECT ledger_sale($1::uuid, $2::text, $3::bigint, $4::bool, $5::text, $6::text, $7::uuid, $8::uuid, $9::text,"
    " $10::text, $11::uuid, $12::text)");
OC_DB_STMT(ledger_post_stmt, 1, "SELECT ledger_post($1::jsonb)");

static const char *const kind_names[] = {
    [OC_MOVE_RECEIPT] = "receipt", [OC_MOVE_SALE] = "sale",     [OC_MOVE_SHIP] = "ship",   [OC_MOVE_CANCEL] = "cancel",
    [OC_MOVE_RETURN] = "return",   [OC_MOVE_ADJUST] = "adjust", [OC_MOVE_COUNT] = "count",
};

const char *oc_move_kind_name(oc_move_kind_t kind)
{
    return (size_t)kind < OC_ARRAY_SIZE(kind_names) ? kind_names[kind] : "unknown";
}

int oc_move_kind_parse(const char *name)
{
    for (size_t i = 0; name != NULL && i < OC_ARRAY_SIZE(kind_names); i++)
        if (strcmp(kind_names[i], name) == 0)
            return (int)i;
    return -1;
}

static void batcher_dispose(void *p)
{
    free(p);
}

static batcher_t *batcher_of(oc_thread_t *th)
{
    static const char slot;
    batcher_t *b = oc_thread_slot(th, &slot);
    if (b == NULL) {
        b = oc_calloc(1, sizeof(*b));
        b->th = th;
        b->tail = &b->head;
        oc_thread_set_slot(th, &slot, b, batcher_dispose);
    }
    return b;
}

/* The one way an item ends: its outcome to the caller, then the item freed. */
static void item_finish(oc_ledger_item_t *it, const oc_ledger_outcome_t *out)
{
    it->cb(it->arg, out);
    free(it->json);
    free(it);
}

static void item_fail(oc_ledger_item_t *it, oc_fail_t *f)
{
    oc_ledger_outcome_t out = {.fail = f};
    item_finish(it, &out);
    oc_fail_clear(f);
}

static void item_answer_cb(void *arg, const oc_ledger_outcome_t *out)
{
    item_finish(arg, out);
}

/*
 * The one place that writes a movement as ledger_post() reads it (the keys
 * its plpgsql reads: migrations/0003, redefined since; see schema.sql):
 * [{"tenant", "kind", "lines": [{"sku", "qty"}], "guard", "key", "hash",
 *   "user", "token", "request_id", "reference", "channel", "reason",
 *   "disposition", "from_inspection"}].  NULL when jansson cannot build
 * or encode it (a string that is not UTF-8 the handler let through).
 */
static char *ledger_item_json(const oc_ledger_item_t *it)
{
    const oc_movement_t *m = &it->m;
    json_t *lines = json_array(), *o = json_object();
    for (int i = 0; i < m->nlines; i++)
        json_array_append_new(lines,
                              json_pack("{s:s, s:I}", "sku", m->lines[i].sku, "qty", (json_int_t)m->lines[i].qty));
    json_object_set_new(o, "tenant", json_string(it->tenant));
    json_object_set_new(o, "kind", json_string(oc_move_kind_name(m->kind)));
    json_object_set_new(o, "lines", lines);
    json_object_set_new(o, "guard", json_boolean(m->guard));
    const struct {
        const char *k, *v;
    } opt[] = {{"key", m->key},
               {"hash", m->hash},
               {"user", it->user},
               {"token", it->token},
               {"request_id", it->request_id},
               {"reference", m->reference},
               {"channel", m->channel},
               {"reason", m->reason},
               {"disposition", m->disposition}};
    for (size_t i = 0; i < OC_ARRAY_SIZE(opt); i++)
        if (opt[i].v != NULL)
            json_object_set_new(o, opt[i].k, json_string(opt[i].v));
    if (m->from_inspection)
        json_object_set_new(o, "from_inspection", json_true());
    json_t *one = json_pack("[o]", o);
    char *text = one != NULL ? json_dumps(one, JSON_COMPACT) : NULL;
    json_decref(one);
    return text;
}

static oc_fail_kind_t kind_of_status(long long status)
{
    switch (status) {
    case 403: return OC_FAIL_FORBIDDEN;
    case 404: return OC_FAIL_NOT_FOUND;
    case 409: return OC_FAIL_CONFLICT;
    case 422: return OC_FAIL_INVALID;
    case 503: return OC_FAIL_UNAVAILABLE;
    default: return OC_FAIL_INTERNAL;
    }
}

void oc_ledger_answer(json_t *answer, oc_ledger_cb cb, void *arg)
{
    long long status = (long long)json_integer_value(json_object_get(answer, "status"));
    json_t *body = json_object_get(answer, "body");
    if (status > 0 && status < 400) {
        oc_ledger_outcome_t out = {.body = body, .replayed = json_is_true(json_object_get(answer, "replayed"))};
        cb(arg, &out);
        return;
    }
    /* ledger_err()'s {"error": {"code", "message", "field"}}: the code and field stay the answer's for the call */
    json_t *err = json_object_get(body, "error");
    const char *code = json_string_value(json_object_get(err, "code")),
               *msg = json_string_value(json_object_get(err, "message"));
    oc_fail_t f = {0};
    oc_fail(&f, kind_of_status(status), code != NULL ? code : "internal",
            json_string_value(json_object_get(err, "field")), "%s", msg != NULL ? msg : "the ledger did not answer");
    oc_ledger_outcome_t out = {.fail = &f};
    cb(arg, &out);
    oc_fail_clear(&f);
}

static void send_batch(batcher_t *b, batch_t *bt);
static void pump(batcher_t *b);

static void requeue_solo(batcher_t *b, oc_ledger_item_t *it)
{
    batch_t *bt = oc_calloc(1, sizeof(*bt));
    bt->b = b;
    bt->n = 1;
    bt->solo = 1;
    bt->items[0] = it;
    send_batch(b, bt);
}

/* Answers one ledger_sale() row; returns -1 for a bundle, which ledger_post expands. */
static int sale_outcome(oc_ledger_item_t *it, const PGresult *r)
{
    json_t *answer = oc_db_json(r, 0, 0);
    if (answer == NULL)
        return -1;
    oc_ledger_answer(answer, item_answer_cb, it);
    json_decref(answer);
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
            oc_fail_t f = {0};
            oc_fail_db(&f, res);
            item_fail(it, &f);
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
        if (it->sale) {
            if (sale_outcome(it, r) != 0) {
                it->sale = 0;
                requeue_solo(b, it);
            }
            continue;
        }
        json_t *arr = oc_db_json(r, 0, 0);
        oc_ledger_answer(json_array_get(arr, 0), item_answer_cb, it);
        json_decref(arr);
    }
    free(bt);
    pump(b);
}

static int cmp_items(const void *x, const void *y)
{
    const oc_ledger_item_t *a = *(oc_ledger_item_t *const *)x, *c = *(oc_ledger_item_t *const *)y;
    int t = strcmp(a->tenant, c->tenant);
    if (t != 0)
        return t;
    /* the lowest sku_id an item locks, where the caller resolved it (items without one come first) */
    if (a->lock_sku != c->lock_sku)
        return a->lock_sku < c->lock_sku ? -1 : 1;
    return strcmp(a->m.lines[0].sku, c->m.lines[0].sku);
}

static void send_batch(batcher_t *b, batch_t *bt)
{
    /* One order for every batch (brand, then sku_id, the order every path locks stock in; SKU code where the
     * id is unknown): a one-line sale locks one row, so batches that agree on the order cannot deadlock. */
    if (bt->n > 1)
        qsort(bt->items, (size_t)bt->n, sizeof(bt->items[0]), cmp_items);
    oc_db_tx_t tx = {.nsteps = bt->n};
    char qty[BATCH_MAX][24];
    for (int i = 0; i < bt->n; i++) {
        oc_ledger_item_t *it = bt->items[i];
        it->tries++;
        tx.steps[i].tenant = it->tenant;
        if (it->sale) {
            const oc_movement_line_t *line = &it->m.lines[0];
            snprintf(qty[i], sizeof(qty[i]), "%lld", line->qty);
            const char *p[] = {it->tenant,     line->sku,       qty[i],        it->m.guard ? "true" : "false",
                               it->m.key,      it->m.hash,      it->user,      it->token,
                               it->request_id, it->m.reference, it->m.channel, it->m.reason};
            tx.steps[i].stmt = &ledger_sale_stmt;
            memcpy(tx.steps[i].params, p, sizeof(p));
        } else {
            if (it->json == NULL)
                it->json = ledger_item_json(it);
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
        for (int i = 0; i < bt->n; i++) {
            oc_fail_t f = {0};
            oc_fail_db(&f, &fail);
            item_fail(bt->items[i], &f);
        }
        free(bt);
    }
}

static void pump(batcher_t *b)
{
    while (b->head != NULL && b->inflight < MAX_INFLIGHT) {
        batch_t *bt = oc_calloc(1, sizeof(*bt));
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

void oc_ledger_post(oc_thread_t *th, const oc_movement_t *m, const oc_actor_t *a, long long lock_sku, oc_ledger_cb cb,
                    void *arg)
{
    batcher_t *b = batcher_of(th);
    oc_ledger_item_t *it = oc_calloc(1, sizeof(*it));
    it->m = *m;
    it->tenant = a->tenant;
    it->user = a->user;
    it->token = a->token;
    it->request_id = a->request_id;
    it->lock_sku = lock_sku;
    it->cb = cb;
    it->arg = arg;
    it->sale = m->nlines == 1 && m->kind == OC_MOVE_SALE;
    oc_metric_add(&m_items, 1);
    *b->tail = it;
    b->tail = &it->next;
    b->queued++;
    pump(b);
}
